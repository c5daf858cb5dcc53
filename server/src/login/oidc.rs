//! The OpenID Connect provider over login sessions (DESIGN.md §7 step 4–5): the authorize
//! request that creates a hosted session, single-use authorization codes bound to the client,
//! the redirect URI and the PKCE challenge, the token endpoint, ES256 ID tokens, opaque access
//! tokens for userinfo, and RP-initiated logout. Errors follow RFC 6749.

use std::{sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::pkcs8::EncodePrivateKey as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use url::Url;

use super::{
    Authorization, Created, LoginError, LoginIdentity, LoginSession, Logins, Requester,
    backchannel::SessionStore,
};
use crate::clock::Clock;
use crate::{
    ca::{CaError, TokenKeys},
    domain::CertificateSerial,
    grants::{CertificateNow, Grants},
    kv::{Kv, KvError},
    portals::{ClientKind, Portal, Portals},
    tokens,
};

/// How long an authorization code can be exchanged.
pub const CODE_TTL: Duration = Duration::from_secs(60);
/// How long an access token opens userinfo.
pub const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(600);
/// How long an ID token is valid.
pub const ID_TOKEN_TTL: Duration = Duration::from_secs(300);
/// `amr` of every login: a software-held key share and a PIN (RFC 8176).
pub const AMR: [&str; 2] = ["swk", "pin"];
/// `acr`: split-key co-signature with the server counting PIN tries.
pub const ACR: &str = "urn:mcert:loa:cosign";
/// Seconds of clock difference allowed when checking `exp` and `iat` (jsonwebtoken's default).
const LEEWAY_SECS: i64 = 60;

/// An OAuth 2 error (RFC 6749 §4.1.2.1, §5.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {description}")]
pub struct OAuthError {
    /// The registered error code (`invalid_request`, `invalid_grant`, …).
    pub error: &'static str,
    /// A sentence for the developer.
    pub description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }

    fn server(error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "OIDC provider failed");
        Self::new("server_error", "服务暂时不可用，请稍后再试")
    }
}

impl From<KvError> for OAuthError {
    fn from(error: KvError) -> Self {
        Self::server(error)
    }
}

/// Why an authorize request was refused.
#[derive(Debug)]
pub enum AuthorizeError {
    /// The client or the redirect URI cannot be trusted: show an error page, never redirect.
    NoRedirect {
        /// What the page says.
        message: String,
    },
    /// Send the error back to the portal.
    Redirect {
        /// Where (registered).
        redirect_uri: String,
        /// The error.
        error: OAuthError,
        /// The portal's `state`.
        state: Option<String>,
    },
}

impl AuthorizeError {
    /// The redirect URL of a redirectable error.
    pub fn location(&self) -> Option<String> {
        match self {
            Self::NoRedirect { .. } => None,
            Self::Redirect {
                redirect_uri,
                error,
                state,
            } => Some(with_query(
                redirect_uri,
                &[
                    ("error", Some(error.error)),
                    ("error_description", Some(error.description.as_str())),
                    ("state", state.as_deref()),
                ],
            )),
        }
    }
}

/// `uri` with these query parameters appended (absent ones skipped).
pub fn with_query(uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let present: Vec<(&str, &str)> = params
        .iter()
        .filter_map(|(name, value)| value.map(|value| (*name, value)))
        .collect();
    match Url::parse(uri) {
        Ok(mut url) if !present.is_empty() => {
            url.query_pairs_mut().extend_pairs(present);
            url.to_string()
        }
        _ => uri.to_string(),
    }
}

/// The query of `/oauth2/authorize`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizeRequest {
    /// Must be `code`.
    pub response_type: Option<String>,
    /// The portal.
    pub client_id: Option<String>,
    /// A registered redirect URI.
    pub redirect_uri: Option<String>,
    /// Space-separated, must include `openid`.
    pub scope: Option<String>,
    /// Returned as is.
    pub state: Option<String>,
    /// Put in the ID token.
    pub nonce: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// Must be `S256` when a challenge is given.
    pub code_challenge_method: Option<String>,
}

/// A form to `/oauth2/token` (client credentials may also come in the Basic header).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenRequest {
    /// Must be `authorization_code`.
    pub grant_type: Option<String>,
    /// The code.
    pub code: Option<String>,
    /// The redirect URI the code was issued for.
    pub redirect_uri: Option<String>,
    /// PKCE verifier.
    pub code_verifier: Option<String>,
    /// `client_secret_post` or public clients.
    pub client_id: Option<String>,
    /// `client_secret_post`.
    pub client_secret: Option<String>,
    /// Introspection (RFC 7662): the token asked about.
    pub token: Option<String>,
    /// Introspection: what kind of token it is (only access tokens are issued).
    pub token_type_hint: Option<String>,
}

/// What the token endpoint answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// Opaque bearer token for userinfo.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: &'static str,
    /// Seconds.
    pub expires_in: u64,
    /// The ES256 ID token.
    pub id_token: String,
    /// Granted scopes.
    pub scope: String,
}

/// The claims of an ID token (and, without the token fields, of userinfo).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Claims {
    /// Issuer: the public base URL.
    pub iss: String,
    /// Stable per employer and holder.
    pub sub: String,
    /// The client id.
    pub aud: String,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// When the co-signature was verified.
    pub auth_time: i64,
    /// The portal's nonce.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nonce: Option<String>,
    /// The login session.
    pub sid: String,
    /// Authentication methods.
    pub amr: Vec<String>,
    /// Assurance level.
    pub acr: String,
    /// `profile`: the holder's name.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// `employer`: 单位名称.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub employer_name: Option<String>,
    /// `employer`: 统一社会信用代码.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub uscc: Option<String>,
    /// `employer`: the certificate that signed.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub certificate_serial: Option<String>,
    /// `employer`: `primary` or `sub`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub certificate_role: Option<String>,
    /// `employer`: the business item codes the certificate may do at this portal.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub items: Option<Vec<String>>,
    /// `employer`: the version of `items` (`primary`, or the grant set's `v{n}`): a portal
    /// that keeps a login's items can tell a changed grant.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grant_id: Option<String>,
}

/// The login behind a portal's access token.
#[derive(Debug, Clone)]
pub struct BearerLogin {
    /// The portal the token was issued to.
    pub client_id: String,
    /// The scopes granted.
    pub scopes: Vec<String>,
    /// Who logged in, with which certificate.
    pub identity: LoginIdentity,
}

/// The event a Back-Channel Logout token carries.
const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// What an authorization code or access token stands for: a confirmed login, authorized for
/// one client.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct AuthorizedLogin {
    client_id: String,
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
    nonce: Option<String>,
    scopes: Vec<String>,
    sid: String,
    identity: LoginIdentity,
}

fn code_key(code: &str) -> String {
    format!("oauth-code:{}", tokens::digest(code))
}

fn access_key(token: &str) -> String {
    format!("oauth-at:{}", tokens::digest(token))
}

fn logout_key(sid: &str) -> String {
    format!("oauth-logout:{sid}")
}

/// Whether a PKCE challenge or verifier has the RFC 7636 shape (43–128 unreserved characters).
fn pkce_shaped(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The OIDC provider.
pub struct Oidc {
    kv: Arc<dyn Kv>,
    portals: Arc<Portals>,
    logins: Arc<Logins>,
    grants: Arc<Grants>,
    sessions: Arc<dyn SessionStore>,
    issuer: String,
    kid: String,
    encoding: EncodingKey,
    decoding: Vec<(String, DecodingKey)>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Oidc {
    /// The provider at `issuer` (the public base URL), signing with the current token key;
    /// tokens are dated and checked by `clock`.
    #[expect(
        clippy::too_many_arguments,
        reason = "the services and stores a login's tokens touch, each once"
    )]
    pub fn new(
        kv: Arc<dyn Kv>,
        portals: Arc<Portals>,
        logins: Arc<Logins>,
        grants: Arc<Grants>,
        sessions: Arc<dyn SessionStore>,
        issuer: &str,
        keys: &TokenKeys,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CaError> {
        let crypto = |detail| CaError::Crypto { detail };
        let der = keys
            .signing_key()
            .to_pkcs8_der()
            .map_err(|_| crypto("token key encoding"))?;
        let encoding = EncodingKey::from_ec_der(der.as_bytes());
        let decoding = keys
            .jwks()
            .keys
            .iter()
            .map(|jwk| {
                DecodingKey::from_ec_components(&jwk.x, &jwk.y)
                    .map(|key| (jwk.kid.clone(), key))
                    .map_err(|_| crypto("token public key"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            kv,
            portals,
            logins,
            grants,
            sessions,
            issuer: issuer.trim_end_matches('/').to_string(),
            kid: keys.current_kid().to_string(),
            encoding,
            decoding,
            clock,
        })
    }

    /// The issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The discovery document.
    pub fn discovery(&self) -> serde_json::Value {
        let base = &self.issuer;
        serde_json::json!({
            "issuer": base,
            "authorization_endpoint": format!("{base}/oauth2/authorize"),
            "token_endpoint": format!("{base}/oauth2/token"),
            "userinfo_endpoint": format!("{base}/oauth2/userinfo"),
            "introspection_endpoint": format!("{base}/oauth2/introspect"),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "jwks_uri": format!("{base}/oauth2/jwks"),
            "end_session_endpoint": format!("{base}/oauth2/logout"),
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": crate::portals::KNOWN_SCOPES,
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "amr", "acr",
                "name", "employer_name", "uscc", "certificate_serial", "certificate_role", "items", "grant_id"],
            "acr_values_supported": [ACR],
        })
    }

    /// Checks an authorize request and creates its hosted login session, whose page's "refresh"
    /// starts the same request again.
    pub async fn authorize(
        &self,
        request: &AuthorizeRequest,
        requester: Requester<'_>,
    ) -> Result<(Created, Portal), AuthorizeError> {
        let no_redirect = |message: &str| AuthorizeError::NoRedirect {
            message: message.to_string(),
        };
        let client_id = request
            .client_id
            .as_deref()
            .ok_or_else(|| no_redirect("缺少 client_id：请从门户网站重新发起登录。"))?;
        let portal = self
            .portals
            .get(client_id)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "portal lookup failed");
                no_redirect("服务暂时不可用，请稍后再试。")
            })?
            .ok_or_else(|| no_redirect("未登记的门户（client_id 无效）：请联系门户网站。"))?;
        let redirect_uri = request
            .redirect_uri
            .as_deref()
            .filter(|uri| portal.allows_redirect(uri))
            .ok_or_else(|| no_redirect("回调地址（redirect_uri）未登记：请联系门户网站。"))?
            .to_string();
        let refuse = |error: &'static str, description: &str| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.clone(),
            error: OAuthError::new(error, description),
            state: request.state.clone(),
        };
        if request.response_type.as_deref() != Some("code") {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
        let scopes: Vec<String> = request
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_ascii_whitespace()
            .map(str::to_string)
            .collect();
        if !scopes.iter().any(|s| s == "openid") {
            return Err(refuse("invalid_scope", "scope must include openid"));
        }
        if let Some(scope) = scopes.iter().find(|s| !portal.allows_scope(s)) {
            return Err(refuse(
                "invalid_scope",
                &format!("scope {scope} is not allowed for this client"),
            ));
        }
        let code_challenge = match (
            request.code_challenge.as_deref(),
            request.code_challenge_method.as_deref(),
        ) {
            (Some(challenge), Some("S256")) if pkce_shaped(challenge) => {
                Some(challenge.to_string())
            }
            (Some(_), Some("S256")) => {
                return Err(refuse("invalid_request", "malformed code_challenge"));
            }
            (Some(_), _) => {
                return Err(refuse(
                    "invalid_request",
                    "code_challenge_method must be S256",
                ));
            }
            (None, Some(_)) => {
                return Err(refuse("invalid_request", "code_challenge is missing"));
            }
            (None, None) if portal.kind == ClientKind::Public => {
                return Err(refuse(
                    "invalid_request",
                    "PKCE (code_challenge with S256) is required for public clients",
                ));
            }
            (None, None) => None,
        };
        let mut granted = scopes;
        granted.dedup();
        // Rebuilt from the checked parameters only, never the raw request: nothing the request
        // carried besides them reaches the page.
        let scope = granted.join(" ");
        let restart_url = with_query(
            &format!("{}/oauth2/authorize", self.issuer),
            &[
                ("response_type", Some("code")),
                ("client_id", Some(portal.client_id.as_str())),
                ("redirect_uri", Some(redirect_uri.as_str())),
                ("scope", Some(scope.as_str())),
                ("state", request.state.as_deref()),
                ("nonce", request.nonce.as_deref()),
                ("code_challenge", code_challenge.as_deref()),
                (
                    "code_challenge_method",
                    code_challenge.as_ref().map(|_| "S256"),
                ),
            ],
        );
        let authorization = Authorization {
            redirect_uri: redirect_uri.clone(),
            state: request.state.clone(),
            nonce: request.nonce.clone(),
            code_challenge,
            restart_url,
        };
        match self
            .logins
            .create(&portal, granted, Some(authorization), None, requester)
            .await
        {
            Ok(created) => Ok((created, portal)),
            Err(LoginError::RateLimited) => Err(refuse(
                "temporarily_unavailable",
                "too many login attempts, try again in a minute",
            )),
            Err(error) => {
                tracing::error!(error = %error, "login session not created");
                Err(refuse("server_error", "login session could not be created"))
            }
        }
    }

    /// After a hosted session was consumed by its browser: a single-use code and the redirect
    /// to the portal. A denied session redirects with `access_denied`.
    pub async fn finish_hosted(&self, session: &LoginSession) -> Result<String, OAuthError> {
        let authorization = session
            .authorization
            .as_ref()
            .ok_or_else(|| OAuthError::new("invalid_request", "not a hosted login"))?;
        let Some(identity) = session.identity.clone() else {
            return Ok(with_query(
                &authorization.redirect_uri,
                &[
                    ("error", Some("access_denied")),
                    (
                        "error_description",
                        Some(if session.state == super::LoginState::Mismatched {
                            "the code tapped on the phone was not the one on the page"
                        } else {
                            "the login was declined on the phone"
                        }),
                    ),
                    ("state", authorization.state.as_deref()),
                ],
            ));
        };
        let code = tokens::random_token(32);
        let authorized = AuthorizedLogin {
            client_id: session.client_id.clone(),
            redirect_uri: Some(authorization.redirect_uri.clone()),
            code_challenge: authorization.code_challenge.clone(),
            nonce: authorization.nonce.clone(),
            scopes: session.scopes.clone(),
            sid: session.id.clone(),
            identity,
        };
        let bytes = serde_json::to_vec(&authorized).map_err(OAuthError::server)?;
        self.kv
            .put_if_absent(&code_key(&code), &bytes, CODE_TTL)
            .await?;
        Ok(with_query(
            &authorization.redirect_uri,
            &[
                ("code", Some(code.as_str())),
                ("state", authorization.state.as_deref()),
                ("iss", Some(self.issuer.as_str())),
            ],
        ))
    }

    /// The client of a token request: HTTP Basic (`client_secret_basic`), the form
    /// (`client_secret_post`), or a public client's bare `client_id`.
    pub async fn client(
        &self,
        basic: Option<(String, String)>,
        request: &TokenRequest,
    ) -> Result<Portal, OAuthError> {
        let invalid = || OAuthError::new("invalid_client", "client authentication failed");
        let (client_id, secret) = match (basic, &request.client_secret) {
            (Some(_), Some(_)) => {
                return Err(OAuthError::new(
                    "invalid_request",
                    "use one client authentication method",
                ));
            }
            (Some((id, secret)), None) => (id, Some(secret)),
            (None, secret) => (
                request.client_id.clone().ok_or_else(invalid)?,
                secret.clone(),
            ),
        };
        self.portals
            .authenticate(&client_id, secret.as_deref())
            .await
            .map_err(OAuthError::server)?
            .ok_or_else(invalid)
    }

    /// The authorization-code grant.
    pub async fn token(
        &self,
        client: &Portal,
        request: &TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        if request.grant_type.as_deref() != Some("authorization_code") {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                "only authorization_code is supported",
            ));
        }
        let code = request
            .code
            .as_deref()
            .ok_or_else(|| OAuthError::new("invalid_request", "code is missing"))?;
        let invalid_grant = |why: &str| OAuthError::new("invalid_grant", why);
        // Taken before any check: a code is tried once, whatever the outcome.
        let bytes = self
            .kv
            .take(&code_key(code))
            .await?
            .ok_or_else(|| invalid_grant("code is invalid, expired or used"))?;
        let authorized: AuthorizedLogin =
            serde_json::from_slice(&bytes).map_err(OAuthError::server)?;
        if authorized.client_id != client.client_id {
            return Err(invalid_grant("code was issued to another client"));
        }
        if authorized.redirect_uri.as_deref() != request.redirect_uri.as_deref() {
            return Err(invalid_grant(
                "redirect_uri does not match the authorize request",
            ));
        }
        match (&authorized.code_challenge, request.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) if pkce_shaped(verifier) => {
                let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
                if !bool::from(subtle::ConstantTimeEq::ct_eq(
                    computed.as_bytes(),
                    challenge.as_bytes(),
                )) {
                    return Err(invalid_grant("code_verifier does not match"));
                }
            }
            (Some(_), _) => return Err(invalid_grant("a valid code_verifier is required")),
            (None, Some(_)) => {
                return Err(invalid_grant("no code_challenge was sent with this code"));
            }
            (None, None) => {}
        }
        let id_token = self.id_token(&authorized)?;
        let access_token = tokens::random_token(32);
        let mut stored = authorized.clone();
        stored.redirect_uri = None;
        stored.code_challenge = None;
        let bytes = serde_json::to_vec(&stored).map_err(OAuthError::server)?;
        self.kv
            .put_if_absent(&access_key(&access_token), &bytes, ACCESS_TOKEN_TTL)
            .await?;
        self.record_session(&authorized).await?;
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ACCESS_TOKEN_TTL.as_secs(),
            id_token,
            scope: authorized.scopes.join(" "),
        })
    }

    /// Remembers the portal session a login's tokens open, so that a revocation or a withdrawn
    /// item can end it.
    async fn record_session(&self, authorized: &AuthorizedLogin) -> Result<(), OAuthError> {
        self.sessions
            .record_session(
                &authorized.sid,
                &authorized.identity.serial,
                &authorized.client_id,
                &authorized.identity.sub,
                self.clock.now(),
            )
            .await
            .map_err(OAuthError::server)
    }

    /// A Back-Channel Logout token (OpenID Connect Back-Channel Logout 1.0 §2.4) for portal
    /// `client_id`'s session `sid` of subject `sub`: ES256 with the ID-token key, `typ`
    /// `logout+jwt`, the logout event, a fresh `jti`, two minutes to live, never a `nonce`.
    pub fn logout_token(
        &self,
        client_id: &str,
        sid: &str,
        sub: &str,
    ) -> Result<String, OAuthError> {
        let now = self.clock.now().timestamp();
        let claims = serde_json::json!({
            "iss": self.issuer,
            "aud": client_id,
            "iat": now,
            "exp": now + 120,
            "jti": tokens::random_token(16),
            "sub": sub,
            "sid": sid,
            "events": { BACKCHANNEL_LOGOUT_EVENT: {} },
        });
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        header.typ = Some("logout+jwt".into());
        jsonwebtoken::encode(&header, &claims, &self.encoding).map_err(OAuthError::server)
    }

    /// The result of an embedded session, collected by its portal: the ID token and its claims.
    pub async fn embedded_result(
        &self,
        session: &LoginSession,
    ) -> Result<(String, Claims), OAuthError> {
        let identity = session
            .identity
            .clone()
            .ok_or_else(|| OAuthError::new("invalid_request", "not confirmed"))?;
        let authorized = AuthorizedLogin {
            client_id: session.client_id.clone(),
            redirect_uri: None,
            code_challenge: None,
            nonce: None,
            scopes: session.scopes.clone(),
            sid: session.id.clone(),
            identity,
        };
        let claims = self.claims(&authorized);
        let token = self.sign(&claims)?;
        self.record_session(&authorized).await?;
        Ok((token, claims))
    }

    fn claims(&self, authorized: &AuthorizedLogin) -> Claims {
        let now = self.clock.now().timestamp();
        let identity = &authorized.identity;
        let has = |scope: &str| authorized.scopes.iter().any(|s| s == scope);
        let employer = has("employer");
        Claims {
            iss: self.issuer.clone(),
            sub: identity.sub.clone(),
            aud: authorized.client_id.clone(),
            exp: now + i64::try_from(ID_TOKEN_TTL.as_secs()).unwrap_or(300),
            iat: now,
            auth_time: identity.auth_time.timestamp(),
            nonce: authorized.nonce.clone(),
            sid: authorized.sid.clone(),
            amr: AMR.iter().map(|s| (*s).to_string()).collect(),
            acr: ACR.to_string(),
            name: has("profile").then(|| identity.holder_name.clone()),
            employer_name: employer.then(|| identity.employer_name.clone()),
            uscc: employer.then(|| identity.uscc.clone()),
            certificate_serial: employer.then(|| identity.serial.clone()),
            certificate_role: employer.then(|| identity.role.clone()),
            items: employer.then(|| identity.items.clone()),
            grant_id: employer.then(|| identity.grant_id.clone()),
        }
    }

    fn sign(&self, claims: &Claims) -> Result<String, OAuthError> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(OAuthError::server)
    }

    fn id_token(&self, authorized: &AuthorizedLogin) -> Result<String, OAuthError> {
        self.sign(&self.claims(authorized))
    }

    /// The login a live access token stands for; `invalid_token` for an unknown or expired
    /// token, or one whose session was logged out.
    async fn authorized(&self, access_token: &str) -> Result<AuthorizedLogin, OAuthError> {
        let invalid = || OAuthError::new("invalid_token", "access token is invalid or expired");
        let bytes = self
            .kv
            .get(&access_key(access_token))
            .await?
            .ok_or_else(invalid)?;
        let authorized: AuthorizedLogin =
            serde_json::from_slice(&bytes).map_err(OAuthError::server)?;
        if self.kv.get(&logout_key(&authorized.sid)).await?.is_some()
            || self
                .sessions
                .session_ended(&authorized.sid)
                .await
                .map_err(OAuthError::server)?
        {
            return Err(invalid());
        }
        Ok(authorized)
    }

    /// Who a live access token is: the portal it was issued to, the scopes granted, and the
    /// login (for the portal APIs that act for the holder, such as the grant API).
    pub async fn bearer(&self, access_token: &str) -> Result<BearerLogin, OAuthError> {
        let authorized = self.authorized(access_token).await?;
        Ok(BearerLogin {
            client_id: authorized.client_id,
            scopes: authorized.scopes,
            identity: authorized.identity,
        })
    }

    /// Token introspection (RFC 7662) for a confidential portal: whether one of its own access
    /// tokens is live and its certificate in force now, with the items the certificate may do
    /// now (a withdrawn item or a revoked certificate shows at once, not at token expiry).
    /// Anything else — unknown, expired, logged out, another portal's, a certificate out of
    /// force — is `{"active": false}`.
    pub async fn introspect(
        &self,
        client: &Portal,
        request: &TokenRequest,
    ) -> Result<serde_json::Value, OAuthError> {
        if client.kind != ClientKind::Confidential {
            return Err(OAuthError::new(
                "invalid_client",
                "introspection is for confidential clients",
            ));
        }
        let token = request
            .token
            .as_deref()
            .ok_or_else(|| OAuthError::new("invalid_request", "token is required"))?;
        let inactive = serde_json::json!({ "active": false });
        let authorized = match self.authorized(token).await {
            Ok(authorized) if authorized.client_id == client.client_id => authorized,
            Ok(_) => return Ok(inactive),
            Err(error) if error.error == "invalid_token" => return Ok(inactive),
            Err(error) => return Err(error),
        };
        let Some(now) = self.in_force(&authorized, client).await? else {
            return Ok(inactive);
        };
        Ok(serde_json::json!({
            "active": true,
            "client_id": authorized.client_id,
            "scope": authorized.scopes.join(" "),
            "token_type": "Bearer",
            "sub": authorized.identity.sub,
            "sid": authorized.sid,
            "iss": self.issuer,
            "uscc": authorized.identity.uscc,
            "certificate_serial": authorized.identity.serial,
            "certificate_role": now.certificate.role.as_str(),
            "certificate_status": now.standing.as_str(),
            "items": now.allowed.items,
            "grant_id": now.allowed.grant_id,
        }))
    }

    /// The certificate of a login as it stands now at `portal`, if it is still in force.
    async fn in_force(
        &self,
        authorized: &AuthorizedLogin,
        portal: &Portal,
    ) -> Result<Option<CertificateNow>, OAuthError> {
        let Ok(serial) = CertificateSerial::parse(&authorized.identity.serial) else {
            return Ok(None);
        };
        let now = self
            .grants
            .now_at(&serial, portal)
            .await
            .map_err(OAuthError::server)?;
        Ok(now.filter(|now| now.standing.in_force()))
    }

    /// Userinfo for a live access token whose certificate is still in force, with the role and
    /// the items the certificate has now (a withdrawn item is gone at once).
    pub async fn userinfo(&self, access_token: &str) -> Result<serde_json::Value, OAuthError> {
        let mut authorized = self.authorized(access_token).await?;
        let portal = self
            .portals
            .get(&authorized.client_id)
            .await
            .map_err(OAuthError::server)?;
        let now = match portal {
            Some(portal) => self.in_force(&authorized, &portal).await?,
            None => None,
        };
        let Some(now) = now else {
            return Err(OAuthError::new(
                "invalid_token",
                "the certificate of this login is no longer in force",
            ));
        };
        let identity = &mut authorized.identity;
        identity.role = now.certificate.role.as_str().to_string();
        identity.items = now.allowed.items;
        identity.grant_id = now.allowed.grant_id;
        let claims = self.claims(&authorized);
        let mut value = serde_json::to_value(&claims).map_err(OAuthError::server)?;
        if let Some(object) = value.as_object_mut() {
            for field in [
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "sid",
                "amr",
                "acr",
            ] {
                object.remove(field);
            }
        }
        Ok(value)
    }

    /// Verifies an ID token this provider issued: ES256 only, this issuer, any of the published
    /// keys by `kid` (never a key the token names itself), and the audience when given. Expiry
    /// is checked unless `allow_expired` (a logout hint may be old), and the issue time, both
    /// against the provider's clock rather than the system's (jsonwebtoken would read the
    /// latter), so that a moved development clock agrees with the tokens it dated.
    pub fn verify_id_token(
        &self,
        token: &str,
        audience: Option<&str>,
        allow_expired: bool,
    ) -> Result<Claims, OAuthError> {
        let invalid = |why: &str| OAuthError::new("invalid_request", why);
        let (_, key) = self.signed_by_us(token, "ID token")?;
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        match audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| invalid(&format!("ID token refused: {e}")))?;
        let now = self.clock.now().timestamp();
        if !allow_expired && claims.exp < now.saturating_sub(LEEWAY_SECS) {
            return Err(invalid("ID token refused: ExpiredSignature"));
        }
        if claims.iat > now.saturating_add(LEEWAY_SECS) {
            return Err(invalid("ID token refused: issued in the future"));
        }
        Ok(claims)
    }

    /// The header of a token this provider signed (ES256 under a key of its JWKS, by `kid`,
    /// never a key the token names itself) and that key.
    fn signed_by_us(
        &self,
        token: &str,
        what: &str,
    ) -> Result<(jsonwebtoken::Header, &DecodingKey), OAuthError> {
        let invalid = |why: String| OAuthError::new("invalid_request", why);
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| invalid(format!("malformed {what}")))?;
        if header.alg != Algorithm::ES256 {
            return Err(invalid(format!("{what} algorithm is not ES256")));
        }
        let kid = header
            .kid
            .clone()
            .ok_or_else(|| invalid(format!("{what} has no kid")))?;
        let key = self
            .decoding
            .iter()
            .find(|(id, _)| *id == kid)
            .map(|(_, key)| key)
            .ok_or_else(|| invalid(format!("{what} key is unknown")))?;
        Ok((header, key))
    }

    /// Verifies a Back-Channel Logout token for portal `audience` as a relying party must
    /// (OpenID Connect Back-Channel Logout 1.0 §2.6): `typ` `logout+jwt`, ES256 under our key,
    /// this issuer and audience, not expired by the provider's clock, the logout event, no
    /// `nonce`; the session it ends (`sid`).
    pub fn verify_logout_token(&self, token: &str, audience: &str) -> Result<String, OAuthError> {
        let invalid = |why: &str| OAuthError::new("invalid_request", why);
        let (header, key) = self.signed_by_us(token, "logout token")?;
        if header.typ.as_deref() != Some("logout+jwt") {
            return Err(invalid("logout token typ is not logout+jwt"));
        }
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "iat"]);
        validation.validate_exp = false;
        let claims = jsonwebtoken::decode::<serde_json::Value>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| invalid(&format!("logout token refused: {e}")))?;
        let now = self.clock.now().timestamp();
        if claims["exp"].as_i64().unwrap_or(0) < now.saturating_sub(LEEWAY_SECS) {
            return Err(invalid("logout token expired"));
        }
        if claims
            .get("events")
            .and_then(|events| events.get(BACKCHANNEL_LOGOUT_EVENT))
            .is_none()
            || claims.get("nonce").is_some()
        {
            return Err(invalid("not a logout token"));
        }
        claims["sid"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| invalid("logout token without sid"))
    }

    /// RP-initiated logout: the access tokens of the hinted login end; the redirect (registered
    /// for the hinted client) or `None` for mcert's own page.
    pub async fn logout(
        &self,
        id_token_hint: Option<&str>,
        post_logout_redirect_uri: Option<&str>,
        state: Option<&str>,
    ) -> Result<Option<String>, OAuthError> {
        let Some(hint) = id_token_hint else {
            if post_logout_redirect_uri.is_some() {
                return Err(OAuthError::new(
                    "invalid_request",
                    "post_logout_redirect_uri needs id_token_hint",
                ));
            }
            return Ok(None);
        };
        let claims = self.verify_id_token(hint, None, true)?;
        self.kv
            .put_if_absent(&logout_key(&claims.sid), b"1", ACCESS_TOKEN_TTL)
            .await?;
        let Some(uri) = post_logout_redirect_uri else {
            return Ok(None);
        };
        let portal = self
            .portals
            .get(&claims.aud)
            .await
            .map_err(OAuthError::server)?
            .ok_or_else(|| OAuthError::new("invalid_request", "unknown client"))?;
        if !portal.allows_post_logout_redirect(uri) {
            return Err(OAuthError::new(
                "invalid_request",
                "post_logout_redirect_uri is not registered",
            ));
        }
        Ok(Some(with_query(uri, &[("state", state)])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_values_have_the_rfc_7636_shape() {
        assert!(pkce_shaped(&"a".repeat(43)));
        assert!(pkce_shaped(&"A-._~9".repeat(10)));
        assert!(!pkce_shaped(&"a".repeat(42)));
        assert!(!pkce_shaped(&"a".repeat(129)));
        assert!(!pkce_shaped(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn query_parameters_are_appended_and_encoded() {
        assert_eq!(
            with_query(
                "https://p.example/cb?x=1",
                &[("code", Some("a b")), ("state", None)]
            ),
            "https://p.example/cb?x=1&code=a+b"
        );
        assert_eq!(
            with_query("https://p.example/", &[("state", None)]),
            "https://p.example/"
        );
    }
}
