//! Both protocols, Auto and its fallback, typed calls.

use serde_json::{Value, json};
use truenas_client::{Error, Op, Options, Protocol, Query};
use truenas_sim::{Fault, SimConfig, demo};

use crate::common::*;

async fn exercise(c: &truenas_client::Client) {
    assert_eq!(c.ping().await.unwrap(), "pong");
    c.login_api_key(service_key(), Some(demo::SERVICE_USER))
        .await
        .unwrap();
    let me = c.me().await.unwrap();
    assert_eq!(me.pw_name, demo::SERVICE_USER);
    let users = c.users(&Query::new().local_only()).await.unwrap();
    assert!(users.iter().any(|u| u.username == "alice"));
    let alice = c.user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(alice.uid, demo::ALICE_UID);
    assert!(
        alice
            .unixhash
            .as_deref()
            .unwrap_or_default()
            .starts_with("$6$")
    );
    assert!(c.user_by_username("nobody-here").await.unwrap().is_none());
    let v = c.system_version().await.unwrap();
    assert!(v.starts_with("TrueNAS-"), "{v}");
}

#[tokio::test]
async fn json_rpc_end_to_end() {
    let sim = sim(SimConfig::demo()).await;
    let c = connect(&sim, opts().protocol(Protocol::JsonRpc)).await;
    assert_eq!(c.protocol(), Some(Protocol::JsonRpc));
    exercise(&c).await;
    let q = Query::new()
        .filter("username", Op::In, json!(["alice", "bob"]))
        .order_by(["-uid"])
        .select(["username", "uid"]);
    let users = c.users(&q).await.unwrap();
    let names: Vec<_> = users.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["bob", "alice"]);
}

#[tokio::test]
async fn legacy_end_to_end() {
    let sim = sim(SimConfig::demo()).await;
    let c = connect(&sim, opts().protocol(Protocol::Legacy)).await;
    assert_eq!(c.protocol(), Some(Protocol::Legacy));
    exercise(&c).await;
}

#[tokio::test]
async fn auto_prefers_json_rpc() {
    let sim = sim(SimConfig::demo()).await;
    let c = connect(&sim, opts()).await;
    assert_eq!(c.protocol(), Some(Protocol::JsonRpc));
}

#[tokio::test]
async fn auto_falls_back_to_legacy_on_404() {
    let sim = sim(SimConfig::demo().faults(vec![Fault::LegacyOnly])).await;
    let c = connect(&sim, opts()).await;
    assert_eq!(c.protocol(), Some(Protocol::Legacy));
    exercise(&c).await;
    // Forcing JSON-RPC gets the 404 with a version hint.
    let e = truenas_client::Client::connect(endpoint(&sim), opts().protocol(Protocol::JsonRpc))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::UpgradeRefused { status: 404, .. }),
        "{e:?}"
    );
    assert!(e.hint().contains("before 25.04"), "{}", e.hint());
}

#[tokio::test]
async fn typed_admin_calls() {
    let sim = sim(SimConfig::demo()).await;
    let c = connect(&sim, opts()).await;
    let outcome = c
        .login_password(demo::ADMIN_USER, secret(demo::ADMIN_PASSWORD))
        .await
        .unwrap();
    assert!(outcome.is_success());
    let info = c.system_info().await.unwrap();
    assert!(!info.version.is_empty());
    let sec = c.security_config().await.unwrap();
    let _ = sec.min_password_length;
    let otp = c.generate_onetime_password("bob").await.unwrap();
    use secrecy::ExposeSecret;
    assert!(otp.expose_secret().contains('_'));
    // generic call with a raw value
    let v: Value = c.call("core.ping", Value::Null).await.unwrap();
    assert_eq!(v, "pong");
    // unknown method
    let e = c
        .call::<Value>("nope.nothing", json!([]))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Call { code: -32601, .. }), "{e:?}");
    assert!(e.hint().contains("no method"));
}

#[tokio::test]
async fn user_update_lock_and_password() {
    let sim = sim(SimConfig::demo()).await;
    let c = service(&sim, opts()).await;
    let bob = c.user_by_username("bob").await.unwrap().unwrap();
    let before = sim.user("bob").unwrap()["unixhash"].clone();
    c.user_set_password_admin(bob.id, &secret("N3w-bob-Passw0rd!"))
        .await
        .unwrap();
    assert_ne!(sim.user("bob").unwrap()["unixhash"], before);
    c.user_set_locked(bob.id, true).await.unwrap();
    assert!(c.user_by_username("bob").await.unwrap().unwrap().locked);
    c.user_set_locked(bob.id, false).await.unwrap();
    assert!(!c.user_by_username("bob").await.unwrap().unwrap().locked);
}

#[tokio::test]
async fn set_password_as_the_user_and_validation_errors() {
    let sim = sim(SimConfig::demo()).await;
    let c = connect(&sim, opts()).await;
    assert!(
        c.login_password("grace", secret(demo::GRACE_PASSWORD))
            .await
            .unwrap()
            .is_success()
    );
    let e = c
        .set_password(
            "grace",
            Some(&secret("wrong-old")),
            &secret("N3w-grace-Pass!"),
        )
        .await
        .unwrap_err();
    let v = e.validation_errors();
    assert_eq!(v.len(), 1, "{e:?}");
    assert_eq!(v[0].attribute, "user.set_password.old_password");
    assert!(v[0].message.contains("failed to validate password"));
    assert_eq!(v[0].errno, 22);
    assert!(e.hint().contains("correct the listed fields"));
    c.set_password(
        "grace",
        Some(&secret(demo::GRACE_PASSWORD)),
        &secret("N3w-grace-Pass!"),
    )
    .await
    .unwrap();
    // Not allowed for someone else: EPERM.
    let e = c
        .set_password("alice", Some(&secret("x")), &secret("y-Y-1-long"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Call { errno: Some(1), .. }), "{e:?}");
    assert!(e.is_auth());
    // The session can't query users (no ACCOUNT_READ).
    let e = c.users(&Query::new()).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Call {
                errno: Some(13),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.hint().contains("role"));
    c.logout().await.unwrap();
    let e = c.me().await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Call {
                errno: Some(207),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.hint().contains("log in"));
}

#[tokio::test]
async fn hundred_concurrent_calls_never_exceed_twenty_in_flight() {
    let sim =
        sim(SimConfig::demo().faults(vec![Fault::Latency(std::time::Duration::from_millis(30))]))
            .await;
    let c = service(&sim, opts()).await;
    let mut tasks = Vec::new();
    for i in 0..100 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            if i % 2 == 0 {
                c.ping().await.map(|_| ())
            } else {
                c.users(&Query::new().filter("username", Op::Eq, "alice"))
                    .await
                    .map(|_| ())
            }
        }));
    }
    for t in tasks {
        // The server refuses the 21st concurrent call with -32000: none may fail.
        t.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn max_in_flight_is_configurable_and_options_default() {
    let o = Options::default();
    assert_eq!(o.max_in_flight, 20);
    assert_eq!(o.protocol, Protocol::Auto);
    assert_eq!(Options::default().max_in_flight(500).max_in_flight, 20);
}

/// Replies many times the client's 16 KiB read buffer (600 user entries: hundreds of KiB), and
/// requests larger than the simulator's, arrive whole over both protocols.
#[tokio::test]
async fn frames_larger_than_the_read_buffers_arrive_whole() {
    let sim = sim(SimConfig::demo().seed_users(600)).await;
    for protocol in [Protocol::JsonRpc, Protocol::Legacy] {
        let c = service(&sim, opts().protocol(protocol)).await;
        let users = c.users(&Query::new().local_only()).await.unwrap();
        let seeded = users
            .iter()
            .filter(|u| u.username.starts_with("user"))
            .count();
        assert_eq!(seeded, 600, "{protocol:?}");

        // About 40 KiB of request: every seeded name plus unknown ones.
        let names: Vec<String> = (1..=600)
            .map(|i| format!("user{i:04}"))
            .chain((0..2400).map(|i| format!("nobody{i:05}")))
            .collect();
        let found: Vec<Value> = c
            .call(
                "user.query",
                json!([[["username", "in", names]], {"select": ["username"]}]),
            )
            .await
            .unwrap();
        assert_eq!(found.len(), 600, "{protocol:?}");
    }
}
