//! A fake media engine and helpers shared by the service tests.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use proxy_core::convert::jingle_to_sdp;
use proxy_core::jingle::{Action, IceUdpTransport, Jingle, PayloadType, RtpDescription};
use proxy_core::{
    parse_iq, CloseReason, Config, EngineCommand, EngineEvent, Event, Iq, Limits, Output,
    ProxyConnectionService, ProxyMessage,
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
pub fn description<'a>(j: &'a Jingle<'a>, i: usize) -> &'a RtpDescription<'a> {
    j.contents[i].description.as_ref().expect("a description")
}

/// The transport of content `i`.
pub fn transport<'a>(j: &'a Jingle<'a>, i: usize) -> &'a IceUdpTransport<'a> {
    j.contents[i].transport.as_ref().expect("a transport")
}

/// The payload type `id` of `d`.
pub fn pt<'a>(d: &'a RtpDescription<'a>, id: u8) -> &'a PayloadType<'a> {
    d.payload_types
        .iter()
        .find(|p| p.id == id)
        .expect("payload type")
}

pub fn jingle_of(iq: &str) -> Jingle<'static> {
    parse_iq(iq, &Limits::default())
        .expect("parses")
        .jingle
        .expect("has jingle")
        .into_owned()
}

/// Everything one drain of the service produced, sorted by kind.
#[derive(Debug, Default)]
pub struct Drained {
    pub sent: Vec<(String, Iq<'static>)>,
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
                d.sent.push((to, parsed.into_owned()));
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
        if let Some(t) = tracks.iter().find(|t| t.kind.as_str() == desc.media) {
            for s in &mut desc.sources {
                s.name = None;
                s.video_type = None;
                for p in &mut s.parameters {
                    if p.name == "msid" {
                        p.value = format!("{} {}", t.stream_id, t.track_id).into();
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
