//! Hand-written, bounded parser for `<iq>` stanzas carrying `<jingle>`.

use crate::error::ParseError;
use crate::message::Iq;

/// Bounds on what one incoming message may contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message in bytes (default 256 KiB).
    pub max_bytes: usize,
    /// Deepest element nesting (default 16; the deepest real message nests 7).
    pub max_depth: usize,
    /// Most `<content>`s in one `<jingle>` (default 16).
    pub max_contents: usize,
    /// Most `<payload-type>`s in one description (default 64).
    pub max_payload_types: usize,
    /// Most `<candidate>`s in one transport (default 64).
    pub max_candidates: usize,
    /// Most `<source>`s (and `<ssrc-group>`s) in one description (default 64).
    pub max_sources: usize,
    /// Most children of any other repeated kind in one parent: parameters,
    /// rtcp-fb, rtp-hdrext, group members (default 64).
    pub max_children: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 256 * 1024,
            max_depth: 16,
            max_contents: 16,
            max_payload_types: 64,
            max_candidates: 64,
            max_sources: 64,
            max_children: 64,
        }
    }
}

/// Parses one stringified `<iq>`.
pub fn parse_iq(input: &str, limits: &Limits) -> Result<Iq, ParseError> {
    let _ = (input, limits);
    Err(ParseError::UnexpectedElement {
        found: String::new(),
        expected: "<iq>",
    })
}

/// Parses one `<iq>` from bytes, rejecting invalid UTF-8 first.
pub fn parse_iq_bytes(input: &[u8], limits: &Limits) -> Result<Iq, ParseError> {
    if input.len() > limits.max_bytes {
        return Err(ParseError::TooLarge {
            len: input.len(),
            limit: limits.max_bytes,
        });
    }
    match std::str::from_utf8(input) {
        Ok(s) => parse_iq(s, limits),
        Err(e) => Err(ParseError::Xml {
            at: e.valid_up_to() as u64,
            reason: "invalid UTF-8".into(),
        }),
    }
}
