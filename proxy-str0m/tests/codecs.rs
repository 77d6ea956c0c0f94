//! Each video codec end to end between two Rust peers (core + str0m engine,
//! Jingle signaling, datagrams on a virtual clock): the real frames of the clips
//! in assets/ (VP8, VP9 and AV1 in IVF, H.264 in Annex B) go from `a` to `b`, and
//! every frame must arrive whole, in order, with its pts, the right codec and the
//! right keyframe flag. The offer lists the track's codec first.
//!
//! "Whole" is byte-identical for VP8 and VP9. For AV1 and H.264 it is the frame as
//! RTP carries it: the AV1 payload format drops temporal delimiter OBUs (the
//! receiver gets each temporal unit's other OBUs, with their size fields), and the
//! H.264 one carries NAL units, not the byte stream (the access unit delimiter is
//! dropped, and the receiver writes every NAL unit behind a 4-byte start code).

mod common;

use std::time::Duration;

use proxy_core::{Codec, LocalTrack};
use proxy_str0m::Frame;

use common::pair::Pair;

const VP8: &[u8] = include_bytes!("../../assets/clip.ivf");
const VP9: &[u8] = include_bytes!("../../assets/clip-vp9.ivf");
const AV1: &[u8] = include_bytes!("../../assets/clip-av1.ivf");
const H264: &[u8] = include_bytes!("../../assets/clip-h264.h264");

/// The frames of an IVF file (the format is simple enough to read here: a
/// 32-byte header whose size is at byte 6, then per frame a 12-byte header
/// with the little-endian size first).
fn ivf_frames(bytes: &[u8], fourcc: &[u8; 4]) -> Vec<Vec<u8>> {
    assert_eq!(&bytes[..4], b"DKIF");
    assert_eq!(&bytes[8..12], fourcc);
    let mut at = usize::from(u16::from_le_bytes([bytes[6], bytes[7]]));
    let mut frames = Vec::new();
    while at < bytes.len() {
        let size = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        frames.push(bytes[at + 12..at + 12 + size].to_vec());
        at += 12 + size;
    }
    assert_eq!(at, bytes.len());
    frames
}

/// The NAL units of an Annex B byte stream: where each one's start code begins
/// (a zero byte before `00 00 01` counts) and the NAL unit itself.
fn nal_units(stream: &[u8]) -> Vec<(usize, &[u8])> {
    let mut starts = Vec::new(); // (start code begins, NAL unit begins)
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i..i + 3] == [0, 0, 1] {
            let begin = if i > 0 && stream[i - 1] == 0 {
                i - 1
            } else {
                i
            };
            starts.push((begin, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    starts
        .iter()
        .enumerate()
        .map(|(k, &(begin, nal))| {
            let end = starts.get(k + 1).map_or(stream.len(), |s| s.0);
            (begin, &stream[nal..end])
        })
        .collect()
}

/// The clip's access units, as bytes of the stream: it has a delimiter (NAL
/// type 9) before each one.
fn h264_access_units(stream: &[u8]) -> Vec<Vec<u8>> {
    let cuts: Vec<usize> = nal_units(stream)
        .into_iter()
        .filter(|(_, nal)| nal[0] & 0x1f == 9)
        .map(|(begin, _)| begin)
        .chain([stream.len()])
        .collect();
    assert_eq!(cuts[0], 0, "the clip starts with a delimiter");
    cuts.windows(2)
        .map(|w| stream[w[0]..w[1]].to_vec())
        .collect()
}

/// An H.264 access unit as RTP delivers it: no delimiter, 4-byte start codes.
fn h264_as_received(unit: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, nal) in nal_units(unit)
        .into_iter()
        .filter(|(_, n)| n[0] & 0x1f != 9)
    {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal);
    }
    out
}

/// An AV1 temporal unit as RTP delivers it: without temporal delimiter OBUs.
fn av1_as_received(unit: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < unit.len() {
        let header = unit[at];
        let obu_type = (header >> 3) & 0xf;
        let ext = usize::from(header & 0x04 != 0);
        assert!(header & 0x02 != 0, "the clip's OBUs have size fields");
        let mut size = 0usize;
        let mut len_at = at + 1 + ext;
        for shift in (0..).step_by(7) {
            let b = unit[len_at];
            len_at += 1;
            size |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        let end = len_at + size;
        if obu_type != 2 {
            out.extend_from_slice(&unit[at..end]);
        }
        at = end;
    }
    out
}

/// The clip of `codec`: each frame as written and as the receiver must get it.
fn clip(codec: Codec) -> Vec<(Vec<u8>, Vec<u8>)> {
    let same = |f: Vec<u8>| (f.clone(), f);
    match codec {
        Codec::Vp8 => ivf_frames(VP8, b"VP80").into_iter().map(same).collect(),
        Codec::Vp9 => ivf_frames(VP9, b"VP90").into_iter().map(same).collect(),
        Codec::Av1 => ivf_frames(AV1, b"AV01")
            .into_iter()
            .map(|f| {
                let r = av1_as_received(&f);
                (f, r)
            })
            .collect(),
        Codec::H264 => h264_access_units(H264)
            .into_iter()
            .map(|u| {
                let r = h264_as_received(&u);
                (u, r)
            })
            .collect(),
        other => panic!("not a video codec: {other}"),
    }
}

/// Frame `n` at 30 fps, rounded up to a microsecond so that the 90 kHz RTP
/// clock gets exactly `3000 * n` ticks (str0m truncates).
fn pts(n: u32) -> Duration {
    Duration::from_micros((u64::from(n) * 1_000_000).div_ceil(30))
}

/// Ticks of the 90 kHz clock in `d`, to the nearest.
fn ticks(d: Duration) -> u64 {
    (d.as_nanos() * 90_000 + 500_000_000) as u64 / 1_000_000_000
}

/// The payload-type names, in order, of the first `action` IQ `from` sent.
fn codecs_in(sent: &[(String, String)], action: &str) -> Vec<String> {
    let (_, iq) = sent
        .iter()
        .find(|(_, iq)| iq.contains(action))
        .unwrap_or_else(|| panic!("no {action}"));
    iq.split("<payload-type ")
        .skip(1)
        .filter_map(|pt| {
            let name = pt.split("name='").nth(1).or(pt.split("name=\"").nth(1))?;
            Some(name.split(['\'', '"']).next()?.to_owned())
        })
        .collect()
}

/// Sends the clip of `codec` from `a` to `b` at 30 fps and checks what `b` got.
fn clip_arrives_whole(codec: Codec, keyframes: &[usize]) {
    let frames = clip(codec);
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop().with_codec(codec)]);
    let offered = codecs_in(&p.a.sent, "session-initiate");
    assert_eq!(
        offered.first().map(String::as_str),
        Some(codec.as_str()),
        "the offer lists the track's codec first: {offered:?}"
    );
    // The answer keeps the offer's order: the offerer sends the codec it put first.
    let answered = codecs_in(&p.b.sent, "session-accept");
    assert_eq!(
        answered.first().map(String::as_str),
        Some(codec.as_str()),
        "the answer lists the offer's first codec first: {answered:?}"
    );
    for (n, (data, _)) in frames.iter().enumerate() {
        let now = p.time;
        p.a.conn
            .write_frame(now, 0, pts(n as u32), data)
            .unwrap_or_else(|e| panic!("{codec} frame {n}: {e}"));
        p.drain_side(false);
        p.run_for(pts(n as u32 + 1) - pts(n as u32));
    }
    let want = frames.len();
    p.drive_until(Duration::from_secs(2), |p| p.b.frames.len() >= want);
    let got: Vec<&Frame> = p.b.frames.iter().collect();
    assert_eq!(got.len(), want, "{codec}: frames received");
    let base = got[0].pts;
    let mut seen_keyframes = Vec::new();
    for (n, (f, (_, expected))) in got.iter().zip(&frames).enumerate() {
        assert_eq!(f.codec, codec, "codec of frame {n}");
        assert!(
            f.data[..] == expected[..],
            "{codec} frame {n} differs: {} bytes, expected {} (first bytes {:02x?} vs {:02x?})",
            f.data.len(),
            expected.len(),
            &f.data[..f.data.len().min(12)],
            &expected[..expected.len().min(12)]
        );
        assert_eq!(
            ticks(f.pts - base),
            3000 * n as u64,
            "{codec} pts of frame {n}"
        );
        match f.keyframe {
            Some(true) => seen_keyframes.push(n),
            Some(false) => {}
            None => panic!("{codec} frame {n}: no keyframe flag"),
        }
    }
    assert_eq!(seen_keyframes, keyframes, "{codec} keyframes");
    eprintln!(
        "{codec}: {} frames ({} bytes) arrived whole, keyframes {seen_keyframes:?}, offer {offered:?}",
        got.len(),
        frames.iter().map(|(d, _)| d.len()).sum::<usize>()
    );
}

#[test]
fn vp8_clip_arrives_whole() {
    clip_arrives_whole(Codec::Vp8, &[0, 60, 120]);
}

#[test]
fn vp9_clip_arrives_whole() {
    clip_arrives_whole(Codec::Vp9, &[0, 30]);
}

#[test]
fn av1_clip_arrives_whole() {
    clip_arrives_whole(Codec::Av1, &[0, 30]);
}

#[test]
fn h264_clip_arrives_whole() {
    clip_arrives_whole(Codec::H264, &[0, 30]);
}

#[test]
fn the_expected_forms_change_only_what_rtp_cannot_carry() {
    // AV1: only the two-byte temporal delimiter goes.
    for (sent, got) in clip(Codec::Av1) {
        assert_eq!(&sent[..2], &[0x12, 0x00]);
        assert_eq!(&sent[2..], &got[..]);
    }
    // H.264: the delimiter goes, 3-byte start codes become 4-byte ones.
    let units = clip(Codec::H264);
    let whole: Vec<u8> = units.iter().flat_map(|(sent, _)| sent.clone()).collect();
    assert_eq!(whole, H264, "the access units are the stream");
    for (sent, got) in units {
        // The delimiter: start code, header, primary_pic_type and stop bit.
        assert_eq!(&sent[..5], &[0, 0, 0, 1, 0x09]);
        assert_eq!(sent[5] & 0x1f, 0x10);
        let mut long = Vec::new();
        for (_, nal) in nal_units(&sent[6..]) {
            long.extend_from_slice(&[0, 0, 0, 1]);
            long.extend_from_slice(nal);
        }
        assert_eq!(long, got);
        assert!(got.len() >= sent.len() - 6);
    }
}
