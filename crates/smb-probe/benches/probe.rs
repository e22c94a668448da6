//! Probe latency against a local smbd (testkit), beside `smbclient -L` doing the same logon.
//!
//! `cargo bench -p smb-probe --bench probe` — runs N probes (default 200, `SMB_PROBE_BENCH_N`)
//! with the right and with a wrong password, the same with `smb`'s stock TCP transport
//! (`Connection::connect`), and the same logons by spawned `smbclient -U user%pass -L 127.0.0.1
//! -p PORT` processes; prints p50/p99/mean of each and writes the table to
//! `SMB_PROBE_BENCH_REPORT` when set. Skips (exit 0) without smbd or root.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use smb_probe::{ProbeOutcome, Target, probe};
use testkit::smbd::{Smbd, SmbdOptions};

fn stats(name: &str, mut samples: Vec<Duration>) -> (String, Duration) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let line = format!(
        "| {name:<38} | {:>4} | {:>8.2} | {:>8.2} | {:>8.2} |",
        samples.len(),
        ms(pick(0.5)),
        ms(pick(0.99)),
        ms(mean)
    );
    (line, pick(0.5))
}

/// The same logon through smb-rs's stock `TcpTransport` (Nagle on, header and body written apart).
async fn stock_probe(port: u16, user: &str, domain: &str, password: &str) -> bool {
    let config = smb::ConnectionConfig {
        port: Some(port),
        timeout: Some(Duration::from_secs(5)),
        smb2_only_negotiate: true,
        disable_notifications: true,
        ..Default::default()
    };
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let conn = smb::Connection::build("127.0.0.1", addr, smb::Guid::generate(), config).unwrap();
    conn.connect().await.unwrap();
    let identity = sspi::AuthIdentity {
        username: sspi::Username::new_down_level_logon_name(user, domain).unwrap(),
        password: password.to_owned().into(),
    };
    let ok = match conn.authenticate(identity).await {
        Ok(session) => {
            let _ = session.logoff().await;
            true
        }
        Err(_) => false,
    };
    let _ = conn.close().await;
    ok
}

fn smbclient(port: u16, user: &str, password: &str) -> bool {
    Command::new("smbclient")
        .args([
            "-U",
            &format!("{user}%{password}"),
            "-L",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing we need.
    let n: usize = std::env::var("SMB_PROBE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let Some(smbd) = Smbd::start_for("bench probe", SmbdOptions::default()) else {
        return;
    };
    if testkit::require("smbclient", "bench probe (smbclient baseline)").is_none() {
        return;
    }
    let password = "bench-Passw0rd";
    let user = smbd.add_user(password).unwrap();
    let target = Target::new("127.0.0.1")
        .with_port(smbd.port())
        .with_workgroup(smbd.workgroup());
    let right = SecretString::from(password.to_owned());
    let wrong = SecretString::from("wrong-password".to_owned());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    // Warm up smbd (first logon forks a child and loads the passdb) and samba-dcerpcd.
    for _ in 0..5 {
        rt.block_on(probe(&target, user.name(), &right)).unwrap();
        smbclient(smbd.port(), user.name(), password);
    }

    let mut rows = Vec::new();
    let mut medians = Vec::new();
    for (label, pw, expect) in [("right", &right, true), ("wrong", &wrong, false)] {
        let samples: Vec<Duration> = (0..n)
            .map(|_| {
                let start = Instant::now();
                let outcome = rt.block_on(probe(&target, user.name(), pw)).unwrap();
                let took = start.elapsed();
                assert_eq!(outcome == ProbeOutcome::Accepted, expect);
                took
            })
            .collect();
        let (row, p50) = stats(&format!("smb-probe ({label} password)"), samples);
        rows.push(row);
        medians.push(("smb-probe", label, p50));
    }
    for (label, pw, expect) in [
        ("right", password, true),
        ("wrong", "wrong-password", false),
    ] {
        let samples: Vec<Duration> = (0..n)
            .map(|_| {
                let start = Instant::now();
                let ok = rt.block_on(stock_probe(smbd.port(), user.name(), smbd.workgroup(), pw));
                let took = start.elapsed();
                assert_eq!(ok, expect);
                took
            })
            .collect();
        rows.push(stats(&format!("smb stock TcpTransport ({label})"), samples).0);
    }
    for (label, pw, expect) in [
        ("right", password, true),
        ("wrong", "wrong-password", false),
    ] {
        let samples: Vec<Duration> = (0..n)
            .map(|_| {
                let start = Instant::now();
                let ok = smbclient(smbd.port(), user.name(), pw);
                let took = start.elapsed();
                assert_eq!(ok, expect, "smbclient {label}");
                took
            })
            .collect();
        let (row, p50) = stats(&format!("smbclient -L process ({label})"), samples);
        rows.push(row);
        medians.push(("smbclient", label, p50));
    }

    let mut report = String::from(
        "| what                                   |    n |  p50 ms  |  p99 ms  |  mean ms |\n\
         |----------------------------------------|------|----------|----------|----------|\n",
    );
    for row in &rows {
        report.push_str(row);
        report.push('\n');
    }
    for label in ["right", "wrong"] {
        let get = |who| {
            medians
                .iter()
                .find(|m| m.0 == who && m.1 == label)
                .map(|m| m.2.as_secs_f64())
        };
        if let (Some(ours), Some(theirs)) = (get("smb-probe"), get("smbclient")) {
            report.push_str(&format!(
                "\n{label} password: smb-probe p50 / smbclient p50 = {:.3} (target ≤ 0.25)",
                ours / theirs
            ));
        }
    }
    report.push('\n');
    println!("{report}");
    if let Ok(path) = std::env::var("SMB_PROBE_BENCH_REPORT") {
        std::fs::write(path, &report).unwrap();
    }
}
