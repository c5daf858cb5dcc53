/** Assertions on the mini-program account flow, shared by the tests against the real server. */

import assert from 'node:assert/strict';

import { type Employer, McertApiError } from '../../src/index';
import { type Application, latestSmsCode, resendIntervalPassed } from './applications';
import { type TestPhone, testPhone } from './phone';
import type { RunningServer } from './server';

/** For `assert.rejects`: the server refused with `code` and `status`, in Chinese. */
export function apiError(code: string, status: number) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof McertApiError, `expected ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status);
    assert.match(error.message, /[\u4e00-\u9fff]/, 'a Chinese message');
    return true;
  };
}

/** The employer list, polled until the sync worker has pushed the application. */
export async function readyEmployer(phone: TestPhone, id: number): Promise<Employer> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = (await phone.client.employers()).find((e) => e.applicationId === id);
    assert.ok(found, `application ${id} is listed`);
    if (found.ready) return found;
    assert.ok(Date.now() < deadline, `application ${id} not synced in 20 s: ${found.syncStatusLabel}`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 250));
  }
}

function nonce(): string {
  return Math.random().toString(36).slice(2);
}

/**
 * A phone signed in as `openid` (the development WeChat stand-in), verified as the application's
 * agent with a development face result, with the application's phone bound.
 */
export async function boundAgent(
  server: RunningServer,
  application: Application,
  openid: string,
): Promise<TestPhone> {
  const phone = await testPhone(server.baseUrl);
  await phone.client.login(`dev:${openid}:${nonce()}`);
  await phone.client.verifyRealName({
    name: application.agentName,
    idNumber: application.agentId,
    verifyResult: `dev-pass:${application.agentName}:${application.agentId}:${openid}`,
  });
  await resendIntervalPassed(application);
  await phone.client.sendPhoneCode(application.phone);
  await phone.client.bindPhone(
    application.phone,
    await latestSmsCode(server.baseUrl, application.phone),
  );
  return phone;
}
