//! DESIGN.md "The service", rule 2: a transport-info that overtakes its
//! session-initiate is kept until it arrives, and expires with an error.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::{Config, EngineCommand, Error, ProtocolError, ProxyConnectionService};

#[test]
fn early_transport_info_is_kept_until_its_initiate() {
    let t0 = Instant::now();
    let mut s = ProxyConnectionService::new(config(11));
    let d = receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO));
    assert!(d.is_empty(), "{d:?}");
    // Kept: its expiry is the next deadline.
    assert_eq!(
        s.poll_timeout(),
        Some(t0 + Config::default().early_transport_info_ttl)
    );
    let d = receive(&mut s, t0 + secs(1), SENDER, vector(INITIATE));
    assert!(matches!(d.commands[0], EngineCommand::ApplyOffer { .. }));
    assert_eq!(
        d.commands.len(),
        3,
        "offer then the two early candidates: {d:?}"
    );
    assert!(matches!(&d.commands[1], EngineCommand::AddRemoteCandidate { mid, .. } if mid == "0"));
    // Taken: nothing expires as an orphan at its old deadline.
    s.handle_timeout(t0 + Config::default().early_transport_info_ttl);
    assert!(drain(&mut s).errors().is_empty());
}

#[test]
fn early_transport_info_expires_with_an_error() {
    let t0 = Instant::now();
    let mut s = ProxyConnectionService::new(config(12));
    receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO));
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Config::default().early_transport_info_ttl);
    s.handle_timeout(deadline);
    let d = drain(&mut s);
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::OrphanTransportInfo,
            ..
        }
    ));
    assert_eq!(s.poll_timeout(), None);
}
