//! XEP-0215 once online: `:2` first, `:1` after an error, and garbage kept
//! out.

mod client_support;

use client_support::*;
use proxy_core::extdisco::ExtdiscoError;
use proxy_xmpp::client::{ClientError, Event};

fn query_id(sent: &[String], ns: &str) -> String {
    let q = sent
        .iter()
        .find(|s| s.contains(ns))
        .unwrap_or_else(|| panic!("no {ns} query in {sent:?}"));
    assert_eq!(attr(q, "to"), DOMAIN, "asked of the domain");
    attr(q, "id")
}

#[test]
fn error_on_v2_falls_back_to_v1_and_gives_ice_servers() {
    let mut h = Harness::new(tcp_config());
    let got = h.login();
    assert_eq!(got.events, [Event::Online { jid: JID.into() }]);
    let id = query_id(&got.sent, "urn:xmpp:extdisco:2");
    h.feed(&format!(
        "<iq type='error' from='{DOMAIN}' id='{id}'><error type='cancel'>\
         <service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
    ));
    let got = h.take();
    assert!(got.events.is_empty(), "{:?}", got.events);
    let id1 = query_id(&got.sent, "urn:xmpp:extdisco:1");
    h.feed(&services(&id1, "urn:xmpp:extdisco:1"));
    let got = h.take();
    let [Event::IceServers(servers)] = &got.events[..] else {
        panic!("{:?}", got.events);
    };
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[1].password.as_deref(), Some("p"));
}

#[test]
fn an_error_on_v1_too_is_reported_and_the_client_stays_online() {
    let mut h = Harness::new(tcp_config());
    let id = query_id(&h.login().sent, "urn:xmpp:extdisco:2");
    let error = |id: &str| {
        format!(
            "<iq type='error' from='{DOMAIN}' id='{id}'><error type='cancel'>\
             <feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"
        )
    };
    h.feed(&error(&id));
    let id1 = query_id(&h.take().sent, "urn:xmpp:extdisco:1");
    h.feed(&error(&id1));
    let got = h.take();
    assert!(
        matches!(
            &got.events[..],
            [Event::Error(ClientError::Extdisco(
                ExtdiscoError::ErrorResult { .. }
            ))]
        ),
        "{:?}",
        got.events
    );
    assert!(got.sent.is_empty(), "no third query");
    assert!(h.client.is_online());
}

#[test]
fn a_garbage_result_is_a_clear_error_not_a_panic() {
    let mut h = Harness::new(tcp_config());
    let id = query_id(&h.login().sent, "urn:xmpp:extdisco:2");
    h.feed(&format!(
        "<iq type='result' from='{DOMAIN}' id='{id}'><services xmlns='urn:xmpp:extdisco:2'>\
         <service type='turn' host='a b' port='99999'/></services></iq>"
    ));
    let got = h.take();
    assert!(
        matches!(&got.events[..], [Event::Error(ClientError::Extdisco(_))]),
        "{:?}",
        got.events
    );
    assert!(h.client.is_online());
}

/// The wall-clock time of `2026-12-02T20:29:35Z`, 600 s before the
/// `expires` of [`services`].
fn ten_minutes_before_expiry() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_243_975 - 600)
}

#[test]
fn credentials_are_fetched_again_before_they_expire() {
    use std::time::Duration;
    let mut config = tcp_config();
    config.ping_interval = Duration::from_secs(3600);
    let start = std::time::Instant::now();
    config.wall_clock = Some((ten_minutes_before_expiry(), start));
    let mut h = Harness::starting_at(config, start);
    let id = query_id(&h.login().sent, "urn:xmpp:extdisco:2");
    h.feed(&services(&id, "urn:xmpp:extdisco:2"));
    assert!(matches!(&h.take().events[..], [Event::IceServers(_)]));
    // 600 s left: fetched again 60 s before (a tenth, at least 60 s).
    h.advance(Duration::from_millis(539_999));
    assert!(h.take().sent.is_empty());
    h.advance(Duration::from_millis(1));
    let id = query_id(&h.take().sent, "urn:xmpp:extdisco:2");
    // Garbage now: reported, asked again 60 s later.
    h.feed(&format!("<iq type='result' from='{DOMAIN}' id='{id}'/>"));
    assert!(matches!(
        &h.take().events[..],
        [Event::Error(ClientError::Extdisco(
            ExtdiscoError::MissingServices
        ))]
    ));
    h.advance(Duration::from_secs(60));
    query_id(&h.take().sent, "urn:xmpp:extdisco:2");
}

#[test]
fn without_a_wall_clock_the_servers_are_fetched_once() {
    use std::time::Duration;
    let mut config = tcp_config();
    config.ping_interval = Duration::from_secs(3600);
    let mut h = Harness::new(config);
    let id = query_id(&h.login().sent, "urn:xmpp:extdisco:2");
    h.feed(&services(&id, "urn:xmpp:extdisco:2"));
    h.take();
    h.advance(Duration::from_secs(3000));
    assert!(!h.take().sent.iter().any(|s| s.contains("extdisco")));
}
