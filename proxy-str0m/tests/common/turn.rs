//! An in-memory TURN server (turn-server-proto, UDP) as a node of the
//! two-peer [`Pair`](super::pair::Pair): it owns its listen address and every
//! relayed address it allocated, and relays between allocations itself.
//!
//! It answers a retransmitted Allocate as RFC 8656 §7.2 says (the success
//! again, where turn-server-proto alone would say 437), so a lost success
//! response is recovered as it is with coturn.
//!
//! The node logs the STUN requests it takes in and the error codes it
//! answers with (parsed with stun-types), so tests can assert what the
//! server saw: refreshes, a 401, a 438. It can also vanish (drop everything).
//!
//! With [`rest_clock`](TurnNode::rest_clock) set it checks TURN REST
//! usernames (`<expiry unix time>[:<name>]`) as coturn does: an Allocate
//! whose username's time has passed gets 401 (coturn checks the timestamp
//! when it derives a session's key, in `get_user_key`), while requests on an
//! allocation made earlier go on with the session's key (README.turnserver:
//! "the original password becomes the session parameter and is never
//! expiring"). With [`strict_expiry`](TurnNode::strict_expiry) every request
//! with an expired username gets 401, as a server that checks each request
//! would answer.
//!
//! Transaction ids and nonces come from the OS RNG inside the turn crates:
//! tests assert behaviour, never bytes.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proxy_str0m::Transmit;
use turn_server_proto::api::{TurnServerApi, TurnServerPollRet};
use turn_server_proto::server::TurnServer;
use turn_server_proto::stun::agent::Transmit as TurnTransmit;
use turn_server_proto::types::attribute::XorPeerAddress;
use turn_server_proto::types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH};
use turn_server_proto::types::stun::attribute::{ErrorCode, Userhash, Username};
use turn_server_proto::types::stun::message::{
    Message, MessageClass, MessageWrite, MessageWriteExt, MessageWriteVec, TransactionId,
};
use turn_server_proto::types::{Instant as TurnInstant, TransportType};

/// The server's address.
pub const TURN_ADDR: &str = "203.0.113.1:3478";
pub const TURN_USER: &str = "1700000000:proxy";
pub const TURN_PASS: &str = "secret-pass";
/// The server's realm.
pub const REALM: &str = "realm";

/// A TURN method the node logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Allocate,
    Refresh,
    CreatePermission,
    ChannelBind,
    /// Binding, or anything else.
    Other,
}

impl Method {
    fn of(m: &Message<'_>) -> Method {
        match m.method() {
            ALLOCATE => Method::Allocate,
            REFRESH => Method::Refresh,
            CREATE_PERMISSION => Method::CreatePermission,
            CHANNEL_BIND => Method::ChannelBind,
            _ => Method::Other,
        }
    }
}

/// A STUN request the node took in.
#[derive(Debug, Clone)]
pub struct Request {
    pub at: Instant,
    /// The client's address.
    pub from: SocketAddr,
    pub method: Method,
    /// Its XOR-PEER-ADDRESS (CreatePermission, ChannelBind), if any.
    pub peer: Option<SocketAddr>,
}

/// A STUN response the node sent.
#[derive(Debug, Clone)]
pub struct Response {
    pub at: Instant,
    /// The client's address.
    pub to: SocketAddr,
    pub method: Method,
    /// The error code, `None` for a success response.
    pub error: Option<u16>,
}

/// The TURN server node.
pub struct TurnNode {
    pub server: TurnServer,
    pub listen: SocketAddr,
    /// Relayed addresses allocated so far.
    pub relays: Vec<SocketAddr>,
    /// Relayed addresses whose allocation was deleted or expired.
    pub closed: Vec<SocketAddr>,
    /// Datagrams the node took in.
    pub received: u64,
    /// STUN requests it took in, in order.
    pub requests: Vec<Request>,
    /// STUN responses it sent, in order.
    pub responses: Vec<Response>,
    /// While set, the server is gone: it takes in nothing and sends nothing.
    pub gone: bool,
    /// Datagrams dropped (both ways) while `gone`.
    pub dropped: u64,
    /// The wall-clock time (unix seconds) at the node's start: REST
    /// usernames whose time has passed are refused (see the module docs).
    /// `None`: no expiry check.
    pub rest_clock: Option<u64>,
    /// Refuse every request with an expired username, not only Allocate.
    pub strict_expiry: bool,
    /// Usernames added with [`add_user`](Self::add_user).
    pub users: Vec<String>,
    /// Each client's allocation: the Allocate transaction and its success response.
    allocate_answers: Vec<(SocketAddr, TransactionId, Vec<u8>)>,
    start: Instant,
}

impl TurnNode {
    pub fn new(start: Instant) -> TurnNode {
        let listen: SocketAddr = TURN_ADDR.parse().unwrap();
        let mut server = TurnServer::new(TransportType::Udp, listen, REALM.into());
        server.add_user(TURN_USER.into(), TURN_PASS.into());
        TurnNode {
            server,
            listen,
            relays: Vec::new(),
            closed: Vec::new(),
            received: 0,
            requests: Vec::new(),
            responses: Vec::new(),
            gone: false,
            dropped: 0,
            rest_clock: None,
            strict_expiry: false,
            users: vec![TURN_USER.into()],
            allocate_answers: Vec::new(),
            start,
        }
    }

    /// Lets `username` in with `password`.
    pub fn add_user(&mut self, username: &str, password: &str) {
        self.server.add_user(username.into(), password.into());
        self.users.push(username.into());
    }

    /// Requests of `method` from `from` (any client if `None`), in order.
    pub fn requests_of(&self, method: Method, from: Option<SocketAddr>) -> Vec<&Request> {
        self.requests
            .iter()
            .filter(|r| r.method == method && from.is_none_or(|f| r.from == f))
            .collect()
    }

    /// Success responses to `method` sent to `to`.
    pub fn successes(&self, method: Method, to: SocketAddr) -> usize {
        self.responses
            .iter()
            .filter(|r| r.method == method && r.to == to && r.error.is_none())
            .count()
    }

    /// Error responses with `code`, as (when, to whom, to what).
    pub fn errors(&self, code: u16) -> Vec<&Response> {
        self.responses
            .iter()
            .filter(|r| r.error == Some(code))
            .collect()
    }

    /// RFC 8656 §7.2: an Allocate whose transaction id is the one that
    /// created the client's allocation is a retransmission (its success
    /// response was lost) and gets that response again. turn-server-proto
    /// 0.7.3 answers it with 437 (allocation mismatch) instead; coturn
    /// answers it as the RFC says.
    fn allocate_retransmission(&self, t: &Transmit) -> Option<Vec<u8>> {
        let m = Message::from_bytes(&t.contents).ok()?;
        if m.method() != ALLOCATE || !m.has_class(MessageClass::Request) {
            return None;
        }
        let id = m.transaction_id();
        self.allocate_answers
            .iter()
            .find(|(client, tid, _)| *client == t.source && *tid == id)
            .map(|(_, _, bytes)| bytes.clone())
    }

    fn remember_allocate_success(&mut self, client: SocketAddr, response: &[u8]) {
        let Ok(m) = Message::from_bytes(response) else {
            return;
        };
        if m.method() == ALLOCATE && m.has_class(MessageClass::Success) {
            self.allocate_answers.retain(|(c, _, _)| *c != client);
            self.allocate_answers
                .push((client, m.transaction_id(), response.to_vec()));
        }
    }

    /// The 401 for a request whose REST username has expired at `now`, if
    /// the node refuses it (see the module docs).
    fn expired_refusal(&self, now: Instant, t: &Transmit) -> Option<Vec<u8>> {
        let unix_start = self.rest_clock?;
        let m = Message::from_bytes(&t.contents).ok()?;
        if !m.has_class(MessageClass::Request) {
            return None;
        }
        if !self.strict_expiry && m.method() != ALLOCATE {
            return None;
        }
        // turn-client-proto sends USERHASH (RFC 8489 §14.4) once the server
        // offers SHA-256: find whose it is.
        let user = match m.attribute::<Username>() {
            Ok(u) => u.username().to_owned(),
            Err(_) => {
                let hash = *m.attribute::<Userhash>().ok()?.hash();
                self.users
                    .iter()
                    .find(|u| Userhash::compute(u, REALM) == hash)?
                    .clone()
            }
        };
        let stamp: u64 = user.split(':').next()?.parse().ok()?;
        let unix_now = unix_start + (now - self.start).as_secs();
        if stamp >= unix_now {
            return None;
        }
        let error = ErrorCode::builder(ErrorCode::UNAUTHORIZED)
            .reason("credentials expired")
            .build()
            .ok()?;
        let mut b = Message::builder_error(&m, MessageWriteVec::new());
        b.add_attribute(&error).ok()?;
        Some(b.finish())
    }

    /// Logs a datagram the node takes in (from a client) or sends (to one).
    fn log(&mut self, now: Instant, t: &Transmit, incoming: bool) {
        let Ok(m) = Message::from_bytes(&t.contents) else {
            return; // ChannelData or relayed data
        };
        let method = Method::of(&m);
        if incoming && m.has_class(MessageClass::Request) {
            let peer = m
                .attribute::<XorPeerAddress>()
                .ok()
                .map(|a| a.addr(m.transaction_id()));
            self.requests.push(Request {
                at: now,
                from: t.source,
                method,
                peer,
            });
        } else if !incoming && m.is_response() {
            let error = if m.has_class(MessageClass::Error) {
                Some(m.attribute::<ErrorCode>().map_or(0, |e| e.code()))
            } else {
                None
            };
            self.responses.push(Response {
                at: now,
                to: t.destination,
                method,
                error,
            });
        }
    }

    /// Whether a datagram to `addr` is for this node.
    pub fn owns(&self, addr: SocketAddr) -> bool {
        addr == self.listen || self.relays.contains(&addr)
    }

    fn t(&self, now: Instant) -> TurnInstant {
        TurnInstant::from_nanos((now - self.start).as_nanos() as i64)
    }

    /// Takes in a datagram; returns what the node sends out (to the peers).
    pub fn receive(&mut self, now: Instant, t: Transmit) -> Vec<Transmit> {
        if self.gone {
            self.dropped += 1;
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut work = VecDeque::from([t]);
        while let Some(t) = work.pop_front() {
            self.received += 1;
            self.log(now, &t, true);
            if let Some(again) = self.allocate_retransmission(&t) {
                self.route(now, t.destination, t.source, again, &mut out, &mut work);
                continue;
            }
            if let Some(refusal) = self.expired_refusal(now, &t) {
                self.route(now, t.destination, t.source, refusal, &mut out, &mut work);
                continue;
            }
            let tt = TurnTransmit::new(
                t.contents.to_vec(),
                TransportType::Udp,
                t.source,
                t.destination,
            );
            if let Some(reply) = self.server.recv(tt, self.t(now)) {
                let r = reply.build();
                // turn-server-proto addresses Binding responses to its own
                // listen address: they belong to the requester.
                let to = if r.to == r.from { t.source } else { r.to };
                self.route(now, r.from, to, r.data, &mut out, &mut work);
            }
            self.poll_into(now, &mut out, &mut work);
        }
        out
    }

    /// Runs the server's timers; returns what it sends.
    pub fn poll(&mut self, now: Instant) -> Vec<Transmit> {
        let mut out = Vec::new();
        let mut work = VecDeque::new();
        self.poll_into(now, &mut out, &mut work);
        while let Some(t) = work.pop_front() {
            out.extend(self.receive(now, t));
        }
        if self.gone {
            self.dropped += out.len() as u64;
            out.clear();
        }
        out
    }

    /// When [`poll`](Self::poll) is next due.
    pub fn timeout(&mut self, now: Instant) -> Option<Instant> {
        match self.server.poll(self.t(now)) {
            TurnServerPollRet::WaitUntil(t) => {
                Some(self.start + Duration::from_nanos(t.as_nanos().max(0) as u64))
            }
            _ => Some(now),
        }
    }

    fn route(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        data: Vec<u8>,
        out: &mut Vec<Transmit>,
        work: &mut VecDeque<Transmit>,
    ) {
        let t = Transmit {
            source: from,
            destination: to,
            contents: data.into(),
        };
        // Relay to relay: back into the server, as from that peer.
        if self.relays.contains(&to) {
            work.push_back(t);
        } else {
            self.log(now, &t, false);
            self.remember_allocate_success(to, &t.contents);
            out.push(t);
        }
    }

    fn poll_into(&mut self, now: Instant, out: &mut Vec<Transmit>, work: &mut VecDeque<Transmit>) {
        let t = self.t(now);
        loop {
            match self.server.poll(t) {
                TurnServerPollRet::AllocateSocket {
                    transport,
                    listen_addr,
                    client_addr,
                    allocation_transport,
                    family,
                } => {
                    let relay =
                        SocketAddr::new(listen_addr.ip(), 50_000 + self.relays.len() as u16);
                    self.server.allocated_socket(
                        transport,
                        listen_addr,
                        client_addr,
                        allocation_transport,
                        family,
                        Ok(relay),
                        t,
                    );
                    self.relays.push(relay);
                }
                TurnServerPollRet::SocketClose { listen_addr, .. } => {
                    self.closed.push(listen_addr);
                }
                _ => break,
            }
        }
        while let Some(tx) = self.server.poll_transmit(t) {
            self.route(now, tx.from, tx.to, tx.data, out, work);
        }
    }
}
