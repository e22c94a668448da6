//! The `truenas-sim` binary: the one stdout line, a raw client reading alice's hash, clean exit.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::json;
use tokio::net::TcpStream;
use truenas_sim::demo as d;

use crate::common::Ws;

fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_truenas-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

#[tokio::test]
async fn demo_binary_serves_the_service_key_and_exits_cleanly() {
    let (child, line) = spawn(&[
        "--demo",
        "--listen",
        "127.0.0.1:0",
        "--rate-limit",
        "50/60,sleep=0-0",
    ]);
    let addr = line
        .trim_end()
        .strip_prefix("listening on ws://")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_owned();
    assert!(line.ends_with('\n') && !addr.ends_with(":0"), "{line:?}");
    let tcp = TcpStream::connect(&addr).await.unwrap();
    let (ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/api/current"), tcp)
        .await
        .unwrap();
    let mut ws = Ws { ws, next_id: 0 };
    assert_eq!(
        ws.login_key(d::SERVICE_API_KEY).await["response_type"],
        "SUCCESS"
    );
    let alice = ws
        .ok(
            "user.query",
            json!([[["username", "=", "alice"]], {"get": true}]),
        )
        .await;
    assert!(
        alice["unixhash"].as_str().unwrap().starts_with("$6$"),
        "{alice}"
    );
    drop(ws);
    assert!(terminate(child).success(), "exit 0 on SIGTERM");
}

#[test]
fn tls_binary_prints_fingerprint() {
    let (child, line) = spawn(&[
        "--tls",
        "--listen",
        "127.0.0.1:0",
        "--server-version",
        "26.0.0",
    ]);
    let rest = line
        .trim_end()
        .strip_prefix("listening on wss://")
        .unwrap_or_else(|| panic!("{line:?}"));
    let (_, fp) = rest.split_once(" fingerprint=").unwrap();
    assert!(fp.starts_with("sha256:") && fp.len() == 71, "{fp}");
    assert!(terminate(child).success());
}

#[test]
fn bad_arguments_fail() {
    for args in [
        &["--fault", "bogus"][..],
        &["--rate-limit", "x"],
        &["--server-version", "24.10"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_truenas-sim"))
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} accepted");
    }
}
