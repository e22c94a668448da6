//! Verify and create crypt(3) password hashes.
