//! DESIGN.md "The service", rule 1: one connection; anyone else is rejected as
//! lib-jitsi-meet rejects, rate-limited, and cannot close it.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::{Error, ProtocolError};

#[test]
fn intruder_is_rejected_like_lib_jitsi_meet_and_changes_nothing() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(8), false);
    let sid = s.sid().map(str::to_owned);
    let d = receive(&mut s, t0, INTRUDER, vector(INITIATE));
    assert!(d.commands.is_empty(), "the engine is not touched");
    assert_eq!(d.sent.len(), 1);
    let (to, iq) = &d.sent[0];
    assert_eq!(to, INTRUDER);
    let rejection = vector("09-rejection.receiver-to-intruder.xml");
    let expected = proxy_core::parse_iq(&rejection, &Default::default()).unwrap();
    assert_eq!(iq, &expected, "exactly lib-jitsi-meet's rejection");
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::Busy { .. },
            ..
        }
    ));
    assert_eq!(s.peer(), Some(SENDER));
    assert_eq!(s.sid().map(str::to_owned), sid);
    // Rate-limited: a second message within the interval gets no answer.
    let d = receive(&mut s, t0 + secs(0), INTRUDER, vector(TRANSPORT_INFO));
    assert!(d.sent.is_empty());
    let d = receive(&mut s, t0 + secs(2), INTRUDER, vector(TRANSPORT_INFO));
    assert_eq!(d.sent.len(), 1);
    // A rejection from someone else is never answered (no ping-pong).
    let rejection = vector("09-rejection.receiver-to-intruder.xml");
    let d = receive(&mut s, t0 + secs(10), INTRUDER, rejection);
    assert!(d.sent.is_empty());
    assert!(d.closed().is_empty());
    assert!(s.is_active());
}

#[test]
fn terminate_from_a_non_peer_does_not_close() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(9), false);
    let term = "<iq type=\"set\" xmlns=\"jabber:client\"><jingle action=\"session-terminate\" xmlns=\"urn:xmpp:jingle:1\"><reason><success/></reason></jingle></iq>";
    let d = receive(&mut s, t0, INTRUDER, term);
    assert!(d.closed().is_empty());
    assert!(d.sent.is_empty());
    assert!(s.is_active());
}

#[test]
fn the_rejection_limiter_remembers_at_most_64_jids() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(10), false);
    for i in 0..64 {
        let d = receive(&mut s, t0, &format!("i{i}@example.com/x"), vector(INITIATE));
        assert_eq!(d.sent.len(), 1, "intruder {i} is rejected");
    }
    // Every slot holds a JID rejected within the interval: the next gets none.
    let d = receive(&mut s, t0, "late@example.com/x", vector(INITIATE));
    assert!(d.sent.is_empty());
    // Once the interval passed, the slots are free again.
    let d = receive(&mut s, t0 + secs(2), "late@example.com/x", vector(INITIATE));
    assert_eq!(d.sent.len(), 1);
}
