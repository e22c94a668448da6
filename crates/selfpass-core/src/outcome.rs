//! What the core's operations hand back to the binaries: sessions, pending steps, reports and the
//! one user-facing failure type.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

pub use auth_policy::kinds::UserFacing as Kind;

/// Who is asking: the client address feeds the throttle and the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's address (after trusted-proxy processing).
    pub ip: IpAddr,
}

impl ClientInfo {
    /// A client at `ip`.
    pub fn new(ip: IpAddr) -> Self {
        Self { ip }
    }

    /// The local machine (CLI use).
    pub fn local() -> Self {
        Self {
            ip: IpAddr::from([127, 0, 0, 1]),
        }
    }
}

/// A signed-in portal user. Small and serialisable: the portal keeps it in its session store.
/// It proves nothing by itself: a change re-proves the current password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The exact local username.
    pub username: String,
    /// Full name, for greeting.
    pub full_name: String,
    /// The user has two-factor authentication: the change form asks for a code.
    pub two_factor: bool,
    /// The password has expired or must be changed: offer the change at once.
    pub must_change: bool,
    /// The user's session generation when signed in; sessions of older generations are void
    /// (a password change bumps it, ending every other session of that user).
    pub generation: u64,
    /// Unix time of sign-in, seconds.
    pub signed_in_at: u64,
}

/// A sign-in waiting for the two-factor code. The token is random and opaque.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSecondFactor {
    /// Random token naming the held middleware connection.
    pub token: String,
    /// The user it is for.
    pub username: String,
}

/// The answer to a correct password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// Signed in.
    Done(Session),
    /// Now the two-factor code (same portal replica: the middleware connection is held here).
    SecondFactor(PendingSecondFactor),
}

/// A password rule, as shown before typing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleText {
    /// Stable key.
    pub key: String,
    /// Sentence for a person.
    pub text: String,
}

/// A password the rules refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Stable key (e.g. `too-short`).
    pub key: String,
    /// Sentence for a person.
    pub message: String,
}

/// Strength estimate for the meter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Strength {
    /// zxcvbn score, 0 (weakest) to 4.
    pub score: u8,
    /// The minimum the policy asks for.
    pub required: u8,
    /// Suggestions.
    pub feedback: Vec<String>,
}

/// A successful password change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// Whose password.
    pub username: String,
}

/// A new password for an admin reset.
#[derive(Debug)]
pub enum NewPassword {
    /// Given by the admin.
    Given(SecretString),
    /// Generated from the OS CSPRNG.
    Generated {
        /// Length in characters.
        length: usize,
    },
}

/// Options of an admin reset.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResetOptions {
    /// Accept a given password that fails the rules (warned and audited).
    pub allow_weak: bool,
    /// Reset a protected account (root, builtin, admins, the service account).
    pub force_protected: bool,
    /// Check everything, change nothing.
    pub dry_run: bool,
}

/// Result of an admin reset.
#[derive(Debug)]
pub struct Reset {
    /// Whose password.
    pub username: String,
    /// The generated password, to show once (never logged).
    pub generated: Option<SecretString>,
    /// Rules the given password fails (only with `allow_weak`).
    pub weak: Vec<Violation>,
    /// Nothing was changed (dry run).
    pub dry_run: bool,
}

/// One user, as the CLI lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    /// Username.
    pub username: String,
    /// uid.
    pub uid: i64,
    /// Full name.
    pub full_name: String,
    /// SMB access.
    pub smb: bool,
    /// Locked.
    pub locked: bool,
    /// Password login disabled.
    pub password_disabled: bool,
    /// Last change, Unix seconds.
    pub last_password_change: Option<i64>,
    /// Password age in days.
    pub password_age_days: Option<i64>,
    /// Two-factor configured.
    pub two_factor: bool,
    /// Directory-service user (not changeable here).
    pub local: bool,
}

/// Which verifier answered a `check`, step by step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Canonical name.
    pub username: String,
    /// Whether the password was proven.
    pub accepted: bool,
    /// The verifier that decided, if any.
    pub decided_by: Option<String>,
    /// Each verifier that ran: (name, verdict text).
    pub steps: Vec<(String, String)>,
}

/// A user-facing failure: a kind from the one table (stable key, sentence, hint, HTTP status, exit
/// code), plus details a person may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    kind: Kind,
    retry_after: Option<Duration>,
    violations: Vec<Violation>,
    detail: Option<String>,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            retry_after: None,
            violations: Vec::new(),
            detail: None,
        }
    }

    pub(crate) fn with_retry_after(mut self, after: Duration) -> Self {
        self.retry_after = Some(after);
        self
    }

    pub(crate) fn with_violations(mut self, violations: Vec<Violation>) -> Self {
        self.violations = violations;
        self
    }

    /// Adds a detail safe to show (never a secret, never an account fact before proof).
    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Stable key, e.g. `wrong-credentials`.
    pub fn key(&self) -> &'static str {
        self.kind.key()
    }

    /// The sentence a person reads.
    pub fn message(&self) -> &'static str {
        self.kind.sentence()
    }

    /// What to do about it.
    pub fn hint(&self) -> &'static str {
        self.kind.hint()
    }

    /// HTTP status the portal answers with.
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }

    /// CLI exit code.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.kind.exit_code())
    }

    /// When trying again makes sense (throttle bans, a busy server).
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Every unmet password rule (kind `password-rules`).
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// A further detail safe to show (e.g. the server's own validation message, in words).
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message())?;
        if let Some(detail) = &self.detail {
            write!(f, " ({detail})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Failure {}
