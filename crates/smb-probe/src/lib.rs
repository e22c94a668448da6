//! Proves a password with an SMB login: one SMB2/3 session setup (NTLMv2) against a server.
//!
//! [`probe`] connects to the server, negotiates, sets up a session with the given name and
//! password, logs off and closes — all under one timeout — and answers whether the server
//! accepted the password. A guest or anonymous session is never an acceptance: a Samba
//! configured with `map to guest = bad user` answers an unknown user with a guest session, and
//! that is [`RejectReason::Guest`]. A password that is right but must be changed (or has
//! expired) is its own outcome, [`ProbeOutcome::PasswordMustChange`].
//!
//! Everything that keeps the server from deciding (unreachable, refused, timeout, dialect or
//! signing failure) is a [`ProbeError`]; [`ProbeError::is_unavailable`] says so.
//!
//! ```no_run
//! use secrecy::SecretString;
//! use smb_probe::{probe, ProbeOutcome, Target};
//!
//! # async fn demo() -> smb_probe::Result<()> {
//! let target = Target::new("nas.local").with_workgroup("WORKGROUP");
//! let password = SecretString::from("correct horse");
//! match probe(&target, "alice", &password).await? {
//!     ProbeOutcome::Accepted => println!("right password"),
//!     ProbeOutcome::PasswordMustChange => println!("right password, but it must be changed"),
//!     ProbeOutcome::Rejected(reason) => println!("rejected: {reason}"),
//!     _ => {}
//! }
//! # Ok(()) }
//! ```
//!
//! The connection uses this crate's own TCP transport (`TCP_NODELAY`, one write per message):
//! with `smb`'s stock transport every request waits for a delayed ACK (see `transport.rs`).

mod error;
mod status;
mod transport;
mod username;

pub use error::{ProbeError, Result};

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::time::{Instant, timeout_at};

use crate::error::BoxError;
use crate::transport::{GUEST_OR_NULL, NoDelayTcp, SetupObserver};

/// The server to probe against.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// Host name or IP address.
    pub host: String,
    /// TCP port (SMB over TCP: 445).
    pub port: u16,
    /// Workgroup / NetBIOS domain sent with names that carry none (`None`: empty domain).
    pub workgroup: Option<String>,
    /// Bound on the whole probe: resolve, connect, negotiate and session setup. Never zero.
    pub timeout: Duration,
    /// Require SMB3 encryption of the session (the server must offer it).
    pub require_encryption: bool,
}

impl Target {
    /// Default port of SMB over TCP.
    pub const DEFAULT_PORT: u16 = 445;
    /// Default bound on a probe.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

    /// A target on port 445 with no workgroup and a 5 s timeout.
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            port: Self::DEFAULT_PORT,
            workgroup: None,
            timeout: Self::DEFAULT_TIMEOUT,
            require_encryption: false,
        }
    }

    /// Sets the port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Sets the workgroup sent with plain names.
    pub fn with_workgroup(mut self, workgroup: impl Into<String>) -> Self {
        self.workgroup = Some(workgroup.into());
        self
    }

    /// Sets the bound on the whole probe (must not be zero).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Requires an encrypted session.
    pub fn with_required_encryption(mut self, required: bool) -> Self {
        self.require_encryption = required;
        self
    }
}

/// What the server said about the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProbeOutcome {
    /// A real (non-guest, non-anonymous), signed session was set up: the password is right.
    Accepted,
    /// The server checked the password, found it right, and wants it changed
    /// (NTSTATUS `PASSWORD_MUST_CHANGE` 0xC0000224 or `PASSWORD_EXPIRED` 0xC0000071).
    PasswordMustChange,
    /// No real session.
    Rejected(RejectReason),
}

impl ProbeOutcome {
    /// True when the server confirmed the password ([`Self::Accepted`] or
    /// [`Self::PasswordMustChange`]).
    pub fn proves_password(&self) -> bool {
        matches!(self, Self::Accepted | Self::PasswordMustChange)
    }
}

/// Why the server refused a session (from the final session-setup NTSTATUS or session flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RejectReason {
    /// `LOGON_FAILURE` 0xC000006D (also `WRONG_PASSWORD`, `NO_SUCH_USER`): wrong password or
    /// unknown user — servers answer both alike.
    #[error("logon failure")]
    LogonFailure,
    /// `ACCOUNT_DISABLED` 0xC0000072.
    #[error("account disabled")]
    AccountDisabled,
    /// `ACCOUNT_LOCKED_OUT` 0xC0000234 (Samba says this before checking the password).
    #[error("account locked out")]
    LockedOut,
    /// `ACCOUNT_EXPIRED` 0xC0000193: the account (not the password) has expired.
    #[error("account expired")]
    Expired,
    /// `ACCESS_DENIED` 0xC0000022 or `LOGON_TYPE_NOT_GRANTED` 0xC000015B (an
    /// encryption-requiring Samba answers a guest-mapped logon with `ACCESS_DENIED`).
    #[error("access denied")]
    AccessDenied,
    /// `ACCOUNT_RESTRICTION`, `INVALID_LOGON_HOURS`, `INVALID_WORKSTATION`.
    #[error("account restriction")]
    AccountRestriction,
    /// The server offered a guest or anonymous session (session flags `IS_GUEST`/`IS_NULL`).
    #[error("guest or anonymous session")]
    Guest,
}

/// Proves `password` for `username` by an SMB session setup against `target`.
///
/// `username` is `alice`, `WORKGROUP\alice` or `alice@REALM` (sent as `REALM\alice`); names that
/// are empty or hold control characters are refused before any network step. The whole probe
/// (resolve, connect, negotiate, session setup) runs under `target.timeout`; the session is
/// logged off and the connection closed on every path.
pub async fn probe(
    target: &Target,
    username: &str,
    password: &SecretString,
) -> Result<ProbeOutcome> {
    let name = username::parse(username, target.workgroup.as_deref())?;
    if target.host.is_empty() {
        return Err(ProbeError::InvalidTarget("empty host"));
    }
    if target.port == 0 {
        return Err(ProbeError::InvalidTarget("port 0"));
    }
    if target.timeout.is_zero() {
        // smb treats a zero timeout as "wait forever".
        return Err(ProbeError::InvalidTarget("zero timeout"));
    }
    let deadline = Instant::now() + target.timeout;
    let timed_out = || ProbeError::Timeout {
        after: target.timeout,
    };

    let username = sspi::Username::new_down_level_logon_name(&name.account, &name.domain)
        .map_err(|_| ProbeError::InvalidUsername("not a valid down-level logon name"))?;
    let identity = sspi::AuthIdentity {
        username,
        password: password.expose_secret().to_owned().into(),
    };

    let addr = timeout_at(deadline, resolve(&target.host, target.port))
        .await
        .map_err(|_| timed_out())??;
    let stream = timeout_at(deadline, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| timed_out())?
        .map_err(|source| ProbeError::Connect { addr, source })?;
    let observer = Arc::new(SetupObserver::default());
    let transport = NoDelayTcp::new(stream, Arc::clone(&observer))
        .map_err(|source| ProbeError::Connect { addr, source })?;

    let config = smb::ConnectionConfig {
        port: Some(target.port),
        timeout: Some(target.timeout),
        encryption_mode: if target.require_encryption {
            smb::connection::EncryptionMode::Required
        } else {
            smb::connection::EncryptionMode::Allowed
        },
        // Never: a guest session must fail, not pass unsigned.
        allow_unsigned_guest_access: false,
        compression_enabled: false,
        disable_notifications: true,
        smb2_only_negotiate: true,
        ..Default::default()
    };
    let connection = timeout_at(
        deadline,
        smb::Connection::from_transport(
            Box::new(transport),
            &target.host,
            smb::Guid::generate(),
            config,
        ),
    )
    .await
    .map_err(|_| timed_out())?
    .map_err(|e| map_error(e, "negotiate"))?;

    let setup = timeout_at(deadline, connection.authenticate(identity)).await;
    let outcome = match setup {
        Err(_) => Err(timed_out()),
        Ok(Ok(session)) => {
            let outcome = accepted_or_guest(observer.last());
            // Log off and close within what is left of the bound; dropping closes the socket anyway.
            let _ = timeout_at(deadline, session.logoff()).await;
            outcome
        }
        Ok(Err(e)) => decide_failure(e, observer.last()),
    };
    let _ = timeout_at(deadline, connection.close()).await;
    tracing::debug!(
        target: "smb_probe",
        user = %name.account,
        domain = %name.domain,
        server = %addr,
        outcome = ?outcome.as_ref().ok(),
        error = outcome.as_ref().err().map(tracing::field::display),
        "smb probe finished"
    );
    outcome
}

/// The first address `host:port` resolves to.
async fn resolve(host: &str, port: u16) -> Result<SocketAddr> {
    let resolve_err = |source| ProbeError::Resolve {
        host: host.to_owned(),
        source,
    };
    tokio::net::lookup_host((host, port))
        .await
        .map_err(resolve_err)?
        .next()
        .ok_or_else(|| {
            resolve_err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no address",
            ))
        })
}

/// `smb` set up a session: accept it only if the final response was seen, was a success and
/// carried neither the guest nor the null flag.
fn accepted_or_guest(last: Option<(u32, u16)>) -> Result<ProbeOutcome> {
    match last {
        Some((status::SUCCESS, flags)) if flags & GUEST_OR_NULL == 0 => Ok(ProbeOutcome::Accepted),
        Some((status::SUCCESS, _)) => Ok(ProbeOutcome::Rejected(RejectReason::Guest)),
        Some((status, _)) => Err(ProbeError::ServerStatus { status }),
        None => Err(ProbeError::Protocol {
            stage: "session setup",
            source: "no session setup response seen".into(),
        }),
    }
}

/// Session setup failed: what the server said on the wire decides first, then `smb`'s error.
fn decide_failure(err: smb::Error, last: Option<(u32, u16)>) -> Result<ProbeOutcome> {
    match last {
        // A guest or anonymous session that smb refused (unsigned, or signed with a key we cannot
        // check): never an acceptance, and not an outage either.
        Some((status::SUCCESS, flags)) if flags & GUEST_OR_NULL != 0 => {
            return Ok(ProbeOutcome::Rejected(RejectReason::Guest));
        }
        Some((s, _)) if s != status::SUCCESS && s != status::MORE_PROCESSING_REQUIRED => {
            return status::outcome(s).ok_or(ProbeError::ServerStatus { status: s });
        }
        _ => {}
    }
    match err {
        smb::Error::UnexpectedMessageStatus(s) | smb::Error::ReceivedErrorMessage(s, _) => {
            status::outcome(s).ok_or(ProbeError::ServerStatus { status: s })
        }
        other => Err(map_error(other, "session setup")),
    }
}

/// Maps an `smb` error that is not a logon answer.
fn map_error(err: smb::Error, stage: &'static str) -> ProbeError {
    use smb::transport::TransportError as T;
    match err {
        smb::Error::TransportError(T::NotConnected) | smb::Error::ConnectionStopped => {
            ProbeError::Disconnected { stage }
        }
        smb::Error::TransportError(T::Timeout(after)) | smb::Error::OperationTimeout(_, after) => {
            ProbeError::Timeout { after }
        }
        smb::Error::SignatureVerificationFailed => ProbeError::Signing {
            stage,
            source: boxed(err),
        },
        smb::Error::InvalidMessage(ref m) if m.contains("sign") => ProbeError::Signing {
            stage,
            source: boxed(err),
        },
        other => ProbeError::Protocol {
            stage,
            source: boxed(other),
        },
    }
}

fn boxed(err: smb::Error) -> BoxError {
    // The message only: smb's error types stay out of this crate's API (and a string cannot
    // carry anything but what smb printed, which never includes the password).
    err.to_string().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_plain_success_is_accepted() {
        assert_eq!(
            accepted_or_guest(Some((0, 0))).ok(),
            Some(ProbeOutcome::Accepted)
        );
        assert_eq!(
            accepted_or_guest(Some((0, 0x0004))).ok(),
            Some(ProbeOutcome::Accepted)
        );
        for flags in [0x0001, 0x0002, 0x0003, 0x0005] {
            assert_eq!(
                accepted_or_guest(Some((0, flags))).ok(),
                Some(ProbeOutcome::Rejected(RejectReason::Guest))
            );
        }
        assert!(accepted_or_guest(None).is_err());
        assert!(accepted_or_guest(Some((0xC000_006D, 0))).is_err());
    }

    #[test]
    fn failures_decided_by_the_wire_first() {
        let err = || smb::Error::SignatureVerificationFailed;
        assert_eq!(
            decide_failure(err(), Some((0, 1))).ok(),
            Some(ProbeOutcome::Rejected(RejectReason::Guest))
        );
        assert_eq!(
            decide_failure(err(), Some((0xC000_0224, 0))).ok(),
            Some(ProbeOutcome::PasswordMustChange)
        );
        assert!(matches!(
            decide_failure(err(), Some((0, 0))),
            Err(ProbeError::Signing { .. })
        ));
        assert!(matches!(
            decide_failure(err(), None),
            Err(ProbeError::Signing { .. })
        ));
        assert!(matches!(
            decide_failure(smb::Error::UnexpectedMessageStatus(0xC000_0072), None),
            Ok(ProbeOutcome::Rejected(RejectReason::AccountDisabled))
        ));
        assert!(matches!(
            decide_failure(smb::Error::UnexpectedMessageStatus(0xC000_0001), None),
            Err(ProbeError::ServerStatus {
                status: 0xC000_0001
            })
        ));
    }

    #[tokio::test]
    async fn invalid_input_is_refused_before_the_network() {
        let pw = SecretString::from("x");
        let t = Target::new("192.0.2.1");
        assert!(
            probe(&t, "", &pw)
                .await
                .is_err_and(|e| e.is_invalid_input())
        );
        assert!(
            probe(&t, "a\nb", &pw)
                .await
                .is_err_and(|e| e.is_invalid_input())
        );
        let zero = t.clone().with_timeout(Duration::ZERO);
        assert!(
            probe(&zero, "alice", &pw)
                .await
                .is_err_and(|e| e.is_invalid_input())
        );
    }
}
