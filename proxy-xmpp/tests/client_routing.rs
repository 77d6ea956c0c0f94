//! Routing once online: incoming proxy IQs in each envelope, the acks, pings,
//! unknown requests, and outgoing proxy IQs with their tracking.

mod client_support;

use std::time::Duration;

use client_support::*;
use proxy_core::{DefinedCondition, Limits, ProxyMessage};
use proxy_xmpp::client::{ClientError, Event, IqFailure};
use proxy_xmpp::envelope::{Envelope, SpotMessageType};

const PEER: &str = "laptop@guest.localhost/l1";

/// The captured session-initiate as the server delivers it: with `from`
/// and an `id`, addressed to us.
fn delivered_direct(id: &str) -> (String, String) {
    let iq = vector("01-session-initiate.sender-to-receiver.xml");
    let iq = iq.trim().replacen(
        "to=\"receiver@example.com/r1\"",
        &format!("to=\"{JID}\""),
        1,
    );
    let stanza = iq.replacen("<iq ", &format!("<iq from='{PEER}' id='{id}' "), 1);
    (iq, stanza)
}

#[test]
fn direct_jingle_iq_goes_to_the_service_and_is_not_acked_here() {
    let mut h = Harness::online(tcp_config());
    let (_, stanza) = delivered_direct("m1");
    h.feed(&stanza);
    let got = h.take();
    assert_eq!(
        got.events,
        [Event::Message(ProxyMessage {
            from: PEER.into(),
            iq: stanza.clone()
        })]
    );
    assert!(
        got.sent.is_empty(),
        "the core acks a Direct IQ: {:?}",
        got.sent
    );
}

#[test]
fn wrapped_forms_are_unwrapped_and_acked_with_the_id_as_received() {
    let limits = Limits::default();
    let (iq, _) = delivered_direct("unused");
    for envelope in [
        Envelope::JitsiProxy,
        Envelope::Spot {
            message_type: SpotMessageType::FromRemoteControl,
        },
    ] {
        let mut h = Harness::online(tcp_config());
        let wrapped = envelope.wrap(JID, "Nl9qbWh6", &iq, &limits).unwrap();
        let stanza = wrapped.replacen("<iq ", &format!("<iq from='{PEER}' "), 1);
        h.feed(&stanza);
        let got = h.take();
        assert_eq!(
            got.events,
            [Event::Message(ProxyMessage {
                from: PEER.into(),
                iq: iq.clone()
            })],
            "{envelope:?}"
        );
        assert_eq!(got.sent.len(), 1, "{envelope:?}: one ack");
        let ack = parse(&got.sent[0]);
        assert_eq!(ack.attr("type"), Some("result"));
        assert_eq!(ack.attr("id"), Some("Nl9qbWh6"));
        assert_eq!(ack.attr("to"), Some(PEER));
    }
}

#[test]
fn unreadable_wrapped_iq_is_answered_bad_request() {
    let mut h = Harness::online(tcp_config());
    h.feed(&format!(
        "<iq type='set' from='{PEER}' id='w1'><proxy xmlns='jitsi:proxy'><data>not xml</data>\
         </proxy></iq>"
    ));
    let got = h.take();
    assert!(
        matches!(&got.events[..], [Event::Error(ClientError::Envelope(_))]),
        "{:?}",
        got.events
    );
    let answer = parse(&got.sent[0]);
    assert_eq!(answer.attr("type"), Some("error"));
    assert_eq!(answer.attr("id"), Some("w1"));
    assert_eq!(answer.stanza_error(), Some("bad-request"));
}

#[test]
fn pings_are_answered_and_unknown_requests_refused() {
    let mut h = Harness::online(tcp_config());
    h.feed(&format!(
        "<iq type='get' from='{DOMAIN}' id='s2c1'><ping xmlns='urn:xmpp:ping'/></iq>"
    ));
    let pong = parse(&h.take().sent[0]);
    assert_eq!(pong.attr("type"), Some("result"));
    assert_eq!(pong.attr("id"), Some("s2c1"));
    assert_eq!(pong.attr("to"), Some(DOMAIN));

    h.feed(&format!(
        "<iq type='get' from='{PEER}' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"
    ));
    let got = h.take();
    let refusal = parse(&got.sent[0]);
    assert_eq!(refusal.attr("type"), Some("error"));
    assert_eq!(refusal.attr("id"), Some("d1"));
    assert_eq!(refusal.stanza_error(), Some("service-unavailable"));
    assert!(got.events.is_empty());
}

#[test]
fn outgoing_proxy_iqs_are_stamped_tracked_and_failures_reported() {
    let mut config = tcp_config();
    config.ping_interval = Duration::from_secs(3600);
    let mut h = Harness::new(config);
    let after_bind = h.login();
    let query = after_bind
        .sent
        .iter()
        .find(|s| s.contains("extdisco"))
        .unwrap();
    h.feed(&services(&attr(query, "id"), "urn:xmpp:extdisco:2"));
    h.take();
    let signal = vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml");
    let signal = signal.trim();

    // Answered with result: consumed, no event.
    h.client.send_proxy_iq(h.now, PEER, signal).unwrap();
    h.drain();
    let sent = h.take().sent;
    let first = parse(&sent[0]);
    let id1 = first.attr("id").expect("an id is stamped").to_owned();
    assert_eq!(first.attr("to"), Some(PEER));
    h.feed(&format!("<iq type='result' from='{PEER}' id='{id1}'/>"));
    assert!(h.take().events.is_empty());

    // Answered with an error: IqFailed, and the peer's session ends.
    h.client.send_proxy_iq(h.now, PEER, signal).unwrap();
    h.drain();
    let id2 = attr(&h.take().sent[0], "id");
    assert_ne!(id1, id2, "ids are unique");
    h.feed(&format!(
        "<iq type='error' from='{PEER}' id='{id2}'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    let events = h.take().events;
    assert_eq!(
        events[0],
        Event::IqFailed {
            to: PEER.into(),
            reason: IqFailure::Error(DefinedCondition::ServiceUnavailable)
        }
    );
    assert!(
        matches!(&events[1], Event::Message(m) if m.from == PEER && m.iq.contains("action='unavailable'"))
    );

    // A second answer to the same id is not ours any more: ignored.
    h.feed(&format!("<iq type='result' from='{PEER}' id='{id2}'/>"));
    assert!(h.take().events.is_empty());

    // Unanswered: IqFailed after the IQ timeout (30 s), not before.
    h.client.send_proxy_iq(h.now, PEER, signal).unwrap();
    h.drain();
    h.take();
    h.advance(Duration::from_millis(29_999));
    assert!(h.take().events.is_empty());
    h.advance(Duration::from_millis(1));
    assert_eq!(
        h.take().events,
        [Event::IqFailed {
            to: PEER.into(),
            reason: IqFailure::Timeout
        }]
    );
}

#[test]
fn the_cores_own_answers_go_out_as_they_are() {
    let mut config = tcp_config();
    config.envelope = Envelope::JitsiProxy;
    let mut h = Harness::new(config);
    h.login();
    let ack = format!("<iq xmlns='jabber:client' to='{PEER}' type='result' id='Nl9q'/>");
    h.client.send_proxy_iq(h.now, PEER, &ack).unwrap();
    h.drain();
    let sent = parse(&h.take().sent[0]);
    assert_eq!(sent.attr("id"), Some("Nl9q"), "the id as received");
    assert!(sent.children.is_empty(), "not wrapped");

    // And a signal goes in the configured envelope.
    let signal = vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml");
    h.client.send_proxy_iq(h.now, PEER, signal.trim()).unwrap();
    h.drain();
    assert!(h.take().sent[0].contains("<proxy xmlns=\"jitsi:proxy\">"));
}

#[test]
fn an_unreadable_signal_is_refused_at_once() {
    let mut h = Harness::online(tcp_config());
    assert!(h.client.send_proxy_iq(h.now, PEER, "<iq").is_err());
}

#[test]
fn only_the_addressee_may_answer() {
    let mut h = Harness::online(tcp_config());
    let signal = vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml");
    h.client.send_proxy_iq(h.now, PEER, signal.trim()).unwrap();
    h.drain();
    let id = attr(&h.take().sent[0], "id");
    let error = |from: &str| {
        format!(
            "<iq type='error' from='{from}' id='{id}'><error type='cancel'>\
             <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        )
    };
    h.feed(&error("mallory@guest.localhost/m"));
    assert!(
        h.take().events.is_empty(),
        "a third party cannot fail our IQ"
    );
    h.feed(&error(PEER));
    assert_eq!(
        h.take().events[0],
        Event::IqFailed {
            to: PEER.into(),
            reason: IqFailure::Error(DefinedCondition::ItemNotFound)
        }
    );
}

/// A Direct IQ that carries its own id keeps it on the wire: the answer to
/// that id closes it, and no timeout follows.
#[test]
fn a_direct_iq_with_its_own_id_is_tracked_under_it() {
    let mut config = tcp_config();
    config.ping_interval = Duration::from_secs(3600);
    let mut h = Harness::new(config);
    h.login();
    let signal = vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml");
    let signal = signal.trim().replacen("<iq ", "<iq id='core7' ", 1);
    h.client.send_proxy_iq(h.now, PEER, &signal).unwrap();
    h.drain();
    let sent = h.take().sent;
    assert_eq!(attr(&sent[0], "id"), "core7", "the IQ's own id is kept");
    h.feed(&format!(
        "<iq type='error' from='{PEER}' id='core7'><error type='cancel'>\
         <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    assert_eq!(
        h.take().events[0],
        Event::IqFailed {
            to: PEER.into(),
            reason: IqFailure::Error(DefinedCondition::ItemNotFound)
        }
    );
    h.advance(Duration::from_secs(31));
    let events = h.take().events;
    assert!(
        !events.iter().any(|e| matches!(e, Event::IqFailed { .. })),
        "{events:?}"
    );
}

/// JIDs compare without regard to case in the local and domain parts, and
/// exactly in the resource.
#[test]
fn the_addressee_is_recognized_whatever_the_case_of_its_bare_jid() {
    let mut h = Harness::online(tcp_config());
    let signal = vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml");
    h.client.send_proxy_iq(h.now, PEER, signal.trim()).unwrap();
    h.drain();
    let id = attr(&h.take().sent[0], "id");
    let error = |from: &str| {
        format!(
            "<iq type='error' from='{from}' id='{id}'><error type='cancel'>\
             <item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        )
    };
    // The resource is case-sensitive: another resource, not the addressee.
    h.feed(&error("laptop@guest.localhost/L1"));
    assert!(h.take().events.is_empty());
    h.feed(&error("Laptop@GUEST.localhost/l1"));
    assert_eq!(
        h.take().events[0],
        Event::IqFailed {
            to: PEER.into(),
            reason: IqFailure::Error(DefinedCondition::ItemNotFound)
        }
    );
}
