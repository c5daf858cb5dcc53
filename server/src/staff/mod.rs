//! Staff accounts (DESIGN.md §12 item 9: staff actions need a staff login): created by
//! `mcert-server admin add-staff`, passwords hashed with Argon2id, sessions are hashed tokens in
//! the kv store.
//!
//! Guessing is bounded before any hash is computed. Every attempt first reserves one of the
//! [`MAX_FAILED_LOGINS`] tries of its username (a kv counter, the same for names that exist and
//! names that do not) and one of the [`MAX_ATTEMPTS_PER_ADDRESS`] tries of its client address;
//! a right password gives the username's tries back. So concurrent guesses cannot outrun the
//! count: of any number sent at once, five are checked. Hashing runs on the blocking pool, at
//! most [`HASHING_CONCURRENCY`] at a time and [`HASHING_QUEUE`] waiting, so sign-ins never hold
//! up the server's workers.

use std::{sync::Arc, time::Duration};

use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
};
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::failure::{Describe, Description, code};
use crate::{
    audit::{Actor, AuditDraft},
    failure::StorageError,
    kv::{Kv, KvError},
    tokens::Sessions,
};

/// Failures within [`LOCK_DURATION`] that lock a username.
pub const MAX_FAILED_LOGINS: u32 = 5;
/// How long a locked username stays locked (and the window its failures are counted in).
pub const LOCK_DURATION: TimeDelta = TimeDelta::minutes(15);
/// Sign-in attempts one client address may make per [`ADDRESS_WINDOW`], right or wrong.
pub const MAX_ATTEMPTS_PER_ADDRESS: u32 = 30;
/// The window of [`MAX_ATTEMPTS_PER_ADDRESS`].
pub const ADDRESS_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Password hashes computed at once (each takes 19 MiB and a core for tens of milliseconds).
pub const HASHING_CONCURRENCY: usize = 2;
/// Sign-ins that may wait for a hashing slot; more are refused as busy.
pub const HASHING_QUEUE: usize = 32;
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
    /// What the member may do.
    pub role: StaffRole,
}

/// What a staff member may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffRole {
    /// Reviews applications, information changes and captured seals, and reads.
    Reviewer,
    /// Everything: certificates (revoke, unlock, unbind a phone, a new primary), employers
    /// (employee count, merge, re-push), renewal fees, staff accounts, portals.
    Administrator,
}

impl StaffRole {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reviewer => "reviewer",
            Self::Administrator => "administrator",
        }
    }

    /// From the stored form.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "reviewer" => Some(Self::Reviewer),
            "administrator" => Some(Self::Administrator),
            _ => None,
        }
    }

    /// In Chinese.
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Reviewer => "审核员",
            Self::Administrator => "管理员",
        }
    }
}

/// A signed-in staff member: what every staff action takes. Only [`Staff`] makes one, from a
/// sign-in or a session, so no code reaches a staff action without a verified member.
#[derive(Debug, Clone)]
pub struct Reviewer(StaffRecord);

impl Reviewer {
    /// The account.
    pub fn record(&self) -> &StaffRecord {
        &self.0
    }

    /// Login name.
    pub fn username(&self) -> &str {
        &self.0.username
    }

    /// The reviewer `mcert-server demo` approves its demo application as, at start, without a
    /// sign-in: development mode only, and nothing outside this crate can make one.
    pub(crate) fn for_demo(record: StaffRecord) -> Self {
        Self(record)
    }

    /// Whether the member is an administrator.
    pub fn is_administrator(&self) -> bool {
        self.0.role == StaffRole::Administrator
    }

    /// The member, if an administrator: what the administrator's actions take.
    pub fn administrator(&self) -> Result<&Self, StaffError> {
        if self.is_administrator() {
            Ok(self)
        } else {
            Err(StaffError::NotAdministrator)
        }
    }

    /// How the audit log names this member.
    pub fn actor(&self) -> Actor {
        Actor::Staff(self.0.username.clone())
    }
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
        role: StaffRole,
        audit: AuditDraft,
    ) -> Result<StaffRecord, StorageError>;
    /// An account by login name.
    async fn staff_by_username(&self, username: &str) -> Result<Option<StaffRecord>, StorageError>;
    /// An account by id.
    async fn staff_by_id(&self, id: i64) -> Result<Option<StaffRecord>, StorageError>;
    /// Every account, in the order they were added.
    async fn all_staff(&self) -> Result<Vec<StaffRecord>, StorageError>;
}

/// Why a staff action failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StaffError {
    /// Unknown username or wrong password (not told apart).
    #[error("wrong username or password")]
    WrongCredentials,
    /// Too many failures for this username; try again later.
    #[error("account locked until {until}")]
    Locked {
        /// When it unlocks.
        until: DateTime<Utc>,
    },
    /// Too many attempts from this client address.
    #[error("too many sign-in attempts from this address")]
    AddressLimit,
    /// Too many sign-ins waiting for a password check.
    #[error("too many sign-ins at once")]
    Busy,
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
    /// An administrator's action by a reviewer.
    #[error("not an administrator")]
    NotAdministrator,
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
    kv: Arc<dyn Kv>,
    sessions: Sessions,
    hashing: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
    clock: Arc<dyn Clock>,
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
    /// The service over its store and the kv store; locks and sessions end by `clock`.
    pub fn new(store: Arc<dyn StaffStore>, kv: Arc<dyn Kv>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            sessions: Sessions::new(kv.clone(), "staff-session", SESSION_TTL, clock.clone()),
            kv,
            hashing: Arc::new(Semaphore::new(HASHING_CONCURRENCY)),
            waiting: Arc::new(Semaphore::new(HASHING_QUEUE + HASHING_CONCURRENCY)),
            clock,
        }
    }

    /// Adds an account (the CLI's `admin add-staff`).
    pub async fn add(
        store: &dyn StaffStore,
        username: &str,
        display_name: &str,
        password: &str,
        role: StaffRole,
        actor: &Actor,
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
            actor: actor.clone(),
            action: "staff.add",
            subject: username.to_string(),
            detail: serde_json::json!({ "display_name": display_name, "role": role.as_str() }),
        };
        match store
            .insert_staff(username, display_name.trim(), &hash, role, audit)
            .await
        {
            Err(StorageError::Conflict { .. }) => Err(StaffError::UsernameTaken),
            other => Ok(other?),
        }
    }

    /// Every account, in the order they were added.
    pub async fn accounts(&self) -> Result<Vec<StaffRecord>, StaffError> {
        Ok(self.store.all_staff().await?)
    }

    /// Adds an account through this service's store (see [`Staff::add`]).
    pub async fn add_account(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
        role: StaffRole,
        actor: &Actor,
    ) -> Result<StaffRecord, StaffError> {
        Self::add(
            self.store.as_ref(),
            username,
            display_name,
            password,
            role,
            actor,
        )
        .await
    }

    /// Signs in from `client_address` (the rate-limit key of the requester's address). Five
    /// failures for a username within [`LOCK_DURATION`] lock it for [`LOCK_DURATION`], whether
    /// or not an account has that name.
    #[tracing::instrument(skip(self, password))]
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        client_address: &str,
    ) -> Result<(String, DateTime<Utc>, Reviewer), StaffError> {
        let username = username.trim();
        let name_key = hex::encode(mcert_signer::sm3_digest(username.as_bytes()));
        let lock_key = format!("staff-lock:{name_key}");
        if let Some(until) = self.kv.get(&lock_key).await? {
            return Err(StaffError::Locked {
                until: locked_until(&until, self.clock.now()),
            });
        }
        let from_address = self
            .kv
            .incr(&format!("staff-address:{client_address}"), ADDRESS_WINDOW)
            .await?;
        if from_address > i64::from(MAX_ATTEMPTS_PER_ADDRESS) {
            return Err(StaffError::AddressLimit);
        }
        // A place in the queue before a try is taken: a sign-in refused as busy costs none.
        let _waiting = self
            .waiting
            .clone()
            .try_acquire_owned()
            .map_err(|_| StaffError::Busy)?;
        // The reservation: this attempt holds one of the username's tries before it is checked.
        let tries_key = format!("staff-tries:{name_key}");
        let window = LOCK_DURATION.to_std().unwrap_or(Duration::MAX);
        let tries = self.kv.incr(&tries_key, window).await?;
        if tries > i64::from(MAX_FAILED_LOGINS) {
            // The tries are used up but the lock is not written yet: the fifth is being checked.
            return Err(StaffError::Locked {
                until: self.clock.now() + LOCK_DURATION,
            });
        }
        let staff = self.store.staff_by_username(username).await?;
        let hash = staff.as_ref().map(|staff| staff.password_hash.clone());
        if !self.verify(hash, password).await? {
            tracing::info!(tries, "staff sign-in failed");
            if tries == i64::from(MAX_FAILED_LOGINS) {
                let until = self.clock.now() + LOCK_DURATION;
                // The tries counter is left to expire: it began before the lock, so it is gone
                // when the lock is, and until then every attempt finds it used up.
                self.kv
                    .put_if_absent(&lock_key, until.to_rfc3339().as_bytes(), window)
                    .await?;
                return Err(StaffError::Locked { until });
            }
            return Err(StaffError::WrongCredentials);
        }
        let Some(staff) = staff else {
            return Err(StaffError::WrongCredentials);
        };
        self.kv.take(&tries_key).await?;
        let (token, expires_at) = self.sessions.issue(staff.id).await?;
        Ok((token, expires_at, Reviewer(staff)))
    }

    /// Checks `password` against `hash` on the blocking pool, at most [`HASHING_CONCURRENCY`] at
    /// a time; without a hash (no such account) does the same work and answers false, so
    /// timing does not tell which usernames exist.
    async fn verify(&self, hash: Option<String>, password: &str) -> Result<bool, StaffError> {
        let _hashing = self
            .hashing
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| StaffError::Busy)?;
        let password = zeroize::Zeroizing::new(password.to_owned());
        tokio::task::spawn_blocking(move || match hash {
            Some(hash) => PasswordHash::new(&hash)
                .map(|hash| hasher().verify_password(password.as_bytes(), &hash).is_ok())
                .unwrap_or(false),
            None => {
                let salt = SaltString::generate(&mut rand::rngs::OsRng);
                let _ = hasher().hash_password(password.as_bytes(), &salt);
                false
            }
        })
        .await
        .map_err(|_| StaffError::Hash)
    }

    /// The staff member a session token belongs to.
    pub async fn authenticate(&self, token: &str) -> Result<Reviewer, StaffError> {
        let id = self
            .sessions
            .resolve(token)
            .await?
            .ok_or(StaffError::NotSignedIn)?;
        self.store
            .staff_by_id(id)
            .await?
            .map(Reviewer)
            .ok_or(StaffError::NotSignedIn)
    }

    /// Ends a session.
    pub async fn sign_out(&self, token: &str) -> Result<(), StaffError> {
        Ok(self.sessions.revoke(token).await?)
    }
}

/// The end of a lock as stored (RFC 3339); an unreadable one counts from `now`.
fn locked_until(stored: &[u8], now: DateTime<Utc>) -> DateTime<Utc> {
    std::str::from_utf8(stored)
        .ok()
        .and_then(|text| DateTime::parse_from_rfc3339(text).ok())
        .map_or_else(|| now + LOCK_DURATION, |until| until.to_utc())
}

impl Describe for StaffError {
    fn describe(&self) -> Description {
        match self {
            Self::WrongCredentials => Description::new(
                code::STAFF_CREDENTIALS_WRONG,
                "用户名或密码错误；15 分钟内错误 5 次账号将锁定 15 分钟",
            ),
            Self::Locked { until } => {
                let shown = chrono::FixedOffset::east_opt(8 * 3600).map_or_else(
                    || until.format("%H:%M UTC").to_string(),
                    |beijing| until.with_timezone(&beijing).format("%H:%M").to_string(),
                );
                Description::new(
                    code::STAFF_LOCKED,
                    format!("密码错误次数过多，账号已锁定，请于 {shown} 后再试"),
                )
            }
            Self::AddressLimit => Description::new(
                code::STAFF_ADDRESS_LIMIT,
                "当前网络登录尝试次数过多，请 15 分钟后再试",
            ),
            Self::Busy => Description::new(code::STAFF_SIGN_IN_BUSY, "登录请求较多，请稍后重试"),
            Self::WeakPassword => Description::new(
                code::STAFF_PASSWORD_WEAK,
                "密码至少 10 位，且须同时包含字母和数字",
            ),
            Self::InvalidUsername => Description::new(
                code::STAFF_USERNAME_INVALID,
                "用户名只能包含字母、数字、“.”、“_”和“-”，最长 64 位",
            ),
            Self::UsernameTaken => {
                Description::new(code::STAFF_USERNAME_TAKEN, "该用户名已存在，请换一个")
            }
            Self::NotSignedIn => Description::new(
                code::STAFF_NOT_SIGNED_IN,
                "工作人员登录已过期或尚未登录，请重新登录",
            ),
            Self::NotAdministrator => Description::new(
                code::STAFF_NOT_ADMINISTRATOR,
                "该操作需要管理员权限：请联系管理员办理，或用管理员账号登录",
            ),
            Self::Storage(e) => e.describe(),
            Self::Kv(e) => e.describe(),
            Self::Hash => Description::internal(),
        }
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
