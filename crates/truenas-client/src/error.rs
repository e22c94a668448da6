//! The one error type of this crate, with classifiers and hints a user can act on.

use std::fmt;
use std::time::Duration;

use crate::tls::CertInfo;

/// A boxed error from a dependency, kept as a source so no dependency type shows in the API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with this crate's [`enum@Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The network step that timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// DNS lookup and TCP connect.
    Connect,
    /// TLS handshake.
    Tls,
    /// HTTP upgrade to WebSocket.
    Upgrade,
    /// Legacy `connect`/`connected` exchange.
    Handshake,
    /// A method call (send and receive).
    Call,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Connect => "TCP connect",
            Stage::Tls => "TLS handshake",
            Stage::Upgrade => "WebSocket upgrade",
            Stage::Handshake => "legacy protocol handshake",
            Stage::Call => "call",
        })
    }
}

/// One entry of a server-side validation error: which attribute, what is wrong, and the errno.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The attribute path, e.g. `user.set_password.old_password` (may be empty).
    pub attribute: String,
    /// The server's message.
    pub message: String,
    /// The errno the server attached (22 = EINVAL usually).
    pub errno: i64,
}

/// Why a login did not succeed (see [`crate::LoginOutcome`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// Wrong credentials, locked account, or (25.x) a user without any privilege.
    AuthErr,
    /// Expired password or API key (API keys sent over an insecure transport are revoked and expire).
    Expired,
    /// A one-time password is needed (`login_ex_continue`).
    OtpRequired,
    /// HA standby node: log in on the active controller instead.
    Redirect,
    /// The user lacks API access (26.0+).
    Denied,
    /// The legacy login call answered `false`.
    Rejected,
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthFailure::AuthErr => "credentials not accepted (AUTH_ERR)",
            AuthFailure::Expired => "credentials expired (EXPIRED)",
            AuthFailure::OtpRequired => "one-time code required (OTP_REQUIRED)",
            AuthFailure::Redirect => "HA standby node (REDIRECT)",
            AuthFailure::Denied => "no API access (DENIED)",
            AuthFailure::Rejected => "credentials not accepted",
        })
    }
}

/// Every way a call to the TrueNAS middleware can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The endpoint or options are not usable.
    #[error("invalid configuration: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
    /// DNS lookup failed.
    #[error("cannot resolve host {host}")]
    Dns {
        /// The host name.
        host: String,
        /// Underlying error.
        #[source]
        source: BoxError,
    },
    /// The TCP connection could not be made.
    #[error("cannot connect to {host}:{port}")]
    Connect {
        /// Host.
        host: String,
        /// Port.
        port: u16,
        /// Underlying error.
        #[source]
        source: BoxError,
    },
    /// A network step did not finish in time.
    #[error("{stage} timed out after {after:?}{}", method.as_ref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Timeout {
        /// Which step.
        stage: Stage,
        /// The configured limit.
        after: Duration,
        /// The method, for a call.
        method: Option<String>,
    },
    /// TLS failed (certificate not trusted, pin mismatch, handshake error).
    #[error("TLS with {host} failed: {detail}{}", cert.as_ref().map(|c| format!("; server presented {c}")).unwrap_or_default())]
    Tls {
        /// Host.
        host: String,
        /// What went wrong.
        detail: String,
        /// The certificate the server presented, when known.
        cert: Option<Box<CertInfo>>,
        /// Underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The HTTP upgrade to WebSocket was answered with a non-101 status.
    #[error("WebSocket upgrade of {path} refused with HTTP {status}{}", location.as_ref().map(|l| format!(" (Location: {l})")).unwrap_or_default())]
    UpgradeRefused {
        /// HTTP status.
        status: u16,
        /// Request path.
        path: String,
        /// `Location` header, for redirects.
        location: Option<String>,
    },
    /// The legacy `connect` handshake failed.
    #[error("legacy protocol handshake failed: {reason}")]
    Handshake {
        /// What happened.
        reason: String,
    },
    /// The server (or the network) closed the connection.
    #[error("connection closed{}{}", code.map(|c| format!(" with code {c}")).unwrap_or_default(), if reason.is_empty() { String::new() } else { format!(", reason {reason:?}") })]
    Closed {
        /// WebSocket close code, if one was received.
        code: Option<u16>,
        /// Close reason text.
        reason: String,
    },
    /// The method call failed on the server.
    #[error("{method} failed: {reason} (code {code}{})", errname.as_ref().map(|e| format!(", {e}")).unwrap_or_default())]
    Call {
        /// Method name.
        method: String,
        /// JSON-RPC error code (-32001 method call error, -32601 no such method, …; 0 on legacy).
        code: i64,
        /// errno from `data.error`.
        errno: Option<i64>,
        /// errno name from `data.errname`.
        errname: Option<String>,
        /// `data.reason` or the error message.
        reason: String,
    },
    /// The server rejected the parameters.
    #[error("{method}: invalid parameters: {}", errors.iter().map(|e| format!("{}: {}", e.attribute, e.message)).collect::<Vec<_>>().join("; "))]
    Validation {
        /// Method name.
        method: String,
        /// Each failing attribute.
        errors: Vec<ValidationError>,
    },
    /// The server's rate limit for unauthenticated calls was hit (`EBUSY`).
    #[error("{method}: rate limited by the server ({reason})")]
    RateLimited {
        /// Method name.
        method: String,
        /// Server reason.
        reason: String,
    },
    /// Login did not succeed.
    #[error("login failed: {failure}")]
    Auth {
        /// Why.
        failure: AuthFailure,
    },
    /// Refused to send a secret in clear text over the network.
    #[error("refusing to send {what} over unencrypted ws:// to non-loopback host {host}")]
    InsecureTransport {
        /// Host.
        host: String,
        /// `an API key` or `a password`.
        what: &'static str,
    },
    /// The server sent something this client does not understand.
    #[error("protocol error: {detail}")]
    Protocol {
        /// What was wrong.
        detail: String,
    },
    /// The result could not be decoded into the requested type.
    #[error("{method}: unexpected result shape")]
    Decode {
        /// Method name.
        method: String,
        /// Underlying error.
        #[source]
        source: BoxError,
    },
    /// Reading or writing the socket failed.
    #[error("transport error")]
    Transport {
        /// Underlying error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    pub(crate) fn closed(code: Option<u16>, reason: impl Into<String>) -> Self {
        Error::Closed {
            code,
            reason: reason.into(),
        }
    }

    /// `true` when trying again later (on a new connection) may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Dns { .. } | Error::Connect { .. } | Error::Transport { .. } => true,
            Error::Timeout { .. } | Error::RateLimited { .. } => true,
            Error::Closed { code, .. } => !matches!(code, Some(1008 | 1009 | 1007 | 1011 | 1003)),
            Error::Call { code, .. } => *code == -32000,
            _ => false,
        }
    }

    /// `true` for a timeout of any network step.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Error::Timeout { .. })
    }

    /// `true` when credentials or permissions are the problem.
    pub fn is_auth(&self) -> bool {
        match self {
            Error::Auth { .. } | Error::InsecureTransport { .. } => true,
            Error::UpgradeRefused { status, .. } => matches!(status, 401 | 403),
            Error::Call { errno, .. } => matches!(errno, Some(207 | 13 | 1)),
            _ => false,
        }
    }

    /// `true` when the server's rate limit was hit.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::RateLimited { .. })
    }

    /// The validation errors, if this is a validation failure.
    pub fn validation_errors(&self) -> &[ValidationError] {
        match self {
            Error::Validation { errors, .. } => errors,
            _ => &[],
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> String {
        match self {
            Error::Config { .. } => "fix the endpoint or client options".into(),
            Error::Dns { host, .. } => format!(
                "check the host name {host:?} (typo? DNS server reachable?) or use the server's IP address"
            ),
            Error::Connect { host, port, .. } => format!(
                "check that TrueNAS is running and reachable at {host}:{port} (firewall, port: 80 for ws://, 443 for wss://)"
            ),
            Error::Timeout { stage: Stage::Call, .. } => {
                "the server did not answer in time: it may be overloaded; retry, or raise the call timeout".into()
            }
            Error::Timeout { stage: Stage::Tls, .. } => {
                "the TLS handshake did not finish in time: the server may not speak TLS on this port (use ws:// for plain HTTP), or the network is slow".into()
            }
            Error::Timeout { stage, .. } => format!(
                "the {stage} did not finish in time: check the network path to the server, or raise the connect timeout"
            ),
            Error::Tls { cert: Some(c), .. } => format!(
                "if this is your TrueNAS's own (self-signed) certificate, pin it: TRUENAS_TLS_FINGERPRINT={} (subject {}, expires {})",
                c.fingerprint, c.subject, c.not_after
            ),
            Error::Tls { .. } => {
                "check that the server speaks TLS on this port (use ws:// for plain HTTP), or pin its certificate with TRUENAS_TLS_FINGERPRINT=sha256:…".into()
            }
            Error::UpgradeRefused { status, location, .. } => match status {
                301..=303 => format!(
                    "an authentication proxy (TinyAuth, Authelia, …) sits in front of the API{}: exempt /api and /websocket from it",
                    location.as_ref().map(|l| format!(" and redirects to {l}")).unwrap_or_default()
                ),
                307 | 308 => "the server redirects HTTP to HTTPS: use wss:// (TLS on, usually port 443)".into(),
                401 | 403 => "a proxy in front of TrueNAS refused the request: exempt /api and /websocket from its authentication or allow this client".into(),
                404 => "the API endpoint does not exist here: TrueNAS before 25.04 only has /websocket (use the legacy protocol or Auto), or the path is wrong".into(),
                _ => "the server refused the WebSocket upgrade: check that the URL points at TrueNAS itself".into(),
            },
            Error::Handshake { .. } => "the legacy /websocket endpoint refused the handshake: try Protocol::JsonRpc".into(),
            Error::Closed { code: Some(1008), .. } => {
                "this host is not on the TrueNAS UI allow-list: add it under System > General > Allowed IP addresses".into()
            }
            Error::Closed { code: Some(1011), reason } if reason == "'msg'" => {
                "a JSON-RPC frame reached the legacy /websocket endpoint: use /api/current (Protocol::JsonRpc or Auto)".into()
            }
            Error::Closed { code: Some(1009 | 1007), .. } => {
                "the message was too large for the server (8 kB before login, 64 kB after): send less per call".into()
            }
            Error::Closed { code: Some(1003), .. } => "the server only accepts text frames".into(),
            Error::Closed { .. } => "the connection dropped: retry (the client reconnects and logs in again)".into(),
            Error::Call { errno: Some(207), .. } => "log in first (API key or password)".into(),
            Error::Call { errno: Some(13), reason, .. } if reason.contains("expired") => {
                "the session expired: log in again".into()
            }
            Error::Call { errno: Some(13), .. } | Error::Call { errno: Some(1), .. } => {
                "the logged-in account lacks the role for this call: use a key/user with the needed privilege (e.g. ACCOUNT_READ/ACCOUNT_WRITE)".into()
            }
            Error::Call { code: -32601, method, .. } => {
                format!("the server has no method {method}: it may be an older or newer TrueNAS version")
            }
            Error::Call { code: -32000, .. } => "too many concurrent calls on one connection: retry".into(),
            Error::Call { .. } => "the server rejected the call; see the reason".into(),
            Error::Validation { .. } => "correct the listed fields and try again".into(),
            Error::RateLimited { .. } => {
                "too many unauthenticated calls from this address (20 per minute per method): wait a minute and retry".into()
            }
            Error::Auth { failure } => match failure {
                AuthFailure::AuthErr | AuthFailure::Rejected => {
                    "wrong user name, password or API key, account locked, or (TrueNAS 25.x) the user's groups have no privilege".into()
                }
                AuthFailure::Expired => {
                    "the password or API key expired (API keys sent over plain ws:// are revoked): ask an admin for a new one".into()
                }
                AuthFailure::OtpRequired => "two-factor authentication: continue with the one-time code".into(),
                AuthFailure::Redirect => "this is an HA standby controller: connect to the active one".into(),
                AuthFailure::Denied => "the account has no API access: add its group to a privilege".into(),
            },
            Error::InsecureTransport { .. } => {
                "TrueNAS revokes API keys sent over plain HTTP: connect with wss:// (TLS), pinning the certificate if it is self-signed".into()
            }
            Error::Protocol { .. } => "the server spoke an unexpected protocol: check the endpoint path and protocol".into(),
            Error::Decode { .. } => "the server's answer has an unexpected shape: a different TrueNAS version?".into(),
            Error::Transport { .. } => "the connection failed: retry".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_hints() {
        let e = Error::closed(Some(1011), "'msg'");
        assert!(e.hint().contains("legacy"));
        assert!(!e.is_retryable());
        let e = Error::closed(Some(1008), "You are not allowed to access this resource");
        assert!(e.hint().contains("allow-list"));
        let e = Error::closed(None, "");
        assert!(e.is_retryable());
        assert_eq!(e.to_string(), "connection closed");
    }

    #[test]
    fn upgrade_hints() {
        let e = Error::UpgradeRefused {
            status: 302,
            path: "/api/current".into(),
            location: Some("https://auth.example/".into()),
        };
        assert!(e.hint().contains("exempt /api and /websocket"));
        let e = Error::UpgradeRefused {
            status: 308,
            path: "/api/current".into(),
            location: None,
        };
        assert!(e.hint().contains("wss://"));
        assert!(
            Error::UpgradeRefused {
                status: 401,
                path: String::new(),
                location: None
            }
            .is_auth()
        );
    }
}
