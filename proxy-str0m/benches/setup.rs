//! Connection setup in memory: from nothing to the first frame at the
//! receiver, proxy-str0m (`start()`, Jingle signaling, ICE, DTLS) against the
//! floor, two bare str0m `Rtc`s exchanging SDP directly; and proxy-str0m
//! relay-only through an in-memory TURN server (turn-server-proto over UDP)
//! against proxy-str0m host-only.
//!
//! `cargo bench -p proxy-str0m --bench setup`
//!
//! All run through the same in-memory network (`harness`): datagrams and
//! stanzas are handed over at once, and the clock jumps to the next deadline
//! whenever nothing is in flight, so the time measured is CPU time of the
//! whole exchange on one thread. The TURN server's own time is measured apart
//! and taken off the relay-only figure (its row "with server" keeps it).

mod harness;

use std::time::Duration;

use harness::{bare_pair, interleaved, proxy_pair, proxy_pair_held, proxy_relay_pair, Net, Proxy};

fn main() {
    // For profilers: `SETUP_ONLY=proxy|relay|bare SETUP_RUNS=n` runs just that, no divan.
    if let Ok(which) = std::env::var("SETUP_ONLY") {
        let runs: u32 = std::env::var("SETUP_RUNS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(20);
        for _ in 0..runs {
            match which.as_str() {
                "proxy" => {
                    run(proxy_pair());
                }
                "relay" => {
                    relay_run();
                }
                _ => {
                    run(bare_pair());
                }
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
    let mut r = proxy_relay_pair();
    let rv = r.first_frame();
    check_relayed(&r);
    eprintln!(
        "proxy:      clock advance {pv:?} (incl. jumps), {:?}\nproxy held: clock advance {hv:?} (incl. jumps), {:?}\nbare:       clock advance {bv:?} (incl. jumps), {:?}\nrelay-only: clock advance {rv:?} (incl. jumps), {:?}, {:?} in the TURN server",
        p.stats, h.stats, b.stats, r.stats, r.server_time
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
                Duration::ZERO
            }),
            ("proxy-str0m, early datagrams held", &mut || {
                run(proxy_pair_held());
                Duration::ZERO
            }),
            ("bare str0m (floor)", &mut || {
                run(bare_pair());
                Duration::ZERO
            }),
        ],
    );
    interleaved(
        "setup, in memory: start() to first frame, relay-only through TURN/UDP vs host-only (TURN server's time taken off)",
        rounds,
        1,
        &mut [
            ("proxy-str0m relay-only", &mut relay_run),
            ("proxy-str0m host-only", &mut || {
                run(proxy_pair());
                Duration::ZERO
            }),
        ],
    );
    divan::main();
}

fn run<E: harness::Endpoint>(mut net: Net<E>) -> usize {
    net.first_frame();
    net.frames[1]
}

/// A relay-only setup; returns the time spent in the TURN server.
fn relay_run() -> Duration {
    let mut net = proxy_relay_pair();
    net.first_frame();
    check_relayed(&net);
    net.server_time
}

/// Every datagram went through the server: one allocation per peer, none
/// peer to peer.
fn check_relayed(net: &Net<Proxy>) {
    let relays = net.turn().map_or(0, |t| t.relays.len());
    assert_eq!(relays, 2, "one allocation per peer");
    assert_eq!(net.stats.direct, 0, "a datagram went peer to peer");
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

/// proxy-str0m relay-only through the in-memory TURN server, the server's
/// time included.
#[divan::bench(sample_count = 100)]
fn proxy_str0m_relay_with_server() -> Duration {
    relay_run()
}

/// The floor: bare str0m, SDP offer/answer as text, first frame on `Connected`.
#[divan::bench(sample_count = 100)]
fn bare_str0m() -> usize {
    run(bare_pair())
}
