//! The one table of settings: each has one environment variable, one TOML key and (in the
//! binaries) one flag. Loading, the binaries' flags and docs/configuration.md all read this table.

/// Which binary reads a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The portal and the CLI.
    Both,
    /// Only the portal (`selfpass-web`).
    Portal,
}

/// One setting.
#[derive(Debug, Clone, Copy)]
pub struct SettingSpec {
    /// Dotted TOML key, e.g. `truenas.host`; also the key of a flag override.
    pub key: &'static str,
    /// Environment variable.
    pub env: &'static str,
    /// Long flag without dashes, or `None` for secrets (never on a command line).
    pub flag: Option<&'static str>,
    /// Default, as written in the docs (`None`: no default).
    pub default: Option<&'static str>,
    /// Which binary reads it.
    pub scope: Scope,
    /// What it means, one line.
    pub help: &'static str,
}

const fn s(
    key: &'static str,
    env: &'static str,
    flag: Option<&'static str>,
    default: Option<&'static str>,
    scope: Scope,
    help: &'static str,
) -> SettingSpec {
    SettingSpec {
        key,
        env,
        flag,
        default,
        scope,
        help,
    }
}

use Scope::{Both, Portal};

/// Every setting selfpass reads.
pub const SETTINGS: &[SettingSpec] = &[
    s(
        "truenas.host",
        "TRUENAS_HOST",
        Some("host"),
        Some("localhost"),
        Both,
        "TrueNAS host name or address.",
    ),
    s(
        "truenas.port",
        "TRUENAS_PORT",
        Some("port"),
        Some("443"),
        Both,
        "TrueNAS web port (the middleware API is served there).",
    ),
    s(
        "truenas.use_ssl",
        "TRUENAS_USE_SSL",
        Some("use-ssl"),
        Some("true"),
        Both,
        "Connect with TLS (wss://). Plain ws:// is refused for non-loopback hosts when a key or password would cross it.",
    ),
    s(
        "truenas.api_key",
        "TRUENAS_API_KEY",
        None,
        None,
        Both,
        "Service API key (`1-` and 64 characters) with ACCOUNT_READ + ACCOUNT_WRITE. Prefer the _FILE form.",
    ),
    s(
        "truenas.api_key_file",
        "TRUENAS_API_KEY_FILE",
        Some("api-key-file"),
        None,
        Both,
        "File holding the service API key (first line).",
    ),
    s(
        "truenas.api_key_user",
        "TRUENAS_API_KEY_USER",
        Some("api-key-user"),
        None,
        Both,
        "User that owns the API key (enables auth.login_ex API_KEY_PLAIN).",
    ),
    s(
        "truenas.tls_fingerprint",
        "TRUENAS_TLS_FINGERPRINT",
        Some("tls-fingerprint"),
        None,
        Both,
        "Pin the server certificate: sha256: and 64 hex digits (see `selfpass doctor`).",
    ),
    s(
        "truenas.ca_file",
        "TRUENAS_CA_FILE",
        Some("ca-file"),
        None,
        Both,
        "PEM file of the CA that signed the server certificate.",
    ),
    s(
        "truenas.insecure_tls",
        "TRUENAS_INSECURE_TLS",
        Some("insecure"),
        Some("false"),
        Both,
        "Skip certificate verification (logged loudly at every connect). Pin a fingerprint instead.",
    ),
    s(
        "truenas.timeout_secs",
        "TRUENAS_TIMEOUT",
        Some("timeout"),
        Some("10"),
        Both,
        "Seconds allowed for connecting to TrueNAS and for each call.",
    ),
    s(
        "auth.mode",
        "SELFPASS_MODE",
        Some("mode"),
        Some("auto"),
        Both,
        "auto | user_session | service: whether users may log in to the API (see docs/truenas-setup.md).",
    ),
    s(
        "auth.verifiers",
        "SELFPASS_VERIFIERS",
        Some("verifiers"),
        Some("login,smb,hash"),
        Both,
        "Order of the password verifiers: login, smb, hash.",
    ),
    s(
        "auth.server_names",
        "SELFPASS_SERVER_NAMES",
        Some("server-names"),
        None,
        Both,
        "Names of this server accepted as WORKGROUP\\ prefix or @REALM suffix (default: SMB workgroup and host).",
    ),
    s(
        "auth.signin_floor_ms",
        "SELFPASS_SIGNIN_FLOOR_MS",
        Some("signin-floor-ms"),
        Some("400"),
        Both,
        "Every failed sign-in answers no sooner than this, so timing tells nothing.",
    ),
    s(
        "auth.login_budget",
        "SELFPASS_LOGIN_BUDGET",
        Some("login-budget"),
        Some("15/60"),
        Both,
        "Logins as a user per seconds, kept under TrueNAS's 20/60 s unauthenticated rate limit.",
    ),
    s(
        "auth.second_factor_secs",
        "SELFPASS_SECOND_FACTOR_SECS",
        Some("second-factor-secs"),
        Some("120"),
        Both,
        "How long a sign-in waits for the two-factor code.",
    ),
    s(
        "smb.enabled",
        "SELFPASS_SMB_ENABLED",
        Some("smb"),
        Some("true"),
        Both,
        "Use the SMB login probe for users with SMB access.",
    ),
    s(
        "smb.host",
        "SELFPASS_SMB_HOST",
        Some("smb-host"),
        None,
        Both,
        "SMB host (default: truenas.host).",
    ),
    s(
        "smb.port",
        "SELFPASS_SMB_PORT",
        Some("smb-port"),
        Some("445"),
        Both,
        "SMB port.",
    ),
    s(
        "smb.workgroup",
        "SELFPASS_SMB_WORKGROUP",
        Some("smb-workgroup"),
        Some("WORKGROUP"),
        Both,
        "SMB workgroup or domain of the local accounts.",
    ),
    s(
        "smb.timeout_secs",
        "SELFPASS_SMB_TIMEOUT",
        Some("smb-timeout"),
        Some("5"),
        Both,
        "Seconds allowed for one SMB probe.",
    ),
    s(
        "throttle.store",
        "SELFPASS_THROTTLE_STORE",
        Some("throttle-store"),
        Some("memory"),
        Both,
        "memory, or a redis:// URL shared by every portal replica and the CLI's unban.",
    ),
    s(
        "policy.min_length",
        "SELFPASS_MIN_LENGTH",
        Some("min-length"),
        Some("15"),
        Both,
        "Minimum password length in characters (never below 8).",
    ),
    s(
        "policy.min_score",
        "SELFPASS_MIN_SCORE",
        Some("min-score"),
        Some("3"),
        Both,
        "Minimum zxcvbn strength score, 0 to 4.",
    ),
    s(
        "policy.deny_list_file",
        "SELFPASS_DENY_LIST_FILE",
        Some("deny-list-file"),
        None,
        Both,
        "Extra refused passwords, one per line.",
    ),
    s(
        "policy.allowed_groups",
        "SELFPASS_ALLOWED_GROUPS",
        Some("allowed-groups"),
        None,
        Both,
        "Only members of these groups (comma separated) may self-serve.",
    ),
    s(
        "policy.allowed_uids",
        "SELFPASS_ALLOWED_UIDS",
        Some("allowed-uids"),
        None,
        Both,
        "Only these uids may self-serve, e.g. 3000-59999.",
    ),
    s(
        "portal.secret_key",
        "SECRET_KEY",
        None,
        None,
        Portal,
        "Session and audit key, at least 32 bytes. Prefer the _FILE form.",
    ),
    s(
        "portal.secret_key_file",
        "SECRET_KEY_FILE",
        Some("secret-key-file"),
        None,
        Portal,
        "File holding SECRET_KEY.",
    ),
    s(
        "portal.listen",
        "SELFPASS_LISTEN",
        Some("listen"),
        Some("127.0.0.1:8080"),
        Portal,
        "Address the portal listens on.",
    ),
    s(
        "portal.base_path",
        "SELFPASS_BASE_PATH",
        Some("base-path"),
        Some(""),
        Portal,
        "Path prefix when served below a path, e.g. /passwd.",
    ),
    s(
        "portal.trusted_proxies",
        "SELFPASS_TRUSTED_PROXIES",
        Some("trusted-proxy"),
        None,
        Portal,
        "CIDRs whose X-Forwarded-For/Proto/Host are believed (comma separated).",
    ),
    s(
        "portal.title",
        "SELFPASS_TITLE",
        Some("title"),
        Some("Change your password"),
        Portal,
        "Page title.",
    ),
    s(
        "portal.logo_url",
        "SELFPASS_LOGO_URL",
        Some("logo-url"),
        None,
        Portal,
        "Logo image URL (same origin).",
    ),
    s(
        "portal.admin_contact",
        "SELFPASS_ADMIN_CONTACT",
        Some("admin-contact"),
        Some("your administrator"),
        Portal,
        "Who to ask when a password is forgotten, shown on the sign-in page.",
    ),
    s(
        "portal.session_store",
        "SELFPASS_SESSION_STORE",
        Some("session-store"),
        Some("cookie"),
        Portal,
        "cookie, or a redis:// URL for several replicas.",
    ),
    s(
        "portal.idle_timeout_secs",
        "SELFPASS_IDLE_TIMEOUT",
        Some("idle-timeout"),
        Some("600"),
        Portal,
        "Seconds of inactivity that end a portal session.",
    ),
    s(
        "portal.session_lifetime_secs",
        "SELFPASS_SESSION_LIFETIME",
        Some("session-lifetime"),
        Some("3600"),
        Portal,
        "Seconds after which a portal session ends regardless.",
    ),
    s(
        "portal.metrics",
        "SELFPASS_METRICS",
        Some("metrics"),
        Some("false"),
        Portal,
        "Serve Prometheus metrics on /metrics.",
    ),
    s(
        "log.format",
        "SELFPASS_LOG_FORMAT",
        Some("log-format"),
        Some("pretty"),
        Both,
        "pretty or json.",
    ),
    s(
        "log.audit_file",
        "SELFPASS_AUDIT_LOG",
        Some("audit-log"),
        None,
        Both,
        "Append audit events (JSON lines) to this file as well as to the log.",
    ),
];

/// The Markdown table of every setting, as docs/configuration.md holds it (a test keeps the two
/// in step).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| environment variable | flag | TOML key | default | used by | meaning |\n|---|---|---|---|---|---|\n",
    );
    for s in SETTINGS {
        let flag = s
            .flag
            .map_or_else(|| "(none: secret)".to_owned(), |f| format!("`--{f}`"));
        let default = s
            .default
            .map_or_else(|| "".to_owned(), |d| format!("`{d}`"));
        let scope = match s.scope {
            Scope::Both => "portal, CLI",
            Scope::Portal => "portal",
        };
        out.push_str(&format!(
            "| `{}` | {flag} | `{}` | {default} | {scope} | {} |\n",
            s.env,
            s.key,
            s.help.replace('|', "\\|")
        ));
    }
    out
}

/// The setting with this TOML key.
pub fn spec(key: &str) -> Option<&'static SettingSpec> {
    SETTINGS.iter().find(|s| s.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique() {
        let mut keys = HashSet::new();
        let mut envs = HashSet::new();
        let mut flags = HashSet::new();
        for s in SETTINGS {
            assert!(keys.insert(s.key), "{}", s.key);
            assert!(envs.insert(s.env), "{}", s.env);
            if let Some(flag) = s.flag {
                assert!(flags.insert(flag), "{flag}");
            }
        }
    }

    #[test]
    fn docs_list_every_setting() {
        let doc = include_str!("../../../../docs/configuration.md");
        let table = markdown_table();
        assert!(
            doc.contains(&table),
            "docs/configuration.md is out of date; its table must be:\n{table}"
        );
    }

    #[test]
    fn secrets_have_no_flag() {
        for key in ["truenas.api_key", "portal.secret_key"] {
            assert_eq!(spec(key).and_then(|s| s.flag), None, "{key}");
        }
    }
}

#[cfg(test)]
mod print {
    /// `cargo test -p selfpass-core print_settings_table -- --ignored --nocapture` prints the table.
    #[test]
    #[ignore = "prints the table for docs/configuration.md"]
    fn print_settings_table() {
        print!("{}", super::markdown_table());
    }
}
