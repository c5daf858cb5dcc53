#!/usr/bin/env node
// Builds the mcert-signer WebAssembly module from ../wasm-signer and copies it to
// wasm/mcert_signer.wasm, where loadSigner's callers and mcert-phone look for it. Run by
// `npm run build`, so that a fresh clone's `npm ci && npm run build` gives a working phone; an
// already-built module makes cargo a quick no-op. No npm dependencies.
//
// The build is the repository's (scripts/test runs this script):
//   cargo build -p mcert-signer --target wasm32-unknown-unknown --profile wasm
// in $CARGO_TARGET_DIR, by default ~/.cache/mcert/target, then Binaryen's `wasm-opt -Oz` when it
// is installed (Debian: binaryen), which takes about a sixth off the module at no cost in speed;
// without it the module works the same and is larger. A missing wasm32 target is added with
// rustup when rustup is there; a missing cargo stops the build with what to install.

import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const TARGET = 'wasm32-unknown-unknown';
const SDK = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const REPOSITORY = resolve(SDK, '..');
const OUTPUT = join(SDK, 'wasm', 'mcert_signer.wasm');

function fail(lines) {
  console.error(lines.map((line) => `build-wasm: ${line}`).join('\n'));
  process.exit(1);
}

/** Runs a program in the repository; null when it is not installed, else its exit status. */
function run(program, args, options = {}) {
  const result = spawnSync(program, args, { cwd: REPOSITORY, stdio: 'inherit', ...options });
  if (result.error?.code === 'ENOENT') return null;
  if (result.error !== undefined) throw result.error;
  return result.status ?? 1;
}

/** Whether rustup has the wasm32 target installed; null without rustup (or when it cannot tell). */
function wasmTargetInstalled() {
  const result = spawnSync('rustup', ['target', 'list', '--installed'], {
    cwd: REPOSITORY,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (result.error !== undefined || result.status !== 0) return null;
  return result.stdout.split('\n').some((line) => line.trim() === TARGET);
}

if (!existsSync(join(REPOSITORY, 'wasm-signer', 'Cargo.toml'))) {
  fail([
    `找不到签名模块的源代码 ${join(REPOSITORY, 'wasm-signer')}：请在 mcert 仓库的 miniprogram-sdk 目录中构建。`,
    `the signer's sources are not at ${join(REPOSITORY, 'wasm-signer')}: build inside the mcert repository's miniprogram-sdk directory.`,
  ]);
}

if (run('cargo', ['--version'], { stdio: ['ignore', 'ignore', 'inherit'] }) === null) {
  fail([
    '找不到 cargo：构建签名模块需要 Rust 工具链。请安装 rustup（https://rustup.rs），然后执行',
    `  rustup target add ${TARGET}`,
    '再重新运行 npm run build。',
    'cargo not found: building the signer module needs the Rust toolchain. Install rustup',
    `(https://rustup.rs), run \`rustup target add ${TARGET}\`, then npm run build again.`,
  ]);
}

if (wasmTargetInstalled() === false) {
  console.error(`build-wasm: 正在安装 / adding the ${TARGET} target (rustup target add ${TARGET})`);
  if (run('rustup', ['target', 'add', TARGET]) !== 0) {
    fail([
      `rustup target add ${TARGET} 失败，请手动执行后重试。`,
      `rustup target add ${TARGET} failed; run it by hand, then npm run build again.`,
    ]);
  }
}

const targetDir = process.env.CARGO_TARGET_DIR || join(homedir(), '.cache', 'mcert', 'target');
const built = run(
  'cargo',
  ['build', '-p', 'mcert-signer', '--target', TARGET, '--profile', 'wasm'],
  { env: { ...process.env, CARGO_TARGET_DIR: targetDir } },
);
if (built !== 0) {
  fail([
    '签名模块构建失败（见上方 cargo 的输出）。没有 rustup 的 Rust（如发行版的 cargo）需要另装',
    `${TARGET} 的标准库（Debian：apt-get install libstd-rust-dev-wasm32）。`,
    "building the signer module failed (cargo's output above). A Rust without rustup (a",
    `distribution's cargo) needs the ${TARGET} standard library too (Debian: libstd-rust-dev-wasm32).`,
  ]);
}

const module = join(targetDir, TARGET, 'wasm', 'mcert_signer.wasm');
mkdirSync(dirname(OUTPUT), { recursive: true });
// Written beside the destination and renamed, so nothing ever loads half a module.
const temporary = `${OUTPUT}.${process.pid}.tmp`;
// Only the features rustc's output already uses: wasm-opt must not introduce others.
const FEATURES = [
  '--enable-bulk-memory',
  '--enable-sign-ext',
  '--enable-mutable-globals',
  '--enable-nontrapping-float-to-int',
];
const optimized = run('wasm-opt', ['-Oz', ...FEATURES, module, '-o', temporary]);
if (optimized === null) {
  copyFileSync(module, temporary);
  console.error(
    'build-wasm: 未找到 wasm-opt，模块未做体积优化（Debian：apt-get install binaryen）/ ' +
      'wasm-opt not found: the module is not size-optimized (Debian: apt-get install binaryen)',
  );
} else if (optimized !== 0) {
  fail(['wasm-opt 优化失败（见上方输出）/ wasm-opt failed (output above)']);
}
renameSync(temporary, OUTPUT);
console.error(`build-wasm: ${module} → ${OUTPUT}${optimized === 0 ? ' (wasm-opt -Oz)' : ''}`);
