//! STUN and TURN next to str0m, sans-IO: [`Network`] gathers server-reflexive
//! and relayed candidates and carries str0m's traffic through TURN
//! allocations. It reads no clock and does no I/O: the driver owns the UDP
//! host sockets, the TCP streams to TURN servers and DNS, and the engine
//! hands it str0m's transmits by [`Network::route`].
//!
//! The TURN protocol is turn-client-proto's (UDP and TCP clients), TLS is
//! rustls on the aws-lc-rs provider (see `link.rs` for why not
//! turn-client-rustls), and the srflx Binding is stun-proto's agent.
//!
//! # Methods
//!
//! - Inputs, all with `now`: [`set_ice_servers`](Network::set_ice_servers),
//!   [`handle_receive`](Network::handle_receive) (every datagram on a host
//!   socket: server traffic is claimed, relayed peer data comes back),
//!   [`handle_resolved`](Network::handle_resolved),
//!   [`handle_stream_connected`](Network::handle_stream_connected),
//!   [`handle_stream_data`](Network::handle_stream_data),
//!   [`handle_stream_closed`](Network::handle_stream_closed),
//!   [`handle_timeout`](Network::handle_timeout).
//! - Commands: [`route`](Network::route) (a str0m transmit: from a relayed
//!   address it goes through that allocation), [`close`](Network::close).
//! - Outputs: [`poll_output`](Network::poll_output) until `None` after every
//!   input or command, then [`poll_timeout`](Network::poll_timeout).
//! - Getters: [`relayed_addrs`](Network::relayed_addrs),
//!   [`is_closed`](Network::is_closed).
//!
//! # Rules
//!
//! Nothing a server sends makes this panic; a failing server or relay
//! becomes [`NetEvent::RelayFailed`] and never stops the others. Every queue
//! is bounded. Channels are bound on UDP relays only (memo §1.5.1); a
//! refused Allocate fails at once (§1.5.2).

mod binding;
mod clock;
mod config;
mod link;
mod output;
mod relay;
mod server;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use str0m::net::Protocol;
use str0m::Candidate;

pub use config::{tls_config, IceTransportPolicy, NetConfig};
pub use output::{NetEvent, NetOutput, RelayError, Relayed, StreamId};
pub use server::{
    rest_credentials, IceServerSpec, RelayProto, ServerKind, UrlError, DEFAULT_PORT,
    DEFAULT_TLS_PORT,
};

use binding::{Binding, BindingResult};
use clock::Clock;
use output::Outputs;
use relay::Relay;

use crate::Transmit;

/// Servers used at once; more are refused with [`RelayError::TooMany`].
const MAX_SERVERS: usize = 8;
/// Relays at once (including replaced ones being retired).
const MAX_RELAYS: usize = 16;
/// A replaced server's relay lives on this long, so a pair using it can
/// move (or until its credentials expire, if sooner).
pub const RETIRE_GRACE: Duration = Duration::from_secs(300);

/// What [`Network::handle_receive`] made of a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Not server traffic: give it to str0m as received.
    Unclaimed,
    /// STUN/TURN traffic from a server, handled here.
    Consumed,
    /// Peer data through a relay: give it to str0m as received on
    /// `relay` from `peer` (protocol UDP).
    Relayed(Relayed),
}

/// A failed relay to start again at `at` (see [`RETRIES`]).
#[derive(Debug, Clone, Copy)]
struct Retry {
    entry: u32,
    ip: IpAddr,
    proto: RelayProto,
    at: Instant,
    /// Failures in a row so far (the one being retried included).
    attempt: u32,
}

/// How often a relay that failed for a reason the server may get over (no
/// answer, a broken stream, a lost allocation) is started again: after
/// 1 s, 2 s and 4 s, counted from the last allocation that lived
/// [`RETRY_RESET`]. A refusal of the credentials, of the allocation or of
/// TLS is final.
pub const RETRIES: u32 = 3;
/// An allocation that lived this long before failing gets [`RETRIES`] anew.
pub const RETRY_RESET: Duration = Duration::from_secs(60);

/// A server's place in its list and the list's generation (see `Relay::new`).
type Rank = (u32, u32);

/// One configured server.
#[derive(Debug)]
struct Entry {
    id: u32,
    rank: u32,
    /// The server list it came in (relays of later lists rank higher).
    generation: u32,
    spec: IceServerSpec,
    resolving: bool,
}

/// The STUN/TURN side of one connection. See the [module docs](self).
#[derive(Debug)]
pub struct Network {
    clock: Clock,
    config: NetConfig,
    entries: Vec<Entry>,
    relays: Vec<Relay>,
    bindings: Vec<Binding>,
    /// Server-reflexive candidates given out, as (address, base).
    srflx: Vec<(SocketAddr, SocketAddr)>,
    /// UDP relays waiting for their 5-tuple to be free: (entry, server IP).
    deferred: Vec<(u32, IpAddr)>,
    /// Relays to start again after a failure the server may get over.
    retries: Vec<Retry>,
    next_id: u32,
    /// Server lists that brought a new server so far.
    generation: u32,
    out: Outputs,
    closed: bool,
}

impl Network {
    /// A network with no servers yet. `now` is the epoch of its timers.
    pub fn new(now: Instant, config: NetConfig) -> Self {
        Network {
            clock: Clock::new(now),
            config,
            entries: Vec::new(),
            relays: Vec::new(),
            bindings: Vec::new(),
            srflx: Vec::new(),
            deferred: Vec::new(),
            retries: Vec::new(),
            next_id: 0,
            generation: 0,
            out: Outputs::default(),
            closed: false,
        }
    }

    /// Uses these servers from now on (any time, also mid-session). Servers
    /// already in use with the same spec go on untouched; new ones start
    /// (IP literals at once, names through [`NetOutput::Resolve`]); a
    /// removed one's Bindings stop and its relays are deleted after
    /// [`RETIRE_GRACE`] or at its credentials' expiry, so new credentials
    /// mean a new allocation beside the old one for a while.
    pub fn set_ice_servers(&mut self, now: Instant, servers: Vec<IceServerSpec>) {
        if self.closed {
            return;
        }
        let mut specs: Vec<IceServerSpec> = Vec::new();
        for s in servers {
            if !specs.contains(&s) {
                specs.push(s);
            }
        }
        for s in specs.iter().skip(MAX_SERVERS) {
            self.out.event(failed(s, None, RelayError::TooMany));
        }
        specs.truncate(MAX_SERVERS);
        let (keep, gone): (Vec<Entry>, Vec<Entry>) = self
            .entries
            .drain(..)
            .partition(|e| specs.contains(&e.spec));
        self.entries = keep;
        for e in gone {
            self.bindings.retain(|b| b.entry != e.id);
            for r in self.relays.iter_mut().filter(|r| r.entry == e.id) {
                if r.relayed().is_some() {
                    let end = now + RETIRE_GRACE;
                    r.retire_at = Some(e.spec.expires.map_or(end, |x| x.min(end)));
                } else {
                    r.close(now, &mut self.out);
                }
            }
        }
        let generation = self.generation;
        let mut new = false;
        for (rank, spec) in specs.into_iter().enumerate() {
            if self.entries.iter().any(|e| e.spec == spec) {
                continue;
            }
            if spec.expires.is_some_and(|t| t <= now) {
                self.out.event(failed(&spec, None, RelayError::Expired));
                continue;
            }
            let id = self.next_id;
            self.next_id += 1;
            let ip = spec.host.parse::<IpAddr>().ok();
            let asked = self
                .entries
                .iter()
                .any(|e| e.resolving && e.spec.host == spec.host);
            if ip.is_none() && !asked {
                self.out.push(NetOutput::Resolve {
                    host: spec.host.clone(),
                    port: spec.port,
                });
            }
            new = true;
            self.entries.push(Entry {
                id,
                rank: rank as u32,
                generation,
                spec,
                resolving: ip.is_none(),
            });
            if let Some(ip) = ip {
                self.start(now, id, ip);
            }
        }
        if new {
            self.generation = self.generation.saturating_add(1);
        }
        self.sweep(now);
    }

    /// The answer to [`NetOutput::Resolve`]: the addresses of `host`, or why not.
    pub fn handle_resolved(
        &mut self,
        now: Instant,
        host: &str,
        result: Result<Vec<IpAddr>, String>,
    ) {
        let waiting: Vec<u32> = self
            .entries
            .iter_mut()
            .filter(|e| e.resolving && e.spec.host == host)
            .map(|e| {
                e.resolving = false;
                e.id
            })
            .collect();
        for id in waiting {
            let ips = match &result {
                Ok(ips) => ips.as_slice(),
                Err(_) => &[],
            };
            // Prefer a family we have a host socket of.
            let have = |ip: &&IpAddr| {
                self.config
                    .host_addrs
                    .iter()
                    .any(|h| h.is_ipv4() == ip.is_ipv4())
            };
            match ips.iter().find(have).or(ips.first()) {
                Some(ip) => self.start(now, id, *ip),
                None => {
                    let why = result.clone().err().unwrap_or_else(|| "no address".into());
                    if let Some(e) = self.entries.iter().find(|e| e.id == id) {
                        self.out
                            .event(failed(&e.spec, None, RelayError::Resolve(why)));
                    }
                }
            }
        }
        self.sweep(now);
    }

    /// Entry `id`'s spec and rank, its server at `ip`, and our host
    /// sockets that can reach it: of its address family, and loopback ones
    /// only for a loopback server (a service bound to every interface has a
    /// 127.0.0.1 socket, whose datagrams never leave the machine).
    fn target(
        &self,
        id: u32,
        ip: IpAddr,
    ) -> Option<(IceServerSpec, Rank, SocketAddr, Vec<SocketAddr>)> {
        let e = self.entries.iter().find(|e| e.id == id)?;
        let server = SocketAddr::new(ip, e.spec.port);
        let hosts = self
            .config
            .host_addrs
            .iter()
            .copied()
            .filter(|h| h.is_ipv4() == ip.is_ipv4())
            .filter(|h| ip.is_loopback() || !h.ip().is_loopback())
            .collect();
        Some((e.spec.clone(), (e.rank, e.generation), server, hosts))
    }

    fn start(&mut self, now: Instant, id: u32, ip: IpAddr) {
        let Some((spec, _, server, hosts)) = self.target(id, ip) else {
            return;
        };
        if self.config.policy == IceTransportPolicy::All && spec.wants_binding() {
            if hosts.is_empty() && spec.relay_protos().is_empty() {
                self.out
                    .event(failed(&spec, None, RelayError::NoLocalAddress));
            }
            for &host in &hosts {
                let (b, first) = Binding::start(now, self.clock, host, server, id);
                if let Some(contents) = first {
                    self.out.push(NetOutput::Transmit(Transmit {
                        source: host,
                        destination: server,
                        contents: contents.into(),
                    }));
                }
                self.bindings.push(b);
            }
        }
        for &proto in spec.relay_protos() {
            self.start_relay(now, id, ip, proto);
        }
    }

    /// Starts entry `id`'s relay over `proto` to its server at `ip`.
    fn start_relay(&mut self, now: Instant, id: u32, ip: IpAddr, proto: RelayProto) {
        if proto == RelayProto::Udp {
            if !self.start_udp(now, id, ip) {
                self.deferred.push((id, ip));
            }
            return;
        }
        let Some((spec, rank, server, _)) = self.target(id, ip) else {
            return;
        };
        if self.relays.len() >= MAX_RELAYS {
            self.out
                .event(failed(&spec, Some(proto), RelayError::TooMany));
            return;
        }
        if proto == RelayProto::Tls && self.config.tls.is_none() {
            self.out
                .event(failed(&spec, Some(proto), RelayError::NoTlsConfig));
            return;
        }
        let stream = StreamId(self.next_id);
        self.next_id += 1;
        let r = Relay::stream(
            now,
            self.clock,
            spec,
            id,
            proto,
            server,
            stream,
            rank,
            &mut self.out,
        );
        self.relays.push(r);
    }

    /// Starts entry `id`'s UDP relay from a host socket that has no
    /// allocation on this server yet (a TURN server keys allocations by
    /// 5-tuple). With none free, the relays holding them are deleted and
    /// this returns `false`: try again once they are gone.
    fn start_udp(&mut self, now: Instant, id: u32, ip: IpAddr) -> bool {
        let Some((spec, rank, server, hosts)) = self.target(id, ip) else {
            return true;
        };
        let busy = |h: &SocketAddr, relays: &[Relay]| {
            relays
                .iter()
                .any(|r| r.proto == RelayProto::Udp && r.server == server && r.host == Some(*h))
        };
        if hosts.is_empty() {
            self.out.event(failed(
                &spec,
                Some(RelayProto::Udp),
                RelayError::NoLocalAddress,
            ));
            return true;
        }
        if self.relays.len() >= MAX_RELAYS {
            self.out
                .event(failed(&spec, Some(RelayProto::Udp), RelayError::TooMany));
            return true;
        }
        let Some(&host) = hosts.iter().find(|h| !busy(h, &self.relays)) else {
            for r in self.relays.iter_mut() {
                if r.proto == RelayProto::Udp && r.server == server && r.entry != id {
                    r.close(now, &mut self.out);
                }
            }
            return false;
        };
        let r = Relay::udp(now, self.clock, spec, id, server, host, rank, &mut self.out);
        self.relays.push(r);
        true
    }

    /// A datagram that arrived on host socket `destination` from `source`.
    /// Server traffic is claimed; a relay's peer data comes back as
    /// [`Incoming::Relayed`]; anything else is [`Incoming::Unclaimed`].
    pub fn handle_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        bytes: &[u8],
    ) -> Incoming {
        let mut relayed = None;
        let mut claimed = false;
        for r in self.relays.iter_mut() {
            if r.proto == RelayProto::Udp && r.server == source && r.host == Some(destination) {
                claimed = true;
                if r.recv(now, bytes, &mut |d| relayed = Some(d), &mut self.out) {
                    self.sweep(now);
                    return relayed.map_or(Incoming::Consumed, Incoming::Relayed);
                }
            }
        }
        for i in 0..self.bindings.len() {
            let b = &mut self.bindings[i];
            if b.server == source && b.host == destination {
                claimed = true;
                if b.recv(now, bytes) {
                    break;
                }
            }
        }
        self.sweep(now);
        if claimed {
            Incoming::Consumed
        } else {
            Incoming::Unclaimed
        }
    }

    /// str0m's transmit: from a relayed address it goes through that
    /// allocation (a permission is created on demand; data waits for it,
    /// bounded) and the datagram for the server comes back, or `None` when
    /// the bytes went to a stream or were held or dropped. From anything
    /// else (a host socket) it comes back unchanged.
    pub fn route(&mut self, now: Instant, t: Transmit) -> Option<Transmit> {
        let Some(r) = self
            .relays
            .iter_mut()
            .find(|r| r.relayed() == Some(t.source))
        else {
            return Some(t);
        };
        let tx = r.send(now, t.destination, t.contents, &mut self.out);
        self.sweep(now);
        tx
    }

    /// The driver's TCP connection `stream` is up, from `local`.
    pub fn handle_stream_connected(&mut self, now: Instant, stream: StreamId, local: SocketAddr) {
        match self.relays.iter_mut().find(|r| r.stream == Some(stream)) {
            Some(r) => r.connected(now, local, self.config.tls.as_ref(), &mut self.out),
            None => self.out.push(NetOutput::StreamClose { stream }),
        }
        self.sweep(now);
    }

    /// Bytes read from `stream`; empty means EOF.
    pub fn handle_stream_data(&mut self, now: Instant, stream: StreamId, bytes: &[u8]) {
        let Some(r) = self.relays.iter_mut().find(|r| r.stream == Some(stream)) else {
            return;
        };
        if bytes.is_empty() {
            r.stream_closed(&mut self.out);
        } else {
            let mut data = Vec::new();
            r.recv(now, bytes, &mut |d| data.push(d), &mut self.out);
            for d in data {
                self.out.push(NetOutput::Relayed(d));
            }
        }
        self.sweep(now);
    }

    /// The stream failed to connect or broke.
    pub fn handle_stream_closed(&mut self, now: Instant, stream: StreamId) {
        if let Some(r) = self.relays.iter_mut().find(|r| r.stream == Some(stream)) {
            r.stream_closed(&mut self.out);
        }
        self.sweep(now);
    }

    /// Runs what is due at `now` (retransmissions, refreshes, time limits).
    pub fn handle_timeout(&mut self, now: Instant) {
        let (due, later): (Vec<Retry>, Vec<Retry>) =
            self.retries.drain(..).partition(|r| r.at <= now);
        self.retries = later;
        for r in due {
            if self.entries.iter().any(|e| e.id == r.entry) {
                let before = self.relays.len();
                self.start_relay(now, r.entry, r.ip, r.proto);
                if let Some(new) = self.relays.get_mut(before) {
                    new.attempt = r.attempt;
                }
            }
        }
        for r in self.relays.iter_mut() {
            if r.poll_timeout().is_some_and(|t| t <= now) {
                r.handle_timeout(now, &mut self.out);
            }
        }
        for b in self.bindings.iter_mut() {
            for contents in b.handle_timeout(now) {
                let (source, destination) = (b.host, b.server);
                self.out.push(NetOutput::Transmit(Transmit {
                    source,
                    destination,
                    contents: contents.into(),
                }));
            }
        }
        self.sweep(now);
    }

    /// Deletes every allocation (Refresh with lifetime 0) and stops
    /// everything else. Keep polling until [`is_closed`](Self::is_closed)
    /// (deleting gives up 2 s after it started).
    pub fn close(&mut self, now: Instant) {
        self.closed = true;
        self.entries.clear();
        self.bindings.clear();
        self.retries.clear();
        for r in self.relays.iter_mut() {
            r.close(now, &mut self.out);
        }
        self.sweep(now);
    }

    /// Closed and every allocation deleted (or given up on).
    pub fn is_closed(&self) -> bool {
        self.closed && self.relays.is_empty()
    }

    /// The next output, or `None`: drain after every input.
    pub fn poll_output(&mut self) -> Option<NetOutput> {
        self.out.pop()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let r = self.relays.iter().filter_map(Relay::poll_timeout);
        r.chain(self.bindings.iter().filter_map(Binding::poll_timeout))
            .chain(self.retries.iter().map(|r| r.at))
            .min()
    }

    /// Our relayed addresses (allocations in use).
    pub fn relayed_addrs(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.relays.iter().filter_map(Relay::relayed)
    }

    /// The transport to the TURN server of our relayed address `addr`, if
    /// it is one.
    pub fn relay_proto(&self, addr: SocketAddr) -> Option<RelayProto> {
        self.relays
            .iter()
            .find(|r| r.relayed() == Some(addr))
            .map(|r| r.proto)
    }

    /// Drops finished relays and Bindings, turning Binding answers into candidates.
    fn sweep(&mut self, now: Instant) {
        for r in self.relays.iter_mut().filter(|r| r.is_closed()) {
            let Some(why) = r.failure.take() else {
                continue;
            };
            let again = matches!(
                why,
                RelayError::AllocateTimeout
                    | RelayError::ConnectTimeout
                    | RelayError::StreamClosed
                    | RelayError::AllocationLost
                    | RelayError::ServerSilent
            );
            // An allocation that lived a while starts a new series; one that
            // keeps failing soon after it is made does not.
            let lived = r
                .allocated_at
                .is_some_and(|t| now.saturating_duration_since(t) >= RETRY_RESET);
            let attempt = if lived { 0 } else { r.attempt };
            if again && !self.closed && r.retire_at.is_none() && attempt < RETRIES {
                self.retries.push(Retry {
                    entry: r.entry,
                    ip: r.server.ip(),
                    proto: r.proto,
                    at: now + Duration::from_secs(1 << attempt),
                    attempt: attempt + 1,
                });
            }
        }
        self.relays.retain(|r| !r.is_closed());
        for (id, ip) in std::mem::take(&mut self.deferred) {
            if self.entries.iter().any(|e| e.id == id) && !self.start_udp(now, id, ip) {
                self.deferred.push((id, ip));
            }
        }
        let done: Vec<Binding> = {
            let (done, live) = std::mem::take(&mut self.bindings)
                .into_iter()
                .partition(|b| b.result.is_some());
            self.bindings = live;
            done
        };
        for b in done {
            match b.result {
                Some(BindingResult::Mapped(addr))
                    if addr != b.host && !self.srflx.contains(&(addr, b.host)) =>
                {
                    if let Ok(c) = Candidate::server_reflexive(addr, b.host, Protocol::Udp) {
                        self.srflx.push((addr, b.host));
                        self.out.event(NetEvent::LocalCandidate(c));
                    }
                }
                Some(BindingResult::Failed) => {
                    if let Some(e) = self.entries.iter().find(|e| e.id == b.entry) {
                        self.out.event(failed(&e.spec, None, RelayError::NoBinding));
                    }
                }
                _ => {}
            }
        }
    }
}

fn failed(spec: &IceServerSpec, proto: Option<RelayProto>, reason: RelayError) -> NetEvent {
    NetEvent::RelayFailed {
        server: spec.to_string(),
        proto,
        reason,
    }
}
