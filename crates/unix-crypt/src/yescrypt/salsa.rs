//! Salsa20/8 (scrypt's BlockMix, and the S-box fill) and Salsa20/2 (the end of BlockMix_pwxform),
//! by the `salsa20` crate's core.

use super::block::{SubBlock, byte_order_words, sub_block_from_bytes, xor_sub_block};
use salsa20::SalsaCore;
use salsa20::cipher::consts::{U1, U4};
use salsa20::cipher::typenum::Unsigned;
use salsa20::cipher::{Block, StreamCipherCore};

/// The Salsa20/8 core (4 double rounds, with the feed-forward addition) applied in place.
pub(super) fn salsa20_8(sub: &mut SubBlock) {
    salsa_core::<U4>(sub);
}

/// The Salsa20/2 core (1 double round): only mixes pwxform's parallel lanes together.
pub(super) fn salsa20_2(sub: &mut SubBlock) {
    salsa_core::<U1>(sub);
}

/// The core is the first keystream block of a Salsa20 state that *is* the sub-block's words in
/// byte order (counter words included), which is what scrypt's "Salsa20/8 core" means.
#[inline(always)]
fn salsa_core<DoubleRounds: Unsigned>(sub: &mut SubBlock) {
    let mut out = Block::<SalsaCore<DoubleRounds>>::default();
    SalsaCore::<DoubleRounds>::from_raw_state(byte_order_words(sub))
        .write_keystream_block(&mut out);
    let bytes: [u8; 64] = out.into();
    *sub = sub_block_from_bytes(&bytes);
}

/// scrypt's BlockMix_salsa8: chain Salsa20/8 through the sub-blocks, then put the even-numbered
/// outputs first and the odd-numbered after them. `scratch` holds at least `block.len()`.
pub(super) fn blockmix_salsa8(block: &mut [SubBlock], scratch: &mut [SubBlock]) {
    let Some(&last) = block.last() else {
        return;
    };
    let mut x = last;
    for (out, sub) in scratch.iter_mut().zip(block.iter()) {
        xor_sub_block(&mut x, sub);
        salsa20_8(&mut x);
        *out = x;
    }
    let half = block.len() / 2;
    let (evens, odds) = block.split_at_mut(half);
    let (pairs, _) = scratch.as_chunks::<2>();
    for ((even, odd), [y_even, y_odd]) in evens.iter_mut().zip(odds).zip(pairs) {
        *even = *y_even;
        *odd = *y_odd;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yescrypt::block::{from_bytes, sub_block_to_bytes};

    /// RFC 7914 section 8: the Salsa20/8 core test vector.
    #[test]
    fn salsa20_8_core_matches_rfc_7914() {
        let input = hex(
            "7e879a214f3ec9867ca940e641718f26baee555b8c61c1b50df846116dcd3b1dee24f319df9b3d8514121e4b5ac5aa3276021d2909c74829edebc68db8b8c25e",
        );
        let expected = hex(
            "a41f859c6608cc993b81cacb020cef05044b2181a2fd337dfd7b1c6396682f29b4393168e3c9e6bcfe6bc5b7a06d96bae424cc102c91745c24ad673dc7618f81",
        );
        let mut sub = from_bytes(&input)[0];
        salsa20_8(&mut sub);
        assert_eq!(sub_block_to_bytes(&sub).to_vec(), expected);
    }

    /// RFC 7914 section 9: the BlockMix_salsa8 test vector (r = 1).
    #[test]
    fn blockmix_salsa8_matches_rfc_7914() {
        let input = hex(concat!(
            "f7ce0b653d2d72a4108cf5abe912ffdd777616dbbb27a70e8204f3ae2d0f6fad",
            "89f68f4811d1e87bcc3bd7400a9ffd29094f0184639574f39ae5a1315217bcd7",
            "894991447213bb226c25b54da86370fbcd984380374666bb8ffcb5bf40c254b0",
            "67d27c51ce4ad5fed829c90b505a571b7f4d1cad6a523cda770e67bceaaf7e89",
        ));
        let expected = hex(concat!(
            "a41f859c6608cc993b81cacb020cef05044b2181a2fd337dfd7b1c6396682f29",
            "b4393168e3c9e6bcfe6bc5b7a06d96bae424cc102c91745c24ad673dc7618f81",
            "20edc975323881a80540f64c162dcd3c21077cfe5f8d5fe2b1a4168f953678b7",
            "7d3b3d803b60e4ab920996e59b4d53b65d2a225877d5edf5842cb9f14eefe425",
        ));
        let mut block = from_bytes(&input);
        let mut scratch = vec![[0u64; 8]; 2];
        blockmix_salsa8(&mut block, &mut scratch);
        let out: Vec<u8> = block.iter().flat_map(sub_block_to_bytes).collect();
        assert_eq!(out, expected);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
