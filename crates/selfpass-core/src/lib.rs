//! The one core of selfpass: configuration and the operations both binaries call.
//!
//! The portal (`selfpass-web`) and the admin CLI (`selfpass`) are thin: they parse HTTP or
//! arguments, call a [`Core`] operation and render its answer. Every decision lives here or in
//! `auth-policy`: canonicalising the typed name, throttling, the verifier chain (log in as the user,
//! SMB probe, crypt hash), password rules, the change itself and the audit trail.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use secrecy::SecretString;
//! use selfpass_core::{ClientInfo, Config, Core, Scope, SignIn, Sources};
//!
//! let config = Config::load(&Sources { read_env: true, ..Sources::default() }, Scope::Both)?;
//! let core = Core::connect(config).await?;
//! let client = ClientInfo::local();
//! match core.sign_in("alice", SecretString::from("alice-demo-pass"), client).await? {
//!     SignIn::Done(session) => {
//!         core.change_own_password(
//!             &session,
//!             SecretString::from("alice-demo-pass"),
//!             SecretString::from("a much longer and stranger passphrase"),
//!             None,
//!             client,
//!         )
//!         .await?;
//!     }
//!     SignIn::SecondFactor(_) => { /* ask for the code, then core.second_factor(..) */ }
//! }
//! # Ok(()) }
//! ```

pub mod config;
mod core;
#[cfg(feature = "demo")]
pub mod demo;
pub mod doctor;
mod generations;
mod outcome;
mod verifiers;

pub use crate::config::{Config, ConfigError, Scope, Sources};
pub use crate::core::Core;
pub use crate::outcome::{
    Changed, CheckReport, ClientInfo, Failure, Kind, NewPassword, PendingSecondFactor, Reset,
    ResetOptions, RuleText, Session, SignIn, Strength, UserRow, Violation,
};
pub use secrecy::{ExposeSecret, SecretString};

/// selfpass's version, for `--version` and the portal footer.
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
