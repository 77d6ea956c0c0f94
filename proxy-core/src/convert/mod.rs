//! Jingle <-> SDP, following lib-jitsi-meet's rules (modules/sdp/SDP.ts, SDPUtil.ts)
//! for a peer-to-peer session (`isP2P`, which is what a proxy connection is): one
//! m-line per `<content>` named by its mid, the lines in lib-jitsi-meet's order
//! (`to_sdp::media`), media-level values read first and session-level ones as the
//! fallback. The rules a user sees are in [`jingle_to_sdp`]'s docs.

mod candidate;
mod from_sdp;
mod to_sdp;

use sdp_types::Direction;

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
///
/// # Directions
///
/// `content@senders` is the writer's own SDP direction with a fixed mapping whatever
/// the writer's role: `sendrecv` = `both`, `sendonly` = `initiator`, `recvonly` =
/// `responder`, `inactive` = `none`; a port-0 m-line is `rejected` (written back as
/// port 0 with `a=inactive`). A content without `senders` is `both` (XEP-0166's
/// default) and gets `a=sendrecv`, since str0m wants one direction per m-line.
///
/// # Where this differs from lib-jitsi-meet (on purpose)
///
/// - `<rtcp-fb-trr-int>` of a payload type is written as `a=rtcp-fb:<pt> trr-int <v>`
///   (lib-jitsi-meet writes `*`, which cannot be read back to the same payload type).
/// - `<rtp-hdrext senders>` is written back as the extmap direction (the inverse of
///   lib-jitsi-meet's reading rule), so it survives a round trip.
/// - fmtp values keep everything after the first `=` (lib-jitsi-meet cuts at a second `=`),
///   and an rtcp-fb subtype keeps all its words (e.g. `ccm tmmbr smaxpr=120`).
/// - `cname` and other `a=ssrc` attributes stay as `<source>` parameters.
/// - Values that would break the SDP line structure (control characters, spaces in
///   tokens) are rejected with [`ConvertError::Invalid`] rather than written.
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
pub fn sdp_to_jingle(sdp: &str, action: Action, creator: Creator) -> Result<Jingle, ConvertError> {
    if let Some(at) = sdp.find(|c: char| c.is_control() && c != '\r' && c != '\n') {
        let line_start = sdp[..at].rfind('\n').map_or(0, |i| i + 1);
        let line = sdp[line_start..].lines().next().unwrap_or_default();
        return Err(invalid("SDP line with a control character", line));
    }
    from_sdp::sdp_to_jingle(sdp, action, creator)
}

/// lib-jitsi-meet's table between `<content senders>` and the m-line's SDP
/// direction, whichever role the writer has: `initiator` is `sendonly`,
/// `responder` is `recvonly`. `<rtp-hdrext senders>` reads the same table
/// from the other side ([`mirrored`]). In the order an m-line's direction
/// attributes are looked for.
pub(crate) const SENDERS_DIRECTION: [(Senders, Direction); 4] = [
    (Senders::Both, Direction::SendRecv),
    (Senders::Initiator, Direction::SendOnly),
    (Senders::Responder, Direction::RecvOnly),
    (Senders::None, Direction::Inactive),
];

/// The SDP direction lib-jitsi-meet writes for `senders` (`None` for `rejected`).
pub(crate) fn direction_of(senders: Senders) -> Option<Direction> {
    SENDERS_DIRECTION
        .iter()
        .find(|(s, _)| *s == senders)
        .map(|(_, d)| *d)
}

/// `senders` for an m-line's SDP direction (the inverse of [`direction_of`]).
pub(crate) fn senders_of(direction: Direction) -> Senders {
    SENDERS_DIRECTION
        .iter()
        .find(|(_, d)| *d == direction)
        // Every direction is in the table; `none` is never reached.
        .map_or(Senders::None, |(s, _)| *s)
}

/// `senders` seen from the other side: initiator and responder swapped.
fn mirrored(senders: Senders) -> Senders {
    match senders {
        Senders::Initiator => Senders::Responder,
        Senders::Responder => Senders::Initiator,
        other => other,
    }
}

/// `<rtp-hdrext senders>` for an `a=extmap` direction: lib-jitsi-meet's reading
/// rule (`sendonly` is the responder, `recvonly` the initiator).
pub(crate) fn hdrext_senders_of(direction: Direction) -> Senders {
    mirrored(senders_of(direction))
}

/// The `a=extmap` direction for `<rtp-hdrext senders>`, the inverse of
/// [`hdrext_senders_of`] (`None` for `rejected`, which has no direction).
pub(crate) fn hdrext_direction_of(senders: Senders) -> Option<Direction> {
    direction_of(mirrored(senders))
}

/// Builds [`ConvertError::Invalid`], truncating the value to 64 bytes.
pub(crate) fn invalid(what: &'static str, value: &str) -> ConvertError {
    ConvertError::Invalid {
        what,
        value: crate::error::excerpt(value),
    }
}

/// Checks that `s` is a non-empty SDP token: no white space, no control characters.
pub(crate) fn check_token<'a>(what: &'static str, s: &'a str) -> Result<&'a str, ConvertError> {
    if is_token(s) {
        Ok(s)
    } else {
        Err(invalid(what, s))
    }
}

/// Whether `s` is non-empty with no white space or control characters.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks that `s` holds no control characters (spaces are fine).
pub(crate) fn check_text<'a>(what: &'static str, s: &'a str) -> Result<&'a str, ConvertError> {
    if s.chars().any(char::is_control) {
        Err(invalid(what, s))
    } else {
        Ok(s)
    }
}

/// Whether sdp-types reads `value` (`<hash> <hex groups>`) as an `a=fingerprint`.
pub(crate) fn is_fingerprint(value: &str) -> bool {
    value.parse::<sdp_types::Fingerprint>().is_ok()
}
