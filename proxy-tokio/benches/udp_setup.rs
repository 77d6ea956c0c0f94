//! Connection setup over real UDP on 127.0.0.1: wall time from creating the
//! two endpoints to the first frame at the receiver. proxy-tokio (bind two
//! services, `start()`, Jingle signaling relayed in-process, keyframe written
//! on `Connected`) against the floor: two bare str0m `Rtc`s on tokio sockets
//! with the SDP exchanged directly, keyframe written on str0m's `Connected`.
//!
//! `cargo bench -p proxy-tokio --bench udp_setup`

mod support;

use std::time::{Duration, Instant};

use support::{bare_link, process_cpu, proxy_link, vp8_frame, Link};

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
    drop(rt);
    divan::main();
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
