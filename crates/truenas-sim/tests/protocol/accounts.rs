//! §3: user.set_password (check order and messages), user.update, user.query, redaction, policy.

use std::sync::{Arc, Mutex};

use secrecy::ExposeSecret;
use serde_json::{Value, json};
use truenas_sim::{NewUser, SecurityPolicy, ServerVersion, Simulator, demo as d};

use crate::common::*;

async fn session(sim: &Simulator, user: &str, pw: &str) -> Ws {
    let mut ws = connect(sim, "/api/current").await;
    assert_eq!(
        ws.login(user, pw).await["response_type"],
        "SUCCESS",
        "{user}"
    );
    ws
}

fn set_pw(user: &str, old: Option<&str>, new: &str) -> Value {
    json!([{"username": user, "old_password": old, "new_password": new}])
}

fn validation(e: &Value, attr: &str, msg: &str) {
    assert_eq!(e["code"], -32602, "{e}");
    assert_eq!(e["message"], "Invalid params");
    assert_eq!(e["data"]["error"], 22);
    assert_eq!(e["data"]["errname"], "EINVAL");
    assert_eq!(e["data"]["reason"], format!("[EINVAL] {attr}: {msg}\n"));
    assert_eq!(e["data"]["extra"], json!([[attr, msg, 22]]));
    assert_eq!(e["data"]["trace"]["class"], "ValidationErrors");
}

#[tokio::test]
async fn set_password_other_user_is_eperm() {
    let sim = start(demo()).await;
    let mut ws = session(&sim, "grace", d::GRACE_PASSWORD).await;
    let e = ws
        .err(
            "user.set_password",
            set_pw("alice", Some(d::GRACE_PASSWORD), "N3w-secret!"),
        )
        .await;
    assert_error_data(
        &e,
        -32001,
        1,
        "EPERM",
        "[EPERM] alice: currently authenticated credential may not reset password for this user.",
    );
}

#[tokio::test]
async fn set_password_wrong_old_password_exact_shape() {
    let sim = start(demo()).await;
    let mut ws = session(&sim, "grace", d::GRACE_PASSWORD).await;
    let e = ws
        .err(
            "user.set_password",
            set_pw("grace", Some("old-secret"), "N3w-secret!"),
        )
        .await;
    validation(
        &e,
        "user.set_password.old_password",
        "grace: failed to validate password.",
    );
    assert_eq!(
        e["data"]["trace"]["repr"],
        "ValidationErrors([ValidationError('user.set_password.old_password', 'grace: failed to validate password.', 22)])"
    );
}

#[tokio::test]
async fn set_password_needs_old_password_without_full_admin() {
    let sim = start(demo()).await;
    let mut ws = session(&sim, "grace", d::GRACE_PASSWORD).await;
    let e = ws
        .err("user.set_password", set_pw("grace", None, "N3w-secret!"))
        .await;
    validation(
        &e,
        "user.set_password.old_password",
        "FULL_ADMIN role is required in order to bypass check for current password.",
    );
}

#[tokio::test]
async fn set_password_success_calls_hook_and_keeps_session() {
    let sim = start(demo()).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    sim.on_password_change(move |u, p| {
        s2.lock()
            .unwrap()
            .push((u.to_owned(), p.expose_secret().to_owned()))
    });
    let before = sim.user("grace").unwrap();
    let mut ws = session(&sim, "grace", d::GRACE_PASSWORD).await;
    let r = ws
        .call(
            "user.set_password",
            set_pw("grace", Some(d::GRACE_PASSWORD), "N3w-secret!"),
        )
        .await;
    assert_eq!(r, json!({"jsonrpc": "2.0", "result": null, "id": r["id"]}));
    assert_eq!(
        *seen.lock().unwrap(),
        [("grace".to_owned(), "N3w-secret!".to_owned())]
    );
    // not logged out
    assert_eq!(ws.ok("auth.me", json!([])).await["pw_name"], "grace");
    let after = sim.user("grace").unwrap();
    assert!(after["unixhash"].as_str().unwrap().starts_with("$6$"));
    assert_ne!(after["unixhash"], before["unixhash"]);
    assert_eq!(after["password_history"], json!([before["unixhash"]]));
    assert!(
        after["last_password_change"]["$date"].as_i64()
            > before["last_password_change"]["$date"].as_i64()
    );
    let mut ws = connect(&sim, "/api/current").await;
    assert_eq!(
        ws.login("grace", d::GRACE_PASSWORD).await["response_type"],
        "AUTH_ERR"
    );
    assert_eq!(
        ws.login("grace", "N3w-secret!").await["response_type"],
        "SUCCESS"
    );
}

#[tokio::test]
async fn full_admin_skips_old_password_check() {
    let sim = start(demo()).await;
    let mut ws = session(&sim, d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    assert_eq!(
        ws.ok(
            "user.set_password",
            set_pw("grace", Some("definitely-wrong"), "Adm1n-set!")
        )
        .await,
        Value::Null
    );
    assert_eq!(
        ws.ok("user.set_password", set_pw("alice", None, "Adm1n-set!"))
            .await,
        Value::Null
    );
    let mut g = connect(&sim, "/api/current").await;
    assert_eq!(
        g.login("grace", "Adm1n-set!").await["response_type"],
        "SUCCESS"
    );
}

#[tokio::test]
async fn full_admin_missing_user_25_vs_26() {
    let sim = start(demo()).await;
    let mut ws = session(&sim, d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    let e = ws
        .err("user.set_password", set_pw("ghost", None, "x"))
        .await;
    assert_eq!(e["code"], -32001, "25.10.1 raises a TypeError: {e}");
    assert_eq!(e["data"]["trace"]["class"], "TypeError");
    let sim = start(demo().server_version(ServerVersion::V26_0_0)).await;
    let mut ws = session(&sim, d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    let e = ws
        .err("user.set_password", set_pw("ghost", None, "x"))
        .await;
    validation(
        &e,
        "user.set_password.username",
        "ghost: user does not exist.",
    );
}

#[tokio::test]
async fn second_batch_disabled_and_locked() {
    let sim = start(demo()).await;
    let mut ws = session(&sim, d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    let e = ws
        .err("user.set_password", set_pw("dave", None, "Whatever-1"))
        .await;
    validation(
        &e,
        "user.set_password.username",
        "dave: password authentication disabled for user",
    );
    let e = ws
        .err("user.set_password", set_pw("carol", None, "Whatever-1"))
        .await;
    validation(
        &e,
        "user.set_password.username",
        "carol: user account is locked.",
    );
}

#[tokio::test]
async fn policy_complexity_length_history() {
    let sim = start(demo()).await;
    sim.set_security_policy(SecurityPolicy {
        password_complexity_ruleset: Some(vec![
            "UPPER".into(),
            "LOWER".into(),
            "NUMBER".into(),
            "SPECIAL".into(),
        ]),
        min_password_length: Some(12),
        password_history_length: Some(3),
        ..SecurityPolicy::default()
    });
    let mut ws = session(&sim, "grace", d::GRACE_PASSWORD).await;
    let e = ws
        .err(
            "user.set_password",
            set_pw("grace", Some(d::GRACE_PASSWORD), "lower-only-long"),
        )
        .await;
    validation(
        &e,
        "user.set_password.new_password",
        "The specified password does not meet minimum complexity requirements. The following character types are absent: UPPER, NUMBER",
    );
    let e = ws
        .err(
            "user.set_password",
            set_pw("grace", Some(d::GRACE_PASSWORD), "Sh0rt!"),
        )
        .await;
    validation(
        &e,
        "user.set_password.new_password",
        "The specified password is too short. The minimum password length is 12 characters.",
    );
    sim.set_security_policy(SecurityPolicy {
        password_history_length: Some(3),
        ..SecurityPolicy::default()
    });
    let e = ws
        .err(
            "user.set_password",
            set_pw("grace", Some(d::GRACE_PASSWORD), d::GRACE_PASSWORD),
        )
        .await;
    validation(
        &e,
        "user.set_password.new_password",
        "The security configuration of the TrueNAS server requires a password that does not match any of the last 3 passwords for this account.",
    );
    // Both batch-1 errors arrive together: wrong old password and policy.
    sim.set_security_policy(SecurityPolicy {
        min_password_length: Some(20),
        ..SecurityPolicy::default()
    });
    let e = ws
        .err("user.set_password", set_pw("grace", Some("nope"), "short"))
        .await;
    assert_eq!(e["data"]["extra"].as_array().unwrap().len(), 2, "{e}");
}

#[tokio::test]
async fn minimum_age_is_second_batch_and_skipped_for_admin() {
    let sim = start(demo()).await;
    sim.set_security_policy(SecurityPolicy {
        min_password_age: Some(30),
        ..SecurityPolicy::default()
    });
    let mut ws = session(&sim, "grace", d::GRACE_PASSWORD).await;
    let e = ws
        .err(
            "user.set_password",
            set_pw("grace", Some(d::GRACE_PASSWORD), "N3w-secret!"),
        )
        .await;
    validation(
        &e,
        "user.set_password.username",
        "grace: password changed too recently. Minimum password age is: 30",
    );
    let mut admin = session(&sim, d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    assert_eq!(
        admin
            .ok("user.set_password", set_pw("grace", None, "N3w-secret!"))
            .await,
        Value::Null
    );
    let cfg = admin.ok("system.security.config", json!([])).await;
    assert_eq!(cfg["min_password_age"], 30);
    assert_eq!(cfg["password_complexity_ruleset"], Value::Null);
}

#[tokio::test]
async fn security_config_shape() {
    let sim = start(demo()).await;
    sim.set_security_policy(SecurityPolicy {
        password_complexity_ruleset: Some(vec!["UPPER".into(), "NUMBER".into()]),
        max_password_age: Some(90),
        ..SecurityPolicy::default()
    });
    let mut ws = session(&sim, d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    let cfg = ws.ok("system.security.config", json!([])).await;
    assert_eq!(
        cfg,
        json!({"id": 1, "enable_fips": false, "enable_gpos_stig": false, "min_password_age": null,
               "max_password_age": 90, "password_complexity_ruleset": {"$set": ["UPPER", "NUMBER"]},
               "min_password_length": null, "password_history_length": null})
    );
}

#[tokio::test]
async fn max_age_hard_and_soft_expiry() {
    let sim = start(demo()).await;
    sim.set_security_policy(SecurityPolicy {
        max_password_age: Some(30),
        ..SecurityPolicy::default()
    });
    let day = 86_400_000_i64;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    sim.set_user_field(
        "grace",
        "last_password_change",
        json!({"$date": now - 40 * day}),
    );
    let mut ws = connect(&sim, "/api/current").await;
    assert_eq!(
        ws.login("grace", d::GRACE_PASSWORD).await["response_type"],
        "EXPIRED"
    );
    assert_eq!(
        ws.login("grace", "wrong").await["response_type"],
        "AUTH_ERR"
    );
    sim.set_user_field(
        "grace",
        "last_password_change",
        json!({"$date": now - 26 * day}),
    );
    let r = ws.login("grace", d::GRACE_PASSWORD).await;
    assert_eq!(r["response_type"], "SUCCESS");
    assert!(
        r["user_info"]["account_attributes"]
            .as_array()
            .unwrap()
            .contains(&json!("PASSWORD_CHANGE_REQUIRED"))
    );
    assert_eq!(sim.user("grace").unwrap()["password_change_required"], true);
}

#[tokio::test]
async fn redaction_depends_on_account_write() {
    let sim = start(demo()).await;
    sim.add_user(NewUser {
        privilege_roles: Some(vec!["ACCOUNT_READ".into()]),
        ..NewUser::new("reader", "reader-pass")
    })
    .await
    .unwrap();
    let q = json!([[["username", "=", "alice"]], {"get": true}]);
    let mut reader = session(&sim, "reader", "reader-pass").await;
    let alice = reader.ok("user.query", q.clone()).await;
    assert_eq!(alice["unixhash"], "********");
    assert_eq!(alice["smbhash"], "********");
    assert_eq!(alice["password_history"], "********");
    let mut svc = connect(&sim, "/api/current").await;
    svc.login_key(d::SERVICE_API_KEY).await;
    let alice = svc.ok("user.query", q.clone()).await;
    assert!(
        alice["unixhash"].as_str().unwrap().starts_with("$6$"),
        "{alice}"
    );
    let mut admin = session(&sim, d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    assert!(
        admin.ok("user.query", q).await["unixhash"]
            .as_str()
            .unwrap()
            .starts_with("$6$")
    );
}

#[tokio::test]
async fn query_filters_and_options() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.login_key(d::SERVICE_API_KEY).await;
    let names = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let r = ws
        .ok(
            "user.query",
            json!([[["uid", "in", [3000, 3001]]], {"order_by": ["-uid"]}]),
        )
        .await;
    assert_eq!(names(&r), ["bob", "alice"]);
    let r = ws
        .ok("user.query", json!([[["username", "C=", "ALICE"]]]))
        .await;
    assert_eq!(names(&r), ["alice"]);
    let r = ws
        .ok(
            "user.query",
            json!([[["OR", [["username", "=", "bob"], ["username", "^", "gra"]]]]]),
        )
        .await;
    assert_eq!(names(&r), ["bob", "grace"]);
    let r = ws
        .ok(
            "user.query",
            json!([[["local", "=", true], ["builtin", "=", false]], {"count": true}]),
        )
        .await;
    assert_eq!(r, 9);
    let r = ws.ok("user.query", json!([[["username", "=", "alice"]], {"select": ["username", "uid", "group.bsdgrp_gid"]}])).await;
    assert_eq!(
        r,
        json!([{"username": "alice", "uid": 3000, "group": {"bsdgrp_gid": 3000}}])
    );
    let r = ws
        .ok(
            "user.query",
            json!([[], {"order_by": ["uid"], "offset": 1, "limit": 2, "select": ["username"]}]),
        )
        .await;
    assert_eq!(names(&r), ["truenas_admin", "alice"]);
    let e = ws
        .err(
            "user.query",
            json!([[["username", "=", "ghost"]], {"get": true}]),
        )
        .await;
    assert_error_data(&e, -32001, 22, "EINVAL", "MatchNotFound()");
    // the synthetic container-root user is always listed
    let all = ws.ok("user.query", json!([])).await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"].as_i64().unwrap() > 100_000_000)
    );
    let alice = ws
        .ok(
            "user.get_instance",
            json!([all
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["username"] == "alice")
                .unwrap()["id"]]),
        )
        .await;
    assert_eq!(alice["uid"], 3000);
    assert_eq!(alice["smb"], true);
    let obj = ws
        .ok("user.get_user_obj", json!([{"username": "alice"}]))
        .await;
    assert_eq!(obj["pw_uid"], 3000);
    assert_eq!(obj["source"], "LOCAL");
}

#[tokio::test]
async fn user_entry_fields() {
    let sim = start(demo()).await;
    let alice = sim.user("alice").unwrap();
    for k in [
        "id",
        "uid",
        "username",
        "unixhash",
        "smbhash",
        "home",
        "shell",
        "full_name",
        "builtin",
        "smb",
        "userns_idmap",
        "group",
        "groups",
        "password_disabled",
        "ssh_password_enabled",
        "sshpubkey",
        "locked",
        "sudo_commands",
        "sudo_commands_nopasswd",
        "email",
        "local",
        "immutable",
        "twofactor_auth_configured",
        "sid",
        "last_password_change",
        "password_age",
        "password_history",
        "password_change_required",
        "roles",
        "api_keys",
    ] {
        assert!(alice.get(k).is_some(), "entry lacks {k}");
    }
    assert_eq!(alice["home"], "/var/empty");
    assert_eq!(alice["shell"], "/usr/bin/zsh");
    assert_eq!(sim.user("bob").unwrap()["smb"], false);
    assert_eq!(
        sim.user("frank").unwrap()["twofactor_auth_configured"],
        true
    );
    assert_eq!(
        sim.user("passwd-service").unwrap()["roles"],
        json!(["ACCOUNT_READ", "ACCOUNT_WRITE"])
    );
    assert_eq!(sim.user("root").unwrap()["locked"], true);
    assert_eq!(
        sim.user(d::ADMIN_USER).unwrap()["roles"],
        json!(["FULL_ADMIN"])
    );
}

#[tokio::test]
async fn update_password_and_lock() {
    let sim = start(demo()).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    sim.on_password_change(move |u, _| s2.lock().unwrap().push(u.to_owned()));
    let alice_id = sim.user("alice").unwrap()["id"].clone();
    let mut ws = connect(&sim, "/api/current").await;
    ws.login_key(d::SERVICE_API_KEY).await;
    let r = ws
        .ok(
            "user.update",
            json!([alice_id, {"password": "Alice-new-1"}]),
        )
        .await;
    assert_eq!(r["password"], "Alice-new-1");
    assert_eq!(r["username"], "alice");
    assert_eq!(*seen.lock().unwrap(), ["alice"]);
    assert!(
        sim.user("alice").unwrap()["password_history"]
            .as_array()
            .unwrap()
            .len()
            == 1
    );
    let r = ws
        .ok("user.update", json!([alice_id, {"locked": true}]))
        .await;
    assert_eq!(r["locked"], true);
    assert!(r.get("password").is_none());
    let e = ws
        .err("user.update", json!([2_147_000_001_i64, {"locked": false}]))
        .await;
    assert_eq!(e["data"]["errname"], "EPERM");
    let e = ws.err("user.update", json!([alice_id, {"bogus": 1}])).await;
    assert_eq!(e["code"], -32602);
    let mut grace = session(&sim, "grace", d::GRACE_PASSWORD).await;
    let e = grace
        .err("user.update", json!([alice_id, {"locked": false}]))
        .await;
    assert_eq!(e["data"]["reason"], "[EACCES] Not authorized");
}

#[tokio::test]
async fn update_applies_policy_but_not_min_age() {
    let sim = start(demo()).await;
    sim.set_security_policy(SecurityPolicy {
        min_password_age: Some(30),
        min_password_length: Some(10),
        ..SecurityPolicy::default()
    });
    let id = sim.user("bob").unwrap()["id"].clone();
    let mut ws = connect(&sim, "/api/current").await;
    ws.login_key(d::SERVICE_API_KEY).await;
    let e = ws
        .err("user.update", json!([id, {"password": "short"}]))
        .await;
    validation(
        &e,
        "user_update.password",
        "The specified password is too short. The minimum password length is 10 characters.",
    );
    assert_eq!(
        ws.ok("user.update", json!([id, {"password": "long-enough-1"}]))
            .await["password"],
        "long-enough-1"
    );
}

#[tokio::test]
async fn seed_users_have_the_seed_password_and_no_privilege() {
    let sim = start(
        truenas_sim::SimConfig::empty()
            .seed_users(3)
            .server_version(ServerVersion::V26_0_0),
    )
    .await;
    assert!(sim.user("alice").is_none(), "empty has no demo users");
    let u = sim.user("user0003").unwrap();
    assert_eq!(u["smb"], false);
    assert_eq!(u["roles"], json!([]));
    let mut ws = connect(&sim, "/api/current").await;
    assert_eq!(
        ws.login("user0001", d::SEED_PASSWORD).await["response_type"],
        "DENIED"
    );
    assert_eq!(
        ws.login("user0001", "wrong").await["response_type"],
        "AUTH_ERR"
    );
    assert!(sim.user("user0004").is_none());
}
