//! QR scan-to-login (seed 000 §四(二), DESIGN.md §7; the API in `docs/qr-login.md`).
//!
//! A login session lives in the kv store for [`LOGIN_TTL`] (plus a minute in which a confirmed
//! result can still be collected and a replay is told apart from an unknown id). Every
//! transition is a compare-and-set of the whole stored record ([`crate::kv::Kv::replace_if`]),
//! so a QR, a confirmation and a result are each used once, on any number of instances. Every
//! transition is published on the session's channel, which the page's event stream and the
//! portal's long poll listen on.

pub mod backchannel;
pub mod initiator;
pub mod oidc;
pub mod qr;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng as _;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use crate::clock::Clock;
use crate::failure::StorageError;
use crate::failure::{Describe, Description, code};
use crate::seals::sealing::SealOrder;
use crate::{
    audit::{Actor, AuditDraft},
    ca::{Authority, CaError, CertStore, CertificateRecord},
    certificates::Standing,
    cosign::{CompletedSignature, CosignError, Cosigner, OpenedSession, Purpose},
    domain::CertificateSerial,
    geo::RegionDb,
    grants::Grants,
    kv::{Kv, KvError, Subscription},
    people::{People, PeopleError, PersonRecord, WxUserRecord},
    portals::Portal,
    tokens,
};
use mcert_signer::message::{LoginChallenge, SignedMessage};

pub use self::initiator::Initiator;

/// How many codes the phone offers, of which the person taps the one the page shows.
pub const MATCH_CHOICES: usize = 3;

/// How long a QR can be scanned and confirmed.
pub const LOGIN_TTL: Duration = Duration::from_secs(120);
/// How long the record stays after that: a confirmed result can still be collected, and a
/// replayed QR is refused as used rather than unknown.
const RECORD_GRACE: Duration = Duration::from_secs(60);

/// Where a login session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginState {
    /// Waiting for a scan.
    Pending,
    /// Scanned; waiting for the phone's confirmation.
    Scanned,
    /// Confirmed with a co-signed signature; the result waits for its creator.
    Confirmed,
    /// The result was collected (or its authorization code issued).
    Consumed,
    /// Declined on the phone.
    Denied,
    /// The person tapped a code the page does not show: ended, as a relayed QR code would be.
    Mismatched,
    /// Not confirmed in time.
    Expired,
    /// Cancelled by the portal.
    Cancelled,
}

impl LoginState {
    /// Wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scanned => "scanned",
            Self::Confirmed => "confirmed",
            Self::Consumed => "consumed",
            Self::Denied => "denied",
            Self::Mismatched => "mismatched",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
        }
    }

    /// Whether nothing more can happen to the session.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Consumed | Self::Denied | Self::Mismatched | Self::Expired | Self::Cancelled
        )
    }
}

/// The OIDC request a hosted session was created for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Authorization {
    /// The registered redirect URI the code goes to.
    pub redirect_uri: String,
    /// The portal's `state`, returned as is.
    pub state: Option<String>,
    /// The portal's `nonce`, put in the ID token.
    pub nonce: Option<String>,
    /// PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// The authorize URL, to start again after expiry.
    pub restart_url: String,
}

/// Who logged in, as the ID token tells it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LoginIdentity {
    /// Stable per employer and holder, opaque.
    pub sub: String,
    /// The certificate that signed.
    pub serial: String,
    /// `primary` or `sub`.
    pub role: String,
    /// 统一社会信用代码.
    pub uscc: String,
    /// 单位名称.
    pub employer_name: String,
    /// The holder's name.
    pub holder_name: String,
    /// The business items the certificate may do at this portal (every one for a primary;
    /// a sub-certificate's granted ones and the locked defaults of its media type).
    pub items: Vec<String>,
    /// The version of those items (`primary`, or the grant set's `v{n}`).
    #[serde(default)]
    pub grant_id: String,
    /// When the signature was verified.
    pub auth_time: DateTime<Utc>,
}

/// A login session as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginSession {
    /// 128-bit random id, base64url.
    pub id: String,
    /// Where it stands (see [`LoginSession::effective_state`]).
    pub state: LoginState,
    /// The portal.
    pub client_id: String,
    /// The portal's name, as the phone shows it.
    pub portal_name: String,
    /// The portal's origin, as the phone shows it.
    pub origin: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Two digits shown on the page; the person taps them among [`LoginSession::match_choices`]
    /// on the phone (number matching).
    pub match_code: String,
    /// The codes the phone offers: the match code and two others, in random order.
    pub match_choices: Vec<String>,
    /// Where and when the login was started.
    pub initiator: Initiator,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When scanning and confirming stop.
    pub expires_at: DateTime<Utc>,
    /// SM3 of the creating browser's secret (hosted sessions).
    pub browser_secret_hash: Option<String>,
    /// The OIDC request (hosted sessions).
    pub authorization: Option<Authorization>,
    /// The WeChat user who scanned it.
    pub scanned_by: Option<i64>,
    /// The co-signing session of the confirmation under way.
    pub cosign_session: Option<String>,
    /// Who logged in, once confirmed.
    pub identity: Option<LoginIdentity>,
    /// What a sealing session seals (none for a login).
    #[serde(default)]
    pub seal: Option<SealOrder>,
}

impl LoginSession {
    /// `seal` for a sealing session, `login` otherwise: what the phone is asked to approve.
    pub fn purpose(&self) -> &'static str {
        if self.seal.is_some() { "seal" } else { "login" }
    }

    /// The state, with an unconfirmed session past its expiry counted as expired.
    pub fn effective_state(&self, now: DateTime<Utc>) -> LoginState {
        match self.state {
            LoginState::Pending | LoginState::Scanned if now >= self.expires_at => {
                LoginState::Expired
            }
            state => state,
        }
    }

    /// Whether `secret` is the creating browser's (constant time).
    pub fn belongs_to_browser(&self, secret: &str) -> bool {
        self.browser_secret_hash.as_ref().is_some_and(|stored| {
            bool::from(stored.as_bytes().ct_eq(tokens::digest(secret).as_bytes()))
        })
    }
}

/// A certificate the phone may log in with.
#[derive(Debug, Clone)]
pub struct Eligible {
    /// The certificate.
    pub certificate: CertificateRecord,
    /// The person's default certificate.
    pub default: bool,
}

/// What the phone shows after a scan.
#[derive(Debug, Clone)]
pub struct Scanned {
    /// The session.
    pub session: LoginSession,
    /// The person's active certificates, default first.
    pub certificates: Vec<Eligible>,
    /// Set when the phone is known to be in another province than the browser that started
    /// the login.
    pub region_warning: Option<String>,
}

/// Rate limits (per minute).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoginLimits {
    /// Sessions a portal may create per minute.
    pub per_client: u32,
    /// Hosted sessions one address may create per minute.
    pub per_address: u32,
    /// Hosted sessions one browser (its `mcert_browser` cookie) may create per minute: behind
    /// a shared address (a company's NAT) one noisy browser does not use up everyone's share.
    pub per_browser: u32,
    /// Scans one WeChat user may make per minute.
    pub scans_per_user: u32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_client: 600,
            per_address: 30,
            per_browser: 10,
            scans_per_user: 20,
        }
    }
}

/// Why a login step was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// Text that is not a QR code of this server.
    #[error("not a login QR code of this server")]
    QrInvalid,
    /// Unknown id, or gone after expiry.
    #[error("login session not found")]
    NotFound,
    /// Past its time.
    #[error("login session expired")]
    Expired,
    /// Scanned already (by someone else, or used).
    #[error("login session already scanned")]
    AlreadyScanned,
    /// The step does not fit the session's state (or this user's part in it).
    #[error("login session is {state:?}")]
    State {
        /// Where it stands.
        state: LoginState,
    },
    /// The request is not from the session's creator.
    #[error("not the creator of this login session")]
    NotCreator,
    /// The person tapped another code than the page shows; the session is ended.
    #[error("wrong match code")]
    MatchWrong,
    /// The certificate is not one of the scanning person's.
    #[error("certificate not held by this person")]
    CertificateNotHeld,
    /// The person holds no certificate that can log in.
    #[error("no usable certificate")]
    NoCertificate,
    /// A sealing session for an employer none of the person's certificates is of.
    #[error("no certificate of the sealing employer")]
    WrongEmployer,
    /// The certificate cannot log in now (revoked, expired, not active).
    #[error("certificate cannot log in: {standing}")]
    CertificateNotUsable {
        /// Where it stands.
        standing: Standing,
    },
    /// The signature was not over a challenge of a session this server keeps.
    #[error("signature is not over a current login challenge")]
    ChallengeMismatch,
    /// Too many sessions or scans.
    #[error("rate limited")]
    RateLimited,
    /// Co-signing refused.
    #[error(transparent)]
    Cosign(#[from] CosignError),
    /// The person is not verified, or a people lookup failed.
    #[error(transparent)]
    People(#[from] PeopleError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The CA failed.
    #[error(transparent)]
    Ca(#[from] CaError),
    /// The kv store failed.
    #[error(transparent)]
    Kv(#[from] KvError),
    /// A stored record does not decode.
    #[error("stored login session is corrupt")]
    Corrupt,
}

fn key(id: &str) -> String {
    format!("login:{id}")
}

/// The channel a session's transitions are published on.
pub fn channel(id: &str) -> String {
    format!("login-events:{id}")
}

fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// Whether `id` looks like a session id (22 base64url characters), before any lookup.
fn well_formed_id(id: &str) -> bool {
    id.len() == 22
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The id in `{base}/q/{id}`; anything else (another host, scheme or port, a longer path) is
/// refused.
fn qr_id<'a>(base: &str, text: &'a str) -> Result<&'a str, LoginError> {
    text.trim()
        .strip_prefix(base)
        .and_then(|rest| rest.strip_prefix("/q/"))
        .filter(|id| well_formed_id(id))
        .ok_or(LoginError::QrInvalid)
}

/// Who asks for a new session: what the rate limits count and what the phone is shown.
#[derive(Debug, Clone, Copy, Default)]
pub struct Requester<'a> {
    /// The creating client's address as rate limits count it (hosted sessions).
    pub limit_key: &'a str,
    /// The creating browser's id (its `mcert_browser` cookie, hosted sessions).
    pub browser_id: Option<&'a str>,
    /// The browser's address: the client of a hosted session, or what the portal reports of
    /// its user for an embedded one.
    pub address: Option<std::net::IpAddr>,
    /// The browser's `User-Agent`, likewise.
    pub user_agent: Option<&'a str>,
}

/// The login sessions.
pub struct Logins {
    kv: Arc<dyn Kv>,
    people: Arc<People>,
    cosigner: Arc<Cosigner>,
    authority: Arc<Authority>,
    audit: Arc<dyn CertStore>,
    grants: Arc<Grants>,
    regions: Option<Arc<RegionDb>>,
    public_base: String,
    limits: LoginLimits,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Logins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logins")
            .field("public_base", &self.public_base)
            .field("limits", &self.limits)
            .field("regions", &self.regions.is_some())
            .finish_non_exhaustive()
    }
}

/// A new session and, for a hosted one, the browser's secret (for its cookie).
#[derive(Debug)]
pub struct Created {
    /// The session.
    pub session: LoginSession,
    /// The creating browser's secret (hosted sessions).
    pub browser_secret: Option<String>,
}

impl Logins {
    /// The service; confirmations are audited in `audit`; sessions expire by `clock`.
    #[expect(
        clippy::too_many_arguments,
        reason = "the services a login touches, each once"
    )]
    pub fn new(
        kv: Arc<dyn Kv>,
        people: Arc<People>,
        cosigner: Arc<Cosigner>,
        authority: Arc<Authority>,
        audit: Arc<dyn CertStore>,
        grants: Arc<Grants>,
        public_base: &str,
        limits: LoginLimits,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            kv,
            people,
            cosigner,
            authority,
            audit,
            grants,
            regions: None,
            public_base: public_base.trim_end_matches('/').to_string(),
            limits,
            clock,
        }
    }

    /// Locates the addresses that start logins in `regions` (without it the phone shows the
    /// address alone).
    #[must_use]
    pub fn with_regions(mut self, regions: Option<Arc<RegionDb>>) -> Self {
        self.regions = regions;
        self
    }

    /// The public base URL (no trailing slash).
    pub fn public_base(&self) -> &str {
        &self.public_base
    }

    /// The text of a session's QR code: an https URL under the public base, so that WeChat's
    /// own scanner can open the mini-program with it.
    pub fn qr_text(&self, id: &str) -> String {
        format!("{}/q/{id}", self.public_base)
    }

    /// The session id in the text of one of this server's QR codes.
    pub fn parse_qr<'a>(&self, text: &'a str) -> Result<&'a str, LoginError> {
        qr_id(&self.public_base, text)
    }

    async fn limit(&self, key: String, per_minute: u32) -> Result<(), LoginError> {
        let count = self.kv.incr(&key, Duration::from_secs(60)).await?;
        if count > i64::from(per_minute) {
            return Err(LoginError::RateLimited);
        }
        Ok(())
    }

    /// A new session for `portal` asking for `scopes`, or to seal a document (`seal`): hosted
    /// (with the OIDC request and a browser secret, limited per creating address and browser
    /// too) or embedded.
    pub async fn create(
        &self,
        portal: &Portal,
        scopes: Vec<String>,
        authorization: Option<Authorization>,
        seal: Option<SealOrder>,
        requester: Requester<'_>,
    ) -> Result<Created, LoginError> {
        self.limit(
            format!("login-rate:client:{}", portal.client_id),
            self.limits.per_client,
        )
        .await?;
        if authorization.is_some() {
            self.limit(
                format!("login-rate:addr:{}", requester.limit_key),
                self.limits.per_address,
            )
            .await?;
            if let Some(browser) = requester.browser_id {
                self.limit(
                    format!("login-rate:browser:{}", tokens::digest(browser)),
                    self.limits.per_browser,
                )
                .await?;
            }
        }
        let browser_secret = authorization.as_ref().map(|_| tokens::random_token(16));
        let now = self.clock.now();
        let (match_code, match_choices) = match_codes();
        let initiator = Initiator::new(
            requester.address,
            requester.user_agent,
            self.regions.as_deref(),
            now,
        );
        let session = LoginSession {
            id: tokens::random_token(16),
            state: LoginState::Pending,
            client_id: portal.client_id.clone(),
            portal_name: portal.name.clone(),
            origin: portal.origin().to_string(),
            scopes,
            match_code,
            match_choices,
            initiator,
            created_at: now,
            expires_at: now + delta(LOGIN_TTL),
            browser_secret_hash: browser_secret.as_deref().map(tokens::digest),
            authorization,
            scanned_by: None,
            cosign_session: None,
            identity: None,
            seal,
        };
        let bytes = encode(&session)?;
        if !self
            .kv
            .put_if_absent(&key(&session.id), &bytes, LOGIN_TTL + RECORD_GRACE)
            .await?
        {
            return Err(LoginError::Corrupt);
        }
        Ok(Created {
            session,
            browser_secret,
        })
    }

    async fn load(&self, id: &str) -> Result<(LoginSession, Vec<u8>), LoginError> {
        if !well_formed_id(id) {
            return Err(LoginError::NotFound);
        }
        let bytes = self.kv.get(&key(id)).await?.ok_or(LoginError::NotFound)?;
        let session = serde_json::from_slice(&bytes).map_err(|_| LoginError::Corrupt)?;
        Ok((session, bytes))
    }

    /// A session, with its effective state.
    pub async fn get(&self, id: &str) -> Result<LoginSession, LoginError> {
        let (mut session, _) = self.load(id).await?;
        session.state = session.effective_state(self.clock.now());
        Ok(session)
    }

    /// Applies `change` to the stored session with compare-and-set, re-reading and re-checking
    /// after a lost race; publishes the new state. `change` sees the effective state and
    /// refuses what does not fit it.
    pub(crate) async fn transition<F>(
        &self,
        id: &str,
        mut change: F,
    ) -> Result<LoginSession, LoginError>
    where
        F: FnMut(&mut LoginSession) -> Result<(), LoginError>,
    {
        for _ in 0..8 {
            let (mut session, old) = self.load(id).await?;
            session.state = session.effective_state(self.clock.now());
            change(&mut session)?;
            let new = encode(&session)?;
            if self.kv.replace_if(&key(id), &old, &new).await? {
                self.kv
                    .publish(&channel(id), session.state.as_str().as_bytes())
                    .await?;
                return Ok(session);
            }
        }
        Err(LoginError::Kv(KvError::Protocol {
            operation: "login transition",
            detail: "too much contention on one login session".to_string(),
        }))
    }

    /// The phone scanned the QR: `pending → scanned` by this user. Returns what the phone
    /// shows, with a warning when the phone (at `phone_address`) is known to be in another
    /// province than the browser that started the login.
    pub async fn scan(
        &self,
        qr: &str,
        user: &WxUserRecord,
        phone_address: Option<std::net::IpAddr>,
    ) -> Result<Scanned, LoginError> {
        let id = self.parse_qr(qr)?;
        let person = self.people.person(user).await?;
        self.limit(
            format!("login-rate:scan:{}", user.id),
            self.limits.scans_per_user,
        )
        .await?;
        let mut certificates = self.eligible(&person).await?;
        if certificates.is_empty() {
            return Err(LoginError::NoCertificate);
        }
        if let Some(seal) = self.get(id).await?.seal {
            certificates.retain(|e| e.certificate.uscc == seal.uscc);
            if certificates.is_empty() {
                return Err(LoginError::WrongEmployer);
            }
        }
        let session = self
            .transition(id, |session| match session.state {
                LoginState::Pending => {
                    session.state = LoginState::Scanned;
                    session.scanned_by = Some(user.id);
                    Ok(())
                }
                LoginState::Expired => Err(LoginError::Expired),
                _ => Err(LoginError::AlreadyScanned),
            })
            .await?;
        tracing::info!(login = %session.id, client = %session.client_id, person = person.id, "login scanned");
        let phone_region = phone_address.and_then(|a| self.regions.as_deref()?.lookup(a));
        let region_warning = session.initiator.region_warning(phone_region.as_ref());
        Ok(Scanned {
            session,
            certificates,
            region_warning,
        })
    }

    /// The person's active certificates within their validity, the default first.
    async fn eligible(&self, person: &PersonRecord) -> Result<Vec<Eligible>, LoginError> {
        let (held, default) = self.people.certificates_of(person).await?;
        let now = self.clock.now();
        let mut eligible: Vec<Eligible> = held
            .into_iter()
            .filter(|c| Standing::of(c, now).in_force())
            .map(|certificate| Eligible {
                default: Some(certificate.id) == default,
                certificate,
            })
            .collect();
        eligible.sort_by_key(|e| !e.default);
        Ok(eligible)
    }

    /// The phone confirms with `serial` and the code the person tapped: a code the page does
    /// not show ends the session (`mismatched`); otherwise checks the certificate is the
    /// scanning person's and usable, then opens a co-signing session over the canonical login
    /// challenge. The phone finishes it through the co-signing endpoints; [`Logins::complete`]
    /// then confirms.
    pub async fn start_confirmation(
        &self,
        id: &str,
        user: &WxUserRecord,
        serial: &str,
        match_code: &str,
    ) -> Result<OpenedSession, LoginError> {
        self.start_confirmation_with(
            id,
            user,
            serial,
            match_code,
            async |session, certificate| {
                let challenge = SignedMessage::LoginChallenge(LoginChallenge {
                    session_id: session.id.as_bytes().to_vec(),
                    client_id: session.client_id.clone(),
                    portal_name: session.portal_name.clone(),
                    origin: session.origin.clone(),
                    scopes: session.scopes.join(" "),
                    serial: certificate.serial.to_string(),
                    match_code: session.match_code.clone(),
                    initiator: session.initiator.summary(),
                    initiated_at: session.initiator.at.timestamp(),
                    issued_at: self.clock.now().timestamp(),
                    expires_at: session.expires_at.timestamp(),
                })
                .encode()
                .map_err(|source| CosignError::Malformed {
                    what: "login challenge",
                    source,
                })?;
                Ok((Purpose::Login, challenge))
            },
        )
        .await
    }

    /// [`Logins::start_confirmation`] with the message `build` makes for the session and the
    /// chosen certificate (a login challenge, or a sealing session's `TBS_Sign`).
    pub(crate) async fn start_confirmation_with<E, B>(
        &self,
        id: &str,
        user: &WxUserRecord,
        serial: &str,
        match_code: &str,
        build: B,
    ) -> Result<OpenedSession, E>
    where
        E: From<LoginError> + From<CosignError>,
        B: AsyncFnOnce(&LoginSession, &CertificateRecord) -> Result<(Purpose, Vec<u8>), E>,
    {
        let session = self.get(id).await?;
        ensure_scanner(&session, user)?;
        if !bool::from(
            match_code
                .trim()
                .as_bytes()
                .ct_eq(session.match_code.as_bytes()),
        ) {
            self.transition(id, |session| {
                ensure_scanner(session, user)?;
                session.state = LoginState::Mismatched;
                Ok(())
            })
            .await?;
            tracing::warn!(login = %session.id, client = %session.client_id, "wrong match code tapped: login ended");
            return Err(LoginError::MatchWrong.into());
        }
        let person = self.people.person(user).await.map_err(LoginError::from)?;
        let certificate = self.held(&person, serial).await?;
        if session
            .seal
            .as_ref()
            .is_some_and(|seal| seal.uscc != certificate.uscc)
        {
            return Err(LoginError::WrongEmployer.into());
        }
        let (purpose, message) = build(&session, &certificate).await?;
        let opened = self
            .cosigner
            .open(&certificate.serial, purpose, message)
            .await?;
        let cosign_id = opened.id.clone();
        self.transition(id, |session| {
            ensure_scanner(session, user)?;
            session.cosign_session = Some(cosign_id.clone());
            Ok(())
        })
        .await?;
        Ok(opened)
    }

    /// Who signed with `certificate` for `client_id`, as the ID token tells it.
    pub(crate) async fn identity(
        &self,
        certificate: &CertificateRecord,
        person: &PersonRecord,
        client_id: &str,
    ) -> Result<LoginIdentity, LoginError> {
        let allowed = self.grants.allowed_at(certificate, client_id).await?;
        Ok(LoginIdentity {
            sub: self
                .authority
                .subject_id(&certificate.uscc, &person.id_number)?,
            serial: certificate.serial.to_string(),
            role: certificate.role.as_str().to_string(),
            uscc: certificate.uscc.clone(),
            employer_name: certificate.unit_name.clone(),
            holder_name: certificate.holder_name.clone(),
            items: allowed.items,
            grant_id: allowed.grant_id,
            auth_time: self.clock.now(),
        })
    }

    /// One of the person's certificates that can log in now.
    pub(crate) async fn held(
        &self,
        person: &PersonRecord,
        serial: &str,
    ) -> Result<CertificateRecord, LoginError> {
        let serial =
            CertificateSerial::parse(serial.trim()).map_err(|_| LoginError::CertificateNotHeld)?;
        let (held, _) = self.people.certificates_of(person).await?;
        let certificate = held
            .into_iter()
            .find(|c| c.serial == serial)
            .ok_or(LoginError::CertificateNotHeld)?;
        let standing = Standing::of(&certificate, self.clock.now());
        if !standing.in_force() {
            return Err(LoginError::CertificateNotUsable { standing });
        }
        Ok(certificate)
    }

    /// A verified signature over a login challenge: checks that it is the challenge of the
    /// session's current confirmation, by the scanning user's certificate, still usable, then
    /// `scanned → confirmed` and the page hears of it.
    pub async fn complete(
        &self,
        completed: CompletedSignature,
    ) -> Result<LoginSession, LoginError> {
        let Ok(SignedMessage::LoginChallenge(challenge)) =
            SignedMessage::decode(&completed.message)
        else {
            return Err(LoginError::ChallengeMismatch);
        };
        let id =
            String::from_utf8(challenge.session_id).map_err(|_| LoginError::ChallengeMismatch)?;
        let session = self.get(&id).await?;
        if session.cosign_session.as_deref() != Some(completed.session_id.as_str())
            || CertificateSerial::parse(&challenge.serial).ok().as_ref() != Some(&completed.serial)
        {
            return Err(LoginError::ChallengeMismatch);
        }
        let user_id = match (session.state, session.scanned_by) {
            (LoginState::Scanned, Some(user_id)) => user_id,
            (LoginState::Expired, _) => return Err(LoginError::Expired),
            (state, _) => return Err(LoginError::State { state }),
        };
        let user = self.people.user(user_id).await?;
        let person = self.people.person(&user).await?;
        let certificate = self.held(&person, &challenge.serial).await?;
        if self
            .cosigner
            .key_share(&completed.serial)
            .await?
            .is_some_and(|share| share.locked_at.is_some())
        {
            return Err(CosignError::KeyLocked.into());
        }
        let identity = self
            .identity(&certificate, &person, &session.client_id)
            .await?;
        let cosign_id = completed.session_id;
        let session = self
            .transition(&id, |session| {
                if session.state != LoginState::Scanned
                    || session.cosign_session.as_deref() != Some(cosign_id.as_str())
                {
                    return Err(LoginError::State {
                        state: session.state,
                    });
                }
                session.state = LoginState::Confirmed;
                session.identity = Some(identity.clone());
                Ok(())
            })
            .await?;
        tracing::info!(login = %session.id, client = %session.client_id, serial = %certificate.serial, "login confirmed");
        let initiator = &session.initiator;
        self.audit
            .append_audit(AuditDraft {
                actor: Actor::WeChatUser(user_id),
                action: "login.confirm",
                subject: format!("login:{}", session.id),
                detail: serde_json::json!({
                    "client_id": session.client_id,
                    "serial": certificate.serial.to_string(),
                    "initiator": {
                        "address": initiator.address.map(|a| a.to_string()),
                        "location": initiator.location,
                        "browser": initiator.browser,
                        "at": initiator.at,
                    },
                }),
            })
            .await?;
        Ok(session)
    }

    /// The phone declined: `pending | scanned → denied` (only the scanning user).
    pub async fn deny(&self, id: &str, user: &WxUserRecord) -> Result<LoginSession, LoginError> {
        self.transition(id, |session| {
            ensure_scanner(session, user)?;
            session.state = LoginState::Denied;
            Ok(())
        })
        .await
    }

    /// The portal gave up: any unfinished state → `cancelled`.
    pub async fn cancel(&self, id: &str, portal: &Portal) -> Result<LoginSession, LoginError> {
        self.transition(id, |session| {
            if session.client_id != portal.client_id {
                return Err(LoginError::NotFound);
            }
            if session.state.is_final() || session.state == LoginState::Confirmed {
                return Err(LoginError::State {
                    state: session.state,
                });
            }
            session.state = LoginState::Cancelled;
            Ok(())
        })
        .await
    }

    /// The creator collects the result: `confirmed → consumed`, once.
    pub async fn consume(&self, id: &str) -> Result<LoginSession, LoginError> {
        self.transition(id, |session| {
            if session.state != LoginState::Confirmed {
                return Err(LoginError::State {
                    state: session.state,
                });
            }
            session.state = LoginState::Consumed;
            Ok(())
        })
        .await
    }

    /// Listens for the session's transitions; subscribe first, then read the current state, so
    /// that no transition in between is missed.
    pub async fn watch(&self, id: &str) -> Result<(Subscription, LoginSession), LoginError> {
        if !well_formed_id(id) {
            return Err(LoginError::NotFound);
        }
        let subscription = self.kv.subscribe(&channel(id)).await?;
        let session = self.get(id).await?;
        Ok((subscription, session))
    }
}

/// A two-digit match code and the codes the phone offers: it and two other distinct ones, in
/// random order.
fn match_codes() -> (String, Vec<String>) {
    let mut rng = rand::rngs::OsRng;
    let mut codes: Vec<String> = Vec::with_capacity(MATCH_CHOICES);
    while codes.len() < MATCH_CHOICES {
        let code = format!("{:02}", rng.gen_range(0..100));
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    let answer = codes[0].clone();
    rand::seq::SliceRandom::shuffle(codes.as_mut_slice(), &mut rng);
    (answer, codes)
}

fn encode(session: &LoginSession) -> Result<Vec<u8>, LoginError> {
    serde_json::to_vec(session).map_err(|_| LoginError::Corrupt)
}

/// The session waits for this user's confirmation.
pub(crate) fn ensure_scanner(
    session: &LoginSession,
    user: &WxUserRecord,
) -> Result<(), LoginError> {
    match session.state {
        LoginState::Scanned if session.scanned_by == Some(user.id) => Ok(()),
        LoginState::Expired => Err(LoginError::Expired),
        state => Err(LoginError::State { state }),
    }
}

impl Describe for LoginError {
    fn describe(&self) -> Description {
        match self {
            Self::QrInvalid => Description::new(
                code::LOGIN_QR_INVALID,
                "这不是本系统的登录二维码，请扫描门户网站登录页上的二维码",
            ),
            Self::NotFound => Description::new(
                code::LOGIN_NOT_FOUND,
                "登录二维码不存在或已失效，请在门户网站刷新二维码后重新扫码",
            ),
            Self::Expired => Description::new(
                code::LOGIN_EXPIRED,
                "登录二维码已过期（有效期 2 分钟），请在门户网站刷新二维码后重新扫码",
            ),
            Self::AlreadyScanned => Description::new(
                code::LOGIN_ALREADY_SCANNED,
                "该二维码已被扫描或已使用，请在门户网站刷新二维码后重新扫码",
            ),
            Self::State { state } => Description::new(
                code::LOGIN_STATE,
                format!(
                    "该登录已{}，不能执行此操作；如需登录请刷新二维码",
                    match state {
                        LoginState::Pending => "等待扫码",
                        LoginState::Scanned => "扫码，等待确认",
                        LoginState::Confirmed => "确认",
                        LoginState::Consumed => "完成",
                        LoginState::Denied => "被拒绝",
                        LoginState::Mismatched => "因数字选择错误而终止",
                        LoginState::Expired => "过期",
                        LoginState::Cancelled => "取消",
                    }
                ),
            ),
            Self::NotCreator => Description::new(
                code::LOGIN_NOT_CREATOR,
                "该登录不是由本浏览器发起的，请在门户网站重新点击登录",
            ),
            Self::CertificateNotHeld => Description::new(
                code::CERTIFICATE_NOT_HELD,
                "该证书不是您本人下载的证书，请选择您自己的证书",
            ),
            Self::NoCertificate => Description::new(
                code::NO_CERTIFICATE,
                "您还没有可用的证书：请先在“手机CA证书下载”中下载证书；已废除、已过期的证书不能登录",
            ),
            Self::WrongEmployer => Description::new(
                code::SEAL_WRONG_EMPLOYER,
                "您没有该单位的可用证书，不能为该单位盖章：请确认门户网站上登录的单位与您手机上的证书一致",
            ),
            Self::CertificateNotUsable { standing } => Description::new(
                code::CERTIFICATE_NOT_USABLE,
                format!("该证书{}，不能用于登录", standing.label_zh()),
            ),
            Self::MatchWrong => Description::new(
                code::LOGIN_MATCH_WRONG,
                "您选择的数字与网页上显示的不一致，本次登录已终止。如果网页不是您本人刚刚打开的，\
                 可能有人在冒用您的证书登录，请勿再扫描该二维码；如需登录，请在门户网站刷新二维码",
            ),
            Self::ChallengeMismatch => Description::new(
                code::LOGIN_CHALLENGE_MISMATCH,
                "签名内容与当前登录不符，本次确认无效，请重新扫码",
            ),
            Self::RateLimited => {
                Description::new(code::LOGIN_RATE_LIMITED, "操作过于频繁，请一分钟后再试")
            }
            Self::Cosign(e) => e.describe(),
            Self::People(e) => e.describe(),
            Self::Storage(e) => e.describe(),
            Self::Ca(e) => e.describe(),
            Self::Kv(e) => e.describe(),
            Self::Corrupt => Description::internal(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const BASE: &str = "https://ca.example.cn";
    const ID: &str = "AbCdEfGhIjKlMnOpQrSt_-";

    #[test]
    fn only_this_servers_qr_codes_are_accepted() {
        assert_eq!(qr_id(BASE, &format!("{BASE}/q/{ID}")).unwrap(), ID);
        assert_eq!(qr_id(BASE, &format!("  {BASE}/q/{ID}\n")).unwrap(), ID);
        for text in [
            format!("https://evil.example.cn/q/{ID}"),
            format!("https://ca.example.cn.evil.cn/q/{ID}"),
            format!("http://ca.example.cn/q/{ID}"),
            format!("https://ca.example.cn:8443/q/{ID}"),
            format!("{BASE}/q/{ID}/x"),
            format!("{BASE}/q/{ID}?x=1"),
            format!("{BASE}/q/../q/{ID}"),
            format!("{BASE}/q/short"),
            format!("{BASE}/login/{ID}"),
            String::new(),
        ] {
            assert!(
                matches!(qr_id(BASE, &text), Err(LoginError::QrInvalid)),
                "{text}"
            );
        }
    }

    /// A fixed time: these tests compare states at chosen instants.
    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    fn session(state: LoginState) -> LoginSession {
        let now = t0();
        LoginSession {
            id: ID.into(),
            state,
            client_id: "p".into(),
            portal_name: "就业彩云南".into(),
            origin: "https://portal.example.cn".into(),
            scopes: vec!["openid".into()],
            match_code: "07".into(),
            match_choices: vec!["31".into(), "07".into(), "58".into()],
            initiator: Initiator::new(None, None, None, now),
            created_at: now,
            expires_at: now + delta(LOGIN_TTL),
            browser_secret_hash: Some(tokens::digest("browser-secret")),
            authorization: None,
            scanned_by: None,
            cosign_session: None,
            identity: None,
            seal: None,
        }
    }

    #[test]
    fn unconfirmed_sessions_expire_and_final_ones_stay_as_they_are() {
        let later = t0() + delta(LOGIN_TTL) + TimeDelta::seconds(1);
        for (state, expected) in [
            (LoginState::Pending, LoginState::Expired),
            (LoginState::Scanned, LoginState::Expired),
            (LoginState::Confirmed, LoginState::Confirmed),
            (LoginState::Consumed, LoginState::Consumed),
            (LoginState::Denied, LoginState::Denied),
            (LoginState::Mismatched, LoginState::Mismatched),
        ] {
            let session = session(state);
            assert_eq!(session.effective_state(t0()), state);
            assert_eq!(session.effective_state(later), expected);
        }
    }

    #[test]
    fn the_phone_offers_the_match_code_among_three_distinct_codes() {
        for _ in 0..200 {
            let (answer, choices) = match_codes();
            assert_eq!(choices.len(), MATCH_CHOICES);
            assert!(choices.contains(&answer));
            let mut unique = choices.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), MATCH_CHOICES, "{choices:?}");
            assert!(
                choices
                    .iter()
                    .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_digit()))
            );
        }
    }

    #[test]
    fn the_browser_secret_is_checked_by_digest() {
        let session = session(LoginState::Pending);
        assert!(session.belongs_to_browser("browser-secret"));
        assert!(!session.belongs_to_browser("browser-secre"));
        assert!(!session.belongs_to_browser(""));
        let embedded = LoginSession {
            browser_secret_hash: None,
            ..session
        };
        assert!(!embedded.belongs_to_browser(""));
    }

    #[test]
    fn states_round_trip_through_their_wire_form() {
        for state in [
            LoginState::Pending,
            LoginState::Scanned,
            LoginState::Confirmed,
            LoginState::Consumed,
            LoginState::Denied,
            LoginState::Mismatched,
            LoginState::Expired,
            LoginState::Cancelled,
        ] {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
    }
}
