/**
 * The mini-program's QR login calls (`/api/v1/mp/logins…`, docs/qr-login.md) in front of the
 * stand-in server of ./fake-server.ts: login sessions as a portal would create them, and a
 * confirmation that opens a co-signing session in the stand-in, so partials and signature go
 * through its split-key code. `challenge` lets a test make the server ask for something else.
 */

import { randomBytes } from 'node:crypto';

import {
  type HttpRequest,
  type HttpResponse,
  type RequestFunction,
  base64Encode,
} from '../../src/index';
import type { FakeMcert } from './fake-server';
import * as model from './sm2';

export interface FakeLogin {
  id: string;
  clientId: string;
  portalName: string;
  origin: string;
  scopes: string[];
  /** The code the portal's page shows. */
  matchCode: string;
  /** The codes the phone offers: the match code and two others. */
  matchChoices: string[];
  /** `location · address · browser` of the browser that started it. */
  initiatorSummary: string;
  /** When it was started, Unix seconds. */
  initiatedAt: number;
  /** Shown when the phone is elsewhere. */
  regionWarning: string | null;
  state: 'pending' | 'scanned' | 'denied' | 'mismatched';
  /** The mini-program token that scanned it. */
  scannedBy: string | null;
  /** The co-signing session of the confirmation. */
  cosignSessionId: string | null;
}

const error = (status: number, code: string, message: string): HttpResponse => ({
  status,
  body: { code, message },
});

/** The fields of the `login_challenge` the server asks the phone to sign, in tag order. */
export function challengeFields(login: FakeLogin, serial: string): model.FieldValue[] {
  const now = Math.floor(Date.now() / 1000);
  return [
    new Uint8Array(Buffer.from(login.id, 'ascii')),
    login.clientId,
    login.portalName,
    login.origin,
    login.scopes.join(' '),
    serial,
    login.matchCode,
    login.initiatorSummary,
    { time: login.initiatedAt },
    { time: now },
    { time: now + 120 },
  ];
}

/** Three distinct two-digit codes, `answer` among them. */
function choicesWith(answer: string): string[] {
  const choices = [answer];
  while (choices.length < 3) {
    const code = String(10 + Math.floor(Math.random() * 90));
    if (!choices.includes(code)) choices.push(code);
  }
  return choices.sort();
}

export class FakeLogins {
  readonly logins = new Map<string, FakeLogin>();
  /** Builds the message a confirmation asks to sign; replace it to misbehave. */
  challenge: (login: FakeLogin, serial: string) => Uint8Array = (login, serial) =>
    model.encodeMessage('login_challenge', challengeFields(login, serial));
  /** More fields of the scan's answer (a seal request's), overriding the login's. */
  scanExtras: (login: FakeLogin) => { [key: string]: unknown } = () => ({});
  /** The purpose of a confirmation's co-signing session, as its signature answers it. */
  sessionPurpose: (login: FakeLogin) => string = () => 'login';

  constructor(
    private readonly fake: FakeMcert,
    /** The server's public URL, as the QR text starts. */
    private readonly publicUrl: string,
  ) {}

  /** A new login session, as a portal's request would make one. */
  create(overrides: Partial<FakeLogin> = {}): FakeLogin {
    const matchCode = overrides.matchCode ?? String(10 + Math.floor(Math.random() * 90));
    const login: FakeLogin = {
      id: randomBytes(16).toString('base64url'),
      clientId: 'portal-client-1',
      portalName: '就业彩云南',
      origin: 'https://portal.example.cn',
      scopes: ['openid', 'employer'],
      matchCode,
      matchChoices: choicesWith(matchCode),
      initiatorSummary: '云南昆明 · 222.172.200.* · Chrome',
      initiatedAt: Math.floor(Date.now() / 1000) - 10,
      regionWarning: null,
      state: 'pending',
      scannedBy: null,
      cosignSessionId: null,
      ...overrides,
    };
    this.logins.set(login.id, login);
    return login;
  }

  qr(login: FakeLogin): string {
    return `${this.publicUrl}/q/${login.id}`;
  }

  /** The phone's transport: login calls here, everything else to the stand-in. */
  readonly request: RequestFunction = async (request) => {
    const path = new URL(request.url).pathname;
    if (!path.startsWith('/api/v1/mp/logins')) return this.fake.request(request);
    this.fake.requests.push(request);
    return this.fake.tamper(request, this.route(request, path));
  };

  private route(request: HttpRequest, path: string): HttpResponse {
    const bearer = (request.headers.Authorization ?? '').replace(/^Bearer /, '');
    if (!this.fake.mpTokens.has(bearer)) {
      return error(401, 'mp_not_signed_in', '登录已失效，请重新进入小程序登录');
    }
    const body = (request.body ?? {}) as { [key: string]: unknown };
    if (request.method === 'POST' && path === '/api/v1/mp/logins') {
      const prefix = `${this.publicUrl}/q/`;
      const qr = typeof body.qr === 'string' ? body.qr : '';
      if (!qr.startsWith(prefix)) return error(400, 'login_qr_invalid', '不是本平台的登录二维码');
      const login = this.logins.get(qr.slice(prefix.length));
      if (login === undefined) return error(404, 'login_not_found', '二维码已过期，请刷新网页');
      if (login.state !== 'pending') {
        return error(409, 'login_already_scanned', '二维码已被扫描或已使用');
      }
      login.state = 'scanned';
      login.scannedBy = bearer;
      const active = [...this.fake.keys].filter(([, key]) => key.active);
      return {
        status: 200,
        body: {
          id: login.id,
          portal: { client_id: login.clientId, name: login.portalName, origin: login.origin },
          purpose: 'login',
          scopes: login.scopes,
          match_choices: login.matchChoices,
          initiator: {
            location: login.initiatorSummary.split(' · ')[0],
            address: '222.172.200.*',
            browser: 'Chrome',
            started_at: new Date(login.initiatedAt * 1000).toISOString(),
            summary: login.initiatorSummary,
          },
          region_warning: login.regionWarning,
          expires_at: '2099-01-01T00:02:00Z',
          certificates: active.map(([serial], index) => ({
            serial,
            unit_name: '云南测试科技有限公司',
            uscc: '91530100MA6K0000X1',
            role: index === 0 ? 'primary' : 'sub',
            default: index === 0,
          })),
          ...this.scanExtras(login),
        },
      };
    }
    const match = /^\/api\/v1\/mp\/logins\/([^/]+)\/(confirm|deny)$/.exec(path);
    const login = match === null ? undefined : this.logins.get(match[1]);
    if (match === null || request.method !== 'POST') return error(404, 'not_found', '接口不存在');
    if (login === undefined || login.state !== 'scanned' || login.scannedBy !== bearer) {
      return error(409, 'login_state', '该登录请求已失效，请重新扫码');
    }
    if (match[2] === 'deny') {
      login.state = 'denied';
      return { status: 204, body: null };
    }
    if (body.match_code !== login.matchCode) {
      login.state = 'mismatched';
      return error(403, 'login_match_wrong', '您选择的数字与网页上显示的不一致，本次登录已终止');
    }
    const serial = typeof body.serial === 'string' ? body.serial : '';
    const key = this.fake.keys.get(serial);
    if (key === undefined || !key.active) return error(403, 'certificate_not_held', '证书不属于您');
    const message = this.challenge(login, serial);
    const sessionId = randomBytes(16).toString('base64url');
    // The stand-in's signature route answers {purpose, serial} from the session.
    this.fake.sessions.set(sessionId, {
      serial,
      purpose: this.sessionPurpose(login) as 'verify_pin',
      message,
      stage: 'partials',
    });
    login.cosignSessionId = sessionId;
    return {
      status: 201,
      body: {
        session_id: sessionId,
        message: base64Encode(message),
        expires_at: '2099-01-01T00:02:00Z',
      },
    };
  }
}
