//! Jingle -> SDP (lib-jitsi-meet's `SDP.fromJingle` / `jingle2media` for a P2P session).
//!
//! The session is built as an `sdp_types::Session` and written by sdp-types. Every
//! value is checked before it goes into the model, in content order, so the first
//! problem found is the one reported. (sdp-types' writer also strips NUL, CR and
//! LF from what it writes; the checks already refuse them, so nothing a Jingle
//! said is silently changed.)

use std::collections::HashSet;

use sdp_types::{
    AddrType, Attribute, Connection, ExtMap, Media, NetType, Origin, RtpMap, Session, Time,
};

use crate::error::ConvertError;
use crate::jingle::{
    Content, Group, IceUdpTransport, Jingle, PayloadType, RtcpFb, RtpDescription, Senders,
};

use super::candidate::{candidate_to_sdp, check_candidate};
use super::{check_text, check_token, direction_of, hdrext_direction_of, invalid, is_fingerprint};

/// The RTP profile every content uses (DTLS-SRTP with feedback).
const PROTO: &str = "UDP/TLS/RTP/SAVPF";

/// The address of the `o=`, `c=` and `a=rtcp` lines: ICE carries the real ones.
const NO_ADDRESS: &str = "0.0.0.0";

pub(super) fn jingle_to_sdp(jingle: &Jingle, session_id: u64) -> Result<String, ConvertError> {
    let names = content_names(jingle)?;

    let origin = Origin::new(session_id, 2, NetType::In, AddrType::Ip4, NO_ADDRESS);
    let mut session = Session::new(origin, "-");
    session.add_time(Time::new(0, 0));
    for group in &jingle.groups {
        if let Some(value) = group_value(group, &names)? {
            session.add_attribute(Attribute::with_value("group", value));
        }
    }
    let cryptex = jingle.contents.iter().any(|c| {
        c.transport
            .as_ref()
            .and_then(|t| t.fingerprint.as_ref())
            .is_some_and(|f| f.cryptex == Some(true))
    });
    if cryptex {
        session.add_attribute(Attribute::new("cryptex"));
    }
    for content in &jingle.contents {
        session.add_media(media(content)?);
    }

    let mut out = Vec::new();
    session
        .write(&mut out)
        .map_err(|e| ConvertError::Write(e.to_string()))?;
    String::from_utf8(out).map_err(|e| ConvertError::Write(e.to_string()))
}

/// The content names, checked to be unique tokens (in content order, so the
/// first duplicate is the one reported).
fn content_names(jingle: &Jingle) -> Result<HashSet<&str>, ConvertError> {
    let mut names = HashSet::new();
    for content in &jingle.contents {
        check_token("content name", &content.name)?;
        if !names.insert(&*content.name) {
            return Err(invalid("content name (duplicate)", &content.name));
        }
    }
    Ok(names)
}

/// The value of `a=group:<semantics> <mids>`; `None` for an empty group
/// (lib-jitsi-meet skips those).
fn group_value(group: &Group, names: &HashSet<&str>) -> Result<Option<String>, ConvertError> {
    if group.contents.is_empty() {
        return Ok(None);
    }
    let mut value = check_token("group semantics", &group.semantics)?.to_owned();
    for mid in &group.contents {
        if !names.contains(&**mid) {
            return Err(invalid("group member (no such content)", mid));
        }
        value.push(' ');
        value.push_str(mid);
    }
    Ok(Some(value))
}

fn media(content: &Content) -> Result<Media, ConvertError> {
    let rejected = content.senders == Some(Senders::Rejected);
    let desc = content
        .description
        .as_ref()
        .ok_or(ConvertError::Missing("content description"))?;
    // A proxy connection carries RTP audio and video only; sdp_to_jingle reads
    // nothing else, so nothing else is written either.
    if !desc.media.is_known() {
        return Err(invalid("description media", desc.media.as_str()));
    }
    if desc.payload_types.is_empty() && !rejected {
        return Err(ConvertError::Missing("payload types"));
    }

    let mut m = Media {
        media: desc.media.to_string(),
        port: if rejected { 0 } else { 9 },
        num_ports: None,
        proto: PROTO.to_owned(),
        fmt: formats(&desc.payload_types)?,
        media_title: None,
        connections: vec![Connection::new(NetType::In, AddrType::Ip4, NO_ADDRESS)],
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
    };
    let a = &mut m.attributes;
    let rtcp = format!("1 IN IP4 {NO_ADDRESS}");
    a.push(Attribute::with_value("rtcp", rtcp));

    match &content.transport {
        Some(t) => transport(a, t, rejected)?,
        None if rejected => {}
        None => return Err(ConvertError::Missing("transport")),
    }

    // XEP-0166: absent senders means both. A rejected m-line is inactive (str0m
    // wants exactly one direction attribute on every m-line).
    let direction = match content.senders {
        None => sdp_types::Direction::SendRecv,
        Some(s) => direction_of(s).unwrap_or(sdp_types::Direction::Inactive),
    };
    a.push(direction.into());
    // str0m reads the stream id from a media-level a=msid.
    if let Some(msid) = desc.sources.iter().find_map(|s| s.msid()) {
        a.push(Attribute::with_value("msid", check_text("msid", msid)?));
    }
    a.push(Attribute::with_value("mid", &content.name));
    if desc.rtcp_mux {
        a.push(Attribute::new("rtcp-mux"));
    }
    for pt in &desc.payload_types {
        payload_type(a, pt)?;
    }
    for fb in &desc.rtcp_fbs {
        a.push(rtcp_fb("*", fb)?);
    }
    hdrexts(a, desc)?;
    sources(a, desc)?;
    Ok(m)
}

/// The m-line's format list: the payload type ids, each at most 127 and listed
/// once. A rejected m-line without payload types still needs one format (str0m
/// writes 0).
fn formats(payload_types: &[PayloadType]) -> Result<String, ConvertError> {
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(payload_types.len());
    for pt in payload_types {
        if pt.id > 127 {
            return Err(invalid("payload-type id", &pt.id.to_string()));
        }
        if !seen.insert(pt.id) {
            return Err(invalid("payload-type id (duplicate)", &pt.id.to_string()));
        }
        ids.push(pt.id.to_string());
    }
    if ids.is_empty() {
        Ok("0".to_owned())
    } else {
        Ok(ids.join(" "))
    }
}

/// ICE credentials, fingerprint and setup, and candidates. A rejected content may
/// lack any of them.
fn transport(
    a: &mut Vec<Attribute>,
    t: &IceUdpTransport,
    rejected: bool,
) -> Result<(), ConvertError> {
    match (&t.ufrag, &t.pwd) {
        (Some(ufrag), Some(pwd)) => {
            let ufrag = check_token("transport ufrag", ufrag)?;
            let pwd = check_token("transport pwd", pwd)?;
            a.push(Attribute::with_value("ice-ufrag", ufrag));
            a.push(Attribute::with_value("ice-pwd", pwd));
        }
        _ if rejected => {}
        _ => return Err(ConvertError::Missing("transport ufrag/pwd")),
    }
    match &t.fingerprint {
        Some(fp) => {
            let hash = check_token("fingerprint hash", &fp.hash)?;
            let value = check_token("fingerprint", fp.value.trim())?;
            // Written as given (sdp-types' own `Fingerprint` would upper-case it).
            let line = format!("{hash} {value}");
            if !is_fingerprint(&line) {
                return Err(invalid("fingerprint", value));
            }
            a.push(Attribute::with_value("fingerprint", line));
            if let Some(setup) = fp.setup {
                a.push(Attribute::with_value("setup", setup.as_str()));
            }
        }
        None if rejected => {}
        None => return Err(ConvertError::Missing("transport fingerprint")),
    }
    for c in &t.candidates {
        check_candidate(c)?;
        let line = candidate_to_sdp(c);
        let value = line.strip_prefix("candidate:").unwrap_or(&line);
        a.push(Attribute::with_value("candidate", value));
    }
    Ok(())
}

/// `a=rtpmap`, `a=fmtp` and `a=rtcp-fb` of one payload type.
fn payload_type(a: &mut Vec<Attribute>, pt: &PayloadType) -> Result<(), ConvertError> {
    let name = check_token("payload-type name", &pt.name)?;
    if name.contains('/') {
        return Err(invalid("payload-type name", name));
    }
    let clockrate = pt
        .clockrate
        .ok_or(ConvertError::Missing("payload-type clockrate"))?;
    let mut rtpmap = RtpMap::new(pt.id, name, clockrate);
    // One channel is the default, left out as lib-jitsi-meet does.
    rtpmap.encoding_params = pt.channels.filter(|&c| c > 1).map(|c| c.to_string());
    a.push(rtpmap.into());

    if !pt.parameters.is_empty() {
        a.push(Attribute::with_value("fmtp", fmtp_value(pt)?));
    }
    let id = pt.id.to_string();
    if let Some(v) = pt.rtcp_fb_trr_int {
        let trr_int = format!("{id} trr-int {v}");
        a.push(Attribute::with_value("rtcp-fb", trr_int));
    }
    for fb in &pt.rtcp_fbs {
        a.push(rtcp_fb(&id, fb)?);
    }
    Ok(())
}

/// `<pt> <name>=<value>;...` (a parameter without a name is its value alone).
fn fmtp_value(pt: &PayloadType) -> Result<String, ConvertError> {
    let mut params = Vec::with_capacity(pt.parameters.len());
    for p in &pt.parameters {
        let name = match &*p.name {
            "" => None,
            name => Some(check_token("fmtp parameter name", name)?),
        };
        if let Some(name) = name.filter(|n| n.contains(['=', ';'])) {
            return Err(invalid("fmtp parameter name", name));
        }
        let value = check_text("fmtp parameter value", &p.value)?;
        if value.contains(';') {
            return Err(invalid("fmtp parameter value", value));
        }
        params.push(match name {
            Some(name) => format!("{name}={value}"),
            None => value.to_owned(),
        });
    }
    Ok(format!("{} {}", pt.id, params.join(";")))
}

/// `a=rtcp-fb:<pt> <type>[ <subtype>]`, `pt` being an id or `*`.
fn rtcp_fb(pt: &str, fb: &RtcpFb) -> Result<Attribute, ConvertError> {
    let mut value = format!("{pt} {}", check_token("rtcp-fb type", &fb.kind)?);
    if let Some(sub) = &fb.subtype {
        let sub = check_text("rtcp-fb subtype", sub)?.trim();
        if !sub.is_empty() {
            value.push(' ');
            value.push_str(sub);
        }
    }
    Ok(Attribute::with_value("rtcp-fb", value))
}

/// `a=extmap`s and `a=extmap-allow-mixed`.
fn hdrexts(a: &mut Vec<Attribute>, desc: &RtpDescription) -> Result<(), ConvertError> {
    for ext in &desc.hdrexts {
        let id = u8::try_from(ext.id)
            .ok()
            .filter(|&id| id != 0)
            .ok_or_else(|| invalid("rtp-hdrext id", &ext.id.to_string()))?;
        let uri = check_token("rtp-hdrext uri", &ext.uri)?;
        let mut extmap = ExtMap::new(id, uri);
        extmap.direction = ext.senders.and_then(hdrext_direction_of);
        a.push(extmap.into());
    }
    if desc.extmap_allow_mixed {
        a.push(Attribute::new("extmap-allow-mixed"));
    }
    Ok(())
}

/// `a=ssrc-group`s (empty ones skipped), then one `a=ssrc` per source parameter.
fn sources(a: &mut Vec<Attribute>, desc: &RtpDescription) -> Result<(), ConvertError> {
    for g in desc.ssrc_groups.iter().filter(|g| !g.ssrcs.is_empty()) {
        let mut value = check_token("ssrc-group semantics", &g.semantics)?.to_owned();
        for ssrc in &g.ssrcs {
            value.push(' ');
            value.push_str(&ssrc.to_string());
        }
        a.push(Attribute::with_value("ssrc-group", value));
    }
    for src in &desc.sources {
        for p in src.parameters.iter().filter(|p| !p.name.is_empty()) {
            let name = check_token("source parameter name", &p.name)?;
            if name.contains(':') {
                return Err(invalid("source parameter name", name));
            }
            let value = check_text("source parameter value", &p.value)?;
            let line = if value.is_empty() {
                format!("{} {name}", src.ssrc)
            } else {
                format!("{} {name}:{value}", src.ssrc)
            };
            a.push(Attribute::with_value("ssrc", line));
        }
    }
    Ok(())
}
