//! Test-only helpers that start real servers for selfpass's tests.
//!
//! Each server runs on 127.0.0.1 on a free port, with throwaway configuration in a temporary
//! directory, and is stopped by its pid when the handle drops. A server whose program is not
//! installed is *skipped* in a plain `cargo test` (with a line saying so on stderr), but under
//! `CI=true` a missing server is a failure: [`require`] decides which, in one place.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod chromedriver;
mod error;
pub mod nginx;
pub mod redis;
pub mod smbd;

pub use error::{Error, Result};

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

/// True when running under CI (`CI=true`), where a missing server must fail the test.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Finds `program` on PATH (or in `/usr/sbin`, `/sbin`, where Debian puts servers).
pub fn find_program(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Returns the path of `program`, or `None` after printing that the test `test` is skipped.
///
/// # Panics
/// Under `CI=true` a missing program panics: CI must never skip a real-server test silently.
pub fn require(program: &str, test: &str) -> Option<PathBuf> {
    match find_program(program) {
        Some(path) => Some(path),
        None if in_ci() => panic!(
            "{test}: `{program}` is not installed, and CI=true forbids skipping (install it; see .ci/run)"
        ),
        None => {
            eprintln!("SKIPPED {test}: `{program}` is not installed (CI=true would fail here)");
            None
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released: the caller binds it right after).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    Ok(listener.local_addr()?.port())
}

/// A name unique to this process and call, for throwaway users (`sp` + pid + counter, ≤ 16 chars).
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut name = format!("{prefix}{}x{n}", std::process::id());
    name.truncate(31);
    name
}

/// Polls `ready` every 20 ms until it holds. If the child exits first or `timeout` passes, kills
/// its process group and fails with the last 10 lines of its log file.
pub(crate) fn wait_until_ready(
    child: &mut std::process::Child,
    server: &'static str,
    timeout: std::time::Duration,
    log: &std::path::Path,
    mut ready: impl FnMut() -> bool,
) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        if ready() {
            return Ok(());
        }
        let exited = matches!(child.try_wait(), Ok(Some(_)));
        if exited || started.elapsed() > timeout {
            kill_group(child);
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(10).collect();
            return Err(Error::NotReady {
                server,
                seconds: timeout.as_secs(),
                log: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Kills a child's whole process group (tests start servers in their own group) and reaps it.
pub(crate) fn kill_group(child: &mut std::process::Child) {
    let pid = child.id() as libc::pid_t;
    // A negative pid addresses the process group.
    #[allow(unsafe_code)]
    // SAFETY: kill(2) with a pid we spawned; no memory is shared.
    unsafe {
        libc::kill(-pid, libc::SIGTERM);
    }
    let _ = child.wait();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ() {
        assert_ne!(unique_name("u"), unique_name("u"));
    }

    #[test]
    fn free_port_is_bindable() {
        let port = free_port().unwrap();
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
