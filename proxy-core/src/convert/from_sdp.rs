//! SDP -> Jingle (lib-jitsi-meet's `SDP.toJingle` / `transportToJingle` for a P2P session).
//!
//! sdp-types reads the text (`Session::parse`) and its typed attributes read
//! `a=rtpmap`, `a=extmap` and `a=fingerprint`; the rest follows lib-jitsi-meet's
//! rules. Attribute names match case-insensitively, as sdp-types' lookups do.

use std::collections::HashSet;

use sdp_types::{ExtMap, Media, RtpMap, Session};

use crate::error::ConvertError;
use crate::jingle::{
    Action, Content, Creator, Fingerprint, Group, IceUdpTransport, Jingle, Parameter, PayloadType,
    RtcpFb, RtpDescription, RtpHdrext, Senders, Setup, Source, SsrcGroup,
};

use super::candidate::candidate_from_sdp;
use super::{check_token, hdrext_senders_of, invalid, is_fingerprint, SENDERS_DIRECTION};

pub(super) fn sdp_to_jingle(
    sdp: &str,
    action: Action,
    creator: Creator,
) -> Result<Jingle, ConvertError> {
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
        let mut contents: Vec<String> = Vec::new();
        for mid in words {
            if !mids.contains(mid) {
                return Err(invalid("a=group member (no such m-line)", mid));
            }
            contents.push(mid.to_owned());
        }
        if !contents.is_empty() {
            jingle.groups.push(Group {
                semantics: semantics.to_owned(),
                contents,
            });
        }
    }
    Ok(jingle)
}

/// The values of attribute `name` in media section `m`, or else (if `m` has none)
/// in the session section `s`: lib-jitsi-meet's `findLines(media, prefix,
/// session)`. A valueless attribute gives `""`.
fn values<'a>(m: &'a Media, s: &'a Session, name: &'a str) -> Vec<&'a str> {
    let media: Vec<&str> = media_values(m, name).collect();
    if media.is_empty() {
        s.get_attribute_values(name)
            .map(Option::unwrap_or_default)
            .collect()
    } else {
        media
    }
}

/// The first of [`values`].
fn first<'a>(m: &'a Media, s: &'a Session, name: &'a str) -> Option<&'a str> {
    values(m, s, name).into_iter().next()
}

/// The values of attribute `name` in media section `m` (`""` when valueless).
fn media_values<'a>(m: &'a Media, name: &'a str) -> impl Iterator<Item = &'a str> {
    m.get_attribute_values(name).map(Option::unwrap_or_default)
}

fn content(
    s: &Session,
    m: &Media,
    creator: Creator,
    needs_transport: bool,
) -> Result<Content, ConvertError> {
    let name = match m.get_first_attribute_value("mid") {
        Some(Some(mid)) => check_token("a=mid", mid.trim())?.to_owned(),
        _ => return Err(ConvertError::Missing("a=mid")),
    };
    if !matches!(m.media.as_str(), "audio" | "video") {
        return Err(invalid("m= media", &m.media));
    }

    // A port-0 m-line is rejected, unless it is bundle-only (RFC 8843).
    let rejected = m.port == 0 && first(m, s, "bundle-only").is_none();
    let senders = if rejected {
        Some(Senders::Rejected)
    } else {
        SENDERS_DIRECTION
            .iter()
            .find(|(_, d)| m.has_attribute(d.as_str()))
            .map(|(s, _)| *s)
    };

    let description = description(s, m, rejected)?;
    let transport = transport(s, m, needs_transport && !rejected)?;
    Ok(Content {
        name,
        creator: Some(creator),
        senders,
        description: Some(description),
        transport: Some(transport),
    })
}

/// An `a=rtcp-fb:<pt> <type> [<subtype words>]` line.
struct FbLine<'a> {
    /// The payload type as written, or `*`.
    pt: &'a str,
    kind: &'a str,
    /// The words after the type joined by single spaces, if any.
    subtype: Option<String>,
}

impl FbLine<'_> {
    fn is_trr_int(&self) -> bool {
        self.kind == "trr-int"
    }

    /// The value of an `a=rtcp-fb:<pt> trr-int <value>` line.
    fn trr_int(&self) -> Result<u32, ConvertError> {
        let v = self.subtype.as_deref().unwrap_or_default();
        v.parse::<u32>()
            .map_err(|_| invalid("a=rtcp-fb trr-int", v))
    }

    fn rtcp_fb(&self) -> RtcpFb {
        RtcpFb {
            kind: self.kind.to_owned(),
            subtype: self.subtype.clone(),
        }
    }
}

/// The media section's `a=rtcp-fb` lines; one with fewer than two words is invalid.
fn rtcp_fb_lines(m: &Media) -> Result<Vec<FbLine<'_>>, ConvertError> {
    media_values(m, "rtcp-fb")
        .map(|v| {
            let mut words = v.split_ascii_whitespace();
            let (Some(pt), Some(kind)) = (words.next(), words.next()) else {
                return Err(invalid("a=rtcp-fb", v));
            };
            let rest: Vec<&str> = words.collect();
            let subtype = (!rest.is_empty()).then(|| rest.join(" "));
            Ok(FbLine { pt, kind, subtype })
        })
        .collect()
}

fn description(s: &Session, m: &Media, rejected: bool) -> Result<RtpDescription, ConvertError> {
    let mut desc = RtpDescription {
        media: m.media.clone().into(),
        ..RtpDescription::default()
    };

    let fbs = rtcp_fb_lines(m)?;
    // `*` lines: feedback of the whole description, and the trr-int of every
    // payload type that has none of its own.
    let mut star_trr_int = None;
    for fb in fbs.iter().filter(|fb| fb.pt == "*") {
        if fb.is_trr_int() {
            star_trr_int = Some(fb.trr_int()?);
        } else {
            desc.rtcp_fbs.push(fb.rtcp_fb());
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
            name: check_token("a=rtpmap encoding name", &rtpmap.encoding_name)?.to_owned(),
            clockrate: Some(rtpmap.clock_rate),
            channels: Some(channels),
            parameters: fmtp(m, id),
            ..PayloadType::default()
        };
        let id = id.to_string();
        for fb in fbs.iter().filter(|fb| fb.pt == id) {
            if fb.is_trr_int() {
                pt.rtcp_fb_trr_int = Some(fb.trr_int()?);
            } else {
                pt.rtcp_fbs.push(fb.rtcp_fb());
            }
        }
        pt.rtcp_fb_trr_int = pt.rtcp_fb_trr_int.or(star_trr_int);
        desc.payload_types.push(pt);
    }
    if desc.payload_types.is_empty() && !rejected {
        return Err(ConvertError::Missing("payload types"));
    }

    sources(m, &mut desc)?;
    desc.rtcp_mux = m.has_attribute("rtcp-mux");
    for v in values(m, s, "extmap") {
        let ext: ExtMap = v.parse().map_err(|_| invalid("a=extmap", v))?;
        desc.hdrexts.push(RtpHdrext {
            id: u16::from(ext.id),
            uri: check_token("a=extmap uri", &ext.uri)?.to_owned(),
            senders: ext.direction.map(hdrext_senders_of),
        });
    }
    desc.extmap_allow_mixed = first(m, s, "extmap-allow-mixed").is_some();
    Ok(desc)
}

/// The first `a=rtpmap` for payload type `id`, reading the lines in order: a line
/// sdp-types cannot read before it is an error.
fn rtpmap(m: &Media, id: u8) -> Result<Option<RtpMap>, ConvertError> {
    for v in media_values(m, "rtpmap") {
        let map: RtpMap = v.parse().map_err(|_| invalid("a=rtpmap", v))?;
        if map.payload_type == id {
            return Ok(Some(map));
        }
    }
    Ok(None)
}

/// The parameters of the first `a=fmtp` for payload type `id` (lib-jitsi-meet's
/// `parseFmtp`: `k=v` pairs split on `;`, a bare value gets an empty name).
fn fmtp(m: &Media, id: u8) -> Vec<Parameter> {
    let id = id.to_string();
    let Some(params) = media_values(m, "fmtp").find_map(|v| {
        let (pt, params) = v.split_once(' ').unwrap_or((v, ""));
        (pt == id).then_some(params)
    }) else {
        return Vec::new();
    };
    params
        .split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => {
                Parameter::new(k.trim().to_owned(), v.trim().to_owned())
            }
            _ => Parameter::new("", part.to_owned()),
        })
        .collect()
}

/// `<source>`s from `a=ssrc` lines (grouped by ssrc, in order of first appearance;
/// the media-level `a=msid` for those without their own) and `<ssrc-group>`s from
/// `a=ssrc-group`.
fn sources(m: &Media, desc: &mut RtpDescription) -> Result<(), ConvertError> {
    for v in media_values(m, "ssrc") {
        let (ssrc, rest) = v.split_once(' ').unwrap_or((v, ""));
        let ssrc = ssrc.parse::<u32>().map_err(|_| invalid("a=ssrc", ssrc))?;
        let (attr, value) = rest.split_once(':').unwrap_or((rest, ""));
        if !desc.sources.iter().any(|s| s.ssrc == ssrc) {
            let source = Source::default();
            desc.sources.push(Source { ssrc, ..source });
        }
        let Some(source) = desc.sources.iter_mut().find(|s| s.ssrc == ssrc) else {
            continue; // found or just pushed
        };
        match attr.trim() {
            "" => {}
            "name" => source.name = Some(value.to_owned()),
            "videoType" => source.video_type = Some(value.to_owned().into()),
            attr => source
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
    for v in media_values(m, "ssrc-group") {
        let mut words = v.split_ascii_whitespace();
        let semantics = words
            .next()
            .ok_or(ConvertError::Missing("a=ssrc-group semantics"))?;
        let ssrcs = words
            .map(|s| {
                s.parse::<u32>()
                    .map_err(|_| invalid("a=ssrc-group ssrc", s))
            })
            .collect::<Result<Vec<u32>, _>>()?;
        if !ssrcs.is_empty() {
            desc.ssrc_groups.push(SsrcGroup {
                semantics: semantics.to_owned(),
                ssrcs,
            });
        }
    }
    Ok(())
}

/// ICE credentials, fingerprint with setup and cryptex, and candidates (media
/// level first, session level as the fallback). `required`: credentials and
/// fingerprint must be there.
fn transport(s: &Session, m: &Media, required: bool) -> Result<IceUdpTransport, ConvertError> {
    let mut t = IceUdpTransport::default();
    if let (Some(ufrag), Some(pwd)) = (first(m, s, "ice-ufrag"), first(m, s, "ice-pwd")) {
        t.ufrag = Some(check_token("a=ice-ufrag", ufrag.trim())?.to_owned());
        t.pwd = Some(check_token("a=ice-pwd", pwd.trim())?.to_owned());
    } else if required {
        return Err(ConvertError::Missing("a=ice-ufrag/a=ice-pwd"));
    }
    if let Some(fp) = first(m, s, "fingerprint") {
        let (hash, value) = fp
            .trim()
            .split_once(' ')
            .ok_or_else(|| invalid("a=fingerprint", fp))?;
        let value = value.trim();
        if !is_fingerprint(fp) || value.is_empty() {
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
            hash: hash.to_owned(),
            setup,
            required: None,
            cryptex: first(m, s, "cryptex").map(|_| true),
            value: value.to_owned(),
        });
    } else if required {
        return Err(ConvertError::Missing("a=fingerprint"));
    }
    for v in values(m, s, "candidate") {
        t.candidates.push(candidate_from_sdp(v)?);
    }
    Ok(t)
}
