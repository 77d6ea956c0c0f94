//! Hand-written, bounded parser for `<iq>` stanzas carrying `<jingle>`.
//!
//! The grammar is a set of small functions, one per element, over the events of
//! quick-xml's reader with namespace scopes of our own (see `reader`). What it
//! returns borrows from the input: a value is copied only where it held a
//! reference to resolve. Rules, in order of precedence:
//!
//! - The size limit is checked before anything is read. Nesting deeper than
//!   [`Limits::max_depth`] fails with [`ParseError::TooDeep`], also inside
//!   skipped subtrees; repeated children are counted against their limits.
//! - Characters XML cannot carry (C0 controls other than tab/LF/CR, U+FFFE,
//!   U+FFFF) anywhere in the input, and a raw `<` in an attribute value, are
//!   [`ParseError::Xml`] errors.
//! - DOCTYPE (so any entity declaration) and processing instructions are
//!   [`ParseError::Forbidden`]; the XML declaration at the very start is fine.
//!   References other than the five predefined entities and character
//!   references are an [`ParseError::Xml`] error: nothing is ever expanded.
//! - Namespaces are resolved, so prefixed elements are fine. An element the
//!   grammar knows at that place (e.g. `<jingle>` inside `<iq>`) in another
//!   namespace is a [`ParseError::Namespace`] error; any other unknown element
//!   is skipped whole, as are unknown attributes.
//! - Where the model holds one child (a content's description and transport,
//!   the jingle's reason, a transport's fingerprint, …) the first one wins and
//!   later ones are skipped, as lib-jitsi-meet's `findFirst` does.
//! - Errors carry at most a short excerpt of the input.

mod reader;
mod rtp;
mod transport;

use std::borrow::Cow;
use std::collections::HashSet;
use std::str::FromStr;

use crate::error::{excerpt, ParseError};
use crate::jingle::{
    grouping, Action, Content, Creator, Group, Jingle, Payload, Reason, Senders, NS_JINGLE,
};
use crate::message::{Iq, IqType, StanzaError, NS_CLIENT};

use reader::{is_xml_space, Elem, Ev, Ns, Reader};

/// Bounds on what one incoming message may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message in bytes (default 256 KiB).
    pub max_bytes: usize,
    /// Deepest element nesting, counting `<iq>` as 1 (default 16; lib-jitsi-meet's
    /// messages nest 6 deep, e.g. iq/jingle/content/description/payload-type/rtcp-fb).
    pub max_depth: usize,
    /// Most `<content>`s in one `<jingle>` (default 16).
    pub max_contents: usize,
    /// Most `<payload-type>`s in one description (default 64).
    pub max_payload_types: usize,
    /// Most `<candidate>`s in one transport (default 64).
    pub max_candidates: usize,
    /// Most `<source>`s (and `<ssrc-group>`s) in one description (default 64).
    pub max_sources: usize,
    /// Most children of any other repeated kind in one parent: parameters,
    /// rtcp-fb, rtp-hdrext, group members (default 64).
    pub max_children: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 256 * 1024,
            max_depth: 16,
            max_contents: 16,
            max_payload_types: 64,
            max_candidates: 64,
            max_sources: 64,
            max_children: 64,
        }
    }
}

/// Parses one stringified `<iq>`.
pub fn parse_iq<'a>(input: &'a str, limits: &Limits) -> Result<Iq<'a>, ParseError> {
    if input.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            len: input.len(),
            limit: limits.max_bytes,
        });
    }
    // Every byte of valid UTF-8 at or above 0x20 is part of an XML `Char`, except
    // in U+FFFE and U+FFFF, whose encodings start with 0xEF: only if a control byte
    // or such a lead byte appears is the input decoded char by char.
    let suspect = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF;
    // Checked a block at a time without stopping inside one, which vectorizes.
    let found = |block: &[u8]| block.iter().fold(false, |seen, &b| seen | suspect(b));
    if input.as_bytes().chunks(64).any(found) {
        if let Some((at, c)) = input.char_indices().find(|&(_, c)| !reader::is_xml_char(c)) {
            return Err(ParseError::Xml {
                at: at as u64,
                reason: format!("character U+{:04X} is not allowed in XML", u32::from(c)),
            });
        }
    }
    let mut p = Parser {
        rd: Reader::new(input, limits),
        limits,
    };
    let root = loop {
        match p.rd.next()? {
            Ev::Open(e) => break e,
            Ev::Text(t) if is_xml_space(&t) => {}
            Ev::Text(_) => return Err(p.rd.error_here("text outside the root element")),
            Ev::Close => return Err(p.rd.error_here("end tag without a start tag")),
            Ev::Eof => return Err(p.rd.error_here("no root element")),
        }
    };
    let iq = p.iq(root)?;
    loop {
        match p.rd.next()? {
            Ev::Eof => return Ok(iq),
            Ev::Text(t) if is_xml_space(&t) => {}
            Ev::Text(_) => return Err(p.rd.error_here("text after the root element")),
            Ev::Open(_) | Ev::Close => {
                return Err(p.rd.error_here("markup after the root element"))
            }
        }
    }
}

/// Parses one `<iq>` from bytes, rejecting invalid UTF-8 first.
pub fn parse_iq_bytes<'a>(input: &'a [u8], limits: &Limits) -> Result<Iq<'a>, ParseError> {
    if input.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            len: input.len(),
            limit: limits.max_bytes,
        });
    }
    match std::str::from_utf8(input) {
        Ok(s) => parse_iq(s, limits),
        Err(e) => Err(ParseError::Xml {
            at: e.valid_up_to() as u64,
            reason: "invalid UTF-8".into(),
        }),
    }
}

/// A decimal number made of ASCII digits only (no sign, no space), in range for `T`.
fn number<T: FromStr>(
    element: &'static str,
    attribute: &'static str,
    value: &str,
) -> Result<T, ParseError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::invalid(element, attribute, value));
    }
    value
        .parse()
        .map_err(|_| ParseError::invalid(element, attribute, value))
}

/// `true`/`1` or `false`/`0` (xs:boolean).
fn boolean(
    element: &'static str,
    attribute: &'static str,
    value: &str,
) -> Result<bool, ParseError> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ParseError::invalid(element, attribute, value)),
    }
}

fn senders(element: &'static str, value: &str) -> Result<Senders, ParseError> {
    Senders::from_wire(value).ok_or_else(|| ParseError::invalid(element, "senders", value))
}

fn required<T>(
    value: Option<T>,
    element: &'static str,
    attribute: &'static str,
) -> Result<T, ParseError> {
    value.ok_or(ParseError::MissingAttribute { element, attribute })
}

/// Fails with [`ParseError::TooMany`] if one more than `limit` would be held.
fn room(len: usize, limit: usize, what: &'static str) -> Result<(), ParseError> {
    if len >= limit {
        Err(ParseError::TooMany { what, limit })
    } else {
        Ok(())
    }
}

/// Pushes `item`, reserving room for `first` items on the first push, so that
/// a list the size lib-jitsi-meet sends does not grow (and reallocate) from 4.
fn push_sized<T>(list: &mut Vec<T>, item: T, first: usize) {
    if list.capacity() == 0 {
        list.reserve_exact(first);
    }
    list.push(item);
}

/// Whether `s` can be written back as an element name (the conditions of
/// `<reason>` and `<error>` are element names).
pub(crate) fn is_element_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

struct Parser<'i, 'l> {
    rd: Reader<'i>,
    limits: &'l Limits,
}

impl<'i> Parser<'i, '_> {
    /// `<iq>`.
    fn iq(&mut self, e: Elem<'i>) -> Result<Iq<'i>, ParseError> {
        if e.local() != "iq" {
            return Err(ParseError::UnexpectedElement {
                found: excerpt(e.local()),
                expected: "<iq>",
            });
        }
        e.expect_ns(Ns::Client, NS_CLIENT)?;
        let (mut kind, mut id, mut to, mut from) = (None, None, None, None);
        self.rd.attrs(&e, |k, v| {
            match k {
                "type" => {
                    kind = Some(
                        IqType::from_wire(&v)
                            .ok_or_else(|| ParseError::invalid("iq", "type", &v))?,
                    )
                }
                "id" => id = Some(v),
                "to" => to = Some(v),
                "from" => from = Some(v),
                _ => {}
            }
            Ok(())
        })?;
        let mut iq = Iq {
            kind: required(kind, "iq", "type")?,
            id,
            to,
            from,
            jingle: None,
            error: None,
        };
        while let Some(c) = self.rd.child(&e)? {
            match c.local() {
                "jingle" if iq.jingle.is_none() => {
                    c.expect_ns(Ns::Jingle, NS_JINGLE)?;
                    iq.jingle = Some(self.jingle(c)?);
                }
                "error" if iq.error.is_none() => {
                    c.expect_ns(Ns::Client, NS_CLIENT)?;
                    iq.error = Some(self.stanza_error(c)?);
                }
                _ => self.rd.skip(c)?,
            }
        }
        Ok(iq)
    }

    /// `<jingle>`.
    fn jingle(&mut self, e: Elem<'i>) -> Result<Jingle<'i>, ParseError> {
        let mut action = None;
        let mut jingle = Jingle::new(Action::SessionInitiate);
        self.rd.attrs(&e, |k, v| {
            match k {
                "action" => action = Some(Action::from_wire(&v)),
                "sid" => jingle.sid = Some(v),
                "initiator" => jingle.initiator = Some(v),
                "responder" => jingle.responder = Some(v),
                _ => {}
            }
            Ok(())
        })?;
        jingle.action = required(action, "jingle", "action")?;
        while let Some(c) = self.rd.child(&e)? {
            match c.local() {
                "group" => {
                    c.expect_ns(Ns::Grouping, grouping::NS)?;
                    room(jingle.groups.len(), self.limits.max_children, "groups")?;
                    jingle.groups.push(self.group(c)?);
                }
                "content" => {
                    c.expect_ns(Ns::Jingle, NS_JINGLE)?;
                    room(jingle.contents.len(), self.limits.max_contents, "contents")?;
                    jingle.contents.push(self.content(c)?);
                }
                "reason" if jingle.reason.is_none() => {
                    c.expect_ns(Ns::Jingle, NS_JINGLE)?;
                    jingle.reason = Some(self.reason(c)?);
                }
                "details" if jingle.details.is_none() => {
                    c.expect_ns(Ns::Jingle, NS_JINGLE)?;
                    jingle.details = Some(self.rd.text(c)?);
                }
                "reason" | "details" => self.rd.skip(c)?,
                name if jingle.payload.is_none() && is_element_name(name) => {
                    jingle.payload = Some(payload(&c));
                    self.rd.skip(c)?;
                }
                _ => self.rd.skip(c)?,
            }
        }
        // A few contents (lib-jitsi-meet sends one per medium) are compared pairwise,
        // without allocating; more (the limit is configurable) go through a set.
        let dup = if jingle.contents.len() <= 16 {
            jingle.contents.iter().enumerate().find_map(|(i, c)| {
                jingle
                    .contents
                    .get(..i)?
                    .iter()
                    .any(|d| d.name == c.name)
                    .then_some(c)
            })
        } else {
            let mut names = HashSet::with_capacity(jingle.contents.len());
            jingle.contents.iter().find(|c| !names.insert(&*c.name))
        };
        if let Some(dup) = dup {
            return Err(ParseError::DuplicateContent(excerpt(&dup.name)));
        }
        Ok(jingle)
    }

    /// `<group semantics=…>` (XEP-0338).
    fn group(&mut self, e: Elem<'i>) -> Result<Group<'i>, ParseError> {
        let mut semantics = None;
        self.rd.attrs(&e, |k, v| {
            if k == "semantics" {
                semantics = Some(v);
            }
            Ok(())
        })?;
        let mut group = Group {
            semantics: required(semantics, "group", "semantics")?,
            contents: Vec::new(),
        };
        while let Some(c) = self.rd.child(&e)? {
            if c.local() != "content" {
                self.rd.skip(c)?;
                continue;
            }
            c.expect_ns(Ns::Grouping, grouping::NS)?;
            room(
                group.contents.len(),
                self.limits.max_children,
                "group members",
            )?;
            let mut name = None;
            self.rd.attrs(&c, |k, v| {
                if k == "name" {
                    name = Some(v);
                }
                Ok(())
            })?;
            group.contents.push(required(name, "content", "name")?);
            self.rd.skip_checked(c)?;
        }
        Ok(group)
    }

    /// `<content>`.
    fn content(&mut self, e: Elem<'i>) -> Result<Content<'i>, ParseError> {
        let mut name = None;
        let mut content = Content::default();
        self.rd.attrs(&e, |k, v| {
            match k {
                "name" => name = Some(v),
                "creator" => {
                    content.creator = Some(match &*v {
                        "initiator" => Creator::Initiator,
                        "responder" => Creator::Responder,
                        _ => return Err(ParseError::invalid("content", "creator", &v)),
                    })
                }
                "senders" => content.senders = Some(senders("content", &v)?),
                _ => {}
            }
            Ok(())
        })?;
        content.name = required(name, "content", "name")?;
        while let Some(c) = self.rd.child(&e)? {
            match c.local() {
                "description" if content.description.is_none() => {
                    c.expect_ns(Ns::Rtp, crate::jingle::rtp::NS)?;
                    content.description = Some(self.description(c)?);
                }
                "transport" if content.transport.is_none() => {
                    c.expect_ns(Ns::IceUdp, crate::jingle::ice_udp::NS)?;
                    content.transport = Some(self.transport(c)?);
                }
                _ => self.rd.skip(c)?,
            }
        }
        Ok(content)
    }

    /// `<reason>` with one condition element and an optional `<text>`.
    fn reason(&mut self, e: Elem<'i>) -> Result<Reason<'i>, ParseError> {
        self.rd.check_attrs(&e)?;
        let (mut condition, mut text) = (None, None);
        while let Some(c) = self.rd.child(&e)? {
            if c.ns != Ns::Jingle {
                self.rd.skip(c)?;
            } else if c.local() == "text" {
                if text.is_none() {
                    text = Some(self.rd.text(c)?);
                } else {
                    self.rd.skip(c)?;
                }
            } else {
                if condition.is_none() {
                    condition = Some(condition_name(&c, "a condition in <reason>")?);
                }
                self.rd.skip(c)?;
            }
        }
        Ok(Reason {
            condition: condition.ok_or(ParseError::UnexpectedElement {
                found: "</reason>".into(),
                expected: "a condition in <reason>",
            })?,
            text,
        })
    }

    /// `<error type=…>` of an `<iq type='error'>` (RFC 6120 §8.3).
    fn stanza_error(&mut self, e: Elem<'i>) -> Result<StanzaError<'i>, ParseError> {
        let mut kind = None;
        self.rd.attrs(&e, |k, v| {
            if k == "type" {
                kind = Some(v);
            }
            Ok(())
        })?;
        let kind = required(kind, "error", "type")?;
        let (mut condition, mut jingle_condition, mut text) = (None, None, None);
        while let Some(c) = self.rd.child(&e)? {
            match c.ns {
                Ns::Stanzas if c.local() == "text" && text.is_none() => {
                    text = Some(self.rd.text(c)?);
                    continue;
                }
                Ns::Stanzas if c.local() == "text" => {}
                Ns::Stanzas if condition.is_none() => {
                    condition = Some(condition_name(&c, "a condition in <error>")?);
                }
                Ns::JingleErrors if jingle_condition.is_none() => {
                    jingle_condition = Some(condition_name(&c, "a Jingle error condition")?);
                }
                _ => {}
            }
            self.rd.skip(c)?;
        }
        Ok(StanzaError {
            kind,
            condition: condition.ok_or(ParseError::UnexpectedElement {
                found: "</error>".into(),
                expected: "a defined condition in <error>",
            })?,
            jingle_condition,
            text,
        })
    }
}

/// A [`Payload`] for `e`, whose local name can be written back.
fn payload<'i>(e: &Elem<'i>) -> Payload<'i> {
    let ns = match &e.ns {
        // Kept only where writing it gives the same value back: the reader
        // keeps unknown URIs as written and cut to 64 bytes, and the `xml` and
        // `xmlns` namespaces cannot be declared as a default.
        Ns::Other(uri) => {
            let plain = uri.len() < 64
                && uri != reader::NS_XML
                && uri != reader::NS_XMLNS
                && !uri.chars().any(|c| {
                    matches!(c, '&' | '<' | '>' | '"' | '\'') || c.is_whitespace() || c.is_control()
                });
            if plain {
                Cow::Owned(uri.clone())
            } else {
                Cow::Borrowed("")
            }
        }
        known => Cow::Owned(known.as_str().to_owned()),
    };
    Payload {
        name: Cow::Borrowed(e.local()),
        ns,
    }
}

/// The local name of a condition element, if it can be written back.
fn condition_name<'i>(e: &Elem<'i>, expected: &'static str) -> Result<Cow<'i, str>, ParseError> {
    if is_element_name(e.local()) {
        Ok(Cow::Borrowed(e.local()))
    } else {
        Err(ParseError::UnexpectedElement {
            found: excerpt(e.local()),
            expected,
        })
    }
}
