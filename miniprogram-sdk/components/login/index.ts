/**
 * 单位用户登录 and 实名认证: signs in with `wx.login`; a person not verified yet is told
 * 未查询到人员信息，请先实名认证 and verifies with name, ID number and WeChat's face
 * verification. Emits `login` with `{ person }` once signed in and verified.
 */

import type { Person } from '../../index';
import { faceVerify, mcert, problemOf, wxLoginCode } from '../mcert';

Component({
  data: {
    /** `start`, `unverified` (未查询到人员信息), `real-name` (the form), `done`. */
    step: 'start',
    busy: false,
    name: '',
    idNumber: '',
    person: null as Person | null,
    problem: null as unknown,
  },
  methods: {
    async login() {
      if (this.data.busy) return;
      this.setData({ busy: true, problem: null });
      try {
        const client = await mcert();
        const session = await client.login(await wxLoginCode());
        if (session.verified) {
          this.signedIn(await client.me());
        } else {
          this.setData({ step: 'unverified' });
        }
      } catch (error) {
        const problem = problemOf(error);
        if (problem.code === 'person_not_verified') this.setData({ step: 'unverified' });
        else this.setData({ problem });
      } finally {
        this.setData({ busy: false });
      }
    },
    startRealName() {
      this.setData({ step: 'real-name', problem: null });
    },
    onName(event: WechatMiniprogram.Input) {
      this.setData({ name: event.detail.value.trim() });
    },
    onIdNumber(event: WechatMiniprogram.Input) {
      this.setData({ idNumber: event.detail.value.trim().toUpperCase() });
    },
    async verify() {
      const { name, idNumber } = this.data;
      if (this.data.busy || name === '' || idNumber === '') return;
      this.setData({ busy: true, problem: null });
      try {
        const verifyResult = await faceVerify(name, idNumber);
        this.signedIn(await (await mcert()).verifyRealName({ name, idNumber, verifyResult }));
      } catch (error) {
        this.setData({ problem: problemOf(error) });
      } finally {
        this.setData({ busy: false });
      }
    },
    signedIn(person: Person) {
      this.setData({ step: 'done', person });
      this.triggerEvent('login', { person });
    },
  },
});
