//! A STUN Binding from one host socket to one server, for a server-reflexive
//! address (RFC 8489 §3). stun-proto's `StunAgent` keeps the transaction and
//! its retransmissions; we only build the request and read the answer.
//! (turn-client-proto never shows the Allocate response's
//! XOR-MAPPED-ADDRESS, memo §1.5.3, so TURN servers get a Binding too.)

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stun_proto::agent::{StunAgent, StunAgentPollRet};
use stun_proto::types::attribute::XorMappedAddress;
use stun_proto::types::message::{
    Message, MessageClass, MessageWrite, MessageWriteVec, TransactionId, BINDING,
};
use stun_proto::types::TransportType;

use super::clock::Clock;

/// Retransmissions: 500 ms doubling, 5 sends, 4 s after the last: ~11.5 s.
const RTO: (Duration, Duration, u32, Duration) = (
    Duration::from_millis(500),
    Duration::from_secs(4),
    5,
    Duration::from_secs(4),
);

/// How a Binding ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BindingResult {
    /// The server saw us at this address.
    Mapped(SocketAddr),
    /// An error response or no answer.
    Failed,
}

/// One Binding transaction.
#[derive(Debug)]
pub(super) struct Binding {
    pub(super) host: SocketAddr,
    pub(super) server: SocketAddr,
    /// The index of the server's entry in the network.
    pub(super) entry: u32,
    agent: StunAgent,
    txn: TransactionId,
    clock: Clock,
    next: Option<Instant>,
    pub(super) result: Option<BindingResult>,
}

impl Binding {
    /// Starts the Binding; returns it and the request to send.
    pub(super) fn start(
        now: Instant,
        clock: Clock,
        host: SocketAddr,
        server: SocketAddr,
        entry: u32,
    ) -> (Binding, Option<Vec<u8>>) {
        let (i, m, n, f) = RTO;
        let mut agent = StunAgent::builder(TransportType::Udp, host)
            .remote_addr(server)
            .request_retransmits(i, m, n, f)
            .build();
        let request = Message::builder_request(BINDING, MessageWriteVec::new()).finish();
        // A request we just built parses (it is only a header).
        let txn = Message::from_bytes(&request)
            .map(|m| m.transaction_id())
            .ok();
        let first = txn.and_then(|_| {
            agent
                .send_request(&request, server, clock.turn(now))
                .ok()
                .map(|t| t.data.to_vec())
        });
        let mut b = Binding {
            host,
            server,
            entry,
            agent,
            txn: txn.unwrap_or_else(TransactionId::generate),
            clock,
            next: Some(now),
            result: None,
        };
        if first.is_none() {
            b.result = Some(BindingResult::Failed);
        }
        b.next = b.deadline(now);
        (b, first)
    }

    /// A datagram from the server to our host socket: `true` if it was the
    /// answer to our request.
    pub(super) fn recv(&mut self, now: Instant, bytes: &[u8]) -> bool {
        let Ok(msg) = Message::from_bytes(bytes) else {
            return false;
        };
        if !msg.is_response() || msg.transaction_id() != self.txn || !msg.has_method(BINDING) {
            return false;
        }
        if self.result.is_some()
            || !self
                .agent
                .handle_stun_message_with_time(&msg, self.server, self.clock.turn(now))
        {
            return true; // a duplicate or late answer
        }
        self.result = Some(match msg.class() {
            MessageClass::Success => match msg.attribute::<XorMappedAddress>() {
                Ok(a) => BindingResult::Mapped(a.addr(msg.transaction_id())),
                Err(_) => BindingResult::Failed,
            },
            _ => BindingResult::Failed,
        });
        self.next = None;
        true
    }

    /// Retransmits due at `now`, if any.
    pub(super) fn handle_timeout(&mut self, now: Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if self.result.is_some() || self.next.is_none_or(|t| t > now) {
            return out;
        }
        let t = self.clock.turn(now);
        if !matches!(self.agent.poll(t), StunAgentPollRet::WaitUntil(_)) {
            self.result = Some(BindingResult::Failed);
            self.next = None;
            return out;
        }
        while let Some(tx) = self.agent.poll_transmit(t) {
            out.push(tx.data.to_vec());
            if out.len() > 4 {
                break;
            }
        }
        self.next = self.deadline(now);
        out
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.next
    }

    fn deadline(&mut self, now: Instant) -> Option<Instant> {
        if self.result.is_some() {
            return None;
        }
        match self.agent.poll(self.clock.turn(now)) {
            StunAgentPollRet::WaitUntil(t) => Some(self.clock.std(t).max(now)),
            // Timed out or cancelled: the transaction is gone.
            _ => {
                self.result = Some(BindingResult::Failed);
                None
            }
        }
    }
}
