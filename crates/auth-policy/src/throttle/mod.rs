//! Brute-force throttling in sliding windows.
//!
//! Failures count against three keys at once: the (name, client address) pair — short bans that
//! double on repeat up to an hour; the name across all addresses — a higher threshold and a fixed
//! ban, so nobody can keep a user out for long; and the client address alone. Separately, the
//! attempts that reach TrueNAS's PAM (a login as the user) are capped per name below TrueNAS's own
//! faillock ([`Throttle::reserve_user_login`] takes that budget atomically, so parallel attempts
//! cannot overshoot it). Once banned, an attempt is refused without running any verifier.
//!
//! Names are the canonical keys from [`crate::names`]. The clock is injected ([`Clock`]) so tests
//! run in milliseconds, and the counters live in a [`ThrottleStore`]: [`MemoryStore`] for one
//! instance, `RedisStore` (feature `redis`) for replicas that must share bans.

mod clock;
#[cfg(feature = "redis")]
mod redis;
mod store;

#[cfg(test)]
mod acceptance;

pub use clock::{Clock, ManualClock, Millis, SystemClock};
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_PREFIX as DEFAULT_REDIS_PREFIX, RedisStore};
pub use store::{Limit, MemoryStore, ThrottleStore};

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use clock::saturating_millis;

use crate::{Error, Result};

/// One limit: `max_failures` within `window` bans for `ban`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Failures within the window that trigger a ban.
    pub max_failures: u32,
    /// The sliding window.
    pub window: Duration,
    /// The (first) ban's length.
    pub ban: Duration,
}

/// Throttle settings. The defaults: per (name, address) a ban after 3 failures in 15 min, first
/// 5 min then doubling (10, 20, 40) up to 1 h, remembered for 24 h; per name a fixed 15-min ban
/// after 10 failures in 15 min; per address a 15-min ban after 20 failures in 15 min; at most 2
/// failures per name reaching TrueNAS's PAM in 15 min.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Per (name, client address); bans double on repeat up to `name_at_address_cap`.
    pub name_at_address: Rule,
    /// The longest (name, client address) ban.
    pub name_at_address_cap: Duration,
    /// How long earlier (name, address) bans are remembered for doubling.
    pub strike_memory: Duration,
    /// Per name across all addresses; a fixed ban, never doubled.
    pub name: Rule,
    /// Per client address across all names.
    pub address: Rule,
    /// Failures that reach TrueNAS's PAM, per name, within `pam_window`.
    pub pam_failures: u32,
    /// The PAM budget's window.
    pub pam_window: Duration,
}

const MINUTE: Duration = Duration::from_secs(60);

impl Default for ThrottleConfig {
    fn default() -> Self {
        ThrottleConfig {
            // First pair ban 5 min, then 10, 20, 40, 60: short, as the design asks, but costly to repeat.
            name_at_address: Rule {
                max_failures: 3,
                window: 15 * MINUTE,
                ban: 5 * MINUTE,
            },
            name_at_address_cap: 60 * MINUTE,
            strike_memory: 24 * 60 * MINUTE,
            name: Rule {
                max_failures: 10,
                window: 15 * MINUTE,
                ban: 15 * MINUTE,
            },
            address: Rule {
                max_failures: 20,
                window: 15 * MINUTE,
                ban: 15 * MINUTE,
            },
            // TrueNAS's STIG faillock locks after 3 failures in 15 min across API, UI and SSH.
            pam_failures: 2,
            pam_window: 15 * MINUTE,
        }
    }
}

impl ThrottleConfig {
    /// Checks the settings make sense.
    pub fn validate(&self) -> Result<()> {
        for (setting, rule) in [
            ("throttle.name_at_address", &self.name_at_address),
            ("throttle.name", &self.name),
            ("throttle.address", &self.address),
        ] {
            if rule.max_failures == 0 {
                return Err(Error::config(setting, "max_failures must be at least 1"));
            }
            if rule.window.is_zero() || rule.ban.is_zero() {
                return Err(Error::config(
                    setting,
                    "window and ban must be longer than zero",
                ));
            }
        }
        if self.name_at_address_cap < self.name_at_address.ban {
            return Err(Error::config(
                "throttle.name_at_address_cap",
                "shorter than the first ban",
            ));
        }
        if self.pam_window.is_zero() {
            return Err(Error::config(
                "throttle.pam_window",
                "must be longer than zero",
            ));
        }
        Ok(())
    }

    fn limit(&self, rule: &Rule, cap: Option<Duration>) -> Limit {
        Limit {
            max_failures: rule.max_failures,
            window_ms: saturating_millis(rule.window),
            ban_ms: saturating_millis(rule.ban),
            doubling_cap_ms: cap.map(saturating_millis),
            strike_memory_ms: saturating_millis(self.strike_memory),
        }
    }
}

/// A ban in force. The two kinds are told apart because callers must word them differently:
/// an address ban is about the client and may be said plainly; a name ban must look exactly like
/// "wrong name or password", or a ban would reveal that a name exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ban {
    /// The client address is banned (for every name).
    Address {
        /// Time left.
        remaining: Duration,
    },
    /// The name is banned, from this address or from all of them.
    Name {
        /// Time left.
        remaining: Duration,
        /// Whether the ban covers every address or only this one.
        scope: NameBanScope,
    },
}

impl Ban {
    /// Time left on the ban.
    pub fn remaining(&self) -> Duration {
        match *self {
            Ban::Address { remaining } | Ban::Name { remaining, .. } => remaining,
        }
    }
}

/// Which name ban applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameBanScope {
    /// Only for this (name, address) pair.
    FromThisAddress,
    /// For the name from every address.
    Everywhere,
}

/// One unit of a name's PAM budget, held while a login as the user runs.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a reservation whose login did not fail should be released"]
pub struct LoginReservation {
    key: String,
    id: String,
}

/// What an admin lifts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnbanTarget {
    /// A canonical name: its own ban and its bans from every address.
    Name(String),
    /// A client address: its own ban and every name's ban from it.
    Address(IpAddr),
}

/// The throttle: decides, from the store's counters, whether an attempt may go ahead.
#[derive(Clone)]
pub struct Throttle {
    store: Arc<dyn ThrottleStore>,
    clock: Arc<dyn Clock>,
    config: ThrottleConfig,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Throttle {
    /// A throttle over `store`, reading time from `clock`.
    pub fn new(
        store: Arc<dyn ThrottleStore>,
        clock: Arc<dyn Clock>,
        config: ThrottleConfig,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Throttle {
            store,
            clock,
            config,
        })
    }

    /// A throttle with an in-memory store, the system clock and the default settings.
    pub fn in_memory() -> Self {
        Throttle {
            store: Arc::new(MemoryStore::new()),
            clock: Arc::new(SystemClock),
            config: ThrottleConfig::default(),
        }
    }

    /// The settings in use.
    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    /// The ban that applies to an attempt as `name` from `address`, if any. Call before running
    /// any verifier; an address ban wins over a name ban (it is the one the client may be told).
    pub async fn check(&self, name: &str, address: IpAddr) -> Result<Option<Ban>> {
        let now = self.clock.now_millis();
        let left = |until: Millis| Duration::from_millis(until.saturating_sub(now));
        if let Some(until) = self.store.banned_until(&address_key(address), now).await? {
            return Ok(Some(Ban::Address {
                remaining: left(until),
            }));
        }
        let pair = self
            .store
            .banned_until(&pair_key(name, address), now)
            .await?;
        let everywhere = self.store.banned_until(&name_key(name), now).await?;
        Ok(match (pair, everywhere) {
            (None, None) => None,
            (Some(p), Some(e)) if e >= p => Some(Ban::Name {
                remaining: left(e),
                scope: NameBanScope::Everywhere,
            }),
            (Some(p), _) => Some(Ban::Name {
                remaining: left(p),
                scope: NameBanScope::FromThisAddress,
            }),
            (None, Some(e)) => Some(Ban::Name {
                remaining: left(e),
                scope: NameBanScope::Everywhere,
            }),
        })
    }

    /// Counts a failed attempt against all three keys; returns the ban that applies afterwards.
    pub async fn record_failure(&self, name: &str, address: IpAddr) -> Result<Option<Ban>> {
        let now = self.clock.now_millis();
        let c = &self.config;
        let pair = c.limit(&c.name_at_address, Some(c.name_at_address_cap));
        let everywhere = c.limit(&c.name, None);
        let addr = c.limit(&c.address, None);
        self.store
            .record_failure(&pair_key(name, address), now, &pair)
            .await?;
        self.store
            .record_failure(&name_key(name), now, &everywhere)
            .await?;
        self.store
            .record_failure(&address_key(address), now, &addr)
            .await?;
        self.check(name, address).await
    }

    /// A proven password: clears the (name, address) counter, its ban and its doubling memory.
    pub async fn record_success(&self, name: &str, address: IpAddr) -> Result<()> {
        self.store.clear(&pair_key(name, address)).await
    }

    /// Whether a login as `name` may still reach TrueNAS's PAM in the current window; when not,
    /// the chain must skip the login verifier (`Unavailable`).
    pub async fn may_try_user_login(&self, name: &str) -> Result<bool> {
        let now = self.clock.now_millis();
        let used = self
            .store
            .count(
                &pam_key(name),
                now,
                saturating_millis(self.config.pam_window),
            )
            .await?;
        Ok(used < self.config.pam_failures)
    }

    /// Counts a failed login as `name` that reached TrueNAS's PAM.
    pub async fn record_pam_failure(&self, name: &str) -> Result<()> {
        let now = self.clock.now_millis();
        self.store
            .add_event(
                &pam_key(name),
                now,
                saturating_millis(self.config.pam_window),
            )
            .await?;
        Ok(())
    }

    /// Takes one unit of `name`'s PAM budget before a login as the user, atomically, so parallel
    /// attempts (from any replica) never overshoot it; `None` when the budget is spent, and the
    /// chain must skip the login verifier. An attempt that does not end in a PAM failure (the
    /// password was right, or the call never reached PAM) gives it back with
    /// [`Throttle::release_user_login`]; a failed one keeps it, counted as the failure.
    pub async fn reserve_user_login(&self, name: &str) -> Result<Option<LoginReservation>> {
        let now = self.clock.now_millis();
        let key = pam_key(name);
        let window = saturating_millis(self.config.pam_window);
        let id = self
            .store
            .add_event_below(&key, now, window, self.config.pam_failures)
            .await?;
        Ok(id.map(|id| LoginReservation { key, id }))
    }

    /// Gives back a reservation whose login did not fail at PAM.
    pub async fn release_user_login(&self, reservation: LoginReservation) -> Result<()> {
        self.store
            .remove_event(&reservation.key, &reservation.id)
            .await
    }

    /// Lifts bans (an admin action; the caller audits it). A name's PAM budget is kept: it
    /// protects the account from TrueNAS's own faillock, which an unban here does not lift.
    pub async fn unban(&self, target: &UnbanTarget) -> Result<()> {
        match target {
            UnbanTarget::Name(name) => {
                self.store.clear(&name_key(name)).await?;
                self.store
                    .clear_matching(&format!("ni:{}:*", encode(name)))
                    .await?;
            }
            UnbanTarget::Address(address) => {
                self.store.clear(&address_key(*address)).await?;
                self.store
                    .clear_matching(&format!("ni:*:{}", encode(&address.to_string())))
                    .await?;
            }
        }
        Ok(())
    }
}

/// Percent-encodes the characters that separate key parts or mean something in a Redis glob, so
/// a name can never reach into another key or pattern.
fn encode(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        if matches!(c, '%' | ':' | '*' | '?' | '[' | ']' | '\\')
            || c.is_whitespace()
            || c.is_control()
        {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn pair_key(name: &str, address: IpAddr) -> String {
    format!("ni:{}:{}", encode(name), encode(&address.to_string()))
}

fn name_key(name: &str) -> String {
    format!("n:{}", encode(name))
}

fn address_key(address: IpAddr) -> String {
    format!("a:{}", encode(&address.to_string()))
}

fn pam_key(name: &str) -> String {
    format!("pam:{}", encode(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_collide_or_glob() {
        assert_eq!(
            pair_key("a:b", "::1".parse().unwrap_or(IpAddr::from([0u8; 4]))),
            "ni:a%3Ab:%3A%3A1"
        );
        assert_eq!(encode("x*y?[z]\\ w"), "x%2Ay%3F%5Bz%5D%5C%20w");
        assert_eq!(encode("zoë"), "zoë");
    }

    #[test]
    fn defaults_are_valid() {
        assert!(ThrottleConfig::default().validate().is_ok());
        let bad = ThrottleConfig {
            name: Rule {
                max_failures: 0,
                ..ThrottleConfig::default().name
            },
            ..ThrottleConfig::default()
        };
        assert!(matches!(bad.validate(), Err(Error::Config { .. })));
    }
}
