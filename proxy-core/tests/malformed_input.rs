//! Malformed input in a live session is reported and changes nothing.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::Error;

#[test]
fn malformed_input_is_reported_and_changes_nothing() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(18), false);
    for bad in ["", "<iq", "<iq type='set' xmlns='jabber:client'><jingle action='nope' xmlns='urn:xmpp:jingle:1'/></iq>", "not xml"] {
        let d = receive(&mut s, t0, SENDER, bad);
        assert!(d.sent.is_empty() && d.commands.is_empty(), "{bad}: {d:?}");
        assert!(matches!(d.errors().as_slice(), [Error::Malformed { .. }]), "{bad}: {d:?}");
    }
    assert!(s.is_active());
}
