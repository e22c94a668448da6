//! `doctor::run` against the simulator: healthy, each fault, TLS pin mismatch, wrong key,
//! nothing listening. Each failure names its step and a remedy with the fix.

use selfpass_core::config::TlsTrust;
use selfpass_core::demo::{Demo, start_with};
use selfpass_core::doctor::{self, DoctorReport, DoctorStep, StepStatus, steps};
use truenas_sim::{Fault, SimConfig};

async fn diagnose(sim: SimConfig, settings: &[(&str, &str)]) -> (Demo, DoctorReport) {
    let demo = start_with(sim, settings).await.unwrap();
    let report = doctor::run(&demo.config).await;
    (demo, report)
}

async fn with_fault(fault: Fault) -> DoctorReport {
    diagnose(SimConfig::demo().faults(vec![fault]), &[]).await.1
}

fn status(report: &DoctorReport, name: &str) -> StepStatus {
    report
        .step(name)
        .unwrap_or_else(|| panic!("no step {name}: {report:#?}"))
        .status
}

/// The failed step: it is `name`, every step after it is skipped, and its remedy holds `words`.
fn failed_at<'a>(report: &'a DoctorReport, name: &str, words: &[&str]) -> &'a DoctorStep {
    let failed = report
        .failed_step()
        .unwrap_or_else(|| panic!("nothing failed: {report:#?}"));
    assert_eq!(failed.name, name, "{report:#?}");
    assert!(!report.passed());
    let text = format!(
        "{} {}",
        failed.detail,
        failed.remedy.as_deref().unwrap_or("")
    )
    .to_lowercase();
    for w in words {
        assert!(text.contains(&w.to_lowercase()), "{w:?} missing in {text}");
    }
    let at = report.steps.iter().position(|s| s.name == name).unwrap();
    assert!(
        report.steps[at + 1..]
            .iter()
            .all(|s| s.status == StepStatus::Skipped),
        "{report:#?}"
    );
    assert_eq!(report.steps.len(), steps::ALL.len(), "{report:#?}");
    failed
}

#[tokio::test]
async fn healthy_demo_passes_without_warnings() {
    let (_demo, report) = diagnose(SimConfig::demo(), &[]).await;
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(report.passed(), "{report:#?}");
    assert!(!report.has_warnings(), "{report:#?}");
    let names: Vec<&str> = report.steps.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, steps::ALL);
    for name in [
        steps::DNS,
        steps::TCP,
        steps::VERSIONS,
        steps::API_CURRENT,
        steps::WEBSOCKET,
        steps::LOGIN,
        steps::VERSION,
        steps::ROLES,
        steps::VERIFIERS,
    ] {
        assert_eq!(status(&report, name), StepStatus::Ok, "{name}: {report:#?}");
    }
    // Loopback ws:// needs no TLS; the demo runs without SMB.
    assert_eq!(status(&report, steps::TLS), StepStatus::Skipped);
    assert_eq!(status(&report, steps::SMB), StepStatus::Skipped);
    let roles = report.step(steps::ROLES).unwrap();
    assert!(
        roles.detail.contains("ACCOUNT_WRITE") && !roles.detail.contains("FULL_ADMIN"),
        "{roles:?}"
    );
    let verifiers = report.step(steps::VERIFIERS).unwrap();
    assert!(verifiers.detail.contains("hash: yes"), "{verifiers:?}");
    assert!(
        report
            .step(steps::VERSIONS)
            .unwrap()
            .detail
            .contains("v25.10.1")
    );
    // No secret in the report.
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains(truenas_sim::demo::SERVICE_API_KEY));
    assert!(!json.contains("$6$"), "a hash leaked: {json}");
}

#[tokio::test]
async fn auth_proxy_redirect_302() {
    let report = with_fault(Fault::Redirect("https://auth.example/login".into())).await;
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    // /api/versions is behind the same proxy: a warning there, the upgrade is the hard failure.
    assert_eq!(status(&report, steps::VERSIONS), StepStatus::Warn);
    failed_at(
        &report,
        steps::API_CURRENT,
        &[
            "302",
            "https://auth.example/login",
            "exempt the paths /api and /websocket",
        ],
    );
}

#[tokio::test]
async fn https_redirect_307() {
    let report = with_fault(Fault::HttpsRedirect).await;
    failed_at(
        &report,
        steps::API_CURRENT,
        &["307", "wss://", "TRUENAS_USE_SSL=true"],
    );
}

#[tokio::test]
async fn unauthorized_401() {
    let report = with_fault(Fault::Unauthorized).await;
    failed_at(
        &report,
        steps::API_CURRENT,
        &["401", "Unauthorized", "exempt /api and /websocket"],
    );
}

#[tokio::test]
async fn legacy_only_server_warns_and_falls_back() {
    let report = with_fault(Fault::LegacyOnly).await;
    assert!(report.passed(), "{report:#?}");
    assert!(report.has_warnings());
    assert_eq!(status(&report, steps::VERSIONS), StepStatus::Warn);
    let current = report.step(steps::API_CURRENT).unwrap();
    assert_eq!(current.status, StepStatus::Warn, "{report:#?}");
    assert!(current.detail.contains("404"));
    assert!(
        current
            .remedy
            .as_deref()
            .unwrap_or("")
            .contains("falls back to the legacy /websocket")
    );
    assert_eq!(status(&report, steps::WEBSOCKET), StepStatus::Ok);
    let login = report.step(steps::LOGIN).unwrap();
    assert_eq!(login.status, StepStatus::Ok);
    assert!(login.detail.contains("legacy /websocket"), "{login:?}");
    assert_eq!(status(&report, steps::ROLES), StepStatus::Ok);
}

#[tokio::test]
async fn allow_list_close_1008() {
    let report = with_fault(Fault::AllowList).await;
    failed_at(
        &report,
        steps::API_CURRENT,
        &["1008", "allow", "System → General"],
    );
}

#[tokio::test]
async fn close_and_drop_fail_the_upgrade() {
    let report = with_fault(Fault::Close {
        code: 1011,
        reason: "internal error".into(),
    })
    .await;
    failed_at(&report, steps::API_CURRENT, &["1011", "internal error"]);
    let report = with_fault(Fault::DropAfter(1)).await;
    failed_at(&report, steps::API_CURRENT, &["closed"]);
}

#[tokio::test]
async fn wrong_tls_pin_prints_the_real_one() {
    let wrong = format!("sha256:{}", "00".repeat(32));
    let (demo, report) = diagnose(
        SimConfig::demo().tls(true),
        &[
            ("TRUENAS_USE_SSL", "true"),
            ("TRUENAS_TLS_FINGERPRINT", &wrong),
        ],
    )
    .await;
    let real = demo.simulator().fingerprint().unwrap();
    let tls = failed_at(&report, steps::TLS, &["does not verify", "pin"]);
    eprintln!("{}", serde_json::to_string_pretty(&report).unwrap());
    assert!(tls.detail.contains(&real), "{tls:?}");
    let pin_line = format!("TRUENAS_TLS_FINGERPRINT={real}");
    assert!(
        tls.remedy
            .as_deref()
            .unwrap()
            .lines()
            .any(|l| l == pin_line),
        "{tls:?}"
    );
    // With the right pin the whole run passes over wss://.
    let mut config = demo.config.clone();
    config.truenas.tls = TlsTrust::Fingerprint(real.clone());
    let report = doctor::run(&config).await;
    assert!(report.passed(), "{report:#?}");
    let tls = report.step(steps::TLS).unwrap();
    assert_eq!(tls.status, StepStatus::Ok, "{tls:?}");
    assert!(
        tls.detail.contains("matches the pinned fingerprint"),
        "{tls:?}"
    );
}

#[tokio::test]
async fn self_signed_certificate_without_a_pin() {
    let (demo, report) =
        diagnose(SimConfig::demo().tls(true), &[("TRUENAS_USE_SSL", "true")]).await;
    let real = demo.simulator().fingerprint().unwrap();
    let tls = failed_at(
        &report,
        steps::TLS,
        &["expires", "TRUENAS_TLS_FINGERPRINT="],
    );
    assert!(tls.remedy.as_deref().unwrap().contains(&real), "{tls:?}");
}

#[tokio::test]
async fn wrong_api_key_fails_the_login() {
    let (_demo, report) =
        diagnose(SimConfig::demo(), &[("TRUENAS_API_KEY", "1-not-the-key")]).await;
    let login = failed_at(&report, steps::LOGIN, &["TRUENAS_API_KEY"]);
    assert!(
        !login.detail.contains("not-the-key"),
        "the key leaked: {login:?}"
    );
    assert!(!login.remedy.as_deref().unwrap().contains("not-the-key"));
}

#[tokio::test]
async fn revoked_key_is_explained() {
    // The server revokes a key it sees over plain ws:// from a remote peer: EXPIRED.
    let (_demo, report) = diagnose(SimConfig::demo().treat_as_remote(true), &[]).await;
    failed_at(
        &report,
        steps::LOGIN,
        &["EXPIRED", "make a new API key", "ws://"],
    );
}

#[tokio::test]
async fn nothing_listening_fails_tcp() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let (_demo, report) = diagnose(SimConfig::demo(), &[("TRUENAS_PORT", &port)]).await;
    assert_eq!(status(&report, steps::DNS), StepStatus::Ok);
    failed_at(&report, steps::TCP, &["cannot connect", "TRUENAS_PORT"]);
}

#[tokio::test]
async fn unknown_host_fails_dns() {
    let (_demo, report) = diagnose(SimConfig::demo(), &[("TRUENAS_HOST", "nas.invalid")]).await;
    failed_at(&report, steps::DNS, &["nas.invalid", "TRUENAS_HOST"]);
}

#[tokio::test]
async fn unreachable_smb_is_a_warning() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    let (_demo, report) = diagnose(
        SimConfig::demo(),
        &[
            ("SELFPASS_SMB_ENABLED", "true"),
            ("SELFPASS_SMB_HOST", "127.0.0.1"),
            ("SELFPASS_SMB_PORT", &port),
        ],
    )
    .await;
    assert!(report.passed(), "{report:#?}");
    let smb = report.step(steps::SMB).unwrap();
    assert_eq!(smb.status, StepStatus::Warn, "{smb:?}");
    assert!(
        smb.remedy
            .as_deref()
            .unwrap()
            .contains("hash verifier still works")
    );
    assert!(
        report
            .step(steps::VERIFIERS)
            .unwrap()
            .detail
            .contains("smb: no")
    );
}
