//! The grant API (事项授权) for portals that draw their own 权限授权 page, as the provincial
//! platform does (seed 000 §四(三)): with the access token of a primary certificate's login
//! (scope `grants`), list the employer's sub-certificates as the seed's table shows them, the
//! portal's item catalogue with a name search, and save a sub-certificate's item set.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    AppState,
    principals::{MpSession, PortalLogin},
};
use crate::{
    ca::CertificateRecord,
    domain::CertificateSerial,
    error::AppError,
    grants::{
        Allowed, GrantChange, GrantError, ItemGrant, SubCertificate,
        phone::{PortalGrants, SavedGrant},
    },
    portals::Portal,
};

/// A sub-certificate as the 权限授权 table shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubCertificateBody {
    /// 序号, from 1.
    pub index: usize,
    /// Serial, hex.
    pub serial: String,
    /// `mobile` or `physical`.
    pub media_type: String,
    /// 介质类型: 手机CA or 实体CA.
    pub media_type_zh: &'static str,
    /// 证书类型名称: 手机证书 or 实体证书.
    pub certificate_type_zh: &'static str,
    /// 绑定时间: when the certificate was issued.
    pub bound_at: DateTime<Utc>,
    /// 绑定人身份证号, masked (5327*****3311).
    pub holder_id_masked: String,
    /// The holder's name.
    pub holder_name: String,
    /// The item codes it may do at this portal now (granted ones and locked defaults).
    pub items: Vec<String>,
    /// The version of its grant set, to send back with a save.
    pub grant_id: String,
}

impl SubCertificateBody {
    fn of(index: usize, sub: SubCertificate) -> Self {
        Self {
            index,
            serial: sub.certificate.serial.to_string(),
            media_type: sub.certificate.media.as_str().to_string(),
            media_type_zh: sub.certificate.media.label_zh(),
            certificate_type_zh: sub.type_name_zh(),
            bound_at: sub.certificate.not_before,
            holder_id_masked: sub.holder_id_masked(),
            holder_name: sub.certificate.holder_name.clone(),
            items: sub.allowed.items,
            grant_id: sub.allowed.grant_id,
        }
    }
}

/// The primary certificate's login behind the token, and the portal it logged in to.
async fn grantor(
    state: &AppState,
    login: &PortalLogin,
) -> Result<(CertificateRecord, Portal), AppError> {
    if !login.scopes.iter().any(|scope| scope == "grants") {
        return Err(GrantError::ScopeMissing.into());
    }
    let serial = CertificateSerial::parse(&login.identity.serial)?;
    let certificate = state.grants.grantor(&serial).await?;
    let portal = state
        .portals
        .get(&login.client_id)
        .await
        .map_err(GrantError::from)?
        .ok_or(GrantError::ScopeMissing)?;
    Ok((certificate, portal))
}

/// The employer's sub-certificates in force, with the items each may do at this portal.
#[utoipa::path(get, path = "/api/v1/grants/sub-certificates", tag = "grants",
    security(("access_token" = [])),
    responses((status = 200, body = [SubCertificateBody]),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn sub_certificates(
    state: web::Data<AppState>,
    login: PortalLogin,
) -> Result<HttpResponse, AppError> {
    let (grantor, portal) = grantor(&state, &login).await?;
    let subs = state.grants.sub_certificates(&grantor, &portal).await?;
    let body: Vec<SubCertificateBody> = subs
        .into_iter()
        .enumerate()
        .map(|(i, sub)| SubCertificateBody::of(i + 1, sub))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// A business item of the portal's catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemBody {
    /// The code ID tokens carry.
    pub code: String,
    /// 事项名称.
    pub name: String,
    /// 分组.
    pub group: Option<String>,
    /// `physical` or `mobile` when every sub-certificate of that media type has it and cannot
    /// lose it.
    pub locked_for: Option<String>,
    /// The seed's note for a locked item (失业保险默认实体CA已授权并且不能修改).
    pub locked_note: Option<String>,
}

/// Name search (请输入事项名称).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ItemQuery {
    /// Part of an item's name; all items without it.
    pub q: Option<String>,
}

/// The portal's business items, in catalogue order, optionally those whose name contains `q`.
#[utoipa::path(get, path = "/api/v1/grants/items", tag = "grants", params(ItemQuery),
    security(("access_token" = [])),
    responses((status = 200, body = [ItemBody]),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn items(
    state: web::Data<AppState>,
    login: PortalLogin,
    query: web::Query<ItemQuery>,
) -> Result<HttpResponse, AppError> {
    let (_, portal) = grantor(&state, &login).await?;
    let needle = query.q.as_deref().map(str::trim).unwrap_or_default();
    let body: Vec<ItemBody> = portal
        .items
        .into_iter()
        .filter(|item| item.name.contains(needle))
        .map(item_body)
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

/// One item of a saved grant set.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemGrantBody {
    /// The item's code.
    pub code: String,
    /// In force from (RFC 3339); at once if absent.
    pub starts_at: Option<DateTime<Utc>>,
    /// In force until (exclusive); without end if absent.
    pub ends_at: Option<DateTime<Utc>>,
}

impl ItemGrantBody {
    fn grant(self) -> ItemGrant {
        ItemGrant {
            code: self.code,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
        }
    }
}

/// 保存授权: the sub-certificate's whole item set, replacing the old one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveGrantsRequest {
    /// The `grant_id` the page showed (from the sub-certificate list).
    pub grant_id: String,
    /// Every item it may do from now on, the locked defaults of its media type included.
    pub items: Vec<ItemGrantBody>,
}

/// What the sub-certificate may do after a save.
#[derive(Debug, Serialize, ToSchema)]
pub struct AllowedBody {
    /// Serial, hex.
    pub serial: String,
    /// The item codes.
    pub items: Vec<String>,
    /// The new version of its grant set.
    pub grant_id: String,
}

/// Replaces a sub-certificate's item set at this portal (audited with grantor, grantee, before
/// and after); a stale `grant_id` is refused and nothing changes.
#[utoipa::path(put, path = "/api/v1/grants/sub-certificates/{serial}", tag = "grants",
    params(("serial" = String, Path)), request_body = SaveGrantsRequest,
    security(("access_token" = [])),
    responses((status = 200, body = AllowedBody), (status = 400, body = crate::error::ErrorBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody)))]
pub async fn save(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<SaveGrantsRequest>,
    login: PortalLogin,
) -> Result<HttpResponse, AppError> {
    let grantee = CertificateSerial::parse(&path.into_inner())?;
    let (grantor, portal) = grantor(&state, &login).await?;
    let body = body.into_inner();
    let change = GrantChange {
        grant_id: body.grant_id,
        items: body.items.into_iter().map(ItemGrantBody::grant).collect(),
        signed: None,
    };
    let actor = crate::audit::Actor::Certificate(grantor.serial.to_string());
    let Allowed { items, grant_id } = state
        .grants
        .set_for(&grantor, &grantee, &portal, change, &actor)
        .await?;
    // A withdrawn item ended the grantee's sessions here: tell the portal now.
    state.backchannel.flush().await;
    Ok(HttpResponse::Ok().json(AllowedBody {
        serial: grantee.to_string(),
        items,
        grant_id,
    }))
}

// ---------------------------------------------------------------------------------------------
// The mini-program: the primary holder's grant screen, and changes co-signed on the phone.

/// A portal's catalogue on the phone's grant screen.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalItemsBody {
    /// The portal's client id.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// Its business items, in catalogue order.
    pub items: Vec<ItemBody>,
}

/// A saved grant and its window.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantWindowBody {
    /// The item's code.
    pub code: String,
    /// In force from.
    pub starts_at: Option<DateTime<Utc>>,
    /// In force until (exclusive).
    pub ends_at: Option<DateTime<Utc>>,
}

/// What a sub-certificate may do at one portal.
#[derive(Debug, Serialize, ToSchema)]
pub struct PortalGrantBody {
    /// The portal's client id.
    pub client_id: String,
    /// The item codes it may do there now (granted ones in force and locked defaults).
    pub items: Vec<String>,
    /// The grants as saved, with their windows (one not yet or no longer in force is here but
    /// not in `items`).
    pub grants: Vec<GrantWindowBody>,
    /// The version of its grant set there, to send back with a change.
    pub grant_id: String,
}

/// A sub-certificate on the phone's grant screen.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhoneSubCertificateBody {
    /// As the 权限授权 table shows it (its `items` and `grant_id` are those of the first
    /// portal; `grants` has every portal's).
    #[serde(flatten)]
    pub certificate: SubCertificateBody,
    /// What it may do at each portal.
    pub grants: Vec<PortalGrantBody>,
}

/// The primary holder's grant screen.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantOverviewBody {
    /// The primary certificate.
    pub serial: String,
    /// The employer's USCC.
    pub uscc: String,
    /// The employer's name.
    pub employer_name: String,
    /// Every portal with a business-item catalogue.
    pub portals: Vec<PortalItemsBody>,
    /// The employer's sub-certificates in force, oldest first.
    pub sub_certificates: Vec<PhoneSubCertificateBody>,
}

fn item_body(item: crate::portals::BusinessItem) -> ItemBody {
    ItemBody {
        locked_note: item
            .locked_for
            .map(|media| format!("{}默认{}已授权并且不能修改", item.name, media.label_zh())),
        locked_for: item.locked_for.map(|media| media.as_str().to_string()),
        code: item.code,
        name: item.name,
        group: item.group,
    }
}

/// The grant screen of the signed-in person's primary certificate: each portal's catalogue and
/// the employer's sub-certificates with what each may do at each portal.
#[utoipa::path(get, path = "/api/v1/mp/certificates/{serial}/grants", tag = "grants",
    params(("serial" = String, Path)), security(("mp_session" = [])),
    responses((status = 200, body = GrantOverviewBody),
        (status = 401, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody)))]
pub async fn phone_overview(
    state: web::Data<AppState>,
    path: web::Path<String>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let overview = state
        .phone_grants
        .overview(&user, &path.into_inner())
        .await?;
    let mut subs: Vec<PhoneSubCertificateBody> = Vec::new();
    let mut portals = Vec::new();
    for PortalGrants {
        portal,
        subs: portal_subs,
    } in overview.portals
    {
        for sub in portal_subs {
            let grant = PortalGrantBody {
                client_id: portal.client_id.clone(),
                items: sub.allowed.items.clone(),
                grants: sub
                    .grants
                    .iter()
                    .map(|grant| GrantWindowBody {
                        code: grant.code.clone(),
                        starts_at: grant.starts_at,
                        ends_at: grant.ends_at,
                    })
                    .collect(),
                grant_id: sub.allowed.grant_id.clone(),
            };
            let serial = sub.certificate.serial.to_string();
            match subs.iter_mut().find(|s| s.certificate.serial == serial) {
                Some(known) => known.grants.push(grant),
                None => {
                    let index = subs.len() + 1;
                    subs.push(PhoneSubCertificateBody {
                        certificate: SubCertificateBody::of(index, sub),
                        grants: vec![grant],
                    });
                }
            }
        }
        portals.push(PortalItemsBody {
            client_id: portal.client_id,
            name: portal.name,
            items: portal.items.into_iter().map(item_body).collect(),
        });
    }
    let grantor = overview.grantor;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(GrantOverviewBody {
            serial: grantor.serial.to_string(),
            uscc: grantor.uscc,
            employer_name: grantor.unit_name,
            portals,
            sub_certificates: subs,
        }))
}

/// A grant change made on the phone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneGrantRequest {
    /// The sub-certificate's serial.
    pub grantee: String,
    /// The portal's client id.
    pub client_id: String,
    /// The `grant_id` the screen showed for that sub-certificate and portal.
    pub grant_id: String,
    /// Every item it may do there from now on, the locked defaults of its media type included.
    pub items: Vec<ItemGrantBody>,
}

/// Checks a grant change as a save would and opens a co-signing session of the primary
/// certificate over its `grant_change` message; the phone completes it with the co-signing
/// endpoints (PIN proof, then signature), which saves it.
#[utoipa::path(post, path = "/api/v1/mp/certificates/{serial}/grants", tag = "grants",
    params(("serial" = String, Path)), request_body = PhoneGrantRequest,
    security(("mp_session" = [])),
    responses((status = 201, body = super::keys::CosignSession),
        (status = 400, body = crate::error::ErrorBody), (status = 403, body = crate::error::ErrorBody),
        (status = 404, body = crate::error::ErrorBody), (status = 409, body = crate::error::ErrorBody),
        (status = 423, body = crate::error::ErrorBody)))]
pub async fn phone_change(
    state: web::Data<AppState>,
    path: web::Path<String>,
    body: web::Json<PhoneGrantRequest>,
    user: MpSession,
) -> Result<HttpResponse, AppError> {
    let body = body.into_inner();
    let change = GrantChange {
        grant_id: body.grant_id,
        items: body.items.into_iter().map(ItemGrantBody::grant).collect(),
        signed: None,
    };
    let opened = state
        .phone_grants
        .start(
            &user,
            &path.into_inner(),
            &body.grantee,
            &body.client_id,
            change,
        )
        .await?;
    Ok(HttpResponse::Created().json(super::keys::CosignSession::from(opened)))
}

/// A grant change saved from the phone.
#[derive(Debug, Serialize, ToSchema)]
pub struct SavedGrantBody {
    /// The sub-certificate.
    pub grantee: String,
    /// The portal's client id.
    pub client_id: String,
    /// What it may do there now.
    pub items: Vec<String>,
    /// The new version of its grant set.
    pub grant_id: String,
}

impl From<SavedGrant> for SavedGrantBody {
    fn from(saved: SavedGrant) -> Self {
        Self {
            grantee: saved.grantee.to_string(),
            client_id: saved.client_id,
            items: saved.allowed.items,
            grant_id: saved.allowed.grant_id,
        }
    }
}
