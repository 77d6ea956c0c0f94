//! `<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>` (XEP-0176) with its
//! candidates and XEP-0320 fingerprint.

use crate::error::ParseError;
use crate::jingle::{dtls, ice_udp, Candidate, CandidateType, Fingerprint, IceUdpTransport, Setup};

use super::reader::{Elem, Ns};
use super::{boolean, number, required, room, Parser};

impl<'i> Parser<'i, '_> {
    /// `<transport ufrag=… pwd=…>`.
    pub(super) fn transport(&mut self, e: Elem<'i>) -> Result<IceUdpTransport, ParseError> {
        let mut transport = IceUdpTransport::default();
        self.rd.attrs(&e, |k, v| {
            match k {
                "ufrag" => transport.ufrag = Some(v.into_owned()),
                "pwd" => transport.pwd = Some(v.into_owned()),
                _ => {}
            }
            Ok(())
        })?;
        let limits = *self.limits;
        let mut fingerprints = 0;
        while let Some(c) = self.rd.child(&e)? {
            match c.local() {
                "candidate" => {
                    c.expect_ns(Ns::IceUdp, ice_udp::NS)?;
                    room(
                        transport.candidates.len(),
                        limits.max_candidates,
                        "candidates",
                    )?;
                    transport.candidates.push(self.candidate(c)?);
                }
                "fingerprint" => {
                    c.expect_ns(Ns::Dtls, dtls::NS)?;
                    room(fingerprints, limits.max_children, "fingerprints")?;
                    fingerprints += 1;
                    let fingerprint = self.fingerprint(c)?;
                    // The model holds one; the first (the SDP's first a=fingerprint) wins.
                    transport.fingerprint.get_or_insert(fingerprint);
                }
                _ => self.rd.skip(c)?,
            }
        }
        Ok(transport)
    }

    /// `<fingerprint hash=… setup=… required=… cryptex=…>AA:BB:…</fingerprint>`.
    fn fingerprint(&mut self, e: Elem<'i>) -> Result<Fingerprint, ParseError> {
        const EL: &str = "fingerprint";
        let mut hash = None;
        let (mut setup, mut required_, mut cryptex) = (None, None, None);
        self.rd.attrs(&e, |k, v| {
            match k {
                "hash" => hash = Some(v.into_owned()),
                "setup" => {
                    setup = Some(
                        Setup::from_wire(&v).ok_or_else(|| ParseError::invalid(EL, "setup", &v))?,
                    )
                }
                "required" => required_ = Some(boolean(EL, "required", &v)?),
                "cryptex" => cryptex = Some(boolean(EL, "cryptex", &v)?),
                _ => {}
            }
            Ok(())
        })?;
        let hash = required(hash, EL, "hash")?;
        let value = self.rd.text_checked(e)?;
        Ok(Fingerprint {
            hash,
            setup,
            required: required_,
            cryptex,
            value: value
                .trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'))
                .to_owned(),
        })
    }

    /// `<candidate foundation=… component=… protocol=… priority=… ip=… port=… type=…/>`.
    fn candidate(&mut self, e: Elem<'i>) -> Result<Candidate, ParseError> {
        const EL: &str = "candidate";
        let (mut foundation, mut component, mut protocol, mut priority) = (None, None, None, None);
        let (mut ip, mut port, mut kind) = (None, None, None);
        let (mut generation, mut network, mut id) = (None, None, None);
        let (mut rel_addr, mut rel_port, mut tcptype) = (None, None, None);
        self.rd.attrs(&e, |k, v| {
            match k {
                "foundation" => foundation = Some(v.into_owned()),
                "component" => component = Some(number(EL, "component", &v)?),
                "protocol" => protocol = Some(v.to_ascii_lowercase()),
                "priority" => priority = Some(number(EL, "priority", &v)?),
                "ip" => ip = Some(v.into_owned()),
                "port" => port = Some(number(EL, "port", &v)?),
                "type" => {
                    kind = Some(
                        CandidateType::from_wire(&v)
                            .ok_or_else(|| ParseError::invalid(EL, "type", &v))?,
                    )
                }
                "generation" => generation = Some(number(EL, "generation", &v)?),
                "network" => network = Some(number(EL, "network", &v)?),
                "id" => id = Some(v.into_owned()),
                "rel-addr" => rel_addr = Some(v.into_owned()),
                "rel-port" => rel_port = Some(number(EL, "rel-port", &v)?),
                "tcptype" => tcptype = Some(v.into_owned()),
                _ => {}
            }
            Ok(())
        })?;
        self.rd.skip_checked(e)?;
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
}
