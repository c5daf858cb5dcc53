//! The people behind the mini-program (seed 000 §四(一), FAQ (三)(四)): WeChat users signed in
//! with `wx.login`, real-name verification (实名认证) by name, ID number and a face verification
//! the server checks itself, and the phones bound to each person after an SMS code and the
//! carrier's three-element check.
//!
//! A WeChat user is known by its `openid`; the WeChat `session_key` never leaves the provider.
//! Mini-program sessions are opaque bearer tokens in kv. One phone is bound to one person at a
//! time; the previous holder unbinds it in their mini-program, or staff do after verifying who
//! is asking.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::failure::StorageError;
use crate::failure::{Describe, Description, code};
use crate::{
    audit::{Actor, AuditDraft},
    ca::CertificateRecord,
    certificates::Standing,
    domain::{DomainError, PersonName, PhoneNumber, ResidentId},
    kv::{Kv, KvError},
    otp::{OtpError, OtpPurpose, OtpService, SentCode},
    providers::{
        carrier::{CarrierCheck, CarrierError, CarrierVerdict},
        wechat::{FaceOutcome, FaceVerifier, WeChatError, WeChatLogin},
    },
    staff::Reviewer,
    tokens::Sessions,
};

/// The reason staff give for acting on a person's behalf (how they re-verified them): trimmed,
/// 1 to 200 characters.
pub fn staff_reason(reason: &str) -> Result<&str, PeopleError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return Err(PeopleError::ReasonMissing);
    }
    Ok(reason)
}

/// How long a mini-program session lasts. Short, and the SDK keeps the token in memory only:
/// a restarted mini-program signs in again with `wx.login` (silent), so a copy of the phone's
/// storage is never a session.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 60);

/// A WeChat user of the mini-program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WxUserRecord {
    /// Id.
    pub id: i64,
    /// The user's `openid` for this mini-program.
    pub openid: String,
    /// The verified person, once real-name verification passed.
    pub person_id: Option<i64>,
}

/// A real-name verified person.
#[derive(Clone, PartialEq, Eq)]
pub struct PersonRecord {
    /// Id.
    pub id: i64,
    /// 姓名.
    pub name: String,
    /// 公民身份号码 (GB 11643 checked).
    pub id_number: String,
    /// When the face verification last passed.
    pub verified_at: DateTime<Utc>,
}

impl PersonRecord {
    /// The ID number as the mini-program shows it: region and the last four (`110105********002X`).
    pub fn masked_id_number(&self) -> String {
        let id = &self.id_number;
        format!(
            "{}********{}",
            id.get(..6).unwrap_or_default(),
            id.get(14..).unwrap_or_default()
        )
    }
}

impl std::fmt::Debug for PersonRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let masked = self.masked_id_number();
        f.debug_struct("PersonRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("id_number", &masked)
            .field("verified_at", &self.verified_at)
            .finish()
    }
}

/// What binding a phone found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindOutcome {
    /// Bound now.
    Bound,
    /// It was bound to this person already.
    AlreadyBound,
    /// It is bound to another person.
    OtherPerson,
}

/// Storage of WeChat users, persons and phone bindings (`store/` implements it).
#[async_trait::async_trait]
pub trait PeopleStore: Send + Sync + std::fmt::Debug {
    /// The user with this `openid`, created on first sign-in.
    async fn sign_in_wx(
        &self,
        openid: &str,
        unionid: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<WxUserRecord, StorageError>;
    /// A user by id.
    async fn wx_user(&self, id: i64) -> Result<Option<WxUserRecord>, StorageError>;
    /// Records a passed verification: the person with this ID number (created, or refreshed
    /// when the name matches), linked to the user; audited. `None` when a person with this ID
    /// number is on record under another name.
    async fn verify_person(
        &self,
        wx_user_id: i64,
        name: &str,
        id_number: &str,
        now: DateTime<Utc>,
        audit: AuditDraft,
    ) -> Result<Option<PersonRecord>, StorageError>;
    /// A person by id.
    async fn person(&self, id: i64) -> Result<Option<PersonRecord>, StorageError>;
    /// Binds `phone` to `person_id` unless it is bound already; audited when bound.
    async fn bind_phone(
        &self,
        phone: &str,
        person_id: i64,
        now: DateTime<Utc>,
        audit: AuditDraft,
    ) -> Result<BindOutcome, StorageError>;
    /// Removes the binding of `phone` (only if held by `person_id`, when given); audited.
    /// False if there was no such binding.
    async fn unbind_phone(
        &self,
        phone: &str,
        person_id: Option<i64>,
        audit: AuditDraft,
    ) -> Result<bool, StorageError>;
    /// The phones bound to a person.
    async fn phones_of(&self, person_id: i64) -> Result<Vec<String>, StorageError>;
    /// The person a phone is bound to.
    async fn phone_holder(&self, phone: &str) -> Result<Option<i64>, StorageError>;
    /// The certificates downloaded by a person (any status), oldest first, with the one they
    /// chose as default.
    async fn certificates_of(
        &self,
        person_id: i64,
    ) -> Result<(Vec<CertificateRecord>, Option<i64>), StorageError>;
    /// Makes certificate `certificate_id` the person's default.
    async fn set_default(&self, person_id: i64, certificate_id: i64) -> Result<(), StorageError>;
}

/// Why a mini-program step was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeopleError {
    /// No live session.
    #[error("not signed in")]
    NotSignedIn,
    /// Real-name verification has not been passed (未查询到人员信息，请先实名认证).
    #[error("no verified person")]
    NotVerified,
    /// The face verification did not pass.
    #[error("face verification failed")]
    FaceFailed,
    /// The face verification was of another person or another WeChat user.
    #[error("face verification is not of this person")]
    FaceOtherPerson,
    /// The face verification is too old to count.
    #[error("face verification expired")]
    FaceExpired,
    /// A person with this ID number is on record under another name.
    #[error("name does not match the ID number on record")]
    NameMismatch,
    /// The carrier says the phone is not registered to this person (未获取到绑定信息).
    #[error("phone not registered to the person")]
    PhoneNotOwned,
    /// The phone is bound to another person (手机号已被绑定).
    #[error("phone bound to another person")]
    PhoneBound,
    /// No such binding to remove.
    #[error("phone not bound")]
    PhoneNotBound,
    /// Not one of the person's active certificates.
    #[error("certificate not held")]
    CertificateNotHeld,
    /// A staff unbinding needs the reason (how the person was re-verified).
    #[error("unbind reason missing")]
    ReasonMissing,
    /// From WeChat.
    #[error(transparent)]
    WeChat(#[from] WeChatError),
    /// From the carrier check.
    #[error(transparent)]
    Carrier(#[from] CarrierError),
    /// From the SMS code.
    #[error(transparent)]
    Otp(#[from] OtpError),
    /// A malformed name, ID number or phone.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The kv store failed.
    #[error(transparent)]
    Kv(#[from] KvError),
}

/// A new mini-program session.
#[derive(Debug, Clone)]
pub struct MpSignedIn {
    /// The bearer token (shown once).
    pub token: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// The user.
    pub user: WxUserRecord,
}

/// The external services the flow relies on.
#[derive(Debug, Clone)]
pub struct PeopleProviders {
    /// `jscode2session`.
    pub wechat: Arc<dyn WeChatLogin>,
    /// Face verification results.
    pub face: Arc<dyn FaceVerifier>,
    /// The carrier's three-element check.
    pub carrier: Arc<dyn CarrierCheck>,
}

/// The service.
#[derive(Debug)]
pub struct People {
    store: Arc<dyn PeopleStore>,
    providers: PeopleProviders,
    otp: Arc<OtpService>,
    sessions: Sessions,
    clock: Arc<dyn Clock>,
}

impl People {
    /// The service over its store, the providers, the OTP service and the kv store; sessions
    /// end by `clock`.
    pub fn new(
        store: Arc<dyn PeopleStore>,
        providers: PeopleProviders,
        otp: Arc<OtpService>,
        kv: Arc<dyn Kv>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            providers,
            otp,
            sessions: Sessions::new(kv, "mp-session", SESSION_TTL, clock.clone()),
            clock,
        }
    }

    /// Signs in with a `wx.login` code.
    pub async fn sign_in(&self, code: &str) -> Result<MpSignedIn, PeopleError> {
        let identity = self.providers.wechat.code_to_session(code.trim()).await?;
        let user = self
            .store
            .sign_in_wx(
                &identity.openid,
                identity.unionid.as_deref(),
                self.clock.now(),
            )
            .await?;
        let (token, expires_at) = self.sessions.issue(user.id).await?;
        Ok(MpSignedIn {
            token,
            expires_at,
            user,
        })
    }

    /// The user a session token belongs to.
    pub async fn authenticate(&self, token: &str) -> Result<WxUserRecord, PeopleError> {
        let id = self
            .sessions
            .resolve(token)
            .await?
            .ok_or(PeopleError::NotSignedIn)?;
        self.store
            .wx_user(id)
            .await?
            .ok_or(PeopleError::NotSignedIn)
    }

    /// A WeChat user by id (the scanner of a login session).
    pub async fn user(&self, id: i64) -> Result<WxUserRecord, PeopleError> {
        self.store
            .wx_user(id)
            .await?
            .ok_or(PeopleError::NotSignedIn)
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> Result<(), PeopleError> {
        Ok(self.sessions.revoke(token).await?)
    }

    /// The verified person of `user`.
    pub async fn person(&self, user: &WxUserRecord) -> Result<PersonRecord, PeopleError> {
        match user.person_id {
            Some(id) => self.store.person(id).await?,
            None => None,
        }
        .ok_or(PeopleError::NotVerified)
    }

    /// The verified person of `user` and their phones.
    pub async fn person_of(
        &self,
        user: &WxUserRecord,
    ) -> Result<(PersonRecord, Vec<String>), PeopleError> {
        let person = self.person(user).await?;
        let phones = self.store.phones_of(person.id).await?;
        Ok((person, phones))
    }

    /// The phones bound to `person`.
    pub async fn phones_of(&self, person: &PersonRecord) -> Result<Vec<String>, PeopleError> {
        Ok(self.store.phones_of(person.id).await?)
    }

    /// The certificates the user's person downloaded, and which one is their default.
    pub async fn certificates(
        &self,
        user: &WxUserRecord,
    ) -> Result<(Vec<CertificateRecord>, Option<i64>), PeopleError> {
        let person = self.person(user).await?;
        self.certificates_of(&person).await
    }

    /// The signed-in person's certificate `serial` (hex, as typed), if they downloaded it
    /// (whatever its state now).
    pub async fn held(
        &self,
        user: &WxUserRecord,
        serial: &str,
    ) -> Result<Option<CertificateRecord>, PeopleError> {
        let Ok(serial) = crate::domain::CertificateSerial::parse(serial.trim()) else {
            return Ok(None);
        };
        let (held, _) = self.certificates(user).await?;
        Ok(held
            .into_iter()
            .find(|certificate| certificate.serial == serial))
    }

    /// The certificates `person` downloaded, and which one is their default.
    pub async fn certificates_of(
        &self,
        person: &PersonRecord,
    ) -> Result<(Vec<CertificateRecord>, Option<i64>), PeopleError> {
        Ok(self.store.certificates_of(person.id).await?)
    }

    /// Makes one of the person's certificates in force their default (默认证书).
    pub async fn set_default(&self, user: &WxUserRecord, serial: &str) -> Result<(), PeopleError> {
        let person = self.person(user).await?;
        let (held, _) = self.store.certificates_of(person.id).await?;
        let now = self.clock.now();
        let chosen = held
            .iter()
            .find(|c| c.serial.to_string() == serial.trim() && Standing::of(c, now).in_force())
            .ok_or(PeopleError::CertificateNotHeld)?;
        Ok(self.store.set_default(person.id, chosen.id).await?)
    }

    /// Checks again that the user is their person (a fresh face result of this person by this
    /// WeChat user) and holds one of their bound phones (an SMS code to it): what unlocking a
    /// certificate asks for. Returns the person.
    pub async fn reverify(
        &self,
        user: &WxUserRecord,
        verify_result: &str,
        phone: &str,
        code: &str,
    ) -> Result<PersonRecord, PeopleError> {
        let (person, phones) = self.person_of(user).await?;
        self.check_face(user, verify_result, &person.name, &person.id_number)
            .await?;
        let phone = PhoneNumber::parse(phone)?;
        if !phones.iter().any(|p| p == phone.as_str()) {
            return Err(PeopleError::PhoneNotBound);
        }
        self.otp
            .verify(&phone, OtpPurpose::DownloadPhone, code)
            .await?;
        Ok(person)
    }

    /// The face result must be a pass of this person, by this WeChat user, recent.
    async fn check_face(
        &self,
        user: &WxUserRecord,
        verify_result: &str,
        name: &str,
        id_number: &str,
    ) -> Result<(), PeopleError> {
        match self
            .providers
            .face
            .verify(verify_result.trim(), name, id_number)
            .await?
        {
            FaceOutcome::Passed { openid } if openid == user.openid => Ok(()),
            FaceOutcome::Passed { .. } | FaceOutcome::OtherPerson => {
                Err(PeopleError::FaceOtherPerson)
            }
            FaceOutcome::Expired => Err(PeopleError::FaceExpired),
            FaceOutcome::Failed { .. } => Err(PeopleError::FaceFailed),
        }
    }

    /// Real-name verification: the face verification `verify_result` must have passed for this
    /// name and ID number, for this WeChat user, recently; the provider's answer decides, never
    /// the client's word.
    pub async fn verify_real_name(
        &self,
        user: &WxUserRecord,
        name: &str,
        id_number: &str,
        verify_result: &str,
    ) -> Result<PersonRecord, PeopleError> {
        let name = PersonName::parse(name)?;
        let id_number = ResidentId::parse(id_number)?;
        self.check_face(user, verify_result, name.as_str(), id_number.as_str())
            .await?;
        let audit = AuditDraft {
            actor: Actor::WeChatUser(user.id),
            action: "person.verify",
            subject: format!("wx_user:{}", user.id),
            detail: serde_json::json!({ "method": "face" }),
        };
        self.store
            .verify_person(
                user.id,
                name.as_str(),
                id_number.as_str(),
                self.clock.now(),
                audit,
            )
            .await?
            .ok_or(PeopleError::NameMismatch)
    }

    /// Sends the SMS code that proves the phone to download with (verified people only; a
    /// phone bound to someone else is refused before any message is sent).
    pub async fn send_phone_code(
        &self,
        user: &WxUserRecord,
        phone: &str,
        client_address: &str,
    ) -> Result<SentCode, PeopleError> {
        let person = self.person(user).await?;
        let phone = PhoneNumber::parse(phone)?;
        if self
            .store
            .phone_holder(phone.as_str())
            .await?
            .is_some_and(|holder| holder != person.id)
        {
            return Err(PeopleError::PhoneBound);
        }
        Ok(self
            .otp
            .send(&phone, OtpPurpose::DownloadPhone, client_address)
            .await?)
    }

    /// Binds a phone to the user's person: the SMS code proves the phone is at hand, the
    /// carrier that it is registered to the person, the binding that nobody else holds it.
    pub async fn bind_phone(
        &self,
        user: &WxUserRecord,
        phone: &str,
        code: &str,
    ) -> Result<BindOutcome, PeopleError> {
        let person = self.person(user).await?;
        let phone = PhoneNumber::parse(phone)?;
        self.otp
            .verify(&phone, OtpPurpose::DownloadPhone, code)
            .await?;
        match self
            .providers
            .carrier
            .check(&person.name, &person.id_number, phone.as_str())
            .await?
        {
            CarrierVerdict::Consistent => {}
            _ => return Err(PeopleError::PhoneNotOwned),
        }
        let audit = AuditDraft {
            actor: Actor::WeChatUser(user.id),
            action: "phone.bind",
            subject: format!("phone:{}", phone.as_str()),
            detail: serde_json::json!({ "person": person.id }),
        };
        match self
            .store
            .bind_phone(phone.as_str(), person.id, self.clock.now(), audit)
            .await?
        {
            BindOutcome::OtherPerson => Err(PeopleError::PhoneBound),
            outcome => Ok(outcome),
        }
    }

    /// The holder unbinds one of their phones (手机号解绑).
    pub async fn unbind_phone(&self, user: &WxUserRecord, phone: &str) -> Result<(), PeopleError> {
        let person = self.person(user).await?;
        let phone = PhoneNumber::parse(phone)?;
        let audit = AuditDraft {
            actor: Actor::WeChatUser(user.id),
            action: "phone.unbind",
            subject: format!("phone:{}", phone.as_str()),
            detail: serde_json::json!({ "person": person.id, "by": "holder" }),
        };
        if self
            .store
            .unbind_phone(phone.as_str(), Some(person.id), audit)
            .await?
        {
            Ok(())
        } else {
            Err(PeopleError::PhoneNotBound)
        }
    }

    /// Staff unbind a phone after re-verifying who asks (the previous holder cannot), with the
    /// reason recorded in the audit log.
    pub async fn staff_unbind_phone(
        &self,
        staff: &Reviewer,
        phone: &str,
        reason: &str,
    ) -> Result<(), PeopleError> {
        let phone = PhoneNumber::parse(phone)?;
        let reason = staff_reason(reason)?;
        let audit = AuditDraft {
            actor: staff.actor(),
            action: "phone.unbind",
            subject: format!("phone:{}", phone.as_str()),
            detail: serde_json::json!({ "by": "staff", "reason": reason }),
        };
        if self.store.unbind_phone(phone.as_str(), None, audit).await? {
            Ok(())
        } else {
            Err(PeopleError::PhoneNotBound)
        }
    }
}

impl Describe for PeopleError {
    fn describe(&self) -> Description {
        match self {
            Self::NotSignedIn => {
                Description::new(code::MP_NOT_SIGNED_IN, "登录已失效，请重新进入小程序登录")
            }
            Self::NotVerified => {
                Description::new(code::PERSON_NOT_VERIFIED, "未查询到人员信息，请先实名认证")
            }
            Self::FaceFailed => Description::new(
                code::FACE_FAILED,
                "人脸识别未通过，请在光线充足处正对屏幕重新刷脸认证",
            ),
            Self::FaceOtherPerson => Description::new(
                code::FACE_OTHER_PERSON,
                "人脸识别结果不是本人在本微信中刷脸所得（姓名、身份证号或微信账号不一致），\
                 请本人用本微信重新刷脸认证",
            ),
            Self::FaceExpired => {
                Description::new(code::FACE_EXPIRED, "人脸识别结果已过期，请重新刷脸认证")
            }
            Self::NameMismatch => Description::new(
                code::PERSON_NAME_MISMATCH,
                "该身份证号已登记的姓名与填写的不一致；如姓名有变更，请联系云南CA公司核实",
            ),
            Self::PhoneNotOwned => Description::new(
                code::PHONE_NOT_OWNED,
                "未获取到绑定信息：该手机号未登记在您本人名下（申请手机号和经办人不一致）。请将人、号不一致的\
                 手机证书申请废除，再用本人实名登记的手机号重新申请；新办理的号码，运营商实名信息可能 1–3 天后\
                 才能查到",
            ),
            Self::PhoneBound => Description::new(
                code::PHONE_BOUND,
                "手机号已被绑定：该手机号已与其他经办人绑定。请前经办人在就业彩云南小程序“我的—账号管理—\
                 手机号解绑”中解绑，或联系云南CA公司核实身份后解绑",
            ),
            Self::PhoneNotBound => {
                Description::new(code::PHONE_NOT_BOUND, "该手机号未绑定，无需解绑")
            }
            // Setting a default: the certificate is not (any longer) one the person may use.
            Self::CertificateNotHeld => Description::new(
                code::CERTIFICATE_NOT_HELD,
                "未找到该证书，或该证书已废除、已过期，不能设为默认证书",
            )
            .of_kind(crate::failure::ErrorKind::NotFound),
            Self::ReasonMissing => Description::new(
                code::STAFF_REASON_MISSING,
                "须填写核实身份的方式和原因（200 字以内）",
            ),
            Self::WeChat(e) => e.describe(),
            Self::Carrier(e) => e.describe(),
            Self::Otp(e) => e.describe(),
            Self::Domain(e) => e.describe(),
            Self::Storage(e) => e.describe(),
            Self::Kv(e) => e.describe(),
        }
    }
}
