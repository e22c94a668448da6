//! Decisions for selfpass, without protocol I/O: who may try, how a password is proven, when to
//! stop listening, what a new password must meet, and what a person is told.
//!
//! `selfpass-core` feeds this crate facts it read from TrueNAS and acts on the answers; nothing here
//! opens a socket to TrueNAS (the optional Redis throttle store is the one exception, and it only
//! stores counters).
//!
//! - [`names`]: the one canonical form of a typed user name (throttle key, SMB name, audit name).
//! - [`verifier`]: the chain of password verifiers and its semantics.
//! - [`throttle`]: sliding-window bans per (name, client), name and client, with an injected clock.
//! - [`rules`]: every reason a new password is refused, all at once.
//! - [`eligibility`]: who may change their own password here.
//! - [`audit`]: typed audit events that never carry a password.
//! - [`kinds`]: the user-facing error kinds both binaries show.
//!
//! Features: `redis` adds `throttle::RedisStore`, so portal replicas share counters; `testing`
//! adds `verifier::conformance`, the acceptance suite every `PasswordVerifier` should pass.
//!
//! ```
//! use auth_policy::names::{NameConfig, resolve};
//!
//! let config = NameConfig::new(["WORKGROUP", "EXAMPLE.COM"]);
//! let users = ["alice", "bob"];
//! let lookup = |name: &str| users.iter().find(|u| u.eq_ignore_ascii_case(name)).map(|u| u.to_string());
//! for typed in ["ALICE", "WORKGROUP\\alice", "alice@example.com", "  alice "] {
//!     assert_eq!(resolve(typed, &config, &lookup).unwrap().key(), "alice");
//! }
//! ```

pub mod audit;
pub mod eligibility;
mod error;
pub mod kinds;
pub mod names;
pub mod rules;
pub mod throttle;
pub mod verifier;

pub use error::{Error, Result};

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future: the async traits here are used as trait objects, which native
/// `async fn` in traits does not allow.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
