/**
 * Benchmark (DESIGN.md §13): the phone-side cost of one co-signed SM2 signature with the wasm
 * module in Node, against npm `sm-crypto` signing alone in the same process. Not a test.
 *
 *   npm run bench                       # starts the real mcert-server itself (dev mode)
 *   MCERT_BENCH_RUNS=500 npm run bench  # more rounds (default 200)
 *
 * Method. The server's half exists only in Rust, and `cosign_finish` needs partials that fit
 * the round `cosign_begin` left in the module, so every timed round is a real round with the
 * real server (`MCERT_SERVER_BIN`, else `$CARGO_TARGET_DIR/debug/mcert-server`, started with a
 * fresh data directory, as the integration tests do):
 *
 *   untimed  POST /certificates/{serial}/key-checks   → a key_check session
 *   timed    cosignBegin(share, PIN, session, message, transport key, 64 B entropy)
 *              = PBKDF2-HMAC-SM3 unmask (iterations as stored in the share) + d1⁻¹ + 3 base-point
 *                multiplications + the Schnorr PIN proof + sealing it to the transport key
 *                (1 base-point and 1 variable-point multiplication, SM3 KDF, SM4-GCM)
 *   untimed  POST /cosign/{id}/partials               → sealed r ‖ s2 ‖ s3 from the server
 *   timed    cosignFinish(sealed partials, P)
 *              = open the partials, s = d1·k1·s2 + d1·s3 − r, then a full SM2 verification of
 *                (r, s) under P
 *   untimed  POST /cosign/{id}/signature              → the server verifies it too (asserted)
 *
 * Entropy is drawn before the timer starts; network and server time are excluded. The phone's
 * cost is begin + finish (median of the per-round sums, and the sum of the medians). The
 * reference is `sm2.doSignature(message, privateKey, {der: true, hash: true, publicKey})` on
 * the same message bytes, over the same number of runs after the same warm-up. Medians, in
 * milliseconds, from `performance.now()`.
 */

import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { brotliCompressSync, constants } from 'node:zlib';

import { sm2 } from 'sm-crypto';

import {
  McertClient,
  base64Decode,
  base64Encode,
  fetchRequest,
  loadSigner,
  memoryStorage,
  webCryptoEntropy,
} from '../src/index';
import { createTicket, startServer } from '../test/helpers/server';
import { WASM_PATH } from '../test/helpers/wasm';

const RUNS = Number(process.env.MCERT_BENCH_RUNS ?? 200);
const WARM_UP = 20;
const PIN = '123456';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function post(url: string, body: object, token?: string): Promise<{ [key: string]: string }> {
  const headers: { [name: string]: string } = { 'Content-Type': 'application/json' };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = (await response.json()) as { [key: string]: string };
  if (response.status >= 300) throw new Error(`${url}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

async function main(): Promise<void> {
  const wasm = new Uint8Array(readFileSync(WASM_PATH));
  const signer = await loadSigner({ module: wasm, instantiate: WebAssembly.instantiate });
  const server = await startServer();
  try {
    const storage = memoryStorage();
    const client = new McertClient({
      signer,
      request: fetchRequest(fetch),
      storage,
      entropy: webCryptoEntropy(webcrypto),
      baseUrl: server.baseUrl,
    });
    const { serial } = await client.enrol(await createTicket(server.baseUrl), PIN);
    const record = JSON.parse(storage.snapshot()[`mcert:certificate:${serial}`]) as {
      share: string;
      publicKey: string;
      deviceToken: string;
    };
    const share = base64Decode(record.share);
    const publicKey = base64Decode(record.publicKey);
    const iterations = Buffer.from(share).readUInt32BE(2);
    const transportKey = base64Decode(
      ((await (await fetch(`${server.baseUrl}/api/v1/mp/transport-key`)).json()) as {
        public_key: string;
      }).public_key,
    );

    const begin: number[] = [];
    const finish: number[] = [];
    const total: number[] = [];
    let message: Uint8Array = new Uint8Array(0);
    for (let i = 0; i < WARM_UP + RUNS; i++) {
      const session = await post(
        `${server.baseUrl}/api/v1/certificates/${serial}/key-checks`,
        { purpose: 'verify_pin' },
        record.deviceToken,
      );
      message = base64Decode(session.message);
      const entropy = webcrypto.getRandomValues(new Uint8Array(64));
      const t0 = performance.now();
      const round = signer.cosignBegin(
        share,
        PIN,
        session.session_id,
        message,
        transportKey,
        entropy,
      );
      const t1 = performance.now();
      const answer = await post(
        `${server.baseUrl}/api/v1/cosign/${session.session_id}/partials`,
        { sealed_round: base64Encode(round.sealedRound) },
      );
      const partialBytes = base64Decode(answer.sealed_partials);
      const t2 = performance.now();
      const signature = signer.cosignFinish(partialBytes, publicKey);
      const t3 = performance.now();
      await post(`${server.baseUrl}/api/v1/cosign/${session.session_id}/signature`, {
        signature: base64Encode(signature),
      });
      if (i >= WARM_UP) {
        begin.push(t1 - t0);
        finish.push(t3 - t2);
        total.push(t1 - t0 + (t3 - t2));
      }
    }

    // Context: the other phone-side operations, without the server.
    const generate: number[] = [];
    const verify: number[] = [];
    let lastSignature: Uint8Array = new Uint8Array(0);
    {
      const session = await post(
        `${server.baseUrl}/api/v1/certificates/${serial}/key-checks`,
        { purpose: 'verify_pin' },
        record.deviceToken,
      );
      const msg = base64Decode(session.message);
      const round = signer.cosignBegin(
        share,
        PIN,
        session.session_id,
        msg,
        transportKey,
        webcrypto.getRandomValues(new Uint8Array(64)),
      );
      const answer = await post(
        `${server.baseUrl}/api/v1/cosign/${session.session_id}/partials`,
        { sealed_round: base64Encode(round.sealedRound) },
      );
      lastSignature = signer.cosignFinish(base64Decode(answer.sealed_partials), publicKey);
      message = msg;
    }
    // The elliptic-curve part of begin alone: the same share with its KDF header set to one
    // iteration (unmasks a wrong d1, which costs the same; timing only, never sent).
    const oneIteration = Uint8Array.from(share);
    Buffer.from(oneIteration.buffer).writeUInt32BE(1, 2);
    const beginCurve: number[] = [];
    for (let i = 0; i < WARM_UP + RUNS; i++) {
      const entropy = webcrypto.getRandomValues(new Uint8Array(64));
      const t0 = performance.now();
      signer.cosignBegin(
        oneIteration,
        PIN,
        'AAAAAAAAAAAAAAAAAAAAAA',
        message,
        transportKey,
        entropy,
      );
      const t1 = performance.now();
      signer.cancelCosign();
      if (i >= WARM_UP) beginCurve.push(t1 - t0);
    }
    for (let i = 0; i < WARM_UP + RUNS; i++) {
      const entropy = webcrypto.getRandomValues(new Uint8Array(64));
      const t0 = performance.now();
      signer.generateShare(entropy, PIN);
      const t1 = performance.now();
      signer.verify(publicKey, message, lastSignature);
      const t2 = performance.now();
      if (i >= WARM_UP) {
        generate.push(t1 - t0);
        verify.push(t2 - t1);
      }
    }

    // The reference: sm-crypto signing the same bytes with a whole key, same process.
    const keypair = sm2.generateKeyPairHex();
    const messageArray = Array.from(message);
    const reference: number[] = [];
    const referenceVerify: number[] = [];
    for (let i = 0; i < WARM_UP + RUNS; i++) {
      const t0 = performance.now();
      const signature = sm2.doSignature(messageArray, keypair.privateKey, {
        der: true,
        hash: true,
        publicKey: keypair.publicKey,
      });
      const t1 = performance.now();
      const ok = sm2.doVerifySignature(messageArray, signature, keypair.publicKey, {
        der: true,
        hash: true,
      });
      const t2 = performance.now();
      if (!ok) throw new Error('sm-crypto did not verify its own signature');
      if (i >= WARM_UP) {
        reference.push(t1 - t0);
        referenceVerify.push(t2 - t1);
      }
    }
    const lastOk = sm2.doVerifySignature(
      messageArray,
      Buffer.from(lastSignature).toString('hex'),
      Buffer.from(publicKey).toString('hex'),
      { der: true, hash: true },
    );
    if (!lastOk) throw new Error('sm-crypto does not accept the co-signed signature');

    const sign = median(reference);
    const row = (name: string, values: number[]): string =>
      `| ${name} | ${median(values).toFixed(3)} | ${percentile(values, 90).toFixed(3)} | ${(median(values) / sign).toFixed(2)}× |`;
    const brotli = brotliCompressSync(wasm, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11 },
    }).length;

    const lines = [
      `# Co-signing on the phone: wasm signer vs npm sm-crypto`,
      '',
      `Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}; ${RUNS} runs after ${WARM_UP} warm-up, ` +
        `each co-signing run a real round with mcert-server; PIN KDF: PBKDF2-HMAC-SM3, ${iterations} iterations ` +
        `(read from the share).`,
      '',
      '| operation | median ms | p90 ms | ÷ sm-crypto sign |',
      '|---|---:|---:|---:|',
      row('wasm `cosignBegin` (unmask incl. PIN KDF, Q1, PIN proof)', begin),
      row('wasm `cosignFinish` (combine partials, verify under P)', finish),
      row('**wasm phone side of one co-signed signature** (begin + finish, per round)', total),
      `| (sum of the two medians) | ${(median(begin) + median(finish)).toFixed(3)} | | ${((median(begin) + median(finish)) / sign).toFixed(2)}× |`,
      row('wasm `cosignBegin` without the PIN KDF (1-iteration header, timing only)', beginCurve),
      `| **wasm phone side without the PIN KDF** (that + \`cosignFinish\`) | ${(median(beginCurve) + median(finish)).toFixed(3)} | | ${((median(beginCurve) + median(finish)) / sign).toFixed(2)}× |`,
      row('npm sm-crypto `sm2.doSignature` (whole key, der, hash)', reference),
      row('wasm `generateShare` (enrolment: d1, P1, PIN KDF mask)', generate),
      row('wasm `verify`', verify),
      row('npm sm-crypto `sm2.doVerifySignature`', referenceVerify),
      '',
      `wasm module: ${wasm.length} bytes raw, ${brotli} bytes brotli (quality 11).`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await server.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
