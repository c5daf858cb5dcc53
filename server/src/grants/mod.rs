//! 事项授权 (seed 000 §四(三), DESIGN.md §9): what a certificate may do at a portal. An
//! employer's primary certificate may do every business item of every portal; a sub-certificate
//! only the items its primary holder granted it (each, optionally, within a window) plus the
//! locked defaults of its media type. A sub-certificate's items at one portal form a grant set,
//! replaced whole by each save and versioned, so that a portal can tell a changed grant
//! (`grant_id`) and two saves from stale screens cannot both win.

pub mod phone;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    audit::{Actor, AuditDraft},
    ca::{CertificateRecord, Role},
    certificates::Standing,
    clock::Clock,
    domain::CertificateSerial,
    failure::{Describe, Description, StorageError, code},
    portals::{Portal, Portals},
};

/// The `grant_id` of a primary certificate, which needs no grants.
pub const PRIMARY_GRANT_ID: &str = "primary";

/// One granted item, in force from `starts_at` (if given) until before `ends_at` (if given).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemGrant {
    /// The item's code in the portal's catalogue.
    pub code: String,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    /// Until (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ends_at: Option<DateTime<Utc>>,
}

impl ItemGrant {
    /// Whether the grant counts at `now`.
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        self.starts_at.is_none_or(|start| start <= now) && self.ends_at.is_none_or(|end| now < end)
    }
}

/// A sub-certificate's grants at one portal as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantSet {
    /// 0 until the first save, then one more with each.
    pub version: i64,
    /// The granted items.
    pub items: Vec<ItemGrant>,
    /// The primary certificate that saved it last.
    pub granted_by: Option<String>,
    /// When.
    pub updated_at: Option<DateTime<Utc>>,
}

impl GrantSet {
    /// Its `grant_id`.
    pub fn grant_id(&self) -> String {
        format!("v{}", self.version)
    }
}

/// What a certificate may do at a portal now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The item codes, in the portal's catalogue order.
    pub items: Vec<String>,
    /// The version of what they were derived from: [`PRIMARY_GRANT_ID`] for a primary, the
    /// grant set's `v{version}` for a sub-certificate.
    pub grant_id: String,
}

/// The items `certificate` may do at `portal` at `now`, given its grant set there: every
/// catalogue item for a primary; for a sub-certificate the granted items in force and the
/// locked defaults of its media type; nothing for a certificate not in force.
pub fn allowed(
    certificate: &CertificateRecord,
    portal: &Portal,
    set: &GrantSet,
    now: DateTime<Utc>,
) -> Allowed {
    let in_force = Standing::of(certificate, now).in_force();
    let primary = certificate.role == Role::Primary;
    let items = portal
        .items
        .iter()
        .filter(|item| {
            in_force
                && (primary
                    || item.locked_for == Some(certificate.media)
                    || set
                        .items
                        .iter()
                        .any(|grant| grant.code == item.code && grant.in_force(now)))
        })
        .map(|item| item.code.clone())
        .collect();
    Allowed {
        items,
        grant_id: if primary {
            PRIMARY_GRANT_ID.to_string()
        } else {
            set.grant_id()
        },
    }
}

/// A certificate as it stands now, with what it may do at one portal.
#[derive(Debug, Clone)]
pub struct CertificateNow {
    /// The certificate.
    pub certificate: CertificateRecord,
    /// Where it stands.
    pub standing: Standing,
    /// What it may do there.
    pub allowed: Allowed,
}

/// A sub-certificate as the primary holder's 权限授权 table shows it (seed 000 §四(三)).
#[derive(Debug, Clone)]
pub struct SubCertificate {
    /// The certificate.
    pub certificate: CertificateRecord,
    /// Where it stands now.
    pub standing: Standing,
    /// What it may do at the portal asking.
    pub allowed: Allowed,
    /// Its grants there as saved, with their windows.
    pub grants: Vec<ItemGrant>,
}

impl SubCertificate {
    /// 证书类型名称.
    pub fn type_name_zh(&self) -> &'static str {
        match self.certificate.media {
            crate::ca::MediaType::Mobile => "手机证书",
            crate::ca::MediaType::Physical => "实体证书",
        }
    }

    /// 绑定人身份证号 as the seed's table masks it (5327*****3311).
    pub fn holder_id_masked(&self) -> String {
        mask_id_number(&self.certificate.holder_id_number)
    }
}

/// The first four and last four characters of an ID number, the rest hidden.
pub fn mask_id_number(id_number: &str) -> String {
    let chars: Vec<char> = id_number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}*****{tail}")
}

/// A grant set to save: the whole set replaces the old one (保存授权).
#[derive(Debug, Clone)]
pub struct GrantChange {
    /// The `grant_id` the screen showed; a newer one makes the save stale.
    pub grant_id: String,
    /// The new items; the locked defaults of the grantee's media type must be among them.
    pub items: Vec<ItemGrant>,
    /// The grantor's signature of the change, when it was made on the phone.
    pub signed: Option<SignedChange>,
}

/// A `grant_change` message and the grantor certificate's SM2 signature over it, kept in the
/// audit entry of the change (base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignedChange {
    /// The canonical message (`docs/split-key.md`).
    pub message: String,
    /// DER SM2 signature with the default distinguishing ID.
    pub signature: String,
}

/// A grant set and since when its windows were last checked.
#[derive(Debug, Clone)]
pub struct CheckedSet {
    /// The sub-certificate.
    pub certificate_id: i64,
    /// The portal.
    pub portal_id: i64,
    /// Its grants.
    pub set: GrantSet,
    /// The last check (or, before the first, the last save).
    pub since: DateTime<Utc>,
}

/// Whether a grant of `set` reached the end of its window after `since` and by `now`: such a
/// grant stopped counting, which ends the sub-certificate's sessions like a withdrawal.
pub fn window_ended(set: &GrantSet, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    set.items
        .iter()
        .any(|grant| grant.ends_at.is_some_and(|end| since < end && end <= now))
}

/// Storage of grant sets (`store/` implements it).
#[async_trait::async_trait]
pub trait GrantStore: Send + Sync + std::fmt::Debug {
    /// Certificate `certificate_id`'s grant set at portal `portal_id` (empty, version 0, if none
    /// was saved).
    async fn grant_set(
        &self,
        certificate_id: i64,
        portal_id: i64,
    ) -> Result<GrantSet, StorageError>;
    /// A certificate by serial.
    async fn certificate(
        &self,
        serial: &CertificateSerial,
    ) -> Result<Option<CertificateRecord>, StorageError>;
    /// Every certificate of the employer `uscc`, oldest first.
    async fn employer_certificates(
        &self,
        uscc: &str,
    ) -> Result<Vec<CertificateRecord>, StorageError>;
    /// Every grant set with an end to one of its windows, and when it was last checked.
    async fn sets_with_windows(&self) -> Result<Vec<CheckedSet>, StorageError>;
    /// Ends the sessions of certificate `certificate_id` at portal `portal_id` and records the
    /// check of its windows at `now`, in one transaction.
    async fn end_after_window(
        &self,
        certificate_id: i64,
        portal_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError>;
    /// Replaces the grant set if its version is still `expected` (one conditional write, with
    /// `audit` in the same transaction; with `end_sessions`, the certificate's sessions at the
    /// portal end in it too); `None` if another save came first.
    #[expect(
        clippy::too_many_arguments,
        reason = "one conditional write and what goes in its transaction"
    )]
    async fn replace_grant_set(
        &self,
        certificate_id: i64,
        portal_id: i64,
        expected: i64,
        items: &[ItemGrant],
        granted_by: &str,
        end_sessions: bool,
        audit: AuditDraft,
    ) -> Result<Option<GrantSet>, StorageError>;
}

/// Why a grant change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// The portal's access token was not issued with the `grants` scope.
    #[error("the access token lacks the grants scope")]
    ScopeMissing,
    /// The certificate acting is not its employer's primary in force.
    #[error("only the primary certificate grants items")]
    NotPrimary,
    /// The grantee is of another employer, or not a certificate mcert knows.
    #[error("no such sub-certificate of this employer")]
    GranteeUnknown,
    /// The grantee is the primary: it has every item already.
    #[error("the primary certificate needs no grants")]
    GranteeIsPrimary,
    /// The grantee is revoked, expired or not yet downloaded.
    #[error("the grantee is {standing}")]
    GranteeNotInForce {
        /// Where it stands.
        standing: Standing,
    },
    /// A code that is not in the portal's catalogue.
    #[error("unknown item {code}")]
    ItemUnknown {
        /// The code.
        code: String,
    },
    /// An item twice in one set.
    #[error("item {code} twice")]
    ItemTwice {
        /// The code.
        code: String,
    },
    /// A locked default of the grantee's media type left out.
    #[error("locked item {code} cannot be removed")]
    ItemLocked {
        /// The code.
        code: String,
        /// Its name.
        name: String,
        /// The media type's label.
        media: &'static str,
    },
    /// A window that ends before it starts, or has already ended.
    #[error("grant window of {code} is empty")]
    Window {
        /// The item.
        code: String,
    },
    /// The set changed since the screen showed it.
    #[error("grant changed: now {current}")]
    Stale {
        /// The current `grant_id`.
        current: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Describe for GrantError {
    fn describe(&self) -> Description {
        match self {
            Self::ScopeMissing => Description::new(
                code::GRANT_SCOPE_MISSING,
                "该访问令牌不能管理事项授权：门户须在登录时申请 grants 范围",
            ),
            Self::NotPrimary => Description::new(
                code::GRANT_NOT_PRIMARY,
                "只有主证书可以进行事项授权，子证书看不到这个功能",
            ),
            Self::GranteeUnknown => Description::new(
                code::GRANT_GRANTEE_UNKNOWN,
                "未找到本单位的这张子证书，请刷新子证书列表后重试",
            ),
            Self::GranteeIsPrimary => Description::new(
                code::GRANT_GRANTEE_PRIMARY,
                "主证书默认可办理所有事项，无需授权",
            ),
            Self::GranteeNotInForce { standing } => Description::new(
                code::GRANT_GRANTEE_NOT_IN_FORCE,
                format!("该子证书{}，不能授权", standing.label_zh()),
            ),
            Self::ItemUnknown { code: item } => Description::new(
                code::GRANT_ITEM_UNKNOWN,
                format!("事项 {item} 不在该门户的事项列表中，请刷新事项列表后重试"),
            ),
            Self::ItemTwice { code: item } => Description::new(
                code::GRANT_ITEM_TWICE,
                format!("事项 {item} 重复出现，每个事项只能授权一次"),
            ),
            Self::ItemLocked { name, media, .. } => Description::new(
                code::GRANT_ITEM_LOCKED,
                format!("{name}默认{media}已授权并且不能修改"),
            ),
            Self::Window { code: item } => Description::new(
                code::GRANT_WINDOW_INVALID,
                format!("事项 {item} 的授权期限无效：结束时间须晚于开始时间和当前时间"),
            ),
            Self::Stale { .. } => Description::new(
                code::GRANT_STALE,
                "该子证书的授权已被修改，请刷新后重新保存",
            ),
            Self::Storage(e) => e.describe(),
        }
    }
}

/// The grant service: what certificates may do, and the primary holder's changes.
#[derive(Debug)]
pub struct Grants {
    store: Arc<dyn GrantStore>,
    portals: Portals,
    clock: Arc<dyn Clock>,
}

impl Grants {
    /// The service over its store and the portals' catalogues, judging windows by `clock`.
    pub fn new(store: Arc<dyn GrantStore>, portals: Portals, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            portals,
            clock,
        }
    }

    /// What `certificate` may do now at the portal of `client_id` (nothing at a portal that is
    /// no longer registered).
    pub async fn allowed_at(
        &self,
        certificate: &CertificateRecord,
        client_id: &str,
    ) -> Result<Allowed, StorageError> {
        match self.portals.get(client_id).await? {
            Some(portal) => self.allowed(certificate, &portal).await,
            None => Ok(Allowed {
                items: Vec::new(),
                grant_id: GrantSet::default().grant_id(),
            }),
        }
    }

    /// What `certificate` may do at `portal` now.
    pub async fn allowed(
        &self,
        certificate: &CertificateRecord,
        portal: &Portal,
    ) -> Result<Allowed, StorageError> {
        let set = if certificate.role == Role::Primary {
            GrantSet::default()
        } else {
            self.store.grant_set(certificate.id, portal.id).await?
        };
        Ok(allowed(certificate, portal, &set, self.clock.now()))
    }

    /// Ends the sessions of every sub-certificate one of whose grants reached the end of its
    /// window since the last sweep (their portals then get logout tokens); how many grant sets
    /// ended so.
    pub async fn sweep_ended_windows(&self) -> Result<usize, StorageError> {
        let now = self.clock.now();
        let mut ended = 0;
        for checked in self.store.sets_with_windows().await? {
            if window_ended(&checked.set, checked.since, now) {
                self.store
                    .end_after_window(checked.certificate_id, checked.portal_id, now)
                    .await?;
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Runs [`Grants::sweep_ended_windows`] every `period` for the life of the process.
    pub fn spawn_sweeps(self: Arc<Self>, period: std::time::Duration) {
        crate::outbox::spawn_rounds("grant-windows", period, move || {
            let grants = self.clone();
            async move { grants.sweep_ended_windows().await }
        });
    }

    /// Where certificate `serial` stands now and what it may do at `portal`; `None` if mcert
    /// has no such certificate.
    pub async fn now_at(
        &self,
        serial: &CertificateSerial,
        portal: &Portal,
    ) -> Result<Option<CertificateNow>, StorageError> {
        let Some(certificate) = self.store.certificate(serial).await? else {
            return Ok(None);
        };
        let standing = Standing::of(&certificate, self.clock.now());
        let allowed = self.allowed(&certificate, portal).await?;
        Ok(Some(CertificateNow {
            certificate,
            standing,
            allowed,
        }))
    }

    /// The certificate `serial` if it is its employer's primary in force: who may grant.
    pub async fn grantor(
        &self,
        serial: &CertificateSerial,
    ) -> Result<CertificateRecord, GrantError> {
        let certificate = self
            .store
            .certificate(serial)
            .await?
            .ok_or(GrantError::NotPrimary)?;
        if !primary_in_force(&certificate, self.clock.now()) {
            return Err(GrantError::NotPrimary);
        }
        Ok(certificate)
    }

    /// The sub-certificates of `grantor`'s employer in force, with what each may do at
    /// `portal`, oldest first.
    pub async fn sub_certificates(
        &self,
        grantor: &CertificateRecord,
        portal: &Portal,
    ) -> Result<Vec<SubCertificate>, GrantError> {
        let mut at = self
            .sub_certificates_at(grantor, std::slice::from_ref(portal))
            .await?;
        Ok(at.pop().unwrap_or_default())
    }

    /// [`Grants::sub_certificates`] at each of `portals`, in their order, reading the
    /// employer's certificates once.
    pub async fn sub_certificates_at(
        &self,
        grantor: &CertificateRecord,
        portals: &[Portal],
    ) -> Result<Vec<Vec<SubCertificate>>, GrantError> {
        let now = self.clock.now();
        let in_force: Vec<(CertificateRecord, Standing)> = self
            .store
            .employer_certificates(&grantor.uscc)
            .await?
            .into_iter()
            .map(|certificate| {
                let standing = Standing::of(&certificate, now);
                (certificate, standing)
            })
            .filter(|(certificate, standing)| certificate.role == Role::Sub && standing.in_force())
            .collect();
        let mut per_portal = Vec::with_capacity(portals.len());
        for portal in portals {
            let mut subs = Vec::with_capacity(in_force.len());
            for (certificate, standing) in &in_force {
                let set = self.store.grant_set(certificate.id, portal.id).await?;
                subs.push(SubCertificate {
                    allowed: allowed(certificate, portal, &set, now),
                    certificate: certificate.clone(),
                    standing: *standing,
                    grants: set.items,
                });
            }
            per_portal.push(subs);
        }
        Ok(per_portal)
    }

    /// [`Grants::set`] for the grantee `serial` of `grantor`'s employer.
    pub async fn set_for(
        &self,
        grantor: &CertificateRecord,
        grantee: &CertificateSerial,
        portal: &Portal,
        change: GrantChange,
        actor: &Actor,
    ) -> Result<Allowed, GrantError> {
        let grantee = self.grantee(grantee).await?;
        self.set(grantor, &grantee, portal, change, actor).await
    }

    /// The certificate `serial`, to be granted to.
    pub async fn grantee(
        &self,
        serial: &CertificateSerial,
    ) -> Result<CertificateRecord, GrantError> {
        self.store
            .certificate(serial)
            .await?
            .ok_or(GrantError::GranteeUnknown)
    }

    /// Checks `change` as [`Grants::set`] would save it, without saving: the grantor is the
    /// primary in force, the grantee a sub-certificate of its employer in force, the items of
    /// the portal's catalogue with sound windows and the grantee's locked defaults, and
    /// `grant_id` current. The set as it stands and the new items, in catalogue order.
    pub async fn check(
        &self,
        grantor: &CertificateRecord,
        grantee: &CertificateRecord,
        portal: &Portal,
        change: &GrantChange,
    ) -> Result<(GrantSet, Vec<ItemGrant>), GrantError> {
        let now = self.clock.now();
        if !primary_in_force(grantor, now) {
            return Err(GrantError::NotPrimary);
        }
        if grantee.uscc != grantor.uscc {
            return Err(GrantError::GranteeUnknown);
        }
        if grantee.role == Role::Primary {
            return Err(GrantError::GranteeIsPrimary);
        }
        let standing = Standing::of(grantee, now);
        if !standing.in_force() {
            return Err(GrantError::GranteeNotInForce { standing });
        }
        let items = checked_items(grantee, portal, change.items.clone(), now)?;
        let before = self.store.grant_set(grantee.id, portal.id).await?;
        if before.grant_id() != change.grant_id {
            return Err(GrantError::Stale {
                current: before.grant_id(),
            });
        }
        Ok((before, items))
    }

    /// The primary `grantor` replaces `grantee`'s grant set at `portal` (audited with grantor,
    /// grantee, the set before and after, and the grantor's signature of a change made on the
    /// phone); what the grantee may do there afterwards.
    pub async fn set(
        &self,
        grantor: &CertificateRecord,
        grantee: &CertificateRecord,
        portal: &Portal,
        change: GrantChange,
        actor: &Actor,
    ) -> Result<Allowed, GrantError> {
        let (before, items) = self.check(grantor, grantee, portal, &change).await?;
        let now = self.clock.now();
        // An item withdrawn ends the grantee's sessions at this portal at once (DESIGN.md §9).
        let had = allowed(grantee, portal, &before, now).items;
        let keeps = allowed(
            grantee,
            portal,
            &GrantSet {
                items: items.clone(),
                ..GrantSet::default()
            },
            now,
        )
        .items;
        let withdrawn = had.iter().any(|code| !keeps.contains(code));
        let audit = AuditDraft {
            actor: actor.clone(),
            action: "grant.set",
            subject: grantee.serial.to_string(),
            detail: serde_json::json!({
                "grantor": grantor.serial.to_string(),
                "grantee": grantee.serial.to_string(),
                "portal": portal.client_id,
                "before": before.items,
                "after": items,
                "signed": change.signed,
            }),
        };
        let saved = self
            .store
            .replace_grant_set(
                grantee.id,
                portal.id,
                before.version,
                &items,
                grantor.serial.as_ref(),
                withdrawn,
                audit,
            )
            .await?
            .ok_or_else(|| GrantError::Stale {
                current: format!("v{}", before.version + 1),
            })?;
        Ok(allowed(grantee, portal, &saved, now))
    }
}

/// Whether `certificate` is its employer's primary and in force at `now`: who may grant.
fn primary_in_force(certificate: &CertificateRecord, now: DateTime<Utc>) -> bool {
    certificate.role == Role::Primary && Standing::of(certificate, now).in_force()
}

/// The items of a change, checked against the portal's catalogue and the grantee's locked
/// defaults, in catalogue order.
fn checked_items(
    grantee: &CertificateRecord,
    portal: &Portal,
    items: Vec<ItemGrant>,
    now: DateTime<Utc>,
) -> Result<Vec<ItemGrant>, GrantError> {
    for (i, grant) in items.iter().enumerate() {
        if !portal.items.iter().any(|item| item.code == grant.code) {
            return Err(GrantError::ItemUnknown {
                code: grant.code.clone(),
            });
        }
        if items[..i].iter().any(|earlier| earlier.code == grant.code) {
            return Err(GrantError::ItemTwice {
                code: grant.code.clone(),
            });
        }
        let empty = match (grant.starts_at, grant.ends_at) {
            (Some(start), Some(end)) => end <= start,
            _ => false,
        } || grant.ends_at.is_some_and(|end| end <= now);
        if empty {
            return Err(GrantError::Window {
                code: grant.code.clone(),
            });
        }
    }
    for locked in portal
        .items
        .iter()
        .filter(|item| item.locked_for == Some(grantee.media))
    {
        let kept = items
            .iter()
            .find(|grant| grant.code == locked.code)
            .is_some_and(|grant| grant.starts_at.is_none() && grant.ends_at.is_none());
        if !kept {
            return Err(GrantError::ItemLocked {
                code: locked.code.clone(),
                name: locked.name.clone(),
                media: grantee.media.label_zh(),
            });
        }
    }
    let mut ordered = Vec::with_capacity(items.len());
    for item in &portal.items {
        if let Some(grant) = items.iter().find(|grant| grant.code == item.code) {
            ordered.push(grant.clone());
        }
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use chrono::TimeDelta;

    use super::*;
    use crate::{
        ca::{CertificateStatus, MediaType},
        clock::AdjustableClock,
        domain::CertificateSerial,
        portals::{BusinessItem, ClientKind, PortalStore},
    };

    fn start() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn certificate(id: i64, role: Role, media: MediaType) -> CertificateRecord {
        CertificateRecord {
            media,
            ..CertificateRecord::sample(id, role, start())
        }
    }

    fn portal() -> Portal {
        let item = |code: &str, name: &str, locked_for| BusinessItem {
            code: code.into(),
            name: name.into(),
            group: None,
            locked_for,
        };
        Portal {
            id: 7,
            client_id: "p_demo".into(),
            name: "就业彩云南".into(),
            kind: ClientKind::Confidential,
            secret_hash: None,
            origins: vec![],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            scopes: vec![],
            items: vec![
                item("unit_info", "单位基础信息维护", None),
                item(
                    "unemployment_insurance",
                    "失业保险",
                    Some(MediaType::Physical),
                ),
                item("training", "技能培训和创业培训服务", None),
            ],
            backchannel_logout_uri: None,
            created_at: start(),
        }
    }

    fn grant(code: &str) -> ItemGrant {
        ItemGrant {
            code: code.into(),
            starts_at: None,
            ends_at: None,
        }
    }

    #[test]
    fn a_primary_may_do_everything_and_a_new_sub_nothing_but_its_locked_defaults() {
        let portal = portal();
        let none = GrantSet::default();
        let primary = certificate(1, Role::Primary, MediaType::Mobile);
        let everything = allowed(&primary, &portal, &none, start());
        assert_eq!(
            everything.items,
            ["unit_info", "unemployment_insurance", "training"]
        );
        assert_eq!(everything.grant_id, PRIMARY_GRANT_ID);
        let mobile = certificate(2, Role::Sub, MediaType::Mobile);
        assert!(allowed(&mobile, &portal, &none, start()).items.is_empty());
        assert_eq!(allowed(&mobile, &portal, &none, start()).grant_id, "v0");
        let physical = certificate(3, Role::Sub, MediaType::Physical);
        assert_eq!(
            allowed(&physical, &portal, &none, start()).items,
            ["unemployment_insurance"]
        );
        let revoked = CertificateRecord {
            status: CertificateStatus::Revoked,
            ..primary
        };
        assert!(allowed(&revoked, &portal, &none, start()).items.is_empty());
    }

    #[test]
    fn grants_count_within_their_window_and_only_for_catalogue_items() {
        let portal = portal();
        let sub = certificate(2, Role::Sub, MediaType::Mobile);
        let set = GrantSet {
            version: 3,
            items: vec![
                ItemGrant {
                    starts_at: Some(start()),
                    ends_at: Some(start() + TimeDelta::days(30)),
                    ..grant("training")
                },
                grant("withdrawn_from_catalogue"),
            ],
            ..GrantSet::default()
        };
        assert!(
            allowed(&sub, &portal, &set, start() - TimeDelta::seconds(1))
                .items
                .is_empty()
        );
        let within = allowed(&sub, &portal, &set, start() + TimeDelta::days(29));
        assert_eq!(within.items, ["training"]);
        assert_eq!(within.grant_id, "v3");
        assert!(
            allowed(&sub, &portal, &set, start() + TimeDelta::days(30))
                .items
                .is_empty()
        );
    }

    #[test]
    fn a_window_ends_once_between_checks() {
        let set = GrantSet {
            items: vec![
                ItemGrant {
                    ends_at: Some(start() + TimeDelta::days(30)),
                    ..grant("training")
                },
                grant("unit_info"),
            ],
            ..GrantSet::default()
        };
        let day = |n| start() + TimeDelta::days(n);
        assert!(!window_ended(&set, day(0), day(29)));
        assert!(window_ended(&set, day(29), day(30)));
        assert!(
            !window_ended(&set, day(30), day(60)),
            "ended before the last check"
        );
    }

    #[test]
    fn id_numbers_are_masked_as_the_seed_shows_them() {
        assert_eq!(mask_id_number("532701199001013311"), "5327*****3311");
        assert_eq!(mask_id_number("1234"), "****");
    }

    #[test]
    fn bad_changes_are_refused_with_their_reason() {
        let portal = portal();
        let physical = certificate(3, Role::Sub, MediaType::Physical);
        let check = |items: Vec<ItemGrant>| checked_items(&physical, &portal, items, start());
        assert!(matches!(
            check(vec![grant("unemployment_insurance"), grant("nope")]),
            Err(GrantError::ItemUnknown { code }) if code == "nope"
        ));
        assert!(matches!(
            check(vec![
                grant("unemployment_insurance"),
                grant("training"),
                grant("training")
            ]),
            Err(GrantError::ItemTwice { .. })
        ));
        let locked = check(vec![grant("training")]).unwrap_err();
        assert_eq!(
            locked.describe().message,
            "失业保险默认实体CA已授权并且不能修改"
        );
        let backwards = ItemGrant {
            starts_at: Some(start() + TimeDelta::days(2)),
            ends_at: Some(start() + TimeDelta::days(1)),
            ..grant("training")
        };
        assert!(matches!(
            check(vec![grant("unemployment_insurance"), backwards]),
            Err(GrantError::Window { .. })
        ));
        let over = ItemGrant {
            ends_at: Some(start()),
            ..grant("training")
        };
        assert!(matches!(
            check(vec![grant("unemployment_insurance"), over]),
            Err(GrantError::Window { .. })
        ));
        // Catalogue order, whatever order they came in.
        let ordered = check(vec![grant("training"), grant("unemployment_insurance")]).unwrap();
        assert_eq!(ordered[0].code, "unemployment_insurance");
    }

    /// Grant sets in memory, with the conditional replace of the real stores.
    #[derive(Debug, Default)]
    struct Memory(Mutex<Vec<(i64, i64, GrantSet)>>);

    #[async_trait::async_trait]
    impl GrantStore for Memory {
        async fn sets_with_windows(&self) -> Result<Vec<CheckedSet>, StorageError> {
            Ok(vec![])
        }

        async fn end_after_window(
            &self,
            _: i64,
            _: i64,
            _: DateTime<Utc>,
        ) -> Result<(), StorageError> {
            Ok(())
        }

        async fn certificate(
            &self,
            _: &CertificateSerial,
        ) -> Result<Option<CertificateRecord>, StorageError> {
            Ok(None)
        }

        async fn employer_certificates(
            &self,
            _: &str,
        ) -> Result<Vec<CertificateRecord>, StorageError> {
            Ok(vec![])
        }

        async fn grant_set(
            &self,
            certificate_id: i64,
            portal_id: i64,
        ) -> Result<GrantSet, StorageError> {
            let sets = self.0.lock().unwrap();
            Ok(sets
                .iter()
                .find(|(c, p, _)| (*c, *p) == (certificate_id, portal_id))
                .map(|(_, _, set)| set.clone())
                .unwrap_or_default())
        }

        async fn replace_grant_set(
            &self,
            certificate_id: i64,
            portal_id: i64,
            expected: i64,
            items: &[ItemGrant],
            granted_by: &str,
            _end_sessions: bool,
            _audit: AuditDraft,
        ) -> Result<Option<GrantSet>, StorageError> {
            let mut sets = self.0.lock().unwrap();
            let current = sets
                .iter()
                .position(|(c, p, _)| (*c, *p) == (certificate_id, portal_id));
            let version = current.map_or(0, |i| sets[i].2.version);
            if version != expected {
                return Ok(None);
            }
            let set = GrantSet {
                version: expected + 1,
                items: items.to_vec(),
                granted_by: Some(granted_by.into()),
                updated_at: None,
            };
            match current {
                Some(i) => sets[i].2 = set.clone(),
                None => sets.push((certificate_id, portal_id, set.clone())),
            }
            Ok(Some(set))
        }
    }

    #[derive(Debug)]
    struct NoPortals;

    #[async_trait::async_trait]
    impl PortalStore for NoPortals {
        async fn insert_portal(
            &self,
            _: crate::portals::NewPortal,
            _: AuditDraft,
        ) -> Result<Portal, StorageError> {
            unreachable!("the grant service registers no portals")
        }
        async fn portal(&self, _: &str) -> Result<Option<Portal>, StorageError> {
            Ok(None)
        }
        async fn portals(&self) -> Result<Vec<Portal>, StorageError> {
            Ok(Vec::new())
        }
        async fn update_portal(
            &self,
            _: &str,
            _: crate::portals::NewPortal,
            _: AuditDraft,
        ) -> Result<Portal, StorageError> {
            unreachable!("the grant service changes no portals")
        }
        async fn replace_items(
            &self,
            _: &str,
            _: &[BusinessItem],
            _: AuditDraft,
        ) -> Result<Option<Portal>, StorageError> {
            unreachable!("the grant service changes no catalogues")
        }
    }

    fn service() -> Grants {
        Grants::new(
            Arc::new(Memory::default()),
            Portals::new(Arc::new(NoPortals)),
            Arc::new(AdjustableClock::starting_at(start())),
        )
    }

    #[tokio::test]
    async fn the_primary_replaces_a_sub_grant_set_and_a_stale_screen_loses() {
        let grants = service();
        let portal = portal();
        let primary = certificate(1, Role::Primary, MediaType::Mobile);
        let sub = certificate(2, Role::Sub, MediaType::Mobile);
        let change = |grant_id: &str, codes: &[&str]| GrantChange {
            grant_id: grant_id.into(),
            items: codes.iter().map(|code| grant(code)).collect(),
            signed: None,
        };
        let actor = Actor::Phone;
        let first = grants
            .set(
                &primary,
                &sub,
                &portal,
                change("v0", &["unit_info", "training"]),
                &actor,
            )
            .await
            .unwrap();
        assert_eq!(first.items, ["unit_info", "training"]);
        assert_eq!(first.grant_id, "v1");
        assert_eq!(grants.allowed(&sub, &portal).await.unwrap(), first);
        // A second screen still showing v0 cannot overwrite it.
        let stale = grants
            .set(&primary, &sub, &portal, change("v0", &[]), &actor)
            .await
            .unwrap_err();
        assert!(matches!(stale, GrantError::Stale { ref current } if current == "v1"));
        let withdrawn = grants
            .set(&primary, &sub, &portal, change("v1", &["training"]), &actor)
            .await
            .unwrap();
        assert_eq!(withdrawn.items, ["training"]);

        // Only an employer's primary grants, only to its own subs.
        let refused = grants
            .set(&sub, &sub, &portal, change("v2", &[]), &actor)
            .await
            .unwrap_err();
        assert_eq!(refused.describe().code, code::GRANT_NOT_PRIMARY);
        let stranger = CertificateRecord {
            uscc: "91530100MA6K000013".into(),
            ..certificate(4, Role::Sub, MediaType::Mobile)
        };
        assert!(matches!(
            grants
                .set(&primary, &stranger, &portal, change("v0", &[]), &actor)
                .await,
            Err(GrantError::GranteeUnknown)
        ));
        assert!(matches!(
            grants
                .set(&primary, &primary, &portal, change("v0", &[]), &actor)
                .await,
            Err(GrantError::GranteeIsPrimary)
        ));
    }
}
