//! Incoming Jingle messages: what each action does in each state.

use std::time::Instant;

use crate::convert;
use crate::error::{DescriptionProblem, Error, ParseError, ProtocolError};
use crate::jingle::{Action, Content, Jingle, JingleCondition, Reason, ReasonCondition};
use crate::message::{DefinedCondition, ErrorType, Iq, IqType};

use super::session::{Phase, Role, Session, MAX_PENDING_CANDIDATES};
use super::*;

impl ProxyConnectionService {
    pub(super) fn handle_jingle(
        &mut self,
        now: Instant,
        from: &str,
        id: Option<&str>,
        jingle: Jingle,
    ) {
        // Not an action at all: refused whatever the state (XEP-0166 §7.2).
        if let Action::Other(value) = &jingle.action {
            self.answer_error(
                from,
                id,
                ErrorType::Modify,
                DefinedCondition::BadRequest,
                None,
            );
            self.error(Error::Malformed {
                from: from.to_owned(),
                source: ParseError::UnknownAction(excerpt(value)),
            });
            return;
        }
        let Some(session) = self.session.as_mut() else {
            self.handle_jingle_without_session(now, from, id, jingle);
            return;
        };
        // sid checks; a session-initiate is judged by its own rules below.
        if jingle.action != Action::SessionInitiate {
            match &jingle.sid {
                Some(sid) if *sid == session.sid => session.peer_uses_sid = true,
                None if !session.peer_uses_sid => {}
                found => {
                    let error = ProtocolError::SidMismatch {
                        expected: session.sid.clone(),
                        found: found.as_deref().map(str::to_owned),
                    };
                    self.answer_error(
                        from,
                        id,
                        ErrorType::Cancel,
                        DefinedCondition::ItemNotFound,
                        Some(JingleCondition::UnknownSession),
                    );
                    self.protocol_error(from, error);
                    return;
                }
            }
        }
        match jingle.action {
            Action::SessionInitiate => self.on_initiate_in_session(now, from, id, jingle),
            Action::SessionAccept => self.on_accept(from, id, jingle),
            Action::TransportInfo => {
                self.ack(from, id);
                self.on_transport_info(from, &jingle);
            }
            Action::ContentModify | Action::SourceAdd | Action::SourceRemove => self.ack(from, id),
            // An empty session-info is a ping (XEP-0166 §6.8).
            Action::SessionInfo if jingle.payload.is_none() => self.ack(from, id),
            Action::SessionInfo
            | Action::DescriptionInfo
            | Action::SecurityInfo
            | Action::ContentAdd
            | Action::ContentRemove
            | Action::ContentAccept
            | Action::ContentReject
            | Action::TransportReplace
            | Action::TransportAccept
            | Action::TransportReject => self.refuse_unsupported(from, id, &jingle),
            // Refused before the session checks.
            Action::Other(_) => {}
            Action::SessionTerminate => {
                self.ack(from, id);
                let condition = jingle
                    .reason
                    .map(|r| r.condition)
                    .unwrap_or_else(|| "success".into());
                self.close(CloseReason::Terminated {
                    condition: condition.to_string(),
                });
            }
            Action::ConnectionErrorEncountered => {
                self.ack(from, id);
                let details = jingle.details.unwrap_or_default();
                self.close(CloseReason::PeerError {
                    details: details.to_string(),
                });
            }
            Action::Unavailable => {
                self.ack(from, id);
                self.close(CloseReason::Unavailable);
            }
        }
    }

    pub(super) fn handle_jingle_without_session(
        &mut self,
        now: Instant,
        from: &str,
        id: Option<&str>,
        jingle: Jingle,
    ) {
        let late = self.last_closed.as_ref().is_some_and(|(peer, sid)| {
            peer == from && jingle.sid.as_ref().is_none_or(|s| s == sid)
        });
        match jingle.action {
            Action::SessionInitiate => {
                if from.is_empty() {
                    self.answer_error(
                        from,
                        id,
                        ErrorType::Modify,
                        DefinedCondition::BadRequest,
                        None,
                    );
                    self.protocol_error(
                        from,
                        ProtocolError::Unusable {
                            action: Action::SessionInitiate,
                            problem: DescriptionProblem::EmptySender,
                        },
                    );
                    return;
                }
                self.accept_initiate(now, from, id, jingle);
            }
            Action::TransportInfo if late => self.ack(from, id),
            Action::TransportInfo => {
                self.ack(from, id);
                let expires = now + self.config.early_transport_info_ttl;
                if !self.early.push(from, expires, jingle) {
                    self.protocol_error(from, ProtocolError::OrphanTransportInfo);
                }
            }
            Action::SessionTerminate
            | Action::ConnectionErrorEncountered
            | Action::Unavailable
            | Action::ContentModify
                if late =>
            {
                self.ack(from, id)
            }
            action => {
                self.answer_error(
                    from,
                    id,
                    ErrorType::Cancel,
                    DefinedCondition::ItemNotFound,
                    Some(JingleCondition::UnknownSession),
                );
                self.protocol_error(
                    from,
                    ProtocolError::UnexpectedAction {
                        action,
                        state: "with no session",
                    },
                );
            }
        }
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
        let condition = if glare {
            JingleCondition::TieBreak
        } else {
            JingleCondition::OutOfOrder
        };
        self.answer_error(
            from,
            id,
            ErrorType::Cancel,
            DefinedCondition::Conflict,
            Some(condition),
        );
        self.protocol_error(from, ProtocolError::DuplicateInitiate);
    }

    /// Creates a responder session for `jingle` and asks the engine for an answer.
    pub(super) fn accept_initiate(
        &mut self,
        now: Instant,
        from: &str,
        id: Option<&str>,
        jingle: Jingle,
    ) {
        match self.description_sdp(from, &jingle) {
            Ok(sdp) => self.start_responder(now, from, id, jingle, sdp),
            Err(e) => self.refuse_offer(from, id, &jingle, e),
        }
    }

    /// Refuses a session-initiate that cannot be used, as lib-jitsi-meet means
    /// to when it cannot apply an offer: `bad-request` to the IQ if it has an
    /// id (XEP-0166 §6.3.2), then connection-error-encountered with
    /// [`NEGOTIATION_FAILED`] and a `<reason>` whose text says what was wrong,
    /// so the peer gives up at once instead of waiting for a session-accept.
    /// No session is created or changed.
    fn refuse_offer(&mut self, from: &str, id: Option<&str>, offer: &Jingle, error: Error) {
        self.answer_error(
            from,
            id,
            ErrorType::Modify,
            DefinedCondition::BadRequest,
            None,
        );
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
    /// implement, with the error XEP-0166 gives for it when the IQ has an id:
    ///
    /// - session-info with a payload, description-info: `feature-not-implemented`
    ///   and `<unsupported-info/>`, type `modify` as in §6.8's example;
    /// - content-accept, content-reject, transport-accept, transport-reject
    ///   (answers to requests we never send): `unexpected-request` and
    ///   `<out-of-order/>`, type `cancel` (§10);
    /// - content-add, content-remove, transport-replace, security-info:
    ///   `feature-not-implemented`, type `cancel` (RFC 6120 §8.3.3.3). §7.2.2 and
    ///   §7.2.15 have a recipient that implements them answer with content-reject
    ///   or transport-reject; we implement neither, so the request fails at once
    ///   and the peer keeps its session as it was.
    fn refuse_unsupported(&mut self, from: &str, id: Option<&str>, jingle: &Jingle) {
        let (kind, condition, jingle_condition) = match jingle.action {
            Action::SessionInfo | Action::DescriptionInfo => (
                ErrorType::Modify,
                DefinedCondition::FeatureNotImplemented,
                Some(JingleCondition::UnsupportedInfo),
            ),
            Action::ContentAccept
            | Action::ContentReject
            | Action::TransportAccept
            | Action::TransportReject => (
                ErrorType::Cancel,
                DefinedCondition::UnexpectedRequest,
                Some(JingleCondition::OutOfOrder),
            ),
            _ => (
                ErrorType::Cancel,
                DefinedCondition::FeatureNotImplemented,
                None,
            ),
        };
        self.answer_error(from, id, kind, condition, jingle_condition);
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
        let mut session = Session::new(
            from.to_owned(),
            Role::Responder,
            sid.to_string(),
            Phase::CreatingAnswer,
            now,
        );
        session.peer_uses_sid = peer_uses_sid;
        let responder_tracks = self.config.responder_tracks.clone();
        session.tracks = self.track_specs(&session.sid, &responder_tracks);
        session.remote_contents = jingle.contents;
        session.remote_applied = true;
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
        let Some(s) = &self.session else { return };
        if s.role != Role::Initiator || !matches!(s.phase, Phase::AwaitingAccept { .. }) {
            let state = if s.role == Role::Responder {
                "by a responder"
            } else {
                "twice"
            };
            self.answer_error(
                from,
                id,
                ErrorType::Cancel,
                DefinedCondition::UnexpectedRequest,
                Some(JingleCondition::OutOfOrder),
            );
            self.protocol_error(
                from,
                ProtocolError::UnexpectedAction {
                    action: Action::SessionAccept,
                    state,
                },
            );
            return;
        }
        let sdp = match self.description_sdp(from, &jingle) {
            Ok(sdp) => sdp,
            Err(e) => {
                self.answer_error(
                    from,
                    id,
                    ErrorType::Modify,
                    DefinedCondition::BadRequest,
                    None,
                );
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
        s.remote_applied = true;
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
                if s.remote_applied {
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
        for why in unusable {
            self.protocol_error(from, ProtocolError::Candidate(why));
        }
        if overflow {
            self.protocol_error(
                from,
                ProtocolError::Candidate(format!(
                    "more than {MAX_PENDING_CANDIDATES} candidates before the session-accept; the rest were dropped"
                )),
            );
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
