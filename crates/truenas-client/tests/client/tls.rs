//! TLS: pinned OK, wrong pin refused with the certificate described, CA file, insecure opt-in.

use truenas_client::{Client, Error, Fingerprint, Tls};
use truenas_sim::{SimConfig, Simulator, demo};

use crate::common::*;

async fn tls_sim() -> Simulator {
    sim(SimConfig::demo().tls(true)).await
}

fn pin(sim: &Simulator) -> Fingerprint {
    sim.fingerprint().unwrap().parse().unwrap()
}

#[tokio::test]
async fn pinned_ok() {
    let sim = tls_sim().await;
    let ep = endpoint(&sim);
    assert!(ep.is_tls());
    let c = Client::connect(ep, opts().tls(Tls::Pinned(pin(&sim))))
        .await
        .unwrap();
    c.login_api_key(service_key(), Some(demo::SERVICE_USER))
        .await
        .unwrap();
    assert_eq!(c.ping().await.unwrap(), "pong");
    assert_eq!(pin(&sim).to_string(), sim.fingerprint().unwrap());
}

#[tokio::test]
async fn wrong_pin_refused_with_certificate_details() {
    let sim = tls_sim().await;
    let wrong = Fingerprint::of_der(b"not the certificate");
    let e = Client::connect(endpoint(&sim), opts().tls(Tls::Pinned(wrong)))
        .await
        .unwrap_err();
    match &e {
        Error::Tls {
            cert: Some(cert),
            detail,
            ..
        } => {
            assert_eq!(cert.fingerprint.to_string(), sim.fingerprint().unwrap());
            assert!(detail.contains("does not match"), "{detail}");
            assert_ne!(cert.not_after, "?");
            assert_ne!(cert.subject, "?");
        }
        other => panic!("{other:?}"),
    }
    let hint = e.hint();
    assert!(
        hint.contains(&format!(
            "TRUENAS_TLS_FINGERPRINT={}",
            sim.fingerprint().unwrap()
        )),
        "{hint}"
    );
    assert!(e.to_string().contains("expires"), "{e}");
}

#[tokio::test]
async fn untrusted_by_ca_file() {
    let sim = tls_sim().await;
    let other = rcgen::generate_simple_self_signed(vec!["elsewhere".to_string()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, other.cert.pem()).unwrap();
    let e = Client::connect(endpoint(&sim), opts().tls(Tls::CaFile(path)))
        .await
        .unwrap_err();
    match &e {
        Error::Tls {
            cert: Some(cert),
            detail,
            ..
        } => {
            assert_eq!(cert.fingerprint.to_string(), sim.fingerprint().unwrap());
            assert!(detail.contains("not trusted"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.hint().contains("TRUENAS_TLS_FINGERPRINT=sha256:"));
}

#[tokio::test]
async fn missing_ca_file_is_a_config_error() {
    let sim = tls_sim().await;
    let e = Client::connect(
        endpoint(&sim),
        opts().tls(Tls::CaFile("/nonexistent/ca.pem".into())),
    )
    .await
    .unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e:?}");
}

/// Counts WARN events whose message mentions `needle` (a minimal subscriber for one test).
struct WarnCounter {
    needle: &'static str,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

struct Msg(String);
impl tracing::field::Visit for Msg {
    fn record_debug(&mut self, _f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{v:?} "));
    }
}

impl tracing::Subscriber for WarnCounter {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        let mut m = Msg(String::new());
        e.record(&mut m);
        if *e.metadata().level() == tracing::Level::WARN && m.0.contains(self.needle) {
            self.hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[tokio::test]
async fn insecure_is_opt_in_and_warns_at_every_connect() {
    let sim = tls_sim().await;
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let _guard = tracing::subscriber::set_default(WarnCounter {
        needle: "DISABLED",
        hits: hits.clone(),
    });
    for n in 1..=2 {
        let c = Client::connect(endpoint(&sim), opts().tls(Tls::Insecure))
            .await
            .unwrap();
        assert_eq!(c.ping().await.unwrap(), "pong");
        assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), n);
    }
    // Verified modes do not warn.
    let _c = Client::connect(endpoint(&sim), opts().tls(Tls::Pinned(pin(&sim))))
        .await
        .unwrap();
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn tls_client_against_plain_server() {
    let sim = sim(SimConfig::demo()).await;
    let ep = truenas_client::Endpoint::wss("127.0.0.1").with_port(sim.local_addr().port());
    let o = opts()
        .tls(Tls::Insecure)
        .connect_timeout(std::time::Duration::from_millis(500));
    let e = Client::connect(ep, o).await.unwrap_err();
    // The plain server waits for an HTTP request line while the client waits for a ServerHello.
    assert!(
        matches!(
            e,
            Error::Tls { cert: None, .. }
                | Error::Timeout {
                    stage: truenas_client::Stage::Tls,
                    ..
                }
        ),
        "{e:?}"
    );
    assert!(e.hint().contains("ws://"));
}
