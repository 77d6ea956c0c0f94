//! `send` and `receive`: one side each, signaling as JSON lines (stdin/stdout or
//! `--signal-in`/`--signal-out`).

use std::fs::File;
use std::io::{BufWriter, Stdout, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use proxy_core::{CloseReason, LocalTrack, MediaKind, ProxyMessage};
use proxy_tokio::{
    Events, MessageSender, ProxyConnectionService, RemoteFrames, ServiceConfig, ServiceEvent,
    Signals,
};
use proxy_tokio::{LineReader, SignalLine};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Sleep;

use crate::cli::{
    fmt_time, is_stdout, outcome, Failure, IceArgs, ReceiveArgs, SendArgs, Signal, SignalingArgs,
};
use crate::ivf::{vp8_frame_info, IvfHeader, IvfWriter};

/// How long `send` waits for the connection to come up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `send` keeps the connection after the last frame, so the tail (and any
/// retransmission) arrives before session-terminate.
const LINGER: Duration = Duration::from_millis(1000);
/// How long the program still reads queued events after its signaling input ended
/// with no session active (a close caused by the last message is queued just before).
const END_GRACE: Duration = Duration::from_millis(500);
/// How long to wait for the close event after our own stop.
const STOP_WAIT: Duration = Duration::from_secs(2);
/// The RTP clock of video: received frames are recorded in it (see `ivf`).
pub(crate) const RTP_VIDEO_CLOCK: u32 = 90_000;

macro_rules! log {
    ($side:expr, $($arg:tt)*) => { eprintln!("[{}] {}", $side, format_args!($($arg)*)) };
}

/// Runs `send`.
pub async fn send(args: SendArgs) -> Result<(), Failure> {
    const SIDE: &str = "send";
    let mut interrupt = Interrupt::watch(SIDE)?;
    let (header, frames) = crate::load_clip(Some(&args.file))?;
    log!(
        SIDE,
        "{}: {} frames, {}x{}, timebase {}/{}",
        args.file.display(),
        frames.len(),
        header.width,
        header.height,
        header.timebase_num,
        header.timebase_den
    );
    check_signal_in(args.signaling.signal_in.as_deref())?;
    let mut core = proxy_core::Config {
        local_jid: Some(args.jid.clone()),
        ..proxy_core::Config::default()
    };
    core.seed = seed_from(&args.jid);
    let (service, mut events, signals) = bind(ice_config(
        ServiceConfig {
            bind: args.bind,
            ..ServiceConfig::new(core)
        },
        &args.ice,
    )?)
    .await?;
    log!(SIDE, "UDP host candidates {}", addrs(service.local_addrs()));
    let (out, mut input) = connect_signaling(SIDE, &args.jid, &service, signals, &args.signaling);

    let started = Instant::now();
    let writers = service
        .start(&args.to, &[LocalTrack::desktop()])
        .await
        .map_err(|e| Failure::Other(format!("cannot start: {e}")))?;
    let writer = writers
        .into_iter()
        .next()
        .ok_or_else(|| Failure::Other("start returned no track writer".into()))?;
    log!(SIDE, "session-initiate sent to {}", args.to);

    /// Where `send` is; the timer's meaning depends on it.
    enum Phase {
        /// Until connected (timer: the connect timeout).
        Connecting,
        /// Frame `next` is due when the timer fires.
        Sending { next: usize },
        /// After the last frame (timer: end of the linger time).
        Lingering,
        /// Stopped; waiting for the close event (timer: give up waiting).
        Stopping,
    }
    let mut phase = Phase::Connecting;
    let timer = tokio::time::sleep(CONNECT_TIMEOUT);
    tokio::pin!(timer);
    let first_pts = frames.first().map(|f| f.pts).unwrap_or(0);
    let mut base = tokio::time::Instant::now();
    let (mut sent, mut sent_bytes) = (0usize, 0u64);
    let mut connected = false;
    let mut interrupted = None;
    let closed = loop {
        tokio::select! {
            biased;
            event = events.next() => match event {
                Some(ServiceEvent::Connected { peer }) => {
                    connected = true;
                    log!(SIDE, "connected to {peer} in {}", fmt_time(started.elapsed()));
                    if matches!(phase, Phase::Connecting) {
                        phase = Phase::Sending { next: 0 };
                        base = tokio::time::Instant::now();
                        timer.as_mut().reset(base);
                    }
                }
                Some(ServiceEvent::ConnectionClosed { peer, reason }) => {
                    log!(SIDE, "connection with {peer} closed: {reason}");
                    break Some(reason);
                }
                Some(other) => log_event(SIDE, &other),
                None => break None,
            },
            signal = interrupt.recv() => {
                interrupted = Some(signal);
                log!(SIDE, "{}: sending session-terminate", signal.name());
                stop(&service).await?;
                phase = Phase::Stopping;
                timer.as_mut().reset(tokio::time::Instant::now() + STOP_WAIT);
            }
            () = input.ended(SIDE, &service) => break None,
            () = &mut timer => match phase {
                Phase::Connecting => {
                    return Err(Failure::NotConnected(format!(
                        "no connection to {} within {}", args.to, fmt_time(CONNECT_TIMEOUT)
                    )));
                }
                Phase::Sending { next } => {
                    let frame = &frames[next];
                    let media_time = rtp_exact_duration(&header, frame.pts.saturating_sub(first_pts));
                    match writer.write_frame(media_time, frame.data.clone()).await {
                        Ok(()) => {
                            sent += 1;
                            sent_bytes += frame.data.len() as u64;
                            if sent % 30 == 0 || sent == frames.len() {
                                log!(SIDE, "sent {sent}/{} frames ({sent_bytes} bytes)", frames.len());
                            }
                        }
                        // The close event that caused it follows.
                        Err(e) => log!(SIDE, "frame {next} not sent: {e}"),
                    }
                    match frames.get(next + 1) {
                        Some(f) => {
                            phase = Phase::Sending { next: next + 1 };
                            let due = header.pts_to_duration(f.pts.saturating_sub(first_pts));
                            timer.as_mut().reset(base + due);
                        }
                        None => {
                            phase = Phase::Lingering;
                            timer.as_mut().reset(tokio::time::Instant::now() + LINGER);
                        }
                    }
                }
                Phase::Lingering => {
                    stop(&service).await?;
                    phase = Phase::Stopping;
                    timer.as_mut().reset(tokio::time::Instant::now() + STOP_WAIT);
                }
                Phase::Stopping => {
                    log!(SIDE, "no close event {} after our stop", fmt_time(STOP_WAIT));
                    break Some(CloseReason::LocalStop);
                }
            },
        }
    };
    // Dropping the handle ends the driver; the writer task ends after the last
    // signal (e.g. session-terminate) is written.
    drop(service);
    while let Some(event) = events.next().await {
        log_event(SIDE, &event);
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), out).await;
    log!(
        SIDE,
        "sent {sent} of {} frames ({sent_bytes} bytes) in {}",
        frames.len(),
        fmt_time(started.elapsed())
    );
    match interrupted {
        Some(signal) => Err(Failure::Interrupted(signal)),
        None => outcome(closed.as_ref(), connected),
    }
}

/// The media time of `pts` (in `header`'s timebase) such that the engine's RTP clock
/// gets it exactly: str0m truncates a `Duration` to whole microseconds and then to the
/// 90 kHz clock, so the time is rounded *up* to a microsecond (pts 1 at 1/30 s is
/// 33334 µs = 3000 ticks, where 33333 µs would give 2999).
pub(crate) fn rtp_exact_duration(header: &IvfHeader, pts: u64) -> Duration {
    let num = u128::from(header.timebase_num) * 1_000_000;
    let den = u128::from(header.timebase_den.max(1));
    let micros = (u128::from(pts) * num).div_ceil(den);
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

async fn stop(service: &ProxyConnectionService) -> Result<(), Failure> {
    service
        .stop()
        .await
        .map_err(|e| Failure::Other(format!("stop failed: {e}")))
}

/// Runs `receive`.
pub async fn receive(args: ReceiveArgs) -> Result<(), Failure> {
    const SIDE: &str = "receive";
    let mut interrupt = Interrupt::watch(SIDE)?;
    // Created now so that a bad path fails at once.
    let recorder = Recorder::create(&args.out)?;
    check_signal_in(args.signaling.signal_in.as_deref())?;
    let mut core = proxy_core::Config {
        local_jid: Some(args.jid.clone()),
        convert_video_to_desktop: args.convert_video_to_desktop,
        ..proxy_core::Config::default()
    };
    core.seed = seed_from(&args.jid);
    let (service, mut events, signals) = bind(ice_config(
        ServiceConfig {
            bind: args.bind,
            ..ServiceConfig::new(core)
        },
        &args.ice,
    )?)
    .await?;
    log!(
        SIDE,
        "UDP host candidates {}; waiting for a session-initiate",
        addrs(service.local_addrs())
    );
    let (out, mut input) = connect_signaling(SIDE, &args.jid, &service, signals, &args.signaling);

    let stats = Arc::new(Stats::default());
    let mut recorder = Some(recorder);
    let mut recording: Option<JoinHandle<Result<Recorded, Failure>>> = None;
    let mut connected = false;
    let mut interrupted = None;
    let stop_timer = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(stop_timer);
    let closed = loop {
        tokio::select! {
            // Events first: a close queued before the end of input is read first.
            biased;
            event = events.next() => match event {
                Some(ServiceEvent::Connected { peer }) => {
                    connected = true;
                    log!(SIDE, "connected to {peer}");
                }
                Some(ServiceEvent::RemoteTrack { track, frames }) => {
                    log!(SIDE, "remote track mid {} ({} {}, source {}) device {}",
                        track.mid, track.kind.as_str(),
                        track.video_type.map(|v| v.as_str()).unwrap_or("-"),
                        track.source_name.as_deref().unwrap_or("-"),
                        track.device_id);
                    // The recorder goes to the first video track, whatever came before it.
                    match track.kind {
                        MediaKind::Video if recorder.is_some() => {
                            if let Some(rec) = recorder.take() {
                                recording = Some(tokio::spawn(record(frames, rec, stats.clone())));
                            }
                        }
                        MediaKind::Video => log!(SIDE, "ignoring track {} (only the first video track is recorded)", track.mid),
                        MediaKind::Audio => log!(SIDE, "not recording audio track {}", track.mid),
                    }
                }
                Some(ServiceEvent::ConnectionClosed { peer, reason }) => {
                    log!(SIDE, "connection with {peer} closed: {reason}");
                    break Some(reason);
                }
                Some(other) => log_event(SIDE, &other),
                None => break None,
            },
            signal = interrupt.recv() => {
                interrupted = Some(signal);
                if !service.is_active().await.unwrap_or(false) {
                    log!(SIDE, "{}: no session to end", signal.name());
                    break None;
                }
                log!(SIDE, "{}: sending session-terminate", signal.name());
                stop(&service).await?;
                stop_timer.as_mut().reset(tokio::time::Instant::now() + STOP_WAIT);
            }
            () = &mut stop_timer, if interrupted.is_some() => break None,
            () = input.ended(SIDE, &service) => break None,
        }
    };
    drop(service);
    // Let the final signals (e.g. an error reply or session-terminate) out.
    let _ = tokio::time::timeout(Duration::from_secs(2), out).await;

    let recorded = match recording {
        Some(task) => task
            .await
            .map_err(|e| Failure::Other(format!("recorder task failed: {e}")))??,
        None => match recorder {
            Some(rec) => rec.finish()?,
            None => Recorded::default(),
        },
    };
    if recorded.frames == 0 && !args.out_is_stdout() {
        // A header-only file is no recording: leave nothing behind.
        let _ = std::fs::remove_file(&args.out);
        log!(SIDE, "no frames received; removed {}", args.out.display());
    } else {
        log!(
            SIDE,
            "wrote {} frames ({} bytes{}) to {}",
            recorded.frames,
            stats.bytes.load(Ordering::Relaxed),
            recorded
                .header
                .filter(|h| h.frame_count > 0)
                .map(|h| format!(
                    ", {} in timebase {}/{}",
                    fmt_time(h.pts_to_duration(u64::from(h.frame_count))),
                    h.timebase_num,
                    h.timebase_den
                ))
                .unwrap_or_default(),
            if args.out_is_stdout() {
                "stdout".to_owned()
            } else {
                args.out.display().to_string()
            }
        );
    }
    match interrupted {
        Some(signal) => Err(Failure::Interrupted(signal)),
        None => outcome(closed.as_ref(), connected),
    }
}

/// The first SIGINT or SIGTERM, for a clean stop; a second one exits at once.
struct Interrupt {
    rx: Option<oneshot::Receiver<Signal>>,
}

impl Interrupt {
    /// Installs the handlers (before anything else, so no signal kills the process
    /// unannounced).
    fn watch(side: &'static str) -> Result<Interrupt, Failure> {
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
    async fn recv(&mut self) -> Signal {
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
struct InputEnd {
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
    async fn ended(&mut self, side: &str, service: &ProxyConnectionService) {
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
pub(crate) fn ice_config(
    mut config: ServiceConfig,
    ice: &IceArgs,
) -> Result<ServiceConfig, Failure> {
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
        use rustls::pki_types::pem::PemObject;
        let what =
            |e: &dyn std::fmt::Display| Failure::File(format!("--ice-ca {}: {e}", path.display()));
        let mut roots = rustls::RootCertStore::empty();
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(path).map_err(|e| what(&e))?;
        for cert in certs {
            let cert = cert.map_err(|e| what(&e))?;
            roots.add(cert).map_err(|e| what(&e))?;
        }
        if roots.is_empty() {
            return Err(what(&"no certificate in the file"));
        }
        let tls = proxy_tokio::net::tls_config(roots).map_err(|e| what(&e))?;
        config.tls = Some(tls);
    }
    Ok(config)
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

/// Wires the service to the signaling channel of `args`: a task writing its outgoing
/// IQs, and one reading incoming ones, whose end of input is watched by [`InputEnd`].
fn connect_signaling(
    side: &'static str,
    jid: &str,
    service: &ProxyConnectionService,
    signals: Signals,
    args: &SignalingArgs,
) -> (JoinHandle<()>, InputEnd) {
    let out = spawn_signal_writer(side, jid.to_owned(), signals, args.signal_out.clone());
    let reader = spawn_signal_reader(
        side,
        jid.to_owned(),
        service.message_sender(),
        args.signal_in.clone(),
    );
    (out, InputEnd::new(reader))
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

fn log_event(side: &str, event: &ServiceEvent) {
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

/// Counters shared with progress displays.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub frames: AtomicU64,
    pub bytes: AtomicU64,
    pub first_frame: OnceLock<Instant>,
    pub last_frame: std::sync::Mutex<Option<Instant>>,
}

/// Where a recording goes.
enum Sink {
    /// A file: flushed every frame, finished at the frame-rate timebase.
    File(IvfWriter<BufWriter<File>>),
    /// Standard output (`--out -`): the header is written with the first frame
    /// (whose keyframe gives the dimensions); the frame count stays 0.
    Stdout(Option<IvfWriter<Stdout>>),
}

/// What a finished recording holds.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Recorded {
    /// Frames written.
    pub frames: u32,
    /// The final header (files).
    pub header: Option<IvfHeader>,
}

/// Writes received frames to an IVF file or stdout: pts in the 90 kHz RTP clock
/// from 0 while recording; a file is then finished at its mean frame interval
/// (`IvfWriter::finish_at_frame_rate`).
pub(crate) struct Recorder {
    sink: Sink,
    sized: bool,
    name: String,
    /// RTP time of the first frame, in 90 kHz ticks.
    first: Option<u64>,
}

impl Recorder {
    /// Creates (truncates) `path`, or prepares stdout for `-`.
    pub(crate) fn create(path: &Path) -> Result<Recorder, Failure> {
        let header = IvfHeader::vp8(0, 0, RTP_VIDEO_CLOCK);
        let (sink, name) = if is_stdout(path) {
            (Sink::Stdout(None), "stdout".to_owned())
        } else {
            let name = path.display().to_string();
            let file = File::create(path)
                .map_err(|e| Failure::File(format!("cannot create {name}: {e}")))?;
            // Room for a whole frame: each reaches the file in one write at the flush.
            let writer = IvfWriter::new(BufWriter::with_capacity(1 << 20, file), header)
                .map_err(|e| Failure::File(format!("cannot write {name}: {e}")))?;
            (Sink::File(writer), name)
        };
        Ok(Recorder {
            sink,
            sized: false,
            name,
            first: None,
        })
    }

    fn write(&mut self, pts: Duration, data: &[u8]) -> Result<(), Failure> {
        let clock = IvfHeader::vp8(0, 0, RTP_VIDEO_CLOCK);
        // The engine's Duration is the RTP time truncated to microseconds: rounding
        // back to the 90 kHz clock recovers the exact tick.
        let ticks = clock.duration_to_pts(pts);
        let first = *self.first.get_or_insert(ticks);
        let pts = ticks.saturating_sub(first);
        let dimensions = vp8_frame_info(data).and_then(|i| i.dimensions);
        let name = &self.name;
        let bad = |e: std::io::Error| Failure::File(format!("cannot write {name}: {e}"));
        let writer_result = match &mut self.sink {
            Sink::File(w) => {
                if let (false, Some((width, height))) = (self.sized, dimensions) {
                    w.set_dimensions(width, height);
                    self.sized = true;
                }
                w.write_frame(pts, data).and_then(|()| w.flush())
            }
            Sink::Stdout(slot) => {
                let w = match slot {
                    Some(w) => w,
                    None => {
                        let (width, height) = dimensions.unwrap_or((0, 0));
                        slot.insert(
                            IvfWriter::stream(
                                std::io::stdout(),
                                IvfHeader::vp8(width, height, RTP_VIDEO_CLOCK),
                            )
                            .map_err(bad)?,
                        )
                    }
                };
                w.write_frame(pts, data).and_then(|()| w.flush())
            }
        };
        writer_result.map_err(bad)
    }

    /// Finishes the file (frame-rate timebase, frame count, dimensions).
    pub(crate) fn finish(self) -> Result<Recorded, Failure> {
        let name = self.name;
        let bad = |e: std::io::Error| Failure::File(format!("cannot finish {name}: {e}"));
        match self.sink {
            Sink::File(w) => {
                let frames = w.frames();
                let (_, header) = w.finish_at_frame_rate().map_err(bad)?;
                Ok(Recorded {
                    frames,
                    header: Some(header),
                })
            }
            Sink::Stdout(w) => {
                let frames = w.as_ref().map(|w| w.frames()).unwrap_or(0);
                if let Some(mut w) = w {
                    w.flush().map_err(bad)?;
                }
                Ok(Recorded {
                    frames,
                    header: None,
                })
            }
        }
    }
}

/// Records a remote track until its connection closes.
pub(crate) async fn record(
    mut frames: RemoteFrames,
    mut recorder: Recorder,
    stats: Arc<Stats>,
) -> Result<Recorded, Failure> {
    while let Some(frame) = frames.next().await {
        let now = Instant::now();
        let _ = stats.first_frame.set(now);
        if let Ok(mut last) = stats.last_frame.lock() {
            *last = Some(now);
        }
        recorder.write(frame.pts, &frame.data)?;
        stats.frames.fetch_add(1, Ordering::Relaxed);
        stats
            .bytes
            .fetch_add(frame.data.len() as u64, Ordering::Relaxed);
    }
    if frames.dropped() > 0 {
        eprintln!(
            "[receive] {} frames dropped (recorder fell behind)",
            frames.dropped()
        );
    }
    recorder.finish()
}
