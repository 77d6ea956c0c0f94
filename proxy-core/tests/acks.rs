//! DESIGN.md "The service", rule 4: IQs with an id are acknowledged, others are
//! not; results are consumed; source-add/remove are answered and ignored.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::IqType;

#[test]
fn iqs_with_an_id_are_acknowledged_and_others_are_not() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(15), false);
    let d = receive(&mut s, t0, SENDER, with_id(&vector(TRANSPORT_INFO), "q7"));
    assert_eq!(d.sent.len(), 1);
    assert_eq!(d.sent[0].1.kind, IqType::Result);
    assert_eq!(d.sent[0].1.id.as_deref(), Some("q7"));
    assert_eq!(d.sent[0].0, SENDER);
    assert!(receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO))
        .sent
        .is_empty());
    // Results the peer sends us are consumed silently.
    let result = "<iq type='result' id='x' xmlns='jabber:client'/>";
    assert!(receive(&mut s, t0, SENDER, result).is_empty());
}

#[test]
fn source_add_and_remove_are_answered_and_ignored() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(23), false);
    for action in ["source-add", "source-remove"] {
        let iq = format!(
            "<iq id='s1' type='set' xmlns='jabber:client'><jingle action='{action}' xmlns='urn:xmpp:jingle:1'>\
             <content name='0'><description media='video' xmlns='urn:xmpp:jingle:apps:rtp:1'>\
             <source ssrc='42' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'/></description></content></jingle></iq>"
        );
        let d = receive(&mut s, t0, SENDER, iq);
        assert!(d.commands.is_empty() && d.events.is_empty(), "{d:?}");
        assert_eq!(d.sent.len(), 1);
        assert_eq!(d.sent[0].1.kind, IqType::Result);
    }
    assert!(s.is_active());
}
