/**
 * A phone number and the SMS code sent to it (获取验证码, with the resend countdown the server
 * gives). Emits `change` with `{ phone, code }` whenever either changes.
 */

import { beijingTime, mcert, problemOf } from '../mcert';

/** The countdown's timer of each instance. */
const timers = new WeakMap<object, ReturnType<typeof setInterval>>();

function stopCountdown(owner: object): void {
  const timer = timers.get(owner);
  if (timer !== undefined) clearInterval(timer);
  timers.delete(owner);
}

Component({
  properties: {
    /** The number to start with (one of the person's bound phones, say). */
    phone: { type: String, value: '' },
  },
  data: {
    number: '',
    code: '',
    sending: false,
    sent: false,
    /** When the code sent expires, `HH:MM` Beijing time. */
    validUntil: '',
    /** Seconds before another code may be asked for. */
    countdown: 0,
    problem: null as unknown,
  },
  lifetimes: {
    attached() {
      this.setData({ number: this.data.phone });
    },
    detached() {
      stopCountdown(this);
    },
  },
  methods: {
    onPhone(event: WechatMiniprogram.Input) {
      this.setData({ number: event.detail.value.trim() });
      this.changed();
    },
    onCode(event: WechatMiniprogram.Input) {
      this.setData({ code: event.detail.value.trim() });
      this.changed();
    },
    changed() {
      this.triggerEvent('change', { phone: this.data.number, code: this.data.code });
    },
    async send() {
      if (this.data.sending || this.data.countdown > 0 || this.data.number === '') return;
      this.setData({ sending: true, problem: null });
      try {
        const sent = await (await mcert()).sendPhoneCode(this.data.number);
        this.setData({
          sent: true,
          countdown: sent.resendAfterSecs,
          validUntil: beijingTime(sent.expiresAt).slice(11),
        });
        stopCountdown(this);
        timers.set(
          this,
          setInterval(() => {
            const left = this.data.countdown - 1;
            this.setData({ countdown: Math.max(0, left) });
            if (left <= 0) stopCountdown(this);
          }, 1000),
        );
        this.triggerEvent('sent', { phone: this.data.number });
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      } finally {
        this.setData({ sending: false });
      }
    },
  },
});
