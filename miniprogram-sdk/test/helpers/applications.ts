/**
 * An approved certificate application built through the server's HTTP API, as the Rust
 * end-to-end tests build one (`tests/tests/api/applications.rs` `submitted` + `approve`): the
 * applicant passes the slider check (SM3 proof of work and a human-looking drag), signs in
 * with the SMS code from the development outbox, uploads the scans, walks the wizard and
 * submits; a reviewer added with `mcert-server admin add-staff` approves. The server must run
 * with the development clock (as `startServer` starts it): waits move the server's time.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';

import { solveProofOfWork } from './proof-of-work';
import { type RunningServer, SERVER_BIN, advanceClock, randomResidentId, randomUscc } from './server';

/** The smallest valid PNG (1×1), as `TINY_PNG` in the Rust tests. */
const TINY_PNG = Buffer.from(
  '89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
    '1f15c4890000000a49444154789c6300010000050001' +
    '0d0a2db40000000049454e44ae426082',
  'hex',
);

type Json = { [key: string]: unknown };

async function call(
  server: RunningServer,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: Json }> {
  const headers: { [name: string]: string } = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(server.baseUrl + path, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Json) };
}

function expect(answer: { status: number; body: Json }, status: number, what: string): Json {
  assert.equal(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/**
 * A slider pass: proof of work (in a worker thread, so that requests in flight meanwhile are
 * not held up), then a drag that speeds up and slows down.
 */
async function captchaPass(server: RunningServer): Promise<string> {
  const challenge = expect(await call(server, 'POST', '/api/v1/captcha', {}), 201, 'captcha');
  const id = challenge.id as string;
  const nonce = await solveProofOfWork(id, challenge.difficulty_bits as number);
  const width = challenge.track_width as number;
  const track = Array.from({ length: 31 }, (_, i) => {
    const f = i / 30;
    return { t: i * 25, x: f * f * (3 - 2 * f) * width };
  });
  const answer = expect(
    await call(server, 'POST', `/api/v1/captcha/${id}`, { nonce, track }),
    200,
    'captcha answer',
  );
  return answer.captcha_pass as string;
}

/**
 * The 6-digit code in the newest development SMS to `phone` that carries one (验证码); other
 * messages, such as the approval notice, may arrive in between.
 */
export async function latestSmsCode(baseUrl: string, phone: string): Promise<string> {
  const response = await fetch(`${baseUrl}/dev/sms?phone=${encodeURIComponent(phone)}`);
  const outbox = (await response.json()) as { text: string }[];
  const message = outbox.find((m) => m.text.includes('验证码'));
  const match = /\d{6}/.exec(message?.text ?? '');
  assert.ok(match, `no code in ${JSON.stringify(outbox)}`);
  return match[0];
}

async function applicantToken(server: RunningServer, phone: string): Promise<string> {
  const pass = await captchaPass(server);
  expect(
    await call(server, 'POST', '/api/v1/otp', {
      phone,
      purpose: 'applicant_login',
      captcha_pass: pass,
    }),
    201,
    'otp',
  );
  const code = await latestSmsCode(server.baseUrl, phone);
  const signed = expect(
    await call(server, 'POST', '/api/v1/applicants/session', { phone, code }),
    200,
    'applicant sign-in',
  );
  return signed.token as string;
}

async function upload(server: RunningServer, token: string, purpose: string): Promise<string> {
  const form = new FormData();
  form.append('purpose', purpose);
  form.append('file', new Blob([TINY_PNG], { type: 'image/png' }), 'scan.png');
  const response = await fetch(`${server.baseUrl}/api/v1/uploads`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}` },
    body: form,
  });
  const body = (await response.json()) as Json;
  assert.equal(response.status, 201, `upload ${purpose}: ${JSON.stringify(body)}`);
  return body.id as string;
}

let staffToken: Promise<string> | undefined;

/** A reviewer account on this server (added once through the server's CLI), signed in. */
function reviewer(server: RunningServer): Promise<string> {
  if (staffToken === undefined) {
    const username = `reviewer${randomBytes(3).toString('hex')}`;
    const password = 'review2026now';
    execFileSync(SERVER_BIN, ['admin', 'add-staff', '--username', username, '--name', '审核员'], {
      env: { ...server.env, MCERT_STAFF_PASSWORD: password },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    staffToken = call(server, 'POST', '/api/v1/staff/session', { username, password }).then(
      (answer) => expect(answer, 200, 'staff sign-in').token as string,
    );
  }
  return staffToken;
}

/** Who applied: the agent a mini-program user verifies as, and the phone they bind. */
export interface Application {
  id: number;
  phone: string;
  agentName: string;
  agentId: string;
  unitName: string;
  uscc: string;
  /** The server it was made on. */
  baseUrl: string;
}

/**
 * The server allows one SMS code per phone a minute, whatever it is for, and the binary has no
 * setting for it (`OtpLimits` is fixed). The agent's phone got the applicant sign-in code, so
 * the mini-program's code needs the minute to have passed: the server's clock is moved on by it.
 */
export async function resendIntervalPassed(application: Application): Promise<void> {
  await advanceClock(application.baseUrl, 61);
}

/** A fresh phone for the dev carrier check (not the reserved `1990000`/`1990001`). */
export function randomPhone(): string {
  return `139${String(randomInt(100_000_000)).padStart(8, '0')}`;
}

/**
 * A submitted and approved application of a new applicant and agent; of a new employer unless
 * `employerOf` names an earlier application whose employer it repeats (the employer's second
 * certificate is a sub-certificate).
 */
export async function approvedApplication(
  server: RunningServer,
  employerOf?: Application,
): Promise<Application> {
  const application: Omit<Application, 'id' | 'baseUrl'> = {
    phone: randomPhone(),
    agentName: employerOf === undefined ? '张三' : '王五',
    agentId: randomResidentId(),
    unitName: employerOf?.unitName ?? `昆明测试科技有限公司${randomInt(100000)}`,
    uscc: employerOf?.uscc ?? randomUscc(),
  };
  const token = await applicantToken(server, application.phone);
  const licence = await upload(server, token, 'licence');
  const front = await upload(server, token, 'id_front');
  const back = await upload(server, token, 'id_back');
  const form = await upload(server, token, 'application_form');
  const created = await call(server, 'POST', '/api/v1/applications', undefined, token);
  const id = expect(created, 201, 'create application').id as number;
  const base = `/api/v1/applications/${id}`;
  // The agreement must have been on screen for the countdown (1 s on the test server).
  await advanceClock(server.baseUrl, 1);
  const steps: [string, string, unknown][] = [
    ['POST', `${base}/agreement`, undefined],
    [
      'PUT',
      `${base}/enterprise`,
      {
        licence_upload_id: licence,
        name: application.unitName,
        uscc: application.uscc,
        region_code: '530112',
        address: '云南省昆明市西山区某某路 1 号',
        legal_representative_name: '李四',
        legal_representative_id: '11010519491231002X',
        registration_authority: '昆明市市场监督管理局',
        contact_phone: '0871-12345678',
      },
    ],
    [
      'PUT',
      `${base}/agent`,
      {
        id_front_upload_id: front,
        id_back_upload_id: back,
        name: application.agentName,
        id_number: application.agentId,
        email: 'zhang@example.com',
      },
    ],
    ['PUT', `${base}/ca`, { form_upload_id: form, seal_wanted: false }],
    ['POST', `${base}/submit`, undefined],
  ];
  for (const [method, path, body] of steps) {
    expect(await call(server, method, path, body, token), 200, `${method} ${path}`);
  }
  const staff = await reviewer(server);
  expect(
    await call(server, 'POST', `/api/v1/staff/applications/${id}/approve`, undefined, staff),
    200,
    'approve',
  );
  return { id, baseUrl: server.baseUrl, ...application };
}
