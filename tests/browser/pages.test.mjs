/**
 * mcert's web pages in headless Chromium against the real server (`mcert-server demo`: the
 * development stand-ins, the development clock, and the demo reviewer it prints): every page at
 * 360×740 and 1280×800 with no console error and no CSP violation, axe-core finding nothing
 * serious, a screenshot of each kept under artifacts/pages; and the walks of issue 17 —
 * register → apply with uploads → submit from a phone-sized browser; a reviewer rejects with a
 * reason → the applicant sees it, edits, resubmits → the reviewer approves; and what refuses:
 * a wrong file type, a form posted from another site, a decision on an application already
 * decided.
 *
 * Needs: the server binary and the SDK's test build (its server helper), as demo.test.mjs.
 */

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { launchChromium, VIEWPORTS, watchProblems } from './lib/chromium.mjs';
import { advanceClock, assertAccessible, passSlider, scanImage, screenshot, smsCode, stampedForm } from './lib/pages.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SDK = resolve(HERE, '..', '..', 'miniprogram-sdk');
const [PHONE_VIEW, DESKTOP_VIEW] = VIEWPORTS;

let server;
let helpers;
let browser;
let workDir;
/** The application the first test walked through, approved at its end. */
let walkedId;

before(async () => {
  const helper = join(SDK, 'build', 'test', 'helpers', 'server.js');
  assert.ok(existsSync(helper), `${helper} is missing: cd ${SDK} && npm run build && npm run build:test`);
  helpers = (await import(pathToFileURL(helper).href)).default;
  // The sync worker every second: an approved application reaches the platform soon.
  server = await helpers.startServer({ command: 'demo', env: { MCERT_SYNC_INTERVAL_SECS: '1' } });
  browser = await launchChromium();
  workDir = mkdtempSync(join(tmpdir(), 'mcert-pages-test-'));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
});

/** Runs `mcert-phone` (the SDK's command-line phone) with `args`, keeping its state in `state`. */
function phone(state, ...args) {
  return new Promise((resolveRun, reject) => {
    const child = spawn('node', ['dist/cli/mcert-phone.js', ...args, '--state', join(workDir, state)], {
      cwd: SDK,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('close', (status) => {
      if (status === 0) resolveRun(out);
      else reject(new Error(`mcert-phone ${args.join(' ')} exited ${status}:\n${out}`));
    });
  });
}

/** A tab that records its problems; `check(name)` looks at the page shown at both sizes. */
async function tab(viewport) {
  const page = await browser.newPage(viewport);
  const problems = await watchProblems(page);
  return {
    page,
    problems,
    async check(name) {
      for (const size of [viewport, viewport === PHONE_VIEW ? DESKTOP_VIEW : PHONE_VIEW]) {
        await page.setViewportSize({ width: size.width, height: size.height });
        const overflow = await page.evaluate(() => {
          const over = document.documentElement.scrollWidth - window.innerWidth;
          if (over <= 0) return null;
          // The widest element that sticks out, to say what to fix.
          const culprit = [...document.querySelectorAll('body *')]
            .filter((e) => e.getBoundingClientRect().right + window.scrollX > window.innerWidth + 1 && !e.closest('.table-wrap'))
            .map((e) => `<${e.tagName.toLowerCase()} class="${e.className}"> ${Math.round(e.getBoundingClientRect().right + window.scrollX)}`);
          return `${over}px: ${culprit.slice(0, 4).join(', ')} of ${window.innerWidth}`;
        });
        assert.equal(overflow, null, `${name} at ${size.name}: the page is wider than the screen`);
        await screenshot(page, name, size);
        await assertAccessible(page, `${name} at ${size.name}`);
      }
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      assert.deepEqual(problems, [], `${name}: console errors or CSP violations`);
    },
  };
}

/** Signs in on /apply with `phone`: slider, 获取验证码, the code from the development SMS. */
async function signInApplicant(t, phone) {
  const { page } = t;
  await page.goto(`${server.baseUrl}/apply`);
  await page.waitForSelector('[data-page="apply-sign-in"]');
  await t.check('apply-sign-in');
  await page.getByLabel('手机号码').fill(phone);
  // The code button first asks for the slider.
  await page.getByRole('button', { name: '获取验证码' }).click();
  await page.getByText('请先向右滑动滑块完成验证').waitFor();
  await passSlider(page);
  await page.getByRole('button', { name: '获取验证码' }).click();
  await page.getByText(/验证码已发送至 \d{3}\*{4}\d{4}/).waitFor();
  assert.match(await page.locator('[data-otp]').innerText(), /秒后重新获取/);
  await page.getByLabel('短信验证码').fill(await smsCode(server.baseUrl, phone));
  await page.getByRole('button', { name: '注册 / 登录' }).click();
  await page.waitForSelector('[data-page="apply-list"]');
}

/** Selects 云南省·昆明市·西山区 in the region picker. */
async function pickRegion(page) {
  await page.getByLabel('省').selectOption('53');
  await page.getByLabel('市').selectOption('5301');
  await page.getByLabel('区（县）').selectOption('530112');
}

async function upload(page, label, title) {
  const root = page.locator('[data-upload]', { has: page.getByLabel(label) });
  await root.locator('input[type="file"]').setInputFiles(await scanImage(page, title));
  await root.getByText('已上传保存').waitFor();
}

test('an agent applies from a phone, a reviewer rejects, the agent edits and resubmits, the reviewer approves', async () => {
  const applicant = await tab(PHONE_VIEW);
  const { page } = applicant;
  const agentPhone = `139${String(Date.now()).slice(-8)}`;
  const uscc = helpers.randomUscc();
  await signInApplicant(applicant, agentPhone);
  await applicant.check('apply-list-empty');

  // 申请数字身份证书: the agreement's countdown holds the button until the time has passed.
  await page.getByRole('button', { name: '申请数字身份证书' }).click();
  await page.waitForSelector('[data-page="apply-agreement"]');
  const agree = page.locator('button[data-countdown]');
  assert.ok(await agree.isDisabled(), 'the agreement cannot be accepted at once');
  assert.match(await agree.innerText(), /请阅读协议（\d+ 秒）/);
  await applicant.check('apply-agreement');
  await advanceClock(server.baseUrl, 30);
  await page.reload();
  await page.getByRole('button', { name: '我已阅读并同意上述协议' }).click();

  // Step 1: a wrong file type is refused in the page; the licence uploads with its preview.
  await page.waitForSelector('[data-step="enterprise"]');
  const licenceInput = page.locator('[data-upload][data-purpose="licence"] input[type="file"]');
  await licenceInput.setInputFiles({ name: 'licence.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n') });
  await page.getByText('只能上传 jpg/jpeg/png 格式的图片，请重新选择').waitFor();
  const huge = Buffer.alloc(7 * 1024 * 1024, 0);
  await licenceInput.setInputFiles({ name: 'licence.png', mimeType: 'image/png', buffer: huge });
  await page.getByText('图片大小 7.0 MB，超过 6 MB，请压缩后重新选择').waitFor();
  await upload(page, /营业执照/, '营业执照');
  assert.ok(await page.locator('[data-purpose="licence"] img.preview').isVisible(), 'the licence preview shows');
  // Submitting with a wrong USCC shows the service's message next to the field.
  await page.getByLabel('企业名称').fill('昆明页面测试科技有限公司');
  await page.getByLabel('统一社会信用代码').fill('91530100MA6N000000');
  await pickRegion(page);
  await page.getByLabel('单位住所（经营场所）').fill('云南省昆明市西山区滇池路 1 号');
  await page.getByLabel('法定代表人姓名').fill('李四');
  await page.getByLabel('法人身份证号码').fill(helpers.randomResidentId());
  await page.getByRole('button', { name: '下一步' }).click();
  await page.waitForSelector('[data-step="enterprise"] #e-uscc:not([hidden])');
  assert.match(await page.locator('#e-uscc').innerText(), /统一社会信用代码/);
  assert.equal(await page.getByLabel('企业名称').inputValue(), '昆明页面测试科技有限公司', 'typed values stay');
  await applicant.check('apply-step1-error');
  await page.getByLabel('统一社会信用代码').fill(uscc);
  await page.getByRole('button', { name: '下一步' }).click();

  // Step 2: the ID card's two sides, name, ID number, email.
  await page.waitForSelector('[data-step="agent"]');
  await page.getByText(`申请手机号 ${agentPhone} 一致`).waitFor();
  await upload(page, /人像面/, '身份证人像面');
  await upload(page, /国徽面/, '身份证国徽面');
  await page.getByLabel('经办人姓名').fill('赵六');
  const agentId = helpers.randomResidentId();
  await page.getByLabel('经办人身份证号').fill(agentId);
  await page.getByLabel('经办人邮箱').fill('zhaoliu@example.com');
  await applicant.check('apply-step2');
  await page.getByRole('button', { name: '下一步' }).click();

  // Step 3: the pre-filled form downloads; 完成 needs the slider.
  await page.waitForSelector('[data-step="ca"]');
  const pdfPath = await page.getByRole('link', { name: /下载已填好的业务申请表/ }).getAttribute('href');
  const pdf = await page.request.get(server.baseUrl + pdfPath);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  // 采集传统盖章: the seal is cut out of the stamped form at approval, for staff to confirm.
  const formRoot = page.locator('[data-upload]', { has: page.getByLabel(/盖章后的业务申请表/) });
  await formRoot.locator('input[type="file"]').setInputFiles(await stampedForm(page, '昆明页面测试科技有限公司'));
  await formRoot.getByText('已上传保存').waitFor();
  await page.getByLabel('是', { exact: true }).check();
  await page.getByLabel('采集传统盖章').check();
  await applicant.check('apply-step3');
  await page.getByRole('button', { name: '完成' }).click();
  await page.waitForSelector('[data-step="ca"] #e-captcha_pass:not([hidden])');
  assert.match(await page.locator('#e-captcha_pass').innerText(), /滑动滑块/);
  await passSlider(page);
  await page.getByRole('button', { name: '完成' }).click();
  await page.waitForSelector('[data-page="apply-list"]');
  await page.getByText('申请已提交，请耐心等待审核').waitFor();
  const row = page.locator('tr', { hasText: uscc });
  assert.match(await row.innerText(), /昆明页面测试科技有限公司[\s\S]*赵六[\s\S]*申请资料审核：待审核/);
  assert.match(await row.innerText(), /云南省·昆明市·西山区/);
  await applicant.check('apply-list-submitted');
  const id = await row.getAttribute('data-application');
  walkedId = id;

  // The reviewer signs in with the demo's printed account and rejects with a common reason.
  const reviewer = await tab(DESKTOP_VIEW);
  const staff = reviewer.page;
  await staff.goto(`${server.baseUrl}/staff`);
  await staff.waitForSelector('[data-page="staff-sign-in"]');
  await reviewer.check('staff-sign-in');
  await staff.getByLabel('用户名').fill('demo-reviewer');
  await staff.getByLabel('密码').fill('wrong-password-1');
  await staff.getByRole('button', { name: '登录' }).click();
  await staff.getByText(/用户名或密码/).waitFor();
  await staff.getByLabel('用户名').fill('demo-reviewer');
  await staff.getByLabel('密码').fill('Demo-review-2026');
  await staff.getByRole('button', { name: '登录' }).click();
  await staff.waitForSelector('[data-page="staff-queue"]');
  await staff.locator(`tr[data-application="${id}"]`).waitFor();
  await reviewer.check('staff-queue');
  await staff.locator(`tr[data-application="${id}"]`).getByRole('link', { name: '审核' }).click();
  await staff.waitForSelector('[data-page="staff-application"][data-status="submitted"]');
  assert.equal(await staff.locator('.images img').count(), 4, 'the licence, both ID sides and the form');
  await reviewer.check('staff-application');
  const reason = '营业执照图片不清晰或不完整，请重新上传清晰、完整、不歪斜的照片';
  await staff.getByRole('button', { name: reason }).click();
  assert.equal(await staff.getByLabel('驳回原因').inputValue(), reason);
  await staff.getByRole('button', { name: '驳回' }).click();
  await staff.waitForSelector('[data-page="staff-application"][data-status="rejected"]');
  await staff.getByText('已驳回：驳回原因已短信通知经办人。').waitFor();

  // The applicant sees the reason, edits and resubmits.
  await page.goto(`${server.baseUrl}/apply`);
  const rejected = page.locator(`tr[data-application="${id}"]`);
  assert.match(await rejected.innerText(), new RegExp(`审核驳回原因: ${reason}`));
  await applicant.check('apply-list-rejected');
  await rejected.getByRole('link', { name: '修改' }).click();
  await page.waitForSelector('[data-step="enterprise"]');
  await page.getByText(`审核驳回原因：${reason}`).waitFor();
  await upload(page, /营业执照/, '清晰的营业执照');
  await page.getByRole('button', { name: '下一步' }).click();
  await page.waitForSelector('[data-step="agent"]');
  await page.getByRole('button', { name: '下一步' }).click();
  await page.waitForSelector('[data-step="ca"]');
  assert.ok(await page.getByLabel('采集传统盖章').isChecked(), 'step 3 keeps what was saved');
  await passSlider(page);
  await page.getByRole('button', { name: '完成' }).click();
  await page.waitForSelector('[data-page="apply-list"]');
  assert.match(await page.locator(`tr[data-application="${id}"]`).innerText(), /待审核/);

  // The reviewer approves; a second decision (another reviewer's page still open) is refused.
  const stale = await tab(DESKTOP_VIEW);
  await stale.page.context().addCookies(await staff.context().cookies());
  await staff.goto(`${server.baseUrl}/staff/applications/${id}`);
  await stale.page.goto(`${server.baseUrl}/staff/applications/${id}`);
  await staff.getByRole('button', { name: '审核通过' }).click();
  await staff.getByText('已审核通过：已短信通知经办人下载证书。').waitFor();
  // The stamp cut out of the form waits for the reviewer: its picture, then 确认印章.
  await staff.getByRole('heading', { name: '电子印章：制作中' }).waitFor();
  assert.ok(await staff.getByAltText('印章图样').evaluate((img) => img.complete && img.naturalWidth > 0), 'the stamp shows');
  await reviewer.check('staff-seal');
  await staff.getByRole('button', { name: '确认印章' }).click();
  await staff.getByText('印章审核已保存').waitFor();
  await staff.getByRole('heading', { name: '电子印章：已制作' }).waitFor();
  await stale.page.getByLabel('驳回原因').fill('资料不全');
  await stale.page.getByRole('button', { name: '驳回' }).click();
  await stale.page.getByText(/不能修改|不能再|已审核|状态/).first().waitFor();
  assert.match(await stale.page.locator('[data-page="staff-application"]').getAttribute('data-status'), /approved/);

  // The agent downloads the certificate with the phone, as the demo prints it (the phone's SMS
  // code comes a minute after the sign-in's).
  await advanceClock(server.baseUrl, 61);
  await phone('walked.json', 'login', 'agent3', '--server', server.baseUrl);
  await phone('walked.json', 'verify', '赵六', agentId);
  await phone('walked.json', 'bind', agentPhone);
  // Downloadable once the sync worker has pushed it to the employment platform.
  let ready = false;
  for (let i = 0; i < 80 && !ready; i++) {
    const listed = JSON.parse(await phone('walked.json', 'employers', '--json'));
    ready = listed.some((e) => String(e.applicationId) === id && e.ready);
    if (!ready) await new Promise((resolveWait) => setTimeout(resolveWait, 250));
  }
  assert.ok(ready, 'the approved application reached the platform');
  assert.match(await phone('walked.json', 'download', id, '--pin', '135790'), /certificate enrolled: [0-9A-F]+/);

  await page.goto(`${server.baseUrl}/apply/applications/${id}`);
  await page.waitForSelector('[data-page="apply-detail"][data-status="approved"]');
  assert.match(await page.locator('[data-page="apply-detail"]').innerText(), /证书状态\s*已激活/);
  await page.getByText('审核已通过').waitFor();
  await applicant.check('apply-detail-approved');
  // 信息变更: a new address, reviewed by staff; the employer's name cannot change here.
  await page.getByLabel('单位住所（经营场所）').fill('云南省昆明市西山区滇池路 99 号');
  await page.getByRole('button', { name: '提交信息变更' }).click();
  await page.getByText('信息变更已提交，等待审核').waitFor();
  assert.match(await page.locator('[data-page="apply-detail"]').innerText(), /单位住所[\s\S]*待审核/);
  await page.getByText('有一项信息变更正在审核').waitFor();
  // The reviewer sees the change, before and after, and approves it.
  await staff.getByRole('link', { name: '信息变更' }).click();
  await staff.waitForSelector('[data-page="staff-changes"]');
  await staff.locator('tr', { hasText: '昆明页面测试科技有限公司' }).getByRole('link', { name: '查看' }).click();
  const change = staff.locator('section[data-change]');
  assert.match(await change.innerText(), /单位住所[\s\S]*滇池路 1 号[\s\S]*滇池路 99 号/);
  await reviewer.check('staff-change');
  await change.getByRole('button', { name: '审核通过' }).click();
  await staff.getByText('信息变更已通过').waitFor();
  await page.reload();
  assert.match(await page.locator('[data-page="apply-detail"]').innerText(), /滇池路 99 号[\s\S]*信息变更审核：审核通过/);
});

test('a form posted from another site is refused, and signed-out pages send to sign-in', async () => {
  const response = await fetch(`${server.baseUrl}/apply/applications`, {
    method: 'POST',
    headers: { Origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
    body: '',
    redirect: 'manual',
  });
  assert.equal(response.status, 403);
  assert.match(await response.text(), /请求来源不正确/);
  const staffPost = await fetch(`${server.baseUrl}/staff/sign-in`, {
    method: 'POST',
    headers: { Origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
    body: 'username=demo-reviewer&password=x',
    redirect: 'manual',
  });
  assert.equal(staffPost.status, 403);
  assert.match(await staffPost.text(), /<a class="brand" href="\/staff">数字证书审核管理<\/a>/, 'in the console\'s frame');
  const signedOut = await fetch(`${server.baseUrl}/staff/applications/1`, { redirect: 'manual' });
  assert.equal(signedOut.status, 303);
  assert.equal(signedOut.headers.get('location'), '/staff/sign-in?next=%2Fstaff%2Fapplications%2F1');
  const asset = await fetch(`${server.baseUrl}/assets/site.css`);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get('content-type'), /^text\/css/);
});

test('the primary holder signs in to /account with the phone and grants an item to a sub-certificate in the 事项授权 dialog', async () => {
  const printed = server.stdout();
  const primaryId = /download (\d+) --pin 112233/.exec(printed)?.[1];
  const subId = /download (\d+) --pin 223344/.exec(printed)?.[1];
  assert.ok(primaryId && subId, `the demo's application ids:\n${printed}`);
  await phone('primary.json', 'login', 'agent', '--server', server.baseUrl);
  await phone('primary.json', 'verify', '张三', '11010519491231002X');
  await phone('primary.json', 'bind', '13800138000');
  await phone('primary.json', 'download', primaryId, '--pin', '112233');
  await phone('sub.json', 'login', 'agent2', '--server', server.baseUrl);
  await phone('sub.json', 'verify', '王五', '532701198001013310');
  await phone('sub.json', 'bind', '13800138001');
  const subSerial = /certificate enrolled: ([0-9A-F]+)/.exec(await phone('sub.json', 'download', subId, '--pin', '223344'))?.[1];
  assert.ok(subSerial, 'the sub-certificate was downloaded');

  const holder = await tab(DESKTOP_VIEW);
  const { page } = holder;
  await page.goto(`${server.baseUrl}/account`);
  await page.waitForSelector('[data-page="account-sign-in"]');
  await holder.check('account-sign-in');
  await page.getByRole('button', { name: '扫码登录' }).click();
  // mcert's own QR page, as any portal's login shows it.
  await page.waitForSelector('main[data-state="waiting"]');
  await page.getByText('二维码内容').click();
  const qr = (await page.locator('details', { hasText: '二维码内容' }).locator('code').innerText()).trim();
  const number = /点选数字\s*(\d+)/.exec(await page.locator('#detail').innerText())?.[1];
  assert.ok(number, 'the QR page shows the number to choose');
  assert.match(await phone('primary.json', 'scan', qr, '--code', number, '--pin', '112233'), /已确认登录/);
  await page.waitForSelector('[data-page="account-home"]', { timeout: 15_000 });
  assert.match(await page.locator('h1').innerText(), /昆明示例科技有限公司/);
  assert.match(await page.locator(`tr[data-serial="${subSerial}"]`).innerText(), /子证书[\s\S]*王五[\s\S]*已激活/);
  await holder.check('account-home');

  await page.getByRole('link', { name: '权限授权' }).first().click();
  await page.waitForSelector('[data-page="account-grants"]');
  const row = page.locator(`tr[data-serial="${subSerial}"]`);
  assert.match(await row.innerText(), /手机证书[\s\S]*手机CA[\s\S]*王五[\s\S]*无/);
  await holder.check('account-grants');
  await row.getByRole('button', { name: '事项授权' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  // The item search narrows the list; the locked item of physical certificates is not this one's.
  await dialog.getByLabel('搜索事项').fill('单位基础');
  assert.equal(await dialog.locator('.item:not([hidden])').count(), 1);
  await dialog.getByLabel(/单位基础信息维护/).check();
  await screenshot(page, 'account-grant-dialog', DESKTOP_VIEW);
  await assertAccessible(page, 'the 事项授权 dialog');
  await dialog.getByRole('button', { name: '保存授权' }).click();
  await page.getByText('授权已保存').waitFor();
  assert.match(await page.locator(`tr[data-serial="${subSerial}"]`).innerText(), /单位基础信息维护/);
  // The phone sees the same grant.
  assert.match(await phone('primary.json', 'grants', 'list'), /单位基础信息维护/);

  // The signature history shows the login.
  await page.goto(`${server.baseUrl}/account`);
  await page.locator('tr', { hasText: '当前登录' }).getByRole('link', { name: '查看' }).click();
  await page.waitForSelector('[data-page="account-signatures"]');
  assert.match(await page.locator('tbody').innerText(), /扫码登录[\s\S]*已签名/);
  await holder.check('account-signatures');
});

test('an administrator revokes the sub-certificate downloaded above, registers a portal, adds a reviewer and sees the audit chain checked; a reviewer may not', async () => {
  // The sub-certificate the test above downloaded (the demo employer's second certificate).
  execFileSync(helpers.SERVER_BIN, ['admin', 'add-staff', '--username', 'admin1', '--name', '管理员甲', '--role', 'administrator'], {
    env: { ...server.env, MCERT_STAFF_PASSWORD: 'Admin-2026-pages' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const reviewer = await tab(DESKTOP_VIEW);
  await reviewer.page.goto(`${server.baseUrl}/staff/sign-in`);
  await reviewer.page.getByLabel('用户名').fill('demo-reviewer');
  await reviewer.page.getByLabel('密码').fill('Demo-review-2026');
  await reviewer.page.getByRole('button', { name: '登录' }).click();
  await reviewer.page.waitForSelector('[data-page="staff-queue"]');
  assert.equal(await reviewer.page.getByRole('link', { name: '证书管理' }).count(), 0, 'a reviewer has no certificates menu');
  const refused = await reviewer.page.goto(`${server.baseUrl}/staff/certificates?q=91440300708461136T`);
  assert.equal(refused.status(), 403);
  await reviewer.page.getByText('该操作需要管理员权限').waitFor();
  assert.equal(await reviewer.page.locator('.brand').innerText(), '数字证书审核管理', 'the error page is the console\'s');
  await assertAccessible(reviewer.page, 'the error page');
  reviewer.problems.length = 0; // the 403 document itself is reported as a failed load

  const admin = await tab(DESKTOP_VIEW);
  const { page } = admin;
  await page.goto(`${server.baseUrl}/staff/sign-in`);
  await page.getByLabel('用户名').fill('admin1');
  await page.getByLabel('密码').fill('Admin-2026-pages');
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForSelector('[data-page="staff-queue"]');
  await page.getByRole('link', { name: '证书管理' }).click();
  await page.getByLabel('证书序列号、统一社会信用代码或持有人姓名').fill('王五');
  await page.getByRole('button', { name: '查询' }).click();
  const card = page.locator('section[data-serial]', { hasText: '已激活' }).first();
  await card.waitFor();
  await admin.check('staff-certificates');
  const serial = await card.getAttribute('data-serial');
  // Without the confirmation nothing is revoked.
  await card.getByRole('button', { name: '废除证书' }).click();
  await page.getByText('请勾选确认后再废除').waitFor();
  const again = page.locator(`section[data-serial="${serial}"]`);
  await again.getByLabel('废除原因').selectOption('holder_changed');
  await again.getByLabel(/确认废除/).check();
  await again.getByRole('button', { name: '废除证书' }).click();
  await page.getByText('证书已废除').waitFor();
  assert.match(await page.locator(`section[data-serial="${serial}"]`).innerText(), /已废除[\s\S]*证书使用人变更/);

  // The application approved above: its employer's employee count (the free quota's basis).
  await page.goto(`${server.baseUrl}/staff/applications/${walkedId}`);
  await page.getByLabel('职工就业登记人数').fill('150');
  await page.getByRole('button', { name: '保存人数' }).click();
  await page.getByText('职工人数已保存').waitFor();
  await admin.check('staff-application-admin');

  // Portals: a bad origin is refused with what to write; a good registration shows its secret once.
  await page.getByRole('link', { name: '门户管理' }).click();
  await page.waitForSelector('[data-page="staff-portals"]');
  await page.getByLabel(/^名称/).fill('人社一体化平台');
  await page.getByLabel(/^来源/).fill('portal.example.cn');
  await page.getByLabel(/^回调地址/).fill('https://portal.example.cn/oidc/callback');
  await page.getByLabel(/^业务事项/).fill('unit_info=单位基础信息维护 | 单位服务\nunemployment=失业保险 | 社会保险 | physical');
  await page.getByRole('button', { name: '登记门户' }).click();
  await page.getByText(/来源须为 https:\/\/主机/).waitFor();
  assert.equal(await page.getByLabel(/^业务事项/).inputValue(), 'unit_info=单位基础信息维护 | 单位服务\nunemployment=失业保险 | 社会保险 | physical');
  await page.getByLabel(/^来源/).fill('https://portal.example.cn');
  await page.getByRole('button', { name: '登记门户' }).click();
  const secret = page.locator('[data-secret] code');
  await secret.waitFor();
  assert.match(await secret.innerText(), /^[A-Za-z0-9_-]{40,}$/);
  await admin.check('staff-portals');
  const registered = page.locator('tr', { hasText: '人社一体化平台' });
  assert.match(await registered.innerText(), /2 项/);
  await registered.getByRole('link', { name: '修改' }).click();
  assert.match(await page.getByLabel(/^业务事项/).inputValue(), /unemployment=失业保险 \| 社会保险 \| physical/);
  await page.getByLabel(/^后端退出通知地址/).fill('https://portal.example.cn/oidc/logout');
  await page.getByRole('button', { name: '保存修改' }).click();
  await page.getByText('门户已保存。').waitFor();
  assert.match(await page.locator('tr', { hasText: '人社一体化平台' }).innerText(), /已登记/);

  // Staff accounts: a weak password is refused beside its field; a reviewer is added.
  await page.getByRole('link', { name: '工作人员' }).click();
  await page.waitForSelector('[data-page="staff-accounts"]');
  await page.getByLabel('用户名').fill('reviewer9');
  await page.getByLabel('姓名').fill('审核员九');
  await page.getByLabel('初始密码').fill('short');
  await page.getByRole('button', { name: '添加账号' }).click();
  await page.locator('#e-password:not([hidden])').waitFor();
  assert.equal(await page.getByLabel('用户名').inputValue(), 'reviewer9', 'what was typed stays (but the password)');
  await page.getByLabel('初始密码').fill('Review-2026-nine');
  await page.getByRole('button', { name: '添加账号' }).click();
  await page.getByText('账号已添加').waitFor();
  assert.match(await page.locator('tr', { hasText: 'reviewer9' }).innerText(), /审核员九\s+审核员/);
  await admin.check('staff-accounts');

  await page.getByRole('link', { name: '审计日志' }).click();
  await page.waitForSelector('[data-page="staff-audit"] [data-chain="intact"]');
  const audit = await page.locator('tbody').innerText();
  assert.ok(audit.includes('certificate.revoke') && audit.includes(serial), 'the revocation is in the audit log');
  await admin.check('staff-audit');
});

test('a session that ends mid-step sends the agent to sign in and back, with what was typed filled in again', async () => {
  const applicant = await tab(PHONE_VIEW);
  const { page } = applicant;
  const agentPhone = `137${String(Date.now()).slice(-8)}`;
  await page.context().clearCookies(); // the browser's tabs share cookies: a new agent here
  await signInApplicant(applicant, agentPhone);
  await page.getByRole('button', { name: '申请数字身份证书' }).click();
  await page.waitForSelector('[data-page="apply-agreement"]');
  await advanceClock(server.baseUrl, 30);
  await page.reload();
  await page.getByRole('button', { name: '我已阅读并同意上述协议' }).click();
  await page.waitForSelector('[data-step="enterprise"]');
  await page.getByLabel('企业名称').fill('昆明会话过期测试有限公司');
  await pickRegion(page);
  await page.getByLabel('单位住所（经营场所）').fill('云南省昆明市西山区前卫街 7 号');
  // The applicant session lasts two hours.
  await advanceClock(server.baseUrl, 3 * 3600);
  await page.getByRole('button', { name: '下一步' }).click();
  await page.waitForSelector('[data-page="apply-sign-in"]');
  assert.match(await page.locator('input[name="next"]').inputValue(), /^\/apply\/applications\/\d+\/enterprise$/);
  await page.getByLabel('手机号码').fill(agentPhone);
  await passSlider(page);
  await page.getByRole('button', { name: '获取验证码' }).click();
  await page.getByText(/验证码已发送至/).waitFor();
  await page.getByLabel('短信验证码').fill(await smsCode(server.baseUrl, agentPhone));
  await page.getByRole('button', { name: '注册 / 登录' }).click();
  await page.waitForSelector('[data-step="enterprise"]');
  assert.equal(await page.getByLabel('企业名称').inputValue(), '昆明会话过期测试有限公司');
  assert.equal(await page.getByLabel('单位住所（经营场所）').inputValue(), '云南省昆明市西山区前卫街 7 号');
  assert.equal(await page.getByLabel('区（县）').inputValue(), '530112');
  assert.deepEqual(applicant.problems, []);
});
