//! Typed results. Every type ignores unknown fields (newer servers add some) and accepts the
//! server's `{"$date": ms}` and `{"$set": [...]}` wrappers.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A timestamp as milliseconds since the Unix epoch (server form `{"$date": ms}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Date(pub i64);

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Wrapped {
                #[serde(rename = "$date")]
                date: i64,
            },
            Plain(i64),
        }
        Ok(match Repr::deserialize(d)? {
            Repr::Wrapped { date } | Repr::Plain(date) => Date(date),
        })
    }
}

/// A set (server form `{"$set": [...]}`; a plain list is accepted too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetOf<T>(pub Vec<T>);

impl<T> Default for SetOf<T> {
    fn default() -> Self {
        SetOf(Vec::new())
    }
}

impl<T> SetOf<T> {
    /// `true` when `item` is in the set.
    pub fn contains(&self, item: &T) -> bool
    where
        T: PartialEq,
    {
        self.0.contains(item)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for SetOf<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr<T> {
            Wrapped {
                #[serde(rename = "$set")]
                set: Vec<T>,
            },
            Plain(Vec<T>),
        }
        Ok(match Repr::deserialize(d)? {
            Repr::Wrapped { set } | Repr::Plain(set) => SetOf(set),
        })
    }
}

/// `auth.me` / `user_info` of a successful `auth.login_ex`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UserInfo {
    /// User name.
    pub pw_name: String,
    /// Full name.
    pub pw_gecos: String,
    /// Home directory.
    pub pw_dir: String,
    /// Login shell.
    pub pw_shell: String,
    /// uid.
    pub pw_uid: i64,
    /// Primary gid.
    pub pw_gid: i64,
    /// `LOCAL`, `LDAP`, …
    pub source: Option<String>,
    /// Local account.
    pub local: Option<bool>,
    /// Privilege summary.
    pub privilege: Option<Privilege>,
    /// `LOCAL`, `SYS_ADMIN`, `2FA`, `OTPW`, `PASSWORD_CHANGE_REQUIRED`, …
    pub account_attributes: Vec<String>,
    /// Two-factor configuration.
    pub two_factor_config: Option<Value>,
}

/// The privilege part of [`UserInfo`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Privilege {
    /// Roles, e.g. `FULL_ADMIN`, `ACCOUNT_READ`.
    pub roles: SetOf<String>,
    /// Allowed method/resource pairs.
    pub allowlist: Vec<Value>,
    /// Web shell access.
    pub web_shell: bool,
    /// Web UI access.
    pub webui_access: bool,
}

/// The outcome of a password login (`auth.login_ex` PASSWORD_PLAIN or `login_ex_continue`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum LoginOutcome {
    /// Logged in.
    Success {
        /// Who, when the server sent it.
        user_info: Option<Box<UserInfo>>,
    },
    /// Wrong credentials, locked, or (25.x) no privilege.
    AuthErr,
    /// Password expired: no session was created.
    Expired,
    /// Password right; continue with [`crate::Client::login_otp`].
    OtpRequired {
        /// The user the OTP is for.
        username: String,
    },
    /// HA standby node: connect to one of these instead.
    Redirect {
        /// Addresses of the active controller.
        urls: Vec<String>,
    },
    /// Password right but the user lacks API access (26.0+).
    Denied,
}

impl LoginOutcome {
    /// `true` for [`LoginOutcome::Success`].
    pub fn is_success(&self) -> bool {
        matches!(self, LoginOutcome::Success { .. })
    }

    pub(crate) fn from_value(v: Value) -> Option<Self> {
        let kind = v.get("response_type")?.as_str()?.to_string();
        Some(match kind.as_str() {
            "SUCCESS" => LoginOutcome::Success {
                user_info: v
                    .get("user_info")
                    .filter(|u| !u.is_null())
                    .and_then(|u| serde_json::from_value(u.clone()).ok())
                    .map(Box::new),
            },
            "AUTH_ERR" => LoginOutcome::AuthErr,
            "EXPIRED" => LoginOutcome::Expired,
            "OTP_REQUIRED" => LoginOutcome::OtpRequired {
                username: v
                    .get("username")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
            },
            "REDIRECT" => LoginOutcome::Redirect {
                urls: v
                    .get("urls")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|u| u.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            "DENIED" => LoginOutcome::Denied,
            _ => return None,
        })
    }

    pub(crate) fn failure(&self) -> Option<crate::error::AuthFailure> {
        use crate::error::AuthFailure as F;
        Some(match self {
            LoginOutcome::Success { .. } => return None,
            LoginOutcome::AuthErr => F::AuthErr,
            LoginOutcome::Expired => F::Expired,
            LoginOutcome::OtpRequired { .. } => F::OtpRequired,
            LoginOutcome::Redirect { .. } => F::Redirect,
            LoginOutcome::Denied => F::Denied,
        })
    }
}

/// The primary group of a [`User`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UserGroup {
    /// Group database id.
    pub id: i64,
    /// gid.
    pub bsdgrp_gid: i64,
    /// Group name.
    pub bsdgrp_group: String,
}

/// One entry of `user.query`.
#[derive(Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct User {
    /// Database id (for `user.update`).
    pub id: i64,
    /// uid.
    pub uid: i64,
    /// User name.
    pub username: String,
    /// crypt(3) hash, or `********` when the session may not read it.
    pub unixhash: Option<String>,
    /// NT hash, or `********`.
    pub smbhash: Option<String>,
    /// Home directory.
    pub home: String,
    /// Shell.
    pub shell: String,
    /// Full name.
    pub full_name: String,
    /// Built-in account.
    pub builtin: bool,
    /// SMB access enabled.
    pub smb: bool,
    /// Primary group.
    pub group: Option<UserGroup>,
    /// Group ids.
    pub groups: Vec<i64>,
    /// Password login disabled.
    pub password_disabled: bool,
    /// Account locked.
    pub locked: bool,
    /// E-mail.
    pub email: Option<String>,
    /// Local (not directory service).
    pub local: bool,
    /// Immutable (builtin).
    pub immutable: bool,
    /// Two-factor authentication configured.
    pub twofactor_auth_configured: bool,
    /// Last password change.
    pub last_password_change: Option<Date>,
    /// Password age in days.
    pub password_age: Option<i64>,
    /// Password change required soon.
    pub password_change_required: bool,
    /// Roles of the user's groups.
    pub roles: Vec<String>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Hashes are secrets: never printed.
        f.debug_struct("User")
            .field("id", &self.id)
            .field("uid", &self.uid)
            .field("username", &self.username)
            .field("full_name", &self.full_name)
            .field("locked", &self.locked)
            .field("password_disabled", &self.password_disabled)
            .field("smb", &self.smb)
            .field("local", &self.local)
            .field("builtin", &self.builtin)
            .field("last_password_change", &self.last_password_change)
            .finish_non_exhaustive()
    }
}

/// `system.info`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SystemInfo {
    /// e.g. `25.10.1`.
    pub version: String,
    /// Host name.
    pub hostname: String,
    /// Hardware model.
    pub model: String,
    /// CPU cores.
    pub cores: i64,
    /// Physical memory in bytes.
    pub physmem: i64,
    /// Uptime in seconds.
    pub uptime_seconds: f64,
    /// Time zone.
    pub timezone: String,
    /// Build time.
    pub buildtime: Option<Date>,
    /// Boot time.
    pub boottime: Option<Date>,
}

/// `system.security.config`: the server's password policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SecurityConfig {
    /// FIPS mode.
    pub enable_fips: bool,
    /// STIG mode.
    pub enable_gpos_stig: bool,
    /// Minimum password age in days.
    pub min_password_age: Option<i64>,
    /// Maximum password age in days.
    pub max_password_age: Option<i64>,
    /// Required character classes: `UPPER`, `LOWER`, `NUMBER`, `SPECIAL`.
    pub password_complexity_ruleset: Option<SetOf<String>>,
    /// Minimum length.
    pub min_password_length: Option<i64>,
    /// Passwords remembered.
    pub password_history_length: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrappers_and_unknown_fields() {
        let u: User = serde_json::from_value(json!({
            "id": 1, "uid": 3000, "username": "alice", "unixhash": "$6$x",
            "last_password_change": {"$date": 1735689600000i64},
            "brand_new_field": {"x": 1}, "group": {"id": 3, "bsdgrp_gid": 3000, "bsdgrp_group": "alice", "bsdgrp_x": 1}
        }))
        .unwrap();
        assert_eq!(u.last_password_change, Some(Date(1735689600000)));
        assert!(!format!("{u:?}").contains("$6$"));
        let s: SecurityConfig = serde_json::from_value(json!({
            "password_complexity_ruleset": {"$set": ["UPPER", "NUMBER"]}, "min_password_length": 8
        }))
        .unwrap();
        assert_eq!(
            s.password_complexity_ruleset.unwrap().0,
            vec!["UPPER".to_string(), "NUMBER".to_string()]
        );
        let me: UserInfo = serde_json::from_value(json!({
            "pw_name": "alice", "privilege": {"roles": {"$set": ["ACCOUNT_READ"]}, "allowlist": [], "web_shell": false, "webui_access": true},
            "account_attributes": ["LOCAL"], "new": 1
        }))
        .unwrap();
        assert!(
            me.privilege
                .unwrap()
                .roles
                .contains(&"ACCOUNT_READ".to_string())
        );
    }

    #[test]
    fn login_outcomes() {
        let o =
            LoginOutcome::from_value(json!({"response_type": "OTP_REQUIRED", "username": "frank"}));
        assert!(matches!(o, Some(LoginOutcome::OtpRequired { username }) if username == "frank"));
        let o =
            LoginOutcome::from_value(json!({"response_type": "REDIRECT", "urls": ["10.0.0.2"]}));
        assert!(matches!(o, Some(LoginOutcome::Redirect { urls }) if urls == vec!["10.0.0.2"]));
        let o = LoginOutcome::from_value(
            json!({"response_type": "SUCCESS", "user_info": {"pw_name": "a"}, "authenticator": "LEVEL_1"}),
        );
        assert!(o.unwrap().is_success());
        assert!(LoginOutcome::from_value(json!({"response_type": "NEW"})).is_none());
    }
}
