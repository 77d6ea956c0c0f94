//! XEP-0167 RTP description with the extensions lib-jitsi-meet writes inside it:
//! XEP-0293 (rtcp-fb), XEP-0294 (rtp-hdrext), XEP-0339 (sources, ssrc-group).

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
pub struct RtpDescription {
    /// `media`: `audio` or `video` (other values are kept as written).
    pub media: String,
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
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl Parameter {
    /// A name/value parameter.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Parameter {
        Parameter {
            name: name.into(),
            value: value.into(),
        }
    }
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

/// `<source ssrc=… name=… videoType=…>` (XEP-0339 with Jitsi's attributes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// `ssrc`.
    pub ssrc: u32,
    /// `name` (Jitsi source name, e.g. `peer-v0`).
    pub name: Option<String>,
    /// `videoType` (Jitsi: `camera` or `desktop`).
    pub video_type: Option<String>,
    /// `<parameter>`s, e.g. `msid`, `cname`.
    pub parameters: Vec<Parameter>,
}

impl Source {
    /// The value of the `msid` parameter, if present.
    pub fn msid(&self) -> Option<&str> {
        self.parameters
            .iter()
            .find(|p| p.name == "msid")
            .map(|p| p.value.as_str())
    }
}

/// `<ssrc-group semantics='FID'><source ssrc=…/>…</ssrc-group>` (XEP-0339).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsrcGroup {
    /// `semantics`, e.g. `FID`, `SIM`.
    pub semantics: String,
    /// The member ssrcs in order.
    pub ssrcs: Vec<u32>,
}
