/**
 * A portal's backend for the embedded QR login flow (docs/qr-login.md): registered with
 * `mcert-server admin add-portal` on the test server's data, then HTTP Basic with its client id
 * and secret to create login sessions, watch them and collect the result; the ID token checked
 * against the server's JWKS (ES256) with Node's crypto, as an OIDC library would.
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey, randomBytes, verify } from 'node:crypto';

import { type RunningServer, SERVER_BIN } from './server';

export interface Portal {
  clientId: string;
  clientSecret: string;
  name: string;
  origin: string;
}

/** What `POST /api/v1/login-sessions` answers. */
export interface LoginSession {
  id: string;
  qr_text: string;
  qr_svg: string;
  match_code: string;
  expires_at: string;
}

type Json = { [key: string]: unknown };

/** The value printed after `name` (`client_id: …`, `client_id=…`, JSON). */
function printed(output: string, name: string): string | undefined {
  const match = new RegExp(`"?${name}"?\\s*[:=]?\\s*"?([A-Za-z0-9_.~+/=-]{8,})"?`).exec(output);
  return match?.[1];
}

/**
 * A confidential portal registered through the server's CLI, with the given scopes and `extra`
 * arguments of `add-portal` (its item catalogue, say).
 */
export function addPortal(
  server: RunningServer,
  scopes: string[] = ['openid', 'profile', 'employer'],
  extra: string[] = [],
): Portal {
  const suffix = randomBytes(3).toString('hex');
  const name = `就业彩云南测试${suffix}`;
  const origin = `https://portal-${suffix}.example.cn`;
  const args = [
    'admin',
    'add-portal',
    '--name',
    name,
    '--origin',
    origin,
    '--redirect-uri',
    `${origin}/oidc/callback`,
    ...scopes.flatMap((scope) => ['--scope', scope]),
    ...extra,
  ];
  const output = execFileSync(SERVER_BIN, args, {
    env: server.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString('utf8');
  const clientId = printed(output, 'client_id');
  const clientSecret = printed(output, 'client_secret');
  assert.ok(clientId !== undefined && clientSecret !== undefined, `add-portal printed: ${output}`);
  return { clientId, clientSecret, name, origin };
}

/** A call of the portal's backend, authenticated with HTTP Basic. */
export async function portalCall(
  server: RunningServer,
  portal: Portal,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Json }> {
  const basic = Buffer.from(
    `${encodeURIComponent(portal.clientId)}:${encodeURIComponent(portal.clientSecret)}`,
  ).toString('base64');
  const headers: { [name: string]: string } = { Authorization: `Basic ${basic}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(server.baseUrl + path, {
    method,
    headers,
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: Json;
  try {
    parsed = text === '' ? {} : (JSON.parse(text) as Json);
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed };
}

/** A new embedded login session. */
export async function createLoginSession(
  server: RunningServer,
  portal: Portal,
  scope = 'openid profile employer',
  browser: { browser_address?: string; browser_user_agent?: string } = {},
): Promise<LoginSession> {
  const answer = await portalCall(server, portal, 'POST', '/api/v1/login-sessions', {
    scope,
    ...browser,
  });
  assert.equal(answer.status, 201, `create login session: ${JSON.stringify(answer.body)}`);
  return answer.body as unknown as LoginSession;
}

/** The session's state as the portal sees it. */
export async function loginState(
  server: RunningServer,
  portal: Portal,
  id: string,
): Promise<string> {
  const answer = await portalCall(server, portal, 'GET', `/api/v1/login-sessions/${id}`);
  assert.equal(answer.status, 200, `login state: ${JSON.stringify(answer.body)}`);
  return answer.body.state as string;
}

function base64UrlJson(part: string): Json {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Json;
}

/** The ID token's claims after checking its ES256 signature with the server's JWKS. */
export async function verifiedIdToken(server: RunningServer, token: string): Promise<Json> {
  const [header, payload, signature] = token.split('.');
  assert.ok(signature !== undefined, 'a compact JWS');
  const head = base64UrlJson(header);
  assert.equal(head.alg, 'ES256');
  const response = await fetch(`${server.baseUrl}/oauth2/jwks`);
  assert.equal(response.status, 200, 'JWKS');
  const jwks = (await response.json()) as { keys: (Json & { kid?: string })[] };
  const jwk = jwks.keys.find((key) => key.kid === head.kid);
  assert.ok(jwk, `kid ${String(head.kid)} in the JWKS`);
  const key = createPublicKey({ key: jwk as never, format: 'jwk' });
  const valid = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  assert.ok(valid, 'the ID token verifies under the JWKS key');
  return base64UrlJson(payload);
}
