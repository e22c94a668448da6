//! Shared helpers: start a simulator, connect a client.

use std::time::Duration;

use truenas_client::{Client, Endpoint, Options, SecretString};
use truenas_sim::{SimConfig, Simulator, demo};

pub async fn sim(cfg: SimConfig) -> Simulator {
    Simulator::start(cfg).await.expect("simulator starts")
}

pub fn endpoint(sim: &Simulator) -> Endpoint {
    sim.url("").parse().expect("sim url parses")
}

pub fn opts() -> Options {
    Options::default()
        .connect_timeout(Duration::from_secs(5))
        .call_timeout(Duration::from_secs(10))
}

pub async fn connect(sim: &Simulator, opts: Options) -> Client {
    Client::connect(endpoint(sim), opts)
        .await
        .expect("connects")
}

pub fn service_key() -> SecretString {
    SecretString::from(demo::SERVICE_API_KEY)
}

pub fn secret(s: &str) -> SecretString {
    SecretString::from(s)
}

/// A service-key session.
pub async fn service(sim: &Simulator, opts: Options) -> Client {
    let c = connect(sim, opts).await;
    c.login_api_key(service_key(), Some(demo::SERVICE_USER))
        .await
        .expect("service key logs in");
    c
}
