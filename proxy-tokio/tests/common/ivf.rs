//! The tests' own IVF reader: the program's reader and writer belong to the program,
//! and an independent reader checks its files better anyway.
//!
//! A 32-byte file header ("DKIF", version, header size, fourcc, width, height,
//! timebase denominator and numerator, frame count), then per frame a 12-byte header
//! (size, pts) and the frame; all little-endian. Malformed bytes fail the test.

use bytes::Bytes;

/// The file header's fields the tests look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IvfHeader {
    pub width: u16,
    pub height: u16,
    pub timebase_den: u32,
    pub timebase_num: u32,
    pub frame_count: u32,
}

/// One frame: its pts in timebase units and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvfFrame {
    pub pts: u64,
    pub data: Bytes,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Reads IVF bytes: the header and every frame (whole frames only).
pub fn read_ivf(bytes: &[u8]) -> (IvfHeader, Vec<IvfFrame>) {
    assert!(bytes.len() >= 32, "an IVF header: {} bytes", bytes.len());
    assert_eq!(&bytes[..4], b"DKIF", "an IVF signature");
    let header_len = usize::from(u16_at(bytes, 6));
    assert!(
        (32..=bytes.len()).contains(&header_len),
        "IVF header size {header_len}"
    );
    let header = IvfHeader {
        width: u16_at(bytes, 12),
        height: u16_at(bytes, 14),
        timebase_den: u32_at(bytes, 16),
        timebase_num: u32_at(bytes, 20),
        frame_count: u32_at(bytes, 24),
    };
    let mut frames = Vec::new();
    let mut rest = &bytes[header_len..];
    while !rest.is_empty() {
        assert!(rest.len() >= 12, "a whole IVF frame header");
        let size = u32_at(rest, 0) as usize;
        let pts = u64::from_le_bytes(rest[4..12].try_into().unwrap());
        assert!(rest.len() - 12 >= size, "a whole IVF frame of {size} bytes");
        frames.push(IvfFrame {
            pts,
            data: Bytes::copy_from_slice(&rest[12..12 + size]),
        });
        rest = &rest[12 + size..];
    }
    (header, frames)
}
