//! Applicants' file uploads: `multipart/form-data` (what `wx.uploadFile` and browser forms send)
//! with one `purpose` field and one `file` field, read with hard caps on each and on the whole.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, http::header, web};
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt as _;
use serde::Serialize;
use utoipa::ToSchema;

use super::{AppState, principals::ApplicantSession};
use crate::{
    error::AppError,
    uploads::{MAX_REQUEST_BYTES, MAX_UPLOAD_BYTES, UploadError, UploadPurpose, UploadRecord},
};

/// A stored file.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadBody {
    /// Id to reference in the application.
    pub id: String,
    /// `licence`, `id_front`, `id_back` or `application_form`.
    pub purpose: String,
    /// `image/jpeg` or `image/png` (by content).
    pub content_type: String,
    /// Bytes.
    pub size: u64,
    /// SM3 of the content, hex.
    pub sm3: String,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<UploadRecord> for UploadBody {
    fn from(record: UploadRecord) -> Self {
        Self {
            id: record.id,
            purpose: record.purpose.as_str().to_string(),
            content_type: record.content_type,
            size: record.size,
            sm3: record.sm3,
            created_at: record.created_at,
        }
    }
}

fn malformed(detail: impl ToString) -> AppError {
    AppError::BadRequest {
        detail: detail.to_string(),
        message: "上传请求格式错误：应为 multipart/form-data，含 purpose 与 file 两个字段",
    }
}

/// Longest `purpose` field (the longest purpose is 16 characters).
const MAX_PURPOSE_BYTES: usize = 64;

/// Uploads one image (jpg/jpeg/png by content, ≤ 6 MB, ≤ 10000 pixels a side and 40 million in
/// all, 30 a day). The request carries exactly one `purpose` and one `file` and is at most
/// [`MAX_REQUEST_BYTES`] in all: it is refused by its `Content-Length` before anything is read,
/// and otherwise as soon as it grows past that.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "applicants",
    security(("applicant_session" = [])),
    request_body(content_type = "multipart/form-data", description = "fields `purpose` and `file`, once each"),
    responses((status = 201, body = UploadBody),
              (status = 400, body = crate::error::ErrorBody), (status = 413, body = crate::error::ErrorBody),
              (status = 401, body = crate::error::ErrorBody), (status = 429, body = crate::error::ErrorBody)))]
pub async fn upload(
    state: web::Data<AppState>,
    request: HttpRequest,
    mut payload: Multipart,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_REQUEST_BYTES as u64) {
        return Err(UploadError::RequestTooLarge.into());
    }
    let mut purpose = None;
    let mut file: Option<Vec<u8>> = None;
    let mut read = 0usize;
    while let Some(mut field) = payload.try_next().await.map_err(malformed)? {
        let name = field.name().unwrap_or_default().to_string();
        let (limit, too_large) = match name.as_str() {
            "purpose" if purpose.is_none() => (MAX_PURPOSE_BYTES, UploadError::UnknownPurpose),
            "file" if file.is_none() => (MAX_UPLOAD_BYTES, UploadError::TooLarge),
            "purpose" | "file" => return Err(UploadError::FieldRepeated { name }.into()),
            other => return Err(malformed(format!("unexpected field {other}"))),
        };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.try_next().await.map_err(malformed)? {
            read += chunk.len();
            if read > MAX_REQUEST_BYTES {
                return Err(UploadError::RequestTooLarge.into());
            }
            if bytes.len() + chunk.len() > limit {
                return Err(too_large.into());
            }
            bytes.extend_from_slice(&chunk);
        }
        if name == "purpose" {
            let text = String::from_utf8(bytes).map_err(malformed)?;
            purpose = Some(UploadPurpose::parse(text.trim()).ok_or(UploadError::UnknownPurpose)?);
        } else {
            file = Some(bytes);
        }
    }
    let purpose = purpose.ok_or_else(|| malformed("no purpose field"))?;
    let file = file.ok_or_else(|| malformed("no file field"))?;
    let record = state.uploads.store(applicant.id, purpose, &file).await?;
    Ok(HttpResponse::Created().json(UploadBody::from(record)))
}

/// The owner's file, as uploaded.
#[utoipa::path(get, path = "/api/v1/uploads/{id}", tag = "applicants",
    params(("id" = String, Path)), security(("applicant_session" = [])),
    responses((status = 200, description = "the image"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn download(
    state: web::Data<AppState>,
    path: web::Path<String>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let (record, bytes) = state.uploads.open(applicant.id, &path.into_inner()).await?;
    Ok(image(record, bytes))
}

/// Reads the owner's licence or ID card front with the configured OCR provider, to prefill the
/// wizard's fields; the applicant corrects them before saving (every field stays editable).
#[utoipa::path(post, path = "/api/v1/uploads/{id}/recognition", tag = "applicants",
    params(("id" = String, Path)), security(("applicant_session" = [])),
    responses((status = 200, body = crate::uploads::Recognised),
        (status = 400, body = crate::error::ErrorBody, description = "not a licence or ID card front"),
        (status = 404, body = crate::error::ErrorBody),
        (status = 422, body = crate::error::ErrorBody, description = "nothing could be read"),
        (status = 501, body = crate::error::ErrorBody, description = "no OCR provider configured"),
        (status = 503, body = crate::error::ErrorBody)))]
pub async fn recognise(
    state: web::Data<AppState>,
    path: web::Path<String>,
    applicant: ApplicantSession,
) -> Result<HttpResponse, AppError> {
    let read = state
        .uploads
        .recognise(applicant.id, &path.into_inner())
        .await?;
    Ok(HttpResponse::Ok().json(read))
}

/// An uploaded image as a response (its sniffed type, never re-sniffed by the browser).
pub(super) fn image(record: UploadRecord, bytes: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(record.content_type)
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes)
}
