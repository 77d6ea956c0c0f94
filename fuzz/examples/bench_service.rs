//! Times the `service` target's work on pseudo-random inputs (no sanitizer):
//! `cargo run --release --example bench_service`.
use std::time::Instant;

use arbitrary::{Arbitrary, Unstructured};
use proxy_core_fuzz::{run_service, Ops};

fn main() {
    let mut state = 0x1234_5678_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let t = Instant::now();
    let mut slowest = (0.0, 0);
    for i in 0..2000 {
        let bytes: Vec<u8> = (0..256).map(|_| next() as u8).collect();
        let ops = Ops::arbitrary_take_rest(Unstructured::new(&bytes)).expect("decodes");
        let s = Instant::now();
        run_service(&ops.0);
        let e = s.elapsed().as_secs_f64();
        if e > slowest.0 {
            slowest = (e, i);
        }
    }
    println!(
        "2000 inputs in {:?}; slowest {:.4}s (#{})",
        t.elapsed(),
        slowest.0,
        slowest.1
    );
}
