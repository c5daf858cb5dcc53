#!/usr/bin/env node
/**
 * `mcert-phone`: a phone on the command line. It uses the SDK and the real signer module
 * exactly as the mini-program does — `WebAssembly.instantiate` on the module bytes, `fetch`,
 * `crypto.getRandomValues` — and keeps what the phone would keep in a JSON file (`--state`,
 * else `$MCERT_PHONE_STATE`, else `./mcert-phone.json`).
 *
 * The only file in `src/` allowed to use Node built-ins.
 */

import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { parseArgs } from 'node:util';

import {
  type CertificateInfo,
  type GrantOverview,
  type ItemGrantInput,
  type LoginScan,
  type Scan,
  type SealScan,
  type RevocationCause,
  type ServerCertificate,
  type KeyValueStorage,
  McertApiError,
  McertClient,
  McertError,
  McertNetworkError,
  SignerError,
  fetchRequest,
  initiatorText,
  loadSigner,
  webCryptoEntropy,
} from '../index';

const PROGRAM = 'mcert-phone';
const DEFAULT_STATE = './mcert-phone.json';
/** The state file when `--state` is not given (before {@link DEFAULT_STATE}). */
const STATE_VARIABLE = 'MCERT_PHONE_STATE';
/** State-file key of the server URL remembered at enrolment or login (not an SDK key). */
const SERVER_KEY = 'mcert-phone:server';
/**
 * State-file key of the development openid signed in with `login` (not an SDK key). Each later
 * command signs in again with it, as a mini-program calls `wx.login` at every start: the SDK
 * keeps the session token in memory only.
 */
const OPENID_KEY = 'mcert-phone:openid';
/**
 * State-file key of the name and ID number given to `verify` (not an SDK key): `unlock` needs
 * them for its development face result, and the server only answers a masked ID number.
 */
const PERSON_KEY = 'mcert-phone:person';

/** Node's WebAssembly global; @types/node does not declare it and src/ has no DOM types. */
declare const WebAssembly: {
  instantiate(module: Uint8Array, imports: object): Promise<{ instance: { exports: unknown } }>;
};

/** A mistake in how the command was called: usage is printed, exit status 2. */
class UsageError extends Error {}

/** The phone's storage as one JSON object in a file, rewritten atomically with mode 0600. */
export function jsonFileStorage(path: string): KeyValueStorage {
  const read = (): { [key: string]: string } => {
    if (!existsSync(path)) return {};
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch {
      value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new McertError(
        'storage_corrupted',
        `状态文件 ${path} 不是有效的 JSON / state file is not valid JSON`,
      );
    }
    return value as { [key: string]: string };
  };
  const write = (data: { [key: string]: string }): void => {
    mkdirSync(dirname(resolve(path)), { recursive: true });
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
    renameSync(temporary, path);
  };
  return {
    get: async (key) => {
      const value = read()[key];
      return typeof value === 'string' ? value : null;
    },
    set: async (key, value) => {
      const data = read();
      data[key] = value;
      write(data);
    },
    remove: async (key) => {
      const data = read();
      delete data[key];
      write(data);
    },
  };
}

/** Reads answers from the terminal (hidden) or, when stdin is not a terminal, line by line. */
class Prompter {
  private lines: Interface | undefined;
  private buffered: string[] = [];
  private waiting: ((line: string | undefined) => void)[] = [];
  private ended = false;

  async secret(question: string): Promise<string> {
    if (process.stdin.isTTY) return this.hidden(question);
    process.stderr.write(question);
    const line = await this.nextLine();
    process.stderr.write('\n');
    if (line === undefined) {
      throw new UsageError(`${question.trim()} 未提供（标准输入已结束）/ not given (stdin ended)`);
    }
    return line.trim();
  }

  /** An answer shown as it is typed. */
  async line(question: string): Promise<string> {
    process.stderr.write(question);
    const line = await this.nextLine();
    if (line === undefined) {
      throw new UsageError(`${question.trim()} 未提供（标准输入已结束）/ not given (stdin ended)`);
    }
    return line.trim();
  }

  close(): void {
    this.lines?.close();
  }

  private nextLine(): Promise<string | undefined> {
    if (this.lines === undefined) {
      this.lines = createInterface({ input: process.stdin, terminal: false });
      this.lines.on('line', (line) => {
        const waiter = this.waiting.shift();
        if (waiter !== undefined) waiter(line);
        else this.buffered.push(line);
      });
      this.lines.on('close', () => {
        this.ended = true;
        for (const waiter of this.waiting.splice(0)) waiter(undefined);
      });
    }
    const line = this.buffered.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolveLine) => this.waiting.push(resolveLine));
  }

  private hidden(question: string): Promise<string> {
    return new Promise((resolveAnswer, reject) => {
      const input = process.stdin;
      let answer = '';
      process.stderr.write(question);
      input.setRawMode(true);
      input.resume();
      input.setEncoding('utf8');
      const done = (error?: Error): void => {
        input.setRawMode(false);
        input.pause();
        input.removeListener('data', onData);
        process.stderr.write('\n');
        if (error !== undefined) reject(error);
        else resolveAnswer(answer);
      };
      const onData = (chunk: string): void => {
        for (const char of chunk) {
          if (char === '\r' || char === '\n') return done();
          if (char === '\u0003') return done(new UsageError('已取消 / cancelled'));
          if (char === '\u007f' || char === '\b') answer = answer.slice(0, -1);
          else answer += char;
        }
      };
      input.on('data', onData);
    });
  }
}

type Values = { [name: string]: string | boolean | (string | boolean)[] | undefined };

/** What a command gets to work with. */
interface Context {
  values: Values;
  /** The command's positional arguments, as many as it names. */
  args: string[];
  statePath: string;
  storage: KeyValueStorage;
  prompter: Prompter;
  /**
   * A client for `--server`, `MCERT_SERVER` or the server remembered at enrolment; `local`
   * commands (which never reach the server) do without one.
   */
  client(options?: { local: boolean }): Promise<McertClient>;
  /** `--server`, `MCERT_SERVER` or the remembered server; null when none is known. */
  server(): Promise<string | null>;
  out(line: string): void;
}

interface OptionSpec {
  type: 'string' | 'boolean';
  /** A string option that may be given more than once. */
  multiple?: boolean;
  description: string;
}

interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Names of the positional arguments, all required. */
  arguments?: string[];
  /** Whether the server URL used is remembered in the state file for later commands. */
  remembersServer?: boolean;
  options: { [name: string]: OptionSpec };
  run(context: Context): Promise<void>;
}

const GLOBAL_OPTIONS: { [name: string]: OptionSpec } = {
  state: {
    type: 'string',
    description: `状态文件 / state file (default: $${STATE_VARIABLE}, then ${DEFAULT_STATE})`,
  },
  server: {
    type: 'string',
    description:
      'mcert 服务地址 / server URL (default: $MCERT_SERVER, then the one used at enrolment)',
  },
  wasm: {
    type: 'string',
    description: '签名模块 / signer module (default: $MCERT_SIGNER_WASM, then the packaged one)',
  },
  json: { type: 'boolean', description: '输出 JSON / print JSON' },
  help: { type: 'boolean', description: '显示帮助 / show help' },
};

const PIN_OPTION: OptionSpec = {
  type: 'string',
  description:
    'PIN（6 位数字；默认取 $MCERT_PIN，否则提示输入）/ 6-digit PIN (default: $MCERT_PIN, else prompt)',
};

const SERIAL_OPTION: OptionSpec = {
  type: 'string',
  description:
    '证书序列号（本机只有一张证书时可省略）/ certificate serial (optional with one certificate)',
};

function stringValue(values: Values, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

async function pinFrom(
  context: Context,
  option: string,
  variable: string,
  question: string,
): Promise<string> {
  return (
    stringValue(context.values, option) ??
    process.env[variable] ??
    (await context.prompter.secret(question))
  );
}

/** A new PIN from the prompt, typed twice at a terminal (once from a pipe). */
async function newPinFrom(context: Context, question: string): Promise<string> {
  const pin = await context.prompter.secret(question);
  if (process.stdin.isTTY) {
    const again = await context.prompter.secret('再次输入 / repeat: ');
    if (again !== pin) throw new UsageError('两次输入的 PIN 不一致 / the PINs differ');
  }
  return pin;
}

/** `--serial`, or the only certificate on the phone. */
async function serialFrom(context: Context, client: McertClient): Promise<string> {
  const serial = stringValue(context.values, 'serial');
  if (serial !== undefined) return serial;
  const stored = await client.certificates();
  if (stored.length === 1) return stored[0].serial;
  throw new UsageError(
    stored.length === 0
      ? '本机还没有证书，请先执行 enrol 或 download / no certificate on this phone yet: run enrol or download first'
      : '本机有多张证书，请用 --serial 指定 / several certificates: choose one with --serial',
  );
}

function describeCertificate(pem: string): { subject: string; validTo: string } | null {
  try {
    const certificate = new X509Certificate(pem);
    return { subject: certificate.subject.replace(/\n/g, ', '), validTo: certificate.validTo };
  } catch {
    return null;
  }
}

/** What `enrol` and `download` print. */
function printEnrolled(context: Context, certificate: CertificateInfo): void {
  if (context.values.json === true) {
    context.out(JSON.stringify({ serial: certificate.serial, state: context.statePath }));
    return;
  }
  context.out(`证书已下载 / certificate enrolled: ${certificate.serial}`);
  const details = describeCertificate(certificate.certificatePem);
  if (details !== null) context.out(`  ${details.subject}`);
  context.out(`  保存在 / stored in ${context.statePath}`);
}

/** The development openid `login` signed in with. */
async function openidFrom(context: Context): Promise<string> {
  const openid = await context.storage.get(OPENID_KEY);
  if (openid === null) {
    throw new UsageError('尚未登录，请先执行 login / not signed in: run login first');
  }
  return openid;
}

/**
 * The SMS code sent to `phone`: `--code`, else in development mode the newest code in the
 * server's outbox (`/dev/sms`), else a prompt.
 */
async function smsCodeFor(context: Context, baseUrl: string, phone: string): Promise<string> {
  const given = stringValue(context.values, 'code');
  if (given !== undefined) return given;
  let response: { status: number; text(): Promise<string> } | undefined;
  try {
    response = await fetch(`${baseUrl}/dev/sms?phone=${encodeURIComponent(phone)}`);
  } catch {
    response = undefined;
  }
  if (response !== undefined && response.status === 200) {
    const outbox: unknown = JSON.parse(await response.text());
    if (Array.isArray(outbox)) {
      for (const message of outbox) {
        const text = typeof message?.text === 'string' ? (message.text as string) : '';
        const match = /\d{6}/.exec(text);
        if (text.includes('验证码') && match !== null) {
          context.out(`验证码（开发模式，取自 /dev/sms）/ code (development outbox): ${match[0]}`);
          return match[0];
        }
      }
    }
  }
  return context.prompter.secret('输入短信验证码 / SMS code: ');
}

/**
 * The real-name steps again for the person `verify` was given (a development face result) and
 * an SMS code to `phone` (`--code`, else sent now and read as {@link smsCodeFor} does).
 */
async function reverificationFor(
  context: Context,
  client: McertClient,
  phone: string,
): Promise<{ verifyResult: string; phone: string; code: string }> {
  const openid = await openidFrom(context);
  const stored = await context.storage.get(PERSON_KEY);
  const person = stored === null ? null : (JSON.parse(stored) as { name: string; idNumber: string });
  if (person === null) {
    throw new UsageError('尚未实名认证，请先执行 verify / not verified here: run verify first');
  }
  if (stringValue(context.values, 'code') === undefined) await client.sendPhoneCode(phone);
  const code = await smsCodeFor(context, (await context.server()) ?? '', phone);
  return { verifyResult: `dev-pass:${person.name}:${person.idNumber}:${openid}`, phone, code };
}

/**
 * The server's list of the person's certificates when a mini-program session exists, else
 * null (not signed in, not verified, no server known, or the server unreachable).
 */
async function heldCertificates(
  context: Context,
  client: McertClient,
): Promise<ServerCertificate[] | null> {
  if ((await context.storage.get(OPENID_KEY)) === null) return null;
  if ((await context.server()) === null) return null;
  try {
    return await client.serverCertificates();
  } catch {
    return null;
  }
}

/** What each OIDC scope hands the portal, in Chinese for the person deciding. */
const SCOPE_LABELS: { [scope: string]: string } = {
  openid: '登录标识',
  profile: '姓名',
  employer: '单位名称、统一社会信用代码、证书及授权事项',
};

/**
 * The certificate to log in with: `--serial`, else the scan's default certificate if it is on
 * this phone, else the first one offered that is.
 */
async function loginSerialFrom(
  context: Context,
  client: McertClient,
  scan: Scan,
): Promise<string> {
  const given = stringValue(context.values, 'serial');
  if (given !== undefined) return given;
  const onPhone = new Set((await client.certificates()).map((c) => c.serial));
  const usable = scan.certificates.filter((c) => onPhone.has(c.serial));
  const chosen = usable.find((c) => c.default) ?? usable[0];
  if (chosen === undefined) {
    throw new UsageError(
      '本机没有可用于登录的证书，请先下载证书 / none of the offered certificates is on this phone: run download first',
    );
  }
  return chosen.serial;
}

/** What a co-signature was for, as the holder reads it. */
const PURPOSE_LABELS: { [purpose: string]: string } = {
  key_enrolment: '下载证书 / key enrolment',
  verify_pin: '校验 PIN / PIN check',
  change_pin: '修改 PIN / PIN change',
  login: '扫码登录 / login',
  seal: '电子印章 / seal',
  seal_pdf: '电子印章（PDF 签名）/ seal (PDF signature)',
  grant_change: '事项授权 / item grant',
  revocation_request: '证书废除 / revocation',
  renewal_request: '年审延期 / renewal',
};

const PRIMARY_OPTION: OptionSpec = {
  type: 'string',
  description:
    '授权用的主证书（默认：本机上的主证书）/ the primary certificate that grants (default: the primary on this phone)',
};

/** `--primary`, else the one primary certificate of the person that is on this phone. */
async function primaryFrom(context: Context, client: McertClient): Promise<string> {
  const given = stringValue(context.values, 'primary');
  if (given !== undefined) return given;
  const onPhone = new Set((await client.certificates()).map((c) => c.serial));
  const primaries = (await client.serverCertificates()).filter(
    (c) => c.role === 'primary' && c.status === 'active' && onPhone.has(c.serial),
  );
  if (primaries.length === 1) return primaries[0].serial;
  throw new UsageError(
    primaries.length === 0
      ? '本机没有在用的主证书：只有主证书可以进行事项授权 / no primary certificate in force on this phone: only the primary grants items'
      : '本机有多张主证书，请用 --primary 指定 / several primary certificates: choose one with --primary',
  );
}

/** The names of `codes` in the portal's catalogue, `名称 (code)`. */
function itemNames(overview: GrantOverview, clientId: string, codes: string[]): string {
  const portal = overview.portals.find((p) => p.clientId === clientId);
  if (codes.length === 0) return '（无 / none）';
  return codes
    .map((code) => {
      const name = portal?.items.find((item) => item.code === code)?.name;
      return name === undefined ? code : `${name} (${code})`;
    })
    .join('、');
}

/** `CODE` or `CODE@TIME`: the item until TIME (ISO 8601, e.g. 2027-01-01T00:00:00+08:00). */
function itemGrantOf(text: string): ItemGrantInput {
  const at = text.lastIndexOf('@');
  if (at < 0) return { code: text.trim() };
  const endsAt = new Date(text.slice(at + 1).trim());
  if (Number.isNaN(endsAt.getTime())) {
    throw new UsageError(
      `“${text}”的截止时间无法识别，请写成 CODE@2027-01-01T00:00:00+08:00 / cannot read the end time of "${text}"`,
    );
  }
  return { code: text.slice(0, at).trim(), endsAt };
}

/** `dev:<openid>:<nonce>`: each development code signs in once, like a `wx.login` code. */
function devLoginCode(openid: string): string {
  const nonce = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(8)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
  return `dev:${openid}:${nonce}`;
}

/** What `scan` shows before asking for the PIN: who asks, for what, with which certificate. */
function printLoginScan(context: Context, scan: LoginScan, serial: string | undefined): void {
  const certificate = scan.certificates.find((c) => c.serial === serial?.toUpperCase());
  context.out(`登录网站 / portal: ${scan.portal.name}`);
  context.out(`网址 / origin: ${scan.portal.origin}`);
  const scopes = scan.scopes.map((scope) =>
    SCOPE_LABELS[scope] !== undefined ? `${SCOPE_LABELS[scope]} (${scope})` : scope,
  );
  context.out(`授权内容 / scopes: ${scopes.join('、')}`);
  context.out(initiatorText(scan.initiator));
  if (scan.regionWarning !== null) context.out(`⚠ ${scan.regionWarning}`);
  context.out(
    `请点选网页上显示的数字 / tap the number the page shows: ${scan.matchChoices.join('  ')}`,
  );
  if (certificate !== undefined) {
    context.out(`单位 / employer: ${certificate.unitName}  ${certificate.uscc}`);
    context.out(
      `证书 / certificate: ${certificate.serial}  ` +
        `${certificate.role === 'primary' ? '主证书 / primary' : '子证书 / sub'}` +
        `${certificate.default ? '  [默认 / default]' : ''}`,
    );
  } else if (serial !== undefined) {
    context.out(`证书 / certificate: ${serial.toUpperCase()}`);
  }
  context.out(`有效期至 / expires: ${scan.expiresAt}`);
}

/** What `scan` shows of a seal request before asking for the PIN. */
function printSealScan(context: Context, scan: SealScan, serial: string | undefined): void {
  const certificate = scan.certificates.find((c) => c.serial === serial?.toUpperCase());
  context.out(`电子印章签署 / seal request from: ${scan.portal.name}`);
  context.out(`网址 / origin: ${scan.portal.origin}`);
  context.out(`单位 / employer: ${scan.employer.name}  ${scan.employer.uscc}`);
  context.out(`文件 / document: ${scan.document.title}`);
  context.out(
    `文件摘要 / document SM3: ${scan.document.sm3}` +
      (scan.document.kind === 'pdf'
        ? `  (PDF${scan.document.size === null ? '' : `, ${scan.document.size} 字节 / bytes`}；盖章后的 PDF 另行签名 / the stamped PDF is signed too)`
        : '  (仅摘要 / hash only)'),
  );
  context.out(
    `印章 / seal: ${scan.seal.name}  ${scan.seal.id}  ${scan.seal.widthMm}×${scan.seal.heightMm} mm  ` +
      `${scan.seal.kind === 'generated' ? '系统生成 / generated' : '传统印章采集 / traditional'}`,
  );
  context.out(initiatorText(scan.initiator));
  if (scan.regionWarning !== null) context.out(`⚠ ${scan.regionWarning}`);
  context.out(
    `请点选网页上显示的数字 / tap the number the page shows: ${scan.matchChoices.join('  ')}`,
  );
  context.out(`证书 / certificate: ${certificate?.serial ?? serial?.toUpperCase() ?? '—'}`);
  context.out(`有效期至 / expires: ${scan.expiresAt}`);
}

const COMMANDS: Command[] = [
  {
    name: 'enrol',
    summary: '下载证书（设置 PIN）/ download a certificate and set its PIN',
    usage: 'enrol --server URL --ticket TICKET [--pin PIN]',
    remembersServer: true,
    options: {
      ticket: { type: 'string', description: '下载凭证 / enrolment ticket' },
      pin: PIN_OPTION,
    },
    async run(context) {
      const ticket = stringValue(context.values, 'ticket');
      if (ticket === undefined) throw new UsageError('缺少 --ticket / --ticket is required');
      const client = await context.client();
      let pin = stringValue(context.values, 'pin') ?? process.env.MCERT_PIN;
      if (pin === undefined) {
        pin = await newPinFrom(context, '设置 PIN（6 位数字）/ new PIN (6 digits): ');
      }
      printEnrolled(context, await client.enrol(ticket, pin));
    },
  },
  {
    name: 'list',
    summary:
      '列出本机证书（已登录时含服务端的角色、状态与默认证书）/ list the certificates on this phone (with role, status and default when signed in)',
    usage: 'list',
    options: {},
    async run(context) {
      const client = await context.client({ local: true });
      const certificates = await client.certificates();
      const held = await heldCertificates(context, client);
      const merged = certificates.map((c) => {
        const server = held?.find((h) => h.serial === c.serial);
        return {
          serial: c.serial,
          ...(describeCertificate(c.certificatePem) ?? {}),
          ...(server !== undefined
            ? {
                role: server.role,
                status: server.status,
                statusLabel: server.statusLabel,
                default: server.default,
              }
            : {}),
        };
      });
      if (context.values.json === true) {
        context.out(JSON.stringify(merged));
        return;
      }
      if (merged.length === 0) {
        context.out('本机没有证书 / no certificates on this phone');
        return;
      }
      for (const entry of merged) {
        let line =
          entry.subject === undefined
            ? entry.serial
            : `${entry.serial}  ${entry.subject}  (有效期至 / valid to ${entry.validTo})`;
        if (entry.role !== undefined) {
          line +=
            `  ${entry.role === 'primary' ? '主证书 / primary' : '子证书 / sub'}` +
            `  ${entry.statusLabel} / ${entry.status}`;
          if (entry.default === true) line += '  [默认 / default]';
        }
        context.out(line);
      }
    },
  },
  {
    name: 'certificate',
    summary: '输出本机证书（PEM），如供 openssl 查验 / print a certificate on this phone as PEM, e.g. for openssl',
    usage: 'certificate [--serial S]',
    options: { serial: SERIAL_OPTION },
    async run(context) {
      const client = await context.client({ local: true });
      const serial = await serialFrom(context, client);
      const stored = (await client.certificates()).find((c) => c.serial === serial);
      if (stored === undefined) {
        throw new UsageError(`本机没有证书 ${serial} / no certificate ${serial} on this phone`);
      }
      context.out(stored.certificatePem.trimEnd());
    },
  },
  {
    name: 'status',
    summary: '查询密钥状态与剩余 PIN 次数 / key status and PIN attempts left',
    usage: 'status [--serial S]',
    options: { serial: SERIAL_OPTION },
    async run(context) {
      const client = await context.client();
      const status = await client.keyStatus(await serialFrom(context, client));
      if (context.values.json === true) {
        context.out(JSON.stringify(status));
        return;
      }
      context.out(`证书 / certificate: ${status.serial}`);
      context.out(`状态 / status: ${status.status}`);
      context.out(`已锁定 / locked: ${status.locked ? '是 / yes' : '否 / no'}`);
      context.out(`剩余 PIN 次数 / PIN attempts left: ${status.remainingAttempts}`);
    },
  },
  {
    name: 'verify-pin',
    summary: '校验 PIN / check the PIN with the server',
    usage: 'verify-pin [--serial S] [--pin PIN]',
    options: { serial: SERIAL_OPTION, pin: PIN_OPTION },
    async run(context) {
      const client = await context.client();
      const serial = await serialFrom(context, client);
      const pin = await pinFrom(context, 'pin', 'MCERT_PIN', '输入 PIN / PIN: ');
      await client.verifyPin(serial, pin);
      context.out('PIN 正确 / PIN is correct');
    },
  },
  {
    name: 'change-pin',
    summary: '修改 PIN / change the PIN',
    usage: 'change-pin [--serial S] [--pin OLD] [--new-pin NEW]',
    options: {
      serial: SERIAL_OPTION,
      pin: {
        type: 'string',
        description: '原 PIN / current PIN (default: $MCERT_PIN, else prompt)',
      },
      'new-pin': {
        type: 'string',
        description: '新 PIN / new PIN (default: $MCERT_NEW_PIN, else prompt)',
      },
    },
    async run(context) {
      const client = await context.client();
      const serial = await serialFrom(context, client);
      const oldPin = await pinFrom(context, 'pin', 'MCERT_PIN', '输入原 PIN / current PIN: ');
      let newPin = stringValue(context.values, 'new-pin') ?? process.env.MCERT_NEW_PIN;
      if (newPin === undefined) {
        newPin = await newPinFrom(context, '输入新 PIN / new PIN: ');
      }
      await client.changePin(serial, oldPin, newPin);
      context.out('PIN 已修改 / PIN changed');
    },
  },
  {
    name: 'pin',
    summary: 'PIN 管理：pin verify | pin change / PIN: pin verify | pin change',
    usage: 'pin <verify|change> [--serial S] [--pin PIN] [--new-pin NEW]',
    arguments: ['verify|change'],
    options: {},
    async run() {
      // Dispatched in main() to verify-pin / change-pin.
      throw new UsageError('pin verify | pin change');
    },
  },
  {
    name: 'revoke',
    summary: '证书废除（输入 PIN）/ revoke a certificate, signed with its PIN',
    usage: 'revoke --cause CAUSE [--serial S] [--pin PIN]',
    options: {
      cause: {
        type: 'string',
        description:
          '原因 / cause: holder_changed（证书使用人变更）, phone_changed（手机号变更）, employer_renamed（单位名称变更）, no_longer_needed（不再使用）, key_compromise（手机丢失或密钥泄露）',
      },
      serial: SERIAL_OPTION,
      pin: PIN_OPTION,
    },
    async run(context) {
      const cause = stringValue(context.values, 'cause');
      if (cause === undefined) throw new UsageError('缺少 --cause / --cause is required');
      const client = await context.client();
      const serial = await serialFrom(context, client);
      const pin = await pinFrom(context, 'pin', 'MCERT_PIN', '确认废除，输入 PIN / PIN to revoke: ');
      const revocation = await client.revokeCertificate(serial, cause as RevocationCause, pin);
      if (context.values.json === true) {
        context.out(JSON.stringify({ ...revocation, signature: Buffer.from(revocation.signature).toString('base64') }));
        return;
      }
      context.out(
        `证书已废除 / certificate revoked: ${revocation.serial}（${revocation.causeZh}, ${revocation.reason}）`,
      );
      context.out('如需继续使用，请重新申请、下载证书 / apply anew to go on');
    },
  },
  {
    name: 'renew',
    summary: '年审延期（到期前 30 天起，输入 PIN）/ renew a certificate for a year, signed with its PIN',
    usage: 'renew [--serial S] [--pin PIN]',
    options: { serial: SERIAL_OPTION, pin: PIN_OPTION },
    async run(context) {
      const client = await context.client();
      const serial = await serialFrom(context, client);
      const pin = await pinFrom(context, 'pin', 'MCERT_PIN', '确认年审延期，输入 PIN / PIN to renew: ');
      const renewal = await client.renewCertificate(serial, pin);
      if (context.values.json === true) {
        context.out(JSON.stringify({ ...renewal, signature: Buffer.from(renewal.signature).toString('base64') }));
        return;
      }
      context.out(`证书已年审延期 / certificate renewed: ${renewal.serial}`);
      context.out(`  有效期至 / valid until: ${renewal.notAfter}`);
      context.out(`  原证书 / previous: ${renewal.previousSerial}（已被新证书取代 / superseded）`);
      context.out(
        renewal.feeYuan === null
          ? '  费用 / fee: 免费 / free'
          : `  费用 / fee: ${renewal.feeYuan} 元，请按通知缴纳 / ${renewal.feeYuan} yuan due`,
      );
    },
  },
  {
    name: 'history',
    summary:
      '签名记录：本证书签过什么、何时输错 PIN / signature log: what the key signed, and wrong PINs',
    usage: 'history [--serial S]',
    options: { serial: SERIAL_OPTION },
    async run(context) {
      const client = await context.client();
      const serial = await serialFrom(context, client);
      const history = await client.signatureHistory(serial);
      if (context.values.json === true) {
        context.out(JSON.stringify(history));
        return;
      }
      context.out(`证书 / certificate ${serial} 的签名记录 / signature log (新的在前 / newest first):`);
      if (history.length === 0) context.out('（无 / none）');
      for (const entry of history) {
        const what = PURPOSE_LABELS[entry.purpose ?? ''] ?? entry.purpose ?? '';
        const outcome = entry.outcome === 'signed' ? '已签名 / signed' : 'PIN 错误 / wrong PIN';
        const about = [
          entry.portal === null ? null : `门户 / portal ${entry.portal}`,
          entry.grantee === null ? null : `子证书 / sub ${entry.grantee}`,
          entry.loginSession === null ? null : `登录 / login ${entry.loginSession}`,
        ].filter((part) => part !== null);
        context.out(
          `${entry.at}  ${outcome}  ${what}${about.length > 0 ? `  ${about.join('  ')}` : ''}`,
        );
      }
    },
  },
  {
    name: 'grants list',
    summary:
      '事项授权：列出本单位的子证书及各门户已授权事项 / item grants: the sub-certificates and what each may do',
    usage: 'grants list [--primary S]',
    options: { primary: PRIMARY_OPTION },
    async run(context) {
      const client = await context.client();
      const overview = await client.grants(await primaryFrom(context, client));
      if (context.values.json === true) {
        context.out(JSON.stringify(overview));
        return;
      }
      context.out(`${overview.employerName}（${overview.uscc}）主证书 / primary ${overview.serial}`);
      if (overview.subCertificates.length === 0) {
        context.out('本单位还没有子证书 / no sub-certificates yet');
        return;
      }
      for (const sub of overview.subCertificates) {
        context.out(
          `${sub.index}. ${sub.serial}  ${sub.mediaTypeZh}  ${sub.certificateTypeZh}  ` +
            `${sub.holderName} ${sub.holderIdMasked}  绑定时间 / bound ${sub.boundAt}`,
        );
        for (const grant of sub.grants) {
          const portal = overview.portals.find((p) => p.clientId === grant.clientId);
          context.out(
            `   ${portal?.name ?? grant.clientId} (${grant.clientId}, ${grant.grantId}): ` +
              itemNames(overview, grant.clientId, grant.items),
          );
        }
      }
    },
  },
  {
    name: 'grants show',
    summary:
      '事项授权：一张子证书在各门户的事项（含未授权与锁定事项）/ item grants: one sub-certificate, item by item',
    usage: 'grants show <serial> [--primary S]',
    arguments: ['serial'],
    options: { primary: PRIMARY_OPTION },
    async run(context) {
      const client = await context.client();
      const overview = await client.grants(await primaryFrom(context, client));
      const sub = overview.subCertificates.find(
        (s) => s.serial === context.args[0].trim().toUpperCase(),
      );
      if (sub === undefined) {
        throw new UsageError(
          `本单位没有在用的子证书 ${context.args[0]} / no sub-certificate ${context.args[0]} in force`,
        );
      }
      if (context.values.json === true) {
        context.out(JSON.stringify({ ...sub, portals: overview.portals }));
        return;
      }
      context.out(
        `子证书 / sub-certificate ${sub.serial}  ${sub.mediaTypeZh}  ${sub.holderName} ${sub.holderIdMasked}`,
      );
      for (const grant of sub.grants) {
        const portal = overview.portals.find((p) => p.clientId === grant.clientId);
        context.out(`${portal?.name ?? grant.clientId} (${grant.clientId}, ${grant.grantId}):`);
        for (const item of portal?.items ?? []) {
          const mark = grant.items.includes(item.code) ? '[x]' : '[ ]';
          const locked = item.lockedFor === sub.mediaType && item.lockedNote !== null;
          const saved = grant.grants.find((g) => g.code === item.code);
          const window = [
            saved?.startsAt == null ? null : `自 / from ${saved.startsAt}`,
            saved?.endsAt == null ? null : `至 / until ${saved.endsAt}`,
          ].filter((part) => part !== null);
          context.out(
            `  ${mark} ${item.name} (${item.code})` +
              `${window.length > 0 ? `  ${window.join(' ')}` : ''}` +
              `${locked ? `  — ${item.lockedNote}` : ''}`,
          );
        }
      }
    },
  },
  {
    name: 'grants set',
    summary:
      '事项授权：保存一张子证书在某门户的全部事项（主证书签名，输入 PIN）/ item grants: save a sub-certificate\'s whole item set, signed with the primary\'s PIN',
    usage: 'grants set <serial> [--portal CLIENT_ID] [--item CODE[@END]]... [--primary S] [--pin PIN]',
    arguments: ['serial'],
    options: {
      portal: {
        type: 'string',
        description: '门户的 client_id（只有一个门户时可省略）/ the portal (optional with one)',
      },
      item: {
        type: 'string',
        multiple: true,
        description:
          '授权事项代码，可重复；CODE@2027-01-01T00:00:00+08:00 给出截止时间；不给则收回全部（锁定事项除外）/ an item code, repeatable; none withdraws all',
      },
      primary: PRIMARY_OPTION,
      pin: PIN_OPTION,
    },
    async run(context) {
      const client = await context.client();
      const primary = await primaryFrom(context, client);
      const overview = await client.grants(primary);
      const serial = context.args[0].trim().toUpperCase();
      const sub = overview.subCertificates.find((s) => s.serial === serial);
      if (sub === undefined) {
        throw new UsageError(`本单位没有在用的子证书 ${serial} / no sub-certificate ${serial} in force`);
      }
      const clientId =
        stringValue(context.values, 'portal') ??
        (overview.portals.length === 1 ? overview.portals[0].clientId : undefined);
      if (clientId === undefined) {
        throw new UsageError(
          `请用 --portal 指定门户 / choose the portal with --portal: ${overview.portals.map((p) => p.clientId).join(', ')}`,
        );
      }
      const current = sub.grants.find((g) => g.clientId === clientId);
      const portal = overview.portals.find((p) => p.clientId === clientId);
      if (current === undefined || portal === undefined) {
        throw new UsageError(`没有门户 ${clientId} 的事项列表 / no catalogue of portal ${clientId}`);
      }
      const given = context.values.item;
      const items = (Array.isArray(given) ? given : [])
        .filter((item): item is string => typeof item === 'string')
        .map(itemGrantOf);
      // The locked defaults of the sub's media type stay: the person cannot remove them.
      for (const item of portal.items) {
        if (item.lockedFor === sub.mediaType && !items.some((i) => i.code === item.code)) {
          items.push({ code: item.code });
          if (context.values.json !== true) context.out(`${item.lockedNote}`);
        }
      }
      if (context.values.json !== true) {
        context.out(`${overview.employerName} 主证书 / primary ${overview.serial} 授权给 / grants to ${serial}`);
        context.out(`门户 / portal: ${portal.name} (${clientId})`);
        context.out(`原事项 / before: ${itemNames(overview, clientId, current.items)}`);
        context.out(`新事项 / after: ${itemNames(overview, clientId, items.map((i) => i.code))}`);
      }
      const pin = await pinFrom(context, 'pin', 'MCERT_PIN', '确认授权，输入主证书 PIN / PIN of the primary: ');
      const saved = await client.changeGrants(
        primary,
        { grantee: serial, clientId, grantId: current.grantId, items },
        pin,
      );
      if (context.values.json === true) {
        context.out(
          JSON.stringify({
            grantee: saved.grantee,
            clientId: saved.clientId,
            items: saved.items,
            grantId: saved.grantId,
            message: Buffer.from(saved.message).toString('base64'),
            signature: Buffer.from(saved.signature).toString('base64'),
          }),
        );
        return;
      }
      context.out(
        `已保存授权 / grants saved (${saved.grantId}): ${itemNames(overview, clientId, saved.items)}`,
      );
      context.out(`主证书签名 / signed by the primary: ${Buffer.from(saved.signature).toString('base64')}`);
    },
  },
  {
    name: 'default',
    summary: '设为默认证书 / make a certificate the default',
    usage: 'default <serial>',
    arguments: ['serial'],
    options: {},
    async run(context) {
      const client = await context.client();
      await client.setDefault(context.args[0]);
      context.out(`已设为默认证书 / default certificate: ${context.args[0].toUpperCase()}`);
    },
  },
  {
    name: 'unlock',
    summary:
      '解锁证书（开发模式刷脸结果 + 短信验证码）/ unlock a locked certificate (development face result and SMS code)',
    usage: 'unlock <serial> --phone PHONE [--code CODE]',
    arguments: ['serial'],
    options: {
      phone: { type: 'string', description: '已绑定的手机号 / a bound phone' },
      code: {
        type: 'string',
        description:
          '短信验证码（默认：开发模式取自 /dev/sms，否则提示输入）/ SMS code (default: the development outbox, else prompt)',
      },
    },
    async run(context) {
      const serial = context.args[0];
      const phone = stringValue(context.values, 'phone');
      if (phone === undefined) throw new UsageError('缺少 --phone / --phone is required');
      const client = await context.client();
      await client.unlock({ serial, ...(await reverificationFor(context, client, phone)) });
      context.out(`证书已解锁 / certificate unlocked: ${serial.toUpperCase()}`);
    },
  },
  {
    name: 'login',
    summary: '登录小程序账号（开发模式）/ sign in to the mini-program account (development mode)',
    usage: 'login <openid> --server URL',
    arguments: ['openid'],
    remembersServer: true,
    options: {},
    async run(context) {
      const openid = context.args[0];
      const client = await context.client();
      const session = await client.login(devLoginCode(openid));
      await context.storage.set(OPENID_KEY, openid);
      if (context.values.json === true) {
        context.out(JSON.stringify({ openid, expiresAt: session.expiresAt, verified: session.verified }));
        return;
      }
      context.out(`已登录 / signed in: ${openid}`);
      context.out(
        `实名认证 / real-name verified: ${session.verified ? '是 / yes' : '否 / no (run verify)'}`,
      );
    },
  },
  {
    name: 'verify',
    summary: '实名认证（开发模式刷脸结果）/ real-name verification (development face result)',
    usage: 'verify <name> <id-number>',
    arguments: ['name', 'id-number'],
    options: {},
    async run(context) {
      const [name, idNumber] = context.args;
      const client = await context.client();
      const openid = await openidFrom(context);
      const person = await client.verifyRealName({
        name,
        idNumber,
        verifyResult: `dev-pass:${name}:${idNumber}:${openid}`,
      });
      await context.storage.set(PERSON_KEY, JSON.stringify({ name, idNumber }));
      if (context.values.json === true) {
        context.out(JSON.stringify(person));
        return;
      }
      context.out(`实名认证通过 / verified: ${person.name} ${person.idNumber}`);
    },
  },
  {
    name: 'bind',
    summary: '绑定手机号（短信验证码）/ bind a phone number with an SMS code',
    usage: 'bind <phone> [--code CODE]',
    arguments: ['phone'],
    options: {
      code: {
        type: 'string',
        description:
          '短信验证码（默认：开发模式取自 /dev/sms，否则提示输入）/ SMS code (default: the development outbox, else prompt)',
      },
    },
    async run(context) {
      const phone = context.args[0];
      const client = await context.client();
      await client.sendPhoneCode(phone);
      const code = await smsCodeFor(context, (await context.server()) ?? '', phone);
      const binding = await client.bindPhone(phone, code);
      if (context.values.json === true) {
        context.out(JSON.stringify(binding));
        return;
      }
      context.out(
        binding.outcome === 'bound'
          ? `手机号已绑定 / phone bound: ${binding.phone}`
          : `手机号此前已绑定 / phone was bound already: ${binding.phone}`,
      );
    },
  },
  {
    name: 'employers',
    summary: '可下载证书的单位 / employers whose certificate can be downloaded',
    usage: 'employers',
    options: {},
    async run(context) {
      const client = await context.client();
      const employers = await client.employers();
      if (context.values.json === true) {
        context.out(JSON.stringify(employers));
        return;
      }
      for (const e of employers) {
        context.out(
          `${e.applicationId}  ${e.unitName}  ${e.uscc}  ${e.phone}  ` +
            `${e.ready ? '可下载 / ready' : '未就绪 / not ready'}（${e.syncStatusLabel}）`,
        );
      }
    },
  },
  {
    name: 'download',
    summary: '下载单位证书（设置 PIN）/ download an employer\'s certificate and set its PIN',
    usage: 'download <application-id> [--pin PIN] [--phone PHONE [--code CODE]]',
    arguments: ['application-id'],
    remembersServer: true,
    options: {
      pin: PIN_OPTION,
      phone: {
        type: 'string',
        description:
          '再次下载时：已绑定的手机号（开发模式刷脸结果 + 短信验证码）/ downloading again: a bound phone (development face result and SMS code)',
      },
      code: {
        type: 'string',
        description:
          '短信验证码（默认：开发模式取自 /dev/sms，否则提示输入）/ SMS code (default: the development outbox, else prompt)',
      },
    },
    async run(context) {
      const id = context.args[0];
      if (!/^[1-9][0-9]{0,15}$/.test(id)) {
        throw new UsageError(`申请编号应为数字 / the application id is a number: "${id}"`);
      }
      const client = await context.client();
      let pin = stringValue(context.values, 'pin') ?? process.env.MCERT_PIN;
      if (pin === undefined) {
        pin = await newPinFrom(context, '设置 PIN（6 位数字）/ new PIN (6 digits): ');
      }
      const phone = stringValue(context.values, 'phone');
      const proof = phone === undefined ? undefined : await reverificationFor(context, client, phone);
      printEnrolled(context, await client.download(Number(id), pin, proof));
    },
  },
  {
    name: 'scan',
    summary:
      '扫码登录网站或签署电子印章：确认（输入 PIN）或拒绝 / QR login or seal request: confirm with the PIN, or deny',
    usage: 'scan <qr-text-or-url> [--code NN] [--serial S] [--pin PIN] [--deny]',
    arguments: ['qr-text-or-url'],
    options: {
      code: {
        type: 'string',
        description:
          '网页上显示的两位数字（默认：提示输入）/ the two-digit number the page shows (default: prompt)',
      },
      serial: {
        type: 'string',
        description:
          '登录或盖章用的证书（默认：本机上的默认证书）/ certificate to log in or seal with (default: the default one on this phone)',
      },
      pin: PIN_OPTION,
      deny: { type: 'boolean', description: '拒绝 / decline' },
    },
    async run(context) {
      const client = await context.client();
      const scan = await client.scanLogin(context.args[0]);
      const seal = scan.purpose === 'seal';
      const deny = context.values.deny === true;
      // Declining needs no certificate; the one that would have been used is still shown.
      const serial = deny
        ? (stringValue(context.values, 'serial') ?? scan.certificates[0]?.serial)
        : await loginSerialFrom(context, client, scan);
      if (context.values.json !== true) {
        if (scan.purpose === 'seal') printSealScan(context, scan, serial);
        else printLoginScan(context, scan, serial);
      }
      const json = (outcome: object): string =>
        JSON.stringify({
          ...scan,
          ...(scan.purpose === 'seal'
            ? {
                seal: {
                  ...scan.seal,
                  picturePng: Buffer.from(scan.seal.picturePng).toString('base64'),
                },
              }
            : {}),
          ...outcome,
        });
      if (deny) {
        await client.denyLogin(scan);
        if (context.values.json === true) {
          context.out(json({ outcome: 'denied' }));
          return;
        }
        context.out(seal ? '已拒绝盖章 / seal denied' : '已拒绝登录 / login denied');
        return;
      }
      const code =
        stringValue(context.values, 'code') ??
        (await context.prompter.line('网页上显示的数字 / the number on the page: ')).trim();
      const pin = await pinFrom(
        context,
        'pin',
        'MCERT_PIN',
        seal ? '确认盖章，输入 PIN / PIN to seal: ' : '确认登录，输入 PIN / PIN to confirm: ',
      );
      if (scan.purpose === 'seal') {
        const sealed = await client.confirmSeal(scan, serial, pin, code);
        if (context.values.json === true) {
          context.out(
            json({
              serial: sealed.result.serial,
              outcome: 'sealed',
              signature: Buffer.from(sealed.signature).toString('base64'),
              pdfSignature:
                sealed.pdf === null ? null : Buffer.from(sealed.pdf.signature).toString('base64'),
            }),
          );
          return;
        }
        context.out(
          `已盖章 / sealed: ${scan.document.title}（${scan.seal.name}，证书 / certificate ${sealed.result.serial}）`,
        );
        if (sealed.pdf !== null) context.out('PDF 签名已完成 / the stamped PDF is signed');
        return;
      }
      const { result } = await client.confirmLogin(scan, serial, code, pin);
      if (context.values.json === true) {
        context.out(json({ serial: result.serial, outcome: 'confirmed' }));
        return;
      }
      context.out(
        `已确认登录 / login confirmed: ${scan.portal.name}（证书 / certificate ${result.serial}）`,
      );
    },
  },
  {
    name: 'seals',
    summary:
      "本人单位的电子印章：状态、版本、所列证书 / the employers' seals: status, version, the certificates listed",
    usage: 'seals',
    options: {},
    async run(context) {
      const client = await context.client();
      const seals = await client.seals();
      if (context.values.json === true) {
        context.out(
          JSON.stringify(
            seals.map((s) => ({
              ...s,
              picturePng:
                s.picturePng === null ? null : Buffer.from(s.picturePng).toString('base64'),
            })),
          ),
        );
        return;
      }
      if (seals.length === 0) context.out('没有单位印章 / no seals');
      for (const s of seals) {
        const kind =
          s.kind === 'generated'
            ? '系统生成 / generated'
            : s.kind === 'traditional'
              ? '传统印章采集 / traditional'
              : s.kind;
        context.out(
          `${s.employerName}（${s.uscc}）${s.statusLabel} / ${s.status}  ${kind}  ` +
            `v${s.version}  ${s.widthMm}×${s.heightMm} mm  ${s.id}`,
        );
        if (s.failureReason !== null) context.out(`  失败原因 / failure: ${s.failureReason}`);
        if (s.validStart !== null || s.validEnd !== null) {
          context.out(`  有效期 / valid: ${s.validStart ?? '—'} — ${s.validEnd ?? '—'}`);
        }
        context.out(
          `  所列证书 / certificates: ${s.certificates.length === 0 ? '（无 / none）' : s.certificates.join('、')}`,
        );
      }
    },
  },
  {
    name: 'logout',
    summary: '退出小程序账号 / sign out of the mini-program account',
    usage: 'logout',
    options: {},
    async run(context) {
      const client = await context.client();
      await client.logout();
      await context.storage.remove(OPENID_KEY);
      await context.storage.remove(PERSON_KEY);
      context.out('已退出 / signed out');
    },
  },
];

function optionLines(options: { [name: string]: OptionSpec }): string[] {
  return Object.keys(options).map((name) => {
    const flag = options[name].type === 'string' ? `--${name} <value>` : `--${name}`;
    return `  ${flag.padEnd(22)} ${options[name].description}`;
  });
}

function usage(command?: Command): string {
  if (command !== undefined) {
    return [
      `用法 / usage: ${PROGRAM} ${command.usage} [options]`,
      '',
      command.summary,
      '',
      ...optionLines(command.options),
      ...optionLines(GLOBAL_OPTIONS),
    ].join('\n');
  }
  return [
    `用法 / usage: ${PROGRAM} <command> [options]`,
    '',
    '命令 / commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(12)} ${c.summary}`),
    '',
    '小程序账号 / mini-program account (login, verify: 开发模式 / development mode):',
    `  ${PROGRAM} login <openid> --server URL; verify <name> <id-number>; bind <phone>;`,
    `  employers; download <application-id> --pin PIN; then list, status, verify-pin …`,
    '',
    '扫码登录、电子印章 / QR login, seals:',
    `  ${PROGRAM} scan https://mcert.example.cn/q/<id> [--code NN --pin PIN | --deny]; seals`,
    '',
    '事项授权（主证书）/ item grants (the primary):',
    `  ${PROGRAM} grants list; grants show <serial>; grants set <serial> --portal ID --item CODE …`,
    '',
    '通用选项 / common options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    `${PROGRAM} <command> --help 查看命令说明 / shows a command's options.`,
  ].join('\n');
}

function causeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { cause?: unknown }).cause
    : undefined;
}

/** Prints an error the way a person can act on it; returns the exit status. */
function report(error: unknown, err: (line: string) => void): number {
  if (error instanceof UsageError) {
    err(`${PROGRAM}: ${error.message}`);
    return 2;
  }
  if (error instanceof McertApiError) {
    err(`错误 / error [${error.code}, HTTP ${error.status}]: ${error.message}`);
    if (error.remainingAttempts !== undefined) {
      err(`剩余 PIN 次数 / PIN attempts left: ${error.remainingAttempts}`);
    }
    return 1;
  }
  if (error instanceof McertNetworkError) {
    // fetch's TypeError("fetch failed") carries the useful part (ECONNREFUSED …) in its cause.
    const cause = causeOf(error);
    const detail =
      causeOf(cause) instanceof Error
        ? (causeOf(cause) as Error).message
        : cause instanceof Error
          ? cause.message
          : String(cause);
    err(`错误 / error [${error.code}]: ${error.message} / cannot reach the server (${detail})`);
    return 1;
  }
  if (error instanceof McertError) {
    err(`错误 / error [${error.code}]: ${error.message}`);
    return 1;
  }
  if (error instanceof SignerError) {
    err(`错误 / error [signer ${error.code}]: ${error.userMessage} / ${error.message}`);
    return 1;
  }
  err(`${PROGRAM}: ${error instanceof Error ? error.message : String(error)}`);
  return 1;
}

/** Runs one command line; resolves to the exit status. */
export async function main(
  argv: string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  let [name, ...rest] = argv;
  if (name === 'pin' && (rest[0] === 'verify' || rest[0] === 'change')) {
    name = `${rest[0]}-pin`;
    rest = rest.slice(1);
  }
  if (name === 'grants' && ['list', 'show', 'set'].includes(rest[0])) {
    name = `grants ${rest[0]}`;
    rest = rest.slice(1);
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    err(`${PROGRAM}: 未知命令 / unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const options = { ...GLOBAL_OPTIONS, ...command.options };
  let values: Values;
  let args: string[];
  const expected = command.arguments ?? [];
  try {
    const parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.keys(options).map((option) => [
          option,
          { type: options[option].type, multiple: options[option].multiple === true },
        ]),
      ),
      allowPositionals: expected.length > 0,
      strict: true,
    });
    values = parsed.values;
    args = parsed.positionals;
  } catch (error) {
    err(`${PROGRAM} ${name}: ${(error as Error).message}\n\n${usage(command)}`);
    return 2;
  }
  if (values.help !== true && args.length !== expected.length) {
    err(
      `${PROGRAM} ${name}: 需要参数 / expects ${expected.map((a) => `<${a}>`).join(' ')}\n\n` +
        usage(command),
    );
    return 2;
  }
  if (values.help === true) {
    out(usage(command));
    return 0;
  }

  const statePath = resolve(
    stringValue(values, 'state') ?? (process.env[STATE_VARIABLE] || DEFAULT_STATE),
  );
  const storage = jsonFileStorage(statePath);
  const prompter = new Prompter();
  const context: Context = {
    values,
    args,
    statePath,
    storage,
    prompter,
    out,
    server: async () =>
      stringValue(values, 'server') ?? process.env.MCERT_SERVER ?? (await storage.get(SERVER_KEY)),
    client: async (clientOptions) => {
      const baseUrl =
        (await context.server()) ?? (clientOptions?.local === true ? '' : null);
      if (baseUrl === null) {
        throw new UsageError('缺少 --server（mcert 服务地址）/ --server is required');
      }
      if (command.remembersServer === true) await storage.set(SERVER_KEY, baseUrl);
      const packageRoot = resolve(__dirname, '..', '..');
      const packaged = resolve(packageRoot, 'wasm', 'mcert_signer.wasm');
      const wasmPath = stringValue(values, 'wasm') ?? process.env.MCERT_SIGNER_WASM ?? packaged;
      if (!existsSync(wasmPath)) {
        throw new UsageError(
          wasmPath === packaged
            ? `找不到签名模块 / signer module not found: ${wasmPath}\n` +
                `  请在 ${packageRoot} 中执行 npm run build 构建（需要 Rust 工具链：rustup 与 cargo），` +
                '或用 --wasm 指定已构建的模块。\n' +
                `  Build it with \`npm run build\` in ${packageRoot} (needs Rust: rustup and cargo),\n` +
                '  or give a built module with --wasm.'
            : `找不到签名模块 / signer module not found: ${wasmPath}`,
        );
      }
      const signer = await loadSigner({
        module: new Uint8Array(readFileSync(wasmPath)),
        instantiate: WebAssembly.instantiate,
      });
      const openid = await storage.get(OPENID_KEY);
      return new McertClient({
        signer,
        request: fetchRequest(fetch),
        storage,
        entropy: webCryptoEntropy(globalThis.crypto),
        baseUrl,
        ...(openid === null ? {} : { wxLogin: async () => devLoginCode(openid) }),
      });
    },
  };
  try {
    await command.run(context);
    return 0;
  } catch (error) {
    return report(error, err);
  } finally {
    prompter.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (status) => {
      process.exitCode = status;
    },
    (error: unknown) => {
      process.stderr.write(`${PROGRAM}: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
