//! Our yescrypt against the RustCrypto `yescrypt` crate (the oracle), and `$y$` settings that must
//! be refused. libxcrypt's own hashes are checked in tests/vectors.rs.

use super::params::{Flavor, Params};
use super::{check_format, hash, kdf, verify};
use crate::Error;
use proptest::prelude::*;
use yescrypt::{Mode, PasswordHasher, PasswordVerifier, Yescrypt};

const FLAVORS: [(Flavor, Mode); 3] = [
    (Flavor::Scrypt, Mode::Classic),
    (Flavor::Worm, Mode::Worm),
    (Flavor::ReadWrite, Mode::Rw),
];

/// The crate's KDF output for the same inputs.
fn oracle(
    password: &[u8],
    salt: &[u8],
    mode: Mode,
    n_log2: u32,
    r: u32,
    p: u32,
    t: u32,
) -> [u8; 32] {
    let params = yescrypt::Params::new_with_all_params(mode, 1 << n_log2, r, p, t, 0).unwrap();
    let mut out = [0u8; 32];
    yescrypt::yescrypt(password, salt, &params, &mut out).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn kdf_matches_the_rustcrypto_crate(
        password in proptest::collection::vec(any::<u8>(), 0..80),
        salt in proptest::collection::vec(any::<u8>(), 0..=64),
        flavor in 0usize..3,
        n_log2 in 4u32..=8,
        r in 1u32..=8,
        p in 1u32..=2,
        t in 0u32..=2,
    ) {
        let (flavor, mode) = FLAVORS[flavor];
        // libxcrypt refuses classic scrypt with t (the crate would compute it): see below.
        let t = if flavor == Flavor::Scrypt { 0 } else { t };
        let params = Params::new(flavor, n_log2, r, p, t).unwrap();
        prop_assert_eq!(
            kdf::derive(&password, &salt, &params),
            oracle(&password, &salt, mode, n_log2, r, p, t)
        );
    }

    #[test]
    fn near_hashes_are_refused_not_panicked_on(
        params in "[./0-9A-Za-z]{0,8}",
        salt in "[./0-9A-Za-z]{0,90}",
        digest in "[./0-9A-Za-z]{42,44}",
    ) {
        match verify(b"pw", &format!("$y${params}${salt}${digest}")) {
            Ok(_) | Err(Error::Malformed(_)) | Err(Error::CostTooHigh(_)) => {}
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }
}

/// The pre-hash pass (N/p ≥ 256 and 16 MiB per instance), also with two instances and with t.
#[test]
fn prehash_matches_the_rustcrypto_crate() {
    for (n_log2, r, p, t) in [(14, 8, 1, 0), (15, 8, 2, 1), (8, 512, 1, 2)] {
        let params = Params::new(Flavor::ReadWrite, n_log2, r, p, t).unwrap();
        assert!(params.needs_prehash());
        assert_eq!(
            kdf::derive(b"pleaseletmein", b"WZaPV7LSUEKMo34.", &params),
            oracle(
                b"pleaseletmein",
                b"WZaPV7LSUEKMo34.",
                Mode::Rw,
                n_log2,
                r,
                p,
                t
            ),
            "{n_log2} {r} {p} {t}"
        );
    }
}

#[test]
fn classic_scrypt_matches_rfc_7914() {
    // RFC 7914 section 12, the second vector: scrypt("password", "NaCl", N=1024, r=8, p=16).
    let params = Params::new(Flavor::Scrypt, 10, 8, 16, 0).unwrap();
    let dk = kdf::derive(b"password", b"NaCl", &params);
    assert_eq!(
        dk,
        [
            0xfd, 0xba, 0xbe, 0x1c, 0x9d, 0x34, 0x72, 0x00, 0x78, 0x56, 0xe7, 0x19, 0x0d, 0x01,
            0xe9, 0xfe, 0x7c, 0x6a, 0xd7, 0xcb, 0xc8, 0x23, 0x78, 0x30, 0xe7, 0x73, 0x76, 0x63,
            0x4b, 0x37, 0x31, 0x62
        ]
    );
}

/// libxcrypt refuses classic scrypt with t, and so do we; the crate computes something for it.
#[test]
fn classic_scrypt_with_t_is_refused() {
    assert!(matches!(
        Params::new(Flavor::Scrypt, 8, 8, 1, 1),
        Err(Error::Malformed(_))
    ));
    assert!(matches!(
        verify(
            b"pw",
            "$y$.75/.$PQ291geXTtR1L2IgNdKSQ/$..........................................."
        ),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn our_hashes_verify_under_the_crate_and_its_under_ours() {
    let ours = hash(b"correct horse", &[7; 16]).unwrap();
    assert!(ours.starts_with("$y$j9T$"), "{ours}");
    assert!(
        Yescrypt::default()
            .verify_password(b"correct horse", ours.as_str())
            .is_ok()
    );
    assert!(
        Yescrypt::default()
            .verify_password(b"correct horsf", ours.as_str())
            .is_err()
    );

    let theirs = Yescrypt::default()
        .hash_password_with_salt(b"battery staple", &[9; 16])
        .unwrap()
        .to_string();
    assert_eq!(verify(b"battery staple", &theirs), Ok(true));
    assert_eq!(verify(b"battery stapler", &theirs), Ok(false));
}

#[test]
fn refused_settings() {
    let digest = "6foLM1JhGupouWKMU70wxK61Kw9ZnecbACjJwRadqM2";
    let salt = "F5Jx5fExrKuPp53xLKQ..1";
    for (hash, why) in [
        (format!("$y$j9T${salt}"), "missing digest"),
        (format!("$y$j9T$${digest}"), "empty salt"),
        (format!("$y$j9T${salt}${digest}$"), "trailing field"),
        (format!("$y$j9T${salt}x${digest}"), "salt of 23 characters"),
        (
            format!("$y$j9T$F5Jx5fExrKuPp53xLKQ..2${digest}"),
            "salt with stray bits",
        ),
        (
            format!("$y$j9T${}${digest}", "F5Jx".repeat(22)),
            "salt over 64 bytes",
        ),
        (
            format!("$y$j9T${salt}${}", &digest[..42]),
            "digest of 42 characters",
        ),
        (
            format!("$y$j9T${salt}${}z", &digest[..42]),
            "digest with stray bits",
        ),
        (
            format!("$y$j9T${salt}${}!", &digest[..42]),
            "digest alphabet",
        ),
        (format!("$y$j9T1..${salt}${digest}"), "g"),
        (format!("$y$j9T5..${salt}${digest}"), "NROM"),
        (format!("$y$i9T${salt}${digest}"), "flavor"),
        (
            format!("$y$j9T.${salt}${digest}"),
            "p announced but missing",
        ),
    ] {
        assert!(
            matches!(check_format(&hash), Err(Error::Malformed(_))),
            "{why}: {hash}"
        );
    }
    // A well-formed but wrong digest is a mismatch, not an error.
    assert_eq!(verify(b"x", &format!("$y$j75${salt}${digest}")), Ok(false));
}

#[test]
fn costs_above_the_ceilings_are_refused_before_allocating() {
    let rest = "$F5Jx5fExrKuPp53xLKQ..1$6foLM1JhGupouWKMU70wxK61Kw9ZnecbACjJwRadqM2";
    // N = 2^22, r = 256: 128 GiB.
    let huge = Params::new(Flavor::ReadWrite, 22, 256, 1, 0).unwrap();
    let huge = format!("$y${}{rest}", huge.encode().unwrap());
    assert!(
        matches!(check_format(&huge), Err(Error::CostTooHigh(_))),
        "{huge}"
    );
    // 16 MiB, but t = 1000: a thousand passes.
    let slow = Params::new(Flavor::ReadWrite, 12, 32, 1, 1000).unwrap();
    let slow = format!("$y${}{rest}", slow.encode().unwrap());
    assert!(
        matches!(check_format(&slow), Err(Error::CostTooHigh(_))),
        "{slow}"
    );
    // 16 MiB and t = 100 is within the ceiling.
    let fine = Params::new(Flavor::ReadWrite, 12, 32, 1, 100).unwrap();
    assert!(check_format(&format!("$y${}{rest}", fine.encode().unwrap())).is_ok());
}
