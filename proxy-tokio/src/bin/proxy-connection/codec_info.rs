//! What a recording needs to know from inside encoded frames: video dimensions of a
//! keyframe (VP8, VP9, AV1, H.264), the duration of an Opus packet, and the codec
//! configuration records containers want (OpusHead, avcC).
//!
//! Every parser reads peer input: it is bounded by the frame, returns `None` for
//! anything it does not understand, and never panics.

use std::time::Duration;

use crate::ivf::vp8_frame_info;
use crate::record::Codec;

/// Width and height of a video keyframe, when its codec's header tells (a
/// size of 0 tells nothing: containers refuse it).
pub fn video_dimensions(codec: Codec, frame: &[u8]) -> Option<(u32, u32)> {
    let dims = match codec {
        Codec::Vp8 => vp8_frame_info(frame)?
            .dimensions
            .map(|(w, h)| (u32::from(w), u32::from(h))),
        Codec::Vp9 => vp9_dimensions(frame),
        Codec::Av1 => av1_sequence_header(frame).map(|s| (s.width, s.height)),
        Codec::H264 => {
            let sps = annex_b_nal_units(frame).find(|n| n.first().map(|b| b & 0x1f) == Some(7))?;
            h264_sps_dimensions(sps)
        }
        _ => None,
    };
    dims.filter(|&(w, h)| w > 0 && h > 0)
}

/// MSB-first bit reader over a byte slice.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Bits<'a> {
        Bits { data, at: 0 }
    }

    fn bit(&mut self) -> Option<u32> {
        let byte = self.data.get(self.at / 8)?;
        let bit = (byte >> (7 - self.at % 8)) & 1;
        self.at += 1;
        Some(u32::from(bit))
    }

    fn bits(&mut self, n: u32) -> Option<u32> {
        debug_assert!(n <= 32);
        let mut v: u64 = 0;
        for _ in 0..n {
            v = v << 1 | u64::from(self.bit()?);
        }
        u32::try_from(v).ok()
    }

    fn flag(&mut self) -> Option<bool> {
        self.bit().map(|b| b == 1)
    }

    /// Exp-Golomb ue(v) (H.264).
    fn ue(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros > 31 {
                return None;
            }
        }
        let rest = self.bits(zeros)?;
        Some(((1u64 << zeros) - 1 + u64::from(rest)).min(u64::from(u32::MAX)) as u32)
    }

    /// Exp-Golomb se(v) (H.264).
    fn se(&mut self) -> Option<i64> {
        let k = i64::from(self.ue()?);
        Some(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }

    /// uvlc() (AV1).
    fn uvlc(&mut self) -> Option<u32> {
        let mut zeros = 0;
        while self.bit()? == 0 {
            zeros += 1;
            if zeros >= 32 {
                return Some(u32::MAX);
            }
        }
        let rest = self.bits(zeros)?;
        Some(((1u64 << zeros) - 1 + u64::from(rest)).min(u64::from(u32::MAX)) as u32)
    }
}

/// VP9 keyframe size from the uncompressed header (VP9 bitstream spec §6.2).
fn vp9_dimensions(frame: &[u8]) -> Option<(u32, u32)> {
    let mut b = Bits::new(frame);
    if b.bits(2)? != 2 {
        return None; // frame_marker
    }
    let low = b.bit()?;
    let high = b.bit()?;
    let profile = high << 1 | low;
    if profile == 3 {
        b.bit()?;
    }
    if b.flag()? {
        return None; // show_existing_frame
    }
    let key = b.bit()? == 0;
    b.bit()?; // show_frame
    b.bit()?; // error_resilient_mode
    if !key {
        return None;
    }
    if b.bits(24)? != 0x49_83_42 {
        return None;
    }
    if profile >= 2 {
        b.bit()?; // ten_or_twelve_bit
    }
    let color_space = b.bits(3)?;
    if color_space != 7 {
        b.bit()?; // color_range
        if profile == 1 || profile == 3 {
            b.bits(3)?; // subsampling_x, subsampling_y, reserved_zero
        }
    } else if profile == 1 || profile == 3 {
        b.bit()?;
    }
    let w = b.bits(16)? + 1;
    let h = b.bits(16)? + 1;
    Some((w, h))
}

/// The parts of an AV1 sequence header a recording uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Av1SequenceHeader {
    /// max_frame_width_minus_1 + 1.
    pub width: u32,
    /// max_frame_height_minus_1 + 1.
    pub height: u32,
    /// seq_profile.
    pub profile: u8,
    /// `seq_level_idx[0]`.
    pub level: u8,
    /// `seq_tier[0]`.
    pub tier: u8,
    /// high_bitdepth, twelve_bit, mono_chrome.
    pub depth: (bool, bool, bool),
    /// subsampling_x, subsampling_y, chroma_sample_position.
    pub chroma: (u8, u8, u8),
    /// The OBU's payload.
    pub payload: Vec<u8>,
}

/// The OBUs of an AV1 temporal unit: (obu_type, payload). An OBU without a size
/// field extends to the end of the data.
fn av1_obus(mut data: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let header = *data.first()?;
        let obu_type = (header >> 3) & 0x0f;
        let extension = header & 0x04 != 0;
        let has_size = header & 0x02 != 0;
        let mut at = 1 + usize::from(extension);
        let size = if has_size {
            let mut size: u64 = 0;
            for i in 0..8 {
                let byte = *data.get(at)?;
                at += 1;
                size |= u64::from(byte & 0x7f) << (7 * i);
                if byte & 0x80 == 0 {
                    break;
                }
            }
            usize::try_from(size).ok()?
        } else {
            data.len().checked_sub(at)?
        };
        let payload = data.get(at..at.checked_add(size)?)?;
        data = &data[at + size..];
        Some((obu_type, payload))
    })
}

/// Reads the first sequence header OBU of an AV1 frame (AV1 spec §5.5).
pub fn av1_sequence_header(frame: &[u8]) -> Option<Av1SequenceHeader> {
    let (_, payload) = av1_obus(frame).find(|(t, _)| *t == 1)?;
    let mut b = Bits::new(payload);
    let profile = b.bits(3)? as u8;
    b.bit()?; // still_picture
    let reduced = b.flag()?;
    let (mut level, mut tier) = (0u8, 0u8);
    if reduced {
        level = b.bits(5)? as u8;
    } else {
        let timing_info = b.flag()?;
        let mut decoder_model_info = false;
        let mut buffer_delay_len = 0;
        if timing_info {
            b.bits(32)?;
            b.bits(32)?;
            if b.flag()? {
                b.uvlc()?;
            }
            decoder_model_info = b.flag()?;
            if decoder_model_info {
                buffer_delay_len = b.bits(5)? + 1;
                b.bits(32)?;
                b.bits(5)?;
                b.bits(5)?;
            }
        }
        let initial_display_delay = b.flag()?;
        let operating_points = b.bits(5)? + 1;
        for i in 0..operating_points {
            b.bits(12)?;
            let lv = b.bits(5)? as u8;
            let tr = if lv > 7 { b.bit()? as u8 } else { 0 };
            if i == 0 {
                (level, tier) = (lv, tr);
            }
            if decoder_model_info && b.flag()? {
                b.bits(buffer_delay_len)?;
                b.bits(buffer_delay_len)?;
                b.bit()?;
            }
            if initial_display_delay && b.flag()? {
                b.bits(4)?;
            }
        }
    }
    let width_bits = b.bits(4)? + 1;
    let height_bits = b.bits(4)? + 1;
    let width = b.bits(width_bits)? + 1;
    let height = b.bits(height_bits)? + 1;
    if !reduced && b.flag()? {
        b.bits(4)?; // delta_frame_id_length_minus_2
        b.bits(3)?; // additional_frame_id_length_minus_1
    }
    b.bits(3)?; // use_128x128_superblock, enable_filter_intra, enable_intra_edge_filter
    if !reduced {
        b.bits(4)?; // interintra, masked compound, warped motion, dual filter
        let order_hint = b.flag()?;
        if order_hint {
            b.bits(2)?; // jnt_comp, ref_frame_mvs
        }
        let force_screen_content = if b.flag()? { 2 } else { b.bit()? };
        if force_screen_content > 0 && !b.flag()? {
            b.bit()?; // seq_force_integer_mv
        }
        if order_hint {
            b.bits(3)?;
        }
    }
    b.bits(3)?; // enable_superres, enable_cdef, enable_restoration
                // color_config()
    let high_bitdepth = b.flag()?;
    let twelve_bit = profile == 2 && high_bitdepth && b.flag()?;
    let mono = profile != 1 && b.flag()?;
    let (mut primaries, mut transfer, mut matrix) = (2, 2, 2);
    if b.flag()? {
        primaries = b.bits(8)?;
        transfer = b.bits(8)?;
        matrix = b.bits(8)?;
    }
    let (mut sx, mut sy, mut position) = (1u8, 1u8, 0u8);
    if mono {
        b.bit()?;
    } else if primaries == 1 && transfer == 13 && matrix == 0 {
        (sx, sy) = (0, 0);
    } else {
        b.bit()?; // color_range
        match profile {
            0 => {}
            1 => (sx, sy) = (0, 0),
            _ if twelve_bit => {
                sx = b.bit()? as u8;
                sy = if sx == 1 { b.bit()? as u8 } else { 0 };
            }
            _ => (sx, sy) = (1, 0),
        }
        if sx == 1 && sy == 1 {
            position = b.bits(2)? as u8;
        }
    }
    Some(Av1SequenceHeader {
        width,
        height,
        profile,
        level,
        tier,
        depth: (high_bitdepth, twelve_bit, mono),
        chroma: (sx, sy, position),
        payload: payload.to_vec(),
    })
}

/// An AV1CodecConfigurationRecord ("av1C", what Matroska's `V_AV1` CodecPrivate
/// holds) from the sequence header of a keyframe: the 4 bytes of fields, then the
/// sequence header OBU (with a size field) as configOBUs.
pub fn av1_config(frame: &[u8]) -> Option<Vec<u8>> {
    let s = av1_sequence_header(frame)?;
    let (high, twelve, mono) = s.depth;
    let (sx, sy, position) = s.chroma;
    let mut out = vec![
        0x81,
        s.profile << 5 | (s.level & 0x1f),
        s.tier << 7
            | u8::from(high) << 6
            | u8::from(twelve) << 5
            | u8::from(mono) << 4
            | sx << 3
            | sy << 2
            | position,
        0,
    ];
    out.push((1 << 3) | 0x02); // OBU_SEQUENCE_HEADER, obu_has_size_field
    let mut size = s.payload.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        if size == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    }
    out.extend_from_slice(&s.payload);
    Some(out)
}

/// The NAL units of an Annex B H.264 frame (start codes 00 00 01 or 00 00 00 01),
/// without their start codes; trailing zero bytes of a unit are dropped.
pub fn annex_b_nal_units(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    // Offsets right after each start code.
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|s| s - 3)
        .chain(std::iter::once(data.len()))
        .collect();
    starts.into_iter().zip(ends).filter_map(move |(s, e)| {
        let mut unit = data.get(s..e)?;
        while let [rest @ .., 0] = unit {
            unit = rest;
        }
        (!unit.is_empty()).then_some(unit)
    })
}

/// A NAL unit's RBSP: emulation prevention bytes (00 00 03) removed.
fn rbsp(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

/// Picture size from an H.264 SPS NAL unit (with its one-byte NAL header;
/// ITU-T H.264 §7.3.2.1.1), cropping applied.
pub fn h264_sps_dimensions(sps: &[u8]) -> Option<(u32, u32)> {
    let data = rbsp(sps.get(1..)?);
    let mut b = Bits::new(&data);
    let profile = b.bits(8)?;
    b.bits(16)?; // constraint flags, level_idc
    b.ue()?; // seq_parameter_set_id
    let mut chroma_format = 1;
    let mut separate_planes = false;
    if matches!(
        profile,
        100 | 110 | 122 | 244 | 44 | 83 | 86 | 118 | 128 | 138 | 139 | 134 | 135
    ) {
        chroma_format = b.ue()?;
        if chroma_format == 3 {
            separate_planes = b.flag()?;
        }
        b.ue()?;
        b.ue()?;
        b.bit()?;
        if b.flag()? {
            let lists = if chroma_format == 3 { 12 } else { 8 };
            for i in 0..lists {
                if b.flag()? {
                    let size = if i < 6 { 16 } else { 64 };
                    let (mut last, mut next) = (8i64, 8i64);
                    for _ in 0..size {
                        if next != 0 {
                            next = (last + b.se()? + 256) % 256;
                        }
                        last = if next == 0 { last } else { next };
                    }
                }
            }
        }
    }
    b.ue()?; // log2_max_frame_num_minus4
    match b.ue()? {
        0 => {
            b.ue()?;
        }
        1 => {
            b.bit()?;
            b.se()?;
            b.se()?;
            let n = b.ue()?;
            if n > 255 {
                return None;
            }
            for _ in 0..n {
                b.se()?;
            }
        }
        _ => {}
    }
    b.ue()?; // max_num_ref_frames
    b.bit()?; // gaps_in_frame_num_value_allowed_flag
    let width_mbs = u64::from(b.ue()?) + 1;
    let height_units = u64::from(b.ue()?) + 1;
    let frame_mbs_only = b.flag()?;
    if !frame_mbs_only {
        b.bit()?;
    }
    b.bit()?; // direct_8x8_inference_flag
    let (mut left, mut right, mut top, mut bottom) = (0u64, 0u64, 0u64, 0u64);
    if b.flag()? {
        left = b.ue()?.into();
        right = b.ue()?.into();
        top = b.ue()?.into();
        bottom = b.ue()?.into();
    }
    let field = if frame_mbs_only { 1 } else { 2 };
    let chroma = if separate_planes { 0 } else { chroma_format };
    let (crop_x, crop_y) = match chroma {
        0 => (1, field),
        1 => (2, 2 * field),
        2 => (2, field),
        _ => (1, field),
    };
    let width = (width_mbs * 16).checked_sub(crop_x * (left + right))?;
    let height = (field * height_units * 16).checked_sub(crop_y * (top + bottom))?;
    let (w, h) = (u32::try_from(width).ok()?, u32::try_from(height).ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

/// For the High profiles (profile_idc 100, 110, 122, 144): the SPS's
/// chroma_format_idc, bit_depth_luma_minus8 and bit_depth_chroma_minus8,
/// which their avcC repeats (ISO/IEC 14496-15 §5.3.3.1.2).
fn h264_high_format(sps: &[u8]) -> Option<(u8, u8, u8)> {
    let data = rbsp(sps.get(1..)?);
    let mut b = Bits::new(&data);
    let profile = b.bits(8)?;
    if !matches!(profile, 100 | 110 | 122 | 144) {
        return None;
    }
    b.bits(16)?; // constraint flags, level_idc
    b.ue()?; // seq_parameter_set_id
    let chroma = b.ue()?;
    if chroma == 3 {
        b.bit()?; // separate_colour_plane_flag
    }
    let (luma, chroma_depth) = (b.ue()?, b.ue()?);
    Some((
        u8::try_from(chroma.min(3)).ok()?,
        u8::try_from(luma.min(7)).ok()?,
        u8::try_from(chroma_depth.min(7)).ok()?,
    ))
}

/// An AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1, "avcC") from the
/// SPS and PPS NAL units of an Annex B frame; `None` without both. For the
/// High profiles it ends with the chroma format and bit depths.
pub fn h264_avcc(frame: &[u8]) -> Option<Vec<u8>> {
    let units: Vec<&[u8]> = annex_b_nal_units(frame).collect();
    let of_type = |t: u8| -> Vec<&[u8]> {
        units
            .iter()
            .copied()
            .filter(|n| n.first().map(|b| b & 0x1f) == Some(t))
            .collect()
    };
    let (sps, pps) = (of_type(7), of_type(8));
    let first = *sps.first()?;
    if pps.is_empty() || first.len() < 4 || sps.len() > 31 || pps.len() > 255 {
        return None;
    }
    let mut out = vec![
        1,
        first[1],
        first[2],
        first[3],
        0xff,
        0xe0 | sps.len() as u8,
    ];
    for s in &sps {
        out.extend_from_slice(&u16::try_from(s.len()).ok()?.to_be_bytes());
        out.extend_from_slice(s);
    }
    out.push(pps.len() as u8);
    for p in &pps {
        out.extend_from_slice(&u16::try_from(p.len()).ok()?.to_be_bytes());
        out.extend_from_slice(p);
    }
    if let Some((chroma, luma_depth, chroma_depth)) = h264_high_format(first) {
        // Reserved bits set, then no SequenceParameterSetExt.
        out.extend_from_slice(&[0xfc | chroma, 0xf8 | luma_depth, 0xf8 | chroma_depth, 0]);
    }
    Some(out)
}

/// An Annex B frame as 4-byte length-prefixed NAL units (what `V_MPEG4/ISO/AVC`
/// blocks hold with an avcC whose lengthSizeMinusOne is 3).
pub fn annex_b_to_avc(frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(frame.len() + 16);
    for unit in annex_b_nal_units(frame) {
        out.extend_from_slice(&(unit.len() as u32).to_be_bytes());
        out.extend_from_slice(unit);
    }
    out
}

/// Whether an Annex B H.264 frame holds an IDR slice.
pub fn h264_is_idr(frame: &[u8]) -> bool {
    annex_b_nal_units(frame).any(|n| n.first().map(|b| b & 0x1f) == Some(5))
}

/// The duration of an Opus packet from its TOC byte (RFC 6716 §3.1); `None` for
/// an empty or malformed packet.
pub fn opus_packet_duration(packet: &[u8]) -> Option<Duration> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    // Frame size in units of 2.5 ms.
    let unit = match config {
        0..=11 => [4, 8, 16, 24][usize::from(config % 4)],
        12..=15 => [4, 8][usize::from(config % 2)],
        _ => [1, 2, 4, 8][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u64::from(*packet.get(1)? & 0x3f),
    };
    if frames == 0 || frames * unit > 48 {
        // At most 120 ms per packet.
        return None;
    }
    Some(Duration::from_micros(frames * unit * 2500))
}

/// The Opus identification header ("OpusHead", RFC 7845 §5.1) that Matroska/WebM
/// carry as the track's CodecPrivate: version 1, `channels`, `pre_skip` samples,
/// 48 kHz, gain 0, channel mapping family 0.
pub fn opus_head(channels: u8, pre_skip: u16) -> [u8; 19] {
    let mut h = [0u8; 19];
    h[..8].copy_from_slice(b"OpusHead");
    h[8] = 1;
    h[9] = channels;
    h[10..12].copy_from_slice(&pre_skip.to_le_bytes());
    h[12..16].copy_from_slice(&48_000u32.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_durations() {
        // config 31 (CELT 20 ms), one frame: what WebRTC sends.
        assert_eq!(
            opus_packet_duration(&[31 << 3, 1, 2]),
            Some(Duration::from_millis(20))
        );
        // SILK 60 ms, two frames (code 1).
        assert_eq!(
            opus_packet_duration(&[(3 << 3) | 1]),
            Some(Duration::from_millis(120))
        );
        // Code 3 with 3 frames of 10 ms (hybrid config 12).
        assert_eq!(
            opus_packet_duration(&[(12 << 3) | 3, 3]),
            Some(Duration::from_millis(30))
        );
        // Code 3 without its count byte, or over 120 ms.
        assert_eq!(opus_packet_duration(&[(12 << 3) | 3]), None);
        assert_eq!(opus_packet_duration(&[(3 << 3) | 3, 3]), None);
        assert_eq!(opus_packet_duration(&[]), None);
    }

    #[test]
    fn opus_head_layout() {
        let h = opus_head(2, 312);
        assert_eq!(&h[..8], b"OpusHead");
        assert_eq!(h[8..], [1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn vp9_keyframe_size() {
        // Profile 0 keyframe: marker 10, profile 00, show_existing 0, type 0, show 1,
        // error_res 0; sync code; color_space 3 bits, color_range 1; 16+16 bits.
        let mut bits = String::from("10" /* marker */);
        bits += "00" /* profile */;
        bits += "0" /* show_existing */;
        bits += "0" /* key */;
        bits += "1" /* show */;
        bits += "0";
        bits += "010010011000001101000010"; // 0x49 0x83 0x42
        bits += "001" /* color space */;
        bits += "0" /* range */;
        bits += &format!("{:016b}", 639);
        bits += &format!("{:016b}", 359);
        while !bits.len().is_multiple_of(8) {
            bits.push('0');
        }
        let bytes: Vec<u8> = bits
            .as_bytes()
            .chunks(8)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
            .collect();
        assert_eq!(vp9_dimensions(&bytes), Some((640, 360)));
        // An inter frame has none.
        let mut inter = bytes.clone();
        inter[0] |= 0x04; // frame_type 1
        assert_eq!(vp9_dimensions(&inter), None);
        assert_eq!(vp9_dimensions(&bytes[..4]), None);
    }

    #[test]
    fn h264_sps_and_avcc() {
        // A hand-built baseline SPS for 320x180 (192 rows cropped by 2 * 6):
        // profile 66 (baseline), level 30, id 0, log2_max_frame_num-4 = 0,
        // poc type 2, refs 1, gaps 0, width_mbs-1 = 19, height_units-1 = 11,
        // frame_mbs_only 1, direct 1, cropping 1 (0,0,0,6), vui 0.
        let mut bits = String::new();
        bits += &format!("{:08b}{:08b}{:08b}", 66, 0xc0, 30);
        let ue = |v: u32| {
            let x = v + 1;
            let n = 32 - x.leading_zeros();
            format!(
                "{}{:0width$b}",
                "0".repeat(n as usize - 1),
                x,
                width = n as usize
            )
        };
        bits += &ue(0);
        bits += &ue(0);
        bits += &ue(2);
        bits += &ue(1);
        bits += "0";
        bits += &ue(19);
        bits += &ue(11);
        bits += "1";
        bits += "1";
        bits += "1";
        bits += &ue(0);
        bits += &ue(0);
        bits += &ue(0);
        bits += &ue(6);
        bits += "0";
        bits += "1";
        while !bits.len().is_multiple_of(8) {
            bits.push('0');
        }
        let mut sps = vec![0x67];
        sps.extend(
            bits.as_bytes()
                .chunks(8)
                .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap()),
        );
        assert_eq!(h264_sps_dimensions(&sps), Some((320, 180)));
        let pps = [0x68, 0xce, 0x3c, 0x80];
        let mut frame = vec![0, 0, 0, 1];
        frame.extend_from_slice(&sps);
        frame.extend_from_slice(&[0, 0, 1]);
        frame.extend_from_slice(&pps);
        frame.extend_from_slice(&[0, 0, 1, 0x65, 0x88, 0x84]);
        assert_eq!(video_dimensions(Codec::H264, &frame), Some((320, 180)));
        assert!(h264_is_idr(&frame));
        let avcc = h264_avcc(&frame).unwrap();
        assert_eq!(&avcc[..6], &[1, 66, 0xc0, 30, 0xff, 0xe1]);
        assert_eq!(
            usize::from(u16::from_be_bytes([avcc[6], avcc[7]])),
            sps.len()
        );
        let avc = annex_b_to_avc(&frame);
        assert_eq!(&avc[..4], &(sps.len() as u32).to_be_bytes());
        assert_eq!(avc.len(), 4 * 3 + sps.len() + pps.len() + 3);
        // Only a slice: no avcC.
        assert_eq!(h264_avcc(&[0, 0, 1, 0x65, 1]), None);
        // Baseline: no chroma format at the end (the record ends with the PPS).
        assert_eq!(&avcc[avcc.len() - pps.len()..], &pps);

        // High (100), 4:2:0, 8 bits: the record ends with 0xfd 0xf8 0xf8 0.
        let mut bits = format!("{:08b}{:08b}{:08b}", 100, 0, 31);
        for v in [0, 1, 0, 0] {
            bits += &ue(v); // sps id, chroma_format_idc, luma and chroma depth - 8
        }
        bits += "00"; // qpprime_y_zero_transform_bypass, no scaling matrix
        bits += "1"; // rbsp stop bit
        while !bits.len().is_multiple_of(8) {
            bits.push('0');
        }
        let mut high = vec![0x67];
        high.extend(
            bits.as_bytes()
                .chunks(8)
                .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap()),
        );
        let mut frame = vec![0, 0, 0, 1];
        frame.extend_from_slice(&high);
        frame.extend_from_slice(&[0, 0, 1]);
        frame.extend_from_slice(&pps);
        let avcc = h264_avcc(&frame).unwrap();
        assert_eq!(avcc[1], 100);
        assert_eq!(&avcc[avcc.len() - 4..], &[0xfd, 0xf8, 0xf8, 0]);
    }

    #[test]
    fn av1_sequence_header_size() {
        // reduced_still_picture_header = 0, no timing info, no initial display
        // delay, one operating point (idc 0, level 8 -> tier bit), 11+11 bit sizes.
        let mut bits = String::from("000" /* profile */);
        bits += "0" /* still */;
        bits += "0" /* reduced */;
        bits += "0" /* timing_info_present */;
        bits += "0" /* initial_display_delay_present */;
        bits += "00000" /* operating_points_cnt_minus_1 */;
        bits += "000000000000" /* idc */;
        bits += "01000" /* level 8 */;
        bits += "0" /* tier */;
        bits += "1010" /* width bits - 1 = 10 */;
        bits += "1010";
        bits += &format!("{:011b}", 1279);
        bits += &format!("{:011b}", 719);
        bits += "0" /* frame_id_numbers_present */;
        bits += "000" /* sb128, filter_intra, intra_edge */;
        bits += "0000" /* interintra, masked, warped, dual filter */;
        bits += "0" /* order hint */;
        bits += "0" /* seq_choose_screen_content_tools */;
        bits += "0" /* seq_force_screen_content_tools */;
        bits += "000" /* superres, cdef, restoration */;
        bits += "0" /* high_bitdepth */;
        bits += "0" /* mono_chrome */;
        bits += "0" /* color_description_present */;
        bits += "0" /* color_range */;
        bits += "10" /* chroma_sample_position */;
        bits += "0" /* separate_uv_delta_q */;
        while !bits.len().is_multiple_of(8) {
            bits.push('0');
        }
        let payload: Vec<u8> = bits
            .as_bytes()
            .chunks(8)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
            .collect();
        // Temporal delimiter (type 2, size 0), then the sequence header with a size.
        let mut frame = vec![0x12, 0x00, 0x0a, payload.len() as u8];
        frame.extend_from_slice(&payload);
        frame.extend_from_slice(&[0x32, 0x01, 0xaa]); // a frame OBU
        assert_eq!(video_dimensions(Codec::Av1, &frame), Some((1280, 720)));
        // Without size fields the sequence header runs to the end.
        let mut bare = vec![0x08];
        bare.extend_from_slice(&payload);
        assert_eq!(video_dimensions(Codec::Av1, &bare), Some((1280, 720)));
        assert_eq!(video_dimensions(Codec::Av1, &[0x0a, 0x7f]), None);
        let config = av1_config(&frame).unwrap();
        // Marker/version, profile 0 level 8, tier 0 8-bit 4:2:0 position 2, no delay.
        assert_eq!(&config[..4], &[0x81, 0x08, 0b0000_1110, 0]);
        assert_eq!(&config[4..6], &[0x0a, payload.len() as u8]);
        assert_eq!(&config[6..], &payload[..]);
    }

    #[test]
    fn parsers_never_panic_on_garbage() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..5000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (state >> (i % 57)) as u8).collect();
            for codec in [Codec::Vp8, Codec::Vp9, Codec::Av1, Codec::H264] {
                let _ = video_dimensions(codec, &bytes);
            }
            let _ = h264_avcc(&bytes);
            let _ = av1_config(&bytes);
            let _ = annex_b_to_avc(&bytes);
            let _ = opus_packet_duration(&bytes);
        }
    }
}
