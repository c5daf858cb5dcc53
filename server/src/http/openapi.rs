//! The OpenAPI document, generated from the handlers' annotations.

use actix_web::HttpResponse;
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
        super::oauth::discovery,
        super::oauth::authorize,
        super::oauth::token,
        super::oauth::introspect,
        super::oauth::userinfo,
        super::oauth::logout,
        super::login::login_page,
        super::login::login_events,
        super::login::login_continue,
        super::login::qr_landing,
        super::login::scan,
        super::login::confirm,
        super::login::deny,
        super::login::create_session,
        super::login::session_png,
        super::login::session_status,
        super::login::session_events,
        super::login::session_result,
        super::login::cancel_session,
        super::keys::enrol,
        super::keys::partials,
        super::keys::transport_key,
        super::keys::signature,
        super::keys::key_check,
        super::keys::key_status,
        super::otp::challenge,
        super::otp::answer,
        super::otp::send_code,
        super::otp::sign_in,
        super::otp::me,
        super::otp::sign_out,
        super::uploads::upload,
        super::uploads::download,
        super::uploads::recognise,
        super::applications::create,
        super::applications::list,
        super::applications::show,
        super::applications::agreement,
        super::applications::form_pdf,
        super::applications::application_status,
        super::applications::accept_agreement,
        super::applications::save_enterprise,
        super::applications::save_agent,
        super::applications::save_ca,
        super::applications::submit,
        super::staff::sign_in,
        super::staff::me,
        super::staff::sign_out,
        super::staff::queue,
        super::staff::application,
        super::staff::upload,
        super::staff::approve,
        super::staff::reject,
        super::staff::employee_count,
        super::staff::repush,
        super::staff::merge,
        super::staff::unbind_phone,
        super::staff::unlock_certificate,
        super::staff::set_primary,
        super::mp::sign_in,
        super::mp::sign_out,
        super::mp::me,
        super::mp::real_name,
        super::mp::phone_code,
        super::mp::bind_phone,
        super::mp::unbind_phone,
        super::mp::employers,
        super::mp::download,
        super::mp::certificates,
        super::mp::set_default,
        super::mp::unlock,
        super::grants::sub_certificates,
        super::grants::items,
        super::grants::save,
        super::grants::phone_overview,
        super::grants::phone_change,
        super::revocations::application_certificates,
        super::revocations::revoke_by_applicant,
        super::revocations::revoke_by_staff,
        super::revocations::revoke_by_holder,
        super::renewals::renew_by_holder,
        super::renewals::staff_renewals,
        super::renewals::mark_paid,
        super::changes::submit,
        super::changes::list,
        super::changes::queue,
        super::changes::show,
        super::changes::approve,
        super::changes::reject,
        super::signatures::holder_history,
        super::signatures::staff_search,
        super::dev::enrolment_ticket,
        super::dev::sms_outbox,
        super::dev::clock,
        super::dev::advance_clock,
        openapi_json,
    ),
    modifiers(&DeviceTokenScheme, &ErrorCodes),
    components(schemas(crate::error::ErrorBody, super::health::Health, crate::ca::Jwks, crate::ca::Jwk)),
    tags((name = "operations"), (name = "pki"), (name = "oauth2"),
         (name = "keys", description = "Split-key enrolment and co-signing (docs/split-key.md)"),
         (name = "staff", description = "Staff sign-in and application review"),
         (name = "applications", description = "The application wizard (seed 000 §三)"),
         (name = "applicants", description = "Slider check and SMS codes for phone sign-in"),
         (name = "mini-program", description = "WeChat sign-in, real-name verification and phone binding (seed 000 §四(一))"),
         (name = "login", description = "QR scan-to-login: the hosted page, the phone's scan and confirmation, the embedded API (docs/qr-login.md)"),
         (name = "grants", description = "Item grants (事项授权) for portals, with a primary certificate's access token and the grants scope (seed 000 §四(三))"),
         (name = "development", description = "Only served when MCERT_DEV_MODE is on"))
)]
pub struct ApiDoc;

/// Bearer credentials: the phone's device token (issued at enrolment) and an applicant's
/// session token (issued at sign-in).
#[derive(Debug)]
struct DeviceTokenScheme;

impl utoipa::Modify for DeviceTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        for name in [
            "device_token",
            "applicant_session",
            "staff_session",
            "mp_session",
            "access_token",
        ] {
            components.add_security_scheme(
                name,
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
        components.add_security_scheme(
            "client_basic",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
        );
    }
}

/// Every error code the service answers with: the `ErrorCode` schema (an enumeration, the type
/// of `ErrorBody.code`) and, as `x-error-statuses`, the HTTP status each code normally has.
#[derive(Debug)]
struct ErrorCodes;

impl utoipa::Modify for ErrorCodes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use crate::failure::code;
        use utoipa::openapi::{
            Ref, RefOr, Schema,
            extensions::ExtensionsBuilder,
            schema::{ObjectBuilder, Type},
        };
        let names: Vec<&str> = code::ALL.iter().map(|c| c.name()).collect();
        let statuses: serde_json::Map<String, serde_json::Value> = code::ALL
            .iter()
            .map(|c| {
                let status = crate::error::status_of(c.kind()).as_u16();
                (c.name().to_string(), status.into())
            })
            .collect();
        let error_code = ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Stable error code (server/src/failure.rs); `x-error-statuses` gives the HTTP \
                 status each normally comes with",
            ))
            .enum_values(Some(names))
            .extensions(Some(
                ExtensionsBuilder::new()
                    .add("x-error-statuses", serde_json::Value::Object(statuses))
                    .build(),
            ))
            .build();
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert(
            "ErrorCode".to_string(),
            RefOr::T(Schema::Object(error_code)),
        );
        if let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut("ErrorBody") {
            body.properties.insert(
                "code".to_string(),
                RefOr::Ref(Ref::from_schema_name("ErrorCode")),
            );
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api-docs/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
