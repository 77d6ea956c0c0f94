//! The `<iq>` envelope and the message shape exchanged with the signaling channel.

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
pub struct StanzaError {
    /// `type`: `cancel`, `modify`, `auth`, `wait`, `continue`.
    pub kind: String,
    /// The defined condition, e.g. `item-not-found`, `bad-request`, `conflict`.
    pub condition: String,
    /// The Jingle-specific condition, e.g. `unknown-session`, `out-of-order`, `tie-break`.
    pub jingle_condition: Option<String>,
    /// Optional `<text>`.
    pub text: Option<String>,
}

/// The `<iq>` envelope with its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iq {
    /// `type`.
    pub kind: IqType,
    /// `id`; lib-jitsi-meet sends none.
    pub id: Option<String>,
    /// `to`.
    pub to: Option<String>,
    /// `from`; lib-jitsi-meet sends none (the channel knows it).
    pub from: Option<String>,
    /// The `<jingle>` payload (for `set`).
    pub jingle: Option<Jingle>,
    /// The `<error>` (for `type='error'`).
    pub error: Option<StanzaError>,
}

impl Iq {
    /// An `<iq type='set'>` carrying `jingle`, addressed to `to`.
    pub fn set(to: impl Into<String>, jingle: Jingle) -> Iq {
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
    pub fn result(to: impl Into<String>, id: impl Into<String>) -> Iq {
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
    pub fn error(to: impl Into<String>, id: impl Into<String>, error: StanzaError) -> Iq {
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
