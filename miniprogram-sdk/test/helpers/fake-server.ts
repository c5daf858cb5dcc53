/**
 * An in-process stand-in for the server's split-key API, built on the spec model
 * (./sm2.ts), for client tests that need to bend the server's answers. The real server is
 * exercised by integration.test.ts; this one exists to misbehave on purpose.
 */

import { randomBytes } from 'node:crypto';

import {
  type HttpRequest,
  type HttpResponse,
  type RequestFunction,
  base64Decode,
  base64Encode,
} from '../../src/index';
import * as model from './sm2';
import { TransportServer } from './transport';

interface Key {
  server: model.ServerHalf;
  failures: number;
  locked: boolean;
  token: string;
  active: boolean;
}

export interface Session {
  serial: string;
  purpose: 'key_enrolment' | 'verify_pin' | 'change_pin';
  message: Uint8Array;
  stage: 'partials' | 'signature' | 'done';
}

const error = (
  status: number,
  code: string,
  message: string,
  extra: object = {},
): HttpResponse => ({
  status,
  body: { code, message, ...extra },
});

function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  bytes[0] |= 0x10;
  return bytes.toString('hex').toUpperCase();
}

export class FakeMcert {
  readonly tickets = new Set<string>();
  readonly keys = new Map<string, Key>();
  readonly sessions = new Map<string, Session>();
  readonly requests: HttpRequest[] = [];
  /** The co-signing transport key the rounds are sealed to. */
  readonly transport = new TransportServer(
    model.mod(model.toBig(randomBytes(40)), model.N - 1n) + 1n,
  );
  /** Milliseconds to wait before answering partials (to overlap rounds). */
  partialsDelay = 0;
  /** More fields for the answer to a session's signature (a seal's `next`). */
  onSigned: (sessionId: string, session: Session) => { [key: string]: unknown } = () => ({});
  /** Rewrites an answer before the phone sees it. */
  tamper: (request: HttpRequest, response: HttpResponse) => HttpResponse = (_, r) => r;

  ticket(): string {
    const ticket = randomBytes(8).toString('hex');
    this.tickets.add(ticket);
    return ticket;
  }

  readonly request: RequestFunction = async (request) => {
    this.requests.push(request);
    const response = await this.route(request);
    return this.tamper(request, response);
  };

  /** Requests whose URL ends with `suffix`. */
  sent(suffix: string): HttpRequest[] {
    return this.requests.filter((r) => r.url.endsWith(suffix));
  }

  private openSession(serial: string, purpose: Session['purpose'], message: Uint8Array) {
    const id = randomBytes(16).toString('base64url');
    this.sessions.set(id, { serial, purpose, message, stage: 'partials' });
    return { session_id: id, message: base64Encode(message), expires_at: '2099-01-01T00:00:00Z' };
  }

  private async route(request: HttpRequest): Promise<HttpResponse> {
    const path = new URL(request.url).pathname;
    const body = (request.body ?? {}) as { [key: string]: string };
    if (request.method === 'GET' && path === '/api/v1/mp/transport-key') {
      return {
        status: 200,
        body: { public_key: base64Encode(this.transport.publicKey), round_version: 2 },
      };
    }
    if (path.startsWith('/api/v1/mp/')) return this.miniProgram(request, path, body);
    if (request.method === 'POST' && path === '/api/v1/enrolments') {
      if (!this.tickets.delete(body.ticket)) {
        return error(404, 'enrolment_ticket_invalid', '下载码无效或已过期');
      }
      return this.startEnrolment(body.p1);
    }
    return this.routeCosign(request, path, body);
  }

  /** Mini-program sessions: the token of each `login`. */
  readonly mpTokens = new Set<string>();
  /** Phones bound to someone else (`phone-codes` answers `phone_bound`). */
  readonly phonesBoundElsewhere = new Set<string>();
  /** Application ids the signed-in person may download; empty: `no_binding_info`. */
  readonly downloadable = new Set<number>();

  private miniProgram(
    request: HttpRequest,
    path: string,
    body: { [key: string]: unknown },
  ): HttpResponse {
    if (request.method === 'POST' && path === '/api/v1/mp/session') {
      const token = randomBytes(16).toString('hex');
      this.mpTokens.add(token);
      return {
        status: 201,
        body: { token, expires_at: '2099-01-01T00:00:00Z', verified: true },
      };
    }
    const bearer = (request.headers.Authorization ?? '').replace(/^Bearer /, '');
    if (!this.mpTokens.has(bearer)) {
      return error(401, 'mp_not_signed_in', '登录已失效，请重新进入小程序登录');
    }
    if (request.method === 'DELETE' && path === '/api/v1/mp/session') {
      this.mpTokens.delete(bearer);
      return { status: 204, body: null };
    }
    if (request.method === 'POST' && path === '/api/v1/mp/phone-codes') {
      if (this.phonesBoundElsewhere.has(body.phone as string)) {
        return error(409, 'phone_bound', '手机号已被绑定：该手机号已与其他经办人绑定');
      }
      return { status: 201, body: { expires_at: '2099-01-01T00:00:00Z', resend_after_secs: 60 } };
    }
    if (request.method === 'GET' && path === '/api/v1/mp/employers') {
      if (this.downloadable.size === 0) {
        return error(404, 'no_binding_info', '未获取到绑定信息：没有以您本人为经办人的单位');
      }
      return {
        status: 200,
        body: [...this.downloadable].map((id) => ({
          application_id: id,
          unit_name: '昆明测试科技有限公司',
          uscc: '91440300708461136T',
          phone: '13900139000',
          ready: true,
          sync_status_label: '已推送',
        })),
      };
    }
    if (request.method === 'POST' && path === '/api/v1/mp/downloads') {
      if (!this.downloadable.has(body.application_id as number)) {
        return error(404, 'no_binding_info', '未获取到绑定信息');
      }
      return this.startEnrolment(body.p1 as string);
    }
    return error(404, 'not_found', '未找到');
  }

  /** The 201 answer of an enrolment or download: a pending key and its enrolment session. */
  private startEnrolment(p1: string): HttpResponse {
    {
      const server = new model.ServerHalf(
        base64Decode(p1),
        model.mod(model.toBig(randomBytes(40)), model.N - 1n) + 1n,
      );
      const serial = randomSerial();
      this.keys.set(serial, {
        server,
        failures: 0,
        locked: false,
        token: randomBytes(16).toString('hex'),
        active: false,
      });
      return {
        status: 201,
        body: {
          serial,
          public_key: base64Encode(server.publicKeyBytes),
          cosign: this.openSession(
            serial,
            'key_enrolment',
            model.keyEnrolmentMessage(serial, server.publicKeyBytes),
          ),
        },
      };
    }
  }

  private async routeCosign(
    request: HttpRequest,
    path: string,
    body: { [key: string]: string },
  ): Promise<HttpResponse> {
    let match: RegExpExecArray | null;
    if (
      request.method === 'POST' &&
      (match = /^\/api\/v1\/cosign\/([^/]+)\/partials$/.exec(path))
    ) {
      const session = this.sessions.get(match[1]);
      if (session === undefined)
        return error(404, 'cosign_session_not_found', '会话不存在或已过期');
      if (session.stage !== 'partials') return error(409, 'cosign_out_of_order', '请重新发起');
      const key = this.keys.get(session.serial) as Key;
      if (key.locked) return error(423, 'key_locked', '证书已锁定');
      const sessionId = new Uint8Array(Buffer.from(match[1]));
      const round = this.transport.openRound(sessionId, base64Decode(body.sealed_round));
      if (round === null) {
        return error(400, 'cosign_round_undecryptable', '签名数据无法解密');
      }
      if (this.partialsDelay > 0) await new Promise((r) => setTimeout(r, this.partialsDelay));
      if (!key.server.checkProof(round.q1, round.proof, sessionId, session.message)) {
        key.failures++;
        if (key.failures >= 6) {
          key.locked = true;
          return error(423, 'key_locked', '证书已锁定');
        }
        return error(403, 'pin_incorrect', 'PIN 码错误', { remaining_attempts: 6 - key.failures });
      }
      key.failures = 0;
      session.stage = 'signature';
      const k = () => model.mod(model.toBig(randomBytes(40)), model.N - 1n) + 1n;
      return {
        status: 200,
        body: {
          sealed_partials: base64Encode(
            round.channel.sealPartials(key.server.partials(round.q1, session.message, k(), k())),
          ),
        },
      };
    }
    if (
      request.method === 'POST' &&
      (match = /^\/api\/v1\/cosign\/([^/]+)\/signature$/.exec(path))
    ) {
      const session = this.sessions.get(match[1]);
      if (session === undefined)
        return error(404, 'cosign_session_not_found', '会话不存在或已过期');
      if (session.stage !== 'signature') return error(409, 'cosign_out_of_order', '请重新发起');
      const key = this.keys.get(session.serial) as Key;
      if (
        !model.verifySignature(key.server.publicKey, session.message, base64Decode(body.signature))
      ) {
        return error(400, 'signature_invalid', '签名无效');
      }
      session.stage = 'done';
      if (session.purpose === 'key_enrolment') {
        key.active = true;
        const der = model.concat(
          new Uint8Array([0x30, 0x82, 0x01, 0x00]),
          key.server.publicKeyBytes,
        );
        return {
          status: 200,
          body: {
            purpose: 'key_enrolment',
            serial: session.serial,
            certificate: `-----BEGIN CERTIFICATE-----\n${base64Encode(der)}\n-----END CERTIFICATE-----\n`,
            device_token: key.token,
          },
        };
      }
      return {
        status: 200,
        body: {
          purpose: session.purpose,
          serial: session.serial,
          ...this.onSigned(match[1], session),
        },
      };
    }
    if ((match = /^\/api\/v1\/certificates\/([^/]+)\/(key-checks|key)$/.exec(path))) {
      const serial = match[1].toUpperCase();
      const key = this.keys.get(serial);
      if (key === undefined || request.headers.Authorization !== `Bearer ${key.token}`) {
        return error(401, 'device_token_invalid', '设备凭证无效');
      }
      if (match[2] === 'key') {
        return {
          status: 200,
          body: {
            serial,
            status: 'active',
            locked: key.locked,
            remaining_attempts: key.locked ? 0 : 6 - key.failures,
          },
        };
      }
      if (key.locked) return error(423, 'key_locked', '证书已锁定');
      const purpose = body.purpose as 'verify_pin' | 'change_pin';
      return {
        status: 201,
        body: this.openSession(
          serial,
          purpose,
          model.keyCheckMessage(serial, purpose, randomBytes(16)),
        ),
      };
    }
    return error(404, 'not_found', '接口不存在');
  }
}
