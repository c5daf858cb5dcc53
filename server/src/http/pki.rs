//! Certificates, CRL and OCSP for relying parties.

use actix_web::{HttpResponse, web};
use base64::{Engine, engine::general_purpose};

use super::AppState;
use crate::error::AppError;

/// Largest OCSP request accepted (a request for 20 certificates is well under this).
const MAX_OCSP_REQUEST: usize = 16 * 1024;

/// The issuing CA certificate then the root, PEM.
#[utoipa::path(get, path = "/pki/ca.pem", tag = "pki",
    responses((status = 200, description = "Issuing CA then root CA, PEM", content_type = "application/x-pem-file", body = String)))]
pub async fn ca_chain(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .content_type("application/x-pem-file")
        .body(state.authority.chain_pem()?))
}

/// The current CRL, DER.
#[utoipa::path(get, path = "/pki/crl", tag = "pki",
    responses((status = 200, description = "RFC 5280 CRL, DER", content_type = "application/pkix-crl", body = Vec<u8>),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn crl(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let der = state.authority.current_crl().await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pkix-crl")
        .body(der))
}

/// OCSP over POST (RFC 6960 Appendix A.1).
#[utoipa::path(post, path = "/pki/ocsp", tag = "pki",
    request_body(content = Vec<u8>, content_type = "application/ocsp-request", description = "DER OCSPRequest"),
    responses((status = 200, description = "DER OCSPResponse (errors are OCSP statuses inside it)", content_type = "application/ocsp-response", body = Vec<u8>)))]
pub async fn ocsp_post(state: web::Data<AppState>, body: web::Bytes) -> HttpResponse {
    let request = if body.len() > MAX_OCSP_REQUEST {
        &[][..]
    } else {
        &body[..]
    };
    ocsp_response(state.authority.ocsp(request).await)
}

/// OCSP over GET (RFC 6960 Appendix A.1, RFC 5019): the base64 request in the path.
#[utoipa::path(get, path = "/pki/ocsp/{request}", tag = "pki",
    params(("request" = String, Path, description = "base64 (URL-encoded) DER OCSPRequest")),
    responses((status = 200, description = "DER OCSPResponse", content_type = "application/ocsp-response", body = Vec<u8>)))]
pub async fn ocsp_get(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let encoded = path.into_inner();
    let der = general_purpose::STANDARD
        .decode(encoded.as_bytes())
        .or_else(|_| general_purpose::URL_SAFE.decode(encoded.as_bytes()))
        .or_else(|_| general_purpose::URL_SAFE_NO_PAD.decode(encoded.as_bytes()))
        .unwrap_or_default();
    let request = if der.len() > MAX_OCSP_REQUEST {
        &[][..]
    } else {
        &der[..]
    };
    ocsp_response(state.authority.ocsp(request).await)
}

fn ocsp_response(der: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/ocsp-response")
        .insert_header(("Cache-Control", "max-age=60, public"))
        .body(der)
}
