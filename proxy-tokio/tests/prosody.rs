//! The Prosody harness (`common/prosody.rs`) against the real server, checked with the
//! protocols its configuration promises: stream features over c2s (STARTTLS offered,
//! each domain's SASL mechanisms), STARTTLS and direct TLS verified against the fresh
//! certificate, the RFC 7395 WebSocket upgrade with the `xmpp` subprotocol, an
//! anonymous login with resource binding, XEP-0199 ping, a XEP-0045 room join and
//! XEP-0215 service discovery whose TURN REST credentials are checked against the
//! secret, logins to the seeded accounts through proxy-xmpp's SASL client
//! (SCRAM-SHA-256 chosen with the server's proof checked, SCRAM-SHA-1, PLAIN,
//! ANONYMOUS, a wrong password refused with `not-authorized`), and a restart on the
//! same ports. Plain TCP carries SASL here because this loopback server allows PLAIN
//! and ANONYMOUS without TLS. Skipped (with a message) without prosody, unless
//! `CI=true`.
//!
//! The server's stream is cut into frames by proxy-xmpp's framing
//! ([`TcpFramer`], [`ws_frame`]) and each stanza is read with proxy-core's bounded
//! reader into a small tree ([`El`]): the harness and the server are under test here,
//! on the workspace's own XML layers.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::prosody::{Prosody, ProsodyOptions, DOMAIN, GUEST_DOMAIN, MUC_DOMAIN};
use proxy_core::xml::{Elem, Ev, Reader};
use proxy_core::{Limits, ParseError};
use proxy_xmpp::framing::{
    tcp_close, tcp_open, ws_close, ws_frame, ws_open, Frame, StreamOpen, TcpFramer,
};
use proxy_xmpp::sasl::{
    self, Credentials, FailureCondition, Mechanism, SaslConfig, SaslError, ServerElement, Step,
    NS_SASL,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long any one answer may take.
const WITHIN: Duration = Duration::from_secs(5);
/// The largest WebSocket frame accepted from the server.
const MAX_FRAME: usize = 64 * 1024;
/// Quiet time on a connection before SIGTERM, for its stream error to be sent (see
/// the restart test).
const QUIET_BEFORE_SIGTERM: Duration = Duration::from_millis(100);
const NS_TLS: &str = "urn:ietf:params:xml:ns:xmpp-tls";
const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
const NS_MUC_USER: &str = "http://jabber.org/protocol/muc#user";

/// One element read with proxy-core's bounded reader: enough of a tree to check a
/// stanza.
#[derive(Debug)]
struct El {
    name: String,
    ns: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<El>,
}

impl El {
    /// Reads a whole stanza (a framer's output); panics on anything unreadable.
    fn parse(xml: &str) -> El {
        let read = |rd: &mut Reader<'_>| {
            let root = rd.root()?;
            let el = El::read(rd, root)?;
            rd.end()?;
            Ok::<El, ParseError>(el)
        };
        Reader::new(xml, &Limits::default(), &[])
            .and_then(|mut rd| read(&mut rd))
            .unwrap_or_else(|e| panic!("{e}: {xml}"))
    }

    /// `e` and its content (the reader bounds the depth, so the recursion too).
    fn read(rd: &mut Reader<'_>, e: Elem<'_>) -> Result<El, ParseError> {
        let mut attrs = Vec::new();
        e.attrs(|k, v| {
            attrs.push((k.to_owned(), v.into_owned()));
            Ok(())
        })?;
        let mut el = El {
            name: e.local().to_owned(),
            ns: e.ns().to_owned(),
            attrs,
            text: String::new(),
            children: Vec::new(),
        };
        if e.is_empty() {
            return Ok(el);
        }
        loop {
            match rd.next()? {
                Ev::Open(child) => el.children.push(El::read(rd, child)?),
                Ev::Text(text) => el.text.push_str(&text),
                Ev::Close => return Ok(el),
                Ev::Eof => return Err(rd.error_here("unexpected end of input")),
            }
        }
    }

    fn attr(&self, name: &str) -> Option<&str> {
        let found = self.attrs.iter().find(|(k, _)| k == name);
        found.map(|(_, v)| v.as_str())
    }

    /// The first child named `name` (in any namespace).
    fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name` (in any namespace).
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The SASL mechanisms a `<stream:features>` offers, sorted.
    fn mechanisms(&self) -> Vec<&str> {
        let offered = self.child("mechanisms").filter(|m| m.ns == NS_SASL);
        let mut names: Vec<&str> = offered
            .into_iter()
            .flat_map(|m| m.all("mechanism"))
            .map(|m| m.text.as_str())
            .collect();
        names.sort_unstable();
        names
    }
}

/// A stanza frame, or a panic naming what came instead.
fn stanza(frame: Frame) -> El {
    match frame {
        Frame::Stanza(xml) => El::parse(&xml),
        other => panic!("not a stanza: {other:?}"),
    }
}

/// A c2s connection over plain TCP (tokio).
struct Tcp {
    sock: TcpStream,
    framer: TcpFramer,
}

impl Tcp {
    async fn connect(prosody: &Prosody) -> Tcp {
        Tcp {
            sock: TcpStream::connect(prosody.c2s_addr()).await.unwrap(),
            framer: TcpFramer::new(Limits::default()),
        }
    }

    async fn send(&mut self, xml: &str) {
        self.sock.write_all(xml.as_bytes()).await.unwrap();
    }

    /// The next frame from the server.
    async fn next(&mut self) -> Frame {
        let read = tokio::time::timeout(WITHIN, async {
            loop {
                if let Some(frame) = self.framer.next() {
                    return frame.expect("a well-formed stream from the server");
                }
                let mut chunk = [0; 4096];
                let n = self.sock.read(&mut chunk).await.unwrap();
                assert!(
                    n > 0,
                    "the server closed the connection; {} bytes unread",
                    self.framer.buffered()
                );
                self.framer.push(&chunk[..n]);
            }
        })
        .await;
        read.unwrap_or_else(|_| panic!("no complete frame within {WITHIN:?}"))
    }

    async fn stanza(&mut self) -> El {
        stanza(self.next().await)
    }

    /// Opens a (new) stream to `domain`; returns the server's header and features.
    async fn open(&mut self, domain: &str) -> (StreamOpen, El) {
        self.framer.reset();
        self.send(&tcp_open(domain, None)).await;
        let Frame::Open(header) = self.next().await else {
            panic!("no stream header from the server");
        };
        let features = self.stanza().await;
        assert_eq!(features.name, "features", "{features:?}");
        (header, features)
    }

    /// Sends an IQ with id `id` and returns the answer, which must carry that id.
    async fn iq(&mut self, id: &str, iq: &str) -> El {
        self.send(iq).await;
        let answer = self.stanza().await;
        assert!(
            answer.name == "iq" && answer.attr("id") == Some(id),
            "not the answer to {id}: {answer:?}"
        );
        answer
    }
}

/// The next frame from a blocking stream.
fn next_blocking(io: &mut impl Read, framer: &mut TcpFramer) -> Frame {
    loop {
        if let Some(frame) = framer.next() {
            return frame.expect("a well-formed stream from the server");
        }
        let mut chunk = [0; 4096];
        let n = io
            .read(&mut chunk)
            .expect("read (timeout set on the socket)");
        assert!(n > 0, "the server closed the connection");
        framer.push(&chunk[..n]);
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// XEP-0082 `YYYY-MM-DDThh:mm:ssZ` of a Unix time (the proleptic Gregorian calendar,
/// counted in 400-year eras of 146,097 days from 0000-03-01).
fn xep0082(unix: u64) -> String {
    let (days, secs) = (unix / 86_400, unix % 86_400);
    let z = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[test]
fn xep0082_dates() {
    assert_eq!(xep0082(0), "1970-01-01T00:00:00Z");
    assert_eq!(xep0082(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(xep0082(1_796_242_699), "2026-12-02T20:18:19Z");
}

#[tokio::test]
async fn c2s_offers_starttls_and_each_domains_mechanisms() {
    let Some(prosody) = Prosody::start(ProsodyOptions::default()).await else {
        return;
    };
    let mut c2s = Tcp::connect(&prosody).await;
    let (header, features) = c2s.open(DOMAIN).await;
    assert_eq!(header.from.as_deref(), Some(DOMAIN), "{header:?}");
    assert_eq!(header.version.as_deref(), Some("1.0"), "{header:?}");
    assert!(
        header.id.as_ref().is_some_and(|id| !id.is_empty()),
        "{header:?}"
    );
    assert!(
        features
            .all("starttls")
            .any(|starttls| starttls.ns == NS_TLS),
        "no STARTTLS offered: {features:?}"
    );
    assert_eq!(
        features.mechanisms(),
        ["PLAIN", "SCRAM-SHA-1", "SCRAM-SHA-256"],
        "{features:?}"
    );

    let mut guest = Tcp::connect(&prosody).await;
    let (header, features) = guest.open(GUEST_DOMAIN).await;
    assert_eq!(header.from.as_deref(), Some(GUEST_DOMAIN));
    assert_eq!(features.mechanisms(), ["ANONYMOUS"], "{features:?}");
}

/// A TLS client trusting only the server's certificate.
fn tls_client(prosody: &Prosody) -> rustls::ClientConnection {
    use rustls::pki_types::{pem::PemObject, CertificateDer, ServerName};
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&prosody.cert).expect("the certificate"))
        .unwrap();
    let config = proxy_str0m::net::tls_config(roots).unwrap();
    let name = ServerName::try_from(DOMAIN.to_owned()).unwrap();
    rustls::ClientConnection::new(config, name).unwrap()
}

/// Opens a stream over TLS: the features must offer SASL and no STARTTLS.
fn open_over_tls(tls: &mut rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>) {
    let mut framer = TcpFramer::new(Limits::default());
    tls.write_all(tcp_open(DOMAIN, None).as_bytes()).unwrap();
    let Frame::Open(header) = next_blocking(tls, &mut framer) else {
        panic!("no stream header over TLS");
    };
    assert_eq!(header.from.as_deref(), Some(DOMAIN), "{header:?}");
    let features = stanza(next_blocking(tls, &mut framer));
    assert!(features.child("starttls").is_none(), "{features:?}");
    assert!(
        features.mechanisms().contains(&"SCRAM-SHA-256"),
        "{features:?}"
    );
    assert_eq!(
        tls.conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
}

#[tokio::test]
async fn starttls_and_direct_tls_verify_against_the_certificate() {
    let Some(prosody) = Prosody::start(ProsodyOptions::default()).await else {
        return;
    };
    let (c2s, direct) = (prosody.c2s_addr(), prosody.tls_addr());
    let (starttls, direct_tls) = (tls_client(&prosody), tls_client(&prosody));
    tokio::task::spawn_blocking(move || {
        // STARTTLS (RFC 6120 §5) on the c2s port.
        let mut sock = std::net::TcpStream::connect(c2s).unwrap();
        sock.set_read_timeout(Some(WITHIN)).unwrap();
        let mut framer = TcpFramer::new(Limits::default());
        sock.write_all(tcp_open(DOMAIN, None).as_bytes()).unwrap();
        let header = next_blocking(&mut sock, &mut framer);
        assert!(matches!(header, Frame::Open(_)), "{header:?}");
        let features = stanza(next_blocking(&mut sock, &mut framer));
        assert!(features.child("starttls").is_some(), "{features:?}");
        sock.write_all(format!("<starttls xmlns='{NS_TLS}'/>").as_bytes())
            .unwrap();
        let proceed = stanza(next_blocking(&mut sock, &mut framer));
        assert_eq!(
            (proceed.name.as_str(), proceed.ns.as_str()),
            ("proceed", NS_TLS)
        );
        assert_eq!(framer.buffered(), 0, "bytes after <proceed/>");
        open_over_tls(&mut rustls::StreamOwned::new(starttls, sock));

        // Direct TLS (XEP-0368) on its own port.
        let sock = std::net::TcpStream::connect(direct).unwrap();
        sock.set_read_timeout(Some(WITHIN)).unwrap();
        open_over_tls(&mut rustls::StreamOwned::new(direct_tls, sock));
    })
    .await
    .unwrap();
}

/// Reads one unfragmented WebSocket frame from the server: (opcode, payload).
async fn ws_read_frame(sock: &mut TcpStream) -> (u8, Vec<u8>) {
    tokio::time::timeout(WITHIN, async {
        let mut head = [0; 2];
        sock.read_exact(&mut head).await.unwrap();
        assert_eq!(head[0] & 0x80, 0x80, "a fragmented frame");
        assert_eq!(head[1] & 0x80, 0, "a masked frame from the server");
        let len = match head[1] & 0x7f {
            126 => u64::from(sock.read_u16().await.unwrap()),
            127 => sock.read_u64().await.unwrap(),
            n => u64::from(n),
        };
        assert!(len <= MAX_FRAME as u64, "a frame of {len} bytes");
        let mut payload = vec![0; len as usize];
        sock.read_exact(&mut payload).await.unwrap();
        (head[0] & 0x0f, payload)
    })
    .await
    .unwrap_or_else(|_| panic!("no WebSocket frame within {WITHIN:?}"))
}

/// A WebSocket text message of the client (masked, as RFC 6455 requires).
fn ws_text(text: &str) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let len = text.len();
    let mut frame = vec![0x81];
    match len {
        0..=125 => frame.push(0x80 | len as u8),
        126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(text.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// The next WebSocket message of the server, read as RFC 7395 framing.
async fn ws_message(sock: &mut TcpStream) -> Frame {
    let (opcode, payload) = ws_read_frame(sock).await;
    assert_eq!(opcode, 1, "not a text frame: {payload:?}");
    let text = String::from_utf8(payload).expect("UTF-8 text");
    ws_frame(&text, &Limits::default()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[tokio::test]
async fn websocket_upgrade_opens_an_rfc7395_stream() {
    let Some(prosody) = Prosody::start(ProsodyOptions::default()).await else {
        return;
    };
    let url = prosody.ws_url();
    let path = url.find("/xmpp-websocket").map(|at| &url[at..]);
    let mut sock = TcpStream::connect(prosody.http_addr()).await.unwrap();
    // The key and its accept value are RFC 6455 §1.3's example.
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: xmpp\r\n\r\n",
        path.unwrap(),
        prosody.http_port
    );
    sock.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(WITHIN, async {
        while !response.ends_with(b"\r\n\r\n") {
            assert!(response.len() < 8192, "an endless response head");
            response.push(sock.read_u8().await.unwrap());
        }
    })
    .await
    .expect("no upgrade response");
    let response = String::from_utf8(response).unwrap().to_ascii_lowercase();
    assert!(
        response.starts_with("http/1.1 101 "),
        "not switching protocols: {response}"
    );
    for header in [
        "upgrade: websocket",
        "sec-websocket-protocol: xmpp",
        "sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=",
    ] {
        assert!(
            response.lines().any(|l| l.trim() == header),
            "no {header:?} in {response}"
        );
    }

    sock.write_all(&ws_text(&ws_open(GUEST_DOMAIN)))
        .await
        .unwrap();
    // An <open/> in the framing namespace, or ws_frame would call it a stanza.
    let Frame::Open(opened) = ws_message(&mut sock).await else {
        panic!("no <open/> from the server");
    };
    assert_eq!(opened.from.as_deref(), Some(GUEST_DOMAIN), "{opened:?}");
    assert_eq!(opened.version.as_deref(), Some("1.0"), "{opened:?}");
    let features = stanza(ws_message(&mut sock).await);
    assert_eq!(features.name, "features", "{features:?}");
    assert_eq!(features.mechanisms(), ["ANONYMOUS"], "{features:?}");

    sock.write_all(&ws_text(ws_close())).await.unwrap();
    let closed = ws_message(&mut sock).await;
    assert!(matches!(closed, Frame::Close(_)), "{closed:?}");
    let (opcode, payload) = ws_read_frame(&mut sock).await;
    assert_eq!(opcode, 8, "not a close frame");
    assert_eq!(
        payload.get(..2),
        Some(&1000u16.to_be_bytes()[..]),
        "{payload:?}"
    );
}

#[tokio::test]
async fn anonymous_login_binds_and_discovers_turn_services() {
    let options = ProsodyOptions {
        rest_user: Some("device".into()),
        turn_port: 34_780,
        turns_host: "turn.test".into(),
        turns_port: 53_490,
        ttl_secs: 900,
        ..ProsodyOptions::default()
    };
    let Some(prosody) = Prosody::start(options.clone()).await else {
        return;
    };
    let mut c2s = Tcp::connect(&prosody).await;
    c2s.open(GUEST_DOMAIN).await;
    c2s.send(&format!("<auth xmlns='{NS_SASL}' mechanism='ANONYMOUS'/>"))
        .await;
    let success = c2s.stanza().await;
    assert_eq!(success.name, "success", "{success:?}");
    // Stream restart after SASL (RFC 6120 §6.4.6): now resource binding is offered.
    let (_, features) = c2s.open(GUEST_DOMAIN).await;
    assert!(
        features.all("bind").any(|bind| bind.ns == NS_BIND),
        "{features:?}"
    );
    let bound = c2s
        .iq(
            "b1",
            &format!("<iq type='set' id='b1'><bind xmlns='{NS_BIND}'/></iq>"),
        )
        .await;
    assert_eq!(bound.attr("type"), Some("result"), "{bound:?}");
    let jid = bound.child("bind").and_then(|b| b.child("jid"));
    let (bare, resource) = jid
        .and_then(|j| j.text.split_once('/'))
        .unwrap_or_else(|| panic!("no full JID in {bound:?}"));
    assert!(
        bare.ends_with(&format!("@{GUEST_DOMAIN}")) && !resource.is_empty(),
        "{bound:?}"
    );

    let pong = c2s
        .iq(
            "p1",
            &format!(
                "<iq type='get' to='{GUEST_DOMAIN}' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>"
            ),
        )
        .await;
    assert_eq!(pong.attr("type"), Some("result"), "{pong:?}");

    // XEP-0045: a new room is created unlocked, and the self-presence says so.
    let room = format!("room@{MUC_DOMAIN}/device");
    c2s.send(&format!(
        "<presence to='{room}'><x xmlns='http://jabber.org/protocol/muc'/></presence>"
    ))
    .await;
    let joined = c2s.stanza().await;
    assert!(
        joined.name == "presence" && joined.attr("from") == Some(room.as_str()),
        "{joined:?}"
    );
    let x = joined.all("x").find(|x| x.ns == NS_MUC_USER);
    let codes: Vec<&str> = x
        .into_iter()
        .flat_map(|x| x.all("status"))
        .filter_map(|status| status.attr("code"))
        .collect();
    for code in ["110", "201"] {
        assert!(codes.contains(&code), "{joined:?}");
    }
    let subject = c2s.stanza().await;
    assert!(subject.child("subject").is_some(), "{subject:?}");

    for (id, ns) in [("e2", "urn:xmpp:extdisco:2"), ("e1", "urn:xmpp:extdisco:1")] {
        let before = unix_now();
        let answer = c2s
            .iq(
                id,
                &format!(
                    "<iq type='get' to='{GUEST_DOMAIN}' id='{id}'><services xmlns='{ns}'/></iq>"
                ),
            )
            .await;
        let after = unix_now();
        assert_eq!(answer.attr("type"), Some("result"), "{answer:?}");
        let services = answer.child("services").filter(|s| s.ns == ns);
        let services = services.unwrap_or_else(|| panic!("no <services> in {answer:?}"));
        check_services(&options, services, before, after);
    }
}

/// The four configured services, the three of TURN with REST credentials of the
/// secret, expiring a TTL after the query.
fn check_services(options: &ProsodyOptions, services: &El, before: u64, after: u64) {
    let mut seen: Vec<String> = services
        .all("service")
        .map(|s| {
            let a = |n| s.attr(n).unwrap_or_default();
            format!(
                "{}:{}:{}/{}",
                a("type"),
                a("host"),
                a("port"),
                a("transport")
            )
        })
        .collect();
    seen.sort_unstable();
    let (turn, turns) = (
        format!("{}:{}", options.turn_host, options.turn_port),
        format!("{}:{}", options.turns_host, options.turns_port),
    );
    assert_eq!(
        seen,
        [
            format!("stun:{turn}/udp"),
            format!("turn:{turn}/tcp"),
            format!("turn:{turn}/udp"),
            format!("turns:{turns}/tcp"),
        ],
        "{services:?}"
    );
    let user = options.rest_user.as_deref().expect("a REST user");
    let ttl = u64::from(options.ttl_secs);
    for service in services.all("service") {
        if service.attr("type") == Some("stun") {
            assert_eq!(service.attr("username"), None, "{service:?}");
            assert_eq!(service.attr("password"), None, "{service:?}");
            continue;
        }
        assert_eq!(service.attr("restricted"), Some("1"), "{service:?}");
        let username = service.attr("username").unwrap_or_default();
        let (expiry, name) = username
            .split_once(':')
            .unwrap_or_else(|| panic!("not <expiry>:<user>: {service:?}"));
        assert_eq!(name, user, "{service:?}");
        let expiry: u64 = expiry
            .parse()
            .unwrap_or_else(|_| panic!("no expiry in {service:?}"));
        // Prosody's "now" has been seen a second behind the test's (a CI run
        // on a loaded machine): allow that second.
        assert!(
            (before + ttl - 1..=after + ttl).contains(&expiry),
            "expiry {expiry} not {ttl} s after {before}..={after} (-1 s): {service:?}"
        );
        assert_eq!(
            service.attr("expires"),
            Some(xep0082(expiry).as_str()),
            "{service:?}"
        );
        let (expected_user, password) =
            proxy_str0m::net::rest_credentials(&options.secret, Some(user), expiry, 0);
        assert_eq!(username, expected_user);
        assert_eq!(
            service.attr("password"),
            Some(password.as_str()),
            "not base64(HMAC-SHA1(secret, username)): {service:?}"
        );
    }
}

/// Authenticates on a new stream to `domain` with proxy-xmpp's SASL client,
/// offering it only `only` of the server's mechanisms when given; returns the
/// mechanism used and the outcome. A SCRAM success is `Ok` only with the server's
/// proof checked.
async fn login(
    prosody: &Prosody,
    domain: &str,
    credentials: Option<(&str, &str)>,
    only: Option<&str>,
) -> (Mechanism, Result<(), SaslError>) {
    let mut c2s = Tcp::connect(prosody).await;
    let (_, features) = c2s.open(domain).await;
    let config = SaslConfig {
        credentials: credentials.map(|(u, p)| Credentials::new(u, p).unwrap()),
        allow_plain_without_tls: true,
        ..SaslConfig::default()
    };
    let offered: Vec<&str> = features
        .mechanisms()
        .into_iter()
        .filter(|m| only.is_none_or(|o| o == *m))
        .collect();
    let nonce: [u8; 24] = std::array::from_fn(|i| (i as u8).wrapping_mul(37) ^ 0x5a);
    let (mut client, auth) = sasl::start(&config, offered, false, &nonce).unwrap();
    c2s.send(&auth).await;
    // SCRAM takes two round trips, the others one; allow one more.
    for _ in 0..3 {
        let answer = c2s.stanza().await;
        assert_eq!(answer.ns, NS_SASL, "{answer:?}");
        let element = match answer.name.as_str() {
            "failure" => {
                let condition = answer.children.iter().find(|c| c.name != "text");
                let text = answer.child("text").map(|t| t.text.as_str());
                ServerElement::failure(condition.map_or("", |c| c.name.as_str()), text)
            }
            name => ServerElement::from_parts(name, &answer.text)
                .unwrap_or_else(|| panic!("not a SASL element: {answer:?}")),
        };
        match client.handle(element) {
            Ok(Step::Respond(response)) => c2s.send(&response).await,
            Ok(Step::Success) => return (client.mechanism(), Ok(())),
            Err(err) => return (client.mechanism(), Err(err)),
        }
    }
    panic!("no outcome after three round trips");
}

#[tokio::test]
async fn seeded_accounts_log_in_with_each_mechanism_and_a_wrong_password_fails() {
    let Some(prosody) = Prosody::start(ProsodyOptions::default()).await else {
        return;
    };
    // Every seeded account, with the preferred mechanism.
    for (user, password) in &prosody.options.users {
        assert_eq!(
            login(&prosody, DOMAIN, Some((user, password)), None).await,
            (Mechanism::ScramSha256, Ok(())),
            "{user}"
        );
    }
    // Each of the others on its own.
    let (user, password) = &prosody.options.users[0];
    for (name, mechanism) in [
        ("SCRAM-SHA-1", Mechanism::ScramSha1),
        ("PLAIN", Mechanism::Plain),
    ] {
        assert_eq!(
            login(&prosody, DOMAIN, Some((user, password)), Some(name)).await,
            (mechanism, Ok(())),
            "{name}"
        );
    }
    assert_eq!(
        login(&prosody, GUEST_DOMAIN, None, None).await,
        (Mechanism::Anonymous, Ok(()))
    );

    // A wrong password, over SCRAM and PLAIN.
    for only in [None, Some("PLAIN")] {
        let (_, outcome) = login(&prosody, DOMAIN, Some((user, "wrong")), only).await;
        assert!(
            matches!(
                outcome,
                Err(SaslError::Failure {
                    condition: FailureCondition::NotAuthorized,
                    ..
                })
            ),
            "{only:?}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn restart_ends_sessions_and_serves_again_on_the_same_ports() {
    let Some(mut prosody) = Prosody::start(ProsodyOptions::default()).await else {
        return;
    };
    let ports = (prosody.c2s_port, prosody.tls_port, prosody.http_port);
    let mut c2s = Tcp::connect(&prosody).await;
    c2s.open(GUEST_DOMAIN).await;
    // Prosody 0.12.3 races here: a SIGTERM within a few milliseconds of the last
    // bytes on a connection often closes it with no stream error at all (7 of 15
    // runs with no pause; none of 20 with this one). Nothing observable marks the end
    // of that window, so this one pause stands in for an event.
    tokio::time::sleep(QUIET_BEFORE_SIGTERM).await;
    let stopping = prosody.stop();
    // Prosody exits about 1 s after SIGTERM, whether or not clients close in turn.
    let client = async {
        let error = c2s.stanza().await;
        c2s.send(tcp_close()).await;
        error
    };
    let (took, error) = tokio::join!(stopping, client);
    assert_eq!(error.name, "error", "{error:?}");
    assert!(error.child("system-shutdown").is_some(), "{error:?}");
    eprintln!("stopped in {took:?} with a client connected");
    assert!(TcpStream::connect(prosody.c2s_addr()).await.is_err());

    prosody.start_again().await;
    assert_eq!(
        (prosody.c2s_port, prosody.tls_port, prosody.http_port),
        ports
    );
    let (_, features) = Tcp::connect(&prosody).await.open(GUEST_DOMAIN).await;
    assert_eq!(features.mechanisms(), ["ANONYMOUS"], "{features:?}");

    // A crash: no stream error, the connection just ends; then it serves again.
    let mut c2s = Tcp::connect(&prosody).await;
    c2s.open(GUEST_DOMAIN).await;
    prosody.crash().await;
    let mut rest = Vec::new();
    let n = tokio::time::timeout(WITHIN, c2s.sock.read_to_end(&mut rest))
        .await
        .expect("no end of the connection")
        .unwrap_or(0);
    c2s.framer.push(&rest[..n]);
    assert_eq!(c2s.framer.next(), None, "a frame before the crash's EOF");
    prosody.start_again().await;
    Tcp::connect(&prosody).await.open(DOMAIN).await;
}
