//! The responder's side of a session with lib-jitsi-meet's sender: the session-
//! accept it sends and the tracks it offers.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::jingle::Action;
use proxy_core::{Config, EngineCommand, LocalTrack, ProxyConnectionService};

#[test]
fn responder_answers_initiate_with_session_accept() {
    let t0 = Instant::now();
    let (s, d) = responder_negotiated(t0, config(2), false);
    assert_eq!(
        d.sent_actions(),
        [
            (SENDER.into(), Some(Action::SessionAccept)),
            (SENDER.into(), Some(Action::TransportInfo))
        ]
    );
    let acc = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(
        acc.initiator.as_deref(),
        Some(SENDER),
        "as lib-jitsi-meet writes it"
    );
    assert_eq!(acc.sid.as_deref(), s.sid());
    assert_eq!(
        acc.contents[0].creator,
        Some(proxy_core::jingle::Creator::Responder)
    );
    assert_eq!(acc.contents[0].name, "0");
    assert!(s.is_active());
    assert_eq!(s.peer(), Some(SENDER));
}

#[test]
fn responder_tracks_are_offered_to_the_engine() {
    let t0 = Instant::now();
    let cfg = Config {
        responder_tracks: vec![LocalTrack::audio()],
        ..config(5)
    };
    let mut s = ProxyConnectionService::new(cfg);
    let d = receive(&mut s, t0, SENDER, vector(INITIATE_AV));
    let EngineCommand::ApplyOffer { tracks, sdp, .. } = &d.commands[0] else {
        panic!()
    };
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].source_name, "peer-a0");
    assert!(sdp.contains("m=audio") && sdp.contains("m=video"));
}
