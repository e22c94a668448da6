//! `user.set_password` (§3.1, check order and messages exact) and `user.update` (§3.2).

use std::sync::Arc;

use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::accounts::{self, DS_ID_FLOOR, Store, now_ms};
use crate::config::{SecurityPolicy, ServerVersion};
use crate::methods::check_arity;
use crate::state::Conn;
use crate::unconfirmed;
use crate::wire_error::{MethodError, errno};

type VErrs = Vec<(String, String, i64)>;

fn push(errs: &mut VErrs, attr: &str, msg: String) {
    errs.push((attr.to_owned(), msg, errno::EINVAL));
}

/// Password-policy checks (`password_security_validate`), collected under `attr`.
/// `history` is the list of recent hashes to compare against (CPU-heavy: call off the runtime).
fn policy_errors(policy: &SecurityPolicy, password: &str, history: &[String], attr: &str) -> VErrs {
    let mut errs = Vec::new();
    if let Some(rules) = &policy.password_complexity_ruleset {
        let has = |class: &str| match class {
            "UPPER" => password.chars().any(char::is_uppercase),
            "LOWER" => password.chars().any(char::is_lowercase),
            "NUMBER" => password.chars().any(|c| c.is_ascii_digit()),
            "SPECIAL" => password.chars().any(|c| !c.is_alphanumeric()),
            _ => true,
        };
        let absent: Vec<&str> = ["UPPER", "LOWER", "NUMBER", "SPECIAL"]
            .into_iter()
            .filter(|c| rules.iter().any(|r| r == c) && !has(c))
            .collect();
        if !absent.is_empty() {
            push(
                &mut errs,
                attr,
                format!(
                    "The specified password does not meet minimum complexity requirements. \
                     The following character types are absent: {}",
                    absent.join(", ")
                ),
            );
        }
    }
    if let Some(min) = policy.min_password_length
        && (password.chars().count() as u32) < min
    {
        push(
            &mut errs,
            attr,
            format!(
                "The specified password is too short. The minimum password length is {min} characters."
            ),
        );
    }
    if let Some(n) = policy.password_history_length
        && history
            .iter()
            .any(|h| accounts::verify_password(password, h))
    {
        push(
            &mut errs,
            attr,
            format!(
                "The security configuration of the TrueNAS server requires a password that does not \
                 match any of the last {n} passwords for this account."
            ),
        );
    }
    errs
}

fn field_str(obj: &Map<String, Value>, key: &str, attr: &str, errs: &mut VErrs) -> Option<String> {
    match obj.get(key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Null) | None => None,
        Some(_) => {
            push(
                errs,
                &format!("{attr}.{key}"),
                "Input should be a valid string".into(),
            );
            None
        }
    }
}

/// `user.set_password [{"username", "old_password", "new_password"}]`.
pub(crate) async fn set_password(
    conn: &Arc<Conn>,
    params: Vec<Value>,
) -> Result<Value, MethodError> {
    check_arity(&params, 1)?;
    let creds = conn.creds().ok_or_else(MethodError::not_authenticated)?;
    // Pydantic model validation first (strict, extra=forbid).
    const ARG: &str = "set_password_data";
    let Some(data) = params.first().and_then(Value::as_object) else {
        return Err(MethodError::validation(ARG, "Field required"));
    };
    let mut perrs = Vec::new();
    for k in data.keys() {
        if !["username", "old_password", "new_password"].contains(&k.as_str()) {
            push(
                &mut perrs,
                &format!("{ARG}.{k}"),
                "Extra inputs are not permitted".into(),
            );
        }
    }
    for k in ["username", "new_password"] {
        if !data.contains_key(k) {
            push(&mut perrs, &format!("{ARG}.{k}"), "Field required".into());
        }
    }
    let username = field_str(data, "username", ARG, &mut perrs).unwrap_or_default();
    let old_password = field_str(data, "old_password", ARG, &mut perrs);
    let new_password = field_str(data, "new_password", ARG, &mut perrs).unwrap_or_default();
    if data.contains_key("new_password") && new_password.is_empty() && perrs.is_empty() {
        push(
            &mut perrs,
            &format!("{ARG}.new_password"),
            "String should have at least 1 character".into(),
        );
    }
    if !perrs.is_empty() {
        return Err(MethodError::Validation(perrs));
    }

    let full_admin = creds.full_admin();
    // 1. Only a FULL_ADMIN may change somebody else's password.
    if !full_admin && username != creds.username {
        return Err(MethodError::call(
            errno::EPERM,
            format!(
                "{username}: currently authenticated credential may not reset password for this user."
            ),
        ));
    }
    const U: &str = "user.set_password.username";
    const OLD: &str = "user.set_password.old_password";
    const NEW: &str = "user.set_password.new_password";
    let now = now_ms();
    let (user, policy) = {
        let store = conn.shared.store();
        (store.user(&username).cloned(), store.policy.clone())
    };
    // 2. First batch.
    let mut errs: VErrs = Vec::new();
    let Some(user) = user else {
        if conn.shared.version == ServerVersion::V25_10_1 {
            return Err(unconfirmed::set_password_missing_user_25());
        }
        push(&mut errs, U, format!("{username}: user does not exist."));
        return Err(MethodError::Validation(errs));
    };
    if user.get("local").and_then(Value::as_bool) == Some(false) {
        push(
            &mut errs,
            U,
            format!("{username}: user is not local to the TrueNAS server."),
        );
    }
    let hash = user
        .get("unixhash")
        .and_then(Value::as_str)
        .unwrap_or("*")
        .to_owned();
    let history_len = policy.password_history_length.unwrap_or(0) as usize;
    let history = Store::recent_hashes(&user, history_len);
    let check_old = !full_admin && !creds.otpw;
    let (old_ok, policy_errs) = {
        let (old, new, policy) = (old_password.clone(), new_password.clone(), policy.clone());
        conn.shared
            .crypt(move || {
                let old_ok = match (&old, check_old) {
                    (Some(o), true) => Some(accounts::verify_password(o, &hash)),
                    _ => None,
                };
                (old_ok, policy_errors(&policy, &new, &history, NEW))
            })
            .await
            .unwrap_or((Some(false), Vec::new()))
    };
    if check_old {
        match (&old_password, old_ok) {
            (None, _) => push(
                &mut errs,
                OLD,
                "FULL_ADMIN role is required in order to bypass check for current password.".into(),
            ),
            (Some(_), Some(true)) => {}
            (Some(_), _) => push(
                &mut errs,
                OLD,
                format!("{username}: failed to validate password."),
            ),
        }
    }
    errs.extend(policy_errs);
    if !errs.is_empty() {
        return Err(MethodError::Validation(errs));
    }
    // 3. Second batch.
    let b = |k: &str| user.get(k).and_then(Value::as_bool).unwrap_or(false);
    if !full_admin
        && !creds.password_change_required
        && let Some(min) = policy.min_password_age
        && Store::password_age_days(&user, now).is_some_and(|age| age < i64::from(min))
    {
        push(
            &mut errs,
            U,
            format!("{username}: password changed too recently. Minimum password age is: {min}"),
        );
    }
    if b("password_disabled") {
        push(
            &mut errs,
            U,
            format!("{username}: password authentication disabled for user"),
        );
    }
    if b("locked") {
        push(&mut errs, U, format!("{username}: user account is locked."));
    }
    if !errs.is_empty() {
        return Err(MethodError::Validation(errs));
    }
    // 4. Write.
    store_new_password(conn, &username, new_password).await?;
    Ok(Value::Null)
}

async fn store_new_password(
    conn: &Conn,
    username: &str,
    new_password: String,
) -> Result<(), MethodError> {
    let pw = new_password.clone();
    let hash = conn
        .shared
        .crypt(move || accounts::hash_password(&pw))
        .await
        .ok_or_else(|| MethodError::call(errno::EINVAL, "hashing failed"))?
        .map_err(|e| MethodError::call(errno::EINVAL, e.to_string()))?;
    conn.shared
        .store()
        .store_password(username, hash, &new_password, now_ms());
    tracing::info!(username, "password changed");
    conn.shared
        .run_hooks(username, &SecretString::from(new_password));
    Ok(())
}

/// Fields `user.update` accepts (others are unknown keys to pydantic).
const UPDATE_FIELDS: &[&str] = &[
    "password",
    "locked",
    "full_name",
    "email",
    "smb",
    "password_disabled",
    "shell",
    "home",
    "sshpubkey",
    "ssh_password_enabled",
    "groups",
    "sudo_commands",
    "sudo_commands_nopasswd",
];

/// `user.update [id, {...}]`: password (no old password needed) and lock state.
pub(crate) async fn update(conn: &Arc<Conn>, params: Vec<Value>) -> Result<Value, MethodError> {
    check_arity(&params, 2)?;
    let id = match params.first() {
        Some(Value::Number(n)) if n.is_i64() => n.as_i64().unwrap_or_default(),
        Some(_) => {
            return Err(MethodError::validation(
                "id",
                "Input should be a valid integer",
            ));
        }
        None => return Err(MethodError::validation("id", "Field required")),
    };
    let data = match params.get(1) {
        Some(Value::Object(o)) => o.clone(),
        None => Map::new(),
        Some(_) => {
            return Err(MethodError::validation(
                "data",
                "Input should be a valid dictionary",
            ));
        }
    };
    let mut errs = Vec::new();
    for k in data.keys() {
        if !UPDATE_FIELDS.contains(&k.as_str()) {
            push(
                &mut errs,
                &format!("data.{k}"),
                "Extra inputs are not permitted".into(),
            );
        }
    }
    for k in ["locked", "smb", "password_disabled", "ssh_password_enabled"] {
        if data.get(k).is_some_and(|v| !v.is_boolean()) {
            push(
                &mut errs,
                &format!("data.{k}"),
                "Input should be a valid boolean".into(),
            );
        }
    }
    if data.get("password").is_some_and(|v| !v.is_string()) {
        push(
            &mut errs,
            "data.password",
            "Input should be a valid string".into(),
        );
    }
    if !errs.is_empty() {
        return Err(MethodError::Validation(errs));
    }
    if id > DS_ID_FLOOR {
        return Err(MethodError::call(
            errno::EPERM,
            "Directory services users may not be modified via the user.update API",
        ));
    }
    let (user, policy) = {
        let store = conn.shared.store();
        let user = store.user_index_by_id(id).map(|i| store.users[i].clone());
        (user, store.policy.clone())
    };
    let Some(user) = user else {
        return Err(unconfirmed::instance_not_found(
            "user_update.id",
            &Value::from(id),
        ));
    };
    let username = user
        .get("username")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let password = data
        .get("password")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if let Some(pw) = &password {
        let history =
            Store::recent_hashes(&user, policy.password_history_length.unwrap_or(0) as usize);
        let (pw2, policy2) = (pw.clone(), policy.clone());
        let errs = conn
            .shared
            .crypt(move || policy_errors(&policy2, &pw2, &history, "user_update.password"))
            .await
            .unwrap_or_default();
        if !errs.is_empty() {
            return Err(MethodError::Validation(errs));
        }
    }
    {
        let mut store = conn.shared.store();
        if let Some(i) = store.user_index_by_id(id) {
            for (k, v) in &data {
                if k != "password" {
                    store.users[i].insert(k.clone(), v.clone());
                }
            }
        }
    }
    if let Some(pw) = password.clone() {
        store_new_password(conn, &username, pw).await?;
    }
    let mut entry = {
        let store = conn.shared.store();
        match store.user(&username) {
            Some(u) => store.entry(u, now_ms()),
            None => Value::Null,
        }
    };
    if let (Value::Object(m), Some(pw)) = (&mut entry, password) {
        m.insert("password".into(), pw.into());
    }
    Ok(entry)
}
