//! `receive`: the peer's tracks into a recording, signaling as JSON lines.

use std::fs::File;
use std::io::{BufWriter, Stdout};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::{Receiver, Sender};

use proxy_core::MediaKind;
use proxy_tokio::{RemoteFrames, ServiceEvent};
use tokio::task::JoinHandle;

use crate::cli::{fmt_time, is_stdout, outcome, Failure, ReceiveArgs};
use crate::codec_info::video_dimensions;
use crate::ivf::{fourcc_of, IvfHeader, IvfWriter, FOURCC_VP8};
use crate::peer::{
    addrs, connect_signaling, local_jid, log_event, start_service, stop, Interrupt,
    SIGNALS_OUT_WITHIN, STOP_WAIT,
};
use crate::record::{nanos, AvRecorder, AvSummary, Container, MediaFrame, RestartWatch};
use proxy_core::Codec;

/// The RTP clock of video: received frames are recorded in it (see `ivf`).
pub(crate) const RTP_VIDEO_CLOCK: u32 = 90_000;

/// Runs `receive`.
pub async fn receive(args: ReceiveArgs) -> Result<(), Failure> {
    const SIDE: &str = "receive";
    let mut interrupt = Interrupt::watch(SIDE)?;
    // Created now so that a bad path (or an unsupported container) fails at once.
    let mut output = Output::create(&args.out)?;
    let jid = local_jid(SIDE, args.jid.as_deref(), &args.signaling);
    let (service, mut events, signals) = start_service(
        jid.as_deref(),
        args.bind,
        &args.ice,
        &args.signaling,
        args.convert_video_to_desktop,
        args.stats,
    )
    .await?;
    let (out, mut input) = connect_signaling(
        SIDE,
        args.jid.as_deref(),
        &service,
        signals,
        &args.signaling,
        &mut interrupt,
    )
    .await?;
    log!(
        SIDE,
        "UDP host candidates {}; waiting for a session-initiate",
        addrs(service.local_addrs())
    );

    let stats = Arc::new(Stats::default());
    // WebM/Matroska: one recorder task fed by one forwarder per recorded track.
    let (av_tx, av_task) = match output.take_av() {
        Some(av) => {
            let (tx, rx) = tokio::sync::mpsc::channel(AV_QUEUE);
            (
                Some(tx),
                Some(tokio::spawn(record_av(rx, av, stats.clone()))),
            )
        }
        None => (None, None),
    };
    let mut av_tx = av_tx;
    let mut recording_kinds: Vec<MediaKind> = Vec::new();
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
                    // The recorder goes to the first video track (and, for WebM or
                    // Matroska, the first audio track), whatever came before it.
                    if recording_kinds.contains(&track.kind) {
                        log!(SIDE, "ignoring track {} (only the first {} track is recorded)", track.mid, track.kind.as_str());
                    } else if let Some(tx) = &av_tx {
                        recording_kinds.push(track.kind);
                        tokio::spawn(forward(frames, track.kind, tx.clone()));
                    } else if track.kind == MediaKind::Video {
                        if let Some(rec) = output.take_ivf() {
                            recording_kinds.push(track.kind);
                            recording = Some(tokio::spawn(record(frames, rec, stats.clone())));
                        }
                    } else {
                        log!(SIDE, "not recording audio track {} (IVF holds video only; use --out FILE.webm or .mkv)", track.mid);
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
    // XMPP: up to CLOSE_LINGER for the last answers, then the stream's close.
    let _ = tokio::time::timeout(SIGNALS_OUT_WITHIN, out).await;

    // The forwarders end with their tracks (the connection is gone).
    av_tx = None;
    drop(av_tx);
    let out_name = if args.out_is_stdout() {
        "stdout".to_owned()
    } else {
        args.out.display().to_string()
    };
    if let Some(task) = av_task {
        let summary = task
            .await
            .map_err(|e| Failure::Other(format!("recorder task failed: {e}")))??;
        if summary.frames() == 0 {
            let _ = std::fs::remove_file(&args.out);
            log!(SIDE, "no frames received; removed {out_name}");
        } else {
            log!(
                SIDE,
                "wrote {} ({} bytes) to {out_name} ({}, {})",
                summary.describe(),
                stats.bytes.load(Ordering::Relaxed),
                summary.format,
                summary.sync
            );
        }
        return match interrupted {
            Some(signal) => Err(Failure::Interrupted(signal)),
            None => outcome(closed.as_ref(), connected),
        };
    }
    let recorded = match recording {
        Some(task) => task
            .await
            .map_err(|e| Failure::Other(format!("recorder task failed: {e}")))??,
        None => match output.take_ivf() {
            Some(rec) => rec.finish()?,
            None => Recorded::default(),
        },
    };
    if recorded.frames == 0 && !args.out_is_stdout() {
        // A header-only file is no recording: leave nothing behind.
        let _ = std::fs::remove_file(&args.out);
        log!(SIDE, "no frames received; removed {out_name}");
    } else {
        log!(
            SIDE,
            "wrote {} frames ({} bytes{}) to {out_name}",
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
        );
    }
    match interrupted {
        Some(signal) => Err(Failure::Interrupted(signal)),
        None => outcome(closed.as_ref(), connected),
    }
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
    /// The codec of the first frame (the file's).
    codec: Option<Codec>,
    /// Frames left out because their codec was not the file's.
    other_codec: u64,
    /// A restarted RTP clock (a new SSRC), and the time taken off since.
    restart: RestartWatch,
    shift: i128,
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
            codec: None,
            other_codec: 0,
            restart: RestartWatch::default(),
            shift: 0,
        })
    }

    /// Writes a frame of RTP time `pts` that arrived at `received`.
    fn write(
        &mut self,
        codec: Codec,
        pts: Duration,
        received: Instant,
        data: &[u8],
    ) -> Result<(), Failure> {
        let clock = IvfHeader::vp8(0, 0, RTP_VIDEO_CLOCK);
        // A restarted RTP clock goes on where it was, at arrival pace.
        self.shift -= self.restart.jump(nanos(pts), received);
        let shifted = (nanos(pts) + self.shift).max(0);
        let pts = Duration::from_nanos(u64::try_from(shifted).unwrap_or(u64::MAX));
        // The engine's Duration is the RTP time truncated to microseconds: rounding
        // back to the 90 kHz clock recovers the exact tick.
        let ticks = clock.duration_to_pts(pts);
        let first = *self.first.get_or_insert(ticks);
        let pts = ticks.saturating_sub(first);
        let fourcc = fourcc_of(codec).unwrap_or(FOURCC_VP8);
        if self.codec.is_none() {
            self.codec = Some(codec);
            if codec != Codec::Vp8 {
                log!(
                    "receive",
                    "recording {} to IVF (fourcc {})",
                    codec.as_str(),
                    String::from_utf8_lossy(&fourcc)
                );
            }
        } else if self.codec != Some(codec) {
            // IVF has one codec: frames of another (a renegotiation) are left out.
            self.other_codec += 1;
            return Ok(());
        }
        let dimensions = video_dimensions(codec, data)
            .and_then(|(w, h)| Some((u16::try_from(w).ok()?, u16::try_from(h).ok()?)));
        let name = &self.name;
        let bad = |e: std::io::Error| Failure::File(format!("cannot write {name}: {e}"));
        let writer_result = match &mut self.sink {
            Sink::File(w) => {
                w.set_fourcc(fourcc);
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
                        let mut header = IvfHeader::vp8(width, height, RTP_VIDEO_CLOCK);
                        header.fourcc = fourcc;
                        slot.insert(IvfWriter::stream(std::io::stdout(), header).map_err(bad)?)
                    }
                };
                w.write_frame(pts, data).and_then(|()| w.flush())
            }
        };
        writer_result.map_err(bad)
    }

    /// Finishes the file (frame-rate timebase, frame count, dimensions).
    pub(crate) fn finish(self) -> Result<Recorded, Failure> {
        if self.restart.restarts > 0 {
            log!(
                "receive",
                "the video's RTP clock restarted {} times (a new SSRC): taken up at arrival pace",
                self.restart.restarts
            );
        }
        if self.other_codec > 0 {
            log!(
                "receive",
                "{} frames in another codec than the first ({}) left out of the IVF",
                self.other_codec,
                self.codec.map_or("-", |c| c.as_str())
            );
        }
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
        if stats.first_frame.set(now).is_ok() {
            eprintln!(
                "[receive] first frame {} after start",
                fmt_time(now.saturating_duration_since(crate::started()))
            );
        }
        if let Ok(mut last) = stats.last_frame.lock() {
            *last = Some(now);
        }
        recorder.write(frame.codec, frame.pts, frame.received, &frame.data)?;
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

/// The recording `--out` asks for.
enum Output {
    /// IVF (video only): file or stdout.
    Ivf(Option<Recorder>),
    /// WebM or Matroska: audio and video.
    Av(Option<Box<AvRecorder>>),
}

impl Output {
    /// Creates the recording's file (its container from the extension).
    fn create(path: &Path) -> Result<Output, Failure> {
        match Container::for_path(path)? {
            Container::Ivf if is_stdout(path) => Ok(Output::Ivf(Some(Recorder::create(path)?))),
            Container::Ivf => {
                log!(
                    "receive",
                    "recording video only to {} (IVF; .webm or .mkv records audio too)",
                    path.display()
                );
                Ok(Output::Ivf(Some(Recorder::create(path)?)))
            }
            other => Ok(Output::Av(Some(Box::new(AvRecorder::create(path, other)?)))),
        }
    }

    fn take_av(&mut self) -> Option<AvRecorder> {
        match self {
            Output::Av(a) => a.take().map(|a| *a),
            Output::Ivf(_) => None,
        }
    }

    fn take_ivf(&mut self) -> Option<Recorder> {
        match self {
            Output::Ivf(r) => r.take(),
            Output::Av(_) => None,
        }
    }
}

/// What the audio/video recorder task is told.
pub(crate) enum AvInput {
    /// A track of this kind will be recorded.
    Track(MediaKind),
    /// A frame of the track of this kind.
    Frame(MediaKind, MediaFrame),
    /// The track of this kind ended.
    End(MediaKind),
}

/// How many inputs the audio/video recorder task may have waiting. A
/// recorder that falls behind holds its forwarders, whose tracks' frame
/// queues then drop frames (counted, and said when the track ends).
pub(crate) const AV_QUEUE: usize = 256;

/// Announces one track to the recorder task, then forwards its frames.
pub(crate) async fn forward(mut frames: RemoteFrames, kind: MediaKind, tx: Sender<AvInput>) {
    if tx.send(AvInput::Track(kind)).await.is_err() {
        return;
    }
    while let Some(frame) = frames.next().await {
        let media = MediaFrame {
            codec: frame.codec,
            pts: frame.pts,
            keyframe: frame.keyframe,
            sender_time: frame.sender_time,
            received: frame.received,
            data: frame.data,
        };
        if tx.send(AvInput::Frame(kind, media)).await.is_err() {
            return;
        }
    }
    if frames.dropped() > 0 {
        eprintln!(
            "[receive] {} {} frames dropped (recorder fell behind)",
            frames.dropped(),
            kind.as_str()
        );
    }
    let _ = tx.send(AvInput::End(kind)).await;
}

/// Runs an audio/video recording until every forwarder and the event loop let go.
pub(crate) async fn record_av(
    mut rx: Receiver<AvInput>,
    mut recorder: AvRecorder,
    stats: Arc<Stats>,
) -> Result<AvSummary, Failure> {
    while let Some(input) = rx.recv().await {
        match input {
            AvInput::Track(kind) => recorder.announce(kind),
            AvInput::End(kind) => recorder.end(kind)?,
            AvInput::Frame(kind, frame) => {
                let now = Instant::now();
                if stats.first_frame.set(now).is_ok() {
                    eprintln!(
                        "[receive] first frame {} after start",
                        fmt_time(now.saturating_duration_since(crate::started()))
                    );
                }
                if let Ok(mut last) = stats.last_frame.lock() {
                    *last = Some(now);
                }
                stats.frames.fetch_add(1, Ordering::Relaxed);
                stats
                    .bytes
                    .fetch_add(frame.data.len() as u64, Ordering::Relaxed);
                recorder.push(kind, frame)?;
            }
        }
    }
    recorder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::tests::vp8_frames;

    /// The video's RTP clock restarts after 60 frames (time back 1000 s, or
    /// ahead 10 h): the IVF goes on at arrival pace, its 120 frames at 30 fps
    /// (the timebase is the mean frame interval: one restart left unfollowed
    /// would make it hours, or a fraction of a millisecond).
    #[test]
    fn ivf_follows_a_restarted_rtp_clock() {
        let frames = vp8_frames();
        let interval = Duration::from_nanos(1_000_000_000 / 30);
        let now = Instant::now();
        for (name, restart_at) in [("back", 1_000u64), ("ahead", 38_000)] {
            let path = std::env::temp_dir().join(format!(
                "proxy-ivf-{}-restart-{name}.ivf",
                std::process::id()
            ));
            let mut rec = Recorder::create(&path).unwrap();
            for (i, f) in frames[..120].iter().enumerate() {
                let i = i as u32;
                let pts = if i < 60 {
                    Duration::from_secs(2_000) + interval * i
                } else {
                    Duration::from_secs(restart_at) + interval * (i - 60)
                };
                rec.write(Codec::Vp8, pts, now + interval * i, f).unwrap();
            }
            assert_eq!(rec.restart.restarts, 1, "{name}");
            let done = rec.finish().unwrap();
            let header = done.header.unwrap();
            let _ = std::fs::remove_file(&path);
            assert_eq!((done.frames, header.frame_count), (120, 120), "{name}");
            let unit = f64::from(header.timebase_num) / f64::from(header.timebase_den);
            assert!(
                (unit * 30.0 - 1.0).abs() < 0.01,
                "{name}: frame interval {unit} s, not 1/30"
            );
        }
    }
}
