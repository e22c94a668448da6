//! The crate's one error type.

use std::io;

/// Everything that can go wrong while starting or configuring the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Binding or serving the listening socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The self-signed certificate or the TLS configuration could not be made.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// Hashing a password for the account store failed.
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// A command-line style value (`--fault`, `--rate-limit`, `--server-version`) did not parse.
    #[error("invalid value {value:?}: {why}")]
    Parse {
        /// The text that was given.
        value: String,
        /// What was expected.
        why: String,
    },
    /// A user given to [`crate::Simulator::add_user`] is unusable (e.g. the name exists).
    #[error("invalid user: {0}")]
    InvalidUser(String),
}

impl Error {
    pub(crate) fn parse(value: &str, why: impl Into<String>) -> Self {
        Error::Parse {
            value: value.to_owned(),
            why: why.into(),
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
