use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// target/debug (or whichever profile built this test).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/debug/deps/e2e-HASH → target/debug
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// A workspace binary built by this run.
pub fn binary(name: &str) -> PathBuf {
    let path = profile_dir().join(name);
    assert!(
        path.is_file(),
        "{} is not built (run the tests with `cargo test --workspace`)",
        path.display()
    );
    path
}

/// An example built by this run.
pub fn example(name: &str) -> PathBuf {
    let path = profile_dir().join("examples").join(name);
    assert!(path.is_file(), "{} is not built", path.display());
    path
}

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A child process killed (with its process group) on drop.
pub struct Server {
    child: Child,
}

impl Server {
    pub fn spawn(mut command: Command) -> Server {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        Server {
            child: command.spawn().unwrap(),
        }
    }

    pub fn stdout_line(&mut self, contains: &str, within: Duration) -> String {
        let stdout = self.child.stdout.take().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + within;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(contains) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no line containing {contains:?} within {within:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Each server is one process (`exec` replaces the shell), so killing it is enough.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The simulator binary with the demo data set on a free port; returns it and the line it
/// announces itself with (`listening on ws://ADDR`, or `wss://ADDR fingerprint=sha256:HEX`).
fn spawn_simulator(extra: &[&str]) -> (Server, String) {
    let mut command = Command::new(binary("truenas-sim"));
    command
        .args(["--demo", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped());
    let mut server = Server::spawn(command);
    let line = server.stdout_line("listening on", Duration::from_secs(20));
    (server, line)
}

/// The address in the simulator's `listening on` line.
fn announced_address(line: &str) -> SocketAddr {
    let addr = line
        .rsplit("://")
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    addr.parse().unwrap()
}

/// The simulator binary with the demo data set on a free port; returns it and its address.
pub fn simulator(extra: &[&str]) -> (Server, SocketAddr) {
    let (server, line) = spawn_simulator(extra);
    let addr = announced_address(&line);
    (server, addr)
}

/// The simulator binary over TLS (self-signed); returns it, its address and the certificate's
/// fingerprint as `TRUENAS_TLS_FINGERPRINT` takes it.
pub fn simulator_tls() -> (Server, SocketAddr, String) {
    let (server, line) = spawn_simulator(&["--tls"]);
    let addr = announced_address(&line);
    let (_, fingerprint) = line.split_once(" fingerprint=").unwrap();
    (server, addr, fingerprint.trim().to_owned())
}

/// Environment pointing the CLI or portal at a simulator.
pub fn env_for(addr: SocketAddr) -> Vec<(&'static str, String)> {
    vec![
        ("TRUENAS_HOST", addr.ip().to_string()),
        ("TRUENAS_PORT", addr.port().to_string()),
        ("TRUENAS_USE_SSL", "false".into()),
        ("TRUENAS_API_KEY", "1-selfpass-demo-service-key".into()),
        ("TRUENAS_API_KEY_USER", "passwd-service".into()),
        ("SELFPASS_SMB_ENABLED", "false".into()),
    ]
}

/// Waits until something accepts TCP connections on `addr`.
pub fn wait_for_port(addr: SocketAddr, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// A plain HTTP/1.1 GET; returns (status, body).
pub fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}
