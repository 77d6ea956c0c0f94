//! `sdp_to_jingle` gives exactly what the implementation before the single-pass
//! rewrite gave (kept as the oracle in `tests/oracle/from_sdp.rs`): the same
//! `Jingle` for every SDP it reads and the same `ConvertError` for every SDP it
//! refuses.
//!
//! Inputs: every str0m fixture (`tests/fixtures/*.sdp`) and the SDP of the
//! lib-jitsi-meet session vectors, each as is and with every single-line edit;
//! then SDP written from random models (`prop_support/model.rs`) or taken from
//! those bases, with random line-level mutations (drop, duplicate, swap, move,
//! insert a tricky line, corrupt a value, change the case of a name).

mod common;
#[path = "prop_support/model.rs"]
mod model;
mod oracle;

use proptest::prelude::*;
use proxy_core::convert::{jingle_to_sdp, sdp_to_jingle};
use proxy_core::jingle::{Action, Creator, Jingle};

// ---------------------------------------------------------------------------
// the comparison

/// The new code and the oracle agree on `sdp` read with `action` by `creator`.
fn assert_same(sdp: &str, action: Action, creator: Creator) -> Result<(), TestCaseError> {
    let new = sdp_to_jingle(sdp, action.clone(), creator);
    let old = oracle::from_sdp::sdp_to_jingle(sdp, action.clone(), creator);
    prop_assert_eq!(
        &new,
        &old,
        "{:?} {:?} differs for\n{}",
        action,
        creator,
        sdp
    );
    Ok(())
}

/// Every action and role.
fn all_readings() -> impl Iterator<Item = (Action, Creator)> {
    Action::ALL
        .into_iter()
        .flat_map(|a| [(a.clone(), Creator::Initiator), (a, Creator::Responder)])
}

/// A reading that needs a transport and one that does not (the action matters
/// only that way; the creator is copied into every content).
const TWO_READINGS: [(Action, Creator); 2] = [
    (Action::SessionAccept, Creator::Responder),
    (Action::TransportInfo, Creator::Initiator),
];

fn check(sdp: &str, readings: impl IntoIterator<Item = (Action, Creator)>) {
    for (action, creator) in readings {
        if let Err(e) = assert_same(sdp, action, creator) {
            panic!("{e}");
        }
    }
}

// ---------------------------------------------------------------------------
// bases

/// The fixtures, by file name.
fn fixtures() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "sdp"))
        .map(|p| {
            let sdp = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
            (p.display().to_string(), sdp)
        })
        .collect();
    out.sort();
    out
}

/// The lib-jitsi-meet session vectors, as SDP.
fn vector_sdps() -> Vec<(String, String)> {
    [
        "01-session-initiate.sender-to-receiver.xml",
        "02-session-accept.receiver-to-sender.xml",
        "11-session-initiate.audio+video.sender-to-receiver.xml",
        "12-session-accept.audio+video.receiver-to-sender.xml",
    ]
    .into_iter()
    .map(|name| {
        let jingle: Jingle = common::jingle_of(&common::vector(name));
        let sdp = jingle_to_sdp(&jingle, 1).unwrap_or_else(|e| panic!("{name}: {e}"));
        (name.to_owned(), sdp)
    })
    .collect()
}

fn lines(sdp: &str) -> Vec<String> {
    sdp.lines().map(str::to_owned).collect()
}

fn join(lines: &[String]) -> String {
    let mut s = lines.join("\r\n");
    s.push_str("\r\n");
    s
}

// ---------------------------------------------------------------------------
// mutations

/// Lines that reach the less travelled paths of the conversion.
const TRICKY_LINES: &[&str] = &[
    "a=rtcp-fb:* trr-int 100",
    "a=rtcp-fb:* trr-int x",
    "a=rtcp-fb:* nack",
    "a=rtcp-fb:* ccm  tmmbr\tsmaxpr=120",
    "a=rtcp-fb:96 trr-int 7",
    "a=rtcp-fb:96 trr-int",
    "a=rtcp-fb:96   nack   pli ",
    "a=rtcp-fb:96",
    "a=rtcp-fb:096 nack",
    "a=rtcp-fb:+96 nack",
    "a=RTCP-FB:96 goog-remb",
    "a=rtpmap:96 VP8/90000",
    "a=rtpmap:96 VP8/90000/2",
    "a=rtpmap:96 VP8/90000/x",
    "a=rtpmap:+96 H264/90000",
    "a=rtpmap:096 VP9/90000",
    "a=rtpmap:96 VP8",
    "a=rtpmap:128 VP8/90000",
    "a=rtpmap:97 VP8/90000/2/3",
    "a=rtpmap:97 V P8/90000",
    "a=rtpmap:97 /90000",
    "a=RTPMAP:97 rtx/90000",
    "a=fmtp:96 a=b; c ;=d;e=",
    "a=fmtp:96",
    "a=fmtp:096 x=y",
    "a=fmtp:97 apt=96",
    "a=FMTP:97 apt=100",
    "a=ssrc:1 cname:x",
    "a=ssrc:1 name:n",
    "a=ssrc:1 videoType:camera",
    "a=ssrc:1 msid:s t",
    "a=ssrc:2",
    "a=ssrc:x cname:y",
    "a=ssrc:4294967295 label:z",
    "a=ssrc-group:FID 1 2",
    "a=ssrc-group:SIM",
    "a=ssrc-group:FID 1 x",
    "a=msid:stream track",
    "a=msid",
    "a=mid",
    "a=mid:",
    "a=mid:a b",
    "a=mid:0",
    "a=MID:m0",
    "a=bundle-only",
    "a=group:BUNDLE 0 m0",
    "a=group:BUNDLE",
    "a=group:",
    "a=group:LS m0 nowhere",
    "a=extmap:1 urn:x",
    "a=extmap:1/sendonly urn:x",
    "a=extmap:2/recvonly urn:y ext-attr",
    "a=extmap:3/inactive urn:z",
    "a=extmap:4/SendRecv urn:w",
    "a=extmap:5/bogus urn:v",
    "a=extmap:0 urn:u",
    "a=extmap:1",
    "a=extmap:1 ",
    "a=extmap:+7 urn:t",
    "a=extmap-allow-mixed",
    "a=rtcp-mux",
    "a=sendonly",
    "a=recvonly",
    "a=inactive",
    "a=sendrecv",
    "a=SENDONLY",
    "a=ice-ufrag:abcd",
    "a=ice-pwd:0123456789abcdefghijkl",
    "a=ice-ufrag: spaced ",
    "a=ice-pwd",
    "a=fingerprint:sha-256 AB:CD",
    "a=fingerprint:sha-256 ABC:D",
    "a=fingerprint:sha-256 zz",
    "a=fingerprint:sha-256 ",
    "a=fingerprint:sha-256",
    "a=fingerprint: sha-256 AB",
    "a=fingerprint:sha-1 ab:cd:EF",
    "a=setup:ACTIVE",
    "a=setup:bogus",
    "a=setup",
    "a=cryptex",
    "a=candidate:1 1 udp 2122260223 192.0.2.1 5000 typ host",
    "a=candidate:1 1 udp 2122260223 192.0.2.1 5000 typ bogus",
    "a=candidate:1 1",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "m=video 0 UDP/TLS/RTP/SAVPF 96 97",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "m=video 9 UDP/TLS/RTP/SAVPF 96 x",
    "m=video 9 UDP/TLS/RTP/SAVPF 200",
    "m=audio 9 UDP/TLS/RTP/SAVPF",
    "c=IN IP4 0.0.0.0",
    "a=\u{e9}t\u{e9}",
    "a=rtpmap:96 \u{e9}/90000",
];

/// Values a corrupted field gets.
const TRICKY_VALUES: &[&str] = &[
    "",
    " ",
    "x",
    "0",
    "00",
    "-1",
    "+1",
    "127",
    "128",
    "255",
    "256",
    "096",
    "4294967296",
    "*",
    "trr-int",
    "a b",
    "a=b",
    ";",
    ":",
    "/",
    "\u{e9}",
    "sendonly",
    "SENDRECV",
    "AB:CD",
    "ABC",
];

/// A position in a list of any length (taken modulo the length).
#[derive(Debug, Clone, Copy)]
struct Index(usize);

impl Index {
    fn index(self, n: usize) -> usize {
        self.0 % n.max(1)
    }

    fn get<T>(self, slice: &[T]) -> &T {
        &slice[self.index(slice.len())]
    }
}

fn index() -> impl Strategy<Value = Index> {
    any::<usize>().prop_map(Index)
}

#[derive(Debug, Clone)]
enum Mutation {
    Drop(Index),
    Duplicate(Index),
    Swap(Index, Index),
    /// Moves a line elsewhere (e.g. a media attribute to the session level).
    Move(Index, Index),
    Insert(Index, Index),
    /// Replaces one field of a line (fields split at ` :/;=`) by a tricky value or
    /// by random text.
    Corrupt(Index, Index, Result<Index, String>),
    /// Changes the case of an attribute name.
    Case(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => index().prop_map(Mutation::Drop),
        2 => index().prop_map(Mutation::Duplicate),
        2 => (index(), index()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        1 => (index(), index()).prop_map(|(a, b)| Mutation::Move(a, b)),
        3 => (index(), index()).prop_map(|(a, b)| Mutation::Insert(a, b)),
        4 => (
            index(),
            index(),
            prop_oneof![
                3 => index().prop_map(Ok),
                1 => "[ -~\u{e9}]{0,5}".prop_map(Err),
            ]
        )
            .prop_map(|(a, b, v)| Mutation::Corrupt(a, b, v)),
        1 => index().prop_map(Mutation::Case),
    ]
}

fn apply(lines: &mut Vec<String>, m: &Mutation) {
    if lines.is_empty() {
        return;
    }
    let n = lines.len();
    match m {
        Mutation::Drop(i) => {
            lines.remove(i.index(n));
        }
        Mutation::Duplicate(i) => {
            let i = i.index(n);
            let line = lines[i].clone();
            lines.insert(i, line);
        }
        Mutation::Swap(a, b) => lines.swap(a.index(n), b.index(n)),
        Mutation::Move(a, b) => {
            let line = lines.remove(a.index(n));
            lines.insert(b.index(n), line);
        }
        Mutation::Insert(at, which) => {
            let line = (*which.get(TRICKY_LINES)).to_owned();
            lines.insert(at.index(n + 1), line);
        }
        Mutation::Corrupt(i, field, value) => {
            let line = &mut lines[i.index(n)];
            // Field boundaries (after the two-byte `x=` prefix).
            let seps: Vec<usize> = line
                .char_indices()
                .filter(|&(at, c)| at >= 2 && " :/;=".contains(c))
                .map(|(at, _)| at)
                .collect();
            let mut bounds = vec![line.len().min(2)];
            for s in seps {
                bounds.push(s);
                bounds.push(s + 1);
            }
            bounds.push(line.len());
            let fields = bounds.len() / 2;
            let k = field.index(fields);
            let (start, end) = (bounds[2 * k], bounds[2 * k + 1].max(bounds[2 * k]));
            let value = match value {
                Ok(v) => (*v.get(TRICKY_VALUES)).to_owned(),
                Err(s) => s.clone(),
            };
            line.replace_range(start..end, &value);
        }
        Mutation::Case(i) => {
            let line = &mut lines[i.index(n)];
            let end = line.find(':').unwrap_or(line.len());
            let upper = line[..end].to_ascii_uppercase();
            line.replace_range(..end, &upper);
            // Keep the `a=` / `m=` type letter as sdp-types wants it.
            if line.len() >= 2 {
                let lower = line[..1].to_ascii_lowercase();
                line.replace_range(..1, &lower);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// tests

/// Every fixture and vector SDP as is, and with each line dropped, duplicated,
/// upper-cased, or followed by each tricky line.
#[test]
fn fixtures_and_vectors_and_their_single_line_edits() {
    let bases: Vec<(String, String)> = fixtures().into_iter().chain(vector_sdps()).collect();
    assert!(bases.len() >= 8, "fixtures and vectors: {}", bases.len());
    let mut accepted = 0;
    for (name, sdp) in &bases {
        let j = sdp_to_jingle(sdp, Action::SessionAccept, Creator::Responder);
        assert!(j.is_ok(), "{name}: {j:?}");
        check(sdp, all_readings());
        let base = lines(sdp);
        for i in 0..base.len() {
            for m in [
                Mutation::Drop(Index(i)),
                Mutation::Duplicate(Index(i)),
                Mutation::Case(Index(i)),
            ] {
                let mut l = base.clone();
                apply(&mut l, &m);
                let sdp = join(&l);
                accepted += usize::from(
                    sdp_to_jingle(&sdp, Action::SessionAccept, Creator::Responder).is_ok(),
                );
                check(&sdp, TWO_READINGS);
            }
        }
        // Each tricky line after the session part, and at the end.
        let first_media = base.iter().position(|l| l.starts_with("m=")).unwrap_or(0);
        for at in [first_media, first_media + 1, base.len()] {
            for line in TRICKY_LINES {
                let mut l = base.clone();
                l.insert(at.min(l.len()), (*line).to_owned());
                check(&join(&l), TWO_READINGS);
            }
        }
    }
    // The edits reach past the SDP parser (not every mutant is refused).
    assert!(accepted > 100, "only {accepted} mutants converted");
}

/// A base SDP: written from a random model, or a fixture or vector.
fn base_sdp() -> impl Strategy<Value = String> {
    let bases: Vec<String> = fixtures()
        .into_iter()
        .chain(vector_sdps())
        .map(|(_, s)| s)
        .collect();
    prop_oneof![
        2 => (model::sdp::session(), any::<u64>()).prop_filter_map(
            "the model writes as SDP",
            |(j, id)| jingle_to_sdp(&j, id).ok()
        ),
        2 => (model::sdp::exact_session(), any::<u64>()).prop_filter_map(
            "the model writes as SDP",
            |((j, _), id)| jingle_to_sdp(&j, id).ok()
        ),
        1 => proptest::sample::select(bases),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    /// Random SDP, mutated line by line: the new code and the oracle agree.
    #[test]
    fn same_result_as_the_oracle(
        sdp in base_sdp(),
        mutations in proptest::collection::vec(mutation(), 0..8),
        action in proptest::sample::select(Action::ALL.to_vec()),
        creator in model::creator(),
    ) {
        let mut l = lines(&sdp);
        for m in &mutations {
            apply(&mut l, m);
        }
        assert_same(&join(&l), action, creator)?;
    }

    /// Unmutated model SDP converts (so the test above compares real Jingle, not
    /// only errors).
    #[test]
    fn model_sdp_converts(sdp in base_sdp()) {
        let new = sdp_to_jingle(&sdp, Action::SessionAccept, Creator::Responder);
        prop_assert!(new.is_ok(), "{:?}", new.err());
        prop_assert_eq!(new, oracle::from_sdp::sdp_to_jingle(&sdp, Action::SessionAccept, Creator::Responder));
    }
}

/// Past 16 sources the new code finds a source by a map instead of a search:
/// many ssrcs, their lines interleaved and repeated, some sources named twice,
/// and payload types listed twice on the m-line.
#[test]
fn many_sources_and_repeated_payload_types() {
    let base = common::fixture("str0m-answer-av.sdp");
    let mut l = lines(&base);
    l.retain(|line| !line.starts_with("a=ssrc"));
    let video = l
        .iter()
        .rposition(|line| line.starts_with("m=video"))
        .expect("a video m-line");
    l[video].push_str(" 96 97 96");
    for round in 0..3u32 {
        for ssrc in (1..=40u32).rev() {
            let ssrc = ssrc * 7 + round % 2;
            l.push(format!("a=ssrc:{ssrc} cname:c{ssrc}"));
            if ssrc % 5 == 0 {
                l.push(format!("a=ssrc:{ssrc} name:n{round}"));
                l.push(format!("a=ssrc:{ssrc} videoType:camera"));
                l.push(format!("a=ssrc:{ssrc} msid:s{round} t"));
            }
            if ssrc % 9 == 0 {
                l.push(format!("a=ssrc:{ssrc}"));
            }
        }
    }
    l.push("a=ssrc-group:FID 7 14".to_owned());
    let sdp = join(&l);
    let j = sdp_to_jingle(&sdp, Action::SessionAccept, Creator::Responder).expect("converts");
    let desc = j.contents[1].description.as_ref().expect("a description");
    assert_eq!(desc.sources.len(), 80);
    check(&sdp, all_readings());
}
