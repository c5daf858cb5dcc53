//! 信息变更 (seed 000 §五(二) and FAQ (二); seed 002 §五; seed 001: 申请更新单位信息免费，统一社会
//! 信用代码不能更新): the agent of an approved application changes the employer's address (单位
//! 住所 and its region) or legal representative (法定代表人, with a new licence image) on the
//! application site, and staff review the change like an application: approve, or reject with a
//! reason; audited, the agent told by SMS, free of charge.
//!
//! An approved change becomes the application's enterprise step and the employer record, and
//! reaches the employment platform through the sync outbox: the application's push is queued
//! again with the next `revision` (`providers::platform`). The certificates are untouched: same
//! serials, still in force. What a certificate names or its holder is (单位名称, 统一社会信用代码,
//! 经办人/证书使用人, 手机号) cannot change this way; the seed's way is to revoke the certificate
//! (证书废除) and apply anew, and a change asking for it is refused with that guidance.
//!
//! One change of an application is open at a time. The values are validated exactly as the
//! enterprise step validates them: the proposed step is the current one with the changed
//! fields, parsed by [`EnterpriseInfo::parse`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    AgentInfo, ApplicationError, ApplicationRecord, ApplicationStatus, Applications,
    EnterpriseInfo, EnterpriseInput, Outcome, employer_sync,
};
use crate::{
    applicants::ApplicantRecord,
    audit::{Actor, AuditDraft},
    domain::{PersonName, PhoneNumber, ResidentId, UnitName, Uscc},
    employers::EmployerProfile,
    failure::{Describe, Description, StorageError, code},
    notify::NoticeDraft,
    providers::{platform::EmployerSync, sms::SmsNotice},
    staff::Reviewer,
    uploads::UploadPurpose,
};

/// Where a change stands in review (as an application's 申请资料审核).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeStatus {
    /// Waiting for staff review (待审核).
    Submitted,
    /// Approved and applied (审核通过).
    Approved,
    /// Rejected with a reason (审核驳回); the agent may submit another change.
    Rejected,
}

impl ChangeStatus {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Submitted, Self::Approved, Self::Rejected]
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    /// The wording shown to the agent and to staff.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Submitted => "信息变更审核：待审核",
            Self::Approved => "信息变更审核：审核通过",
            Self::Rejected => "信息变更审核：审核驳回",
        }
    }
}

/// A field of the enterprise step that an information change may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangedField {
    /// 行政区域 (county-level region code).
    RegionCode,
    /// 单位住所（地址）.
    Address,
    /// 法定代表人姓名.
    LegalRepresentativeName,
    /// 法定代表人身份证号码.
    LegalRepresentativeId,
}

impl ChangedField {
    /// Every changeable field, in the order of the form.
    pub const ALL: [Self; 4] = [
        Self::RegionCode,
        Self::Address,
        Self::LegalRepresentativeName,
        Self::LegalRepresentativeId,
    ];

    /// The field's name in the enterprise step.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RegionCode => "region_code",
            Self::Address => "address",
            Self::LegalRepresentativeName => "legal_representative_name",
            Self::LegalRepresentativeId => "legal_representative_id",
        }
    }

    /// Its label on the pages.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::RegionCode => "行政区域",
            Self::Address => "单位住所",
            Self::LegalRepresentativeName => "法定代表人姓名",
            Self::LegalRepresentativeId => "法人身份证号码",
        }
    }

    /// Its value in `info`.
    pub fn value_in(self, info: &EnterpriseInfo) -> &str {
        match self {
            Self::RegionCode => &info.region_code,
            Self::Address => &info.address,
            Self::LegalRepresentativeName => &info.legal_representative_name,
            Self::LegalRepresentativeId => &info.legal_representative_id,
        }
    }

    /// Whether it is part of the legal representative (a change of whom needs a new licence).
    pub fn is_legal_representative(self) -> bool {
        matches!(
            self,
            Self::LegalRepresentativeName | Self::LegalRepresentativeId
        )
    }
}

/// The fields that differ between `before` and `after`, in the order of the form.
pub fn changed_fields(before: &EnterpriseInfo, after: &EnterpriseInfo) -> Vec<ChangedField> {
    ChangedField::ALL
        .into_iter()
        .filter(|field| field.value_in(before) != field.value_in(after))
        .collect()
}

/// What changed, in the words of the SMS: 单位地址 (region or address), 法定代表人.
fn changes_zh(fields: &[ChangedField]) -> String {
    let address = fields.iter().any(|f| !f.is_legal_representative());
    let legal = fields.iter().any(|f| f.is_legal_representative());
    [(address, "单位地址"), (legal, "法定代表人")]
        .into_iter()
        .filter_map(|(changed, words)| changed.then_some(words))
        .collect::<Vec<_>>()
        .join("、")
}

/// A field that names the employer or the certificate's holder: it cannot change by an
/// information change (seed 000 FAQ (二); seed 001: the USCC cannot be updated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FixedField {
    /// 单位名称.
    UnitName,
    /// 统一社会信用代码.
    Uscc,
    /// 经办人（证书使用人）姓名.
    AgentName,
    /// 经办人身份证号码.
    AgentIdNumber,
    /// 经办人手机号码 (the applying phone).
    AgentPhone,
}

impl FixedField {
    /// The field's name in a change request.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnitName => "name",
            Self::Uscc => "uscc",
            Self::AgentName => "agent_name",
            Self::AgentIdNumber => "agent_id_number",
            Self::AgentPhone => "agent_phone",
        }
    }

    /// Its name on the form.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::UnitName => "单位名称",
            Self::Uscc => "统一社会信用代码",
            Self::AgentName => "经办人（证书使用人）姓名",
            Self::AgentIdNumber => "经办人（证书使用人）身份证号码",
            Self::AgentPhone => "经办人手机号码",
        }
    }

    /// Whether `sent` names the same as `current` once both are read as the form reads them
    /// (a USCC in lower case, a phone with `+86`); a value that does not parse is compared as
    /// typed, and so differs.
    fn same(self, sent: &str, current: &str) -> bool {
        let sent = match self {
            Self::UnitName => UnitName::parse(sent).map(|v| v.as_str().to_string()),
            Self::Uscc => Uscc::parse(sent).map(|v| v.as_str().to_string()),
            Self::AgentName => PersonName::parse(sent).map(|v| v.as_str().to_string()),
            Self::AgentIdNumber => ResidentId::parse(sent).map(|v| v.as_str().to_string()),
            Self::AgentPhone => PhoneNumber::parse(sent).map(|v| v.as_str().to_string()),
        }
        .unwrap_or_else(|_| sent.trim().to_string());
        sent == current
    }
}

/// A change as the application site sends it: the fields to change (an absent field stays as
/// it is), the new licence image, and, when the page sends the whole form, the fields that
/// cannot change, which must then be as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeInput {
    /// 行政区域: six-digit administrative division code (GB/T 2260) of the county.
    pub region_code: Option<String>,
    /// 单位住所（地址）.
    pub address: Option<String>,
    /// 法定代表人姓名.
    pub legal_representative_name: Option<String>,
    /// 法定代表人身份证号码.
    pub legal_representative_id: Option<String>,
    /// Upload id of the new licence (`licence`); required when the legal representative
    /// changes.
    pub licence_upload_id: Option<String>,
    /// 单位名称: cannot change (revoke and apply anew).
    pub name: Option<String>,
    /// 统一社会信用代码: cannot change.
    pub uscc: Option<String>,
    /// 经办人姓名: cannot change (the certificate's holder).
    pub agent_name: Option<String>,
    /// 经办人身份证号码: cannot change.
    pub agent_id_number: Option<String>,
    /// 经办人手机号码: cannot change.
    pub agent_phone: Option<String>,
}

impl ChangeInput {
    /// The first field that cannot change and is sent with a value other than the current one.
    fn fixed_field_changed(
        &self,
        enterprise: &EnterpriseInfo,
        agent: &AgentInfo,
    ) -> Option<FixedField> {
        [
            (FixedField::UnitName, &self.name, &enterprise.name),
            (FixedField::Uscc, &self.uscc, &enterprise.uscc),
            (FixedField::AgentName, &self.agent_name, &agent.name),
            (
                FixedField::AgentIdNumber,
                &self.agent_id_number,
                &agent.id_number,
            ),
            (FixedField::AgentPhone, &self.agent_phone, &agent.phone),
        ]
        .into_iter()
        .find_map(|(field, sent, current)| match sent {
            Some(sent) if !field.same(sent, current) => Some(field),
            _ => None,
        })
    }

    /// The enterprise step as it would be after this change: the current step with the sent
    /// fields, validated by the step's own rules (region to the county, address, the legal
    /// representative's name and ID number, printable on the form, the licence's id).
    fn proposed(
        &self,
        current: &EnterpriseInfo,
        fonts: &dyn crate::domain::FallbackGlyphs,
    ) -> Result<EnterpriseInfo, ApplicationError> {
        let pick = |sent: &Option<String>, current: &str| {
            sent.clone().unwrap_or_else(|| current.to_string())
        };
        EnterpriseInfo::parse(
            &EnterpriseInput {
                licence_upload_id: pick(&self.licence_upload_id, &current.licence_upload_id),
                name: current.name.clone(),
                uscc: current.uscc.clone(),
                region_code: pick(&self.region_code, &current.region_code),
                address: pick(&self.address, &current.address),
                legal_representative_name: pick(
                    &self.legal_representative_name,
                    &current.legal_representative_name,
                ),
                legal_representative_id: pick(
                    &self.legal_representative_id,
                    &current.legal_representative_id,
                ),
                registration_authority: current.registration_authority.clone(),
                contact_phone: current.contact_phone.clone(),
            },
            fonts,
        )
    }
}

/// A change as stored.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    /// Id.
    pub id: i64,
    /// The approved application it changes.
    pub application_id: i64,
    /// The application's owner, who submitted it.
    pub applicant_id: i64,
    /// The employer's USCC (never changes this way).
    pub uscc: String,
    /// The employer's name (never changes this way).
    pub unit_name: String,
    /// Review state.
    pub status: ChangeStatus,
    /// The enterprise step when the change was submitted.
    pub before: EnterpriseInfo,
    /// The enterprise step the change asks for.
    pub after: EnterpriseInfo,
    /// The new licence image, when one was given.
    pub licence_upload_id: Option<String>,
    /// Why staff rejected it.
    pub reject_reason: Option<String>,
    /// When it was submitted.
    pub submitted_at: DateTime<Utc>,
    /// When a reviewer decided.
    pub decided_at: Option<DateTime<Utc>>,
    /// Which reviewer.
    pub decided_by: Option<String>,
}

impl ChangeRecord {
    /// The fields it changes.
    pub fn changed(&self) -> Vec<ChangedField> {
        changed_fields(&self.before, &self.after)
    }
}

/// A change to record, with the audit entry of its submission.
#[derive(Debug, Clone)]
pub struct ChangeDraft {
    /// The approved application.
    pub application_id: i64,
    /// Its owner.
    pub applicant_id: i64,
    /// The employer's USCC.
    pub uscc: String,
    /// The employer's name.
    pub unit_name: String,
    /// The enterprise step now.
    pub before: EnterpriseInfo,
    /// The enterprise step asked for.
    pub after: EnterpriseInfo,
    /// The new licence image.
    pub licence_upload_id: Option<String>,
    /// When.
    pub submitted_at: DateTime<Utc>,
    /// `information_change.submit`, written in the same transaction.
    pub audit: AuditDraft,
}

/// A reviewer's decision on a submitted change, written in one transaction with everything it
/// causes.
#[derive(Debug, Clone)]
pub struct ChangeDecision {
    /// Approved, or rejected with the reason.
    pub outcome: Outcome,
    /// The reviewer's username.
    pub staff: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The audit entry.
    pub audit: AuditDraft,
    /// The SMS to the agent.
    pub notice: Option<NoticeDraft>,
    /// On approval: what the change does.
    pub applied: Option<AppliedChange>,
}

/// What an approved change writes beside its own status.
#[derive(Debug, Clone)]
pub struct AppliedChange {
    /// The application whose enterprise step becomes `enterprise`.
    pub application_id: i64,
    /// The new enterprise step.
    pub enterprise: EnterpriseInfo,
    /// The employer record's new details.
    pub employer: EmployerProfile,
    /// The application's push to the employment platform, queued again with these details
    /// and the next revision (due now, unless the push waits for an account merge).
    pub sync: EmployerSync,
}

/// Storage of information changes (`store/` implements it).
#[async_trait::async_trait]
pub trait ChangeStore: Send + Sync + std::fmt::Debug {
    /// Records `draft` with its audit entry unless its application has a submitted change
    /// already (checked under a lock on the application, so two submissions cannot both pass):
    /// `Ok(Err(id))` names the open one.
    async fn insert_change(
        &self,
        draft: &ChangeDraft,
    ) -> Result<Result<ChangeRecord, i64>, StorageError>;
    /// A change by id.
    async fn change(&self, id: i64) -> Result<Option<ChangeRecord>, StorageError>;
    /// The changes of an application, newest first.
    async fn changes_of(&self, application_id: i64) -> Result<Vec<ChangeRecord>, StorageError>;
    /// A page of the changes in `status`, oldest submission first, and their total count.
    async fn change_queue(
        &self,
        status: ChangeStatus,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<ChangeRecord>, u64), StorageError>;
    /// Writes `decision` if the change is still submitted (one conditional UPDATE), with its
    /// audit entry, its notice and, on approval, the application's new enterprise step, the
    /// employer record and the platform push, in one transaction; `false` if another reviewer
    /// decided first.
    async fn decide_change(&self, id: i64, decision: &ChangeDecision)
    -> Result<bool, StorageError>;
}

/// Why an information change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeError {
    /// No such change.
    #[error("information change not found")]
    NotFound,
    /// Only an approved application's details change this way.
    #[error("application is {status:?}, not approved")]
    NotApproved {
        /// Its status.
        status: ApplicationStatus,
    },
    /// A field that names the employer or the holder was sent with another value.
    #[error("{} cannot change by an information change", field.as_str())]
    NeedsNewApplication {
        /// The first such field.
        field: FixedField,
    },
    /// The change asks for the details as they are.
    #[error("nothing to change")]
    NothingChanged,
    /// A new legal representative without a new licence.
    #[error("a new licence is required to change the legal representative")]
    LicenceRequired,
    /// The application has a change waiting for review.
    #[error("information change {id} is open")]
    OpenChangeExists {
        /// The open change.
        id: i64,
    },
    /// The change was decided already.
    #[error("information change is {status:?}")]
    NotOpen {
        /// Its status.
        status: ChangeStatus,
    },
    /// The application's rules: not the applicant's, a field that does not validate, an upload
    /// of another kind, a rejection without a reason.
    #[error(transparent)]
    Application(#[from] ApplicationError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Describe for ChangeError {
    fn describe(&self) -> Description {
        match self {
            Self::NotFound => {
                Description::new(code::CHANGE_NOT_FOUND, "未找到该信息变更，请刷新后重试")
            }
            Self::NotApproved { status } => Description::new(
                code::CHANGE_APPLICATION_NOT_APPROVED,
                format!(
                    "该申请当前状态为“{}”，审核通过的申请才能办理信息变更；\
                     未通过审核的申请请直接修改申请资料",
                    status.label_zh()
                ),
            ),
            Self::NeedsNewApplication { field } => Description::new(
                code::CHANGE_NEEDS_NEW_APPLICATION,
                format!(
                    "{}不能通过信息变更修改，信息变更只能修改单位地址和法定代表人。\
                     如需变更经办人（证书使用人）、手机号、单位名称或统一社会信用代码，\
                     请先废除原证书再重新申请：用申请时的手机号和验证码登录申请网页，点“证书废除”，\
                     废除后重新提交申请",
                    field.label_zh()
                ),
            ),
            Self::NothingChanged => Description::new(
                code::CHANGE_NOTHING_CHANGED,
                "提交的信息与当前登记的信息相同，没有需要变更的内容；\
                 信息变更可修改行政区域、单位住所（地址）和法定代表人",
            ),
            Self::LicenceRequired => Description::new(
                code::CHANGE_LICENCE_REQUIRED,
                "变更法定代表人须上传载明新法定代表人的营业执照图片",
            ),
            Self::OpenChangeExists { id } => Description::new(
                code::CHANGE_OPEN_EXISTS,
                format!("该申请已有一项待审核的信息变更（编号 {id}），请等待审核结果后再提交"),
            ),
            Self::NotOpen { status } => Description::new(
                code::CHANGE_NOT_OPEN,
                format!(
                    "该信息变更当前状态为“{}”，已审核过，不能再次审核",
                    status.label_zh()
                ),
            ),
            Self::Application(e) => e.describe(),
            Self::Storage(e) => e.describe(),
        }
    }
}

/// Information changes: submitted by the agent, reviewed by staff.
#[derive(Debug)]
pub struct InformationChanges {
    applications: Arc<Applications>,
    store: Arc<dyn ChangeStore>,
}

impl InformationChanges {
    /// Over the applications (their owners, steps, uploads, form fonts and clock) and the
    /// changes' store.
    pub fn new(applications: Arc<Applications>, store: Arc<dyn ChangeStore>) -> Self {
        Self {
            applications,
            store,
        }
    }

    /// The agent asks to change `applicant`'s approved application `application_id` as
    /// `input` says; audited as the applicant (`information_change.submit`). Nothing is stored
    /// unless every check passes.
    #[tracing::instrument(skip(self, applicant, input), fields(applicant = applicant.id))]
    pub async fn submit(
        &self,
        applicant: &ApplicantRecord,
        application_id: i64,
        input: &ChangeInput,
    ) -> Result<ChangeRecord, ChangeError> {
        let application = self.applications.get(applicant, application_id).await?;
        let (enterprise, agent) = approved_steps(&application)?;
        if let Some(open) = self
            .store
            .changes_of(application_id)
            .await?
            .into_iter()
            .find(|change| change.status == ChangeStatus::Submitted)
        {
            return Err(ChangeError::OpenChangeExists { id: open.id });
        }
        if let Some(field) = input.fixed_field_changed(enterprise, agent) {
            return Err(ChangeError::NeedsNewApplication { field });
        }
        let after = input.proposed(enterprise, self.applications.fonts.as_ref())?;
        let changed = changed_fields(enterprise, &after);
        if changed.is_empty() {
            return Err(ChangeError::NothingChanged);
        }
        let licence = input
            .licence_upload_id
            .as_ref()
            .map(|_| after.licence_upload_id.clone());
        if licence.is_none() && changed.iter().any(|f| f.is_legal_representative()) {
            return Err(ChangeError::LicenceRequired);
        }
        if let Some(licence) = &licence {
            self.applications
                .check_upload(
                    applicant,
                    "licence_upload_id",
                    licence,
                    UploadPurpose::Licence,
                )
                .await?;
        }
        let draft = ChangeDraft {
            application_id,
            applicant_id: applicant.id,
            uscc: enterprise.uscc.clone(),
            unit_name: enterprise.name.clone(),
            before: enterprise.clone(),
            after,
            licence_upload_id: licence,
            submitted_at: self.applications.clock.now(),
            audit: AuditDraft {
                actor: Actor::Applicant(applicant.id),
                action: "information_change.submit",
                subject: format!("application:{application_id}"),
                detail: serde_json::json!({ "changed": field_names(&changed) }),
            },
        };
        match self.store.insert_change(&draft).await? {
            Ok(change) => Ok(change),
            Err(open) => Err(ChangeError::OpenChangeExists { id: open }),
        }
    }

    /// The changes of `applicant`'s application `application_id`, newest first.
    pub async fn list(
        &self,
        applicant: &ApplicantRecord,
        application_id: i64,
    ) -> Result<Vec<ChangeRecord>, ChangeError> {
        self.applications.get(applicant, application_id).await?;
        Ok(self.store.changes_of(application_id).await?)
    }

    /// A page of changes in `status` for staff, oldest submission first, and the total.
    pub async fn queue(
        &self,
        status: ChangeStatus,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<ChangeRecord>, u64), ChangeError> {
        Ok(self.store.change_queue(status, offset, limit).await?)
    }

    /// Any change, for staff.
    pub async fn for_staff(&self, id: i64) -> Result<ChangeRecord, ChangeError> {
        self.store.change(id).await?.ok_or(ChangeError::NotFound)
    }

    /// Approves or rejects a submitted change (a rejection needs a reason, as for an
    /// application). The audit entry (`information_change.approve` / `.reject`), the agent's
    /// SMS and, on approval, the new enterprise step, the employer record and the push to the
    /// employment platform are written in one transaction; the certificates are not touched.
    /// The caller flushes the notice outbox.
    #[tracing::instrument(skip(self, staff, outcome), fields(staff = staff.username()))]
    pub async fn decide(
        &self,
        staff: &Reviewer,
        id: i64,
        outcome: Outcome,
    ) -> Result<ChangeRecord, ChangeError> {
        let outcome = outcome.checked()?;
        let change = self.for_staff(id).await?;
        if change.status != ChangeStatus::Submitted {
            return Err(ChangeError::NotOpen {
                status: change.status,
            });
        }
        let application = self.applications.for_staff(change.application_id).await?;
        let (_, agent) = approved_steps(&application)?;
        let changed = change.changed();
        let subject = format!("information_change:{id}");
        let (action, detail, notice, applied) = match &outcome {
            Outcome::Approve => {
                let Some(ca) = &application.ca else {
                    return Err(ApplicationError::StepMissing { missing: "ca" }.into());
                };
                // The push's revision counts the changes approved before this one.
                let approved_before = self
                    .store
                    .changes_of(application.id)
                    .await?
                    .iter()
                    .filter(|c| c.status == ChangeStatus::Approved)
                    .count();
                let revision = u32::try_from(approved_before + 1).unwrap_or(u32::MAX);
                let applied = AppliedChange {
                    application_id: application.id,
                    enterprise: change.after.clone(),
                    employer: EmployerProfile::of(&change.after),
                    sync: employer_sync(application.id, &change.after, agent, ca, revision),
                };
                (
                    "information_change.approve",
                    serde_json::json!({
                        "application_id": application.id,
                        "changed": field_names(&changed),
                        "revision": revision,
                    }),
                    SmsNotice::InformationChangeApproved {
                        unit_name: change.unit_name.clone(),
                        changes: changes_zh(&changed),
                    },
                    Some(applied),
                )
            }
            Outcome::Reject(reason) => (
                "information_change.reject",
                serde_json::json!({
                    "application_id": application.id,
                    "changed": field_names(&changed),
                    "reason": reason,
                }),
                SmsNotice::InformationChangeRejected {
                    unit_name: change.unit_name.clone(),
                    reason: reason.clone(),
                },
                None,
            ),
        };
        let decision = ChangeDecision {
            notice: NoticeDraft::new(&agent.phone, subject.clone(), notice),
            applied,
            outcome,
            staff: staff.username().to_string(),
            at: self.applications.clock.now(),
            audit: AuditDraft {
                actor: staff.actor(),
                action,
                subject,
                detail,
            },
        };
        if !self.store.decide_change(id, &decision).await? {
            // Another reviewer decided first: report what they decided.
            let now = self.for_staff(id).await?;
            return Err(ChangeError::NotOpen { status: now.status });
        }
        self.for_staff(id).await
    }
}

/// The enterprise and agent steps of an approved application.
fn approved_steps(
    application: &ApplicationRecord,
) -> Result<(&EnterpriseInfo, &AgentInfo), ChangeError> {
    match (
        application.status,
        &application.enterprise,
        &application.agent,
    ) {
        (ApplicationStatus::Approved, Some(enterprise), Some(agent)) => Ok((enterprise, agent)),
        (status, ..) => Err(ChangeError::NotApproved { status }),
    }
}

fn field_names(fields: &[ChangedField]) -> Vec<&'static str> {
    fields.iter().map(|f| f.as_str()).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn enterprise() -> EnterpriseInfo {
        EnterpriseInfo {
            licence_upload_id: "0123456789abcdef0123456789abcdef".into(),
            name: "昆明测试科技有限公司".into(),
            uscc: "91440300708461136T".into(),
            region_code: "530112".into(),
            address: "云南省昆明市西山区某某路 1 号".into(),
            legal_representative_name: "李四".into(),
            legal_representative_id: "11010519491231002X".into(),
            registration_authority: Some("昆明市市场监督管理局".into()),
            contact_phone: None,
        }
    }

    fn agent() -> AgentInfo {
        AgentInfo {
            id_front_upload_id: "0123456789abcdef0123456789abcdef".into(),
            id_back_upload_id: "fedcba9876543210fedcba9876543210".into(),
            name: "张三".into(),
            id_number: "11010519491231002X".into(),
            email: "zhang@example.com".into(),
            phone: "13800138000".into(),
        }
    }

    #[test]
    fn the_proposed_step_is_the_current_one_with_the_sent_fields() {
        let input = ChangeInput {
            address: Some(" 云南省昆明市五华区新路 2 号 ".into()),
            ..ChangeInput::default()
        };
        let after = input.proposed(&enterprise(), &()).unwrap();
        assert_eq!(
            after.address, "云南省昆明市五华区新路 2 号",
            "trimmed as the step does"
        );
        assert_eq!(
            changed_fields(&enterprise(), &after),
            [ChangedField::Address]
        );
        assert_eq!(
            after.registration_authority,
            enterprise().registration_authority
        );
        assert!(changed_fields(&enterprise(), &enterprise()).is_empty());
    }

    #[test]
    fn the_steps_rules_check_the_new_values() {
        for (input, code) in [
            (
                ChangeInput {
                    region_code: Some("530000".into()),
                    ..ChangeInput::default()
                },
                "application_field_invalid",
            ),
            (
                ChangeInput {
                    legal_representative_id: Some("110105194912310021".into()),
                    ..ChangeInput::default()
                },
                "id_number_checksum",
            ),
            (
                ChangeInput {
                    legal_representative_name: Some("x".repeat(40)),
                    ..ChangeInput::default()
                },
                "person_name_invalid",
            ),
            (
                ChangeInput {
                    address: Some(" ".into()),
                    ..ChangeInput::default()
                },
                "application_field_invalid",
            ),
            (
                ChangeInput {
                    licence_upload_id: Some("not-an-upload".into()),
                    ..ChangeInput::default()
                },
                "application_field_invalid",
            ),
        ] {
            let error = input.proposed(&enterprise(), &()).unwrap_err();
            assert_eq!(error.describe().code, code, "{input:?}");
        }
    }

    #[test]
    fn fields_that_name_the_employer_or_the_holder_must_stay_as_they_are() {
        let same = ChangeInput {
            name: Some(" 昆明测试科技有限公司 ".into()),
            uscc: Some("91440300708461136t".into()),
            agent_name: Some("张三".into()),
            agent_id_number: Some("11010519491231002x".into()),
            agent_phone: Some("+86 138 0013 8000".into()),
            ..ChangeInput::default()
        };
        assert_eq!(same.fixed_field_changed(&enterprise(), &agent()), None);
        for (input, field) in [
            (
                ChangeInput {
                    name: Some("昆明新名称科技有限公司".into()),
                    ..ChangeInput::default()
                },
                FixedField::UnitName,
            ),
            (
                ChangeInput {
                    uscc: Some("91530102MA6K3R7Y0F".into()),
                    ..ChangeInput::default()
                },
                FixedField::Uscc,
            ),
            (
                ChangeInput {
                    agent_name: Some("王五".into()),
                    ..ChangeInput::default()
                },
                FixedField::AgentName,
            ),
            (
                ChangeInput {
                    agent_phone: Some("13900139000".into()),
                    ..ChangeInput::default()
                },
                FixedField::AgentPhone,
            ),
        ] {
            assert_eq!(
                input.fixed_field_changed(&enterprise(), &agent()),
                Some(field)
            );
            let refused = ChangeError::NeedsNewApplication { field }.describe();
            assert_eq!(refused.code, "change_needs_new_application");
            assert!(
                refused.message.contains(field.label_zh()) && refused.message.contains("证书废除"),
                "{}",
                refused.message
            );
        }
    }

    #[test]
    fn the_sms_names_what_changed() {
        assert_eq!(changes_zh(&[ChangedField::Address]), "单位地址");
        assert_eq!(
            changes_zh(&[ChangedField::RegionCode, ChangedField::Address]),
            "单位地址"
        );
        assert_eq!(
            changes_zh(&[
                ChangedField::Address,
                ChangedField::LegalRepresentativeName,
                ChangedField::LegalRepresentativeId
            ]),
            "单位地址、法定代表人"
        );
        assert_eq!(
            changes_zh(&[ChangedField::LegalRepresentativeId]),
            "法定代表人"
        );
    }

    #[test]
    fn statuses_round_trip_and_read_as_the_seed() {
        for status in [
            ChangeStatus::Submitted,
            ChangeStatus::Approved,
            ChangeStatus::Rejected,
        ] {
            assert_eq!(ChangeStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ChangeStatus::Rejected.label_zh(), "信息变更审核：审核驳回");
        assert_eq!(ChangeStatus::parse("draft"), None);
    }
}
