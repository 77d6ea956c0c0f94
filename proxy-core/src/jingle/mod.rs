//! The Jingle wire model (XEP-0166 and the application/transport XEPs it
//! carries) in lib-jitsi-meet's dialect: one module per XEP, each with its
//! model, its parse and its write side by side, over the crate's one
//! bounded XML reader and writer (`xml`).
//!
//! The model owns its strings and keeps everything the dialect carries, so
//! that writing a parsed message and parsing it again gives an equal value.
//! The parse rules beyond the reader's ([`Limits`], DOCTYPE and PIs
//! refused, nothing expanded):
//!
//! - An element the grammar knows at that place (e.g. `<jingle>` inside
//!   `<iq>`) in another namespace is a [`ParseError::Namespace`] error; any
//!   other unknown element is skipped whole, as are unknown attributes.
//! - Where the model holds one child (a content's description and transport,
//!   the jingle's reason, a transport's fingerprint, …) the first one wins and
//!   later ones are skipped, as lib-jitsi-meet's `findFirst` does.
//! - Repeated children are counted against their [`Limits`].
//!
//! The writer matches what lib-jitsi-meet (Strophe builders serialized by the
//! browser) sends, byte for byte for the captured vectors: attributes in the
//! order lib-jitsi-meet adds them, a namespace declared on each namespaced
//! child, `<x/>` for elements without children. Element names taken from the
//! model (reason and error conditions) are written only if they are valid
//! names; otherwise a generic condition is written instead.

use std::collections::HashSet;

mod action;
mod dtls;
mod grouping;
mod ice_udp;
pub(crate) mod reason;
mod rtp;
mod ssma;

pub use action::{Action, Creator, Senders};
pub use dtls::{Fingerprint, Setup, NS as NS_DTLS};
pub use grouping::{Group, NS as NS_GROUPING};
pub use ice_udp::{Candidate, CandidateType, IceUdpTransport, Protocol, TcpType, NS as NS_ICE_UDP};
pub use reason::{JingleCondition, Reason, ReasonCondition};
pub use rtp::{Media, Parameter, PayloadType, RtcpFb, RtpDescription, RtpHdrext, NS_HDREXT};
pub use rtp::{NS as NS_RTP, NS_RTCP_FB};
pub use ssma::{Source, SsrcGroup, VideoType, NS as NS_SSMA};

use crate::error::{excerpt, ParseError};
use crate::xml::{is_element_name, push_within, required, Elem, Limits, Reader, Writer};

/// `urn:xmpp:jingle:1` (XEP-0166).
pub const NS_JINGLE: &str = "urn:xmpp:jingle:1";
/// `urn:xmpp:jingle:errors:1` (XEP-0166 error conditions).
pub const NS_JINGLE_ERRORS: &str = "urn:xmpp:jingle:errors:1";

/// The namespaces of this module's elements.
pub(crate) const NAMESPACES: [&str; 9] = [
    NS_JINGLE,
    NS_JINGLE_ERRORS,
    grouping::NS,
    rtp::NS,
    rtp::NS_RTCP_FB,
    rtp::NS_HDREXT,
    ssma::NS,
    ice_udp::NS,
    dtls::NS,
];

/// `<content>`: one media section, named by its SDP mid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Content {
    /// `name`: the SDP mid.
    pub name: String,
    /// `creator`; lib-jitsi-meet's own `content-modify` omits it.
    pub creator: Option<Creator>,
    /// `senders`; absent in transport-info.
    pub senders: Option<Senders>,
    /// The RTP application (XEP-0167), if present.
    pub description: Option<RtpDescription>,
    /// The ICE-UDP transport (XEP-0176), if present.
    pub transport: Option<IceUdpTransport>,
}

/// A child of `<jingle>` the model does not otherwise hold, e.g. the payload
/// of a session-info (`<ringing xmlns='urn:xmpp:jingle:apps:rtp:1:info'/>`):
/// its name and namespace only, attributes and children are not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// The element's local name.
    pub name: String,
    /// The element's namespace URI; empty if it had none, or if it could not be
    /// kept as it was written (64 bytes or longer, or with a character the
    /// writer would escape).
    pub ns: String,
}

/// The `<jingle>` element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jingle {
    /// `action`.
    pub action: Action,
    /// `sid`; lib-jitsi-meet sends none.
    pub sid: Option<String>,
    /// `initiator`; lib-jitsi-meet puts it on session-accept and transport-info only.
    pub initiator: Option<String>,
    /// `responder`.
    pub responder: Option<String>,
    /// `<group semantics='BUNDLE'>` (XEP-0338).
    pub groups: Vec<Group>,
    /// The contents, in document order.
    pub contents: Vec<Content>,
    /// `<reason>` of a session-terminate.
    pub reason: Option<Reason>,
    /// `<details>` text of connection-error-encountered (Jitsi proxy).
    pub details: Option<String>,
    /// The first other child element, if any (see [`Payload`]); written last.
    pub payload: Option<Payload>,
}

impl Jingle {
    /// An empty `<jingle>` with this action.
    pub fn new(action: Action) -> Jingle {
        Jingle {
            action,
            sid: None,
            initiator: None,
            responder: None,
            groups: Vec::new(),
            contents: Vec::new(),
            reason: None,
            details: None,
            payload: None,
        }
    }

    /// `<jingle>`.
    pub(crate) fn parse(
        rd: &mut Reader<'_>,
        e: Elem<'_>,
        limits: &Limits,
    ) -> Result<Jingle, ParseError> {
        let mut action = None;
        let mut j = Jingle::new(Action::SessionInitiate);
        e.attrs(|k, v| {
            match k {
                "action" => action = Some(Action::from_wire(&v)),
                "sid" => j.sid = Some(v.into_owned()),
                "initiator" => j.initiator = Some(v.into_owned()),
                "responder" => j.responder = Some(v.into_owned()),
                _ => {}
            }
            Ok(())
        })?;
        j.action = required(action, "jingle", "action")?;
        while let Some(c) = rd.child(&e)? {
            match c.local() {
                "group" => {
                    c.expect_ns(grouping::NS)?;
                    let group = Group::parse(rd, c, limits)?;
                    push_within(&mut j.groups, group, limits.max_children, "groups")?;
                }
                "content" => {
                    c.expect_ns(NS_JINGLE)?;
                    let content = Content::parse(rd, c, limits)?;
                    push_within(&mut j.contents, content, limits.max_contents, "contents")?;
                }
                "reason" if j.reason.is_none() => {
                    c.expect_ns(NS_JINGLE)?;
                    j.reason = Some(Reason::parse(rd, c)?);
                }
                "details" if j.details.is_none() => {
                    c.expect_ns(NS_JINGLE)?;
                    j.details = Some(rd.text(c)?);
                }
                "reason" | "details" => rd.skip(c)?,
                name if j.payload.is_none() && is_element_name(name) => {
                    j.payload = Some(Payload::of(&c));
                    rd.skip(c)?;
                }
                _ => rd.skip(c)?,
            }
        }
        let mut names = HashSet::new();
        match j.contents.iter().find(|c| !names.insert(c.name.as_str())) {
            Some(c) => Err(ParseError::DuplicateContent(excerpt(&c.name))),
            None => Ok(j),
        }
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.open("jingle")
            .attr("action", self.action.as_str())
            .opt("initiator", self.initiator.as_deref())
            .opt("responder", self.responder.as_deref())
            .opt("sid", self.sid.as_deref())
            .attr("xmlns", NS_JINGLE);
        if self.groups.is_empty()
            && self.contents.is_empty()
            && self.reason.is_none()
            && self.details.is_none()
            && self.payload.is_none()
        {
            return w.empty();
        }
        w.0.push('>');
        self.groups.iter().for_each(|g| g.write(w));
        self.contents.iter().for_each(|c| c.write(w));
        if let Some(reason) = &self.reason {
            reason.write(w);
        }
        if let Some(details) = &self.details {
            w.open("details").text("details", details);
        }
        if let Some(p) = &self.payload {
            let held = matches!(p.name.as_str(), "group" | "content" | "reason" | "details");
            if is_element_name(&p.name) && !held {
                w.open(&p.name).attr("xmlns", &p.ns).empty();
            }
        }
        w.close("jingle");
    }
}

impl Content {
    /// `<content>`.
    fn parse(rd: &mut Reader<'_>, e: Elem<'_>, limits: &Limits) -> Result<Content, ParseError> {
        let mut name = None;
        let mut content = Content::default();
        e.attrs(|k, v| {
            match k {
                "name" => name = Some(v.into_owned()),
                "creator" => {
                    let creator = Creator::from_wire(&v);
                    content.creator =
                        Some(creator.ok_or_else(|| ParseError::invalid("content", "creator", &v))?);
                }
                "senders" => content.senders = Some(Senders::read("content", &v)?),
                _ => {}
            }
            Ok(())
        })?;
        content.name = required(name, "content", "name")?;
        while let Some(c) = rd.child(&e)? {
            match c.local() {
                "description" if content.description.is_none() => {
                    c.expect_ns(rtp::NS)?;
                    content.description = Some(RtpDescription::parse(rd, c, limits)?);
                }
                "transport" if content.transport.is_none() => {
                    c.expect_ns(ice_udp::NS)?;
                    content.transport = Some(IceUdpTransport::parse(rd, c, limits)?);
                }
                _ => rd.skip(c)?,
            }
        }
        Ok(content)
    }

    fn write(&self, w: &mut Writer<'_>) {
        w.open("content")
            .opt("creator", self.creator.map(Creator::as_str))
            .attr("name", &self.name)
            .opt("senders", self.senders.map(Senders::as_str))
            .children("content", |w| {
                if let Some(d) = &self.description {
                    d.write(w);
                }
                if let Some(t) = &self.transport {
                    t.write(w);
                }
            });
    }
}

impl Payload {
    /// The payload for `e`, whose local name can be written back. Its
    /// namespace is kept only where writing it gives the same value back: not
    /// 64 bytes or longer, nothing the writer escapes, and not the `xml` or
    /// `xmlns` namespace, which cannot be declared as a default.
    fn of(e: &Elem<'_>) -> Payload {
        let ns = &*e.ns;
        let reserved = [
            "http://www.w3.org/XML/1998/namespace",
            "http://www.w3.org/2000/xmlns/",
        ];
        let plain = ns.len() < 64
            && !reserved.contains(&ns)
            && !ns.chars().any(|c| {
                matches!(c, '&' | '<' | '>' | '"' | '\'') || c.is_whitespace() || c.is_control()
            });
        Payload {
            name: e.local().to_owned(),
            ns: if plain { ns.to_owned() } else { String::new() },
        }
    }
}
