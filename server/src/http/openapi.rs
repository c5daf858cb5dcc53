//! The OpenAPI document, generated from the handlers' annotations.

use actix_web::{HttpResponse, get};
use utoipa::OpenApi;

/// Every documented endpoint.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "mcert", description = "手机端用人单位数字证书：证书认证中心与扫码登录服务"),
    paths(
        super::health::healthz,
        super::pki::ca_chain,
        super::pki::crl,
        super::pki::ocsp_post,
        super::pki::ocsp_get,
        super::oauth::jwks,
        openapi_json,
    ),
    components(schemas(crate::error::ErrorBody, super::health::Health, crate::ca::Jwks, crate::ca::Jwk)),
    tags((name = "operations"), (name = "pki"), (name = "oauth2"))
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api-docs/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json")))]
#[get("/api-docs/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
