//! Tokio driver, async API and command-line program for proxy connections.
//!
//! [`ProxyConnectionService`] is lib-jitsi-meet's `ProxyConnectionService` as an async
//! API: [`bind`](ProxyConnectionService::bind) it, feed it signaling with
//! [`process_message`](ProxyConnectionService::process_message), deliver what comes
//! out of [`Signals`], and watch [`Events`]. Media goes in through [`TrackWriter`]s
//! and comes out of [`RemoteFrames`]. Below it, one task drives the sans-IO
//! `proxy_str0m::ProxyConnection` with a UDP socket per host address, the TCP streams
//! to TURN servers and one timer (see `driver`). ICE servers: [`ServiceConfig`] and
//! [`ProxyConnectionService::set_ice_servers`]; their types are in [`net`].
//!
//! # Features
//!
//! - `mdns` (default): a browser's mDNS host candidate (`<uuid>.local`, sent when
//!   the page has no camera permission) is resolved on the local network with
//!   [mdns-sd](https://docs.rs/mdns-sd) (one daemon thread per process, started by
//!   the first such name; 2 s per query; queries only on the interfaces of the
//!   service's sockets, none for a service bound to loopback only) and checked
//!   directly. Without it such candidates are set aside quietly and ICE learns the
//!   browser's address from its checks (peer-reflexive). Either way `.local` names
//!   never go to the system resolver.
//!
//! Signaling over a real XMPP server (lib-jitsi-meet's `JitsiConnection`: TCP with
//! STARTTLS or direct TLS, or a WebSocket; SASL; a MUC room; STUN/TURN servers from
//! XEP-0215) is [`xmpp`]: [`xmpp::XmppConnection`] and [`xmpp::carry`].
//!
//! The `proxy-connection` program carries signaling as JSON lines, one
//! [`SignalLine`] (`{"from": …, "to": …, "iq": …}`) per line, read with a
//! [`LineReader`]; any application can use the same format.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use proxy_tokio::{ProxyConnectionService, ServiceConfig, ServiceEvent};
//! use proxy_core::{LocalTrack, ProxyMessage};
//!
//! let (service, mut events, mut signals) =
//!     ProxyConnectionService::bind(ServiceConfig::default()).await?;
//! // Deliver outgoing <iq>s over your signaling channel:
//! tokio::spawn(async move {
//!     while let Some(signal) = signals.next().await {
//!         println!("to {}: {}", signal.to, signal.iq);
//!     }
//! });
//! // ...and hand incoming ones to the service:
//! // service.process_message(ProxyMessage { from, iq }).await?;
//! let writers = service.start("peer@example.com/res", &[LocalTrack::desktop()]).await?;
//! while let Some(event) = events.next().await {
//!     if let ServiceEvent::Connected { .. } = event {
//!         writers[0].write_frame(std::time::Duration::ZERO, bytes::Bytes::new()).await?;
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Channels and their bounds
//!
//! - Commands (`start`, `stop`, `is_active`, `request_keyframe`): bounded (16).
//!   Each caller awaits its reply, so at most one command per concurrent caller
//!   waits; the driver reads this channel in every state, so a full one only makes
//!   callers wait their turn.
//! - Inputs (signaling messages, frame writes): bounded (256): backpressure on the
//!   application's own sources (its signaling reader, its encoder).
//! - Remote frames ([`RemoteFrames`]): bounded per track (512); a frame
//!   that does not fit is dropped and counted ([`RemoteFrames::dropped`]): media is
//!   late-sensitive and the next keyframe recovers.
//! - Events ([`Events`]) and signals ([`Signals`]): unbounded, on purpose. The driver
//!   must never wait for the application: a driver parked on a full event channel
//!   stops reading the socket and the timer (ICE and DTLS time out) and stops
//!   reading commands, so an application awaiting `stop()` before reading its
//!   events would deadlock. Nor may they be dropped: every signal is a protocol
//!   message (a lost transport-info or session-terminate breaks the session) and
//!   every event but a keyframe request happens once. Their volume is that of the
//!   signaling: a handful per session, and otherwise at most a few per message the
//!   application itself hands in (through the bounded inbox); keyframe requests
//!   follow the peer's RTCP feedback. An application must read both streams.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod channel;
mod driver;
mod io;
mod mdns;
mod service;
mod signaling;
pub mod xmpp;

/// The sans-IO layer this crate drives.
pub(crate) use proxy_str0m as engine;

pub use channel::{Events, RemoteFrames, ServiceEvent, Signals};
pub use engine::{Frame, WriteError};
/// ICE servers and the STUN/TURN layer's types (from `proxy_str0m::net`).
pub use proxy_str0m::net;
pub use service::{
    MessageSender, ProxyConnectionService, ServiceConfig, ServiceError, TrackWriter,
};
pub use signaling::{LineError, LineReader, SignalLine, MAX_LINE_LEN};
