//! Interop with a third-party Python TrueNAS client (`pytruenas` from PyPI) against the binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn pytruenas_against_the_binary() {
    let Some(python) = testkit::require("python3", "pytruenas_against_the_binary") else {
        return;
    };
    let probe = Command::new(&python)
        .args(["-c", "import pytruenas.connection"])
        .output()
        .unwrap();
    if !probe.status.success() {
        assert!(
            !testkit::in_ci(),
            "pytruenas is not installed and CI=true forbids skipping (pip install pytruenas)"
        );
        eprintln!(
            "SKIPPED pytruenas_against_the_binary: `pip install pytruenas` first (CI=true would fail here)"
        );
        return;
    }
    let mut sim = Command::new(env!("CARGO_BIN_EXE_truenas-sim"))
        .args(["--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(sim.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ws://")
        .expect(&line)
        .to_owned();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop_pytruenas.py");
    let out = Command::new(&python)
        .arg(script)
        .arg(format!("ws://{addr}/api/current"))
        .output()
        .unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &sim.id().to_string()])
        .status();
    let _ = sim.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "interop script failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("INTEROP OK"), "{stdout}");
}
