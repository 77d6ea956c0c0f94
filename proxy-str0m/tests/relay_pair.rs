//! Two [`ProxyConnection`]s through an in-memory TURN server on the virtual
//! clock: relay-only sessions connect relay <-> relay and carry media, ICE
//! servers come from the config or the API any time, closing deletes the
//! allocations without delaying the closed event, a bad server is a
//! warning only.

mod common;

use std::time::Duration;

use proxy_core::{Event as CoreEvent, LocalTrack};
use proxy_str0m::net::IceTransportPolicy;
use proxy_str0m::Frame;

use common::pair::assert_frames_match;
use common::relay::{candidate_types, errors, only_through_turn, turn_server, RelayPair};
use common::turn::TURN_PASS;

#[test]
fn relay_only_connects_relay_to_relay_and_carries_every_frame() {
    let mut p = RelayPair::relay_only().build();
    only_through_turn(&mut p);
    let start = p.time;
    p.connect(&[LocalTrack::desktop()]);
    let connect_time = p.time - start;
    eprintln!(
        "relay-only connect: {connect_time:?} types {:?}",
        candidate_types(&p.a.sent)
    );
    assert!(connect_time < Duration::from_secs(2), "{connect_time:?}");
    for peer in [&p.a, &p.b] {
        let types = candidate_types(&peer.sent);
        assert!(!types.is_empty(), "no candidates trickled");
        assert!(types.iter().all(|t| t == "relay"), "{types:?}");
        assert!(peer.relay_failures.is_empty(), "{:?}", peer.relay_failures);
        assert!(errors(peer).is_empty(), "{:?}", errors(peer));
    }
    let node = p.turn.as_ref().unwrap();
    assert_eq!(node.relays.len(), 2, "one allocation per peer");
    let sent = p.send_video(0, 0, 100);
    p.drive_until(Duration::from_secs(2), |p| p.b.frames.len() >= 100);
    let got: Vec<&Frame> = p.b.frames.iter().collect();
    assert_frames_match(&got, &sent);
}

#[test]
fn relay_candidates_join_host_ones_under_policy_all() {
    let mut p = RelayPair::new(IceTransportPolicy::All).build();
    p.connect(&[LocalTrack::desktop()]);
    // The relayed candidate is trickled after the host one.
    p.run_for(Duration::from_millis(500));
    let types = candidate_types(&p.a.sent);
    assert!(types.contains(&"host".to_owned()), "{types:?}");
    assert!(types.contains(&"relay".to_owned()), "{types:?}");
    assert!(p.a.relay_failures.is_empty(), "{:?}", p.a.relay_failures);
}

#[test]
fn servers_set_through_the_api_replace_the_configs() {
    // The config has a server with a wrong password; the API gives the
    // right one before the session starts.
    let mut p = RelayPair::relay_only()
        .config_servers(vec![turn_server("wrong")])
        .api_servers(vec![turn_server(TURN_PASS)])
        .build();
    p.connect(&[LocalTrack::desktop()]);
    assert!(p.a.relay_failures.is_empty(), "{:?}", p.a.relay_failures);
}

#[test]
fn a_refused_server_is_a_warning_and_host_candidates_still_connect() {
    let mut p = RelayPair::new(IceTransportPolicy::All)
        .config_servers(vec![turn_server("wrong")])
        .build();
    p.connect(&[LocalTrack::desktop()]);
    p.run_for(Duration::from_secs(2));
    assert!(p.a.conn.is_connected());
    assert_eq!(p.a.relay_failures.len(), 1, "{:?}", p.a.relay_failures);
    assert!(
        p.a.relay_failures[0].contains("refused"),
        "{:?}",
        p.a.relay_failures
    );
    assert!(errors(&p.a).is_empty() && p.a.closed().is_empty());
}

#[test]
fn closing_deletes_the_allocations_without_delaying_the_closed_event() {
    let mut p = RelayPair::relay_only().build();
    p.connect(&[LocalTrack::desktop()]);
    p.send_video(0, 0, 10);
    let stopped = p.time;
    p.a.conn.stop(stopped);
    p.drain();
    let closed_at: Vec<_> =
        p.a.events
            .iter()
            .filter(|(_, e)| matches!(e, CoreEvent::ConnectionClosed { .. }))
            .map(|(t, _)| *t)
            .collect();
    assert_eq!(closed_at, vec![stopped], "closed at once");
    p.run_for(Duration::from_secs(3));
    assert_eq!(p.b.closed().len(), 1);
    let node = p.turn.as_ref().unwrap();
    let mut deleted = node.closed.clone();
    deleted.sort();
    let mut relays = node.relays.clone();
    relays.sort();
    assert_eq!(deleted, relays, "both allocations deleted");
    // Nothing left to time once the deletions are done.
    assert_eq!(p.a.timeout, None);
    assert_eq!(p.b.timeout, None);
}
