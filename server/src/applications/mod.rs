//! The application wizard (seed 000 §三(二), DESIGN.md §4): the agreement accepted after a
//! server-enforced reading countdown, then enterprise info, agent info and CA info saved as
//! drafts step by step, then submission for review. A rejected application is edited and
//! resubmitted; a submitted or approved one cannot be edited. An approved application's
//! employer address and legal representative change through a reviewed information change
//! ([`changes`]).

pub mod agreement;
pub mod changes;
pub mod form_fonts;
pub mod form_pdf;
pub mod regions;
mod steps;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

pub use steps::{
    AgentInfo, AgentInput, CaInfo, CaInput, EnterpriseInfo, EnterpriseInput, SealKind,
};

use crate::clock::Clock;
use crate::failure::{Describe, Description, ErrorKind, code};
use crate::{
    applicants::ApplicantRecord,
    audit::AuditDraft,
    certificates::Standing,
    domain::DomainError,
    employers::EmployerProfile,
    failure::StorageError,
    notify::NoticeDraft,
    providers::{platform::EmployerSync, sms::SmsNotice},
    staff::Reviewer,
    uploads::{UploadError, UploadPurpose, Uploads},
};

/// How long the agreement must be on screen before it can be accepted, by default.
pub const AGREEMENT_COUNTDOWN: TimeDelta = TimeDelta::seconds(10);

/// Review state as the applicant sees it (seed 000: 申请资料审核).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationStatus {
    /// Being filled in.
    Draft,
    /// Waiting for staff review (待审核).
    Submitted,
    /// Rejected with a reason (审核驳回); may be edited and resubmitted.
    Rejected,
    /// Approved (审核通过).
    Approved,
}

impl ApplicationStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Rejected => "rejected",
            Self::Approved => "approved",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Draft, Self::Submitted, Self::Rejected, Self::Approved]
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    /// The seed's wording.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Draft => "填写中",
            Self::Submitted => "申请资料审核：待审核",
            Self::Rejected => "申请资料审核：审核驳回",
            Self::Approved => "申请资料审核：审核通过",
        }
    }

    /// Whether the applicant may change the steps.
    pub fn editable(self) -> bool {
        matches!(self, Self::Draft | Self::Rejected)
    }
}

/// An application as stored.
#[derive(Debug, Clone)]
pub struct ApplicationRecord {
    /// Id.
    pub id: i64,
    /// Owner.
    pub applicant_id: i64,
    /// Review state.
    pub status: ApplicationStatus,
    /// When the agreement was first shown.
    pub agreement_shown_at: DateTime<Utc>,
    /// When it was accepted.
    pub agreement_accepted_at: Option<DateTime<Utc>>,
    /// Step 1.
    pub enterprise: Option<EnterpriseInfo>,
    /// Step 2.
    pub agent: Option<AgentInfo>,
    /// Step 3.
    pub ca: Option<CaInfo>,
    /// Why staff rejected it.
    pub reject_reason: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Last submission.
    pub submitted_at: Option<DateTime<Utc>>,
    /// Region code of step 1, for the review queue.
    pub region_code: Option<String>,
    /// USCC of step 1, for quotas.
    pub uscc: Option<String>,
    /// Beyond the employer's free quota (decided at submission).
    pub billable: Option<bool>,
    /// The yearly fee when billable.
    pub fee_yuan: Option<u32>,
    /// When a reviewer decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Which reviewer.
    pub decided_by: Option<String>,
}

/// One change to an application, applied only if its status is still one of `from`.
#[derive(Debug, Clone)]
pub enum Change {
    /// Accept the agreement.
    AcceptAgreement(DateTime<Utc>),
    /// Save a step (the column and the validated document).
    SaveStep(Step, Value),
    /// Submit for review. The store registers the employer the enterprise step names if it is
    /// new and decides the charge with [`crate::billing::new_certificate`] in the same
    /// transaction, serialised per employer, from the employer's other submitted or approved
    /// applications and its employee count, so two simultaneous first submissions cannot both
    /// be free.
    Submit(DateTime<Utc>, EmployerProfile),
    /// Staff decision on a submitted application.
    Decide(Box<Decision>),
}

/// A reviewer's decision.
#[derive(Debug, Clone)]
pub struct Decision {
    /// Approved, or rejected with the reason.
    pub outcome: Outcome,
    /// The reviewer's username.
    pub staff: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The audit entry, written in the same transaction.
    pub audit: AuditDraft,
    /// On approval: the reviewed enterprise details, written to the employer record in the
    /// same transaction.
    pub employer: Option<EmployerProfile>,
    /// On approval: the push to the employment platform, queued in the same transaction.
    pub sync: Option<EmployerSync>,
    /// The SMS to the agent, queued in the same transaction.
    pub notice: Option<NoticeDraft>,
}

/// What the reviewer decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 审核通过.
    Approve,
    /// 审核驳回, with the reason the applicant sees.
    Reject(String),
}

impl Outcome {
    /// The outcome with a rejection's reason trimmed; a rejection needs a reason the applicant
    /// can act on, of at most 200 characters ([`ApplicationError::ReasonMissing`]).
    pub fn checked(self) -> Result<Self, ApplicationError> {
        match self {
            Self::Reject(reason) => {
                let reason = reason.trim().to_string();
                if reason.is_empty() || reason.chars().count() > 200 {
                    return Err(ApplicationError::ReasonMissing);
                }
                Ok(Self::Reject(reason))
            }
            approve => Ok(approve),
        }
    }
}

/// What the employment platform is sent for an approved application with these steps: the
/// details as approved (`revision` 0), or as an approved information change left them (the
/// number of changes approved so far).
fn employer_sync(
    application_id: i64,
    enterprise: &EnterpriseInfo,
    agent: &AgentInfo,
    ca: &CaInfo,
    revision: u32,
) -> EmployerSync {
    EmployerSync {
        application_id,
        uscc: enterprise.uscc.clone(),
        unit_name: enterprise.name.clone(),
        region_code: enterprise.region_code.clone(),
        address: Some(enterprise.address.clone()),
        legal_representative_name: Some(enterprise.legal_representative_name.clone()),
        legal_representative_id: Some(enterprise.legal_representative_id.clone()),
        agent_name: agent.name.clone(),
        agent_phone: agent.phone.clone(),
        seal_wanted: ca.seal_wanted,
        revision,
    }
}

/// Review-queue filters (all optional) and the page.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Only this status (default: submitted).
    pub status: Option<ApplicationStatus>,
    /// Only regions starting with these digits (`53` Yunnan, `5301` Kunming, `530112` Xishan).
    pub region_prefix: Option<String>,
    /// Submitted at or after.
    pub submitted_from: Option<DateTime<Utc>>,
    /// Submitted before.
    pub submitted_to: Option<DateTime<Utc>>,
    /// Rows to skip.
    pub offset: u64,
    /// Rows to return.
    pub limit: u64,
}

/// A wizard step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// 企业基本信息.
    Enterprise,
    /// 经办人资料.
    Agent,
    /// CA 信息.
    Ca,
}

/// Storage of applications (`store/` implements it).
#[async_trait::async_trait]
pub trait ApplicationStore: Send + Sync + std::fmt::Debug {
    /// A new draft for `applicant_id`, agreement shown `now`.
    async fn create_application(
        &self,
        applicant_id: i64,
        now: DateTime<Utc>,
    ) -> Result<ApplicationRecord, StorageError>;
    /// An application by id.
    async fn application(&self, id: i64) -> Result<Option<ApplicationRecord>, StorageError>;
    /// The applicant's applications, newest first.
    async fn applications_of(
        &self,
        applicant_id: i64,
    ) -> Result<Vec<ApplicationRecord>, StorageError>;
    /// The newest activated certificate downloaded for each of these applications (those that
    /// have one).
    async fn certificates_of(
        &self,
        application_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, crate::ca::CertificateRecord>, StorageError>;
    /// Approved applications naming `id_number` as their agent, oldest first.
    async fn approved_for_agent(
        &self,
        id_number: &str,
    ) -> Result<Vec<ApplicationRecord>, StorageError>;
    /// Records a registered employer's employee count (`source`: `staff` or `platform`),
    /// audited; false if no employer of `uscc` is registered.
    async fn set_employee_count(
        &self,
        uscc: &str,
        count: u32,
        source: &str,
        audit: AuditDraft,
    ) -> Result<bool, StorageError>;
    /// A page of applications matching `filter`, oldest submission first, and the total count.
    async fn queue(
        &self,
        filter: &QueueFilter,
    ) -> Result<(Vec<ApplicationRecord>, u64), StorageError>;
    /// Applies `change` if the status is still `expected` (one conditional UPDATE, with the
    /// audit entry of a decision in the same transaction); `false` if another request changed
    /// the status first.
    async fn apply(
        &self,
        id: i64,
        expected: ApplicationStatus,
        change: Change,
    ) -> Result<bool, StorageError>;
}

/// Why a wizard action was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplicationError {
    /// Unknown id or someone else's application.
    #[error("application not found")]
    NotFound,
    /// Submitted or approved: nothing may change.
    #[error("application is {status:?} and cannot be edited")]
    NotEditable {
        /// Current status.
        status: ApplicationStatus,
    },
    /// The agreement countdown has not run out.
    #[error("agreement countdown still running")]
    AgreementTooSoon {
        /// Seconds left.
        remaining_secs: i64,
    },
    /// A step before this one is missing.
    #[error("step missing: {missing}")]
    StepMissing {
        /// `agreement`, `enterprise`, `agent` or `ca`.
        missing: &'static str,
    },
    /// An open draft exists already.
    #[error("a draft exists")]
    DraftExists {
        /// Its id.
        id: i64,
    },
    /// A field is invalid.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The input field `field` is invalid.
    #[error("invalid field {field}: {source}")]
    DomainIn {
        /// Which, as the request names it.
        field: &'static str,
        /// Why.
        source: DomainError,
    },
    /// A field other than the parsed domain values is invalid.
    #[error("invalid field {field}")]
    Field {
        /// Which.
        field: &'static str,
        /// What to do, in Chinese.
        message: &'static str,
    },
    /// A referenced upload is missing, someone else's, or of the wrong kind.
    #[error(transparent)]
    Upload(#[from] UploadError),
    /// A rejection needs a reason the applicant can act on.
    #[error("reject reason missing")]
    ReasonMissing,
    /// The application form could not be drawn.
    #[error(transparent)]
    FormPdf(#[from] form_pdf::FormPdfError),
    /// An upload of the wrong kind.
    #[error("upload {field} is not a {expected}")]
    UploadPurpose {
        /// Which field.
        field: &'static str,
        /// The purpose it needs.
        expected: &'static str,
    },
    /// No application has named this employer yet.
    #[error("employer {uscc} unknown")]
    EmployerUnknown {
        /// The USCC given.
        uscc: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The wizard.
#[derive(Debug)]
pub struct Applications {
    store: Arc<dyn ApplicationStore>,
    uploads: Arc<Uploads>,
    countdown: TimeDelta,
    /// The printed form's fallback fonts: what the steps accept is what the form can print.
    fonts: Arc<form_fonts::FormFonts>,
    clock: Arc<dyn Clock>,
}

impl Applications {
    /// The wizard over its store and the uploads, with the agreement's reading countdown and
    /// the fonts the application form is printed with; the countdown runs by `clock`.
    pub fn new(
        store: Arc<dyn ApplicationStore>,
        uploads: Arc<Uploads>,
        countdown: TimeDelta,
        fonts: Arc<form_fonts::FormFonts>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            uploads,
            countdown,
            fonts,
            clock,
        }
    }

    /// Staff record an employer's registered employee count (until the employment platform
    /// sync provides it), audited.
    pub async fn set_employee_count(
        &self,
        staff: &Reviewer,
        uscc: &crate::domain::Uscc,
        count: u32,
    ) -> Result<(), ApplicationError> {
        let audit = AuditDraft {
            actor: staff.actor(),
            action: "employer.employee_count",
            subject: uscc.as_str().to_string(),
            detail: serde_json::json!({ "employee_count": count }),
        };
        if self
            .store
            .set_employee_count(uscc.as_str(), count, "staff", audit)
            .await?
        {
            Ok(())
        } else {
            Err(ApplicationError::EmployerUnknown {
                uscc: uscc.as_str().to_string(),
            })
        }
    }

    /// The review queue for staff.
    pub async fn queue(
        &self,
        filter: &QueueFilter,
    ) -> Result<(Vec<ApplicationRecord>, u64), ApplicationError> {
        Ok(self.store.queue(filter).await?)
    }

    /// Any application, for staff.
    pub async fn for_staff(&self, id: i64) -> Result<ApplicationRecord, ApplicationError> {
        self.store
            .application(id)
            .await?
            .ok_or(ApplicationError::NotFound)
    }

    /// Approves or rejects a submitted application; the audit entry, the agent's SMS (with the
    /// seed's wording) and, on approval, the push to the employment platform are written in the
    /// same transaction. The caller flushes the notice outbox.
    pub async fn decide(
        &self,
        staff: &Reviewer,
        id: i64,
        outcome: Outcome,
    ) -> Result<ApplicationRecord, ApplicationError> {
        let outcome = outcome.checked()?;
        let application = self.for_staff(id).await?;
        let (ApplicationStatus::Submitted, Some(enterprise), Some(agent), Some(ca)) = (
            application.status,
            &application.enterprise,
            &application.agent,
            &application.ca,
        ) else {
            return Err(ApplicationError::NotEditable {
                status: application.status,
            });
        };
        let (action, detail) = match &outcome {
            Outcome::Approve => ("application.approve", serde_json::json!({})),
            Outcome::Reject(reason) => (
                "application.reject",
                serde_json::json!({ "reason": reason }),
            ),
        };
        let unit_name = enterprise.name.clone();
        let (sync, notice) = match &outcome {
            Outcome::Approve => (
                Some(employer_sync(application.id, enterprise, agent, ca, 0)),
                SmsNotice::ApplicationApproved {
                    unit_name,
                    agent_name: agent.name.clone(),
                    seal_wanted: ca.seal_wanted,
                },
            ),
            Outcome::Reject(reason) => (
                None,
                SmsNotice::ApplicationRejected {
                    unit_name,
                    reason: reason.clone(),
                },
            ),
        };
        let employer = matches!(outcome, Outcome::Approve).then(|| EmployerProfile::of(enterprise));
        let decision = Decision {
            employer,
            sync,
            notice: NoticeDraft::new(&agent.phone, format!("application:{id}"), notice),
            outcome,
            staff: staff.username().to_string(),
            at: self.clock.now(),
            audit: AuditDraft {
                actor: staff.actor(),
                action,
                subject: format!("application:{id}"),
                detail,
            },
        };
        self.apply(&application, Change::Decide(Box::new(decision)))
            .await?;
        self.for_staff(id).await
    }

    /// Approved applications whose agent has this ID number (what a verified person may
    /// download).
    pub async fn approved_for_agent(
        &self,
        id_number: &str,
    ) -> Result<Vec<ApplicationRecord>, ApplicationError> {
        Ok(self.store.approved_for_agent(id_number).await?)
    }

    /// Where the newest certificate of each application that has one stands now (see
    /// [`ApplicationStore::certificates_of`]).
    pub async fn certificates_of(
        &self,
        application_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Standing>, ApplicationError> {
        let now = self.clock.now();
        Ok(self
            .store
            .certificates_of(application_ids)
            .await?
            .into_iter()
            .map(|(id, certificate)| (id, Standing::of(&certificate, now)))
            .collect())
    }

    /// The agreement's reading countdown in seconds.
    pub fn countdown_secs(&self) -> i64 {
        self.countdown.num_seconds()
    }

    /// When an application's agreement may be accepted.
    pub fn agreement_ready_at(&self, application: &ApplicationRecord) -> DateTime<Utc> {
        application.agreement_shown_at + self.countdown
    }

    /// Starts an application (the agreement is shown now), unless a draft is open.
    pub async fn create(
        &self,
        applicant: &ApplicantRecord,
    ) -> Result<ApplicationRecord, ApplicationError> {
        let existing = self.store.applications_of(applicant.id).await?;
        if let Some(draft) = existing
            .iter()
            .find(|a| a.status == ApplicationStatus::Draft)
        {
            return Err(ApplicationError::DraftExists { id: draft.id });
        }
        Ok(self
            .store
            .create_application(applicant.id, self.clock.now())
            .await?)
    }

    /// The applicant's applications.
    pub async fn list(
        &self,
        applicant: &ApplicantRecord,
    ) -> Result<Vec<ApplicationRecord>, ApplicationError> {
        Ok(self.store.applications_of(applicant.id).await?)
    }

    /// One of the applicant's applications.
    pub async fn get(
        &self,
        applicant: &ApplicantRecord,
        id: i64,
    ) -> Result<ApplicationRecord, ApplicationError> {
        match self.store.application(id).await? {
            Some(a) if a.applicant_id == applicant.id => Ok(a),
            _ => Err(ApplicationError::NotFound),
        }
    }

    /// The pre-filled 用人单位数字证书业务申请表 (seed 003) as a PDF, to be printed, stamped and
    /// uploaded in step 3; needs steps 1 and 2. Dated today, Beijing time.
    pub async fn form_pdf(
        &self,
        applicant: &ApplicantRecord,
        id: i64,
    ) -> Result<Vec<u8>, ApplicationError> {
        let application = self.get(applicant, id).await?;
        let Some(enterprise) = application.enterprise else {
            return Err(ApplicationError::StepMissing {
                missing: "enterprise",
            });
        };
        let Some(agent) = application.agent else {
            return Err(ApplicationError::StepMissing { missing: "agent" });
        };
        let fields = form_pdf::FormFields {
            application_id: application.id,
            unit_name: enterprise.name,
            address: enterprise.address,
            region_code: enterprise.region_code,
            uscc: enterprise.uscc,
            contact_phone: enterprise.contact_phone,
            agent_phone: agent.phone,
            legal_representative_name: enterprise.legal_representative_name,
            registration_authority: enterprise.registration_authority,
            legal_representative_id: enterprise.legal_representative_id,
            agent_name: agent.name,
            agent_id: agent.id_number,
            seal_wanted: application.ca.is_some_and(|ca| ca.seal_wanted),
            // Beijing time is UTC+8 all year.
            generated_on: (self.clock.now() + TimeDelta::hours(8)).date_naive(),
        };
        Ok(form_pdf::render(&fields, &self.fonts)?)
    }

    async fn editable(
        &self,
        applicant: &ApplicantRecord,
        id: i64,
    ) -> Result<ApplicationRecord, ApplicationError> {
        let application = self.get(applicant, id).await?;
        if !application.status.editable() {
            return Err(ApplicationError::NotEditable {
                status: application.status,
            });
        }
        Ok(application)
    }

    async fn apply(
        &self,
        application: &ApplicationRecord,
        change: Change,
    ) -> Result<(), ApplicationError> {
        if self
            .store
            .apply(application.id, application.status, change)
            .await?
        {
            Ok(())
        } else {
            // Someone (staff, another tab) changed the status meanwhile: report the new one.
            let now = self
                .store
                .application(application.id)
                .await?
                .ok_or(ApplicationError::NotFound)?;
            Err(ApplicationError::NotEditable { status: now.status })
        }
    }

    /// Accepts the agreement once the countdown has run out.
    pub async fn accept_agreement(
        &self,
        applicant: &ApplicantRecord,
        id: i64,
    ) -> Result<ApplicationRecord, ApplicationError> {
        let application = self.editable(applicant, id).await?;
        let now = self.clock.now();
        let ready_at = self.agreement_ready_at(&application);
        if now < ready_at {
            return Err(ApplicationError::AgreementTooSoon {
                remaining_secs: (ready_at - now).num_seconds() + 1,
            });
        }
        if application.agreement_accepted_at.is_none() {
            self.apply(&application, Change::AcceptAgreement(now))
                .await?;
        }
        self.get(applicant, id).await
    }

    async fn check_upload(
        &self,
        applicant: &ApplicantRecord,
        field: &'static str,
        id: &str,
        purpose: UploadPurpose,
    ) -> Result<(), ApplicationError> {
        let record = self.uploads.record_of(applicant.id, id).await?;
        if record.purpose != purpose {
            return Err(ApplicationError::UploadPurpose {
                field,
                expected: purpose.as_str(),
            });
        }
        Ok(())
    }

    /// Saves step 1 (needs the agreement).
    pub async fn save_enterprise(
        &self,
        applicant: &ApplicantRecord,
        id: i64,
        input: &EnterpriseInput,
    ) -> Result<ApplicationRecord, ApplicationError> {
        let application = self.editable(applicant, id).await?;
        if application.agreement_accepted_at.is_none() {
            return Err(ApplicationError::StepMissing {
                missing: "agreement",
            });
        }
        let info = EnterpriseInfo::parse(input, self.fonts.as_ref())?;
        self.check_upload(
            applicant,
            "licence_upload_id",
            &info.licence_upload_id,
            UploadPurpose::Licence,
        )
        .await?;
        self.apply(
            &application,
            Change::SaveStep(Step::Enterprise, to_json(&info)?),
        )
        .await?;
        self.get(applicant, id).await
    }

    /// Saves step 2 (needs step 1); the agent's phone is the applicant's.
    pub async fn save_agent(
        &self,
        applicant: &ApplicantRecord,
        id: i64,
        input: &AgentInput,
    ) -> Result<ApplicationRecord, ApplicationError> {
        let application = self.editable(applicant, id).await?;
        if application.enterprise.is_none() {
            return Err(ApplicationError::StepMissing {
                missing: "enterprise",
            });
        }
        let info = AgentInfo::parse(input, &applicant.phone, self.fonts.as_ref())?;
        self.check_upload(
            applicant,
            "id_front_upload_id",
            &info.id_front_upload_id,
            UploadPurpose::IdFront,
        )
        .await?;
        self.check_upload(
            applicant,
            "id_back_upload_id",
            &info.id_back_upload_id,
            UploadPurpose::IdBack,
        )
        .await?;
        self.apply(&application, Change::SaveStep(Step::Agent, to_json(&info)?))
            .await?;
        self.get(applicant, id).await
    }

    /// Saves step 3 (needs step 2).
    pub async fn save_ca(
        &self,
        applicant: &ApplicantRecord,
        id: i64,
        input: &CaInput,
    ) -> Result<ApplicationRecord, ApplicationError> {
        let application = self.editable(applicant, id).await?;
        if application.agent.is_none() {
            return Err(ApplicationError::StepMissing { missing: "agent" });
        }
        let info = CaInfo::parse(input)?;
        self.check_upload(
            applicant,
            "form_upload_id",
            &info.form_upload_id,
            UploadPurpose::ApplicationForm,
        )
        .await?;
        self.apply(&application, Change::SaveStep(Step::Ca, to_json(&info)?))
            .await?;
        self.get(applicant, id).await
    }

    /// Submits (or resubmits after a rejection) for review.
    pub async fn submit(
        &self,
        applicant: &ApplicantRecord,
        id: i64,
    ) -> Result<ApplicationRecord, ApplicationError> {
        let application = self.editable(applicant, id).await?;
        let missing = if application.agreement_accepted_at.is_none() {
            Some("agreement")
        } else if application.enterprise.is_none() {
            Some("enterprise")
        } else if application.agent.is_none() {
            Some("agent")
        } else if application.ca.is_none() {
            Some("ca")
        } else {
            None
        };
        if let Some(missing) = missing {
            return Err(ApplicationError::StepMissing { missing });
        }
        let Some(enterprise) = &application.enterprise else {
            return Err(ApplicationError::StepMissing {
                missing: "enterprise",
            });
        };
        let employer = EmployerProfile::of(enterprise);
        self.apply(&application, Change::Submit(self.clock.now(), employer))
            .await?;
        self.get(applicant, id).await
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, ApplicationError> {
    serde_json::to_value(value).map_err(|_| ApplicationError::Field {
        field: "step",
        message: "资料无法保存，请检查后重试",
    })
}

impl Describe for ApplicationError {
    fn describe(&self) -> Description {
        match self {
            Self::NotFound => {
                Description::new(code::APPLICATION_NOT_FOUND, "未找到该申请，请刷新后重试")
            }
            Self::NotEditable { status } => Description::new(
                code::APPLICATION_NOT_EDITABLE,
                format!(
                    "该申请当前状态为“{}”，不能修改；审核驳回后可修改并重新提交",
                    status.label_zh()
                ),
            ),
            Self::AgreementTooSoon { remaining_secs } => Description::new(
                code::AGREEMENT_COUNTDOWN,
                format!("请仔细阅读电子认证服务协议，{remaining_secs} 秒后可点击同意"),
            ),
            Self::StepMissing { missing } => {
                let step = match *missing {
                    "agreement" => "阅读并同意电子认证服务协议",
                    "enterprise" => "填写企业基本信息",
                    "agent" => "填写经办人资料",
                    _ => "填写 CA 信息",
                };
                Description::new(code::APPLICATION_STEP_MISSING, format!("请先{step}"))
            }
            Self::DraftExists { id } => Description::new(
                code::APPLICATION_DRAFT_EXISTS,
                format!("已有一份填写中的申请（编号 {id}），请继续填写该申请"),
            ),
            Self::Domain(e) => match e {
                DomainError::Unprintable { field, .. } => e.describe().in_field(field.input_name()),
                e => e.describe(),
            },
            Self::DomainIn { field, source } => source.describe().in_field(field),
            Self::Field { field, message } => {
                Description::new(code::APPLICATION_FIELD_INVALID, *message).in_field(field)
            }
            Self::Upload(UploadError::Storage(e)) | Self::Storage(e) => e.describe(),
            // An upload named in a step is the applicant's input, whatever went wrong with it.
            Self::Upload(e) => e.describe().of_kind(ErrorKind::BadInput),
            Self::ReasonMissing => Description::new(
                code::REJECT_REASON_MISSING,
                "驳回须填写申请人能据以修改的原因（200 字以内）",
            ),
            // A value saved while other fallback fonts were configured: the applicant edits it.
            Self::FormPdf(form_pdf::FormPdfError::Unprintable(e)) => {
                e.describe().of_kind(ErrorKind::Conflict)
            }
            Self::FormPdf(_) => Description::internal(),
            Self::EmployerUnknown { uscc } => Description::new(
                code::EMPLOYER_UNKNOWN,
                format!(
                    "统一社会信用代码 {uscc} 的单位尚未提交过证书申请，请核对代码；单位提交申请后再录入职工人数"
                ),
            ),
            Self::UploadPurpose { .. } => Description::new(
                code::UPLOAD_WRONG_PURPOSE,
                "所选文件类型与此栏不符（如把身份证上传到了营业执照栏），请重新上传",
            ),
        }
    }
}
