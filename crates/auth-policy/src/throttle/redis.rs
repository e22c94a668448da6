//! Throttle counters in Redis, so several portal replicas share bans.
//!
//! Each store operation is one Lua script (or one command), so it is atomic on the server: two
//! replicas recording the third failure at the same moment produce one ban, not two doublings.
//! Every key carries the configured prefix and a TTL, so nothing grows for ever. Times are the
//! callers' clock (the throttle's [`super::Clock`]), compared as values; TTLs only collect
//! garbage.

use std::collections::HashSet;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::clock::Millis;
use super::store::{Limit, ThrottleStore};
use crate::{BoxFuture, Error, Result};

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "selfpass:throttle:";

const RECORD_FAILURE: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[7])
redis.call('PEXPIRE', KEYS[1], window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  return false
end
redis.call('DEL', KEYS[1])
local mem = tonumber(ARGV[6])
local strikes = tonumber(redis.call('HGET', KEYS[3], 'n') or '0')
local strikes_until = tonumber(redis.call('HGET', KEYS[3], 'until') or '0')
if strikes_until <= now then strikes = 0 end
strikes = strikes + 1
redis.call('HSET', KEYS[3], 'n', strikes, 'until', string.format('%d', now + mem))
redis.call('PEXPIRE', KEYS[3], mem)
local len = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
if cap > 0 then
  for i = 2, strikes do
    len = len * 2
    if len >= cap then break end
  end
  if len > cap then len = cap end
end
local ban_until = now + len
local old = tonumber(redis.call('GET', KEYS[2]) or '0')
if old > ban_until then ban_until = old end
redis.call('SET', KEYS[2], string.format('%d', ban_until), 'PX', math.max(ban_until - now, 1))
return string.format('%d', ban_until)
";

const ADD_EVENT: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return redis.call('ZCARD', KEYS[1])
";

const ADD_EVENT_BELOW: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return false
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return ARGV[4]
";

/// A [`ThrottleStore`] in Redis.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    record_failure: redis::Script,
    add_event: redis::Script,
    add_event_below: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn redis_error(what: &str, e: redis::RedisError) -> Error {
    Error::Store {
        message: format!("redis {what} failed"),
        source: Some(Box::new(e)),
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`, TLS not supported: run Redis beside the portal)
    /// with the default key prefix.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with_prefix(url, DEFAULT_PREFIX).await
    }

    /// Connects with `prefix` before every key (so several deployments can share one Redis).
    pub async fn connect_with_prefix(url: &str, prefix: &str) -> Result<Self> {
        if prefix
            .chars()
            .any(|c| matches!(c, '*' | '?' | '[' | ']' | '\\'))
        {
            return Err(Error::config(
                "throttle.redis_prefix",
                "must not contain * ? [ ] or \\",
            ));
        }
        let client = redis::Client::open(url).map_err(|e| Error::Config {
            setting: "throttle.redis_url",
            reason: e.to_string(),
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(2);
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| redis_error("connect", e))?;
        Ok(RedisStore {
            connection,
            prefix: prefix.to_owned(),
            record_failure: redis::Script::new(RECORD_FAILURE),
            add_event: redis::Script::new(ADD_EVENT),
            add_event_below: redis::Script::new(ADD_EVENT_BELOW),
        })
    }

    fn key(&self, kind: char, key: &str) -> String {
        format!("{}{kind}:{key}", self.prefix)
    }
}

/// A unique sorted-set member, so two events in the same millisecond both count.
fn member(now: Millis) -> String {
    format!("{now}-{:016x}", rand::random::<u64>())
}

impl ThrottleStore for RedisStore {
    fn record_failure<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
        limit: &'a Limit,
    ) -> BoxFuture<'a, Result<Option<Millis>>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            let until: Option<String> = self
                .record_failure
                .key(self.key('w', key))
                .key(self.key('b', key))
                .key(self.key('s', key))
                .arg(now)
                .arg(limit.window_ms)
                .arg(limit.max_failures)
                .arg(limit.ban_ms)
                .arg(limit.doubling_cap_ms.unwrap_or(0))
                .arg(limit.strike_memory_ms.max(1))
                .arg(member(now))
                .invoke_async(&mut con)
                .await
                .map_err(|e| redis_error("record_failure", e))?;
            until
                .map(|u| {
                    u.parse()
                        .map_err(|_| Error::store("redis returned a malformed ban time"))
                })
                .transpose()
        })
    }

    fn add_event<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
        window_ms: u64,
    ) -> BoxFuture<'a, Result<u32>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            self.add_event
                .key(self.key('w', key))
                .arg(now)
                .arg(window_ms)
                .arg(member(now))
                .invoke_async(&mut con)
                .await
                .map_err(|e| redis_error("add_event", e))
        })
    }

    fn add_event_below<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
        window_ms: u64,
        max: u32,
    ) -> BoxFuture<'a, Result<Option<String>>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            self.add_event_below
                .key(self.key('w', key))
                .arg(now)
                .arg(window_ms)
                .arg(max)
                .arg(member(now))
                .invoke_async(&mut con)
                .await
                .map_err(|e| redis_error("add_event_below", e))
        })
    }

    fn remove_event<'a>(&'a self, key: &'a str, id: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            redis::cmd("ZREM")
                .arg(self.key('w', key))
                .arg(id)
                .query_async::<()>(&mut con)
                .await
                .map_err(|e| redis_error("remove_event", e))
        })
    }

    fn count<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
        window_ms: u64,
    ) -> BoxFuture<'a, Result<u32>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            // Live events are those newer than `now - window` (exclusive), as in the memory store.
            let min = now
                .checked_sub(window_ms)
                .map_or_else(|| "-inf".to_owned(), |m| format!("({m}"));
            redis::cmd("ZCOUNT")
                .arg(self.key('w', key))
                .arg(min)
                .arg("+inf")
                .query_async(&mut con)
                .await
                .map_err(|e| redis_error("count", e))
        })
    }

    fn banned_until<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
    ) -> BoxFuture<'a, Result<Option<Millis>>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            let until: Option<String> = redis::cmd("GET")
                .arg(self.key('b', key))
                .query_async(&mut con)
                .await
                .map_err(|e| redis_error("banned_until", e))?;
            let until = until
                .map(|u| {
                    u.parse::<Millis>()
                        .map_err(|_| Error::store("redis holds a malformed ban time"))
                })
                .transpose()?;
            Ok(until.filter(|&u| u > now))
        })
    }

    fn clear<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            redis::cmd("DEL")
                .arg(self.key('w', key))
                .arg(self.key('b', key))
                .arg(self.key('s', key))
                .query_async::<()>(&mut con)
                .await
                .map_err(|e| redis_error("clear", e))
        })
    }

    fn clear_matching<'a>(&'a self, pattern: &'a str) -> BoxFuture<'a, Result<u64>> {
        Box::pin(async move {
            let mut con = self.connection.clone();
            // Keys are encoded so `*` is the only glob character that can occur in `pattern`.
            let glob = format!("{}[wbs]:{pattern}", self.prefix);
            let mut cursor: u64 = 0;
            let mut logical = HashSet::new();
            loop {
                let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&glob)
                    .arg("COUNT")
                    .arg(1000)
                    .query_async(&mut con)
                    .await
                    .map_err(|e| redis_error("scan", e))?;
                if !keys.is_empty() {
                    redis::cmd("DEL")
                        .arg(&keys)
                        .query_async::<()>(&mut con)
                        .await
                        .map_err(|e| redis_error("clear_matching", e))?;
                }
                // Not atomic across the scan; an admin unban racing a new failure may leave that
                // one failure counted, which is harmless.
                logical.extend(
                    keys.into_iter()
                        .map(|k| k.get(self.prefix.len() + 2..).map(str::to_owned)),
                );
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
            Ok(logical.len() as u64)
        })
    }
}
