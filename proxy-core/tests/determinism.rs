//! The same seed gives the same outputs.

mod common;

use std::time::Instant;

use common::*;

#[test]
fn same_seed_same_outputs() {
    let t0 = Instant::now();
    let run = || {
        let (_, d) = initiator_awaiting_accept(t0);
        d.sent
            .iter()
            .map(|(_, iq)| proxy_core::write_iq(iq))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}
