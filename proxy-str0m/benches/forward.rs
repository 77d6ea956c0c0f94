//! Forwarding through a connected pair: one 3 KB VP8 frame written on the
//! sender, its datagrams delivered, the receiver drained until the frame comes
//! out. proxy-str0m against bare str0m, through the same in-memory network.
//!
//! `cargo bench -p proxy-str0m --bench forward`

mod harness;

use harness::{bare_pair, interleaved, proxy_pair, vp8_frame, Endpoint, Net};

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
    // For profilers: `FORWARD_ONLY=proxy|bare` forwards 3000 frames, no divan.
    if let Ok(which) = std::env::var("FORWARD_ONLY") {
        let run = |net: &mut dyn FnMut(u32, &[u8])| {
            for n in 1..=3000u32 {
                net(n, &frames[(n % FRAMES) as usize]);
            }
        };
        if which == "proxy" {
            let mut net = connected(proxy_pair());
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
            ("proxy-str0m", &mut || {
                for _ in 0..100 {
                    proxy.forward(np, &frames[(np % FRAMES) as usize]);
                    np += 1;
                }
            }),
            ("bare str0m (floor)", &mut || {
                for _ in 0..100 {
                    bare.forward(nb, &frames[(nb % FRAMES) as usize]);
                    nb += 1;
                }
            }),
        ],
    );
    divan::main();
}

/// Datagrams and bytes per frame once connected (for the record).
fn per_frame<E: Endpoint>(mut net: Net<E>, frames: &[Vec<u8>]) -> String {
    let before = net.stats;
    for n in 1..=300u32 {
        net.forward(n, &frames[(n % FRAMES) as usize]);
    }
    let s = net.stats;
    format!(
        "{:.2} datagrams, {:.0} bytes, {:.2} timeouts",
        (s.datagrams - before.datagrams) as f64 / 300.0,
        (s.datagram_bytes - before.datagram_bytes) as f64 / 300.0,
        (s.timeouts - before.timeouts) as f64 / 300.0
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

/// The floor: bare str0m `Writer::write` to `Event::MediaData`.
#[divan::bench(sample_count = 2000)]
fn bare_str0m(bencher: divan::Bencher) {
    bench(bencher, bare_pair());
}
