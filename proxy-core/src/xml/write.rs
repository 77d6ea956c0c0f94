//! The writer half: elements into a `String`, values escaped by quick-xml.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::events::attributes::Attribute;

use super::is_xml_char;

/// Writes elements into a `String` as lib-jitsi-meet's browsers serialize
/// them: `name="value"` attributes in the order given, `<x/>` when empty.
///
/// Each element is `open`, then its attributes, then exactly one of
/// [`Writer::empty`], [`Writer::text`] or [`Writer::children`]. Names are
/// written as given: they are the caller's constants (check one from the
/// wire with [`is_element_name`](super::is_element_name)); every value is
/// escaped.
#[derive(Debug)]
pub struct Writer<'a>(pub(crate) &'a mut String);

impl<'a> Writer<'a> {
    /// A writer appending to `out`.
    pub fn new(out: &'a mut String) -> Writer<'a> {
        Writer(out)
    }

    /// `<name`.
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.0.push('<');
        self.0.push_str(name);
        self
    }

    /// ` name="value"`, the value escaped.
    pub fn attr(&mut self, name: &str, value: &str) -> &mut Self {
        let _ = write!(self.0, " {name}=\"{}\"", escape(value));
        self
    }

    /// [`Writer::attr`] if there is a value.
    pub fn opt(&mut self, name: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.attr(name, value);
        }
        self
    }

    /// ` name="n"` for a number.
    pub fn num(&mut self, name: &str, n: impl Into<u64>) -> &mut Self {
        let _ = write!(self.0, " {name}=\"{}\"", n.into());
        self
    }

    /// [`Writer::num`] if there is a number.
    pub fn opt_num(&mut self, name: &str, n: Option<impl Into<u64>>) -> &mut Self {
        if let Some(n) = n {
            self.num(name, n);
        }
        self
    }

    /// `/>`.
    pub fn empty(&mut self) {
        self.0.push_str("/>");
    }

    /// `>`, then the escaped text, then `</name>`.
    pub fn text(&mut self, name: &str, text: &str) {
        self.0.push('>');
        self.0.push_str(&escape(text));
        self.close(name);
    }

    /// Ends the start tag: `/>` if `children` writes nothing, otherwise `>`,
    /// the children and `</name>`.
    pub fn children(&mut self, name: &str, children: impl FnOnce(&mut Self)) {
        self.0.push('>');
        let start = self.0.len();
        children(self);
        if self.0.len() == start {
            self.0.pop();
            self.empty();
        } else {
            self.close(name);
        }
    }

    /// `</name>`.
    pub fn close(&mut self, name: &str) {
        let _ = write!(self.0, "</{name}>");
    }
}

/// `s` escaped for an attribute value or text by quick-xml's attribute rules
/// (markup characters as entities, tab, LF and CR as character references);
/// characters XML cannot carry at all become U+FFFD.
pub fn escape(s: &str) -> Cow<'_, str> {
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
pub(super) fn may_hold_non_xml(s: &str) -> bool {
    s.bytes()
        .any(|b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xEF)
}
