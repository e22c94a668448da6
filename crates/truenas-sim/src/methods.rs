//! The method table and the protocol-agnostic call path: access checks, rate limit, handlers.

use std::sync::Arc;
use std::time::Instant;

use rand::Rng;
use serde_json::{Map, Value, json};

use crate::accounts::{self, REDACTED, SECRET_FIELDS, now_ms};
use crate::state::{Conn, lock};
use crate::wire_error::{MethodError, errno};
use crate::{auth, query, users};

/// What a method requires of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// No authentication; counted by the rate limiter for unauthenticated connections.
    Public,
    /// No authentication, not rate limited (`core.set_options`).
    PublicUnlimited,
    /// Authenticated, no role.
    Authenticated,
    /// Authenticated with this role.
    Role(&'static str),
}

/// Every simulated method and its access rule.
pub(crate) const METHODS: &[(&str, Access)] = &[
    ("core.ping", Access::Public),
    ("core.set_options", Access::PublicUnlimited),
    ("core.subscribe", Access::Authenticated),
    ("core.unsubscribe", Access::Authenticated),
    ("core.get_methods", Access::Authenticated),
    ("core.get_jobs", Access::Authenticated),
    ("auth.login", Access::Public),
    ("auth.login_with_api_key", Access::Public),
    ("auth.login_with_token", Access::Public),
    ("auth.login_ex", Access::Public),
    ("auth.login_ex_continue", Access::Public),
    ("auth.mechanism_choices", Access::Public),
    ("auth.me", Access::Authenticated),
    ("auth.logout", Access::Authenticated),
    ("auth.generate_token", Access::Authenticated),
    (
        "auth.generate_onetime_password",
        Access::Role("ACCOUNT_WRITE"),
    ),
    ("system.boot_id", Access::Public),
    ("system.info", Access::Role("READONLY_ADMIN")),
    ("system.version", Access::Authenticated),
    ("system.version_short", Access::Authenticated),
    (
        "system.security.config",
        Access::Role("SYSTEM_SECURITY_READ"),
    ),
    ("user.query", Access::Role("ACCOUNT_READ")),
    ("user.get_instance", Access::Role("ACCOUNT_READ")),
    ("user.get_user_obj", Access::Role("ACCOUNT_READ")),
    ("user.update", Access::Role("ACCOUNT_WRITE")),
    ("user.set_password", Access::Authenticated),
];

/// The access rule of a method, `None` when it does not exist.
pub(crate) fn lookup(method: &str) -> Option<Access> {
    METHODS.iter().find(|(m, _)| *m == method).map(|(_, a)| *a)
}

/// `Too many arguments` check and positional access.
pub(crate) fn check_arity(params: &[Value], max: usize) -> Result<(), MethodError> {
    if params.len() > max {
        return Err(MethodError::validation(
            "",
            format!(
                "Too many arguments (expected {max}, found {})",
                params.len()
            ),
        ));
    }
    Ok(())
}

/// Checks the caller may call `method`, applying the rate limit to unauthenticated callers.
async fn authorize(conn: &Conn, method: &str, access: Access) -> Result<(), MethodError> {
    let rate_limited = conn.with_creds(|creds| match access {
        Access::PublicUnlimited => Ok(false),
        Access::Public => Ok(creds.is_none()),
        Access::Authenticated => creds
            .map(|_| false)
            .ok_or_else(MethodError::not_authenticated),
        Access::Role(role) => match creds {
            None => Err(MethodError::not_authenticated()),
            Some(c) if c.has_role(role) => Ok(false),
            Some(_) => Err(MethodError::not_authorized()),
        },
    })?;
    if rate_limited {
        rate_limit(conn, method).await?;
    }
    Ok(())
}

/// Per method per IP: `max_calls` per window, then a random sleep and EBUSY.
async fn rate_limit(conn: &Conn, method: &str) -> Result<(), MethodError> {
    let Some(limit) = conn.shared.rate_limit.clone() else {
        return Ok(());
    };
    let exceeded = {
        let mut rate = lock(&conn.shared.rate);
        let now = Instant::now();
        let entry = rate
            .entry((method.to_owned(), conn.peer.ip()))
            .or_insert((now, 0));
        if now.duration_since(entry.0) >= limit.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1 > limit.max_calls
    };
    if exceeded {
        let (lo, hi) = limit.sleep;
        let pause = if hi > lo {
            rand::rng().random_range(lo..=hi)
        } else {
            lo
        };
        tokio::time::sleep(pause).await;
        return Err(MethodError::call(errno::EBUSY, "Rate Limit Exceeded"));
    }
    Ok(())
}

/// Runs one call: access rules, then the handler. The caller has checked the method exists.
pub(crate) async fn call(
    conn: &Arc<Conn>,
    method: &str,
    params: Vec<Value>,
) -> Result<Value, MethodError> {
    let Some(access) = lookup(method) else {
        return Err(MethodError::call(
            errno::ENOMETHOD,
            format!("Method {method:?} not found"),
        ));
    };
    authorize(conn, method, access).await?;
    match method {
        "core.ping" => {
            check_arity(&params, 0)?;
            Ok("pong".into())
        }
        "core.set_options" => set_options(conn, &params),
        "core.subscribe" => {
            check_arity(&params, 1)?;
            if !params.first().is_some_and(Value::is_string) {
                return Err(MethodError::validation("event", "Field required"));
            }
            Ok(uuid::Uuid::new_v4().to_string().into())
        }
        "core.unsubscribe" => Ok(Value::Null),
        "core.get_methods" => Ok(get_methods(conn)),
        "core.get_jobs" => Ok(json!([])),
        "system.boot_id" => Ok(conn.shared.boot_id.clone().into()),
        "system.version" => Ok(format!("TrueNAS-{}", conn.shared.version).into()),
        "system.version_short" => Ok(conn.shared.version.as_str().into()),
        "system.info" => Ok(system_info(conn)),
        "system.security.config" => Ok(security_config(conn)),
        "user.query" => {
            check_arity(&params, 2)?;
            let entries = user_entries_matching(conn, params.first());
            query::filter_list(
                entries,
                params.first().unwrap_or(&Value::Null),
                params.get(1).unwrap_or(&Value::Null),
            )
        }
        "user.get_instance" => {
            check_arity(&params, 2)?;
            let id = params.first().cloned().unwrap_or(Value::Null);
            let entries = user_entries(conn);
            match query::filter_list(entries, &json!([["id", "=", id]]), &json!({"get": true})) {
                Ok(v) => Ok(v),
                Err(_) => Err(crate::unconfirmed::instance_not_found("", &id)),
            }
        }
        "user.get_user_obj" => get_user_obj(conn, &params),
        "user.update" => users::update(conn, params).await,
        "user.set_password" => users::set_password(conn, params).await,
        m if m.starts_with("auth.") => auth::call(conn, m, params).await,
        _ => Err(MethodError::call(
            errno::ENOMETHOD,
            format!("Method {method:?} not found"),
        )),
    }
}

fn set_options(conn: &Conn, params: &[Value]) -> Result<Value, MethodError> {
    check_arity(params, 1)?;
    let mut st = lock(&conn.state);
    if let Some(opts) = params.first() {
        let Some(opts) = opts.as_object() else {
            return Err(MethodError::validation(
                "options",
                "Input should be a valid dictionary",
            ));
        };
        for (k, v) in opts {
            let Some(b) = v.as_bool() else {
                return Err(MethodError::validation(
                    format!("options.{k}"),
                    "Input should be a valid boolean",
                ));
            };
            match k.as_str() {
                "legacy_jobs" => st.legacy_jobs = b,
                "private_methods" => st.private_methods = b,
                "py_exceptions" => st.py_exceptions = b,
                _ => {
                    return Err(MethodError::validation(
                        format!("options.{k}"),
                        "Extra inputs are not permitted",
                    ));
                }
            }
        }
    }
    Ok(
        json!({"legacy_jobs": st.legacy_jobs, "private_methods": st.private_methods, "py_exceptions": st.py_exceptions}),
    )
}

fn get_methods(conn: &Conn) -> Value {
    let creds = conn.creds();
    let mut out = Map::new();
    for (name, access) in METHODS {
        let allowed = match access {
            Access::Role(r) => creds.as_ref().is_some_and(|c| c.has_role(r)),
            _ => true,
        };
        if !allowed {
            continue;
        }
        let roles = match access {
            Access::Role(r) => json!([r]),
            _ => json!([]),
        };
        let no_auth = matches!(access, Access::Public | Access::PublicUnlimited);
        out.insert(
            (*name).to_owned(),
            json!({
                "description": null, "cli_description": null, "examples": {}, "item_method": false,
                "no_auth_required": no_auth, "filterable": *name == "user.query",
                "filterable_schema": null, "pass_application": false, "require_websocket": false,
                "job": false, "downloadable": false, "uploadable": false, "check_pipes": true,
                "roles": roles, "accepts": [], "returns": [],
            }),
        );
    }
    Value::Object(out)
}

fn system_info(conn: &Conn) -> Value {
    let now = now_ms();
    let boot = conn
        .shared
        .started
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(now);
    let uptime = ((now - boot).max(0) as f64) / 1000.0;
    json!({
        "version": format!("TrueNAS-{}", conn.shared.version),
        "buildtime": {"$date": 1_764_000_000_000_i64},
        "hostname": "truenas-sim",
        "physmem": 17_179_869_184_i64,
        "model": "Simulated CPU",
        "cores": 4,
        "physical_cores": 2,
        "loadavg": [0.1, 0.05, 0.01],
        "uptime": format!("{} seconds", uptime as i64),
        "uptime_seconds": uptime,
        "system_serial": "SIM0001",
        "system_product": "truenas-sim",
        "system_product_version": null,
        "license": null,
        "boottime": {"$date": boot},
        "datetime": {"$date": now},
        "timezone": "UTC",
        "system_manufacturer": "selfpass",
        "ecc_memory": false,
    })
}

pub(crate) fn security_config(conn: &Conn) -> Value {
    let store = conn.shared.store();
    let p = &store.policy;
    json!({
        "id": 1,
        "enable_fips": false,
        "enable_gpos_stig": false,
        "min_password_age": p.min_password_age,
        "max_password_age": p.max_password_age,
        "password_complexity_ruleset": p.password_complexity_ruleset.as_ref().map(|r| json!({"$set": r})),
        "min_password_length": p.min_password_length,
        "password_history_length": p.password_history_length,
    })
}

/// All user entries, redacted unless the caller is FULL_ADMIN or holds ACCOUNT_WRITE.
fn user_entries(conn: &Conn) -> Vec<Value> {
    user_entries_matching(conn, None)
}

/// A top-level condition on `username` (the common one-user query), if the query has one.
fn username_condition(filters: Option<&Value>) -> Option<&[Value]> {
    filters?.as_array()?.iter().find_map(|f| {
        let f = f.as_array()?;
        (f.first()?.as_str()? == "username").then_some(f.as_slice())
    })
}

/// The entries `user.query` filters. Building an entry costs a clone and a role lookup, so a
/// username condition picks its candidates first (top-level conditions all must hold, and a
/// stored user's username is its entry's); the query's full filter still runs on them
/// afterwards, and reports any malformed condition.
fn user_entries_matching(conn: &Conn, filters: Option<&Value>) -> Vec<Value> {
    let wanted = username_condition(filters);
    let reveal = conn.creds().is_some_and(|c| c.has_role("ACCOUNT_WRITE"));
    let store = conn.shared.store();
    let now = now_ms();
    store
        .users
        .iter()
        .filter(|u| {
            wanted.is_none_or(|cond| {
                query::matches_one(&json!({"username": u.get("username")}), cond).unwrap_or(true)
            })
        })
        .map(|u| {
            let mut e = store.entry(u, now);
            if !reveal {
                redact(&mut e);
            }
            e
        })
        .collect()
}

pub(crate) fn redact(entry: &mut Value) {
    if let Value::Object(m) = entry {
        for f in SECRET_FIELDS {
            m.insert((*f).to_owned(), REDACTED.into());
        }
    }
}

fn get_user_obj(conn: &Conn, params: &[Value]) -> Result<Value, MethodError> {
    check_arity(params, 1)?;
    let Some(arg) = params.first().and_then(Value::as_object) else {
        return Err(MethodError::validation("data", "Field required"));
    };
    let store = conn.shared.store();
    let user = if let Some(name) = arg.get("username").and_then(Value::as_str) {
        store.user(name)
    } else if let Some(uid) = arg.get("uid").and_then(Value::as_i64) {
        store
            .users
            .iter()
            .find(|u| u.get("uid").and_then(Value::as_i64) == Some(uid))
    } else {
        return Err(MethodError::validation(
            "data",
            "username or uid must be specified",
        ));
    };
    let Some(user) = user else {
        let key = arg
            .get("username")
            .or_else(|| arg.get("uid"))
            .cloned()
            .unwrap_or(Value::Null);
        return Err(MethodError::Exception {
            class: "KeyError".into(),
            reason: format!("{key}"),
            repr: format!("KeyError({key})"),
            errno: errno::ENOENT,
        });
    };
    let get_groups = arg
        .get("get_groups")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(user_obj(&store, user, get_groups))
}

/// The `pwd` view of a user (`user.get_user_obj`, base of `auth.me`).
pub(crate) fn user_obj(
    store: &accounts::Store,
    user: &Map<String, Value>,
    get_groups: bool,
) -> Value {
    let gid = user
        .get("group")
        .and_then(|g| g.get("bsdgrp_gid"))
        .cloned()
        .unwrap_or(Value::Null);
    let grouplist = if get_groups {
        let mut gids = vec![gid.clone()];
        if let Some(list) = user.get("groups").and_then(Value::as_array) {
            for id in list.iter().filter_map(Value::as_i64) {
                if let Some(g) = store.groups.iter().find(|g| g.id == id) {
                    gids.push(g.gid.into());
                }
            }
        }
        Value::Array(gids)
    } else {
        Value::Null
    };
    json!({
        "pw_name": user.get("username"),
        "pw_gecos": user.get("full_name"),
        "pw_dir": user.get("home"),
        "pw_shell": user.get("shell"),
        "pw_uid": user.get("uid"),
        "pw_gid": gid,
        "grouplist": grouplist,
        "sid": user.get("sid"),
        "source": "LOCAL",
        "local": true,
    })
}
