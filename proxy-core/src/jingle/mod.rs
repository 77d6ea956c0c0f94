//! The Jingle wire model (XEP-0166 and the application/transport XEPs it carries),
//! in lib-jitsi-meet's dialect.
//!
//! One module per XEP holds the model; [`parse`] and [`mod@write`] turn it to and
//! from XML. The model keeps everything the dialect carries so that writing a
//! parsed message and parsing it again gives an equal value.
//!
//! Text is `Cow<'a, str>`: a parsed message borrows its values from the input
//! (only a value with an escape or a character reference is copied), so parsing
//! allocates little beyond the model's `Vec`s. `into_owned()` on any type gives
//! a `'static` copy to keep beyond the input; values built in code are usually
//! owned (`"x".to_owned().into()`) or static (`"x".into()`).

use std::borrow::Cow;

pub mod dtls;
pub mod grouping;
pub mod ice_udp;
pub mod parse;
pub mod rtp;
pub mod write;

pub use dtls::{Fingerprint, Setup};
pub use grouping::Group;
pub use ice_udp::{Candidate, CandidateType, IceUdpTransport};
pub use rtp::{Parameter, PayloadType, RtcpFb, RtpDescription, RtpHdrext, Source, SsrcGroup};

/// `urn:xmpp:jingle:1` (XEP-0166).
pub const NS_JINGLE: &str = "urn:xmpp:jingle:1";
/// `urn:xmpp:jingle:errors:1` (XEP-0166 error conditions).
pub const NS_JINGLE_ERRORS: &str = "urn:xmpp:jingle:errors:1";

/// A Jingle action: every one of XEP-0166 (§7.2), Jitsi's extensions, and
/// [`Action::Other`] for any other value, kept so that it can be answered.
///
/// A proxy connection acts on session-initiate, session-accept,
/// session-terminate, transport-info and the Jitsi actions; the service
/// answers the other XEP-0166 actions as unsupported and an
/// [`Action::Other`] as a bad request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Action {
    /// `session-initiate`: the offer.
    SessionInitiate,
    /// `session-accept`: the answer.
    SessionAccept,
    /// `session-terminate`: the end of the session, with a reason.
    SessionTerminate,
    /// `session-info`: a ping when empty, otherwise session-level information
    /// (e.g. XEP-0167's ringing).
    SessionInfo,
    /// `transport-info`: trickled ICE candidates.
    TransportInfo,
    /// `transport-replace`: a new transport method for a content.
    TransportReplace,
    /// `transport-accept`: accepts a transport-replace.
    TransportAccept,
    /// `transport-reject`: rejects a transport-replace.
    TransportReject,
    /// `content-add`: new contents for the session.
    ContentAdd,
    /// `content-accept`: accepts a content-add.
    ContentAccept,
    /// `content-reject`: rejects a content-add.
    ContentReject,
    /// `content-remove`: removes contents from the session.
    ContentRemove,
    /// `content-modify`: sent by lib-jitsi-meet after applying an answer; ignored.
    ContentModify,
    /// `description-info`: informational hints about an application (e.g. a
    /// video size).
    DescriptionInfo,
    /// `security-info`: information about security preconditions.
    SecurityInfo,
    /// `source-add` (Jitsi): new `<source>`s; answered, otherwise ignored.
    SourceAdd,
    /// `source-remove` (Jitsi): removed `<source>`s; answered, otherwise ignored.
    SourceRemove,
    /// `connection-error-encountered` (Jitsi proxy): the peer gave up or rejected us.
    ConnectionErrorEncountered,
    /// `unavailable` (Jitsi proxy): the peer cannot take a connection.
    Unavailable,
    /// Any other value, as it was written (XEP-0166 §7.2: answered with
    /// `bad-request`).
    Other(String),
}

impl Action {
    /// Every known action (all but [`Action::Other`]), in declaration order.
    pub const ALL: [Action; 19] = [
        Action::SessionInitiate,
        Action::SessionAccept,
        Action::SessionTerminate,
        Action::SessionInfo,
        Action::TransportInfo,
        Action::TransportReplace,
        Action::TransportAccept,
        Action::TransportReject,
        Action::ContentAdd,
        Action::ContentAccept,
        Action::ContentReject,
        Action::ContentRemove,
        Action::ContentModify,
        Action::DescriptionInfo,
        Action::SecurityInfo,
        Action::SourceAdd,
        Action::SourceRemove,
        Action::ConnectionErrorEncountered,
        Action::Unavailable,
    ];

    /// The attribute value as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Action::SessionInitiate => "session-initiate",
            Action::SessionAccept => "session-accept",
            Action::SessionTerminate => "session-terminate",
            Action::SessionInfo => "session-info",
            Action::TransportInfo => "transport-info",
            Action::TransportReplace => "transport-replace",
            Action::TransportAccept => "transport-accept",
            Action::TransportReject => "transport-reject",
            Action::ContentAdd => "content-add",
            Action::ContentAccept => "content-accept",
            Action::ContentReject => "content-reject",
            Action::ContentRemove => "content-remove",
            Action::ContentModify => "content-modify",
            Action::DescriptionInfo => "description-info",
            Action::SecurityInfo => "security-info",
            Action::SourceAdd => "source-add",
            Action::SourceRemove => "source-remove",
            Action::ConnectionErrorEncountered => "connection-error-encountered",
            Action::Unavailable => "unavailable",
            Action::Other(s) => s,
        }
    }

    /// Parses a wire value: a known action, or [`Action::Other`] holding it.
    pub fn from_wire(s: &str) -> Action {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .unwrap_or_else(|| Action::Other(s.to_owned()))
    }

    /// Whether this is one of the known actions (not [`Action::Other`]).
    pub fn is_known(&self) -> bool {
        !matches!(self, Action::Other(_))
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `content@creator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Creator {
    /// `initiator`
    Initiator,
    /// `responder`
    Responder,
}

impl Creator {
    /// The attribute value as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Creator::Initiator => "initiator",
            Creator::Responder => "responder",
        }
    }
}

/// `content@senders`, plus lib-jitsi-meet's `rejected` for a port-0 m-line.
///
/// lib-jitsi-meet writes it from the writer's own SDP direction: `sendrecv` is
/// `both`, `sendonly` is `initiator`, `recvonly` is `responder`, `inactive` is
/// `none`, whichever role the writer has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Senders {
    /// `both` (`a=sendrecv`)
    Both,
    /// `initiator` (`a=sendonly` as lib-jitsi-meet writes it)
    Initiator,
    /// `responder` (`a=recvonly` as lib-jitsi-meet writes it)
    Responder,
    /// `none` (`a=inactive`)
    None,
    /// `rejected` (an m-line with port 0)
    Rejected,
}

impl Senders {
    /// The attribute value as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Senders::Both => "both",
            Senders::Initiator => "initiator",
            Senders::Responder => "responder",
            Senders::None => "none",
            Senders::Rejected => "rejected",
        }
    }

    /// Parses a wire value.
    pub fn from_wire(s: &str) -> Option<Senders> {
        [
            Senders::Both,
            Senders::Initiator,
            Senders::Responder,
            Senders::None,
            Senders::Rejected,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// `<content>`: one media section, named by its SDP mid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Content<'a> {
    /// `name`: the SDP mid.
    pub name: Cow<'a, str>,
    /// `creator`; lib-jitsi-meet's own `content-modify` omits it.
    pub creator: Option<Creator>,
    /// `senders`; absent in transport-info.
    pub senders: Option<Senders>,
    /// The RTP application (XEP-0167), if present.
    pub description: Option<RtpDescription<'a>>,
    /// The ICE-UDP transport (XEP-0176), if present.
    pub transport: Option<IceUdpTransport<'a>>,
}

/// A `<reason>` of a session-terminate (XEP-0166 §7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason<'a> {
    /// The condition element's local name, e.g. `success`, `decline`, `failed-transport`.
    pub condition: Cow<'a, str>,
    /// Optional `<text>`.
    pub text: Option<Cow<'a, str>>,
}

impl<'a> Reason<'a> {
    /// A reason with only a condition.
    pub fn new(condition: impl Into<Cow<'a, str>>) -> Reason<'a> {
        Reason {
            condition: condition.into(),
            text: None,
        }
    }
}

/// A child of `<jingle>` the model does not otherwise hold, e.g. the payload
/// of a session-info (`<ringing xmlns='urn:xmpp:jingle:apps:rtp:1:info'/>`):
/// its name and namespace only, attributes and children are not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload<'a> {
    /// The element's local name.
    pub name: Cow<'a, str>,
    /// The element's namespace URI; empty if it had none, or if it could not be
    /// kept as it was written (64 bytes or longer, or with a character the
    /// writer would escape).
    pub ns: Cow<'a, str>,
}

/// The `<jingle>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jingle<'a> {
    /// `action`.
    pub action: Action,
    /// `sid`; lib-jitsi-meet sends none.
    pub sid: Option<Cow<'a, str>>,
    /// `initiator`; lib-jitsi-meet puts it on session-accept and transport-info only.
    pub initiator: Option<Cow<'a, str>>,
    /// `responder`.
    pub responder: Option<Cow<'a, str>>,
    /// `<group semantics='BUNDLE'>` (XEP-0338).
    pub groups: Vec<Group<'a>>,
    /// The contents, in document order.
    pub contents: Vec<Content<'a>>,
    /// `<reason>` of a session-terminate.
    pub reason: Option<Reason<'a>>,
    /// `<details>` text of connection-error-encountered (Jitsi proxy).
    pub details: Option<Cow<'a, str>>,
    /// The first other child element, if any (see [`Payload`]); written last.
    pub payload: Option<Payload<'a>>,
}

impl<'a> Jingle<'a> {
    /// An empty `<jingle>` with this action.
    pub fn new(action: Action) -> Jingle<'a> {
        Jingle {
            action,
            sid: None,
            initiator: None,
            responder: None,
            groups: Vec::new(),
            contents: Vec::new(),
            reason: None,
            details: None,
            payload: None,
        }
    }
}

/// `c` with nothing borrowed.
pub(crate) fn owned(c: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(c.into_owned())
}

impl Content<'_> {
    /// This content with nothing borrowed from the input it was parsed from.
    pub fn into_owned(self) -> Content<'static> {
        Content {
            name: owned(self.name),
            creator: self.creator,
            senders: self.senders,
            description: self.description.map(RtpDescription::into_owned),
            transport: self.transport.map(IceUdpTransport::into_owned),
        }
    }
}

impl Reason<'_> {
    /// This reason with nothing borrowed.
    pub fn into_owned(self) -> Reason<'static> {
        Reason {
            condition: owned(self.condition),
            text: self.text.map(owned),
        }
    }
}

impl Payload<'_> {
    /// This payload with nothing borrowed.
    pub fn into_owned(self) -> Payload<'static> {
        Payload {
            name: owned(self.name),
            ns: owned(self.ns),
        }
    }
}

impl Jingle<'_> {
    /// This `<jingle>` with nothing borrowed from the input it was parsed from,
    /// to keep beyond it.
    pub fn into_owned(self) -> Jingle<'static> {
        Jingle {
            action: self.action,
            sid: self.sid.map(owned),
            initiator: self.initiator.map(owned),
            responder: self.responder.map(owned),
            groups: self.groups.into_iter().map(Group::into_owned).collect(),
            contents: self.contents.into_iter().map(Content::into_owned).collect(),
            reason: self.reason.map(Reason::into_owned),
            details: self.details.map(owned),
            payload: self.payload.map(Payload::into_owned),
        }
    }
}
