/** The built `mcert-phone` command, run as a person runs it, for the tests. */

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import type { TestPhone } from './phone';
import type { RunningServer } from './server';
import { PACKAGE_ROOT, WASM_PATH } from './wasm';

/** The built command. */
export const CLI = resolve(PACKAGE_ROOT, 'dist', 'cli', 'mcert-phone.js');

/** How a run ended. */
export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the command (`cli`, else the built one) in `cwd` with the test signer module and no PIN,
 * server or state from the environment; `input` is piped to stdin; a variable set to undefined
 * in `env` is left out.
 */
export function runCli(
  args: string[],
  options: {
    cwd: string;
    env?: { [name: string]: string | undefined };
    input?: string;
    cli?: string;
  },
): Promise<Run> {
  const env: { [name: string]: string | undefined } = {
    ...process.env,
    MCERT_SIGNER_WASM: WASM_PATH,
  };
  for (const name of ['MCERT_PIN', 'MCERT_NEW_PIN', 'MCERT_SERVER', 'MCERT_PHONE_STATE']) {
    delete env[name];
  }
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [options.cli ?? CLI, ...args], {
      cwd: options.cwd,
      env: { ...env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (status) => resolveRun({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/**
 * The command as `phone`: a state file in `workDir` holding a copy of the phone's storage and
 * the development openid it signs in again with (as `wx.login` would), against `server`.
 */
export function runCliAs(
  phone: TestPhone,
  openid: string,
  server: RunningServer,
  workDir: string,
  args: string[],
  env: { [name: string]: string } = {},
): Promise<Run> {
  const state = join(workDir, `phone-${Math.random().toString(36).slice(2)}.json`);
  const snapshot = { ...phone.storage.snapshot(), 'mcert-phone:openid': openid };
  writeFileSync(state, JSON.stringify(snapshot), { mode: 0o600 });
  return runCli([...args, '--state', state, '--server', server.baseUrl], { cwd: workDir, env });
}
