//! Every fault mode: each error kind and its hint.

use std::time::Duration;

use serde_json::Value;
use truenas_client::{Client, Endpoint, Error, Protocol, Stage};
use truenas_sim::{Fault, SimConfig};

use crate::common::*;

async fn refused(fault: Fault) -> Error {
    let sim = sim(SimConfig::demo().faults(vec![fault])).await;
    Client::connect(endpoint(&sim), opts()).await.unwrap_err()
}

#[tokio::test]
async fn auth_proxy_redirect() {
    let e = refused(Fault::Redirect("https://auth.example.com/login".into())).await;
    match &e {
        Error::UpgradeRefused {
            status, location, ..
        } => {
            assert_eq!(*status, 302);
            assert_eq!(location.as_deref(), Some("https://auth.example.com/login"));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.hint().contains("authentication proxy"), "{}", e.hint());
    assert!(e.hint().contains("exempt /api and /websocket"));
    assert!(!e.is_retryable());
}

#[tokio::test]
async fn https_redirect() {
    let e = refused(Fault::HttpsRedirect).await;
    assert!(
        matches!(e, Error::UpgradeRefused { status: 307, .. }),
        "{e:?}"
    );
    assert!(e.hint().contains("use wss://"));
}

#[tokio::test]
async fn unauthorized() {
    let e = refused(Fault::Unauthorized).await;
    assert!(
        matches!(e, Error::UpgradeRefused { status: 401, .. }),
        "{e:?}"
    );
    assert!(e.is_auth());
    assert!(e.hint().contains("proxy"));
}

#[tokio::test]
async fn not_on_allow_list() {
    let sim = sim(SimConfig::demo().faults(vec![Fault::AllowList])).await;
    let c = Client::connect(endpoint(&sim), opts().reconnect(false))
        .await
        .unwrap();
    let e = c.ping().await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Closed {
                code: Some(1008),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.hint().contains("allow-list"));
    assert!(!e.is_retryable());
    // Legacy: the handshake itself sees the close.
    let e = Client::connect(endpoint(&sim), opts().protocol(Protocol::Legacy))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Closed {
                code: Some(1008),
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn json_rpc_frame_on_legacy_endpoint() {
    let sim = sim(SimConfig::demo()).await;
    let ep = endpoint(&sim).with_path("/websocket");
    let c = Client::connect(ep, opts().protocol(Protocol::JsonRpc).reconnect(false))
        .await
        .unwrap();
    let e = c.ping().await.unwrap_err();
    match &e {
        Error::Closed { code, reason } => {
            assert_eq!(*code, Some(1011));
            assert_eq!(reason, "'msg'");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.hint().contains("JSON-RPC frame reached the legacy"));
}

#[tokio::test]
async fn injected_close_codes() {
    for (code, reason, hint) in [
        (1009, "Max message length is 64 kB", "too large"),
        (
            1007,
            "Anonymous connection max message length is 8 kB",
            "too large",
        ),
        (1011, "'msg'", "legacy"),
    ] {
        let sim = sim(SimConfig::demo().faults(vec![Fault::Close {
            code,
            reason: reason.into(),
        }]))
        .await;
        let c = Client::connect(endpoint(&sim), opts().reconnect(false))
            .await
            .unwrap();
        let e = c.ping().await.unwrap_err();
        match &e {
            Error::Closed { code: c, reason: r } => {
                assert_eq!(*c, Some(code));
                assert_eq!(r, reason);
            }
            other => panic!("{other:?}"),
        }
        assert!(e.hint().contains(hint), "{code}: {}", e.hint());
        assert!(e.to_string().contains(&code.to_string()));
    }
}

#[tokio::test]
async fn call_timeout() {
    let sim = sim(SimConfig::demo().faults(vec![Fault::Latency(Duration::from_millis(500))])).await;
    let c = Client::connect(
        endpoint(&sim),
        opts().call_timeout(Duration::from_millis(100)),
    )
    .await
    .unwrap();
    let e = c.ping().await.unwrap_err();
    assert!(
        matches!(
            &e,
            Error::Timeout {
                stage: Stage::Call,
                method: Some(m),
                ..
            } if m == "core.ping"
        ),
        "{e:?}"
    );
    assert!(e.is_timeout() && e.is_retryable());
    assert!(e.hint().contains("did not answer in time"));
    // The connection survives a timed-out call.
    sim.set_faults(vec![]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(c.ping().await.unwrap(), "pong");
}

#[tokio::test]
async fn connection_refused() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ep = Endpoint::ws("127.0.0.1").with_port(port);
    let e = Client::connect(ep, opts()).await.unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert!(e.is_retryable());
    assert!(e.hint().contains("reachable"));
    assert!(std::error::Error::source(&e).is_some());
}

#[tokio::test]
async fn dns_failure() {
    let ep: Endpoint = "ws://no-such-host.invalid".parse().unwrap();
    let e = Client::connect(ep, opts().connect_timeout(Duration::from_secs(3)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Dns { .. }
                | Error::Timeout {
                    stage: Stage::Connect,
                    ..
                }
        ),
        "{e:?}"
    );
    assert!(!e.hint().is_empty());
}

#[tokio::test]
async fn upgrade_timeout() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let (_s, _) = l.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let ep = Endpoint::ws("127.0.0.1").with_port(port);
    let e = Client::connect(ep, opts().connect_timeout(Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Timeout {
                stage: Stage::Upgrade,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.hint().contains("connect timeout"));
    hold.abort();
}

#[tokio::test]
async fn generic_call_decode_error() {
    let sim = sim(SimConfig::demo()).await;
    let c = connect(&sim, opts()).await;
    let e = c.call::<u32>("core.ping", Value::Null).await.unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
}

#[tokio::test]
async fn upgrade_request_headers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 1024];
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = s.read(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        s.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8_lossy(&buf).into_owned()
    });
    let ep = Endpoint::ws("127.0.0.1").with_port(port);
    let e = Client::connect(ep, opts().protocol(Protocol::JsonRpc))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::UpgradeRefused { status: 404, .. }),
        "{e:?}"
    );
    let req = server.await.unwrap();
    assert!(req.starts_with("GET /api/current HTTP/1.1\r\n"), "{req}");
    assert!(req.contains("\r\nConnection: Upgrade\r\n"), "{req}");
    assert!(req.contains("\r\nUpgrade: websocket\r\n"), "{req}");
    assert!(!req.to_lowercase().contains("authorization"), "{req}");
}
