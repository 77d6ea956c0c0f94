//! How a session ends: a local stop, the peer's session-terminate, connection-
//! error or unavailable, its DTLS close, an engine failure; each closes exactly
//! once.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::jingle::Action;
use proxy_core::{CloseReason, EngineCommand, EngineEvent, Error, Event, ProxyConnectionService};

#[test]
fn stop_sends_terminate_and_closes_exactly_once() {
    let t0 = Instant::now();
    let (mut s, _) = initiator_awaiting_accept(t0);
    s.stop(t0);
    let d = drain(&mut s);
    assert_eq!(
        d.sent_actions(),
        [(RECEIVER.into(), Some(Action::SessionTerminate))]
    );
    let term = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(term.reason.as_ref().unwrap().condition, "success");
    assert_eq!(d.commands, [EngineCommand::Close]);
    assert_eq!(d.closed().len(), 1);
    assert_eq!(
        d.events,
        [Event::ConnectionClosed {
            peer: RECEIVER.into(),
            reason: CloseReason::LocalStop
        }]
    );
    s.stop(t0);
    assert!(drain(&mut s).is_empty(), "no second close");
    // The peer's own terminate crossing ours is expected: no error, no event.
    let crossing = with_sid(&vector(ICE_FAILED), "x").replace(" sid=\"x\"", "");
    assert!(receive(&mut s, t0, RECEIVER, crossing).is_empty());
}

#[test]
fn stop_without_connection_does_nothing() {
    let mut s = ProxyConnectionService::new(config(1));
    s.stop(Instant::now());
    assert!(drain(&mut s).is_empty());
}

#[test]
fn peer_terminate_closes_once_and_sends_nothing() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(6), false);
    let term = "<iq to=\"receiver@example.com/r1\" type=\"set\" xmlns=\"jabber:client\"><jingle action=\"session-terminate\" xmlns=\"urn:xmpp:jingle:1\"><reason><success/></reason></jingle></iq>";
    let d = receive(&mut s, t0, SENDER, term);
    assert!(d.sent.is_empty());
    assert_eq!(d.commands, [EngineCommand::Close]);
    assert_eq!(
        d.events,
        [Event::ConnectionClosed {
            peer: SENDER.into(),
            reason: CloseReason::Terminated {
                condition: "success".into()
            }
        }]
    );
    assert!(
        receive(&mut s, t0, SENDER, term).is_empty(),
        "a repeated terminate is quietly ignored"
    );
    assert!(!s.is_active());
}

#[test]
fn peer_dtls_close_ends_the_session_once_and_says_so() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(6), false);
    s.handle_engine_event(t0, EngineEvent::Connected);
    drain(&mut s);
    let sid = s.sid().map(str::to_owned);
    let d = engine(&mut s, t0 + secs(1), EngineEvent::PeerClosed);
    assert_eq!(
        d.events,
        [Event::ConnectionClosed {
            peer: SENDER.into(),
            reason: CloseReason::PeerClosed
        }]
    );
    assert_eq!(d.commands, [EngineCommand::Close]);
    // A peer that closed only its peer connection may still read signaling.
    assert_eq!(
        d.sent_actions(),
        [(SENDER.into(), Some(Action::SessionTerminate))]
    );
    let term = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(term.reason.as_ref().unwrap().condition, "success");
    assert_eq!(term.sid.as_deref(), sid.as_deref());
    assert!(!s.is_active());
    assert!(
        engine(&mut s, t0 + secs(1), EngineEvent::PeerClosed).is_empty(),
        "a second close is stale"
    );
    // The peer's own terminate, arriving after its close_notify, is quiet.
    let term = "<iq to=\"receiver@example.com/r1\" type=\"set\" xmlns=\"jabber:client\"><jingle action=\"session-terminate\" xmlns=\"urn:xmpp:jingle:1\"><reason><success/></reason></jingle></iq>";
    assert!(receive(&mut s, t0 + secs(1), SENDER, term).is_empty());
    // No session at all: nothing happens.
    let mut idle = ProxyConnectionService::new(config(6));
    assert!(engine(&mut idle, t0, EngineEvent::PeerClosed).is_empty());
}

#[test]
fn peer_connection_error_and_unavailable_close() {
    let t0 = Instant::now();
    let (mut s, _) = initiator_awaiting_accept(t0);
    let d = receive(&mut s, t0, RECEIVER, vector(ICE_FAILED));
    assert_eq!(
        d.closed(),
        [&Event::ConnectionClosed {
            peer: RECEIVER.into(),
            reason: CloseReason::PeerError {
                details: "xmpp.connection.ice.failed".into()
            }
        }]
    );
    let (mut s, _) = responder_negotiated(t0, config(7), false);
    let unavail = "<iq type=\"set\" xmlns=\"jabber:client\"><jingle action=\"unavailable\" xmlns=\"urn:xmpp:jingle:1\"/></iq>";
    let d = receive(&mut s, t0, SENDER, unavail);
    assert_eq!(d.closed().len(), 1);
    assert_eq!(d.close_reason(), Some(&CloseReason::Unavailable));
}

/// The `unavailable` a signaling layer synthesizes when the peer leaves the room
/// carries no sid; it closes the session even after the peer has used the sid (a
/// peer's messages must carry it then). One naming another sid is refused.
#[test]
fn synthesized_unavailable_closes_a_session_whose_peer_used_its_sid() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(8), false);
    // The peer's transport-info carries the session's sid: from now on it must.
    let d = receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO));
    assert!(d.errors().is_empty(), "{d:?}");
    let other = "<iq type=\"set\" xmlns=\"jabber:client\"><jingle action=\"unavailable\" sid=\"other\" xmlns=\"urn:xmpp:jingle:1\"/></iq>";
    let d = receive(&mut s, t0, SENDER, other);
    assert!(d.closed().is_empty(), "another session's unavailable");
    let synthesized = "<iq xmlns='jabber:client' type='set'><jingle xmlns='urn:xmpp:jingle:1' action='unavailable'><details>unavailable</details></jingle></iq>";
    let d = receive(&mut s, t0, SENDER, synthesized);
    assert_eq!(d.close_reason(), Some(&CloseReason::Unavailable));
}

#[test]
fn engine_failure_during_negotiation_closes() {
    let t0 = Instant::now();
    let mut s = started(t0, config(19));
    let failure = proxy_core::EngineError::CreateOffer("no codecs".into());
    let d = engine(&mut s, t0, EngineEvent::CommandFailed(failure));
    assert!(matches!(d.errors()[0], Error::Engine(_)));
    assert_eq!(d.closed().len(), 1);
    assert!(!s.is_active());
}
