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

#[test]
fn early_transport_info_is_bounded_per_jid_and_in_all() {
    let t0 = Instant::now();
    let mut s = ProxyConnectionService::new(config(13));
    let orphan = |d: &Drained| {
        matches!(
            d.errors()[..],
            [Error::Protocol {
                source: ProtocolError::OrphanTransportInfo,
                ..
            }]
        )
    };
    let jids: Vec<String> = (0..4).map(|i| format!("j{i}@example.com/x")).collect();
    for (i, jid) in jids.iter().enumerate() {
        for _ in 0..4 {
            let d = receive(&mut s, t0, jid, vector(TRANSPORT_INFO));
            assert!(d.errors().is_empty(), "{d:?}");
        }
        if i == 0 {
            // Four per JID: a fifth from the same JID is refused at once.
            assert!(orphan(&receive(&mut s, t0, jid, vector(TRANSPORT_INFO))));
        }
    }
    // Sixteen in all: another JID is refused too.
    assert!(orphan(&receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO))));
    // All sixteen expire together, each reported.
    s.handle_timeout(t0 + Config::default().early_transport_info_ttl);
    assert_eq!(drain(&mut s).errors().len(), 16);
}
