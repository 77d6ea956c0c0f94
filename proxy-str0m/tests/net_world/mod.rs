//! A world for [`Network`] tests: the network under test, turn-server-proto
//! TURN servers in memory (UDP and TCP), one remote peer, and a virtual
//! clock that jumps to the next deadline of either side.
//!
//! Transaction ids and nonces come from the OS RNG inside the turn crates,
//! so tests assert behaviour (events, addresses, payloads), never bytes.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proxy_str0m::net::{Incoming, NetConfig, NetEvent, NetOutput, Network, Relayed, StreamId};
use proxy_str0m::Transmit;
use turn_server_proto::api::{TurnServerApi, TurnServerPollRet};
use turn_server_proto::server::TurnServer;
use turn_server_proto::stun::agent::Transmit as TurnTransmit;
use turn_server_proto::types::{Instant as TurnInstant, TransportType};

/// Our UDP host socket.
pub const HOST: &str = "192.0.2.2:5000";
/// Our end of TCP streams.
pub const TCP_LOCAL: &str = "192.0.2.2:40000";

/// The local end of TCP connection `stream`: each its own port, as a real
/// connection would have (from [`TCP_LOCAL`]'s on).
pub fn tcp_local(stream: StreamId) -> SocketAddr {
    let base = addr(TCP_LOCAL);
    SocketAddr::new(base.ip(), base.port().wrapping_add(stream.0 as u16))
}
/// The UDP TURN server (also answers Binding, and sees us NATed: see `nat`).
pub const UDP_SERVER: &str = "203.0.113.1:3478";
/// The TCP TURN server.
pub const TCP_SERVER: &str = "203.0.113.2:3478";
/// The remote peer.
pub const PEER: &str = "198.51.100.2:6000";
pub const USER: &str = "1700000000:alice";
pub const PASS: &str = "pw";

pub fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

/// The world.
pub struct World {
    pub start: Instant,
    pub now: Instant,
    pub net: Network,
    pub udp: TurnServer,
    pub tcp: TurnServer,
    /// Relay addresses the servers allocated, with the server's listen address.
    pub relays: Vec<(SocketAddr, SocketAddr)>,
    /// Relay sockets the servers closed (allocations deleted or expired).
    pub closed_sockets: Vec<SocketAddr>,
    /// What the peer received: (from relay, payload).
    pub peer_inbox: Vec<(SocketAddr, Vec<u8>)>,
    pub events: Vec<NetEvent>,
    /// Peer data out of the network (both paths).
    pub relayed: Vec<Relayed>,
    /// Streams: id -> open.
    pub streams: HashMap<StreamId, bool>,
    /// Drop everything sent to the servers.
    pub servers_gone: bool,
    /// The NAT mapping the UDP server sees for HOST (None: no NAT).
    pub nat: Option<SocketAddr>,
    /// Datagrams the network left unclaimed.
    pub unclaimed: usize,
    /// Deliver every UDP reply of the server twice (a duplicating network).
    pub duplicate: bool,
}

impl World {
    pub fn new(config: NetConfig) -> World {
        let start = Instant::now();
        let mut udp = TurnServer::new(TransportType::Udp, addr(UDP_SERVER), "realm".into());
        let mut tcp = TurnServer::new(TransportType::Tcp, addr(TCP_SERVER), "realm".into());
        udp.add_user(USER.into(), PASS.into());
        tcp.add_user(USER.into(), PASS.into());
        World {
            start,
            now: start,
            net: Network::new(start, config),
            udp,
            tcp,
            relays: Vec::new(),
            closed_sockets: Vec::new(),
            peer_inbox: Vec::new(),
            events: Vec::new(),
            relayed: Vec::new(),
            streams: HashMap::new(),
            servers_gone: false,
            nat: None,
            unclaimed: 0,
            duplicate: false,
        }
    }

    /// The default config: one host socket.
    pub fn config() -> NetConfig {
        NetConfig {
            host_addrs: vec![addr(HOST)],
            ..NetConfig::default()
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    fn t(&self) -> TurnInstant {
        TurnInstant::from_nanos((self.now - self.start).as_nanos() as i64)
    }

    /// Drains the network and the servers until quiet.
    pub fn settle(&mut self) {
        for _ in 0..10_000 {
            let mut busy = false;
            while let Some(o) = self.net.poll_output() {
                busy = true;
                self.output(o);
            }
            busy |= self.poll_servers();
            if !busy {
                return;
            }
        }
        panic!("no quiet after 10000 rounds");
    }

    fn output(&mut self, o: NetOutput) {
        match o {
            NetOutput::Transmit(t) => self.deliver_udp(t),
            NetOutput::Resolve { host, .. } => {
                let ip = if host.contains("tcp") {
                    addr(TCP_SERVER).ip()
                } else {
                    addr(UDP_SERVER).ip()
                };
                self.net.handle_resolved(self.now, &host, Ok(vec![ip]));
            }
            NetOutput::Connect { stream, server } => {
                assert_eq!(server, addr(TCP_SERVER));
                self.streams.insert(stream, true);
                if self.servers_gone {
                    self.net.handle_stream_closed(self.now, stream);
                } else {
                    self.net
                        .handle_stream_connected(self.now, stream, tcp_local(stream));
                }
            }
            NetOutput::StreamSend { stream, bytes } => {
                if self.servers_gone || self.streams.get(&stream) != Some(&true) {
                    return;
                }
                let t = TurnTransmit::new(
                    bytes.to_vec(),
                    TransportType::Tcp,
                    tcp_local(stream),
                    addr(TCP_SERVER),
                );
                if let Some(reply) = self.tcp.recv(t, self.t()) {
                    let reply = reply.build();
                    self.server_sent(reply.transport, reply.from, reply.to, reply.data);
                }
            }
            NetOutput::StreamClose { stream } => {
                self.streams.insert(stream, false);
            }
            NetOutput::Relayed(d) => self.relayed.push(d),
            NetOutput::Event(e) => self.events.push(e),
        }
    }

    fn deliver_udp(&mut self, t: Transmit) {
        assert_eq!(
            t.source.ip(),
            addr(HOST).ip(),
            "UDP only from a host socket"
        );
        if self.servers_gone || t.destination != addr(UDP_SERVER) {
            return;
        }
        let from = if t.source == addr(HOST) {
            self.nat.unwrap_or(t.source)
        } else {
            t.source
        };
        let tt = TurnTransmit::new(t.contents.to_vec(), TransportType::Udp, from, t.destination);
        if let Some(reply) = self.udp.recv(tt, self.t()) {
            let reply = reply.build();
            // turn-server-proto 0.7.3 addresses Binding responses to its own
            // listen address (`handle_stun_binding` sends to `transmit.to`):
            // they belong to the requester.
            let to = if reply.to == reply.from {
                from
            } else {
                reply.to
            };
            self.server_sent(reply.transport, reply.from, to, reply.data);
        }
    }

    /// Something a server sends: to us (UDP or stream) or, from a relay, to the peer.
    fn server_sent(
        &mut self,
        transport: TransportType,
        from: SocketAddr,
        to: SocketAddr,
        data: Vec<u8>,
    ) {
        if self.relays.iter().any(|(r, _)| *r == from) {
            assert_eq!(to, addr(PEER));
            self.peer_inbox.push((from, data));
            return;
        }
        match transport {
            TransportType::Tcp => {
                let open: Vec<StreamId> = self
                    .streams
                    .iter()
                    .filter(|(s, o)| **o && tcp_local(**s) == to)
                    .map(|(s, _)| *s)
                    .collect();
                for s in open {
                    self.net.handle_stream_data(self.now, s, &data);
                }
            }
            TransportType::Udp => {
                let to = if Some(to) == self.nat { addr(HOST) } else { to };
                for _ in 0..1 + usize::from(self.duplicate) {
                    match self.net.handle_receive(self.now, from, to, &data) {
                        Incoming::Relayed(d) => self.relayed.push(d),
                        Incoming::Consumed => {}
                        Incoming::Unclaimed => self.unclaimed += 1,
                    }
                }
            }
        }
    }

    fn poll_servers(&mut self) -> bool {
        let mut busy = false;
        let now = self.t();
        for tcp in [false, true] {
            loop {
                let n = self.relays.len() as u16;
                let server = if tcp { &mut self.tcp } else { &mut self.udp };
                match server.poll(now) {
                    TurnServerPollRet::AllocateSocket {
                        transport,
                        listen_addr,
                        client_addr,
                        allocation_transport,
                        family,
                    } => {
                        let port = 50_000 + n;
                        let relay = SocketAddr::new(listen_addr.ip(), port);
                        server.allocated_socket(
                            transport,
                            listen_addr,
                            client_addr,
                            allocation_transport,
                            family,
                            Ok(relay),
                            now,
                        );
                        self.relays.push((relay, listen_addr));
                        busy = true;
                    }
                    TurnServerPollRet::SocketClose { listen_addr, .. } => {
                        self.closed_sockets.push(listen_addr);
                        busy = true;
                    }
                    _ => break,
                }
            }
            loop {
                let server = if tcp { &mut self.tcp } else { &mut self.udp };
                let Some(t) = server.poll_transmit(now) else {
                    break;
                };
                busy = true;
                if !self.servers_gone {
                    self.server_sent(t.transport, t.from, t.to, t.data);
                }
            }
        }
        busy
    }

    /// The peer sends `data` to our relay `relay`.
    pub fn peer_sends(&mut self, relay: SocketAddr, data: &[u8]) {
        let (_, listen) = *self
            .relays
            .iter()
            .find(|(r, _)| *r == relay)
            .expect("a relay");
        let now = self.t();
        let server = if listen == addr(TCP_SERVER) {
            &mut self.tcp
        } else {
            &mut self.udp
        };
        let t = TurnTransmit::new(data.to_vec(), TransportType::Udp, addr(PEER), relay);
        if let Some(reply) = server.recv(t, now) {
            let reply = reply.build();
            self.server_sent(reply.transport, reply.from, reply.to, reply.data);
        }
        self.settle();
    }

    /// str0m sends `data` from `source` to the peer.
    pub fn send_from(&mut self, source: SocketAddr, data: &[u8]) {
        let t = Transmit {
            source,
            destination: addr(PEER),
            contents: data.to_vec().into(),
        };
        if let Some(t) = self.net.route(self.now, t) {
            self.deliver_udp(t);
        }
        // A new permission may wait for the client's 50 ms request cadence.
        self.run_for(Duration::from_millis(200));
    }

    /// Runs the clock for `d`.
    pub fn run_for(&mut self, d: Duration) {
        let end = self.elapsed() + d;
        self.run_until(end, |_| false);
    }

    /// Runs the clock until `done` or `limit` of virtual time since start.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&World) -> bool) -> bool {
        self.settle();
        while !done(self) {
            let mut next = self.now + Duration::from_secs(1);
            if let Some(t) = self.net.poll_timeout() {
                next = next.min(t);
            }
            for s in [&mut self.udp, &mut self.tcp] {
                if let TurnServerPollRet::WaitUntil(t) = s.poll(TurnInstant::from_nanos(
                    (self.now - self.start).as_nanos() as i64,
                )) {
                    let t = self.start + Duration::from_nanos(t.as_nanos().max(0) as u64);
                    next = next.min(t);
                }
            }
            self.now = next.max(self.now + Duration::from_millis(1));
            if self.elapsed() > limit {
                return false;
            }
            self.net.handle_timeout(self.now);
            self.settle();
        }
        true
    }

    /// Relayed candidates announced so far (and not gone).
    pub fn relay_candidates(&self) -> Vec<str0m::Candidate> {
        let mut out = Vec::new();
        for e in &self.events {
            match e {
                NetEvent::LocalCandidate(c) if c.kind() == str0m::CandidateKind::Relayed => {
                    out.push(c.clone())
                }
                NetEvent::CandidateGone(c) => out.retain(|x| x != c),
                _ => {}
            }
        }
        out
    }

    pub fn srflx_candidates(&self) -> Vec<str0m::Candidate> {
        self.events
            .iter()
            .filter_map(|e| match e {
                NetEvent::LocalCandidate(c)
                    if c.kind() == str0m::CandidateKind::ServerReflexive =>
                {
                    Some(c.clone())
                }
                _ => None,
            })
            .collect()
    }

    pub fn failures(&self) -> Vec<&NetEvent> {
        self.events
            .iter()
            .filter(|e| matches!(e, NetEvent::RelayFailed { .. }))
            .collect()
    }

    pub fn gone(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, NetEvent::CandidateGone(_)))
            .count()
    }
}
