//! Losing the connection: ping timeout, stream errors, backoff with seeded
//! jitter, the queue of IQs sent while offline, and closing.

mod client_support;

use std::time::{Duration, Instant};

use client_support::*;
use proxy_xmpp::client::{ClientError, Event, IqFailure, StreamCondition, MAX_QUEUED, NS_BIND};

const PEER: &str = "laptop@guest.localhost/l1";

fn signal() -> String {
    vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml")
        .trim()
        .to_owned()
}

/// The delay of the Offline event in `events`.
fn offline_delay(now: Instant, events: &[Event]) -> (ClientError, Duration) {
    for e in events {
        if let Event::Offline { reason, retry_at } = e {
            return (reason.clone(), *retry_at - now);
        }
    }
    panic!("no Offline in {events:?}");
}

fn assert_within(d: Duration, nominal_ms: u64) {
    let (lo, hi) = (nominal_ms * 8 / 10, nominal_ms * 12 / 10);
    let ms = d.as_millis() as u64;
    assert!((lo..=hi).contains(&ms), "{ms} ms outside {lo}..={hi}");
}

#[test]
fn ping_timeout_then_backoff_doubles_up_to_the_cap() {
    let mut h = Harness::new(tcp_config());
    let got = h.login();
    let q = got.sent.iter().find(|s| s.contains("extdisco")).unwrap();
    h.feed(&services(&attr(q, "id"), "urn:xmpp:extdisco:2"));
    h.take();

    // Quiet for the ping interval (5 s): a ping to the domain.
    assert_eq!(
        h.run_to_deadline() - (h.now - Duration::from_secs(5)),
        Duration::from_secs(5)
    );
    let ping = h.take().sent;
    assert_eq!(ping.len(), 1);
    let el = parse(&ping[0]);
    assert_eq!(el.attr("to"), Some(DOMAIN));
    assert!(el.child("ping", "urn:xmpp:ping").is_some());
    // Unanswered for the ping timeout (2 s): offline.
    h.advance(Duration::from_millis(1999));
    assert!(h.take().events.is_empty());
    h.advance(Duration::from_millis(1));
    let got = h.take();
    assert_eq!(got.closes, 1);
    let (reason, delay) = offline_delay(h.now, &got.events);
    assert_eq!(reason, ClientError::PingTimeout);
    assert_within(delay, 500);

    // Each failed attempt doubles the delay, up to 30 s.
    let mut nominal = 500;
    for _ in 0..10 {
        h.run_to_deadline();
        assert_eq!(h.take().connects, 1, "a new attempt");
        h.client
            .handle_closed(h.now, Some("connection refused".into()));
        h.drain();
        let (reason, delay) = offline_delay(h.now, &h.take().events);
        assert_eq!(
            reason,
            ClientError::TransportClosed(Some("connection refused".into()))
        );
        nominal = (nominal * 2).min(30_000);
        assert_within(delay, nominal);
    }
    assert_eq!(nominal, 30_000, "the cap was reached");

    // Online for 60 s: the next loss starts from 0.5 s again.
    h.run_to_deadline();
    h.login();
    for _ in 0..16 {
        h.feed("<message/>"); // keeps the pings away
        h.advance(Duration::from_secs(4));
    }
    assert!(h.client.is_online(), "{:?}", h.take().events);
    h.client.handle_closed(h.now, None);
    h.drain();
    let (_, delay) = offline_delay(h.now, &h.take().events);
    assert_within(delay, 500);
}

#[test]
fn the_jitter_comes_from_the_seed() {
    let delay = |seed: u8| {
        let mut config = tcp_config();
        config.seed = [seed; 32];
        let mut h = Harness::new(config);
        h.client.handle_closed(h.now, None);
        h.drain();
        offline_delay(h.now, &h.take().events).1
    };
    assert_eq!(delay(1), delay(1), "same seed, same delay");
    let distinct: std::collections::HashSet<_> = (0..8).map(delay).collect();
    assert!(distinct.len() > 1, "different seeds, different delays");
}

#[test]
fn stream_errors_are_offline_or_terminal() {
    let mut h = Harness::new(tcp_config());
    h.login();
    h.feed("<stream:error><x-made-up xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
    let (reason, _) = offline_delay(h.now, &h.take().events);
    assert_eq!(
        reason,
        ClientError::StreamError {
            condition: StreamCondition::Other("x-made-up".into()),
            text: None
        }
    );

    let mut h = Harness::new(tcp_config());
    h.connected();
    h.feed(&format!(
        "{HEADER}<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"
    ));
    let got = h.take();
    assert!(
        matches!(
            &got.events[..],
            [Event::Closed {
                reason: Some(ClientError::StreamError {
                    condition: StreamCondition::HostUnknown,
                    ..
                })
            }]
        ),
        "{:?}",
        got.events
    );
    assert!(h.client.is_closed());
}

#[test]
fn iqs_sent_while_offline_are_flushed_after_reconnecting() {
    let mut h = Harness::new(tcp_config());
    h.login();
    // One in flight when the connection drops: reported, never silent.
    h.client.send_proxy_iq(h.now, PEER, &signal()).unwrap();
    h.drain();
    h.take();
    h.client.handle_closed(h.now, None);
    h.drain();
    let events = h.take().events;
    assert_eq!(
        events[0],
        Event::IqFailed {
            to: PEER.into(),
            reason: IqFailure::ConnectionLost
        }
    );

    h.client.send_proxy_iq(h.now, PEER, &signal()).unwrap();
    h.client
        .send_proxy_iq(h.now, "other@guest.localhost/o", &signal())
        .unwrap();
    h.drain();
    let got = h.take();
    assert!(got.sent.is_empty() && got.events.is_empty());

    h.run_to_deadline();
    let got = h.login();
    let flushed: Vec<_> = got.sent.iter().filter(|s| s.contains("jingle")).collect();
    assert_eq!(flushed.len(), 2, "{:?}", got.sent);
    assert_eq!(attr(flushed[0], "to"), PEER);
    assert_eq!(attr(flushed[1], "to"), "other@guest.localhost/o");
    assert_ne!(attr(flushed[0], "id"), attr(flushed[1], "id"));
}

#[test]
fn the_offline_queue_is_bounded_and_expires() {
    let mut h = Harness::new(tcp_config());
    for _ in 0..MAX_QUEUED {
        h.client.send_proxy_iq(h.now, PEER, &signal()).unwrap();
    }
    h.drain();
    assert!(h.take().events.is_empty());
    h.client.send_proxy_iq(h.now, PEER, &signal()).unwrap();
    h.drain();
    assert_eq!(
        h.take().events,
        [Event::IqFailed {
            to: PEER.into(),
            reason: IqFailure::TooMany
        }]
    );
    // Never connected: the login times out, and the queue expires at 30 s.
    let mut failed = 0;
    for _ in 0..100 {
        if h.now >= h.deadline.unwrap() {
            break;
        }
        h.run_to_deadline();
        let got = h.take();
        failed += got
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::IqFailed {
                        reason: IqFailure::Timeout,
                        ..
                    }
                )
            })
            .count();
        if failed == MAX_QUEUED {
            break;
        }
    }
    assert_eq!(failed, MAX_QUEUED);
}

#[test]
fn close_ends_the_stream_and_fails_what_waits() {
    let mut h = Harness::new(tcp_config());
    h.login();
    h.client.send_proxy_iq(h.now, PEER, &signal()).unwrap();
    h.drain();
    h.take();
    h.client.close(h.now);
    h.drain();
    let got = h.take();
    assert_eq!(got.sent, ["</stream:stream>"]);
    assert_eq!(got.closes, 1);
    assert_eq!(
        got.events,
        [
            Event::IqFailed {
                to: PEER.into(),
                reason: IqFailure::Closed
            },
            Event::Closed { reason: None }
        ]
    );
    assert_eq!(h.deadline, None);
    h.client.send_proxy_iq(h.now, PEER, &signal()).unwrap();
    h.drain();
    assert_eq!(
        h.take().events,
        [Event::IqFailed {
            to: PEER.into(),
            reason: IqFailure::Closed
        }]
    );
}

/// The server's stream end (`</stream:stream>` over TCP, `<close/>` over
/// WebSocket) is answered with ours before the transport closes.
#[test]
fn the_servers_stream_end_is_answered_with_ours_first() {
    use proxy_xmpp::client::{Output, Transport};
    for ws in [false, true] {
        let mut config = tcp_config();
        if ws {
            config.transport = Transport::WebSocket { secure: false };
        }
        let mut h = Harness::new(config);
        h.connected();
        h.take();
        if ws {
            h.client.handle_frame(
                h.now,
                "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>",
            );
            h.client.handle_frame(
                h.now,
                "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>",
            );
        } else {
            h.client
                .handle_bytes(h.now, format!("{HEADER}</stream:stream>").as_bytes());
        }
        let mut order = Vec::new();
        for _ in 0..100 {
            match h.client.poll_output() {
                Output::Timeout(_) => break,
                Output::Transmit(b) => order.push(String::from_utf8(b).unwrap()),
                Output::SendFrame(f) => order.push(f),
                Output::CloseTransport => order.push("CloseTransport".into()),
                _ => {}
            }
        }
        let ours = if ws {
            "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"
        } else {
            "</stream:stream>"
        };
        assert_eq!(order, [ours, "CloseTransport"], "ws: {ws}");
    }
}

/// An answer the core gives while offline is not kept for the next
/// connection, and says so.
#[test]
fn an_answer_given_while_offline_is_reported_not_sent() {
    let mut h = Harness::new(tcp_config());
    let ack = format!("<iq xmlns='jabber:client' to='{PEER}' type='result' id='Nl9q'/>");
    h.client.send_proxy_iq(h.now, PEER, &ack).unwrap();
    h.drain();
    let got = h.take();
    assert!(got.sent.is_empty());
    assert_eq!(
        got.events,
        [Event::IqFailed {
            to: PEER.into(),
            reason: IqFailure::Offline
        }]
    );
    // Nor sent after the login.
    let got = h.login();
    assert!(
        !got.sent.iter().any(|s| s.contains("Nl9q")),
        "{:?}",
        got.sent
    );
}

/// A queued IQ that its envelope makes too large when its turn comes fails
/// as refused, not as if the client were closed.
#[test]
fn a_queued_iq_too_large_once_wrapped_is_refused() {
    let mut config = tcp_config();
    config.envelope = proxy_xmpp::envelope::Envelope::JitsiProxy;
    let padding = "x".repeat(4000);
    let signal = signal().replace(
        "xmpp.connection.ice.failed",
        &format!("xmpp.connection.ice.failed{padding}"),
    );
    // The IQ fits, its escaped copy in the envelope does not.
    config.limits.max_bytes = signal.len() + 16;
    let mut h = Harness::new(config);
    h.client.send_proxy_iq(h.now, PEER, &signal).unwrap();
    h.drain();
    assert!(h.take().events.is_empty(), "queued");
    let got = h.login();
    assert!(!got.sent.iter().any(|s| s.contains("jitsi:proxy")));
    let failed: Vec<_> = got
        .events
        .iter()
        .filter(|e| matches!(e, Event::IqFailed { .. }))
        .collect();
    assert!(
        matches!(
            failed[..],
            [Event::IqFailed {
                reason: IqFailure::Refused(_),
                ..
            }]
        ),
        "{:?}",
        got.events
    );
}

/// Waits for the next attempt, connects, and logs in up to the bind
/// request; returns the resource it asks for and answers it.
fn reconnect_and_bind(h: &mut Harness) -> String {
    h.run_to_deadline();
    assert_eq!(h.take().connects, 1, "the next attempt");
    h.connected();
    h.feed(&format!("{HEADER}{FEATURES_ANONYMOUS}"));
    h.feed(SUCCESS);
    h.feed(&format!("{HEADER}{FEATURES_BIND}"));
    let bind = h.take().sent.pop().expect("bind sent");
    let resource = parse(&bind)
        .child("bind", NS_BIND)
        .and_then(|b| b.child("resource", NS_BIND))
        .map(|r| r.text.clone())
        .unwrap_or_else(|| panic!("no resource in {bind}"));
    let jid = format!("anon1@guest.localhost/{resource}");
    h.feed(&format!(
        "<iq type='result' id='{}'><bind xmlns='{NS_BIND}'><jid>{jid}</jid></bind></iq>",
        attr(&bind, "id")
    ));
    assert_eq!(h.client.jid(), Some(jid.as_str()));
    h.take();
    resource
}

const CONFLICT: &str =
    "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>";

/// Another session took our resource: the next connection binds a fresh
/// suffixed one instead of taking it back (two clients configured with one
/// resource would otherwise take turns forever), and keeps it.
#[test]
fn a_conflict_stream_error_rebinds_with_a_fresh_resource() {
    let mut h = Harness::new(tcp_config());
    h.login();
    // A plain loss binds the same resource again.
    h.client.handle_closed(h.now, None);
    h.drain();
    assert_eq!(reconnect_and_bind(&mut h), "fixture");

    h.feed(CONFLICT);
    let events = h.take().events;
    let (reason, _) = offline_delay(h.now, &events);
    assert_eq!(
        reason,
        ClientError::StreamError {
            condition: StreamCondition::Conflict,
            text: None
        }
    );
    // The resource the next connections bind is told now.
    let Some(Event::Error(ClientError::ResourceConflict { refused, next })) = events.last() else {
        panic!("no ResourceConflict in {events:?}");
    };
    assert_eq!(refused, "fixture");
    let next = next.clone();
    let first = reconnect_and_bind(&mut h);
    assert_eq!(first, next, "the resource announced is the one bound");
    let suffix = first
        .strip_prefix("fixture-")
        .unwrap_or_else(|| panic!("not suffixed: {first}"));
    assert_eq!(suffix.len(), 8);
    assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()), "{first}");

    // Kept after a plain loss: taking "fixture" back would kick the other.
    h.client.handle_closed(h.now, None);
    h.drain();
    assert_eq!(reconnect_and_bind(&mut h), first);

    // Taken again: a new suffix on the configured resource.
    h.feed(CONFLICT);
    h.take();
    let second = reconnect_and_bind(&mut h);
    assert_ne!(second, first);
    assert!(second.starts_with("fixture-"), "{second}");
    assert_eq!(second.len(), first.len(), "the suffix does not pile up");
}

/// Two clients configured with one resource, served by a server that gives
/// the resource to the newest session: they settle instead of kicking each
/// other forever.
#[test]
fn two_clients_with_one_resource_settle() {
    let mut a = Harness::new(tcp_config());
    let mut config = tcp_config();
    config.seed = [8; 32];
    let mut b = Harness::new(config);
    // The server's sessions: the resource bound by each client.
    let mut bound = [String::new(), String::new()];
    a.login();
    bound[0] = "fixture".into();
    let mut kicks = 0;
    // b binds, taking a's resource; whoever is kicked reconnects, and so on.
    let mut next = 1;
    for _ in 0..10 {
        let (h, other) = if next == 1 { (&mut b, 0) } else { (&mut a, 1) };
        let r = if h.client.is_online() {
            h.feed(CONFLICT);
            h.take();
            kicks += 1;
            reconnect_and_bind(h)
        } else {
            h.login();
            "fixture".into()
        };
        bound[next] = r.clone();
        if bound[other] != r {
            break;
        }
        // The server kicks the older session with this resource.
        next = other;
    }
    assert_ne!(bound[0], bound[1], "{bound:?}");
    assert!(kicks <= 1, "{kicks} kicks");
}
