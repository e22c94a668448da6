//! TCP, TLS and the WebSocket upgrade, each step with its own timeout and explained failure.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{self, Message, client::IntoClientRequest};

use crate::client::{Endpoint, Options};
use crate::engine::{Frame, Socket};
use crate::error::{Error, Result, Stage};
use crate::tls::{self, CertInfo, Tls};

/// tungstenite zeroes its whole free read buffer before every read (128 KiB by default: several
/// microseconds per call, a fifth of a loopback round trip). Replies are mostly under 1 KiB;
/// larger ones just take more reads.
const READ_BUFFER: usize = 16 * 1024;

fn timeout_err(stage: Stage, after: Duration) -> Error {
    Error::Timeout {
        stage,
        after,
        method: None,
    }
}

/// Opens a WebSocket to `path` on the endpoint and returns the frame sink and stream.
pub(crate) async fn open(
    ep: &Endpoint,
    path: &str,
    opts: &Options,
    roots: Option<Arc<rustls::RootCertStore>>,
) -> Result<Socket> {
    let limit = opts.connect_timeout;
    let host = ep.host();
    let port = ep.port();

    let addrs: Vec<std::net::SocketAddr> =
        match tokio::time::timeout(limit, tokio::net::lookup_host((host, port))).await {
            Err(_) => return Err(timeout_err(Stage::Connect, limit)),
            Ok(Err(e)) => {
                return Err(Error::Dns {
                    host: host.to_string(),
                    source: Box::new(e),
                });
            }
            Ok(Ok(a)) => a.collect(),
        };
    let tcp = tokio::time::timeout(limit, async {
        let mut last = None;
        for a in &addrs {
            match TcpStream::connect(a).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("host resolved to no address")))
    })
    .await
    .map_err(|_| timeout_err(Stage::Connect, limit))?
    .map_err(|e| Error::Connect {
        host: host.to_string(),
        port,
        source: Box::new(e),
    })?;
    let _ = tcp.set_nodelay(true);

    if ep.is_tls() {
        if opts.tls == Tls::Insecure {
            tracing::warn!(
                host,
                "TLS certificate verification is DISABLED (Tls::Insecure): anyone on the path can read the credentials; pin the certificate instead"
            );
        }
        let seen: tls::Seen = Arc::new(Mutex::new(None));
        let cfg = tls::client_config(&opts.tls, roots, seen.clone())?;
        let name = rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|_| {
            Error::Config {
                reason: format!("{host:?} is not a valid TLS server name"),
            }
        })?;
        let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
        let stream = tokio::time::timeout(limit, connector.connect(name, tcp))
            .await
            .map_err(|_| timeout_err(Stage::Tls, limit))?
            .map_err(|e| tls_error(host, &opts.tls, &seen, e))?;
        upgrade(stream, ep, path, limit).await
    } else {
        upgrade(tcp, ep, path, limit).await
    }
}

pub(crate) fn tls_error(host: &str, mode: &Tls, seen: &tls::Seen, e: std::io::Error) -> Error {
    let cert = seen
        .lock()
        .ok()
        .and_then(|g| g.as_ref().map(|d| Box::new(CertInfo::from_der(d))));
    let rustls_err = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    let detail = match (rustls_err, mode) {
        (Some(rustls::Error::General(_)), Tls::Pinned(fp)) => {
            format!("certificate fingerprint does not match the pinned {fp}")
        }
        (Some(rustls::Error::InvalidCertificate(why)), _) => {
            format!("certificate not trusted ({why:?})")
        }
        (Some(other), _) => format!("handshake failed: {other}"),
        (None, _) => format!("handshake failed: {e}"),
    };
    let cert = if rustls_err.is_some_and(|r| {
        matches!(
            r,
            rustls::Error::InvalidCertificate(_) | rustls::Error::General(_)
        )
    }) {
        cert
    } else {
        None
    };
    Error::Tls {
        host: host.to_string(),
        detail,
        cert,
        source: Some(Box::new(e)),
    }
}

async fn upgrade<S>(stream: S, ep: &Endpoint, path: &str, limit: Duration) -> Result<Socket>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let host = ep.host();
    let authority = if host.contains(':') {
        format!("[{host}]:{}", ep.port())
    } else {
        format!("{host}:{}", ep.port())
    };
    let scheme = if ep.is_tls() { "wss" } else { "ws" };
    let url = format!("{scheme}://{authority}{path}");
    let req = url
        .as_str()
        .into_client_request()
        .map_err(|e| Error::Config {
            reason: format!("bad WebSocket URL {url}: {e}"),
        })?;
    let cfg = tungstenite::protocol::WebSocketConfig::default().read_buffer_size(READ_BUFFER);
    let (ws, _resp) = tokio::time::timeout(
        limit,
        tokio_tungstenite::client_async_with_config(req, stream, Some(cfg)),
    )
    .await
    .map_err(|_| timeout_err(Stage::Upgrade, limit))?
    .map_err(|e| upgrade_error(e, path))?;
    let socket = ws
        .map(|m| match m {
            Ok(Message::Text(t)) => Ok(Frame::Text(t)),
            Ok(Message::Close(c)) => {
                Ok(Frame::Close(c.map(|c| {
                    (u16::from(c.code), c.reason.as_str().to_owned())
                })))
            }
            Ok(_) => Ok(Frame::Other),
            Err(e) => Err(Error::Transport {
                source: Box::new(e),
            }),
        })
        .with(|f: Frame| {
            futures_util::future::ready(Ok::<Message, tungstenite::Error>(match f {
                Frame::Text(t) => Message::Text(t),
                Frame::Close(c) => {
                    Message::Close(c.map(|(code, reason)| tungstenite::protocol::CloseFrame {
                        code: code.into(),
                        reason: reason.into(),
                    }))
                }
                Frame::Other => Message::Pong(Default::default()),
            }))
        })
        .sink_map_err(|e| Error::Transport {
            source: Box::new(e),
        });
    Ok(Box::pin(socket))
}

fn upgrade_error(e: tungstenite::Error, path: &str) -> Error {
    match e {
        tungstenite::Error::Http(resp) => Error::UpgradeRefused {
            status: resp.status().as_u16(),
            path: path.to_string(),
            location: resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        },
        other => Error::Transport {
            source: Box::new(other),
        },
    }
}
