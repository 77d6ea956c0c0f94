//! The one bounded XML layer: a reader over quick-xml's `NsReader` with our
//! limits around it, a writer in the shape lib-jitsi-meet sends, and the
//! wire-enum macro the models share. Jingle, XEP-0215 and the `<iq>` envelope
//! all read and write through it.
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

use std::borrow::Cow;
use std::fmt::Write as _;
use std::str::FromStr;

use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use crate::error::{excerpt, truncate, ParseError, MAX_ERROR_TEXT};

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

/// One element start (`<x …>` or `<x …/>`) with its resolved namespace.
pub(crate) struct Elem<'i> {
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
    pub(crate) fn local(&self) -> &str {
        self.start.local_name().into_inner()
    }

    /// Fails with [`ParseError::Namespace`] unless the element is in `expected`.
    pub(crate) fn expect_ns(&self, expected: &'static str) -> Result<(), ParseError> {
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
    /// `xmlns`, the value normalized. Any attribute that is not well formed
    /// or unique is an error at the start of the tag.
    pub(crate) fn attrs(
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
}

/// What the grammar sees.
pub(crate) enum Ev<'i> {
    /// An element opened (or an empty element).
    Open(Elem<'i>),
    /// The current element closed.
    Close,
    /// Character data (text, CDATA or a resolved reference).
    Text(Cow<'i, str>),
    /// End of input.
    Eof,
}

/// The bounded event source.
pub(crate) struct Reader<'i> {
    r: NsReader<&'i [u8]>,
    /// Namespaces kept without copying.
    known: &'static [&'static str],
    max_depth: usize,
    depth: usize,
    /// Nothing but (maybe) the XML declaration has been read yet.
    at_start: bool,
}

impl<'i> Reader<'i> {
    /// A reader of `input`, refused at once if it is too large or holds a
    /// character XML cannot carry. Elements in a `known` namespace get it
    /// without a copy.
    pub(crate) fn new(
        input: &'i str,
        limits: &Limits,
        known: &'static [&'static str],
    ) -> Result<Reader<'i>, ParseError> {
        if input.len() > limits.max_bytes {
            return Err(ParseError::TooLarge {
                len: input.len(),
                limit: limits.max_bytes,
            });
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

    /// A [`ParseError::Xml`] at the current position.
    pub(crate) fn error_here(&self, reason: &str) -> ParseError {
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
    pub(crate) fn next(&mut self) -> Result<Ev<'i>, ParseError> {
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
    pub(crate) fn root(&mut self) -> Result<Elem<'i>, ParseError> {
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

    /// Checks that nothing but white space and comments follow the root.
    pub(crate) fn end(&mut self) -> Result<(), ParseError> {
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
    pub(crate) fn child(&mut self, parent: &Elem<'_>) -> Result<Option<Elem<'i>>, ParseError> {
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
    pub(crate) fn skip(&mut self, e: Elem<'_>) -> Result<(), ParseError> {
        e.attrs(|_, _| Ok(()))?;
        self.skip_content(e)
    }

    /// [`Reader::skip`] for an element whose attributes have been read.
    pub(crate) fn skip_content(&mut self, e: Elem<'_>) -> Result<(), ParseError> {
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

    /// The text content of `e`, consuming it; child elements are skipped.
    pub(crate) fn text(&mut self, e: Elem<'_>) -> Result<String, ParseError> {
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

/// Whether `s` can be written as an element name (conditions are element names).
pub(crate) fn is_element_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A decimal number of ASCII digits only (no sign, no space), in range for `T`.
pub(crate) fn number<T: FromStr>(
    el: &'static str,
    attr: &'static str,
    v: &str,
) -> Result<T, ParseError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::invalid(el, attr, v));
    }
    v.parse().map_err(|_| ParseError::invalid(el, attr, v))
}

/// `true`/`1` or `false`/`0` (xs:boolean).
pub(crate) fn boolean(el: &'static str, attr: &'static str, v: &str) -> Result<bool, ParseError> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ParseError::invalid(el, attr, v)),
    }
}

/// A required attribute's value, or [`ParseError::MissingAttribute`].
pub(crate) fn required<T>(
    v: Option<T>,
    el: &'static str,
    attr: &'static str,
) -> Result<T, ParseError> {
    v.ok_or(ParseError::MissingAttribute {
        element: el,
        attribute: attr,
    })
}

/// Pushes `item` unless `list` already holds `limit` ([`ParseError::TooMany`]).
pub(crate) fn push_within<T>(
    list: &mut Vec<T>,
    item: T,
    limit: usize,
    what: &'static str,
) -> Result<(), ParseError> {
    if list.len() >= limit {
        return Err(ParseError::TooMany { what, limit });
    }
    list.push(item);
    Ok(())
}

/// Writes elements into a `String` as lib-jitsi-meet's browsers serialize
/// them: `name="value"` attributes in the order given, `<x/>` when empty.
pub(crate) struct Writer<'a>(pub(crate) &'a mut String);

impl Writer<'_> {
    /// `<name`.
    pub(crate) fn open(&mut self, name: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(name);
        self
    }

    /// ` name="value"`, the value escaped.
    pub(crate) fn attr(&mut self, name: &str, value: &str) -> &mut Self {
        let _ = write!(self.0, " {name}=\"{}\"", escape(value));
        self
    }

    /// [`Writer::attr`] if there is a value.
    pub(crate) fn opt(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.attr(name, value);
        }
        self
    }

    /// ` name="n"` for a number.
    pub(crate) fn num(&mut self, name: &str, n: impl Into<u64>) -> &mut Self {
        let _ = write!(self.0, " {name}=\"{}\"", n.into());
        self
    }

    /// [`Writer::num`] if there is a number.
    pub(crate) fn opt_num(&mut self, name: &str, n: Option<impl Into<u64>>) -> &mut Self {
        if let Some(n) = n {
            self.num(name, n);
        }
        self
    }

    /// `/>`.
    pub(crate) fn empty(&mut self) {
        self.0.push_str("/>");
    }

    /// `>`, then the escaped text, then `</name>`.
    pub(crate) fn text(&mut self, name: &str, text: &str) {
        self.0.push('>');
        self.0.push_str(&escape(text));
        self.close(name);
    }

    /// `</name>`.
    pub(crate) fn close(&mut self, name: &str) {
        let _ = write!(self.0, "</{name}>");
    }
}

/// `s` escaped for an attribute value or text by quick-xml's attribute rules
/// (markup characters as entities, tab, LF and CR as character references);
/// characters XML cannot carry at all become U+FFFD.
pub(crate) fn escape(s: &str) -> Cow<'_, str> {
    if !may_hold_non_xml(s) || s.chars().all(is_xml_char) {
        return Attribute::from(("", s)).value;
    }
    let valid: String = s
        .chars()
        .map(|c| if is_xml_char(c) { c } else { '\u{fffd}' })
        .collect();
    Cow::Owned(Attribute::from(("", valid.as_str())).value.into_owned())
}

/// Whether `s` may hold a character XML cannot carry: every byte of UTF-8 at
/// or above 0x20 belongs to an XML `Char`, except in U+FFFE and U+FFFF, which
/// start with 0xEF.
fn may_hold_non_xml(s: &str) -> bool {
    s.bytes()
        .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF)
}

/// Declares a wire enum: each variant with its value as written. With
/// `else { Other(String) }` after them the enum is lenient: any other value
/// is kept.
macro_rules! wire_enum {
    ($(#[$m:meta])* pub enum $name:ident {
        $($(#[$vm:meta])* $var:ident = $wire:literal,)*
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $var,)* }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),*];
            /// The value as written on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $wire,)* }
            }
            /// Parses a wire value.
            pub fn from_wire(s: &str) -> Option<$name> {
                match s { $($wire => Some($name::$var),)* _ => None }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    ($(#[$m:meta])* pub enum $name:ident {
        $($(#[$vm:meta])* $var:ident = $wire:literal,)*
    } else {
        $(#[$om:meta])* Other(String)
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $var,)* $(#[$om])* Other(String) }
        impl $name {
            /// Every known value (all but `Other`), in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),*];
            /// The value as written on the wire.
            pub fn as_str(&self) -> &str {
                match self { $($name::$var => $wire,)* $name::Other(s) => s }
            }
            /// Parses a wire value: a known one, or `Other` holding it.
            pub fn from_wire(s: &str) -> $name {
                match s { $($wire => $name::$var,)* _ => $name::Other(s.to_owned()) }
            }
            /// Whether this is a known value (not `Other`).
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name::from_wire(s)
            }
        }
        impl From<String> for $name {
            fn from(s: String) -> $name {
                match s.as_str() { $($wire => $name::$var,)* _ => $name::Other(s) }
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}
pub(crate) use wire_enum;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_line_breaks_and_what_xml_cannot_carry() {
        assert_eq!(
            escape("a&b<c>d\"e'f\tg\nh\ri é\u{1}\u{ffff}"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i é\u{fffd}\u{fffd}"
        );
        assert!(matches!(escape("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn numbers_are_digits_only() {
        assert_eq!(number::<u16>("e", "a", "5000"), Ok(5000));
        for bad in ["", "+1", " 1", "1e3", "70000"] {
            assert!(number::<u16>("e", "a", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn skipped_subtrees_count_toward_the_depth() {
        let xml = format!("<a>{}{}</a>", "<b>".repeat(20), "</b>".repeat(20));
        let mut rd = Reader::new(&xml, &Limits::default(), &[]).unwrap();
        let root = rd.root().unwrap();
        assert!(matches!(
            rd.skip(root),
            Err(ParseError::TooDeep { limit: 16, .. })
        ));
    }
}
