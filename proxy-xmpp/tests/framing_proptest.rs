//! Random input never panics and never makes the framer hold more than the
//! limit plus one push.

mod framing_support;

use framing_support::{run, PROSODY_TCP};
use proptest::prelude::*;
use proxy_core::Limits;
use proxy_xmpp::framing::{ws_frame, Frame, FramingError, TcpFramer};

const LIMITS: Limits = Limits {
    max_bytes: 512,
    max_depth: 16,
    max_contents: 16,
    max_payload_types: 64,
    max_candidates: 64,
    max_sources: 64,
    max_children: 64,
};

/// Bytes that look like XML often enough to get past the first tag.
fn xmlish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            any::<u8>(),
            Just(b'<'),
            Just(b'>'),
            Just(b'/'),
            Just(b'\''),
            Just(b' '),
            Just(b'&'),
            Just(b';'),
        ],
        0..2048,
    )
}

fn chunked(bytes: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut at = 0;
    let mut chunks = Vec::new();
    for &cut in cuts {
        let end = (at + cut).min(bytes.len());
        chunks.push(bytes[at..end].to_vec());
        at = end;
    }
    chunks.push(bytes[at..].to_vec());
    chunks
}

/// Errors without their excerpts, which show what was buffered around the
/// problem and so depend on the split.
fn without_excerpts(frames: Vec<Result<Frame, FramingError>>) -> Vec<Result<Frame, FramingError>> {
    frames
        .into_iter()
        .map(|f| {
            f.map_err(|e| match e {
                FramingError::Malformed { problem, .. } => FramingError::Malformed {
                    problem,
                    excerpt: String::new(),
                },
                FramingError::Restricted { what, .. } => FramingError::Restricted {
                    what,
                    excerpt: String::new(),
                },
                other => other,
            })
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_and_stay_bounded(
        prefix in prop::sample::select(vec![&b""[..], &PROSODY_TCP[..200]]),
        body in xmlish(),
        cuts in prop::collection::vec(1usize..300, 0..20),
    ) {
        let mut input = prefix.to_vec();
        input.extend_from_slice(&body);
        let mut framer = TcpFramer::new(LIMITS);
        for chunk in chunked(&input, &cuts) {
            framer.push(&chunk);
            prop_assert!(framer.buffered() <= LIMITS.max_bytes + chunk.len());
            for _ in 0..=framer.buffered() {
                if framer.next().is_none() { break; }
            }
            prop_assert!(framer.next().is_none());
            prop_assert!(framer.buffered() <= LIMITS.max_bytes);
        }
        let _ = ws_frame(&String::from_utf8_lossy(&input), &LIMITS);
    }

    #[test]
    fn a_mutated_session_never_panics(
        at in 0..PROSODY_TCP.len(),
        byte in any::<u8>(),
        cuts in prop::collection::vec(1usize..200, 0..10),
    ) {
        let mut input = PROSODY_TCP.to_vec();
        input[at] = byte;
        let chunks = chunked(&input, &cuts);
        let frames = run(LIMITS, chunks.iter().map(Vec::as_slice));
        // Whatever came out, any split gives the same.
        prop_assert_eq!(without_excerpts(frames), without_excerpts(run(LIMITS, [input.as_slice()])));
    }

    #[test]
    fn any_split_of_the_session_gives_the_same_frames(
        cuts in prop::collection::vec(1usize..100, 0..40),
    ) {
        let chunks = chunked(PROSODY_TCP, &cuts);
        prop_assert_eq!(
            run(Limits::default(), chunks.iter().map(Vec::as_slice)),
            run(Limits::default(), [PROSODY_TCP])
        );
    }
}
