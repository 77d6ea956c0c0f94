//! The parser and writer against the real lib-jitsi-meet messages in
//! `tests/vectors`: everything parses, the parsed values are what
//! the messages say, and writing a parsed message gives back the same bytes.

mod common;

use proxy_core::jingle::{
    Action, Candidate, CandidateType, Content, Creator, Fingerprint, IceUdpTransport, Jingle,
    Parameter, PayloadType, Reason, RtcpFb, RtpDescription, RtpHdrext, Senders, Setup, Source,
    SsrcGroup,
};
use proxy_core::{parse_iq, write_iq, write_iq_into, ErrorType, Iq, IqType, Limits, StanzaError};

const SENDER: &str = "sender@example.com/s1";
const RECEIVER: &str = "receiver@example.com/r1";

use common::{description, pt, transport, vector, vectors_dir};

fn xml_vectors() -> Vec<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir(vectors_dir())
        .expect("vectors dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| (vector(&n), n))
        .map(|(x, n)| (n, x))
        .collect()
}

/// Decodes one JSON string starting just after its opening quote; returns the
/// string and the rest after the closing quote.
fn json_string(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, &s[i + 1..]),
            '\\' => match chars.next().map(|(_, c)| c) {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some('u') => {
                    let hex: String = (0..4)
                        .filter_map(|_| chars.next().map(|(_, c)| c))
                        .collect();
                    let code = u32::from_str_radix(&hex, 16).expect("\\u escape");
                    out.push(char::from_u32(code).expect("no surrogates in the vectors"));
                }
                Some(other) => out.push(other),
                None => panic!("dangling backslash"),
            },
            c => out.push(c),
        }
    }
    panic!("unterminated JSON string")
}

/// The top-level `"key":"…"` string fields of one JSON-lines record.
fn json_field(line: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\":\"");
    let start = line.find(&needle)? + needle.len();
    Some(json_string(&line[start..]).0)
}

/// `(file:seq, action, iq)` of every message in the `.jsonl` session logs.
fn jsonl_messages() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for file in ["happy.jsonl", "audio-video.jsonl"] {
        for (n, line) in vector(file).lines().enumerate() {
            if let Some(iq) = json_field(line, "iq") {
                let action = json_field(line, "action").unwrap_or_default();
                out.push((format!("{file}:{}", n + 1), action, iq));
            }
        }
    }
    out
}

/// Parsed and owned, so that tests may parse temporaries.
fn parse(xml: &str) -> Iq {
    parse_iq(xml, &Limits::default()).unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

fn jingle(xml: &str) -> Jingle {
    parse(xml).jingle.expect("a <jingle>")
}

fn fb<'a>(kind: &'a str, subtype: Option<&'a str>) -> RtcpFb {
    RtcpFb {
        kind: kind.into(),
        subtype: subtype.map(Into::into),
    }
}

#[test]
fn every_xml_vector_parses_to_a_set_with_jingle() {
    let vectors = xml_vectors();
    assert_eq!(vectors.len(), 9, "the README lists nine .xml vectors");
    for (name, xml) in &vectors {
        let iq = parse_iq(xml, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(iq.kind, IqType::Set, "{name}");
        assert!(
            iq.to.is_some() && iq.id.is_none() && iq.from.is_none(),
            "{name}"
        );
        assert!(iq.jingle.is_some() && iq.error.is_none(), "{name}");
    }
}

#[test]
fn every_jsonl_message_parses_with_the_logged_action() {
    let messages = jsonl_messages();
    assert_eq!(messages.len(), 12);
    for (at, action, iq) in &messages {
        let j = parse_iq(iq, &Limits::default())
            .unwrap_or_else(|e| panic!("{at}: {e}"))
            .jingle
            .expect("a <jingle>");
        assert_eq!(j.action.as_str(), action, "{at}");
    }
}

#[test]
fn vector_01_session_initiate() {
    let iq = parse(&vector("01-session-initiate.sender-to-receiver.xml"));
    assert_eq!(iq.to.as_deref(), Some(RECEIVER));
    let j = iq.jingle.expect("jingle");
    assert_eq!(j.action, Action::SessionInitiate);
    assert_eq!((j.sid.as_deref(), j.initiator.as_deref()), (None, None));
    assert_eq!(j.groups.len(), 1);
    assert_eq!(j.groups[0].semantics, "BUNDLE");
    assert_eq!(j.groups[0].contents, ["0"]);
    assert_eq!(j.contents.len(), 1);
    let c = &j.contents[0];
    assert_eq!(c.name, "0");
    assert_eq!(c.creator, Some(Creator::Initiator));
    assert_eq!(c.senders, Some(Senders::Initiator));

    let d = description(&j, 0);
    assert_eq!(d.media, "video");
    assert_eq!(d.ssrc, None);
    assert_eq!(d.payload_types.len(), 23);
    let vp8 = &d.payload_types[0];
    assert_eq!((vp8.id, vp8.name.as_str()), (96, "VP8"));
    assert_eq!((vp8.clockrate, vp8.channels), (Some(90000), Some(1)));
    assert_eq!(
        vp8.rtcp_fbs,
        [
            fb("goog-remb", None),
            fb("transport-cc", None),
            fb("ccm", Some("fir")),
            fb("nack", None),
            fb("nack", Some("pli")),
        ]
    );
    assert!(vp8.parameters.is_empty());
    assert_eq!(pt(d, 97).parameters, [Parameter::new("apt", "96")]);
    assert_eq!(
        pt(d, 102).parameters,
        [
            Parameter::new("level-asymmetry-allowed", "1"),
            Parameter::new("packetization-mode", "1"),
            Parameter::new("profile-level-id", "42001f"),
        ]
    );
    assert_eq!(pt(d, 120).name, "ulpfec");
    assert!(d.rtcp_fbs.is_empty());

    assert_eq!(d.sources.len(), 2);
    let msid = "-video-0-1 c087b08b-8b24-4651-915c-b1572a854ef6-1";
    for (source, ssrc) in d.sources.iter().zip([545198419, 2212192084]) {
        assert_eq!(source.ssrc, ssrc);
        assert_eq!(source.name.as_deref(), Some("peer-v0"));
        assert_eq!(
            source.video_type.as_ref().map(|v| v.as_str()),
            Some("desktop")
        );
        assert_eq!(source.msid(), Some(msid));
    }
    assert_eq!(
        d.ssrc_groups,
        [SsrcGroup {
            semantics: "FID".into(),
            ssrcs: vec![545198419, 2212192084],
        }]
    );
    assert!(d.rtcp_mux);
    assert_eq!(d.hdrexts.len(), 11);
    assert_eq!(
        d.hdrexts[0],
        RtpHdrext {
            id: 1,
            uri: "urn:ietf:params:rtp-hdrext:toffset".into(),
            senders: None,
        }
    );
    assert_eq!(d.hdrexts[10].id, 11);
    assert!(d.extmap_allow_mixed);

    let t = transport(&j, 0);
    assert_eq!(t.ufrag.as_deref(), Some("pEF9"));
    assert_eq!(t.pwd.as_deref(), Some("FjXjRoFfk4toNPZU49bihLry"));
    assert!(t.candidates.is_empty());
    assert_eq!(
        t.fingerprint,
        Some(Fingerprint {
            hash: "sha-256".into(),
            setup: Some(Setup::Actpass),
            required: None,
            cryptex: None,
            value: "21:46:27:1F:EC:FC:A2:88:03:88:85:2B:C3:A8:5B:27:B1:7A:B8:D1:E8:20:33:39:F3:A5:A5:3C:FB:D0:B9:8C".into(),
        })
    );
}

#[test]
fn vector_02_session_accept() {
    let j = jingle(&vector("02-session-accept.receiver-to-sender.xml"));
    assert_eq!(j.action, Action::SessionAccept);
    assert_eq!(j.initiator.as_deref(), Some(SENDER));
    assert_eq!(j.responder, None);
    let c = &j.contents[0];
    assert_eq!(
        (c.creator, c.senders),
        (Some(Creator::Responder), Some(Senders::Responder))
    );
    let d = description(&j, 0);
    assert!(d.sources.is_empty() && d.ssrc_groups.is_empty());
    assert_eq!(d.payload_types.len(), 23);
    let f = transport(&j, 0).fingerprint.as_ref().expect("fingerprint");
    assert_eq!(f.setup, Some(Setup::Active));
}

#[test]
fn vector_03_content_modify() {
    let j = jingle(&vector("03-content-modify.sender-to-receiver.xml"));
    assert_eq!(j.action, Action::ContentModify);
    assert_eq!(
        j.contents,
        [Content {
            name: "video".into(),
            creator: None,
            senders: Some(Senders::Both),
            description: None,
            transport: None,
        }]
    );
}

#[test]
fn vector_04_transport_info_candidates() {
    let j = jingle(&vector("04-transport-info.sender-to-receiver.xml"));
    assert_eq!(j.action, Action::TransportInfo);
    assert_eq!(j.contents[0].creator, Some(Creator::Initiator));
    assert_eq!(j.contents[0].senders, None);
    assert!(j.contents[0].description.is_none());
    let t = transport(&j, 0);
    assert_eq!(
        t.candidates,
        [
            Candidate {
                foundation: "3280562746".into(),
                component: 1,
                protocol: "udp".into(),
                priority: 2122260223,
                ip: "127.0.0.1".into(),
                port: 46582,
                kind: CandidateType::Host,
                generation: Some(0),
                network: Some(1),
                id: Some("m801m2rec1".into()),
                rel_addr: None,
                rel_port: None,
                tcptype: None,
            },
            Candidate {
                foundation: "1025752750".into(),
                component: 1,
                protocol: "tcp".into(),
                priority: 1518280447,
                ip: "127.0.0.1".into(),
                port: 9,
                kind: CandidateType::Host,
                generation: Some(0),
                network: Some(1),
                id: Some("e3717zhzsz".into()),
                rel_addr: None,
                rel_port: None,
                tcptype: Some("active".into()),
            },
        ]
    );
    let f = t.fingerprint.as_ref().expect("fingerprint");
    assert_eq!((f.required, f.setup), (Some(true), None));
}

#[test]
fn vector_05_transport_info_from_the_responder() {
    let j = jingle(&vector("05-transport-info.receiver-to-sender.xml"));
    assert_eq!(j.initiator.as_deref(), Some(SENDER));
    assert_eq!(j.contents[0].creator, Some(Creator::Responder));
    assert_eq!(transport(&j, 0).candidates.len(), 2);
}

#[test]
fn vector_06_and_09_connection_error_details() {
    let j = jingle(&vector(
        "06-connection-error-encountered.ice-failed.receiver-to-sender.xml",
    ));
    assert_eq!(j.action, Action::ConnectionErrorEncountered);
    assert_eq!(j.details.as_deref(), Some("xmpp.connection.ice.failed"));
    assert!(j.contents.is_empty() && j.reason.is_none());
    let j = jingle(&vector("09-rejection.receiver-to-intruder.xml"));
    assert_eq!(j.details.as_deref(), Some("rejected"));
}

#[test]
fn vector_11_audio_and_video() {
    let j = jingle(&vector(
        "11-session-initiate.audio+video.sender-to-receiver.xml",
    ));
    assert_eq!(j.groups[0].contents, ["0", "1"]);
    let audio = description(&j, 0);
    assert_eq!(audio.media, "audio");
    let opus = pt(audio, 111);
    assert_eq!(
        (opus.name.as_str(), opus.clockrate, opus.channels),
        ("opus", Some(48000), Some(2))
    );
    assert_eq!(opus.rtcp_fbs, [fb("transport-cc", None)]);
    // RED's value-only fmtp: `<parameter name="" value="111/111"/>`.
    assert_eq!(pt(audio, 63).parameters, [Parameter::new("", "111/111")]);
    assert_eq!(audio.sources.len(), 1);
    assert_eq!(audio.sources[0].name.as_deref(), Some("peer-a0"));
    assert_eq!(audio.sources[0].video_type, None);
    let video = description(&j, 1);
    assert_eq!(video.media, "video");
    assert_eq!(video.sources.len(), 2);
    assert!(video
        .sources
        .iter()
        .all(|s| s.name.is_none() && s.msid().is_some()));
    assert_eq!(video.hdrexts[0].id, 14);
}

#[test]
fn writing_a_parsed_vector_gives_back_its_bytes() {
    for (name, xml) in xml_vectors() {
        let written = write_iq(&parse(&xml));
        assert_eq!(written, xml, "{name}");
    }
    for (at, _, xml) in jsonl_messages() {
        assert_eq!(write_iq(&parse(&xml)), xml, "{at}");
    }
}

#[test]
fn writing_then_parsing_gives_an_equal_model() {
    for (name, xml) in xml_vectors() {
        let iq = parse(&xml);
        assert_eq!(parse(&write_iq(&iq)), iq, "{name}");
    }
}

#[test]
fn result_iq_is_self_closing() {
    let iq = Iq::result(SENDER, "abc");
    let xml = write_iq(&iq);
    assert_eq!(
        xml,
        r#"<iq to="sender@example.com/s1" id="abc" type="result" xmlns="jabber:client"/>"#
    );
    assert_eq!(parse(&xml), iq);
}

#[test]
fn error_iq_carries_both_conditions() {
    let iq = Iq::error(
        SENDER,
        "x1",
        StanzaError {
            kind: "cancel".into(),
            condition: "item-not-found".into(),
            jingle_condition: Some("unknown-session".into()),
            text: None,
        },
    );
    let xml = write_iq(&iq);
    assert_eq!(
        xml,
        concat!(
            r#"<iq to="sender@example.com/s1" id="x1" type="error" xmlns="jabber:client">"#,
            r#"<error type="cancel"><item-not-found xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>"#,
            r#"<unknown-session xmlns="urn:xmpp:jingle:errors:1"/></error></iq>"#
        )
    );
    assert_eq!(parse(&xml), iq);
}

#[test]
fn error_iq_from_a_server_with_text_and_extra_children() {
    let xml = concat!(
        "<iq xmlns='jabber:client' type='error' id='7' from='a@b/c' to='d@e/f'>",
        "<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='s'/>",
        "<error type='modify' by='b'><bad-request xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>",
        "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>no &amp; never</text>",
        "<out-of-order xmlns='urn:xmpp:jingle:errors:1'/><x xmlns='urn:other'/></error></iq>"
    );
    let iq = parse(xml);
    assert_eq!(iq.kind, IqType::Error);
    assert_eq!(iq.from.as_deref(), Some("a@b/c"));
    assert_eq!(
        iq.jingle.as_ref().map(|j| j.sid.as_deref()),
        Some(Some("s"))
    );
    assert_eq!(
        iq.error,
        Some(StanzaError {
            kind: "modify".into(),
            condition: "bad-request".into(),
            jingle_condition: Some("out-of-order".into()),
            text: Some("no & never".into()),
        })
    );
    assert_eq!(parse(&write_iq(&iq)), iq);
}

#[test]
fn session_terminate_with_reason_round_trips() {
    let mut j = Jingle::new(Action::SessionTerminate);
    j.sid = Some("s1".into());
    j.initiator = Some(SENDER.into());
    j.responder = Some(RECEIVER.into());
    j.reason = Some(Reason {
        condition: "failed-transport".into(),
        text: Some("ICE <failed> & \"gone\" 'now'".into()),
    });
    let iq = Iq::set(RECEIVER, j);
    let xml = write_iq(&iq);
    assert!(xml.starts_with(concat!(
        r#"<iq to="receiver@example.com/r1" type="set" xmlns="jabber:client">"#,
        r#"<jingle action="session-terminate" initiator="sender@example.com/s1" "#,
        r#"responder="receiver@example.com/r1" sid="s1" xmlns="urn:xmpp:jingle:1">"#,
        "<reason><failed-transport/><text>ICE &lt;failed&gt; &amp; &quot;gone&quot; &apos;now&apos;</text></reason>"
    )));
    assert_eq!(parse(&xml), iq);
}

#[test]
fn attribute_values_are_escaped_and_unescaped() {
    let mut j = Jingle::new(Action::TransportInfo);
    j.sid = Some("a&b<c>d\"e'f\tg\nh\ri".into());
    j.contents.push(Content {
        name: "mid \"0\"".into(),
        transport: Some(IceUdpTransport {
            ufrag: Some("u&".into()),
            pwd: Some("p<>".into()),
            fingerprint: None,
            candidates: Vec::new(),
        }),
        ..Content::default()
    });
    let iq = Iq::set("x'y\"z@example.com", j);
    let xml = write_iq(&iq);
    assert!(
        xml.contains(r#"sid="a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i""#),
        "{xml}"
    );
    assert!(xml.contains(r#"to="x&apos;y&quot;z@example.com""#), "{xml}");
    assert_eq!(parse(&xml), iq);
}

#[test]
fn characters_xml_cannot_carry_are_written_as_u_fffd() {
    let mut j = Jingle::new(Action::TransportInfo);
    j.sid = Some("i é\u{1}\u{ffff}".into());
    let xml = write_iq(&Iq::set("a@b", j));
    assert!(xml.contains("sid=\"i é\u{fffd}\u{fffd}\""), "{xml}");
}

#[test]
fn invalid_condition_names_are_replaced() {
    let mut j = Jingle::new(Action::SessionTerminate);
    j.reason = Some(Reason::new("x/><evil"));
    let xml = write_iq(&Iq::set("a@b", j));
    assert!(xml.contains("<reason><general-error/></reason>"), "{xml}");
    let mut error = StanzaError::new(ErrorType::Cancel, "<".into());
    error.jingle_condition = Some(" ".into());
    let xml = write_iq(&Iq::error("a@b", "1", error));
    assert!(
        xml.contains("<error type=\"cancel\"><undefined-condition xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error>"),
        "{xml}"
    );
}

#[test]
fn write_iq_into_appends_to_what_is_there() {
    let mut out = String::from("prefix:");
    write_iq_into(&Iq::result("a@b", "1"), &mut out);
    assert_eq!(
        out,
        "prefix:<iq to=\"a@b\" id=\"1\" type=\"result\" xmlns=\"jabber:client\"/>"
    );
}

#[test]
fn rarely_used_fields_round_trip() {
    let mut j = Jingle::new(Action::SessionInitiate);
    j.contents.push(Content {
        name: "0".into(),
        creator: Some(Creator::Initiator),
        senders: Some(Senders::Rejected),
        description: Some(RtpDescription {
            media: "audio".into(),
            ssrc: Some(4_294_967_295),
            payload_types: vec![PayloadType {
                id: 127,
                name: String::new(),
                clockrate: Some(8000),
                channels: None,
                ptime: Some(20),
                maxptime: Some(120),
                parameters: vec![],
                rtcp_fbs: vec![],
                rtcp_fb_trr_int: Some(100),
            }],
            rtcp_fbs: vec![fb("nack", None)],
            sources: vec![Source {
                ssrc: 1,
                name: None,
                video_type: None,
                parameters: vec![],
            }],
            ssrc_groups: vec![SsrcGroup {
                semantics: "SIM".into(),
                ssrcs: vec![],
            }],
            rtcp_mux: false,
            hdrexts: vec![RtpHdrext {
                id: 255,
                uri: "urn:x".into(),
                senders: Some(Senders::Initiator),
            }],
            extmap_allow_mixed: false,
        }),
        transport: Some(IceUdpTransport {
            ufrag: None,
            pwd: None,
            fingerprint: Some(Fingerprint {
                hash: "sha-1".into(),
                setup: Some(Setup::Holdconn),
                required: None,
                cryptex: Some(true),
                value: "AB:CD".into(),
            }),
            candidates: vec![Candidate {
                foundation: "1".into(),
                component: 2,
                protocol: "udp".into(),
                priority: 0,
                ip: "host.local".into(),
                port: 65535,
                kind: CandidateType::Relay,
                generation: None,
                network: None,
                id: None,
                rel_addr: Some("10.0.0.1".into()),
                rel_port: Some(0),
                tcptype: None,
            }],
        }),
    });
    j.details = Some(String::new());
    let iq = Iq::set(RECEIVER, j);
    let xml = write_iq(&iq);
    assert!(xml.contains(
        r#"<fingerprint hash="sha-1" xmlns="urn:xmpp:jingle:apps:dtls:0" setup="holdconn" cryptex="true">AB:CD</fingerprint><candidate "#
    ), "{xml}");
    assert!(xml
        .contains(r#"<rtcp-fb-trr-int value="100" xmlns="urn:xmpp:jingle:apps:rtp:rtcp-fb:0"/>"#));
    assert!(xml.contains(r#"rel-addr="10.0.0.1" rel-port="0""#));
    assert_eq!(parse(&xml), iq);
}

#[test]
fn unknown_elements_and_attributes_are_ignored() {
    let xml = concat!(
        "<iq xmlns='jabber:client' type='set' to='a@b/c' extra='1'>",
        "<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' foo='bar'>",
        "<bridge-session xmlns='http://jitsi.org/protocol/focus' id='x'><deep><deeper/></deep></bridge-session>",
        "<unknown-in-jingle-ns/>",
        "<content name='0' creator='initiator' x:y='z' xmlns:x='urn:x'>",
        "<initial-last-n xmlns='jitsi:colibri2' value='3'/>",
        "<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p' other='o'>",
        "<sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1' number='5000'/>",
        "<candidate foundation='1' component='1' protocol='UDP' priority='1' ip='::1' port='1' type='srflx' future='x'/>",
        "</transport></content>",
        "  <!-- a comment -->\n",
        "</jingle></iq>"
    );
    let j = jingle(xml);
    assert_eq!(j.contents.len(), 1);
    let t = transport(&j, 0);
    assert_eq!(t.candidates.len(), 1);
    assert_eq!(t.candidates[0].protocol, "udp", "protocol is lower-cased");
    assert_eq!(t.candidates[0].kind, CandidateType::Srflx);
}

#[path = "prop_support/model.rs"]
mod model;

mod model_round_trip {
    //! Any model the writer can express parses back to itself (text of any
    //! printable character; `properties.rs` runs the same with markup-heavy text).

    use proptest::prelude::*;

    use crate::model::{iq, Text};
    use proxy_core::{parse_iq, write_iq, Limits};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn write_then_parse_is_identity(iq in iq(Text::Printable)) {
            let xml = write_iq(&iq);
            let back = parse_iq(&xml, &Limits::default());
            prop_assert_eq!(back, Ok(iq), "{}", xml);
        }
    }
}
