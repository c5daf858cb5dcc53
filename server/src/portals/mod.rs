//! Employment portals: the relying parties that log employers in with mcert (DESIGN.md §2, §7).
//! Staff register them with `mcert-server admin add-portal`; each is an OIDC client with a
//! display name (shown on the phone), the origins its pages live on, its redirect URIs, the
//! scopes it may ask for and, for a confidential portal, a secret stored as its SM3 digest.

pub mod items;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use subtle::ConstantTimeEq as _;
use url::Url;

pub use items::BusinessItem;

use crate::failure::{Describe, Description, code};
use crate::{
    audit::{Actor, AuditDraft},
    failure::StorageError,
    tokens,
};

/// The scopes mcert knows: `openid` (required), `profile` (the holder's name), `employer` (the
/// employer, the certificate and its role, the granted items), `grants` (with a primary
/// certificate's login, manage the employer's sub-certificates' items through the grant API).
pub const KNOWN_SCOPES: [&str; 4] = ["openid", "profile", "employer", "grants"];

/// Whether the portal can keep a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// A backend that keeps a client secret.
    Confidential,
    /// A browser or app that cannot: PKCE S256 is required.
    Public,
}

impl ClientKind {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::Public => "public",
        }
    }

    /// Parses the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        [Self::Confidential, Self::Public]
            .into_iter()
            .find(|kind| kind.as_str() == value)
    }
}

/// A registered portal.
#[derive(Clone)]
pub struct Portal {
    /// Row id.
    pub id: i64,
    /// The OAuth client id.
    pub client_id: String,
    /// The name the phone shows.
    pub name: String,
    /// Confidential or public.
    pub kind: ClientKind,
    /// SM3 of the secret, hex (confidential portals).
    pub secret_hash: Option<String>,
    /// Origins (`https://host[:port]`) its pages live on; the first is shown on the phone.
    pub origins: Vec<String>,
    /// Exact redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Exact post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes it may ask for.
    pub scopes: Vec<String>,
    /// Its business items: every one is the primary's, a sub-certificate's only when granted
    /// (or a locked default of its media type).
    pub items: Vec<BusinessItem>,
    /// Where it takes OpenID Connect Back-Channel Logout tokens, if it does.
    pub backchannel_logout_uri: Option<String>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Portal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Portal")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Portal {
    /// The origin shown on the phone.
    pub fn origin(&self) -> &str {
        self.origins.first().map_or("", String::as_str)
    }

    /// Whether `uri` is one of its redirect URIs (exact match, RFC 6749 §3.1.2.3).
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|allowed| allowed == uri)
    }

    /// Whether `uri` is one of its post-logout redirect URIs (exact match).
    pub fn allows_post_logout_redirect(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris
            .iter()
            .any(|allowed| allowed == uri)
    }

    /// Whether it may ask for `scope`.
    pub fn allows_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|allowed| allowed == scope)
    }

    /// Checks a presented secret against the stored digest in constant time; public portals
    /// have none to check.
    pub fn secret_matches(&self, secret: &str) -> bool {
        self.secret_hash.as_ref().is_some_and(|stored| {
            bool::from(stored.as_bytes().ct_eq(tokens::digest(secret).as_bytes()))
        })
    }
}

/// A portal to register.
#[derive(Debug, Clone)]
pub struct PortalDraft {
    /// The name the phone shows.
    pub name: String,
    /// Confidential or public.
    pub kind: ClientKind,
    /// Origins.
    pub origins: Vec<String>,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Post-logout redirect URIs.
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes; empty means all of [`KNOWN_SCOPES`].
    pub scopes: Vec<String>,
    /// Business items.
    pub items: Vec<BusinessItem>,
    /// Its back-channel logout endpoint (https; http only on loopback).
    pub backchannel_logout_uri: Option<String>,
}

/// A portal as it is stored (`PortalStore::insert_portal`).
#[derive(Debug, Clone)]
pub struct NewPortal {
    /// The validated draft.
    pub draft: PortalDraft,
    /// The generated client id.
    pub client_id: String,
    /// SM3 of the generated secret (confidential portals).
    pub secret_hash: Option<String>,
}

/// A newly registered portal and its secret, shown once.
#[derive(Debug)]
pub struct Registered {
    /// The portal.
    pub portal: Portal,
    /// The client secret (confidential portals), never stored.
    pub secret: Option<String>,
}

/// Storage of portals (`store/` implements it).
#[async_trait::async_trait]
pub trait PortalStore: Send + Sync + std::fmt::Debug {
    /// Stores a portal with its audit entry.
    async fn insert_portal(
        &self,
        portal: NewPortal,
        audit: AuditDraft,
    ) -> Result<Portal, StorageError>;
    /// A portal by client id.
    async fn portal(&self, client_id: &str) -> Result<Option<Portal>, StorageError>;
    /// Every portal, in the order they were registered.
    async fn portals(&self) -> Result<Vec<Portal>, StorageError>;
    /// Replaces the secret digest and redirect URIs of an existing portal (the development
    /// demo portal, re-registered at every start).
    async fn update_portal(
        &self,
        client_id: &str,
        portal: NewPortal,
        audit: AuditDraft,
    ) -> Result<Portal, StorageError>;
    /// Replaces the item catalogue of `client_id`, audited; `None` if there is no such portal.
    async fn replace_items(
        &self,
        client_id: &str,
        items: &[BusinessItem],
        audit: AuditDraft,
    ) -> Result<Option<Portal>, StorageError>;
}

/// Why a portal was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortalError {
    /// A field of the registration is not acceptable.
    #[error("invalid portal {field}: {detail}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// Why.
        detail: String,
    },
    /// No portal has this client id.
    #[error("unknown portal {client_id}")]
    Unknown {
        /// The client id given.
        client_id: String,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl Describe for PortalError {
    fn describe(&self) -> Description {
        match self {
            Self::Invalid { field, detail } => {
                let what = match *field {
                    "name" => "门户名称须为 1 到 64 个字",
                    "origin" => {
                        "来源须为 https://主机[:端口]（仅本机可用 http），每行一个，至少一个"
                    }
                    "redirect_uri" => {
                        "回调地址须为完整的 https 地址（仅本机可用 http），不含 #，每行一个，至少一个"
                    }
                    "post_logout_redirect_uri" => "退出后跳转地址须为完整的 https 地址，不含 #",
                    "backchannel_logout_uri" => "后端退出通知地址须为完整的 https 地址",
                    "scope" => "授权范围只能是 openid、profile、employer、grants",
                    "kind" => "公开门户没有密钥",
                    _ => {
                        "业务事项每行写“编码=名称”，可加“| 分组”和“| physical 或 mobile”（该介质默认授权、不能修改），编码不能重复"
                    }
                };
                Description::new(code::PORTAL_INVALID, format!("{what}（{detail}）"))
                    .in_field(field)
            }
            Self::Unknown { .. } => Description::new(
                code::GRANT_PORTAL_UNKNOWN,
                "没有这个门户，请刷新门户列表后重试",
            ),
            Self::Storage(e) => e.describe(),
        }
    }
}

fn invalid(field: &'static str, detail: impl Into<String>) -> PortalError {
    PortalError::Invalid {
        field,
        detail: detail.into(),
    }
}

/// Plain http is only for the machine itself (development and tests).
fn is_loopback(url: &Url) -> bool {
    matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

/// An absolute https URL (http on loopback) without a fragment (RFC 6749 §3.1.2).
fn redirect_uri(field: &'static str, value: &str) -> Result<String, PortalError> {
    let url = Url::parse(value).map_err(|e| invalid(field, format!("{value}: {e}")))?;
    let secure = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    if !secure {
        return Err(invalid(
            field,
            format!("{value}: must be https (http only on loopback)"),
        ));
    }
    if url.fragment().is_some() || url.host_str().is_none() {
        return Err(invalid(
            field,
            format!("{value}: no fragment, a host is required"),
        ));
    }
    Ok(value.to_string())
}

/// `scheme://host[:port]` exactly as browsers send it in `Origin`.
fn origin(value: &str) -> Result<String, PortalError> {
    let url = Url::parse(value).map_err(|e| invalid("origin", format!("{value}: {e}")))?;
    let serialised = url.origin().ascii_serialization();
    let secure = url.scheme() == "https" || (url.scheme() == "http" && is_loopback(&url));
    if !secure || serialised != value.trim_end_matches('/') {
        return Err(invalid(
            "origin",
            format!("{value}: an origin is https://host[:port] (http only on loopback)"),
        ));
    }
    Ok(serialised)
}

impl PortalDraft {
    /// Checks every field and normalises origins and scopes.
    pub fn validated(self) -> Result<Self, PortalError> {
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(invalid("name", "1 to 64 characters"));
        }
        if self.origins.is_empty() {
            return Err(invalid("origin", "at least one origin"));
        }
        if self.redirect_uris.is_empty() {
            return Err(invalid("redirect_uri", "at least one redirect URI"));
        }
        let origins = self
            .origins
            .iter()
            .map(|o| origin(o))
            .collect::<Result<Vec<_>, _>>()?;
        let redirect_uris = self
            .redirect_uris
            .iter()
            .map(|u| redirect_uri("redirect_uri", u))
            .collect::<Result<Vec<_>, _>>()?;
        let post_logout_redirect_uris = self
            .post_logout_redirect_uris
            .iter()
            .map(|u| redirect_uri("post_logout_redirect_uri", u))
            .collect::<Result<Vec<_>, _>>()?;
        let mut scopes = if self.scopes.is_empty() {
            KNOWN_SCOPES.iter().map(|s| (*s).to_string()).collect()
        } else {
            self.scopes
        };
        if let Some(unknown) = scopes.iter().find(|s| !KNOWN_SCOPES.contains(&s.as_str())) {
            return Err(invalid(
                "scope",
                format!("{unknown}: one of {}", KNOWN_SCOPES.join(", ")),
            ));
        }
        if !scopes.iter().any(|s| s == "openid") {
            scopes.insert(0, "openid".to_string());
        }
        scopes.dedup();
        Ok(Self {
            name,
            kind: self.kind,
            origins,
            redirect_uris,
            post_logout_redirect_uris,
            scopes,
            items: items::validated_catalogue(self.items)?,
            backchannel_logout_uri: self
                .backchannel_logout_uri
                .as_deref()
                .map(|uri| redirect_uri("backchannel_logout_uri", uri))
                .transpose()?,
        })
    }
}

/// The registry of portals.
#[derive(Debug, Clone)]
pub struct Portals {
    store: Arc<dyn PortalStore>,
}

impl Portals {
    /// The registry over its store.
    pub fn new(store: Arc<dyn PortalStore>) -> Self {
        Self { store }
    }

    fn prepared(
        draft: PortalDraft,
        client_id: String,
    ) -> Result<(NewPortal, Option<String>), PortalError> {
        let draft = draft.validated()?;
        let secret = (draft.kind == ClientKind::Confidential).then(|| tokens::random_token(32));
        let secret_hash = secret.as_deref().map(tokens::digest);
        Ok((
            NewPortal {
                draft,
                client_id,
                secret_hash,
            },
            secret,
        ))
    }

    /// Registers a portal (audited `portal.register`); the secret is returned once.
    pub async fn register(
        &self,
        draft: PortalDraft,
        actor: &Actor,
    ) -> Result<Registered, PortalError> {
        let (portal, secret) = Self::prepared(draft, format!("p_{}", tokens::random_token(12)))?;
        let audit = AuditDraft {
            actor: actor.clone(),
            action: "portal.register",
            subject: portal.client_id.clone(),
            detail: serde_json::json!({
                "name": portal.draft.name,
                "kind": portal.draft.kind.as_str(),
                "origins": portal.draft.origins,
                "redirect_uris": portal.draft.redirect_uris,
                "scopes": portal.draft.scopes,
            }),
        };
        let portal = self.store.insert_portal(portal, audit).await?;
        Ok(Registered { portal, secret })
    }

    /// Registers `client_id` or, if it exists, gives it a new secret and these URIs (the
    /// development demo portal at every start).
    pub async fn register_fixed(
        &self,
        client_id: &str,
        draft: PortalDraft,
        actor: &Actor,
    ) -> Result<Registered, PortalError> {
        let (portal, secret) = Self::prepared(draft, client_id.to_string())?;
        let audit = AuditDraft {
            actor: actor.clone(),
            action: "portal.register",
            subject: client_id.to_string(),
            detail: serde_json::json!({
                "name": portal.draft.name,
                "redirect_uris": portal.draft.redirect_uris,
            }),
        };
        let portal = if self.store.portal(client_id).await?.is_some() {
            self.store.update_portal(client_id, portal, audit).await?
        } else {
            self.store.insert_portal(portal, audit).await?
        };
        Ok(Registered { portal, secret })
    }

    /// Replaces the business-item catalogue of portal `client_id` (audited `portal.items`, with
    /// the catalogue before and after).
    pub async fn set_items(
        &self,
        client_id: &str,
        items: Vec<BusinessItem>,
        actor: &Actor,
    ) -> Result<Portal, PortalError> {
        let items = items::validated_catalogue(items)?;
        let unknown = || PortalError::Unknown {
            client_id: client_id.to_string(),
        };
        let before = self.store.portal(client_id).await?.ok_or_else(unknown)?;
        let audit = AuditDraft {
            actor: actor.clone(),
            action: "portal.items",
            subject: client_id.to_string(),
            detail: serde_json::json!({ "before": before.items, "after": items }),
        };
        self.store
            .replace_items(client_id, &items, audit)
            .await?
            .ok_or_else(unknown)
    }

    /// Staff edit portal `client_id`: name, origins, redirect URIs, post-logout URIs, scopes,
    /// catalogue and back-channel URI (audited `portal.edit` with the URIs before and after);
    /// its kind and secret stay.
    pub async fn edit(
        &self,
        client_id: &str,
        draft: PortalDraft,
        actor: &Actor,
    ) -> Result<Portal, PortalError> {
        let before = self.existing(client_id).await?;
        let draft = PortalDraft {
            kind: before.kind,
            ..draft
        }
        .validated()?;
        let audit = AuditDraft {
            actor: actor.clone(),
            action: "portal.edit",
            subject: client_id.to_string(),
            detail: serde_json::json!({
                "before": { "origins": before.origins, "redirect_uris": before.redirect_uris,
                    "backchannel_logout_uri": before.backchannel_logout_uri, "items": before.items },
                "after": { "origins": draft.origins, "redirect_uris": draft.redirect_uris,
                    "backchannel_logout_uri": draft.backchannel_logout_uri, "items": draft.items },
            }),
        };
        let portal = NewPortal {
            draft,
            client_id: client_id.to_string(),
            secret_hash: before.secret_hash,
        };
        Ok(self.store.update_portal(client_id, portal, audit).await?)
    }

    /// A new secret for confidential portal `client_id` (audited `portal.secret`); the old one
    /// stops working at once. Returned once, never stored.
    pub async fn rotate_secret(
        &self,
        client_id: &str,
        actor: &Actor,
    ) -> Result<String, PortalError> {
        let before = self.existing(client_id).await?;
        if before.kind != ClientKind::Confidential {
            return Err(invalid("kind", "a public portal has no secret"));
        }
        let secret = tokens::random_token(32);
        let portal = NewPortal {
            draft: PortalDraft {
                name: before.name,
                kind: before.kind,
                origins: before.origins,
                redirect_uris: before.redirect_uris,
                post_logout_redirect_uris: before.post_logout_redirect_uris,
                scopes: before.scopes,
                items: before.items,
                backchannel_logout_uri: before.backchannel_logout_uri,
            },
            client_id: client_id.to_string(),
            secret_hash: Some(tokens::digest(&secret)),
        };
        let audit = AuditDraft {
            actor: actor.clone(),
            action: "portal.secret",
            subject: client_id.to_string(),
            detail: serde_json::json!({}),
        };
        self.store.update_portal(client_id, portal, audit).await?;
        Ok(secret)
    }

    async fn existing(&self, client_id: &str) -> Result<Portal, PortalError> {
        self.store
            .portal(client_id)
            .await?
            .ok_or_else(|| PortalError::Unknown {
                client_id: client_id.to_string(),
            })
    }

    /// A portal by client id.
    pub async fn get(&self, client_id: &str) -> Result<Option<Portal>, StorageError> {
        self.store.portal(client_id).await
    }

    /// Every portal, in the order they were registered.
    pub async fn all(&self) -> Result<Vec<Portal>, StorageError> {
        self.store.portals().await
    }

    /// The portal whose credentials these are: a confidential portal needs its secret, a
    /// public one must present none. `None` for an unknown client or a wrong secret (not told
    /// apart).
    pub async fn authenticate(
        &self,
        client_id: &str,
        secret: Option<&str>,
    ) -> Result<Option<Portal>, StorageError> {
        let Some(portal) = self.store.portal(client_id).await? else {
            return Ok(None);
        };
        let accepted = match (portal.kind, secret) {
            (ClientKind::Confidential, Some(secret)) => portal.secret_matches(secret),
            (ClientKind::Public, None) => true,
            _ => false,
        };
        Ok(accepted.then_some(portal))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn draft() -> PortalDraft {
        PortalDraft {
            name: "就业彩云南".into(),
            kind: ClientKind::Confidential,
            origins: vec!["https://portal.example.cn".into()],
            redirect_uris: vec!["https://portal.example.cn/cb".into()],
            post_logout_redirect_uris: vec![],
            scopes: vec![],
            items: vec![],
            backchannel_logout_uri: None,
        }
    }

    #[test]
    fn a_draft_gets_every_known_scope_and_keeps_exact_uris() {
        let draft = draft().validated().unwrap();
        assert_eq!(draft.scopes, KNOWN_SCOPES);
        assert_eq!(draft.redirect_uris, ["https://portal.example.cn/cb"]);
    }

    #[test]
    fn openid_is_always_allowed() {
        let draft = PortalDraft {
            scopes: vec!["employer".into()],
            ..draft()
        }
        .validated()
        .unwrap();
        assert_eq!(draft.scopes, ["openid", "employer"]);
    }

    #[test]
    fn insecure_or_malformed_uris_and_unknown_scopes_are_refused() {
        for (field, bad) in [
            ("redirect_uri", "http://portal.example.cn/cb"),
            ("redirect_uri", "https://portal.example.cn/cb#frag"),
            ("redirect_uri", "/cb"),
            ("origin", "http://portal.example.cn"),
            ("origin", "https://portal.example.cn/path"),
            ("scope", "admin"),
        ] {
            let mut draft = draft();
            match field {
                "redirect_uri" => draft.redirect_uris = vec![bad.into()],
                "origin" => draft.origins = vec![bad.into()],
                _ => draft.scopes = vec![bad.into()],
            }
            match draft.validated() {
                Err(PortalError::Invalid { field: got, .. }) => assert_eq!(got, field, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn loopback_may_use_plain_http() {
        let draft = PortalDraft {
            origins: vec!["http://127.0.0.1:9000".into()],
            redirect_uris: vec!["http://127.0.0.1:9000/cb".into()],
            ..draft()
        };
        assert!(draft.validated().is_ok());
    }

    #[test]
    fn the_secret_is_compared_by_digest() {
        let portal = Portal {
            id: 1,
            client_id: "p".into(),
            name: "n".into(),
            kind: ClientKind::Confidential,
            secret_hash: Some(tokens::digest("s3cret")),
            origins: vec![],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            scopes: vec![],
            items: vec![],
            backchannel_logout_uri: None,
            created_at: DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
        };
        assert!(portal.secret_matches("s3cret"));
        assert!(!portal.secret_matches("s3cre"));
        assert!(
            !Portal {
                secret_hash: None,
                ..portal
            }
            .secret_matches("")
        );
    }
}
