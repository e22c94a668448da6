//! `selfpass doctor`: step-by-step diagnosis of the connection to TrueNAS, each step with a
//! remedy, stopping at the first hard failure.
//!
//! The steps, in order: DNS → TCP → TLS (certificate subject, expiry, fingerprint; the
//! `TRUENAS_TLS_FINGERPRINT=…` line to pin it) → `GET /api/versions` → WebSocket upgrade on
//! `/api/current` and on `/websocket` → API key login → `system.version` → the key's roles →
//! SMB port → which verifiers the portal can use. After a hard failure the remaining steps are
//! reported as skipped. No step prints a secret.

use crate::config::{Config, Mode, VerifierChoice};
use crate::core::{endpoint_for, options_for};
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use truenas_client::diagnose::{self, CertReport, Versions};
use truenas_client::{AuthFailure, Client, Endpoint, Error, Options, Query, Stage, Tls};

/// How a step went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Fine.
    Ok,
    /// Works, but worth fixing.
    Warn,
    /// Broken: later steps cannot run.
    Fail,
    /// Not run (an earlier step failed, or it does not apply).
    Skipped,
}

/// One step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorStep {
    /// Short name, e.g. `tcp`.
    pub name: String,
    /// How it went.
    pub status: StepStatus,
    /// What was found.
    pub detail: String,
    /// What to do, when something is wrong.
    pub remedy: Option<String>,
}

/// The whole diagnosis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    /// Steps in order.
    pub steps: Vec<DoctorStep>,
}

impl DoctorReport {
    /// No step failed.
    pub fn passed(&self) -> bool {
        !self.steps.iter().any(|s| s.status == StepStatus::Fail)
    }

    /// Some step warned.
    pub fn has_warnings(&self) -> bool {
        self.steps.iter().any(|s| s.status == StepStatus::Warn)
    }

    /// The step called `name`, if it is in the report.
    pub fn step(&self, name: &str) -> Option<&DoctorStep> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// The first failed step, if any.
    pub fn failed_step(&self) -> Option<&DoctorStep> {
        self.steps.iter().find(|s| s.status == StepStatus::Fail)
    }

    fn push(
        &mut self,
        name: &str,
        status: StepStatus,
        detail: impl Into<String>,
        remedy: Option<String>,
    ) {
        self.steps.push(DoctorStep {
            name: name.to_owned(),
            status,
            detail: detail.into(),
            remedy,
        });
    }
}

/// Step names, in the order they run.
pub mod steps {
    /// Configuration could not be turned into connection options.
    pub const SETTINGS: &str = "settings";
    /// Host name lookup.
    pub const DNS: &str = "dns";
    /// TCP connect to the middleware port.
    pub const TCP: &str = "tcp";
    /// TLS handshake and certificate.
    pub const TLS: &str = "tls";
    /// `GET /api/versions`.
    pub const VERSIONS: &str = "api versions";
    /// WebSocket upgrade on `/api/current` (JSON-RPC 2.0).
    pub const API_CURRENT: &str = "upgrade /api/current";
    /// WebSocket upgrade on `/websocket` (legacy protocol).
    pub const WEBSOCKET: &str = "upgrade /websocket";
    /// Login with the service API key.
    pub const LOGIN: &str = "api key login";
    /// `system.version`.
    pub const VERSION: &str = "system.version";
    /// The key's roles (`auth.me`).
    pub const ROLES: &str = "roles";
    /// SMB port reachable.
    pub const SMB: &str = "smb";
    /// Which verifiers the portal can use.
    pub const VERIFIERS: &str = "verifiers";

    /// All of them, in order.
    pub const ALL: &[&str] = &[
        DNS,
        TCP,
        TLS,
        VERSIONS,
        API_CURRENT,
        WEBSOCKET,
        LOGIN,
        VERSION,
        ROLES,
        SMB,
        VERIFIERS,
    ];
}

use steps::*;

/// A hard failure: later steps do not run.
struct Stop;

type Flow<T = ()> = Result<T, Stop>;

/// Runs the diagnosis with `config`'s connection settings.
pub async fn run(config: &Config) -> DoctorReport {
    let mut report = DoctorReport { steps: Vec::new() };
    let options = match options_for(config) {
        Ok(o) => o.reconnect(false).keepalive(None),
        Err(f) => {
            report.push(
                SETTINGS,
                StepStatus::Fail,
                f.to_string(),
                Some(
                    "set TRUENAS_TLS_FINGERPRINT to sha256: followed by the 64 hex digits the TLS step prints, or fix the other TLS settings"
                        .to_owned(),
                ),
            );
            skip_rest(&mut report);
            return report;
        }
    };
    let mut doctor = Doctor {
        config,
        endpoint: endpoint_for(config),
        options,
        limit: config.truenas.timeout,
        report,
    };
    let _ = doctor.steps().await;
    let mut report = doctor.report;
    skip_rest(&mut report);
    report
}

fn skip_rest(report: &mut DoctorReport) {
    for name in ALL {
        if report.step(name).is_none() {
            report.push(
                name,
                StepStatus::Skipped,
                "not run: an earlier step failed",
                None,
            );
        }
    }
}

struct Doctor<'a> {
    config: &'a Config,
    endpoint: Endpoint,
    options: Options,
    limit: Duration,
    report: DoctorReport,
}

/// What the login steps learned, for the verifier summary.
struct Learned {
    major: Option<u32>,
    smb_reachable: bool,
    hashes: Result<(), String>,
}

impl Doctor<'_> {
    fn ok(&mut self, name: &str, detail: impl Into<String>) {
        self.report.push(name, StepStatus::Ok, detail, None);
    }

    fn warn(&mut self, name: &str, detail: impl Into<String>, remedy: impl Into<String>) {
        self.report
            .push(name, StepStatus::Warn, detail, Some(remedy.into()));
    }

    fn fail<T>(
        &mut self,
        name: &str,
        detail: impl Into<String>,
        remedy: impl Into<String>,
    ) -> Flow<T> {
        self.report
            .push(name, StepStatus::Fail, detail, Some(remedy.into()));
        Err(Stop)
    }

    /// Runs `fut` under the configured timeout (plus a second: every probe has its own).
    async fn timed<T>(
        &self,
        what: &str,
        fut: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let limit = self.limit + Duration::from_secs(1);
        tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
            Err(Error::Timeout {
                stage: Stage::Call,
                after: limit,
                method: Some(what.to_owned()),
            })
        })
    }

    async fn steps(&mut self) -> Flow {
        self.network().await?;
        let client = self.login().await?;
        let result = self.logged_in(&client).await;
        client.close().await;
        result
    }

    async fn network(&mut self) -> Flow {
        let t = &self.config.truenas;
        let (host, port) = (t.host.clone(), t.port);
        let addrs = match self
            .timed("DNS", diagnose::resolve(&host, port, self.limit))
            .await
        {
            Ok(a) => a,
            Err(e) => {
                let remedy = format!("{} (TRUENAS_HOST)", e.hint());
                return self.fail(DNS, e.to_string(), remedy);
            }
        };
        let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
        self.ok(DNS, format!("{host} → {}", shown.join(", ")));

        match self.timed("TCP", diagnose::tcp(&addrs, self.limit)).await {
            Ok(a) => self.ok(TCP, format!("port {port} open on {}", a.ip())),
            Err(e) => {
                let remedy = format!("{} (TRUENAS_HOST, TRUENAS_PORT)", e.hint());
                return self.fail(TCP, e.to_string(), remedy);
            }
        }

        self.tls().await?;
        self.versions().await?;
        self.upgrades().await
    }

    async fn tls(&mut self) -> Flow {
        if !self.endpoint.is_tls() {
            if self.endpoint.is_loopback() {
                self.report.push(
                    TLS,
                    StepStatus::Skipped,
                    "plain ws:// to a loopback address: no TLS needed",
                    None,
                );
            } else {
                self.warn(
                    TLS,
                    format!(
                        "plain ws:// to {}: TrueNAS revokes an API key sent without TLS, so selfpass will not send it",
                        self.endpoint.host()
                    ),
                    "connect with TLS: TRUENAS_USE_SSL=true and TRUENAS_PORT=443 (pin a self-signed certificate with the TRUENAS_TLS_FINGERPRINT line this step then prints)",
                );
            }
            return Ok(());
        }
        let mode = self.options.tls.clone();
        let cert = match self
            .timed(
                "TLS",
                diagnose::certificate(&self.endpoint, &mode, self.limit),
            )
            .await
        {
            Ok(c) => c,
            Err(e) => return self.fail(TLS, e.to_string(), e.hint()),
        };
        let pin_line = format!("TRUENAS_TLS_FINGERPRINT={}", cert.fingerprint);
        let mut detail = describe(&cert);
        let expiry = expiry_note(&cert.info.not_after, now_secs());
        if let Some(note) = &expiry {
            detail.push_str(&format!("\n{note}"));
        }
        match (&cert.trusted, &mode) {
            (Err(why), mode) => {
                detail.push_str(&format!("\ndoes not verify: {why}"));
                let changed = if matches!(mode, Tls::Pinned(_)) {
                    "the certificate is not the pinned one: after a renewal on TrueNAS, pin the new one; if nothing was renewed, someone may be intercepting the connection — check before pinning.\n"
                } else {
                    ""
                };
                let remedy = format!(
                    "{changed}if this is your TrueNAS's own (self-signed) certificate, pin it: add this line to the configuration (or .env)\n{pin_line}\nor give TrueNAS a certificate from a CA this host trusts (TRUENAS_CA_FILE=… for a private CA)"
                );
                self.fail(TLS, detail, remedy)
            }
            (Ok(()), Tls::Insecure) => {
                detail.push_str("\ncertificate NOT verified (TRUENAS_INSECURE_TLS)");
                self.warn(
                    TLS,
                    detail,
                    format!(
                        "turn off TRUENAS_INSECURE_TLS and pin this certificate instead:\n{pin_line}"
                    ),
                );
                Ok(())
            }
            (Ok(()), mode) => {
                detail.push_str(match mode {
                    Tls::Pinned(_) => "\nverifies: matches the pinned fingerprint",
                    Tls::CaFile(_) => "\nverifies: signed by the CA in TRUENAS_CA_FILE",
                    _ => "\nverifies: trusted by the system's root certificates",
                });
                if !matches!(mode, Tls::Pinned(_)) {
                    detail.push_str(&format!("\nto pin it: {pin_line}"));
                }
                match expiry {
                    Some(note) => self.warn(
                        TLS,
                        detail,
                        format!("{note}: renew the certificate in TrueNAS (System → Certificates); a new certificate needs a new pin"),
                    ),
                    None => self.ok(TLS, detail),
                }
                Ok(())
            }
        }
    }

    async fn versions(&mut self) -> Flow {
        let answer = self
            .timed(
                "GET /api/versions",
                diagnose::api_versions(&self.endpoint, &self.options),
            )
            .await;
        match answer {
            Ok(Versions::Listed(v)) if v.is_empty() => self.warn(
                VERSIONS,
                "GET /api/versions answered an empty list",
                "check that the host and port point at TrueNAS itself",
            ),
            Ok(Versions::Listed(v)) => self.ok(VERSIONS, format!("API versions: {}", v.join(", "))),
            Ok(other) => {
                let remedy = other.hint().unwrap_or_default();
                let detail = match other {
                    Versions::Status { status, location } => format!(
                        "GET /api/versions answered HTTP {status}{}",
                        location
                            .map(|l| format!(" (Location: {l})"))
                            .unwrap_or_default()
                    ),
                    _ => "GET /api/versions answered something unexpected".to_owned(),
                };
                self.warn(VERSIONS, detail, remedy);
            }
            Err(e @ Error::Protocol { .. }) => {
                self.warn(VERSIONS, e.to_string(), e.hint());
            }
            Err(e) => return self.fail(VERSIONS, e.to_string(), e.hint()),
        }
        Ok(())
    }

    async fn upgrades(&mut self) -> Flow {
        let current = self
            .timed(
                "WebSocket /api/current",
                diagnose::upgrade(&self.endpoint, "/api/current", &self.options),
            )
            .await;
        let current_ok = match current {
            Ok(()) => {
                self.ok(
                    API_CURRENT,
                    "JSON-RPC 2.0 endpoint open and answering (core.set_options)",
                );
                true
            }
            Err(Error::UpgradeRefused { status: 404, .. }) => {
                self.warn(
                    API_CURRENT,
                    "WebSocket upgrade of /api/current refused with HTTP 404: no JSON-RPC API (TrueNAS before 25.04)",
                    "the client falls back to the legacy /websocket endpoint (checked next); upgrade TrueNAS to 25.04 or later to use /api/current",
                );
                false
            }
            Err(e) => {
                let remedy = upgrade_remedy(&e);
                return self.fail(API_CURRENT, e.to_string(), remedy);
            }
        };
        let legacy = self
            .timed(
                "WebSocket /websocket",
                diagnose::upgrade(&self.endpoint, "/websocket", &self.options),
            )
            .await;
        match legacy {
            Ok(()) => self.ok(
                WEBSOCKET,
                "legacy endpoint open and answering (connect → connected)",
            ),
            Err(e) if current_ok => self.warn(
                WEBSOCKET,
                e.to_string(),
                format!(
                    "selfpass uses /api/current here, so this only matters for TrueNAS before 25.04; {}",
                    upgrade_remedy(&e)
                ),
            ),
            Err(e @ Error::UpgradeRefused { status: 404, .. }) => {
                return self.fail(
                    WEBSOCKET,
                    e.to_string(),
                    "neither /api/current nor /websocket exists: TRUENAS_HOST/TRUENAS_PORT do not point at the TrueNAS middleware",
                );
            }
            Err(e) => {
                let remedy = upgrade_remedy(&e);
                return self.fail(WEBSOCKET, e.to_string(), remedy);
            }
        }
        Ok(())
    }

    async fn login(&mut self) -> Flow<Client> {
        let connected = self
            .timed(
                "connect",
                Client::connect(self.endpoint.clone(), self.options.clone()),
            )
            .await;
        let client = match connected {
            Ok(c) => c,
            Err(e) => {
                let remedy = upgrade_remedy(&e);
                return self.fail(LOGIN, format!("cannot connect: {e}"), remedy);
            }
        };
        let t = &self.config.truenas;
        let login = self
            .timed(
                "login",
                client.login_api_key(t.api_key.clone(), t.api_key_user.as_deref()),
            )
            .await;
        match login {
            Ok(()) => {
                let who = t
                    .api_key_user
                    .as_deref()
                    .map(|u| format!(" (user {u})"))
                    .unwrap_or_default();
                let protocol = match client.protocol() {
                    Some(truenas_client::Protocol::Legacy) => "legacy /websocket",
                    _ => "JSON-RPC /api/current",
                };
                self.ok(
                    LOGIN,
                    format!("the service API key{who} logs in over {protocol}"),
                );
                Ok(client)
            }
            Err(e) => {
                client.close().await;
                let remedy = login_remedy(&e);
                self.fail(LOGIN, e.to_string(), remedy)
            }
        }
    }

    async fn logged_in(&mut self, client: &Client) -> Flow {
        let major = match self.timed("system.version", client.system_version()).await {
            Ok(v) => {
                let major = parse_major(&v);
                self.ok(VERSION, v);
                major
            }
            Err(e) => {
                self.warn(VERSION, format!("system.version failed: {e}"), e.hint());
                None
            }
        };
        self.roles(client).await?;
        let smb_reachable = self.smb().await;
        let hashes = self.hashes(client).await;
        self.verifiers(&Learned {
            major,
            smb_reachable,
            hashes,
        })
    }

    async fn roles(&mut self, client: &Client) -> Flow {
        let me = match self.timed("auth.me", client.me()).await {
            Ok(me) => me,
            Err(e) => {
                self.warn(
                    ROLES,
                    format!("cannot read the key's roles (auth.me): {e}"),
                    e.hint(),
                );
                return Ok(());
            }
        };
        let roles: Vec<String> = me.privilege.map(|p| p.roles.0).unwrap_or_default();
        let (status, detail, remedy) = judge_roles(&me.pw_name, &roles);
        self.report.push(ROLES, status, detail, remedy);
        if status == StepStatus::Fail {
            Err(Stop)
        } else {
            Ok(())
        }
    }

    /// `true` when the SMB port answers.
    async fn smb(&mut self) -> bool {
        let smb = &self.config.smb;
        if !smb.enabled {
            self.report.push(
                SMB,
                StepStatus::Skipped,
                "SMB verifier off (SELFPASS_SMB_ENABLED=false)",
                None,
            );
            return false;
        }
        let (host, port, limit) = (smb.host.clone(), smb.port, smb.timeout);
        let reached = match self
            .timed("SMB DNS", diagnose::resolve(&host, port, limit))
            .await
        {
            Ok(addrs) => self.timed("SMB TCP", diagnose::tcp(&addrs, limit)).await,
            Err(e) => Err(e),
        };
        match reached {
            Ok(a) => {
                self.ok(SMB, format!("SMB port {port} open on {host} ({})", a.ip()));
                true
            }
            Err(e) => {
                self.warn(
                    SMB,
                    format!("SMB port {port} on {host} not reachable: {e}"),
                    format!(
                        "the SMB verifier will answer `unavailable` and the hash verifier still works; to use SMB, enable the SMB service in TrueNAS and allow TCP {port} from this host (SELFPASS_SMB_HOST, SELFPASS_SMB_PORT), or set SELFPASS_SMB_ENABLED=false"
                    ),
                );
                false
            }
        }
    }

    /// `Ok` when `user.query` shows the key real password hashes, else why not.
    async fn hashes(&self, client: &Client) -> Result<(), String> {
        let query = Query::new()
            .local_only()
            .select(["username", "unixhash"])
            .limit(50);
        let rows: Vec<Value> = self
            .timed("user.query", client.call("user.query", query.to_params()))
            .await
            .map_err(|e| format!("user.query failed: {e}"))?;
        let real = rows.iter().any(|row| {
            row.get("unixhash")
                .and_then(Value::as_str)
                .is_some_and(|h| !h.is_empty() && h != "********")
        });
        if real {
            Ok(())
        } else if rows.is_empty() {
            Err("user.query returned no local users".to_owned())
        } else {
            Err(
                "the key sees \"********\" instead of password hashes (needs ACCOUNT_WRITE)"
                    .to_owned(),
            )
        }
    }

    fn verifiers(&mut self, learned: &Learned) -> Flow {
        let cfg = &self.config.auth;
        let major = learned.major.unwrap_or(25);
        let login: Result<String, String> = match cfg.mode {
            Mode::UserSession => {
                Ok("mode user_session: users log in with their own password".into())
            }
            Mode::Auto if major >= 26 => Ok(format!(
                "TrueNAS {major}.x answers DENIED for users without a privilege, which still proves the password"
            )),
            Mode::Auto => Err(format!(
                "TrueNAS {major}.x answers AUTH_ERR for users without a privilege (right or wrong password); only two-factor users are logged in — set SELFPASS_MODE=user_session if every user holds a privilege"
            )),
            Mode::Service => Err("mode service: only two-factor users are logged in".into()),
        };
        let smb: Result<String, String> = if !self.config.smb.enabled {
            Err("SMB verifier off".into())
        } else if learned.smb_reachable {
            Ok("SMB port reachable (users with SMB access)".into())
        } else {
            Err("SMB port not reachable".into())
        };
        let hash: Result<String, String> = learned
            .hashes
            .clone()
            .map(|()| "the key reads real password hashes".to_owned());
        let mut lines = Vec::new();
        let mut usable = Vec::new();
        for (choice, name, state) in [
            (VerifierChoice::Login, "login", &login),
            (VerifierChoice::Smb, "smb", &smb),
            (VerifierChoice::Hash, "hash", &hash),
        ] {
            let configured = cfg.verifiers.contains(&choice);
            let line = match (configured, state) {
                (false, _) => format!("{name}: not used (not in SELFPASS_VERIFIERS)"),
                (true, Ok(why)) => {
                    usable.push(name);
                    format!("{name}: yes — {why}")
                }
                (true, Err(why)) => format!("{name}: no — {why}"),
            };
            lines.push(line);
        }
        let detail = format!(
            "{}\n{}",
            if usable.is_empty() {
                "the portal can verify no password".to_owned()
            } else {
                format!(
                    "the portal will verify passwords with: {}",
                    usable.join(", ")
                )
            },
            lines.join("\n")
        );
        if usable.is_empty() {
            return self.fail(
                VERIFIERS,
                detail,
                "give the service key ACCOUNT_WRITE (hash verifier), make the SMB port reachable, or let users log in (SELFPASS_MODE=user_session with a privilege for their groups)",
            );
        }
        if cfg.verifiers.contains(&VerifierChoice::Hash) && learned.hashes.is_err() {
            self.warn(
                VERIFIERS,
                detail,
                "the hash verifier is the fallback for users without SMB: give the service key ACCOUNT_WRITE so it can read hashes",
            );
        } else {
            self.ok(VERIFIERS, detail);
        }
        Ok(())
    }
}

/// The roles step: ACCOUNT_READ + ACCOUNT_WRITE is right, FULL_ADMIN too much, less too little.
fn judge_roles(owner: &str, roles: &[String]) -> (StepStatus, String, Option<String>) {
    let has = |r: &str| roles.iter().any(|x| x == r);
    let listed = if roles.is_empty() {
        "none".to_owned()
    } else {
        roles.join(", ")
    };
    let found = format!("the key of {owner} has roles: {listed}");
    if has("FULL_ADMIN") {
        return (
            StepStatus::Warn,
            format!("{found} — more privilege than selfpass needs"),
            Some("a leaked admin key controls the whole NAS: give the service user a privilege with only ACCOUNT_READ and ACCOUNT_WRITE (Credentials → Groups → Privileges) and make its API key there".to_owned()),
        );
    }
    // ACCOUNT_WRITE includes ACCOUNT_READ, and READONLY_ADMIN includes it too.
    let read = has("ACCOUNT_READ") || has("ACCOUNT_WRITE") || has("READONLY_ADMIN");
    let write = has("ACCOUNT_WRITE");
    let missing: Vec<&str> = [("ACCOUNT_READ", read), ("ACCOUNT_WRITE", write)]
        .into_iter()
        .filter(|(_, held)| !held)
        .map(|(r, _)| r)
        .collect();
    if missing.is_empty() {
        return (
            StepStatus::Ok,
            format!("{found} (ACCOUNT_READ + ACCOUNT_WRITE: what selfpass needs)"),
            None,
        );
    }
    let missing = missing.join(" and ");
    (
        StepStatus::Fail,
        format!("{found}; missing {missing}"),
        Some(format!(
            "add {missing} to the privilege of the key's user (Credentials → Groups → Privileges): ACCOUNT_READ lists users, ACCOUNT_WRITE reads their hashes and changes passwords"
        )),
    )
}

fn describe(cert: &CertReport) -> String {
    format!(
        "certificate subject {}, expires {}\nfingerprint {}",
        cert.info.subject, cert.info.not_after, cert.fingerprint
    )
}

/// The remedy for a failed WebSocket upgrade (or connect), naming selfpass's settings.
fn upgrade_remedy(e: &Error) -> String {
    match e {
        Error::UpgradeRefused {
            status: 301..=303,
            location,
            ..
        } => format!(
            "an authentication proxy (TinyAuth, Authelia, …) in front of TrueNAS redirects the API{}: exempt the paths /api and /websocket from it (the middleware does its own authentication), or point TRUENAS_HOST/TRUENAS_PORT at TrueNAS directly",
            location
                .as_ref()
                .map(|l| format!(" to {l}"))
                .unwrap_or_default()
        ),
        Error::UpgradeRefused {
            status: 307 | 308, ..
        } => "TrueNAS redirects plain HTTP to HTTPS (\"HTTPS redirect\"): use wss:// — set TRUENAS_USE_SSL=true and TRUENAS_PORT=443, and pin a self-signed certificate with the TRUENAS_TLS_FINGERPRINT line the tls step prints".to_owned(),
        Error::UpgradeRefused {
            status: status @ (401 | 403),
            ..
        } => format!(
            "HTTP {status} ({}): a proxy in front of TrueNAS demands its own authentication: exempt /api and /websocket from it, or allow this host",
            if *status == 401 { "Unauthorized" } else { "Forbidden" }
        ),
        Error::Closed {
            code: Some(1008), ..
        } => "close code 1008: this host is not on TrueNAS's UI allow-list: add the portal's address (as TrueNAS sees it) under System → General → GUI → Allowed IP addresses, or empty that list".to_owned(),
        other => other.hint(),
    }
}

/// The remedy for a failed API key login.
fn login_remedy(e: &Error) -> String {
    match e {
        Error::Auth {
            failure: AuthFailure::Expired,
        } => "TrueNAS answered EXPIRED: the key was revoked (TrueNAS revokes a key ever sent over plain ws:// to a non-loopback address) or its expiry date passed: make a new API key for the service user, set TRUENAS_API_KEY (or TRUENAS_API_KEY_FILE), and connect only with wss:// (TRUENAS_USE_SSL=true)".to_owned(),
        Error::Auth {
            failure: AuthFailure::AuthErr | AuthFailure::Rejected,
        } => "the API key was not accepted: check TRUENAS_API_KEY (the whole `<id>-<key>` string, or TRUENAS_API_KEY_FILE), TRUENAS_API_KEY_USER (the key's owner), and that the key still exists in TrueNAS".to_owned(),
        Error::InsecureTransport { .. } => format!("{} (TRUENAS_USE_SSL=true)", e.hint()),
        other => upgrade_remedy(other),
    }
}

fn parse_major(version: &str) -> Option<u32> {
    // "TrueNAS-25.10.1", "TrueNAS-SCALE-24.10.2" or "25.10.1"
    version
        .rsplit('-')
        .next()
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok())
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Seconds since the epoch of `YYYY-MM-DD HH:MM:SS UTC` (the form `CertInfo` uses).
fn parse_utc(s: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|t| t.parse::<i64>().ok());
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// A warning when the certificate has expired or expires within 30 days.
fn expiry_note(not_after: &str, now: i64) -> Option<String> {
    let end = parse_utc(not_after)?;
    let left = end - now;
    if left < 0 {
        Some(format!("the certificate EXPIRED on {not_after}"))
    } else if left < 30 * 86_400 {
        Some(format!("the certificate expires in {} days", left / 86_400))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_utc("1970-01-01 00:00:00 UTC"), Some(0));
        assert_eq!(parse_utc("2000-03-01 00:00:00 UTC"), Some(951_868_800));
        assert_eq!(parse_utc("2034-01-01 12:30:05 UTC"), Some(2_019_731_405));
        assert_eq!(parse_utc("?"), None);
        let now = parse_utc("2030-01-01 00:00:00 UTC").unwrap_or_default();
        assert!(expiry_note("2029-12-31 00:00:00 UTC", now).is_some_and(|n| n.contains("EXPIRED")));
        assert!(expiry_note("2030-01-11 00:00:00 UTC", now).is_some_and(|n| n.contains("10 days")));
        assert_eq!(expiry_note("2031-01-01 00:00:00 UTC", now), None);
        assert_eq!(expiry_note("?", now), None);
    }

    #[test]
    fn roles() {
        let r = |v: &[&str]| {
            judge_roles(
                "svc",
                &v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
            )
        };
        let (st, detail, remedy) = r(&["FULL_ADMIN"]);
        assert_eq!(st, StepStatus::Warn);
        assert!(
            detail.contains("more privilege")
                && remedy.is_some_and(|m| m.contains("ACCOUNT_WRITE"))
        );
        assert_eq!(r(&["ACCOUNT_READ", "ACCOUNT_WRITE"]).0, StepStatus::Ok);
        assert_eq!(r(&["ACCOUNT_WRITE"]).0, StepStatus::Ok);
        let (st, detail, _) = r(&["ACCOUNT_READ"]);
        assert_eq!(st, StepStatus::Fail);
        assert!(detail.ends_with("missing ACCOUNT_WRITE"));
        let (st, detail, _) = r(&[]);
        assert_eq!(st, StepStatus::Fail);
        assert!(
            detail.contains("roles: none") && detail.contains("ACCOUNT_READ and ACCOUNT_WRITE")
        );
        assert_eq!(r(&["READONLY_ADMIN"]).0, StepStatus::Fail);
    }

    #[test]
    fn majors() {
        assert_eq!(parse_major("TrueNAS-25.10.1"), Some(25));
        assert_eq!(parse_major("TrueNAS-SCALE-24.10.2"), Some(24));
        assert_eq!(parse_major("26.0.0"), Some(26));
        assert_eq!(parse_major(""), None);
    }

    #[test]
    fn remedies_name_the_fix() {
        let e = Error::UpgradeRefused {
            status: 302,
            path: "/api/current".into(),
            location: Some("https://auth.example/login".into()),
        };
        assert!(upgrade_remedy(&e).contains("exempt the paths /api and /websocket"));
        let e = Error::UpgradeRefused {
            status: 308,
            path: "/api/current".into(),
            location: None,
        };
        assert!(upgrade_remedy(&e).contains("TRUENAS_USE_SSL=true"));
        let e = Error::Auth {
            failure: AuthFailure::Expired,
        };
        assert!(login_remedy(&e).contains("make a new API key"));
    }
}
