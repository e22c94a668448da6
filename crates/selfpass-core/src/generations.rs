//! Per-user session generations: a password change (or lock, or reset) bumps the user's number,
//! and every portal session signed in under an older number is void. Kept where the throttle
//! counters are, so it reaches every portal replica when that is Redis.

use std::collections::HashMap;
use std::sync::Mutex;

const REDIS_PREFIX: &str = "selfpass:generation:";

pub(crate) enum Generations {
    Memory(Mutex<HashMap<String, u64>>),
    #[cfg(feature = "redis")]
    Redis(redis::aio::ConnectionManager),
}

impl Generations {
    pub(crate) fn memory() -> Self {
        Generations::Memory(Mutex::new(HashMap::new()))
    }

    #[cfg(feature = "redis")]
    pub(crate) async fn redis(url: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        Ok(Generations::Redis(client.get_connection_manager().await?))
    }

    /// The user's current generation; `None` when the store cannot answer (callers fail closed:
    /// a session that cannot be shown current is treated as ended).
    pub(crate) async fn current(&self, username: &str) -> Option<u64> {
        match self {
            Generations::Memory(map) => Some(map.lock().ok()?.get(username).copied().unwrap_or(0)),
            #[cfg(feature = "redis")]
            Generations::Redis(connection) => {
                let mut connection = connection.clone();
                let value: Result<Option<u64>, _> = redis::cmd("GET")
                    .arg(format!("{REDIS_PREFIX}{username}"))
                    .query_async(&mut connection)
                    .await;
                match value {
                    Ok(v) => Some(v.unwrap_or(0)),
                    Err(e) => {
                        tracing::error!(error = %e, "session generations: redis GET failed");
                        None
                    }
                }
            }
        }
    }

    /// Ends every session of `username` signed in so far.
    pub(crate) async fn bump(&self, username: &str) {
        match self {
            Generations::Memory(map) => {
                if let Ok(mut map) = map.lock() {
                    *map.entry(username.to_owned()).or_insert(0) += 1;
                }
            }
            #[cfg(feature = "redis")]
            Generations::Redis(connection) => {
                let mut connection = connection.clone();
                let done: Result<u64, _> = redis::cmd("INCR")
                    .arg(format!("{REDIS_PREFIX}{username}"))
                    .query_async(&mut connection)
                    .await;
                if let Err(e) = done {
                    tracing::error!(error = %e, user = username, "session generations: redis INCR failed");
                }
            }
        }
    }
}
