//! Short-lived state: sessions, one-time codes, rate limits, nonces and pub/sub.
//!
//! The rest of the server codes against [`Kv`]. Two implementations pass the same contract suite
//! (`contract.rs`): [`MemoryKv`], the default for a single instance, and [`RedisKv`], which lets
//! any number of instances share state, so that a scan handled by one instance reaches a login
//! page waiting on another (DESIGN.md §11).
//!
//! Every value has a time to live: nothing written here outlives its purpose.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::clock::Clock;
use crate::failure::{Describe, Description, code};
use futures_util::{Stream, StreamExt as _};
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

#[cfg(test)]
mod contract;
mod memory;
mod redis;

pub use self::memory::MemoryKv;
pub use self::redis::RedisKv;

/// How many messages a channel buffers for a subscriber that has not read them yet. Messages
/// here are rare wake-up signals, so a subscriber this far behind has stopped listening.
const CHANNEL_CAPACITY: usize = 64;

/// The short-lived state store.
#[async_trait::async_trait]
pub trait Kv: Send + Sync + fmt::Debug {
    /// Stores `value` under `key` for `ttl` unless the key exists; true when stored.
    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError>;

    /// Reads the value under `key`, if it exists and has not expired.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;

    /// Atomically reads and deletes (single use): of two concurrent takes exactly one gets the value.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, KvError>;

    /// Replaces the value under `key` with `new` if it is exactly `expected` (compare-and-set),
    /// keeping its remaining TTL; false if the key is missing, expired or holds anything else.
    /// Of two concurrent replacements of the same value exactly one succeeds.
    async fn replace_if(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, KvError>;

    /// Increments a counter; the TTL starts when the counter is created and is not extended by
    /// later increments. The first call returns 1. A counter reads back through [`Kv::get`] as its
    /// decimal digits.
    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, KvError>;

    /// Sends `message` to everyone subscribed to `channel` at this moment; nobody listening is
    /// not an error.
    async fn publish(&self, channel: &str, message: &[u8]) -> Result<(), KvError>;

    /// Starts listening on `channel`. Once this returns, every later publish on the channel is
    /// delivered to the subscription.
    async fn subscribe(&self, channel: &str) -> Result<Subscription, KvError>;

    /// Shortens the time every value has left by `by`, as if that much time had passed, and
    /// removes the values it uses up: what follows a move of the server's [`Clock`] (a test's,
    /// or the development clock) for a store that keeps its own time. The memory store reads
    /// the clock and has nothing to do. Values without a time to live are left alone.
    ///
    /// [`Clock`]: crate::clock::Clock
    async fn fast_forward(&self, by: Duration) -> Result<(), KvError>;

    /// For health checks.
    async fn ping(&self) -> Result<(), KvError>;
}

/// Errors of the short-lived state store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KvError {
    /// The Redis URL given at start is malformed or names an unsupported scheme.
    #[error("invalid Redis URL")]
    InvalidUrl {
        /// Why the URL was refused.
        #[source]
        source: ::redis::RedisError,
    },
    /// Redis could not be reached, or the connection broke or timed out during `operation`.
    #[error("Redis is unavailable ({operation})")]
    Unavailable {
        /// The Redis command or step that failed, such as `GETDEL` or `connect`.
        operation: &'static str,
        /// The connection error.
        #[source]
        source: ::redis::RedisError,
    },
    /// Redis answered `operation` with an error (out of memory, read-only replica, no permission).
    #[error("Redis refused {operation}")]
    Refused {
        /// The Redis command that was refused.
        operation: &'static str,
        /// The error Redis replied with.
        #[source]
        source: ::redis::RedisError,
    },
    /// [`Kv::incr`] found a value that is not a 64-bit counter, or the counter would overflow.
    /// The key is left out on purpose: keys may embed one-time identifiers.
    #[error("the value is not a counter or the counter would overflow")]
    NotACounter,
    /// Redis answered `operation` with a reply of an unexpected shape.
    #[error("unexpected Redis reply to {operation}: {detail}")]
    Protocol {
        /// The Redis command whose reply was not understood.
        operation: &'static str,
        /// What was wrong with the reply.
        detail: String,
    },
}

/// Opens the store: in memory when `redis_url` is `None`, otherwise Redis, checked with a PING
/// before this returns (an unreachable Redis is an error, never a silent fallback to memory).
///
/// With Redis, every key and channel name is prefixed with `key_prefix` (include a separator,
/// e.g. `"mcert:"`), so that deployments and tests can share one Redis. The memory store belongs
/// to this process alone and ignores the prefix; its values expire by `clock` (Redis keeps its
/// own time, moved with [`Kv::fast_forward`]).
pub async fn connect(
    redis_url: Option<&str>,
    key_prefix: &str,
    clock: Arc<dyn Clock>,
) -> Result<Arc<dyn Kv>, KvError> {
    match redis_url {
        None => Ok(Arc::new(MemoryKv::with_clock(clock))),
        Some(url) => Ok(Arc::new(RedisKv::connect(url, key_prefix).await?)),
    }
}

/// The store the environment names for tests of modules built on [`Kv`]: Redis under a fresh key
/// prefix when `REDIS_URL` is set (unusable Redis fails the test), memory on `clock` otherwise.
#[cfg(test)]
pub(crate) async fn test_kv(clock: Arc<dyn Clock>) -> Arc<dyn Kv> {
    match contract::redis_fixture().await {
        Some(redis) => Arc::new(redis),
        None => Arc::new(MemoryKv::with_clock(clock)),
    }
}

/// The time to live in whole milliseconds, rounded up and at least 1: Redis refuses a zero
/// expiry, and both stores must agree on what a TTL means.
fn ttl_millis(ttl: Duration) -> u64 {
    let millis = ttl.as_nanos().div_ceil(1_000_000).max(1);
    u64::try_from(millis).unwrap_or(u64::MAX)
}

/// Messages published on one channel, from [`Kv::subscribe`] on.
///
/// Read with [`Subscription::next`] or as a [`Stream`]. Dropping it unsubscribes.
pub struct Subscription {
    messages: BroadcastStream<Vec<u8>>,
    // Declared after `messages`, so that the receiver is gone by the time the release checks
    // whether it was the channel's last one.
    release: Release,
}

/// What a store does when a subscription is dropped.
#[expect(dead_code, reason = "held only for what its Drop does")]
enum Release {
    Memory(memory::Release),
    Redis(redis::Release),
}

impl Subscription {
    fn new(receiver: broadcast::Receiver<Vec<u8>>, release: Release) -> Self {
        Self {
            messages: BroadcastStream::new(receiver),
            release,
        }
    }

    /// The next message; `None` once the channel is closed (the store or its connection is gone).
    ///
    /// A subscriber that falls more than a channel's buffer behind skips the oldest messages.
    pub async fn next(&mut self) -> Option<Vec<u8>> {
        futures_util::StreamExt::next(self).await
    }
}

impl Stream for Subscription {
    type Item = Vec<u8>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Vec<u8>>> {
        let this = self.get_mut();
        loop {
            match this.messages.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(message))) => return Poll::Ready(Some(message)),
                Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(skipped)))) => {
                    tracing::warn!(skipped, "subscriber lagged behind; messages skipped");
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let store = match self.release {
            Release::Memory(_) => "memory",
            Release::Redis(_) => "redis",
        };
        f.debug_struct("Subscription")
            .field("store", &store)
            .finish_non_exhaustive()
    }
}

impl Describe for KvError {
    fn describe(&self) -> Description {
        Description::new(code::KV_UNAVAILABLE, "会话存储暂时无法访问，请稍后重试")
    }
}
