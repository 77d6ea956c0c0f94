//! The sans-IO XMPP client: one connection to one server for one account,
//! carrying the proxy IQs, with XEP-0215, XEP-0199, a MUC room and
//! reconnection. No sockets, no clock reads, no unseeded randomness.
//!
//! # Driving a [`Client`]
//!
//! Methods fall in four groups, in the style of quinn-proto and str0m:
//!
//! - **construction:** [`Client::new`] queues [`Output::Connect`];
//! - **inputs** from the driver: [`Client::handle_connected`] (transport up;
//!   for direct TLS, after the TLS handshake; for WebSocket, after the
//!   upgrade), [`Client::handle_tls_ready`] (after [`Output::StartTls`]),
//!   [`Client::handle_bytes`] (TCP) or [`Client::handle_frame`] (one
//!   WebSocket text message), [`Client::handle_closed`] and
//!   [`Client::handle_timeout`];
//! - **commands** from the application: [`Client::send_proxy_iq`] (the
//!   core's outgoing signal), [`Client::join_room`], [`Client::close`];
//! - **outputs:** after every input or command, call [`Client::poll_output`]
//!   until it returns [`Output::Timeout`], and call
//!   [`Client::handle_timeout`] when that instant comes.
//!
//! Time is always passed in as `now`. Randomness comes from
//! [`Config::seed`]: the driver fills it from the operating system, tests
//! from a constant. SCRAM nonces and the backoff jitter are derived from it
//! with HMAC-SHA-256 in counter mode (so one seed serves any number of
//! logins and every nonce is unpredictable without the seed); one input
//! instead of a second `handle_entropy` call keeps the login path
//! synchronous.
//!
//! A guest login over WebSocket, the server's messages written out by hand:
//!
//! ```
//! use std::time::Instant;
//! use proxy_xmpp::client::{Client, Config, Event, Output, Transport};
//!
//! /// Drains the client: what it sends, and its events.
//! fn drain(c: &mut Client) -> (Vec<String>, Vec<Event>) {
//!     let (mut sent, mut events) = (Vec::new(), Vec::new());
//!     loop {
//!         match c.poll_output() {
//!             Output::SendFrame(f) => sent.push(f),
//!             Output::Event(e) => events.push(e),
//!             Output::Timeout(_) => return (sent, events),
//!             _ => {}
//!         }
//!     }
//! }
//!
//! let now = Instant::now();
//! let config = Config::new(Transport::WebSocket { secure: true }, "guest.example", [1; 32]);
//! let mut c = Client::new(config, now);
//! assert_eq!(c.poll_output(), Output::Connect);
//! c.handle_connected(now); // the WebSocket is up
//! let (sent, _) = drain(&mut c);
//! assert!(sent[0].starts_with("<open "));
//!
//! let sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
//! let streams = "http://etherx.jabber.org/streams";
//! c.handle_frame(now, "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>");
//! c.handle_frame(now, &format!("<stream:features xmlns:stream='{streams}'><mechanisms \
//!     xmlns='{sasl}'><mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>"));
//! assert!(drain(&mut c).0[0].contains("mechanism='ANONYMOUS'"));
//! c.handle_frame(now, &format!("<success xmlns='{sasl}'/>"));
//! assert!(drain(&mut c).0[0].starts_with("<open "), "the stream restarts");
//! c.handle_frame(now, "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>");
//! c.handle_frame(now, &format!("<stream:features xmlns:stream='{streams}'><bind \
//!     xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>"));
//! assert!(drain(&mut c).0[0].contains("id=\"bind1\""));
//! c.handle_frame(now, "<iq xmlns='jabber:client' type='result' id='bind1'><bind \
//!     xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>x@guest.example/r</jid></bind></iq>");
//! let (sent, events) = drain(&mut c);
//! assert_eq!(events, [Event::Online { jid: "x@guest.example/r".into() }]);
//! assert!(sent[0].contains("urn:xmpp:extdisco:2"), "then XEP-0215");
//! ```
//!
//! # What the client does
//!
//! - **Negotiation** (RFC 6120): stream open, STARTTLS when offered (or
//!   required by [`TlsMode::Required`]), SASL with [`crate::sasl`], stream
//!   restart, resource binding. Then [`Event::Online`], the XEP-0215 query
//!   (`urn:xmpp:extdisco:2`, on an error `:1`), the room join, and the flush
//!   of the IQs queued while offline.
//! - **Routing:** an incoming `<iq type='set'>` carrying a proxy IQ in any
//!   [`Envelope`] form becomes [`Event::Message`]; a wrapped form is acked
//!   here, a Direct one is left to the core (which answers every IQ with an
//!   id). Results and errors of the IQs this client stamped are consumed by
//!   its tracker. Pings (XEP-0199) are answered; any other `get`/`set` gets
//!   `service-unavailable`.
//! - **IDs:** every IQ sent gets an id (Prosody refuses an IQ without one);
//!   answers echo the id as received (a MUC rewrites ids).
//! - **Limits:** stanza size and depth through [`crate::framing`]
//!   ([`Limits`](proxy_core::Limits)); at most [`MAX_QUEUED`] IQs wait while offline, each failing
//!   with [`Event::IqFailed`] after [`Config::iq_timeout`]; at most
//!   [`MAX_TRACKED`] IQs await an answer.
//! - **Reconnection:** any loss gives [`Event::Offline`] with the instant of
//!   the next attempt: 0.5 s × 2ⁿ up to 30 s, ±20 % seeded jitter, reset
//!   after 60 s online. Terminal errors (SASL refusal, `host-unknown`,
//!   `see-other-host`, a required TLS the server does not offer) give
//!   [`Event::Closed`] and no retry.
//!
//! - **Room:** while the join is pending, proxy IQs wait in the queue (in
//!   order) and go once the self-presence arrives, or once the room
//!   refuses us ([`ClientError::Room`]). Removed from the room (kicked,
//!   banned, the room destroyed: our own `unavailable`), the client reports
//!   [`ClientError::RoomLeft`] with the status codes, and fails IQs to its
//!   occupants with [`IqFailure::NotInRoom`] (those awaiting answers at
//!   once, new ones instead of sending them) until [`Client::join_room`]
//!   or the next connection joins again. JIDs are compared without regard
//!   to case in their local and domain parts.
//!
//! - **Rate:** token buckets on the stanzas and bytes the server sends
//!   ([`Config::stanza_rate`], [`Config::byte_rate`]); in debt, the client
//!   asks the driver to stop reading ([`Client::wants_read`]).
//!
//! - **XEP-0215 refresh:** with [`Config::wall_clock`], the servers are
//!   fetched again before the earliest `expires` (a tenth of the lifetime
//!   left, at least 60 s, never sooner than 30 s from now); an unreadable or
//!   unanswered result is asked again 60 s later, and the last good list
//!   stays in use.
//!
//! - **Conflicts:** a bind refused with `conflict` is tried again with
//!   [`Config::resource`] plus `-` and 8 seeded hex digits, at most
//!   [`MAX_BIND_TRIES`] bind requests per connection, then
//!   [`ClientError::Bind`] as before. A `conflict` stream error (another
//!   session took our resource) makes the next connections bind such a
//!   suffixed resource, so two clients configured with one resource do not
//!   take it from each other forever. A suffixed resource stays in use
//!   for the later connections. A join refused with `conflict` (the
//!   nickname is taken) is tried again with [`Room::nick`] plus `-` and 4
//!   seeded hex digits, at most [`MAX_JOIN_TRIES`] join presences, the
//!   queue waiting meanwhile; [`Event::RoomJoined`] gives the occupant JID
//!   the room accepted. Every join starts again from [`Room::nick`]. Each
//!   retry is reported as it happens, with the name refused and the one
//!   tried next ([`ClientError::ResourceConflict`],
//!   [`ClientError::NicknameConflict`] in [`Event::Error`]).
//!
//! - **Nickname changes** (XEP-0045 §7.6, status 303): another occupant
//!   renamed is not a leave. [`Event::OccupantRenamed`] tells it; its IQs
//!   from the new occupant JID are handed over from the JID it had first
//!   (the one the core's session is bound to), and proxy IQs to that JID
//!   go to the new one, for at most [`MAX_RENAMED`] occupants, until it
//!   leaves (the synthesized `unavailable` comes from the first JID), the
//!   room is left or joined again, or the connection is lost. An IQ from
//!   the first JID while a renamed occupant has it is someone else holding
//!   the old nickname: answered `service-unavailable`, not handed over
//!   ([`ClientError::NicknameReused`]). Our own nickname changed by the
//!   room gives [`Event::RoomJoined`] again with the new occupant JID.
//!
//! # Panics
//!
//! Never on server input. A panic is a bug in this crate.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use proxy_core::extdisco::{parse_services_result, services_query, ExtdiscoError, ExtdiscoVersion};
use proxy_core::xml::Writer;
use proxy_core::{
    parse_iq, DefinedCondition, ErrorType, IceServer, IqType, ProxyMessage, StanzaError,
};
use sha2::Sha256;

use crate::envelope::{answer_error, answer_result, Envelope, EnvelopeError};
use crate::framing::{
    tcp_close, tcp_open, ws_close, ws_frame, ws_open, ws_stanza, Frame, TcpFramer, NS_CLIENT,
    NS_STREAMS,
};
use crate::rate::Bucket;
use crate::sasl::{self, SaslClient, SaslConfig, ServerElement, Step, NS_SASL};
use crate::stanza::{bare, Element, NS_STREAM_ERRORS};

mod config;
mod event;

pub use config::{Config, Room, TlsMode, Transport};
pub use event::{ClientError, Event, IqFailure, Output, StreamCondition};

/// `urn:ietf:params:xml:ns:xmpp-tls`.
pub const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
/// `urn:ietf:params:xml:ns:xmpp-bind`.
pub const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// `urn:xmpp:ping` (XEP-0199).
pub const NS_PING: &str = "urn:xmpp:ping";
/// `http://jabber.org/protocol/muc` (XEP-0045).
pub const NS_MUC: &str = "http://jabber.org/protocol/muc";
/// `http://jabber.org/protocol/muc#user` (XEP-0045).
pub const NS_MUC_USER: &str = "http://jabber.org/protocol/muc#user";

/// Most IQs queued while offline.
pub const MAX_QUEUED: usize = 64;
/// Most IQs sent and awaiting an answer at once; beyond it a new proxy IQ
/// fails at once with [`IqFailure::TooMany`].
pub const MAX_TRACKED: usize = 256;
/// First reconnection delay.
const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Longest reconnection delay.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Online this long, the backoff starts again from [`BACKOFF_BASE`].
const BACKOFF_RESET: Duration = Duration::from_secs(60);
/// Fetch XEP-0215 credentials at least this long before they expire.
const EXTDISCO_MARGIN: Duration = Duration::from_secs(60);
/// Never fetch XEP-0215 credentials again sooner than this.
const EXTDISCO_FLOOR: Duration = Duration::from_secs(30);
/// Ask again this long after an unreadable or missing XEP-0215 answer.
const EXTDISCO_RETRY: Duration = Duration::from_secs(60);
/// Random bytes in a SCRAM nonce.
const NONCE_BYTES: usize = 18;
/// Most bind requests on one connection: a resource `conflict` is retried
/// with a suffixed resource until then.
pub const MAX_BIND_TRIES: u8 = 3;
/// Most join presences for one room join: a nickname `conflict` is retried
/// with a suffixed nickname until then.
pub const MAX_JOIN_TRIES: u8 = 3;
/// Random bytes (hex-encoded) in the suffix of a resource made unique.
const RESOURCE_SUFFIX_BYTES: usize = 4;
/// Random bytes (hex-encoded) in the suffix of a nickname made unique.
const NICK_SUFFIX_BYTES: usize = 2;
/// Most renamed occupants followed at once (see [`Event::OccupantRenamed`]);
/// beyond it a rename is handled as the occupant leaving.
pub const MAX_RENAMED: usize = 64;

/// A renamed occupant (XEP-0045 §7.6).
#[derive(Debug, Clone)]
struct Alias {
    /// The occupant JID the application knows it by (its first).
    known: String,
    /// Its occupant JID now.
    current: String,
}

/// Why an IQ this client sent is awaited.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Purpose {
    Bind,
    Extdisco(ExtdiscoVersion),
    Ping,
    /// A proxy IQ for `to` (as the application named it), sent to `wire`
    /// (`to`, or its occupant JID now when it was renamed).
    Proxy {
        to: String,
        wire: String,
    },
}

#[derive(Debug)]
struct Pending {
    purpose: Purpose,
    deadline: Instant,
}

/// A proxy IQ waiting for the connection.
#[derive(Debug)]
struct Queued {
    to: String,
    iq: String,
    deadline: Instant,
}

/// Where the stream negotiation stands.
#[derive(Debug)]
enum NegotiationStep {
    /// Waiting for `<stream:features>`.
    Features,
    /// `<starttls/>` sent, waiting for `<proceed/>`.
    StartTls,
    /// [`Output::StartTls`] given, waiting for [`Client::handle_tls_ready`].
    TlsHandshake,
    /// SASL under way.
    Sasl(SaslClient),
    /// Bind sent.
    Binding,
}

#[derive(Debug)]
struct Negotiation {
    step: NegotiationStep,
    tls: bool,
    authenticated: bool,
    /// Bind requests sent on this connection.
    bind_tries: u8,
    deadline: Instant,
}

#[derive(Debug)]
enum RoomState {
    None,
    Joining,
    Joined,
    /// The room removed us (our own `unavailable`): IQs to its occupants
    /// fail with [`IqFailure::NotInRoom`] until [`Client::join_room`] or
    /// the next connection joins again.
    Left,
}

#[derive(Debug)]
struct Online {
    jid: String,
    since: Instant,
    last_heard: Instant,
    ping_out: bool,
    room: RoomState,
    /// The nickname of the join under way or done.
    nick: String,
    /// Join presences sent for this join.
    join_tries: u8,
    /// Occupants renamed since the join, at most [`MAX_RENAMED`].
    renamed: Vec<Alias>,
    /// When to ask for the STUN/TURN servers again.
    extdisco_at: Option<Instant>,
}

#[derive(Debug)]
enum State {
    /// [`Output::Connect`] given, waiting for [`Client::handle_connected`].
    Connecting {
        deadline: Instant,
    },
    Negotiating(Negotiation),
    Online(Online),
    /// Offline; the next attempt at `until`.
    Waiting {
        until: Instant,
    },
    Closed,
}

/// The sans-IO XMPP client (see the [module docs](self)).
#[derive(Debug)]
pub struct Client {
    config: Config,
    state: State,
    framer: TcpFramer,
    out: VecDeque<Output>,
    tracked: HashMap<String, Pending>,
    queue: VecDeque<Queued>,
    /// Failed attempts since the last stable session.
    attempt: u32,
    /// Stanzas from the server.
    stanzas: Bucket,
    /// Bytes from the server.
    bytes: Bucket,
    /// Counter of [`Client::random`] draws.
    draws: u64,
    /// Counters of stamped ids, one per prefix (`bind1`, `ext1`, `ping1`,
    /// `px1`, …): ids stay unique across reconnections.
    ids: HashMap<&'static str, u64>,
    /// The resource to bind: [`Config::resource`], or once that conflicted
    /// (a bind `conflict`, a `conflict` stream error), it with a seeded
    /// suffix, kept for the next connections.
    resource: Option<String>,
}

impl Client {
    /// A client that asks to connect at once ([`Output::Connect`]).
    pub fn new(config: Config, now: Instant) -> Client {
        let framer = TcpFramer::new(config.limits);
        let deadline = now + config.connect_timeout;
        let mut out = VecDeque::new();
        out.push_back(Output::Connect);
        let config_resource = config.resource.clone();
        Client {
            stanzas: Bucket::new(config.stanza_rate, now),
            bytes: Bucket::new(config.byte_rate, now),
            config,
            state: State::Connecting { deadline },
            framer,
            out,
            tracked: HashMap::new(),
            queue: VecDeque::new(),
            attempt: 0,
            draws: 0,
            ids: HashMap::new(),
            resource: config_resource,
        }
    }

    /// Our full JID while online.
    pub fn jid(&self) -> Option<&str> {
        match &self.state {
            State::Online(o) => Some(&o.jid),
            _ => None,
        }
    }

    /// Whether the client is online (bound).
    pub fn is_online(&self) -> bool {
        matches!(self.state, State::Online(_))
    }

    /// How many proxy IQs are queued or await their answer: a driver closing
    /// gracefully waits (a bounded time) for this to reach 0, so that a last
    /// `session-terminate` is delivered before the stream ends.
    pub fn outstanding_proxy_iqs(&self) -> usize {
        let tracked = self
            .tracked
            .values()
            .filter(|p| matches!(p.purpose, Purpose::Proxy { .. }))
            .count();
        self.queue.len() + tracked
    }

    /// Whether the client has stopped for good.
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed)
    }

    /// Whether the driver should read from the transport now. `false` while
    /// the server has sent more than [`Config::stanza_rate`] or
    /// [`Config::byte_rate`] allow: stop reading until the instant of
    /// [`Output::Timeout`] (the transport's flow control then holds the
    /// server back). Input given anyway is still handled, never dropped.
    pub fn wants_read(&self, now: Instant) -> bool {
        self.stanzas.ready_at(now).is_none() && self.bytes.ready_at(now).is_none()
    }

    /// The next output; [`Output::Timeout`] when there is nothing else to do.
    pub fn poll_output(&mut self) -> Output {
        match self.out.pop_front() {
            Some(o) => o,
            None => Output::Timeout(self.next_deadline()),
        }
    }

    /// The transport is up (after direct TLS or the WebSocket upgrade).
    pub fn handle_connected(&mut self, now: Instant) {
        let State::Connecting { deadline } = self.state else {
            return;
        };
        let tls = match &self.config.transport {
            Transport::Tcp { tls } => *tls == TlsMode::Direct,
            Transport::WebSocket { secure } => *secure,
        };
        // A new connection, a new framer: nothing of the old stream (bytes
        // left over, a failure, its end) carries over.
        self.framer = TcpFramer::new(self.config.limits);
        self.state = State::Negotiating(Negotiation {
            step: NegotiationStep::Features,
            tls,
            authenticated: false,
            bind_tries: 0,
            deadline,
        });
        self.open_stream();
        let _ = now;
    }

    /// The TLS handshake asked for by [`Output::StartTls`] completed.
    pub fn handle_tls_ready(&mut self, now: Instant) {
        let State::Negotiating(n) = &mut self.state else {
            return;
        };
        if !matches!(n.step, NegotiationStep::TlsHandshake) {
            return;
        }
        n.tls = true;
        n.step = NegotiationStep::Features;
        self.framer.reset();
        self.open_stream();
        let _ = now;
    }

    /// Bytes read from the TCP stream.
    pub fn handle_bytes(&mut self, now: Instant, bytes: &[u8]) {
        if !self.reading() {
            return;
        }
        if let State::Negotiating(Negotiation {
            step: NegotiationStep::TlsHandshake,
            ..
        }) = self.state
        {
            return self.lose(now, ClientError::PlaintextAfterProceed(bytes.len()));
        }
        self.bytes.take(now, bytes.len() as u64);
        self.framer.push(bytes);
        while let Some(frame) = self.framer.next() {
            self.stanzas.take(now, 1);
            match frame {
                Ok(frame) => self.handle_frame_inner(now, frame),
                Err(e) => self.lose(now, ClientError::Framing(e)),
            }
            if !self.reading() {
                return;
            }
        }
    }

    /// One WebSocket text message.
    pub fn handle_frame(&mut self, now: Instant, message: &str) {
        if !self.reading() {
            return;
        }
        self.bytes.take(now, message.len() as u64);
        self.stanzas.take(now, 1);
        match ws_frame(message, &self.config.limits) {
            Ok(frame) => self.handle_frame_inner(now, frame),
            Err(e) => self.lose(now, ClientError::Framing(e)),
        }
    }

    /// The transport closed (EOF or an I/O error, described in `reason`).
    pub fn handle_closed(&mut self, now: Instant, reason: Option<String>) {
        if self.reading() || matches!(self.state, State::Connecting { .. }) {
            self.lose(now, ClientError::TransportClosed(reason));
        }
    }

    /// Time passed: call at (or after) the instant of [`Output::Timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        // The buckets refill up to now: a resume instant that has passed
        // is not given again (a driver would call back at once, forever).
        self.stanzas.take(now, 0);
        self.bytes.take(now, 0);
        self.expire_queue(now);
        match &mut self.state {
            State::Connecting { deadline } if now >= *deadline => {
                self.lose(now, ClientError::ConnectTimeout)
            }
            State::Negotiating(n) if now >= n.deadline => {
                self.lose(now, ClientError::ConnectTimeout)
            }
            State::Waiting { until } if now >= *until => {
                self.state = State::Connecting {
                    deadline: now + self.config.connect_timeout,
                };
                self.out.push_back(Output::Connect);
            }
            State::Online(_) => self.online_timers(now),
            _ => {}
        }
    }

    /// Sends a proxy IQ from the core (`iq` as the core wrote it, usually
    /// without an id) to `to` in the configured [`Envelope`]. An answer the
    /// core writes (`result`/`error`, with the id it echoes) always goes as
    /// it is, and only while online: given while offline it is not kept,
    /// and gives [`Event::IqFailed`] with [`IqFailure::Offline`] (or
    /// [`IqFailure::Closed`]). While offline, while the room join is pending, or while IQs
    /// queued earlier still wait, the IQ waits behind them (so order is
    /// kept), at most [`MAX_QUEUED`] of them for [`Config::iq_timeout`]; an
    /// IQ that cannot be sent gives [`Event::IqFailed`]. An IQ that is not
    /// one the peer could read is refused here.
    pub fn send_proxy_iq(&mut self, now: Instant, to: &str, iq: &str) -> Result<(), EnvelopeError> {
        let parsed = parse_iq(iq, &self.config.limits).map_err(EnvelopeError::Iq)?;
        if matches!(parsed.kind, IqType::Result | IqType::Error) {
            // An answer: the core echoes the id it received; no tracking.
            let id = parsed.id.clone().unwrap_or_default();
            let wire = self.wire_to(to);
            let stanza = Envelope::Direct.wrap(&wire, &id, iq, &self.config.limits)?;
            // An answer cannot wait for the next connection (the asker's
            // own timeout covers it): it is reported as not sent.
            match self.state {
                State::Online(_) => self.send(&stanza),
                State::Closed => self.fail(to, IqFailure::Closed),
                _ => self.fail(to, IqFailure::Offline),
            }
            return Ok(());
        }
        if let (State::Online(o), Some(room)) = (&self.state, &self.config.room) {
            if matches!(o.room, RoomState::Left) && same_jid(bare(to), &room.jid) {
                self.fail(to, IqFailure::NotInRoom);
                return Ok(());
            }
        }
        match &self.state {
            // Online with the room join pending, or with IQs still queued,
            // it waits behind them: a `transport-info` must not overtake
            // the `session-initiate` queued before it.
            State::Online(o) if !matches!(o.room, RoomState::Joining) && self.queue.is_empty() => {
                self.send_tracked_proxy(now, to, iq)
            }
            State::Closed => {
                self.fail(to, IqFailure::Closed);
                Ok(())
            }
            _ => {
                if self.queue.len() >= MAX_QUEUED {
                    self.fail(to, IqFailure::TooMany);
                } else {
                    let deadline = now + self.config.iq_timeout;
                    let (to, iq) = (to.to_owned(), iq.to_owned());
                    self.queue.push_back(Queued { to, iq, deadline });
                }
                Ok(())
            }
        }
    }

    /// Joins `room` now if online, and after every reconnection.
    pub fn join_room(&mut self, now: Instant, room: Room) {
        if let State::Online(o) = &mut self.state {
            o.room = RoomState::Joining;
            o.nick = room.nick.clone();
            o.join_tries = 0;
            // Renames seen before are not followed into a new join.
            o.renamed.clear();
            self.config.room = Some(room);
            self.send_join();
        } else {
            self.config.room = Some(room);
        }
        let _ = now;
    }

    /// Ends the session: closes the stream, fails the queued IQs, and stops.
    pub fn close(&mut self, now: Instant) {
        if matches!(self.state, State::Closed) {
            return;
        }
        if self.reading() {
            self.send_close();
        }
        self.out.push_back(Output::CloseTransport);
        self.fail_all(IqFailure::Closed);
        self.state = State::Closed;
        self.event(Event::Closed { reason: None });
        let _ = now;
    }

    // ---- internals ----

    fn reading(&self) -> bool {
        matches!(self.state, State::Negotiating(_) | State::Online(_))
    }

    fn event(&mut self, e: Event) {
        self.out.push_back(Output::Event(e));
    }

    fn send(&mut self, text: &str) {
        let o = match self.config.transport {
            Transport::Tcp { .. } => Output::Transmit(text.as_bytes().to_vec()),
            Transport::WebSocket { .. } => Output::SendFrame(ws_stanza(text).into_owned()),
        };
        self.out.push_back(o);
    }

    /// Our stream's end: `</stream:stream>` or `<close/>`.
    fn send_close(&mut self) {
        match self.config.transport {
            Transport::Tcp { .. } => self.send(tcp_close()),
            Transport::WebSocket { .. } => self.send(ws_close()),
        }
    }

    fn open_stream(&mut self) {
        let open = match self.config.transport {
            Transport::Tcp { .. } => tcp_open(&self.config.domain, None),
            Transport::WebSocket { .. } => ws_open(&self.config.domain),
        };
        self.send(&open);
    }

    fn next_id(&mut self, prefix: &'static str) -> String {
        let n = self.ids.entry(prefix).or_insert(0);
        *n += 1;
        format!("{prefix}{n}")
    }

    /// 32 bytes derived from the seed: HMAC-SHA-256(seed, label ‖ counter).
    fn random(&mut self, label: &[u8]) -> [u8; 32] {
        self.draws += 1;
        // HMAC takes a key of any length.
        // A key shorter than the block is zero-padded by HMAC itself, so
        // padding it here gives the same MAC without a fallible call.
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&self.config.seed);
        let mut mac = Hmac::<Sha256>::new(&key.into());
        mac.update(label);
        mac.update(&self.draws.to_be_bytes());
        mac.finalize().into_bytes().into()
    }

    fn next_deadline(&self) -> Option<Instant> {
        let mut d: Option<Instant> = None;
        let mut min = |t: Instant| d = Some(d.map_or(t, |d| d.min(t)));
        match &self.state {
            State::Connecting { deadline } => min(*deadline),
            State::Negotiating(n) => min(n.deadline),
            State::Waiting { until } => min(*until),
            State::Online(o) => {
                if !o.ping_out {
                    min(o.last_heard + self.config.ping_interval);
                }
                if let Some(t) = o.extdisco_at {
                    min(t);
                }
            }
            State::Closed => return None,
        }
        for p in self.tracked.values() {
            min(p.deadline);
        }
        if self.reading() {
            // Reading resumes then (see `wants_read`); the instant is
            // computed from the last count, a refill later only helps.
            let stanzas = self.stanzas.ready_at(self.stanzas.last_count());
            let bytes = self.bytes.ready_at(self.bytes.last_count());
            for t in [stanzas, bytes].into_iter().flatten() {
                min(t);
            }
        }
        if let Some(q) = self.queue.front() {
            min(q.deadline);
        }
        d
    }

    fn fail(&mut self, to: &str, reason: IqFailure) {
        let to = to.to_owned();
        self.event(Event::IqFailed { to, reason });
    }

    fn fail_all(&mut self, reason: IqFailure) {
        let mut lost: Vec<(String, Pending)> = self.tracked.drain().collect();
        lost.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, p) in lost {
            if let Purpose::Proxy { to, .. } = p.purpose {
                self.fail(&to, reason.clone());
            }
        }
        while let Some(q) = self.queue.pop_front() {
            self.fail(&q.to, reason.clone());
        }
    }

    fn expire_queue(&mut self, now: Instant) {
        while self.queue.front().is_some_and(|q| now >= q.deadline) {
            if let Some(q) = self.queue.pop_front() {
                self.fail(&q.to, IqFailure::Timeout);
            }
        }
    }

    /// The connection is gone: report, and wait or stop.
    fn lose(&mut self, now: Instant, reason: ClientError) {
        if matches!(self.state, State::Closed | State::Waiting { .. }) {
            return;
        }
        if let State::Online(o) = &self.state {
            if now.saturating_duration_since(o.since) >= BACKOFF_RESET {
                self.attempt = 0;
            }
        }
        // Answers to IQs sent on this connection will never come; IQs still
        // queued keep waiting for the next one.
        let mut lost: Vec<(String, Pending)> = self.tracked.drain().collect();
        lost.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, p) in lost {
            if let Purpose::Proxy { to, .. } = p.purpose {
                self.fail(&to, IqFailure::ConnectionLost);
            }
        }
        self.out.push_back(Output::CloseTransport);
        if reason.is_terminal() {
            self.fail_all(IqFailure::Closed);
            self.state = State::Closed;
            self.event(Event::Closed {
                reason: Some(reason),
            });
            return;
        }
        let retry_at = now + self.backoff();
        self.attempt = self.attempt.saturating_add(1);
        self.state = State::Waiting { until: retry_at };
        self.event(Event::Offline { reason, retry_at });
    }

    /// 0.5 s × 2^attempt, at most 30 s, times a seeded factor in 0.8..1.2.
    fn backoff(&mut self) -> Duration {
        let base = BACKOFF_BASE.saturating_mul(1u32 << self.attempt.min(16));
        let base = base.min(BACKOFF_MAX);
        let r = self.random(b"backoff");
        let u = u16::from_be_bytes([r[0], r[1]]);
        // 0.8 + 0.4 * u / 65535, in thousandths.
        let permille = 800 + u64::from(u) * 400 / u64::from(u16::MAX);
        Duration::from_millis(base.as_millis() as u64 * permille / 1000)
    }

    fn handle_frame_inner(&mut self, now: Instant, frame: Frame) {
        match frame {
            Frame::Open(_) => {}
            Frame::Close(close) => {
                // The server closed its stream: close ours before the
                // transport (RFC 6120 §4.4, RFC 7395 §3.6).
                self.send_close();
                let reason = match close.see_other_uri {
                    Some(uri) => ClientError::SeeOtherUri(uri),
                    None => ClientError::StreamClosed,
                };
                self.lose(now, reason);
            }
            Frame::Stanza(text) => {
                let el = match Element::parse(&text, &self.config.limits) {
                    Ok(el) => el,
                    Err(e) => return self.lose(now, ClientError::Stanza(e)),
                };
                if el.is("error", NS_STREAMS) {
                    let condition = StreamCondition::from_element(&el);
                    let text = el
                        .condition(NS_STREAM_ERRORS)
                        .1
                        .map(|t| t.trim().to_owned());
                    // Another session took our resource (RFC 6120
                    // §4.9.3.3): binding it again would take it back, and
                    // the two sessions would take turns forever.
                    let conflict = condition == StreamCondition::Conflict;
                    // A stream error closes the server's stream: close ours.
                    self.send_close();
                    self.lose(now, ClientError::StreamError { condition, text });
                    if conflict {
                        self.fresh_resource_reported();
                    }
                    return;
                }
                if matches!(self.state, State::Online(_)) {
                    self.online_stanza(now, &el, &text);
                } else {
                    self.negotiate(now, &el);
                }
            }
        }
    }

    fn negotiate(&mut self, now: Instant, el: &Element) {
        let State::Negotiating(n) = &self.state else {
            return;
        };
        let mut n = Negotiation {
            step: NegotiationStep::Features,
            ..*n
        };
        if let State::Negotiating(held) = &mut self.state {
            std::mem::swap(&mut n.step, &mut held.step);
        }
        let result = self.negotiate_step(&mut n, el);
        if let State::Negotiating(held) = &mut self.state {
            held.step = n.step;
            held.tls = n.tls;
            held.authenticated = n.authenticated;
            held.bind_tries = n.bind_tries;
        }
        match result {
            Ok(None) => {}
            Ok(Some(jid)) => self.go_online(now, jid),
            Err(e) => self.lose(now, e),
        }
    }

    /// One element of the negotiation: `Ok(Some(jid))` once bound.
    fn negotiate_step(
        &mut self,
        n: &mut Negotiation,
        el: &Element,
    ) -> Result<Option<String>, ClientError> {
        let tls_mode = match self.config.transport {
            Transport::Tcp { tls } => tls,
            Transport::WebSocket { .. } => TlsMode::None,
        };
        let step = std::mem::replace(&mut n.step, NegotiationStep::Features);
        match step {
            NegotiationStep::Features if el.is("features", NS_STREAMS) => {
                let starttls = el.child("starttls", NS_TLS).is_some();
                if !n.tls && !n.authenticated {
                    match tls_mode {
                        TlsMode::Required | TlsMode::Optional if starttls => {
                            n.step = NegotiationStep::StartTls;
                            self.send(&format!("<starttls xmlns='{NS_TLS}'/>"));
                            return Ok(None);
                        }
                        TlsMode::Required => return Err(ClientError::TlsNotOffered),
                        _ => {}
                    }
                }
                if !n.authenticated {
                    let Some(mechanisms) = el.child("mechanisms", NS_SASL) else {
                        return Err(ClientError::Unexpected("stream:features".into()));
                    };
                    let offered: Vec<&str> = mechanisms
                        .children
                        .iter()
                        .filter(|m| m.is("mechanism", NS_SASL))
                        .map(|m| m.text.as_str())
                        .collect();
                    let config = SaslConfig {
                        credentials: self.config.credentials.clone(),
                        allow_plain_without_tls: self.config.allow_plain_without_tls,
                        max_iterations: self.config.max_iterations,
                    };
                    let nonce = self.random(b"scram-nonce");
                    let (client, auth) =
                        sasl::start(&config, offered, n.tls, &nonce[..NONCE_BYTES])
                            .map_err(ClientError::Sasl)?;
                    n.step = NegotiationStep::Sasl(client);
                    self.send(&auth);
                    return Ok(None);
                }
                if el.child("bind", NS_BIND).is_none() {
                    return Err(ClientError::BindNotOffered);
                }
                self.send_bind(n);
                Ok(None)
            }
            NegotiationStep::StartTls if el.is("proceed", NS_TLS) => {
                // Whatever follows <proceed/> in the same read was sent
                // before TLS: refuse it rather than read it as TLS-protected.
                if self.framer.buffered() > 0 {
                    return Err(ClientError::PlaintextAfterProceed(self.framer.buffered()));
                }
                n.step = NegotiationStep::TlsHandshake;
                let server_name = self.config.domain.clone();
                self.out.push_back(Output::StartTls { server_name });
                Ok(None)
            }
            NegotiationStep::StartTls if el.is("failure", NS_TLS) => Err(ClientError::TlsRefused),
            NegotiationStep::Sasl(mut client) if el.ns == NS_SASL => {
                let element = match el.name.as_str() {
                    "failure" => {
                        let (c, t) = el.condition(NS_SASL);
                        ServerElement::failure(c.unwrap_or(""), t)
                    }
                    name => ServerElement::from_parts(name, &el.text)
                        .ok_or_else(|| ClientError::Unexpected(el.name.clone()))?,
                };
                match client.handle(element).map_err(ClientError::Sasl)? {
                    Step::Respond(response) => {
                        n.step = NegotiationStep::Sasl(client);
                        self.send(&response);
                    }
                    Step::Success => {
                        n.authenticated = true;
                        n.step = NegotiationStep::Features;
                        self.framer.reset();
                        self.open_stream();
                    }
                }
                Ok(None)
            }
            NegotiationStep::Binding if el.is("iq", NS_CLIENT) => {
                let id = el.attr("id").unwrap_or("");
                let is_ours = self
                    .tracked
                    .get(id)
                    .is_some_and(|p| p.purpose == Purpose::Bind);
                if !is_ours {
                    // Not the bind answer (a server push): ignore it.
                    n.step = NegotiationStep::Binding;
                    return Ok(None);
                }
                self.tracked.remove(id);
                let jid = el
                    .child("bind", NS_BIND)
                    .and_then(|b| b.child("jid", NS_BIND))
                    .map(|j| j.text.trim().to_owned());
                match (el.attr("type"), jid) {
                    (Some("result"), Some(jid)) if !jid.is_empty() => Ok(Some(jid)),
                    // Our resource is taken (RFC 6120 §7.7.2.2): try
                    // another, a few times. Without a configured resource
                    // the server chose, and there is nothing to change.
                    (Some("error"), _)
                        if el.stanza_error() == Some("conflict")
                            && n.bind_tries < MAX_BIND_TRIES
                            && self.config.resource.is_some() =>
                    {
                        self.fresh_resource_reported();
                        self.send_bind(n);
                        Ok(None)
                    }
                    (Some("result"), _) => Err(ClientError::BindNoJid),
                    _ => Err(ClientError::Bind(DefinedCondition::from_wire(
                        el.stanza_error().unwrap_or("undefined-condition"),
                    ))),
                }
            }
            _ => Err(ClientError::Unexpected(el.name.clone())),
        }
    }

    /// Sends a bind request for `Client::resource` (RFC 6120 §7).
    fn send_bind(&mut self, n: &mut Negotiation) {
        n.step = NegotiationStep::Binding;
        n.bind_tries = n.bind_tries.saturating_add(1);
        let id = self.next_id("bind");
        let mut stanza = String::new();
        let mut w = Writer::new(&mut stanza);
        w.open("iq").attr("type", "set").attr("id", &id);
        w.children("iq", |w| {
            w.open("bind").attr("xmlns", NS_BIND);
            match &self.resource {
                Some(r) => w.children("bind", |w| w.open("resource").text("resource", r)),
                None => w.empty(),
            }
        });
        let purpose = Purpose::Bind;
        let deadline = n.deadline;
        self.tracked.insert(id, Pending { purpose, deadline });
        self.send(&stanza);
    }

    /// Our resource conflicted with another session's: from now on, bind
    /// [`Config::resource`] with a fresh seeded suffix (nothing changes
    /// when the server chooses the resource).
    fn fresh_resource(&mut self) {
        let Some(base) = self.config.resource.clone() else {
            return;
        };
        let suffix = self.suffix(b"resource", RESOURCE_SUFFIX_BYTES);
        self.resource = Some(format!("{base}-{suffix}"));
    }

    /// [`Client::fresh_resource`], reported as
    /// [`ClientError::ResourceConflict`].
    fn fresh_resource_reported(&mut self) {
        let refused = self.resource.clone();
        self.fresh_resource();
        if let (Some(refused), Some(next)) = (refused, self.resource.clone()) {
            self.event(Event::Error(ClientError::ResourceConflict {
                refused,
                next,
            }));
        }
    }

    /// `bytes` seeded random bytes in lower-case hex.
    fn suffix(&mut self, label: &[u8], bytes: usize) -> String {
        let r = self.random(label);
        r.iter().take(bytes).map(|b| format!("{b:02x}")).collect()
    }

    fn go_online(&mut self, now: Instant, jid: String) {
        let room = if self.config.room.is_some() {
            RoomState::Joining
        } else {
            RoomState::None
        };
        let joining = matches!(room, RoomState::Joining);
        // Every join starts from the configured nickname.
        let nick = self
            .config
            .room
            .as_ref()
            .map(|r| r.nick.clone())
            .unwrap_or_default();
        self.state = State::Online(Online {
            jid: jid.clone(),
            since: now,
            last_heard: now,
            ping_out: false,
            room,
            nick,
            join_tries: 0,
            renamed: Vec::new(),
            extdisco_at: None,
        });
        self.event(Event::Online { jid });
        self.query_extdisco(now, ExtdiscoVersion::V2);
        if joining {
            self.send_join();
        } else {
            self.flush_queue(now);
        }
    }

    fn schedule_extdisco(&mut self, at: Instant) {
        if let State::Online(o) = &mut self.state {
            o.extdisco_at = Some(at);
        }
    }

    /// When to fetch `servers` again: before the earliest `expires` by a
    /// tenth of the remaining lifetime, at least [`EXTDISCO_MARGIN`], and
    /// not sooner than [`EXTDISCO_FLOOR`] from now. `None` without
    /// [`Config::wall_clock`] or without a readable `expires`.
    fn refresh_time(&self, now: Instant, servers: &[IceServer]) -> Option<Instant> {
        let (wall, at) = self.config.wall_clock?;
        let expires = servers.iter().filter_map(|s| s.expires_at()).min()?;
        // The wall-clock time now, and the lifetime left.
        let wall_now = wall + now.saturating_duration_since(at);
        let left = expires.duration_since(wall_now).unwrap_or(Duration::ZERO);
        let margin = (left / 10).max(EXTDISCO_MARGIN);
        Some(now + left.saturating_sub(margin).max(EXTDISCO_FLOOR))
    }

    fn query_extdisco(&mut self, now: Instant, version: ExtdiscoVersion) {
        let id = self.next_id("ext");
        let query = services_query(&id, &self.config.domain, version);
        let deadline = now + self.config.iq_timeout;
        let purpose = Purpose::Extdisco(version);
        self.tracked.insert(id, Pending { purpose, deadline });
        self.send(&query);
    }

    /// Sends the join presence for the room with the nickname of
    /// `Online::nick`.
    fn send_join(&mut self) {
        let (Some(room), State::Online(o)) = (&self.config.room, &mut self.state) else {
            return;
        };
        o.join_tries = o.join_tries.saturating_add(1);
        let occupant = format!("{}/{}", room.jid, o.nick);
        let mut stanza = String::new();
        let mut w = Writer::new(&mut stanza);
        w.open("presence").attr("to", &occupant);
        w.children("presence", |w| {
            w.open("x").attr("xmlns", NS_MUC);
            match &room.password {
                Some(p) => w.children("x", |w| w.open("password").text("password", p)),
                None => w.empty(),
            }
        });
        self.send(&stanza);
    }

    fn flush_queue(&mut self, now: Instant) {
        while let Some(q) = self.queue.pop_front() {
            // It was checked when queued; a failure now is the size bound
            // on the envelope.
            if let Err(e) = self.send_tracked_proxy(now, &q.to, &q.iq) {
                self.fail(&q.to, IqFailure::Refused(e));
            }
        }
    }

    fn send_tracked_proxy(
        &mut self,
        now: Instant,
        to: &str,
        iq: &str,
    ) -> Result<(), EnvelopeError> {
        if self.tracked.len() >= MAX_TRACKED {
            self.fail(to, IqFailure::TooMany);
            return Ok(());
        }
        let stamped = self.next_id("px");
        let wire = self.wire_to(to);
        let stanza = self
            .config
            .envelope
            .wrap(&wire, &stamped, iq, &self.config.limits)?;
        // The Direct form keeps an id the IQ already carries: track the id
        // on the wire, which the answer echoes.
        let id = match self.config.envelope {
            Envelope::Direct => Element::parse(&stanza, &self.config.limits)
                .ok()
                .and_then(|el| el.attr("id").map(str::to_owned))
                .unwrap_or(stamped),
            _ => stamped,
        };
        let deadline = now + self.config.iq_timeout;
        let purpose = Purpose::Proxy {
            to: to.to_owned(),
            wire,
        };
        self.tracked.insert(id, Pending { purpose, deadline });
        self.send(&stanza);
        Ok(())
    }

    fn online_timers(&mut self, now: Instant) {
        let mut expired: Vec<(String, Purpose)> = self
            .tracked
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(id, p)| (id.clone(), p.purpose.clone()))
            .collect();
        expired.sort_by(|a, b| a.0.cmp(&b.0));
        for (id, purpose) in expired {
            self.tracked.remove(&id);
            match purpose {
                Purpose::Ping => return self.lose(now, ClientError::PingTimeout),
                Purpose::Bind => return self.lose(now, ClientError::ConnectTimeout),
                Purpose::Extdisco(_) => {
                    self.event(Event::Error(ClientError::ExtdiscoTimeout));
                    self.schedule_extdisco(now + EXTDISCO_RETRY);
                }
                Purpose::Proxy { to, .. } => self.fail(&to, IqFailure::Timeout),
            }
        }
        let State::Online(o) = &mut self.state else {
            return;
        };
        if o.extdisco_at.is_some_and(|t| now >= t) {
            o.extdisco_at = None;
            self.query_extdisco(now, ExtdiscoVersion::V2);
        }
        let State::Online(o) = &mut self.state else {
            return;
        };
        if !o.ping_out && now >= o.last_heard + self.config.ping_interval {
            o.ping_out = true;
            let id = self.next_id("ping");
            let mut stanza = String::new();
            let mut w = Writer::new(&mut stanza);
            w.open("iq")
                .attr("type", "get")
                .attr("to", &self.config.domain)
                .attr("id", &id);
            w.children("iq", |w| w.open("ping").attr("xmlns", NS_PING).empty());
            let deadline = now + self.config.ping_timeout;
            self.tracked.insert(
                id,
                Pending {
                    purpose: Purpose::Ping,
                    deadline,
                },
            );
            self.send(&stanza);
        }
    }

    fn online_stanza(&mut self, now: Instant, el: &Element, text: &str) {
        if let State::Online(o) = &mut self.state {
            o.last_heard = now;
        }
        if !matches!(el.ns.as_str(), NS_CLIENT | "") {
            return;
        }
        match el.name.as_str() {
            "iq" => self.online_iq(now, el, text),
            "presence" => self.online_presence(now, el),
            // Messages (the room subject, chat) carry nothing for us.
            _ => {}
        }
    }

    fn online_iq(&mut self, now: Instant, el: &Element, text: &str) {
        let kind = el.attr("type").unwrap_or("");
        let id = el.attr("id").unwrap_or("");
        match kind {
            "result" | "error" => {
                // Only the addressee may answer (RFC 6120 §8.1.2.1): our ids
                // are predictable, so a third party could otherwise close
                // an IQ it never saw.
                let from_addressee = self
                    .tracked
                    .get(id)
                    .is_some_and(|p| self.is_addressee(&p.purpose, el.attr("from")));
                if from_addressee {
                    if let Some(p) = self.tracked.remove(id) {
                        self.answer(now, p.purpose, el, text);
                    }
                }
                // An answer to no IQ of ours (late, spoofed, or for the
                // core's own answers) is dropped: RFC 6120 §8.2.3 needs no
                // reply to a result or an error.
            }
            "set" | "get" => self.request(el, text),
            _ => {}
        }
    }

    /// Whether `from` is who an IQ for `purpose` was sent to: the peer for a
    /// proxy IQ, the server (no `from`, the domain or our own bare JID) for
    /// the others.
    fn is_addressee(&self, purpose: &Purpose, from: Option<&str>) -> bool {
        match (purpose, from) {
            // Renamed since, it answers from its new occupant JID.
            (Purpose::Proxy { to, wire }, Some(from)) => {
                same_jid(from, wire) || self.known_as(from).is_some_and(|k| same_jid(k, to))
            }
            (Purpose::Proxy { .. }, None) => false,
            (_, None) => true,
            (_, Some(from)) => {
                same_jid(from, &self.config.domain)
                    || self.jid().is_some_and(|j| same_jid(bare(j), from))
            }
        }
    }

    fn answer(&mut self, now: Instant, purpose: Purpose, el: &Element, text: &str) {
        let is_error = el.attr("type") == Some("error");
        match purpose {
            Purpose::Ping => {
                if let State::Online(o) = &mut self.state {
                    o.ping_out = false;
                }
            }
            Purpose::Bind => {}
            Purpose::Extdisco(version) => match parse_services_result(text, &self.config.limits) {
                Ok(servers) => {
                    if let Some(at) = self.refresh_time(now, &servers) {
                        self.schedule_extdisco(at);
                    }
                    self.event(Event::IceServers(servers))
                }
                Err(ExtdiscoError::ErrorResult { .. }) if version == ExtdiscoVersion::V2 => {
                    self.query_extdisco(now, ExtdiscoVersion::V1)
                }
                Err(e) => {
                    // A server that refused both versions does not offer
                    // the service: asking again would not help. Garbage
                    // may be passing: ask again later, keeping the last list.
                    if !matches!(e, ExtdiscoError::ErrorResult { .. }) {
                        self.schedule_extdisco(now + EXTDISCO_RETRY);
                    }
                    self.event(Event::Error(ClientError::Extdisco(e)))
                }
            },
            Purpose::Proxy { to, .. } => {
                if is_error {
                    let condition = DefinedCondition::from_wire(
                        el.stanza_error().unwrap_or("undefined-condition"),
                    );
                    let gone = matches!(
                        condition,
                        DefinedCondition::ServiceUnavailable
                            | DefinedCondition::RecipientUnavailable
                            | DefinedCondition::ItemNotFound
                    );
                    self.fail(&to, IqFailure::Error(condition));
                    if gone {
                        // The peer is gone: end its session now, not by timeout.
                        self.event(Event::Message(unavailable(&to)));
                    }
                }
            }
        }
    }

    /// An incoming `get`/`set`.
    fn request(&mut self, el: &Element, text: &str) {
        let from = el.attr("from").unwrap_or(&self.config.domain).to_owned();
        let id = el.attr("id").unwrap_or("").to_owned();
        let known = self.known_as(&from).map(str::to_owned);
        if known.is_none() {
            // Another occupant took the nickname a renamed one left: the
            // proxy session of that JID is the renamed occupant's.
            if let Some(now) = self.renamed_from(&from).map(str::to_owned) {
                let error =
                    StanzaError::new(ErrorType::Cancel, DefinedCondition::ServiceUnavailable);
                self.send(&answer_error(&from, &id, error));
                self.event(Event::Error(ClientError::NicknameReused { jid: from, now }));
                return;
            }
        }
        match Envelope::unwrap(text, &self.config.limits) {
            Some(Ok(u)) => {
                if let Some(ack) = u.result() {
                    self.send(&ack);
                }
                if let Some(mut message) = u.message() {
                    // A renamed occupant: the JID its session is bound to.
                    if let Some(known) = known {
                        message.from = known;
                    }
                    self.event(Event::Message(message));
                }
            }
            Some(Err(refused)) => {
                if let Some(answer) = refused.answer() {
                    self.send(&answer);
                }
                self.event(Event::Error(ClientError::Envelope(Box::new(refused))));
            }
            None if el.child("ping", NS_PING).is_some() && el.attr("type") == Some("get") => {
                self.send(&answer_result(&from, &id));
            }
            None => {
                let error =
                    StanzaError::new(ErrorType::Cancel, DefinedCondition::ServiceUnavailable);
                self.send(&answer_error(&from, &id, error));
            }
        }
    }

    fn online_presence(&mut self, now: Instant, el: &Element) {
        let Some(room) = self.config.room.clone() else {
            return;
        };
        let from = el.attr("from").unwrap_or("");
        if !same_jid(bare(from), &room.jid) {
            return;
        }
        let (nick, join_tries, joined) = match &self.state {
            State::Online(o) => (
                o.nick.clone(),
                o.join_tries,
                matches!(o.room, RoomState::Joined),
            ),
            _ => return,
        };
        let occupant = format!("{}/{}", room.jid, nick);
        let codes = status_codes(el);
        let is_self = codes.contains(&110) || same_jid(from, &occupant);
        match el.attr("type") {
            Some("error") => {
                let condition =
                    DefinedCondition::from_wire(el.stanza_error().unwrap_or("undefined-condition"));
                let State::Online(o) = &mut self.state else {
                    return;
                };
                // Our nickname is taken (XEP-0045 §7.2.9): while joining,
                // try it with a seeded suffix a few times; the queue keeps
                // waiting for the join.
                if condition == DefinedCondition::Conflict
                    && matches!(o.room, RoomState::Joining)
                    && join_tries < MAX_JOIN_TRIES
                {
                    let suffix = self.suffix(b"nick", NICK_SUFFIX_BYTES);
                    let next = format!("{}-{suffix}", room.nick);
                    if let State::Online(o) = &mut self.state {
                        o.nick = next.clone();
                    }
                    self.event(Event::Error(ClientError::NicknameConflict {
                        room: room.jid,
                        refused: nick,
                        next,
                    }));
                    self.send_join();
                    return;
                }
                if let State::Online(o) = &mut self.state {
                    o.room = RoomState::None;
                }
                self.event(Event::Error(ClientError::Room {
                    room: room.jid,
                    condition,
                }));
                // The queue waited for the room; it will not come.
                self.flush_queue(now);
            }
            // 303: our nickname changed (XEP-0045 §7.6), we are still in.
            Some("unavailable") if is_self && codes.contains(&303) => {
                let Some(new) = renamed_to(el).filter(|_| joined) else {
                    return;
                };
                if let State::Online(o) = &mut self.state {
                    o.nick = new.to_owned();
                }
                self.event(Event::RoomJoined {
                    occupant_jid: format!("{}/{new}", room.jid),
                });
            }
            Some("unavailable") if is_self => {
                let State::Online(o) = &mut self.state else {
                    return;
                };
                o.room = RoomState::Left;
                o.renamed.clear();
                let x = el.child("x", NS_MUC_USER);
                let destroy = x.and_then(|x| x.child("destroy", NS_MUC_USER));
                let reason = destroy
                    .or_else(|| x.and_then(|x| x.child("item", NS_MUC_USER)))
                    .and_then(|e| e.child("reason", NS_MUC_USER))
                    .map(|r| r.text.trim().to_owned())
                    .filter(|r| !r.is_empty());
                // The IQs awaiting answers from its occupants will get none.
                let mut lost: Vec<(String, String)> = self
                    .tracked
                    .iter()
                    .filter_map(|(id, p)| match &p.purpose {
                        Purpose::Proxy { to, .. } if same_jid(bare(to), &room.jid) => {
                            Some((id.clone(), to.clone()))
                        }
                        _ => None,
                    })
                    .collect();
                lost.sort();
                self.event(Event::Error(ClientError::RoomLeft {
                    room: room.jid,
                    codes,
                    destroyed: destroy.is_some(),
                    reason,
                }));
                for (id, to) in lost {
                    self.tracked.remove(&id);
                    self.fail(&to, IqFailure::NotInRoom);
                }
            }
            Some("unavailable") => {
                // Another occupant changed its nickname: it has not left.
                if codes.contains(&303) {
                    if let Some(new) = renamed_to(el) {
                        let to = format!("{}/{new}", room.jid);
                        if self.rename(from, &to) {
                            return;
                        }
                    }
                }
                self.occupant_left(from);
            }
            None if is_self => {
                let State::Online(o) = &mut self.state else {
                    return;
                };
                if matches!(o.room, RoomState::Joined) {
                    return;
                }
                o.room = RoomState::Joined;
                self.event(Event::RoomJoined {
                    occupant_jid: from.to_owned(),
                });
                self.flush_queue(now);
            }
            _ => {}
        }
    }

    /// The renamed occupants, empty when not online.
    fn renamed(&self) -> &[Alias] {
        match &self.state {
            State::Online(o) => &o.renamed,
            _ => &[],
        }
    }

    /// The JID the application knows the occupant `current` by, when it was
    /// renamed.
    fn known_as(&self, current: &str) -> Option<&str> {
        self.renamed()
            .iter()
            .find(|a| same_jid(&a.current, current))
            .map(|a| a.known.as_str())
    }

    /// The occupant JID now of the renamed occupant first known as `known`.
    fn renamed_from(&self, known: &str) -> Option<&str> {
        self.renamed()
            .iter()
            .find(|a| same_jid(&a.known, known))
            .map(|a| a.current.as_str())
    }

    /// Where an IQ for `to` goes: its occupant JID now when it was renamed.
    fn wire_to(&self, to: &str) -> String {
        self.renamed_from(to).unwrap_or(to).to_owned()
    }

    /// The occupant `from` is now `to`: follows it and reports it; `false`
    /// when [`MAX_RENAMED`] are followed already (then it is a leave).
    fn rename(&mut self, from: &str, to: &str) -> bool {
        let State::Online(o) = &mut self.state else {
            return false;
        };
        if let Some(i) = o.renamed.iter().position(|a| same_jid(&a.current, from)) {
            if same_jid(&o.renamed[i].known, to) {
                // Back to its first nickname: nothing to translate.
                o.renamed.remove(i);
            } else {
                o.renamed[i].current = to.to_owned();
            }
        } else if o.renamed.iter().any(|a| same_jid(&a.known, from)) {
            // The holder of a nickname a renamed occupant left: its IQs under
            // it were refused (the JID's session is the renamed one's), so
            // there is nothing of it to follow; under its new nickname it is
            // an occupant like any other. Following it would hand its IQs
            // over as the renamed occupant's, and end that one's session when
            // it leaves.
            return true;
        } else if o.renamed.len() >= MAX_RENAMED {
            return false;
        } else {
            o.renamed.push(Alias {
                known: from.to_owned(),
                current: to.to_owned(),
            });
        }
        self.event(Event::OccupantRenamed {
            from: from.to_owned(),
            to: to.to_owned(),
        });
        true
    }

    /// Another occupant left: reported, and its proxy session ended with a
    /// synthesized `unavailable` from the JID the application knows.
    fn occupant_left(&mut self, from: &str) {
        let mut known = None;
        if let State::Online(o) = &mut self.state {
            if let Some(i) = o.renamed.iter().position(|a| same_jid(&a.current, from)) {
                known = Some(o.renamed.remove(i).known);
            }
        }
        let stale = known.is_none() && self.renamed_from(from).is_some();
        let jid = known.unwrap_or_else(|| from.to_owned());
        self.event(Event::OccupantLeft { jid: jid.clone() });
        // Its answers will never come: fail what awaits them now (a last
        // session-terminate to it, say), rather than at the IQ timeout. A
        // stale holder of a nickname left behind has none: the IQs to that
        // JID go to the renamed occupant, whose answers still come.
        let mut gone: Vec<String> = self
            .tracked
            .iter()
            .filter(|_| !stale)
            .filter(|(_, p)| {
                matches!(&p.purpose, Purpose::Proxy { to, .. } if same_jid(to, from) || same_jid(to, &jid))
            })
            .map(|(id, _)| id.clone())
            .collect();
        gone.sort();
        for id in gone {
            if let Some(Pending {
                purpose: Purpose::Proxy { to, .. },
                ..
            }) = self.tracked.remove(&id)
            {
                self.fail(&to, IqFailure::AddresseeLeft);
            }
        }
        // The nickname a renamed occupant left, held by another one: the
        // session of that JID is the renamed occupant's, and goes on.
        if !stale {
            self.event(Event::Message(unavailable(&jid)));
        }
    }
}

/// The new nickname of a 303 presence (`<item nick='…'/>`), when it is one
/// (not empty, no `/`).
fn renamed_to(el: &Element) -> Option<&str> {
    el.child("x", NS_MUC_USER)?
        .children
        .iter()
        .filter(|i| i.is("item", NS_MUC_USER))
        .find_map(|i| i.attr("nick"))
        .filter(|n| !n.is_empty() && !n.contains('/'))
}

/// The MUC status codes of a presence (`<x xmlns='…muc#user'><status
/// code='…'/>`), those that are numbers.
fn status_codes(el: &Element) -> Vec<u16> {
    el.child("x", NS_MUC_USER)
        .map(|x| {
            x.children
                .iter()
                .filter(|s| s.is("status", NS_MUC_USER))
                .filter_map(|s| s.attr("code")?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether two JIDs are the same: the local and domain parts compared
/// without regard to case (nodeprep and nameprep fold it, RFC 6122 and RFC
/// 7622 §3.2–3.3), the resource part exactly (it is case-sensitive). A JID
/// without a resource is not the same as one with.
fn same_jid(a: &str, b: &str) -> bool {
    let (a_bare, a_res) = a.split_once('/').map_or((a, None), |(j, r)| (j, Some(r)));
    let (b_bare, b_res) = b.split_once('/').map_or((b, None), |(j, r)| (j, Some(r)));
    a_res == b_res
        && (a_bare.eq_ignore_ascii_case(b_bare)
            || (!a_bare.is_ascii() && a_bare.to_lowercase() == b_bare.to_lowercase()))
}

/// The `unavailable` message lib-jitsi-meet's applications synthesize for a
/// peer that left (Jitsi Spot's `remoteControlServer.ts`), from `jid`.
fn unavailable(jid: &str) -> ProxyMessage {
    ProxyMessage {
        from: jid.to_owned(),
        iq: "<iq xmlns='jabber:client' type='set'><jingle xmlns='urn:xmpp:jingle:1' \
             action='unavailable'><details>unavailable</details></jingle></iq>"
            .to_owned(),
    }
}
