//! DESIGN.md "The service", rule 8: str0m's own offer and answer SDP become
//! lib-jitsi-meet-shaped session-initiate and session-accept.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::jingle::{Action, Setup};

#[test]
fn a_str0m_offer_becomes_a_lib_jitsi_meet_shaped_session_initiate() {
    let t0 = Instant::now();
    let (_, d) = str0m_offer_sent(t0, config(20));
    assert_eq!(
        d.sent_actions()[0],
        (RECEIVER.into(), Some(Action::SessionInitiate))
    );
    let j = d.sent[0].1.jingle.as_ref().unwrap();
    let vector = jingle_of(&vector(INITIATE));
    assert_eq!(j.groups[0].semantics, vector.groups[0].semantics);
    assert_eq!(
        j.groups[0].contents,
        j.contents
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    );
    let (c, vc) = (&j.contents[0], &vector.contents[0]);
    assert_eq!(
        c.senders, vc.senders,
        "sendonly is written as lib-jitsi-meet writes it"
    );
    assert_eq!(c.creator, vc.creator);
    let desc = c.description.as_ref().unwrap();
    assert_eq!(desc.media, "video");
    assert!(desc
        .payload_types
        .iter()
        .any(|p| p.name == "VP8" && !p.rtcp_fbs.is_empty()));
    assert!(!desc.sources.is_empty());
    for src in &desc.sources {
        assert_eq!(src.name.as_deref(), Some("peer-v0"));
        assert_eq!(src.video_type.as_ref().map(|v| v.as_str()), Some("desktop"));
        assert!(src.msid().is_some());
    }
    assert_eq!(desc.ssrc_groups[0].semantics, "FID");
    let t = c.transport.as_ref().unwrap();
    assert!(t.ufrag.is_some() && t.pwd.is_some());
    assert_eq!(t.fingerprint.as_ref().unwrap().setup, Some(Setup::Actpass));
    // str0m's host candidate travels inside the session-initiate (the peer
    // pairs it as soon as it applies the offer): no transport-info follows.
    assert_eq!(t.candidates.len(), 1);
    assert_eq!(t.candidates[0].port, 5000);
    assert_eq!(
        d.sent_actions(),
        [(RECEIVER.into(), Some(Action::SessionInitiate))]
    );
}

#[test]
fn a_str0m_answer_becomes_a_session_accept() {
    let t0 = Instant::now();
    let (_, d) = str0m_answer_sent(t0, config(21));
    let j = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(j.action, Action::SessionAccept);
    let vector = jingle_of(&vector(ACCEPT));
    assert_eq!(j.contents[0].senders, vector.contents[0].senders);
    assert_eq!(j.contents[0].creator, vector.contents[0].creator);
    let setup = j.contents[0]
        .transport
        .as_ref()
        .unwrap()
        .fingerprint
        .as_ref()
        .unwrap()
        .setup;
    assert!(matches!(setup, Some(Setup::Active | Setup::Passive)));
}
