//! XEP-0167 RTP description with the extensions lib-jitsi-meet writes inside it:
//! XEP-0293 (rtcp-fb), XEP-0294 (rtp-hdrext), XEP-0339 (sources, ssrc-group).

use std::borrow::Cow;

use super::Senders;

/// `urn:xmpp:jingle:apps:rtp:1` (XEP-0167).
pub const NS: &str = "urn:xmpp:jingle:apps:rtp:1";
/// `urn:xmpp:jingle:apps:rtp:rtcp-fb:0` (XEP-0293).
pub const NS_RTCP_FB: &str = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0";
/// `urn:xmpp:jingle:apps:rtp:rtp-hdrext:0` (XEP-0294).
pub const NS_HDREXT: &str = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0";
/// `urn:xmpp:jingle:apps:rtp:ssma:0` (XEP-0339).
pub const NS_SSMA: &str = "urn:xmpp:jingle:apps:rtp:ssma:0";

/// `<description media='video'>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RtpDescription<'a> {
    /// `media`: `audio` or `video` (other values are kept as written).
    pub media: Cow<'a, str>,
    /// `ssrc` attribute of the description (old style), if any.
    pub ssrc: Option<u32>,
    /// `<payload-type>`s in preference order.
    pub payload_types: Vec<PayloadType<'a>>,
    /// Description-level `<rtcp-fb>` (applies to every payload type).
    pub rtcp_fbs: Vec<RtcpFb<'a>>,
    /// `<source>`s (XEP-0339).
    pub sources: Vec<Source<'a>>,
    /// `<ssrc-group>`s (XEP-0339).
    pub ssrc_groups: Vec<SsrcGroup<'a>>,
    /// `<rtcp-mux/>` present.
    pub rtcp_mux: bool,
    /// `<rtp-hdrext>`s (XEP-0294).
    pub hdrexts: Vec<RtpHdrext<'a>>,
    /// `<extmap-allow-mixed/>` present.
    pub extmap_allow_mixed: bool,
}

/// `<payload-type id=… name=… clockrate=… channels=…>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadType<'a> {
    /// `id` (RTP payload type, 0..=127).
    pub id: u8,
    /// `name`, e.g. `VP8`, `opus`, `rtx`.
    pub name: Cow<'a, str>,
    /// `clockrate`.
    pub clockrate: Option<u32>,
    /// `channels`.
    pub channels: Option<u16>,
    /// `ptime`.
    pub ptime: Option<u32>,
    /// `maxptime`.
    pub maxptime: Option<u32>,
    /// `<parameter>`s (fmtp); a value-only fmtp has an empty name.
    pub parameters: Vec<Parameter<'a>>,
    /// `<rtcp-fb>`s (XEP-0293).
    pub rtcp_fbs: Vec<RtcpFb<'a>>,
    /// `<rtcp-fb-trr-int value=…>` (XEP-0293), if any.
    pub rtcp_fb_trr_int: Option<u32>,
}

/// `<parameter name=… value=…/>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter<'a> {
    /// `name`; empty for a value-only fmtp such as RED's `111/111`.
    pub name: Cow<'a, str>,
    /// `value`.
    pub value: Cow<'a, str>,
}

impl<'a> Parameter<'a> {
    /// A name/value parameter.
    pub fn new(name: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) -> Parameter<'a> {
        Parameter {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// `<rtcp-fb type=… subtype=…/>` (XEP-0293).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpFb<'a> {
    /// `type`, e.g. `nack`, `ccm`, `goog-remb`, `transport-cc`.
    pub kind: Cow<'a, str>,
    /// `subtype`, e.g. `pli`, `fir`.
    pub subtype: Option<Cow<'a, str>>,
}

/// `<rtp-hdrext id=… uri=… senders=…/>` (XEP-0294).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpHdrext<'a> {
    /// `id` (1..=255 on the wire; 1..=14 one-byte, 15+ two-byte).
    pub id: u16,
    /// `uri`.
    pub uri: Cow<'a, str>,
    /// `senders`, if written.
    pub senders: Option<Senders>,
}

/// `<source ssrc=… name=… videoType=…>` (XEP-0339 with Jitsi's attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source<'a> {
    /// `ssrc`.
    pub ssrc: u32,
    /// `name` (Jitsi source name, e.g. `peer-v0`).
    pub name: Option<Cow<'a, str>>,
    /// `videoType` (Jitsi: `camera` or `desktop`).
    pub video_type: Option<Cow<'a, str>>,
    /// `<parameter>`s, e.g. `msid`, `cname`.
    pub parameters: Vec<Parameter<'a>>,
}

impl<'a> Source<'a> {
    /// The value of the `msid` parameter, if present.
    pub fn msid(&self) -> Option<&str> {
        self.parameters
            .iter()
            .find(|p| p.name == "msid")
            .map(|p| &*p.value)
    }
}

/// `<ssrc-group semantics='FID'><source ssrc=…/>…</ssrc-group>` (XEP-0339).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcGroup<'a> {
    /// `semantics`, e.g. `FID`, `SIM`.
    pub semantics: Cow<'a, str>,
    /// The member ssrcs in order.
    pub ssrcs: Vec<u32>,
}

use super::owned;

impl RtpDescription<'_> {
    /// This description with nothing borrowed.
    pub fn into_owned(self) -> RtpDescription<'static> {
        RtpDescription {
            media: owned(self.media),
            ssrc: self.ssrc,
            payload_types: self
                .payload_types
                .into_iter()
                .map(PayloadType::into_owned)
                .collect(),
            rtcp_fbs: self.rtcp_fbs.into_iter().map(RtcpFb::into_owned).collect(),
            sources: self.sources.into_iter().map(Source::into_owned).collect(),
            ssrc_groups: self
                .ssrc_groups
                .into_iter()
                .map(SsrcGroup::into_owned)
                .collect(),
            rtcp_mux: self.rtcp_mux,
            hdrexts: self
                .hdrexts
                .into_iter()
                .map(RtpHdrext::into_owned)
                .collect(),
            extmap_allow_mixed: self.extmap_allow_mixed,
        }
    }
}

impl PayloadType<'_> {
    /// This payload type with nothing borrowed.
    pub fn into_owned(self) -> PayloadType<'static> {
        PayloadType {
            id: self.id,
            name: owned(self.name),
            clockrate: self.clockrate,
            channels: self.channels,
            ptime: self.ptime,
            maxptime: self.maxptime,
            parameters: self
                .parameters
                .into_iter()
                .map(Parameter::into_owned)
                .collect(),
            rtcp_fbs: self.rtcp_fbs.into_iter().map(RtcpFb::into_owned).collect(),
            rtcp_fb_trr_int: self.rtcp_fb_trr_int,
        }
    }
}

impl Parameter<'_> {
    /// This parameter with nothing borrowed.
    pub fn into_owned(self) -> Parameter<'static> {
        Parameter {
            name: owned(self.name),
            value: owned(self.value),
        }
    }
}

impl RtcpFb<'_> {
    /// This feedback with nothing borrowed.
    pub fn into_owned(self) -> RtcpFb<'static> {
        RtcpFb {
            kind: owned(self.kind),
            subtype: self.subtype.map(owned),
        }
    }
}

impl RtpHdrext<'_> {
    /// This header extension with nothing borrowed.
    pub fn into_owned(self) -> RtpHdrext<'static> {
        RtpHdrext {
            id: self.id,
            uri: owned(self.uri),
            senders: self.senders,
        }
    }
}

impl Source<'_> {
    /// This source with nothing borrowed.
    pub fn into_owned(self) -> Source<'static> {
        Source {
            ssrc: self.ssrc,
            name: self.name.map(owned),
            video_type: self.video_type.map(owned),
            parameters: self
                .parameters
                .into_iter()
                .map(Parameter::into_owned)
                .collect(),
        }
    }
}

impl SsrcGroup<'_> {
    /// This group with nothing borrowed.
    pub fn into_owned(self) -> SsrcGroup<'static> {
        SsrcGroup {
            semantics: owned(self.semantics),
            ssrcs: self.ssrcs,
        }
    }
}
