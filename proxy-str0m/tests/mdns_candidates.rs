//! A browser's mDNS host candidate (`<uuid>.local`, Chrome's default without
//! camera permission) is set aside quietly: no error event, the session goes on.

mod common;

use std::time::Duration;

use proxy_core::{Event as CoreEvent, LocalTrack, ProxyMessage};

use common::pair::{Pair, RECEIVER, SENDER};

#[test]
fn an_mdns_remote_candidate_is_no_error() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    // lib-jitsi-meet trickles candidates in transport-info; ours went in
    // the session-initiate. Build the browser's message from its parts.
    let (_, initiate) = p.a.sent[0].clone();
    let attr = |name: &str| {
        let at = initiate.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        initiate[at..].split('"').next().unwrap().to_owned()
    };
    let (sid, mid, ufrag, pwd) = (attr("sid"), attr("name"), attr("ufrag"), attr("pwd"));
    let iq = format!(
        "<iq to='{RECEIVER}' type='set' xmlns='jabber:client'>\
         <jingle action='transport-info' sid='{sid}' xmlns='urn:xmpp:jingle:1'>\
         <content creator='initiator' name='{mid}'>\
         <transport ufrag='{ufrag}' pwd='{pwd}' xmlns='urn:xmpp:jingle:transports:ice-udp:1'>\
         <candidate foundation='1' component='1' protocol='udp' priority='2122260223' \
         ip='8f2c1a3e-1b2c-4d5e-9f00-0123456789ab.local' port='54321' type='host' \
         generation='0' id='x1'/></transport></content></jingle></iq>"
    );
    let now = p.time;
    p.b.conn.handle_message(
        now,
        ProxyMessage {
            from: SENDER.into(),
            iq,
        },
    );
    p.drain();
    p.run_for(Duration::from_secs(1));
    let errors: Vec<_> =
        p.b.events
            .iter()
            .filter(|(_, e)| matches!(e, CoreEvent::Error(_)))
            .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(p.b.conn.is_connected() && p.b.closed().is_empty());
}
