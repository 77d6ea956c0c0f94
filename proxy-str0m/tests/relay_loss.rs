//! A relay-only session whose links to the TURN server lose 5% of the
//! datagrams at random (seeded) with 20 ms + U[0, 30] ms delay (some
//! reordering): it still connects, and NACK/RTX recover most frames.
//!
//! Every frame crosses two lossy links (sender -> server -> receiver), so
//! about 10% of packets are lost once; a keyframe is several packets.

mod common;

use std::time::Duration;

use proxy_core::LocalTrack;

use common::netem::{LinkConfig, Netem};
use common::pair::frame_numbers;
use common::relay::RelayPair;

fn lossy_relay_session(seed: u64) -> (Duration, usize) {
    const COUNT: u32 = 300;
    let mut p = RelayPair::relay_only().build();
    let link = LinkConfig::delay(Duration::from_millis(20))
        .loss(0.05)
        .jitter(Duration::from_millis(30));
    p.turn_net = Some(Netem::symmetric(seed, link));
    let start = p.time;
    p.connect(&[LocalTrack::desktop()]);
    let connect = p.time - start;
    p.send_video_every(Duration::from_millis(40), 0, 0, COUNT);
    // Time for retransmissions of the last frames.
    p.drive_until(Duration::from_secs(3), |p| {
        frame_numbers(&p.b.frames, 0..COUNT).len() == COUNT as usize
    });
    let mut got = frame_numbers(&p.b.frames, 0..COUNT);
    let unknown = p.b.frames.len() - got.len();
    got.sort();
    got.dedup();
    let net = p.turn_net.as_ref().unwrap();
    eprintln!(
        "seed {seed}: connected in {connect:?}; {}/{COUNT} frames ({:.1}%); \
         to server {:?}; from server {:?}",
        got.len(),
        100.0 * got.len() as f64 / f64::from(COUNT),
        net.to_b.stats,
        net.to_a.stats,
    );
    assert_eq!(unknown, 0, "corrupt frames");
    assert!(
        net.to_b.stats.lost > 0 && net.to_a.stats.lost > 0,
        "no loss at all"
    );
    for peer in [&p.a, &p.b] {
        assert!(peer.closed().is_empty(), "{:?}", peer.closed());
    }
    (connect, got.len())
}

#[test]
fn five_percent_loss_on_the_server_links_seed_1() {
    let (connect, got) = lossy_relay_session(1);
    // A lost Allocate answer costs a retransmission (0.5 s, then 1, 2, 4 s).
    assert!(connect < Duration::from_secs(8), "{connect:?}");
    assert!(got >= 285, "{got}/300");
}

#[test]
fn five_percent_loss_on_the_server_links_seed_2() {
    let (connect, got) = lossy_relay_session(2);
    // A lost Allocate answer costs a retransmission (0.5 s, then 1, 2, 4 s).
    assert!(connect < Duration::from_secs(8), "{connect:?}");
    assert!(got >= 285, "{got}/300");
}
