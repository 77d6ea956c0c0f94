//! Jingle -> SDP (lib-jitsi-meet's `SDP.fromJingle` / `jingle2media` for a P2P session).
//!
//! The text is written straight into one `String`, sized up front from the model,
//! in the exact form `sdp_types::Session::write` gives (`tests/to_sdp_identity.rs`
//! checks this against the former `Session`-based builder, kept in
//! `tests/oracle`). Every value is checked before it is written, in the same
//! order as before, so the first problem found is the one reported; on an error the
//! partly written text is dropped.
//!
//! sdp-types strips NUL, CR and LF from every name and value it writes; nothing
//! here can hold them (each value is a checked token or text without control
//! characters, or a candidate cleaned of them), so writing the values as they are
//! gives the same bytes.

use std::collections::HashSet;

use crate::error::ConvertError;
use crate::jingle::{
    Content, Group, IceUdpTransport, Jingle, PayloadType, RtcpFb, RtpDescription, Senders,
};

use super::candidate::{check_candidate, write_candidate};
use super::{check_text, check_token, direction_of, invalid, is_hex_fingerprint};
use crate::jingle::write::push_u64;

/// The RTP profile every content uses (DTLS-SRTP with feedback).
const PROTO: &str = "UDP/TLS/RTP/SAVPF";

/// Up to this many contents, names are looked up by scanning them; above it, in a
/// hash set (a model built by an application may have any number).
const FEW_CONTENTS: usize = 16;

pub(super) fn jingle_to_sdp(jingle: &Jingle, session_id: u64) -> Result<String, ConvertError> {
    let names = Names::new(&jingle.contents)?;

    let mut out = String::with_capacity(capacity(jingle));
    out.push_str("v=0\r\no=- ");
    push_u64(&mut out, session_id);
    out.push_str(" 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
    for group in &jingle.groups {
        write_group(&mut out, group, &names)?;
    }
    let cryptex = jingle.contents.iter().any(|c| {
        c.transport
            .as_ref()
            .and_then(|t| t.fingerprint.as_ref())
            .is_some_and(|f| f.cryptex == Some(true))
    });
    if cryptex {
        out.push_str("a=cryptex\r\n");
    }
    for content in &jingle.contents {
        media(&mut out, content)?;
    }
    Ok(out)
}

/// The content names, checked to be unique tokens (in content order, so the
/// first duplicate is the one reported).
enum Names<'j> {
    /// Few contents: scan them.
    Few(&'j [Content<'j>]),
    /// Many: a set.
    Many(HashSet<&'j str>),
}

impl<'j> Names<'j> {
    fn new(contents: &'j [Content<'j>]) -> Result<Names<'j>, ConvertError> {
        if contents.len() <= FEW_CONTENTS {
            for (i, content) in contents.iter().enumerate() {
                check_token("content name", &content.name)?;
                let earlier = contents.get(..i).unwrap_or_default(); // i < len
                if earlier.iter().any(|c| c.name == content.name) {
                    return Err(invalid("content name (duplicate)", &content.name));
                }
            }
            Ok(Names::Few(contents))
        } else {
            let mut names = HashSet::with_capacity(contents.len());
            for content in contents {
                check_token("content name", &content.name)?;
                if !names.insert(&*content.name) {
                    return Err(invalid("content name (duplicate)", &content.name));
                }
            }
            Ok(Names::Many(names))
        }
    }

    fn contains(&self, name: &str) -> bool {
        match self {
            Names::Few(contents) => contents.iter().any(|c| c.name == name),
            Names::Many(names) => names.contains(name),
        }
    }
}

/// An upper estimate of the text's length (so the `String` rarely grows): the
/// fixed part of each line plus the values written into it.
fn capacity(jingle: &Jingle) -> usize {
    let mut n = 80;
    for g in &jingle.groups {
        n += 12 + g.semantics.len() + g.contents.iter().map(|m| m.len() + 1).sum::<usize>();
    }
    for c in &jingle.contents {
        // m=, c=, a=rtcp, direction, a=mid, a=rtcp-mux, a=cryptex.
        n += 128 + c.name.len();
        if let Some(t) = &c.transport {
            n += 32 + t.ufrag.as_ref().map_or(0, |s| s.len());
            n += t.pwd.as_ref().map_or(0, |s| s.len());
            if let Some(fp) = &t.fingerprint {
                n += 40 + fp.hash.len() + fp.value.len();
            }
            for cand in &t.candidates {
                n += 100 + cand.foundation.len() + cand.protocol.len() + cand.ip.len();
                n += cand.rel_addr.as_ref().map_or(0, |s| s.len() + 20);
                n += cand.tcptype.as_ref().map_or(0, |s| s.len() + 10);
            }
        }
        if let Some(d) = &c.description {
            n += 4 * d.payload_types.len();
            for pt in &d.payload_types {
                n += 40 + pt.name.len();
                for p in &pt.parameters {
                    n += 8 + p.name.len() + p.value.len();
                }
                n += pt.rtcp_fb_trr_int.map_or(0, |_| 32);
                n += rtcp_fbs_len(&pt.rtcp_fbs);
            }
            n += rtcp_fbs_len(&d.rtcp_fbs);
            for e in &d.hdrexts {
                n += 32 + e.uri.len();
            }
            for g in &d.ssrc_groups {
                n += 16 + g.semantics.len() + 11 * g.ssrcs.len();
            }
            for s in &d.sources {
                for p in &s.parameters {
                    // Also the a=msid line, which repeats one of these.
                    n += 24 + p.name.len() + p.value.len();
                }
            }
        }
    }
    n
}

fn rtcp_fbs_len(fbs: &[RtcpFb]) -> usize {
    fbs.iter()
        .map(|f| 20 + f.kind.len() + f.subtype.as_ref().map_or(0, |s| s.len()))
        .sum()
}

/// `a=group:<semantics> <mids>`; nothing for an empty group (lib-jitsi-meet skips those).
fn write_group(out: &mut String, group: &Group, names: &Names) -> Result<(), ConvertError> {
    if group.contents.is_empty() {
        return Ok(());
    }
    out.push_str("a=group:");
    out.push_str(check_token("group semantics", &group.semantics)?);
    for mid in &group.contents {
        if !names.contains(mid) {
            return Err(invalid("group member (no such content)", mid));
        }
        out.push(' ');
        out.push_str(mid);
    }
    out.push_str("\r\n");
    Ok(())
}

fn media(out: &mut String, content: &Content) -> Result<(), ConvertError> {
    let rejected = content.senders == Some(Senders::Rejected);
    let desc = content
        .description
        .as_ref()
        .ok_or(ConvertError::Missing("content description"))?;
    // A proxy connection carries RTP audio and video only; sdp_to_jingle reads
    // nothing else, so nothing else is written either.
    if !matches!(&*desc.media, "audio" | "video") {
        return Err(invalid("description media", &desc.media));
    }
    if desc.payload_types.is_empty() && !rejected {
        return Err(ConvertError::Missing("payload types"));
    }
    out.push_str("m=");
    out.push_str(&desc.media);
    out.push_str(if rejected { " 0 " } else { " 9 " });
    out.push_str(PROTO);
    let mut seen = 0u128;
    for pt in &desc.payload_types {
        if pt.id > 127 {
            return Err(invalid("payload-type id", &pt.id.to_string()));
        }
        let bit = 1u128 << pt.id;
        if seen & bit != 0 {
            return Err(invalid("payload-type id (duplicate)", &pt.id.to_string()));
        }
        seen |= bit;
        out.push(' ');
        push_u64(out, pt.id.into());
    }
    if desc.payload_types.is_empty() {
        // A rejected m-line without payload types still needs one format (str0m writes 0).
        out.push_str(" 0");
    }
    out.push_str("\r\nc=IN IP4 0.0.0.0\r\na=rtcp:1 IN IP4 0.0.0.0\r\n");

    match &content.transport {
        Some(t) => transport(out, t, rejected)?,
        None if rejected => {}
        None => return Err(ConvertError::Missing("transport")),
    }

    // XEP-0166: absent senders means both. A rejected m-line is inactive (str0m
    // wants exactly one direction attribute on every m-line).
    let direction = match content.senders {
        None => "sendrecv",
        Some(s) => direction_of(s).unwrap_or("inactive"),
    };
    attribute(out, direction);
    if let Some(msid) = desc.sources.iter().find_map(|s| s.msid()) {
        attribute_value(out, "msid", check_text("msid", msid)?);
    }
    attribute_value(out, "mid", &content.name);
    if desc.rtcp_mux {
        attribute(out, "rtcp-mux");
    }
    for pt in &desc.payload_types {
        payload_type(out, pt)?;
    }
    for fb in &desc.rtcp_fbs {
        rtcp_fb(out, None, fb)?;
    }
    description_tail(out, desc)
}

fn transport(out: &mut String, t: &IceUdpTransport, rejected: bool) -> Result<(), ConvertError> {
    match (&t.ufrag, &t.pwd) {
        (Some(ufrag), Some(pwd)) => {
            attribute_value(out, "ice-ufrag", check_token("transport ufrag", ufrag)?);
            attribute_value(out, "ice-pwd", check_token("transport pwd", pwd)?);
        }
        _ if rejected => {}
        _ => return Err(ConvertError::Missing("transport ufrag/pwd")),
    }
    match &t.fingerprint {
        Some(fp) => {
            let hash = check_token("fingerprint hash", &fp.hash)?;
            let value = check_token("fingerprint", fp.value.trim())?;
            if !is_hex_fingerprint(value) {
                return Err(invalid("fingerprint", value));
            }
            out.push_str("a=fingerprint:");
            out.push_str(hash);
            out.push(' ');
            out.push_str(value);
            out.push_str("\r\n");
            if let Some(setup) = fp.setup {
                attribute_value(out, "setup", setup.as_str());
            }
        }
        None if rejected => {}
        None => return Err(ConvertError::Missing("transport fingerprint")),
    }
    for c in &t.candidates {
        check_candidate(c)?;
        // `a=candidate:…`: the candidate line starts with `candidate:`.
        out.push_str("a=");
        write_candidate(out, c);
        out.push_str("\r\n");
    }
    Ok(())
}

fn payload_type(out: &mut String, pt: &PayloadType) -> Result<(), ConvertError> {
    let name = check_token("payload-type name", &pt.name)?;
    if name.contains('/') {
        return Err(invalid("payload-type name", name));
    }
    let clockrate = pt
        .clockrate
        .ok_or(ConvertError::Missing("payload-type clockrate"))?;
    out.push_str("a=rtpmap:");
    push_u64(out, pt.id.into());
    out.push(' ');
    out.push_str(name);
    out.push('/');
    push_u64(out, clockrate.into());
    if let Some(ch) = pt.channels.filter(|&c| c > 1) {
        out.push('/');
        push_u64(out, ch.into());
    }
    out.push_str("\r\n");

    if !pt.parameters.is_empty() {
        out.push_str("a=fmtp:");
        push_u64(out, pt.id.into());
        out.push(' ');
        for (i, p) in pt.parameters.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            if !p.name.is_empty() {
                let n = check_token("fmtp parameter name", &p.name)?;
                if n.contains(['=', ';']) {
                    return Err(invalid("fmtp parameter name", n));
                }
                out.push_str(n);
                out.push('=');
            }
            let v = check_text("fmtp parameter value", &p.value)?;
            if v.contains(';') {
                return Err(invalid("fmtp parameter value", v));
            }
            out.push_str(v);
        }
        out.push_str("\r\n");
    }
    if let Some(v) = pt.rtcp_fb_trr_int {
        out.push_str("a=rtcp-fb:");
        push_u64(out, pt.id.into());
        out.push_str(" trr-int ");
        push_u64(out, v.into());
        out.push_str("\r\n");
    }
    for fb in &pt.rtcp_fbs {
        rtcp_fb(out, Some(pt.id), fb)?;
    }
    Ok(())
}

/// `a=rtcp-fb:<pt> <type>[ <subtype>]`, `*` for the payload type when `pt` is `None`.
fn rtcp_fb(out: &mut String, pt: Option<u8>, fb: &RtcpFb) -> Result<(), ConvertError> {
    let kind = check_token("rtcp-fb type", &fb.kind)?;
    let sub = match &fb.subtype {
        Some(sub) => check_text("rtcp-fb subtype", sub)?.trim(),
        None => "",
    };
    out.push_str("a=rtcp-fb:");
    match pt {
        Some(id) => push_u64(out, id.into()),
        None => out.push('*'),
    }
    out.push(' ');
    out.push_str(kind);
    if !sub.is_empty() {
        out.push(' ');
        out.push_str(sub);
    }
    out.push_str("\r\n");
    Ok(())
}

/// extmaps, extmap-allow-mixed, ssrc-groups and ssrc lines.
fn description_tail(out: &mut String, desc: &RtpDescription) -> Result<(), ConvertError> {
    for ext in &desc.hdrexts {
        if ext.id == 0 || ext.id > 255 {
            return Err(invalid("rtp-hdrext id", &ext.id.to_string()));
        }
        let uri = check_token("rtp-hdrext uri", &ext.uri)?;
        // The inverse of lib-jitsi-meet's reading rule (sendonly -> responder, ...).
        let dir = match ext.senders {
            Some(Senders::Responder) => "/sendonly",
            Some(Senders::Initiator) => "/recvonly",
            Some(Senders::Both) => "/sendrecv",
            Some(Senders::None) => "/inactive",
            Some(Senders::Rejected) | None => "",
        };
        out.push_str("a=extmap:");
        push_u64(out, ext.id.into());
        out.push_str(dir);
        out.push(' ');
        out.push_str(uri);
        out.push_str("\r\n");
    }
    if desc.extmap_allow_mixed {
        attribute(out, "extmap-allow-mixed");
    }
    for g in &desc.ssrc_groups {
        if g.ssrcs.is_empty() {
            continue;
        }
        out.push_str("a=ssrc-group:");
        out.push_str(check_token("ssrc-group semantics", &g.semantics)?);
        for &s in &g.ssrcs {
            out.push(' ');
            push_u64(out, s.into());
        }
        out.push_str("\r\n");
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
            out.push_str("a=ssrc:");
            push_u64(out, src.ssrc.into());
            out.push(' ');
            out.push_str(name);
            if !value.is_empty() {
                out.push(':');
                out.push_str(value);
            }
            out.push_str("\r\n");
        }
    }
    Ok(())
}

/// `a=<name>`.
fn attribute(out: &mut String, name: &str) {
    out.push_str("a=");
    out.push_str(name);
    out.push_str("\r\n");
}

/// `a=<name>:<value>`.
fn attribute_value(out: &mut String, name: &str, value: &str) {
    out.push_str("a=");
    out.push_str(name);
    out.push(':');
    out.push_str(value);
    out.push_str("\r\n");
}
