//! Talk to a TrueNAS middleware — JSON-RPC 2.0 on `/api/current` or the legacy protocol on
//! `/websocket` — over one WebSocket shared by many concurrent calls, with every failure explained
//! by an [`Error`] that carries a [`hint`](Error::hint) a user can act on.
//!
//! ```
//! use truenas_client::{Client, Endpoint, Options, Query, SecretString, Tls};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let sim = truenas_sim::Simulator::start(truenas_sim::SimConfig::demo().tls(true)).await?;
//! # let (url, pin) = (sim.url(""), sim.fingerprint().unwrap_or_default());
//! // url = "wss://nas.local", pin = "sha256:…" (TRUENAS_TLS_FINGERPRINT)
//! let endpoint: Endpoint = url.parse()?;
//! let options = Options::default().tls(Tls::Pinned(pin.parse()?));
//! let client = Client::connect(endpoint, options).await?;
//! let key = SecretString::from("1-selfpass-demo-service-key");
//! client.login_api_key(key, Some("passwd-service")).await?;
//! for user in client.users(&Query::new().local_only()).await? {
//!     println!("{} (uid {})", user.username, user.uid);
//! }
//! # Ok(()) }
//! ```
//!
//! Design: [`Client`] is a cloneable handle on one socket. A lone caller writes its call and reads
//! its own reply; concurrent callers queue their frames for whoever holds the socket, and a
//! background task reads for calls left waiting. Replies are matched by id; at most 20 calls are
//! in flight (the server's limit), others wait. After a drop, in-flight
//! calls fail with a retryable [`Error::Closed`], and the next call reconnects with jittered
//! exponential backoff and logs in again with the same credentials.

mod client;
mod codec;
pub mod diagnose;
mod engine;
mod error;
mod query;
mod tls;
mod transport;
mod types;

pub use client::{Client, Endpoint, Options, Protocol};
pub use diagnose::{CertReport, Versions};
pub use error::{AuthFailure, BoxError, Error, Result, Stage, ValidationError};
pub use query::{Op, Query};
pub use tls::{CertInfo, Fingerprint, Tls};
pub use types::{
    Date, LoginOutcome, Privilege, SecurityConfig, SetOf, SystemInfo, User, UserGroup, UserInfo,
};

/// Re-exported so callers can build secrets without naming the `secrecy` crate version.
pub use secrecy::SecretString;
