/**
 * What the client needs from its host, as small injected functions, and ready-made adapters for
 * WeChat (`wx.request`, `wx.getStorage`/`setStorage`, `wx.getRandomValues`), for Node and
 * browsers (`fetch`, `crypto.getRandomValues`) and for tests (memory storage). The SDK never
 * reaches for a global itself.
 */

/** An HTTP request with a JSON body. */
export interface HttpRequest {
  /** Absolute URL. */
  url: string;
  /** Upper-case HTTP method. */
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Extra headers (`Authorization`); adapters add `Content-Type`/`Accept` for JSON. */
  headers: { [name: string]: string };
  /** A JSON value to send, or undefined for no body. */
  body?: unknown;
}

/** The answer: status and the JSON-parsed body (the raw text if it is not JSON, null if empty). */
export interface HttpResponse {
  status: number;
  body: unknown;
}

/**
 * Sends one request. Resolves with any HTTP answer, error statuses included; rejects only when
 * there is no answer (offline, DNS, TLS, timeout).
 */
export type RequestFunction = (request: HttpRequest) => Promise<HttpResponse>;

/** String storage, asynchronous as `wx.getStorage` is. */
export interface KeyValueStorage {
  /** The value under `key`, or null when there is none. */
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  remove(key: string): Promise<void>;
}

/** `length` cryptographically secure random bytes from the host. */
export type EntropySource = (length: number) => Promise<Uint8Array>;

function jsonHeaders(request: HttpRequest): { [name: string]: string } {
  const headers: { [name: string]: string } = { Accept: 'application/json' };
  if (request.body !== undefined) headers['Content-Type'] = 'application/json';
  for (const name of Object.keys(request.headers)) headers[name] = request.headers[name];
  return headers;
}

function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The part of the Fetch API the adapter uses (Node 18+ and browsers have it as `fetch`). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: { [name: string]: string }; body?: string },
) => Promise<{ status: number; text(): Promise<string> }>;

/** Methods whose request means the same when it arrives twice (RFC 9110 §9.2.2). */
const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'];

/**
 * Whether `fetch` failed at the network level: the Fetch standard reports every network error
 * as a `TypeError` (Node's "fetch failed" with the socket error as its cause, a browser's
 * "Failed to fetch"); aborts and timeouts are `DOMException`s.
 */
function isNetworkError(error: unknown): boolean {
  return error instanceof TypeError;
}

/**
 * A {@link RequestFunction} over `fetch`: `fetchRequest(fetch)` in Node 18+ or a browser.
 *
 * An idempotent request (GET, HEAD, PUT, DELETE, OPTIONS) that fails at the network level before
 * any answer is sent once more: `fetch` reuses pooled keep-alive connections, and one the server
 * closed while it sat idle fails the next request sent on it. A POST is never sent again, since
 * the server may have acted on it.
 */
export function fetchRequest(fetchFunction: FetchLike): RequestFunction {
  return async (request) => {
    const init: { method: string; headers: { [name: string]: string }; body?: string } = {
      method: request.method,
      headers: jsonHeaders(request),
    };
    if (request.body !== undefined) init.body = JSON.stringify(request.body);
    let response;
    try {
      response = await fetchFunction(request.url, init);
    } catch (error) {
      if (!IDEMPOTENT_METHODS.includes(request.method) || !isNetworkError(error)) throw error;
      response = await fetchFunction(request.url, init);
    }
    return { status: response.status, body: parseBody(await response.text()) };
  };
}

/** WeChat's failure callback argument. */
export interface WxFailure {
  errMsg: string;
  errno?: number;
}

/** The part of `wx` that {@link wxRequest} uses. */
export interface WxRequestApi {
  request(options: {
    url: string;
    method: string;
    header: { [name: string]: string };
    data?: unknown;
    dataType: 'json';
    responseType: 'text';
    timeout?: number;
    success(result: { statusCode: number; data: unknown }): void;
    fail(error: WxFailure): void;
  }): unknown;
}

/** Error thrown by the WeChat adapters, carrying `errMsg` and `errno`. */
export class WxApiError extends Error {
  readonly errno: number | undefined;

  constructor(failure: WxFailure) {
    super(failure.errMsg);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = 'WxApiError';
    this.errno = failure.errno;
  }
}

/**
 * A {@link RequestFunction} over `wx.request`. The server's domain must be on the
 * mini-program's request allow-list. `timeout` is in milliseconds.
 */
export function wxRequest(wx: WxRequestApi, options: { timeout?: number } = {}): RequestFunction {
  return (request) =>
    new Promise<HttpResponse>((resolve, reject) => {
      wx.request({
        url: request.url,
        method: request.method,
        header: jsonHeaders(request),
        // wx.request serialises objects as JSON when Content-Type says so; GET sends no body.
        ...(request.body !== undefined ? { data: request.body } : {}),
        dataType: 'json',
        responseType: 'text',
        ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
        success: (result) => {
          // With dataType 'json' wx parses the text; an empty or non-JSON body stays a string.
          const data = result.data;
          resolve({
            status: result.statusCode,
            body: typeof data === 'string' ? parseBody(data) : data,
          });
        },
        fail: (error) => reject(new WxApiError(error)),
      });
    });
}

/** Storage in a plain map: for tests, and for hosts that persist nothing. */
export function memoryStorage(initial: { [key: string]: string } = {}): KeyValueStorage & {
  /** A copy of everything stored, as a plain object. */
  snapshot(): { [key: string]: string };
} {
  const map = new Map<string, string>(Object.keys(initial).map((key) => [key, initial[key]]));
  return {
    get: async (key) => (map.has(key) ? (map.get(key) as string) : null),
    set: async (key, value) => {
      map.set(key, value);
    },
    remove: async (key) => {
      map.delete(key);
    },
    snapshot: () => {
      const copy: { [key: string]: string } = {};
      map.forEach((value, key) => {
        copy[key] = value;
      });
      return copy;
    },
  };
}

interface WxCallbacks<R> {
  success(result: R): void;
  fail(error: WxFailure): void;
}

/** The part of `wx` that {@link wxStorage} uses. */
export interface WxStorageApi {
  getStorage(options: { key: string; encrypt?: boolean } & WxCallbacks<{ data: unknown }>): unknown;
  setStorage(
    options: { key: string; data: string; encrypt?: boolean } & WxCallbacks<unknown>,
  ): unknown;
  removeStorage(options: { key: string } & WxCallbacks<unknown>): unknown;
}

/**
 * A {@link KeyValueStorage} over `wx.getStorage`/`setStorage`/`removeStorage`. With
 * `encrypt: true` (base library 2.21.3+) WeChat encrypts the values at rest; the same setting
 * must then be used for every read.
 */
export function wxStorage(wx: WxStorageApi, options: { encrypt?: boolean } = {}): KeyValueStorage {
  const encrypt = options.encrypt === true ? { encrypt: true } : {};
  return {
    get: (key) =>
      new Promise<string | null>((resolve, reject) => {
        wx.getStorage({
          key,
          ...encrypt,
          success: (result) => {
            if (typeof result.data === 'string') resolve(result.data);
            else if (result.data === undefined || result.data === null || result.data === '') {
              resolve(null);
            } else reject(new TypeError(`storage value under ${key} is not a string`));
          },
          // A missing key is a failure ("getStorage:fail data not found"), not an empty result.
          fail: (error) =>
            /not found/i.test(error.errMsg) ? resolve(null) : reject(new WxApiError(error)),
        });
      }),
    set: (key, value) =>
      new Promise<void>((resolve, reject) => {
        wx.setStorage({
          key,
          data: value,
          ...encrypt,
          success: () => resolve(),
          fail: (error) => reject(new WxApiError(error)),
        });
      }),
    remove: (key) =>
      new Promise<void>((resolve, reject) => {
        wx.removeStorage({
          key,
          success: () => resolve(),
          fail: (error) => reject(new WxApiError(error)),
        });
      }),
  };
}

/** The part of `wx` that {@link wxEntropy} uses. */
export interface WxRandomApi {
  getRandomValues(
    options: { length: number } & WxCallbacks<{ randomValues: ArrayBuffer }>,
  ): unknown;
}

function checkedEntropy(bytes: Uint8Array, length: number): Uint8Array {
  if (bytes.length !== length) {
    throw new RangeError(`random source returned ${bytes.length} bytes instead of ${length}`);
  }
  // A broken source that returns constant bytes would make keys guessable; a real one does
  // this with probability 2^-(8·(length-1)).
  if (length >= 16 && bytes.every((b) => b === bytes[0])) {
    throw new RangeError('random source returned constant bytes');
  }
  return bytes;
}

/** An {@link EntropySource} over `wx.getRandomValues` (whose callback gets an ArrayBuffer). */
export function wxEntropy(wx: WxRandomApi): EntropySource {
  return (length) =>
    new Promise<Uint8Array>((resolve, reject) => {
      wx.getRandomValues({
        length,
        success: (result) => {
          try {
            resolve(checkedEntropy(new Uint8Array(result.randomValues), length));
          } catch (error) {
            reject(error);
          }
        },
        fail: (error) => reject(new WxApiError(error)),
      });
    });
}

/** The part of Web Crypto that {@link webCryptoEntropy} uses. */
export interface WebCryptoLike {
  getRandomValues<T extends Uint8Array>(array: T): T;
}

/** Web Crypto fills at most this many bytes per call. */
const WEB_CRYPTO_QUOTA = 65536;

/** An {@link EntropySource} over `crypto.getRandomValues` (Node 19+ global, browsers). */
export function webCryptoEntropy(crypto: WebCryptoLike): EntropySource {
  return async (length) => {
    const bytes = new Uint8Array(length);
    for (let offset = 0; offset < length; offset += WEB_CRYPTO_QUOTA) {
      crypto.getRandomValues(bytes.subarray(offset, Math.min(length, offset + WEB_CRYPTO_QUOTA)));
    }
    return checkedEntropy(bytes, length);
  };
}
