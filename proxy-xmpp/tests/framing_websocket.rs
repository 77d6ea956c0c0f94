//! WebSocket (RFC 7395): one message is one frame; the captured Prosody
//! session reads as the TCP one does; the writers produce what the readers
//! accept.

mod framing_support;

use framing_support::{name, run, ws_messages, PROSODY_TCP};
use proxy_core::{parse_iq, Limits};
use proxy_xmpp::framing::{
    tcp_close, tcp_open, ws_close, ws_frame, ws_open, Frame, FramingError, Malformed, StreamClose,
};

fn shape(frames: &[Frame]) -> Vec<String> {
    frames
        .iter()
        .map(|f| match f {
            Frame::Open(_) => "open".to_owned(),
            Frame::Stanza(s) => name(s).to_owned(),
            Frame::Close(_) => "close".to_owned(),
        })
        .collect()
}

#[test]
fn the_prosody_session_reads_like_the_tcp_one() {
    let limits = Limits::default();
    let ws: Vec<Frame> = ws_messages()
        .iter()
        .map(|m| ws_frame(m, &limits).unwrap_or_else(|e| panic!("{m}: {e}")))
        .collect();
    let tcp: Vec<Frame> = run(limits, [PROSODY_TCP])
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(shape(&ws), shape(&tcp));
    let Frame::Open(open) = &ws[0] else {
        unreachable!()
    };
    assert_eq!(open.from.as_deref(), Some("guest.localhost"));
    assert_eq!(open.version.as_deref(), Some("1.0"));
    assert_eq!(open.lang.as_deref(), Some("en"));
    assert!(open.id.is_some());
    // Prosody's WebSocket stanzas already carry their namespaces: unchanged.
    for (message, frame) in ws_messages().iter().zip(&ws) {
        if let Frame::Stanza(s) = frame {
            assert_eq!(s, message);
        }
    }
    // The IQs parse standalone, with the same ids as over TCP.
    for (w, t) in ws.iter().zip(&tcp) {
        if let (Frame::Stanza(w), Frame::Stanza(t)) = (w, t) {
            if w.starts_with("<iq") {
                assert_eq!(
                    parse_iq(w, &limits).unwrap().id,
                    parse_iq(t, &limits).unwrap().id
                );
            }
        }
    }
}

#[test]
fn close_reports_a_see_other_uri() {
    let limits = Limits::default();
    assert_eq!(
        ws_frame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='wss://b.example/ws?a=1&amp;b=2'/>", &limits),
        Ok(Frame::Close(StreamClose { see_other_uri: Some("wss://b.example/ws?a=1&b=2".into()) }))
    );
    assert_eq!(
        ws_frame(ws_close(), &limits),
        Ok(Frame::Close(StreamClose::default()))
    );
    // `<open>` or `<close>` in another namespace is an ordinary element.
    assert!(matches!(
        ws_frame("<close xmlns='urn:other'/>", &limits),
        Ok(Frame::Stanza(_))
    ));
}

#[test]
fn a_message_must_be_exactly_one_element() {
    let limits = Limits::default();
    let not_one = |m: &str| {
        matches!(
            ws_frame(m, &limits),
            Err(FramingError::Malformed {
                problem: Malformed::NotOneElement | Malformed::TextOutsideElement,
                ..
            })
        )
    };
    assert!(not_one(""));
    assert!(not_one("   "));
    assert!(not_one("<iq type='get' id='1'>"));
    assert!(not_one("<iq/><iq/>"));
    assert!(not_one("<iq/><iq"));
    assert!(not_one("<iq/>text"));
    assert!(matches!(
        ws_frame("</stream:stream>", &limits),
        Err(FramingError::Malformed {
            problem: Malformed::MismatchedEndTag,
            ..
        })
    ));
    // Whitespace around the one element is tolerated.
    assert_eq!(
        ws_frame(" <iq type='get' id='1'/>\n", &limits),
        Ok(Frame::Stanza(
            "<iq xmlns='jabber:client' type='get' id='1'/>".into()
        ))
    );
}

#[test]
fn a_stanza_without_namespaces_gets_the_client_ones() {
    let limits = Limits::default();
    assert_eq!(
        ws_frame("<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>", &limits),
        Ok(Frame::Stanza(
            "<stream:error xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
             <host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
                .into()
        ))
    );
}

#[test]
fn writers_produce_what_the_readers_accept() {
    let limits = Limits::default();
    let Ok(Frame::Open(open)) = ws_frame(&ws_open("ex'ample.org"), &limits) else {
        panic!()
    };
    assert_eq!(open.to.as_deref(), Some("ex'ample.org"));
    assert_eq!(open.version.as_deref(), Some("1.0"));

    // The client's TCP header read back as a server would see it.
    let header = tcp_open("example.org", Some("en"));
    assert!(header.starts_with("<?xml version='1.0'?><stream:stream "));
    let frames = run(limits, [header.as_bytes(), tcp_close().as_bytes()]);
    let [Ok(Frame::Open(open)), Ok(Frame::Close(_))] = frames.as_slice() else {
        panic!("{frames:?}")
    };
    assert_eq!(open.to.as_deref(), Some("example.org"));
    assert_eq!(open.lang.as_deref(), Some("en"));
    assert_eq!(open.version.as_deref(), Some("1.0"));
    let frames = run(limits, [tcp_open("a&b", None).as_bytes()]);
    let [Ok(Frame::Open(open))] = frames.as_slice() else {
        panic!("{frames:?}")
    };
    assert_eq!(
        (open.to.as_deref(), open.lang.as_deref()),
        (Some("a&b"), None)
    );
}

/// RFC 7395 §3.3.3: each message stands alone, so a stanza sent over a WebSocket
/// declares `jabber:client` itself; one that declares a namespace is kept.
#[test]
fn outgoing_stanzas_declare_jabber_client() {
    use proxy_xmpp::framing::ws_stanza;
    assert_eq!(
        ws_stanza("<iq id='b1' type='set'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"),
        "<iq xmlns='jabber:client' id='b1' type='set'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>"
    );
    assert_eq!(
        ws_stanza("<presence to='r@c/n'/>"),
        "<presence xmlns='jabber:client' to='r@c/n'/>"
    );
    for kept in [
        "<iq xmlns=\"jabber:client\" type='get' id='1'/>",
        "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>",
        "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='x' version='1.0'/>",
        "not xml",
    ] {
        assert_eq!(ws_stanza(kept), kept);
    }
}
