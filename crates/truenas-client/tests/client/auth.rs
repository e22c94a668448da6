//! Every login outcome, API-key paths, the insecure-transport refusal, rate limiting.

use std::time::Duration;

use truenas_client::{AuthFailure, Client, Endpoint, Error, LoginOutcome, Protocol};
use truenas_sim::{RateLimit, ServerVersion, SimConfig, demo};

use crate::common::*;

fn totp_now() -> String {
    let bytes = totp_rs::Secret::Encoded(demo::FRANK_TOTP_SECRET.to_owned())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes)
        .generate_current()
        .unwrap()
}

#[tokio::test]
async fn password_outcomes_25_10() {
    let sim = sim(SimConfig::demo()).await;
    let c = connect(&sim, opts()).await;
    let o = c
        .login_password(demo::ADMIN_USER, secret(demo::ADMIN_PASSWORD))
        .await
        .unwrap();
    match o {
        LoginOutcome::Success { user_info } => {
            let ui = user_info.expect("user_info requested");
            assert_eq!(ui.pw_name, demo::ADMIN_USER);
            let roles = ui.privilege.unwrap().roles;
            assert!(roles.contains(&"FULL_ADMIN".to_string()));
        }
        other => panic!("{other:?}"),
    }
    type Case = (&'static str, &'static str, fn(&LoginOutcome) -> bool);
    let cases: &[Case] = &[
        ("alice", demo::ALICE_PASSWORD, |o| {
            matches!(o, LoginOutcome::AuthErr)
        }), // no privilege on 25.x
        ("alice", "wrong", |o| matches!(o, LoginOutcome::AuthErr)),
        ("carol", demo::CAROL_PASSWORD, |o| {
            matches!(o, LoginOutcome::AuthErr)
        }), // locked
        ("dave", demo::DAVE_PASSWORD, |o| {
            matches!(o, LoginOutcome::AuthErr)
        }), // password disabled
        ("erin", demo::ERIN_PASSWORD, |o| {
            matches!(o, LoginOutcome::Expired)
        }),
        (
            "frank",
            demo::FRANK_PASSWORD,
            |o| matches!(o, LoginOutcome::OtpRequired { username } if username == "frank"),
        ),
        ("grace", demo::GRACE_PASSWORD, |o| o.is_success()),
    ];
    for (user, pass, check) in cases {
        let c = connect(&sim, opts()).await;
        let o = c.login_password(user, secret(pass)).await.unwrap();
        assert!(check(&o), "{user}: {o:?}");
    }
}

#[tokio::test]
async fn denied_on_26() {
    let sim = sim(SimConfig::demo().server_version(ServerVersion::V26_0_0)).await;
    let c = connect(&sim, opts()).await;
    let o = c
        .login_password("alice", secret(demo::ALICE_PASSWORD))
        .await
        .unwrap();
    assert!(matches!(o, LoginOutcome::Denied), "{o:?}");
}

#[tokio::test]
async fn otp_flow() {
    let sim = sim(SimConfig::demo()).await;
    let c = connect(&sim, opts()).await;
    let o = c
        .login_password("frank", secret(demo::FRANK_PASSWORD))
        .await
        .unwrap();
    assert!(matches!(o, LoginOutcome::OtpRequired { .. }));
    let o = c.login_otp("000000").await.unwrap();
    assert!(matches!(o, LoginOutcome::OtpRequired { .. }), "{o:?}");
    let o = c.login_otp(&totp_now()).await.unwrap();
    assert!(o.is_success(), "{o:?}");
    assert_eq!(c.me().await.unwrap().pw_name, "frank");
}

#[tokio::test]
async fn otp_without_challenge_is_a_call_error() {
    let sim = sim(SimConfig::demo()).await;
    let c = connect(&sim, opts()).await;
    let e = c.login_otp("123456").await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Call {
                errno: Some(22),
                ..
            }
        ),
        "{e:?}"
    );
}

#[tokio::test]
async fn api_key_paths() {
    let sim = sim(SimConfig::demo()).await;
    // login_ex with username
    let c = connect(&sim, opts()).await;
    c.login_api_key(service_key(), Some(demo::SERVICE_USER))
        .await
        .unwrap();
    assert_eq!(c.me().await.unwrap().pw_name, demo::SERVICE_USER);
    // no username: auth.login_with_api_key
    let c = connect(&sim, opts()).await;
    c.login_api_key(service_key(), None).await.unwrap();
    assert_eq!(c.me().await.unwrap().pw_name, demo::SERVICE_USER);
    // legacy: the legacy call even with a username
    let c = connect(&sim, opts().protocol(Protocol::Legacy)).await;
    c.login_api_key(service_key(), Some(demo::SERVICE_USER))
        .await
        .unwrap();
    assert_eq!(c.me().await.unwrap().pw_name, demo::SERVICE_USER);
    // wrong key
    let c = connect(&sim, opts()).await;
    let e = c
        .login_api_key(secret("1-wrong"), Some(demo::SERVICE_USER))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Auth {
                failure: AuthFailure::AuthErr
            }
        ),
        "{e:?}"
    );
    assert!(e.is_auth());
    assert!(e.hint().contains("wrong"));
    let e = c.login_api_key(secret("1-wrong"), None).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::Auth {
                failure: AuthFailure::Rejected
            }
        ),
        "{e:?}"
    );
    // The secret never shows in errors or Debug output.
    assert!(!format!("{e:?} {e}").contains("wrong"));
    assert!(!format!("{c:?}").contains("selfpass-demo-service-key"));
}

#[tokio::test]
async fn api_key_over_insecure_transport_expires_server_side() {
    // The simulator treats loopback as remote: the key is sent (loopback) and revoked by the server.
    let sim = sim(SimConfig::demo().treat_as_remote(true)).await;
    let c = connect(&sim, opts()).await;
    let e = c
        .login_api_key(service_key(), Some(demo::SERVICE_USER))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Auth {
                failure: AuthFailure::Expired
            }
        ),
        "{e:?}"
    );
    assert!(e.hint().contains("revoked"));
}

fn non_loopback_ip() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

#[tokio::test]
async fn refuses_secrets_over_plain_ws_to_remote_host() {
    let Some(ip) = non_loopback_ip() else {
        eprintln!("no non-loopback address: skipped");
        return;
    };
    let sim = sim(SimConfig::demo().listen((ip, 0).into())).await;
    let ep: Endpoint = sim.url("").parse().unwrap();
    assert!(!ep.is_loopback());
    let c = Client::connect(ep, opts()).await.unwrap();
    let e = c
        .login_api_key(service_key(), Some(demo::SERVICE_USER))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::InsecureTransport { .. }), "{e:?}");
    assert!(e.hint().contains("wss://"));
    let e = c
        .login_password("alice", secret(demo::ALICE_PASSWORD))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        Error::InsecureTransport {
            what: "a password",
            ..
        }
    ));
    // Nothing was sent: the key still works over loopback.
    assert!(sim.user(demo::SERVICE_USER).is_some());
}

#[tokio::test]
async fn rate_limited_is_its_own_kind() {
    let limit = RateLimit {
        max_calls: 2,
        window: Duration::from_secs(60),
        sleep: (Duration::ZERO, Duration::ZERO),
    };
    let sim = sim(SimConfig::demo().rate_limit(Some(limit))).await;
    let c = connect(&sim, opts()).await;
    for _ in 0..2 {
        let o = c.login_password("alice", secret("wrong")).await.unwrap();
        assert!(matches!(o, LoginOutcome::AuthErr));
    }
    let e = c
        .login_password("alice", secret("wrong"))
        .await
        .unwrap_err();
    assert!(e.is_rate_limited(), "{e:?}");
    assert!(e.is_retryable());
    assert!(e.hint().contains("wait a minute"));
    assert!(e.to_string().contains("auth.login_ex"));
}

#[tokio::test]
async fn no_keepalive_pings_before_login() {
    let limit = RateLimit {
        max_calls: 2,
        window: Duration::from_secs(60),
        sleep: (Duration::ZERO, Duration::ZERO),
    };
    let sim = sim(SimConfig::demo().rate_limit(Some(limit))).await;
    let c = connect(&sim, opts().keepalive(Some(Duration::from_millis(10)))).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    // Had the client pinged while unauthenticated, the budget of 2 would be spent by now.
    assert_eq!(c.ping().await.unwrap(), "pong");
    assert_eq!(c.ping().await.unwrap(), "pong");
    assert!(c.ping().await.unwrap_err().is_rate_limited());
    // Authenticated: keep-alive pings run and do not count against the limit.
    c.login_api_key(service_key(), Some(demo::SERVICE_USER))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(c.ping().await.unwrap(), "pong");
    assert!(c.is_connected());
}
