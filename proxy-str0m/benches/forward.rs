//! Forwarding through a connected pair: one 3 KB VP8 frame written on the
//! sender, its datagrams delivered, the receiver drained until the frame comes
//! out. proxy-str0m against bare str0m, through the same in-memory network;
//! and proxy-str0m relay-only (relay <-> relay through an in-memory TURN
//! server, turn-server-proto over UDP, ChannelData both ways) against
//! proxy-str0m direct (host <-> host).
//!
//! `cargo bench -p proxy-str0m --bench forward`
//!
//! The relay figure is our side only: the time spent inside the TURN server
//! (turn-server-proto and the node's routing between the two allocations) is
//! measured apart and taken off; its row "with server" keeps it.

mod harness;

use std::time::Duration;

use harness::{
    bare_pair, interleaved, proxy_pair, proxy_pair_with_stats, proxy_relay_pair, vp8_frame,
    Endpoint, Net, Proxy,
};

/// Frame size: 3 KB, three RTP packets.
const FRAME_LEN: usize = 3000;
/// Distinct frames cycled through (a keyframe every 30, as the simulation).
const FRAMES: u32 = 60;

fn frames() -> Vec<Vec<u8>> {
    (0..FRAMES)
        .map(|n| vp8_frame(n, n % 30 == 0, FRAME_LEN))
        .collect()
}

fn connected<E: Endpoint>(mut net: Net<E>) -> Net<E> {
    net.first_frame();
    net
}

fn main() {
    let frames = frames();
    // For profilers: `FORWARD_ONLY=proxy|relay|bare` forwards `FORWARD_FRAMES`
    // frames (3000), no divan; a run with 0 frames gives the setup's share.
    if let Ok(which) = std::env::var("FORWARD_ONLY") {
        let count: u32 = std::env::var("FORWARD_FRAMES")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(3000);
        let run = |net: &mut dyn FnMut(u32, &[u8])| {
            for n in 1..=count {
                net(n, &frames[(n % FRAMES) as usize]);
            }
        };
        if which == "proxy" {
            let mut net = connected(proxy_pair());
            run(&mut |n, f| net.forward(n, f));
        } else if which == "relay" {
            let mut net = connected_relay();
            run(&mut |n, f| net.forward(n, f));
        } else {
            let mut net = connected(bare_pair());
            run(&mut |n, f| net.forward(n, f));
        }
        return;
    }
    for (name, stats) in [
        ("proxy", per_frame(connected(proxy_pair()), &frames)),
        ("bare", per_frame(connected(bare_pair()), &frames)),
        ("relay", per_frame(connected_relay(), &frames)),
    ] {
        eprintln!("{name}: per frame over 300 frames: {stats}");
    }
    // Interleaved: 100 frames per call, proxy and bare pairs alternating.
    let mut proxy = connected(proxy_pair());
    let mut bare = connected(bare_pair());
    let (mut np, mut nb) = (1u32, 1u32);
    let rounds = std::env::var("FORWARD_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    interleaved(
        "forwarding one 3 KB VP8 frame, in memory: write to frame event (per frame)",
        rounds,
        100,
        &mut [
            ("proxy-str0m", &mut || hundred(&mut proxy, &mut np, &frames)),
            ("bare str0m (floor)", &mut || {
                hundred(&mut bare, &mut nb, &frames)
            }),
        ],
    );
    // Statistics every second (str0m's reports, and the RTCP it sends shown
    // to us for incoming loss) against none, both proxy-str0m.
    let mut with_stats = connected(proxy_pair_with_stats());
    let mut without = connected(proxy_pair());
    let (mut nw, mut nn) = (1u32, 1u32);
    interleaved(
        "forwarding one 3 KB VP8 frame, in memory: statistics every second vs none (per frame)",
        rounds,
        100,
        &mut [
            ("proxy-str0m, statistics every second", &mut || {
                hundred(&mut with_stats, &mut nw, &frames)
            }),
            ("proxy-str0m, no statistics", &mut || {
                hundred(&mut without, &mut nn, &frames)
            }),
        ],
    );
    // Relay-only against direct, both proxy-str0m, in their own run.
    let mut relay = connected_relay();
    let mut direct = connected(proxy_pair());
    // The same through a ChannelData switch learned from the server (after
    // 60 frames through it, so both directions' channels are known).
    let mut switched = connected_relay();
    for n in 1..=60u32 {
        switched.forward(n, &frames[(n % FRAMES) as usize]);
    }
    switched.switch_channels();
    assert_eq!(switched.learned_channels(), 2, "one channel each way");
    let (mut nr, mut nd, mut ns) = (1u32, 1u32, 61u32);
    interleaved(
        "forwarding one 3 KB VP8 frame, in memory: relay-only through TURN/UDP vs direct (TURN server's time taken off, per frame)",
        rounds,
        100,
        &mut [
            ("proxy-str0m relay <-> relay", &mut || {
                let before = relay.server_time;
                for _ in 0..100 {
                    relay.forward(nr, &frames[(nr % FRAMES) as usize]);
                    nr += 1;
                }
                relay.server_time - before
            }),
            ("proxy-str0m relay <-> relay, learned ChannelData switch for the server", &mut || {
                let before = switched.server_time;
                for _ in 0..100 {
                    switched.forward(ns, &frames[(ns % FRAMES) as usize]);
                    ns += 1;
                }
                switched.server_time - before
            }),
            ("proxy-str0m host <-> host", &mut || hundred(&mut direct, &mut nd, &frames)),
        ],
    );
    check_relayed(&relay);
    check_relayed(&switched);
    divan::main();
}

/// Forwards the next 100 frames (from frame `n` on) through `net`: one call
/// of an interleaved variant whose time is all ours.
fn hundred<E: Endpoint>(net: &mut Net<E>, n: &mut u32, frames: &[Vec<u8>]) -> Duration {
    for _ in 0..100 {
        net.forward(*n, &frames[(*n % FRAMES) as usize]);
        *n += 1;
    }
    Duration::ZERO
}

/// A relay-only pair, connected through the TURN server.
fn connected_relay() -> Net<Proxy> {
    let mut net = connected(proxy_relay_pair());
    // Channels are bound a request pacing interval (50 ms) after the first
    // check through the relay, which may be after the first frame: let the
    // clock pass that, so that frames travel as ChannelData.
    net.run_for(Duration::from_millis(200));
    check_relayed(&net);
    net
}

/// Every datagram so far went through the server: one allocation per peer,
/// none peer to peer.
fn check_relayed(net: &Net<Proxy>) {
    let relays = net.turn().map_or(0, |t| t.relays.len());
    assert_eq!(relays, 2, "one allocation per peer");
    assert_eq!(net.stats.direct, 0, "a datagram went peer to peer");
}

/// Datagrams and bytes per frame once connected (for the record).
fn per_frame<E: Endpoint>(mut net: Net<E>, frames: &[Vec<u8>]) -> String {
    let before = net.stats;
    for n in 1..=300u32 {
        net.forward(n, &frames[(n % FRAMES) as usize]);
    }
    let s = net.stats;
    format!(
        "{:.2} datagrams, {:.0} bytes, {:.2} timeouts, {:.2} datagrams from a TURN server",
        (s.datagrams - before.datagrams) as f64 / 300.0,
        (s.datagram_bytes - before.datagram_bytes) as f64 / 300.0,
        (s.timeouts - before.timeouts) as f64 / 300.0,
        (s.server_datagrams - before.server_datagrams) as f64 / 300.0,
    )
}

fn bench<E: Endpoint>(bencher: divan::Bencher, net: Net<E>) {
    let frames = frames();
    let mut net = connected(net);
    let mut n = 1u32;
    bencher
        .counter(divan::counter::ItemsCount::new(1usize))
        .bench_local(|| {
            net.forward(n, &frames[(n % FRAMES) as usize]);
            n += 1;
        });
}

/// proxy-str0m: `write_frame` to `Event::Frame`.
#[divan::bench(sample_count = 2000)]
fn proxy_str0m(bencher: divan::Bencher) {
    bench(bencher, proxy_pair());
}

/// proxy-str0m relay-only, relay <-> relay through the in-memory TURN server
/// (the server's time included).
#[divan::bench(sample_count = 2000)]
fn proxy_str0m_relay_with_server(bencher: divan::Bencher) {
    bench(bencher, proxy_relay_pair());
}

/// The floor: bare str0m `Writer::write` to `Event::MediaData`.
#[divan::bench(sample_count = 2000)]
fn bare_str0m(bencher: divan::Bencher) {
    bench(bencher, bare_pair());
}
