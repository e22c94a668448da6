//! The binary itself: refuses a missing or weak SECRET_KEY naming the setting, serves the demo,
//! writes JSON logs and audit lines, and stops cleanly on SIGTERM.

use crate::support::*;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_selfpass-web");

fn run_without_demo(envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap(); // no stray .env
    let mut cmd = Command::new(BIN);
    cmd.env_clear().current_dir(dir.path());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn refuses_missing_or_weak_secret_key() {
    let key = ("TRUENAS_API_KEY", "1-abcdefabcdefabcdefabcdef");
    for (secret, words) in [
        (None, "is required"),
        (Some("short"), "must be at least 32"),
        (Some("change-this-secret-key-in-production"), "placeholder"),
    ] {
        let mut envs = vec![key];
        if let Some(secret) = secret {
            envs.push(("SECRET_KEY", secret));
        }
        let (code, stderr) = run_without_demo(&envs);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("SECRET_KEY"), "names the setting: {stderr}");
        assert!(stderr.contains(words), "{words}: {stderr}");
    }
}

#[actix_web::test]
async fn demo_serves_logs_json_audits_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut child = Command::new(BIN)
        .args([
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--audit-log",
        ])
        .arg(&audit)
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let url = first
        .trim()
        .strip_prefix("selfpass demo portal: http://")
        .unwrap_or_else(|| panic!("first line: {first}"))
        .trim_end_matches('/')
        .to_owned();
    let mut rest = String::new();
    for _ in 0..3 {
        stdout.read_line(&mut rest).unwrap();
    }
    assert!(rest.contains("alice"), "prints the demo users: {rest}");
    let addr: std::net::SocketAddr = url.parse().unwrap();

    let mut c = Http::new(addr);
    assert_eq!(c.get("/healthz").await.status, 200);
    let page = c.sign_in("", "alice", "wrong-password").await;
    assert_eq!(page.failure_kind(), Some("wrong-credentials"));
    let page = Http::new(addr).sign_in("", "alice", ALICE_PASSWORD).await;
    assert_eq!(page.location(), "/change");

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still running after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "{status:?}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in &lines {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    assert!(
        !stderr.contains(ALICE_PASSWORD),
        "a password reached the log"
    );

    let audit = std::fs::read_to_string(&audit).unwrap();
    let events: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line ({e}): {l}")))
        .collect();
    assert!(events.len() >= 2, "{audit}");
    assert!(!audit.contains(ALICE_PASSWORD));
}
