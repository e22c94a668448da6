//! Rate limit of unauthenticated calls (§2.3) and the 20-in-flight limit (§1.2).

use std::time::{Duration, Instant};

use serde_json::json;
use truenas_sim::{RateLimit, demo as d};

use crate::common::*;

fn limit(max_calls: u32, sleep_ms: u64) -> Option<RateLimit> {
    Some(RateLimit {
        max_calls,
        window: Duration::from_secs(60),
        sleep: (
            Duration::from_millis(sleep_ms),
            Duration::from_millis(sleep_ms),
        ),
    })
}

#[tokio::test]
async fn unauthenticated_calls_are_limited_per_method() {
    let sim = start(demo().rate_limit(limit(3, 50))).await;
    let mut ws = connect(&sim, "/api/current").await;
    for _ in 0..3 {
        assert_eq!(
            ws.login("alice", "wrong").await["response_type"],
            "AUTH_ERR"
        );
    }
    let t = Instant::now();
    let e = ws
        .err("auth.login_ex", json!([{"mechanism": "PASSWORD_PLAIN", "username": "grace", "password": d::GRACE_PASSWORD}]))
        .await;
    assert!(
        t.elapsed() >= Duration::from_millis(50),
        "EBUSY comes after the sleep"
    );
    assert_error_data(&e, -32001, 16, "EBUSY", "[EBUSY] Rate Limit Exceeded");
    // Another connection from the same IP shares the budget.
    let mut ws2 = connect(&sim, "/api/current").await;
    assert_eq!(
        ws2.err(
            "auth.login_ex",
            json!([{"mechanism": "PASSWORD_PLAIN", "username": "a", "password": "b"}])
        )
        .await["data"]["errname"],
        "EBUSY"
    );
    // Other methods have their own count; core.set_options is never limited.
    assert_eq!(ws2.ok("core.ping", json!([])).await, "pong");
    for _ in 0..5 {
        ws2.ok("core.set_options", json!([{}])).await;
    }
}

#[tokio::test]
async fn authenticated_connections_are_not_limited() {
    let sim = start(demo().rate_limit(limit(2, 0))).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.login(d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    for _ in 0..5 {
        assert_eq!(ws.ok("core.ping", json!([])).await, "pong");
    }
}

#[tokio::test]
async fn window_resets() {
    let short = Some(RateLimit {
        max_calls: 1,
        window: Duration::from_millis(1000),
        sleep: (Duration::ZERO, Duration::ZERO),
    });
    let sim = start(demo().rate_limit(short)).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.ok("core.ping", json!([])).await;
    ws.err("core.ping", json!([])).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    ws.ok("core.ping", json!([])).await;
}

#[tokio::test]
async fn rate_limit_off() {
    let sim = start(demo().rate_limit(None)).await;
    let mut ws = connect(&sim, "/api/current").await;
    for _ in 0..25 {
        ws.ok("core.ping", json!([])).await;
    }
}

#[tokio::test]
async fn twenty_first_call_in_flight_is_refused() {
    // Every ping sleeps 600 ms in the rate limiter: 10 run, 10 queue, the 21st is refused.
    let sim = start(demo().rate_limit(limit(0, 600))).await;
    let mut ws = connect(&sim, "/api/current").await;
    for i in 0..21 {
        ws.send_json(json!({"jsonrpc": "2.0", "id": i, "method": "core.ping"}))
            .await;
    }
    let first = ws.recv().await;
    assert_eq!(
        first,
        json!({"jsonrpc": "2.0", "error": {"code": -32000, "message": "Maximum number of concurrent calls (20) has exceeded"}, "id": 20})
    );
    let mut ids = Vec::new();
    for _ in 0..20 {
        let r = ws.recv().await;
        assert_eq!(r["error"]["data"]["errname"], "EBUSY");
        ids.push(r["id"].as_i64().unwrap());
    }
    ids.sort();
    assert_eq!(ids, (0..20).collect::<Vec<_>>());
}
