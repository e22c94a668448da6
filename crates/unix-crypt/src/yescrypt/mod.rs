//! yescrypt (`$y$`), the default of Debian and most Linux distributions, verified and hashed by
//! this crate's own implementation of the algorithm.
//!
//! Why not the RustCrypto `yescrypt` crate: its pwxform (nearly all of a check's time) indexes
//! S-boxes through re-sliced slices and keeps 64-bit lanes as pairs of `u32`, and measured
//! 1.85–2.24× libxcrypt's time. Here the S-boxes are fixed-size arrays and lanes are `u64`
//! (see `pwxform.rs`); the crate is kept as a dev-dependency, the oracle the tests compare with.
//! SHA-256, HMAC, PBKDF2 and the Salsa20 core come from the RustCrypto crates.
//!
//! Every `$y$` setting libxcrypt computes is accepted: classic scrypt, WORM and the standard
//! read-write flavor, with any N, r, p and t within the cost ceilings. NROM (ROM-backed) hashes,
//! hash upgrades (g) and other pwxform flavors are refused as malformed, as libxcrypt refuses them.

mod block;
mod kdf;
mod params;
mod pwxform;
mod salsa;
#[cfg(test)]
mod tests;

use crate::b64::{self, all_crypt_chars};
use crate::{Error, Result};
use base64ct::{Base64ShaCrypt, Encoding};
use kdf::OUTPUT_BYTES;
use params::Params;
use subtle::ConstantTimeEq;

const DIGEST_CHARS: usize = 43;
/// libxcrypt decodes at most 64 salt bytes and fails the hash beyond that.
const MAX_SALT_BYTES: usize = 64;
/// libxcrypt's default (`j9T`) uses 16 MiB; 1 GiB is 64 times that.
const MAX_VERIFY_MEMORY: u128 = 1 << 30;
/// t multiplies the time without the memory: 4 GiB of BlockMix input is four 1 GiB passes, a
/// few seconds (`j9T` mixes 22 MB).
const MAX_VERIFY_MIXING: u128 = 4 << 30;

/// A `$y$` hash, checked and decoded.
pub(crate) struct Setting {
    params: Params,
    salt: Vec<u8>,
    digest: [u8; OUTPUT_BYTES],
}

/// Checks `$y$params$salt$digest` strictly, refusing costs above the ceilings before anything is
/// allocated, and decodes it.
pub(crate) fn check_format(hash: &str) -> Result<Setting> {
    let body = hash
        .strip_prefix("$y$")
        .ok_or(Error::Malformed("expected $y$params$salt$digest"))?;
    let mut fields = body.split('$');
    let (Some(params), Some(salt), Some(digest), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(Error::Malformed("expected $y$params$salt$digest"));
    };
    if params.is_empty() || !all_crypt_chars(params) {
        return Err(Error::Malformed("parameters are not ./0-9A-Za-z"));
    }
    let params = Params::decode(params)?;
    // A parameter string may ask for any amount of memory; allocating it would abort the process.
    let memory = 128 * u128::from(params.n()) * u128::from(params.r()) * u128::from(params.p());
    if memory > MAX_VERIFY_MEMORY {
        return Err(Error::CostTooHigh("yescrypt memory above 1 GiB"));
    }
    if kdf::mixing_bytes(&params) > MAX_VERIFY_MIXING {
        return Err(Error::CostTooHigh(
            "yescrypt time (t) above 4 GiB of mixing",
        ));
    }
    if salt.is_empty() || !all_crypt_chars(salt) {
        return Err(Error::Malformed("salt is empty or not ./0-9A-Za-z"));
    }
    let salt = Base64ShaCrypt::decode_vec(salt)
        .map_err(|_| Error::Malformed("salt is not canonical crypt base-64"))?;
    if salt.len() > MAX_SALT_BYTES {
        return Err(Error::Malformed("salt is longer than 64 bytes"));
    }
    if digest.len() != DIGEST_CHARS || !all_crypt_chars(digest) {
        return Err(Error::Malformed(
            "digest is not 43 characters of ./0-9A-Za-z",
        ));
    }
    let mut decoded = [0u8; OUTPUT_BYTES];
    match Base64ShaCrypt::decode(digest, &mut decoded) {
        Ok(bytes) if bytes.len() == OUTPUT_BYTES => {}
        _ => return Err(Error::Malformed("digest is not canonical crypt base-64")),
    }
    Ok(Setting {
        params,
        salt,
        digest: decoded,
    })
}

pub(crate) fn verify(password: &[u8], hash: &str) -> Result<bool> {
    let setting = check_format(hash)?;
    let computed = kdf::derive(password, &setting.salt, &setting.params);
    Ok(bool::from(computed[..].ct_eq(&setting.digest[..])))
}

/// Hashes with libxcrypt's default cost (`j9T`: N=4096, r=32, p=1) and a 16-byte salt.
pub(crate) fn hash(password: &[u8], salt: &[u8; 16]) -> Result<String> {
    let params = Params::DEFAULT;
    let digest = kdf::derive(password, salt, &params);
    Ok(format!(
        "$y${}${}${}",
        params.encode()?,
        b64::encode(salt),
        b64::encode(&digest)
    ))
}
