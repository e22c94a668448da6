//! End to end: the simulator, CLI and portal binaries together, and every command in the docs.
//!
//! The binaries are the ones `cargo test --workspace` has just built next to this test (no
//! nested cargo: it would wait on the build lock this run holds).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod binaries;
mod deploy;
mod docs;
mod support;
