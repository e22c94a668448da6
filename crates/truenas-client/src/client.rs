//! The cloneable [`Client`] handle: connect, reconnect, log in, call.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Semaphore;

use crate::codec::{Codec, JsonRpc, Legacy, RemoteError};
use crate::engine::{self, Failure, Handle};
use crate::error::{AuthFailure, Error, Result, Stage};
use crate::query::{Op, Query};
use crate::tls::Tls;
use crate::transport;
use crate::types::{LoginOutcome, SecurityConfig, SystemInfo, User, UserInfo};

/// Which wire protocol to speak.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol {
    /// JSON-RPC 2.0 on `/api/current` (TrueNAS 25.04+).
    JsonRpc,
    /// The legacy DDP-like protocol on `/websocket` (all versions, required before 25.04).
    Legacy,
    /// JSON-RPC on `/api/current`; falls back to legacy `/websocket` only when the upgrade answers 404.
    #[default]
    Auto,
}

/// Where the middleware listens.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    host: String,
    port: u16,
    tls: bool,
    path: Option<String>,
}

impl Endpoint {
    /// `wss://host:443` (TLS on).
    pub fn wss(host: impl Into<String>) -> Self {
        Endpoint {
            host: host.into(),
            port: 443,
            tls: true,
            path: None,
        }
    }

    /// `ws://host:80` (TLS off; secrets are refused unless the host is loopback).
    pub fn ws(host: impl Into<String>) -> Self {
        Endpoint {
            host: host.into(),
            port: 80,
            tls: false,
            path: None,
        }
    }

    /// Sets the port.
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Uses this request path instead of the protocol's default (e.g. `/api/v25.10.1`).
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Host name or address.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// TLS on.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The explicit path, if any.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// `true` when the host is a loopback name or address.
    pub fn is_loopback(&self) -> bool {
        self.host.eq_ignore_ascii_case("localhost")
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "wss" } else { "ws" };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)?;
        }
        f.write_str(self.path.as_deref().unwrap_or(""))
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint({self})")
    }
}

impl FromStr for Endpoint {
    type Err = Error;

    /// Parses `ws://`, `wss://`, `http://`, `https://` URLs or a bare `host[:port]` (TLS on).
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| Error::Config {
            reason: format!("invalid endpoint {s:?}: {why}"),
        };
        let s = s.trim();
        let (tls, rest) = if let Some(r) = s.strip_prefix("wss://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = s.strip_prefix("ws://") {
            (false, r)
        } else if let Some(r) = s.strip_prefix("http://") {
            (false, r)
        } else if s.contains("://") {
            return Err(bad("scheme must be ws, wss, http or https"));
        } else {
            (true, s)
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(&rest[i..])),
            None => (rest, None),
        };
        if authority.contains('@') {
            return Err(bad(
                "credentials in the URL are not allowed; use the login methods",
            ));
        }
        let (host, port) = if let Some(r) = authority.strip_prefix('[') {
            let end = r.find(']').ok_or_else(|| bad("unclosed '['"))?;
            let host = &r[..end];
            let port = r[end + 1..].strip_prefix(':');
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("bad port"))?,
            None if tls => 443,
            None => 80,
        };
        let path = path
            .filter(|p| *p != "/" && !p.is_empty())
            .map(str::to_string);
        if path.as_deref().is_some_and(|p| p.contains('?')) {
            return Err(bad("query strings are not allowed"));
        }
        Ok(Endpoint {
            host: host.to_string(),
            port,
            tls,
            path,
        })
    }
}

/// Connection options. Defaults: `Protocol::Auto`, system roots, connect timeout 10 s, call timeout
/// 60 s, reconnect on, keep-alive every 20 s (only when logged in), at most 20 calls in flight.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Wire protocol.
    pub protocol: Protocol,
    /// Certificate checking.
    pub tls: Tls,
    /// Timeout of each connect step (DNS+TCP, TLS, upgrade, handshake).
    pub connect_timeout: Duration,
    /// Timeout of a call, from queueing to reply.
    pub call_timeout: Duration,
    /// Reconnect (and log in again) on the next call after a drop.
    pub reconnect: bool,
    /// Connect attempts per reconnect, with jittered exponential backoff between them.
    pub reconnect_attempts: u32,
    /// First backoff delay (doubles per attempt, at most 10 s).
    pub reconnect_backoff: Duration,
    /// Keep-alive `core.ping` period when authenticated; `None` disables it.
    pub keepalive: Option<Duration>,
    /// Calls in flight on one connection; the server allows 20.
    pub max_in_flight: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            protocol: Protocol::Auto,
            tls: Tls::System,
            connect_timeout: Duration::from_secs(10),
            call_timeout: Duration::from_secs(60),
            reconnect: true,
            reconnect_attempts: 5,
            reconnect_backoff: Duration::from_millis(200),
            keepalive: Some(Duration::from_secs(20)),
            max_in_flight: 20,
        }
    }
}

impl Options {
    /// Sets the protocol.
    pub fn protocol(mut self, p: Protocol) -> Self {
        self.protocol = p;
        self
    }
    /// Sets the TLS mode.
    pub fn tls(mut self, t: Tls) -> Self {
        self.tls = t;
        self
    }
    /// Sets the connect timeout.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }
    /// Sets the call timeout.
    pub fn call_timeout(mut self, d: Duration) -> Self {
        self.call_timeout = d;
        self
    }
    /// Turns reconnecting on or off.
    pub fn reconnect(mut self, on: bool) -> Self {
        self.reconnect = on;
        self
    }
    /// Sets the keep-alive period (`None`: off).
    pub fn keepalive(mut self, d: Option<Duration>) -> Self {
        self.keepalive = d;
        self
    }
    /// Sets the in-flight limit (1..=20).
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.clamp(1, 20);
        self
    }
}

#[derive(Clone)]
enum Credentials {
    ApiKey {
        key: SecretString,
        username: Option<String>,
    },
    Password {
        username: String,
        password: SecretString,
    },
}

struct Conn {
    handle: Handle,
    legacy: bool,
}

struct Inner {
    endpoint: Endpoint,
    options: Options,
    roots: Option<Arc<rustls::RootCertStore>>,
    current: RwLock<Option<Arc<Conn>>>,
    reconnect_lock: tokio::sync::Mutex<()>,
    credentials: Mutex<Option<Credentials>>,
    permits: Arc<Semaphore>,
    next_id: AtomicU64,
}

/// A cloneable handle to one middleware connection. Clones share the socket; calls run concurrently
/// (at most 20 in flight, the rest wait their turn).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.endpoint)
            .field("protocol", &self.protocol())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connects (DNS, TCP, TLS, WebSocket upgrade, legacy handshake) without logging in.
    pub async fn connect(endpoint: Endpoint, options: Options) -> Result<Client> {
        let roots = match options.tls {
            Tls::System | Tls::CaFile(_) if endpoint.is_tls() => {
                Some(crate::tls::root_store(&options.tls)?)
            }
            _ => None,
        };
        let permits = Arc::new(Semaphore::new(options.max_in_flight.clamp(1, 20)));
        let inner = Arc::new(Inner {
            endpoint,
            options,
            roots,
            current: RwLock::new(None),
            reconnect_lock: tokio::sync::Mutex::new(()),
            credentials: Mutex::new(None),
            permits,
            next_id: AtomicU64::new(1),
        });
        let client = Client { inner };
        let conn = client.establish().await?;
        client.install(conn);
        Ok(client)
    }

    /// The endpoint this client talks to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// The protocol of the current connection (`Auto` resolved), if connected.
    pub fn protocol(&self) -> Option<Protocol> {
        let cur = self.inner.current.read().ok()?.clone()?;
        Some(if cur.legacy {
            Protocol::Legacy
        } else {
            Protocol::JsonRpc
        })
    }

    /// `true` while the socket is open.
    pub fn is_connected(&self) -> bool {
        self.current().is_some_and(|c| c.handle.is_open())
    }

    fn current(&self) -> Option<Arc<Conn>> {
        self.inner.current.read().ok()?.clone()
    }

    fn install(&self, conn: Arc<Conn>) {
        if let Ok(mut g) = self.inner.current.write() {
            *g = Some(conn);
        }
    }

    async fn establish(&self) -> Result<Arc<Conn>> {
        let ep = &self.inner.endpoint;
        let opts = &self.inner.options;
        let roots = self.inner.roots.clone();
        let (path, legacy) = match (opts.protocol, ep.path()) {
            (Protocol::JsonRpc, p) => (p.unwrap_or("/api/current").to_string(), false),
            (Protocol::Legacy, p) => (p.unwrap_or("/websocket").to_string(), true),
            (Protocol::Auto, Some(p)) => (p.to_string(), p.ends_with("/websocket")),
            (Protocol::Auto, None) => ("/api/current".to_string(), false),
        };
        let auto = opts.protocol == Protocol::Auto && ep.path().is_none();
        let (mut socket, legacy) = match transport::open(ep, &path, opts, roots.clone()).await {
            Ok(s) => (s, legacy),
            Err(Error::UpgradeRefused { status: 404, .. }) if auto => {
                tracing::info!(
                    "/api/current not found (TrueNAS before 25.04?): using legacy /websocket"
                );
                let s = transport::open(ep, "/websocket", opts, roots).await?;
                (s, true)
            }
            Err(e) => return Err(e),
        };
        let codec: Arc<dyn Codec> = if legacy {
            Arc::new(Legacy)
        } else {
            Arc::new(JsonRpc)
        };
        engine::handshake(codec.as_ref(), &mut socket, opts.connect_timeout).await?;
        tracing::debug!(endpoint = %ep, protocol = codec.name(), "connected");
        let handle = engine::spawn(codec, socket, opts.keepalive);
        Ok(Arc::new(Conn { handle, legacy }))
    }

    /// The open connection, reconnecting (and logging in again) after a drop when allowed.
    async fn conn(&self) -> Result<Arc<Conn>> {
        if let Some(c) = self.current() {
            if c.handle.is_open() {
                return Ok(c);
            }
            if !self.inner.options.reconnect {
                return Err(c.handle.shared.close_error());
            }
        }
        let _guard = self.inner.reconnect_lock.lock().await;
        if let Some(c) = self.current().filter(|c| c.handle.is_open()) {
            return Ok(c);
        }
        let opts = &self.inner.options;
        let attempts = opts.reconnect_attempts.max(1);
        let mut delay = opts.reconnect_backoff;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let res = match self.establish().await {
                Ok(conn) => self.relogin(&conn).await.map(|()| conn),
                Err(e) => Err(e),
            };
            match res {
                Ok(conn) => {
                    tracing::info!(attempt, "reconnected");
                    self.install(conn.clone());
                    return Ok(conn);
                }
                Err(e) if e.is_retryable() && attempt < attempts => {
                    let jitter = rand::rng().random_range(0.5..1.5);
                    let wait = delay.mul_f64(jitter);
                    tracing::warn!(attempt, error = %e, ?wait, "reconnect failed; backing off");
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn relogin(&self, conn: &Arc<Conn>) -> Result<()> {
        let creds = self.inner.credentials.lock().ok().and_then(|g| g.clone());
        match creds {
            None => Ok(()),
            Some(Credentials::ApiKey { key, username }) => {
                self.api_key_login_on(conn, &key, username.as_deref()).await
            }
            Some(Credentials::Password { username, password }) => {
                match self.password_login_on(conn, &username, &password).await? {
                    LoginOutcome::Success { .. } => Ok(()),
                    other => Err(Error::Auth {
                        failure: other.failure().unwrap_or(AuthFailure::Rejected),
                    }),
                }
            }
        }
    }

    /// Calls `method` with positional `params` and decodes the result.
    ///
    /// `params`: an array is sent as the positional arguments, `null` as none, any other value as
    /// the single argument.
    pub async fn call<R: DeserializeOwned>(&self, method: &str, params: Value) -> Result<R> {
        let conn = self.conn().await?;
        self.call_on(&conn, method, &params).await
    }

    async fn call_on<R: DeserializeOwned>(
        &self,
        conn: &Arc<Conn>,
        method: &str,
        params: &Value,
    ) -> Result<R> {
        let limit = self.inner.options.call_timeout;
        let fut = async {
            let permit = self
                .inner
                .permits
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| Error::closed(None, "client shut down"))?;
            let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
            conn.handle
                .call(id, method, params, Some(permit))
                .await
                .map_err(|f| match f {
                    Failure::Remote(e) => (*e).into_error(method),
                    Failure::Local(e) => e,
                })
        };
        let raw = tokio::time::timeout(limit, fut)
            .await
            .map_err(|_| Error::Timeout {
                stage: Stage::Call,
                after: limit,
                method: Some(method.to_string()),
            })??;
        serde_json::from_str(raw.get()).map_err(|e| Error::Decode {
            method: method.to_string(),
            source: Box::new(e),
        })
    }

    fn check_secure(&self, what: &'static str) -> Result<()> {
        let ep = &self.inner.endpoint;
        if ep.is_tls() || ep.is_loopback() {
            Ok(())
        } else {
            Err(Error::InsecureTransport {
                host: ep.host().to_string(),
                what,
            })
        }
    }

    fn remember(&self, creds: Option<Credentials>, conn: &Conn) {
        conn.handle
            .shared
            .authenticated
            .store(creds.is_some(), Ordering::Release);
        if let Ok(mut g) = self.inner.credentials.lock() {
            *g = creds;
        }
    }

    /// Logs in with an API key (`<id>-<key>`).
    ///
    /// With `username` (the key owner's), uses `auth.login_ex` API_KEY_PLAIN; without it, or where
    /// `login_ex` does not exist, or on the legacy protocol, `auth.login_with_api_key`. Refuses to
    /// send the key over `ws://` to a non-loopback host. The key is kept (as a secret) to log in
    /// again after a reconnect.
    pub async fn login_api_key(&self, key: SecretString, username: Option<&str>) -> Result<()> {
        self.check_secure("an API key")?;
        let conn = self.conn().await?;
        self.api_key_login_on(&conn, &key, username).await?;
        self.remember(
            Some(Credentials::ApiKey {
                key,
                username: username.map(str::to_string),
            }),
            &conn,
        );
        Ok(())
    }

    /// `auth.login_ex` on `conn`: the typed outcome, with the connection marked authenticated
    /// exactly when it succeeded. Call errors (e.g. the method missing) are the caller's to handle.
    async fn login_ex_on(&self, conn: &Arc<Conn>, params: &Value) -> Result<LoginOutcome> {
        let v = self.call_on::<Value>(conn, "auth.login_ex", params).await?;
        let outcome = LoginOutcome::from_value(v).ok_or_else(|| Error::Protocol {
            detail: "auth.login_ex answered an unknown response_type".into(),
        })?;
        conn.handle
            .shared
            .authenticated
            .store(outcome.is_success(), Ordering::Release);
        Ok(outcome)
    }

    async fn api_key_login_on(
        &self,
        conn: &Arc<Conn>,
        key: &SecretString,
        username: Option<&str>,
    ) -> Result<()> {
        if let (Some(user), false) = (username, conn.legacy) {
            let params = json!([{
                "mechanism": "API_KEY_PLAIN",
                "username": user,
                "api_key": key.expose_secret(),
                "login_options": {"user_info": false},
            }]);
            match self.login_ex_on(conn, &params).await {
                Ok(outcome) => {
                    return match outcome.failure() {
                        None => Ok(()),
                        Some(failure) => Err(Error::Auth { failure }),
                    };
                }
                Err(e) if RemoteError::is_no_method(&e) => {
                    tracing::debug!(
                        "auth.login_ex missing: falling back to auth.login_with_api_key"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        let ok: bool = self
            .call_on(
                conn,
                "auth.login_with_api_key",
                &json!([key.expose_secret()]),
            )
            .await?;
        conn.handle
            .shared
            .authenticated
            .store(ok, Ordering::Release);
        if ok {
            Ok(())
        } else {
            Err(Error::Auth {
                failure: AuthFailure::Rejected,
            })
        }
    }

    /// Logs in as a user with a password (`auth.login_ex` PASSWORD_PLAIN) and returns the typed
    /// outcome; continue an [`LoginOutcome::OtpRequired`] with [`Client::login_otp`] on this client.
    /// Refuses to send the password over `ws://` to a non-loopback host.
    pub async fn login_password(
        &self,
        username: &str,
        password: SecretString,
    ) -> Result<LoginOutcome> {
        self.check_secure("a password")?;
        let conn = self.conn().await?;
        let outcome = self.password_login_on(&conn, username, &password).await?;
        if outcome.is_success() {
            self.remember(
                Some(Credentials::Password {
                    username: username.to_string(),
                    password,
                }),
                &conn,
            );
        }
        Ok(outcome)
    }

    async fn password_login_on(
        &self,
        conn: &Arc<Conn>,
        username: &str,
        password: &SecretString,
    ) -> Result<LoginOutcome> {
        let params = json!([{
            "mechanism": "PASSWORD_PLAIN",
            "username": username,
            "password": password.expose_secret(),
            "login_options": {"user_info": true},
        }]);
        match self.login_ex_on(conn, &params).await {
            Ok(outcome) => Ok(outcome),
            Err(e) if RemoteError::is_no_method(&e) => {
                let ok: bool = self
                    .call_on(
                        conn,
                        "auth.login",
                        &json!([username, password.expose_secret()]),
                    )
                    .await?;
                conn.handle
                    .shared
                    .authenticated
                    .store(ok, Ordering::Release);
                Ok(if ok {
                    LoginOutcome::Success { user_info: None }
                } else {
                    LoginOutcome::AuthErr
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Continues a login that answered [`LoginOutcome::OtpRequired`] with the one-time code
    /// (`auth.login_ex_continue` OTP_TOKEN), on the same connection.
    pub async fn login_otp(&self, otp: &str) -> Result<LoginOutcome> {
        let conn = self
            .current()
            .filter(|c| c.handle.is_open())
            .ok_or_else(|| {
                Error::closed(
                    None,
                    "connection lost between password and one-time code; log in again",
                )
            })?;
        let params = json!([{"mechanism": "OTP_TOKEN", "otp_token": otp}]);
        let v: Value = self
            .call_on(&conn, "auth.login_ex_continue", &params)
            .await?;
        let outcome = LoginOutcome::from_value(v).ok_or_else(|| Error::Protocol {
            detail: "auth.login_ex_continue answered an unknown response_type".into(),
        })?;
        if outcome.is_success() {
            // A reconnect cannot replay an OTP: do not log in again automatically.
            self.remember(None, &conn);
            conn.handle
                .shared
                .authenticated
                .store(true, Ordering::Release);
        }
        Ok(outcome)
    }

    /// `auth.logout`; forgets the stored credentials.
    pub async fn logout(&self) -> Result<()> {
        let conn = self.conn().await?;
        let _: Value = self.call_on(&conn, "auth.logout", &Value::Null).await?;
        self.remember(None, &conn);
        Ok(())
    }

    /// `core.ping` → `"pong"`.
    pub async fn ping(&self) -> Result<String> {
        self.call("core.ping", Value::Null).await
    }

    /// `system.info` (needs READONLY_ADMIN).
    pub async fn system_info(&self) -> Result<SystemInfo> {
        self.call("system.info", Value::Null).await
    }

    /// `system.version`, e.g. `TrueNAS-25.10.1`.
    pub async fn system_version(&self) -> Result<String> {
        self.call("system.version", Value::Null).await
    }

    /// `auth.me`: who this session is.
    pub async fn me(&self) -> Result<UserInfo> {
        self.call("auth.me", Value::Null).await
    }

    /// `auth.generate_onetime_password` for `username` (needs ACCOUNT_WRITE). The result is a secret.
    pub async fn generate_onetime_password(&self, username: &str) -> Result<SecretString> {
        let s: String = self
            .call(
                "auth.generate_onetime_password",
                json!([{"username": username}]),
            )
            .await?;
        Ok(SecretString::from(s))
    }

    /// `system.security.config`: the server's password policy.
    pub async fn security_config(&self) -> Result<SecurityConfig> {
        self.call("system.security.config", Value::Null).await
    }

    /// `user.query` with a [`Query`].
    pub async fn users(&self, query: &Query) -> Result<Vec<User>> {
        self.call("user.query", query.to_params()).await
    }

    /// The local user named `username`, if any.
    pub async fn user_by_username(&self, username: &str) -> Result<Option<User>> {
        let q = Query::new().filter("username", Op::Eq, username);
        Ok(self.users(&q).await?.into_iter().next())
    }

    /// `user.update [id, {"password": …}]` (needs ACCOUNT_WRITE; no old password checked).
    pub async fn user_set_password_admin(&self, id: i64, password: &SecretString) -> Result<()> {
        let _: Value = self
            .call(
                "user.update",
                json!([id, {"password": password.expose_secret()}]),
            )
            .await?;
        Ok(())
    }

    /// `user.update [id, {"locked": …}]` (needs ACCOUNT_WRITE).
    pub async fn user_set_locked(&self, id: i64, locked: bool) -> Result<()> {
        let _: Value = self
            .call("user.update", json!([id, {"locked": locked}]))
            .await?;
        Ok(())
    }

    /// `user.set_password`: as the user, the server checks `old_password`; a FULL_ADMIN session
    /// skips that check (so it proves nothing about the old password).
    pub async fn set_password(
        &self,
        username: &str,
        old_password: Option<&SecretString>,
        new_password: &SecretString,
    ) -> Result<()> {
        let _: Value = self
            .call(
                "user.set_password",
                json!([{
                    "username": username,
                    "old_password": old_password.map(|p| p.expose_secret()),
                    "new_password": new_password.expose_secret(),
                }]),
            )
            .await?;
        Ok(())
    }

    /// Closes the connection (other clones see it closed; reconnecting is still possible).
    pub async fn close(&self) {
        let taken = self.inner.current.write().ok().and_then(|mut g| g.take());
        drop(taken);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_parsing() {
        let e: Endpoint = "ws://127.0.0.1:8080/api/current".parse().unwrap();
        assert_eq!((e.host(), e.port(), e.is_tls()), ("127.0.0.1", 8080, false));
        assert_eq!(e.path(), Some("/api/current"));
        assert!(e.is_loopback());
        let e: Endpoint = "nas.local".parse().unwrap();
        assert_eq!((e.port(), e.is_tls(), e.path()), (443, true, None));
        let e: Endpoint = "https://[::1]".parse().unwrap();
        assert_eq!((e.host(), e.port()), ("::1", 443));
        assert!(e.is_loopback());
        assert_eq!(e.to_string(), "wss://[::1]:443");
        assert!("ws://u:p@nas/".parse::<Endpoint>().is_err());
        assert!("ftp://nas".parse::<Endpoint>().is_err());
        assert!("ws://nas:99999".parse::<Endpoint>().is_err());
    }
}
