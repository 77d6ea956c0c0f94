//! Shared by the `setup` and `forward` benchmarks: one in-memory network that
//! drives two endpoints, either two proxy-str0m [`ProxyConnection`]s (Jingle
//! signaling through the wire) or two bare str0m [`Rtc`]s (SDP exchanged
//! directly, the floor). Both go through the same loop, so the difference is
//! what the proxy layers cost.
//!
//! The clock is real (`Instant::now()`), but when nothing is in flight it
//! jumps to the earliest deadline of either side instead of waiting, as the
//! tests' `Pair` does: the loop runs as fast as the CPU allows.
//!
//! A network may also hold a TURN server (the tests' in-memory
//! turn-server-proto node, `tests/common/turn.rs`): datagrams to its addresses
//! go through it, and the time spent inside it is kept apart
//! ([`Net::server_time`]) so that a benchmark can count our side only.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proxy_core::extdisco::IceTransport;
use proxy_core::{Config, IceServer, IceServerKind, LocalTrack, ProxyMessage};
use proxy_str0m::net::IceTransportPolicy;
use proxy_str0m::{Event, Output, ProxyConfig, ProxyConnection, Transmit};
use str0m::format::Codec;
use str0m::media::{MediaTime, Mid, Pt};
use str0m::Rtc;

pub const SENDER: &str = "sender@example.com/s1";
pub const RECEIVER: &str = "receiver@example.com/r1";
const ADDRS: [&str; 2] = ["10.0.0.1:10000", "10.0.0.2:20000"];

/// Media time between frames (30 fps).
pub const FRAME_INTERVAL: Duration = Duration::from_nanos(1_000_000_000 / 30);

#[path = "../../tests/common/vp8.rs"]
mod vp8;

#[path = "../../tests/common/turn.rs"]
mod turn;

mod bare;
use bare::bare_rtc;
pub use turn::TurnNode;
pub use vp8::vp8_frame;

/// One output of an endpoint, reduced to what the network needs.
pub enum Out {
    Datagram(SocketAddr, SocketAddr, Bytes),
    Signal(ProxyMessage),
    Frame,
    Other,
    /// The next deadline; `None`: nothing scheduled.
    Timeout(Option<Instant>),
}

/// What the network drives.
pub trait Endpoint {
    fn poll(&mut self) -> Out;
    fn receive(&mut self, now: Instant, source: SocketAddr, destination: SocketAddr, data: &[u8]);
    fn signal(&mut self, now: Instant, message: ProxyMessage);
    fn timeout(&mut self, now: Instant);
    /// Media can flow.
    fn ready(&self) -> bool;
    /// Writes one video frame; false if refused.
    fn write(&mut self, now: Instant, pts: Duration, data: &[u8]) -> bool;
}

// ---- proxy-str0m ------------------------------------------------------------

pub struct Proxy {
    jid: &'static str,
    conn: ProxyConnection,
    /// Hold early non-STUN datagrams the connection does not accept yet and
    /// hand them in once it does, as proxy-tokio's driver does.
    hold: bool,
    held: Vec<(SocketAddr, SocketAddr, Bytes)>,
}

impl Proxy {
    fn release_held(&mut self, now: Instant) {
        if self.held.is_empty() {
            return;
        }
        for (s, d, c) in std::mem::take(&mut self.held) {
            if self.conn.accepts(s, d, &c) {
                self.conn.handle_receive(now, s, d, &c);
            } else {
                self.held.push((s, d, c));
            }
        }
    }
}

impl Proxy {
    fn new(now: Instant, jid: &'static str, addr: &str, core: Config) -> Proxy {
        Proxy::with_policy(now, jid, addr, core, IceTransportPolicy::All, None)
    }

    fn with_policy(
        now: Instant,
        jid: &'static str,
        addr: &str,
        core: Config,
        policy: IceTransportPolicy,
        stats_interval: Option<Duration>,
    ) -> Proxy {
        let config = ProxyConfig {
            core,
            local_addrs: vec![addr.parse().expect("address")],
            ice_transport_policy: policy,
            stats_interval,
            ..ProxyConfig::default()
        };
        Proxy {
            jid,
            conn: ProxyConnection::new(now, config),
            hold: false,
            held: Vec::new(),
        }
    }
}

impl Endpoint for Proxy {
    fn poll(&mut self) -> Out {
        match self.conn.poll_output() {
            Output::Timeout(t) => Out::Timeout(t),
            Output::Transmit(t) => Out::Datagram(t.source, t.destination, t.contents),
            Output::Iq(proxy_core::OutgoingIq { iq, .. }) => Out::Signal(ProxyMessage {
                from: self.jid.to_owned(),
                iq,
            }),
            Output::Event(Event::Frame(_)) => Out::Frame,
            _ => Out::Other,
        }
    }
    fn receive(&mut self, now: Instant, source: SocketAddr, destination: SocketAddr, data: &[u8]) {
        let is_stun = data.first().is_some_and(|b| *b < 4);
        if self.hold && !is_stun && !self.conn.accepts(source, destination, data) {
            self.held
                .push((source, destination, Bytes::copy_from_slice(data)));
            return;
        }
        self.conn.handle_receive(now, source, destination, data);
        if self.hold {
            self.release_held(now);
        }
    }
    fn signal(&mut self, now: Instant, message: ProxyMessage) {
        self.conn.handle_message(now, message);
    }
    fn timeout(&mut self, now: Instant) {
        self.conn.handle_timeout(now);
        if self.hold {
            self.release_held(now);
        }
    }
    fn ready(&self) -> bool {
        self.conn.is_connected()
    }
    fn write(&mut self, now: Instant, pts: Duration, data: &[u8]) -> bool {
        self.conn.write_frame(now, 0, pts, data).is_ok()
    }
}

/// Two proxy connections; the sender has called `start()` with one desktop track.
pub fn proxy_pair() -> Net<Proxy> {
    proxy_pair_with(false)
}

/// Like [`proxy_pair`], with early datagrams held as proxy-tokio's driver does.
pub fn proxy_pair_held() -> Net<Proxy> {
    proxy_pair_with(true)
}

fn proxy_pair_with(hold: bool) -> Net<Proxy> {
    proxy_pair_through(hold, None, None)
}

/// Like [`proxy_pair`], with statistics every second on both peers.
pub fn proxy_pair_with_stats() -> Net<Proxy> {
    proxy_pair_through(false, None, Some(Duration::from_secs(1)))
}

/// The TURN node's server, as both peers are given it (UDP, long-term
/// credentials).
fn turn_server() -> IceServer {
    let addr: SocketAddr = turn::TURN_ADDR.parse().expect("address");
    IceServer {
        kind: IceServerKind::Turn,
        host: addr.ip().to_string(),
        port: addr.port(),
        transport: Some(IceTransport::Udp),
        username: Some(turn::TURN_USER.into()),
        password: Some(turn::TURN_PASS.into()),
        expires: None,
    }
}

/// Two relay-only proxy connections (`ice_transport_policy: Relay`) and the
/// in-memory TURN server (turn-server-proto over UDP) between them: every
/// datagram goes peer -> server -> peer, the media relay <-> relay inside
/// one allocation pair. The sender has called `start()`.
pub fn proxy_relay_pair() -> Net<Proxy> {
    proxy_pair_through(false, Some(vec![turn_server()]), None)
}

/// `servers`: `None` host-only (no ICE servers, policy all); `Some`: those
/// servers, relay-only, with a TURN node in the network.
fn proxy_pair_through(
    hold: bool,
    servers: Option<Vec<IceServer>>,
    stats_interval: Option<Duration>,
) -> Net<Proxy> {
    let now = Instant::now();
    let policy = if servers.is_some() {
        IceTransportPolicy::Relay
    } else {
        IceTransportPolicy::All
    };
    let ice_servers = servers.clone().unwrap_or_default();
    let a = Proxy::with_policy(
        now,
        SENDER,
        ADDRS[0],
        Config {
            seed: 1,
            ice_servers: ice_servers.clone(),
            ..Config::default()
        },
        policy,
        stats_interval,
    );
    let b = Proxy::with_policy(
        now,
        RECEIVER,
        ADDRS[1],
        Config {
            seed: 2,
            convert_video_to_desktop: true,
            ice_servers,
            ..Config::default()
        },
        policy,
        stats_interval,
    );
    let mut net = Net::new(now, a, b);
    if servers.is_some() {
        net.set_turn(TurnNode::new(now));
    }
    for p in &mut net.peers {
        p.hold = hold;
    }
    net.peers[0]
        .conn
        .start(now, RECEIVER, &[LocalTrack::desktop()])
        .expect("start");
    net.drain(0);
    net
}

// ---- bare str0m ---------------------------------------------------------------

pub struct Bare {
    rtc: Rtc,
    mid: Option<Mid>,
    pt: Option<Pt>,
    connected: bool,
}

impl Endpoint for Bare {
    fn poll(&mut self) -> Out {
        match self.rtc.poll_output().expect("str0m output") {
            str0m::Output::Timeout(t) => Out::Timeout(Some(t)),
            str0m::Output::Transmit(t) => {
                let v: Vec<u8> = t.contents.into();
                Out::Datagram(t.source, t.destination, Bytes::from(v))
            }
            str0m::Output::Event(str0m::Event::Connected) => {
                self.connected = true;
                Out::Other
            }
            str0m::Output::Event(str0m::Event::MediaData(_)) => Out::Frame,
            str0m::Output::Event(_) => Out::Other,
        }
    }
    fn receive(&mut self, now: Instant, source: SocketAddr, destination: SocketAddr, data: &[u8]) {
        let r = str0m::net::Receive::new(str0m::net::Protocol::Udp, source, destination, data)
            .expect("datagram");
        self.rtc
            .handle_input(str0m::Input::Receive(now, r))
            .expect("receive");
    }
    fn signal(&mut self, _now: Instant, _message: ProxyMessage) {
        unreachable!("bare str0m exchanges SDP directly")
    }
    fn timeout(&mut self, now: Instant) {
        self.rtc
            .handle_input(str0m::Input::Timeout(now))
            .expect("timeout");
    }
    fn ready(&self) -> bool {
        self.connected
    }
    fn write(&mut self, now: Instant, pts: Duration, data: &[u8]) -> bool {
        let Some(mid) = self.mid else { return false };
        let Some(writer) = self.rtc.writer(mid) else {
            return false;
        };
        let pt = match self.pt {
            Some(pt) => pt,
            None => {
                let Some(p) = writer
                    .payload_params()
                    .find(|p| p.spec().codec == Codec::Vp8)
                else {
                    return false;
                };
                let pt = p.pt();
                self.pt = Some(pt);
                pt
            }
        };
        let time = MediaTime::from(pts).rebase(str0m::media::Frequency::NINETY_KHZ);
        writer.write(pt, now, time, data).is_ok()
    }
}

/// Two bare `Rtc`s: a sendonly video m-line offered, the offer and answer
/// exchanged as SDP text (serialized and parsed, as signaling would).
pub fn bare_pair() -> Net<Bare> {
    let now = Instant::now();
    let mut a = bare_rtc(now, ADDRS[0].parse().expect("address"));
    let mut b = bare_rtc(now, ADDRS[1].parse().expect("address"));
    let mid = bare::negotiate(&mut a, &mut b);
    let a = Bare {
        rtc: a,
        mid: Some(mid),
        pt: None,
        connected: false,
    };
    let b = Bare {
        rtc: b,
        mid: None,
        pt: None,
        connected: false,
    };
    Net::new(now, a, b)
}

// ---- the network -----------------------------------------------------------------

pub enum Msg {
    /// To the peer or server owning the destination address.
    Datagram(SocketAddr, SocketAddr, Bytes),
    /// To peer `.0`.
    Signal(usize, ProxyMessage),
}

/// Counters of one run.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    /// Datagrams the peers sent.
    pub datagrams: usize,
    pub datagram_bytes: usize,
    /// Datagrams the TURN server sent (to the peers).
    pub server_datagrams: usize,
    pub signals: usize,
    pub signal_bytes: usize,
    pub timeouts: usize,
    /// Clock jumps to a deadline (nothing was in flight).
    pub jumps: usize,
    /// Datagrams to an address nobody owns (dropped).
    pub unrouted: usize,
    /// Datagrams a peer received from the other peer, not from a server.
    pub direct: usize,
}

/// A TURN server in the network, with its next deadline.
struct Server {
    node: TurnNode,
    deadline: Option<Instant>,
    /// ChannelData forwarding learned from the server: (client, channel in)
    /// -> (relay it leaves from, client it goes to, channel out).
    channels: HashMap<(SocketAddr, u16), (SocketAddr, SocketAddr, u16)>,
    /// Forward learned ChannelData without the server.
    switch: bool,
}

/// The channel number of a ChannelData message (RFC 8656 §12.4).
fn channel_of(c: &[u8]) -> Option<u16> {
    match c {
        [a @ 0x40..=0x4f, b, _, _, ..] => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

pub struct Net<E> {
    pub peers: [E; 2],
    pub now: Instant,
    pub start: Instant,
    deadline: [Option<Instant>; 2],
    wire: VecDeque<Msg>,
    /// The peers' addresses: a datagram to `addrs[i]` is for `peers[i]`.
    addrs: [SocketAddr; 2],
    turn: Option<Server>,
    /// Time spent inside the TURN server (turn-server-proto and the node's
    /// routing between allocations): not our side's work.
    pub server_time: Duration,
    pub frames: [usize; 2],
    pub stats: Stats,
    /// Print every delivery and clock jump (`BENCH_TRACE=1`).
    pub trace: bool,
    /// Deliver datagrams before stanzas (`BENCH_SIGNAL_LAST=1`).
    pub signal_last: bool,
}

impl<E: Endpoint> Net<E> {
    pub fn new(now: Instant, a: E, b: E) -> Net<E> {
        let mut net = Net {
            peers: [a, b],
            now,
            start: now,
            deadline: [Some(now); 2],
            wire: VecDeque::new(),
            addrs: ADDRS.map(|a| a.parse().expect("address")),
            turn: None,
            server_time: Duration::ZERO,
            frames: [0; 2],
            stats: Stats::default(),
            trace: std::env::var_os("BENCH_TRACE").is_some(),
            signal_last: std::env::var_os("BENCH_SIGNAL_LAST").is_some(),
        };
        net.drain(0);
        net.drain(1);
        net
    }

    /// Puts a TURN server into the network.
    pub fn set_turn(&mut self, node: TurnNode) {
        let mut server = Server {
            node,
            deadline: None,
            channels: HashMap::new(),
            switch: false,
        };
        server.deadline = server.node.timeout(self.now);
        self.turn = Some(server);
    }

    /// From now on, ChannelData whose forwarding the server has shown (one
    /// ChannelData in, one out to the other client, same payload) is forwarded
    /// by the network itself (channel number rewritten), without running the
    /// server: what a remote server does, without its code running between
    /// ours on this thread. Everything else still goes through the server.
    pub fn switch_channels(&mut self) {
        if let Some(t) = self.turn.as_mut() {
            t.switch = true;
        }
    }

    /// ChannelData routes learned so far.
    pub fn learned_channels(&self) -> usize {
        self.turn.as_ref().map_or(0, |t| t.channels.len())
    }

    /// The TURN node, if any.
    pub fn turn(&self) -> Option<&TurnNode> {
        self.turn.as_ref().map(|s| &s.node)
    }

    /// Polls side `i` until its timeout.
    pub fn drain(&mut self, i: usize) {
        loop {
            match self.peers[i].poll() {
                Out::Timeout(t) => {
                    self.deadline[i] = t;
                    return;
                }
                Out::Datagram(s, d, c) => {
                    self.stats.datagrams += 1;
                    self.stats.datagram_bytes += c.len();
                    self.wire.push_back(Msg::Datagram(s, d, c));
                }
                Out::Signal(m) => {
                    self.stats.signals += 1;
                    self.stats.signal_bytes += m.iq.len();
                    self.wire.push_back(Msg::Signal(1 - i, m));
                }
                Out::Frame => self.frames[i] += 1,
                Out::Other => {}
            }
        }
    }

    /// Runs the TURN server on one datagram (`Some`) or its timers (`None`),
    /// timing it, and puts what it sends on the wire.
    fn run_server(&mut self, datagram: Option<Transmit>) {
        let Some(server) = self.turn.as_mut() else {
            return;
        };
        let t0 = Instant::now();
        let key = datagram
            .as_ref()
            .and_then(|t| Some((t.source, channel_of(&t.contents)?, t.contents.len())));
        if let (true, Some((from, channel, _)), Some(t)) = (server.switch, key, &datagram) {
            if let Some(&(relay, to, out)) = server.channels.get(&(from, channel)) {
                let mut c = t.contents.to_vec();
                c[..2].copy_from_slice(&out.to_be_bytes());
                self.server_time += t0.elapsed();
                self.stats.server_datagrams += 1;
                self.wire
                    .push_back(Msg::Datagram(relay, to, Bytes::from(c)));
                return;
            }
        }
        let out = match datagram {
            Some(t) => server.node.receive(self.now, t),
            None => server.node.poll(self.now),
        };
        server.deadline = server.node.timeout(self.now);
        if let (Some((from, channel, len)), [t]) = (key, out.as_slice()) {
            if let Some(out) = channel_of(&t.contents) {
                if t.destination != from && t.contents.len() == len {
                    server
                        .channels
                        .insert((from, channel), (t.source, t.destination, out));
                }
            }
        }
        self.server_time += t0.elapsed();
        for t in out {
            self.stats.server_datagrams += 1;
            self.wire
                .push_back(Msg::Datagram(t.source, t.destination, t.contents));
        }
    }

    /// Steps until the clock has advanced by `d` (nothing is written).
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while self.now < until {
            self.step();
        }
    }

    /// Delivers the oldest message in flight, or, with nothing in flight,
    /// jumps the clock to the earliest deadline; then fires due timeouts.
    pub fn step(&mut self) {
        self.now = self.now.max(Instant::now());
        // `BENCH_SIGNAL_LAST=1`: datagrams overtake stanzas (signaling slower than UDP).
        if self.signal_last {
            if let Some(i) = self
                .wire
                .iter()
                .position(|m| matches!(m, Msg::Datagram(..)))
            {
                if let Some(item) = self.wire.remove(i) {
                    self.wire.push_front(item);
                }
            }
        }
        if let Some(msg) = self.wire.pop_front() {
            if self.trace {
                let t = self.now - self.start;
                match &msg {
                    Msg::Datagram(s, d, c) => {
                        eprintln!("{t:?} {s} -> {d}: {} bytes, {}", c.len(), describe(c))
                    }
                    Msg::Signal(to, m) => {
                        eprintln!("{t:?} -> {to}: {}", m.iq.get(..120).unwrap_or(&m.iq))
                    }
                }
            }
            match msg {
                Msg::Datagram(s, d, c) => {
                    if self.turn.as_ref().is_some_and(|t| t.node.owns(d)) {
                        let t = Transmit {
                            source: s,
                            destination: d,
                            contents: c,
                        };
                        self.run_server(Some(t));
                    } else if let Some(to) = self.addrs.iter().position(|a| *a == d) {
                        if !self.turn.as_ref().is_some_and(|t| t.node.owns(s)) {
                            self.stats.direct += 1;
                        }
                        self.peers[to].receive(self.now, s, d, &c);
                        self.drain(to);
                    } else {
                        self.stats.unrouted += 1;
                    }
                }
                Msg::Signal(to, m) => {
                    self.peers[to].signal(self.now, m);
                    self.drain(to);
                }
            }
        } else {
            // Nothing scheduled on either side: idle on (as the tests' Pair does).
            let server = self.turn.as_ref().and_then(|t| t.deadline);
            let next = (self
                .deadline
                .iter()
                .chain([&server])
                .flatten()
                .min()
                .copied())
            .unwrap_or(self.now + Duration::from_secs(3600));
            if next > self.now {
                if self.trace {
                    eprintln!(
                        "{:?}: jump by {:?} to {:?}",
                        self.now - self.start,
                        next - self.now,
                        next - self.start
                    );
                }
                self.stats.jumps += 1;
                self.now = next;
            }
        }
        for i in 0..2 {
            if self.deadline[i].is_some_and(|d| d <= self.now) {
                self.stats.timeouts += 1;
                self.peers[i].timeout(self.now);
                self.drain(i);
            }
        }
        let now = self.now;
        if self
            .turn
            .as_ref()
            .is_some_and(|t| t.deadline.is_some_and(|d| d <= now))
        {
            self.run_server(None);
        }
    }

    /// Runs until the sender can send, writes one keyframe, and runs until the
    /// receiver has it. Returns the clock's advance (real plus jumps).
    pub fn first_frame(&mut self) -> Duration {
        let mut steps = 0u32;
        while !self.peers[0].ready() {
            self.step();
            steps += 1;
            assert!(
                steps < 1_000_000,
                "no connection after {:?}: {:?}",
                self.now - self.start,
                self.stats
            );
        }
        let frame = vp8_frame(0, true, 1000);
        assert!(self.write(0, &frame), "first write");
        while self.frames[1] == 0 {
            self.step();
            steps += 1;
            assert!(steps < 1_000_000, "no frame");
        }
        self.now - self.start
    }

    /// Writes frame `n` on the sender (pts `n` frame intervals) and drains it.
    pub fn write(&mut self, n: u32, data: &[u8]) -> bool {
        self.now = self.now.max(Instant::now());
        let ok = self.peers[0].write(self.now, FRAME_INTERVAL * n, data);
        self.drain(0);
        ok
    }

    /// Sends one frame and runs until the receiver has it.
    pub fn forward(&mut self, n: u32, data: &[u8]) {
        let before = self.frames[1];
        assert!(self.write(n, data), "write frame {n}");
        let mut steps = 0u32;
        while self.frames[1] == before {
            self.step();
            steps += 1;
            assert!(steps < 100_000, "frame {n} does not arrive");
        }
    }
}

/// What a datagram is, for the trace: a STUN message (its type, and for a
/// Send or Data indication what it carries), ChannelData (what it carries),
/// DTLS or RTP/RTCP (RFC 7983's first-byte ranges).
fn describe(c: &[u8]) -> String {
    let kind = |c: &[u8]| match c.first().copied().unwrap_or(0) {
        0..=3 => {
            let t = u16::from_be_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ]);
            let name = match t {
                0x0001 => "Binding request",
                0x0101 => "Binding success",
                0x0111 => "Binding error",
                0x0003 => "Allocate request",
                0x0103 => "Allocate success",
                0x0113 => "Allocate error",
                0x0004 => "Refresh request",
                0x0104 => "Refresh success",
                0x0008 => "CreatePermission request",
                0x0108 => "CreatePermission success",
                0x0009 => "ChannelBind request",
                0x0109 => "ChannelBind success",
                0x0016 => "Send indication",
                0x0017 => "Data indication",
                _ => "STUN",
            };
            format!("{name} ({t:#06x})")
        }
        20..=63 => "DTLS".to_owned(),
        64..=79 => "ChannelData".to_owned(),
        128..=191 => "RTP/RTCP".to_owned(),
        b => format!("first byte {b}"),
    };
    let outer = kind(c);
    // ChannelData: 4-byte header. Send/Data indication: a DATA attribute
    // (0x0013) somewhere in the attributes after the 20-byte header.
    if outer == "ChannelData" {
        return format!("ChannelData of {}", kind(c.get(4..).unwrap_or(&[])));
    }
    if outer.starts_with("Send") || outer.starts_with("Data") {
        let mut i = 20;
        while let (Some(a), Some(l)) = (c.get(i..i + 2), c.get(i + 2..i + 4)) {
            let len = u16::from_be_bytes([l[0], l[1]]) as usize;
            if a == [0x00, 0x13] {
                return format!("{outer} of {}", kind(c.get(i + 4..).unwrap_or(&[])));
            }
            i += 4 + len.div_ceil(4) * 4;
        }
    }
    outer
}

// ---- interleaved measurement ---------------------------------------------------

/// One variant of an interleaved run: a name and a call that does the work
/// once and returns the part of its time that is not ours (the TURN server's,
/// [`Net::server_time`]; zero for most).
pub type Variant<'a> = (&'a str, &'a mut dyn FnMut() -> Duration);

/// Runs the variants in turn, `rounds` times (rotating the order each round so
/// a change in the machine's load hits all alike), timing each call; prints,
/// per variant, the median and minimum and their ratios to the last variant
/// (the baseline). `per` divides every time (e.g. frames per call). The work
/// is single-threaded and does no I/O, so wall time is its CPU time whenever
/// the thread is not preempted; the minimum is the least disturbed figure.
///
/// The time a variant reports as not ours is taken off its figure; such a
/// variant gets a second row with the whole time, marked "with server".
pub fn interleaved(title: &str, rounds: usize, per: u32, variants: &mut [Variant<'_>]) {
    let n = variants.len();
    // Per variant: (ours, whole).
    let mut wall = vec![(Vec::with_capacity(rounds), Vec::with_capacity(rounds)); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (k + round) % n;
            let w0 = Instant::now();
            let excluded = (variants[i].1)();
            let whole = w0.elapsed();
            wall[i].0.push(whole.saturating_sub(excluded) / per);
            wall[i].1.push(whole / per);
        }
    }
    for (ours, whole) in &mut wall {
        ours.sort();
        whole.sort();
    }
    let median = |v: &[Duration]| v.get(v.len() / 2).copied().unwrap_or_default();
    let min = |v: &[Duration]| v.first().copied().unwrap_or_default();
    let f = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-12);
    let base = n - 1;
    let (base_median, base_min) = (median(&wall[base].0), min(&wall[base].0));
    println!("{title} ({rounds} interleaved rounds)");
    println!(
        "| variant | median | min | median / {0} median | min / {0} min |",
        variants[base].0
    );
    println!("|---|---|---|---|---|");
    for i in 0..n {
        let (ours, whole) = &wall[i];
        let mut rows = vec![(variants[i].0.to_owned(), ours)];
        if ours != whole {
            rows.push((format!("{}, with server", variants[i].0), whole));
        }
        for (name, v) in rows {
            println!(
                "| {name} | {:?} | {:?} | {:.3} | {:.3} |",
                median(v),
                min(v),
                f(median(v), base_median),
                f(min(v), base_min),
            );
        }
    }
    println!();
}
