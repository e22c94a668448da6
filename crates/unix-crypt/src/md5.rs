//! MD5-crypt (`$1$`, Poul-Henning Kamp's FreeBSD scheme), implemented on the `md-5` crate because
//! no maintained crate provides it. Weak by today's standards: verified, never chosen by default.

use crate::b64::{all_crypt_chars, encode_transposed};
use crate::{Error, Result};
use md5::{Digest, Md5};

const MAGIC: &str = "$1$";
const MAX_SALT_CHARS: usize = 8;
const DIGEST_CHARS: usize = 22;
const ORDER: [usize; 16] = [12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 5, 10, 4, 11];

/// Splits `$1$salt$digest` into (salt, digest), strictly.
pub(crate) fn parse(hash: &str) -> Result<(&str, &str)> {
    let (salt, digest) = hash[MAGIC.len()..]
        .split_once('$')
        .ok_or(Error::Malformed("missing '$' between salt and digest"))?;
    if salt.len() > MAX_SALT_CHARS {
        return Err(Error::Malformed("salt longer than 8 characters"));
    }
    if !all_crypt_chars(salt) {
        return Err(Error::Malformed("salt has a character outside ./0-9A-Za-z"));
    }
    if digest.len() != DIGEST_CHARS || !all_crypt_chars(digest) {
        return Err(Error::Malformed(
            "digest is not 22 characters of ./0-9A-Za-z",
        ));
    }
    Ok((salt, digest))
}

/// The full `$1$salt$digest` string for `password`.
pub(crate) fn compute(password: &[u8], salt: &str) -> String {
    let salt_bytes = salt.as_bytes();
    let alternate = Md5::new()
        .chain_update(password)
        .chain_update(salt_bytes)
        .chain_update(password)
        .finalize();

    let mut ctx = Md5::new()
        .chain_update(password)
        .chain_update(MAGIC)
        .chain_update(salt_bytes);
    for chunk in password.chunks(16) {
        ctx.update(&alternate[..chunk.len()]);
    }
    // The original's quirk: per bit of the length, a NUL byte or the password's first byte.
    let mut len = password.len();
    while len > 0 {
        if len & 1 == 1 {
            ctx.update([0u8]);
        } else {
            ctx.update(&password[..1]);
        }
        len >>= 1;
    }
    let mut digest = ctx.finalize();

    for round in 0..1000 {
        let mut ctx = Md5::new();
        if round & 1 == 1 {
            ctx.update(password);
        } else {
            ctx.update(digest);
        }
        if round % 3 != 0 {
            ctx.update(salt_bytes);
        }
        if round % 7 != 0 {
            ctx.update(password);
        }
        if round & 1 == 1 {
            ctx.update(digest);
        } else {
            ctx.update(password);
        }
        digest = ctx.finalize();
    }
    format!("{MAGIC}{salt}${}", encode_transposed(&digest, &ORDER))
}
