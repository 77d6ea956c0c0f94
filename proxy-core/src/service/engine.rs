//! Engine events: local descriptions and candidates, connectivity, remote tracks.

use std::time::Instant;

use crate::convert;
use crate::error::{ApiError, EngineError, Error};
use crate::jingle::{Action, Candidate, Content, IceUdpTransport, Jingle};
use crate::message::Iq;

use super::session::{LocalTransport, Phase, Role, MAX_PENDING_CANDIDATES};
use super::*;

impl ProxyConnectionService {
    pub(super) fn on_local_description(&mut self, now: Instant, sdp: String, role: Role) {
        let Some(s) = &self.session else { return };
        // Only the initiator creates an offer, only the responder an answer.
        let expected = matches!(
            (role, s.phase),
            (Role::Initiator, Phase::CreatingOffer) | (Role::Responder, Phase::CreatingAnswer)
        );
        let (action, what) = match role {
            Role::Initiator => (Action::SessionInitiate, "LocalOffer"),
            Role::Responder => (Action::SessionAccept, "LocalAnswer"),
        };
        if !expected {
            self.error(Error::Api(ApiError::UnexpectedEngineEvent(what)));
            return;
        }
        let mut jingle = match convert::sdp_to_jingle(&sdp, action, role.creator()) {
            Ok(j) => j,
            Err(e) => {
                let reason = e.to_string();
                self.error(Error::Convert(e));
                self.close(CloseReason::EngineFailed(reason));
                return;
            }
        };
        let Some(s) = self.session.as_mut() else {
            return;
        };
        s.decorate_sources(&mut jingle);
        // The candidates known now travel inside the description, in the first
        // transport (the BUNDLE one), at most `max_candidates` of them; the rest
        // follow as transport-info (see `Config::candidates_in_description`).
        let batch = self.config.limits.max_candidates.max(1);
        // Any reported before the description was made come first.
        let mut candidates: Vec<Candidate> = std::mem::take(&mut s.pending_local_candidates);
        for content in &mut jingle.contents {
            if let Some(t) = content.transport.as_mut() {
                for c in t.candidates.drain(..) {
                    if !candidates.contains(&c) {
                        candidates.push(c);
                    }
                }
            }
        }
        let keep = if self.config.candidates_in_description {
            batch
        } else {
            0
        };
        let trickled = candidates.split_off(candidates.len().min(keep));
        let first_transport = jingle
            .contents
            .iter_mut()
            .find_map(|c| c.transport.as_mut());
        let trickled = match first_transport {
            Some(t) => {
                t.candidates = candidates;
                trickled
            }
            None => {
                candidates.extend(trickled);
                candidates
            }
        };
        s.local_transport = jingle.contents.iter().find_map(|c| {
            c.transport.as_ref().map(|t| LocalTransport {
                content: c.name.to_string(),
                ufrag: t.ufrag.as_deref().map(str::to_owned),
                pwd: t.pwd.as_deref().map(str::to_owned),
                fingerprint: t.fingerprint.clone(),
            })
        });
        jingle.sid = Some(s.sid.clone());
        match role {
            Role::Initiator => {
                jingle.initiator = self.config.local_jid.clone();
                s.phase = Phase::AwaitingAccept {
                    deadline: now + self.config.session_accept_timeout,
                };
            }
            Role::Responder => {
                jingle.initiator = Some(s.peer.clone());
                jingle.responder = self.config.local_jid.clone();
                s.phase = Phase::Negotiated;
            }
        }
        s.pending_local_candidates.extend(trickled);
        let peer = s.peer.clone();
        self.send(&peer, &Iq::set(&peer, jingle));
        self.flush_local_candidates();
    }

    pub(super) fn on_local_candidates(&mut self, candidates: Vec<String>) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let mut bad = Vec::new();
        for c in candidates {
            match convert::candidate_from_sdp(&c) {
                Ok(c) if s.pending_local_candidates.len() < MAX_PENDING_CANDIDATES => {
                    s.pending_local_candidates.push(c)
                }
                Ok(_) => bad.push(EngineError::Other(
                    "too many local candidates; dropped".into(),
                )),
                Err(e) => bad.push(EngineError::Other(format!("local candidate dropped: {e}"))),
            }
        }
        for e in bad {
            self.error(Error::Engine(e));
        }
        self.flush_local_candidates();
    }

    /// Sends pending local candidates in one transport-info, once our
    /// description went out.
    pub(super) fn flush_local_candidates(&mut self) {
        // A peer running this parser with default limits reads at most
        // `max_candidates` per transport: send batches no larger than that.
        let batch = self.config.limits.max_candidates.max(1);
        let Some(s) = self.session.as_mut() else {
            return;
        };
        let Some(local) = &s.local_transport else {
            return;
        };
        let mut fingerprint = local.fingerprint.clone();
        if let Some(f) = fingerprint.as_mut() {
            f.setup = None;
            f.required = Some(true);
        }
        let pending = std::mem::take(&mut s.pending_local_candidates);
        let mut messages = Vec::new();
        for chunk in pending.chunks(batch) {
            let mut jingle = Jingle::new(Action::TransportInfo);
            jingle.sid = Some(s.sid.clone());
            if s.role == Role::Responder {
                jingle.initiator = Some(s.peer.clone());
            }
            jingle.contents.push(Content {
                name: local.content.clone(),
                creator: Some(s.role.creator()),
                senders: None,
                description: None,
                transport: Some(IceUdpTransport {
                    ufrag: local.ufrag.clone(),
                    pwd: local.pwd.clone(),
                    fingerprint: fingerprint.clone(),
                    candidates: chunk.to_vec(),
                }),
            });
            messages.push(jingle);
        }
        let peer = s.peer.clone();
        for jingle in messages {
            self.send(&peer, &Iq::set(&peer, jingle));
        }
    }

    pub(super) fn on_remote_track(&mut self, mid: String, kind: MediaKind) {
        let Some(s) = self.session.as_mut() else {
            return;
        };
        if s.reported_tracks.contains(&mid) {
            return;
        }
        s.reported_tracks.push(mid.clone());
        let source = s
            .remote_contents
            .iter()
            .find(|c| c.name == mid)
            .and_then(|c| c.description.as_ref())
            .and_then(|d| d.sources.first());
        let video_type =
            (kind == MediaKind::Video).then_some(if self.config.convert_video_to_desktop {
                VideoType::Desktop
            } else {
                VideoType::Camera
            });
        let track = RemoteTrack {
            peer: s.peer.clone(),
            device_id: format!("proxy:{}", s.peer),
            source_type: "proxy",
            kind,
            video_type,
            source_name: source.and_then(|s| s.name.as_deref().map(str::to_owned)),
            msid: source.and_then(|s| s.msid().map(str::to_owned)),
            mid,
        };
        self.event(Event::RemoteTrack(track));
    }
}
