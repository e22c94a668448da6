//! The process-wide operation counter, in a test binary of its own so no other test's hashing
//! runs beside it.
#![allow(clippy::unwrap_used)]

use unix_crypt::{Scheme, hash, operations, verify};

#[test]
fn operations_count_completed_hashes_and_nothing_else() {
    let start = operations();
    assert!(verify(b"x", "$1$salt$").is_err(), "malformed");
    assert!(verify(b"x", "!").is_err(), "locked");
    assert!(
        hash(b"nul\0", Scheme::Md5Crypt).is_err(),
        "NUL in the password"
    );
    assert_eq!(operations(), start, "refusals compute nothing");

    let made = hash(b"pw", Scheme::Md5Crypt).unwrap();
    assert_eq!(operations(), start + 1);
    assert!(verify(b"pw", &made).unwrap());
    assert!(!verify(b"other", &made).unwrap());
    assert_eq!(
        operations(),
        start + 3,
        "a match and a mismatch both cost a hash"
    );
}
