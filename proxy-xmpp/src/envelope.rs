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
//! The outer stanza is read with quick-xml's `NsReader` under the same
//! [`Limits`] and rules as the core's reader (size first, depth, characters
//! XML cannot carry, no DOCTYPE or processing instruction, only predefined
//! and character references); the rules are written again here only because
//! that reader is private to proxy-core.

use std::borrow::Cow;

use proxy_core::jingle::NS_JINGLE;
use proxy_core::{
    parse_iq, write_iq, DefinedCondition, ErrorType, Iq, Limits, ParseError, ProxyMessage,
    StanzaError, NS_CLIENT,
};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

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
                out.push_str("<message xmlns=\"jitsi-meet-spot-message\" type=\"");
                push_attr(&mut out, message_type.as_str());
                out.push_str("\">");
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
    out.push_str("<iq xmlns=\"jabber:client\" type=\"set\" to=\"");
    push_attr(&mut out, to);
    out.push_str("\" id=\"");
    push_attr(&mut out, id);
    out.push_str("\">");
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
    out.push_str("<iq");
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
        push_attribute(&mut out, key, &value);
    }
    if !has_to {
        push_attribute(&mut out, "to", to);
    }
    if !has_id {
        push_attribute(&mut out, "id", id);
    }
    out.push_str(if empty { "/>" } else { ">" });
    out.push_str(rest);
    Ok(out)
}

/// Appends ` key="value"`, the value escaped.
fn push_attribute(out: &mut String, key: &str, value: &str) {
    out.push(' ');
    out.push_str(key);
    out.push_str("=\"");
    push_attr(out, value);
    out.push('"');
}

/// Appends `s` escaped for a double-quoted attribute value: markup
/// characters as entities, tab, LF and CR as character references (so
/// attribute normalization keeps them); a character XML cannot carry becomes
/// U+FFFD.
fn push_attr(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{fffd}'),
        }
    }
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

/// The namespaces the walker tells apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ns {
    Client,
    Jingle,
    JitsiProxy,
    Spot,
    Other,
}

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
    let mut w = match Walker::new(stanza, limits) {
        Ok(w) => w,
        Err(e) => return Read::Broken(None, e),
    };
    let (root, ns, empty) = match w.root() {
        Ok(root) => root,
        Err(e) => return Read::Broken(None, e),
    };
    if root.local_name().into_inner() != "iq" || ns != Ns::Client {
        return Read::NotProxy;
    }
    let (mut kind, mut from, mut id) = (None, None, None);
    let attrs = w.attrs(&root, |k, v| match k {
        "type" => kind = Some(v.into_owned()),
        "from" => from = Some(v.into_owned()),
        "id" => id = Some(v.into_owned()),
        _ => {}
    });
    if let Err(e) = attrs {
        return Read::Broken(None, e);
    }
    if kind.as_deref() != Some("set") {
        return Read::NotProxy;
    }
    let outer = Outer { from, id };
    match w.children(empty) {
        Ok(Some(found)) => Read::Found(outer, found),
        Ok(None) => Read::NotProxy,
        Err(e) => Read::Broken(Some(outer), e),
    }
}

/// A bounded event source over quick-xml's `NsReader` (see the module docs
/// for its rules).
struct Walker<'i> {
    r: NsReader<&'i [u8]>,
    max_depth: usize,
    depth: usize,
    at_start: bool,
}

/// What the walker yields.
enum Ev<'i> {
    Open(BytesStart<'i>, Ns, bool),
    Close,
    Text(Cow<'i, str>),
    Eof,
}

impl<'i> Walker<'i> {
    fn new(input: &'i str, limits: &Limits) -> Result<Walker<'i>, ParseError> {
        if input.len() > limits.max_bytes {
            let (len, limit) = (input.len(), limits.max_bytes);
            return Err(ParseError::TooLarge { len, limit });
        }
        if let Some((at, c)) = input.char_indices().find(|&(_, c)| !is_xml_char(c)) {
            return Err(ParseError::Xml {
                at: at as u64,
                reason: format!("character U+{:04X} is not allowed in XML", u32::from(c)),
            });
        }
        let mut r = NsReader::from_str(input);
        let config = r.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.allow_dangling_amp = false;
        config.allow_unmatched_ends = false;
        let (max_depth, depth, at_start) = (limits.max_depth, 0, true);
        Ok(Walker {
            r,
            max_depth,
            depth,
            at_start,
        })
    }

    fn error_here(&self, reason: &str) -> ParseError {
        let at = self.r.buffer_position();
        let reason = reason.to_owned();
        ParseError::Xml { at, reason }
    }

    fn next(&mut self) -> Result<Ev<'i>, ParseError> {
        loop {
            let at = self.r.buffer_position();
            let (ns, event) = match self.r.read_resolved_event() {
                Ok((ns, event)) => (resolve(ns), event),
                Err(e) => {
                    let at = self.r.error_position();
                    let reason: String = e.to_string().chars().take(160).collect();
                    return Err(ParseError::Xml { at, reason });
                }
            };
            let at_start = std::mem::replace(&mut self.at_start, false);
            let (start, empty) = match event {
                Event::Start(s) => (s, false),
                Event::Empty(s) => (s, true),
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Ev::Close);
                }
                Event::Text(t) => return Ok(Ev::Text(t.xml10_content())),
                Event::CData(t) => return Ok(Ev::Text(t.xml10_content())),
                Event::GeneralRef(r) => {
                    if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r) {
                        return Ok(Ev::Text(Cow::Borrowed(s)));
                    }
                    return match r.resolve_char_ref() {
                        Ok(Some(c)) if is_xml_char(c) => Ok(Ev::Text(c.to_string().into())),
                        Ok(Some(_)) => {
                            Err(self.error_here("character reference to a non-XML char"))
                        }
                        Ok(None) => Err(self.error_here("undeclared entity")),
                        Err(_) => Err(self.error_here("malformed character reference")),
                    };
                }
                Event::Comment(_) => continue,
                Event::Decl(_) if at_start => continue,
                Event::Decl(_) => {
                    let what = "XML declaration after the start";
                    return Err(ParseError::Forbidden { what, at });
                }
                Event::PI(_) => {
                    let what = "processing instruction";
                    return Err(ParseError::Forbidden { what, at });
                }
                Event::DocType(_) => {
                    return Err(ParseError::Forbidden {
                        what: "DOCTYPE",
                        at,
                    })
                }
                Event::Eof if self.depth > 0 => {
                    return Err(self.error_here("unexpected end of input inside an element"))
                }
                Event::Eof => return Ok(Ev::Eof),
            };
            if self.depth >= self.max_depth {
                let (limit, at) = (self.max_depth, self.r.buffer_position());
                return Err(ParseError::TooDeep { limit, at });
            }
            let ns = ns.ok_or_else(|| self.error_here("undeclared namespace prefix"))?;
            self.depth += usize::from(!empty);
            return Ok(Ev::Open(start, ns, empty));
        }
    }

    /// The root element, after white space, comments and the XML declaration.
    fn root(&mut self) -> Result<(BytesStart<'i>, Ns, bool), ParseError> {
        loop {
            match self.next()? {
                Ev::Open(s, ns, empty) => return Ok((s, ns, empty)),
                Ev::Text(t) if is_xml_space(&t) => {}
                Ev::Text(_) => return Err(self.error_here("text outside the root element")),
                Ev::Close => return Err(self.error_here("end tag without a start tag")),
                Ev::Eof => return Err(self.error_here("no root element")),
            }
        }
    }

    /// Calls `f(name, value)` for every unprefixed attribute other than
    /// `xmlns`, the value normalized; checks them all.
    fn attrs(
        &self,
        start: &BytesStart<'_>,
        mut f: impl FnMut(&str, Cow<'_, str>),
    ) -> Result<(), ParseError> {
        let error = |reason: String| ParseError::Xml {
            at: self.r.buffer_position(),
            reason: reason.chars().take(160).collect(),
        };
        for attr in start.attributes() {
            let attr = attr.map_err(|e| error(e.to_string()))?;
            if attr.value.contains('<') {
                return Err(error("'<' in an attribute value".into()));
            }
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| error(e.to_string()))?;
            if !value.chars().all(is_xml_char) {
                return Err(error("character reference to a non-XML char".into()));
            }
            let key = attr.key.0;
            if key != "xmlns" && !key.contains(':') {
                f(key, value);
            }
        }
        Ok(())
    }

    /// Reads the root's children to the end of the input; the first one that
    /// names a form decides it.
    fn children(&mut self, root_empty: bool) -> Result<Option<Found>, ParseError> {
        let mut found = None;
        if !root_empty {
            while let Some((c, ns, empty)) = self.child()? {
                let local = c.local_name().into_inner();
                found = match (found, ns, local) {
                    (None, Ns::Jingle, "jingle") => {
                        self.skip(&c, empty)?;
                        Some(Found::Direct)
                    }
                    (None, Ns::JitsiProxy, "proxy") => {
                        self.attrs(&c, |_, _| {})?;
                        Some(Found::JitsiProxy(self.data(empty)?))
                    }
                    (None, Ns::Spot, "message") => {
                        let mut message_type = None;
                        self.attrs(&c, |k, v| {
                            if k == "type" {
                                message_type = Some(SpotMessageType::from_wire(&v));
                            }
                        })?;
                        let message_type =
                            message_type.unwrap_or(SpotMessageType::Other(String::new()));
                        let body = self.text(empty)?;
                        Some(Found::Spot { message_type, body })
                    }
                    (found, ..) => {
                        self.skip(&c, empty)?;
                        found
                    }
                };
            }
        }
        loop {
            match self.next()? {
                Ev::Eof => return Ok(found),
                Ev::Text(t) if is_xml_space(&t) => {}
                Ev::Text(_) => return Err(self.error_here("text after the root element")),
                Ev::Open(..) | Ev::Close => {
                    return Err(self.error_here("markup after the root element"))
                }
            }
        }
    }

    /// The next child of the open element, or `None` at its end.
    fn child(&mut self) -> Result<Option<(BytesStart<'i>, Ns, bool)>, ParseError> {
        loop {
            match self.next()? {
                Ev::Open(s, ns, empty) => return Ok(Some((s, ns, empty))),
                Ev::Close => return Ok(None),
                Ev::Text(_) => {}
                Ev::Eof => return Err(self.error_here("unexpected end of input")),
            }
        }
    }

    /// Consumes an element just opened and everything inside it.
    fn skip(&mut self, start: &BytesStart<'_>, empty: bool) -> Result<(), ParseError> {
        self.attrs(start, |_, _| {})?;
        if empty {
            return Ok(());
        }
        let target = self.depth.saturating_sub(1);
        while self.depth > target {
            if let Ev::Open(inner, _, _) = self.next()? {
                self.attrs(&inner, |_, _| {})?;
            }
        }
        Ok(())
    }

    /// The text of an element just opened, consuming it; children skipped.
    fn text(&mut self, empty: bool) -> Result<String, ParseError> {
        let mut out = String::new();
        if empty {
            return Ok(out);
        }
        loop {
            match self.next()? {
                Ev::Text(t) => out.push_str(&t),
                Ev::Open(inner, _, empty) => self.skip(&inner, empty)?,
                Ev::Close => return Ok(out),
                Ev::Eof => return Err(self.error_here("unexpected end of input")),
            }
        }
    }

    /// The text of the first `<data>` child of a `<proxy>` just opened (in
    /// any namespace, as the reference document's `querySelector('data')`),
    /// consuming the `<proxy>`.
    fn data(&mut self, empty: bool) -> Result<Option<String>, ParseError> {
        let mut data = None;
        if empty {
            return Ok(data);
        }
        while let Some((c, _, empty)) = self.child()? {
            if data.is_none() && c.local_name().into_inner() == "data" {
                self.attrs(&c, |_, _| {})?;
                data = Some(self.text(empty)?);
            } else {
                self.skip(&c, empty)?;
            }
        }
        Ok(data)
    }
}

/// An element's namespace among those the walker tells apart; `None` for an
/// undeclared prefix.
fn resolve(ns: ResolveResult<'_>) -> Option<Ns> {
    match ns {
        ResolveResult::Bound(uri) => Some(match uri.0 {
            NS_CLIENT => Ns::Client,
            NS_JINGLE => Ns::Jingle,
            NS_JITSI_PROXY => Ns::JitsiProxy,
            NS_SPOT_MESSAGE => Ns::Spot,
            _ => Ns::Other,
        }),
        ResolveResult::Unbound => Some(Ns::Other),
        ResolveResult::Unknown(_) => None,
    }
}

/// XML 1.0 `Char`.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// XML white space only.
fn is_xml_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}
