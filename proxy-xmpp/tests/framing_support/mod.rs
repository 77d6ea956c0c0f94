//! Shared by the framing tests: the captured Prosody sessions and a driver
//! that feeds a [`TcpFramer`] the way a client's read loop does.
#![allow(dead_code)] // each test file uses a part

use proxy_core::Limits;
use proxy_xmpp::framing::{Frame, FramingError, TcpFramer};

/// What Prosody 0.12 sent on one anonymous c2s session over TCP: stream
/// header, features, SASL success, the restarted stream, bind result,
/// XEP-0215 result, a message, a ping result and the stream end.
pub const PROSODY_TCP: &[u8] = include_bytes!("../fixtures/prosody-tcp.bin");

/// Prosody's TCP stream ended by SIGTERM: `<stream:error><system-shutdown/>`.
pub const PROSODY_TCP_SHUTDOWN: &[u8] = include_bytes!("../fixtures/prosody-tcp-shutdown.bin");

/// The same session over WebSocket: one JSON string per message.
pub const PROSODY_WS: &str = include_str!("../fixtures/prosody-ws.json");

/// The WebSocket messages of [`PROSODY_WS`].
pub fn ws_messages() -> Vec<String> {
    serde_json::from_str(PROSODY_WS).expect("fixture is a JSON array of strings")
}

/// Feeds `chunks` one push at a time, drains the framer after each and
/// restarts the stream after SASL `<success>`, as a client does. Stops at the
/// first error.
pub fn run<'a>(
    limits: Limits,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<Result<Frame, FramingError>> {
    let mut framer = TcpFramer::new(limits);
    let mut frames = Vec::new();
    for chunk in chunks {
        framer.push(chunk);
        // Bounded: every frame consumes buffered bytes.
        for _ in 0..=framer.buffered() {
            let Some(frame) = framer.next() else { break };
            let failed = frame.is_err();
            let restart = matches!(&frame, Ok(Frame::Stanza(s)) if s.starts_with("<success"));
            frames.push(frame);
            if failed {
                return frames;
            }
            if restart {
                framer.reset();
            }
        }
        assert!(framer.next().is_none(), "frames left after the drain loop");
    }
    frames
}

/// The name of a stanza's top element.
pub fn name(stanza: &str) -> &str {
    let end = stanza[1..]
        .find([' ', '>', '/'])
        .map_or(stanza.len(), |i| i + 1);
    &stanza[1..end]
}
