//! The yescrypt KDF as libxcrypt's `yescrypt_kdf` runs it for a `$y$` hash: the optional pre-hash
//! pass, the HMAC-SHA256 and PBKDF2 steps around SMix, SMix itself (scrypt's, with yescrypt's
//! read-write and time extensions), and the SCRAM-style ClientKey/StoredKey ending.

use super::block::{self, SubBlock, integerify, sub_block_to_bytes};
use super::params::{Flavor, Params};
use super::pwxform::{SBOX_INIT_SUB_BLOCKS, Sboxes};
use super::salsa::blockmix_salsa8;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// Bytes of a `$y$` digest (43 base-64 characters).
pub(crate) const OUTPUT_BYTES: usize = 32;

/// yescrypt(password, salt) with a 32-byte output, as crypt(3) computes it.
pub(crate) fn derive(password: &[u8], salt: &[u8], params: &Params) -> [u8; OUTPUT_BYTES] {
    if params.needs_prehash() {
        let prehashed = pass(password, salt, &params.for_prehash(), Pass::Prehash);
        pass(&prehashed, salt, params, Pass::Final)
    } else {
        pass(password, salt, params, Pass::Final)
    }
}

/// Bytes BlockMix reads over a whole check, from the loop counts (the pre-hash pass adds 1/64):
/// the measure of time the cost guard puts a ceiling on.
pub(crate) fn mixing_bytes(params: &Params) -> u128 {
    let (n, p) = (params.n(), u64::from(params.p()));
    let steps = match params.flavor() {
        Flavor::ReadWrite => {
            // SMix1 runs N steps over all instances; each instance then runs Nloop_all SMix2 steps.
            let loops = LoopCounts::new(Flavor::ReadWrite, n / p, params.t(), p);
            u128::from(n) + u128::from(p) * u128::from(loops.all)
        }
        flavor @ (Flavor::Scrypt | Flavor::Worm) => {
            let loops = LoopCounts::new(flavor, n, params.t(), 1);
            u128::from(p) * (u128::from(n) + u128::from(loops.all))
        }
    };
    128 * u128::from(params.r()) * steps
}

/// The pre-hash pass only feeds the final one; only the final pass ends in ClientKey/StoredKey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Prehash,
    Final,
}

/// One yescrypt_kdf_body run.
fn pass(password: &[u8], salt: &[u8], params: &Params, pass: Pass) -> [u8; OUTPUT_BYTES] {
    let classic = params.flavor() == Flavor::Scrypt;
    // yescrypt (not classic scrypt) first turns the password into a fixed-size key.
    let wrapped;
    let pbkdf2_password = if classic {
        password
    } else {
        wrapped = match pass {
            Pass::Prehash => hmac_sha256(b"yescrypt-prehash", password),
            Pass::Final => hmac_sha256(b"yescrypt", password),
        };
        &wrapped[..]
    };
    let block_bytes = 128 * params.r() as usize;
    let mut b_bytes = vec![0u8; block_bytes * params.p() as usize];
    pbkdf2::pbkdf2_hmac::<Sha256>(pbkdf2_password, salt, 1, &mut b_bytes);

    // The key of the final PBKDF2 outside classic scrypt: B's first 32 bytes, which read-write
    // SMix then folds together with the S-box-initialised block.
    let mut inner_key = b_bytes.first_chunk::<32>().copied().unwrap_or_default();
    let mut b = block::from_bytes(&b_bytes);
    smix(&mut b, params, &mut inner_key);
    block::to_bytes(&b, &mut b_bytes);

    let final_password = if classic { password } else { &inner_key[..] };
    let mut out = [0u8; OUTPUT_BYTES];
    pbkdf2::pbkdf2_hmac::<Sha256>(final_password, &b_bytes, 1, &mut out);
    if classic || pass == Pass::Prehash {
        return out;
    }
    // SCRAM's StoredKey = H(HMAC(key, "Client Key")), so yescrypt can sit under a SCRAM variant.
    let client_key = hmac_sha256(&out, b"Client Key");
    Sha256::digest(client_key).into()
}

/// HMAC-SHA256 with a key of at most one SHA-256 block (64 bytes), which HMAC pads with zeros;
/// padding it here lets the fixed-size, infallible constructor stand for `new_from_slice`.
fn hmac_sha256<const KEY_BYTES: usize>(key: &[u8; KEY_BYTES], message: &[u8]) -> [u8; 32] {
    const { assert!(KEY_BYTES <= 64) };
    let mut padded = [0u8; 64];
    padded[..KEY_BYTES].copy_from_slice(key);
    let mut mac = Hmac::<Sha256>::new(&padded.into());
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// SMix over all p blocks of B.
fn smix(b: &mut [SubBlock], params: &Params, inner_key: &mut [u8; 32]) {
    let s = 2 * params.r() as usize;
    let n = params.n() as usize;
    // V is filled by SMix1 as it goes rather than zeroed first: every block of it is written
    // before it is read, and zeroing up to 1 GiB measured 7 % of a `j9T` check.
    let mut v = Vec::with_capacity(n * s);
    let mut scratch = vec![[0u64; 8]; s];
    match params.flavor() {
        Flavor::ReadWrite => smix_read_write(b, params, &mut v, &mut scratch, inner_key),
        flavor @ (Flavor::Scrypt | Flavor::Worm) => {
            // Without read-write the p instances are independent scrypt SMix runs over all of V.
            let loops = LoopCounts::new(flavor, params.n(), params.t(), 1);
            for block in b.chunks_exact_mut(s) {
                let mut mixer = Mixer::Salsa8 {
                    scratch: &mut scratch,
                };
                smix1(block, &mut v, 0, n, false, &mut mixer);
                smix2(block, n, loops.all, false, &mut v, &mut mixer);
            }
        }
    }
}

/// Read-write SMix: each instance gets its own S-boxes and its own N/p slice of V for SMix1 and
/// the writing part of SMix2; then every instance reads (without writing) across all of V.
fn smix_read_write(
    b: &mut [SubBlock],
    params: &Params,
    v: &mut Vec<SubBlock>,
    scratch: &mut [SubBlock],
    inner_key: &mut [u8; 32],
) {
    let s = 2 * params.r() as usize;
    let (n, p) = (params.n(), params.p());
    let loops = LoopCounts::new(
        Flavor::ReadWrite,
        n / u64::from(p),
        params.t(),
        u64::from(p),
    );
    // Slices are rounded down to an even number of blocks; the last instance takes the rest.
    let slice_blocks = ((n / u64::from(p)) & !1) as usize;
    let n = n as usize;

    let mut all_sboxes = Vec::with_capacity(p as usize);
    let instances = b.chunks_exact_mut(s).enumerate();
    for (i, block) in instances {
        let first = i * slice_blocks;
        let blocks = if i + 1 < p as usize {
            slice_blocks
        } else {
            n - first
        };
        let mut sboxes = fill_sboxes(&mut block[..2], scratch);
        if i == 0 {
            let tail = sub_block_to_bytes(&block[s - 1]);
            *inner_key = hmac_sha256(&tail, inner_key);
        }
        let mut mixer = Mixer::Pwxform(&mut sboxes);
        smix1(block, v, first, blocks, true, &mut mixer);
        let slice = &mut v[first * s..(first + blocks) * s];
        let window = prev_power_of_two(blocks);
        smix2(block, window, loops.read_write, true, slice, &mut mixer);
        all_sboxes.push(sboxes);
    }

    let reading = loops.all.saturating_sub(loops.read_write);
    for (block, sboxes) in b.chunks_exact_mut(s).zip(&mut all_sboxes) {
        smix2(block, n, reading, false, v, &mut Mixer::Pwxform(sboxes));
    }
}

/// The S-boxes come from SMix1 with Salsa20/8 (r = 1, 96 blocks) over the instance's first 128
/// bytes, which it also advances.
fn fill_sboxes(head: &mut [SubBlock], scratch: &mut [SubBlock]) -> Box<Sboxes> {
    let mut init = Vec::with_capacity(SBOX_INIT_SUB_BLOCKS);
    let mut mixer = Mixer::Salsa8 { scratch };
    smix1(
        head,
        &mut init,
        0,
        SBOX_INIT_SUB_BLOCKS / 2,
        false,
        &mut mixer,
    );
    Sboxes::from_init(&init)
}

/// SMix's H: scrypt's BlockMix_salsa8, or BlockMix_pwxform with an instance's S-boxes.
enum Mixer<'a> {
    Salsa8 { scratch: &'a mut [SubBlock] },
    Pwxform(&'a mut Sboxes),
}

impl Mixer<'_> {
    fn mix(&mut self, block: &mut [SubBlock]) {
        match self {
            Mixer::Salsa8 { scratch } => blockmix_salsa8(block, scratch),
            Mixer::Pwxform(sboxes) => sboxes.blockmix(block),
        }
    }
}

/// SMix1: store n successive states of the block in V (from block `first` on), mixing after
/// each. In read-write mode each step first folds in an earlier state of this stretch, picked by
/// the data from a window that grows with i. A state is appended where V has not grown that far
/// yet, and overwritten where it has (the second and later classic scrypt instances).
fn smix1(
    block: &mut [SubBlock],
    v: &mut Vec<SubBlock>,
    first: usize,
    n: usize,
    read_write: bool,
    mixer: &mut Mixer<'_>,
) {
    let s = block.len();
    for i in 0..n {
        let at = (first + i) * s;
        if v.len() == at {
            v.extend_from_slice(block);
        } else {
            v[at..at + s].copy_from_slice(block);
        }
        if read_write && i > 1 {
            let j = first + recent_index(integerify(block), i);
            block::xor(block, &v[j * s..(j + 1) * s]);
        }
        mixer.mix(block);
    }
}

/// SMix2: `steps` times, fold in the state of V the data points at (N a power of two), and in
/// read-write mode write the result back over it.
fn smix2(
    block: &mut [SubBlock],
    n: usize,
    steps: u64,
    read_write: bool,
    v: &mut [SubBlock],
    mixer: &mut Mixer<'_>,
) {
    let s = block.len();
    let mask = n as u64 - 1;
    for _ in 0..steps {
        let j = (integerify(block) & mask) as usize;
        let v_j = &mut v[j * s..(j + 1) * s];
        block::xor(block, v_j);
        if read_write {
            v_j.copy_from_slice(block);
        }
        mixer.mix(block);
    }
}

/// yescrypt's Wrap(x, i): an index among the last `2^floor(log2 i)` states before step i, so
/// SMix1's reads favour recent blocks (which an attacker cannot have recomputed cheaply).
fn recent_index(x: u64, i: usize) -> usize {
    let window = prev_power_of_two(i);
    (x & (window as u64 - 1)) as usize + (i - window)
}

/// The largest power of two not above `x` (x ≥ 1).
fn prev_power_of_two(x: usize) -> usize {
    1 << x.ilog2()
}

/// SMix2 step counts per instance: Nloop_all in total, of which the first Nloop_rw write to V.
struct LoopCounts {
    all: u64,
    read_write: u64,
}

impl LoopCounts {
    /// yescrypt's fNloop: t = 0 is a third of N extra steps for read-write (N for scrypt), t = 1
    /// two thirds (1.5 N), then one N more per t; both counts are rounded up to even.
    fn new(flavor: Flavor, n_per_instance: u64, t: u32, p: u64) -> LoopCounts {
        let t = u64::from(t);
        let all = match (flavor, t) {
            (Flavor::ReadWrite, 0) => n_per_instance.div_ceil(3),
            (Flavor::ReadWrite, 1) => (2 * n_per_instance).div_ceil(3),
            (Flavor::ReadWrite, _) => n_per_instance.saturating_mul(t - 1),
            (_, 0) => n_per_instance,
            (_, 1) => n_per_instance + n_per_instance.div_ceil(2),
            (_, _) => n_per_instance.saturating_mul(t),
        };
        let read_write = if flavor == Flavor::ReadWrite {
            all / p
        } else {
            0
        };
        LoopCounts {
            all: all.next_multiple_of(2),
            read_write: read_write.next_multiple_of(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_counts_match_the_reference_rounding() {
        let rw = |n, t, p| {
            let c = LoopCounts::new(Flavor::ReadWrite, n, t, p);
            (c.all, c.read_write)
        };
        assert_eq!(rw(4096, 0, 1), (1366, 1366));
        assert_eq!(rw(1024, 0, 2), (342, 172));
        assert_eq!(rw(4096, 1, 1), (2732, 2732));
        assert_eq!(rw(4096, 3, 1), (8192, 8192));
        assert_eq!(rw(341, 0, 3), (114, 38));
        let scrypt = |n, t| LoopCounts::new(Flavor::Worm, n, t, 1).all;
        assert_eq!(scrypt(16, 0), 16);
        assert_eq!(scrypt(16, 1), 24);
        assert_eq!(scrypt(16, 2), 32);
    }

    #[test]
    fn recent_index_stays_in_the_window_before_i() {
        for i in 2..300usize {
            for x in [0u64, 1, 7, u64::MAX, 0x1234_5678_9abc_def0] {
                let j = recent_index(x, i);
                assert!(j < i && j >= i - prev_power_of_two(i), "{x} {i} {j}");
            }
        }
    }

    #[test]
    fn default_cost_mixes_about_22_mb() {
        // 4096 SMix1 steps + 1366 SMix2 steps of 4 KiB blocks.
        assert_eq!(mixing_bytes(&Params::DEFAULT), 4096 * (4096 + 1366));
    }
}
