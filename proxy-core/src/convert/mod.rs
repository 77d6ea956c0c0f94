//! Jingle <-> SDP, following lib-jitsi-meet's rules (modules/sdp/SDP.ts).

use crate::error::ConvertError;
use crate::jingle::{Action, Candidate, Creator, Jingle};

/// Builds the SDP text of a session-initiate (an offer) or session-accept (an answer).
///
/// `session_id` fills the `o=` line. Candidates in the contents, if any, become
/// `a=candidate` lines.
pub fn jingle_to_sdp(jingle: &Jingle, session_id: u64) -> Result<String, ConvertError> {
    let _ = (jingle, session_id);
    Err(ConvertError::Missing("converter"))
}

/// Builds a `<jingle>` with `action` whose contents describe `sdp`, written by a
/// party with role `creator`. Candidates in the SDP are kept in the transports.
pub fn sdp_to_jingle(sdp: &str, action: Action, creator: Creator) -> Result<Jingle, ConvertError> {
    let _ = (sdp, action, creator);
    Err(ConvertError::Missing("converter"))
}

/// Writes a Jingle candidate as an SDP candidate attribute value
/// (`candidate:<foundation> <component> <protocol> <priority> <ip> <port> typ <type> …`).
pub fn candidate_to_sdp(c: &Candidate) -> String {
    let _ = c;
    String::new()
}

/// Reads an SDP candidate (with or without the `a=` and `candidate:` prefixes).
pub fn candidate_from_sdp(s: &str) -> Result<Candidate, ConvertError> {
    let _ = s;
    Err(ConvertError::Missing("converter"))
}
