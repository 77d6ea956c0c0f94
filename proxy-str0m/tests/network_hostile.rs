//! Random bytes from a TURN server, as datagrams and as stream data, in
//! every phase of a relay: `Network` never panics and keeps its bounds.

mod net_world;

use std::time::Duration;

use net_world::{addr, World, HOST, PASS, TCP_SERVER, UDP_SERVER, USER};
use proptest::prelude::*;
use proxy_str0m::net::IceServerSpec;

fn servers() -> Vec<IceServerSpec> {
    [
        "turn:203.0.113.1:3478?transport=udp",
        "turn:203.0.113.2:3478?transport=tcp",
    ]
    .iter()
    .map(|u| {
        let mut s = IceServerSpec::parse(u).unwrap();
        s.username = Some(USER.into());
        s.password = Some(PASS.into());
        s
    })
    .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_server_bytes_never_panic(
        // (phase in ms, is stream, bytes); a STUN-ish prefix makes parsing go deeper.
        inputs in prop::collection::vec(
            (0u64..3000, any::<bool>(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)),
            1..40,
        )
    ) {
        let mut w = World::new(World::config());
        w.net.set_ice_servers(w.now, servers());
        for (ms, stream, stun_like, mut bytes) in inputs {
            w.run_for(Duration::from_millis(ms));
            if stun_like && bytes.len() >= 20 {
                // A response class with the magic cookie and a plausible length.
                bytes[0] = 0x01 | (bytes[0] & 0x01);
                bytes[4..8].copy_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
                let len = (bytes.len() - 20) as u16 & !3;
                bytes[2..4].copy_from_slice(&len.to_be_bytes());
            }
            if stream {
                let open: Vec<_> = w.streams.iter().filter(|(_, o)| **o).map(|(s, _)| *s).collect();
                for s in open {
                    w.net.handle_stream_data(w.now, s, &bytes);
                }
            } else {
                let _ = w.net.handle_receive(w.now, addr(UDP_SERVER), addr(HOST), &bytes);
            }
            w.settle();
        }
        w.net.close(w.now);
        prop_assert!(w.run_until(w.elapsed() + Duration::from_secs(3), |w| w.net.is_closed()));
        let _ = addr(TCP_SERVER);
    }
}
