//! A scripted fake server for the client tests: a virtual clock, the
//! client's outputs recorded, and literal server stanzas fed back.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use proxy_core::Limits;
use proxy_xmpp::client::{Client, Config, Event, Output, Room, TlsMode, Transport};
use proxy_xmpp::stanza::Element;

pub const DOMAIN: &str = "guest.localhost";
pub const JID: &str = "anon1@guest.localhost/fixture";
pub const ROOM: &str = "room@conference.localhost";

/// The TCP stream header a Prosody-like server sends.
pub const HEADER: &str = "<?xml version='1.0'?><stream:stream \
    xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' \
    from='guest.localhost' id='s1' version='1.0'>";
pub const FEATURES_ANONYMOUS: &str = "<stream:features><mechanisms \
    xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>ANONYMOUS</mechanism></mechanisms>\
    </stream:features>";
pub const FEATURES_BIND: &str = "<stream:features><bind \
    xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind></stream:features>";
pub const SUCCESS: &str = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";

/// A TCP configuration with fixed seed and short ping timers.
pub fn tcp_config() -> Config {
    let mut c = Config::new(Transport::Tcp { tls: TlsMode::None }, DOMAIN, [7; 32]);
    c.resource = Some("fixture".into());
    c.ping_interval = Duration::from_secs(5);
    c.ping_timeout = Duration::from_secs(2);
    c
}

pub fn room() -> Room {
    Room {
        jid: ROOM.into(),
        nick: "tv".into(),
        password: None,
    }
}

/// Our self-presence in the room as `tv` (status 110).
pub const SELF_PRESENCE: &str = "<presence from='room@conference.localhost/tv'>\
    <x xmlns='http://jabber.org/protocol/muc#user'><item role='participant'/>\
    <status code='110'/></x></presence>";

/// [`tcp_config`] with [`room`] to join.
pub fn room_config() -> Config {
    let mut c = tcp_config();
    c.room = Some(room());
    c
}

/// What one drain of the client gave.
#[derive(Debug, Default)]
pub struct Drained {
    pub sent: Vec<String>,
    pub events: Vec<Event>,
    pub connects: usize,
    pub starttls: usize,
    pub closes: usize,
}

pub struct Harness {
    pub client: Client,
    pub now: Instant,
    pub deadline: Option<Instant>,
    pub ws: bool,
    /// Everything since the last [`Harness::take`].
    pub got: Drained,
}

impl Harness {
    pub fn new(config: Config) -> Harness {
        Harness::starting_at(config, Instant::now())
    }

    /// A harness whose virtual clock starts at `now`.
    pub fn starting_at(config: Config, now: Instant) -> Harness {
        let ws = matches!(config.transport, Transport::WebSocket { .. });
        let client = Client::new(config, now);
        let mut h = Harness {
            client,
            now,
            deadline: None,
            ws,
            got: Drained::default(),
        };
        h.drain();
        h
    }

    /// Polls until `Timeout`; bounded so a loop in the client fails the test.
    pub fn drain(&mut self) {
        for _ in 0..10_000 {
            match self.client.poll_output() {
                Output::Timeout(t) => {
                    self.deadline = t;
                    return;
                }
                Output::Connect => self.got.connects += 1,
                Output::StartTls { .. } => self.got.starttls += 1,
                Output::CloseTransport => self.got.closes += 1,
                Output::Transmit(b) => {
                    assert!(!self.ws, "TCP output on a WebSocket client");
                    self.got.sent.push(String::from_utf8(b).expect("UTF-8 out"));
                }
                Output::SendFrame(f) => {
                    assert!(self.ws, "WebSocket output on a TCP client");
                    self.got.sent.push(f);
                }
                Output::Event(e) => self.got.events.push(e),
            }
        }
        panic!("the client produced more than 10000 outputs in one drain");
    }

    pub fn take(&mut self) -> Drained {
        std::mem::take(&mut self.got)
    }

    pub fn connected(&mut self) {
        self.client.handle_connected(self.now);
        self.drain();
    }

    /// The server sends `text` (one WebSocket message, or TCP bytes).
    pub fn feed(&mut self, text: &str) {
        if self.ws {
            self.client.handle_frame(self.now, text);
        } else {
            self.client.handle_bytes(self.now, text.as_bytes());
        }
        self.drain();
    }

    /// Moves the clock by `d` and lets the client handle its timers.
    pub fn advance(&mut self, d: Duration) {
        self.now += d;
        self.client.handle_timeout(self.now);
        self.drain();
    }

    /// Moves the clock to the client's next deadline.
    pub fn run_to_deadline(&mut self) -> Instant {
        let t = self.deadline.expect("the client has a deadline");
        assert!(t >= self.now, "deadline in the past");
        self.now = t;
        self.client.handle_timeout(self.now);
        self.drain();
        t
    }

    /// Connect and log in anonymously over TCP, bound as [`JID`]; returns
    /// what the client sent after binding (extdisco query, room join, flush).
    pub fn login(&mut self) -> Drained {
        self.connected();
        self.feed(&format!("{HEADER}{FEATURES_ANONYMOUS}"));
        self.feed(SUCCESS);
        self.feed(&format!("{HEADER}{FEATURES_BIND}"));
        let bind = self.take().sent;
        let bind = bind.last().expect("bind sent");
        let id = attr(bind, "id");
        self.feed(&format!(
            "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
             <jid>{JID}</jid></bind></iq>"
        ));
        assert!(self.client.is_online(), "not online after bind");
        self.take()
    }

    /// A harness logged in with `config` (see [`Harness::login`]).
    pub fn online(config: Config) -> Harness {
        let mut h = Harness::new(config);
        h.login();
        h
    }

    /// A harness logged in with [`room_config`] and joined as `tv` (by
    /// [`SELF_PRESENCE`]), the join's outputs taken.
    pub fn in_room() -> Harness {
        let mut h = Harness::online(room_config());
        h.feed(SELF_PRESENCE);
        let events = h.take().events;
        assert!(
            matches!(&events[..], [Event::RoomJoined { .. }]),
            "{events:?}"
        );
        h
    }

    pub fn sent_matching(&self, needle: &str) -> Vec<String> {
        self.got
            .sent
            .iter()
            .filter(|s| s.contains(needle))
            .cloned()
            .collect()
    }
}

/// An attribute of a stanza the client sent (its root element).
pub fn attr(stanza: &str, name: &str) -> String {
    let el = Element::parse(stanza, &Limits::default()).expect("the client sent readable XML");
    el.attr(name)
        .unwrap_or_else(|| panic!("no {name} in {stanza}"))
        .to_owned()
}

/// The stanza the client sent, parsed.
pub fn parse(stanza: &str) -> Element {
    Element::parse(stanza, &Limits::default()).expect("the client sent readable XML")
}

/// The extdisco:2 answer with one STUN and one TURN server.
pub fn services(id: &str, ns: &str) -> String {
    format!(
        "<iq type='result' from='{DOMAIN}' to='{JID}' id='{id}'><services xmlns='{ns}'>\
         <service type='stun' host='127.0.0.1' port='3478' transport='udp'/>\
         <service type='turn' host='127.0.0.1' port='3478' transport='udp' username='u' \
         password='p' expires='2026-12-02T20:39:35Z' restricted='1'/></services></iq>"
    )
}

/// A lib-jitsi-meet IQ captured in the core's vectors, by file name.
pub fn vector(name: &str) -> String {
    let path = format!(
        "{}/../proxy-core/tests/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}
