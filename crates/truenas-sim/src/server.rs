//! The listener and the HTTP side: plain GETs, fault responses, the WebSocket upgrade.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use crate::connection::{self, Framing};
use crate::faults;
use crate::state::{Conn, Shared};
use crate::unconfirmed;

/// Longest request head we read before answering 431.
const MAX_HEAD: usize = 16 * 1024;
/// A peer that sends no request (or no TLS hello) within this is dropped.
const HEAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Accepts connections until `shutdown` flips.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else {
                    // e.g. EMFILE: back off instead of spinning.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                };
                let (shared, tls, mut stop) = (shared.clone(), tls.clone(), shutdown.clone());
                tokio::spawn(async move {
                    tokio::select! {
                        _ = stop.changed() => {}
                        _ = handle(stream, peer, shared, tls) => {}
                    }
                });
            }
        }
    }
}

async fn handle(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
) {
    let _ = stream.set_nodelay(true);
    match tls {
        Some(acceptor) => {
            if let Ok(Ok(s)) = tokio::time::timeout(HEAD_TIMEOUT, acceptor.accept(stream)).await {
                http(s, peer, shared).await;
            }
        }
        None => http(stream, peer, shared).await,
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.header(name)
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

/// Reads the request head; returns it and any bytes read past it.
async fn read_head<S: AsyncRead + Unpin>(s: &mut S) -> Option<(Request, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let rest = buf[end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_owned();
    let path = first.next()?.to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some((
        Request {
            method,
            path,
            headers,
        },
        rest,
    ))
}

/// `200 OK` with `value` as a JSON body (the plain-HTTP `/api/...` endpoints).
async fn respond_json<S: AsyncWrite + Unpin>(s: &mut S, value: &impl serde::Serialize) {
    let body = serde_json::to_string(value).unwrap_or_default();
    respond(s, "200 OK", &[], "application/json; charset=utf-8", &body).await;
}

async fn respond<S: AsyncWrite + Unpin>(
    s: &mut S,
    status: &str,
    extra: &[(&str, &str)],
    ctype: &str,
    body: &str,
) {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nServer: truenas-sim\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (n, v) in extra {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    let _ = s.write_all(out.as_bytes()).await;
    let _ = s.flush().await;
    let _ = s.shutdown().await;
}

async fn http<S>(mut s: S, peer: SocketAddr, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let head = tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut s))
        .await
        .ok()
        .flatten();
    let Some((req, rest)) = head else {
        respond(
            &mut s,
            "400 Bad Request",
            &[],
            "text/plain; charset=utf-8",
            "400: Bad Request",
        )
        .await;
        return;
    };
    let path = req.path.split('?').next().unwrap_or_default().to_owned();
    let not_found = "404: Not Found";
    if let Some(f) = faults::http(&shared.faults(), &req.path, &path, req.header("host")) {
        let location: Vec<(&str, &str)> = f
            .location
            .as_deref()
            .map(|l| ("Location", l))
            .into_iter()
            .collect();
        respond(
            &mut s,
            f.status,
            &location,
            "text/plain; charset=utf-8",
            f.body,
        )
        .await;
        return;
    }
    let known = path == "/api/versions"
        || path == "/api/boot_id"
        || path == "/websocket"
        || path.starts_with("/api/");
    if known && req.method != "GET" {
        respond(
            &mut s,
            "405 Method Not Allowed",
            &[("Allow", "GET")],
            "text/plain; charset=utf-8",
            "405: Method Not Allowed",
        )
        .await;
        return;
    }
    let versions = shared.version.api_versions();
    let framing = match path.as_str() {
        "/api/versions" => {
            let visible: Vec<&str> = versions
                .iter()
                .copied()
                .filter(|v| *v != "v24.10")
                .collect();
            respond_json(&mut s, &visible).await;
            return;
        }
        "/api/boot_id" => {
            respond_json(&mut s, &shared.boot_id).await;
            return;
        }
        "/websocket" => Framing::Legacy { connected: false },
        "/api/current" => Framing::JsonRpc,
        p if p
            .strip_prefix("/api/")
            .is_some_and(|v| versions.contains(&v)) =>
        {
            Framing::JsonRpc
        }
        _ => {
            respond(
                &mut s,
                "404 Not Found",
                &[],
                "text/plain; charset=utf-8",
                not_found,
            )
            .await;
            return;
        }
    };
    let key = req.header("sec-websocket-key").map(str::to_owned);
    let upgrade_ok = req.method == "GET"
        && req.has_token("upgrade", "websocket")
        && req.has_token("connection", "upgrade")
        && req.header("sec-websocket-version") == Some("13");
    let (true, Some(key)) = (upgrade_ok, key) else {
        let body = "400: No WebSocket UPGRADE hdr: None\n Can \"Upgrade\" only to \"WebSocket\".";
        respond(
            &mut s,
            "400 Bad Request",
            &[],
            "text/plain; charset=utf-8",
            body,
        )
        .await;
        return;
    };
    // Behind nginx the client's address and scheme come from its headers, as on the real server.
    let origin = match req
        .header("x-real-remote-addr")
        .and_then(|a| a.parse::<std::net::IpAddr>().ok())
    {
        Some(ip) => {
            let port = req
                .header("x-real-remote-port")
                .and_then(|p| p.parse().ok())
                .unwrap_or(0);
            SocketAddr::new(ip, port)
        }
        None => peer,
    };
    let https = req.header("x-https") == Some("on");
    let accept = derive_accept_key(key.as_bytes());
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: {accept}\r\nServer: truenas-sim\r\n\r\n"
    );
    if s.write_all(head.as_bytes()).await.is_err() || s.flush().await.is_err() {
        return;
    }
    // tungstenite zeroes its whole free read buffer before every read; its 128 KiB default costs
    // microseconds per frame, and requests are small.
    let config = WebSocketConfig::default()
        .read_buffer_size(16 * 1024)
        .max_message_size(Some(unconfirmed::TRANSPORT_MAX_MESSAGE))
        .max_frame_size(Some(unconfirmed::TRANSPORT_MAX_MESSAGE));
    let ws = WebSocketStream::from_partially_read(s, rest, Role::Server, Some(config)).await;
    tracing::debug!(%peer, %path, "websocket connected");
    let conn = Arc::new(Conn::new(shared, origin, https));
    connection::run(ws, conn, framing).await;
}
