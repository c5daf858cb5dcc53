//! The staff console (`/staff`): sign-in with the existing lockout, the review queue with its
//! filters and counts, an application's detail with its images and the typed values beside
//! them, approve, reject with a reason (common reasons to pick from).

use std::{collections::HashMap, future::Future, pin::Pin};

use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, http::StatusCode, web};

use super::{Chrome, Form, PageCaller, PageError, Site, html, see_other};
use crate::{
    applications::{ApplicationStatus, Outcome, regions},
    error::AppError,
    http::{
        AppState,
        staff::{Paging, QueueQuery, StaffApplicationBody, decide, one_staff_body, queue_filter},
    },
    staff::{Reviewer, StaffError},
};

/// A service error on a page of this site.
fn page_error(error: impl Into<AppError>) -> PageError {
    super::site_error(Site::Staff, error)
}

/// A signed-in staff member on a page (the `mcert_staff` cookie).
#[derive(Debug)]
pub struct StaffPage {
    staff: Reviewer,
    token: String,
}

impl StaffPage {
    fn chrome(&self, current: &str) -> Chrome {
        let user = format!(
            "{}（{}）",
            self.staff.record().display_name,
            self.staff.record().role.label_zh()
        );
        let nav: &[(&str, &str)] = if self.staff.is_administrator() {
            &[
                ("/staff", "审核队列"),
                ("/staff/changes", "信息变更"),
                ("/staff/certificates", "证书管理"),
                ("/staff/portals", "门户管理"),
                ("/staff/accounts", "工作人员"),
                ("/staff/audit", "审计日志"),
            ]
        } else {
            &[("/staff", "审核队列"), ("/staff/changes", "信息变更")]
        };
        Chrome::new(Site::Staff, Some(user)).with_nav(nav, current)
    }

    /// The member, if an administrator (a reviewer gets the page that says so).
    fn administrator(&self) -> Result<&Reviewer, PageError> {
        self.staff.administrator().map_err(page_error)
    }
}

impl FromRequest for StaffPage {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let caller = PageCaller::of(request, Site::Staff);
        Box::pin(async move {
            let (state, token) = caller.session()?;
            match state.staff.authenticate(&token).await {
                Ok(staff) => Ok(Self { staff, token }),
                Err(StaffError::NotSignedIn) => Err(caller.sign_in()),
                Err(error) => Err(page_error(error)),
            }
        })
    }
}

#[derive(askama::Template)]
#[template(path = "pages/staff/sign_in.html")]
struct SignInPage {
    chrome: Chrome,
    form: Form,
    next: String,
}

fn sign_in_page(status: StatusCode, form: Form, next: String) -> HttpResponse {
    let page = SignInPage {
        chrome: Chrome::new(Site::Staff, None),
        form,
        next,
    };
    html(status, &page, &page.chrome.nonce)
}

/// `GET /staff/sign-in`.
pub async fn sign_in_form(query: web::Query<super::NextQuery>) -> HttpResponse {
    let next = super::next_path(Site::Staff, query.next());
    sign_in_page(StatusCode::OK, Form::default(), next)
}

/// `POST /staff/sign-in`: username and password, counted against the lockout.
pub async fn sign_in(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    super::posted_here(&request, Site::Staff)?;
    let values = body.into_inner();
    let next = super::next_path(Site::Staff, values.get("next").map(String::as_str));
    let mut form = Form::with_values(values);
    let address = crate::http::client_address(&request);
    let signed_in = state
        .staff
        .sign_in(form.value("username"), form.value("password"), &address)
        .await;
    form.set("password", "");
    match signed_in {
        Ok((token, _, _)) => Ok(super::with_session(&state, Site::Staff, &token, &next)),
        Err(error) => {
            let error = AppError::from(error);
            form.refuse(&error, None);
            Ok(sign_in_page(StatusCode::OK, form, next))
        }
    }
}

/// `POST /staff/sign-out`.
pub async fn sign_out(
    state: web::Data<AppState>,
    staff: StaffPage,
) -> Result<HttpResponse, PageError> {
    state
        .staff
        .sign_out(&staff.token)
        .await
        .map_err(page_error)?;
    Ok(super::with_session(
        &state,
        Site::Staff,
        "",
        Site::Staff.sign_in(),
    ))
}

/// One row of the queue.
struct QueueRow {
    id: i64,
    unit_name: String,
    uscc: String,
    region: String,
    agent_name: String,
    submitted_at: String,
    review: String,
    sync: String,
    billable: bool,
}

/// A status and how many applications are in it.
struct Count {
    status: &'static str,
    label: &'static str,
    total: u64,
    current: bool,
}

#[derive(askama::Template)]
#[template(path = "pages/staff/queue.html")]
struct QueuePage {
    chrome: Chrome,
    rows: Vec<QueueRow>,
    counts: Vec<Count>,
    status: String,
    region: String,
    from: String,
    to: String,
    total: u64,
    page: u64,
    pages: u64,
    query_base: String,
    error: Option<String>,
}

const STATUSES: [(&str, &str); 4] = [
    ("submitted", "待审核"),
    ("rejected", "审核驳回"),
    ("approved", "审核通过"),
    ("draft", "填写中"),
];

/// `GET /staff`: the review queue.
pub async fn queue(
    state: web::Data<AppState>,
    staff: StaffPage,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, PageError> {
    let mut query = query.into_inner();
    let status = query.status.clone().filter(|s| !s.is_empty());
    query.status = Some(status.clone().unwrap_or_else(|| "submitted".into()));
    for field in [&mut query.region, &mut query.from, &mut query.to] {
        if field.as_deref().is_some_and(str::is_empty) {
            *field = None;
        }
    }
    let paging = Paging::of(query.page, Some(20));
    let mut error = None;
    let (records, total) = match queue_filter(&query, paging) {
        Ok(filter) => state
            .applications
            .queue(&filter)
            .await
            .map_err(page_error)?,
        Err(refused) => {
            error = Some(
                crate::failure::Describe::describe(&refused)
                    .message
                    .into_owned(),
            );
            (Vec::new(), 0)
        }
    };
    let mut counts = Vec::new();
    for (code, label) in STATUSES {
        let counted = QueueQuery {
            status: Some(code.to_string()),
            page: Some(1),
            per_page: Some(1),
            region: query.region.clone(),
            from: query.from.clone(),
            to: query.to.clone(),
        };
        let total = match queue_filter(&counted, Paging::of(Some(1), Some(1))) {
            Ok(filter) => {
                state
                    .applications
                    .queue(&filter)
                    .await
                    .map_err(page_error)?
                    .1
            }
            Err(_) => 0,
        };
        counts.push(Count {
            status: code,
            label,
            total,
            current: query.status.as_deref() == Some(code),
        });
    }
    let bodies = crate::http::applications::ApplicationBody::many(&state, records)
        .await
        .map_err(page_error)?;
    let rows = bodies
        .into_iter()
        .map(|body| QueueRow {
            id: body.id,
            unit_name: body
                .enterprise
                .as_ref()
                .map_or(String::new(), |e| e.name.clone()),
            uscc: body
                .enterprise
                .as_ref()
                .map_or(String::new(), |e| e.uscc.clone()),
            region: body
                .enterprise
                .as_ref()
                .map_or(String::new(), |e| regions::label(&e.region_code)),
            agent_name: body
                .agent
                .as_ref()
                .map_or(String::new(), |a| a.name.clone()),
            submitted_at: body.submitted_at.map_or(String::new(), super::beijing),
            review: body.progress.review.label.clone(),
            sync: body.progress.sync.label.clone(),
            billable: body.billable == Some(true),
        })
        .collect();
    let mut base = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("status", &query.status),
        ("region", &query.region),
        ("from", &query.from),
        ("to", &query.to),
    ] {
        if let Some(value) = value {
            base.append_pair(key, value);
        }
    }
    let page = QueuePage {
        chrome: staff.chrome("/staff"),
        rows,
        counts,
        status: query.status.clone().unwrap_or_default(),
        region: query.region.clone().unwrap_or_default(),
        from: query.from.clone().unwrap_or_default(),
        to: query.to.clone().unwrap_or_default(),
        total,
        page: paging.page,
        pages: total.div_ceil(paging.per_page).max(1),
        query_base: base.finish(),
        error,
    };
    Ok(html(StatusCode::OK, &page, &page.chrome.nonce))
}

/// An image of the application, with what the reviewer compares it to.
struct Image {
    id: String,
    caption: &'static str,
}

#[derive(askama::Template)]
#[template(path = "pages/staff/application.html")]
struct ApplicationPage {
    chrome: Chrome,
    body: StaffApplicationBody,
    region: String,
    images: Vec<Image>,
    reasons: &'static [&'static str],
    form: Form,
    done: Option<&'static str>,
    decidable: bool,
    administrator: bool,
    seal: Option<SealView>,
    pushable: bool,
}

/// The application's seal as the reviewer sees it: a captured stamp waits for confirmation.
struct SealView {
    id: Option<i64>,
    status: &'static str,
    making: bool,
    reason: Option<String>,
}

/// Common reasons a reviewer picks from (and may edit).
const REASONS: &[&str] = &[
    "营业执照图片不清晰或不完整，请重新上传清晰、完整、不歪斜的照片",
    "身份证照片不清晰或不完整，请重新上传人像面和国徽面",
    "申请表未加盖单位公章，或公章不清晰、压线，请盖章后重新拍照上传",
    "申请表照片未照全四个角，请重新拍照上传",
    "经办人姓名与申请手机号的实名信息不一致，请使用经办人本人实名的手机号申请",
    "填写的企业信息与营业执照不一致，请核对后修改",
    "需要进行单位信息合并，请联系云南CA公司",
];

async fn application_page(
    state: &AppState,
    staff: &StaffPage,
    id: i64,
    form: Form,
    status: StatusCode,
    done: Option<&'static str>,
) -> Result<HttpResponse, PageError> {
    let record = state.applications.for_staff(id).await.map_err(page_error)?;
    let decidable = record.status == ApplicationStatus::Submitted;
    let seal = if record.ca.as_ref().is_some_and(|ca| ca.seal_wanted) {
        let (status, made) = state
            .sealing
            .seals()
            .status_of(&record)
            .await
            .map_err(page_error)?;
        Some(SealView {
            id: made.as_ref().map(|s| s.id),
            status: status.label_zh(),
            making: status == crate::seals::SealStatus::Making && made.is_some(),
            reason: made.and_then(|s| s.failure_reason),
        })
    } else {
        None
    };
    let mut images = Vec::new();
    if let Some(e) = &record.enterprise {
        images.push(Image {
            id: e.licence_upload_id.clone(),
            caption: "营业执照",
        });
    }
    if let Some(a) = &record.agent {
        images.push(Image {
            id: a.id_front_upload_id.clone(),
            caption: "身份证人像面",
        });
        images.push(Image {
            id: a.id_back_upload_id.clone(),
            caption: "身份证国徽面",
        });
    }
    if let Some(ca) = &record.ca {
        images.push(Image {
            id: ca.form_upload_id.clone(),
            caption: "盖章的业务申请表",
        });
    }
    let body = one_staff_body(state, record).await.map_err(page_error)?;
    let pushable = body.application.status == "approved"
        && body.application.sync_status.as_deref() != Some("synced");
    let page = ApplicationPage {
        administrator: staff.staff.is_administrator(),
        seal,
        pushable,
        chrome: staff.chrome("/staff"),
        region: body
            .application
            .enterprise
            .as_ref()
            .map_or(String::new(), |e| regions::label(&e.region_code)),
        body,
        images,
        reasons: REASONS,
        form,
        done,
        decidable,
    };
    Ok(html(status, &page, &page.chrome.nonce))
}

/// `GET /staff/applications/{id}`.
pub async fn application(
    state: web::Data<AppState>,
    staff: StaffPage,
    path: web::Path<i64>,
    query: web::Query<super::DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let done = match query.done.as_deref() {
        Some("approved") => Some("已审核通过：已短信通知经办人下载证书。"),
        Some("rejected") => Some("已驳回：驳回原因已短信通知经办人。"),
        Some("seal") => Some("印章审核已保存。"),
        Some("employees") => Some("职工人数已保存，免费证书名额随之更新。"),
        Some("merged") => Some("已通知就业平台合并单位账号，并重新推送了该单位被阻塞的申请。"),
        Some("pushed") => Some("已重新推送到就业平台。"),
        _ => None,
    };
    application_page(
        &state,
        &staff,
        path.into_inner(),
        Form::default(),
        StatusCode::OK,
        done,
    )
    .await
}

/// A decision form's outcome (`decision=approve`, else a rejection with its `reason`) and the
/// note shown after it.
fn outcome_of(values: &HashMap<String, String>) -> (Outcome, &'static str) {
    match values.get("decision").map(String::as_str) {
        Some("approve") => (Outcome::Approve, "approved"),
        _ => (
            Outcome::Reject(values.get("reason").cloned().unwrap_or_default()),
            "rejected",
        ),
    }
}

/// `POST /staff/applications/{id}/decision`: 审核通过, or 驳回 with a reason.
pub async fn decision(
    state: web::Data<AppState>,
    staff: StaffPage,
    path: web::Path<i64>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let values = body.into_inner();
    let (outcome, done) = outcome_of(&values);
    match decide(&state, &staff.staff, id, outcome).await {
        Ok(_) => Ok(see_other(&format!("/staff/applications/{id}?done={done}"))),
        Err(error) => {
            let mut form = Form::with_values(values);
            form.refuse(&error, Some("reason"));
            application_page(&state, &staff, id, form, StatusCode::OK, None).await
        }
    }
}

/// `POST /staff/applications/{id}/{action}`: `seal` (confirm or reject the captured stamp, a
/// reviewer's), and the administrator's `employee-count`, `merge` and `sync` (push again).
pub async fn application_action(
    state: web::Data<AppState>,
    staff: StaffPage,
    path: web::Path<(i64, String)>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let (id, action) = path.into_inner();
    let values = body.into_inner();
    let value = |name: &str| {
        values
            .get(name)
            .map_or("", String::as_str)
            .trim()
            .to_string()
    };
    let outcome: Result<&'static str, AppError> = async {
        let record = state.applications.for_staff(id).await?;
        match action.as_str() {
            "seal" => {
                let seal: i64 = value("seal").parse().map_err(|_| AppError::BadRequest {
                    detail: "seal id".into(),
                    message: "没有这个印章",
                })?;
                let rejection = (value("decision") != "approve").then(|| value("reason"));
                state
                    .sealing
                    .seals()
                    .decide(&staff.staff, seal, rejection)
                    .await?;
                Ok("seal")
            }
            "employee-count" => {
                let administrator = staff.staff.administrator()?;
                let count: u32 =
                    value("employee_count")
                        .parse()
                        .map_err(|_| AppError::BadRequest {
                            detail: "employee count".into(),
                            message: "职工人数应为 0 或正整数",
                        })?;
                let uscc = crate::domain::Uscc::parse(record.uscc.as_deref().unwrap_or(""))?;
                state
                    .applications
                    .set_employee_count(administrator, &uscc, count)
                    .await?;
                Ok("employees")
            }
            "merge" => {
                let administrator = staff.staff.administrator()?;
                let uscc = crate::domain::Uscc::parse(record.uscc.as_deref().unwrap_or(""))?;
                state
                    .sync
                    .merge(&uscc, &value("keep"), administrator)
                    .await?;
                state.notices.flush().await;
                Ok("merged")
            }
            "sync" => {
                let administrator = staff.staff.administrator()?;
                crate::http::staff::push_again(&state, administrator, id).await?;
                Ok("pushed")
            }
            _ => Err(unknown_action(&action)),
        }
    }
    .await;
    match outcome {
        Ok(done) => Ok(see_other(&format!("/staff/applications/{id}?done={done}"))),
        Err(error) => {
            let mut form = Form::with_values(values);
            form.refuse(&error, Some(action_field(&action)));
            application_page(&state, &staff, id, form, StatusCode::OK, None).await
        }
    }
}

/// An action path that names no action.
fn unknown_action(action: &str) -> AppError {
    AppError::BadRequest {
        detail: format!("unknown action {action}"),
        message: "没有这个操作",
    }
}

/// The form a refused action's message is shown in.
fn action_field(action: &str) -> &'static str {
    match action {
        "seal" => "seal",
        "employee-count" => "employee_count",
        "merge" => "merge",
        _ => "sync",
    }
}

/// `GET /staff/seals/{id}/picture.png`: a seal's picture (a captured stamp to confirm).
pub async fn seal_picture(
    state: web::Data<AppState>,
    _staff: StaffPage,
    path: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let seal = state
        .sealing
        .seals()
        .seal(path.into_inner())
        .await
        .map_err(page_error)?;
    let png = seal
        .picture
        .ok_or_else(|| page_error(crate::seals::SealError::NotFound))?;
    Ok(HttpResponse::Ok()
        .content_type("image/png")
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(png))
}

/// `GET /staff/uploads/{id}`: an application's image.
pub async fn upload(
    state: web::Data<AppState>,
    _staff: StaffPage,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (record, bytes) = state
        .uploads
        .open_for_staff(&path.into_inner())
        .await
        .map_err(page_error)?;
    Ok(crate::http::uploads::image(record, bytes))
}

// ---------------------------------------------------------------------------------------------
// Certificates (administrators): search, revoke, unlock, a new primary, the signature log;
// unbinding a phone.

struct CertificateRow {
    serial: String,
    unit_name: String,
    uscc: String,
    holder_name: String,
    holder_phone: String,
    role: &'static str,
    media: &'static str,
    status: &'static str,
    not_after: String,
    revocable: bool,
    sub_in_force: bool,
    revoked: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "pages/staff/certificates.html")]
struct CertificatesPage {
    chrome: Chrome,
    q: String,
    rows: Vec<CertificateRow>,
    causes: Vec<(&'static str, &'static str)>,
    form: Form,
    done: Option<&'static str>,
}

/// Query of the certificates page.
#[derive(Debug, serde::Deserialize)]
pub struct CertificateQuery {
    q: Option<String>,
    done: Option<String>,
}

/// The certificates `q` names: a serial (hex), an employer's USCC, or a holder's name.
async fn find_certificates(
    state: &AppState,
    q: &str,
) -> Result<Vec<crate::ca::CertificateRecord>, AppError> {
    let q = q.trim();
    if q.is_empty() {
        return Ok(Vec::new());
    }
    let storage = crate::ca::CaError::Storage;
    if q.len() == 18 && crate::domain::Uscc::parse(q).is_ok() {
        let mut all = state
            .store
            .employer_certificates(q)
            .await
            .map_err(storage)?;
        all.reverse();
        return Ok(all);
    }
    if let Ok(serial) = crate::domain::CertificateSerial::parse(q)
        && let Some(found) = state.store.find_by_serial(&serial).await.map_err(storage)?
    {
        return Ok(vec![found]);
    }
    Ok(state
        .store
        .holder_certificates(q, 100)
        .await
        .map_err(storage)?)
}

async fn certificates_page(
    state: &AppState,
    staff: &StaffPage,
    q: &str,
    form: Form,
    done: Option<&'static str>,
) -> Result<HttpResponse, PageError> {
    staff.administrator()?;
    let now = state.clock.now();
    let rows = find_certificates(state, q)
        .await
        .map_err(page_error)?
        .into_iter()
        .map(|c| {
            let standing = crate::certificates::Standing::of(&c, now);
            CertificateRow {
                serial: c.serial.to_string(),
                unit_name: c.unit_name.clone(),
                uscc: c.uscc.clone(),
                holder_name: c.holder_name.clone(),
                holder_phone: c.holder_phone.clone(),
                role: if c.role == crate::ca::Role::Primary {
                    "主证书"
                } else {
                    "子证书"
                },
                media: c.media.label_zh(),
                status: standing.label_zh(),
                not_after: super::beijing(c.not_after),
                revocable: standing.revocable(),
                sub_in_force: c.role == crate::ca::Role::Sub && standing.in_force(),
                revoked: c.revocation.as_ref().map(|r| {
                    format!(
                        "{} 废除{}",
                        super::beijing(r.revoked_at),
                        r.cause
                            .map_or(String::new(), |c| format!("（{}）", c.label_zh()))
                    )
                }),
            }
        })
        .collect();
    let page = CertificatesPage {
        chrome: staff.chrome("/staff/certificates"),
        q: q.to_string(),
        rows,
        causes: crate::ca::RevocationCause::ALL
            .iter()
            .map(|c| (c.as_str(), c.label_zh()))
            .collect(),
        form,
        done,
    };
    Ok(html(StatusCode::OK, &page, &page.chrome.nonce))
}

fn certificate_done(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "revoked" => "证书已废除：CRL 与 OCSP 即时生效，门户会话已结束，持有人已收到短信。",
        "unlocked" => "证书已解锁：持有人可以重新输入 PIN。",
        "primary" => "已设为本单位的主证书。",
        "unbound" => "手机号已解绑。",
        _ => return None,
    })
}

/// `GET /staff/certificates?q=`: search by serial, USCC or holder.
pub async fn certificates(
    state: web::Data<AppState>,
    staff: StaffPage,
    query: web::Query<CertificateQuery>,
) -> Result<HttpResponse, PageError> {
    let q = query.q.clone().unwrap_or_default();
    certificates_page(
        &state,
        &staff,
        &q,
        Form::default(),
        certificate_done(query.done.as_deref()),
    )
    .await
}

/// `POST /staff/certificates/{serial}/{action}`: `revocation` (cause), `unlock` (reason),
/// `primary` (reason).
pub async fn certificate_action(
    state: web::Data<AppState>,
    staff: StaffPage,
    path: web::Path<(String, String)>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let administrator = staff.administrator()?;
    let (serial, action) = path.into_inner();
    let values = body.into_inner();
    let q = values.get("q").cloned().unwrap_or_default();
    let reason = values.get("reason").cloned().unwrap_or_default();
    let outcome: Result<&str, AppError> = async {
        let serial = crate::domain::CertificateSerial::parse(&serial)?;
        match action.as_str() {
            "revocation" => {
                if values.get("confirm").is_none_or(|v| v != "yes") {
                    return Err(AppError::BadRequest {
                        detail: "revocation not confirmed".into(),
                        message: "请勾选确认后再废除：废除后证书立即失效，不能恢复",
                    });
                }
                let cause = crate::certificates::Revocations::cause(
                    values.get("cause").map_or("", String::as_str),
                )?;
                state
                    .revocations
                    .by_staff(&serial, cause, &administrator.actor())
                    .await?;
                state.backchannel.flush().await;
                Ok("revoked")
            }
            "unlock" => {
                state
                    .downloads
                    .staff_unlock(administrator, &serial, &reason)
                    .await?;
                Ok("unlocked")
            }
            "primary" => {
                state
                    .primaries
                    .appoint(&serial, &reason, &administrator.actor())
                    .await?;
                Ok("primary")
            }
            _ => Err(unknown_action(&action)),
        }
    }
    .await;
    match outcome {
        Ok(done) => Ok(see_other(&format!(
            "/staff/certificates?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("q", &q)
                .append_pair("done", done)
                .finish()
        ))),
        Err(error) => {
            let mut form = Form::default();
            form.refuse(&error, Some("action"));
            certificates_page(&state, &staff, &q, form, None).await
        }
    }
}

/// `POST /staff/phones/unbind`: unbinds a phone for a person re-verified at the counter.
pub async fn unbind_phone(
    state: web::Data<AppState>,
    staff: StaffPage,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let administrator = staff.administrator()?;
    let values = body.into_inner();
    let phone = values.get("phone").cloned().unwrap_or_default();
    let reason = values.get("reason").cloned().unwrap_or_default();
    match state
        .people
        .staff_unbind_phone(administrator, phone.trim(), &reason)
        .await
    {
        Ok(()) => Ok(see_other("/staff/certificates?done=unbound")),
        Err(error) => {
            let mut form = Form::with_values(values);
            form.refuse(&error.into(), Some("unbind"));
            certificates_page(&state, &staff, "", form, None).await
        }
    }
}

#[derive(askama::Template)]
#[template(path = "pages/staff/signatures.html")]
struct SignaturesPage {
    chrome: Chrome,
    serial: String,
    rows: Vec<super::SignatureRow>,
}

/// `GET /staff/certificates/{serial}/signatures`: the certificate's signature log.
pub async fn signatures(
    state: web::Data<AppState>,
    staff: StaffPage,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let serial = crate::domain::CertificateSerial::parse(&path.into_inner()).map_err(page_error)?;
    let entries = state
        .signature_log
        .search(crate::cosign::log::LogQuery {
            serial: Some(serial.clone()),
            uscc: None,
            since: None,
            until: None,
        })
        .await
        .map_err(page_error)?;
    let rows = entries.into_iter().map(super::SignatureRow::of).collect();
    let page = SignaturesPage {
        chrome: staff.chrome("/staff/certificates"),
        serial: serial.to_string(),
        rows,
    };
    Ok(html(StatusCode::OK, &page, &page.chrome.nonce))
}

// ---------------------------------------------------------------------------------------------
// The audit log (administrators), with the chain checked.

struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
}

#[derive(askama::Template)]
#[template(path = "pages/staff/audit.html")]
struct AuditPage {
    chrome: Chrome,
    checked: u64,
    broken: Option<String>,
    rows: Vec<AuditRow>,
}

/// `GET /staff/audit`: the newest 200 entries and the whole chain's check.
pub async fn audit(
    state: web::Data<AppState>,
    staff: StaffPage,
) -> Result<HttpResponse, PageError> {
    staff.administrator()?;
    let check = crate::ca::check_audit_chain(state.store.as_ref(), 200)
        .await
        .map_err(|e| page_error(crate::ca::CaError::Storage(e)))?;
    let broken = check.broken.map(|broken| match broken {
        crate::audit::ChainBreak::Altered { seq } => {
            format!("第 {seq} 条记录被改动（其哈希与内容不符）")
        }
        crate::audit::ChainBreak::Gap { seq, previous_seq } => {
            format!("第 {seq} 条记录没有接在第 {previous_seq} 条之后（有记录被删除或调换）")
        }
    });
    let page = AuditPage {
        chrome: staff.chrome("/staff/audit"),
        checked: check.checked,
        broken,
        rows: check
            .newest
            .into_iter()
            .map(|e| AuditRow {
                seq: e.seq,
                at: super::beijing(e.occurred_at),
                actor: e.actor,
                action: e.action,
                subject: e.subject,
            })
            .collect(),
    };
    Ok(html(StatusCode::OK, &page, &page.chrome.nonce))
}

// ---------------------------------------------------------------------------------------------
// Portals (administrators): register, edit, rotate a secret.

/// One line per value, blanks dropped.
fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// A catalogue from the form's lines `code=名称 | 分组 | physical` (group and lock optional).
fn catalogue(text: &str) -> Result<Vec<crate::portals::BusinessItem>, AppError> {
    let (mut items, mut groups, mut locked) = (Vec::new(), Vec::new(), Vec::new());
    for line in lines(text) {
        let mut parts = line.split('|').map(str::trim);
        let spec = parts.next().unwrap_or_default().to_string();
        let code = spec
            .split_once('=')
            .map_or("", |(c, _)| c.trim())
            .to_string();
        for extra in parts.filter(|p| !p.is_empty()) {
            if matches!(extra, "physical" | "mobile") {
                locked.push(format!("{code}={extra}"));
            } else {
                groups.push(format!("{code}={extra}"));
            }
        }
        items.push(spec);
    }
    Ok(crate::portals::items::catalogue_from_specs(
        &items, &groups, &locked,
    )?)
}

/// The catalogue as the form's lines.
fn catalogue_lines(items: &[crate::portals::BusinessItem]) -> String {
    items
        .iter()
        .map(|item| {
            let mut line = format!("{}={}", item.code, item.name);
            if let Some(group) = &item.group {
                line.push_str(&format!(" | {group}"));
            }
            if let Some(media) = item.locked_for {
                line.push_str(&format!(" | {}", media.as_str()));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn portal_draft(values: &HashMap<String, String>) -> Result<crate::portals::PortalDraft, AppError> {
    let value = |name: &str| values.get(name).map_or("", String::as_str);
    Ok(crate::portals::PortalDraft {
        name: value("name").trim().to_string(),
        kind: if value("kind") == "public" {
            crate::portals::ClientKind::Public
        } else {
            crate::portals::ClientKind::Confidential
        },
        origins: lines(value("origins")),
        redirect_uris: lines(value("redirect_uris")),
        post_logout_redirect_uris: lines(value("post_logout_redirect_uris")),
        scopes: Vec::new(),
        items: catalogue(value("items"))?,
        backchannel_logout_uri: Some(value("backchannel_logout_uri").trim())
            .filter(|u| !u.is_empty())
            .map(str::to_string),
    })
}

fn portal_values(portal: &crate::portals::Portal) -> HashMap<String, String> {
    HashMap::from([
        ("name".to_string(), portal.name.clone()),
        ("kind".to_string(), portal.kind.as_str().to_string()),
        ("origins".to_string(), portal.origins.join("\n")),
        ("redirect_uris".to_string(), portal.redirect_uris.join("\n")),
        (
            "post_logout_redirect_uris".to_string(),
            portal.post_logout_redirect_uris.join("\n"),
        ),
        (
            "backchannel_logout_uri".to_string(),
            portal.backchannel_logout_uri.clone().unwrap_or_default(),
        ),
        ("items".to_string(), catalogue_lines(&portal.items)),
    ])
}

struct PortalRow {
    client_id: String,
    name: String,
    kind: &'static str,
    origins: String,
    items: usize,
    backchannel: bool,
}

#[derive(askama::Template)]
#[template(path = "pages/staff/portals.html")]
struct PortalsPage {
    chrome: Chrome,
    rows: Vec<PortalRow>,
    form: Form,
    /// Set when editing one portal.
    editing: Option<String>,
    /// A secret just made, shown once.
    secret: Option<(String, String)>,
    done: Option<&'static str>,
}

async fn portals_page(
    state: &AppState,
    staff: &StaffPage,
    form: Form,
    editing: Option<String>,
    secret: Option<(String, String)>,
    done: Option<&'static str>,
) -> Result<HttpResponse, PageError> {
    staff.administrator()?;
    let rows = state
        .portals
        .all()
        .await
        .map_err(|e| page_error(crate::ca::CaError::Storage(e)))?
        .into_iter()
        .map(|p| PortalRow {
            kind: if p.kind == crate::portals::ClientKind::Public {
                "公开（PKCE）"
            } else {
                "机密（密钥）"
            },
            origins: p.origins.join("、"),
            items: p.items.len(),
            backchannel: p.backchannel_logout_uri.is_some(),
            client_id: p.client_id,
            name: p.name,
        })
        .collect();
    let page = PortalsPage {
        chrome: staff.chrome("/staff/portals"),
        rows,
        form,
        editing,
        secret,
        done,
    };
    Ok(html(StatusCode::OK, &page, &page.chrome.nonce))
}

/// `GET /staff/portals`: the portals and the form to register one.
pub async fn portals(
    state: web::Data<AppState>,
    staff: StaffPage,
    query: web::Query<super::DoneQuery>,
) -> Result<HttpResponse, PageError> {
    let done = query
        .done
        .as_deref()
        .filter(|d| *d == "edited")
        .map(|_| "门户已保存。");
    portals_page(&state, &staff, Form::default(), None, None, done).await
}

/// `GET /staff/portals/{client_id}`: one portal's form.
pub async fn portal(
    state: web::Data<AppState>,
    staff: StaffPage,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    staff.administrator()?;
    let client_id = path.into_inner();
    let portal = state
        .portals
        .get(&client_id)
        .await
        .map_err(|e| page_error(crate::ca::CaError::Storage(e)))?
        .ok_or_else(|| {
            page_error(crate::portals::PortalError::Unknown {
                client_id: client_id.clone(),
            })
        })?;
    let form = Form::with_values(portal_values(&portal));
    portals_page(&state, &staff, form, Some(client_id), None, None).await
}

/// `POST /staff/portals`: registers a portal; a confidential one's secret is shown once.
pub async fn register_portal(
    state: web::Data<AppState>,
    staff: StaffPage,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let administrator = staff.administrator()?;
    let values = body.into_inner();
    let registered = match portal_draft(&values) {
        Ok(draft) => state
            .portals
            .register(draft, &administrator.actor())
            .await
            .map_err(AppError::from),
        Err(error) => Err(error),
    };
    match registered {
        Ok(registered) => {
            let secret = (
                registered.portal.client_id.clone(),
                registered.secret.unwrap_or_default(),
            );
            portals_page(&state, &staff, Form::default(), None, Some(secret), None).await
        }
        Err(error) => {
            let mut form = Form::with_values(values);
            form.refuse(&error, Some("portal"));
            portals_page(&state, &staff, form, None, None, None).await
        }
    }
}

/// `POST /staff/portals/{client_id}`: saves an edit; `…/secret` makes a new secret.
pub async fn edit_portal(
    state: web::Data<AppState>,
    staff: StaffPage,
    path: web::Path<String>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let administrator = staff.administrator()?;
    let client_id = path.into_inner();
    let values = body.into_inner();
    let edited = match portal_draft(&values) {
        Ok(draft) => state
            .portals
            .edit(&client_id, draft, &administrator.actor())
            .await
            .map_err(AppError::from),
        Err(error) => Err(error),
    };
    match edited {
        Ok(_) => Ok(see_other("/staff/portals?done=edited")),
        Err(error) => {
            let mut form = Form::with_values(values);
            form.refuse(&error, Some("portal"));
            portals_page(&state, &staff, form, Some(client_id), None, None).await
        }
    }
}

/// `POST /staff/portals/{client_id}/secret`: a new secret, shown once; the old one stops.
pub async fn rotate_secret(
    state: web::Data<AppState>,
    staff: StaffPage,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let administrator = staff.administrator()?;
    let client_id = path.into_inner();
    match state
        .portals
        .rotate_secret(&client_id, &administrator.actor())
        .await
    {
        Ok(secret) => {
            portals_page(
                &state,
                &staff,
                Form::default(),
                None,
                Some((client_id, secret)),
                None,
            )
            .await
        }
        Err(error) => {
            let mut form = Form::default();
            form.refuse(&error.into(), Some("portal"));
            portals_page(&state, &staff, form, None, None, None).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Information changes (信息变更): the queue and one change, approved or rejected with a reason.

struct ChangeRow {
    id: i64,
    unit_name: String,
    uscc: String,
    fields: String,
    submitted_at: String,
    status: &'static str,
}

/// One changed field, before and after.
struct ChangedValue {
    label: &'static str,
    before: String,
    after: String,
}

#[derive(askama::Template)]
#[template(path = "pages/staff/changes.html")]
struct ChangesPage {
    chrome: Chrome,
    rows: Vec<ChangeRow>,
    status: String,
    /// The change shown, when one is.
    change: Option<ChangeView>,
    form: Form,
    done: Option<&'static str>,
}

struct ChangeView {
    id: i64,
    application_id: i64,
    unit_name: String,
    status: &'static str,
    decidable: bool,
    values: Vec<ChangedValue>,
    licence: Option<String>,
    reason: Option<String>,
}

fn changed_fields(change: &crate::applications::changes::ChangeRecord) -> String {
    change
        .changed()
        .iter()
        .map(|f| f.label_zh())
        .collect::<Vec<_>>()
        .join("、")
}

async fn changes_page(
    state: &AppState,
    staff: &StaffPage,
    status: &str,
    shown: Option<i64>,
    form: Form,
    done: Option<&'static str>,
) -> Result<HttpResponse, PageError> {
    use crate::applications::changes::{ChangeStatus, ChangedField};
    let wanted = ChangeStatus::parse(status).unwrap_or(ChangeStatus::Submitted);
    let (changes, _) = state
        .changes
        .queue(wanted, 0, 100)
        .await
        .map_err(page_error)?;
    let rows = changes
        .iter()
        .map(|c| ChangeRow {
            id: c.id,
            unit_name: c.unit_name.clone(),
            uscc: c.uscc.clone(),
            fields: changed_fields(c),
            submitted_at: super::beijing(c.submitted_at),
            status: c.status.label_zh(),
        })
        .collect();
    let change = match shown {
        Some(id) => {
            let c = state.changes.for_staff(id).await.map_err(page_error)?;
            let shown_value = |field: ChangedField, info| match field {
                ChangedField::RegionCode => regions::label(field.value_in(info)),
                _ => field.value_in(info).to_string(),
            };
            Some(ChangeView {
                id: c.id,
                application_id: c.application_id,
                unit_name: c.unit_name.clone(),
                status: c.status.label_zh(),
                decidable: c.status == ChangeStatus::Submitted,
                values: c
                    .changed()
                    .into_iter()
                    .map(|field| ChangedValue {
                        label: field.label_zh(),
                        before: shown_value(field, &c.before),
                        after: shown_value(field, &c.after),
                    })
                    .collect(),
                licence: c.licence_upload_id.clone(),
                reason: c.reject_reason.clone(),
            })
        }
        None => None,
    };
    let page = ChangesPage {
        chrome: staff.chrome("/staff/changes"),
        rows,
        status: wanted.as_str().to_string(),
        change,
        form,
        done,
    };
    Ok(html(StatusCode::OK, &page, &page.chrome.nonce))
}

/// Query of the changes page.
#[derive(Debug, serde::Deserialize)]
pub struct ChangesQuery {
    status: Option<String>,
    done: Option<String>,
}

/// `GET /staff/changes[?status=]`: the queue.
pub async fn changes(
    state: web::Data<AppState>,
    staff: StaffPage,
    query: web::Query<ChangesQuery>,
) -> Result<HttpResponse, PageError> {
    let status = query.status.clone().unwrap_or_else(|| "submitted".into());
    changes_page(&state, &staff, &status, None, Form::default(), None).await
}

/// `GET /staff/changes/{id}`: one change, before and after.
pub async fn change(
    state: web::Data<AppState>,
    staff: StaffPage,
    path: web::Path<i64>,
    query: web::Query<ChangesQuery>,
) -> Result<HttpResponse, PageError> {
    let done = match query.done.as_deref() {
        Some("approved") => {
            Some("信息变更已通过：单位信息已更新并推送到就业平台，经办人已收到短信。")
        }
        Some("rejected") => Some("信息变更已驳回：驳回原因已短信通知经办人。"),
        _ => None,
    };
    let status = query.status.clone().unwrap_or_else(|| "submitted".into());
    changes_page(
        &state,
        &staff,
        &status,
        Some(path.into_inner()),
        Form::default(),
        done,
    )
    .await
}

/// `POST /staff/changes/{id}/decision`: 审核通过, or 驳回 with a reason.
pub async fn change_decision(
    state: web::Data<AppState>,
    staff: StaffPage,
    path: web::Path<i64>,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let values = body.into_inner();
    let (outcome, done) = outcome_of(&values);
    match state.changes.decide(&staff.staff, id, outcome).await {
        Ok(_) => {
            state.notices.flush().await;
            Ok(see_other(&format!("/staff/changes/{id}?done={done}")))
        }
        Err(error) => {
            let mut form = Form::with_values(values);
            form.refuse(&error.into(), Some("reason"));
            changes_page(&state, &staff, "submitted", Some(id), form, None).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Staff accounts (administrators).

struct AccountRow {
    username: String,
    display_name: String,
    role: &'static str,
}

#[derive(askama::Template)]
#[template(path = "pages/staff/accounts.html")]
struct AccountsPage {
    chrome: Chrome,
    rows: Vec<AccountRow>,
    form: Form,
    done: bool,
}

async fn accounts_page(
    state: &AppState,
    staff: &StaffPage,
    form: Form,
    done: bool,
) -> Result<HttpResponse, PageError> {
    staff.administrator()?;
    let rows = state
        .staff
        .accounts()
        .await
        .map_err(page_error)?
        .into_iter()
        .map(|a| AccountRow {
            username: a.username,
            display_name: a.display_name,
            role: a.role.label_zh(),
        })
        .collect();
    let page = AccountsPage {
        chrome: staff.chrome("/staff/accounts"),
        rows,
        form,
        done,
    };
    Ok(html(StatusCode::OK, &page, &page.chrome.nonce))
}

/// `GET /staff/accounts`: the staff accounts and the form to add one.
pub async fn accounts(
    state: web::Data<AppState>,
    staff: StaffPage,
    query: web::Query<super::DoneQuery>,
) -> Result<HttpResponse, PageError> {
    accounts_page(&state, &staff, Form::default(), query.done.is_some()).await
}

/// `POST /staff/accounts`: adds an account with its role (audited `staff.add`).
pub async fn add_account(
    state: web::Data<AppState>,
    staff: StaffPage,
    body: web::Form<HashMap<String, String>>,
) -> Result<HttpResponse, PageError> {
    let administrator = staff.administrator()?;
    let values = body.into_inner();
    let value = |name: &str| values.get(name).map_or("", String::as_str);
    let role =
        crate::staff::StaffRole::parse(value("role")).unwrap_or(crate::staff::StaffRole::Reviewer);
    match state
        .staff
        .add_account(
            value("username"),
            value("display_name"),
            value("password"),
            role,
            &administrator.actor(),
        )
        .await
    {
        Ok(_) => Ok(see_other("/staff/accounts?done=added")),
        Err(error) => {
            let field = match error {
                StaffError::InvalidUsername | StaffError::UsernameTaken => Some("username"),
                StaffError::WeakPassword => Some("password"),
                _ => None,
            };
            let mut form = Form::with_values(values);
            form.set("password", "");
            form.refuse(&error.into(), field);
            accounts_page(&state, &staff, form, false).await
        }
    }
}
