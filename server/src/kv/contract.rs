//! The contract every [`Kv`] keeps, written once and run against each store.
//!
//! The memory store always runs it. The Redis store runs it when `REDIS_URL` is set, each test
//! under a fresh key prefix so tests can run in parallel against one Redis; a set but unusable
//! `REDIS_URL` fails the tests rather than skipping them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::time::{Instant, sleep, timeout};

use super::{Kv, KvError, MemoryKv, RedisKv, Subscription, connect};
use crate::clock::{AdjustableClock, SystemClock};

/// A TTL no test outlives.
const LONG: Duration = Duration::from_secs(30);

/// How long a message that should arrive may take.
const DELIVERY: Duration = Duration::from_secs(2);

/// How long to wait before concluding that a message that should not arrive has not.
const QUIET: Duration = Duration::from_millis(200);

/// What the suite needs to see inside a store besides [`Kv`].
trait Probe: Kv + 'static {
    /// How many channels have local subscribers.
    fn channel_count(&self) -> impl Future<Output = usize>;
}

impl Probe for MemoryKv {
    async fn channel_count(&self) -> usize {
        MemoryKv::channel_count(self)
    }
}

impl Probe for RedisKv {
    async fn channel_count(&self) -> usize {
        RedisKv::channel_count(self).await
    }
}

/// A Redis store under a fresh key prefix, or `None` when `REDIS_URL` is unset.
pub(super) async fn redis_fixture() -> Option<RedisKv> {
    let url = std::env::var("REDIS_URL").ok()?;
    let prefix = format!("mcert-test:{}:", uuid::Uuid::new_v4());
    match RedisKv::connect(&url, &prefix).await {
        Ok(kv) => Some(kv),
        Err(error) => panic!("REDIS_URL is set but Redis is unusable: {error:?}"),
    }
}

/// Moves time on for a store: the test's clock, which the memory store reads, and the TTLs of a
/// store that keeps its own time (Redis).
async fn pass<K: Probe>(kv: &K, clock: &AdjustableClock, by: Duration) {
    clock.advance(chrono::TimeDelta::from_std(by).unwrap());
    kv.fast_forward(by).await.unwrap();
}

/// Generates one `#[tokio::test]` per contract test, each on a fresh store that `$fixture` makes
/// from a fresh clock; the tests of the second list move that clock.
macro_rules! contract_tests {
    ($fixture:expr) => {
        contract_tests!(
            $fixture;
            put_if_absent_stores_once,
            put_if_absent_stores_once_under_concurrency,
            get_reads_without_consuming_and_take_consumes,
            values_are_binary_safe,
            take_is_single_use_under_concurrency,
            replace_if_succeeds_once_under_concurrency,
            incr_counts_from_one_and_reads_back_as_digits,
            incr_is_atomic_under_concurrency,
            incr_refuses_a_value_that_is_not_a_counter,
            publish_reaches_every_subscriber_of_the_channel_and_no_other,
            publish_right_after_subscribe_is_received,
            publish_without_subscribers_succeeds,
            messages_arrive_in_order_as_a_stream,
            dropping_the_last_subscription_releases_the_channel,
            subscription_churn_leaves_the_channel_working,
            a_cancelled_subscribe_leaves_nothing_behind,
            ping_succeeds;
            values_expire_after_their_ttl,
            replace_if_swaps_only_the_expected_value_and_keeps_the_ttl,
            incr_does_not_extend_the_ttl,
            time_passing_ends_only_the_values_it_outlives,
        );
    };
    ($fixture:expr; $($test:ident),+; $($timed:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $test() {
                let clock = Arc::new(AdjustableClock::new());
                let Some(kv) = ($fixture)(clock).await else {
                    return;
                };
                super::$test(Arc::new(kv)).await;
            }
        )+
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $timed() {
                let clock = Arc::new(AdjustableClock::new());
                let Some(kv) = ($fixture)(clock.clone()).await else {
                    return;
                };
                super::$timed(Arc::new(kv), clock).await;
            }
        )+
    };
}

mod memory_store {
    use super::*;

    contract_tests!(|clock: Arc<AdjustableClock>| async move { Some(MemoryKv::with_clock(clock)) });
}

mod redis_store {
    use super::*;

    contract_tests!(|_clock: Arc<AdjustableClock>| redis_fixture());
}

async fn put_if_absent_stores_once<K: Probe>(kv: Arc<K>) {
    let first = kv.put_if_absent("k", b"first", LONG).await.unwrap();
    let second = kv.put_if_absent("k", b"second", LONG).await.unwrap();
    let other = kv.put_if_absent("other", b"third", LONG).await.unwrap();

    assert!(first);
    assert!(!second);
    assert!(other);
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"first"[..]));
    assert_eq!(
        kv.get("other").await.unwrap().as_deref(),
        Some(&b"third"[..])
    );
}

async fn put_if_absent_stores_once_under_concurrency<K: Probe>(kv: Arc<K>) {
    let tasks: Vec<_> = (0..20u8)
        .map(|i| {
            let kv = Arc::clone(&kv);
            tokio::spawn(async move { kv.put_if_absent("k", &[i], LONG).await.unwrap() })
        })
        .collect();

    let mut stored = 0;
    for task in tasks {
        stored += usize::from(task.await.unwrap());
    }

    assert_eq!(stored, 1);
}

async fn values_expire_after_their_ttl<K: Probe>(kv: Arc<K>, clock: Arc<AdjustableClock>) {
    kv.put_if_absent("k", b"v", Duration::from_millis(300))
        .await
        .unwrap();
    assert!(kv.get("k").await.unwrap().is_some());

    pass(&*kv, &clock, Duration::from_millis(500)).await;

    assert_eq!(kv.get("k").await.unwrap(), None);
    assert_eq!(kv.take("k").await.unwrap(), None);
    assert!(kv.put_if_absent("k", b"new", LONG).await.unwrap());
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"new"[..]));
}

async fn get_reads_without_consuming_and_take_consumes<K: Probe>(kv: Arc<K>) {
    kv.put_if_absent("k", b"v", LONG).await.unwrap();

    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(kv.take("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(kv.take("k").await.unwrap(), None);
    assert_eq!(kv.get("k").await.unwrap(), None);
    assert_eq!(kv.get("missing").await.unwrap(), None);
    assert_eq!(kv.take("missing").await.unwrap(), None);
}

async fn values_are_binary_safe<K: Probe>(kv: Arc<K>) {
    let every_byte: Vec<u8> = (0..=255).collect();

    kv.put_if_absent("bytes", &every_byte, LONG).await.unwrap();
    kv.put_if_absent("empty", b"", LONG).await.unwrap();

    assert_eq!(kv.get("bytes").await.unwrap(), Some(every_byte.clone()));
    assert_eq!(kv.take("empty").await.unwrap(), Some(Vec::new()));
    let mut subscription = kv.subscribe("c").await.unwrap();
    kv.publish("c", &every_byte).await.unwrap();
    assert_eq!(receive(&mut subscription).await, every_byte);
}

async fn take_is_single_use_under_concurrency<K: Probe>(kv: Arc<K>) {
    kv.put_if_absent("k", b"v", LONG).await.unwrap();

    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let kv = Arc::clone(&kv);
            tokio::spawn(async move { kv.take("k").await.unwrap() })
        })
        .collect();
    let mut taken = Vec::new();
    for task in tasks {
        taken.extend(task.await.unwrap());
    }

    assert_eq!(taken, vec![b"v".to_vec()]);
}

async fn replace_if_swaps_only_the_expected_value_and_keeps_the_ttl<K: Probe>(
    kv: Arc<K>,
    clock: Arc<AdjustableClock>,
) {
    assert!(!kv.replace_if("missing", b"a", b"b").await.unwrap());
    assert_eq!(kv.get("missing").await.unwrap(), None);
    kv.put_if_absent("k", b"a", Duration::from_millis(300))
        .await
        .unwrap();

    assert!(!kv.replace_if("k", b"other", b"b").await.unwrap());
    assert_eq!(kv.get("k").await.unwrap(), Some(b"a".to_vec()));
    assert!(kv.replace_if("k", b"a", b"b").await.unwrap());
    assert_eq!(kv.get("k").await.unwrap(), Some(b"b".to_vec()));
    assert!(!kv.replace_if("k", b"a", b"c").await.unwrap());

    pass(&*kv, &clock, Duration::from_millis(500)).await;
    assert_eq!(kv.get("k").await.unwrap(), None, "the TTL was kept");
    assert!(!kv.replace_if("k", b"b", b"c").await.unwrap());
}

async fn replace_if_succeeds_once_under_concurrency<K: Probe>(kv: Arc<K>) {
    kv.put_if_absent("k", b"pending", LONG).await.unwrap();

    let tasks: Vec<_> = (0..20u8)
        .map(|i| {
            let kv = Arc::clone(&kv);
            tokio::spawn(async move { kv.replace_if("k", b"pending", &[i]).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        won += usize::from(task.await.unwrap());
    }

    assert_eq!(won, 1);
}

async fn incr_counts_from_one_and_reads_back_as_digits<K: Probe>(kv: Arc<K>) {
    assert_eq!(kv.incr("c", LONG).await.unwrap(), 1);
    assert_eq!(kv.incr("c", LONG).await.unwrap(), 2);
    assert_eq!(kv.incr("c", LONG).await.unwrap(), 3);
    assert_eq!(kv.incr("other", LONG).await.unwrap(), 1);

    assert_eq!(kv.get("c").await.unwrap().as_deref(), Some(&b"3"[..]));
}

async fn incr_does_not_extend_the_ttl<K: Probe>(kv: Arc<K>, clock: Arc<AdjustableClock>) {
    let ttl = Duration::from_millis(600);
    assert_eq!(kv.incr("c", ttl).await.unwrap(), 1);
    pass(&*kv, &clock, Duration::from_millis(300)).await;
    assert_eq!(kv.incr("c", ttl).await.unwrap(), 2);

    // 750 ms after creation: gone, where a TTL extended by the second increment would last 900.
    pass(&*kv, &clock, Duration::from_millis(450)).await;

    assert_eq!(kv.get("c").await.unwrap(), None);
    assert_eq!(kv.incr("c", ttl).await.unwrap(), 1);
}

async fn time_passing_ends_only_the_values_it_outlives<K: Probe>(
    kv: Arc<K>,
    clock: Arc<AdjustableClock>,
) {
    kv.put_if_absent("short", b"s", Duration::from_secs(60))
        .await
        .unwrap();
    kv.put_if_absent("long", b"l", Duration::from_secs(3600))
        .await
        .unwrap();
    kv.incr("counter", Duration::from_secs(60)).await.unwrap();

    pass(&*kv, &clock, Duration::from_secs(61)).await;

    assert_eq!(kv.get("short").await.unwrap(), None);
    assert_eq!(kv.get("counter").await.unwrap(), None);
    assert_eq!(kv.get("long").await.unwrap().as_deref(), Some(&b"l"[..]));
    pass(&*kv, &clock, Duration::from_secs(3540)).await;
    assert_eq!(kv.get("long").await.unwrap(), None);
}

async fn incr_is_atomic_under_concurrency<K: Probe>(kv: Arc<K>) {
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let kv = Arc::clone(&kv);
            tokio::spawn(async move { kv.incr("c", LONG).await.unwrap() })
        })
        .collect();
    let mut counts = Vec::new();
    for task in tasks {
        counts.push(task.await.unwrap());
    }

    counts.sort_unstable();
    assert_eq!(counts, (1..=50).collect::<Vec<i64>>());
}

async fn incr_refuses_a_value_that_is_not_a_counter<K: Probe>(kv: Arc<K>) {
    kv.put_if_absent("k", b"not a number", LONG).await.unwrap();

    let result = kv.incr("k", LONG).await;

    assert!(matches!(result, Err(KvError::NotACounter)), "{result:?}");
    assert_eq!(
        kv.get("k").await.unwrap().as_deref(),
        Some(&b"not a number"[..])
    );
}

async fn publish_reaches_every_subscriber_of_the_channel_and_no_other<K: Probe>(kv: Arc<K>) {
    let mut first = kv.subscribe("a").await.unwrap();
    let mut second = kv.subscribe("a").await.unwrap();
    let mut elsewhere = kv.subscribe("b").await.unwrap();

    kv.publish("a", b"to a").await.unwrap();

    assert_eq!(receive(&mut first).await, b"to a");
    assert_eq!(receive(&mut second).await, b"to a");
    assert_silent(&mut elsewhere).await;

    kv.publish("b", b"to b").await.unwrap();

    assert_eq!(receive(&mut elsewhere).await, b"to b");
    assert_silent(&mut first).await;
}

async fn publish_right_after_subscribe_is_received<K: Probe>(kv: Arc<K>) {
    for i in 0..20 {
        let channel = format!("fresh-{i}");
        let mut subscription = kv.subscribe(&channel).await.unwrap();

        kv.publish(&channel, b"now").await.unwrap();

        assert_eq!(receive(&mut subscription).await, b"now");
    }
}

async fn publish_without_subscribers_succeeds<K: Probe>(kv: Arc<K>) {
    kv.publish("nobody", b"hello").await.unwrap();

    assert_eq!(kv.channel_count().await, 0);
}

async fn messages_arrive_in_order_as_a_stream<K: Probe>(kv: Arc<K>) {
    let subscription = kv.subscribe("c").await.unwrap();

    for i in 0..10u8 {
        kv.publish("c", &[i]).await.unwrap();
    }
    let received: Vec<Vec<u8>> = timeout(DELIVERY, subscription.take(10).collect())
        .await
        .unwrap();

    assert_eq!(received, (0..10u8).map(|i| vec![i]).collect::<Vec<_>>());
}

async fn dropping_the_last_subscription_releases_the_channel<K: Probe>(kv: Arc<K>) {
    let first = kv.subscribe("a").await.unwrap();
    let second = kv.subscribe("a").await.unwrap();
    let elsewhere = kv.subscribe("b").await.unwrap();
    assert_eq!(kv.channel_count().await, 2);

    drop(first);
    sleep(Duration::from_millis(50)).await;
    assert_eq!(kv.channel_count().await, 2);
    drop(second);
    drop(elsewhere);

    wait_for_channel_count(&*kv, 0).await;
    let mut again = kv.subscribe("a").await.unwrap();
    kv.publish("a", b"back").await.unwrap();
    assert_eq!(receive(&mut again).await, b"back");
}

async fn subscription_churn_leaves_the_channel_working<K: Probe>(kv: Arc<K>) {
    let churners: Vec<_> = (0..8)
        .map(|_| {
            let kv = Arc::clone(&kv);
            tokio::spawn(async move {
                for _ in 0..25 {
                    drop(kv.subscribe("c").await.unwrap());
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();

    for round in 0..25u8 {
        drop(kv.subscribe("c").await.unwrap());
        let mut subscription = kv.subscribe("c").await.unwrap();
        kv.publish("c", &[round]).await.unwrap();
        // Other rounds' messages may arrive too; this round's must.
        let deadline = Instant::now() + DELIVERY;
        loop {
            let message = timeout(deadline - Instant::now(), subscription.next())
                .await
                .unwrap_or_else(|_| panic!("round {round}: message lost"))
                .unwrap_or_else(|| panic!("round {round}: subscription closed"));
            if message == [round] {
                break;
            }
        }
    }
    for churner in churners {
        churner.await.unwrap();
    }

    wait_for_channel_count(&*kv, 0).await;
}

async fn a_cancelled_subscribe_leaves_nothing_behind<K: Probe>(kv: Arc<K>) {
    for i in 0..20 {
        // Cut off at different points: before, during and after SUBSCRIBE.
        let cut_off = Duration::from_micros(i * 25);
        drop(timeout(cut_off, kv.subscribe("c")).await);
    }

    wait_for_channel_count(&*kv, 0).await;
    let mut subscription = kv.subscribe("c").await.unwrap();
    kv.publish("c", b"still works").await.unwrap();
    assert_eq!(receive(&mut subscription).await, b"still works");
}

async fn ping_succeeds<K: Probe>(kv: Arc<K>) {
    kv.ping().await.unwrap();
}

async fn receive(subscription: &mut Subscription) -> Vec<u8> {
    timeout(DELIVERY, subscription.next())
        .await
        .expect("no message within the delivery time")
        .expect("the subscription closed")
}

async fn assert_silent(subscription: &mut Subscription) {
    if let Ok(message) = timeout(QUIET, subscription.next()).await {
        panic!("unexpected message: {message:?}");
    }
}

/// Redis releases a channel after UNSUBSCRIBE is confirmed, a moment after the drop.
async fn wait_for_channel_count<K: Probe>(kv: &K, expected: usize) {
    let deadline = Instant::now() + DELIVERY;
    loop {
        let count = kv.channel_count().await;
        if count == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{count} channels held, expected {expected}"
        );
        sleep(Duration::from_millis(10)).await;
    }
}

#[test]
fn subscriptions_and_stores_can_move_between_tasks() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Subscription>();
    assert_send_sync::<Arc<dyn Kv>>();
    assert_send_sync::<KvError>();
}

#[tokio::test]
async fn connect_without_url_opens_the_memory_store() {
    let kv = connect(None, "ignored:", Arc::new(SystemClock))
        .await
        .unwrap();

    kv.put_if_absent("k", b"v", LONG).await.unwrap();

    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert!(format!("{kv:?}").starts_with("MemoryKv"));
}

#[tokio::test]
async fn connect_with_url_opens_redis() {
    let Ok(url) = std::env::var("REDIS_URL") else {
        return;
    };
    let prefix = format!("mcert-test:{}:", uuid::Uuid::new_v4());

    let kv = connect(Some(&url), &prefix, Arc::new(SystemClock))
        .await
        .unwrap();

    assert!(format!("{kv:?}").starts_with("RedisKv"));
    kv.ping().await.unwrap();
}

#[tokio::test]
async fn connect_to_unreachable_redis_fails() {
    let result = connect(Some("redis://127.0.0.1:1/"), "p:", Arc::new(SystemClock)).await;

    assert!(
        matches!(result, Err(KvError::Unavailable { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn connect_with_malformed_url_fails() {
    let result = connect(Some("not a url"), "p:", Arc::new(SystemClock)).await;

    assert!(
        matches!(result, Err(KvError::InvalidUrl { .. })),
        "{result:?}"
    );
}
