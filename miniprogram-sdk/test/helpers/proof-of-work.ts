/**
 * The slider check's SM3 proof of work (`captcha::work_bits` on the server), solved in a worker
 * thread. At the server's difficulty it takes seconds of CPU; on the test's event loop it would
 * stall every request in flight meanwhile, and a pooled keep-alive connection would sit past the
 * server's timeouts (CI saw `fetch failed` and `408` in the applicant's setup). This file is
 * also the worker's entry point.
 */

import { createHash } from 'node:crypto';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** Leading zero bits of SM3(`id:nonce`). */
function workBits(id: string, nonce: string): number {
  const digest = createHash('sm3').update(`${id}:${nonce}`).digest();
  let bits = 0;
  for (const byte of digest) {
    if (byte === 0) {
      bits += 8;
      continue;
    }
    bits += Math.clz32(byte) - 24;
    break;
  }
  return bits;
}

interface Task {
  proofOfWork: { id: string; bits: number };
}

function solve(id: string, bits: number): string {
  let n = 0;
  while (workBits(id, String(n)) < bits) n++;
  return String(n);
}

/** The first nonce whose SM3(`id:nonce`) has `bits` leading zero bits, found off this thread. */
export function solveProofOfWork(id: string, bits: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const task: Task = { proofOfWork: { id, bits } };
    const worker = new Worker(__filename, { workerData: task });
    worker.once('message', (nonce: string) => resolve(nonce));
    worker.once('error', reject);
    worker.once('exit', (code) => {
      reject(new Error(`the proof-of-work worker exited with ${code} before answering`));
    });
  });
}

if (!isMainThread && (workerData as Partial<Task> | null)?.proofOfWork !== undefined) {
  const { id, bits } = (workerData as Task).proofOfWork;
  parentPort?.postMessage(solve(id, bits));
}
