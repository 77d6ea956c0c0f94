//! `send` and `receive`: one side each, signaling as JSON lines on stdin/stdout.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use proxy_core::{CloseReason, LocalTrack, MediaKind, ProxyMessage};
use proxy_tokio::ivf::{vp8_frame_info, IvfHeader, IvfWriter};
use proxy_tokio::signaling::{LineReader, SignalLine};
use proxy_tokio::{
    Events, MessageSender, ProxyConnectionService, RemoteFrames, ServiceConfig, ServiceEvent,
    Signals,
};
use tokio::io::AsyncWriteExt;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::cli::{Failure, ReceiveArgs, SendArgs};

/// How long `send` waits for the connection to come up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `send` keeps the connection after the last frame, so the tail (and any
/// retransmission) arrives before session-terminate.
const LINGER: Duration = Duration::from_millis(1000);
/// How long `receive` still reads queued events after its signaling input ended
/// with no connection active.
const END_GRACE: Duration = Duration::from_millis(500);
/// Timebase of received IVF files: the 90 kHz RTP video clock.
pub(crate) const RECEIVE_TIMEBASE: u32 = 90_000;

macro_rules! log {
    ($side:expr, $($arg:tt)*) => { eprintln!("[{}] {}", $side, format_args!($($arg)*)) };
}

/// Runs `send`.
pub async fn send(args: SendArgs) -> Result<(), Failure> {
    const SIDE: &str = "send";
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
    let mut core = proxy_core::Config {
        local_jid: Some(args.jid.clone()),
        ..proxy_core::Config::default()
    };
    core.seed = seed_from(&args.jid);
    let (service, mut events, signals) = bind(ServiceConfig {
        core,
        bind: args.bind,
    })
    .await?;
    log!(SIDE, "UDP host candidates {:?}", service.local_addrs());
    let out = spawn_signal_writer(args.jid.clone(), signals);
    let _stdin_eof = spawn_signal_reader(SIDE, args.jid.clone(), service.message_sender());

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

    // Wait for the connection.
    let deadline = tokio::time::Instant::now() + CONNECT_TIMEOUT;
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(ServiceEvent::Connected { peer }) => {
                    log!(SIDE, "connected to {peer} in {:?}", started.elapsed());
                    break;
                }
                Some(ServiceEvent::ConnectionClosed { peer, reason }) => {
                    return Err(Failure::Connection(format!(
                        "connection to {peer} closed before it was up: {}", describe(&reason)
                    )));
                }
                Some(other) => log_event(SIDE, &other),
                None => return Err(Failure::Other("the connection driver stopped".into())),
            },
            () = tokio::time::sleep_until(deadline) => {
                return Err(Failure::Connection(format!(
                    "no connection to {} within {CONNECT_TIMEOUT:?}", args.to
                )));
            }
        }
    }

    // Send the frames at the clip's pace.
    let first_pts = frames.first().map(|f| f.pts).unwrap_or(0);
    let base = tokio::time::Instant::now();
    let mut sent_bytes = 0u64;
    for (i, frame) in frames.iter().enumerate() {
        let media_time = header.pts_to_duration(frame.pts.saturating_sub(first_pts));
        let due = base + media_time;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(due) => break,
                event = events.next() => check_sender_event(SIDE, event)?,
            }
        }
        writer
            .write_frame(media_time, frame.data.clone())
            .await
            .map_err(|e| Failure::Connection(format!("frame {i}: {e}")))?;
        sent_bytes += frame.data.len() as u64;
        if (i + 1) % 30 == 0 || i + 1 == frames.len() {
            log!(
                SIDE,
                "sent {}/{} frames ({} bytes)",
                i + 1,
                frames.len(),
                sent_bytes
            );
        }
    }
    let linger_until = tokio::time::Instant::now() + LINGER;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(linger_until) => break,
            event = events.next() => check_sender_event(SIDE, event)?,
        }
    }
    service
        .stop()
        .await
        .map_err(|e| Failure::Other(format!("stop failed: {e}")))?;
    // Dropping the handle ends the driver; the writer task ends after the
    // session-terminate is on stdout.
    drop(service);
    while let Some(event) = events.next().await {
        log_event(SIDE, &event);
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), out).await;
    log!(SIDE, "done: {} frames, {} bytes", frames.len(), sent_bytes);
    Ok(())
}

/// An event while sending: a close is fatal.
fn check_sender_event(side: &str, event: Option<ServiceEvent>) -> Result<(), Failure> {
    match event {
        Some(ServiceEvent::ConnectionClosed { peer, reason }) => Err(Failure::Connection(format!(
            "connection to {peer} closed while sending: {}",
            describe(&reason)
        ))),
        Some(other) => {
            log_event(side, &other);
            Ok(())
        }
        None => Err(Failure::Other("the connection driver stopped".into())),
    }
}

/// Runs `receive`.
pub async fn receive(args: ReceiveArgs) -> Result<(), Failure> {
    const SIDE: &str = "receive";
    let recorder = Recorder::create(&args.out, RECEIVE_TIMEBASE)?;
    let mut core = proxy_core::Config {
        local_jid: Some(args.jid.clone()),
        convert_video_to_desktop: args.convert_video_to_desktop,
        ..proxy_core::Config::default()
    };
    core.seed = seed_from(&args.jid);
    let (service, mut events, signals) = bind(ServiceConfig {
        core,
        bind: args.bind,
    })
    .await?;
    log!(
        SIDE,
        "UDP host candidates {:?}; waiting for a session-initiate",
        service.local_addrs()
    );
    let out = spawn_signal_writer(args.jid.clone(), signals);
    let mut stdin_eof = spawn_signal_reader(SIDE, args.jid.clone(), service.message_sender());

    let stats = Arc::new(Stats::default());
    let mut recorder = Some(recorder);
    let mut recording: Option<JoinHandle<Result<u32, Failure>>> = None;
    let mut connected = false;
    let mut stdin_open = true;
    // Set when the signaling input ended with no connection active: the events
    // already queued (a close caused by the last message) are still read before
    // giving up.
    let grace = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(grace);
    let mut in_grace = false;
    let closed = loop {
        tokio::select! {
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
                    log!(SIDE, "connection with {peer} closed: {}", describe(&reason));
                    break Some(reason);
                }
                Some(other) => log_event(SIDE, &other),
                None => break None,
            },
            _ = &mut stdin_eof, if stdin_open => {
                stdin_open = false;
                let active = service.is_active().await.unwrap_or(false);
                if active {
                    log!(SIDE, "signaling input ended; the connection goes on until it closes");
                } else {
                    // The driver queues a close event before it answers `is_active`,
                    // so a close caused by the last message is read in the grace time.
                    grace.as_mut().reset(tokio::time::Instant::now() + END_GRACE);
                    in_grace = true;
                }
            }
            () = &mut grace, if in_grace => {
                log!(SIDE, "signaling input ended with no connection");
                break None;
            }
        }
    };
    drop(service);
    // Let the final signals (e.g. an error reply) reach stdout.
    let _ = tokio::time::timeout(Duration::from_secs(2), out).await;

    let written = match recording {
        Some(task) => task
            .await
            .map_err(|e| Failure::Other(format!("recorder task failed: {e}")))??,
        None => match recorder {
            // No video track: still leave a valid (empty) IVF behind.
            Some(rec) => rec.finish()?,
            None => 0,
        },
    };
    log!(
        SIDE,
        "wrote {} frames ({} bytes) to {}",
        written,
        stats.bytes.load(Ordering::Relaxed),
        args.out.display()
    );
    match closed {
        Some(CloseReason::Terminated { .. }) | Some(CloseReason::LocalStop) if connected => Ok(()),
        Some(CloseReason::PeerClosed) if connected => Ok(()),
        Some(reason) => Err(Failure::Connection(format!(
            "connection ended badly: {}",
            describe(&reason)
        ))),
        None if connected => Err(Failure::Connection("connection ended unexpectedly".into())),
        None => Err(Failure::Connection("no connection was made".into())),
    }
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

/// Writes outgoing signals to stdout as JSON lines; ends when the driver exits.
fn spawn_signal_writer(jid: String, mut signals: Signals) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(signal) = signals.next().await {
            let line = SignalLine {
                from: jid.clone(),
                to: Some(signal.to),
                iq: signal.iq,
            }
            .to_line();
            if stdout.write_all(line.as_bytes()).await.is_err() || stdout.flush().await.is_err() {
                break;
            }
        }
    })
}

/// Reads JSON lines from stdin into the service; the receiver fires at end of input.
fn spawn_signal_reader(
    side: &'static str,
    jid: String,
    sender: MessageSender,
) -> oneshot::Receiver<()> {
    let (eof_tx, eof_rx) = oneshot::channel();
    tokio::spawn(async move {
        let mut lines = LineReader::new(tokio::io::BufReader::new(tokio::io::stdin()));
        while let Some(line) = lines.next_signal().await {
            match line {
                Ok(line) => {
                    if line.to.as_ref().is_some_and(|to| *to != jid) {
                        log!(side, "ignoring a message for {:?}", line.to);
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
            log!(side, "connection with {peer} closed: {}", describe(reason))
        }
        ServiceEvent::RemoteTrack { track, .. } => {
            log!(side, "remote track {} ignored", track.mid)
        }
        other => log!(side, "{other:?}"),
    }
}

/// A close reason in words.
pub(crate) fn describe(reason: &CloseReason) -> String {
    reason.to_string()
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

/// Writes received frames to an IVF file.
pub(crate) struct Recorder {
    writer: IvfWriter<BufWriter<File>>,
    header: IvfHeader,
    sized: bool,
    path: String,
}

impl Recorder {
    /// Creates (truncates) `path` with a VP8 header in a `1/timebase_den` timebase.
    pub(crate) fn create(path: &Path, timebase_den: u32) -> Result<Recorder, Failure> {
        let name = path.display().to_string();
        let file =
            File::create(path).map_err(|e| Failure::File(format!("cannot create {name}: {e}")))?;
        let header = IvfHeader::vp8(0, 0, timebase_den);
        let writer = IvfWriter::new(BufWriter::new(file), header)
            .map_err(|e| Failure::File(format!("cannot write {name}: {e}")))?;
        Ok(Recorder {
            writer,
            header,
            sized: false,
            path: name,
        })
    }

    fn write(&mut self, pts: Duration, data: &[u8]) -> Result<(), Failure> {
        if !self.sized {
            if let Some((w, h)) = vp8_frame_info(data).and_then(|i| i.dimensions) {
                self.writer.set_dimensions(w, h);
                self.sized = true;
            }
        }
        self.writer
            .write_frame(self.header.duration_to_pts(pts), data)
            .map_err(|e| Failure::File(format!("cannot write {}: {e}", self.path)))
    }

    /// Fixes the header (frame count, dimensions); returns the frame count.
    pub(crate) fn finish(self) -> Result<u32, Failure> {
        let frames = self.writer.frames();
        self.writer
            .finish()
            .map_err(|e| Failure::File(format!("cannot finish {}: {e}", self.path)))?;
        Ok(frames)
    }
}

/// Records a remote track until its connection closes.
pub(crate) async fn record(
    mut frames: RemoteFrames,
    mut recorder: Recorder,
    stats: Arc<Stats>,
) -> Result<u32, Failure> {
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
