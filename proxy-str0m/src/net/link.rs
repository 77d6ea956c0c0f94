//! One TURN client over one transport: turn-client-proto's UDP client, or
//! its TCP client with, for `turns:`, our own rustls layer around it.
//!
//! Why not turn-client-rustls 0.1.2: its `recv` reaches an `unreachable!()`
//! whenever the inner TCP client ignores a message (the second 401 of a
//! wrong password does), so a server could make us panic; it also feeds
//! `read_tls` a whole segment once (rustls takes at most what fits its
//! buffer, the rest is lost) and reads at most 2048 plaintext bytes per call.
//! The layer here loops until every byte is consumed and turns every TLS
//! error into a failed relay.
//!
//! Also here, one home for the check of memo §1.5.2: an ignored error
//! response to ALLOCATE with 401/403/437/486/508 means the credentials are
//! refused; the client itself would retransmit until its ~40 s timeout.
//! Only an answer to one of our *authenticated* Allocates counts: a late
//! duplicate 401 to the first, unauthenticated one (its retransmission
//! crossed the server's answer) is ignored by the client too, and means
//! nothing.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::ClientConnection;
use turn_client_proto::api::{
    CreatePermissionError, SendError, TurnClientApi, TurnConfig, TurnEvent, TurnPeerData,
    TurnPollRet, TurnRecvRet,
};
use turn_client_proto::prelude::DelayedTransmitBuild;
use turn_client_proto::stun::agent::Transmit as TurnTransmit;
use turn_client_proto::tcp::TurnClientTcp;
use turn_client_proto::types::message::ALLOCATE;
use turn_client_proto::types::stun::attribute::{
    AttributeStaticType, ErrorCode, MessageIntegrity, MessageIntegritySha256,
};
use turn_client_proto::types::stun::message::{Message, MessageClass, TransactionId};
use turn_client_proto::types::TransportType;
use turn_client_proto::udp::TurnClientUdp;

use super::clock::TurnInstant;

/// Error codes to ALLOCATE that mean "these credentials will not do".
const REJECT_CODES: [u16; 5] = [401, 403, 437, 486, 508];

/// What [`Link::recv`] made of some bytes.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum LinkRecv {
    /// TURN traffic, handled (peer data, if any, went to the callback).
    Handled,
    /// Not for this client.
    Ignored,
    /// An error response to ALLOCATE refusing our credentials.
    Rejected(u16),
}

/// A TURN client on UDP or on a byte stream.
#[derive(Debug)]
pub(super) enum Link {
    Udp(Box<TurnClientUdp>, Authed),
    Stream(Box<StreamLink>),
}

/// Our latest authenticated Allocate requests (their transaction ids).
#[derive(Debug, Default)]
pub(super) struct Authed(Vec<TransactionId>);

impl Authed {
    /// Kept: the client retries an Allocate a few times at most.
    const MAX: usize = 8;

    /// Notes `bytes` (a message for the server) if it is an authenticated Allocate.
    fn note(&mut self, bytes: &[u8]) {
        let Some(msg) = message(bytes) else { return };
        let authenticated = msg.has_attribute(MessageIntegrity::TYPE)
            || msg.has_attribute(MessageIntegritySha256::TYPE);
        if msg.class() == MessageClass::Request && msg.has_method(ALLOCATE) && authenticated {
            if self.0.len() >= Self::MAX {
                self.0.remove(0);
            }
            self.0.push(msg.transaction_id());
        }
    }
}

/// TURN over TCP, optionally inside TLS.
#[derive(Debug)]
pub(super) struct StreamLink {
    tcp: TurnClientTcp,
    authed: Authed,
    tls: Option<ClientConnection>,
    /// Set on a TLS error: the client is dead.
    broken: Option<String>,
}

impl Link {
    pub(super) fn udp(host: SocketAddr, server: SocketAddr, config: TurnConfig) -> Link {
        // `TurnConfig::new` asks for a UDP allocation, as `allocate` requires.
        Link::Udp(
            Box::new(TurnClientUdp::allocate(host, server, config)),
            Authed::default(),
        )
    }

    /// TCP (`tls` = `None`) or TLS with this server name and configuration.
    pub(super) fn stream(
        local: SocketAddr,
        server: SocketAddr,
        config: TurnConfig,
        tls: Option<(ServerName<'static>, Arc<rustls::ClientConfig>)>,
    ) -> Result<Link, String> {
        let tls = match tls {
            None => None,
            Some((name, cfg)) => Some(ClientConnection::new(cfg, name).map_err(|e| e.to_string())?),
        };
        let tcp = TurnClientTcp::allocate(local, server, config);
        Ok(Link::Stream(Box::new(StreamLink {
            tcp,
            authed: Authed::default(),
            tls,
            broken: None,
        })))
    }

    /// Why the link died, for a TLS failure.
    pub(super) fn broken(&self) -> Option<&str> {
        match self {
            Link::Udp(..) => None,
            Link::Stream(s) => s.broken.as_deref(),
        }
    }

    /// Whether a TLS handshake is still under way.
    pub(super) fn handshaking(&self) -> bool {
        matches!(self, Link::Stream(s) if s.tls.as_ref().is_some_and(|t| t.is_handshaking()))
    }

    /// The next deadline, or `None` once the client is closed.
    pub(super) fn poll(&mut self, now: TurnInstant) -> Option<TurnInstant> {
        let ret = match self {
            Link::Udp(c, _) => c.poll(now),
            Link::Stream(s) if s.broken.is_some() => TurnPollRet::Closed,
            Link::Stream(s) => s.tcp.poll(now),
        };
        match ret {
            TurnPollRet::WaitUntil(t) => Some(t),
            TurnPollRet::Closed => None,
            // RFC 6062 outputs: we never ask for TCP allocations.
            TurnPollRet::AllocateTcpSocket { .. } | TurnPollRet::TcpClose { .. } => Some(now),
        }
    }

    /// Bytes for the server: a datagram (UDP) or a piece of the stream.
    pub(super) fn poll_transmit(&mut self, now: TurnInstant) -> Option<Vec<u8>> {
        match self {
            Link::Udp(c, authed) => c.poll_transmit(now).map(|t| {
                authed.note(&t.data);
                t.data.to_vec()
            }),
            Link::Stream(s) => s.poll_transmit(now),
        }
    }

    pub(super) fn poll_event(&mut self) -> Option<TurnEvent> {
        match self {
            Link::Udp(c, _) => c.poll_event(),
            Link::Stream(s) => s.tcp.poll_event(),
        }
    }

    /// Bytes from the server (one datagram, or the next piece of the
    /// stream; never empty). Peer data goes to `peer`.
    pub(super) fn recv(
        &mut self,
        bytes: &[u8],
        now: TurnInstant,
        peer: &mut dyn FnMut(SocketAddr, &[u8]),
    ) -> LinkRecv {
        match self {
            Link::Udp(c, authed) => {
                let t =
                    TurnTransmit::new(bytes, TransportType::Udp, c.remote_addr(), c.local_addr());
                let ret = one_recv(c.recv(t, now), bytes, peer, authed);
                while let Some(d) = c.poll_recv(now) {
                    peer(d.peer, d.data());
                }
                ret
            }
            Link::Stream(s) => s.recv(bytes, now, peer),
        }
    }

    pub(super) fn have_permission(&self, ip: IpAddr) -> bool {
        match self {
            Link::Udp(c, _) => c.have_permission(TransportType::Udp, ip),
            Link::Stream(s) => s.tcp.have_permission(TransportType::Udp, ip),
        }
    }

    /// Asks for a permission; `Ok` also when one exists or is pending.
    pub(super) fn create_permission(&mut self, ip: IpAddr, now: TurnInstant) -> Result<(), ()> {
        let r = match self {
            Link::Udp(c, _) => c.create_permission(TransportType::Udp, ip, now),
            Link::Stream(s) => s.tcp.create_permission(TransportType::Udp, ip, now),
        };
        match r {
            Ok(()) | Err(CreatePermissionError::AlreadyExists) => Ok(()),
            Err(_) => Err(()),
        }
    }

    /// Binds a channel (UDP only: turn-client-proto does not pad ChannelData
    /// on streams, memo §1.5.1). Failure just means indications go on.
    pub(super) fn bind_channel(&mut self, peer: SocketAddr, now: TurnInstant) {
        if let Link::Udp(c, _) = self {
            let _ = c.bind_channel(TransportType::Udp, peer, now);
        }
    }

    /// Wraps `data` for `peer`: the bytes to send to the server.
    pub(super) fn send_to(
        &mut self,
        peer: SocketAddr,
        data: &[u8],
        now: TurnInstant,
    ) -> Result<Option<Vec<u8>>, SendError> {
        match self {
            Link::Udp(c, _) => Ok(c
                .send_to(TransportType::Udp, peer, data, now)?
                .map(|t| t.data.build())),
            Link::Stream(s) => s.send_to(peer, data, now),
        }
    }

    /// Sends Refresh(lifetime 0); `false` if there is no allocation to delete.
    pub(super) fn delete(&mut self, now: TurnInstant) -> bool {
        match self {
            Link::Udp(c, _) => c.delete(now).is_ok(),
            Link::Stream(s) => s.tcp.delete(now).is_ok(),
        }
    }
}

impl StreamLink {
    fn fail(&mut self, why: String) {
        if self.broken.is_none() {
            self.broken = Some(why);
            self.tcp.protocol_error();
        }
    }

    fn poll_transmit(&mut self, now: TurnInstant) -> Option<Vec<u8>> {
        let Some(tls) = self.tls.as_mut() else {
            return self.tcp.poll_transmit(now).map(|t| {
                self.authed.note(&t.data);
                t.data.to_vec()
            });
        };
        // Plaintext from the TCP client into rustls (it holds it back until
        // the handshake is done), then whatever rustls wants on the wire.
        while let Some(t) = self.tcp.poll_transmit(now) {
            self.authed.note(&t.data);
            if let Err(e) = tls.writer().write_all(&t.data) {
                let why = format!("write: {e}");
                self.fail(why);
                return None;
            }
        }
        take_tls(tls)
    }

    fn send_to(
        &mut self,
        peer: SocketAddr,
        data: &[u8],
        now: TurnInstant,
    ) -> Result<Option<Vec<u8>>, SendError> {
        let Some(b) = self.tcp.send_to(TransportType::Udp, peer, data, now)? else {
            return Ok(None);
        };
        let plain = b.build().data;
        let Some(tls) = self.tls.as_mut() else {
            return Ok(Some(plain));
        };
        if let Err(e) = tls.writer().write_all(&plain) {
            self.fail(format!("write: {e}"));
            return Err(SendError::NoAllocation);
        }
        Ok(take_tls(tls))
    }

    fn recv(
        &mut self,
        bytes: &[u8],
        now: TurnInstant,
        peer: &mut dyn FnMut(SocketAddr, &[u8]),
    ) -> LinkRecv {
        if self.broken.is_some() {
            return LinkRecv::Ignored;
        }
        if self.tls.is_none() {
            return self.recv_plain(bytes, now, peer);
        }
        let mut rest = bytes;
        let mut ret = LinkRecv::Handled;
        while !rest.is_empty() {
            let Some(tls) = self.tls.as_mut() else { break };
            // `&[u8]` as `Read` advances `rest` by what rustls took.
            match tls.read_tls(&mut rest) {
                Ok(0) => break, // close_notify seen: the rest is not TLS data
                Ok(_) => {}
                Err(e) => {
                    self.fail(format!("read: {e}"));
                    return LinkRecv::Handled;
                }
            }
            if let Err(e) = tls.process_new_packets() {
                self.fail(e.to_string());
                return LinkRecv::Handled;
            }
            let mut plain = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                match tls.reader().read(&mut buf) {
                    Ok(0) | Err(_) => break, // closed, or nothing more for now
                    Ok(n) => plain.extend_from_slice(&buf[..n]),
                }
            }
            if !plain.is_empty() {
                if let LinkRecv::Rejected(c) = self.recv_plain(&plain, now, peer) {
                    ret = LinkRecv::Rejected(c);
                }
            }
        }
        ret
    }

    fn recv_plain(
        &mut self,
        bytes: &[u8],
        now: TurnInstant,
        peer: &mut dyn FnMut(SocketAddr, &[u8]),
    ) -> LinkRecv {
        let (local, server) = (self.tcp.local_addr(), self.tcp.remote_addr());
        let t = TurnTransmit::new(bytes, TransportType::Tcp, server, local);
        let ret = one_recv(self.tcp.recv(t, now), bytes, peer, &self.authed);
        while let Some(d) = self.tcp.poll_recv(now) {
            peer(d.peer, d.data());
        }
        // Stream bytes from our server are TURN traffic even when ignored.
        match ret {
            LinkRecv::Ignored => LinkRecv::Handled,
            r => r,
        }
    }
}

/// Whatever rustls has for the wire.
fn take_tls(tls: &mut ClientConnection) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    while tls.wants_write() {
        // Writing into a Vec cannot fail.
        if tls.write_tls(&mut out).is_err() {
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

fn one_recv(
    r: TurnRecvRet<&[u8]>,
    bytes: &[u8],
    peer: &mut dyn FnMut(SocketAddr, &[u8]),
    authed: &Authed,
) -> LinkRecv {
    match r {
        TurnRecvRet::Handled | TurnRecvRet::PeerIcmp { .. } => LinkRecv::Handled,
        TurnRecvRet::PeerData(d) => {
            deliver(&d, peer);
            LinkRecv::Handled
        }
        TurnRecvRet::Ignored(_) => match rejection(bytes) {
            Some((code, id)) if authed.0.contains(&id) => LinkRecv::Rejected(code),
            _ => LinkRecv::Ignored,
        },
    }
}

fn deliver(d: &TurnPeerData<&[u8]>, peer: &mut dyn FnMut(SocketAddr, &[u8])) {
    peer(d.peer, d.data());
}

/// The STUN message `bytes` starts with, if any.
fn message(bytes: &[u8]) -> Option<Message<'_>> {
    // A STUN header is 20 bytes; its length field (bytes 2..4) counts the rest.
    let len = u16::from_be_bytes([*bytes.get(2)?, *bytes.get(3)?]) as usize;
    Message::from_bytes(bytes.get(..20 + len)?).ok()
}

/// The error code and transaction, if `bytes` starts with an error
/// response to ALLOCATE that refuses our credentials.
pub(super) fn rejection(bytes: &[u8]) -> Option<(u16, TransactionId)> {
    let msg = message(bytes)?;
    if msg.class() != MessageClass::Error || !msg.has_method(ALLOCATE) {
        return None;
    }
    let code = msg.attribute::<ErrorCode>().ok()?.code();
    REJECT_CODES
        .contains(&code)
        .then_some((code, msg.transaction_id()))
}
