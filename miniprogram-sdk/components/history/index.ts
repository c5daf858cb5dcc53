/**
 * 签名记录 of the certificate `serial`: everything its key signed (the server takes part in
 * every signature, so it knows) and the wrong PINs it refused, newest first.
 */

import { beijingTime, mcert, problemOf } from '../mcert';

/** What a signature was for, as the holder reads it. */
const PURPOSES: { [purpose: string]: string } = {
  key_enrolment: '下载证书',
  verify_pin: '校验 PIN 码',
  change_pin: '修改 PIN 码',
  login: '扫码登录',
  seal: '电子印章',
  seal_pdf: '电子印章（PDF 签名）',
  grant_change: '事项授权',
  revocation_request: '证书废除',
  renewal_request: '年审延期',
};

Component({
  properties: {
    serial: { type: String, value: '' },
  },
  data: {
    loading: true,
    entries: [] as { seq: number; at: string; what: string; failed: boolean; about: string }[],
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
        const history = await (await mcert()).signatureHistory(this.data.serial);
        this.setData({
          entries: history.map((entry) => ({
            seq: entry.seq,
            at: beijingTime(entry.at),
            what: entry.purpose === null ? '签名' : (PURPOSES[entry.purpose] ?? entry.purpose),
            failed: entry.outcome === 'pin_failed',
            about: [
              entry.portal === null ? '' : `门户 ${entry.portal}`,
              entry.grantee === null ? '' : `子证书 ${entry.grantee}`,
            ]
              .filter((part) => part !== '')
              .join(' · '),
          })),
          problem: null,
        });
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      } finally {
        this.setData({ loading: false });
      }
    },
  },
});
