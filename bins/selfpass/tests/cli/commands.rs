//! Single-user commands against the demo simulator: reset, users, lock/unlock, unban, otp, check.

use predicates::prelude::*;
use truenas_sim::demo;

use crate::support::{Sim, TestResult, json_doc, stderr, stdout};

const STRONG: &str = "correct-horse-battery-staple-Quokka-71";

#[test]
fn reset_generate_prints_the_password_once_and_it_works() -> TestResult {
    let sim = Sim::demo()?;
    let before = sim.hash("alice");
    let out = sim
        .cmd()
        .args(["reset", "alice", "--generate", "--length", "24", "--json"])
        .output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_doc(&out);
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["username"], "alice");
    let password = doc["password"].as_str().unwrap_or_default().to_owned();
    assert_eq!(password.chars().count(), 24);
    assert_ne!(sim.hash("alice"), before);
    // The generated password is never logged: not on stderr.
    assert!(!stderr(&out).contains(&password));
    // The portal's verifier chain accepts it.
    let out = sim
        .cmd()
        .args(["check", "alice", "--json"])
        .write_stdin(format!("{password}\n"))
        .output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_doc(&out);
    assert_eq!(doc["accepted"], true);
    assert!(doc["decided_by"].is_string());

    // Human mode: the password alone on stdout's last line.
    let out = sim.cmd().args(["reset", "bob", "--generate"]).output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert_eq!(text.trim().chars().count(), 20);
    Ok(())
}

#[test]
fn reset_password_stdin_applies_the_rules_unless_allow_weak() -> TestResult {
    let sim = Sim::demo()?;
    let before = sim.hash("bob");
    let out = sim
        .cmd()
        .args(["reset", "bob", "--password-stdin", "--json"])
        .write_stdin("short\n")
        .output()?;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let doc = json_doc(&out);
    assert_eq!(doc["error"]["key"], "password-rules");
    assert!(!doc["error"]["details"].as_array().is_none_or(Vec::is_empty));
    assert_eq!(sim.hash("bob"), before);

    let out = sim
        .cmd()
        .args(["reset", "bob", "--password-stdin", "--allow-weak"])
        .write_stdin("short\n")
        .output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("--allow-weak"));
    assert_ne!(sim.hash("bob"), before);

    sim.cmd()
        .args(["reset", "grace", "--password-stdin"])
        .write_stdin(format!("{STRONG}\n"))
        .assert()
        .success()
        .stdout(predicate::str::contains("grace: password reset"));
    sim.cmd()
        .args(["check", "grace"])
        .write_stdin(STRONG)
        .assert()
        .success()
        .stdout(predicate::str::contains("accepted by"));
    // An empty password from stdin is a usage error.
    sim.cmd()
        .args(["reset", "grace", "--password-stdin"])
        .write_stdin("\n")
        .assert()
        .code(2);
    Ok(())
}

#[test]
fn protected_and_unknown_users_exit_4() -> TestResult {
    let sim = Sim::demo()?;
    for user in [demo::ADMIN_USER, demo::SERVICE_USER, "root"] {
        let before = sim.hash(user);
        let out = sim
            .cmd()
            .args(["reset", user, "--generate", "--json"])
            .output()?;
        assert_eq!(out.status.code(), Some(4), "{user}: {}", stderr(&out));
        assert_eq!(json_doc(&out)["error"]["key"], "not-allowed", "{user}");
        assert_eq!(sim.hash(user), before, "{user}");
    }
    let out = sim
        .cmd()
        .args(["reset", "nobody-here", "--generate", "--json"])
        .output()?;
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(json_doc(&out)["error"]["key"], "user-not-found");
    // --force-protected resets the admin.
    let before = sim.hash(demo::ADMIN_USER);
    sim.cmd()
        .args(["reset", demo::ADMIN_USER, "--generate", "--force-protected"])
        .assert()
        .success();
    assert_ne!(sim.hash(demo::ADMIN_USER), before);
    Ok(())
}

#[test]
fn users_lists_as_table_and_json() -> TestResult {
    let sim = Sim::demo()?;
    let out = sim.cmd().args(["users", "--json"]).output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_doc(&out);
    let users = doc["users"].as_array().cloned().unwrap_or_default();
    let alice = users
        .iter()
        .find(|u| u["username"] == "alice")
        .cloned()
        .unwrap_or_default();
    assert_eq!(alice["uid"], demo::ALICE_UID);
    assert_eq!(alice["smb"], true);
    let carol = users
        .iter()
        .find(|u| u["username"] == "carol")
        .cloned()
        .unwrap_or_default();
    assert_eq!(carol["locked"], true);
    let dave = users
        .iter()
        .find(|u| u["username"] == "dave")
        .cloned()
        .unwrap_or_default();
    assert_eq!(dave["password_disabled"], true);

    let out = sim.cmd().args(["users", "--filter", "ali"]).output()?;
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.starts_with("USERNAME"), "{text}");
    assert!(text.contains("alice") && !text.contains("bob"), "{text}");
    sim.cmd()
        .args(["list-users", "--quiet"])
        .assert()
        .success()
        .stdout(predicate::str::contains("carol"));
    Ok(())
}

#[test]
fn lock_and_unlock_change_the_server() -> TestResult {
    let sim = Sim::demo()?;
    let out = sim.cmd().args(["lock", "bob", "--json"]).output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_doc(&out)["locked"], true);
    assert_eq!(sim.user("bob")["locked"], true);
    sim.cmd()
        .args(["unlock", "bob"])
        .assert()
        .success()
        .stdout("bob: unlocked\n");
    assert_eq!(sim.user("bob")["locked"], false);
    sim.cmd().args(["lock", "nobody-here"]).assert().code(4);
    sim.cmd().args(["lock", demo::ADMIN_USER]).assert().code(4);
    Ok(())
}

#[test]
fn unban_takes_a_name_or_an_address() -> TestResult {
    let sim = Sim::demo()?;
    let out = sim.cmd().args(["unban", "alice", "--json"]).output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_doc(&out)["target"], "alice");
    sim.cmd()
        .args(["unban", "192.0.2.7"])
        .assert()
        .success()
        .stdout("192.0.2.7: ban lifted\n");
    Ok(())
}

#[test]
fn otp_prints_a_one_time_password() -> TestResult {
    let sim = Sim::demo()?;
    let out = sim.cmd().args(["otp", "alice", "--json"]).output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_doc(&out);
    assert!(
        !doc["one_time_password"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    sim.cmd().args(["otp", "nobody-here"]).assert().code(4);
    Ok(())
}

#[test]
fn check_says_which_verifier_answered() -> TestResult {
    let sim = Sim::demo()?;
    let out = sim
        .cmd()
        .args(["check", "alice", "--json"])
        .write_stdin(demo::ALICE_PASSWORD)
        .output()?;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_doc(&out);
    assert_eq!(doc["accepted"], true);
    assert!(!doc["steps"].as_array().is_none_or(Vec::is_empty));
    let out = sim
        .cmd()
        .args(["check", "alice", "--json"])
        .write_stdin("wrong-password")
        .output()?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(json_doc(&out)["accepted"], false);
    Ok(())
}
