//! A scripted JSON-RPC server for paths the simulator does not take (older servers, HA standby).

use serde_json::{Value, json};
use truenas_client::{Client, Endpoint, LoginOutcome, Protocol};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::common::*;

type Script = fn(&str, &Value) -> Value;

/// Serves one connection; `script` maps (method, params) to the reply's `result`/`error` members.
/// Returns the endpoint and a receiver of the methods called, in order.
async fn serve(script: Script) -> (Endpoint, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        let mut ws = tokio_tungstenite::accept_async(s).await.unwrap();
        while let Some(Ok(m)) = ws.next().await {
            let Ok(text) = m.to_text() else { continue };
            let Ok(req) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let method = req["method"].as_str().unwrap_or_default().to_string();
            let _ = tx.send(method.clone());
            let mut reply = script(&method, &req["params"]);
            reply["jsonrpc"] = "2.0".into();
            reply["id"] = req["id"].clone();
            if ws
                .send(Message::Text(reply.to_string().into()))
                .await
                .is_err()
            {
                break;
            }
        }
    });
    (Endpoint::ws("127.0.0.1").with_port(port), rx)
}

fn no_method() -> Value {
    json!({"error": {"code": -32601, "message": "Method does not exist"}})
}

#[tokio::test]
async fn api_key_falls_back_when_login_ex_is_missing() {
    let (ep, mut calls) = serve(|m, p| match m {
        "auth.login_ex" => no_method(),
        "auth.login_with_api_key" => json!({"result": p[0] == "1-key"}),
        _ => json!({"result": "pong"}),
    })
    .await;
    let c = Client::connect(ep, opts().protocol(Protocol::JsonRpc))
        .await
        .unwrap();
    c.login_api_key(secret("1-key"), Some("svc")).await.unwrap();
    assert_eq!(calls.recv().await.unwrap(), "auth.login_ex");
    assert_eq!(calls.recv().await.unwrap(), "auth.login_with_api_key");
}

#[tokio::test]
async fn password_falls_back_to_auth_login() {
    let (ep, _calls) = serve(|m, p| match m {
        "auth.login_ex" => no_method(),
        "auth.login" => json!({"result": p[1] == "pw"}),
        _ => json!({"result": null}),
    })
    .await;
    let c = Client::connect(ep, opts().protocol(Protocol::JsonRpc))
        .await
        .unwrap();
    assert!(matches!(
        c.login_password("u", secret("bad")).await.unwrap(),
        LoginOutcome::AuthErr
    ));
    assert!(
        c.login_password("u", secret("pw"))
            .await
            .unwrap()
            .is_success()
    );
}

#[tokio::test]
async fn redirect_outcome() {
    let (ep, _calls) = serve(
        |_, _| json!({"result": {"response_type": "REDIRECT", "urls": ["10.0.0.2", "10.0.0.3"]}}),
    )
    .await;
    let c = Client::connect(ep, opts().protocol(Protocol::JsonRpc))
        .await
        .unwrap();
    match c.login_password("u", secret("pw")).await.unwrap() {
        LoginOutcome::Redirect { urls } => assert_eq!(urls, ["10.0.0.2", "10.0.0.3"]),
        other => panic!("{other:?}"),
    }
    let e = c.login_api_key(secret("1-k"), Some("u")).await.unwrap_err();
    assert!(e.hint().contains("standby"), "{}", e.hint());
}

#[tokio::test]
async fn too_many_concurrent_calls_is_retryable_if_it_ever_happens() {
    let (ep, _calls) = serve(|_, _| {
        json!({"error": {"code": -32000, "message": "Maximum number of concurrent calls (20) has exceeded"}})
    })
    .await;
    let c = Client::connect(ep, opts().protocol(Protocol::JsonRpc))
        .await
        .unwrap();
    let e = c.ping().await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
}
