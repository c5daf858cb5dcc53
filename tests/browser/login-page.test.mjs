/**
 * The hosted QR login page (server/templates/login_page.html) and its error page on their own, in
 * headless Chromium, against a stand-in for the server (lib/stand-in.mjs) whose status stream the
 * test drives: each state's text and `data-state`, the redirect after confirmation, the buttons,
 * no console errors or CSP violations, no request to anywhere but the server, at 360×740 and
 * 1280×800. Screenshots of every state go to screenshots/ (not committed).
 */

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { VIEWPORTS, launchChromium, watchProblems } from './lib/chromium.mjs';
import { ERROR_PAGE, LOGIN_PAGE, placeholders, startStandIn } from './lib/stand-in.mjs';

const SCREENSHOTS = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');
mkdirSync(SCREENSHOTS, { recursive: true });

let browser;
let standIn;

before(async () => {
  browser = await launchChromium();
  standIn = await startStandIn();
});

after(async () => {
  await browser?.close();
  await standIn?.stop();
});

/** A tab at `viewport` that records problems and every URL it asks for. */
async function openTab(viewport) {
  const page = await browser.newPage(viewport);
  const problems = await watchProblems(page);
  const requests = [];
  page.on('request', (request) => requests.push(request.url()));
  return { page, problems, requests };
}

async function waitForState(page, state) {
  await page.waitForSelector(`main[data-state="${state}"]`, { timeout: 10_000 });
}

/** Status line, detail line and the button as a person sees them. */
async function visibleText(page) {
  return page.evaluate(() => {
    const action = document.getElementById('action');
    return {
      status: document.getElementById('status').textContent.trim(),
      detail: document.getElementById('detail').textContent.replace(/\s+/g, ' ').trim(),
      button: action.hidden ? null : action.textContent.trim(),
      buttonHref: action.hidden ? null : action.href,
    };
  });
}

/** Nothing sticks out sideways, and the card (with its button) is on screen. */
async function assertFits(page, viewport) {
  const layout = await page.evaluate(() => {
    const box = (element) => {
      const rect = element.getBoundingClientRect();
      return { left: rect.left, right: rect.right, top: rect.top, bottom: rect.bottom };
    };
    const action = document.getElementById('action');
    return {
      scrollWidth: document.documentElement.scrollWidth,
      card: box(document.querySelector('main')),
      button: action && !action.hidden ? box(action) : null,
    };
  });
  assert.ok(layout.scrollWidth <= viewport.width, `no sideways scroll: ${layout.scrollWidth}`);
  assert.ok(layout.card.left >= 0 && layout.card.right <= viewport.width, 'card within width');
  if (layout.button !== null) {
    assert.ok(layout.button.bottom <= viewport.height, 'the button is visible without scrolling');
  }
}

async function screenshot(page, viewport, state) {
  await page.screenshot({ path: join(SCREENSHOTS, `${viewport.name}-${state}.png`), fullPage: true });
}

/** Only the server was asked for anything (the page is self-contained). */
function assertOnlyServer(requests) {
  for (const url of requests) {
    assert.ok(url.startsWith(`${standIn.baseUrl}/`), `unexpected request to ${url}`);
  }
}

test('the templates: small, only the placeholders the handler fills, no inline handlers', () => {
  const login = readFileSync(LOGIN_PAGE, 'utf8');
  assert.ok(statSync(LOGIN_PAGE).size < 12 * 1024, `login page is ${statSync(LOGIN_PAGE).size} bytes`);
  assert.deepEqual(placeholders(login), [
    'continue_url',
    'events_url',
    'expires_at',
    'match_code',
    'nonce',
    'portal_name',
    'portal_origin',
    'qr_svg|safe',
    'qr_text',
    'restart_url',
  ]);
  const error = readFileSync(ERROR_PAGE, 'utf8');
  assert.deepEqual(placeholders(error), ['message', 'nonce', 'title']);
  for (const template of [login, error]) {
    assert.doesNotMatch(template, /\son[a-z]+\s*=/i, 'no inline event handler attributes');
    assert.doesNotMatch(template, /\sstyle\s*=/i, 'no style attributes (CSP)');
    assert.doesNotMatch(template, /(src|href)\s*=\s*["']?(https?:)?\/\//i, 'nothing fetched from elsewhere');
    // Values are HTML-escaped, which suits text and attributes but not JavaScript.
    const script = /<script[^>]*>([\s\S]*?)<\/script>/.exec(template)?.[1] ?? '';
    assert.doesNotMatch(script, /\{\{/, 'no placeholder inside the script');
  }
});

for (const viewport of VIEWPORTS) {
  describe(`at ${viewport.width}×${viewport.height}`, () => {
    test('waiting → scanned → confirmed, then on to the continue URL', async () => {
      const session = standIn.session({ matchCode: '37' });
      const { page, problems, requests } = await openTab(viewport);
      const response = await page.goto(session.pageUrl);
      assert.equal(response.status(), 200);

      await waitForState(page, 'waiting');
      await session.connected();
      assert.deepEqual(await visibleText(page), {
        status: '请使用就业彩云南小程序扫码登录',
        detail: '手机上请点选数字 37',
        button: null,
        buttonHref: null,
      });
      const card = await page.locator('main').innerText();
      assert.match(card, /就业彩云南/);
      assert.match(card, /https:\/\/portal\.example\.cn/);
      assert.equal(await page.title(), '扫码登录 - 就业彩云南');
      assert.equal(await page.locator('.qr svg').count(), 1);
      assert.equal(await page.locator('[data-qr-text]').getAttribute('data-qr-text'), session.qrText);
      assert.equal(await page.locator('[aria-live="polite"] #status').count(), 1, 'status is live');
      // The countdown runs from the session's expiry: 1:5x or 2:00, then lower.
      const first = await page.locator('#countdown').innerText();
      assert.match(first, /^(2:00|1:5\d)$/);
      await page.waitForFunction(
        (shown) => document.getElementById('countdown').textContent !== shown,
        first,
        { timeout: 3_000 },
      );
      await assertFits(page, viewport);
      await screenshot(page, viewport, 'waiting');

      session.set('scanned');
      await waitForState(page, 'scanned');
      assert.deepEqual(await visibleText(page), {
        status: '已扫码，请在手机上确认',
        detail: '请在手机上点选数字 37',
        button: null,
        buttonHref: null,
      });
      await page.waitForFunction(
        () => Number(getComputedStyle(document.querySelector('.qr svg')).opacity) < 0.5,
      );
      await assertFits(page, viewport);
      await screenshot(page, viewport, 'scanned');

      const release = session.holdContinue();
      session.set('confirmed', `/login/${session.id}/continue`);
      await waitForState(page, 'confirmed');
      assert.equal((await visibleText(page)).status, '登录成功，正在跳转…');
      await screenshot(page, viewport, 'confirmed');
      const navigated = page.waitForURL(`${standIn.baseUrl}/portal/callback?**`);
      // The browser asks for the continue URL by itself; the stand-in answers once released.
      for (let i = 0; session.continueHits === 0; i++) {
        assert.ok(i < 200, 'the page went on to the continue URL');
        await new Promise((r) => setTimeout(r, 20));
      }
      release();
      await navigated;
      assert.equal(
        page.url(),
        `${standIn.baseUrl}/portal/callback?code=code-${session.id}&state=st-${session.id}`,
      );
      assert.equal(session.continueHits, 1);
      assertOnlyServer(requests);
      assert.deepEqual(problems, []);
      await page.close();
    });

    for (const [outcome, status, detail] of [
      ['denied', '已在手机上拒绝登录', '本次登录未完成'],
      ['mismatched', '手机上点选的数字与本页不一致', '登录已终止。如不是您本人在操作，请勿把二维码发给他人'],
    ]) {
      test(`${outcome}: the 返回 button goes to the continue URL (the portal gets access_denied)`, async () => {
        const session = standIn.session();
        const { page, problems, requests } = await openTab(viewport);
        await page.goto(session.pageUrl);
        await session.connected();
        session.set('scanned');
        await waitForState(page, 'scanned');
        session.set(outcome);
        await waitForState(page, outcome);
        assert.deepEqual(await visibleText(page), {
          status,
          detail,
          button: '返回',
          buttonHref: session.continueUrl,
        });
        await assertFits(page, viewport);
        await screenshot(page, viewport, outcome);
        // The stream is closed once the outcome is known.
        await waitUntil(() => session.streams.size === 0, 'the page closed the stream');

        await page.getByRole('link', { name: '返回' }).click();
        await page.waitForURL(`${standIn.baseUrl}/portal/callback?**`);
        assert.match(page.url(), /error=access_denied/);
        assertOnlyServer(requests);
        assert.deepEqual(problems, []);
        await page.close();
      });
    }

    test('expired (from the server): 刷新二维码 links to the restart URL', async () => {
      const session = standIn.session();
      const { page, problems } = await openTab(viewport);
      await page.goto(session.pageUrl);
      await session.connected();
      session.set('expired');
      await waitForState(page, 'expired');
      assert.deepEqual(await visibleText(page), {
        status: '二维码已过期',
        detail: '请刷新二维码后重新扫码',
        button: '刷新二维码',
        buttonHref: session.restartUrl,
      });
      assert.equal(await page.locator('.countdown').isVisible(), false);
      await assertFits(page, viewport);
      await screenshot(page, viewport, 'expired');
      await page.getByRole('link', { name: '刷新二维码' }).click();
      await page.waitForURL(session.restartUrl);
      assert.deepEqual(problems, []);
      await page.close();
    });

    test('cancelled: 登录已取消 with the refresh button', async () => {
      const session = standIn.session();
      const { page, problems } = await openTab(viewport);
      await page.goto(session.pageUrl);
      await session.connected();
      session.set('cancelled');
      await waitForState(page, 'cancelled');
      assert.deepEqual(await visibleText(page), {
        status: '登录已取消',
        detail: '如需登录，请刷新二维码',
        button: '刷新二维码',
        buttonHref: session.restartUrl,
      });
      await assertFits(page, viewport);
      await screenshot(page, viewport, 'cancelled');
      assert.deepEqual(problems, []);
      await page.close();
    });

    test('the error page: title and message, same look', async () => {
      const { page, problems, requests } = await openTab(viewport);
      const title = '无法登录';
      const message = '该网站未在本平台登记（client_id 不存在），无法使用扫码登录。<b>&</b>';
      await page.goto(
        `${standIn.baseUrl}/error?title=${encodeURIComponent(title)}&message=${encodeURIComponent(message)}`,
      );
      assert.equal(await page.title(), title);
      assert.equal(await page.locator('h1').innerText(), title);
      // Escaped by the server: shown as text, not markup.
      assert.equal(await page.locator('.message').innerText(), message);
      assert.equal(await page.locator('.message b').count(), 0);
      await assertFits(page, viewport);
      await screenshot(page, viewport, 'error');
      assertOnlyServer(requests);
      assert.deepEqual(problems, []);
      await page.close();
    });
  });
}

describe('at 360×740, edge cases', () => {
  const viewport = VIEWPORTS[0];

  test('the current state comes first: a page opened after the scan shows 已扫码 at once', async () => {
    const session = standIn.session({ state: 'scanned', matchCode: '05' });
    const { page, problems } = await openTab(viewport);
    await page.goto(session.pageUrl);
    await waitForState(page, 'scanned');
    assert.equal((await visibleText(page)).detail, '请在手机上点选数字 05');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('the local countdown reaching zero expires the page without the server', async () => {
    const session = standIn.session({ ttlMs: 2_500 });
    const { page, problems } = await openTab(viewport);
    await page.goto(session.pageUrl);
    await session.connected();
    assert.match(await page.locator('#countdown').innerText(), /^0:0[1-3]$/);
    await waitForState(page, 'expired');
    assert.equal(session.state, 'pending', 'the server said nothing');
    assert.equal((await visibleText(page)).buttonHref, session.restartUrl);
    await waitUntil(() => session.streams.size === 0, 'the page closed the stream');
    assert.deepEqual(problems, []);
    await page.close();
  });

  test('a stream the server drops is reopened, and the page carries on', async () => {
    const session = standIn.session();
    const { page, problems } = await openTab(viewport);
    await page.goto(session.pageUrl);
    await session.connected();
    session.dropStreams();
    session.set('scanned'); // while disconnected: only the reconnect can tell the page
    await waitForState(page, 'scanned');
    assert.ok(session.connections >= 2, `reconnected (${session.connections} connections)`);
    session.set('denied');
    await waitForState(page, 'denied');
    assert.deepEqual(
      problems.filter((p) => !/ERR_(EMPTY_RESPONSE|CONNECTION_RESET|INCOMPLETE_CHUNKED)/.test(p)),
      [],
    );
    await page.close();
  });

  test('a stream refused for good (no cookie, unknown session) shows 二维码已过期', async () => {
    const session = standIn.session({ stream: 'refuse' });
    const { page, problems } = await openTab(viewport);
    await page.goto(session.pageUrl);
    await waitForState(page, 'expired');
    assert.equal((await visibleText(page)).button, '刷新二维码');
    // The browser reports the refused stream itself; nothing else may go wrong.
    const others = problems.filter(
      (p) => !/404|event-stream|EventSource/i.test(p) || /CSP|page error/.test(p),
    );
    assert.deepEqual(others, []);
    await page.close();
  });

  test('portal name and origin are shown as text, whatever they contain', async () => {
    const session = standIn.session({
      portalName: '测试门户<img src=x>&"\'',
      portalOrigin: 'https://a.example.cn/<b>',
    });
    const { page, problems } = await openTab(viewport);
    await page.goto(session.pageUrl);
    await waitForState(page, 'waiting');
    assert.equal(await page.locator('.portal strong').innerText(), '测试门户<img src=x>&"\'');
    assert.equal(await page.locator('.origin').innerText(), 'https://a.example.cn/<b>');
    assert.equal(await page.locator('main img, main b:not(#detail b)').count(), 0);
    assert.deepEqual(problems, []);
    await page.close();
  });
});

async function waitUntil(condition, what) {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    assert.ok(Date.now() < deadline, what);
    await new Promise((r) => setTimeout(r, 20));
  }
}
