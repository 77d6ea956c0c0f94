//! XEP-0176: ICE-UDP transport (`urn:xmpp:jingle:transports:ice-udp:1`).

use std::borrow::Cow;

use super::Fingerprint;

/// `urn:xmpp:jingle:transports:ice-udp:1`.
pub const NS: &str = "urn:xmpp:jingle:transports:ice-udp:1";

/// `<transport ufrag=… pwd=…>` with its fingerprint and candidates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceUdpTransport<'a> {
    /// `ufrag`.
    pub ufrag: Option<Cow<'a, str>>,
    /// `pwd`.
    pub pwd: Option<Cow<'a, str>>,
    /// `<fingerprint>` (XEP-0320).
    pub fingerprint: Option<Fingerprint<'a>>,
    /// `<candidate>`s; lib-jitsi-meet sends them only in transport-info.
    pub candidates: Vec<Candidate<'a>>,
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
pub struct Candidate<'a> {
    /// `foundation`.
    pub foundation: Cow<'a, str>,
    /// `component` (1 = RTP; rtcp-mux means only 1 is used).
    pub component: u8,
    /// `protocol`, lower case: `udp` or `tcp`.
    pub protocol: Cow<'a, str>,
    /// `priority`.
    pub priority: u32,
    /// `ip`: an IPv4/IPv6 address or an mDNS `.local` host name.
    pub ip: Cow<'a, str>,
    /// `port`.
    pub port: u16,
    /// `type`.
    pub kind: CandidateType,
    /// `generation`.
    pub generation: Option<u32>,
    /// `network`.
    pub network: Option<u32>,
    /// `id`.
    pub id: Option<Cow<'a, str>>,
    /// `rel-addr`.
    pub rel_addr: Option<Cow<'a, str>>,
    /// `rel-port`.
    pub rel_port: Option<u16>,
    /// `tcptype` (`active`, `passive`, `so`).
    pub tcptype: Option<Cow<'a, str>>,
}

use super::owned;

impl IceUdpTransport<'_> {
    /// This transport with nothing borrowed.
    pub fn into_owned(self) -> IceUdpTransport<'static> {
        IceUdpTransport {
            ufrag: self.ufrag.map(owned),
            pwd: self.pwd.map(owned),
            fingerprint: self.fingerprint.map(Fingerprint::into_owned),
            candidates: self
                .candidates
                .into_iter()
                .map(Candidate::into_owned)
                .collect(),
        }
    }
}

impl Candidate<'_> {
    /// This candidate with nothing borrowed.
    pub fn into_owned(self) -> Candidate<'static> {
        Candidate {
            foundation: owned(self.foundation),
            component: self.component,
            protocol: owned(self.protocol),
            priority: self.priority,
            ip: owned(self.ip),
            port: self.port,
            kind: self.kind,
            generation: self.generation,
            network: self.network,
            id: self.id.map(owned),
            rel_addr: self.rel_addr.map(owned),
            rel_port: self.rel_port,
            tcptype: self.tcptype.map(owned),
        }
    }
}
