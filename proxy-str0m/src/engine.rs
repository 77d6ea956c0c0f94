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
use std::time::{Duration, Instant};

use bytes::Bytes;
use proxy_core::{Direction, EngineCommand, EngineError, EngineEvent, MediaKind, TrackSpec};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction as RtcDirection, KeyframeRequestKind, MediaKind as RtcKind, Mid};
use str0m::media::{MediaData, MediaTime};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event as RtcEvent, IceConnectionState, Input, Output as RtcOutput, Rtc};

use crate::sdp_text;
use crate::types::{Frame, Transmit, WriteError};

/// How long without any datagram from the peer, once connected, before the
/// engine reports [`EngineEvent::Disconnected`]. str0m's ICE notices a vanished
/// peer only after its STUN retries run out; this is much faster. Keepalives
/// (STUN every second, see [`Engine::new`]) keep a healthy idle path above it.
pub const SILENCE_TIMEOUT: Duration = Duration::from_secs(2);

/// The STUN check interval on a working pair (str0m's default is 3 s).
const STUN_INTERVAL: Duration = Duration::from_secs(1);

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
}

/// A negotiated m-line we know of.
#[derive(Debug, Clone)]
struct MediaEntry {
    mid: Mid,
    kind: MediaKind,
    /// The local track sent on it, if any.
    track: Option<usize>,
    /// Whether we told the core it receives media.
    reported: bool,
}

/// A str0m [`Rtc`] driven by [`EngineCommand`]s. See the module docs.
pub struct Engine {
    local_addrs: Vec<SocketAddr>,
    rtc: Option<Rtc>,
    pending_offer: Option<SdpPendingOffer>,
    medias: Vec<MediaEntry>,
    queue: VecDeque<EngineOutput>,
    /// The latest time seen in an input.
    now: Instant,
    rtc_timeout: Option<Instant>,
    /// DTLS (and SRTP) is up: str0m said `Event::Connected`.
    dtls_connected: bool,
    /// ICE has a working pair.
    ice_up: bool,
    /// Nothing arrived for [`SILENCE_TIMEOUT`].
    silent: bool,
    /// What we last told the core.
    reported_up: bool,
    last_receive: Option<Instant>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("local_addrs", &self.local_addrs)
            .field("has_rtc", &self.rtc.is_some())
            .field("medias", &self.medias)
            .field("queued", &self.queue.len())
            .field("connected", &self.reported_up)
            .finish_non_exhaustive()
    }
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
        Engine {
            local_addrs,
            rtc: None,
            pending_offer: None,
            medias: Vec::new(),
            queue: VecDeque::new(),
            now,
            rtc_timeout: None,
            dtls_connected: false,
            ice_up: false,
            silent: false,
            reported_up: false,
            last_receive: None,
        }
    }

    // ---- getters -------------------------------------------------------

    /// Whether a peer connection exists.
    pub fn has_connection(&self) -> bool {
        self.rtc.is_some()
    }

    /// Whether media can flow (DTLS up, ICE up, peer not silent).
    pub fn is_connected(&self) -> bool {
        self.reported_up
    }

    /// The mid local track `track` is sent on, once negotiated.
    pub fn mid_of_track(&self, track: usize) -> Option<String> {
        self.medias
            .iter()
            .find(|m| m.track == Some(track))
            .map(|m| m.mid.to_string())
    }

    /// Whether a datagram belongs to this engine's connection.
    pub fn accepts(&self, source: SocketAddr, destination: SocketAddr, contents: &[u8]) -> bool {
        let Some(rtc) = &self.rtc else { return false };
        match Receive::new(Protocol::Udp, source, destination, contents) {
            Ok(r) => rtc.accepts(&Input::Receive(self.now, r)),
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
                ice_servers: _,
                tracks,
                direction,
            } => self.create_offer(now, &tracks, direction),
            EngineCommand::ApplyOffer {
                ice_servers: _,
                sdp,
                tracks,
            } => self.apply_offer(now, &sdp, &tracks),
            EngineCommand::ApplyAnswer { sdp } => self.apply_answer(&sdp),
            EngineCommand::AddRemoteCandidate { mid: _, candidate } => {
                self.add_remote_candidate(&candidate)
            }
            EngineCommand::Close => self.close(),
        }
    }

    /// A datagram arrived on one of our sockets.
    pub fn handle_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) {
        self.now = self.now.max(now);
        let Some(rtc) = self.rtc.as_mut() else { return };
        // Not STUN/DTLS/RTP: not for us.
        let Ok(receive) = Receive::new(Protocol::Udp, source, destination, contents) else {
            return;
        };
        let input = Input::Receive(now, receive);
        if !rtc.accepts(&input) {
            return;
        }
        self.last_receive = Some(now);
        let was_silent = std::mem::replace(&mut self.silent, false);
        if let Err(e) = rtc.handle_input(input) {
            self.report_rtc_error(format!("datagram from {source}: {e}"));
        }
        self.drain();
        if was_silent {
            self.update_up();
        }
    }

    /// Time passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if let Some(rtc) = self.rtc.as_mut() {
            if let Err(e) = rtc.handle_input(Input::Timeout(now)) {
                self.report_rtc_error(format!("timeout: {e}"));
            }
            self.drain();
        }
        if self.dtls_connected
            && !self.silent
            && self
                .last_receive
                .is_some_and(|t| now >= t + SILENCE_TIMEOUT)
        {
            self.silent = true;
            self.update_up();
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
        let Some(rtc) = self.rtc.as_mut() else {
            return Err(WriteError::NoConnection);
        };
        let Some(entry) = self.medias.iter().find(|m| m.track == Some(track)) else {
            return Err(WriteError::UnknownTrack(track));
        };
        if !self.dtls_connected {
            return Err(WriteError::NotConnected);
        }
        let wanted = match entry.kind {
            MediaKind::Audio => Codec::Opus,
            MediaKind::Video => Codec::Vp8,
        };
        let Some(writer) = rtc.writer(entry.mid) else {
            return Err(WriteError::NotConnected);
        };
        let params = writer
            .payload_params()
            .find(|p| p.spec().codec == wanted)
            .or_else(|| writer.payload_params().next())
            .copied();
        let Some(params) = params else {
            return Err(WriteError::Engine(format!(
                "no payload type negotiated on mid {}",
                entry.mid
            )));
        };
        let time = MediaTime::from(pts).rebase(params.spec().clock_rate);
        let result = writer
            .write(params.pt(), now, time, data.to_vec())
            .map_err(|e| WriteError::Engine(e.to_string()));
        self.drain();
        result
    }

    /// Asks the peer for a keyframe on the remote track at `mid`.
    pub fn request_keyframe(&mut self, mid: &str) -> Result<(), WriteError> {
        let Some(rtc) = self.rtc.as_mut() else {
            return Err(WriteError::NoConnection);
        };
        let Some(entry) = self.medias.iter().find(|m| m.mid.to_string() == mid) else {
            return Err(WriteError::UnknownMid(mid.to_owned()));
        };
        let mid = entry.mid;
        let Some(mut writer) = rtc.writer(mid) else {
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
        self.rtc.as_ref()?;
        let silence = if self.dtls_connected && !self.silent {
            self.last_receive.map(|t| t + SILENCE_TIMEOUT)
        } else {
            None
        };
        match (self.rtc_timeout, silence) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    // ---- commands ------------------------------------------------------

    fn fresh_rtc(&mut self, now: Instant) -> Vec<String> {
        self.close_quietly();
        let mut config = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .set_rtcp_report_interval_audio(Duration::from_secs(1));
        config.set_max_stun_rto(STUN_INTERVAL);
        let mut rtc = config.build(now);
        let mut candidates = Vec::new();
        for addr in self.local_addrs.clone() {
            match Candidate::host(addr, "udp") {
                Ok(c) => {
                    if let Some(c) = rtc.add_local_candidate(c) {
                        candidates.push(c.to_sdp_string());
                    }
                }
                Err(e) => self.event(EngineEvent::CommandFailed(EngineError::Other(format!(
                    "host candidate {addr}: {e}"
                )))),
            }
        }
        self.rtc = Some(rtc);
        self.now = self.now.max(now);
        // Adding candidates is a mutation: drain before the next one.
        self.drain();
        candidates
    }

    fn create_offer(&mut self, now: Instant, tracks: &[TrackSpec], direction: Direction) {
        let candidates = self.fresh_rtc(now);
        let Some(rtc) = self.rtc.as_mut() else { return };
        let mut api = rtc.sdp_api();
        let dir = rtc_direction(direction);
        let mut medias = Vec::new();
        for t in tracks {
            let mid = api.add_media(
                rtc_kind(t.kind),
                dir,
                Some(t.stream_id.clone()),
                Some(t.track_id.clone()),
                None,
            );
            medias.push(MediaEntry {
                mid,
                kind: t.kind,
                track: dir.is_sending().then_some(t.index),
                reported: false,
            });
        }
        if tracks.is_empty() {
            // One m-line so the peer can send to us.
            let mid = api.add_media(RtcKind::Video, dir, None, None, None);
            medias.push(MediaEntry {
                mid,
                kind: MediaKind::Video,
                track: None,
                reported: false,
            });
        }
        let Some((offer, pending)) = api.apply() else {
            self.event(EngineEvent::CommandFailed(EngineError::CreateOffer(
                "str0m made no offer".into(),
            )));
            return;
        };
        self.medias = medias;
        self.pending_offer = Some(pending);
        let sdp = offer.to_sdp_string();
        self.drain();
        self.event(EngineEvent::LocalOffer { sdp: sdp.clone() });
        self.local_candidates(&sdp, candidates);
    }

    fn apply_offer(&mut self, now: Instant, sdp: &str, tracks: &[TrackSpec]) {
        let candidates = self.fresh_rtc(now);
        let Some(rtc) = self.rtc.as_mut() else { return };
        let offer = match SdpOffer::from_sdp_string(sdp) {
            Ok(o) => o,
            Err(e) => {
                self.event(EngineEvent::CommandFailed(EngineError::ApplyOffer(
                    e.to_string(),
                )));
                return;
            }
        };
        let answer = match rtc.sdp_api().accept_offer(offer) {
            Ok(a) => a,
            Err(e) => {
                self.event(EngineEvent::CommandFailed(EngineError::ApplyOffer(
                    e.to_string(),
                )));
                return;
            }
        };
        let mut answer = answer.to_sdp_string();
        // Attach our tracks, in order, to offered m-lines of their kind that let
        // us send; m-lines we have nothing for stop sending.
        let mut free: Vec<&TrackSpec> = tracks.iter().collect();
        let mut medias = Vec::new();
        for section in sdp_text::sections(sdp) {
            let kind = match section.media.as_str() {
                "audio" => MediaKind::Audio,
                "video" => MediaKind::Video,
                _ => continue,
            };
            let Some(mid_text) = section.mid else {
                continue;
            };
            let mid = Mid::from(mid_text.as_str());
            let Some(media) = rtc.media(mid) else {
                continue;
            };
            let mut track = None;
            let receiving = media.direction().is_receiving();
            if media.direction().is_sending() {
                match free.iter().position(|t| t.kind == kind) {
                    Some(pos) => {
                        let t = free.remove(pos);
                        answer = sdp_text::set_msid(&answer, &mid_text, &t.stream_id, &t.track_id);
                        track = Some(t.index);
                    }
                    None => answer = sdp_text::stop_sending(&answer, &mid_text),
                }
            }
            medias.push(MediaEntry {
                mid,
                kind,
                track,
                reported: receiving,
            });
        }
        self.medias = medias;
        self.event(EngineEvent::LocalAnswer {
            sdp: answer.clone(),
        });
        self.local_candidates(&answer, candidates);
        // The offer tells what the peer sends; str0m's MediaAdded only comes
        // once connected.
        let tracks: Vec<EngineEvent> = self
            .medias
            .iter()
            .filter(|m| m.reported)
            .map(|m| EngineEvent::RemoteTrack {
                mid: m.mid.to_string(),
                kind: m.kind,
            })
            .collect();
        for t in tracks {
            self.event(t);
        }
        self.drain();
    }

    fn apply_answer(&mut self, sdp: &str) {
        let (Some(rtc), Some(pending)) = (self.rtc.as_mut(), self.pending_offer.take()) else {
            self.event(EngineEvent::CommandFailed(EngineError::ApplyAnswer(
                "no offer is pending".into(),
            )));
            return;
        };
        let answer = match SdpAnswer::from_sdp_string(sdp) {
            Ok(a) => a,
            Err(e) => {
                self.event(EngineEvent::CommandFailed(EngineError::ApplyAnswer(
                    e.to_string(),
                )));
                return;
            }
        };
        if let Err(e) = rtc.sdp_api().accept_answer(pending, answer) {
            self.event(EngineEvent::CommandFailed(EngineError::ApplyAnswer(
                e.to_string(),
            )));
            return;
        }
        // str0m reports no MediaAdded for m-lines we created: the answer tells
        // whether the peer sends on them.
        let mut tracks = Vec::new();
        for m in &self.medias {
            if rtc
                .media(m.mid)
                .is_some_and(|x| x.direction().is_receiving())
            {
                tracks.push(EngineEvent::RemoteTrack {
                    mid: m.mid.to_string(),
                    kind: m.kind,
                });
            }
        }
        self.drain();
        for t in tracks {
            self.event(t);
        }
    }

    fn add_remote_candidate(&mut self, candidate: &str) {
        let Some(rtc) = self.rtc.as_mut() else {
            self.event(EngineEvent::CommandFailed(EngineError::Other(
                "remote candidate without a peer connection".into(),
            )));
            return;
        };
        let text = candidate.trim();
        let text = text.strip_prefix("a=").unwrap_or(text);
        match Candidate::from_sdp_string(text) {
            Ok(c) => {
                rtc.add_remote_candidate(c);
                self.drain();
            }
            Err(e) => self.event(EngineEvent::CommandFailed(EngineError::Other(format!(
                "remote candidate: {e}"
            )))),
        }
    }

    /// Closes the connection, letting str0m send its goodbyes (RTCP BYE, DTLS
    /// close_notify) first.
    fn close(&mut self) {
        if let Some(rtc) = self.rtc.as_mut() {
            if rtc.close().is_ok() {
                self.drain();
            }
        }
        self.close_quietly();
    }

    /// Forgets the connection and its state.
    fn close_quietly(&mut self) {
        if let Some(mut rtc) = self.rtc.take() {
            rtc.disconnect();
        }
        self.pending_offer = None;
        self.medias.clear();
        self.rtc_timeout = None;
        self.dtls_connected = false;
        self.ice_up = false;
        self.silent = false;
        self.reported_up = false;
        self.last_receive = None;
    }

    // ---- helpers -------------------------------------------------------

    fn event(&mut self, e: EngineEvent) {
        self.queue.push_back(EngineOutput::Event(e));
    }

    /// Reports our host candidates, unless the description already carries them.
    fn local_candidates(&mut self, sdp: &str, candidates: Vec<String>) {
        let missing: Vec<String> = candidates
            .into_iter()
            .filter(|c| {
                !sdp.lines()
                    .any(|l| l.strip_prefix("a=") == Some(c.as_str()))
            })
            .collect();
        if !missing.is_empty() {
            self.event(EngineEvent::LocalCandidates {
                candidates: missing,
            });
        }
    }

    fn report_rtc_error(&mut self, what: String) {
        let dead = self.rtc.as_ref().is_some_and(|r| !r.is_alive());
        if dead {
            self.close_quietly();
            self.event(EngineEvent::Failed { reason: what });
        } else {
            self.event(EngineEvent::CommandFailed(EngineError::Other(what)));
        }
    }

    /// Tells the core when media starts or stops being able to flow.
    fn update_up(&mut self) {
        let up = self.dtls_connected && self.ice_up && !self.silent;
        if up != self.reported_up {
            self.reported_up = up;
            self.event(if up {
                EngineEvent::Connected
            } else {
                EngineEvent::Disconnected
            });
        }
    }

    /// Drains the `Rtc` until it returns a timeout.
    fn drain(&mut self) {
        loop {
            let Some(rtc) = self.rtc.as_mut() else { return };
            let out = match rtc.poll_output() {
                Ok(o) => o,
                Err(e) => {
                    let reason = format!("str0m: {e}");
                    self.close_quietly();
                    self.event(EngineEvent::Failed { reason });
                    return;
                }
            };
            match out {
                RtcOutput::Timeout(t) => {
                    self.rtc_timeout = rtc.is_alive().then_some(t);
                    return;
                }
                RtcOutput::Transmit(t) => {
                    let contents: Vec<u8> = t.contents.into();
                    self.queue.push_back(EngineOutput::Transmit(Transmit {
                        source: t.source,
                        destination: t.destination,
                        contents: Bytes::from(contents),
                    }));
                }
                RtcOutput::Event(e) => self.on_rtc_event(e),
            }
        }
    }

    fn on_rtc_event(&mut self, e: RtcEvent) {
        match e {
            RtcEvent::Connected => {
                self.dtls_connected = true;
                self.ice_up = true;
                if self.last_receive.is_none() {
                    self.last_receive = Some(self.now);
                }
                self.update_up();
            }
            RtcEvent::IceConnectionStateChange(s) => {
                match s {
                    IceConnectionState::Connected | IceConnectionState::Completed => {
                        self.ice_up = true
                    }
                    IceConnectionState::Disconnected => self.ice_up = false,
                    _ => {}
                }
                self.update_up();
            }
            RtcEvent::MediaAdded(m) => {
                let kind = kind_of(m.kind);
                let receiving = m.direction.is_receiving();
                let index = match self.medias.iter().position(|x| x.mid == m.mid) {
                    Some(i) => i,
                    None => {
                        self.medias.push(MediaEntry {
                            mid: m.mid,
                            kind,
                            track: None,
                            reported: false,
                        });
                        self.medias.len() - 1
                    }
                };
                if let Some(entry) = self.medias.get_mut(index) {
                    if receiving && !entry.reported {
                        entry.reported = true;
                        self.event(EngineEvent::RemoteTrack {
                            mid: m.mid.to_string(),
                            kind,
                        });
                    }
                }
            }
            RtcEvent::MediaData(d) => self.on_media_data(d),
            RtcEvent::KeyframeRequest(k) => {
                let track = self
                    .medias
                    .iter()
                    .find(|m| m.mid == k.mid)
                    .and_then(|m| m.track);
                if let Some(track) = track {
                    self.queue
                        .push_back(EngineOutput::KeyframeRequest { track });
                }
            }
            RtcEvent::Closed => {
                // The peer closed DTLS: media is over. The core learns why
                // through signaling, or closes on lost connectivity.
                self.dtls_connected = false;
                self.update_up();
            }
            _ => {}
        }
    }

    fn on_media_data(&mut self, d: MediaData) {
        let kind = self
            .medias
            .iter()
            .find(|m| m.mid == d.mid)
            .map(|m| m.kind)
            .unwrap_or(if d.params.spec().codec.is_audio() {
                MediaKind::Audio
            } else {
                MediaKind::Video
            });
        let keyframe = match &d.codec_extra {
            str0m::format::CodecExtra::Vp8(v) => Some(v.is_keyframe),
            _ => None,
        };
        self.queue.push_back(EngineOutput::Frame(Frame {
            mid: d.mid.to_string(),
            kind,
            pts: Duration::from(d.time),
            keyframe,
            data: Bytes::copy_from_slice(&d.data),
        }));
    }
}
