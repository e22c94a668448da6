//! Connect with an API key from the environment and list the local users.
//!
//! ```text
//! TRUENAS_URL=wss://nas.local TRUENAS_API_KEY=1-… TRUENAS_API_KEY_USER=svc \
//! TRUENAS_TLS_FINGERPRINT=sha256:… cargo run -p truenas-client --example list_users
//! ```
//!
//! Also reads `TRUENAS_HOST`, `TRUENAS_PORT`, `TRUENAS_USE_SSL` when `TRUENAS_URL` is unset.
//! Try it against the simulator: `cargo run -p truenas-sim -- --demo`, then
//! `TRUENAS_URL=ws://127.0.0.1:PORT TRUENAS_API_KEY=1-selfpass-demo-service-key
//! TRUENAS_API_KEY_USER=passwd-service cargo run -p truenas-client --example list_users`.

use std::process::ExitCode;

use truenas_client::{Client, Endpoint, Error, Options, Query, SecretString, Tls};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

async fn run() -> Result<(), Error> {
    let endpoint: Endpoint = match env("TRUENAS_URL") {
        Some(url) => url.parse()?,
        None => {
            let host = env("TRUENAS_HOST").unwrap_or_else(|| "localhost".into());
            let tls =
                env("TRUENAS_USE_SSL").is_none_or(|v| !matches!(v.as_str(), "0" | "false" | "no"));
            let ep = if tls {
                Endpoint::wss(host)
            } else {
                Endpoint::ws(host)
            };
            match env("TRUENAS_PORT").and_then(|p| p.parse().ok()) {
                Some(port) => ep.with_port(port),
                None => ep,
            }
        }
    };
    let tls = match env("TRUENAS_TLS_FINGERPRINT") {
        Some(fp) => Tls::Pinned(fp.parse()?),
        None => Tls::System,
    };
    let key = env("TRUENAS_API_KEY").ok_or_else(|| Error::Config {
        reason: "set TRUENAS_API_KEY to an API key (<id>-<key>)".into(),
    })?;
    let client = Client::connect(endpoint, Options::default().tls(tls)).await?;
    client
        .login_api_key(
            SecretString::from(key),
            env("TRUENAS_API_KEY_USER").as_deref(),
        )
        .await?;
    let users = client
        .users(&Query::new().local_only().order_by(["uid"]))
        .await?;
    println!(
        "{:<20} {:>7}  {:<6} {:<8} full name",
        "user", "uid", "locked", "smb"
    );
    for u in users {
        println!(
            "{:<20} {:>7}  {:<6} {:<8} {}",
            u.username, u.uid, u.locked, u.smb, u.full_name
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                eprintln!("  caused by: {s}");
                src = s.source();
            }
            eprintln!("hint: {}", e.hint());
            ExitCode::FAILURE
        }
    }
}
