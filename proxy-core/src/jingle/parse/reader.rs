//! A bounded, namespace-resolving event source over quick-xml's `Reader`.
//!
//! Everything the grammar in the parent module needs and nothing more: elements
//! with their resolved namespace, their attributes split once and kept as slices
//! of the input, text with references resolved, depth counted, DOCTYPE and
//! processing instructions refused, subtrees skipped without recursion.

use std::borrow::Cow;

use std::collections::HashMap;

use quick_xml::events::attributes::{AttrError, Attribute, Attributes};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{NamespaceError, PrefixDeclaration, QName};
use quick_xml::{Reader as XmlReader, XmlVersion};

use crate::error::{excerpt, truncate, ParseError, MAX_ERROR_TEXT};
use crate::jingle::{dtls, grouping, ice_udp, rtp, NS_JINGLE, NS_JINGLE_ERRORS};
use crate::message::{NS_CLIENT, NS_STANZAS};

use super::Limits;

/// Longest reader message copied into [`ParseError::Xml`].
const MAX_REASON: usize = 160;

/// Attribute names compared one by one in the duplicate check; a start tag
/// with more (lib-jitsi-meet's busiest, a `<candidate>`, has 11) uses a hash
/// map, so that one with thousands of attributes stays linear.
const SMALL_ATTRS: usize = 16;

/// The namespaces the grammar knows, resolved once per element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ns {
    /// No namespace at all.
    None,
    /// `jabber:client`.
    Client,
    /// `urn:ietf:params:xml:ns:xmpp-stanzas`.
    Stanzas,
    /// `urn:xmpp:jingle:1`.
    Jingle,
    /// `urn:xmpp:jingle:errors:1`.
    JingleErrors,
    /// `urn:xmpp:jingle:apps:grouping:0`.
    Grouping,
    /// `urn:xmpp:jingle:apps:rtp:1`.
    Rtp,
    /// `urn:xmpp:jingle:apps:rtp:rtcp-fb:0`.
    RtcpFb,
    /// `urn:xmpp:jingle:apps:rtp:rtp-hdrext:0`.
    Hdrext,
    /// `urn:xmpp:jingle:apps:rtp:ssma:0`.
    Ssma,
    /// `urn:xmpp:jingle:transports:ice-udp:1`.
    IceUdp,
    /// `urn:xmpp:jingle:apps:dtls:0`.
    Dtls,
    /// Anything else (kept truncated, only for error messages).
    Other(String),
}

impl Ns {
    const KNOWN: [(&'static str, Ns); 11] = [
        (NS_CLIENT, Ns::Client),
        (NS_STANZAS, Ns::Stanzas),
        (NS_JINGLE, Ns::Jingle),
        (NS_JINGLE_ERRORS, Ns::JingleErrors),
        (grouping::NS, Ns::Grouping),
        (rtp::NS, Ns::Rtp),
        (rtp::NS_RTCP_FB, Ns::RtcpFb),
        (rtp::NS_HDREXT, Ns::Hdrext),
        (rtp::NS_SSMA, Ns::Ssma),
        (ice_udp::NS, Ns::IceUdp),
        (dtls::NS, Ns::Dtls),
    ];

    fn from_uri(uri: &str) -> Ns {
        Ns::KNOWN
            .iter()
            .find(|(known, _)| *known == uri)
            .map(|(_, ns)| ns.clone())
            .unwrap_or_else(|| Ns::Other(excerpt(uri)))
    }

    /// The namespace URI (truncated for unknown ones).
    pub(super) fn as_str(&self) -> &str {
        match self {
            Ns::None => "",
            Ns::Other(s) => s,
            known => Ns::KNOWN
                .iter()
                .find(|(_, ns)| ns == known)
                .map_or("", |(uri, _)| uri),
        }
    }
}

/// One attribute as written in a start tag.
#[derive(Clone, Copy)]
struct RawAttr<'a> {
    key: &'a str,
    /// The value between the quotes, references not yet resolved.
    value: &'a str,
    /// The value holds none of `<`, `&`, tab, LF or CR, so normalizing it
    /// changes nothing and it can be handed over as it is.
    plain: bool,
    /// `xmlns`, `xmlns:p` or any other prefixed name: not for the grammar.
    hidden: bool,
}

impl<'a> RawAttr<'a> {
    /// An attribute split by quick-xml, its flags worked out here.
    fn of(key: &'a str, value: &'a str) -> RawAttr<'a> {
        RawAttr {
            key,
            value,
            plain: !value
                .bytes()
                .any(|b| matches!(b, b'<' | b'&' | b'\t' | b'\n' | b'\r')),
            hidden: key == "xmlns" || key.contains(':'),
        }
    }
}

/// A start tag's attributes, by quick-xml's rules.
///
/// The plain form, `name='value'` or `name="value"` after white space (every
/// attribute lib-jitsi-meet writes), is split here directly, exactly where
/// quick-xml's `Attributes` would split it, in one pass over the bytes that
/// also finds what [`RawAttr`] records. From the first attribute in any other
/// form on, quick-xml's iterator takes over, so every error is quick-xml's own.
struct AttrIter<'a> {
    buf: &'a str,
    /// Where the next attribute (or the white space before it) starts.
    pos: usize,
    slow: Option<Attributes<'a>>,
}

impl<'a> AttrIter<'a> {
    /// The attributes of `tag` (a start tag's content: the name, then the
    /// attributes), which start at `name_len`.
    fn new(tag: &'a str, name_len: usize) -> AttrIter<'a> {
        AttrIter {
            buf: tag,
            pos: name_len,
            slow: None,
        }
    }

    /// The next plain attribute: `Some(None)` at the end of the tag, `None`
    /// if the next attribute is not in the plain form.
    ///
    /// One pass over the name and one over the value, each branching only on
    /// the byte that ends it (`=`, the quote) and collecting what else it
    /// met through [`CLASS`]: a branch per kind of byte mispredicts often
    /// enough to cost more than everything else here.
    fn plain(&mut self) -> Option<Option<RawAttr<'a>>> {
        let b = self.buf.as_bytes();
        let mut i = self.pos;
        while b
            .get(i)
            .is_some_and(|&c| CLASS[usize::from(c)] & SPACE != 0)
        {
            i += 1;
        }
        let rest = b.get(i..)?;
        let (&first, _) = match rest.split_first() {
            Some(split) => split,
            None => return Some(None),
        };
        // Like quick-xml, the first byte belongs to the name whatever it is.
        let mut seen = CLASS[usize::from(first)] & COLON;
        let mut eq = None;
        for (j, &c) in rest.iter().enumerate().skip(1) {
            if c == b'=' {
                eq = Some(j);
                break;
            }
            seen |= CLASS[usize::from(c)];
        }
        let eq = eq?;
        if seen & SPACE != 0 {
            return None;
        }
        let quote = *rest.get(eq + 1)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let mut value_len = None;
        let mut special = 0;
        for (j, &c) in rest.get(eq + 2..)?.iter().enumerate() {
            if c == quote {
                value_len = Some(j);
                break;
            }
            special |= CLASS[usize::from(c)];
        }
        let value_len = value_len?;
        // Both ranges are bounded by ASCII bytes, so they are on char boundaries.
        let key = self.buf.get(i..i + eq)?;
        let value = self.buf.get(i + eq + 2..i + eq + 2 + value_len)?;
        self.pos = i + eq + 2 + value_len + 1;
        Some(Some(RawAttr {
            key,
            value,
            plain: special & SPECIAL == 0,
            hidden: seen & COLON != 0 || key == "xmlns",
        }))
    }
}

/// [`CLASS`] bit: XML white space.
const SPACE: u8 = 1;
/// [`CLASS`] bit: `:`.
const COLON: u8 = 2;
/// [`CLASS`] bit: a byte that normalization of a value would act on (or
/// refuse): `<`, `&`, tab, LF, CR.
const SPECIAL: u8 = 4;
/// What [`AttrIter`] needs to know of each byte.
static CLASS: [u8; 256] = {
    let mut class = [0; 256];
    class[b' ' as usize] = SPACE;
    class[b'\t' as usize] = SPACE | SPECIAL;
    class[b'\n' as usize] = SPACE | SPECIAL;
    class[b'\r' as usize] = SPACE | SPECIAL;
    class[b':' as usize] = COLON;
    class[b'<' as usize] = SPECIAL;
    class[b'&' as usize] = SPECIAL;
    class
};

impl<'a> Iterator for AttrIter<'a> {
    type Item = Result<RawAttr<'a>, AttrError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.slow.is_none() {
            match self.plain() {
                Some(Some(attr)) => return Some(Ok(attr)),
                Some(None) => return None,
                None => {
                    let mut slow = Attributes::new(self.buf, self.pos);
                    slow.with_checks(false);
                    self.slow = Some(slow);
                }
            }
        }
        let attr = self.slow.as_mut()?.next()?;
        Some(attr.and_then(|a| match a.value {
            Cow::Borrowed(value) => Ok(RawAttr::of(a.key.into_inner(), value)),
            // quick-xml's `Attributes` over a borrowed tag only ever borrows.
            Cow::Owned(_) => Err(AttrError::ExpectedValue(self.pos)),
        }))
    }
}

/// One element start (`<x …>` or `<x …/>`) with its resolved namespace.
pub(super) struct Elem<'i> {
    /// The start tag's content: the name, then the attributes.
    tag: &'i str,
    /// The length of the (qualified) name.
    name_len: usize,
    /// Where the local name starts in the tag (after the prefix and `:`).
    local_at: usize,
    /// Byte offset of the `<` of the start tag.
    at: u64,
    /// The element's namespace.
    pub(super) ns: Ns,
    /// `<x/>`: there are no children and no end tag to consume.
    pub(super) empty: bool,
    /// The error of the first attribute that is not well formed or not unique
    /// (the ones before it are in [`Reader`]'s spans), reported once the
    /// grammar reads the attributes.
    deferred: Option<Box<quick_xml::Error>>,
}

impl<'i> Elem<'i> {
    /// The local name (without prefix).
    pub(super) fn local(&self) -> &'i str {
        self.tag
            .get(self.local_at..self.name_len)
            .unwrap_or(self.tag)
    }

    /// Fails with [`ParseError::Namespace`] unless the element is in `expected`.
    pub(super) fn expect_ns(
        &self,
        expected: Ns,
        expected_uri: &'static str,
    ) -> Result<(), ParseError> {
        if self.ns == expected {
            Ok(())
        } else {
            Err(ParseError::Namespace {
                element: excerpt(self.local()),
                found: self.ns.as_str().to_owned(),
                expected: expected_uri,
            })
        }
    }

    /// The attributes [`Reader::scan`] kept, split again, for a tag that is
    /// no longer the last one read (its declarations are already in scope, and
    /// its first error is in `deferred`).
    fn split_again(&self) -> Vec<RawAttr<'i>> {
        let mut kept = Vec::new();
        // Only declaring can fail, and nothing is declared here.
        let _ = split_attrs(self.tag, self.name_len, &mut kept, |_, _| Ok(()));
        kept
    }

    /// One attribute of [`Reader::attrs`], already known to be well formed and unique.
    fn attr(
        &self,
        attr: RawAttr<'i>,
        f: &mut impl FnMut(&str, Cow<'i, str>) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        // Without `<`, `&`, tab, LF or CR a value is neither refused nor changed
        // by normalization (which only replaces references and tab/CR/LF).
        if attr.plain {
            return if attr.hidden {
                Ok(())
            } else {
                f(attr.key, Cow::Borrowed(attr.value))
            };
        }
        if attr.value.contains('<') {
            return Err(ParseError::Xml {
                at: self.at,
                reason: "'<' in an attribute value".into(),
            });
        }
        if attr.hidden {
            return Ok(());
        }
        let value = Attribute {
            key: QName(attr.key),
            value: Cow::Borrowed(attr.value),
        }
        .normalized_value(XmlVersion::Implicit1_0)
        .map_err(|e| self.xml_error(&e))?;
        // A character reference may name a character XML cannot carry (`&#3;`):
        // refused, as in text, so the model only holds what can be written back.
        if !value.chars().all(is_xml_char) {
            return Err(ParseError::Xml {
                at: self.at,
                reason: "character reference to a non-XML char".into(),
            });
        }
        f(attr.key, value)
    }

    fn xml_error(&self, e: &quick_xml::Error) -> ParseError {
        ParseError::Xml {
            at: self.at,
            reason: truncate(&e.to_string(), MAX_REASON).to_owned(),
        }
    }
}

/// Splits the attributes of `tag` (a start tag's content; they start at
/// `name_len`) into `kept`: the well-formed, unique ones, up to the first that
/// is not, whose error (quick-xml's, with quick-xml's positions) is returned.
/// `declare` gets every namespace declaration before the first syntax error,
/// as quick-xml's `NsReader` takes them; its error ends the split.
fn split_attrs<'i>(
    tag: &'i str,
    name_len: usize,
    kept: &mut Vec<RawAttr<'i>>,
    mut declare: impl FnMut(Option<&'i str>, &'i str) -> Result<(), NamespaceError>,
) -> Result<Option<Box<quick_xml::Error>>, NamespaceError> {
    kept.clear();
    let base = tag.as_ptr() as usize;
    let offset = |s: &str| (s.as_ptr() as usize).saturating_sub(base);
    // Names seen, beyond the first `SMALL_ATTRS` (compared in `kept`).
    let mut many: Option<HashMap<&str, usize>> = None;
    let mut deferred = None;
    for attr in AttrIter::new(tag, name_len) {
        let attr = match attr {
            Ok(attr) => attr,
            Err(e) => {
                deferred.get_or_insert(Box::new(quick_xml::Error::InvalidAttr(e)));
                break;
            }
        };
        if attr.hidden {
            match QName(attr.key).as_namespace_binding() {
                Some(PrefixDeclaration::Default) => declare(None, attr.value)?,
                Some(PrefixDeclaration::Named(p)) => declare(Some(p), attr.value)?,
                None => {}
            }
        }
        if deferred.is_some() {
            continue;
        }
        let seen = if kept.len() < SMALL_ATTRS {
            kept.iter()
                .find(|s| same(s.key, attr.key))
                .map(|s| offset(s.key))
        } else {
            let many =
                many.get_or_insert_with(|| kept.iter().map(|s| (s.key, offset(s.key))).collect());
            many.insert(attr.key, offset(attr.key))
        };
        match seen {
            // As quick-xml reports it: this name's offset, then the first one's.
            Some(prev) => {
                deferred = Some(Box::new(quick_xml::Error::InvalidAttr(
                    AttrError::Duplicated(offset(attr.key), prev),
                )))
            }
            None => kept.push(attr),
        }
    }
    Ok(deferred)
}

/// `xml`'s namespace, bound to its prefix from the start (XML Namespaces §3).
pub(super) const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
/// `xmlns`'s namespace, likewise.
pub(super) const NS_XMLNS: &str = "http://www.w3.org/2000/xmlns/";
/// Most bindings in scope at once, as quick-xml's `NamespaceResolver` allows.
const MAX_BINDINGS: usize = quick_xml::name::DEFAULT_MAX_NAMESPACE_BINDINGS;

/// One `xmlns` / `xmlns:p` declaration in scope.
struct Binding<'i> {
    /// `""` for the default namespace.
    prefix: &'i str,
    /// The URI as written; empty undeclares (`xmlns=''`, `xmlns:p=''`).
    uri: &'i str,
    /// What the URI is, worked out once, where it is declared.
    ns: Ns,
    /// The nesting level of the element declaring it.
    level: usize,
}

/// The namespace bindings in scope, by quick-xml's `NamespaceResolver` rules
/// and with its errors, but borrowing prefixes and URIs from the input and
/// knowing each URI's [`Ns`] from its declaration on: elements are resolved
/// without copying or comparing URIs.
#[derive(Default)]
struct Scopes<'i> {
    bindings: Vec<Binding<'i>>,
    level: usize,
}

impl<'i> Scopes<'i> {
    /// An element opens: its declarations follow.
    fn push(&mut self) {
        self.level += 1;
    }

    /// The element open last closes, with its declarations.
    fn pop(&mut self) {
        while self.bindings.last().is_some_and(|b| b.level >= self.level) {
            self.bindings.pop();
        }
        self.level = self.level.saturating_sub(1);
    }

    /// A declaration (`prefix` is `None` for `xmlns`) on the element open last.
    fn add(&mut self, prefix: Option<&'i str>, uri: &'i str) -> Result<(), NamespaceError> {
        match prefix {
            // `xml` may only be bound to its own namespace, which it already is.
            Some("xml") if uri == NS_XML => return Ok(()),
            Some("xml") => return Err(NamespaceError::InvalidXmlPrefixBind(uri.to_owned())),
            Some("xmlns") => return Err(NamespaceError::InvalidXmlnsPrefixBind(uri.to_owned())),
            Some(p) if uri == NS_XML => {
                return Err(NamespaceError::InvalidPrefixForXml(p.to_owned()))
            }
            Some(p) if uri == NS_XMLNS => {
                return Err(NamespaceError::InvalidPrefixForXmlns(p.to_owned()))
            }
            _ => {}
        }
        if self.bindings.len() >= MAX_BINDINGS {
            return Err(NamespaceError::TooManyBindings(MAX_BINDINGS));
        }
        self.bindings.push(Binding {
            prefix: prefix.unwrap_or(""),
            uri,
            ns: if uri.is_empty() {
                Ns::None
            } else {
                Ns::from_uri(uri)
            },
            level: self.level,
        });
        Ok(())
    }

    /// The namespace of an element named `prefix:local` (`prefix` is `None`
    /// without a colon): `Err` with the prefix if it is not declared.
    fn resolve(&self, prefix: Option<&'i str>) -> Result<Ns, &'i str> {
        let p = prefix.unwrap_or("");
        // An empty prefix names no binding, not even the default one (`<:a>`).
        let found = match prefix {
            Some("") => None,
            _ => self.bindings.iter().rev().find(|b| same(b.prefix, p)),
        };
        match found {
            Some(b) if !b.uri.is_empty() => Ok(b.ns.clone()),
            // Undeclared (or undeclared again): no namespace without a prefix.
            _ if prefix.is_none() => Ok(Ns::None),
            None if p == "xml" => Ok(Ns::Other(NS_XML.to_owned())),
            None if p == "xmlns" => Ok(Ns::Other(NS_XMLNS.to_owned())),
            _ => Err(p),
        }
    }
}

/// What the grammar sees.
pub(super) enum Ev<'i> {
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
pub(super) struct Reader<'i> {
    /// The whole input, which every tag and attribute borrows from.
    input: &'i str,
    r: XmlReader<&'i [u8]>,
    /// The namespace bindings in scope, one level per open element.
    ns: Scopes<'i>,
    max_depth: usize,
    /// Open elements right now.
    depth: usize,
    /// Nothing but (maybe) the XML declaration has been read yet.
    at_start: bool,
    /// The well-formed, unique attributes of the start tag read last.
    spans: Vec<RawAttr<'i>>,
    /// The `at` of that start tag.
    spans_at: u64,
}

impl<'i> Reader<'i> {
    pub(super) fn new(input: &'i str, limits: &Limits) -> Reader<'i> {
        let mut r = XmlReader::from_str(input);
        let config = r.config_mut();
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.allow_dangling_amp = false;
        config.allow_unmatched_ends = false;
        Reader {
            input,
            r,
            ns: Scopes::default(),
            max_depth: limits.max_depth,
            depth: 0,
            at_start: true,
            spans: Vec::with_capacity(SMALL_ATTRS),
            spans_at: u64::MAX,
        }
    }

    /// Byte offset of the reader.
    pub(super) fn pos(&self) -> u64 {
        self.r.buffer_position()
    }

    /// A [`ParseError::Xml`] from a reader error, with a bounded message.
    pub(super) fn xml_error(&self, e: &quick_xml::Error) -> ParseError {
        ParseError::Xml {
            at: self.r.error_position(),
            reason: truncate(&e.to_string(), MAX_REASON).to_owned(),
        }
    }

    /// A [`ParseError::Xml`] at the current position.
    pub(super) fn error_here(&self, reason: &str) -> ParseError {
        ParseError::Xml {
            at: self.pos(),
            reason: reason.to_owned(),
        }
    }

    fn too_deep(&self) -> ParseError {
        ParseError::TooDeep {
            limit: self.max_depth,
            at: self.pos(),
        }
    }

    fn forbidden(&self, what: &'static str) -> ParseError {
        ParseError::Forbidden {
            what,
            at: self.r.buffer_position(),
        }
    }

    /// The one pass over the attributes of a start tag just read (at `at`):
    /// opens a namespace scope with its `xmlns` / `xmlns:p` declarations (as
    /// quick-xml's `NsReader` would: every declaration before the first syntax
    /// error), and keeps the attributes that are well formed and unique, up to
    /// the first that is not, whose error is returned for [`Reader::attrs`] to
    /// report once the grammar reads them.
    fn scan(
        &mut self,
        tag: &'i str,
        name_len: usize,
        at: u64,
    ) -> Result<Option<Box<quick_xml::Error>>, ParseError> {
        self.ns.push();
        self.spans_at = at;
        let mut kept = std::mem::take(&mut self.spans);
        let ns = &mut self.ns;
        let split = split_attrs(tag, name_len, &mut kept, |prefix, uri| ns.add(prefix, uri));
        self.spans = kept;
        split.map_err(|e| self.xml_error(&quick_xml::Error::Namespace(e)))
    }

    /// `start`'s content as a slice of the input (quick-xml's reader over a
    /// `&str` hands out borrowed slices of it).
    fn tag_of(&self, start: &BytesStart<'_>) -> Result<&'i str, ParseError> {
        let content: &str = start;
        let offset = (content.as_ptr() as usize).wrapping_sub(self.input.as_ptr() as usize);
        match self.input.get(offset..offset.saturating_add(content.len())) {
            Some(tag) if tag.as_ptr() == content.as_ptr() => Ok(tag),
            _ => Err(self.error_here("start tag not borrowed from the input")),
        }
    }

    /// The [`Elem`] of a start tag already scanned, with its namespace resolved.
    fn open(
        &mut self,
        tag: &'i str,
        name_len: usize,
        at: u64,
        empty: bool,
        deferred: Option<Box<quick_xml::Error>>,
    ) -> Result<Ev<'i>, ParseError> {
        let name = tag.get(..name_len).unwrap_or(tag);
        // As quick-xml splits a name: at its first colon.
        let (prefix, local_at) = match name.find(':') {
            Some(colon) => (name.get(..colon), colon + 1),
            None => (None, 0),
        };
        let ns = self.ns.resolve(prefix).map_err(|prefix| ParseError::Xml {
            at: self.pos(),
            reason: format!(
                "undeclared namespace prefix {:?}",
                truncate(prefix, MAX_ERROR_TEXT)
            ),
        })?;
        Ok(Ev::Open(Elem {
            tag,
            name_len,
            local_at,
            at,
            ns,
            empty,
            deferred,
        }))
    }

    /// Calls `f(name, value)` for every unprefixed attribute of `e` other than
    /// `xmlns`, with the value unescaped and normalized. Stops at the first
    /// error. Syntax errors in attributes are reported at the start of the tag.
    pub(super) fn attrs(
        &self,
        e: &Elem<'i>,
        mut f: impl FnMut(&str, Cow<'i, str>) -> Result<(), ParseError>,
    ) -> Result<(), ParseError> {
        let again;
        let kept = if self.spans_at == e.at {
            &self.spans
        } else {
            again = e.split_again();
            &again
        };
        for attr in kept {
            e.attr(*attr, &mut f)?;
        }
        match &e.deferred {
            Some(error) => Err(e.xml_error(error)),
            None => Ok(()),
        }
    }

    /// Checks that every attribute of `e` is well formed, keeping none.
    pub(super) fn check_attrs(&self, e: &Elem<'i>) -> Result<(), ParseError> {
        self.attrs(e, |_, _| Ok(()))
    }

    /// The next event that matters to the grammar.
    pub(super) fn next(&mut self) -> Result<Ev<'i>, ParseError> {
        loop {
            let before = self.r.buffer_position();
            let event = match self.r.read_event() {
                Ok(event) => event,
                Err(e) => return Err(self.xml_error(&e)),
            };
            let at_start = std::mem::replace(&mut self.at_start, false);
            return match event {
                Event::Start(start) => {
                    let (tag, name_len) = (self.tag_of(&start)?, start.name().as_ref().len());
                    let scanned = self.scan(tag, name_len, before)?;
                    self.depth += 1;
                    if self.depth > self.max_depth {
                        return Err(self.too_deep());
                    }
                    self.open(tag, name_len, before, false, scanned)
                }
                Event::Empty(start) => {
                    let (tag, name_len) = (self.tag_of(&start)?, start.name().as_ref().len());
                    let scanned = self.scan(tag, name_len, before)?;
                    if self.depth >= self.max_depth {
                        return Err(self.too_deep());
                    }
                    let open = self.open(tag, name_len, before, true, scanned);
                    // An empty element's declarations end with it.
                    self.ns.pop();
                    open
                }
                Event::End(_) => {
                    self.ns.pop();
                    self.depth = self.depth.saturating_sub(1);
                    Ok(Ev::Close)
                }
                Event::Text(text) => Ok(Ev::Text(text.xml10_content())),
                Event::CData(cdata) => Ok(Ev::Text(cdata.xml10_content())),
                Event::GeneralRef(reference) => {
                    if let Some(resolved) = quick_xml::escape::resolve_predefined_entity(&reference)
                    {
                        return Ok(Ev::Text(Cow::Borrowed(resolved)));
                    }
                    match reference.resolve_char_ref() {
                        Ok(Some(c)) if is_xml_char(c) => Ok(Ev::Text(Cow::Owned(c.to_string()))),
                        Ok(Some(_)) => {
                            Err(self.error_here("character reference to a non-XML char"))
                        }
                        Ok(None) => Err(ParseError::Xml {
                            at: self.pos(),
                            reason: format!(
                                "undeclared entity &{};",
                                truncate(&reference, MAX_ERROR_TEXT)
                            ),
                        }),
                        Err(e) => Err(self.xml_error(&e)),
                    }
                }
                Event::Comment(_) => continue,
                Event::Decl(_) if at_start => continue,
                Event::Decl(_) => Err(self.forbidden("XML declaration after the start")),
                Event::PI(_) => Err(self.forbidden("processing instruction")),
                Event::DocType(_) => Err(self.forbidden("DOCTYPE")),
                Event::Eof if self.depth > 0 => {
                    Err(self.error_here("unexpected end of input inside an element"))
                }
                Event::Eof => Ok(Ev::Eof),
            };
        }
    }

    /// The next child element of `parent`, or `None` once `parent` is closed.
    /// Text between children is ignored. Each child returned must be consumed
    /// (parsed to its end, or passed to [`Reader::skip`]) before the next call.
    pub(super) fn child(&mut self, parent: &Elem<'_>) -> Result<Option<Elem<'i>>, ParseError> {
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

    /// Consumes `e` and everything inside it, checking well-formedness (and the
    /// depth limit) but keeping nothing. Iterative, so any nesting is safe.
    pub(super) fn skip(&mut self, e: Elem<'_>) -> Result<(), ParseError> {
        self.check_attrs(&e)?;
        self.skip_checked(e)
    }

    /// [`Reader::skip`] for an element whose attributes [`Reader::attrs`] has
    /// already read (and so checked) in full: only its content is checked.
    pub(super) fn skip_checked(&mut self, e: Elem<'_>) -> Result<(), ParseError> {
        if e.empty {
            return Ok(());
        }
        let target = self.depth.saturating_sub(1);
        while self.depth > target {
            match self.next()? {
                Ev::Open(inner) => self.check_attrs(&inner)?,
                Ev::Close | Ev::Text(_) => {}
                Ev::Eof => return Err(self.error_here("unexpected end of input")),
            }
        }
        Ok(())
    }

    /// The text content of `e`, consuming it; child elements are skipped.
    pub(super) fn text(&mut self, e: Elem<'i>) -> Result<Cow<'i, str>, ParseError> {
        self.check_attrs(&e)?;
        self.text_checked(e)
    }

    /// [`Reader::text`] for an element whose attributes [`Reader::attrs`] has
    /// already read (and so checked) in full.
    /// The text is borrowed from the input when it is one piece without
    /// references (the usual case).
    pub(super) fn text_checked(&mut self, e: Elem<'i>) -> Result<Cow<'i, str>, ParseError> {
        let mut out = Cow::Borrowed("");
        if e.empty {
            return Ok(out);
        }
        loop {
            match self.next()? {
                Ev::Text(t) if out.is_empty() => out = t,
                Ev::Text(t) => out.to_mut().push_str(&t),
                Ev::Open(inner) => self.skip(inner)?,
                Ev::Close => return Ok(out),
                Ev::Eof => return Err(self.error_here("unexpected end of input")),
            }
        }
    }
}

/// `a == b` for the short names compared per element and per attribute:
/// lengths, then the first and last bytes, and only then the rest. Most pairs
/// differ in one of those (or are both empty), so the call to `memcmp` that
/// `==` makes, which costs more than the comparison itself for a few bytes, is
/// rarely reached.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len()
        && (a.is_empty() || (a.first() == b.first() && a.last() == b.last() && a == b))
}

/// XML 1.0 `Char`.
pub(super) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// XML white space.
pub(super) fn is_xml_space(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quick_xml::name::ResolveResult;

    /// Each element's namespace URI, or the error that stopped the reading.
    type Resolved = Vec<Result<String, String>>;

    /// Every element's namespace (or the error) by [`Reader`], and by
    /// quick-xml's own `NsReader`, whose rules [`Scopes`] follows.
    fn both(xml: &str) -> (Resolved, Resolved) {
        let mut ours = Vec::new();
        let mut rd = Reader::new(xml, &Limits::default());
        loop {
            match rd.next() {
                Ok(Ev::Open(e)) => ours.push(Ok(e.ns.as_str().to_owned())),
                Ok(Ev::Eof) => break,
                Ok(_) => {}
                Err(e) => {
                    ours.push(Err(e.to_string()));
                    break;
                }
            }
        }
        let mut theirs = Vec::new();
        let mut ns = quick_xml::NsReader::from_str(xml);
        loop {
            match ns.read_resolved_event() {
                Ok((r, Event::Start(_) | Event::Empty(_))) => match r {
                    ResolveResult::Unbound => theirs.push(Ok(String::new())),
                    ResolveResult::Bound(uri) => {
                        theirs.push(Ok(Ns::from_uri(uri.0).as_str().to_owned()))
                    }
                    // Where `Reader` stops with an error.
                    ResolveResult::Unknown(p) => {
                        theirs.push(Err(format!("unknown prefix {p}")));
                        break;
                    }
                },
                Ok((_, Event::Eof)) => break,
                Ok(_) => {}
                Err(e) => {
                    theirs.push(Err(e.to_string()));
                    break;
                }
            }
        }
        (ours, theirs)
    }

    /// The attributes of `xml`'s root, read while it is the last tag read and
    /// again after its first child: the same names, values and error.
    fn root_attrs_twice(xml: &str) -> [Result<Vec<(String, String)>, String>; 2] {
        let mut rd = Reader::new(xml, &Limits::default());
        let Ok(Ev::Open(root)) = rd.next() else {
            panic!("{xml}: no root")
        };
        let read = |rd: &Reader<'_>| {
            let mut got = Vec::new();
            rd.attrs(&root, |k, v| {
                got.push((k.to_owned(), v.into_owned()));
                Ok(())
            })
            .map(|()| got)
            .map_err(|e| e.to_string())
        };
        let first = read(&rd);
        assert!(matches!(rd.next(), Ok(Ev::Open(_))), "{xml}: no child");
        [first, read(&rd)]
    }

    #[test]
    fn attributes_read_after_a_child_are_the_same() {
        for xml in [
            "<a x='1' y='a&amp;b' xmlns='urn:x' p:z='2' xmlns:p='urn:p'><b c='3'/></a>",
            "<a x='1' x='2'><b/></a>",
            "<a x='1' y><b/></a>",
            "<a x='1' y='<'><b/></a>",
        ] {
            let [first, again] = root_attrs_twice(xml);
            assert_eq!(first, again, "{xml}");
        }
        let [first, _] = root_attrs_twice("<a x='1' x='2'><b/></a>");
        assert!(first.is_err(), "the duplicate is reported");
    }

    #[test]
    fn namespaces_resolve_as_quick_xml_resolves_them() {
        let many: String = (0..MAX_BINDINGS + 1)
            .map(|i| format!(" xmlns:p{i}='urn:{i}'"))
            .collect();
        let too_many = format!("<a{many}/>");
        let cases = [
            "<a xmlns='urn:xmpp:jingle:1'><b/><c xmlns=''><d/></c><e/></a>",
            "<p:a xmlns:p='urn:xmpp:jingle:1'><p:b/><b/><p:c xmlns:p='jabber:client'/></p:a>",
            "<a xmlns:p='urn:x'><p:b xmlns:p=''/></a>",
            "<xml:a/>",
            "<a xmlns:xml='http://www.w3.org/XML/1998/namespace'><xml:b/></a>",
            "<a xmlns:xml='urn:other'/>",
            "<a xmlns:xmlns='urn:other'/>",
            "<a xmlns:p='http://www.w3.org/XML/1998/namespace'/>",
            "<a xmlns:p='http://www.w3.org/2000/xmlns/'/>",
            "<a xmlns:='urn:x'><b/><:c/></a>",
            "<:a/>",
            "<q:a/>",
            "<a xmlns='urn:1'><b xmlns='urn:2'><c/></b><d/></a>",
            "<a xmlns='urn:1'><b xmlns='urn:2'/><d/></a>",
            &too_many,
        ];
        for case in cases {
            let (ours, theirs) = both(case);
            assert_eq!(ours.len(), theirs.len(), "{case}: {ours:?} vs {theirs:?}");
            for (o, t) in ours.iter().zip(&theirs) {
                match (o, t) {
                    (Ok(o), Ok(t)) => assert_eq!(o, t, "{case}"),
                    // The same condition, in our words or in quick-xml's.
                    (Err(o), Err(t)) if t.starts_with("unknown prefix") => {
                        assert!(o.contains("undeclared namespace prefix"), "{case}: {o}")
                    }
                    (Err(o), Err(t)) => assert!(o.contains(t.as_str()), "{case}: {o} / {t}"),
                    _ => panic!("{case}: {ours:?} vs {theirs:?}"),
                }
            }
        }
    }

    /// A random element tree: names with and without prefixes (declared,
    /// undeclared, reserved, empty) and declarations of every kind.
    fn tree(depth: u32) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let name = prop::sample::select(vec!["a", "p:a", "q:b", "xml:c", "xmlns:d", ":e", "p:"]);
        let key = prop::sample::select(vec![
            "xmlns",
            "xmlns:p",
            "xmlns:q",
            "xmlns:xml",
            "xmlns:xmlns",
            "xmlns:",
            "other",
        ]);
        let uri = prop::sample::select(vec![
            "",
            NS_JINGLE,
            "jabber:client",
            "urn:x",
            NS_XML,
            NS_XMLNS,
        ]);
        let attrs = |decls: Vec<(&str, &str)>| -> String {
            decls.iter().map(|(k, v)| format!(" {k}='{v}'")).collect()
        };
        let leaf = (name, prop::collection::vec((key, uri), 0..3))
            .prop_map(move |(name, decls)| format!("<{name}{}/>", attrs(decls)));
        leaf.prop_recursive(depth, 24, 3, move |inner| {
            (
                prop::sample::select(vec!["a", "p:a", "q:b", "xml:c"]),
                prop::collection::vec(
                    (
                        prop::sample::select(vec!["xmlns", "xmlns:p", "xmlns:q"]),
                        prop::sample::select(vec!["", NS_JINGLE, "urn:x"]),
                    ),
                    0..2,
                ),
                prop::collection::vec(inner, 0..3),
            )
                .prop_map(move |(name, decls, children)| {
                    format!("<{name}{}>{}</{name}>", attrs(decls), children.concat())
                })
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        /// Random trees resolve element by element as quick-xml's `NsReader`
        /// resolves them, errors included.
        #[test]
        fn random_trees_resolve_as_quick_xml_resolves_them(xml in tree(4)) {
            let (ours, theirs) = both(&xml);
            proptest::prop_assert_eq!(ours.len(), theirs.len(), "{}: {:?} vs {:?}", xml, ours, theirs);
            for (o, t) in ours.iter().zip(&theirs) {
                match (o, t) {
                    (Ok(o), Ok(t)) => proptest::prop_assert_eq!(o, t, "{}", xml),
                    (Err(o), Err(t)) if t.starts_with("unknown prefix") => {
                        proptest::prop_assert!(o.contains("undeclared namespace prefix"), "{}: {}", xml, o)
                    }
                    (Err(o), Err(t)) => proptest::prop_assert!(o.contains(t.as_str()), "{}: {} / {}", xml, o, t),
                    _ => proptest::prop_assert!(false, "{}: {:?} vs {:?}", xml, ours, theirs),
                }
            }
        }
    }
}
