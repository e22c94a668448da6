//! One acceptance suite for every [`ThrottleStore`]: each case is a generic async fn taking a
//! factory of stores over one shared backend, run below against memory and a real Redis.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::BoxFuture;

/// Makes a store over the suite's shared backend; two calls give two instances (for Redis, two
/// connections) that must see the same counters.
pub(crate) type Factory = Arc<dyn Fn() -> BoxFuture<'static, Arc<dyn ThrottleStore>> + Send + Sync>;

const MIN: Duration = Duration::from_secs(60);

struct Fixture {
    clock: ManualClock,
    throttle: Throttle,
    make: Factory,
}

impl Fixture {
    async fn new(make: &Factory) -> Self {
        let clock = ManualClock::starting_now();
        let store = make().await;
        let throttle =
            Throttle::new(store, Arc::new(clock.clone()), ThrottleConfig::default()).unwrap();
        Fixture {
            clock,
            throttle,
            make: make.clone(),
        }
    }

    /// A second throttle over another store instance, reading the same clock.
    async fn sibling(&self) -> Throttle {
        let store = (self.make)().await;
        Throttle::new(
            store,
            Arc::new(self.clock.clone()),
            ThrottleConfig::default(),
        )
        .unwrap()
    }

    async fn fail(&self, name: &str, ip: IpAddr, times: usize) -> Option<Ban> {
        let mut ban = None;
        for _ in 0..times {
            ban = self.throttle.record_failure(name, ip).await.unwrap();
        }
        ban
    }

    async fn check(&self, name: &str, ip: IpAddr) -> Option<Ban> {
        self.throttle.check(name, ip).await.unwrap()
    }
}

fn ip(n: u32) -> IpAddr {
    IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n))
}

/// Names unique per case and run, so cases sharing one Redis never see each other's counters.
fn name(base: &str) -> String {
    format!("{base}-{:08x}", rand::random::<u32>())
}

fn pair_ban(remaining: Duration) -> Option<Ban> {
    Some(Ban::Name {
        remaining,
        scope: NameBanScope::FromThisAddress,
    })
}

pub(crate) async fn pair_ban_after_three_failures(make: Factory) {
    let f = Fixture::new(&make).await;
    let alice = name("alice");
    assert_eq!(f.fail(&alice, ip(1), 2).await, None);
    assert_eq!(f.check(&alice, ip(1)).await, None);
    assert_eq!(f.fail(&alice, ip(1), 1).await, pair_ban(5 * MIN));
    // Other addresses and other names are untouched.
    assert_eq!(f.check(&alice, ip(2)).await, None);
    assert_eq!(f.check(&name("bob"), ip(1)).await, None);
    f.clock.advance(2 * MIN);
    assert_eq!(f.check(&alice, ip(1)).await, pair_ban(3 * MIN));
    f.clock.advance(3 * MIN);
    assert_eq!(f.check(&alice, ip(1)).await, None);
}

pub(crate) async fn pair_bans_double_up_to_an_hour(make: Factory) {
    let f = Fixture::new(&make).await;
    let alice = name("alice");
    for minutes in [5, 10, 20, 40, 60, 60] {
        assert_eq!(
            f.fail(&alice, ip(1), 3).await,
            pair_ban(minutes * MIN),
            "{minutes}"
        );
        f.clock.advance(minutes * MIN);
        assert_eq!(f.check(&alice, ip(1)).await, None);
    }
    // A day later the doubling is forgotten.
    f.clock.advance(24 * 60 * MIN);
    assert_eq!(f.fail(&alice, ip(1), 3).await, pair_ban(5 * MIN));
}

pub(crate) async fn windows_slide(make: Factory) {
    let f = Fixture::new(&make).await;
    let alice = name("alice");
    f.fail(&alice, ip(1), 2).await;
    f.clock.advance(15 * MIN - Duration::from_millis(1));
    // Both earlier failures are still inside the window: the third bans.
    assert!(f.fail(&alice, ip(1), 1).await.is_some());

    let bob = name("bob");
    f.fail(&bob, ip(1), 2).await;
    f.clock.advance(15 * MIN);
    // Exactly one window later they are out.
    assert_eq!(f.fail(&bob, ip(1), 1).await, None);
    f.clock.advance(MIN);
    assert_eq!(f.fail(&bob, ip(1), 1).await, None);
    assert!(f.fail(&bob, ip(1), 1).await.is_some());
}

pub(crate) async fn name_ban_covers_every_address_and_never_doubles(make: Factory) {
    let f = Fixture::new(&make).await;
    let alice = name("alice");
    for round in 0..2 {
        for i in 0..9 {
            f.fail(&alice, ip(100 + i), 1).await;
        }
        assert_eq!(f.check(&alice, ip(999)).await, None, "round {round}");
        let ban = f.fail(&alice, ip(110), 1).await;
        let everywhere = Some(Ban::Name {
            remaining: 15 * MIN,
            scope: NameBanScope::Everywhere,
        });
        assert_eq!(ban, everywhere, "round {round}");
        assert_eq!(f.check(&alice, ip(999)).await, everywhere);
        f.clock.advance(15 * MIN);
        assert_eq!(f.check(&alice, ip(999)).await, None);
    }
}

pub(crate) async fn address_ban_after_twenty(make: Factory) {
    let f = Fixture::new(&make).await;
    let client = ip(200 + (rand::random::<u32>() % 10_000) * 16);
    for i in 0..19 {
        assert_eq!(f.fail(&name(&format!("u{i}")), client, 1).await, None);
    }
    let ban = f.fail(&name("u19"), client, 1).await;
    assert_eq!(
        ban,
        Some(Ban::Address {
            remaining: 15 * MIN
        })
    );
    // It is about the client: every name from it, none from elsewhere.
    assert_eq!(
        f.check(&name("anyone"), client).await,
        Some(Ban::Address {
            remaining: 15 * MIN
        })
    );
    assert_eq!(f.check(&name("anyone"), ip(1)).await, None);
}

pub(crate) async fn success_clears_the_pair(make: Factory) {
    let f = Fixture::new(&make).await;
    let alice = name("alice");
    f.fail(&alice, ip(1), 3).await;
    f.clock.advance(5 * MIN);
    f.fail(&alice, ip(1), 2).await;
    f.throttle.record_success(&alice, ip(1)).await.unwrap();
    assert_eq!(f.fail(&alice, ip(1), 2).await, None);
    // The doubling memory went too: the next ban is a first ban again.
    assert_eq!(f.fail(&alice, ip(1), 1).await, pair_ban(5 * MIN));
}

pub(crate) async fn pam_budget(make: Factory) {
    let f = Fixture::new(&make).await;
    let alice = name("alice");
    assert!(f.throttle.may_try_user_login(&alice).await.unwrap());
    f.throttle.record_pam_failure(&alice).await.unwrap();
    assert!(f.throttle.may_try_user_login(&alice).await.unwrap());
    f.throttle.record_pam_failure(&alice).await.unwrap();
    assert!(!f.throttle.may_try_user_login(&alice).await.unwrap());
    assert!(f.throttle.may_try_user_login(&name("bob")).await.unwrap());
    f.clock.advance(15 * MIN);
    assert!(f.throttle.may_try_user_login(&alice).await.unwrap());
}

pub(crate) async fn login_reservations_never_overshoot(make: Factory) {
    let f = Fixture::new(&make).await;
    let other = f.sibling().await;
    let alice = name("alice");
    // Ten parallel logins from two instances: exactly the budget (2) get through.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let t = if i % 2 == 0 {
            f.throttle.clone()
        } else {
            other.clone()
        };
        let alice = alice.clone();
        tasks.push(tokio::spawn(async move {
            t.reserve_user_login(&alice).await.unwrap()
        }));
    }
    let mut granted = Vec::new();
    for t in tasks {
        granted.extend(t.await.unwrap());
    }
    assert_eq!(granted.len(), 2);
    assert!(!f.throttle.may_try_user_login(&alice).await.unwrap());
    // A login that did not fail gives its unit back, on any instance.
    let back = granted.pop().unwrap();
    other.release_user_login(back).await.unwrap();
    assert!(f.throttle.may_try_user_login(&alice).await.unwrap());
    let again = f.throttle.reserve_user_login(&alice).await.unwrap();
    assert!(again.is_some());
    assert_eq!(f.throttle.reserve_user_login(&alice).await.unwrap(), None);
    f.clock.advance(15 * MIN);
    assert!(
        f.throttle
            .reserve_user_login(&alice)
            .await
            .unwrap()
            .is_some()
    );
}

pub(crate) async fn unban_name(make: Factory) {
    let f = Fixture::new(&make).await;
    let alice = name("al*ce:x");
    let alicia = name("al");
    f.fail(&alice, ip(1), 3).await;
    f.fail(&alice, ip(2), 3).await;
    f.fail(&alice, ip(3), 4).await;
    f.fail(&alicia, ip(1), 3).await;
    assert!(matches!(
        f.check(&alice, ip(4)).await,
        Some(Ban::Name {
            scope: NameBanScope::Everywhere,
            ..
        })
    ));
    f.throttle
        .unban(&UnbanTarget::Name(alice.clone()))
        .await
        .unwrap();
    for i in 1..=4 {
        assert_eq!(f.check(&alice, ip(i)).await, None, "{i}");
    }
    // A name with glob characters lifts only its own bans.
    assert!(f.check(&alicia, ip(1)).await.is_some());
}

pub(crate) async fn unban_address(make: Factory) {
    let f = Fixture::new(&make).await;
    let client: IpAddr = format!("2001:db8::{:x}", rand::random::<u16>())
        .parse()
        .unwrap();
    let (alice, bob) = (name("alice"), name("bob"));
    f.fail(&alice, client, 3).await;
    f.fail(&bob, ip(7), 3).await;
    for i in 0..17 {
        f.fail(&name(&format!("u{i}")), client, 1).await;
    }
    assert!(matches!(
        f.check(&alice, client).await,
        Some(Ban::Address { .. })
    ));
    f.throttle
        .unban(&UnbanTarget::Address(client))
        .await
        .unwrap();
    assert_eq!(f.check(&alice, client).await, None);
    // Another address's bans stay.
    assert!(f.check(&bob, ip(7)).await.is_some());
}

pub(crate) async fn instances_share_bans(make: Factory) {
    let f = Fixture::new(&make).await;
    let other = f.sibling().await;
    let alice = name("alice");
    f.fail(&alice, ip(1), 2).await;
    // The third failure lands on the other instance and still completes the count.
    assert_eq!(
        other.record_failure(&alice, ip(1)).await.unwrap(),
        pair_ban(5 * MIN)
    );
    assert_eq!(f.check(&alice, ip(1)).await, pair_ban(5 * MIN));
    other
        .unban(&UnbanTarget::Name(alice.clone()))
        .await
        .unwrap();
    assert_eq!(f.check(&alice, ip(1)).await, None);
    other.record_pam_failure(&alice).await.unwrap();
    other.record_pam_failure(&alice).await.unwrap();
    assert!(!f.throttle.may_try_user_login(&alice).await.unwrap());
}

pub(crate) async fn concurrent_failures_ban_once(make: Factory) {
    let f = Fixture::new(&make).await;
    let alice = name("alice");
    let other = f.sibling().await;
    // Six failures at once from two instances: two bans' worth, so the doubling reaches 10 min,
    // never more (a lost or double-counted update would show here).
    let mut tasks = Vec::new();
    for i in 0..6 {
        let t = if i % 2 == 0 {
            f.throttle.clone()
        } else {
            other.clone()
        };
        let alice = alice.clone();
        tasks.push(tokio::spawn(async move {
            t.record_failure(&alice, ip(1)).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(f.check(&alice, ip(1)).await, pair_ban(10 * MIN));
}

/// Runs one case per test, for each backend.
macro_rules! suite {
    ($backend:ident, $factory:expr) => {
        mod $backend {
            use super::*;
            suite!(@cases $factory;
                pair_ban_after_three_failures,
                pair_bans_double_up_to_an_hour,
                windows_slide,
                name_ban_covers_every_address_and_never_doubles,
                address_ban_after_twenty,
                success_clears_the_pair,
                pam_budget,
                login_reservations_never_overshoot,
                unban_name,
                unban_address,
                instances_share_bans,
                concurrent_failures_ban_once,
            );
        }
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                #[allow(clippy::redundant_closure_call)]
                let Some((make, _guard)) = ($factory)(concat!(stringify!($case))).await else { return };
                super::$case(make).await;
            }
        )*
    };
}

async fn memory(_test: &str) -> Option<(Factory, ())> {
    let store: Arc<dyn ThrottleStore> = Arc::new(MemoryStore::new());
    let make: Factory = Arc::new(move || {
        let store = store.clone();
        Box::pin(async move { store })
    });
    Some((make, ()))
}

suite!(memory_store, memory);

#[cfg(feature = "redis")]
async fn redis(test: &str) -> Option<(Factory, testkit::redis::RedisServer)> {
    let server =
        testkit::redis::RedisServer::start_for(&format!("auth-policy redis {test}")).unwrap()?;
    let url = server.url();
    let make: Factory = Arc::new(move || {
        let url = url.clone();
        Box::pin(async move {
            Arc::new(RedisStore::connect(&url).await.unwrap()) as Arc<dyn ThrottleStore>
        })
    });
    Some((make, server))
}

#[cfg(feature = "redis")]
suite!(redis_store, redis);

/// Nothing in Redis lives for ever: every key the store writes carries a TTL.
#[cfg(feature = "redis")]
#[tokio::test]
async fn every_redis_key_expires() {
    let Some((make, server)) = redis("every_redis_key_expires").await else {
        return;
    };
    let f = Fixture::new(&make).await;
    let alice = name("alice");
    f.fail(&alice, ip(1), 7).await;
    f.throttle.record_pam_failure(&alice).await.unwrap();
    let _held = f.throttle.reserve_user_login(&alice).await.unwrap();

    let client = ::redis::Client::open(server.url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = ::redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut con)
        .await
        .unwrap();
    assert!(keys.len() >= 6, "{keys:?}");
    for key in keys {
        assert!(key.starts_with(super::redis::DEFAULT_PREFIX), "{key}");
        let ttl: i64 = ::redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut con)
            .await
            .unwrap();
        assert!(ttl > 0, "{key} has no TTL ({ttl})");
    }
}

/// A Redis that goes away gives a retryable store error quickly, never a hang.
#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_going_away_is_a_store_error() {
    let Some((make, server)) = redis("redis_going_away_is_a_store_error").await else {
        return;
    };
    let f = Fixture::new(&make).await;
    let alice = name("alice");
    assert_eq!(f.check(&alice, ip(1)).await, None);
    drop(server);
    let started = std::time::Instant::now();
    let err = f.throttle.check(&alice, ip(1)).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let url = "redis://127.0.0.1:1/";
    assert!(RedisStore::connect(url).await.unwrap_err().is_retryable());
}
