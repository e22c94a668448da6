//! `verify` per scheme against libxcrypt's `crypt_r` on the same hashes, in the same run.
//! Run: `cargo bench -p unix-crypt --bench verify`; figures go to docs/performance.md.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod libxcrypt;

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use unix_crypt::{Scheme, hash, verify};

fn schemes(c: &mut Criterion) {
    let password = "correct horse battery staple";
    let cases = [
        ("sha512_5000", Scheme::Sha512Crypt),
        ("sha256_5000", Scheme::Sha256Crypt),
        ("md5", Scheme::Md5Crypt),
        ("yescrypt_j9T", Scheme::Yescrypt),
        ("bcrypt_10", Scheme::Bcrypt),
    ];
    let mut reference = libxcrypt::Libxcrypt::new();
    let c_password = libxcrypt::cstring(password);
    for (name, scheme) in cases {
        let stored = hash(password.as_bytes(), scheme).unwrap();
        let c_stored = libxcrypt::cstring(&stored);
        // Same hash, same answer from both before anything is timed.
        assert!(verify(password.as_bytes(), &stored).unwrap());
        assert!(
            reference.verify(&c_password, &c_stored),
            "libxcrypt rejects {stored}"
        );

        let mut group = c.benchmark_group(name);
        group.sample_size(if scheme == Scheme::Bcrypt || scheme == Scheme::Yescrypt {
            20
        } else {
            50
        });
        group.bench_function("unix-crypt", |b| {
            b.iter(|| verify(black_box(password.as_bytes()), black_box(&stored)))
        });
        group.bench_function("libxcrypt", |b| {
            b.iter(|| reference.verify(black_box(&c_password), black_box(&c_stored)))
        });
        group.finish();
    }
}

criterion_group!(benches, schemes);
criterion_main!(benches);
