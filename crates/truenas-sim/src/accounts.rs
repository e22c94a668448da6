//! The account store: users, groups, privileges, API keys, tokens, one-time passwords.
//!
//! Users are stored as their `user.query` JSON entry (minus the computed fields), so filters,
//! `select` and test-side field edits work on exactly what the wire shows.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::config::{NewUser, SecurityPolicy, SimConfig};
use crate::demo;
use crate::error::{Error, Result};

/// Secret fields of the user entry, redacted to `"********"` for callers without
/// FULL_ADMIN / ACCOUNT_WRITE.
pub(crate) const SECRET_FIELDS: &[&str] = &["unixhash", "smbhash", "password_history"];
/// The redaction marker.
pub(crate) const REDACTED: &str = "********";
/// `MAX_PASSWORD_HISTORY` of the middleware.
const MAX_PASSWORD_HISTORY: usize = 10;
/// `PASSWORD_PROMPT_AGE` (days before hard expiry when the soft flag goes up).
const PASSWORD_PROMPT_AGE: i64 = 6;
/// Ids above this are directory-service users (`user.update` → EPERM).
pub(crate) const DS_ID_FLOOR: i64 = 100_000_000;

const DAY_MS: i64 = 86_400_000;

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// crypt(3) `$6$` hash via unix-crypt (CPU-heavy: callers off the async threads use it freely).
pub(crate) fn hash_password(password: &str) -> Result<String> {
    unix_crypt::hash(password.as_bytes(), unix_crypt::Scheme::Sha512Crypt)
        .map_err(|e| Error::Hash(e.to_string()))
}

/// PAM-like check of a password against a stored hash: locked (`!`) and disabled (`*`)
/// hashes and malformed ones never verify.
pub(crate) fn verify_password(password: &str, hash: &str) -> bool {
    matches!(unix_crypt::verify(password.as_bytes(), hash), Ok(true))
}

/// The NT hash Samba stores: MD4 of the UTF-16LE password, upper-case hex.
pub(crate) fn smb_hash(password: &str) -> String {
    let utf16: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let d = <md4::Md4 as md4::Digest>::digest(&utf16);
    d.iter().map(|b| format!("{b:02X}")).collect()
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub id: i64,
    pub gid: i64,
    pub name: String,
    pub builtin: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Privilege {
    pub id: i64,
    /// gids
    pub local_groups: Vec<i64>,
    pub roles: Vec<String>,
}

#[derive(Clone)]
pub(crate) struct ApiKey {
    pub id: i64,
    pub key: String,
    pub username: String,
    pub revoked: bool,
}

/// What a login produced: who, with which roles and flags.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub username: String,
    /// Roles of the user's privileges (unexpanded), as `auth.me` shows them.
    pub roles: BTreeSet<String>,
    pub api_key: bool,
    pub otpw: bool,
    pub password_change_required: bool,
}

impl Credentials {
    pub(crate) fn full_admin(&self) -> bool {
        self.roles.contains("FULL_ADMIN")
    }

    /// Role check with the middleware's role inclusions.
    pub(crate) fn has_role(&self, role: &str) -> bool {
        self.full_admin() || expand_roles(&self.roles).contains(role)
    }
}

/// Roles implied by others (`roles.py`), enough for the methods simulated.
pub(crate) fn expand_roles(roles: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = roles.clone();
    for r in roles {
        let implied: &[&str] = match r.as_str() {
            "READONLY_ADMIN" => &[
                "ACCOUNT_READ",
                "SYSTEM_SECURITY_READ",
                "PRIVILEGE_READ",
                "AUTH_SESSIONS_READ",
                "SYSTEM_GENERAL_READ",
            ],
            "ACCOUNT_WRITE" => &["ACCOUNT_READ"],
            "SYSTEM_SECURITY_WRITE" => &["SYSTEM_SECURITY_READ"],
            "PRIVILEGE_WRITE" => &["PRIVILEGE_READ"],
            "AUTH_SESSIONS_WRITE" => &["AUTH_SESSIONS_READ"],
            _ => &[],
        };
        out.extend(implied.iter().map(|s| s.to_string()));
    }
    out
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub creds: Credentials,
    pub expires_ms: i64,
    pub single_use: bool,
}

#[derive(Clone)]
pub(crate) struct OneTimePassword {
    pub username: String,
    pub password: String,
    pub expires_ms: i64,
    pub admin_generated: bool,
}

pub(crate) struct Store {
    pub users: Vec<Map<String, Value>>,
    pub groups: Vec<Group>,
    pub privileges: Vec<Privilege>,
    pub api_keys: Vec<ApiKey>,
    pub tokens: HashMap<String, Token>,
    pub otps: Vec<OneTimePassword>,
    pub totp_secrets: HashMap<String, String>,
    pub policy: SecurityPolicy,
    next_uid: i64,
}

impl std::fmt::Debug for Store {
    // Counts only: the store holds API keys, tokens and one-time passwords.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("users", &self.users.len())
            .field("groups", &self.groups.len())
            .field("privileges", &self.privileges.len())
            .field("api_keys", &self.api_keys.len())
            .field("tokens", &self.tokens.len())
            .finish_non_exhaustive()
    }
}

impl Store {
    pub(crate) fn new(config: &SimConfig) -> Result<Store> {
        let mut store = Store {
            users: Vec::new(),
            groups: vec![
                Group {
                    id: 1,
                    gid: 0,
                    name: "root".into(),
                    builtin: true,
                },
                Group {
                    id: 41,
                    gid: 544,
                    name: "builtin_administrators".into(),
                    builtin: true,
                },
                Group {
                    id: 42,
                    gid: 545,
                    name: "builtin_users".into(),
                    builtin: true,
                },
                Group {
                    id: 43,
                    gid: 951,
                    name: "truenas_readonly_administrators".into(),
                    builtin: true,
                },
            ],
            privileges: vec![
                Privilege {
                    id: 1,
                    local_groups: vec![544],
                    roles: vec!["FULL_ADMIN".into()],
                },
                Privilege {
                    id: 2,
                    local_groups: vec![951],
                    roles: vec!["READONLY_ADMIN".into()],
                },
                Privilege {
                    id: 3,
                    local_groups: vec![],
                    roles: vec!["SHARING_ADMIN".into()],
                },
            ],
            api_keys: Vec::new(),
            tokens: HashMap::new(),
            otps: Vec::new(),
            totp_secrets: HashMap::new(),
            policy: config.policy.clone(),
            next_uid: 3100,
        };
        store.insert_user_raw("root", 0, 1, "*", "root", true, vec![], false);
        if let Some(u) = store.users.last_mut() {
            u.insert("locked".into(), true.into());
            u.insert("password_disabled".into(), true.into());
            u.insert("home".into(), "/root".into());
            u.insert("immutable".into(), true.into());
        }
        crate::unconfirmed::add_synthetic_container_root(&mut store);
        if config.demo {
            store.add_demo()?;
        }
        for u in &config.users {
            store.add_user(u)?;
        }
        if config.seed_users > 0 {
            // One hash for all: hashing thousands of passwords would slow every start.
            let hash = hash_password(demo::SEED_PASSWORD)?;
            let users_gid = 545;
            for i in 1..=config.seed_users {
                let name = format!("user{i:04}");
                let uid = store.alloc_uid(None);
                let gid = store.add_group(&name, uid);
                let id = store.insert_user_raw(
                    &name,
                    uid,
                    gid,
                    &hash,
                    &name,
                    false,
                    vec![users_gid],
                    false,
                );
                store.set_field(
                    id,
                    "last_password_change",
                    json!({"$date": now_ms() - 10 * DAY_MS}),
                );
            }
        }
        Ok(store)
    }

    fn add_demo(&mut self) -> Result<()> {
        self.add_group_with_privilege(demo::USER_SESSION_GROUP, 3100, "Selfpass users", vec![]);
        self.add_group_with_privilege(
            demo::SERVICE_USER,
            3200,
            "Password service",
            vec!["ACCOUNT_READ".into(), "ACCOUNT_WRITE".into()],
        );
        let session = || vec![demo::USER_SESSION_GROUP.to_string()];
        let mk = |name: &str, pw: &str, uid: i64, full: &str| NewUser {
            username: name.into(),
            password: Some(pw.into()),
            uid: Some(uid),
            full_name: full.into(),
            ..NewUser::default()
        };
        self.add_user(&NewUser {
            smb: true,
            ..mk("alice", demo::ALICE_PASSWORD, demo::ALICE_UID, "Alice")
        })?;
        self.add_user(&mk("bob", demo::BOB_PASSWORD, demo::BOB_UID, "Bob"))?;
        self.add_user(&NewUser {
            locked: true,
            groups: session(),
            ..mk("carol", demo::CAROL_PASSWORD, 3002, "Carol")
        })?;
        let dave = self.add_user(&NewUser {
            groups: session(),
            ..mk("dave", demo::DAVE_PASSWORD, 3003, "Dave")
        })?;
        self.set_field(dave, "password_disabled", true.into());
        self.add_user(&NewUser {
            expired: true,
            groups: session(),
            ..mk("erin", demo::ERIN_PASSWORD, 3004, "Erin")
        })?;
        self.add_user(&NewUser {
            groups: session(),
            totp_secret: Some(demo::FRANK_TOTP_SECRET.into()),
            ..mk("frank", demo::FRANK_PASSWORD, 3005, "Frank")
        })?;
        self.add_user(&NewUser {
            groups: session(),
            ..mk("grace", demo::GRACE_PASSWORD, 3006, "Grace")
        })?;
        let admin = self.add_user(&NewUser {
            groups: vec!["builtin_administrators".into()],
            ..mk(
                demo::ADMIN_USER,
                demo::ADMIN_PASSWORD,
                950,
                "Local Administrator",
            )
        })?;
        self.set_field(admin, "immutable", true.into());
        self.set_field(admin, "shell", "/usr/bin/bash".into());
        // The service account: password disabled, its own group carries the privilege.
        let uid = 3200;
        let gid_id = self.group_id_by_gid(3200).unwrap_or(0);
        let id = self.insert_user_raw(
            demo::SERVICE_USER,
            uid,
            gid_id,
            "*",
            "Password service",
            false,
            vec![],
            false,
        );
        self.set_field(id, "password_disabled", true.into());
        self.set_field(id, "smb", false.into());
        self.api_keys.push(ApiKey {
            id: 1,
            key: "selfpass-demo-service-key".into(),
            username: demo::SERVICE_USER.into(),
            revoked: false,
        });
        Ok(())
    }

    fn add_group_with_privilege(
        &mut self,
        name: &str,
        gid: i64,
        privilege: &str,
        roles: Vec<String>,
    ) {
        self.add_group(name, gid);
        let id = self.privileges.iter().map(|p| p.id).max().unwrap_or(0) + 1;
        let _ = privilege;
        self.privileges.push(Privilege {
            id,
            local_groups: vec![gid],
            roles,
        });
    }

    fn add_group(&mut self, name: &str, gid: i64) -> i64 {
        let id = self.groups.iter().map(|g| g.id).max().unwrap_or(0) + 1;
        self.groups.push(Group {
            id,
            gid,
            name: name.into(),
            builtin: false,
        });
        id
    }

    fn group_id_by_gid(&self, gid: i64) -> Option<i64> {
        self.groups.iter().find(|g| g.gid == gid).map(|g| g.id)
    }

    fn alloc_uid(&mut self, want: Option<i64>) -> i64 {
        match want {
            Some(u) => u,
            None => {
                while self
                    .users
                    .iter()
                    .any(|u| u.get("uid").and_then(Value::as_i64) == Some(self.next_uid))
                    || self.groups.iter().any(|g| g.gid == self.next_uid)
                {
                    self.next_uid += 1;
                }
                self.next_uid += 1;
                self.next_uid - 1
            }
        }
    }

    /// Adds a user (and its primary group, and a privilege when asked). Returns the user id.
    pub(crate) fn add_user(&mut self, u: &NewUser) -> Result<i64> {
        if u.username.is_empty() || self.user_index(&u.username).is_some() {
            return Err(Error::InvalidUser(format!(
                "{:?} is empty or exists",
                u.username
            )));
        }
        let hash = match &u.password {
            Some(p) => hash_password(p)?,
            None => "*".to_string(),
        };
        let uid = self.alloc_uid(u.uid);
        let primary = self.add_group(&u.username, uid);
        let mut groups = Vec::new();
        for g in &u.groups {
            let id = self
                .groups
                .iter()
                .find(|x| &x.name == g)
                .map(|x| x.id)
                .ok_or_else(|| Error::InvalidUser(format!("no group {g:?}")))?;
            groups.push(id);
        }
        if u.groups.is_empty()
            && u.privilege_roles.is_none()
            && let Some(id) = self.group_id_by_gid(545)
        {
            groups.push(id);
        }
        if let Some(roles) = &u.privilege_roles {
            let pid = self.privileges.iter().map(|p| p.id).max().unwrap_or(0) + 1;
            self.privileges.push(Privilege {
                id: pid,
                local_groups: vec![uid],
                roles: roles.clone(),
            });
        }
        let group_ids: Vec<i64> = groups;
        let id = self.insert_user_raw(
            &u.username,
            uid,
            primary,
            &hash,
            &u.full_name,
            u.smb,
            group_ids,
            u.totp_secret.is_some(),
        );
        match &u.password {
            None => self.set_field(id, "password_disabled", true.into()),
            Some(p) if u.smb => self.set_field(id, "smbhash", smb_hash(p).into()),
            Some(_) => {}
        }
        self.set_field(id, "locked", u.locked.into());
        let lpc = if u.expired || u.password.is_none() {
            Value::Null
        } else {
            json!({"$date": now_ms() - 10 * DAY_MS})
        };
        self.set_field(id, "last_password_change", lpc);
        if let Some(s) = &u.totp_secret {
            self.totp_secrets.insert(u.username.clone(), s.clone());
        }
        Ok(id)
    }

    #[allow(clippy::too_many_arguments)]
    fn insert_user_raw(
        &mut self,
        username: &str,
        uid: i64,
        group_id: i64,
        hash: &str,
        full_name: &str,
        smb: bool,
        groups: Vec<i64>,
        twofactor: bool,
    ) -> i64 {
        let id = self
            .users
            .iter()
            .filter_map(|u| u.get("id").and_then(Value::as_i64))
            .filter(|i| *i < DS_ID_FLOOR)
            .max()
            .unwrap_or(0)
            + 1;
        let group = self
            .groups
            .iter()
            .find(|g| g.id == group_id)
            .cloned()
            .unwrap_or(Group {
                id: group_id,
                gid: uid,
                name: username.into(),
                builtin: false,
            });
        let builtin = uid == 0;
        let entry = json!({
            "id": id,
            "uid": uid,
            "username": username,
            "unixhash": hash,
            "smbhash": null,
            "home": "/var/empty",
            "shell": "/usr/bin/zsh",
            "full_name": full_name,
            "builtin": builtin,
            "smb": smb,
            "userns_idmap": null,
            "group": {
                "id": group.id,
                "bsdgrp_gid": group.gid,
                "bsdgrp_group": group.name,
                "bsdgrp_builtin": group.builtin,
                "bsdgrp_sudo_commands": [],
                "bsdgrp_sudo_commands_nopasswd": [],
                "bsdgrp_smb": false,
                "bsdgrp_userns_idmap": null,
            },
            "groups": groups,
            "password_disabled": false,
            "ssh_password_enabled": false,
            "sshpubkey": null,
            "locked": false,
            "sudo_commands": [],
            "sudo_commands_nopasswd": [],
            "email": null,
            "local": true,
            "immutable": builtin || uid == 950,
            "twofactor_auth_configured": twofactor,
            "sid": if smb { Value::from(format!("S-1-5-21-3510196835-1033636670-2319939847-{}", 20000 + id)) } else { Value::Null },
            "last_password_change": null,
            "password_history": [],
        });
        if let Value::Object(m) = entry {
            self.users.push(m);
        }
        id
    }

    pub(crate) fn user_index(&self, username: &str) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.get("username").and_then(Value::as_str) == Some(username))
    }

    pub(crate) fn user_index_by_id(&self, id: i64) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.get("id").and_then(Value::as_i64) == Some(id))
    }

    pub(crate) fn user(&self, username: &str) -> Option<&Map<String, Value>> {
        self.user_index(username).map(|i| &self.users[i])
    }

    fn set_field(&mut self, id: i64, field: &str, value: Value) {
        if let Some(i) = self.user_index_by_id(id) {
            self.users[i].insert(field.into(), value);
        }
    }

    /// gids of a user's primary group and its auxiliary groups.
    fn gids(&self, user: &Map<String, Value>) -> Vec<i64> {
        let mut gids = Vec::new();
        if let Some(g) = user
            .get("group")
            .and_then(|g| g.get("bsdgrp_gid"))
            .and_then(Value::as_i64)
        {
            gids.push(g);
        }
        if let Some(list) = user.get("groups").and_then(Value::as_array) {
            for id in list.iter().filter_map(Value::as_i64) {
                if let Some(g) = self.groups.iter().find(|g| g.id == id) {
                    gids.push(g.gid);
                }
            }
        }
        gids
    }

    /// Roles of the privileges linked to the user's groups; `None` when no privilege is linked.
    pub(crate) fn privilege_roles(&self, username: &str) -> Option<BTreeSet<String>> {
        self.roles_of(self.user(username)?)
    }

    /// [`Store::privilege_roles`] for a user entry already in hand (no lookup by name: `user.query`
    /// builds one entry per user, and a lookup each made it quadratic).
    fn roles_of(&self, user: &Map<String, Value>) -> Option<BTreeSet<String>> {
        let gids = self.gids(user);
        let privs: Vec<&Privilege> = self
            .privileges
            .iter()
            .filter(|p| p.local_groups.iter().any(|g| gids.contains(g)))
            .collect();
        if privs.is_empty() {
            return None;
        }
        Some(privs.iter().flat_map(|p| p.roles.iter().cloned()).collect())
    }

    pub(crate) fn password_age_days(user: &Map<String, Value>, now: i64) -> Option<i64> {
        let lpc = user.get("last_password_change")?.get("$date")?.as_i64()?;
        Some((now - lpc).max(0) / DAY_MS)
    }

    /// Hard expiry: aging past `max_password_age`, or never changed (shadow lastchg 0).
    pub(crate) fn hard_expired(&self, user: &Map<String, Value>, now: i64) -> bool {
        let root = user.get("uid").and_then(Value::as_i64) == Some(0);
        match Self::password_age_days(user, now) {
            None => !root,
            Some(age) => self
                .policy
                .max_password_age
                .is_some_and(|max| age > i64::from(max)),
        }
    }

    pub(crate) fn soft_expired(&self, user: &Map<String, Value>, now: i64) -> bool {
        match (
            Self::password_age_days(user, now),
            self.policy.max_password_age,
        ) {
            (Some(age), Some(max)) => age >= i64::from(max) - PASSWORD_PROMPT_AGE,
            _ => false,
        }
    }

    /// The `user.query` entry with computed fields.
    pub(crate) fn entry(&self, user: &Map<String, Value>, now: i64) -> Value {
        let mut m = user.clone();
        let username = user
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let roles: Vec<String> = self
            .roles_of(user)
            .map(|r| r.into_iter().collect())
            .unwrap_or_default();
        m.insert("roles".into(), json!(roles));
        m.insert(
            "password_age".into(),
            json!(Self::password_age_days(user, now)),
        );
        m.insert(
            "password_change_required".into(),
            json!(self.soft_expired(user, now)),
        );
        let keys: Vec<i64> = self
            .api_keys
            .iter()
            .filter(|k| k.username == username)
            .map(|k| k.id)
            .collect();
        m.insert("api_keys".into(), json!(keys));
        Value::Object(m)
    }

    /// Stores a new password: hash, history, `last_password_change`.
    pub(crate) fn store_password(
        &mut self,
        username: &str,
        new_hash: String,
        new_password: &str,
        now: i64,
    ) {
        let history_len = MAX_PASSWORD_HISTORY;
        if let Some(i) = self.user_index(username) {
            let user = &mut self.users[i];
            let old = user
                .get("unixhash")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let mut history: Vec<Value> = user
                .get("password_history")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(old) = old.filter(|h| h.starts_with('$')) {
                history.push(old.into());
            }
            let skip = history.len().saturating_sub(history_len);
            let history: Vec<Value> = history.into_iter().skip(skip).collect();
            user.insert("password_history".into(), Value::Array(history));
            let smb = user.get("smb").and_then(Value::as_bool).unwrap_or(false);
            user.insert("unixhash".into(), new_hash.into());
            user.insert(
                "smbhash".into(),
                if smb {
                    smb_hash(new_password).into()
                } else {
                    Value::Null
                },
            );
            user.insert("last_password_change".into(), json!({"$date": now}));
        }
    }

    /// The most recent `n` hashes (current one included) for history enforcement.
    pub(crate) fn recent_hashes(user: &Map<String, Value>, n: usize) -> Vec<String> {
        let mut v: Vec<String> = user
            .get("password_history")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(h) = user.get("unixhash").and_then(Value::as_str) {
            v.push(h.to_owned());
        }
        let skip = v.len().saturating_sub(n);
        v.into_iter().skip(skip).collect()
    }

    pub(crate) fn api_key_by_id(&mut self, id: i64) -> Option<&mut ApiKey> {
        self.api_keys.iter_mut().find(|k| k.id == id)
    }

    pub(crate) fn credentials(
        &self,
        username: &str,
        api_key: bool,
        otpw: bool,
    ) -> Option<Credentials> {
        let roles = self.privilege_roles(username)?;
        let now = now_ms();
        let pcr = self
            .user(username)
            .is_some_and(|u| self.soft_expired(u, now));
        Some(Credentials {
            username: username.to_owned(),
            roles,
            api_key,
            otpw,
            password_change_required: pcr,
        })
    }

    pub(crate) fn purge_expired(&mut self, now: i64) {
        self.tokens.retain(|_, t| t.expires_ms > now);
        self.otps.retain(|o| o.expires_ms > now);
    }
}

/// Token lifetime bounds used by `auth.generate_token`.
pub(crate) fn ttl_ms(secs: i64) -> i64 {
    Duration::from_secs(secs.max(0) as u64).as_millis() as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nt_hash_vector() {
        // The classic NTLM test vector: NT hash of "password".
        assert_eq!(smb_hash("password"), "8846F7EAEE8FB117AD06BDD830B7586C");
    }
}
