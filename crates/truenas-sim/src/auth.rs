//! `auth.*` methods: PAM-like password checks, API keys, tokens, TOTP 2FA, one-time passwords.

use std::collections::BTreeSet;
use std::sync::Arc;

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value, json};

use crate::accounts::{self, Credentials, OneTimePassword, Token, now_ms};
use crate::config::ServerVersion;
use crate::methods::{check_arity, user_obj};
use crate::state::{Conn, OtpChallenge, lock};
use crate::unconfirmed;
use crate::wire_error::{MethodError, errno};

/// `MAX_OTP_ATTEMPTS` of the middleware.
const MAX_OTP_ATTEMPTS: u32 = 3;

fn resp(kind: &str) -> Value {
    json!({"response_type": kind})
}

/// Dispatches the `auth.*` methods.
pub(crate) async fn call(
    conn: &Arc<Conn>,
    method: &str,
    params: Vec<Value>,
) -> Result<Value, MethodError> {
    match method {
        "auth.login" => {
            check_arity(&params, 3)?;
            let user = str_arg(&params, 0, "username")?;
            let pass = str_arg(&params, 1, "password")?;
            let otp = params.get(2).and_then(Value::as_str).map(str::to_owned);
            let r = password_login(conn, &user, &pass, otp, false).await?;
            Ok(is_success(&r).into())
        }
        "auth.login_with_api_key" => {
            check_arity(&params, 1)?;
            let key = str_arg(&params, 0, "api_key")?;
            let r = api_key_login(conn, None, &key, false)?;
            Ok(is_success(&r).into())
        }
        "auth.login_with_token" => {
            check_arity(&params, 1)?;
            let token = str_arg(&params, 0, "token")?;
            let r = token_login(conn, &token, false);
            Ok(is_success(&r).into())
        }
        "auth.login_ex" => login_ex(conn, &params, "login_data").await,
        "auth.login_ex_continue" => login_ex(conn, &params, "login_data").await,
        "auth.mechanism_choices" => match conn.creds() {
            None => Err(unconfirmed::mechanism_choices_before_login()),
            Some(c) if c.otpw => Ok(json!(["API_KEY_PLAIN", "PASSWORD_PLAIN"])),
            Some(_) => Ok(json!(["API_KEY_PLAIN", "TOKEN_PLAIN", "PASSWORD_PLAIN"])),
        },
        "auth.me" => {
            check_arity(&params, 0)?;
            let creds = conn.creds().ok_or_else(MethodError::not_authenticated)?;
            Ok(me(conn, &creds))
        }
        "auth.logout" => {
            lock(&conn.state).creds = None;
            Ok(true.into())
        }
        "auth.generate_token" => generate_token(conn, &params),
        "auth.generate_onetime_password" => generate_otpw(conn, &params),
        _ => Err(MethodError::call(
            errno::ENOMETHOD,
            format!("Method {method:?} not found"),
        )),
    }
}

fn is_success(r: &Value) -> bool {
    r.get("response_type").and_then(Value::as_str) == Some("SUCCESS")
}

fn str_arg(params: &[Value], i: usize, name: &str) -> Result<String, MethodError> {
    match params.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(MethodError::validation(
            name,
            "Input should be a valid string",
        )),
        None => Err(MethodError::validation(name, "Field required")),
    }
}

async fn login_ex(conn: &Arc<Conn>, params: &[Value], attr: &str) -> Result<Value, MethodError> {
    check_arity(params, 1)?;
    let Some(data) = params.first().and_then(Value::as_object) else {
        return Err(MethodError::validation(attr, "Field required"));
    };
    let mechanism = data
        .get("mechanism")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let allowed: &[&str] = match mechanism {
        "PASSWORD_PLAIN" => &["mechanism", "username", "password", "login_options"],
        "API_KEY_PLAIN" => &["mechanism", "username", "api_key", "login_options"],
        "TOKEN_PLAIN" => &["mechanism", "token", "login_options"],
        "OTP_TOKEN" => &["mechanism", "otp_token", "login_options"],
        other => {
            return Err(MethodError::validation(
                attr,
                format!(
                    "Input tag '{other}' found using 'mechanism' does not match any of the expected tags: \
                     'API_KEY_PLAIN', 'PASSWORD_PLAIN', 'TOKEN_PLAIN', 'OTP_TOKEN'"
                ),
            ));
        }
    };
    let mut errs = Vec::new();
    for k in data.keys() {
        if !allowed.contains(&k.as_str()) {
            errs.push((
                format!("{attr}.{mechanism}.{k}"),
                "Extra inputs are not permitted".to_owned(),
                errno::EINVAL,
            ));
        }
    }
    for k in allowed.iter().filter(|k| **k != "login_options") {
        match data.get(*k) {
            None => errs.push((
                format!("{attr}.{mechanism}.{k}"),
                "Field required".into(),
                errno::EINVAL,
            )),
            Some(Value::String(_)) => {}
            Some(_) => errs.push((
                format!("{attr}.{mechanism}.{k}"),
                "Input should be a valid string".into(),
                errno::EINVAL,
            )),
        }
    }
    let user_info = match data.get("login_options") {
        None => true,
        Some(Value::Object(o)) => {
            // 26.0 added `reconnect_token`.
            let known: &[&str] = match conn.shared.version {
                ServerVersion::V25_10_1 => &["user_info"],
                ServerVersion::V26_0_0 => &["user_info", "reconnect_token"],
            };
            for k in o.keys().filter(|k| !known.contains(&k.as_str())) {
                errs.push((
                    format!("{attr}.{mechanism}.login_options.{k}"),
                    "Extra inputs are not permitted".into(),
                    errno::EINVAL,
                ));
            }
            o.get("user_info").and_then(Value::as_bool).unwrap_or(true)
        }
        Some(_) => {
            errs.push((
                format!("{attr}.{mechanism}.login_options"),
                "Input should be a valid dictionary".into(),
                errno::EINVAL,
            ));
            true
        }
    };
    if !errs.is_empty() {
        return Err(MethodError::Validation(errs));
    }
    let s = |k: &str| {
        data.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match mechanism {
        "PASSWORD_PLAIN" => {
            password_login(conn, &s("username"), &s("password"), None, user_info).await
        }
        "API_KEY_PLAIN" => api_key_login(conn, Some(&s("username")), &s("api_key"), user_info),
        "TOKEN_PLAIN" => Ok(token_login(conn, &s("token"), user_info)),
        _ => otp_continue(conn, &s("otp_token"), user_info),
    }
}

/// What the account store says about a user before the password is checked.
struct Snapshot {
    hash: String,
    disabled: bool,
    locked: bool,
    expired: bool,
    two_factor: bool,
}

fn no_privilege(conn: &Conn) -> Value {
    match conn.shared.version {
        ServerVersion::V25_10_1 => resp("AUTH_ERR"),
        ServerVersion::V26_0_0 => resp("DENIED"),
    }
}

async fn password_login(
    conn: &Arc<Conn>,
    username: &str,
    password: &str,
    otp_token: Option<String>,
    user_info: bool,
) -> Result<Value, MethodError> {
    let now = now_ms();
    let (snap, otpw) = {
        let mut store = conn.shared.store();
        store.purge_expired(now);
        let Some(user) = store.user(username) else {
            return Ok(resp("AUTH_ERR"));
        };
        let b = |k: &str| user.get(k).and_then(Value::as_bool).unwrap_or(false);
        let snap = Snapshot {
            hash: user
                .get("unixhash")
                .and_then(Value::as_str)
                .unwrap_or("*")
                .to_owned(),
            disabled: b("password_disabled"),
            locked: b("locked"),
            expired: store.hard_expired(user, now),
            two_factor: b("twofactor_auth_configured"),
        };
        let otpw = store
            .otps
            .iter()
            .position(|o| o.username == username && o.password == password);
        let otpw = otpw.map(|i| store.otps.remove(i));
        (snap, otpw)
    };
    let otpw_login = otpw.is_some();
    if !otpw_login {
        let hash = snap.hash.clone();
        let pw = password.to_owned();
        let ok = conn
            .shared
            .crypt(move || accounts::verify_password(&pw, &hash))
            .await
            .unwrap_or(false);
        if !ok || snap.disabled || snap.locked {
            return Ok(resp("AUTH_ERR"));
        }
    } else if snap.locked || snap.disabled {
        return Ok(resp("AUTH_ERR"));
    }
    // Only now, after the right password, may the answer reveal something about the account.
    if snap.expired && !(otpw_login && unconfirmed::OTPW_BYPASSES_EXPIRY) {
        return Ok(resp("EXPIRED"));
    }
    let Some(mut creds) = conn.shared.store().credentials(username, false, otpw_login) else {
        return Ok(no_privilege(conn));
    };
    if let Some(o) = &otpw {
        creds.password_change_required |= o.admin_generated;
    }
    if snap.two_factor && !otpw_login {
        lock(&conn.state).otp = Some(OtpChallenge {
            username: username.to_owned(),
            attempts: 0,
            otpw: false,
        });
        if let Some(token) = otp_token {
            return otp_continue(conn, &token, user_info);
        }
        return Ok(json!({"response_type": "OTP_REQUIRED", "username": username}));
    }
    Ok(succeed(conn, creds, user_info))
}

fn succeed(conn: &Conn, creds: Credentials, user_info: bool) -> Value {
    let info = if user_info {
        me(conn, &creds)
    } else {
        Value::Null
    };
    let mut st = lock(&conn.state);
    st.creds = Some(creds);
    st.otp = None;
    json!({"response_type": "SUCCESS", "user_info": info, "authenticator": "LEVEL_1"})
}

fn totp_ok(secret: &str, token: &str) -> bool {
    let Ok(bytes) = totp_rs::Secret::Encoded(secret.to_owned()).to_bytes() else {
        return false;
    };
    // new_unchecked: demo secrets (80 bits) are shorter than totp-rs's 128-bit floor.
    let totp = totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes);
    totp.check_current(token).unwrap_or(false)
}

fn otp_continue(conn: &Conn, token: &str, user_info: bool) -> Result<Value, MethodError> {
    let Some(mut challenge) = lock(&conn.state).otp.take() else {
        return Err(MethodError::call(
            errno::EINVAL,
            "OTP_TOKEN: no authentication in progress",
        ));
    };
    let secret = conn
        .shared
        .store()
        .totp_secrets
        .get(&challenge.username)
        .cloned();
    if secret.is_some_and(|s| totp_ok(&s, token)) {
        let creds = conn
            .shared
            .store()
            .credentials(&challenge.username, false, challenge.otpw);
        return Ok(match creds {
            Some(c) => succeed(conn, c, user_info),
            None => no_privilege(conn),
        });
    }
    challenge.attempts += 1;
    if challenge.attempts >= MAX_OTP_ATTEMPTS {
        return Ok(resp("AUTH_ERR"));
    }
    let username = challenge.username.clone();
    lock(&conn.state).otp = Some(challenge);
    Ok(json!({"response_type": "OTP_REQUIRED", "username": username}))
}

fn api_key_login(
    conn: &Conn,
    username: Option<&str>,
    key: &str,
    user_info: bool,
) -> Result<Value, MethodError> {
    let Some((id, secret)) = key.split_once('-') else {
        return Ok(resp("AUTH_ERR"));
    };
    let Ok(id) = id.parse::<i64>() else {
        return Ok(resp("AUTH_ERR"));
    };
    let owner = {
        let mut store = conn.shared.store();
        let Some(k) = store.api_key_by_id(id) else {
            return Ok(resp("AUTH_ERR"));
        };
        let same = k.key.len() == secret.len()
            && k.key
                .bytes()
                .zip(secret.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same || username.is_some_and(|u| u != k.username) {
            return Ok(resp("AUTH_ERR"));
        }
        if k.revoked {
            return Ok(resp("EXPIRED"));
        }
        if !conn.secure {
            // The real server revokes a plain key seen on an insecure transport.
            k.revoked = true;
            tracing::warn!(
                key_id = id,
                "API key revoked: attempt to use over an insecure transport"
            );
            return Ok(resp("EXPIRED"));
        }
        k.username.clone()
    };
    let creds = conn.shared.store().credentials(&owner, true, false);
    Ok(match creds {
        Some(c) => succeed(conn, c, user_info),
        None => no_privilege(conn),
    })
}

fn token_login(conn: &Conn, token: &str, user_info: bool) -> Value {
    let now = now_ms();
    let creds = {
        let mut store = conn.shared.store();
        store.purge_expired(now);
        match store.tokens.get(token).cloned() {
            None => None,
            Some(t) => {
                if t.single_use {
                    store.tokens.remove(token);
                }
                Some(t.creds)
            }
        }
    };
    match creds {
        Some(c) => succeed(conn, c, user_info),
        None => resp("AUTH_ERR"),
    }
}

fn generate_token(conn: &Conn, params: &[Value]) -> Result<Value, MethodError> {
    check_arity(params, 4)?;
    let creds = conn.creds().ok_or_else(MethodError::not_authenticated)?;
    if creds.otpw {
        return Err(unconfirmed::token_refused_for_otpw());
    }
    let ttl = match params.first() {
        None | Some(Value::Null) => 600,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| MethodError::validation("ttl", "Input should be a valid integer"))?,
    };
    let single_use = params.get(3).and_then(Value::as_bool).unwrap_or(false);
    let token: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(64)
        .map(char::from)
        .collect();
    conn.shared.store().tokens.insert(
        token.clone(),
        Token {
            creds,
            expires_ms: now_ms() + accounts::ttl_ms(ttl),
            single_use,
        },
    );
    Ok(token.into())
}

fn generate_otpw(conn: &Conn, params: &[Value]) -> Result<Value, MethodError> {
    check_arity(params, 1)?;
    let username = params
        .first()
        .and_then(|v| v.get("username"))
        .and_then(Value::as_str)
        .ok_or_else(|| {
            MethodError::validation("generate_onetime_password.username", "Field required")
        })?
        .to_owned();
    let mut store = conn.shared.store();
    if store.user(&username).is_none() {
        return Err(MethodError::validation(
            "generate_onetime_password.username",
            format!("{username}: user does not exist."),
        ));
    }
    let n = store.otps.len() + 1;
    let mut rng = rand::rng();
    let mut group = || -> String {
        (0..6)
            .map(|_| {
                let c = rng.random_range(0..36u8);
                char::from(if c < 10 { b'0' + c } else { b'a' + c - 10 })
            })
            .collect()
    };
    let password = format!("{n}_{}-{}-{}-{}", group(), group(), group(), group());
    store.otps.push(OneTimePassword {
        username,
        password: password.clone(),
        expires_ms: now_ms() + 86_400_000,
        admin_generated: true,
    });
    Ok(password.into())
}

/// `auth.me` (and `user_info` of a successful login).
pub(crate) fn me(conn: &Conn, creds: &Credentials) -> Value {
    let store = conn.shared.store();
    let Some(user) = store.user(&creds.username) else {
        return Value::Null;
    };
    let mut out = match user_obj(&store, user, true) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let two_factor = user
        .get("twofactor_auth_configured")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let full = creds.full_admin();
    let roles: Vec<&String> = creds.roles.iter().collect();
    let mut attrs: BTreeSet<&str> = BTreeSet::new();
    let mut ordered = vec!["LOCAL"];
    let uid = user.get("uid").and_then(Value::as_i64);
    if uid == Some(0) || uid == Some(950) {
        ordered.push("SYS_ADMIN");
    }
    if two_factor {
        ordered.push("2FA");
    }
    if creds.api_key {
        ordered.push("API_KEY");
    }
    if creds.otpw {
        ordered.push("OTPW");
    }
    if creds.password_change_required {
        ordered.push("PASSWORD_CHANGE_REQUIRED");
    }
    ordered.retain(|a| attrs.insert(a));
    out.insert("attributes".into(), json!({}));
    out.insert(
        "two_factor_config".into(),
        json!({"provisioning_uri": null, "secret_configured": two_factor, "interval": 30, "otp_digits": 6}),
    );
    out.insert(
        "privilege".into(),
        json!({
            "roles": {"$set": roles},
            "allowlist": if full { json!([{"method": "*", "resource": "*"}]) } else { json!([]) },
            "web_shell": full,
            "webui_access": !creds.roles.is_empty(),
        }),
    );
    out.insert("account_attributes".into(), json!(ordered));
    Value::Object(out)
}
