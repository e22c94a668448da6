//! `truenas-sim`: serve the TrueNAS middleware simulator until SIGTERM/SIGINT.

use std::io::Write;
use std::net::SocketAddr;

use clap::Parser;
use truenas_sim::{Fault, RateLimit, ServerVersion, SimConfig, Simulator};

/// A faithful simulator of the TrueNAS middleware, for tests and demos.
#[derive(Parser, Debug)]
#[command(name = "truenas-sim", version)]
struct Args {
    /// Address to listen on (port 0 picks a free port; the printed line tells which).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Serve wss:// with a self-signed certificate; its fingerprint is printed.
    #[arg(long)]
    tls: bool,
    /// Middleware release to imitate: 25.10.1 or 26.0.0.
    #[arg(long, default_value = "25.10.1")]
    server_version: ServerVersion,
    /// Load the demo data set (see the crate docs).
    #[arg(long)]
    demo: bool,
    /// Fault to inject, KIND[=ARG] (repeatable): latency=MS, drop-after=N, close=CODE[:REASON],
    /// redirect=URL, https-redirect, unauthorized, legacy-only, allow-list.
    #[arg(long = "fault")]
    faults: Vec<Fault>,
    /// Unauthenticated-call rate limit: N/SECS[,sleep=MIN-MAX] or off (default 20/60, sleep 1-10).
    #[arg(long)]
    rate_limit: Option<String>,
    /// Add users user0001… (password seed-demo-pass, no privilege, SMB off).
    #[arg(long, default_value_t = 0)]
    seed_users: usize,
    /// Treat the listener as non-loopback: plain API keys over ws:// get revoked.
    #[arg(long)]
    treat_as_remote: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("TRUENAS_SIM_LOG"))
        .init();
    let args = Args::parse();
    let rate_limit = match args.rate_limit.as_deref() {
        None => Some(RateLimit::default()),
        Some("off") => None,
        Some(s) => Some(s.parse::<RateLimit>()?),
    };
    let base = if args.demo {
        SimConfig::demo()
    } else {
        SimConfig::empty()
    };
    let config = base
        .listen(args.listen)
        .tls(args.tls)
        .server_version(args.server_version)
        .faults(args.faults)
        .rate_limit(rate_limit)
        .seed_users(args.seed_users)
        .treat_as_remote(args.treat_as_remote);
    // Handlers first: a supervisor may send SIGTERM the moment it reads the line.
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let sim = Simulator::start(config).await?;
    let line = match sim.fingerprint() {
        Some(fp) => format!("listening on wss://{} fingerprint={fp}", sim.local_addr()),
        None => format!("listening on ws://{}", sim.local_addr()),
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    drop(out);
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    sim.shutdown().await;
    Ok(())
}
