//! yescrypt (`$y$`), the default of Debian and most Linux distributions, by the RustCrypto crate.

use crate::b64::all_crypt_chars;
use crate::{Error, Result};
use yescrypt::{PasswordHashRef, PasswordHasher, PasswordVerifier, Yescrypt};

const DIGEST_CHARS: usize = 43;
/// libxcrypt's default (`j9T`) uses 16 MiB; 1 GiB is 64 times that.
const MAX_VERIFY_MEMORY: u128 = 1 << 30;

/// Checks `$y$params$salt$digest` strictly before the crate decodes it.
pub(crate) fn check_format(hash: &str) -> Result<()> {
    let mut fields = hash["$y$".len()..].split('$');
    let (Some(params), Some(salt), Some(digest), None) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        return Err(Error::Malformed("expected $y$params$salt$digest"));
    };
    if params.is_empty() || !all_crypt_chars(params) {
        return Err(Error::Malformed("parameters are not ./0-9A-Za-z"));
    }
    let parsed: yescrypt::Params = params
        .parse()
        .map_err(|_| Error::Malformed("invalid yescrypt parameters"))?;
    // A parameter string may ask for any amount of memory; allocating it would abort the process.
    let bytes = 128u128 * u128::from(parsed.n()) * u128::from(parsed.r()) * u128::from(parsed.p());
    if bytes > MAX_VERIFY_MEMORY {
        return Err(Error::CostTooHigh("yescrypt memory above 1 GiB"));
    }
    if salt.is_empty() || !all_crypt_chars(salt) {
        return Err(Error::Malformed("salt is empty or not ./0-9A-Za-z"));
    }
    if digest.len() != DIGEST_CHARS || !all_crypt_chars(digest) {
        return Err(Error::Malformed(
            "digest is not 43 characters of ./0-9A-Za-z",
        ));
    }
    Ok(())
}

pub(crate) fn verify(password: &[u8], hash: &str) -> Result<bool> {
    check_format(hash)?;
    let parsed =
        PasswordHashRef::new(hash).map_err(|_| Error::Malformed("not a modular-crypt string"))?;
    match Yescrypt::default().verify_password(password, parsed) {
        Ok(()) => Ok(true),
        Err(yescrypt::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(_) => Err(Error::Malformed(
            "invalid yescrypt parameters, salt or digest",
        )),
    }
}

/// Hashes with libxcrypt's default cost (`j9T`: N=4096, r=32, p=1) and a 16-byte salt.
pub(crate) fn hash(password: &[u8], salt: &[u8; 16]) -> Result<String> {
    Yescrypt::default()
        .hash_password_with_salt(password, salt)
        .map(|h| h.to_string())
        .map_err(|_| Error::Malformed("yescrypt refused its default parameters"))
}
