/**
 * 已下载证书: the person's certificates as the server lists them, with role, status, validity,
 * whether the certificate is on this phone and which one is the 默认证书. Tapping an active
 * certificate's card makes it the default. Emits `default` with `{ serial }`, `manage` with
 * `{ serial }` (证书管理: the page shows revocation, renewal, history) and `download` (下载新证书).
 */

import type { ServerCertificate } from '../../index';
import { beijingDate, mcert, problemOf } from '../mcert';

interface Card extends ServerCertificate {
  roleLabel: string;
  validUntil: string;
  onPhone: boolean;
}

Component({
  data: {
    loading: true,
    cards: [] as Card[],
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
        const client = await mcert();
        const [listed, local] = await Promise.all([client.serverCertificates(), client.certificates()]);
        const here = local.map((certificate) => certificate.serial);
        const cards: Card[] = listed.map((certificate) => ({
          ...certificate,
          roleLabel: certificate.role === 'primary' ? '主证书' : '子证书',
          validUntil: beijingDate(certificate.notAfter),
          onPhone: here.indexOf(certificate.serial) >= 0,
        }));
        this.setData({ cards, problem: null });
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      } finally {
        this.setData({ loading: false });
      }
    },
    async makeDefault(event: WechatMiniprogram.TouchEvent) {
      const card = this.data.cards[Number(event.currentTarget.dataset.index)];
      if (card === undefined || card.default || card.status !== 'active') return;
      try {
        await (await mcert()).setDefault(card.serial);
        await this.load();
        this.triggerEvent('default', { serial: card.serial });
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      }
    },
    manage(event: WechatMiniprogram.TouchEvent) {
      this.triggerEvent('manage', { serial: String(event.currentTarget.dataset.serial) });
    },
    download() {
      this.triggerEvent('download', {});
    },
  },
});
