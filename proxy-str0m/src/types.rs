//! The inputs and outputs of [`ProxyConnection`](crate::ProxyConnection).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proxy_core::{MediaKind, OutgoingIq};

/// Configuration: the core's config plus our local UDP addresses (host candidates).
#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    /// The service's configuration.
    pub core: proxy_core::Config,
    /// The local addresses of our UDP sockets; each becomes a host candidate.
    pub local_addrs: Vec<SocketAddr>,
}

/// One output of [`ProxyConnection::poll_output`](crate::ProxyConnection::poll_output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this datagram.
    Transmit(Transmit),
    /// Send this `<iq>` over the signaling channel.
    Iq(OutgoingIq),
    /// Something for the application.
    Event(Event),
    /// Nothing more until this instant (call `handle_timeout` then); `None`
    /// when nothing is scheduled (no connection): wait for the next input only.
    /// Always the last output of a drain.
    Timeout(Option<Instant>),
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The local address to send from (one of [`ProxyConfig::local_addrs`]).
    pub source: SocketAddr,
    /// Where to send it.
    pub destination: SocketAddr,
    /// The datagram.
    pub contents: Bytes,
}

/// News for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A core event: `RemoteTrack(desc)`, `Connected`, `ConnectionClosed{peer, reason}`,
    /// `Error(e)`.
    Core(proxy_core::Event),
    /// A received encoded frame on remote track `mid`.
    Frame(Frame),
    /// The peer asks for a keyframe on our local track `track`.
    KeyframeRequest {
        /// Index of the local track (as given to `start` or the responder tracks).
        track: usize,
    },
}

/// A received encoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The mid of the remote track.
    pub mid: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// Media time since the track began, from the RTP time.
    pub pts: Duration,
    /// Whether this is a keyframe, when the codec tells (VP8 does).
    pub keyframe: Option<bool>,
    /// The whole frame.
    pub data: Bytes,
}

/// Why a frame could not be written or a keyframe requested.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// There is no connection.
    #[error("no connection")]
    NoConnection,
    /// The connection exists but media cannot flow yet (or not anymore).
    #[error("not connected yet")]
    NotConnected,
    /// No local track with this index was negotiated for sending.
    #[error("no local track {0} is being sent")]
    UnknownTrack(usize),
    /// No remote track is known at this mid (for keyframe requests).
    #[error("no track at mid {0:?}")]
    UnknownMid(String),
    /// The media engine refused.
    #[error("media engine: {0}")]
    Engine(String),
}
