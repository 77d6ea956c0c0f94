//! One proxy connection's negotiation state.

use std::time::Instant;

use crate::jingle::{Candidate, Content, Creator, Fingerprint, Jingle, Parameter};

use super::TrackSpec;

/// Which side of the Jingle session we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Initiator,
    Responder,
}

impl Role {
    pub(crate) fn creator(self) -> Creator {
        match self {
            Role::Initiator => Creator::Initiator,
            Role::Responder => Creator::Responder,
        }
    }
}

/// Where the negotiation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Initiator: the engine is creating our offer.
    CreatingOffer,
    /// Initiator: session-initiate sent, waiting for session-accept.
    AwaitingAccept { deadline: Instant },
    /// Responder: the engine is applying the offer and creating our answer.
    CreatingAnswer,
    /// Offer and answer are both applied.
    Negotiated,
}

impl Phase {
    /// Whether the peer's description went to the engine (so its candidates can too).
    pub(crate) fn remote_applied(self) -> bool {
        matches!(self, Phase::CreatingAnswer | Phase::Negotiated)
    }
}

/// The media path, as the engine reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Connectivity {
    /// Never connected: the ICE timeout runs from the session's start.
    Never,
    /// Connected now.
    Up,
    /// Connected once, then lost at this instant: the connectivity timeout runs.
    LostSince(Instant),
}

/// Our transport as the peer must see it in every transport-info.
#[derive(Debug, Clone)]
pub(crate) struct LocalTransport {
    pub(crate) content: String,
    pub(crate) ufrag: Option<String>,
    pub(crate) pwd: Option<String>,
    pub(crate) fingerprint: Option<Fingerprint>,
}

/// Most candidates kept while waiting for a description (ours or the peer's).
pub(crate) const MAX_PENDING_CANDIDATES: usize = 256;

#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) peer: String,
    pub(crate) role: Role,
    /// Our session id: generated, or the one the peer's session-initiate carried.
    pub(crate) sid: String,
    /// The peer writes sids: from now on its messages must carry ours.
    pub(crate) peer_uses_sid: bool,
    pub(crate) phase: Phase,
    pub(crate) started: Instant,
    pub(crate) tracks: Vec<TrackSpec>,
    /// The peer's contents from its offer or answer (sources, media).
    pub(crate) remote_contents: Vec<Content>,
    /// Set once our offer/answer went out; candidates wait until then.
    pub(crate) local_transport: Option<LocalTransport>,
    pub(crate) pending_local_candidates: Vec<Candidate>,
    /// The peer's candidates that came before its description went to the engine.
    pub(crate) pending_remote_candidates: Vec<(String, String)>,
    pub(crate) connectivity: Connectivity,
    pub(crate) reported_tracks: Vec<String>,
}

impl Session {
    /// A session whose engine is creating our offer (initiator) or applying
    /// the peer's offer (responder).
    pub(crate) fn new(peer: String, role: Role, sid: String, now: Instant) -> Session {
        let phase = match role {
            Role::Initiator => Phase::CreatingOffer,
            Role::Responder => Phase::CreatingAnswer,
        };
        Session {
            peer,
            role,
            sid,
            peer_uses_sid: false,
            phase,
            started: now,
            tracks: Vec::new(),
            remote_contents: Vec::new(),
            local_transport: None,
            pending_local_candidates: Vec::new(),
            pending_remote_candidates: Vec::new(),
            connectivity: Connectivity::Never,
            reported_tracks: Vec::new(),
        }
    }

    /// Gives the sources of our own description their Jitsi names, video types
    /// and an msid, matching each content to a track by msid, else by order of kind.
    pub(crate) fn decorate_sources(&self, jingle: &mut Jingle) {
        let mut used = vec![false; self.tracks.len()];
        for content in &mut jingle.contents {
            let Some(desc) = content.description.as_mut() else {
                continue;
            };
            if desc.sources.is_empty() {
                continue;
            }
            let by_msid = desc.sources.iter().find_map(|s| s.msid()).and_then(|msid| {
                self.tracks.iter().position(|t| {
                    let mut parts = msid.split_whitespace();
                    parts.next() == Some(t.stream_id.as_str())
                        && parts.next() == Some(t.track_id.as_str())
                })
            });
            let index = by_msid.or_else(|| {
                self.tracks
                    .iter()
                    .enumerate()
                    .position(|(i, t)| !used[i] && desc.media == t.kind.as_str())
            });
            let Some(index) = index else {
                continue;
            };
            used[index] = true;
            let track = &self.tracks[index];
            let msid = format!("{} {}", track.stream_id, track.track_id);
            for source in &mut desc.sources {
                source.name = Some(track.source_name.clone());
                source.video_type = track.video_type.map(|v| v.as_str().into());
                if source.msid().is_none() {
                    source.parameters.push(Parameter::new("msid", msid.clone()));
                }
            }
        }
    }
}
