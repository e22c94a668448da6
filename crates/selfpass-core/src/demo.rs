//! `--demo`: an in-process simulated TrueNAS with its demo data set, and the configuration that
//! points selfpass at it. The SMB verifier is off (no Samba in the demo; never probe this
//! machine's own port 445).

use crate::config::{Config, Scope, Sources};
use crate::outcome::{Failure, Kind};
use std::net::SocketAddr;
use truenas_sim::{SimConfig, Simulator};

/// The demo users: (name, password, what to try with them).
pub const USERS: &[(&str, &str, &str)] = &[
    (
        "alice",
        truenas_sim::demo::ALICE_PASSWORD,
        "an ordinary SMB user: change the password",
    ),
    (
        "bob",
        truenas_sim::demo::BOB_PASSWORD,
        "an ordinary user without SMB",
    ),
    (
        "carol",
        truenas_sim::demo::CAROL_PASSWORD,
        "locked: told so only after the right password",
    ),
    (
        "dave",
        truenas_sim::demo::DAVE_PASSWORD,
        "password login disabled",
    ),
    (
        "erin",
        truenas_sim::demo::ERIN_PASSWORD,
        "password expired: offered the change at once",
    ),
    (
        "frank",
        truenas_sim::demo::FRANK_PASSWORD,
        "two-factor: TOTP secret JBSWY3DPEHPK3PXP",
    ),
    (
        "grace",
        truenas_sim::demo::GRACE_PASSWORD,
        "holds an empty-role privilege (user session)",
    ),
    (
        truenas_sim::demo::ADMIN_USER,
        truenas_sim::demo::ADMIN_PASSWORD,
        "administrator: always refused",
    ),
];

/// A running demo backend. Dropping it stops the simulator.
pub struct Demo {
    /// Configuration pointing at the simulator (portal scope, with a random SECRET_KEY).
    pub config: Config,
    sim: Simulator,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo")
            .field("simulator", &self.sim.local_addr())
            .finish()
    }
}

impl Demo {
    /// The simulator, for tests that inject faults or read accounts.
    pub fn simulator(&self) -> &Simulator {
        &self.sim
    }

    /// Where the simulator listens.
    pub fn simulator_addr(&self) -> SocketAddr {
        self.sim.local_addr()
    }

    /// Stops the simulator.
    pub async fn shutdown(self) {
        self.sim.shutdown().await;
    }
}

/// Knobs of the demo backend for load runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoOptions {
    /// Extra users `user0001`… (password `seed-demo-pass`, no privilege, SMB off).
    pub seed_users: usize,
    /// Switch off the simulated server's rate limit on unauthenticated calls (benchmarks only).
    pub no_rate_limit: bool,
}

/// Starts the demo backend with `options`.
///
/// # Errors
/// `internal` when the simulator cannot start.
pub async fn start_with_options(options: DemoOptions) -> Result<Demo, Failure> {
    let mut sim = SimConfig::demo().seed_users(options.seed_users);
    if options.no_rate_limit {
        sim = sim.rate_limit(None);
    }
    start_with(sim, &[]).await
}

/// The password of the seeded users (`user0001`…).
pub const SEED_PASSWORD: &str = truenas_sim::demo::SEED_PASSWORD;

/// Starts the simulator with the demo data set on a free loopback port.
///
/// # Errors
/// `internal` when the simulator cannot start.
pub async fn start() -> Result<Demo, Failure> {
    start_with(SimConfig::demo(), &[]).await
}

/// Starts the simulator with `sim_config` (tests: faults, 26.x, seeded users), with `settings`
/// (environment-variable names and values) applied over the demo's own.
///
/// # Errors
/// `internal` when the simulator cannot start or a setting is invalid.
pub async fn start_with(sim_config: SimConfig, settings: &[(&str, &str)]) -> Result<Demo, Failure> {
    let sim = Simulator::start(sim_config)
        .await
        .map_err(|e| Failure::new(Kind::Internal).with_detail(format!("demo simulator: {e}")))?;
    let addr = sim.local_addr();
    let secret: String = {
        use rand::Rng;
        let mut bytes = [0u8; 32];
        rand::rng().fill(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    let env = [
        ("TRUENAS_HOST", addr.ip().to_string()),
        ("TRUENAS_PORT", addr.port().to_string()),
        ("TRUENAS_USE_SSL", "false".into()),
        ("TRUENAS_API_KEY", truenas_sim::demo::SERVICE_API_KEY.into()),
        (
            "TRUENAS_API_KEY_USER",
            truenas_sim::demo::SERVICE_USER.into(),
        ),
        ("SELFPASS_SMB_ENABLED", "false".into()),
        ("SECRET_KEY", secret),
    ];
    let sources = Sources {
        env: env
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .chain(
                settings
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
            )
            .collect(),
        ..Sources::default()
    };
    let config = Config::load(&sources, Scope::Portal)
        .map_err(|e| Failure::new(Kind::Internal).with_detail(e.to_string()))?;
    Ok(Demo { config, sim })
}
