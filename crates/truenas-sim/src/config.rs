//! Configuration of a simulator run: what it serves, how it misbehaves.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, Result};

/// Which middleware release the simulator imitates where releases differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ServerVersion {
    /// TrueNAS 25.10.1: a user without privilege gets `AUTH_ERR` even with the right password.
    #[default]
    V25_10_1,
    /// TrueNAS 26.0.0: a user without privilege gets `DENIED` after the right password.
    V26_0_0,
}

impl ServerVersion {
    /// The version string, e.g. `25.10.1`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServerVersion::V25_10_1 => "25.10.1",
            ServerVersion::V26_0_0 => "26.0.0",
        }
    }

    /// API versions served under `/api/vX` (oldest first), including the hidden `v24.10`.
    pub(crate) fn api_versions(self) -> &'static [&'static str] {
        match self {
            ServerVersion::V25_10_1 => &[
                "v24.10", "v25.04.0", "v25.04.1", "v25.04.2", "v25.10.0", "v25.10.1",
            ],
            ServerVersion::V26_0_0 => &[
                "v24.10", "v25.04.0", "v25.04.1", "v25.04.2", "v25.10.0", "v25.10.1", "v26.0.0",
            ],
        }
    }
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServerVersion {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "25.10.1" => Ok(ServerVersion::V25_10_1),
            "26.0.0" => Ok(ServerVersion::V26_0_0),
            other => Err(Error::parse(other, "expected 25.10.1 or 26.0.0")),
        }
    }
}

/// A fault the simulator injects, as `--fault KIND[=ARG]` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// `latency=MS`: every reply is delayed by this long.
    Latency(Duration),
    /// `drop-after=N`: the N-th frame received on a connection is executed, then the TCP
    /// connection is dropped without a reply or a close frame (a lost connection mid-call).
    DropAfter(u32),
    /// `close=CODE[:REASON]`: the first frame received is not executed; the server closes with this code.
    Close {
        /// WebSocket close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
    /// `redirect=URL`: every HTTP request is answered `302 Found` with this `Location`
    /// (an auth proxy such as TinyAuth in front of the server).
    Redirect(String),
    /// `https-redirect`: every HTTP request is answered `307` to the same path on `https://`.
    HttpsRedirect,
    /// `unauthorized`: every HTTP request is answered `401 Unauthorized`.
    Unauthorized,
    /// `legacy-only`: `/api/*` answers 404, as on a pre-25.04 server (only `/websocket` exists).
    LegacyOnly,
    /// `allow-list`: the peer is not in the UI allow-list: close 1008 right after the upgrade.
    AllowList,
}

impl FromStr for Fault {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let (kind, arg) = match s.split_once('=') {
            Some((k, a)) => (k.trim(), Some(a.trim())),
            None => (s.trim(), None),
        };
        let need = |what: &str| arg.ok_or_else(|| Error::parse(s, format!("{kind} needs ={what}")));
        match kind {
            "latency" => {
                let ms: u64 = need("MS")?
                    .parse()
                    .map_err(|_| Error::parse(s, "latency=MS needs a number of milliseconds"))?;
                Ok(Fault::Latency(Duration::from_millis(ms)))
            }
            "drop-after" => {
                let n: u32 = need("N")?
                    .parse()
                    .map_err(|_| Error::parse(s, "drop-after=N needs a frame count"))?;
                Ok(Fault::DropAfter(n))
            }
            "close" => {
                let arg = need("CODE[:REASON]")?;
                let (code, reason) = arg.split_once(':').unwrap_or((arg, ""));
                let code: u16 = code
                    .parse()
                    .map_err(|_| Error::parse(s, "close=CODE[:REASON] needs a numeric code"))?;
                Ok(Fault::Close {
                    code,
                    reason: reason.to_owned(),
                })
            }
            "redirect" => Ok(Fault::Redirect(need("URL")?.to_owned())),
            "https-redirect" => Ok(Fault::HttpsRedirect),
            "unauthorized" => Ok(Fault::Unauthorized),
            "legacy-only" => Ok(Fault::LegacyOnly),
            "allow-list" => Ok(Fault::AllowList),
            _ => Err(Error::parse(
                s,
                "expected latency=MS, drop-after=N, close=CODE[:REASON], redirect=URL, \
                 https-redirect, unauthorized, legacy-only or allow-list",
            )),
        }
    }
}

/// Rate limit of unauthenticated calls, per method per client IP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// Calls allowed per window.
    pub max_calls: u32,
    /// Window length.
    pub window: Duration,
    /// Random sleep (min, max) before answering `EBUSY`.
    pub sleep: (Duration, Duration),
}

impl Default for RateLimit {
    /// As the real server: 20 calls per 60 s, then a 1–10 s sleep.
    fn default() -> Self {
        RateLimit {
            max_calls: 20,
            window: Duration::from_secs(60),
            sleep: (Duration::from_secs(1), Duration::from_secs(10)),
        }
    }
}

fn parse_secs(s: &str, whole: &str) -> Result<Duration> {
    let s = s.trim();
    let (num, scale) = match s.strip_suffix("ms") {
        Some(n) => (n, 0.001),
        None => (s.strip_suffix('s').unwrap_or(s), 1.0),
    };
    let v: f64 = num
        .parse()
        .map_err(|_| Error::parse(whole, "expected seconds (e.g. 1, 0.5 or 200ms)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(Error::parse(whole, "durations must be non-negative"));
    }
    Ok(Duration::from_secs_f64(v * scale))
}

impl FromStr for RateLimit {
    type Err = Error;
    /// `N/SECS[,sleep=MIN-MAX]` (seconds; `ms` suffix allowed).
    fn from_str(s: &str) -> Result<Self> {
        let mut parts = s.split(',');
        let head = parts.next().unwrap_or_default();
        let (n, secs) = head
            .split_once('/')
            .ok_or_else(|| Error::parse(s, "expected N/SECS[,sleep=MIN-MAX] or off"))?;
        let max_calls: u32 = n
            .trim()
            .parse()
            .map_err(|_| Error::parse(s, "N must be a whole number"))?;
        let window = parse_secs(secs, s)?;
        let mut limit = RateLimit {
            max_calls,
            window,
            ..RateLimit::default()
        };
        for part in parts {
            let range = part
                .trim()
                .strip_prefix("sleep=")
                .ok_or_else(|| Error::parse(s, "only sleep=MIN-MAX may follow"))?;
            let (lo, hi) = range.split_once('-').unwrap_or((range, range));
            let (lo, hi) = (parse_secs(lo, s)?, parse_secs(hi, s)?);
            if lo > hi {
                return Err(Error::parse(s, "sleep MIN must not exceed MAX"));
            }
            limit.sleep = (lo, hi);
        }
        Ok(limit)
    }
}

/// The enterprise password-policy fields of `system.security.config`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityPolicy {
    /// Minimum password age in days.
    pub min_password_age: Option<u32>,
    /// Maximum password age in days (hard expiry).
    pub max_password_age: Option<u32>,
    /// Required character classes: any of `UPPER`, `LOWER`, `NUMBER`, `SPECIAL`.
    pub password_complexity_ruleset: Option<Vec<String>>,
    /// Minimum password length.
    pub min_password_length: Option<u32>,
    /// How many previous passwords may not be reused (1–10).
    pub password_history_length: Option<u32>,
}

/// A user for [`crate::Simulator::add_user`] and [`SimConfig::user`].
#[derive(Clone, Default)]
pub struct NewUser {
    /// Login name.
    pub username: String,
    /// Password (`None`: password disabled).
    pub password: Option<String>,
    /// uid (`None`: the next free one from 3100).
    pub uid: Option<i64>,
    /// Full name.
    pub full_name: String,
    /// SMB access.
    pub smb: bool,
    /// Account locked.
    pub locked: bool,
    /// Roles of a privilege made for this user's own group; `None` = no privilege at all,
    /// `Some(vec![])` = a privilege with an empty role list (user-session mode).
    pub privilege_roles: Option<Vec<String>>,
    /// Names of existing groups to join (e.g. `builtin_administrators` for FULL_ADMIN).
    pub groups: Vec<String>,
    /// Base32 TOTP secret: 2FA on when set.
    pub totp_secret: Option<String>,
    /// Password hard-expired (`last_password_change` null).
    pub expired: bool,
}

impl fmt::Debug for NewUser {
    // Passwords and TOTP secrets stay out of logs and panic messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .field("uid", &self.uid)
            .field("smb", &self.smb)
            .field("locked", &self.locked)
            .field("privilege_roles", &self.privilege_roles)
            .field("groups", &self.groups)
            .field(
                "totp_secret",
                &self.totp_secret.as_ref().map(|_| "********"),
            )
            .field("expired", &self.expired)
            .finish_non_exhaustive()
    }
}

impl NewUser {
    /// A user with a password and defaults for everything else (no privilege).
    pub fn new(username: &str, password: &str) -> Self {
        NewUser {
            username: username.to_owned(),
            password: Some(password.to_owned()),
            full_name: username.to_owned(),
            ..NewUser::default()
        }
    }
}

/// How a [`crate::Simulator`] is set up. Build with [`SimConfig::demo`] or [`SimConfig::empty`]
/// and the builder methods.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub(crate) listen: SocketAddr,
    pub(crate) tls: bool,
    pub(crate) server_version: ServerVersion,
    pub(crate) faults: Vec<Fault>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) seed_users: usize,
    pub(crate) treat_as_remote: bool,
    pub(crate) demo: bool,
    pub(crate) users: Vec<NewUser>,
    pub(crate) policy: SecurityPolicy,
}

impl SimConfig {
    fn base(demo: bool) -> Self {
        SimConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            tls: false,
            server_version: ServerVersion::default(),
            faults: Vec::new(),
            rate_limit: Some(RateLimit::default()),
            seed_users: 0,
            treat_as_remote: false,
            demo,
            users: Vec::new(),
            policy: SecurityPolicy::default(),
        }
    }

    /// The demo data set of the crate documentation, exactly.
    pub fn demo() -> Self {
        Self::base(true)
    }

    /// Only `root` and the builtin groups.
    pub fn empty() -> Self {
        Self::base(false)
    }

    /// Address to bind (default `127.0.0.1:0`).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Serve `wss://` with a self-signed certificate made at start.
    pub fn tls(mut self, on: bool) -> Self {
        self.tls = on;
        self
    }

    /// Middleware release to imitate.
    pub fn server_version(mut self, v: ServerVersion) -> Self {
        self.server_version = v;
        self
    }

    /// Faults active from the start.
    pub fn faults(mut self, faults: Vec<Fault>) -> Self {
        self.faults = faults;
        self
    }

    /// Unauthenticated-call rate limit (`None` = off).
    pub fn rate_limit(mut self, limit: Option<RateLimit>) -> Self {
        self.rate_limit = limit;
        self
    }

    /// Adds users `user0001`… (password `seed-demo-pass`, no privilege, SMB off).
    pub fn seed_users(mut self, n: usize) -> Self {
        self.seed_users = n;
        self
    }

    /// Treat every peer as non-loopback: plain API keys over `ws://` get revoked.
    pub fn treat_as_remote(mut self, on: bool) -> Self {
        self.treat_as_remote = on;
        self
    }

    /// Adds a user at start.
    pub fn user(mut self, user: NewUser) -> Self {
        self.users.push(user);
        self
    }

    /// Initial enterprise password policy.
    pub fn security_policy(mut self, policy: SecurityPolicy) -> Self {
        self.policy = policy;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse() {
        assert_eq!(
            "latency=250".parse::<Fault>().unwrap(),
            Fault::Latency(Duration::from_millis(250))
        );
        assert_eq!(
            "drop-after=3".parse::<Fault>().unwrap(),
            Fault::DropAfter(3)
        );
        assert_eq!(
            "close=1011:boom".parse::<Fault>().unwrap(),
            Fault::Close {
                code: 1011,
                reason: "boom".into()
            }
        );
        assert_eq!(
            "close=1000".parse::<Fault>().unwrap(),
            Fault::Close {
                code: 1000,
                reason: String::new()
            }
        );
        assert_eq!(
            "redirect=https://auth.example/login"
                .parse::<Fault>()
                .unwrap(),
            Fault::Redirect("https://auth.example/login".into())
        );
        assert_eq!("allow-list".parse::<Fault>().unwrap(), Fault::AllowList);
        assert!("latency".parse::<Fault>().is_err());
        assert!("bogus".parse::<Fault>().is_err());
    }

    #[test]
    fn rate_limit_parses() {
        let r: RateLimit = "5/2,sleep=0-0".parse().unwrap();
        assert_eq!(r.max_calls, 5);
        assert_eq!(r.window, Duration::from_secs(2));
        assert_eq!(r.sleep, (Duration::ZERO, Duration::ZERO));
        let r: RateLimit = "20/60".parse().unwrap();
        assert_eq!(r, RateLimit::default());
        assert!("20".parse::<RateLimit>().is_err());
        assert!("1/1,sleep=3-1".parse::<RateLimit>().is_err());
    }

    #[test]
    fn versions_parse() {
        assert_eq!(
            "26.0.0".parse::<ServerVersion>().unwrap(),
            ServerVersion::V26_0_0
        );
        assert!("24.10".parse::<ServerVersion>().is_err());
    }
}
