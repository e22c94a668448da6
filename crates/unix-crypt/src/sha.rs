//! SHA-256-crypt (`$5$`) and SHA-512-crypt (`$6$`), computed by the `sha-crypt` crate and
//! formatted exactly as libxcrypt formats them, so verification is a full-string comparison.

use crate::b64::{all_crypt_chars, encode_transposed};
use crate::{Error, Result};
use sha_crypt::Params;

/// The rounds libxcrypt uses when a hash names none (and then omits `rounds=` from it).
pub(crate) const DEFAULT_ROUNDS: u32 = 5_000;
const MAX_SALT_CHARS: usize = 16;
/// About 7 s of SHA-512 on one core; libxcrypt's default is 5000 and distributions stay below 1M.
const MAX_VERIFY_ROUNDS: u32 = 5_000_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Variant {
    Sha256,
    Sha512,
}

impl Variant {
    fn id(self) -> &'static str {
        match self {
            Variant::Sha256 => "$5$",
            Variant::Sha512 => "$6$",
        }
    }

    fn digest_chars(self) -> usize {
        match self {
            Variant::Sha256 => 43,
            Variant::Sha512 => 86,
        }
    }
}

/// A parsed setting: what is needed to recompute a hash.
pub(crate) struct Setting<'a> {
    variant: Variant,
    /// `Some` when the hash spelled out `rounds=N` (libxcrypt then writes it back).
    rounds: Option<u32>,
    salt: &'a str,
}

/// Splits `$6$[rounds=N$]salt$digest`, checking every part as libxcrypt 4.4 does (it rejects
/// rounds outside 1000..=999999999 and leading zeros rather than clamping them).
pub(crate) fn parse(variant: Variant, hash: &str) -> Result<(Setting<'_>, &str)> {
    let rest = &hash[variant.id().len()..];
    let (rounds, rest) = match rest.strip_prefix("rounds=") {
        Some(after) => {
            let (digits, rest) = after
                .split_once('$')
                .ok_or(Error::Malformed("rounds=N is not followed by '$'"))?;
            (Some(parse_rounds(digits)?), rest)
        }
        None => (None, rest),
    };
    let (salt, digest) = rest
        .split_once('$')
        .ok_or(Error::Malformed("missing '$' between salt and digest"))?;
    if salt.len() > MAX_SALT_CHARS {
        return Err(Error::Malformed("salt longer than 16 characters"));
    }
    if !all_crypt_chars(salt) {
        return Err(Error::Malformed("salt has a character outside ./0-9A-Za-z"));
    }
    if digest.len() != variant.digest_chars() {
        return Err(Error::Malformed("digest has the wrong length"));
    }
    if !all_crypt_chars(digest) {
        return Err(Error::Malformed(
            "digest has a character outside ./0-9A-Za-z",
        ));
    }
    Ok((
        Setting {
            variant,
            rounds,
            salt,
        },
        digest,
    ))
}

fn parse_rounds(digits: &str) -> Result<u32> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Malformed("rounds is not a decimal number"));
    }
    if digits.starts_with('0') {
        return Err(Error::Malformed("rounds has a leading zero"));
    }
    let rounds: u32 = digits
        .parse()
        .map_err(|_| Error::Malformed("rounds is out of range"))?;
    if !(Params::ROUNDS_MIN..=Params::ROUNDS_MAX).contains(&rounds) {
        return Err(Error::Malformed("rounds outside 1000..=999999999"));
    }
    if rounds > MAX_VERIFY_ROUNDS {
        return Err(Error::CostTooHigh("more than 5,000,000 rounds"));
    }
    Ok(rounds)
}

/// Recomputes the full hash string for `password` under `setting`.
pub(crate) fn compute(password: &[u8], setting: &Setting<'_>) -> Result<String> {
    // Validated by `parse`/`new_setting`; a failure here would be our bug, reported as malformed.
    let params = Params::new(setting.rounds.unwrap_or(DEFAULT_ROUNDS))
        .map_err(|_| Error::Malformed("rounds outside 1000..=999999999"))?;
    let salt = setting.salt.as_bytes();
    let digest = match setting.variant {
        Variant::Sha256 => encode_transposed(
            &sha_crypt::sha256_crypt(password, salt, params),
            &SHA256_ORDER,
        ),
        Variant::Sha512 => encode_transposed(
            &sha_crypt::sha512_crypt(password, salt, params),
            &SHA512_ORDER,
        ),
    };
    let rounds = setting
        .rounds
        .map(|r| format!("rounds={r}$"))
        .unwrap_or_default();
    Ok(format!(
        "{}{rounds}{}${digest}",
        setting.variant.id(),
        setting.salt
    ))
}

pub(crate) fn new_setting(variant: Variant, salt: &str) -> Setting<'_> {
    Setting {
        variant,
        rounds: None,
        salt,
    }
}

// The byte order of each scheme's final encoding (glibc's b64_from_24bit calls, flattened).
const SHA256_ORDER: [usize; 32] = [
    20, 10, 0, 11, 1, 21, 2, 22, 12, 23, 13, 3, 14, 4, 24, 5, 25, 15, 26, 16, 6, 17, 7, 27, 8, 28,
    18, 29, 19, 9, 30, 31,
];
const SHA512_ORDER: [usize; 64] = [
    42, 21, 0, 1, 43, 22, 23, 2, 44, 45, 24, 3, 4, 46, 25, 26, 5, 47, 48, 27, 6, 7, 49, 28, 29, 8,
    50, 51, 30, 9, 10, 52, 31, 32, 11, 53, 54, 33, 12, 13, 55, 34, 35, 14, 56, 57, 36, 15, 16, 58,
    37, 38, 17, 59, 60, 39, 18, 19, 61, 40, 41, 20, 62, 63,
];
