//! Connection setup over real UDP on 127.0.0.1: wall time from creating the
//! two endpoints to the first frame at the receiver. proxy-tokio (bind two
//! services, `start()`, Jingle signaling relayed in-process, keyframe written
//! on `Connected`) against the floor: two bare str0m `Rtc`s on tokio sockets
//! with the SDP exchanged directly, keyframe written on str0m's `Connected`.
//!
//! `cargo bench -p proxy-tokio --bench udp_setup`
//!
//! Then, through a real TURN server (Debian's coturn, started by the
//! benchmark on 127.0.0.1 as the tests start it; skipped with a message when
//! it is not installed, a failure under `CI=true`): proxy-tokio relay-only
//! over TURN/UDP against proxy-tokio host-only, interleaved round by round,
//! (1) `start()` to the first frame (wall time, and our process's CPU) and
//! (2) our process's CPU per forwarded 3 KB frame on a connected pair
//! (coturn's CPU is its own process's, not counted).

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use support::coturn::Coturn;
use support::{
    bare_link, process_cpu, proxy_link, proxy_relay_link, threads_cpu, turn_udp, vp8_frame, Link,
};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn once(proxy: bool) -> Link {
    once_timed(proxy).await.0
}

/// Also returns when the sender was connected and when the frame arrived.
async fn once_timed(proxy: bool) -> (Link, Duration, Duration) {
    let started = Instant::now();
    let frame = vp8_frame(0, true, 1000);
    let mut link = if proxy {
        proxy_link(frame).await
    } else {
        bare_link(frame).await
    };
    let mut connected = link.connected.clone();
    let connected_at = async {
        let _ = connected.wait_for(|c| *c).await;
        started.elapsed()
    };
    let first = link.first_frame(Duration::from_secs(10));
    let (connected_at, ok) = tokio::join!(connected_at, first);
    assert!(ok, "no frame");
    (link, connected_at, started.elapsed())
}

fn main() {
    // CPU time of the process per setup (clock ticks of 10 ms, so many runs).
    let rt = runtime();
    for proxy in [true, false] {
        let runs: u32 = std::env::var("UDP_RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(40);
        let cpu = process_cpu();
        let wall = Instant::now();
        let mut times = rt.block_on(async {
            let mut times = Vec::new();
            for _ in 0..runs {
                let (link, connected, first) = once_timed(proxy).await;
                times.push((connected, first));
                drop(link);
            }
            times
        });
        let wall = wall.elapsed();
        let cpu = process_cpu() - cpu;
        let order: Vec<Duration> = times.iter().map(|t| t.1).collect();
        times.sort();
        let median = times[times.len() / 2];
        let max = times.iter().map(|t| t.1).max().unwrap_or_default();
        let mut firsts: Vec<Duration> = times.iter().map(|t| t.1).collect();
        firsts.sort();
        // In the order run (`#0` is the first setup of the process).
        let slow: Vec<String> = order
            .iter()
            .enumerate()
            .filter(|(_, t)| **t > Duration::from_millis(20))
            .map(|(i, t)| format!("{:.0?} #{i}", t))
            .collect();
        eprintln!("first frame over 20 ms: {} of {runs}: {slow:?}", slow.len());
        let sum: Duration = firsts.iter().sum();
        eprintln!(
            "first frame: median {:?}, mean {:?}",
            firsts.get(firsts.len() / 2).copied().unwrap_or_default(),
            sum / runs.max(1),
        );
        eprintln!(
            "{}: {runs} setups: mean wall {:?}, process CPU {:?} each; median connected at {:?}, first frame at {:?}; slowest first frame {:?}",
            if proxy { "proxy-tokio" } else { "bare str0m" },
            wall / runs,
            cpu / runs,
            median.0,
            median.1,
            max,
        );
    }
    rt.block_on(through_coturn());
    drop(rt);
    divan::main();
}

/// The relay-only against host-only comparisons through a coturn started here.
async fn through_coturn() {
    // Relay ports 24000-24099: apart from the tests' blocks.
    let Some(turn) = Coturn::start(30).await else {
        return;
    };
    let servers = vec![turn_udp(&turn)];
    let rounds: usize = std::env::var("RELAY_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(30);
    // (1) Setup: rounds of [relay, host], the order rotating.
    let mut first = [Vec::new(), Vec::new()];
    let mut connected = [Vec::new(), Vec::new()];
    let mut cpu = [Duration::ZERO; 2];
    for round in 0..rounds {
        for k in 0..2 {
            let relay = (k + round) % 2 == 0;
            let i = usize::from(!relay);
            let c0 = threads_cpu();
            let started = Instant::now();
            let frame = vp8_frame(0, true, 1000);
            let mut link = if relay {
                proxy_relay_link(frame, &servers).await
            } else {
                proxy_link(frame).await
            };
            let mut conn = link.connected.clone();
            let connected_at = async {
                let _ = conn.wait_for(|c| *c).await;
                started.elapsed()
            };
            let (connected_at, ok) =
                tokio::join!(connected_at, link.first_frame(Duration::from_secs(10)));
            assert!(ok, "no frame (relay: {relay})");
            first[i].push(started.elapsed());
            cpu[i] += threads_cpu() - c0;
            connected[i].push(connected_at);
            check_types(&link, relay);
        }
    }
    let names = [
        "proxy-tokio relay-only (TURN/UDP, coturn)",
        "proxy-tokio host-only",
    ];
    for v in first.iter_mut().chain(connected.iter_mut()) {
        v.sort();
    }
    let median = |v: &[Duration]| v.get(v.len() / 2).copied().unwrap_or_default();
    let min = |v: &[Duration]| v.first().copied().unwrap_or_default();
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-12);
    println!("setup over UDP on 127.0.0.1: start() to first frame, relay-only through coturn vs host-only ({rounds} interleaved rounds)");
    println!("| variant | first frame median | min | median / host-only | connected median | our CPU per setup | CPU / host-only |");
    println!("|---|---|---|---|---|---|---|");
    for i in 0..2 {
        println!(
            "| {} | {:?} | {:?} | {:.2} | {:?} | {:?} | {:.2} |",
            names[i],
            median(&first[i]),
            min(&first[i]),
            ratio(median(&first[i]), median(&first[1])),
            median(&connected[i]),
            cpu[i] / rounds as u32,
            ratio(cpu[i], cpu[1]),
        );
    }
    println!();
    // (2) Forwarding: one connected pair each, rounds of FRAMES frames.
    const FRAMES: u32 = 30;
    let mut relay = proxy_relay_link(vp8_frame(0, true, 1000), &servers).await;
    let mut host = proxy_link(vp8_frame(0, true, 1000)).await;
    for (link, is_relay) in [(&mut relay, true), (&mut host, false)] {
        assert!(link.first_frame(Duration::from_secs(10)).await, "no frame");
        check_types(link, is_relay);
    }
    let frames: Vec<_> = (0..60u32)
        .map(|n| vp8_frame(n, n % 30 == 0, 3000))
        .collect();
    let mut cpu = [Vec::new(), Vec::new()];
    let mut sent = [1u32; 2];
    let mut lost = [0u32; 2];
    for round in 0..rounds {
        for k in 0..2 {
            let i = (k + round) % 2;
            let link = if i == 0 { &mut relay } else { &mut host };
            // One frame at a time, each awaited (bounded), so no burst
            // overflows a socket buffer; a frame that never comes is counted.
            let c0 = threads_cpu();
            for _ in 0..FRAMES {
                let n = sent[i];
                sent[i] += 1;
                let target = link.received.load(Ordering::Relaxed) + 1;
                let pts = Duration::from_nanos(1_000_000_000 / 30) * n;
                assert!(
                    link.writer
                        .write(pts, frames[(n % 60) as usize].clone())
                        .await,
                    "write"
                );
                let arrived = tokio::time::timeout(Duration::from_secs(1), async {
                    while link.received.load(Ordering::Relaxed) < target {
                        if link.first.changed().await.is_err() {
                            return;
                        }
                    }
                })
                .await;
                lost[i] += u32::from(arrived.is_err());
            }
            cpu[i].push((threads_cpu() - c0) / FRAMES);
        }
    }
    for v in &mut cpu {
        v.sort();
    }
    println!("forwarding a 3 KB VP8 frame over UDP on 127.0.0.1: our process's CPU per frame (send + receive), relay-only through coturn vs host-only ({rounds} interleaved rounds of {FRAMES} frames; coturn's CPU not counted)");
    println!("| variant | CPU per frame median | min | median / host-only | min / host-only | frames lost |");
    println!("|---|---|---|---|---|---|");
    for i in 0..2 {
        println!(
            "| {} | {:?} | {:?} | {:.3} | {:.3} | {} of {} |",
            names[i],
            median(&cpu[i]),
            min(&cpu[i]),
            ratio(median(&cpu[i]), median(&cpu[1])),
            ratio(min(&cpu[i]), min(&cpu[1])),
            lost[i],
            FRAMES as usize * rounds,
        );
    }
    for (i, lost) in lost.iter().enumerate() {
        assert!(
            *lost as usize * 20 <= FRAMES as usize * rounds,
            "{} lost {lost} frames: more than 5%",
            names[i]
        );
    }
    println!();
    drop((relay, host, turn));
}

/// Relay-only links offered relayed candidates only; host-only ones host only.
fn check_types(link: &Link, relay: bool) {
    let types = link.candidate_types();
    let want = if relay { "relay" } else { "host" };
    assert!(!types.is_empty(), "no candidates");
    assert!(types.iter().all(|t| t == want), "{types:?}");
}

/// proxy-tokio: two services bound, `start()` to the first frame received.
#[divan::bench(sample_count = 30)]
fn proxy_tokio(bencher: divan::Bencher) {
    let rt = runtime();
    bencher.bench_local(|| rt.block_on(once(true)));
}

/// The floor: bare str0m on tokio UDP sockets.
#[divan::bench(sample_count = 30)]
fn bare_str0m(bencher: divan::Bencher) {
    let rt = runtime();
    bencher.bench_local(|| rt.block_on(once(false)));
}
