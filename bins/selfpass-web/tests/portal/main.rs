//! The portal's one integration-test binary: routes and outcomes through actix's test service,
//! the real browser flow in headless Chromium, and the portal behind real nginx.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod browser;
mod nginx;
mod process;
mod routes;
mod support;
