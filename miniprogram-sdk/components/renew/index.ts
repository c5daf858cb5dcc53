/**
 * 年审延期 of the certificate `serial`: another year, signed with the PIN
 * (client.renewCertificate), from 30 days before it expires and only while employer and holder
 * details are unchanged (the server says which is not met). Emits `renewed` with
 * `{ serial, previousSerial }`.
 */

import { beijingDate, mcert, problemOf } from '../mcert';

Component({
  properties: {
    serial: { type: String, value: '' },
  },
  data: {
    /** `intro`, `pin`, `done`. */
    step: 'intro',
    newSerial: '',
    validUntil: '',
    fee: '',
    problem: null as unknown,
  },
  methods: {
    proceed() {
      this.setData({ step: 'pin', problem: null });
    },
    back() {
      this.setData({ step: 'intro' });
    },
    async onPin(event: WechatMiniprogram.CustomEvent<{ pin: string }>) {
      const pad = this.selectComponent('#pin');
      try {
        const renewal = await (await mcert()).renewCertificate(this.data.serial, event.detail.pin);
        pad.done();
        this.setData({
          step: 'done',
          newSerial: renewal.serial,
          validUntil: beijingDate(renewal.notAfter),
          fee: renewal.feeYuan === null ? '免费' : `${renewal.feeYuan} 元，请按通知缴纳`,
        });
        this.triggerEvent('renewed', { serial: renewal.serial, previousSerial: renewal.previousSerial });
      } catch (error) {
        const problem = problemOf(error);
        if (problem.code === 'pin_incorrect' || problem.code === 'key_locked') pad.fail(error);
        else this.setData({ step: 'intro', problem });
      }
    },
  },
});
