//! SMS one-time codes (DESIGN.md §10): 6 digits, 5-minute life, single use, stored only as a
//! salted SM3 hash, 5 tries per code, at most one send per phone per minute and 10 per day, and a
//! per-address limit against SMS flooding. Everything lives in the kv store, so any instance can
//! verify a code another instance sent.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::failure::{Code, Describe, Description, code};
use crate::{
    domain::PhoneNumber,
    kv::{Kv, KvError},
    providers::sms::{SmsError, SmsNotice, SmsSender},
};

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;

/// The rules; [`OtpLimits::default`] is DESIGN.md §10.
#[derive(Debug, Clone, Copy)]
pub struct OtpLimits {
    /// How long a code works.
    pub ttl: Duration,
    /// Wrong entries that end a code.
    pub max_attempts: u32,
    /// Least time between two sends to one phone.
    pub resend_interval: Duration,
    /// Sends per phone per day.
    pub per_phone_per_day: u32,
    /// Sends requested from one client address per hour.
    pub per_address_per_hour: u32,
}

impl Default for OtpLimits {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(5 * 60),
            max_attempts: 5,
            resend_interval: Duration::from_secs(60),
            per_phone_per_day: 10,
            per_address_per_hour: 30,
        }
    }
}

/// What a code is for; a code for one purpose never passes for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtpPurpose {
    /// Applicant registration or login on the application site.
    ApplicantLogin,
    /// Checking the phone a certificate is downloaded to.
    DownloadPhone,
}

impl OtpPurpose {
    fn as_str(self) -> &'static str {
        match self {
            Self::ApplicantLogin => "applicant_login",
            Self::DownloadPhone => "download_phone",
        }
    }
}

/// Why a send or a check was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtpError {
    /// A code went to this phone less than a minute ago.
    #[error("resend too soon")]
    TooSoon {
        /// Seconds until the next send is allowed (at most the interval).
        retry_after_secs: u64,
    },
    /// Ten codes went to this phone today.
    #[error("daily limit for this phone reached")]
    PhoneDailyLimit,
    /// This client address asked for too many codes.
    #[error("too many codes requested from this address")]
    AddressLimit,
    /// Not six digits; not counted.
    #[error("code is not six digits")]
    Malformed,
    /// Wrong code.
    #[error("wrong code, {remaining} tries left")]
    Wrong {
        /// Tries left for this code.
        remaining: u32,
    },
    /// No live code: never sent, expired, used, or ended by too many wrong tries.
    #[error("no valid code")]
    NoCode,
    /// The SMS could not be sent.
    #[error(transparent)]
    Sms(#[from] SmsError),
    /// The kv store failed.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// A stored code does not decode.
    #[error("stored code is corrupt")]
    Corrupt,
}

impl OtpError {
    /// Stable code.
    pub fn code(&self) -> Code {
        match self {
            Self::TooSoon { .. } => code::OTP_RESEND_TOO_SOON,
            Self::PhoneDailyLimit => code::OTP_DAILY_LIMIT,
            Self::AddressLimit => code::OTP_ADDRESS_LIMIT,
            Self::Malformed => code::OTP_MALFORMED,
            Self::Wrong { .. } => code::OTP_INCORRECT,
            Self::NoCode => code::OTP_EXPIRED,
            Self::Sms(e) => e.code(),
            Self::Kv(_) => code::KV_UNAVAILABLE,
            Self::Corrupt => code::INTERNAL_ERROR,
        }
    }

    /// What happened and what to do, in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            Self::TooSoon { retry_after_secs } => {
                format!("验证码发送过于频繁，请 {retry_after_secs} 秒后再试")
            }
            Self::PhoneDailyLimit => "该手机号今日获取验证码已达 10 次，请明天再试".into(),
            Self::AddressLimit => "当前网络获取验证码次数过多，请稍后再试".into(),
            Self::Malformed => "验证码为 6 位数字，请核对后重新输入".into(),
            Self::Wrong { remaining } if *remaining > 0 => {
                format!("验证码错误，还可输入 {remaining} 次")
            }
            Self::Wrong { .. } => "验证码错误次数过多，该验证码已失效，请重新获取".into(),
            Self::NoCode => "验证码已过期或已使用，请重新获取".into(),
            Self::Sms(e) => e.message_zh(),
            Self::Kv(_) => "会话存储暂时无法访问，请稍后重试".into(),
            Self::Corrupt => "服务器内部错误，请重新获取验证码".into(),
        }
    }
}

impl Describe for OtpError {
    fn describe(&self) -> Description {
        Description::new(self.code(), self.message_zh())
    }
}

/// A code on its way.
#[derive(Debug, Clone)]
pub struct SentCode {
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
    /// Seconds before another code may be asked for.
    pub resend_after_secs: u64,
}

/// A live code as stored: only a salted hash.
#[derive(Debug, Serialize, Deserialize)]
struct StoredCode {
    /// Random per code; also names the code's attempt counter.
    salt: String,
    /// SM3(salt ‖ purpose ‖ phone ‖ code), hex.
    hash: String,
}

fn digest(salt: &str, purpose: OtpPurpose, phone: &PhoneNumber, code: &str) -> String {
    let input = format!(
        "{salt}\u{0}{}\u{0}{}\u{0}{code}",
        purpose.as_str(),
        phone.as_str()
    );
    hex::encode(mcert_signer::sm3_digest(input.as_bytes()))
}

/// Sends and checks codes.
pub struct OtpService {
    kv: Arc<dyn Kv>,
    sms: Arc<dyn SmsSender>,
    limits: OtpLimits,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for OtpService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpService")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl OtpService {
    /// A service over the kv store and an SMS sender; codes and limits run by `clock`.
    pub fn new(
        kv: Arc<dyn Kv>,
        sms: Arc<dyn SmsSender>,
        limits: OtpLimits,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            kv,
            sms,
            limits,
            clock,
        }
    }

    fn code_key(purpose: OtpPurpose, phone: &PhoneNumber) -> String {
        format!("otp:{}:{}", purpose.as_str(), phone.as_str())
    }

    /// Sends a new code to `phone` (replacing any earlier one for the purpose), subject to the
    /// per-phone and per-address limits. `client_address` is the requester's IP.
    #[tracing::instrument(skip(self), fields(phone = %phone.masked()))]
    pub async fn send(
        &self,
        phone: &PhoneNumber,
        purpose: OtpPurpose,
        client_address: &str,
    ) -> Result<SentCode, OtpError> {
        let now = self.clock.now();
        let day = now.format("%Y%m%d");
        let throttle = format!("otp-throttle:{}", phone.as_str());
        // A refused resend does not use up the daily allowance.
        if let Some(sent_at) = self.kv.get(&throttle).await? {
            return Err(self.too_soon(&sent_at, now));
        }
        // Every limit is checked before the phone's throttle is touched: a request refused for
        // its address or the phone's day leaves the phone free to get a code at once.
        let address_count = self
            .kv
            .incr(
                &format!("otp-address:{client_address}"),
                Duration::from_secs(3600),
            )
            .await?;
        if address_count > i64::from(self.limits.per_address_per_hour) {
            return Err(OtpError::AddressLimit);
        }
        let phone_count = self
            .kv
            .incr(
                &format!("otp-day:{day}:{}", phone.as_str()),
                Duration::from_secs(24 * 3600),
            )
            .await?;
        if phone_count > i64::from(self.limits.per_phone_per_day) {
            return Err(OtpError::PhoneDailyLimit);
        }
        // Claimed for the send (of two concurrent sends one gets it) and given back unless the
        // SMS goes out: only a code that reached the phone starts its minute.
        let sent_at = now.timestamp_millis().to_string();
        if !self
            .kv
            .put_if_absent(&throttle, sent_at.as_bytes(), self.limits.resend_interval)
            .await?
        {
            let claimed = self.kv.get(&throttle).await?.unwrap_or_default();
            return Err(self.too_soon(&claimed, now));
        }

        let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
        let salt = hex::encode(salt);
        let stored = StoredCode {
            hash: digest(&salt, purpose, phone, &code),
            salt,
        };
        let key = Self::code_key(purpose, phone);
        // Only one send per phone gets past the throttle, so replacing is not racy.
        self.kv.take(&key).await?;
        let json = serde_json::to_vec(&stored).map_err(|_| OtpError::Corrupt)?;
        self.kv.put_if_absent(&key, &json, self.limits.ttl).await?;
        if let Err(error) = self
            .sms
            .send(phone.as_str(), &SmsNotice::Otp { code })
            .await
        {
            // Nothing reached the phone: let the person ask again at once.
            self.kv.take(&key).await?;
            self.kv.take(&throttle).await?;
            return Err(error.into());
        }
        let ttl = chrono::TimeDelta::from_std(self.limits.ttl).unwrap_or(chrono::TimeDelta::MAX);
        Ok(SentCode {
            expires_at: now + ttl,
            resend_after_secs: self.limits.resend_interval.as_secs(),
        })
    }

    /// The refusal of a resend, counting the wait from `sent_at` (milliseconds since the epoch,
    /// as the throttle stores it).
    fn too_soon(&self, sent_at: &[u8], now: DateTime<Utc>) -> OtpError {
        let interval = self.limits.resend_interval;
        let elapsed = std::str::from_utf8(sent_at)
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
            .and_then(|millis| u64::try_from(now.timestamp_millis() - millis).ok())
            .map_or(Duration::ZERO, Duration::from_millis);
        let left = interval.saturating_sub(elapsed);
        // Whole seconds, rounded up and at least one.
        let retry_after_secs =
            (left.as_millis().div_ceil(1000) as u64).clamp(1, interval.as_secs().max(1));
        OtpError::TooSoon { retry_after_secs }
    }

    /// Checks `code` for `phone`; a right code is used up, a fifth wrong one ends it.
    #[tracing::instrument(skip(self, code), fields(phone = %phone.masked()))]
    pub async fn verify(
        &self,
        phone: &PhoneNumber,
        purpose: OtpPurpose,
        code: &str,
    ) -> Result<(), OtpError> {
        use subtle::ConstantTimeEq as _;
        let code = code.trim();
        if code.len() != CODE_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(OtpError::Malformed);
        }
        let key = Self::code_key(purpose, phone);
        let stored: StoredCode = match self.kv.get(&key).await? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|_| OtpError::Corrupt)?,
            None => return Err(OtpError::NoCode),
        };
        let attempts = self
            .kv
            .incr(&format!("otp-attempts:{}", stored.salt), self.limits.ttl)
            .await?;
        let max = i64::from(self.limits.max_attempts);
        if attempts > max {
            self.kv.take(&key).await?;
            return Err(OtpError::NoCode);
        }
        let presented = digest(&stored.salt, purpose, phone, code);
        if !bool::from(presented.as_bytes().ct_eq(stored.hash.as_bytes())) {
            let remaining = u32::try_from(max - attempts).unwrap_or(0);
            if remaining == 0 {
                self.kv.take(&key).await?;
            }
            return Err(OtpError::Wrong { remaining });
        }
        // Single use: of two concurrent right answers, one takes the code.
        match self.kv.take(&key).await? {
            Some(_) => Ok(()),
            None => Err(OtpError::NoCode),
        }
    }
}

#[cfg(test)]
mod tests;
