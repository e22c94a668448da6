//! `selfpass doctor` against the simulator healthy and with each of its faults: the right step
//! fails, with a remedy, and the exit code says so.

use std::time::Duration;

use selfpass_core::doctor::steps;
use serde_json::Value;
use truenas_sim::Fault;

use crate::support::{Sim, TestResult, json_doc, stderr, stdout};

#[test]
fn healthy_server_passes() -> TestResult {
    let sim = Sim::demo()?;
    let out = sim.cmd().arg("doctor").output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("✓"));
    let out = sim.cmd().args(["doctor", "--json"]).output()?;
    let doc = json_doc(&out);
    assert_ne!(doc["verdict"], "failed");
    assert!(!doc["steps"].as_array().is_none_or(Vec::is_empty));
    Ok(())
}

/// Runs doctor --json against `fault` and returns (exit code, the failed step, human output).
fn doctor_with(
    fault: Fault,
) -> Result<(Option<i32>, serde_json::Value, String), Box<dyn std::error::Error>> {
    let sim = Sim::with_faults(vec![fault])?;
    let out = sim.cmd().args(["doctor", "--json"]).output()?;
    let doc = json_doc(&out);
    let failed = doc["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["status"] == "fail").cloned())
        .unwrap_or_default();
    let human = sim.cmd().arg("doctor").output()?;
    assert_eq!(human.status.code(), out.status.code());
    Ok((out.status.code(), failed, stdout(&human)))
}

/// The step named `name` of a doctor JSON document.
fn step(doc: &Value, name: &str) -> Value {
    doc["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == name).cloned())
        .unwrap_or_default()
}

fn assert_fails_with(fault: Fault, words: &[&str]) -> TestResult {
    let name = format!("{fault:?}");
    let (code, failed, human) = doctor_with(fault)?;
    assert_eq!(code, Some(3), "{name}: {human}");
    // Every one of these faults shows at the WebSocket upgrade.
    assert_eq!(failed["name"], steps::API_CURRENT, "{name}: {human}");
    assert!(
        failed["remedy"].is_string(),
        "{name}: the failed step has no remedy: {failed}"
    );
    let text = format!("{} {}", failed["detail"], failed["remedy"]).to_lowercase();
    assert!(
        words.iter().any(|w| text.contains(&w.to_lowercase())),
        "{name}: none of {words:?} in {text}"
    );
    assert!(
        human.contains("✗") && human.contains("fix:"),
        "{name}: {human}"
    );
    eprintln!("--- doctor with {name}\n{human}");
    Ok(())
}

#[test]
fn auth_proxy_redirect() -> TestResult {
    assert_fails_with(
        Fault::Redirect("https://auth.example/login".into()),
        &["302", "proxy", "redirect"],
    )
}

#[test]
fn https_redirect() -> TestResult {
    assert_fails_with(Fault::HttpsRedirect, &["307", "https", "use_ssl", "tls"])
}

#[test]
fn unauthorized() -> TestResult {
    assert_fails_with(Fault::Unauthorized, &["401", "unauthorized"])
}

#[test]
fn legacy_only_server() -> TestResult {
    // Only /websocket exists: /api/current is a warning, the legacy endpoint carries on.
    let sim = Sim::with_faults(vec![Fault::LegacyOnly])?;
    let out = sim.cmd().args(["doctor", "--json"]).output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_doc(&out);
    assert_eq!(doc["verdict"], "warnings");
    assert_eq!(step(&doc, steps::API_CURRENT)["status"], "warn");
    assert_eq!(step(&doc, steps::WEBSOCKET)["status"], "ok");
    assert_eq!(step(&doc, steps::LOGIN)["status"], "ok");
    // --strict: a warning exits 1.
    sim.cmd().args(["doctor", "--strict"]).assert().code(1);
    Ok(())
}

#[test]
fn allow_list_close_1008() -> TestResult {
    assert_fails_with(Fault::AllowList, &["1008", "allow"])
}

#[test]
fn close_with_a_code() -> TestResult {
    assert_fails_with(
        Fault::Close {
            code: 1011,
            reason: "internal error".into(),
        },
        &["1011", "internal error", "closed"],
    )
}

#[test]
fn connection_dropped_mid_call() -> TestResult {
    assert_fails_with(
        Fault::DropAfter(1),
        &["lost", "closed", "dropped", "connection"],
    )
}

#[test]
fn slow_server_still_passes() -> TestResult {
    let (code, _, human) = doctor_with(Fault::Latency(Duration::from_millis(150)))?;
    assert_eq!(code, Some(0), "{human}");
    Ok(())
}

#[test]
fn self_signed_tls_prints_the_pin_line_and_pinning_fixes_it() -> TestResult {
    let sim = Sim::start(truenas_sim::SimConfig::demo().tls(true))?;
    let fingerprint = sim.fingerprint().unwrap_or_default();
    let out = sim
        .cmd()
        .env("TRUENAS_USE_SSL", "true")
        .arg("doctor")
        .output()?;
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("TRUENAS_TLS_FINGERPRINT={fingerprint}")),
        "{text}"
    );
    assert!(text.contains("✗ tls"), "{text}");
    let out = sim
        .cmd()
        .env("TRUENAS_USE_SSL", "true")
        .args(["doctor", "--json", "--tls-fingerprint", &fingerprint])
        .output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(step(&json_doc(&out), steps::TLS)["status"], "ok");
    // The pinned key works for the other commands too.
    sim.cmd()
        .env("TRUENAS_USE_SSL", "true")
        .env("TRUENAS_TLS_FINGERPRINT", &fingerprint)
        .args(["users", "--filter", "alice"])
        .assert()
        .success();
    Ok(())
}

#[test]
fn a_wrong_api_key_fails_the_login_step() -> TestResult {
    let sim = Sim::demo()?;
    let key = sim.path("key");
    std::fs::write(&key, "7-this-key-does-not-exist\n")?;
    let out = sim
        .cmd()
        .env_remove("TRUENAS_API_KEY")
        .args(["doctor", "--json", "--api-key-file"])
        .arg(&key)
        .output()?;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = json_doc(&out);
    let login = step(&doc, steps::LOGIN);
    assert_eq!(login["status"], "fail", "{doc}");
    assert!(login["remedy"].is_string());
    // Other commands: exit 3 as well.
    sim.cmd()
        .env_remove("TRUENAS_API_KEY")
        .arg("--api-key-file")
        .arg(&key)
        .arg("users")
        .assert()
        .code(3);
    Ok(())
}
