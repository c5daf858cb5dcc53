//! Applicant accounts of the application site (seed 000 §三): a person registers and signs in with
//! their mobile phone, proven by an SMS code that only a passed slider check can request. The
//! first sign-in creates the account. Sessions are opaque 256-bit tokens kept (hashed) in the kv
//! store, so any instance can check them.

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::failure::{Describe, Description, code};
use crate::{
    domain::PhoneNumber,
    failure::StorageError,
    kv::{Kv, KvError},
    otp::{OtpError, OtpPurpose, OtpService},
    tokens::Sessions,
};

/// How long a session lasts after sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(2 * 3600);

/// An account.
#[derive(Debug, Clone)]
pub struct ApplicantRecord {
    /// Row id.
    pub id: i64,
    /// The proven phone.
    pub phone: PhoneNumber,
    /// First sign-in.
    pub created_at: DateTime<Utc>,
}

/// Storage of accounts (`store/` implements it).
#[async_trait::async_trait]
pub trait ApplicantStore: Send + Sync + std::fmt::Debug {
    /// The account of `phone`, created if new (`true` when created), with the sign-in time set.
    async fn sign_in(
        &self,
        phone: &PhoneNumber,
        at: DateTime<Utc>,
    ) -> Result<(ApplicantRecord, bool), StorageError>;
    /// An account by id.
    async fn applicant(&self, id: i64) -> Result<Option<ApplicantRecord>, StorageError>;
}

/// Why a sign-in or a session check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApplicantError {
    /// The SMS code was not accepted.
    #[error(transparent)]
    Otp(#[from] OtpError),
    /// No session, an expired one, or one signed out.
    #[error("not signed in")]
    NotSignedIn,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The kv store failed.
    #[error(transparent)]
    Kv(#[from] KvError),
}

/// A new session, shown once.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Bearer token.
    pub token: String,
    /// The account.
    pub applicant: ApplicantRecord,
    /// Whether this sign-in created the account.
    pub registered: bool,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
}

/// Accounts and sessions.
#[derive(Debug)]
pub struct Applicants {
    store: Arc<dyn ApplicantStore>,
    otp: Arc<OtpService>,
    sessions: Sessions,
    clock: Arc<dyn Clock>,
}

impl Applicants {
    /// The service over its store, the OTP service and the kv store; sessions end by `clock`.
    pub fn new(
        store: Arc<dyn ApplicantStore>,
        otp: Arc<OtpService>,
        kv: Arc<dyn Kv>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store,
            otp,
            sessions: Sessions::new(kv, "applicant-session", SESSION_TTL, clock.clone()),
            clock,
        }
    }

    /// Signs in (registering on first use) with an SMS code for `phone`.
    #[tracing::instrument(skip(self, code), fields(phone = %phone.masked()))]
    pub async fn sign_in(
        &self,
        phone: &PhoneNumber,
        code: &str,
    ) -> Result<SignedIn, ApplicantError> {
        self.otp
            .verify(phone, OtpPurpose::ApplicantLogin, code)
            .await?;
        let (applicant, registered) = self.store.sign_in(phone, self.clock.now()).await?;
        let (token, expires_at) = self.sessions.issue(applicant.id).await?;
        if registered {
            tracing::info!(applicant = applicant.id, "applicant registered");
        }
        Ok(SignedIn {
            token,
            applicant,
            registered,
            expires_at,
        })
    }

    /// The account a session token belongs to.
    pub async fn authenticate(&self, token: &str) -> Result<ApplicantRecord, ApplicantError> {
        let id = self
            .sessions
            .resolve(token)
            .await?
            .ok_or(ApplicantError::NotSignedIn)?;
        self.store
            .applicant(id)
            .await?
            .ok_or(ApplicantError::NotSignedIn)
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> Result<(), ApplicantError> {
        Ok(self.sessions.revoke(token).await?)
    }
}

impl Describe for ApplicantError {
    fn describe(&self) -> Description {
        match self {
            Self::Otp(e) => e.describe(),
            Self::NotSignedIn => Description::new(
                code::NOT_SIGNED_IN,
                "登录已过期或尚未登录，请用手机号和短信验证码重新登录",
            ),
            Self::Storage(e) => e.describe(),
            Self::Kv(e) => e.describe(),
        }
    }
}
