/**
 * The mini-program's components (dist/components, built by `npm run build`) in Node: a DOM from
 * jsdom, WeChat's component framework from npm `miniprogram-simulate` (j-component), and a fake
 * `wx` whose login code, face verification and scanner a test sets. The components get the
 * test's real {@link McertClient} through their shared module's `setClient`, as a mini-program's
 * app.js gives them its client.
 */

import assert from 'node:assert/strict';
import { join } from 'node:path';

import type { McertClient } from '../../src/index';
import { PACKAGE_ROOT } from './wasm';

/** A rendered component (or a node in one), as j-component wraps it. */
export interface ComponentWrapper {
  dom: HTMLElement;
  data: { [key: string]: unknown };
  instance: { [key: string]: unknown };
  querySelector(selector: string): ComponentWrapper | undefined;
  querySelectorAll(selector: string): ComponentWrapper[];
  dispatchEvent(name: string, options?: { detail?: unknown }): void;
  addEventListener(name: string, handler: (event: { detail: unknown }) => void): void;
  attach(parent: Element): void;
  detach(): void;
}

/** The part of `miniprogram-simulate` used here. Its own typings declare WeChat's globals, which
 * clash with Node's, so it is loaded untyped. */
interface Simulate {
  load(path: string, options: { compiler: 'simulate'; rootPath: string }): string;
  render(id: string, properties: { [name: string]: unknown }): ComponentWrapper;
  sleep(ms: number): Promise<void>;
}

// The framework needs a DOM when it loads. The names Node lacks are taken from jsdom's window,
// and the event classes it dispatches on the window's nodes (those must be the window's own);
// Node's URL, fetch, AbortSignal and the rest stay as they are.
const { JSDOM } = require('jsdom') as { JSDOM: new (html: string) => { window: object } };
const window = new JSDOM('<!doctype html><html><body></body></html>').window;
const DOM_EVENTS = ['CustomEvent'];
for (const name of Object.getOwnPropertyNames(window)) {
  if (name in globalThis && !DOM_EVENTS.includes(name)) continue;
  try {
    (globalThis as { [name: string]: unknown })[name] = (window as { [name: string]: unknown })[name];
  } catch {
    // A getter for what an opaque origin may not have (localStorage): not needed here.
  }
}
const simulate = require('miniprogram-simulate') as Simulate;

const COMPONENTS = join(PACKAGE_ROOT, 'dist', 'components');

/** What the fake `wx` answers; tests set the fields and read the calls. */
export const wxFake = {
  /** The code `wx.login` gives next (the development server's `dev:<openid>:<nonce>`). */
  loginCode: '',
  /** The face verification's `verifyResult` for a name and ID number, or null: it fails. */
  face: (_name: string, _idNumber: string): string | null => null,
  /** The text `wx.scanCode` reads, or null: the person cancelled. */
  qr: null as string | null,
  faceCalls: [] as { name: string; idCardNumber: string }[],
};

type Callbacks<T> = { success?: (result: T) => void; fail?: (error: { errMsg: string }) => void };

Object.assign((globalThis as unknown as { wx: object }).wx, {
  login(options: Callbacks<{ code: string }>) {
    setTimeout(() => options.success?.({ code: wxFake.loginCode }), 0);
  },
  startFacialRecognitionVerify(
    options: { name: string; idCardNumber: string } & Callbacks<{ verifyResult: string }>,
  ) {
    wxFake.faceCalls.push({ name: options.name, idCardNumber: options.idCardNumber });
    const result = wxFake.face(options.name, options.idCardNumber);
    setTimeout(() => {
      if (result === null) options.fail?.({ errMsg: 'startFacialRecognitionVerify:fail cancel' });
      else options.success?.({ verifyResult: result });
    }, 0);
  },
  scanCode(options: Callbacks<{ result: string }>) {
    const qr = wxFake.qr;
    setTimeout(() => {
      if (qr === null) options.fail?.({ errMsg: 'scanCode:fail cancel' });
      else options.success?.({ result: qr });
    }, 0);
  },
});

/** The components' shared module, as they load it. */
const shared = require(join(COMPONENTS, 'mcert.js')) as {
  setClient(client: McertClient | Promise<McertClient>): void;
};

/** Gives the components `client`, as app.js does. */
export function setClient(client: McertClient): void {
  shared.setClient(client);
}

const mounted: ComponentWrapper[] = [];

/** Renders the component `dist/components/<name>` with `properties`, attached to a page. */
export function mount(name: string, properties: { [name: string]: unknown } = {}): ComponentWrapper {
  const id = simulate.load(join(COMPONENTS, name, 'index'), { compiler: 'simulate', rootPath: COMPONENTS });
  const component = simulate.render(id, properties);
  component.attach(document.createElement('parent-wrapper'));
  mounted.push(component);
  return component;
}

/**
 * Detaches every mounted component, as leaving the page does (their `detached` stops the SMS
 * countdown's timer, which would otherwise keep the test process alive): `afterEach(unmountAll)`.
 */
export function unmountAll(): void {
  for (const component of mounted.splice(0)) component.detach();
}

/** The component's text as a person reads it, blanks collapsed. */
export function text(component: ComponentWrapper): string {
  return (component.dom.textContent ?? '').replace(/\s+/g, ' ').trim();
}

/** Waits until the component shows `expected` (text or pattern); fails with what it shows. */
export async function shows(
  component: ComponentWrapper,
  expected: string | RegExp,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const matches = (): boolean =>
    typeof expected === 'string' ? text(component).includes(expected) : expected.test(text(component));
  while (!matches()) {
    if (Date.now() > deadline) {
      assert.fail(`expected ${String(expected)} on screen, it shows: ${text(component)}`);
    }
    await simulate.sleep(10);
  }
}

/** Waits until the component's call in flight (`data.busy`) is over. */
export async function idle(component: ComponentWrapper, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (component.data.busy === true) {
    if (Date.now() > deadline) assert.fail(`still busy: ${text(component)}`);
    await simulate.sleep(10);
  }
}

/** Waits until the component no longer shows `unexpected`. */
export async function hides(component: ComponentWrapper, unexpected: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (text(component).includes(unexpected)) {
    if (Date.now() > deadline) assert.fail(`${unexpected} still on screen: ${text(component)}`);
    await simulate.sleep(10);
  }
}

/** The node `selector` finds (`>>>` crosses into child components); fails without one. */
export function find(component: ComponentWrapper, selector: string): ComponentWrapper {
  const node = component.querySelector(selector);
  assert.ok(node, `no ${selector} in: ${text(component)}`);
  return node;
}

/** The node among those `selector` finds whose text includes `label`; fails without one. */
export function withText(component: ComponentWrapper, selector: string, label: string): ComponentWrapper {
  const node = component.querySelectorAll(selector).find((n) => (n.dom.textContent ?? '').includes(label));
  assert.ok(node, `no ${selector} showing ${label} in: ${text(component)}`);
  return node;
}

/**
 * Taps `node` and lets its handler run: the framework delivers events asynchronously, as
 * WeChat does.
 */
export async function press(node: ComponentWrapper): Promise<void> {
  node.dispatchEvent('tap');
  await simulate.sleep(0);
}

/** Taps the node `selector` finds. */
export function tap(component: ComponentWrapper, selector: string): Promise<void> {
  return press(find(component, selector));
}

/** Types `value` into the input `selector`. */
export async function type(component: ComponentWrapper, selector: string, value: string): Promise<void> {
  find(component, selector).dispatchEvent('input', { detail: { value } });
  await simulate.sleep(0);
}

/** Taps the keys of the PIN pad `pad` (its own keypad: the PIN goes through no input field). */
export async function enterPin(pad: ComponentWrapper, pin: string): Promise<void> {
  const keys = pad.querySelectorAll('.key');
  for (const digit of pin) {
    const key = keys.find((k) => k.dom.getAttribute('data-key') === digit);
    assert.ok(key, `no key ${digit}`);
    await press(key);
  }
}

/** Resolves with the detail of the component's next `name` event; fails after `timeoutMs`. */
export function nextEvent<T>(component: ComponentWrapper, name: string, timeoutMs = 15_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${name} event in ${timeoutMs} ms; the screen shows: ${text(component)}`)),
      timeoutMs,
    );
    component.addEventListener(name, (event) => {
      clearTimeout(timer);
      resolve(event.detail as T);
    });
  });
}
