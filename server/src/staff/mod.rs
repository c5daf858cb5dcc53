//! Staff accounts (DESIGN.md §12 item 9: staff actions need a staff login): created by
//! `mcert-server admin add-staff`, passwords hashed with Argon2id, five consecutive failures lock
//! the account for 15 minutes, sessions are hashed tokens in the kv store.

use std::{sync::Arc, time::Duration};

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use chrono::{DateTime, TimeDelta, Utc};

use crate::{
    audit::AuditDraft,
    ca::StorageError,
    kv::{Kv, KvError},
    tokens::Sessions,
};

/// Consecutive failures that lock an account.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long a locked account stays locked.
pub const LOCK_DURATION: TimeDelta = TimeDelta::minutes(15);
/// How long a staff session lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// A staff account.
#[derive(Debug, Clone)]
pub struct StaffRecord {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Name shown in the audit log and the review pages.
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Consecutive failures.
    pub failed_logins: u32,
    /// Locked until then, if locked.
    pub locked_until: Option<DateTime<Utc>>,
}

/// Storage of staff accounts (`store/` implements it).
#[async_trait::async_trait]
pub trait StaffStore: Send + Sync + std::fmt::Debug {
    /// Adds an account with its audit entry; `Conflict` if the username exists.
    async fn insert_staff(
        &self,
        username: &str,
        display_name: &str,
        password_hash: &str,
        audit: AuditDraft,
    ) -> Result<StaffRecord, StorageError>;
    /// An account by login name.
    async fn staff_by_username(&self, username: &str) -> Result<Option<StaffRecord>, StorageError>;
    /// An account by id.
    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffRecord>, StorageError>;
    /// Counts a failure; at `limit` consecutive failures sets `locked_until`. One statement.
    async fn record_login_failure(
        &self,
        id: i64,
        limit: u32,
        locked_until: DateTime<Utc>,
    ) -> Result<(), StorageError>;
    /// Clears the failure count and any expired lock.
    async fn record_login_success(&self, id: i64) -> Result<(), StorageError>;
}

/// Why a staff action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StaffError {
    /// Unknown username or wrong password (not told apart).
    #[error("wrong username or password")]
    WrongCredentials,
    /// Too many failures; try again later.
    #[error("account locked until {until}")]
    Locked {
        /// When it unlocks.
        until: DateTime<Utc>,
    },
    /// A new password that is too weak.
    #[error("password too weak")]
    WeakPassword,
    /// A username that is not allowed.
    #[error("invalid username")]
    InvalidUsername,
    /// The username exists.
    #[error("username taken")]
    UsernameTaken,
    /// No session, or an expired one.
    #[error("not signed in")]
    NotSignedIn,
    /// Hashing failed.
    #[error("password hashing failed")]
    Hash,
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The kv store failed.
    #[error(transparent)]
    Kv(#[from] KvError),
}

/// Staff accounts and sessions.
#[derive(Debug)]
pub struct Staff {
    store: Arc<dyn StaffStore>,
    sessions: Sessions,
}

/// Argon2id with the crate's defaults (19 MiB, 2 passes, 1 lane: the OWASP baseline).
fn hasher() -> Argon2<'static> {
    Argon2::default()
}

/// A password staff may choose: 10 to 128 characters with letters and digits.
fn check_password(password: &str) -> Result<(), StaffError> {
    let length = password.chars().count();
    let letters = password.chars().any(char::is_alphabetic);
    let digits = password.chars().any(|c| c.is_ascii_digit());
    if (10..=128).contains(&length) && letters && digits {
        Ok(())
    } else {
        Err(StaffError::WeakPassword)
    }
}

impl Staff {
    /// The service over its store and the kv store.
    pub fn new(store: Arc<dyn StaffStore>, kv: Arc<dyn Kv>) -> Self {
        Self {
            store,
            sessions: Sessions::new(kv, "staff-session", SESSION_TTL),
        }
    }

    /// Adds an account (the CLI's `admin add-staff`).
    pub async fn add(
        store: &dyn StaffStore,
        username: &str,
        display_name: &str,
        password: &str,
        actor: &str,
    ) -> Result<StaffRecord, StaffError> {
        let username = username.trim();
        if username.is_empty()
            || username.len() > 64
            || !username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            return Err(StaffError::InvalidUsername);
        }
        check_password(password)?;
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let hash = hasher()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|_| StaffError::Hash)?
            .to_string();
        let audit = AuditDraft {
            actor: actor.to_string(),
            action: "staff.add",
            subject: username.to_string(),
            detail: serde_json::json!({ "display_name": display_name }),
        };
        match store
            .insert_staff(username, display_name.trim(), &hash, audit)
            .await
        {
            Err(StorageError::Conflict { .. }) => Err(StaffError::UsernameTaken),
            other => Ok(other?),
        }
    }

    /// Adds an account through this service's store (see [`Staff::add`]).
    pub async fn add_account(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
        actor: &str,
    ) -> Result<StaffRecord, StaffError> {
        Self::add(self.store.as_ref(), username, display_name, password, actor).await
    }

    /// Signs in; five consecutive failures lock the account for [`LOCK_DURATION`].
    #[tracing::instrument(skip(self, password))]
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(String, DateTime<Utc>, StaffRecord), StaffError> {
        let Some(staff) = self.store.staff_by_username(username.trim()).await? else {
            // Same work as a real check, so timing does not reveal which usernames exist.
            let salt = SaltString::generate(&mut rand::rngs::OsRng);
            let _ = hasher().hash_password(password.as_bytes(), &salt);
            return Err(StaffError::WrongCredentials);
        };
        let now = Utc::now();
        if let Some(until) = staff.locked_until.filter(|until| *until > now) {
            return Err(StaffError::Locked { until });
        }
        let verified = PasswordHash::new(&staff.password_hash)
            .map(|hash| hasher().verify_password(password.as_bytes(), &hash).is_ok())
            .unwrap_or(false);
        if !verified {
            self.store
                .record_login_failure(staff.id, MAX_FAILED_LOGINS, now + LOCK_DURATION)
                .await?;
            tracing::info!(staff = staff.id, "staff sign-in failed");
            return Err(StaffError::WrongCredentials);
        }
        self.store.record_login_success(staff.id).await?;
        let (token, expires_at) = self.sessions.issue(staff.id).await?;
        Ok((token, expires_at, staff))
    }

    /// The staff account a session token belongs to.
    pub async fn authenticate(&self, token: &str) -> Result<StaffRecord, StaffError> {
        let id = self
            .sessions
            .resolve(token)
            .await?
            .ok_or(StaffError::NotSignedIn)?;
        self.store
            .staff_by_id(id)
            .await?
            .ok_or(StaffError::NotSignedIn)
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> Result<(), StaffError> {
        Ok(self.sessions.revoke(token).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_passwords_are_refused() {
        for weak in ["short1", "onlyletterslong", "12345678901", ""] {
            assert!(check_password(weak).is_err(), "{weak}");
        }
        assert!(check_password("review2026now").is_ok());
    }
}
