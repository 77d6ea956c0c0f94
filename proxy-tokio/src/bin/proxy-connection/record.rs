//! Recording the peer's first video and first audio track into one file.
//!
//! ## Containers (`--out` extension)
//!
//! - `.webm`: WebM through libwebm (the `webm` crate): VP8, VP9 or AV1 video, Opus
//!   audio (CodecPrivate OpusHead: 2 channels, 48 kHz, pre-skip 0).
//! - `.mkv`: Matroska (own writer, [`crate::matroska`]): any of VP8, VP9, AV1,
//!   H.264 (`V_MPEG4/ISO/AVC`, avcC from the keyframe's SPS/PPS) and Opus.
//! - `.ivf` and any other name, and `-` (stdout): IVF, video only, as before
//!   ([`crate::receive::Recorder`]); the audio track is left out with a log line.
//! - `.mp4`: refused at start (no MP4 writer yet): use `.mkv`.
//!
//! A codec that does not fit the container is never dropped silently: H.264 asked
//! into `.webm` (and AV1 whose first keyframe has no sequence header, which libwebm
//! needs for the av1C it requires) is written as Matroska (DocType `matroska`) at
//! the same path, and the log says so; players read the file by its contents. An
//! audio codec other than Opus is left out with a log line. A video track without
//! a keyframe within the first [`START_WAIT`] is left out (log line) rather than
//! holding the audio back longer: the tracks of a Matroska file are fixed at its
//! start.
//!
//! Per stream, the closing line says frames, start and duration (from the first
//! frame to the end of the last: an Opus packet's own duration, a video frame's
//! mean interval); the file's Duration is the latest end. Each stream's span is
//! also in the file as a Tags element (per track a `DURATION` SimpleTag, as
//! ffmpeg writes it; ffprobe shows `TAG:DURATION` per stream), after the Cues and
//! found through the SeekHead: written by our Matroska writer, and patched into
//! libwebm's finished WebM ([`crate::matroska::add_duration_tags`]; if that
//! fails the file is kept without the tags, with a log line).
//!
//! ## Timing
//!
//! Each frame's time is its RTP time (`pts`) plus a per-track offset to a common
//! clock. The offset is constant for a track (its RTP clock runs from a random
//! start), so it is learned once from the first frames, which are held until it
//! is known (at most [`START_WAIT`] of media, [`START_FRAMES`] frames or
//! [`START_BYTES`]):
//!
//! - the sender's clock when every recorded track has a `sender_time` (the RTCP
//!   sender report mapping: what the sender captured together is written together),
//! - else arrival time (`received`; the smallest arrival-minus-RTP-time of the held
//!   frames, i.e. the least delayed frame).
//!
//! The file starts at the first video keyframe (time 0): earlier audio and video
//! (undecodable without the keyframe) is left out; with no video, at the first
//! audio frame. Frames are then written in timestamp order across tracks (libwebm
//! wants that): each track's frames wait in a queue until every other recorded
//! track has a frame queued, or until they are [`REORDER_WINDOW`] older than the
//! newest queued frame (a track that pauses does not hold the others back for
//! longer), or until the queues hold [`MAX_QUEUED_FRAMES`] or
//! [`MAX_QUEUED_BYTES`] (a track whose time stands still is not held for good).
//! A frame that would still go back in time is written at the last
//! written time (counted as "late").
//!
//! A track whose RTP time jumps by more than [`RESTART_JUMP`] against its
//! arrival time between two frames (the peer changed its SSRC: a new random
//! RTP clock) goes on from where it was at the pace of arrival (counted as
//! "restarted"): not skipped for good when the jump is back, nor held
//! behind a gap of hours when it is ahead.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use proxy_core::MediaKind;
use webm::mux::{AudioCodecId, Segment, SegmentBuilder, SegmentMode, VideoCodecId, Writer};

use crate::cli::{fmt_time, Failure};
use crate::codec_info::{
    annex_b_to_avc, av1_config, h264_avcc, h264_is_idr, opus_head, opus_packet_duration,
    video_dimensions,
};
use crate::matroska::{MatroskaWriter, TrackMedia, TrackSpec};

/// The most media time held before the recording starts.
pub(crate) const START_WAIT: Duration = Duration::from_secs(5);
/// The most frames held before the recording starts.
pub(crate) const START_FRAMES: usize = 2_000;
/// The most bytes held before the recording starts (a peer's frames may be
/// large: the frame count alone would let a few thousand of them fill memory).
pub(crate) const START_BYTES: usize = 64 << 20;
/// The most frames and bytes the tracks' queues hold together: past either,
/// the oldest is written without waiting for the other track (whose frames
/// may never come, or a track whose time stands still would be held for good).
pub(crate) const MAX_QUEUED_FRAMES: usize = 1_024;
pub(crate) const MAX_QUEUED_BYTES: usize = 64 << 20;
/// How much media a lone track holds before the recording starts without the
/// other (whose RemoteTrack event may be handled just after the first's frames).
pub(crate) const LONE_TRACK_WAIT: Duration = Duration::from_millis(500);
/// How far a track's frames may wait for the other track's: str0m holds a
/// video frame up to about a second while it waits for a lost packet, and
/// audio written meanwhile would leave that frame late.
pub(crate) const REORDER_WINDOW: Duration = Duration::from_millis(1500);
/// How far a track's RTP time may run apart from its arrival time between two
/// frames before it is taken as restarted (a new SSRC starts its RTP clock at a
/// random point): far above any network stall or str0m's hold after a loss,
/// far below the hours a random restart jumps by.
pub(crate) const RESTART_JUMP: Duration = Duration::from_secs(30);
/// How many frames in a row the WebM muxer may refuse before the recording
/// fails.
const MAX_REFUSED_RUN: u32 = 64;
/// The name written as the muxing/writing application.
const APP: &str = "proxy-connection";

pub(crate) use proxy_core::Codec;

/// A received frame as the recorder uses it.
#[derive(Debug, Clone)]
pub(crate) struct MediaFrame {
    /// The frame's codec.
    pub codec: Codec,
    /// RTP time as a duration (constant offset from the track's first frame).
    pub pts: Duration,
    /// Keyframe, when the engine knows.
    pub keyframe: Option<bool>,
    /// The sender's wall clock for this frame (RTCP SR mapping), once known.
    pub sender_time: Option<SystemTime>,
    /// Arrival of the frame's first packet.
    pub received: Instant,
    /// The encoded frame (H.264: Annex B).
    pub data: Bytes,
}

/// The container a `--out` path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Container {
    /// IVF, video only (also the default and stdout).
    Ivf,
    /// WebM through libwebm.
    WebM,
    /// Matroska through [`MatroskaWriter`].
    Matroska,
}

impl Container {
    /// The container for `path` by its extension; `.mp4` is refused.
    pub(crate) fn for_path(path: &Path) -> Result<Container, Failure> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("webm") => Ok(Container::WebM),
            Some("mkv") | Some("mka") => Ok(Container::Matroska),
            Some("mp4") | Some("m4v") | Some("mov") => Err(Failure::File(format!(
                "{}: MP4 is not written yet; use .mkv (Matroska: H.264 and Opus) or .webm",
                path.display()
            ))),
            _ => Ok(Container::Ivf),
        }
    }
}

/// What one stream of a finished recording holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StreamSummary {
    /// The codec written.
    pub codec: Codec,
    /// Frames written.
    pub frames: u64,
    /// Time of the first frame in the file.
    pub start: Duration,
    /// From the first frame to the end of the last.
    pub duration: Duration,
    /// Frames left out: before the recording's start or the first keyframe,
    /// empty, of another codec than the file's, or refused by the muxer.
    pub skipped: u64,
    /// Frames written at the last written time because they came too late.
    pub late: u64,
    /// Times the track's RTP clock restarted and was taken up again.
    pub restarted: u64,
}

/// What a finished audio/video recording holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct AvSummary {
    /// The format written (`WebM`, `Matroska`), empty if nothing was.
    pub format: &'static str,
    /// How the tracks were aligned.
    pub sync: &'static str,
    /// The video stream, if written.
    pub video: Option<StreamSummary>,
    /// The audio stream, if written.
    pub audio: Option<StreamSummary>,
}

impl AvSummary {
    /// Frames written in all.
    pub(crate) fn frames(&self) -> u64 {
        self.video.as_ref().map_or(0, |s| s.frames) + self.audio.as_ref().map_or(0, |s| s.frames)
    }

    /// `N video frames (VP8, 5.00 s from 0.0 ms) and M audio frames (...)`.
    pub(crate) fn describe(&self) -> String {
        let one = |s: &StreamSummary, kind: &str| {
            format!(
                "{} {kind} frames ({}, {} from {}{}{}{})",
                s.frames,
                s.codec.as_str(),
                fmt_time(s.duration),
                fmt_time(s.start),
                if s.skipped > 0 {
                    format!(", {} left out", s.skipped)
                } else {
                    String::new()
                },
                if s.late > 0 {
                    format!(", {} late", s.late)
                } else {
                    String::new()
                },
                if s.restarted > 0 {
                    format!(", its RTP clock restarted {} times", s.restarted)
                } else {
                    String::new()
                }
            )
        };
        match (&self.video, &self.audio) {
            (Some(v), Some(a)) => format!("{} and {}", one(v, "video"), one(a, "audio")),
            (Some(v), None) => one(v, "video"),
            (None, Some(a)) => one(a, "audio"),
            (None, None) => "0 frames".to_owned(),
        }
    }
}

/// The writer behind a started recording.
enum Muxer {
    WebM {
        segment: Segment<BufWriter<File>>,
        video: Option<webm::mux::VideoTrack>,
        audio: Option<webm::mux::AudioTrack>,
    },
    Matroska {
        writer: MatroskaWriter<BufWriter<File>>,
        video: Option<u64>,
        audio: Option<u64>,
        /// H.264 blocks are length-prefixed, not Annex B.
        avc: bool,
    },
}

/// A frame waiting in a track's queue.
struct Queued {
    ts: u64,
    keyframe: bool,
    data: Bytes,
}

/// One track's state.
struct Track {
    kind: MediaKind,
    announced: bool,
    ended: bool,
    /// Part of the file (decided at the start).
    recorded: bool,
    codec: Option<Codec>,
    /// Frames held until the start.
    held: Vec<MediaFrame>,
    sender_offset: Option<i128>,
    arrival_offset: Option<i128>,
    offset: i128,
    seen_keyframe: bool,
    queue: VecDeque<Queued>,
    /// The bytes of the frames in `queue`.
    queued_bytes: usize,
    last_queued: Option<u64>,
    frames: u64,
    first_ts: Option<u64>,
    last_ts: u64,
    last_duration: u64,
    skipped: u64,
    late: u64,
    restart: RestartWatch,
}

impl Track {
    fn new(kind: MediaKind) -> Track {
        Track {
            kind,
            announced: false,
            ended: false,
            recorded: false,
            codec: None,
            held: Vec::new(),
            sender_offset: None,
            arrival_offset: None,
            offset: 0,
            seen_keyframe: false,
            queue: VecDeque::new(),
            queued_bytes: 0,
            last_queued: None,
            frames: 0,
            first_ts: None,
            last_ts: 0,
            last_duration: 0,
            skipped: 0,
            late: 0,
            restart: RestartWatch::default(),
        }
    }

    fn held_span(&self) -> Duration {
        match (self.held.first(), self.held.last()) {
            (Some(a), Some(b)) => b.pts.saturating_sub(a.pts),
            _ => Duration::ZERO,
        }
    }

    fn held_bytes(&self) -> usize {
        self.held.iter().map(|f| f.data.len()).sum()
    }

    fn has_keyframe(&self) -> bool {
        self.held.iter().any(is_keyframe)
    }

    fn summary(&self) -> Option<StreamSummary> {
        let codec = self.codec?;
        if !self.recorded {
            return None;
        }
        let first = self.first_ts.unwrap_or(0);
        Some(StreamSummary {
            codec,
            frames: self.frames,
            start: Duration::from_nanos(first),
            duration: if self.frames == 0 {
                Duration::ZERO
            } else {
                Duration::from_nanos(
                    self.last_ts
                        .saturating_add(self.last_duration)
                        .saturating_sub(first),
                )
            },
            skipped: self.skipped,
            late: self.late,
            restarted: self.restart.restarts,
        })
    }
}

pub(crate) fn nanos(d: Duration) -> i128 {
    d.as_nanos() as i128
}

/// Follows a track's RTP time against its arrival time, to see its RTP clock
/// restart ([`RESTART_JUMP`]).
#[derive(Debug, Default)]
pub(crate) struct RestartWatch {
    /// The RTP time (ns) and arrival of the latest frame.
    last: Option<(i128, Instant)>,
    /// Restarts seen.
    pub(crate) restarts: u64,
}

impl RestartWatch {
    /// Takes a frame's RTP time (ns) and arrival: the jump (ns) to take off
    /// its RTP time and every later frame's when the clock restarted, so that
    /// it follows the previous frame at arrival pace; else 0.
    pub(crate) fn jump(&mut self, pts: i128, received: Instant) -> i128 {
        let mut jump = 0;
        if let Some((last_pts, last_received)) = self.last {
            let apart = (pts - last_pts) - nanos_between(received, last_received);
            if apart.abs() > nanos(RESTART_JUMP) {
                jump = apart;
                self.restarts += 1;
            }
        }
        self.last = Some((pts, received));
        jump
    }
}

/// `a - b` in nanoseconds, either way.
fn nanos_between(a: Instant, b: Instant) -> i128 {
    match a.checked_duration_since(b) {
        Some(d) => nanos(d),
        None => -nanos(b.saturating_duration_since(a)),
    }
}

fn system_nanos(t: SystemTime) -> i128 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => nanos(d),
        Err(e) => -nanos(e.duration()),
    }
}

fn is_keyframe(f: &MediaFrame) -> bool {
    f.keyframe.unwrap_or_else(|| match f.codec {
        Codec::Vp8 => crate::ivf::vp8_frame_info(&f.data).is_some_and(|i| i.keyframe),
        Codec::H264 => h264_is_idr(&f.data),
        Codec::Vp9 | Codec::Av1 => video_dimensions(f.codec, &f.data).is_some(),
        _ => true,
    })
}

/// Records a video and an audio track into one WebM or Matroska file.
pub(crate) struct AvRecorder {
    name: String,
    container: Container,
    /// The created file, until the recording starts.
    file: Option<File>,
    muxer: Option<Muxer>,
    format: &'static str,
    sync: &'static str,
    /// Arrival times are measured from here.
    base: Instant,
    video: Track,
    audio: Track,
    started: bool,
    origin: i128,
    last_written: u64,
    /// Frames the WebM muxer refused in a row.
    refused_run: u32,
    /// Whether a refusal was logged (once per recording).
    refused_logged: bool,
}

impl AvRecorder {
    /// Creates (truncates) `path` for `container` (WebM or Matroska).
    pub(crate) fn create(path: &Path, container: Container) -> Result<AvRecorder, Failure> {
        let name = path.display().to_string();
        // Readable too: the WebM's per-stream durations are patched in at the end.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(|e| Failure::File(format!("cannot create {name}: {e}")))?;
        Ok(AvRecorder {
            name,
            container,
            file: Some(file),
            muxer: None,
            format: "",
            sync: "",
            base: Instant::now(),
            video: Track::new(MediaKind::Video),
            audio: Track::new(MediaKind::Audio),
            started: false,
            origin: 0,
            last_written: 0,
            refused_run: 0,
            refused_logged: false,
        })
    }

    fn track(&mut self, kind: MediaKind) -> &mut Track {
        match kind {
            MediaKind::Video => &mut self.video,
            MediaKind::Audio => &mut self.audio,
        }
    }

    /// A track of `kind` will deliver frames: the start waits for it.
    pub(crate) fn announce(&mut self, kind: MediaKind) {
        if self.started {
            log!(
                "receive",
                "{} track announced after the recording started: not recorded",
                kind.as_str()
            );
            return;
        }
        self.track(kind).announced = true;
    }

    /// The track of `kind` has ended.
    pub(crate) fn end(&mut self, kind: MediaKind) -> Result<(), Failure> {
        self.track(kind).ended = true;
        if self.started {
            self.drain(false)
        } else {
            self.maybe_start()
        }
    }

    /// Takes one frame of the track of `kind`.
    pub(crate) fn push(&mut self, kind: MediaKind, frame: MediaFrame) -> Result<(), Failure> {
        let base = self.base;
        let started = self.started;
        let t = self.track(kind);
        if frame.data.is_empty() {
            // Nothing to write (an empty Opus packet; libwebm refuses empty frames).
            t.skipped += 1;
            return Ok(());
        }
        if t.codec.is_none() {
            t.codec = Some(frame.codec);
        }
        if started {
            if !t.recorded {
                t.skipped += 1;
                return Ok(());
            }
            self.accept(kind, &frame);
            return self.drain(false);
        }
        if t.sender_offset.is_none() {
            if let Some(s) = frame.sender_time {
                t.sender_offset = Some(system_nanos(s) - nanos(frame.pts));
            }
        }
        let arrival = nanos_between(frame.received, base) - nanos(frame.pts);
        t.arrival_offset = Some(t.arrival_offset.map_or(arrival, |a| a.min(arrival)));
        t.held.push(frame);
        self.maybe_start()
    }

    fn maybe_start(&mut self) -> Result<(), Failure> {
        if self.started {
            return Ok(());
        }
        let waiting = |t: &Track| {
            !t.ended
                && t.announced
                && match t.kind {
                    MediaKind::Video => !t.has_keyframe(),
                    MediaKind::Audio => t.held.is_empty(),
                }
        };
        let unsynced = |t: &Track| !t.held.is_empty() && t.sender_offset.is_none();
        let ready = !waiting(&self.video) && !waiting(&self.audio);
        // Only two tracks need a common clock. A lone track waits a little for the
        // other's announcement, which may come just after its first frames.
        let both = self.video.announced && self.audio.announced;
        let synced = if both {
            !unsynced(&self.video) && !unsynced(&self.audio)
        } else {
            self.video.held_span().max(self.audio.held_span()) >= LONE_TRACK_WAIT
        };
        let anything = !self.video.held.is_empty() || !self.audio.held.is_empty();
        let limit = self.video.held_span() >= START_WAIT
            || self.audio.held_span() >= START_WAIT
            || self.video.held.len() + self.audio.held.len() >= START_FRAMES
            || self.video.held_bytes() + self.audio.held_bytes() >= START_BYTES;
        let all_ended = self.video.ended && self.audio.ended;
        if anything && ((ready && synced) || limit || all_ended) {
            self.start()?;
        }
        Ok(())
    }

    /// Decides the tracks, the alignment and the origin, opens the writer and
    /// writes the held frames.
    fn start(&mut self) -> Result<(), Failure> {
        self.started = true;
        let video_ok = self.video.has_keyframe();
        if !video_ok && !self.video.held.is_empty() {
            log!(
                "receive",
                "no video keyframe in the first {} frames: recording without video",
                self.video.held.len()
            );
        } else if self.video.announced && self.video.held.is_empty() {
            log!(
                "receive",
                "the video track sent nothing before the start: recording without video"
            );
        }
        let audio_codec = self.audio.held.first().map(|f| f.codec);
        let audio_ok = audio_codec == Some(Codec::Opus);
        if let Some(c) = audio_codec.filter(|_| !audio_ok) {
            log!(
                "receive",
                "audio codec {} is not recorded (Opus only)",
                c.as_str()
            );
        } else if self.audio.announced && self.audio.held.is_empty() {
            log!(
                "receive",
                "the audio track sent nothing before the start: recording without audio"
            );
        }
        if !video_ok && !audio_ok {
            self.video.skipped += self.video.held.len() as u64;
            self.audio.skipped += self.audio.held.len() as u64;
            self.video.held.clear();
            self.audio.held.clear();
            return Ok(());
        }
        self.video.recorded = video_ok;
        self.audio.recorded = audio_ok;
        // The file's video codec is its first keyframe's (frames of another one,
        // before a renegotiation, are skipped).
        if let Some(key) = self.video.held.iter().find(|f| is_keyframe(f)) {
            self.video.codec = Some(key.codec);
        }

        // Alignment.
        let both = video_ok && audio_ok;
        let by_sender = (!video_ok || self.video.sender_offset.is_some())
            && (!audio_ok || self.audio.sender_offset.is_some());
        for t in [&mut self.video, &mut self.audio] {
            t.offset = if by_sender {
                t.sender_offset.unwrap_or(0)
            } else {
                t.arrival_offset.unwrap_or(0)
            };
        }
        self.sync = match (both, by_sender) {
            (false, _) => "one track",
            (true, true) => "aligned by the sender's clock (RTCP sender reports)",
            (true, false) => "aligned by arrival time (no sender report yet)",
        };

        // Origin: the first video keyframe, else the first audio frame.
        self.origin = if video_ok {
            let key = self.video.held.iter().find(|f| is_keyframe(f));
            key.map_or(0, |f| nanos(f.pts) + self.video.offset)
        } else {
            self.audio
                .held
                .first()
                .map_or(0, |f| nanos(f.pts) + self.audio.offset)
        };

        self.open()?;
        let held_video = std::mem::take(&mut self.video.held);
        let held_audio = std::mem::take(&mut self.audio.held);
        for f in &held_video {
            if video_ok {
                self.accept(MediaKind::Video, f);
            } else {
                self.video.skipped += 1;
            }
        }
        for f in &held_audio {
            if audio_ok {
                self.accept(MediaKind::Audio, f);
            } else {
                self.audio.skipped += 1;
            }
        }
        self.drain(false)
    }

    /// Opens the file's writer for the recorded tracks.
    fn open(&mut self) -> Result<(), Failure> {
        let name = self.name.clone();
        let Some(file) = self.file.take() else {
            return Err(Failure::Other(format!("{name}: recording opened twice")));
        };
        let out = BufWriter::with_capacity(1 << 20, file);
        let video = if self.video.recorded {
            let key = self.video.held.iter().find(|f| is_keyframe(f));
            key.map(|f| {
                let dims = video_dimensions(f.codec, &f.data);
                if dims.is_none() {
                    log!(
                        "receive",
                        "{}: no size in the first {} keyframe; writing 640x480 (players use the stream's own)",
                        name,
                        f.codec.as_str()
                    );
                }
                let private = match f.codec {
                    Codec::H264 => h264_avcc(&f.data),
                    Codec::Av1 => av1_config(&f.data),
                    _ => None,
                };
                if private.is_none() && matches!(f.codec, Codec::H264 | Codec::Av1) {
                    log!(
                        "receive",
                        "{name}: the first {} keyframe has no decoder configuration (SPS/PPS, sequence header)",
                        f.codec.as_str()
                    );
                }
                (f.codec, dims.unwrap_or((640, 480)), private)
            })
        } else {
            None
        };
        // libwebm refuses AV1 without its CodecPrivate (av1C); Matroska does not.
        let webm_video = match video.as_ref().map(|v| (v.0, v.2.is_some())) {
            None => Some(None),
            Some((Codec::Vp8, _)) => Some(Some(VideoCodecId::VP8)),
            Some((Codec::Vp9, _)) => Some(Some(VideoCodecId::VP9)),
            Some((Codec::Av1, true)) => Some(Some(VideoCodecId::AV1)),
            Some(_) => None,
        };
        let container = match (self.container, webm_video) {
            (Container::WebM, Some(_)) => Container::WebM,
            (Container::WebM, None) => {
                let why = match video.as_ref().map(|v| v.0) {
                    Some(Codec::Av1) => "AV1 without a sequence header (av1C) does not fit WebM",
                    Some(Codec::H264) => "H264 does not fit WebM",
                    _ => "the video codec does not fit WebM",
                };
                log!(
                    "receive",
                    "{name}: {why}; writing Matroska (DocType matroska) to {name} instead"
                );
                Container::Matroska
            }
            (other, _) => other,
        };
        let bad = |what: &str, e: &dyn std::fmt::Display| {
            Failure::File(format!("cannot write {name}: {what}: {e}"))
        };
        let head = opus_head(2, 0);
        self.muxer = Some(match container {
            Container::WebM => {
                let mut b = SegmentBuilder::new(Writer::new(out))
                    .and_then(|b| b.set_mode(SegmentMode::File))
                    .and_then(|b| b.set_writing_app(APP))
                    .map_err(|e| bad("WebM segment", &e))?;
                let mut vt = None;
                if let (Some((_, (w, h), private)), Some(Some(id))) = (&video, webm_video) {
                    let (nb, t) = b
                        .add_video_track(*w, *h, id, None)
                        .map_err(|e| bad("WebM video track", &e))?;
                    b = nb;
                    if let Some(p) = private {
                        b = b
                            .set_codec_private(t, p)
                            .map_err(|e| bad("video CodecPrivate", &e))?;
                    }
                    vt = Some(t);
                }
                let mut at = None;
                if self.audio.recorded {
                    let (nb, t) = b
                        .add_audio_track(48_000, 2, AudioCodecId::Opus, None)
                        .map_err(|e| bad("WebM audio track", &e))?;
                    b = nb
                        .set_codec_private(t, &head)
                        .map_err(|e| bad("OpusHead", &e))?;
                    at = Some(t);
                }
                self.format = "WebM";
                Muxer::WebM {
                    segment: b.build(),
                    video: vt,
                    audio: at,
                }
            }
            _ => {
                let mut specs = Vec::new();
                let mut avc = false;
                if let Some((codec, (width, height), private)) = &video {
                    avc = *codec == Codec::H264;
                    specs.push(TrackSpec {
                        codec_id: match codec {
                            Codec::Vp8 => "V_VP8",
                            Codec::Vp9 => "V_VP9",
                            Codec::Av1 => "V_AV1",
                            _ => "V_MPEG4/ISO/AVC",
                        },
                        codec_private: private.clone(),
                        media: TrackMedia::Video {
                            width: *width,
                            height: *height,
                        },
                    });
                }
                if self.audio.recorded {
                    specs.push(TrackSpec {
                        codec_id: "A_OPUS",
                        codec_private: Some(head.to_vec()),
                        media: TrackMedia::Audio {
                            rate: 48_000.0,
                            channels: 2,
                            codec_delay_ns: 0,
                            seek_pre_roll_ns: 80_000_000,
                        },
                    });
                }
                let writer =
                    MatroskaWriter::new(out, &specs, APP).map_err(|e| bad("Matroska", &e))?;
                self.format = "Matroska";
                let video_n = video.is_some().then_some(1);
                Muxer::Matroska {
                    writer,
                    video: video_n,
                    audio: self
                        .audio
                        .recorded
                        .then_some(1 + u64::from(video.is_some())),
                    avc,
                }
            }
        });
        Ok(())
    }

    /// Puts a frame of a recorded track in its queue at its file time.
    fn accept(&mut self, kind: MediaKind, f: &MediaFrame) {
        let origin = self.origin;
        let t = self.track(kind);
        if Some(f.codec) != t.codec {
            // A codec change mid-track (renegotiation): the file's track cannot follow.
            t.skipped += 1;
            return;
        }
        let pts = nanos(f.pts);
        t.offset -= t.restart.jump(pts, f.received);
        let at = pts + t.offset - origin;
        let key = is_keyframe(f);
        if at < 0 || (kind == MediaKind::Video && !t.seen_keyframe && !key) {
            t.skipped += 1;
            return;
        }
        if kind == MediaKind::Video {
            t.seen_keyframe = true;
        }
        let mut ts = u64::try_from(at).unwrap_or(u64::MAX);
        if let Some(last) = t.last_queued {
            if ts < last {
                ts = last;
                t.late += 1;
            }
        }
        t.last_queued = Some(ts);
        if kind == MediaKind::Audio {
            t.last_duration =
                opus_packet_duration(&f.data).map_or(20_000_000, |d| d.as_nanos() as u64);
        }
        t.queued_bytes += f.data.len();
        t.queue.push_back(Queued {
            ts,
            keyframe: key || kind == MediaKind::Audio,
            data: f.data.clone(),
        });
    }

    /// Writes queued frames in timestamp order (all of them with `all`).
    fn drain(&mut self, all: bool) -> Result<(), Failure> {
        let window = REORDER_WINDOW.as_nanos() as u64;
        loop {
            let head = |t: &Track| t.queue.front().map(|q| q.ts);
            let newest = [&self.video, &self.audio]
                .iter()
                .filter_map(|t| t.queue.back().map(|q| q.ts))
                .max();
            let (kind, ts) = match (head(&self.video), head(&self.audio)) {
                (None, None) => return Ok(()),
                (Some(v), Some(a)) if a < v => (MediaKind::Audio, a),
                (Some(v), _) => (MediaKind::Video, v),
                (None, Some(a)) => (MediaKind::Audio, a),
            };
            let other = match kind {
                MediaKind::Video => &self.audio,
                MediaKind::Audio => &self.video,
            };
            let other_may_come = other.recorded && !other.ended && other.queue.is_empty();
            let full = self.video.queue.len() + self.audio.queue.len() > MAX_QUEUED_FRAMES
                || self.video.queued_bytes + self.audio.queued_bytes > MAX_QUEUED_BYTES;
            if other_may_come && !all && !full && newest.unwrap_or(ts) - ts < window {
                return Ok(());
            }
            let t = self.track(kind);
            let Some(q) = t.queue.pop_front() else {
                return Ok(());
            };
            t.queued_bytes -= q.data.len();
            self.write(kind, q)?;
        }
    }

    fn write(&mut self, kind: MediaKind, q: Queued) -> Result<(), Failure> {
        let mut ts = q.ts;
        let last_written = self.last_written;
        let name = &self.name;
        let bad = |e: &dyn std::fmt::Display| Failure::File(format!("cannot write {name}: {e}"));
        let late = ts < last_written;
        if late {
            ts = last_written;
        }
        match &mut self.muxer {
            Some(Muxer::WebM {
                segment,
                video,
                audio,
            }) => {
                let track = match kind {
                    MediaKind::Video => video.map(webm::mux::TrackNum::from),
                    MediaKind::Audio => audio.map(webm::mux::TrackNum::from),
                };
                if let Some(track) = track {
                    if let Err(e) = segment.add_frame(track, &q.data, ts, q.keyframe) {
                        // libwebm refuses what it cannot place (e.g. a time beyond
                        // its range, from a peer's RTP clock jumping ahead): the
                        // frame is left out. Refusing many in a row is the file's
                        // failure (a write error).
                        self.refused_run += 1;
                        if self.refused_run > MAX_REFUSED_RUN {
                            return Err(bad(&format!(
                                "{e} ({} frames in a row refused)",
                                self.refused_run
                            )));
                        }
                        if !self.refused_logged {
                            self.refused_logged = true;
                            log!(
                                "receive",
                                "{name}: the WebM muxer refused a {} frame at {} ({e}); left out",
                                kind.as_str(),
                                fmt_time(Duration::from_nanos(ts))
                            );
                        }
                        self.track(kind).skipped += 1;
                        return Ok(());
                    }
                    self.refused_run = 0;
                }
            }
            Some(Muxer::Matroska {
                writer,
                video,
                audio,
                avc,
            }) => {
                let track = match kind {
                    MediaKind::Video => *video,
                    MediaKind::Audio => *audio,
                };
                if let Some(track) = track {
                    let converted;
                    let data: &[u8] = if *avc && kind == MediaKind::Video {
                        converted = annex_b_to_avc(&q.data);
                        &converted
                    } else {
                        &q.data
                    };
                    // No NAL unit in it (no start code): nothing to write.
                    if data.is_empty() {
                        match kind {
                            MediaKind::Video => self.video.skipped += 1,
                            MediaKind::Audio => self.audio.skipped += 1,
                        }
                        return Ok(());
                    }
                    writer
                        .write_frame(track, ts, data, q.keyframe)
                        .map_err(|e| bad(&e))?;
                }
            }
            None => {}
        }
        let t = self.track(kind);
        if late {
            t.late += 1;
        }
        t.first_ts.get_or_insert(ts);
        if kind == MediaKind::Video {
            if let Some(first) = t.first_ts.filter(|_| t.frames > 0) {
                // Mean frame interval so far: the last frame's duration.
                t.last_duration = (ts - first) / t.frames;
            }
        }
        t.last_ts = ts;
        t.frames += 1;
        self.last_written = ts;
        Ok(())
    }

    /// Writes what is held and queued and finishes the file. With nothing written
    /// the file stays empty (the caller removes it).
    pub(crate) fn finish(mut self) -> Result<AvSummary, Failure> {
        if !self.started && (!self.video.held.is_empty() || !self.audio.held.is_empty()) {
            self.start()?;
        }
        self.drain(true)?;
        let end = [&self.video, &self.audio]
            .iter()
            .filter(|t| t.recorded && t.frames > 0)
            .map(|t| t.last_ts.saturating_add(t.last_duration))
            .max()
            .unwrap_or(0);
        let name = self.name.clone();
        let bad = |e: &str| Failure::File(format!("cannot finish {name}: {e}"));
        let video = self.video.summary();
        let audio = self.audio.summary();
        let span = |s: &Option<StreamSummary>| {
            s.as_ref()
                .filter(|s| s.frames > 0)
                .map(|s| s.duration.as_nanos() as u64)
        };
        match self.muxer.take() {
            Some(Muxer::WebM { segment, .. }) if self.video.frames + self.audio.frames > 0 => {
                // libwebm's Duration is in TimecodeScale units (1 ms).
                let ms = end.div_ceil(1_000_000);
                let writer = segment
                    .finalize(Some(ms.max(1)))
                    .map_err(|_| bad("libwebm could not finalize the segment"))?;
                let mut file = writer
                    .into_inner()
                    .into_inner()
                    .map_err(|e| bad(&e.error().to_string()))?;
                // TrackType 1 video, 2 audio.
                let spans: Vec<(u64, u64)> = [(1, span(&video)), (2, span(&audio))]
                    .into_iter()
                    .filter_map(|(kind, ns)| Some((kind, ns?)))
                    .collect();
                if let Err(e) = crate::matroska::add_duration_tags(&mut file, &spans) {
                    log!(
                        "receive",
                        "{name}: per-stream durations not added ({e}); the file is kept without them"
                    );
                }
            }
            Some(Muxer::Matroska {
                writer,
                video: video_n,
                audio: audio_n,
                ..
            }) => {
                use std::io::Write;
                let spans: Vec<(u64, u64)> = [(video_n, span(&video)), (audio_n, span(&audio))]
                    .into_iter()
                    .filter_map(|(n, ns)| Some((n?, ns?)))
                    .collect();
                writer
                    .finish(end, &spans)
                    .and_then(|mut w| w.flush())
                    .map_err(|e| bad(&e.to_string()))?;
            }
            // Nothing written: the caller removes the file.
            Some(Muxer::WebM { .. }) | None => {}
        }
        Ok(AvSummary {
            format: self.format,
            sync: self.sync,
            video,
            audio,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::codec_info::annex_b_nal_units;
    use crate::ivf::IvfReader;
    use serde_json::Value;
    use std::io::Cursor;
    use std::path::PathBuf;
    use std::process::Command;

    const FRAME: Duration = Duration::from_nanos(1_000_000_000 / 30);
    const PACKET: Duration = Duration::from_millis(20);

    fn tool(name: &str) -> bool {
        let ok = Command::new(name)
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            // test.sh installs ffmpeg; under CI=true a missing one is a failure.
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{name} is required under CI=true"
            );
            eprintln!("{name} not installed: skipping the file checks");
        }
        ok
    }

    fn tmp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("proxy-rec-{}-{name}", std::process::id()))
    }

    /// The clip's 150 VP8 frames (320x180, keyframes 0, 60, 120).
    pub(crate) fn vp8_frames() -> Vec<Bytes> {
        IvfReader::new(Cursor::new(crate::BUILTIN_CLIP))
            .unwrap()
            .read_all()
            .unwrap()
            .into_iter()
            .map(|f| f.data)
            .collect()
    }

    /// `frames` frames of a 320x180 test picture from ffmpeg's encoder for `codec`.
    fn encoded(codec: Codec, frames: usize) -> Vec<Bytes> {
        // One file per call: tests encode concurrently.
        static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = tmp(&format!("src-{}-{n}", codec.as_str()));
        let (args, format): (&[&str], &str) = match codec {
            Codec::Vp9 => (&["-c:v", "libvpx-vp9", "-deadline", "realtime"], "ivf"),
            Codec::Av1 => (
                &["-c:v", "libaom-av1", "-cpu-used", "8", "-usage", "realtime"],
                "ivf",
            ),
            _ => (
                &[
                    "-c:v",
                    "libx264",
                    "-profile:v",
                    "baseline",
                    "-x264-params",
                    "aud=1:keyint=30",
                    "-bsf:v",
                    "h264_mp4toannexb",
                ],
                "h264",
            ),
        };
        let status = Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
            .arg("testsrc=size=320x180:rate=30")
            .args(["-frames:v", &frames.to_string(), "-pix_fmt", "yuv420p"])
            .args(args)
            .args(["-f", format])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success());
        let bytes = std::fs::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        if format == "ivf" {
            return IvfReader::new(Cursor::new(bytes))
                .unwrap()
                .read_all()
                .unwrap()
                .into_iter()
                .map(|f| f.data)
                .collect();
        }
        // Annex B with access unit delimiters: one frame from each AUD to the next.
        let mut out: Vec<Vec<u8>> = Vec::new();
        for unit in annex_b_nal_units(&bytes) {
            if unit[0] & 0x1f == 9 || out.is_empty() {
                out.push(Vec::new());
            }
            let last = out.last_mut().unwrap();
            last.extend_from_slice(&[0, 0, 0, 1]);
            last.extend_from_slice(unit);
        }
        out.into_iter().map(Bytes::from).collect()
    }

    /// How one track's frames are sent and arrive.
    struct Flow {
        /// RTP time of the first frame.
        rtp0: Duration,
        /// Sender's wall clock at the first frame.
        wall0: SystemTime,
        /// Arrival of the first frame.
        recv0: Instant,
        /// Frames before the first sender report (no sender_time).
        sr_after: usize,
    }

    impl Flow {
        /// From RTP time `rtp0` s and the sender's wall clock `wall0` s,
        /// arriving from `recv0`, with sender reports from the first frame.
        fn synced(rtp0: u64, wall0: u64, recv0: Instant) -> Flow {
            Flow {
                rtp0: Duration::from_secs(rtp0),
                wall0: epoch(wall0),
                recv0,
                sr_after: 0,
            }
        }
    }

    fn track(
        kind: MediaKind,
        codec: Codec,
        data: Vec<Bytes>,
        f: &Flow,
    ) -> Vec<(MediaKind, MediaFrame)> {
        let step = if kind == MediaKind::Video {
            FRAME
        } else {
            PACKET
        };
        data.into_iter()
            .enumerate()
            .map(|(i, data)| {
                let at = step * i as u32;
                (
                    kind,
                    MediaFrame {
                        codec,
                        pts: f.rtp0 + at,
                        keyframe: None,
                        sender_time: (i >= f.sr_after).then(|| f.wall0 + at),
                        received: f.recv0 + at,
                        data,
                    },
                )
            })
            .collect()
    }

    /// Silent 20 ms Opus packets (a TOC byte, config 31, and an empty frame).
    fn opus(n: usize) -> Vec<Bytes> {
        vec![Bytes::from_static(&[0xf8]); n]
    }

    /// A recorder with a video and an audio track announced.
    fn audio_and_video(path: &Path, container: Container) -> AvRecorder {
        let mut rec = AvRecorder::create(path, container).unwrap();
        rec.announce(MediaKind::Video);
        rec.announce(MediaKind::Audio);
        rec
    }

    /// Feeds frames in arrival order and finishes.
    fn record(
        path: &Path,
        container: Container,
        mut frames: Vec<(MediaKind, MediaFrame)>,
    ) -> AvSummary {
        let mut rec = AvRecorder::create(path, container).unwrap();
        for kind in [MediaKind::Audio, MediaKind::Video] {
            if frames.iter().any(|(k, _)| *k == kind) {
                rec.announce(kind);
            }
        }
        frames.sort_by_key(|(_, f)| f.received);
        for (kind, f) in frames {
            rec.push(kind, f).unwrap();
        }
        rec.end(MediaKind::Video).unwrap();
        rec.end(MediaKind::Audio).unwrap();
        rec.finish().unwrap()
    }

    /// ffprobe's view of a file: format name and, per stream, its codec, size,
    /// decoded frame count, and (pts, duration) of each packet in seconds.
    struct Probe {
        format: String,
        duration: f64,
        streams: Vec<ProbedStream>,
    }

    /// Codec name, ffprobe's stream object, (pts, duration) of its packets.
    type ProbedStream = (String, Value, Vec<(f64, f64)>);

    impl Probe {
        fn of(path: &Path) -> Probe {
            let out = Command::new("ffprobe")
                .args([
                    "-v",
                    "error",
                    "-count_frames",
                    "-show_format",
                    "-show_streams",
                    "-show_packets",
                    "-of",
                    "json",
                ])
                .arg(path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            let num = |v: &Value| {
                v.as_str()
                    .and_then(|s| s.parse::<f64>().ok())
                    .unwrap_or(f64::NAN)
            };
            let streams = v["streams"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    let index = s["index"].as_u64().unwrap();
                    let packets = v["packets"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|p| p["stream_index"].as_u64() == Some(index))
                        .map(|p| (num(&p["pts_time"]), num(&p["duration_time"])))
                        .collect();
                    (
                        s["codec_name"].as_str().unwrap_or("").to_owned(),
                        s.clone(),
                        packets,
                    )
                })
                .collect();
            Probe {
                format: v["format"]["format_name"].as_str().unwrap_or("").to_owned(),
                duration: num(&v["format"]["duration"]),
                streams,
            }
        }

        fn stream(&self, codec: &str) -> (&Value, &Vec<(f64, f64)>) {
            let s = self
                .streams
                .iter()
                .find(|(c, _, _)| c == codec)
                .unwrap_or_else(|| panic!("no {codec} stream"));
            (&s.1, &s.2)
        }

        /// First pts and end (last pts + its duration) of a stream's packets.
        fn span(&self, codec: &str) -> (f64, f64) {
            let (_, p) = self.stream(codec);
            let (last, dur) = *p.last().unwrap();
            (p[0].0, last + if dur.is_nan() { 0.0 } else { dur })
        }
    }

    /// A stream's `TAG:DURATION` (`HH:MM:SS.nnnnnnnnn`) in seconds.
    fn tag_duration(stream: &Value) -> f64 {
        let tag = stream["tags"]["DURATION"]
            .as_str()
            .unwrap_or_else(|| panic!("no DURATION tag: {stream}"));
        let parts: Vec<f64> = tag.split(':').map(|p| p.parse().unwrap()).collect();
        assert_eq!(parts.len(), 3, "{tag}");
        parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
    }

    fn epoch(s: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(s)
    }

    /// Audio captured 300 ms before the video, arriving 200 ms later than the
    /// video relative to capture, sender reports after 10 video / 60 audio frames:
    /// the file starts at the video's first keyframe with the audio captured at
    /// that moment, whatever the arrival skew.
    #[test]
    fn sender_clock_aligns_audio_with_video_in_webm() {
        let now = Instant::now();
        let video = Flow {
            rtp0: Duration::from_secs(12_345),
            wall0: epoch(1_000_000),
            recv0: now + Duration::from_millis(50),
            sr_after: 10,
        };
        let audio = Flow {
            rtp0: Duration::from_secs(777),
            wall0: epoch(1_000_000) - Duration::from_millis(300),
            recv0: now - Duration::from_millis(300) + Duration::from_millis(250),
            sr_after: 60,
        };
        let mut frames = track(MediaKind::Video, Codec::Vp8, vp8_frames(), &video);
        frames.extend(track(MediaKind::Audio, Codec::Opus, opus(265), &audio));
        let path = tmp("sender.webm");
        let s = record(&path, Container::WebM, frames);
        assert_eq!(s.format, "WebM");
        assert!(s.sync.contains("sender"), "{}", s.sync);
        let v = s.video.clone().unwrap();
        let a = s.audio.clone().unwrap();
        assert_eq!((v.frames, v.skipped, v.late), (150, 0, 0));
        // 300 ms of audio before the keyframe: 15 packets left out.
        assert_eq!((a.frames, a.skipped, a.late), (250, 15, 0));
        assert_eq!((v.start, a.start), (Duration::ZERO, Duration::ZERO));
        assert_eq!(a.duration, Duration::from_secs(5));
        assert!(v.duration.abs_diff(Duration::from_secs(5)) < Duration::from_millis(1));
        if tool("ffprobe") {
            let p = Probe::of(&path);
            assert_eq!(p.format, "matroska,webm");
            let (vs, vp) = p.stream("vp8");
            assert_eq!(
                (vs["width"].as_u64(), vs["height"].as_u64()),
                (Some(320), Some(180))
            );
            assert_eq!(vs["nb_read_frames"].as_str(), Some("150"));
            assert_eq!(vp.len(), 150);
            let (as_, ap) = p.stream("opus");
            assert_eq!(as_["sample_rate"].as_str(), Some("48000"));
            assert_eq!(as_["channels"].as_u64(), Some(2));
            assert_eq!(ap.len(), 250);
            let (v0, v1) = p.span("vp8");
            let (a0, a1) = p.span("opus");
            eprintln!(
                "MEASURE webm sender: video {v0}..{v1}, audio {a0}..{a1}, format {}",
                p.duration
            );
            assert_eq!((v0, a0), (0.0, 0.0));
            assert!((a1 - 5.0).abs() < 0.002, "audio ends at {a1}");
            // The last video frame starts at 149/30 s (ms timestamps).
            assert!((vp[149].0 - 4.967).abs() < 0.002, "{:?}", vp[149]);
            assert!((p.duration - 5.0).abs() < 0.002, "{}", p.duration);
        }
        let _ = std::fs::remove_file(&path);
    }

    /// Without sender reports the arrival times align the tracks: the least
    /// delayed frame of each track sets its offset (jitter on later frames does
    /// not move it).
    #[test]
    fn arrival_time_aligns_without_sender_reports() {
        let now = Instant::now();
        let video = Flow {
            rtp0: Duration::from_secs(1),
            wall0: epoch(0),
            recv0: now + Duration::from_millis(40),
            sr_after: usize::MAX,
        };
        let audio = Flow {
            rtp0: Duration::from_secs(99_999),
            wall0: epoch(0),
            recv0: now + Duration::from_millis(140),
            sr_after: usize::MAX,
        };
        let mut frames = track(MediaKind::Video, Codec::Vp8, vp8_frames(), &video);
        let mut a = track(MediaKind::Audio, Codec::Opus, opus(250), &audio);
        // Jitter: every third audio packet 30 ms late.
        for (i, (_, f)) in a.iter_mut().enumerate() {
            if i % 3 == 1 {
                f.received += Duration::from_millis(30);
            }
        }
        frames.extend(a);
        let path = tmp("arrival.webm");
        let s = record(&path, Container::WebM, frames);
        assert!(s.sync.contains("arrival"), "{}", s.sync);
        let a = s.audio.unwrap();
        // Audio arrived 100 ms after the video: it starts at 100 ms in the file.
        assert_eq!(a.start, Duration::from_millis(100));
        assert_eq!((a.frames, a.skipped), (250, 0));
        if tool("ffprobe") {
            let p = Probe::of(&path);
            assert_eq!(p.span("opus").0, 0.1);
            assert_eq!(p.span("vp8").0, 0.0);
        }
        let _ = std::fs::remove_file(&path);
    }

    /// Video arriving in late bursts (up to 400 ms behind the audio) is still
    /// interleaved in order: nothing late, nothing lost, timestamps never go back.
    #[test]
    fn bursts_are_interleaved_in_timestamp_order() {
        let now = Instant::now();
        let flow = |rtp0| Flow {
            rtp0,
            ..Flow::synced(0, 5, now)
        };
        let mut frames = track(
            MediaKind::Video,
            Codec::Vp8,
            vp8_frames(),
            &flow(Duration::ZERO),
        );
        for (i, (_, f)) in frames.iter_mut().enumerate() {
            // Held back and delivered every 12 frames (400 ms).
            let burst = (i / 12 + 1) * 12;
            f.received = now + FRAME * burst as u32;
        }
        frames.extend(track(
            MediaKind::Audio,
            Codec::Opus,
            opus(250),
            &flow(Duration::from_secs(3)),
        ));
        let path = tmp("bursts.webm");
        let s = record(&path, Container::WebM, frames);
        let (v, a) = (s.video.unwrap(), s.audio.unwrap());
        assert_eq!((v.frames, v.late, a.frames, a.late), (150, 0, 250, 0));
        if tool("ffprobe") {
            let p = Probe::of(&path);
            assert_eq!(p.stream("vp8").1.len(), 150);
            assert_eq!(p.stream("opus").1.len(), 250);
        }
        let _ = std::fs::remove_file(&path);
    }

    /// A video track that never sends a keyframe: audio alone, said in the summary.
    #[test]
    fn audio_alone_when_video_has_no_keyframe() {
        let now = Instant::now();
        let flow = Flow::synced(0, 5, now);
        let inter: Vec<Bytes> = vp8_frames().into_iter().skip(1).take(59).collect();
        let mut frames = track(MediaKind::Video, Codec::Vp8, inter, &flow);
        frames.extend(track(MediaKind::Audio, Codec::Opus, opus(300), &flow));
        let path = tmp("audio-only.webm");
        let s = record(&path, Container::WebM, frames);
        assert_eq!(s.video, None);
        assert_eq!(s.audio.unwrap().frames, 300);
        if tool("ffprobe") {
            let p = Probe::of(&path);
            assert_eq!(p.streams.len(), 1);
            assert_eq!(p.span("opus"), (0.0, 6.0));
        }
        let _ = std::fs::remove_file(&path);
    }

    /// Each video codec in the container asked for, with its size from the
    /// keyframe and every frame decodable; H.264 asked into WebM becomes Matroska.
    #[test]
    fn every_codec_in_webm_and_matroska() {
        if !tool("ffmpeg") || !tool("ffprobe") {
            return;
        }
        let now = Instant::now();
        let flow = Flow::synced(3, 50, now);
        for (codec, name) in [
            (Codec::Vp8, "vp8"),
            (Codec::Vp9, "vp9"),
            (Codec::Av1, "av1"),
            (Codec::H264, "h264"),
        ] {
            let data = if codec == Codec::Vp8 {
                vp8_frames()
            } else {
                encoded(codec, 60)
            };
            let n = data.len();
            for (container, ext) in [(Container::WebM, "webm"), (Container::Matroska, "mkv")] {
                let mut frames = track(MediaKind::Video, codec, data.clone(), &flow);
                frames.extend(track(MediaKind::Audio, Codec::Opus, opus(n * 5 / 3), &flow));
                let path = tmp(&format!("codec-{name}.{ext}"));
                let s = record(&path, container, frames);
                let want = if container == Container::WebM && codec != Codec::H264 {
                    "WebM"
                } else {
                    "Matroska"
                };
                assert_eq!(s.format, want, "{name} in .{ext}");
                let p = Probe::of(&path);
                let (vs, vp) = p.stream(name);
                assert_eq!(
                    (vs["width"].as_u64(), vs["height"].as_u64()),
                    (Some(320), Some(180)),
                    "{name} in .{ext}"
                );
                assert_eq!(
                    vs["nb_read_frames"].as_str(),
                    Some(n.to_string().as_str()),
                    "{name} in .{ext}"
                );
                assert_eq!(vp.len(), n);
                // Each stream's DURATION tag is its span (first frame to the end
                // of the last), and the audio's is its packets' span.
                let (v, a) = (s.video.unwrap(), s.audio.unwrap());
                let (as_, _) = p.stream("opus");
                for (stream, summary) in [(vs, &v), (as_, &a)] {
                    let tag = tag_duration(stream);
                    assert!(
                        (tag - summary.duration.as_secs_f64()).abs() < 0.001,
                        "{name} .{ext}: tag {tag} s, span {:?}",
                        summary.duration
                    );
                }
                assert!((v.duration.as_secs_f64() - n as f64 / 30.0).abs() < 0.002);
                assert_eq!(
                    as_["nb_read_frames"].as_str(),
                    Some((n * 5 / 3).to_string().as_str())
                );
                let (a0, a1) = p.span("opus");
                assert!((tag_duration(as_) - (a1 - a0)).abs() < 0.001);
                let want_end = (n * 5 / 3) as f64 * 0.02;
                assert!(
                    a0 == 0.0 && (a1 - want_end).abs() < 0.002,
                    "{name} .{ext}: audio {a0}..{a1}"
                );
                assert!(
                    (p.duration - want_end).abs() < 0.04,
                    "{name} .{ext}: {}",
                    p.duration
                );
                let _ = std::fs::remove_file(&path);
            }
        }
    }

    #[test]
    fn containers_by_extension() {
        let c = |p: &str| Container::for_path(Path::new(p));
        assert_eq!(c("a.webm").unwrap(), Container::WebM);
        assert_eq!(c("a.WEBM").unwrap(), Container::WebM);
        assert_eq!(c("a.mkv").unwrap(), Container::Matroska);
        assert_eq!(c("a.ivf").unwrap(), Container::Ivf);
        assert_eq!(c("a").unwrap(), Container::Ivf);
        assert_eq!(c("-").unwrap(), Container::Ivf);
        assert!(matches!(c("a.mp4"), Err(Failure::File(m)) if m.contains(".mkv")));
    }

    /// Peer input of any shape (codecs changing, times jumping back and far ahead,
    /// empty and random frames, sender times before 1970) never panics; the
    /// recording either fails with an error or finishes.
    #[test]
    fn hostile_frames_never_panic() {
        let now = Instant::now();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let codecs = [Codec::Vp8, Codec::Vp9, Codec::Av1, Codec::H264, Codec::Opus];
        let clip = vp8_frames();
        for round in 0..40 {
            let container = if round % 2 == 0 {
                Container::WebM
            } else {
                Container::Matroska
            };
            let path = tmp(&format!(
                "hostile-{round}.{}",
                if round % 2 == 0 { "webm" } else { "mkv" }
            ));
            let mut rec = audio_and_video(&path, container);
            for i in 0..300u64 {
                let r = next();
                let kind = if r & 1 == 0 {
                    MediaKind::Video
                } else {
                    MediaKind::Audio
                };
                let data = match r % 5 {
                    0 => Bytes::new(),
                    1 => clip[(r as usize / 7) % clip.len()].clone(),
                    _ => Bytes::from((0..(r % 64)).map(|b| (b ^ r) as u8).collect::<Vec<u8>>()),
                };
                let pts = match (r >> 8) % 6 {
                    0 => Duration::from_secs(u64::from(u32::MAX)) * 1000,
                    1 => Duration::ZERO,
                    _ => Duration::from_millis(i * 20 + (r >> 20) % 500),
                };
                let frame = MediaFrame {
                    codec: codecs[(r >> 4) as usize % codecs.len()],
                    pts,
                    keyframe: [None, Some(true), Some(false)][(r >> 12) as usize % 3],
                    sender_time: match (r >> 16) % 4 {
                        0 => None,
                        1 => UNIX_EPOCH.checked_sub(Duration::from_secs(r >> 40)),
                        _ => Some(epoch(r >> 30)),
                    },
                    received: now + Duration::from_millis(i * 10),
                    data,
                };
                // Nothing a peer sends fails the recording: what cannot be
                // written is skipped.
                if let Err(e) = rec.push(kind, frame) {
                    panic!("round {round} frame {i}: {e}");
                }
            }
            if let Err(e) = rec.finish() {
                panic!("round {round}: finish: {e}");
            }
            let _ = std::fs::remove_file(&path);
        }
    }

    /// A recorded audio track that goes quiet (not ended) while the video's
    /// time stands still (a peer sending the same RTP time over and over): the
    /// queues stay within their bound, the video is written (late), and the
    /// file is finished with every frame.
    #[test]
    fn a_track_whose_time_stands_still_is_not_held_for_good() {
        let now = Instant::now();
        let flow = Flow::synced(7, 50, now);
        let path = tmp("stuck.webm");
        let mut rec = audio_and_video(&path, Container::WebM);
        let clip = vp8_frames();
        let mut frames = track(MediaKind::Video, Codec::Vp8, clip[..10].to_vec(), &flow);
        // Audio for 100 ms only: its queue is empty from then on.
        frames.extend(track(MediaKind::Audio, Codec::Opus, opus(5), &flow));
        frames.sort_by_key(|(_, f)| f.received);
        for (kind, f) in frames {
            rec.push(kind, f).unwrap();
        }
        assert!(rec.started, "both tracks synced: the recording has started");
        let stuck = 3 * MAX_QUEUED_FRAMES;
        for i in 0..stuck {
            let f = MediaFrame {
                codec: Codec::Vp8,
                pts: flow.rtp0 + FRAME * 10,
                keyframe: None,
                sender_time: Some(flow.wall0 + FRAME * 10),
                received: now + FRAME * (10 + i as u32),
                data: clip[1 + i % 59].clone(),
            };
            rec.push(MediaKind::Video, f).unwrap();
            let queued = rec.video.queue.len() + rec.audio.queue.len();
            assert!(queued <= MAX_QUEUED_FRAMES + 1, "{queued} frames queued");
        }
        let written = rec.video.frames;
        assert!(
            written as usize >= stuck - MAX_QUEUED_FRAMES,
            "only {written} video frames written of {}",
            stuck + 10
        );
        let s = rec.finish().unwrap();
        assert_eq!(s.video.unwrap().frames as usize, stuck + 10);
        let _ = std::fs::remove_file(&path);
    }

    /// The video's RTP clock restarts mid-recording (a new SSRC: its time
    /// jumps back 1000 s, or ahead 10 h): the video goes on at arrival pace,
    /// every frame written, the file as long as what was sent, the audio
    /// beside it untouched.
    #[test]
    fn a_restarted_rtp_clock_goes_on_where_the_track_was() {
        let now = Instant::now();
        for (name, restart_at) in [("back", 1_000), ("ahead", 2_000 + 36_000)] {
            let flow = Flow::synced(2_000, 70, now);
            let clip = vp8_frames();
            let mut frames = track(MediaKind::Video, Codec::Vp8, clip[..60].to_vec(), &flow);
            let after = Flow {
                rtp0: Duration::from_secs(restart_at),
                wall0: flow.wall0 + FRAME * 60,
                recv0: now + FRAME * 60,
                sr_after: 0,
            };
            frames.extend(track(
                MediaKind::Video,
                Codec::Vp8,
                clip[60..120].to_vec(),
                &after,
            ));
            frames.extend(track(MediaKind::Audio, Codec::Opus, opus(200), &flow));
            let path = tmp(&format!("restart-{name}.webm"));
            let s = record(&path, Container::WebM, frames);
            let (v, a) = (s.video.unwrap(), s.audio.unwrap());
            assert_eq!((v.frames, v.restarted, v.late), (120, 1, 0), "{name}");
            assert_eq!((a.frames, a.restarted), (200, 0), "{name}");
            let spans = [v.duration, a.duration].map(|d| d.as_secs_f64());
            assert!(
                (spans[0] - 4.0).abs() < 0.05 && (spans[1] - 4.0).abs() < 0.05,
                "{name}: video {:.3} s, audio {:.3} s",
                spans[0],
                spans[1]
            );
            if tool("ffprobe") {
                let p = Probe::of(&path);
                let (start, end) = p.span("vp8");
                assert!(
                    start == 0.0 && (end - 4.0).abs() < 0.05,
                    "{name}: vp8 {start}..{end}"
                );
            }
            let _ = std::fs::remove_file(&path);
        }
    }

    /// Held frames are bounded by bytes too: large audio frames while the video
    /// waits for its keyframe start the recording at `START_BYTES`, long
    /// before `START_FRAMES` or `START_WAIT`.
    #[test]
    fn held_frames_are_bounded_by_bytes() {
        let now = Instant::now();
        let path = tmp("held-bytes.mkv");
        let mut rec = audio_and_video(&path, Container::Matroska);
        let big = Bytes::from(vec![0xf8u8; 1 << 20]);
        let mut pushed = 0;
        while !rec.started {
            let at = PACKET * pushed;
            let f = MediaFrame {
                codec: Codec::Opus,
                pts: Duration::from_secs(3) + at,
                keyframe: None,
                sender_time: None,
                received: now + at,
                data: big.clone(),
            };
            rec.push(MediaKind::Audio, f).unwrap();
            pushed += 1;
            assert!(pushed <= 64, "not started after {pushed} MiB held");
        }
        assert_eq!(pushed as usize, START_BYTES >> 20);
        drop(rec);
        let _ = std::fs::remove_file(&path);
    }

    /// A VP8 keyframe that says 0x0 (containers refuse a size of 0): the
    /// WebM recording goes on with the stand-in size.
    #[test]
    fn a_keyframe_of_size_zero_does_not_end_the_recording() {
        let now = Instant::now();
        let flow = Flow::synced(1, 1, now);
        let mut frames = vp8_frames();
        let mut key = frames[0].to_vec();
        // After the 3-byte frame tag and the 3-byte start code: 14-bit width,
        // 14-bit height (and their scaling bits).
        key[6..10].fill(0);
        frames[0] = Bytes::from(key);
        assert_eq!(video_dimensions(Codec::Vp8, &frames[0]), None);
        let path = tmp("zero-size.webm");
        let s = record(
            &path,
            Container::WebM,
            track(MediaKind::Video, Codec::Vp8, frames, &flow),
        );
        assert_eq!(s.video.unwrap().frames, 150);
        let _ = std::fs::remove_file(&path);
    }

    /// Video alone (no audio track announced) into WebM and Matroska: one stream,
    /// from 0, all frames; sender reports for one track only do not matter.
    #[test]
    fn video_alone() {
        let now = Instant::now();
        let flow = Flow {
            sr_after: 30,
            ..Flow::synced(40, 9, now)
        };
        for (container, ext) in [(Container::WebM, "webm"), (Container::Matroska, "mkv")] {
            let path = tmp(&format!("video-alone.{ext}"));
            let s = record(
                &path,
                container,
                track(MediaKind::Video, Codec::Vp8, vp8_frames(), &flow),
            );
            assert_eq!(s.audio, None);
            assert_eq!(s.sync, "one track");
            let v = s.video.unwrap();
            assert_eq!((v.frames, v.start, v.skipped), (150, Duration::ZERO, 0));
            if tool("ffprobe") {
                let p = Probe::of(&path);
                assert_eq!(p.streams.len(), 1);
                assert_eq!(p.stream("vp8").1.len(), 150);
                assert_eq!(p.span("vp8").0, 0.0);
            }
            let _ = std::fs::remove_file(&path);
        }
    }

    /// libwebm refuses AV1 without av1C: an AV1 keyframe without a sequence header
    /// asked into WebM is written as Matroska instead of failing.
    #[test]
    fn av1_without_sequence_header_goes_to_matroska() {
        let now = Instant::now();
        let flow = Flow::synced(0, 9, now);
        // A frame OBU only (type 6, with a size), marked as a keyframe.
        let frames = vec![Bytes::from_static(&[0x32, 0x02, 0x10, 0x00]); 10];
        let mut frames = track(MediaKind::Video, Codec::Av1, frames, &flow);
        for (_, f) in &mut frames {
            f.keyframe = Some(true);
        }
        let path = tmp("av1-bare.webm");
        let s = record(&path, Container::WebM, frames);
        assert_eq!(s.format, "Matroska");
        assert_eq!(s.video.unwrap().frames, 10);
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.windows(8).any(|w| w == b"matroska"));
        assert!(bytes.windows(5).any(|w| w == b"V_AV1"));
        let _ = std::fs::remove_file(&path);
    }

    /// The engine end to end: a service sends `codec` video (ffmpeg's; H.264 in
    /// Annex B) and Opus over real UDP on 127.0.0.1 to another, whose tracks go
    /// through `receive`'s forwarders and recorder task into `ext`, which ffprobe
    /// decodes: every video frame, both streams from 0 to 2 s.
    async fn engine_into(codec: Codec, ext: &str, probe_name: &str, format: &str) {
        use crate::receive::{forward, record_av, Stats};
        use proxy_core::{LocalTrack, ProxyMessage};
        use proxy_tokio::{ServiceConfig, ServiceEvent};
        use std::sync::Arc;

        if !tool("ffmpeg") || !tool("ffprobe") {
            return;
        }
        // One at a time, encoded beforehand: the engine's sender reports map each
        // track's RTP time to the wall clock when its first frame was written, so a
        // write held up by a busy machine shows as an offset between the tracks.
        static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one = ONE_AT_A_TIME.lock().await;
        let video: Vec<Bytes> = if codec == Codec::Vp8 {
            vp8_frames().into_iter().take(60).collect()
        } else {
            encoded(codec, 60)
        };
        const A: &str = "a@rec.test/1";
        const B: &str = "b@rec.test/1";
        let config = |jid: &str, seed| {
            ServiceConfig::loopback(proxy_core::Config {
                local_jid: Some(jid.to_owned()),
                seed,
                ..proxy_core::Config::default()
            })
        };
        let (sender, mut sender_events, mut a_signals) =
            crate::peer::bind(config(A, 1)).await.unwrap();
        let (receiver, mut receiver_events, mut b_signals) =
            crate::peer::bind(config(B, 2)).await.unwrap();
        let (to_b, to_a) = (receiver.message_sender(), sender.message_sender());
        tokio::spawn(async move {
            while let Some(s) = a_signals.next().await {
                let m = ProxyMessage {
                    from: A.to_owned(),
                    iq: s.iq,
                };
                if to_b.process_message(m).await.is_err() {
                    break;
                }
            }
        });
        tokio::spawn(async move {
            while let Some(s) = b_signals.next().await {
                let m = ProxyMessage {
                    from: B.to_owned(),
                    iq: s.iq,
                };
                if to_a.process_message(m).await.is_err() {
                    break;
                }
            }
        });
        let path = tmp(&format!("engine-{probe_name}.{ext}"));
        let rec = AvRecorder::create(&path, Container::for_path(&path).unwrap()).unwrap();
        let (tx, rx) = tokio::sync::mpsc::channel(crate::receive::AV_QUEUE);
        let task = tokio::spawn(record_av(rx, rec, Arc::new(Stats::default())));
        let receiving = tokio::spawn(async move {
            while let Some(event) = receiver_events.next().await {
                match event {
                    ServiceEvent::RemoteTrack { track, frames } => {
                        tokio::spawn(forward(frames, track.kind, tx.clone()));
                    }
                    ServiceEvent::ConnectionClosed { .. } => break,
                    _ => {}
                }
            }
        });
        let writers = sender
            .start(
                B,
                &[LocalTrack::audio(), LocalTrack::desktop().with_codec(codec)],
            )
            .await
            .unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(20), sender_events.next()).await {
                Ok(Some(ServiceEvent::Connected { .. })) => break,
                Ok(Some(ServiceEvent::ConnectionClosed { reason, .. })) => {
                    panic!("closed: {reason}")
                }
                Ok(Some(_)) => {}
                other => panic!("not connected: {other:?}"),
            }
        }
        let start = tokio::time::Instant::now();
        // 2 s: 60 video frames at 30 fps, 100 Opus packets at 50 per second.
        let mut events: Vec<(Duration, usize, Bytes)> = video
            .into_iter()
            .enumerate()
            .map(|(i, f)| (FRAME * i as u32, 1, f))
            .chain((0..100).map(|i| (PACKET * i, 0, Bytes::from_static(&[0xf8]))))
            .collect();
        events.sort_by_key(|e| e.0);
        for (at, track, data) in events {
            tokio::time::sleep_until(start + at).await;
            writers[track].write_frame(at, data).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        sender.stop().await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), receiving)
            .await
            .unwrap()
            .unwrap();
        drop(receiver);
        let summary = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        eprintln!(
            "MEASURE engine {probe_name} .{ext}: {} ({}, {})",
            summary.describe(),
            summary.format,
            summary.sync
        );
        assert_eq!(summary.format, format);
        let v = summary.video.clone().unwrap();
        let a = summary.audio.clone().unwrap();
        assert_eq!(v.codec, codec);
        // Every frame from the first keyframe (the first frame) on.
        assert_eq!(v.frames, 60, "{}", summary.describe());
        assert!(a.frames >= 95, "{}", summary.describe());
        let p = Probe::of(&path);
        let (vs, vp) = p.stream(probe_name);
        assert_eq!(
            (vs["width"].as_u64(), vs["height"].as_u64()),
            (Some(320), Some(180))
        );
        assert_eq!(vs["nb_read_frames"].as_str(), Some("60"));
        assert_eq!(vp.len(), 60);
        let (v0, v1) = p.span(probe_name);
        let (a0, a1) = p.span("opus");
        eprintln!("MEASURE engine {probe_name} spans: video {v0}..{v1}, audio {a0}..{a1}");
        assert_eq!(v0, 0.0);
        // Sent together: the audio starts with the video (a write held up by the
        // machine moves it, see above) and both last the 2 s sent.
        assert!(a0 < 0.1, "audio from {a0}");
        assert!((v1 - 2.0).abs() < 0.05, "video to {v1}");
        assert!((a1 - a0 - 2.0).abs() < 0.05, "audio {a0}..{a1}");
        // Each stream's DURATION tag: its span as the recorder counted it, and
        // for the audio its packets' span.
        let (as_, _) = p.stream("opus");
        let (vt, at) = (tag_duration(vs), tag_duration(as_));
        eprintln!("MEASURE engine {probe_name} DURATION tags: video {vt}, audio {at}");
        assert!(
            (vt - v.duration.as_secs_f64()).abs() < 0.001,
            "video tag {vt}"
        );
        assert!(
            (at - a.duration.as_secs_f64()).abs() < 0.001,
            "audio tag {at}"
        );
        assert!(
            (at - (a1 - a0)).abs() < 0.001,
            "audio tag {at}, packets {a0}..{a1}"
        );
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn engine_vp8_and_opus_into_webm() {
        engine_into(Codec::Vp8, "webm", "vp8", "WebM").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn engine_vp9_and_opus_into_webm() {
        engine_into(Codec::Vp9, "webm", "vp9", "WebM").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn engine_av1_and_opus_into_webm() {
        engine_into(Codec::Av1, "webm", "av1", "WebM").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn engine_h264_and_opus_into_matroska() {
        engine_into(Codec::H264, "mkv", "h264", "Matroska").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn engine_h264_asked_into_webm_is_matroska() {
        engine_into(Codec::H264, "webm", "h264", "Matroska").await;
    }

    /// The second track's announcement may come after the first track's first
    /// frames (two events, a forwarder already running): it is still recorded.
    #[test]
    fn a_track_announced_just_after_the_others_frames_is_recorded() {
        let now = Instant::now();
        let flow = Flow::synced(2, 9, now);
        let path = tmp("late-announce.webm");
        let mut rec = AvRecorder::create(&path, Container::WebM).unwrap();
        rec.announce(MediaKind::Audio);
        let audio = track(MediaKind::Audio, Codec::Opus, opus(100), &flow);
        let video = track(MediaKind::Video, Codec::Vp8, vp8_frames(), &flow);
        // 400 ms of audio (with sender times) before the video is announced.
        for (kind, f) in audio.iter().take(20).cloned() {
            rec.push(kind, f).unwrap();
        }
        rec.announce(MediaKind::Video);
        let mut rest: Vec<_> = audio.into_iter().skip(20).chain(video).collect();
        rest.sort_by_key(|(_, f)| f.received);
        for (kind, f) in rest {
            rec.push(kind, f).unwrap();
        }
        let s = rec.finish().unwrap();
        assert_eq!(s.video.map(|v| v.frames), Some(150));
        assert_eq!(s.audio.map(|a| (a.frames, a.skipped)), Some((100, 0)));
        let _ = std::fs::remove_file(&path);
    }
}
