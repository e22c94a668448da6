use std::path::PathBuf;

/// Everything that can go wrong in auth-policy.
///
/// Password rule failures are not errors: they are answers ([`crate::rules::RuleViolation`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is out of range or inconsistent; `setting` names it.
    #[error("invalid setting `{setting}`: {reason}")]
    Config {
        /// The setting's name.
        setting: &'static str,
        /// What is wrong, in words.
        reason: String,
    },
    /// A typed user name cannot be a user name (empty, control characters, too long).
    #[error("invalid user name: {0}")]
    InvalidName(&'static str),
    /// The throttle store failed (Redis unreachable, a script error, a poisoned lock).
    #[error("throttle store: {message}")]
    Store {
        /// What failed, without secrets.
        message: String,
        /// The underlying error, kept as a source so no dependency type leaks into the API.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },
    /// An admin list file could not be read.
    #[error("cannot read {path}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// True when trying again later may succeed (a store that is down).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Error::Store { .. })
    }

    pub(crate) fn config(setting: &'static str, reason: impl Into<String>) -> Self {
        Error::Config {
            setting,
            reason: reason.into(),
        }
    }

    pub(crate) fn store(message: impl Into<String>) -> Self {
        Error::Store {
            message: message.into(),
            source: None,
        }
    }
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
