//! Configuration: the original Flask app's environment variables keep their meaning, plus new ones,
//! a TOML file and flags. Flags beat the environment, the environment beats the file; `.env` is read
//! when present. Every invalid setting fails at start with its name and what is wrong.

mod settings;

pub use settings::{SETTINGS, Scope, SettingSpec, markdown_table, spec};

use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The Flask app's placeholder secret, refused as a SECRET_KEY.
const FLASK_PLACEHOLDER_SECRET: &str = "change-this-secret-key-in-production";
const MIN_SECRET_KEY_BYTES: usize = 32;

/// A setting that could not be used; says which one and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting {env} ({key}): {problem}")]
pub struct ConfigError {
    /// TOML key of the setting.
    pub key: &'static str,
    /// Its environment variable.
    pub env: &'static str,
    /// What is wrong, and what to do.
    pub problem: String,
}

impl ConfigError {
    fn new(key: &'static str, problem: impl Into<String>) -> Self {
        let env = spec(key).map_or("", |s| s.env);
        Self {
            key,
            env,
            problem: problem.into(),
        }
    }
}

/// Where settings come from, weakest first: file, environment (and `.env`), flag overrides.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// A TOML file (`--config`).
    pub file: Option<PathBuf>,
    /// Values given as flags, by TOML key (`("truenas.host", "nas.lan")`).
    pub overrides: Vec<(String, String)>,
    /// Read the process environment and `.env` (off in tests that want isolation).
    pub read_env: bool,
    /// Extra environment entries (tests), read as if they were in the environment.
    pub env: Vec<(String, String)>,
}

/// How a user's password is proven and changed (design: "Verifier chain").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Log in as the user when the server is 26.x (where a user without a privilege gets DENIED,
    /// which still proves the password); on 25.x only two-factor users are logged in.
    Auto,
    /// Users hold a privilege (even one with no roles): always log in as the user, and change the
    /// password with `user.set_password` in that session.
    UserSession,
    /// Never log in as a user except for two-factor users; change with the service key.
    Service,
}

/// Which verifiers run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifierChoice {
    /// `auth.login_ex` as the user.
    Login,
    /// SMB session setup.
    Smb,
    /// crypt(3) check of the stored hash.
    Hash,
}

/// How to trust the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsTrust {
    /// The system's root certificates.
    System,
    /// A pinned SHA-256 fingerprint (`sha256:` + hex).
    Fingerprint(String),
    /// A CA certificate file.
    CaFile(PathBuf),
    /// No verification (explicit opt-in; loud).
    Insecure,
}

/// Connection to the TrueNAS middleware.
#[derive(Debug, Clone)]
pub struct TrueNasConfig {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// wss:// (true) or ws:// (false).
    pub use_ssl: bool,
    /// The service API key.
    pub api_key: SecretString,
    /// The key's owner, for API_KEY_PLAIN.
    pub api_key_user: Option<String>,
    /// Certificate trust.
    pub tls: TlsTrust,
    /// Connect and per-call timeout.
    pub timeout: Duration,
}

/// Verifier chain and sign-in behaviour.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Mode.
    pub mode: Mode,
    /// Verifier order.
    pub verifiers: Vec<VerifierChoice>,
    /// Own names (workgroup, realm, host) stripped from typed names.
    pub server_names: Vec<String>,
    /// Minimum answer time of a failed sign-in.
    pub signin_floor: Duration,
    /// Logins as a user allowed per window.
    pub login_budget: (u32, Duration),
    /// How long a pending two-factor step lives.
    pub second_factor_window: Duration,
}

/// SMB probe settings.
#[derive(Debug, Clone)]
pub struct SmbConfig {
    /// Whether the SMB verifier is used at all.
    pub enabled: bool,
    /// Host to probe.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Workgroup/domain of local accounts.
    pub workgroup: String,
    /// Timeout of one probe.
    pub timeout: Duration,
}

/// Password rules and who may self-serve.
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// Minimum length in graphemes.
    pub min_length: u32,
    /// Minimum zxcvbn score.
    pub min_score: u8,
    /// Admin deny-list file.
    pub deny_list_file: Option<PathBuf>,
    /// Allowed group names (empty: everyone not protected).
    pub allowed_groups: Vec<String>,
    /// Allowed uid range.
    pub allowed_uids: Option<(u32, u32)>,
}

/// Portal-only settings.
#[derive(Debug, Clone)]
pub struct PortalConfig {
    /// Session/audit key; `None` only for the CLI.
    pub secret_key: Option<SecretString>,
    /// Listen address.
    pub listen: SocketAddr,
    /// Path prefix ("" or "/passwd").
    pub base_path: String,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<Cidr>,
    /// Page title.
    pub title: String,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Forgot-password contact text.
    pub admin_contact: String,
    /// `cookie` or a redis:// URL.
    pub session_store: String,
    /// Idle timeout.
    pub idle_timeout: Duration,
    /// Absolute lifetime.
    pub session_lifetime: Duration,
    /// Serve /metrics.
    pub metrics: bool,
}

/// Logging.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// JSON lines instead of human text.
    pub json: bool,
    /// Audit file.
    pub audit_file: Option<PathBuf>,
}

/// An IPv4/IPv6 network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `::1/128` or a bare address.
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let network: IpAddr = addr.trim().parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.trim().parse().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr { network, prefix })
    }

    /// Whether `ip` lies inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        fn masked(bits: u128, prefix: u8, width: u8) -> u128 {
            if prefix == 0 {
                0
            } else {
                bits >> (width - prefix)
            }
        }
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                masked(u32::from(n).into(), self.prefix, 32)
                    == masked(u32::from(i).into(), self.prefix, 32)
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                masked(u128::from(n), self.prefix, 128) == masked(u128::from(i), self.prefix, 128)
            }
            _ => false,
        }
    }
}

/// Everything selfpass needs to run, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// TrueNAS connection.
    pub truenas: TrueNasConfig,
    /// Sign-in behaviour.
    pub auth: AuthConfig,
    /// SMB probe.
    pub smb: SmbConfig,
    /// `memory` or a redis:// URL.
    pub throttle_store: String,
    /// Rules and eligibility.
    pub policy: PolicyConfig,
    /// Portal settings.
    pub portal: PortalConfig,
    /// Logging.
    pub log: LogConfig,
}

/// Raw values by TOML key, with the precedence already applied.
struct Raw(HashMap<&'static str, String>);

impl Raw {
    fn collect(sources: &Sources) -> Result<Raw, ConfigError> {
        let mut values: HashMap<&'static str, String> = HashMap::new();
        if let Some(path) = &sources.file {
            for (key, value) in read_toml(path)? {
                values.insert(key, value);
            }
        }
        let mut env: HashMap<String, String> = HashMap::new();
        if sources.read_env {
            // `.env` never overrides the real environment (dotenvy's rule).
            if let Ok(iter) = dotenvy::dotenv_iter() {
                for (k, v) in iter.flatten() {
                    env.insert(k, v);
                }
            }
            env.extend(std::env::vars());
        }
        env.extend(sources.env.iter().cloned());
        for spec in SETTINGS {
            if let Some(v) = env.get(spec.env) {
                values.insert(spec.key, v.clone());
            }
        }
        for (key, value) in &sources.overrides {
            let spec = spec(key).ok_or_else(|| ConfigError {
                key: "flags",
                env: "",
                problem: format!("unknown setting {key}"),
            })?;
            values.insert(spec.key, value.clone());
        }
        Ok(Raw(values))
    }

    fn text(&self, key: &'static str) -> Option<String> {
        self.0
            .get(key)
            .cloned()
            .or_else(|| spec(key).and_then(|s| s.default).map(str::to_owned))
            .filter(|v| !v.trim().is_empty() || key == "portal.base_path")
    }

    fn require(&self, key: &'static str) -> Result<String, ConfigError> {
        self.text(key)
            .ok_or_else(|| ConfigError::new(key, "is required"))
    }

    fn parse<T: std::str::FromStr>(&self, key: &'static str, what: &str) -> Result<T, ConfigError> {
        let text = self.require(key)?;
        text.trim()
            .parse()
            .map_err(|_| ConfigError::new(key, format!("'{text}' is not {what}")))
    }

    fn flag(&self, key: &'static str) -> Result<bool, ConfigError> {
        let text = self.require(key)?;
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::new(
                key,
                format!("'{text}' is not true or false"),
            )),
        }
    }

    fn secs(&self, key: &'static str) -> Result<Duration, ConfigError> {
        let secs: u64 = self.parse(key, "a whole number of seconds")?;
        if secs == 0 {
            return Err(ConfigError::new(key, "must be more than 0 seconds"));
        }
        Ok(Duration::from_secs(secs))
    }

    fn list(&self, key: &'static str) -> Vec<String> {
        self.text(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A secret given directly or through its `_file` sibling (not both).
    fn secret(
        &self,
        key: &'static str,
        file_key: &'static str,
    ) -> Result<Option<SecretString>, ConfigError> {
        match (self.0.get(key), self.text(file_key)) {
            (Some(_), Some(_)) => Err(ConfigError::new(
                key,
                format!("is set both directly and through {file_key}; keep one"),
            )),
            (Some(value), None) => Ok(Some(SecretString::from(value.trim().to_owned()))),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError::new(file_key, format!("cannot read {path}: {e}")))?;
                let first = text.lines().next().unwrap_or("").trim().to_owned();
                if first.is_empty() {
                    return Err(ConfigError::new(file_key, format!("{path} is empty")));
                }
                Ok(Some(SecretString::from(first)))
            }
            (None, None) => Ok(None),
        }
    }
}

fn read_toml(path: &Path) -> Result<Vec<(&'static str, String)>, ConfigError> {
    let file_error = |problem: String| ConfigError {
        key: "config file",
        env: "",
        problem,
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| file_error(format!("cannot read {}: {e}", path.display())))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| file_error(format!("{} is not valid TOML: {e}", path.display())))?;
    let mut out = Vec::new();
    for (section, value) in &table {
        let toml::Value::Table(inner) = value else {
            return Err(file_error(format!(
                "{}: top-level key '{section}' must be a [section]",
                path.display()
            )));
        };
        for (name, value) in inner {
            let dotted = format!("{section}.{name}");
            let spec = spec(&dotted).ok_or_else(|| {
                file_error(format!("{}: unknown setting {dotted}", path.display()))
            })?;
            let text = match value {
                toml::Value::String(s) => s.clone(),
                toml::Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            };
            out.push((spec.key, text));
        }
    }
    Ok(out)
}

impl Config {
    /// Loads and validates the configuration for a binary (`Scope::Portal` also requires a
    /// strong `SECRET_KEY`).
    ///
    /// # Errors
    /// The first invalid or missing setting, by name, with what is wrong.
    pub fn load(sources: &Sources, scope: Scope) -> Result<Config, ConfigError> {
        Self::from_raw(&Raw::collect(sources)?, scope)
    }

    fn from_raw(raw: &Raw, scope: Scope) -> Result<Config, ConfigError> {
        let host = raw.require("truenas.host")?;
        let use_ssl = raw.flag("truenas.use_ssl")?;
        let api_key = raw
            .secret("truenas.api_key", "truenas.api_key_file")?
            .ok_or_else(|| {
                ConfigError::new(
                    "truenas.api_key",
                    "is required: create an API key for a service user with ACCOUNT_READ + ACCOUNT_WRITE \
                     and set TRUENAS_API_KEY_FILE to a file holding it",
                )
            })?;
        validate_api_key(api_key.expose_secret())?;
        let tls = tls_trust(raw)?;
        let truenas = TrueNasConfig {
            port: raw.parse("truenas.port", "a port number")?,
            use_ssl,
            api_key,
            api_key_user: raw.text("truenas.api_key_user"),
            tls,
            timeout: raw.secs("truenas.timeout_secs")?,
            host: host.clone(),
        };

        let smb = SmbConfig {
            enabled: raw.flag("smb.enabled")?,
            host: raw.text("smb.host").unwrap_or_else(|| host.clone()),
            port: raw.parse("smb.port", "a port number")?,
            workgroup: raw.require("smb.workgroup")?,
            timeout: raw.secs("smb.timeout_secs")?,
        };

        let mut server_names = raw.list("auth.server_names");
        if server_names.is_empty() {
            server_names = vec![smb.workgroup.clone(), host];
        }
        let auth = AuthConfig {
            mode: match raw.require("auth.mode")?.trim() {
                "auto" => Mode::Auto,
                "user_session" => Mode::UserSession,
                "service" => Mode::Service,
                other => {
                    return Err(ConfigError::new(
                        "auth.mode",
                        format!("'{other}' is not auto, user_session or service"),
                    ));
                }
            },
            verifiers: parse_verifiers(&raw.list("auth.verifiers"))?,
            server_names,
            signin_floor: Duration::from_millis(
                raw.parse("auth.signin_floor_ms", "a number of milliseconds")?,
            ),
            login_budget: parse_budget(&raw.require("auth.login_budget")?)?,
            second_factor_window: raw.secs("auth.second_factor_secs")?,
        };

        let min_length: u32 = raw.parse("policy.min_length", "a number")?;
        if !(8..=128).contains(&min_length) {
            return Err(ConfigError::new(
                "policy.min_length",
                "must be between 8 and 128 (8 is the floor: shorter passwords are guessable)",
            ));
        }
        let min_score: u8 = raw.parse("policy.min_score", "a number from 0 to 4")?;
        if min_score > 4 {
            return Err(ConfigError::new("policy.min_score", "must be from 0 to 4"));
        }
        let policy = PolicyConfig {
            min_length,
            min_score,
            deny_list_file: raw.text("policy.deny_list_file").map(PathBuf::from),
            allowed_groups: raw.list("policy.allowed_groups"),
            allowed_uids: raw
                .text("policy.allowed_uids")
                .map(|v| parse_uid_range(&v))
                .transpose()?,
        };

        let secret_key = raw.secret("portal.secret_key", "portal.secret_key_file")?;
        if scope == Scope::Portal {
            validate_secret_key(secret_key.as_ref())?;
        }
        let mut base_path = raw.text("portal.base_path").unwrap_or_default();
        base_path = base_path.trim().trim_end_matches('/').to_owned();
        if !base_path.is_empty() && !base_path.starts_with('/') {
            return Err(ConfigError::new(
                "portal.base_path",
                "must start with '/', e.g. /passwd",
            ));
        }
        let trusted_proxies = raw
            .list("portal.trusted_proxies")
            .iter()
            .map(|c| {
                Cidr::parse(c).ok_or_else(|| {
                    ConfigError::new(
                        "portal.trusted_proxies",
                        format!("'{c}' is not an address or CIDR such as 10.0.0.0/8"),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let portal = PortalConfig {
            secret_key,
            listen: raw.parse("portal.listen", "an address:port such as 127.0.0.1:8080")?,
            base_path,
            trusted_proxies,
            title: raw.require("portal.title")?,
            logo_url: raw.text("portal.logo_url"),
            admin_contact: raw.require("portal.admin_contact")?,
            session_store: raw.require("portal.session_store")?,
            idle_timeout: raw.secs("portal.idle_timeout_secs")?,
            session_lifetime: raw.secs("portal.session_lifetime_secs")?,
            metrics: raw.flag("portal.metrics")?,
        };
        let log = LogConfig {
            json: match raw.require("log.format")?.trim() {
                "pretty" => false,
                "json" => true,
                other => {
                    return Err(ConfigError::new(
                        "log.format",
                        format!("'{other}' is not pretty or json"),
                    ));
                }
            },
            audit_file: raw.text("log.audit_file").map(PathBuf::from),
        };
        let throttle_store = raw.require("throttle.store")?;
        if throttle_store != "memory" && !throttle_store.starts_with("redis://") {
            return Err(ConfigError::new(
                "throttle.store",
                "must be memory or a redis:// URL",
            ));
        }
        Ok(Config {
            truenas,
            auth,
            smb,
            throttle_store,
            policy,
            portal,
            log,
        })
    }
}

fn validate_api_key(key: &str) -> Result<(), ConfigError> {
    // TrueNAS keys are "<id>-<64 characters>"; the id is a decimal number.
    let valid = key.split_once('-').is_some_and(|(id, rest)| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty()
    }) && !key.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(ConfigError::new(
            "truenas.api_key",
            "does not look like a TrueNAS API key (ID-KEY, e.g. 1- followed by 64 characters)",
        ))
    }
}

fn validate_secret_key(key: Option<&SecretString>) -> Result<(), ConfigError> {
    let Some(key) = key else {
        return Err(ConfigError::new(
            "portal.secret_key",
            "is required: set SECRET_KEY_FILE to a file with at least 32 random bytes \
             (e.g. `openssl rand -base64 48`)",
        ));
    };
    let key = key.expose_secret();
    if key == FLASK_PLACEHOLDER_SECRET {
        return Err(ConfigError::new(
            "portal.secret_key",
            "is the Flask app's placeholder; generate a real one (`openssl rand -base64 48`)",
        ));
    }
    if key.len() < MIN_SECRET_KEY_BYTES {
        return Err(ConfigError::new(
            "portal.secret_key",
            format!(
                "is {} bytes; it must be at least {MIN_SECRET_KEY_BYTES} (`openssl rand -base64 48`)",
                key.len()
            ),
        ));
    }
    Ok(())
}

fn tls_trust(raw: &Raw) -> Result<TlsTrust, ConfigError> {
    let fingerprint = raw.text("truenas.tls_fingerprint");
    let ca = raw.text("truenas.ca_file");
    let insecure = raw.flag("truenas.insecure_tls")?;
    match (fingerprint, ca, insecure) {
        (None, None, false) => Ok(TlsTrust::System),
        (Some(f), None, false) => {
            let hex: String = f
                .trim()
                .trim_start_matches("sha256:")
                .chars()
                .filter(|c| *c != ':')
                .collect::<String>()
                .to_ascii_lowercase();
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(ConfigError::new(
                    "truenas.tls_fingerprint",
                    "must be sha256: followed by 64 hex digits (colons allowed); `selfpass doctor` prints it",
                ));
            }
            Ok(TlsTrust::Fingerprint(format!("sha256:{hex}")))
        }
        (None, Some(path), false) => Ok(TlsTrust::CaFile(PathBuf::from(path))),
        (None, None, true) => Ok(TlsTrust::Insecure),
        _ => Err(ConfigError::new(
            "truenas.tls_fingerprint",
            "set only one of TRUENAS_TLS_FINGERPRINT, TRUENAS_CA_FILE and TRUENAS_INSECURE_TLS",
        )),
    }
}

fn parse_verifiers(items: &[String]) -> Result<Vec<VerifierChoice>, ConfigError> {
    let mut out = Vec::new();
    for item in items {
        let choice = match item.as_str() {
            "login" => VerifierChoice::Login,
            "smb" => VerifierChoice::Smb,
            "hash" => VerifierChoice::Hash,
            other => {
                return Err(ConfigError::new(
                    "auth.verifiers",
                    format!("'{other}' is not login, smb or hash"),
                ));
            }
        };
        if out.contains(&choice) {
            return Err(ConfigError::new(
                "auth.verifiers",
                format!("'{item}' is listed twice"),
            ));
        }
        out.push(choice);
    }
    if out.is_empty() {
        return Err(ConfigError::new(
            "auth.verifiers",
            "needs at least one of login, smb, hash",
        ));
    }
    Ok(out)
}

fn parse_budget(text: &str) -> Result<(u32, Duration), ConfigError> {
    let bad = || {
        ConfigError::new(
            "auth.login_budget",
            format!("'{text}' is not N/SECONDS, e.g. 15/60"),
        )
    };
    let (n, secs) = text.trim().split_once('/').ok_or_else(bad)?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    let secs: u64 = secs.trim().parse().map_err(|_| bad())?;
    if secs == 0 {
        return Err(bad());
    }
    Ok((n, Duration::from_secs(secs)))
}

fn parse_uid_range(text: &str) -> Result<(u32, u32), ConfigError> {
    let bad = || {
        ConfigError::new(
            "policy.allowed_uids",
            format!("'{text}' is not a range such as 3000-59999"),
        )
    };
    let (lo, hi) = text.trim().split_once('-').ok_or_else(bad)?;
    let lo: u32 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u32 = hi.trim().parse().map_err(|_| bad())?;
    if lo > hi {
        return Err(bad());
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests;
