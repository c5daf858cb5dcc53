/**
 * Benchmark (DESIGN.md §13): complete QR logins against the real mcert-server, the server's CPU
 * per login, waiting login pages per instance and their memory, and confirm-to-page latency.
 * Not a test: nothing here asserts on speed. Run through `scripts/bench-login`, which builds the
 * release server, measures the crypto floor (`cargo bench --bench login_floor`) in the same run
 * and passes it here as `MCERT_FLOOR_US`, so the ratio is printed from one run.
 *
 *   npm run bench:login        # MCERT_SERVER_BIN, DATABASE_URL, REDIS_URL from the environment
 *
 * Settings (environment): MCERT_BENCH_SECONDS (per concurrency, default 20),
 * MCERT_BENCH_CONCURRENCY (default `1,4,16`), MCERT_BENCH_LATENCY_LOGINS (default 300, at
 * concurrency 1 and 4), MCERT_BENCH_PAGES (cumulative steps of open event streams, default
 * `1000,10000`), MCERT_FLOOR_US (the floor, for the ratio).
 *
 * Method.
 * - Setup (about 70 s, most of it the SMS minute): one approved application, its agent's phone
 *   bound and verified, the certificate downloaded under a PIN; a portal added with
 *   `mcert-server admin add-portal`. The server runs with the rate limits raised
 *   (`MCERT_LOGIN__PER_CLIENT`, `MCERT_LOGIN__SCANS_PER_USER`): one holder logs in many times.
 * - A login is the embedded flow, end to end: the portal creates a session (HTTP Basic), the
 *   phone scans it (`McertClient.scanLogin`), confirms with the PIN (`confirmLogin`: confirm,
 *   the real wasm co-signing round with partials and signature), and the portal collects the
 *   ES256 ID token (`…/result`). The first token is verified against the JWKS.
 * - Concurrency c: c phones (each its own wasm instance, a copy of the phone's storage, the same
 *   WeChat session and certificate) run logins back to back for the duration. The phones run in
 *   this one Node process and share the machine with the server, PostgreSQL and Redis: the
 *   logins per second are as measured on the shared machine, not the server alone.
 * - Server CPU: utime + stime of the server process (all threads) from /proc/<pid>/stat before
 *   and after each run, divided by the logins it completed. This process's own CPU
 *   (`process.cpuUsage`) is printed beside it.
 * - Latency: for each login a page's event stream (`GET /api/v1/login-sessions/{id}/events`) is
 *   opened and its first event (`pending`) received before the scan; the time from the answer to
 *   the phone's `POST /cosign/{id}/signature` to the arrival of the `confirmed` event, both read
 *   with `performance.now()` in this process. The server publishes before it answers, so the
 *   event can come first (negative values); the time from sending the signature is printed too.
 * - Waiting pages: streams opened on new sessions until the counts in MCERT_BENCH_PAGES are open
 *   at once; the server's VmRSS (/proc/<pid>/status) before and at each step, after 2 s of
 *   quiet. Sessions live 2 minutes, so every step must be reached within that.
 */

import { execFileSync } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { cpus } from 'node:os';

import {
  type HttpRequest,
  type HttpResponse,
  McertClient,
  fetchRequest,
  memoryStorage,
  webCryptoEntropy,
} from '../src/index';
import { approvedApplication } from '../test/helpers/applications';
import { boundAgent, readyEmployer } from '../test/helpers/mp-account';
import {
  type Portal,
  addPortal,
  createLoginSession,
  portalCall,
  verifiedIdToken,
} from '../test/helpers/portal';
import { type RunningServer, SERVER_BIN, startServer } from '../test/helpers/server';
import { freshSigner } from '../test/helpers/wasm';

const PIN = '246810';
const SECONDS = Number(process.env.MCERT_BENCH_SECONDS ?? 20);
const CONCURRENCY = (process.env.MCERT_BENCH_CONCURRENCY ?? '1,4,16').split(',').map(Number);
const LATENCY_LOGINS = Number(process.env.MCERT_BENCH_LATENCY_LOGINS ?? 300);
const PAGES = (process.env.MCERT_BENCH_PAGES ?? '1000,10000').split(',').map(Number);
const FLOOR_US =
  process.env.MCERT_FLOOR_US === undefined ? NaN : Number(process.env.MCERT_FLOOR_US);
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------------
// The server process, read from /proc.

/** The pid of the mcert-server this process started (its child). */
function serverPid(): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'mcert-server' && ppid === process.pid) return Number(entry);
    } catch {
      // The process ended while listed.
    }
  }
  throw new Error('the mcert-server child process was not found in /proc');
}

/** utime + stime of the whole process, in milliseconds. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5); this array starts at field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** VmRSS in kB. */
function rssKb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error('no VmRSS');
  return Number(match[1]);
}

function threads(pid: number): number {
  const match = /Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0);
}

// ---------------------------------------------------------------------------------------------
// Phones and the portal.

interface Phone {
  client: McertClient;
  /** The last `…/signature` request: when it was sent and when its answer arrived. */
  signature: { sentAt: number; answeredAt: number };
}

async function phoneFrom(baseUrl: string, storage: { [key: string]: string }): Promise<Phone> {
  const inner = fetchRequest(fetch);
  const signature = { sentAt: 0, answeredAt: 0 };
  const request = async (req: HttpRequest): Promise<HttpResponse> => {
    const timed = req.url.endsWith('/signature');
    if (timed) signature.sentAt = performance.now();
    const response = await inner(req);
    if (timed) signature.answeredAt = performance.now();
    return response;
  };
  const client = new McertClient({
    signer: await freshSigner(),
    request,
    storage: memoryStorage(storage),
    entropy: webCryptoEntropy(webcrypto),
    baseUrl,
  });
  return { client, signature };
}

function basicAuth(portal: Portal): string {
  return `Basic ${Buffer.from(
    `${encodeURIComponent(portal.clientId)}:${encodeURIComponent(portal.clientSecret)}`,
  ).toString('base64')}`;
}

/** An open event stream of one embedded session. */
interface EventStream {
  /** performance.now() at the arrival of each event, by name. */
  arrived: Map<string, number>;
  /** Resolves when `state` arrives (or the stream ends without it: NaN). */
  until(state: string): Promise<number>;
  ended: boolean;
  close(): void;
}

/** Opens the session's event stream; resolves once its first event has arrived. */
function openEvents(server: RunningServer, auth: string, id: string): Promise<EventStream> {
  const url = new URL(`${server.baseUrl}/api/v1/login-sessions/${id}/events`);
  return new Promise((resolveOpen, reject) => {
    const waiters: { state: string; resolve: (at: number) => void }[] = [];
    const stream: EventStream = {
      arrived: new Map(),
      ended: false,
      until: (state) =>
        new Promise((resolveUntil) => {
          const at = stream.arrived.get(state);
          if (at !== undefined) resolveUntil(at);
          else if (stream.ended) resolveUntil(NaN);
          else waiters.push({ state, resolve: resolveUntil });
        }),
      close: () => request.destroy(),
    };
    const request = http.get(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        agent: false,
        headers: { Authorization: auth, Accept: 'text/event-stream' },
      },
      (response) => {
        if (response.statusCode !== 200) {
          reject(new Error(`events ${id}: ${response.statusCode}`));
          response.resume();
          return;
        }
        let buffer = '';
        let opened = false;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          const now = performance.now();
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const name = /^event: (\w+)$/m.exec(block)?.[1];
            if (name === undefined) continue;
            stream.arrived.set(name, now);
            for (const waiter of waiters.filter((w) => w.state === name)) waiter.resolve(now);
            if (!opened) {
              opened = true;
              resolveOpen(stream);
            }
          }
        });
        const finish = (): void => {
          stream.ended = true;
          for (const waiter of waiters) waiter.resolve(stream.arrived.get(waiter.state) ?? NaN);
          if (!opened) reject(new Error(`events ${id}: ended before the first event`));
        };
        response.on('end', finish);
        response.on('close', finish);
        response.on('error', finish);
      },
    );
    request.on('error', (error) => {
      stream.ended = true;
      reject(error);
    });
  });
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const server = await startServer({
    env: {
      MCERT_SYNC_INTERVAL_SECS: '1',
      MCERT_AGREEMENT_COUNTDOWN_SECS: '1',
      MCERT_LOGIN__PER_CLIENT: '1000000',
      MCERT_LOGIN__SCANS_PER_USER: '1000000',
    },
  });
  try {
    const pid = serverPid();
    const portal = addPortal(server);
    const auth = basicAuth(portal);
    log(`# QR login benchmark`);
    log('');
    log(
      `server: ${SERVER_BIN} (pid ${pid}); storage: ` +
        `${process.env.DATABASE_URL ? 'PostgreSQL' : 'SQLite'}` +
        ` + ${process.env.REDIS_URL ? 'Redis' : 'in-process kv'}; Node ${process.version}; ` +
        `${cpus().length} CPUs, ${cpus()[0]?.model ?? 'unknown CPU'}`,
    );
    log('setup: approved application, bound agent (waits out the SMS minute), certificate…');
    const application = await approvedApplication(server);
    const agent = await boundAgent(server, application, `openid-bench-${Date.now()}`);
    await readyEmployer(agent, application.id);
    const certificate = await agent.client.download(application.id, PIN);
    await agent.client.setDefault(certificate.serial);
    const storage = agent.storage.snapshot();
    const serial = certificate.serial;

    interface Done {
      token: string;
      latency: number | undefined;
      fromSent: number | undefined;
    }

    async function login(phone: Phone, stream?: boolean): Promise<Done> {
      const session = await createLoginSession(server, portal);
      const events = stream === true ? await openEvents(server, auth, session.id) : undefined;
      const scan = await phone.client.scanLogin(session.qr_text);
      await phone.client.confirmLogin(scan, serial, session.match_code, PIN);
      let latency: number | undefined;
      let fromSent: number | undefined;
      if (events !== undefined) {
        const at = await events.until('confirmed');
        latency = at - phone.signature.answeredAt;
        fromSent = at - phone.signature.sentAt;
        events.close();
      }
      const path = `/api/v1/login-sessions/${session.id}/result`;
      const result = await portalCall(server, portal, 'POST', path);
      const token = result.body.id_token;
      if (result.status !== 200 || typeof token !== 'string') {
        throw new Error(`result ${result.status}: ${JSON.stringify(result.body)}`);
      }
      return { token, latency, fromSent };
    }

    const phones: Phone[] = [];
    const maxPhones = Math.max(...CONCURRENCY, 4);
    for (let i = 0; i < maxPhones; i++) phones.push(await phoneFrom(server.baseUrl, storage));

    // Correctness once: the token verifies under the JWKS and names the certificate.
    const first = await login(phones[0]);
    const claims = await verifiedIdToken(server, first.token);
    if (String(claims.certificate_serial).toUpperCase() !== serial.toUpperCase()) {
      throw new Error(`ID token names ${String(claims.certificate_serial)}`);
    }
    // Warm-up: connections, caches.
    await Promise.all(phones.slice(0, 4).map(async (phone) => {
      for (let i = 0; i < 10; i++) await login(phone);
    }));

    log('');
    log(`## Complete logins (create → scan → co-sign → confirm → ID token), ${SECONDS} s each`);
    log('');
    log(
      '| concurrency | logins | logins/s | p50 ms | p99 ms | server CPU ms/login | ÷ floor |' +
        ' client (Node) CPU ms/login |',
    );
    log('|---:|---:|---:|---:|---:|---:|---:|---:|');
    const machine: string[] = [];
    for (const c of CONCURRENCY) {
      const durations: number[] = [];
      let errors = 0;
      const cpu0 = cpuMs(pid);
      const node0 = process.cpuUsage();
      const t0 = performance.now();
      const deadline = t0 + SECONDS * 1000;
      await Promise.all(
        phones.slice(0, c).map(async (phone) => {
          while (performance.now() < deadline) {
            const start = performance.now();
            try {
              await login(phone);
              durations.push(performance.now() - start);
            } catch (error) {
              errors++;
              if (errors <= 3) process.stderr.write(`login failed: ${String(error)}\n`);
            }
          }
        }),
      );
      const elapsed = (performance.now() - t0) / 1000;
      const serverMs = cpuMs(pid) - cpu0;
      const node = process.cpuUsage(node0);
      const n = durations.length;
      const perLogin = serverMs / n;
      const ratio = Number.isNaN(FLOOR_US)
        ? 'n/a'
        : `${(perLogin / (FLOOR_US / 1000)).toFixed(1)}×`;
      const nodeMs = (node.user + node.system) / 1000 / n;
      const failures = errors > 0 ? ` (+${errors} failed)` : '';
      log(
        `| ${c} | ${n}${failures} | ${(n / elapsed).toFixed(1)} | ` +
          `${percentile(durations, 50).toFixed(1)} | ${percentile(durations, 99).toFixed(1)} | ` +
          `${perLogin.toFixed(2)} | ${ratio} | ${nodeMs.toFixed(2)} |`,
      );
      machine.push(
        `logins c=${c} n=${n} rate=${(n / elapsed).toFixed(2)} server_cpu_ms=${perLogin.toFixed(3)}`,
      );
    }
    log('');
    log(
      'Server CPU is utime+stime of the server process over the run ÷ logins ' +
        `(clock ticks of ${1000 / CLOCK_TICKS} ms). Floor: ` +
        `${Number.isNaN(FLOOR_US) ? 'not given (set MCERT_FLOOR_US)' : `${(FLOOR_US / 1000).toFixed(3)} ms`}.`,
    );

    log('');
    log(
      `## Confirm-to-page latency (${LATENCY_LOGINS} logins per row, ` +
        'stream opened before the scan)',
    );
    log('');
    log(
      '| concurrency | from the signature answer: p50 ms | p99 ms |' +
        ' from sending the signature: p50 ms | p99 ms | event first |',
    );
    log('|---:|---:|---:|---:|---:|---:|');
    for (const c of [1, 4]) {
      const latencies: number[] = [];
      const fromSent: number[] = [];
      let next = 0;
      await Promise.all(
        phones.slice(0, c).map(async (phone) => {
          while (next < LATENCY_LOGINS) {
            next++;
            const result = await login(phone, true);
            if (result.latency !== undefined && !Number.isNaN(result.latency)) {
              latencies.push(result.latency);
              fromSent.push(result.fromSent ?? NaN);
            }
          }
        }),
      );
      const before = latencies.filter((l) => l < 0).length;
      log(
        `| ${c} | ${percentile(latencies, 50).toFixed(2)} | ` +
          `${percentile(latencies, 99).toFixed(2)} | ${percentile(fromSent, 50).toFixed(2)} | ` +
          `${percentile(fromSent, 99).toFixed(2)} | ${before} of ${latencies.length} |`,
      );
      machine.push(
        `latency c=${c} p50=${percentile(latencies, 50).toFixed(3)} ` +
          `p99=${percentile(latencies, 99).toFixed(3)}`,
      );
    }

    log('');
    log('## Waiting pages (open event streams on one instance)');
    log('');
    await sleep(2000);
    const rss0 = rssKb(pid);
    const threads0 = threads(pid);
    const streams: EventStream[] = [];
    const started = performance.now();
    log(`before: VmRSS ${(rss0 / 1024).toFixed(1)} MiB, ${threads0} threads`);
    log('');
    log(
      '| open pages | live at measure | VmRSS MiB | Δ MiB | KiB per page | seconds to open |' +
        ' server CPU while 5 s idle, ms |',
    );
    log('|---:|---:|---:|---:|---:|---:|---:|');
    let failed = 0;
    for (const target of PAGES) {
      const stepStart = performance.now();
      let next = streams.length;
      const workers = Array.from({ length: 64 }, async () => {
        while (next < target) {
          next++;
          try {
            const session = await createLoginSession(server, portal);
            streams.push(await openEvents(server, auth, session.id));
          } catch (error) {
            failed++;
            if (failed <= 3) process.stderr.write(`page failed: ${String(error)}\n`);
          }
        }
      });
      await Promise.all(workers);
      const opened = (performance.now() - stepStart) / 1000;
      await sleep(2000);
      const live = streams.filter((s) => !s.ended).length;
      const rss = rssKb(pid);
      const idle0 = cpuMs(pid);
      await sleep(5000);
      const idle = cpuMs(pid) - idle0;
      const delta = (rss - rss0) / 1024;
      log(
        `| ${streams.length} | ${live} | ${(rss / 1024).toFixed(1)} | ${delta.toFixed(1)} | ` +
          `${((rss - rss0) / live).toFixed(1)} | ${opened.toFixed(1)} | ${idle.toFixed(0)} |`,
      );
      machine.push(`pages n=${live} rss_kb=${rss} per_page_kb=${((rss - rss0) / live).toFixed(2)}`);
      if ((performance.now() - started) / 1000 > 110) {
        log(`(stopped: the first sessions expire after 120 s)`);
        break;
      }
    }
    if (failed > 0) log(`${failed} pages could not be opened`);
    const oldest = (performance.now() - started) / 1000;
    log(`threads at the end: ${threads(pid)}; the oldest page was ${oldest.toFixed(0)} s old`);
    for (const stream of streams) stream.close();
    log('');
    for (const line of machine) log(line);
  } finally {
    await server.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
