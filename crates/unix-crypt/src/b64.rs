//! The crypt(3) base-64 alphabet and the byte shuffles the MD5/SHA-crypt formats apply before it.

use base64ct::{Base64ShaCrypt, Encoding};

/// `./0-9A-Za-z`, the alphabet of salts and digests in every crypt(3) scheme here.
pub(crate) fn is_crypt_char(c: u8) -> bool {
    c == b'.' || c == b'/' || c.is_ascii_alphanumeric()
}

pub(crate) fn all_crypt_chars(s: &str) -> bool {
    s.bytes().all(is_crypt_char)
}

/// Encodes `digest` in the order given by `order` (each scheme's fixed transposition), as
/// glibc's `b64_from_24bit` does: the reordered bytes are plain crypt-base64 little-endian.
pub(crate) fn encode_transposed(digest: &[u8], order: &[usize]) -> String {
    let shuffled: Vec<u8> = order.iter().map(|&i| digest[i]).collect();
    Base64ShaCrypt::encode_string(&shuffled)
}

/// Encodes raw salt bytes (for generated salts).
pub(crate) fn encode(bytes: &[u8]) -> String {
    Base64ShaCrypt::encode_string(bytes)
}
