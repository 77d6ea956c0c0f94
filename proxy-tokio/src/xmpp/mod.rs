//! Signaling over a real XMPP server, as lib-jitsi-meet's `JitsiConnection` does:
//! [`XmppConnection`] drives the sans-IO [`proxy_xmpp::Client`] over TCP (plain,
//! STARTTLS or direct TLS) or a WebSocket (RFC 7395), and [`carry`] joins it to a
//! [`ProxyConnectionService`]: the proxy IQs that arrive go to
//! [`process_message`](ProxyConnectionService::process_message), the service's
//! signals go out as IQs to the peer's full JID (in the configured
//! [`Envelope`](proxy_xmpp::envelope::Envelope)), and the STUN/TURN servers the
//! server announces (XEP-0215, fetched again before they expire) become the
//! service's ICE servers.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use proxy_tokio::xmpp::{carry, XmppConfig, XmppConnection, XmppServer};
//! use proxy_tokio::{ProxyConnectionService, ServiceConfig};
//! use proxy_xmpp::client::{Event, Room};
//!
//! let (service, mut service_events, signals) =
//!     ProxyConnectionService::bind(ServiceConfig::default()).await?;
//! let server = XmppServer::parse("wss://meet.example.com/xmpp-websocket")?;
//! let mut config = XmppConfig::new(server, "guest.meet.example.com");
//! config.client.room = Some(Room {
//!     jid: "lobby@conference.meet.example.com".into(),
//!     nick: "room-device".into(),
//!     password: None,
//! });
//! let (xmpp, xmpp_events) = XmppConnection::connect(config)?;
//! // Proxy IQs in and out, ICE servers from XEP-0215: handled; the rest is ours.
//! let mut xmpp_events = carry(&service, signals, xmpp, xmpp_events);
//! while let Some(event) = xmpp_events.next().await {
//!     match event {
//!         Event::RoomJoined { occupant_jid } => println!("peers reach us at {occupant_jid}"),
//!         Event::Offline { reason, .. } => println!("reconnecting: {reason}"),
//!         Event::Closed { .. } => break,
//!         _ => {}
//!     }
//! }
//! # drop((service, service_events)); Ok(()) }
//! ```
//!
//! # Bounds
//!
//! Commands to the connection are bounded (64; `send_proxy_iq` waits for room);
//! events are unbounded for the reason the crate docs give for the service's events
//! (the task must never wait for the application), and their volume is that of the
//! server's stanzas, which the client rate-limits. Each read is at most 16 KiB; a
//! WebSocket message is refused above the client's stanza size limit.

mod transport;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use proxy_core::ProxyMessage;
use proxy_xmpp::client::{Client, Config, Event, IqFailure, Output, TlsMode, Transport as Carrier};
use tokio::sync::{mpsc, oneshot};

use crate::service::{MessageSender, ProxyConnectionService};
use crate::Signals;
use transport::{Read, Transport};

/// How many commands may wait for the connection's task.
const COMMAND_CAPACITY: usize = 64;
/// How long [`XmppConnection::close`] waits for the answers to the proxy IQs
/// sent before it (a last `session-terminate`, say) before the stream ends.
pub const CLOSE_LINGER: Duration = Duration::from_secs(2);
/// How long [`carry`] holds the `unavailable` the client synthesizes for an
/// occupant that left the room before giving it to the service: when our own
/// connection goes down meanwhile, the departure was most likely the server
/// going down (a Prosody stopping closes its sessions one by one and tells the
/// room of each), and the message is dropped, so a server restart does not end
/// a session whose media flows peer to peer.
pub const LEFT_GRACE: Duration = Duration::from_secs(2);

/// Where the XMPP server is, from its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmppServer {
    /// TCP c2s (RFC 6120): `xmpp://host[:port]` (port 5222, STARTTLS) or
    /// `xmpps://host[:port]` (port 5223, direct TLS).
    Tcp {
        /// Host name or address.
        host: String,
        /// Port.
        port: u16,
        /// `xmpps://`: TLS from the first byte (XEP-0368).
        direct_tls: bool,
    },
    /// RFC 7395: `ws://host[:port]/path` or `wss://…` (Jitsi serves
    /// `/xmpp-websocket`).
    WebSocket {
        /// The URL as given, its scheme in lower case (and `/` for an empty
        /// path).
        url: String,
        /// `wss://`.
        secure: bool,
        /// Host name or address (the TLS name for `wss://`).
        host: String,
        /// Port.
        port: u16,
        /// Largest message accepted (set from the client's stanza limit).
        max_message: usize,
    },
}

/// A URL [`XmppServer::parse`] cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("XMPP server URL {url:?}: {why}")]
pub struct XmppUrlError {
    url: String,
    why: &'static str,
}

impl XmppServer {
    /// Reads `ws://`, `wss://`, `xmpp://` or `xmpps://` URLs (`[v6]` hosts
    /// allowed; no user info).
    pub fn parse(url: &str) -> Result<XmppServer, XmppUrlError> {
        let bad = |why| XmppUrlError {
            url: url.to_owned(),
            why,
        };
        let (scheme, rest) = url.split_once("://").ok_or(bad("no scheme"))?;
        let scheme = scheme.to_ascii_lowercase();
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(bad("user info in the URL is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or(bad("unclosed '['"))?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or(bad("junk after ']'"))?),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                // An IPv6 address goes in brackets.
                Some((h, _)) if h.contains(':') => return Err(bad("IPv6 host without '[ ]'")),
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let default_port = match scheme.as_str() {
            "ws" => 80,
            "wss" => 443,
            "xmpp" => 5222,
            "xmpps" => 5223,
            _ => return Err(bad("the scheme must be ws, wss, xmpp or xmpps")),
        };
        let port = match port {
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or(bad("bad port"))?,
            None => default_port,
        };
        let host = host.to_owned();
        Ok(match scheme.as_str() {
            // The scheme in lower case: the WebSocket client compares it
            // as written (`WS://` would never connect).
            "ws" | "wss" => XmppServer::WebSocket {
                url: format!(
                    "{scheme}://{rest}{}",
                    if path.is_empty() { "/" } else { "" }
                ),
                secure: scheme == "wss",
                host,
                port,
                max_message: proxy_core::Limits::default().max_bytes,
            },
            _ => {
                if !path.is_empty() && path != "/" {
                    return Err(bad("an xmpp:// URL has no path"));
                }
                XmppServer::Tcp {
                    host,
                    port,
                    direct_tls: scheme == "xmpps",
                }
            }
        })
    }

    /// Host name or address.
    pub fn host(&self) -> &str {
        match self {
            XmppServer::Tcp { host, .. } | XmppServer::WebSocket { host, .. } => host,
        }
    }

    /// Port.
    pub fn port(&self) -> u16 {
        match self {
            XmppServer::Tcp { port, .. } | XmppServer::WebSocket { port, .. } => *port,
        }
    }

    /// Whether the host is a loopback address or `localhost` (where PLAIN
    /// without TLS reveals nothing to a network).
    pub fn is_loopback(&self) -> bool {
        let host = self.host();
        host.eq_ignore_ascii_case("localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The client transport for this server (`xmpp://` with STARTTLS
    /// required; change [`Config::transport`] to relax it).
    fn carrier(&self) -> Carrier {
        match self {
            XmppServer::Tcp { direct_tls, .. } => Carrier::Tcp {
                tls: if *direct_tls {
                    TlsMode::Direct
                } else {
                    TlsMode::Required
                },
            },
            XmppServer::WebSocket { secure, .. } => Carrier::WebSocket { secure: *secure },
        }
    }
}

/// What an [`XmppConnection`] is set up with.
#[derive(Debug, Clone)]
pub struct XmppConfig {
    /// Where to connect.
    pub server: XmppServer,
    /// The client: domain, credentials, room, envelope, limits, timers. Its
    /// transport follows [`server`](Self::server) (set by [`XmppConfig::new`]);
    /// its `wall_clock` and `seed` are filled in by [`XmppConnection::connect`]
    /// when left at their defaults.
    pub client: Config,
    /// TLS for STARTTLS, `xmpps://` and `wss://`; `None`: the Mozilla roots
    /// of `webpki-roots`.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl XmppConfig {
    /// A guest (SASL ANONYMOUS) of `domain` on `server`, with the client's
    /// defaults ([`Config::new`]).
    pub fn new(server: XmppServer, domain: &str) -> XmppConfig {
        let client = Config::new(server.carrier(), domain, [0; 32]);
        XmppConfig {
            server,
            client,
            tls: None,
        }
    }
}

/// Why [`XmppConnection::connect`] or a command could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XmppError {
    /// The TLS configuration could not be made.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The randomness for SCRAM nonces and backoff jitter is unavailable.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    /// The proxy IQ cannot be sent in the configured envelope.
    #[error(transparent)]
    Envelope(#[from] proxy_xmpp::envelope::EnvelopeError),
    /// The connection's task has ended (closed for good).
    #[error("the XMPP connection has ended")]
    Gone,
}

enum Command {
    SendProxyIq {
        to: String,
        iq: String,
        reply: oneshot::Sender<Result<(), proxy_xmpp::envelope::EnvelopeError>>,
    },
    JoinRoom(proxy_xmpp::client::Room),
    Close,
}

/// Handle to one XMPP connection running on a tokio task: it connects, logs in,
/// reconnects with backoff, and ends only when closed (by [`close`](Self::close),
/// by dropping every handle, or by a terminal error such as refused credentials,
/// reported as [`Event::Closed`]).
#[derive(Debug, Clone)]
pub struct XmppConnection {
    commands: mpsc::Sender<Command>,
}

/// The connection's events ([`Event`]), in order; ends after [`Event::Closed`].
#[derive(Debug)]
pub struct XmppEvents {
    rx: mpsc::UnboundedReceiver<Event>,
}

impl XmppEvents {
    /// The next event; `None` once the connection has ended.
    pub async fn next(&mut self) -> Option<Event> {
        self.rx.recv().await
    }
}

impl XmppConnection {
    /// Spawns the connection's task on the current tokio runtime and returns at
    /// once; the first [`Event::Online`] says it is logged in.
    pub fn connect(mut config: XmppConfig) -> Result<(XmppConnection, XmppEvents), XmppError> {
        let tls = match config.tls.take() {
            Some(tls) => tls,
            None => crate::engine::net::tls_config(rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })?,
        };
        let now = Instant::now();
        if config.client.seed == [0; 32] {
            config.client.seed = random_seed()?;
        }
        if config.client.wall_clock.is_none() {
            config.client.wall_clock = Some((SystemTime::now(), now));
        }
        if let XmppServer::WebSocket { max_message, .. } = &mut config.server {
            *max_message = config.client.limits.max_bytes;
        }
        let domain = config.client.domain.clone();
        let client = Client::new(config.client, now);
        let (commands_tx, commands_rx) = mpsc::channel(COMMAND_CAPACITY);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let task = Task {
            client,
            server: config.server,
            domain,
            tls,
            commands: commands_rx,
            events: events_tx,
            transport: None,
            pending: None,
        };
        tokio::spawn(task.run());
        Ok((
            XmppConnection {
                commands: commands_tx,
            },
            XmppEvents { rx: events_rx },
        ))
    }

    /// Sends a proxy IQ (the service's outgoing signal) to `to`, now or, while
    /// offline or joining the room, once online (failures come as
    /// [`Event::IqFailed`]). `Err` if it cannot be wrapped or the connection
    /// has ended.
    pub async fn send_proxy_iq(&self, to: &str, iq: &str) -> Result<(), XmppError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(Command::SendProxyIq {
                to: to.to_owned(),
                iq: iq.to_owned(),
                reply,
            })
            .await
            .map_err(|_| XmppError::Gone)?;
        Ok(rx.await.map_err(|_| XmppError::Gone)??)
    }

    /// Joins (or rejoins) a MUC room.
    pub async fn join_room(&self, room: proxy_xmpp::client::Room) -> Result<(), XmppError> {
        self.commands
            .send(Command::JoinRoom(room))
            .await
            .map_err(|_| XmppError::Gone)
    }

    /// Closes the stream once the proxy IQs sent before are answered (at most
    /// [`CLOSE_LINGER`] later); the events end with [`Event::Closed`].
    pub async fn close(&self) -> Result<(), XmppError> {
        self.commands
            .send(Command::Close)
            .await
            .map_err(|_| XmppError::Gone)
    }
}

/// 32 bytes from the operating system (through aws-lc-rs, the crypto backend
/// the rest of the program already uses).
fn random_seed() -> Result<[u8; 32], XmppError> {
    let mut seed = [0u8; 32];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut seed)
        .map_err(|e| XmppError::Random(format!("{e:?}")))?;
    Ok(seed)
}

/// A connection step in progress: the transport being opened, or STARTTLS.
type Pending = Pin<Box<dyn Future<Output = (Step, Result<Transport, String>)> + Send>>;

enum Step {
    Connect,
    StartTls,
}

/// What woke the task.
enum Wake {
    Command(Option<Command>),
    Step((Step, Result<Transport, String>)),
    Read(Read),
    Timer,
}

/// The connection's task: the client, its transport, and the step under way.
struct Task {
    client: Client,
    server: XmppServer,
    /// The XMPP domain: the TLS name for direct TLS.
    domain: String,
    tls: Arc<rustls::ClientConfig>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::UnboundedSender<Event>,
    transport: Option<Transport>,
    pending: Option<Pending>,
}

impl Task {
    async fn run(mut self) {
        let sleep = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(sleep);
        let mut commands_open = true;
        // Closing: the stream ends when no proxy IQ is outstanding, or at this instant.
        let mut closing: Option<Instant> = None;
        loop {
            if let Some(by) = closing {
                if self.client.outstanding_proxy_iqs() == 0 || Instant::now() >= by {
                    closing = None;
                    self.client.close(Instant::now());
                }
            }
            let deadline = match (self.drain().await, closing) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if self.client.is_closed() {
                // A connection step under way is dropped with the task.
                if let Some(t) = self.transport.take() {
                    t.shutdown().await;
                }
                return;
            }
            if let Some(at) = deadline {
                sleep.as_mut().reset(tokio::time::Instant::from_std(at));
            }
            let readable = self.transport.is_some() && self.client.wants_read(Instant::now());
            let (pending, transport) = (&mut self.pending, &mut self.transport);
            let has_pending = pending.is_some();
            let wake = tokio::select! {
                command = self.commands.recv(), if commands_open => Wake::Command(command),
                done = async { pending.as_mut().expect("guarded").await }, if has_pending => {
                    Wake::Step(done)
                }
                read = async { transport.as_mut().expect("guarded").read().await }, if readable => {
                    Wake::Read(read)
                }
                () = &mut sleep, if deadline.is_some() => Wake::Timer,
            };
            let now = Instant::now();
            match wake {
                Wake::Command(Some(Command::SendProxyIq { to, iq, reply })) => {
                    let _ = reply.send(self.client.send_proxy_iq(now, &to, &iq));
                }
                Wake::Command(Some(Command::JoinRoom(room))) => self.client.join_room(now, room),
                Wake::Command(Some(Command::Close)) => {
                    closing.get_or_insert(now + CLOSE_LINGER);
                }
                Wake::Command(None) => {
                    // Every handle is gone: nobody can send or be told.
                    commands_open = false;
                    closing.get_or_insert(now + CLOSE_LINGER);
                }
                Wake::Step((step, result)) => {
                    self.pending = None;
                    match (step, result) {
                        (Step::Connect, Ok(t)) => {
                            self.transport = Some(t);
                            self.client.handle_connected(now);
                        }
                        (Step::StartTls, Ok(t)) => {
                            self.transport = Some(t);
                            self.client.handle_tls_ready(now);
                        }
                        (_, Err(why)) => self.client.handle_closed(now, Some(why)),
                    }
                }
                Wake::Read(Read::Bytes(b)) => self.client.handle_bytes(now, &b),
                Wake::Read(Read::Frame(f)) => self.client.handle_frame(now, &f),
                Wake::Read(Read::Closed(why)) => {
                    self.transport = None;
                    self.client.handle_closed(now, why);
                }
                Wake::Timer => {}
            }
            let now = Instant::now();
            if deadline.is_some_and(|at| now >= at) {
                self.client.handle_timeout(now);
            }
        }
    }

    /// Carries out the client's outputs until it waits; returns its deadline.
    async fn drain(&mut self) -> Option<Instant> {
        loop {
            match self.client.poll_output() {
                Output::Connect => {
                    if let Some(t) = self.transport.take() {
                        t.shutdown().await;
                    }
                    let (server, tls) = (self.server.clone(), self.tls.clone());
                    let domain = self.domain.clone();
                    self.pending = Some(Box::pin(async move {
                        (
                            Step::Connect,
                            transport::connect(&server, &domain, &tls).await,
                        )
                    }));
                }
                Output::StartTls { server_name } => match self.transport.take() {
                    Some(t) => {
                        let tls = self.tls.clone();
                        self.pending = Some(Box::pin(async move {
                            (
                                Step::StartTls,
                                transport::start_tls(t, &server_name, &tls).await,
                            )
                        }));
                    }
                    None => self
                        .client
                        .handle_closed(Instant::now(), Some("no transport for STARTTLS".into())),
                },
                Output::Transmit(bytes) => {
                    if let Some(t) = &mut self.transport {
                        if let Err(e) = t.write_bytes(&bytes).await {
                            self.transport = None;
                            self.client.handle_closed(
                                Instant::now(),
                                Some(format!("TCP write failed: {e}")),
                            );
                        }
                    }
                }
                Output::SendFrame(frame) => {
                    if let Some(t) = &mut self.transport {
                        if let Err(e) = t.write_frame(frame).await {
                            self.transport = None;
                            self.client.handle_closed(
                                Instant::now(),
                                Some(format!("WebSocket write failed: {e}")),
                            );
                        }
                    }
                }
                Output::CloseTransport => {
                    self.pending = None;
                    if let Some(t) = self.transport.take() {
                        t.shutdown().await;
                    }
                }
                Output::Event(event) => {
                    // The application may have stopped listening; the client goes on.
                    let _ = self.events.send(event);
                }
                Output::Timeout(at) => return at,
            }
        }
    }
}

/// Joins an XMPP connection to a service: proxy IQs from the server go to
/// [`ProxyConnectionService::process_message`], the service's [`Signals`] are sent
/// with [`XmppConnection::send_proxy_iq`], and XEP-0215's servers are given to
/// [`ProxyConnectionService::set_ice_servers`] (and passed on, for logging). A
/// proxy IQ that cannot be sent is reported as [`Event::IqFailed`].
///
/// An occupant's departure from the room ([`Event::OccupantLeft`], then the
/// `unavailable` message the client synthesizes) reaches the service
/// [`LEFT_GRACE`] later, unless our own connection went offline or closed
/// meanwhile (then the departure is taken for the server's own shutdown, and
/// dropped), or a message from that occupant came meanwhile (it is back).
///
/// Returns the connection's other events. When the service's signals end (the
/// service was dropped), the last ones are sent and the connection is closed.
pub fn carry(
    service: &ProxyConnectionService,
    signals: Signals,
    xmpp: XmppConnection,
    events: XmppEvents,
) -> XmppEvents {
    let (tx, rx) = mpsc::unbounded_channel();
    let sender = service.message_sender();
    drop(tokio::spawn(carry_task(sender, signals, xmpp, events, tx)));
    XmppEvents { rx }
}

async fn carry_task(
    sender: MessageSender,
    mut signals: Signals,
    xmpp: XmppConnection,
    mut events: XmppEvents,
    out: mpsc::UnboundedSender<Event>,
) {
    let mut signals_open = true;
    let mut departures = Departures::default();
    loop {
        tokio::select! {
            () = sleep_until_some(departures.next_release()) => {
                if let Some(message) = departures.release(tokio::time::Instant::now()) {
                    // The service is gone when this fails: its signals end next.
                    let _ = sender.process_message(message).await;
                }
            }
            signal = signals.next(), if signals_open => match signal {
                Some(signal) => {
                    let reason = match xmpp.send_proxy_iq(&signal.to, &signal.iq).await {
                        Ok(()) => continue,
                        Err(XmppError::Envelope(e)) => IqFailure::Refused(e),
                        Err(_) => IqFailure::Closed,
                    };
                    let _ = out.send(Event::IqFailed { to: signal.to, reason });
                }
                None => {
                    signals_open = false;
                    let _ = xmpp.close().await;
                }
            },
            event = events.next() => match event {
                Some(Event::Message(message)) => {
                    let now = tokio::time::Instant::now();
                    if let Some(message) = departures.message(now, message) {
                        // The service is gone when this fails: its signals end next.
                        let _ = sender.process_message(message).await;
                    }
                }
                Some(Event::IceServers(servers)) => {
                    departures.other_event();
                    let _ = sender.set_ice_servers(servers.clone()).await;
                    let _ = out.send(Event::IceServers(servers));
                }
                Some(event) => {
                    departures.event(&event);
                    let _ = out.send(event);
                }
                None => return,
            },
        }
    }
}

/// The departures from the room that [`carry`] holds for [`LEFT_GRACE`].
#[derive(Debug, Default)]
struct Departures {
    /// The occupant the last event reported gone, if that was
    /// [`Event::OccupantLeft`]: the client's synthesized `unavailable` follows.
    just_left: Option<String>,
    /// Synthesized `unavailable`s with their release instants, oldest first.
    held: VecDeque<(tokio::time::Instant, ProxyMessage)>,
}

impl Departures {
    /// A message from the connection: `Some` to give to the service now, `None`
    /// while it is held.
    fn message(
        &mut self,
        now: tokio::time::Instant,
        message: ProxyMessage,
    ) -> Option<ProxyMessage> {
        let left = self.just_left.take();
        if left.as_deref() == Some(message.from.as_str()) && is_synthesized_unavailable(&message.iq)
        {
            self.held.push_back((now + LEFT_GRACE, message));
            return None;
        }
        // The occupant spoke again: it is back, its departure is void.
        self.held.retain(|(_, m)| m.from != message.from);
        Some(message)
    }

    /// Any other event: a departure is noted; our own connection lost or closed
    /// drops what is held (the server was going down).
    fn event(&mut self, event: &Event) {
        match event {
            Event::OccupantLeft { jid } => self.just_left = Some(jid.clone()),
            // The IQs awaiting the departed occupant fail between its departure
            // and its `unavailable`.
            Event::IqFailed { .. } => {}
            Event::Offline { .. } | Event::Closed { .. } => {
                self.just_left = None;
                self.held.clear();
            }
            _ => self.just_left = None,
        }
    }

    /// An event that is neither a message nor one [`event`](Self::event) reads.
    fn other_event(&mut self) {
        self.just_left = None;
    }

    /// When the oldest held message is due.
    fn next_release(&self) -> Option<tokio::time::Instant> {
        self.held.front().map(|(at, _)| *at)
    }

    /// The oldest held message, if it is due at `now`.
    fn release(&mut self, now: tokio::time::Instant) -> Option<ProxyMessage> {
        if self.next_release().is_some_and(|at| at <= now) {
            return self.held.pop_front().map(|(_, m)| m);
        }
        None
    }
}

/// Sleeps until `at`, or forever without one.
async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Whether `iq` is the `unavailable` the client synthesizes for an occupant
/// that left: a Jingle `action='unavailable'` with no sid.
fn is_synthesized_unavailable(iq: &str) -> bool {
    (iq.contains("action='unavailable'") || iq.contains("action=\"unavailable\""))
        && !iq.contains("sid=")
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNAVAILABLE: &str = "<iq xmlns='jabber:client' type='set'><jingle \
        xmlns='urn:xmpp:jingle:1' action='unavailable'><details>unavailable</details></jingle></iq>";

    fn message(from: &str, iq: &str) -> ProxyMessage {
        ProxyMessage {
            from: from.into(),
            iq: iq.into(),
        }
    }

    fn left(jid: &str) -> Event {
        Event::OccupantLeft { jid: jid.into() }
    }

    #[test]
    fn departures_are_held_then_released_or_dropped() {
        let t0 = tokio::time::Instant::now();
        let peer = "room@conference.example/peer";
        let mut d = Departures::default();

        // Held for LEFT_GRACE (also with the IQs awaiting the peer failed
        // between the departure and the unavailable), then released.
        d.event(&left(peer));
        d.event(&Event::IqFailed {
            to: peer.into(),
            reason: IqFailure::AddresseeLeft,
        });
        assert_eq!(d.message(t0, message(peer, UNAVAILABLE)), None);
        assert_eq!(d.next_release(), Some(t0 + LEFT_GRACE));
        assert_eq!(d.release(t0 + LEFT_GRACE / 2), None);
        assert_eq!(d.release(t0 + LEFT_GRACE), Some(message(peer, UNAVAILABLE)));
        assert_eq!(d.next_release(), None);

        // Our connection lost meanwhile: dropped.
        d.event(&left(peer));
        assert_eq!(d.message(t0, message(peer, UNAVAILABLE)), None);
        d.event(&Event::Offline {
            reason: proxy_xmpp::client::ClientError::StreamClosed,
            retry_at: std::time::Instant::now(),
        });
        assert_eq!(d.release(t0 + LEFT_GRACE), None);

        // The occupant spoke again meanwhile: dropped, its message goes through.
        d.event(&left(peer));
        assert_eq!(d.message(t0, message(peer, UNAVAILABLE)), None);
        let initiate = "<iq type='set' id='1'><jingle action='session-initiate' sid='s'/></iq>";
        assert_eq!(
            d.message(t0, message(peer, initiate)),
            Some(message(peer, initiate))
        );
        assert_eq!(d.release(t0 + LEFT_GRACE), None);

        // Only the synthesized unavailable right after the departure is held: one
        // from the peer itself (with its sid), or not after OccupantLeft, is not.
        let own = "<iq type='set' id='2'><jingle action='unavailable' sid='s'/></iq>";
        d.event(&left(peer));
        assert_eq!(d.message(t0, message(peer, own)), Some(message(peer, own)));
        assert_eq!(
            d.message(t0, message(peer, UNAVAILABLE)),
            Some(message(peer, UNAVAILABLE))
        );
        d.event(&left("room@conference.example/other"));
        assert_eq!(
            d.message(t0, message(peer, UNAVAILABLE)),
            Some(message(peer, UNAVAILABLE))
        );
    }

    #[test]
    fn server_urls() {
        let ws = XmppServer::parse("wss://meet.example.com/xmpp-websocket?room=x").unwrap();
        assert_eq!((ws.host(), ws.port()), ("meet.example.com", 443));
        assert_eq!(ws.carrier(), Carrier::WebSocket { secure: true });
        let ws = XmppServer::parse("WS://[::1]:5280").unwrap();
        assert_eq!((ws.host(), ws.port()), ("::1", 5280));
        assert!(ws.is_loopback());
        match ws {
            XmppServer::WebSocket { url, .. } => assert_eq!(url, "ws://[::1]:5280/"),
            other => panic!("{other:?}"),
        }
        let tcp = XmppServer::parse("xmpp://localhost").unwrap();
        assert_eq!((tcp.host(), tcp.port()), ("localhost", 5222));
        assert_eq!(
            tcp.carrier(),
            Carrier::Tcp {
                tls: TlsMode::Required
            }
        );
        let tls = XmppServer::parse("xmpps://10.0.0.1:5223").unwrap();
        assert_eq!(
            tls.carrier(),
            Carrier::Tcp {
                tls: TlsMode::Direct
            }
        );
        assert!(!tls.is_loopback());
        for (bad, why) in [
            ("meet.example.com", "no scheme"),
            ("http://h/", "scheme"),
            ("ws://:80/", "no host"),
            ("ws://h:0/", "bad port"),
            ("ws://h:99999/", "bad port"),
            ("ws://u:p@h/", "user info"),
            ("ws://[::1/", "unclosed"),
            ("ws://[::1]80/", "junk after"),
            ("ws://::1/", "without '[ ]'"),
            ("xmpp://h:1:2", "without '[ ]'"),
            ("xmpp://h/path", "no path"),
        ] {
            let e = XmppServer::parse(bad).unwrap_err().to_string();
            assert!(e.contains(why) && e.contains(bad), "{bad}: {e}");
        }
    }
}
