//! Typed audit events. None carries a password, and a typed name that resolves to no user (often
//! a password typed into the name field) appears only as an HMAC under the deployment's secret
//! key: equal names still correlate, but the text is not in the log.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use serde::{Deserialize, Serialize};

use crate::names::ResolvedName;
use crate::verifier::VerifierKind;
use crate::{Error, Result};

/// The tracing target audit events are logged on.
pub const TARGET: &str = "selfpass::audit";

/// Whom an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// A local user, by exact name.
    User(String),
    /// A name that resolved to nobody: hex HMAC-SHA256 of its canonical key.
    Unknown(String),
}

/// The key unknown names are hashed with (the deployment's secret key).
pub struct AuditKey(SecretSlice<u8>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(..)")
    }
}

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

impl AuditKey {
    /// A key from the secret's bytes; refuses fewer than 32 bytes.
    pub fn new(secret: &[u8]) -> Result<Self> {
        if secret.len() < 32 {
            return Err(Error::config("SECRET_KEY", "must be at least 32 bytes"));
        }
        Ok(AuditKey(secret.to_vec().into()))
    }

    /// Hex HMAC-SHA256 of `text`.
    pub fn hash(&self, text: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail; fall back to an empty tag anyway
        // rather than panic in a logging path.
        let Ok(mut mac) = HmacSha256::new_from_slice(self.0.expose_secret()) else {
            return String::new();
        };
        mac.update(text.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The subject for a resolved name: in clear when it is a user, hashed when not.
    pub fn subject(&self, name: &ResolvedName) -> Subject {
        match name.user() {
            Some(user) => Subject::User(user.to_owned()),
            None => Subject::Unknown(self.hash(name.key())),
        }
    }
}

/// Why a sign-in failed, as a class only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// Wrong password or unknown name.
    WrongCredentials,
    /// Refused by the eligibility rules.
    NotAllowed,
    /// A directory-service user.
    DirectoryUser,
    /// Account locked.
    Locked,
    /// Account disabled (password login off).
    Disabled,
    /// No verifier could decide.
    Unavailable,
    /// The second factor was missing or wrong.
    SecondFactor,
}

/// Which ban an attempt met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BanClass {
    /// The client address.
    Address,
    /// The name from this address.
    NameFromAddress,
    /// The name from everywhere.
    Name,
}

impl From<&crate::throttle::Ban> for BanClass {
    fn from(ban: &crate::throttle::Ban) -> Self {
        use crate::throttle::{Ban, NameBanScope};
        match ban {
            Ban::Address { .. } => BanClass::Address,
            Ban::Name {
                scope: NameBanScope::FromThisAddress,
                ..
            } => BanClass::NameFromAddress,
            Ban::Name {
                scope: NameBanScope::Everywhere,
                ..
            } => BanClass::Name,
        }
    }
}

/// How a password was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangePath {
    /// `user.set_password` in the user's own session.
    UserSession,
    /// `user.update` with the service key.
    ServiceKey,
}

/// What an unban lifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnbanSubject {
    /// A name (hashed when it is no user).
    Name(Subject),
    /// A client address.
    Address(IpAddr),
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEvent {
    /// A password was proven.
    SignInOk {
        /// Who.
        subject: Subject,
        /// From where.
        client: Option<IpAddr>,
        /// Which verifier proved it.
        verifier: VerifierKind,
    },
    /// A sign-in failed.
    SignInFailed {
        /// Who.
        subject: Subject,
        /// From where.
        client: Option<IpAddr>,
        /// Why, as a class.
        reason: FailureClass,
        /// The verifier that decided, if any.
        verifier: Option<VerifierKind>,
    },
    /// An attempt was refused by a ban, without running any verifier.
    Throttled {
        /// Who.
        subject: Subject,
        /// From where.
        client: Option<IpAddr>,
        /// Which ban.
        ban: BanClass,
        /// Seconds left on it.
        remaining_secs: u64,
    },
    /// An admin lifted a ban.
    Unbanned {
        /// What was lifted.
        target: UnbanSubject,
        /// The admin (OS user of the CLI).
        by: String,
    },
    /// A user changed their own password.
    PasswordChanged {
        /// Who.
        subject: Subject,
        /// From where.
        client: Option<IpAddr>,
        /// The verifier that proved the old password.
        verifier: VerifierKind,
        /// How it was changed.
        path: ChangePath,
    },
    /// An admin set a user's password.
    AdminReset {
        /// Whose.
        subject: Subject,
        /// The admin.
        by: String,
        /// Generated rather than given.
        generated: bool,
        /// The admin overrode the password rules.
        rules_overridden: bool,
    },
    /// An admin locked an account.
    Locked {
        /// Whose.
        subject: Subject,
        /// The admin.
        by: String,
    },
    /// An admin unlocked an account.
    Unlocked {
        /// Whose.
        subject: Subject,
        /// The admin.
        by: String,
    },
}

/// An event with its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// RFC 3339 UTC time, millisecond precision.
    pub time: String,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
}

impl AuditRecord {
    /// Stamps `event` with `time`.
    pub fn new(time: SystemTime, event: AuditEvent) -> Self {
        AuditRecord {
            time: rfc3339(time),
            event,
        }
    }

    /// Logs the record as one JSON line on [`TARGET`].
    pub fn emit(&self) {
        match serde_json::to_string(self) {
            Ok(json) => tracing::info!(target: TARGET, "{json}"),
            Err(e) => tracing::error!(target: TARGET, "audit event not serialisable: {e}"),
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, without a date crate (civil-from-days, Howard Hinnant's algorithm).
pub fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::names::{NameConfig, resolve};
    use std::time::Duration;

    const PASSWORD: &str = "Tr0ub4dor&3-correct-horse";

    fn key() -> AuditKey {
        AuditKey::new(&[7u8; 32]).unwrap()
    }

    fn all_events(key: &AuditKey) -> Vec<AuditEvent> {
        let lookup = |n: &str| (n == "alice").then(|| "alice".to_owned());
        let alice = key.subject(&resolve("alice", &NameConfig::default(), &lookup).unwrap());
        // Someone typed their password into the name field.
        let typo = key.subject(&resolve(PASSWORD, &NameConfig::default(), &lookup).unwrap());
        let client = Some("192.0.2.7".parse().unwrap());
        vec![
            AuditEvent::SignInOk {
                subject: alice.clone(),
                client,
                verifier: VerifierKind::SmbProbe,
            },
            AuditEvent::SignInFailed {
                subject: typo.clone(),
                client,
                reason: FailureClass::WrongCredentials,
                verifier: Some(VerifierKind::CryptHash),
            },
            AuditEvent::Throttled {
                subject: typo.clone(),
                client,
                ban: BanClass::Name,
                remaining_secs: 60,
            },
            AuditEvent::Unbanned {
                target: UnbanSubject::Name(typo.clone()),
                by: "admin".into(),
            },
            AuditEvent::Unbanned {
                target: UnbanSubject::Address("192.0.2.7".parse().unwrap()),
                by: "admin".into(),
            },
            AuditEvent::PasswordChanged {
                subject: alice.clone(),
                client,
                verifier: VerifierKind::UserLogin,
                path: ChangePath::UserSession,
            },
            AuditEvent::AdminReset {
                subject: alice.clone(),
                by: "admin".into(),
                generated: false,
                rules_overridden: true,
            },
            AuditEvent::Locked {
                subject: alice.clone(),
                by: "admin".into(),
            },
            AuditEvent::Unlocked {
                subject: typo,
                by: "admin".into(),
            },
        ]
    }

    fn keys_of(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.clone());
                    keys_of(v, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| keys_of(v, out)),
            _ => {}
        }
    }

    #[test]
    fn no_event_carries_a_password_or_an_unknown_name_in_clear() {
        let key = key();
        for event in all_events(&key) {
            let record = AuditRecord::new(SystemTime::now(), event);
            let json = serde_json::to_string(&record).unwrap();
            assert!(
                !json.to_lowercase().contains(&PASSWORD.to_lowercase()),
                "{json}"
            );
            let mut keys = Vec::new();
            keys_of(&serde_json::from_str(&json).unwrap(), &mut keys);
            assert!(keys.iter().all(|k| !k.contains("password")), "{json}");
            // Round-trips, so log readers can parse what we write.
            assert_eq!(serde_json::from_str::<AuditRecord>(&json).unwrap(), record);
        }
    }

    #[test]
    fn unknown_names_are_keyed_hashes() {
        let key = key();
        let a = key.hash("mallory");
        assert_eq!(a.len(), 64);
        assert_eq!(a, key.hash("mallory"));
        assert_ne!(a, AuditKey::new(&[8u8; 32]).unwrap().hash("mallory"));
        assert!(AuditKey::new(b"short").is_err());
        // RFC 4231 test case 2 shape check against a known HMAC-SHA256 value.
        let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn times_are_rfc3339() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_795_959_980_123);
        assert_eq!(rfc3339(t), "2026-11-29T13:46:20.123Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
