//! The str0m side: carries out the core's [`EngineCommand`]s on a str0m
//! [`Rtc`] and reports what happens as [`EngineEvent`]s, datagrams, frames and
//! keyframe requests.
//!
//! [`Engine`] is usable on its own (two engines can negotiate with each other
//! command-to-command, see `tests/engine_pair.rs`); [`ProxyConnection`] wires
//! it to the core.
//!
//! Like str0m, every mutation of the `Rtc` is followed by a full drain of
//! `Rtc::poll_output` (into the engine's queue), so callers only need to drain
//! [`Engine::poll_output`] after each input.
//!
//! [`ProxyConnection`]: crate::ProxyConnection

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use proxy_core::{Codec, Direction, EngineCommand, EngineEvent, MediaKind};
use str0m::change::SdpPendingOffer;
use str0m::format::{Codec as RtcCodec, PayloadParams};
use str0m::media::MediaTime;
use str0m::media::{Direction as RtcDirection, KeyframeRequestKind, MediaKind as RtcKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Input, Rtc};

use crate::net::{IceServerSpec, NetConfig, Network, RelayError, RelayProto, StreamId};
use crate::types::{Frame, Path, TrackStats, Transmit, WriteError};

mod commands;
mod mdns;
mod network;
mod path;
mod rtc;
mod stats;

pub use mdns::{MAX_MDNS_NAMES, MDNS_WAIT};
use network::{Retiring, Streams};

/// How long without any datagram from the peer, once connected, before the
/// engine reports [`EngineEvent::Disconnected`]. str0m's ICE notices a vanished
/// peer only after its STUN retries run out; this is much faster. Keepalives
/// (STUN every second, see [`Engine::new`]) keep a healthy idle path above it.
pub const SILENCE_TIMEOUT: Duration = Duration::from_secs(2);

/// The STUN check interval on a working pair (str0m's default is 3 s).
const STUN_INTERVAL: Duration = Duration::from_secs(1);

/// Most early datagrams held (see [`Engine::handle_receive`]).
const MAX_HELD: usize = 16;
/// How long an early datagram is held.
const HOLD_FOR: Duration = Duration::from_secs(2);

/// One output of [`Engine::poll_output`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineOutput {
    /// For the core: feed it to `ProxyConnectionService::handle_engine_event`.
    Event(EngineEvent),
    /// Send this datagram.
    Transmit(Transmit),
    /// A received frame.
    Frame(Frame),
    /// The peer asks for a keyframe on local track `track`.
    KeyframeRequest {
        /// The local track index.
        track: usize,
    },
    /// Look up `host`: an ICE server's DNS name, or (only with
    /// [`Engine::set_resolve_mdns`]) a remote candidate's mDNS name
    /// (`<uuid>.local`, to resolve with multicast DNS, not the system
    /// resolver). Answer with [`Engine::handle_resolved`].
    Resolve {
        /// The name.
        host: String,
        /// The server's (or candidate's) port.
        port: u16,
        /// A remote candidate's mDNS name (multicast DNS), not a server's.
        mdns: bool,
    },
    /// Open a TCP connection; answer with [`Engine::handle_stream_connected`]
    /// or [`Engine::handle_stream_closed`], feed reads to
    /// [`Engine::handle_stream_data`].
    Connect {
        /// The id to use in the answers.
        stream: StreamId,
        /// Where to connect.
        server: SocketAddr,
    },
    /// Write these bytes on the stream, in order.
    StreamSend {
        /// The stream.
        stream: StreamId,
        /// The bytes.
        bytes: bytes::Bytes,
    },
    /// Close the stream after what was sent before.
    StreamClose {
        /// The stream.
        stream: StreamId,
    },
    /// Media now travels on this candidate pair.
    Path(Path),
    /// One track's statistics (see [`Engine::set_stats_interval`]).
    Stats(TrackStats),
    /// A warning: an ICE server could not be used or a relay failed.
    RelayFailed {
        /// The server's URL.
        server: String,
        /// The transport to it.
        proto: Option<RelayProto>,
        /// What went wrong.
        reason: RelayError,
    },
}

/// A negotiated m-line we know of.
#[derive(Debug, Clone)]
struct MediaEntry {
    mid: Mid,
    kind: MediaKind,
    /// The local track sent on it, if any.
    track: Option<usize>,
    /// The codec of that track's frames.
    codec: Codec,
    /// Whether we told the core it receives media.
    reported: bool,
    /// A video keyframe arrived on it (a decoder can start).
    seen_keyframe: bool,
    /// When we last asked the peer for a keyframe because none had arrived.
    keyframe_asked: Option<Instant>,
}

impl MediaEntry {
    fn new(mid: Mid, kind: MediaKind, track: Option<usize>, reported: bool) -> MediaEntry {
        MediaEntry {
            mid,
            kind,
            track,
            codec: match kind {
                MediaKind::Audio => Codec::Opus,
                MediaKind::Video => Codec::Vp8,
            },
            reported,
            seen_keyframe: false,
            keyframe_asked: None,
        }
    }

    /// This entry, sending frames in `codec`.
    fn sending(mut self, codec: Codec) -> MediaEntry {
        self.codec = codec;
        self
    }
}

/// How often a receiver that has no keyframe yet asks for one.
const KEYFRAME_RETRY: Duration = Duration::from_secs(1);

/// A str0m [`Rtc`] driven by [`EngineCommand`]s.
///
/// - **inputs**: [`handle_command`](Self::handle_command) (work from the core),
///   [`handle_receive`](Self::handle_receive) (a datagram),
///   [`handle_timeout`](Self::handle_timeout) (time passed), and the answers
///   to the network's I/O requests: [`handle_resolved`](Self::handle_resolved),
///   [`handle_stream_connected`](Self::handle_stream_connected),
///   [`handle_stream_data`](Self::handle_stream_data),
///   [`handle_stream_closed`](Self::handle_stream_closed);
/// - **application commands**: [`write_frame`](Self::write_frame),
///   [`request_keyframe`](Self::request_keyframe),
///   [`set_ice_servers`](Self::set_ice_servers),
///   [`set_resolve_mdns`](Self::set_resolve_mdns);
/// - **outputs**: [`poll_output`](Self::poll_output) until `None`, then
///   [`poll_timeout`](Self::poll_timeout);
/// - **getters**: [`has_connection`](Self::has_connection),
///   [`is_connected`](Self::is_connected), [`mid_of_track`](Self::mid_of_track),
///   [`accepts`](Self::accepts).
///
/// Each command builds or changes one `Rtc`: `CreateOffer` and `ApplyOffer`
/// start a fresh one (host candidates from the local addresses unless the
/// policy is relay-only; Opus, and VP8, VP9, H.264 and AV1 with the
/// tracks' own codecs first; STUN checks every second) with a
/// fresh [`Network`] for its ICE servers (srflx and relayed candidates are
/// trickled as they come), `Close` lets it say goodbye (RTCP BYE, DTLS
/// close_notify) and drops it; its network deletes its allocations after. An offer stays pending until `ApplyAnswer`
/// (which fails at any other time); a failed `CreateOffer` or `ApplyOffer`
/// leaves no connection. Failures become
/// [`EngineEvent::CommandFailed`]; a dead `Rtc` becomes [`EngineEvent::Failed`];
/// the peer's DTLS close_notify becomes [`EngineEvent::PeerClosed`].
/// [`EngineEvent::Connected`] and [`EngineEvent::Disconnected`] follow whether
/// media can flow: DTLS up, ICE up, and something heard from the peer in the
/// last [`SILENCE_TIMEOUT`].
pub struct Engine {
    local_addrs: Vec<SocketAddr>,
    /// The first `now`: the networks' epoch.
    epoch: Instant,
    /// What each connection's network is made with.
    net_config: NetConfig,
    /// The wall-clock time at an instant (for servers' `expires`).
    wall: Option<(SystemTime, Instant)>,
    /// Servers given by [`set_ice_servers`](Self::set_ice_servers): they
    /// replace the commands' from then on.
    servers: Option<Vec<IceServerSpec>>,
    /// Networks of ended connections, deleting their allocations.
    retiring: Vec<Retiring>,
    next_net: u32,
    streams: Streams,
    /// Whether remote candidates' mDNS names are resolved (see `mdns.rs`).
    resolve_mdns: bool,
    /// How often connections report statistics (`None`: never).
    stats_interval: Option<Duration>,
    /// The latest time seen in an input.
    now: Instant,
    queue: VecDeque<EngineOutput>,
    state: State,
}

/// Where the offer/answer exchange stands. Each stage holds what it needs.
enum State {
    /// No peer connection.
    Idle,
    /// We offered (`CreateOffer`); the answer is awaited.
    Offering {
        conn: Box<Connection>,
        pending: SdpPendingOffer,
    },
    /// The exchange is over: we answered an offer (`ApplyOffer`), or the
    /// answer to our offer came (the offer is spent, even if the answer could
    /// not be applied).
    Negotiated { conn: Box<Connection> },
}

impl State {
    fn conn(&self) -> Option<&Connection> {
        match self {
            State::Idle => None,
            State::Offering { conn, .. } | State::Negotiated { conn } => Some(conn),
        }
    }

    fn conn_mut(&mut self) -> Option<&mut Connection> {
        match self {
            State::Idle => None,
            State::Offering { conn, .. } | State::Negotiated { conn } => Some(conn),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            State::Idle => "Idle",
            State::Offering { .. } => "Offering",
            State::Negotiated { .. } => "Negotiated",
        }
    }
}

/// A non-STUN datagram the `Rtc` did not accept yet: (arrival, source,
/// destination, contents).
type Held = (Instant, SocketAddr, SocketAddr, Vec<u8>);

/// One peer connection: the `Rtc` and what the engine knows about it. Boxed
/// in [`State`]: an `Rtc` is about 10 KB, and an idle engine has none.
struct Connection {
    rtc: Rtc,
    /// Its STUN/TURN side, and the network's id (for stream ids).
    net: Network,
    net_id: u32,
    medias: Vec<MediaEntry>,
    /// The `Rtc`'s next timeout; `None` once it is dead.
    timeout: Option<Instant>,
    link: Link,
    /// Early datagrams (see [`Engine::handle_receive`]).
    held: VecDeque<Held>,
    /// Receiving mids whose first frames are not keyframes: ask the peer.
    keyframe_wanted: Vec<Mid>,
    /// The candidate pair media travels on.
    path: path::PathWatch,
    /// The mDNS names of remote candidates.
    mdns: mdns::MdnsNames,
    /// Per-track statistics.
    stats: stats::StatsWatch,
}

impl Connection {
    fn new(rtc: Rtc, net: Network, net_id: u32) -> Connection {
        Connection {
            rtc,
            net,
            net_id,
            medias: Vec::new(),
            timeout: None,
            link: Link::default(),
            held: VecDeque::new(),
            keyframe_wanted: Vec::new(),
            path: path::PathWatch::default(),
            mdns: mdns::MdnsNames::default(),
            stats: stats::StatsWatch::default(),
        }
    }
}

/// Whether media can flow on a connection, and what the core was told.
#[derive(Debug, Default)]
struct Link {
    dtls: Dtls,
    /// ICE has a working pair.
    ice_up: bool,
    /// When a datagram from the peer last arrived.
    last_receive: Option<Instant>,
    /// Nothing arrived for [`SILENCE_TIMEOUT`].
    silent: bool,
    /// What we last told the core (`Connected` or `Disconnected`).
    reported_up: bool,
}

impl Link {
    /// Media can flow: DTLS up, ICE up, the peer not silent.
    fn is_up(&self) -> bool {
        self.dtls == Dtls::Up && self.ice_up && !self.silent
    }

    /// When the peer counts as silent if nothing arrives before.
    fn silence_deadline(&self) -> Option<Instant> {
        if self.dtls == Dtls::Up && !self.silent {
            self.last_receive.map(|t| t + SILENCE_TIMEOUT)
        } else {
            None
        }
    }
}

/// The DTLS (and SRTP) handshake of a connection.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Dtls {
    /// Not up yet.
    #[default]
    Handshaking,
    /// str0m said `Event::Connected`.
    Up,
    /// Over, for good: the peer's close_notify came ([`EngineEvent::PeerClosed`]
    /// was reported), or we are closing ([`EngineCommand::Close`]).
    Closed,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let conn = self.state.conn();
        f.debug_struct("Engine")
            .field("local_addrs", &self.local_addrs)
            .field("policy", &self.net_config.policy)
            .field("retiring", &self.retiring.len())
            .field("state", &self.state.name())
            .field("medias", &conn.map(|c| &c.medias))
            .field("queued", &self.queue.len())
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

/// str0m's name for `codec`.
fn rtc_codec(codec: Codec) -> RtcCodec {
    match codec {
        Codec::Opus => RtcCodec::Opus,
        Codec::Vp8 => RtcCodec::Vp8,
        Codec::Vp9 => RtcCodec::Vp9,
        Codec::H264 => RtcCodec::H264,
        Codec::Av1 => RtcCodec::Av1,
    }
}

/// Ours for str0m's `codec`, if we enable it.
fn codec_of(codec: RtcCodec) -> Option<Codec> {
    Some(match codec {
        RtcCodec::Opus => Codec::Opus,
        RtcCodec::Vp8 => Codec::Vp8,
        RtcCodec::Vp9 => Codec::Vp9,
        RtcCodec::H264 => Codec::H264,
        RtcCodec::Av1 => Codec::Av1,
        _ => return None,
    })
}

/// The negotiated payload type to send `codec` with: of those both sides
/// accepted (str0m keeps only those), the first in our configured order;
/// for H.264 the first in packetization mode 1 (str0m's packetizer
/// fragments with FU-A, which mode 0 forbids).
fn send_params<'a>(
    params: impl Iterator<Item = &'a PayloadParams>,
    codec: Codec,
) -> Option<PayloadParams> {
    let wanted = rtc_codec(codec);
    params
        .filter(|p| p.spec().codec == wanted)
        .find(|p| codec != Codec::H264 || p.spec().format.packetization_mode == Some(1))
        .copied()
}

fn kind_of(k: RtcKind) -> MediaKind {
    match k {
        RtcKind::Audio => MediaKind::Audio,
        RtcKind::Video => MediaKind::Video,
    }
}

fn rtc_kind(k: MediaKind) -> RtcKind {
    match k {
        MediaKind::Audio => RtcKind::Audio,
        MediaKind::Video => RtcKind::Video,
    }
}

fn rtc_direction(d: Direction) -> RtcDirection {
    match d {
        Direction::SendOnly => RtcDirection::SendOnly,
        Direction::RecvOnly => RtcDirection::RecvOnly,
        Direction::SendRecv => RtcDirection::SendRecv,
        Direction::Inactive => RtcDirection::Inactive,
    }
}

impl Engine {
    /// An engine with no peer connection; `local_addrs` become host candidates
    /// of every connection it creates.
    pub fn new(now: Instant, local_addrs: Vec<SocketAddr>) -> Engine {
        let config = NetConfig {
            host_addrs: local_addrs,
            ..NetConfig::default()
        };
        Engine::with_network(now, config, None)
    }

    /// An engine whose connections use `config`: its host addresses (host
    /// candidates unless the policy is relay-only, and the sockets STUN/TURN
    /// traffic goes from), its policy and TLS. `wall_clock` is the wall-clock
    /// time at `now`, for ICE servers' `expires`.
    pub fn with_network(now: Instant, config: NetConfig, wall_clock: Option<SystemTime>) -> Engine {
        Engine {
            local_addrs: config.host_addrs.clone(),
            epoch: now,
            net_config: config,
            wall: wall_clock.map(|w| (w, now)),
            servers: None,
            retiring: Vec::new(),
            next_net: 0,
            streams: Streams::default(),
            resolve_mdns: false,
            stats_interval: None,
            now,
            queue: VecDeque::new(),
            state: State::Idle,
        }
    }

    // ---- getters -------------------------------------------------------

    /// Whether a peer connection exists.
    pub fn has_connection(&self) -> bool {
        self.state.conn().is_some()
    }

    /// Whether media can flow (DTLS up, ICE up, peer not silent).
    pub fn is_connected(&self) -> bool {
        self.state.conn().is_some_and(|c| c.link.reported_up)
    }

    /// The mid local track `track` is sent on, once negotiated.
    pub fn mid_of_track(&self, track: usize) -> Option<String> {
        self.state
            .conn()?
            .medias
            .iter()
            .find(|m| m.track == Some(track))
            .map(|m| m.mid.to_string())
    }

    /// Whether a datagram belongs to this engine's connection.
    pub fn accepts(&self, source: SocketAddr, destination: SocketAddr, contents: &[u8]) -> bool {
        let Some(conn) = self.state.conn() else {
            return false;
        };
        match Receive::new(Protocol::Udp, source, destination, contents) {
            Ok(r) => conn.rtc.accepts(&Input::Receive(self.now, r)),
            Err(_) => false,
        }
    }

    // ---- inputs --------------------------------------------------------

    /// Carries out one command of the core. Results are queued as
    /// [`EngineOutput::Event`]s.
    pub fn handle_command(&mut self, now: Instant, command: EngineCommand) {
        self.now = self.now.max(now);
        match command {
            EngineCommand::CreateOffer {
                ice_servers,
                tracks,
                direction,
            } => {
                let servers = self.servers_for(&ice_servers);
                self.create_offer(now, &tracks, direction, servers)
            }
            EngineCommand::ApplyOffer {
                ice_servers,
                sdp,
                tracks,
            } => {
                let servers = self.servers_for(&ice_servers);
                self.apply_offer(now, &sdp, &tracks, servers)
            }
            EngineCommand::ApplyAnswer { sdp } => self.apply_answer(&sdp),
            EngineCommand::AddRemoteCandidate { mid: _, candidate } => {
                self.add_remote_candidate(&candidate)
            }
            EngineCommand::Close => self.close(),
        }
    }

    /// A datagram arrived on one of our sockets. STUN/TURN server traffic
    /// stays in the network; peer data through a relay reaches the `Rtc` as
    /// received on the relayed address.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) {
        self.now = self.now.max(now);
        match self.claim_datagram(now, source, destination, contents) {
            None => {}
            Some(None) => self.receive_from_peer(now, source, destination, contents),
            Some(Some(d)) => self.receive_from_peer(now, d.peer, d.relay, &d.contents),
        }
    }

    /// A datagram from the peer (directly or through a relay) for the `Rtc`.
    fn receive_from_peer(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) {
        let Some(conn) = self.state.conn_mut() else {
            return;
        };
        // Not STUN/DTLS/RTP: not for us.
        let Ok(receive) = Receive::new(Protocol::Udp, source, destination, contents) else {
            return;
        };
        let input = Input::Receive(now, receive);
        if !conn.rtc.accepts(&input) {
            // The peer's DTLS ClientHello often overtakes our own ICE check of
            // its pair, and str0m accepts datagrams from that address only once
            // the check succeeds. Holding it briefly (as browsers do) saves the
            // peer's 1 s DTLS retransmission. STUN is never held.
            if contents.first().is_some_and(|b| *b >= 4) {
                if conn.held.len() >= MAX_HELD {
                    conn.held.pop_front();
                }
                conn.held
                    .push_back((now, source, destination, contents.to_vec()));
            }
            return;
        }
        self.accept_datagram(now, input, source);
        self.release_held(now);
    }

    /// Feeds an accepted datagram to the `Rtc`.
    fn accept_datagram(&mut self, now: Instant, input: Input<'_>, source: SocketAddr) {
        let Some(conn) = self.state.conn_mut() else {
            return;
        };
        conn.link.last_receive = Some(now);
        let was_silent = std::mem::replace(&mut conn.link.silent, false);
        if let Err(e) = conn.rtc.handle_input(input) {
            self.report_rtc_error(format!("datagram from {source}: {e}"));
        }
        self.drain();
        let Some(conn) = self.state.conn_mut() else {
            return;
        };
        if was_silent {
            conn.update_up(&mut self.queue);
        }
        // A decoder cannot start on a delta frame (e.g. the first keyframe was
        // lost or reordered away): ask the sender, as browsers do.
        for mid in std::mem::take(&mut conn.keyframe_wanted) {
            let _ = self.request_keyframe(now, &mid.to_string());
        }
    }

    /// Hands in held datagrams the `Rtc` accepts now; forgets stale ones.
    fn release_held(&mut self, now: Instant) {
        let Some(conn) = self.state.conn_mut() else {
            return;
        };
        if conn.held.is_empty() {
            return;
        }
        let held = std::mem::take(&mut conn.held);
        for (at, source, destination, contents) in held {
            if now.saturating_duration_since(at) > HOLD_FOR {
                continue;
            }
            // Handing one in may have ended the connection.
            let Some(conn) = self.state.conn_mut() else {
                continue;
            };
            let Ok(receive) = Receive::new(Protocol::Udp, source, destination, &contents) else {
                continue;
            };
            let input = Input::Receive(now, receive);
            if conn.rtc.accepts(&input) {
                self.accept_datagram(now, input, source);
            } else {
                conn.held.push_back((at, source, destination, contents));
            }
        }
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.network_timeout(now);
        self.drain();
        if let Some(conn) = self.state.conn_mut() {
            if let Err(e) = conn.rtc.handle_input(Input::Timeout(now)) {
                self.report_rtc_error(format!("timeout: {e}"));
            }
            self.drain();
        }
        self.release_held(now);
        if let Some(conn) = self.state.conn_mut() {
            if conn.link.silence_deadline().is_some_and(|t| now >= t) {
                conn.link.silent = true;
                conn.update_up(&mut self.queue);
            }
        }
    }

    /// Sends one encoded frame on local track `track`.
    pub fn write_frame(
        &mut self,
        now: Instant,
        track: usize,
        pts: Duration,
        data: &[u8],
    ) -> Result<(), WriteError> {
        self.now = self.now.max(now);
        let Some(conn) = self.state.conn_mut() else {
            return Err(WriteError::NoConnection);
        };
        let Some(entry) = conn.medias.iter().find(|m| m.track == Some(track)) else {
            return Err(WriteError::UnknownTrack(track));
        };
        if conn.link.dtls != Dtls::Up {
            return Err(WriteError::NotConnected);
        }
        let (mid, codec) = (entry.mid, entry.codec);
        let Some(writer) = conn.rtc.writer(mid) else {
            return Err(WriteError::NotConnected);
        };
        let Some(params) = send_params(writer.payload_params(), codec) else {
            return Err(WriteError::CodecNotNegotiated {
                mid: mid.to_string(),
                codec,
            });
        };
        let time = MediaTime::from(pts).rebase(params.spec().clock_rate);
        let result = writer
            .write(params.pt(), now, time, data)
            .map_err(|e| WriteError::Engine(e.to_string()));
        if result.is_ok() {
            conn.stats.on_frame_out(mid);
        }
        self.drain();
        result
    }

    /// How often connections made from now on report
    /// [`EngineOutput::Stats`] for each track; `None` (the default): never.
    pub fn set_stats_interval(&mut self, interval: Option<Duration>) {
        self.stats_interval = interval;
    }

    /// Whether remote candidates whose address is an mDNS name
    /// (`<uuid>.local`) are resolved, for candidates that come from now on.
    /// Off (the default), they are set aside quietly: the peer's checks
    /// reach us anyway and ICE learns its address as peer-reflexive. On,
    /// each distinct name is asked for once with [`EngineOutput::Resolve`]
    /// (at most [`MAX_MDNS_NAMES`] per connection) and its candidates are
    /// added when [`handle_resolved`](Self::handle_resolved) brings an
    /// address within [`MDNS_WAIT`]; a failure sets them aside quietly.
    pub fn set_resolve_mdns(&mut self, on: bool) {
        self.resolve_mdns = on;
    }

    /// Asks the peer for a keyframe on the remote track at `mid`.
    pub fn request_keyframe(&mut self, now: Instant, mid: &str) -> Result<(), WriteError> {
        self.now = self.now.max(now);
        let Some(conn) = self.state.conn_mut() else {
            return Err(WriteError::NoConnection);
        };
        let Some(entry) = conn.medias.iter().find(|m| m.mid.to_string() == mid) else {
            return Err(WriteError::UnknownMid(mid.to_owned()));
        };
        let mid = entry.mid;
        let Some(mut writer) = conn.rtc.writer(mid) else {
            return Err(WriteError::NotConnected);
        };
        let kind = if writer.is_request_keyframe_possible(KeyframeRequestKind::Pli) {
            KeyframeRequestKind::Pli
        } else {
            KeyframeRequestKind::Fir
        };
        let result = writer
            .request_keyframe(None, kind)
            .map_err(|e| WriteError::Engine(e.to_string()));
        self.drain();
        result
    }

    // ---- outputs -------------------------------------------------------

    /// The next output, if any. Drain after every input.
    pub fn poll_output(&mut self) -> Option<EngineOutput> {
        self.queue.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let conn = self.state.conn();
        [
            conn.and_then(|c| c.timeout),
            conn.and_then(|c| c.link.silence_deadline()),
            self.network_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
