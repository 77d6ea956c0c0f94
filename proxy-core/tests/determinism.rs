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

#[test]
fn a_seed_gives_its_own_16_digit_hex_sid() {
    let t0 = Instant::now();
    let sid = |seed| {
        let mut s = proxy_core::ProxyConnectionService::new(config(seed));
        s.start(t0, RECEIVER, &[proxy_core::LocalTrack::desktop()])
            .expect("starts");
        s.sid().expect("a session").to_owned()
    };
    let sid7 = sid(7);
    assert_eq!(sid7, sid(7));
    assert_ne!(sid7, sid(8));
    assert!(sid7.len() == 16 && sid7.bytes().all(|b| b.is_ascii_hexdigit()));
}
