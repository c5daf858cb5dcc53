/**
 * 账号管理 — 手机号解绑: the phones bound to the signed-in person, each with 解绑 (asked twice).
 * A former agent frees a phone here for the next one (手机号已被绑定). Emits `unbound` with
 * `{ phone }`.
 */

import { mcert, problemOf } from '../mcert';

Component({
  data: {
    loading: true,
    phones: [] as string[],
    /** The phone whose 解绑 was tapped once, waiting for 确认解绑. */
    confirming: '',
    notice: '',
    problem: null as unknown,
  },
  lifetimes: {
    attached() {
      void this.load();
    },
  },
  methods: {
    async load() {
      this.setData({ loading: true });
      try {
        const person = await (await mcert()).me();
        this.setData({ phones: person.phones, problem: null });
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      } finally {
        this.setData({ loading: false });
      }
    },
    ask(event: WechatMiniprogram.TouchEvent) {
      this.setData({ confirming: String(event.currentTarget.dataset.phone), notice: '' });
    },
    cancel() {
      this.setData({ confirming: '' });
    },
    async unbind() {
      const phone = this.data.confirming;
      if (phone === '') return;
      try {
        await (await mcert()).unbindPhone(phone);
        this.setData({ confirming: '', notice: `已解绑 ${phone}` });
        this.triggerEvent('unbound', { phone });
        await this.load();
      } catch (error) {
        this.setData({ confirming: '', problem: problemOf(error) });
      }
    },
  },
});
