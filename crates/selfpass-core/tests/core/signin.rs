use crate::support::*;
use selfpass_core::{Kind, SignIn};
use truenas_sim::{ServerVersion, SimConfig};

#[tokio::test]
async fn ordinary_users_sign_in_with_their_password_only() {
    let s = demo().await;
    for (user, password) in [
        ("alice", "alice-demo-pass"),
        ("bob", "bob-demo-pass"),
        ("grace", "grace-demo-pass"),
    ] {
        let session = session(&s.core, user, password).await;
        assert_eq!(session.username, user);
        assert!(!session.two_factor);
        let wrong = sign_in(&s.core, user, "not-the-password").await;
        assert_eq!(key_of(&wrong), "wrong-credentials", "{user}");
    }
}

#[tokio::test]
async fn unknown_wrong_protected_look_identical() {
    let s = demo().await;
    let mut answers = Vec::new();
    for (name, password) in [
        ("nobody-here", "whatever-pass"),
        ("alice", "wrong-pass"),
        ("truenas_admin", "admin-demo-pass"), // right password, protected
        ("root", "anything"),
        ("passwd-service", "anything"),
    ] {
        let result = sign_in(&s.core, name, password).await;
        let failure = result
            .as_ref()
            .err()
            .cloned()
            .unwrap_or_else(|| panic!("{name} must fail"));
        answers.push((
            failure.key(),
            failure.message(),
            failure.hint(),
            failure.detail().map(str::to_owned),
        ));
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    assert_eq!(answers[0].0, "wrong-credentials");
}

#[tokio::test]
async fn locked_and_disabled_are_said_only_after_proof() {
    let s = demo().await;
    let right = sign_in(&s.core, "carol", "carol-demo-pass").await;
    assert_eq!(key_of(&right), Kind::AccountLocked.key());
    let wrong = sign_in(&s.core, "carol", "wrong-pass").await;
    assert_eq!(key_of(&wrong), "wrong-credentials");
    // dave cannot sign in with a password at all; a wrong one reads like any wrong password.
    assert_ne!(
        key_of(&sign_in(&s.core, "dave", "dave-demo-pass").await),
        "done"
    );
    assert_eq!(
        key_of(&sign_in(&s.core, "dave", "wrong-pass").await),
        "wrong-credentials"
    );
}

#[tokio::test]
async fn expired_password_signs_in_to_change_it() {
    let s = demo().await;
    let session = session(&s.core, "erin", "erin-demo-pass").await;
    assert!(session.must_change, "erin's password is expired");
    assert_eq!(
        key_of(&sign_in(&s.core, "erin", "wrong-pass").await),
        "wrong-credentials"
    );
}

#[tokio::test]
async fn two_factor_user_needs_the_code_on_the_same_connection() {
    let s = demo().await;
    // A wrong password never reaches the code step.
    assert_eq!(
        key_of(&sign_in(&s.core, "frank", "wrong-pass").await),
        "wrong-credentials"
    );
    let Ok(SignIn::SecondFactor(pending)) = sign_in(&s.core, "frank", "frank-demo-pass").await
    else {
        panic!("frank must be asked for a code");
    };
    let wrong = s.core.second_factor(&pending, "000000", client()).await;
    assert_eq!(wrong.unwrap_err().kind(), Kind::SecondFactorWrong);
    let session = s
        .core
        .second_factor(&pending, &frank_code(), client())
        .await
        .unwrap();
    assert_eq!(session.username, "frank");
    assert!(session.two_factor);
    // The pending step is used up.
    assert!(
        s.core
            .second_factor(&pending, &frank_code(), client())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn two_factor_user_is_never_let_through_by_the_hash_alone() {
    // Service mode keeps the login verifier out of the chain for everybody else; frank still
    // goes through it, and only it.
    let s = setup(
        SimConfig::demo(),
        &[("SELFPASS_MODE", "service"), ("SELFPASS_VERIFIERS", "hash")],
    )
    .await;
    let result = sign_in(&s.core, "frank", "frank-demo-pass").await;
    assert_eq!(key_of(&result), "second-factor", "{result:?}");
}

#[tokio::test]
async fn name_variants_resolve_to_the_one_user() {
    let s = demo().await;
    for typed in ["ALICE", "WORKGROUP\\alice", "alice@WORKGROUP", "  alice  "] {
        let session = session(&s.core, typed, "alice-demo-pass").await;
        assert_eq!(session.username, "alice", "{typed}");
    }
}

#[tokio::test]
async fn server_26_proves_users_without_privilege_by_logging_in() {
    let s = setup(
        SimConfig::demo().server_version(ServerVersion::V26_0_0),
        &[("SELFPASS_VERIFIERS", "login")],
    )
    .await;
    // On 26.x alice gets DENIED (right password, no API access): that is proof.
    assert_eq!(
        session(&s.core, "alice", "alice-demo-pass").await.username,
        "alice"
    );
    assert_eq!(
        key_of(&sign_in(&s.core, "alice", "wrong-pass").await),
        "wrong-credentials"
    );
}

#[tokio::test]
async fn server_25_login_verifier_is_left_out_in_auto_mode() {
    // With only the login verifier configured, 25.x cannot prove alice (AUTH_ERR either way):
    // auto mode leaves it out, so nothing can decide.
    let s = setup(SimConfig::demo(), &[("SELFPASS_VERIFIERS", "login")]).await;
    let result = sign_in(&s.core, "alice", "alice-demo-pass").await;
    assert_eq!(key_of(&result), Kind::ServerBusy.key(), "{result:?}");
}

#[tokio::test]
async fn user_session_mode_logs_in_as_the_user() {
    let s = setup(
        SimConfig::demo(),
        &[
            ("SELFPASS_MODE", "user_session"),
            ("SELFPASS_VERIFIERS", "login"),
        ],
    )
    .await;
    assert_eq!(
        session(&s.core, "grace", "grace-demo-pass").await.username,
        "grace"
    );
    assert_eq!(
        key_of(&sign_in(&s.core, "grace", "wrong-pass").await),
        "wrong-credentials"
    );
}

#[tokio::test]
async fn spent_login_budget_falls_through_to_the_hash() {
    let s = setup(
        SimConfig::demo(),
        &[
            ("SELFPASS_MODE", "user_session"),
            ("SELFPASS_LOGIN_BUDGET", "0/60"),
        ],
    )
    .await;
    let report = s
        .core
        .check("grace", secret("grace-demo-pass"))
        .await
        .unwrap();
    assert!(report.accepted);
    assert_eq!(report.decided_by.as_deref(), Some("crypt_hash"));
    assert!(
        report.steps[0].1.contains("Unavailable"),
        "{:?}",
        report.steps
    );
}

#[tokio::test]
async fn server_rate_limit_is_reported_as_busy() {
    // Two auth.login_ex per minute from this address: the service key's, then grace's.
    let limit = truenas_sim::RateLimit {
        max_calls: 2,
        window: std::time::Duration::from_secs(60),
        sleep: (std::time::Duration::ZERO, std::time::Duration::ZERO),
    };
    let s = setup(
        SimConfig::demo().rate_limit(Some(limit)),
        &[
            ("SELFPASS_MODE", "user_session"),
            ("SELFPASS_VERIFIERS", "login"),
        ],
    )
    .await;
    assert_eq!(
        session(&s.core, "grace", "grace-demo-pass").await.username,
        "grace"
    );
    let second = sign_in(&s.core, "grace", "grace-demo-pass").await;
    assert_eq!(key_of(&second), Kind::ServerBusy.key(), "{second:?}");
    assert!(second.unwrap_err().retry_after().is_some());
}
