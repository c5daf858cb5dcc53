/**
 * What the mcert components share: the {@link McertClient} they call, given once by the
 * mini-program with {@link setClient}, the WeChat calls they make (wx.login, face verification)
 * as promises, and how a failed call is shown to the person ({@link problemOf}).
 */

import { type McertClient, McertError } from '../index';

declare global {
  namespace WechatMiniprogram {
    interface Wx {
      /**
       * 人脸核身 (face verification). Not in the public typings: WeChat grants it to
       * mini-programs of government and finance categories.
       */
      startFacialRecognitionVerify(options: {
        name: string;
        idCardNumber: string;
        success?: (result: { errCode?: number; verifyResult: string }) => void;
        fail?: (error: { errCode?: number; errMsg: string }) => void;
      }): void;
    }
  }
}

let current: Promise<McertClient> | null = null;

/**
 * Gives the components the client they call. Call it once in `app.js`, before a page with an
 * mcert component shows; a promise is fine (the signer module loads asynchronously).
 */
export function setClient(client: McertClient | Promise<McertClient>): void {
  current = Promise.resolve(client);
}

/** The client given with {@link setClient}. */
export function mcert(): Promise<McertClient> {
  if (current === null) {
    return Promise.reject(
      new McertError('client_missing', '证书服务尚未初始化（小程序未调用 setClient），请重新进入小程序'),
    );
  }
  return current;
}

/** A `wx.login` code. */
export function wxLoginCode(): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (result) => resolve(result.code),
      fail: (error) =>
        reject(new McertError('wechat_login_failed', `微信登录失败，请重试（${error.errMsg}）`)),
    });
  });
}

/** The `verifyResult` of WeChat's face verification of `name` and `idNumber`. */
export function faceVerify(name: string, idNumber: string): Promise<string> {
  return new Promise((resolve, reject) => {
    wx.startFacialRecognitionVerify({
      name,
      idCardNumber: idNumber,
      success: (result) => resolve(result.verifyResult),
      fail: (error) =>
        reject(new McertError('face_not_completed', `刷脸认证未完成，请重试（${error.errMsg}）`)),
    });
  });
}

/** A failed call as a component shows it: an optional headline, the message, what to do. */
export interface Problem {
  code: string;
  title: string;
  message: string;
  steps: string[];
  /** For `pin_incorrect`: the tries left before the key locks. */
  remainingAttempts: number | null;
}

const NO_BINDING_INFO = {
  title: '未获取到绑定信息',
  steps: [
    '申请手机号和经办人不一致：请将人、号不一致的手机证书申请废除，废除成功后再用手机号和经办人一致的信息重新申请。',
    '后台数据没推送成功：申请时手机号和经办人一致但仍有此提示，请联系云南CA公司进行数据推送，推送成功即可下载证书。',
  ],
};

/** Headlines and the steps of the manual's 常见问题解答 (seed 000, 六) for the codes it covers. */
const GUIDANCE: { [code: string]: { title: string; steps: string[] } } = {
  no_binding_info: NO_BINDING_INFO,
  application_not_synced: NO_BINDING_INFO,
  phone_not_owned: NO_BINDING_INFO,
  phone_bound: {
    title: '手机号已被绑定',
    steps: [
      '申请手机号和经办人不一致：请将人、号不一致的手机证书申请废除，废除成功后再用手机号和经办人一致的信息重新申请。',
      '手机号已被其他人绑定：请前经办人用其手机微信进入就业彩云南小程序——个人用户登录——我的——账号管理——手机号解绑。',
    ],
  },
  person_not_verified: {
    title: '未查询到人员信息',
    steps: ['请先实名认证：填写证书使用人姓名、身份证号，再刷脸认证。'],
  },
  key_locked: {
    title: '证书已锁定',
    steps: ['PIN 码连续输错 6 次，证书已锁定。解锁需重新刷脸认证，并输入发送到您绑定手机的短信验证码。'],
  },
};

/** How `error` (from the SDK, WeChat or the module) is shown. */
export function problemOf(error: unknown): Problem {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    message?: unknown;
    userMessage?: unknown;
    remainingAttempts?: unknown;
  };
  // The module's SignerError has a numeric code and its Chinese text in userMessage.
  const code = fields.code === undefined ? 'unknown' : String(fields.code);
  let message =
    typeof fields.userMessage === 'string'
      ? fields.userMessage
      : typeof fields.message === 'string' && /[\u4e00-\u9fff]/.test(fields.message)
        ? fields.message
        : '操作未能完成，请稍后重试';
  const guidance = GUIDANCE[code];
  const title = guidance === undefined ? '' : guidance.title;
  // The server's messages start with the headline the component shows above them.
  if (title !== '' && message.indexOf(`${title}：`) === 0) message = message.slice(title.length + 1);
  return {
    code,
    title,
    message,
    steps: guidance === undefined ? [] : guidance.steps,
    remainingAttempts: typeof fields.remainingAttempts === 'number' ? fields.remainingAttempts : null,
  };
}

/** `2025-06-19 14:50` in Beijing time (UTC+8, no daylight saving), from RFC 3339. */
export function beijingTime(rfc3339: string): string {
  const millis = Date.parse(rfc3339);
  if (Number.isNaN(millis)) return rfc3339;
  return new Date(millis + 8 * 3600 * 1000).toISOString().slice(0, 16).replace('T', ' ');
}

/** `2025-06-19` in Beijing time, from RFC 3339. */
export function beijingDate(rfc3339: string): string {
  return beijingTime(rfc3339).slice(0, 10);
}
