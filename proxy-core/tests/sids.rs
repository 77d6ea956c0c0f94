//! DESIGN.md "The service", rule 3: the responder adopts the initiator's sid
//! and checks it; a second session-initiate keeps the session.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::{EngineEvent, Error, IqType, ProtocolError, ProxyConnectionService};

#[test]
fn responder_adopts_the_initiators_sid_and_checks_it() {
    let t0 = Instant::now();
    let mut s = ProxyConnectionService::new(config(13));
    receive(&mut s, t0, SENDER, with_sid(&vector(INITIATE), "abc"));
    assert_eq!(s.sid(), Some("abc"));
    let sdp = fake_answer(false);
    let d = engine(&mut s, t0, EngineEvent::LocalAnswer { sdp });
    assert_eq!(
        d.sent[0].1.jingle.as_ref().unwrap().sid.as_deref(),
        Some("abc")
    );
    // Wrong sid with an id: item-not-found + unknown-session, nothing applied.
    let ti = with_id(&with_sid(&vector(TRANSPORT_INFO), "zzz"), "t1");
    let d = receive(&mut s, t0, SENDER, ti);
    assert!(d.commands.is_empty());
    let e = d.sent[0].1.error.as_ref().unwrap();
    assert_eq!(
        e.jingle_condition.as_ref().map(|c| c.as_str()),
        Some("unknown-session")
    );
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::SidMismatch { .. },
            ..
        }
    ));
    // A peer that uses sids must keep using them.
    let d = receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO));
    assert!(d.commands.is_empty());
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::SidMismatch { found: None, .. },
            ..
        }
    ));
    // The right sid works.
    let d = receive(&mut s, t0, SENDER, with_sid(&vector(TRANSPORT_INFO), "abc"));
    assert_eq!(d.commands.len(), 2);
}

#[test]
fn a_second_initiate_from_the_peer_keeps_the_session() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(14), false);
    let sid = s.sid().unwrap().to_owned();
    let d = receive(&mut s, t0, SENDER, with_id(&vector(INITIATE), "dup"));
    assert!(d.commands.is_empty(), "no second engine session: {d:?}");
    assert!(d.closed().is_empty());
    assert_eq!(d.sent[0].1.kind, IqType::Error);
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::DuplicateInitiate,
            ..
        }
    ));
    assert_eq!(s.sid(), Some(sid.as_str()));
}
