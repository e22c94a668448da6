//! §1.4 legacy `/websocket` protocol and §1.5 cross-protocol behaviour.

use serde_json::{Value, json};
use truenas_sim::demo as d;

use crate::common::*;

async fn connected(sim: &truenas_sim::Simulator) -> Ws {
    let mut ws = connect(sim, "/websocket").await;
    ws.send_json(json!({"msg": "connect", "version": "1", "support": ["1"], "features": []}))
        .await;
    let r = ws.recv().await;
    assert_eq!(r["msg"], "connected");
    assert_eq!(r["session"].as_str().unwrap().len(), 36);
    ws
}

async fn method(ws: &mut Ws, id: &str, name: &str, params: Value) -> Value {
    ws.send_json(json!({"msg": "method", "id": id, "method": name, "params": params}))
        .await;
    let r = ws.recv().await;
    assert_eq!(r["msg"], "result");
    assert_eq!(r["id"], id);
    r
}

#[tokio::test]
async fn connect_then_login() {
    let sim = start(demo()).await;
    let mut ws = connected(&sim).await;
    let r = method(
        &mut ws,
        "1",
        "auth.login",
        json!([d::ADMIN_USER, d::ADMIN_PASSWORD]),
    )
    .await;
    assert_eq!(r, json!({"id": "1", "msg": "result", "result": true}));
    let r = method(&mut ws, "2", "auth.login", json!(["alice", "wrong"])).await;
    assert_eq!(r["result"], false);
}

#[tokio::test]
async fn login_ex_works_on_legacy() {
    let sim = start(demo()).await;
    let mut ws = connected(&sim).await;
    let r = method(&mut ws, "1", "auth.login_ex", json!([{"mechanism": "PASSWORD_PLAIN", "username": "grace", "password": d::GRACE_PASSWORD}])).await;
    assert_eq!(r["result"]["response_type"], "SUCCESS");
}

#[tokio::test]
async fn wrong_version_fails() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/websocket").await;
    ws.send_json(json!({"msg": "connect", "version": "2", "support": ["2"]}))
        .await;
    assert_eq!(ws.recv().await, json!({"msg": "failed", "version": "1"}));
    ws.send_json(json!({"msg": "connect", "support": ["1"]}))
        .await;
    assert_eq!(ws.recv().await, json!({"msg": "failed", "version": "1"}));
}

#[tokio::test]
async fn method_before_connect_fails() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/websocket").await;
    ws.send_json(json!({"msg": "method", "id": "1", "method": "core.ping"}))
        .await;
    assert_eq!(ws.recv().await, json!({"msg": "failed", "version": "1"}));
}

#[tokio::test]
async fn error_dict_has_type() {
    let sim = start(demo()).await;
    let mut ws = connected(&sim).await;
    let r = method(&mut ws, "1", "user.query", json!([])).await;
    let e = &r["error"];
    assert_eq!(e["error"], 207);
    assert_eq!(e["errname"], "ENOTAUTHENTICATED");
    assert_eq!(e["type"], Value::Null);
    assert_eq!(e["reason"], "[ENOTAUTHENTICATED] Not authenticated");
    assert!(e["trace"]["frames"].is_array());
    assert!(e.get("extra").is_some());
}

#[tokio::test]
async fn validation_errors_are_eagain() {
    let sim = start(demo()).await;
    let mut ws = connected(&sim).await;
    method(
        &mut ws,
        "1",
        "auth.login",
        json!(["grace", d::GRACE_PASSWORD]),
    )
    .await;
    let r = method(
        &mut ws,
        "c1",
        "user.set_password",
        json!([{"username": "grace", "old_password": "nope", "new_password": "N3w-secret!"}]),
    )
    .await;
    let e = &r["error"];
    assert_eq!(e["error"], 11);
    assert_eq!(e["errname"], "EAGAIN");
    assert_eq!(e["type"], "VALIDATION");
    assert_eq!(
        e["reason"],
        "[EINVAL] user.set_password.old_password: grace: failed to validate password.\n"
    );
    assert_eq!(
        e["extra"],
        json!([[
            "user.set_password.old_password",
            "grace: failed to validate password.",
            22
        ]])
    );
}

#[tokio::test]
async fn method_key_absent() {
    let sim = start(demo()).await;
    let mut ws = connected(&sim).await;
    ws.send_json(json!({"msg": "method", "id": "1"})).await;
    let r = ws.recv().await;
    assert_eq!(r["error"]["error"], 22);
    assert_eq!(
        r["error"]["reason"],
        "Message is malformed: 'method' is absent."
    );
}

#[tokio::test]
async fn unknown_methods() {
    let sim = start(demo()).await;
    let mut ws = connected(&sim).await;
    let r = method(&mut ws, "1", "user.frobnicate", json!([])).await;
    assert_eq!(r["error"]["error"], 201);
    assert_eq!(r["error"]["errname"], "ENOMETHOD");
    assert_eq!(
        r["error"]["reason"],
        "[ENOMETHOD] Method 'frobnicate' not found in 'user'"
    );
    let r = method(&mut ws, "2", "nosvc.thing", json!([])).await;
    assert_eq!(
        r["error"]["reason"],
        "[ENOMETHOD] Service 'nosvc' not found"
    );
    let r = method(&mut ws, "3", "nodot", json!([])).await;
    assert_eq!(r["error"]["errname"], "EBADMSG");
    assert_eq!(r["error"]["reason"], "[EBADMSG] Invalid method name");
}

#[tokio::test]
async fn ping_gets_no_pong() {
    let sim = start(demo()).await;
    let mut ws = connected(&sim).await;
    ws.send_json(json!({"msg": "ping", "id": "x"})).await;
    ws.silent(300).await;
}

#[tokio::test]
async fn sub_needs_login() {
    let sim = start(demo()).await;
    let mut ws = connected(&sim).await;
    ws.send_json(json!({"msg": "sub", "id": "s1", "name": "core.get_jobs"}))
        .await;
    let r = ws.recv().await;
    assert_eq!(r["msg"], "result");
    assert_eq!(r["error"]["error"], 13);
    assert_eq!(r["error"]["reason"], "Not authorized");
    method(
        &mut ws,
        "1",
        "auth.login",
        json!([d::ADMIN_USER, d::ADMIN_PASSWORD]),
    )
    .await;
    ws.send_json(json!({"msg": "sub", "id": "s2", "name": "core.get_jobs"}))
        .await;
    assert_eq!(ws.recv().await, json!({"msg": "ready", "subs": ["s2"]}));
    ws.send_json(json!({"msg": "unsub", "id": "s2"})).await;
    ws.silent(200).await;
}

#[tokio::test]
async fn jsonrpc_frame_on_legacy_closes_1011_msg() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/websocket").await;
    ws.send_json(json!({"jsonrpc": "2.0", "id": 1, "method": "auth.login", "params": ["a", "b"]}))
        .await;
    assert_eq!(ws.closed().await, (1011, "'msg'".to_owned()));
}

#[tokio::test]
async fn invalid_json_on_legacy_closes_1007() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/websocket").await;
    ws.send("{nope").await;
    let (code, _) = ws.closed().await;
    assert_eq!(code, 1007);
}
