//! `jingle_to_sdp` (which writes the SDP text directly) against the former
//! `sdp_types::Session`-based builder kept in `tests/oracle`: the same
//! `Result` for any model (the same bytes, or the same error), on the
//! lib-jitsi-meet vectors and on generated models, valid ones and ones edited
//! to break any check; and the text is what sdp-types itself writes for it.

mod common;
#[path = "prop_support/model.rs"]
mod model;
mod oracle;

use std::borrow::Cow;

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proxy_core::convert::{candidate_to_sdp, jingle_to_sdp};
use proxy_core::jingle::{
    Action, Candidate, CandidateType, Content, Fingerprint, Group, IceUdpTransport, Jingle,
    Parameter, PayloadType, RtcpFb, RtpDescription, RtpHdrext, Senders, Source, SsrcGroup,
};
use proxy_core::{parse_iq, ConvertError, Limits};

use model::Text;

/// Asserts the crate's writer and the oracle agree on `j`; on success, also that
/// sdp-types reads the text and writes it back byte for byte.
fn assert_same(j: &Jingle, session_id: u64) -> Result<Result<String, ConvertError>, String> {
    let ours = jingle_to_sdp(j, session_id);
    let oracle = oracle::to_sdp::jingle_to_sdp(j, session_id);
    if ours != oracle {
        return Err(format!(
            "writer and oracle differ\nours:   {ours:?}\noracle: {oracle:?}"
        ));
    }
    if let Ok(text) = &ours {
        let session = sdp_types::Session::parse(text.as_bytes())
            .map_err(|e| format!("sdp-types cannot read it back: {e}\n{text}"))?;
        let mut again = Vec::new();
        session
            .write(&mut again)
            .map_err(|e| format!("sdp-types cannot write it: {e}"))?;
        if again != text.as_bytes() {
            return Err(format!(
                "sdp-types writes it differently\nours:   {text:?}\nagain:  {:?}",
                String::from_utf8_lossy(&again)
            ));
        }
    }
    Ok(ours)
}

// ---------------------------------------------------------------------------
// the vectors

#[test]
fn every_session_vector_gives_the_oracles_bytes() {
    let dir = common::vectors_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    let mut converted = Vec::new();
    for path in &files {
        let xml = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let Ok(iq) = parse_iq(&xml, &Limits::default()) else {
            continue;
        };
        let Some(j) = iq.jingle else { continue };
        if !matches!(j.action, Action::SessionInitiate | Action::SessionAccept) {
            continue;
        }
        for session_id in [0, 1, 7, u64::MAX] {
            let out = assert_same(&j, session_id).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            let text = out.unwrap_or_else(|e| panic!("{path:?} does not convert: {e}"));
            assert!(text.starts_with(&format!("v=0\r\no=- {session_id} 2 IN IP4 0.0.0.0\r\n")));
        }
        converted.push(path.file_name().expect("a file name").to_owned());
    }
    // 01, 02, 11 and 12 are the session-initiates and -accepts of the capture.
    assert_eq!(converted.len(), 4, "{converted:?}");
}

/// lib-jitsi-meet's audio+video session-initiate.
const VECTOR_11: &str = "11-session-initiate.audio+video.sender-to-receiver.xml";

#[test]
fn vector_11_without_each_piece_gives_the_oracles_result() {
    // Every way to make vector 11 fail (or pass) by taking one list element away
    // or blanking one value, so each check is reached with the rest valid.
    let j = common::jingle_of(&common::vector(VECTOR_11));
    let mut variants = 0;
    let mut errors = std::collections::BTreeSet::new();
    for ci in 0..j.contents.len() {
        for edit in 0..40 {
            let mut v = j.clone();
            if !blank(&mut v.contents[ci], edit) {
                continue;
            }
            variants += 1;
            if let Err(e) = assert_same(&v, 3).unwrap_or_else(|e| panic!("edit {edit}: {e}")) {
                errors.insert(e.to_string());
            }
        }
    }
    assert!(variants > 40, "{variants}");
    assert!(errors.len() >= 10, "{errors:?}");
}

/// Applies edit number `n` to `c`; `false` when `c` has nothing for it.
fn blank(c: &mut Content<'static>, n: usize) -> bool {
    match n {
        0 => c.name = "".into(),
        1 => c.name = "a b".into(),
        2 => c.description = None,
        3..=29 => {
            return c
                .description
                .as_mut()
                .is_some_and(|d| blank_description(d, n))
        }
        30 => c.transport = None,
        31 => c.senders = Some(Senders::Rejected),
        32 => c.senders = None,
        33..=39 => {
            let Some(t) = c.transport.as_mut() else {
                return false;
            };
            match (n, t.fingerprint.as_mut()) {
                (33, _) => t.ufrag = None,
                (34, _) => t.pwd = Some("a b".into()),
                (35, _) => t.fingerprint = None,
                (36, Some(f)) => f.value = "AB:C".into(),
                (37, Some(f)) => f.hash = "".into(),
                (38, Some(f)) => f.cryptex = Some(true),
                (39, _) => t.candidates.push(good_candidate()),
                _ => return false,
            }
        }
        _ => return false,
    }
    true
}

fn blank_description(d: &mut RtpDescription<'static>, n: usize) -> bool {
    let has_source = !d.sources.is_empty();
    match n {
        3 => d.media = "application".into(),
        4 => d.payload_types.clear(),
        5..=17 => {
            return d
                .payload_types
                .first_mut()
                .is_some_and(|p| blank_payload_type(p, n))
        }
        18 if d.payload_types.len() > 1 => d.payload_types[1].id = d.payload_types[0].id,
        19..=22 => {
            let Some(h) = d.hdrexts.first_mut() else {
                return false;
            };
            match n {
                19 => h.id = 0,
                20 => h.id = 256,
                21 => h.uri = "a b".into(),
                _ => h.senders = Some(Senders::Responder),
            }
        }
        23..=24 => {
            let Some(g) = d.ssrc_groups.first_mut() else {
                return false;
            };
            if n == 23 {
                g.semantics = "".into();
            } else {
                g.ssrcs.clear();
            }
        }
        25..=28 if has_source => {
            let (i, name, value) = match n {
                25 => (1, "a:b", ""),
                26 => (1, "x", "\0"),
                27 => (1, "x", ""),
                _ => (0, "msid", "a\u{1}"),
            };
            let params = &mut d.sources[0].parameters;
            params.insert(i.min(params.len()), Parameter::new(name, value));
        }
        29 => d.rtcp_fbs.push(RtcpFb {
            kind: "nack".into(),
            subtype: None,
        }),
        _ => return false,
    }
    true
}

fn blank_payload_type(p: &mut PayloadType<'static>, n: usize) -> bool {
    match n {
        5 => p.id = 200,
        6 => p.name = "".into(),
        7 => p.name = "VP8/9".into(),
        8 => p.clockrate = None,
        9 => p.channels = Some(6),
        10..=13 => {
            let Some(x) = p.parameters.first_mut() else {
                return false;
            };
            match n {
                10 => x.name = "a=b".into(),
                11 => x.value = "1;2".into(),
                12 => x.value = "1\n2".into(),
                _ => x.name = "".into(),
            }
        }
        14..=16 => {
            let Some(f) = p.rtcp_fbs.first_mut() else {
                return false;
            };
            match n {
                14 => f.kind = "".into(),
                15 => f.subtype = Some(" \t".into()),
                _ => f.subtype = Some("a\rb".into()),
            }
        }
        17 => p.rtcp_fb_trr_int = Some(100),
        _ => return false,
    }
    true
}

fn good_candidate() -> Candidate<'static> {
    Candidate {
        foundation: "1".into(),
        component: 1,
        protocol: "udp".into(),
        priority: 2_122_260_223,
        ip: "192.0.2.1".into(),
        port: 40_000,
        kind: CandidateType::Srflx,
        generation: None,
        network: Some(1),
        id: None,
        rel_addr: Some("10.0.0.1".into()),
        rel_port: Some(9),
        tcptype: None,
    }
}

// ---------------------------------------------------------------------------
// generated models

/// One change to a valid session, replacing a part with an arbitrary one from
/// the generic strategies (which are mostly invalid for SDP).
#[derive(Debug, Clone)]
enum Edit {
    Content(usize, Content<'static>),
    Name(usize, String),
    Senders(usize, Option<Senders>),
    Media(usize, String),
    PayloadType(usize, usize, PayloadType<'static>),
    PayloadTypeId(usize, usize, u8),
    RtcpFb(usize, RtcpFb<'static>),
    Source(usize, Source<'static>),
    SsrcGroup(usize, SsrcGroup<'static>),
    Hdrext(usize, RtpHdrext<'static>),
    Transport(usize, Option<IceUdpTransport<'static>>),
    Fingerprint(usize, Option<Fingerprint<'static>>),
    Candidate(usize, Candidate<'static>),
    Groups(Vec<Group<'static>>),
}

fn edit(t: Text) -> impl Strategy<Value = Edit> {
    let i = 0usize..4;
    prop_oneof![
        1 => (i.clone(), model::content(t)).prop_map(|(i, c)| Edit::Content(i, c)),
        1 => (i.clone(), t.any()).prop_map(|(i, s)| Edit::Name(i, s)),
        1 => (i.clone(), option::of(model::senders())).prop_map(|(i, s)| Edit::Senders(i, s)),
        1 => (i.clone(), t.any()).prop_map(|(i, s)| Edit::Media(i, s)),
        1 => (i.clone(), 0usize..6, model::payload_type(t))
            .prop_map(|(i, k, p)| Edit::PayloadType(i, k, p)),
        1 => (i.clone(), 0usize..6, any::<u8>()).prop_map(|(i, k, id)| Edit::PayloadTypeId(i, k, id)),
        1 => (i.clone(), model::rtcp_fb(t)).prop_map(|(i, f)| Edit::RtcpFb(i, f)),
        1 => (i.clone(), model::source(t)).prop_map(|(i, s)| Edit::Source(i, s)),
        1 => (i.clone(), model::ssrc_group(t)).prop_map(|(i, g)| Edit::SsrcGroup(i, g)),
        1 => (i.clone(), model::hdrext(t)).prop_map(|(i, h)| Edit::Hdrext(i, h)),
        1 => (i.clone(), option::of(model::transport(t))).prop_map(|(i, x)| Edit::Transport(i, x)),
        1 => (i.clone(), option::of(model::fingerprint(t))).prop_map(|(i, f)| Edit::Fingerprint(i, f)),
        3 => (i.clone(), prop_oneof![model::candidate(t), near_candidate()])
            .prop_map(|(i, c)| Edit::Candidate(i, c)),
        1 => vec(
            (
                prop_oneof![Just("BUNDLE".to_owned()), t.any()],
                vec(prop_oneof![Just("m0".to_owned()), Just("m1".to_owned()), t.any()], 0..3)
            ),
            0..3
        )
        .prop_map(|gs| Edit::Groups(
            gs.into_iter()
                .map(|(s, m)| Group {
                    semantics: s.into(),
                    contents: m.into_iter().map(Into::into).collect(),
                })
                .collect()
        )),
    ]
}

/// A candidate whose fields come from small lists of good and bad values, so
/// that most are valid or invalid in one field only.
fn near_candidate() -> impl Strategy<Value = Candidate<'static>> {
    let text = |v: &[&'static str]| proptest::sample::select(v.to_vec()).prop_map(Cow::Borrowed);
    let addr = [
        "192.0.2.1",
        "::1",
        "fe80::1",
        "abc-1.local",
        "a_b",
        "",
        "1.2.3.4 ",
        "-x.local",
        "1.2.3.4\r\n",
        "123",
        "é.local",
    ];
    (
        (
            text(&[
                "1",
                "abc+/",
                "A9",
                "",
                "a b",
                "é",
                "x\u{0}",
                "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
            ]),
            0u8..3,
            text(&[
                "udp", "UDP", "tcp", "TcP", "ssltcp", "sctp", "udp ", "u dp", "ud\tp",
            ]),
            any::<u32>(),
            text(&addr),
            any::<u16>(),
            model::candidate_type(),
        ),
        (
            option::of(any::<u32>()),
            option::of(any::<u32>()),
            option::of(text(&addr)),
            option::of(any::<u16>()),
            option::of(text(&["active", "passive", "so", "Active", "x", " so", ""])),
        ),
    )
        .prop_map(
            |((foundation, component, protocol, priority, ip, port, kind), rest)| {
                let (generation, network, rel_addr, rel_port, tcptype) = rest;
                Candidate {
                    foundation,
                    component,
                    protocol,
                    priority,
                    ip,
                    port,
                    kind,
                    generation,
                    network,
                    id: None,
                    rel_addr,
                    rel_port,
                    tcptype,
                }
            },
        )
}

fn apply(j: &mut Jingle<'static>, e: Edit) {
    let i = match &e {
        Edit::Groups(_) => 0,
        Edit::Content(i, _)
        | Edit::Name(i, _)
        | Edit::Senders(i, _)
        | Edit::Media(i, _)
        | Edit::PayloadType(i, _, _)
        | Edit::PayloadTypeId(i, _, _)
        | Edit::RtcpFb(i, _)
        | Edit::Source(i, _)
        | Edit::SsrcGroup(i, _)
        | Edit::Hdrext(i, _)
        | Edit::Transport(i, _)
        | Edit::Fingerprint(i, _)
        | Edit::Candidate(i, _) => *i,
    };
    if let Edit::Groups(g) = e {
        j.groups = g;
        return;
    }
    let n = j.contents.len().max(1);
    let Some(x) = j.contents.get_mut(i % n) else {
        return;
    };
    match e {
        Edit::Content(_, c) => *x = c,
        Edit::Name(_, s) => x.name = s.into(),
        Edit::Senders(_, s) => x.senders = s,
        Edit::Transport(_, t) => x.transport = t,
        Edit::Fingerprint(_, f) => {
            if let Some(t) = x.transport.as_mut() {
                t.fingerprint = f;
            }
        }
        Edit::Candidate(_, c) => {
            if let Some(t) = x.transport.as_mut() {
                t.candidates.push(c);
            }
        }
        e => {
            let Some(d) = x.description.as_mut() else {
                return;
            };
            let pts = d.payload_types.len().max(1);
            match e {
                Edit::Media(_, m) => d.media = m.into(),
                Edit::PayloadType(_, k, p) => match d.payload_types.get_mut(k % pts) {
                    Some(x) => *x = p,
                    None => d.payload_types.push(p),
                },
                Edit::PayloadTypeId(_, k, id) => {
                    if let Some(x) = d.payload_types.get_mut(k % pts) {
                        x.id = id;
                    }
                }
                Edit::RtcpFb(_, f) => d.rtcp_fbs.push(f),
                Edit::Source(_, s) => d.sources.insert(0, s),
                Edit::SsrcGroup(_, g) => d.ssrc_groups.push(g),
                Edit::Hdrext(_, h) => d.hdrexts.push(h),
                _ => {}
            }
        }
    }
}

/// A valid session (lib-jitsi-meet-like or SDP-exact), then 0–3 edits.
fn edited_session() -> impl Strategy<Value = Jingle<'static>> {
    (
        prop_oneof![
            model::sdp::session(),
            model::sdp::exact_session().prop_map(|(j, _)| j),
        ],
        vec(prop_oneof![edit(Text::Markup), edit(Text::Printable)], 0..4),
    )
        .prop_map(|(mut j, edits)| {
            for e in edits {
                apply(&mut j, e);
            }
            j
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn edited_sessions_give_the_oracles_result(j in edited_session(), id in any::<u64>()) {
        let _result = assert_same(&j, id).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn valid_sessions_give_the_oracles_bytes(
        j in prop_oneof![
            model::sdp::session(),
            model::sdp::exact_session().prop_map(|(j, _)| j),
        ],
        id in any::<u64>(),
    ) {
        let out = assert_same(&j, id).map_err(TestCaseError::fail)?;
        prop_assert!(out.is_ok(), "{out:?}");
    }

    #[test]
    fn any_jingle_gives_the_oracles_result(
        j in prop_oneof![model::jingle(Text::Markup), model::jingle(Text::Printable)],
        id in any::<u64>(),
    ) {
        let _result = assert_same(&j, id).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn candidates_are_written_as_the_oracle_writes_them(
        c in prop_oneof![
            model::candidate(Text::Markup),
            model::candidate(Text::Printable),
            near_candidate(),
            model::sdp::host_candidate(),
        ],
    ) {
        prop_assert_eq!(candidate_to_sdp(&c), oracle::to_sdp::candidate_to_sdp(&c));
    }
}

/// The edited sessions reach the writer's checks: many different errors, and
/// successes too (else the comparison above would prove little).
#[test]
fn edited_sessions_reach_many_checks() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config::default());
    let strategy = edited_session();
    let (mut ok, mut candidates) = (0, 0);
    let mut errors = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..2000 {
        let j = strategy.new_tree(&mut runner).expect("a session").current();
        match jingle_to_sdp(&j, 1) {
            Ok(sdp) => {
                ok += 1;
                candidates += sdp.matches("a=candidate:").count();
            }
            Err(e) => {
                let kind = match e {
                    ConvertError::Invalid { what, .. } => what.to_owned(),
                    other => other.to_string(),
                };
                *errors.entry(kind).or_default() += 1;
            }
        }
    }
    eprintln!("ok {ok}, candidates {candidates}, errors {errors:#?}");
    assert!(ok > 200, "{ok}");
    assert!(candidates > 100, "{candidates}");
    assert!(errors.len() >= 15, "{errors:#?}");
}

/// More contents than the writer scans by name (it then uses a set): the same
/// text, the same duplicate reported, the same unknown group member.
#[test]
fn many_contents_give_the_oracles_result() {
    let j = common::jingle_of(&common::vector(VECTOR_11));
    for n in [1, 2, 15, 16, 17, 20, 40] {
        let mut many = j.clone();
        many.contents = (0..n)
            .map(|i| {
                let mut c = j.contents[i % j.contents.len()].clone();
                c.name = format!("c{i}").into();
                c
            })
            .collect();
        many.groups = vec![Group {
            semantics: "BUNDLE".into(),
            contents: many.contents.iter().map(|c| c.name.clone()).collect(),
        }];
        let ok = assert_same(&many, 5).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert_eq!(ok.map(|s| s.matches("m=").count()), Ok(n));

        for dup in [1, n / 2, n - 1] {
            if dup == 0 || dup >= n {
                continue;
            }
            let mut bad = many.clone();
            bad.contents[dup].name = bad.contents[dup - 1].name.clone();
            // And a later duplicate, which must not be the one reported.
            if let Some(last) = bad.contents.len().checked_sub(1).filter(|&l| l > dup) {
                bad.contents[last].name = "c0".into();
            }
            let err = assert_same(&bad, 5).unwrap_or_else(|e| panic!("{n}/{dup}: {e}"));
            assert!(err.is_err(), "{n}/{dup}");
        }
        let mut bad = many.clone();
        bad.groups[0].contents.push("nope".into());
        let err = assert_same(&bad, 5).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert!(err.is_err());
        let mut bad = many.clone();
        bad.contents[n - 1].name = "a b".into();
        let err = assert_same(&bad, 5).unwrap_or_else(|e| panic!("{n}: {e}"));
        assert!(err.is_err());
    }
}

/// Vector 01 (one video content), parsed once.
fn vector_01() -> &'static Jingle<'static> {
    static J: std::sync::OnceLock<Jingle<'static>> = std::sync::OnceLock::new();
    J.get_or_init(|| {
        let path = common::vectors_dir().join("01-session-initiate.sender-to-receiver.xml");
        let xml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        parse_iq(&xml, &Limits::default())
            .expect("vector 01 parses")
            .jingle
            .expect("a <jingle>")
            .into_owned()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    /// Candidates in an otherwise valid session: the writer decides without
    /// a round trip when a candidate surely reads back, and must still accept
    /// and reject exactly the ones the oracle's round trip does.
    #[test]
    fn candidates_in_a_valid_session_give_the_oracles_result(
        cands in vec(
            prop_oneof![
                4 => near_candidate(),
                1 => model::candidate(Text::Printable),
                1 => model::sdp::host_candidate(),
            ],
            1..3,
        ),
    ) {
        let mut j = vector_01().clone();
        let t = j.contents[0].transport.as_mut().expect("vector 01 has a transport");
        t.candidates = cands;
        let _result = assert_same(&j, 9).map_err(TestCaseError::fail)?;
    }
}
