//! SDP -> Jingle (lib-jitsi-meet's `SDP.toJingle` / `transportToJingle` for a P2P session).
//!
//! sdp-types parses the text. Then one pass over each section's attributes
//! ([`Attrs::new`]) notes what the conversion reads: first values, flags, the
//! first `a=rtpmap` and `a=fmtp` of each payload type and the `a=rtcp-fb` lines of
//! each, so no lookup rescans the section or parses a line twice. Attribute names
//! match case-insensitively, as sdp-types' own lookups do.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use sdp_types::{Attribute, Media, Session};

use crate::error::ConvertError;
use crate::jingle::{
    Action, Content, Creator, Fingerprint, Group, IceUdpTransport, Jingle, Parameter, PayloadType,
    RtcpFb, RtpDescription, RtpHdrext, Senders, Setup, Source, SsrcGroup,
};

use super::candidate::candidate_from_sdp;
use super::{check_token, invalid, is_hex_fingerprint, senders_of};

pub(super) fn sdp_to_jingle(
    sdp: &str,
    action: Action,
    creator: Creator,
) -> Result<Jingle<'static>, ConvertError> {
    let session = Session::parse(sdp.as_bytes()).map_err(|e| ConvertError::Sdp(e.to_string()))?;
    let needs_transport = matches!(action, Action::SessionInitiate | Action::SessionAccept);
    let s = Attrs::new(&session.attributes, false);

    let mut jingle = Jingle::new(action);
    jingle.contents.reserve_exact(session.medias.len());
    let mut mids: HashSet<&str> = HashSet::with_capacity(session.medias.len());
    for m in &session.medias {
        let (mid, c) = content(&s, m, creator, needs_transport)?;
        if !mids.insert(mid) {
            return Err(invalid("a=mid (duplicate)", mid));
        }
        jingle.contents.push(c);
    }
    for value in s.values(Name::Group) {
        let mut words = value.split_ascii_whitespace();
        let semantics = words
            .next()
            .ok_or(ConvertError::Missing("a=group semantics"))?;
        let mut contents: Vec<Cow<'static, str>> = Vec::new();
        for mid in words {
            if !mids.contains(mid) {
                return Err(invalid("a=group member (no such m-line)", mid));
            }
            contents.push(Cow::Owned(mid.to_owned()));
        }
        if !contents.is_empty() {
            jingle.groups.push(Group {
                semantics: semantics.to_owned().into(),
                contents,
            });
        }
    }
    Ok(jingle)
}

// ---------------------------------------------------------------------------
// The index of a section's attributes

/// The attributes the conversion reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Name {
    Mid,
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
    BundleOnly,
    RtcpFb,
    Rtpmap,
    Fmtp,
    Ssrc,
    SsrcGroup,
    Msid,
    RtcpMux,
    Extmap,
    ExtmapAllowMixed,
    IceUfrag,
    IcePwd,
    Fingerprint,
    Setup,
    Cryptex,
    Candidate,
    Group,
    Other,
}

impl Name {
    fn of(attribute: &str) -> Name {
        use Name::*;
        let candidates: &[(&str, Name)] = match attribute.len() {
            3 => &[("mid", Mid)],
            4 => &[("fmtp", Fmtp), ("ssrc", Ssrc), ("msid", Msid)],
            5 => &[("setup", Setup), ("group", Group)],
            6 => &[("rtpmap", Rtpmap), ("extmap", Extmap)],
            7 => &[
                ("rtcp-fb", RtcpFb),
                ("ice-pwd", IcePwd),
                ("cryptex", Cryptex),
            ],
            8 => &[
                ("sendrecv", SendRecv),
                ("sendonly", SendOnly),
                ("recvonly", RecvOnly),
                ("inactive", Inactive),
                ("rtcp-mux", RtcpMux),
            ],
            9 => &[("ice-ufrag", IceUfrag), ("candidate", Candidate)],
            10 => &[("ssrc-group", SsrcGroup)],
            11 => &[("bundle-only", BundleOnly), ("fingerprint", Fingerprint)],
            18 => &[("extmap-allow-mixed", ExtmapAllowMixed)],
            _ => &[],
        };
        candidates
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(attribute))
            .map_or(Other, |&(_, name)| name)
    }

    /// The bit of this name in [`Attrs::present`].
    fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// No entry (in the per-payload-type tables).
const NONE: u8 = u8::MAX;
const NO_FB: u32 = u32::MAX;

/// An `a=rtpmap` as sdp-types' `RtpMap` reads it, borrowed.
#[derive(Clone, Copy)]
struct RtpMap<'a> {
    encoding_name: &'a str,
    clock_rate: u32,
    encoding_params: Option<&'a str>,
}

/// sdp-types' `RtpMap::from_str`, without allocating: `<pt> <name>/<rate>[/<params>]`,
/// pt (a `u8`, `+` allowed) at most 127. `None` where sdp-types fails.
fn parse_rtpmap(v: &str) -> Option<(u8, RtpMap<'_>)> {
    let (pt, rest) = v.split_once(' ')?;
    let pt = pt.parse::<u8>().ok().filter(|&pt| pt <= 127)?;
    let mut i = rest.splitn(3, '/');
    let encoding_name = i.next()?;
    let clock_rate = i.next()?.parse::<u32>().ok()?;
    let encoding_params = i.next();
    Some((
        pt,
        RtpMap {
            encoding_name,
            clock_rate,
            encoding_params,
        },
    ))
}

/// The payload type `s` names when it is written exactly as `id.to_string()`
/// writes a payload type `id` of 0..=127 (no sign, no leading zero).
fn canonical_pt(s: &str) -> Option<u8> {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 3 || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    let mut n: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u32::from(c - b'0');
    }
    u8::try_from(n).ok().filter(|&n| n <= 127)
}

/// The first word of `s` (split on ASCII white space, as `split_ascii_whitespace`)
/// and what follows it.
fn word(s: &str) -> Option<(&str, &str)> {
    // ASCII white space bytes never occur inside a multi-byte character, so both
    // positions are character boundaries.
    let b = s.as_bytes();
    let start = b.iter().position(|c| !c.is_ascii_whitespace())?;
    let len = b
        .get(start..)?
        .iter()
        .position(u8::is_ascii_whitespace)
        .unwrap_or(b.len() - start);
    Some((s.get(start..start + len)?, s.get(start + len..)?))
}

/// Whom an `a=rtcp-fb` line is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FbPt {
    /// `*`.
    Star,
    /// A payload type written as `id.to_string()` writes it.
    Id(u8),
    /// Anything else: matches no payload type.
    Other,
}

/// An `a=rtcp-fb:<pt> <kind> <words>...` line.
struct Fb<'a> {
    pt: FbPt,
    kind: &'a str,
    /// The words after the kind, as written.
    rest: &'a str,
    /// The next line of the same payload type (an index in [`Attrs::fbs`]).
    next: u32,
}

/// One pass over a section's attributes: what the conversion reads of them.
struct Attrs<'a> {
    attrs: &'a [Attribute],
    /// The [`Name`] of each attribute.
    names: Vec<Name>,
    /// [`Name::bit`]s of the names present.
    present: u32,
    /// The first value of each name that is read once (`""` when valueless).
    mid: Option<Option<&'a str>>,
    msid: Option<Option<&'a str>>,
    ice_ufrag: Option<&'a str>,
    ice_pwd: Option<&'a str>,
    fingerprint: Option<&'a str>,
    setup: Option<&'a str>,
    /// Media sections only: the `a=rtcp-fb` lines, the first that has fewer than
    /// two words, and the first and last line of each payload type.
    fbs: Vec<Fb<'a>>,
    fb_bad: Option<&'a str>,
    fb_first: [u32; 128],
    fb_last: [u32; 128],
    /// Media sections only: the first `a=rtpmap` of each payload type (an index in
    /// `rtpmaps`) before the first that does not parse, which is `rtpmap_bad`.
    rtpmaps: Vec<RtpMap<'a>>,
    rtpmap_of: [u8; 128],
    rtpmap_bad: Option<&'a str>,
    /// Media sections only: the parameters of the first `a=fmtp` of each payload type.
    fmtps: Vec<&'a str>,
    fmtp_of: [u8; 128],
}

impl<'a> Attrs<'a> {
    fn new(attrs: &'a [Attribute], media: bool) -> Attrs<'a> {
        let mut a = Attrs {
            attrs,
            names: Vec::with_capacity(attrs.len()),
            present: 0,
            mid: None,
            msid: None,
            ice_ufrag: None,
            ice_pwd: None,
            fingerprint: None,
            setup: None,
            fbs: Vec::new(),
            fb_bad: None,
            fb_first: [NO_FB; 128],
            fb_last: [NO_FB; 128],
            rtpmaps: Vec::new(),
            rtpmap_of: [NONE; 128],
            rtpmap_bad: None,
            fmtps: Vec::new(),
            fmtp_of: [NONE; 128],
        };
        for attr in attrs {
            let name = Name::of(&attr.attribute);
            a.names.push(name);
            let first = a.present & name.bit() == 0;
            a.present |= name.bit();
            let raw = attr.value.as_deref();
            let v = raw.unwrap_or_default();
            match name {
                Name::Mid if first => a.mid = Some(raw),
                Name::Msid if first => a.msid = Some(raw),
                Name::IceUfrag if first => a.ice_ufrag = Some(v),
                Name::IcePwd if first => a.ice_pwd = Some(v),
                Name::Fingerprint if first => a.fingerprint = Some(v),
                Name::Setup if first => a.setup = Some(v),
                Name::RtcpFb if media => a.add_fb(v),
                Name::Rtpmap if media && a.rtpmap_bad.is_none() => match parse_rtpmap(v) {
                    Some((pt, map)) => {
                        if let Some(slot) = a.rtpmap_of.get_mut(usize::from(pt)) {
                            if *slot == NONE {
                                // At most one entry per payload type: fewer than 128.
                                *slot = a.rtpmaps.len() as u8;
                                a.rtpmaps.push(map);
                            }
                        }
                    }
                    None => a.rtpmap_bad = Some(v),
                },
                Name::Fmtp if media => {
                    let (pt, params) = v.split_once(' ').unwrap_or((v, ""));
                    if let Some(slot) =
                        canonical_pt(pt).and_then(|pt| a.fmtp_of.get_mut(usize::from(pt)))
                    {
                        if *slot == NONE {
                            *slot = a.fmtps.len() as u8;
                            a.fmtps.push(params);
                        }
                    }
                }
                _ => {}
            }
        }
        a
    }

    fn add_fb(&mut self, v: &'a str) {
        let Some((pt, rest)) = word(v) else {
            self.fb_bad.get_or_insert(v);
            return;
        };
        let Some((kind, rest)) = word(rest) else {
            self.fb_bad.get_or_insert(v);
            return;
        };
        let pt = match pt {
            "*" => FbPt::Star,
            _ => canonical_pt(pt).map_or(FbPt::Other, FbPt::Id),
        };
        let at = self.fbs.len() as u32;
        if let FbPt::Id(id) = pt {
            let i = usize::from(id);
            if let (Some(first), Some(last)) = (self.fb_first.get_mut(i), self.fb_last.get(i)) {
                if *first == NO_FB {
                    *first = at;
                } else if let Some(prev) = self.fbs.get_mut(*last as usize) {
                    prev.next = at;
                }
            }
            if let Some(last) = self.fb_last.get_mut(i) {
                *last = at;
            }
        }
        self.fbs.push(Fb {
            pt,
            kind,
            rest,
            next: NO_FB,
        });
    }

    fn has(&self, name: Name) -> bool {
        self.present & name.bit() != 0
    }

    /// The values of `name`, in order (`""` when valueless).
    fn values(&self, name: Name) -> impl Iterator<Item = &'a str> + '_ {
        let has = self.has(name);
        self.attrs
            .iter()
            .zip(&self.names)
            .filter(move |&(_, n)| has && *n == name)
            .map(|(a, _)| a.value.as_deref().unwrap_or_default())
    }

    /// The `a=rtcp-fb` lines of payload type `id`, in order.
    fn fbs_of(&self, id: u8) -> impl Iterator<Item = &Fb<'a>> + '_ {
        let mut at = self.fb_first.get(usize::from(id)).copied().unwrap_or(NO_FB);
        std::iter::from_fn(move || {
            let fb = self.fbs.get(at as usize)?;
            at = fb.next;
            Some(fb)
        })
    }

    /// The first `a=rtpmap` for payload type `id`, as reading the lines in order
    /// finds it: an error when a line that does not parse comes first.
    fn rtpmap(&self, id: u8) -> Result<Option<RtpMap<'a>>, ConvertError> {
        let slot = self.rtpmap_of.get(usize::from(id)).copied().unwrap_or(NONE);
        match self.rtpmaps.get(usize::from(slot)) {
            Some(map) => Ok(Some(*map)),
            None => match self.rtpmap_bad {
                Some(bad) => Err(invalid("a=rtpmap", bad)),
                None => Ok(None),
            },
        }
    }

    /// The parameters of the first `a=fmtp` for payload type `id`.
    fn fmtp(&self, id: u8) -> Option<&'a str> {
        let slot = self.fmtp_of.get(usize::from(id)).copied().unwrap_or(NONE);
        self.fmtps.get(usize::from(slot)).copied()
    }
}

/// The first value `pick` reads in media section `m`, or else in the session
/// section `s` (lib-jitsi-meet's `findLines(media, prefix, session)`).
fn first<'a>(
    m: &Attrs<'a>,
    s: &Attrs<'a>,
    pick: impl Fn(&Attrs<'a>) -> Option<&'a str>,
) -> Option<&'a str> {
    pick(m).or_else(|| pick(s))
}

/// The values of `name` in the media section if it has any, or else in the
/// session section.
fn values<'a, 'b>(
    m: &'b Attrs<'a>,
    s: &'b Attrs<'a>,
    name: Name,
) -> impl Iterator<Item = &'a str> + 'b {
    if m.has(name) { m } else { s }.values(name)
}

// ---------------------------------------------------------------------------
// Conversion

fn content<'a>(
    s: &Attrs<'a>,
    m: &'a Media,
    creator: Creator,
    needs_transport: bool,
) -> Result<(&'a str, Content<'static>), ConvertError> {
    let ma = Attrs::new(&m.attributes, true);
    let name = match ma.mid {
        Some(Some(mid)) => check_token("a=mid", mid.trim())?,
        _ => return Err(ConvertError::Missing("a=mid")),
    };
    if !matches!(m.media.as_str(), "audio" | "video") {
        return Err(invalid("m= media", &m.media));
    }

    let mut senders = [
        (Name::SendRecv, "sendrecv"),
        (Name::SendOnly, "sendonly"),
        (Name::RecvOnly, "recvonly"),
        (Name::Inactive, "inactive"),
    ]
    .into_iter()
    .find(|&(d, _)| ma.has(d))
    .and_then(|(_, d)| senders_of(d));
    let rejected = m.port == 0 && !ma.has(Name::BundleOnly) && !s.has(Name::BundleOnly);
    if rejected {
        senders = Some(Senders::Rejected);
    }

    let description = description(s, &ma, m, rejected)?;
    let transport = transport(s, &ma, needs_transport && !rejected)?;
    Ok((
        name,
        Content {
            name: name.to_owned().into(),
            creator: Some(creator),
            senders,
            description: Some(description),
            transport: Some(transport),
        },
    ))
}

/// An `<rtcp-fb>` of kind `kind` whose subtype is the words of `rest` joined by
/// single spaces.
fn rtcp_fb(kind: &str, rest: &str) -> RtcpFb<'static> {
    RtcpFb {
        kind: kind.to_owned().into(),
        subtype: joined(rest).map(Cow::Owned),
    }
}

/// The words of `rest` joined by single spaces, if it has any.
fn joined(rest: &str) -> Option<String> {
    let mut words = rest.split_ascii_whitespace();
    let mut out = String::from(words.next()?);
    for w in words {
        out.push(' ');
        out.push_str(w);
    }
    Some(out)
}

/// `a=rtcp-fb:<pt> trr-int <value>`: the words after `trr-int` must be one `u32`.
fn trr_int(rest: &str) -> Result<u32, ConvertError> {
    let mut words = rest.split_ascii_whitespace();
    match (words.next(), words.next()) {
        (Some(w), None) => w
            .parse::<u32>()
            .map_err(|_| invalid("a=rtcp-fb trr-int", w)),
        _ => Err(invalid(
            "a=rtcp-fb trr-int",
            &joined(rest).unwrap_or_default(),
        )),
    }
}

fn description(
    s: &Attrs,
    ma: &Attrs,
    m: &Media,
    rejected: bool,
) -> Result<RtpDescription<'static>, ConvertError> {
    let mut desc = RtpDescription {
        media: m.media.clone().into(),
        ..RtpDescription::default()
    };

    if let Some(bad) = ma.fb_bad {
        return Err(invalid("a=rtcp-fb", bad));
    }
    let mut star_trr_int = None;
    for fb in ma.fbs.iter().filter(|fb| fb.pt == FbPt::Star) {
        if fb.kind == "trr-int" {
            star_trr_int = Some(trr_int(fb.rest)?);
        } else {
            desc.rtcp_fbs.push(rtcp_fb(fb.kind, fb.rest));
        }
    }

    desc.payload_types
        .reserve_exact(m.fmt.split_ascii_whitespace().count().min(ma.rtpmaps.len()));
    for id in m.fmt.split_ascii_whitespace() {
        let id = match id.parse::<u8>() {
            Ok(n) if n <= 127 => n,
            _ => return Err(invalid("m= payload type", id)),
        };
        let Some(rtpmap) = ma.rtpmap(id)? else {
            // lib-jitsi-meet only describes payload types that have an rtpmap.
            continue;
        };
        let channels = match rtpmap.encoding_params {
            None => 1,
            Some(c) => c
                .parse::<u16>()
                .map_err(|_| invalid("a=rtpmap channels", c))?,
        };
        let mut pt = PayloadType {
            id,
            name: check_token("a=rtpmap encoding name", rtpmap.encoding_name)?
                .to_owned()
                .into(),
            clockrate: Some(rtpmap.clock_rate),
            channels: Some(channels),
            ptime: None,
            maxptime: None,
            parameters: ma.fmtp(id).map(fmtp_parameters).unwrap_or_default(),
            rtcp_fbs: Vec::with_capacity(ma.fbs_of(id).filter(|fb| fb.kind != "trr-int").count()),
            rtcp_fb_trr_int: None,
        };
        for fb in ma.fbs_of(id) {
            if fb.kind == "trr-int" {
                pt.rtcp_fb_trr_int = Some(trr_int(fb.rest)?);
            } else {
                pt.rtcp_fbs.push(rtcp_fb(fb.kind, fb.rest));
            }
        }
        if pt.rtcp_fb_trr_int.is_none() {
            pt.rtcp_fb_trr_int = star_trr_int;
        }
        desc.payload_types.push(pt);
    }
    if desc.payload_types.is_empty() && !rejected {
        return Err(ConvertError::Missing("payload types"));
    }

    sources(ma, &mut desc)?;
    desc.rtcp_mux = ma.has(Name::RtcpMux);
    desc.hdrexts
        .reserve_exact(values(ma, s, Name::Extmap).count());
    for v in values(ma, s, Name::Extmap) {
        let (id, senders, uri) = parse_extmap(v).ok_or_else(|| invalid("a=extmap", v))?;
        desc.hdrexts.push(RtpHdrext {
            id: u16::from(id),
            uri: check_token("a=extmap uri", uri)?.to_owned().into(),
            senders,
        });
    }
    desc.extmap_allow_mixed = ma.has(Name::ExtmapAllowMixed) || s.has(Name::ExtmapAllowMixed);
    Ok(desc)
}

/// sdp-types' `ExtMap::from_str`, without allocating:
/// `<id>[/<direction>] <uri>[ <attributes>]`, id (a `u8`, `+` allowed) not 0, the
/// direction any case. `None` where sdp-types fails. The direction comes back as
/// lib-jitsi-meet's reading rule has it: sendonly -> responder, recvonly -> initiator.
fn parse_extmap(v: &str) -> Option<(u8, Option<Senders>, &str)> {
    let mut i = v.splitn(3, ' ');
    let mut d = i.next()?.split('/');
    let id = d.next()?;
    let senders = match d.next() {
        None => None,
        Some(d) => Some(
            [
                ("sendonly", Senders::Responder),
                ("recvonly", Senders::Initiator),
                ("sendrecv", Senders::Both),
                ("inactive", Senders::None),
            ]
            .into_iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(d))?
            .1,
        ),
    };
    let id = id.parse::<u8>().ok().filter(|&id| id != 0)?;
    let uri = i.next()?;
    Some((id, senders, uri))
}

/// The parameters of an `a=fmtp` (lib-jitsi-meet's `parseFmtp`: `k=v` pairs split
/// on `;`, a bare value gets an empty name).
fn fmtp_parameters(params: &str) -> Vec<Parameter<'static>> {
    if params.trim().is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(params.bytes().filter(|&b| b == b';').count() + 1);
    for part in params.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.split_once('=') {
            Some((k, val)) if !k.trim().is_empty() => {
                out.push(Parameter::new(k.trim().to_owned(), val.trim().to_owned()));
            }
            _ => out.push(Parameter::new("", part.to_owned())),
        }
    }
    out
}

/// `<source>`s from `a=ssrc` lines (grouped by ssrc, in order of first appearance)
/// and `<ssrc-group>`s from `a=ssrc-group`.
fn sources(ma: &Attrs, desc: &mut RtpDescription<'static>) -> Result<(), ConvertError> {
    // Where each ssrc's source is, once there are too many to search.
    let mut index: HashMap<u32, usize> = HashMap::new();
    for v in ma.values(Name::Ssrc) {
        let (ssrc, rest) = v.split_once(' ').unwrap_or((v, ""));
        let ssrc = ssrc.parse::<u32>().map_err(|_| invalid("a=ssrc", ssrc))?;
        let (attr, value) = rest.split_once(':').unwrap_or((rest, ""));
        let attr = attr.trim();
        let found = match desc.sources.len() {
            0..=16 => desc.sources.iter().position(|s| s.ssrc == ssrc),
            _ => {
                if index.is_empty() {
                    index.extend(desc.sources.iter().enumerate().map(|(i, s)| (s.ssrc, i)));
                }
                index.get(&ssrc).copied()
            }
        };
        let idx = match found {
            Some(i) => i,
            None => {
                desc.sources.push(Source {
                    ssrc,
                    name: None,
                    video_type: None,
                    parameters: Vec::new(),
                });
                let i = desc.sources.len() - 1;
                if !index.is_empty() {
                    index.insert(ssrc, i);
                }
                i
            }
        };
        let Some(source) = desc.sources.get_mut(idx) else {
            continue; // idx was just found or pushed
        };
        match attr {
            "" => {}
            "name" => source.name = Some(value.to_owned().into()),
            "videoType" => source.video_type = Some(value.to_owned().into()),
            _ => source
                .parameters
                .push(Parameter::new(attr.to_owned(), value.to_owned())),
        }
    }
    if let Some(Some(msid)) = ma.msid {
        for source in desc.sources.iter_mut().filter(|s| s.msid().is_none()) {
            source
                .parameters
                .push(Parameter::new("msid", msid.trim().to_owned()));
        }
    }
    for v in ma.values(Name::SsrcGroup) {
        let mut w = v.split_ascii_whitespace();
        let semantics = w
            .next()
            .ok_or(ConvertError::Missing("a=ssrc-group semantics"))?;
        let ssrcs = w
            .map(|s| {
                s.parse::<u32>()
                    .map_err(|_| invalid("a=ssrc-group ssrc", s))
            })
            .collect::<Result<Vec<u32>, _>>()?;
        if !ssrcs.is_empty() {
            desc.ssrc_groups.push(SsrcGroup {
                semantics: semantics.to_owned().into(),
                ssrcs,
            });
        }
    }
    Ok(())
}

/// What sdp-types' `Fingerprint::from_str` accepts: a hex fingerprint after the
/// first space.
fn fingerprint_parses(fp: &str) -> bool {
    fp.split_once(' ')
        .is_some_and(|(_, value)| is_hex_fingerprint(value))
}

fn transport(
    s: &Attrs,
    ma: &Attrs,
    required: bool,
) -> Result<IceUdpTransport<'static>, ConvertError> {
    let mut t = IceUdpTransport::default();
    if let (Some(ufrag), Some(pwd)) = (first(ma, s, |a| a.ice_ufrag), first(ma, s, |a| a.ice_pwd)) {
        t.ufrag = Some(check_token("a=ice-ufrag", ufrag.trim())?.to_owned().into());
        t.pwd = Some(check_token("a=ice-pwd", pwd.trim())?.to_owned().into());
    } else if required {
        return Err(ConvertError::Missing("a=ice-ufrag/a=ice-pwd"));
    }
    if let Some(fp) = first(ma, s, |a| a.fingerprint) {
        let (hash, value) = fp
            .trim()
            .split_once(' ')
            .ok_or_else(|| invalid("a=fingerprint", fp))?;
        let value = value.trim();
        if !fingerprint_parses(fp) || value.is_empty() {
            return Err(invalid("a=fingerprint", fp));
        }
        let setup = match first(ma, s, |a| a.setup) {
            // `Setup::from_wire` of the lower-cased value, without lower-casing.
            Some(v) => Some(
                [
                    Setup::Active,
                    Setup::Passive,
                    Setup::Actpass,
                    Setup::Holdconn,
                ]
                .into_iter()
                .find(|setup| setup.as_str().eq_ignore_ascii_case(v.trim()))
                .ok_or_else(|| invalid("a=setup", v))?,
            ),
            None => None,
        };
        t.fingerprint = Some(Fingerprint {
            hash: hash.to_owned().into(),
            setup,
            required: None,
            cryptex: (ma.has(Name::Cryptex) || s.has(Name::Cryptex)).then_some(true),
            value: value.to_owned().into(),
        });
    } else if required {
        return Err(ConvertError::Missing("a=fingerprint"));
    }
    for v in values(ma, s, Name::Candidate) {
        t.candidates.push(candidate_from_sdp(v)?);
    }
    Ok(t)
}
