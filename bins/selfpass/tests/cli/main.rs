//! Integration tests of the `selfpass` CLI: the binary run with assert_cmd against an in-process
//! truenas-sim (one test binary, modules by command).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod bulk;
mod commands;
mod doctor;
mod support;
mod usage;
