//! A small Matroska writer for what libwebm cannot write: H.264 (`V_MPEG4/ISO/AVC`)
//! next to Opus, VP8, VP9 or AV1.
//!
//! Layout: the EBML header (DocType `matroska`), then one Segment holding Info
//! (1 ms timestamps, a Duration patched at the end), Tracks, and Clusters of
//! SimpleBlocks. A cluster is kept in memory and written whole when the next one
//! starts (at a video keyframe a second or more after the cluster's start, or when
//! its relative timestamps would overflow 16 bits), so every element but the
//! Segment has its size up front; the Segment's size and the Duration are patched
//! by [`MatroskaWriter::finish`], which also writes Cues (one point per cluster
//! that starts with a video keyframe; every cluster without video), Tags with
//! each track's duration (a `DURATION` SimpleTag per track, as ffmpeg writes it)
//! and, in room reserved at the start, a SeekHead pointing to both, so players
//! can seek and ffprobe finds the durations.
//!
//! [`add_duration_tags`] patches the same Tags into a file libwebm finished
//! (libwebm writes no tags): appended at the end, with a Seek entry in the room
//! libwebm keeps after its SeekHead (five entries; it uses four: Info, Tracks,
//! the first Cluster, Cues).

use std::io::{self, Read, Seek, SeekFrom, Write};

/// Nanoseconds per Matroska timestamp unit (TimestampScale: 1 ms).
const TIMESTAMP_SCALE: u64 = 1_000_000;
/// A new cluster at a video keyframe once the current one spans this much (ms).
const CLUSTER_AT_KEYFRAME_MS: u64 = 1_000;
/// A new cluster whatever the frame once the current one spans this much (ms):
/// below the 16-bit signed block offset, and cluster memory stays bounded.
const CLUSTER_MAX_MS: u64 = 5_000;
/// A new cluster once the current one holds this many bytes.
const CLUSTER_MAX_BYTES: usize = 8 << 20;

/// One track of a Matroska file.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackSpec {
    /// Matroska CodecID, e.g. `V_MPEG4/ISO/AVC`, `A_OPUS`.
    pub codec_id: &'static str,
    /// CodecPrivate, if the codec has one.
    pub codec_private: Option<Vec<u8>>,
    /// Video size, or audio sampling rate and channels.
    pub media: TrackMedia,
}

/// Video or audio parameters of a [`TrackSpec`].
#[derive(Debug, Clone, PartialEq)]
pub enum TrackMedia {
    /// A video track of this size.
    Video {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// An audio track.
    Audio {
        /// Sampling frequency in Hz.
        rate: f64,
        /// Channel count.
        channels: u32,
        /// Codec delay in nanoseconds (Opus pre-skip), 0 for none.
        codec_delay_ns: u64,
        /// Seek pre-roll in nanoseconds (Opus: 80 ms), 0 for none.
        seek_pre_roll_ns: u64,
    },
}

/// Writes a Matroska file; track numbers are 1.. in the order of the specs.
pub struct MatroskaWriter<W: Write + Seek> {
    out: W,
    /// Offset of the Segment's size field and of its payload.
    segment_size_at: u64,
    segment_start: u64,
    /// Offset of the Duration float.
    duration_at: u64,
    /// Offset of the room (a Void element) kept for the SeekHead.
    seek_head_at: u64,
    video_tracks: Vec<bool>,
    cluster: Vec<u8>,
    cluster_ts: Option<u64>,
    /// The cue of the cluster being filled: (time in ms, track).
    cluster_cue: Option<(u64, u64)>,
    /// (time in ms, track, cluster offset in the segment) of each cue point.
    cues: Vec<(u64, u64, u64)>,
    last_ts: u64,
}

/// Bytes kept at the start of the Segment for the SeekHead written by `finish`:
/// two Seek entries (Cues, Tags) of at most [`SEEK_ENTRY_MAX`] bytes, and the
/// SeekHead's 4-byte ID and 1-byte size.
const SEEK_HEAD_LEN: usize = 5 + 2 * SEEK_ENTRY_MAX;
/// Bytes of a Seek entry with a 4-byte SeekID and an 8-byte SeekPosition.
const SEEK_ENTRY_MAX: usize = 21;

/// Element IDs used by the SeekHead and the Tags.
const ID_SEEK_HEAD: u32 = 0x114D_9B74;
const ID_CUES: u32 = 0x1C53_BB6B;
const ID_TAGS: u32 = 0x1254_C367;
const ID_VOID: u32 = 0xEC;

/// A SeekHead with `entries` (element ID, position in the segment; 8-byte
/// positions) followed by a Void, `room` bytes in all; None if they do not fit.
fn seek_head(entries: &[(u32, u64)], room: usize) -> Option<Vec<u8>> {
    let mut payload = Vec::new();
    for &(id, position) in entries {
        let mut seek = Vec::new();
        let mut id_bytes = Vec::new();
        put_id(&mut id_bytes, id);
        element(&mut seek, 0x53AB, &id_bytes);
        put_id(&mut seek, 0x53AC);
        put_size(&mut seek, 8);
        seek.extend_from_slice(&position.to_be_bytes());
        element(&mut payload, 0x4DBB, &seek);
    }
    let mut head = Vec::new();
    element(&mut head, ID_SEEK_HEAD, &payload);
    if room.checked_sub(head.len()) == Some(1) {
        // No Void fits in one byte: a size field one byte longer instead.
        head.clear();
        put_id(&mut head, ID_SEEK_HEAD);
        let len = size_len(payload.len() as u64) + 1;
        put_size_len(&mut head, payload.len() as u64, len)?;
        head.extend_from_slice(&payload);
    }
    let left = room.checked_sub(head.len())?;
    if left > 0 {
        head.extend_from_slice(&void(left)?);
    }
    Some(head)
}

/// A Void element of exactly `len` bytes (at least 2).
fn void(len: usize) -> Option<Vec<u8>> {
    for size_bytes in 1..=8usize {
        let Some(payload) = len.checked_sub(1 + size_bytes) else {
            break;
        };
        let mut v = Vec::with_capacity(len);
        put_id(&mut v, ID_VOID);
        if put_size_len(&mut v, payload as u64, size_bytes).is_some() {
            v.resize(len, 0);
            return Some(v);
        }
    }
    None
}

/// Bytes of the shortest size field for `size`.
fn size_len(size: u64) -> usize {
    let mut len = 1;
    // All ones is reserved ("unknown"), hence the - 1.
    while len < 8 && size >= (1u64 << (7 * len)) - 1 {
        len += 1;
    }
    len
}

/// A size field of `len` bytes (1 to 8); None if `size` does not fit.
fn put_size_len(buf: &mut Vec<u8>, size: u64, len: usize) -> Option<()> {
    if !(1..=8).contains(&len) || size >= (1u64 << (7 * len)) - 1 {
        return None;
    }
    let marked = size | (1u64 << (7 * len));
    buf.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
    Some(())
}

/// The TrackUID this writer gives track `number`.
fn track_uid(number: u64) -> u64 {
    0x5052_4F58_0000 + number
}

/// `HH:MM:SS.nnnnnnnnn`, as ffmpeg writes a stream's DURATION tag.
pub fn duration_tag(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    format!(
        "{:02}:{:02}:{:02}.{:09}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        ns % 1_000_000_000
    )
}

/// A Tags element with, per (TrackUID, nanoseconds), a Tag targeting the track
/// with a DURATION SimpleTag (what ffprobe shows as a stream's `TAG:DURATION`).
pub fn duration_tags(tracks: &[(u64, u64)]) -> Vec<u8> {
    let mut tags = Vec::new();
    for &(uid, ns) in tracks {
        let mut targets = Vec::new();
        uint(&mut targets, 0x63C5, uid);
        let mut simple = Vec::new();
        string(&mut simple, 0x45A3, "DURATION");
        string(&mut simple, 0x4487, &duration_tag(ns));
        let mut tag = Vec::new();
        element(&mut tag, 0x63C0, &targets);
        element(&mut tag, 0x67C8, &simple);
        element(&mut tags, 0x7373, &tag);
    }
    let mut out = Vec::new();
    element(&mut out, ID_TAGS, &tags);
    out
}

/// An element ID (its bytes as written, length marker included).
fn put_id(buf: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    buf.extend_from_slice(&bytes[skip..]);
}

/// A size as an EBML variable-length integer of the fewest bytes.
fn put_size(buf: &mut Vec<u8>, size: u64) {
    let len = size_len(size);
    let marked = size | (1u64 << (7 * len));
    buf.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

fn element(buf: &mut Vec<u8>, id: u32, payload: &[u8]) {
    put_id(buf, id);
    put_size(buf, payload.len() as u64);
    buf.extend_from_slice(payload);
}

fn uint(buf: &mut Vec<u8>, id: u32, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    element(buf, id, &bytes[skip..]);
}

fn float(buf: &mut Vec<u8>, id: u32, v: f64) {
    element(buf, id, &v.to_be_bytes());
}

fn string(buf: &mut Vec<u8>, id: u32, s: &str) {
    element(buf, id, s.as_bytes());
}

/// Bytes read from the start of a file to find its SeekHead and Tracks.
const HEAD_MAX: u64 = 1 << 20;

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

/// An element ID at `buf[at..]`: (ID, its length).
fn read_id(buf: &[u8], at: usize) -> Option<(u32, usize)> {
    let len = buf.get(at)?.leading_zeros() as usize + 1;
    if len > 4 {
        return None;
    }
    let bytes = buf.get(at..at + len)?;
    Some((bytes.iter().fold(0, |v, b| v << 8 | u32::from(*b)), len))
}

/// A known element size at `buf[at..]`: (size, its length).
fn read_size(buf: &[u8], at: usize) -> Option<(u64, usize)> {
    let first = *buf.get(at)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let bytes = buf.get(at..at + len)?;
    let v = bytes[1..]
        .iter()
        .fold(u64::from(first) & (0xFF >> len), |v, b| {
            v << 8 | u64::from(*b)
        });
    (v != (1u64 << (7 * len)) - 1).then_some((v, len))
}

/// The element at `buf[at..]`: (ID, payload start, payload end), its payload
/// within `buf[..end]`.
fn read_element(buf: &[u8], at: usize, end: usize) -> Option<(u32, usize, usize)> {
    let (id, id_len) = read_id(buf, at)?;
    let (size, size_len) = read_size(buf, at + id_len)?;
    let start = at + id_len + size_len;
    let stop = start.checked_add(usize::try_from(size).ok()?)?;
    (stop <= end.min(buf.len())).then_some((id, start, stop))
}

/// The children of the element payload `buf[start..end]`: (ID, start, end).
fn children(buf: &[u8], start: usize, end: usize) -> Vec<(u32, usize, usize)> {
    let mut out = Vec::new();
    let mut at = start;
    while at < end {
        let Some(e) = read_element(buf, at, end) else {
            break;
        };
        at = e.2;
        out.push(e);
    }
    out
}

fn read_uint(bytes: &[u8]) -> Option<u64> {
    (bytes.len() <= 8).then(|| bytes.iter().fold(0, |v, b| v << 8 | u64::from(*b)))
}

/// Adds per-track durations to a finished Matroska or WebM file laid out as
/// libwebm writes it (a Segment of known size ending the file, starting with a
/// SeekHead and the Void libwebm keeps after it for more entries, then Info and
/// Tracks): appends a Tags element ([`duration_tags`]) for each `(TrackType,
/// nanoseconds)` in `durations` (1 video, 2 audio; the file's first track of
/// that type), puts a Seek entry for it into the SeekHead's room (ffmpeg finds
/// Tags after the clusters only through the SeekHead) and grows the Segment's
/// size. Everything is checked before the first write: on an error the file is
/// as it was.
pub fn add_duration_tags<F: Read + Write + Seek>(
    file: &mut F,
    durations: &[(u64, u64)],
) -> io::Result<()> {
    let file_len = file.seek(SeekFrom::End(0))?;
    let mut buf = vec![0; usize::try_from(file_len.min(HEAD_MAX)).unwrap_or(0)];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut buf)?;
    let n = buf.len();
    let Some((0x1A45_DFA3, _, header_end)) = read_element(&buf, 0, n) else {
        return Err(invalid("no EBML header".into()));
    };
    let segment_at = header_end;
    let (Some((0x1853_8067, id_len)), Some((size, size_len))) =
        (read_id(&buf, segment_at), read_size(&buf, segment_at + 4))
    else {
        return Err(invalid(
            "no Segment of known size after the EBML header".into(),
        ));
    };
    let size_at = segment_at + id_len;
    let segment_start = (size_at + size_len) as u64;
    if segment_start + size != file_len {
        return Err(invalid(format!(
            "the Segment ends at {} but the file at {file_len}",
            segment_start + size
        )));
    }
    let tags_at = size;
    // The Segment's first children: SeekHead, Void, ..., Tracks (before any Cluster).
    let mut head = None;
    let mut room_end = None;
    let mut tracks = None;
    let mut at = segment_start as usize;
    while let Some((id, start, end)) = read_element(&buf, at, n) {
        match id {
            ID_SEEK_HEAD if head.is_none() && at == segment_start as usize => {
                head = Some((start, end));
                room_end = Some(end);
            }
            ID_VOID if room_end == Some(at) => room_end = Some(end),
            0x1654_AE6B => {
                tracks = Some((start, end));
                break;
            }
            0x1F43_B675 => break,
            _ => {}
        }
        at = end;
    }
    let (Some((head_start, head_end)), Some(room_end)) = (head, room_end) else {
        return Err(invalid("no SeekHead at the Segment's start".into()));
    };
    let Some((tracks_start, tracks_end)) = tracks else {
        return Err(invalid("no Tracks before the clusters".into()));
    };
    let mut entries = Vec::new();
    for (id, start, end) in children(&buf, head_start, head_end) {
        if id != 0x4DBB {
            continue;
        }
        let mut seek_id = None;
        let mut position = None;
        for (cid, cs, ce) in children(&buf, start, end) {
            match cid {
                0x53AB => seek_id = read_uint(&buf[cs..ce]).and_then(|v| u32::try_from(v).ok()),
                0x53AC => position = read_uint(&buf[cs..ce]),
                _ => {}
            }
        }
        if let (Some(i), Some(p)) = (seek_id, position) {
            if i == ID_TAGS {
                return Err(invalid("the file has Tags already".into()));
            }
            entries.push((i, p));
        }
    }
    // TrackType -> TrackUID of the first track of each type.
    let mut uids: Vec<(u64, u64)> = Vec::new();
    for (id, start, end) in children(&buf, tracks_start, tracks_end) {
        if id != 0xAE {
            continue;
        }
        let mut kind = None;
        let mut uid = None;
        for (cid, cs, ce) in children(&buf, start, end) {
            match cid {
                0x83 => kind = read_uint(&buf[cs..ce]),
                0x73C5 => uid = read_uint(&buf[cs..ce]),
                _ => {}
            }
        }
        if let (Some(k), Some(u)) = (kind, uid) {
            if !uids.iter().any(|(t, _)| *t == k) {
                uids.push((k, u));
            }
        }
    }
    let mut tagged = Vec::new();
    for &(kind, ns) in durations {
        let Some(&(_, uid)) = uids.iter().find(|(t, _)| *t == kind) else {
            return Err(invalid(format!("no track of type {kind} in Tracks")));
        };
        tagged.push((uid, ns));
    }
    if tagged.is_empty() {
        return Ok(());
    }
    entries.push((ID_TAGS, tags_at));
    let room = room_end - segment_start as usize;
    let Some(new_head) = seek_head(&entries, room) else {
        return Err(invalid(format!(
            "{} Seek entries do not fit the SeekHead's {room} bytes",
            entries.len()
        )));
    };
    let tags = duration_tags(&tagged);
    let mut new_size = Vec::new();
    put_size_len(&mut new_size, size + tags.len() as u64, size_len)
        .ok_or_else(|| invalid("the Segment's size field is too short".into()))?;
    file.seek(SeekFrom::End(0))?;
    file.write_all(&tags)?;
    file.seek(SeekFrom::Start(segment_start))?;
    file.write_all(&new_head)?;
    file.seek(SeekFrom::Start(size_at as u64))?;
    file.write_all(&new_size)?;
    file.seek(SeekFrom::End(0))?;
    file.flush()
}

impl<W: Write + Seek> MatroskaWriter<W> {
    /// Writes the EBML header, Info and Tracks.
    pub fn new(mut out: W, tracks: &[TrackSpec], app: &str) -> io::Result<MatroskaWriter<W>> {
        if tracks.is_empty() || tracks.len() > 126 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a Matroska file needs 1 to 126 tracks",
            ));
        }
        let start = out.stream_position()?;
        let mut buf = Vec::new();
        let mut ebml = Vec::new();
        uint(&mut ebml, 0x4286, 1);
        uint(&mut ebml, 0x42F7, 1);
        uint(&mut ebml, 0x42F2, 4);
        uint(&mut ebml, 0x42F3, 8);
        string(&mut ebml, 0x4282, "matroska");
        uint(&mut ebml, 0x4287, 4);
        uint(&mut ebml, 0x4285, 2);
        element(&mut buf, 0x1A45_DFA3, &ebml);
        // Segment with an 8-byte size, "unknown" until finish.
        put_id(&mut buf, 0x1853_8067);
        let segment_size_at = start + buf.len() as u64;
        buf.extend_from_slice(&0x01FF_FFFF_FFFF_FFFFu64.to_be_bytes());
        let segment_start = start + buf.len() as u64;
        // Room for the SeekHead: a Void element of the same size.
        let seek_head_at = start + buf.len() as u64;
        buf.extend_from_slice(&void(SEEK_HEAD_LEN).unwrap_or_default());

        let mut info = Vec::new();
        uint(&mut info, 0x2A_D7B1, TIMESTAMP_SCALE);
        string(&mut info, 0x4D80, app);
        string(&mut info, 0x5741, app);
        // Duration last, so that its offset is easy to find.
        put_id(&mut info, 0x4489);
        put_size(&mut info, 8);
        let duration_in_info = info.len();
        info.extend_from_slice(&0f64.to_be_bytes());
        put_id(&mut buf, 0x1549_A966);
        put_size(&mut buf, info.len() as u64);
        let duration_at = start + (buf.len() + duration_in_info) as u64;
        buf.extend_from_slice(&info);

        let mut entries = Vec::new();
        for (i, t) in tracks.iter().enumerate() {
            let number = i as u64 + 1;
            let mut e = Vec::new();
            uint(&mut e, 0xD7, number);
            uint(&mut e, 0x73C5, track_uid(number));
            let video = matches!(t.media, TrackMedia::Video { .. });
            uint(&mut e, 0x83, if video { 1 } else { 2 });
            uint(&mut e, 0x9C, 0);
            string(&mut e, 0x86, t.codec_id);
            if let Some(private) = &t.codec_private {
                element(&mut e, 0x63A2, private);
            }
            match t.media {
                TrackMedia::Video { width, height } => {
                    let mut v = Vec::new();
                    uint(&mut v, 0xB0, width.into());
                    uint(&mut v, 0xBA, height.into());
                    element(&mut e, 0xE0, &v);
                }
                TrackMedia::Audio {
                    rate,
                    channels,
                    codec_delay_ns,
                    seek_pre_roll_ns,
                } => {
                    if codec_delay_ns > 0 {
                        uint(&mut e, 0x56AA, codec_delay_ns);
                    }
                    if seek_pre_roll_ns > 0 {
                        uint(&mut e, 0x56BB, seek_pre_roll_ns);
                    }
                    let mut a = Vec::new();
                    float(&mut a, 0xB5, rate);
                    uint(&mut a, 0x9F, channels.into());
                    element(&mut e, 0xE1, &a);
                }
            }
            element(&mut entries, 0xAE, &e);
        }
        element(&mut buf, 0x1654_AE6B, &entries);
        out.write_all(&buf)?;
        Ok(MatroskaWriter {
            out,
            segment_size_at,
            segment_start,
            seek_head_at,
            duration_at,
            video_tracks: tracks
                .iter()
                .map(|t| matches!(t.media, TrackMedia::Video { .. }))
                .collect(),
            cluster: Vec::new(),
            cluster_ts: None,
            cluster_cue: None,
            cues: Vec::new(),
            last_ts: 0,
        })
    }

    /// Adds a frame of track `track` (1-based) at `ts_ns`; timestamps must not go
    /// back across all tracks.
    pub fn write_frame(
        &mut self,
        track: u64,
        ts_ns: u64,
        data: &[u8],
        keyframe: bool,
    ) -> io::Result<()> {
        let video = match usize::try_from(track).ok().and_then(|t| t.checked_sub(1)) {
            Some(i) if i < self.video_tracks.len() => self.video_tracks[i],
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("no track {track}"),
                ))
            }
        };
        let ts = ts_ns / TIMESTAMP_SCALE;
        if ts < self.last_ts {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("timestamp {ts} ms after {} ms", self.last_ts),
            ));
        }
        self.last_ts = ts;
        let new_cluster = match self.cluster_ts {
            None => true,
            Some(c) => {
                let span = ts - c;
                span >= CLUSTER_MAX_MS
                    || self.cluster.len() >= CLUSTER_MAX_BYTES
                    || (video && keyframe && span >= CLUSTER_AT_KEYFRAME_MS)
            }
        };
        if new_cluster {
            self.flush_cluster()?;
            self.cluster_ts = Some(ts);
            uint(&mut self.cluster, 0xE7, ts);
            let has_video = self.video_tracks.contains(&true);
            self.cluster_cue = ((video && keyframe) || !has_video).then_some((ts, track));
        }
        let relative = (ts - self.cluster_ts.unwrap_or(ts)) as i16;
        let mut block = Vec::with_capacity(data.len() + 4);
        put_size(&mut block, track);
        block.extend_from_slice(&relative.to_be_bytes());
        block.push(if keyframe { 0x80 } else { 0 });
        block.extend_from_slice(data);
        element(&mut self.cluster, 0xA3, &block);
        Ok(())
    }

    fn flush_cluster(&mut self) -> io::Result<()> {
        if self.cluster.is_empty() {
            return Ok(());
        }
        if let Some((ts, track)) = self.cluster_cue.take() {
            let at = self.out.stream_position()? - self.segment_start;
            self.cues.push((ts, track, at));
        }
        let mut head = Vec::new();
        put_id(&mut head, 0x1F43_B675);
        put_size(&mut head, self.cluster.len() as u64);
        self.out.write_all(&head)?;
        self.out.write_all(&self.cluster)?;
        self.cluster.clear();
        self.out.flush()
    }

    /// Writes the last cluster, Cues, Tags with each track's duration (`spans`:
    /// track number and nanoseconds; ffprobe shows them as `TAG:DURATION`), the
    /// SeekHead pointing to both, the Duration (`duration_ns`) and the Segment's
    /// size; returns the output.
    pub fn finish(mut self, duration_ns: u64, spans: &[(u64, u64)]) -> io::Result<W> {
        self.flush_cluster()?;
        let mut entries = Vec::new();
        if !self.cues.is_empty() {
            let mut points = Vec::new();
            for &(ts, track, at) in &self.cues {
                let mut positions = Vec::new();
                uint(&mut positions, 0xF7, track);
                uint(&mut positions, 0xF1, at);
                let mut point = Vec::new();
                uint(&mut point, 0xB3, ts);
                element(&mut point, 0xB7, &positions);
                element(&mut points, 0xBB, &point);
            }
            entries.push((ID_CUES, self.out.stream_position()? - self.segment_start));
            let mut cues = Vec::new();
            element(&mut cues, ID_CUES, &points);
            self.out.write_all(&cues)?;
        }
        let tracks: Vec<(u64, u64)> = spans
            .iter()
            .filter(|(n, _)| (1..=self.video_tracks.len() as u64).contains(n))
            .map(|&(n, ns)| (track_uid(n), ns))
            .collect();
        if !tracks.is_empty() {
            entries.push((ID_TAGS, self.out.stream_position()? - self.segment_start));
            self.out.write_all(&duration_tags(&tracks))?;
        }
        if !entries.is_empty() {
            let head = seek_head(&entries, SEEK_HEAD_LEN)
                .ok_or_else(|| io::Error::other("the SeekHead does not fit its room"))?;
            self.out.seek(SeekFrom::Start(self.seek_head_at))?;
            self.out.write_all(&head)?;
            self.out.seek(SeekFrom::End(0))?;
        }
        let end = self.out.stream_position()?;
        let size = end - self.segment_start;
        self.out.seek(SeekFrom::Start(self.segment_size_at))?;
        self.out
            .write_all(&(size | 0x0100_0000_0000_0000).to_be_bytes())?;
        self.out.seek(SeekFrom::Start(self.duration_at))?;
        let duration = duration_ns as f64 / TIMESTAMP_SCALE as f64;
        self.out.write_all(&duration.to_be_bytes())?;
        self.out.seek(SeekFrom::Start(end))?;
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn vints() {
        let enc = |v: u64| {
            let mut b = Vec::new();
            put_size(&mut b, v);
            b
        };
        assert_eq!(enc(0), [0x80]);
        assert_eq!(enc(126), [0xFE]);
        // 127 is all ones in one byte (reserved): two bytes.
        assert_eq!(enc(127), [0x40, 0x7F]);
        assert_eq!(enc(300), [0x41, 0x2C]);
        let mut b = Vec::new();
        put_id(&mut b, 0x1A45_DFA3);
        put_id(&mut b, 0xA3);
        assert_eq!(b, [0x1A, 0x45, 0xDF, 0xA3, 0xA3]);
    }

    #[test]
    fn clusters_and_patches() {
        let tracks = [
            TrackSpec {
                codec_id: "V_TEST",
                codec_private: None,
                media: TrackMedia::Video {
                    width: 2,
                    height: 2,
                },
            },
            TrackSpec {
                codec_id: "A_TEST",
                codec_private: Some(vec![1, 2, 3]),
                media: TrackMedia::Audio {
                    rate: 48_000.0,
                    channels: 2,
                    codec_delay_ns: 0,
                    seek_pre_roll_ns: 80_000_000,
                },
            },
        ];
        let mut w = MatroskaWriter::new(Cursor::new(Vec::new()), &tracks, "t").unwrap();
        w.write_frame(1, 0, b"k", true).unwrap();
        w.write_frame(2, 10_000_000, b"a", true).unwrap();
        // Going back is refused, an unknown track too.
        assert!(w.write_frame(2, 9_000_000, b"a", true).is_err());
        assert!(w.write_frame(3, 20_000_000, b"a", true).is_err());
        assert!(w.write_frame(0, 20_000_000, b"a", true).is_err());
        // A keyframe 1 s later starts a cluster; 5 s later one starts anyway.
        w.write_frame(1, 1_000_000_000, b"k", true).unwrap();
        w.write_frame(2, 6_500_000_000, b"a", true).unwrap();
        let bytes = w
            .finish(6_520_000_000, &[(1, 1_033_000_000), (2, 6_520_000_000)])
            .unwrap()
            .into_inner();
        let clusters = bytes
            .windows(4)
            .filter(|w| *w == [0x1F, 0x43, 0xB6, 0x75])
            .count();
        assert_eq!(clusters, 3);
        // Segment size patched: it ends at the end of the file.
        let at = bytes
            .windows(4)
            .position(|w| w == [0x18, 0x53, 0x80, 0x67])
            .unwrap();
        let size = u64::from_be_bytes(bytes[at + 4..at + 12].try_into().unwrap());
        assert_eq!(
            size & !0x0100_0000_0000_0000,
            (bytes.len() - at - 12) as u64
        );
        let d = bytes
            .windows(3)
            .position(|w| w == [0x44, 0x89, 0x88])
            .unwrap();
        let duration = f64::from_be_bytes(bytes[d + 3..d + 11].try_into().unwrap());
        assert_eq!(duration, 6520.0);
        // Cues: the clusters starting with a video keyframe (0 and 1000 ms), found
        // through the SeekHead.
        // (The last match: the first is the SeekHead's SeekID.)
        let cues = bytes
            .windows(4)
            .rposition(|w| w == [0x1C, 0x53, 0xBB, 0x6B])
            .unwrap();
        assert_eq!(&bytes[at + 12..at + 16], &[0x11, 0x4D, 0x9B, 0x74]);
        let pos = u64::from_be_bytes(bytes[at + 12 + 18..at + 12 + 26].try_into().unwrap());
        assert_eq!(pos as usize, cues - (at + 12));
        // Cues (small: 1-byte sizes): CuePoint, CuePoint; then Tags end the file,
        // found through the SeekHead's second entry.
        let cues_end = cues + 5 + usize::from(bytes[cues + 4] & 0x7f);
        let tags = duration_tags(&[(track_uid(1), 1_033_000_000), (track_uid(2), 6_520_000_000)]);
        assert_eq!(&bytes[cues_end..], &tags[..]);
        let pos = u64::from_be_bytes(
            bytes[at + 12 + 21 + 18..at + 12 + 21 + 26]
                .try_into()
                .unwrap(),
        );
        assert_eq!(pos as usize, cues_end - (at + 12));
        let mut at = cues + 5;
        let mut times = Vec::new();
        while at < cues_end {
            assert_eq!(bytes[at], 0xBB);
            let len = usize::from(bytes[at + 1] & 0x7f);
            // CueTime first: B3, size 1 or 2, the time.
            let point = &bytes[at + 2..at + 2 + len];
            assert_eq!(point[0], 0xB3);
            let n = usize::from(point[1] & 0x7f);
            times.push(
                point[2..2 + n]
                    .iter()
                    .fold(0u64, |v, b| v << 8 | u64::from(*b)),
            );
            at += 2 + len;
        }
        assert_eq!(times, [0, 1000]);
    }

    #[test]
    fn seek_head_fills_its_room() {
        let two = [(ID_CUES, 0), (ID_TAGS, u64::MAX)];
        assert_eq!(seek_head(&two, SEEK_HEAD_LEN).unwrap().len(), SEEK_HEAD_LEN);
        assert_eq!(
            seek_head(&two[..1], SEEK_HEAD_LEN).unwrap().len(),
            SEEK_HEAD_LEN
        );
        // Exactly the entries; one byte left (no Void that small): a longer size.
        let exact = seek_head(&two, 0).map_or(0, |h| h.len());
        assert_eq!(exact, 0);
        let bare = 5 + 2 * SEEK_ENTRY_MAX;
        assert_eq!(seek_head(&two, bare).unwrap().len(), bare);
        let plus1 = seek_head(&two, bare + 1).unwrap();
        assert_eq!(plus1.len(), bare + 1);
        assert_eq!(read_element(&plus1, 0, plus1.len()).unwrap().2, bare + 1);
        // Too little room: refused.
        assert!(seek_head(&two, bare - 1).is_none());
        // A large Void.
        let big = seek_head(&two, 4000).unwrap();
        assert_eq!(big.len(), 4000);
        let (_, _, head_end) = read_element(&big, 0, big.len()).unwrap();
        assert_eq!(read_element(&big, head_end, big.len()).unwrap().2, 4000);
    }

    #[test]
    fn duration_tag_format() {
        assert_eq!(duration_tag(6_023_000_000), "00:00:06.023000000");
        assert_eq!(duration_tag(3_723_000_000_001), "01:02:03.000000001");
    }

    /// A file laid out as libwebm writes it: SeekHead and Void, Info, Tracks (a
    /// video and an audio track), a Cluster, Cues.
    fn libwebm_like(room: usize) -> Vec<u8> {
        let mut ebml = Vec::new();
        string(&mut ebml, 0x4282, "webm");
        let mut file = Vec::new();
        element(&mut file, 0x1A45_DFA3, &ebml);
        let mut body = Vec::new();
        let mut info = Vec::new();
        uint(&mut info, 0x2A_D7B1, TIMESTAMP_SCALE);
        let mut tracks = Vec::new();
        for (number, kind, uid) in [(1, 1, 0x1111), (2, 2, 0x2222)] {
            let mut e = Vec::new();
            uint(&mut e, 0xD7, number);
            uint(&mut e, 0x73C5, uid);
            uint(&mut e, 0x83, kind);
            element(&mut tracks, 0xAE, &e);
        }
        let mut rest = Vec::new();
        element(&mut rest, 0x1549_A966, &info);
        let tracks_at = rest.len() as u64;
        element(&mut rest, 0x1654_AE6B, &tracks);
        element(&mut rest, 0x1F43_B675, &[0xE7, 0x81, 0x00]);
        let cues_at = rest.len() as u64;
        element(&mut rest, ID_CUES, &[0xBB, 0x80]);
        let r = room as u64;
        let entries = [
            (0x1549_A966, r),
            (0x1654_AE6B, r + tracks_at),
            (ID_CUES, r + cues_at),
        ];
        body.extend_from_slice(&seek_head(&entries, room).unwrap());
        body.extend_from_slice(&rest);
        put_id(&mut file, 0x1853_8067);
        put_size_len(&mut file, body.len() as u64, 8).unwrap();
        file.extend_from_slice(&body);
        file
    }

    #[test]
    fn tags_patched_into_a_finished_file() {
        let before = libwebm_like(110);
        let mut f = Cursor::new(before.clone());
        add_duration_tags(&mut f, &[(1, 5_000_000_000), (2, 4_980_000_000)]).unwrap();
        let after = f.into_inner();
        // Appended, nothing else moved.
        let tags = duration_tags(&[(0x1111, 5_000_000_000), (0x2222, 4_980_000_000)]);
        assert_eq!(after.len(), before.len() + tags.len());
        assert_eq!(&after[before.len()..], &tags[..]);
        let (_, _, header_end) = read_element(&after, 0, after.len()).unwrap();
        let (id, start, end) = read_element(&after, header_end, after.len()).unwrap();
        assert_eq!((id, end), (0x1853_8067, after.len()));
        assert_eq!(&after[start + 110..before.len()], &before[start + 110..]);
        // The SeekHead keeps its entries and points to the Tags; a Void fills the room.
        let (id, hs, he) = read_element(&after, start, end).unwrap();
        assert_eq!(id, ID_SEEK_HEAD);
        let seeks: Vec<(u64, u64)> = children(&after, hs, he)
            .into_iter()
            .map(|(_, s, e)| {
                let c = children(&after, s, e);
                (
                    read_uint(&after[c[0].1..c[0].2]).unwrap(),
                    read_uint(&after[c[1].1..c[1].2]).unwrap(),
                )
            })
            .collect();
        assert_eq!(seeks.len(), 4);
        assert_eq!(
            seeks[3],
            (u64::from(ID_TAGS), (before.len() - start) as u64)
        );
        assert_eq!(
            &after[start + seeks[3].1 as usize..][..4],
            &[0x12, 0x54, 0xC3, 0x67]
        );
        let (id, _, ve) = read_element(&after, he, end).unwrap();
        assert_eq!((id, ve), (ID_VOID, start + 110));
        // A second patch is refused and changes nothing.
        let mut f = Cursor::new(after.clone());
        assert!(add_duration_tags(&mut f, &[(1, 1)]).is_err());
        assert_eq!(f.into_inner(), after);
    }

    #[test]
    fn tags_patch_refuses_what_it_cannot_place() {
        // No room for a fourth entry.
        let tight = libwebm_like(5 + 3 * SEEK_ENTRY_MAX);
        // A track type the file lacks; a file cut short; garbage; an empty file.
        let mut cut = libwebm_like(110);
        cut.truncate(cut.len() - 1);
        for (bytes, durations) in [
            (tight, vec![(1, 1)]),
            (libwebm_like(110), vec![(3, 1)]),
            (cut, vec![(1, 1)]),
            (vec![0xFF; 64], vec![(1, 1)]),
            (Vec::new(), vec![(1, 1)]),
        ] {
            let mut f = Cursor::new(bytes.clone());
            assert!(add_duration_tags(&mut f, &durations).is_err());
            assert_eq!(f.into_inner(), bytes);
        }
        // Nothing to add: unchanged, no error.
        let bytes = libwebm_like(110);
        let mut f = Cursor::new(bytes.clone());
        add_duration_tags(&mut f, &[]).unwrap();
        assert_eq!(f.into_inner(), bytes);
    }
}
