//! lib-jitsi-meet's proxy connection bound to [str0m]'s sans-IO WebRTC engine.
//!
//! [`ProxyConnection`] composes `proxy_core`'s [`ProxyConnectionService`]
//! (Jingle signaling, the state machine, timeouts) with a str0m [`Rtc`] (ICE,
//! DTLS, SRTP, RTP packetization). It still does no I/O and reads no clock:
//! the application feeds it signaling messages, datagrams and time, and sends
//! what it outputs.
//!
//! - [`ProxyConnection`]: the two wired together, with the API the tokio driver uses.
//! - [`Engine`]: the str0m side on its own: carries out the core's
//!   [`EngineCommand`]s on an `Rtc` and reports [`EngineEvent`]s
//!   ([`EngineOutput`]); two engines can negotiate with each other directly.
//!
//! # Run loop
//!
//! The rule is str0m's: **after every input, drain [`ProxyConnection::poll_output`]
//! until it returns [`Output::Timeout`]**, then wait for the next input or that
//! instant. `Timeout(None)` means nothing is scheduled (no connection, or one
//! that has nothing to time): wait for the next input only. Time always comes
//! in as `now` (also to [`ProxyConnection::new`], str0m's epoch); nothing in
//! this crate reads the clock. The example runs a whole session, sender and receiver in one
//! process, with signaling and datagrams passed by hand on a virtual clock:
//!
//! ```
//! use std::collections::VecDeque;
//! use std::time::{Duration, Instant};
//! use proxy_core::{Event as CoreEvent, LocalTrack, OutgoingIq, ProxyMessage};
//! use proxy_str0m::{Event, Output, ProxyConfig, ProxyConnection};
//!
//! let config = |addr: &str| ProxyConfig {
//!     local_addrs: vec![addr.parse().unwrap()],
//!     ..ProxyConfig::default()
//! };
//! let mut now = Instant::now();
//! let mut peers = [
//!     ("sender@example.com/s", ProxyConnection::new(now, config("10.0.0.1:5000"))),
//!     ("receiver@example.com/r", ProxyConnection::new(now, config("10.0.0.2:5000"))),
//! ];
//! peers[0].1.start(now, "receiver@example.com/r", &[LocalTrack::desktop()]).unwrap();
//!
//! // (to peer, what) in flight.
//! enum Wire { Signal(ProxyMessage), Datagram(proxy_str0m::Transmit) }
//! let mut wire: VecDeque<(usize, Wire)> = VecDeque::new();
//! let mut received = Vec::new();
//! let mut sent = 0u32;
//! let end = now + Duration::from_secs(20);
//! while received.len() < 3 && now < end {
//!     let mut next = now + Duration::from_secs(1);
//!     for i in 0..2 {
//!         // Drain until Timeout after every input.
//!         loop {
//!             match peers[i].1.poll_output() {
//!                 Output::Timeout(t) => { next = t.map_or(next, |t| next.min(t)); break; }
//!                 Output::Iq(OutgoingIq { iq, .. }) => {
//!                     let from = peers[i].0.to_owned();
//!                     wire.push_back((1 - i, Wire::Signal(ProxyMessage { from, iq })));
//!                 }
//!                 Output::Transmit(t) => wire.push_back((1 - i, Wire::Datagram(t))),
//!                 Output::Event(Event::Frame(f)) => received.push(f.data),
//!                 Output::Event(_) => {}
//!                 // DNS and TCP to TURN servers: none configured here.
//!                 _ => {}
//!             }
//!         }
//!     }
//!     if let Some((to, what)) = wire.pop_front() {
//!         match what {
//!             Wire::Signal(m) => peers[to].1.handle_message(now, m),
//!             Wire::Datagram(t) => {
//!                 peers[to].1.handle_receive(now, t.source, t.destination, &t.contents)
//!             }
//!         }
//!         continue;
//!     }
//!     now = next.max(now + Duration::from_millis(1));
//!     for (_, p) in peers.iter_mut() { p.handle_timeout(now); }
//!     // Once connected, the sender writes a (tiny, fake) VP8 keyframe now and then.
//!     if peers[0].1.is_connected() && sent < 30 {
//!         let frame = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x10, 0x00, 0x10, 0x00];
//!         let pts = Duration::from_millis(40 * u64::from(sent));
//!         if peers[0].1.write_frame(now, 0, pts, &frame).is_ok() { sent += 1; }
//!     }
//! }
//! assert!(received.len() >= 3);
//! ```
//!
//! # Panics and errors
//!
//! Nothing a peer sends (stanzas or datagrams) makes this crate panic: bad
//! input becomes an [`Event::Core`] error event or is dropped. str0m's own
//! errors become engine events, and a dead `Rtc` ends the connection with a
//! closed event.
//!
//! # ICE servers
//!
//! Each connection gathers host candidates (from [`ProxyConfig::local_addrs`]),
//! server-reflexive ones from every STUN server and relayed ones from every
//! TURN server (over UDP, TCP or TLS), the latter trickled as they come. The
//! servers come from the core's config (or XEP-0215) with each offer, or from
//! [`ProxyConnection::set_ice_servers`] at any time; with
//! [`ProxyConfig::ice_transport_policy`] `Relay` only relayed candidates are
//! offered. The STUN/TURN state machines ([`net`]) are sans-IO too: the
//! connection asks the driver for DNS lookups and TCP streams through
//! [`Output`] (`Resolve`, `Connect`, `StreamSend`, `StreamClose`) and is told
//! the results (`handle_resolved`, `handle_stream_*`); TLS for `turns:` runs
//! inside. A server that fails is an [`Event::RelayFailed`] warning, never
//! fatal.
//!
//! # mDNS candidates
//!
//! A remote candidate whose address is an mDNS name (`<uuid>.local`, what
//! Chrome sends when the page has no camera permission) is never an error.
//! With [`ProxyConfig::resolve_mdns`] the connection asks the driver to
//! resolve each distinct name once through the same [`Output::Resolve`] as
//! servers' names (at most [`MAX_MDNS_NAMES`] per connection) and adds the
//! candidate with the address in its place when the answer comes within
//! [`MDNS_WAIT`]; a failure sets it aside quietly. Without it, the candidate
//! is set aside quietly: the peer's checks reach us anyway and ICE learns its
//! address as peer-reflexive.
//!
//! # Statistics
//!
//! With [`ProxyConfig::stats_interval`], every track is reported as an
//! [`Event::Stats`] ([`TrackStats`]) at that interval, like a browser's
//! `getStats()`: bitrate and frame rate over the interval, packets lost,
//! jitter and round-trip time, from str0m's reports and the RTCP both peers
//! send (statistics have str0m show us the RTCP we send, a copy of each
//! packet: the cost is in `proxy-str0m/benches/RESULTS.md`).
//!
//! # Not supported
//!
//! ICE-TCP candidates. Codecs other than Opus, VP8, VP9, H.264 and AV1
//! (a track says its codec: [`LocalTrack::codec`](proxy_core::LocalTrack)).
//!
//! [str0m]: https://docs.rs/str0m
//! [`Rtc`]: str0m::Rtc
//! [`ProxyConnectionService`]: proxy_core::ProxyConnectionService
//! [`EngineCommand`]: proxy_core::EngineCommand
//! [`EngineEvent`]: proxy_core::EngineEvent
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod connection;
mod engine;
pub mod net;
mod sdp_text;
mod types;

pub use connection::ProxyConnection;
pub use engine::{Engine, EngineOutput, MAX_MDNS_NAMES, MDNS_WAIT, SILENCE_TIMEOUT};
pub use str0m::CandidateKind;
pub use types::{
    Event, Frame, Output, Path, ProxyConfig, StatsDirection, TrackStats, Transmit, WriteError,
};
