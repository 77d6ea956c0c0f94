//! A scripted XMPP server for fault tests: plain TCP on 127.0.0.1, no TLS, each
//! connection driven step by step by the test. It speaks just enough XMPP to log a
//! client in (stream open, features with SASL ANONYMOUS or PLAIN, success, the
//! stream restart, the bind result) and then does whatever the test writes: an
//! endless stanza, a stream error, a SASL failure, garbage XEP-0215 answers.
//!
//! What the client sends is read as text and matched by substrings (the client is
//! ours; the test checks what it must see, not a general XML reading). Every wait
//! is bounded and fails the test with what was read so far.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use super::Log;

/// `http://etherx.jabber.org/streams`.
pub const NS_STREAMS: &str = "http://etherx.jabber.org/streams";
/// `urn:ietf:params:xml:ns:xmpp-sasl`.
pub const NS_SASL: &str = "urn:ietf:params:xml:ns:xmpp-sasl";
/// `urn:ietf:params:xml:ns:xmpp-bind`.
pub const NS_BIND: &str = "urn:ietf:params:xml:ns:xmpp-bind";
/// `urn:ietf:params:xml:ns:xmpp-streams`, of stream error conditions.
pub const NS_STREAM_ERRORS: &str = "urn:ietf:params:xml:ns:xmpp-streams";
/// How long one step of the script waits for the client.
pub const STEP: Duration = Duration::from_secs(20);

/// The listening socket.
pub struct ScriptServer {
    listener: TcpListener,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The XMPP domain it claims.
    pub domain: String,
    accepted: usize,
}

impl ScriptServer {
    /// Listens on a free port of 127.0.0.1.
    pub async fn bind(domain: &str) -> ScriptServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().unwrap().port();
        ScriptServer {
            listener,
            port,
            domain: domain.to_owned(),
            accepted: 0,
        }
    }

    /// `xmpp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("xmpp://127.0.0.1:{}", self.port)
    }

    /// How many connections were accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted
    }

    /// The next connection, within `within`.
    pub async fn accept(&mut self, within: Duration) -> ScriptConn {
        let (stream, _) = timeout(within, self.listener.accept())
            .await
            .unwrap_or_else(|_| panic!("no connection within {within:?}"))
            .expect("accept");
        self.accepted += 1;
        ScriptConn {
            stream,
            buf: Vec::new(),
            domain: self.domain.clone(),
            n: self.accepted,
        }
    }

    /// Whether a connection arrives within `within` (accepted and dropped).
    pub async fn connection_within(&mut self, within: Duration) -> bool {
        match timeout(within, self.listener.accept()).await {
            Ok(Ok(_)) => {
                self.accepted += 1;
                true
            }
            _ => false,
        }
    }
}

/// One client connection.
pub struct ScriptConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    domain: String,
    n: usize,
}

impl ScriptConn {
    /// Reads until `needle` has arrived; returns the text up to and including it and
    /// keeps the rest.
    pub async fn read_until(&mut self, needle: &str) -> String {
        let found = timeout(STEP, async {
            loop {
                if let Some(i) = find(&self.buf, needle.as_bytes()) {
                    let end = i + needle.len();
                    let text = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                    self.buf.drain(..end);
                    return Ok(text);
                }
                let mut chunk = [0u8; 4096];
                match self.stream.read(&mut chunk).await {
                    Ok(0) => return Err("the client closed the connection".to_owned()),
                    Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                    Err(e) => return Err(format!("read failed: {e}")),
                }
            }
        })
        .await;
        match found {
            Ok(Ok(text)) => text,
            Ok(Err(why)) => panic!(
                "waiting for {needle:?}: {why}; read: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
            Err(_) => panic!(
                "no {needle:?} from the client within {STEP:?}; read: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Reads the client's next element ending in `</NAME>` or `/>` after `<NAME`.
    pub async fn read_element(&mut self, name: &str) -> String {
        self.read_until(&format!("<{name}")).await;
        let head = self.read_until(">").await;
        if head.ends_with("/>") {
            return format!("<{name}{head}");
        }
        let rest = self.read_until(&format!("</{name}>")).await;
        format!("<{name}{head}{rest}")
    }

    /// Writes `text`.
    pub async fn send(&mut self, text: &str) {
        self.stream
            .write_all(text.as_bytes())
            .await
            .expect("write to the client");
    }

    /// Reads the client's stream header and answers with ours.
    pub async fn open_stream(&mut self) {
        self.read_until("<stream:stream").await;
        self.read_until(">").await;
        let header = format!(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
             xmlns:stream='{NS_STREAMS}' id='script-{}' from='{}' version='1.0'>",
            self.n, self.domain
        );
        self.send(&header).await;
    }

    /// The first features: these SASL mechanisms (no STARTTLS).
    pub async fn offer_mechanisms(&mut self, mechanisms: &[&str]) {
        let list: String = mechanisms
            .iter()
            .map(|m| format!("<mechanism>{m}</mechanism>"))
            .collect();
        self.send(&format!(
            "<stream:features><mechanisms xmlns='{NS_SASL}'>{list}</mechanisms></stream:features>"
        ))
        .await;
    }

    /// Logs a client in with SASL ANONYMOUS and binds `user@DOMAIN/rN`; returns
    /// that JID.
    pub async fn login_anonymous(&mut self, user: &str) -> String {
        self.open_stream().await;
        self.offer_mechanisms(&["ANONYMOUS"]).await;
        let auth = self.read_element("auth").await;
        assert!(auth.contains("ANONYMOUS"), "{auth}");
        self.send(&format!("<success xmlns='{NS_SASL}'/>")).await;
        self.open_stream().await;
        self.send(&format!(
            "<stream:features><bind xmlns='{NS_BIND}'/></stream:features>"
        ))
        .await;
        let bind = self.read_element("iq").await;
        assert!(bind.contains(NS_BIND), "a bind request: {bind}");
        let id = attr(&bind, "id").unwrap_or_else(|| panic!("no id in {bind}"));
        let jid = format!("{user}@{}/r{}", self.domain, self.n);
        self.send(&format!(
            "<iq type='result' id='{id}'><bind xmlns='{NS_BIND}'><jid>{jid}</jid></bind></iq>"
        ))
        .await;
        jid
    }

    /// Reads the XEP-0215 query the client sends once online; returns its id.
    pub async fn extdisco_query(&mut self) -> String {
        loop {
            let iq = self.read_element("iq").await;
            if iq.contains("urn:xmpp:extdisco:") {
                return attr(&iq, "id").unwrap_or_else(|| panic!("no id in {iq}"));
            }
        }
    }
}

/// The value of attribute `name` in the first start tag of `element` (either quote).
pub fn attr(element: &str, name: &str) -> Option<String> {
    let tag = &element[..element.find('>')?];
    for quote in ['\'', '"'] {
        let key = format!(" {name}={quote}");
        if let Some(i) = tag.find(&key) {
            let rest = &tag[i + key.len()..];
            return rest.find(quote).map(|end| rest[..end].to_owned());
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Log {
    /// The `n`th line (1-based, kept or coming) containing `needle`.
    pub async fn wait_for_nth(&mut self, needle: &str, n: usize, within: Duration) -> String {
        let kept = self.lines.iter().filter(|l| l.contains(needle)).count();
        if kept >= n {
            return self
                .lines
                .iter()
                .filter(|l| l.contains(needle))
                .nth(n - 1)
                .unwrap()
                .clone();
        }
        let mut seen = kept;
        let found = timeout(within, async {
            while let Some(line) = self.rx.recv().await {
                self.lines.push(line.clone());
                if line.contains(needle) {
                    seen += 1;
                    if seen == n {
                        return Some(line);
                    }
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!(
                "no line {n} with {needle:?} within {within:?}; log:\n{}",
                self.lines.join("\n")
            ),
        }
    }

    /// How many lines seen so far contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.lines.iter().filter(|l| l.contains(needle)).count()
    }
}

/// The peak resident set (`VmHWM`) of a process, in KiB.
pub fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status:\n{status}"))
}

/// `urn:ietf:params:xml:ns:xmpp-framing` (RFC 7395).
pub const NS_FRAMING: &str = "urn:ietf:params:xml:ns:xmpp-framing";

/// A scripted XMPP server over WebSocket (RFC 7395, `ws://`, subprotocol `xmpp`).
pub struct WsScriptServer {
    listener: TcpListener,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The XMPP domain it claims.
    pub domain: String,
    accepted: usize,
}

impl WsScriptServer {
    /// Listens on a free port of 127.0.0.1.
    pub async fn bind(domain: &str) -> WsScriptServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().unwrap().port();
        WsScriptServer {
            listener,
            port,
            domain: domain.to_owned(),
            accepted: 0,
        }
    }

    /// `ws://127.0.0.1:PORT/xmpp-websocket`.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/xmpp-websocket", self.port)
    }

    /// The next connection, upgraded (accepting the `xmpp` subprotocol).
    pub async fn accept(&mut self, within: Duration) -> WsConn {
        use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
        use tokio_tungstenite::tungstenite::http::HeaderValue;
        let (stream, _) = timeout(within, self.listener.accept())
            .await
            .unwrap_or_else(|_| panic!("no connection within {within:?}"))
            .expect("accept");
        self.accepted += 1;
        // The handshake's callback type is tungstenite's, large error and all.
        #[allow(clippy::result_large_err)]
        let callback = |request: &Request, mut response: Response| {
            let asked = request
                .headers()
                .get("Sec-WebSocket-Protocol")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            assert!(
                asked.contains("xmpp"),
                "the client asks for 'xmpp': {asked:?}"
            );
            response
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("xmpp"));
            Ok(response)
        };
        let ws = timeout(STEP, tokio_tungstenite::accept_hdr_async(stream, callback))
            .await
            .expect("the WebSocket upgrade in time")
            .expect("the WebSocket upgrade");
        WsConn {
            ws,
            domain: self.domain.clone(),
            n: self.accepted,
        }
    }
}

/// One WebSocket client connection.
pub struct WsConn {
    pub ws: tokio_tungstenite::WebSocketStream<TcpStream>,
    domain: String,
    n: usize,
}

impl WsConn {
    /// The client's next text message.
    pub async fn recv(&mut self) -> String {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let message = timeout(STEP, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no WebSocket message within {STEP:?}"))
                .expect("the client closed the WebSocket")
                .expect("a WebSocket message");
            match message {
                Message::Text(text) => return text.as_str().to_owned(),
                Message::Close(_) => panic!("the client closed the WebSocket"),
                _ => {}
            }
        }
    }

    /// Sends one text message.
    pub async fn send(&mut self, text: &str) {
        use futures_util::SinkExt;
        use tokio_tungstenite::tungstenite::Message;
        self.ws
            .send(Message::text(text))
            .await
            .expect("send a WebSocket message");
    }

    async fn open(&mut self) {
        let open = self.recv().await;
        assert!(open.starts_with("<open"), "an <open/>: {open}");
        let answer = format!(
            "<open xmlns='{NS_FRAMING}' from='{}' id='ws-script-{}' version='1.0'/>",
            self.domain, self.n
        );
        self.send(&answer).await;
    }

    /// Logs a client in with SASL ANONYMOUS and binds `user@DOMAIN/wN`.
    pub async fn login_anonymous(&mut self, user: &str) -> String {
        self.open().await;
        self.send(&format!(
            "<stream:features xmlns:stream='{NS_STREAMS}'><mechanisms xmlns='{NS_SASL}'>\
             <mechanism>ANONYMOUS</mechanism></mechanisms></stream:features>"
        ))
        .await;
        let auth = self.recv().await;
        assert!(auth.contains("ANONYMOUS"), "{auth}");
        self.send(&format!("<success xmlns='{NS_SASL}'/>")).await;
        self.open().await;
        self.send(&format!(
            "<stream:features xmlns:stream='{NS_STREAMS}'><bind xmlns='{NS_BIND}'/></stream:features>"
        ))
        .await;
        let bind = self.recv().await;
        assert!(bind.contains(NS_BIND), "a bind request: {bind}");
        let id = attr(&bind, "id").unwrap_or_else(|| panic!("no id in {bind}"));
        let jid = format!("{user}@{}/w{}", self.domain, self.n);
        self.send(&format!(
            "<iq xmlns='jabber:client' type='result' id='{id}'><bind xmlns='{NS_BIND}'>\
             <jid>{jid}</jid></bind></iq>"
        ))
        .await;
        jid
    }

    /// Reads the XEP-0215 query; returns its id.
    pub async fn extdisco_query(&mut self) -> String {
        loop {
            let iq = self.recv().await;
            if iq.contains("urn:xmpp:extdisco:") {
                return attr(&iq, "id").unwrap_or_else(|| panic!("no id in {iq}"));
            }
        }
    }
}

/// A WebSocket frame header as a server writes it (unmasked), for a payload of
/// `len` bytes: `opcode` 1 (text) or 0 (continuation), `fin` for the last frame.
pub fn ws_frame_header(opcode: u8, fin: bool, len: u64) -> Vec<u8> {
    let mut header = vec![if fin { 0x80 } else { 0 } | opcode, 127];
    header.extend_from_slice(&len.to_be_bytes());
    header
}
