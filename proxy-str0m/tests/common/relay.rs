//! Relay pairs: a [`Pair`] whose peers both use the in-memory [`TurnNode`],
//! built one way for every relay test, and what those tests look at
//! (candidate types trickled, error events, datagrams that bypass the node).

use std::net::SocketAddr;

use proxy_core::{Config, Event as CoreEvent, IceServer, IceServerKind};
use proxy_str0m::net::IceTransportPolicy;
use proxy_str0m::ProxyConfig;

use super::pair::{Pair, Peer, RECEIVER, SENDER};
use super::turn::{TurnNode, TURN_ADDR, TURN_PASS, TURN_USER};

/// The TURN node as an ICE server (UDP), with this password.
pub fn turn_server(password: &str) -> IceServer {
    let addr: SocketAddr = TURN_ADDR.parse().unwrap();
    IceServer {
        kind: IceServerKind::Turn,
        host: addr.ip().to_string(),
        port: addr.port(),
        transport: Some(proxy_core::extdisco::IceTransport::Udp),
        username: Some(TURN_USER.into()),
        password: Some(password.into()),
        expires: None,
    }
}

/// Builds a [`Pair`] with a [`TurnNode`]: both peers have the same policy
/// and ICE servers in their config, and optionally get others through the
/// API (`set_ice_servers`) before anything starts.
pub struct RelayPair {
    policy: IceTransportPolicy,
    config_servers: Vec<IceServer>,
    api_servers: Option<Vec<IceServer>>,
}

impl RelayPair {
    /// Both peers with `policy` and the node (right password) in their config.
    pub fn new(policy: IceTransportPolicy) -> RelayPair {
        RelayPair {
            policy,
            config_servers: vec![turn_server(TURN_PASS)],
            api_servers: None,
        }
    }

    /// Relay-only peers.
    pub fn relay_only() -> RelayPair {
        RelayPair::new(IceTransportPolicy::Relay)
    }

    /// These servers in both peers' config instead.
    pub fn config_servers(mut self, servers: Vec<IceServer>) -> RelayPair {
        self.config_servers = servers;
        self
    }

    /// Then these servers through the API, before the session.
    pub fn api_servers(mut self, servers: Vec<IceServer>) -> RelayPair {
        self.api_servers = Some(servers);
        self
    }

    /// The pair: sender `a` at 10.0.0.1:10000, receiver `b` at 10.0.0.2:20000.
    pub fn build(self) -> Pair {
        let mut p = Pair::default_pair();
        let now = p.time;
        let config = |seed| ProxyConfig {
            core: Config {
                seed,
                ice_servers: self.config_servers.clone(),
                ..Config::default()
            },
            ice_transport_policy: self.policy,
            ..ProxyConfig::default()
        };
        p.a = Peer::with_config(now, SENDER, "10.0.0.1:10000", config(1));
        p.b = Peer::with_config(now, RECEIVER, "10.0.0.2:20000", config(2));
        if let Some(servers) = &self.api_servers {
            for peer in [&mut p.a, &mut p.b] {
                peer.conn.set_ice_servers(now, servers);
            }
        }
        p.turn = Some(TurnNode::new(now));
        p
    }
}

/// Fails the test if a peer sends a datagram anywhere but the TURN node.
pub fn only_through_turn(p: &mut Pair) {
    let turn = TURN_ADDR.parse::<SocketAddr>().unwrap().ip();
    p.lose = Some(Box::new(move |_, t| {
        assert_eq!(t.destination.ip(), turn, "a direct datagram: {t:?}");
        false
    }));
}

/// The `type` of every candidate in the stanzas a peer sent.
pub fn candidate_types(sent: &[(String, String)]) -> Vec<String> {
    let mut types = Vec::new();
    for (_, iq) in sent {
        for part in iq.split("<candidate ").skip(1) {
            if let Some(t) = part.split("type=").nth(1) {
                types.push(t[1..].split(['"', '\'']).next().unwrap_or("").to_owned());
            }
        }
    }
    types
}

/// A peer's error events.
pub fn errors(peer: &Peer) -> Vec<&CoreEvent> {
    peer.events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| matches!(e, CoreEvent::Error(_)))
        .collect()
}
