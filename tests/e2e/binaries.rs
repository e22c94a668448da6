//! The three binaries together: the simulator binary as TrueNAS, the CLI resetting and checking,
//! the portal reporting ready against the same server.

use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn cli(
    addr: std::net::SocketAddr,
    args: &[&str],
    stdin: Option<&str>,
) -> (i32, serde_json::Value, String) {
    let mut command = Command::new(binary("selfpass"));
    command
        .args(args)
        .envs(env_for(addr))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn cli_resets_and_checks_against_the_simulator_binary() {
    let (_sim, addr) = simulator(&[]);
    let (code, users, err) = cli(addr, &["--json", "users"], None);
    assert_eq!(code, 0, "{err}");
    let names: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert!(
        names.contains(&"alice") && names.contains(&"bob"),
        "{names:?}"
    );

    let (code, reset, err) = cli(addr, &["--json", "reset", "bob", "--generate"], None);
    assert_eq!(code, 0, "{err}");
    let password = reset["password"]
        .as_str()
        .expect("generated password in the JSON")
        .to_owned();
    assert!(password.len() >= 16);
    assert!(
        !err.contains(&password),
        "the password must not reach stderr"
    );

    let (code, check, err) = cli(
        addr,
        &["--json", "check", "bob"],
        Some(&format!("{password}\n")),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(check["accepted"], true, "{check}");
    let (_, old, _) = cli(addr, &["--json", "check", "bob"], Some("bob-demo-pass\n"));
    assert_eq!(old["accepted"], false, "{old}");

    // A key or password as a plain argument is refused (usage error) before anything runs.
    let (code, _, err) = cli(addr, &["--api-key", "1-abc", "users"], None);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn portal_is_ready_against_the_simulator_binary() {
    let (_sim, addr) = simulator(&[]);
    let listen: std::net::SocketAddr = format!("127.0.0.1:{}", testkit::free_port().unwrap())
        .parse()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "an-e2e-secret-key-that-is-long-enough-0123456789").unwrap();
    let mut command = Command::new(binary("selfpass-web"));
    command
        .args(["--listen", &listen.to_string()])
        .envs(env_for(addr))
        .env("SECRET_KEY_FILE", &secret)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _portal = Server::spawn(command);
    assert!(
        wait_for_port(listen, Duration::from_secs(30)),
        "the portal did not start"
    );
    let (status, _) = http_get(listen, "/healthz").unwrap();
    assert_eq!(status, 200);
    let (status, body) = http_get(listen, "/readyz").unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, page) = http_get(listen, "/").unwrap();
    assert!(status == 200 || status == 303, "{status}");
    if status == 200 {
        assert!(page.contains("autocomplete=\"username\""), "{page}");
    }
}

#[test]
fn portal_refuses_to_start_with_the_flask_placeholder_secret() {
    let (_sim, addr) = simulator(&[]);
    let out = Command::new(binary("selfpass-web"))
        .envs(env_for(addr))
        .env("SECRET_KEY", "change-this-secret-key-in-production")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("SECRET_KEY"), "{err}");
}
