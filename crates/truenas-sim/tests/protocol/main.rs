//! Protocol tests of the simulator, written with raw WebSocket frames (no client library), one
//! test per row of the spec's tables. One test binary for the whole crate (link time on 2 cores).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

mod accounts;
mod auth;
mod binary;
mod close_codes;
mod faults;
mod http;
mod interop;
mod jsonrpc;
mod legacy;
mod limits;
mod tls;
