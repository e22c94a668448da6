//! A simulator started in-process on its own runtime, and the `selfpass` binary pointed at it
//! through the environment (an isolated one: no inherited settings, a fresh working directory so
//! that no `.env` is read).

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;
use truenas_sim::{Fault, SimConfig, Simulator, demo};

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A running simulator and a scratch directory.
pub struct Sim {
    sim: Option<Simulator>,
    rt: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
}

impl Sim {
    /// Starts a simulator with `config`.
    pub fn start(config: SimConfig) -> Result<Sim, Box<dyn std::error::Error>> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let sim = rt.block_on(Simulator::start(config))?;
        Ok(Sim {
            sim: Some(sim),
            rt,
            dir: tempfile::tempdir()?,
        })
    }

    /// The demo data set.
    pub fn demo() -> Result<Sim, Box<dyn std::error::Error>> {
        Self::start(SimConfig::demo())
    }

    /// The demo data set with faults.
    pub fn with_faults(faults: Vec<Fault>) -> Result<Sim, Box<dyn std::error::Error>> {
        Self::start(SimConfig::demo().faults(faults))
    }

    fn sim(&self) -> &Simulator {
        self.sim
            .as_ref()
            .unwrap_or_else(|| unreachable!("the simulator lives until drop"))
    }

    /// The simulator's port.
    pub fn port(&self) -> u16 {
        self.sim().local_addr().port()
    }

    /// The certificate fingerprint (TLS simulators).
    pub fn fingerprint(&self) -> Option<String> {
        self.sim().fingerprint()
    }

    /// The stored user entry.
    pub fn user(&self, name: &str) -> Value {
        self.sim().user(name).unwrap_or(Value::Null)
    }

    /// The stored password hash of a user.
    pub fn hash(&self, name: &str) -> String {
        self.user(name)["unixhash"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A path in the scratch directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `selfpass` pointed at this simulator with the demo service key.
    pub fn cmd(&self) -> Command {
        let mut cmd = bare_cmd(&self.dir);
        cmd.env("TRUENAS_HOST", "127.0.0.1")
            .env("TRUENAS_PORT", self.port().to_string())
            .env("TRUENAS_USE_SSL", "false")
            .env("TRUENAS_API_KEY", demo::SERVICE_API_KEY)
            // The core keys its audit HMAC with SECRET_KEY, else with the API key, and the demo
            // key is shorter than the 32 bytes that needs.
            .env("SECRET_KEY", "cli-tests-audit-key-0123456789abcdef");
        cmd
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.take() {
            self.rt.block_on(sim.shutdown());
        }
    }
}

/// `selfpass` with an empty environment, run in `dir`.
pub fn bare_cmd(dir: &tempfile::TempDir) -> Command {
    let mut cmd = Command::cargo_bin("selfpass").unwrap_or_else(|e| panic!("selfpass binary: {e}"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("SELFPASS_SMB_ENABLED", "false")
        .env("TRUENAS_TIMEOUT", "5")
        .current_dir(dir.path());
    cmd
}

/// Parses stdout as exactly one JSON document.
pub fn json_doc(output: &std::process::Output) -> Value {
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON document ({e}):\n{text}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// stdout as text.
pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
