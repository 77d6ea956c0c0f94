//! lib-jitsi-meet's proxy connection (`ProxyConnectionService`) as a pure,
//! sans-IO state machine.
//!
//! A proxy connection is a direct peer-to-peer WebRTC connection that forwards
//! media from one participant to another (typically a laptop's screen share to a
//! room device), negotiated with Jingle `<iq>` stanzas carried over any
//! signaling channel. This crate decides everything such a connection decides
//! and does no I/O: no sockets, no clock, no threads, no unseeded randomness.
//!
//! - [`ProxyConnectionService`]: the state machine, with its inputs and
//!   outputs ([`Config`], [`EngineCommand`], [`EngineEvent`], [`Output`], [`Event`]).
//! - [`jingle`]: the wire model with its parse and write for lib-jitsi-meet's
//!   dialect (XEP-0166/0167/0176/0293/0294/0320/0338/0339); [`Iq`] is the
//!   `<iq>` envelope around it, read by [`parse_iq`] and written by [`write_iq`].
//! - [`jingle_to_sdp`], [`sdp_to_jingle`], [`candidate_to_sdp`],
//!   [`candidate_from_sdp`]: Jingle <-> SDP, following lib-jitsi-meet's rules.
//! - [`extdisco`]: XEP-0215 queries for STUN/TURN servers.
//! - [`xml`]: the bounded XML reader and writer all of the above use, public
//!   so that the workspace's other protocols read under the same [`Limits`]
//!   and rules.
//!
//! # The run loop
//!
//! Feed inputs (`handle_message`, `handle_engine_event`, `handle_timeout`,
//! `start`, `stop`), then drain [`ProxyConnectionService::poll_output`] until it
//! returns `None`, and wake up at [`ProxyConnectionService::poll_timeout`]. The
//! media engine (e.g. `proxy-str0m`'s str0m binding) runs the
//! [`EngineCommand`]s and reports back with [`EngineEvent`]s.
//!
//! This example runs a whole initiator/responder exchange between two services
//! with a stand-in engine that produces fixed SDP, and no sockets:
//!
//! ```
//! use std::time::Instant;
//! use proxy_core::*;
//!
//! const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
//! a=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n\
//! a=ice-ufrag:offr\r\na=ice-pwd:offerpasswordofferpasswd\r\n\
//! a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r\n\
//! a=setup:actpass\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n\
//! a=ssrc:1111 msid:STREAM TRACK\r\n";
//! const ANSWER: &str = "v=0\r\no=- 3 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
//! a=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n\
//! a=ice-ufrag:answ\r\na=ice-pwd:answerpasswordanswerpass\r\n\
//! a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:00:AA:BB:CC:DD:EE:FF:11:22:33:44:55:66:77:88:99:00:AA:BB:CC:DD:EE:FF\r\n\
//! a=setup:active\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n";
//!
//! /// A stand-in media engine: answers every command at once.
//! fn engine(cmd: EngineCommand) -> Vec<EngineEvent> {
//!     let candidate = "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host".to_string();
//!     match cmd {
//!         EngineCommand::CreateOffer { tracks, .. } => {
//!             let msid = format!("{} {}", tracks[0].stream_id, tracks[0].track_id);
//!             vec![
//!                 EngineEvent::LocalOffer { sdp: OFFER.replace("STREAM TRACK", &msid) },
//!                 EngineEvent::LocalCandidates { candidates: vec![candidate] },
//!             ]
//!         }
//!         EngineCommand::ApplyOffer { .. } => vec![
//!             EngineEvent::LocalAnswer { sdp: ANSWER.into() },
//!             EngineEvent::LocalCandidates { candidates: vec![candidate] },
//!             EngineEvent::Connected,
//!             EngineEvent::RemoteTrack { mid: "0".into(), kind: MediaKind::Video },
//!         ],
//!         EngineCommand::ApplyAnswer { .. } => vec![EngineEvent::Connected],
//!         EngineCommand::AddRemoteCandidate { .. } | EngineCommand::Close => vec![],
//!     }
//! }
//!
//! /// Drains `svc`: runs engine commands, returns (signaling to send, events).
//! fn drive(svc: &mut ProxyConnectionService, now: Instant) -> (Vec<(String, String)>, Vec<Event>) {
//!     let (mut sent, mut events) = (Vec::new(), Vec::new());
//!     while let Some(output) = svc.poll_output() {
//!         match output {
//!             Output::Iq(out) => sent.push((out.to, out.iq)),
//!             Output::Engine(cmd) => {
//!                 for ev in engine(cmd) {
//!                     svc.handle_engine_event(now, ev);
//!                 }
//!             }
//!             Output::Event(ev) => events.push(ev),
//!         }
//!     }
//!     (sent, events)
//! }
//!
//! let now = Instant::now();
//! let (laptop, room) = ("laptop@example.com/a", "room@example.com/b");
//! let mut sender = ProxyConnectionService::new(Config { seed: 1, ..Config::default() });
//! let mut receiver = ProxyConnectionService::new(Config {
//!     seed: 2,
//!     convert_video_to_desktop: true,
//!     ..Config::default()
//! });
//!
//! sender.start(now, room, &[LocalTrack::desktop()])?;
//! let mut received = Vec::new();
//! // Carry signaling both ways until both sides are quiet.
//! loop {
//!     let (to_room, _) = drive(&mut sender, now);
//!     for (to, iq) in &to_room {
//!         assert_eq!(to, room);
//!         receiver.handle_message(now, ProxyMessage { from: laptop.into(), iq: iq.clone() });
//!     }
//!     let (to_laptop, events) = drive(&mut receiver, now);
//!     received.extend(events);
//!     for (_, iq) in &to_laptop {
//!         sender.handle_message(now, ProxyMessage { from: room.into(), iq: iq.clone() });
//!     }
//!     if to_room.is_empty() && to_laptop.is_empty() {
//!         break;
//!     }
//! }
//! assert!(sender.is_connected() && receiver.is_connected());
//! let track = received.iter().find_map(|e| match e {
//!     Event::RemoteTrack(t) => Some(t),
//!     _ => None,
//! });
//! let track = track.expect("the receiver got the screen share");
//! assert_eq!(track.device_id, "proxy:laptop@example.com/a");
//! assert_eq!(track.video_type, Some(VideoType::Desktop));
//! assert_eq!(track.source_name.as_deref(), Some("peer-v0"));
//!
//! // stop() terminates; each side reports the close exactly once.
//! sender.stop(now);
//! let (terminate, closed) = drive(&mut sender, now);
//! receiver.handle_message(now, ProxyMessage { from: laptop.into(), iq: terminate[0].1.clone() });
//! let (_, closed_too) = drive(&mut receiver, now);
//! assert!(matches!(closed[..], [Event::ConnectionClosed { .. }]));
//! assert!(matches!(closed_too[..], [Event::ConnectionClosed { .. }]));
//! # Ok::<(), proxy_core::Error>(())
//! ```
//!
//! # Panics
//!
//! Nothing here panics on peer input: every message is parsed under
//! [`Limits`], and malformed or unexpected input becomes an [`Event::Error`]
//! that says what was wrong and that nothing else changed. A panic is a bug.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod address;
mod convert;
mod error;
pub mod extdisco;
pub mod jingle;
mod message;
mod service;
pub mod xml;

pub use convert::{candidate_from_sdp, candidate_to_sdp, jingle_to_sdp, sdp_to_jingle};
pub use error::{
    ApiError, ConvertError, DescriptionProblem, EngineError, Error, Missing, ParseError,
    ProtocolError,
};
pub use extdisco::{IceServer, IceServerKind};
pub use message::{
    parse_iq, parse_iq_bytes, write_iq, write_iq_into, DefinedCondition, ErrorType, Iq, IqType,
    OutgoingIq, ProxyMessage, StanzaError, NS_CLIENT, NS_STANZAS,
};
pub use service::{
    CloseReason, Codec, Config, Direction, EngineCommand, EngineEvent, Event, LocalTrack,
    MediaKind, Output, ProxyConnectionService, RemoteTrack, TrackSpec, VideoType, ACCEPT_TIMEOUT,
    ICE_FAILED, NEGOTIATION_FAILED, REJECTED,
};
pub use xml::Limits;
