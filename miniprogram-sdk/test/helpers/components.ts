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
}

/** The part of `miniprogram-simulate` used here. Its own typings declare WeChat's globals, which
 * clash with Node's, so it is loaded untyped. */
interface Simulate {
  load(path: string, options: { compiler: 'simulate'; rootPath: string }): string;
  render(id: string, properties: { [name: string]: unknown }): ComponentWrapper;
  sleep(ms: number): Promise<void>;
}

// The framework needs the DOM when it loads.
(require('jsdom-global') as () => void)();
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

/** Renders the component `dist/components/<name>` with `properties`, attached to a page. */
export function mount(name: string, properties: { [name: string]: unknown } = {}): ComponentWrapper {
  const id = simulate.load(join(COMPONENTS, name, 'index'), { compiler: 'simulate', rootPath: COMPONENTS });
  const component = simulate.render(id, properties);
  component.attach(document.createElement('parent-wrapper'));
  return component;
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

/** The node `selector` finds (`>>>` crosses into child components); fails without one. */
export function find(component: ComponentWrapper, selector: string): ComponentWrapper {
  const node = component.querySelector(selector);
  assert.ok(node, `no ${selector} in: ${text(component)}`);
  return node;
}

export function tap(component: ComponentWrapper, selector: string): void {
  find(component, selector).dispatchEvent('tap');
}

/** Types `value` into the input `selector`. */
export function type(component: ComponentWrapper, selector: string, value: string): void {
  find(component, selector).dispatchEvent('input', { detail: { value } });
}

/** Taps the keys of the PIN pad `pad` (its own keypad: the PIN goes through no input field). */
export function enterPin(pad: ComponentWrapper, pin: string): void {
  const keys = pad.querySelectorAll('.key');
  for (const digit of pin) {
    const key = keys.find((k) => k.dom.getAttribute('data-key') === digit);
    assert.ok(key, `no key ${digit}`);
    key.dispatchEvent('tap');
  }
}

/** Resolves with the detail of the component's next `name` event. */
export function nextEvent<T>(component: ComponentWrapper, name: string): Promise<T> {
  return new Promise((resolve) => component.addEventListener(name, (event) => resolve(event.detail as T)));
}
