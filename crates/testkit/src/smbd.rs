//! A throwaway Samba `smbd` on 127.0.0.1, with throwaway Unix/SMB users.
//!
//! [`Smbd::start`] writes an `smb.conf` into a temporary directory (its own lock, state, private,
//! cache, pid and ncalrpc directories; a tdbsam passdb there; `interfaces = lo`, `bind interfaces
//! only`, `disable netbios`, one share, a free port) and runs `smbd --foreground
//! --no-process-group` as the leader of a process group of its own. [`Smbd::add_user`] creates a
//! Unix user with a name unique to the run (`useradd -M`) and gives it an SMB password. On drop,
//! smbd's group (and the `samba-dcerpcd` it may have started on demand) is stopped by pid and
//! the users are deleted (`userdel`). Needs root.

use std::fs::{self, File};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{Error, Result};

/// How long smbd gets to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(15);

/// How the server is configured.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SmbdOptions {
    /// `map to guest = bad user`: unknown users get a guest session.
    pub guest_mapping: bool,
    /// `server signing = mandatory` and `server smb encrypt = required`.
    pub require_encryption: bool,
    /// The server's workgroup (default `SPTEST`).
    pub workgroup: String,
}

impl Default for SmbdOptions {
    fn default() -> Self {
        Self {
            guest_mapping: false,
            require_encryption: false,
            workgroup: "SPTEST".to_owned(),
        }
    }
}

impl SmbdOptions {
    /// Sets `guest_mapping`.
    pub fn guest_mapping(mut self, on: bool) -> Self {
        self.guest_mapping = on;
        self
    }

    /// Sets `require_encryption`.
    pub fn require_encryption(mut self, on: bool) -> Self {
        self.require_encryption = on;
        self
    }
}

/// A running smbd; stopped (with its users deleted) on drop.
#[derive(Debug)]
pub struct Smbd {
    child: Child,
    port: u16,
    config: PathBuf,
    workgroup: String,
    users: Mutex<Vec<String>>,
    // Dropped last: the directory outlives the server.
    dir: tempfile::TempDir,
}

/// A throwaway Unix + SMB user of one [`Smbd`]; deleted when the server drops.
#[derive(Debug, Clone)]
pub struct SmbUser {
    name: String,
    config: PathBuf,
}

/// True when this process runs as root (smbd and useradd need it).
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

impl Smbd {
    /// Starts smbd for `test`, or returns `None` after printing that `test` is skipped when smbd,
    /// smbpasswd or root is missing (under `CI=true` that panics instead; see [`crate::require`]).
    ///
    /// # Panics
    /// When the server does not start (a broken setup must not look like a skip).
    pub fn start_for(test: &str, options: SmbdOptions) -> Option<Self> {
        for program in ["smbd", "smbpasswd", "net", "useradd", "userdel"] {
            crate::require(program, test)?;
        }
        if !is_root() {
            if crate::in_ci() {
                panic!("{test}: smbd tests need root, and CI=true forbids skipping");
            }
            eprintln!("SKIPPED {test}: smbd tests need root (CI=true would fail here)");
            return None;
        }
        match Self::start(options) {
            Ok(smbd) => Some(smbd),
            Err(e) => panic!("{test}: cannot start smbd: {e}"),
        }
    }

    /// Writes a throwaway configuration and starts smbd on a free port of 127.0.0.1.
    pub fn start(options: SmbdOptions) -> Result<Self> {
        let program = crate::find_program("smbd").ok_or_else(|| Error::Command {
            command: "smbd".to_owned(),
            output: "not installed".to_owned(),
        })?;
        // The free port may be taken between probing and binding: try a few.
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start(&program, &options) {
                Ok(smbd) => return Ok(smbd),
                Err(e @ Error::NotReady { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::Io(std::io::Error::other("smbd did not start"))))
    }

    fn try_start(program: &Path, options: &SmbdOptions) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("testkit-smbd-").tempdir()?;
        let root = dir.path();
        for sub in [
            "lock", "state", "private", "cache", "pid", "ncalrpc", "log", "share",
        ] {
            fs::create_dir(root.join(sub))?;
        }
        let port = crate::free_port()?;
        let config = root.join("smb.conf");
        fs::write(&config, config_text(root, port, options))?;

        let log_path = root.join("log/smbd.out");
        let log = File::create(&log_path)?;
        let mut command = Command::new(program);
        command
            .args([
                "--foreground",
                "--no-process-group",
                "--debug-stdout",
                "--debuglevel=1",
            ])
            .arg(format!("--configfile={}", config.display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .process_group(0);
        let child = command.spawn()?;
        let mut smbd = Self {
            child,
            port,
            config,
            workgroup: options.workgroup.clone(),
            users: Mutex::new(Vec::new()),
            dir,
        };
        smbd.wait_ready(&log_path)?;
        Ok(smbd)
    }

    fn wait_ready(&mut self, log_path: &Path) -> Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let start = Instant::now();
        while start.elapsed() < READY_WITHIN {
            if let Some(status) = self.child.try_wait()? {
                return Err(Error::NotReady {
                    server: "smbd",
                    seconds: start.elapsed().as_secs(),
                    log: format!("exited with {status}: {}", tail(log_path)),
                });
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(Error::NotReady {
            server: "smbd",
            seconds: READY_WITHIN.as_secs(),
            log: tail(log_path),
        })
    }

    /// The TCP port smbd listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The throwaway `smb.conf`.
    pub fn config_path(&self) -> &Path {
        &self.config
    }

    /// The server's workgroup.
    pub fn workgroup(&self) -> &str {
        &self.workgroup
    }

    /// The temporary directory holding the configuration, databases and `log/smbd.out`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Creates a Unix user with a name unique to this run and sets its SMB password.
    pub fn add_user(&self, password: &str) -> Result<SmbUser> {
        let name = crate::unique_name("spt");
        // useradd takes a lock on /etc/passwd; parallel tests may collide on it: retry.
        let mut attempt = 0;
        loop {
            match run(
                Command::new("useradd").args(["-M", "-s", "/usr/sbin/nologin", &name]),
                None,
            ) {
                Ok(()) => break,
                Err(_) if attempt < 20 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
        self.users
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(name.clone());
        let user = SmbUser {
            name,
            config: self.config.clone(),
        };
        let mut add = Command::new("smbpasswd");
        add.arg("-c")
            .arg(&self.config)
            .args(["-a", "-s", &user.name]);
        run(&mut add, Some(password))?;
        Ok(user)
    }

    /// Sets the account policy "bad lockout attempt" (`pdbedit -P`): after `attempts` wrong
    /// passwords an account is locked out (0 = never).
    pub fn set_lockout_threshold(&self, attempts: u32) -> Result<()> {
        run(
            Command::new("pdbedit").arg("-s").arg(&self.config).args([
                "-P",
                "bad lockout attempt",
                "-C",
                &attempts.to_string(),
            ]),
            None,
        )
    }

    /// Stops the samba-dcerpcd that smbd may have started on demand (its own session leader).
    fn stop_dcerpcd(&self) {
        let pid_file = self.dir.path().join("pid/samba-dcerpcd.pid");
        let Ok(text) = fs::read_to_string(pid_file) else {
            return;
        };
        let Ok(pid) = text.trim().parse::<libc::pid_t>() else {
            return;
        };
        if pid <= 1 {
            return;
        }
        // Only if that pid still runs with our configuration (pid files can be stale).
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let ours = String::from_utf8_lossy(&cmdline).contains(&*self.config.to_string_lossy());
        if ours {
            #[allow(unsafe_code)]
            // SAFETY: kill(2) on the process group of a daemon our smbd started; no memory shared.
            unsafe {
                libc::kill(-pid, libc::SIGTERM);
            }
        }
    }
}

impl Drop for Smbd {
    fn drop(&mut self) {
        self.stop_dcerpcd();
        crate::kill_group(&mut self.child);
        let users = std::mem::take(&mut *self.users.lock().unwrap_or_else(|e| e.into_inner()));
        for name in users {
            if let Err(e) = run(Command::new("userdel").arg(&name), None) {
                eprintln!("testkit: could not delete user {name}: {e}");
            }
        }
    }
}

impl SmbUser {
    /// The Unix / SMB user name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sets a new SMB password.
    pub fn set_password(&self, password: &str) -> Result<()> {
        run(
            Command::new("smbpasswd")
                .arg("-c")
                .arg(&self.config)
                .args(["-s", &self.name]),
            Some(password),
        )
    }

    /// Disables the SMB account (`smbpasswd -d`): logons answer ACCOUNT_DISABLED.
    pub fn disable(&self) -> Result<()> {
        run(
            Command::new("smbpasswd")
                .arg("-c")
                .arg(&self.config)
                .args(["-d", &self.name]),
            None,
        )
    }

    /// Re-enables the SMB account (`smbpasswd -e`).
    pub fn enable(&self) -> Result<()> {
        run(
            Command::new("smbpasswd")
                .arg("-c")
                .arg(&self.config)
                .args(["-e", &self.name]),
            None,
        )
    }

    /// Marks the password as one that must be changed at the next logon
    /// (`net sam set pwdmustchangenow USER yes`): logons with the right password answer
    /// PASSWORD_MUST_CHANGE.
    pub fn set_must_change(&self) -> Result<()> {
        run(
            Command::new("net").arg("-s").arg(&self.config).args([
                "sam",
                "set",
                "pwdmustchangenow",
                &self.name,
                "yes",
            ]),
            None,
        )
    }
}

/// The `smb.conf` of one instance.
fn config_text(root: &Path, port: u16, options: &SmbdOptions) -> String {
    let d = |sub: &str| root.join(sub).display().to_string();
    let mut text = format!(
        "[global]
workgroup = {workgroup}
netbios name = TESTKIT
server role = standalone server
interfaces = lo
bind interfaces only = yes
smb ports = {port}
disable netbios = yes
lock directory = {lock}
state directory = {state}
private dir = {private}
cache directory = {cache}
pid directory = {pid}
ncalrpc dir = {ncalrpc}
log file = {log}/log.%m
passdb backend = tdbsam:{private}/passdb.tdb
usershare path =
registry shares = no
load printers = no
printing = bsd
printcap name = /dev/null
disable spoolss = yes
obey pam restrictions = no
unix password sync = no
",
        workgroup = options.workgroup,
        lock = d("lock"),
        state = d("state"),
        private = d("private"),
        cache = d("cache"),
        pid = d("pid"),
        ncalrpc = d("ncalrpc"),
        log = d("log"),
    );
    if options.guest_mapping {
        text.push_str("map to guest = bad user\nguest account = nobody\n");
    } else {
        text.push_str("map to guest = never\n");
    }
    if options.require_encryption {
        text.push_str("server signing = mandatory\nserver smb encrypt = required\n");
    }
    text.push_str(&format!(
        "\n[share]\npath = {share}\nread only = no\nguest ok = {guest}\n",
        share = d("share"),
        guest = if options.guest_mapping { "yes" } else { "no" },
    ));
    text
}

/// Runs a setup command, feeding `password` twice on stdin (smbpasswd asks for it twice).
/// The password never appears in the error.
fn run(command: &mut Command, password: Option<&str>) -> Result<()> {
    let line = format!("{command:?}");
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    if let Some(mut stdin) = child.stdin.take()
        && let Some(password) = password
    {
        stdin.write_all(format!("{password}\n{password}\n").as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(Error::Command {
            command: line,
            output: format!(
                "{}: {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// The last lines of a log file.
fn tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_self_contained() {
        let text = config_text(
            Path::new("/tmp/x"),
            4455,
            &SmbdOptions::default().require_encryption(true),
        );
        assert!(text.contains("smb ports = 4455"));
        assert!(text.contains("passdb backend = tdbsam:/tmp/x/private/passdb.tdb"));
        assert!(text.contains("server smb encrypt = required"));
        assert!(text.contains("map to guest = never"));
        for line in text.lines().filter(|l| l.contains('/')) {
            assert!(
                line.contains("/tmp/x") || line.contains("/dev/null"),
                "{line}"
            );
        }
    }
}
