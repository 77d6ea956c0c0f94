//! A synthetic VP8 frame, shared by the integration tests and the benchmarks
//! (which include this file by path).

/// A minimal, valid-looking VP8 frame (RFC 6386 §9.1): a 3-byte frame tag
/// (keyframe bit, version 0, show_frame, first partition size), for
/// keyframes the start code `9d 01 2a` and 320x180, then `len` bytes of
/// payload derived from `n` so every frame is different.
pub fn vp8_frame(n: u32, keyframe: bool, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 10);
    let first_part = (len as u32).min((1 << 19) - 1);
    let tag = (first_part << 5) | (1 << 4) | u32::from(!keyframe);
    out.extend_from_slice(&tag.to_le_bytes()[..3]);
    if keyframe {
        out.extend_from_slice(&[0x9d, 0x01, 0x2a]);
        out.extend_from_slice(&320u16.to_le_bytes());
        out.extend_from_slice(&180u16.to_le_bytes());
    }
    let mut x = n.wrapping_mul(2_654_435_761).wrapping_add(1);
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out.push(x as u8);
    }
    out
}
