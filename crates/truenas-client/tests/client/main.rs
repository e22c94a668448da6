//! Integration tests against truenas-sim (one binary, modules per area).
