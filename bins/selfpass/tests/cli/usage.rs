//! Things decided before any connection: argv secrets, usage errors, completions, man page.

use predicates::prelude::*;

use crate::support::{TestResult, bare_cmd, json_doc, stderr};

#[test]
fn secrets_as_argument_values_are_refused_with_the_reason() -> TestResult {
    let dir = tempfile::tempdir()?;
    for args in [
        &["--api-key", "1-abc", "users"][..],
        &["users", "--api-key=1-abc"],
        &["reset", "alice", "--password", "hunter2hunter2"],
        &["reset", "alice", "--password=hunter2hunter2"],
        &["check", "alice", "-p", "x"],
    ] {
        let out = bare_cmd(&dir).args(args).output()?;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("visible to every user"), "{args:?}: {err}");
        assert!(err.contains("hint:"), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    let out = bare_cmd(&dir)
        .args(["--json", "--api-key", "1-abc", "users"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let doc = json_doc(&out);
    assert_eq!(doc["ok"], false);
    assert_eq!(doc["error"]["key"], "secret-on-command-line");
    assert!(
        doc["error"]["hint"]
            .as_str()
            .unwrap_or("")
            .contains("--api-key-file")
    );
    Ok(())
}

#[test]
fn usage_errors_exit_2_and_are_json_with_json() -> TestResult {
    let dir = tempfile::tempdir()?;
    bare_cmd(&dir).args(["reset"]).assert().code(2);
    bare_cmd(&dir)
        .args(["reset", "alice"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--password-stdin"));
    bare_cmd(&dir)
        .args(["reset", "alice", "--generate", "--report", "r.csv"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--report goes with --from"));
    let out = bare_cmd(&dir).args(["--json", "frobnicate"]).output()?;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(json_doc(&out)["error"]["exit_code"], 2);
    Ok(())
}

#[test]
fn missing_api_key_is_a_configuration_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let out = bare_cmd(&dir).args(["--json", "users"]).output()?;
    assert_eq!(out.status.code(), Some(2));
    let doc = json_doc(&out);
    assert_eq!(doc["error"]["key"], "config");
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("TRUENAS_API_KEY")
    );
    Ok(())
}

#[test]
fn help_version_completions_and_man_page() -> TestResult {
    let dir = tempfile::tempdir()?;
    bare_cmd(&dir).arg("--help").assert().success().stdout(
        predicate::str::contains("--api-key-file").and(predicate::str::contains("Exit codes")),
    );
    bare_cmd(&dir)
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains("selfpass"));
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        bare_cmd(&dir)
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("selfpass").and(predicate::str::contains("doctor")));
    }
    bare_cmd(&dir).arg("man").assert().success().stdout(
        predicate::str::contains(".TH selfpass").and(predicate::str::contains("api\\-key\\-file")),
    );
    let out = bare_cmd(&dir)
        .args(["completions", "bash", "--json"])
        .output()?;
    assert!(
        json_doc(&out)["text"]
            .as_str()
            .unwrap_or("")
            .contains("selfpass")
    );
    Ok(())
}

#[test]
fn cannot_connect_exits_3() -> TestResult {
    let dir = tempfile::tempdir()?;
    // A port nobody listens on: bind, learn the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let out = bare_cmd(&dir)
        .env("TRUENAS_HOST", "127.0.0.1")
        .env("TRUENAS_PORT", port.to_string())
        .env("TRUENAS_USE_SSL", "false")
        .env("TRUENAS_API_KEY", truenas_sim::demo::SERVICE_API_KEY)
        .args(["users", "--json"])
        .output()?;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(json_doc(&out)["error"]["key"], "server-unreachable");
    Ok(())
}
