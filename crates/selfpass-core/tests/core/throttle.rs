use crate::support::*;
use std::time::{Duration, Instant};
use truenas_sim::SimConfig;

#[tokio::test]
async fn name_variants_share_one_counter_and_bans_hold() {
    let s = demo().await;
    for typed in ["ALICE", "WORKGROUP\\alice", "alice@WORKGROUP"] {
        assert_eq!(
            key_of(&sign_in(&s.core, typed, "wrong-pass").await),
            "wrong-credentials"
        );
    }
    // Banned now: even the right password reads like a wrong one, and no verifier runs.
    assert_eq!(
        key_of(&sign_in(&s.core, "alice", "alice-demo-pass").await),
        "wrong-credentials"
    );
    s.core.unban("alice").await.unwrap();
    session(&s.core, "alice", "alice-demo-pass").await;
}

#[tokio::test]
async fn an_address_ban_is_said_with_time_left() {
    let s = demo().await;
    for i in 0..20 {
        let _ = sign_in(&s.core, &format!("nobody{i}"), "wrong").await;
    }
    let failure = sign_in(&s.core, "bob", "bob-demo-pass").await.unwrap_err();
    assert_eq!(failure.key(), "too-many-attempts");
    assert!(failure.retry_after().unwrap() > Duration::from_secs(60));
    s.core.unban("192.0.2.10").await.unwrap();
    session(&s.core, "bob", "bob-demo-pass").await;
}

/// Unknown, wrong, protected and banned sign-ins take the same time (default 400 ms floor).
#[tokio::test]
async fn failures_take_the_same_time() {
    let s = setup(SimConfig::demo(), &[("SELFPASS_SIGNIN_FLOOR_MS", "400")]).await;
    // Ban "carol" first so one case is the banned path.
    for _ in 0..3 {
        let _ = sign_in(&s.core, "carol", "wrong").await;
    }
    let cases = [
        ("nobody-x", "x"),
        ("bob", "wrong"),
        ("truenas_admin", "x"),
        ("carol", "carol-demo-pass"),
    ];
    let mut medians = Vec::new();
    for (name, password) in cases {
        let mut times = Vec::new();
        for _ in 0..5 {
            let start = Instant::now();
            let result = sign_in(&s.core, name, password).await;
            times.push(start.elapsed());
            assert_eq!(key_of(&result), "wrong-credentials", "{name}");
        }
        // Each wrong "bob" counts against bob; lift it so every run takes the normal path.
        s.core.unban("bob").await.unwrap();
        times.sort();
        medians.push(times[times.len() / 2]);
    }
    let (min, max) = (medians.iter().min().unwrap(), medians.iter().max().unwrap());
    assert!(
        *max - *min < Duration::from_millis(50),
        "medians {medians:?}"
    );
    assert!(*min >= Duration::from_millis(400), "medians {medians:?}");
}
