/** A phone for tests: the SDK client over real `fetch`, Web Crypto and a module of its own. */

import { webcrypto } from 'node:crypto';

import {
  type HttpRequest,
  type HttpResponse,
  McertClient,
  type RequestFunction,
  type Signer,
  fetchRequest,
  memoryStorage,
  webCryptoEntropy,
} from '../../src/index';
import { freshSigner } from './wasm';

/** One request and its answer, as the phone saw them. */
export interface Exchange {
  request: HttpRequest;
  response: HttpResponse;
}

/** Wraps a request function and keeps every exchange. */
export function recording(inner: RequestFunction): RequestFunction & { exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  const request = async (req: HttpRequest): Promise<HttpResponse> => {
    const response = await inner(req);
    exchanges.push({ request: req, response });
    return response;
  };
  return Object.assign(request, { exchanges });
}

export interface TestPhone {
  client: McertClient;
  signer: Signer;
  storage: ReturnType<typeof memoryStorage>;
  traffic: Exchange[];
}

/**
 * A phone with its own module instance and storage (`initial`: a copy of another phone's
 * storage, as an attacker copying it would have).
 */
export async function testPhone(
  baseUrl: string,
  initial: { [key: string]: string } = {},
): Promise<TestPhone> {
  const signer = await freshSigner();
  const storage = memoryStorage(initial);
  const request = recording(fetchRequest(fetch));
  const client = new McertClient({
    signer,
    request,
    storage,
    entropy: webCryptoEntropy(webcrypto),
    baseUrl,
  });
  return { client, signer, storage, traffic: request.exchanges };
}

/** The last exchange whose URL ends with `suffix`. */
export function lastExchange(traffic: Exchange[], suffix: string): Exchange {
  for (let i = traffic.length - 1; i >= 0; i--) {
    if (traffic[i].request.url.endsWith(suffix)) return traffic[i];
  }
  throw new Error(`no request to …${suffix}`);
}
