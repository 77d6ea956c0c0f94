//! Jingle <-> SDP against the real lib-jitsi-meet messages (`tests/vectors`) and
//! against SDP written by str0m 0.25 (`tests/fixtures`).

mod common;
#[path = "prop_support/model.rs"]
mod model;

use proptest::prelude::*;
use proxy_core::jingle::{
    Action, Candidate, CandidateType, Creator, Group, Jingle, Parameter, RtcpFb, Senders, Setup,
};
use proxy_core::{
    candidate_from_sdp, candidate_to_sdp, jingle_to_sdp, parse_iq, sdp_to_jingle, ConvertError,
    Limits,
};
use sdp_types::{Media, Session};

// ---------------------------------------------------------------------------
// helpers

use common::{description, fixture, pt, transport, vectors_dir};

fn vector_jingle(name: &str) -> Jingle {
    let path = vectors_dir().join(name);
    let xml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    parse_iq(&xml, &Limits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .jingle
        .expect("a <jingle>")
}

/// The vectors that describe a session, with the role of their writer.
const SESSION_VECTORS: [(&str, Creator); 4] = [
    (
        "01-session-initiate.sender-to-receiver.xml",
        Creator::Initiator,
    ),
    (
        "02-session-accept.receiver-to-sender.xml",
        Creator::Responder,
    ),
    (
        "11-session-initiate.audio+video.sender-to-receiver.xml",
        Creator::Initiator,
    ),
    (
        "12-session-accept.audio+video.receiver-to-sender.xml",
        Creator::Responder,
    ),
];

/// str0m fixtures: (offer, answer).
const FIXTURE_PAIRS: [(&str, &str); 2] = [
    ("str0m-offer.sdp", "str0m-answer.sdp"),
    ("str0m-offer-av.sdp", "str0m-answer-av.sdp"),
];

fn parse_sdp(sdp: &str) -> Session {
    Session::parse(sdp.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{sdp}"))
}

fn values<'a>(m: &'a Media, name: &'a str) -> Vec<&'a str> {
    m.get_attribute_values(name)
        .map(|v| v.unwrap_or_default())
        .collect()
}

/// What SDP cannot carry and the service fills in: jingle attributes, source
/// names/videoTypes, `required` on fingerprints, candidate ids.
fn strip_non_sdp(mut j: Jingle) -> Jingle {
    j.sid = None;
    j.initiator = None;
    j.responder = None;
    for c in &mut j.contents {
        if let Some(d) = &mut c.description {
            for s in &mut d.sources {
                s.name = None;
                s.video_type = None;
            }
        }
        if let Some(t) = &mut c.transport {
            if let Some(f) = &mut t.fingerprint {
                f.required = None;
            }
            for cand in &mut t.candidates {
                cand.id = None;
            }
        }
    }
    j
}

// ---------------------------------------------------------------------------
// lib-jitsi-meet vectors -> SDP

#[test]
fn vectors_convert_to_sdp_that_carries_everything() {
    for (name, creator) in SESSION_VECTORS {
        let j = vector_jingle(name);
        let sdp = jingle_to_sdp(&j, 4242).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(sdp.starts_with("v=0\r\no=- 4242 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"));
        let s = parse_sdp(&sdp);
        assert_eq!(s.medias.len(), j.contents.len(), "{name}");

        // BUNDLE names every content, in order.
        let names: Vec<&str> = j.contents.iter().map(|c| c.name.as_str()).collect();
        let group = format!("BUNDLE {}", names.join(" "));
        assert_eq!(values_session(&s, "group"), [group.as_str()], "{name}");

        for (i, content) in j.contents.iter().enumerate() {
            let m = &s.medias[i];
            let d = description(&j, i);
            let t = transport(&j, i);
            assert_eq!(values(m, "mid"), [content.name.as_str()]);
            assert_eq!(m.media, d.media.as_str());
            assert_eq!(m.port, 9);
            assert_eq!(m.proto, "UDP/TLS/RTP/SAVPF");
            let ids: Vec<String> = d.payload_types.iter().map(|p| p.id.to_string()).collect();
            assert_eq!(m.fmt, ids.join(" "), "{name}: m= payload list");

            // Every codec with its fmtp and rtcp-fb.
            for p in &d.payload_types {
                let mut rtpmap = format!("{} {}/{}", p.id, p.name, p.clockrate.expect("clockrate"));
                if let Some(ch) = p.channels.filter(|c| *c > 1) {
                    rtpmap.push_str(&format!("/{ch}"));
                }
                assert!(values(m, "rtpmap").contains(&rtpmap.as_str()), "{rtpmap}");
                let fmtp: Vec<&str> = values(m, "fmtp")
                    .into_iter()
                    .filter(|v| v.split(' ').next() == Some(&p.id.to_string()))
                    .collect();
                if p.parameters.is_empty() {
                    assert!(fmtp.is_empty());
                } else {
                    let params: Vec<String> = p
                        .parameters
                        .iter()
                        .map(|q| {
                            if q.name.is_empty() {
                                q.value.to_string()
                            } else {
                                format!("{}={}", q.name, q.value)
                            }
                        })
                        .collect();
                    assert_eq!(fmtp, [format!("{} {}", p.id, params.join(";")).as_str()]);
                }
                let fbs: Vec<String> = values(m, "rtcp-fb")
                    .into_iter()
                    .filter(|v| v.split(' ').next() == Some(&p.id.to_string()))
                    .map(str::to_owned)
                    .collect();
                let expected: Vec<String> = p
                    .rtcp_fbs
                    .iter()
                    .map(|f| match &f.subtype {
                        Some(sub) => format!("{} {} {sub}", p.id, f.kind),
                        None => format!("{} {}", p.id, f.kind),
                    })
                    .collect();
                assert_eq!(fbs, expected, "{name}: rtcp-fb of {}", p.id);
                // sdp-types reads every rtcp-fb line.
                assert!(m.attributes_typed::<sdp_types::RtcpFb>().all(|r| r.is_ok()));
            }
            assert!(m.attributes_typed::<sdp_types::RtpMap>().all(|r| r.is_ok()));
            assert!(m.attributes_typed::<sdp_types::Fmtp>().all(|r| r.is_ok()));

            // Header extensions.
            let extmaps: Vec<sdp_types::ExtMap> = m
                .attributes_typed::<sdp_types::ExtMap>()
                .map(|r| r.expect("extmap parses"))
                .collect();
            assert_eq!(extmaps.len(), d.hdrexts.len());
            for (e, h) in extmaps.iter().zip(&d.hdrexts) {
                assert_eq!(u16::from(e.id), h.id);
                assert_eq!(e.uri, h.uri);
            }
            assert_eq!(m.has_attribute("extmap-allow-mixed"), d.extmap_allow_mixed);
            assert_eq!(m.has_attribute("rtcp-mux"), d.rtcp_mux);
            assert!(d.rtcp_mux && d.extmap_allow_mixed);

            // Sources: ssrc + msid, ssrc-group, media-level msid.
            let ssrcs: Vec<sdp_types::Ssrc> = m
                .attributes_typed::<sdp_types::Ssrc>()
                .map(|r| r.expect("ssrc parses"))
                .collect();
            for src in &d.sources {
                let msid = src.msid().expect("vector sources carry an msid");
                assert!(ssrcs.iter().any(|l| l.ssrc_id == src.ssrc
                    && l.attribute.as_str() == "msid"
                    && l.value.as_deref() == Some(msid)));
            }
            let groups: Vec<sdp_types::SsrcGroup> = m
                .attributes_typed::<sdp_types::SsrcGroup>()
                .map(|r| r.expect("ssrc-group parses"))
                .collect();
            assert_eq!(groups.len(), d.ssrc_groups.len());
            for (g, h) in groups.iter().zip(&d.ssrc_groups) {
                assert_eq!(g.ssrc_ids, h.ssrcs);
                assert_eq!(g.semantics, sdp_types::GroupSemantics::FID);
            }
            match d.sources.first().and_then(|s| s.msid()) {
                Some(msid) => assert_eq!(values(m, "msid"), [msid]),
                None => assert!(values(m, "msid").is_empty()),
            }

            // Transport.
            assert_eq!(values(m, "ice-ufrag"), [t.ufrag.as_deref().expect("ufrag")]);
            assert_eq!(values(m, "ice-pwd"), [t.pwd.as_deref().expect("pwd")]);
            let fp = t.fingerprint.as_ref().expect("fingerprint");
            let sdp_fp: sdp_types::Fingerprint = m
                .get_first_attribute_typed()
                .expect("a=fingerprint")
                .expect("fingerprint parses");
            assert_eq!(sdp_fp.to_string(), format!("{} {}", fp.hash, fp.value));
            let setup = fp.setup.expect("setup").as_str();
            assert_eq!(values(m, "setup"), [setup]);
            assert_eq!(
                setup,
                if creator == Creator::Initiator {
                    "actpass"
                } else {
                    "active"
                }
            );
            assert_eq!(values(m, "rtcp"), ["1 IN IP4 0.0.0.0"]);
            assert_eq!(m.connections[0].connection_address, "0.0.0.0");

            // Direction from senders, the writer's own perspective.
            let (dir, senders) = match creator {
                Creator::Initiator => ("sendonly", Senders::Initiator),
                Creator::Responder => ("recvonly", Senders::Responder),
            };
            assert_eq!(content.senders, Some(senders));
            assert!(m.has_attribute(dir), "{name}: a={dir}");
            for other in ["sendrecv", "sendonly", "recvonly", "inactive"] {
                assert_eq!(m.has_attribute(other), other == dir);
            }
        }
    }
}

fn values_session<'a>(s: &'a Session, name: &'a str) -> Vec<&'a str> {
    s.get_attribute_values(name)
        .map(|v| v.unwrap_or_default())
        .collect()
}

#[test]
fn vector_11_audio_lines_are_written_like_lib_jitsi_meet() {
    let j = vector_jingle("11-session-initiate.audio+video.sender-to-receiver.xml");
    let sdp = jingle_to_sdp(&j, 1).expect("converts");
    for line in [
        "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n",
        "a=rtpmap:111 opus/48000/2\r\n",
        "a=fmtp:111 minptime=10;useinbandfec=1\r\n",
        "a=rtcp-fb:111 transport-cc\r\n",
        "a=rtpmap:63 red/48000/2\r\n",
        "a=fmtp:63 111/111\r\n",
        "a=rtpmap:9 G722/8000\r\n",
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n",
        "a=ssrc:3869210898 msid:-audio-0-1 26c7e5b2-8f1c-4598-87f4-6843c193c6a4-1\r\n",
        "a=msid:-audio-0-1 26c7e5b2-8f1c-4598-87f4-6843c193c6a4-1\r\n",
        "a=ssrc-group:FID 662616710 3297131059\r\n",
        "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset\r\n",
        "a=group:BUNDLE 0 1\r\n",
        "a=fingerprint:sha-256 8B:E3:FE:2D:0C:D9:F2:75:5E:7D:FA:27:4C:75:5F:F1:05:0C:AD:4E:0C:33:BF:00:6D:63:63:F8:7A:81:60:0D\r\n",
        "a=ice-ufrag:CO/f\r\n",
    ] {
        assert!(sdp.contains(line), "missing {line:?} in\n{sdp}");
    }
    assert!(
        !sdp.contains("msid-semantic"),
        "lib-jitsi-meet's P2P SDP has none"
    );
}

#[test]
fn vectors_round_trip_through_sdp() {
    for (name, creator) in SESSION_VECTORS {
        let j = vector_jingle(name);
        let sdp = jingle_to_sdp(&j, 7).expect("converts");
        let back = sdp_to_jingle(&sdp, j.action.clone(), creator)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, strip_non_sdp(j.clone()), "{name}\n{sdp}");
        // And SDP -> Jingle -> SDP is then byte-exact.
        assert_eq!(jingle_to_sdp(&back, 7).expect("converts"), sdp);
    }
}

#[test]
fn vector_names_and_video_types_are_not_carried() {
    let j = vector_jingle("01-session-initiate.sender-to-receiver.xml");
    assert_eq!(
        description(&j, 0).sources[0].name.as_deref(),
        Some("peer-v0")
    );
    let sdp = jingle_to_sdp(&j, 7).expect("converts");
    let back = sdp_to_jingle(&sdp, Action::SessionInitiate, Creator::Initiator).expect("reads");
    let src = &description(&back, 0).sources[0];
    assert_eq!(src.name, None);
    assert_eq!(src.video_type, None);
    assert_eq!(src.ssrc, 545198419);
}

// ---------------------------------------------------------------------------
// str0m fixtures -> Jingle

/// mids of an SDP in m-line order.
fn mids(sdp: &str) -> Vec<String> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a=mid:"))
        .map(str::to_owned)
        .collect()
}

/// `a=ssrc` ids of an SDP (deduplicated, in order).
fn ssrcs(sdp: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for l in sdp.lines().filter_map(|l| l.strip_prefix("a=ssrc:")) {
        let n: u32 = l
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("ssrc");
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

#[test]
fn str0m_fixtures_convert_to_vector_shaped_jingle() {
    for (offer_name, answer_name) in FIXTURE_PAIRS {
        for (name, creator, action) in [
            (offer_name, Creator::Initiator, Action::SessionInitiate),
            (answer_name, Creator::Responder, Action::SessionAccept),
        ] {
            let sdp = fixture(name);
            let j = sdp_to_jingle(&sdp, action.clone(), creator)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let mids = mids(&sdp);
            assert_eq!(j.action, action);
            let names: Vec<&str> = j.contents.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(names, mids.iter().map(String::as_str).collect::<Vec<_>>());
            assert_eq!(
                j.groups,
                [Group {
                    semantics: "BUNDLE".into(),
                    contents: mids.clone().into_iter().collect()
                }]
            );
            let all_ssrcs = ssrcs(&sdp);
            let mut seen_ssrcs = Vec::new();
            for (i, c) in j.contents.iter().enumerate() {
                assert_eq!(c.creator, Some(creator), "{name}");
                // str0m offers sendonly and answers recvonly.
                let senders = match creator {
                    Creator::Initiator => Senders::Initiator,
                    Creator::Responder => Senders::Responder,
                };
                assert_eq!(c.senders, Some(senders), "{name}");

                let d = description(&j, i);
                assert!(d.rtcp_mux);
                assert!(d.extmap_allow_mixed, "session-level a=extmap-allow-mixed");
                assert!(d
                    .hdrexts
                    .iter()
                    .any(|h| h.uri == "urn:ietf:params:rtp-hdrext:sdes:mid"));
                match d.media.as_ref() {
                    "audio" => {
                        let opus = pt(d, 111);
                        assert_eq!(
                            (opus.name.as_str(), opus.clockrate, opus.channels),
                            ("opus", Some(48000), Some(2))
                        );
                        assert!(opus
                            .parameters
                            .contains(&Parameter::new("useinbandfec", "1")));
                        assert!(opus.rtcp_fbs.iter().any(|f| f.kind == "transport-cc"));
                    }
                    "video" => {
                        let vp8 = pt(d, 96);
                        assert_eq!(
                            (vp8.name.as_str(), vp8.clockrate, vp8.channels),
                            ("VP8", Some(90000), Some(1))
                        );
                        assert!(vp8
                            .rtcp_fbs
                            .iter()
                            .any(|f| f.kind == "nack" && f.subtype.as_deref() == Some("pli")));
                        assert!(vp8
                            .rtcp_fbs
                            .iter()
                            .any(|f| f.kind == "ccm" && f.subtype.as_deref() == Some("fir")));
                        let rtx = pt(d, 97);
                        assert_eq!(rtx.name, "rtx");
                        assert_eq!(rtx.parameters, [Parameter::new("apt", "96")]);
                    }
                    other => panic!("unexpected media {other}"),
                }

                if creator == Creator::Initiator {
                    assert!(!d.sources.is_empty(), "{name}: str0m's offer has sources");
                    let track = if d.media == "audio" {
                        "track-a0"
                    } else {
                        "track-v0"
                    };
                    for s in &d.sources {
                        assert_eq!(s.msid(), Some(format!("stream-1 {track}").as_str()));
                        assert!(s.parameters.contains(&Parameter::new("cname", track)));
                        seen_ssrcs.push(s.ssrc);
                    }
                    if d.media == "video" {
                        assert_eq!(d.sources.len(), 2);
                        assert_eq!(d.ssrc_groups.len(), 1);
                        assert_eq!(d.ssrc_groups[0].semantics, "FID");
                        assert_eq!(
                            d.ssrc_groups[0].ssrcs,
                            [d.sources[0].ssrc, d.sources[1].ssrc]
                        );
                    }
                } else {
                    assert!(d.sources.is_empty(), "{name}: str0m's answer sends nothing");
                    assert!(d.ssrc_groups.is_empty());
                }

                let t = transport(&j, i);
                assert_eq!(t.ufrag.as_deref().map(str::len), Some(16));
                assert!(t.pwd.as_deref().is_some_and(|p| p.len() >= 22));
                let fp = t.fingerprint.as_ref().expect("fingerprint");
                assert_eq!(fp.hash, "sha-256");
                assert_eq!(fp.value.split(':').count(), 32);
                let setup = if creator == Creator::Initiator {
                    Setup::Actpass
                } else {
                    Setup::Passive
                };
                assert_eq!(fp.setup, Some(setup));
                // str0m puts its one candidate on the first m-line only.
                if i == 0 {
                    assert_eq!(t.candidates.len(), 1);
                    let c = &t.candidates[0];
                    assert_eq!(
                        (c.ip.as_str(), c.kind, c.protocol.as_ref()),
                        ("127.0.0.1", CandidateType::Host, "udp")
                    );
                    let port = if creator == Creator::Initiator {
                        5000
                    } else {
                        5001
                    };
                    assert_eq!(c.port, port);
                } else {
                    assert!(t.candidates.is_empty());
                }
            }
            seen_ssrcs.sort_unstable();
            let mut all = all_ssrcs.clone();
            all.sort_unstable();
            assert_eq!(seen_ssrcs, all, "{name}: every a=ssrc became a <source>");
        }
    }
}

#[test]
fn str0m_fixtures_are_a_fixed_point() {
    for (offer, answer) in FIXTURE_PAIRS {
        for (name, creator, action) in [
            (offer, Creator::Initiator, Action::SessionInitiate),
            (answer, Creator::Responder, Action::SessionAccept),
        ] {
            let j1 = sdp_to_jingle(&fixture(name), action.clone(), creator).expect("reads");
            let sdp2 = jingle_to_sdp(&j1, 99).expect("writes");
            parse_sdp(&sdp2);
            let j2 = sdp_to_jingle(&sdp2, action, creator).expect("reads again");
            assert_eq!(j1, j2, "{name}\n{sdp2}");
            assert_eq!(jingle_to_sdp(&j2, 99).expect("writes"), sdp2);
        }
    }
}

#[test]
fn str0m_offer_direction_seen_by_the_answerer() {
    // The Jingle written from str0m's sendonly offer turns back into a=sendonly, and its
    // recvonly answer into a=recvonly: the mapping is fixed, not role-relative.
    let j = sdp_to_jingle(
        &fixture("str0m-offer.sdp"),
        Action::SessionInitiate,
        Creator::Initiator,
    )
    .expect("reads");
    assert!(jingle_to_sdp(&j, 1)
        .expect("writes")
        .contains("\r\na=sendonly\r\n"));
    let j = sdp_to_jingle(
        &fixture("str0m-answer.sdp"),
        Action::SessionAccept,
        Creator::Responder,
    )
    .expect("reads");
    assert!(jingle_to_sdp(&j, 1)
        .expect("writes")
        .contains("\r\na=recvonly\r\n"));
}

// ---------------------------------------------------------------------------
// candidates

#[test]
fn vector_04_candidates_round_trip() {
    let j = vector_jingle("04-transport-info.sender-to-receiver.xml");
    let cands = &transport(&j, 0).candidates;
    assert_eq!(cands.len(), 2);
    for c in cands {
        let line = candidate_to_sdp(c);
        let back = candidate_from_sdp(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(
            back,
            Candidate {
                id: None,
                ..c.clone()
            },
            "{line}"
        );
    }
    assert_eq!(
        candidate_to_sdp(&cands[1]),
        "candidate:1025752750 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active generation 0 network-id 1"
    );
}

#[test]
fn candidate_strings_round_trip() {
    for (input, expected) in [
        (
            "a=candidate:842163049 1 udp 1677729535 203.0.113.7 61999 typ srflx raddr 192.168.1.20 rport 61999 generation 0 ufrag pEF9 network-id 1 network-cost 10",
            "candidate:842163049 1 udp 1677729535 203.0.113.7 61999 typ srflx raddr 192.168.1.20 rport 61999 generation 0 network-id 1",
        ),
        (
            "candidate:1 1 UDP 2122262783 2001:db8::1:2 50000 typ host generation 2",
            "candidate:1 1 udp 2122262783 2001:db8::1:2 50000 typ host generation 2",
        ),
        (
            "candidate:2 1 udp 2122260223 4d6a3c1e-1f2b-4c3d-9e8f-0a1b2c3d4e5f.local 54321 typ host generation 0",
            "candidate:2 1 udp 2122260223 4d6a3c1e-1f2b-4c3d-9e8f-0a1b2c3d4e5f.local 54321 typ host generation 0",
        ),
        (
            "candidate:3 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active generation 0 network-id 2",
            "candidate:3 1 tcp 1518280447 192.168.1.20 9 typ host tcptype active generation 0 network-id 2",
        ),
        (
            "candidate:4 1 tcp 1518214911 10.0.0.1 443 typ host tcptype passive",
            "candidate:4 1 tcp 1518214911 10.0.0.1 443 typ host tcptype passive generation 0",
        ),
        (
            "candidate:5 1 udp 41885439 198.51.100.9 3478 typ relay raddr 0.0.0.0 rport 0 generation 0",
            "candidate:5 1 udp 41885439 198.51.100.9 3478 typ relay raddr 0.0.0.0 rport 0 generation 0",
        ),
        (
            "candidate:fffeff7e32c583ef85edbb1a 1 udp 2130706175 127.0.0.1 5000 typ host ufrag BDHxMogeU1MEtMZa",
            "candidate:fffeff7e32c583ef85edbb1a 1 udp 2130706175 127.0.0.1 5000 typ host generation 0",
        ),
        (
            "a=candidate:3280562746 1 UDP 2122260223 127.0.0.1 46582 typ host generation 0 ufrag pEF9 network-id 1 network-cost 10\r\n",
            "candidate:3280562746 1 udp 2122260223 127.0.0.1 46582 typ host generation 0 network-id 1",
        ),
    ] {
        let c = candidate_from_sdp(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(candidate_to_sdp(&c), expected);
        assert_eq!(candidate_from_sdp(expected).expect("reads"), c);
        // The bare form (no prefix) reads the same.
        let bare = expected.strip_prefix("candidate:").expect("prefix");
        assert_eq!(candidate_from_sdp(bare).expect("reads"), c);
    }
    let srflx = candidate_from_sdp(
        "candidate:842163049 1 udp 1677729535 203.0.113.7 61999 typ srflx raddr 192.168.1.20 rport 61999",
    )
    .expect("reads");
    assert_eq!(srflx.kind, CandidateType::Srflx);
    assert_eq!(srflx.rel_addr.as_deref(), Some("192.168.1.20"));
    assert_eq!(srflx.rel_port, Some(61999));
}

#[test]
fn garbage_candidates_are_rejected() {
    for s in [
        "",
        "a=",
        "candidate:",
        "hello world",
        "candidate:1 1 udp 1 127.0.0.1 5000",
        "candidate:1 1 udp 1 127.0.0.1 5000 type host",
        "candidate:1 1 udp 1 127.0.0.1 5000 typ teleport",
        "candidate:1 0 udp 1 127.0.0.1 5000 typ host",
        "candidate:1 1 sctp 1 127.0.0.1 5000 typ host",
        "candidate:1 1 udp -1 127.0.0.1 5000 typ host",
        "candidate:1 1 udp 1 127.0.0.1 65536 typ host",
        "candidate:1 1 udp 1 a_b 5000 typ host",
        "candidate:1 1 udp 1 1.2.3.4 5000 typ srflx raddr",
        "candidate:1 1 udp 1 1.2.3.4 5000 typ srflx rport x",
        "candidate:1 1 tcp 1 1.2.3.4 9 typ host tcptype sideways",
        "candidate:f\u{0}o 1 udp 1 1.2.3.4 9 typ host",
    ] {
        assert!(candidate_from_sdp(s).is_err(), "{s:?} should fail");
    }
}

#[test]
fn a_written_candidate_stays_one_line_and_a_broken_one_is_refused() {
    let mut c = candidate_from_sdp("candidate:1 1 udp 1 1.2.3.4 5 typ host").expect("valid");
    c.foundation = "1\r\na=evil".into();
    let s = candidate_to_sdp(&c);
    assert!(!s.contains('\r') && !s.contains('\n'));
    let mut j = vector_01();
    j.contents[0]
        .transport
        .as_mut()
        .expect("transport")
        .candidates = vec![c];
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Invalid { .. })
    ));
}

#[test]
fn candidates_in_a_transport_become_sdp_lines_and_back() {
    let mut j = vector_jingle("01-session-initiate.sender-to-receiver.xml");
    let trickled = vector_jingle("04-transport-info.sender-to-receiver.xml");
    let cands = transport(&trickled, 0).candidates.clone();
    j.contents[0]
        .transport
        .as_mut()
        .expect("transport")
        .candidates = cands.clone();
    let sdp = jingle_to_sdp(&j, 3).expect("writes");
    assert!(sdp.contains("\r\na=candidate:3280562746 1 udp 2122260223 127.0.0.1 46582 typ host generation 0 network-id 1\r\n"));
    let back = sdp_to_jingle(&sdp, Action::SessionInitiate, Creator::Initiator).expect("reads");
    let expected: Vec<Candidate> = cands
        .into_iter()
        .map(|c| Candidate { id: None, ..c })
        .collect();
    assert_eq!(transport(&back, 0).candidates, expected);
}

// ---------------------------------------------------------------------------
// validation

fn vector_01() -> Jingle {
    vector_jingle("01-session-initiate.sender-to-receiver.xml")
}

#[test]
fn jingle_that_cannot_be_sdp_is_rejected() {
    let mut j = vector_01();
    j.contents[0]
        .description
        .as_mut()
        .expect("desc")
        .payload_types
        .clear();
    assert_eq!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Missing("payload types"))
    );

    let mut j = vector_01();
    j.contents[0]
        .description
        .as_mut()
        .expect("desc")
        .payload_types[0]
        .id = 128;
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Invalid { .. })
    ));

    let mut j = vector_01();
    j.groups[0].contents.push("nope".into());
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Invalid { value, .. }) if value == "nope"
    ));

    let mut j = vector_01();
    j.contents[0].transport.as_mut().expect("transport").ufrag = None;
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Missing(_))
    ));

    let mut j = vector_01();
    j.contents[0].transport = None;
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Missing(_))
    ));

    let mut j = vector_01();
    j.contents[0]
        .transport
        .as_mut()
        .expect("transport")
        .fingerprint = None;
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Missing(_))
    ));

    let mut j = vector_01();
    j.contents[0].description = None;
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Missing(_))
    ));

    // Values that would break the line structure.
    let mut j = vector_01();
    j.contents[0].transport.as_mut().expect("transport").pwd = Some("x\r\na=evil".into());
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Invalid { .. })
    ));
    let mut j = vector_01();
    j.contents[0].name = "0 1".into();
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Invalid { .. })
    ));
    let mut j = vector_01();
    j.contents[0]
        .description
        .as_mut()
        .expect("desc")
        .payload_types[1]
        .parameters[0]
        .value = "96;x=1".into();
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Invalid { .. })
    ));
    let mut j = vector_01();
    j.contents[0].description.as_mut().expect("desc").sources[0].parameters[0].value =
        "a\nb".into();
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Invalid { .. })
    ));
    let mut j = vector_01();
    j.contents[0]
        .transport
        .as_mut()
        .expect("transport")
        .fingerprint
        .as_mut()
        .expect("fp")
        .value = "not hex".into();
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Invalid { .. })
    ));
    let mut j = vector_01();
    let info = vector_jingle("04-transport-info.sender-to-receiver.xml");
    let mut bad = transport(&info, 0).candidates[0].clone();
    bad.ip = "127.0.0.1 9 typ relay".into();
    j.contents[0]
        .transport
        .as_mut()
        .expect("transport")
        .candidates
        .push(bad);
    assert!(matches!(
        jingle_to_sdp(&j, 1),
        Err(ConvertError::Invalid { .. })
    ));
}

#[test]
fn rejected_content_gets_port_zero_and_reads_back_rejected() {
    let mut j = vector_jingle("11-session-initiate.audio+video.sender-to-receiver.xml");
    j.contents[0].senders = Some(Senders::Rejected);
    j.contents[0].transport = None;
    let sdp = jingle_to_sdp(&j, 1).expect("writes");
    assert!(sdp.contains("m=audio 0 UDP/TLS/RTP/SAVPF"));
    let back = sdp_to_jingle(&sdp, Action::SessionInitiate, Creator::Initiator).expect("reads");
    assert_eq!(back.contents[0].senders, Some(Senders::Rejected));
    assert_eq!(back.contents[1].senders, Some(Senders::Initiator));
}

#[test]
fn str0m_style_rejected_m_line_without_codecs_is_a_fixed_point() {
    // str0m writes a rejected m-line as `m=<kind> 0 UDP/TLS/RTP/SAVPF 0` with no rtpmap.
    let answer = fixture("str0m-answer-av.sdp");
    let rejected: String = answer
        .split_inclusive("\r\n")
        .filter(|l| {
            !(l.starts_with("a=rtpmap:111 ")
                || l.starts_with("a=fmtp:111 ")
                || l.starts_with("a=rtcp-fb:111 "))
        })
        .map(|l| {
            if l.starts_with("m=audio ") {
                "m=audio 0 UDP/TLS/RTP/SAVPF 0\r\n"
            } else if l == "a=recvonly\r\n" {
                "a=inactive\r\n"
            } else {
                l
            }
        })
        .collect();
    let j = sdp_to_jingle(&rejected, Action::SessionAccept, Creator::Responder).expect("reads");
    assert_eq!(j.contents[0].senders, Some(Senders::Rejected));
    assert!(description(&j, 0).payload_types.is_empty());
    assert_eq!(j.contents[1].senders, Some(Senders::None));
    let sdp = jingle_to_sdp(&j, 1).expect("writes");
    assert!(sdp.contains("\r\nm=audio 0 UDP/TLS/RTP/SAVPF 0\r\n"));
    let j2 = sdp_to_jingle(&sdp, Action::SessionAccept, Creator::Responder).expect("reads");
    assert_eq!(j, j2);
}

#[test]
fn absent_senders_is_sendrecv() {
    let mut j = vector_01();
    j.contents[0].senders = None;
    let sdp = jingle_to_sdp(&j, 1).expect("writes");
    assert!(sdp.contains("\r\na=sendrecv\r\n"));
    let back = sdp_to_jingle(&sdp, Action::SessionInitiate, Creator::Initiator).expect("reads");
    assert_eq!(back.contents[0].senders, Some(Senders::Both));
}

#[test]
fn every_senders_and_hdrext_direction_round_trips() {
    for senders in [
        Senders::Both,
        Senders::Initiator,
        Senders::Responder,
        Senders::None,
    ] {
        let mut j = vector_01();
        j.contents[0].senders = Some(senders);
        let d = j.contents[0].description.as_mut().expect("desc");
        d.hdrexts[0].senders = Some(senders);
        let sdp = jingle_to_sdp(&j, 1).expect("writes");
        let back = sdp_to_jingle(&sdp, Action::SessionInitiate, Creator::Initiator).expect("reads");
        assert_eq!(back.contents[0].senders, Some(senders));
        assert_eq!(description(&back, 0).hdrexts[0].senders, Some(senders));
    }
    // lib-jitsi-meet's reading rule: an extmap sendonly is the responder's.
    let mut j = vector_01();
    let d = j.contents[0].description.as_mut().expect("desc");
    d.hdrexts[0].senders = Some(Senders::Responder);
    let sdp = jingle_to_sdp(&j, 1).expect("writes");
    assert!(sdp.contains("/sendonly "), "{sdp}");
}

#[test]
fn sdp_tokens_and_texts_are_checked() {
    // Tokens: no white space (Unicode too) and no control characters (C1 too).
    for (kind, ok) in [
        ("é", true),
        ("a b", false),
        ("a\u{3000}b", false),
        ("a\u{85}b", false),
    ] {
        let mut j = vector_01();
        let d = j.contents[0].description.as_mut().expect("desc");
        d.rtcp_fbs = vec![RtcpFb {
            kind: kind.into(),
            subtype: None,
        }];
        assert_eq!(jingle_to_sdp(&j, 1).is_ok(), ok, "rtcp-fb type {kind:?}");
    }
    // Texts: spaces are fine, control characters are not.
    for (value, ok) in [
        ("a b", true),
        ("a\r\nb", false),
        ("a\u{9f}b", false),
        ("a\u{7f}b", false),
    ] {
        let mut j = vector_01();
        let d = j.contents[0].description.as_mut().expect("desc");
        d.sources[0].parameters[0].value = value.into();
        assert_eq!(
            jingle_to_sdp(&j, 1).is_ok(),
            ok,
            "source parameter {value:?}"
        );
    }
    // What an error carries is cut to 64 bytes on a char boundary.
    let mut j = vector_01();
    let d = j.contents[0].description.as_mut().expect("desc");
    d.sources[0].parameters[0].value = format!("{}\n", "é".repeat(100));
    match jingle_to_sdp(&j, 1) {
        Err(ConvertError::Invalid { value, .. }) => {
            assert!(
                value.len() <= 64 && value.chars().all(|c| c == 'é'),
                "{value:?}"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn fingerprints_must_be_hex_groups() {
    for (hash, value, ok) in [
        ("sha-256", "AA:bb:09", true),
        ("sha-256", "AABB", true),
        ("sha-1", ":", true),
        ("sha-256", "", false),
        ("sha-256", "A", false),
        ("sha-256", "GG", false),
        ("sha-256", "AA:B", false),
        ("sha-256", "é0", false),
    ] {
        let mut j = vector_01();
        let t = j.contents[0].transport.as_mut().expect("transport");
        let fp = t.fingerprint.as_mut().expect("fp");
        (fp.hash, fp.value) = (hash.into(), value.into());
        assert_eq!(jingle_to_sdp(&j, 1).is_ok(), ok, "{hash} {value:?}");
    }
}

fn replace_line(sdp: &str, prefix: &str, with: Option<&str>) -> String {
    let mut out = String::new();
    for line in sdp.split_inclusive("\r\n") {
        if line.starts_with(prefix) {
            if let Some(w) = with {
                out.push_str(w);
                out.push_str("\r\n");
            }
        } else {
            out.push_str(line);
        }
    }
    out
}

#[test]
fn sdp_that_cannot_be_jingle_is_rejected() {
    let offer = fixture("str0m-offer.sdp");
    let read = |sdp: &str| sdp_to_jingle(sdp, Action::SessionInitiate, Creator::Initiator);
    assert!(read(&offer).is_ok());

    assert!(matches!(read("hello"), Err(ConvertError::Sdp(_))));
    assert!(matches!(read(""), Err(ConvertError::Sdp(_))));
    assert!(matches!(
        read(&replace_line(&offer, "a=group:", Some("a=group:BUNDLE Ls1 ghost"))),
        Err(ConvertError::Invalid { value, .. }) if value == "ghost"
    ));
    assert!(matches!(
        read(&replace_line(&offer, "a=ice-ufrag:", None)),
        Err(ConvertError::Missing(_))
    ));
    assert!(matches!(
        read(&replace_line(&offer, "a=ice-pwd:", None)),
        Err(ConvertError::Missing(_))
    ));
    assert!(matches!(
        read(&replace_line(&offer, "a=fingerprint:", None)),
        Err(ConvertError::Missing(_))
    ));
    assert!(matches!(
        read(&replace_line(&offer, "a=mid:", None)),
        Err(ConvertError::Missing(_))
    ));
    assert!(matches!(
        read(&replace_line(&offer, "a=rtpmap:", None)),
        Err(ConvertError::Missing(_))
    ));
    assert!(matches!(
        read(&replace_line(
            &offer,
            "m=video",
            Some("m=video 9 UDP/TLS/RTP/SAVPF 200")
        )),
        Err(ConvertError::Invalid { .. })
    ));
    assert!(matches!(
        read(&replace_line(
            &offer,
            "a=candidate:",
            Some("a=candidate:garbage")
        )),
        Err(ConvertError::Invalid { .. }) | Err(ConvertError::Missing(_))
    ));
    assert!(matches!(
        read(&replace_line(&offer, "a=setup:", Some("a=setup:sideways"))),
        Err(ConvertError::Invalid { .. })
    ));
    // A transport-info-like conversion does not need credentials.
    let no_creds = replace_line(
        &replace_line(&offer, "a=ice-ufrag:", None),
        "a=fingerprint:",
        None,
    );
    assert!(sdp_to_jingle(&no_creds, Action::TransportInfo, Creator::Initiator).is_ok());
}

#[test]
fn session_level_credentials_are_the_fallback() {
    let offer = fixture("str0m-offer.sdp");
    let j = sdp_to_jingle(&offer, Action::SessionInitiate, Creator::Initiator).expect("reads");
    let t = transport(&j, 0).clone();
    let fp = t.fingerprint.clone().expect("fp");
    // Move ufrag/pwd/fingerprint/setup to the session section.
    let mut moved = String::new();
    let mut session_extra = String::new();
    for line in offer.split_inclusive("\r\n") {
        if ["a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:", "a=setup:"]
            .iter()
            .any(|p| line.starts_with(p))
        {
            session_extra.push_str(line);
        } else {
            moved.push_str(line);
            if line.starts_with("t=") {
                moved.push_str("%SESSION%");
            }
        }
    }
    let moved = moved.replace("%SESSION%", &session_extra);
    let j2 = sdp_to_jingle(&moved, Action::SessionInitiate, Creator::Initiator).expect("reads");
    let t2 = transport(&j2, 0);
    assert_eq!(t2.ufrag, t.ufrag);
    assert_eq!(t2.pwd, t.pwd);
    assert_eq!(t2.fingerprint.as_ref(), Some(&fp));
}

#[test]
fn media_level_msid_is_used_when_ssrc_lines_have_none() {
    let offer = fixture("str0m-offer.sdp");
    let without: String = offer
        .split_inclusive("\r\n")
        .filter(|l| !(l.starts_with("a=ssrc:") && l.contains(" msid:")))
        .collect();
    let j = sdp_to_jingle(&without, Action::SessionInitiate, Creator::Initiator).expect("reads");
    let d = description(&j, 0);
    assert_eq!(d.sources.len(), 2);
    for s in &d.sources {
        assert_eq!(s.msid(), Some("stream-1 track-v0"));
    }
}

// ---------------------------------------------------------------------------
// robustness

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn candidate_from_sdp_never_panics(s in ".{0,200}") {
        let _ = candidate_from_sdp(&s);
    }

    #[test]
    fn candidate_like_strings_never_panic(
        words in proptest::collection::vec(
            prop_oneof![
                Just("candidate:1".to_owned()), Just("typ".to_owned()), Just("host".to_owned()),
                Just("raddr".to_owned()), Just("rport".to_owned()), Just("udp".to_owned()),
                "[0-9]{1,12}", "[a-z0-9:.]{1,20}",
            ],
            0..16,
        )
    ) {
        let _ = candidate_from_sdp(&words.join(" "));
    }

    #[test]
    fn sdp_to_jingle_never_panics_on_mangled_fixtures(
        fixture_index in 0usize..4,
        edits in proptest::collection::vec((0usize..400, ".{0,40}"), 1..6),
    ) {
        let names = ["str0m-offer.sdp", "str0m-answer.sdp", "str0m-offer-av.sdp", "str0m-answer-av.sdp"];
        let mut lines: Vec<String> = fixture(names[fixture_index]).split("\r\n").map(str::to_owned).collect();
        for (at, text) in edits {
            let i = at % lines.len();
            lines[i] = text;
        }
        let sdp = lines.join("\r\n");
        if let Ok(j) = sdp_to_jingle(&sdp, Action::SessionInitiate, Creator::Initiator) {
            // Whatever was accepted converts back without panicking.
            let _ = jingle_to_sdp(&j, 1);
        }
    }

    #[test]
    fn generated_candidates_round_trip(
        foundation in "[a-zA-Z0-9+/]{1,32}",
        component in 1u8..=2,
        tcp in any::<bool>(),
        priority in any::<u32>(),
        v6 in any::<bool>(),
        a in any::<[u8; 16]>(),
        port in any::<u16>(),
        kind in 0usize..4,
        rel in any::<Option<([u8; 4], u16)>>(),
        generation in any::<u32>(),
        network in any::<Option<u32>>(),
    ) {
        let ip = if v6 {
            std::net::Ipv6Addr::from(a).to_string()
        } else {
            std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string()
        };
        let kinds = [CandidateType::Host, CandidateType::Srflx, CandidateType::Prflx, CandidateType::Relay];
        let c = Candidate {
            foundation,
            component,
            protocol: if tcp { "tcp".into() } else { "udp".into() },
            priority,
            ip,
            port,
            kind: kinds[kind],
            generation: Some(generation),
            network,
            id: None,
            rel_addr: rel.map(|(r, _)| std::net::Ipv4Addr::from(r).to_string()),
            rel_port: rel.map(|(_, p)| p),
            tcptype: tcp.then(|| "passive".to_owned()).map(Into::into),
        };
        let line = candidate_to_sdp(&c);
        prop_assert_eq!(candidate_from_sdp(&line).expect("reads"), c);
    }
}

// ---------------------------------------------------------------------------
// property: any Jingle in the dialect survives Jingle -> SDP -> Jingle

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn dialect_jingle_survives_sdp((j, creator) in model::sdp::exact_session()) {
        let sdp = jingle_to_sdp(&j, 5).map_err(|e| TestCaseError::fail(e.to_string()))?;
        parse_sdp(&sdp);
        let back = sdp_to_jingle(&sdp, j.action.clone(), creator)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{sdp}")))?;
        prop_assert_eq!(&back, &j, "{}", sdp);
    }
}
