//! The unit every yescrypt loop works on: 64-byte sub-blocks held as eight 64-bit lanes in
//! yescrypt's mixing order, and the few whole-block operations SMix needs.
//!
//! yescrypt's reference code moves each sub-block's sixteen 32-bit words into the order scrypt's
//! SIMD code uses (internal word `i` is word `5i mod 16` of the bytes) on the way into SMix and
//! back on the way out, and defines pwxform's 64-bit lanes and the S-box contents on that order.
//! So the order is part of the algorithm, and blocks stay in it from PBKDF2's output until
//! PBKDF2's input. Lanes rather than words because pwxform, the hot loop, works on 64-bit lanes;
//! Salsa20 and Integerify, which speak of byte-order words, convert for their one use per BlockMix.

/// 64 bytes of a yescrypt block: lane `k` holds internal words `2k` (low) and `2k + 1` (high).
pub(super) type SubBlock = [u64; 8];

/// Bytes in one [`SubBlock`].
pub(super) const SUB_BLOCK_BYTES: usize = 64;

/// `dst ^= src`, sub-block by sub-block.
pub(super) fn xor(dst: &mut [SubBlock], src: &[SubBlock]) {
    for (d, s) in dst.iter_mut().zip(src) {
        xor_sub_block(d, s);
    }
}

/// `dst ^= src` for one sub-block.
#[inline(always)]
pub(super) fn xor_sub_block(dst: &mut SubBlock, src: &SubBlock) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

/// Where internal word `i` comes from in byte order.
const fn byte_order_word(i: usize) -> usize {
    i * 5 % 16
}

/// scrypt's Integerify: the first 8 bytes of the block's last sub-block as a little-endian integer.
/// Byte-order words 0 and 1 are internal words 0 and 13: the low half of lane 0 and the high half
/// of lane 6.
pub(super) fn integerify(block: &[SubBlock]) -> u64 {
    const _: () = assert!(byte_order_word(0) == 0 && byte_order_word(13) == 1);
    block
        .last()
        .map_or(0, |last| (last[0] & 0xffff_ffff) | (last[6] & !0xffff_ffff))
}

/// The sub-block's sixteen words in byte order (what Salsa20 works on).
pub(super) fn byte_order_words(sub: &SubBlock) -> [u32; 16] {
    let mut words = [0u32; 16];
    for (lane_index, lane) in sub.iter().enumerate() {
        // Truncation is the point: a lane is two words.
        words[byte_order_word(2 * lane_index)] = *lane as u32;
        words[byte_order_word(2 * lane_index + 1)] = (*lane >> 32) as u32;
    }
    words
}

/// Sub-blocks from bytes (PBKDF2's output); a partial tail cannot occur (lengths are 128·r·p).
pub(super) fn from_bytes(bytes: &[u8]) -> Vec<SubBlock> {
    let (chunks, _) = bytes.as_chunks::<SUB_BLOCK_BYTES>();
    chunks.iter().map(sub_block_from_bytes).collect()
}

/// One sub-block from its 64 bytes (sixteen little-endian words).
pub(super) fn sub_block_from_bytes(bytes: &[u8; SUB_BLOCK_BYTES]) -> SubBlock {
    let (words, _) = bytes.as_chunks::<4>();
    let word = |i: usize| u64::from(u32::from_le_bytes(words[byte_order_word(i)]));
    core::array::from_fn(|lane| word(2 * lane) | word(2 * lane + 1) << 32)
}

/// Writes `blocks` back as bytes into `out` (as long as both are).
pub(super) fn to_bytes(blocks: &[SubBlock], out: &mut [u8]) {
    let (chunks, _) = out.as_chunks_mut::<SUB_BLOCK_BYTES>();
    for (chunk, sub) in chunks.iter_mut().zip(blocks) {
        *chunk = sub_block_to_bytes(sub);
    }
}

/// One sub-block's 64 bytes.
pub(super) fn sub_block_to_bytes(sub: &SubBlock) -> [u8; SUB_BLOCK_BYTES] {
    let mut bytes = [0u8; SUB_BLOCK_BYTES];
    let (chunks, _) = bytes.as_chunks_mut::<4>();
    for (chunk, word) in chunks.iter_mut().zip(byte_order_words(sub)) {
        *chunk = word.to_le_bytes();
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_little_endian() {
        let bytes: Vec<u8> = (0..128u8).collect();
        let blocks = from_bytes(&bytes);
        assert_eq!(blocks.len(), 2);
        // Lane 0 is byte-order words 0 and 5.
        assert_eq!(
            blocks[0][0],
            u64::from_le_bytes([0, 1, 2, 3, 20, 21, 22, 23])
        );
        let mut back = vec![0u8; 128];
        to_bytes(&blocks, &mut back);
        assert_eq!(back, bytes);
        assert_eq!(
            integerify(&blocks),
            u64::from_le_bytes([64, 65, 66, 67, 68, 69, 70, 71])
        );
    }
}
