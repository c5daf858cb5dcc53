/**
 * What the tests of mcert's web pages (the applicant site and the staff console) share: an
 * accessibility check with axe-core run inside the page, screenshots kept for CI, the slider
 * check done with the keyboard as a person would, and scan images drawn in the browser.
 */

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** Where screenshots go: `MCERT_ARTIFACTS` (CI keeps it), else `tests/browser/artifacts`. */
export const ARTIFACTS = resolve(process.env.MCERT_ARTIFACTS ?? join(HERE, '..', 'artifacts'), 'pages');

/**
 * Runs axe-core in the page (through the DevTools protocol, so the page's CSP, which allows
 * only its own scripts, stays as it is) and fails on any serious or critical violation.
 */
export async function assertAccessible(page, what) {
  const violations = await page.evaluate(async (source) => {
    if (!globalThis.axe) (0, eval)(source);
    const result = await globalThis.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }, AXE_SOURCE);
  assert.deepEqual(violations, [], `${what}: accessibility violations`);
}

/** Saves a full-page screenshot as `{name}-{viewport}.png` under ARTIFACTS. */
export async function screenshot(page, name, viewport) {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}-${viewport.name}.png`), fullPage: true });
}

/**
 * Passes the slider check with the keyboard: focus the handle, press → at an uneven rhythm
 * (a hand's, which the server checks for) until the end, then wait for 验证通过 (the page's
 * proof of work takes a moment).
 */
export async function passSlider(page, scope = page) {
  const handle = scope.locator('.slider-handle');
  await handle.focus();
  for (const delay of [30, 60, 40, 90, 35, 70, 45, 55, 80, 50]) {
    await page.keyboard.press('ArrowRight', { delay });
  }
  await scope.locator('.slider-text', { hasText: '验证通过' }).waitFor({ timeout: 60_000 });
}

/** A PNG of a scanned document with `title` on it, drawn by the browser, as a file to upload. */
export async function scanImage(page, title) {
  const base64 = await page.evaluate((text) => {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 420;
    const g = canvas.getContext('2d');
    g.fillStyle = '#fdfaf2';
    g.fillRect(0, 0, 640, 420);
    g.strokeStyle = '#a33';
    g.lineWidth = 6;
    g.strokeRect(20, 20, 600, 380);
    g.fillStyle = '#222';
    g.font = '48px "Noto Sans CJK SC", sans-serif';
    g.fillText(text, 60, 120);
    g.font = '24px sans-serif';
    g.fillText('mcert test scan', 60, 180);
    return canvas.toDataURL('image/png').split(',')[1];
  }, title);
  return { name: `${title}.png`, mimeType: 'image/png', buffer: Buffer.from(base64, 'base64') };
}

/**
 * A photo of the stamped application form: an A4 page at 100 dpi with lines of text, and a red
 * round seal (ring, star, the employer's name on the arc) stamped at the bottom right, as the
 * applicant uploads it when asking for 采集传统盖章.
 */
export async function stampedForm(page, name) {
  const base64 = await page.evaluate((employer) => {
    const canvas = document.createElement('canvas');
    canvas.width = 827;
    canvas.height = 1169;
    const g = canvas.getContext('2d');
    g.fillStyle = '#ffffff';
    g.fillRect(0, 0, 827, 1169);
    g.fillStyle = '#141414';
    for (let line = 0; line < 30; line++) g.fillRect(60, 80 + line * 30, 700, 6);
    const [cx, cy, r] = [640, 980, 76];
    g.strokeStyle = g.fillStyle = '#d7141a';
    g.lineWidth = 6;
    g.beginPath();
    g.arc(cx, cy, r, 0, Math.PI * 2);
    g.stroke();
    g.beginPath();
    for (let i = 0; i < 10; i++) {
      const radius = i % 2 === 0 ? 26 : 10;
      const angle = -Math.PI / 2 + (i * Math.PI) / 5;
      g.lineTo(cx + radius * Math.cos(angle), cy + radius * Math.sin(angle));
    }
    g.fill();
    g.font = 'bold 16px "Noto Serif CJK SC", serif';
    g.textAlign = 'center';
    const chars = [...employer];
    chars.forEach((char, i) => {
      const angle = -Math.PI / 2 + (i - (chars.length - 1) / 2) * 0.3;
      g.save();
      g.translate(cx + 56 * Math.cos(angle), cy + 56 * Math.sin(angle));
      g.rotate(angle + Math.PI / 2);
      g.fillText(char, 0, 6);
      g.restore();
    });
    return canvas.toDataURL('image/png').split(',')[1];
  }, name);
  return { name: '业务申请表.png', mimeType: 'image/png', buffer: Buffer.from(base64, 'base64') };
}

/** The 6-digit code of the newest development SMS to `phone` that carries one. */
export async function smsCode(baseUrl, phone) {
  const outbox = await (await fetch(`${baseUrl}/dev/sms?phone=${phone}`)).json();
  const code = /\d{6}/.exec(outbox.find((m) => m.text.includes('验证码'))?.text ?? '')?.[0];
  assert.ok(code, `an SMS code for ${phone}: ${JSON.stringify(outbox)}`);
  return code;
}

/** Moves the development clock of the server at `baseUrl` on by `seconds`. */
export async function advanceClock(baseUrl, seconds) {
  const response = await fetch(`${baseUrl}/dev/clock`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ advance_secs: seconds }),
  });
  assert.equal(response.status, 200, await response.text());
}
