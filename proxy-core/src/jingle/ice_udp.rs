//! XEP-0176: ICE-UDP transport (`urn:xmpp:jingle:transports:ice-udp:1`), with
//! the XEP-0320 fingerprint it carries.

use super::dtls::{self, Fingerprint};
use crate::error::ParseError;
use crate::xml::{number, push_within, required, wire_enum, Elem, Limits, Reader, Writer};

/// `urn:xmpp:jingle:transports:ice-udp:1`.
pub const NS: &str = "urn:xmpp:jingle:transports:ice-udp:1";

/// `<transport ufrag=… pwd=…>` with its fingerprint and candidates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IceUdpTransport {
    /// `ufrag`.
    pub ufrag: Option<String>,
    /// `pwd`.
    pub pwd: Option<String>,
    /// `<fingerprint>` (XEP-0320); of several, the first (the SDP's first
    /// `a=fingerprint`).
    pub fingerprint: Option<Fingerprint>,
    /// `<candidate>`s; lib-jitsi-meet sends them only in transport-info.
    pub candidates: Vec<Candidate>,
}

wire_enum! {
    /// `candidate@type`.
    pub enum CandidateType {
        Host = "host",
        Srflx = "srflx",
        Prflx = "prflx",
        Relay = "relay",
    }
}

wire_enum! {
    /// `candidate@protocol`, read case-insensitively and kept in lower case.
    pub enum Protocol {
        Udp = "udp",
        Tcp = "tcp",
    } else {
        /// Any other value (e.g. Chrome's `ssltcp`), in lower case.
        Other(String)
    }
}

wire_enum! {
    /// `candidate@tcptype` (RFC 6544).
    pub enum TcpType {
        Active = "active",
        Passive = "passive",
        /// (simultaneous open)
        So = "so",
    } else {
        /// Any other value, as written.
        Other(String)
    }
}

/// `<candidate>`: one ICE candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// `foundation`.
    pub foundation: String,
    /// `component` (1 = RTP; rtcp-mux means only 1 is used).
    pub component: u8,
    /// `protocol`.
    pub protocol: Protocol,
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
    /// `tcptype`.
    pub tcptype: Option<TcpType>,
}

impl IceUdpTransport {
    /// `<transport ufrag=… pwd=…>`.
    pub(crate) fn parse(
        rd: &mut Reader<'_>,
        e: Elem<'_>,
        limits: &Limits,
    ) -> Result<IceUdpTransport, ParseError> {
        let mut transport = IceUdpTransport::default();
        e.attrs(|k, v| {
            match k {
                "ufrag" => transport.ufrag = Some(v.into_owned()),
                "pwd" => transport.pwd = Some(v.into_owned()),
                _ => {}
            }
            Ok(())
        })?;
        let mut fingerprints = 0;
        while let Some(c) = rd.child(&e)? {
            match c.local() {
                "candidate" => {
                    c.expect_ns(NS)?;
                    let candidate = Candidate::parse(rd, c)?;
                    let list = &mut transport.candidates;
                    push_within(list, candidate, limits.max_candidates, "candidates")?;
                }
                "fingerprint" => {
                    c.expect_ns(dtls::NS)?;
                    if fingerprints >= limits.max_children {
                        let (what, limit) = ("fingerprints", limits.max_children);
                        return Err(ParseError::TooMany { what, limit });
                    }
                    fingerprints += 1;
                    let fingerprint = Fingerprint::parse(rd, c)?;
                    transport.fingerprint.get_or_insert(fingerprint);
                }
                _ => rd.skip(c)?,
            }
        }
        Ok(transport)
    }

    /// The transport-info shape (candidates, then a `required` fingerprint)
    /// or the session-initiate/accept shape (fingerprint first).
    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.open("transport")
            .opt("pwd", self.pwd.as_deref())
            .opt("ufrag", self.ufrag.as_deref())
            .attr("xmlns", NS)
            .children("transport", |w| {
                let fingerprint = self.fingerprint.as_ref();
                let trickle = fingerprint.is_some_and(|f| f.required.is_some());
                if let Some(f) = fingerprint.filter(|_| !trickle) {
                    f.write(w, false);
                }
                self.candidates.iter().for_each(|c| c.write(w));
                if let Some(f) = fingerprint.filter(|_| trickle) {
                    f.write(w, true);
                }
            });
    }
}

impl Candidate {
    /// `<candidate foundation=… component=… protocol=… priority=… ip=… port=… type=…/>`.
    pub(crate) fn parse(rd: &mut Reader<'_>, e: Elem<'_>) -> Result<Candidate, ParseError> {
        const EL: &str = "candidate";
        let (mut foundation, mut component, mut protocol, mut priority) = (None, None, None, None);
        let (mut ip, mut port, mut kind) = (None, None, None);
        let (mut generation, mut network, mut id) = (None, None, None);
        let (mut rel_addr, mut rel_port, mut tcptype) = (None, None, None);
        e.attrs(|k, v| {
            match k {
                "foundation" => foundation = Some(v.into_owned()),
                "component" => component = Some(number(EL, "component", &v)?),
                "protocol" if v.bytes().any(|b| b.is_ascii_uppercase()) => {
                    protocol = Some(Protocol::from_wire(&v.to_ascii_lowercase()))
                }
                "protocol" => protocol = Some(Protocol::from_wire(&v)),
                "priority" => priority = Some(number(EL, "priority", &v)?),
                "ip" => ip = Some(v.into_owned()),
                "port" => port = Some(number(EL, "port", &v)?),
                "type" => {
                    let t = CandidateType::from_wire(&v)
                        .ok_or_else(|| ParseError::invalid(EL, "type", &v))?;
                    kind = Some(t);
                }
                "generation" => generation = Some(number(EL, "generation", &v)?),
                "network" => network = Some(number(EL, "network", &v)?),
                "id" => id = Some(v.into_owned()),
                "rel-addr" => rel_addr = Some(v.into_owned()),
                "rel-port" => rel_port = Some(number(EL, "rel-port", &v)?),
                "tcptype" => tcptype = Some(TcpType::from_wire(&v)),
                _ => {}
            }
            Ok(())
        })?;
        rd.skip_content(e)?;
        Ok(Candidate {
            foundation: required(foundation, EL, "foundation")?,
            component: required(component, EL, "component")?,
            protocol: required(protocol, EL, "protocol")?,
            priority: required(priority, EL, "priority")?,
            ip: required(ip, EL, "ip")?,
            port: required(port, EL, "port")?,
            kind: required(kind, EL, "type")?,
            generation,
            network,
            id,
            rel_addr,
            rel_port,
            tcptype,
        })
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.open("candidate")
            .attr("foundation", &self.foundation)
            .num("component", self.component)
            .attr("protocol", self.protocol.as_str())
            .num("priority", self.priority)
            .attr("ip", &self.ip)
            .num("port", self.port)
            .attr("type", self.kind.as_str())
            .opt_num("generation", self.generation)
            .opt("rel-addr", self.rel_addr.as_deref())
            .opt_num("rel-port", self.rel_port)
            .opt("tcptype", self.tcptype.as_ref().map(TcpType::as_str))
            .opt_num("network", self.network)
            .opt("id", self.id.as_deref())
            .empty();
    }
}
