//! §2 authentication outcomes, 2FA, API keys, tokens, one-time passwords, roles.

use serde_json::{Value, json};
use truenas_sim::{ServerVersion, SimConfig, demo as d};

use crate::common::*;

async fn outcome(sim: &truenas_sim::Simulator, user: &str, password: &str) -> String {
    let mut ws = connect(sim, "/api/current").await;
    ws.login(user, password).await["response_type"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The PAM-like table: (user, right-password outcome on 25.10.1, on 26.0.0).
const TABLE: &[(&str, &str, &str, &str)] = &[
    ("alice", d::ALICE_PASSWORD, "AUTH_ERR", "DENIED"),
    ("bob", d::BOB_PASSWORD, "AUTH_ERR", "DENIED"),
    ("carol", d::CAROL_PASSWORD, "AUTH_ERR", "AUTH_ERR"),
    ("dave", d::DAVE_PASSWORD, "AUTH_ERR", "AUTH_ERR"),
    ("erin", d::ERIN_PASSWORD, "EXPIRED", "EXPIRED"),
    ("frank", d::FRANK_PASSWORD, "OTP_REQUIRED", "OTP_REQUIRED"),
    ("grace", d::GRACE_PASSWORD, "SUCCESS", "SUCCESS"),
    (d::ADMIN_USER, d::ADMIN_PASSWORD, "SUCCESS", "SUCCESS"),
    ("nobody", "whatever", "AUTH_ERR", "AUTH_ERR"),
    ("root", "whatever", "AUTH_ERR", "AUTH_ERR"),
];

async fn check_table(version: ServerVersion) {
    let sim = start(demo().server_version(version)).await;
    for (user, pw, v25, v26) in TABLE {
        let want = if version == ServerVersion::V25_10_1 {
            v25
        } else {
            v26
        };
        assert_eq!(
            outcome(&sim, user, pw).await,
            *want,
            "{user} with the right password on {version}"
        );
        // A wrong password reveals nothing, for every account.
        assert_eq!(
            outcome(&sim, user, "wrong-password").await,
            "AUTH_ERR",
            "{user} with a wrong password"
        );
    }
}

#[tokio::test]
async fn login_outcomes_25() {
    check_table(ServerVersion::V25_10_1).await;
}

#[tokio::test]
async fn login_outcomes_26() {
    check_table(ServerVersion::V26_0_0).await;
}

#[tokio::test]
async fn success_shape_and_me() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let r = ws.login("grace", d::GRACE_PASSWORD).await;
    assert_eq!(r["authenticator"], "LEVEL_1");
    let info = &r["user_info"];
    assert_eq!(info["pw_name"], "grace");
    assert_eq!(info["privilege"]["roles"], json!({"$set": []}));
    assert_eq!(info["privilege"]["webui_access"], false);
    assert_eq!(info["account_attributes"], json!(["LOCAL"]));
    for k in [
        "pw_gecos",
        "pw_dir",
        "pw_shell",
        "pw_uid",
        "pw_gid",
        "grouplist",
        "sid",
        "source",
        "local",
        "attributes",
        "two_factor_config",
    ] {
        assert!(info.get(k).is_some(), "user_info lacks {k}");
    }
    assert_eq!(ws.ok("auth.me", json!([])).await["pw_name"], "grace");
    let r = ws.ok("auth.login_ex", json!([{"mechanism": "PASSWORD_PLAIN", "username": "grace", "password": d::GRACE_PASSWORD, "login_options": {"user_info": false}}])).await;
    assert_eq!(r["user_info"], Value::Null);
    assert_eq!(ws.ok("auth.logout", json!([])).await, true);
    let e = ws.err("auth.me", json!([])).await;
    assert_eq!(e["data"]["error"], 207);
}

#[tokio::test]
async fn auth_login_is_boolean() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    assert_eq!(
        ws.ok("auth.login", json!(["erin", d::ERIN_PASSWORD])).await,
        false
    );
    assert_eq!(ws.ok("auth.login", json!(["grace", "nope"])).await, false);
    assert_eq!(
        ws.ok("auth.login", json!(["grace", d::GRACE_PASSWORD]))
            .await,
        true
    );
}

#[tokio::test]
async fn two_factor_continue() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let r = ws.login("frank", d::FRANK_PASSWORD).await;
    assert_eq!(
        r,
        json!({"response_type": "OTP_REQUIRED", "username": "frank"})
    );
    let e = ws
        .err(
            "user.set_password",
            json!([{"username": "frank", "new_password": "x"}]),
        )
        .await;
    assert_eq!(e["data"]["error"], 207, "no session before the OTP");
    let r = ws
        .ok(
            "auth.login_ex_continue",
            json!([{"mechanism": "OTP_TOKEN", "otp_token": totp(d::FRANK_TOTP_SECRET)}]),
        )
        .await;
    assert_eq!(r["response_type"], "SUCCESS");
    assert!(
        r["user_info"]["account_attributes"]
            .as_array()
            .unwrap()
            .contains(&json!("2FA"))
    );
}

#[tokio::test]
async fn two_factor_three_bad_codes() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.login("frank", d::FRANK_PASSWORD).await;
    let cont = json!([{"mechanism": "OTP_TOKEN", "otp_token": "000000"}]);
    let good = totp(d::FRANK_TOTP_SECRET);
    let bad = if good == "000000" {
        json!([{"mechanism": "OTP_TOKEN", "otp_token": "111111"}])
    } else {
        cont
    };
    assert_eq!(
        ws.ok("auth.login_ex_continue", bad.clone()).await["response_type"],
        "OTP_REQUIRED"
    );
    assert_eq!(
        ws.ok("auth.login_ex_continue", bad.clone()).await["response_type"],
        "OTP_REQUIRED"
    );
    assert_eq!(
        ws.ok("auth.login_ex_continue", bad.clone()).await["response_type"],
        "AUTH_ERR"
    );
    let e = ws
        .err(
            "auth.login_ex_continue",
            json!([{"mechanism": "OTP_TOKEN", "otp_token": good}]),
        )
        .await;
    assert_error_data(
        &e,
        -32001,
        22,
        "EINVAL",
        "[EINVAL] OTP_TOKEN: no authentication in progress",
    );
}

#[tokio::test]
async fn otp_token_without_challenge() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let e = ws
        .err(
            "auth.login_ex",
            json!([{"mechanism": "OTP_TOKEN", "otp_token": "123456"}]),
        )
        .await;
    assert_error_data(
        &e,
        -32001,
        22,
        "EINVAL",
        "[EINVAL] OTP_TOKEN: no authentication in progress",
    );
}

#[tokio::test]
async fn login_ex_params_are_strict() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let e = ws
        .err(
            "auth.login_ex",
            json!([{"mechanism": "PASSWORD_PLAIN", "username": "a", "password": "b", "bogus": 1}]),
        )
        .await;
    assert_eq!(e["code"], -32602);
    let e = ws
        .err(
            "auth.login_ex",
            json!([{"mechanism": "PASSWORD_PLAIN", "username": "a", "password": 5}]),
        )
        .await;
    assert_eq!(e["code"], -32602);
}

#[tokio::test]
async fn api_key_on_loopback() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let r = ws.login_key(d::SERVICE_API_KEY).await;
    assert_eq!(r["response_type"], "SUCCESS");
    assert!(
        r["user_info"]["account_attributes"]
            .as_array()
            .unwrap()
            .contains(&json!("API_KEY"))
    );
    let mut ws = connect(&sim, "/api/current").await;
    assert_eq!(
        ws.ok("auth.login_with_api_key", json!([d::SERVICE_API_KEY]))
            .await,
        true
    );
    let mut ws = connect(&sim, "/api/current").await;
    assert_eq!(ws.login_key("1-wrong").await["response_type"], "AUTH_ERR");
    let mut ws = connect(&sim, "/api/current").await;
    let r = ws.ok("auth.login_ex", json!([{"mechanism": "API_KEY_PLAIN", "username": "alice", "api_key": d::SERVICE_API_KEY}])).await;
    assert_eq!(r["response_type"], "AUTH_ERR", "key bound to its owner");
}

#[tokio::test]
async fn api_key_over_insecure_transport_is_revoked() {
    let sim = start(demo().treat_as_remote(true)).await;
    let mut ws = connect(&sim, "/api/current").await;
    assert_eq!(
        ws.login_key(d::SERVICE_API_KEY).await["response_type"],
        "EXPIRED"
    );
    // Revoked for good: EXPIRED again.
    let mut ws = connect(&sim, "/api/current").await;
    assert_eq!(
        ws.login_key(d::SERVICE_API_KEY).await["response_type"],
        "EXPIRED"
    );
    // Passwords still work from a remote peer.
    assert_eq!(outcome(&sim, "grace", d::GRACE_PASSWORD).await, "SUCCESS");
}

#[tokio::test]
async fn tokens() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.login(d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    let token = ws
        .ok("auth.generate_token", json!([600, {}, true, true]))
        .await;
    let token = token.as_str().unwrap().to_owned();
    let mut ws2 = connect(&sim, "/api/current").await;
    let r = ws2
        .ok(
            "auth.login_ex",
            json!([{"mechanism": "TOKEN_PLAIN", "token": token}]),
        )
        .await;
    assert_eq!(r["response_type"], "SUCCESS");
    assert_eq!(ws2.ok("auth.me", json!([])).await["pw_name"], d::ADMIN_USER);
    let mut ws3 = connect(&sim, "/api/current").await;
    assert_eq!(
        ws3.ok("auth.login_with_token", json!([token])).await,
        false,
        "single use"
    );
}

#[tokio::test]
async fn onetime_password_recovers_expired_account() {
    let sim = start(demo()).await;
    let mut admin = connect(&sim, "/api/current").await;
    admin.login(d::ADMIN_USER, d::ADMIN_PASSWORD).await;
    let otpw = admin
        .ok(
            "auth.generate_onetime_password",
            json!([{"username": "erin"}]),
        )
        .await;
    let otpw = otpw.as_str().unwrap().to_owned();
    let (n, rest) = otpw.split_once('_').unwrap();
    assert!(n.parse::<u32>().is_ok());
    assert_eq!(
        rest.split('-').map(str::len).collect::<Vec<_>>(),
        [6, 6, 6, 6]
    );
    let mut ws = connect(&sim, "/api/current").await;
    let r = ws.login("erin", &otpw).await;
    assert_eq!(r["response_type"], "SUCCESS");
    let attrs = r["user_info"]["account_attributes"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        attrs.contains(&json!("OTPW")) && attrs.contains(&json!("PASSWORD_CHANGE_REQUIRED")),
        "{attrs:?}"
    );
    assert_eq!(
        ws.ok(
            "user.set_password",
            json!([{"username": "erin", "new_password": "Erin-new-pass-1"}])
        )
        .await,
        Value::Null
    );
    assert_eq!(outcome(&sim, "erin", &otpw).await, "AUTH_ERR", "single use");
    assert_eq!(outcome(&sim, "erin", "Erin-new-pass-1").await, "SUCCESS");
}

#[tokio::test]
async fn roles_are_enforced() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    ws.login("grace", d::GRACE_PASSWORD).await;
    for m in [
        "user.query",
        "system.info",
        "system.security.config",
        "user.get_instance",
    ] {
        let e = ws.err(m, json!([])).await;
        assert_error_data(&e, -32001, 13, "EACCES", "[EACCES] Not authorized");
    }
    // authenticated-only methods work for an empty-role privilege
    assert_eq!(ws.ok("system.version_short", json!([])).await, "25.10.1");
    let mut svc = connect(&sim, "/api/current").await;
    svc.login_key(d::SERVICE_API_KEY).await;
    let e = svc.err("system.info", json!([])).await;
    assert_eq!(e["data"]["errname"], "EACCES");
    assert!(svc.ok("user.query", json!([])).await.is_array());
    assert!(
        svc.ok(
            "auth.generate_onetime_password",
            json!([{"username": "alice"}])
        )
        .await
        .is_string()
    );
    let _ = SimConfig::empty();
}

#[tokio::test]
async fn mechanism_choices() {
    let sim = start(demo()).await;
    let mut ws = connect(&sim, "/api/current").await;
    let e = ws.err("auth.mechanism_choices", json!([])).await;
    assert_eq!(e["code"], -32001);
    ws.login("grace", d::GRACE_PASSWORD).await;
    assert_eq!(
        ws.ok("auth.mechanism_choices", json!([])).await,
        json!(["API_KEY_PLAIN", "TOKEN_PLAIN", "PASSWORD_PLAIN"])
    );
}

#[tokio::test]
async fn nginx_headers_decide_origin_and_transport() {
    use tokio::io::AsyncWriteExt;
    let sim = start(demo()).await;
    let upgrade = |extra: &str| {
        format!(
            "GET /api/current HTTP/1.1\r\nHost: nas\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
        )
    };
    async fn raw(sim: &truenas_sim::Simulator, req: String) -> Ws {
        let mut tcp = tokio::net::TcpStream::connect(sim.local_addr())
            .await
            .unwrap();
        tcp.write_all(req.as_bytes()).await.unwrap();
        // Read the 101 head byte by byte so no frame bytes are swallowed.
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let mut b = [0u8; 1];
            tokio::io::AsyncReadExt::read_exact(&mut tcp, &mut b)
                .await
                .unwrap();
            head.push(b[0]);
        }
        assert!(head.starts_with(b"HTTP/1.1 101"));
        let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            tcp,
            tokio_tungstenite::tungstenite::protocol::Role::Client,
            None,
        )
        .await;
        Ws { ws, next_id: 0 }
    }
    // A remote client over https through nginx: the key is fine.
    let mut ws = raw(
        &sim,
        upgrade("X-Real-Remote-Addr: 203.0.113.7\r\nX-Real-Remote-Port: 5555\r\nX-Https: on\r\n"),
    )
    .await;
    assert_eq!(
        ws.login_key(d::SERVICE_API_KEY).await["response_type"],
        "SUCCESS"
    );
    // The same over plain http: revoked.
    let mut ws = raw(
        &sim,
        upgrade("X-Real-Remote-Addr: 203.0.113.7\r\nX-Https: \r\n"),
    )
    .await;
    assert_eq!(
        ws.login_key(d::SERVICE_API_KEY).await["response_type"],
        "EXPIRED"
    );
}
