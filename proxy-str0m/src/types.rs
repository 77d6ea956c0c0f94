//! The inputs and outputs of [`ProxyConnection`](crate::ProxyConnection).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use proxy_core::{Codec, MediaKind, OutgoingIq};
use str0m::CandidateKind;

use crate::net::{IceTransportPolicy, RelayError, RelayProto, StreamId};

/// Configuration: the core's config, our local UDP addresses (host
/// candidates) and how STUN/TURN servers are used.
#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    /// The service's configuration (its `ice_servers` are used for every
    /// connection until [`ProxyConnection::set_ice_servers`] gives others).
    ///
    /// [`ProxyConnection::set_ice_servers`]: crate::ProxyConnection::set_ice_servers
    pub core: proxy_core::Config,
    /// The local addresses of our UDP sockets; each becomes a host candidate
    /// (unless the policy is [`IceTransportPolicy::Relay`]) and may send
    /// STUN/TURN traffic to servers.
    pub local_addrs: Vec<SocketAddr>,
    /// Which candidates to gather, like the browsers' `iceTransportPolicy`:
    /// with `Relay`, only relayed candidates are offered.
    pub ice_transport_policy: IceTransportPolicy,
    /// TLS for `turns:` servers (see [`net::tls_config`](crate::net::tls_config));
    /// without it, `turns:` servers fail with a [`Event::RelayFailed`].
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Resolve remote candidates whose address is an mDNS name
    /// (`<uuid>.local`): the connection asks with [`Output::Resolve`] (a
    /// `.local` name is for multicast DNS, never the system resolver). Off
    /// (the default), they are set aside quietly and ICE learns the peer's
    /// address as peer-reflexive.
    pub resolve_mdns: bool,
    /// The wall-clock time at the `now` given to
    /// [`ProxyConnection::new`](crate::ProxyConnection::new): it turns ICE
    /// servers' `expires` (ISO 8601) into instants. `None`: credentials
    /// are taken as never expiring.
    pub wall_clock: Option<SystemTime>,
    /// How often each connection reports [`Event::Stats`] for every track
    /// (like polling a browser's `getStats()`). `None` (the default): no
    /// statistics are gathered and none are reported; an application that
    /// wants them asks (the program's `--stats` uses one second).
    pub stats_interval: Option<Duration>,
}

/// One output of [`ProxyConnection::poll_output`](crate::ProxyConnection::poll_output).
///
/// Besides datagrams, signaling and events, the connection asks the driver
/// for the I/O its STUN/TURN side needs (DNS, TCP streams to TURN servers)
/// and is told the results through `handle_resolved` and the
/// `handle_stream_*` inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this datagram (from the host socket `source`).
    Transmit(Transmit),
    /// Look up `host`; answer with
    /// [`handle_resolved`](crate::ProxyConnection::handle_resolved) (an error
    /// or no address is a fine answer too).
    ///
    /// `host` is a DNS name of an ICE server, or, with
    /// [`ProxyConfig::resolve_mdns`], a remote candidate's mDNS name: it
    /// ends in `.local` and is for multicast DNS (RFC 6762), not the system
    /// resolver. Each mDNS name is asked for once per connection, at most
    /// [`MAX_MDNS_NAMES`](crate::MAX_MDNS_NAMES) of them; an answer later
    /// than [`MDNS_WAIT`](crate::MDNS_WAIT) is ignored, so a driver should
    /// give up sooner (e.g. after 2 s) and may simply not answer.
    Resolve {
        /// The name.
        host: String,
        /// The server's (or candidate's) port (for the lookup; the answer is
        /// by name).
        port: u16,
        /// A remote candidate's mDNS name: resolve it with multicast DNS,
        /// never the system resolver. `false` for an ICE server's name (even
        /// one in `.local`, as some networks name their servers): the
        /// system resolver.
        mdns: bool,
    },
    /// Open a TCP connection to a TURN server; answer with
    /// [`handle_stream_connected`](crate::ProxyConnection::handle_stream_connected)
    /// or [`handle_stream_closed`](crate::ProxyConnection::handle_stream_closed),
    /// then feed what it reads to
    /// [`handle_stream_data`](crate::ProxyConnection::handle_stream_data).
    Connect {
        /// The id to use in the answers.
        stream: StreamId,
        /// Where to connect.
        server: SocketAddr,
    },
    /// Write these bytes on the stream, in order (TLS records for `turns:`:
    /// TLS runs inside the connection).
    StreamSend {
        /// The stream.
        stream: StreamId,
        /// The bytes.
        bytes: Bytes,
    },
    /// Close the stream once what was sent before is written. No answer is
    /// expected.
    StreamClose {
        /// The stream.
        stream: StreamId,
    },
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
    /// A warning, never fatal: an ICE server could not be used, or a relay
    /// stopped working. The connection goes on with its other candidates.
    /// Failures a server may get over are retried (see
    /// [`net::RETRIES`](crate::net::RETRIES)); each one is reported.
    RelayFailed {
        /// The server, as its URL (`turn:host:port?transport=udp`).
        server: String,
        /// The transport to it (`None` for STUN or a DNS failure).
        proto: Option<RelayProto>,
        /// What went wrong.
        reason: RelayError,
    },
    /// Media now travels on this candidate pair: first with the DTLS
    /// handshake (just before the core's `Connected`), then whenever ICE
    /// moves it, or when a peer-reflexive end is renamed by its candidate.
    Path(Path),
    /// Statistics of one track, every [`ProxyConfig::stats_interval`].
    Stats(TrackStats),
}

/// Which way a track's media goes, for [`TrackStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatsDirection {
    /// Media we receive (a browser's `inbound-rtp`).
    Inbound,
    /// Media we send (`outbound-rtp`).
    Outbound,
}

impl std::fmt::Display for StatsDirection {
    /// `in` or `out`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StatsDirection::Inbound => "in",
            StatsDirection::Outbound => "out",
        })
    }
}

/// One track's statistics, like a browser's `inbound-rtp` or `outbound-rtp`
/// entry in `getStats()`: totals since the track began, and the counts of
/// the last interval (since the track's previous report) for the rates.
///
/// Bytes are RTP payload bytes (no headers, as `bytesReceived`/`bytesSent`),
/// retransmissions included. Frames are those the connection delivered
/// ([`Event::Frame`]) or was given to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackStats {
    /// The track's mid.
    pub mid: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// Received or sent.
    pub direction: StatsDirection,
    /// Time since the track's previous report (zero in its first).
    pub interval: Duration,
    /// Payload bytes so far.
    pub bytes: u64,
    /// Payload bytes in the interval.
    pub bytes_in_interval: u64,
    /// RTP packets so far.
    pub packets: u64,
    /// Frames so far.
    pub frames: u64,
    /// Frames in the interval.
    pub frames_in_interval: u64,
    /// Packets lost so far (RFC 3550's cumulative count: expected minus
    /// received, so a loss repaired by retransmission is none), as the
    /// latest receiver report on the stream says (0 before the first).
    /// Inbound: our own report, the count the peer is told; outbound: the
    /// peer's.
    pub packets_lost: u64,
    /// Interarrival jitter: inbound, from our latest receiver report;
    /// outbound, from the peer's. `None` before the first report.
    pub jitter: Option<Duration>,
    /// The round-trip time to the peer: from RTCP (receiver reports, or
    /// XR for a receiver), else the connection's latest (from RTCP or ICE
    /// checks). `None` while neither has measured one.
    pub rtt: Option<Duration>,
}

impl TrackStats {
    /// Payload bits per second over the interval (0 in the first report).
    pub fn bitrate_bps(&self) -> f64 {
        rate(self.bytes_in_interval * 8, self.interval)
    }

    /// Frames per second over the interval (0 in the first report).
    pub fn frames_per_second(&self) -> f64 {
        rate(self.frames_in_interval, self.interval)
    }
}

fn rate(count: u64, over: Duration) -> f64 {
    if over.is_zero() {
        0.0
    } else {
        count as f64 / over.as_secs_f64()
    }
}

impl std::fmt::Display for TrackStats {
    /// `mid 0 video in: 1.52 Mbit/s, 30.0 fps, 0 lost, jitter 2.1 ms, rtt 0.4 ms`
    /// (`-` for what is not known yet).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        };
        let bps = self.bitrate_bps();
        write!(f, "mid {} {kind} {}: ", self.mid, self.direction)?;
        if bps >= 1e6 {
            write!(f, "{:.2} Mbit/s", bps / 1e6)?;
        } else {
            write!(f, "{:.1} kbit/s", bps / 1e3)?;
        }
        write!(
            f,
            ", {:.1} fps, {} lost",
            self.frames_per_second(),
            self.packets_lost
        )?;
        let ms = |d: Option<Duration>| {
            d.map_or("-".to_owned(), |d| {
                format!("{:.1} ms", d.as_secs_f64() * 1e3)
            })
        };
        write!(f, ", jitter {}, rtt {}", ms(self.jitter), ms(self.rtt))
    }
}

/// The candidate pair media travels on, like the selected pair in a
/// browser's `getStats()`.
///
/// Our end is a host socket or our relayed address (a server-reflexive
/// pair travels from its host base, so it shows as host here and as srflx
/// at the peer). The peer's end is named from the candidates it signaled;
/// an address learnt from its checks only is peer-reflexive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Path {
    /// Our address.
    pub local: SocketAddr,
    /// `Host` or `Relayed`.
    pub local_kind: CandidateKind,
    /// For a relayed local end: the transport to the TURN server.
    pub relay: Option<RelayProto>,
    /// The peer's address.
    pub remote: SocketAddr,
    /// Its type.
    pub remote_kind: CandidateKind,
}

impl std::fmt::Display for Path {
    /// `relay/tcp 203.0.113.1:50000 <-> srflx 203.0.113.12:4000`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.local_kind)?;
        if let Some(p) = self.relay {
            write!(f, "/{p}")?;
        }
        write!(
            f,
            " {} <-> {} {}",
            self.local, self.remote_kind, self.remote
        )
    }
}

/// A received encoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The mid of the remote track.
    pub mid: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// The codec of `data` (its payload type's).
    pub codec: Codec,
    /// Media time since the track began, from the RTP time.
    pub pts: Duration,
    /// The sender's wall clock when this frame was captured: the NTP time
    /// of the stream's latest RTCP sender report plus the RTP time since
    /// it. `None` until a sender report came. Frames of different tracks
    /// of one sender line up on it (lip sync).
    pub sender_time: Option<SystemTime>,
    /// When the first packet of this frame arrived (the `now` of the
    /// receive input that brought it).
    pub received: Instant,
    /// Whether this is a keyframe, when the codec tells (VP8, VP9, H.264
    /// and AV1 do).
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
    /// The negotiation kept no payload type of the track's codec on its
    /// m-line that we can send with (e.g. an H.264 track to a peer that only
    /// takes VP8, or H.264 only in packetization mode 0); nothing was sent.
    #[error("the peer accepted no {codec} on mid {mid}")]
    CodecNotNegotiated {
        /// The m-line.
        mid: String,
        /// The track's codec.
        codec: Codec,
    },
    /// The media engine refused.
    #[error("media engine: {0}")]
    Engine(String),
}
