/**
 * Seal requests in front of the stand-in login server (./fake-logins.ts): a login session whose
 * purpose is `seal`, scanned and confirmed through the same `/api/v1/mp/logins…` calls, whose
 * confirmation asks the phone to sign DER(`TBS_Sign`) and, for a PDF, a second session over the
 * PDF signature's signed attributes. `tbs` and `pdfAttributes` let a test make the server ask
 * for something else. Also `GET /api/v1/mp/seals`.
 */

import { createHash, randomBytes } from 'node:crypto';

import { type HttpResponse, type RequestFunction, base64Encode } from '../../src/index';
import type { FakeMcert } from './fake-server';
import { FakeLogins, type FakeLogin } from './fake-logins';
import * as ses from './ses';
import * as model from './sm2';

export interface FakeSealRequest {
  login: FakeLogin;
  title: string;
  /** SM3 of what the portal uploaded. */
  documentSm3: Uint8Array;
  kind: 'pdf' | 'hash';
  /** For a PDF: the SM3 of the stamped revision, which the seal signs. */
  stampedSm3: Uint8Array;
  sealId: string;
  sealName: string;
  picture: Uint8Array;
}

/** The certificate DER the stand-in issues for `serial` (see fake-server.ts). */
export function certificateDer(fake: FakeMcert, serial: string): Uint8Array {
  const key = fake.keys.get(serial);
  if (key === undefined) throw new Error(`no key ${serial}`);
  return model.concat(new Uint8Array([0x30, 0x82, 0x01, 0x00]), key.server.publicKeyBytes);
}

export class FakeSeals {
  readonly logins: FakeLogins;
  readonly requests = new Map<string, FakeSealRequest>();
  /** The seal list `GET /api/v1/mp/seals` answers. */
  seals: unknown[] = [];
  /** Builds DER(`TBS_Sign`) a confirmation asks to sign; replace it to misbehave. */
  tbs: (request: FakeSealRequest, serial: string) => Uint8Array = (request, serial) =>
    ses.tbsSign(this.tbsFields(request, serial));
  /** Builds the PDF's signed attributes of the second session; replace it to misbehave. */
  pdfAttributes: (request: FakeSealRequest) => Uint8Array = (request) =>
    ses.pdfSignedAttributes(request.stampedSm3);
  /** Sessions of the second (PDF) round, by id. */
  readonly pdfSessions = new Set<string>();

  constructor(
    private readonly fake: FakeMcert,
    publicUrl: string,
  ) {
    this.logins = new FakeLogins(fake, publicUrl);
    this.logins.challenge = (login, serial) => {
      const request = this.requests.get(login.id);
      if (request === undefined) throw new Error('not a seal request');
      return this.tbs(request, serial);
    };
    this.logins.scanExtras = (login) => {
      const request = this.requests.get(login.id);
      if (request === undefined) return {};
      return {
        purpose: 'seal',
        scopes: [],
        document: {
          title: request.title,
          sm3: Buffer.from(request.documentSm3).toString('hex'),
          kind: request.kind,
          ...(request.kind === 'pdf' ? { size: 12345 } : {}),
        },
        seal: {
          id: request.sealId,
          name: request.sealName,
          kind: 'generated',
          picture_png: base64Encode(request.picture),
          width_mm: 40,
          height_mm: 40,
        },
        employer: { uscc: '91530100MA6K0000X1', name: '云南测试科技有限公司' },
      };
    };
    this.logins.sessionPurpose = (login) => (this.requests.has(login.id) ? 'seal' : 'login');
    fake.onSigned = (sessionId, session) => {
      if (this.pdfSessions.has(sessionId)) return { purpose: 'seal_pdf' };
      const request = [...this.requests.values()].find(
        (r) => r.login.cosignSessionId === sessionId,
      );
      if (request === undefined || request.kind !== 'pdf') return {};
      const message = this.pdfAttributes(request);
      const id = randomBytes(16).toString('base64url');
      this.pdfSessions.add(id);
      fake.sessions.set(id, {
        serial: session.serial,
        purpose: 'seal_pdf' as 'verify_pin',
        message,
        stage: 'partials',
      });
      return {
        next: { session_id: id, message: base64Encode(message), expires_at: '2099-01-01T00:05:00Z' },
      };
    };
  }

  /** The fields of the `TBS_Sign` of what the scan shows, for the certificate `serial`. */
  tbsFields(request: FakeSealRequest, serial: string): ses.TbsSign {
    return {
      sealId: request.sealId,
      sealName: request.sealName,
      certificates: [certificateDer(this.fake, serial)],
      picture: request.picture,
      widthMm: 40,
      heightMm: 40,
      dataHash: request.kind === 'pdf' ? request.stampedSm3 : request.documentSm3,
      sessionId: request.login.id,
      title: request.title,
    };
  }

  /** A new seal request, as a portal's would make one. */
  create(kind: 'pdf' | 'hash', overrides: Partial<FakeSealRequest> = {}): FakeSealRequest {
    const login = this.logins.create();
    const sm3 = (text: string) => new Uint8Array(createHash('sha256').update(text).digest());
    const request: FakeSealRequest = {
      login,
      title: '劳动合同 (2025) 第 1 号.pdf',
      documentSm3: sm3('upload'),
      kind,
      stampedSm3: sm3('stamped'),
      sealId: '53010000000001',
      sealName: '云南测试科技有限公司',
      picture: new Uint8Array(randomBytes(64)),
      ...overrides,
    };
    this.requests.set(login.id, request);
    return request;
  }

  qr(request: FakeSealRequest): string {
    return this.logins.qr(request.login);
  }

  /** The phone's transport: the seal list here, logins and the rest to the stand-ins. */
  readonly request: RequestFunction = async (request) => {
    const path = new URL(request.url).pathname;
    if (request.method === 'GET' && path === '/api/v1/mp/seals') {
      this.fake.requests.push(request);
      const bearer = (request.headers.Authorization ?? '').replace(/^Bearer /, '');
      const response: HttpResponse = this.fake.mpTokens.has(bearer)
        ? { status: 200, body: { seals: this.seals } }
        : { status: 401, body: { code: 'mp_not_signed_in', message: '登录已失效' } };
      return this.fake.tamper(request, response);
    }
    return this.logins.request(request);
  };
}
