//! The in-process store: the default when no Redis is configured.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::broadcast;

use super::{CHANNEL_CAPACITY, Kv, KvError, Subscription, ttl_millis};
use crate::clock::{Clock, SystemClock};

/// Expired entries are swept after this many writes, or after as many writes as the previous
/// sweep left entries if that is more: a sweep costs one pass over the map, so each write pays
/// for a constant share of it.
const SWEEP_MIN_WRITES: usize = 256;

type Channels = Mutex<HashMap<String, broadcast::Sender<Vec<u8>>>>;

/// Short-lived state held in this process; lost on restart and not shared between instances.
/// Values expire by the store's [`Clock`], so that a moved clock moves their TTLs too.
pub struct MemoryKv {
    clock: Arc<dyn Clock>,
    entries: Mutex<Entries>,
    // Shared with the subscriptions, which remove their channel when the last one is dropped.
    channels: Arc<Channels>,
}

struct Entries {
    map: HashMap<String, Entry>,
    writes_since_sweep: usize,
    sweep_after_writes: usize,
}

struct Entry {
    value: Vec<u8>,
    /// `None` only when the TTL reaches past what a time can represent.
    expires_at: Option<DateTime<Utc>>,
}

impl Entry {
    fn new(value: Vec<u8>, ttl: Duration, now: DateTime<Utc>) -> Self {
        let expires_at = i64::try_from(ttl_millis(ttl))
            .ok()
            .and_then(TimeDelta::try_milliseconds)
            .and_then(|ttl| now.checked_add_signed(ttl));
        Self { value, expires_at }
    }

    fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|expires_at| now < expires_at)
    }
}

impl Entries {
    fn new() -> Self {
        Self {
            map: HashMap::new(),
            writes_since_sweep: 0,
            sweep_after_writes: SWEEP_MIN_WRITES,
        }
    }

    /// The live entry under `key`; an expired one is removed on the way.
    fn live(&mut self, key: &str, now: DateTime<Utc>) -> Option<&mut Entry> {
        if self.map.get(key).is_some_and(|entry| !entry.is_live(now)) {
            self.map.remove(key);
        }
        self.map.get_mut(key)
    }

    fn insert(&mut self, key: &str, entry: Entry, now: DateTime<Utc>) {
        self.map.insert(key.to_owned(), entry);
        self.writes_since_sweep += 1;
        if self.writes_since_sweep >= self.sweep_after_writes {
            self.map.retain(|_, entry| entry.is_live(now));
            self.writes_since_sweep = 0;
            self.sweep_after_writes = self.map.len().max(SWEEP_MIN_WRITES);
        }
    }
}

/// The state stays consistent even if a holder of the lock panicked: every update is a single
/// map operation.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl MemoryKv {
    /// An empty store on the system's time.
    pub fn new() -> Self {
        Self::with_clock(Arc::new(SystemClock))
    }

    /// An empty store whose values expire by `clock`.
    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            entries: Mutex::new(Entries::new()),
            channels: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// How many channels have at least one subscriber.
    #[cfg(test)]
    pub(super) fn channel_count(&self) -> usize {
        lock(&self.channels).len()
    }

    /// How many entries the map holds, expired ones not yet swept included.
    #[cfg(test)]
    fn stored_entries(&self) -> usize {
        lock(&self.entries).map.len()
    }
}

impl Default for MemoryKv {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryKv {
    // Counts only: the values are secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryKv")
            .field("entries", &lock(&self.entries).map.len())
            .field("channels", &lock(&self.channels).len())
            .finish()
    }
}

#[async_trait::async_trait]
impl Kv for MemoryKv {
    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError> {
        let now = self.clock.now();
        let mut entries = lock(&self.entries);
        if entries.live(key, now).is_some() {
            return Ok(false);
        }
        entries.insert(key, Entry::new(value.to_vec(), ttl, now), now);
        Ok(true)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let now = self.clock.now();
        Ok(lock(&self.entries)
            .live(key, now)
            .map(|entry| entry.value.clone()))
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let now = self.clock.now();
        let removed = lock(&self.entries).map.remove(key);
        Ok(removed
            .filter(|entry| entry.is_live(now))
            .map(|entry| entry.value))
    }

    async fn replace_if(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, KvError> {
        let now = self.clock.now();
        let mut entries = lock(&self.entries);
        match entries.live(key, now) {
            Some(entry) if entry.value == expected => {
                entry.value = new.to_vec();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, KvError> {
        let now = self.clock.now();
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.live(key, now) {
            // Same representation as Redis: the counter is its decimal digits.
            let next = std::str::from_utf8(&entry.value)
                .ok()
                .and_then(|digits| digits.parse::<i64>().ok())
                .and_then(|count| count.checked_add(1))
                .ok_or(KvError::NotACounter)?;
            entry.value = next.to_string().into_bytes();
            return Ok(next);
        }
        entries.insert(key, Entry::new(b"1".to_vec(), ttl, now), now);
        Ok(1)
    }

    async fn publish(&self, channel: &str, message: &[u8]) -> Result<(), KvError> {
        if let Some(sender) = lock(&self.channels).get(channel) {
            // An error means nobody is listening, which is not an error for a publisher.
            let _ = sender.send(message.to_vec());
        }
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<Subscription, KvError> {
        let receiver = lock(&self.channels)
            .entry(channel.to_owned())
            .or_insert_with(|| broadcast::channel(CHANNEL_CAPACITY).0)
            .subscribe();
        let release = super::Release::Memory(Release {
            channels: Arc::downgrade(&self.channels),
            channel: channel.to_owned(),
        });
        Ok(Subscription::new(receiver, release))
    }

    async fn fast_forward(&self, _by: Duration) -> Result<(), KvError> {
        // Expiry is read from the clock, which has moved already.
        Ok(())
    }

    async fn ping(&self) -> Result<(), KvError> {
        Ok(())
    }
}

/// Removes the channel's entry when its last subscription is dropped.
pub(super) struct Release {
    channels: Weak<Channels>,
    channel: String,
}

impl Drop for Release {
    fn drop(&mut self) {
        let Some(channels) = self.channels.upgrade() else {
            return;
        };
        let mut channels = lock(&channels);
        // The subscription's receiver is already dropped, and new subscribers join under this
        // lock, so a count of zero means nobody is left.
        if channels
            .get(&self.channel)
            .is_some_and(|sender| sender.receiver_count() == 0)
        {
            channels.remove(&self.channel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn expired_entries_are_swept_by_later_writes() {
        let clock = Arc::new(crate::clock::AdjustableClock::new());
        let kv = MemoryKv::with_clock(clock.clone());
        for i in 0..SWEEP_MIN_WRITES {
            assert!(
                kv.put_if_absent(&format!("old-{i}"), b"v", Duration::from_millis(1))
                    .await
                    .unwrap()
            );
        }
        clock.advance(TimeDelta::milliseconds(20));

        for i in 0..SWEEP_MIN_WRITES {
            kv.incr(&format!("new-{i}"), Duration::from_secs(60))
                .await
                .unwrap();
        }

        assert!(
            kv.stored_entries() <= SWEEP_MIN_WRITES,
            "expired entries were not swept: {} stored",
            kv.stored_entries()
        );
    }

    #[tokio::test]
    async fn an_overlong_ttl_does_not_panic() {
        let kv = MemoryKv::new();

        assert!(kv.put_if_absent("k", b"v", Duration::MAX).await.unwrap());
        assert_eq!(kv.incr("c", Duration::MAX).await.unwrap(), 1);

        assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    }

    #[test]
    fn debug_output_shows_no_values() {
        let kv = MemoryKv::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(kv.put_if_absent("k", b"secret-value", Duration::from_secs(5)))
            .unwrap();

        let printed = format!("{kv:?}");

        assert!(!printed.contains("secret-value"), "{printed}");
    }
}
