//! selfpass-core against truenas-sim (and real smbd / redis-server through testkit).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod change;
mod doctor;
mod servers;
mod signin;
mod support;
mod throttle;
