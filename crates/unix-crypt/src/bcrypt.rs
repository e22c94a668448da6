//! bcrypt (`$2b$`, `$2a$`, `$2y$`) by the `bcrypt` crate. As libxcrypt does, verification uses the
//! first 72 bytes of a longer password; hashing refuses one, so nobody gets a silently cut password.

use crate::{Error, Result};

pub(crate) const MAX_PASSWORD_BYTES: usize = 72;
const BODY_CHARS: usize = 53; // 22 salt + 31 digest
pub(crate) const DEFAULT_COST: u32 = 10;
/// Cost 16 is about 5 s on one core; each step doubles it.
const MAX_VERIFY_COST: u32 = 16;

fn is_bcrypt_char(c: u8) -> bool {
    c == b'.' || c == b'/' || c.is_ascii_alphanumeric()
}

pub(crate) fn check_format(hash: &str) -> Result<()> {
    // `$2b$` (4 bytes) is already known; then two cost digits, '$', and the body.
    let rest = &hash[4..];
    let (cost, body) = rest
        .split_once('$')
        .ok_or(Error::Malformed("missing '$' after the cost"))?;
    if cost.len() != 2 || !cost.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Malformed("cost is not two digits"));
    }
    let cost: u32 = cost
        .parse()
        .map_err(|_| Error::Malformed("cost is not two digits"))?;
    if !(4..=31).contains(&cost) {
        return Err(Error::Malformed("cost outside 04..=31"));
    }
    if cost > MAX_VERIFY_COST {
        return Err(Error::CostTooHigh("bcrypt cost above 16"));
    }
    if body.len() != BODY_CHARS || !body.bytes().all(is_bcrypt_char) {
        return Err(Error::Malformed(
            "salt and digest are not 53 characters of ./A-Za-z0-9",
        ));
    }
    Ok(())
}

pub(crate) fn verify(password: &[u8], hash: &str) -> Result<bool> {
    check_format(hash)?;
    bcrypt::verify(password, hash).map_err(|_| Error::Malformed("invalid bcrypt salt or digest"))
}

pub(crate) fn hash(password: &[u8]) -> Result<String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::PasswordTooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    // Within 72 bytes the crate's truncating form only drops the C string's NUL terminator, as
    // libxcrypt does for a 72-byte password (its non-truncating form counts the NUL too).
    bcrypt::hash(password, DEFAULT_COST).map_err(|e| match e {
        bcrypt::BcryptError::Rand(e) => Error::Random(e.to_string()),
        other => Error::Random(other.to_string()),
    })
}
