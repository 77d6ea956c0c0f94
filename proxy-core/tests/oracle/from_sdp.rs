//! The SDP -> Jingle conversion as it was before the single-pass rewrite of
//! `src/convert/from_sdp.rs` (commit 3b9762d), kept unchanged as the reference the
//! rewrite must match result for result (`tests/from_sdp_identity.rs`).
//!
//! Only the crate-private helpers it used (`check_token`, `invalid`, `senders_of`
//! from `src/convert/mod.rs`) and the control-character check of the public
//! `sdp_to_jingle` are copied in; the candidate reader is the crate's public one.

use std::borrow::Cow;
use std::collections::HashSet;

use sdp_types::{ExtMap, Media, RtpMap, Session};

use proxy_core::convert::candidate_from_sdp;
use proxy_core::jingle::{
    Action, Content, Creator, Fingerprint, Group, IceUdpTransport, Jingle, Parameter, PayloadType,
    RtcpFb, RtpDescription, RtpHdrext, Senders, Setup, Source, SsrcGroup,
};

use proxy_core::ConvertError;

use super::{check_token, invalid, senders_of};

/// The public `sdp_to_jingle` as it was: control characters refused, then [`convert`].
pub fn sdp_to_jingle(
    sdp: &str,
    action: Action,
    creator: Creator,
) -> Result<Jingle<'static>, ConvertError> {
    if let Some(at) = sdp.find(|c: char| c.is_control() && c != '\r' && c != '\n') {
        let line_start = sdp[..at].rfind('\n').map_or(0, |i| i + 1);
        let line = sdp[line_start..].lines().next().unwrap_or_default();
        return Err(invalid("SDP line with a control character", line));
    }
    convert(sdp, action, creator)
}

fn convert(sdp: &str, action: Action, creator: Creator) -> Result<Jingle<'static>, ConvertError> {
    let session = Session::parse(sdp.as_bytes()).map_err(|e| ConvertError::Sdp(e.to_string()))?;
    let needs_transport = matches!(action, Action::SessionInitiate | Action::SessionAccept);

    let mut jingle = Jingle::new(action);
    let mut mids = HashSet::new();
    for m in &session.medias {
        let c = content(&session, m, creator, needs_transport)?;
        if !mids.insert(c.name.clone()) {
            return Err(invalid("a=mid (duplicate)", &c.name));
        }
        jingle.contents.push(c);
    }
    for value in session.get_attribute_values("group") {
        let mut words = value.unwrap_or_default().split_ascii_whitespace();
        let semantics = words
            .next()
            .ok_or(ConvertError::Missing("a=group semantics"))?;
        let contents: Vec<Cow<'static, str>> = words.map(|w| Cow::Owned(w.to_owned())).collect();
        if let Some(unknown) = contents.iter().find(|mid| !mids.contains(*mid)) {
            return Err(invalid("a=group member (no such m-line)", unknown));
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

/// Values of attribute `name` in the media section, or else in the session section
/// (lib-jitsi-meet's `findLines(media, prefix, session)`); a valueless one is `""`.
fn values<'a>(m: &'a Media, s: &'a Session, name: &'a str) -> Vec<&'a str> {
    let media: Vec<&str> = m
        .get_attribute_values(name)
        .map(Option::unwrap_or_default)
        .collect();
    if media.is_empty() {
        s.get_attribute_values(name)
            .map(Option::unwrap_or_default)
            .collect()
    } else {
        media
    }
}

fn first<'a>(m: &'a Media, s: &'a Session, name: &'a str) -> Option<&'a str> {
    values(m, s, name).into_iter().next()
}

fn content(
    s: &Session,
    m: &Media,
    creator: Creator,
    needs_transport: bool,
) -> Result<Content<'static>, ConvertError> {
    let name = match m.get_first_attribute_value("mid") {
        Some(Some(mid)) => check_token("a=mid", mid.trim())?.to_owned(),
        _ => return Err(ConvertError::Missing("a=mid")),
    };
    if !matches!(m.media.as_str(), "audio" | "video") {
        return Err(invalid("m= media", &m.media));
    }

    let mut senders = ["sendrecv", "sendonly", "recvonly", "inactive"]
        .into_iter()
        .find(|d| m.has_attribute(d))
        .and_then(senders_of);
    let rejected = m.port == 0 && first(m, s, "bundle-only").is_none();
    if rejected {
        senders = Some(Senders::Rejected);
    }

    let description = description(s, m, rejected)?;
    let transport = transport(s, m, needs_transport && !rejected)?;
    Ok(Content {
        name: name.into(),
        creator: Some(creator),
        senders,
        description: Some(description),
        transport: Some(transport),
    })
}

fn description(
    s: &Session,
    m: &Media,
    rejected: bool,
) -> Result<RtpDescription<'static>, ConvertError> {
    let mut desc = RtpDescription {
        media: m.media.clone().into(),
        ..RtpDescription::default()
    };

    let mut fbs: Vec<(&str, &str, Option<String>)> = Vec::new();
    for v in m
        .get_attribute_values("rtcp-fb")
        .map(Option::unwrap_or_default)
    {
        let mut w = v.split_ascii_whitespace();
        let (Some(pt), Some(kind)) = (w.next(), w.next()) else {
            return Err(invalid("a=rtcp-fb", v));
        };
        let rest: Vec<&str> = w.collect();
        let subtype = (!rest.is_empty()).then(|| rest.join(" "));
        fbs.push((pt, kind, subtype));
    }
    let mut star_trr_int = None;
    for (pt, kind, subtype) in &fbs {
        if *pt != "*" {
            continue;
        }
        if *kind == "trr-int" {
            star_trr_int = Some(trr_int(subtype.as_deref())?);
        } else {
            desc.rtcp_fbs.push(RtcpFb {
                kind: (*kind).to_owned().into(),
                subtype: subtype.clone().map(Cow::Owned),
            });
        }
    }

    for id in m.fmt.split_ascii_whitespace() {
        let id = match id.parse::<u8>() {
            Ok(n) if n <= 127 => n,
            _ => return Err(invalid("m= payload type", id)),
        };
        let Some(rtpmap) = rtpmap(m, id)? else {
            // lib-jitsi-meet only describes payload types that have an rtpmap.
            continue;
        };
        let channels = match rtpmap.encoding_params.as_deref() {
            None => 1,
            Some(c) => c
                .parse::<u16>()
                .map_err(|_| invalid("a=rtpmap channels", c))?,
        };
        let mut pt = PayloadType {
            id,
            name: check_token("a=rtpmap encoding name", &rtpmap.encoding_name)?
                .to_owned()
                .into(),
            clockrate: Some(rtpmap.clock_rate),
            channels: Some(channels),
            ptime: None,
            maxptime: None,
            parameters: fmtp(m, id)?,
            rtcp_fbs: Vec::new(),
            rtcp_fb_trr_int: None,
        };
        let id_str = id.to_string();
        for (fb_pt, kind, subtype) in &fbs {
            if *fb_pt != id_str {
                continue;
            }
            if *kind == "trr-int" {
                pt.rtcp_fb_trr_int = Some(trr_int(subtype.as_deref())?);
            } else {
                pt.rtcp_fbs.push(RtcpFb {
                    kind: (*kind).to_owned().into(),
                    subtype: subtype.clone().map(Cow::Owned),
                });
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

    sources(m, &mut desc)?;
    desc.rtcp_mux = m.has_attribute("rtcp-mux");
    for v in values(m, s, "extmap") {
        let ext: ExtMap = v.parse().map_err(|_| invalid("a=extmap", v))?;
        // lib-jitsi-meet's reading rule: sendonly -> responder, recvonly -> initiator.
        let senders = ext.direction.map(|d| match d {
            sdp_types::Direction::SendOnly => Senders::Responder,
            sdp_types::Direction::RecvOnly => Senders::Initiator,
            sdp_types::Direction::SendRecv => Senders::Both,
            sdp_types::Direction::Inactive => Senders::None,
        });
        desc.hdrexts.push(RtpHdrext {
            id: u16::from(ext.id),
            uri: check_token("a=extmap uri", &ext.uri)?.to_owned().into(),
            senders,
        });
    }
    desc.extmap_allow_mixed = first(m, s, "extmap-allow-mixed").is_some();
    Ok(desc)
}

fn trr_int(value: Option<&str>) -> Result<u32, ConvertError> {
    let v = value.unwrap_or_default();
    v.parse::<u32>()
        .map_err(|_| invalid("a=rtcp-fb trr-int", v))
}

/// The first `a=rtpmap` for payload type `id`.
fn rtpmap(m: &Media, id: u8) -> Result<Option<RtpMap>, ConvertError> {
    for v in m
        .get_attribute_values("rtpmap")
        .map(Option::unwrap_or_default)
    {
        let map: RtpMap = v.parse().map_err(|_| invalid("a=rtpmap", v))?;
        if map.payload_type == id {
            return Ok(Some(map));
        }
    }
    Ok(None)
}

/// The parameters of the first `a=fmtp` for payload type `id` (lib-jitsi-meet's
/// `parseFmtp`: `k=v` pairs split on `;`, a bare value gets an empty name).
fn fmtp(m: &Media, id: u8) -> Result<Vec<Parameter<'static>>, ConvertError> {
    let id = id.to_string();
    for v in m
        .get_attribute_values("fmtp")
        .map(Option::unwrap_or_default)
    {
        let (pt, params) = v.split_once(' ').unwrap_or((v, ""));
        if pt != id {
            continue;
        }
        let mut out = Vec::new();
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
        return Ok(out);
    }
    Ok(Vec::new())
}

/// `<source>`s from `a=ssrc` lines (grouped by ssrc, in order of first appearance)
/// and `<ssrc-group>`s from `a=ssrc-group`.
fn sources(m: &Media, desc: &mut RtpDescription<'static>) -> Result<(), ConvertError> {
    for v in m
        .get_attribute_values("ssrc")
        .map(Option::unwrap_or_default)
    {
        let (ssrc, rest) = v.split_once(' ').unwrap_or((v, ""));
        let ssrc = ssrc.parse::<u32>().map_err(|_| invalid("a=ssrc", ssrc))?;
        let (attr, value) = rest.split_once(':').unwrap_or((rest, ""));
        let attr = attr.trim();
        let idx = match desc.sources.iter().position(|s| s.ssrc == ssrc) {
            Some(i) => i,
            None => {
                desc.sources.push(Source {
                    ssrc,
                    name: None,
                    video_type: None,
                    parameters: Vec::new(),
                });
                desc.sources.len() - 1
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
    if let Some(Some(msid)) = m.get_first_attribute_value("msid") {
        for source in desc.sources.iter_mut().filter(|s| s.msid().is_none()) {
            source
                .parameters
                .push(Parameter::new("msid", msid.trim().to_owned()));
        }
    }
    for v in m
        .get_attribute_values("ssrc-group")
        .map(Option::unwrap_or_default)
    {
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

fn transport(
    s: &Session,
    m: &Media,
    required: bool,
) -> Result<IceUdpTransport<'static>, ConvertError> {
    let mut t = IceUdpTransport::default();
    if let (Some(ufrag), Some(pwd)) = (first(m, s, "ice-ufrag"), first(m, s, "ice-pwd")) {
        t.ufrag = Some(check_token("a=ice-ufrag", ufrag.trim())?.to_owned().into());
        t.pwd = Some(check_token("a=ice-pwd", pwd.trim())?.to_owned().into());
    } else if required {
        return Err(ConvertError::Missing("a=ice-ufrag/a=ice-pwd"));
    }
    if let Some(fp) = first(m, s, "fingerprint") {
        let (hash, value) = fp
            .trim()
            .split_once(' ')
            .ok_or_else(|| invalid("a=fingerprint", fp))?;
        let value = value.trim();
        if fp.parse::<sdp_types::Fingerprint>().is_err() || value.is_empty() {
            return Err(invalid("a=fingerprint", fp));
        }
        let setup = match first(m, s, "setup") {
            Some(v) => Some(
                Setup::from_wire(&v.trim().to_ascii_lowercase())
                    .ok_or_else(|| invalid("a=setup", v))?,
            ),
            None => None,
        };
        t.fingerprint = Some(Fingerprint {
            hash: hash.to_owned().into(),
            setup,
            required: None,
            cryptex: first(m, s, "cryptex").map(|_| true),
            value: value.to_owned().into(),
        });
    } else if required {
        return Err(ConvertError::Missing("a=fingerprint"));
    }
    for v in values(m, s, "candidate") {
        t.candidates.push(candidate_from_sdp(v)?);
    }
    Ok(t)
}
