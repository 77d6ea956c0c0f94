//! The `xmpp_client` target: a `proxy_xmpp::client::Client` (TCP or
//! WebSocket, chosen by the input) driven by what a server might send, as
//! arbitrary bytes or frames and as well-formed elements the fuzzer can put
//! in any order (so it gets past SASL and into the room), with transport
//! events, clock steps and the application's commands in between.
//!
//! Checked after every operation: the outputs drain to `Output::Timeout`
//! within [`MAX_DRAIN`] outputs; TCP clients only transmit bytes and
//! WebSocket clients only send frames; what the client sends is UTF-8, and
//! every stanza it sends parses; `Event::Closed` comes at most once and
//! nothing is asked of the driver after it, and no event comes but a
//! proxy IQ failing with `IqFailure::Closed`; after `handle_timeout(now)`
//! no timer is due at or before `now` (a driver would spin). At the end
//! the timers are run out (each deadline later than the one before, at most
//! [`MAX_END_DEADLINES`]) and `close` leaves no timer.
//!
//! # Input format
//!
//! A flags byte (bit 0: WebSocket; bits 1–2 the TCP TLS mode: none,
//! optional, required, direct; bit 3: a room configured; bit 4: a resource
//! configured; bits 5–6: the envelope, Direct, `jitsi:proxy`, Spot), then
//! operations until the input ends (at most [`MAX_XMPP_OPS`]), tag byte
//! modulo 11; `word` is u16 LE, `bytes` a word (mod 8193) length and that
//! many bytes:
//!
//! - `0` server data, `bytes` (TCP bytes, or one WebSocket message as lossy
//!   UTF-8); `1` a scripted server element (index byte into [`SCRIPT`],
//!   placeholders filled from what the client sent last: `{bind}`, `{ext}`,
//!   `{ping}`, `{px}` ids, `{join}` the last join's occupant JID, `{jid}`
//!   ours), on TCP cut in two at a word (mod its length);
//! - `2` the transport is up; `3` the TLS handshake is done; `4` the
//!   transport closed;
//! - `5` the clock moves by a word (bit 15 set: that many seconds, less
//!   bit 15; else milliseconds) and `handle_timeout` runs; `6` the clock
//!   jumps to the client's deadline (if any) and `handle_timeout` runs;
//! - `7` `send_proxy_iq` (addressee byte mod 4, IQ byte mod the number of
//!   IQs: the lib-jitsi-meet vectors, an answer, an error answer, garbage);
//!   `8` `join_room` (nickname byte; bit 7: with a password); `9` `close`;
//!   `10` `handle_closed` then at once `handle_connected` (a fast
//!   reconnection attempt out of order).

use std::time::{Duration, Instant};

use arbitrary::{Arbitrary, Result, Unstructured};
use proxy_core::Limits;
use proxy_xmpp::client::{Client, Config, Event, IqFailure, Output, Room, TlsMode, Transport};
use proxy_xmpp::envelope::{Envelope, SpotMessageType};
use proxy_xmpp::stanza::Element;

use crate::VECTORS;

/// Most operations read from one input.
pub const MAX_XMPP_OPS: usize = 256;
/// Most outputs one drain may give before `Timeout`.
pub const MAX_DRAIN: usize = 10_000;
/// Most deadlines run out at the end of an input.
pub const MAX_END_DEADLINES: usize = 64;
const MAX_LEN: u16 = 8192;

const DOMAIN: &str = "guest.localhost";
const ROOM: &str = "room@conference.localhost";
const LAPTOP: &str = "room@conference.localhost/laptop";
const LAPTOP2: &str = "room@conference.localhost/laptop2";
const PEER: &str = "peer@guest.localhost/p";

/// Well-formed server elements, `(TCP form, WebSocket form)`; see the
/// [module docs](self) for the placeholders.
pub const SCRIPT: &[(&str, &str)] = &[
    // 0: the stream header.
    (
        "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' \
         xmlns='jabber:client' from='guest.localhost' id='s1' version='1.0'>",
        "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='guest.localhost' id='s1' \
         version='1.0'/>",
    ),
    // 1: features: STARTTLS offered, SASL ANONYMOUS and PLAIN.
    (
        "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><mechanisms \
         xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism>\
         <mechanism>PLAIN</mechanism></mechanisms></stream:features>",
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms \
         xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism>\
         </mechanisms></stream:features>",
    ),
    // 2: features: SASL ANONYMOUS only.
    (
        "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
         <mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>",
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><mechanisms \
         xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism>\
         </mechanisms></stream:features>",
    ),
    // 3: STARTTLS goes ahead.
    (
        "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
        "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
    ),
    // 4: SASL success.
    (
        "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
        "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>",
    ),
    // 5: features: bind.
    (
        "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind>\
         </stream:features>",
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind \
         xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>",
    ),
    // 6: the bind result.
    (
        "<iq type='result' id='{bind}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <jid>anon@guest.localhost/fixture</jid></bind></iq>",
        "<iq xmlns='jabber:client' type='result' id='{bind}'><bind \
         xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>anon@guest.localhost/fixture</jid>\
         </bind></iq>",
    ),
    // 7: the bind refused: conflict.
    (
        "<iq type='error' id='{bind}'><error type='cancel'><conflict \
         xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
        "<iq xmlns='jabber:client' type='error' id='{bind}'><error type='cancel'><conflict \
         xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
    ),
    // 8: the XEP-0215 result.
    (
        "<iq type='result' from='guest.localhost' id='{ext}'><services xmlns='urn:xmpp:extdisco:2'>\
         <service type='stun' host='127.0.0.1' port='3478' transport='udp'/><service type='turn' \
         host='127.0.0.1' port='3478' transport='udp' username='u' password='p' \
         expires='2026-12-02T20:39:35Z' restricted='1'/></services></iq>",
        "<iq xmlns='jabber:client' type='result' from='guest.localhost' id='{ext}'><services \
         xmlns='urn:xmpp:extdisco:2'><service type='turn' host='127.0.0.1' port='3478' \
         transport='udp' username='u' password='p'/></services></iq>",
    ),
    // 9: the XEP-0215 query refused.
    (
        "<iq type='error' from='guest.localhost' id='{ext}'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
        "<iq xmlns='jabber:client' type='error' from='guest.localhost' id='{ext}'><error \
         type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
         </error></iq>",
    ),
    // 10: a ping from the server.
    (
        "<iq type='get' from='guest.localhost' id='s2c'><ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq xmlns='jabber:client' type='get' from='guest.localhost' id='s2c'><ping \
         xmlns='urn:xmpp:ping'/></iq>",
    ),
    // 11: our ping answered.
    (
        "<iq type='result' from='guest.localhost' id='{ping}'/>",
        "<iq xmlns='jabber:client' type='result' from='guest.localhost' id='{ping}'/>",
    ),
    // 12: our self-presence in the room.
    (
        "<presence from='{join}'><x xmlns='http://jabber.org/protocol/muc#user'><item \
         role='participant'/><status code='110'/></x></presence>",
        "<presence xmlns='jabber:client' from='{join}'><x \
         xmlns='http://jabber.org/protocol/muc#user'><item role='participant'/><status \
         code='110'/></x></presence>",
    ),
    // 13: our nickname is taken.
    (
        "<presence type='error' from='{join}'><error type='cancel'><conflict \
         xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>",
        "<presence xmlns='jabber:client' type='error' from='{join}'><error type='cancel'>\
         <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>",
    ),
    // 14: laptop is in the room.
    (
        "<presence from='room@conference.localhost/laptop'><x \
         xmlns='http://jabber.org/protocol/muc#user'><item role='participant'/></x></presence>",
        "<presence xmlns='jabber:client' from='room@conference.localhost/laptop'><x \
         xmlns='http://jabber.org/protocol/muc#user'><item role='participant'/></x></presence>",
    ),
    // 15: laptop becomes laptop2.
    (
        "<presence type='unavailable' from='room@conference.localhost/laptop'><x \
         xmlns='http://jabber.org/protocol/muc#user'><item nick='laptop2' role='participant'/>\
         <status code='303'/></x></presence>",
        "<presence xmlns='jabber:client' type='unavailable' \
         from='room@conference.localhost/laptop'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item nick='laptop2' role='participant'/><status code='303'/></x></presence>",
    ),
    // 16: laptop2 becomes laptop.
    (
        "<presence type='unavailable' from='room@conference.localhost/laptop2'><x \
         xmlns='http://jabber.org/protocol/muc#user'><item nick='laptop' role='participant'/>\
         <status code='303'/></x></presence>",
        "<presence xmlns='jabber:client' type='unavailable' \
         from='room@conference.localhost/laptop2'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item nick='laptop' role='participant'/><status code='303'/></x></presence>",
    ),
    // 17: laptop leaves.
    (
        "<presence type='unavailable' from='room@conference.localhost/laptop'><x \
         xmlns='http://jabber.org/protocol/muc#user'><item role='none'/></x></presence>",
        "<presence xmlns='jabber:client' type='unavailable' \
         from='room@conference.localhost/laptop'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item role='none'/></x></presence>",
    ),
    // 18: laptop2 leaves.
    (
        "<presence type='unavailable' from='room@conference.localhost/laptop2'><x \
         xmlns='http://jabber.org/protocol/muc#user'><item role='none'/></x></presence>",
        "<presence xmlns='jabber:client' type='unavailable' \
         from='room@conference.localhost/laptop2'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item role='none'/></x></presence>",
    ),
    // 19: a Jingle IQ from laptop.
    (
        "<iq type='set' from='room@conference.localhost/laptop' to='{jid}' id='j1'><jingle \
         xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s1'><reason><success/>\
         </reason></jingle></iq>",
        "<iq xmlns='jabber:client' type='set' from='room@conference.localhost/laptop' \
         to='{jid}' id='j1'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' \
         sid='s1'><reason><success/></reason></jingle></iq>",
    ),
    // 20: a Jingle IQ from laptop2.
    (
        "<iq type='set' from='room@conference.localhost/laptop2' to='{jid}' id='j2'><jingle \
         xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s1'/></iq>",
        "<iq xmlns='jabber:client' type='set' from='room@conference.localhost/laptop2' \
         to='{jid}' id='j2'><jingle xmlns='urn:xmpp:jingle:1' action='transport-info' \
         sid='s1'/></iq>",
    ),
    // 21: our last proxy IQ answered by laptop2.
    (
        "<iq type='result' from='room@conference.localhost/laptop2' id='{px}'/>",
        "<iq xmlns='jabber:client' type='result' from='room@conference.localhost/laptop2' \
         id='{px}'/>",
    ),
    // 22: our last proxy IQ refused by laptop.
    (
        "<iq type='error' from='room@conference.localhost/laptop' id='{px}'><error \
         type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
        "<iq xmlns='jabber:client' type='error' from='room@conference.localhost/laptop' \
         id='{px}'><error type='cancel'><item-not-found \
         xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
    ),
    // 23: the room renames us.
    (
        "<presence type='unavailable' from='{join}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item nick='renamed' role='participant'/><status code='303'/><status code='110'/></x>\
         </presence>",
        "<presence xmlns='jabber:client' type='unavailable' from='{join}'><x \
         xmlns='http://jabber.org/protocol/muc#user'><item nick='renamed' role='participant'/>\
         <status code='303'/><status code='110'/></x></presence>",
    ),
    // 24: we are kicked.
    (
        "<presence type='unavailable' from='{join}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item role='none'><reason>bye</reason></item><status code='307'/><status code='110'/>\
         </x></presence>",
        "<presence xmlns='jabber:client' type='unavailable' from='{join}'><x \
         xmlns='http://jabber.org/protocol/muc#user'><item role='none'/><status code='307'/>\
         <status code='110'/></x></presence>",
    ),
    // 25: a wrapped (jitsi:proxy) IQ from laptop.
    (
        "<iq type='set' from='room@conference.localhost/laptop' id='w1'><proxy \
         xmlns='jitsi:proxy'><data>&lt;iq xmlns=&apos;jabber:client&apos; type=&apos;set&apos;&gt;\
         &lt;jingle xmlns=&apos;urn:xmpp:jingle:1&apos; action=&apos;session-terminate&apos; \
         sid=&apos;s1&apos;/&gt;&lt;/iq&gt;</data></proxy></iq>",
        "<iq xmlns='jabber:client' type='set' from='room@conference.localhost/laptop' id='w1'>\
         <proxy xmlns='jitsi:proxy'><data>&lt;iq/&gt;</data></proxy></iq>",
    ),
    // 26: a conflict stream error.
    (
        "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
        "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><conflict \
         xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    ),
    // 27: the server shuts down.
    (
        "<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
         </stream:error>",
        "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><system-shutdown \
         xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    ),
    // 28: the server closes its stream.
    (
        "</stream:stream>",
        "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>",
    ),
    // 29: SASL refused.
    (
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>",
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><temporary-auth-failure/></failure>",
    ),
    // 30: the room destroyed.
    (
        "<presence type='unavailable' from='{join}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item role='none'/><destroy><reason>closed</reason></destroy></x></presence>",
        "<presence xmlns='jabber:client' type='unavailable' from='{join}'><x \
         xmlns='http://jabber.org/protocol/muc#user'><item role='none'/><destroy/></x>\
         </presence>",
    ),
];

/// One operation (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmppOp {
    /// Server bytes or one WebSocket message.
    Data(Vec<u8>),
    /// A [`SCRIPT`] element (index mod its length), cut at `split` on TCP.
    Script { index: u8, split: u16 },
    /// `handle_connected`.
    Connected,
    /// `handle_tls_ready`.
    TlsReady,
    /// `handle_closed`.
    Closed,
    /// The clock moves (bit 15: seconds, else milliseconds).
    Advance(u16),
    /// The clock jumps to the client's deadline.
    Deadline,
    /// `send_proxy_iq(to, iq)` by index.
    SendIq { to: u8, iq: u8 },
    /// `join_room` (nickname index; bit 7: a password).
    JoinRoom(u8),
    /// `close`.
    Close,
    /// `handle_closed` and at once `handle_connected`.
    Bounce,
}

/// The `xmpp_client` target's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmppInput {
    /// The flags byte (see the [module docs](self)).
    pub flags: u8,
    /// The operations.
    pub ops: Vec<XmppOp>,
}

fn byte(u: &mut Unstructured<'_>) -> Result<u8> {
    u8::arbitrary(u)
}

fn word(u: &mut Unstructured<'_>) -> Result<u16> {
    Ok(u16::from_le_bytes([byte(u)?, byte(u)?]))
}

fn xmpp_op(u: &mut Unstructured<'_>) -> Result<XmppOp> {
    Ok(match byte(u)? % 11 {
        0 => {
            let n = usize::from(word(u)? % (MAX_LEN + 1)).min(u.len());
            XmppOp::Data(u.bytes(n)?.to_vec())
        }
        1 => XmppOp::Script {
            index: byte(u)?,
            split: word(u)?,
        },
        2 => XmppOp::Connected,
        3 => XmppOp::TlsReady,
        4 => XmppOp::Closed,
        5 => XmppOp::Advance(word(u)?),
        6 => XmppOp::Deadline,
        7 => XmppOp::SendIq {
            to: byte(u)?,
            iq: byte(u)?,
        },
        8 => XmppOp::JoinRoom(byte(u)?),
        9 => XmppOp::Close,
        _ => XmppOp::Bounce,
    })
}

impl<'a> Arbitrary<'a> for XmppInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let flags = byte(u)?;
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_XMPP_OPS {
            ops.push(xmpp_op(u)?);
        }
        Ok(XmppInput { flags, ops })
    }
}

/// The bytes that decode to `input` (for seeds).
pub fn encode_xmpp(input: &XmppInput) -> Vec<u8> {
    let mut out = vec![input.flags];
    for op in &input.ops {
        match op {
            XmppOp::Data(b) => {
                let n = b.len().min(usize::from(MAX_LEN));
                out.push(0);
                out.extend((n as u16).to_le_bytes());
                out.extend(&b[..n]);
            }
            XmppOp::Script { index, split } => {
                out.extend([1, *index]);
                out.extend(split.to_le_bytes());
            }
            XmppOp::Connected => out.push(2),
            XmppOp::TlsReady => out.push(3),
            XmppOp::Closed => out.push(4),
            XmppOp::Advance(w) => {
                out.push(5);
                out.extend(w.to_le_bytes());
            }
            XmppOp::Deadline => out.push(6),
            XmppOp::SendIq { to, iq } => out.extend([7, *to, *iq]),
            XmppOp::JoinRoom(n) => out.extend([8, *n]),
            XmppOp::Close => out.push(9),
            XmppOp::Bounce => out.push(10),
        }
    }
    out
}

/// What a run saw (for the seeds' tests).
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// `Event::Online` count.
    pub online: usize,
    /// `Event::RoomJoined` count.
    pub joined: usize,
    /// `Event::Message` count.
    pub messages: usize,
    /// `Event::OccupantRenamed` count.
    pub renamed: usize,
    /// `Event::IceServers` count.
    pub ice_servers: usize,
    /// Stanzas sent.
    pub sent: usize,
}

struct Driver {
    client: Client,
    ws: bool,
    now: Instant,
    deadline: Option<Instant>,
    closed: bool,
    summary: Summary,
    /// The last id the client sent per prefix, and the last join's `to`.
    bind: String,
    ext: String,
    ping: String,
    px: String,
    join: String,
}

/// The value of `name='…'` or `name="…"` in `text`'s first tag.
fn attr_of(text: &str, name: &str) -> Option<String> {
    let head = text.split('>').next()?;
    for q in ['"', '\''] {
        let key = format!(" {name}={q}");
        if let Some(i) = head.find(&key) {
            let rest = &head[i + key.len()..];
            return rest.split(q).next().map(str::to_owned);
        }
    }
    None
}

impl Driver {
    fn new(input: &XmppInput) -> Driver {
        let flags = input.flags;
        let ws = flags & 1 == 1;
        let transport = if ws {
            Transport::WebSocket { secure: true }
        } else {
            let tls = match (flags >> 1) & 3 {
                0 => TlsMode::None,
                1 => TlsMode::Optional,
                2 => TlsMode::Required,
                _ => TlsMode::Direct,
            };
            Transport::Tcp { tls }
        };
        let now = Instant::now();
        let mut config = Config::new(transport, DOMAIN, [flags; 32]);
        if flags & 8 != 0 {
            config.room = Some(room(0));
        }
        if flags & 16 != 0 {
            config.resource = Some("fixture".into());
        }
        config.envelope = match (flags >> 5) & 3 {
            0 => Envelope::Direct,
            1 => Envelope::JitsiProxy,
            _ => Envelope::Spot {
                message_type: SpotMessageType::FromJitsiMeet,
            },
        };
        let client = Client::new(config, now);
        let mut d = Driver {
            client,
            ws,
            now,
            deadline: None,
            closed: false,
            summary: Summary::default(),
            bind: "bind1".into(),
            ext: "ext1".into(),
            ping: "ping1".into(),
            px: "px1".into(),
            join: format!("{ROOM}/tv"),
        };
        d.drain();
        d
    }

    fn sent(&mut self, text: &str) {
        self.summary.sent += 1;
        if let Some(id) = attr_of(text, "id") {
            for (prefix, slot) in [
                ("bind", &mut self.bind),
                ("ext", &mut self.ext),
                ("ping", &mut self.ping),
                ("px", &mut self.px),
            ] {
                if id.starts_with(prefix) {
                    *slot = id.clone();
                }
            }
        }
        if text.starts_with("<presence") {
            if let Some(to) = attr_of(text, "to") {
                self.join = to;
            }
        }
        // Everything but the TCP stream header and end is a whole element.
        let partial = text.starts_with("<?xml") || text == "</stream:stream>";
        if !partial {
            let limits = Limits {
                max_bytes: 1 << 20,
                ..Limits::default()
            };
            if let Err(e) = Element::parse(text, &limits) {
                panic!("the client sent unreadable XML ({e}): {text}");
            }
        }
    }

    /// Polls until `Timeout`, checking every output.
    fn drain(&mut self) {
        for _ in 0..MAX_DRAIN {
            match self.client.poll_output() {
                Output::Timeout(t) => {
                    self.deadline = t;
                    if self.closed {
                        assert_eq!(t, None, "a timer after Closed");
                    }
                    return;
                }
                Output::Connect | Output::StartTls { .. } => {
                    assert!(!self.closed, "the driver is asked to connect after Closed")
                }
                Output::Transmit(b) => {
                    assert!(!self.ws, "TCP output on a WebSocket client");
                    let text = String::from_utf8(b).expect("the client sends UTF-8");
                    self.sent(&text);
                }
                Output::SendFrame(f) => {
                    assert!(self.ws, "WebSocket output on a TCP client");
                    self.sent(&f);
                }
                Output::CloseTransport => {}
                Output::Event(e) => self.event(e),
            }
        }
        panic!("more than {MAX_DRAIN} outputs in one drain");
    }

    fn event(&mut self, e: Event) {
        // Closed, the client only answers commands: a proxy IQ fails.
        let answer = matches!(
            e,
            Event::IqFailed {
                reason: IqFailure::Closed,
                ..
            }
        );
        assert!(!self.closed || answer, "an event after Closed: {e:?}");
        match e {
            Event::Online { .. } => self.summary.online += 1,
            Event::RoomJoined { .. } => self.summary.joined += 1,
            Event::Message(_) => self.summary.messages += 1,
            Event::OccupantRenamed { .. } => self.summary.renamed += 1,
            Event::IceServers(_) => self.summary.ice_servers += 1,
            Event::Closed { .. } => {
                assert!(self.client.is_closed(), "Closed but not closed");
                self.closed = true;
            }
            _ => {}
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        if self.ws {
            self.client
                .handle_frame(self.now, &String::from_utf8_lossy(bytes));
        } else {
            self.client.handle_bytes(self.now, bytes);
        }
        self.drain();
    }

    fn timeout(&mut self) {
        self.client.handle_timeout(self.now);
        self.drain();
        if let Some(t) = self.deadline {
            assert!(
                t > self.now,
                "after handle_timeout, a timer is due already ({:?} before now)",
                self.now - t
            );
        }
    }

    fn fill(&self, template: &str) -> String {
        let jid = self
            .client
            .jid()
            .unwrap_or("anon@guest.localhost/fixture")
            .to_owned();
        template
            .replace("{bind}", &self.bind)
            .replace("{ext}", &self.ext)
            .replace("{ping}", &self.ping)
            .replace("{px}", &self.px)
            .replace("{join}", &self.join)
            .replace("{jid}", &jid)
    }

    fn op(&mut self, op: &XmppOp) {
        let now = self.now;
        match op {
            XmppOp::Data(b) => self.feed(b),
            XmppOp::Script { index, split } => {
                let (tcp, ws) = SCRIPT[usize::from(*index) % SCRIPT.len()];
                let text = self.fill(if self.ws { ws } else { tcp });
                if self.ws {
                    self.feed(text.as_bytes());
                } else {
                    let at = usize::from(*split) % (text.len() + 1);
                    let (a, b) = text.as_bytes().split_at(at);
                    self.feed(a);
                    self.feed(b);
                }
            }
            XmppOp::Connected => {
                self.client.handle_connected(now);
                self.drain();
            }
            XmppOp::TlsReady => {
                self.client.handle_tls_ready(now);
                self.drain();
            }
            XmppOp::Closed => {
                self.client.handle_closed(now, Some("fuzz".into()));
                self.drain();
            }
            XmppOp::Advance(w) => {
                let d = if w & 0x8000 != 0 {
                    Duration::from_secs(u64::from(w & 0x7fff))
                } else {
                    Duration::from_millis(u64::from(*w))
                };
                self.now += d;
                self.timeout();
            }
            XmppOp::Deadline => {
                if let Some(t) = self.deadline {
                    self.now = self.now.max(t);
                }
                self.timeout();
            }
            XmppOp::SendIq { to, iq } => {
                let to = [LAPTOP, LAPTOP2, PEER, ROOM][usize::from(*to) % 4];
                let extra = [
                    "<iq xmlns='jabber:client' type='result' id='j1'/>",
                    "<iq xmlns='jabber:client' type='error' id='j2'><error type='cancel'>\
                     <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
                    "<iq type='set'><jingle",
                ];
                let i = usize::from(*iq) % (VECTORS.len() + extra.len());
                let text = match VECTORS.get(i) {
                    Some((_, t)) => t.trim(),
                    None => extra[i - VECTORS.len()],
                };
                // A refusal is an answer too; either way the outputs drain.
                let _ = self.client.send_proxy_iq(now, to, text);
                self.drain();
            }
            XmppOp::JoinRoom(n) => {
                self.client.join_room(now, room(*n));
                self.drain();
            }
            XmppOp::Close => {
                self.client.close(now);
                self.drain();
            }
            XmppOp::Bounce => {
                self.client.handle_closed(now, None);
                self.client.handle_connected(now);
                self.drain();
            }
        }
    }
}

fn room(n: u8) -> Room {
    Room {
        jid: ROOM.into(),
        nick: ["tv", "laptop", "tv/x", ""][usize::from(n & 3)].into(),
        password: (n & 0x80 != 0).then(|| "pw".into()),
    }
}

/// Replays `input` on a fresh client (see the [module docs](self)).
pub fn run_xmpp(input: &XmppInput) -> Summary {
    let mut d = Driver::new(input);
    for op in &input.ops {
        d.op(op);
    }
    // The timers run out: each deadline later than the last.
    for _ in 0..MAX_END_DEADLINES {
        let Some(t) = d.deadline else { break };
        d.now = d.now.max(t);
        d.timeout();
    }
    d.client.close(d.now);
    d.drain();
    assert!(d.client.is_closed());
    assert_eq!(d.deadline, None, "a timer after close");
    d.summary
}

/// The JSON strings of a JSON array of strings (the WebSocket capture): a
/// minimal reader, enough for its escapes.
fn json_strings(json: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = json.chars();
    while let Some(c) = chars.next() {
        if c == '"' {
            out.push(crate::json_string_rest(&mut chars));
        }
    }
    out
}

/// The captured Prosody sessions (`proxy-xmpp/tests/fixtures`).
const PROSODY_TCP: &[u8] = include_bytes!("../../proxy-xmpp/tests/fixtures/prosody-tcp.bin");
const PROSODY_TCP_SHUTDOWN: &[u8] =
    include_bytes!("../../proxy-xmpp/tests/fixtures/prosody-tcp-shutdown.bin");
const PROSODY_WS: &str = include_str!("../../proxy-xmpp/tests/fixtures/prosody-ws.json");

/// Seeds for the corpus: the captured Prosody sessions, and scripted logins
/// that go on into the room, renames, conflicts and reconnections.
pub fn xmpp_seeds() -> Vec<(&'static str, XmppInput)> {
    use XmppOp::*;
    let s = |index: u8| Script { index, split: 0 };
    let cut = |index: u8, split: u16| Script { index, split };
    // TCP, resource, room; TCP with STARTTLS required; WebSocket with room.
    let (tcp_room, tcp_tls, ws_room) = (0b1_1000, 0b1_1100, 0b1_1001);
    let login = vec![Connected, s(0), s(2), s(4), s(0), s(5), s(6), s(8)];
    let with = |mut ops: Vec<XmppOp>, more: Vec<XmppOp>| {
        ops.extend(more);
        ops
    };
    let room_life = vec![
        s(14),
        s(12),
        s(19),
        SendIq { to: 0, iq: 0 },
        s(15),
        s(20),
        SendIq { to: 0, iq: 3 },
        s(21),
        SendIq { to: 0, iq: 9 },
        s(25),
        s(23),
        s(12),
        s(16),
        s(22),
        s(18),
        s(17),
        Advance(5000),
        s(10),
        Advance(0x8000 | 31),
        s(11),
        s(24),
        SendIq { to: 0, iq: 1 },
        JoinRoom(0x80),
        s(13),
        s(12),
        s(30),
    ];
    let mut seeds = vec![
        (
            "tcp-prosody",
            XmppInput {
                flags: 0b1_0000,
                ops: vec![Connected, Data(PROSODY_TCP.to_vec()), Deadline],
            },
        ),
        (
            "tcp-prosody-shutdown",
            XmppInput {
                flags: 0b1_0000,
                ops: vec![Connected, Data(PROSODY_TCP_SHUTDOWN.to_vec()), Deadline],
            },
        ),
        (
            "ws-prosody",
            XmppInput {
                flags: 0b1_0001,
                ops: with(
                    vec![Connected],
                    json_strings(PROSODY_WS)
                        .into_iter()
                        .map(|m| Data(m.into_bytes()))
                        .collect(),
                ),
            },
        ),
        (
            "tcp-room",
            XmppInput {
                flags: tcp_room,
                ops: with(login.clone(), room_life.clone()),
            },
        ),
        (
            "ws-room",
            XmppInput {
                flags: ws_room,
                ops: with(login.clone(), room_life),
            },
        ),
        (
            "tcp-starttls-split",
            XmppInput {
                flags: tcp_tls,
                ops: vec![
                    SendIq { to: 2, iq: 0 },
                    Connected,
                    cut(0, 40),
                    cut(1, 17),
                    cut(3, 5),
                    TlsReady,
                    cut(0, 3),
                    cut(2, 60),
                    cut(4, 9),
                    cut(0, 99),
                    cut(5, 20),
                    cut(6, 30),
                    cut(9, 11),
                    cut(12, 7),
                ],
            },
        ),
        (
            "tcp-conflicts",
            XmppInput {
                flags: tcp_room,
                ops: vec![
                    Connected,
                    s(0),
                    s(2),
                    s(4),
                    s(0),
                    s(5),
                    s(7),
                    s(6),
                    s(13),
                    s(13),
                    s(12),
                    s(26),
                    Deadline,
                    Connected,
                    s(0),
                    s(2),
                    s(4),
                    s(0),
                    s(5),
                    s(6),
                    s(12),
                    Bounce,
                    s(28),
                    Deadline,
                    Closed,
                    Deadline,
                    Connected,
                    s(0),
                    s(2),
                    s(29),
                    // Closed for good: commands are answered, nothing else.
                    SendIq { to: 2, iq: 0 },
                    JoinRoom(0),
                    Connected,
                    Close,
                ],
            },
        ),
    ];
    // One per script element after a login: each reachable on its own.
    seeds.push((
        "tcp-login-then-every-element",
        XmppInput {
            flags: tcp_room,
            ops: with(login, (9..SCRIPT.len() as u8).map(s).collect()),
        },
    ));
    seeds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_encode_and_decode_to_themselves() {
        for (name, input) in xmpp_seeds() {
            let bytes = encode_xmpp(&input);
            let mut u = Unstructured::new(&bytes);
            let back = XmppInput::arbitrary(&mut u).unwrap();
            assert_eq!(back, input, "{name}");
        }
    }

    /// The seeds go deep: past SASL and bind, into the room.
    #[test]
    fn seeds_log_in_and_join() {
        for (name, input) in xmpp_seeds() {
            let got = run_xmpp(&input);
            if name != "tcp-prosody-shutdown" {
                assert!(got.online >= 1, "{name}: {got:?}");
            }
            if name.contains("room") {
                assert!(got.joined >= 2, "{name}: {got:?}");
                assert!(got.messages >= 3, "{name}: {got:?}");
                assert!(got.renamed >= 2, "{name}: {got:?}");
            }
        }
        let ws = json_strings(PROSODY_WS);
        assert!(ws.len() >= 8, "{ws:?}");
        assert!(ws[0].starts_with("<open "), "{}", ws[0]);
    }
}
