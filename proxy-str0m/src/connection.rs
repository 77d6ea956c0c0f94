//! [`ProxyConnection`]: the core service composed with the str0m engine.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proxy_core::{LocalTrack, ProxyConnectionService, ProxyMessage};

use crate::engine::{Engine, EngineOutput};
use crate::types::{Event, Output, ProxyConfig, WriteError};

/// lib-jitsi-meet's proxy connection with a real WebRTC stack: the sans-IO
/// [`ProxyConnectionService`] driving a str0m [`Rtc`](str0m::Rtc). No I/O, no
/// clock: time is always passed in.
///
/// The methods, as in quinn-proto's `Connection`:
///
/// - **inputs**: [`handle_message`](Self::handle_message) (signaling),
///   [`handle_receive`](Self::handle_receive) (a datagram),
///   [`handle_timeout`](Self::handle_timeout) (time passed);
/// - **application commands**: [`start`](Self::start), [`stop`](Self::stop),
///   [`write_frame`](Self::write_frame), [`request_keyframe`](Self::request_keyframe);
/// - **output**: [`poll_output`](Self::poll_output): datagrams, signaling
///   stanzas and events, ending with [`Output::Timeout`];
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
        ProxyConnection {
            core: ProxyConnectionService::new(config.core),
            engine: Engine::new(now, config.local_addrs),
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
