//! A throwaway `redis-server` on 127.0.0.1.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{Error, Result, free_port, kill_group, require, wait_until_ready};

const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server` with no persistence, in a temporary directory, killed on drop.
pub struct RedisServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl RedisServer {
    /// Starts `redis-server` on a free port. A missing program is an `Io` error of kind
    /// `NotFound`; tests should use [`RedisServer::start_for`] to get the skip-or-fail rule.
    pub fn start() -> Result<Self> {
        let program = crate::find_program("redis-server").ok_or_else(|| {
            Error::Io(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "redis-server is not installed",
            ))
        })?;
        Self::start_with(&program)
    }

    /// For test `test`: `None` (after a SKIPPED line) when redis-server is not installed, a panic
    /// under `CI=true` in that case (see [`crate::require`]), else the started server.
    pub fn start_for(test: &str) -> Result<Option<Self>> {
        match require("redis-server", test) {
            Some(program) => Self::start_with(&program).map(Some),
            None => Ok(None),
        }
    }

    fn start_with(program: &Path) -> Result<Self> {
        // A free port can be taken between our probe and redis's bind; try a few.
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start(program) {
                Ok(server) => return Ok(server),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Io(std::io::Error::other("redis-server did not start"))))
    }

    fn try_start(program: &Path) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let log = dir.path().join("redis.log");
        let mut child = Command::new(program)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so kill_group reaches anything it forks.
            .process_group(0)
            .spawn()?;
        wait_until_ready(&mut child, "redis-server", READY_TIMEOUT, &log, || {
            ping(port)
        })?;
        Ok(RedisServer {
            child,
            port,
            _dir: dir,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL clients connect with: `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 7];
    stream.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_and_stops() {
        let Some(server) =
            RedisServer::start_for("testkit::redis::starts_answers_and_stops").unwrap()
        else {
            return;
        };
        let port = server.port();
        assert!(ping(port));
        assert!(server.url().ends_with(&format!(":{port}/")));
        drop(server);
        assert!(!ping(port), "redis-server still answers after drop");
    }
}
