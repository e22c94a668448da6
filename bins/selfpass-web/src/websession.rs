//! What the portal keeps in its session cookie, and the checks on it: the CSRF token, the signed-in
//! user (the core's `Session`), a pending two-factor step, and the times behind the idle and
//! absolute timeouts (a cookie store cannot expire anything by itself).

use crate::PortalSettings;
use actix_session::Session as WebSession;
use selfpass_core::{PendingSecondFactor, Session};
use std::time::{SystemTime, UNIX_EPOCH};

const CSRF: &str = "csrf";
const USER: &str = "user";
const PENDING: &str = "pending";
const SINCE: &str = "since_ms";
const SEEN: &str = "seen_ms";
const DONE: &str = "done";

/// Unix time in milliseconds (the timeouts are exact to the millisecond, not the second).
fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn random_token() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The session's CSRF token, created when missing.
pub fn csrf_token(ws: &WebSession) -> String {
    if let Ok(Some(token)) = ws.get::<String>(CSRF) {
        return token;
    }
    let token = random_token();
    let _ = ws.insert(CSRF, &token);
    token
}

/// Whether `sent` is the session's CSRF token (compared in constant time).
pub fn csrf_matches(ws: &WebSession, sent: &str) -> bool {
    let Ok(Some(token)) = ws.get::<String>(CSRF) else {
        return false;
    };
    token.len() == sent.len()
        && token
            .bytes()
            .zip(sent.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// Result of the timeout check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Nobody signed in (or waiting for a code).
    Anonymous,
    /// Signed in and within both timeouts (the idle clock has been reset).
    Live,
    /// A timeout passed: the session has been emptied.
    Ended,
}

/// Applies the idle and absolute timeouts and resets the idle clock.
pub fn touch(ws: &WebSession, settings: &PortalSettings) -> Freshness {
    let since = ws.get::<u64>(SINCE).ok().flatten();
    let seen = ws.get::<u64>(SEEN).ok().flatten();
    let (Some(since), Some(seen)) = (since, seen) else {
        return Freshness::Anonymous;
    };
    let now = now();
    if now.saturating_sub(seen) >= millis(settings.idle_timeout)
        || now.saturating_sub(since) >= millis(settings.session_lifetime)
    {
        ws.purge();
        return Freshness::Ended;
    }
    let _ = ws.insert(SEEN, now);
    Freshness::Live
}

/// Starts a fresh session (new cookie contents, new CSRF token), keeping nothing from before.
fn restart(ws: &WebSession) {
    ws.clear();
    ws.renew();
    let now = now();
    let _ = ws.insert(SINCE, now);
    let _ = ws.insert(SEEN, now);
    let _ = ws.insert(CSRF, random_token());
}

/// Records a completed sign-in (the session is renewed).
pub fn sign_in(ws: &WebSession, session: &Session) {
    restart(ws);
    let _ = ws.insert(USER, session);
}

/// Records a sign-in waiting for its two-factor code (the session is renewed).
pub fn await_code(ws: &WebSession, pending: &PendingSecondFactor) {
    restart(ws);
    let _ = ws.insert(PENDING, pending);
}

/// The signed-in user.
pub fn user(ws: &WebSession) -> Option<Session> {
    ws.get::<Session>(USER).ok().flatten()
}

/// The pending two-factor step.
pub fn pending(ws: &WebSession) -> Option<PendingSecondFactor> {
    ws.get::<PendingSecondFactor>(PENDING).ok().flatten()
}

/// After a change: the user is signed out (the change ends all their sessions) and the done page
/// may be shown once for `username`.
pub fn changed(ws: &WebSession, username: &str) {
    ws.remove(USER);
    ws.remove(PENDING);
    let _ = ws.insert(DONE, username);
}

/// The user whose change the done page confirms.
pub fn done(ws: &WebSession) -> Option<String> {
    ws.get::<String>(DONE).ok().flatten()
}
