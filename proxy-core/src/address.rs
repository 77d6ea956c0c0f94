//! What counts as an address, in one place: a candidate's IP address or host
//! name (SDP and Jingle), an mDNS `.local` name a remote candidate may carry,
//! and an XEP-0215 server host. Each rule is stated once here and called from
//! where the address is read.

use std::net::IpAddr;

/// Whether every byte of `s` is an ASCII letter, digit, `-` or `.`.
fn host_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// An IPv4 or IPv6 address, as Rust's standard library reads one.
pub(crate) fn is_ip(s: &str) -> bool {
    s.parse::<IpAddr>().is_ok()
}

/// A host name a candidate may carry instead of an IP address (e.g. an mDNS
/// `<uuid>.local`): 1 to 253 letters, digits, `-` and `.`, not starting with
/// `.` or `-`, with at least one letter.
pub(crate) fn is_host_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && !s.starts_with(['.', '-'])
        && host_chars(s)
        && s.bytes().any(|b| b.is_ascii_alphabetic())
}

/// An mDNS name a remote candidate may carry: at most 255 letters, digits,
/// `-` and `.`, ending in `.local`.
pub(crate) fn is_mdns_name(s: &str) -> bool {
    s.len() <= 255 && s.ends_with(".local") && host_chars(s)
}

/// An XEP-0215 server host: a host name, IPv4 address, or IPv6 address (bare
/// or bracketed, with zone), 1 to 255 bytes of those characters.
pub(crate) fn is_server_host(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._:%[]".contains(&b))
}
