//! XEP-0339: Source-Specific Media Attributes (`urn:xmpp:jingle:apps:rtp:ssma:0`),
//! with Jitsi's `name` and `videoType` on `<source>`.

use super::rtp::Parameter;
use crate::error::ParseError;
use crate::xml::{number, push_within, required, wire_enum, Elem, Reader, Writer};

/// `urn:xmpp:jingle:apps:rtp:ssma:0`.
pub const NS: &str = "urn:xmpp:jingle:apps:rtp:ssma:0";

wire_enum! {
    /// `source@videoType` (Jitsi).
    pub enum VideoType {
        Camera = "camera",
        /// A screen share.
        Desktop = "desktop",
    } else {
        /// Any other value, as written.
        Other(String)
    }
}

/// `<source ssrc=… name=… videoType=…>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Source {
    /// `ssrc`.
    pub ssrc: u32,
    /// `name` (Jitsi source name, e.g. `peer-v0`).
    pub name: Option<String>,
    /// `videoType` (Jitsi).
    pub video_type: Option<VideoType>,
    /// `<parameter>`s, e.g. `msid`, `cname`.
    pub parameters: Vec<Parameter>,
}

/// `<ssrc-group semantics='FID'><source ssrc=…/>…</ssrc-group>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcGroup {
    /// `semantics`, e.g. `FID`, `SIM`.
    pub semantics: String,
    /// The member ssrcs in order.
    pub ssrcs: Vec<u32>,
}

impl Source {
    /// The value of the `msid` parameter, if present.
    pub fn msid(&self) -> Option<&str> {
        let msid = self.parameters.iter().find(|p| p.name == "msid");
        msid.map(|p| p.value.as_str())
    }

    /// `<source ssrc=… name=… videoType=…>`; `None` for a rid-only source
    /// (`<source rid=…>`, simulcast by rid), which the model does not carry.
    pub(crate) fn parse(
        rd: &mut Reader<'_>,
        e: Elem<'_>,
        max: usize,
    ) -> Result<Option<Source>, ParseError> {
        let (mut ssrc, mut rid) = (None, false);
        let mut source = Source::default();
        e.attrs(|k, v| {
            match k {
                "ssrc" => ssrc = Some(number("source", "ssrc", &v)?),
                "name" => source.name = Some(v.into_owned()),
                "videoType" => source.video_type = Some(VideoType::from_wire(&v)),
                "rid" => rid = true,
                _ => {}
            }
            Ok(())
        })?;
        if ssrc.is_none() && rid {
            rd.skip_content(e)?;
            return Ok(None);
        }
        source.ssrc = required(ssrc, "source", "ssrc")?;
        while let Some(c) = rd.child(&e)? {
            if c.local() == "parameter" {
                c.expect_ns(NS)?;
                let p = Parameter::parse(rd, c)?;
                push_within(&mut source.parameters, p, max, "parameters")?;
            } else {
                rd.skip(c)?;
            }
        }
        Ok(Some(source))
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.open("source")
            .opt("name", self.name.as_deref())
            .num("ssrc", self.ssrc)
            .opt("videoType", self.video_type.as_ref().map(VideoType::as_str))
            .attr("xmlns", NS)
            .children("source", |w| {
                self.parameters.iter().for_each(|p| p.write(w))
            });
    }
}

impl SsrcGroup {
    /// `<ssrc-group semantics=…><source ssrc=…/>…</ssrc-group>`.
    pub(crate) fn parse(
        rd: &mut Reader<'_>,
        e: Elem<'_>,
        max: usize,
    ) -> Result<SsrcGroup, ParseError> {
        let mut group = SsrcGroup {
            semantics: required(e.attr("semantics")?, "ssrc-group", "semantics")?,
            ssrcs: Vec::new(),
        };
        while let Some(c) = rd.child(&e)? {
            if c.local() != "source" {
                rd.skip(c)?;
                continue;
            }
            c.expect_ns(NS)?;
            let ssrc = required(c.attr("ssrc")?, "source", "ssrc")?;
            let ssrc = number("source", "ssrc", &ssrc)?;
            push_within(&mut group.ssrcs, ssrc, max, "ssrc-group members")?;
            rd.skip_content(c)?;
        }
        Ok(group)
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.open("ssrc-group")
            .attr("semantics", &self.semantics)
            .attr("xmlns", NS)
            .children("ssrc-group", |w| {
                for &ssrc in &self.ssrcs {
                    w.open("source").num("ssrc", ssrc).empty();
                }
            });
    }
}
