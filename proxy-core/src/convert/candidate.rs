//! ICE candidates between `<candidate>` and the SDP `candidate` attribute
//! (RFC 8839 §5.1 with the extensions Chromium and str0m write).
//!
//! lib-jitsi-meet's rules (SDPUtil `candidateToJingle` / `candidateFromJingle`): the
//! protocol is lower-cased; `raddr`/`rport` travel as `rel-addr`/`rel-port`; `tcptype`
//! and `generation` are kept; `generation` defaults to `0` in both directions. We also
//! map Chromium's `network-id` to `network`. `ufrag`, `network-cost` and unknown
//! extensions are read and dropped. The `id` of a `<candidate>` has no SDP form.

use crate::address::{is_host_name, is_ip};
use crate::error::ConvertError;
use crate::jingle::{Candidate, CandidateType, TcpType};

use super::invalid;

/// Writes a Jingle candidate as an SDP candidate attribute value
/// (`candidate:<foundation> <component> <protocol> <priority> <ip> <port> typ <type>
/// [raddr <a> rport <p>] [tcptype <t>] generation <g> [network-id <n>]`), in the
/// extension order str0m's parser expects.
///
/// The result never spans more than one line: whitespace and control characters
/// inside fields (which a valid candidate never has) are dropped. To reject such a
/// candidate instead, read the result back with [`candidate_from_sdp`].
pub fn candidate_to_sdp(c: &Candidate) -> String {
    let mut out = format!(
        "candidate:{} {} {} {} {} {} typ {}",
        clean(&c.foundation),
        c.component,
        clean(&c.protocol.as_str().to_ascii_lowercase()),
        c.priority,
        clean(&c.ip),
        c.port,
        c.kind.as_str()
    );
    if let (Some(addr), Some(port)) = (&c.rel_addr, c.rel_port) {
        out.push_str(&format!(" raddr {} rport {port}", clean(addr)));
    }
    if let Some(t) = &c.tcptype {
        out.push_str(&format!(" tcptype {}", clean(t.as_str())));
    }
    out.push_str(&format!(" generation {}", c.generation.unwrap_or(0)));
    if let Some(n) = c.network {
        out.push_str(&format!(" network-id {n}"));
    }
    out
}

/// `s` without white space or control characters (so a field stays one token).
fn clean(s: &str) -> String {
    s.chars()
        .filter(|ch| !ch.is_whitespace() && !ch.is_control())
        .collect()
}

/// Reads an SDP candidate (with or without the `a=` and `candidate:` prefixes).
///
/// Accepts IPv4, IPv6 and host names (mDNS `.local`) as the address. Anything that is
/// not a candidate gives [`ConvertError::Invalid`] (or [`ConvertError::Missing`] for a
/// line cut short); this never panics.
pub fn candidate_from_sdp(s: &str) -> Result<Candidate, ConvertError> {
    let line = s.trim();
    let line = line.strip_prefix("a=").unwrap_or(line);
    let line = line.strip_prefix("candidate:").unwrap_or(line);
    let mut t = line.split_ascii_whitespace();
    let mut next = |what: &'static str| t.next().ok_or(ConvertError::Missing(what));

    let foundation = next("candidate foundation")?;
    if !is_foundation(foundation) {
        return Err(invalid("candidate foundation", foundation));
    }
    let component = next("candidate component")?;
    let component = match component.parse::<u8>() {
        Ok(n) if n >= 1 => n,
        _ => return Err(invalid("candidate component", component)),
    };
    let protocol = next("candidate protocol")?.to_ascii_lowercase();
    if !is_protocol(&protocol) {
        return Err(invalid("candidate protocol", &protocol));
    }
    let priority = number("candidate priority", next("candidate priority")?)?;
    let ip = check_address("candidate address", next("candidate address")?)?;
    let port = number("candidate port", next("candidate port")?)?;
    let typ = next("candidate typ")?;
    if !typ.eq_ignore_ascii_case("typ") {
        return Err(invalid("candidate typ", typ));
    }
    let kind = next("candidate type")?;
    let kind = CandidateType::from_wire(&kind.to_ascii_lowercase())
        .ok_or_else(|| invalid("candidate type", kind))?;

    let mut c = Candidate {
        foundation: foundation.to_owned(),
        component,
        protocol: protocol.into(),
        priority,
        ip: ip.to_owned(),
        port,
        kind,
        generation: Some(0),
        network: None,
        id: None,
        rel_addr: None,
        rel_port: None,
        tcptype: None,
    };
    while let Some(key) = t.next() {
        let value = t
            .next()
            .ok_or(ConvertError::Missing("candidate extension value"))?;
        match key {
            "raddr" => c.rel_addr = Some(check_address("candidate raddr", value)?.to_owned()),
            "rport" => c.rel_port = Some(number("candidate rport", value)?),
            "tcptype" => {
                let tcptype = TcpType::from_wire(value);
                if !tcptype.is_known() {
                    return Err(invalid("candidate tcptype", value));
                }
                c.tcptype = Some(tcptype);
            }
            "generation" => c.generation = Some(number("candidate generation", value)?),
            "network-id" => c.network = Some(number("candidate network-id", value)?),
            // ufrag, network-cost and extensions we do not carry.
            _ => {}
        }
    }
    Ok(c)
}

/// Checks that the candidate model only has values [`candidate_to_sdp`] can write
/// unchanged and a peer can use: it is written, read back with
/// [`candidate_from_sdp`] (whose error, if any, is the answer) and compared.
pub(crate) fn check_candidate(c: &Candidate) -> Result<(), ConvertError> {
    let written = candidate_to_sdp(c);
    let read = candidate_from_sdp(&written)?;
    let same = read.foundation == c.foundation
        && read.protocol == c.protocol.as_str().to_ascii_lowercase().as_str()
        && read.ip == c.ip
        && read.component == c.component
        && (c.rel_addr.is_none() || c.rel_port.is_none() || read.rel_addr == c.rel_addr)
        && read.tcptype == c.tcptype;
    if same {
        Ok(())
    } else {
        Err(invalid("candidate", &written))
    }
}

/// A number as Rust's `FromStr` reads it, or [`ConvertError::Invalid`].
fn number<T: std::str::FromStr>(what: &'static str, s: &str) -> Result<T, ConvertError> {
    s.parse().map_err(|_| invalid(what, s))
}

/// A foundation [`candidate_from_sdp`] accepts: at most 64 of `A-Z a-z 0-9 + /`.
fn is_foundation(f: &str) -> bool {
    f.len() <= 64
        && f.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/')
}

/// A transport protocol [`candidate_from_sdp`] accepts, in any case.
fn is_protocol(p: &str) -> bool {
    ["udp", "tcp", "ssltcp"]
        .iter()
        .any(|known| p.eq_ignore_ascii_case(known))
}

/// An IPv4/IPv6 address or a host name (e.g. an mDNS `<uuid>.local`).
fn check_address<'a>(what: &'static str, s: &'a str) -> Result<&'a str, ConvertError> {
    if is_ip(s) || is_host_name(s) {
        Ok(s)
    } else {
        Err(invalid(what, s))
    }
}
