/**
 * The server's error codes the SDK names (`ServerErrorCode`) are codes the server has: checked
 * against the catalogue the server publishes in its OpenAPI document (`ErrorCode`, with
 * `x-error-statuses`), so a code renamed or removed on the server fails here instead of
 * leaving the SDK's list stale.
 */

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ServerErrorCode } from '../src/index';
import { type RunningServer, startServer } from './helpers/server';

let server: RunningServer;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server.stop();
});

interface ErrorCodeSchema {
  enum: string[];
  'x-error-statuses': { [code: string]: number };
}

test('every server code the SDK names is in the server catalogue, with the status it documents', async () => {
  const response = await fetch(`${server.baseUrl}/api-docs/openapi.json`);
  assert.equal(response.status, 200);
  const doc = (await response.json()) as { components: { schemas: { ErrorCode: ErrorCodeSchema } } };
  const catalogue = doc.components.schemas.ErrorCode;
  const known = new Set(catalogue.enum);
  const missing = Object.values(ServerErrorCode).filter((code) => !known.has(code));
  assert.deepEqual(missing, [], 'codes in ServerErrorCode that the server no longer has');
  // The statuses the SDK's documentation states.
  const statuses = catalogue['x-error-statuses'];
  for (const [code, status] of [
    [ServerErrorCode.PinIncorrect, 403],
    [ServerErrorCode.KeyLocked, 423],
    [ServerErrorCode.MpNotSignedIn, 401],
    [ServerErrorCode.LoginExpired, 410],
    [ServerErrorCode.OtpResendTooSoon, 429],
  ] as const) {
    assert.equal(statuses[code], status, code);
  }
});
