/**
 * What `mcert-server demo` tells a newcomer to do, done exactly as it prints it: the server runs
 * `demo` (on a port the OS picks: its printed steps name the address it is bound to), the
 * printed `npm run build` builds the SDK and its signer module, the printed `mcert-phone` lines
 * run in `miniprogram-sdk/` through a shell (login, verify, bind, download), Chromium opens the
 * printed demo portal and clicks 扫码登录, the QR text is read under 二维码内容 and the number
 * from the page, the printed `scan` line runs with both filled in, and the portal then shows the
 * demo employer. Then the printed grant steps: the sub-certificate of the second application is
 * downloaded, granted one item with `mcert-phone grants set`, logs in and the portal shows that
 * item alone; withdrawing it signs the portal out. Then the sub's revocation with its PIN
 * (`revoke`), checked with the printed `openssl ocsp` line; last, the printed `curl` moves the
 * demo's clock to the month before expiry, the primary is renewed (`renew`) and its signature
 * log (`history`) shows the download, the logins, the grants and the renewal.
 *
 * Needs: the server binary (`MCERT_SERVER_BIN`, else `$CARGO_TARGET_DIR/debug/mcert-server`),
 * cargo (the printed build makes the signer module), and the SDK's test build for its server
 * helper: `cd ../../miniprogram-sdk && npm run build && npm run build:test`. The phone keeps its
 * state in a fresh temporary file (`MCERT_PHONE_STATE`), never in `miniprogram-sdk/`.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { launchChromium, VIEWPORTS, watchProblems } from './lib/chromium.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SDK = resolve(HERE, '..', '..', 'miniprogram-sdk');
/** `demo::UNIT_NAME` in server/src/demo.rs. */
const DEMO_EMPLOYER = '昆明示例科技有限公司';
const PHONE = 'node dist/cli/mcert-phone.js';

let server;
let browser;
let workDir;

before(async () => {
  const helper = join(SDK, 'build', 'test', 'helpers', 'server.js');
  assert.ok(
    existsSync(helper),
    `${helper} is missing. Build the SDK for tests first:\n` +
      `  cd ${SDK} && npm run build && npm run build:test`,
  );
  const { startServer } = (await import(pathToFileURL(helper).href)).default;
  server = await startServer({ command: 'demo' });
  browser = await launchChromium();
  workDir = mkdtempSync(join(tmpdir(), 'mcert-demo-test-'));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

/**
 * The steps the demo printed, once all of them arrived: the build line, the phone's lines before
 * the QR login, the portal's URL, the `scan` line, and the lines after it.
 */
async function printedSteps() {
  const deadline = Date.now() + 10_000;
  let text = server.stdout();
  while (!/^node .* download .* --phone /m.test(text)) {
    assert.ok(Date.now() < deadline, `the demo did not print its steps:\n${text}\n${server.log()}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
    text = server.stdout();
  }
  const lines = text.split('\n').map((line) => line.trim());
  const build = lines.find((line) => line.startsWith('cd miniprogram-sdk'));
  const phone = lines.filter((line) => line.startsWith(`${PHONE} `));
  const scanAt = phone.findIndex((line) => line.startsWith(`${PHONE} scan `));
  assert.ok(scanAt > 0, `a scan line after the phone's steps:\n${text}`);
  const portal = /open (https?:\/\/\S+\/demo),/.exec(text)?.[1];
  assert.ok(portal, `the demo portal's address:\n${text}`);
  return {
    build,
    before: phone.slice(0, scanAt),
    portal,
    scan: phone[scanAt],
    later: phone.slice(scanAt + 1),
    tools: lines.filter((line) => line.startsWith('curl ') || line.startsWith('openssl ')),
    lines,
  };
}

/** Runs one printed line through a shell in `cwd`, as a person pasting it would. */
function shell(line, cwd, env) {
  return new Promise((resolveRun, reject) => {
    const child = spawn('sh', ['-c', line], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolveRun({ status, stdout, stderr }));
  });
}

/**
 * Clicks 扫码登录 on the demo portal, reads the QR text under 二维码内容 and the number the
 * page shows, and fills them into the printed `scan` line.
 */
async function fillScan(page, line) {
  await page.getByRole('link', { name: '扫码登录' }).click();
  await page.waitForSelector('main[data-state="waiting"]');
  await page.getByText('二维码内容').click();
  const qrText = (await page.locator('details', { hasText: '二维码内容' }).locator('code').innerText()).trim();
  assert.match(qrText, /\/q\/[A-Za-z0-9_-]{22}$/);
  assert.ok(qrText.startsWith(`${server.baseUrl}/q/`), `a QR of this server: ${qrText}`);
  const number = /点选数字\s*(\d+)/.exec(await page.locator('#detail').innerText())?.[1];
  assert.ok(number, 'the page shows the number to choose on the phone');
  assert.ok(line.includes("'<QR text>'") && line.includes('<number on the page>'), line);
  return line.replace("'<QR text>'", `'${qrText}'`).replace('<number on the page>', number);
}

/** The red pixels of a PNG, counted in a browser page (no image library in this package). */
async function redPixels(browser, path) {
  const page = await browser.newPage();
  const data = readFileSync(path).toString('base64');
  const count = await page.evaluate(async (src) => {
    const image = new Image();
    image.src = src;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const { data: rgba } = context.getImageData(0, 0, image.width, image.height);
    let red = 0;
    for (let i = 0; i < rgba.length; i += 4) {
      if (rgba[i] > 180 && rgba[i + 1] < 90 && rgba[i + 2] < 90) red += 1;
    }
    return red;
  }, `data:image/png;base64,${data}`);
  await page.close();
  return count;
}

function ok(line, run) {
  assert.equal(run.status, 0, `${line}\nexit ${run.status}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run.stdout;
}

test('the steps `mcert-server demo` prints: the phone, a QR login at /demo, a grant to the sub-certificate', async () => {
  const steps = await printedSteps();
  assert.equal(new URL(steps.portal).origin, server.baseUrl, 'the steps name the bound address');

  // `npm ci` is left out: it would reinstall the packages this very run is using.
  assert.equal(steps.build, 'cd miniprogram-sdk && npm ci && npm run build');
  const built = Date.now();
  ok('npm run build', await shell('npm run build', SDK, process.env));
  const module = join(SDK, 'wasm', 'mcert_signer.wasm');
  assert.ok(existsSync(module), 'npm run build made the signer module');
  assert.ok(statSync(module).mtimeMs >= built - 1000, 'npm run build copied the signer module');

  // Nothing from the environment decides for the printed lines but the state file's place.
  const env = { ...process.env, MCERT_PHONE_STATE: join(workDir, 'phone.json') };
  for (const name of ['MCERT_SIGNER_WASM', 'MCERT_SERVER', 'MCERT_PIN', 'MCERT_NEW_PIN']) {
    delete env[name];
  }
  const stateInSdk = () => {
    const path = join(SDK, 'mcert-phone.json');
    return existsSync(path) ? statSync(path).mtimeMs : null;
  };
  const stateBefore = stateInSdk();
  const expected = {
    login: /已登录 \/ signed in: agent/,
    verify: /实名认证通过 \/ verified: 张三/,
    bind: /手机号已绑定 \/ phone bound: 13800138000/,
    download: /证书已下载 \/ certificate enrolled: [0-9A-F]+/,
  };
  assert.deepEqual(
    steps.before.map((line) => line.split(' ')[2]),
    Object.keys(expected),
    'the phone steps, in order',
  );
  for (const line of steps.before) {
    assert.match(ok(line, await shell(line, SDK, env)), expected[line.split(' ')[2]]);
  }
  assert.ok(existsSync(env.MCERT_PHONE_STATE), 'the phone kept its state in the given file');
  assert.equal(stateInSdk(), stateBefore, 'and left miniprogram-sdk/mcert-phone.json alone');

  const page = await browser.newPage(VIEWPORTS[1]);
  const problems = await watchProblems(page);
  await page.goto(steps.portal);
  const scan = await fillScan(page, steps.scan);
  assert.match(ok(scan, await shell(scan, SDK, env)), /已确认登录 \/ login confirmed: /);

  await page.waitForURL(steps.portal, { timeout: 15_000 });
  const employer = page.locator('#employer');
  await employer.waitFor();
  assert.equal(await employer.innerText(), DEMO_EMPLOYER);
  assert.equal(await page.locator('#holder').innerText(), '张三');
  assert.match(await page.locator('#certificate').innerText(), /（主证书）$/);

  // Item grants: the second application's certificate is a sub-certificate; the primary grants
  // it one item on the phone, the sub logs in with exactly that item, and withdrawing it ends
  // the portal's session.
  assert.equal(steps.later.length, 15, steps.later.join('\n'));
  const [
    login2,
    verify2,
    bind2,
    download2,
    list,
    grant,
    subScan,
    withdraw,
    revoke,
    exportSub,
    seals,
    sealScan,
    renew,
    history,
    again,
  ] = steps.later;
  assert.equal(steps.tools.length, 7, steps.tools.join('\n'));
  const [fetchChain, ocsp, fetchSample, upload, fetchStamped, verifyStamped, moveClock] = steps.tools;
  const render = steps.lines.find((line) => line.startsWith('pdftoppm '));
  assert.ok(render, 'the steps render the stamped page');
  // The second agent's phone keeps its state in the file the lines name, put in workDir here.
  const subState = (line) => {
    assert.ok(line.endsWith(' --state sub-phone.json'), line);
    return line.replace(/ --state sub-phone\.json$/, ` --state ${join(workDir, 'sub-phone.json')}`);
  };
  assert.match(ok(login2, await shell(subState(login2), SDK, env)), /已登录 \/ signed in: agent2/);
  assert.match(ok(verify2, await shell(subState(verify2), SDK, env)), /实名认证通过 \/ verified: 王五/);
  assert.match(ok(bind2, await shell(subState(bind2), SDK, env)), /手机号已绑定 \/ phone bound: 13800138001/);
  const subSerial = /certificate enrolled: ([0-9A-F]+)/.exec(
    ok(download2, await shell(subState(download2), SDK, env)),
  )?.[1];
  assert.ok(subSerial, 'the sub-certificate was downloaded');
  assert.match(ok(list, await shell(list, SDK, env)), new RegExp(`1\\. ${subSerial}  手机CA`));
  const forSub = (line) => {
    assert.ok(line.includes('<sub serial>'), line);
    return line.replaceAll('<sub serial>', subSerial);
  };
  assert.match(
    ok(grant, await shell(forSub(grant), SDK, env)),
    /已保存授权 \/ grants saved \(v1\): 单位基础信息维护 \(unit_info\)$/m,
  );

  await page.getByRole('link', { name: '退出登录' }).click();
  await page.waitForSelector('#login');
  const subLogin = subState(await fillScan(page, subScan));
  assert.match(ok(subLogin, await shell(subLogin, SDK, env)), /已确认登录 \/ login confirmed: /);
  await page.waitForURL(steps.portal, { timeout: 15_000 });
  await page.locator('#items').waitFor();
  assert.match(await page.locator('#certificate').innerText(), new RegExp(`${subSerial}（子证书）`));
  assert.equal(await page.locator('#items').innerText(), '单位基础信息维护');

  assert.match(ok(withdraw, await shell(forSub(withdraw), SDK, env)), /grants saved \(v2\): （无 \/ none）/);
  await page.reload();
  await page.waitForSelector('#login');
  assert.equal(await page.locator('#employer').count(), 0, 'the portal signed the sub out');
  assert.deepEqual(problems, []);
  await page.close();

  // 证书废除 of the sub with its PIN; OCSP says revoked at once.
  assert.match(
    ok(revoke, await shell(subState(revoke), SDK, env)),
    new RegExp(`证书已废除 / certificate revoked: ${subSerial}（不再使用, cessationOfOperation）`),
  );
  assert.ok(exportSub.endsWith(' > sub.pem'), exportSub);
  const exported = subState(exportSub.replace(/ > sub\.pem$/, '')) + ` > ${join(workDir, 'sub.pem')}`;
  ok(exported, await shell(exported, SDK, env));
  ok(fetchChain, await shell(fetchChain, workDir, env));
  assert.match(ok(ocsp, await shell(ocsp, workDir, env)), /sub\.pem: revoked/);

  // 电子印章: the demo's seal on the sample PDF, sealed on the phone, red on page 1, valid.
  assert.match(ok(seals, await shell(seals, SDK, env)), /昆明示例科技有限公司.*已制作/);
  const inWork = (line) => line.replaceAll(' seal.html', ` ${join(workDir, 'seal.html')}`);
  ok(fetchSample, await shell(fetchSample, workDir, env));
  ok(upload, await shell(upload, workDir, env));
  assert.match(
    ok(sealScan, await shell(inWork(sealScan), SDK, env)),
    /已盖章 \/ sealed/,
  );
  ok(fetchStamped, await shell(inWork(fetchStamped), workDir, env));
  ok(render, await shell(render, workDir, env));
  const verdict = JSON.parse(ok(verifyStamped, await shell(verifyStamped, workDir, env)));
  assert.equal(verdict.verdict, 'valid', JSON.stringify(verdict));
  assert.equal(verdict.signatures.length, 1);
  assert.ok(existsSync(join(workDir, 'page-1.png')), 'pdftoppm drew page 1');
  const pixels = await redPixels(browser, join(workDir, 'page-1.png'));
  assert.ok(pixels > 200, `the seal is red on the page (${pixels} red pixels)`);

  // 年审延期 with the clock moved to the month before expiry; the key's signature log.
  assert.match(ok(moveClock, await shell(moveClock, workDir, env)), /"offset_secs":29808000/);
  assert.match(
    ok(renew, await shell(renew, SDK, env)),
    /证书已年审延期 \/ certificate renewed: [0-9A-F]+\n {2}有效期至 \/ valid until: /,
  );
  const logged = ok(history, await shell(history, SDK, env));
  for (const shown of ['下载证书', '扫码登录', '事项授权', '电子印章', '年审延期']) {
    assert.ok(logged.includes(`已签名 / signed  ${shown}`), `history shows ${shown}:\n${logged}`);
  }

  // Not run: downloading again waits out the SMS minute after `bind`'s code.
  assert.match(again, /^node dist\/cli\/mcert-phone\.js download \d+ --pin \d{6} --phone 13800138000$/);
});
