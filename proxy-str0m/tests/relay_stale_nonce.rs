//! A relay-only session whose TURN server first answers each Allocate with
//! 401 (no credentials yet), and later, mid-session, answers refreshes with
//! 438 (stale nonce): the requests are retried with the new nonce and media
//! goes on without a gap.

mod common;

use std::time::Duration;

use proxy_core::LocalTrack;
use turn_server_proto::api::TurnServerApi as _;

use common::pair::frame_numbers;
use common::relay::{errors, only_through_turn, RelayPair};
use common::turn::Method;

#[test]
fn a_401_then_a_438_mid_session_and_media_continues() {
    let mut p = RelayPair::relay_only().build();
    only_through_turn(&mut p);
    // Nonces last 60 s from when they are handed out (set before any is):
    // the setup is done well within that, and the first permission refresh
    // (240 s later) finds its nonce stale, as do the later ones.
    p.turn
        .as_mut()
        .unwrap()
        .server
        .set_nonce_expiry_duration(Duration::from_secs(60));
    p.connect(&[LocalTrack::desktop()]);
    let node = p.turn.as_ref().unwrap();
    for peer in [&p.a, &p.b] {
        // The first answer to each peer: 401 to the unauthenticated Allocate,
        // then the authenticated one succeeded.
        let to_peer: Vec<_> = node
            .responses
            .iter()
            .filter(|r| r.to == peer.addr)
            .collect();
        assert_eq!(
            (to_peer[0].method, to_peer[0].error),
            (Method::Allocate, Some(401)),
            "{to_peer:?}"
        );
        assert_eq!(node.successes(Method::Allocate, peer.addr), 1);
    }
    assert!(
        node.errors(438).is_empty(),
        "no 438 before the nonce expires"
    );

    let stale_from = p.time;
    let count = 10 * 60;
    p.send_video_every(Duration::from_secs(1), 0, 0, count);
    p.run_for(Duration::from_secs(1));

    let node = p.turn.as_ref().unwrap();
    let stale = node.errors(438);
    eprintln!(
        "438s: {:?}",
        stale
            .iter()
            .map(|r| (r.method, r.to, (r.at - stale_from).as_secs()))
            .collect::<Vec<_>>()
    );
    for peer in [&p.a, &p.b] {
        let mine: Vec<_> = stale.iter().filter(|r| r.to == peer.addr).collect();
        assert!(!mine.is_empty(), "no 438 to {}", peer.addr);
        // Each 438 was followed by a success for the same request kind.
        for r in mine {
            assert!(
                node.responses.iter().any(|s| s.to == peer.addr
                    && s.method == r.method
                    && s.error.is_none()
                    && s.at >= r.at),
                "{r:?} never retried with success"
            );
        }
        assert!(peer.relay_failures.is_empty(), "{:?}", peer.relay_failures);
        assert!(errors(peer).is_empty(), "{:?}", errors(peer));
        assert!(peer.closed().is_empty(), "{:?}", peer.closed());
    }
    assert_eq!(node.relays.len(), 2, "no new allocation");
    let got = frame_numbers(&p.b.frames, 0..count);
    assert_eq!(got, (0..count).collect::<Vec<_>>(), "every frame, in order");
}
