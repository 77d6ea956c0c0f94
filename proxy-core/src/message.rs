//! The `<iq>` envelope and the message shape exchanged with the signaling channel.

use std::borrow::Cow;

use crate::jingle::Jingle;

/// `jabber:client`, the namespace of the `<iq>` envelope.
pub const NS_CLIENT: &str = "jabber:client";
/// `urn:ietf:params:xml:ns:xmpp-stanzas`, the namespace of stanza error conditions.
pub const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";

/// A signaling message as the application hands it to the service:
/// lib-jitsi-meet's `processMessage({ from, data: { iq } })`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyMessage {
    /// The full JID of the sender.
    pub from: String,
    /// The stringified `<iq>` stanza.
    pub iq: String,
}

/// A signaling message the service hands to the application to deliver: the
/// stringified `<iq>` for `to` (lib-jitsi-meet's `onSendMessage(to, { iq })`).
/// The outgoing counterpart of [`ProxyMessage`], the same in every layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingIq {
    /// The full JID of the addressee.
    pub to: String,
    /// The stringified `<iq>` stanza.
    pub iq: String,
}

/// `iq@type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IqType {
    /// `get`
    Get,
    /// `set`
    Set,
    /// `result`
    Result,
    /// `error`
    Error,
}

impl IqType {
    /// The attribute value as written on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            IqType::Get => "get",
            IqType::Set => "set",
            IqType::Result => "result",
            IqType::Error => "error",
        }
    }

    /// Parses a wire value.
    pub fn from_wire(s: &str) -> Option<IqType> {
        [IqType::Get, IqType::Set, IqType::Result, IqType::Error]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// An `<error>` child of an `<iq type='error'>` (RFC 6120 §8.3, XEP-0166 §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaError<'a> {
    /// `type`: `cancel`, `modify`, `auth`, `wait`, `continue`.
    pub kind: Cow<'a, str>,
    /// The defined condition, e.g. `item-not-found`, `bad-request`, `conflict`.
    pub condition: Cow<'a, str>,
    /// The Jingle<'a>-specific condition, e.g. `unknown-session`, `out-of-order`, `tie-break`.
    pub jingle_condition: Option<Cow<'a, str>>,
    /// Optional `<text>`.
    pub text: Option<Cow<'a, str>>,
}

/// The `<iq>` envelope with its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iq<'a> {
    /// `type`.
    pub kind: IqType,
    /// `id`; lib-jitsi-meet sends none.
    pub id: Option<Cow<'a, str>>,
    /// `to`.
    pub to: Option<Cow<'a, str>>,
    /// `from`; lib-jitsi-meet sends none (the channel knows it).
    pub from: Option<Cow<'a, str>>,
    /// The `<jingle>` payload (for `set`).
    pub jingle: Option<Jingle<'a>>,
    /// The `<error>` (for `type='error'`).
    pub error: Option<StanzaError<'a>>,
}

impl<'a> Iq<'a> {
    /// An `<iq type='set'>` carrying `jingle`, addressed to `to`.
    pub fn set(to: impl Into<Cow<'a, str>>, jingle: Jingle<'a>) -> Iq<'a> {
        Iq {
            kind: IqType::Set,
            id: None,
            to: Some(to.into()),
            from: None,
            jingle: Some(jingle),
            error: None,
        }
    }

    /// An empty `<iq type='result'>` acknowledging the IQ with `id`.
    pub fn result(to: impl Into<Cow<'a, str>>, id: impl Into<Cow<'a, str>>) -> Iq<'a> {
        Iq {
            kind: IqType::Result,
            id: Some(id.into()),
            to: Some(to.into()),
            from: None,
            jingle: None,
            error: None,
        }
    }

    /// An `<iq type='error'>` answering the IQ with `id`.
    pub fn error(
        to: impl Into<Cow<'a, str>>,
        id: impl Into<Cow<'a, str>>,
        error: StanzaError<'a>,
    ) -> Iq<'a> {
        Iq {
            kind: IqType::Error,
            id: Some(id.into()),
            to: Some(to.into()),
            from: None,
            jingle: None,
            error: Some(error),
        }
    }
}

use crate::jingle::owned;

impl StanzaError<'_> {
    /// This error with nothing borrowed.
    pub fn into_owned(self) -> StanzaError<'static> {
        StanzaError {
            kind: owned(self.kind),
            condition: owned(self.condition),
            jingle_condition: self.jingle_condition.map(owned),
            text: self.text.map(owned),
        }
    }
}

impl Iq<'_> {
    /// This `<iq>` with nothing borrowed from the input it was parsed from, to
    /// keep beyond it.
    pub fn into_owned(self) -> Iq<'static> {
        Iq {
            kind: self.kind,
            id: self.id.map(owned),
            to: self.to.map(owned),
            from: self.from.map(owned),
            jingle: self.jingle.map(Jingle::into_owned),
            error: self.error.map(StanzaError::into_owned),
        }
    }
}
