//! One stanza read into a small element tree, for the client's own routing:
//! stream features, SASL and STARTTLS answers, bind results, stream errors,
//! presences and IQ headers.
//!
//! The tree is read with the workspace's bounded reader
//! ([`proxy_core::xml::Reader`]) under the same [`Limits`] as Jingle, so the
//! size, depth and markup rules are the same for every byte the server sends.
//! A stanza is at most [`Limits::max_bytes`] long, so its tree is bounded
//! too. Payloads with their own parser (Jingle IQs through
//! [`crate::envelope`], XEP-0215 answers through
//! [`proxy_core::extdisco::parse_services_result`]) are read again by it from
//! the text.

use proxy_core::xml::{Ev, Reader};
use proxy_core::{Limits, ParseError};

use crate::framing::{NS_CLIENT, NS_STREAMS};

/// `urn:ietf:params:xml:ns:xmpp-stanzas`, the namespace of stanza error conditions.
pub const NS_STANZAS: &str = "urn:ietf:params:xml:ns:xmpp-stanzas";
/// `urn:ietf:params:xml:ns:xmpp-streams`, the namespace of stream error conditions.
pub const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";

/// Namespaces kept without copying.
const KNOWN: [&str; 4] = [NS_CLIENT, NS_STREAMS, NS_STANZAS, NS_STREAM_ERRORS];

/// One element: its name, namespace, attributes, text and children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// The local name.
    pub name: String,
    /// The namespace URI (empty for none).
    pub ns: String,
    /// Unprefixed attributes other than `xmlns`, in document order.
    pub attrs: Vec<(String, String)>,
    /// The text directly inside the element, concatenated.
    pub text: String,
    /// The child elements, in document order.
    pub children: Vec<Element>,
}

impl Element {
    /// Reads a complete stanza (one normalized [`crate::framing::Frame::Stanza`]).
    pub fn parse(input: &str, limits: &Limits) -> Result<Element, ParseError> {
        let mut rd = Reader::new(input, limits, &KNOWN)?;
        let root = rd.root()?;
        // An explicit stack keeps the depth of the Rust stack constant; the
        // reader enforces the nesting limit.
        let top = open(&root)?;
        if root.is_empty() {
            rd.end()?;
            return Ok(top);
        }
        let mut stack = vec![top];
        loop {
            match rd.next()? {
                Ev::Open(e) => {
                    let el = open(&e)?;
                    if e.is_empty() {
                        if let Some(parent) = stack.last_mut() {
                            parent.children.push(el);
                        }
                    } else {
                        stack.push(el);
                    }
                }
                Ev::Text(t) => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&t);
                    }
                }
                Ev::Close => {
                    // The reader matches end tags to start tags, so the
                    // stack holds the element being closed.
                    let Some(done) = stack.pop() else {
                        return Err(rd.error_here("end tag without a start tag"));
                    };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(done),
                        None => {
                            rd.end()?;
                            return Ok(done);
                        }
                    }
                }
                Ev::Eof => return Err(rd.error_here("unexpected end of input")),
            }
        }
    }

    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child named `name` in namespace `ns`.
    pub fn child(&self, name: &str, ns: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name && c.ns == ns)
    }

    /// Whether this is `name` in namespace `ns`.
    pub fn is(&self, name: &str, ns: &str) -> bool {
        self.name == name && self.ns == ns
    }

    /// The defined condition of an error element: the local name of its
    /// first child in `ns` other than `<text>`, and the text of `<text>`.
    pub fn condition(&self, ns: &str) -> (Option<&str>, Option<&str>) {
        let condition = self
            .children
            .iter()
            .find(|c| c.ns == ns && c.name != "text")
            .map(|c| c.name.as_str());
        let text = self.child("text", ns).map(|t| t.text.as_str());
        (condition, text)
    }

    /// For an `<iq>`, `<message>` or `<presence>` of type `error`, the
    /// defined condition of its `<error>` child (RFC 6120 §8.3).
    pub fn stanza_error(&self) -> Option<&str> {
        self.child("error", NS_CLIENT)
            .and_then(|e| e.condition(NS_STANZAS).0)
    }
}

fn open(e: &proxy_core::xml::Elem<'_>) -> Result<Element, ParseError> {
    let mut attrs = Vec::new();
    e.attrs(|k, v| {
        attrs.push((k.to_owned(), v.into_owned()));
        Ok(())
    })?;
    Ok(Element {
        name: e.local().to_owned(),
        ns: e.ns().to_owned(),
        attrs,
        text: String::new(),
        children: Vec::new(),
    })
}

/// The bare part of a JID (`local@domain` or `domain`, without `/resource`).
pub fn bare(jid: &str) -> &str {
    jid.split_once('/').map_or(jid, |(b, _)| b)
}
