//! XEP-0167 RTP description with the extensions lib-jitsi-meet writes inside
//! it: XEP-0293 (rtcp-fb) and XEP-0294 (rtp-hdrext); its XEP-0339 sources are
//! in [`super::ssma`].

use super::ssma::{self, Source, SsrcGroup};
use super::Senders;
use crate::error::ParseError;
use crate::xml::{number, push_within, required, wire_enum, Elem, Limits, Reader, Writer};

/// `urn:xmpp:jingle:apps:rtp:1` (XEP-0167).
pub const NS: &str = "urn:xmpp:jingle:apps:rtp:1";
/// `urn:xmpp:jingle:apps:rtp:rtcp-fb:0` (XEP-0293).
pub const NS_RTCP_FB: &str = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0";
/// `urn:xmpp:jingle:apps:rtp:rtp-hdrext:0` (XEP-0294).
pub const NS_HDREXT: &str = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0";

wire_enum! {
    /// `description@media`.
    pub enum Media {
        Audio = "audio",
        Video = "video",
    } else {
        /// Any other value, as written.
        Other(String)
    }
}

impl Default for Media {
    fn default() -> Media {
        Media::Other(String::new())
    }
}

/// `<description media='video'>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpDescription {
    /// `media`.
    pub media: Media,
    /// `ssrc` attribute of the description (old style), if any.
    pub ssrc: Option<u32>,
    /// `<payload-type>`s in preference order.
    pub payload_types: Vec<PayloadType>,
    /// Description-level `<rtcp-fb>` (applies to every payload type).
    pub rtcp_fbs: Vec<RtcpFb>,
    /// `<source>`s (XEP-0339).
    pub sources: Vec<Source>,
    /// `<ssrc-group>`s (XEP-0339).
    pub ssrc_groups: Vec<SsrcGroup>,
    /// `<rtcp-mux/>` present.
    pub rtcp_mux: bool,
    /// `<rtp-hdrext>`s (XEP-0294).
    pub hdrexts: Vec<RtpHdrext>,
    /// `<extmap-allow-mixed/>` present.
    pub extmap_allow_mixed: bool,
}

/// `<payload-type id=… name=… clockrate=… channels=…>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PayloadType {
    /// `id` (RTP payload type, 0..=127).
    pub id: u8,
    /// `name`, e.g. `VP8`, `opus`, `rtx`.
    pub name: String,
    /// `clockrate`.
    pub clockrate: Option<u32>,
    /// `channels`.
    pub channels: Option<u16>,
    /// `ptime`.
    pub ptime: Option<u32>,
    /// `maxptime`.
    pub maxptime: Option<u32>,
    /// `<parameter>`s (fmtp); a value-only fmtp has an empty name.
    pub parameters: Vec<Parameter>,
    /// `<rtcp-fb>`s (XEP-0293).
    pub rtcp_fbs: Vec<RtcpFb>,
    /// `<rtcp-fb-trr-int value=…>` (XEP-0293), if any.
    pub rtcp_fb_trr_int: Option<u32>,
}

/// `<parameter name=… value=…/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// `name`; empty for a value-only fmtp such as RED's `111/111`.
    pub name: String,
    /// `value`.
    pub value: String,
}

/// `<rtcp-fb type=… subtype=…/>` (XEP-0293).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpFb {
    /// `type`, e.g. `nack`, `ccm`, `goog-remb`, `transport-cc`.
    pub kind: String,
    /// `subtype`, e.g. `pli`, `fir`.
    pub subtype: Option<String>,
}

/// `<rtp-hdrext id=… uri=… senders=…/>` (XEP-0294).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpHdrext {
    /// `id` (1..=255 on the wire; 1..=14 one-byte, 15+ two-byte).
    pub id: u16,
    /// `uri`.
    pub uri: String,
    /// `senders`, if written.
    pub senders: Option<Senders>,
}

impl RtpDescription {
    /// `<description media=…>`.
    pub(crate) fn parse(
        rd: &mut Reader<'_>,
        e: Elem<'_>,
        limits: &Limits,
    ) -> Result<RtpDescription, ParseError> {
        let mut media = None;
        let mut d = RtpDescription::default();
        e.attrs(|k, v| {
            match k {
                "media" => media = Some(Media::from_wire(&v)),
                "ssrc" => d.ssrc = Some(number("description", "ssrc", &v)?),
                _ => {}
            }
            Ok(())
        })?;
        d.media = required(media, "description", "media")?;
        let max = limits.max_children;
        while let Some(c) = rd.child(&e)? {
            match c.local() {
                "payload-type" => {
                    c.expect_ns(NS)?;
                    let (pt, limit) = (PayloadType::parse(rd, c, max)?, limits.max_payload_types);
                    push_within(&mut d.payload_types, pt, limit, "payload-types")?;
                }
                "rtcp-fb" => {
                    c.expect_ns(NS_RTCP_FB)?;
                    push_within(&mut d.rtcp_fbs, RtcpFb::parse(rd, c)?, max, "rtcp-fbs")?;
                }
                "source" => {
                    c.expect_ns(ssma::NS)?;
                    if let Some(source) = Source::parse(rd, c, max)? {
                        push_within(&mut d.sources, source, limits.max_sources, "sources")?;
                    }
                }
                "ssrc-group" => {
                    c.expect_ns(ssma::NS)?;
                    let group = SsrcGroup::parse(rd, c, max)?;
                    push_within(&mut d.ssrc_groups, group, limits.max_sources, "ssrc-groups")?;
                }
                "rtcp-mux" => {
                    c.expect_ns(NS)?;
                    d.rtcp_mux = true;
                    rd.skip(c)?;
                }
                "rtp-hdrext" => {
                    c.expect_ns(NS_HDREXT)?;
                    push_within(&mut d.hdrexts, RtpHdrext::parse(rd, c)?, max, "rtp-hdrexts")?;
                }
                "extmap-allow-mixed" => {
                    c.expect_ns(NS_HDREXT)?;
                    d.extmap_allow_mixed = true;
                    rd.skip(c)?;
                }
                _ => rd.skip(c)?,
            }
        }
        Ok(d)
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.open("description")
            .attr("media", self.media.as_str())
            .opt_num("ssrc", self.ssrc)
            .attr("xmlns", NS)
            .children("description", |w| {
                self.payload_types.iter().for_each(|pt| pt.write(w));
                self.sources.iter().for_each(|s| s.write(w));
                self.ssrc_groups.iter().for_each(|g| g.write(w));
                if self.rtcp_mux {
                    w.0.push_str("<rtcp-mux/>");
                }
                self.rtcp_fbs.iter().for_each(|fb| fb.write(w));
                self.hdrexts.iter().for_each(|ext| ext.write(w));
                if self.extmap_allow_mixed {
                    w.open("extmap-allow-mixed")
                        .attr("xmlns", NS_HDREXT)
                        .empty();
                }
            });
    }
}

impl PayloadType {
    /// `<payload-type id=… name=… clockrate=… channels=…>`.
    fn parse(rd: &mut Reader<'_>, e: Elem<'_>, max: usize) -> Result<PayloadType, ParseError> {
        const EL: &str = "payload-type";
        let mut id = None;
        let mut pt = PayloadType::default();
        e.attrs(|k, v| {
            match k {
                "id" => match number::<u8>(EL, "id", &v)? {
                    n @ 0..=127 => id = Some(n),
                    _ => return Err(ParseError::invalid(EL, "id", &v)),
                },
                "name" => pt.name = v.into_owned(),
                "clockrate" => pt.clockrate = Some(number(EL, "clockrate", &v)?),
                "channels" => pt.channels = Some(number(EL, "channels", &v)?),
                "ptime" => pt.ptime = Some(number(EL, "ptime", &v)?),
                "maxptime" => pt.maxptime = Some(number(EL, "maxptime", &v)?),
                _ => {}
            }
            Ok(())
        })?;
        pt.id = required(id, EL, "id")?;
        while let Some(c) = rd.child(&e)? {
            match c.local() {
                "parameter" => {
                    c.expect_ns(NS)?;
                    let p = Parameter::parse(rd, c)?;
                    push_within(&mut pt.parameters, p, max, "parameters")?;
                }
                "rtcp-fb" => {
                    c.expect_ns(NS_RTCP_FB)?;
                    push_within(&mut pt.rtcp_fbs, RtcpFb::parse(rd, c)?, max, "rtcp-fbs")?;
                }
                "rtcp-fb-trr-int" if pt.rtcp_fb_trr_int.is_none() => {
                    c.expect_ns(NS_RTCP_FB)?;
                    let value = required(c.attr("value")?, "rtcp-fb-trr-int", "value")?;
                    pt.rtcp_fb_trr_int = Some(number("rtcp-fb-trr-int", "value", &value)?);
                    rd.skip_content(c)?;
                }
                _ => rd.skip(c)?,
            }
        }
        Ok(pt)
    }

    fn write(&self, w: &mut Writer<'_>) {
        w.open("payload-type").num("id", self.id);
        if !self.name.is_empty() {
            w.attr("name", &self.name);
        }
        w.opt_num("clockrate", self.clockrate)
            .opt_num("channels", self.channels)
            .opt_num("ptime", self.ptime)
            .opt_num("maxptime", self.maxptime)
            .children("payload-type", |w| {
                self.parameters.iter().for_each(|p| p.write(w));
                self.rtcp_fbs.iter().for_each(|fb| fb.write(w));
                if let Some(value) = self.rtcp_fb_trr_int {
                    w.open("rtcp-fb-trr-int")
                        .num("value", value)
                        .attr("xmlns", NS_RTCP_FB)
                        .empty();
                }
            });
    }
}

impl Parameter {
    /// A name/value parameter.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Parameter {
        Parameter {
            name: name.into(),
            value: value.into(),
        }
    }

    /// `<parameter name=… value=…/>` (a missing attribute reads as empty, as
    /// lib-jitsi-meet's own value-only fmtp has `name=""`).
    pub(crate) fn parse(rd: &mut Reader<'_>, e: Elem<'_>) -> Result<Parameter, ParseError> {
        let mut p = Parameter::new("", "");
        e.attrs(|k, v| {
            match k {
                "name" => p.name = v.into_owned(),
                "value" => p.value = v.into_owned(),
                _ => {}
            }
            Ok(())
        })?;
        rd.skip_content(e)?;
        Ok(p)
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.open("parameter")
            .attr("name", &self.name)
            .attr("value", &self.value)
            .empty();
    }
}

impl RtcpFb {
    /// `<rtcp-fb type=… subtype=…/>`.
    fn parse(rd: &mut Reader<'_>, e: Elem<'_>) -> Result<RtcpFb, ParseError> {
        let (mut kind, mut subtype) = (None, None);
        e.attrs(|k, v| {
            match k {
                "type" => kind = Some(v.into_owned()),
                "subtype" => subtype = Some(v.into_owned()),
                _ => {}
            }
            Ok(())
        })?;
        rd.skip_content(e)?;
        Ok(RtcpFb {
            kind: required(kind, "rtcp-fb", "type")?,
            subtype,
        })
    }

    fn write(&self, w: &mut Writer<'_>) {
        w.open("rtcp-fb")
            .attr("type", &self.kind)
            .attr("xmlns", NS_RTCP_FB)
            .opt("subtype", self.subtype.as_deref())
            .empty();
    }
}

impl RtpHdrext {
    /// `<rtp-hdrext id=… uri=… senders=…/>`.
    fn parse(rd: &mut Reader<'_>, e: Elem<'_>) -> Result<RtpHdrext, ParseError> {
        const EL: &str = "rtp-hdrext";
        let (mut id, mut uri, mut who) = (None, None, None);
        e.attrs(|k, v| {
            match k {
                "id" => match number::<u16>(EL, "id", &v)? {
                    n @ 1..=255 => id = Some(n),
                    _ => return Err(ParseError::invalid(EL, "id", &v)),
                },
                "uri" => uri = Some(v.into_owned()),
                "senders" => who = Some(Senders::read(EL, &v)?),
                _ => {}
            }
            Ok(())
        })?;
        rd.skip_content(e)?;
        Ok(RtpHdrext {
            id: required(id, EL, "id")?,
            uri: required(uri, EL, "uri")?,
            senders: who,
        })
    }

    fn write(&self, w: &mut Writer<'_>) {
        w.open("rtp-hdrext")
            .num("id", self.id)
            .attr("uri", &self.uri)
            .attr("xmlns", NS_HDREXT)
            .opt("senders", self.senders.map(Senders::as_str))
            .empty();
    }
}
