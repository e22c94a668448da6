//! Connect to the TrueNAS middleware with an API key and list the local users.
//!
//! With `TRUENAS_API_KEY` set it talks to your server (`TRUENAS_HOST`, `TRUENAS_PORT`,
//! `TRUENAS_USE_SSL`, `TRUENAS_API_KEY_USER`, `TRUENAS_TLS_FINGERPRINT`); without it, to an
//! in-process simulator with the demo users: `cargo run -p examples --example list_users`.

use truenas_client::{Client, Endpoint, Options, Query, SecretString, Tls};

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Kept alive until the end of main when we run against the simulator.
    let mut simulator = None;
    let (endpoint, key, key_user, tls) = match env("TRUENAS_API_KEY") {
        Some(key) => {
            let host = env("TRUENAS_HOST").unwrap_or_else(|| "localhost".into());
            let use_ssl = env("TRUENAS_USE_SSL").is_none_or(|v| v != "false");
            let endpoint = if use_ssl {
                Endpoint::wss(host)
            } else {
                Endpoint::ws(host)
            };
            let port = env("TRUENAS_PORT").map(|p| p.parse()).transpose()?;
            let tls = match env("TRUENAS_TLS_FINGERPRINT") {
                Some(fp) => Tls::Pinned(fp.parse()?),
                None => Tls::System,
            };
            (
                endpoint.with_port(port.unwrap_or(443)),
                key,
                env("TRUENAS_API_KEY_USER"),
                tls,
            )
        }
        None => {
            let sim = truenas_sim::Simulator::start(truenas_sim::SimConfig::demo()).await?;
            let addr = sim.local_addr();
            eprintln!("no TRUENAS_API_KEY: using a simulated TrueNAS on {addr}");
            simulator = Some(sim);
            (
                Endpoint::ws(addr.ip().to_string()).with_port(addr.port()),
                truenas_sim::demo::SERVICE_API_KEY.to_owned(),
                Some(truenas_sim::demo::SERVICE_USER.to_owned()),
                Tls::System,
            )
        }
    };

    let client = Client::connect(endpoint, Options::default().tls(tls)).await?;
    client
        .login_api_key(SecretString::from(key), key_user.as_deref())
        .await?;
    let users = client
        .users(&Query::new().local_only().order_by(["uid"]))
        .await?;
    println!(
        "{:<16} {:>7}  {:<6} {:<6} full name",
        "user", "uid", "smb", "locked"
    );
    for user in users {
        println!(
            "{:<16} {:>7}  {:<6} {:<6} {}",
            user.username, user.uid, user.smb, user.locked, user.full_name
        );
    }
    client.close().await;
    if let Some(sim) = simulator {
        sim.shutdown().await;
    }
    Ok(())
}
