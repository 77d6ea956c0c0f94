//! DESIGN.md "The service", rule 2: a message other than session-initiate
//! before a session is an error, not a session.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::jingle::Action;
use proxy_core::{Error, IqType, ProtocolError, ProxyConnectionService};

#[test]
fn messages_before_a_session_are_errors_not_sessions() {
    let t0 = Instant::now();
    let mut s = ProxyConnectionService::new(config(10));
    let d = receive(&mut s, t0, RECEIVER, with_id(&vector(ACCEPT), "a1"));
    assert!(d.commands.is_empty());
    assert!(d.closed().is_empty());
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::UnexpectedAction {
                action: Action::SessionAccept,
                ..
            },
            ..
        }
    ));
    let (to, iq) = &d.sent[0];
    assert_eq!(to, RECEIVER);
    assert_eq!(iq.kind, IqType::Error);
    assert_eq!(iq.id.as_deref(), Some("a1"));
    let e = iq.error.as_ref().unwrap();
    assert_eq!(
        (
            e.condition.as_str(),
            e.jingle_condition.as_ref().map(|c| c.as_str())
        ),
        ("item-not-found", Some("unknown-session"))
    );
    assert!(!s.is_active());
}
