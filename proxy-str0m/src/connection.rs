//! [`ProxyConnection`]: the core service composed with the str0m engine.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use proxy_core::{IceServer, LocalTrack, ProxyConnectionService, ProxyMessage};

use crate::engine::{Engine, EngineOutput};
use crate::net::{IceServerSpec, NetConfig, StreamId};
use crate::types::{Event, Output, ProxyConfig, WriteError};

/// lib-jitsi-meet's proxy connection with a real WebRTC stack: the sans-IO
/// [`ProxyConnectionService`] driving a str0m [`Rtc`](str0m::Rtc). No I/O, no
/// clock: time is always passed in.
///
/// The methods, as in quinn-proto's `Connection`:
///
/// - **inputs**: [`handle_message`](Self::handle_message) (signaling),
///   [`handle_receive`](Self::handle_receive) (a datagram),
///   [`handle_timeout`](Self::handle_timeout) (time passed), and the answers
///   to the I/O the STUN/TURN side asks for:
///   [`handle_resolved`](Self::handle_resolved) (DNS),
///   [`handle_stream_connected`](Self::handle_stream_connected),
///   [`handle_stream_data`](Self::handle_stream_data),
///   [`handle_stream_closed`](Self::handle_stream_closed) (TCP to TURN servers);
/// - **application commands**: [`start`](Self::start), [`stop`](Self::stop),
///   [`write_frame`](Self::write_frame), [`request_keyframe`](Self::request_keyframe),
///   [`set_ice_servers`](Self::set_ice_servers);
/// - **output**: [`poll_output`](Self::poll_output): datagrams, signaling
///   stanzas, events and I/O requests, ending with [`Output::Timeout`];
/// - **getters**: [`is_active`](Self::is_active),
///   [`is_connected`](Self::is_connected), [`peer`](Self::peer),
///   [`sid`](Self::sid), [`mid_of_track`](Self::mid_of_track),
///   [`accepts`](Self::accepts).
///
/// After every input or command, call `poll_output` until it returns
/// [`Output::Timeout`], then wait for the next input or that instant (with
/// `Timeout(None)`, nothing is scheduled: wait for the next input only).
///
/// Inside `poll_output` the core's outputs come first: engine commands are run
/// at once and their results fed back to the core; then the engine's
/// datagrams, frames and events. A timeout is only returned when both are
/// drained.
#[derive(Debug)]
pub struct ProxyConnection {
    core: ProxyConnectionService,
    engine: Engine,
    /// The latest time given in an input.
    now: Instant,
}

impl ProxyConnection {
    /// A connection service with no connection yet; `now` is str0m's epoch
    /// (the caller's clock, real or virtual).
    pub fn new(now: Instant, config: ProxyConfig) -> ProxyConnection {
        let net = NetConfig {
            host_addrs: config.local_addrs,
            policy: config.ice_transport_policy,
            tls: config.tls,
        };
        let mut engine = Engine::with_network(now, net, config.wall_clock);
        engine.set_resolve_mdns(config.resolve_mdns);
        engine.set_stats_interval(config.stats_interval);
        ProxyConnection {
            core: ProxyConnectionService::new(config.core),
            engine,
            now,
        }
    }

    fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    // ---- getters -------------------------------------------------------

    /// Whether a connection (session) currently exists.
    pub fn is_active(&self) -> bool {
        self.core.is_active()
    }

    /// Whether media can flow right now.
    pub fn is_connected(&self) -> bool {
        self.core.is_connected() && self.engine.is_connected()
    }

    /// The JID of the connection's peer, while a connection exists.
    pub fn peer(&self) -> Option<&str> {
        self.core.peer()
    }

    /// The Jingle session id (`sid`) of the connection, while one exists.
    pub fn sid(&self) -> Option<&str> {
        self.core.sid()
    }

    /// The mid local track `track` is sent on, once negotiated.
    pub fn mid_of_track(&self, track: usize) -> Option<String> {
        self.engine.mid_of_track(track)
    }

    /// Whether a datagram belongs to this connection (for sharing one socket
    /// among many).
    pub fn accepts(&self, source: SocketAddr, destination: SocketAddr, contents: &[u8]) -> bool {
        self.engine.accepts(source, destination, contents)
    }

    // ---- application commands ---------------------------------------------

    /// Initiator: connects to `peer` sending `tracks` (source names
    /// `peer-a0`/`peer-v1`… by index).
    pub fn start(
        &mut self,
        now: Instant,
        peer: &str,
        tracks: &[LocalTrack],
    ) -> Result<(), proxy_core::Error> {
        self.tick(now);
        self.core.start(now, peer, tracks)
    }

    /// Terminates: sends session-terminate and closes; `ConnectionClosed` fires
    /// once.
    pub fn stop(&mut self, now: Instant) {
        self.tick(now);
        self.core.stop(now);
    }

    /// Sends one encoded frame (e.g. a whole VP8 frame) on local track `track`
    /// (its index in the list given to `start` or the responder tracks). `pts`
    /// is the media time of the frame since the track began.
    pub fn write_frame(
        &mut self,
        now: Instant,
        track: usize,
        pts: Duration,
        data: &[u8],
    ) -> Result<(), WriteError> {
        self.tick(now);
        if !self.core.is_active() {
            return Err(WriteError::NoConnection);
        }
        self.engine.write_frame(now, track, pts, data)
    }

    /// Asks the peer for a keyframe on the remote track at `mid`.
    pub fn request_keyframe(&mut self, now: Instant, mid: &str) -> Result<(), WriteError> {
        self.tick(now);
        if !self.core.is_active() {
            return Err(WriteError::NoConnection);
        }
        self.engine.request_keyframe(now, mid)
    }

    /// Uses these ICE servers (STUN/TURN, e.g. fresh credentials from
    /// XEP-0215) from now on, instead of the config's: the current
    /// connection starts the new ones at once (allocations of replaced
    /// servers live on for a while, so a pair using them can move), and
    /// every later connection uses them.
    pub fn set_ice_servers(&mut self, now: Instant, servers: &[IceServer]) {
        self.tick(now);
        self.engine.set_ice_servers(now, servers);
    }

    /// [`set_ice_servers`](Self::set_ice_servers) with servers already in
    /// the network's terms (e.g. parsed from `turn:` URLs with
    /// [`IceServerSpec::parse`]).
    pub fn set_server_specs(&mut self, now: Instant, servers: Vec<IceServerSpec>) {
        self.tick(now);
        self.engine.set_server_specs(now, servers);
    }

    // ---- inputs --------------------------------------------------------

    /// A signaling message from the channel.
    pub fn handle_message(&mut self, now: Instant, message: ProxyMessage) {
        self.tick(now);
        self.core.handle_message(now, message);
    }

    /// A UDP datagram that arrived on one of our sockets.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) {
        self.tick(now);
        self.engine
            .handle_receive(now, source, destination, contents);
    }

    /// The answer to [`Output::Resolve`]: the addresses of `host`, or why not.
    pub fn handle_resolved(
        &mut self,
        now: Instant,
        host: &str,
        result: Result<Vec<IpAddr>, String>,
    ) {
        self.tick(now);
        self.engine.handle_resolved(now, host, result);
    }

    /// The TCP connection asked for by [`Output::Connect`] is up, from `local`.
    pub fn handle_stream_connected(&mut self, now: Instant, stream: StreamId, local: SocketAddr) {
        self.tick(now);
        self.engine.handle_stream_connected(now, stream, local);
    }

    /// Bytes read from `stream`; empty means the server closed it (EOF).
    pub fn handle_stream_data(&mut self, now: Instant, stream: StreamId, bytes: &[u8]) {
        self.tick(now);
        self.engine.handle_stream_data(now, stream, bytes);
    }

    /// `stream` failed to connect, or broke.
    pub fn handle_stream_closed(&mut self, now: Instant, stream: StreamId) {
        self.tick(now);
        self.engine.handle_stream_closed(now, stream);
    }

    /// Advances time.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        self.core.handle_timeout(now);
        self.engine.handle_timeout(now);
    }

    // ---- output --------------------------------------------------------

    /// The next output. Call after every input until it returns
    /// [`Output::Timeout`].
    pub fn poll_output(&mut self) -> Output {
        let now = self.now;
        loop {
            if let Some(out) = self.core.poll_output() {
                match out {
                    proxy_core::Output::Iq(out) => return Output::Iq(out),
                    proxy_core::Output::Event(e) => return Output::Event(Event::Core(e)),
                    proxy_core::Output::Engine(command) => {
                        self.engine.handle_command(now, command);
                        continue;
                    }
                }
            }
            match self.engine.poll_output() {
                Some(EngineOutput::Event(e)) => self.core.handle_engine_event(now, e),
                Some(EngineOutput::Transmit(t)) => return Output::Transmit(t),
                Some(EngineOutput::Frame(f)) => return Output::Event(Event::Frame(f)),
                Some(EngineOutput::KeyframeRequest { track }) => {
                    return Output::Event(Event::KeyframeRequest { track })
                }
                Some(EngineOutput::Resolve { host, port, mdns }) => {
                    return Output::Resolve { host, port, mdns }
                }
                Some(EngineOutput::Connect { stream, server }) => {
                    return Output::Connect { stream, server }
                }
                Some(EngineOutput::StreamSend { stream, bytes }) => {
                    return Output::StreamSend { stream, bytes }
                }
                Some(EngineOutput::StreamClose { stream }) => {
                    return Output::StreamClose { stream }
                }
                Some(EngineOutput::Path(p)) => return Output::Event(Event::Path(p)),
                Some(EngineOutput::Stats(s)) => return Output::Event(Event::Stats(s)),
                Some(EngineOutput::RelayFailed {
                    server,
                    proto,
                    reason,
                }) => {
                    return Output::Event(Event::RelayFailed {
                        server,
                        proto,
                        reason,
                    })
                }
                None => break,
            }
        }
        let deadline = match (self.core.poll_timeout(), self.engine.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Output::Timeout(deadline)
    }
}
