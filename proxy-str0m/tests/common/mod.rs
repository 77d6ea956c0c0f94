//! Helpers shared by the integration tests: synthetic VP8 and Opus frames,
//! and the two-peer harness ([`pair`]).
#![allow(dead_code)]

pub mod netem;
pub mod pair;

use std::time::Duration;

/// Frames per second of the synthetic video (25 fps: 40 ms = 3600 ticks of
/// 90 kHz, so pts survive the RTP clock exactly).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(40);

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

/// Size of frame `n`: keyframes big (several packets), others small to mid.
pub fn vp8_len(n: u32) -> usize {
    if n % 30 == 0 {
        4000
    } else {
        200 + (n as usize * 37) % 1500
    }
}

/// The `n`th frame of the synthetic stream: a keyframe every 30 frames.
pub fn video_frame(n: u32) -> Vec<u8> {
    vp8_frame(n, n % 30 == 0, vp8_len(n))
}

/// A fake 20 ms Opus packet: TOC byte for SILK-only 20 ms mono, then bytes.
pub fn opus_frame(n: u32) -> Vec<u8> {
    let mut out = vec![0x08];
    out.extend((0..60u32).map(|i| (n.wrapping_mul(31).wrapping_add(i * 7)) as u8));
    out
}
