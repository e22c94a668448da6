//! Benchmark: `selfpass reset --from FILE --generate` for 1,000 users against truenas-sim
//! (`SimConfig::demo().seed_users(1000)`), the whole process timed end to end: start, connect,
//! 1,000 pipelined resets, the 0600 report. Target: ≤ 3 s. Run with `cargo bench -p selfpass`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Command;
use std::time::Instant;

use truenas_sim::{SimConfig, Simulator, demo};

/// `BENCH_USERS` (default 1000) and `BENCH_CONCURRENCY` (default 16) vary the run.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const RUNS: usize = 3; // median of three

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let users = setting("BENCH_USERS", 1000);
    let concurrency = setting("BENCH_CONCURRENCY", 16).to_string();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let sim = rt.block_on(Simulator::start(SimConfig::demo().seed_users(users)))?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("users.csv");
    let mut text = String::from("username\n");
    for i in 1..=users {
        text.push_str(&format!("user{i:04}\n"));
    }
    std::fs::write(&input, text)?;
    let mut times = Vec::new();
    for run in 0..RUNS {
        let report = dir.path().join(format!("report-{run}.csv"));
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_selfpass"))
            .env_clear()
            .env("TRUENAS_HOST", "127.0.0.1")
            .env("TRUENAS_PORT", sim.local_addr().port().to_string())
            .env("TRUENAS_USE_SSL", "false")
            .env("TRUENAS_API_KEY", demo::SERVICE_API_KEY)
            .env("SECRET_KEY", "bench-audit-key-0123456789abcdef0123")
            .env("SELFPASS_SMB_ENABLED", "false")
            .env("TRUENAS_TIMEOUT", "120")
            .current_dir(dir.path())
            .arg("reset")
            .arg("--from")
            .arg(&input)
            .args([
                "--generate",
                "--quiet",
                "--concurrency",
                &concurrency,
                "--report",
            ])
            .arg(&report)
            .output()?;
        let elapsed = started.elapsed();
        if !out.status.success() {
            return Err(format!(
                "run {run} failed ({:?}): {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        println!(
            "run {run}: {users} resets in {:.2} s",
            elapsed.as_secs_f64()
        );
        times.push(elapsed.as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "bulk_reset: {users} resets, median {median:.2} s over {RUNS} runs (target ≤ 3 s): {}",
        if median <= 3.0 { "met" } else { "NOT met" }
    );
    rt.block_on(sim.shutdown());
    Ok(())
}
