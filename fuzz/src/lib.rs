//! Support for the fuzz targets: the lib-jitsi-meet vectors embedded at build
//! time, the `service` target's operation list (an [`Arbitrary`] with a
//! byte format simple enough to write seeds by hand, see [`encode_ops`]), and
//! the harness shared with the property tests; [`net`] and [`xmpp`] hold the
//! `net_router` and `xmpp_client` targets' inputs and drivers.
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Result, Unstructured};

pub mod net;
pub mod xmpp;

/// The operations and invariants, shared with `proxy-core/tests/properties.rs`.
#[path = "../../proxy-core/tests/prop_support/mod.rs"]
pub mod harness;

use harness::{EngineOp, IdChoice, Mutation, Op, SidChoice, Vectors};

macro_rules! vector {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../proxy-core/tests/vectors/", $name)),
        )
    };
}

/// The lib-jitsi-meet vectors, `(file name, content)`, in [`harness::VECTOR_FILES`] order.
pub const VECTORS: [(&str, &str); 9] = [
    vector!("01-session-initiate.sender-to-receiver.xml"),
    vector!("02-session-accept.receiver-to-sender.xml"),
    vector!("03-content-modify.sender-to-receiver.xml"),
    vector!("04-transport-info.sender-to-receiver.xml"),
    vector!("05-transport-info.receiver-to-sender.xml"),
    vector!("06-connection-error-encountered.ice-failed.receiver-to-sender.xml"),
    vector!("09-rejection.receiver-to-intruder.xml"),
    vector!("11-session-initiate.audio+video.sender-to-receiver.xml"),
    vector!("12-session-accept.audio+video.receiver-to-sender.xml"),
];

/// The two whole sessions lib-jitsi-meet produced, one JSON object a line.
pub const SESSIONS: [&str; 2] = [
    include_str!("../../proxy-core/tests/vectors/happy.jsonl"),
    include_str!("../../proxy-core/tests/vectors/audio-video.jsonl"),
];

/// The message templates and SDPs, built once.
pub fn vectors() -> &'static Vectors {
    static V: OnceLock<Vectors> = OnceLock::new();
    V.get_or_init(|| Vectors::new(&VECTORS))
}

/// The `iq` fields of a JSON-lines session capture (a minimal reader of JSON
/// strings: enough for the capture's escapes).
pub fn jsonl_iqs(jsonl: &str) -> Vec<String> {
    jsonl
        .lines()
        .filter_map(|line| {
            let start = line.find("\"iq\":\"")?;
            Some(json_string_rest(&mut line[start + 6..].chars()))
        })
        .collect()
}

/// The rest of a JSON string whose opening quote was read: up to the closing
/// quote (consumed) or the end, escapes undone (enough for captures: `\n`,
/// `\t`, `\r`, `\uXXXX`, and `\x` as `x` for any other `x`).
pub fn json_string_rest(chars: &mut std::str::Chars<'_>) -> String {
    let mut s = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => s.push('\n'),
                Some('t') => s.push('\t'),
                Some('r') => s.push('\r'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    if let Some(c) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        s.push(c);
                    }
                }
                Some(other) => s.push(other),
                None => break,
            },
            c => s.push(c),
        }
    }
    s
}

/// Most operations in one input.
pub const MAX_OPS: usize = 64;

/// The `service` target's input: operations replayed in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ops(pub Vec<Op>);

fn byte(u: &mut Unstructured<'_>) -> Result<u8> {
    u8::arbitrary(u)
}

fn word(u: &mut Unstructured<'_>) -> Result<u16> {
    Ok(u16::from_le_bytes([byte(u)?, byte(u)?]))
}

fn mutations(u: &mut Unstructured<'_>) -> Result<Vec<Mutation>> {
    let n = byte(u)? % 4;
    let mut out = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        out.push(match byte(u)? % 6 {
            0 => Mutation::SetByte {
                pos: word(u)?,
                byte: byte(u)?,
            },
            1 => Mutation::Truncate { len: word(u)? },
            2 => Mutation::Delete {
                pos: word(u)?,
                len: byte(u)?,
            },
            3 => Mutation::Insert {
                pos: word(u)?,
                snippet: byte(u)?,
            },
            4 => Mutation::SwapAttrs {
                a: byte(u)?,
                b: byte(u)?,
            },
            _ => Mutation::ReplaceAttr {
                index: byte(u)?,
                value: byte(u)?,
            },
        });
    }
    Ok(out)
}

fn op(u: &mut Unstructured<'_>) -> Result<Op> {
    Ok(match byte(u)? % 12 {
        0..=3 => {
            let from = byte(u)?;
            let template = byte(u)?;
            let flags = byte(u)?;
            let id = if flags & 1 == 0 {
                IdChoice::None
            } else {
                IdChoice::Some(flags >> 4)
            };
            let sid = match (flags >> 1) & 3 {
                0 => SidChoice::None,
                1 => SidChoice::Current,
                2 => SidChoice::Low,
                _ => SidChoice::Other,
            };
            Op::Message {
                from,
                template,
                id,
                sid,
                mutations: mutations(u)?,
            }
        }
        4 => Op::Start {
            peer: byte(u)?,
            tracks: byte(u)?,
        },
        5 => Op::Stop,
        6 => Op::Advance {
            millis: u32::from(word(u)?),
        },
        _ => Op::Engine(match byte(u)? % 9 {
            0 => EngineOp::LocalOffer {
                which: byte(u)?,
                mutations: mutations(u)?,
            },
            1 => EngineOp::LocalAnswer {
                which: byte(u)?,
                mutations: mutations(u)?,
            },
            2 => {
                let b = byte(u)?;
                EngineOp::LocalCandidates {
                    count: b & 0x7f,
                    garbage: b & 0x80 != 0,
                }
            }
            3 => EngineOp::Connected,
            4 => EngineOp::Disconnected,
            5 => EngineOp::Failed,
            6 => {
                let b = byte(u)?;
                EngineOp::RemoteTrack {
                    mid: b & 0x7f,
                    video: b & 0x80 != 0,
                }
            }
            7 => EngineOp::CommandFailed { kind: byte(u)? },
            _ => EngineOp::PeerClosed,
        }),
    })
}

impl<'a> Arbitrary<'a> for Ops {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Ops> {
        let mut ops = Vec::new();
        while !u.is_empty() && ops.len() < MAX_OPS {
            ops.push(op(u)?);
        }
        Ok(Ops(ops))
    }
}

fn encode_mutations(out: &mut Vec<u8>, ms: &[Mutation]) {
    out.push(ms.len() as u8);
    for m in ms {
        match *m {
            Mutation::SetByte { pos, byte } => {
                out.push(0);
                out.extend(pos.to_le_bytes());
                out.push(byte);
            }
            Mutation::Truncate { len } => {
                out.push(1);
                out.extend(len.to_le_bytes());
            }
            Mutation::Delete { pos, len } => {
                out.push(2);
                out.extend(pos.to_le_bytes());
                out.push(len);
            }
            Mutation::Insert { pos, snippet } => {
                out.push(3);
                out.extend(pos.to_le_bytes());
                out.push(snippet);
            }
            Mutation::SwapAttrs { a, b } => out.extend([4, a, b]),
            Mutation::ReplaceAttr { index, value } => out.extend([5, index, value]),
        }
    }
}

/// The bytes [`Ops`] decodes to `ops` (for seeds). Values must be in the
/// ranges the decoder produces: at most 3 mutations, id below 16, candidate
/// counts and mids below 128, `Advance` below 65536 ms.
pub fn encode_ops(ops: &[Op]) -> Vec<u8> {
    let mut out = Vec::new();
    for op in ops {
        match op {
            Op::Message {
                from,
                template,
                id,
                sid,
                mutations,
            } => {
                let mut flags = match sid {
                    SidChoice::None => 0,
                    SidChoice::Current => 1,
                    SidChoice::Low => 2,
                    SidChoice::Other => 3,
                } << 1;
                if let IdChoice::Some(n) = id {
                    flags |= 1 | (n << 4);
                }
                out.extend([0, *from, *template, flags]);
                encode_mutations(&mut out, mutations);
            }
            Op::Start { peer, tracks } => out.extend([4, *peer, *tracks]),
            Op::Stop => out.push(5),
            Op::Advance { millis } => {
                out.push(6);
                out.extend((*millis as u16).to_le_bytes());
            }
            Op::Engine(e) => {
                out.push(7);
                match e {
                    EngineOp::LocalOffer { which, mutations } => {
                        out.extend([0, *which]);
                        encode_mutations(&mut out, mutations);
                    }
                    EngineOp::LocalAnswer { which, mutations } => {
                        out.extend([1, *which]);
                        encode_mutations(&mut out, mutations);
                    }
                    EngineOp::LocalCandidates { count, garbage } => {
                        out.extend([2, count | if *garbage { 0x80 } else { 0 }])
                    }
                    EngineOp::Connected => out.push(3),
                    EngineOp::Disconnected => out.push(4),
                    EngineOp::Failed => out.push(5),
                    EngineOp::RemoteTrack { mid, video } => {
                        out.extend([6, mid | if *video { 0x80 } else { 0 }])
                    }
                    EngineOp::CommandFailed { kind } => out.extend([7, *kind]),
                    EngineOp::PeerClosed => out.push(8),
                }
            }
        }
    }
    out
}

/// Runs `ops` on a fresh service; panics with the broken invariant.
pub fn run_service(ops: &[Op]) {
    let mut h = harness::Harness::new(vectors(), 1);
    for (i, op) in ops.iter().enumerate() {
        if let Err(e) = h.apply(op) {
            panic!("step {i} ({op:?}) broke an invariant: {e}\nall ops: {ops:#?}");
        }
    }
}

/// Seed scenarios for the `service` target: whole sessions in both roles, an
/// intruder, glare, timeouts.
pub fn service_seeds() -> Vec<(&'static str, Vec<Op>)> {
    let msg = |from: u8, template: u8| Op::Message {
        from,
        template,
        id: IdChoice::None,
        sid: SidChoice::None,
        mutations: Vec::new(),
    };
    let msg_id = |from: u8, template: u8, n: u8, sid: SidChoice| Op::Message {
        from,
        template,
        id: IdChoice::Some(n),
        sid,
        mutations: Vec::new(),
    };
    let e = Op::Engine;
    vec![
        (
            "responder-happy",
            vec![
                msg(0, 0),
                e(EngineOp::LocalAnswer {
                    which: 0,
                    mutations: vec![],
                }),
                e(EngineOp::LocalCandidates {
                    count: 2,
                    garbage: false,
                }),
                msg(0, 3),
                e(EngineOp::Connected),
                e(EngineOp::RemoteTrack {
                    mid: 0,
                    video: true,
                }),
                msg(2, 0),
                msg(2, 0),
                Op::Advance { millis: 1000 },
                msg(2, 3),
                msg(0, 9),
            ],
        ),
        (
            "initiator-happy",
            vec![
                Op::Start { peer: 1, tracks: 3 },
                e(EngineOp::LocalOffer {
                    which: 1,
                    mutations: vec![],
                }),
                e(EngineOp::LocalCandidates {
                    count: 1,
                    garbage: true,
                }),
                msg_id(1, 4, 1, SidChoice::Current),
                msg_id(1, 8, 2, SidChoice::Current),
                msg_id(1, 2, 3, SidChoice::Current),
                e(EngineOp::Connected),
                e(EngineOp::Disconnected),
                Op::Advance { millis: 6000 },
                Op::Stop,
            ],
        ),
        (
            "glare",
            vec![
                Op::Start { peer: 0, tracks: 2 },
                e(EngineOp::LocalOffer {
                    which: 0,
                    mutations: vec![],
                }),
                msg_id(0, 0, 1, SidChoice::Low),
                e(EngineOp::LocalAnswer {
                    which: 0,
                    mutations: vec![],
                }),
                msg_id(0, 5, 2, SidChoice::Current),
            ],
        ),
        (
            "early-transport-info-and-timeouts",
            vec![
                msg(0, 3),
                msg(2, 3),
                msg(0, 7),
                Op::Advance { millis: 2500 },
                Op::Advance { millis: 16000 },
                Op::Start { peer: 2, tracks: 0 },
                Op::Advance { millis: 16000 },
                msg(1, 16),
                msg_id(1, 11, 4, SidChoice::Other),
                msg(1, 12),
            ],
        ),
        (
            "mutated",
            vec![
                Op::Message {
                    from: 0,
                    template: 7,
                    id: IdChoice::Some(5),
                    sid: SidChoice::None,
                    mutations: vec![
                        Mutation::SwapAttrs { a: 3, b: 9 },
                        Mutation::ReplaceAttr {
                            index: 12,
                            value: 4,
                        },
                    ],
                },
                e(EngineOp::LocalAnswer {
                    which: 1,
                    mutations: vec![Mutation::Truncate { len: 300 }],
                }),
                e(EngineOp::CommandFailed { kind: 1 }),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        for (name, ops) in service_seeds() {
            let bytes = encode_ops(&ops);
            let decoded = Ops::arbitrary_take_rest(Unstructured::new(&bytes)).unwrap();
            assert_eq!(decoded.0, ops, "{name}");
        }
    }

    #[test]
    fn jsonl_iqs_parse() {
        for s in SESSIONS {
            let iqs = jsonl_iqs(s);
            assert_eq!(iqs.len(), 6);
            for iq in iqs {
                proxy_core::parse_iq(&iq, &proxy_core::Limits::default()).unwrap();
            }
        }
    }

    #[test]
    fn seeds_keep_the_invariants() {
        for (_, ops) in service_seeds() {
            run_service(&ops);
        }
    }
}
