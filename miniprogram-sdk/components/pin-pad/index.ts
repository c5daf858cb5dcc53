/**
 * The PIN pad: six digits on a keypad of its own (the PIN never passes through an input
 * field). Emits `pin` with `{ pin }` once six digits are in (in `set` mode, after the same six
 * twice). The page then makes its SDK call and hands the outcome back with `done()` or
 * `fail(error)`: `pin_incorrect` shows the tries left, `key_locked` the locked state with the
 * unlock path — face verification and an SMS code again, then `client.unlock` — after which
 * it emits `unlocked` with `{ serial }`.
 */

import { mcert, problemOf } from '../mcert';

const PIN_LENGTH = 6;

/** What has been typed, per instance: kept out of `data` so it is never rendered or logged. */
const typed = new WeakMap<object, { entered: string; first: string }>();

function state(owner: object): { entered: string; first: string } {
  let value = typed.get(owner);
  if (value === undefined) {
    value = { entered: '', first: '' };
    typed.set(owner, value);
  }
  return value;
}

Component({
  properties: {
    /** `enter` (a PIN in use) or `set` (a new PIN, typed twice). */
    mode: { type: String, value: 'enter' },
    title: { type: String, value: '请输入证书 PIN 码' },
    /** The certificate the PIN is for: with it, a locked key can be unlocked here. */
    serial: { type: String, value: '' },
  },
  data: {
    keys: ['1', '2', '3', '4', '5', '6', '7', '8', '9', '', '0', 'del'],
    dots: [0, 1, 2, 3, 4, 5],
    count: 0,
    /** `first`, or `confirm` for the second entry of a new PIN. */
    stage: 'first',
    busy: false,
    locked: false,
    /** Tries left after a wrong PIN, or null. */
    remaining: null as number | null,
    unlocking: false,
    notice: '',
    problem: null as unknown,
  },
  lifetimes: {
    detached() {
      typed.delete(this);
    },
  },
  methods: {
    press(event: WechatMiniprogram.TouchEvent) {
      const key = String(event.currentTarget.dataset.key);
      if (this.data.busy || this.data.locked || key === '') return;
      const pin = state(this);
      if (key === 'del') pin.entered = pin.entered.slice(0, -1);
      else if (pin.entered.length < PIN_LENGTH) pin.entered += key;
      this.setData({ count: pin.entered.length, problem: null, notice: '' });
      if (pin.entered.length === PIN_LENGTH) this.complete();
    },
    complete() {
      const pin = state(this);
      const entered = pin.entered;
      pin.entered = '';
      if (this.data.mode === 'set' && this.data.stage === 'first') {
        pin.first = entered;
        this.setData({ stage: 'confirm', count: 0 });
        return;
      }
      if (this.data.mode === 'set' && entered !== pin.first) {
        pin.first = '';
        this.setData({
          stage: 'first',
          count: 0,
          problem: { code: 'pin_mismatch', title: '', message: '两次输入的 PIN 码不一致，请重新设置', steps: [] },
        });
        return;
      }
      pin.first = '';
      this.setData({ busy: true, count: PIN_LENGTH });
      this.triggerEvent('pin', { pin: entered });
    },
    /** The PIN was accepted: clears the pad. */
    done() {
      this.setData({ busy: false, count: 0, stage: 'first', remaining: null, problem: null });
    },
    /** The call with the PIN failed: shows why and lets the person type again. */
    fail(error: unknown) {
      const problem = problemOf(error);
      const pin = state(this);
      pin.entered = '';
      pin.first = '';
      this.setData({ busy: false, count: 0, stage: 'first' });
      if (problem.code === 'key_locked') {
        this.setData({ locked: true, remaining: 0, problem });
      } else if (problem.code === 'pin_incorrect' && problem.remainingAttempts === 0) {
        // The sixth wrong PIN locked the key.
        this.setData({
          locked: true,
          remaining: 0,
          problem: problemOf({ code: 'key_locked', message: 'PIN 码连续错误 6 次，证书已锁定' }),
        });
      } else if (problem.code === 'pin_incorrect') {
        this.setData({ remaining: problem.remainingAttempts, problem: null });
      } else {
        this.setData({ problem });
      }
    },
    startUnlock() {
      this.setData({ unlocking: true });
    },
    async onReverified(
      event: WechatMiniprogram.CustomEvent<{ verifyResult: string; phone: string; code: string }>,
    ) {
      const serial = this.data.serial;
      this.setData({ busy: true, problem: null });
      try {
        await (await mcert()).unlock({ serial, ...event.detail });
        this.setData({
          locked: false,
          unlocking: false,
          remaining: null,
          notice: '证书已解锁，请重新输入 PIN 码',
        });
        this.triggerEvent('unlocked', { serial });
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      } finally {
        this.setData({ busy: false });
      }
    },
  },
});
