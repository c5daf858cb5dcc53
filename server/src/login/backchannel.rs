//! OpenID Connect Back-Channel Logout 1.0 (DESIGN.md §9): withdrawing an item from a
//! certificate, or revoking it, ends the sessions portals hold for its logins at once. mcert
//! remembers each portal session (the login's `sid`) when the portal receives its tokens; the
//! store ends the certificate's sessions in the transaction of the revocation or the grant
//! change (their access tokens stop working at userinfo, introspection and the grant API) and
//! queues a logout token for each portal that registered a `backchannel_logout_uri`. This worker
//! signs each token when it sends it (ES256 with the ID-token key, `typ: logout+jwt`, `sid`,
//! `sub`, `events`, `jti`, `iat`, a two-minute `exp`, no `nonce`) and POSTs it as
//! `logout_token`, retrying with the outbox's backoff.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use super::oidc::Oidc;
use crate::{
    clock::Clock,
    failure::StorageError,
    outbox::{self, BATCH, Delivery, DeliveryStatus},
};

/// Attempts before a logout token is given up.
pub const MAX_ATTEMPTS: u32 = 8;

/// How long a portal has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Where a queued logout token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutStatus {
    /// Waiting to be sent (or retried).
    Pending,
    /// The portal answered 200.
    Delivered,
    /// The portal refused it (400), or it was given up after [`MAX_ATTEMPTS`].
    Failed,
}

impl DeliveryStatus for LogoutStatus {
    const PENDING: Self = Self::Pending;
    const DELIVERED: Self = Self::Delivered;
    const FAILED: Self = Self::Failed;

    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|status| status.as_str() == value)
    }
}

/// A queued logout token.
#[derive(Debug, Clone)]
pub struct LogoutRow {
    /// Row id.
    pub id: i64,
    /// The portal's client id (the token's `aud`).
    pub client_id: String,
    /// Its back-channel endpoint.
    pub uri: String,
    /// The ended session.
    pub sid: String,
    /// The login's subject.
    pub sub: String,
    /// Where the delivery stands.
    pub delivery: Delivery<LogoutStatus>,
}

/// Portal sessions and the logout outbox (`store/` implements it).
#[async_trait::async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// Remembers that portal `client_id` holds session `sid` of the login of certificate
    /// `serial` (subject `sub`); a second record of one session is a no-op.
    async fn record_session(
        &self,
        sid: &str,
        serial: &str,
        client_id: &str,
        sub: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError>;
    /// Whether session `sid` was ended (by a revocation or a withdrawn item).
    async fn session_ended(&self, sid: &str) -> Result<bool, StorageError>;
    /// Logout tokens due at `now`, oldest first.
    async fn due_logouts(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<LogoutRow>, StorageError>;
    /// Claims `row` until `lease_until` (compare-and-set).
    async fn claim_logout(
        &self,
        row: &LogoutRow,
        lease_until: DateTime<Utc>,
    ) -> Result<bool, StorageError>;
    /// Records the outcome of a send.
    async fn record_logout(&self, row: &LogoutRow) -> Result<(), StorageError>;
}

/// The delivery worker of logout tokens.
#[derive(Debug)]
pub struct BackChannel {
    store: Arc<dyn SessionStore>,
    oidc: Arc<Oidc>,
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl BackChannel {
    /// The worker over the outbox, signing with the provider's key; tokens fall due by `clock`.
    pub fn new(
        store: Arc<dyn SessionStore>,
        oidc: Arc<Oidc>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            store,
            oidc,
            http,
            clock,
        })
    }

    /// Sends every due logout token once; returns how many it tried.
    pub async fn run_once(&self) -> Result<usize, StorageError> {
        let now = self.clock.now();
        outbox::round(
            self.store.due_logouts(now, BATCH).await?,
            now,
            |row, lease| async move {
                Ok(self.store.claim_logout(&row, lease).await?.then_some(row))
            },
            |row| self.send(row),
        )
        .await
    }

    /// Signs and posts a claimed logout token and records the outcome: 200 (or any 2xx)
    /// delivered, 400 refused for good (the portal could not log the session out), anything
    /// else retried.
    async fn send(&self, row: LogoutRow) -> Result<(), StorageError> {
        let mut next = row.clone();
        let now = self.clock.now();
        let outcome = match self.oidc.logout_token(&row.client_id, &row.sid, &row.sub) {
            Ok(token) => self
                .http
                .post(&row.uri)
                .form(&[("logout_token", token.as_str())])
                .send()
                .await
                .map_err(|error| (crate::telemetry::error_chain(&error), false))
                .and_then(|response| {
                    let status = response.status();
                    if status.is_success() {
                        Ok(())
                    } else {
                        Err((format!("HTTP {status}"), status.as_u16() == 400))
                    }
                }),
            Err(error) => Err((error.description, false)),
        };
        match outcome {
            Ok(()) => next.delivery.delivered(None),
            Err((detail, refusal)) => next.delivery.failed(detail, refusal, MAX_ATTEMPTS, now),
        }
        next.delivery.warn_unless_delivered(
            "backchannel-logout",
            &format!("{} {}", row.client_id, row.sid),
        );
        self.store.record_logout(&next).await
    }

    /// Runs [`BackChannel::run_once`] every `period` for the life of the process.
    pub fn spawn(self: Arc<Self>, period: Duration) {
        outbox::spawn_rounds("backchannel-logout", period, move || {
            let worker = self.clone();
            async move { worker.run_once().await }
        });
    }

    /// Sends what is due now, logging a storage failure: for callers whose change is
    /// committed, and whose logouts the periodic round sends anyway.
    pub async fn flush(&self) {
        if let Err(error) = self.run_once().await {
            tracing::error!(error = %error, "back-channel logout round failed; the worker will retry");
        }
    }
}
