//! Where throttle counters live: the [`ThrottleStore`] trait and the in-memory store.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::clock::Millis;
use crate::{BoxFuture, Error, Result};

/// What a counter does once it reaches its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Failures within `window_ms` that trigger a ban.
    pub max_failures: u32,
    /// The sliding window, in milliseconds.
    pub window_ms: u64,
    /// The first ban's length, in milliseconds.
    pub ban_ms: u64,
    /// When set, each further ban while earlier ones are remembered doubles, up to this length.
    pub doubling_cap_ms: Option<u64>,
    /// How long earlier bans are remembered for doubling, in milliseconds.
    pub strike_memory_ms: u64,
}

/// Storage for sliding windows, bans and strike counts, keyed by opaque strings the throttle
/// builds. Every method is atomic on its own key, so replicas sharing a store never double-count
/// a ban.
///
/// Keys never contain `*`; patterns given to [`ThrottleStore::clear_matching`] use `*` as the
/// only wildcard (any run of characters).
pub trait ThrottleStore: Send + Sync {
    /// Records a failure at `now` under `key`. If the window then holds `limit.max_failures`
    /// events, empties the window, bans the key and returns the ban's end; else returns `None`.
    fn record_failure<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
        limit: &'a Limit,
    ) -> BoxFuture<'a, Result<Option<Millis>>>;

    /// Adds an event at `now` to the window `key` without any ban; returns the events in the
    /// window (`window_ms`) afterwards.
    fn add_event<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
        window_ms: u64,
    ) -> BoxFuture<'a, Result<u32>>;

    /// Adds an event at `now` to the window `key` only if it holds fewer than `max` events
    /// (atomically: concurrent callers never overshoot `max`); returns the event's id for
    /// [`ThrottleStore::remove_event`], or `None` when the window is full.
    fn add_event_below<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
        window_ms: u64,
        max: u32,
    ) -> BoxFuture<'a, Result<Option<String>>>;

    /// Removes the event `id` (from [`ThrottleStore::add_event_below`]) from the window `key`.
    fn remove_event<'a>(&'a self, key: &'a str, id: &'a str) -> BoxFuture<'a, Result<()>>;

    /// Events in the window `key` at `now`.
    fn count<'a>(&'a self, key: &'a str, now: Millis, window_ms: u64)
    -> BoxFuture<'a, Result<u32>>;

    /// The end of `key`'s ban, if it is still banned at `now`.
    fn banned_until<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
    ) -> BoxFuture<'a, Result<Option<Millis>>>;

    /// Forgets everything about `key`: window, ban and strikes.
    fn clear<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>>;

    /// Forgets everything about every key matching `pattern`; returns how many keys matched.
    fn clear_matching<'a>(&'a self, pattern: &'a str) -> BoxFuture<'a, Result<u64>>;
}

/// The length of the `n`-th ban (`n` ≥ 1) under `limit`: fixed, or doubling up to the cap.
pub(crate) fn ban_length(limit: &Limit, strikes: u64) -> u64 {
    match limit.doubling_cap_ms {
        None => limit.ban_ms,
        Some(cap) => {
            let shift = u32::try_from(strikes.saturating_sub(1))
                .unwrap_or(u32::MAX)
                .min(63);
            limit
                .ban_ms
                .checked_shl(shift)
                .filter(|l| *l >> shift == limit.ban_ms)
                .unwrap_or(cap)
                .min(cap)
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    events: VecDeque<(Millis, u64)>,
    /// Longest window this key was used with, so a sweep knows when its events are all stale.
    window_ms: u64,
    ban_until: Millis,
    strikes: u64,
    strikes_until: Millis,
}

impl Entry {
    fn prune(&mut self, now: Millis, window_ms: u64) {
        // An event exactly `window_ms` old is out (Redis's ZREMRANGEBYSCORE bound matches).
        while self
            .events
            .front()
            .is_some_and(|&(t, _)| t.saturating_add(window_ms) <= now)
        {
            self.events.pop_front();
        }
    }

    fn is_dead(&self, now: Millis) -> bool {
        self.ban_until <= now
            && self.strikes_until <= now
            && self
                .events
                .back()
                .is_none_or(|&(t, _)| t.saturating_add(self.window_ms) <= now)
    }
}

/// Counters in this process's memory: the default for a single portal instance.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Entry>>,
    writes: AtomicU64,
    /// Ids for events that may be removed again (0 marks events that never are).
    next_id: AtomicU64,
}

/// Sweep dead entries every this many writes, so a stream of distinct names cannot grow the map
/// for ever.
const SWEEP_EVERY: u64 = 1024;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many keys are held (for tests of the sweep).
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    /// True when no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn with<T>(&self, now: Millis, f: impl FnOnce(&mut HashMap<String, Entry>) -> T) -> Result<T> {
        let mut entries = self
            .entries
            .lock()
            .map_err(|_| Error::store("memory store lock poisoned"))?;
        if self.writes.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            entries.retain(|_, e| !e.is_dead(now));
        }
        Ok(f(&mut entries))
    }

    fn ready<'a, T: Send + 'a>(value: Result<T>) -> BoxFuture<'a, Result<T>> {
        Box::pin(std::future::ready(value))
    }
}

impl ThrottleStore for MemoryStore {
    fn record_failure<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
        limit: &'a Limit,
    ) -> BoxFuture<'a, Result<Option<Millis>>> {
        Self::ready(self.with(now, |entries| {
            let e = entries.entry(key.to_owned()).or_default();
            e.window_ms = e.window_ms.max(limit.window_ms);
            e.prune(now, limit.window_ms);
            e.events.push_back((now, 0));
            if (e.events.len() as u64) < u64::from(limit.max_failures) {
                return None;
            }
            e.events.clear();
            if e.strikes_until <= now {
                e.strikes = 0;
            }
            e.strikes += 1;
            e.strikes_until = now.saturating_add(limit.strike_memory_ms);
            let until = now
                .saturating_add(ban_length(limit, e.strikes))
                .max(e.ban_until);
            e.ban_until = until;
            Some(until)
        }))
    }

    fn add_event<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
        window_ms: u64,
    ) -> BoxFuture<'a, Result<u32>> {
        Self::ready(self.with(now, |entries| {
            let e = entries.entry(key.to_owned()).or_default();
            e.window_ms = e.window_ms.max(window_ms);
            e.prune(now, window_ms);
            e.events.push_back((now, 0));
            u32::try_from(e.events.len()).unwrap_or(u32::MAX)
        }))
    }

    fn add_event_below<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
        window_ms: u64,
        max: u32,
    ) -> BoxFuture<'a, Result<Option<String>>> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        Self::ready(self.with(now, |entries| {
            let e = entries.entry(key.to_owned()).or_default();
            e.window_ms = e.window_ms.max(window_ms);
            e.prune(now, window_ms);
            if e.events.len() as u64 >= u64::from(max) {
                return None;
            }
            e.events.push_back((now, id));
            Some(id.to_string())
        }))
    }

    fn remove_event<'a>(&'a self, key: &'a str, id: &'a str) -> BoxFuture<'a, Result<()>> {
        let id: Option<u64> = id.parse().ok().filter(|&id| id != 0);
        Self::ready(self.with(0, |entries| {
            if let (Some(e), Some(id)) = (entries.get_mut(key), id) {
                e.events.retain(|&(_, i)| i != id);
            }
        }))
    }

    fn count<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
        window_ms: u64,
    ) -> BoxFuture<'a, Result<u32>> {
        Self::ready(self.with(now, |entries| {
            entries.get(key).map_or(0, |e| {
                let live = e
                    .events
                    .iter()
                    .filter(|&&(t, _)| t.saturating_add(window_ms) > now)
                    .count();
                u32::try_from(live).unwrap_or(u32::MAX)
            })
        }))
    }

    fn banned_until<'a>(
        &'a self,
        key: &'a str,
        now: Millis,
    ) -> BoxFuture<'a, Result<Option<Millis>>> {
        Self::ready(self.with(now, |entries| {
            entries
                .get(key)
                .map(|e| e.ban_until)
                .filter(|&until| until > now)
        }))
    }

    fn clear<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>> {
        Self::ready(self.with(0, |entries| {
            entries.remove(key);
        }))
    }

    fn clear_matching<'a>(&'a self, pattern: &'a str) -> BoxFuture<'a, Result<u64>> {
        Self::ready(self.with(0, |entries| {
            let before = entries.len();
            entries.retain(|k, _| !glob_match(pattern, k));
            (before - entries.len()) as u64
        }))
    }
}

/// `*`-only glob matching, as Redis's SCAN MATCH does for keys without `?`, `[` or `\`.
pub(crate) fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("ni:alice:*", "ni:alice:10.0.0.1"));
        assert!(!glob_match("ni:alice:*", "ni:alicex:10.0.0.1"));
        assert!(glob_match("ni:*:10.0.0.1", "ni:bob:10.0.0.1"));
        assert!(!glob_match("ni:*:10.0.0.1", "ni:bob:10.0.0.11"));
        assert!(glob_match("abc", "abc"));
        assert!(!glob_match("abc", "abcd"));
        assert!(glob_match("a*b*c", "aXbYc"));
        assert!(!glob_match("a*bc", "abc".strip_suffix('c').unwrap()));
    }

    #[test]
    fn doubling_is_capped() {
        let limit = Limit {
            max_failures: 3,
            window_ms: 900_000,
            ban_ms: 60_000,
            doubling_cap_ms: Some(3_600_000),
            strike_memory_ms: 86_400_000,
        };
        let lengths: Vec<u64> = (1..=8).map(|n| ban_length(&limit, n)).collect();
        assert_eq!(
            lengths,
            [
                60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000
            ]
        );
        assert_eq!(ban_length(&limit, u64::MAX), 3_600_000);
        assert_eq!(
            ban_length(
                &Limit {
                    doubling_cap_ms: None,
                    ..limit
                },
                5
            ),
            60_000
        );
    }

    #[tokio::test]
    async fn sweep_forgets_dead_keys() {
        let store = MemoryStore::new();
        for i in 0..SWEEP_EVERY - 1 {
            store.add_event(&format!("k{i}"), 0, 1_000).await.unwrap();
        }
        // The next write sweeps: every earlier window is long over.
        store.add_event("fresh", 10_000, 1_000).await.unwrap();
        assert!(store.len() <= 2, "{}", store.len());
    }
}
