//! Shared server state and per-connection state.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::{Instant, SystemTime};

use secrecy::SecretString;

use crate::accounts::{Credentials, Store};
use crate::config::{Fault, RateLimit, ServerVersion};

/// The password-change hook type.
pub(crate) type PasswordHook = Arc<dyn Fn(&str, &SecretString) + Send + Sync>;

/// State shared by every connection of one simulator.
pub(crate) struct Shared {
    pub version: ServerVersion,
    pub tls: bool,
    pub treat_as_remote: bool,
    pub store: Mutex<Store>,
    pub faults: RwLock<Vec<Fault>>,
    pub rate_limit: Option<RateLimit>,
    pub rate: Mutex<HashMap<(String, IpAddr), (Instant, u32)>>,
    pub hooks: RwLock<Vec<PasswordHook>>,
    pub boot_id: String,
    pub started: SystemTime,
    /// crypt(3) work running at once: one per core, taken in arrival order.
    pub crypt_slots: tokio::sync::Semaphore,
}

/// Locks a std mutex, surviving poisoning (a panicked test thread must not wedge the server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Runs CPU-bound crypt(3) work (hashing, checking a password) on a blocking thread, at most
    /// one per core at a time, as the middleware's worker pool bounds it. More at once would only
    /// time-slice the cores and make every caller wait longer. `None` if the work panicked.
    pub(crate) async fn crypt<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let _slot = self.crypt_slots.acquire().await.ok()?;
        tokio::task::spawn_blocking(work).await.ok()
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    pub(crate) fn faults(&self) -> Vec<Fault> {
        self.faults
            .read()
            .map(|f| f.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub(crate) fn run_hooks(&self, username: &str, password: &SecretString) {
        let hooks: Vec<PasswordHook> = self
            .hooks
            .read()
            .map(|h| h.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        for h in hooks {
            h(username, password);
        }
    }
}

/// A pending 2FA challenge on a connection.
#[derive(Debug, Clone)]
pub(crate) struct OtpChallenge {
    pub username: String,
    pub attempts: u32,
    pub otpw: bool,
}

/// Mutable state of one WebSocket connection.
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    pub creds: Option<Credentials>,
    pub otp: Option<OtpChallenge>,
    pub legacy_jobs: bool,
    pub private_methods: bool,
    pub py_exceptions: bool,
}

/// One WebSocket connection, as methods see it.
pub(crate) struct Conn {
    pub shared: Arc<Shared>,
    pub peer: SocketAddr,
    /// TLS, or loopback not treated as remote: where plain API keys are allowed.
    pub secure: bool,
    pub state: Mutex<ConnState>,
}

impl Conn {
    /// `https_header`: nginx's `X-Https: on` (`utils/origin.py`).
    pub(crate) fn new(shared: Arc<Shared>, peer: SocketAddr, https_header: bool) -> Conn {
        let secure =
            shared.tls || https_header || (peer.ip().is_loopback() && !shared.treat_as_remote);
        Conn {
            shared,
            peer,
            secure,
            state: Mutex::new(ConnState {
                legacy_jobs: true,
                ..ConnState::default()
            }),
        }
    }

    pub(crate) fn creds(&self) -> Option<Credentials> {
        lock(&self.state).creds.clone()
    }

    /// Looks at the credentials without copying them (the per-call authorization check).
    pub(crate) fn with_creds<R>(&self, look: impl FnOnce(Option<&Credentials>) -> R) -> R {
        look(lock(&self.state).creds.as_ref())
    }

    pub(crate) fn authenticated(&self) -> bool {
        lock(&self.state).creds.is_some()
    }
}
