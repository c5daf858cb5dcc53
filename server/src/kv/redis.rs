//! The Redis store, shared by every instance of the server.
//!
//! Commands go through a [`ConnectionManager`], which reconnects on its own. Pub/sub goes through
//! one dedicated connection per [`RedisKv`], the hub: a dispatcher task reads every message from
//! it and fans it out to the local subscribers of the channel through a `broadcast` channel, so
//! ten thousand waiting login pages cost one connection, not ten thousand. Redis is subscribed to
//! a channel while it has at least one local subscriber.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink, PubSubStream};
use ::redis::{Client, Cmd, FromRedisValue, RedisError, Value, cmd};
use futures_util::StreamExt as _;
use tokio::sync::{broadcast, oneshot};

use super::{CHANNEL_CAPACITY, Kv, KvError, Subscription, ttl_millis};

/// How long opening a connection may take before Redis counts as unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a command may wait for its reply.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Connection attempts per (re)connect, with backoff from 100 ms: an unreachable Redis fails
/// start-up within about a second, and the next command after a failed reconnect tries again.
const CONNECT_RETRIES: usize = 3;

/// Increments a counter and starts its TTL only when this increment created it, in one atomic
/// step. A value that is not an integer yields nil instead of an error, so that it maps to
/// [`KvError::NotACounter`] without matching on error text. EVAL rather than `INCR` + `EXPIRE NX`
/// keeps Redis 6 supported.
const INCR_SCRIPT: &str = "\
local count = redis.pcall('INCR', KEYS[1])
if type(count) ~= 'number' then return false end
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count";

/// Compare-and-set that keeps the TTL (`KEEPTTL`, Redis 6.0+): 1 when replaced, 0 otherwise.
const REPLACE_IF_SCRIPT: &str = "\
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0";

/// Shortens the TTL of each key by `ARGV[1]` milliseconds, deleting the keys it uses up; keys
/// without a TTL, or gone meanwhile, are left alone. Returns how many keys it deleted.
const FAST_FORWARD_SCRIPT: &str = "\
local by = tonumber(ARGV[1])
local deleted = 0
for _, key in ipairs(KEYS) do
  local left = redis.call('PTTL', key)
  if left > 0 then
    if left <= by then
      redis.call('DEL', key)
      deleted = deleted + 1
    else
      redis.call('PEXPIRE', key, left - by)
    end
  end
end
return deleted";

/// Keys asked for per SCAN step, and so at most per fast-forward script.
const SCAN_BATCH: usize = 500;

/// Short-lived state in Redis, shared by every instance that uses the same key prefix.
pub struct RedisKv {
    client: Client,
    commands: ConnectionManager,
    prefix: String,
    /// The pub/sub connection; opened by the first subscribe, and again after it breaks.
    hub: tokio::sync::Mutex<Option<Arc<Hub>>>,
}

impl RedisKv {
    /// Connects to `url` and checks the connection with a PING. Every key and channel name is
    /// prefixed with `key_prefix`.
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self, KvError> {
        let client = Client::open(url).map_err(|source| KvError::InvalidUrl { source })?;
        Self::with_client(client, key_prefix).await
    }

    async fn with_client(client: Client, key_prefix: &str) -> Result<Self, KvError> {
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(CONNECT_RETRIES)
            .set_max_delay(Duration::from_secs(1))
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let commands = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(|source| redis_error("connect", source))?;
        let kv = Self {
            client,
            commands,
            prefix: key_prefix.to_owned(),
            hub: tokio::sync::Mutex::new(None),
        };
        kv.ping().await?;
        Ok(kv)
    }

    fn name(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn query<T: FromRedisValue>(
        &self,
        operation: &'static str,
        command: &Cmd,
    ) -> Result<T, KvError> {
        command
            .query_async(&mut self.commands.clone())
            .await
            .map_err(|source| redis_error(operation, source))
    }

    /// The open hub, connecting a new one when there is none or the last one broke.
    async fn hub(&self) -> Result<Arc<Hub>, KvError> {
        let mut slot = self.hub.lock().await;
        if let Some(hub) = slot.as_ref()
            && !hub.registry.is_closed()
        {
            return Ok(Arc::clone(hub));
        }
        let pubsub = tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(|_| KvError::Unavailable {
                operation: "connect pub/sub",
                source: io::Error::from(io::ErrorKind::TimedOut).into(),
            })?
            .map_err(|source| redis_error("connect pub/sub", source))?;
        let (sink, stream) = pubsub.split();
        let registry = Arc::new(Registry::default());
        let (stop, stopped) = oneshot::channel();
        tokio::spawn(dispatch(stream, Arc::clone(&registry), stopped));
        let hub = Arc::new(Hub {
            sink,
            registry,
            _stop: stop,
        });
        *slot = Some(Arc::clone(&hub));
        Ok(hub)
    }

    /// How many channels have local subscribers.
    #[cfg(test)]
    pub(super) async fn channel_count(&self) -> usize {
        match self.hub.lock().await.as_ref() {
            Some(hub) => hub.registry.lock().channels.len(),
            None => 0,
        }
    }
}

impl fmt::Debug for RedisKv {
    // The client is left out: its connection info may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisKv")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Sorts a Redis error into "cannot reach Redis" and "Redis said no".
fn redis_error(operation: &'static str, source: RedisError) -> KvError {
    if source.is_io_error() || source.is_connection_dropped() || source.is_unrecoverable_error() {
        KvError::Unavailable { operation, source }
    } else {
        KvError::Refused { operation, source }
    }
}

#[async_trait::async_trait]
impl Kv for RedisKv {
    async fn put_if_absent(&self, key: &str, value: &[u8], ttl: Duration) -> Result<bool, KvError> {
        let mut command = cmd("SET");
        command
            .arg(self.name(key))
            .arg(value)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl));
        match self.query("SET", &command).await? {
            Value::Okay => Ok(true),
            Value::SimpleString(status) if status == "OK" => Ok(true),
            Value::Nil => Ok(false),
            other => Err(KvError::Protocol {
                operation: "SET",
                detail: format!("expected OK or nil, got {}", reply_kind(&other)),
            }),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let mut command = cmd("GET");
        command.arg(self.name(key));
        self.query("GET", &command).await
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let mut command = cmd("GETDEL");
        command.arg(self.name(key));
        self.query("GETDEL", &command).await
    }

    async fn replace_if(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, KvError> {
        let mut command = cmd("EVAL");
        command
            .arg(REPLACE_IF_SCRIPT)
            .arg(1)
            .arg(self.name(key))
            .arg(expected)
            .arg(new);
        let replaced: i64 = self.query("EVAL replace_if", &command).await?;
        Ok(replaced == 1)
    }

    async fn incr(&self, key: &str, ttl: Duration) -> Result<i64, KvError> {
        let mut command = cmd("EVAL");
        command
            .arg(INCR_SCRIPT)
            .arg(1)
            .arg(self.name(key))
            .arg(ttl_millis(ttl));
        let count: Option<i64> = self.query("EVAL incr", &command).await?;
        count.ok_or(KvError::NotACounter)
    }

    async fn publish(&self, channel: &str, message: &[u8]) -> Result<(), KvError> {
        let mut command = cmd("PUBLISH");
        command.arg(self.name(channel)).arg(message);
        let _receivers: i64 = self.query("PUBLISH", &command).await?;
        Ok(())
    }

    async fn subscribe(&self, channel: &str) -> Result<Subscription, KvError> {
        let channel = self.name(channel);
        // A hub can break between being handed out and being joined; the next one is fresh.
        let mut attempts = 0;
        let (hub, receiver, state) = loop {
            let hub = self.hub().await?;
            if let Some((receiver, state)) = hub.registry.join(&channel) {
                break (hub, receiver, state);
            }
            attempts += 1;
            if attempts == 2 {
                return Err(KvError::Unavailable {
                    operation: "SUBSCRIBE",
                    source: io::Error::from(io::ErrorKind::BrokenPipe).into(),
                });
            }
        };
        // Built before the first await, so that a cancelled subscribe still releases its place.
        let subscription = Subscription::new(
            receiver,
            super::Release::Redis(Release {
                hub: Arc::clone(&hub),
                channel: channel.clone(),
            }),
        );
        let mut subscribed = Arc::clone(&state.subscribed).lock_owned().await;
        if !*subscribed {
            // In a task of its own, holding the lock, so that a subscribe cancelled mid-way still
            // records what Redis was told before the channel can be released.
            let mut sink = hub.sink.clone();
            let confirmed = tokio::spawn(async move {
                sink.subscribe(&channel).await?;
                *subscribed = true;
                Ok(())
            });
            confirmed
                .await
                .unwrap_or_else(|_| Err(io::Error::from(io::ErrorKind::Interrupted).into()))
                .map_err(|source| redis_error("SUBSCRIBE", source))?;
        }
        Ok(subscription)
    }

    async fn fast_forward(&self, by: Duration) -> Result<(), KvError> {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        if by == 0 {
            return Ok(());
        }
        // Every key under this store's prefix, a batch at a time. SCAN may return a key twice
        // (shortened twice) and miss one written meanwhile (as if written after the move): fine
        // for tests and the development clock, the only clocks that move.
        let pattern = format!("{}*", glob_escape(&self.prefix));
        let mut cursor: u64 = 0;
        loop {
            let mut scan = cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(SCAN_BATCH);
            let (next, keys): (u64, Vec<Vec<u8>>) = self.query("SCAN", &scan).await?;
            if !keys.is_empty() {
                let mut command = cmd("EVAL");
                command.arg(FAST_FORWARD_SCRIPT).arg(keys.len());
                for key in &keys {
                    command.arg(key);
                }
                command.arg(by);
                let _deleted: i64 = self.query("EVAL fast_forward", &command).await?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    async fn ping(&self) -> Result<(), KvError> {
        let reply: String = self.query("PING", &cmd("PING")).await?;
        if reply == "PONG" {
            Ok(())
        } else {
            Err(KvError::Protocol {
                operation: "PING",
                detail: "expected PONG".to_owned(),
            })
        }
    }
}

/// `text` matched literally in a SCAN pattern.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Names the shape of an unexpected reply without echoing its content.
fn reply_kind(value: &Value) -> &'static str {
    match value {
        Value::Nil => "nil",
        Value::Int(_) => "an integer",
        Value::BulkString(_) => "a bulk string",
        Value::Array(_) => "an array",
        Value::SimpleString(_) => "a status",
        Value::Okay => "OK",
        _ => "another kind of reply",
    }
}

/// One pub/sub connection and the local subscribers it serves.
struct Hub {
    /// Sends SUBSCRIBE and UNSUBSCRIBE; each call waits for Redis to confirm.
    sink: PubSubSink,
    registry: Arc<Registry>,
    /// Dropped with the hub, which stops the dispatcher and closes the connection.
    _stop: oneshot::Sender<()>,
}

/// The channels with local subscribers, shared by the hub and its dispatcher.
#[derive(Default)]
struct Registry {
    inner: Mutex<RegistryInner>,
}

#[derive(Default)]
struct RegistryInner {
    /// Set once the connection is gone; a closed registry takes no new subscribers.
    closed: bool,
    /// By full (prefixed) channel name.
    channels: HashMap<String, Arc<ChannelState>>,
}

struct ChannelState {
    sender: broadcast::Sender<Vec<u8>>,
    /// Whether Redis has confirmed the subscription. The lock is held across SUBSCRIBE and
    /// UNSUBSCRIBE, so that the two never cross on the wire for one channel.
    subscribed: Arc<tokio::sync::Mutex<bool>>,
}

impl Registry {
    /// Every update is a single map operation, so a poisoned lock still guards consistent state.
    fn lock(&self) -> MutexGuard<'_, RegistryInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// Adds a local subscriber to `channel`; `None` when the connection is gone.
    fn join(&self, channel: &str) -> Option<(broadcast::Receiver<Vec<u8>>, Arc<ChannelState>)> {
        let mut inner = self.lock();
        if inner.closed {
            return None;
        }
        let state = inner.channels.entry(channel.to_owned()).or_insert_with(|| {
            Arc::new(ChannelState {
                sender: broadcast::channel(CHANNEL_CAPACITY).0,
                subscribed: Arc::new(tokio::sync::Mutex::new(false)),
            })
        });
        Some((state.sender.subscribe(), Arc::clone(state)))
    }

    /// The channel's state if nobody subscribes to it any more.
    fn abandoned(&self, channel: &str) -> Option<Arc<ChannelState>> {
        self.lock()
            .channels
            .get(channel)
            .filter(|state| state.sender.receiver_count() == 0)
            .cloned()
    }

    fn deliver(&self, channel: &str, message: &[u8]) {
        if let Some(state) = self.lock().channels.get(channel) {
            // An error means the last subscriber just left; its release unsubscribes.
            let _ = state.sender.send(message.to_vec());
        }
    }

    /// Marks the connection gone; dropping the senders ends every subscription.
    fn close(&self) {
        let mut inner = self.lock();
        inner.closed = true;
        inner.channels.clear();
    }
}

/// Reads the hub's connection until it breaks or the hub is dropped.
async fn dispatch(
    mut messages: PubSubStream,
    registry: Arc<Registry>,
    mut stopped: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            message = messages.next() => match message {
                Some(message) => {
                    registry.deliver(message.get_channel_name(), message.get_payload_bytes());
                }
                None => {
                    tracing::warn!("Redis pub/sub connection closed; subscriptions ended");
                    break;
                }
            },
            _ = &mut stopped => break,
        }
    }
    registry.close();
}

/// Unsubscribes Redis from the channel when its last local subscription is dropped.
pub(super) struct Release {
    hub: Arc<Hub>,
    channel: String,
}

impl Drop for Release {
    fn drop(&mut self) {
        // Only a dropped runtime means no runtime here, and the hub's connection goes with it.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.hub.registry.abandoned(&self.channel).is_none() {
            return;
        }
        runtime.spawn(unsubscribe_if_abandoned(
            Arc::clone(&self.hub),
            std::mem::take(&mut self.channel),
        ));
    }
}

async fn unsubscribe_if_abandoned(hub: Arc<Hub>, channel: String) {
    let Some(state) = hub.registry.abandoned(&channel) else {
        return;
    };
    let mut subscribed = state.subscribed.lock().await;
    // Someone may have joined, or another release finished, while this one waited for the lock.
    let still_abandoned = hub
        .registry
        .abandoned(&channel)
        .is_some_and(|current| Arc::ptr_eq(&current, &state));
    if !still_abandoned {
        return;
    }
    if *subscribed {
        if let Err(error) = hub.sink.clone().unsubscribe(&channel).await {
            // The connection is broken; the dispatcher closes the registry.
            tracing::debug!(%error, "UNSUBSCRIBE failed");
        }
        *subscribed = false;
    }
    // Removed only now that UNSUBSCRIBE is confirmed, so that a new subscriber's SUBSCRIBE can
    // never overtake it. A subscriber who joined meanwhile waits on the lock and subscribes anew.
    let mut inner = hub.registry.lock();
    if inner
        .channels
        .get(&channel)
        .is_some_and(|current| Arc::ptr_eq(current, &state) && current.sender.receiver_count() == 0)
    {
        inner.channels.remove(&channel);
    }
}

#[cfg(test)]
mod tests {
    //! What only Redis does; the shared behaviour is in `contract.rs`. Each test runs when
    //! `REDIS_URL` is set, under its own key prefix.

    use std::time::Instant;

    use ::redis::IntoConnectionInfo as _;
    use ::redis::aio::MultiplexedConnection;

    use super::*;
    use crate::kv::contract::redis_fixture;

    const DELIVERY: Duration = Duration::from_secs(2);

    /// A connection of the test's own, to look at Redis past the store.
    async fn admin() -> Option<MultiplexedConnection> {
        let url = std::env::var("REDIS_URL").ok()?;
        let client = Client::open(url).unwrap();
        Some(client.get_multiplexed_async_connection().await.unwrap())
    }

    /// An ACL user of the test's own, so that the test can count and kill exactly its store's
    /// connections while other tests share the server.
    struct OwnUser {
        name: String,
        admin: MultiplexedConnection,
    }

    impl OwnUser {
        /// The user and a store logged in as it.
        async fn new() -> Option<(Self, RedisKv)> {
            let url = std::env::var("REDIS_URL").ok()?;
            let mut admin = admin().await?;
            let name = format!("mcert-test-{}", uuid::Uuid::new_v4());
            let password = uuid::Uuid::new_v4().to_string();
            let _: () = cmd("ACL")
                .arg("SETUSER")
                .arg(&name)
                .arg("on")
                .arg(format!(">{password}"))
                .arg("~*")
                .arg("&*")
                .arg("+@all")
                .query_async(&mut admin)
                .await
                .unwrap();
            let info = url.as_str().into_connection_info().unwrap();
            let settings = info
                .redis_settings()
                .clone()
                .set_username(&name)
                .set_password(&password);
            let client = Client::open(info.set_redis_settings(settings)).unwrap();
            let prefix = format!("mcert-test:{}:", uuid::Uuid::new_v4());
            let kv = RedisKv::with_client(client, &prefix).await.unwrap();
            Some((Self { name, admin }, kv))
        }

        async fn connection_count(&mut self) -> usize {
            let list: String = cmd("CLIENT")
                .arg("LIST")
                .query_async(&mut self.admin)
                .await
                .unwrap();
            let user = format!(" user={} ", self.name);
            list.lines().filter(|line| line.contains(&user)).count()
        }

        async fn kill_connections(&mut self) {
            let killed: i64 = cmd("CLIENT")
                .arg("KILL")
                .arg("USER")
                .arg(&self.name)
                .query_async(&mut self.admin)
                .await
                .unwrap();
            assert!(killed >= 1);
        }

        /// Also closes whatever connections the user still has.
        async fn delete(mut self) {
            let _: i64 = cmd("ACL")
                .arg("DELUSER")
                .arg(&self.name)
                .query_async(&mut self.admin)
                .await
                .unwrap();
        }
    }

    async fn server_subscribers(admin: &mut MultiplexedConnection, channel: &str) -> i64 {
        let (_, count): (String, i64) = cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(channel)
            .query_async(admin)
            .await
            .unwrap();
        count
    }

    #[tokio::test]
    async fn keys_and_channels_carry_the_prefix() {
        let (Some(kv), Some(mut admin)) = (redis_fixture().await, admin().await) else {
            return;
        };
        kv.put_if_absent("k", b"v", DELIVERY).await.unwrap();
        let mut subscription = kv.subscribe("c").await.unwrap();

        let stored: Option<Vec<u8>> = cmd("GET")
            .arg(format!("{}k", kv.prefix))
            .query_async(&mut admin)
            .await
            .unwrap();
        let _: i64 = cmd("PUBLISH")
            .arg(format!("{}c", kv.prefix))
            .arg("from outside")
            .query_async(&mut admin)
            .await
            .unwrap();

        assert_eq!(stored.as_deref(), Some(&b"v"[..]));
        let message = tokio::time::timeout(DELIVERY, subscription.next()).await;
        assert_eq!(message.unwrap().as_deref(), Some(&b"from outside"[..]));
    }

    #[tokio::test]
    async fn redis_unsubscribes_when_the_last_local_subscriber_goes() {
        let (Some(kv), Some(mut admin)) = (redis_fixture().await, admin().await) else {
            return;
        };
        let channel = format!("{}c", kv.prefix);
        let first = kv.subscribe("c").await.unwrap();
        let second = kv.subscribe("c").await.unwrap();
        assert_eq!(server_subscribers(&mut admin, &channel).await, 1);

        drop(first);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(server_subscribers(&mut admin, &channel).await, 1);
        drop(second);

        wait_until_unsubscribed(&mut admin, &channel).await;
    }

    #[tokio::test]
    async fn a_cancelled_subscribe_leaves_no_subscription_on_the_server() {
        let (Some(kv), Some(mut admin)) = (redis_fixture().await, admin().await) else {
            return;
        };
        let channel = format!("{}c", kv.prefix);

        for i in 0..20 {
            let cut_off = Duration::from_micros(i * 25);
            drop(tokio::time::timeout(cut_off, kv.subscribe("c")).await);
        }

        wait_until_unsubscribed(&mut admin, &channel).await;
    }

    async fn wait_until_unsubscribed(admin: &mut MultiplexedConnection, channel: &str) {
        let deadline = Instant::now() + DELIVERY;
        while server_subscribers(admin, channel).await != 0 {
            assert!(Instant::now() < deadline, "still subscribed on the server");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn thousands_of_subscribers_share_one_connection() {
        let Some((mut user, kv)) = OwnUser::new().await else {
            return;
        };
        let subscribing: Vec<_> = (0..2_000)
            .map(|i| {
                let kv = &kv;
                async move { kv.subscribe(&format!("page-{i}")).await.unwrap() }
            })
            .collect();
        let mut subscriptions = futures_util::future::join_all(subscribing).await;

        for i in (0..2_000).step_by(97) {
            kv.publish(&format!("page-{i}"), format!("{i}").as_bytes())
                .await
                .unwrap();
        }
        for i in (0..2_000).step_by(97) {
            let message = tokio::time::timeout(DELIVERY, subscriptions[i].next()).await;
            assert_eq!(message.unwrap(), Some(format!("{i}").into_bytes()));
        }

        // The command connection and the hub, however many subscribers.
        assert_eq!(user.connection_count().await, 2);
        drop(subscriptions);
        let deadline = Instant::now() + DELIVERY;
        while kv.channel_count().await != 0 {
            assert!(Instant::now() < deadline, "channels not released");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        user.delete().await;
    }

    #[tokio::test]
    async fn a_broken_connection_ends_subscriptions_and_the_next_subscribe_reconnects() {
        let Some((mut user, kv)) = OwnUser::new().await else {
            return;
        };
        let mut before = kv.subscribe("c").await.unwrap();

        user.kill_connections().await;

        let ended = tokio::time::timeout(DELIVERY, before.next()).await;
        assert_eq!(ended.unwrap(), None);
        let mut after = kv.subscribe("c").await.unwrap();
        // The command connection may need one failed command to notice; it reconnects by itself.
        let mut published = kv.publish("c", b"again").await;
        if published.is_err() {
            published = kv.publish("c", b"again").await;
        }
        published.unwrap();
        let message = tokio::time::timeout(DELIVERY, after.next()).await;
        assert_eq!(message.unwrap().as_deref(), Some(&b"again"[..]));
        kv.ping().await.unwrap();
        user.delete().await;
    }

    #[tokio::test]
    async fn dropping_the_store_closes_the_hub() {
        let Some((mut user, kv)) = OwnUser::new().await else {
            return;
        };
        drop(kv.subscribe("c").await.unwrap());
        assert_eq!(user.connection_count().await, 2);

        drop(kv);

        let deadline = Instant::now() + DELIVERY;
        while user.connection_count().await != 0 {
            assert!(Instant::now() < deadline, "connections left open");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        user.delete().await;
    }
}
