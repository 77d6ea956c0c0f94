//! IVF, the simple container libvpx and ffmpeg use for raw VP8/VP9 frames.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! file header, 32 bytes:
//!   0  "DKIF"         signature
//!   4  u16 version    0
//!   6  u16 hdr_size   32 (bytes of this header)
//!   8  [u8; 4] fourcc "VP80"
//!  12  u16 width, 14 u16 height
//!  16  u32 timebase denominator, 20 u32 timebase numerator  (pts unit = num/den s)
//!  24  u32 frame count, 28 u32 unused
//! then per frame, a 12-byte header and the frame:
//!   0  u32 frame size, 4 u64 pts
//! ```
//!
//! [`IvfReader`] is bounded (frame size limit, header size limit) and reports
//! every malformation as an [`IvfError`]; it never panics on a hostile file.
//! [`IvfWriter`] writes a header with a zero frame count and fixes the count
//! (and, if learned late, the dimensions) in [`IvfWriter::finish`]; to a pipe
//! ([`IvfWriter::stream`]) the count stays 0.
//!
//! ## Timebase of recordings
//!
//! The header's "frame count" field has two readings: libvpx writes the number of
//! frames there, ffmpeg's demuxer reads it as the stream's *duration in timebase
//! units* (its muxer writes `frames * mean pts step`). A received file in the 90 kHz
//! RTP clock with its frame count there showed `Duration: 00:00:00.00` in ffprobe
//! (150 frames = 150/90000 s). Both readings agree only when one timebase unit is one
//! frame, so [`IvfWriter::finish_at_frame_rate`] (what `proxy-connection` uses)
//! records in the 90 kHz RTP clock from pts 0 (the exact RTP times, what a reader
//! following the file or the `--out -` stream sees) and, when the file is finished,
//! sets the timebase to the mean frame interval ([`frame_rate_timebase`]) and
//! rewrites each frame's pts as its index: the frame count is the number of frames
//! and ffprobe's duration is `frames x interval`, the recorded span plus one frame.
//! A clip sent at 30 fps comes back with timebase 1/30 and pts 0, 1, 2 ... exactly
//! (the times it had); a browser's irregular capture is evened out over its span
//! (whole pts in a one-frame unit, increasing, from 0 to `frames - 1`, leave no other
//! choice). Rounding each time to the nearest unit instead pushed colliding frames
//! past the end: 93 frames of a browser share ended at pts 95 while ffprobe's
//! duration said 93.

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::time::Duration;

use bytes::Bytes;

/// Size of the IVF file header.
pub const FILE_HEADER_LEN: usize = 32;
/// Size of each frame header.
pub const FRAME_HEADER_LEN: usize = 12;
/// Default largest frame the reader accepts (VP8 frames are far smaller).
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 4 * 1024 * 1024;
/// Largest file header size field accepted (extra bytes after 32 are skipped).
const MAX_HEADER_LEN: u16 = 1024;
/// The four-character code of VP8.
pub const FOURCC_VP8: [u8; 4] = *b"VP80";

/// The IVF four-character code of a video codec: `VP80`, `VP90`, `AV01`, and `H264`
/// (Annex B; ffmpeg reads it, libvpx tools do not); `None` for audio.
pub fn fourcc_of(codec: proxy_core::Codec) -> Option<[u8; 4]> {
    match codec {
        proxy_core::Codec::Vp8 => Some(FOURCC_VP8),
        proxy_core::Codec::Vp9 => Some(*b"VP90"),
        proxy_core::Codec::Av1 => Some(*b"AV01"),
        proxy_core::Codec::H264 => Some(*b"H264"),
        _ => None,
    }
}

/// Why an IVF file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IvfError {
    /// The file does not start with the `DKIF` signature.
    #[error("not an IVF file (no DKIF signature)")]
    NotIvf,
    /// The header size field is out of range.
    #[error("invalid IVF header size {0} (expected 32..=1024)")]
    BadHeaderSize(u16),
    /// The timebase has a zero numerator or denominator.
    #[error("invalid IVF timebase {num}/{den}")]
    BadTimebase {
        /// Numerator.
        num: u32,
        /// Denominator.
        den: u32,
    },
    /// The file ends inside a header or a frame.
    #[error("IVF file truncated in {what} at byte {at}")]
    Truncated {
        /// What was being read: `file header`, `frame header` or `frame`.
        what: &'static str,
        /// Byte offset where the cut part starts.
        at: u64,
    },
    /// A frame header announces more bytes than the limit.
    #[error("IVF frame {index} is {size} bytes, limit is {limit}")]
    FrameTooLarge {
        /// Index of the frame in the file.
        index: u64,
        /// Announced size.
        size: u32,
        /// The reader's limit.
        limit: u32,
    },
    /// Reading failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// The IVF file header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfHeader {
    /// Codec four-character code, e.g. `VP80`.
    pub fourcc: [u8; 4],
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// Timebase denominator (pts unit is `timebase_num / timebase_den` seconds).
    pub timebase_den: u32,
    /// Timebase numerator.
    pub timebase_num: u32,
    /// Number of frames as the header states it (writers may leave 0).
    pub frame_count: u32,
}

impl IvfHeader {
    /// A VP8 header with a `1/den` timebase and no frames counted yet.
    pub fn vp8(width: u16, height: u16, timebase_den: u32) -> IvfHeader {
        IvfHeader {
            fourcc: FOURCC_VP8,
            width,
            height,
            timebase_den,
            timebase_num: 1,
            frame_count: 0,
        }
    }

    /// The fourcc as text (lossy), for messages.
    pub fn fourcc_str(&self) -> String {
        String::from_utf8_lossy(&self.fourcc).into_owned()
    }

    /// The codec the file claims to hold: VP8, VP9 or AV1 (fourcc `VP80`, `VP90`,
    /// `AV01`); `None` for any other fourcc.
    pub fn codec(&self) -> Option<proxy_core::Codec> {
        match &self.fourcc {
            b"VP80" => Some(proxy_core::Codec::Vp8),
            b"VP90" => Some(proxy_core::Codec::Vp9),
            b"AV01" => Some(proxy_core::Codec::Av1),
            _ => None,
        }
    }

    /// Converts a pts in this file's timebase to a duration (saturating).
    pub fn pts_to_duration(&self, pts: u64) -> Duration {
        let num = u128::from(self.timebase_num);
        let den = u128::from(self.timebase_den.max(1));
        let nanos = u128::from(pts)
            .saturating_mul(num)
            .saturating_mul(1_000_000_000)
            / den;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Converts a duration to a pts in this file's timebase (rounded to nearest,
    /// saturating).
    pub fn duration_to_pts(&self, d: Duration) -> u64 {
        let unit = u128::from(self.timebase_num.max(1)).saturating_mul(1_000_000_000);
        let den = u128::from(self.timebase_den);
        let pts = d.as_nanos().saturating_mul(den).saturating_add(unit / 2) / unit;
        u64::try_from(pts).unwrap_or(u64::MAX)
    }

    /// Encodes the header (32 bytes).
    pub fn to_bytes(self) -> [u8; FILE_HEADER_LEN] {
        let mut b = [0u8; FILE_HEADER_LEN];
        b[0..4].copy_from_slice(b"DKIF");
        b[4..6].copy_from_slice(&0u16.to_le_bytes());
        b[6..8].copy_from_slice(&(FILE_HEADER_LEN as u16).to_le_bytes());
        b[8..12].copy_from_slice(&self.fourcc);
        b[12..14].copy_from_slice(&self.width.to_le_bytes());
        b[14..16].copy_from_slice(&self.height.to_le_bytes());
        b[16..20].copy_from_slice(&self.timebase_den.to_le_bytes());
        b[20..24].copy_from_slice(&self.timebase_num.to_le_bytes());
        b[24..28].copy_from_slice(&self.frame_count.to_le_bytes());
        b
    }

    /// Decodes a 32-byte header.
    pub fn from_bytes(b: &[u8; FILE_HEADER_LEN]) -> Result<IvfHeader, IvfError> {
        if &b[0..4] != b"DKIF" {
            return Err(IvfError::NotIvf);
        }
        let header_len = u16::from_le_bytes([b[6], b[7]]);
        if !(FILE_HEADER_LEN as u16..=MAX_HEADER_LEN).contains(&header_len) {
            return Err(IvfError::BadHeaderSize(header_len));
        }
        let header = IvfHeader {
            fourcc: [b[8], b[9], b[10], b[11]],
            width: u16::from_le_bytes([b[12], b[13]]),
            height: u16::from_le_bytes([b[14], b[15]]),
            timebase_den: u32::from_le_bytes([b[16], b[17], b[18], b[19]]),
            timebase_num: u32::from_le_bytes([b[20], b[21], b[22], b[23]]),
            frame_count: u32::from_le_bytes([b[24], b[25], b[26], b[27]]),
        };
        if header.timebase_den == 0 || header.timebase_num == 0 {
            return Err(IvfError::BadTimebase {
                num: header.timebase_num,
                den: header.timebase_den,
            });
        }
        Ok(header)
    }
}

/// One frame of an IVF file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfFrame {
    /// Presentation time in the file's timebase.
    pub pts: u64,
    /// The encoded frame.
    pub data: Bytes,
}

/// Reads an IVF file frame by frame.
#[derive(Debug)]
pub struct IvfReader<R> {
    inner: R,
    header: IvfHeader,
    max_frame_size: u32,
    offset: u64,
    index: u64,
    done: bool,
}

impl<R: Read> IvfReader<R> {
    /// Reads the file header, with the default frame size limit.
    pub fn new(inner: R) -> Result<IvfReader<R>, IvfError> {
        IvfReader::with_limit(inner, DEFAULT_MAX_FRAME_SIZE)
    }

    /// Reads the file header; frames larger than `max_frame_size` are refused.
    pub fn with_limit(mut inner: R, max_frame_size: u32) -> Result<IvfReader<R>, IvfError> {
        let mut b = [0u8; FILE_HEADER_LEN];
        let got = read_full(&mut inner, &mut b)?;
        if got < 4 || (got < FILE_HEADER_LEN && &b[0..4] == b"DKIF") {
            // Too short to tell, or a real IVF signature cut short.
            return Err(if got >= 4 {
                IvfError::Truncated {
                    what: "file header",
                    at: 0,
                }
            } else {
                IvfError::NotIvf
            });
        }
        if got < FILE_HEADER_LEN {
            return Err(IvfError::NotIvf);
        }
        let header = IvfHeader::from_bytes(&b)?;
        let header_len = u16::from_le_bytes([b[6], b[7]]);
        let extra = usize::from(header_len) - FILE_HEADER_LEN; // from_bytes checked >= 32
        if extra > 0 {
            let mut skip = vec![0u8; extra];
            if read_full(&mut inner, &mut skip)? < extra {
                return Err(IvfError::Truncated {
                    what: "file header",
                    at: FILE_HEADER_LEN as u64,
                });
            }
        }
        Ok(IvfReader {
            inner,
            header,
            max_frame_size,
            offset: u64::from(header_len),
            index: 0,
            done: false,
        })
    }

    /// The file header.
    pub fn header(&self) -> &IvfHeader {
        &self.header
    }

    /// The next frame, `None` at a clean end of file. After an error, returns `None`.
    pub fn next_frame(&mut self) -> Result<Option<IvfFrame>, IvfError> {
        if self.done {
            return Ok(None);
        }
        let result = self.read_frame();
        if !matches!(result, Ok(Some(_))) {
            self.done = true;
        }
        result
    }

    fn read_frame(&mut self) -> Result<Option<IvfFrame>, IvfError> {
        let mut h = [0u8; FRAME_HEADER_LEN];
        let got = read_full(&mut self.inner, &mut h)?;
        if got == 0 {
            return Ok(None);
        }
        if got < FRAME_HEADER_LEN {
            return Err(IvfError::Truncated {
                what: "frame header",
                at: self.offset,
            });
        }
        let size = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
        let pts = u64::from_le_bytes([h[4], h[5], h[6], h[7], h[8], h[9], h[10], h[11]]);
        if size > self.max_frame_size {
            return Err(IvfError::FrameTooLarge {
                index: self.index,
                size,
                limit: self.max_frame_size,
            });
        }
        let data_at = self.offset + FRAME_HEADER_LEN as u64;
        // Read through `take` so a lying size cannot make us allocate more than the file has.
        let mut data = Vec::new();
        let got = (&mut self.inner)
            .take(u64::from(size))
            .read_to_end(&mut data)?;
        if got < size as usize {
            return Err(IvfError::Truncated {
                what: "frame",
                at: data_at,
            });
        }
        self.offset = data_at + u64::from(size);
        self.index += 1;
        Ok(Some(IvfFrame {
            pts,
            data: Bytes::from(data),
        }))
    }

    /// Reads all remaining frames.
    pub fn read_all(&mut self) -> Result<Vec<IvfFrame>, IvfError> {
        let mut frames = Vec::new();
        while let Some(frame) = self.next_frame()? {
            frames.push(frame);
        }
        Ok(frames)
    }
}

impl<R: Read> Iterator for IvfReader<R> {
    type Item = Result<IvfFrame, IvfError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_frame().transpose()
    }
}

/// Reads into `buf` until it is full or the reader ends; returns how much was read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        // `filled < buf.len()` so the range is in bounds.
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Writes an IVF file or stream.
///
/// Any `Write` can take frames (a pipe, stdout); finishing, which rewrites the
/// header (and, for [`finish_at_frame_rate`](Self::finish_at_frame_rate), the
/// timestamps), needs `Seek`.
#[derive(Debug)]
pub struct IvfWriter<W: Write> {
    inner: W,
    header: IvfHeader,
    frames: u32,
    /// Bytes written so far.
    pos: u64,
    /// Per frame: offset of its 12-byte header and its pts (kept for files only).
    index: Option<Vec<(u64, u64)>>,
}

impl<W: Write> IvfWriter<W> {
    /// Writes `header` (its frame count is ignored and fixed by [`finish`](Self::finish)).
    pub fn new(inner: W, header: IvfHeader) -> io::Result<IvfWriter<W>> {
        IvfWriter::start(inner, header, true)
    }

    /// Writes `header` with a zero frame count to a stream that will not be
    /// finished (e.g. a pipe): no per-frame index is kept.
    pub fn stream(inner: W, header: IvfHeader) -> io::Result<IvfWriter<W>> {
        IvfWriter::start(inner, header, false)
    }

    fn start(mut inner: W, header: IvfHeader, keep_index: bool) -> io::Result<IvfWriter<W>> {
        let mut h = header;
        h.frame_count = 0;
        inner.write_all(&h.to_bytes())?;
        Ok(IvfWriter {
            inner,
            header: h,
            frames: 0,
            pos: FILE_HEADER_LEN as u64,
            index: keep_index.then(Vec::new),
        })
    }

    /// Appends one frame.
    pub fn write_frame(&mut self, pts: u64, data: &[u8]) -> io::Result<()> {
        let size = u32::try_from(data.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame larger than 4 GiB"))?;
        let mut h = [0u8; FRAME_HEADER_LEN];
        h[0..4].copy_from_slice(&size.to_le_bytes());
        h[4..12].copy_from_slice(&pts.to_le_bytes());
        self.inner.write_all(&h)?;
        self.inner.write_all(data)?;
        if let Some(index) = &mut self.index {
            index.push((self.pos, pts));
        }
        self.pos += (FRAME_HEADER_LEN + data.len()) as u64;
        self.frames = self.frames.saturating_add(1);
        Ok(())
    }

    /// Flushes what was written, so that a reader following the file sees whole frames.
    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }

    /// Sets the codec written by [`finish`](Self::finish) (learned from the first
    /// frame).
    pub fn set_fourcc(&mut self, fourcc: [u8; 4]) {
        self.header.fourcc = fourcc;
    }

    /// Sets the dimensions written by [`finish`](Self::finish) (e.g. learned from the
    /// first keyframe).
    pub fn set_dimensions(&mut self, width: u16, height: u16) {
        self.header.width = width;
        self.header.height = height;
    }

    /// The header as it will be finalized.
    pub fn header(&self) -> IvfHeader {
        IvfHeader {
            frame_count: self.frames,
            ..self.header
        }
    }

    /// Frames written so far.
    pub fn frames(&self) -> u32 {
        self.frames
    }
}

impl<W: Write + Seek> IvfWriter<W> {
    /// Rewrites the header with the frame count, flushes, and returns the writer.
    // The program records with `finish_at_frame_rate`; the tests write plain files.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn finish(mut self) -> io::Result<W> {
        let header = self.header();
        self.rewrite_header(&header)?;
        Ok(self.inner)
    }

    /// Like [`finish`](Self::finish), but first changes the timebase to the mean
    /// frame interval (see [`frame_rate_timebase`]) and rewrites each frame's pts as
    /// its index, so that the header's frame count is also the duration ffmpeg reads.
    /// Returns the writer and the final header.
    pub fn finish_at_frame_rate(mut self) -> io::Result<(W, IvfHeader)> {
        let mut header = self.header();
        let index = self.index.take().unwrap_or_default();
        let pts: Vec<u64> = index.iter().map(|(_, p)| *p).collect();
        if let Some((num, den)) = frame_rate_timebase(&header, &pts) {
            for (i, (offset, _)) in index.iter().enumerate() {
                self.inner.seek(SeekFrom::Start(offset + 4))?;
                self.inner.write_all(&(i as u64).to_le_bytes())?;
            }
            header.timebase_num = num;
            header.timebase_den = den;
        }
        self.rewrite_header(&header)?;
        Ok((self.inner, header))
    }

    fn rewrite_header(&mut self, header: &IvfHeader) -> io::Result<()> {
        self.inner.seek(SeekFrom::Start(0))?;
        self.inner.write_all(&header.to_bytes())?;
        self.inner.seek(SeekFrom::Start(self.pos))?;
        self.inner.flush()
    }
}

/// The timebase that makes an IVF header's frame count also right as a duration.
///
/// ffmpeg's IVF demuxer reads the header's "frame count" field as the stream's
/// duration in timebase units (and its muxer writes a duration there). Both readings
/// agree only when one timebase unit is one frame: this returns the timebase
/// `span / (n - 1)`, the mean frame interval of frames at `pts` (`span` = last - first,
/// in `header`'s timebase), as an exact reduced fraction when it fits in 32 bits.
/// In it, frame `i` has pts `i`: `n` strictly increasing whole pts from 0 whose last
/// is `n - 1` can be nothing else. Frames at a steady rate keep their exact times (90
/// kHz pts 0, 3000, 6000 ... become 0, 1, 2 ... in 1/30); an irregular capture is
/// evened out over its span. `None` for fewer than two frames or a zero span.
pub fn frame_rate_timebase(header: &IvfHeader, pts: &[u64]) -> Option<(u32, u32)> {
    let (&first, &last) = (pts.first()?, pts.last()?);
    let n = pts.len() as u128;
    let span = u128::from(last.checked_sub(first)?);
    if n < 2 || span == 0 {
        return None;
    }
    // unit = num0/den0 s; new unit = (num0/den0) * span / (n - 1).
    let mut num = u128::from(header.timebase_num) * span;
    let mut den = u128::from(header.timebase_den) * (n - 1);
    let g = gcd(num, den);
    (num, den) = (num / g, den / g);
    let max = u128::from(u32::MAX);
    if num > max || den > max {
        // Not representable exactly: the nearest fraction with 32-bit terms.
        let k = num.max(den).div_ceil(max);
        num = (num + k / 2) / k;
        den = (den + k / 2) / k;
    }
    let (num, den) = (u32::try_from(num).ok()?, u32::try_from(den).ok()?);
    (num != 0 && den != 0).then_some((num, den))
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

/// Facts read from the start of a VP8 frame (RFC 6386 §9.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8FrameInfo {
    /// Whether this is a keyframe.
    pub keyframe: bool,
    /// For keyframes: width and height in pixels.
    pub dimensions: Option<(u16, u16)>,
}

/// Reads the VP8 frame tag; `None` if `data` is too short to be a VP8 frame.
pub fn vp8_frame_info(data: &[u8]) -> Option<Vp8FrameInfo> {
    let tag = data.first()?;
    let keyframe = tag & 1 == 0;
    if !keyframe {
        return Some(Vp8FrameInfo {
            keyframe,
            dimensions: None,
        });
    }
    // Keyframe: 3-byte tag, start code 9d 01 2a, 14-bit width and height (+2 bits scale).
    let dimensions = match data.get(3..10) {
        Some([0x9d, 0x01, 0x2a, w0, w1, h0, h1]) => Some((
            u16::from_le_bytes([*w0, *w1]) & 0x3fff,
            u16::from_le_bytes([*h0, *h1]) & 0x3fff,
        )),
        _ => None,
    };
    Some(Vp8FrameInfo {
        keyframe,
        dimensions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    use crate::BUILTIN_CLIP as CLIP;

    fn sample() -> (IvfHeader, Vec<(u64, Vec<u8>)>) {
        let header = IvfHeader::vp8(320, 180, 30);
        let frames = (0..5u64)
            .map(|i| (i, (0..(i as u8 * 7 + 1)).collect::<Vec<u8>>()))
            .collect();
        (header, frames)
    }

    fn write(header: IvfHeader, frames: &[(u64, Vec<u8>)]) -> Vec<u8> {
        let mut w = IvfWriter::new(Cursor::new(Vec::new()), header).unwrap();
        for (pts, data) in frames {
            w.write_frame(*pts, data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn round_trip() {
        let (header, frames) = sample();
        let bytes = write(header, &frames);
        let mut r = IvfReader::new(Cursor::new(&bytes)).unwrap();
        assert_eq!(r.header().frame_count, 5);
        assert_eq!(r.header().width, 320);
        assert_eq!(r.header().timebase_den, 30);
        assert_eq!(r.header().codec(), Some(proxy_core::Codec::Vp8));
        let got = r.read_all().unwrap();
        assert_eq!(got.len(), frames.len());
        for (g, (pts, data)) in got.iter().zip(&frames) {
            assert_eq!(g.pts, *pts);
            assert_eq!(&g.data[..], &data[..]);
        }
        assert!(r.next_frame().unwrap().is_none());
    }

    #[test]
    fn reads_the_shipped_clip_and_rewrites_it_identically() {
        let mut r = IvfReader::new(Cursor::new(CLIP)).unwrap();
        let h = *r.header();
        assert_eq!((h.width, h.height, h.frame_count), (320, 180, 150));
        assert_eq!((h.timebase_den, h.timebase_num), (30, 1));
        assert_eq!(h.codec(), Some(proxy_core::Codec::Vp8));
        let frames = r.read_all().unwrap();
        assert_eq!(frames.len(), 150);
        let keyframes: Vec<usize> = frames
            .iter()
            .enumerate()
            .filter(|(_, f)| vp8_frame_info(&f.data).is_some_and(|i| i.keyframe))
            .map(|(i, _)| i)
            .collect();
        assert_eq!(keyframes, vec![0, 60, 120]);
        assert_eq!(
            vp8_frame_info(&frames[0].data).unwrap().dimensions,
            Some((320, 180))
        );
        let copy = write(
            h,
            &frames
                .iter()
                .map(|f| (f.pts, f.data.to_vec()))
                .collect::<Vec<_>>(),
        );
        assert_eq!(copy, CLIP);
    }

    #[test]
    fn codec_by_fourcc() {
        use proxy_core::Codec;
        let clip = |bytes: &[u8]| *IvfReader::new(Cursor::new(bytes)).unwrap().header();
        let vp9 = clip(include_bytes!("../../../../assets/clip-vp9.ivf"));
        assert_eq!(
            (vp9.codec(), vp9.width, vp9.height),
            (Some(Codec::Vp9), 320, 180)
        );
        let av1 = clip(include_bytes!("../../../../assets/clip-av1.ivf"));
        assert_eq!(
            (av1.codec(), av1.width, av1.height),
            (Some(Codec::Av1), 320, 180)
        );
        let mut other = IvfHeader::vp8(1, 1, 30);
        for fourcc in [b"H264", b"vp80", b"\0\0\0\0"] {
            other.fourcc = *fourcc;
            assert_eq!(other.codec(), None);
        }
    }

    #[test]
    fn rejects_non_ivf() {
        assert!(matches!(
            IvfReader::new(Cursor::new(b"RIFF....WAVEfmt ....................")),
            Err(IvfError::NotIvf)
        ));
        assert!(matches!(
            IvfReader::new(Cursor::new(b"")),
            Err(IvfError::NotIvf)
        ));
        assert!(matches!(
            IvfReader::new(Cursor::new(b"ab")),
            Err(IvfError::NotIvf)
        ));
    }

    #[test]
    fn rejects_truncated_header() {
        let (header, _) = sample();
        let bytes = header.to_bytes();
        for cut in 4..FILE_HEADER_LEN {
            assert!(
                matches!(
                    IvfReader::new(Cursor::new(&bytes[..cut])),
                    Err(IvfError::Truncated {
                        what: "file header",
                        ..
                    })
                ),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn every_truncation_of_a_file_is_an_error_or_a_clean_prefix() {
        let (header, frames) = sample();
        let bytes = write(header, &frames);
        for cut in 0..bytes.len() {
            let Ok(mut r) = IvfReader::new(Cursor::new(&bytes[..cut])) else {
                assert!(cut < FILE_HEADER_LEN);
                continue;
            };
            let mut count = 0;
            let mut failed = false;
            for f in r.by_ref() {
                match f {
                    Ok(_) => count += 1,
                    Err(IvfError::Truncated { .. }) => failed = true,
                    Err(e) => panic!("unexpected {e}"),
                }
            }
            assert!(count <= frames.len());
            // A cut exactly at a frame boundary ends cleanly; any other cut is reported.
            let boundaries: Vec<usize> = std::iter::once(FILE_HEADER_LEN)
                .chain(frames.iter().scan(FILE_HEADER_LEN, |at, (_, d)| {
                    *at += FRAME_HEADER_LEN + d.len();
                    Some(*at)
                }))
                .collect();
            assert_eq!(failed, !boundaries.contains(&cut), "cut at {cut}");
        }
    }

    #[test]
    fn refuses_a_frame_larger_than_the_limit_without_allocating_it() {
        let (header, _) = sample();
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend_from_slice(&0u64.to_le_bytes());
        let mut r = IvfReader::new(Cursor::new(&bytes)).unwrap();
        assert!(matches!(
            r.next_frame(),
            Err(IvfError::FrameTooLarge {
                index: 0,
                size: u32::MAX,
                ..
            })
        ));
        // After an error the reader stays finished.
        assert!(r.next_frame().unwrap().is_none());

        // Under the limit but longer than the file: truncated, not a huge allocation.
        let mut bytes = header.to_bytes().to_vec();
        bytes.extend_from_slice(&(DEFAULT_MAX_FRAME_SIZE).to_le_bytes());
        bytes.extend_from_slice(&0u64.to_le_bytes());
        bytes.extend_from_slice(b"tiny");
        let mut r = IvfReader::new(Cursor::new(&bytes)).unwrap();
        assert!(matches!(
            r.next_frame(),
            Err(IvfError::Truncated {
                what: "frame",
                at: 44
            })
        ));
    }

    #[test]
    fn custom_limit() {
        let (header, frames) = sample();
        let bytes = write(header, &frames);
        let mut r = IvfReader::with_limit(Cursor::new(&bytes), 10).unwrap();
        assert_eq!(r.next_frame().unwrap().unwrap().data.len(), 1);
        assert_eq!(r.next_frame().unwrap().unwrap().data.len(), 8);
        assert!(matches!(
            r.next_frame(),
            Err(IvfError::FrameTooLarge {
                index: 2,
                size: 15,
                limit: 10
            })
        ));
    }

    #[test]
    fn bad_header_fields() {
        let (header, _) = sample();
        let mut b = header.to_bytes();
        b[6] = 8;
        assert!(matches!(
            IvfReader::new(Cursor::new(b)),
            Err(IvfError::BadHeaderSize(8))
        ));
        let mut b = header.to_bytes();
        b[6..8].copy_from_slice(&u16::MAX.to_le_bytes());
        assert!(matches!(
            IvfReader::new(Cursor::new(b)),
            Err(IvfError::BadHeaderSize(u16::MAX))
        ));
        let mut b = header.to_bytes();
        b[16..20].copy_from_slice(&0u32.to_le_bytes());
        assert!(matches!(
            IvfReader::new(Cursor::new(b)),
            Err(IvfError::BadTimebase { den: 0, .. })
        ));
    }

    #[test]
    fn longer_header_is_skipped() {
        let (header, frames) = sample();
        let mut bytes = write(header, &frames);
        bytes[6..8].copy_from_slice(&40u16.to_le_bytes());
        bytes.splice(32..32, [0xAAu8; 8]);
        let got = IvfReader::new(Cursor::new(&bytes))
            .unwrap()
            .read_all()
            .unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(&got[4].data[..], &frames[4].1[..]);
    }

    #[test]
    fn garbage_never_panics() {
        // A deterministic pseudo-random walk over byte strings behind a valid header.
        let (header, _) = sample();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..2000 {
            let mut bytes = header.to_bytes().to_vec();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 200) as usize;
            for i in 0..len {
                bytes.push((state >> (i % 56)) as u8);
            }
            if state & 1 == 0 {
                // Sometimes corrupt the header too.
                let at = (state >> 8) as usize % FILE_HEADER_LEN;
                bytes[at] ^= (state >> 16) as u8;
            }
            if let Ok(r) = IvfReader::with_limit(Cursor::new(&bytes), 100) {
                for f in r.flatten() {
                    assert!(f.data.len() <= 100);
                }
            }
        }
    }

    #[test]
    fn pts_conversions() {
        let h = IvfHeader::vp8(1, 1, 30);
        assert_eq!(h.pts_to_duration(30), Duration::from_secs(1));
        assert_eq!(h.pts_to_duration(1), Duration::from_nanos(33_333_333));
        assert_eq!(h.duration_to_pts(Duration::from_secs(2)), 60);
        // 90 kHz RTP time converted to nanoseconds loses a little; rounding recovers it.
        for n in 0..300u64 {
            assert_eq!(h.duration_to_pts(h.pts_to_duration(n)), n);
        }
        let h = IvfHeader::vp8(1, 1, 90_000);
        assert_eq!(h.duration_to_pts(Duration::from_millis(100)), 9000);
        assert_eq!(h.pts_to_duration(u64::MAX), h.pts_to_duration(u64::MAX));
    }

    #[test]
    fn frame_rate_timebase_keeps_steady_rtp_times_exact() {
        let rtp = IvfHeader::vp8(1, 1, 90_000);
        let pts: Vec<u64> = (0..150).map(|i| i * 3000).collect();
        assert_eq!(frame_rate_timebase(&rtp, &pts), Some((1, 30)));
        // A jittery capture: its mean interval.
        let jitter = [0, 2970, 6030, 9000, 11_970, 15_030, 18_000];
        assert_eq!(frame_rate_timebase(&rtp, &jitter), Some((1, 30)));
        // 4 frames over 9000 ticks: 3000 ticks each, whatever the spacing.
        assert_eq!(frame_rate_timebase(&rtp, &[0, 10, 20, 9000]), Some((1, 30)));
        assert_eq!(frame_rate_timebase(&rtp, &[0, 3003]), Some((1001, 30_000)));
        // Nothing to compute from.
        assert_eq!(frame_rate_timebase(&rtp, &[]), None);
        assert_eq!(frame_rate_timebase(&rtp, &[5]), None);
        assert_eq!(frame_rate_timebase(&rtp, &[7, 7]), None);
        // A span whose exact fraction does not fit in 32 bits is approximated.
        let (num, den) = frame_rate_timebase(&rtp, &[0, 1, u64::from(u32::MAX) * 3 + 7]).unwrap();
        let unit = f64::from(num) / f64::from(den);
        let want = (f64::from(u32::MAX) * 3.0 + 7.0) / 2.0 / 90_000.0;
        assert!((unit / want - 1.0).abs() < 1e-6, "{unit} vs {want}");
    }

    #[test]
    fn finish_at_frame_rate_rewrites_timebase_and_pts_in_place() {
        let mut w = IvfWriter::new(Cursor::new(Vec::new()), IvfHeader::vp8(0, 0, 90_000)).unwrap();
        w.set_dimensions(320, 180);
        for i in 0..10u64 {
            // Jitter of up to 1 ms: evened out to the mean interval.
            w.write_frame(
                i * 3000 + [0, 90, 45][i as usize % 3] * u64::from(i < 9),
                &[i as u8; 5],
            )
            .unwrap();
        }
        let (cursor, header) = w.finish_at_frame_rate().unwrap();
        assert_eq!((header.timebase_num, header.timebase_den), (1, 30));
        let bytes = cursor.into_inner();
        let mut r = IvfReader::new(Cursor::new(&bytes)).unwrap();
        assert_eq!(*r.header(), header);
        assert_eq!(r.header().frame_count, 10);
        let got = r.read_all().unwrap();
        for (i, f) in got.iter().enumerate() {
            assert_eq!(f.pts, i as u64);
            assert_eq!(&f.data[..], &[i as u8; 5]);
        }
        // One frame: the recording timebase stays.
        let mut w = IvfWriter::new(Cursor::new(Vec::new()), IvfHeader::vp8(0, 0, 90_000)).unwrap();
        w.write_frame(0, b"x").unwrap();
        let (_, header) = w.finish_at_frame_rate().unwrap();
        assert_eq!((header.timebase_den, header.frame_count), (90_000, 1));
    }

    #[test]
    fn a_stream_writer_needs_no_seek() {
        let mut out = Vec::new();
        let mut w = IvfWriter::stream(&mut out, IvfHeader::vp8(320, 180, 90_000)).unwrap();
        w.write_frame(0, b"ab").unwrap();
        w.write_frame(3000, b"cd").unwrap();
        w.flush().unwrap();
        let mut r = IvfReader::new(Cursor::new(&out)).unwrap();
        assert_eq!(r.header().frame_count, 0, "a stream's count stays 0");
        let pts: Vec<u64> = r.read_all().unwrap().iter().map(|f| f.pts).collect();
        assert_eq!(pts, vec![0, 3000]);
    }

    #[test]
    fn vp8_info() {
        assert_eq!(vp8_frame_info(&[]), None);
        assert_eq!(
            vp8_frame_info(&[1, 2, 3]),
            Some(Vp8FrameInfo {
                keyframe: false,
                dimensions: None
            })
        );
        assert_eq!(
            vp8_frame_info(&[0, 0, 0, 0x9d, 0x01, 0x2a, 0x40, 0x41, 0xb4, 0x00]),
            Some(Vp8FrameInfo {
                keyframe: true,
                dimensions: Some((320, 180))
            })
        );
        // Keyframe tag but a broken start code: no dimensions.
        assert_eq!(vp8_frame_info(&[0, 0, 0, 0x9d]).unwrap().dimensions, None);
    }
}
