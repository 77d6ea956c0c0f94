//! A browser's `RTCPeerConnection` as a lib-jitsi-meet proxy-connection peer.
//!
//! The browser speaks SDP (offer/answer) and trickled ICE candidate strings; the Rust
//! peer speaks Jingle `<iq>` stanzas. [`Bridge`] converts between them with
//! proxy-core's converter, in lib-jitsi-meet's dialect:
//!
//! - the browser's offer becomes a `session-initiate` (contents created by the
//!   initiator, no `sid`, no `initiator` attribute), with lib-jitsi-meet's source
//!   names `peer-v{i}` / `peer-a{i}` and `videoType='desktop'` on video sources;
//! - the browser's answer becomes a `session-accept` with `initiator='<peer jid>'`;
//! - each browser candidate becomes a `transport-info` carrying the local ufrag/pwd
//!   and `<fingerprint required='true'>`;
//! - a `session-terminate` is written when the browser side stops.
//!
//! Candidates other than `127.0.0.1` and mDNS `.local` names are dropped: these tests
//! stay on the loopback interface.

use proxy_core::jingle::{Action, Content, Creator, Fingerprint, IceUdpTransport, Jingle, Reason};
use proxy_core::{
    candidate_from_sdp, candidate_to_sdp, jingle_to_sdp, parse_iq, sdp_to_jingle, write_iq,
    ConvertError, Iq, IqType, Limits, ParseError,
};

/// What the Rust peer's message means for the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToBrowser {
    /// An SDP offer (from a `session-initiate`).
    Offer(String),
    /// An SDP answer (from a `session-accept`).
    Answer(String),
    /// A trickled candidate (`candidate:...`) for the m-line `mid`.
    Candidate {
        /// The SDP candidate attribute value.
        candidate: String,
        /// The content name, which is the mid.
        mid: String,
    },
    /// The peer ended the session.
    Terminate(String),
    /// Anything else (an IQ result, content-modify, an error, ...), described.
    Other(String),
}

/// Why a message could not be converted.
#[derive(Debug)]
pub enum BridgeError {
    /// The IQ from the Rust peer did not parse.
    Parse(ParseError),
    /// SDP <-> Jingle failed.
    Convert(ConvertError),
    /// Something needed first is missing (e.g. a candidate before the local SDP).
    State(&'static str),
}

impl std::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BridgeError::Parse(e) => write!(f, "parse: {e}"),
            BridgeError::Convert(e) => write!(f, "convert: {e}"),
            BridgeError::State(s) => write!(f, "state: {s}"),
        }
    }
}

impl std::error::Error for BridgeError {}

impl From<ConvertError> for BridgeError {
    fn from(e: ConvertError) -> Self {
        BridgeError::Convert(e)
    }
}

/// Converts one browser peer's signaling to and from Jingle.
#[derive(Debug, Clone)]
pub struct Bridge {
    /// The browser's JID (the `from` of what the bridge writes).
    pub browser_jid: String,
    /// The Rust peer's JID.
    pub rust_jid: String,
    /// Our role, once known (set by the first offer or answer).
    role: Option<Creator>,
    /// ufrag, pwd, fingerprint of the browser's local description.
    local: Option<(String, String, Fingerprint)>,
    /// Counter for candidate ids.
    next_id: u32,
}

impl Bridge {
    /// A bridge between `browser_jid` and `rust_jid`.
    pub fn new(browser_jid: impl Into<String>, rust_jid: impl Into<String>) -> Bridge {
        Bridge {
            browser_jid: browser_jid.into(),
            rust_jid: rust_jid.into(),
            role: None,
            local: None,
            next_id: 0,
        }
    }

    /// The `session-initiate` for the browser's offer.
    pub fn offer_to_iq(&mut self, sdp: &str) -> Result<String, BridgeError> {
        let mut jingle = sdp_to_jingle(sdp, Action::SessionInitiate, Creator::Initiator)?;
        name_sources(&mut jingle);
        self.remember_local(&jingle);
        self.role = Some(Creator::Initiator);
        Ok(write_iq(&Iq::set(self.rust_jid.clone(), jingle)))
    }

    /// The `session-accept` for the browser's answer.
    pub fn answer_to_iq(&mut self, sdp: &str) -> Result<String, BridgeError> {
        let mut jingle = sdp_to_jingle(sdp, Action::SessionAccept, Creator::Responder)?;
        name_sources(&mut jingle);
        jingle.initiator = Some(self.rust_jid.clone());
        self.remember_local(&jingle);
        self.role = Some(Creator::Responder);
        Ok(write_iq(&Iq::set(self.rust_jid.clone(), jingle)))
    }

    /// The `transport-info` for one browser candidate, or `None` when the candidate is
    /// not for these tests (not `127.0.0.1` and not an mDNS name).
    pub fn candidate_to_iq(
        &mut self,
        candidate: &str,
        mid: &str,
    ) -> Result<Option<String>, BridgeError> {
        let mut c = candidate_from_sdp(candidate)?;
        if c.ip != "127.0.0.1" && !c.ip.ends_with(".local") {
            return Ok(None);
        }
        let (ufrag, pwd, fingerprint) = self
            .local
            .clone()
            .ok_or(BridgeError::State("candidate before the local description"))?;
        let creator = self
            .role
            .ok_or(BridgeError::State("candidate before offer/answer"))?;
        self.next_id += 1;
        c.id = Some(format!("c{}", self.next_id));
        let mut jingle = Jingle::new(Action::TransportInfo);
        if creator == Creator::Responder {
            // lib-jitsi-meet's responder names the initiator here too (vector 05).
            jingle.initiator = Some(self.rust_jid.clone());
        }
        jingle.contents.push(Content {
            name: mid.to_owned(),
            creator: Some(creator),
            senders: None,
            description: None,
            transport: Some(IceUdpTransport {
                ufrag: Some(ufrag),
                pwd: Some(pwd),
                fingerprint: Some(Fingerprint {
                    setup: None,
                    required: Some(true),
                    ..fingerprint
                }),
                candidates: vec![c],
            }),
        });
        Ok(Some(write_iq(&Iq::set(self.rust_jid.clone(), jingle))))
    }

    /// A `session-terminate` (reason `success`) from the browser.
    pub fn terminate_iq(&self) -> String {
        let mut jingle = Jingle::new(Action::SessionTerminate);
        jingle.reason = Some(Reason::new("success"));
        write_iq(&Iq::set(self.rust_jid.clone(), jingle))
    }

    /// Converts an `<iq>` from the Rust peer into what the browser needs.
    pub fn from_rust(&self, iq: &str) -> Result<Vec<ToBrowser>, BridgeError> {
        let iq = parse_iq(iq, &Limits::default()).map_err(BridgeError::Parse)?;
        let Some(jingle) = iq.jingle.as_ref().filter(|_| iq.kind == IqType::Set) else {
            return Ok(vec![ToBrowser::Other(format!("iq {}", iq.kind.as_str()))]);
        };
        Ok(match &jingle.action {
            Action::SessionInitiate => vec![ToBrowser::Offer(jingle_to_sdp(jingle, 1)?)],
            Action::SessionAccept => vec![ToBrowser::Answer(jingle_to_sdp(jingle, 1)?)],
            Action::TransportInfo => jingle
                .contents
                .iter()
                .flat_map(|content| {
                    content.transport.iter().flat_map(move |t| {
                        t.candidates.iter().map(move |c| ToBrowser::Candidate {
                            candidate: candidate_to_sdp(c),
                            mid: content.name.to_string(),
                        })
                    })
                })
                .collect(),
            Action::SessionTerminate => vec![ToBrowser::Terminate(
                jingle
                    .reason
                    .as_ref()
                    .map(|r| r.condition.to_string())
                    .unwrap_or_default(),
            )],
            other => vec![ToBrowser::Other(other.as_str().to_owned())],
        })
    }

    fn remember_local(&mut self, jingle: &Jingle) {
        let transport = jingle.contents.iter().find_map(|c| c.transport.as_ref());
        if let Some(t) = transport {
            if let (Some(u), Some(p), Some(f)) = (&t.ufrag, &t.pwd, &t.fingerprint) {
                self.local = Some((u.to_string(), p.to_string(), f.clone()));
            }
        }
    }
}

/// lib-jitsi-meet's source names: `peer-v{i}` for the i-th video content's sources
/// (with `videoType='desktop'`), `peer-a{i}` for audio.
fn name_sources(jingle: &mut Jingle) {
    let (mut audio, mut video) = (0, 0);
    for content in &mut jingle.contents {
        let Some(desc) = content.description.as_mut() else {
            continue;
        };
        if desc.sources.is_empty() {
            continue;
        }
        let (name, video_type) = match desc.media.as_str() {
            "video" => {
                video += 1;
                (format!("peer-v{}", video - 1), Some("desktop".to_owned()))
            }
            "audio" => {
                audio += 1;
                (format!("peer-a{}", audio - 1), None)
            }
            _ => continue,
        };
        for source in &mut desc.sources {
            source.name = Some(name.clone());
            source.video_type = video_type.clone().map(Into::into);
        }
    }
}
