//! Integration tests of the selfpass CLI.
