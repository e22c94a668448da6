//! Running the portal: configuration, logging, the core, the HTTP server and graceful shutdown.

use crate::cli::Args;
use crate::{AppState, app};
use actix_web::HttpServer;
use actix_web::dev::Server;
use anyhow::Context as _;
use selfpass_core::{Config, Core, Scope, Sources};
use std::net::TcpListener;
use std::process::ExitCode;

/// Starts serving `state` on `listener` with `workers` worker threads (tests pass a listener on
/// port 0). The returned server runs when awaited or spawned; stop it through its handle.
///
/// # Errors
/// When the listener cannot be used.
pub fn start(state: AppState, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    Ok(HttpServer::new(move || app(state.clone()))
        .workers(workers.max(1))
        .disable_signals()
        .shutdown_timeout(10)
        .listen(listener)?
        .run())
}

/// The tracing target of audit events (selfpass-core emits them there, one JSON object each).
pub const AUDIT_TARGET: &str = "selfpass::audit";

/// Logs to stderr (JSON lines or human text, filtered by `RUST_LOG`, default `info`), and audit
/// events also to `audit_file` as bare JSON lines when one is configured.
fn init_logging(json: bool, audit_file: Option<&std::path::Path>) -> anyhow::Result<()> {
    use tracing_subscriber::filter::{EnvFilter, Targets};
    use tracing_subscriber::fmt;
    use tracing_subscriber::prelude::*;

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = if json {
        fmt::layer().json().with_writer(std::io::stderr).boxed()
    } else {
        fmt::layer().with_writer(std::io::stderr).boxed()
    };
    let audit = match audit_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| {
                    format!(
                        "setting SELFPASS_AUDIT_LOG (log.audit_file): cannot open {}",
                        path.display()
                    )
                })?;
            Some(
                fmt::layer()
                    .with_writer(std::sync::Mutex::new(file))
                    .with_ansi(false)
                    .without_time()
                    .with_level(false)
                    .with_target(false)
                    .with_filter(Targets::new().with_target(AUDIT_TARGET, tracing::Level::INFO)),
            )
        }
        None => None,
    };
    let _ = tracing_subscriber::registry()
        .with(stderr.with_filter(filter))
        .with(audit)
        .try_init();
    Ok(())
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => tracing::info!("SIGTERM: finishing open requests, then stopping"),
                    _ = tokio::signal::ctrl_c() => tracing::info!("interrupted: stopping"),
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Loads the configuration for a demo run: the simulator's connection, plus the portal and log
/// settings given as flags.
fn demo_config(mut config: Config, args: &Args) -> anyhow::Result<Config> {
    let mut overrides: Vec<(String, String)> = args
        .sources
        .overrides
        .iter()
        .filter(|(k, _)| k.starts_with("portal.") || k.starts_with("log."))
        .cloned()
        .collect();
    // Placeholder connection values so the portal settings validate on their own.
    overrides.push(("truenas.api_key".to_owned(), "1-demo".to_owned()));
    let flags = Config::load(
        &Sources {
            overrides,
            read_env: false,
            ..Sources::default()
        },
        Scope::Both,
    )?;
    let secret = config.portal.secret_key.take();
    config.portal = flags.portal;
    config.portal.secret_key = secret;
    config.log = flags.log;
    Ok(config)
}

async fn run_async(args: Args) -> anyhow::Result<()> {
    // The demo keeps its simulator alive for as long as this binding lives.
    let (config, _demo) = if args.demo {
        let demo = selfpass_core::demo::start()
            .await
            .map_err(|f| anyhow::anyhow!("cannot start the demo: {f}"))?;
        (demo_config(demo.config.clone(), &args)?, Some(demo))
    } else {
        (Config::load(&args.sources, Scope::Portal)?, None)
    };
    init_logging(config.log.json, config.log.audit_file.as_deref())?;
    let listen = config.portal.listen;
    let base = config.portal.base_path.clone();
    let core = Core::connect(config.clone())
        .await
        .map_err(|f| anyhow::anyhow!("cannot start: {f} ({})", f.hint()))?;
    let store = crate::PortalStore::open(&config.portal.session_store).await?;
    tracing::info!(store = ?store, "session store");
    let state = AppState::with_session_store(core, &config.portal, store);
    let listener =
        TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    if args.demo {
        println!("selfpass demo portal: http://{local}{base}/");
        println!("demo users (username / password / note):");
        for (user, password, note) in selfpass_core::demo::USERS {
            println!("  {user:<14} {password:<18} {note}");
        }
        println!("The SMB verifier is off in the demo. Stop with Ctrl-C.");
    }
    tracing::info!(address = %local, base_path = %base, "portal listening");
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let server = start(state, listener, workers)?;
    let handle = server.handle();
    tokio::spawn(async move {
        wait_for_shutdown().await;
        handle.stop(true).await;
    });
    server.await?;
    tracing::info!("stopped");
    Ok(())
}

/// The whole program: parse, configure, serve; the exit code says how it ended.
pub fn run<I, T>(argv: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args = match crate::cli::parse_from(argv) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("selfpass-web: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_async(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("selfpass-web: {e:#}");
            ExitCode::from(2)
        }
    }
}
