//! Every shell command in README.md and docs/*.md runs here, or is marked as not runnable here.
//!
//! In a ```sh block each line is a command (`\` continues it). A trailing comment says how:
//! - `# needs a real TrueNAS` or `# needs Docker`: listed, not run (neither exists on the CI
//!   machine);
//! - `# run by .ci/run`: .ci/run must contain the command verbatim;
//! - `# serves ADDR` (e.g. `http://127.0.0.1:8080/` or `ws://127.0.0.1:9000`): started, and the
//!   address must accept connections (HTTP: answer `/healthz` or `/`); it runs until the block ends;
//! - otherwise: run, and it must exit 0.
//!
//! `cargo run [--release] (--bin B | -p P) [--example E] -- ARGS` runs the binary this test run
//! built (the debug profile, as the issue allows, and no nested cargo).

use crate::support::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

#[derive(Debug)]
struct Doc {
    file: String,
    line: usize,
    command: String,
    marker: Marker,
}

#[derive(Debug, PartialEq)]
enum Marker {
    Run,
    /// Needs something the CI machine lacks: a real TrueNAS, or Docker.
    NotHere,
    CiRun,
    Serves(String),
}

fn commands_in(path: &Path) -> Vec<Vec<Doc>> {
    let text = std::fs::read_to_string(path).unwrap();
    let file = path
        .strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string();
    let mut blocks = Vec::new();
    let mut current: Option<Vec<Doc>> = None;
    let mut pending = String::new();
    for (i, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None if trimmed == "```sh" || trimmed == "```bash" => current = Some(Vec::new()),
                None => {}
            }
            continue;
        }
        let Some(block) = current.as_mut() else {
            continue;
        };
        if trimmed.is_empty() || (trimmed.starts_with('#') && pending.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            pending.push_str(head.trim_end());
            pending.push(' ');
            continue;
        }
        let full = format!("{pending}{trimmed}");
        pending.clear();
        let (command, comment) = match full.find("  #").or_else(|| full.find(" # ")) {
            Some(at) => (
                full[..at].trim().to_owned(),
                full[at..].trim().trim_start_matches('#').trim().to_owned(),
            ),
            None => (full.trim().to_owned(), String::new()),
        };
        let marker =
            if comment.starts_with("needs a real TrueNAS") || comment.starts_with("needs Docker") {
                Marker::NotHere
            } else if comment.starts_with("run by .ci/run") {
                Marker::CiRun
            } else if let Some(addr) = comment.strip_prefix("serves ") {
                Marker::Serves(addr.trim().to_owned())
            } else {
                Marker::Run
            };
        block.push(Doc {
            file: file.clone(),
            line: i + 1,
            command,
            marker,
        });
    }
    blocks
}

/// `cargo run …` → the built binary (after any `VAR=value` prefix); everything else unchanged.
fn rewrite(command: &str) -> String {
    let Some(at) = command.find("cargo run ") else {
        return command.to_owned();
    };
    let (prefix, rest) = (&command[..at], &command[at + "cargo run ".len()..]);
    let (cargo_args, program_args) = rest.split_once(" -- ").unwrap_or((rest, ""));
    let words: Vec<&str> = cargo_args.split_whitespace().collect();
    let value = |flag: &str| {
        words
            .iter()
            .position(|w| *w == flag)
            .and_then(|i| words.get(i + 1))
            .copied()
    };
    let program = if let Some(example) = value("--example") {
        example_path(example)
    } else if let Some(bin) = value("--bin").or_else(|| value("-p")) {
        binary(bin).display().to_string()
    } else {
        panic!("cannot tell which binary `{command}` runs");
    };
    format!("{prefix}{program} {program_args}")
        .trim()
        .to_owned()
}

fn example_path(name: &str) -> String {
    example(name).display().to_string()
}

fn serves(addr: &str) -> bool {
    let (scheme, rest) = addr.split_once("://").unwrap_or(("tcp", addr));
    let host_port = rest.split('/').next().unwrap();
    let sock: std::net::SocketAddr = host_port.parse().unwrap();
    if !wait_for_port(sock, Duration::from_secs(60)) {
        return false;
    }
    match scheme {
        "http" => {
            let base = rest[host_port.len()..].trim_end_matches('/');
            http_get(sock, &format!("{base}/healthz")).is_some_and(|(s, _)| s == 200)
                || http_get(sock, &format!("{base}/")).is_some_and(|(s, _)| s < 500)
        }
        _ => true,
    }
}

fn documents() -> Vec<std::path::PathBuf> {
    let root = workspace_root();
    let mut files = vec![root.join("README.md")];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn every_documented_command_runs_or_is_marked() {
    let ci = std::fs::read_to_string(workspace_root().join(".ci/run")).unwrap();
    let (mut ran, mut marked) = (0, Vec::new());
    for path in documents() {
        for block in commands_in(&path) {
            // Servers started in this block; stopped (dropped) when the block ends.
            let mut servers = Vec::new();
            for doc in block {
                let place = format!("{}:{}", doc.file, doc.line);
                match &doc.marker {
                    Marker::NotHere => marked.push(place),
                    Marker::CiRun => {
                        assert!(
                            ci.contains(&doc.command),
                            "{place}: `{}` is not in .ci/run",
                            doc.command
                        );
                        ran += 1;
                    }
                    Marker::Serves(addr) => {
                        let mut command = Command::new("sh");
                        command
                            .args(["-c", &format!("exec {}", rewrite(&doc.command))])
                            .current_dir(workspace_root())
                            .stdout(Stdio::null())
                            .stderr(Stdio::null());
                        servers.push(Server::spawn(command));
                        assert!(
                            serves(addr),
                            "{place}: `{}` does not serve {addr}",
                            doc.command
                        );
                        ran += 1;
                    }
                    Marker::Run => {
                        let out = Command::new("sh")
                            .args(["-c", &rewrite(&doc.command)])
                            .current_dir(workspace_root())
                            .stdin(Stdio::null())
                            .output()
                            .unwrap();
                        assert!(
                            out.status.success(),
                            "{place}: `{}` failed ({}):\n{}\n{}",
                            doc.command,
                            out.status,
                            String::from_utf8_lossy(&out.stdout),
                            String::from_utf8_lossy(&out.stderr)
                        );
                        ran += 1;
                    }
                }
            }
        }
    }
    eprintln!(
        "documented commands: {ran} run, {} marked as needing a real TrueNAS or Docker: {marked:?}",
        marked.len()
    );
    assert!(ran >= 3, "the README's commands at least");
}

#[test]
fn the_parser_reads_markers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("x.md");
    std::fs::write(
        &file,
        "text\n```sh\n# a comment\nls -1 \\\n  /   # needs a real TrueNAS\necho hi\ndocker build .  # needs Docker\ncargo run --bin selfpass-web -- --demo   # serves http://127.0.0.1:8080/\n```\n```toml\nnot = \"a command\"\n```\n",
    )
    .unwrap();
    let blocks = commands_in(&file);
    assert_eq!(blocks.len(), 1);
    let block = &blocks[0];
    assert_eq!(block[0].command, "ls -1 /");
    assert_eq!(block[0].marker, Marker::NotHere);
    assert_eq!(block[1].marker, Marker::Run);
    assert_eq!(block[2].marker, Marker::NotHere);
    assert_eq!(
        block[3].marker,
        Marker::Serves("http://127.0.0.1:8080/".into())
    );
}
