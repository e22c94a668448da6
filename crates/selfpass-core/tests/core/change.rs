use crate::support::*;
use selfpass_core::{Kind, NewPassword, ResetOptions};
use truenas_sim::SimConfig;

const NEW: &str = "plover-quarry-mitten-absorb";

#[tokio::test]
async fn alice_changes_her_password_with_the_service_key() {
    let s = demo().await;
    let session = session(&s.core, "alice", "alice-demo-pass").await;
    let changed = s
        .core
        .change_own_password(
            &session,
            secret("alice-demo-pass"),
            secret(NEW),
            None,
            client(),
        )
        .await
        .unwrap();
    assert_eq!(changed.username, "alice");
    assert!(sim_password_is(&s.demo, "alice", NEW));
    assert_eq!(
        key_of(&sign_in(&s.core, "alice", "alice-demo-pass").await),
        "wrong-credentials"
    );
    session_ok(&s, "alice", NEW).await;
    // The old portal session is over.
    assert!(!s.core.session_is_current(&session).await);
}

async fn session_ok(s: &Setup, user: &str, password: &str) {
    assert_eq!(session(&s.core, user, password).await.username, user);
}

#[tokio::test]
async fn the_current_password_is_proven_again() {
    let s = demo().await;
    let session = session(&s.core, "bob", "bob-demo-pass").await;
    let err = s
        .core
        .change_own_password(&session, secret("not-bobs"), secret(NEW), None, client())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), Kind::WrongCredentials);
    assert!(
        sim_password_is(&s.demo, "bob", "bob-demo-pass"),
        "nothing changed"
    );
}

#[tokio::test]
async fn every_unmet_rule_is_listed_at_once() {
    let s = demo().await;
    let session = session(&s.core, "alice", "alice-demo-pass").await;
    let err = s
        .core
        .change_own_password(
            &session,
            secret("alice-demo-pass"),
            secret("alice1"),
            None,
            client(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), Kind::PasswordRules);
    let keys: Vec<&str> = err.violations().iter().map(|v| v.key.as_str()).collect();
    assert!(keys.contains(&"too-short"), "{keys:?}");
    assert!(keys.contains(&"contains-personal-info"), "{keys:?}");
    assert!(sim_password_is(&s.demo, "alice", "alice-demo-pass"));
}

#[tokio::test]
async fn expired_user_changes_through_the_service_key() {
    let s = demo().await;
    let session = session(&s.core, "erin", "erin-demo-pass").await;
    s.core
        .change_own_password(
            &session,
            secret("erin-demo-pass"),
            secret(NEW),
            None,
            client(),
        )
        .await
        .unwrap();
    assert!(sim_password_is(&s.demo, "erin", NEW));
}

#[tokio::test]
async fn user_session_change_goes_through_set_password_as_the_user() {
    let s = setup(SimConfig::demo(), &[("SELFPASS_MODE", "user_session")]).await;
    let session = session(&s.core, "grace", "grace-demo-pass").await;
    s.core
        .change_own_password(
            &session,
            secret("grace-demo-pass"),
            secret(NEW),
            None,
            client(),
        )
        .await
        .unwrap();
    assert!(sim_password_is(&s.demo, "grace", NEW));
}

#[tokio::test]
async fn two_factor_change_needs_a_code() {
    let s = demo().await;
    let pending = match sign_in(&s.core, "frank", "frank-demo-pass").await {
        Ok(selfpass_core::SignIn::SecondFactor(p)) => p,
        other => panic!("{other:?}"),
    };
    let session = s
        .core
        .second_factor(&pending, &frank_code(), client())
        .await
        .unwrap();
    let without = s
        .core
        .change_own_password(
            &session,
            secret("frank-demo-pass"),
            secret(NEW),
            None,
            client(),
        )
        .await
        .unwrap_err();
    assert_eq!(without.kind(), Kind::SecondFactorRequired);
    assert!(sim_password_is(&s.demo, "frank", "frank-demo-pass"));
    s.core
        .change_own_password(
            &session,
            secret("frank-demo-pass"),
            secret(NEW),
            Some(frank_code()),
            client(),
        )
        .await
        .unwrap();
    assert!(sim_password_is(&s.demo, "frank", NEW));
}

#[tokio::test]
async fn admin_reset_given_generated_and_dry_run() {
    let s = demo().await;
    let dry = s
        .core
        .admin_reset(
            "bob",
            NewPassword::Given(secret(NEW)),
            ResetOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(dry.dry_run);
    assert!(
        sim_password_is(&s.demo, "bob", "bob-demo-pass"),
        "dry run changes nothing"
    );

    s.core
        .admin_reset(
            "bob",
            NewPassword::Given(secret(NEW)),
            ResetOptions::default(),
        )
        .await
        .unwrap();
    assert!(sim_password_is(&s.demo, "bob", NEW));

    let generated = s
        .core
        .admin_reset(
            "alice",
            NewPassword::Generated { length: 24 },
            ResetOptions::default(),
        )
        .await
        .unwrap();
    let password = generated.generated.unwrap();
    use selfpass_core::ExposeSecret;
    assert!(sim_password_is(&s.demo, "alice", password.expose_secret()));

    let weak = s
        .core
        .admin_reset(
            "bob",
            NewPassword::Given(secret("bob")),
            ResetOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(weak.kind(), Kind::PasswordRules);
    let protected = s
        .core
        .admin_reset(
            "truenas_admin",
            NewPassword::Given(secret(NEW)),
            ResetOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(protected.kind(), Kind::NotAllowed);
    let missing = s
        .core
        .admin_reset(
            "nobody",
            NewPassword::Given(secret(NEW)),
            ResetOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), Kind::UserNotFound);
}

#[tokio::test]
async fn lock_unlock_and_list() {
    let s = demo().await;
    s.core.lock("bob").await.unwrap();
    assert_eq!(
        key_of(&sign_in(&s.core, "bob", "bob-demo-pass").await),
        Kind::AccountLocked.key()
    );
    s.core.unlock("bob").await.unwrap();
    session(&s.core, "bob", "bob-demo-pass").await;
    let users = s.core.list_users(Some("ali")).await.unwrap();
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["alice"]
    );
}

#[tokio::test]
async fn the_cli_scope_works_with_a_short_api_key() {
    // No SECRET_KEY (CLI): the audit key is derived from the API key, whatever its length.
    let s = demo().await;
    let mut config = s.demo.config.clone();
    config.portal.secret_key = None;
    let core = selfpass_core::Core::connect(config).await.unwrap();
    assert_eq!(core.list_users(Some("bob")).await.unwrap().len(), 1);
    assert_eq!(
        key_of(&sign_in(&core, "nobody-at-all", "x").await),
        "wrong-credentials"
    );
}
