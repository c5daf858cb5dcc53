/**
 * Debian's Chromium, driven by playwright-core. No browser is downloaded: the tests use the
 * distribution's package (`apt-get install chromium`), headless, with a fresh profile each time
 * and none of the background traffic a desktop browser makes.
 */

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = process.env.MCERT_CHROMIUM ?? '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The viewports every page is checked at: a small phone and a laptop. */
export const VIEWPORTS = [
  { name: 'phone', width: 360, height: 740 },
  { name: 'desktop', width: 1280, height: 800 },
];

/**
 * Launches Chromium with a fresh temporary profile; `close()` ends it and removes the profile.
 * Fails with what to install when the browser is missing.
 */
export async function launchChromium() {
  if (!existsSync(CHROMIUM_PATH)) {
    assert.fail(
      `Chromium not found at ${CHROMIUM_PATH}. Install Debian's package with\n` +
        '  apt-get install chromium\n' +
        '(never `npx playwright install`), or point MCERT_CHROMIUM at another build.',
    );
  }
  const profile = mkdtempSync(join(tmpdir(), 'mcert-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    // Playwright adds its own `--headless` too; the same flag twice is harmless.
    headless: true,
    args: ARGS,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  return {
    context,
    /** A new tab with `viewport` ({width, height}). */
    async newPage(viewport) {
      const page = await context.newPage();
      if (viewport !== undefined) {
        await page.setViewportSize({ width: viewport.width, height: viewport.height });
      }
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Collects what the page reports as wrong: console errors and warnings (CSP violations are
 * logged there), uncaught exceptions, and `securitypolicyviolation` events seen by the page.
 * Call before the first navigation.
 */
export async function watchProblems(page) {
  const problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') {
      problems.push(`console ${message.type()}: ${message.text()}`);
    }
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await page.exposeBinding('__mcertCspViolation', (_source, text) => {
    problems.push(`CSP violation: ${text}`);
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      globalThis.__mcertCspViolation(`${event.violatedDirective} blocked ${event.blockedURI}`);
    });
  });
  return problems;
}
