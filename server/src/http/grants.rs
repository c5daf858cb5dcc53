//! The grant API (事项授权) for portals that draw their own 权限授权 page, as the provincial
//! platform does (seed 000 §四(三)): with the access token of a primary certificate's login
//! (scope `grants`), list the employer's sub-certificates as the seed's table shows them, the
//! portal's item catalogue with a name search, and save a sub-certificate's item set.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{AppState, principals::PortalLogin};
use crate::{
    ca::CertificateRecord,
    domain::CertificateSerial,
    error::AppError,
    grants::{Allowed, GrantChange, GrantError, ItemGrant, SubCertificate},
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
        .map(|item| ItemBody {
            locked_note: item
                .locked_for
                .map(|media| format!("{}默认{}已授权并且不能修改", item.name, media.label_zh())),
            locked_for: item.locked_for.map(|media| media.as_str().to_string()),
            code: item.code,
            name: item.name,
            group: item.group,
        })
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
        items: body
            .items
            .into_iter()
            .map(|item| ItemGrant {
                code: item.code,
                starts_at: item.starts_at,
                ends_at: item.ends_at,
            })
            .collect(),
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
