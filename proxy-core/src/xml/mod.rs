//! The workspace's one bounded XML layer: a reader over quick-xml's
//! `NsReader` with our limits around it, and a writer in the shape
//! lib-jitsi-meet sends. Jingle, XEP-0215 and the `<iq>` envelope in this
//! crate, and the XMPP stanzas of the crates built on it, all read and write
//! through it, so every message a peer or server sends meets the same rules.
//!
//! - [`Reader`]: the bounded event source ([`Reader::next`] gives [`Ev`]s),
//!   with the grammar helpers [`Reader::root`], [`Reader::child`],
//!   [`Reader::text`], [`Reader::skip`] and [`Reader::end`].
//! - [`Elem`]: one element start: [`Elem::local`], [`Elem::ns`],
//!   [`Elem::attr`], [`Elem::attrs`].
//! - [`Writer`] and [`escape`]: elements and values out.
//! - [`Limits`]: the bounds, the same for every reader.
//!
//! The reader's rules, in order of precedence:
//!
//! - The size limit is checked before anything is read. Nesting deeper than
//!   [`Limits::max_depth`] fails with [`ParseError::TooDeep`], also inside
//!   skipped subtrees.
//! - Characters XML cannot carry (C0 controls other than tab/LF/CR, U+FFFE,
//!   U+FFFF), anywhere in the input or named by a character reference, and a
//!   raw `<` in an attribute value, are [`ParseError::Xml`] errors.
//! - DOCTYPE (so any entity declaration) and processing instructions are
//!   [`ParseError::Forbidden`]; the XML declaration at the very start is fine.
//!   References other than the five predefined entities and character
//!   references are errors: nothing is ever expanded.
//! - Namespaces are resolved by quick-xml. Errors carry at most a short
//!   excerpt of the input.
//!
//! A grammar reads the root, then each child in turn, consuming every child
//! it is given (reading it to its end, or passing it to [`Reader::skip`]):
//!
//! ```
//! use proxy_core::xml::{Reader, Writer};
//! use proxy_core::{Limits, ParseError};
//!
//! const NS: &str = "urn:example:list";
//!
//! /// The text of every `<item>` in `<list xmlns='urn:example:list'>`.
//! fn items(input: &str) -> Result<Vec<String>, ParseError> {
//!     let mut rd = Reader::new(input, &Limits::default(), &[NS])?;
//!     let list = rd.root()?;
//!     list.expect_ns(NS)?;
//!     let mut items = Vec::new();
//!     while let Some(child) = rd.child(&list)? {
//!         match child.local() {
//!             "item" => items.push(rd.text(child)?),
//!             _ => rd.skip(child)?,
//!         }
//!     }
//!     rd.end()?;
//!     Ok(items)
//! }
//!
//! let mut out = String::new();
//! Writer::new(&mut out).open("list").attr("xmlns", NS).children("list", |w| {
//!     w.open("item").text("item", "a < b");
//!     w.open("note").empty();
//!     w.open("item").text("item", "c");
//! });
//! assert_eq!(items(&out)?, ["a < b", "c"]);
//!
//! let deep = format!("<list xmlns='{NS}'>{}", "<x>".repeat(20));
//! assert!(matches!(items(&deep), Err(ParseError::TooDeep { limit: 16, .. })));
//! assert!(matches!(items("<!DOCTYPE list><list/>"), Err(ParseError::Forbidden { .. })));
//! # Ok::<(), ParseError>(())
//! ```

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use crate::error::{excerpt, truncate, ParseError, MAX_ERROR_TEXT};

mod wire;
mod write;

pub use wire::is_element_name;
pub(crate) use wire::{boolean, number, push_within, required, wire_enum};
use write::may_hold_non_xml;
pub use write::{escape, Writer};

/// Bounds on what one incoming message may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message in bytes (default 256 KiB).
    pub max_bytes: usize,
    /// Deepest element nesting, counting the root (`<iq>`) as 1 (default 16;
    /// lib-jitsi-meet's messages nest 6 deep, e.g.
    /// iq/jingle/content/description/payload-type/rtcp-fb).
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
    /// rtcp-fb, rtp-hdrext, group members, extdisco services (default 64).
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

/// Longest reader message copied into [`ParseError::Xml`].
const MAX_REASON: usize = 160;

/// One element start (`<x …>` or `<x …/>`) with its resolved namespace, as
/// [`Reader::next`], [`Reader::root`] and [`Reader::child`] give it.
///
/// Its attributes are read on demand ([`Elem::attr`], [`Elem::attrs`]); its
/// content is read through the reader, which must consume it before reading
/// on.
#[derive(Debug)]
pub struct Elem<'i> {
    start: BytesStart<'i>,
    /// The namespace URI: one of the reader's known ones, another as written,
    /// or empty for none.
    pub(crate) ns: Cow<'static, str>,
    /// Byte offset of the `<`.
    at: u64,
    /// `<x/>`: no children, no end tag.
    pub(crate) empty: bool,
}

impl Elem<'_> {
    /// The local name (without prefix).
    pub fn local(&self) -> &str {
        self.start.local_name().into_inner()
    }

    /// The namespace URI, resolved from the element's prefix (or the default
    /// namespace); empty for none.
    pub fn ns(&self) -> &str {
        &self.ns
    }

    /// Whether this is an empty-element tag (`<x/>`): no content, no end tag.
    pub fn is_empty(&self) -> bool {
        self.empty
    }

    /// Fails with [`ParseError::Namespace`] unless the element is in `expected`.
    pub fn expect_ns(&self, expected: &'static str) -> Result<(), ParseError> {
        if self.ns == expected {
            return Ok(());
        }
        Err(ParseError::Namespace {
            element: excerpt(self.local()),
            found: excerpt(&self.ns),
            expected,
        })
    }

    /// Calls `f(name, value)` for every unprefixed attribute other than
    /// `xmlns`, the value normalized (references resolved, white space as by
    /// XML attribute-value normalization). Any attribute that is not well
    /// formed or unique is an error at the start of the tag, and so is a
    /// character reference to a character XML cannot carry; an error from
    /// `f` stops the walk and is returned.
    pub fn attrs(
        &self,
        mut f: impl FnMut(&str, Cow<'_, str>) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        let error = |reason: String| ParseError::Xml {
            at: self.at,
            reason: truncate(&reason, MAX_REASON).to_owned(),
        };
        for attr in self.start.attributes() {
            let attr = attr.map_err(|e| error(e.to_string()))?;
            if attr.value.contains('<') {
                return Err(error("'<' in an attribute value".into()));
            }
            let key = attr.key.0;
            if key == "xmlns" || key.contains(':') {
                continue;
            }
            let value = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|e| error(e.to_string()))?;
            // A reference may name a character XML cannot carry (`&#3;`).
            if matches!(value, Cow::Owned(_)) && !value.chars().all(is_xml_char) {
                return Err(error("character reference to a non-XML char".into()));
            }
            f(key, value)?;
        }
        Ok(())
    }

    /// The value of attribute `name`, all attributes checked as by [`Elem::attrs`].
    pub fn attr(&self, name: &str) -> Result<Option<String>, ParseError> {
        let mut value = None;
        self.attrs(|k, v| {
            if k == name {
                value = Some(v.into_owned());
            }
            Ok(())
        })?;
        Ok(value)
    }
}

/// What the grammar sees: one event of [`Reader::next`]. Comments and the
/// leading XML declaration are dropped; references are resolved into text.
#[derive(Debug)]
pub enum Ev<'i> {
    /// An element opened (or an empty element).
    Open(Elem<'i>),
    /// The current element closed.
    Close,
    /// Character data (text, CDATA or a resolved reference).
    Text(Cow<'i, str>),
    /// End of input.
    Eof,
}

/// The bounded event source over one complete message (see the
/// [module docs](self) for its rules).
///
/// A `Reader` holds no more than quick-xml's state and a depth count; the
/// text it gives borrows from the input where it can.
pub struct Reader<'i> {
    r: NsReader<&'i [u8]>,
    /// Namespaces kept without copying.
    known: &'static [&'static str],
    max_depth: usize,
    depth: usize,
    /// Nothing but (maybe) the XML declaration has been read yet.
    at_start: bool,
}

impl<'i> Reader<'i> {
    /// A reader of `input`, refused at once if it is larger than
    /// [`Limits::max_bytes`] ([`ParseError::TooLarge`]) or holds a character
    /// XML cannot carry ([`ParseError::Xml`]). Elements in a `known`
    /// namespace get it without a copy.
    pub fn new(
        input: &'i str,
        limits: &Limits,
        known: &'static [&'static str],
    ) -> Result<Reader<'i>, ParseError> {
        if input.len() > limits.max_bytes {
            let (len, limit) = (input.len(), limits.max_bytes);
            return Err(ParseError::TooLarge { len, limit });
        }
        if may_hold_non_xml(input) {
            if let Some((at, c)) = input.char_indices().find(|&(_, c)| !is_xml_char(c)) {
                return Err(ParseError::Xml {
                    at: at as u64,
                    reason: format!("character U+{:04X} is not allowed in XML", u32::from(c)),
                });
            }
        }
        let mut r = NsReader::from_str(input);
        let config = r.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.allow_dangling_amp = false;
        config.allow_unmatched_ends = false;
        Ok(Reader {
            r,
            known,
            max_depth: limits.max_depth,
            depth: 0,
            at_start: true,
        })
    }

    /// A [`ParseError::Xml`] at the current position, for a grammar's own
    /// complaint.
    pub fn error_here(&self, reason: &str) -> ParseError {
        ParseError::Xml {
            at: self.r.buffer_position(),
            reason: reason.to_owned(),
        }
    }

    fn xml_error(&self, e: &quick_xml::Error) -> ParseError {
        ParseError::Xml {
            at: self.r.error_position(),
            reason: truncate(&e.to_string(), MAX_REASON).to_owned(),
        }
    }

    /// The next event that matters to the grammar; comments are dropped.
    ///
    /// Not an [`Iterator`]: an error ends the input, and [`Ev::Eof`] is a
    /// value the grammar checks (an end inside an element is an error).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Ev<'i>, ParseError> {
        loop {
            let at = self.r.buffer_position();
            let (ns, event) = match self.r.read_resolved_event() {
                Ok((ns, event)) => (resolve(ns, self.known), event),
                Err(e) => return Err(self.xml_error(&e)),
            };
            let at_start = std::mem::replace(&mut self.at_start, false);
            let forbidden = |what| ParseError::Forbidden { what, at };
            let (start, empty) = match event {
                Event::Start(start) => (start, false),
                Event::Empty(start) => (start, true),
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    return Ok(Ev::Close);
                }
                Event::Text(text) => return Ok(Ev::Text(text.xml10_content())),
                Event::CData(cdata) => return Ok(Ev::Text(cdata.xml10_content())),
                Event::GeneralRef(r) => {
                    if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r) {
                        return Ok(Ev::Text(Cow::Borrowed(s)));
                    }
                    return match r.resolve_char_ref() {
                        Ok(Some(c)) if is_xml_char(c) => Ok(Ev::Text(c.to_string().into())),
                        Ok(Some(_)) => {
                            Err(self.error_here("character reference to a non-XML char"))
                        }
                        Ok(None) => Err(self.error_here(&format!(
                            "undeclared entity &{};",
                            truncate(&r, MAX_ERROR_TEXT)
                        ))),
                        Err(e) => Err(self.xml_error(&e)),
                    };
                }
                Event::Comment(_) => continue,
                Event::Decl(_) if at_start => continue,
                Event::Decl(_) => return Err(forbidden("XML declaration after the start")),
                Event::PI(_) => return Err(forbidden("processing instruction")),
                Event::DocType(_) => return Err(forbidden("DOCTYPE")),
                Event::Eof if self.depth > 0 => {
                    return Err(self.error_here("unexpected end of input inside an element"))
                }
                Event::Eof => return Ok(Ev::Eof),
            };
            if self.depth >= self.max_depth {
                return Err(ParseError::TooDeep {
                    limit: self.max_depth,
                    at: self.r.buffer_position(),
                });
            }
            let ns = ns.map_err(|p| {
                self.error_here(&format!(
                    "undeclared namespace prefix {:?}",
                    truncate(&p, MAX_ERROR_TEXT)
                ))
            })?;
            self.depth += usize::from(!empty);
            return Ok(Ev::Open(Elem {
                start,
                ns,
                at,
                empty,
            }));
        }
    }

    /// The root element, after nothing but white space, comments and the XML
    /// declaration.
    pub fn root(&mut self) -> Result<Elem<'i>, ParseError> {
        loop {
            match self.next()? {
                Ev::Open(e) => return Ok(e),
                Ev::Text(t) if is_xml_space(&t) => {}
                Ev::Text(_) => return Err(self.error_here("text outside the root element")),
                Ev::Close => return Err(self.error_here("end tag without a start tag")),
                Ev::Eof => return Err(self.error_here("no root element")),
            }
        }
    }

    /// Checks that nothing but white space and comments follow the root;
    /// call it once the root has been consumed.
    pub fn end(&mut self) -> Result<(), ParseError> {
        loop {
            match self.next()? {
                Ev::Eof => return Ok(()),
                Ev::Text(t) if is_xml_space(&t) => {}
                Ev::Text(_) => return Err(self.error_here("text after the root element")),
                Ev::Open(_) | Ev::Close => {
                    return Err(self.error_here("markup after the root element"))
                }
            }
        }
    }

    /// The next child element of `parent`, or `None` once `parent` is closed.
    /// Text between children is ignored. Each child returned must be consumed
    /// (read to its end, or passed to [`Reader::skip`]) before the next call.
    pub fn child(&mut self, parent: &Elem<'_>) -> Result<Option<Elem<'i>>, ParseError> {
        if parent.empty {
            return Ok(None);
        }
        loop {
            match self.next()? {
                Ev::Open(e) => return Ok(Some(e)),
                Ev::Close => return Ok(None),
                Ev::Text(_) => {}
                Ev::Eof => return Err(self.error_here("unexpected end of input")),
            }
        }
    }

    /// Consumes `e` and everything inside it, checking well-formedness and
    /// the depth limit but keeping nothing. Iterative, so any nesting is safe.
    pub fn skip(&mut self, e: Elem<'_>) -> Result<(), ParseError> {
        e.attrs(|_, _| Ok(()))?;
        self.skip_content(e)
    }

    /// [`Reader::skip`] for an element whose attributes have been read
    /// (through [`Elem::attrs`]), so they are not checked twice.
    pub fn skip_content(&mut self, e: Elem<'_>) -> Result<(), ParseError> {
        if e.empty {
            return Ok(());
        }
        let target = self.depth.saturating_sub(1);
        while self.depth > target {
            if let Ev::Open(inner) = self.next()? {
                inner.attrs(|_, _| Ok(()))?;
            }
        }
        Ok(())
    }

    /// The text content of `e`, consuming it; child elements are skipped
    /// (and checked as by [`Reader::skip`]).
    pub fn text(&mut self, e: Elem<'_>) -> Result<String, ParseError> {
        e.attrs(|_, _| Ok(()))?;
        let mut out = String::new();
        if e.empty {
            return Ok(out);
        }
        loop {
            match self.next()? {
                Ev::Text(t) => out.push_str(&t),
                Ev::Open(inner) => self.skip(inner)?,
                Ev::Close => break,
                Ev::Eof => return Err(self.error_here("unexpected end of input")),
            }
        }
        Ok(out)
    }
}

/// An element's namespace: `Err` with the prefix if it is not declared.
fn resolve(ns: ResolveResult<'_>, known: &[&'static str]) -> Result<Cow<'static, str>, String> {
    match ns {
        ResolveResult::Unbound => Ok(Cow::Borrowed("")),
        ResolveResult::Bound(uri) => Ok(match known.iter().find(|k| **k == uri.0) {
            Some(k) => Cow::Borrowed(k),
            None => Cow::Owned(uri.0.to_owned()),
        }),
        ResolveResult::Unknown(prefix) => Err(prefix),
    }
}

/// XML 1.0 `Char`.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// XML white space only.
pub(crate) fn is_xml_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}
