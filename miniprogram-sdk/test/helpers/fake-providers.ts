/**
 * Fake external services for the real `mcert-server`: WeChat's server API for mini-programs and
 * Alibaba Cloud's carrier three-element check, each a real HTTP server on loopback (port 0), so
 * that the server runs its real reqwest clients against them instead of the development
 * stand-ins. They answer as the services document (`server/src/providers/wechat/api.rs`,
 * `server/src/providers/carrier/aliyun.rs`), refuse what the real ones would refuse (a wrong
 * AppSecret, a stale access token, a bad request signature), and record every request so that
 * tests can check what reached them.
 */

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { type IncomingHttpHeaders, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as a fake received it. */
export interface Received {
  method: string;
  /** The path without the query, `/sns/jscode2session`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

interface FakeHttp {
  /** `http://127.0.0.1:<port>/`, with the trailing slash the server's clients join paths onto. */
  baseUrl: string;
  close(): Promise<void>;
}

/** A loopback HTTP server answering every request with `answer`, after recording it. */
async function startHttp(
  received: Received[],
  answer: (request: Received) => Answer,
): Promise<FakeHttp> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const request: Received = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(request);
      let reply: Answer;
      try {
        reply = answer(request);
      } catch (error) {
        reply = { status: 500, contentType: 'text/plain', body: `fake failed: ${String(error)}` };
      }
      res.writeHead(reply.status, { 'Content-Type': reply.contentType });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolveListen) => server.listen(0, '127.0.0.1', resolveListen));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/`,
    close: async () => {
      // The server's HTTP clients keep connections alive; close() alone would wait for them.
      server.closeAllConnections();
      await new Promise<void>((resolveClose) => server.close(() => resolveClose()));
    },
  };
}

/** MD5 in lower-case hex of `text`'s UTF-8 bytes, as WeChat digests the name and ID number. */
export function md5Hex(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** What a face verification result says: who took it, of which name and ID number. */
export interface FaceResult {
  openid: string;
  name: string;
  idNumber: string;
  /** WeChat's `identify_ret`; 0 is a pass. */
  identifyRet?: number;
}

/**
 * WeChat's server API for one mini-program (`appid`/`secret`): `sns/jscode2session`,
 * `cgi-bin/token` and `cityservice/face/identify/getinfo`. Codes and face results exist once a
 * test made them with {@link code} and {@link faceResult}; anything else is refused as WeChat
 * refuses it. Answers are `text/plain`, as WeChat's often are.
 */
export class FakeWeChat {
  readonly appid = 'wx5e1d0c0ffee0sdk1';
  readonly secret = `wechat-secret-${randomBytes(6).toString('hex')}`;
  /** Every request, in order of arrival. */
  readonly received: Received[] = [];
  /** Every access token handed out, oldest first. */
  readonly tokensIssued: string[] = [];
  /** The `session_key` every sign-in answers with: it must never leave mcert-server. */
  readonly sessionKey = `session-key-${randomBytes(6).toString('hex')}`;
  private readonly codes = new Map<string, string>();
  private readonly usedCodes = new Set<string>();
  private readonly faces = new Map<string, FaceResult>();
  private http: FakeHttp | undefined;

  /** Listens on loopback. */
  static async start(): Promise<FakeWeChat> {
    const fake = new FakeWeChat();
    fake.http = await startHttp(fake.received, (request) => fake.answer(request));
    return fake;
  }

  get baseUrl(): string {
    if (this.http === undefined) throw new Error('FakeWeChat not started');
    return this.http.baseUrl;
  }

  async close(): Promise<void> {
    await this.http?.close();
  }

  /** A fresh `wx.login` code that signs in `openid` (once). */
  code(openid: string): string {
    const code = `wx-code-${randomBytes(8).toString('hex')}`;
    this.codes.set(code, openid);
    return code;
  }

  /** A fresh `verifyResult` that WeChat reads as `result`. */
  faceResult(result: FaceResult): string {
    const verifyResult = `verify-result-${randomBytes(8).toString('hex')}`;
    this.faces.set(verifyResult, result);
    return verifyResult;
  }

  /** Requests to `path` (`/sns/jscode2session`, …). */
  requestsTo(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  private answer(request: Received): Answer {
    if (request.method === 'GET' && request.path === '/sns/jscode2session') {
      return this.jscode2session(request.query);
    }
    if (request.method === 'GET' && request.path === '/cgi-bin/token') {
      return this.token(request.query);
    }
    if (request.method === 'POST' && request.path === '/cityservice/face/identify/getinfo') {
      return this.getinfo(request.query, request.body);
    }
    return wechatAnswer({ errcode: 404, errmsg: `no such API ${request.path}` }, 404);
  }

  /** The account errcodes shared by both calls that carry the AppSecret. */
  private accountError(query: URLSearchParams): Answer | undefined {
    if (query.get('appid') !== this.appid) {
      return wechatError(40013, 'invalid appid');
    }
    if (query.get('secret') !== this.secret) {
      return wechatError(40125, 'invalid appsecret');
    }
    return undefined;
  }

  private jscode2session(query: URLSearchParams): Answer {
    const refused = this.accountError(query);
    if (refused !== undefined) return refused;
    if (query.get('grant_type') !== 'authorization_code') {
      return wechatError(40002, 'invalid grant_type');
    }
    const code = query.get('js_code') ?? '';
    if (this.usedCodes.has(code)) return wechatError(40163, 'code been used');
    const openid = this.codes.get(code);
    if (openid === undefined) return wechatError(40029, 'invalid code');
    this.usedCodes.add(code);
    return wechatAnswer({ openid, session_key: this.sessionKey });
  }

  private token(query: URLSearchParams): Answer {
    const refused = this.accountError(query);
    if (refused !== undefined) return refused;
    if (query.get('grant_type') !== 'client_credential') {
      return wechatError(40002, 'invalid grant_type');
    }
    const token = `access-token-${this.tokensIssued.length + 1}-${randomBytes(4).toString('hex')}`;
    this.tokensIssued.push(token);
    return wechatAnswer({ access_token: token, expires_in: 7200 });
  }

  private getinfo(query: URLSearchParams, body: string): Answer {
    const token = query.get('access_token');
    if (token === null || token === '') return wechatError(41001, 'access_token missing');
    // Fetching a token retires the ones before it.
    if (token !== this.tokensIssued[this.tokensIssued.length - 1]) {
      return wechatError(40001, 'invalid credential, access_token is invalid or not latest');
    }
    let verifyResult: unknown;
    try {
      verifyResult = (JSON.parse(body) as { verify_result?: unknown }).verify_result;
    } catch {
      return wechatError(47001, 'data format error');
    }
    const face = typeof verifyResult === 'string' ? this.faces.get(verifyResult) : undefined;
    if (face === undefined) return wechatError(84003, 'user info not exist');
    return wechatAnswer({
      errcode: 0,
      errmsg: 'ok',
      identify_ret: face.identifyRet ?? 0,
      identify_time: Math.floor(Date.now() / 1000),
      validate_data: '8604',
      openid: face.openid,
      user_id_key: `user-id-key-${randomBytes(4).toString('hex')}`,
      finish_time: Math.floor(Date.now() / 1000),
      id_card_number_md5: md5Hex(face.idNumber.toUpperCase()),
      name_utf8_md5: md5Hex(face.name),
    });
  }
}

function wechatAnswer(body: object, status = 200): Answer {
  return { status, contentType: 'text/plain', body: JSON.stringify(body) };
}

/** A WeChat refusal: HTTP 200 with an errcode, and an errmsg ending in a request id. */
function wechatError(errcode: number, errmsg: string): Answer {
  return wechatAnswer({ errcode, errmsg: `${errmsg}, rid: ${randomBytes(6).toString('hex')}` });
}

/** A carrier check as the fake carrier received it, its signature checked. */
export interface CarrierCheckReceived {
  /** Every form parameter, `Signature` included. */
  form: { [name: string]: string };
  signatureValid: boolean;
}

/**
 * Alibaba Cloud's `dytnsapi` `ThreeElementsVerification` for one account (`accessKeyId`,
 * `accessKeySecret`, `authCode`): RPC-style requests, signed with HMAC-SHA1 (signature version
 * 1.0), as a form `POST` to the root. A number {@link register}ed to a person answers
 * `IsConsistent` 1 for that person and 0 for anybody else; an unknown number 2 (查无). A bad
 * signature, an unknown AccessKey or AuthCode is refused with Alibaba Cloud's codes.
 */
export class FakeAliyunCarrier {
  readonly accessKeyId = 'LTAI5tSdkTestCarrier';
  readonly accessKeySecret = `carrier-secret-${randomBytes(6).toString('hex')}`;
  readonly authCode = 'QASDW-sdk-test';
  /** Every request, in order of arrival. */
  readonly received: Received[] = [];
  /** Every well-formed check, in order of arrival. */
  readonly checks: CarrierCheckReceived[] = [];
  private readonly owners = new Map<string, { name: string; idNumber: string }>();
  private http: FakeHttp | undefined;

  static async start(): Promise<FakeAliyunCarrier> {
    const fake = new FakeAliyunCarrier();
    fake.http = await startHttp(fake.received, (request) => fake.answer(request));
    return fake;
  }

  get baseUrl(): string {
    if (this.http === undefined) throw new Error('FakeAliyunCarrier not started');
    return this.http.baseUrl;
  }

  async close(): Promise<void> {
    await this.http?.close();
  }

  /** The carrier has `phone` registered to the person with `name` and `idNumber`. */
  register(phone: string, name: string, idNumber: string): void {
    this.owners.set(phone, { name, idNumber });
  }

  /** The checks of `phone`. */
  checksOf(phone: string): CarrierCheckReceived[] {
    return this.checks.filter((c) => c.form.InputNumber === phone);
  }

  private answer(request: Received): Answer {
    if (request.method !== 'POST' || request.path !== '/') {
      return aliyunError(404, 'InvalidAction.NotFound', 'Specified api is not found');
    }
    const form: { [name: string]: string } = {};
    for (const [name, value] of new URLSearchParams(request.body)) form[name] = value;
    const signatureValid = form.Signature === aliyunSignature('POST', form, this.accessKeySecret);
    this.checks.push({ form, signatureValid });
    if (form.AccessKeyId !== this.accessKeyId) {
      return aliyunError(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
    }
    if (!signatureValid) {
      return aliyunError(
        400,
        'SignatureDoesNotMatch',
        'Specified signature is not matched with our calculation.',
      );
    }
    if (form.Action !== 'ThreeElementsVerification' || form.Version !== '2020-02-17') {
      return aliyunError(404, 'InvalidAction.NotFound', 'Specified api is not found');
    }
    if (form.AuthCode !== this.authCode) {
      return aliyunError(400, 'AuthCodeNotExist', 'The label application form does not exist');
    }
    const owner = this.owners.get(form.InputNumber);
    let isConsistent = 2;
    if (owner !== undefined) {
      isConsistent = owner.name === form.Name && owner.idNumber === form.CertCode ? 1 : 0;
    }
    return aliyunAnswer(200, {
      Code: 'OK',
      Message: 'OK',
      Data: { BasicCarrier: '中国移动', IsConsistent: isConsistent },
    });
  }
}

function aliyunAnswer(status: number, body: object): Answer {
  return {
    status,
    contentType: 'application/json;charset=utf-8',
    body: JSON.stringify({ RequestId: randomBytes(8).toString('hex').toUpperCase(), ...body }),
  };
}

function aliyunError(status: number, code: string, message: string): Answer {
  return aliyunAnswer(status, { Code: code, Message: message });
}

/** Alibaba Cloud's percent-encoding: everything but `A–Z a–z 0–9 - _ . ~`, in upper-case hex. */
function aliyunEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The RPC signature (version 1.0, HMAC-SHA1) of a request with the parameters `form` (any
 * `Signature` among them is left out), written from Alibaba Cloud's documentation rather than
 * from the server's code; providers.test.ts checks it on the documented SendSms example.
 */
export function aliyunSignature(
  method: string,
  form: { [name: string]: string },
  secret: string,
): string {
  const canonical = Object.keys(form)
    .filter((name) => name !== 'Signature')
    .sort()
    .map((name) => `${aliyunEncode(name)}=${aliyunEncode(form[name])}`)
    .join('&');
  const stringToSign = `${method}&${aliyunEncode('/')}&${aliyunEncode(canonical)}`;
  return createHmac('sha1', `${secret}&`).update(stringToSign, 'utf8').digest('base64');
}

/** Both fakes, running, and the settings that point `mcert-server` at them. */
export interface FakeProviders {
  wechat: FakeWeChat;
  carrier: FakeAliyunCarrier;
  /** `MCERT_WECHAT__*` and `MCERT_ALIYUN_CARRIER__*` for {@link startServer}'s `env`. */
  env: { [name: string]: string };
  close(): Promise<void>;
}

/** Starts fake WeChat and carrier services. */
export async function startFakeProviders(): Promise<FakeProviders> {
  const [wechat, carrier] = await Promise.all([FakeWeChat.start(), FakeAliyunCarrier.start()]);
  return {
    wechat,
    carrier,
    env: {
      MCERT_WECHAT__APPID: wechat.appid,
      MCERT_WECHAT__SECRET: wechat.secret,
      MCERT_WECHAT__API_BASE: wechat.baseUrl,
      MCERT_ALIYUN_CARRIER__ACCESS_KEY_ID: carrier.accessKeyId,
      MCERT_ALIYUN_CARRIER__ACCESS_KEY_SECRET: carrier.accessKeySecret,
      MCERT_ALIYUN_CARRIER__AUTH_CODE: carrier.authCode,
      MCERT_ALIYUN_CARRIER__ENDPOINT: carrier.baseUrl,
    },
    close: async () => {
      await Promise.all([wechat.close(), carrier.close()]);
    },
  };
}
