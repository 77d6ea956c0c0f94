//! The TURN server of a relay-only session vanishes mid-session (it drops
//! everything, both ways): each peer closes with `ConnectivityLost` within
//! the silence timeout plus the connectivity timeout, once, without panic.

mod common;

use std::time::Duration;

use proxy_core::{CloseReason, Config, Event as CoreEvent, LocalTrack};
use proxy_str0m::SILENCE_TIMEOUT;

use common::pair::{Pair, Peer};
use common::relay::RelayPair;

fn closed_at(peer: &Peer) -> Option<std::time::Instant> {
    peer.events
        .iter()
        .find(|(_, e)| matches!(e, CoreEvent::ConnectionClosed { .. }))
        .map(|(t, _)| *t)
}

#[test]
fn the_server_gone_mid_session_closes_both_peers_with_connectivity_lost() {
    let mut p: Pair = RelayPair::relay_only().build();
    p.connect(&[LocalTrack::desktop()]);
    p.send_video(0, 0, 50);
    assert!(p.b.frames.len() >= 45, "{} frames before", p.b.frames.len());

    let cut = p.time;
    p.turn.as_mut().unwrap().gone = true;
    let lost = Config::default().connectivity_lost_timeout;
    let bound = SILENCE_TIMEOUT + lost + Duration::from_millis(250);
    // The sender keeps writing at 25 fps until its connection is gone.
    let mut n = 50u32;
    let frames_before = p.b.frames.len();
    while p.time < cut + bound + Duration::from_secs(10)
        && (p.a.closed().is_empty() || p.b.closed().is_empty())
    {
        if p.a.conn.is_active() {
            let now = p.time;
            let frame = common::video_frame(n);
            p.a.conn
                .write_frame(now, 0, common::FRAME_INTERVAL * n, &frame)
                .expect("writing while the server is gone is no error");
            p.drain_side(false);
        }
        n += 1;
        let next = p.time + common::FRAME_INTERVAL;
        p.advance_to(next);
    }
    let node = p.turn.as_ref().unwrap();
    for (name, peer) in [("a", &p.a), ("b", &p.b)] {
        let at =
            closed_at(peer).unwrap_or_else(|| panic!("{name} never closed: {:?}", peer.events));
        let took = at - cut;
        eprintln!(
            "{name}: closed {took:?} after the server vanished with {:?} (bound {bound:?}); \
             relay warnings {:?}",
            peer.closed(),
            peer.relay_failures
        );
        assert_eq!(peer.closed(), vec![&CloseReason::ConnectivityLost]);
        assert!(
            took <= bound,
            "{name} closed after {took:?}, bound {bound:?}"
        );
        assert!(took >= lost, "{name} closed after only {took:?}");
        assert!(!peer.conn.is_active());
    }
    assert!(node.dropped > 0, "the server did drop datagrams");
    assert!(
        p.b.frames.len() <= frames_before + 1,
        "frames after the cut: {}",
        p.b.frames.len() - frames_before
    );
    // Closed for good: nothing more happens, and no second close.
    p.run_for(Duration::from_secs(30));
    assert_eq!(p.a.closed().len(), 1);
    assert_eq!(p.b.closed().len(), 1);
}
