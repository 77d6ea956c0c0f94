//! `<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>` (XEP-0176) with its
//! candidates and XEP-0320 fingerprint.

use std::borrow::Cow;

use crate::error::ParseError;
use crate::jingle::{dtls, ice_udp, Candidate, CandidateType, Fingerprint, IceUdpTransport, Setup};

use super::reader::{Elem, Ns};
use super::{boolean, number, push_sized, required, room, Parser};

impl<'i> Parser<'i, '_> {
    /// `<transport ufrag=… pwd=…>`.
    pub(super) fn transport(&mut self, e: Elem<'i>) -> Result<IceUdpTransport<'i>, ParseError> {
        let mut transport = IceUdpTransport::default();
        self.rd.attrs(&e, |k, v| {
            match k {
                "ufrag" => transport.ufrag = Some(v),
                "pwd" => transport.pwd = Some(v),
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
                    push_sized(&mut transport.candidates, self.candidate(c)?, 8);
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
    fn fingerprint(&mut self, e: Elem<'i>) -> Result<Fingerprint<'i>, ParseError> {
        const EL: &str = "fingerprint";
        let mut hash = None;
        let (mut setup, mut required_, mut cryptex) = (None, None, None);
        self.rd.attrs(&e, |k, v| {
            match k {
                "hash" => hash = Some(v),
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
            value: trim_xml_space(value),
        })
    }

    /// `<candidate foundation=… component=… protocol=… priority=… ip=… port=… type=…/>`.
    fn candidate(&mut self, e: Elem<'i>) -> Result<Candidate<'i>, ParseError> {
        const EL: &str = "candidate";
        let (mut foundation, mut component, mut protocol, mut priority) = (None, None, None, None);
        let (mut ip, mut port, mut kind) = (None, None, None);
        let (mut generation, mut network, mut id) = (None, None, None);
        let (mut rel_addr, mut rel_port, mut tcptype) = (None, None, None);
        self.rd.attrs(&e, |k, v| {
            match k {
                "foundation" => foundation = Some(v),
                "component" => component = Some(number(EL, "component", &v)?),
                "protocol" if v.bytes().any(|b| b.is_ascii_uppercase()) => {
                    protocol = Some(Cow::Owned(v.to_ascii_lowercase()))
                }
                "protocol" => protocol = Some(v),
                "priority" => priority = Some(number(EL, "priority", &v)?),
                "ip" => ip = Some(v),
                "port" => port = Some(number(EL, "port", &v)?),
                "type" => {
                    kind = Some(
                        CandidateType::from_wire(&v)
                            .ok_or_else(|| ParseError::invalid(EL, "type", &v))?,
                    )
                }
                "generation" => generation = Some(number(EL, "generation", &v)?),
                "network" => network = Some(number(EL, "network", &v)?),
                "id" => id = Some(v),
                "rel-addr" => rel_addr = Some(v),
                "rel-port" => rel_port = Some(number(EL, "rel-port", &v)?),
                "tcptype" => tcptype = Some(v),
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

/// `s` without XML white space around it, still borrowed if it was.
fn trim_xml_space(s: Cow<'_, str>) -> Cow<'_, str> {
    let is_space = |c| matches!(c, ' ' | '\t' | '\r' | '\n');
    match s {
        Cow::Borrowed(b) => Cow::Borrowed(b.trim_matches(is_space)),
        Cow::Owned(o) if o.trim_matches(is_space).len() == o.len() => Cow::Owned(o),
        Cow::Owned(o) => Cow::Owned(o.trim_matches(is_space).to_owned()),
    }
}
