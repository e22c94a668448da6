//! BlockMix_pwxform, yescrypt's mixing function in its read-write mode, for the one pwxform
//! setting a `$y$` hash can name: 6 rounds, 4-way gather, 2-way simple lanes, 12 KiB of S-boxes.
//!
//! This is where nearly all of a `$y$` check's time goes. Each S-box is a fixed-size array of
//! 256 two-lane entries, so an index masked to 8 bits needs no bounds check, and lanes are plain
//! `u64`s (the multiply is 32×32→64, the add wraps at 64 bits).

use super::block::{SUB_BLOCK_BYTES, SubBlock, xor_sub_block};
use super::salsa::salsa20_2;

/// One S-box: 2^Swidth = 256 entries of PWXsimple = 2 lanes (4 KiB).
type Sbox = [[u64; 2]; 256];

/// The S-box entries SMix1 fills before they become S2, S1, S0: 3 × 4 KiB in 64-byte sub-blocks.
pub(super) const SBOX_INIT_SUB_BLOCKS: usize = 3 * 4096 / SUB_BLOCK_BYTES;

/// Rounds of pwxform's basic transformation (PWXrounds).
const ROUNDS: usize = 6;

/// Pairs of lanes transformed side by side in one sub-block (PWXgather).
const GATHER: usize = 4;

/// S2 entries one pwxform call writes: every round but the first and the last, every pair.
const WRITES_PER_CALL: usize = (ROUNDS - 2) * GATHER;

/// pwxform's state for one of the `p` parallel SMix instances: the three S-boxes and where the
/// next S2 write goes. The state carries over from one BlockMix call to the next.
pub(super) struct Sboxes {
    tables: [Sbox; 3],
    /// pwxform calls so far, modulo 3: after each call the roles rotate (S0, S1, S2) ← (S2, S0, S1),
    /// so this says which table plays which role without moving 12 KiB around.
    turn: usize,
    /// The next S2 entry to write (the reference's `w`, counted in 2-lane entries).
    write: usize,
}

impl Sboxes {
    /// Takes the S-boxes from the 12 KiB SMix1 produced with Salsa20/8: the first 4 KiB become S2,
    /// the next S1, the last S0 (yescrypt's layout).
    pub(super) fn from_init(init: &[SubBlock]) -> Box<Self> {
        let mut sboxes = Box::new(Sboxes {
            tables: [[[0; 2]; 256]; 3],
            turn: 0,
            write: 0,
        });
        let entries = sboxes.tables.iter_mut().flat_map(|table| table.iter_mut());
        let lanes = init.iter().flat_map(|sub| sub.as_chunks::<2>().0.iter());
        for (entry, pair) in entries.zip(lanes) {
            *entry = *pair;
        }
        sboxes
    }

    /// BlockMix_pwxform over one whole block (2r sub-blocks), in place.
    ///
    /// Each sub-block is xored into the running X, X goes through pwxform and is stored back; as
    /// PWXbytes is 64 there is exactly one pwxform per sub-block, and only the last sub-block is
    /// then post-mixed with Salsa20/2.
    pub(super) fn blockmix(&mut self, block: &mut [SubBlock]) {
        let Some(&last) = block.last() else {
            return;
        };
        let [t0, t1, t2] = &mut self.tables;
        let (mut s0, mut s1, mut s2) = match self.turn {
            0 => (t2, t1, t0),
            1 => (t0, t2, t1),
            _ => (t1, t0, t2),
        };
        let mut write = self.write;
        let mut x = last;
        for sub in block.iter_mut() {
            xor_sub_block(&mut x, sub);
            pwxform(&mut x, s0, s1, s2, write);
            write = (write + WRITES_PER_CALL) % s2.len();
            (s0, s1, s2) = (s2, s0, s1);
            *sub = x;
        }
        self.turn = (self.turn + block.len()) % 3;
        self.write = write;
        if let Some(last) = block.last_mut() {
            salsa20_2(last);
        }
    }
}

/// pwxform: six rounds of multiply, add and xor with two S-box lookups per lane pair; rounds 1–4
/// also record every pair in S2 (the S-box the next calls will read from).
#[inline(always)]
fn pwxform(x: &mut SubBlock, s0: &Sbox, s1: &Sbox, s2: &mut Sbox, write: usize) {
    round(x, s0, s1);
    for recorded in 0..ROUNDS - 2 {
        round(x, s0, s1);
        let base = write + recorded * GATHER;
        for (pair, lanes) in x.as_chunks::<2>().0.iter().enumerate() {
            // `write` steps by 16 from 0, so this never wraps; the mask only spares the check.
            s2[(base + pair) & 0xff] = *lanes;
        }
    }
    round(x, s0, s1);
}

/// One round: for each pair of lanes, both S-box rows are chosen by the pair's first lane (its low
/// half picks the S0 row, its high half the S1 row, bits 4..11 of each).
#[inline(always)]
fn round(x: &mut SubBlock, s0: &Sbox, s1: &Sbox) {
    for pair in x.as_chunks_mut::<2>().0 {
        let add = &s0[((pair[0] >> 4) & 0xff) as usize];
        let xor = &s1[((pair[0] >> 36) & 0xff) as usize];
        pair[0] = multiply_halves(pair[0]).wrapping_add(add[0]) ^ xor[0];
        pair[1] = multiply_halves(pair[1]).wrapping_add(add[1]) ^ xor[1];
    }
}

/// hi32(lane) × lo32(lane) as a 64-bit product (it cannot overflow; wrapping spares the check).
#[inline(always)]
fn multiply_halves(lane: u64) -> u64 {
    (lane >> 32).wrapping_mul(lane & 0xffff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbox_init_layout_is_s2_then_s1_then_s0() {
        let init: Vec<SubBlock> = (0..SBOX_INIT_SUB_BLOCKS as u64)
            .map(|i| {
                [
                    i * 8,
                    i * 8 + 1,
                    i * 8 + 2,
                    i * 8 + 3,
                    i * 8 + 4,
                    i * 8 + 5,
                    i * 8 + 6,
                    i * 8 + 7,
                ]
            })
            .collect();
        let sboxes = Sboxes::from_init(&init);
        // tables[0] is S2 at turn 0, tables[2] is S0: lane 512 × 2 = 1024 starts the third.
        assert_eq!(sboxes.tables[0][0], [0, 1]);
        assert_eq!(sboxes.tables[1][0], [512, 513]);
        assert_eq!(sboxes.tables[2][255], [1534, 1535]);
    }

    #[test]
    fn roles_rotate_every_call_and_writes_wrap_every_sixteen_calls() {
        let init = vec![[0u64; 8]; SBOX_INIT_SUB_BLOCKS];
        let mut sboxes = Sboxes::from_init(&init);
        let mut block = vec![[1u64; 8]; 2];
        for calls in 1..=8 {
            sboxes.blockmix(&mut block);
            assert_eq!(sboxes.turn, (2 * calls) % 3);
            assert_eq!(sboxes.write, (2 * calls * WRITES_PER_CALL) % 256);
        }
    }
}
