//! A peer that sends a new session-initiate for a new session (new ICE
//! credentials, or a new sid) replaces the connection.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::{CloseReason, EngineCommand, Event, ProxyConnectionService};

#[test]
fn a_restarted_peer_replaces_the_connection() {
    let t0 = Instant::now();
    // lib-jitsi-meet style (no sids): new ICE credentials mean a new session.
    let (mut s, _) = responder_negotiated(t0, config(24), false);
    let old_sid = s.sid().unwrap().to_owned();
    let restarted = vector(INITIATE).replace("ufrag=\"pEF9\"", "ufrag=\"nEw1\"");
    let d = receive(&mut s, t0 + secs(1), SENDER, restarted);
    assert_eq!(
        d.closed(),
        [&Event::ConnectionClosed {
            peer: SENDER.into(),
            reason: CloseReason::PeerRestarted
        }]
    );
    assert!(
        d.sent.is_empty(),
        "the old session is gone on the peer's side: nothing to tell it"
    );
    assert!(
        matches!(
            d.commands.as_slice(),
            [EngineCommand::Close, EngineCommand::ApplyOffer { .. }]
        ),
        "{:?}",
        d.commands
    );
    assert!(s.is_active());
    assert_ne!(s.sid(), Some(old_sid.as_str()));
    // With sids: a new sid is a restart, the same sid a duplicate.
    let (mut s, _) = responder_negotiated(t0, config(25), false);
    let with_sid = |sid: &str| with_sid(&vector(INITIATE), sid);
    let mut s2 = ProxyConnectionService::new(config(26));
    receive(&mut s2, t0, SENDER, with_sid("one"));
    let d = receive(&mut s2, t0, SENDER, with_sid("one"));
    assert!(
        d.closed().is_empty() && d.commands.is_empty(),
        "duplicate: {d:?}"
    );
    let d = receive(&mut s2, t0, SENDER, with_sid("two"));
    assert_eq!(d.closed().len(), 1);
    assert_eq!(s2.sid(), Some("two"));
    // An unusable restart keeps the working connection.
    let unusable = with_sid("three")
        .replace("<content creator", "<contentx creator")
        .replace("</content></jingle>", "</contentx></jingle>");
    let d = receive(&mut s, t0, SENDER, unusable);
    assert!(d.closed().is_empty(), "{d:?}");
    assert!(s.is_active());
}
