//! The three forms a proxy IQ travels in over XMPP, behind one type.
//!
//! lib-jitsi-meet's `ProxyConnectionService` hands the application a
//! stringified `<iq type='set'>` (`onSendMessage(to, { iq })`) and takes one
//! back (`processMessage({ from, data: { iq } })`); how the string crosses the
//! XMPP server is the application's choice. Three forms are in use:
//!
//! | [`Envelope`] | the stanza on the wire | who answers it |
//! | --- | --- | --- |
//! | [`Envelope::Direct`] | the `<iq>` itself, with an `id` stamped when it has none (Prosody refuses an IQ without one) and `to` set | the core: it acks every IQ that carries an id |
//! | [`Envelope::JitsiProxy`] | `<iq type='set'><proxy xmlns='jitsi:proxy'><data>`*the IQ as text*`</data></proxy></iq>` | the XMPP layer: [`Unwrapped::result`] |
//! | [`Envelope::Spot`] | `<iq type='set'><message xmlns='jitsi-meet-spot-message' type=…>{"iq":"…"}</message></iq>` (Jitsi Spot's JSON body) | the XMPP layer: [`Unwrapped::result`] |
//!
//! [`Envelope::wrap`] writes the form chosen for sending; [`Envelope::unwrap`]
//! recognizes any of the three whatever we send, so a peer may use another
//! form than ours. The carried IQ is checked with [`proxy_core::parse_iq`]
//! both ways: what we wrap, the peer can read, and what we unwrap, the core
//! can read; anything else is an [`EnvelopeError`], never a panic.
//!
//! Answers echo the outer `id` exactly as received: a MUC rewrites the id on
//! the way to an occupant and maps it back only for an answer that carries
//! the rewritten one. [`Refused::answer`] and [`Unwrapped::result`] build them
//! with [`answer_result`] and [`answer_error`].
//!
//! One signal from the laptop to the room device and its answer, with no
//! server in between but the `from` it would add:
//!
//! ```
//! use proxy_core::Limits;
//! use proxy_xmpp::envelope::{Envelope, SpotMessageType};
//!
//! let limits = Limits::default();
//! // What lib-jitsi-meet hands to onSendMessage: no id, no from.
//! let iq = "<iq to='tv@example.com/r' type='set' xmlns='jabber:client'><jingle \
//!           action='connection-error-encountered' xmlns='urn:xmpp:jingle:1'>\
//!           <details>rejected</details></jingle></iq>";
//! let spot = Envelope::Spot { message_type: SpotMessageType::FromRemoteControl };
//! let stanza = spot.wrap("tv@example.com/r", "s1", iq, &limits)?;
//!
//! // The server delivers it with the sender's full JID.
//! let delivered = stanza.replacen("<iq ", "<iq from='laptop@example.com/l' ", 1);
//! let got = Envelope::unwrap(&delivered, &limits).expect("a proxy IQ").expect("readable");
//! assert_eq!(got.envelope, spot);
//! assert_eq!(got.iq, iq);
//! let message = got.message().expect("it has a from"); // for the core's handle_message
//! assert_eq!(message.from, "laptop@example.com/l");
//! // A wrapped form is acked by the XMPP layer, with the id as received.
//! let ack = got.result().expect("wrapped forms are answered here");
//! assert!(ack.contains("id=\"s1\"") && ack.contains("type=\"result\""));
//!
//! // A presence, a ping or a roster push is not a proxy IQ.
//! let ping = "<iq xmlns='jabber:client' type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>";
//! assert!(Envelope::unwrap(ping, &limits).is_none());
//! # Ok::<(), proxy_xmpp::envelope::EnvelopeError>(())
//! ```
//!
//! The outer stanza is read with the core's bounded reader
//! ([`proxy_core::xml::Reader`]) under the same [`Limits`] and rules as the
//! carried IQ (size first, depth, characters XML cannot carry, no DOCTYPE or
//! processing instruction, only predefined and character references), and
//! written with its [`Writer`].

use std::borrow::Cow;

use proxy_core::jingle::NS_JINGLE;
use proxy_core::xml::{Elem, Reader, Writer};
use proxy_core::{
    parse_iq, write_iq, DefinedCondition, ErrorType, Iq, Limits, ParseError, ProxyMessage,
    StanzaError, NS_CLIENT,
};
use quick_xml::events::Event;
use quick_xml::XmlVersion;

/// `jitsi:proxy`, the namespace of the reference document's `<proxy>` element.
pub const NS_JITSI_PROXY: &str = "jitsi:proxy";
/// `jitsi-meet-spot-message`, the namespace of Jitsi Spot's `<message>` element.
pub const NS_SPOT_MESSAGE: &str = "jitsi-meet-spot-message";

/// The form a proxy IQ travels in (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Envelope {
    /// The `<iq>` itself (lib-jitsi-meet's `onSendMessage` sending
    /// `message.iq` on its XMPP connection).
    Direct,
    /// `<proxy xmlns='jitsi:proxy'><data>…</data></proxy>` inside an
    /// `<iq type='set'>` (the reference document).
    JitsiProxy,
    /// Jitsi Spot's `<message xmlns='jitsi-meet-spot-message'>` with the JSON
    /// body `{"iq": "…"}` inside an `<iq type='set'>`.
    Spot {
        /// The `<message>`'s `type`.
        message_type: SpotMessageType,
    },
}

/// `message@type` of Jitsi Spot's `<message xmlns='jitsi-meet-spot-message'>`:
/// which side of Spot sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpotMessageType {
    /// `update-message-from-remote-control`: from a Spot remote (the laptop).
    FromRemoteControl,
    /// `update-message-from-jitsi-meet`: from the meeting (the room device).
    FromJitsiMeet,
    /// Any other value, as written.
    Other(String),
}

impl SpotMessageType {
    /// The value as written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            SpotMessageType::FromRemoteControl => "update-message-from-remote-control",
            SpotMessageType::FromJitsiMeet => "update-message-from-jitsi-meet",
            SpotMessageType::Other(s) => s,
        }
    }

    /// The value read from the wire.
    pub fn from_wire(s: &str) -> SpotMessageType {
        match s {
            "update-message-from-remote-control" => SpotMessageType::FromRemoteControl,
            "update-message-from-jitsi-meet" => SpotMessageType::FromJitsiMeet,
            other => SpotMessageType::Other(other.to_owned()),
        }
    }
}

/// The outer `<iq>`'s addressing: what an answer to it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outer {
    /// `from` (absent: from the server or our own account).
    pub from: Option<String>,
    /// `id`, exactly as received.
    pub id: Option<String>,
}

/// A proxy IQ taken out of its envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped {
    /// The form it came in.
    pub envelope: Envelope,
    /// The outer `<iq>`.
    pub outer: Outer,
    /// The stringified IQ for the core (the whole stanza in the Direct form).
    pub iq: String,
}

impl Unwrapped {
    /// Whether the XMPP layer must answer the outer IQ with `result` itself:
    /// true for the wrapped forms. A Direct IQ is the core's own, and the
    /// core acks it.
    pub fn needs_result(&self) -> bool {
        !matches!(self.envelope, Envelope::Direct)
    }

    /// The `result` the XMPP layer sends for a wrapped form; `None` for the
    /// Direct form, or when the outer IQ has no `from` or `id` to answer.
    pub fn result(&self) -> Option<String> {
        let (Some(from), Some(id)) = (&self.outer.from, &self.outer.id) else {
            return None;
        };
        self.needs_result().then(|| answer_result(from, id))
    }

    /// The message for the core's `handle_message`; `None` without a `from`
    /// (the core tells peers apart by their full JID).
    pub fn message(&self) -> Option<ProxyMessage> {
        let from = self.outer.from.clone()?;
        let iq = self.iq.clone();
        Some(ProxyMessage { from, iq })
    }
}

/// What was wrong with a proxy IQ or its envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The stanza is not well-formed XML, breaks a [`Limits`] bound or holds
    /// something forbidden (the outgoing stanza when wrapping).
    #[error("stanza: {0}")]
    Stanza(ParseError),
    /// The carried IQ (the stanza itself in the Direct form) is not one the
    /// core can read; this includes an IQ larger than [`Limits::max_bytes`].
    #[error("the carried IQ: {0}")]
    Iq(ParseError),
    /// A `<proxy xmlns='jitsi:proxy'>` without a `<data>` child.
    #[error("<proxy xmlns='jitsi:proxy'> holds no <data>")]
    NoData,
    /// The body of Spot's `<message>` is not JSON.
    #[error("the Spot message body is not JSON: {reason}")]
    Json {
        /// What serde_json reported.
        reason: String,
    },
    /// The JSON body of Spot's `<message>` has no string `"iq"`.
    #[error("the Spot message body has no string \"iq\"")]
    NoIq,
}

/// An incoming stanza that was a proxy IQ, or an `<iq type='set'>` that may
/// have been one, and could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Refused {
    /// The form recognized, if it got that far.
    pub envelope: Option<Envelope>,
    /// The outer `<iq type='set'>`, once its start tag was read.
    pub outer: Option<Outer>,
    /// What was wrong.
    pub error: EnvelopeError,
}

impl Refused {
    /// The `error` answer to the outer IQ: `bad-request` (modify) with the
    /// problem as text; `None` when its `from` or `id` is unknown (a stanza
    /// refused for its size is not read at all). A Direct IQ refused here
    /// never reached the core, so this is the only answer it gets.
    pub fn answer(&self) -> Option<String> {
        let outer = self.outer.as_ref()?;
        let (from, id) = (outer.from.as_deref()?, outer.id.as_deref()?);
        let error = StanzaError {
            text: Some(self.error.to_string()),
            ..StanzaError::new(ErrorType::Modify, DefinedCondition::BadRequest)
        };
        Some(answer_error(from, id, error))
    }
}

impl Envelope {
    /// The stanza that carries `iq` to `to` with the outer `id`.
    ///
    /// In the Direct form the IQ's own start tag gets `to` (replacing any),
    /// and `id` only when it has none: an answer (`result`/`error`) keeps the
    /// id it echoes. The rest of the IQ is copied unchanged. The wrapped forms carry `iq` escaped as
    /// text (JSON in XML text for Spot).
    ///
    /// `iq` must be an IQ [`parse_iq`] reads, and the stanza must fit in
    /// [`Limits::max_bytes`]: what the peer could not read is refused here.
    pub fn wrap(
        &self,
        to: &str,
        id: &str,
        iq: &str,
        limits: &Limits,
    ) -> Result<String, EnvelopeError> {
        parse_iq(iq, limits).map_err(EnvelopeError::Iq)?;
        let stanza = match self {
            Envelope::Direct => stamp(to, id, iq)?,
            Envelope::JitsiProxy => {
                let mut out = outer_set(to, id, iq.len());
                out.push_str("<proxy xmlns=\"jitsi:proxy\"><data>");
                push_text(&mut out, iq);
                out.push_str("</data></proxy></iq>");
                out
            }
            Envelope::Spot { message_type } => {
                let body = serde_json::json!({ "iq": iq }).to_string();
                let mut out = outer_set(to, id, body.len());
                Writer::new(&mut out)
                    .open("message")
                    .attr("xmlns", NS_SPOT_MESSAGE)
                    .attr("type", message_type.as_str());
                out.push('>');
                push_text(&mut out, &body);
                out.push_str("</message></iq>");
                out
            }
        };
        if stanza.len() > limits.max_bytes {
            let (len, limit) = (stanza.len(), limits.max_bytes);
            return Err(EnvelopeError::Stanza(ParseError::TooLarge { len, limit }));
        }
        Ok(stanza)
    }

    /// Recognizes a proxy IQ in any of the three forms.
    ///
    /// `None`: the stanza is not an `<iq type='set'>` in `jabber:client`
    /// with a `<jingle xmlns='urn:xmpp:jingle:1'>`, `<proxy
    /// xmlns='jitsi:proxy'>` or `<message xmlns='jitsi-meet-spot-message'>`
    /// child (the first one found decides the form); the XMPP layer handles
    /// it otherwise. `Some(Err)`: a stanza too large, not well-formed, or an
    /// IQ set whose envelope or carried IQ cannot be read.
    pub fn unwrap(stanza: &str, limits: &Limits) -> Option<Result<Unwrapped, Refused>> {
        let (outer, found) = match read_outer(stanza, limits) {
            Read::NotProxy => return None,
            Read::Found(outer, found) => (outer, found),
            Read::Broken(outer, e) => {
                let (envelope, error) = (None, EnvelopeError::Stanza(e));
                return Some(Err(Refused {
                    envelope,
                    outer,
                    error,
                }));
            }
        };
        let (envelope, iq) = match found {
            Found::Direct => (Envelope::Direct, Ok(stanza.to_owned())),
            Found::JitsiProxy(data) => (Envelope::JitsiProxy, data.ok_or(EnvelopeError::NoData)),
            Found::Spot { message_type, body } => (Envelope::Spot { message_type }, spot_iq(&body)),
        };
        let iq = iq.and_then(|iq| match parse_iq(&iq, limits) {
            Ok(_) => Ok(iq),
            Err(e) => Err(EnvelopeError::Iq(e)),
        });
        Some(match iq {
            Ok(iq) => Ok(Unwrapped {
                envelope,
                outer,
                iq,
            }),
            Err(error) => Err(Refused {
                envelope: Some(envelope),
                outer: Some(outer),
                error,
            }),
        })
    }
}

/// `<iq type='result'>` answering the IQ `id` from `to`, with the id as
/// received.
pub fn answer_result(to: &str, id: &str) -> String {
    write_iq(&Iq::result(to, id))
}

/// `<iq type='error'>` answering the IQ `id` from `to` with `error`.
pub fn answer_error(to: &str, id: &str, error: StanzaError) -> String {
    write_iq(&Iq::error(to, id, error))
}

/// The carried IQ in Spot's JSON body.
fn spot_iq(body: &str) -> Result<String, EnvelopeError> {
    let value: serde_json::Value = serde_json::from_str(body).map_err(|e| EnvelopeError::Json {
        reason: e.to_string(),
    })?;
    match value.get("iq") {
        Some(serde_json::Value::String(iq)) => Ok(iq.clone()),
        _ => Err(EnvelopeError::NoIq),
    }
}

/// The start of a wrapped form's outer `<iq type='set'>`, with room for a
/// payload of about `payload` bytes.
fn outer_set(to: &str, id: &str, payload: usize) -> String {
    let mut out = String::with_capacity(160 + to.len() + id.len() + payload + payload / 4);
    Writer::new(&mut out)
        .open("iq")
        .attr("xmlns", NS_CLIENT)
        .attr("type", "set")
        .attr("to", to)
        .attr("id", id);
    out.push('>');
    out
}

/// The Direct form: `iq` with its start tag rewritten (see [`Envelope::wrap`]).
/// `iq` has been read by `parse_iq`, so its root is an `<iq>` that declares
/// `xmlns='jabber:client'` itself, with well-formed attributes.
fn stamp(to: &str, id: &str, iq: &str) -> Result<String, EnvelopeError> {
    let mut r = quick_xml::Reader::from_str(iq);
    let xml = |r: &quick_xml::Reader<&[u8]>, e: &dyn std::fmt::Display| {
        EnvelopeError::Stanza(ParseError::Xml {
            at: r.buffer_position(),
            reason: e.to_string(),
        })
    };
    let (start, empty) = loop {
        match r.read_event() {
            Ok(Event::Start(s)) => break (s, false),
            Ok(Event::Empty(s)) => break (s, true),
            Ok(Event::Eof) => return Err(xml(&r, &"no root element")),
            Ok(_) => {}
            Err(e) => return Err(xml(&r, &e)),
        }
    };
    let rest = usize::try_from(r.buffer_position())
        .ok()
        .and_then(|at| iq.get(at..))
        .ok_or_else(|| xml(&r, &"position out of range"))?;
    let mut out = String::with_capacity(iq.len() + to.len() + id.len() + 48);
    let mut w = Writer::new(&mut out);
    w.open("iq");
    let (mut has_id, mut has_to) = (false, false);
    for attr in start.attributes() {
        let attr = attr.map_err(|e| xml(&r, &e))?;
        let key = attr.key.0;
        has_id |= key == "id";
        has_to |= key == "to";
        let value = match key {
            "to" => Cow::Borrowed(to),
            _ => attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| xml(&r, &e))?,
        };
        w.attr(key, &value);
    }
    if !has_to {
        w.attr("to", to);
    }
    if !has_id {
        w.attr("id", id);
    }
    out.push_str(if empty { "/>" } else { ">" });
    out.push_str(rest);
    Ok(out)
}

/// Appends `s` escaped as element text: `&`, `<`, `>`, and CR as a
/// character reference (a raw one would be read back as LF). `s` holds only
/// XML characters: it has been read by `parse_iq`, or written by serde_json,
/// which escapes every control character.
fn push_text(out: &mut String, s: &str) {
    let mut last = 0;
    for (i, c) in s.char_indices() {
        let escaped = match c {
            '&' => "&amp;",
            '<' => "&lt;",
            '>' => "&gt;",
            '\r' => "&#13;",
            _ => continue,
        };
        out.push_str(&s[last..i]);
        out.push_str(escaped);
        last = i + 1;
    }
    out.push_str(&s[last..]);
}

/// What the outer `<iq type='set'>` carries.
enum Found {
    Direct,
    /// The text of `<data>`, if there was one.
    JitsiProxy(Option<String>),
    Spot {
        message_type: SpotMessageType,
        body: String,
    },
}

/// The namespaces the forms are told apart by, kept without a copy.
const KNOWN: &[&str] = &[NS_CLIENT, NS_JINGLE, NS_JITSI_PROXY, NS_SPOT_MESSAGE];

/// What reading the outer stanza gave.
enum Read {
    /// Not an `<iq type='set'>` in `jabber:client` naming one of the forms.
    NotProxy,
    /// A proxy IQ in one of the forms, its payload not checked yet.
    Found(Outer, Found),
    /// Unreadable; with the outer addressing once the start tag was read.
    Broken(Option<Outer>, ParseError),
}

/// Reads the whole outer stanza.
fn read_outer(stanza: &str, limits: &Limits) -> Read {
    let mut rd = match Reader::new(stanza, limits, KNOWN) {
        Ok(rd) => rd,
        Err(e) => return Read::Broken(None, e),
    };
    let root = match rd.root() {
        Ok(root) => root,
        Err(e) => return Read::Broken(None, e),
    };
    if root.local() != "iq" || root.ns() != NS_CLIENT {
        return Read::NotProxy;
    }
    let (mut kind, mut from, mut id) = (None, None, None);
    let attrs = root.attrs(|k, v| {
        match k {
            "type" => kind = Some(v.into_owned()),
            "from" => from = Some(v.into_owned()),
            "id" => id = Some(v.into_owned()),
            _ => {}
        }
        Ok(())
    });
    if let Err(e) = attrs {
        return Read::Broken(None, e);
    }
    if kind.as_deref() != Some("set") {
        return Read::NotProxy;
    }
    let outer = Outer { from, id };
    match children(&mut rd, &root) {
        Ok(Some(found)) => Read::Found(outer, found),
        Ok(None) => Read::NotProxy,
        Err(e) => Read::Broken(Some(outer), e),
    }
}

/// The form a child of the outer `<iq>` names, if any.
#[derive(Clone, Copy)]
enum Form {
    Direct,
    JitsiProxy,
    Spot,
}

/// Reads the root's children to the end of the input; the first one that
/// names a form decides it.
fn children(rd: &mut Reader<'_>, root: &Elem<'_>) -> Result<Option<Found>, ParseError> {
    let mut found = None;
    while let Some(c) = rd.child(root)? {
        let form = match (c.ns(), c.local()) {
            (NS_JINGLE, "jingle") => Some(Form::Direct),
            (NS_JITSI_PROXY, "proxy") => Some(Form::JitsiProxy),
            (NS_SPOT_MESSAGE, "message") => Some(Form::Spot),
            _ => None,
        };
        let form = if found.is_none() { form } else { None };
        found = match form {
            Some(Form::Direct) => {
                rd.skip(c)?;
                Some(Found::Direct)
            }
            Some(Form::JitsiProxy) => Some(Found::JitsiProxy(data(rd, c)?)),
            Some(Form::Spot) => {
                let message_type = c.attr("type")?.map_or_else(
                    || SpotMessageType::Other(String::new()),
                    |t| SpotMessageType::from_wire(&t),
                );
                let body = rd.text(c)?;
                Some(Found::Spot { message_type, body })
            }
            None => {
                rd.skip(c)?;
                found
            }
        };
    }
    rd.end()?;
    Ok(found)
}

/// The text of the first `<data>` child of `proxy` (in any namespace, as the
/// reference document's `querySelector('data')`), consuming the `<proxy>`.
fn data(rd: &mut Reader<'_>, proxy: Elem<'_>) -> Result<Option<String>, ParseError> {
    proxy.attrs(|_, _| Ok(()))?;
    let mut data = None;
    while let Some(c) = rd.child(&proxy)? {
        if data.is_none() && c.local() == "data" {
            data = Some(rd.text(c)?);
        } else {
            rd.skip(c)?;
        }
    }
    Ok(data)
}
