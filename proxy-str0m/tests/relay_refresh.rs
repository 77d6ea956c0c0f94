//! A relay-only session through the in-memory TURN server that outlives
//! every TURN lifetime on the virtual clock: the allocation (1800 s asked,
//! refreshed 60 s before expiry), the permissions (300 s) and the channels
//! (600 s) are all refreshed while frames keep arriving.

mod common;

use std::time::Duration;

use proxy_core::LocalTrack;
use proxy_str0m::CandidateKind;

use common::pair::frame_numbers;
use common::relay::{errors, only_through_turn, RelayPair};
use common::turn::Method;

/// Long enough for the allocation's refresh (about 29 min after it was made).
const MINUTES: u32 = 31;

#[test]
fn a_relay_only_session_outlives_allocation_permission_and_channel_lifetimes() {
    let mut p = RelayPair::relay_only().build();
    only_through_turn(&mut p);
    p.connect(&[LocalTrack::desktop()]);
    let connected = p.time;
    // One frame a second for the whole session.
    let count = MINUTES * 60;
    p.send_video_every(Duration::from_secs(1), 0, 0, count);
    p.run_for(Duration::from_secs(1));

    let got = frame_numbers(&p.b.frames, 0..count);
    let mut per_minute = vec![0u32; MINUTES as usize];
    for n in &got {
        per_minute[(*n / 60) as usize] += 1;
    }
    let node = p.turn.as_ref().unwrap();
    for (name, peer) in [("a", &p.a), ("b", &p.b)] {
        let at = |m: Method| -> Vec<u64> {
            node.requests_of(m, Some(peer.addr))
                .iter()
                .map(|r| (r.at - connected).as_secs())
                .collect()
        };
        eprintln!(
            "{name}: Refresh at {:?} s, CreatePermission at {:?} s, ChannelBind at {:?} s after connect",
            at(Method::Refresh),
            at(Method::CreatePermission),
            at(Method::ChannelBind),
        );
    }
    eprintln!(
        "{} of {count} frames arrived over {MINUTES} virtual minutes; per minute {per_minute:?}",
        got.len()
    );

    // The server saw each kind of refresh from each peer, and answered it.
    for peer in [&p.a, &p.b] {
        let ok = |m| node.successes(m, peer.addr);
        // One Refresh (the allocation lasts 1800 s, renewed 60 s early).
        assert!(ok(Method::Refresh) >= 1, "no allocation refresh");
        // Created, then renewed every 240 s (300 s, 60 s early): 7 in 31 min.
        assert!(
            ok(Method::CreatePermission) >= 7,
            "{} permission requests answered",
            ok(Method::CreatePermission)
        );
        // Bound, then renewed every 540 s (600 s, 60 s early): 3 in 31 min.
        assert!(
            ok(Method::ChannelBind) >= 3,
            "{} channel binds answered",
            ok(Method::ChannelBind)
        );
        assert!(peer.relay_failures.is_empty(), "{:?}", peer.relay_failures);
        assert!(errors(peer).is_empty(), "{:?}", errors(peer));
        assert!(peer.closed().is_empty(), "{:?}", peer.closed());
        // Relay <-> relay all along: one path, never moved.
        let paths = peer.paths();
        assert_eq!(paths.len(), 1, "{paths:?}");
        assert_eq!(paths[0].local_kind, CandidateKind::Relayed, "{paths:?}");
        assert_eq!(paths[0].remote_kind, CandidateKind::Relayed, "{paths:?}");
    }
    assert_eq!(
        node.relays.len(),
        2,
        "one allocation per peer, never replaced"
    );
    assert!(
        node.closed.is_empty(),
        "no allocation expired: {:?}",
        node.closed
    );
    // Every frame arrived, in order, the last minute included.
    assert_eq!(got, (0..count).collect::<Vec<_>>());
}
