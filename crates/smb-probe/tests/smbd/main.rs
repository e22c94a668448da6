//! smb-probe against a real Samba `smbd` started by testkit (skipped without smbd or root,
//! failing under `CI=true`), plus cases that need no server at all.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use secrecy::SecretString;
use smb_probe::{ProbeError, ProbeOutcome, RejectReason, Target, probe};
use testkit::smbd::{Smbd, SmbdOptions};

fn target(smbd: &Smbd) -> Target {
    Target::new("127.0.0.1")
        .with_port(smbd.port())
        .with_workgroup(smbd.workgroup())
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

#[tokio::test]
async fn right_password_is_accepted_in_every_name_form() {
    let Some(smbd) = Smbd::start_for("right_password_is_accepted", SmbdOptions::default()) else {
        return;
    };
    let user = smbd.add_user("Corr3ct horse").unwrap();
    let t = target(&smbd);
    let wg = smbd.workgroup();
    for name in [
        user.name().to_owned(),
        format!("{wg}\\{}", user.name()),
        format!("{}@{wg}", user.name()),
    ] {
        let outcome = probe(&t, &name, &secret("Corr3ct horse")).await.unwrap();
        assert_eq!(outcome, ProbeOutcome::Accepted, "{name}");
    }
    // SMB user names are case-insensitive.
    let upper = user.name().to_uppercase();
    assert_eq!(
        probe(&t, &upper, &secret("Corr3ct horse")).await.unwrap(),
        ProbeOutcome::Accepted
    );
}

#[tokio::test]
async fn wrong_password_is_rejected_and_new_password_takes_effect() {
    let Some(smbd) = Smbd::start_for("wrong_password_is_rejected", SmbdOptions::default()) else {
        return;
    };
    let user = smbd.add_user("first-pass").unwrap();
    let t = target(&smbd);
    let wrong = probe(&t, user.name(), &secret("first-pasS")).await.unwrap();
    assert_eq!(wrong, ProbeOutcome::Rejected(RejectReason::LogonFailure));
    assert_eq!(
        probe(&t, user.name(), &secret("")).await.unwrap(),
        ProbeOutcome::Rejected(RejectReason::LogonFailure)
    );
    user.set_password("second-pass").unwrap();
    assert_eq!(
        probe(&t, user.name(), &secret("second-pass"))
            .await
            .unwrap(),
        ProbeOutcome::Accepted
    );
    assert!(
        !probe(&t, user.name(), &secret("first-pass"))
            .await
            .unwrap()
            .proves_password()
    );
    // Unknown user without guest mapping.
    let unknown = probe(&t, "nosuchuser-sp", &secret("x")).await.unwrap();
    assert_eq!(unknown, ProbeOutcome::Rejected(RejectReason::LogonFailure));
}

#[tokio::test]
async fn unknown_user_with_guest_mapping_is_never_accepted() {
    let opts = SmbdOptions::default().guest_mapping(true);
    let Some(smbd) = Smbd::start_for("unknown_user_with_guest_mapping", opts) else {
        return;
    };
    let user = smbd.add_user("real-pass").unwrap();
    let t = target(&smbd);
    for name in ["nosuchuser-sp", "guest", "nobody"] {
        let outcome = probe(&t, name, &secret("whatever")).await;
        assert!(
            matches!(outcome, Ok(ProbeOutcome::Rejected(_))),
            "{name}: {outcome:?} (a guest session must be Rejected)"
        );
    }
    let guest = probe(&t, "nosuchuser-sp", &secret("whatever"))
        .await
        .unwrap();
    assert_eq!(guest, ProbeOutcome::Rejected(RejectReason::Guest));
    // Real users still work on such a server; a wrong password is not turned into guest access.
    assert_eq!(
        probe(&t, user.name(), &secret("real-pass")).await.unwrap(),
        ProbeOutcome::Accepted
    );
    assert!(matches!(
        probe(&t, user.name(), &secret("bad")).await.unwrap(),
        ProbeOutcome::Rejected(_)
    ));
}

#[tokio::test]
async fn disabled_account_is_rejected_as_disabled() {
    let Some(smbd) = Smbd::start_for("disabled_account", SmbdOptions::default()) else {
        return;
    };
    let user = smbd.add_user("pw-disabled").unwrap();
    user.disable().unwrap();
    let t = target(&smbd);
    let outcome = probe(&t, user.name(), &secret("pw-disabled"))
        .await
        .unwrap();
    assert_eq!(
        outcome,
        ProbeOutcome::Rejected(RejectReason::AccountDisabled)
    );
    user.enable().unwrap();
    assert_eq!(
        probe(&t, user.name(), &secret("pw-disabled"))
            .await
            .unwrap(),
        ProbeOutcome::Accepted
    );
}

#[tokio::test]
async fn password_must_change_is_its_own_outcome_only_for_the_right_password() {
    let Some(smbd) = Smbd::start_for("password_must_change", SmbdOptions::default()) else {
        return;
    };
    let user = smbd.add_user("old-but-right").unwrap();
    user.set_must_change().unwrap();
    let t = target(&smbd);
    let right = probe(&t, user.name(), &secret("old-but-right"))
        .await
        .unwrap();
    assert_eq!(right, ProbeOutcome::PasswordMustChange);
    assert!(right.proves_password());
    let wrong = probe(&t, user.name(), &secret("old-but-wrong"))
        .await
        .unwrap();
    assert_eq!(wrong, ProbeOutcome::Rejected(RejectReason::LogonFailure));
}

#[tokio::test]
async fn non_ascii_password() {
    let Some(smbd) = Smbd::start_for("non_ascii_password", SmbdOptions::default()) else {
        return;
    };
    let password = "Pässwörd ñ 密码 🔑";
    let user = smbd.add_user(password).unwrap();
    let t = target(&smbd);
    assert_eq!(
        probe(&t, user.name(), &secret(password)).await.unwrap(),
        ProbeOutcome::Accepted
    );
    let outcome = probe(&t, user.name(), &secret("Passwörd ñ 密码 🔑"))
        .await
        .unwrap();
    assert_eq!(outcome, ProbeOutcome::Rejected(RejectReason::LogonFailure));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_probes() {
    let Some(smbd) = Smbd::start_for("fifty_concurrent_probes", SmbdOptions::default()) else {
        return;
    };
    let user = smbd.add_user("concurrent").unwrap();
    let t = target(&smbd).with_timeout(Duration::from_secs(20));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50 {
        let (t, name) = (t.clone(), user.name().to_owned());
        tasks.spawn(async move {
            let right = i % 2 == 0;
            let pw = if right { "concurrent" } else { "not-it" };
            (right, probe(&t, &name, &secret(pw)).await)
        });
    }
    let mut n = 0;
    while let Some(joined) = tasks.join_next().await {
        let (right, outcome) = joined.unwrap();
        let outcome = outcome.unwrap();
        let expected = if right {
            ProbeOutcome::Accepted
        } else {
            ProbeOutcome::Rejected(RejectReason::LogonFailure)
        };
        assert_eq!(outcome, expected);
        n += 1;
    }
    assert_eq!(n, 50);
}

#[tokio::test]
async fn encryption_required_server() {
    let opts = SmbdOptions::default()
        .require_encryption(true)
        .guest_mapping(true);
    let Some(smbd) = Smbd::start_for("encryption_required_server", opts) else {
        return;
    };
    let user = smbd.add_user("sealed").unwrap();
    for require in [false, true] {
        let t = target(&smbd).with_required_encryption(require);
        assert_eq!(
            probe(&t, user.name(), &secret("sealed")).await.unwrap(),
            ProbeOutcome::Accepted
        );
        let wrong = probe(&t, user.name(), &secret("unsealed")).await.unwrap();
        assert_eq!(wrong, ProbeOutcome::Rejected(RejectReason::LogonFailure));
        let unknown = probe(&t, "nosuchuser-sp", &secret("x")).await;
        assert!(
            matches!(unknown, Ok(ProbeOutcome::Rejected(_))),
            "{unknown:?}"
        );
    }
}

#[tokio::test]
async fn nothing_listening_is_unavailable() {
    let port = testkit::free_port().unwrap();
    let t = Target::new("127.0.0.1")
        .with_port(port)
        .with_timeout(Duration::from_secs(2));
    let err = probe(&t, "alice", &secret("pw")).await.unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert!(matches!(err, ProbeError::Connect { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("pw\""));
}

#[tokio::test]
async fn silent_listener_times_out_within_the_bound() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts (the kernel does) and never answers.
    let bound = Duration::from_millis(600);
    let t = Target::new("127.0.0.1").with_port(port).with_timeout(bound);
    let start = Instant::now();
    let err = probe(&t, "alice", &secret("secret-pw")).await.unwrap_err();
    let took = start.elapsed();
    assert!(err.is_timeout() && err.is_unavailable(), "{err:?}");
    assert!(
        took >= bound && took < bound + Duration::from_millis(400),
        "took {took:?}"
    );
    assert!(!format!("{err} {err:?}").contains("secret-pw"));
    drop(listener);
}

#[tokio::test]
async fn a_server_that_hangs_up_is_unavailable() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    let t = Target::new("127.0.0.1")
        .with_port(port)
        .with_timeout(Duration::from_secs(2));
    let err = probe(&t, "alice", &secret("pw")).await.unwrap_err();
    assert!(err.is_unavailable() && !err.is_timeout(), "{err:?}");
}

#[tokio::test]
async fn locked_out_account_is_rejected_as_locked_out() {
    let Some(smbd) = Smbd::start_for("locked_out_account", SmbdOptions::default()) else {
        return;
    };
    smbd.set_lockout_threshold(3).unwrap();
    let user = smbd.add_user("lock-me").unwrap();
    let t = target(&smbd);
    for _ in 0..3 {
        let outcome = probe(&t, user.name(), &secret("nope")).await.unwrap();
        assert!(matches!(outcome, ProbeOutcome::Rejected(_)), "{outcome:?}");
    }
    let outcome = probe(&t, user.name(), &secret("lock-me")).await.unwrap();
    assert_eq!(outcome, ProbeOutcome::Rejected(RejectReason::LockedOut));
}
