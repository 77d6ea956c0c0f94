//! What [`Network`](super::Network) asks of the driver and tells the engine,
//! and the bounded queue that holds it.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use str0m::Candidate;

use super::server::RelayProto;
use crate::Transmit;

/// A TCP connection to a TURN server, opened by the driver on
/// [`NetOutput::Connect`]. TLS, when used, runs inside [`Network`](super::Network).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub u32);

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stream {}", self.0)
    }
}

/// One output of [`Network::poll_output`](super::Network::poll_output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetOutput {
    /// Send this UDP datagram from the host socket `source`.
    Transmit(Transmit),
    /// Look up `host` (a DNS name) and answer with
    /// [`handle_resolved`](super::Network::handle_resolved).
    Resolve {
        /// The name.
        host: String,
        /// The port, given back as is.
        port: u16,
    },
    /// Open a TCP connection to `server`; answer with
    /// [`handle_stream_connected`](super::Network::handle_stream_connected) or
    /// [`handle_stream_closed`](super::Network::handle_stream_closed).
    Connect {
        /// The id to use in the answers.
        stream: StreamId,
        /// Where to connect.
        server: SocketAddr,
    },
    /// Write these bytes on the stream, in order.
    StreamSend {
        /// The stream.
        stream: StreamId,
        /// The bytes (TLS records for `turns:`).
        bytes: Bytes,
    },
    /// Close the stream (after writing what was sent before). No
    /// `handle_stream_closed` is expected for it.
    StreamClose {
        /// The stream.
        stream: StreamId,
    },
    /// Data a peer sent through a stream (TCP/TLS) relay: give it to the ICE
    /// agent as received on `relay` from `peer`. (UDP relays return it from
    /// [`handle_receive`](super::Network::handle_receive) instead.)
    Relayed(Relayed),
    /// News for the engine.
    Event(NetEvent),
}

/// News from [`Network`](super::Network).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A new local candidate: server-reflexive (from a STUN Binding) or
    /// relayed (from a TURN allocation, protocol `udp`, with an explicit
    /// priority: relays over UDP before TCP before TLS).
    LocalCandidate(Candidate),
    /// A candidate given before no longer works (its allocation is gone).
    CandidateGone(Candidate),
    /// A server could not be used, or a relay stopped working. Never fatal:
    /// the other candidates go on. A relay that failed for a reason the
    /// server may get over (no allocation in time, could not connect, stream
    /// closed, allocation lost, server silent) is started again up to
    /// [`RETRIES`](super::RETRIES) times; each failure is reported.
    RelayFailed {
        /// The server, as its URL (`turn:host:port?transport=udp`).
        server: String,
        /// The transport to it (`None` for a STUN Binding or a DNS failure).
        proto: Option<RelayProto>,
        /// What went wrong.
        reason: RelayError,
    },
}

/// Why a server or relay failed.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum RelayError {
    /// The server refused our credentials (error 401/403/437/486/508 to Allocate).
    #[error("the server refused the allocation with error {0}")]
    Rejected(u16),
    /// The allocation was not created in time (no answer, or a failed transaction).
    #[error("no allocation within the time limit")]
    AllocateTimeout,
    /// The server refused the allocation with a signed error response.
    #[error("the server refused the allocation")]
    AllocateRefused,
    /// The TCP connection or the TLS handshake did not complete in time.
    #[error("could not connect in time")]
    ConnectTimeout,
    /// The driver reported the stream closed, or the server closed it.
    #[error("the connection to the server closed")]
    StreamClosed,
    /// The TLS layer failed (certificate, handshake or record error).
    #[error("TLS: {0}")]
    Tls(String),
    /// `turns:` without a TLS configuration in [`NetConfig`](super::NetConfig).
    #[error("no TLS configuration for turns:")]
    NoTlsConfig,
    /// The allocation expired, or its refreshes failed.
    #[error("the allocation was lost")]
    AllocationLost,
    /// The server stopped answering while the relay was in use.
    #[error("the server stopped answering")]
    ServerSilent,
    /// The STUN Binding got an error response or no answer.
    #[error("the STUN Binding failed")]
    NoBinding,
    /// The name did not resolve.
    #[error("DNS: {0}")]
    Resolve(String),
    /// No local socket of the server's address family.
    #[error("no local address of the server's family")]
    NoLocalAddress,
    /// The credentials had expired before the server was used.
    #[error("the credentials expired")]
    Expired,
    /// Too many servers or relays: this one was not started.
    #[error("too many servers")]
    TooMany,
}

/// Peer data that arrived through a relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relayed {
    /// The remote peer (the ICE `source`).
    pub peer: SocketAddr,
    /// Our relayed address (the ICE `destination`).
    pub relay: SocketAddr,
    /// The payload as the peer sent it.
    pub contents: Bytes,
}

/// The bounded output queue: data beyond [`Outputs::LIMIT`] is dropped
/// (like a full socket buffer); events and control outputs are kept.
#[derive(Debug, Default)]
pub(super) struct Outputs {
    queue: VecDeque<NetOutput>,
}

impl Outputs {
    /// Most queued outputs; a drain after every input keeps far below.
    pub(super) const LIMIT: usize = 1024;

    pub(super) fn push(&mut self, o: NetOutput) {
        let is_data = matches!(o, NetOutput::Transmit(_) | NetOutput::Relayed(_));
        if !is_data || self.queue.len() < Self::LIMIT {
            self.queue.push_back(o);
        }
    }

    pub(super) fn event(&mut self, e: NetEvent) {
        self.push(NetOutput::Event(e));
    }

    pub(super) fn pop(&mut self) -> Option<NetOutput> {
        self.queue.pop_front()
    }
}
