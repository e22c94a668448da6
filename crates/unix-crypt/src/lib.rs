#![doc = include_str!("../README.md")]

mod b64;
mod bcrypt;
mod error;
mod md5;
mod sha;
mod yescrypt;

pub use error::{Error, Result};

use std::sync::atomic::{AtomicU64, Ordering};
use subtle::ConstantTimeEq;

/// A crypt(3) hash scheme this crate verifies and creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// `$6$`: SHA-512-crypt, what TrueNAS writes.
    Sha512Crypt,
    /// `$5$`: SHA-256-crypt.
    Sha256Crypt,
    /// `$1$`: MD5-crypt (legacy; weak).
    Md5Crypt,
    /// `$y$`: yescrypt, the default of current Debian and most Linux.
    Yescrypt,
    /// `$2b$` (also `$2a$`, `$2y$` when verifying): bcrypt.
    Bcrypt,
}

impl Scheme {
    /// Which scheme `hash` uses, from its prefix alone (the rest is checked by [`verify`]).
    ///
    /// # Errors
    /// [`Error::Locked`] or [`Error::Disabled`] for shadow markers, [`Error::Unsupported`] for
    /// another scheme (including traditional DES), [`Error::Malformed`] for anything else.
    pub fn detect(hash: &str) -> Result<Scheme> {
        if hash.starts_with('!') {
            return Err(Error::Locked);
        }
        if hash.starts_with('*') {
            return Err(Error::Disabled);
        }
        let Some(rest) = hash.strip_prefix('$') else {
            // 13 characters of the crypt alphabet is traditional DES crypt.
            return if hash.len() == 13 && b64::all_crypt_chars(hash) {
                Err(Error::Unsupported("des".into()))
            } else if hash.is_empty() {
                Err(Error::Malformed("empty hash"))
            } else {
                Err(Error::Malformed("does not start with $id$"))
            };
        };
        let (id, _) = rest
            .split_once('$')
            .ok_or(Error::Malformed("no '$' after the scheme id"))?;
        match id {
            "6" => Ok(Scheme::Sha512Crypt),
            "5" => Ok(Scheme::Sha256Crypt),
            "1" => Ok(Scheme::Md5Crypt),
            "y" => Ok(Scheme::Yescrypt),
            "2b" | "2a" | "2y" => Ok(Scheme::Bcrypt),
            other if !other.is_empty() && other.len() <= 8 && b64::all_crypt_chars(other) => {
                Err(Error::Unsupported(other.to_owned()))
            }
            _ => Err(Error::Malformed(
                "the scheme id is not a short ./0-9A-Za-z word",
            )),
        }
    }

    /// The `$id$` prefix this crate writes for the scheme.
    pub fn prefix(self) -> &'static str {
        match self {
            Scheme::Sha512Crypt => "$6$",
            Scheme::Sha256Crypt => "$5$",
            Scheme::Md5Crypt => "$1$",
            Scheme::Yescrypt => "$y$",
            Scheme::Bcrypt => "$2b$",
        }
    }
}

/// Checks `password` against the crypt(3) `hash`, as libxcrypt's `crypt_r` would.
///
/// # Errors
/// See the crate documentation: locked, disabled, unsupported and malformed hashes, and a
/// password with a NUL byte (which crypt(3) would silently cut short), are errors, not `false`.
pub fn verify(password: &[u8], hash: &str) -> Result<bool> {
    counted(verify_uncounted(password, hash))
}

fn verify_uncounted(password: &[u8], hash: &str) -> Result<bool> {
    let scheme = Scheme::detect(hash)?;
    if password.contains(&0) {
        return Err(Error::PasswordContainsNul);
    }
    match scheme {
        Scheme::Sha512Crypt | Scheme::Sha256Crypt => {
            let variant = if scheme == Scheme::Sha512Crypt {
                sha::Variant::Sha512
            } else {
                sha::Variant::Sha256
            };
            let (setting, _) = sha::parse(variant, hash)?;
            Ok(constant_time_eq(&sha::compute(password, &setting)?, hash))
        }
        Scheme::Md5Crypt => {
            let (salt, _) = md5::parse(hash)?;
            Ok(constant_time_eq(&md5::compute(password, salt), hash))
        }
        Scheme::Yescrypt => yescrypt::verify(password, hash),
        Scheme::Bcrypt => bcrypt::verify(password, hash),
    }
}

/// Hashes `password` under `scheme` with a fresh salt from the OS CSPRNG, in the form libxcrypt
/// writes by default (`$6$`/`$5$`: 16-character salt, 5000 rounds; `$y$`: cost `j9T`;
/// `$2b$`: cost 10).
///
/// # Errors
/// [`Error::PasswordContainsNul`]; [`Error::PasswordTooLong`] for bcrypt over 72 bytes;
/// [`Error::Random`] if the OS random source fails.
pub fn hash(password: &[u8], scheme: Scheme) -> Result<String> {
    counted(hash_uncounted(password, scheme))
}

/// Hash computations this process has completed through [`verify`] and [`hash`] (one per call
/// that returned `Ok`), for metrics and benchmarks: how many hashes a request costs.
pub fn operations() -> u64 {
    OPERATIONS.load(Ordering::Relaxed)
}

static OPERATIONS: AtomicU64 = AtomicU64::new(0);

/// Counts a hash computation that completed.
fn counted<T>(done: Result<T>) -> Result<T> {
    if done.is_ok() {
        OPERATIONS.fetch_add(1, Ordering::Relaxed);
    }
    done
}

fn hash_uncounted(password: &[u8], scheme: Scheme) -> Result<String> {
    if password.contains(&0) {
        return Err(Error::PasswordContainsNul);
    }
    match scheme {
        Scheme::Sha512Crypt | Scheme::Sha256Crypt => {
            let variant = if scheme == Scheme::Sha512Crypt {
                sha::Variant::Sha512
            } else {
                sha::Variant::Sha256
            };
            let salt = b64::encode(&random_bytes::<12>()?); // 12 bytes = 16 characters
            sha::compute(password, &sha::new_setting(variant, &salt))
        }
        Scheme::Md5Crypt => {
            let salt = b64::encode(&random_bytes::<6>()?); // 6 bytes = 8 characters
            Ok(md5::compute(password, &salt))
        }
        Scheme::Yescrypt => yescrypt::hash(password, &random_bytes::<16>()?),
        Scheme::Bcrypt => bcrypt::hash(password),
    }
}

/// The hash behind a shadow lock marker (`!$6$…` → `$6$…`), or `None` when `hash` is not locked.
///
/// Locking keeps the old hash behind `!`, so a caller can still prove the password before it
/// tells the account's owner (and nobody else) that the account is locked.
pub fn strip_lock(hash: &str) -> Option<&str> {
    hash.starts_with('!').then(|| hash.trim_start_matches('!'))
}

fn constant_time_eq(computed: &str, stored: &str) -> bool {
    computed.len() == stored.len() && bool::from(computed.as_bytes().ct_eq(stored.as_bytes()))
}

fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::Random(e.to_string()))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests;
