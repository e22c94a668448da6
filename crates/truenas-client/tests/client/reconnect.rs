//! Reconnect after a forced drop: in-flight calls fail retriably; the next call reconnects and
//! logs in again.

use truenas_client::{Client, Error, Query};
use truenas_sim::{Fault, SimConfig};

use crate::common::*;

#[tokio::test]
async fn reconnects_and_logs_in_again() {
    let sim = sim(SimConfig::demo()).await;
    let c = service(&sim, opts()).await; // frame 1: login
    assert!(!c.users(&Query::new()).await.unwrap().is_empty()); // frame 2
    // The 3rd frame on a connection is executed, then the TCP connection drops.
    sim.set_faults(vec![Fault::DropAfter(3)]);
    let e = c.ping().await.unwrap_err(); // frame 3 on the first connection
    assert!(matches!(e, Error::Closed { code: None, .. }), "{e:?}");
    assert!(e.is_retryable());
    assert!(e.hint().contains("retry"));
    sim.set_faults(vec![]);
    // Next call: reconnect, re-login with the same key, then the call.
    let users = c.users(&Query::new()).await.unwrap();
    assert!(users.iter().any(|u| u.username == "alice"));
    assert!(c.is_connected());
}

#[tokio::test]
async fn opt_out_keeps_failing() {
    let sim = sim(SimConfig::demo().faults(vec![Fault::DropAfter(2)])).await;
    let c = service(&sim, opts().reconnect(false)).await;
    let e = c.ping().await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    sim.set_faults(vec![]);
    let e2 = c.ping().await.unwrap_err();
    assert_eq!(e.to_string(), e2.to_string());
    assert!(!c.is_connected());
}

#[tokio::test]
async fn reconnect_gives_up_when_server_is_gone() {
    let sim = sim(SimConfig::demo()).await;
    let c = Client::connect(endpoint(&sim), {
        let mut o = opts();
        o.reconnect_attempts = 2;
        o.reconnect_backoff = std::time::Duration::from_millis(10);
        o
    })
    .await
    .unwrap();
    sim.shutdown().await;
    // The first call may see the close, the next must see a connect error after the retries.
    let mut last = None;
    for _ in 0..3 {
        last = Some(c.ping().await.unwrap_err());
    }
    let e = last.unwrap();
    assert!(
        matches!(e, Error::Connect { .. } | Error::Closed { .. }),
        "{e:?}"
    );
}
