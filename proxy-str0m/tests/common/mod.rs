//! Helpers shared by the integration tests: synthetic VP8 and Opus frames,
//! the two-peer harness ([`pair`]), its TURN node ([`turn`]) and
//! relay pairs ([`relay`]).
#![allow(dead_code)]

pub mod netem;
pub mod pair;
pub mod relay;
pub mod turn;
pub mod vp8;

pub use vp8::vp8_frame;

use std::time::Duration;

/// Frames per second of the synthetic video (25 fps: 40 ms = 3600 ticks of
/// 90 kHz, so pts survive the RTP clock exactly).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(40);

/// Size of frame `n`: keyframes big (several packets), others small to mid.
pub fn vp8_len(n: u32) -> usize {
    if n.is_multiple_of(30) {
        4000
    } else {
        200 + (n as usize * 37) % 1500
    }
}

/// The `n`th frame of the synthetic stream: a keyframe every 30 frames.
pub fn video_frame(n: u32) -> Vec<u8> {
    vp8_frame(n, n.is_multiple_of(30), vp8_len(n))
}

/// A fake 20 ms Opus packet: TOC byte for SILK-only 20 ms mono, then bytes.
pub fn opus_frame(n: u32) -> Vec<u8> {
    let mut out = vec![0x08];
    out.extend((0..60u32).map(|i| (n.wrapping_mul(31).wrapping_add(i * 7)) as u8));
    out
}
