/**
 * 扫一扫: scans a portal's QR code (`wx.scanCode`, or the `qr` text a page was opened with) and
 * shows what is asked before anything is signed — the portal's registered name and origin,
 * where and when the request was started, and for a seal (电子印章) the document's title and
 * SM3, the seal's picture and the employer. The person taps the number the computer's page
 * shows among the choices (a wrong one ends the request), then types the PIN; declining is a
 * button as large as the numbers. Emits `confirmed` with `{ purpose, serial }` or `declined`.
 */

import { type Scan, base64Encode, initiatorText } from '../../index';
import { beijingTime, mcert, problemOf } from '../mcert';

/** What the scopes a portal asks for let it know, in words. */
const SCOPE_LABELS: { [scope: string]: string } = {
  openid: '证书身份标识',
  profile: '证书使用人姓名',
  employer: '单位名称和统一社会信用代码',
};

/** The scan shown, per instance (it holds the seal picture's bytes, which `data` need not). */
const scans = new WeakMap<object, Scan>();

function scanCode(): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.scanCode({
      onlyFromCamera: true,
      scanType: ['qrCode'],
      success: (result) => resolve(result.result),
      fail: (error) => reject({ code: 'scan_cancelled', message: `未扫描到二维码（${error.errMsg}）` }),
    });
  });
}

/** SM3 hex in groups of eight, easier to compare by eye. */
function grouped(hex: string): string {
  return (hex.match(/.{1,8}/g) ?? []).join(' ');
}

Component({
  properties: {
    /** QR text to scan at once (a page opened by WeChat's own scanner gets it as `q`). */
    qr: { type: String, value: '' },
  },
  data: {
    /** `idle`, `confirm`, `pin`, `done`, `declined`, `ended`. */
    step: 'idle',
    busy: false,
    purpose: '',
    portalName: '',
    origin: '',
    initiator: '',
    regionWarning: '',
    asks: '',
    expiresAt: '',
    doc: null as { title: string; sm3: string; kind: string; size: string } | null,
    seal: null as { name: string; picture: string; widthMm: number; heightMm: number } | null,
    employer: null as { name: string; uscc: string } | null,
    choices: [] as string[],
    chosen: '',
    certificates: [] as { serial: string; unitName: string; roleLabel: string }[],
    serial: '',
    problem: null as unknown,
  },
  lifetimes: {
    attached() {
      if (this.data.qr !== '') void this.open(this.data.qr);
    },
    detached() {
      scans.delete(this);
    },
  },
  methods: {
    async scan() {
      if (this.data.busy) return;
      try {
        await this.open(await scanCode());
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      }
    },
    async open(text: string) {
      this.setData({ busy: true, problem: null, chosen: '' });
      try {
        const client = await mcert();
        const scan = await client.scanLogin(text);
        const here = (await client.certificates()).map((certificate) => certificate.serial);
        const usable = scan.certificates.filter((c) => here.indexOf(c.serial) >= 0);
        scans.set(this, scan);
        this.setData({
          step: 'confirm',
          purpose: scan.purpose,
          portalName: scan.portal.name,
          origin: scan.portal.origin,
          initiator: initiatorText(scan.initiator),
          regionWarning: scan.regionWarning ?? '',
          asks: scan.scopes.map((scope) => SCOPE_LABELS[scope] ?? scope).join('、'),
          expiresAt: beijingTime(scan.expiresAt).slice(11),
          choices: scan.matchChoices,
          certificates: usable.map((c) => ({
            serial: c.serial,
            unitName: c.unitName,
            roleLabel: c.role === 'primary' ? '主证书' : '子证书',
          })),
          serial: usable.length > 0 ? usable[0].serial : '',
          doc: null,
          seal: null,
          employer: null,
        });
        if (scan.purpose === 'seal') {
          const size = scan.document.size;
          this.setData({
            doc: {
              title: scan.document.title,
              sm3: grouped(scan.document.sm3),
              kind: scan.document.kind === 'pdf' ? 'PDF 文件' : '文件摘要',
              size: size === null ? '' : `${(size / 1024).toFixed(1)} KB`,
            },
            seal: {
              name: scan.seal.name,
              picture: `data:image/png;base64,${base64Encode(scan.seal.picturePng)}`,
              widthMm: scan.seal.widthMm,
              heightMm: scan.seal.heightMm,
            },
            employer: { name: scan.employer.name, uscc: scan.employer.uscc },
          });
        }
        if (usable.length === 0) {
          this.setData({
            problem: {
              code: 'no_certificate_here',
              title: '',
              message: '本机没有可用于此次操作的证书，请先在“手机CA证书下载”中下载证书',
              steps: [],
            },
          });
        }
      } catch (error) {
        this.setData({ step: 'ended', problem: problemOf(error) });
      } finally {
        this.setData({ busy: false });
      }
    },
    chooseCertificate(event: WechatMiniprogram.TouchEvent) {
      this.setData({ serial: String(event.currentTarget.dataset.serial) });
    },
    tapNumber(event: WechatMiniprogram.TouchEvent) {
      if (this.data.busy || this.data.serial === '') return;
      this.setData({ chosen: String(event.currentTarget.dataset.code), step: 'pin', problem: null });
    },
    async onPin(event: WechatMiniprogram.CustomEvent<{ pin: string }>) {
      const scan = scans.get(this);
      if (scan === undefined) return;
      const pad = this.selectComponent('#pin');
      const { serial, chosen } = this.data;
      try {
        const client = await mcert();
        if (scan.purpose === 'seal') await client.confirmSeal(scan, serial, event.detail.pin, chosen);
        else await client.confirmLogin(scan, serial, chosen, event.detail.pin);
        pad.done();
        scans.delete(this);
        this.setData({ step: 'done' });
        this.triggerEvent('confirmed', { purpose: scan.purpose, serial });
      } catch (error) {
        const problem = problemOf(error);
        if (problem.code === 'pin_incorrect' || problem.code === 'key_locked') {
          pad.fail(error);
        } else {
          scans.delete(this);
          this.setData({ step: 'ended', problem });
        }
      }
    },
    async decline() {
      const scan = scans.get(this);
      if (scan === undefined || this.data.busy) return;
      this.setData({ busy: true, problem: null });
      try {
        await (await mcert()).denyLogin(scan);
        scans.delete(this);
        this.setData({ step: 'declined' });
        this.triggerEvent('declined', { purpose: scan.purpose });
      } catch (error) {
        this.setData({ step: 'ended', problem: problemOf(error) });
      } finally {
        this.setData({ busy: false });
      }
    },
    again() {
      this.setData({ step: 'idle', problem: null });
    },
  },
});
