//! XEP-0176: ICE-UDP transport (`urn:xmpp:jingle:transports:ice-udp:1`).

use super::Fingerprint;

/// `urn:xmpp:jingle:transports:ice-udp:1`.
pub const NS: &str = "urn:xmpp:jingle:transports:ice-udp:1";

/// `<transport ufrag=… pwd=…>` with its fingerprint and candidates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceUdpTransport {
    /// `ufrag`.
    pub ufrag: Option<String>,
    /// `pwd`.
    pub pwd: Option<String>,
    /// `<fingerprint>` (XEP-0320).
    pub fingerprint: Option<Fingerprint>,
    /// `<candidate>`s; lib-jitsi-meet sends them only in transport-info.
    pub candidates: Vec<Candidate>,
}

/// `candidate@type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CandidateType {
    /// `host`
    Host,
    /// `srflx`
    Srflx,
    /// `prflx`
    Prflx,
    /// `relay`
    Relay,
}

impl CandidateType {
    /// The attribute value as written on the wire (and in SDP after `typ`).
    pub fn as_str(self) -> &'static str {
        match self {
            CandidateType::Host => "host",
            CandidateType::Srflx => "srflx",
            CandidateType::Prflx => "prflx",
            CandidateType::Relay => "relay",
        }
    }

    /// Parses a wire value.
    pub fn from_wire(s: &str) -> Option<CandidateType> {
        [
            CandidateType::Host,
            CandidateType::Srflx,
            CandidateType::Prflx,
            CandidateType::Relay,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// `<candidate>`: one ICE candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// `foundation`.
    pub foundation: String,
    /// `component` (1 = RTP; rtcp-mux means only 1 is used).
    pub component: u8,
    /// `protocol`, lower case: `udp` or `tcp`.
    pub protocol: String,
    /// `priority`.
    pub priority: u32,
    /// `ip`: an IPv4/IPv6 address or an mDNS `.local` host name.
    pub ip: String,
    /// `port`.
    pub port: u16,
    /// `type`.
    pub kind: CandidateType,
    /// `generation`.
    pub generation: Option<u32>,
    /// `network`.
    pub network: Option<u32>,
    /// `id`.
    pub id: Option<String>,
    /// `rel-addr`.
    pub rel_addr: Option<String>,
    /// `rel-port`.
    pub rel_port: Option<u16>,
    /// `tcptype` (`active`, `passive`, `so`).
    pub tcptype: Option<String>,
}
