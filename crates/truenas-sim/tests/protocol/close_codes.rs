//! §1.6 close codes.

use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use truenas_sim::{Fault, demo as d};

use crate::common::*;

#[tokio::test]
async fn binary_frame_closes_1003_on_both_endpoints() {
    let sim = start(demo()).await;
    for path in ["/api/current", "/websocket"] {
        let mut ws = connect(&sim, path).await;
        ws.ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
        assert_eq!(
            ws.closed().await,
            (
                1003,
                "Invalid websocket message type: <WSMsgType.BINARY: 2>".to_owned()
            )
        );
    }
}

#[tokio::test]
async fn anonymous_frame_over_8k_closes_1007() {
    let sim = start(demo()).await;
    for path in ["/api/current", "/websocket"] {
        let mut ws = connect(&sim, path).await;
        let big =
            json!({"jsonrpc": "2.0", "id": 1, "method": "core.ping", "pad": "x".repeat(8200)});
        ws.send_json(big).await;
        assert_eq!(
            ws.closed().await,
            (
                1007,
                "Anonymous connection max message length is 8 kB".to_owned()
            )
        );
    }
}

#[tokio::test]
async fn exactly_8k_is_accepted() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let head = json!({"jsonrpc": "2.0", "id": 1, "method": "core.ping", "pad": ""}).to_string();
    let pad = "x".repeat(8192 - head.len());
    ws.send_json(json!({"jsonrpc": "2.0", "id": 1, "method": "core.ping", "pad": pad}))
        .await;
    assert_eq!(ws.recv().await["result"], "pong");
}

#[tokio::test]
async fn authenticated_frame_over_64k_closes_1009() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.login(d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    // 10 kB is fine once authenticated.
    ws.send_json(
        json!({"jsonrpc": "2.0", "id": 1, "method": "core.ping", "pad": "x".repeat(10_000)}),
    )
    .await;
    assert_eq!(ws.recv().await["result"], "pong");
    ws.send_json(
        json!({"jsonrpc": "2.0", "id": 2, "method": "core.ping", "pad": "x".repeat(70_000)}),
    )
    .await;
    assert_eq!(
        ws.closed().await,
        (1009, "Max message length is 64 kB".to_owned())
    );
}

#[tokio::test]
async fn allow_list_closes_1008_after_upgrade() {
    let sim = start(demo().faults(vec![Fault::AllowList])).await;
    for path in ["/api/current", "/websocket"] {
        let mut ws = connect(&sim, path).await;
        assert_eq!(
            ws.closed().await,
            (
                1008,
                "You are not allowed to access this resource".to_owned()
            )
        );
    }
}
