/**
 * `mcert-phone` end to end: the built command (dist/cli/mcert-phone.js, what `npm run build`
 * produces and the package's `bin` names) against the real server.
 */

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

import {
  type Application,
  approvedApplication,
  resendIntervalPassed,
} from './helpers/applications';
import { type Run, runCli } from './helpers/cli';
import { type RunningServer, createTicket, startServer } from './helpers/server';
import { PACKAGE_ROOT } from './helpers/wasm';

let server: RunningServer;
let workDir: string;
/** Made first, before the other tests. */
let application: Promise<Application>;

before(async () => {
  server = await startServer({
    env: { MCERT_SYNC_INTERVAL_SECS: '1', MCERT_AGREEMENT_COUNTDOWN_SECS: '1' },
  });
  application = approvedApplication(server);
  await application;
  workDir = mkdtempSync(join(tmpdir(), 'mcert-phone-test-'));
});

after(async () => {
  await server?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

/**
 * Runs the command (`cli`, else the built one) in the work directory with a clean PIN
 * environment; `input` is piped to stdin; a variable set to undefined in `env` is left out.
 */
function phone(
  args: string[],
  options: { env?: { [name: string]: string | undefined }; input?: string; cli?: string } = {},
): Promise<Run> {
  return runCli(args, { ...options, cwd: workDir });
}

function ok(run: Run): Run {
  assert.equal(run.status, 0, `exit ${run.status}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

test('enrol, list, status, verify-pin and change-pin through the command', async () => {
  const state = join(workDir, 'phone-a', 'state.json');
  const ticket = await createTicket(server.baseUrl);
  const enrolled = ok(
    await phone([
      'enrol',
      '--server',
      server.baseUrl,
      '--ticket',
      ticket,
      '--pin',
      '123456',
      '--state',
      state,
    ]),
  );
  const serial = /证书已下载 \/ certificate enrolled: ([0-9A-F]+)/.exec(enrolled.stdout)?.[1];
  assert.ok(serial, enrolled.stdout);
  assert.match(enrolled.stdout, /张三/);
  assert.equal(statSync(state).mode & 0o777, 0o600, 'state file readable by its owner only');
  const saved = JSON.parse(readFileSync(state, 'utf8'));
  assert.equal(saved['mcert-phone:server'], server.baseUrl);
  assert.deepEqual(Object.keys(JSON.parse(saved[`mcert:certificate:${serial}`])).sort(), [
    'certificatePem',
    'deviceToken',
    'publicKey',
    'serial',
    'share',
  ]);

  const list = ok(await phone(['list', '--state', state]));
  assert.match(list.stdout, new RegExp(`^${serial}  .*张三`, 'm'));
  const listed = JSON.parse(ok(await phone(['list', '--json', '--state', state])).stdout);
  assert.equal(listed.length, 1);
  assert.equal(listed[0].serial, serial);

  // The server remembered at enrolment is used; the only certificate needs no --serial.
  const status = JSON.parse(ok(await phone(['status', '--json', '--state', state])).stdout);
  assert.deepEqual(status, { serial, status: 'active', locked: false, remainingAttempts: 6 });

  const verified = ok(
    await phone(['verify-pin', '--serial', serial as string, '--state', state], {
      env: { MCERT_PIN: '123456' },
    }),
  );
  assert.match(verified.stdout, /PIN 正确 \/ PIN is correct/);

  const wrong = await phone(['verify-pin', '--pin', '000000', '--state', state]);
  assert.equal(wrong.status, 1);
  assert.match(wrong.stderr, /错误 \/ error \[pin_incorrect, HTTP 403\]: /);
  assert.match(wrong.stderr, /剩余 PIN 次数 \/ PIN attempts left: 5/);
  assert.match(
    ok(await phone(['status', '--state', state])).stdout,
    /剩余 PIN 次数 \/ PIN attempts left: 5/,
  );

  // PINs from a pipe when stdin is not a terminal: old, then new.
  ok(await phone(['change-pin', '--state', state], { input: '123456\n778899\n' }));
  ok(await phone(['verify-pin', '--state', state], { input: '778899\n' }));
  const old = await phone(['verify-pin', '--pin', '123456', '--state', state]);
  assert.equal(old.status, 1);
  assert.match(old.stderr, /pin_incorrect/);
});

test('usage mistakes exit 2 with a bilingual message; --help exits 0', async () => {
  const help = ok(await phone(['--help']));
  for (const command of [
    'enrol',
    'list',
    'status',
    'verify-pin',
    'change-pin',
    'login',
    'verify',
    'bind',
    'employers',
    'download',
    'scan',
    'logout',
  ]) {
    assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'));
  }
  assert.match(ok(await phone(['enrol', '--help'])).stdout, /--ticket <value>/);
  const none = await phone([]);
  assert.equal(none.status, 2);
  const unknown = await phone(['frobnicate']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /未知命令 \/ unknown command "frobnicate"/);
  const noQr = await phone(['scan']);
  assert.equal(noQr.status, 2);
  assert.match(noQr.stderr, /<qr-text-or-url>/);
  const badFlag = await phone(['list', '--bogus']);
  assert.equal(badFlag.status, 2);
  const noTicket = await phone(['enrol', '--server', server.baseUrl, '--pin', '123456']);
  assert.equal(noTicket.status, 2);
  assert.match(noTicket.stderr, /--ticket/);
  const noCertificate = await phone([
    'verify-pin',
    '--pin',
    '123456',
    '--state',
    join(workDir, 'empty.json'),
    '--server',
    server.baseUrl,
  ]);
  assert.equal(noCertificate.status, 2);
  assert.match(noCertificate.stderr, /本机还没有证书/);
  const empty = ok(await phone(['list', '--state', join(workDir, 'empty.json')]));
  assert.match(empty.stdout, /本机没有证书 \/ no certificates/);
});

test('a missing signer module: the command says how to build it', async () => {
  const state = join(workDir, 'no-module.json');
  const given = await phone(
    ['status', '--server', server.baseUrl, '--state', state, '--wasm', join(workDir, 'none.wasm')],
  );
  assert.equal(given.status, 2);
  assert.match(given.stderr, /找不到签名模块 \/ signer module not found: .*none\.wasm/);

  // The built package without its wasm/ directory, as on a clone where only tsc ran.
  const copy = join(workDir, 'package-without-module');
  cpSync(resolve(PACKAGE_ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
  const run = await phone(['status', '--server', server.baseUrl, '--state', state], {
    cli: join(copy, 'dist', 'cli', 'mcert-phone.js'),
    env: { MCERT_SIGNER_WASM: undefined },
  });
  assert.equal(run.status, 2, run.stderr);
  assert.ok(run.stderr.includes(join(copy, 'wasm', 'mcert_signer.wasm')), run.stderr);
  assert.ok(run.stderr.includes(`请在 ${copy} 中执行 npm run build 构建`), run.stderr);
  assert.ok(run.stderr.includes(`Build it with \`npm run build\` in ${copy} `), run.stderr);
});

test('operation errors exit 1 with the server code: used ticket, bad PIN, no server, bad state', async () => {
  const state = join(workDir, 'phone-b.json');
  const ticket = await createTicket(server.baseUrl);
  const shortPin = await phone([
    'enrol',
    '--server',
    server.baseUrl,
    '--ticket',
    ticket,
    '--pin',
    '1234',
    '--state',
    state,
  ]);
  assert.equal(shortPin.status, 1);
  assert.match(shortPin.stderr, /\[pin_format\]: PIN 码必须是 6 位数字/);
  ok(
    await phone([
      'enrol',
      '--server',
      server.baseUrl,
      '--ticket',
      ticket,
      '--pin',
      '123456',
      '--state',
      state,
    ]),
  );
  const reused = await phone([
    'enrol',
    '--server',
    server.baseUrl,
    '--ticket',
    ticket,
    '--pin',
    '123456',
    '--state',
    state,
  ]);
  assert.equal(reused.status, 1);
  assert.match(reused.stderr, /\[enrolment_ticket_invalid, HTTP 404\]/);
  const offline = await phone(['status', '--server', 'http://127.0.0.1:9', '--state', state]);
  assert.equal(offline.status, 1);
  assert.match(offline.stderr, /\[network_error\]: 网络连接失败.*cannot reach the server/);
  const corrupt = join(workDir, 'corrupt.json');
  writeFileSync(corrupt, '{not json');
  const broken = await phone(['list', '--state', corrupt]);
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /storage_corrupted/);
  // Without --state, MCERT_PHONE_STATE names the file.
  const brokenByName = await phone(['list'], { env: { MCERT_PHONE_STATE: corrupt } });
  assert.equal(brokenByName.status, 1);
  assert.match(brokenByName.stderr, /状态文件 .*corrupt\.json 不是有效的 JSON/);
});

test('login, verify, bind, employers, download, then list and verify-pin', async () => {
  const app = await application;
  const state = join(workDir, 'mp-phone.json');
  const openid = `openid-cli-${Date.now()}`;

  const before = await phone(['employers', '--server', server.baseUrl, '--state', state]);
  assert.equal(before.status, 1);
  assert.match(before.stderr, /\[mp_not_signed_in\]/);

  const login = ok(await phone(['login', openid, '--server', server.baseUrl, '--state', state]));
  assert.match(login.stdout, new RegExp(`已登录 / signed in: ${openid}`));
  const saved = JSON.parse(readFileSync(state, 'utf8'));
  assert.equal(saved['mcert-phone:server'], server.baseUrl, 'the server is remembered');
  assert.equal(saved['mcert:mp-session'], undefined, 'no session in the state file');
  assert.equal(saved['mcert-phone:openid'], openid, 'each command signs in again with it');
  assert.equal(statSync(state).mode & 0o777, 0o600);

  const verified = ok(await phone(['verify', app.agentName, app.agentId, '--state', state]));
  assert.match(verified.stdout, /实名认证通过 \/ verified: 张三 \d{6}\*{8}/);

  const none = await phone(['employers', '--state', state]);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /\[no_binding_info, HTTP 404\]: 未获取到绑定信息/);

  await resendIntervalPassed(app);
  const bound = ok(await phone(['bind', app.phone, '--state', state]));
  assert.match(bound.stdout, /code \(development outbox\): \d{6}/);
  assert.match(bound.stdout, new RegExp(`手机号已绑定 / phone bound: ${app.phone}`));

  // The sync worker runs every second; wait until the application is ready.
  let listed: { applicationId: number; ready: boolean; unitName: string }[] = [];
  for (let i = 0; i < 80; i++) {
    listed = JSON.parse(ok(await phone(['employers', '--json', '--state', state])).stdout);
    if (listed.some((e) => e.applicationId === app.id && e.ready)) break;
    await new Promise((resolveWait) => setTimeout(resolveWait, 250));
  }
  assert.ok(listed.some((e) => e.applicationId === app.id && e.ready), JSON.stringify(listed));
  const text = ok(await phone(['employers', '--state', state])).stdout;
  assert.match(text, new RegExp(`^${app.id}  ${app.unitName}  ${app.uscc}  ${app.phone}  可下载`, 'm'));

  const badPin = await phone(['download', String(app.id), '--pin', '12', '--state', state]);
  assert.equal(badPin.status, 1);
  assert.match(badPin.stderr, /\[pin_format\]/);
  const downloaded = ok(
    await phone(['download', String(app.id), '--pin', '314159', '--state', state]),
  );
  const serial = /certificate enrolled: ([0-9A-F]+)/.exec(downloaded.stdout)?.[1];
  assert.ok(serial, downloaded.stdout);
  assert.match(downloaded.stdout, /张三/);

  const list = ok(await phone(['list', '--state', state]));
  assert.match(list.stdout, new RegExp(`^${serial}  .*张三`, 'm'));
  ok(await phone(['verify-pin', '--pin', '314159', '--state', state]));
  const status = JSON.parse(ok(await phone(['status', '--json', '--state', state])).stdout);
  assert.deepEqual(status, { serial, status: 'active', locked: false, remainingAttempts: 6 });

  // `default`, and `list` merges the server's view: role, status label, default marker.
  assert.deepEqual(JSON.parse(readFileSync(state, 'utf8'))['mcert-phone:person'], JSON.stringify({
    name: app.agentName,
    idNumber: app.agentId,
  }));
  const notHeld = await phone(['default', '0ABCDEF012', '--state', state]);
  assert.equal(notHeld.status, 1);
  assert.match(notHeld.stderr, /\[certificate_not_held, HTTP 404\]/);
  const madeDefault = ok(await phone(['default', serial.toLowerCase(), '--state', state]));
  assert.match(madeDefault.stdout, new RegExp(`default certificate: ${serial}`));
  const marked = ok(await phone(['list', '--state', state]));
  assert.match(marked.stdout, new RegExp(`^${serial}  .*张三.*主证书 / primary  已激活 / active  \\[默认 / default\\]$`, 'm'));
  const json = JSON.parse(ok(await phone(['list', '--json', '--state', state])).stdout);
  assert.equal(json.length, 1);
  assert.equal(json[0].serial, serial);
  assert.equal(json[0].role, 'primary');
  assert.equal(json[0].status, 'active');
  assert.equal(json[0].statusLabel, '已激活');
  assert.equal(json[0].default, true);

  // `pin verify` / `pin change` are `verify-pin` / `change-pin`.
  const wrongPin = await phone(['pin', 'verify', '--pin', '000000', '--state', state]);
  assert.equal(wrongPin.status, 1);
  assert.match(wrongPin.stderr, /\[pin_incorrect, HTTP 403\]/);
  assert.match(wrongPin.stderr, /PIN attempts left: 5/);
  ok(await phone(['pin', 'change', '--pin', '314159', '--new-pin', '271828', '--state', state]));
  assert.match(ok(await phone(['pin', 'verify', '--pin', '271828', '--state', state])).stdout, /PIN is correct/);
  const badGroup = await phone(['pin', 'reset', '--state', state]);
  assert.equal(badGroup.status, 2);

  // `unlock` needs --phone, and a bound one (checked before the SMS code).
  const noPhone = await phone(['unlock', serial, '--state', state]);
  assert.equal(noPhone.status, 2);
  assert.match(noPhone.stderr, /--phone is required/);
  const unbound = await phone(['unlock', serial, '--phone', '13900000000', '--code', '000000', '--state', state]);
  assert.equal(unbound.status, 1);
  assert.match(unbound.stderr, /\[phone_not_bound, HTTP 404\]/);

  ok(await phone(['logout', '--state', state]));
  const after = await phone(['employers', '--state', state]);
  assert.equal(after.status, 1);
  assert.match(after.stderr, /\[mp_not_signed_in\]/);
});

test('mini-program commands check their arguments', async () => {
  const missing = await phone(['login', '--server', server.baseUrl]);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /expects <openid>/);
  const extra = await phone(['verify', '张三']);
  assert.equal(extra.status, 2);
  assert.match(extra.stderr, /expects <name> <id-number>/);
  const notSignedIn = await phone([
    'verify',
    '张三',
    '11010519491231002X',
    '--server',
    server.baseUrl,
    '--state',
    join(workDir, 'nobody.json'),
  ]);
  assert.equal(notSignedIn.status, 2);
  assert.match(notSignedIn.stderr, /run login first/);
  const badId = await phone(['download', 'abc', '--pin', '123456', '--server', server.baseUrl]);
  assert.equal(badId.status, 2);
  assert.match(badId.stderr, /application id is a number/);
});
