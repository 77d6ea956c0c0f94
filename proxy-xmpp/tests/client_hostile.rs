//! A hostile server: oversized and too deep stanzas, malformed XML, and a
//! proptest of random server input. Clear errors, no panic, bounded output.

mod client_support;

use std::time::Duration;

use client_support::*;
use proptest::prelude::*;
use proxy_xmpp::client::{ClientError, Event, Transport};
use proxy_xmpp::framing::FramingError;

fn offline_reason(events: &[Event]) -> &ClientError {
    events
        .iter()
        .find_map(|e| match e {
            Event::Offline { reason, .. } => Some(reason),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no Offline in {events:?}"))
}

#[test]
fn an_oversized_stanza_is_refused_before_it_is_buffered() {
    let mut h = Harness::new(tcp_config());
    h.login();
    h.feed("<message><body>");
    let chunk = "a".repeat(64 * 1024);
    let mut fed = 0;
    // Far more than the limit: the client stops reading at the limit.
    while fed < 4 * 1024 * 1024 && h.client.is_online() {
        h.feed(&chunk);
        fed += chunk.len();
    }
    assert!(
        fed <= 256 * 1024 + chunk.len(),
        "read {fed} bytes before refusing"
    );
    let got = h.take();
    assert_eq!(
        offline_reason(&got.events),
        &ClientError::Framing(FramingError::TooLarge { limit: 256 * 1024 })
    );
    assert_eq!(got.closes, 1);
    // Later bytes of the dead stream are ignored.
    h.feed(&chunk);
    assert!(h.take().events.is_empty());
}

#[test]
fn a_too_deep_stanza_and_malformed_xml_are_clear_errors() {
    let mut h = Harness::new(tcp_config());
    h.login();
    h.feed(&format!("<message>{}", "<x>".repeat(40)));
    assert_eq!(
        offline_reason(&h.take().events),
        &ClientError::Framing(FramingError::TooDeep { limit: 16 })
    );

    let mut h = Harness::new(tcp_config());
    h.login();
    h.feed("<message></presence>");
    assert!(matches!(
        offline_reason(&h.take().events),
        ClientError::Framing(FramingError::Malformed { .. })
    ));
}

#[test]
fn an_unknown_stream_error_over_websocket() {
    let mut config = tcp_config();
    config.transport = Transport::WebSocket { secure: true };
    let mut h = Harness::new(config);
    h.connected();
    h.feed(
        "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' from='guest.localhost' version='1.0'/>",
    );
    h.feed(
        "<stream:error xmlns:stream='http://etherx.jabber.org/streams'>\
         <gibberish xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text \
         xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bye</text></stream:error>",
    );
    let got = h.take();
    assert!(
        matches!(
            offline_reason(&got.events),
            ClientError::StreamError { condition: proxy_xmpp::client::StreamCondition::Other(c), text: Some(t) }
                if c == "gibberish" && t == "bye"
        ),
        "{:?}",
        got.events
    );
}

#[test]
fn features_out_of_turn_are_unexpected() {
    let mut h = Harness::new(tcp_config());
    h.connected();
    h.feed(&format!(
        "{HEADER}<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>"
    ));
    assert_eq!(
        offline_reason(&h.take().events),
        &ClientError::Unexpected("success".into())
    );
}

/// Pieces a server might send, well-formed or not.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(HEADER.to_owned()),
        Just(FEATURES_ANONYMOUS.to_owned()),
        Just(FEATURES_BIND.to_owned()),
        Just(SUCCESS.to_owned()),
        Just("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/></failure>".to_owned()),
        Just("<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>cj1hLHM9YixpPTE=</challenge>".to_owned()),
        Just("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>".to_owned()),
        Just(format!("<iq type='result' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>{JID}</jid></bind></iq>")),
        Just(services("ext1", "urn:xmpp:extdisco:2")),
        Just("<iq type='error' id='ext1'><error type='cancel'><x xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>".to_owned()),
        Just("<iq type='get' id='p' from='a@b/c'><ping xmlns='urn:xmpp:ping'/></iq>".to_owned()),
        Just("<iq type='set' id='q' from='a@b/c'><proxy xmlns='jitsi:proxy'><data>&lt;iq/&gt;</data></proxy></iq>".to_owned()),
        Just("<presence from='room@conference.localhost/x' type='unavailable'/>".to_owned()),
        Just("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>".to_owned()),
        Just("</stream:stream>".to_owned()),
        "[<>/a-z ='&;#0-9]{0,40}",
        any::<String>(),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Feed(String, usize),
    Connected,
    TlsReady,
    Closed,
    Advance(u16),
    Send,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (piece(), 1usize..64).prop_map(|(p, s)| Op::Feed(p, s)),
        1 => Just(Op::Connected),
        1 => Just(Op::TlsReady),
        1 => Just(Op::Closed),
        1 => any::<u16>().prop_map(Op::Advance),
        1 => Just(Op::Send),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_server_input_never_panics(ws in any::<bool>(), room in any::<bool>(), ops in prop::collection::vec(op(), 1..60)) {
        let mut config = tcp_config();
        if ws {
            config.transport = Transport::WebSocket { secure: false };
        }
        if room {
            config.room = Some(client_support::room());
        }
        let mut h = Harness::new(config);
        let signal = vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml");
        for op in ops {
            match op {
                Op::Feed(text, split) => {
                    if ws {
                        h.client.handle_frame(h.now, &text);
                    } else {
                        for chunk in text.as_bytes().chunks(split) {
                            h.client.handle_bytes(h.now, chunk);
                        }
                    }
                }
                Op::Connected => h.client.handle_connected(h.now),
                Op::TlsReady => h.client.handle_tls_ready(h.now),
                Op::Closed => h.client.handle_closed(h.now, None),
                Op::Advance(ms) => {
                    h.now += Duration::from_millis(u64::from(ms));
                    h.client.handle_timeout(h.now);
                }
                Op::Send => {
                    let _ = h.client.send_proxy_iq(h.now, "a@b/c", signal.trim());
                }
            }
            // drain() fails the test beyond 10000 outputs.
            h.drain();
            let got = h.take();
            prop_assert!(got.sent.len() + got.events.len() < 200);
        }
    }
}

#[test]
fn after_a_broken_stream_the_next_connection_starts_clean() {
    let mut h = Harness::new(tcp_config());
    h.login();
    // A framing error, with bytes of the broken stream left behind.
    h.feed("<message></presence><iq>");
    assert!(matches!(
        offline_reason(&h.take().events),
        ClientError::Framing(FramingError::Malformed { .. })
    ));
    h.run_to_deadline();
    assert_eq!(h.take().connects, 1);
    h.login();
    assert_eq!(h.client.jid(), Some(JID));
}
