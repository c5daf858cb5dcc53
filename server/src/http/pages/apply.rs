//! The applicant site (seed 000 §三): sign in with phone, slider and SMS code; 申请数字身份证书
//! in three steps after the service agreement; the list of applications with the seed's
//! columns; 修改 and resubmission after a rejection; 证书废除, 信息变更 and 年审延期.

use std::{collections::HashMap, future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, http::StatusCode, web};

use super::{Chrome, Form, PageCaller, PageError, Site, html, page_error, see_other};
use crate::{
    applicants::{ApplicantError, ApplicantRecord},
    applications::{
        AgentInput, ApplicationError, ApplicationRecord, ApplicationStatus, CaInput,
        EnterpriseInput, SealKind,
        agreement::{self, AGREEMENT_TITLE},
        changes::{ChangeInput, ChangeStatus},
        regions::{self, Region},
    },
    ca::RevocationCause,
    certificates::Standing,
    domain::{CertificateSerial, PhoneNumber},
    error::AppError,
    http::{AppState, applications::ApplicationBody},
};

/// A signed-in applicant on a page (the `mcert_apply` cookie).
#[derive(Debug)]
pub struct ApplicantPage {
    applicant: ApplicantRecord,
    token: String,
}

impl std::ops::Deref for ApplicantPage {
    type Target = ApplicantRecord;
    fn deref(&self) -> &ApplicantRecord {
        &self.applicant
    }
}

impl ApplicantPage {
    fn chrome(&self, current: &str) -> Chrome {
        Chrome::new(Site::Apply, Some(self.applicant.phone.masked()))
            .with_nav(&[("/apply", "我的申请")], current)
    }
}

impl FromRequest for ApplicantPage {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = PageCaller::of(request, Site::Apply);
        Box::pin(async move {
            let (state, token) = caller.session()?;
            match state.applicants.authenticate(&token).await {
                Ok(applicant) => Ok(Self { applicant, token }),
                Err(ApplicantError::NotSignedIn) => Err(caller.sign_in()),
                Err(error) => Err(page_error(error)),
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Sign-in

#[derive(askama::Template)]
#[template(path = "pages/apply/sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    form: Form,
    next: String,
}

fn sign_in_page(status: StatusCode, form: Form, next: String) -> HttpResponse {
    let page = SignInPage {
        chrome: Chrome::new(Site::Apply, None),
        form,
        next,
    };
    let nonce = page.chrome.nonce.clone();
    html(status, &page, &nonce)
}

/// `GET /apply/sign-in`: 注册 / 登录 with phone, slider and SMS code.
pub async fn sign_in_form(query: web::Query<super::NextQuery>) -> HttpResponse {
    let next = super::next_path(Site::Apply, query.next());
    sign_in_page(StatusCode::OK, Form::default(), next)
}

/// `POST /apply/sign-in`: the code proves the phone; the first sign-in registers it.
pub async fn sign_in(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    super::posted_here(&request, Site::Apply)?;
    let values = body.into_inner();
    let next = super::next_path(Site::Apply, values.get("next").map(String::as_str));
    let mut form = Form::with_values(values);
    let phone = match PhoneNumber::parse(form.value("phone")) {
        Ok(phone) => phone,
        Err(error) => {
            form.refuse(&error.into(), Some("phone"));
            return Ok(sign_in_page(StatusCode::OK, form, next));
        }
    };
    match state
        .applicants
        .sign_in(&phone, form.value("code").trim())
        .await
    {
        Ok(signed_in) => Ok(super::with_session(
            &state,
            Site::Apply,
            &signed_in.token,
            &next,
        )),
        Err(error) => {
            let error = AppError::from(error);
            form.refuse(&error, Some("code"));
            Ok(sign_in_page(StatusCode::OK, form, next))
        }
    }
}

/// `POST /apply/sign-out`.
pub async fn sign_out(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
) -> Result<HttpResponse, PageError> {
    state
        .applicants
        .sign_out(&applicant.token)
        .await
        .map_err(page_error)?;
    Ok(super::with_session(
        &state,
        Site::Apply,
        "",
        Site::Apply.sign_in(),
    ))
}

// ---------------------------------------------------------------------------------------------
// The list

/// One row of the list, in the seed's columns.
struct Row {
    id: i64,
    region: String,
    unit_name: String,
    uscc: String,
    agent_name: String,
    legal_representative_id: String,
    seal: String,
    review: String,
    review_status: String,
    sync: String,
    certificate: String,
    summary: String,
    editable: bool,
    fee: Option<u32>,
}

#[derive(askama::Template)]
#[template(path = "pages/apply/list.html")]
struct ListPage {
    chrome: Chrome,
    rows: Vec<Row>,
    done: Option<&'static str>,
    error: Option<String>,
}

fn done_message(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "submitted" => "申请已提交，请耐心等待审核（2—5 个工作日）；审核结果会以短信通知。",
        "revoked" => "证书已废除：当前证书不能继续使用；如需继续使用，请重新申请、下载。",
        "changed" => "信息变更已提交，等待审核；变更不影响证书使用。",
        _ => return None,
    })
}

async fn seal_label(state: &AppState, record: &ApplicationRecord) -> String {
    match state.sealing.seals().status_of(record).await {
        Ok((status, _)) => status.label_zh().to_string(),
        Err(error) => {
            tracing::warn!(error = %error, "seal status not read");
            "—".to_string()
        }
    }
}

/// `GET /apply`: the applicant's applications.
pub async fn list(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
    query: web::Query<super::DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let records = state
        .applications
        .list(&applicant)
        .await
        .map_err(page_error)?;
    let mut seals = Vec::with_capacity(records.len());
    for record in &records {
        seals.push(seal_label(&state, record).await);
    }
    let bodies = ApplicationBody::many(&state, records).await?;
    let rows = bodies
        .into_iter()
        .zip(seals)
        .map(|(body, seal)| {
            let enterprise = body.enterprise.as_ref();
            Row {
                id: body.id,
                region: enterprise.map_or(String::new(), |e| regions::label(&e.region_code)),
                unit_name: enterprise.map_or(String::new(), |e| e.name.clone()),
                uscc: enterprise.map_or(String::new(), |e| e.uscc.clone()),
                agent_name: body
                    .agent
                    .as_ref()
                    .map_or(String::new(), |a| a.name.clone()),
                legal_representative_id: enterprise
                    .map_or(String::new(), |e| e.legal_representative_id.clone()),
                seal,
                review: body.progress.review.label.clone(),
                review_status: body.status.clone(),
                sync: body.progress.sync.label.clone(),
                certificate: body.progress.certificate.label.clone(),
                summary: body.progress.summary.clone(),
                editable: body.editable,
                fee: body.billable.filter(|b| *b).and(body.fee_yuan),
            }
        })
        .collect();
    let page = ListPage {
        chrome: applicant.chrome("/apply"),
        rows,
        done: done_message(query.done.as_deref()),
        error: None,
    };
    let nonce = page.chrome.nonce.clone();
    Ok(html(StatusCode::OK, &page, &nonce))
}

/// `POST /apply/applications`: 申请数字身份证书 (or back to the draft already open).
pub async fn create(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
) -> Result<HttpResponse, PageError> {
    match state.applications.create(&applicant).await {
        Ok(record) => Ok(see_other(&format!(
            "/apply/applications/{}/agreement",
            record.id
        ))),
        Err(ApplicationError::DraftExists { id }) => {
            Ok(see_other(&format!("/apply/applications/{id}")))
        }
        Err(error) => Err(page_error(error)),
    }
}

// ---------------------------------------------------------------------------------------------
// The wizard

/// The wizard's pages, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Enterprise,
    Agent,
    Ca,
}

impl Step {
    const ALL: [Step; 3] = [Step::Enterprise, Step::Agent, Step::Ca];

    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "enterprise" => Self::Enterprise,
            "agent" => Self::Agent,
            "ca" => Self::Ca,
            _ => return None,
        })
    }

    fn slug(self) -> &'static str {
        match self {
            Self::Enterprise => "enterprise",
            Self::Agent => "agent",
            Self::Ca => "ca",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Enterprise => "企业基本信息",
            Self::Agent => "经办人资料",
            Self::Ca => "CA信息",
        }
    }
}

/// The step indicator.
struct StepLink {
    label: &'static str,
    href: String,
    current: bool,
    done: bool,
}

fn step_links(record: &ApplicationRecord, current: Step) -> Vec<StepLink> {
    Step::ALL
        .iter()
        .map(|&step| StepLink {
            label: step.label(),
            href: format!("/apply/applications/{}/{}", record.id, step.slug()),
            current: step == current,
            done: match step {
                Step::Enterprise => record.enterprise.is_some(),
                Step::Agent => record.agent.is_some(),
                Step::Ca => record.ca.is_some(),
            },
        })
        .collect()
}

/// The region picker: the provinces, and the cities and counties of the chosen ones.
struct RegionChoice {
    provinces: &'static [Region],
    cities: &'static [Region],
    counties: &'static [Region],
    province: String,
    city: String,
    county: String,
}

impl RegionChoice {
    fn of(code: &str) -> Self {
        let path = regions::path(code);
        let code_at = |level: usize| path.get(level).map_or(String::new(), |r| r.code().into());
        Self {
            provinces: regions::provinces(),
            cities: path.first().map_or(&[][..], |p| p.children()),
            counties: path.get(1).map_or(&[][..], |c| c.children()),
            province: code_at(0),
            city: code_at(1),
            county: code_at(2),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "pages/apply/step.html")]
struct StepPage {
    chrome: Chrome,
    id: i64,
    step: &'static str,
    steps: Vec<StepLink>,
    form: Form,
    region: RegionChoice,
    phone: String,
    rejected_reason: Option<String>,
    form_pdf_ready: bool,
    ocr: bool,
}

fn enterprise_values(record: &ApplicationRecord) -> HashMap<String, String> {
    let mut values = HashMap::new();
    if let Some(e) = &record.enterprise {
        for (k, v) in [
            ("licence_upload_id", &e.licence_upload_id),
            ("name", &e.name),
            ("uscc", &e.uscc),
            ("region_code", &e.region_code),
            ("address", &e.address),
            ("legal_representative_name", &e.legal_representative_name),
            ("legal_representative_id", &e.legal_representative_id),
        ] {
            values.insert(k.to_string(), v.clone());
        }
        for (k, v) in [
            ("registration_authority", &e.registration_authority),
            ("contact_phone", &e.contact_phone),
        ] {
            values.insert(k.to_string(), v.clone().unwrap_or_default());
        }
    }
    values
}

fn stored_values(record: &ApplicationRecord, step: Step) -> HashMap<String, String> {
    let mut values = HashMap::new();
    match step {
        Step::Enterprise => values = enterprise_values(record),
        Step::Agent => {
            if let Some(a) = &record.agent {
                for (k, v) in [
                    ("id_front_upload_id", &a.id_front_upload_id),
                    ("id_back_upload_id", &a.id_back_upload_id),
                    ("name", &a.name),
                    ("id_number", &a.id_number),
                    ("email", &a.email),
                ] {
                    values.insert(k.to_string(), v.clone());
                }
            }
        }
        Step::Ca => {
            if let Some(ca) = &record.ca {
                values.insert("form_upload_id".into(), ca.form_upload_id.clone());
                values.insert(
                    "seal_wanted".into(),
                    if ca.seal_wanted { "true" } else { "false" }.into(),
                );
                let kind = match ca.seal_kind {
                    Some(SealKind::Traditional) => "traditional",
                    Some(SealKind::Generated) => "generated",
                    None => "",
                };
                values.insert("seal_kind".into(), kind.into());
                values.insert(
                    "stamp_filing_number".into(),
                    ca.stamp_filing_number.clone().unwrap_or_default(),
                );
            }
        }
    }
    values
}

fn step_page(
    state: &AppState,
    applicant: &ApplicantPage,
    record: &ApplicationRecord,
    step: Step,
    form: Form,
) -> StepPage {
    let region = RegionChoice::of(form.value("region_code"));
    StepPage {
        chrome: applicant.chrome(""),
        id: record.id,
        step: step.slug(),
        steps: step_links(record, step),
        region,
        form,
        phone: applicant.phone.as_str().to_string(),
        rejected_reason: record
            .reject_reason
            .clone()
            .filter(|_| record.status == ApplicationStatus::Rejected),
        form_pdf_ready: record.enterprise.is_some() && record.agent.is_some(),
        ocr: state.uploads.recognises(),
    }
}

fn render_step(page: &StepPage, status: StatusCode) -> HttpResponse {
    html(status, page, &page.chrome.nonce)
}

/// An editable application of this applicant, or where it should go instead.
async fn editable(
    state: &AppState,
    applicant: &ApplicantPage,
    id: i64,
) -> Result<Result<ApplicationRecord, HttpResponse>, PageError> {
    let record = state
        .applications
        .get(applicant, id)
        .await
        .map_err(page_error)?;
    if !record.status.editable() {
        return Ok(Err(see_other(&format!("/apply/applications/{id}"))));
    }
    if record.agreement_accepted_at.is_none() {
        return Ok(Err(see_other(&format!(
            "/apply/applications/{id}/agreement"
        ))));
    }
    Ok(Ok(record))
}

/// `GET /apply/applications/{id}`: the first step to fill in, or the application's page.
pub async fn application(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
    path: web::Path<i64>,
    query: web::Query<super::DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let record = state
        .applications
        .get(&applicant, id)
        .await
        .map_err(page_error)?;
    if !record.status.editable() {
        let done = done_message(query.done.as_deref());
        return detail(
            &state,
            &applicant,
            record,
            Form::default(),
            StatusCode::OK,
            done,
        )
        .await;
    }
    let next = if record.agreement_accepted_at.is_none() {
        "agreement"
    } else if record.enterprise.is_none() || record.status == ApplicationStatus::Rejected {
        "enterprise"
    } else if record.agent.is_none() {
        "agent"
    } else {
        "ca"
    };
    Ok(see_other(&format!("/apply/applications/{id}/{next}")))
}

#[derive(askama::Template)]
#[template(path = "pages/apply/agreement.html")]
struct AgreementPage {
    chrome: Chrome,
    id: i64,
    title: &'static str,
    paragraphs: Vec<(&'static str, bool)>,
    countdown_secs: i64,
    error: Option<String>,
}

fn agreement_page(
    state: &AppState,
    applicant: &ApplicantPage,
    record: &ApplicationRecord,
    error: Option<String>,
) -> HttpResponse {
    let now = state.clock.now();
    let ready = state.applications.agreement_ready_at(record);
    let page = AgreementPage {
        chrome: applicant.chrome(""),
        id: record.id,
        title: AGREEMENT_TITLE,
        paragraphs: agreement::paragraphs()
            .map(|p| (p, agreement::is_article_heading(p)))
            .collect(),
        countdown_secs: (ready - now).num_seconds().max(0),
        error,
    };
    html(StatusCode::OK, &page, &page.chrome.nonce)
}

/// `GET /apply/applications/{id}/agreement`: the service agreement with its countdown.
pub async fn agreement(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let record = state
        .applications
        .get(&applicant, path.into_inner())
        .await
        .map_err(page_error)?;
    if !record.status.editable() {
        return Ok(see_other(&format!("/apply/applications/{}", record.id)));
    }
    Ok(agreement_page(&state, &applicant, &record, None))
}

/// `POST /apply/applications/{id}/agreement`: 我已阅读并同意上述协议.
pub async fn accept_agreement(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    match state.applications.accept_agreement(&applicant, id).await {
        Ok(_) => Ok(see_other(&format!("/apply/applications/{id}/enterprise"))),
        Err(error @ ApplicationError::AgreementTooSoon { .. }) => {
            let record = state
                .applications
                .get(&applicant, id)
                .await
                .map_err(page_error)?;
            let message = crate::failure::Describe::describe(&error)
                .message
                .into_owned();
            Ok(agreement_page(&state, &applicant, &record, Some(message)))
        }
        Err(error) => Err(page_error(error)),
    }
}

/// `GET /apply/applications/{id}/{step}`: a step, with what was saved.
pub async fn step_form(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, PageError> {
    let (id, name) = path.into_inner();
    let step = Step::parse(&name).ok_or_else(|| page_error(ApplicationError::NotFound))?;
    let record = match editable(&state, &applicant, id).await? {
        Ok(record) => record,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let form = Form::with_values(stored_values(&record, step));
    Ok(render_step(
        &step_page(&state, &applicant, &record, step, form),
        StatusCode::OK,
    ))
}

fn value(values: &HashMap<String, String>, name: &str) -> String {
    values.get(name).cloned().unwrap_or_default()
}

fn optional(values: &HashMap<String, String>, name: &str) -> Option<String> {
    values.get(name).filter(|v| !v.trim().is_empty()).cloned()
}

/// `POST /apply/applications/{id}/{step}`: saves the step (下一步), or on the last one saves it
/// and submits (完成, after the slider).
pub async fn save_step(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
    path: web::Path<(i64, String)>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let (id, name) = path.into_inner();
    let step = Step::parse(&name).ok_or_else(|| page_error(ApplicationError::NotFound))?;
    let record = match editable(&state, &applicant, id).await? {
        Ok(record) => record,
        Err(elsewhere) => return Ok(elsewhere),
    };
    let values = body.into_inner();
    let back = values.get("go").is_some_and(|go| go == "back");
    let saved = match step {
        Step::Enterprise => {
            let input = EnterpriseInput {
                licence_upload_id: value(&values, "licence_upload_id"),
                name: value(&values, "name"),
                uscc: value(&values, "uscc"),
                region_code: value(&values, "region_code"),
                address: value(&values, "address"),
                legal_representative_name: value(&values, "legal_representative_name"),
                legal_representative_id: value(&values, "legal_representative_id"),
                registration_authority: optional(&values, "registration_authority"),
                contact_phone: optional(&values, "contact_phone"),
            };
            state
                .applications
                .save_enterprise(&applicant, id, &input)
                .await
                .map_err(AppError::from)
        }
        Step::Agent => {
            let input = AgentInput {
                id_front_upload_id: value(&values, "id_front_upload_id"),
                id_back_upload_id: value(&values, "id_back_upload_id"),
                name: value(&values, "name"),
                id_number: value(&values, "id_number"),
                email: value(&values, "email"),
            };
            state
                .applications
                .save_agent(&applicant, id, &input)
                .await
                .map_err(AppError::from)
        }
        Step::Ca => save_ca(&state, &applicant, id, &values, back).await,
    };
    let index = Step::ALL.iter().position(|s| *s == step).unwrap_or(0);
    let previous = match index.checked_sub(1).and_then(|i| Step::ALL.get(i)) {
        Some(step) => format!("/apply/applications/{id}/{}", step.slug()),
        None => "/apply".to_string(),
    };
    let record = match saved {
        Ok(record) => record,
        // 上一步 keeps what was saved before when this page's input does not validate.
        Err(_) if back => return Ok(see_other(&previous)),
        Err(error) => {
            let mut form = Form::with_values(values);
            form.refuse(&error, None);
            return Ok(render_step(
                &step_page(&state, &applicant, &record, step, form),
                StatusCode::OK,
            ));
        }
    };
    if back {
        return Ok(see_other(&previous));
    }
    match Step::ALL.get(index + 1) {
        Some(next) => Ok(see_other(&format!(
            "/apply/applications/{id}/{}",
            next.slug()
        ))),
        None => {
            // The last step: 完成 submits after the slider, which `save_ca` checked.
            match state.applications.submit(&applicant, record.id).await {
                Ok(_) => Ok(see_other("/apply?done=submitted")),
                Err(error) => {
                    let mut form = Form::with_values(values);
                    let error = AppError::from(error);
                    form.refuse(&error, None);
                    Ok(render_step(
                        &step_page(&state, &applicant, &record, step, form),
                        StatusCode::OK,
                    ))
                }
            }
        }
    }
}

/// Step 3: the slider before 完成 (not for 上一步), then the step itself.
async fn save_ca(
    state: &AppState,
    applicant: &ApplicantRecord,
    id: i64,
    values: &HashMap<String, String>,
    back: bool,
) -> Result<ApplicationRecord, AppError> {
    let seal_wanted = match values.get("seal_wanted").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return Err(ApplicationError::Field {
                field: "seal_wanted",
                message: "请选择是否申请CA电子印章",
            }
            .into());
        }
    };
    let seal_kind = match values.get("seal_kind").map(String::as_str) {
        Some("traditional") => Some(SealKind::Traditional),
        Some("generated") => Some(SealKind::Generated),
        _ => None,
    };
    let input = CaInput {
        form_upload_id: value(values, "form_upload_id"),
        seal_wanted,
        seal_kind,
        stamp_filing_number: optional(values, "stamp_filing_number"),
    };
    if !back {
        let pass = value(values, "captcha_pass");
        if pass.is_empty() {
            return Err(ApplicationError::Field {
                field: "captcha_pass",
                message: "请向右滑动滑块完成验证后再点击完成",
            }
            .into());
        }
        state.captcha.consume(&pass).await.map_err(|error| {
            let description = crate::failure::Describe::describe(&error);
            tracing::info!(code = %description.code, "slider pass refused at submission");
            AppError::from(ApplicationError::Field {
                field: "captcha_pass",
                message: "滑块验证已失效，请重新向右滑动验证后再点击完成",
            })
        })?;
    }
    Ok(state.applications.save_ca(applicant, id, &input).await?)
}

/// `GET /apply/applications/{id}/form.pdf`: the pre-filled application form.
pub async fn form_pdf(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let pdf = state
        .applications
        .form_pdf(&applicant, id)
        .await
        .map_err(page_error)?;
    Ok(crate::http::applications::form_pdf_download(id, pdf))
}

/// `GET /apply/uploads/{id}`: the applicant's own image (previews).
pub async fn upload(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (record, bytes) = state
        .uploads
        .open(applicant.id, &path.into_inner())
        .await
        .map_err(page_error)?;
    Ok(super::super::uploads::image(record, bytes))
}

// ---------------------------------------------------------------------------------------------
// An application after submission: statuses, certificates, 证书废除, 信息变更, 年审延期

struct CertificateRow {
    serial: String,
    role: &'static str,
    holder_name: String,
    status: &'static str,
    not_after: String,
    revocable: bool,
    revoked: Option<String>,
    renewal: String,
}

struct ChangeRow {
    submitted_at: String,
    fields: String,
    status: &'static str,
    open: bool,
    reason: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "pages/apply/detail.html")]
struct DetailPage {
    chrome: Chrome,
    body: ApplicationBody,
    region: String,
    seal: String,
    certificates: Vec<CertificateRow>,
    causes: Vec<(&'static str, &'static str)>,
    changes: Vec<ChangeRow>,
    change_open: bool,
    form: Form,
    region_choice: RegionChoice,
    done: Option<&'static str>,
}

const RENEWAL_WINDOW_DAYS: i64 = 30;

async fn detail(
    state: &AppState,
    applicant: &ApplicantPage,
    record: ApplicationRecord,
    mut form: Form,
    status: StatusCode,
    done: Option<&'static str>,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let id = record.id;
    let seal = seal_label(state, &record).await;
    let certificates = state
        .revocations
        .of_application(applicant, id)
        .await
        .map_err(page_error)?
        .into_iter()
        .rev()
        .map(|certificate| {
            let standing = Standing::of(&certificate, now);
            let days_left = (certificate.not_after - now).num_days();
            let renewal = match standing {
                Standing::Active if days_left <= RENEWAL_WINDOW_DAYS => format!(
                    "可年审延期（还有 {days_left} 天到期）：请证书使用人在“就业彩云南”小程序中打开该证书，点“年审延期”并输入 PIN 确认"
                ),
                Standing::Active => format!(
                    "到期前 30 天内可年审延期（{} 起）",
                    super::beijing(certificate.not_after - chrono::TimeDelta::days(RENEWAL_WINDOW_DAYS))
                ),
                _ => "—".to_string(),
            };
            CertificateRow {
                serial: certificate.serial.to_string(),
                role: if certificate.role.as_str() == "primary" {
                    "主证书"
                } else {
                    "子证书"
                },
                holder_name: certificate.holder_name.clone(),
                status: standing.label_zh(),
                not_after: super::beijing(certificate.not_after),
                revocable: standing.revocable(),
                revoked: certificate.revocation.as_ref().map(|r| {
                    format!(
                        "{} 废除{}",
                        super::beijing(r.revoked_at),
                        r.cause.map_or(String::new(), |c| format!("（{}）", c.label_zh()))
                    )
                }),
                renewal,
            }
        })
        .collect();
    let changes: Vec<ChangeRow> = if record.status == ApplicationStatus::Approved {
        state
            .changes
            .list(applicant, id)
            .await
            .map_err(page_error)?
            .into_iter()
            .map(|change| ChangeRow {
                submitted_at: super::beijing(change.submitted_at),
                fields: change
                    .changed()
                    .iter()
                    .map(|f| f.label_zh())
                    .collect::<Vec<_>>()
                    .join("、"),
                status: change.status.label_zh(),
                open: change.status == ChangeStatus::Submitted,
                reason: change.reject_reason.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let change_open = changes.iter().any(|c| c.open);
    if form.value("region_code").is_empty() {
        for (k, v) in enterprise_values(&record) {
            if form.value(&k).is_empty() && k != "licence_upload_id" {
                form.set(&k, v);
            }
        }
    }
    let region_choice = RegionChoice::of(form.value("region_code"));
    let body = ApplicationBody::with_sync(state, record).await?;
    let page = DetailPage {
        chrome: applicant.chrome(""),
        region: body
            .enterprise
            .as_ref()
            .map_or(String::new(), |e| regions::label(&e.region_code)),
        body,
        seal,
        certificates,
        causes: RevocationCause::ALL
            .iter()
            .map(|c| (c.as_str(), c.label_zh()))
            .collect(),
        changes,
        change_open,
        form,
        region_choice,
        done,
    };
    Ok(html(status, &page, &page.chrome.nonce))
}

/// `POST /apply/applications/{id}/certificates/{serial}/revocation`: 证书废除 for a cause.
pub async fn revoke(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
    path: web::Path<(i64, String)>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let (id, serial) = path.into_inner();
    let values = body.into_inner();
    let outcome = async {
        if values.get("confirm").is_none_or(|v| v != "yes") {
            return Err(AppError::from(ApplicationError::Field {
                field: "confirm",
                message: "请勾选“我已知晓废除后证书不能继续使用”后再废除",
            }));
        }
        let serial = CertificateSerial::parse(&serial)?;
        let cause = crate::certificates::Revocations::cause(&value(&values, "cause"))?;
        state
            .revocations
            .by_applicant(&applicant, id, &serial, cause)
            .await?;
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => Ok(see_other(&format!("/apply/applications/{id}?done=revoked"))),
        Err(error) => {
            let record = state
                .applications
                .get(&applicant, id)
                .await
                .map_err(page_error)?;
            let mut form = Form::default();
            form.refuse(&error, Some("revocation"));
            detail(&state, &applicant, record, form, StatusCode::OK, None).await
        }
    }
}

/// `POST /apply/applications/{id}/changes`: 信息变更 of the address or the legal
/// representative.
pub async fn change(
    state: web::Data<AppState>,
    applicant: ApplicantPage,
    path: web::Path<i64>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let values = body.into_inner();
    let input = ChangeInput {
        region_code: optional(&values, "region_code"),
        address: optional(&values, "address"),
        legal_representative_name: optional(&values, "legal_representative_name"),
        legal_representative_id: optional(&values, "legal_representative_id"),
        licence_upload_id: optional(&values, "licence_upload_id"),
        ..ChangeInput::default()
    };
    match state.changes.submit(&applicant, id, &input).await {
        Ok(_) => Ok(see_other(&format!("/apply/applications/{id}?done=changed"))),
        Err(error) => {
            let record = state
                .applications
                .get(&applicant, id)
                .await
                .map_err(page_error)?;
            let mut form = Form::with_values(values);
            let error = AppError::from(error);
            form.refuse(&error, Some("change"));
            detail(&state, &applicant, record, form, StatusCode::OK, None).await
        }
    }
}
