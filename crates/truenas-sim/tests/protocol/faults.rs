//! Fault injection: latency, drop-after, close, and the TLS listener.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::json;
use truenas_sim::{Fault, demo as d};

use crate::common::*;

#[tokio::test]
async fn latency_delays_replies() {
    let sim = start(demo().faults(vec![Fault::Latency(Duration::from_millis(150))])).await;
    let mut ws = connect(&sim, "/api/current").await;
    let t = Instant::now();
    ws.ok("core.ping", json!([])).await;
    assert!(t.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn drop_after_runs_the_call_then_vanishes() {
    let sim = start(demo().faults(vec![Fault::DropAfter(2)])).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.login("grace", d::GRACE_PASSWORD).await;
    ws.send_json(json!({"jsonrpc": "2.0", "id": "c1", "method": "user.set_password",
        "params": [{"username": "grace", "old_password": d::GRACE_PASSWORD, "new_password": "Dropped-1"}]}))
        .await;
    let next = tokio::time::timeout(WAIT, ws.ws.next()).await.unwrap();
    assert!(
        !matches!(
            next,
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(_)))
        ),
        "no reply: {next:?}"
    );
    sim.set_faults(vec![]);
    let mut ws = connect(&sim, "/api/current").await;
    assert_eq!(
        ws.login("grace", "Dropped-1").await["response_type"],
        "SUCCESS",
        "the change took effect"
    );
}

#[tokio::test]
async fn close_fault_on_first_frame() {
    let sim = start(demo()).await;
    sim.set_faults(vec!["close=4000:going away".parse().unwrap()]);
    let mut ws = connect(&sim, "/api/current").await;
    ws.send_json(json!({"jsonrpc": "2.0", "id": 1, "method": "core.ping"}))
        .await;
    assert_eq!(ws.closed().await, (4000, "going away".to_owned()));
}

#[tokio::test]
async fn tls_listener_reports_fingerprint() {
    let sim = start(demo().tls(true)).await;
    let fp = sim.fingerprint().unwrap();
    assert!(fp.starts_with("sha256:") && fp.len() == 71, "{fp}");
    assert!(
        fp[7..]
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    assert!(sim.url("/api/current").starts_with("wss://"));
    let plain = start(demo()).await;
    assert_eq!(plain.fingerprint(), None);
}
