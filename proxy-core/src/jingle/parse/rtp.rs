//! `<description xmlns='urn:xmpp:jingle:apps:rtp:1'>` and what lib-jitsi-meet puts
//! inside it: XEP-0167 payload types, XEP-0293 rtcp-fb, XEP-0294 rtp-hdrext,
//! XEP-0339 sources and ssrc-groups.

use crate::error::ParseError;
use crate::jingle::rtp::{
    self, Parameter, PayloadType, RtcpFb, RtpDescription, RtpHdrext, Source, SsrcGroup,
};

use super::reader::{Elem, Ns};
use super::{number, push_sized, required, room, senders, Parser};

impl<'i> Parser<'i, '_> {
    /// `<description media=…>`.
    pub(super) fn description(&mut self, e: Elem<'i>) -> Result<RtpDescription<'i>, ParseError> {
        let mut media = None;
        let mut desc = RtpDescription::default();
        self.rd.attrs(&e, |k, v| {
            match k {
                "media" => media = Some(v),
                "ssrc" => desc.ssrc = Some(number("description", "ssrc", &v)?),
                _ => {}
            }
            Ok(())
        })?;
        desc.media = required(media, "description", "media")?;
        let limits = *self.limits;
        while let Some(c) = self.rd.child(&e)? {
            match c.local() {
                "payload-type" => {
                    c.expect_ns(Ns::Rtp, rtp::NS)?;
                    room(
                        desc.payload_types.len(),
                        limits.max_payload_types,
                        "payload-types",
                    )?;
                    push_sized(&mut desc.payload_types, self.payload_type(c)?, 16);
                }
                "rtcp-fb" => {
                    c.expect_ns(Ns::RtcpFb, rtp::NS_RTCP_FB)?;
                    room(desc.rtcp_fbs.len(), limits.max_children, "rtcp-fbs")?;
                    desc.rtcp_fbs.push(self.rtcp_fb(c)?);
                }
                "source" => {
                    c.expect_ns(Ns::Ssma, rtp::NS_SSMA)?;
                    room(desc.sources.len(), limits.max_sources, "sources")?;
                    if let Some(source) = self.source(c)? {
                        push_sized(&mut desc.sources, source, 8);
                    }
                }
                "ssrc-group" => {
                    c.expect_ns(Ns::Ssma, rtp::NS_SSMA)?;
                    room(desc.ssrc_groups.len(), limits.max_sources, "ssrc-groups")?;
                    desc.ssrc_groups.push(self.ssrc_group(c)?);
                }
                "rtcp-mux" => {
                    c.expect_ns(Ns::Rtp, rtp::NS)?;
                    desc.rtcp_mux = true;
                    self.rd.skip(c)?;
                }
                "rtp-hdrext" => {
                    c.expect_ns(Ns::Hdrext, rtp::NS_HDREXT)?;
                    room(desc.hdrexts.len(), limits.max_children, "rtp-hdrexts")?;
                    push_sized(&mut desc.hdrexts, self.hdrext(c)?, 8);
                }
                "extmap-allow-mixed" => {
                    c.expect_ns(Ns::Hdrext, rtp::NS_HDREXT)?;
                    desc.extmap_allow_mixed = true;
                    self.rd.skip(c)?;
                }
                _ => self.rd.skip(c)?,
            }
        }
        Ok(desc)
    }

    /// `<payload-type id=… name=… clockrate=… channels=…>`.
    fn payload_type(&mut self, e: Elem<'i>) -> Result<PayloadType<'i>, ParseError> {
        const EL: &str = "payload-type";
        let mut id = None;
        let mut pt = PayloadType {
            id: 0,
            name: Default::default(),
            clockrate: None,
            channels: None,
            ptime: None,
            maxptime: None,
            parameters: Vec::new(),
            rtcp_fbs: Vec::new(),
            rtcp_fb_trr_int: None,
        };
        self.rd.attrs(&e, |k, v| {
            match k {
                "id" => {
                    let n: u8 = number(EL, "id", &v)?;
                    if n > 127 {
                        return Err(ParseError::invalid(EL, "id", &v));
                    }
                    id = Some(n);
                }
                "name" => pt.name = v,
                "clockrate" => pt.clockrate = Some(number(EL, "clockrate", &v)?),
                "channels" => pt.channels = Some(number(EL, "channels", &v)?),
                "ptime" => pt.ptime = Some(number(EL, "ptime", &v)?),
                "maxptime" => pt.maxptime = Some(number(EL, "maxptime", &v)?),
                _ => {}
            }
            Ok(())
        })?;
        pt.id = required(id, EL, "id")?;
        let max = self.limits.max_children;
        while let Some(c) = self.rd.child(&e)? {
            match c.local() {
                "parameter" => {
                    c.expect_ns(Ns::Rtp, rtp::NS)?;
                    room(pt.parameters.len(), max, "parameters")?;
                    pt.parameters.push(self.parameter(c)?);
                }
                "rtcp-fb" => {
                    c.expect_ns(Ns::RtcpFb, rtp::NS_RTCP_FB)?;
                    room(pt.rtcp_fbs.len(), max, "rtcp-fbs")?;
                    push_sized(&mut pt.rtcp_fbs, self.rtcp_fb(c)?, 6);
                }
                "rtcp-fb-trr-int" if pt.rtcp_fb_trr_int.is_none() => {
                    c.expect_ns(Ns::RtcpFb, rtp::NS_RTCP_FB)?;
                    let mut value = None;
                    self.rd.attrs(&c, |k, v| {
                        if k == "value" {
                            value = Some(number("rtcp-fb-trr-int", "value", &v)?);
                        }
                        Ok(())
                    })?;
                    pt.rtcp_fb_trr_int = Some(required(value, "rtcp-fb-trr-int", "value")?);
                    self.rd.skip_checked(c)?;
                }
                _ => self.rd.skip(c)?,
            }
        }
        Ok(pt)
    }

    /// `<parameter name=… value=…/>` (a missing attribute reads as empty, as
    /// lib-jitsi-meet's own value-only fmtp has `name=""`).
    fn parameter(&mut self, e: Elem<'i>) -> Result<Parameter<'i>, ParseError> {
        let mut p = Parameter::new("", "");
        self.rd.attrs(&e, |k, v| {
            match k {
                "name" => p.name = v,
                "value" => p.value = v,
                _ => {}
            }
            Ok(())
        })?;
        self.rd.skip_checked(e)?;
        Ok(p)
    }

    /// `<rtcp-fb type=… subtype=…/>`.
    fn rtcp_fb(&mut self, e: Elem<'i>) -> Result<RtcpFb<'i>, ParseError> {
        let (mut kind, mut subtype) = (None, None);
        self.rd.attrs(&e, |k, v| {
            match k {
                "type" => kind = Some(v),
                "subtype" => subtype = Some(v),
                _ => {}
            }
            Ok(())
        })?;
        self.rd.skip_checked(e)?;
        Ok(RtcpFb {
            kind: required(kind, "rtcp-fb", "type")?,
            subtype,
        })
    }

    /// `<source ssrc=… name=… videoType=…>`; `None` for a rid-only source
    /// (`<source rid=…>`, simulcast by rid), which the model does not carry.
    fn source(&mut self, e: Elem<'i>) -> Result<Option<Source<'i>>, ParseError> {
        let (mut ssrc, mut rid) = (None, false);
        let mut source = Source {
            ssrc: 0,
            name: None,
            video_type: None,
            parameters: Vec::new(),
        };
        self.rd.attrs(&e, |k, v| {
            match k {
                "ssrc" => ssrc = Some(number("source", "ssrc", &v)?),
                "name" => source.name = Some(v),
                "videoType" => source.video_type = Some(v),
                "rid" => rid = true,
                _ => {}
            }
            Ok(())
        })?;
        if ssrc.is_none() && rid {
            self.rd.skip_checked(e)?;
            return Ok(None);
        }
        source.ssrc = required(ssrc, "source", "ssrc")?;
        while let Some(c) = self.rd.child(&e)? {
            if c.local() == "parameter" {
                c.expect_ns(Ns::Ssma, rtp::NS_SSMA)?;
                room(
                    source.parameters.len(),
                    self.limits.max_children,
                    "parameters",
                )?;
                source.parameters.push(self.parameter(c)?);
            } else {
                self.rd.skip(c)?;
            }
        }
        Ok(Some(source))
    }

    /// `<ssrc-group semantics=…><source ssrc=…/>…</ssrc-group>`.
    fn ssrc_group(&mut self, e: Elem<'i>) -> Result<SsrcGroup<'i>, ParseError> {
        let mut semantics = None;
        self.rd.attrs(&e, |k, v| {
            if k == "semantics" {
                semantics = Some(v);
            }
            Ok(())
        })?;
        let mut group = SsrcGroup {
            semantics: required(semantics, "ssrc-group", "semantics")?,
            ssrcs: Vec::new(),
        };
        while let Some(c) = self.rd.child(&e)? {
            if c.local() != "source" {
                self.rd.skip(c)?;
                continue;
            }
            c.expect_ns(Ns::Ssma, rtp::NS_SSMA)?;
            room(
                group.ssrcs.len(),
                self.limits.max_children,
                "ssrc-group members",
            )?;
            let mut ssrc = None;
            self.rd.attrs(&c, |k, v| {
                if k == "ssrc" {
                    ssrc = Some(number("source", "ssrc", &v)?);
                }
                Ok(())
            })?;
            group.ssrcs.push(required(ssrc, "source", "ssrc")?);
            self.rd.skip_checked(c)?;
        }
        Ok(group)
    }

    /// `<rtp-hdrext id=… uri=… senders=…/>`.
    fn hdrext(&mut self, e: Elem<'i>) -> Result<RtpHdrext<'i>, ParseError> {
        const EL: &str = "rtp-hdrext";
        let (mut id, mut uri, mut who) = (None, None, None);
        self.rd.attrs(&e, |k, v| {
            match k {
                "id" => {
                    let n: u16 = number(EL, "id", &v)?;
                    if !(1..=255).contains(&n) {
                        return Err(ParseError::invalid(EL, "id", &v));
                    }
                    id = Some(n);
                }
                "uri" => uri = Some(v),
                "senders" => who = Some(senders(EL, &v)?),
                _ => {}
            }
            Ok(())
        })?;
        self.rd.skip_checked(e)?;
        Ok(RtpHdrext {
            id: required(id, EL, "id")?,
            uri: required(uri, EL, "uri")?,
            senders: who,
        })
    }
}
