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
//! that starts with a video keyframe; every cluster without video) and, in room
//! reserved at the start, a SeekHead pointing to them, so players can seek.

use std::io::{self, Seek, SeekFrom, Write};

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

/// Bytes of the SeekHead written by `finish` (one Seek: Cues, 8-byte position).
const SEEK_HEAD_LEN: usize = 26;

/// The SeekHead pointing to Cues at `position` (in the segment), SEEK_HEAD_LEN bytes.
fn seek_head(position: u64) -> Vec<u8> {
    let mut seek = Vec::new();
    element(&mut seek, 0x53AB, &[0x1C, 0x53, 0xBB, 0x6B]);
    put_id(&mut seek, 0x53AC);
    put_size(&mut seek, 8);
    seek.extend_from_slice(&position.to_be_bytes());
    let mut entry = Vec::new();
    element(&mut entry, 0x4DBB, &seek);
    let mut head = Vec::new();
    element(&mut head, 0x114D_9B74, &entry);
    head
}

/// An element ID (its bytes as written, length marker included).
fn put_id(buf: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    buf.extend_from_slice(&bytes[skip..]);
}

/// A size as an EBML variable-length integer of the fewest bytes.
fn put_size(buf: &mut Vec<u8>, size: u64) {
    let mut len = 1;
    // All ones is reserved ("unknown"), hence the - 1.
    while len < 8 && size >= (1u64 << (7 * len)) - 1 {
        len += 1;
    }
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
        put_id(&mut buf, 0xEC);
        put_size(&mut buf, (SEEK_HEAD_LEN - 2) as u64);
        buf.extend_from_slice(&[0; SEEK_HEAD_LEN - 2]);

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
            uint(&mut e, 0x73C5, 0x5052_4F58_0000 + number);
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

    /// Writes the last cluster, the Duration (`duration_ns`) and the Segment's
    /// size; returns the output.
    pub fn finish(mut self, duration_ns: u64) -> io::Result<W> {
        self.flush_cluster()?;
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
            let cues_at = self.out.stream_position()? - self.segment_start;
            let mut cues = Vec::new();
            element(&mut cues, 0x1C53_BB6B, &points);
            self.out.write_all(&cues)?;
            let head = seek_head(cues_at);
            debug_assert_eq!(head.len(), SEEK_HEAD_LEN);
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
        let bytes = w.finish(6_520_000_000).unwrap().into_inner();
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
        // Cues (small: 1-byte sizes) ends the file: CuePoint, CuePoint.
        assert_eq!(usize::from(bytes[cues + 4] & 0x7f), bytes.len() - cues - 5);
        let mut at = cues + 5;
        let mut times = Vec::new();
        while at < bytes.len() {
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
    fn seek_head_size() {
        assert_eq!(seek_head(0).len(), SEEK_HEAD_LEN);
        assert_eq!(seek_head(u64::MAX).len(), SEEK_HEAD_LEN);
    }
}
