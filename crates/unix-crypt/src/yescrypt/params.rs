//! The `$y$` parameter field (`j9T` and the like): yescrypt's variable-length base-64 integers,
//! decoded and checked the way libxcrypt's `yescrypt_r` and `yescrypt_kdf` check them.
//!
//! The field is: flavor, log2(N), r, then optionally a "have" bitmask followed by p (bit 0),
//! t (bit 1), g (bit 2) and log2(NROM) (bit 3), each present only if its bit is set.

use crate::{Error, Result};

/// The crypt(3) base-64 alphabet; a digit's value is its position.
const ALPHABET: &[u8; 64] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a `$y$` hash computes. Every other flavor number is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// Flavor 0: classic scrypt (no SHA-256 wrapping, and no t).
    Scrypt,
    /// Flavor 1: write-once/read-many, scrypt plus t and the SHA-256 wrapping.
    Worm,
    /// Flavor 47 (`j`): the read-write mode with the standard pwxform setting, what libxcrypt
    /// writes. 47 is YESCRYPT_RW (2) + (ROUNDS_6 | GATHER_4 | SIMPLE_2 | SBOX_12K) / 4.
    ReadWrite,
}

impl Flavor {
    const SCRYPT: u32 = 0;
    const WORM: u32 = 1;
    const READ_WRITE: u32 = 47;

    fn from_number(number: u32) -> Result<Flavor> {
        match number {
            Self::SCRYPT => Ok(Flavor::Scrypt),
            Self::WORM => Ok(Flavor::Worm),
            Self::READ_WRITE => Ok(Flavor::ReadWrite),
            _ => Err(Error::Malformed(
                "yescrypt flavor is not scrypt, WORM or the standard read-write one",
            )),
        }
    }

    fn number(self) -> u32 {
        match self {
            Flavor::Scrypt => Self::SCRYPT,
            Flavor::Worm => Self::WORM,
            Flavor::ReadWrite => Self::READ_WRITE,
        }
    }
}

/// Checked yescrypt parameters: every value here is one libxcrypt would compute with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Params {
    flavor: Flavor,
    n_log2: u32,
    r: u32,
    p: u32,
    t: u32,
}

/// Bits of the optional "have" field.
const HAVE_P: u32 = 1;
const HAVE_T: u32 = 2;
const HAVE_G: u32 = 4;
const HAVE_NROM: u32 = 8;

impl Params {
    /// libxcrypt's default cost, `j9T`: read-write, N = 4096, r = 32 (16 MiB), p = 1, t = 0.
    pub(crate) const DEFAULT: Params = Params {
        flavor: Flavor::ReadWrite,
        n_log2: 12,
        r: 32,
        p: 1,
        t: 0,
    };

    /// Parameters from their parts, refused where libxcrypt's `yescrypt_kdf` refuses them.
    pub(crate) fn new(flavor: Flavor, n_log2: u32, r: u32, p: u32, t: u32) -> Result<Params> {
        // libxcrypt's optimised code keeps N in 32 bits and needs at least 4 blocks.
        if !(2..=31).contains(&n_log2) {
            return Err(Error::Malformed("yescrypt N is not 2^2..2^31"));
        }
        if r == 0 || p == 0 || u64::from(r) * u64::from(p) >= 1 << 30 {
            return Err(Error::Malformed("yescrypt r·p is not 1..2^30"));
        }
        if flavor == Flavor::Scrypt && t != 0 {
            return Err(Error::Malformed("classic scrypt has no t"));
        }
        // Each of the p read-write SMix instances needs at least 4 blocks of its own.
        if flavor == Flavor::ReadWrite && (1u64 << n_log2) / u64::from(p) < 4 {
            return Err(Error::Malformed("yescrypt N/p is below 4"));
        }
        Ok(Params {
            flavor,
            n_log2,
            r,
            p,
            t,
        })
    }

    /// Decodes a `$y$` parameter field (the text between the second and third `$`).
    pub(crate) fn decode(field: &str) -> Result<Params> {
        let mut digits = Digits {
            rest: field.as_bytes(),
        };
        let flavor = Flavor::from_number(digits.number(0)?)?;
        let n_log2 = digits.number(1)?;
        let r = digits.number(1)?;
        let (mut p, mut t) = (1, 0);
        if !digits.rest.is_empty() {
            // Bits above HAVE_NROM mean nothing; libxcrypt ignores them, and so do we.
            let have = digits.number(1)?;
            if have & HAVE_P != 0 {
                p = digits.number(2)?;
            }
            if have & HAVE_T != 0 {
                t = digits.number(1)?;
            }
            if have & HAVE_G != 0 {
                return Err(Error::Malformed(
                    "yescrypt hash upgrades (g) are not supported",
                ));
            }
            if have & HAVE_NROM != 0 {
                return Err(Error::Malformed("yescrypt ROM (NROM) is not supported"));
            }
        }
        if !digits.rest.is_empty() {
            return Err(Error::Malformed("characters after the yescrypt parameters"));
        }
        Params::new(flavor, n_log2, r, p, t)
    }

    /// The parameter field as libxcrypt's `yescrypt_encode_params_r` writes it.
    pub(crate) fn encode(&self) -> Result<String> {
        let mut field = String::new();
        push_number(&mut field, self.flavor.number(), 0)?;
        push_number(&mut field, self.n_log2, 1)?;
        push_number(&mut field, self.r, 1)?;
        let have = if self.p != 1 { HAVE_P } else { 0 } | if self.t != 0 { HAVE_T } else { 0 };
        if have != 0 {
            push_number(&mut field, have, 1)?;
        }
        if self.p != 1 {
            push_number(&mut field, self.p, 2)?;
        }
        if self.t != 0 {
            push_number(&mut field, self.t, 1)?;
        }
        Ok(field)
    }

    pub(crate) fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// N, the number of blocks in V (a power of two, 4..=2^31).
    pub(crate) fn n(&self) -> u64 {
        1 << self.n_log2
    }

    /// r, the block size in 128-byte units.
    pub(crate) fn r(&self) -> u32 {
        self.r
    }

    /// p, the number of SMix instances (run one after the other here).
    pub(crate) fn p(&self) -> u32 {
        self.p
    }

    /// t, extra time at the same memory.
    pub(crate) fn t(&self) -> u32 {
        self.t
    }

    /// Whether yescrypt_kdf first runs a smaller pass (N/64, t = 0) and uses its output as the
    /// password: read-write hashes of at least 256 blocks and 16 MiB per SMix instance, `j9T`
    /// included. It makes a cheap first guess cost the attacker a full pass anyway.
    pub(crate) fn needs_prehash(&self) -> bool {
        let per_instance = self.n() / u64::from(self.p);
        self.flavor == Flavor::ReadWrite
            && per_instance >= 0x100
            && per_instance * u64::from(self.r) >= 0x20000
    }

    /// The parameters of the pre-hash pass: N/64 and no extra time.
    pub(crate) fn for_prehash(&self) -> Params {
        Params {
            n_log2: self.n_log2.saturating_sub(6),
            t: 0,
            ..*self
        }
    }
}

/// Reads yescrypt's variable-length numbers. The first digit says how many follow: 0..=47 stand
/// alone, 48..=55 take one more digit, 56..=59 two, 60..=61 three, 62 four, 63 five; the ranges
/// stack, so every number has exactly one encoding.
struct Digits<'a> {
    rest: &'a [u8],
}

impl Digits<'_> {
    fn number(&mut self, min: u32) -> Result<u32> {
        let first = self.digit()?;
        let (mut start, mut end, mut extra) = (0u32, 47u32, 0u32);
        let mut value = u64::from(min);
        while first > end {
            value += u64::from(end + 1 - start) << (6 * extra);
            start = end + 1;
            end = start + (62 - end) / 2;
            extra += 1;
        }
        value += u64::from(first - start) << (6 * extra);
        for shift in (0..extra).rev() {
            value += u64::from(self.digit()?) << (6 * shift);
        }
        u32::try_from(value).map_err(|_| Error::Malformed("yescrypt parameter out of range"))
    }

    fn digit(&mut self) -> Result<u32> {
        let (&c, rest) = self
            .rest
            .split_first()
            .ok_or(Error::Malformed("yescrypt parameters end too early"))?;
        self.rest = rest;
        digit_value(c).ok_or(Error::Malformed("parameters are not ./0-9A-Za-z"))
    }
}

fn digit_value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|i| i as u32)
}

/// Appends `value` (at least `min`) in yescrypt's variable-length form.
fn push_number(field: &mut String, value: u32, min: u32) -> Result<()> {
    let unencodable = Error::Malformed("yescrypt parameter out of range");
    let mut rest = value.checked_sub(min).ok_or(unencodable.clone())?;
    let (mut start, mut end, mut extra) = (0u32, 47u32, 0u32);
    loop {
        let count = (end + 1 - start) << (6 * extra);
        if rest < count {
            break;
        }
        if start >= 63 {
            return Err(unencodable);
        }
        rest -= count;
        start = end + 1;
        end = start + (62 - end) / 2;
        extra += 1;
    }
    field.push(char::from(
        ALPHABET[(start + (rest >> (6 * extra))) as usize & 63],
    ));
    for shift in (0..extra).rev() {
        field.push(char::from(ALPHABET[(rest >> (6 * shift)) as usize & 63]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn libxcrypt_default_is_j9t() {
        assert_eq!(Params::decode("j9T"), Ok(Params::DEFAULT));
        assert_eq!(Params::DEFAULT.encode().as_deref(), Ok("j9T"));
        assert_eq!(Params::DEFAULT.n(), 4096);
    }

    #[test]
    fn optional_fields() {
        // "5" = r 8, "." = have 1 (p), "0" = p 4 (min 2).
        let p4 = Params::decode("j95.0").unwrap();
        assert_eq!((p4.n(), p4.r(), p4.p(), p4.t()), (4096, 8, 4, 0));
        // have 2 (t), t = 2.
        let t2 = Params::decode("j95//").unwrap();
        assert_eq!((t2.p(), t2.t()), (1, 2));
        assert_eq!(t2.encode().as_deref(), Ok("j95//"));
        assert_eq!(Params::decode(".9T").unwrap().flavor(), Flavor::Scrypt);
        assert_eq!(Params::decode("/9T").unwrap().flavor(), Flavor::Worm);
        // A "have" bit libxcrypt does not know (16) is ignored there too.
        assert_eq!(Params::decode("j9TD"), Ok(Params::DEFAULT));
    }

    #[test]
    fn refused_like_libxcrypt() {
        for field in [
            "", "j", "j9", "i9T", "k9T", "29T", "j.T",      // flavors 46, 48, 4; N = 2
            "j9T.",     // "have" says p follows, nothing does
            "j9T1..",   // g
            "j9T5..",   // NROM
            "j9T$",     // not a digit
            "j9T/.x",   // trailing
            ".9T//",    // classic scrypt with t
            "jT.",      // N = 2^32
            "j9zzzzzz", // r out of range
        ] {
            assert!(
                matches!(Params::decode(field), Err(Error::Malformed(_))),
                "{field:?} gave {:?}",
                Params::decode(field)
            );
        }
        // p = 2048 leaves N/p = 2 blocks per read-write instance.
        let n4096_p2048 = Params::new(Flavor::ReadWrite, 12, 1, 2048, 0);
        assert!(n4096_p2048.is_err());
        assert!(Params::new(Flavor::Worm, 12, 1, 2048, 0).is_ok());
    }

    #[test]
    fn number_ranges_stack() {
        for (value, text) in [(0, "."), (47, "j"), (48, "k."), (48 + 511, "rz")] {
            let mut field = String::new();
            push_number(&mut field, value, 0).unwrap();
            assert_eq!(field, text);
            let mut digits = Digits {
                rest: text.as_bytes(),
            };
            assert_eq!(digits.number(0), Ok(value));
            assert!(digits.rest.is_empty());
        }
    }

    proptest! {
        #[test]
        fn numbers_round_trip(value in 0u32..1_091_060_272, min in 0u32..3) {
            let value = value + min;
            let mut field = String::new();
            push_number(&mut field, value, min).unwrap();
            let mut digits = Digits { rest: field.as_bytes() };
            prop_assert_eq!(digits.number(min), Ok(value));
            prop_assert!(digits.rest.is_empty());
        }

        #[test]
        fn params_round_trip(flavor in 0usize..3, n_log2 in 2u32..=31, r in 1u32..5000, p in 1u32..300, t in 0u32..1000) {
            let flavor = [Flavor::Scrypt, Flavor::Worm, Flavor::ReadWrite][flavor];
            let t = if flavor == Flavor::Scrypt { 0 } else { t };
            if let Ok(params) = Params::new(flavor, n_log2, r, p, t) {
                prop_assert_eq!(Params::decode(&params.encode().unwrap()), Ok(params));
            }
        }

        #[test]
        fn decode_never_panics(field in "[./0-9A-Za-z$]{0,20}") {
            match Params::decode(&field) {
                Ok(_) | Err(Error::Malformed(_)) => {}
                Err(other) => prop_assert!(false, "{other:?}"),
            }
        }
    }
}
