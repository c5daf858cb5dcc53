/**
 * 权限授权 for the primary certificate `serial`: the employer's sub-certificates (序号, 介质类型,
 * 证书类型名称, 绑定时间, 绑定人身份证号) and, per sub-certificate and portal, the business items
 * as toggles (事项授权); items locked for the sub's media type stay on with their note. 保存授权
 * asks for the primary's PIN and saves the sub's whole set, signed (client.changeGrants). Emits
 * `saved` with `{ grantee, clientId, items }`.
 */

import type { GrantOverview, ItemGrantInput, PortalGrant } from '../../index';
import { beijingTime, mcert, problemOf } from '../mcert';

/** A row of the sub-certificate table. */
interface SubRow {
  index: number;
  serial: string;
  mediaTypeZh: string;
  certificateTypeZh: string;
  boundAt: string;
  holderIdMasked: string;
  holderName: string;
}

interface ItemRow {
  code: string;
  name: string;
  group: string;
  checked: boolean;
  locked: boolean;
  /** `2025-07-01 至 2025-12-31` for a grant with a window, else ''. */
  window: string;
  hidden: boolean;
}

/** The screen as loaded, per instance. */
const overviews = new WeakMap<object, GrantOverview>();

function windowText(saved: PortalGrant['grants'][number] | undefined): string {
  if (saved === undefined || (saved.startsAt === null && saved.endsAt === null)) return '';
  const from = saved.startsAt === null ? '' : beijingTime(saved.startsAt).slice(0, 10);
  const to = saved.endsAt === null ? '长期' : beijingTime(saved.endsAt).slice(0, 10);
  return `${from} 至 ${to}`;
}

Component({
  properties: {
    /** The primary certificate's serial. */
    serial: { type: String, value: '' },
  },
  data: {
    /** `list`, `items`, `pin`, `saved`. */
    step: 'list',
    loading: true,
    employerName: '',
    subs: [] as SubRow[],
    portals: [] as { clientId: string; name: string }[],
    subIndex: 0,
    portalIndex: 0,
    items: [] as ItemRow[],
    lockedNotes: '',
    keyword: '',
    savedNames: '',
    problem: null as unknown,
  },
  lifetimes: {
    attached() {
      void this.load();
    },
    detached() {
      overviews.delete(this);
    },
  },
  methods: {
    async load() {
      this.setData({ loading: true });
      try {
        const overview = await (await mcert()).grants(this.data.serial);
        overviews.set(this, overview);
        this.setData({
          employerName: overview.employerName,
          subs: overview.subCertificates.map((sub) => ({
            index: sub.index,
            serial: sub.serial,
            mediaTypeZh: sub.mediaTypeZh,
            certificateTypeZh: sub.certificateTypeZh,
            boundAt: beijingTime(sub.boundAt),
            holderIdMasked: sub.holderIdMasked,
            holderName: sub.holderName,
          })),
          portals: overview.portals.map((portal) => ({ clientId: portal.clientId, name: portal.name })),
        });
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      } finally {
        this.setData({ loading: false });
      }
    },
    openSub(event: WechatMiniprogram.TouchEvent) {
      this.setData({
        subIndex: Number(event.currentTarget.dataset.index),
        portalIndex: 0,
        keyword: '',
        problem: null,
      });
      this.showItems();
    },
    choosePortal(event: WechatMiniprogram.TouchEvent) {
      this.setData({ portalIndex: Number(event.currentTarget.dataset.index) });
      this.showItems();
    },
    /** The chosen sub-certificate's items at the chosen portal, as saved. */
    showItems() {
      const overview = overviews.get(this);
      if (overview === undefined) return;
      const sub = overview.subCertificates[this.data.subIndex];
      const portal = overview.portals[this.data.portalIndex];
      if (sub === undefined || portal === undefined) return;
      const grant = sub.grants.find((g) => g.clientId === portal.clientId);
      const keyword = this.data.keyword;
      const items = portal.items.map((item) => {
        const saved = grant?.grants.find((g) => g.code === item.code);
        const locked = item.lockedFor === sub.mediaType;
        return {
          code: item.code,
          name: item.name,
          group: item.group ?? '',
          checked: locked || saved !== undefined || (grant?.items.indexOf(item.code) ?? -1) >= 0,
          locked,
          window: windowText(saved),
          hidden: keyword !== '' && item.name.indexOf(keyword) < 0,
        };
      });
      const notes = portal.items
        .filter((item) => item.lockedFor === sub.mediaType && item.lockedNote !== null)
        .map((item) => item.lockedNote);
      this.setData({ step: 'items', items, lockedNotes: notes.join('；') });
    },
    toggle(event: WechatMiniprogram.TouchEvent) {
      const index = Number(event.currentTarget.dataset.index);
      const item = this.data.items[index];
      if (item === undefined || item.locked) return;
      this.setData({ [`items[${index}].checked`]: !item.checked });
    },
    onSearch(event: WechatMiniprogram.Input) {
      const keyword = event.detail.value.trim();
      this.setData({
        keyword,
        items: this.data.items.map((item) => ({
          ...item,
          hidden: keyword !== '' && item.name.indexOf(keyword) < 0,
        })),
      });
    },
    save() {
      this.setData({ step: 'pin', problem: null });
    },
    back() {
      this.setData({ step: 'list', problem: null });
    },
    async onPin(event: WechatMiniprogram.CustomEvent<{ pin: string }>) {
      const overview = overviews.get(this);
      const pad = this.selectComponent('#pin');
      if (overview === undefined) return;
      const sub = overview.subCertificates[this.data.subIndex];
      const portal = overview.portals[this.data.portalIndex];
      const grant = sub.grants.find((g) => g.clientId === portal.clientId);
      const checked = this.data.items.filter((item) => item.checked);
      // Items granted with a window keep it; the others are granted from now on without end.
      const items: ItemGrantInput[] = checked.map((item) => {
        const saved = grant?.grants.find((g) => g.code === item.code);
        const input: ItemGrantInput = { code: item.code };
        if (saved?.startsAt) input.startsAt = new Date(saved.startsAt);
        if (saved?.endsAt) input.endsAt = new Date(saved.endsAt);
        return input;
      });
      try {
        const saved = await (await mcert()).changeGrants(
          this.data.serial,
          { grantee: sub.serial, clientId: portal.clientId, grantId: grant?.grantId ?? '', items },
          event.detail.pin,
        );
        pad.done();
        this.setData({ step: 'saved', savedNames: checked.map((item) => item.name).join('、') || '无' });
        this.triggerEvent('saved', {
          grantee: saved.grantee,
          clientId: saved.clientId,
          items: saved.items,
        });
        await this.load();
      } catch (error) {
        const problem = problemOf(error);
        if (problem.code === 'pin_incorrect' || problem.code === 'key_locked') {
          pad.fail(error);
          return;
        }
        this.setData({ problem });
        // Someone changed the set meanwhile: show it as it is now.
        if (problem.code === 'grant_stale') {
          await this.load();
          this.showItems();
        } else {
          this.setData({ step: 'items' });
        }
      }
    },
  },
});
