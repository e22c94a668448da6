//! §1.2 request validation, error codes, encodings, concurrency.

use std::time::Duration;

use serde_json::{Value, json};
use truenas_sim::{RateLimit, demo as d};

use crate::common::*;

async fn invalid_request(frame: Value, message: &str) {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.send_json(frame).await;
    let r = ws.recv().await;
    assert_eq!(
        r["error"],
        json!({"code": -32600, "message": message}),
        "{r}"
    );
    assert_eq!(r["id"], json!("x"));
    assert_eq!(r["jsonrpc"], "2.0");
}

#[tokio::test]
async fn missing_jsonrpc_member() {
    invalid_request(
        json!({"id": "x", "method": "core.ping"}),
        "Missing 'jsonrpc' member",
    )
    .await;
}

#[tokio::test]
async fn wrong_jsonrpc_version() {
    invalid_request(
        json!({"jsonrpc": "1.0", "id": "x", "method": "core.ping"}),
        "'jsonrpc' member must be of type string and must be exactly '2.0'",
    )
    .await;
}

#[tokio::test]
async fn missing_method_member() {
    invalid_request(
        json!({"jsonrpc": "2.0", "id": "x"}),
        "Missing 'method' member",
    )
    .await;
}

#[tokio::test]
async fn method_not_a_string() {
    invalid_request(
        json!({"jsonrpc": "2.0", "id": "x", "method": 5}),
        "'method' member must be of type string",
    )
    .await;
}

#[tokio::test]
async fn named_params_rejected() {
    invalid_request(
        json!({"jsonrpc": "2.0", "id": "x", "method": "core.ping", "params": {"a": 1}}),
        "'params' member must be of type array",
    )
    .await;
}

#[tokio::test]
async fn bad_id_type() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.send_json(json!({"jsonrpc": "2.0", "id": 1.5, "method": "core.ping"}))
        .await;
    let r = ws.recv().await;
    assert_eq!(r["error"]["code"], -32600);
    assert_eq!(
        r["error"]["message"],
        "'id' member must be of type null, string or number"
    );
}

/// Frames the typed fast reader declines reach the generic reader, with the same answers.
#[tokio::test]
async fn unusual_but_valid_frames_get_the_generic_answers() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let cases = [
        // An escaped "2.0" is still "2.0".
        (
            r#"{"jsonrpc":"2\u002e0","id":"e","method":"core.ping"}"#,
            json!("e"),
            "result",
            json!("pong"),
        ),
        // A repeated key: the last one wins, as in Python's json.
        (
            r#"{"jsonrpc":"2.0","id":"d","method":"no.such","method":"core.ping"}"#,
            json!("d"),
            "result",
            json!("pong"),
        ),
        // A null id is answered, with a null id.
        (
            r#"{"jsonrpc":"2.0","id":null,"method":"core.ping"}"#,
            Value::Null,
            "result",
            json!("pong"),
        ),
        // Null params are not an array.
        (
            r#"{"jsonrpc":"2.0","id":"n","method":"core.ping","params":null}"#,
            json!("n"),
            "error",
            json!({"code": -32600, "message": "'params' member must be of type array"}),
        ),
    ];
    for (frame, id, key, want) in cases {
        ws.send(frame).await;
        let r = ws.recv().await;
        assert_eq!(r.get("id"), Some(&id), "{frame} -> {r}");
        assert_eq!(r[key], want, "{frame} -> {r}");
    }
}

#[tokio::test]
async fn malformed_without_id_is_dropped_silently() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.send_json(json!({"method": "core.ping"})).await;
    ws.send_json(json!({"jsonrpc": "2.0", "method": 7})).await;
    ws.silent(200).await;
    assert_eq!(ws.ok("core.ping", json!([])).await, "pong");
}

#[tokio::test]
async fn unknown_method() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let r = ws.call("no.such_method", json!([])).await;
    assert_eq!(
        r["error"],
        json!({"code": -32601, "message": "Method does not exist"})
    );
}

#[tokio::test]
async fn parse_errors_answer_with_null_id_and_continue() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.send("not json").await;
    let r = ws.recv().await;
    assert_eq!(r["id"], Value::Null);
    assert_eq!(r["error"]["code"], -32700);
    assert_eq!(
        r["error"]["message"],
        "Expecting value: line 1 column 1 (char 0)"
    );
    ws.send("[1, 2]").await;
    assert_eq!(
        ws.recv().await["error"],
        json!({"code": -32700, "message": "Batch messages are not supported at this time"})
    );
    ws.send("42").await;
    assert_eq!(
        ws.recv().await["error"],
        json!({"code": -32700, "message": "Invalid Message Format"})
    );
    assert_eq!(ws.ok("core.ping", json!([])).await, "pong");
}

#[tokio::test]
async fn notification_runs_but_is_not_answered() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.send_json(json!({"jsonrpc": "2.0", "method": "auth.login_ex",
        "params": [{"mechanism": "PASSWORD_PLAIN", "username": "grace", "password": d::GRACE_PASSWORD}]}))
        .await;
    ws.silent(300).await;
    let me = ws.ok("auth.me", json!([])).await;
    assert_eq!(me["pw_name"], "grace");
}

#[tokio::test]
async fn null_and_bool_ids_are_answered() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.send_json(json!({"jsonrpc": "2.0", "id": null, "method": "core.ping"}))
        .await;
    assert_eq!(
        ws.recv().await,
        json!({"jsonrpc": "2.0", "result": "pong", "id": null})
    );
    ws.send_json(json!({"jsonrpc": "2.0", "id": 7, "method": "core.ping"}))
        .await;
    assert_eq!(
        ws.recv().await,
        json!({"jsonrpc": "2.0", "result": "pong", "id": 7})
    );
    ws.send_json(json!({"jsonrpc": "2.0", "id": true, "method": "core.ping"}))
        .await;
    assert_eq!(ws.recv().await["id"], true);
}

#[tokio::test]
async fn not_authenticated_error_object() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let e = ws.err("user.query", json!([])).await;
    assert_eq!(e["message"], "Method call error");
    assert_error_data(
        &e,
        -32001,
        207,
        "ENOTAUTHENTICATED",
        "[ENOTAUTHENTICATED] Not authenticated",
    );
    assert_eq!(e["data"]["trace"]["class"], "CallError");
    assert_eq!(
        e["data"]["trace"]["repr"],
        "CallError('Not authenticated', 207)"
    );
    assert!(
        e["data"]["trace"]["frames"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    );
    assert_eq!(e["data"]["extra"], Value::Null);
}

#[tokio::test]
async fn subscribe_before_login_is_207() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let e = ws.err("core.subscribe", json!(["core.get_jobs"])).await;
    assert_error_data(
        &e,
        -32001,
        207,
        "ENOTAUTHENTICATED",
        "[ENOTAUTHENTICATED] Not authenticated",
    );
    ws.login(d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    let ident = ws.ok("core.subscribe", json!(["core.get_jobs"])).await;
    assert_eq!(ident.as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn set_options_returns_the_three_keys() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let r = ws
        .ok(
            "core.set_options",
            json!([{"legacy_jobs": false, "private_methods": false, "py_exceptions": false}]),
        )
        .await;
    assert_eq!(
        r,
        json!({"legacy_jobs": false, "private_methods": false, "py_exceptions": false})
    );
}

#[tokio::test]
async fn too_many_arguments_is_invalid_params() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let e = ws.err("core.ping", json!([1])).await;
    assert_eq!(e["code"], -32602);
    assert_eq!(e["message"], "Invalid params");
    assert_eq!(e["data"]["error"], 22);
    assert_eq!(
        e["data"]["extra"],
        json!([["", "Too many arguments (expected 0, found 1)", 22]])
    );
}

#[tokio::test]
async fn date_and_set_encodings() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.login(d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    let alice = ws
        .ok(
            "user.query",
            json!([[["username", "=", "alice"]], {"get": true}]),
        )
        .await;
    assert!(alice["last_password_change"]["$date"].is_i64(), "{alice}");
    let me = ws.ok("auth.me", json!([])).await;
    assert_eq!(me["privilege"]["roles"], json!({"$set": ["FULL_ADMIN"]}));
}

#[tokio::test]
async fn replies_come_out_of_order() {
    // A rate-limited call sleeps; a later ping overtakes it.
    let limit = RateLimit {
        max_calls: 0,
        window: Duration::from_secs(60),
        sleep: (Duration::from_millis(400), Duration::from_millis(400)),
    };
    let sim = start(demo().rate_limit(Some(limit))).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.send_json(
        json!({"jsonrpc": "2.0", "id": "slow", "method": "auth.login", "params": ["a", "b"]}),
    )
    .await;
    ws.send_json(
        json!({"jsonrpc": "2.0", "id": "fast", "method": "core.set_options", "params": [{}]}),
    )
    .await;
    assert_eq!(ws.recv().await["id"], "fast");
    assert_eq!(ws.recv().await["id"], "slow");
}

#[tokio::test]
async fn ddp_connect_on_jsonrpc_endpoint_is_ignored() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.send_json(json!({"msg": "connect", "version": "1", "support": ["1"]}))
        .await;
    ws.silent(300).await;
    ws.send_json(json!({"msg": "method", "id": "abc", "method": "core.ping"}))
        .await;
    assert_eq!(
        ws.recv().await,
        json!({"jsonrpc": "2.0", "error": {"code": -32600, "message": "Missing 'jsonrpc' member"}, "id": "abc"})
    );
}

#[tokio::test]
async fn versioned_paths_speak_jsonrpc() {
    let sim = start(demo()).await;
    for path in ["/api/v25.10.1", "/api/v25.04.0", "/api/v24.10"] {
        let mut ws = connect(&sim, path).await;
        assert_eq!(ws.ok("core.ping", json!([])).await, "pong");
    }
}

#[tokio::test]
async fn system_versions() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.login(d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    assert_eq!(ws.ok("system.version", json!([])).await, "TrueNAS-25.10.1");
    assert_eq!(ws.ok("system.version_short", json!([])).await, "25.10.1");
    let info = ws.ok("system.info", json!([])).await;
    assert_eq!(info["version"], "TrueNAS-25.10.1");
    assert!(info["buildtime"]["$date"].is_i64());
    let methods = ws.ok("core.get_methods", json!([])).await;
    assert!(methods.get("user.set_password").is_some());
}
