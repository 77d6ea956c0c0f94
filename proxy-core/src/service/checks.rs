//! Checks of what the peer sent before it reaches the engine: whether an
//! offer or answer can describe a session, and whether a candidate is usable.

use crate::address::{is_ip, is_mdns_name};
use crate::error::{excerpt, DescriptionProblem, Missing};
use crate::jingle::{Candidate, Content, Jingle};

/// Whether an offer or answer can describe a session at all: it has a
/// content with a description, ICE credentials and a DTLS fingerprint, and
/// every fingerprint uses a hash WebRTC knows. Otherwise says what is missing.
pub(super) fn usable_description(jingle: &Jingle) -> Result<(), DescriptionProblem> {
    let first = jingle
        .contents
        .first()
        .ok_or(DescriptionProblem::NoContents)?;
    // The first piece a content lacks, in the order a reader would look.
    let missing = |c: &Content| {
        let Some(t) = &c.transport else {
            return Some(if c.description.is_none() {
                Missing::Description
            } else {
                Missing::Transport
            });
        };
        if c.description.is_none() {
            Some(Missing::Description)
        } else if t.ufrag.is_none() {
            Some(Missing::IceUfrag)
        } else if t.pwd.is_none() {
            Some(Missing::IcePwd)
        } else if t.fingerprint.is_none() {
            Some(Missing::Fingerprint)
        } else {
            None
        }
    };
    if jingle.contents.iter().all(|c| missing(c).is_some()) {
        // None is usable: name what the first one lacks.
        if let Some(missing) = missing(first) {
            return Err(DescriptionProblem::Missing {
                missing,
                content: excerpt(&first.name),
            });
        }
    }
    for c in &jingle.contents {
        let hash = c
            .transport
            .as_ref()
            .and_then(|t| t.fingerprint.as_ref())
            .map(|f| &*f.hash);
        if let Some(hash) = hash {
            if !FINGERPRINT_HASHES
                .iter()
                .any(|k| hash.eq_ignore_ascii_case(k))
            {
                return Err(DescriptionProblem::UnknownHash {
                    hash: excerpt(hash),
                    content: excerpt(&c.name),
                });
            }
        }
    }
    Ok(())
}

/// DTLS fingerprint hashes WebRTC uses (RFC 8122 minus the broken md2/md5).
const FINGERPRINT_HASHES: [&str; 5] = ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"];

/// Whether a remote candidate can be handed to the engine: an IP address or an
/// mDNS `.local` host name, a real port for UDP, a known protocol.
pub(super) fn usable_candidate(c: &Candidate) -> Result<(), String> {
    let shown = excerpt(&c.ip);
    if !is_ip(&c.ip) && !is_mdns_name(&c.ip) {
        return Err(format!(
            "candidate {} has address {shown:?}, neither an IP address nor an mDNS name; dropped",
            c.foundation
        ));
    }
    match c.protocol.as_str() {
        "udp" if c.port == 0 => Err(format!(
            "UDP candidate {} has port 0; dropped",
            c.foundation
        )),
        "udp" | "tcp" | "ssltcp" => Ok(()),
        other => Err(format!(
            "candidate {} has protocol {other:?}; dropped",
            c.foundation
        )),
    }
}
