//! A faithful simulator of the TrueNAS middleware: JSON-RPC 2.0 (`/api/current`, `/api/vX`) and
//! the legacy DDP-like protocol (`/websocket`) over WebSocket, optional TLS, fault injection.
//!
//! Every integration test, the `--demo` mode, the examples and the benchmarks of selfpass talk to
//! it. Its behaviour follows the project's protocol notes (read from the middleware's source) to the
//! letter: message strings, error codes, close codes. Behaviours marked UNCONFIRMED there live in
//! one module (`unconfirmed.rs`).
//!
//! # Demo data set ([`SimConfig::demo`], `truenas-sim --demo`)
//!
//! | user | password | notes |
//! |---|---|---|
//! | `alice` | `alice-demo-pass` | uid 3000, SMB on, groups map to no privilege |
//! | `bob` | `bob-demo-pass` | uid 3001, SMB off, no privilege |
//! | `carol` | `carol-demo-pass` | locked (member of `selfpass-users`) |
//! | `dave` | `dave-demo-pass` | password disabled (member of `selfpass-users`) |
//! | `erin` | `erin-demo-pass` | password hard-expired: `last_password_change` null (member of `selfpass-users`) |
//! | `frank` | `frank-demo-pass` | 2FA on, TOTP secret `JBSWY3DPEHPK3PXP`; member of `selfpass-users` |
//! | `grace` | `grace-demo-pass` | member of `selfpass-users`, whose privilege has an empty role list |
//! | `truenas_admin` | `admin-demo-pass` | uid 950, `builtin_administrators` (FULL_ADMIN) |
//! | `passwd-service` | (none; password disabled) | privilege ACCOUNT_READ + ACCOUNT_WRITE; API key `1-selfpass-demo-service-key` |
//!
//! Plus `root` (builtin, immutable, locked) and the synthetic container-root user `user.query`
//! always lists. All hashes are `$6$`, computed at start. The constants are in [`demo`].
//!
//! # Faults ([`Fault`], `--fault KIND[=ARG]`)
//!
//! | fault | effect |
//! |---|---|
//! | `latency=MS` | every reply is sent MS later |
//! | `drop-after=N` | the N-th frame of a connection is executed, then the TCP connection drops (no reply, no close frame) |
//! | `close=CODE[:REASON]` | the first frame is not executed; the server closes with CODE/REASON |
//! | `redirect=URL` | every HTTP request gets `302 Found`, `Location: URL` (an auth proxy) |
//! | `https-redirect` | every HTTP request gets `307` to the same path on `https://` |
//! | `unauthorized` | every HTTP request gets `401` |
//! | `legacy-only` | `/api/*` is 404 (a pre-25.04 server); `/websocket` works |
//! | `allow-list` | close 1008 `You are not allowed to access this resource` right after the upgrade |
//!
//! # Known differences from a real server
//!
//! Tracebacks (`trace.frames`, `formatted`) are synthetic; Python `json` parse-error texts are
//! approximated from serde_json's position; the `~` filter supports only `^ $ . * + ?`; no events
//! are ever emitted (`core.subscribe` only returns an ident), no method is a job, `py_exception`
//! is never sent, the legacy endpoint does not adapt params to v24.10 models, and 26.0's SCRAM
//! mechanism is not simulated. Everything the protocol notes mark UNCONFIRMED is in one module.
//!
//! # Example
//!
//! ```no_run
//! # async fn run() -> truenas_sim::Result<()> {
//! use truenas_sim::{SimConfig, Simulator};
//! let sim = Simulator::start(SimConfig::demo()).await?;
//! println!("{}", sim.url("/api/current")); // ws://127.0.0.1:PORT/api/current
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

mod accounts;
mod auth;
mod config;
mod connection;
pub mod demo;
mod error;
mod faults;
mod jsonrpc;
mod legacy;
mod methods;
mod query;
mod server;
mod state;
mod tls;
mod unconfirmed;
mod users;
mod wire_error;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use secrecy::SecretString;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::config::{Fault, NewUser, RateLimit, SecurityPolicy, ServerVersion, SimConfig};
pub use crate::error::{Error, Result};

use crate::state::Shared;

/// A running simulator. Dropping it stops the server (listener and every connection).
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    fingerprint: Option<String>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Builds the account store, binds `config.listen` and starts serving.
    pub async fn start(config: SimConfig) -> Result<Simulator> {
        let cfg = config.clone();
        // Hashing the demo passwords is CPU work: keep it off the async workers.
        let store = tokio::task::spawn_blocking(move || accounts::Store::new(&cfg))
            .await
            .map_err(|e| Error::Hash(e.to_string()))??;
        let (tls, fingerprint) = if config.tls {
            let (acceptor, fp) = tls::self_signed()?;
            (Some(acceptor), Some(fp))
        } else {
            (None, None)
        };
        let listener = TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            version: config.server_version,
            tls: config.tls,
            treat_as_remote: config.treat_as_remote,
            store: Mutex::new(store),
            faults: RwLock::new(config.faults.clone()),
            rate_limit: config.rate_limit.clone(),
            rate: Mutex::new(HashMap::new()),
            hooks: RwLock::new(Vec::new()),
            boot_id: uuid::Uuid::new_v4().to_string(),
            started: SystemTime::now(),
            crypt_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
        });
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, shared.clone(), tls, rx));
        Ok(Simulator {
            shared,
            addr,
            fingerprint,
            shutdown: tx,
            task: Some(task),
        })
    }

    /// The bound address (the real port when `listen` had port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://ADDR{path}`, or `wss://…` when TLS is on.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.shared.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{path}", self.addr)
    }

    /// `sha256:` + 64 lowercase hex of the certificate's DER bytes, when TLS is on.
    pub fn fingerprint(&self) -> Option<String> {
        self.fingerprint.clone()
    }

    /// Replaces the active faults (takes effect for new requests and frames).
    pub fn set_faults(&self, faults: Vec<Fault>) {
        match self.shared.faults.write() {
            Ok(mut f) => *f = faults,
            Err(p) => *p.into_inner() = faults,
        }
    }

    /// Registers a hook called with username and new password after every successful change.
    pub fn on_password_change(&self, hook: impl Fn(&str, &SecretString) + Send + Sync + 'static) {
        match self.shared.hooks.write() {
            Ok(mut h) => h.push(Arc::new(hook)),
            Err(p) => p.into_inner().push(Arc::new(hook)),
        }
    }

    /// Sets the enterprise password-policy fields of `system.security.config`.
    pub fn set_security_policy(&self, policy: SecurityPolicy) {
        self.shared.store().policy = policy;
    }

    /// The stored user entry (unredacted, computed fields included).
    pub fn user(&self, username: &str) -> Option<Value> {
        let store = self.shared.store();
        store
            .user(username)
            .map(|u| store.entry(u, accounts::now_ms()))
    }

    /// Sets one stored field of a user (e.g. `last_password_change` as `{"$date": ms}`, `smb`).
    /// Returns false when the user does not exist.
    pub fn set_user_field(&self, username: &str, field: &str, value: Value) -> bool {
        let mut store = self.shared.store();
        match store.user_index(username) {
            Some(i) => {
                store.users[i].insert(field.to_owned(), value);
                true
            }
            None => false,
        }
    }

    /// Adds a user at run time (hashes its password). Returns its id.
    pub async fn add_user(&self, user: NewUser) -> Result<i64> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.store().add_user(&user))
            .await
            .map_err(|e| Error::Hash(e.to_string()))?
    }

    /// Stops the server and waits for the listener to close.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
