//! Certificate download in the mini-program (seed 000 §四(一): 手机CA证书下载 → 下载新证书): a
//! verified person sees the employers whose approved application names them as agent on one of
//! their bound phones, and downloading one runs the split-key enrolment for that application.
//! A download on a new phone revokes the certificate on the old one when it activates.
//!
//! Downloading again while the person holds an active (or PIN-locked) certificate for the
//! employer needs the proof an unlock needs — a fresh face result of the person and an SMS
//! code to a bound phone — or a copied mini-program session would yield a certificate with a
//! PIN of the thief's choosing. The holder is told by SMS whenever a certificate is downloaded
//! again, revoked or unlocked.

use std::sync::Arc;

use crate::audit::Actor;
use crate::clock::Clock;
use crate::failure::StorageError;
use crate::failure::{Describe, Description, code};
use crate::{
    applications::{ApplicationError, ApplicationRecord, Applications},
    ca::{CertificateRecord, HolderDraft, UnitDraft},
    certificates::Standing,
    domain::{CertificateSerial, DomainError},
    enrol::{DownloadLink, EnrolError, Enrolment, StartedEnrolment},
    notify::NoticeDraft,
    people::{People, PeopleError, PersonRecord, WxUserRecord, staff_reason},
    providers::sms::CertificateChange,
    staff::Reviewer,
    sync::{SyncStatus, Syncer},
};

/// An employer the person may download a certificate for.
#[derive(Debug, Clone)]
pub struct Downloadable {
    /// The approved application.
    pub application: ApplicationRecord,
    /// Where its push to the employment platform stands.
    pub sync: SyncStatus,
    /// Whether the platform has received the application at least once: an approved
    /// information change pushes it again, and the download need not wait for that.
    pub delivered_before: bool,
}

impl Downloadable {
    /// Whether it can be downloaded now: the employment platform has the data (seed 000 FAQ
    /// (三) 2: 后台数据没推送成功 means no download yet).
    pub fn ready(&self) -> bool {
        self.sync == SyncStatus::Synced || self.delivered_before
    }
}

/// Why a download was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// No approved application names this person as agent on a bound phone (未获取到绑定信息).
    #[error("no approved application for this person and phone")]
    NoBindingInfo,
    /// The application is approved, but its data has not reached the employment platform.
    #[error("application data not pushed yet")]
    NotSynced,
    /// The certificate's key is not locked.
    #[error("key not locked")]
    NotLocked,
    /// The person holds an active certificate for this employer already: downloading again
    /// needs a fresh face result and an SMS code, as an unlock does.
    #[error("downloading again needs re-verification")]
    ReverificationRequired,
    /// From the person's account.
    #[error(transparent)]
    People(#[from] PeopleError),
    /// From the applications.
    #[error(transparent)]
    Application(#[from] ApplicationError),
    /// From enrolment.
    #[error(transparent)]
    Enrol(#[from] EnrolError),
    /// Stored data no longer parses.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// What unlocking a certificate and downloading one again ask for: the real-name steps again.
#[derive(Debug, Clone)]
pub struct Reverification {
    /// A fresh `wx.startFacialRecognitionVerify` result of the person.
    pub verify_result: String,
    /// One of the person's bound phones.
    pub phone: String,
    /// The SMS code sent to it.
    pub code: String,
}

/// The download service.
#[derive(Debug)]
pub struct Downloads {
    people: Arc<People>,
    applications: Arc<Applications>,
    sync: Arc<Syncer>,
    enrolment: Arc<Enrolment>,
    clock: Arc<dyn Clock>,
}

impl Downloads {
    /// The service over the people, the applications, the sync state and enrolment, telling
    /// expired certificates by `clock`.
    pub fn new(
        people: Arc<People>,
        applications: Arc<Applications>,
        sync: Arc<Syncer>,
        enrolment: Arc<Enrolment>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            people,
            applications,
            sync,
            enrolment,
            clock,
        }
    }

    /// The employers `user`'s person may download for: approved applications naming the person
    /// (by ID number) as agent on one of their bound phones. Empty is [`DownloadError::
    /// NoBindingInfo`]: the seed's 未获取到绑定信息.
    pub async fn employers(&self, user: &WxUserRecord) -> Result<Vec<Downloadable>, DownloadError> {
        let (person, phones) = self.people.person_of(user).await?;
        let applications: Vec<ApplicationRecord> = self
            .applications
            .approved_for_agent(&person.id_number)
            .await?
            .into_iter()
            .filter(|a| {
                a.agent
                    .as_ref()
                    .is_some_and(|agent| phones.contains(&agent.phone))
            })
            .collect();
        if applications.is_empty() {
            return Err(DownloadError::NoBindingInfo);
        }
        let ids: Vec<i64> = applications.iter().map(|a| a.id).collect();
        let mut syncs = self.sync.states(&ids).await?;
        Ok(applications
            .into_iter()
            .map(|application| {
                let delivery = syncs.remove(&application.id).map(|state| state.delivery);
                Downloadable {
                    sync: delivery.as_ref().map_or(SyncStatus::Pending, |d| d.status),
                    // Only a delivery sets the platform's reference, and nothing clears it.
                    delivered_before: delivery.is_some_and(|d| d.reference.is_some()),
                    application,
                }
            })
            .collect())
    }

    /// Unlocks the person's locked certificate `serial` after real-name + face + SMS again
    /// (DESIGN.md §4: the same semantics as the USB key); audited as `key.unlock`.
    pub async fn unlock(
        &self,
        user: &WxUserRecord,
        serial: &str,
        proof: &Reverification,
    ) -> Result<(), DownloadError> {
        let (held, _) = self.people.certificates(user).await?;
        let certificate = held
            .into_iter()
            .find(|c| c.serial.to_string() == serial.trim())
            .ok_or(PeopleError::CertificateNotHeld)?;
        let person = self.reverify(user, proof).await?;
        self.unlock_key(
            &certificate,
            &Actor::Person(person.id),
            "real-name, face and SMS",
        )
        .await
    }

    async fn reverify(
        &self,
        user: &WxUserRecord,
        proof: &Reverification,
    ) -> Result<PersonRecord, DownloadError> {
        Ok(self
            .people
            .reverify(user, &proof.verify_result, &proof.phone, &proof.code)
            .await?)
    }

    /// Staff unlock a PIN-locked certificate after re-verifying its holder at the counter
    /// (DESIGN.md §2), audited as `key.unlock` with the reason.
    pub async fn staff_unlock(
        &self,
        staff: &Reviewer,
        serial: &CertificateSerial,
        reason: &str,
    ) -> Result<(), DownloadError> {
        let reason = staff_reason(reason)?;
        let certificate = self.enrolment.certificate(serial).await?;
        self.unlock_key(&certificate, &staff.actor(), reason).await
    }

    async fn unlock_key(
        &self,
        certificate: &CertificateRecord,
        actor: &Actor,
        how: &str,
    ) -> Result<(), DownloadError> {
        let notice = NoticeDraft::certificate_changed(certificate, CertificateChange::Unlocked);
        let unlocked = self
            .enrolment
            .cosigner()
            .unlock(&certificate.serial, actor, how, notice)
            .await
            .map_err(EnrolError::from)?;
        if unlocked {
            Ok(())
        } else {
            Err(DownloadError::NotLocked)
        }
    }

    /// Starts downloading the certificate of application `application_id` with the phone's
    /// public share `p1`; the phone finishes with the co-signing steps. While the person holds
    /// an active certificate for the employer (PIN-locked or not), `proof` must re-verify them
    /// ([`DownloadError::ReverificationRequired`] without it).
    pub async fn start(
        &self,
        user: &WxUserRecord,
        application_id: i64,
        p1: &[u8],
        proof: Option<&Reverification>,
    ) -> Result<StartedEnrolment, DownloadError> {
        let person = self.people.person(user).await?;
        let chosen = self
            .employers(user)
            .await?
            .into_iter()
            .find(|d| d.application.id == application_id)
            .ok_or(DownloadError::NoBindingInfo)?;
        if !chosen.ready() {
            return Err(DownloadError::NotSynced);
        }
        let (Some(enterprise), Some(agent)) =
            (&chosen.application.enterprise, &chosen.application.agent)
        else {
            return Err(DownloadError::NoBindingInfo);
        };
        let unit = UnitDraft::parse(&enterprise.uscc, &enterprise.name)?;
        let holder = HolderDraft::parse(&person.name, &person.id_number, &agent.phone)?;
        let (held, _) = self.people.certificates_of(&person).await?;
        let now = self.clock.now();
        let holds_one = held
            .iter()
            .any(|c| c.uscc == unit.uscc.as_str() && Standing::of(c, now).in_force());
        if holds_one {
            let proof = proof.ok_or(DownloadError::ReverificationRequired)?;
            self.reverify(user, proof).await?;
        }
        let link = DownloadLink {
            application_id,
            person_id: person.id,
        };
        Ok(self
            .enrolment
            .start_download(unit, holder, link, p1)
            .await?)
    }
}

impl Describe for DownloadError {
    fn describe(&self) -> Description {
        match self {
            Self::NoBindingInfo => Description::new(
                code::NO_BINDING_INFO,
                "未获取到绑定信息：没有以您本人为经办人、以已绑定手机号申请并已审核通过的单位。请核对申请时填写的\
                 经办人和手机号是否为本人；人、号不一致的申请需废除后，用本人实名登记的手机号重新申请",
            ),
            Self::NotSynced => Description::new(
                code::APPLICATION_NOT_SYNCED,
                "未获取到绑定信息：申请资料尚未推送到就业系统，请稍后再试；如长时间未推送成功，请联系\
                 云南CA公司进行数据推送",
            ),
            Self::NotLocked => Description::new(code::KEY_NOT_LOCKED, "该证书未锁定，无需解锁"),
            Self::ReverificationRequired => Description::new(
                code::DOWNLOAD_REVERIFICATION_REQUIRED,
                "您已下载过该单位的证书。为防止他人冒用，重新下载需再次进行人脸识别，并输入发送到您绑定手机的\
                 短信验证码",
            ),
            Self::People(e) => e.describe(),
            Self::Application(e) => e.describe(),
            Self::Enrol(e) => e.describe(),
            Self::Domain(e) => e.describe(),
            Self::Storage(e) => e.describe(),
        }
    }
}
