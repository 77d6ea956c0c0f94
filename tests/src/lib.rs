//! Cross-crate tests live in `tests/`. This library holds what they share: the
//! browser bridge, which turns a WebRTC browser's SDP and candidates into Jingle the
//! way lib-jitsi-meet does, and Jingle from a Rust peer back into SDP and candidates.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bridge;
