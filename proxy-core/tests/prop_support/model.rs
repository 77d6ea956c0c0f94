//! proptest strategies for the Jingle wire model, shared by the property tests
//! (`tests/jingle_vectors.rs`, `tests/properties.rs`, `tests/convert.rs`), which
//! include this file by path (`#[path = "prop_support/model.rs"] mod model;`).
//! It is not a submodule of `prop_support/mod.rs` because the fuzz crate
//! includes that file and has no proptest.
//!
//! Two families:
//!
//! - any model the writer can express (the top level, ending in [`iq`]), with
//!   the text alphabet as a parameter ([`Text`]);
//! - Jingle that SDP can carry ([`sdp`]): lib-jitsi-meet-like sessions compared
//!   by what SDP keeps ([`sdp::session`]), and sessions SDP carries to the
//!   letter ([`sdp::exact_session`]).
#![allow(dead_code)]

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use proxy_core::jingle::{
    Action, Candidate, CandidateType, Content, Creator, Fingerprint, Group, IceUdpTransport,
    Jingle, Parameter, PayloadType, Reason, RtcpFb, RtpDescription, RtpHdrext, Senders, Setup,
    Source, SsrcGroup,
};
use proxy_core::{Iq, IqType, StanzaError};

// ---- text --------------------------------------------------------------------

/// The alphabet of generated text (attribute values and element text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// Weighted toward trouble: the characters that need escaping
    /// (`& < > " '`), white space that attribute-value normalization would
    /// change, non-ASCII with a BOM, and a literal that looks like markup.
    Markup,
    /// Uniform over printable ASCII, tab, CR, LF and a few non-ASCII
    /// characters (`é`, `中`, an emoji).
    Printable,
}

impl Text {
    /// Any text of this alphabet, possibly empty.
    pub fn any(self) -> BoxedStrategy<String> {
        match self {
            Text::Markup => prop_oneof![
                4 => "[a-zA-Z0-9 ._:/-]{0,12}",
                2 => "[a-z&<>\"' =;#]{0,10}",
                1 => "[a-z\t\r\n ]{0,6}",
                1 => "[\u{e9}\u{4e2d}\u{1F600}a\u{FEFF}]{1,4}",
                1 => Just("&amp;<![CDATA[x]]>&#10;".to_owned()),
            ]
            .boxed(),
            Text::Printable => "[ -~\t\n\r\u{e9}\u{4e2d}\u{1f600}]{0,12}".boxed(),
        }
    }

    /// A value the parser trims (fingerprint text): no white space at the ends.
    pub fn trimmed(self) -> BoxedStrategy<String> {
        self.any()
            .prop_map(|s| s.trim_matches([' ', '\t', '\r', '\n']).to_owned())
            .boxed()
    }
}

/// An XML element name (reason and error conditions are elements).
pub fn element_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,15}"
}

// ---- enums -------------------------------------------------------------------

/// Every [`Senders`], `rejected` included.
pub fn senders() -> impl Strategy<Value = Senders> {
    prop_oneof![
        Just(Senders::Both),
        Just(Senders::Initiator),
        Just(Senders::Responder),
        Just(Senders::None),
        Just(Senders::Rejected),
    ]
}

/// Every [`Setup`].
pub fn setup() -> impl Strategy<Value = Setup> {
    prop_oneof![
        Just(Setup::Active),
        Just(Setup::Passive),
        Just(Setup::Actpass),
        Just(Setup::Holdconn),
    ]
}

/// Every [`Creator`].
pub fn creator() -> impl Strategy<Value = Creator> {
    prop_oneof![Just(Creator::Initiator), Just(Creator::Responder)]
}

/// Every [`Action`].
pub fn action() -> impl Strategy<Value = Action> {
    proptest::sample::select(Action::ALL.to_vec())
}

/// Every [`CandidateType`].
pub fn candidate_type() -> impl Strategy<Value = CandidateType> {
    prop_oneof![
        Just(CandidateType::Host),
        Just(CandidateType::Srflx),
        Just(CandidateType::Prflx),
        Just(CandidateType::Relay),
    ]
}

/// Every [`IqType`].
pub fn iq_type() -> impl Strategy<Value = IqType> {
    prop_oneof![
        Just(IqType::Get),
        Just(IqType::Set),
        Just(IqType::Result),
        Just(IqType::Error),
    ]
}

// ---- any model the writer can express ------------------------------------------

/// A `<parameter>` with any name and value.
pub fn parameter(t: Text) -> impl Strategy<Value = Parameter> {
    (t.any(), t.any()).prop_map(|(name, value)| Parameter::new(name, value))
}

/// An `<rtcp-fb>` with any type and subtype.
pub fn rtcp_fb(t: Text) -> impl Strategy<Value = RtcpFb> {
    (t.any(), option::of(t.any())).prop_map(|(kind, subtype)| RtcpFb { kind, subtype })
}

/// A `<payload-type>` with every attribute optional and any children.
pub fn payload_type(t: Text) -> impl Strategy<Value = PayloadType> {
    (
        (
            0u8..=127,
            t.any(),
            option::of(any::<u32>()),
            option::of(any::<u16>()),
        ),
        (option::of(any::<u32>()), option::of(any::<u32>())),
        (
            vec(parameter(t), 0..4),
            vec(rtcp_fb(t), 0..4),
            option::of(any::<u32>()),
        ),
    )
        .prop_map(
            |((id, name, clockrate, channels), (ptime, maxptime), (parameters, rtcp_fbs, trr))| {
                PayloadType {
                    id,
                    name,
                    clockrate,
                    channels,
                    ptime,
                    maxptime,
                    parameters,
                    rtcp_fbs,
                    rtcp_fb_trr_int: trr,
                }
            },
        )
}

/// A `<source>` (ssma).
pub fn source(t: Text) -> impl Strategy<Value = Source> {
    (
        any::<u32>(),
        option::of(t.any()),
        option::of(t.any()),
        vec(parameter(t), 0..3),
    )
        .prop_map(|(ssrc, name, video_type, parameters)| Source {
            ssrc,
            name,
            video_type: video_type.map(Into::into),
            parameters,
        })
}

/// An `<ssrc-group>`.
pub fn ssrc_group(t: Text) -> impl Strategy<Value = SsrcGroup> {
    (t.any(), vec(any::<u32>(), 0..4)).prop_map(|(semantics, ssrcs)| SsrcGroup { semantics, ssrcs })
}

/// An `<rtp-hdrext>`.
pub fn hdrext(t: Text) -> impl Strategy<Value = RtpHdrext> {
    (1u16..=255, t.any(), option::of(senders())).prop_map(|(id, uri, senders)| RtpHdrext {
        id,
        uri,
        senders,
    })
}

/// An RTP `<description>` with any media (mostly audio or video) and children.
pub fn description(t: Text) -> impl Strategy<Value = RtpDescription> {
    (
        (
            prop_oneof![Just("audio".to_owned()), Just("video".to_owned()), t.any()],
            option::of(any::<u32>()),
            vec(payload_type(t), 0..4),
            vec(rtcp_fb(t), 0..3),
        ),
        (
            vec(source(t), 0..3),
            vec(ssrc_group(t), 0..2),
            any::<bool>(),
            vec(hdrext(t), 0..3),
            any::<bool>(),
        ),
    )
        .prop_map(
            |(
                (media, ssrc, payload_types, rtcp_fbs),
                (sources, ssrc_groups, rtcp_mux, hdrexts, extmap_allow_mixed),
            )| RtpDescription {
                media: media.into(),
                ssrc,
                payload_types,
                rtcp_fbs,
                sources,
                ssrc_groups,
                rtcp_mux,
                hdrexts,
                extmap_allow_mixed,
            },
        )
}

/// A `<candidate>` with any values (the protocol lower-case, as the parser
/// makes it).
pub fn candidate(t: Text) -> impl Strategy<Value = Candidate> {
    (
        (
            t.any(),
            any::<u8>(),
            // The parser lower-cases the protocol.
            prop_oneof![Just("udp".to_owned()), Just("tcp".to_owned()), t.any()]
                .prop_map(|p| p.to_ascii_lowercase()),
            any::<u32>(),
            t.any(),
            any::<u16>(),
            candidate_type(),
        ),
        (
            option::of(any::<u32>()),
            option::of(any::<u32>()),
            option::of(t.any()),
            option::of(t.any()),
            option::of(any::<u16>()),
            option::of(t.any()),
        ),
    )
        .prop_map(
            |(
                (foundation, component, protocol, priority, ip, port, kind),
                (generation, network, id, rel_addr, rel_port, tcptype),
            )| Candidate {
                foundation,
                component,
                protocol: protocol.into(),
                priority,
                ip,
                port,
                kind,
                generation,
                network,
                id,
                rel_addr,
                rel_port,
                tcptype: tcptype.map(Into::into),
            },
        )
}

/// A `<fingerprint>` (its text trimmed, as the parser makes it).
pub fn fingerprint(t: Text) -> impl Strategy<Value = Fingerprint> {
    (
        t.any(),
        option::of(setup()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        t.trimmed(),
    )
        .prop_map(|(hash, setup, required, cryptex, value)| Fingerprint {
            hash,
            setup,
            required,
            cryptex,
            value,
        })
}

/// An ICE-UDP `<transport>`.
pub fn transport(t: Text) -> impl Strategy<Value = IceUdpTransport> {
    (
        option::of(t.any()),
        option::of(t.any()),
        option::of(fingerprint(t)),
        vec(candidate(t), 0..4),
    )
        .prop_map(|(ufrag, pwd, fingerprint, candidates)| IceUdpTransport {
            ufrag,
            pwd,
            fingerprint,
            candidates,
        })
}

/// A `<content>` with any name (see [`jingle`] for uniqueness).
pub fn content(t: Text) -> impl Strategy<Value = Content> {
    (
        t.any(),
        option::of(creator()),
        option::of(senders()),
        option::of(description(t)),
        option::of(transport(t)),
    )
        .prop_map(|(name, creator, senders, description, transport)| Content {
            name,
            creator,
            senders,
            description,
            transport,
        })
}

/// A `<jingle>` of any action, with groups, contents, reason and details.
pub fn jingle(t: Text) -> impl Strategy<Value = Jingle> {
    (
        (
            action(),
            option::of(t.any()),
            option::of(t.any()),
            option::of(t.any()),
        ),
        (
            vec((t.any(), vec(t.any(), 0..3)), 0..2),
            vec(content(t), 0..4),
            option::of((element_name(), option::of(t.any()))),
            option::of(t.any()),
        ),
    )
        .prop_map(
            |((action, sid, initiator, responder), (groups, contents, reason, details))| {
                let mut j = Jingle::new(action);
                j.sid = sid;
                j.initiator = initiator;
                j.responder = responder;
                j.groups = groups
                    .into_iter()
                    .map(|(semantics, contents)| Group {
                        semantics,
                        contents: contents.into_iter().collect(),
                    })
                    .collect();
                // Content names are unique in a <jingle>: what follows the last
                // `~` is the index, which has no `~`.
                j.contents = contents
                    .into_iter()
                    .enumerate()
                    .map(|(i, mut c)| {
                        c.name = format!("{}~{i}", c.name);
                        c
                    })
                    .collect();
                j.reason = reason.map(|(condition, text)| Reason {
                    condition: condition.into(),
                    text,
                });
                j.details = details;
                j
            },
        )
}

/// A stanza `<error>`.
pub fn stanza_error(t: Text) -> impl Strategy<Value = StanzaError> {
    (
        t.any(),
        element_name(),
        option::of(element_name()),
        option::of(t.any()),
    )
        .prop_map(|(kind, condition, jingle_condition, text)| StanzaError {
            kind: kind.into(),
            condition: condition.into(),
            jingle_condition: jingle_condition.map(Into::into),
            text,
        })
}

/// An `<iq>` of any type, with or without a `<jingle>` and an `<error>`.
pub fn iq(t: Text) -> impl Strategy<Value = Iq> {
    (
        iq_type(),
        option::of(t.any()),
        option::of(t.any()),
        option::of(t.any()),
        option::of(jingle(t)),
        option::of(stanza_error(t)),
    )
        .prop_map(|(kind, id, to, from, jingle, error)| Iq {
            kind,
            id,
            to,
            from,
            jingle,
            error,
        })
}

// ---- Jingle that SDP can carry ------------------------------------------------------

/// Strategies for the part of the dialect SDP carries: session-initiate and
/// session-accept with RTP descriptions and full ICE-UDP transports.
pub mod sdp {
    use super::*;

    /// A token as SDP carries it (ICE ufrag and pwd): no white space, no
    /// control characters.
    pub fn token() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9+/_.-]{1,12}"
    }

    /// A direction SDP can say (`a=sendrecv` …): every [`Senders`] but `rejected`.
    pub fn media_senders() -> impl Strategy<Value = Senders> {
        prop_oneof![
            Just(Senders::Both),
            Just(Senders::Initiator),
            Just(Senders::Responder),
            Just(Senders::None),
        ]
    }

    /// A sha-256 fingerprint value: 32 bytes, upper-case hex, `:`-separated.
    pub fn fingerprint_value() -> impl Strategy<Value = String> {
        vec(any::<u8>(), 32).prop_map(|bytes| {
            bytes
                .iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        })
    }

    /// One `<source>` per ssrc, with a `cname` parameter when given and an
    /// `msid` one.
    pub fn msid_sources(ssrcs: &[u32], msid: &str, cname: Option<&str>) -> Vec<Source> {
        ssrcs
            .iter()
            .map(|&ssrc| {
                let mut parameters = Vec::new();
                if let Some(c) = cname {
                    parameters.push(Parameter::new("cname", c.to_owned()));
                }
                parameters.push(Parameter::new("msid", msid.to_owned()));
                Source {
                    ssrc,
                    name: None,
                    video_type: None,
                    parameters,
                }
            })
            .collect()
    }

    /// An `FID` group of the first two ssrcs, when `fid` and there are two.
    pub fn fid_groups(ssrcs: &[u32], fid: bool) -> Vec<SsrcGroup> {
        match ssrcs {
            [a, b, ..] if fid => vec![SsrcGroup {
                semantics: "FID".into(),
                ssrcs: vec![*a, *b],
            }],
            _ => Vec::new(),
        }
    }

    /// An ICE-UDP transport with credentials and a sha-256 fingerprint.
    pub fn transport(
        ufrag: String,
        pwd: String,
        value: String,
        setup: Setup,
        candidates: Vec<Candidate>,
    ) -> IceUdpTransport {
        IceUdpTransport {
            ufrag: Some(ufrag),
            pwd: Some(pwd),
            fingerprint: Some(Fingerprint {
                hash: "sha-256".into(),
                setup: Some(setup),
                required: None,
                cryptex: None,
                value,
            }),
            candidates,
        }
    }

    /// A session-initiate (`initiator`) or session-accept whose contents all
    /// get `creator`, their names bundled when `bundle`.
    fn session_of(initiator: bool, mut contents: Vec<Content>, bundle: bool) -> Jingle {
        let (action, creator) = if initiator {
            (Action::SessionInitiate, Creator::Initiator)
        } else {
            (Action::SessionAccept, Creator::Responder)
        };
        for c in &mut contents {
            c.creator = Some(creator);
        }
        let mut j = Jingle::new(action);
        if bundle {
            j.groups.push(Group {
                semantics: "BUNDLE".into(),
                contents: contents.iter().map(|c| c.name.clone()).collect(),
            });
        }
        j.contents = contents;
        j
    }

    // -- lib-jitsi-meet-like sessions, compared by what SDP keeps --

    /// A payload type lib-jitsi-meet and SDP can both carry: a real codec
    /// name, fmtp parameters with unique names, rtcp-fb from a fixed list.
    pub fn codec(id: u8, video: bool) -> impl Strategy<Value = PayloadType> {
        let names = if video {
            vec!["VP8", "VP9", "H264", "AV1", "rtx", "red", "ulpfec"]
        } else {
            vec!["opus", "red", "telephone-event", "PCMU", "G722"]
        };
        (
            proptest::sample::select(names),
            vec(("[a-z][a-z-]{0,10}", "[a-zA-Z0-9=.]{1,8}"), 0..3),
            vec(
                (
                    proptest::sample::select(vec!["nack", "ccm", "goog-remb", "transport-cc"]),
                    option::of(proptest::sample::select(vec!["pli", "fir"])),
                ),
                0..3,
            ),
        )
            .prop_map(move |(name, params, fbs)| {
                let audio_opus = !video && name == "opus";
                let mut seen = std::collections::HashSet::new();
                PayloadType {
                    id,
                    name: name.to_owned(),
                    clockrate: Some(if video { 90_000 } else { 48_000 }),
                    channels: audio_opus.then_some(2),
                    ptime: None,
                    maxptime: None,
                    parameters: params
                        .into_iter()
                        .filter(|(n, _)| seen.insert(n.clone()))
                        .map(|(n, v)| Parameter::new(n, v))
                        .collect(),
                    rtcp_fbs: fbs
                        .into_iter()
                        .map(|(k, s)| RtcpFb {
                            kind: k.to_owned(),
                            subtype: s.map(str::to_owned),
                        })
                        .collect(),
                    rtcp_fb_trr_int: None,
                }
            })
    }

    /// One m-line's worth: a content named `index` with a description of
    /// [`codec`]s and a full transport without candidates (no creator yet).
    fn session_content(index: usize) -> impl Strategy<Value = Content> {
        (
            any::<bool>(),
            1usize..4,
            vec(any::<u32>().prop_map(|s| s.max(1)), 0..3),
            (token(), token()),
            any::<bool>(),
            vec(1u16..=14, 0..3),
            (
                token(),
                "[a-zA-Z0-9+/]{22,24}",
                fingerprint_value(),
                setup(),
            ),
            media_senders(),
        )
            .prop_flat_map(
                move |(video, n_pt, ssrcs, (stream, track), fid, ext_ids, ice, senders)| {
                    let pts: Vec<_> = (0..n_pt).map(|i| codec(96 + i as u8, video)).collect();
                    (
                        pts,
                        Just((video, ssrcs, stream, track, fid, ext_ids, ice, senders)),
                    )
                },
            )
            .prop_map(
                move |(pts, (video, ssrcs, stream, track, fid, ext_ids, ice, senders))| {
                    let mut ssrcs = ssrcs;
                    ssrcs.sort_unstable();
                    ssrcs.dedup();
                    let mut ext_ids = ext_ids;
                    ext_ids.sort_unstable();
                    ext_ids.dedup();
                    let hdrexts = ext_ids
                        .into_iter()
                        .map(|id| RtpHdrext {
                            id,
                            uri: format!("urn:ietf:params:rtp-hdrext:x{id}"),
                            senders: None,
                        })
                        .collect();
                    let (ufrag, pwd, value, setup) = ice;
                    Content {
                        name: index.to_string(),
                        creator: None,
                        senders: Some(senders),
                        description: Some(RtpDescription {
                            media: if video { "video" } else { "audio" }.into(),
                            ssrc: None,
                            payload_types: pts,
                            rtcp_fbs: Vec::new(),
                            sources: msid_sources(&ssrcs, &format!("{stream} {track}"), None),
                            ssrc_groups: fid_groups(&ssrcs, fid),
                            rtcp_mux: true,
                            hdrexts,
                            extmap_allow_mixed: false,
                        }),
                        transport: Some(transport(ufrag, pwd, value, setup, Vec::new())),
                    }
                },
            )
    }

    /// A lib-jitsi-meet-like session-initiate (or session-accept) with 1–3
    /// contents, BUNDLEd, all with the same transport (BUNDLE shares it).
    /// SDP keeps what it says, not every spelling of it.
    pub fn session() -> impl Strategy<Value = Jingle> {
        (any::<bool>(), 1usize..4)
            .prop_flat_map(|(accept, n)| {
                let contents: Vec<_> = (0..n).map(session_content).collect();
                (Just(accept), contents)
            })
            .prop_map(|(accept, mut contents)| {
                if let Some(shared) = contents.first().and_then(|c| c.transport.clone()) {
                    for c in &mut contents {
                        c.transport = Some(shared.clone());
                    }
                }
                session_of(!accept, contents, true)
            })
    }

    // -- sessions SDP carries to the letter --

    /// An fmtp parameter as SDP writes it back: `name=value`, or a bare value
    /// (`red`'s `111/111`) with an empty name.
    pub fn exact_parameter() -> impl Strategy<Value = Parameter> {
        prop_oneof![
            ("[a-z][a-z0-9-]{0,10}", "[A-Za-z0-9/,.-]{0,10}")
                .prop_map(|(n, v)| Parameter::new(n, v)),
            "[0-9]{1,3}/[0-9]{1,3}".prop_map(|v| Parameter::new("", v)),
        ]
    }

    /// An rtcp-fb as `a=rtcp-fb` writes it back (not `trr-int`).
    pub fn exact_rtcp_fb() -> impl Strategy<Value = RtcpFb> {
        (
            "[a-z][a-z-]{0,10}",
            option::of("[a-z]{1,6}( [a-z0-9=]{1,6})?"),
        )
            .prop_filter("trr-int has its own element", |(k, _)| k != "trr-int")
            .prop_map(|(kind, subtype)| RtcpFb { kind, subtype })
    }

    /// A payload type with any name, clock rate and channels (id 0: the
    /// caller numbers them).
    pub fn exact_payload_type() -> impl Strategy<Value = PayloadType> {
        (
            "[A-Za-z][A-Za-z0-9-]{0,8}",
            1u32..200_000,
            1u16..=8,
            vec(exact_parameter(), 0..4),
            vec(exact_rtcp_fb(), 0..4),
            option::of(0u32..10_000),
        )
            .prop_map(|(name, clockrate, channels, parameters, rtcp_fbs, trr)| {
                PayloadType {
                    id: 0,
                    name,
                    clockrate: Some(clockrate),
                    channels: Some(channels),
                    ptime: None,
                    maxptime: None,
                    parameters,
                    rtcp_fbs,
                    rtcp_fb_trr_int: trr,
                }
            })
    }

    /// An `a=extmap` with any URN and direction.
    pub fn exact_hdrext() -> impl Strategy<Value = RtpHdrext> {
        (
            1u16..=255,
            "urn:[a-z0-9:-]{1,20}",
            option::of(media_senders()),
        )
            .prop_map(|(id, uri, senders)| RtpHdrext { id, uri, senders })
    }

    /// A UDP IPv4 host candidate of component 1, generation 0.
    pub fn host_candidate() -> impl Strategy<Value = Candidate> {
        (
            "[a-zA-Z0-9]{1,12}",
            any::<u32>(),
            any::<[u8; 4]>(),
            1u16..,
            option::of(0u32..10),
        )
            .prop_map(|(foundation, priority, ip, port, network)| Candidate {
                foundation,
                component: 1,
                protocol: "udp".into(),
                priority,
                ip: std::net::Ipv4Addr::from(ip).to_string(),
                port,
                kind: CandidateType::Host,
                generation: Some(0),
                network,
                id: None,
                rel_addr: None,
                rel_port: None,
                tcptype: None,
            })
    }

    /// A content SDP carries to the letter (its name empty and no creator:
    /// [`exact_session`] sets them): audio or video, any payload types
    /// (numbered from 96), rtcp-fb, extmaps (unique ids), sources with msid
    /// and maybe cname, maybe an FID group, its own transport and candidates.
    fn exact_content() -> impl Strategy<Value = Content> {
        (
            (
                prop_oneof![Just("audio"), Just("video")],
                senders(),
                vec(exact_payload_type(), 1..6),
                vec(exact_rtcp_fb(), 0..3),
                vec(exact_hdrext(), 0..4),
                any::<bool>(),
                any::<bool>(),
            ),
            (
                proptest::collection::btree_set(any::<u32>(), 0..4),
                "[a-z0-9-]{1,12} [a-z0-9-]{1,12}",
                option::of("[a-z0-9]{1,8}"),
                any::<bool>(),
            ),
            (
                token(),
                token(),
                fingerprint_value(),
                prop_oneof![
                    Just(Setup::Actpass),
                    Just(Setup::Active),
                    Just(Setup::Passive)
                ],
                vec(host_candidate(), 0..3),
            ),
        )
            .prop_map(|(d, s, t)| {
                let (media, senders, mut pts, rtcp_fbs, mut hdrexts, rtcp_mux, mixed) = d;
                for (i, p) in pts.iter_mut().enumerate() {
                    p.id = 96 + i as u8;
                }
                hdrexts.sort_by_key(|h| h.id);
                hdrexts.dedup_by_key(|h| h.id);
                let (ssrcs, msid, cname, group) = s;
                let ssrcs: Vec<u32> = ssrcs.into_iter().collect();
                let (ufrag, pwd, value, setup, candidates) = t;
                Content {
                    name: String::new(),
                    creator: None,
                    senders: Some(senders),
                    description: Some(RtpDescription {
                        media: media.into(),
                        ssrc: None,
                        payload_types: pts,
                        rtcp_fbs,
                        sources: msid_sources(&ssrcs, &msid, cname.as_deref()),
                        ssrc_groups: fid_groups(&ssrcs, group),
                        rtcp_mux,
                        hdrexts,
                        extmap_allow_mixed: mixed,
                    }),
                    transport: Some(transport(ufrag, pwd, value, setup, candidates)),
                }
            })
    }

    /// A session-initiate or session-accept of 1–3 [`exact_content`]s named
    /// `m0`, `m1` …, maybe BUNDLEd, with the creator of its writer: what
    /// Jingle -> SDP -> Jingle must give back unchanged.
    pub fn exact_session() -> impl Strategy<Value = (Jingle, Creator)> {
        (vec(exact_content(), 1..4), any::<bool>(), any::<bool>()).prop_map(
            |(mut contents, initiator, bundle)| {
                for (i, c) in contents.iter_mut().enumerate() {
                    c.name = format!("m{i}");
                }
                let j = session_of(initiator, contents, bundle);
                let creator = if initiator {
                    Creator::Initiator
                } else {
                    Creator::Responder
                };
                (j, creator)
            },
        )
    }
}
