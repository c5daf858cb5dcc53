/**
 * Benchmark (issue 12, finding 3): does a flood of unauthenticated staff sign-ins stall the
 * server? Not a test: nothing here asserts on speed.
 *
 *   npm run bench:staff        # MCERT_SERVER_BIN, DATABASE_URL, REDIS_URL from the environment
 *
 * Method. The server runs with `MCERT_TRUSTED_PROXIES=127.0.0.1`, and each sign-in carries its
 * own `X-Forwarded-For` address and username, so neither the per-address limit nor the
 * per-username lock stops them: every one reaches the password check (Argon2id, 19 MiB), the
 * worst case for the hashing. MCERT_BENCH_SIGNINS (default 80) sign-ins are sent at once, in
 * MCERT_BENCH_ROUNDS (default 5) rounds; while each round is in flight, `GET /healthz` is
 * timed back to back. Printed: the /healthz latency at rest and under the flood (p50, p99, max),
 * and the sign-ins' answers by status with the time the round took.
 */

import { performance } from 'node:perf_hooks';

import { startServer } from '../test/helpers/server';

const SIGNINS = Number(process.env.MCERT_BENCH_SIGNINS ?? 80);
const ROUNDS = Number(process.env.MCERT_BENCH_ROUNDS ?? 5);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function row(label: string, values: number[]): string {
  const f = (v: number) => `${v.toFixed(1)} ms`;
  return `| ${label} (${values.length} probes) | p50 ${f(percentile(values, 50))}, p99 ${f(percentile(values, 99))}, max ${f(Math.max(...values))} |`;
}

async function main(): Promise<void> {
  const server = await startServer({ env: { MCERT_TRUSTED_PROXIES: '127.0.0.1' } });
  try {
    const health = async (): Promise<number> => {
      const started = performance.now();
      const response = await fetch(`${server.baseUrl}/healthz`);
      await response.arrayBuffer();
      return performance.now() - started;
    };
    const rest: number[] = [];
    for (let i = 0; i < 50; i++) rest.push(await health());

    const loaded: number[] = [];
    const statuses = new Map<number, number>();
    let roundMs = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      let inFlight = true;
      const flood = Promise.all(
        Array.from({ length: SIGNINS }, async (_, i) => {
          const response = await fetch(`${server.baseUrl}/api/v1/staff/session`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-forwarded-for': `10.${round}.${i >> 8}.${i & 255}`,
            },
            body: JSON.stringify({ username: `nobody-${round}-${i}`, password: 'guess-2026-x' }),
          });
          await response.arrayBuffer();
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        }),
      ).finally(() => {
        inFlight = false;
      });
      while (inFlight) loaded.push(await health());
      await flood;
      roundMs += performance.now() - started;
    }
    console.log(`| measure | result |\n|---|---|`);
    console.log(row('/healthz at rest', rest));
    console.log(row(`/healthz during ${SIGNINS} concurrent sign-ins`, loaded));
    const answers = [...statuses].map(([status, n]) => `${n} × ${status}`).join(', ');
    console.log(
      `| ${SIGNINS} concurrent sign-ins, ${ROUNDS} rounds | ${answers}; ${(roundMs / ROUNDS).toFixed(0)} ms per round |`,
    );
  } finally {
    await server.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
