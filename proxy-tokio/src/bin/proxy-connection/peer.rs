//! What `send` and `receive` share: the service's configuration and sockets,
//! signaling as JSON lines (stdin/stdout or `--signal-in`/`--signal-out`),
//! interrupts, the end of the signaling input, and event logging.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use proxy_core::ProxyMessage;
use proxy_tokio::{
    Events, MessageSender, ProxyConnectionService, ServiceConfig, ServiceEvent, Signals,
};
use proxy_tokio::{LineReader, SignalLine};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Sleep;

use crate::cli::{Failure, IceArgs, Signal, SignalingArgs};

/// How long the program still reads queued events after its signaling input ended
/// with no session active (a close caused by the last message is queued just before).
const END_GRACE: Duration = Duration::from_millis(500);
/// How long the program waits for its last signals to go out after the session:
/// over XMPP, the answers to them (at most `CLOSE_LINGER`) and the stream's close.
pub(crate) const SIGNALS_OUT_WITHIN: Duration =
    Duration::from_secs(proxy_tokio::xmpp::CLOSE_LINGER.as_secs() + 2);
/// How long to wait for the close event after our own stop.
pub(crate) const STOP_WAIT: Duration = Duration::from_secs(2);

pub(crate) async fn stop(service: &ProxyConnectionService) -> Result<(), Failure> {
    service
        .stop()
        .await
        .map_err(|e| Failure::Other(format!("stop failed: {e}")))
}

/// The first SIGINT or SIGTERM, for a clean stop; a second one exits at once.
pub(crate) struct Interrupt {
    rx: Option<oneshot::Receiver<Signal>>,
}

impl Interrupt {
    /// Installs the handlers (before anything else, so no signal kills the process
    /// unannounced).
    pub(crate) fn watch(side: &'static str) -> Result<Interrupt, Failure> {
        use tokio::signal::unix::{signal, SignalKind};
        let handler =
            |kind| signal(kind).map_err(|e| Failure::Other(format!("cannot handle signals: {e}")));
        let mut int = handler(SignalKind::interrupt())?;
        let mut term = handler(SignalKind::terminate())?;
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let mut first = Some(tx);
            loop {
                let caught = tokio::select! {
                    Some(()) = int.recv() => Signal::Int,
                    Some(()) = term.recv() => Signal::Term,
                    else => return,
                };
                match first.take() {
                    Some(tx) => {
                        let _ = tx.send(caught);
                    }
                    None => {
                        log!(side, "second signal ({}): exiting at once", caught.name());
                        let _ = std::io::stdout().flush();
                        std::process::exit(caught.exit_code());
                    }
                }
            }
        });
        Ok(Interrupt { rx: Some(rx) })
    }

    /// The first signal (cancel-safe); pending forever after it was returned.
    pub(crate) async fn recv(&mut self) -> Signal {
        if let Some(rx) = &mut self.rx {
            if let Ok(signal) = rx.await {
                self.rx = None;
                return signal;
            }
            self.rx = None;
        }
        std::future::pending().await
    }
}

/// The end of the signaling input, as `send` and `receive` treat it: a session being
/// negotiated or connected goes on until it closes; with none, [`ended`](Self::ended)
/// fires after [`END_GRACE`], in which a close event queued by the last message is
/// still read (the callers' `select!` polls events first).
pub(crate) struct InputEnd {
    eof: oneshot::Receiver<()>,
    state: InputState,
    grace: Pin<Box<Sleep>>,
}

enum InputState {
    Open,
    /// Ended; whether a session is active is to be asked.
    Closed,
    /// Ended with no session: giving up when `grace` fires.
    Grace,
    /// Ended with a session active: nothing more to do.
    Done,
}

impl InputEnd {
    fn new(eof: oneshot::Receiver<()>) -> InputEnd {
        InputEnd {
            eof,
            state: InputState::Open,
            grace: Box::pin(tokio::time::sleep(Duration::ZERO)),
        }
    }

    /// Resolves when the program should end for lack of signaling (cancel-safe).
    pub(crate) async fn ended(&mut self, side: &str, service: &ProxyConnectionService) {
        loop {
            match self.state {
                InputState::Open => {
                    // An error means the reader task is gone: the same as the end.
                    let _ = (&mut self.eof).await;
                    self.state = InputState::Closed;
                }
                InputState::Closed => {
                    // The driver queues a close event before it answers `is_active`.
                    if service.is_active().await.unwrap_or(false) {
                        log!(
                            side,
                            "signaling input ended; the session goes on until it closes"
                        );
                        self.state = InputState::Done;
                    } else {
                        let until = tokio::time::Instant::now() + END_GRACE;
                        self.grace.as_mut().reset(until);
                        self.state = InputState::Grace;
                    }
                }
                InputState::Grace => {
                    self.grace.as_mut().await;
                    log!(side, "signaling input ended with no session");
                    return;
                }
                InputState::Done => std::future::pending::<()>().await,
            }
        }
    }
}

/// How long REST credentials from --turn-secret are valid.
const REST_TTL_SECS: u64 = 86_400;

/// Applies the ICE arguments: servers with their credentials (REST ones
/// computed now), the policy, and the CA for turns:.
fn ice_config(mut config: ServiceConfig, ice: &IceArgs) -> Result<ServiceConfig, Failure> {
    let credentials = match (&ice.turn_secret, &ice.ice_username, &ice.ice_password) {
        (Some(secret), _, _) => {
            let unix_now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            Some(proxy_tokio::net::rest_credentials(
                secret,
                Some("proxy"),
                unix_now,
                REST_TTL_SECS,
            ))
        }
        (None, Some(u), Some(p)) => Some((u.clone(), p.clone())),
        _ => None,
    };
    config.ice_servers = ice
        .servers
        .iter()
        .cloned()
        .map(|mut s| {
            if s.kind != proxy_tokio::net::ServerKind::Stun {
                if let Some((u, p)) = &credentials {
                    s.username = Some(u.clone());
                    s.password = Some(p.clone());
                }
            }
            s
        })
        .collect();
    if ice.relay_only {
        config.ice_transport_policy = proxy_tokio::net::IceTransportPolicy::Relay;
    }
    if let Some(path) = &ice.ice_ca {
        let roots = read_roots(path, "--ice-ca")?;
        let tls = proxy_tokio::net::tls_config(roots)
            .map_err(|e| Failure::File(format!("--ice-ca {}: {e}", path.display())))?;
        config.tls = Some(tls);
    }
    Ok(config)
}

/// The CA certificates of a PEM file (`flag` names it in errors).
pub(crate) fn read_roots(path: &Path, flag: &str) -> Result<rustls::RootCertStore, Failure> {
    use rustls::pki_types::pem::PemObject;
    let what = |e: &dyn std::fmt::Display| Failure::File(format!("{flag} {}: {e}", path.display()));
    let mut roots = rustls::RootCertStore::empty();
    let certs = rustls::pki_types::CertificateDer::pem_file_iter(path).map_err(|e| what(&e))?;
    for cert in certs {
        let cert = cert.map_err(|e| what(&e))?;
        roots.add(cert).map_err(|e| what(&e))?;
    }
    if roots.is_empty() {
        return Err(what(&"no certificate in the file"));
    }
    Ok(roots)
}

/// Binds a service, mapping errors.
pub(crate) async fn bind(
    config: ServiceConfig,
) -> Result<(ProxyConnectionService, Events, Signals), Failure> {
    let addr = config.bind;
    ProxyConnectionService::bind(config)
        .await
        .map_err(|e| Failure::Other(format!("cannot bind UDP {addr}: {e}")))
}

/// Our JID in the core's messages: `--as`, or with --xmpp the room occupant JID
/// we ask for (none without a room: the server names us).
pub(crate) fn local_jid(
    side: &str,
    jid: Option<&str>,
    signaling: &SignalingArgs,
) -> Option<String> {
    jid.map(str::to_owned)
        .or_else(|| crate::xmpp::occupant_jid(&signaling.xmpp, side))
}

/// The service of `send` or `receive`: signaling input checked, the core
/// configured for `jid` (with a per-run seed) and the ICE arguments, the UDP
/// sockets bound; with `stats`, tracks are reported every [`STATS_INTERVAL`].
pub(crate) async fn start_service(
    jid: Option<&str>,
    bind_addr: std::net::SocketAddr,
    ice: &IceArgs,
    signaling: &SignalingArgs,
    convert_video_to_desktop: bool,
    stats: bool,
) -> Result<(ProxyConnectionService, Events, Signals), Failure> {
    check_signal_in(signaling.signal_in.as_deref())?;
    let core = proxy_core::Config {
        local_jid: jid.map(str::to_owned),
        convert_video_to_desktop,
        seed: seed_from(jid.unwrap_or("xmpp")),
        ..proxy_core::Config::default()
    };
    bind(ice_config(
        ServiceConfig {
            bind: bind_addr,
            stats_interval: stats.then_some(STATS_INTERVAL),
            ..ServiceConfig::new(core)
        },
        ice,
    )?)
    .await
}

/// Addresses for a log line: `127.0.0.1:5000, 10.0.0.2:5000`.
pub(crate) fn addrs(addrs: &[std::net::SocketAddr]) -> String {
    addrs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `--signal-in` must exist (it is opened in the background: a FIFO blocks until its
/// writer opens it).
fn check_signal_in(path: Option<&Path>) -> Result<(), Failure> {
    match path {
        Some(p) if std::fs::metadata(p).is_err() => Err(Failure::File(format!(
            "--signal-in {}: no such file or FIFO",
            p.display()
        ))),
        _ => Ok(()),
    }
}

/// Wires the service to the signaling channel of `args`: over XMPP (ready when this
/// returns), or a task writing its outgoing IQs as JSON lines and one reading
/// incoming ones. [`InputEnd`] watches the end of the input (for XMPP: the
/// connection's end); the task returned ends once the last signal is out. A
/// first SIGINT or SIGTERM while the XMPP connection is not ready yet ends it with
/// [`Failure::Interrupted`].
pub(crate) async fn connect_signaling(
    side: &'static str,
    jid: Option<&str>,
    service: &ProxyConnectionService,
    signals: Signals,
    args: &SignalingArgs,
    interrupt: &mut Interrupt,
) -> Result<(JoinHandle<()>, InputEnd), Failure> {
    if let Some(server) = &args.xmpp.xmpp {
        // Connecting may take until the readiness timeout (an unreachable server
        // is retried): a signal meanwhile ends the program, as it would later.
        let connecting = crate::xmpp::connect(side, &args.xmpp, server, service, signals);
        let (task, eof) = tokio::select! {
            connected = connecting => connected?,
            signal = interrupt.recv() => {
                log!(side, "{}: stopped while connecting to the XMPP server", signal.name());
                return Err(Failure::Interrupted(signal));
            }
        };
        return Ok((task, InputEnd::new(eof)));
    }
    let jid = jid.unwrap_or_default();
    let out = spawn_signal_writer(side, jid.to_owned(), signals, args.signal_out.clone());
    let reader = spawn_signal_reader(
        side,
        jid.to_owned(),
        service.message_sender(),
        args.signal_in.clone(),
    );
    Ok((out, InputEnd::new(reader)))
}

/// Writes outgoing signals as JSON lines to `path` (default stdout); ends when the
/// driver exits. The path is opened in the task (opening a FIFO waits for a reader).
fn spawn_signal_writer(
    side: &'static str,
    jid: String,
    mut signals: Signals,
    path: Option<PathBuf>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut out: Pin<Box<dyn AsyncWrite + Send>> = match &path {
            None => Box::pin(tokio::io::stdout()),
            Some(p) => match tokio::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .open(p)
                .await
            {
                Ok(f) => Box::pin(f),
                Err(e) => {
                    log!(side, "cannot open --signal-out {}: {e}", p.display());
                    return;
                }
            },
        };
        while let Some(signal) = signals.next().await {
            let line = SignalLine {
                from: jid.clone(),
                to: Some(signal.to),
                iq: signal.iq,
            }
            .to_line();
            if out.write_all(line.as_bytes()).await.is_err() || out.flush().await.is_err() {
                break;
            }
        }
        let _ = out.shutdown().await;
    })
}

/// Reads JSON lines from `path` (default stdin) into the service; the receiver fires
/// at the end of input.
fn spawn_signal_reader(
    side: &'static str,
    jid: String,
    sender: MessageSender,
    path: Option<PathBuf>,
) -> oneshot::Receiver<()> {
    let (eof_tx, eof_rx) = oneshot::channel();
    tokio::spawn(async move {
        let input: Pin<Box<dyn AsyncRead + Send>> = match &path {
            None => Box::pin(tokio::io::stdin()),
            Some(p) => match tokio::fs::File::open(p).await {
                Ok(f) => Box::pin(f),
                Err(e) => {
                    log!(side, "cannot open --signal-in {}: {e}", p.display());
                    let _ = eof_tx.send(());
                    return;
                }
            },
        };
        let mut lines = LineReader::new(tokio::io::BufReader::new(input));
        while let Some(line) = lines.next_signal().await {
            match line {
                Ok(line) => {
                    if let Some(to) = line.to.as_ref().filter(|to| **to != jid) {
                        log!(side, "ignoring a message for {to}");
                        continue;
                    }
                    let message = ProxyMessage {
                        from: line.from,
                        iq: line.iq,
                    };
                    if sender.process_message(message).await.is_err() {
                        break;
                    }
                }
                Err(e) => log!(side, "bad signaling line: {e}"),
            }
        }
        let _ = eof_tx.send(());
    });
    eof_rx
}

/// How often `--stats` prints a line per track.
pub(crate) const STATS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

pub(crate) fn log_event(side: &str, event: &ServiceEvent) {
    match event {
        ServiceEvent::Error(e) => log!(side, "error: {e}"),
        ServiceEvent::KeyframeRequest { track } => {
            log!(
                side,
                "peer asks for a keyframe on track {track} (file input: ignored)"
            )
        }
        ServiceEvent::Connected { peer } => log!(side, "connected to {peer}"),
        ServiceEvent::ConnectionClosed { peer, reason } => {
            log!(side, "connection with {peer} closed: {reason}")
        }
        ServiceEvent::RemoteTrack { track, .. } => {
            log!(side, "remote track {} ignored", track.mid)
        }
        ServiceEvent::Path(p) => log!(side, "media path: {p}"),
        // A track's first report has no interval to give rates over.
        ServiceEvent::Stats(s) if s.interval.is_zero() => {}
        ServiceEvent::Stats(s) => log!(side, "stats {s}"),
        ServiceEvent::RelayFailed {
            server,
            proto,
            reason,
        } => match proto {
            Some(p) => log!(side, "ICE server {server} ({p}) not used: {reason}"),
            None => log!(side, "ICE server {server} not used: {reason}"),
        },
        _ => log!(side, "unhandled service event"),
    }
}

/// A seed for the core's ids, from the JID and the clock (different per run).
pub(crate) fn seed_from(jid: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in jid.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    h ^ nanos ^ u64::from(std::process::id())
}
