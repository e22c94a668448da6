//! Unit tests of parsing and shadow markers; vectors from libxcrypt live in tests/vectors.rs.

use super::*;

const SHA512: &str = "$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1";

fn malformed(hash: &str) {
    assert!(
        matches!(verify(b"secret", hash), Err(Error::Malformed(_))),
        "{hash:?} should be malformed, got {:?}",
        verify(b"secret", hash)
    );
}

#[test]
fn shadow_markers() {
    for locked in ["!", "!!", "!*", &format!("!{SHA512}")] {
        assert_eq!(verify(b"secret", locked), Err(Error::Locked), "{locked}");
    }
    for disabled in ["*", "*LK*", "*0"] {
        assert_eq!(
            verify(b"secret", disabled),
            Err(Error::Disabled),
            "{disabled}"
        );
    }
}

#[test]
fn strip_lock_exposes_the_hash_behind_the_marker() {
    let locked = format!("!{SHA512}");
    assert_eq!(strip_lock(&locked), Some(SHA512));
    assert_eq!(verify(b"secret", strip_lock(&locked).unwrap()), Ok(true));
    assert_eq!(strip_lock(SHA512), None);
    assert_eq!(strip_lock("!!"), Some(""));
}

#[test]
fn unsupported_schemes() {
    assert_eq!(
        verify(b"x", "$7$CU..../....abc$def"),
        Err(Error::Unsupported("7".into()))
    );
    assert_eq!(
        verify(b"x", "$gy$abc$def"),
        Err(Error::Unsupported("gy".into()))
    );
    assert_eq!(
        verify(b"x", "abJnggxhB/yWI"),
        Err(Error::Unsupported("des".into()))
    );
}

#[test]
fn malformed_hashes() {
    let digest = &SHA512[SHA512.rfind('$').unwrap() + 1..];
    for bad in [
        "",
        " ",
        "$",
        "$$",
        "$6",
        "$6$",
        "$6$saltsalt",
        "$6$saltsalt$",
        &format!("$6$saltsalt${}", &digest[1..]), // digest too short
        &format!("$6$saltsalt${digest}x"),        // digest too long
        &format!("$6$saltsalt${digest} "),        // trailing whitespace
        &format!("$6$saltsalt${digest}\n"),       // trailing newline
        &format!("$6$saltsalt${digest}$"),        // trailing field
        &format!(" $6$saltsalt${digest}"),        // leading whitespace
        &format!("$6$salt_salt${digest}"),        // bad salt alphabet
        &format!("$6$saltsalt!${digest}"),        // bad salt alphabet
        &format!("$6$saltsaltsaltsalts${digest}"), // 17-char salt
        &format!("$6$rounds=${digest}"),          // missing rounds value
        &format!("$6$rounds=$saltsalt${digest}"), // empty rounds
        &format!("$6$rounds=abc$saltsalt${digest}"), // non-numeric rounds
        &format!("$6$rounds=05000$saltsalt${digest}"), // leading zero
        &format!("$6$rounds=999$saltsalt${digest}"), // below minimum (libxcrypt rejects)
        &format!("$6$rounds=1000000000$saltsalt${digest}"), // above maximum
        &format!("$6$rounds=99999999999999999999$saltsalt${digest}"), // overflow
        &format!("$6$rounds=-5000$saltsalt${digest}"),
        &format!("$6$saltsalt${}", digest.replace('.', "_")), // bad digest alphabet
        "$1$saltsaltx$abcdefghijklmnopqrstuv",                // 9-char md5 salt
        "$1$salt$abcdefghijklmnopqrstu",                      // md5 digest too short
        "$5$salt$abc",                                        // sha256 digest too short
        "$y$j9T$salt",                                        // yescrypt missing digest
        "$y$j9T$$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ", // empty salt
        "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$6foLM1JhGupouWKMU70wxK61Kw9ZnecbACjJwRadqM2$", // trailing
        "$y$!!!$F5Jx5fExrKuPp53xLKQ..1$6foLM1JhGupouWKMU70wxK61Kw9ZnecbACjJwRadqM2", // params
        "$2b$5$abcdefghijklmnopqrstuu4T826PRnz0Hu6YlprUuxkZxOOj5Fw5S", // one-digit cost
        "$2b$03$abcdefghijklmnopqrstuu4T826PRnz0Hu6YlprUuxkZxOOj5Fw5S", // cost too low
        "$2b$32$abcdefghijklmnopqrstuu4T826PRnz0Hu6YlprUuxkZxOOj5Fw5S", // cost too high
        "$2b$10$abcdefghijklmnopqrstuu4T826PRnz0Hu6YlprUuxkZxOOj5Fw5", // short body
        "$2b$10$abcdefghijklmnopqrstuu4T826PRnz0Hu6YlprUuxkZxOOj5Fw5S ", // trailing space
        "$\u{e9}$abc$def",                                    // non-ASCII id
    ] {
        malformed(bad);
    }
}

#[test]
fn nul_in_password_is_refused_not_truncated() {
    assert_eq!(verify(b"sec\0ret", SHA512), Err(Error::PasswordContainsNul));
    assert_eq!(
        hash(b"a\0b", Scheme::Sha512Crypt),
        Err(Error::PasswordContainsNul)
    );
}

#[test]
fn bcrypt_hash_refuses_long_passwords() {
    assert_eq!(
        hash(&[b'a'; 73], Scheme::Bcrypt),
        Err(Error::PasswordTooLong { max: 72 })
    );
    assert!(hash(&[b'a'; 72], Scheme::Bcrypt).is_ok());
}

#[test]
fn hash_uses_fresh_salts_and_verifies() {
    for scheme in [
        Scheme::Sha512Crypt,
        Scheme::Sha256Crypt,
        Scheme::Md5Crypt,
        Scheme::Yescrypt,
        Scheme::Bcrypt,
    ] {
        let a = hash(b"pw", scheme).unwrap();
        let b = hash(b"pw", scheme).unwrap();
        assert_ne!(a, b, "{scheme:?} salts must differ");
        assert!(a.starts_with(scheme.prefix()), "{a}");
        assert_eq!(Scheme::detect(&a), Ok(scheme));
        assert_eq!(verify(b"pw", &a), Ok(true), "{a}");
        assert_eq!(verify(b"pW", &a), Ok(false), "{a}");
    }
}

#[test]
fn errors_never_contain_the_password() {
    let password = "hunter2-very-secret";
    for h in ["", "!", "*", "$7$x$y", "$6$bad salt$x", SHA512] {
        if let Err(e) = verify(password.as_bytes(), h) {
            assert!(!format!("{e} {e:?}").contains(password));
        }
    }
}

#[test]
fn costs_beyond_the_ceilings_are_refused_not_attempted() {
    // Found by the fuzzer: this parameter string asks yescrypt for more memory than exists.
    let huge = "$y$/ffFfffxfffffff0ffffffffffffqqqqqffffq3aqqqqqqqqqffF$qqfy$l5l8fffffffffffffffffffffffqqfffhf.........";
    assert!(matches!(
        verify(b"x", huge),
        Err(Error::CostTooHigh(_)) | Err(Error::Malformed(_))
    ));
    let digest = &SHA512[SHA512.rfind('$').unwrap() + 1..];
    assert!(matches!(
        verify(b"x", &format!("$6$rounds=999999999$salt${digest}")),
        Err(Error::CostTooHigh(_))
    ));
    assert!(matches!(
        verify(
            b"x",
            "$2b$31$abcdefghijklmnopqrstuu4T826PRnz0Hu6YlprUuxkZxOOj5Fw5S"
        ),
        Err(Error::CostTooHigh(_))
    ));
}
