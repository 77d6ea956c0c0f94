//! The XMPP stream cut into frames: over TCP (RFC 6120), where the server
//! writes one long XML document, and over WebSocket (RFC 7395), where every
//! message is one element. Both give the same [`Frame`]s, so the layers above
//! never know which transport carried them.
//!
//! - [`TcpFramer`] is incremental and sans-IO: [`push`](TcpFramer::push) the
//!   bytes a socket read gave, then call [`next`](TcpFramer::next) until it
//!   returns `None`. Any split of the bytes gives the same frames, also inside
//!   a tag or a UTF-8 sequence. [`reset`](TcpFramer::reset) starts a new
//!   stream (after SASL success or STARTTLS).
//! - [`ws_frame`] reads one WebSocket text message.
//! - [`tcp_open`], [`tcp_close`], [`ws_open`] and [`ws_close`] write the
//!   client's side of the stream's framing.
//!
//! Each top-level element comes out as [`Frame::Stanza`] with its text
//! *normalized*: over TCP a stanza inherits `xmlns='jabber:client'` from the
//! stream root and `<stream:features>` relies on the root's `xmlns:stream`, so
//! the framer writes those declarations into the element's start tag when it
//! does not carry them itself. A TCP stanza then reads exactly like its
//! WebSocket twin and can be parsed on its own.
//!
//! # Limits and what is refused
//!
//! Bounded by [`Limits`]: an element longer than [`Limits::max_bytes`]
//! (counted from its `<` to its last `>`; the `<?xml?>` declaration and the
//! stream header count separately) fails with
//! [`FramingError::TooLarge`] as soon as `max_bytes + 1` of its bytes are
//! buffered, without waiting for more; nesting deeper than
//! [`Limits::max_depth`] (the stanza itself is depth 1) fails with
//! [`FramingError::TooDeep`]. What RFC 6120 §11.1 forbids, DOCTYPE (so any
//! entity declaration), processing instructions, comments and references other
//! than the five predefined entities and character references, fails with
//! [`FramingError::Restricted`]. Anything else that is not well-formed fails
//! with [`FramingError::Malformed`] and a short excerpt of the input. An error
//! ends the stream: the framer returns it once and then nothing more.
//!
//! # How the TCP framer reads
//!
//! quick-xml's plain `Reader` reads the buffered bytes from the position where
//! the previous read stopped, up to the last `>` received, so it never sees a
//! tag, reference or UTF-8 sequence cut short except when a `>` sits inside an
//! attribute value; then the tag is read again when the next `>` arrives. The
//! framer keeps the element's names on a stack (at most `max_depth` of them)
//! to match end tags itself, since quick-xml, starting in the middle of a
//! document, cannot. The buffer holds the current element only: bytes of
//! frames already returned are dropped at the next push. A caller that drains
//! [`next`](TcpFramer::next) after every push keeps at most `max_bytes` plus
//! one push buffered.
//!
//! Why not `proxy_core`'s reader: it reads one complete message; here the
//! question is where a message ends in a stream that never does.

use std::fmt::Write as _;

use quick_xml::escape::{escape, resolve_predefined_entity, unescape};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use proxy_core::Limits;

/// The namespace of the stream root, `http://etherx.jabber.org/streams`.
pub const NS_STREAMS: &str = "http://etherx.jabber.org/streams";
/// The namespace of the WebSocket framing elements `<open/>` and `<close/>`.
pub const NS_FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";
/// The default namespace of a client stream.
pub const NS_CLIENT: &str = "jabber:client";

/// Longest excerpt of the input an error carries, in bytes.
const EXCERPT: usize = 48;

/// One unit of what the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The server opened its stream: `<stream:stream …>` over TCP,
    /// `<open …/>` over WebSocket.
    Open(StreamOpen),
    /// One complete top-level element as text: a stanza (`<iq>`, `<message>`,
    /// `<presence>`) or a stream-level element (`<stream:features>`,
    /// `<stream:error>`, SASL and STARTTLS elements), normalized to carry its
    /// namespace declarations (see the [module docs](self)).
    Stanza(String),
    /// The server closed its stream: `</stream:stream>` over TCP,
    /// `<close/>` over WebSocket.
    Close(StreamClose),
}

/// The attributes of the server's stream header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamOpen {
    /// The stream id (`id`), which SCRAM and resumption do not need but logs do.
    pub id: Option<String>,
    /// The server's domain (`from`).
    pub from: Option<String>,
    /// The addressee (`to`), rarely sent by servers.
    pub to: Option<String>,
    /// The protocol version (`version`), `1.0` for every modern server.
    pub version: Option<String>,
    /// The stream's default language (`xml:lang`).
    pub lang: Option<String>,
}

/// How the server closed its stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamClose {
    /// A WebSocket `<close see-other-uri='…'/>`: the server asks the client to
    /// reconnect there (RFC 7395 §3.6.1). Reported, never followed here.
    pub see_other_uri: Option<String>,
}

/// What XMPP's restricted XML (RFC 6120 §11.1) refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Restricted {
    /// A `<!DOCTYPE …>`, and with it any entity declaration.
    Doctype,
    /// A processing instruction, or an XML declaration not at the start.
    ProcessingInstruction,
    /// A comment.
    Comment,
    /// A reference to an entity other than the five predefined ones.
    Entity,
}

/// Why input is not well-formed XML or not an XMPP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Malformed {
    /// quick-xml's description of a syntax error.
    Syntax(String),
    /// An end tag that does not match the open element.
    MismatchedEndTag,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// A control character XML cannot carry.
    IllegalCharacter,
    /// Text between top-level elements other than whitespace.
    TextOutsideElement,
    /// Over TCP, the document does not begin with a `stream` element in the
    /// streams namespace.
    NotAStream,
    /// Over WebSocket, a message that is not exactly one complete element.
    NotOneElement,
}

/// Why the server's stream cannot be read. The stream is unusable afterwards.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    /// One element is longer than [`Limits::max_bytes`].
    #[error("server sent an element longer than {limit} bytes")]
    TooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// One element nests deeper than [`Limits::max_depth`].
    #[error("server sent an element nested deeper than {limit}")]
    TooDeep {
        /// The limit in force.
        limit: usize,
    },
    /// Markup restricted XML forbids.
    #[error("server sent XML that XMPP forbids ({what:?}) at {excerpt:?}")]
    Restricted {
        /// What was found.
        what: Restricted,
        /// The input where it was found, shortened.
        excerpt: String,
    },
    /// Input that is not well-formed XML or not an XMPP stream.
    #[error("server sent malformed XML ({problem:?}) at {excerpt:?}")]
    Malformed {
        /// What is wrong.
        problem: Malformed,
        /// The input where it went wrong, shortened.
        excerpt: String,
    },
}

/// Writes the client's TCP stream header for the domain `to`, with the XML
/// declaration, `version='1.0'` and an optional `xml:lang`.
pub fn tcp_open(to: &str, lang: Option<&str>) -> String {
    let mut out = format!(
        "<?xml version='1.0'?><stream:stream xmlns='{NS_CLIENT}' xmlns:stream='{NS_STREAMS}' \
         to='{}' version='1.0'",
        escape(to)
    );
    if let Some(lang) = lang {
        // Writing to a String cannot fail.
        let _ = write!(out, " xml:lang='{}'", escape(lang));
    }
    out.push('>');
    out
}

/// The client's TCP stream end, `</stream:stream>`.
pub fn tcp_close() -> &'static str {
    "</stream:stream>"
}

/// Writes the client's WebSocket `<open/>` for the domain `to`.
pub fn ws_open(to: &str) -> String {
    format!(
        "<open xmlns='{NS_FRAMING}' to='{}' version='1.0'/>",
        escape(to)
    )
}

/// The client's WebSocket `<close/>`.
pub fn ws_close() -> &'static str {
    "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"
}

/// A stanza as a WebSocket message: RFC 7395 §3.3.3 has every message stand
/// alone, so a stanza must declare `xmlns='jabber:client'` itself (Prosody
/// refuses one without it: `unsupported-stanza-type`). Added to the root
/// start tag when it declares no default namespace; anything else is kept.
pub fn ws_stanza(text: &str) -> std::borrow::Cow<'_, str> {
    let trimmed = text.trim_start();
    let Some(start) = first_start(trimmed) else {
        return text.into();
    };
    let qname = start.name();
    let name: &str = qname.as_ref();
    let is_stanza = matches!(name, "iq" | "message" | "presence");
    if !is_stanza || start.try_get_attribute("xmlns").ok().flatten().is_some() {
        return text.into();
    }
    let at = text.len() - trimmed.len() + 1 + name.len();
    format!("{} xmlns='{NS_CLIENT}'{}", &text[..at], &text[at..]).into()
}

/// Reads one WebSocket text message (RFC 7395): `<open/>`, `<close/>` or one
/// stanza. The message must hold exactly one element (whitespace around it
/// is tolerated) under the same [`Limits`] as TCP. A stanza without its own
/// `xmlns` is read as `jabber:client`, like a TCP one.
pub fn ws_frame(message: &str, limits: &Limits) -> Result<Frame, FramingError> {
    if message.len() > limits.max_bytes {
        return Err(FramingError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    let mut scanner = Scanner::new(*limits, Phase::Stream(Box::new(Root::websocket())));
    scanner.buf.extend_from_slice(message.as_bytes());
    let not_one = |at: &[u8]| FramingError::Malformed {
        problem: Malformed::NotOneElement,
        excerpt: excerpt(at, 0),
    };
    let element = match scanner.step()? {
        Some(Step::Element(element)) => element,
        // Nothing but whitespace, or an element cut short.
        None => return Err(not_one(message.as_bytes())),
        // An end tag at the top: the implicit root never closes.
        Some(Step::Open(_) | Step::Close) => return Err(not_one(message.as_bytes())),
    };
    if scanner.step()?.is_some() || scanner.scan < scanner.buf.len() {
        return Err(not_one(&scanner.buf[scanner.scan..]));
    }
    if element.ns.as_deref() == Some(NS_FRAMING) {
        match element.local.as_str() {
            "open" => return Ok(Frame::Open(stream_open(&element.text)?)),
            "close" => {
                let see_other_uri = first_start(&element.text)
                    .and_then(|start| attribute(&start, "see-other-uri"))
                    .transpose()?;
                return Ok(Frame::Close(StreamClose { see_other_uri }));
            }
            _ => {}
        }
    }
    Ok(Frame::Stanza(element.text))
}

/// Cuts the server's side of a TCP XMPP stream into [`Frame`]s.
///
/// Inputs: [`push`](Self::push) the bytes received and [`reset`](Self::reset)
/// when the stream restarts. Output: [`next`](Self::next), to be called until
/// it returns `None` after every push. Getters: [`buffered`](Self::buffered),
/// [`is_closed`](Self::is_closed).
///
/// ```
/// use proxy_xmpp::framing::{Frame, TcpFramer};
///
/// let mut framer = TcpFramer::new(Default::default());
/// framer.push(b"<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
///     xmlns:stream='http://etherx.jabber.org/streams' id='s1' from='example.org' \
///     version='1.0'>\n <iq type='result' id='b1'/> </stream:s");
/// let Some(Ok(Frame::Open(open))) = framer.next() else { panic!() };
/// assert_eq!(open.id.as_deref(), Some("s1"));
/// let Some(Ok(Frame::Stanza(iq))) = framer.next() else { panic!() };
/// assert_eq!(iq, "<iq xmlns='jabber:client' type='result' id='b1'/>");
/// assert!(framer.next().is_none()); // the end tag is not complete yet
/// framer.push(b"tream>");
/// assert!(matches!(framer.next(), Some(Ok(Frame::Close(_)))));
/// ```
#[derive(Debug)]
pub struct TcpFramer {
    scanner: Scanner,
}

impl TcpFramer {
    /// A framer for a new stream, before the server's header.
    pub fn new(limits: Limits) -> TcpFramer {
        TcpFramer {
            scanner: Scanner::new(limits, Phase::Prolog { declared: false }),
        }
    }

    /// Appends bytes received from the server. Bytes of frames already
    /// returned are dropped here. After an error or the end of the stream,
    /// bytes are discarded.
    pub fn push(&mut self, bytes: &[u8]) {
        let s = &mut self.scanner;
        if matches!(s.phase, Phase::Failed | Phase::Closed) {
            return;
        }
        s.compact();
        s.buf.extend_from_slice(bytes);
    }

    /// The next frame, `None` when more bytes are needed (or the stream has
    /// ended or failed). An error is returned once; the framer stays failed.
    #[allow(clippy::should_implement_trait)] // fallible and resumable: not an Iterator
    pub fn next(&mut self) -> Option<Result<Frame, FramingError>> {
        match self.scanner.step() {
            Ok(None) => None,
            Ok(Some(Step::Open(open))) => Some(Ok(Frame::Open(open))),
            Ok(Some(Step::Element(element))) => Some(Ok(Frame::Stanza(element.text))),
            Ok(Some(Step::Close)) => Some(Ok(Frame::Close(StreamClose::default()))),
            Err(e) => {
                self.scanner.phase = Phase::Failed;
                self.scanner.buf = Vec::new();
                self.scanner.done = 0;
                self.scanner.scan = 0;
                self.scanner.seen = 0;
                Some(Err(e))
            }
        }
    }

    /// Starts a new stream: the next bytes begin with the server's new
    /// header, as after SASL success (RFC 6120 §6.4.6) or STARTTLS (§5.4.3.3).
    /// Bytes received and not yet framed are kept: the server's new header
    /// may already be among them. After STARTTLS `<proceed/>`, any such byte
    /// was injected before TLS: check [`buffered`](Self::buffered) first.
    pub fn reset(&mut self) {
        let s = &mut self.scanner;
        if !matches!(s.phase, Phase::Failed) {
            s.phase = Phase::Prolog { declared: false };
            s.scan = s.done;
            s.seen = 0;
        }
    }

    /// Bytes received and not yet returned in a frame (whitespace between
    /// frames included until it has been read past).
    pub fn buffered(&self) -> usize {
        self.scanner.buf.len() - self.scanner.done
    }

    /// Whether the server's stream has ended (after [`Frame::Close`]).
    pub fn is_closed(&self) -> bool {
        matches!(self.scanner.phase, Phase::Closed)
    }
}

/// Where in the document the scanner is.
#[derive(Debug)]
enum Phase {
    /// Before the stream header; `declared` once `<?xml?>` was read.
    Prolog { declared: bool },
    /// Inside the stream root, between elements or within one.
    Stream(Box<Root>),
    /// After the root's end tag.
    Closed,
    /// After an error.
    Failed,
}

/// The stream root: its name and the namespaces its elements inherit.
#[derive(Debug)]
struct Root {
    /// The qualified name, to match `</stream:stream>`.
    name: String,
    /// The default namespace (`xmlns`).
    default_ns: Option<String>,
    /// Prefixed namespace declarations (`xmlns:p`), as (prefix, URI).
    prefixes: Vec<(String, String)>,
    /// The element being read, once its start tag has been.
    element: Option<Partial>,
}

impl Root {
    /// The implicit root of a WebSocket message: RFC 7395 stanzas stand alone,
    /// but a stanza without `xmlns` is read as the TCP one would be.
    fn websocket() -> Root {
        Root {
            name: String::new(),
            default_ns: Some(NS_CLIENT.to_owned()),
            prefixes: vec![("stream".to_owned(), NS_STREAMS.to_owned())],
            element: None,
        }
    }
}

/// A top-level element whose end has not been read yet.
#[derive(Debug)]
struct Partial {
    /// Open elements: ranges of their names relative to the element's start.
    open: Vec<(usize, usize)>,
    /// The top element's qualified name length.
    name_len: usize,
    /// The top element's local name.
    local: String,
    /// The top element's namespace, as declared on it or inherited.
    ns: Option<String>,
    /// Whether the top element declares `xmlns` itself.
    declares_default: bool,
    /// For each root prefix: used inside the element and not declared on it.
    needs_prefix: Vec<bool>,
    /// For each root prefix: declared on the top element itself.
    declares_prefix: Vec<bool>,
}

/// A complete top-level element.
#[derive(Debug)]
struct Element {
    text: String,
    local: String,
    ns: Option<String>,
}

/// What one step of the scanner produced.
#[derive(Debug)]
enum Step {
    Open(StreamOpen),
    Element(Element),
    Close,
}

/// The scanning state shared by the TCP framer and [`ws_frame`].
#[derive(Debug)]
struct Scanner {
    limits: Limits,
    buf: Vec<u8>,
    /// Bytes before it belong to frames already returned (or skipped
    /// whitespace); it is where the current element begins.
    done: usize,
    /// Bytes before it have been read by quick-xml.
    scan: usize,
    /// End of the window of the last read that needed more bytes: reading
    /// again is pointless until a `>` arrives after it.
    seen: usize,
    phase: Phase,
}

/// How a read of the window ended.
enum Read {
    /// An element, the header or the end of the stream.
    Step(Step),
    /// The window ends before the current element does.
    NeedMore,
    /// Bytes between elements were read and dropped.
    Consumed,
}

/// What the event handler decided.
enum Handled {
    Continue,
    /// Read and dropped: the declaration, whitespace between elements.
    Consumed,
    Done(Step),
}

impl Scanner {
    fn new(limits: Limits, phase: Phase) -> Scanner {
        Scanner {
            limits,
            buf: Vec::new(),
            done: 0,
            scan: 0,
            seen: 0,
            phase,
        }
    }

    /// Drops the bytes of returned frames.
    fn compact(&mut self) {
        if self.done > 0 {
            self.buf.drain(..self.done);
            self.scan -= self.done;
            self.seen = self.seen.saturating_sub(self.done);
            self.done = 0;
        }
    }

    fn between_elements(&self) -> bool {
        match &self.phase {
            Phase::Prolog { .. } => true,
            Phase::Stream(root) => root.element.is_none(),
            Phase::Closed | Phase::Failed => false,
        }
    }

    fn step(&mut self) -> Result<Option<Step>, FramingError> {
        if matches!(self.phase, Phase::Closed | Phase::Failed) {
            return Ok(None);
        }
        loop {
            if self.between_elements() {
                // Whitespace keepalives (RFC 6120 §4.6.1) and the newline before
                // a header: skipped here, so a long idle stream holds nothing.
                while self.scan < self.buf.len() && is_space(self.buf[self.scan]) {
                    self.scan += 1;
                }
                self.done = self.scan;
                match self.buf.get(self.scan) {
                    None => return Ok(None),
                    Some(b'<') => {}
                    Some(_) => {
                        return Err(FramingError::Malformed {
                            problem: Malformed::TextOutsideElement,
                            excerpt: excerpt(&self.buf[..self.scan + 1], self.scan),
                        })
                    }
                }
            }
            let limit_end = self.done + self.limits.max_bytes;
            let avail = self.buf.len().min(limit_end);
            let end = match self.buf[self.scan..avail].iter().rposition(|&b| b == b'>') {
                Some(i) => self.scan + i + 1,
                None => self.scan,
            };
            if end > self.seen.max(self.scan) {
                match self.read(end)? {
                    Read::Step(step) => return Ok(Some(step)),
                    Read::NeedMore => self.seen = end,
                    // Bytes before the next element were dropped: that element
                    // starts over at the top, with its own limit.
                    Read::Consumed => continue,
                }
            }
            if self.buf.len() > self.done + self.limits.max_bytes {
                return Err(FramingError::TooLarge {
                    limit: self.limits.max_bytes,
                });
            }
            return Ok(None);
        }
    }

    /// Reads events in `buf[scan..end]` until an element completes or the
    /// window ends.
    fn read(&mut self, end: usize) -> Result<Read, FramingError> {
        let start = self.scan;
        let window = &self.buf[start..end];
        let mut reader = Reader::from_reader(window);
        let config = reader.config_mut();
        config.check_end_names = false;
        config.allow_unmatched_ends = true;
        config.check_comments = false;
        loop {
            let before = start + (window.len() - reader.get_ref().len());
            let event = reader.read_event();
            let after = start + (window.len() - reader.get_ref().len());
            match event {
                Ok(Event::Eof) => {
                    self.scan = after;
                    return Ok(Read::NeedMore);
                }
                Ok(event) => {
                    let handled = handle(
                        &mut self.phase,
                        &self.limits,
                        &self.buf[..end],
                        self.done,
                        before,
                        after,
                        event,
                    )?;
                    self.scan = after;
                    match handled {
                        Handled::Continue => {}
                        Handled::Consumed => {
                            self.done = after;
                            return Ok(Read::Consumed);
                        }
                        Handled::Done(step) => {
                            self.done = after;
                            self.seen = 0;
                            return Ok(Read::Step(step));
                        }
                    }
                }
                Err(quick_xml::Error::Syntax(_)) => {
                    // The window ends inside markup (a `>` in an attribute
                    // value, comment or CDATA): read it again when more comes.
                    // A syntax error before the window's end is reported when
                    // the element is complete or too large, not earlier.
                    self.scan = before;
                    return Ok(Read::NeedMore);
                }
                Err(e) => {
                    return Err(FramingError::Malformed {
                        problem: match e {
                            quick_xml::Error::Encoding(_) => Malformed::InvalidUtf8,
                            other => Malformed::Syntax(other.to_string()),
                        },
                        excerpt: excerpt(&self.buf, before),
                    })
                }
            }
        }
    }
}

/// Handles one event: `buf[before..after]` is its markup, `done` the start
/// of the current top-level element.
fn handle(
    phase: &mut Phase,
    limits: &Limits,
    buf: &[u8],
    done: usize,
    before: usize,
    after: usize,
    event: Event<'_>,
) -> Result<Handled, FramingError> {
    // The event's own markup: the same whatever split of the bytes.
    let markup = &buf[..after];
    let restricted = |what| FramingError::Restricted {
        what,
        excerpt: excerpt(markup, before),
    };
    let malformed = |problem| FramingError::Malformed {
        problem,
        excerpt: excerpt(markup, before),
    };
    match event {
        Event::DocType(_) => return Err(restricted(Restricted::Doctype)),
        Event::Comment(_) => return Err(restricted(Restricted::Comment)),
        Event::PI(_) => return Err(restricted(Restricted::ProcessingInstruction)),
        Event::GeneralRef(ref r) => {
            let known = if r.is_char_ref() {
                matches!(r.resolve_char_ref(), Ok(Some(c)) if is_xml_char(c))
            } else {
                resolve_predefined_entity(r).is_some()
            };
            if !known {
                return Err(restricted(Restricted::Entity));
            }
        }
        _ => {}
    }
    match phase {
        Phase::Prolog { declared } => match event {
            Event::Decl(_) if !*declared && before == done => {
                *declared = true;
                Ok(Handled::Consumed)
            }
            Event::Decl(_) => Err(restricted(Restricted::ProcessingInstruction)),
            Event::Start(start) => {
                check_chars(&buf[before..after]).map_err(malformed)?;
                let (root, open) = read_root(&start).map_err(malformed)?;
                *phase = Phase::Stream(Box::new(root));
                Ok(Handled::Done(Step::Open(open)))
            }
            Event::Text(t) if t.bytes().all(is_space) => Ok(Handled::Consumed),
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) => {
                Err(malformed(Malformed::TextOutsideElement))
            }
            _ => Err(malformed(Malformed::NotAStream)),
        },
        Phase::Stream(root) => match (root.element.as_mut(), event) {
            (_, Event::Decl(_)) => Err(restricted(Restricted::ProcessingInstruction)),
            (None, Event::Start(start)) => {
                root.element = Some(begin(root, &start, limits, buf, before)?);
                Ok(Handled::Continue)
            }
            (None, Event::Empty(start)) => {
                let element = begin(root, &start, limits, buf, before)?;
                finish(element, root, buf, done, after).map(|e| Handled::Done(Step::Element(e)))
            }
            (None, Event::End(end)) => {
                if root.name.is_empty() || end.name().as_ref() != root.name {
                    return Err(malformed(Malformed::MismatchedEndTag));
                }
                *phase = Phase::Closed;
                Ok(Handled::Done(Step::Close))
            }
            (None, Event::Text(t)) if t.bytes().all(is_space) => Ok(Handled::Consumed),
            (None, _) => Err(malformed(Malformed::TextOutsideElement)),
            (Some(element), Event::Start(start)) => {
                if element.open.len() >= limits.max_depth {
                    return Err(FramingError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                note_prefixes(&root.prefixes, element, &start, buf, before)?;
                let name = start.name();
                element.open.push((before + 1 - done, name.as_ref().len()));
                Ok(Handled::Continue)
            }
            (Some(element), Event::Empty(start)) => {
                if element.open.len() >= limits.max_depth {
                    return Err(FramingError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                note_prefixes(&root.prefixes, element, &start, buf, before)?;
                Ok(Handled::Continue)
            }
            (Some(element), Event::End(end)) => {
                let Some((at, len)) = element.open.pop() else {
                    // Cannot happen: the top element is on the stack until its
                    // end; treated as malformed rather than trusted.
                    return Err(malformed(Malformed::MismatchedEndTag));
                };
                if buf.get(done + at..done + at + len) != Some(end.name().as_ref().as_bytes()) {
                    return Err(malformed(Malformed::MismatchedEndTag));
                }
                if !element.open.is_empty() {
                    return Ok(Handled::Continue);
                }
                let Some(element) = root.element.take() else {
                    return Err(malformed(Malformed::MismatchedEndTag));
                };
                finish(element, root, buf, done, after).map(|e| Handled::Done(Step::Element(e)))
            }
            (Some(_), Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)) => {
                Ok(Handled::Continue)
            }
            (Some(_), _) => Err(malformed(Malformed::NotOneElement)),
        },
        Phase::Closed | Phase::Failed => Ok(Handled::Continue),
    }
}

/// Reads the stream header: `<stream:stream>` in the streams namespace.
fn read_root(start: &BytesStart<'_>) -> Result<(Root, StreamOpen), Malformed> {
    let mut root = Root {
        name: start.name().as_ref().to_owned(),
        default_ns: None,
        prefixes: Vec::new(),
        element: None,
    };
    let mut open = StreamOpen::default();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| Malformed::Syntax(e.to_string()))?;
        let value = unescape(&attr.value)
            .map_err(|_| Malformed::Syntax("unknown entity in the stream header".to_owned()))?
            .into_owned();
        match attr.key.as_ref() {
            "xmlns" => root.default_ns = Some(value),
            "id" => open.id = Some(value),
            "from" => open.from = Some(value),
            "to" => open.to = Some(value),
            "version" => open.version = Some(value),
            "xml:lang" => open.lang = Some(value),
            key => {
                if let Some(prefix) = key.strip_prefix("xmlns:") {
                    root.prefixes.push((prefix.to_owned(), value));
                }
            }
        }
    }
    let name = start.name();
    let ns = match name.prefix() {
        Some(prefix) => root
            .prefixes
            .iter()
            .find(|(p, _)| p.as_str() == prefix.as_ref())
            .map(|(_, uri)| uri.as_str()),
        None => root.default_ns.as_deref(),
    };
    if name.local_name().as_ref() != "stream" || ns != Some(NS_STREAMS) {
        return Err(Malformed::NotAStream);
    }
    Ok((root, open))
}

/// Starts a top-level element at `buf[before]`.
fn begin(
    root: &Root,
    start: &BytesStart<'_>,
    limits: &Limits,
    buf: &[u8],
    before: usize,
) -> Result<Partial, FramingError> {
    let malformed = |problem| FramingError::Malformed {
        problem,
        excerpt: excerpt(buf, before),
    };
    if limits.max_depth == 0 {
        return Err(FramingError::TooDeep { limit: 0 });
    }
    let name = start.name();
    let mut element = Partial {
        open: vec![(1, name.as_ref().len())],
        name_len: name.as_ref().len(),
        local: name.local_name().as_ref().to_owned(),
        ns: None,
        declares_default: false,
        needs_prefix: vec![false; root.prefixes.len()],
        declares_prefix: vec![false; root.prefixes.len()],
    };
    let mut own_ns = None;
    for attr in start.attributes() {
        let attr = attr.map_err(|e| malformed(Malformed::Syntax(e.to_string())))?;
        let key = attr.key.as_ref();
        if key == "xmlns" {
            element.declares_default = true;
            if name.prefix().is_none() {
                own_ns = Some(attr_value(&attr, buf, before)?);
            }
        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
            if let Some(i) = root.prefixes.iter().position(|(p, _)| p == prefix) {
                element.declares_prefix[i] = true;
            }
            if name.prefix().map(|p| p.as_ref() == prefix) == Some(true) {
                own_ns = Some(attr_value(&attr, buf, before)?);
            }
        }
    }
    element.ns = own_ns.or_else(|| match name.prefix() {
        Some(prefix) => root
            .prefixes
            .iter()
            .find(|(p, _)| p.as_str() == prefix.as_ref())
            .map(|(_, uri)| uri.clone()),
        None => root.default_ns.clone(),
    });
    note_prefixes(&root.prefixes, &mut element, start, buf, before)?;
    Ok(element)
}

/// Checks an element's attributes and notes which root prefixes it uses.
fn note_prefixes(
    prefixes: &[(String, String)],
    element: &mut Partial,
    start: &BytesStart<'_>,
    buf: &[u8],
    before: usize,
) -> Result<(), FramingError> {
    let mut mark = |qname: &str| {
        if let Some((prefix, _)) = qname.split_once(':') {
            if prefix != "xmlns" && prefix != "xml" {
                if let Some(i) = prefixes.iter().position(|(p, _)| p == prefix) {
                    element.needs_prefix[i] = true;
                }
            }
        }
    };
    mark(start.name().as_ref());
    for attr in start.attributes() {
        let attr = attr.map_err(|e| FramingError::Malformed {
            problem: Malformed::Syntax(e.to_string()),
            excerpt: excerpt(buf, before),
        })?;
        mark(attr.key.as_ref());
        attr_value(&attr, buf, before)?;
    }
    Ok(())
}

/// An attribute's value with references resolved; unknown entities refused.
fn attr_value(
    attr: &quick_xml::events::attributes::Attribute<'_>,
    buf: &[u8],
    before: usize,
) -> Result<String, FramingError> {
    match unescape(&attr.value) {
        Ok(value) if value.chars().all(is_xml_char) => Ok(value.into_owned()),
        Ok(_) => Err(FramingError::Malformed {
            problem: Malformed::IllegalCharacter,
            excerpt: excerpt(buf, before),
        }),
        Err(_) => Err(FramingError::Restricted {
            what: Restricted::Entity,
            excerpt: excerpt(buf, before),
        }),
    }
}

/// Completes the element `buf[done..after]`: checks its characters and adds
/// the namespace declarations it inherits from the root.
fn finish(
    element: Partial,
    root: &Root,
    buf: &[u8],
    done: usize,
    after: usize,
) -> Result<Element, FramingError> {
    let raw = &buf[done..after];
    let malformed = |problem| FramingError::Malformed {
        problem,
        excerpt: excerpt(buf, done),
    };
    check_chars(raw).map_err(malformed)?;
    let text = std::str::from_utf8(raw).map_err(|_| malformed(Malformed::InvalidUtf8))?;
    let head = 1 + element.name_len;
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str(&text[..head]);
    if !element.declares_default {
        if let Some(ns) = &root.default_ns {
            // Writing to a String cannot fail.
            let _ = write!(out, " xmlns='{}'", escape(ns.as_str()));
        }
    }
    for (i, (prefix, uri)) in root.prefixes.iter().enumerate() {
        if element.needs_prefix[i] && !element.declares_prefix[i] {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            let _ = write!(out, "='{}'", escape(uri.as_str()));
        }
    }
    out.push_str(&text[head..]);
    Ok(Element {
        text: out,
        local: element.local,
        ns: element.ns,
    })
}

/// The attributes of a WebSocket `<open/>`.
fn stream_open(text: &str) -> Result<StreamOpen, FramingError> {
    let Some(start) = first_start(text) else {
        return Ok(StreamOpen::default());
    };
    Ok(StreamOpen {
        id: attribute(&start, "id").transpose()?,
        from: attribute(&start, "from").transpose()?,
        to: attribute(&start, "to").transpose()?,
        version: attribute(&start, "version").transpose()?,
        lang: attribute(&start, "xml:lang").transpose()?,
    })
}

/// The start tag of an element already checked by the scanner.
fn first_start(text: &str) -> Option<BytesStart<'_>> {
    match Reader::from_str(text).read_event() {
        Ok(Event::Start(start) | Event::Empty(start)) => Some(start),
        _ => None,
    }
}

/// One attribute's unescaped value.
fn attribute(start: &BytesStart<'_>, key: &str) -> Option<Result<String, FramingError>> {
    let attr = start.try_get_attribute(key).ok().flatten()?;
    Some(attr_value(&attr, &[], 0))
}

/// XML whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Characters XML 1.0 can carry.
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | ' '..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Refuses C0 control characters other than tab, LF and CR.
fn check_chars(bytes: &[u8]) -> Result<(), Malformed> {
    if bytes.iter().any(|&b| b < 0x20 && !is_space(b)) {
        return Err(Malformed::IllegalCharacter);
    }
    Ok(())
}

/// A short, printable excerpt of `bytes` from `at`.
fn excerpt(bytes: &[u8], at: usize) -> String {
    let at = at.min(bytes.len());
    let end = bytes.len().min(at + EXCERPT);
    String::from_utf8_lossy(&bytes[at..end]).into_owned()
}
