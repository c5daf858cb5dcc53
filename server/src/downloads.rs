//! Certificate download in the mini-program (seed 000 §四(一): 手机CA证书下载 → 下载新证书): a
//! verified person sees the employers whose approved application names them as agent on one of
//! their bound phones, and downloading one runs the split-key enrolment for that application.
//! A download on a new phone revokes the certificate on the old one when it activates.

use std::sync::Arc;

use crate::{
    applications::{ApplicationError, ApplicationRecord, Applications},
    ca::{HolderDraft, StorageError, UnitDraft},
    domain::{CertificateSerial, DomainError},
    enrol::{DownloadLink, EnrolError, Enrolment, StartedEnrolment},
    people::{People, PeopleError, WxUserRecord, staff_reason},
    staff::StaffRecord,
    sync::{SyncStatus, Syncer},
};

/// An employer the person may download a certificate for.
#[derive(Debug, Clone)]
pub struct Downloadable {
    /// The approved application.
    pub application: ApplicationRecord,
    /// Where its push to the employment platform stands.
    pub sync: SyncStatus,
}

impl Downloadable {
    /// Whether it can be downloaded now: the employment platform has the data (seed 000 FAQ
    /// (三) 2: 后台数据没推送成功 means no download yet).
    pub fn ready(&self) -> bool {
        self.sync == SyncStatus::Synced
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

/// The download service.
#[derive(Debug)]
pub struct Downloads {
    people: Arc<People>,
    applications: Arc<Applications>,
    sync: Arc<Syncer>,
    enrolment: Arc<Enrolment>,
}

impl Downloads {
    /// The service over the people, the applications, the sync state and enrolment.
    pub fn new(
        people: Arc<People>,
        applications: Arc<Applications>,
        sync: Arc<Syncer>,
        enrolment: Arc<Enrolment>,
    ) -> Self {
        Self {
            people,
            applications,
            sync,
            enrolment,
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
            .map(|application| Downloadable {
                sync: syncs
                    .remove(&application.id)
                    .map_or(SyncStatus::Pending, |state| state.delivery.status),
                application,
            })
            .collect())
    }

    /// Unlocks the person's locked certificate `serial` after real-name + face + SMS again
    /// (DESIGN.md §4: the same semantics as the USB key); audited as `key.unlock`.
    pub async fn unlock(
        &self,
        user: &WxUserRecord,
        serial: &str,
        verify_result: &str,
        phone: &str,
        code: &str,
    ) -> Result<(), DownloadError> {
        let (held, _) = self.people.certificates(user).await?;
        let certificate = held
            .into_iter()
            .find(|c| c.serial.to_string() == serial.trim())
            .ok_or(PeopleError::CertificateNotHeld)?;
        let person = self
            .people
            .reverify(user, verify_result, phone, code)
            .await?;
        self.unlock_key(
            &certificate.serial,
            &format!("person:{}", person.id),
            "real-name, face and SMS",
        )
        .await
    }

    /// Staff unlock a PIN-locked certificate after re-verifying its holder at the counter
    /// (DESIGN.md §2), audited as `key.unlock` with the reason.
    pub async fn staff_unlock(
        &self,
        staff: &StaffRecord,
        serial: &CertificateSerial,
        reason: &str,
    ) -> Result<(), DownloadError> {
        let reason = staff_reason(reason)?;
        self.enrolment.certificate(serial).await?;
        self.unlock_key(serial, &format!("staff:{}", staff.username), reason)
            .await
    }

    async fn unlock_key(
        &self,
        serial: &CertificateSerial,
        actor: &str,
        how: &str,
    ) -> Result<(), DownloadError> {
        let unlocked = self
            .enrolment
            .cosigner()
            .unlock(serial, actor, how)
            .await
            .map_err(EnrolError::from)?;
        if unlocked {
            Ok(())
        } else {
            Err(DownloadError::NotLocked)
        }
    }

    /// Starts downloading the certificate of application `application_id` with the phone's
    /// public share `p1`; the phone finishes with the co-signing steps.
    pub async fn start(
        &self,
        user: &WxUserRecord,
        application_id: i64,
        p1: &[u8],
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
