//! The reference Jingle -> SDP builder: `jingle_to_sdp` as it was before it wrote
//! the text directly (an `sdp_types::Session` built attribute by attribute, then
//! `Session::write`), with `candidate_to_sdp` and `check_candidate` as they were.
//! Kept only as an oracle: `tests/to_sdp_identity.rs` checks that the crate's
//! writer gives the same `Result` (same bytes, or the same error) for any model.

use std::collections::HashSet;

use proxy_core::convert::candidate_from_sdp;
use proxy_core::jingle::{
    Candidate, Content, Group, IceUdpTransport, Jingle, PayloadType, RtcpFb, RtpDescription,
    Senders,
};
use proxy_core::ConvertError;
use sdp_types::{Attribute, Connection, Media, Origin, Session, Time};

use super::{check_text, check_token, direction_of, invalid};

/// The RTP profile every content uses (DTLS-SRTP with feedback).
const PROTO: &str = "UDP/TLS/RTP/SAVPF";

/// `candidate_to_sdp` as it was (one `to_string` per number).
pub fn candidate_to_sdp(c: &Candidate) -> String {
    let mut out = String::with_capacity(128);
    out.push_str("candidate:");
    push_clean(&mut out, &c.foundation);
    out.push(' ');
    out.push_str(&c.component.to_string());
    out.push(' ');
    push_clean(&mut out, &c.protocol.to_ascii_lowercase());
    out.push(' ');
    out.push_str(&c.priority.to_string());
    out.push(' ');
    push_clean(&mut out, &c.ip);
    out.push(' ');
    out.push_str(&c.port.to_string());
    out.push_str(" typ ");
    out.push_str(c.kind.as_str());
    if let (Some(addr), Some(port)) = (&c.rel_addr, c.rel_port) {
        out.push_str(" raddr ");
        push_clean(&mut out, addr);
        out.push_str(" rport ");
        out.push_str(&port.to_string());
    }
    if let Some(t) = &c.tcptype {
        out.push_str(" tcptype ");
        push_clean(&mut out, t);
    }
    out.push_str(" generation ");
    out.push_str(&c.generation.unwrap_or(0).to_string());
    if let Some(n) = c.network {
        out.push_str(" network-id ");
        out.push_str(&n.to_string());
    }
    out
}

fn push_clean(out: &mut String, s: &str) {
    out.extend(s.chars().filter(|c| !c.is_whitespace() && !c.is_control()));
}

/// `check_candidate` as it was: write, read back, compare.
pub fn check_candidate(c: &Candidate) -> Result<(), ConvertError> {
    let written = candidate_to_sdp(c);
    let read = candidate_from_sdp(&written)?;
    let same = read.foundation == c.foundation
        && read.protocol == c.protocol.to_ascii_lowercase()
        && read.ip == c.ip
        && read.component == c.component
        && (c.rel_addr.is_none() || c.rel_port.is_none() || read.rel_addr == c.rel_addr)
        && read.tcptype == c.tcptype;
    if same {
        Ok(())
    } else {
        Err(invalid("candidate", &written))
    }
}

/// `jingle_to_sdp` as it was.
pub fn jingle_to_sdp(jingle: &Jingle, session_id: u64) -> Result<String, ConvertError> {
    let mut names = HashSet::new();
    for content in &jingle.contents {
        check_token("content name", &content.name)?;
        if !names.insert(&*content.name) {
            return Err(invalid("content name (duplicate)", &content.name));
        }
    }

    let mut session = Session::new(
        Origin::new(
            session_id,
            2,
            sdp_types::NetType::In,
            sdp_types::AddrType::Ip4,
            "0.0.0.0",
        ),
        "-",
    );
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

    let mut out = Vec::with_capacity(4096);
    session
        .write(&mut out)
        .map_err(|e| ConvertError::Sdp(e.to_string()))?;
    String::from_utf8(out).map_err(|e| ConvertError::Sdp(e.to_string()))
}

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
    if !matches!(&*desc.media, "audio" | "video") {
        return Err(invalid("description media", &desc.media));
    }
    if desc.payload_types.is_empty() && !rejected {
        return Err(ConvertError::Missing("payload types"));
    }
    let mut ids = HashSet::new();
    let mut fmt = Vec::with_capacity(desc.payload_types.len());
    for pt in &desc.payload_types {
        if pt.id > 127 {
            return Err(invalid("payload-type id", &pt.id.to_string()));
        }
        if !ids.insert(pt.id) {
            return Err(invalid("payload-type id (duplicate)", &pt.id.to_string()));
        }
        fmt.push(pt.id.to_string());
    }

    let mut m = Media {
        media: desc.media.to_string(),
        port: if rejected { 0 } else { 9 },
        num_ports: None,
        proto: PROTO.to_owned(),
        fmt: if fmt.is_empty() {
            "0".to_owned()
        } else {
            fmt.join(" ")
        },
        media_title: None,
        connections: vec![Connection::new(
            sdp_types::NetType::In,
            sdp_types::AddrType::Ip4,
            "0.0.0.0",
        )],
        bandwidths: Vec::new(),
        key: None,
        attributes: Vec::new(),
    };
    let a = &mut m.attributes;
    a.push(Attribute::with_value("rtcp", "1 IN IP4 0.0.0.0"));

    match &content.transport {
        Some(t) => transport(a, t, rejected)?,
        None if rejected => {}
        None => return Err(ConvertError::Missing("transport")),
    }

    let direction = match content.senders {
        None => "sendrecv",
        Some(s) => direction_of(s).unwrap_or("inactive"),
    };
    a.push(Attribute::new(direction));
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
        a.push(Attribute::with_value("rtcp-fb", rtcp_fb("*", fb)?));
    }
    description_tail(a, desc)?;
    Ok(m)
}

fn transport(
    a: &mut Vec<Attribute>,
    t: &IceUdpTransport,
    rejected: bool,
) -> Result<(), ConvertError> {
    match (&t.ufrag, &t.pwd) {
        (Some(ufrag), Some(pwd)) => {
            a.push(Attribute::with_value(
                "ice-ufrag",
                check_token("transport ufrag", ufrag)?,
            ));
            a.push(Attribute::with_value(
                "ice-pwd",
                check_token("transport pwd", pwd)?,
            ));
        }
        _ if rejected => {}
        _ => return Err(ConvertError::Missing("transport ufrag/pwd")),
    }
    match &t.fingerprint {
        Some(fp) => {
            let hash = check_token("fingerprint hash", &fp.hash)?;
            let value = check_token("fingerprint", fp.value.trim())?;
            if format!("{hash} {value}")
                .parse::<sdp_types::Fingerprint>()
                .is_err()
            {
                return Err(invalid("fingerprint", value));
            }
            a.push(Attribute::with_value(
                "fingerprint",
                format!("{hash} {value}"),
            ));
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

fn payload_type(a: &mut Vec<Attribute>, pt: &PayloadType) -> Result<(), ConvertError> {
    let name = check_token("payload-type name", &pt.name)?;
    if name.contains('/') {
        return Err(invalid("payload-type name", name));
    }
    let clockrate = pt
        .clockrate
        .ok_or(ConvertError::Missing("payload-type clockrate"))?;
    let mut rtpmap = format!("{} {name}/{clockrate}", pt.id);
    if let Some(ch) = pt.channels.filter(|&c| c > 1) {
        rtpmap.push_str(&format!("/{ch}"));
    }
    a.push(Attribute::with_value("rtpmap", rtpmap));

    if !pt.parameters.is_empty() {
        let mut fmtp = format!("{} ", pt.id);
        for (i, p) in pt.parameters.iter().enumerate() {
            if i > 0 {
                fmtp.push(';');
            }
            if !p.name.is_empty() {
                let n = check_token("fmtp parameter name", &p.name)?;
                if n.contains(['=', ';']) {
                    return Err(invalid("fmtp parameter name", n));
                }
                fmtp.push_str(n);
                fmtp.push('=');
            }
            let v = check_text("fmtp parameter value", &p.value)?;
            if v.contains(';') {
                return Err(invalid("fmtp parameter value", v));
            }
            fmtp.push_str(v);
        }
        a.push(Attribute::with_value("fmtp", fmtp));
    }
    let id = pt.id.to_string();
    if let Some(v) = pt.rtcp_fb_trr_int {
        a.push(Attribute::with_value(
            "rtcp-fb",
            format!("{id} trr-int {v}"),
        ));
    }
    for fb in &pt.rtcp_fbs {
        a.push(Attribute::with_value("rtcp-fb", rtcp_fb(&id, fb)?));
    }
    Ok(())
}

fn rtcp_fb(pt: &str, fb: &RtcpFb) -> Result<String, ConvertError> {
    let mut s = format!("{pt} {}", check_token("rtcp-fb type", &fb.kind)?);
    if let Some(sub) = &fb.subtype {
        let sub = check_text("rtcp-fb subtype", sub)?;
        if !sub.trim().is_empty() {
            s.push(' ');
            s.push_str(sub.trim());
        }
    }
    Ok(s)
}

fn description_tail(a: &mut Vec<Attribute>, desc: &RtpDescription) -> Result<(), ConvertError> {
    for ext in &desc.hdrexts {
        if ext.id == 0 || ext.id > 255 {
            return Err(invalid("rtp-hdrext id", &ext.id.to_string()));
        }
        let uri = check_token("rtp-hdrext uri", &ext.uri)?;
        let dir = match ext.senders {
            Some(Senders::Responder) => "/sendonly",
            Some(Senders::Initiator) => "/recvonly",
            Some(Senders::Both) => "/sendrecv",
            Some(Senders::None) => "/inactive",
            Some(Senders::Rejected) | None => "",
        };
        a.push(Attribute::with_value(
            "extmap",
            format!("{}{dir} {uri}", ext.id),
        ));
    }
    if desc.extmap_allow_mixed {
        a.push(Attribute::new("extmap-allow-mixed"));
    }
    for g in &desc.ssrc_groups {
        if g.ssrcs.is_empty() {
            continue;
        }
        let mut v = check_token("ssrc-group semantics", &g.semantics)?.to_owned();
        for s in &g.ssrcs {
            v.push(' ');
            v.push_str(&s.to_string());
        }
        a.push(Attribute::with_value("ssrc-group", v));
    }
    for src in &desc.sources {
        for p in &src.parameters {
            if p.name.is_empty() {
                continue;
            }
            let name = check_token("source parameter name", &p.name)?;
            if name.contains(':') {
                return Err(invalid("source parameter name", name));
            }
            let value = check_text("source parameter value", &p.value)?;
            let v = if value.is_empty() {
                format!("{} {name}", src.ssrc)
            } else {
                format!("{} {name}:{value}", src.ssrc)
            };
            a.push(Attribute::with_value("ssrc", v));
        }
    }
    Ok(())
}
