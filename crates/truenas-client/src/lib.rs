//! Talk to a TrueNAS middleware — JSON-RPC 2.0 on `/api/current` or the legacy protocol on
//! `/websocket` — over one WebSocket shared by many concurrent calls, with every failure explained
//! by an [`Error`] that carries a [`hint`](Error::hint) a user can act on.
//!
//! ```no_run
//! use secrecy::SecretString;
//! use truenas_client::{Client, Endpoint, Options, Query, Tls};
//!
//! # async fn demo() -> truenas_client::Result<()> {
//! let pin = std::env::var("TRUENAS_TLS_FINGERPRINT").unwrap_or_default().parse()?;
//! let endpoint: Endpoint = "wss://nas.local".parse()?;
//! let client = Client::connect(endpoint, Options::default().tls(Tls::Pinned(pin))).await?;
//! client.login_api_key(SecretString::from("1-abcdef"), Some("svc")).await?;
//! for user in client.users(&Query::new().local_only()).await? {
//!     println!("{} (uid {})", user.username, user.uid);
//! }
//! # Ok(()) }
//! ```
//!
//! Design: a driver task owns the socket; [`Client`] is a cloneable handle; replies are matched by
//! id; at most 20 calls are in flight (the server's limit), others wait. After a drop, in-flight
//! calls fail with a retryable [`Error::Closed`], and the next call reconnects with jittered
//! exponential backoff and logs in again with the same credentials.

mod client;
mod codec;
mod engine;
mod error;
mod query;
mod tls;
mod transport;
mod types;

pub use client::{Client, Endpoint, Options, Protocol};
pub use error::{AuthFailure, BoxError, Error, Result, Stage, ValidationError};
pub use query::{Op, Query};
pub use tls::{CertInfo, Fingerprint, Tls};
pub use types::{
    Date, LoginOutcome, Privilege, SecurityConfig, SetOf, SystemInfo, User, UserGroup, UserInfo,
};

/// Re-exported so callers can build secrets without naming the `secrecy` crate version.
pub use secrecy::SecretString;
