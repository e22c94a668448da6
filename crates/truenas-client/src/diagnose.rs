//! Small, independent connection probes for a step-by-step diagnosis (`selfpass doctor`).
//!
//! Each probe does one thing — resolve, connect, read the certificate, `GET /api/versions`,
//! open the WebSocket — under a timeout, and answers with a typed result whose [`Error`] carries
//! the usual [`hint`](Error::hint). None of them logs in or sends a secret.
//!
//! ```
//! use std::time::Duration;
//! use truenas_client::{Endpoint, Options, diagnose};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sim = truenas_sim::Simulator::start(truenas_sim::SimConfig::demo()).await?;
//! # let url = sim.url("");
//! let endpoint: Endpoint = url.parse()?;
//! let limit = Duration::from_secs(5);
//! let addrs = diagnose::resolve(endpoint.host(), endpoint.port(), limit).await?;
//! diagnose::tcp(&addrs, limit).await?;
//! let options = Options::default();
//! if let diagnose::Versions::Listed(v) = diagnose::api_versions(&endpoint, &options).await? {
//!     println!("API versions: {}", v.join(", "));
//! }
//! diagnose::upgrade(&endpoint, "/api/current", &options).await?;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{Endpoint, Options};
use crate::engine::Frame;
use crate::error::{Error, Result, Stage};
use crate::tls::{self, CertInfo, Fingerprint, Tls};
use crate::transport;

/// The most of an HTTP answer to `/api/versions` that is read.
const MAX_HTTP: usize = 64 * 1024;

/// How long to wait for a close frame when the server answers nothing (allow-list closes come at once).
const CLOSE_GRACE: Duration = Duration::from_millis(300);

fn timeout_err(stage: Stage, after: Duration) -> Error {
    Error::Timeout {
        stage,
        after,
        method: None,
    }
}

/// Resolves `host` (a name or an address) to socket addresses.
///
/// # Errors
/// [`Error::Dns`] when the name does not resolve (or resolves to nothing), [`Error::Timeout`]
/// when the lookup takes longer than `limit`.
pub async fn resolve(host: &str, port: u16, limit: Duration) -> Result<Vec<SocketAddr>> {
    let found = tokio::time::timeout(limit, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| timeout_err(Stage::Connect, limit))?
        .map_err(|e| Error::Dns {
            host: host.to_string(),
            source: Box::new(e),
        })?;
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for a in found {
        if !addrs.contains(&a) {
            addrs.push(a);
        }
    }
    if addrs.is_empty() {
        return Err(Error::Dns {
            host: host.to_string(),
            source: "the name resolved to no address".into(),
        });
    }
    Ok(addrs)
}

/// Opens (and closes again) a TCP connection to the first of `addrs` that accepts one; answers
/// which one did.
///
/// # Errors
/// [`Error::Connect`] (with the last address tried) when none accepts, [`Error::Timeout`] when
/// all the attempts together take longer than `limit`.
pub async fn tcp(addrs: &[SocketAddr], limit: Duration) -> Result<SocketAddr> {
    connect_any(addrs, limit).await.map(|(_, a)| a)
}

async fn connect_any(addrs: &[SocketAddr], limit: Duration) -> Result<(TcpStream, SocketAddr)> {
    let Some(first) = addrs.first() else {
        return Err(Error::Config {
            reason: "no address to connect to".into(),
        });
    };
    let attempt = async {
        let mut last = (*first, std::io::Error::other("not tried"));
        for a in addrs {
            match TcpStream::connect(a).await {
                Ok(s) => return Ok((s, *a)),
                Err(e) => last = (*a, e),
            }
        }
        Err(last)
    };
    match tokio::time::timeout(limit, attempt).await {
        Err(_) => Err(timeout_err(Stage::Connect, limit)),
        Ok(Ok((s, a))) => {
            let _ = s.set_nodelay(true);
            Ok((s, a))
        }
        Ok(Err((a, e))) => Err(Error::Connect {
            host: a.ip().to_string(),
            port: a.port(),
            source: Box::new(e),
        }),
    }
}

/// What the server's TLS certificate is, and whether the configured trust accepts it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertReport {
    /// Subject, expiry and fingerprint of the leaf certificate.
    pub info: CertInfo,
    /// SHA-256 fingerprint of the leaf (the same as `info.fingerprint`), to pin it.
    pub fingerprint: Fingerprint,
    /// `Ok` when the certificate verifies under the configured [`Tls`] mode, else why not.
    pub trusted: std::result::Result<(), String>,
}

/// Connects to the endpoint, runs a TLS handshake under `mode` and reports the leaf certificate —
/// also when it does not verify, so it can be described and pinned.
///
/// # Errors
/// DNS, TCP and timeout errors; [`Error::Tls`] when the handshake fails before any certificate was
/// seen (the port does not speak TLS, no common protocol version, …); [`Error::Config`] when the
/// trust settings cannot be loaded (CA file unreadable, no system roots).
pub async fn certificate(endpoint: &Endpoint, mode: &Tls, limit: Duration) -> Result<CertReport> {
    let addrs = resolve(endpoint.host(), endpoint.port(), limit).await?;
    let (tcp, _) = connect_any(&addrs, limit).await?;
    let seen: tls::Seen = Arc::new(Mutex::new(None));
    let cfg = tls::client_config(mode, None, seen.clone())?;
    let name = server_name(endpoint.host())?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let outcome = tokio::time::timeout(limit, connector.connect(name, tcp))
        .await
        .map_err(|_| timeout_err(Stage::Tls, limit))?;
    let der = seen.lock().ok().and_then(|g| g.clone());
    match (outcome, der) {
        (Ok(mut stream), Some(der)) => {
            let _ = stream.shutdown().await;
            Ok(report(&der, Ok(())))
        }
        (Ok(_), None) => Err(Error::Protocol {
            detail: "the TLS handshake finished without a server certificate".into(),
        }),
        (Err(e), der) => match transport::tls_error(endpoint.host(), mode, &seen, e) {
            Error::Tls {
                detail,
                cert: Some(_),
                ..
            } => match der {
                Some(der) => Ok(report(&der, Err(detail))),
                None => Err(Error::Protocol {
                    detail: "certificate vanished".into(),
                }),
            },
            other => Err(other),
        },
    }
}

fn report(der: &[u8], trusted: std::result::Result<(), String>) -> CertReport {
    let info = CertInfo::from_der(der);
    CertReport {
        fingerprint: info.fingerprint,
        info,
        trusted,
    }
}

fn server_name(host: &str) -> Result<rustls::pki_types::ServerName<'static>> {
    rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|_| Error::Config {
        reason: format!("{host:?} is not a valid TLS server name"),
    })
}

/// The answer to `GET /api/versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Versions {
    /// `200` with the JSON array of API versions, e.g. `["v25.04.0", …, "v25.10.1"]`.
    Listed(Vec<String>),
    /// Any other HTTP status (a `3xx` with its `Location`): see [`Versions::hint`].
    Status {
        /// HTTP status code.
        status: u16,
        /// The `Location` header, for redirects.
        location: Option<String>,
    },
}

impl Versions {
    /// For a non-200 answer, what it usually means and what to do (`None` for [`Versions::Listed`]).
    pub fn hint(&self) -> Option<String> {
        match self {
            Versions::Listed(_) => None,
            Versions::Status { status: 404, .. } => Some(
                "no /api routes: TrueNAS before 25.04 only has the legacy /websocket endpoint (the client falls back to it), or this is not TrueNAS".into(),
            ),
            Versions::Status { status, location } => Some(
                Error::UpgradeRefused {
                    status: *status,
                    path: "/api/versions".into(),
                    location: location.clone(),
                }
                .hint(),
            ),
        }
    }
}

/// Byte stream of a probe: plain TCP or TLS.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn open_stream(endpoint: &Endpoint, options: &Options) -> Result<Pin<Box<dyn Io>>> {
    let limit = options.connect_timeout;
    let addrs = resolve(endpoint.host(), endpoint.port(), limit).await?;
    let (tcp, _) = connect_any(&addrs, limit).await?;
    if !endpoint.is_tls() {
        return Ok(Box::pin(tcp));
    }
    let seen: tls::Seen = Arc::new(Mutex::new(None));
    let cfg = tls::client_config(&options.tls, None, seen.clone())?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let stream = tokio::time::timeout(limit, connector.connect(server_name(endpoint.host())?, tcp))
        .await
        .map_err(|_| timeout_err(Stage::Tls, limit))?
        .map_err(|e| transport::tls_error(endpoint.host(), &options.tls, &seen, e))?;
    Ok(Box::pin(stream))
}

fn authority(endpoint: &Endpoint) -> String {
    let host = endpoint.host();
    let default_port = if endpoint.is_tls() { 443 } else { 80 };
    match (host.contains(':'), endpoint.port() == default_port) {
        (true, true) => format!("[{host}]"),
        (true, false) => format!("[{host}]:{}", endpoint.port()),
        (false, true) => host.to_string(),
        (false, false) => format!("{host}:{}", endpoint.port()),
    }
}

/// Plain HTTP/1.1 `GET /api/versions` (over TLS when the endpoint is `wss://`); no login needed.
///
/// # Errors
/// DNS, TCP, TLS and timeout errors as for a connect; [`Error::Protocol`] when the answer is not
/// HTTP, or a `200` whose body is not a JSON array of strings.
pub async fn api_versions(endpoint: &Endpoint, options: &Options) -> Result<Versions> {
    let limit = options.connect_timeout;
    let mut stream = open_stream(endpoint, options).await?;
    let request = format!(
        "GET /api/versions HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nUser-Agent: truenas-client/{}\r\nConnection: close\r\n\r\n",
        authority(endpoint),
        env!("CARGO_PKG_VERSION"),
    );
    let exchange = async {
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(transport_err)?;
        stream.flush().await.map_err(transport_err)?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(done) = parse_response(&buf)? {
                return Ok(done);
            }
            match stream.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() > MAX_HTTP {
                        return Err(Error::Protocol {
                            detail: format!(
                                "GET /api/versions answered more than {MAX_HTTP} bytes"
                            ),
                        });
                    }
                }
                // A TLS peer that closes without close_notify: use what arrived.
                Err(_) if !buf.is_empty() => break,
                Err(e) => return Err(transport_err(e)),
            }
        }
        finish_at_eof(&buf)
    };
    let answer = tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| Error::Timeout {
            stage: Stage::Call,
            after: limit,
            method: Some("GET /api/versions".into()),
        })??;
    let _ = stream.shutdown().await;
    answer.into_versions()
}

fn transport_err(e: std::io::Error) -> Error {
    Error::Transport {
        source: Box::new(e),
    }
}

/// A parsed HTTP response.
#[derive(Debug, PartialEq, Eq)]
struct HttpAnswer {
    status: u16,
    location: Option<String>,
    body: Vec<u8>,
}

impl HttpAnswer {
    fn into_versions(self) -> Result<Versions> {
        if self.status != 200 {
            return Ok(Versions::Status {
                status: self.status,
                location: self.location,
            });
        }
        serde_json::from_slice::<Vec<String>>(&self.body)
            .map(Versions::Listed)
            .map_err(|e| Error::Protocol {
                detail: format!(
                    "GET /api/versions answered 200 but not a JSON list of versions ({e}): is this TrueNAS?"
                ),
            })
    }
}

struct Head {
    status: u16,
    location: Option<String>,
    content_length: Option<usize>,
    chunked: bool,
    body_start: usize,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn not_http(detail: impl Into<String>) -> Error {
    Error::Protocol {
        detail: detail.into(),
    }
}

/// `None` until the head is complete.
fn parse_head(buf: &[u8]) -> Result<Option<Head>> {
    let Some(end) = find(buf, b"\r\n\r\n") else {
        if buf.len() >= 5 && !buf.starts_with(b"HTTP/") {
            return Err(not_http(
                "the server did not answer with HTTP (wrong port, or TLS expected?)",
            ));
        }
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split_whitespace();
    let status = match (parts.next(), parts.next()) {
        (Some(v), Some(code)) if v.starts_with("HTTP/") => code.parse::<u16>().ok(),
        _ => None,
    }
    .ok_or_else(|| not_http(format!("not an HTTP status line: {status_line:?}")))?;
    let mut location = None;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "location" => location = Some(value.to_string()),
            "content-length" => content_length = value.parse().ok(),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    Ok(Some(Head {
        status,
        location,
        content_length,
        chunked,
        body_start: end + 4,
    }))
}

/// Decodes a chunked body; `None` until the last chunk has arrived.
fn dechunk(mut data: &[u8]) -> Result<Option<Vec<u8>>> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = find(data, b"\r\n") else {
            return Ok(None);
        };
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| not_http(format!("bad chunk size {size_text:?}")))?;
        let start = eol + 2;
        if size == 0 {
            return Ok(Some(out));
        }
        let Some(end) = start.checked_add(size) else {
            return Err(not_http("chunk size overflows"));
        };
        if data.len() < end + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&data[start..end]);
        data = &data[end + 2..];
    }
}

/// A complete response from `buf`, or `None` when more bytes are needed.
fn parse_response(buf: &[u8]) -> Result<Option<HttpAnswer>> {
    let Some(head) = parse_head(buf)? else {
        return Ok(None);
    };
    let rest = &buf[head.body_start..];
    let body = if head.chunked {
        dechunk(rest)?
    } else if let Some(n) = head.content_length {
        rest.get(..n).map(<[u8]>::to_vec)
    } else {
        None // read to the end of the stream
    };
    Ok(body.map(|body| HttpAnswer {
        status: head.status,
        location: head.location,
        body,
    }))
}

/// The response once the server closed: whatever body arrived.
fn finish_at_eof(buf: &[u8]) -> Result<HttpAnswer> {
    if buf.is_empty() {
        return Err(Error::closed(None, "the server closed without answering"));
    }
    if let Some(done) = parse_response(buf)? {
        return Ok(done);
    }
    let head = parse_head(buf)?
        .ok_or_else(|| not_http("the server closed in the middle of the HTTP head"))?;
    Ok(HttpAnswer {
        status: head.status,
        location: head.location,
        body: buf[head.body_start..].to_vec(),
    })
}

/// The first frame the probe sends on `path`, and how a reply to it is recognised.
fn hello_for(path: &str) -> (String, fn(&Value) -> bool) {
    if path.ends_with("/websocket") {
        (
            r#"{"msg":"connect","version":"1","support":["1"]}"#.to_string(),
            |v| {
                v.get("msg")
                    .is_some_and(|m| m == "connected" || m == "failed")
            },
        )
    } else {
        // core.set_options needs no login and is not rate limited (unlike core.ping).
        (
            r#"{"jsonrpc":"2.0","id":"diagnose-1","method":"core.set_options","params":[{}]}"#
                .to_string(),
            |v| v.get("id").is_some_and(|id| id == "diagnose-1"),
        )
    }
}

/// Opens the WebSocket on `path` (`/api/current`, `/api/vX`, or `/websocket`), sends the
/// protocol's harmless first message (`core.set_options [{}]` for JSON-RPC, `connect` for the
/// legacy endpoint) and checks that the server answers instead of closing — the UI allow-list
/// closes with 1008 right after the upgrade.
///
/// # Errors
/// Those of a connect ([`Error::UpgradeRefused`] with status and `Location`, TLS, DNS, TCP);
/// [`Error::Closed`] with the close code when the server closes; [`Error::Handshake`] when the
/// legacy endpoint answers `failed`; [`Error::Timeout`] when no answer comes.
pub async fn upgrade(endpoint: &Endpoint, path: &str, options: &Options) -> Result<()> {
    let limit = options.connect_timeout;
    let mut socket = transport::open(endpoint, path, options, None).await?;
    let (hello, is_reply) = hello_for(path);
    let sent = tokio::time::timeout(limit, socket.send(Frame::Text(hello.into())))
        .await
        .map_err(|_| timeout_err(Stage::Handshake, limit))
        .and_then(|r| r);
    // After a failed send only a close frame already on its way is worth waiting for.
    let wait = if sent.is_ok() { limit } else { CLOSE_GRACE };
    let answer = tokio::time::timeout(wait, async {
        loop {
            match socket.next().await {
                Some(Ok(Frame::Text(t))) => {
                    let Ok(v) = serde_json::from_str::<Value>(&t) else {
                        continue;
                    };
                    if !is_reply(&v) {
                        continue;
                    }
                    if v.get("msg").is_some_and(|m| m == "failed") {
                        return Err(Error::Handshake {
                            reason: "server answered {\"msg\":\"failed\"} (unsupported protocol version)".into(),
                        });
                    }
                    return Ok(());
                }
                Some(Ok(Frame::Close(c))) => {
                    let (code, reason) = c.map_or((None, String::new()), |(c, r)| (Some(c), r));
                    return Err(Error::closed(code, reason));
                }
                Some(Ok(Frame::Other)) => continue,
                Some(Err(Error::Transport { source })) => {
                    return Err(Error::closed(
                        None,
                        format!("the server dropped the connection without a close frame ({source})"),
                    ));
                }
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(Error::closed(
                        None,
                        "the server dropped the connection without a close frame",
                    ));
                }
            }
        }
    })
    .await;
    let result = match (answer, sent) {
        (Ok(r), _) => r,
        (Err(_), Err(e)) => Err(e),
        (Err(_), Ok(())) => Err(timeout_err(Stage::Handshake, limit)),
    };
    let _ = tokio::time::timeout(
        CLOSE_GRACE,
        socket.send(Frame::Close(Some((1000, String::new())))),
    )
    .await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(raw: &str) -> HttpAnswer {
        match parse_response(raw.as_bytes()) {
            Ok(Some(a)) => a,
            other => panic!("not complete: {other:?}"),
        }
    }

    #[test]
    fn versions_with_content_length() {
        let body = r#"["v25.04.0","v25.10.1"]"#;
        let raw = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let a = parsed(&raw);
        assert_eq!(a.status, 200);
        assert_eq!(
            a.into_versions().ok(),
            Some(Versions::Listed(vec!["v25.04.0".into(), "v25.10.1".into()]))
        );
        // Incomplete body: more needed.
        assert!(matches!(
            parse_response(&raw.as_bytes()[..raw.len() - 3]),
            Ok(None)
        ));
        // Incomplete head: more needed.
        assert!(matches!(
            parse_response(b"HTTP/1.1 200 OK\r\nCont"),
            Ok(None)
        ));
    }

    #[test]
    fn chunked_body() {
        let raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[\"v25\r\n6;x=y\r\n.10.1\"\r\n1\r\n]\r\n0\r\n\r\n";
        let a = parsed(raw);
        assert_eq!(a.body, br#"["v25.10.1"]"#);
        assert!(matches!(
            parse_response(&raw.as_bytes()[..raw.len() - 7]),
            Ok(None)
        ));
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
    }

    #[test]
    fn redirect_keeps_location() {
        let raw = "HTTP/1.1 302 Found\r\nlocation: https://auth.example/login\r\nContent-Length: 0\r\n\r\n";
        let v = parsed(raw).into_versions().ok();
        let expected = Versions::Status {
            status: 302,
            location: Some("https://auth.example/login".into()),
        };
        assert_eq!(v.as_ref(), Some(&expected));
        assert!(expected.hint().is_some_and(|h| h.contains("exempt /api")));
        let legacy = Versions::Status {
            status: 404,
            location: None,
        };
        assert!(legacy.hint().is_some_and(|h| h.contains("/websocket")));
        assert_eq!(Versions::Listed(vec![]).hint(), None);
    }

    #[test]
    fn body_to_end_of_stream() {
        let raw = b"HTTP/1.0 200 OK\r\n\r\n[\"v25.10.1\"]";
        assert!(matches!(parse_response(raw), Ok(None)));
        let a = finish_at_eof(raw).ok();
        assert_eq!(a.map(|a| a.body), Some(br#"["v25.10.1"]"#.to_vec()));
    }

    #[test]
    fn not_http_or_not_versions() {
        assert!(parse_response(b"\x16\x03\x01\x00\x05hello").is_err());
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(finish_at_eof(b"").is_err());
        assert!(finish_at_eof(b"HTTP/1.1 200").is_err());
        let html = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n<html>";
        assert!(matches!(
            parsed(html).into_versions(),
            Err(Error::Protocol { .. })
        ));
    }

    #[test]
    fn authority_omits_default_ports() {
        assert_eq!(authority(&Endpoint::wss("nas.local")), "nas.local");
        assert_eq!(
            authority(&Endpoint::ws("nas.local").with_port(8080)),
            "nas.local:8080"
        );
        assert_eq!(authority(&Endpoint::ws("::1")), "[::1]");
        assert_eq!(
            authority(&Endpoint::wss("::1").with_port(8443)),
            "[::1]:8443"
        );
    }

    #[test]
    fn hellos_match_their_replies() {
        let (hello, is_reply) = hello_for("/websocket");
        assert!(hello.contains("\"connect\""));
        assert!(is_reply(
            &serde_json::json!({"msg": "connected", "session": "x"})
        ));
        assert!(!is_reply(&serde_json::json!({"msg": "added"})));
        let (hello, is_reply) = hello_for("/api/current");
        assert!(hello.contains("core.set_options"));
        assert!(is_reply(
            &serde_json::json!({"jsonrpc": "2.0", "id": "diagnose-1", "result": null})
        ));
        assert!(!is_reply(
            &serde_json::json!({"jsonrpc": "2.0", "method": "collection_update"})
        ));
    }
}
