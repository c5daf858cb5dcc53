//! WeChat's server API for mini-programs (`https://api.weixin.qq.com/`).
//!
//! # Sign-in: `auth.code2Session`
//!
//! `GET sns/jscode2session?appid=APPID&secret=SECRET&js_code=CODE&grant_type=authorization_code`.
//! A success is `{"openid": "…", "session_key": "…", "unionid": "…"}` (`unionid` only when the
//! mini-program is bound to an Open Platform account; an `"errcode": 0` may or may not be
//! present). A failure is `{"errcode": N, "errmsg": "…, rid: …"}`, with HTTP 200 either way.
//! The documented errcodes are -1 (系统繁忙), 40029 (code 无效), 45011 (频率限制, 100 per user per
//! minute) and 40226 (高风险等级用户, 小程序登录拦截); 40163 (`code been used`) is not in the
//! table but is what WeChat answers to a second exchange of a code. Errcodes about the account
//! itself (40013 invalid appid, 40125 invalid appsecret, 40164 IP not whitelisted, …) are
//! refusals.
//!
//! # Face verification: access token, then `cityservice/face/identify/getinfo`
//!
//! `GET cgi-bin/token?grant_type=client_credential&appid=APPID&secret=SECRET` answers
//! `{"access_token": "…", "expires_in": 7200}`. The token is cached until
//! [`TOKEN_REFRESH_MARGIN`] before it expires: WeChat limits how often it may be fetched, and
//! every fetch starts retiring the previous token. Here errcode 40001 means a wrong AppSecret.
//!
//! `POST cityservice/face/identify/getinfo?access_token=TOKEN` with the JSON body
//! `{"verify_result": "…"}` answers `{"errcode": 0, "errmsg": "ok", "identify_ret": 0,
//! "identify_time": 1526279010, "validate_data": "…", "openid": "…", "user_id_key": "…",
//! "finish_time": …, "id_card_number_md5": "…", "name_utf8_md5": "…"}`: `identify_ret` 0 is a
//! pass; `identify_time` is when, in Unix seconds; the digests are MD5 in hex of the name's UTF-8
//! bytes and of the ID number with an upper-case `X`. Errcode 40001 or 42001 means the access
//! token is no longer valid (expired, or retired because something else with the same AppSecret
//! fetched a new one): the token is fetched again and the question asked once more, once. No
//! public list gives the errcodes about the result itself; any errcode that is not about the
//! token, the rate or the account is taken to mean that WeChat does not accept the result
//! ([`WeChatError::FaceResultInvalid`]).
//!
//! (WeChat also documents a newer flow for base library 3.8.12 and later: the server first
//! obtains a `verify_id` for the name and ID number with `getverifyid`, the mini-program calls
//! `wx.requestFacialVerify`, and the server asks `queryverifyinfo`. This client implements the
//! `getinfo` flow of `wx.startFacialRecognitionVerify`.)
//!
//! Nothing here depends on the `Content-Type` WeChat answers with (it is often `text/plain`).

use std::fmt;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    FACE_CLOCK_SKEW, FACE_RESULT_MAX_AGE, FaceOutcome, FaceVerifier, WeChatConfig, WeChatError,
    WeChatLogin, WxIdentity, claimed_id_number, claimed_name, md5_hex,
};
use crate::providers::aliyun::{excerpt, transport_detail};
use crate::providers::{HttpTimeouts, http_client};
use crate::telemetry::error_chain;

/// Where WeChat's server API is served.
const DEFAULT_API_BASE: &str = "https://api.weixin.qq.com/";
/// `auth.code2Session`.
const SESSION_PATH: &str = "sns/jscode2session";
/// The access token of the mini-program.
const TOKEN_PATH: &str = "cgi-bin/token";
/// The result of a `wx.startFacialRecognitionVerify`.
const FACE_INFO_PATH: &str = "cityservice/face/identify/getinfo";

/// How long before its announced expiry a cached access token is replaced. A token announced
/// to last no longer than this is used for one call and not cached.
const TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// The longest `wx.login` code or face verification result passed on to WeChat: both are short
/// opaque strings, and anything much longer is not one.
const MAX_OPAQUE_LEN: usize = 4096;

/// WeChat's "system busy".
const SYSTEM_BUSY: i64 = -1;
/// `invalid code`.
const CODE_INVALID: i64 = 40029;
/// `code been used`.
const CODE_USED: i64 = 40163;
/// `code blocked`: a risky user.
const RISKY_USER: i64 = 40226;
/// The per-minute and the daily call limits.
const RATE_LIMITS: &[i64] = &[45009, 45011];
/// `invalid credential, access_token is invalid or not latest` and `access_token expired`.
const STALE_TOKEN: &[i64] = &[40001, 42001];
/// Errcodes about the mini-program's account or this server rather than a face verification
/// result, in the common errcode table: invalid appid (40013), invalid appsecret (40125), IP not
/// whitelisted (40164 and 61004), access token missing (41001), appid or secret missing (41002,
/// 41004), API unauthorized (48001), API forbidden (48004), user unauthorized (50001),
/// user limited (50002).
const ACCOUNT_ERRCODES: &[i64] = &[
    40013, 40125, 40164, 61004, 41001, 41002, 41004, 48001, 48004, 50001, 50002,
];

/// Signs mini-program users in and reads face verification results through WeChat's server API.
///
/// One value serves both traits and shares the cached access token; hand it out as an
/// `Arc<WeChatApi>`.
pub struct WeChatApi {
    client: reqwest::Client,
    api_base: Url,
    timeouts: HttpTimeouts,
    appid: String,
    secret: SecretString,
    /// Held while a token is fetched, so that concurrent verifications fetch one between them.
    token: tokio::sync::Mutex<Option<CachedToken>>,
}

/// An access token and how long to use it.
struct CachedToken {
    value: SecretString,
    fresh_until: Instant,
}

impl WeChatApi {
    /// A client with the given timeouts ([`HttpTimeouts::default`] suits a person waiting).
    ///
    /// # Errors
    ///
    /// [`WeChatError::Config`] when the AppID or AppSecret is empty, when `api_base` is not an
    /// http(s) URL without a query, or when the HTTP client cannot be built.
    pub fn new(config: WeChatConfig, timeouts: HttpTimeouts) -> Result<Self, WeChatError> {
        let required = [
            ("appid", config.appid.as_str()),
            ("secret", config.secret.expose_secret()),
        ];
        if let Some((name, _)) = required.iter().find(|(_, value)| value.trim().is_empty()) {
            return Err(WeChatError::Config {
                detail: format!("WeChat: {name} is empty"),
            });
        }

        let given = config.api_base.as_deref().unwrap_or(DEFAULT_API_BASE);
        let mut api_base = Url::parse(given)
            .ok()
            .filter(|url| {
                matches!(url.scheme(), "https" | "http") && url.has_host() && url.query().is_none()
            })
            .ok_or_else(|| WeChatError::Config {
                detail: format!("WeChat: api_base {given:?} is not an http(s) URL without a query"),
            })?;
        // The paths are joined onto the base, which therefore has to end like a directory.
        if !api_base.path().ends_with('/') {
            let path = format!("{}/", api_base.path());
            api_base.set_path(&path);
        }
        let client = http_client(timeouts).map_err(|e| WeChatError::Config {
            detail: format!("WeChat: cannot build the HTTP client: {}", error_chain(&e)),
        })?;

        Ok(Self {
            client,
            api_base,
            timeouts,
            appid: config.appid,
            secret: config.secret,
            token: tokio::sync::Mutex::new(None),
        })
    }

    /// The URL of `path` under the base.
    fn url(&self, path: &str) -> Result<Url, WeChatError> {
        self.api_base.join(path).map_err(|e| WeChatError::Config {
            detail: format!("WeChat: cannot build the URL of {path}: {e}"),
        })
    }

    /// Sends `request` and reads the whole answer.
    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(StatusCode, Vec<u8>), WeChatError> {
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(e))?;
        Ok((status, body.to_vec()))
    }

    /// A call that got no answer. Its URL is left out: it carries the AppSecret or the access
    /// token.
    fn transport_error(&self, error: reqwest::Error) -> WeChatError {
        WeChatError::Unavailable {
            detail: transport_detail(&error.without_url(), self.timeouts),
        }
    }

    /// The cached access token, or a new one.
    async fn access_token(&self) -> Result<SecretString, WeChatError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| Instant::now() < t.fresh_until) {
            return Ok(token.value.clone());
        }
        let (value, expires_in) = self.fetch_token().await?;
        *cached = expires_in
            .checked_sub(TOKEN_REFRESH_MARGIN)
            .filter(|lifetime| !lifetime.is_zero())
            .map(|lifetime| CachedToken {
                value: value.clone(),
                fresh_until: Instant::now() + lifetime,
            });
        Ok(value)
    }

    /// Drops the cached token if it is still `stale` (another call may have replaced it).
    async fn forget_token(&self, stale: &SecretString) {
        let mut cached = self.token.lock().await;
        if cached
            .as_ref()
            .is_some_and(|t| t.value.expose_secret() == stale.expose_secret())
        {
            *cached = None;
        }
    }

    /// Asks WeChat for a new access token and how long it lasts.
    async fn fetch_token(&self) -> Result<(SecretString, Duration), WeChatError> {
        let mut url = self.url(TOKEN_PATH)?;
        url.query_pairs_mut()
            .append_pair("grant_type", "client_credential")
            .append_pair("appid", &self.appid)
            .append_pair("secret", self.secret.expose_secret());
        let (status, body) = self.exchange(self.client.get(url)).await?;
        let reply: TokenReply = read_reply(status, &body)?;
        if reply.errcode != 0 {
            let detail = format!(
                "access token: {}",
                errcode_detail(reply.errcode, &reply.errmsg)
            );
            return Err(match reply.errcode {
                SYSTEM_BUSY => WeChatError::Unavailable { detail },
                code if RATE_LIMITS.contains(&code) => WeChatError::RateLimited { detail },
                // 40001 here is a wrong AppSecret, not a stale token.
                _ => WeChatError::Refused { detail },
            });
        }
        match (reply.access_token, reply.expires_in) {
            (Some(token), Some(seconds))
                if !token.expose_secret().trim().is_empty() && seconds > 0 =>
            {
                Ok((token, Duration::from_secs(seconds)))
            }
            _ => Err(WeChatError::Unavailable {
                detail: "an access token answer without access_token or expires_in".into(),
            }),
        }
    }

    /// Asks what `verify_result` says, with `token`.
    async fn face_info(
        &self,
        token: &SecretString,
        verify_result: &str,
    ) -> Result<FaceReply, WeChatError> {
        let mut url = self.url(FACE_INFO_PATH)?;
        url.query_pairs_mut()
            .append_pair("access_token", token.expose_secret());
        let request = self
            .client
            .post(url)
            .json(&serde_json::json!({ "verify_result": verify_result }));
        let (status, body) = self.exchange(request).await?;
        let answer: FaceAnswer = read_reply(status, &body)?;
        if answer.errcode == 0 {
            return Ok(FaceReply::Answer(answer));
        }
        let detail = format!(
            "face result: {}",
            errcode_detail(answer.errcode, &answer.errmsg)
        );
        if STALE_TOKEN.contains(&answer.errcode) {
            return Ok(FaceReply::StaleToken { detail });
        }
        Err(match answer.errcode {
            SYSTEM_BUSY => WeChatError::Unavailable { detail },
            code if RATE_LIMITS.contains(&code) => WeChatError::RateLimited { detail },
            code if ACCOUNT_ERRCODES.contains(&code) => WeChatError::Refused { detail },
            _ => WeChatError::FaceResultInvalid { detail },
        })
    }

    /// [`FaceVerifier::verify`], judging the age of the result against `now`.
    async fn verify_at(
        &self,
        verify_result: &str,
        name: &str,
        id_number: &str,
        now: DateTime<Utc>,
    ) -> Result<FaceOutcome, WeChatError> {
        if verify_result.trim().is_empty() || verify_result.len() > MAX_OPAQUE_LEN {
            return Err(WeChatError::FaceResultInvalid {
                detail: format!(
                    "a verify_result of {} bytes, not sent to WeChat",
                    verify_result.len()
                ),
            });
        }
        let token = self.access_token().await?;
        let answer = match self.face_info(&token, verify_result).await? {
            FaceReply::Answer(answer) => answer,
            FaceReply::StaleToken { detail } => {
                tracing::info!(%detail, "WeChat access token stale, fetching a new one");
                self.forget_token(&token).await;
                let token = self.access_token().await?;
                match self.face_info(&token, verify_result).await? {
                    FaceReply::Answer(answer) => answer,
                    FaceReply::StaleToken { detail } => {
                        return Err(WeChatError::Refused {
                            detail: format!("a new access token refused as well: {detail}"),
                        });
                    }
                }
            }
        };
        judge(&answer, name, id_number, now)
    }
}

impl fmt::Debug for WeChatApi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeChatApi")
            .field("api_base", &self.api_base.as_str())
            .field("timeouts", &self.timeouts)
            .field("appid", &self.appid)
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl WeChatLogin for WeChatApi {
    #[tracing::instrument(name = "wechat.code_to_session", skip_all)]
    async fn code_to_session(&self, code: &str) -> Result<WxIdentity, WeChatError> {
        let result = self.exchange_code(code).await;
        match &result {
            Ok(identity) => tracing::info!(
                has_unionid = identity.unionid.is_some(),
                "signed in with WeChat"
            ),
            Err(error) => {
                tracing::warn!(code = error.code().name(), %error, "WeChat sign-in failed")
            }
        }
        result
    }
}

impl WeChatApi {
    async fn exchange_code(&self, code: &str) -> Result<WxIdentity, WeChatError> {
        if code.trim().is_empty() || code.len() > MAX_OPAQUE_LEN {
            return Err(WeChatError::CodeInvalid {
                detail: format!("a code of {} bytes, not sent to WeChat", code.len()),
            });
        }
        let mut url = self.url(SESSION_PATH)?;
        url.query_pairs_mut()
            .append_pair("appid", &self.appid)
            .append_pair("secret", self.secret.expose_secret())
            .append_pair("js_code", code)
            .append_pair("grant_type", "authorization_code");
        // Sent once: a code is single use (see the parent module).
        let (status, body) = self.exchange(self.client.get(url)).await?;
        let reply: SessionReply = read_reply(status, &body)?;
        if reply.errcode != 0 {
            let detail = errcode_detail(reply.errcode, &reply.errmsg);
            return Err(match reply.errcode {
                CODE_INVALID => WeChatError::CodeInvalid { detail },
                CODE_USED => WeChatError::CodeUsed { detail },
                RISKY_USER => WeChatError::RiskyUser { detail },
                SYSTEM_BUSY => WeChatError::Unavailable { detail },
                code if RATE_LIMITS.contains(&code) => WeChatError::RateLimited { detail },
                _ => WeChatError::Refused { detail },
            });
        }
        let openid = reply
            .openid
            .filter(|openid| !openid.trim().is_empty())
            .ok_or_else(|| WeChatError::Unavailable {
                detail: "a jscode2session answer without openid".into(),
            })?;
        Ok(WxIdentity {
            openid,
            unionid: reply.unionid.filter(|unionid| !unionid.trim().is_empty()),
        })
    }
}

#[async_trait::async_trait]
impl FaceVerifier for WeChatApi {
    #[tracing::instrument(name = "wechat.face_verify", skip_all)]
    async fn verify(
        &self,
        verify_result: &str,
        name: &str,
        id_number: &str,
    ) -> Result<FaceOutcome, WeChatError> {
        // The wall clock, not the server's Clock: WeChat dates the face result in real time.
        let result = self
            .verify_at(verify_result, name, id_number, Utc::now())
            .await;
        match &result {
            Ok(outcome) => tracing::info!(outcome = outcome.kind(), "face verification read"),
            Err(error) => tracing::warn!(
                code = error.code().name(),
                %error,
                "face verification not read"
            ),
        }
        result
    }
}

/// The answer of `jscode2session`. The `session_key` is not read (see the parent module).
#[derive(Deserialize)]
struct SessionReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    #[serde(default)]
    openid: Option<String>,
    #[serde(default)]
    unionid: Option<String>,
}

/// The answer of `cgi-bin/token`.
#[derive(Deserialize)]
struct TokenReply {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    #[serde(default)]
    access_token: Option<SecretString>,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The answer of `getinfo`. Numbers are taken as JSON numbers or as digits in a string.
#[derive(Debug, Deserialize)]
struct FaceAnswer {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
    #[serde(default)]
    identify_ret: Option<Value>,
    #[serde(default)]
    identify_time: Option<Value>,
    #[serde(default)]
    openid: Option<String>,
    #[serde(default)]
    id_card_number_md5: Option<String>,
    #[serde(default)]
    name_utf8_md5: Option<String>,
}

/// What `getinfo` gave: an answer, or word that the access token is stale.
enum FaceReply {
    Answer(FaceAnswer),
    StaleToken { detail: String },
}

/// Reads an answer's JSON: a 5xx or a body that is not the expected JSON means WeChat is
/// unavailable; a 4xx (WeChat answers with 200, so a proxy or gateway gave it) without an
/// errcode is a refusal.
fn read_reply<T: DeserializeOwned + HasErrcode>(
    status: StatusCode,
    body: &[u8],
) -> Result<T, WeChatError> {
    if status.is_server_error() {
        return Err(WeChatError::Unavailable {
            detail: format!("HTTP {status}: {}", quotable(body)),
        });
    }
    let reply: T = serde_json::from_slice(body).map_err(|e| WeChatError::Unavailable {
        detail: format!("HTTP {status}, unreadable answer ({e}): {}", quotable(body)),
    })?;
    if !status.is_success() && reply.errcode() == 0 {
        let detail = format!("HTTP {status} without an errcode: {}", quotable(body));
        return Err(if status.is_client_error() {
            WeChatError::Refused { detail }
        } else {
            WeChatError::Unavailable { detail }
        });
    }
    Ok(reply)
}

/// The errcode of an answer.
trait HasErrcode {
    fn errcode(&self) -> i64;
}

impl HasErrcode for SessionReply {
    fn errcode(&self) -> i64 {
        self.errcode
    }
}

impl HasErrcode for TokenReply {
    fn errcode(&self) -> i64 {
        self.errcode
    }
}

impl HasErrcode for FaceAnswer {
    fn errcode(&self) -> i64 {
        self.errcode
    }
}

/// `errcode N: errmsg` (WeChat's errmsg ends with the request id, `rid: …`, for its support).
fn errcode_detail(errcode: i64, errmsg: &str) -> String {
    format!("errcode {errcode}: {errmsg}")
}

/// The start of a body for the logs, unless it holds a key: the `session_key` of a sign-in or
/// an access token.
fn quotable(body: &[u8]) -> String {
    let holds_key = |key: &[u8]| body.windows(key.len()).any(|window| window == key);
    if holds_key(b"session_key") || holds_key(b"access_token") {
        "[not quoted: it holds a key]".into()
    } else {
        excerpt(body)
    }
}

/// A number given as a JSON number or as digits in a string.
fn integer(value: Option<&Value>) -> Option<i64> {
    match value? {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// What a successful `getinfo` answer says about the claimed person at `now`. Checked in order:
/// did it pass, is it this person, is it recent.
fn judge(
    answer: &FaceAnswer,
    name: &str,
    id_number: &str,
    now: DateTime<Utc>,
) -> Result<FaceOutcome, WeChatError> {
    let unreadable = |what: &str| WeChatError::Unavailable {
        detail: format!("a face result without {what}"),
    };
    let identify_ret =
        integer(answer.identify_ret.as_ref()).ok_or_else(|| unreadable("identify_ret"))?;
    if identify_ret != 0 {
        return Ok(FaceOutcome::Failed {
            reason: format!("identify_ret {identify_ret}"),
        });
    }

    let (Some(name_md5), Some(id_number_md5)) = (
        answer.name_utf8_md5.as_deref(),
        answer.id_card_number_md5.as_deref(),
    ) else {
        return Err(unreadable("name_utf8_md5 and id_card_number_md5"));
    };
    let same_name = name_md5
        .trim()
        .eq_ignore_ascii_case(&md5_hex(claimed_name(name)));
    let same_id_number = id_number_md5
        .trim()
        .eq_ignore_ascii_case(&md5_hex(&claimed_id_number(id_number)));
    if !(same_name && same_id_number) {
        return Ok(FaceOutcome::OtherPerson);
    }

    let identified_at = integer(answer.identify_time.as_ref())
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .ok_or_else(|| unreadable("a readable identify_time"))?;
    let age = now.signed_duration_since(identified_at);
    let too_old = chrono::Duration::from_std(FACE_RESULT_MAX_AGE).is_ok_and(|max| age > max);
    let in_future = chrono::Duration::from_std(FACE_CLOCK_SKEW).is_ok_and(|skew| -age > skew);
    if too_old || in_future {
        return Ok(FaceOutcome::Expired);
    }

    let openid = answer
        .openid
        .clone()
        .filter(|openid| !openid.trim().is_empty())
        .ok_or_else(|| unreadable("openid"))?;
    Ok(FaceOutcome::Passed { openid })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use mcert_testkit::{Answer, FakeHttp, Received, Routes};
    use serde_json::json;

    use super::*;
    use crate::providers::outages::{Outages, SHORT_TIMEOUTS};

    const APPID: &str = "wx0123456789abcdef";
    const SECRET: &str = "app-secret/with+symbols&more";
    const NAME: &str = "张三";
    const ID_NUMBER: &str = "11010519491231002X";
    const OPENID: &str = "oAbCdEf-openid_1";
    /// When the fixture answers say the verification happened.
    const IDENTIFIED_AT: i64 = 1_763_700_000;

    fn config(api_base: Option<String>) -> WeChatConfig {
        WeChatConfig {
            appid: APPID.into(),
            secret: SecretString::from(SECRET),
            api_base,
        }
    }

    fn client_for(base_url: &str) -> WeChatApi {
        WeChatApi::new(config(Some(base_url.to_owned())), SHORT_TIMEOUTS).unwrap()
    }

    fn identified_at() -> DateTime<Utc> {
        DateTime::from_timestamp(IDENTIFIED_AT, 0).unwrap()
    }

    /// A moment after the fixture verification.
    fn shortly_after() -> DateTime<Utc> {
        identified_at() + chrono::Duration::seconds(30)
    }

    /// A `getinfo` answer that passed for [`NAME`] and [`ID_NUMBER`], as the field list of the
    /// 微信人脸核身 documentation ("再次获取核验结果api") gives it.
    fn passed() -> Value {
        json!({
            "errcode": 0,
            "errmsg": "ok",
            "identify_ret": 0,
            "identify_time": IDENTIFIED_AT,
            "validate_data": "8089",
            "openid": OPENID,
            "user_id_key": "key-of-the-user",
            "finish_time": IDENTIFIED_AT + 3,
            "id_card_number_md5": md5_hex(ID_NUMBER),
            "name_utf8_md5": md5_hex(NAME),
        })
    }

    fn token_answer(token: &str, expires_in: u64) -> Answer {
        Answer::json(
            200,
            json!({"access_token": token, "expires_in": expires_in}).to_string(),
        )
    }

    fn errcode(code: i64, message: &str) -> Answer {
        Answer::json(
            200,
            json!({"errcode": code, "errmsg": format!("{message}, rid: 6650-{code}")}).to_string(),
        )
    }

    const TOKEN: &str = "/cgi-bin/token";
    const FACE_INFO: &str = "/cityservice/face/identify/getinfo";

    /// A fake WeChat that gives `tokens` at the token endpoint and `faces` at the face result
    /// endpoint, each in order, the last one repeating.
    async fn wechat(
        tokens: impl IntoIterator<Item = Answer>,
        faces: impl IntoIterator<Item = Answer>,
    ) -> FakeHttp {
        Routes::new()
            .on("GET", TOKEN, tokens)
            .on("POST", FACE_INFO, faces)
            .start()
            .await
    }

    fn token_requests(fake: &FakeHttp) -> Vec<Received> {
        fake.received_at("GET", TOKEN)
    }

    fn face_requests(fake: &FakeHttp) -> Vec<Received> {
        fake.received_at("POST", FACE_INFO)
    }

    fn assert_token_request(request: &Received) {
        assert_eq!(request.method, "GET");
        assert_eq!(request.path(), TOKEN);
        let query = request.query();
        assert_eq!(query.len(), 3, "{query:?}");
        assert_eq!(query["grant_type"], "client_credential");
        assert_eq!(query["appid"], APPID);
        assert_eq!(query["secret"], SECRET);
    }

    fn assert_face_request(request: &Received, token: &str, verify_result: &str) {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path(), FACE_INFO);
        let query = request.query();
        assert_eq!(query.len(), 1, "{query:?}");
        assert_eq!(query["access_token"], token);
        assert_eq!(request.header("content-type"), Some("application/json"));
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(body, json!({ "verify_result": verify_result }));
        assert!(!request.body_text().contains(SECRET));
    }

    // ----- Signing in -----------------------------------------------------------------------

    async fn sign_in(answer: Answer) -> (Result<WxIdentity, WeChatError>, Vec<Received>) {
        let fake = FakeHttp::start(answer).await;
        let result = client_for(fake.base_url())
            .code_to_session("0a3Xy-code")
            .await;
        (result, fake.received())
    }

    #[tokio::test]
    async fn exchanges_a_code_for_the_openid_and_unionid() {
        let body = json!({
            "openid": OPENID,
            "session_key": "tiihtNczf5v6AKRyjwEUhQ==",
            "unionid": "o6_bmasdasdsad6_2sgVt7hMZOPfL",
        });
        let (result, received) = sign_in(Answer::json(200, body.to_string())).await;
        assert_eq!(
            result.unwrap(),
            WxIdentity {
                openid: OPENID.into(),
                unionid: Some("o6_bmasdasdsad6_2sgVt7hMZOPfL".into()),
            }
        );
        assert_eq!(received.len(), 1);
        let request = &received[0];
        assert_eq!(request.method, "GET");
        assert_eq!(request.path(), "/sns/jscode2session");
        let query = request.query();
        let names: Vec<&str> = query.keys().map(String::as_str).collect();
        assert_eq!(names, ["appid", "grant_type", "js_code", "secret"]);
        assert_eq!(query["appid"], APPID);
        assert_eq!(query["secret"], SECRET);
        assert_eq!(query["js_code"], "0a3Xy-code");
        assert_eq!(query["grant_type"], "authorization_code");
    }

    #[tokio::test]
    async fn a_unionid_is_optional_and_an_errcode_0_is_a_success() {
        let body = json!({"errcode": 0, "errmsg": "ok", "openid": OPENID, "session_key": "k"});
        let (result, _) = sign_in(Answer::json(200, body.to_string())).await;
        let identity = result.unwrap();
        assert_eq!(identity.openid, OPENID);
        assert_eq!(identity.unionid, None);
        // Nothing of the session key is kept.
        assert!(!format!("{identity:?}").contains("session"));
    }

    #[tokio::test]
    async fn each_documented_errcode_has_its_error() {
        let cases = [
            (40029, "invalid code", "wechat_code_invalid"),
            (40163, "code been used", "wechat_code_used"),
            (
                45011,
                "api minute-quota reach limit  mustslower  retry next minute",
                "wechat_rate_limited",
            ),
            (40226, "code blocked", "wechat_risky_user"),
            (-1, "system error", "wechat_unavailable"),
            (40125, "invalid appsecret", "wechat_refused"),
            (40013, "invalid appid", "wechat_refused"),
            (99999, "something new", "wechat_refused"),
        ];
        for (code, message, expected) in cases {
            let (result, received) = sign_in(errcode(code, message)).await;
            assert_eq!(received.len(), 1, "{code}: not retried");
            let error = result.unwrap_err();
            assert_eq!(error.code(), expected, "{code}: {error:?}");
            let text = error.to_string();
            assert!(
                text.contains(&code.to_string()) && text.contains("rid: 6650"),
                "{text}"
            );
        }
    }

    /// An HTML page (status 200 or 502), no answer in time, a closed port; no error quotes the
    /// AppSecret or the request's URL.
    #[tokio::test]
    async fn sign_in_outages_are_unavailable_and_hide_the_url() {
        Outages::at("GET", "/sns/jscode2session")
            .never_quoting(&[SECRET, "secret=", "js_code"])
            .check(async |base| client_for(base).code_to_session("0a3Xy-code").await)
            .await;
    }

    #[tokio::test]
    async fn a_4xx_from_something_in_the_way_is_a_refusal() {
        let (result, _) = sign_in(Answer::json(403, "{}")).await;
        assert_eq!(result.unwrap_err().code(), "wechat_refused");
    }

    #[tokio::test]
    async fn an_answer_without_openid_is_unavailable_and_the_session_key_is_not_quoted() {
        let body = json!({"session_key": "tiihtNczf5v6AKRyjwEUhQ=="}).to_string();
        let (result, _) = sign_in(Answer::json(200, body)).await;
        let error = result.unwrap_err();
        assert_eq!(error.code(), "wechat_unavailable");
        assert!(!error.to_string().contains("tiihtNczf5v6"), "{error}");

        // Even an unreadable body holding a session key is not quoted.
        let broken = r#"{"openid": "o", "session_key": "tiihtNczf5v6AKRyjwEUhQ==""#;
        let (result, _) = sign_in(Answer::json(200, broken)).await;
        let text = result.unwrap_err().to_string();
        assert!(
            !text.contains("tiihtNczf5v6") && text.contains("not quoted"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn an_empty_or_huge_code_never_reaches_wechat() {
        let fake = FakeHttp::start(errcode(40029, "invalid code")).await;
        let client = client_for(fake.base_url());
        for code in ["", "  ", &"x".repeat(MAX_OPAQUE_LEN + 1)] {
            let error = client.code_to_session(code).await.unwrap_err();
            assert_eq!(error.code(), "wechat_code_invalid");
        }
        assert!(fake.received().is_empty());
    }

    // ----- Face verification ----------------------------------------------------------------

    /// Verifies [`NAME`], [`ID_NUMBER`] shortly after the fixture verification, against a fake
    /// that gives `token` and `face`; the token and face requests it got.
    async fn verify_once(
        token: Answer,
        face: Answer,
    ) -> (
        Result<FaceOutcome, WeChatError>,
        Vec<Received>,
        Vec<Received>,
    ) {
        let fake = wechat([token], [face]).await;
        let result = client_for(fake.base_url())
            .verify_at("verify-result-1", NAME, ID_NUMBER, shortly_after())
            .await;
        (result, token_requests(&fake), face_requests(&fake))
    }

    #[tokio::test]
    async fn a_pass_for_this_person_passes() {
        let (result, tokens, faces) = verify_once(
            token_answer("ACCESS-TOKEN-1", 7200),
            Answer::json(200, passed().to_string()),
        )
        .await;
        assert_eq!(
            result.unwrap(),
            FaceOutcome::Passed {
                openid: OPENID.into()
            }
        );
        assert_eq!((tokens.len(), faces.len()), (1, 1));
        assert_token_request(&tokens[0]);
        assert_face_request(&faces[0], "ACCESS-TOKEN-1", "verify-result-1");
    }

    #[tokio::test]
    async fn the_access_token_is_cached_across_calls() {
        let fake = wechat(
            [token_answer("ACCESS-TOKEN-1", 7200)],
            [Answer::json(200, passed().to_string())],
        )
        .await;
        let client = client_for(fake.base_url());
        for verify_result in ["first", "second"] {
            let outcome = client
                .verify_at(verify_result, NAME, ID_NUMBER, shortly_after())
                .await
                .unwrap();
            assert!(matches!(outcome, FaceOutcome::Passed { .. }), "{outcome:?}");
        }
        assert_eq!(token_requests(&fake).len(), 1, "one token for both calls");
        let faces = face_requests(&fake);
        assert_eq!(faces.len(), 2);
        assert_face_request(&faces[0], "ACCESS-TOKEN-1", "first");
        assert_face_request(&faces[1], "ACCESS-TOKEN-1", "second");
    }

    #[tokio::test]
    async fn a_token_about_to_expire_is_not_cached() {
        let fake = wechat(
            [token_answer("SHORT-LIVED", 300)],
            [Answer::json(200, passed().to_string())],
        )
        .await;
        let client = client_for(fake.base_url());
        for _ in 0..2 {
            client
                .verify_at("r", NAME, ID_NUMBER, shortly_after())
                .await
                .unwrap();
        }
        assert_eq!(token_requests(&fake).len(), 2);
    }

    #[tokio::test]
    async fn a_stale_token_is_replaced_once_and_the_question_asked_again() {
        for stale in [42001, 40001] {
            // The face endpoint refuses the old token, then answers.
            let fake = wechat(
                [
                    token_answer("OLD-TOKEN", 7200),
                    token_answer("NEW-TOKEN", 7200),
                ],
                [
                    errcode(stale, "access_token expired"),
                    Answer::json(200, passed().to_string()),
                ],
            )
            .await;
            let client = client_for(fake.base_url());

            let outcome = client
                .verify_at("verify-result-1", NAME, ID_NUMBER, shortly_after())
                .await
                .unwrap();
            assert!(matches!(outcome, FaceOutcome::Passed { .. }), "{stale}");
            let faces = face_requests(&fake);
            assert_face_request(&faces[0], "OLD-TOKEN", "verify-result-1");
            assert_face_request(&faces[1], "NEW-TOKEN", "verify-result-1");

            // The new token is the cached one now.
            client
                .verify_at("verify-result-2", NAME, ID_NUMBER, shortly_after())
                .await
                .unwrap();
            // The old token once, the new one once.
            assert_eq!(token_requests(&fake).len(), 2, "{stale}");
            assert_face_request(&face_requests(&fake)[2], "NEW-TOKEN", "verify-result-2");
        }
    }

    #[tokio::test]
    async fn a_token_refused_twice_is_not_fetched_a_third_time() {
        let fake = wechat(
            [token_answer("TOKEN", 7200)],
            [errcode(42001, "access_token expired")],
        )
        .await;
        let error = client_for(fake.base_url())
            .verify_at("r", NAME, ID_NUMBER, shortly_after())
            .await
            .unwrap_err();
        assert_eq!(error.code(), "wechat_refused");
        assert!(error.to_string().contains("42001"), "{error}");
        assert_eq!(token_requests(&fake).len(), 2, "refreshed exactly once");
        assert_eq!(face_requests(&fake).len(), 2);
    }

    #[tokio::test]
    async fn a_result_for_another_person_is_refused() {
        let mut other_name = passed();
        other_name["name_utf8_md5"] = json!(md5_hex("李四"));
        let mut other_id = passed();
        other_id["id_card_number_md5"] = json!(md5_hex("110105194912310029"));
        for answer in [other_name, other_id] {
            let (result, _, _) = verify_once(
                token_answer("T", 7200),
                Answer::json(200, answer.to_string()),
            )
            .await;
            assert_eq!(result.unwrap(), FaceOutcome::OtherPerson);
        }
    }

    #[tokio::test]
    async fn a_stale_result_is_expired() {
        let fake = wechat(
            [token_answer("T", 7200)],
            [Answer::json(200, passed().to_string())],
        )
        .await;
        let client = client_for(fake.base_url());
        let eleven_minutes_later = identified_at() + chrono::Duration::minutes(11);
        let outcome = client
            .verify_at("r", NAME, ID_NUMBER, eleven_minutes_later)
            .await
            .unwrap();
        assert_eq!(outcome, FaceOutcome::Expired);
        let ten_minutes_later = identified_at() + chrono::Duration::minutes(10);
        let outcome = client
            .verify_at("r", NAME, ID_NUMBER, ten_minutes_later)
            .await
            .unwrap();
        assert!(matches!(outcome, FaceOutcome::Passed { .. }), "{outcome:?}");
    }

    #[tokio::test]
    async fn a_failed_verification_is_failed() {
        let mut answer = passed();
        answer["identify_ret"] = json!(10003);
        let (result, _, _) = verify_once(
            token_answer("T", 7200),
            Answer::json(200, answer.to_string()),
        )
        .await;
        assert_eq!(
            result.unwrap(),
            FaceOutcome::Failed {
                reason: "identify_ret 10003".into()
            }
        );
    }

    #[tokio::test]
    async fn face_errcodes_have_their_errors() {
        let cases = [
            (84001, "invalid identity_id", "wechat_face_result_invalid"),
            (45011, "api minute-quota reach limit", "wechat_rate_limited"),
            (-1, "system error", "wechat_unavailable"),
            (48001, "api unauthorized", "wechat_refused"),
            (40164, "invalid ip, not in whitelist", "wechat_refused"),
        ];
        for (code, message, expected) in cases {
            let (result, tokens, faces) =
                verify_once(token_answer("T", 7200), errcode(code, message)).await;
            let error = result.unwrap_err();
            assert_eq!(error.code(), expected, "{code}: {error:?}");
            assert!(error.to_string().contains(&code.to_string()), "{error}");
            assert_eq!((tokens.len(), faces.len()), (1, 1), "{code}: not retried");
        }
    }

    #[tokio::test]
    async fn token_errors_stop_before_the_question() {
        for (answer, expected) in [
            (errcode(40001, "token refused"), "wechat_refused"),
            (errcode(40125, "token refused"), "wechat_refused"),
            (errcode(40164, "token refused"), "wechat_refused"),
            (errcode(-1, "token refused"), "wechat_unavailable"),
            (errcode(45009, "token refused"), "wechat_rate_limited"),
            // Not an errcode: the token endpoint failing as a server.
            (Answer::json(500, "{}"), "wechat_unavailable"),
        ] {
            let case = format!("{answer:?}");
            let fake = FakeHttp::start(answer).await;
            let error = client_for(fake.base_url())
                .verify_at("r", NAME, ID_NUMBER, shortly_after())
                .await
                .unwrap_err();
            assert_eq!(error.code(), expected, "{case}");
            let received = fake.received();
            assert_eq!(received.len(), 1, "{case}: only the token request");
            assert_token_request(&received[0]);
        }
    }

    #[tokio::test]
    async fn a_token_answer_is_never_quoted() {
        let fake = FakeHttp::start(Answer::json(
            200,
            json!({"access_token": "SECRET-TOKEN-VALUE"}).to_string(),
        ))
        .await;
        let error = client_for(fake.base_url())
            .verify_at("r", NAME, ID_NUMBER, shortly_after())
            .await
            .unwrap_err();
        assert_eq!(error.code(), "wechat_unavailable");
        assert!(!error.to_string().contains("SECRET-TOKEN-VALUE"), "{error}");
    }

    /// The face result endpoint after a token, and the token endpoint itself: an HTML page
    /// (status 200 or 502), no answer in time, a closed port; no error quotes the AppSecret,
    /// the access token or the request's URL.
    #[tokio::test]
    async fn face_outages_are_unavailable_and_hide_the_url() {
        let verify = async |base: &str| {
            client_for(base)
                .verify_at("r", NAME, ID_NUMBER, shortly_after())
                .await
        };
        Outages::at("POST", FACE_INFO)
            .after(Routes::new().on("GET", TOKEN, [token_answer("SECRET-TOKEN-VALUE", 7200)]))
            .never_quoting(&[SECRET, "SECRET-TOKEN-VALUE", "access_token="])
            .check(&verify)
            .await;
        Outages::at("GET", TOKEN)
            .never_quoting(&[SECRET, "secret="])
            .check(&verify)
            .await;
    }

    #[tokio::test]
    async fn an_empty_or_huge_result_never_reaches_wechat() {
        let fake = FakeHttp::start(token_answer("T", 7200)).await;
        let client = client_for(fake.base_url());
        for verify_result in ["", " ", &"r".repeat(MAX_OPAQUE_LEN + 1)] {
            let error = client
                .verify(verify_result, NAME, ID_NUMBER)
                .await
                .unwrap_err();
            assert_eq!(error.code(), "wechat_face_result_invalid");
        }
        assert!(fake.received().is_empty());
    }

    // ----- Judging answers ------------------------------------------------------------------

    fn answer(value: Value) -> FaceAnswer {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn judges_in_order_pass_person_age() {
        let now = shortly_after();
        let judged = |value: Value| judge(&answer(value), NAME, ID_NUMBER, now);

        assert_eq!(
            judged(passed()).unwrap(),
            FaceOutcome::Passed {
                openid: OPENID.into()
            }
        );

        // A failure is a failure, whoever it was of and whenever.
        let mut failed = passed();
        failed["identify_ret"] = json!(90004);
        failed["name_utf8_md5"] = json!(md5_hex("李四"));
        assert!(matches!(
            judged(failed).unwrap(),
            FaceOutcome::Failed { .. }
        ));

        // Another person, long ago: another person.
        let mut other_and_old = passed();
        other_and_old["name_utf8_md5"] = json!(md5_hex("李四"));
        other_and_old["identify_time"] = json!(IDENTIFIED_AT - 86_400);
        assert_eq!(judged(other_and_old).unwrap(), FaceOutcome::OtherPerson);

        // Dated more than a minute ahead of our clock.
        let mut future = passed();
        future["identify_time"] = json!(now.timestamp() + 120);
        assert_eq!(judged(future).unwrap(), FaceOutcome::Expired);
        let mut slightly_ahead = passed();
        slightly_ahead["identify_time"] = json!(now.timestamp() + 30);
        assert!(matches!(
            judged(slightly_ahead).unwrap(),
            FaceOutcome::Passed { .. }
        ));
    }

    #[test]
    fn digests_compare_without_regard_to_case_and_the_claim_is_normalised() {
        let mut upper = passed();
        upper["name_utf8_md5"] = json!(md5_hex(NAME).to_ascii_uppercase());
        assert!(matches!(
            judge(&answer(upper), NAME, ID_NUMBER, shortly_after()).unwrap(),
            FaceOutcome::Passed { .. }
        ));
        // A lower-case x and stray spaces in the claim still match WeChat's upper-case X.
        assert!(matches!(
            judge(
                &answer(passed()),
                " 张三 ",
                "11010519491231002x",
                shortly_after()
            )
            .unwrap(),
            FaceOutcome::Passed { .. }
        ));
    }

    #[test]
    fn numbers_may_come_as_strings() {
        let mut strings = passed();
        strings["identify_ret"] = json!("0");
        strings["identify_time"] = json!(IDENTIFIED_AT.to_string());
        assert!(matches!(
            judge(&answer(strings), NAME, ID_NUMBER, shortly_after()).unwrap(),
            FaceOutcome::Passed { .. }
        ));
    }

    #[test]
    fn a_pass_missing_what_proves_it_is_unavailable() {
        for field in [
            "identify_ret",
            "name_utf8_md5",
            "id_card_number_md5",
            "identify_time",
            "openid",
        ] {
            let mut incomplete = passed();
            incomplete.as_object_mut().unwrap().remove(field);
            let error = judge(&answer(incomplete), NAME, ID_NUMBER, shortly_after()).unwrap_err();
            assert_eq!(error.code(), "wechat_unavailable", "{field}");
        }
        let mut unreadable_time = passed();
        unreadable_time["identify_time"] = json!("yesterday");
        assert!(judge(&answer(unreadable_time), NAME, ID_NUMBER, shortly_after()).is_err());
    }

    #[test]
    fn only_bodies_without_keys_are_quoted() {
        assert_eq!(quotable(b"<html>"), "<html>");
        assert!(quotable(br#"{"session_key":"k"}"#).contains("not quoted"));
        assert!(quotable(br#"{"access_token":"t"}"#).contains("not quoted"));
    }

    // ----- Configuration --------------------------------------------------------------------

    #[test]
    fn refuses_incomplete_configuration() {
        let mut no_secret = config(None);
        no_secret.secret = SecretString::from(" ");
        let mut no_appid = config(None);
        no_appid.appid = String::new();
        for (config, field) in [
            (no_secret, "secret"),
            (no_appid, "appid"),
            (config(Some("ftp://example.com/".into())), "api_base"),
            (config(Some("not a url".into())), "api_base"),
            (config(Some("https://example.com/?a=b".into())), "api_base"),
        ] {
            match WeChatApi::new(config, HttpTimeouts::default()) {
                Err(error @ WeChatError::Config { .. }) => {
                    assert!(error.to_string().contains(field), "{error}");
                    assert_eq!(error.code(), "wechat_misconfigured");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        let client = WeChatApi::new(config(None), HttpTimeouts::default()).unwrap();
        assert_eq!(client.api_base.as_str(), DEFAULT_API_BASE);
        assert_eq!(
            client.url(SESSION_PATH).unwrap().as_str(),
            "https://api.weixin.qq.com/sns/jscode2session"
        );
        // A base with a path but no closing slash keeps its path.
        let proxied = WeChatApi::new(
            config(Some("https://proxy.example.com/wx".into())),
            HttpTimeouts::default(),
        )
        .unwrap();
        assert_eq!(
            proxied.url(TOKEN_PATH).unwrap().as_str(),
            "https://proxy.example.com/wx/cgi-bin/token"
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let client = WeChatApi::new(config(None), HttpTimeouts::default()).unwrap();
        let printed = format!("{client:?}");
        assert!(
            !printed.contains(SECRET) && printed.contains(APPID) && printed.contains("[redacted]"),
            "{printed}"
        );
    }
}
