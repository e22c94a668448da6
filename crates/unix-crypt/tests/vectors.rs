//! libxcrypt's own hashes (tests/fixtures/vectors.jsonl) verify here, and ours verify there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use std::process::Command;
use unix_crypt::{Error, Scheme, hash, verify};

#[derive(serde::Deserialize)]
struct Vector {
    scheme: String,
    password: String,
    hash: String,
}

fn vectors() -> Vec<Vector> {
    include_str!("fixtures/vectors.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("fixture line is JSON"))
        .collect()
}

#[test]
fn libxcrypt_vectors_verify() {
    let vectors = vectors();
    assert!(vectors.len() >= 60, "fixture has {} vectors", vectors.len());
    for v in &vectors {
        assert_eq!(
            verify(v.password.as_bytes(), &v.hash),
            Ok(true),
            "{} {:?}",
            v.scheme,
            v.hash
        );
        let mut wrong = v.password.clone();
        wrong.push('x');
        // bcrypt only reads 72 bytes: a longer password's extra byte changes nothing (libxcrypt too).
        let expect_wrong = !(v.scheme == "bcrypt" && v.password.len() >= 72);
        assert_eq!(
            verify(wrong.as_bytes(), &v.hash),
            Ok(!expect_wrong),
            "{} {:?}",
            v.scheme,
            v.hash
        );
    }
}

/// yescrypt beyond the default cost: every flavor, p > 1, t > 0, odd r, short and long salts
/// (tests/fixtures/gen_yescrypt_params.py), and settings libxcrypt refuses to compute with.
#[test]
fn libxcrypt_yescrypt_parameter_vectors() {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Line {
        Made { password: String, hash: String },
        Rejected { rejected: String },
    }
    let lines: Vec<Line> = include_str!("fixtures/yescrypt_params.jsonl")
        .lines()
        .map(|line| serde_json::from_str(line).expect("fixture line is JSON"))
        .collect();
    let made = lines
        .iter()
        .filter(|l| matches!(l, Line::Made { .. }))
        .count();
    assert!(
        made >= 20 && lines.len() - made >= 8,
        "{made} of {}",
        lines.len()
    );
    for line in &lines {
        match line {
            Line::Made { password, hash } => {
                assert_eq!(verify(password.as_bytes(), hash), Ok(true), "{hash}");
                assert_eq!(verify(b"wrong", hash), Ok(false), "{hash}");
            }
            Line::Rejected { rejected } => assert!(
                matches!(verify(b"password", rejected), Err(Error::Malformed(_))),
                "{rejected}: {:?}",
                verify(b"password", rejected)
            ),
        }
    }
}

#[test]
fn every_scheme_is_covered_with_hard_passwords() {
    let vectors = vectors();
    for scheme in ["sha512", "sha256", "md5", "yescrypt", "bcrypt"] {
        let of_scheme: Vec<_> = vectors.iter().filter(|v| v.scheme == scheme).collect();
        assert!(of_scheme.len() >= 10, "{scheme}");
        assert!(
            of_scheme.iter().any(|v| !v.password.is_ascii()),
            "{scheme} non-ASCII"
        );
        assert!(
            of_scheme.iter().any(|v| v.password.contains(' ')),
            "{scheme} space"
        );
    }
    assert!(vectors.iter().any(|v| v.password.chars().count() == 200));
    assert!(vectors.iter().any(|v| v.password.contains('"')));
}

#[test]
fn bcrypt_reads_72_bytes_like_libxcrypt() {
    let long = vectors()
        .into_iter()
        .find(|v| v.scheme == "bcrypt" && v.password.len() == 100)
        .unwrap();
    assert_eq!(
        verify(&long.password.as_bytes()[..72], &long.hash),
        Ok(true)
    );
    assert_eq!(
        verify(&long.password.as_bytes()[..71], &long.hash),
        Ok(false)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn hash_then_verify_round_trips(password in "\\PC{0,40}", scheme in 0usize..4) {
        let scheme = [Scheme::Sha512Crypt, Scheme::Sha256Crypt, Scheme::Md5Crypt, Scheme::Bcrypt][scheme];
        // bcrypt reads 72 bytes: the `!` appended below must be one of them.
        prop_assume!(scheme != Scheme::Bcrypt || password.len() < 72);
        let h = hash(password.as_bytes(), scheme).unwrap();
        prop_assert_eq!(verify(password.as_bytes(), &h), Ok(true));
        let mut other = password.clone();
        other.push('!');
        prop_assert_eq!(verify(other.as_bytes(), &h), Ok(false));
    }

    #[test]
    fn verify_never_panics(hash_text in "\\PC{0,120}", password in "\\PC{0,20}") {
        let _ = verify(password.as_bytes(), &hash_text);
    }

    #[test]
    fn verify_never_panics_on_near_hashes(prefix in "\\$(6|5|1|y|2b)\\$", rest in "[./0-9A-Za-z$=]{0,100}") {
        let _ = verify(b"pw", &format!("{prefix}{rest}"));
    }
}

/// Our hashes must verify under libxcrypt itself (Python's crypt module calls it).
#[test]
fn libxcrypt_verifies_our_hashes() {
    let probe = Command::new("python3")
        .args(["-W", "ignore", "-c", "import crypt"])
        .output();
    if !matches!(&probe, Ok(o) if o.status.success()) {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("python3 with the crypt module is required under CI=true");
        }
        eprintln!("SKIPPED libxcrypt_verifies_our_hashes: python3's crypt module is not available");
        return;
    }
    let password = "Pä ss \"wörd\" ✓";
    let mut script = String::from("import crypt, sys\nok = True\n");
    for scheme in [
        Scheme::Sha512Crypt,
        Scheme::Sha256Crypt,
        Scheme::Md5Crypt,
        Scheme::Yescrypt,
        Scheme::Bcrypt,
    ] {
        let h = hash(password.as_bytes(), scheme).unwrap();
        script.push_str(&format!(
            "h = {h:?}\nif crypt.crypt({password:?}, h) != h: print('mismatch', h); ok = False\n"
        ));
    }
    script.push_str("sys.exit(0 if ok else 1)\n");
    let out = Command::new("python3")
        .args(["-W", "ignore", "-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
