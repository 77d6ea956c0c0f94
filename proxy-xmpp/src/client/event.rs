//! What a [`Client`](super::Client) gives back: driver actions, events for
//! the application, and the error taxonomy.

use std::time::Instant;

use proxy_core::extdisco::ExtdiscoError;
use proxy_core::{DefinedCondition, IceServer, ParseError, ProxyMessage};

use crate::envelope::{EnvelopeError, Refused};
use crate::framing::FramingError;
use crate::sasl::SaslError;
use crate::stanza::{Element, NS_STREAM_ERRORS};

#[allow(unused_imports)] // named in the docs
use super::{Client, Config, MAX_QUEUED, MAX_RENAMED, MAX_TRACKED};

/// What the driver must do next, or an event for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open the transport (TCP connect plus direct TLS, or the WebSocket
    /// upgrade), then call [`Client::handle_connected`].
    Connect,
    /// Run the TLS handshake on the TCP stream, then call
    /// [`Client::handle_tls_ready`].
    StartTls {
        /// The name to verify the certificate against.
        server_name: String,
    },
    /// Write these bytes to the TCP stream.
    Transmit(Vec<u8>),
    /// Send this WebSocket text message.
    SendFrame(String),
    /// Close the transport (after writing what came before).
    CloseTransport,
    /// Something happened.
    Event(Event),
    /// Nothing more to do until this instant ([`Client::handle_timeout`]),
    /// or until the next input when `None`.
    Timeout(Option<Instant>),
}

/// What happened, for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Logged in and bound.
    Online {
        /// Our full JID.
        jid: String,
    },
    /// The connection is lost; the next attempt starts at `retry_at`.
    Offline {
        /// Why.
        reason: ClientError,
        /// When the client will ask to connect again.
        retry_at: Instant,
    },
    /// The client stopped for good: [`Client::close`] or a terminal error.
    Closed {
        /// Why; `None` after [`Client::close`].
        reason: Option<ClientError>,
    },
    /// A proxy IQ for the service's `process_message`.
    Message(ProxyMessage),
    /// STUN/TURN servers from XEP-0215.
    IceServers(Vec<IceServer>),
    /// The room's self-presence arrived; given again when the room changes
    /// our nickname (XEP-0045 §7.6, status 303), with the new occupant JID
    /// (we stay in the room, IQs keep flowing).
    RoomJoined {
        /// Our occupant JID, with the nickname the room accepted (a
        /// suffixed one after a nickname `conflict`, or the one it gave us).
        occupant_jid: String,
    },
    /// Another occupant left the room. A synthesized `unavailable`
    /// [`Event::Message`] follows, from the JID the application knows the
    /// occupant by (the one it had before any [`Event::OccupantRenamed`]);
    /// none follows when the occupant leaving holds a nickname a renamed
    /// occupant left (its proxy session belongs to that one).
    OccupantLeft {
        /// The JID the application knows it by: its occupant JID, or the
        /// first one it had when it was renamed since.
        jid: String,
    },
    /// Another occupant changed its nickname (XEP-0045 §7.6, status 303):
    /// it has not left. Its IQs, coming from `to`, are handed over as
    /// [`Event::Message`]s from the JID it had first (the one the core's
    /// session is bound to), and proxy IQs sent to that JID go to `to`,
    /// until it leaves, the room is left or joined again, or the
    /// connection is lost. At most [`MAX_RENAMED`] renamed occupants are
    /// followed at once; beyond that a rename is handled as a leave.
    OccupantRenamed {
        /// Its occupant JID before this change.
        from: String,
        /// Its occupant JID now.
        to: String,
    },
    /// A proxy IQ sent with [`Client::send_proxy_iq`] failed.
    IqFailed {
        /// Its addressee.
        to: String,
        /// Why.
        reason: IqFailure,
    },
    /// A problem that does not end the connection.
    Error(ClientError),
}

/// Why a proxy IQ failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IqFailure {
    /// The addressee or a server answered with this error condition.
    Error(DefinedCondition),
    /// No answer within [`Config::iq_timeout`] (or still queued then).
    Timeout,
    /// The connection was lost before an answer came.
    ConnectionLost,
    /// [`MAX_QUEUED`] IQs wait already, or [`MAX_TRACKED`] await answers.
    TooMany,
    /// The client is closed.
    Closed,
    /// An answer (`result`/`error`) given while offline: answers do not
    /// wait for the next connection (the asker's own timeout covers it).
    Offline,
    /// The addressee is an occupant of the room, and the room removed us
    /// (see [`ClientError::RoomLeft`]): the IQ is not sent, and an IQ
    /// awaiting its answer will get none.
    NotInRoom,
    /// The IQ could not be put in its envelope when its turn came (the
    /// envelope made it larger than [`Limits::max_bytes`](proxy_core::Limits)).
    Refused(EnvelopeError),
    /// The addressee, an occupant of the room, left it before answering
    /// ([`Event::OccupantLeft`]): no answer will come.
    AddresseeLeft,
}

/// A stream error condition (RFC 6120 §4.9.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamCondition {
    /// `host-unknown`: the domain is not served here (terminal).
    HostUnknown,
    /// `see-other-host`: the server redirects (terminal, not followed).
    SeeOtherHost(String),
    /// `system-shutdown`.
    SystemShutdown,
    /// `conflict`: another session took over this resource.
    Conflict,
    /// `policy-violation`, e.g. a stanza above the server's size limit.
    PolicyViolation,
    /// Any other condition, as named (empty when there was none).
    Other(String),
}

impl std::fmt::Display for StreamCondition {
    /// The condition's wire name (`system-shutdown`, `see-other-host x`, or
    /// `(none)` when the server named none).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamCondition::HostUnknown => f.write_str("host-unknown"),
            StreamCondition::SeeOtherHost(to) => write!(f, "see-other-host {to}"),
            StreamCondition::SystemShutdown => f.write_str("system-shutdown"),
            StreamCondition::Conflict => f.write_str("conflict"),
            StreamCondition::PolicyViolation => f.write_str("policy-violation"),
            StreamCondition::Other(name) if name.is_empty() => f.write_str("(none)"),
            StreamCondition::Other(name) => f.write_str(name),
        }
    }
}

impl StreamCondition {
    pub(super) fn from_element(error: &Element) -> StreamCondition {
        let (name, _) = error.condition(NS_STREAM_ERRORS);
        match name.unwrap_or("") {
            "host-unknown" => StreamCondition::HostUnknown,
            "see-other-host" => {
                let to = error
                    .child("see-other-host", NS_STREAM_ERRORS)
                    .map(|e| e.text.trim().to_owned())
                    .unwrap_or_default();
                StreamCondition::SeeOtherHost(to)
            }
            "system-shutdown" => StreamCondition::SystemShutdown,
            "conflict" => StreamCondition::Conflict,
            "policy-violation" => StreamCondition::PolicyViolation,
            other => StreamCondition::Other(other.to_owned()),
        }
    }
}

/// Why the client is offline, closed, or reports a problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server's stream could not be read (size, depth, malformed XML).
    #[error("stream: {0}")]
    Framing(FramingError),
    /// A stanza could not be read.
    #[error("stanza: {0}")]
    Stanza(ParseError),
    /// Authentication failed.
    #[error("SASL: {0}")]
    Sasl(SaslError),
    /// The server ended the stream with `<stream:error>`.
    #[error("stream error {condition}{}", text.as_deref().map(|t| format!(" ({t})")).unwrap_or_default())]
    StreamError {
        /// The condition.
        condition: StreamCondition,
        /// The server's `<text>`, if any.
        text: Option<String>,
    },
    /// The server closed its stream (`</stream:stream>` or `<close/>`).
    #[error("the server closed the stream")]
    StreamClosed,
    /// A WebSocket `<close see-other-uri=…>` (terminal, not followed).
    #[error("the server redirects to {0}")]
    SeeOtherUri(String),
    /// The transport closed (EOF or an I/O error as the driver described it).
    #[error("transport closed{}", .0.as_deref().map(|t| format!(": {t}")).unwrap_or_default())]
    TransportClosed(Option<String>),
    /// TLS is required, and the server does not offer STARTTLS.
    #[error("the server does not offer STARTTLS, and TLS is required")]
    TlsNotOffered,
    /// Bytes arrived after `<proceed/>` and before TLS was up: injected in
    /// plain text (the STARTTLS command injection attack), never read.
    #[error("{0} bytes arrived in plain text after <proceed/>")]
    PlaintextAfterProceed(usize),
    /// The server refused STARTTLS (`<failure xmlns='…xmpp-tls'/>`).
    #[error("the server refused STARTTLS")]
    TlsRefused,
    /// The server refused resource binding with this condition
    /// ([`DefinedCondition::Conflict`] once
    /// [`MAX_BIND_TRIES`](super::MAX_BIND_TRIES) resources were tried;
    /// [`DefinedCondition::UndefinedCondition`] for an error without one).
    #[error("resource binding refused: {0}")]
    Bind(DefinedCondition),
    /// The server's features after authentication offer no resource
    /// binding.
    #[error("resource binding failed: the server does not offer it")]
    BindNotOffered,
    /// The server answered the bind request with a `result` without a JID.
    #[error("resource binding failed: the result carries no JID")]
    BindNoJid,
    /// The resource `refused` is in use (a bind `conflict`, or a `conflict`
    /// stream error: another session took it); `next` is bound instead,
    /// on this connection (bind) or the next ones (stream error). Not an
    /// end: the login goes on.
    #[error("resource {refused:?} is in use; trying {next:?}")]
    ResourceConflict {
        /// The resource the server refused.
        refused: String,
        /// The resource tried next.
        next: String,
    },
    /// The room refused the nickname `refused` (`conflict`, XEP-0045
    /// §7.2.9); the join is tried again with `next`. Not an end: the queue
    /// keeps waiting for the join.
    #[error("room {room}: nickname {refused:?} is in use; trying {next:?}")]
    NicknameConflict {
        /// The room's bare JID.
        room: String,
        /// The nickname refused.
        refused: String,
        /// The nickname tried next.
        next: String,
    },
    /// An IQ came from `jid`, an occupant JID that a renamed occupant had
    /// (see [`Event::OccupantRenamed`]) and another occupant holds now: it
    /// was answered `service-unavailable` and not handed over, because the
    /// proxy session of `jid` belongs to the renamed occupant, now `now`.
    #[error("IQ from {jid} refused: that nickname moved to {now}, whose session it is")]
    NicknameReused {
        /// The occupant JID the IQ came from.
        jid: String,
        /// The renamed occupant's JID now.
        now: String,
    },
    /// The server sent an element that does not fit the negotiation.
    #[error("unexpected <{0}> during stream negotiation")]
    Unexpected(String),
    /// Not logged in within [`Config::connect_timeout`].
    #[error("not logged in within the connect timeout")]
    ConnectTimeout,
    /// A ping to the server was not answered in time.
    #[error("the server did not answer a ping in time")]
    PingTimeout,
    /// XEP-0215 failed; the last good list of servers stays in use.
    #[error("XEP-0215: {0}")]
    Extdisco(ExtdiscoError),
    /// XEP-0215 went unanswered.
    #[error("XEP-0215: no answer in time")]
    ExtdiscoTimeout,
    /// An incoming proxy IQ could not be read (it was answered `bad-request`).
    #[error("incoming proxy IQ refused: {0}")]
    Envelope(Box<Refused>),
    /// The room refused us (`<presence type='error'>`).
    #[error("room {room} refused the join: {condition}")]
    Room {
        /// The room's bare JID.
        room: String,
        /// The error condition ([`DefinedCondition::Conflict`] for a
        /// nickname in use, once [`MAX_JOIN_TRIES`](super::MAX_JOIN_TRIES)
        /// nicknames were tried; [`DefinedCondition::NotAuthorized`] for a
        /// wrong password; [`DefinedCondition::UndefinedCondition`] for an
        /// error without one).
        condition: DefinedCondition,
    },
    /// The room removed us: our own `unavailable` presence, kicked (status
    /// 307), banned (301), removed on an affiliation change (321) or for a
    /// members-only room (322), the service shutting down (332), or the
    /// room destroyed. The room is not joined again until
    /// [`Client::join_room`] or the next connection; meanwhile a proxy IQ
    /// to one of its occupants fails with
    /// [`IqFailure::NotInRoom`](super::IqFailure::NotInRoom).
    #[error(
        "removed from room {room}{}{}{}",
        if codes.is_empty() { String::new() } else { format!(" (status {codes:?})") },
        if *destroyed { " (destroyed)" } else { "" },
        reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
    )]
    RoomLeft {
        /// The room's bare JID.
        room: String,
        /// The MUC status codes of the presence (307 kicked, 301 banned, …).
        codes: Vec<u16>,
        /// Whether the room was destroyed (`<destroy/>`).
        destroyed: bool,
        /// The reason given, if any.
        reason: Option<String>,
    },
}

impl ClientError {
    /// Whether reconnecting cannot help.
    pub fn is_terminal(&self) -> bool {
        match self {
            ClientError::Sasl(e) => !e.is_temporary(),
            ClientError::StreamError { condition, .. } => matches!(
                condition,
                StreamCondition::HostUnknown | StreamCondition::SeeOtherHost(_)
            ),
            ClientError::SeeOtherUri(_) | ClientError::TlsNotOffered => true,
            _ => false,
        }
    }
}
