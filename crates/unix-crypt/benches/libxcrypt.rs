//! The one FFI call in the project: libxcrypt's `crypt_r`, as the reference the bench compares
//! against. Bench-only; the library itself is pure Rust.
#![allow(unsafe_code, clippy::expect_used, missing_docs)]

use std::ffi::{CStr, CString, c_char};

/// libxcrypt's `struct crypt_data` is 32768 bytes (crypt.h: CRYPT_DATA_INTERNAL_SIZE and friends).
const CRYPT_DATA_SIZE: usize = 32768;

#[link(name = "crypt")]
unsafe extern "C" {
    fn crypt_r(phrase: *const c_char, setting: *const c_char, data: *mut u8) -> *mut c_char;
}

/// Reusable scratch space for `crypt_r`, as a long-running verifier would keep one.
pub struct Libxcrypt {
    data: Box<[u8]>,
}

impl Default for Libxcrypt {
    fn default() -> Self {
        Self::new()
    }
}

impl Libxcrypt {
    pub fn new() -> Self {
        Self {
            data: vec![0u8; CRYPT_DATA_SIZE].into_boxed_slice(),
        }
    }

    /// `crypt_r(password, hash) == hash`, the way PAM checks a password.
    pub fn verify(&mut self, password: &CStr, hash: &CStr) -> bool {
        // SAFETY: both strings are NUL-terminated; `data` is a zeroed crypt_data-sized buffer
        // owned by `self`, and the returned pointer points into it (valid until the next call).
        let out = unsafe { crypt_r(password.as_ptr(), hash.as_ptr(), self.data.as_mut_ptr()) };
        !out.is_null() && unsafe { CStr::from_ptr(out) } == hash
    }
}

pub fn cstring(s: &str) -> CString {
    CString::new(s).expect("no NUL in bench strings")
}
