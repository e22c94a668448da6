//! Check a password against a crypt(3) hash the way PAM (libxcrypt) would.
//!
//! `cargo run -p examples --example verify_hash` checks built-in samples;
//! `echo -n PASSWORD | cargo run -p examples --example verify_hash -- 'HASH'` checks yours
//! (the password comes on standard input, never as an argument).

use std::io::Read;
use unix_crypt::{Error, Scheme, hash, verify};

fn main() -> anyhow::Result<()> {
    if let Some(stored) = std::env::args().nth(1) {
        let mut password = String::new();
        std::io::stdin().read_to_string(&mut password)?;
        let answer = verify(password.trim_end_matches('\n').as_bytes(), &stored);
        println!("{}", describe(&answer));
        std::process::exit(if answer == Ok(true) { 0 } else { 1 });
    }

    let stored = hash(b"correct horse battery staple", Scheme::Sha512Crypt)?;
    println!("a fresh $6$ hash: {stored}");
    for (password, what) in [
        ("correct horse battery staple", "right"),
        ("Correct horse", "wrong"),
    ] {
        println!(
            "{what} password: {}",
            describe(&verify(password.as_bytes(), &stored))
        );
    }
    let locked = format!("!{stored}");
    println!(
        "locked entry:    {}",
        describe(&verify(b"correct horse battery staple", &locked))
    );
    // The password behind a lock can still be proven before telling its owner about the lock.
    let behind = unix_crypt::strip_lock(&locked).unwrap_or(&locked);
    println!(
        "behind the lock: {}",
        describe(&verify(b"correct horse battery staple", behind))
    );
    println!("disabled entry:  {}", describe(&verify(b"anything", "*")));
    println!(
        "yescrypt sample: {}",
        describe(&verify(
            b"x",
            "$y$j9T$F5Jx5fExrKuPp53xLKQ..1$6foLM1JhGupouWKMU70wxK61Kw9ZnecbACjJwRadqM2",
        ))
    );
    Ok(())
}

fn describe(answer: &Result<bool, Error>) -> String {
    match answer {
        Ok(true) => "matches".into(),
        Ok(false) => "does not match".into(),
        Err(e) => format!("cannot check: {e}"),
    }
}
