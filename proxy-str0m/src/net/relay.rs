//! One TURN allocation (RFC 8656) on one server over one transport, and
//! everything it needs: connecting, allocating, the relayed candidate,
//! permissions with the data waiting for them, channels, deletion.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rustls::pki_types::ServerName;
use str0m::net::Protocol;
use str0m::{Candidate, CandidateKind};
use turn_client_proto::api::{SendError, TurnConfig, TurnEvent};
use turn_client_proto::types::TurnCredentials;

use super::clock::Clock;
use super::link::{Link, LinkRecv};
use super::output::{NetEvent, NetOutput, Outputs, RelayError, Relayed, StreamId};
use super::server::{IceServerSpec, RelayProto};
use crate::Transmit;

/// TCP connect plus TLS handshake (memo §1.5.5).
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// From the first Allocate to the allocation (a wrong password fails sooner).
pub(super) const ALLOCATE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long deleting may take before we give up on the answer.
pub(super) const DELETE_TIMEOUT: Duration = Duration::from_secs(2);
/// A request to the server unanswered this long (retransmissions
/// included) means the server is gone.
const SILENCE: Duration = Duration::from_secs(15);
/// Data held back until its permission exists, per relay.
const MAX_WAITING: usize = 32;
/// Server lists ([`Network::set_ice_servers`](super::Network::set_ice_servers)
/// calls) whose relays get ever higher priorities; later ones share the last.
pub(super) const MAX_GENERATION: u32 = 2046;
/// Peers with a channel, per UDP relay.
const MAX_CHANNELS: usize = 16;
/// Peers whose latest unanswered ICE check is kept, and peers heard from,
/// per relay (see [`Relay::recv`]).
const MAX_EARLY_PEERS: usize = 16;
/// Peer addresses we ask a permission for, per relay, ever: the peer's
/// remote candidates decide them, and turn-client-proto refreshes every
/// permission until the allocation ends. Data to more addresses is dropped.
const MAX_PERMISSIONS: usize = 64;

/// Where a relay is.
#[derive(Debug)]
enum State {
    /// Waiting for the driver's TCP connection.
    Connecting { deadline: Instant },
    /// The client asks for the allocation (TLS handshake included).
    Allocating { link: Link, deadline: Instant },
    /// Allocated: `candidate` is out.
    Ready { link: Link, candidate: Candidate },
    /// Refresh(lifetime 0) sent.
    Deleting { link: Link, deadline: Instant },
    /// Over (failed or deleted).
    Closed,
}

/// One allocation.
#[derive(Debug)]
pub(super) struct Relay {
    pub(super) spec: IceServerSpec,
    pub(super) proto: RelayProto,
    pub(super) server: SocketAddr,
    /// UDP: the host socket. Streams: the local end, once connected.
    pub(super) host: Option<SocketAddr>,
    pub(super) stream: Option<StreamId>,
    /// The index of the server's entry in the network.
    pub(super) entry: u32,
    /// Delete the allocation at this instant (replaced servers).
    pub(super) retire_at: Option<Instant>,
    /// Why it failed, until the network has seen it.
    pub(super) failure: Option<RelayError>,
    /// Failures in a row before this relay.
    pub(super) attempt: u32,
    /// When its allocation was created.
    pub(super) allocated_at: Option<Instant>,
    priority: u32,
    foundation: String,
    clock: Clock,
    state: State,
    waiting: VecDeque<(SocketAddr, Bytes)>,
    channels: Vec<SocketAddr>,
    /// Our latest ICE check to each peer not heard from yet: sent again when
    /// the peer is first heard (see [`recv`](Self::recv)).
    early_checks: Vec<(SocketAddr, Bytes)>,
    /// Peers heard from through this relay.
    heard: Vec<SocketAddr>,
    /// Peer addresses a permission was asked for (at most `MAX_PERMISSIONS`).
    permissions: Vec<IpAddr>,
    /// When the oldest request sent since the server's last word went out.
    unanswered_since: Option<Instant>,
    next: Option<Instant>,
}

impl Relay {
    /// A relay over UDP from `host`; the Allocate goes out on the first drain.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn udp(
        now: Instant,
        clock: Clock,
        spec: IceServerSpec,
        entry: u32,
        server: SocketAddr,
        host: SocketAddr,
        server_rank: (u32, u32),
        out: &mut Outputs,
    ) -> Relay {
        let link = Link::udp(host, server, turn_config(&spec));
        let deadline = now + ALLOCATE_TIMEOUT;
        let mut r = Relay::new(clock, spec, entry, RelayProto::Udp, server, server_rank);
        r.host = Some(host);
        r.state = State::Allocating { link, deadline };
        r.pump(now, out);
        r
    }

    /// A relay over a stream the driver is asked to open.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn stream(
        now: Instant,
        clock: Clock,
        spec: IceServerSpec,
        entry: u32,
        proto: RelayProto,
        server: SocketAddr,
        stream: StreamId,
        server_rank: (u32, u32),
        out: &mut Outputs,
    ) -> Relay {
        let mut r = Relay::new(clock, spec, entry, proto, server, server_rank);
        r.stream = Some(stream);
        r.state = State::Connecting {
            deadline: now + CONNECT_TIMEOUT,
        };
        r.next = Some(now + CONNECT_TIMEOUT);
        out.push(NetOutput::Connect { stream, server });
        r
    }

    fn new(
        clock: Clock,
        spec: IceServerSpec,
        entry: u32,
        proto: RelayProto,
        server: SocketAddr,
        (server_rank, generation): (u32, u32),
    ) -> Relay {
        // RFC 8445 §5.1.2.1: type preference (here by transport, libwebrtc's
        // scheme), local preference (newer server lists first, then servers
        // in order, IPv6 first), component 1. A relay made with fresh
        // credentials outranks the one it replaces, so the controlling agent
        // moves to it as soon as its pair is checked, without waiting for the
        // old pair to fail (see `Network::set_ice_servers`).
        let v6 = u32::from(server.is_ipv4());
        let within = (2 * server_rank + v6).min(31);
        let local_pref = 32 * generation.min(MAX_GENERATION) + 31 - within;
        let priority = (proto.type_preference() << 24) | (local_pref << 8) | 255;
        Relay {
            spec,
            proto,
            server,
            host: None,
            stream: None,
            entry,
            retire_at: None,
            failure: None,
            attempt: 0,
            allocated_at: None,
            priority,
            foundation: format!("r{proto}{server_rank}g{generation}"),
            clock,
            state: State::Closed,
            waiting: VecDeque::new(),
            channels: Vec::new(),
            early_checks: Vec::new(),
            heard: Vec::new(),
            permissions: Vec::new(),
            unanswered_since: None,
            next: None,
        }
    }

    /// Our relayed address, once allocated.
    pub(super) fn relayed(&self) -> Option<SocketAddr> {
        match &self.state {
            State::Ready { candidate, .. } => Some(candidate.addr()),
            _ => None,
        }
    }

    pub(super) fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        if self.is_closed() {
            return None;
        }
        let limit = match self.state {
            State::Ready { .. } => self.unanswered_since.map(|t| t + SILENCE),
            State::Connecting { deadline }
            | State::Allocating { deadline, .. }
            | State::Deleting { deadline, .. } => Some(deadline),
            State::Closed => None,
        };
        [self.next, self.retire_at, limit]
            .into_iter()
            .flatten()
            .min()
    }

    /// The driver connected the stream from `local`.
    pub(super) fn connected(
        &mut self,
        now: Instant,
        local: SocketAddr,
        tls: Option<&Arc<rustls::ClientConfig>>,
        out: &mut Outputs,
    ) {
        if !matches!(self.state, State::Connecting { .. }) {
            return;
        }
        let tls = match (self.proto, tls) {
            (RelayProto::Tls, None) => return self.fail(RelayError::NoTlsConfig, out),
            (RelayProto::Tls, Some(cfg)) => match ServerName::try_from(self.spec.host.clone()) {
                Ok(name) => Some((name, cfg.clone())),
                Err(e) => return self.fail(RelayError::Tls(e.to_string()), out),
            },
            _ => None,
        };
        match Link::stream(local, self.server, turn_config(&self.spec), tls) {
            Ok(link) => {
                self.host = Some(local);
                let deadline = now + ALLOCATE_TIMEOUT;
                self.state = State::Allocating { link, deadline };
                self.pump(now, out);
            }
            Err(e) => self.fail(RelayError::Tls(e), out),
        }
    }

    /// Bytes from the server: a datagram to our host socket, or stream data.
    /// Peer data goes to `peer`; `false` if the bytes were not for this client.
    ///
    /// The first datagram from a peer means its relay has a permission for
    /// us now, so our latest check to it, which its relay may have dropped
    /// for want of one, goes again at once: the same transaction, sent
    /// again, rather than str0m's retransmission a whole RTO (250 ms) later.
    pub(super) fn recv(
        &mut self,
        now: Instant,
        bytes: &[u8],
        peer: &mut dyn FnMut(Relayed),
        out: &mut Outputs,
    ) -> bool {
        let relay = self.relayed();
        let t = self.clock.turn(now);
        let mut first_heard = None;
        let mut data = false;
        let (ret, allocating) = match &mut self.state {
            State::Allocating { link, .. } => (link.recv(bytes, t, &mut |_, _| {}), true),
            State::Ready { link, .. } | State::Deleting { link, .. } => {
                let heard = &mut self.heard;
                let mut sink = |p: SocketAddr, d: &[u8]| {
                    data = true;
                    if let Some(relay) = relay {
                        if heard.len() < MAX_EARLY_PEERS && !heard.contains(&p) {
                            heard.push(p);
                            first_heard = Some(p);
                        }
                        peer(Relayed {
                            peer: p,
                            relay,
                            contents: Bytes::copy_from_slice(d),
                        });
                    }
                };
                (link.recv(bytes, t, &mut sink), false)
            }
            State::Connecting { .. } | State::Closed => return false,
        };
        if let Some(p) = first_heard {
            if let Some(i) = self.early_checks.iter().position(|(x, _)| *x == p) {
                let (_, check) = self.early_checks.swap_remove(i);
                if let Some(tx) = self.send(now, p, check, out) {
                    out.push(NetOutput::Transmit(tx));
                }
            }
        }
        match ret {
            LinkRecv::Ignored => false,
            LinkRecv::Rejected(code) if allocating => {
                self.fail(RelayError::Rejected(code), out);
                true
            }
            LinkRecv::Rejected(_) | LinkRecv::Handled => {
                self.unanswered_since = None;
                // Peer data over UDP changes nothing in the client: no need to
                // poll it. A stream read may also carry a control message.
                if !data || first_heard.is_some() || self.proto != RelayProto::Udp {
                    self.pump(now, out);
                }
                true
            }
        }
    }

    /// The stream ended (EOF or closed by the driver).
    pub(super) fn stream_closed(&mut self, out: &mut Outputs) {
        match self.state {
            State::Deleting { .. } => self.finish(out),
            State::Closed => {}
            _ => self.fail(RelayError::StreamClosed, out),
        }
    }

    /// Sends `data` to `peer` through the allocation. Returns the datagram
    /// for the server (UDP relays); stream bytes are queued in `out`.
    pub(super) fn send(
        &mut self,
        now: Instant,
        peer: SocketAddr,
        data: Bytes,
        out: &mut Outputs,
    ) -> Option<Transmit> {
        let t = self.clock.turn(now);
        let State::Ready { link, .. } = &mut self.state else {
            return None;
        };
        if is_binding_request(&data) && !self.heard.contains(&peer) {
            let kept = self.early_checks.iter().position(|(p, _)| *p == peer);
            match kept {
                Some(i) => self.early_checks[i].1 = data.clone(),
                None if self.early_checks.len() < MAX_EARLY_PEERS => {
                    self.early_checks.push((peer, data.clone()))
                }
                None => {}
            }
        }
        let mut control = false;
        if !link.have_permission(peer.ip()) {
            if !self.permissions.contains(&peer.ip()) {
                if self.permissions.len() >= MAX_PERMISSIONS {
                    return None;
                }
                self.permissions.push(peer.ip());
            }
            if !self.waiting.iter().any(|(p, _)| p.ip() == peer.ip()) {
                control = true;
                if link.create_permission(peer.ip(), t).is_err() {
                    return None;
                }
            }
            if self.waiting.len() < MAX_WAITING {
                self.waiting.push_back((peer, data));
            }
        } else {
            if self.proto == RelayProto::Udp
                && self.channels.len() < MAX_CHANNELS
                && !self.channels.contains(&peer)
            {
                self.channels.push(peer);
                link.bind_channel(peer, t);
                control = true;
            }
            match link.send_to(peer, &data, t) {
                Ok(Some(bytes)) => {
                    let wire = self.wire(bytes, out);
                    if control {
                        self.pump(now, out);
                    }
                    return wire;
                }
                Ok(None) => {}
                Err(SendError::NoPermission) if self.waiting.len() < MAX_WAITING => {
                    self.waiting.push_back((peer, data));
                }
                Err(_) => {}
            }
        }
        if control {
            self.pump(now, out);
        }
        None
    }

    /// Timers: connect/allocate/delete deadlines, retirement and the client's.
    pub(super) fn handle_timeout(&mut self, now: Instant, out: &mut Outputs) {
        if self.retire_at.is_some_and(|t| t <= now) {
            self.retire_at = None;
            return self.close(now, out);
        }
        match &self.state {
            State::Connecting { deadline } if *deadline <= now => {
                self.fail(RelayError::ConnectTimeout, out)
            }
            State::Allocating { link, deadline } if *deadline <= now => {
                let why = match (link.handshaking(), link.broken()) {
                    (true, _) => RelayError::ConnectTimeout,
                    (_, Some(e)) => RelayError::Tls(e.to_owned()),
                    _ => RelayError::AllocateTimeout,
                };
                self.fail(why, out)
            }
            State::Deleting { deadline, .. } if *deadline <= now => self.finish(out),
            State::Ready { .. } if self.unanswered_since.is_some_and(|t| t + SILENCE <= now) => {
                self.fail(RelayError::ServerSilent, out)
            }
            State::Connecting { .. } | State::Closed => {}
            _ if self.next.is_some_and(|t| t <= now) => self.pump(now, out),
            _ => {}
        }
    }

    /// Deletes the allocation (or gives up on it if not allocated yet).
    pub(super) fn close(&mut self, now: Instant, out: &mut Outputs) {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Ready {
                mut link,
                candidate,
            } => {
                out.event(NetEvent::CandidateGone(candidate));
                self.waiting.clear();
                if link.delete(self.clock.turn(now)) {
                    self.state = State::Deleting {
                        link,
                        deadline: now + DELETE_TIMEOUT,
                    };
                    self.pump(now, out);
                } else {
                    self.finish(out);
                }
            }
            State::Deleting { link, deadline } => self.state = State::Deleting { link, deadline },
            _ => self.finish(out),
        }
    }

    /// Drains the client: transmits, events, then its next deadline.
    fn pump(&mut self, now: Instant, out: &mut Outputs) {
        let t = self.clock.turn(now);
        for _ in 0..4 {
            let link = match &mut self.state {
                State::Allocating { link, .. }
                | State::Ready { link, .. }
                | State::Deleting { link, .. } => link,
                State::Connecting { .. } | State::Closed => return,
            };
            let deadline = link.poll(t);
            let mut sent = Vec::new();
            while let Some(bytes) = link.poll_transmit(t) {
                sent.push(bytes);
            }
            let mut events = Vec::new();
            while let Some(e) = link.poll_event() {
                events.push(e);
            }
            let quiet = sent.is_empty() && events.is_empty();
            if !sent.is_empty() && self.unanswered_since.is_none() {
                self.unanswered_since = Some(now);
            }
            for bytes in sent {
                if let Some(tx) = self.wire(bytes, out) {
                    out.push(NetOutput::Transmit(tx));
                }
            }
            for e in events {
                self.on_event(now, e, out);
            }
            match deadline {
                None => return self.on_client_closed(out),
                Some(d) if quiet => {
                    self.next = Some(self.clock.std(d).max(now));
                    return;
                }
                Some(_) => {}
            }
        }
        self.next = Some(now);
    }

    fn on_event(&mut self, now: Instant, e: TurnEvent, out: &mut Outputs) {
        let t = self.clock.turn(now);
        match (e, &mut self.state) {
            (TurnEvent::AllocationCreated(_, relayed), State::Allocating { .. }) => {
                let State::Allocating { link, .. } =
                    std::mem::replace(&mut self.state, State::Closed)
                else {
                    return;
                };
                let candidate = Candidate::from_parts(
                    self.foundation.clone(),
                    1,
                    Protocol::Udp,
                    self.priority,
                    relayed,
                    CandidateKind::Relayed,
                    Some(SocketAddr::from(([0, 0, 0, 0], 0))),
                    None,
                    None,
                );
                out.event(NetEvent::LocalCandidate(candidate.clone()));
                self.allocated_at = Some(now);
                self.state = State::Ready { link, candidate };
            }
            // Signed refusals are turned into this too (turn-client-proto
            // does not say which): final, never retried.
            (TurnEvent::AllocationCreateFailed(_), State::Allocating { .. }) => {
                self.fail(RelayError::AllocateRefused, out)
            }
            (TurnEvent::PermissionCreated(_, ip), State::Ready { link, .. }) => {
                let (ready, rest): (VecDeque<_>, VecDeque<_>) =
                    self.waiting.drain(..).partition(|(p, _)| p.ip() == ip);
                self.waiting = rest;
                let mut wires = Vec::new();
                for (peer, data) in ready {
                    if let Ok(Some(bytes)) = link.send_to(peer, &data, t) {
                        wires.push(bytes);
                    }
                }
                for bytes in wires {
                    if let Some(tx) = self.wire(bytes, out) {
                        out.push(NetOutput::Transmit(tx));
                    }
                }
            }
            (TurnEvent::PermissionCreateFailed(_, ip), State::Ready { .. }) => {
                self.waiting.retain(|(p, _)| p.ip() != ip);
            }
            _ => {}
        }
    }

    /// The client closed itself (error state, expiry, or deleted).
    fn on_client_closed(&mut self, out: &mut Outputs) {
        let broken = match &self.state {
            State::Allocating { link, .. } | State::Ready { link, .. } => {
                link.broken().map(str::to_owned)
            }
            _ => None,
        };
        match (&self.state, broken) {
            (State::Deleting { .. }, _) => self.finish(out),
            (_, Some(e)) => self.fail(RelayError::Tls(e), out),
            (State::Allocating { .. }, None) => self.fail(RelayError::AllocateTimeout, out),
            _ => self.fail(RelayError::AllocationLost, out),
        }
    }

    /// Bytes for the server: a UDP datagram to return, or stream bytes queued.
    fn wire(&self, bytes: Vec<u8>, out: &mut Outputs) -> Option<Transmit> {
        match (self.proto, self.stream, self.host) {
            (RelayProto::Udp, _, Some(source)) => Some(Transmit {
                source,
                destination: self.server,
                contents: bytes.into(),
            }),
            (RelayProto::Tcp | RelayProto::Tls, Some(stream), _) => {
                out.push(NetOutput::StreamSend {
                    stream,
                    bytes: bytes.into(),
                });
                None
            }
            _ => None,
        }
    }

    fn fail(&mut self, reason: RelayError, out: &mut Outputs) {
        if let State::Ready { candidate, .. } = &self.state {
            out.event(NetEvent::CandidateGone(candidate.clone()));
        }
        if !self.is_closed() {
            out.event(NetEvent::RelayFailed {
                server: self.spec.to_string(),
                proto: Some(self.proto),
                reason: reason.clone(),
            });
            self.failure = Some(reason);
        }
        self.finish(out);
    }

    fn finish(&mut self, out: &mut Outputs) {
        if let Some(stream) = self.stream.take() {
            out.push(NetOutput::StreamClose { stream });
        }
        self.state = State::Closed;
        self.waiting.clear();
        self.next = None;
    }
}

/// Whether `data` is a STUN Binding request (an ICE check).
fn is_binding_request(data: &[u8]) -> bool {
    data.len() >= 20 && data[..2] == [0x00, 0x01] && data[4..8] == [0x21, 0x12, 0xa4, 0x42]
}

/// The client configuration: the spec's credentials, a UDP allocation (what
/// WebRTC needs whatever the transport to the server), and a request timeout
/// of about 11.5 s instead of ~40 s.
fn turn_config(spec: &IceServerSpec) -> TurnConfig {
    let creds = TurnCredentials::new(
        spec.username.as_deref().unwrap_or(""),
        spec.password.as_deref().unwrap_or(""),
    );
    let mut cfg = TurnConfig::new(creds);
    cfg.set_request_retransmits(
        Duration::from_millis(500),
        Duration::from_secs(4),
        5,
        Duration::from_secs(4),
    );
    cfg
}
