/**
 * 证书废除 of the certificate `serial`: the cause chosen from the list, then the PIN
 * (client.revokeCertificate). Effective at once. Emits `revoked` with `{ serial, cause }`.
 */

import type { RevocationCause } from '../../index';
import { beijingTime, mcert, problemOf } from '../mcert';

/** The causes the server takes, in its order, as its forms name them. */
const CAUSES: { value: RevocationCause; label: string }[] = [
  { value: 'holder_changed', label: '证书使用人变更' },
  { value: 'phone_changed', label: '证书使用人手机号变更' },
  { value: 'employer_renamed', label: '单位名称变更' },
  { value: 'no_longer_needed', label: '不再使用' },
  { value: 'key_compromise', label: '手机丢失或密钥泄露' },
];

Component({
  properties: {
    serial: { type: String, value: '' },
  },
  data: {
    /** `form`, `pin`, `done`. */
    step: 'form',
    causes: CAUSES,
    cause: '',
    causeZh: '',
    revokedAt: '',
    problem: null as unknown,
  },
  methods: {
    choose(event: WechatMiniprogram.TouchEvent) {
      this.setData({ cause: String(event.currentTarget.dataset.cause), problem: null });
    },
    proceed() {
      if (this.data.cause !== '') this.setData({ step: 'pin' });
    },
    back() {
      this.setData({ step: 'form' });
    },
    async onPin(event: WechatMiniprogram.CustomEvent<{ pin: string }>) {
      const pad = this.selectComponent('#pin');
      const cause = this.data.cause as RevocationCause;
      try {
        const client = await mcert();
        const revocation = await client.revokeCertificate(this.data.serial, cause, event.detail.pin);
        pad.done();
        this.setData({
          step: 'done',
          causeZh: revocation.causeZh,
          revokedAt: beijingTime(revocation.revokedAt),
        });
        this.triggerEvent('revoked', { serial: revocation.serial, cause });
      } catch (error) {
        const problem = problemOf(error);
        if (problem.code === 'pin_incorrect' || problem.code === 'key_locked') pad.fail(error);
        else this.setData({ step: 'form', problem });
      }
    },
  },
});
