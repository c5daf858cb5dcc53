/**
 * The real-name steps again (重新验证身份), as unlocking a certificate and downloading one
 * again need them: name and ID number for WeChat's face verification, and an SMS code sent to
 * one of the person's bound phones. Emits `done` with `{ verifyResult, phone, code }`
 * ({@link Reverification}) for the caller's SDK call.
 */

import { faceVerify, problemOf } from '../mcert';

Component({
  properties: {
    title: { type: String, value: '验证身份' },
  },
  data: {
    name: '',
    idNumber: '',
    phone: '',
    code: '',
    busy: false,
    problem: null as unknown,
  },
  methods: {
    onName(event: WechatMiniprogram.Input) {
      this.setData({ name: event.detail.value.trim() });
    },
    onIdNumber(event: WechatMiniprogram.Input) {
      this.setData({ idNumber: event.detail.value.trim().toUpperCase() });
    },
    onSms(event: WechatMiniprogram.CustomEvent<{ phone: string; code: string }>) {
      this.setData({ phone: event.detail.phone, code: event.detail.code });
    },
    async submit() {
      const { name, idNumber, phone, code } = this.data;
      if (this.data.busy || !name || !idNumber || !phone || !code) return;
      this.setData({ busy: true, problem: null });
      try {
        const verifyResult = await faceVerify(name, idNumber);
        this.triggerEvent('done', { verifyResult, phone, code });
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      } finally {
        this.setData({ busy: false });
      }
    },
  },
});
