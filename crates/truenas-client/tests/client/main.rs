//! Integration tests against truenas-sim (one binary, one module per area).

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod common;
mod fake;
mod faults;
mod protocols;
mod reconnect;
mod tls;
