//! A `<stream:error>`, known or not, comes out as an element with the
//! namespaces it needs, followed by the stream's end.

mod framing_support;

use framing_support::{run, PROSODY_TCP_SHUTDOWN};
use proxy_core::Limits;
use proxy_xmpp::framing::{Frame, StreamClose};

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' id='s' version='1.0'>";

#[test]
fn prosody_shutdown_is_a_stream_error_then_close() {
    let frames: Vec<Frame> = run(Limits::default(), [PROSODY_TCP_SHUTDOWN])
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let n = frames.len();
    assert_eq!(
        frames[n - 2],
        Frame::Stanza(
            "<stream:error xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>\
             <system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>\
             <text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Received SIGTERM</text></stream:error>"
                .into()
        )
    );
    assert_eq!(frames[n - 1], Frame::Close(StreamClose::default()));
}

#[test]
fn an_unknown_stream_error_is_an_element_too() {
    let error = "<stream:error><x-flux-capacitor xmlns='urn:example:unknown'/>\
                 <text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>?</text></stream:error>";
    let frames = run(Limits::default(), [HEADER.as_bytes(), error.as_bytes()]);
    assert_eq!(frames.len(), 2, "{frames:?}");
    let Ok(Frame::Stanza(s)) = &frames[1] else {
        panic!("{frames:?}")
    };
    assert!(s.starts_with(
        "<stream:error xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><x-flux"
    ));
}

#[test]
fn a_prefix_declared_on_the_root_is_added_where_used() {
    // Any prefix of the root, used by the element or its children.
    let header =
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' \
                  xmlns:db='jabber:server:dialback'>";
    let frames = run(
        Limits::default(),
        [header.as_bytes(), b"<iq><db:x/></iq><iq/>"],
    );
    let stanzas: Vec<&str> = frames
        .iter()
        .filter_map(|f| match f {
            Ok(Frame::Stanza(s)) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        stanzas,
        [
            "<iq xmlns='jabber:client' xmlns:db='jabber:server:dialback'><db:x/></iq>",
            "<iq xmlns='jabber:client'/>"
        ]
    );
    // Declared on the element itself: nothing added.
    let frames = run(
        Limits::default(),
        [HEADER.as_bytes(), b"<stream:error xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'/>"],
    );
    assert_eq!(
        frames[1],
        Ok(Frame::Stanza(
            "<stream:error xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'/>"
                .into()
        ))
    );
}
