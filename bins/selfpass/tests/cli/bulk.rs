//! `reset --from FILE`: 1,000 rows, malformed input with line numbers, duplicates, dry runs,
//! failures, reports.

use std::os::unix::fs::PermissionsExt;
use std::time::Instant;

use predicates::prelude::*;
use truenas_sim::SimConfig;

use crate::support::{Sim, TestResult, json_doc, stderr, stdout};

const STRONG_A: &str = "violet-anchor-meadow-Orbit-4412";
const STRONG_B: &str = "granite-lantern-Fjord-whistle-907";

#[test]
fn a_hundred_rows_with_generated_passwords_and_a_0600_report() -> TestResult {
    generated_rows(100)
}

/// The 1,000-row run (about 20 s in a debug build).
#[test]
fn a_thousand_rows_with_generated_passwords_and_a_0600_report() -> TestResult {
    generated_rows(1000)
}

fn generated_rows(n: usize) -> TestResult {
    let sim = Sim::start(SimConfig::demo().seed_users(n))?;
    let input = sim.path("users.csv");
    let mut text = String::from("username\n");
    for i in 1..=n {
        text.push_str(&format!("user{i:04}\n"));
    }
    std::fs::write(&input, text)?;
    let last = format!("user{n:04}");
    let before = (sim.hash("user0001"), sim.hash(&last));
    let report = sim.path("report.csv");
    let started = Instant::now();
    // The simulator's user.query walks every user per call: generous call timeout for the
    // 1,000-user store in a debug build.
    let out = sim
        .cmd()
        .env("TRUENAS_TIMEOUT", "600")
        .arg("reset")
        .arg("--from")
        .arg(&input)
        .args(["--generate", "--json", "--report"])
        .arg(&report)
        .output()?;
    let elapsed = started.elapsed();
    eprintln!("{n} resets (debug build, sim in the test process): {elapsed:?}");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json_doc(&out);
    assert_eq!(doc["summary"]["reset"], n);
    assert_eq!(doc["summary"]["failed"], 0);
    // Passwords went to the report, not to stdout.
    assert!(doc["results"][0].get("password").is_none());
    assert_ne!(sim.hash("user0001"), before.0);
    assert_ne!(sim.hash(&last), before.1);
    let mode = std::fs::metadata(&report)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mut reader = csv::Reader::from_path(&report)?;
    let rows: Vec<csv::StringRecord> = reader.records().collect::<Result<_, _>>()?;
    assert_eq!(rows.len(), n);
    assert!(
        rows.iter()
            .all(|r| r.get(2) == Some("reset") && r.get(3).is_some_and(|p| p.len() == 20))
    );
    // A report holding passwords is never written over an existing file: refused up front.
    let hash = sim.hash("user0002");
    let out = sim
        .cmd()
        .arg("reset")
        .arg("--from")
        .arg(&input)
        .args(["--generate", "--report"])
        .arg(&report)
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("never written over an existing file"));
    assert_eq!(sim.hash("user0002"), hash);
    Ok(())
}

#[test]
fn malformed_csv_names_file_line_and_field_and_changes_nothing() -> TestResult {
    let sim = Sim::demo()?;
    let before = sim.hash("alice");
    let input = sim.path("bad.csv");
    std::fs::write(
        &input,
        format!(
            "username,password\nalice,{STRONG_A}\n,{STRONG_B}\nbob,\ncarol\nALICE,{STRONG_B}\nerin,a,b\n\"grace,{STRONG_A}\n"
        ),
    )?;
    let out = sim.cmd().arg("reset").arg("--from").arg(&input).output()?;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let name = input.display().to_string();
    for expected in [
        format!("{name}:3: field username: empty"),
        format!("{name}:4: field password: empty"),
        format!("{name}:5: field password: missing"),
        format!("{name}:6: field username: duplicate of line 2"),
        format!("{name}:7: field 3: unexpected"),
    ] {
        assert!(err.contains(&expected), "missing {expected:?} in:\n{err}");
    }
    assert!(err.contains("nothing was changed"));
    assert_eq!(sim.hash("alice"), before);
    Ok(())
}

#[test]
fn malformed_jsonl_names_line_and_field() -> TestResult {
    let sim = Sim::demo()?;
    let input = sim.path("bad.jsonl");
    std::fs::write(
        &input,
        format!(
            "{{\"username\":\"alice\",\"password\":\"{STRONG_A}\"}}\n\n{{\"username\":7}}\n{{not json\n\
             {{\"username\":\"bob\",\"pasword\":\"x\"}}\n[1,2]\n{{\"username\":\"alice\"}}\n{{\"username\":\"dave\",\"password\":\"\"}}\n"
        ),
    )?;
    let out = sim
        .cmd()
        .arg("reset")
        .arg("--from")
        .arg(&input)
        .args(["--generate", "--json"])
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    let doc = json_doc(&out);
    assert_eq!(doc["error"]["key"], "bad-input");
    let details: Vec<String> = doc["error"]["details"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let name = input.display().to_string();
    for expected in [
        format!("{name}:3: field username: not a string"),
        format!("{name}:4: not valid JSON"),
        format!("{name}:5: field pasword: unknown"),
        format!("{name}:6: expected an object"),
        format!("{name}:7: field username: duplicate of line 1"),
        format!("{name}:8: field password: empty"),
    ] {
        assert!(
            details.iter().any(|d| d.starts_with(&expected)),
            "missing {expected:?} in {details:#?}"
        );
    }
    Ok(())
}

#[test]
fn dry_run_checks_every_row_and_changes_nothing() -> TestResult {
    let sim = Sim::demo()?;
    let names = ["alice", "bob", "grace", "truenas_admin"];
    let before: Vec<String> = names.iter().map(|n| sim.hash(n)).collect();
    let input = sim.path("rows.jsonl");
    std::fs::write(
        &input,
        format!(
            "{{\"username\":\"alice\",\"password\":\"{STRONG_A}\"}}\n{{\"username\":\"bob\"}}\n\
             {{\"username\":\"grace\",\"password\":\"weak\"}}\n{{\"username\":\"truenas_admin\",\"password\":\"{STRONG_B}\"}}\n\
             {{\"username\":\"nobody-here\",\"password\":\"{STRONG_B}\"}}\n"
        ),
    )?;
    let out = sim
        .cmd()
        .arg("reset")
        .arg("--from")
        .arg(&input)
        .args(["--generate", "--dry-run", "--json"])
        .output()?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json_doc(&out);
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["summary"]["would_reset"], 2);
    assert_eq!(doc["summary"]["failed"], 3);
    let status = |i: usize| {
        doc["results"][i]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(status(0), "would-reset");
    assert_eq!(status(1), "would-reset");
    assert_eq!(doc["results"][2]["error_key"], "password-rules");
    assert_eq!(doc["results"][3]["error_key"], "not-allowed");
    assert_eq!(doc["results"][4]["error_key"], "user-not-found");
    assert!(doc["results"][1].get("password").is_none());
    let after: Vec<String> = names.iter().map(|n| sim.hash(n)).collect();
    assert_eq!(before, after);
    Ok(())
}

#[test]
fn failures_stop_scheduling_unless_continue_on_error() -> TestResult {
    let sim = Sim::demo()?;
    let input = sim.path("rows.csv");
    // The unknown user comes first; with concurrency 1 nothing after it starts.
    std::fs::write(
        &input,
        format!("nobody-here,{STRONG_A}\nalice,{STRONG_A}\nbob,{STRONG_B}\n"),
    )?;
    let before = sim.hash("alice");
    let out = sim
        .cmd()
        .arg("reset")
        .arg("--from")
        .arg(&input)
        .args(["--concurrency", "1", "--json"])
        .output()?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json_doc(&out);
    assert_eq!(doc["summary"]["failed"], 1);
    assert_eq!(doc["summary"]["skipped"], 2);
    assert_eq!(sim.hash("alice"), before);

    let report = sim.path("report.json");
    let out = sim
        .cmd()
        .arg("reset")
        .arg("--from")
        .arg(&input)
        .args(["--continue-on-error", "--report"])
        .arg(&report)
        .output()?;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("line 1: nobody-here: No such user."));
    assert!(stdout(&out).contains("2 reset, 1 failed, 0 skipped"));
    assert_ne!(sim.hash("alice"), before);
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report)?)?;
    assert_eq!(rows[1]["status"], "reset");
    assert_eq!(rows[0]["status"], "failed");
    Ok(())
}

#[test]
fn given_passwords_from_stdin_file_and_human_summary() -> TestResult {
    let sim = Sim::demo()?;
    let before = sim.hash("grace");
    sim.cmd()
        .args(["reset", "--from", "-", "--format", "csv"])
        .write_stdin(format!("grace,{STRONG_B}\n"))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("1 row in").and(predicate::str::contains("1 reset, 0 failed")),
        )
        // Piped stderr: no progress bar, nothing at all.
        .stderr(predicate::str::is_empty());
    assert_ne!(sim.hash("grace"), before);
    Ok(())
}
