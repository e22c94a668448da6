//! Raw-frame helpers: connect, send text, read the next reply, read a close.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use truenas_sim::{RateLimit, SimConfig, Simulator};

pub const WAIT: Duration = Duration::from_secs(10);

/// Demo config with a fast rate limiter (the real 1–10 s sleep would slow tests).
pub fn demo() -> SimConfig {
    SimConfig::demo().rate_limit(Some(RateLimit {
        sleep: (Duration::ZERO, Duration::ZERO),
        ..RateLimit::default()
    }))
}

pub async fn start(config: SimConfig) -> Simulator {
    Simulator::start(config).await.unwrap()
}

pub struct Ws {
    pub ws: WebSocketStream<TcpStream>,
    pub next_id: u64,
}

pub async fn connect(sim: &Simulator, path: &str) -> Ws {
    let tcp = TcpStream::connect(sim.local_addr()).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(sim.url(path), tcp)
        .await
        .unwrap();
    Ws { ws, next_id: 0 }
}

/// Sends a raw HTTP request and returns the response (up to EOF, or the head of a 101).
pub async fn http(sim: &Simulator, request: &str) -> String {
    let mut tcp = TcpStream::connect(sim.local_addr()).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(WAIT, tcp.read(&mut chunk))
            .await
            .unwrap()
            .unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
        if out.starts_with(b"HTTP/1.1 101") && out.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A WebSocket upgrade request for `path`.
pub fn upgrade_request(path: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nconnection: keep-alive, Upgrade\r\nupgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
}

impl Ws {
    pub async fn send(&mut self, text: &str) {
        self.ws.send(Message::text(text.to_owned())).await.unwrap();
    }

    pub async fn send_json(&mut self, v: Value) {
        self.send(&v.to_string()).await;
    }

    /// Next text frame as JSON (panics on timeout or close).
    pub async fn recv(&mut self) -> Value {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("connection ended")
                .expect("websocket error");
            match msg {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(c) => panic!("unexpected close {c:?}"),
                _ => {}
            }
        }
    }

    /// Asserts nothing arrives within `ms`.
    pub async fn silent(&mut self, ms: u64) {
        if let Ok(Some(Ok(m))) =
            tokio::time::timeout(Duration::from_millis(ms), self.ws.next()).await
        {
            panic!("expected silence, got {m:?}");
        }
    }

    /// Waits for the server's close frame: (code, reason).
    pub async fn closed(&mut self) -> (u16, String) {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for close");
            match msg {
                Some(Ok(Message::Close(Some(f)))) => {
                    return (u16::from(f.code), f.reason.to_string());
                }
                Some(Ok(Message::Close(None))) => return (1005, String::new()),
                Some(Ok(_)) => continue,
                other => panic!("connection ended without a close frame: {other:?}"),
            }
        }
    }

    /// JSON-RPC call with a fresh string id; returns the whole reply.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = format!("t{}", self.next_id);
        self.send_json(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        let reply = self.recv().await;
        assert_eq!(reply["id"], json!(id), "reply for another call: {reply}");
        reply
    }

    /// JSON-RPC call that must succeed; returns `result`.
    pub async fn ok(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params).await;
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        r["result"].clone()
    }

    /// JSON-RPC call that must fail; returns `error`.
    pub async fn err(&mut self, method: &str, params: Value) -> Value {
        let r = self.call(method, params).await;
        assert!(r.get("error").is_some(), "{method} succeeded: {r}");
        r["error"].clone()
    }

    pub async fn login(&mut self, user: &str, password: &str) -> Value {
        self.ok(
            "auth.login_ex",
            json!([{"mechanism": "PASSWORD_PLAIN", "username": user, "password": password}]),
        )
        .await
    }

    pub async fn login_key(&mut self, key: &str) -> Value {
        self.ok(
            "auth.login_ex",
            json!([{"mechanism": "API_KEY_PLAIN", "username": "passwd-service", "api_key": key}]),
        )
        .await
    }
}

/// Asserts `error.data` carries every key the spec requires.
pub fn assert_error_data(error: &Value, code: i64, errno: i64, errname: &str, reason: &str) {
    assert_eq!(error["code"], code, "{error}");
    let data = &error["data"];
    assert_eq!(data["error"], errno, "{error}");
    assert_eq!(data["errname"], errname, "{error}");
    assert_eq!(data["reason"], reason, "{error}");
    let trace = &data["trace"];
    for k in ["class", "frames", "formatted", "repr"] {
        assert!(trace.get(k).is_some(), "trace lacks {k}: {error}");
    }
    assert!(data.get("extra").is_some(), "data lacks extra: {error}");
}

/// The current TOTP code for a base32 secret.
pub fn totp(secret: &str) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes)
        .generate_current()
        .unwrap()
}
