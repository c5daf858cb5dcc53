//! DEVELOPMENT ONLY: WeChat sign-in and face verification that ask nobody.
//!
//! [`DevWeChat`] signs in whoever sends `dev:<openid>`; [`DevFace`] passes whatever
//! `dev-pass:…` result the client sends. They exist so that the mini-program flow can be run and
//! tested without a WeChat mini-program account, are switched on only by configuration, and log
//! a warning on every use. Never configure them in production: anybody could be anybody.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{
    FaceOutcome, FaceVerifier, WeChatError, WeChatLogin, WxIdentity, claimed_id_number,
    claimed_name,
};

/// The prefix of a development sign-in code: `dev:<openid>`.
const DEV_CODE_PREFIX: &str = "dev:";
/// How many used codes [`DevWeChat`] remembers; the oldest are forgotten first.
const USED_CODES_KEPT: usize = 1000;
/// The longest openid a development code may name (real ones have 28 characters).
const MAX_OPENID_LEN: usize = 64;

/// The openid of a development face result that names none (`dev-pass:<name>:<id_number>`).
pub const DEV_FACE_OPENID: &str = "dev-face";

/// DEVELOPMENT ONLY: signs in anybody, asking WeChat nothing.
///
/// The code `dev:<openid>` signs in the user `<openid>` (1–64 ASCII letters, digits, `-` or
/// `_`), without a unionid; any other code is [`WeChatError::CodeInvalid`]. As with WeChat, a
/// code works once: the same code again is [`WeChatError::CodeUsed`] (the last 1000 codes are
/// remembered). To sign the same user in again, as a fresh `wx.login` would, add anything of
/// the same characters after a colon: `dev:alice:2` signs in `alice` too.
pub struct DevWeChat {
    used: Mutex<UsedCodes>,
}

/// The codes used so far, oldest first, and the same as a set.
#[derive(Default)]
struct UsedCodes {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl UsedCodes {
    /// Records `code`; false if it was used before.
    fn insert(&mut self, code: &str) -> bool {
        if !self.set.insert(code.to_owned()) {
            return false;
        }
        self.order.push_back(code.to_owned());
        if self.order.len() > USED_CODES_KEPT
            && let Some(oldest) = self.order.pop_front()
        {
            self.set.remove(&oldest);
        }
        true
    }
}

impl DevWeChat {
    /// A development sign-in that has seen no code yet.
    pub fn new() -> Self {
        Self {
            used: Mutex::new(UsedCodes::default()),
        }
    }

    /// The used codes, even after a thread panicked while holding them: a set of strings cannot
    /// be left half-changed by the operations above.
    fn used(&self) -> MutexGuard<'_, UsedCodes> {
        self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for DevWeChat {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for DevWeChat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevWeChat")
            .field("used_codes", &self.used().order.len())
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl WeChatLogin for DevWeChat {
    async fn code_to_session(&self, code: &str) -> Result<WxIdentity, WeChatError> {
        tracing::warn!("development WeChat sign-in: the code is not checked with WeChat");
        let openid = code
            .strip_prefix(DEV_CODE_PREFIX)
            .and_then(|rest| match rest.split_once(':') {
                None => Some(rest),
                Some((openid, nonce)) => is_dev_openid(nonce).then_some(openid),
            })
            .filter(|openid| is_dev_openid(openid))
            .ok_or_else(|| WeChatError::CodeInvalid {
                detail: "development sign-in takes only codes of the form dev:<openid>[:<nonce>]"
                    .into(),
            })?;
        if !self.used().insert(code) {
            return Err(WeChatError::CodeUsed {
                detail: "development sign-in: this code was used before".into(),
            });
        }
        Ok(WxIdentity {
            openid: openid.to_owned(),
            unionid: None,
        })
    }
}

/// 1–64 ASCII letters, digits, `-` or `_`.
fn is_dev_openid(openid: &str) -> bool {
    (1..=MAX_OPENID_LEN).contains(&openid.len())
        && openid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// DEVELOPMENT ONLY: reads made-up face verification results, asking WeChat nothing.
///
/// - `dev-pass:<name>:<id_number>:<openid>` passes for the WeChat user `<openid>` when the name
///   and ID number are the ones being verified (compared as the real verifier compares them:
///   trimmed, `x` as `X`), and is [`FaceOutcome::OtherPerson`] otherwise. Without `:<openid>`
///   the result names the user [`DEV_FACE_OPENID`], which the caller's check of the openid
///   refuses unless that user signed in with `dev:dev-face`.
/// - `dev-fail` is [`FaceOutcome::Failed`]; `dev-expired` is [`FaceOutcome::Expired`].
/// - Anything else is [`WeChatError::FaceResultInvalid`].
#[derive(Debug, Default)]
pub struct DevFace;

/// The prefix of a development result that passes.
const DEV_PASS_PREFIX: &str = "dev-pass:";

#[async_trait::async_trait]
impl FaceVerifier for DevFace {
    async fn verify(
        &self,
        verify_result: &str,
        name: &str,
        id_number: &str,
    ) -> Result<FaceOutcome, WeChatError> {
        tracing::warn!("development face verification: the result is not checked with WeChat");
        match verify_result {
            "dev-fail" => {
                return Ok(FaceOutcome::Failed {
                    reason: "development result dev-fail".into(),
                });
            }
            "dev-expired" => return Ok(FaceOutcome::Expired),
            _ => {}
        }
        let claims: Vec<&str> = verify_result
            .strip_prefix(DEV_PASS_PREFIX)
            .map(|rest| rest.split(':').collect())
            .unwrap_or_default();
        let (result_name, result_id_number, openid) = match claims.as_slice() {
            [name, id_number] => (*name, *id_number, DEV_FACE_OPENID),
            [name, id_number, openid] if is_dev_openid(openid) => (*name, *id_number, *openid),
            _ => {
                return Err(WeChatError::FaceResultInvalid {
                    detail: "development face verification takes only dev-pass:<name>:<id_number>[:<openid>], dev-fail or dev-expired".into(),
                });
            }
        };
        if claimed_name(result_name) == claimed_name(name)
            && claimed_id_number(result_id_number) == claimed_id_number(id_number)
        {
            Ok(FaceOutcome::Passed {
                openid: openid.to_owned(),
            })
        } else {
            Ok(FaceOutcome::OtherPerson)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const NAME: &str = "张三";
    const ID_NUMBER: &str = "11010519491231002X";

    #[tokio::test]
    async fn dev_codes_sign_in_the_named_user_once() {
        let wechat = DevWeChat::new();
        assert_eq!(
            wechat.code_to_session("dev:alice").await.unwrap(),
            WxIdentity {
                openid: "alice".into(),
                unionid: None,
            }
        );
        let again = wechat.code_to_session("dev:alice").await.unwrap_err();
        assert_eq!(again.code(), "wechat_code_used");
        assert_eq!(
            wechat.code_to_session("dev:alice:2").await.unwrap().openid,
            "alice",
            "a fresh code for the same user"
        );
        assert_eq!(
            wechat.code_to_session("dev:bob_2-x").await.unwrap().openid,
            "bob_2-x"
        );
        assert_eq!(format!("{wechat:?}"), "DevWeChat { used_codes: 3, .. }");
    }

    #[tokio::test]
    async fn other_codes_are_invalid_and_not_remembered() {
        let wechat = DevWeChat::default();
        let too_long = format!("dev:{}", "a".repeat(MAX_OPENID_LEN + 1));
        for code in [
            "",
            "dev:",
            "alice",
            "DEV:alice",
            "dev:al ice",
            "dev:alice:",
            "dev::2",
            "dev:alice:2:3",
            "dev:张三",
            too_long.as_str(),
        ] {
            let error = wechat.code_to_session(code).await.unwrap_err();
            assert_eq!(error.code(), "wechat_code_invalid", "{code:?}");
        }
        assert!(wechat.used().order.is_empty());
    }

    #[test]
    fn only_the_latest_codes_are_remembered() {
        let mut used = UsedCodes::default();
        for i in 0..USED_CODES_KEPT + 5 {
            assert!(used.insert(&format!("dev:u{i}")));
        }
        assert_eq!(used.order.len(), USED_CODES_KEPT);
        assert_eq!(used.set.len(), USED_CODES_KEPT);
        // The oldest were forgotten; the newest are refused.
        assert!(used.insert("dev:u0"));
        assert!(!used.insert(&format!("dev:u{}", USED_CODES_KEPT + 4)));
    }

    #[tokio::test]
    async fn a_dev_pass_for_the_claimed_person_passes() {
        let face = DevFace;
        let with_openid = format!("dev-pass:{NAME}:{ID_NUMBER}:alice");
        assert_eq!(
            face.verify(&with_openid, NAME, ID_NUMBER).await.unwrap(),
            FaceOutcome::Passed {
                openid: "alice".into()
            }
        );
        let without = format!("dev-pass:{NAME}:11010519491231002x");
        assert_eq!(
            face.verify(&without, " 张三 ", ID_NUMBER).await.unwrap(),
            FaceOutcome::Passed {
                openid: DEV_FACE_OPENID.into()
            }
        );
    }

    #[tokio::test]
    async fn a_dev_pass_for_someone_else_is_another_person() {
        let face = DevFace;
        for result in [
            format!("dev-pass:李四:{ID_NUMBER}:alice"),
            format!("dev-pass:{NAME}:110105194912310029:alice"),
        ] {
            assert_eq!(
                face.verify(&result, NAME, ID_NUMBER).await.unwrap(),
                FaceOutcome::OtherPerson,
                "{result}"
            );
        }
    }

    #[tokio::test]
    async fn dev_fail_and_dev_expired_say_so_and_anything_else_is_invalid() {
        let face = DevFace;
        assert!(matches!(
            face.verify("dev-fail", NAME, ID_NUMBER).await.unwrap(),
            FaceOutcome::Failed { .. }
        ));
        assert_eq!(
            face.verify("dev-expired", NAME, ID_NUMBER).await.unwrap(),
            FaceOutcome::Expired
        );
        for result in [
            "",
            "pass",
            "dev-pass:",
            "dev-pass:张三",
            "dev-pass:张三:11010519491231002X:alice:extra",
            "dev-pass:张三:11010519491231002X:not an openid",
        ] {
            let error = face.verify(result, NAME, ID_NUMBER).await.unwrap_err();
            assert_eq!(error.code(), "wechat_face_result_invalid", "{result:?}");
        }
    }
}
