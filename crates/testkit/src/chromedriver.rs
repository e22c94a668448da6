//! A throwaway `chromedriver` (Debian's `chromium-driver`) driving headless Chromium.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::{Error, Result, find_program, kill_group, require};

const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Flags for Chromium as root in a container: new headless mode, no sandbox (root), no /dev/shm
/// reliance, and nothing that phones home or updates.
pub const CHROMIUM_ARGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

/// A running `chromedriver` in its own process group (so the Chromium processes it starts die
/// with it on drop, even when a test panics before closing its WebDriver session).
pub struct ChromeDriver {
    child: Child,
    port: u16,
    chromium: PathBuf,
}

impl std::fmt::Debug for ChromeDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChromeDriver")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl ChromeDriver {
    /// For test `test`: `None` (after a SKIPPED line) when chromedriver or chromium is not
    /// installed, a panic under `CI=true` in that case, else a started chromedriver.
    pub fn start_for(test: &str) -> Result<Option<Self>> {
        let Some(driver) = require("chromedriver", test) else {
            return Ok(None);
        };
        let Some(chromium) = require("chromium", test) else {
            return Ok(None);
        };
        Self::start_with(&driver, chromium).map(Some)
    }

    fn start_with(driver: &Path, chromium: PathBuf) -> Result<Self> {
        let mut child = Command::new(driver)
            .args(["--port=0", "--allowed-ips=127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let Some(stdout) = child.stdout.take() else {
            kill_group(&mut child);
            return Err(Error::Io(std::io::Error::other(
                "chromedriver stdout not captured",
            )));
        };
        let (tx, rx) = mpsc::channel();
        // Reads the port, then keeps draining stdout so chromedriver never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sent = false;
            let mut seen = Vec::new();
            for line in BufReader::new(stdout)
                .lines()
                .map_while(std::result::Result::ok)
            {
                if !sent {
                    if let Some(port) = parse_port(&line) {
                        let _ = tx.send(Ok(port));
                        sent = true;
                    } else {
                        seen.push(line);
                    }
                }
            }
            if !sent {
                let _ = tx.send(Err(seen.join("\n")));
            }
        });
        match rx.recv_timeout(READY_TIMEOUT) {
            Ok(Ok(port)) => Ok(ChromeDriver {
                child,
                port,
                chromium,
            }),
            Ok(Err(log)) => {
                kill_group(&mut child);
                Err(Error::NotReady {
                    server: "chromedriver",
                    seconds: READY_TIMEOUT.as_secs(),
                    log,
                })
            }
            Err(_) => {
                kill_group(&mut child);
                Err(Error::NotReady {
                    server: "chromedriver",
                    seconds: READY_TIMEOUT.as_secs(),
                    log: String::new(),
                })
            }
        }
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The WebDriver URL: `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The Chromium binary to name in the capabilities.
    pub fn chromium(&self) -> &Path {
        &self.chromium
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// "ChromeDriver was started successfully on port 41231." → 41231
fn parse_port(line: &str) -> Option<u16> {
    let rest = &line
        [line.find("started successfully on port ")? + "started successfully on port ".len()..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Whether chromedriver and chromium are both installed (no skip line printed).
pub fn installed() -> bool {
    find_program("chromedriver").is_some() && find_program("chromium").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_port_line() {
        assert_eq!(
            parse_port("ChromeDriver was started successfully on port 41231."),
            Some(41231)
        );
        assert_eq!(parse_port("Starting ChromeDriver 156.0"), None);
    }

    #[test]
    fn starts_and_stops() {
        let Some(driver) =
            ChromeDriver::start_for("testkit::chromedriver::starts_and_stops").unwrap()
        else {
            return;
        };
        let port = driver.port();
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
        drop(driver);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
