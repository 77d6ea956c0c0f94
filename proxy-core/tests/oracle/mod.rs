//! The Jingle <-> SDP conversions as they were before they were rewritten for speed
//! (commit 3b9762d), kept as oracles: `tests/to_sdp_identity.rs` and
//! `tests/from_sdp_identity.rs` check that the crate's code gives the same `Result`
//! (the same bytes or model, or the same error) for any input.
//!
//! The crate-private helpers they used are restated here from the behaviour they had.
#![allow(dead_code)]

use proxy_core::jingle::Senders;
use proxy_core::ConvertError;

pub mod from_sdp;
pub mod to_sdp;

/// `senders` for an SDP direction attribute name, if it is one.
fn senders_of(direction: &str) -> Option<Senders> {
    match direction {
        "sendrecv" => Some(Senders::Both),
        "sendonly" => Some(Senders::Initiator),
        "recvonly" => Some(Senders::Responder),
        "inactive" => Some(Senders::None),
        _ => None,
    }
}

/// Builds [`ConvertError::Invalid`], truncating the value to 64 bytes.
fn invalid(what: &'static str, value: &str) -> ConvertError {
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
fn check_token<'a>(what: &'static str, s: &'a str) -> Result<&'a str, ConvertError> {
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(invalid(what, s))
    } else {
        Ok(s)
    }
}

/// The SDP direction attribute for `senders` (`None` for rejected).
fn direction_of(senders: Senders) -> Option<&'static str> {
    match senders {
        Senders::Both => Some("sendrecv"),
        Senders::Initiator => Some("sendonly"),
        Senders::Responder => Some("recvonly"),
        Senders::None => Some("inactive"),
        Senders::Rejected => None,
    }
}

/// Checks that `s` has no control characters.
fn check_text<'a>(what: &'static str, s: &'a str) -> Result<&'a str, ConvertError> {
    if s.chars().any(char::is_control) {
        Err(invalid(what, s))
    } else {
        Ok(s)
    }
}
