//! Jingle actions a proxy connection does not act on (issue 10, part 6): each
//! valid XEP-0166 action we do not implement is refused with the error XEP-0166
//! gives for it (only when the IQ has an id) and reported as unsupported; an
//! empty session-info is a ping; an action XEP-0166 does not define is a
//! bad request; an offer we cannot use is refused with a reason.
//!
//! The service is the responder of a negotiated lib-jitsi-meet session with
//! SENDER (whose messages carry no sid), unless said otherwise.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::jingle::Action;
use proxy_core::{
    DescriptionProblem, Error, Missing, Output, ParseError, ProtocolError, ProxyConnectionService,
    NEGOTIATION_FAILED,
};

const STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// Everything one input produced: the raw stanzas sent, engine commands, events.
#[derive(Debug, Default)]
struct Raw {
    sent: Vec<(String, String)>,
    commands: usize,
    events: Vec<proxy_core::Event>,
}

fn drain_raw(s: &mut ProxyConnectionService) -> Raw {
    let mut raw = Raw::default();
    while let Some(o) = s.poll_output() {
        match o {
            Output::Iq(out) => raw.sent.push((out.to, out.iq)),
            Output::Engine(_) => raw.commands += 1,
            Output::Event(e) => raw.events.push(e),
        }
    }
    raw
}

/// A responder session with SENDER, its outputs drained.
fn session() -> (ProxyConnectionService, Instant) {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(7), false);
    drain(&mut s);
    assert!(s.is_active());
    (s, t0)
}

/// Sends `iq` from SENDER and checks the session goes on as it was.
fn feed(s: &mut ProxyConnectionService, t0: Instant, iq: &str) -> Raw {
    let before = (s.peer().map(str::to_owned), s.sid().map(str::to_owned));
    s.handle_message(t0, msg(SENDER, iq));
    let raw = drain_raw(s);
    let after = (s.peer().map(str::to_owned), s.sid().map(str::to_owned));
    assert_eq!(before, after, "the session changed for {iq}");
    assert_eq!(raw.commands, 0, "engine commands for {iq}");
    assert!(
        !raw.events
            .iter()
            .any(|e| matches!(e, proxy_core::Event::ConnectionClosed { .. })),
        "{iq} closed the session"
    );
    raw
}

/// The valid XEP-0166 actions we do not implement: the message (with
/// `id='u1'`) and the `<error>` it must get back, written out.
const UNSUPPORTED: [(Action, &str, &str); 10] = [
    (
        Action::SessionInfo,
        "<iq id='u1' type='set' xmlns='jabber:client'><jingle action='session-info' xmlns='urn:xmpp:jingle:1'><ringing xmlns='urn:xmpp:jingle:apps:rtp:1:info'/></jingle></iq>",
        "<error type=\"modify\"><feature-not-implemented xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/><unsupported-info xmlns=\"urn:xmpp:jingle:errors:1\"/></error>",
    ),
    (
        Action::DescriptionInfo,
        "<iq id='u1' type='set' xmlns='jabber:client'><jingle action='description-info' xmlns='urn:xmpp:jingle:1'><content creator='initiator' name='0'><description media='video' xmlns='urn:xmpp:jingle:apps:rtp:1'/></content></jingle></iq>",
        "<error type=\"modify\"><feature-not-implemented xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/><unsupported-info xmlns=\"urn:xmpp:jingle:errors:1\"/></error>",
    ),
    (
        Action::SecurityInfo,
        "<iq id='u1' type='set' xmlns='jabber:client'><jingle action='security-info' xmlns='urn:xmpp:jingle:1'><content creator='initiator' name='0'/></jingle></iq>",
        "<error type=\"cancel\"><feature-not-implemented xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error>",
    ),
    (
        Action::ContentAdd,
        "<iq id='u1' type='set' xmlns='jabber:client'><jingle action='content-add' xmlns='urn:xmpp:jingle:1'><content creator='initiator' name='1' senders='initiator'><description media='audio' xmlns='urn:xmpp:jingle:apps:rtp:1'><payload-type id='111' name='opus' clockrate='48000' channels='2'/></description></content></jingle></iq>",
        "<error type=\"cancel\"><feature-not-implemented xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error>",
    ),
    (
        Action::ContentRemove,
        "<iq id='u1' type='set' xmlns='jabber:client'><jingle action='content-remove' xmlns='urn:xmpp:jingle:1'><content creator='initiator' name='0'/></jingle></iq>",
        "<error type=\"cancel\"><feature-not-implemented xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error>",
    ),
    (
        Action::TransportReplace,
        "<iq id='u1' type='set' xmlns='jabber:client'><jingle action='transport-replace' xmlns='urn:xmpp:jingle:1'><content creator='initiator' name='0'><transport ufrag='x' pwd='y' xmlns='urn:xmpp:jingle:transports:ice-udp:1'/></content></jingle></iq>",
        "<error type=\"cancel\"><feature-not-implemented xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error>",
    ),
    (
        Action::ContentAccept,
        "<iq id='u1' type='set' xmlns='jabber:client'><jingle action='content-accept' xmlns='urn:xmpp:jingle:1'><content creator='responder' name='1'/></jingle></iq>",
        "<error type=\"cancel\"><unexpected-request xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/><out-of-order xmlns=\"urn:xmpp:jingle:errors:1\"/></error>",
    ),
    (
        Action::ContentReject,
        "<iq id='u1' type='set' xmlns='jabber:client'><jingle action='content-reject' xmlns='urn:xmpp:jingle:1'><content creator='responder' name='1'/></jingle></iq>",
        "<error type=\"cancel\"><unexpected-request xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/><out-of-order xmlns=\"urn:xmpp:jingle:errors:1\"/></error>",
    ),
    (
        Action::TransportAccept,
        "<iq id='u1' type='set' xmlns='jabber:client'><jingle action='transport-accept' xmlns='urn:xmpp:jingle:1'><content creator='responder' name='0'/></jingle></iq>",
        "<error type=\"cancel\"><unexpected-request xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/><out-of-order xmlns=\"urn:xmpp:jingle:errors:1\"/></error>",
    ),
    (
        Action::TransportReject,
        "<iq id='u1' type='set' xmlns='jabber:client'><jingle action='transport-reject' xmlns='urn:xmpp:jingle:1'><content creator='responder' name='0'/></jingle></iq>",
        "<error type=\"cancel\"><unexpected-request xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/><out-of-order xmlns=\"urn:xmpp:jingle:errors:1\"/></error>",
    ),
];

/// Exactly one `Error::Unsupported` from SENDER for `action`.
fn assert_unsupported(raw: &Raw, action: &Action) {
    assert!(
        matches!(
            raw.events.as_slice(),
            [proxy_core::Event::Error(Error::Unsupported { from, action: a, .. })]
                if from == SENDER && a == action
        ),
        "{action}: {:?}",
        raw.events
    );
}

#[test]
fn unsupported_actions_with_an_id_get_the_xep_0166_error() {
    for (action, iq, error) in UNSUPPORTED {
        let (mut s, t0) = session();
        let raw = feed(&mut s, t0, iq);
        assert_eq!(raw.sent.len(), 1, "{action}: {:?}", raw.sent);
        let (to, reply) = &raw.sent[0];
        assert_eq!(to, SENDER, "{action}");
        assert_eq!(
            reply,
            &format!(
                "<iq to=\"{SENDER}\" id=\"u1\" type=\"error\" xmlns=\"jabber:client\">{error}</iq>"
            ),
            "{action}"
        );
        assert_unsupported(&raw, &action);
    }
}

#[test]
fn unsupported_actions_without_an_id_get_no_reply() {
    for (action, iq, _) in UNSUPPORTED {
        let (mut s, t0) = session();
        let raw = feed(&mut s, t0, &iq.replace(" id='u1'", ""));
        assert!(raw.sent.is_empty(), "{action}: {:?}", raw.sent);
        assert_unsupported(&raw, &action);
    }
}

#[test]
fn the_event_names_the_action_the_sender_and_a_session_info_payload() {
    let (mut s, t0) = session();
    let raw = feed(&mut s, t0, UNSUPPORTED[0].1);
    let [proxy_core::Event::Error(e)] = raw.events.as_slice() else {
        panic!("{:?}", raw.events)
    };
    assert!(
        matches!(e, Error::Unsupported { payload: Some(p), .. } if p == "ringing"),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "sender@example.com/s1 sent session-info with <ringing/>, which a proxy connection \
         does not implement; refused, session unchanged"
    );
    let raw = feed(&mut s, t0, UNSUPPORTED[3].1);
    let [proxy_core::Event::Error(e)] = raw.events.as_slice() else {
        panic!("{:?}", raw.events)
    };
    assert_eq!(
        e.to_string(),
        "sender@example.com/s1 sent content-add, which a proxy connection does not implement; \
         refused, session unchanged"
    );
}

#[test]
fn an_empty_session_info_is_a_ping_answered_with_a_result() {
    let (mut s, t0) = session();
    let raw = feed(
        &mut s,
        t0,
        "<iq id='p1' type='set' xmlns='jabber:client'><jingle action='session-info' xmlns='urn:xmpp:jingle:1'/></iq>",
    );
    assert_eq!(
        raw.sent,
        [(
            SENDER.to_owned(),
            format!("<iq to=\"{SENDER}\" id=\"p1\" type=\"result\" xmlns=\"jabber:client\"/>")
        )]
    );
    assert!(raw.events.is_empty(), "{:?}", raw.events);
    // Without an id: nothing at all.
    let raw = feed(
        &mut s,
        t0,
        "<iq type='set' xmlns='jabber:client'><jingle action='session-info' xmlns='urn:xmpp:jingle:1'></jingle></iq>",
    );
    assert!(raw.sent.is_empty() && raw.events.is_empty(), "{raw:?}");
}

#[test]
fn a_ping_without_a_session_is_an_unknown_session() {
    let mut s = ProxyConnectionService::new(config(8));
    s.handle_message(
        Instant::now(),
        msg(
            SENDER,
            "<iq id='p1' type='set' xmlns='jabber:client'><jingle action='session-info' sid='gone' xmlns='urn:xmpp:jingle:1'/></iq>",
        ),
    );
    let raw = drain_raw(&mut s);
    assert_eq!(raw.sent.len(), 1, "{raw:?}");
    assert!(
        raw.sent[0].1.contains(&format!(
            "<error type=\"cancel\"><item-not-found xmlns=\"{STANZAS}\"/><unknown-session xmlns=\"urn:xmpp:jingle:errors:1\"/></error>"
        )),
        "{raw:?}"
    );
}

#[test]
fn an_action_xep_0166_does_not_define_is_a_bad_request_reported_as_malformed() {
    let iq = "<iq id='b1' type='set' xmlns='jabber:client'><jingle action='session-bogus' xmlns='urn:xmpp:jingle:1'/></iq>";
    // In a session and without one alike.
    let (mut s, t0) = session();
    let mut fresh = ProxyConnectionService::new(config(9));
    for s in [&mut s, &mut fresh] {
        s.handle_message(t0, msg(SENDER, iq));
        let raw = drain_raw(s);
        assert_eq!(
            raw.sent,
            [(
                SENDER.to_owned(),
                format!(
                    "<iq to=\"{SENDER}\" id=\"b1\" type=\"error\" xmlns=\"jabber:client\">\
                     <error type=\"modify\"><bad-request xmlns=\"{STANZAS}\"/></error></iq>"
                )
            )]
        );
        let [proxy_core::Event::Error(e)] = raw.events.as_slice() else {
            panic!("{:?}", raw.events)
        };
        assert!(
            matches!(e, Error::Malformed { from, source: ParseError::UnknownAction(a) }
                if from == SENDER && a == "session-bogus"),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "malformed message from sender@example.com/s1: unknown jingle action \
             'session-bogus'; message dropped, session unchanged"
        );
    }
    assert!(s.is_active() && !fresh.is_active());
    // Without an id: no reply; a long action is cut in the error.
    let long = "x".repeat(1000);
    let raw = feed(
        &mut s,
        t0,
        &format!("<iq type='set' xmlns='jabber:client'><jingle action='{long}' xmlns='urn:xmpp:jingle:1'/></iq>"),
    );
    assert!(raw.sent.is_empty(), "{:?}", raw.sent);
    assert!(
        matches!(raw.events.as_slice(), [proxy_core::Event::Error(Error::Malformed {
            source: ParseError::UnknownAction(a), ..
        })] if a.len() == 64),
        "{:?}",
        raw.events
    );
}

/// A lib-jitsi-meet offer with `id='o1'` and `edit` applied.
fn offer(edit: impl Fn(String) -> String) -> String {
    let init = vector("01-session-initiate.sender-to-receiver.xml");
    assert!(init.contains("<fingerprint") && init.contains(" ufrag=\"pEF9\""));
    edit(init).replacen("<iq ", "<iq id='o1' ", 1)
}

#[test]
fn an_unusable_offer_is_refused_with_a_reason_naming_what_is_missing() {
    let cases: [(String, DescriptionProblem, &str); 4] = [
        (
            offer(|i| i.replace("<fingerprint", "<fingerprunt").replace("</fingerprint>", "</fingerprunt>")),
            DescriptionProblem::Missing { missing: Missing::Fingerprint, content: "0".into() },
            "session-initiate has no DTLS fingerprint in content '0'",
        ),
        (
            offer(|i| i.replace(" ufrag=\"pEF9\"", "")),
            DescriptionProblem::Missing { missing: Missing::IceUfrag, content: "0".into() },
            "session-initiate has no ICE ufrag in content '0'",
        ),
        (
            offer(|i| i.replace("hash=\"sha-256\"", "hash=\"md5\"")),
            DescriptionProblem::UnknownHash { hash: "md5".into(), content: "0".into() },
            "session-initiate has a DTLS fingerprint with hash 'md5' in content '0', not one of \
             sha-1, sha-224, sha-256, sha-384, sha-512",
        ),
        (
            "<iq id='o1' type='set' xmlns='jabber:client'><jingle action='session-initiate' xmlns='urn:xmpp:jingle:1'/></iq>".into(),
            DescriptionProblem::NoContents,
            "session-initiate has no <content>",
        ),
    ];
    for (iq, problem, text) in cases {
        let mut s = ProxyConnectionService::new(config(10));
        s.handle_message(Instant::now(), msg(SENDER, iq));
        let raw = drain_raw(&mut s);
        assert!(!s.is_active(), "{text}");
        assert_eq!(raw.commands, 0, "{text}");
        // The IQ gets bad-request, then the peer is told why, as lib-jitsi-meet
        // tells it with connection-error-encountered.
        assert_eq!(
            raw.sent,
            [
                (
                    SENDER.to_owned(),
                    format!(
                        "<iq to=\"{SENDER}\" id=\"o1\" type=\"error\" xmlns=\"jabber:client\">\
                         <error type=\"modify\"><bad-request xmlns=\"{STANZAS}\"/></error></iq>"
                    )
                ),
                (
                    SENDER.to_owned(),
                    format!(
                        "<iq to=\"{SENDER}\" type=\"set\" xmlns=\"jabber:client\">\
                         <jingle action=\"connection-error-encountered\" xmlns=\"urn:xmpp:jingle:1\">\
                         <reason><failed-application/><text>{}</text></reason>\
                         <details>{NEGOTIATION_FAILED}</details></jingle></iq>",
                        text.replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&apos;")
                    )
                ),
            ],
            "{text}"
        );
        let [proxy_core::Event::Error(e)] = raw.events.as_slice() else {
            panic!("{:?}", raw.events)
        };
        assert!(
            matches!(e, Error::Protocol {
                from,
                source: ProtocolError::Unusable { action: Action::SessionInitiate, problem: p },
            } if from == SENDER && *p == problem),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!("peer sender@example.com/s1 misbehaved: {text}")
        );
    }
}

#[test]
fn an_unusable_offer_without_an_id_is_still_refused() {
    let iq = offer(|i| {
        i.replace("<fingerprint", "<fingerprunt")
            .replace("</fingerprint>", "</fingerprunt>")
    })
    .replace(" id='o1'", "");
    let mut s = ProxyConnectionService::new(config(11));
    s.handle_message(Instant::now(), msg(SENDER, iq));
    let d = drain(&mut s);
    assert_eq!(d.sent.len(), 1, "{:?}", d.sent);
    let j = d.sent[0].1.jingle.as_ref().expect("a jingle");
    assert_eq!(j.action, Action::ConnectionErrorEncountered);
    assert_eq!(j.details.as_deref(), Some(NEGOTIATION_FAILED));
}
