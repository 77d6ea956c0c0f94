//! DESIGN.md "The service", rule 6: no session-accept, no ICE connection or
//! lost connectivity in time closes the session.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::jingle::Action;
use proxy_core::{CloseReason, Config, EngineCommand, EngineEvent, Event};

#[test]
fn no_accept_in_time_closes_with_connection_error() {
    let t0 = Instant::now();
    let (mut s, _) = initiator_awaiting_accept(t0);
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Config::default().session_accept_timeout);
    s.handle_timeout(deadline - secs(1));
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(deadline);
    let d = drain(&mut s);
    let j = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(j.action, Action::ConnectionErrorEncountered);
    assert_eq!(
        d.closed(),
        [&Event::ConnectionClosed {
            peer: RECEIVER.into(),
            reason: CloseReason::AcceptTimeout
        }]
    );
    assert_eq!(d.commands, [EngineCommand::Close]);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn ice_that_never_connects_times_out() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(16), false);
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Config::default().ice_connect_timeout);
    s.handle_timeout(deadline);
    let d = drain(&mut s);
    assert_eq!(
        d.sent[0].1.jingle.as_ref().unwrap().details.as_deref(),
        Some("xmpp.connection.ice.failed")
    );
    assert_eq!(d.close_reason(), Some(&CloseReason::IceTimeout));
}

#[test]
fn lost_connectivity_closes_unless_it_recovers() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(17), false);
    s.handle_engine_event(t0, EngineEvent::Connected);
    drain(&mut s);
    assert_eq!(
        s.poll_timeout(),
        None,
        "nothing to wait for while connected"
    );
    s.handle_engine_event(t0 + secs(30), EngineEvent::Disconnected);
    s.handle_engine_event(t0 + secs(32), EngineEvent::Connected);
    s.handle_timeout(t0 + secs(40));
    let d = drain(&mut s);
    assert!(d.closed().is_empty(), "recovered: {d:?}");
    s.handle_engine_event(t0 + secs(50), EngineEvent::Disconnected);
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(
        deadline,
        t0 + secs(50) + Config::default().connectivity_lost_timeout
    );
    s.handle_timeout(deadline);
    let d = drain(&mut s);
    assert_eq!(d.close_reason(), Some(&CloseReason::ConnectivityLost));
    assert_eq!(d.sent[0].0, SENDER);
}
