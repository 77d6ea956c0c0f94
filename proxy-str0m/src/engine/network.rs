//! The engine's STUN/TURN side: one [`Network`] per connection (ICE
//! servers, srflx Bindings, TURN allocations), wired to the `Rtc`.
//!
//! - str0m's transmits go through [`Network::route`] (see `rtc.rs`): from a
//!   relayed address they travel through that allocation.
//! - Every datagram is offered to the networks first: server traffic stays
//!   there, peer data through a relay comes back to the `Rtc` as received
//!   on the relayed address (protocol UDP).
//! - New local candidates (srflx, relayed) go to the `Rtc` and are trickled
//!   as [`EngineEvent::LocalCandidates`]; failures become
//!   [`EngineOutput::RelayFailed`] warnings, never fatal.
//! - A connection that ends hands its network to the retiring list, which
//!   deletes the allocations (`Network::close`) on its own time: the core's
//!   closed event does not wait for it.
//!
//! Stream ids are the engine's own: each network numbers its streams from
//! zero, and a retiring network can outlive the connection that replaced it.

use std::time::{Instant, SystemTime};

use proxy_core::{EngineEvent, IceServer};

use super::{Engine, EngineOutput};
use crate::net::{IceServerSpec, Incoming, NetEvent, NetOutput, Network, StreamId};

/// A network that outlives its connection while it deletes its allocations.
#[derive(Debug)]
pub(super) struct Retiring {
    pub(super) id: u32,
    pub(super) net: Network,
}

/// The engine's stream ids and the (network, stream) each stands for.
#[derive(Debug, Default)]
pub(super) struct Streams {
    map: Vec<(StreamId, u32, StreamId)>,
    next: u32,
}

impl Streams {
    /// The engine id of network `net`'s `inner` stream (a new one the first time).
    fn outer(&mut self, net: u32, inner: StreamId) -> StreamId {
        if let Some((o, ..)) = self.map.iter().find(|(_, n, i)| *n == net && *i == inner) {
            return *o;
        }
        let o = StreamId(self.next);
        self.next = self.next.wrapping_add(1);
        self.map.push((o, net, inner));
        o
    }

    /// The network and its stream id for engine id `outer`.
    fn inner(&self, outer: StreamId) -> Option<(u32, StreamId)> {
        self.map
            .iter()
            .find(|(o, ..)| *o == outer)
            .map(|(_, n, i)| (*n, *i))
    }

    fn forget(&mut self, outer: StreamId) {
        self.map.retain(|(o, ..)| *o != outer);
    }

    fn forget_net(&mut self, net: u32) {
        self.map.retain(|(_, n, _)| *n != net);
    }
}

/// A core [`IceServer`] as the network takes it. `wall` maps wall-clock
/// time to instants (the wall-clock time at an instant); without it, or
/// with an `expires` that does not parse, the credentials never expire.
pub(crate) fn server_spec(s: &IceServer, wall: Option<(SystemTime, Instant)>) -> IceServerSpec {
    let expires = match (s.expires_at(), wall) {
        (Some(t), Some((wall, at))) => Some(match t.duration_since(wall) {
            Ok(ahead) => at + ahead,
            Err(e) => at.checked_sub(e.duration()).unwrap_or(at),
        }),
        _ => None,
    };
    IceServerSpec {
        expires,
        ..IceServerSpec::from(s)
    }
}

impl Engine {
    /// The servers a new connection uses: those set through
    /// [`set_ice_servers`](Self::set_ice_servers) if any, else the command's.
    pub(super) fn servers_for(&self, command: &[IceServer]) -> Vec<IceServerSpec> {
        match &self.servers {
            Some(s) => s.clone(),
            None => command.iter().map(|s| server_spec(s, self.wall)).collect(),
        }
    }

    /// A fresh network for a new connection, with its id.
    pub(super) fn new_network(&mut self) -> (Network, u32) {
        let id = self.next_net;
        self.next_net = self.next_net.wrapping_add(1);
        (Network::new(self.epoch, self.net_config.clone()), id)
    }

    /// Uses these ICE servers from now on: for the current connection (new
    /// servers start at once, replaced ones retire) and every later one,
    /// instead of those in the core's commands.
    pub fn set_ice_servers(&mut self, now: Instant, servers: &[IceServer]) {
        self.now = self.now.max(now);
        let specs: Vec<IceServerSpec> = servers.iter().map(|s| server_spec(s, self.wall)).collect();
        self.set_server_specs(now, specs);
    }

    /// [`set_ice_servers`](Self::set_ice_servers) with servers already in
    /// the network's terms.
    pub fn set_server_specs(&mut self, now: Instant, servers: Vec<IceServerSpec>) {
        self.now = self.now.max(now);
        self.servers = Some(servers.clone());
        if let Some(conn) = self.state.conn_mut() {
            conn.net.set_ice_servers(now, servers);
            self.drain();
        }
    }

    /// The answer to [`EngineOutput::Resolve`].
    pub fn handle_resolved(
        &mut self,
        now: Instant,
        host: &str,
        result: Result<Vec<std::net::IpAddr>, String>,
    ) {
        self.now = self.now.max(now);
        // A remote candidate's mDNS name (`commands.rs`), or a server's.
        self.mdns_resolved(now, host, &result);
        if let Some(conn) = self.state.conn_mut() {
            conn.net.handle_resolved(now, host, result);
            self.drain();
        }
    }

    /// The network `id` (the current connection's or a retiring one).
    fn network(&mut self, id: u32) -> Option<&mut Network> {
        if let Some(conn) = self.state.conn_mut() {
            if conn.net_id == id {
                return Some(&mut conn.net);
            }
        }
        self.retiring
            .iter_mut()
            .find(|r| r.id == id)
            .map(|r| &mut r.net)
    }

    /// The driver's TCP connection `stream` is up, from `local`.
    pub fn handle_stream_connected(
        &mut self,
        now: Instant,
        stream: StreamId,
        local: std::net::SocketAddr,
    ) {
        self.now = self.now.max(now);
        let Some((id, inner)) = self.streams.inner(stream) else {
            self.queue.push_back(EngineOutput::StreamClose { stream });
            return;
        };
        match self.network(id) {
            Some(net) => net.handle_stream_connected(now, inner, local),
            None => {
                self.streams.forget(stream);
                self.queue.push_back(EngineOutput::StreamClose { stream });
            }
        }
        self.drain();
    }

    /// Bytes read from `stream`; empty means the server closed it (EOF).
    pub fn handle_stream_data(&mut self, now: Instant, stream: StreamId, bytes: &[u8]) {
        self.now = self.now.max(now);
        let Some((id, inner)) = self.streams.inner(stream) else {
            return;
        };
        if let Some(net) = self.network(id) {
            net.handle_stream_data(now, inner, bytes);
        }
        self.drain();
    }

    /// `stream` failed to connect or broke.
    pub fn handle_stream_closed(&mut self, now: Instant, stream: StreamId) {
        self.now = self.now.max(now);
        let Some((id, inner)) = self.streams.inner(stream) else {
            return;
        };
        self.streams.forget(stream);
        if let Some(net) = self.network(id) {
            net.handle_stream_closed(now, inner);
        }
        self.drain();
    }

    /// Offers a datagram to the networks: `Some((source, destination,
    /// contents))` is what the `Rtc` should get (unchanged, or peer data
    /// through a relay), `None` if it was server traffic.
    pub(super) fn claim_datagram(
        &mut self,
        now: Instant,
        source: std::net::SocketAddr,
        destination: std::net::SocketAddr,
        contents: &[u8],
    ) -> Option<Option<crate::net::Relayed>> {
        for r in self.retiring.iter_mut() {
            if r.net.handle_receive(now, source, destination, contents) != Incoming::Unclaimed {
                self.drain();
                return None;
            }
        }
        let conn = self.state.conn_mut()?;
        match conn.net.handle_receive(now, source, destination, contents) {
            Incoming::Unclaimed => Some(None),
            Incoming::Consumed => {
                self.drain();
                None
            }
            Incoming::Relayed(d) => {
                self.drain();
                Some(Some(d))
            }
        }
    }

    /// Network time: the current connection's and the retiring ones'.
    pub(super) fn network_timeout(&mut self, now: Instant) {
        if let Some(conn) = self.state.conn_mut() {
            if conn.net.poll_timeout().is_some_and(|t| t <= now) {
                conn.net.handle_timeout(now);
            }
        }
        for r in self.retiring.iter_mut() {
            if r.net.poll_timeout().is_some_and(|t| t <= now) {
                r.net.handle_timeout(now);
            }
        }
    }

    /// The earliest network deadline.
    pub(super) fn network_deadline(&self) -> Option<Instant> {
        let current = self.state.conn().and_then(|c| c.net.poll_timeout());
        self.retiring
            .iter()
            .filter_map(|r| r.net.poll_timeout())
            .chain(current)
            .min()
    }

    /// Drains the current connection's network: I/O out, candidates into the
    /// `Rtc` (and trickled), relayed data into the `Rtc`. Returns whether the
    /// `Rtc` was changed (and must be drained again).
    pub(super) fn drain_network(&mut self) -> bool {
        let now = self.now;
        let Some(conn) = self.state.conn_mut() else {
            return false;
        };
        let mut candidates = Vec::new();
        let mut relayed = Vec::new();
        let mut changed = false;
        while let Some(o) = conn.net.poll_output() {
            match o {
                NetOutput::Relayed(d) => relayed.push(d),
                NetOutput::Event(NetEvent::LocalCandidate(c)) => {
                    changed = true;
                    if let Some(c) = conn.rtc.add_local_candidate(c) {
                        candidates.push(c.to_sdp_string());
                    }
                }
                // The relay is gone: its pairs go with it, so ICE moves to
                // another pair at once instead of when its checks fail.
                NetOutput::Event(NetEvent::CandidateGone(c)) => {
                    changed |= conn.rtc.direct_api().invalidate_candidate(&c);
                }
                o => io(&mut self.queue, &mut self.streams, conn.net_id, o, true),
            }
        }
        if !candidates.is_empty() {
            self.event(EngineEvent::LocalCandidates { candidates });
        }
        for d in relayed {
            self.receive_from_peer(now, d.peer, d.relay, &d.contents);
        }
        changed
    }

    /// Drains the retiring networks (their deletions) and drops finished ones.
    pub(super) fn drain_retiring(&mut self) {
        for r in self.retiring.iter_mut() {
            while let Some(o) = r.net.poll_output() {
                io(&mut self.queue, &mut self.streams, r.id, o, false);
            }
        }
        let streams = &mut self.streams;
        self.retiring.retain(|r| {
            let done = r.net.is_closed();
            if done {
                streams.forget_net(r.id);
            }
            !done
        });
    }

    /// Closes a connection's network: deletes its allocations on its own time.
    pub(super) fn retire(&mut self, mut net: Network, id: u32) {
        net.close(self.now);
        self.retiring.push(Retiring { id, net });
        self.drain_retiring();
    }
}

/// One network output that is I/O for the driver (or a warning, if `events`).
fn io(
    queue: &mut std::collections::VecDeque<EngineOutput>,
    streams: &mut Streams,
    net: u32,
    o: NetOutput,
    events: bool,
) {
    let out = match o {
        NetOutput::Transmit(t) => EngineOutput::Transmit(t),
        NetOutput::Resolve { host, port } => EngineOutput::Resolve {
            host,
            port,
            mdns: false,
        },
        NetOutput::Connect { stream, server } => EngineOutput::Connect {
            stream: streams.outer(net, stream),
            server,
        },
        NetOutput::StreamSend { stream, bytes } => EngineOutput::StreamSend {
            stream: streams.outer(net, stream),
            bytes,
        },
        NetOutput::StreamClose { stream } => {
            let stream = streams.outer(net, stream);
            streams.forget(stream);
            EngineOutput::StreamClose { stream }
        }
        NetOutput::Event(NetEvent::RelayFailed {
            server,
            proto,
            reason,
        }) if events => EngineOutput::RelayFailed {
            server,
            proto,
            reason,
        },
        // A retiring network's news and data: nobody is listening.
        NetOutput::Relayed(_) | NetOutput::Event(_) => return,
    };
    queue.push_back(out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::RelayProto;
    use proxy_core::extdisco::IceTransport;
    use proxy_core::IceServerKind;
    use std::time::Duration;

    #[test]
    fn stream_ids_of_two_networks_never_collide() {
        let mut m = Streams::default();
        // A retiring network (1) and its successor (2) both number from 0.
        let old = m.outer(1, StreamId(0));
        let new = m.outer(2, StreamId(0));
        assert_ne!(old, new);
        assert_eq!(m.outer(1, StreamId(0)), old, "stable");
        assert_eq!(m.inner(new), Some((2, StreamId(0))));
        m.forget_net(1);
        assert_eq!(m.inner(old), None);
        m.forget(new);
        assert_eq!(m.inner(new), None);
        assert_ne!(m.outer(2, StreamId(0)), new, "ids are not reused");
    }

    #[test]
    fn expiry_becomes_an_instant_and_bad_text_none() {
        let at = Instant::now();
        let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut s = IceServer {
            kind: IceServerKind::Turn,
            host: "turn.example.com".into(),
            port: 0,
            transport: Some(IceTransport::Tcp),
            username: Some("u".into()),
            password: Some("p".into()),
            // 1_700_000_000 is 2023-11-14T22:13:20Z.
            expires: Some("2023-11-14T23:13:20Z".into()),
        };
        let spec = server_spec(&s, Some((wall, at)));
        assert_eq!(spec.expires, Some(at + Duration::from_secs(3600)));
        assert_eq!((spec.port, spec.transport), (3478, Some(RelayProto::Tcp)));
        s.expires = Some("2023-11-14T22:13:20.5+01:00".into());
        let spec = server_spec(&s, Some((wall, at)));
        assert!(spec.expires.unwrap() < at, "an hour ago");
        s.expires = Some("tomorrow".into());
        assert_eq!(server_spec(&s, Some((wall, at))).expires, None);
        s.expires = Some("2023-11-14T23:13:20Z".into());
        assert_eq!(server_spec(&s, None).expires, None);
        s.kind = IceServerKind::Turns;
        assert_eq!(server_spec(&s, None).port, 5349);
    }
}
