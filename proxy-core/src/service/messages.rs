//! Incoming Jingle messages: what each action does in each state.

use std::time::Instant;

use crate::convert;
use crate::error::{DescriptionProblem, Error, ParseError, ProtocolError};
use crate::jingle::{Action, Content, Jingle, JingleCondition, Reason, ReasonCondition};
use crate::message::{DefinedCondition, ErrorType, Iq, IqType};

use super::session::{Phase, Role, Session, MAX_PENDING_CANDIDATES};
use super::*;

/// Why an IQ is answered with an error; [`Refusal::wire`] is the error it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not understood, or not usable.
    BadRequest,
    /// For a session we do not have (XEP-0166 §7.2).
    UnknownSession,
    /// A request that makes no sense at this point of the session (§10).
    OutOfOrder,
    /// A session-initiate crossing ours, which wins the tie-break.
    TieBreak,
    /// The same session initiated twice.
    Duplicate,
    /// An informational payload we do not understand (§6.8).
    UnsupportedInfo,
    /// An action we do not implement (RFC 6120 §8.3.3.3).
    NotImplemented,
}

impl Refusal {
    /// The error's type, its defined condition and its Jingle condition.
    pub(crate) fn wire(self) -> (ErrorType, DefinedCondition, Option<JingleCondition>) {
        use DefinedCondition as D;
        use ErrorType::{Cancel, Modify};
        use JingleCondition as J;
        match self {
            Refusal::BadRequest => (Modify, D::BadRequest, None),
            Refusal::UnknownSession => (Cancel, D::ItemNotFound, Some(J::UnknownSession)),
            Refusal::OutOfOrder => (Cancel, D::UnexpectedRequest, Some(J::OutOfOrder)),
            Refusal::TieBreak => (Cancel, D::Conflict, Some(J::TieBreak)),
            Refusal::Duplicate => (Cancel, D::Conflict, Some(J::OutOfOrder)),
            Refusal::UnsupportedInfo => {
                (Modify, D::FeatureNotImplemented, Some(J::UnsupportedInfo))
            }
            Refusal::NotImplemented => (Cancel, D::FeatureNotImplemented, None),
        }
    }
}

impl ProxyConnectionService {
    /// What each action does in each phase: the one place that says it.
    pub(super) fn handle_jingle(
        &mut self,
        now: Instant,
        from: &str,
        id: Option<&str>,
        jingle: Jingle,
    ) {
        // A message of the session that just closed (both sides closing at
        // once) is expected and acknowledged quietly.
        let late = self.last_closed.as_ref().is_some_and(|(peer, sid)| {
            peer == from && jingle.sid.as_ref().is_none_or(|s| s == sid)
        });
        // `unavailable` is no peer's message: the signaling layer synthesizes it
        // when the peer leaves (the room's presence), knowing no sid; one that
        // names a sid must name ours.
        let synthesized = jingle.action == Action::Unavailable && jingle.sid.is_none();
        if self.session.is_some()
            && !synthesized
            && !matches!(jingle.action, Action::SessionInitiate | Action::Other(_))
        {
            if let Err(error) = self.check_sid(jingle.sid.as_deref()) {
                self.answer_error(from, id, Refusal::UnknownSession);
                self.protocol_error(from, error);
                return;
            }
        }
        let phase = self.session.as_ref().map(|s| (s.role, s.phase));
        match (&jingle.action, phase) {
            // Not an action at all: refused whatever the state (XEP-0166 §7.2).
            (Action::Other(value), _) => {
                let source = ParseError::UnknownAction(excerpt(value));
                self.answer_error(from, id, Refusal::BadRequest);
                self.error(Error::Malformed {
                    from: from.to_owned(),
                    source,
                });
            }
            (Action::SessionInitiate, None) if from.is_empty() => {
                self.answer_error(from, id, Refusal::BadRequest);
                let problem = DescriptionProblem::EmptySender;
                let action = Action::SessionInitiate;
                self.protocol_error(from, ProtocolError::Unusable { action, problem });
            }
            (Action::SessionInitiate, None) => match self.description_sdp(from, &jingle) {
                Ok(sdp) => self.start_responder(now, from, id, jingle, sdp),
                Err(e) => self.refuse_offer(from, id, &jingle, e),
            },
            (Action::SessionInitiate, Some(_)) => {
                self.on_initiate_in_session(now, from, id, jingle)
            }
            (Action::SessionAccept, Some((_, Phase::AwaitingAccept { .. }))) => {
                self.on_accept(from, id, jingle)
            }
            (Action::SessionAccept, Some((role, phase))) => {
                let state = match (role, phase) {
                    (Role::Responder, _) => "by a responder",
                    (_, Phase::CreatingOffer) => "before our session-initiate",
                    _ => "twice",
                };
                self.answer_error(from, id, Refusal::OutOfOrder);
                let action = Action::SessionAccept;
                self.protocol_error(from, ProtocolError::UnexpectedAction { action, state });
            }
            (Action::TransportInfo, Some(_)) => {
                self.ack(from, id);
                self.on_transport_info(from, &jingle);
            }
            (Action::TransportInfo, None) => {
                self.ack(from, id);
                let expires = now + self.config.early_transport_info_ttl;
                if !late && !self.early.push(from, expires, jingle) {
                    self.protocol_error(from, ProtocolError::OrphanTransportInfo);
                }
            }
            (Action::ContentModify | Action::SourceAdd | Action::SourceRemove, Some(_)) => {
                self.ack(from, id)
            }
            // An empty session-info is a ping (XEP-0166 §6.8).
            (Action::SessionInfo, Some(_)) if jingle.payload.is_none() => self.ack(from, id),
            (
                Action::SessionInfo
                | Action::DescriptionInfo
                | Action::SecurityInfo
                | Action::ContentAdd
                | Action::ContentRemove
                | Action::ContentAccept
                | Action::ContentReject
                | Action::TransportReplace
                | Action::TransportAccept
                | Action::TransportReject,
                Some(_),
            ) => self.refuse_unsupported(from, id, &jingle),
            (Action::SessionTerminate, Some(_)) => {
                self.ack(from, id);
                let condition = jingle.reason.map(|r| r.condition.to_string());
                self.close(CloseReason::Terminated {
                    condition: condition.unwrap_or_else(|| "success".into()),
                });
            }
            (Action::ConnectionErrorEncountered, Some(_)) => {
                self.ack(from, id);
                let details = jingle.details.unwrap_or_default().to_string();
                self.close(CloseReason::PeerError { details });
            }
            (Action::Unavailable, Some(_)) => {
                self.ack(from, id);
                self.close(CloseReason::Unavailable);
            }
            (
                Action::SessionTerminate
                | Action::ConnectionErrorEncountered
                | Action::Unavailable
                | Action::ContentModify,
                None,
            ) if late => self.ack(from, id),
            (action, None) => {
                let action = action.clone();
                self.answer_error(from, id, Refusal::UnknownSession);
                let state = "with no session";
                self.protocol_error(from, ProtocolError::UnexpectedAction { action, state });
            }
        }
    }

    /// Checks the sid of a message of the active session: once the peer wrote
    /// our sid, every later message must carry it.
    fn check_sid(&mut self, sid: Option<&str>) -> Result<(), ProtocolError> {
        let Some(session) = self.session.as_mut() else {
            return Ok(());
        };
        match sid {
            Some(sid) if sid == session.sid => session.peer_uses_sid = true,
            None if !session.peer_uses_sid => {}
            found => {
                return Err(ProtocolError::SidMismatch {
                    expected: session.sid.clone(),
                    found: found.map(str::to_owned),
                })
            }
        }
        Ok(())
    }

    /// A session-initiate from the JID of the active session.
    pub(super) fn on_initiate_in_session(
        &mut self,
        now: Instant,
        from: &str,
        id: Option<&str>,
        jingle: Jingle,
    ) {
        let Some(s) = &self.session else { return };
        let glare = s.role == Role::Initiator
            && matches!(s.phase, Phase::CreatingOffer | Phase::AwaitingAccept { .. });
        // Both sides started at once. The side whose sid is lower wins, so both
        // decide the same way; a peer without sids (lib-jitsi-meet) cannot take
        // part in the tie-break and our session is kept.
        let we_yield = glare
            && jingle
                .sid
                .as_ref()
                .is_some_and(|theirs| theirs.as_str() < s.sid.as_str());
        if we_yield {
            // Yield only to an initiate we can answer; otherwise ours stands.
            match self.description_sdp(from, &jingle) {
                Ok(sdp) => {
                    self.outputs.push_back(Output::Engine(EngineCommand::Close));
                    self.session = None;
                    self.start_responder(now, from, id, jingle, sdp);
                }
                Err(e) => self.refuse_offer(from, id, &jingle, e),
            }
            return;
        }
        // Not glare: a restarted peer (new sid, or new ICE credentials from a
        // peer without sids, as lib-jitsi-meet is) replaces the connection, as
        // lib-jitsi-meet does; the same session again is a duplicate.
        let restart = !glare
            && match &jingle.sid {
                Some(theirs) => *theirs != s.sid,
                None => {
                    !s.peer_uses_sid && ice_ufrag(&jingle.contents) != ice_ufrag(&s.remote_contents)
                }
            };
        if restart {
            match self.description_sdp(from, &jingle) {
                Ok(sdp) => {
                    self.close(CloseReason::PeerRestarted);
                    self.start_responder(now, from, id, jingle, sdp);
                }
                Err(e) => self.refuse_offer(from, id, &jingle, e),
            }
            return;
        }
        let refusal = if glare {
            Refusal::TieBreak
        } else {
            Refusal::Duplicate
        };
        self.answer_error(from, id, refusal);
        self.protocol_error(from, ProtocolError::DuplicateInitiate);
    }

    /// Refuses a session-initiate that cannot be used, as lib-jitsi-meet means
    /// to when it cannot apply an offer: `bad-request` to the IQ if it has an
    /// id (XEP-0166 §6.3.2), then connection-error-encountered with
    /// [`NEGOTIATION_FAILED`] and a `<reason>` whose text says what was wrong,
    /// so the peer gives up at once instead of waiting for a session-accept.
    /// No session is created or changed.
    fn refuse_offer(&mut self, from: &str, id: Option<&str>, offer: &Jingle, error: Error) {
        self.answer_error(from, id, Refusal::BadRequest);
        let text = match &error {
            Error::Protocol { source, .. } => source.to_string(),
            other => other.to_string(),
        };
        let mut refusal = connection_error(NEGOTIATION_FAILED);
        refusal.sid = offer.sid.clone();
        refusal.reason = Some(Reason {
            condition: ReasonCondition::FailedApplication,
            text: Some(text),
        });
        self.send(from, &Iq::set(from, refusal));
        self.error(error);
    }

    /// Refuses a valid XEP-0166 action that a proxy connection does not
    /// implement, with the error XEP-0166 gives for it when the IQ has an id
    /// (see [`Refusal`]). Answers to requests we never send are out of order;
    /// content-add, content-remove, transport-replace and security-info fail
    /// at once (we implement no content-reject or transport-reject), so the
    /// peer keeps its session as it was.
    fn refuse_unsupported(&mut self, from: &str, id: Option<&str>, jingle: &Jingle) {
        let refusal = match jingle.action {
            Action::SessionInfo | Action::DescriptionInfo => Refusal::UnsupportedInfo,
            Action::ContentAccept
            | Action::ContentReject
            | Action::TransportAccept
            | Action::TransportReject => Refusal::OutOfOrder,
            _ => Refusal::NotImplemented,
        };
        self.answer_error(from, id, refusal);
        self.error(Error::Unsupported {
            from: from.to_owned(),
            action: jingle.action.clone(),
            payload: jingle.payload.as_ref().map(|p| excerpt(&p.name)),
        });
    }

    /// Creates the responder session for a usable `jingle` whose offer is `sdp`.
    fn start_responder(
        &mut self,
        now: Instant,
        from: &str,
        id: Option<&str>,
        jingle: Jingle,
        sdp: String,
    ) {
        self.ack(from, id);
        let peer_uses_sid = jingle.sid.is_some();
        let sid = jingle.sid.clone().unwrap_or_else(|| self.ids.hex_id());
        let mut session = Session::new(from.to_owned(), Role::Responder, sid, now);
        session.peer_uses_sid = peer_uses_sid;
        let responder_tracks = self.config.responder_tracks.clone();
        session.tracks = self.track_specs(&session.sid, &responder_tracks);
        session.remote_contents = jingle.contents;
        self.outputs
            .push_back(Output::Engine(EngineCommand::ApplyOffer {
                ice_servers: self.config.ice_servers.clone(),
                sdp,
                tracks: session.tracks.clone(),
            }));
        self.session = Some(session);
        self.last_closed = None;
        for early in self.early.take(from) {
            self.on_transport_info(from, &early);
        }
    }

    /// Checks that a session-initiate/accept can describe a session and converts
    /// it to SDP for the engine.
    fn description_sdp(&mut self, from: &str, jingle: &Jingle) -> Result<String, Error> {
        if let Err(problem) = usable_description(jingle) {
            let source = ProtocolError::Unusable {
                action: jingle.action.clone(),
                problem,
            };
            return Err(Error::Protocol {
                from: from.to_owned(),
                source,
            });
        }
        self.sdp_of(jingle).map_err(Error::Convert)
    }

    pub(super) fn on_accept(&mut self, from: &str, id: Option<&str>, jingle: Jingle) {
        let sdp = match self.description_sdp(from, &jingle) {
            Ok(sdp) => sdp,
            Err(e) => {
                self.answer_error(from, id, Refusal::BadRequest);
                self.error(e);
                self.close(CloseReason::NegotiationFailed);
                return;
            }
        };
        self.ack(from, id);
        self.outputs
            .push_back(Output::Engine(EngineCommand::ApplyAnswer { sdp }));
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.phase = Phase::Negotiated;
        s.remote_contents = jingle.contents;
        let pending = std::mem::take(&mut s.pending_remote_candidates);
        for (mid, candidate) in pending {
            self.outputs
                .push_back(Output::Engine(EngineCommand::AddRemoteCandidate {
                    mid,
                    candidate,
                }));
        }
    }

    pub(super) fn on_transport_info(&mut self, from: &str, jingle: &Jingle) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let mut overflow = false;
        let mut unusable = Vec::new();
        for content in &jingle.contents {
            let Some(transport) = &content.transport else {
                continue;
            };
            for c in &transport.candidates {
                if let Err(why) = usable_candidate(c) {
                    unusable.push(why);
                    continue;
                }
                let candidate = convert::candidate_to_sdp(c);
                if s.phase.remote_applied() {
                    self.outputs
                        .push_back(Output::Engine(EngineCommand::AddRemoteCandidate {
                            mid: content.name.to_string(),
                            candidate,
                        }));
                } else if s.pending_remote_candidates.len() < MAX_PENDING_CANDIDATES {
                    s.pending_remote_candidates
                        .push((content.name.to_string(), candidate));
                } else {
                    overflow = true;
                }
            }
        }
        if overflow {
            let n = MAX_PENDING_CANDIDATES;
            unusable.push(format!(
                "more than {n} candidates before the session-accept; the rest were dropped"
            ));
        }
        for why in unusable {
            self.protocol_error(from, ProtocolError::Candidate(why));
        }
    }

    /// Answers a message from a JID that is not the active peer. Never answers
    /// what could itself be a rejection or an answer, so two busy services
    /// cannot ping-pong; rate-limited per JID besides.
    pub(super) fn reject(&mut self, now: Instant, from: &str, iq: &Iq, active: String) {
        let answerable = iq.kind == IqType::Set
            && iq.jingle.as_ref().is_some_and(|j| {
                !matches!(
                    j.action,
                    Action::ConnectionErrorEncountered
                        | Action::SessionTerminate
                        | Action::Unavailable
                )
            });
        if answerable
            && self
                .rejections
                .allow(from, now, self.config.rejection_interval)
        {
            let mut jingle = Jingle::new(Action::ConnectionErrorEncountered);
            jingle.details = Some(REJECTED.to_owned());
            self.send(from, &Iq::set(from, jingle));
        }
        self.protocol_error(from, ProtocolError::Busy { active });
    }
}

/// The ICE ufrag of the first content that has one.
fn ice_ufrag(contents: &[Content]) -> Option<&str> {
    contents
        .iter()
        .find_map(|c| c.transport.as_ref().and_then(|t| t.ufrag.as_deref()))
}
