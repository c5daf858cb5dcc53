//! WeChat for the mini-program (DESIGN.md §10): signing in with a `wx.login` code
//! (`jscode2session`) and reading the result of a face verification (微信人脸核身,
//! `wx.startFacialRecognitionVerify`).
//!
//! The rest of the server codes against [`WeChatLogin`] and [`FaceVerifier`]. [`WeChatApi`] asks
//! WeChat's servers and implements both; [`DevWeChat`] and [`DevFace`] are for development only
//! and say so in their names, their documentation and a warning in the log on every use.
//! [`UnconfiguredWeChat`] stands in when neither is configured, failing every call clearly.
//!
//! # The session key stays with WeChat
//!
//! `jscode2session` answers the user's `openid`, sometimes a `unionid`, and a `session_key`. The
//! session key is what WeChat encrypts and signs this user's mini-program data with
//! (`encryptedData`/`iv`, `signature`): whoever holds it can read that data and forge it, and
//! WeChat's login guide tells developers never to hand it to the mini-program nor expose it.
//! mcert uses none of that data (a phone is proved by an SMS code, a person by face verification
//! and the carrier), so it does not keep the key at all: [`WxIdentity`] has no place for it, the
//! client does not even deserialise it, and an answer that holds it is never quoted in a log.
//!
//! # The server decides
//!
//! The mini-program only passes on the opaque `verifyResult` of its face verification; what it
//! claims about the outcome counts for nothing. The verifier asks WeChat what the result says and
//! accepts it only if WeChat reports a pass, for the very name and ID number being verified, and
//! recently (see [`FaceVerifier::verify`]).
//!
//! # Retries
//!
//! No call is retried, except that a face verification whose access token WeChat calls stale
//! fetches a new token and asks once more (see [`WeChatApi`]). A `wx.login` code is single use,
//! so repeating `jscode2session` after a lost answer could only fail with "code used"; and in
//! every case a person is waiting, who can simply try again.

use std::fmt;
use std::time::Duration;

use crate::failure::{Code, Describe, Description, code};
use md5::{Digest as _, Md5};
use secrecy::SecretString;
use serde::Deserialize;

mod api;
mod dev;

pub use self::api::WeChatApi;
pub use self::dev::{DEV_FACE_OPENID, DevFace, DevWeChat};

/// How old a face verification may be and still count: a result is evidence of who held the
/// phone a moment ago, not a permanent credential.
pub const FACE_RESULT_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// How far in the future WeChat's `identify_time` may lie before the result counts as expired:
/// the two clocks may disagree a little, but not by more.
pub const FACE_CLOCK_SKEW: Duration = Duration::from_secs(60);

/// Who signed in: the WeChat user as this mini-program knows them.
///
/// Deliberately without the `session_key` (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxIdentity {
    /// The user's identifier for this mini-program (`openid`).
    pub openid: String,
    /// The user's identifier across the WeChat Open Platform account the mini-program is bound
    /// to (`unionid`), when WeChat gives one.
    pub unionid: Option<String>,
}

/// What a face verification result says about the person being verified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaceOutcome {
    /// WeChat reports a pass, for this name and ID number, within [`FACE_RESULT_MAX_AGE`].
    ///
    /// The caller must still check that `openid` is the signed-in user's: a result is bound to
    /// the WeChat user who took it, and one user's result must not verify another.
    Passed {
        /// The WeChat user who took the verification.
        openid: String,
    },
    /// WeChat reports that the verification did not pass (the face did not match, the user gave
    /// up, …).
    Failed {
        /// WeChat's result code, for the logs (`identify_ret 10003`).
        reason: String,
    },
    /// The result is of another name or ID number than the one being verified.
    OtherPerson,
    /// The result is older than [`FACE_RESULT_MAX_AGE`] (or dated in the future).
    Expired,
}

impl FaceOutcome {
    /// A short name for logs (`passed`, `failed`, `other_person`, `expired`).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Passed { .. } => "passed",
            Self::Failed { .. } => "failed",
            Self::OtherPerson => "other_person",
            Self::Expired => "expired",
        }
    }
}

/// Signs mini-program users in.
#[async_trait::async_trait]
pub trait WeChatLogin: Send + Sync + fmt::Debug {
    /// Exchanges `code`, what `wx.login` gave the mini-program, for the user's identity.
    ///
    /// A code is valid for five minutes and once only. Called once, never retried (see the
    /// module documentation).
    async fn code_to_session(&self, code: &str) -> Result<WxIdentity, WeChatError>;
}

/// Reads face verification results.
#[async_trait::async_trait]
pub trait FaceVerifier: Send + Sync + fmt::Debug {
    /// What `verify_result`, the `verifyResult` that `wx.startFacialRecognitionVerify` gave the
    /// mini-program, says about the person with `name` and `id_number`.
    ///
    /// [`FaceOutcome::Passed`] only when WeChat reports a pass of exactly this name and ID number
    /// (a lower-case `x` in the ID number counts as `X`) no longer than [`FACE_RESULT_MAX_AGE`]
    /// ago. The caller checks the returned `openid` against the signed-in user.
    async fn verify(
        &self,
        verify_result: &str,
        name: &str,
        id_number: &str,
    ) -> Result<FaceOutcome, WeChatError>;
}

/// Why WeChat gave no answer to act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WeChatError {
    /// The `wx.login` code is not valid (errcode 40029): mistyped, older than five minutes or
    /// issued to another mini-program. Also given, without asking WeChat, for an empty or
    /// overlong code. The mini-program calls `wx.login` again.
    #[error("the wx.login code is invalid: {detail}")]
    CodeInvalid {
        /// WeChat's errcode and errmsg, for the logs.
        detail: String,
    },
    /// The `wx.login` code was exchanged before (errcode 40163): codes are single use.
    #[error("the wx.login code was used before: {detail}")]
    CodeUsed {
        /// WeChat's errcode and errmsg, for the logs.
        detail: String,
    },
    /// Too many calls (errcode 45011, a per-minute limit; 45009, the daily quota).
    #[error("WeChat is rate limiting: {detail}")]
    RateLimited {
        /// WeChat's errcode and errmsg, for the logs.
        detail: String,
    },
    /// WeChat's risk control blocks this user from signing in (errcode 40226, 高风险等级用户，
    /// 小程序登录拦截).
    #[error("WeChat blocks this user as risky: {detail}")]
    RiskyUser {
        /// WeChat's errcode and errmsg, for the logs.
        detail: String,
    },
    /// WeChat does not know the face verification result, or no longer: made up, mangled, or
    /// from another mini-program. Also given, without asking WeChat, for an empty or overlong
    /// result. The person verifies their face again.
    #[error("the face verification result is not valid: {detail}")]
    FaceResultInvalid {
        /// WeChat's errcode and errmsg, for the logs.
        detail: String,
    },
    /// WeChat could not be asked or its answer was not understood: timeout, connection error,
    /// HTTP 5xx, errcode -1 (系统繁忙), a body that is not the expected JSON. Trying again later
    /// may work.
    #[error("WeChat is unavailable: {detail}")]
    Unavailable {
        /// What went wrong, for the logs.
        detail: String,
    },
    /// WeChat refused the request itself: wrong AppID or AppSecret (40013, 40125, or 40001 when
    /// fetching the access token), this server's IP not on the mini-program's whitelist (40164),
    /// no permission for face verification (48001), or any other errcode. Only an administrator
    /// can fix it.
    #[error("WeChat refused the request: {detail}")]
    Refused {
        /// WeChat's errcode and errmsg, for the logs.
        detail: String,
    },
    /// The client is configured wrongly (empty AppID or AppSecret, base URL not an http(s) URL)
    /// or not at all.
    #[error("WeChat is misconfigured: {detail}")]
    Config {
        /// What to fix.
        detail: String,
    },
}

impl WeChatError {
    /// A stable snake_case identifier for the JSON error body; clients may match on it.
    pub fn code(&self) -> Code {
        match self {
            Self::CodeInvalid { .. } => code::WECHAT_CODE_INVALID,
            Self::CodeUsed { .. } => code::WECHAT_CODE_USED,
            Self::RateLimited { .. } => code::WECHAT_RATE_LIMITED,
            Self::RiskyUser { .. } => code::WECHAT_RISKY_USER,
            Self::FaceResultInvalid { .. } => code::WECHAT_FACE_RESULT_INVALID,
            Self::Unavailable { .. } => code::WECHAT_UNAVAILABLE,
            Self::Refused { .. } => code::WECHAT_REFUSED,
            Self::Config { .. } => code::WECHAT_MISCONFIGURED,
        }
    }

    /// A Chinese message telling the person what happened and what to do.
    pub fn message_zh(&self) -> &'static str {
        match self {
            Self::CodeInvalid { .. } => "登录凭证已失效，请重新进入小程序",
            Self::CodeUsed { .. } => "登录凭证已使用，请重新进入小程序",
            Self::RateLimited { .. } => "操作过于频繁，请稍后再试",
            Self::RiskyUser { .. } => {
                "微信判定当前账号存在安全风险，已限制登录小程序；请稍后再试或使用常用的实名微信账号"
            }
            Self::FaceResultInvalid { .. } => "人脸核身结果无效或已过期，请重新进行人脸核身",
            Self::Unavailable { .. } => "微信服务暂时不可用，请稍后重试",
            Self::Refused { .. } | Self::Config { .. } => {
                "微信服务暂时无法使用，请稍后重试；如多次出现，请联系客服"
            }
        }
    }
}

impl Describe for WeChatError {
    fn describe(&self) -> Description {
        Description::new(self.code(), self.message_zh())
    }
}

/// The mini-program whose users sign in and verify their faces.
///
/// The AppSecret travels in the query of `jscode2session` and of the access token request, as
/// WeChat requires; it is never logged, and transport errors are logged without their URL.
#[derive(Clone, Deserialize)]
pub struct WeChatConfig {
    /// The mini-program's AppID (`wx…`).
    pub appid: String,
    /// The mini-program's AppSecret.
    pub secret: SecretString,
    /// Base URL to call instead of `https://api.weixin.qq.com/` (a proxy, tests).
    #[serde(default)]
    pub api_base: Option<String>,
}

impl fmt::Debug for WeChatConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeChatConfig")
            .field("appid", &self.appid)
            .field("secret", &"[redacted]")
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// The provider when WeChat is not configured and development mode is off: every call is a
/// clear configuration error, never a silent pass.
#[derive(Debug, Default)]
pub struct UnconfiguredWeChat;

impl UnconfiguredWeChat {
    fn error() -> WeChatError {
        WeChatError::Config {
            detail: "no WeChat mini-program: configure [wechat] or turn on development mode".into(),
        }
    }
}

#[async_trait::async_trait]
impl WeChatLogin for UnconfiguredWeChat {
    async fn code_to_session(&self, _code: &str) -> Result<WxIdentity, WeChatError> {
        Err(Self::error())
    }
}

#[async_trait::async_trait]
impl FaceVerifier for UnconfiguredWeChat {
    async fn verify(
        &self,
        _verify_result: &str,
        _name: &str,
        _id_number: &str,
    ) -> Result<FaceOutcome, WeChatError> {
        Err(Self::error())
    }
}

/// The name as compared: without surrounding whitespace.
fn claimed_name(name: &str) -> &str {
    name.trim()
}

/// The ID number as compared and as WeChat digests it: trimmed, with the check character `X`
/// in upper case ("身份证号的md5（最后一位X为大写）").
fn claimed_id_number(id_number: &str) -> String {
    id_number.trim().to_ascii_uppercase()
}

/// The MD5 of `text`'s UTF-8 bytes, in lower-case hex.
fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn detail() -> String {
        "errcode 1: x".into()
    }

    #[test]
    fn every_error_has_a_stable_code_and_an_actionable_chinese_message() {
        let cases = [
            (
                WeChatError::CodeInvalid { detail: detail() },
                "wechat_code_invalid",
                "重新进入小程序",
            ),
            (
                WeChatError::CodeUsed { detail: detail() },
                "wechat_code_used",
                "重新进入小程序",
            ),
            (
                WeChatError::RateLimited { detail: detail() },
                "wechat_rate_limited",
                "稍后再试",
            ),
            (
                WeChatError::RiskyUser { detail: detail() },
                "wechat_risky_user",
                "安全风险",
            ),
            (
                WeChatError::FaceResultInvalid { detail: detail() },
                "wechat_face_result_invalid",
                "重新进行人脸核身",
            ),
            (
                WeChatError::Unavailable { detail: detail() },
                "wechat_unavailable",
                "稍后重试",
            ),
            (
                WeChatError::Refused { detail: detail() },
                "wechat_refused",
                "联系客服",
            ),
            (
                WeChatError::Config { detail: detail() },
                "wechat_misconfigured",
                "联系客服",
            ),
        ];
        for (error, code, phrase) in cases {
            assert_eq!(error.code(), code, "{error}");
            let message = error.message_zh();
            assert!(message.contains(phrase) && !message.is_ascii(), "{message}");
        }
        assert_eq!(
            WeChatError::CodeInvalid { detail: detail() }.message_zh(),
            "登录凭证已失效，请重新进入小程序"
        );
    }

    #[test]
    fn errors_name_their_cause_for_the_logs() {
        let text = WeChatError::CodeUsed {
            detail: "errcode 40163: code been used, rid: 1".into(),
        }
        .to_string();
        assert!(text.contains("40163") && text.contains("rid: 1"), "{text}");
    }

    #[test]
    fn md5_is_lower_case_hex_of_the_utf8_bytes() {
        // RFC 1321's test suite.
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
        // The UTF-8 bytes of 张三, E5 BC A0 E4 B8 89, as `printf '张三' | md5sum` digests them.
        assert_eq!(md5_hex("张三"), "615db57aa314529aaa0fbe95b3e95bd3");
    }

    #[test]
    fn claims_are_compared_trimmed_with_an_upper_case_x() {
        assert_eq!(claimed_name(" 张三\n"), "张三");
        assert_eq!(
            claimed_id_number(" 11010519491231002x "),
            "11010519491231002X"
        );
    }

    #[tokio::test]
    async fn unconfigured_wechat_fails_every_call_clearly() {
        let wechat = UnconfiguredWeChat;
        let error = wechat.code_to_session("code").await.unwrap_err();
        assert_eq!(error.code(), "wechat_misconfigured");
        assert!(error.to_string().contains("[wechat]"), "{error}");
        let error = wechat
            .verify("result", "张三", "11010519491231002X")
            .await
            .unwrap_err();
        assert_eq!(error.code(), "wechat_misconfigured");
    }

    #[test]
    fn configuration_deserialises_and_debug_hides_the_secret() {
        let config: WeChatConfig = serde_json::from_value(serde_json::json!({
            "appid": "wx0123456789abcdef",
            "secret": "app-secret-value",
        }))
        .unwrap();
        assert!(config.api_base.is_none());
        let printed = format!("{config:?}");
        assert!(
            !printed.contains("app-secret-value")
                && printed.contains("[redacted]")
                && printed.contains("wx0123456789abcdef"),
            "{printed}"
        );
    }

    #[test]
    fn outcome_kinds_are_stable() {
        let kinds: Vec<_> = [
            FaceOutcome::Passed { openid: "o".into() },
            FaceOutcome::Failed { reason: "r".into() },
            FaceOutcome::OtherPerson,
            FaceOutcome::Expired,
        ]
        .iter()
        .map(FaceOutcome::kind)
        .collect();
        assert_eq!(kinds, ["passed", "failed", "other_person", "expired"]);
    }
}
