//! H.264 in Annex B byte stream form (ITU-T H.264 Annex B): NAL units behind start
//! codes (`00 00 01`, or `00 00 00 01`), with no timestamps and no frame index.
//!
//! [`access_units`] splits such a stream into access units, the unit a sender puts
//! on the wire as one frame (one RTP timestamp). A new access unit begins
//! (H.264 7.4.1.2.3, simplified for streams without redundant pictures or
//! auxiliary pictures) once the current one holds a picture and
//! - an access unit delimiter (type 9), SPS (7), PPS (8), SEI (6) or a NAL unit of
//!   type 14..=18 comes: these lead the *next* picture, or
//! - a slice (type 1, 2 or 5) with `first_mb_in_slice == 0` comes: the first slice
//!   of the next picture.
//!
//! Each access unit keeps its bytes exactly as they were in the stream (start codes
//! included), so the access units laid end to end are the stream from its first
//! start code. Trailing NAL units with no picture after them (end of sequence or of
//! stream) stay with the last access unit.
//!
//! The reader is bounded (an access unit larger than the limit is refused) and
//! reports anything that is not Annex B H.264 as an [`AnnexBError`]; it never panics.

use bytes::Bytes;

/// Default largest access unit accepted (the same limit as an IVF frame's).
pub const DEFAULT_MAX_ACCESS_UNIT: usize = crate::ivf::DEFAULT_MAX_FRAME_SIZE as usize;

/// NAL unit types this module looks at (H.264 Table 7-1).
mod nal {
    /// Coded slice of a non-IDR picture.
    pub const SLICE: u8 = 1;
    /// Coded slice data partition A.
    pub const PARTITION_A: u8 = 2;
    /// Coded slice of an IDR picture.
    pub const IDR: u8 = 5;
    /// Supplemental enhancement information.
    pub const SEI: u8 = 6;
    /// Sequence parameter set.
    pub const SPS: u8 = 7;
    /// Picture parameter set.
    pub const PPS: u8 = 8;
    /// Access unit delimiter.
    pub const AUD: u8 = 9;
}

/// Why a byte stream could not be split into access units.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnnexBError {
    /// No start code within the first bytes (only zero bytes may precede the first).
    #[error(
        "not an H.264 Annex B stream: no start code at the beginning (byte {at} is {byte:#04x})"
    )]
    NoStartCode {
        /// Offset of the first byte that is neither zero nor a start code.
        at: usize,
        /// That byte.
        byte: u8,
    },
    /// A NAL unit header with the forbidden bit set: not H.264.
    #[error("not H.264: the NAL unit at byte {at} has its forbidden_zero_bit set")]
    ForbiddenBit {
        /// Offset of the NAL unit header.
        at: usize,
    },
    /// An access unit larger than the limit.
    #[error("access unit {index} (from byte {at}) is over {limit} bytes")]
    TooLarge {
        /// Index of the access unit.
        index: usize,
        /// Its first byte.
        at: usize,
        /// The limit.
        limit: usize,
    },
    /// The stream has no picture at all.
    #[error("no coded picture (no slice NAL unit) in the stream")]
    NoPicture,
}

/// One access unit: a coded picture with the parameter sets and SEI before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// Its bytes as they were in the stream, start codes included.
    pub data: Bytes,
    /// It holds an IDR slice (a decoder can start here).
    pub keyframe: bool,
    /// Offset of its first byte in the stream.
    pub offset: usize,
}

/// Whether `data` starts like an Annex B stream: zero bytes, then `00 00 01` and a
/// NAL unit header with the forbidden bit clear.
pub fn looks_like_annex_b(data: &[u8]) -> bool {
    let zeros = data.iter().take_while(|b| **b == 0).count();
    zeros >= 2 && data.get(zeros) == Some(&1) && data.get(zeros + 1).is_some_and(|h| h & 0x80 == 0)
}

/// One NAL unit found in the stream.
#[derive(Debug, Clone, Copy)]
struct Nal {
    /// Offset of its start code's first byte (zero bytes before `00 00 01` count).
    start: usize,
    /// Offset of its header byte.
    header: usize,
}

/// Offsets of every `00 00 01` start code in `data` with the zero bytes before it:
/// `(first zero byte, NAL header)`.
fn nal_units(data: &[u8]) -> Vec<Nal> {
    let mut out = Vec::new();
    let mut zeros = 0usize;
    for (i, &b) in data.iter().enumerate() {
        match b {
            0 => zeros += 1,
            1 if zeros >= 2 => {
                out.push(Nal {
                    start: i - zeros,
                    header: i + 1,
                });
                zeros = 0;
            }
            _ => zeros = 0,
        }
    }
    out
}

/// Splits an Annex B H.264 stream into access units, each at most `limit` bytes.
pub fn access_units(data: &[u8], limit: usize) -> Result<Vec<AccessUnit>, AnnexBError> {
    let lead = data.iter().take_while(|b| **b == 0).count();
    let nals = nal_units(data);
    match nals.first() {
        Some(first) if first.start == 0 || data[..first.start].iter().all(|b| *b == 0) => {}
        _ => {
            let at = lead.min(data.len().saturating_sub(1));
            return Err(AnnexBError::NoStartCode {
                at,
                byte: data.get(at).copied().unwrap_or(0),
            });
        }
    }
    let mut units = Vec::new();
    // The access unit being built: its first byte, whether it has a picture, an IDR.
    let mut current: Option<(usize, bool, bool)> = None;
    let close = |units: &mut Vec<AccessUnit>, start: usize, end: usize, idr: bool| {
        if end - start > limit {
            return Err(AnnexBError::TooLarge {
                index: units.len(),
                at: start,
                limit,
            });
        }
        units.push(AccessUnit {
            data: Bytes::copy_from_slice(&data[start..end]),
            keyframe: idr,
            offset: start,
        });
        Ok(())
    };
    for nal in &nals {
        // A start code at the very end has no header: nothing follows, stop.
        let Some(&header) = data.get(nal.header) else {
            break;
        };
        if header & 0x80 != 0 {
            return Err(AnnexBError::ForbiddenBit { at: nal.header });
        }
        let kind = header & 0x1f;
        let vcl = matches!(kind, nal::SLICE | nal::PARTITION_A | nal::IDR);
        let first_slice = vcl
            && data
                .get(nal.header + 1)
                .is_some_and(|b| b & 0x80 != 0 /* ue(v) 0 is the single bit 1 */);
        let leads_next = matches!(kind, nal::SEI | nal::SPS | nal::PPS | nal::AUD | 14..=18);
        match current {
            Some((start, true, idr)) if leads_next || first_slice => {
                close(&mut units, start, nal.start, idr)?;
                current = Some((nal.start, vcl, kind == nal::IDR));
            }
            Some((start, has_picture, idr)) => {
                // Growing: bound it now, not only when it ends.
                if nal.start - start > limit {
                    return Err(AnnexBError::TooLarge {
                        index: units.len(),
                        at: start,
                        limit,
                    });
                }
                current = Some((start, has_picture || vcl, idr || kind == nal::IDR));
            }
            // The first: from the stream's start (only zero bytes come before it).
            None => current = Some((0, vcl, kind == nal::IDR)),
        }
    }
    match current {
        Some((start, true, idr)) => close(&mut units, start, data.len(), idr)?,
        // NAL units with no picture after the last one: they end the stream.
        Some((_, false, _)) => match units.len().checked_sub(1) {
            Some(index) => {
                let last = &mut units[index];
                if data.len() - last.offset > limit {
                    return Err(AnnexBError::TooLarge {
                        index,
                        at: last.offset,
                        limit,
                    });
                }
                last.data = Bytes::copy_from_slice(&data[last.offset..]);
            }
            None => return Err(AnnexBError::NoPicture),
        },
        None => return Err(AnnexBError::NoPicture),
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIP: &[u8] = include_bytes!("../../../../assets/clip-h264.h264");

    /// A NAL unit with a 4-byte start code: header byte then `body`.
    fn nal4(header: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 1, header];
        v.extend_from_slice(body);
        v
    }

    /// The same with a 3-byte start code.
    fn nal3(header: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 1, header];
        v.extend_from_slice(body);
        v
    }

    const FIRST: &[u8] = &[0x88, 0x84, 0x21]; // first_mb_in_slice = 0
    const LATER: &[u8] = &[0x20, 0x84, 0x21]; // first_mb_in_slice = 7 (0001000)

    #[test]
    fn splits_the_shipped_clip_into_its_pictures() {
        let units = access_units(CLIP, DEFAULT_MAX_ACCESS_UNIT).unwrap();
        assert_eq!(units.len(), 60);
        let keys: Vec<usize> = (0..units.len()).filter(|i| units[*i].keyframe).collect();
        assert_eq!(keys, vec![0, 30]);
        // Each starts with its delimiter; the IDRs carry SPS and PPS first.
        for (i, u) in units.iter().enumerate() {
            assert_eq!(&u.data[..5], &[0, 0, 0, 1, 0x09], "unit {i}");
        }
        let types = |u: &AccessUnit| -> Vec<u8> {
            nal_units(&u.data)
                .iter()
                .map(|n| u.data[n.header] & 0x1f)
                .collect()
        };
        assert_eq!(types(&units[30]), vec![9, 7, 8, 5]);
        assert_eq!(types(&units[1]), vec![9, 1]);
        // Laid end to end they are the stream.
        let whole: Vec<u8> = units.iter().flat_map(|u| u.data.to_vec()).collect();
        assert_eq!(whole, CLIP);
    }

    #[test]
    fn splits_at_the_first_slice_without_delimiters() {
        let mut s = Vec::new();
        s.extend(nal4(0x67, &[0x42, 0xc0, 0x1f])); // SPS
        s.extend(nal4(0x68, &[0xce])); // PPS
        s.extend(nal3(0x65, FIRST)); // IDR, slice 0
        s.extend(nal3(0x65, LATER)); // IDR, a later slice of the same picture
        s.extend(nal3(0x41, FIRST)); // next picture
        s.extend(nal3(0x41, LATER));
        s.extend(nal4(0x06, &[5, 1, 0x80])); // SEI: leads the next picture
        s.extend(nal3(0x41, FIRST));
        s.extend(nal3(0x0b, &[])); // end of stream: stays with the last
        let units = access_units(&s, 1000).unwrap();
        let sizes: Vec<usize> = units.iter().map(|u| u.data.len()).collect();
        assert_eq!(sizes, vec![8 + 6 + 7 + 7, 7 + 7, 8 + 7 + 4]);
        assert_eq!(
            units.iter().map(|u| u.keyframe).collect::<Vec<_>>(),
            vec![true, false, false]
        );
        assert_eq!(units[2].offset, s.len() - 19);
        assert_eq!(&units[2].data[..5], &[0, 0, 0, 1, 0x06]);
    }

    #[test]
    fn leading_zero_bytes_go_with_the_first_unit() {
        let mut s = vec![0, 0, 0, 0];
        s.extend(nal3(0x65, FIRST));
        let units = access_units(&s, 100).unwrap();
        assert_eq!(units.len(), 1);
        assert_eq!(units[0].data.len(), s.len());
        assert!(looks_like_annex_b(&s));
    }

    #[test]
    fn refuses_what_is_not_annex_b() {
        assert_eq!(
            access_units(b"DKIF\0\0\0\x01", 100),
            Err(AnnexBError::NoStartCode { at: 0, byte: b'D' })
        );
        assert_eq!(
            access_units(&[], 100),
            Err(AnnexBError::NoStartCode { at: 0, byte: 0 })
        );
        assert_eq!(
            access_units(&[0, 0, 0], 100),
            Err(AnnexBError::NoStartCode { at: 2, byte: 0 })
        );
        assert!(!looks_like_annex_b(b"DKIF"));
        assert!(!looks_like_annex_b(&[0, 0, 1, 0xff]));
        assert_eq!(
            access_units(&[0, 0, 1, 0xe5, 1, 2], 100),
            Err(AnnexBError::ForbiddenBit { at: 3 })
        );
        // Parameter sets alone: no picture.
        assert_eq!(
            access_units(&nal4(0x67, &[1, 2, 3]), 100),
            Err(AnnexBError::NoPicture)
        );
    }

    #[test]
    fn refuses_an_access_unit_over_the_limit() {
        let mut s = nal4(0x65, FIRST);
        s.extend(std::iter::repeat_n(0x55, 100));
        s.extend(nal4(0x41, FIRST));
        assert_eq!(
            access_units(&s, 50),
            Err(AnnexBError::TooLarge {
                index: 0,
                at: 0,
                limit: 50
            })
        );
        // A long run of slices of one picture is bounded while it grows.
        let mut s = nal4(0x65, FIRST);
        for _ in 0..40 {
            s.extend(nal4(0x65, LATER));
        }
        assert!(matches!(
            access_units(&s, 64),
            Err(AnnexBError::TooLarge { index: 0, .. })
        ));
        assert_eq!(access_units(&s, 1000).unwrap().len(), 1);
    }

    #[test]
    fn garbage_never_panics() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..3000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 120) as usize;
            let mut bytes: Vec<u8> = (0..len)
                .map(|i| {
                    let x = (state >> (i % 56)) as u8;
                    // Plenty of zeros and ones so that start codes appear.
                    if x.is_multiple_of(3) {
                        0
                    } else if x.is_multiple_of(7) {
                        1
                    } else {
                        x
                    }
                })
                .collect();
            if round % 2 == 0 {
                bytes.splice(0..0, [0, 0, 1]);
            }
            if let Ok(units) = access_units(&bytes, 40) {
                assert!(!units.is_empty());
                let mut at = None;
                for u in &units {
                    assert!(u.data.len() <= 40);
                    assert!(at.is_none_or(|a| u.offset > a));
                    at = Some(u.offset);
                }
            }
        }
    }
}
