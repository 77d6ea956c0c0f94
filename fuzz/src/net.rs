//! The `net_router` target: a [`ProxyConnection`] with TURN servers over UDP
//! and TCP (turn-server-proto, in memory) and a session started (optionally
//! answered by a second connection, so ICE checks go out through the
//! relays), fed a list of operations: the servers' genuine traffic as is,
//! edited, or lost; arbitrary datagrams from the servers, the peer, a relay
//! or elsewhere to the host socket, a relayed address or elsewhere;
//! arbitrary stream bytes, EOF and stream failures; peer data through the
//! server to our relayed address; frames (str0m's transmits are routed);
//! time steps; the servers vanishing; new server lists; stop.
//!
//! Checks: nothing panics, every drain ends (bounded outputs per input),
//! every advance of the clock ends, and 5 s after a stop no timer is left.
//!
//! Byte format (hand-writable, see [`encode_net`]): one flags byte (bit 0:
//! relay-only policy, bit 1: the peer answers), then operations, each a tag
//! byte (`% 12`) and its arguments (`word` = two bytes little-endian,
//! `bytes` = a word length `% 1500` and that many bytes).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Result, Unstructured};
use proxy_core::{Config, IceServer, IceServerKind, LocalTrack, OutgoingIq, ProxyMessage};
use proxy_str0m::net::IceTransportPolicy;
use proxy_str0m::net::StreamId;
use proxy_str0m::{Output, ProxyConfig, ProxyConnection};
use turn_server_proto::api::{TurnServerApi, TurnServerPollRet};
use turn_server_proto::server::TurnServer;
use turn_server_proto::stun::agent::Transmit as TurnTransmit;
use turn_server_proto::types::{Instant as TurnInstant, TransportType};

const A_JID: &str = "sender@example.com/s1";
const B_JID: &str = "receiver@example.com/r1";
/// Our host socket.
const HOST: &str = "192.0.2.2:5000";
/// Our end of the TCP stream.
const TCP_LOCAL: &str = "192.0.2.2:40000";
const UDP_SERVER: &str = "203.0.113.1:3478";
const TCP_SERVER: &str = "203.0.113.2:3478";
/// The peer (its host candidate, and where relayed data comes from).
const PEER: &str = "198.51.100.2:6000";
const USER: &str = "1700000000:fuzz";
const PASS: &str = "pw";

/// Outputs one input may cause before the drain is declared endless.
const MAX_OUTPUTS_PER_INPUT: usize = 100_000;
/// Most operations in one input.
const MAX_NET_OPS: usize = 128;
/// Longest datagram or stream chunk.
const MAX_LEN: u16 = 1500;
/// Longest clock step (ms).
const MAX_STEP_MS: u16 = 20_000;

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("a literal address")
}

/// Who a datagram is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum From {
    UdpServer,
    TcpServer,
    Peer,
    /// A relayed address the UDP server allocated (index modulo their number).
    ServerRelay(u8),
    /// Somewhere else.
    Other(u8),
}

/// Where a datagram is to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum To {
    Host,
    /// One of our relayed addresses (index modulo their number).
    OurRelay(u8),
    Other(u8),
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetOp {
    /// The servers' pending traffic reaches the connection, as is.
    Deliver,
    /// The clock moves `ms` (timers run on the way).
    Advance(u16),
    /// The next pending server datagram or chunk arrives with these edits:
    /// (position, xor) pairs, then cut to `truncate` if shorter.
    Mangle {
        edits: Vec<(u16, u8)>,
        truncate: u16,
    },
    /// The next pending server datagram or chunk is lost.
    Lose,
    /// An arbitrary datagram.
    Datagram { from: From, to: To, bytes: Vec<u8> },
    /// Arbitrary bytes on the open TCP stream (empty: EOF).
    Stream(Vec<u8>),
    /// The TCP stream fails.
    StreamClosed,
    /// The peer sends these bytes to our relayed address through the server.
    PeerToRelay(u8, Vec<u8>),
    /// A frame of this size is written (str0m's transmits are routed).
    Frame(u16),
    /// The servers vanish (drop everything) or come back.
    ServersGone(bool),
    /// New ICE servers through the API: bit 0 UDP, bit 1 TCP, bit 2 a wrong
    /// password, bit 3 a STUN server.
    SetServers(u8),
    /// The session is stopped.
    Stop,
}

/// The `net_router` target's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetInput {
    pub relay_only: bool,
    pub answered: bool,
    pub ops: Vec<NetOp>,
}

fn byte(u: &mut Unstructured<'_>) -> Result<u8> {
    u8::arbitrary(u)
}

fn word(u: &mut Unstructured<'_>) -> Result<u16> {
    Ok(u16::from_le_bytes([byte(u)?, byte(u)?]))
}

fn bytes(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let n = word(u)? % (MAX_LEN + 1);
    let n = usize::from(n).min(u.len());
    Ok(u.bytes(n)?.to_vec())
}

fn from(b: u8) -> From {
    match b % 5 {
        0 => From::UdpServer,
        1 => From::TcpServer,
        2 => From::Peer,
        3 => From::ServerRelay(b / 5),
        _ => From::Other(b / 5),
    }
}

fn to(b: u8) -> To {
    match b % 3 {
        0 => To::Host,
        1 => To::OurRelay(b / 3),
        _ => To::Other(b / 3),
    }
}

fn net_op(u: &mut Unstructured<'_>) -> Result<NetOp> {
    Ok(match byte(u)? % 12 {
        0 => NetOp::Deliver,
        1 => NetOp::Advance(word(u)? % (MAX_STEP_MS + 1)),
        2 => {
            let n = byte(u)? % 4;
            let mut edits = Vec::new();
            for _ in 0..n {
                edits.push((word(u)?, byte(u)?));
            }
            NetOp::Mangle {
                edits,
                truncate: word(u)?,
            }
        }
        3 => NetOp::Lose,
        4 => NetOp::Datagram {
            from: from(byte(u)?),
            to: to(byte(u)?),
            bytes: bytes(u)?,
        },
        5 => NetOp::Stream(bytes(u)?),
        6 => NetOp::StreamClosed,
        7 => NetOp::PeerToRelay(byte(u)?, bytes(u)?),
        8 => NetOp::Frame(word(u)? % 8000),
        9 => NetOp::ServersGone(byte(u)? & 1 == 1),
        10 => NetOp::SetServers(byte(u)?),
        _ => NetOp::Stop,
    })
}

impl<'a> Arbitrary<'a> for NetInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let flags = byte(u)?;
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_NET_OPS {
            ops.push(net_op(u)?);
        }
        Ok(NetInput {
            relay_only: flags & 1 == 1,
            answered: flags & 2 == 2,
            ops,
        })
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let n = b.len().min(usize::from(MAX_LEN));
    out.extend((n as u16).to_le_bytes());
    out.extend(&b[..n]);
}

fn from_byte(f: From) -> u8 {
    match f {
        From::UdpServer => 0,
        From::TcpServer => 1,
        From::Peer => 2,
        From::ServerRelay(i) => 3 + 5 * (i % 51),
        From::Other(i) => 4 + 5 * (i % 51),
    }
}

fn to_byte(t: To) -> u8 {
    match t {
        To::Host => 0,
        To::OurRelay(i) => 1 + 3 * (i % 85),
        To::Other(i) => 2 + 3 * (i % 85),
    }
}

/// The bytes that decode to `input` (for seeds).
pub fn encode_net(input: &NetInput) -> Vec<u8> {
    let mut out = vec![u8::from(input.relay_only) | (u8::from(input.answered) << 1)];
    for op in &input.ops {
        match op {
            NetOp::Deliver => out.push(0),
            NetOp::Advance(ms) => {
                out.push(1);
                out.extend(ms.to_le_bytes());
            }
            NetOp::Mangle { edits, truncate } => {
                out.push(2);
                out.push(edits.len().min(3) as u8);
                for (pos, x) in edits.iter().take(3) {
                    out.extend(pos.to_le_bytes());
                    out.push(*x);
                }
                out.extend(truncate.to_le_bytes());
            }
            NetOp::Lose => out.push(3),
            NetOp::Datagram { from, to, bytes } => {
                out.extend([4, from_byte(*from), to_byte(*to)]);
                put_bytes(&mut out, bytes);
            }
            NetOp::Stream(b) => {
                out.push(5);
                put_bytes(&mut out, b);
            }
            NetOp::StreamClosed => out.push(6),
            NetOp::PeerToRelay(i, b) => {
                out.extend([7, *i]);
                put_bytes(&mut out, b);
            }
            NetOp::Frame(n) => {
                out.push(8);
                out.extend(n.to_le_bytes());
            }
            NetOp::ServersGone(g) => out.extend([9, u8::from(*g)]),
            NetOp::SetServers(m) => out.extend([10, *m]),
            NetOp::Stop => out.push(11),
        }
    }
    out
}

/// Something a server sent us, not delivered yet.
#[derive(Debug)]
enum Inbound {
    Datagram {
        from: SocketAddr,
        to: SocketAddr,
        bytes: Vec<u8>,
    },
    Stream(Vec<u8>),
}

impl Inbound {
    fn bytes_mut(&mut self) -> &mut Vec<u8> {
        match self {
            Inbound::Datagram { bytes, .. } | Inbound::Stream(bytes) => bytes,
        }
    }
}

fn server(at: &str, proto: proxy_core::extdisco::IceTransport, pass: &str) -> IceServer {
    let a = addr(at);
    IceServer {
        kind: IceServerKind::Turn,
        host: a.ip().to_string(),
        port: a.port(),
        transport: Some(proto),
        username: Some(USER.into()),
        password: Some(pass.into()),
        expires: None,
    }
}

fn servers(mask: u8) -> Vec<IceServer> {
    use proxy_core::extdisco::IceTransport;
    let pass = if mask & 4 == 4 { "wrong" } else { PASS };
    let mut out = Vec::new();
    if mask & 1 == 1 {
        out.push(server(UDP_SERVER, IceTransport::Udp, pass));
    }
    if mask & 2 == 2 {
        out.push(server(TCP_SERVER, IceTransport::Tcp, pass));
    }
    if mask & 8 == 8 {
        let a = addr(UDP_SERVER);
        out.push(IceServer {
            kind: IceServerKind::Stun,
            host: a.ip().to_string(),
            port: a.port(),
            transport: None,
            username: None,
            password: None,
            expires: None,
        });
    }
    out
}

/// The connection under test, its peer, the servers, the clock.
struct World {
    start: Instant,
    now: Instant,
    a: ProxyConnection,
    /// The answering peer (its datagrams go nowhere).
    b: Option<ProxyConnection>,
    udp: TurnServer,
    tcp: TurnServer,
    /// Relayed addresses the UDP server allocated (ours: the peer uses no
    /// server).
    server_relays: Vec<SocketAddr>,
    /// The open TCP stream.
    stream: Option<StreamId>,
    inbox: VecDeque<Inbound>,
    gone: bool,
    timeout: Option<Instant>,
    frames: u32,
    /// Datagrams the server relayed from our allocation to the peer.
    to_peer: usize,
}

impl World {
    fn new(input: &NetInput) -> World {
        let start = Instant::now();
        let mut udp = TurnServer::new(TransportType::Udp, addr(UDP_SERVER), "realm".into());
        let mut tcp = TurnServer::new(TransportType::Tcp, addr(TCP_SERVER), "realm".into());
        udp.add_user(USER.into(), PASS.into());
        tcp.add_user(USER.into(), PASS.into());
        let policy = if input.relay_only {
            IceTransportPolicy::Relay
        } else {
            IceTransportPolicy::All
        };
        let a = ProxyConnection::new(
            start,
            ProxyConfig {
                core: Config {
                    seed: 1,
                    ice_servers: servers(3),
                    ..Config::default()
                },
                local_addrs: vec![addr(HOST)],
                ice_transport_policy: policy,
                ..ProxyConfig::default()
            },
        );
        let b = input.answered.then(|| {
            ProxyConnection::new(
                start,
                ProxyConfig {
                    core: Config {
                        seed: 2,
                        ..Config::default()
                    },
                    local_addrs: vec![addr(PEER)],
                    ..ProxyConfig::default()
                },
            )
        });
        World {
            start,
            now: start,
            a,
            b,
            udp,
            tcp,
            server_relays: Vec::new(),
            stream: None,
            inbox: VecDeque::new(),
            gone: false,
            timeout: None,
            frames: 0,
            to_peer: 0,
        }
    }

    fn t(&self) -> TurnInstant {
        TurnInstant::from_nanos((self.now - self.start).as_nanos() as i64)
    }

    /// Drains both connections and the servers until quiet (bounded).
    fn drain(&mut self) {
        let mut outputs = 0usize;
        for _ in 0..64 {
            let mut busy = false;
            loop {
                let o = self.a.poll_output();
                outputs += 1;
                assert!(
                    outputs < MAX_OUTPUTS_PER_INPUT,
                    "the connection's outputs do not end"
                );
                match o {
                    Output::Timeout(t) => {
                        self.timeout = t;
                        break;
                    }
                    o => {
                        busy = true;
                        self.output(o);
                    }
                }
            }
            if let Some(b) = self.b.as_mut() {
                let mut to_a = Vec::new();
                for _ in 0..MAX_OUTPUTS_PER_INPUT {
                    match b.poll_output() {
                        Output::Timeout(_) => break,
                        Output::Iq(OutgoingIq { to, iq }) if to == A_JID => to_a.push(iq),
                        _ => {}
                    }
                }
                for iq in to_a {
                    busy = true;
                    self.a.handle_message(
                        self.now,
                        ProxyMessage {
                            from: B_JID.into(),
                            iq,
                        },
                    );
                }
            }
            busy |= self.poll_servers();
            if !busy {
                return;
            }
        }
    }

    fn output(&mut self, o: Output) {
        match o {
            Output::Transmit(t) => {
                if t.destination == addr(UDP_SERVER) && !self.gone {
                    let from = t.source;
                    let tt = TurnTransmit::new(
                        t.contents.to_vec(),
                        TransportType::Udp,
                        from,
                        t.destination,
                    );
                    if let Some(reply) = self.udp.recv(tt, self.t()) {
                        let r = reply.build();
                        // Binding responses come addressed to the server itself.
                        let to = if r.to == r.from { from } else { r.to };
                        self.server_sent(r.from, to, r.data);
                    }
                }
            }
            Output::Connect { stream, .. } => {
                if self.gone {
                    self.a.handle_stream_closed(self.now, stream);
                } else {
                    self.stream = Some(stream);
                    self.a
                        .handle_stream_connected(self.now, stream, addr(TCP_LOCAL));
                }
            }
            Output::StreamSend { stream, bytes } => {
                if self.gone || self.stream != Some(stream) {
                    return;
                }
                let tt = TurnTransmit::new(
                    bytes.to_vec(),
                    TransportType::Tcp,
                    addr(TCP_LOCAL),
                    addr(TCP_SERVER),
                );
                if let Some(reply) = self.tcp.recv(tt, self.t()) {
                    let r = reply.build();
                    self.server_sent(r.from, r.to, r.data);
                }
            }
            Output::StreamClose { stream } => {
                if self.stream == Some(stream) {
                    self.stream = None;
                }
            }
            Output::Resolve { host, .. } => {
                self.a
                    .handle_resolved(self.now, &host, Err("no DNS here".into()));
            }
            Output::Iq(OutgoingIq { to, iq }) => {
                if to == B_JID {
                    if let Some(b) = self.b.as_mut() {
                        b.handle_message(
                            self.now,
                            ProxyMessage {
                                from: A_JID.into(),
                                iq,
                            },
                        );
                    }
                }
            }
            Output::Event(_) | Output::Timeout(_) => {}
        }
    }

    /// Something a server sends: to us (queued) or from a relay to the peer (dropped).
    fn server_sent(&mut self, from: SocketAddr, to: SocketAddr, data: Vec<u8>) {
        if self.gone || self.inbox.len() >= 4096 {
            return;
        }
        if self.server_relays.contains(&from) {
            self.to_peer += 1;
        } else if to == addr(TCP_LOCAL) {
            self.inbox.push_back(Inbound::Stream(data));
        } else if to == addr(HOST) {
            self.inbox.push_back(Inbound::Datagram {
                from,
                to,
                bytes: data,
            });
        }
    }

    fn poll_servers(&mut self) -> bool {
        let mut busy = false;
        let now = self.t();
        for tcp in [false, true] {
            for _ in 0..64 {
                let n = self.server_relays.len() as u16;
                let server = if tcp { &mut self.tcp } else { &mut self.udp };
                match server.poll(now) {
                    TurnServerPollRet::AllocateSocket {
                        transport,
                        listen_addr,
                        client_addr,
                        allocation_transport,
                        family,
                    } => {
                        let relay = SocketAddr::new(listen_addr.ip(), 50_000 + n);
                        server.allocated_socket(
                            transport,
                            listen_addr,
                            client_addr,
                            allocation_transport,
                            family,
                            Ok(relay),
                            now,
                        );
                        if !tcp {
                            self.server_relays.push(relay);
                        }
                        busy = true;
                    }
                    TurnServerPollRet::SocketClose { .. } => busy = true,
                    _ => break,
                }
            }
            for _ in 0..1024 {
                let server = if tcp { &mut self.tcp } else { &mut self.udp };
                let Some(t) = server.poll_transmit(now) else {
                    break;
                };
                busy = true;
                self.server_sent(t.from, t.to, t.data);
            }
        }
        busy
    }

    fn feed(&mut self, item: Inbound) {
        match item {
            Inbound::Datagram { from, to, bytes } => {
                self.a.handle_receive(self.now, from, to, &bytes)
            }
            Inbound::Stream(bytes) => {
                if let Some(s) = self.stream {
                    if !bytes.is_empty() {
                        self.a.handle_stream_data(self.now, s, &bytes);
                    }
                }
            }
        }
        self.drain();
    }

    fn advance(&mut self, ms: u16) {
        let end = self.now + Duration::from_millis(u64::from(ms));
        // Each turn moves the clock by at least 1 ms: at most `ms` turns.
        while self.now < end {
            let next = self.timeout.map_or(end, |t| t.min(end));
            self.now = next.max(self.now + Duration::from_millis(1)).min(end);
            self.a.handle_timeout(self.now);
            if let Some(b) = self.b.as_mut() {
                b.handle_timeout(self.now);
            }
            self.drain();
        }
    }

    fn op(&mut self, op: &NetOp) {
        let now = self.now;
        match op {
            NetOp::Deliver => {
                for _ in 0..256 {
                    let Some(item) = self.inbox.pop_front() else {
                        break;
                    };
                    self.feed(item);
                }
            }
            NetOp::Advance(ms) => self.advance(*ms),
            NetOp::Mangle { edits, truncate } => {
                if let Some(mut item) = self.inbox.pop_front() {
                    let b = item.bytes_mut();
                    for (pos, x) in edits {
                        if !b.is_empty() {
                            let i = usize::from(*pos) % b.len();
                            b[i] ^= *x;
                        }
                    }
                    b.truncate(usize::from(*truncate));
                    self.feed(item);
                }
            }
            NetOp::Lose => {
                self.inbox.pop_front();
            }
            NetOp::Datagram { from, to, bytes } => {
                let pick = |list: &[SocketAddr], i: u8| {
                    (!list.is_empty()).then(|| list[usize::from(i) % list.len()])
                };
                let other = |i: u8| SocketAddr::from(([198, 51, 100, 100 + i % 100], 7000));
                let source = match from {
                    From::UdpServer => addr(UDP_SERVER),
                    From::TcpServer => addr(TCP_SERVER),
                    From::Peer => addr(PEER),
                    From::ServerRelay(i) => pick(&self.server_relays, *i).unwrap_or(other(*i)),
                    From::Other(i) => other(*i),
                };
                let destination = match to {
                    To::Host => addr(HOST),
                    To::OurRelay(i) => pick(&self.server_relays, *i).unwrap_or(addr(HOST)),
                    To::Other(i) => SocketAddr::from(([192, 0, 2, 3], 5000 + u16::from(*i))),
                };
                self.a.handle_receive(now, source, destination, bytes);
                self.drain();
            }
            NetOp::Stream(bytes) => {
                if let Some(s) = self.stream {
                    self.a.handle_stream_data(now, s, bytes);
                    self.drain();
                }
            }
            NetOp::StreamClosed => {
                if let Some(s) = self.stream.take() {
                    self.a.handle_stream_closed(now, s);
                    self.drain();
                }
            }
            NetOp::PeerToRelay(i, bytes) => {
                if self.server_relays.is_empty() || self.gone {
                    return;
                }
                let relay = self.server_relays[usize::from(*i) % self.server_relays.len()];
                let t = TurnTransmit::new(bytes.clone(), TransportType::Udp, addr(PEER), relay);
                if let Some(reply) = self.udp.recv(t, self.t()) {
                    let r = reply.build();
                    self.server_sent(r.from, r.to, r.data);
                }
                self.drain();
            }
            NetOp::Frame(len) => {
                let mut frame = vec![0u8; usize::from(*len).max(1)];
                frame[0] = 0x10; // VP8 payload descriptor: start of partition
                let pts = Duration::from_millis(40) * self.frames;
                self.frames += 1;
                let _ = self.a.write_frame(now, 0, pts, &frame);
                self.drain();
            }
            NetOp::ServersGone(gone) => {
                self.gone = *gone;
                if *gone {
                    self.inbox.clear();
                }
            }
            NetOp::SetServers(mask) => {
                self.a.set_ice_servers(now, &servers(*mask));
                self.drain();
            }
            NetOp::Stop => {
                self.a.stop(now);
                self.drain();
            }
        }
    }
}

/// Replays `input` on a fresh world (see the [module docs](self)).
pub fn run_net(input: &NetInput) {
    run_world(input);
}

fn run_world(input: &NetInput) -> World {
    let mut w = World::new(input);
    let now = w.now;
    let _ = w.a.start(now, B_JID, &[LocalTrack::desktop()]);
    w.drain();
    for op in &input.ops {
        w.op(op);
    }
    // Whatever happened, stopping ends in bounded time too: allocations are
    // deleted (or given up on) within 2 s, then no timer is left.
    let now = w.now;
    w.a.stop(now);
    w.drain();
    w.advance(5_000);
    assert_eq!(w.timeout, None, "timers still running 5 s after stop");
    w
}

/// Seeds for the corpus: a session that allocates, answers, sends frames
/// and has its server traffic edited, lost and forged.
pub fn net_seeds() -> Vec<(&'static str, NetInput)> {
    use NetOp::*;
    let setup = vec![
        Deliver,
        Advance(100),
        Deliver,
        Advance(100),
        Deliver,
        Advance(200),
    ];
    let with = |mut ops: Vec<NetOp>, more: Vec<NetOp>| {
        ops.extend(more);
        ops
    };
    vec![
        (
            "relay-session",
            NetInput {
                relay_only: true,
                answered: true,
                ops: with(
                    setup.clone(),
                    vec![
                        Frame(1200),
                        Deliver,
                        Advance(500),
                        Frame(3000),
                        Deliver,
                        Advance(2000),
                        Deliver,
                    ],
                ),
            },
        ),
        (
            "mangled-replies",
            NetInput {
                relay_only: true,
                answered: true,
                ops: vec![
                    Mangle {
                        edits: vec![(20, 0xff)],
                        truncate: 1500,
                    },
                    Deliver,
                    Advance(600),
                    Mangle {
                        edits: vec![(3, 0x01), (40, 0x80)],
                        truncate: 60,
                    },
                    Deliver,
                    Advance(600),
                    Deliver,
                ],
            },
        ),
        (
            "forged-datagrams",
            NetInput {
                relay_only: false,
                answered: true,
                ops: with(
                    setup.clone(),
                    vec![
                        Datagram {
                            from: From::UdpServer,
                            to: To::Host,
                            bytes: vec![0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4],
                        },
                        Datagram {
                            from: From::Peer,
                            to: To::OurRelay(0),
                            bytes: vec![
                                0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 0, 0, 0, 0, 0, 0,
                                0, 0, 0, 0, 0, 0,
                            ],
                        },
                        PeerToRelay(0, vec![0x80, 96, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]),
                        Deliver,
                        Stream(vec![0x01, 0x13, 0x00, 0x00]),
                        Stream(Vec::new()),
                        Advance(3000),
                    ],
                ),
            },
        ),
        (
            "server-gone",
            NetInput {
                relay_only: true,
                answered: true,
                ops: with(
                    setup,
                    vec![
                        Frame(500),
                        ServersGone(true),
                        Advance(20_000),
                        Advance(20_000),
                        SetServers(7),
                        Deliver,
                        Stop,
                    ],
                ),
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_encoding_round_trips() {
        for (name, input) in net_seeds() {
            let bytes = encode_net(&input);
            let decoded = NetInput::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
            assert_eq!(decoded, input, "{name}");
        }
    }

    #[test]
    fn the_relay_session_seed_routes_checks_through_the_relay() {
        let (_, input) = &net_seeds()[0];
        let w = run_world(input);
        assert!(!w.server_relays.is_empty(), "nothing allocated");
        assert!(w.to_peer > 0, "no ICE check went through the relay");
    }

    #[test]
    fn net_seeds_run() {
        for (_, input) in net_seeds() {
            run_net(&input);
        }
    }
}
