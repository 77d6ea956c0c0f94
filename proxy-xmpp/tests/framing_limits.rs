//! Size and depth limits: an element of exactly `max_bytes` passes, one more
//! byte fails before the element is complete; depth 16 passes, 17 fails.

mod framing_support;

use framing_support::run;
use proxy_core::Limits;
use proxy_xmpp::framing::{ws_frame, Frame, FramingError, TcpFramer};

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' id='s' version='1.0'>";

/// A `<message>` of exactly `len` bytes as the server writes it.
fn message_of(len: usize) -> String {
    let head = "<message><body>";
    let tail = "</body></message>";
    format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
}

fn open_framer(limits: Limits) -> TcpFramer {
    let mut framer = TcpFramer::new(limits);
    framer.push(HEADER.as_bytes());
    assert!(matches!(framer.next(), Some(Ok(Frame::Open(_)))));
    framer
}

#[test]
fn an_element_of_exactly_max_bytes_passes_and_one_more_fails() {
    let limits = Limits::default();
    let max = limits.max_bytes;
    assert_eq!(max, 256 * 1024);
    let fits = message_of(max);
    let frames = run(
        limits,
        [HEADER.as_bytes(), fits.as_bytes(), b"</stream:stream>"],
    );
    assert_eq!(frames.len(), 3, "{:?}", frames.last());
    let Ok(Frame::Stanza(s)) = &frames[1] else {
        panic!("{:?}", frames[1])
    };
    assert_eq!(s.len(), max + " xmlns='jabber:client'".len());

    let over = message_of(max + 1);
    let frames = run(limits, [HEADER.as_bytes(), over.as_bytes()]);
    assert_eq!(
        frames.last(),
        Some(&Err(FramingError::TooLarge { limit: max }))
    );

    // The same over WebSocket.
    assert!(ws_frame(&message_of(max), &limits).is_ok());
    assert_eq!(
        ws_frame(&message_of(max + 1), &limits),
        Err(FramingError::TooLarge { limit: max })
    );
}

#[test]
fn too_large_is_reported_before_the_element_ends() {
    let limits = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    let mut framer = open_framer(limits);
    let over = message_of(5000);
    // Exactly max_bytes of an unfinished element: still waiting.
    framer.push(&over.as_bytes()[..1000]);
    assert_eq!(framer.next(), None);
    // One more byte, the end still far away: refused now.
    framer.push(&over.as_bytes()[1000..1001]);
    assert_eq!(
        framer.next(),
        Some(Err(FramingError::TooLarge { limit: 1000 }))
    );
    // Failed: later bytes are not buffered and nothing more comes out.
    framer.push(&over.as_bytes()[1001..]);
    assert_eq!(framer.buffered(), 0);
    assert_eq!(framer.next(), None);
}

#[test]
fn a_large_tag_split_everywhere_is_bounded_by_the_limit() {
    // A start tag alone longer than the limit, pushed byte by byte.
    let limits = Limits {
        max_bytes: 300,
        ..Limits::default()
    };
    let mut framer = open_framer(limits);
    let tag = format!("<iq id='{}'>", "a".repeat(400));
    let mut error = None;
    for (i, b) in tag.bytes().enumerate() {
        framer.push(&[b]);
        assert!(framer.buffered() <= limits.max_bytes + 1, "at byte {i}");
        if let Some(frame) = framer.next() {
            error = Some((i, frame));
            break;
        }
    }
    assert_eq!(
        error,
        Some((300, Err(FramingError::TooLarge { limit: 300 })))
    );
}

fn nested(depth: usize) -> String {
    let mut s = String::from("<message>");
    for _ in 1..depth {
        s.push_str("<x>");
    }
    for _ in 1..depth {
        s.push_str("</x>");
    }
    s.push_str("</message>");
    s
}

#[test]
fn depth_sixteen_passes_and_seventeen_fails() {
    let limits = Limits::default();
    assert_eq!(limits.max_depth, 16);
    let frames = run(limits, [HEADER.as_bytes(), nested(16).as_bytes()]);
    assert!(
        matches!(
            frames.as_slice(),
            [Ok(Frame::Open(_)), Ok(Frame::Stanza(_))]
        ),
        "{frames:?}"
    );
    let frames = run(limits, [HEADER.as_bytes(), nested(17).as_bytes()]);
    assert_eq!(
        frames.last(),
        Some(&Err(FramingError::TooDeep { limit: 16 }))
    );
    // An empty element counts as a level too.
    let empty17 = nested(16).replacen("<x></x>", "<x><y/></x>", 1);
    let frames = run(limits, [HEADER.as_bytes(), empty17.as_bytes()]);
    assert_eq!(
        frames.last(),
        Some(&Err(FramingError::TooDeep { limit: 16 }))
    );
    assert!(ws_frame(&nested(16), &limits).is_ok());
    assert_eq!(
        ws_frame(&nested(17), &limits),
        Err(FramingError::TooDeep { limit: 16 })
    );
}

#[test]
fn whitespace_keepalives_are_skipped_and_not_kept() {
    let mut framer = open_framer(Limits::default());
    // A day of keepalives, one every 30 s, on an idle stream.
    for _ in 0..2880 {
        framer.push(b" ");
        assert_eq!(framer.next(), None);
        assert_eq!(framer.buffered(), 0);
    }
    framer.push(b"\n\t\r <iq type='get' id='1'/> \n<iq type='get' id='2'/>  ");
    let mut ids = Vec::new();
    while let Some(frame) = framer.next() {
        let Ok(Frame::Stanza(s)) = frame else {
            panic!("{frame:?}")
        };
        ids.push(s);
    }
    assert_eq!(
        ids,
        [
            "<iq xmlns='jabber:client' type='get' id='1'/>",
            "<iq xmlns='jabber:client' type='get' id='2'/>"
        ]
    );
}

#[test]
fn the_buffer_holds_the_current_element_only() {
    let mut framer = open_framer(Limits::default());
    let stanza = message_of(10_000);
    for _ in 0..100 {
        for chunk in stanza.as_bytes().chunks(4096) {
            framer.push(chunk);
            while let Some(frame) = framer.next() {
                assert!(matches!(frame, Ok(Frame::Stanza(_))));
            }
            assert!(framer.buffered() < stanza.len());
        }
    }
    assert_eq!(framer.buffered(), 0);
}
