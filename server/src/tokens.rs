//! Random bearer secrets and identifiers, the hashed form they are stored under, and
//! bearer sessions kept in the kv store (applicants, staff).

use std::{sync::Arc, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rand::RngCore as _;

use crate::clock::Clock;
use crate::kv::{Kv, KvError};

/// `bytes` random bytes from the OS, base64url without padding (16 bytes → 22 characters).
pub fn random_token(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    URL_SAFE_NO_PAD.encode(raw)
}

/// SM3 of a token, hex: what is stored, so a copy of the store holds no usable token.
pub fn digest(token: &str) -> String {
    hex::encode(mcert_signer::sm3_digest(token.as_bytes()))
}

/// Bearer sessions of one kind: a 256-bit token names an account id, stored under the token's
/// digest with a time to live, so any instance can check it.
pub struct Sessions {
    kv: Arc<dyn Kv>,
    prefix: &'static str,
    ttl: Duration,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// Sessions under the kv key prefix `prefix`, each lasting `ttl` by `clock`.
    pub fn new(
        kv: Arc<dyn Kv>,
        prefix: &'static str,
        ttl: Duration,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            kv,
            prefix,
            ttl,
            clock,
        }
    }

    fn key(&self, token: &str) -> String {
        format!("{}:{}", self.prefix, digest(token))
    }

    /// A new session for account `id`: the token and when it ends.
    pub async fn issue(&self, id: i64) -> Result<(String, DateTime<Utc>), KvError> {
        let token = random_token(32);
        self.kv
            .put_if_absent(&self.key(&token), id.to_string().as_bytes(), self.ttl)
            .await?;
        let ttl = chrono::TimeDelta::from_std(self.ttl).unwrap_or(chrono::TimeDelta::MAX);
        Ok((token, self.clock.now() + ttl))
    }

    /// The account id a live token names.
    pub async fn resolve(&self, token: &str) -> Result<Option<i64>, KvError> {
        Ok(self
            .kv
            .get(&self.key(token))
            .await?
            .and_then(|bytes| std::str::from_utf8(&bytes).ok()?.parse().ok()))
    }

    /// Ends a session (unknown tokens are ignored).
    pub async fn revoke(&self, token: &str) -> Result<(), KvError> {
        self.kv.take(&self.key(token)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tokens_are_random_and_sized() {
        let a = random_token(16);
        assert_eq!(a.len(), 22);
        assert_ne!(a, random_token(16));
        assert_eq!(random_token(32).len(), 43);
        assert_eq!(digest("x").len(), 64);
    }

    #[tokio::test]
    async fn sessions_issue_resolve_and_revoke() {
        let clock = Arc::new(crate::clock::AdjustableClock::new());
        let sessions = Sessions::new(
            crate::kv::test_kv(clock.clone()).await,
            "test-session",
            Duration::from_secs(60),
            clock.clone(),
        );
        let (token, expires_at) = sessions.issue(42).await.unwrap();
        assert!(expires_at > clock.now());
        assert_eq!(sessions.resolve(&token).await.unwrap(), Some(42));
        assert_eq!(sessions.resolve("forged").await.unwrap(), None);
        sessions.revoke(&token).await.unwrap();
        assert_eq!(sessions.resolve(&token).await.unwrap(), None);
    }
}
