//! Shared by the property tests (`tests/properties.rs`) and the `service` fuzz
//! target (`fuzz/fuzz_targets/service.rs`, which includes this file by path):
//! operations on a [`ProxyConnectionService`] built from lib-jitsi-meet's real
//! messages, and the invariants checked after every one of them.
//!
//! A [`Harness`] replays [`Op`]s with a virtual clock, drains every output after
//! each, and returns `Err` with a description of the first broken invariant:
//!
//! - at most one connection, and a JID that is not its peer never changes it
//!   (peer, sid, is_active unchanged, no engine command, no event but errors);
//! - such a JID gets nothing but the rejection, which it must get unless one
//!   went to it within `rejection_interval` (or the limiter is full);
//! - the peer's Jingle requests for another sid change nothing either;
//! - `ConnectionClosed` fires exactly when a connection ends, once, for its peer,
//!   with an engine `Close`, and never without a connection;
//! - nothing goes to a JID other than the peer except rejections and IQ
//!   result/error replies to the sender of the message being handled, and every
//!   IQ the service writes parses again;
//! - buffers stay under their caps, one input produces a bounded number of
//!   outputs, and after `handle_timeout(now)` no timer is due at or before `now`.
//!
//! The proptest strategies for the Jingle model are in `model.rs` beside this
//! file (not a submodule: the fuzz crate has no proptest).
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use proxy_core::jingle::{Action, Jingle, Parameter, Reason, Source};
use proxy_core::{
    jingle_to_sdp, parse_iq, write_iq, EngineCommand, EngineError, EngineEvent, Error, Event, Iq,
    IqType, Limits, LocalTrack, MediaKind, Output, ProtocolError, ProxyConnectionService,
    ProxyMessage, StanzaError, NEGOTIATION_FAILED,
};

/// The three JIDs every message comes from (lib-jitsi-meet's capture names them).
pub const JIDS: [&str; 3] = [
    "sender@example.com/s1",
    "receiver@example.com/r1",
    "intruder@example.com/i1",
];

/// The lib-jitsi-meet vectors (in proxy-core's `tests/vectors/`) used as messages.
pub const VECTOR_FILES: [&str; 9] = [
    "01-session-initiate.sender-to-receiver.xml",
    "02-session-accept.receiver-to-sender.xml",
    "03-content-modify.sender-to-receiver.xml",
    "04-transport-info.sender-to-receiver.xml",
    "05-transport-info.receiver-to-sender.xml",
    "06-connection-error-encountered.ice-failed.receiver-to-sender.xml",
    "09-rejection.receiver-to-intruder.xml",
    "11-session-initiate.audio+video.sender-to-receiver.xml",
    "12-session-accept.audio+video.receiver-to-sender.xml",
];

/// Caps the service promises (see `service::support`).
pub const EARLY_TRANSPORT_INFO_CAP: usize = 16;
/// Most JIDs the rejection limiter remembers.
pub const REJECTION_MEMORY_CAP: usize = 64;
/// Most outputs one input may cause: a session-initiate that claims four early
/// transport-infos of 16 contents × 64 candidates each, its own candidates, plus slack.
pub const MAX_OUTPUTS_PER_STEP: usize = 5 * 16 * 64 + 256 + 64;

/// Markup and characters spliced into messages.
pub const SNIPPETS: [&str; 24] = [
    "<",
    ">",
    "&",
    "\"",
    "'",
    "&amp;",
    "&#0;",
    "&#x10FFFF;",
    "<x/>",
    "</content>",
    "<content name=\"0\"/>",
    " xmlns=\"urn:x\"",
    "<!--c-->",
    "<![CDATA[x]]>",
    "<?pi x?>",
    "<!DOCTYPE x>",
    "\u{0}",
    "\u{FEFF}",
    "\u{e9}",
    "<candidate foundation=\"1\" component=\"1\" protocol=\"udp\" priority=\"1\" ip=\"::1\" port=\"9\" type=\"host\"/>",
    "<source ssrc=\"1\" xmlns=\"urn:xmpp:jingle:apps:rtp:ssma:0\"/>",
    "<reason><success/></reason>",
    "<details>rejected</details>",
    "<jingle action=\"session-terminate\" xmlns=\"urn:xmpp:jingle:1\"/>",
];

/// Attribute values swapped in.
pub const VALUES: [&str; 26] = [
    "",
    "0",
    "-1",
    "128",
    "255",
    "65536",
    "4294967296",
    "session-initiate",
    "session-accept",
    "transport-info",
    "session-terminate",
    "connection-error-encountered",
    "initiator",
    "responder",
    "both",
    "rejected",
    "actpass",
    "active",
    "result",
    "error",
    "urn:xmpp:jingle:1",
    "sender@example.com/s1",
    "intruder@example.com/i1",
    "a b",
    "&lt;&amp;",
    "ffffffffffffffff",
];

/// A byte-level edit of a message (or of an SDP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mutation {
    /// Overwrite one byte (position modulo the length).
    SetByte {
        /// Position.
        pos: u16,
        /// New byte.
        byte: u8,
    },
    /// Cut the message to `len` bytes (modulo its length + 1).
    Truncate {
        /// New length.
        len: u16,
    },
    /// Remove up to `len` bytes at `pos`.
    Delete {
        /// Position.
        pos: u16,
        /// How many.
        len: u8,
    },
    /// Insert one of [`SNIPPETS`] at `pos`.
    Insert {
        /// Position.
        pos: u16,
        /// Index into [`SNIPPETS`].
        snippet: u8,
    },
    /// Swap the values of two attributes (`="…"` spans), by index modulo their count.
    SwapAttrs {
        /// First attribute.
        a: u8,
        /// Second attribute.
        b: u8,
    },
    /// Replace an attribute value with one of [`VALUES`].
    ReplaceAttr {
        /// Which attribute.
        index: u8,
        /// Index into [`VALUES`].
        value: u8,
    },
}

/// The `id` of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdChoice {
    /// As the template has it (the vectors have none, like lib-jitsi-meet).
    None,
    /// `id="m{n}"`.
    Some(u8),
}

/// The `sid` of a message's `<jingle>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidChoice {
    /// As the template has it (none for the vectors).
    None,
    /// The service's current sid (none if it has no session).
    Current,
    /// `0`: lower than any generated sid (wins a tie-break).
    Low,
    /// A sid that matches nothing.
    Other,
}

/// What the media engine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineOp {
    /// `LocalOffer` with the SDP of offer `which` (from the vectors), edited.
    LocalOffer {
        /// Which offer.
        which: u8,
        /// Edits.
        mutations: Vec<Mutation>,
    },
    /// `LocalAnswer` with the SDP of answer `which`, edited.
    LocalAnswer {
        /// Which answer.
        which: u8,
        /// Edits.
        mutations: Vec<Mutation>,
    },
    /// `LocalCandidates` with `count` host candidates, and a broken one if `garbage`.
    LocalCandidates {
        /// How many.
        count: u8,
        /// Add an unparsable one.
        garbage: bool,
    },
    /// `Connected`.
    Connected,
    /// `Disconnected`.
    Disconnected,
    /// `Failed`.
    Failed,
    /// `RemoteTrack` on mid `0`, `1` or `x`.
    RemoteTrack {
        /// Which mid.
        mid: u8,
        /// Video (else audio).
        video: bool,
    },
    /// `CommandFailed` with one of the four errors.
    CommandFailed {
        /// Which error.
        kind: u8,
    },
    /// `PeerClosed`.
    PeerClosed,
}

/// One input to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A message from JID number `from` (modulo the harness's JIDs, [`JIDS`] first): template `template` (modulo the count),
    /// with an id and sid, then edited.
    Message {
        /// Sender index.
        from: u8,
        /// Template index.
        template: u8,
        /// The IQ id.
        id: IdChoice,
        /// The Jingle sid.
        sid: SidChoice,
        /// Edits.
        mutations: Vec<Mutation>,
    },
    /// `start` towards JID number `peer` (modulo the harness's JIDs) with tracks chosen by the bits of `tracks`.
    Start {
        /// Peer index.
        peer: u8,
        /// Bit 0 audio, bit 1 desktop, bit 2 camera.
        tracks: u8,
    },
    /// `stop`.
    Stop,
    /// Move the clock forward and call `handle_timeout`.
    Advance {
        /// How far.
        millis: u32,
    },
    /// An engine event.
    Engine(EngineOp),
}

/// Messages and SDPs the operations are built from.
#[derive(Debug, Clone)]
pub struct Vectors {
    /// Message templates: the vectors, then synthesized ones.
    pub messages: Vec<String>,
    /// SDP offers (from converting the vectors' session-initiates).
    pub offers: Vec<String>,
    /// SDP answers (from converting the vectors' session-accepts).
    pub answers: Vec<String>,
    /// Whether the SDPs came from the converter (else fixed fallbacks).
    pub converted: bool,
}

/// Used while the converter cannot make SDP from the vectors.
const FALLBACK_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n\
a=ice-ufrag:offr\r\na=ice-pwd:offerpasswordofferpasswd\r\n\
a=fingerprint:sha-256 AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99\r\n\
a=setup:actpass\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n\
a=ssrc:1111 msid:s t\r\n";
const FALLBACK_ANSWER: &str = "v=0\r\no=- 3 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n\
a=ice-ufrag:answ\r\na=ice-pwd:answerpasswordanswerpass\r\n\
a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:00:AA:BB:CC:DD:EE:FF:11:22:33:44:55:66:77:88:99:00:AA:BB:CC:DD:EE:FF\r\n\
a=setup:active\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\n";

impl Vectors {
    /// Builds the templates from `(file name, content)` pairs of [`VECTOR_FILES`].
    pub fn new(files: &[(&str, &str)]) -> Vectors {
        let mut messages: Vec<String> = files.iter().map(|(_, c)| (*c).to_owned()).collect();
        let jingle = |prefix: &str| -> Option<Jingle> {
            let (_, text) = files.iter().find(|(n, _)| n.starts_with(prefix))?;
            parse_iq(text, &Limits::default()).ok()?.jingle
        };
        let sdp = |prefix: &str| jingle(prefix).and_then(|j| jingle_to_sdp(&j, 7).ok());
        let offers: Vec<String> = ["01", "11"].iter().filter_map(|p| sdp(p)).collect();
        let answers: Vec<String> = ["02", "12"].iter().filter_map(|p| sdp(p)).collect();
        let converted = offers.len() == 2 && answers.len() == 2;
        let (offers, answers) = if converted {
            (offers, answers)
        } else {
            (vec![FALLBACK_OFFER.into()], vec![FALLBACK_ANSWER.into()])
        };

        // Synthesized messages for the actions the capture does not show.
        let to = JIDS[1];
        let mut terminate = Jingle::new(Action::SessionTerminate);
        terminate.reason = Some(Reason::new("success"));
        messages.push(write_iq(&Iq::set(to, terminate)));
        messages.push(write_iq(&Iq::set(to, Jingle::new(Action::Unavailable))));
        messages.push(write_iq(&Iq::result(to, "r1")));
        messages.push(write_iq(&Iq::error(
            to,
            "e1",
            StanzaError {
                kind: "cancel".into(),
                condition: "item-not-found".into(),
                jingle_condition: Some("unknown-session".into()),
                text: None,
            },
        )));
        messages.push(format!(
            "<iq to=\"{to}\" type=\"get\" xmlns=\"jabber:client\"><ping xmlns=\"urn:xmpp:ping\"/></iq>"
        ));
        if let Some(mut add) = jingle("01") {
            add.action = Action::SourceAdd;
            for c in &mut add.contents {
                c.transport = None;
                if let Some(d) = c.description.as_mut() {
                    d.payload_types.clear();
                    d.hdrexts.clear();
                    d.sources = vec![Source {
                        ssrc: 42,
                        name: Some("peer-v1".into()),
                        video_type: Some("camera".into()),
                        parameters: vec![Parameter::new("msid", "a b")],
                    }];
                }
            }
            add.groups.clear();
            messages.push(write_iq(&Iq::set(to, add)));
        }
        // A transport-info with as many candidates as one transport may carry,
        // in two contents (more would only slow the fuzzer down).
        if let Some(mut big) = jingle("04") {
            let limits = Limits::default();
            if let Some(first) = big.contents.first().cloned() {
                big.contents.clear();
                for n in 0..2 {
                    let mut c = first.clone();
                    c.name = n.to_string();
                    if let Some(t) = c.transport.as_mut() {
                        if let Some(cand) = t.candidates.first().cloned() {
                            t.candidates = (0..limits.max_candidates)
                                .map(|i| {
                                    let mut k = cand.clone();
                                    k.port = 10_000 + i as u16;
                                    k
                                })
                                .collect();
                        }
                    }
                    big.contents.push(c);
                }
            }
            messages.push(write_iq(&Iq::set(to, big)));
        }
        Vectors {
            messages,
            offers,
            answers,
            converted,
        }
    }

    /// Reads [`VECTOR_FILES`] from `dir` (proxy-core's `tests/vectors`).
    pub fn load(dir: &std::path::Path) -> Result<Vectors, String> {
        let mut files = Vec::new();
        for name in VECTOR_FILES {
            let path = dir.join(name);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            files.push((name, text));
        }
        let pairs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
        Ok(Vectors::new(&pairs))
    }
}

/// The `="…"` value spans of `s`, as byte ranges.
fn attr_spans(s: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i + 1 < s.len() {
        if s[i] == b'=' && s[i + 1] == b'"' {
            let start = i + 2;
            match s[start..].iter().position(|&b| b == b'"') {
                Some(len) => {
                    spans.push((start, start + len));
                    i = start + len + 1;
                }
                None => break,
            }
        } else {
            i += 1;
        }
    }
    spans
}

/// Applies `m` to `bytes`.
pub fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    let at = |pos: u16, len: usize| usize::from(pos) % (len + 1);
    match *m {
        Mutation::SetByte { pos, byte } => {
            if !bytes.is_empty() {
                let i = usize::from(pos) % bytes.len();
                bytes[i] = byte;
            }
        }
        Mutation::Truncate { len } => {
            let n = at(len, bytes.len());
            bytes.truncate(n);
        }
        Mutation::Delete { pos, len } => {
            let start = at(pos, bytes.len());
            let end = (start + usize::from(len)).min(bytes.len());
            bytes.drain(start..end);
        }
        Mutation::Insert { pos, snippet } => {
            let i = at(pos, bytes.len());
            let text = SNIPPETS[usize::from(snippet) % SNIPPETS.len()];
            bytes.splice(i..i, text.bytes());
        }
        Mutation::SwapAttrs { a, b } => {
            let spans = attr_spans(bytes);
            if spans.len() < 2 {
                return;
            }
            let (mut x, mut y) = (
                spans[usize::from(a) % spans.len()],
                spans[usize::from(b) % spans.len()],
            );
            if x == y {
                return;
            }
            if x.0 > y.0 {
                std::mem::swap(&mut x, &mut y);
            }
            let vx = bytes[x.0..x.1].to_vec();
            let vy = bytes[y.0..y.1].to_vec();
            // Later span first, so the earlier one's offsets stay valid.
            bytes.splice(y.0..y.1, vx);
            bytes.splice(x.0..x.1, vy);
        }
        Mutation::ReplaceAttr { index, value } => {
            let spans = attr_spans(bytes);
            if spans.is_empty() {
                return;
            }
            let (s, e) = spans[usize::from(index) % spans.len()];
            let v = VALUES[usize::from(value) % VALUES.len()];
            bytes.splice(s..e, v.bytes());
        }
    }
}

/// `PROXY_TOLERATE_KNOWN_BUGS=1`: look past the bugs already reported (each
/// has a failing regression test in `tests/properties.rs`), to find new ones.
/// (None is open now: every finding so far is fixed. To tolerate one, test this
/// where its invariant is checked, next to its regression test's name.)
pub fn tolerate_known_bugs() -> bool {
    static T: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *T.get_or_init(|| std::env::var_os("PROXY_TOLERATE_KNOWN_BUGS").is_some_and(|v| v == "1"))
}

/// What the invariants look at, before and after an input.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    active: bool,
    peer: Option<String>,
    sid: Option<String>,
}

impl Snapshot {
    fn of(svc: &ProxyConnectionService) -> Snapshot {
        Snapshot {
            active: svc.is_active(),
            peer: svc.peer().map(str::to_owned),
            sid: svc.sid().map(str::to_owned),
        }
    }
}

/// Counts of what happened, to tell a run that explored from one that did not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Inputs applied.
    pub steps: usize,
    /// Connections that began (is_active went false → true).
    pub opened: usize,
    /// `ConnectionClosed` events.
    pub closed: usize,
    /// `Connected` events.
    pub connected: usize,
    /// Rejections sent.
    pub rejections: usize,
    /// Messages from a JID that was not the active peer.
    pub from_non_peers: usize,
    /// IQs sent (all kinds).
    pub sent: usize,
    /// `OrphanTransportInfo` errors: transport-info expired, or refused by a
    /// full early buffer.
    pub orphaned: usize,
}

/// Replays [`Op`]s on a service and checks the invariants after each.
#[derive(Debug)]
pub struct Harness<'v> {
    /// The service under test.
    pub svc: ProxyConnectionService,
    /// The virtual clock.
    pub now: Instant,
    vectors: &'v Vectors,
    rejection_interval: Duration,
    /// Who messages come from: [`JIDS`], then `user{n}@example.com/x`.
    jids: Vec<String>,
    last_rejection: HashMap<String, Instant>,
    /// What happened so far.
    pub stats: Stats,
}

fn tracks_of(bits: u8) -> Vec<LocalTrack> {
    let mut t = Vec::new();
    if bits & 1 != 0 {
        t.push(LocalTrack::audio());
    }
    if bits & 2 != 0 {
        t.push(LocalTrack::desktop());
    }
    if bits & 4 != 0 {
        t.push(LocalTrack::camera());
    }
    t
}

impl<'v> Harness<'v> {
    /// A fresh service with default timeouts and this seed.
    pub fn new(vectors: &'v Vectors, seed: u64) -> Harness<'v> {
        let config = proxy_core::Config {
            seed,
            ..proxy_core::Config::default()
        };
        let rejection_interval = config.rejection_interval;
        Harness {
            svc: ProxyConnectionService::new(config),
            now: Instant::now(),
            vectors,
            rejection_interval,
            jids: JIDS.iter().map(|j| (*j).to_owned()).collect(),
            last_rejection: HashMap::new(),
            stats: Stats::default(),
        }
    }

    /// Messages come from `n` JIDs (at least the three of [`JIDS`]), to push the
    /// per-JID buffers to their caps.
    pub fn with_jids(mut self, n: usize) -> Self {
        self.jids
            .extend((JIDS.len()..n).map(|i| format!("user{i}@example.com/x")));
        self
    }

    /// The text of a message op.
    pub fn message_text(
        &self,
        template: u8,
        id: IdChoice,
        sid: SidChoice,
        mutations: &[Mutation],
    ) -> String {
        let messages = &self.vectors.messages;
        let mut text = messages[usize::from(template) % messages.len()].clone();
        let sid = match sid {
            SidChoice::None => None,
            SidChoice::Current => self.svc.sid().map(str::to_owned),
            SidChoice::Low => Some("0".to_owned()),
            SidChoice::Other => Some("not-a-session".to_owned()),
        };
        if let Some(sid) = sid {
            text = text.replacen("<jingle ", &format!("<jingle sid=\"{sid}\" "), 1);
        }
        if let IdChoice::Some(n) = id {
            text = text.replacen("<iq ", &format!("<iq id=\"m{n}\" "), 1);
        }
        let mut bytes = text.into_bytes();
        for m in mutations {
            mutate(&mut bytes, m);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn sdp(&self, list: &[String], which: u8, mutations: &[Mutation]) -> String {
        let mut bytes = list[usize::from(which) % list.len()].clone().into_bytes();
        for m in mutations {
            mutate(&mut bytes, m);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn engine_event(&self, op: &EngineOp) -> EngineEvent {
        match op {
            EngineOp::LocalOffer { which, mutations } => EngineEvent::LocalOffer {
                sdp: self.sdp(&self.vectors.offers, *which, mutations),
            },
            EngineOp::LocalAnswer { which, mutations } => EngineEvent::LocalAnswer {
                sdp: self.sdp(&self.vectors.answers, *which, mutations),
            },
            EngineOp::LocalCandidates { count, garbage } => {
                let mut candidates: Vec<String> = (0..*count)
                    .map(|i| {
                        format!(
                            "candidate:{i} 1 udp 2122260223 127.0.0.{} {} typ host generation 0",
                            i % 250 + 1,
                            5000 + u32::from(i)
                        )
                    })
                    .collect();
                if *garbage {
                    candidates.push("candidate:x y z".into());
                }
                EngineEvent::LocalCandidates { candidates }
            }
            EngineOp::Connected => EngineEvent::Connected,
            EngineOp::Disconnected => EngineEvent::Disconnected,
            EngineOp::PeerClosed => EngineEvent::PeerClosed,
            EngineOp::Failed => EngineEvent::Failed {
                reason: "ice failed".into(),
            },
            EngineOp::RemoteTrack { mid, video } => EngineEvent::RemoteTrack {
                mid: ["0", "1", "x"][usize::from(*mid) % 3].into(),
                kind: if *video {
                    MediaKind::Video
                } else {
                    MediaKind::Audio
                },
            },
            EngineOp::CommandFailed { kind } => {
                let what = "engine said no".to_owned();
                EngineEvent::CommandFailed(match kind % 4 {
                    0 => EngineError::CreateOffer(what),
                    1 => EngineError::ApplyOffer(what),
                    2 => EngineError::ApplyAnswer(what),
                    _ => EngineError::Other(what),
                })
            }
        }
    }

    /// Applies `op`, drains every output and checks the invariants.
    pub fn apply(&mut self, op: &Op) -> Result<(), String> {
        self.stats.steps += 1;
        let before = Snapshot::of(&self.svc);
        let mut sender: Option<String> = None;
        let mut message_had_id = false;
        let mut answerable = false;
        let mut wrong_sid = false;
        match op {
            Op::Message {
                from,
                template,
                id,
                sid,
                mutations,
            } => {
                let jid = self.jids[usize::from(*from) % self.jids.len()].clone();
                let iq = self.message_text(*template, *id, *sid, mutations);
                if let Ok(parsed) = parse_iq(&iq, &Limits::default()) {
                    message_had_id = parsed.id.is_some();
                    // What a non-peer must be answered with a rejection for.
                    // A Jingle request for another session than ours.
                    wrong_sid = matches!(parsed.kind, IqType::Set | IqType::Get)
                        && parsed.jingle.as_ref().is_some_and(|j| {
                            j.action != Action::SessionInitiate
                                && j.sid.is_some()
                                && j.sid.as_deref() != before.sid.as_deref()
                        });
                    answerable = parsed.kind == IqType::Set
                        && parsed.jingle.as_ref().is_some_and(|j| {
                            !matches!(
                                j.action,
                                Action::ConnectionErrorEncountered
                                    | Action::SessionTerminate
                                    | Action::Unavailable
                            )
                        });
                }
                if before.active && before.peer.as_deref() != Some(jid.as_str()) {
                    self.stats.from_non_peers += 1;
                }
                self.svc.handle_message(
                    self.now,
                    ProxyMessage {
                        from: jid.clone(),
                        iq,
                    },
                );
                sender = Some(jid);
            }
            Op::Start { peer, tracks } => {
                let jid = self.jids[usize::from(*peer) % self.jids.len()].clone();
                let jid = jid.as_str();
                let result = self.svc.start(self.now, jid, &tracks_of(*tracks));
                if result.is_ok() == before.active {
                    return Err(format!(
                        "start() returned {result:?} with a connection active: {}",
                        before.active
                    ));
                }
                if result.is_ok() && self.svc.peer() != Some(jid) {
                    return Err(format!("start({jid}) left peer {:?}", self.svc.peer()));
                }
                if result.is_err() && Snapshot::of(&self.svc) != before {
                    return Err("a failed start() changed the state".into());
                }
            }
            Op::Stop => {
                self.svc.stop(self.now);
                if self.svc.is_active() {
                    return Err("stop() left a connection".into());
                }
            }
            Op::Advance { millis } => {
                self.now += Duration::from_millis(u64::from(*millis));
                self.svc.handle_timeout(self.now);
                if let Some(t) = self.svc.poll_timeout() {
                    if t <= self.now {
                        return Err(format!(
                            "after handle_timeout(now) a timer is still due {:?} before now",
                            self.now - t
                        ));
                    }
                }
            }
            Op::Engine(e) => {
                let event = self.engine_event(e);
                self.svc.handle_engine_event(self.now, event);
            }
        }

        // Drain.
        let mut sends = Vec::new();
        let mut commands = Vec::new();
        let mut events = Vec::new();
        let mut count = 0usize;
        while let Some(output) = self.svc.poll_output() {
            count += 1;
            if count > MAX_OUTPUTS_PER_STEP {
                return Err(format!(
                    "more than {MAX_OUTPUTS_PER_STEP} outputs for one input ({op:?})"
                ));
            }
            match output {
                Output::Iq(out) => sends.push((out.to, out.iq)),
                Output::Engine(c) => commands.push(c),
                Output::Event(e) => events.push(e),
            }
        }
        let after = Snapshot::of(&self.svc);
        // The peer's messages for another session change nothing.
        if wrong_sid && before.active && sender.as_deref() == before.peer.as_deref() {
            let closed = events
                .iter()
                .any(|e| matches!(e, Event::ConnectionClosed { .. }));
            if after != before || closed || !commands.is_empty() {
                return Err(format!(
                    "a message with a foreign sid changed the session: {before:?} -> {after:?}, \
                     closed: {closed}, commands: {commands:?}"
                ));
            }
        }
        let rejections_before = self.stats.rejections;
        self.check(
            op,
            &before,
            &after,
            sender.as_deref(),
            message_had_id,
            &sends,
            &commands,
            &events,
        )?;
        // A non-peer's request gets its rejection unless one went out within the interval.
        if let Some(jid) = sender.as_deref() {
            let from_non_peer = before.active && before.peer.as_deref() != Some(jid);
            let recently = self.last_rejection.get(jid).is_some_and(|last| {
                self.now.saturating_duration_since(*last) < self.rejection_interval
            });
            // The limiter stays silent rather than remember more JIDs than its cap.
            let limiter_full = self
                .last_rejection
                .values()
                .filter(|t| self.now.saturating_duration_since(**t) < self.rejection_interval)
                .count()
                >= REJECTION_MEMORY_CAP;
            if from_non_peer
                && !limiter_full
                && answerable
                && self.stats.rejections == rejections_before
                && !recently
            {
                return Err(format!("no rejection for a request from non-peer {jid}"));
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn check(
        &mut self,
        op: &Op,
        before: &Snapshot,
        after: &Snapshot,
        sender: Option<&str>,
        message_had_id: bool,
        sends: &[(String, String)],
        commands: &[EngineCommand],
        events: &[Event],
    ) -> Result<(), String> {
        // One connection, consistent getters.
        if after.active != after.peer.is_some() || after.active != after.sid.is_some() {
            return Err(format!("getters disagree: {after:?}"));
        }
        if self.svc.is_connected() && !after.active {
            return Err("connected without a connection".into());
        }
        if !before.active && after.active {
            self.stats.opened += 1;
        }

        // A JID that is not the peer changes nothing.
        let from_non_peer = before.active && sender.is_some() && sender != before.peer.as_deref();
        if from_non_peer {
            if after != before {
                return Err(format!(
                    "a message from non-peer {sender:?} changed the state: {before:?} -> {after:?}"
                ));
            }
            if !commands.is_empty() {
                return Err(format!(
                    "a message from non-peer {sender:?} caused engine commands {commands:?}"
                ));
            }
            if let Some(e) = events.iter().find(|e| !matches!(e, Event::Error(_))) {
                return Err(format!(
                    "a message from non-peer {sender:?} caused event {e:?}"
                ));
            }
        }

        // ConnectionClosed: exactly when a connection ends, once, for its peer.
        let closed: Vec<&String> = events
            .iter()
            .filter_map(|e| match e {
                Event::ConnectionClosed { peer, .. } => Some(peer),
                _ => None,
            })
            .collect();
        self.stats.closed += closed.len();
        if !before.active && !closed.is_empty() {
            return Err(format!("ConnectionClosed without a connection ({op:?})"));
        }
        if closed.len() > 1 {
            return Err(format!("{} ConnectionClosed for one input", closed.len()));
        }
        if before.active && !after.active && closed.len() != 1 {
            return Err(format!(
                "the connection with {:?} ended without a ConnectionClosed ({op:?})",
                before.peer
            ));
        }
        if let Some(peer) = closed.first() {
            if Some(peer.as_str()) != before.peer.as_deref() {
                return Err(format!(
                    "ConnectionClosed for {peer}, the peer was {:?}",
                    before.peer
                ));
            }
            if after.active && (after.peer == before.peer && after.sid == before.sid) {
                return Err("ConnectionClosed but the same connection goes on".into());
            }
            if !commands.iter().any(|c| matches!(c, EngineCommand::Close)) {
                return Err("ConnectionClosed without an engine Close".into());
            }
        }
        for e in events {
            match e {
                Event::Connected { peer }
                | Event::RemoteTrack(proxy_core::RemoteTrack { peer, .. }) => {
                    if Some(peer.as_str()) != after.peer.as_deref() {
                        return Err(format!("{e:?} while the peer is {:?}", after.peer));
                    }
                    if matches!(e, Event::Connected { .. }) {
                        self.stats.connected += 1;
                    }
                }
                _ => {}
            }
        }

        // Who gets what.
        for (to, text) in sends {
            self.stats.sent += 1;
            let iq = parse_iq(text, &Limits::default())
                .map_err(|e| format!("the service wrote an IQ it cannot parse: {e}\n{text}"))?;
            if iq.to.as_deref() != Some(to.as_str()) {
                return Err(format!("sent to {to} an IQ addressed to {:?}", iq.to));
            }
            match iq.kind {
                IqType::Result | IqType::Error => {
                    if sender != Some(to.as_str()) {
                        return Err(format!(
                            "an IQ {} to {to}, which sent nothing now ({op:?})",
                            iq.kind.as_str()
                        ));
                    }
                    if !message_had_id || iq.id.is_none() {
                        return Err(format!(
                            "an IQ {} to {to} for a message without an id",
                            iq.kind.as_str()
                        ));
                    }
                }
                IqType::Get | IqType::Set => {
                    let rejection = iq.jingle.as_ref().is_some_and(|j| {
                        j.action == Action::ConnectionErrorEncountered
                            && j.details.as_deref() == Some("rejected")
                    });
                    // An unusable offer is refused to its sender, with or
                    // without a session.
                    let refusal = iq.jingle.as_ref().is_some_and(|j| {
                        j.action == Action::ConnectionErrorEncountered
                            && j.details.as_deref() == Some(NEGOTIATION_FAILED)
                            && j.reason.is_some()
                    });
                    if refusal {
                        if sender != Some(to.as_str()) {
                            return Err(format!(
                                "a refused offer's answer to {to}, which sent nothing now ({op:?})"
                            ));
                        }
                    } else if rejection {
                        if !from_non_peer || sender != Some(to.as_str()) {
                            return Err(format!(
                                "a rejection to {to}, which is not a non-peer sender ({op:?})"
                            ));
                        }
                        if let Some(last) = self.last_rejection.get(to) {
                            if self.now.saturating_duration_since(*last) < self.rejection_interval {
                                return Err(format!(
                                    "two rejections to {to} within {:?}",
                                    self.rejection_interval
                                ));
                            }
                        }
                        self.last_rejection.insert(to.clone(), self.now);
                        self.stats.rejections += 1;
                    } else if Some(to.as_str()) != before.peer.as_deref()
                        && Some(to.as_str()) != after.peer.as_deref()
                    {
                        return Err(format!(
                            "sent {text} to {to}, the peer was {:?} and is {:?}",
                            before.peer, after.peer
                        ));
                    }
                }
            }
        }

        // Caps, as seen from outside: transport-info the early buffer has no
        // room for is an orphan at once, and the rejection limiter stays silent
        // rather than remember more JIDs than its cap.
        self.stats.orphaned += events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Error(Error::Protocol {
                        source: ProtocolError::OrphanTransportInfo,
                        ..
                    })
                )
            })
            .count();
        let remembered = self
            .last_rejection
            .values()
            .filter(|t| self.now.saturating_duration_since(**t) < self.rejection_interval)
            .count();
        if remembered > REJECTION_MEMORY_CAP {
            return Err(format!(
                "{remembered} JIDs were rejected within one rejection interval"
            ));
        }
        Ok(())
    }
}
