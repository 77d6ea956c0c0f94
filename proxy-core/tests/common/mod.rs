//! A fake media engine and helpers shared by the service tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use proxy_core::jingle::{Action, IceUdpTransport, Jingle, PayloadType, RtpDescription};
use proxy_core::{
    jingle_to_sdp, parse_iq, CloseReason, Config, EngineCommand, EngineEvent, Event, Iq, Limits,
    LocalTrack, MediaKind, Output, ProxyConnectionService, ProxyMessage, RemoteTrack,
};

pub const SENDER: &str = "sender@example.com/s1";
pub const RECEIVER: &str = "receiver@example.com/r1";
pub const INTRUDER: &str = "intruder@example.com/i1";

/// The captured lib-jitsi-meet messages, `tests/vectors` (see its README).
pub fn vectors_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

pub fn vector(name: &str) -> String {
    let path = vectors_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// A file of `tests/fixtures` (SDP written by str0m).
pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The description of content `i`.
pub fn description(j: &Jingle, i: usize) -> &RtpDescription {
    j.contents[i].description.as_ref().expect("a description")
}

/// The transport of content `i`.
pub fn transport(j: &Jingle, i: usize) -> &IceUdpTransport {
    j.contents[i].transport.as_ref().expect("a transport")
}

/// The payload type `id` of `d`.
pub fn pt(d: &RtpDescription, id: u8) -> &PayloadType {
    d.payload_types
        .iter()
        .find(|p| p.id == id)
        .expect("payload type")
}

pub fn jingle_of(iq: &str) -> Jingle {
    parse_iq(iq, &Limits::default())
        .expect("parses")
        .jingle
        .expect("has jingle")
}

/// Everything one drain of the service produced, sorted by kind.
#[derive(Debug, Default)]
pub struct Drained {
    pub sent: Vec<(String, Iq)>,
    pub commands: Vec<EngineCommand>,
    pub events: Vec<Event>,
}

impl Drained {
    pub fn sent_actions(&self) -> Vec<(String, Option<Action>)> {
        self.sent
            .iter()
            .map(|(to, iq)| (to.clone(), iq.jingle.as_ref().map(|j| j.action.clone())))
            .collect()
    }
    pub fn closed(&self) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::ConnectionClosed { .. }))
            .collect()
    }
    /// The reason of the first `ConnectionClosed`, if any.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.events.iter().find_map(|e| match e {
            Event::ConnectionClosed { reason, .. } => Some(reason),
            _ => None,
        })
    }
    pub fn errors(&self) -> Vec<&proxy_core::Error> {
        self.events
            .iter()
            .filter_map(|e| {
                if let Event::Error(e) = e {
                    Some(e)
                } else {
                    None
                }
            })
            .collect()
    }
    pub fn is_empty(&self) -> bool {
        self.sent.is_empty() && self.commands.is_empty() && self.events.is_empty()
    }
}

pub fn drain(s: &mut ProxyConnectionService) -> Drained {
    let mut d = Drained::default();
    while let Some(o) = s.poll_output() {
        match o {
            Output::Iq(proxy_core::OutgoingIq { to, iq }) => {
                let parsed = parse_iq(&iq, &Limits::default())
                    .unwrap_or_else(|e| panic!("we wrote an IQ we cannot parse: {e}\n{iq}"));
                d.sent.push((to, parsed));
            }
            Output::Engine(c) => d.commands.push(c),
            Output::Event(e) => d.events.push(e),
        }
    }
    d
}

/// A fake engine: answers CreateOffer/ApplyOffer with SDP made from the
/// lib-jitsi-meet vectors (with the msids the service asked for).
pub fn fake_offer(tracks: &[proxy_core::TrackSpec], av: bool) -> String {
    let v = if av {
        "11-session-initiate.audio+video.sender-to-receiver.xml"
    } else {
        "01-session-initiate.sender-to-receiver.xml"
    };
    let mut j = jingle_of(&vector(v));
    for content in &mut j.contents {
        let desc = content.description.as_mut().unwrap();
        if let Some(t) = tracks.iter().find(|t| desc.media == t.kind.as_str()) {
            for s in &mut desc.sources {
                s.name = None;
                s.video_type = None;
                for p in &mut s.parameters {
                    if p.name == "msid" {
                        p.value = format!("{} {}", t.stream_id, t.track_id);
                    }
                }
            }
        }
    }
    jingle_to_sdp(&j, 1).expect("vector converts")
}

pub fn fake_answer(av: bool) -> String {
    let v = if av {
        "12-session-accept.audio+video.receiver-to-sender.xml"
    } else {
        "02-session-accept.receiver-to-sender.xml"
    };
    jingle_to_sdp(&jingle_of(&vector(v)), 2).expect("vector converts")
}

pub const HOST_CANDIDATE: &str =
    "candidate:1 1 udp 2122260223 127.0.0.1 5000 typ host generation 0";

pub fn config(seed: u64) -> Config {
    Config {
        seed,
        ..Config::default()
    }
}

pub fn msg(from: &str, iq: impl Into<String>) -> ProxyMessage {
    ProxyMessage {
        from: from.into(),
        iq: iq.into(),
    }
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `s` handles `iq` from `from` at `t`; what that produced.
pub fn receive(
    s: &mut ProxyConnectionService,
    t: Instant,
    from: &str,
    iq: impl Into<String>,
) -> Drained {
    s.handle_message(t, msg(from, iq));
    drain(s)
}

/// `s` handles `event` from its engine at `t`; what that produced.
pub fn engine(s: &mut ProxyConnectionService, t: Instant, event: EngineEvent) -> Drained {
    s.handle_engine_event(t, event);
    drain(s)
}

/// The engine finds [`HOST_CANDIDATE`] on `port`; what that produced.
pub fn host_candidate(s: &mut ProxyConnectionService, t: Instant, port: u16) -> Drained {
    let candidates = vec![HOST_CANDIDATE.replace("5000", &port.to_string())];
    engine(s, t, EngineEvent::LocalCandidates { candidates })
}

/// An initiator that has sent its session-initiate and candidates to RECEIVER.
pub fn initiator_awaiting_accept(t0: Instant) -> (ProxyConnectionService, Drained) {
    let mut s = ProxyConnectionService::new(config(1));
    s.start(t0, RECEIVER, &[proxy_core::LocalTrack::desktop()])
        .unwrap();
    let d = drain(&mut s);
    let EngineCommand::CreateOffer { tracks, .. } = &d.commands[0] else {
        panic!("{d:?}")
    };
    let offer = fake_offer(tracks, false);
    s.handle_engine_event(t0, EngineEvent::LocalOffer { sdp: offer });
    let d = host_candidate(&mut s, t0, 5000);
    (s, d)
}

/// A responder that answered SENDER's vector session-initiate.
pub fn responder_negotiated(
    t0: Instant,
    config: Config,
    av: bool,
) -> (ProxyConnectionService, Drained) {
    let mut s = ProxyConnectionService::new(config);
    let v = if av {
        "11-session-initiate.audio+video.sender-to-receiver.xml"
    } else {
        "01-session-initiate.sender-to-receiver.xml"
    };
    let d = receive(&mut s, t0, SENDER, vector(v));
    assert!(
        matches!(d.commands.as_slice(), [EngineCommand::ApplyOffer { .. }]),
        "{d:?}"
    );
    s.handle_engine_event(
        t0,
        EngineEvent::LocalAnswer {
            sdp: fake_answer(av),
        },
    );
    let d = host_candidate(&mut s, t0, 5000);
    (s, d)
}

/// `iq` with the IQ id `id`.
pub fn with_id(iq: &str, id: &str) -> String {
    iq.replacen("<iq ", &format!("<iq id=\"{id}\" "), 1)
}

/// `iq` with the Jingle sid `sid`.
pub fn with_sid(iq: &str, sid: &str) -> String {
    iq.replacen("<jingle ", &format!("<jingle sid=\"{sid}\" "), 1)
}

// The lib-jitsi-meet vectors: SENDER's session-initiate (audio only, or audio
// and video) and transport-info; RECEIVER's session-accept, transport-info and
// connection-error (ICE failed).
pub const INITIATE: &str = "01-session-initiate.sender-to-receiver.xml";
pub const INITIATE_AV: &str = "11-session-initiate.audio+video.sender-to-receiver.xml";
pub const TRANSPORT_INFO: &str = "04-transport-info.sender-to-receiver.xml";
pub const ACCEPT: &str = "02-session-accept.receiver-to-sender.xml";
pub const RECEIVER_TRANSPORT_INFO: &str = "05-transport-info.receiver-to-sender.xml";
pub const ICE_FAILED: &str = "06-connection-error-encountered.ice-failed.receiver-to-sender.xml";

/// A new service that got SENDER's [`INITIATE`] (its `ApplyOffer` drained).
pub fn offered(t0: Instant, cfg: Config) -> ProxyConnectionService {
    let mut s = ProxyConnectionService::new(cfg);
    receive(&mut s, t0, SENDER, vector(INITIATE));
    s
}

/// A new service that started a session with RECEIVER, sending a desktop
/// track (its `CreateOffer` drained).
pub fn started(t0: Instant, cfg: Config) -> ProxyConnectionService {
    let mut s = ProxyConnectionService::new(cfg);
    s.start(t0, RECEIVER, &[LocalTrack::desktop()]).unwrap();
    drain(&mut s);
    s
}

/// A [`started`] service whose engine offered str0m's offer fixture, and what
/// that sent.
pub fn str0m_offer_sent(t0: Instant, cfg: Config) -> (ProxyConnectionService, Drained) {
    let mut s = started(t0, cfg);
    let sdp = fixture("str0m-offer.sdp");
    let d = engine(&mut s, t0, EngineEvent::LocalOffer { sdp });
    (s, d)
}

/// An [`offered`] service whose engine answered with str0m's answer fixture,
/// and what that sent.
pub fn str0m_answer_sent(t0: Instant, cfg: Config) -> (ProxyConnectionService, Drained) {
    let mut s = offered(t0, cfg);
    let sdp = fixture("str0m-answer.sdp");
    let d = engine(&mut s, t0, EngineEvent::LocalAnswer { sdp });
    (s, d)
}

/// The engine reports a remote track of `kind` in m-line `mid`.
pub fn remote_track(s: &mut ProxyConnectionService, t: Instant, mid: &str, kind: MediaKind) {
    let mid = mid.into();
    s.handle_engine_event(t, EngineEvent::RemoteTrack { mid, kind });
}

/// The remote tracks reported in `d`.
pub fn remote_tracks(d: &Drained) -> Vec<&RemoteTrack> {
    d.events
        .iter()
        .filter_map(|e| match e {
            Event::RemoteTrack(t) => Some(t),
            _ => None,
        })
        .collect()
}
