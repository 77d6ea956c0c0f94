//! The initiator's side of a session with lib-jitsi-meet's receiver: the
//! session-initiate it sends and the session-accept it applies.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::jingle::{Action, Setup};
use proxy_core::{EngineCommand, EngineEvent, Event};

#[test]
fn initiator_sends_session_initiate_like_lib_jitsi_meet_then_trickles_a_host_candidate() {
    let (s, d) = initiator_awaiting_accept(Instant::now());
    assert_eq!(
        d.sent_actions(),
        [
            (RECEIVER.into(), Some(Action::SessionInitiate)),
            (RECEIVER.into(), Some(Action::TransportInfo))
        ]
    );
    let init = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(init.sid.as_deref(), s.sid());
    assert!(init.sid.is_some(), "we always send a sid");
    assert_eq!(init.groups[0].semantics, "BUNDLE");
    let content = &init.contents[0];
    assert_eq!(content.name, "0");
    let desc = content.description.as_ref().unwrap();
    assert!(!desc.sources.is_empty());
    for src in &desc.sources {
        assert_eq!(src.name.as_deref(), Some("peer-v0"));
        assert_eq!(src.video_type.as_ref().map(|v| v.as_str()), Some("desktop"));
        assert!(src.msid().is_some(), "a lib-jitsi-meet receiver needs msid");
    }
    let t = content.transport.as_ref().unwrap();
    assert!(
        t.candidates.is_empty(),
        "the offer had no candidate; the one reported after it is trickled"
    );
    assert_eq!(t.fingerprint.as_ref().unwrap().setup, Some(Setup::Actpass));
    let ti = d.sent[1].1.jingle.as_ref().unwrap();
    let tt = ti.contents[0].transport.as_ref().unwrap();
    assert_eq!(tt.candidates.len(), 1);
    assert_eq!(tt.candidates[0].port, 5000);
    assert_eq!(tt.fingerprint.as_ref().unwrap().required, Some(true));
    assert_eq!(tt.ufrag, t.ufrag);
}

#[test]
fn initiator_applies_accept_ignores_content_modify_and_adds_candidates() {
    let t0 = Instant::now();
    let (mut s, _) = initiator_awaiting_accept(t0);
    // The peer's candidates overtake its session-accept: kept until the answer.
    let d = receive(&mut s, t0, RECEIVER, vector(RECEIVER_TRANSPORT_INFO));
    assert!(d.is_empty(), "{d:?}");
    let d = receive(&mut s, t0, RECEIVER, vector(ACCEPT));
    assert!(matches!(d.commands[0], EngineCommand::ApplyAnswer { .. }));
    let cands: Vec<_> = d.commands[1..]
        .iter()
        .map(|c| match c {
            EngineCommand::AddRemoteCandidate { mid, candidate } => {
                (mid.clone(), candidate.clone())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(cands.len(), 2);
    assert_eq!(cands[0].0, "0");
    assert!(cands[0].1.contains("51092"), "{}", cands[0].1);
    assert!(d.sent.is_empty(), "no acks for IQs without id");
    let modify = vector("03-content-modify.sender-to-receiver.xml");
    let d = receive(&mut s, t0, RECEIVER, modify);
    assert!(d.is_empty(), "content-modify is accepted silently");
    let d = engine(&mut s, t0, EngineEvent::Connected);
    assert_eq!(
        d.events,
        [Event::Connected {
            peer: RECEIVER.into()
        }]
    );
}
