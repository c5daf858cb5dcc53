/**
 * The whole hosted QR login (docs/qr-login.md) against the real `mcert-server`, with Chromium as
 * the employer's PC and the SDK's test phone as the agent's phone: a portal registered with
 * `mcert-server admin add-portal` (a node:http server on loopback plays it) sends the browser to
 * `/oauth2/authorize` with PKCE; the QR page shows the code; the phone scans it, checks what it
 * is shown and confirms with its PIN (a co-signature); the page goes on to the portal with a
 * code, which the portal exchanges at `/oauth2/token` for an ID token that it checks against the
 * JWKS. A second portal (public, PKCE only) sees the phone decline: `error=access_denied`.
 *
 * Needs: the server binary (`MCERT_SERVER_BIN`, else the SDK helpers' default
 * `$CARGO_TARGET_DIR/debug/mcert-server`), the signer module
 * (`MCERT_SIGNER_WASM`, else found as below), and the SDK built for tests:
 * `cd ../../miniprogram-sdk && npm run build && npm run build:test`.
 * Setting up the phone moves the server's clock past its one-SMS-a-minute limit (the SDK's
 * helpers start the server with the development clock).
 */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { VIEWPORTS, launchChromium, watchProblems } from './lib/chromium.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SDK = resolve(HERE, '..', '..', 'miniprogram-sdk');
const SCREENSHOTS = join(HERE, 'screenshots');
const PIN = '246810';
const PORTAL_NAME = '就业彩云南';

// Where the module is, decided before the SDK's helpers read the environment.
if (process.env.MCERT_SIGNER_WASM === undefined) {
  const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache', 'mcert', 'target');
  const found = [
    join(SDK, 'wasm', 'mcert_signer.wasm'),
    join(targetDir, 'wasm32-unknown-unknown', 'wasm', 'mcert_signer.wasm'),
  ].find((path) => existsSync(path));
  if (found !== undefined) process.env.MCERT_SIGNER_WASM = found;
}

/** A module of the SDK's test build (CommonJS), with what to run when it is missing. */
async function sdkModule(relative) {
  const path = join(SDK, 'build', relative);
  assert.ok(
    existsSync(path),
    `${path} is missing. Build the SDK for tests first:\n` +
      `  cd ${SDK} && npm run build && npm run build:test`,
  );
  return (await import(pathToFileURL(path).href)).default;
}

let server;
let browser;
let portal;
let helpers;
/** The agent's phone with the downloaded certificate. */
let phone;
let serial;
let application;

before(async () => {
  helpers = {
    server: await sdkModule('test/helpers/server.js'),
    applications: await sdkModule('test/helpers/applications.js'),
    account: await sdkModule('test/helpers/mp-account.js'),
    phone: await sdkModule('test/helpers/phone.js'),
    sdk: await sdkModule('src/index.js'),
  };
  mkdirSync(SCREENSHOTS, { recursive: true });
  server = await helpers.server.startServer({
    env: { MCERT_SYNC_INTERVAL_SECS: '1', MCERT_AGREEMENT_COUNTDOWN_SECS: '1' },
  });
  browser = await launchChromium();
  portal = await startPortal();
  application = await helpers.applications.approvedApplication(server);
  phone = await agentPhone(application);
  const employer = await helpers.account.readyEmployer(phone, application.id);
  serial = (await phone.client.download(employer.applicationId, PIN)).serial;
});

after(async () => {
  await browser?.close();
  await portal?.stop();
  await server?.stop();
});

/** A phone signed in to the mini-program, verified as the agent, with the agent's phone bound. */
async function agentPhone(app) {
  const openid = `openid-${randomBytes(6).toString('hex')}`;
  const agent = await helpers.phone.testPhone(server.baseUrl);
  await agent.client.login(`dev:${openid}:${randomBytes(4).toString('hex')}`);
  await agent.client.verifyRealName({
    name: app.agentName,
    idNumber: app.agentId,
    verifyResult: `dev-pass:${app.agentName}:${app.agentId}:${openid}`,
  });
  // The applicant's sign-in code went to the same phone less than a minute ago.
  await helpers.applications.resendIntervalPassed(app);
  await agent.client.sendPhoneCode(app.phone);
  await agent.client.bindPhone(app.phone, await helpers.applications.latestSmsCode(server.baseUrl, app.phone));
  return agent;
}

/** The portal: a loopback server whose callback records what the browser brought back. */
async function startPortal() {
  const callbacks = [];
  const http = createServer((request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1');
    if (url.pathname === '/oidc/callback') callbacks.push(Object.fromEntries(url.searchParams));
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    response.end('<!doctype html><meta charset="utf-8"><title>门户</title><p>门户首页</p>');
  });
  await new Promise((r) => http.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${http.address().port}`;
  return {
    origin,
    redirectUri: `${origin}/oidc/callback`,
    callbacks,
    stop: () =>
      new Promise((r) => {
        http.closeAllConnections();
        http.close(r);
      }),
  };
}

/**
 * Registers the portal with the server's CLI; returns `{clientId, clientSecret?}` from what it
 * prints (JSON, or `client_id: …` / `client_secret: …` lines).
 */
function addPortal({ name, confidential }) {
  const args = ['admin', 'add-portal', '--name', name, '--origin', portal.origin];
  args.push('--redirect-uri', portal.redirectUri);
  for (const scope of ['openid', 'profile', 'employer']) args.push('--scope', scope);
  if (!confidential) args.push('--public');
  let output;
  try {
    output = execFileSync(helpers.server.SERVER_BIN, args, {
      env: server.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    assert.fail(`add-portal failed: ${error.stderr ?? error.message}`);
  }
  let clientId;
  let clientSecret;
  try {
    const parsed = JSON.parse(output);
    clientId = parsed.client_id;
    clientSecret = parsed.client_secret ?? undefined;
  } catch {
    // `client_id=…` / `client_secret: …`: the value is everything after the separator. (A
    // pattern skipping non-word characters there lost a secret's leading `-`, one start in 64.)
    clientId = /^client_id\s*[=:]\s*(\S+)$/m.exec(output)?.[1];
    clientSecret = /^client_secret\s*[=:]\s*(\S+)$/m.exec(output)?.[1];
  }
  assert.ok(clientId, `no client_id in: ${output}`);
  assert.equal(clientSecret !== undefined, confidential, `client_secret only when confidential: ${output}`);
  return { clientId, clientSecret };
}

function base64url(bytes) {
  return Buffer.from(bytes).toString('base64url');
}

/** A fresh authorization request with PKCE S256, `state` and `nonce`. */
function authorizeRequest(clientId) {
  const verifier = base64url(randomBytes(32));
  const request = {
    state: base64url(randomBytes(12)),
    nonce: base64url(randomBytes(12)),
    verifier,
  };
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: portal.redirectUri,
    scope: 'openid profile employer',
    state: request.state,
    nonce: request.nonce,
    code_challenge: base64url(createHash('sha256').update(verifier).digest()),
    code_challenge_method: 'S256',
  });
  request.url = `${server.baseUrl}/oauth2/authorize?${query}`;
  return request;
}

/**
 * Opens the authorize URL in a new tab and waits for the QR page (the login cookie's path is
 * the page's own); returns the page, its login id, QR text and match code.
 */
async function openLoginPage(clientId, viewport) {
  const page = await browser.newPage(viewport);
  const problems = await watchProblems(page);
  const request = authorizeRequest(clientId);
  const loginPage = page.waitForResponse((r) => /\/login\/[A-Za-z0-9_-]{22}$/.test(r.url()));
  await page.goto(request.url);
  const response = await loginPage;
  assert.equal(response.status(), 200);
  const csp = response.headers()['content-security-policy'] ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-[^']+'/);
  await page.waitForSelector('main[data-state="waiting"]');
  const id = /\/login\/([A-Za-z0-9_-]{22})$/.exec(new URL(page.url()).pathname)?.[1];
  assert.ok(id, `on the QR page: ${page.url()}`);
  const qrText = await page.locator('[data-qr-text]').getAttribute('data-qr-text');
  assert.equal(qrText, `${server.baseUrl}/q/${id}`);
  const matchCode = await page.locator('main').getAttribute('data-match-code');
  assert.match(matchCode, /^\d{2}$/);
  assert.equal(await page.locator('.qr svg').count(), 1, 'the QR is drawn');
  return { page, problems, request, id, qrText, matchCode };
}

/** A JWT's parts, its ES256 signature checked against the server's JWKS. */
async function verifiedIdToken(token) {
  const [head, body, signature] = token.split('.');
  const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
  assert.equal(header.alg, 'ES256');
  assert.ok(header.kid, 'kid');
  const discovery = await (await fetch(`${server.baseUrl}/.well-known/openid-configuration`)).json();
  const jwks = await (await fetch(discovery.jwks_uri)).json();
  const jwk = jwks.keys.find((key) => key.kid === header.kid);
  assert.ok(jwk, `key ${header.kid} in the JWKS`);
  const valid = verify(
    'sha256',
    Buffer.from(`${head}.${body}`),
    { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  assert.ok(valid, 'the ID token verifies under the JWKS key');
  return { discovery, claims: JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) };
}

async function exchangeCode({ clientId, clientSecret }, code, verifier) {
  const headers = { 'Content-Type': 'application/x-www-form-urlencoded' };
  const form = new URLSearchParams({
    grant_type: 'authorization_code',
    code,
    redirect_uri: portal.redirectUri,
    code_verifier: verifier,
  });
  if (clientSecret !== undefined) {
    const basic = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`;
    headers.Authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  } else {
    form.set('client_id', clientId);
  }
  const response = await fetch(`${server.baseUrl}/oauth2/token`, { method: 'POST', headers, body: form });
  return { status: response.status, body: await response.json() };
}

// The phone's side: the SDK's login calls; until they exist, the HTTP calls of the contract.

function mpToken() {
  const token = phone.storage.snapshot()['mcert:mp-session'];
  assert.ok(token, 'the phone is signed in');
  return token;
}

async function mpPost(path, body) {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${mpToken()}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const json = text === '' ? {} : JSON.parse(text);
  assert.ok(response.ok, `POST ${path}: ${response.status} ${text}`);
  return json;
}

/** The scan as the phone shows it: `{id, portal: {clientId, name, origin}, matchCode, …}`. */
async function scanLogin(qrText) {
  if (typeof phone.client.scanLogin === 'function') return phone.client.scanLogin(qrText);
  const body = await mpPost('/api/v1/mp/logins', { qr: qrText });
  return {
    id: body.id,
    portal: { clientId: body.portal.client_id, name: body.portal.name, origin: body.portal.origin },
    purpose: body.purpose,
    scopes: body.scopes,
    matchChoices: body.match_choices,
    expiresAt: body.expires_at,
    certificates: body.certificates.map((c) => ({ ...c, unitName: c.unit_name })),
  };
}

async function confirmLogin(scan, certificateSerial, matchCode) {
  if (typeof phone.client.confirmLogin === 'function') {
    return phone.client.confirmLogin(scan, certificateSerial, matchCode, PIN);
  }
  const session = await mpPost(`/api/v1/mp/logins/${scan.id}/confirm`, {
    serial: certificateSerial,
    match_code: matchCode,
  });
  return phone.client.cosign(
    { sessionId: session.session_id, message: helpers.sdk.base64Decode(session.message) },
    certificateSerial,
    PIN,
  );
}

async function denyLogin(scan) {
  if (typeof phone.client.denyLogin === 'function') return phone.client.denyLogin(scan);
  await mpPost(`/api/v1/mp/logins/${scan.id}/deny`);
}

test('PC browser → QR page → phone scans and confirms → portal gets a code → ID token', async () => {
  const client = addPortal({ name: PORTAL_NAME, confidential: true });
  const viewport = VIEWPORTS[1];
  const { page, problems, request, id, qrText, matchCode } = await openLoginPage(client.clientId, viewport);
  const card = await page.locator('main').innerText();
  assert.match(card, new RegExp(PORTAL_NAME));
  assert.ok(card.includes(portal.origin), 'the portal origin is shown');
  assert.match(card, new RegExp(`手机上请点选数字\\s*${matchCode}`));
  await page.screenshot({ path: join(SCREENSHOTS, 'e2e-waiting.png') });

  // Only the browser holding the cookie hears the status (DESIGN.md §12.2).
  const stranger = await fetch(`${server.baseUrl}/login/${id}/events`, {
    headers: { Accept: 'text/event-stream' },
  });
  assert.ok(stranger.status >= 400, `no stream without the cookie: ${stranger.status}`);
  await stranger.body?.cancel();

  const scan = await scanLogin(qrText);
  assert.equal(scan.id, id);
  assert.equal(scan.portal.clientId, client.clientId);
  assert.equal(scan.portal.name, PORTAL_NAME);
  assert.equal(scan.portal.origin, portal.origin);
  assert.ok(scan.matchChoices.includes(matchCode), 'the phone offers the code on the page');
  assert.equal(scan.matchChoices.length, 3);
  assert.equal(scan.initiator.address, '127.0.0.*', 'where the login was started');
  assert.match(scan.initiator.browser ?? '', /Chrome|Chromium/);
  assert.deepEqual([...scan.scopes].sort(), ['employer', 'openid', 'profile']);
  assert.equal(scan.certificates[0].serial, serial);
  await page.waitForSelector('main[data-state="scanned"]');
  assert.match(await page.locator('#detail').innerText(), new RegExp(`点选数字\\s*${matchCode}`));
  await page.screenshot({ path: join(SCREENSHOTS, 'e2e-scanned.png') });

  const { result } = await confirmLogin(scan, serial, matchCode);
  assert.equal(result.purpose, 'login');
  assert.equal(result.serial, serial);

  // confirmed → the page asks /continue → the server redirects to the portal.
  await page.waitForURL(`${portal.redirectUri}?**`, { timeout: 15_000 });
  const callback = new URL(page.url()).searchParams;
  assert.equal(callback.get('state'), request.state);
  const code = callback.get('code');
  assert.ok(code, `a code: ${page.url()}`);
  assert.equal(callback.get('error'), null);

  const tokens = await exchangeCode(client, code, request.verifier);
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.equal(tokens.body.token_type, 'Bearer');
  assert.ok(tokens.body.access_token);
  assert.ok(tokens.body.expires_in > 0);
  const { discovery, claims } = await verifiedIdToken(tokens.body.id_token);
  assert.equal(claims.iss, discovery.issuer);
  assert.equal(claims.iss.replace(/\/$/, ''), server.baseUrl);
  assert.equal(claims.aud, client.clientId);
  assert.equal(claims.nonce, request.nonce);
  assert.equal(claims.sid, id);
  assert.equal(typeof claims.sub, 'string');
  assert.ok(claims.exp - claims.iat <= 300 && claims.exp > Date.now() / 1000);
  assert.deepEqual(claims.amr, ['swk', 'pin']);
  assert.equal(claims.acr, 'urn:mcert:loa:cosign');
  assert.equal(claims.name, application.agentName);
  assert.equal(claims.employer_name, application.unitName);
  assert.equal(claims.uscc, application.uscc);
  assert.equal(claims.certificate_serial, serial);
  assert.equal(claims.certificate_role, 'primary');
  assert.ok(Array.isArray(claims.items), 'granted items');

  const userinfo = await fetch(`${server.baseUrl}/oauth2/userinfo`, {
    headers: { Authorization: `Bearer ${tokens.body.access_token}` },
  });
  assert.equal(userinfo.status, 200);
  const info = await userinfo.json();
  assert.equal(info.sub, claims.sub);
  assert.equal(info.uscc, application.uscc);

  // A code is used once (DESIGN.md §12.1).
  const again = await exchangeCode(client, code, request.verifier);
  assert.equal(again.status, 400);
  assert.equal(again.body.error, 'invalid_grant');

  assert.deepEqual(problems, []);
  await page.close();
});

test('a public portal, phone at 360 px: the phone declines → 已在手机上拒绝登录 → access_denied', async () => {
  const client = addPortal({ name: `${PORTAL_NAME}（移动端）`, confidential: false });
  const viewport = VIEWPORTS[0];
  const { page, problems, request, qrText } = await openLoginPage(client.clientId, viewport);
  const scan = await scanLogin(qrText);
  await page.waitForSelector('main[data-state="scanned"]');
  await denyLogin(scan);
  await page.waitForSelector('main[data-state="denied"]');
  assert.equal(await page.locator('#status').innerText(), '已在手机上拒绝登录');
  await page.screenshot({ path: join(SCREENSHOTS, 'e2e-denied.png') });

  await page.getByRole('link', { name: '返回' }).click();
  await page.waitForURL(`${portal.redirectUri}?**`);
  const callback = new URL(page.url()).searchParams;
  assert.equal(callback.get('error'), 'access_denied');
  assert.equal(callback.get('state'), request.state);
  assert.equal(callback.get('code'), null);
  assert.deepEqual(problems, []);
  await page.close();
});

test('an unknown client gets the error page, never a redirect', async () => {
  const page = await browser.newPage(VIEWPORTS[0]);
  const problems = await watchProblems(page);
  const query = new URLSearchParams({
    response_type: 'code',
    client_id: 'no-such-portal',
    redirect_uri: portal.redirectUri,
    scope: 'openid',
    state: 's',
    nonce: 'n',
  });
  const response = await page.goto(`${server.baseUrl}/oauth2/authorize?${query}`);
  assert.ok(response.status() >= 400, `an error status: ${response.status()}`);
  assert.ok(page.url().startsWith(server.baseUrl), `stayed on mcert: ${page.url()}`);
  assert.equal(portal.callbacks.filter((c) => c.state === 's').length, 0);
  assert.match(await page.locator('h1').innerText(), /[\u4e00-\u9fff]/, 'a Chinese title');
  await page.screenshot({ path: join(SCREENSHOTS, 'e2e-error.png') });
  // The browser logs the error status of the page itself; nothing else may go wrong.
  assert.deepEqual(problems.filter((p) => !/status of 4\d\d/.test(p)), []);
  await page.close();
});
