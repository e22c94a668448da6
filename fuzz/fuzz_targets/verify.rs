//! `unix_crypt::verify` must never panic, whatever the stored hash and password are.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte splits the input into a password and a hash string.
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(rest.len());
    let (password, hash) = rest.split_at(split);
    if let Ok(hash) = std::str::from_utf8(hash) {
        let _ = unix_crypt::verify(password, hash);
        let _ = unix_crypt::Scheme::detect(hash);
        let _ = unix_crypt::strip_lock(hash);
    }
});
