//! Real servers from testkit: Samba's smbd for the SMB verifier, redis-server for shared bans.
//! Without them a plain `cargo test` prints SKIPPED; under CI=true their absence fails.

use crate::support::*;
use selfpass_core::{ExposeSecret, SecretString};
use std::sync::Arc;
use testkit::smbd::{Smbd, SmbdOptions};
use truenas_sim::{NewUser, SimConfig};

#[tokio::test]
async fn smb_verifier_proves_and_follows_password_changes() {
    let Some(smbd) = Smbd::start_for(
        "smb_verifier_proves_and_follows_password_changes",
        SmbdOptions::default(),
    ) else {
        return;
    };
    let first = "smb-first-pass-44";
    let smb_user = Arc::new(smbd.add_user(first).unwrap());
    let name = smb_user.name().to_owned();
    let mut user = NewUser::new(&name, first);
    user.smb = true;
    let port = smbd.port().to_string();
    let s = setup(
        SimConfig::demo().user(user),
        &[
            ("SELFPASS_SMB_ENABLED", "true"),
            ("SELFPASS_SMB_HOST", "127.0.0.1"),
            ("SELFPASS_SMB_PORT", &port),
            ("SELFPASS_SMB_WORKGROUP", smbd.workgroup()),
        ],
    )
    .await;
    // Keep smbd's password in step with the simulator's, as TrueNAS keeps its passdb.
    let hook_user = smb_user.clone();
    s.demo
        .simulator()
        .on_password_change(move |_name, password: &SecretString| {
            hook_user.set_password(password.expose_secret()).unwrap();
        });

    let report = s.core.check(&name, secret(first)).await.unwrap();
    assert!(report.accepted);
    assert_eq!(
        report.decided_by.as_deref(),
        Some("smb_probe"),
        "{:?}",
        report.steps
    );
    let wrong = s.core.check(&name, secret("wrong-pass")).await.unwrap();
    assert!(!wrong.accepted);

    let session = session(&s.core, &name, first).await;
    let new = "quartz-lantern-vivid-oboe";
    s.core
        .change_own_password(&session, secret(first), secret(new), None, client())
        .await
        .unwrap();
    let report = s.core.check(&name, secret(new)).await.unwrap();
    assert_eq!(
        report.decided_by.as_deref(),
        Some("smb_probe"),
        "{:?}",
        report.steps
    );

    // "Must change at next logon" still proves the password; a wrong one is still wrong.
    smb_user.set_must_change().unwrap();
    let must = s.core.check(&name, secret(new)).await.unwrap();
    assert_eq!(
        must.decided_by.as_deref(),
        Some("smb_probe"),
        "{:?}",
        must.steps
    );
    assert!(must.accepted);
    let wrong = s.core.check(&name, secret("wrong-pass")).await.unwrap();
    assert!(!wrong.accepted, "{:?}", wrong.steps);
}

#[tokio::test]
async fn two_cores_share_bans_through_redis() {
    let Ok(Some(redis)) =
        testkit::redis::RedisServer::start_for("two_cores_share_bans_through_redis")
    else {
        return;
    };
    let url = redis.url();
    let settings = [("SELFPASS_THROTTLE_STORE", url.as_str())];
    let a = setup(SimConfig::demo(), &settings).await;
    // A second portal replica: same simulator, same Redis.
    let b = selfpass_core::Core::connect(a.demo.config.clone())
        .await
        .unwrap();
    for _ in 0..3 {
        assert_eq!(
            key_of(&sign_in(&a.core, "bob", "wrong").await),
            "wrong-credentials"
        );
    }
    assert_eq!(
        key_of(&sign_in(&b, "bob", "bob-demo-pass").await),
        "wrong-credentials",
        "ban holds on the other replica"
    );
    b.unban("bob").await.unwrap();
    let on_a = session(&a.core, "bob", "bob-demo-pass").await;
    let on_b = session(&b, "bob", "bob-demo-pass").await;
    assert!(b.session_is_current(&on_b).await);
    // A change through replica A ends bob's sessions on replica B too.
    a.core
        .change_own_password(
            &on_a,
            secret("bob-demo-pass"),
            secret("marble-kettle-orchid-swim"),
            None,
            client(),
        )
        .await
        .unwrap();
    assert!(!b.session_is_current(&on_b).await);
}
