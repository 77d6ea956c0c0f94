//! Connection setup in memory: from nothing to the first frame at the
//! receiver, proxy-str0m (`start()`, Jingle signaling, ICE, DTLS) against the
//! floor, two bare str0m `Rtc`s exchanging SDP directly.
//!
//! `cargo bench -p proxy-str0m --bench setup`
//!
//! Both run through the same in-memory network (`harness`): datagrams and
//! stanzas are handed over at once, and the clock jumps to the next deadline
//! whenever nothing is in flight, so the time measured is CPU time of the
//! whole exchange on one thread.

mod harness;

use harness::{bare_pair, interleaved, proxy_pair, proxy_pair_held, Net};

fn main() {
    // For profilers: `SETUP_ONLY=proxy|bare SETUP_RUNS=n` runs just that, no divan.
    if let Ok(which) = std::env::var("SETUP_ONLY") {
        let runs: u32 = std::env::var("SETUP_RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(20);
        for _ in 0..runs {
            if which == "proxy" {
                run(proxy_pair());
            } else {
                run(bare_pair());
            }
        }
        return;
    }
    // One run each, to show what the exchange consists of.
    let mut p = proxy_pair();
    let pv = p.first_frame();
    let mut h = proxy_pair_held();
    let hv = h.first_frame();
    let mut b = bare_pair();
    let bv = b.first_frame();
    eprintln!(
        "proxy:      clock advance {pv:?} (incl. jumps), {:?}\nproxy held: clock advance {hv:?} (incl. jumps), {:?}\nbare:       clock advance {bv:?} (incl. jumps), {:?}",
        p.stats, h.stats, b.stats
    );
    let rounds = std::env::var("SETUP_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(150);
    interleaved(
        "setup, in memory: nothing to first frame at the receiver",
        rounds,
        1,
        &mut [
            ("proxy-str0m", &mut || {
                run(proxy_pair());
            }),
            ("proxy-str0m, early datagrams held", &mut || {
                run(proxy_pair_held());
            }),
            ("bare str0m (floor)", &mut || {
                run(bare_pair());
            }),
        ],
    );
    divan::main();
}

fn run<E: harness::Endpoint>(mut net: Net<E>) -> usize {
    net.first_frame();
    net.frames[1]
}

/// proxy-str0m: `start()` to the first frame at the receiver.
#[divan::bench(sample_count = 100)]
fn proxy_str0m() -> usize {
    run(proxy_pair())
}

/// proxy-str0m with early datagrams held and handed in once accepted (what
/// proxy-tokio's driver does; saves the 1 s DTLS retransmission).
#[divan::bench(sample_count = 100)]
fn proxy_str0m_held() -> usize {
    run(proxy_pair_held())
}

/// The floor: bare str0m, SDP offer/answer as text, first frame on `Connected`.
#[divan::bench(sample_count = 100)]
fn bare_str0m() -> usize {
    run(bare_pair())
}
