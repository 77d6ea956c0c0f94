//! `proxy_str0m::net::Network` against turn-server-proto in memory, on a
//! virtual clock: allocation, srflx, permissions and data both ways,
//! refreshes, 438, bad credentials, a silent server, close, TCP, policy.

mod net_world;

use std::time::Duration;

use turn_server_proto::api::TurnServerApi as _;

use net_world::{addr, World, HOST, PASS, PEER, TCP_SERVER, UDP_SERVER, USER};
use proxy_str0m::net::{
    IceServerSpec, IceTransportPolicy, NetConfig, NetEvent, RelayError, RelayProto,
};

fn turn(url: &str, user: &str, pass: &str) -> IceServerSpec {
    let mut s = IceServerSpec::parse(url).unwrap();
    s.username = Some(user.into());
    s.password = Some(pass.into());
    s
}

fn udp_turn() -> IceServerSpec {
    turn(&format!("turn:{UDP_SERVER}?transport=udp"), USER, PASS)
}

/// A world with one UDP relay allocated (and its candidate).
fn allocated() -> (World, std::net::SocketAddr) {
    let mut w = World::new(World::config());
    w.net.set_ice_servers(w.now, vec![udp_turn()]);
    assert!(w.run_until(Duration::from_secs(5), |w| !w.relay_candidates().is_empty()));
    let relay = w.relay_candidates()[0].addr();
    (w, relay)
}

#[test]
fn a_duplicated_401_to_the_first_allocate_is_no_rejection() {
    // The unauthenticated Allocate's 401 arrives twice (a retransmission
    // crossed the answer): the second copy answers nothing we still wait for.
    let mut w = World::new(World::config());
    w.duplicate = true;
    w.net.set_ice_servers(w.now, vec![udp_turn()]);
    assert!(w.run_until(Duration::from_secs(5), |w| !w.relay_candidates().is_empty()));
    assert!(w.failures().is_empty(), "{:?}", w.failures());
}

#[test]
fn udp_allocation_gives_a_relayed_candidate_quickly() {
    let (w, relay) = allocated();
    assert_eq!(
        w.relays.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![relay]
    );
    let c = &w.relay_candidates()[0];
    assert_eq!(c.proto(), str0m::net::Protocol::Udp);
    assert_eq!(c.prio() >> 24, 2, "relay over UDP: type preference 2");
    assert!(
        w.elapsed() < Duration::from_millis(100),
        "took {:?}",
        w.elapsed()
    );
    assert!(c
        .to_sdp_string()
        .contains("typ relay raddr 0.0.0.0 rport 0"));
    assert!(w.failures().is_empty(), "{:?}", w.failures());
}

#[test]
fn relay_priorities_order_udp_over_tcp_over_tls() {
    // A name ("turn-tcp...") resolves to the TCP server in the world.
    let mut w = World::new(World::config());
    w.net.set_ice_servers(
        w.now,
        vec![
            udp_turn(),
            turn("turn:turn-tcp.test:3478?transport=tcp", USER, PASS),
        ],
    );
    assert!(w.run_until(Duration::from_secs(5), |w| w.relay_candidates().len() == 2));
    let c = w.relay_candidates();
    let mut prios: Vec<u32> = c.iter().map(|c| c.prio()).collect();
    prios.sort();
    assert_eq!(prios[1] >> 24, 2, "the UDP relay is first");
    assert_eq!(prios[0] >> 24, 1, "the TCP relay second");
    // TLS would be type preference 0.
    assert!(RelayProto::Udp < RelayProto::Tcp && RelayProto::Tcp < RelayProto::Tls);
    assert_eq!(RelayProto::Tls.type_preference(), 0);
}

#[test]
fn srflx_from_a_binding_and_none_under_relay_policy() {
    let nat = addr("203.0.113.99:61000");
    let mut w = World::new(World::config());
    w.nat = Some(nat);
    w.net.set_ice_servers(
        w.now,
        vec![IceServerSpec::parse(&format!("stun:{UDP_SERVER}")).unwrap()],
    );
    assert!(w.run_until(Duration::from_secs(5), |w| !w.srflx_candidates().is_empty()));
    let c = &w.srflx_candidates()[0];
    assert_eq!(c.addr(), nat);
    assert!(w.relay_candidates().is_empty());

    let mut w = World::new(NetConfig {
        policy: IceTransportPolicy::Relay,
        ..World::config()
    });
    w.nat = Some(nat);
    w.net.set_ice_servers(w.now, vec![udp_turn()]);
    assert!(w.run_until(Duration::from_secs(30), |w| !w
        .relay_candidates()
        .is_empty()));
    w.run_until(Duration::from_secs(30), |_| false);
    assert!(w.srflx_candidates().is_empty(), "policy relay: no srflx");
    assert_eq!(w.relay_candidates().len(), 1);
}

#[test]
fn no_srflx_without_a_nat() {
    let mut w = World::new(World::config());
    w.net.set_ice_servers(w.now, vec![udp_turn()]);
    w.run_until(Duration::from_secs(20), |_| false);
    assert!(
        w.srflx_candidates().is_empty(),
        "mapped == host is not a candidate"
    );
    assert!(w.failures().is_empty());
}

#[test]
fn data_both_ways_through_the_relay() {
    let (mut w, relay) = allocated();
    // str0m sends from the relayed address: a permission first, then the data.
    w.send_from(relay, b"ping-1");
    w.send_from(relay, b"ping-2");
    assert_eq!(
        w.peer_inbox,
        vec![(relay, b"ping-1".to_vec()), (relay, b"ping-2".to_vec())]
    );
    // The peer answers: a Data indication (or ChannelData) comes back as peer data.
    w.peer_sends(relay, b"pong");
    let d = w.relayed.last().expect("peer data");
    assert_eq!(
        (d.peer, d.relay, &d.contents[..]),
        (addr(PEER), relay, &b"pong"[..])
    );
    // After the channel is bound, still both ways.
    w.run_until(Duration::from_secs(2), |_| false);
    w.send_from(relay, b"ping-3");
    assert_eq!(w.peer_inbox.last().unwrap(), &(relay, b"ping-3".to_vec()));
    w.peer_sends(relay, b"pong-2");
    assert_eq!(&w.relayed.last().unwrap().contents[..], b"pong-2");
    // Host-sourced transmits pass through untouched.
    let t = proxy_str0m::Transmit {
        source: addr(HOST),
        destination: addr(PEER),
        contents: b"x".to_vec().into(),
    };
    assert_eq!(w.net.route(w.now, t.clone()), Some(t));
    assert_eq!(w.unclaimed, 0);
}

#[test]
fn refreshes_keep_allocation_and_permission_for_30_minutes() {
    let (mut w, relay) = allocated();
    w.send_from(relay, b"hello");
    let start = w.elapsed();
    for minute in 1..=30u64 {
        w.run_until(start + Duration::from_secs(60 * minute), |_| false);
        w.peer_sends(relay, format!("m{minute}").as_bytes());
        assert_eq!(
            &w.relayed.last().unwrap().contents[..],
            format!("m{minute}").as_bytes(),
            "minute {minute}"
        );
    }
    w.send_from(relay, b"still");
    assert_eq!(w.peer_inbox.last().unwrap().1, b"still");
    assert!(w.failures().is_empty() && w.gone() == 0, "{:?}", w.events);
}

#[test]
fn stale_nonce_438_mid_session_is_retried() {
    let (mut w, relay) = allocated();
    w.udp.set_nonce_expiry_duration(Duration::from_secs(30));
    w.send_from(relay, b"a");
    let start = w.elapsed();
    for step in 1..=12u64 {
        w.run_until(start + Duration::from_secs(100 * step), |_| false);
        w.send_from(relay, format!("s{step}").as_bytes());
        w.peer_sends(relay, b"back");
    }
    assert_eq!(w.peer_inbox.last().unwrap().1, b"s12");
    assert_eq!(&w.relayed.last().unwrap().contents[..], b"back");
    assert!(w.failures().is_empty(), "{:?}", w.failures());
}

#[test]
fn wrong_password_fails_fast() {
    let mut w = World::new(World::config());
    w.net.set_ice_servers(
        w.now,
        vec![turn(
            &format!("turn:{UDP_SERVER}?transport=udp"),
            USER,
            "wrong",
        )],
    );
    assert!(w.run_until(Duration::from_secs(60), |w| !w.failures().is_empty()));
    assert!(
        w.elapsed() < Duration::from_secs(2),
        "RelayFailed after {:?}",
        w.elapsed()
    );
    assert!(
        matches!(
            w.failures()[0],
            NetEvent::RelayFailed {
                proto: Some(RelayProto::Udp),
                reason: RelayError::Rejected(401),
                ..
            }
        ),
        "{:?}",
        w.failures()
    );
    assert!(w.relay_candidates().is_empty());
    assert_eq!(w.net.poll_timeout(), None, "nothing left to do");
}

#[test]
fn silent_server_fails_the_relay_within_bounds() {
    // Before the allocation: the allocate time limit.
    let mut w = World::new(World::config());
    w.servers_gone = true;
    w.net.set_ice_servers(w.now, vec![udp_turn()]);
    assert!(w.run_until(Duration::from_secs(60), |w| !w.failures().is_empty()));
    assert!(w.elapsed() <= Duration::from_secs(12), "{:?}", w.elapsed());

    // After it, with a permission in use: the next refresh finds the silence.
    let (mut w, relay) = allocated();
    w.send_from(relay, b"a");
    w.servers_gone = true;
    let gone_at = w.elapsed();
    assert!(w.run_until(Duration::from_secs(3600), |w| w.gone() == 1
        && !w.failures().is_empty()));
    let took = w.elapsed() - gone_at;
    assert!(took < Duration::from_secs(300), "took {took:?}");
}

#[test]
fn close_deletes_the_allocation_on_the_server() {
    let (mut w, relay) = allocated();
    w.send_from(relay, b"a");
    let t0 = w.elapsed();
    w.net.close(w.now);
    assert!(w.run_until(t0 + Duration::from_secs(3), |w| w.net.is_closed()));
    assert!(
        w.elapsed() - t0 < Duration::from_millis(500),
        "closed after {:?}",
        w.elapsed() - t0
    );
    assert_eq!(
        w.closed_sockets,
        vec![relay],
        "the server closed the relay socket"
    );
    assert_eq!(w.gone(), 1);
    // Closing against a silent server still ends within the bound.
    let (mut w, _) = allocated();
    w.servers_gone = true;
    let t0 = w.elapsed();
    w.net.close(w.now);
    assert!(w.run_until(t0 + Duration::from_secs(5), |w| w.net.is_closed()));
    assert!(w.elapsed() - t0 <= Duration::from_secs(2) + Duration::from_millis(10));
}

#[test]
fn tcp_relay_over_a_byte_stream() {
    let mut w = World::new(World::config());
    w.net.set_ice_servers(
        w.now,
        vec![turn(
            &format!("turn:{TCP_SERVER}?transport=tcp"),
            USER,
            PASS,
        )],
    );
    assert!(w.run_until(Duration::from_secs(5), |w| !w.relay_candidates().is_empty()));
    let c = w.relay_candidates()[0].clone();
    assert_eq!(c.prio() >> 24, 1);
    assert_eq!(c.proto(), str0m::net::Protocol::Udp, "the peer side is UDP");
    let relay = c.addr();
    w.send_from(relay, b"over-tcp");
    assert_eq!(w.peer_inbox, vec![(relay, b"over-tcp".to_vec())]);
    w.peer_sends(relay, b"back-tcp");
    let d = w.relayed.last().expect("peer data over the stream");
    assert_eq!((d.peer, &d.contents[..]), (addr(PEER), &b"back-tcp"[..]));
    // EOF from the server side: the relay is gone, never fatal.
    let stream = *w.streams.keys().next().unwrap();
    w.net.handle_stream_data(w.now, stream, &[]);
    w.settle();
    assert_eq!(w.gone(), 1);
    assert!(matches!(
        w.failures()[0],
        NetEvent::RelayFailed {
            reason: RelayError::StreamClosed,
            ..
        }
    ));
    assert!(!w.streams[&stream], "the stream is closed");
}

/// A service bound to every interface has a 127.0.0.1 socket too: it never
/// talks to a remote server. New credentials then replace the allocation on
/// the one socket that reaches the server (old deleted first), instead of a
/// new one from loopback that could never be answered.
#[test]
fn loopback_sockets_are_not_used_for_a_remote_server() {
    let mut w = World::new(NetConfig {
        host_addrs: vec![addr(HOST), addr("127.0.0.1:5002")],
        ..World::config()
    });
    w.net.set_ice_servers(w.now, vec![udp_turn()]);
    assert!(w.run_until(Duration::from_secs(5), |w| w.relay_candidates().len() == 1));
    let old = w.relay_candidates()[0].addr();
    let mut fresh = udp_turn();
    fresh.username = Some("1800000000:alice".into());
    w.udp.add_user("1800000000:alice".into(), PASS.into());
    w.net.set_ice_servers(w.now, vec![fresh]);
    assert!(w.run_until(Duration::from_secs(10), |w| {
        w.closed_sockets.contains(&old) && w.relay_candidates().len() == 1
    }));
    assert_ne!(w.relay_candidates()[0].addr(), old);
    assert!(w.failures().is_empty(), "{:?}", w.failures());
}

#[test]
fn new_credentials_mean_a_new_allocation() {
    // Two host sockets: the new allocation comes up beside the old one,
    // which retires later.
    let second = addr("192.0.2.2:5001");
    let mut w = World::new(NetConfig {
        host_addrs: vec![addr(HOST), second],
        ..World::config()
    });
    w.net.set_ice_servers(w.now, vec![udp_turn()]);
    assert!(w.run_until(Duration::from_secs(5), |w| w.relay_candidates().len() == 1));
    let old = w.relay_candidates()[0].addr();
    let mut fresh = udp_turn();
    fresh.username = Some("1800000000:alice".into());
    w.udp.add_user("1800000000:alice".into(), PASS.into());
    w.net.set_ice_servers(w.now, vec![fresh.clone()]);
    assert!(w.run_until(Duration::from_secs(10), |w| w.relay_candidates().len() == 2));
    assert!(w.closed_sockets.is_empty(), "the old one is still there");
    assert!(w.run_until(Duration::from_secs(400), |w| w
        .closed_sockets
        .contains(&old)));
    assert_eq!(w.relay_candidates().len(), 1);
    assert_ne!(w.relay_candidates()[0].addr(), old);

    // One host socket: the server keys allocations by 5-tuple, so the old
    // one is deleted first, then the new one is made.
    let (mut w, old) = allocated();
    w.udp.add_user("1800000000:alice".into(), PASS.into());
    w.net.set_ice_servers(w.now, vec![fresh]);
    assert!(w.run_until(Duration::from_secs(10), |w| {
        w.closed_sockets.contains(&old) && w.relay_candidates().len() == 1
    }));
    assert_ne!(w.relay_candidates()[0].addr(), old);
    assert!(w.failures().is_empty(), "{:?}", w.failures());
}

#[test]
fn a_relay_that_failed_is_tried_again_and_comes_up_when_the_server_is_back() {
    // The server is silent through the first attempt (10 s limit), then back:
    // the retry 1 s later allocates.
    let mut w = World::new(World::config());
    w.servers_gone = true;
    w.net.set_ice_servers(w.now, vec![udp_turn()]);
    assert!(w.run_until(Duration::from_secs(60), |w| !w.failures().is_empty()));
    let failed_at = w.elapsed();
    w.servers_gone = false;
    assert!(w.run_until(Duration::from_secs(60), |w| !w
        .relay_candidates()
        .is_empty()));
    let back = w.elapsed() - failed_at;
    assert!(
        back <= Duration::from_secs(2),
        "allocated {back:?} after the failure"
    );
    assert_eq!(w.failures().len(), 1, "{:?}", w.failures());

    // Silent for good: the first attempt and RETRIES more, then nothing.
    let mut w = World::new(World::config());
    w.servers_gone = true;
    w.net.set_ice_servers(w.now, vec![udp_turn()]);
    w.run_for(Duration::from_secs(600));
    let relay_failures = w
        .failures()
        .into_iter()
        .filter(|e| matches!(e, NetEvent::RelayFailed { proto: Some(_), .. }))
        .count();
    assert_eq!(
        relay_failures,
        1 + proxy_str0m::net::RETRIES as usize,
        "{:?}",
        w.failures()
    );
    assert_eq!(w.net.poll_timeout(), None, "nothing left to do");
}

#[test]
fn a_relay_lost_soon_after_each_allocation_is_not_retried_forever() {
    // The server allocates, then drops the stream at once, every time.
    let mut w = World::new(World::config());
    w.net.set_ice_servers(
        w.now,
        vec![turn(
            &format!("turn:{TCP_SERVER}?transport=tcp"),
            USER,
            PASS,
        )],
    );
    let made = |w: &World| {
        w.events
            .iter()
            .filter(|e| matches!(e, NetEvent::LocalCandidate(c) if c.kind() == str0m::CandidateKind::Relayed))
            .count()
    };
    let mut allocations = 0;
    for _ in 0..10 {
        if !w.run_until(Duration::from_secs(60), |w| made(w) > allocations) {
            break;
        }
        allocations += 1;
        let open: Vec<_> = w
            .streams
            .iter()
            .filter(|(_, o)| **o)
            .map(|(s, _)| *s)
            .collect();
        for s in open {
            w.net.handle_stream_data(w.now, s, &[]);
        }
        w.settle();
    }
    assert_eq!(allocations, 1 + proxy_str0m::net::RETRIES as usize);
}
