//! Jingle <-> SDP, following lib-jitsi-meet's rules (modules/sdp/SDP.ts, SDPUtil.ts)
//! for a peer-to-peer session (`isP2P`, which is what a proxy connection is).
//!
//! # Jingle -> SDP ([`jingle_to_sdp`])
//!
//! Session lines `v=0`, `o=- <session_id> 2 IN IP4 0.0.0.0`, `s=-`, `t=0 0`, one
//! `a=group` per `<group>`, `a=cryptex` if a fingerprint says so. Per content, in order:
//! `m=<media> 9 UDP/TLS/RTP/SAVPF <pts>` (port 0 when `senders='rejected'`),
//! `c=IN IP4 0.0.0.0`, `a=rtcp:1 IN IP4 0.0.0.0`, `a=ice-ufrag`, `a=ice-pwd`,
//! `a=fingerprint` + `a=setup`, `a=candidate`s, the direction, `a=msid` (from the
//! first `<source>` with an `msid` parameter; str0m reads it there), `a=mid`,
//! `a=rtcp-mux`, per payload type `a=rtpmap` / `a=fmtp` / `a=rtcp-fb`, the
//! description-level `a=rtcp-fb:*`, `a=extmap`, `a=extmap-allow-mixed`,
//! `a=ssrc-group`, `a=ssrc`.
//!
//! # SDP -> Jingle ([`sdp_to_jingle`])
//!
//! One content per m-line named by its mid, `<group>` from `a=group`, payload types
//! with fmtp parameters and rtcp-fb, header extensions, sources from `a=ssrc` (msid
//! from `a=ssrc:<n> msid:` or else the media-level `a=msid`), ssrc groups, and an
//! ICE-UDP transport with credentials, fingerprint and candidates (media level first,
//! session level as the fallback, as lib-jitsi-meet does).
//!
//! # Directions
//!
//! `content@senders` is the writer's own SDP direction with a fixed mapping whatever
//! the writer's role: `sendrecv` = `both`, `sendonly` = `initiator`, `recvonly` =
//! `responder`, `inactive` = `none`; a port-0 m-line is `rejected` (written back as
//! port 0 with `a=inactive`). A content without `senders` is `both` (XEP-0166's
//! default) and gets `a=sendrecv`, since str0m wants one direction per m-line.
//!
//! # Where this differs from lib-jitsi-meet (on purpose)
//!
//! - `<rtcp-fb-trr-int>` of a payload type is written as `a=rtcp-fb:<pt> trr-int <v>`
//!   (lib-jitsi-meet writes `*`, which cannot be read back to the same payload type).
//! - `<rtp-hdrext senders>` is written back as the extmap direction (the inverse of
//!   lib-jitsi-meet's reading rule), so it survives a round trip.
//! - fmtp values keep everything after the first `=` (lib-jitsi-meet cuts at a second `=`),
//!   and an rtcp-fb subtype keeps all its words (e.g. `ccm tmmbr smaxpr=120`).
//! - `cname` and other `a=ssrc` attributes stay as `<source>` parameters.
//! - Values that would break the SDP line structure (control characters, spaces in
//!   tokens) are rejected with [`ConvertError::Invalid`] rather than written.

mod candidate;
mod from_sdp;
mod to_sdp;

use crate::error::ConvertError;
use crate::jingle::{Action, Creator, Jingle, Senders};

pub use candidate::{candidate_from_sdp, candidate_to_sdp};

/// Builds the SDP text of a session-initiate (an offer) or session-accept (an answer).
///
/// `session_id` fills the `o=` line. Candidates in the contents, if any, become
/// `a=candidate` lines.
///
/// Fails with [`ConvertError::Missing`] when a (not rejected) content lacks a
/// description, payload types, ICE credentials or a fingerprint, and with
/// [`ConvertError::Invalid`] for values SDP cannot carry (payload type above 127, a
/// group naming an unknown content, control characters, ...).
pub fn jingle_to_sdp(jingle: &Jingle, session_id: u64) -> Result<String, ConvertError> {
    to_sdp::jingle_to_sdp(jingle, session_id)
}

/// Builds a `<jingle>` with `action` whose contents describe `sdp`, written by a
/// party with role `creator`. Candidates in the SDP are kept in the transports.
///
/// For `session-initiate` and `session-accept` every content that is not rejected
/// must have ICE credentials and a fingerprint ([`ConvertError::Missing`] otherwise).
///
/// SDP holding control characters other than line ends is refused as a whole:
/// XML cannot carry them, so the Jingle would not say what the SDP said.
pub fn sdp_to_jingle(
    sdp: &str,
    action: Action,
    creator: Creator,
) -> Result<Jingle<'static>, ConvertError> {
    if let Some(at) = first_control(sdp, true) {
        let line_start = sdp[..at].rfind('\n').map_or(0, |i| i + 1);
        let line = sdp[line_start..].lines().next().unwrap_or_default();
        return Err(invalid("SDP line with a control character", line));
    }
    from_sdp::sdp_to_jingle(sdp, action, creator)
}

/// Where the first control character starts (what `str::find(char::is_control)`
/// finds), CR and LF excepted if `line_ends_allowed`. By bytes: C0 and DEL are one
/// byte, and in UTF-8 the C1 controls U+0080..=U+009F are `C2 80`..=`C2 9F`.
fn first_control(s: &str, line_ends_allowed: bool) -> Option<usize> {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().position(|(i, &b)| match b {
        b'\r' | b'\n' => !line_ends_allowed,
        0x00..=0x1f | 0x7f => true,
        0xc2 => bytes.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)),
        _ => false,
    })
}

/// What sdp-types' `a=fingerprint` reader accepts as the value after the hash:
/// `:`-separated groups of an even number of hex digits, any case (an empty group
/// too).
pub(crate) fn is_hex_fingerprint(value: &str) -> bool {
    value
        .split(':')
        .all(|g| g.len() % 2 == 0 && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The SDP direction lib-jitsi-meet writes for `senders` (`None` for `rejected`).
pub(crate) fn direction_of(senders: Senders) -> Option<&'static str> {
    match senders {
        Senders::Both => Some("sendrecv"),
        Senders::Initiator => Some("sendonly"),
        Senders::Responder => Some("recvonly"),
        Senders::None => Some("inactive"),
        Senders::Rejected => None,
    }
}

/// `senders` for an SDP direction attribute name, if it is one.
pub(crate) fn senders_of(direction: &str) -> Option<Senders> {
    match direction {
        "sendrecv" => Some(Senders::Both),
        "sendonly" => Some(Senders::Initiator),
        "recvonly" => Some(Senders::Responder),
        "inactive" => Some(Senders::None),
        _ => None,
    }
}

/// Builds [`ConvertError::Invalid`], truncating the value to 64 bytes.
pub(crate) fn invalid(what: &'static str, value: &str) -> ConvertError {
    let mut end = value.len().min(64);
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    ConvertError::Invalid {
        what,
        value: value[..end].to_owned(),
    }
}

/// Checks that `s` is a non-empty SDP token: no whitespace, no control characters.
pub(crate) fn check_token<'a>(what: &'static str, s: &'a str) -> Result<&'a str, ConvertError> {
    if is_token(s) {
        Ok(s)
    } else {
        Err(invalid(what, s))
    }
}

/// Whether `s` is non-empty with no white space or control characters. Text of
/// printable ASCII only (nearly every value) is one by a byte scan, 16 bytes at a
/// time; anything else goes through the character check.
pub(crate) fn is_token(s: &str) -> bool {
    /// Outside `!`..=`~`: space, a control, DEL or part of a non-ASCII character.
    fn unusual(b: u8) -> bool {
        b.wrapping_sub(b'!') > b'~' - b'!'
    }
    let bytes = s.as_bytes();
    let mut chunks = bytes.chunks_exact(16);
    // No early exit inside a chunk, so the compiler can compare it as one vector.
    let printable = chunks.all(|c| !c.iter().fold(false, |any, &b| any | unusual(b)))
        && !chunks.remainder().iter().any(|&b| unusual(b));
    if printable {
        !s.is_empty()
    } else {
        !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
    }
}

/// Checks that `s` holds no control characters (spaces are fine).
pub(crate) fn check_text<'a>(what: &'static str, s: &'a str) -> Result<&'a str, ConvertError> {
    if first_control(s, false).is_some() {
        Err(invalid(what, s))
    } else {
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_mapping_is_symmetric() {
        for s in [
            Senders::Both,
            Senders::Initiator,
            Senders::Responder,
            Senders::None,
        ] {
            let d = direction_of(s).unwrap(); // every non-rejected value has a direction
            assert_eq!(senders_of(d), Some(s));
        }
        assert_eq!(direction_of(Senders::Rejected), None);
        assert_eq!(senders_of("sendmaybe"), None);
    }

    #[test]
    fn invalid_truncates_on_char_boundary() {
        let long = "é".repeat(100);
        match invalid("x", &long) {
            ConvertError::Invalid { value, .. } => {
                assert!(value.len() <= 64);
                assert!(value.chars().all(|c| c == 'é'));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    proptest::proptest! {
        /// The byte scan finds what the character search finds.
        #[test]
        fn first_control_is_the_char_search(
            s in "(\\PC|[\\x00-\\x1f\\x7f\\u{80}-\\u{a0}\\r\\n]){0,40}"
        ) {
            let by_chars = s.find(|c: char| c.is_control() && c != '\r' && c != '\n');
            proptest::prop_assert_eq!(first_control(&s, true), by_chars);
            proptest::prop_assert_eq!(first_control(&s, false), s.find(char::is_control));
        }

        /// The byte check of tokens decides as the character check does.
        #[test]
        fn is_token_is_the_char_check(
            s in proptest::prop_oneof![
                // Printable ASCII with at most one other character, anywhere in
                // the 16-byte chunks or the remainder.
                "[!-~]{0,40}([\\x00-\\x20\\x7f\\u{80}-\\u{a0}\\u{2000}\\u{3000}][!-~]{0,40})?",
                "(\\PC|[\\x00-\\x20\\x7f\\u{80}-\\u{a0}\\u{1680}\\u{2000}-\\u{200b}\\u{3000}]){0,12}",
            ]
        ) {
            let by_chars = !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
            proptest::prop_assert_eq!(is_token(&s), by_chars);
        }
    }

    #[test]
    fn hex_fingerprint_is_what_sdp_types_reads() {
        for v in [
            "AA:bb:09", ":", "AABB", "A", "AA:B", "GG", "AA::BB", "é0", "AA:BB:", "0",
        ] {
            let sdp_types_reads = format!("sha-256 {v}")
                .parse::<sdp_types::Fingerprint>()
                .is_ok();
            assert_eq!(is_hex_fingerprint(v), sdp_types_reads, "{v:?}");
        }
    }

    #[test]
    fn tokens_and_text() {
        assert!(check_token("t", "abc").is_ok());
        assert!(check_token("t", "").is_err());
        assert!(check_token("t", "a b").is_err());
        assert!(check_text("t", "a b").is_ok());
        assert!(check_text("t", "a\r\nb").is_err());
    }
}
