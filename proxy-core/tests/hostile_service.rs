//! A catalogue of hostile inputs fed to a service in the middle of a live
//! session with SENDER (as responder), each asserting the exact outcome: the
//! error reported, the reply sent (or none), and that the session is unchanged.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::jingle::Action;
use proxy_core::{
    EngineCommand, Error, Event, IqType, ParseError, ProtocolError, ProxyConnectionService,
};

/// What the service must answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Reply {
    None,
    /// connection-error-encountered / rejected to the sender.
    Rejection,
    /// `<iq type='error'>` with this defined condition.
    Error(&'static str),
    Result,
}

/// What the service must report.
#[derive(Debug, Clone, Copy)]
enum Report {
    Nothing,
    Malformed(fn(&ParseError) -> bool),
    Protocol(fn(&ProtocolError) -> bool),
}

struct Case {
    name: &'static str,
    from: &'static str,
    iq: String,
    report: Report,
    reply: Reply,
    /// Engine commands the message may cause (candidates handed on).
    commands: usize,
}

fn case(
    name: &'static str,
    from: &'static str,
    iq: impl Into<String>,
    report: Report,
    reply: Reply,
) -> Case {
    Case {
        name,
        from,
        iq: iq.into(),
        report,
        reply,
        commands: 0,
    }
}

const TI: &str = "04-transport-info.sender-to-receiver.xml";
const INIT: &str = "01-session-initiate.sender-to-receiver.xml";

fn jingle(action: &str, body: &str) -> String {
    format!("<iq type='set' xmlns='jabber:client'><jingle action='{action}' xmlns='urn:xmpp:jingle:1'>{body}</jingle></iq>")
}

fn candidate_iq(attrs: &str) -> String {
    jingle(
        "transport-info",
        &format!(
            "<content creator='initiator' name='0'><transport ufrag='a' pwd='b' xmlns='urn:xmpp:jingle:transports:ice-udp:1'>\
             <candidate foundation='1' component='1' protocol='udp' priority='1' id='c' generation='0' {attrs}/></transport></content>"
        ),
    )
}

fn with_id(iq: &str) -> String {
    iq.replacen("<iq ", "<iq id='h1' ", 1)
}

fn catalogue() -> Vec<Case> {
    use Reply as R;
    use Report::*;
    let ti = vector(TI);
    let init = vector(INIT);
    let mut cases = vec![
        // -- malformed: reported, no reply (no id can be trusted), nothing changes
        case("oversized", SENDER, format!("<iq>{}</iq>", "x".repeat(300 * 1024)), Malformed(|e| matches!(e, ParseError::TooLarge { .. })), R::None),
        case("deep nesting", SENDER, format!("<iq type='set' xmlns='jabber:client'>{}{}</iq>", "<a>".repeat(1000), "</a>".repeat(1000)), Malformed(|e| matches!(e, ParseError::TooDeep { .. })), R::None),
        case("doctype", SENDER, format!("<!DOCTYPE iq>{ti}"), Malformed(|e| matches!(e, ParseError::Forbidden { .. })), R::None),
        case("billion laughs", SENDER, "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;'>]><iq>&lol2;</iq>", Malformed(|e| matches!(e, ParseError::Forbidden { .. })), R::None),
        case("processing instruction", SENDER, format!("<?xml-stylesheet href='x'?>{ti}"), Malformed(|e| matches!(e, ParseError::Forbidden { .. })), R::None),
        case("undeclared entity", SENDER, "<iq type='set' xmlns='jabber:client'>&lol;</iq>", Malformed(|e| matches!(e, ParseError::Xml { .. })), R::None),
        case("wrong jingle namespace", SENDER, ti.replace("urn:xmpp:jingle:1", "urn:xmpp:jingle:0"), Malformed(|e| matches!(e, ParseError::Namespace { .. })), R::None),
        case("iq in the wrong namespace", SENDER, ti.replace("jabber:client", "jabber:server"), Malformed(|e| matches!(e, ParseError::Namespace { .. })), R::None),
        case("transport in the wrong namespace", SENDER, ti.replace("ice-udp:1", "raw-udp:1"), Malformed(|e| matches!(e, ParseError::Namespace { .. })), R::None),
        case("missing action", SENDER, ti.replace("action=\"transport-info\" ", ""), Malformed(|e| matches!(e, ParseError::MissingAttribute { attribute: "action", .. })), R::None),
        case("unknown action", SENDER, ti.replace("transport-info", "transport-bogus"), Malformed(|e| matches!(e, ParseError::UnknownAction(_))), R::None),
        case("duplicate contents", SENDER, jingle("transport-info", "<content name='0'/><content name='0'/>"), Malformed(|e| matches!(e, ParseError::DuplicateContent(_))), R::None),
        case("10,000 candidates", SENDER, jingle("transport-info", &format!("<content name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>{}</transport></content>", "<candidate foundation='1' component='1' protocol='udp' priority='1' ip='127.0.0.1' port='1' type='host'/>".repeat(10_000))), Malformed(|e| matches!(e, ParseError::TooLarge { .. } | ParseError::TooMany { .. })), R::None),
        case("65 candidates", SENDER, jingle("transport-info", &format!("<content name='0'><transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>{}</transport></content>", "<candidate foundation='1' component='1' protocol='udp' priority='1' ip='127.0.0.1' port='1' type='host'/>".repeat(65))), Malformed(|e| matches!(e, ParseError::TooMany { what: "candidates", .. })), R::None),
        case("port 70000", SENDER, candidate_iq("ip='127.0.0.1' port='70000' type='host'"), Malformed(|e| matches!(e, ParseError::InvalidAttribute { attribute: "port", .. })), R::None),
        case("negative priority", SENDER, candidate_iq("ip='127.0.0.1' port='1' type='host'").replace("priority='1'", "priority='-1'"), Malformed(|e| matches!(e, ParseError::InvalidAttribute { attribute: "priority", .. })), R::None),
        case("priority overflow", SENDER, candidate_iq("ip='127.0.0.1' port='1' type='host'").replace("priority='1'", "priority='4294967296'"), Malformed(|e| matches!(e, ParseError::InvalidAttribute { attribute: "priority", .. })), R::None),
        case("unknown candidate type", SENDER, candidate_iq("ip='127.0.0.1' port='1' type='bogus'"), Malformed(|e| matches!(e, ParseError::InvalidAttribute { attribute: "type", .. })), R::None),
        case("ssrc overflow", SENDER, init.replace("ssrc=\"545198419\"", "ssrc=\"4294967296\""), Malformed(|e| matches!(e, ParseError::InvalidAttribute { attribute: "ssrc", .. })), R::None),
        case("payload type 300", SENDER, init.replace("id=\"96\"", "id=\"300\""), Malformed(|e| matches!(e, ParseError::InvalidAttribute { .. })), R::None),
        case("empty message", SENDER, "", Malformed(|_| true), R::None),
        case("text only", SENDER, "hello", Malformed(|_| true), R::None),
        case("truncated", SENDER, ti[..ti.len() / 2].to_owned(), Malformed(|e| matches!(e, ParseError::Xml { .. })), R::None),
        case("mismatched tags", SENDER, "<iq type='set' xmlns='jabber:client'><jingle xmlns='urn:xmpp:jingle:1' action='transport-info'></iq></jingle>", Malformed(|e| matches!(e, ParseError::Xml { .. })), R::None),
        case("unquoted attribute", SENDER, "<iq xmlns='jabber:client' type=set/>", Malformed(|e| matches!(e, ParseError::Xml { .. })), R::None),
        case("not an iq", SENDER, "<message xmlns='jabber:client'/>", Malformed(|e| matches!(e, ParseError::UnexpectedElement { .. })), R::None),
        // -- well formed, but wrong: reported, answered where an id allows
        case("iq with no jingle, with id", SENDER, "<iq id='h1' type='set' xmlns='jabber:client'/>", Protocol(|e| matches!(e, ProtocolError::NoJingle(_))), R::Error("bad-request")),
        case("iq with no jingle, no id", SENDER, "<iq type='set' xmlns='jabber:client'/>", Protocol(|e| matches!(e, ProtocolError::NoJingle(_))), R::None),
        case("error iq from the peer", SENDER, "<iq type='error' id='x' xmlns='jabber:client'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>", Protocol(|e| matches!(e, ProtocolError::IqError { .. })), R::None),
        case("a second initiate from the peer", SENDER, with_id(&init), Protocol(|e| matches!(e, ProtocolError::DuplicateInitiate)), R::Error("conflict")),
        case("session-accept to a responder", SENDER, with_id(&vector("02-session-accept.receiver-to-sender.xml")), Protocol(|e| matches!(e, ProtocolError::UnexpectedAction { action: Action::SessionAccept, .. })), R::Error("unexpected-request")),
        case("sid mismatch", SENDER, with_id(&ti.replacen("<jingle ", "<jingle sid='other' ", 1)), Protocol(|e| matches!(e, ProtocolError::SidMismatch { .. })), R::Error("item-not-found")),
        case("candidate with a bad IP", SENDER, candidate_iq("ip='999.1.1.1' port='1' type='host'"), Protocol(|e| matches!(e, ProtocolError::Candidate(_))), R::None),
        case("candidate with markup for an IP", SENDER, candidate_iq("ip='&lt;script&gt;' port='1' type='host'"), Protocol(|e| matches!(e, ProtocolError::Candidate(_))), R::None),
        case("UDP candidate with port 0", SENDER, candidate_iq("ip='127.0.0.1' port='0' type='host'"), Protocol(|e| matches!(e, ProtocolError::Candidate(_))), R::None),
        case("candidate with an unknown protocol", SENDER, candidate_iq("ip='127.0.0.1' port='1' type='host'").replace("protocol='udp'", "protocol='sctp'"), Protocol(|e| matches!(e, ProtocolError::Candidate(_))), R::None),
        // -- others while the session is active: rejected, nothing changes
        case("initiate from a third party", INTRUDER, init.clone(), Protocol(|e| matches!(e, ProtocolError::Busy { .. })), R::Rejection),
        case("terminate from a third party", INTRUDER, jingle("session-terminate", "<reason><success/></reason>"), Protocol(|e| matches!(e, ProtocolError::Busy { .. })), R::None),
        case("rejection from a third party", INTRUDER, vector("09-rejection.receiver-to-intruder.xml"), Protocol(|e| matches!(e, ProtocolError::Busy { .. })), R::None),
        case("unavailable from a third party", INTRUDER, jingle("unavailable", ""), Protocol(|e| matches!(e, ProtocolError::Busy { .. })), R::None),
        case("transport-info from a third party", INTRUDER, ti.clone(), Protocol(|e| matches!(e, ProtocolError::Busy { .. })), R::Rejection),
        case("result from a third party", INTRUDER, "<iq type='result' id='1' xmlns='jabber:client'/>", Protocol(|e| matches!(e, ProtocolError::Busy { .. })), R::None),
        case("malformed from a third party", INTRUDER, "<iq", Malformed(|_| true), R::None),
    ];
    // -- accepted leniently: the session goes on
    let mut lenient = vec![
        case("prefixed elements", SENDER, "<x:iq type='set' xmlns:x='jabber:client'><j:jingle action='transport-info' xmlns:j='urn:xmpp:jingle:1'><j:content name='0'><t:transport xmlns:t='urn:xmpp:jingle:transports:ice-udp:1'><t:candidate foundation='1' component='1' protocol='udp' priority='1' ip='127.0.0.1' port='9' type='host'/></t:transport></j:content></j:jingle></x:iq>", Nothing, R::None),
        case("unknown elements and attributes", SENDER, ti.replace("<content ", "<foo xmlns='urn:x'><bar/></foo><content extra='1' "), Nothing, R::None),
        case("IPv6 candidate", SENDER, candidate_iq("ip='::1' port='5000' type='host'"), Nothing, R::None),
        case("mDNS candidate", SENDER, candidate_iq("ip='1f4712db-ea17-4bcf-a596-105139dfd8bf.local' port='5000' type='host'"), Nothing, R::None),
        case("content-modify with id", SENDER, with_id(&vector("03-content-modify.sender-to-receiver.xml")), Nothing, R::Result),
    ];
    lenient[0].commands = 1;
    lenient[1].commands = 2;
    lenient[2].commands = 1;
    lenient[3].commands = 1;
    cases.append(&mut lenient);
    cases
}

#[test]
fn every_hostile_input_has_its_exact_outcome_and_changes_nothing() {
    let cases = catalogue();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for c in cases {
        let t0 = Instant::now();
        let (mut s, _) = responder_negotiated(t0, config(1), false);
        let before = (
            s.peer().map(str::to_owned),
            s.sid().map(str::to_owned),
            s.is_active(),
        );
        s.handle_message(t0, msg(c.from, c.iq.clone()));
        let d = drain(&mut s);
        let name = c.name;
        // Reported as expected.
        let errors = d.errors();
        match c.report {
            Report::Nothing => assert!(errors.is_empty(), "{name}: {errors:?}"),
            Report::Malformed(f) => assert!(
                matches!(errors.as_slice(), [Error::Malformed { source, from }] if f(source) && from == c.from),
                "{name}: {errors:?}"
            ),
            Report::Protocol(f) => assert!(
                errors
                    .iter()
                    .any(|e| matches!(e, Error::Protocol { source, .. } if f(source))),
                "{name}: {errors:?}"
            ),
        }
        // Answered as expected.
        match c.reply {
            Reply::None => assert!(d.sent.is_empty(), "{name}: sent {:?}", d.sent),
            Reply::Rejection => {
                assert_eq!(d.sent.len(), 1, "{name}");
                let (to, iq) = &d.sent[0];
                assert_eq!(to, c.from, "{name}");
                let j = iq.jingle.as_ref().unwrap();
                assert_eq!(
                    (j.action.clone(), j.details.as_deref()),
                    (Action::ConnectionErrorEncountered, Some("rejected")),
                    "{name}"
                );
            }
            Reply::Error(condition) => {
                assert_eq!(d.sent.len(), 1, "{name}: {:?}", d.sent);
                let iq = &d.sent[0].1;
                assert_eq!(iq.kind, IqType::Error, "{name}");
                assert_eq!(iq.id.as_deref(), Some("h1"), "{name}");
                assert_eq!(iq.error.as_ref().unwrap().condition, condition, "{name}");
            }
            Reply::Result => {
                assert_eq!(d.sent.len(), 1, "{name}");
                assert_eq!(d.sent[0].1.kind, IqType::Result, "{name}");
            }
        }
        // Nothing else changed.
        assert_eq!(d.commands.len(), c.commands, "{name}: {:?}", d.commands);
        assert!(
            d.commands
                .iter()
                .all(|k| matches!(k, EngineCommand::AddRemoteCandidate { .. })),
            "{name}"
        );
        assert!(
            !d.events
                .iter()
                .any(|e| matches!(e, Event::ConnectionClosed { .. } | Event::RemoteTrack(_))),
            "{name}"
        );
        let after = (
            s.peer().map(str::to_owned),
            s.sid().map(str::to_owned),
            s.is_active(),
        );
        assert_eq!(before, after, "{name}: the session changed");
    }
}

#[test]
fn unusable_offers_create_no_session() {
    let init = vector(INIT);
    let cases: Vec<(&str, String, bool)> = vec![
        ("mids that do not match the group", init.replace("<group semantics=\"BUNDLE\" xmlns=\"urn:xmpp:jingle:apps:grouping:0\"><content name=\"0\"/>", "<group semantics=\"BUNDLE\" xmlns=\"urn:xmpp:jingle:apps:grouping:0\"><content name=\"7\"/>"), true),
        ("unknown fingerprint hash", init.replace("hash=\"sha-256\"", "hash=\"md2\""), false),
        ("no fingerprint", init.replace("<fingerprint", "<fingerprunt").replace("</fingerprint>", "</fingerprunt>"), false),
        ("no ICE credentials", init.replace(" pwd=\"FjXjRoFfk4toNPZU49bihLry\" ufrag=\"pEF9\"", ""), false),
        ("no contents", jingle("session-initiate", ""), false),
        ("no payload types", { let a = init.find("<payload-type").unwrap(); let b = init.find("<source").unwrap(); format!("{}{}", &init[..a], &init[b..]) }, true),
    ];
    for (name, iq, convert_error) in cases {
        let t0 = Instant::now();
        let mut s = ProxyConnectionService::new(config(2));
        s.handle_message(t0, msg(SENDER, with_id(&iq)));
        let d = drain(&mut s);
        assert!(!s.is_active(), "{name}");
        assert!(d.commands.is_empty(), "{name}: {:?}", d.commands);
        let errors = d.errors();
        if convert_error {
            assert!(
                matches!(errors.as_slice(), [Error::Convert(_)]),
                "{name}: {errors:?}"
            );
        } else {
            assert!(
                matches!(
                    errors.as_slice(),
                    [Error::Protocol {
                        source: ProtocolError::Unusable { .. },
                        ..
                    }]
                ),
                "{name}: {errors:?}"
            );
        }
        // bad-request to the IQ, then connection-error-encountered saying why.
        assert_eq!(d.sent.len(), 2, "{name}");
        assert_eq!(
            d.sent[0].1.error.as_ref().unwrap().condition,
            "bad-request",
            "{name}"
        );
        let refusal = d.sent[1].1.jingle.as_ref().expect("a jingle");
        assert_eq!(refusal.action, Action::ConnectionErrorEncountered, "{name}");
        assert_eq!(
            refusal.details.as_deref(),
            Some(proxy_core::NEGOTIATION_FAILED),
            "{name}"
        );
    }
}

#[test]
fn before_a_session() {
    let t0 = Instant::now();
    // transport-info before its initiate: kept, not answered, not an error yet.
    let mut s = ProxyConnectionService::new(config(3));
    s.handle_message(t0, msg(SENDER, vector(TI)));
    assert!(drain(&mut s).is_empty());
    assert!(s.poll_timeout().is_some(), "kept until it expires");
    // session-terminate with no session: error, unknown-session if it has an id.
    s.handle_message(
        t0,
        msg(
            SENDER,
            with_id(&jingle("session-terminate", "<reason><success/></reason>")),
        ),
    );
    let d = drain(&mut s);
    assert!(d.closed().is_empty(), "no close without a connection");
    assert_eq!(
        d.sent[0]
            .1
            .error
            .as_ref()
            .unwrap()
            .jingle_condition
            .as_ref()
            .map(|c| c.as_str()),
        Some("unknown-session")
    );
    // An initiate with an empty sender JID cannot start a session.
    s.handle_message(t0, msg("", vector(INIT)));
    let d = drain(&mut s);
    assert!(!s.is_active());
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::Unusable { .. },
            ..
        }
    ));
}
