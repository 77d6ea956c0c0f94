//! Jingle actions a proxy connection does not act on (issue 10, part 6): each
//! valid XEP-0166 action we do not implement is refused with the error XEP-0166
//! gives for it (only when the IQ has an id) and reported as unsupported; an
//! empty session-info is a ping; an action XEP-0166 does not define is a
//! bad request.
//!
//! The service is the responder of a negotiated lib-jitsi-meet session with
//! SENDER (whose messages carry no sid), unless said otherwise.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::jingle::Action;
use proxy_core::{Error, Output, ParseError, ProxyConnectionService};

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
            Output::Send { to, iq } => raw.sent.push((to, iq)),
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
