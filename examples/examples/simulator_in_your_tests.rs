//! `truenas-sim` as a fixture in your own crate's tests: start it, point your code at it, assert
//! on what the server now holds. `cargo test -p examples --example simulator_in_your_tests`
//! runs the test below; `cargo run` runs the same steps once.

use truenas_client::{Client, Endpoint, Options, Query, SecretString};
use truenas_sim::{Fault, SimConfig, Simulator};

/// What a test of yours would do: talk to the simulator, then check its state directly.
async fn lock_bob_and_check(sim: &Simulator) -> anyhow::Result<()> {
    let addr = sim.local_addr();
    let client = Client::connect(
        Endpoint::ws(addr.ip().to_string()).with_port(addr.port()),
        Options::default(),
    )
    .await?;
    client
        .login_api_key(
            SecretString::from(truenas_sim::demo::SERVICE_API_KEY),
            Some(truenas_sim::demo::SERVICE_USER),
        )
        .await?;
    let bob = client
        .users(&Query::new().filter("username", truenas_client::Op::Eq, "bob"))
        .await?
        .pop()
        .ok_or_else(|| anyhow::anyhow!("the demo has bob"))?;
    client.user_set_locked(bob.id, true).await?;
    // The simulator's library API reads its state without going through the protocol.
    let stored = sim
        .user("bob")
        .ok_or_else(|| anyhow::anyhow!("bob vanished"))?;
    anyhow::ensure!(stored["locked"] == true, "bob should be locked: {stored}");
    client.close().await;
    Ok(())
}

/// Faults let a test see how your code copes with a misbehaving server.
async fn refused_upgrade_is_explained(sim: &Simulator) -> anyhow::Result<()> {
    sim.set_faults(vec![Fault::HttpsRedirect]);
    let addr = sim.local_addr();
    let error = Client::connect(
        Endpoint::ws(addr.ip().to_string()).with_port(addr.port()),
        Options::default().reconnect(false),
    )
    .await
    .err()
    .ok_or_else(|| anyhow::anyhow!("a 307 must refuse the upgrade"))?;
    println!("HTTPS redirect explained as: {error} — {}", error.hint());
    sim.set_faults(Vec::new());
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let sim = Simulator::start(SimConfig::demo()).await?;
    lock_bob_and_check(&sim).await?;
    refused_upgrade_is_explained(&sim).await?;
    println!("bob is locked in the simulator; the fault was explained");
    sim.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_simulator_is_a_fixture() -> anyhow::Result<()> {
        let sim = Simulator::start(SimConfig::demo()).await?;
        lock_bob_and_check(&sim).await?;
        refused_upgrade_is_explained(&sim).await?;
        sim.shutdown().await;
        Ok(())
    }
}
