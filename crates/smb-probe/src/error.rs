//! The one error type of this crate.

use std::time::Duration;

/// A boxed source error from the SMB stack (kept out of the public API on purpose).
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a probe could not decide whether the password is right.
///
/// None of these says anything about the password: a verifier chain treats every variant except
/// [`ProbeError::InvalidUsername`] and [`ProbeError::InvalidTarget`] as *Unavailable* (see
/// [`ProbeError::is_unavailable`]). No variant ever carries the password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// The username is empty, holds control characters or is not one of the accepted forms.
    #[error("invalid username: {0}")]
    InvalidUsername(&'static str),
    /// The target is unusable (empty host, zero timeout, zero port).
    #[error("invalid target: {0}")]
    InvalidTarget(&'static str),
    /// The host name did not resolve.
    #[error("cannot resolve {host}")]
    Resolve {
        /// The host as given.
        host: String,
        /// What the resolver said.
        #[source]
        source: std::io::Error,
    },
    /// The TCP connection was refused or the host is unreachable.
    #[error("cannot connect to {addr}")]
    Connect {
        /// The address tried.
        addr: std::net::SocketAddr,
        /// What the socket said.
        #[source]
        source: std::io::Error,
    },
    /// The probe did not finish within the target's timeout.
    #[error("no answer within {} ms", .after.as_millis())]
    Timeout {
        /// The bound that was exceeded.
        after: Duration,
    },
    /// The server dropped the connection.
    #[error("the server closed the connection during {stage}")]
    Disconnected {
        /// Which step was running.
        stage: &'static str,
    },
    /// A message's signature did not verify (or a session came back unsigned).
    #[error("signing failed during {stage}")]
    Signing {
        /// Which step was running.
        stage: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// Negotiation failed: no common dialect, required encryption unavailable, malformed replies.
    #[error("SMB protocol failure during {stage}")]
    Protocol {
        /// Which step was running.
        stage: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// The server answered the session setup with an NTSTATUS this crate does not map.
    #[error("server answered the logon with NTSTATUS {status:#010x}")]
    ServerStatus {
        /// The raw NTSTATUS code.
        status: u32,
    },
}

impl ProbeError {
    /// True for errors the verifier chain treats as *Unavailable* (the server could not be asked),
    /// i.e. everything except a malformed username or target.
    pub fn is_unavailable(&self) -> bool {
        !self.is_invalid_input()
    }

    /// True when the caller's input (username or target) was rejected before any network step.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Self::InvalidUsername(_) | Self::InvalidTarget(_))
    }

    /// True when the probe ran out of time.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }

    /// True when a later attempt may succeed (network trouble, timeouts, disconnects).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Resolve { .. }
                | Self::Connect { .. }
                | Self::Timeout { .. }
                | Self::Disconnected { .. }
        )
    }
}

/// Result with this crate's error.
pub type Result<T, E = ProbeError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifiers() {
        assert!(ProbeError::InvalidUsername("empty").is_invalid_input());
        assert!(!ProbeError::InvalidUsername("empty").is_unavailable());
        let t = ProbeError::Timeout {
            after: Duration::from_secs(1),
        };
        assert!(t.is_unavailable() && t.is_timeout() && t.is_retryable());
        assert!(ProbeError::ServerStatus { status: 1 }.is_unavailable());
        assert!(!ProbeError::ServerStatus { status: 1 }.is_retryable());
    }
}
