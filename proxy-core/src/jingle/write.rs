//! Writer for `<iq>` stanzas in lib-jitsi-meet's attribute order and namespaces.
//!
//! The output matches what lib-jitsi-meet (Strophe builders serialized by the
//! browser) sends, byte for byte for the captured vectors: attributes in the
//! order lib-jitsi-meet adds them, a namespace declared on each namespaced
//! child, `<x/>` for elements without children. Everything is appended to one
//! `String`; attribute values and text are escaped in place.
//!
//! Two shapes of `<transport>` exist in lib-jitsi-meet: session-initiate/accept
//! write the fingerprint (`hash`, `xmlns`, `setup`) before any candidate, while
//! transport-info writes the candidates first and then a fingerprint with
//! `xmlns` first and `required`. The writer picks the second shape when the
//! fingerprint carries `required`.
//!
//! Element names taken from the model (reason and error conditions) are written
//! only if they are valid names; otherwise a generic condition is written
//! instead (`general-error`, `undefined-condition`) so the output stays XML.

use crate::jingle::parse::is_element_name;
use crate::jingle::{
    dtls, grouping, ice_udp, rtp, Candidate, Content, Fingerprint, Group, IceUdpTransport, Jingle,
    Parameter, Payload, PayloadType, Reason, RtcpFb, RtpDescription, RtpHdrext, Source, SsrcGroup,
    NS_JINGLE, NS_JINGLE_ERRORS,
};
use crate::message::{Iq, StanzaError, NS_CLIENT, NS_STANZAS};

/// Writes `iq` as a string.
pub fn write_iq(iq: &Iq) -> String {
    let mut out = String::with_capacity(estimate(iq));
    write_iq_into(iq, &mut out);
    out
}

/// Appends `iq` to `out`.
pub fn write_iq_into(iq: &Iq, out: &mut String) {
    let mut w = W { out };
    w.open("iq");
    w.opt_attr("to", iq.to.as_deref());
    w.opt_attr("from", iq.from.as_deref());
    w.opt_attr("id", iq.id.as_deref());
    w.attr("type", iq.kind.as_str());
    w.attr("xmlns", NS_CLIENT);
    if iq.jingle.is_none() && iq.error.is_none() {
        w.end_empty();
        return;
    }
    w.out.push('>');
    if let Some(jingle) = &iq.jingle {
        w.jingle(jingle);
    }
    if let Some(error) = &iq.error {
        w.stanza_error(error);
    }
    w.close("iq");
}

/// A capacity that avoids regrowing for typical messages.
fn estimate(iq: &Iq) -> usize {
    let mut n = 160;
    if let Some(jingle) = &iq.jingle {
        n += 160;
        for content in &jingle.contents {
            n += 320;
            if let Some(d) = &content.description {
                n += d.payload_types.len() * 128
                    + d.payload_types
                        .iter()
                        .map(|p| p.parameters.len() * 48 + p.rtcp_fbs.len() * 80)
                        .sum::<usize>()
                    + d.sources.len() * 192
                    + d.ssrc_groups.len() * 128
                    + d.hdrexts.len() * 144;
            }
            if let Some(t) = &content.transport {
                n += t.candidates.len() * 224;
            }
        }
    }
    n
}

struct W<'a> {
    out: &'a mut String,
}

impl W<'_> {
    fn open(&mut self, name: &str) {
        self.out.push('<');
        self.out.push_str(name);
    }

    fn end_empty(&mut self) {
        self.out.push_str("/>");
    }

    fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn attr(&mut self, name: &str, value: &str) {
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        escape_into(self.out, value);
        self.out.push('"');
    }

    fn opt_attr(&mut self, name: &str, value: Option<&str>) {
        if let Some(value) = value {
            self.attr(name, value);
        }
    }

    fn num_attr(&mut self, name: &str, value: u32) {
        self.out.push(' ');
        self.out.push_str(name);
        self.out.push_str("=\"");
        push_u64(self.out, value.into());
        self.out.push('"');
    }

    fn opt_num_attr(&mut self, name: &str, value: Option<u32>) {
        if let Some(value) = value {
            self.num_attr(name, value);
        }
    }

    fn bool_attr(&mut self, name: &str, value: Option<bool>) {
        if let Some(value) = value {
            self.attr(name, if value { "true" } else { "false" });
        }
    }

    /// `<name>text</name>` with `>` of the start tag still to write.
    fn text_elem_rest(&mut self, name: &str, text: &str) {
        self.out.push('>');
        escape_into(self.out, text);
        self.close(name);
    }

    fn jingle(&mut self, j: &Jingle) {
        self.open("jingle");
        self.attr("action", j.action.as_str());
        self.opt_attr("initiator", j.initiator.as_deref());
        self.opt_attr("responder", j.responder.as_deref());
        self.opt_attr("sid", j.sid.as_deref());
        self.attr("xmlns", NS_JINGLE);
        if j.groups.is_empty()
            && j.contents.is_empty()
            && j.reason.is_none()
            && j.details.is_none()
            && j.payload.is_none()
        {
            self.end_empty();
            return;
        }
        self.out.push('>');
        for group in &j.groups {
            self.group(group);
        }
        for content in &j.contents {
            self.content(content);
        }
        if let Some(reason) = &j.reason {
            self.reason(reason);
        }
        if let Some(details) = &j.details {
            self.open("details");
            self.text_elem_rest("details", details);
        }
        if let Some(payload) = &j.payload {
            self.payload(payload);
        }
        self.close("jingle");
    }

    fn group(&mut self, g: &Group) {
        self.open("group");
        self.attr("semantics", &g.semantics);
        self.attr("xmlns", grouping::NS);
        if g.contents.is_empty() {
            return self.end_empty();
        }
        self.out.push('>');
        for name in &g.contents {
            self.open("content");
            self.attr("name", name);
            self.end_empty();
        }
        self.close("group");
    }

    fn content(&mut self, c: &Content) {
        self.open("content");
        self.opt_attr("creator", c.creator.map(|v| v.as_str()));
        self.attr("name", &c.name);
        self.opt_attr("senders", c.senders.map(|v| v.as_str()));
        if c.description.is_none() && c.transport.is_none() {
            return self.end_empty();
        }
        self.out.push('>');
        if let Some(d) = &c.description {
            self.description(d);
        }
        if let Some(t) = &c.transport {
            self.transport(t);
        }
        self.close("content");
    }

    /// `<name xmlns='ns'/>`, if the name can be written and is not one the
    /// model holds otherwise.
    fn payload(&mut self, p: &Payload) {
        let held = matches!(&*p.name, "group" | "content" | "reason" | "details");
        if is_element_name(&p.name) && !held {
            self.open(&p.name);
            self.attr("xmlns", &p.ns);
            self.end_empty();
        }
    }

    fn reason(&mut self, r: &Reason) {
        self.out.push_str("<reason>");
        let condition = if is_element_name(&r.condition) {
            &r.condition
        } else {
            "general-error"
        };
        self.open(condition);
        self.end_empty();
        if let Some(text) = &r.text {
            self.open("text");
            self.text_elem_rest("text", text);
        }
        self.close("reason");
    }

    fn stanza_error(&mut self, e: &StanzaError) {
        self.open("error");
        self.attr("type", &e.kind);
        self.out.push('>');
        let condition = if is_element_name(&e.condition) {
            &e.condition
        } else {
            "undefined-condition"
        };
        self.open(condition);
        self.attr("xmlns", NS_STANZAS);
        self.end_empty();
        if let Some(text) = &e.text {
            self.open("text");
            self.attr("xmlns", NS_STANZAS);
            self.text_elem_rest("text", text);
        }
        if let Some(condition) = e.jingle_condition.as_deref().filter(|c| is_element_name(c)) {
            self.open(condition);
            self.attr("xmlns", NS_JINGLE_ERRORS);
            self.end_empty();
        }
        self.close("error");
    }

    fn description(&mut self, d: &RtpDescription) {
        self.open("description");
        self.attr("media", &d.media);
        self.opt_num_attr("ssrc", d.ssrc);
        self.attr("xmlns", rtp::NS);
        if d.payload_types.is_empty()
            && d.rtcp_fbs.is_empty()
            && d.sources.is_empty()
            && d.ssrc_groups.is_empty()
            && !d.rtcp_mux
            && d.hdrexts.is_empty()
            && !d.extmap_allow_mixed
        {
            return self.end_empty();
        }
        self.out.push('>');
        for pt in &d.payload_types {
            self.payload_type(pt);
        }
        for source in &d.sources {
            self.source(source);
        }
        for group in &d.ssrc_groups {
            self.ssrc_group(group);
        }
        if d.rtcp_mux {
            self.out.push_str("<rtcp-mux/>");
        }
        for fb in &d.rtcp_fbs {
            self.rtcp_fb(fb);
        }
        for ext in &d.hdrexts {
            self.hdrext(ext);
        }
        if d.extmap_allow_mixed {
            self.open("extmap-allow-mixed");
            self.attr("xmlns", rtp::NS_HDREXT);
            self.end_empty();
        }
        self.close("description");
    }

    fn payload_type(&mut self, pt: &PayloadType) {
        self.open("payload-type");
        self.num_attr("id", pt.id.into());
        if !pt.name.is_empty() {
            self.attr("name", &pt.name);
        }
        self.opt_num_attr("clockrate", pt.clockrate);
        self.opt_num_attr("channels", pt.channels.map(u32::from));
        self.opt_num_attr("ptime", pt.ptime);
        self.opt_num_attr("maxptime", pt.maxptime);
        if pt.parameters.is_empty() && pt.rtcp_fbs.is_empty() && pt.rtcp_fb_trr_int.is_none() {
            return self.end_empty();
        }
        self.out.push('>');
        for p in &pt.parameters {
            self.parameter(p);
        }
        for fb in &pt.rtcp_fbs {
            self.rtcp_fb(fb);
        }
        if let Some(value) = pt.rtcp_fb_trr_int {
            self.open("rtcp-fb-trr-int");
            self.num_attr("value", value);
            self.attr("xmlns", rtp::NS_RTCP_FB);
            self.end_empty();
        }
        self.close("payload-type");
    }

    fn parameter(&mut self, p: &Parameter) {
        self.open("parameter");
        self.attr("name", &p.name);
        self.attr("value", &p.value);
        self.end_empty();
    }

    fn rtcp_fb(&mut self, fb: &RtcpFb) {
        self.open("rtcp-fb");
        self.attr("type", &fb.kind);
        self.attr("xmlns", rtp::NS_RTCP_FB);
        self.opt_attr("subtype", fb.subtype.as_deref());
        self.end_empty();
    }

    fn source(&mut self, s: &Source) {
        self.open("source");
        self.opt_attr("name", s.name.as_deref());
        self.num_attr("ssrc", s.ssrc);
        self.opt_attr("videoType", s.video_type.as_deref());
        self.attr("xmlns", rtp::NS_SSMA);
        if s.parameters.is_empty() {
            return self.end_empty();
        }
        self.out.push('>');
        for p in &s.parameters {
            self.parameter(p);
        }
        self.close("source");
    }

    fn ssrc_group(&mut self, g: &SsrcGroup) {
        self.open("ssrc-group");
        self.attr("semantics", &g.semantics);
        self.attr("xmlns", rtp::NS_SSMA);
        if g.ssrcs.is_empty() {
            return self.end_empty();
        }
        self.out.push('>');
        for &ssrc in &g.ssrcs {
            self.open("source");
            self.num_attr("ssrc", ssrc);
            self.end_empty();
        }
        self.close("ssrc-group");
    }

    fn hdrext(&mut self, ext: &RtpHdrext) {
        self.open("rtp-hdrext");
        self.num_attr("id", ext.id.into());
        self.attr("uri", &ext.uri);
        self.attr("xmlns", rtp::NS_HDREXT);
        self.opt_attr("senders", ext.senders.map(|v| v.as_str()));
        self.end_empty();
    }

    fn transport(&mut self, t: &IceUdpTransport) {
        self.open("transport");
        self.opt_attr("pwd", t.pwd.as_deref());
        self.opt_attr("ufrag", t.ufrag.as_deref());
        self.attr("xmlns", ice_udp::NS);
        if t.fingerprint.is_none() && t.candidates.is_empty() {
            return self.end_empty();
        }
        self.out.push('>');
        // transport-info shape (candidates, then a `required` fingerprint) or
        // session-initiate/accept shape (fingerprint first).
        let trickle = t.fingerprint.as_ref().is_some_and(|f| f.required.is_some());
        if !trickle {
            if let Some(f) = &t.fingerprint {
                self.fingerprint(f, false);
            }
        }
        for c in &t.candidates {
            self.candidate(c);
        }
        if trickle {
            if let Some(f) = &t.fingerprint {
                self.fingerprint(f, true);
            }
        }
        self.close("transport");
    }

    fn fingerprint(&mut self, f: &Fingerprint, xmlns_first: bool) {
        self.open("fingerprint");
        if xmlns_first {
            self.attr("xmlns", dtls::NS);
        }
        self.attr("hash", &f.hash);
        if !xmlns_first {
            self.attr("xmlns", dtls::NS);
        }
        self.opt_attr("setup", f.setup.map(|s| s.as_str()));
        self.bool_attr("cryptex", f.cryptex);
        self.bool_attr("required", f.required);
        self.text_elem_rest("fingerprint", &f.value);
    }

    fn candidate(&mut self, c: &Candidate) {
        self.open("candidate");
        self.attr("foundation", &c.foundation);
        self.num_attr("component", c.component.into());
        self.attr("protocol", &c.protocol);
        self.num_attr("priority", c.priority);
        self.attr("ip", &c.ip);
        self.num_attr("port", c.port.into());
        self.attr("type", c.kind.as_str());
        self.opt_num_attr("generation", c.generation);
        self.opt_attr("rel-addr", c.rel_addr.as_deref());
        self.opt_num_attr("rel-port", c.rel_port.map(u32::from));
        self.opt_attr("tcptype", c.tcptype.as_deref());
        self.opt_num_attr("network", c.network);
        self.opt_attr("id", c.id.as_deref());
        self.end_empty();
    }
}

/// Appends `s` escaped for an attribute value or text: the five markup
/// characters as entities, tab, LF and CR as character references (so that
/// attribute-value normalization gives them back unchanged). Characters XML
/// cannot carry at all (other C0 controls, U+FFFE, U+FFFF) become U+FFFD.
fn escape_into(out: &mut String, s: &str) {
    // A byte scan: every character to replace is ASCII, or U+FFFE / U+FFFF
    // (EF BF BE / EF BF BF), so each match starts on a character boundary.
    let bytes = s.as_bytes();
    let mut plain = 0;
    let mut i = 0;
    // `ESCAPE_START` has an entry for every byte value.
    while let Some(at) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| ESCAPE_START[usize::from(b)]))
    {
        i += at;
        let (replacement, len) = match bytes.get(i) {
            Some(b'&') => ("&amp;", 1),
            Some(b'<') => ("&lt;", 1),
            Some(b'>') => ("&gt;", 1),
            Some(b'"') => ("&quot;", 1),
            Some(b'\'') => ("&apos;", 1),
            Some(b'\t') => ("&#9;", 1),
            Some(b'\n') => ("&#10;", 1),
            Some(b'\r') => ("&#13;", 1),
            Some(0..=0x1f) => ("\u{fffd}", 1),
            // EF: U+FFFE / U+FFFF, or another character to keep.
            _ if bytes.get(i + 1) == Some(&0xbf)
                && matches!(bytes.get(i + 2), Some(0xbe | 0xbf)) =>
            {
                ("\u{fffd}", 3)
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(s.get(plain..i).unwrap_or_default());
        out.push_str(replacement);
        i += len;
        plain = i;
    }
    out.push_str(s.get(plain..).unwrap_or_default());
}

/// The bytes that may start a character [`escape_into`] replaces.
const ESCAPE_START: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[b'\'' as usize] = true;
    t[0xef] = true;
    t
};

/// Appends `n` in decimal, without allocating. The writer calls it for every
/// number; inlined, it costs nothing over a local copy.
#[inline]
pub(crate) fn push_u64(out: &mut String, mut n: u64) {
    // u64::MAX has 20 digits.
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    for d in digits.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        start -= 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits: always UTF-8.
    out.push_str(std::str::from_utf8(digits.get(start..).unwrap_or_default()).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jingle::Action;

    #[test]
    fn escapes_markup_and_line_breaks() {
        let mut out = String::new();
        escape_into(&mut out, "a&b<c>d\"e'f\tg\nh\ri é\u{1}\u{ffff}");
        assert_eq!(
            out,
            "a&amp;b&lt;c&gt;d&quot;e&apos;f&#9;g&#10;h&#13;i é\u{fffd}\u{fffd}"
        );
        let mut out = String::new();
        escape_into(&mut out, "plain");
        assert_eq!(out, "plain");
    }

    /// The escaping before the byte scan: a search for special characters.
    fn escape_by_chars(s: &str) -> String {
        let special = |c: char| {
            matches!(
                c,
                '&' | '<' | '>' | '"' | '\'' | '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'
            )
        };
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(special) {
            let (plain, tail) = rest.split_at(i);
            out.push_str(plain);
            let mut chars = tail.chars();
            out.push_str(match chars.next() {
                Some('&') => "&amp;",
                Some('<') => "&lt;",
                Some('>') => "&gt;",
                Some('"') => "&quot;",
                Some('\'') => "&apos;",
                Some('\t') => "&#9;",
                Some('\n') => "&#10;",
                Some('\r') => "&#13;",
                _ => "\u{fffd}",
            });
            rest = chars.as_str();
        }
        out.push_str(rest);
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        /// The byte scan escapes as the character search did, for text weighted
        /// toward what it replaces and what looks like it (other characters of
        /// U+EFxx..U+FFFF, whose UTF-8 starts with EF).
        #[test]
        fn byte_scan_escapes_as_the_char_search(
            s in "[a\u{0}-\u{1f}&<>\"' \u{7f}\u{80}\u{e9}\u{fffd}\u{fffe}\u{ffff}\u{fbff}\u{f000}\u{ffef}\u{10000}]{0,24}"
        ) {
            let mut out = String::from("x");
            escape_into(&mut out, &s);
            proptest::prop_assert_eq!(out, format!("x{}", escape_by_chars(&s)));
        }
    }

    #[test]
    fn numbers_without_allocation() {
        for n in [
            0,
            1,
            9,
            10,
            99,
            100,
            127,
            90_000,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut s = String::from("x");
            push_u64(&mut s, n);
            assert_eq!(s, format!("x{n}"));
        }
    }

    #[test]
    fn invalid_condition_names_are_replaced() {
        let mut j = Jingle::new(Action::SessionTerminate);
        j.reason = Some(Reason::new("x/><evil"));
        let xml = write_iq(&Iq::set("a@b", j));
        assert!(xml.contains("<reason><general-error/></reason>"), "{xml}");
        let xml = write_iq(&Iq::error(
            "a@b",
            "1",
            StanzaError {
                kind: "cancel".into(),
                condition: "<".into(),
                jingle_condition: Some(" ".into()),
                text: None,
            },
        ));
        assert!(
            xml.contains(
                "<error type=\"cancel\"><undefined-condition xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/></error>"
            ),
            "{xml}"
        );
    }

    #[test]
    fn appends_to_what_is_there() {
        let mut out = String::from("prefix:");
        write_iq_into(&Iq::result("a@b", "1"), &mut out);
        assert_eq!(
            out,
            "prefix:<iq to=\"a@b\" id=\"1\" type=\"result\" xmlns=\"jabber:client\"/>"
        );
    }
}
