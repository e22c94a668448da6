//! A throwaway `nginx` on 127.0.0.1, as a reverse proxy in front of a server under test.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::{Error, Result, free_port, kill_group, require, wait_until_ready};

const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `nginx` (master in the foreground, one worker), configured in a temporary directory,
/// killed with its whole process group on drop.
pub struct Nginx {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for Nginx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nginx")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// A `location` block proxying `prefix` to `upstream`, passing the usual forwarding headers
/// (`X-Forwarded-For` appended, `X-Forwarded-Proto`, `X-Forwarded-Host`) and keeping the path.
pub fn proxy_location(prefix: &str, upstream: SocketAddr) -> String {
    format!(
        "location {prefix} {{
            proxy_pass http://{upstream};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
        }}"
    )
}

impl Nginx {
    /// For test `test`: `None` (after a SKIPPED line) when nginx is not installed, a panic under
    /// `CI=true` in that case, else nginx listening on a free port with `server_body` (directives
    /// inside `server { }`, e.g. from [`proxy_location`]).
    pub fn start_for(test: &str, server_body: &str) -> Result<Option<Self>> {
        match require("nginx", test) {
            Some(program) => {
                let mut last = None;
                for _ in 0..3 {
                    match Self::try_start(&program, server_body) {
                        Ok(server) => return Ok(Some(server)),
                        Err(e) => last = Some(e),
                    }
                }
                Err(last.unwrap_or_else(|| Error::Io(std::io::Error::other("nginx did not start"))))
            }
            None => Ok(None),
        }
    }

    fn try_start(program: &Path, server_body: &str) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let d = dir.path().display();
        let conf = format!(
            "daemon off;
master_process on;
worker_processes 1;
user root;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        {server_body}
    }}
}}
"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let mut child = Command::new(program)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .args(["-e", "stderr"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let log = dir.path().join("error.log");
        wait_until_ready(&mut child, "nginx", READY_TIMEOUT, &log, || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        })?;
        Ok(Nginx { child, port, dir })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The access log so far (for a failing test's message).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_answers_and_stops() {
        let Some(nginx) = Nginx::start_for(
            "testkit::nginx::starts_answers_and_stops",
            "location / { return 200 'hello'; }",
        )
        .unwrap() else {
            return;
        };
        let addr = nginx.addr();
        assert!(TcpStream::connect(addr).is_ok());
        drop(nginx);
        assert!(
            TcpStream::connect(addr).is_err(),
            "nginx still listens after drop"
        );
    }
}
