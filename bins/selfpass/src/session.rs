//! Shared plumbing of the commands: logging, the configuration from file, environment and flags,
//! the async runtime and the connection to TrueNAS.

use selfpass_core::{Config, Core, Scope, Sources};

use crate::cli::Global;
use crate::output::CliError;

/// Logs go to stderr: warnings by default, more with `-v`, errors only with `--quiet`;
/// `RUST_LOG` wins when set.
pub fn init_logging(global: &Global) {
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .try_init();
}

/// Where the settings come from: `--config`, the environment (and `.env`), the flags.
pub fn sources(global: &Global) -> Sources {
    Sources {
        file: global.config.clone(),
        overrides: global.settings.overrides.clone(),
        read_env: true,
        env: Vec::new(),
    }
}

/// Loads and validates the configuration (a bad setting is a usage error, exit 2).
pub fn load_config(global: &Global) -> Result<Config, CliError> {
    Config::load(&sources(global), Scope::Both).map_err(CliError::from)
}

/// The async runtime the commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError {
            code: 1,
            key: "internal".into(),
            message: format!("cannot start the async runtime: {e}"),
            hint: None,
            details: Vec::new(),
        })
}

/// Connects and logs in with the service key (exit 3 when that fails).
pub async fn connect(config: Config) -> Result<Core, CliError> {
    Core::connect(config).await.map_err(|f| {
        let mut err = CliError::from(&f);
        if err.code == 3 && err.hint.is_some() {
            err.hint = err
                .hint
                .map(|h| format!("{h} (`selfpass doctor` checks the connection step by step)"));
        }
        err
    })
}
