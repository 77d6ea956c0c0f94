//! The proxy-connection state machine.

mod checks;
mod engine;
mod messages;
mod session;
mod support;
mod types;

use std::collections::VecDeque;
use std::time::Instant;

pub use types::*;

use crate::convert;
use crate::error::{excerpt, ApiError, EngineError, Error, ProtocolError};
use crate::jingle::{Action, Jingle, Reason};
use crate::message::{DefinedCondition, Iq, IqType, OutgoingIq, ProxyMessage, StanzaError};
use crate::{parse_iq, write_iq};

use checks::{usable_candidate, usable_description};
use messages::Refusal;
use session::{Connectivity, Phase, Role, Session};
use support::{EarlyTransportInfo, IdGenerator, RejectionLimiter};

/// `<details>` of the rejection sent to a JID that is not the active peer.
pub const REJECTED: &str = "rejected";
/// `<details>` sent when ICE fails or connectivity is lost (lib-jitsi-meet's value).
pub const ICE_FAILED: &str = "xmpp.connection.ice.failed";
/// `<details>` sent when no session-accept arrived in time.
pub const ACCEPT_TIMEOUT: &str = "xmpp.connection.session-accept.timeout";
/// `<details>` sent when the peer's offer or answer could not be used.
pub const NEGOTIATION_FAILED: &str = "xmpp.connection.negotiation.failed";

/// lib-jitsi-meet's `ProxyConnectionService`, sans-IO: one proxy connection at a
/// time, negotiated with Jingle `<iq>`s, with the media engine driven through
/// commands.
///
/// The methods fall into four groups, as in quinn-proto's `Connection`:
///
/// - **inputs**: [`handle_message`](Self::handle_message) (a signaling message),
///   [`handle_engine_event`](Self::handle_engine_event) (what the media engine
///   reports), [`handle_timeout`](Self::handle_timeout) (time passed);
/// - **application commands**: [`start`](Self::start), [`stop`](Self::stop);
/// - **outputs**: [`poll_output`](Self::poll_output) yields [`Output`]s: IQs to
///   send, [`EngineCommand`]s to run, [`Event`]s for the application;
///   [`poll_timeout`](Self::poll_timeout) tells when to call `handle_timeout`;
/// - **getters**: [`peer`](Self::peer), [`sid`](Self::sid),
///   [`is_active`](Self::is_active), [`is_connected`](Self::is_connected).
///
/// After every input or command, drain `poll_output` until it returns `None`
/// and run engine commands in the order they come (their results come back as
/// engine events, which are inputs again), then re-arm the timer from
/// `poll_timeout`. Time is always passed in; the service never reads a clock.
///
/// Rules kept (see the crate docs): one connection at a time, rejections for
/// everybody else (rate-limited); acks only for IQs with an `id`; `sid` checks;
/// session-terminate on `stop`; a [`Event::ConnectionClosed`] exactly once per
/// connection; the peer's DTLS close ([`EngineEvent::PeerClosed`]) ends it at once;
/// timeouts for session-accept, ICE and lost connectivity;
/// transport-info that overtook its session-initiate is kept briefly.
#[derive(Debug)]
pub struct ProxyConnectionService {
    config: Config,
    ids: IdGenerator,
    session: Option<Session>,
    /// The last closed session's peer and sid: its late messages are expected
    /// (both sides closing at once) and are acknowledged quietly.
    last_closed: Option<(String, String)>,
    early: EarlyTransportInfo,
    rejections: RejectionLimiter,
    outputs: VecDeque<Output>,
    /// SDP `o=` session ids, one per conversion (deterministic).
    sdp_session_id: u64,
}

impl ProxyConnectionService {
    /// A service with no connection.
    pub fn new(config: Config) -> ProxyConnectionService {
        let mut ids = IdGenerator::new(config.seed);
        let sdp_session_id = ids.next_u64() >> 2;
        ProxyConnectionService {
            config,
            ids,
            session: None,
            last_closed: None,
            early: EarlyTransportInfo::default(),
            rejections: RejectionLimiter::default(),
            outputs: VecDeque::new(),
            sdp_session_id,
        }
    }

    /// The JID of the active connection's peer.
    pub fn peer(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.peer.as_str())
    }

    /// Whether a connection exists (negotiating or connected).
    pub fn is_active(&self) -> bool {
        self.session.is_some()
    }

    /// Whether the active connection's media path is up.
    pub fn is_connected(&self) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| s.connectivity == Connectivity::Up)
    }

    /// The session id of the active connection.
    pub fn sid(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.sid.as_str())
    }

    /// Starts a connection to `peer` as initiator, sending `tracks` (named
    /// `peer-a{i}` / `peer-v{i}` by their index). Asks the engine for an offer.
    ///
    /// Errors (and changes nothing) if `peer` is empty or a connection exists.
    pub fn start(&mut self, now: Instant, peer: &str, tracks: &[LocalTrack]) -> Result<(), Error> {
        if peer.is_empty() {
            return Err(ApiError::EmptyPeerJid.into());
        }
        if let Some(s) = &self.session {
            return Err(ApiError::AlreadyActive(s.peer.clone()).into());
        }
        for (index, t) in tracks.iter().enumerate() {
            if let Some(codec) = t.codec.filter(|c| c.kind() != t.kind) {
                return Err(ApiError::CodecKind {
                    index,
                    kind: t.kind,
                    codec,
                }
                .into());
            }
        }
        let sid = self.ids.hex_id();
        let mut session = Session::new(peer.to_owned(), Role::Initiator, sid, now);
        session.tracks = self.track_specs(&session.sid, tracks);
        let direction = if tracks.is_empty() {
            Direction::RecvOnly
        } else if self.config.offer_to_receive {
            Direction::SendRecv
        } else {
            Direction::SendOnly
        };
        self.outputs
            .push_back(Output::Engine(EngineCommand::CreateOffer {
                ice_servers: self.config.ice_servers.clone(),
                tracks: session.tracks.clone(),
                direction,
            }));
        self.session = Some(session);
        Ok(())
    }

    /// Stops the active connection: sends session-terminate (reason `success`),
    /// closes the engine and reports [`Event::ConnectionClosed`]. Does nothing
    /// when there is no connection.
    ///
    /// `now` is unused (closing arms no timer) and taken so that every
    /// command has the same shape.
    pub fn stop(&mut self, now: Instant) {
        let _ = now;
        if self.session.is_some() {
            self.close(CloseReason::LocalStop);
        }
    }

    /// Handles one signaling message. Malformed input becomes an
    /// [`Event::Error`] and changes nothing.
    pub fn handle_message(&mut self, now: Instant, message: ProxyMessage) {
        let ProxyMessage { from, iq } = message;
        let iq = match parse_iq(&iq, &self.config.limits) {
            Ok(iq) => iq,
            Err(source) => {
                self.error(Error::Malformed { from, source });
                return;
            }
        };
        if let Some(active) = self.session.as_ref().map(|s| s.peer.clone()) {
            if active != from {
                self.reject(now, &from, &iq, active);
                return;
            }
        }
        match iq.kind {
            IqType::Result => {}
            IqType::Error => {
                let condition = iq
                    .error
                    .as_ref()
                    .map(|e| e.condition.clone())
                    .unwrap_or(DefinedCondition::UndefinedCondition);
                self.protocol_error(&from, ProtocolError::IqError { condition });
            }
            IqType::Get | IqType::Set => match iq.jingle {
                Some(jingle) => self.handle_jingle(now, &from, iq.id.as_deref(), jingle),
                None => {
                    let kind = iq.kind.as_str();
                    self.answer_error(&from, iq.id.as_deref(), Refusal::BadRequest);
                    self.protocol_error(&from, ProtocolError::NoJingle(kind));
                }
            },
        }
    }

    /// Handles one media-engine event.
    pub fn handle_engine_event(&mut self, now: Instant, event: EngineEvent) {
        if self.session.is_none() {
            // Events that were in flight when the connection closed are stale;
            // only failures are worth telling.
            if let EngineEvent::CommandFailed(e) = event {
                self.error(Error::Engine(e));
            }
            return;
        }
        match event {
            EngineEvent::LocalOffer { sdp } => self.on_local_description(now, sdp, Role::Initiator),
            EngineEvent::LocalAnswer { sdp } => {
                self.on_local_description(now, sdp, Role::Responder)
            }
            EngineEvent::LocalCandidates { candidates } => self.on_local_candidates(candidates),
            EngineEvent::Connected => {
                let Some(s) = self.session.as_mut() else {
                    return;
                };
                let first = s.connectivity == Connectivity::Never;
                s.connectivity = Connectivity::Up;
                if first {
                    let peer = s.peer.clone();
                    self.event(Event::Connected { peer });
                }
            }
            EngineEvent::Disconnected => {
                if let Some(s) = self.session.as_mut() {
                    if s.connectivity == Connectivity::Up {
                        s.connectivity = Connectivity::LostSince(now);
                    }
                }
            }
            EngineEvent::Failed { reason } => {
                self.close(CloseReason::EngineFailed(reason));
            }
            EngineEvent::RemoteTrack { mid, kind } => self.on_remote_track(mid, kind),
            EngineEvent::PeerClosed => self.close(CloseReason::PeerClosed),
            EngineEvent::CommandFailed(e) => {
                let fatal = !matches!(e, EngineError::Other(_));
                let reason = e.to_string();
                self.error(Error::Engine(e));
                if fatal {
                    self.close(CloseReason::EngineFailed(reason));
                }
            }
        }
    }

    /// Advances timers to `now`: session-accept, ICE and connectivity timeouts,
    /// and expiry of early transport-info.
    pub fn handle_timeout(&mut self, now: Instant) {
        for from in self.early.expire(now) {
            self.protocol_error(&from, ProtocolError::OrphanTransportInfo);
        }
        let Some(s) = &self.session else { return };
        let reason = self.deadlines(s).find(|&(t, _)| now >= t).map(|(_, r)| r);
        if let Some(reason) = reason {
            self.close(reason);
        }
    }

    /// The next output, if any. Drain after every input.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let early = self.early.next_expiry();
        let session = self.session.iter().flat_map(|s| self.deadlines(s));
        early.into_iter().chain(session.map(|(t, _)| t)).min()
    }

    /// The session's running timers, each with the reason it closes for, in
    /// order of precedence.
    fn deadlines(&self, s: &Session) -> impl Iterator<Item = (Instant, CloseReason)> {
        let accept = match s.phase {
            Phase::AwaitingAccept { deadline } => Some((deadline, CloseReason::AcceptTimeout)),
            _ => None,
        };
        let link = match s.connectivity {
            Connectivity::Never => Some((
                s.started + self.config.ice_connect_timeout,
                CloseReason::IceTimeout,
            )),
            Connectivity::Up => None,
            Connectivity::LostSince(t) => Some((
                t + self.config.connectivity_lost_timeout,
                CloseReason::ConnectivityLost,
            )),
        };
        accept.into_iter().chain(link)
    }

    // The message handlers live in messages.rs, the engine-event handlers in engine.rs.

    // ---- helpers --------------------------------------------------------

    /// Ends the active connection: tells the peer where we owe it a word,
    /// closes the engine and fires the closed event (exactly once: the
    /// session is gone afterwards).
    pub(super) fn close(&mut self, reason: CloseReason) {
        let Some(s) = self.session.take() else { return };
        let notify = match &reason {
            // The peer may have closed its peer connection only (lib-jitsi-meet's
            // stop() sends no Jingle) and still listen to signaling: tell it the
            // session is over, as a stop of ours would.
            CloseReason::LocalStop | CloseReason::PeerClosed => {
                let mut j = Jingle::new(Action::SessionTerminate);
                j.reason = Some(Reason::new("success"));
                Some(j)
            }
            CloseReason::AcceptTimeout => Some(connection_error(ACCEPT_TIMEOUT)),
            CloseReason::IceTimeout
            | CloseReason::ConnectivityLost
            | CloseReason::EngineFailed(_) => Some(connection_error(ICE_FAILED)),
            CloseReason::NegotiationFailed => Some(connection_error(NEGOTIATION_FAILED)),
            CloseReason::PeerRestarted
            | CloseReason::Terminated { .. }
            | CloseReason::PeerError { .. }
            | CloseReason::Unavailable => None,
        };
        if let Some(mut jingle) = notify {
            jingle.sid = Some(s.sid.clone());
            self.send(&s.peer, &Iq::set(&s.peer, jingle));
        }
        self.outputs.push_back(Output::Engine(EngineCommand::Close));
        self.event(Event::ConnectionClosed {
            peer: s.peer.clone(),
            reason,
        });
        self.last_closed = Some((s.peer, s.sid));
    }

    pub(super) fn track_specs(&mut self, sid: &str, tracks: &[LocalTrack]) -> Vec<TrackSpec> {
        tracks
            .iter()
            .enumerate()
            .map(|(index, t)| {
                let letter = match t.kind {
                    MediaKind::Audio => 'a',
                    MediaKind::Video => 'v',
                };
                TrackSpec {
                    index,
                    source_name: format!("peer-{letter}{index}"),
                    kind: t.kind,
                    video_type: match t.kind {
                        MediaKind::Audio => None,
                        MediaKind::Video => Some(t.video_type.unwrap_or(VideoType::Desktop)),
                    },
                    stream_id: format!("proxy-{sid}"),
                    track_id: format!("{}-{}-{index}", self.ids.hex_id(), t.kind.as_str()),
                    codec: t.codec(),
                }
            })
            .collect()
    }

    pub(super) fn sdp_of(&mut self, jingle: &Jingle) -> Result<String, crate::ConvertError> {
        self.sdp_session_id = self.sdp_session_id.wrapping_add(1) & (u64::MAX >> 2);
        convert::jingle_to_sdp(jingle, self.sdp_session_id)
    }

    pub(super) fn send(&mut self, to: &str, iq: &Iq) {
        self.outputs.push_back(Output::Iq(OutgoingIq {
            to: to.to_owned(),
            iq: write_iq(iq),
        }));
    }

    /// `<iq type='result'>` for an IQ that carried an id; nothing otherwise.
    pub(super) fn ack(&mut self, to: &str, id: Option<&str>) {
        if let Some(id) = id {
            self.send(to, &Iq::result(to, id));
        }
    }

    /// `<iq type='error'>` for an IQ that carried an id; nothing otherwise.
    pub(super) fn answer_error(&mut self, to: &str, id: Option<&str>, refusal: Refusal) {
        if let Some(id) = id {
            let (kind, condition, jingle_condition) = refusal.wire();
            let error = StanzaError {
                jingle_condition,
                ..StanzaError::new(kind, condition)
            };
            self.send(to, &Iq::error(to, id, error));
        }
    }

    pub(super) fn event(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }

    pub(super) fn error(&mut self, error: Error) {
        self.event(Event::Error(error));
    }

    pub(super) fn protocol_error(&mut self, from: &str, source: ProtocolError) {
        self.error(Error::Protocol {
            from: from.to_owned(),
            source,
        });
    }
}

fn connection_error(details: &str) -> Jingle {
    let mut j = Jingle::new(Action::ConnectionErrorEncountered);
    j.details = Some(details.to_owned());
    j
}
