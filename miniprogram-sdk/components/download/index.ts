/**
 * 手机CA证书下载 / 下载新证书: binds the certificate holder's phone with an SMS code, lists the
 * employers whose approved application names the person (client.employers), and downloads the
 * chosen one's certificate under a new PIN. A person who holds an active certificate of that
 * employer already is asked for the real-name steps again first. Emits `downloaded` with
 * `{ serial, unitName }`.
 */

import type { Employer, Reverification } from '../../index';
import { mcert, problemOf } from '../mcert';

/** The real-name steps of a download that needed them, per instance, until the PIN is typed. */
const reverifications = new WeakMap<object, Reverification>();

Component({
  data: {
    /** `phone`, `employers`, `pin`, `reverify`, `done`. */
    step: 'phone',
    phone: '',
    code: '',
    busy: false,
    employers: [] as Employer[],
    chosen: null as Employer | null,
    serial: '',
    problem: null as unknown,
  },
  lifetimes: {
    detached() {
      reverifications.delete(this);
    },
  },
  methods: {
    onSms(event: WechatMiniprogram.CustomEvent<{ phone: string; code: string }>) {
      this.setData({ phone: event.detail.phone, code: event.detail.code });
    },
    async bind() {
      const { phone, code } = this.data;
      if (this.data.busy || !phone || !code) return;
      this.setData({ busy: true, problem: null });
      try {
        await (await mcert()).bindPhone(phone, code);
        await this.loadEmployers();
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      } finally {
        this.setData({ busy: false });
      }
    },
    /** The employer list, for a person whose phone is bound already. */
    async showEmployers() {
      if (this.data.busy) return;
      this.setData({ busy: true, problem: null });
      try {
        await this.loadEmployers();
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      } finally {
        this.setData({ busy: false });
      }
    },
    async loadEmployers() {
      const employers = await (await mcert()).employers();
      this.setData({ step: 'employers', employers });
    },
    choose(event: WechatMiniprogram.TouchEvent) {
      const employer = this.data.employers[Number(event.currentTarget.dataset.index)];
      if (employer === undefined || !employer.ready || this.data.busy) return;
      this.setData({ chosen: employer, step: 'pin', problem: null });
    },
    async onPin(event: WechatMiniprogram.CustomEvent<{ pin: string }>) {
      const chosen = this.data.chosen;
      if (chosen === null) return;
      const pad = this.selectComponent('#pin');
      this.setData({ problem: null });
      try {
        const certificate = await (await mcert()).download(
          chosen.applicationId,
          event.detail.pin,
          reverifications.get(this),
        );
        reverifications.delete(this);
        pad.done();
        this.setData({ step: 'done', serial: certificate.serial });
        this.triggerEvent('downloaded', { serial: certificate.serial, unitName: chosen.unitName });
      } catch (error) {
        const problem = problemOf(error);
        reverifications.delete(this);
        if (problem.code === 'download_reverification_required') {
          this.setData({ step: 'reverify', problem });
        } else {
          pad.fail(error);
        }
      }
    },
    onReverified(event: WechatMiniprogram.CustomEvent<Reverification>) {
      reverifications.set(this, event.detail);
      this.setData({ step: 'pin', problem: null });
    },
    back() {
      this.setData({ step: 'employers', chosen: null, problem: null });
    },
  },
});
