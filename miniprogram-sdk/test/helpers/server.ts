/**
 * The real `mcert-server` for integration tests and the benchmark: started from its built
 * binary in development mode with the development clock on (`MCERT_DEV_CLOCK`: tests move the
 * server's time with {@link advanceClock} instead of waiting), with a fresh data directory and a
 * port the OS picks, and stopped again. Storage follows the environment as the Rust tests do: SQLite + in-process kv by default;
 * with `DATABASE_URL` set, a fresh PostgreSQL database on that server (created with `psql`), and
 * with `REDIS_URL` set, Redis under a fresh key prefix. A named service that is unreachable fails
 * the test. The binary is `MCERT_SERVER_BIN`, else `$CARGO_TARGET_DIR/debug/mcert-server`
 * (CARGO_TARGET_DIR defaulting to `~/.cache/mcert/target`, as scripts/test uses); `cargo test
 * --workspace` builds it (the server crate's CLI tests need it).
 */

import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const SERVER_BIN =
  process.env.MCERT_SERVER_BIN ??
  join(
    process.env.CARGO_TARGET_DIR ?? join(homedir(), '.cache', 'mcert', 'target'),
    'debug',
    'mcert-server',
  );

export interface RunningServer {
  /** `http://127.0.0.1:<port>`. */
  baseUrl: string;
  dataDir: string;
  /** The environment the server runs with (for `mcert-server admin …` on the same data). */
  env: { [name: string]: string | undefined };
  /** Everything the server logged so far. */
  log(): string;
  /** What the server printed on its standard output so far (`demo` prints its steps there). */
  stdout(): string;
  stop(): Promise<void>;
}

/**
 * Starts the server and resolves once it logs the address it listens on; `env` adds settings
 * the server already reads (`MCERT_SYNC_INTERVAL_SECS`, `MCERT_AGREEMENT_COUNTDOWN_SECS`),
 * `command` is `serve` (the default) or `demo`.
 */
export async function startServer(
  options: { env?: { [name: string]: string }; command?: 'serve' | 'demo' } = {},
): Promise<RunningServer> {
  if (!existsSync(SERVER_BIN)) {
    assert.fail(
      `mcert-server binary not found at ${SERVER_BIN}. Build it from the repository root with\n` +
        '  cargo build -p mcert-server\n' +
        '(with the same CARGO_TARGET_DIR), or point MCERT_SERVER_BIN at it.',
    );
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'mcert-sdk-test-'));
  const inherited = { ...process.env };
  for (const name of ['DATABASE_URL', 'REDIS_URL', 'MCERT_DATABASE_URL', 'MCERT_REDIS_URL']) {
    delete inherited[name];
  }
  const storage: { [name: string]: string } = {};
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl !== undefined && databaseUrl !== '') {
    storage.DATABASE_URL = freshPostgres(databaseUrl);
  }
  const redisUrl = process.env.REDIS_URL;
  if (redisUrl !== undefined && redisUrl !== '') {
    storage.REDIS_URL = redisUrl;
    storage.MCERT_KV_PREFIX = `mcert-sdk-test:${randomBytes(8).toString('hex')}:`;
  }
  const env = {
    ...inherited,
    ...storage,
    MCERT_DEV_MODE: 'true',
    MCERT_DEV_CLOCK: 'true',
    MCERT_DATA_DIR: dataDir,
    MCERT_BIND: '127.0.0.1:0',
    MCERT_LOG_FORMAT: 'json',
    MCERT_CONFIG: join(dataDir, 'none.toml'),
    RUST_LOG: process.env.RUST_LOG ?? 'info',
    ...options.env,
  };
  const child: ChildProcess = spawn(SERVER_BIN, [options.command ?? 'serve'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // Kept as bytes: a chunk may end inside a character of the demo's Chinese text.
  const stdout: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', resolveExit));
  const baseUrl = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`mcert-server did not start within 60 s:\n${output}`)),
      60_000,
    );
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /public_base"?[=:]"?(https?:\/\/[^\s",}]+)/.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`mcert-server exited with ${code} before listening:\n${output}`));
    });
  });
  return {
    baseUrl,
    dataDir,
    env,
    log: () => output,
    stdout: () => Buffer.concat(stdout).toString('utf8'),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Moves the server's time `seconds` forward (`POST /dev/clock`), as if they had passed: an SMS
 * resend minute, the agreement countdown or a time to live runs out without waiting.
 */
export async function advanceClock(baseUrl: string, seconds: number): Promise<void> {
  const response = await fetch(`${baseUrl}/dev/clock`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ advance_secs: seconds }),
  });
  const body = await response.text();
  assert.equal(response.status, 200, `POST /dev/clock: ${body}`);
}

/** Creates an empty database beside the one `base` names; returns its URL. */
function freshPostgres(base: string): string {
  const name = `mcert_test_sdk_${randomBytes(8).toString('hex')}`;
  execFileSync('psql', [base, '-v', 'ON_ERROR_STOP=1', '-q', '-c', `CREATE DATABASE ${name}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const slash = base.lastIndexOf('/');
  return `${base.slice(0, slash)}/${name}`;
}

const USCC_CHARS = '0123456789ABCDEFGHJKLMNPQRTUWXY';
const USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/** A USCC with a valid GB 32100 check character, random apart from its prefix. */
export function randomUscc(): string {
  let body = '914403';
  while (body.length < 17) body += String(randomInt(10));
  const sum = USCC_WEIGHTS.reduce((acc, w, i) => acc + w * USCC_CHARS.indexOf(body[i]), 0);
  return body + USCC_CHARS[(31 - (sum % 31)) % 31];
}

/** A resident ID number with a valid GB 11643 check character. */
export function randomResidentId(): string {
  const body = `11010519800101${String(randomInt(1000)).padStart(3, '0')}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = weights.reduce((acc, w, i) => acc + w * Number(body[i]), 0);
  return body + '10X98765432'[sum % 11];
}

export interface TicketRequest {
  uscc: string;
  unit_name: string;
  holder_name: string;
  id_number: string;
  phone: string;
}

/** A fresh holder at a fresh employer. */
export function randomHolder(): TicketRequest {
  return {
    uscc: randomUscc(),
    unit_name: `云南测试科技有限公司${randomInt(100000)}`,
    holder_name: '张三',
    id_number: randomResidentId(),
    phone: `138${String(randomInt(100_000_000)).padStart(8, '0')}`,
  };
}

/** An enrolment ticket through the development endpoint. */
export async function createTicket(
  baseUrl: string,
  holder: TicketRequest = randomHolder(),
): Promise<string> {
  const response = await fetch(`${baseUrl}/dev/enrolment-tickets`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(holder),
  });
  const body = (await response.json()) as { ticket?: string };
  assert.equal(response.status, 201, `ticket: ${JSON.stringify(body)}`);
  assert.equal(typeof body.ticket, 'string');
  return body.ticket as string;
}
