//! The `<iq>` envelope (RFC 6120 §8) with its stanza error, its parse and its
//! write, and the message shape exchanged with the signaling channel.

use crate::error::{excerpt, ParseError};
use crate::jingle::reason::condition_name;
use crate::jingle::{self, Jingle, JingleCondition, NS_JINGLE, NS_JINGLE_ERRORS};
use crate::xml::{is_element_name, required, wire_enum, Elem, Limits, Reader, Writer};

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

wire_enum! {
    /// `iq@type`.
    pub enum IqType {
        Get = "get",
        Set = "set",
        Result = "result",
        Error = "error",
    }
}

wire_enum! {
    /// `error@type` (RFC 6120 §8.3.2).
    pub enum ErrorType {
        /// Retry after providing credentials.
        Auth = "auth",
        /// Do not retry.
        Cancel = "cancel",
        /// A warning only.
        Continue = "continue",
        /// Retry after changing the data sent.
        Modify = "modify",
        /// Retry after waiting.
        Wait = "wait",
    } else {
        /// Any other value, as written.
        Other(String)
    }
}

wire_enum! {
    /// A defined stanza error condition (RFC 6120 §8.3.3).
    pub enum DefinedCondition {
        BadRequest = "bad-request",
        Conflict = "conflict",
        FeatureNotImplemented = "feature-not-implemented",
        Forbidden = "forbidden",
        Gone = "gone",
        InternalServerError = "internal-server-error",
        ItemNotFound = "item-not-found",
        JidMalformed = "jid-malformed",
        NotAcceptable = "not-acceptable",
        NotAllowed = "not-allowed",
        NotAuthorized = "not-authorized",
        PolicyViolation = "policy-violation",
        RecipientUnavailable = "recipient-unavailable",
        Redirect = "redirect",
        RegistrationRequired = "registration-required",
        RemoteServerNotFound = "remote-server-not-found",
        RemoteServerTimeout = "remote-server-timeout",
        ResourceConstraint = "resource-constraint",
        ServiceUnavailable = "service-unavailable",
        SubscriptionRequired = "subscription-required",
        UndefinedCondition = "undefined-condition",
        UnexpectedRequest = "unexpected-request",
    } else {
        /// Any other element name, as written.
        Other(String)
    }
}

/// An `<error>` child of an `<iq type='error'>` (RFC 6120 §8.3, XEP-0166 §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StanzaError {
    /// `type`.
    pub kind: ErrorType,
    /// The defined condition.
    pub condition: DefinedCondition,
    /// The Jingle-specific condition, if any.
    pub jingle_condition: Option<JingleCondition>,
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
    fn new(kind: IqType, to: Option<String>, id: Option<String>) -> Iq {
        let (from, jingle, error) = (None, None, None);
        Iq {
            kind,
            id,
            to,
            from,
            jingle,
            error,
        }
    }

    /// An `<iq type='set'>` carrying `jingle`, addressed to `to`.
    pub fn set(to: impl Into<String>, jingle: Jingle) -> Iq {
        let jingle = Some(jingle);
        Iq {
            jingle,
            ..Iq::new(IqType::Set, Some(to.into()), None)
        }
    }

    /// An empty `<iq type='result'>` acknowledging the IQ with `id`.
    pub fn result(to: impl Into<String>, id: impl Into<String>) -> Iq {
        Iq::new(IqType::Result, Some(to.into()), Some(id.into()))
    }

    /// An `<iq type='error'>` answering the IQ with `id`.
    pub fn error(to: impl Into<String>, id: impl Into<String>, error: StanzaError) -> Iq {
        let error = Some(error);
        Iq {
            error,
            ..Iq::new(IqType::Error, Some(to.into()), Some(id.into()))
        }
    }

    /// `<iq>`.
    fn parse(rd: &mut Reader<'_>, e: Elem<'_>, limits: &Limits) -> Result<Iq, ParseError> {
        if e.local() != "iq" {
            let found = excerpt(e.local());
            return Err(ParseError::UnexpectedElement {
                found,
                expected: "<iq>",
            });
        }
        e.expect_ns(NS_CLIENT)?;
        let (mut kind, mut id, mut to, mut from) = (None, None, None, None);
        e.attrs(|k, v| {
            match k {
                "type" => {
                    kind = Some(
                        IqType::from_wire(&v)
                            .ok_or_else(|| ParseError::invalid("iq", "type", &v))?,
                    )
                }
                "id" => id = Some(v.into_owned()),
                "to" => to = Some(v.into_owned()),
                "from" => from = Some(v.into_owned()),
                _ => {}
            }
            Ok(())
        })?;
        let kind = required(kind, "iq", "type")?;
        let mut iq = Iq {
            from,
            ..Iq::new(kind, to, id)
        };
        while let Some(c) = rd.child(&e)? {
            match c.local() {
                "jingle" if iq.jingle.is_none() => {
                    c.expect_ns(NS_JINGLE)?;
                    iq.jingle = Some(Jingle::parse(rd, c, limits)?);
                }
                "error" if iq.error.is_none() => {
                    c.expect_ns(NS_CLIENT)?;
                    iq.error = Some(StanzaError::parse(rd, c)?);
                }
                _ => rd.skip(c)?,
            }
        }
        Ok(iq)
    }
}

impl StanzaError {
    /// An error with a type and a defined condition only.
    pub fn new(kind: ErrorType, condition: DefinedCondition) -> StanzaError {
        let (jingle_condition, text) = (None, None);
        StanzaError {
            kind,
            condition,
            jingle_condition,
            text,
        }
    }

    /// `<error type=…>` (RFC 6120 §8.3); an `<error>` without a `<iq>` is read
    /// too, as XEP-0215 answers carry one.
    pub(crate) fn parse(rd: &mut Reader<'_>, e: Elem<'_>) -> Result<StanzaError, ParseError> {
        let kind = ErrorType::from_wire(&required(e.attr("type")?, "error", "type")?);
        let (mut condition, mut jingle_condition, mut text) = (None, None, None);
        while let Some(c) = rd.child(&e)? {
            let stanzas = c.ns == NS_STANZAS;
            if stanzas && c.local() == "text" && text.is_none() {
                text = Some(rd.text(c)?);
                continue;
            } else if stanzas && c.local() != "text" && condition.is_none() {
                let name = condition_name(&c, "a condition in <error>")?;
                condition = Some(DefinedCondition::from_wire(name));
            } else if c.ns == NS_JINGLE_ERRORS && jingle_condition.is_none() {
                let name = condition_name(&c, "a Jingle error condition")?;
                jingle_condition = Some(JingleCondition::from_wire(name));
            }
            rd.skip(c)?;
        }
        let condition = condition.ok_or(ParseError::UnexpectedElement {
            found: "</error>".into(),
            expected: "a defined condition in <error>",
        })?;
        Ok(StanzaError {
            kind,
            condition,
            jingle_condition,
            text,
        })
    }

    /// A condition that is not an element name is written as
    /// `undefined-condition` (a Jingle one not at all), so the output stays XML.
    fn write(&self, w: &mut Writer<'_>) {
        w.open("error").attr("type", self.kind.as_str()).0.push('>');
        let condition = Some(self.condition.as_str()).filter(|c| is_element_name(c));
        w.open(condition.unwrap_or("undefined-condition"))
            .attr("xmlns", NS_STANZAS)
            .empty();
        if let Some(text) = &self.text {
            w.open("text").attr("xmlns", NS_STANZAS).text("text", text);
        }
        let jingle = self.jingle_condition.as_ref().map(JingleCondition::as_str);
        if let Some(condition) = jingle.filter(|c| is_element_name(c)) {
            w.open(condition).attr("xmlns", NS_JINGLE_ERRORS).empty();
        }
        w.close("error");
    }
}

/// The namespaces a reader of `<iq>` keeps without copying.
const NAMESPACES: [&str; 11] = {
    let j = jingle::NAMESPACES;
    [
        NS_CLIENT, NS_STANZAS, j[0], j[1], j[2], j[3], j[4], j[5], j[6], j[7], j[8],
    ]
};

/// Parses one stringified `<iq>` under `limits`.
pub fn parse_iq(input: &str, limits: &Limits) -> Result<Iq, ParseError> {
    let mut rd = Reader::new(input, limits, &NAMESPACES)?;
    let root = rd.root()?;
    let iq = Iq::parse(&mut rd, root, limits)?;
    rd.end()?;
    Ok(iq)
}

/// Parses one `<iq>` from bytes, rejecting invalid UTF-8 first.
pub fn parse_iq_bytes(input: &[u8], limits: &Limits) -> Result<Iq, ParseError> {
    if input.len() > limits.max_bytes {
        let (len, limit) = (input.len(), limits.max_bytes);
        return Err(ParseError::TooLarge { len, limit });
    }
    match std::str::from_utf8(input) {
        Ok(s) => parse_iq(s, limits),
        Err(e) => Err(ParseError::Xml {
            at: e.valid_up_to() as u64,
            reason: "invalid UTF-8".into(),
        }),
    }
}

/// Writes `iq` as lib-jitsi-meet does.
pub fn write_iq(iq: &Iq) -> String {
    // A capacity that avoids regrowing for typical messages.
    let contents = iq.jingle.as_ref().map_or(0, |j| j.contents.len());
    let mut out = String::with_capacity(512 + contents * 4096);
    write_iq_into(iq, &mut out);
    out
}

/// Appends `iq` to `out`.
pub fn write_iq_into(iq: &Iq, out: &mut String) {
    let w = &mut Writer(out);
    w.open("iq")
        .opt("to", iq.to.as_deref())
        .opt("from", iq.from.as_deref())
        .opt("id", iq.id.as_deref())
        .attr("type", iq.kind.as_str())
        .attr("xmlns", NS_CLIENT)
        .children("iq", |w| {
            if let Some(jingle) = &iq.jingle {
                jingle.write(w);
            }
            if let Some(error) = &iq.error {
                error.write(w);
            }
        });
}
