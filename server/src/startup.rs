//! Builds the application: storage, short-lived store, CA, the route table, the listener.

use std::{net::TcpListener, sync::Arc, time::Duration};

use actix_web::{App, HttpServer, dev::Server, web};
use anyhow::Context;
use chrono::TimeDelta;
use tracing_actix_web::TracingLogger;

use crate::{
    applicants::Applicants,
    applications::{Applications, form_fonts::FormFonts},
    ca::{Authority, CertStore, KeyWrap, MasterKey},
    captcha::{Captcha, CaptchaLimits},
    clock::{Clock, DevClock, SystemClock},
    configuration::Settings,
    cosign::Cosigner,
    downloads::Downloads,
    enrol::Enrolment,
    error::{AppError, RequestError},
    grants::{Grants, phone::PhoneGrants},
    http::{self, AppState},
    kv,
    login::{Logins, backchannel::BackChannel, oidc::Oidc},
    notify::Notifier,
    otp::OtpService,
    people::{People, PeopleProviders},
    portals::Portals,
    providers::{
        HttpTimeouts,
        carrier::{AliyunCarrier, CarrierCheck, DevCarrier, UnconfiguredCarrier},
        ocr::{AliyunOcr, OcrReader},
        platform::{DevPlatform, EmploymentPlatform, HttpPlatform, UnconfiguredPlatform},
        sms::{AliyunSms, DevSms, SmsSender, UnconfiguredSms},
        wechat::{DevFace, DevWeChat, FaceVerifier, UnconfiguredWeChat, WeChatApi, WeChatLogin},
    },
    signing::Signing,
    staff::Staff,
    store::{self, SeaStore},
    sync::Syncer,
    uploads::{FsFileStore, Uploads},
};

/// The web pages: the applicant site, the staff console, their assets.
fn page_routes(cfg: &mut web::ServiceConfig) {
    use http::pages::{account, apply, assets, console};
    cfg.route("/assets/{name}", web::get().to(assets::asset))
        .route("/apply", web::get().to(apply::list))
        .route("/apply/sign-in", web::get().to(apply::sign_in_form))
        .route("/apply/sign-in", web::post().to(apply::sign_in))
        .route("/apply/sign-out", web::post().to(apply::sign_out))
        .route("/apply/applications", web::post().to(apply::create))
        .route(
            "/apply/applications/{id}",
            web::get().to(apply::application),
        )
        .route(
            "/apply/applications/{id}/agreement",
            web::get().to(apply::agreement),
        )
        .route(
            "/apply/applications/{id}/agreement",
            web::post().to(apply::accept_agreement),
        )
        .route(
            "/apply/applications/{id}/form.pdf",
            web::get().to(apply::form_pdf),
        )
        .route(
            "/apply/applications/{id}/changes",
            web::post().to(apply::change),
        )
        .route(
            "/apply/applications/{id}/certificates/{serial}/revocation",
            web::post().to(apply::revoke),
        )
        .route(
            "/apply/applications/{id}/{step}",
            web::get().to(apply::step_form),
        )
        .route(
            "/apply/applications/{id}/{step}",
            web::post().to(apply::save_step),
        )
        .route("/apply/uploads/{id}", web::get().to(apply::upload))
        .route("/staff", web::get().to(console::queue))
        .route("/staff/sign-in", web::get().to(console::sign_in_form))
        .route("/staff/sign-in", web::post().to(console::sign_in))
        .route("/staff/sign-out", web::post().to(console::sign_out))
        .route(
            "/staff/applications/{id}",
            web::get().to(console::application),
        )
        .route(
            "/staff/applications/{id}/decision",
            web::post().to(console::decision),
        )
        .route(
            "/staff/applications/{id}/{action}",
            web::post().to(console::application_action),
        )
        .route(
            "/staff/seals/{id}/picture.png",
            web::get().to(console::seal_picture),
        )
        .route("/staff/uploads/{id}", web::get().to(console::upload))
        .route("/staff/certificates", web::get().to(console::certificates))
        .route(
            "/staff/certificates/{serial}/signatures",
            web::get().to(console::signatures),
        )
        .route(
            "/staff/certificates/{serial}/{action}",
            web::post().to(console::certificate_action),
        )
        .route(
            "/staff/phones/unbind",
            web::post().to(console::unbind_phone),
        )
        .route("/staff/audit", web::get().to(console::audit))
        .route("/staff/accounts", web::get().to(console::accounts))
        .route("/staff/accounts", web::post().to(console::add_account))
        .route("/staff/changes", web::get().to(console::changes))
        .route("/staff/changes/{id}", web::get().to(console::change))
        .route(
            "/staff/changes/{id}/decision",
            web::post().to(console::change_decision),
        )
        .route("/staff/portals", web::get().to(console::portals))
        .route("/staff/portals", web::post().to(console::register_portal))
        .route("/staff/portals/{client_id}", web::get().to(console::portal))
        .route(
            "/staff/portals/{client_id}",
            web::post().to(console::edit_portal),
        )
        .route(
            "/staff/portals/{client_id}/secret",
            web::post().to(console::rotate_secret),
        )
        .route("/account", web::get().to(account::home))
        .route("/account/sign-in", web::get().to(account::sign_in_form))
        .route("/account/login", web::post().to(account::login))
        .route("/account/callback", web::get().to(account::callback))
        .route("/account/sign-out", web::post().to(account::sign_out))
        .route("/account/grants", web::get().to(account::grants))
        .route(
            "/account/grants/{serial}",
            web::post().to(account::save_grants),
        )
        .route(
            "/account/certificates/{serial}/signatures",
            web::get().to(account::signatures),
        );
}

/// The route table: every endpoint and its path, in one place. The API is one scope under
/// `/api/v1`; `/dev/*` and the demo portal only in development mode. Handlers take the caller
/// they need as an extractor (`http::principals`).
pub fn routes(cfg: &mut web::ServiceConfig, dev_mode: bool) {
    cfg.route("/healthz", web::get().to(http::health::healthz))
        .route("/pki/ca.pem", web::get().to(http::pki::ca_chain))
        .route("/pki/crl", web::get().to(http::pki::crl))
        .route("/pki/ocsp", web::post().to(http::pki::ocsp_post))
        .route("/pki/ocsp/{request:.*}", web::get().to(http::pki::ocsp_get))
        .route("/oauth2/jwks", web::get().to(http::oauth::jwks))
        .route(
            "/.well-known/openid-configuration",
            web::get().to(http::oauth::discovery),
        )
        .route("/oauth2/authorize", web::get().to(http::oauth::authorize))
        .route("/oauth2/token", web::post().to(http::oauth::token))
        .route(
            "/oauth2/introspect",
            web::post().to(http::oauth::introspect),
        )
        .service(
            web::resource("/oauth2/userinfo")
                .route(web::get().to(http::oauth::userinfo))
                .route(web::post().to(http::oauth::userinfo)),
        )
        .route("/oauth2/logout", web::get().to(http::oauth::logout))
        .route("/login/{id}", web::get().to(http::login::login_page))
        .route(
            "/login/{id}/events",
            web::get().to(http::login::login_events),
        )
        .route(
            "/login/{id}/continue",
            web::get().to(http::login::login_continue),
        )
        .route("/q/{id}", web::get().to(http::login::qr_landing))
        .configure(page_routes)
        .route("/seal/{id}", web::get().to(http::seals::seal_page))
        .route(
            "/api-docs/openapi.json",
            web::get().to(http::openapi::openapi_json),
        )
        .service(
            web::scope("/api/v1")
                // Applicants: the slider check, SMS codes, sign-in (the application site).
                .route("/captcha", web::post().to(http::otp::challenge))
                .route("/captcha/{id}", web::post().to(http::otp::answer))
                .route("/otp", web::post().to(http::otp::send_code))
                .route("/applicants/session", web::post().to(http::otp::sign_in))
                .route("/applicants/me", web::get().to(http::otp::me))
                .route("/applicants/session", web::delete().to(http::otp::sign_out))
                // Their uploads and applications.
                .route("/uploads", web::post().to(http::uploads::upload))
                .route("/uploads/{id}", web::get().to(http::uploads::download))
                .route(
                    "/uploads/{id}/recognition",
                    web::post().to(http::uploads::recognise),
                )
                .route("/applications", web::post().to(http::applications::create))
                .route("/applications", web::get().to(http::applications::list))
                .route(
                    "/applications/{id}",
                    web::get().to(http::applications::show),
                )
                .route("/agreement", web::get().to(http::applications::agreement))
                .route(
                    "/applications/{id}/form.pdf",
                    web::get().to(http::applications::form_pdf),
                )
                .route(
                    "/applications/{id}/status",
                    web::get().to(http::applications::application_status),
                )
                .route(
                    "/applications/{id}/agreement",
                    web::post().to(http::applications::accept_agreement),
                )
                .route(
                    "/applications/{id}/enterprise",
                    web::put().to(http::applications::save_enterprise),
                )
                .route(
                    "/applications/{id}/agent",
                    web::put().to(http::applications::save_agent),
                )
                .route(
                    "/applications/{id}/ca",
                    web::put().to(http::applications::save_ca),
                )
                .route(
                    "/applications/{id}/submit",
                    web::post().to(http::applications::submit),
                )
                // Staff.
                .route("/staff/session", web::post().to(http::staff::sign_in))
                .route("/staff/me", web::get().to(http::staff::me))
                .route("/staff/session", web::delete().to(http::staff::sign_out))
                .route("/staff/applications", web::get().to(http::staff::queue))
                .route(
                    "/staff/applications/{id}",
                    web::get().to(http::staff::application),
                )
                .route("/staff/uploads/{id}", web::get().to(http::staff::upload))
                .route(
                    "/staff/applications/{id}/approve",
                    web::post().to(http::staff::approve),
                )
                .route(
                    "/staff/applications/{id}/reject",
                    web::post().to(http::staff::reject),
                )
                .route(
                    "/staff/employers/{uscc}/employee-count",
                    web::put().to(http::staff::employee_count),
                )
                .route(
                    "/staff/applications/{id}/sync",
                    web::post().to(http::staff::repush),
                )
                .route(
                    "/staff/employers/{uscc}/merge",
                    web::post().to(http::staff::merge),
                )
                .route(
                    "/staff/phones/{phone}/unbind",
                    web::post().to(http::staff::unbind_phone),
                )
                .route(
                    "/staff/certificates/{serial}/unlock",
                    web::post().to(http::staff::unlock_certificate),
                )
                .route(
                    "/staff/certificates/{serial}/primary",
                    web::post().to(http::staff::set_primary),
                )
                // The mini-program: account, real name, phones, downloads, certificates.
                .route("/mp/session", web::post().to(http::mp::sign_in))
                .route("/mp/session", web::delete().to(http::mp::sign_out))
                .route("/mp/me", web::get().to(http::mp::me))
                .route("/mp/real-name", web::post().to(http::mp::real_name))
                .route("/mp/phone-codes", web::post().to(http::mp::phone_code))
                .route("/mp/phones", web::post().to(http::mp::bind_phone))
                .route(
                    "/mp/phones/{phone}",
                    web::delete().to(http::mp::unbind_phone),
                )
                .route("/mp/employers", web::get().to(http::mp::employers))
                .route("/mp/downloads", web::post().to(http::mp::download))
                .route("/mp/certificates", web::get().to(http::mp::certificates))
                .route(
                    "/mp/certificates/{serial}/default",
                    web::put().to(http::mp::set_default),
                )
                .route(
                    "/mp/certificates/{serial}/unlock",
                    web::post().to(http::mp::unlock),
                )
                .route(
                    "/applications/{id}/certificates",
                    web::get().to(http::revocations::application_certificates),
                )
                .route(
                    "/applications/{id}/certificates/{serial}/revocation",
                    web::post().to(http::revocations::revoke_by_applicant),
                )
                .route(
                    "/staff/certificates/{serial}/revocation",
                    web::post().to(http::revocations::revoke_by_staff),
                )
                .route(
                    "/applications/{id}/changes",
                    web::post().to(http::changes::submit),
                )
                .route(
                    "/applications/{id}/changes",
                    web::get().to(http::changes::list),
                )
                .route(
                    "/staff/information-changes",
                    web::get().to(http::changes::queue),
                )
                .route(
                    "/staff/information-changes/{id}",
                    web::get().to(http::changes::show),
                )
                .route(
                    "/staff/information-changes/{id}/approve",
                    web::post().to(http::changes::approve),
                )
                .route(
                    "/staff/information-changes/{id}/reject",
                    web::post().to(http::changes::reject),
                )
                .route(
                    "/staff/signatures",
                    web::get().to(http::signatures::staff_search),
                )
                .route(
                    "/mp/certificates/{serial}/renewal",
                    web::post().to(http::renewals::renew_by_holder),
                )
                .route(
                    "/staff/renewals",
                    web::get().to(http::renewals::staff_renewals),
                )
                .route(
                    "/staff/renewals/{id}/payment",
                    web::post().to(http::renewals::mark_paid),
                )
                .route(
                    "/mp/certificates/{serial}/revocation",
                    web::post().to(http::revocations::revoke_by_holder),
                )
                .route(
                    "/mp/certificates/{serial}/signatures",
                    web::get().to(http::signatures::holder_history),
                )
                .route(
                    "/mp/certificates/{serial}/grants",
                    web::get().to(http::grants::phone_overview),
                )
                .route(
                    "/mp/certificates/{serial}/grants",
                    web::post().to(http::grants::phone_change),
                )
                // The grant API: portals acting for a primary certificate's holder.
                .route(
                    "/grants/sub-certificates",
                    web::get().to(http::grants::sub_certificates),
                )
                .route(
                    "/grants/sub-certificates/{serial}",
                    web::put().to(http::grants::save),
                )
                .route("/grants/items", web::get().to(http::grants::items))
                // Split-key enrolment and co-signing (the phone).
                .route("/enrolments", web::post().to(http::keys::enrol))
                .route(
                    "/cosign/{session_id}/partials",
                    web::post().to(http::keys::partials),
                )
                .route(
                    "/mp/transport-key",
                    web::get().to(http::keys::transport_key),
                )
                .route(
                    "/cosign/{session_id}/signature",
                    web::post().to(http::keys::signature),
                )
                .route(
                    "/certificates/{serial}/key-checks",
                    web::post().to(http::keys::key_check),
                )
                .route(
                    "/certificates/{serial}/key",
                    web::get().to(http::keys::key_status),
                )
                // QR login: the phone scans and confirms; portals embed sessions.
                .route("/mp/logins", web::post().to(http::login::scan))
                .route(
                    "/mp/logins/{id}/confirm",
                    web::post().to(http::login::confirm),
                )
                .route("/mp/logins/{id}/deny", web::post().to(http::login::deny))
                .route(
                    "/login-sessions",
                    web::post().to(http::login::create_session),
                )
                // Electronic seals: sealing sessions are login sessions with a document, so
                // their QR, state, events and cancellation are the login session's.
                .route(
                    "/seal-sessions",
                    web::post().to(http::seals::create_hash_session),
                )
                .route(
                    "/seal-sessions/pdf",
                    web::post().to(http::seals::create_pdf_session),
                )
                .route(
                    "/seal-sessions/{id}/qr.png",
                    web::get().to(http::login::session_png),
                )
                .route(
                    "/seal-sessions/{id}",
                    web::get().to(http::login::session_status),
                )
                .route(
                    "/seal-sessions/{id}/events",
                    web::get().to(http::login::session_events),
                )
                .route(
                    "/seal-sessions/{id}/result",
                    web::post().to(http::seals::result),
                )
                .route(
                    "/seal-sessions/{id}/document.pdf",
                    web::get().to(http::seals::stamped_pdf),
                )
                .route(
                    "/seal-sessions/{id}",
                    web::delete().to(http::login::cancel_session),
                )
                .route("/mp/seals", web::get().to(http::seals::phone_seals))
                .route(
                    "/seal-verifications",
                    web::post().to(http::seals::verify_upload),
                )
                .route(
                    "/applications/{id}/seal",
                    web::get().to(http::seals::application_seal),
                )
                .route("/staff/seals", web::get().to(http::seals::staff_seals))
                .route("/staff/seals/{id}", web::get().to(http::seals::staff_seal))
                .route(
                    "/staff/seals/{id}/picture.png",
                    web::get().to(http::seals::staff_seal_picture),
                )
                .route(
                    "/staff/seals/{id}/decision",
                    web::post().to(http::seals::decide),
                )
                .route(
                    "/login-sessions/{id}/qr.png",
                    web::get().to(http::login::session_png),
                )
                .route(
                    "/login-sessions/{id}",
                    web::get().to(http::login::session_status),
                )
                .route(
                    "/login-sessions/{id}/events",
                    web::get().to(http::login::session_events),
                )
                .route(
                    "/login-sessions/{id}/result",
                    web::post().to(http::login::session_result),
                )
                .route(
                    "/login-sessions/{id}",
                    web::delete().to(http::login::cancel_session),
                ),
        );
    if dev_mode {
        cfg.route(
            "/dev/enrolment-tickets",
            web::post().to(http::dev::enrolment_ticket),
        )
        .route("/dev/sms", web::get().to(http::dev::sms_outbox))
        .route("/dev/clock", web::get().to(http::dev::clock))
        .route("/dev/clock", web::post().to(http::dev::advance_clock))
        .route("/demo", web::get().to(http::demo::home))
        .route("/demo/login", web::get().to(http::demo::login))
        .route("/demo/callback", web::get().to(http::demo::callback))
        .route("/demo/logout", web::get().to(http::demo::logout))
        .route("/demo/seal", web::get().to(http::demo::seal_form))
        .route("/demo/seal", web::post().to(http::demo::seal_upload))
        .route("/demo/sample.pdf", web::get().to(http::demo::sample_pdf))
        .route(
            "/demo/seal/{id}/document.pdf",
            web::get().to(http::demo::seal_document),
        )
        .route(
            "/demo/backchannel-logout",
            web::post().to(http::demo::backchannel_logout),
        );
    }
}

/// Largest JSON body (the longest, a co-signing step, is a few hundred bytes).
pub const JSON_LIMIT: usize = 16 * 1024;
/// Largest other body read whole (an OCSP request, a token form).
pub const PAYLOAD_LIMIT: usize = 64 * 1024;

/// JSON bodies: small; one that is too large, of another type or not of the documented shape
/// is refused with the JSON error body, as every error of the API is.
fn json_config() -> web::JsonConfig {
    use actix_web::error::JsonPayloadError;
    web::JsonConfig::default()
        .limit(JSON_LIMIT)
        .error_handler(|error, _request| {
            let refused = match error {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => {
                    RequestError::TooLarge { limit: JSON_LIMIT }
                }
                JsonPayloadError::ContentType => RequestError::NotJson,
                JsonPayloadError::Payload(error) => RequestError::Payload {
                    detail: error.to_string(),
                },
                other => RequestError::Json {
                    detail: other.to_string(),
                },
            };
            AppError::from(refused).into()
        })
}

/// Path segments that do not parse (`/api/v1/applications/abc`): the JSON error body, not
/// actix's plain-text complaint.
fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|error, _request| {
        AppError::from(RequestError::Path {
            detail: error.to_string(),
        })
        .into()
    })
}

/// Query strings that do not parse: the JSON error body.
fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _request| {
        AppError::from(RequestError::Query {
            detail: error.to_string(),
        })
        .into()
    })
}

/// The CA with its storage, opened and migrated; what `serve` and the admin CLI share.
#[derive(Debug)]
pub struct Core {
    /// The registry.
    pub store: Arc<SeaStore>,
    /// The CA.
    pub authority: Arc<Authority>,
    /// Seals private key material (CA keys, server key shares).
    pub key_wrap: Arc<dyn KeyWrap>,
    /// The time the core and every service over it go by.
    pub clock: Arc<dyn Clock>,
}

impl Core {
    /// The server's half of co-signing over this core and a kv store.
    pub fn cosigner(&self, kv: Arc<dyn kv::Kv>) -> Arc<Cosigner> {
        Arc::new(Cosigner::new(
            self.store.clone(),
            kv,
            self.key_wrap.clone(),
            self.authority.transport_key(),
            self.clock.clone(),
        ))
    }
}

/// Connects to the database, migrates, resolves the master key and opens (or creates) the CA,
/// all on `clock`.
pub async fn open_core(
    settings: &Settings,
    public_base: &str,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Core> {
    let db = store::connect(&settings.effective_database_url())
        .await
        .with_context(|| {
            format!(
                "cannot connect to the {} database",
                settings.database_kind()
            )
        })?;
    store::migrate_up(&db)
        .await
        .context("database migration failed")?;
    let store = Arc::new(SeaStore::new(db, clock.clone()));
    let has_keys = store
        .has_authority_keys()
        .await
        .context("cannot read the CA keys")?;
    let master_key = MasterKey::resolve(
        settings.master_key.as_ref(),
        &settings.data_dir.join("master.key"),
        !has_keys,
    )?;
    let validity = TimeDelta::hours(i64::from(settings.crl_validity_hours.max(1)));
    let authority = Authority::open(
        store.clone(),
        &master_key,
        public_base,
        validity,
        clock.clone(),
    )
    .await?;
    Ok(Core {
        store,
        authority: Arc::new(authority),
        key_wrap: Arc::new(master_key),
        clock,
    })
}

/// The employment platform the settings name: the configured one; in development mode without
/// one, a stand-in that accepts everything; otherwise one that is always unavailable, so pushes
/// wait until it is configured.
fn platform(settings: &Settings) -> anyhow::Result<Arc<dyn EmploymentPlatform>> {
    if let Some(config) = &settings.platform {
        let client = HttpPlatform::new(config, HttpTimeouts::default())
            .context("invalid [platform] settings")?;
        return Ok(Arc::new(client));
    }
    if settings.dev_mode {
        tracing::warn!("development employment platform: pushes are accepted and not sent");
        return Ok(Arc::new(DevPlatform));
    }
    tracing::warn!("no employment platform configured: approved applications wait to be synced");
    Ok(Arc::new(UnconfiguredPlatform))
}

/// The development outbox, when messages go there.
type DevOutbox = Option<Arc<DevSms>>;

/// The SMS sender the settings name: Aliyun when configured; otherwise the development outbox in
/// development mode, and a sender that refuses with a configuration error in production.
/// WeChat sign-in, face verification and the carrier check: the real services when configured,
/// the development stand-ins in development mode, otherwise clear refusals.
fn people_providers(settings: &Settings) -> anyhow::Result<PeopleProviders> {
    let timeouts = HttpTimeouts::default();
    let (wechat, face): (Arc<dyn WeChatLogin>, Arc<dyn FaceVerifier>) = match &settings.wechat {
        Some(config) => {
            let api = Arc::new(
                WeChatApi::new(config.clone(), timeouts).context("invalid [wechat] settings")?,
            );
            (api.clone(), api)
        }
        None if settings.dev_mode => {
            tracing::warn!(
                "development WeChat: sign-in codes dev:<openid> and face results dev-pass:… are \
                 accepted without asking WeChat"
            );
            (Arc::new(DevWeChat::new()), Arc::new(DevFace))
        }
        None => (Arc::new(UnconfiguredWeChat), Arc::new(UnconfiguredWeChat)),
    };
    let carrier: Arc<dyn CarrierCheck> = match &settings.aliyun_carrier {
        Some(config) => Arc::new(
            AliyunCarrier::new(config.clone(), timeouts)
                .context("invalid [aliyun_carrier] settings")?,
        ),
        None if settings.dev_mode => {
            tracing::warn!("development carrier check: every phone belongs to the person");
            Arc::new(DevCarrier)
        }
        None => Arc::new(UnconfiguredCarrier),
    };
    Ok(PeopleProviders {
        wechat,
        face,
        carrier,
    })
}

/// The offline IP database that locates the browsers starting logins, when one is configured
/// (a configured file that cannot be read stops the start).
fn region_db(settings: &Settings) -> anyhow::Result<Option<Arc<crate::geo::RegionDb>>> {
    let Some(path) = &settings.ip_region_db else {
        tracing::info!(
            "no IP region database: the phone shows where a login started by address only"
        );
        return Ok(None);
    };
    let db = crate::geo::RegionDb::open(path).context("invalid MCERT_IP_REGION_DB")?;
    Ok(Some(Arc::new(db)))
}

/// The OCR reader, when one is configured; without one the wizard does not prefill.
fn ocr_reader(settings: &Settings) -> anyhow::Result<Option<Arc<dyn OcrReader>>> {
    let Some(config) = &settings.aliyun_ocr else {
        return Ok(None);
    };
    let reader = AliyunOcr::new(config.clone(), HttpTimeouts::default())
        .context("invalid [aliyun_ocr] settings")?;
    Ok(Some(Arc::new(reader)))
}

fn sms_sender(
    settings: &Settings,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<(Arc<dyn SmsSender>, DevOutbox)> {
    if let Some(config) = &settings.aliyun_sms {
        let aliyun = AliyunSms::new(config.clone()).context("invalid [aliyun_sms] settings")?;
        return Ok((Arc::new(aliyun), None));
    }
    if settings.dev_mode {
        tracing::warn!("development SMS: messages are logged and shown at /dev/sms, not sent");
        let dev = Arc::new(DevSms::new(clock.clone()));
        return Ok((dev.clone(), Some(dev)));
    }
    tracing::warn!("no SMS provider configured: SMS codes and notices will fail");
    Ok((Arc::new(UnconfiguredSms), None))
}

/// A built, not yet running, server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Application {
    /// Binds the listener (port 0 picks a free one), opens everything, builds the server, on
    /// the system's time (or the development clock over it, `MCERT_DEV_CLOCK`).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, Arc::new(SystemClock)).await
    }

    /// [`Application::build`] on `clock` instead of the system's time: tests pass a clock they
    /// move. With `dev_clock` set, the development clock runs on top of it.
    pub async fn build_with_clock(
        settings: Settings,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        if settings.dev_clock && !settings.dev_mode {
            anyhow::bail!(
                "MCERT_DEV_CLOCK=true needs development mode (MCERT_DEV_MODE=true): a server whose \
                 time can be moved forward is for development only"
            );
        }
        let dev_clock = settings
            .dev_clock
            .then(|| Arc::new(DevClock::new(clock.clone())));
        let clock: Arc<dyn Clock> = match &dev_clock {
            Some(dev_clock) => {
                tracing::warn!(
                    "development clock: POST /dev/clock moves the server's time forward"
                );
                dev_clock.clone()
            }
            None => clock,
        };
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let public_base = settings.public_base(port);
        let trusted_proxies = http::forwarded::TrustedProxies::parse(&settings.trusted_proxies)
            .context("invalid MCERT_TRUSTED_PROXIES")?;
        let core = open_core(&settings, &public_base, clock.clone()).await?;
        let redis_url = settings
            .redis_url
            .as_ref()
            .map(secrecy::ExposeSecret::expose_secret);
        let kv = kv::connect(redis_url, &settings.kv_prefix, clock.clone())
            .await
            .context("cannot connect to Redis")?;
        let cosigner = core.cosigner(kv.clone());
        let enrolment = Arc::new(Enrolment::new(
            core.authority.clone(),
            core.store.clone(),
            cosigner.clone(),
            clock.clone(),
        ));
        let (sms, dev_sms) = sms_sender(&settings, &clock)?;
        let sync = Arc::new(Syncer::new(
            core.store.clone(),
            platform(&settings)?,
            clock.clone(),
        ));
        let notices = Arc::new(Notifier::new(
            core.store.clone(),
            sms.clone(),
            clock.clone(),
        ));
        let otp = Arc::new(OtpService::new(
            kv.clone(),
            sms.clone(),
            settings.otp_limits,
            clock.clone(),
        ));
        let uploads = Arc::new(Uploads::new(
            Arc::new(FsFileStore::new(settings.data_dir.join("uploads"))),
            core.store.clone(),
            ocr_reader(&settings)?,
            kv.clone(),
            settings.upload_limits,
            clock.clone(),
        ));
        let people = Arc::new(People::new(
            core.store.clone(),
            people_providers(&settings)?,
            otp.clone(),
            kv.clone(),
            clock.clone(),
        ));
        let fonts = Arc::new(
            FormFonts::load(&settings.pdf)
                .context("cannot load the application form's fallback fonts")?,
        );
        if settings.pdf.fallback_fonts.is_empty() {
            tracing::warn!(
                "no fallback fonts for the application form: input refuses names with \
                 characters STSong-Light lacks (生僻字 of CJK Extension B and beyond, the middle dot)"
            );
        }
        let applications = Arc::new(Applications::new(
            core.store.clone(),
            uploads.clone(),
            chrono::TimeDelta::seconds(i64::from(settings.agreement_countdown_secs)),
            fonts.clone(),
            clock.clone(),
        ));
        let downloads = Arc::new(Downloads::new(
            people.clone(),
            applications.clone(),
            sync.clone(),
            enrolment.clone(),
            clock.clone(),
        ));
        let portals = Arc::new(Portals::new(core.store.clone()));
        let grants = Arc::new(Grants::new(
            core.store.clone(),
            (*portals).clone(),
            clock.clone(),
        ));
        let logins = Arc::new(
            Logins::new(
                kv.clone(),
                people.clone(),
                cosigner.clone(),
                core.authority.clone(),
                core.store.clone(),
                grants.clone(),
                &public_base,
                settings.login,
                clock.clone(),
            )
            .with_regions(region_db(&settings)?),
        );
        let oidc = Arc::new(
            Oidc::new(
                kv.clone(),
                portals.clone(),
                logins.clone(),
                grants.clone(),
                core.store.clone(),
                &public_base,
                core.authority.token_keys(),
                clock.clone(),
            )
            .context("cannot load the ID token key")?,
        );
        let backchannel = Arc::new(
            BackChannel::new(core.store.clone(), oidc.clone(), clock.clone())
                .context("cannot build the back-channel logout client")?,
        );
        let demo = if settings.dev_mode {
            let demo = http::demo::DemoPortal::new(portals.clone(), &public_base)
                .context("cannot build the demo portal's HTTP client")?;
            tracing::warn!("development demo portal at {public_base}/demo");
            Some(Arc::new(demo))
        } else {
            None
        };
        let mut demo_ids = None;
        if let (true, Some(portal)) = (settings.demo, &demo) {
            let ids = crate::demo::seed(
                core.store.clone(),
                uploads.clone(),
                fonts,
                &sync,
                clock.clone(),
            )
            .await
            .context("cannot make the demo applications")?;
            // Registered now, so that the phone's grant screen lists its items at once.
            portal
                .register()
                .await
                .context("cannot register the demo portal")?;
            demo_ids = Some(ids);
        }
        let phone_grants = Arc::new(PhoneGrants::new(
            grants.clone(),
            portals.clone(),
            people.clone(),
            cosigner.clone(),
            clock.clone(),
        ));
        let revocations = Arc::new(crate::certificates::Revocations::new(
            core.authority.clone(),
            crate::certificates::RevocationParts {
                certificates: core.store.clone(),
                applications: core.store.clone(),
                people: people.clone(),
                cosigner: cosigner.clone(),
                clock: clock.clone(),
            },
        ));
        let renewals = Arc::new(crate::certificates::Renewals::new(
            core.authority.clone(),
            crate::certificates::RenewalParts {
                store: core.store.clone(),
                applications: core.store.clone(),
                people: people.clone(),
                enrolment: enrolment.clone(),
                clock: clock.clone(),
            },
        ));
        let seal_font = std::fs::read(&settings.seal_font).with_context(|| {
            format!(
                "cannot load the seal font {} (MCERT_SEAL_FONT; Debian's fonts-noto-cjk)",
                settings.seal_font.display()
            )
        })?;
        let seals = Arc::new(crate::seals::Seals::new(
            core.store.clone(),
            core.store.clone(),
            core.authority.clone(),
            uploads.clone(),
            Arc::new(seal_font),
            clock.clone(),
        ));
        let sealing = Arc::new(crate::seals::sealing::Sealing::new(
            logins.clone(),
            seals.clone(),
            people.clone(),
            cosigner.clone(),
            core.authority.clone(),
            grants.clone(),
            kv.clone(),
            clock.clone(),
        ));
        if let Some(ids) = demo_ids {
            let application = applications.for_staff(ids.0).await?;
            seals
                .make_for(&application, crate::audit::Actor::Development("demo"))
                .await
                .context("cannot make the demo seal")?;
            println!("{}", crate::demo::instructions(&public_base, ids));
        }
        let signing = Arc::new(Signing::new(
            cosigner,
            enrolment.clone(),
            logins.clone(),
            phone_grants.clone(),
            revocations.clone(),
            renewals.clone(),
            sealing.clone(),
        ));
        let signature_log = Arc::new(crate::cosign::log::SignatureLog::new(
            core.store.clone(),
            people.clone(),
        ));
        let changes = Arc::new(crate::applications::changes::InformationChanges::new(
            applications.clone(),
            core.store.clone(),
        ));
        let state = AppState {
            authority: core.authority.clone(),
            store: core.store.clone(),
            enrolment,
            signing,
            captcha: Arc::new(Captcha::new(
                kv.clone(),
                CaptchaLimits::default(),
                clock.clone(),
            )),
            applicants: Arc::new(Applicants::new(
                core.store.clone(),
                otp.clone(),
                kv.clone(),
                clock.clone(),
            )),
            applications,
            downloads,
            uploads,
            otp,
            staff: Arc::new(Staff::new(core.store.clone(), kv.clone(), clock.clone())),
            sync: sync.clone(),
            notices: notices.clone(),
            people,
            portals,
            grants,
            phone_grants,
            primaries: Arc::new(crate::certificates::Primaries::new(
                core.store.clone(),
                clock.clone(),
            )),
            signature_log,
            reminders: Arc::new(crate::certificates::expiry::Reminders::new(
                core.store.clone(),
                clock.clone(),
            )),
            revocations: revocations.clone(),
            renewals,
            changes,
            sealing,
            logins,
            oidc,
            backchannel: backchannel.clone(),
            demo,
            dev_sms,
            trusted_proxies: Arc::new(trusted_proxies),
            kv,
            clock,
            dev_clock,
        };
        let dev_mode = settings.dev_mode;
        if dev_mode {
            tracing::warn!(
                "development mode: /dev/* endpoints are served; never use this in production"
            );
        }
        spawn_crl_refresh(core.authority.clone(), settings.crl_validity_hours);
        let outbox_period = Duration::from_secs(u64::from(settings.sync_interval_secs.max(1)));
        sync.spawn(outbox_period);
        notices.spawn(outbox_period);
        backchannel.spawn(outbox_period);
        state.grants.clone().spawn_sweeps(outbox_period);
        state.reminders.clone().spawn(outbox_period);
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(http::api_answers))
                .wrap(TracingLogger::default())
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(PAYLOAD_LIMIT))
                .app_data(json_config())
                .app_data(path_config())
                .app_data(query_config())
                .configure(|cfg| routes(cfg, dev_mode))
        })
        .listen(listener)?
        .run();
        tracing::info!(%public_base, database = settings.database_kind(), "mcert listening");
        Ok(Self {
            port,
            server,
            state,
        })
    }

    /// The bound port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Shared state (tests reach the CA through it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until the process is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Keeps the CRL fresh: checks every quarter of its validity and reissues past half-life.
fn spawn_crl_refresh(authority: Arc<Authority>, validity_hours: u32) {
    let period = Duration::from_secs(u64::from(validity_hours.max(1)) * 3600 / 4);
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        loop {
            ticker.tick().await;
            if let Err(error) = authority.current_crl().await {
                tracing::error!(error = %crate::telemetry::error_chain(&error), "periodic CRL refresh failed");
            }
        }
    });
}
