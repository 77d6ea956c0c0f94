//! Logging in: the captured Prosody sessions replayed, SCRAM against a
//! scripted server, STARTTLS, and the terminal SASL failure.

mod client_support;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use client_support::*;
use hmac::{Hmac, Mac};
use proxy_core::DefinedCondition;
use proxy_xmpp::client::{ClientError, Event, TlsMode, Transport, MAX_BIND_TRIES, NS_BIND};
use proxy_xmpp::sasl::{Credentials, FailureCondition, SaslError};
use sha2::{Digest, Sha256};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

#[test]
fn prosody_tcp_session_replayed_goes_online_with_ice_servers() {
    let bytes = std::fs::read(format!("{FIXTURES}/prosody-tcp.bin")).unwrap();
    let mut h = Harness::new(tcp_config());
    assert_eq!(h.take().connects, 1);
    h.connected();
    let open = h.take().sent;
    assert_eq!(open.len(), 1);
    assert!(open[0].contains("<stream:stream") && open[0].contains("to='guest.localhost'"));
    // Byte by byte: the client copes with any split of the stream.
    for b in &bytes {
        h.client.handle_bytes(h.now, std::slice::from_ref(b));
        h.drain();
    }
    let got = h.take();
    // ANONYMOUS auth, the restart, bind with our resource, extdisco:2.
    assert!(
        got.sent[0].contains("mechanism='ANONYMOUS'"),
        "{:?}",
        got.sent
    );
    assert!(got.sent[1].contains("<stream:stream"));
    assert!(
        got.sent[2].contains("id=\"bind1\"")
            && got.sent[2].contains("<resource>fixture</resource>")
    );
    assert!(got.sent[3].contains("urn:xmpp:extdisco:2") && got.sent[3].contains("id='ext1'"));
    let jid = "fmqgbq-lrfxyg3qr42xpu4z9@guest.localhost/fixture";
    assert_eq!(got.events[0], Event::Online { jid: jid.into() });
    let Event::IceServers(servers) = &got.events[1] else {
        panic!("expected IceServers, got {:?}", got.events);
    };
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[1].username.as_deref(), Some("1796243975"));
    // The stream end: offline, with a retry planned.
    assert!(matches!(
        &got.events[2],
        Event::Offline { reason: ClientError::StreamClosed, retry_at } if *retry_at > h.now
    ));
    assert_eq!(got.events.len(), 3);
}

#[test]
fn prosody_websocket_session_replayed() {
    let text = std::fs::read_to_string(format!("{FIXTURES}/prosody-ws.json")).unwrap();
    let frames: Vec<String> = serde_json::from_str(&text).unwrap();
    let mut config = tcp_config();
    config.transport = Transport::WebSocket { secure: false };
    let mut h = Harness::new(config);
    h.connected();
    assert!(h.take().sent[0].starts_with("<open "));
    for f in &frames {
        h.feed(f);
    }
    let got = h.take();
    assert!(got.sent[1].starts_with("<open "), "restart: {:?}", got.sent);
    let jid = "ihprrdgo_870l-j7rm7n283a@guest.localhost/fixture";
    assert_eq!(got.events[0], Event::Online { jid: jid.into() });
    assert!(matches!(&got.events[1], Event::IceServers(s) if s.len() == 2));
    assert!(matches!(
        &got.events[2],
        Event::Offline {
            reason: ClientError::StreamClosed,
            ..
        }
    ));
}

#[test]
fn prosody_shutdown_is_offline_with_the_condition() {
    let bytes = std::fs::read(format!("{FIXTURES}/prosody-tcp-shutdown.bin")).unwrap();
    let mut h = Harness::new(tcp_config());
    h.connected();
    h.client.handle_bytes(h.now, &bytes);
    h.drain();
    let events = h.take().events;
    let Some(Event::Offline { reason, .. }) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(
        reason,
        &ClientError::StreamError {
            condition: proxy_xmpp::client::StreamCondition::SystemShutdown,
            text: Some("Received SIGTERM".into())
        }
    );
}

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = HmacSha256::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn field<'a>(msg: &'a str, key: &str) -> &'a str {
    msg.split(',')
        .find_map(|f| f.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key} in {msg}"))
}

fn sasl_text(stanza: &str) -> String {
    let el = parse(stanza);
    String::from_utf8(BASE64.decode(el.text.trim()).unwrap()).unwrap()
}

/// A SCRAM-SHA-256 server written from RFC 5802 / 7677 in the test.
#[test]
fn scram_sha256_login_against_a_scripted_server() {
    let mut config = tcp_config();
    config.credentials = Some(Credentials::new("alice", "secret1").unwrap());
    config.domain = "localhost".into();
    let mut h = Harness::new(config);
    h.connected();
    h.feed(&format!(
        "{}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
         <mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism>\
         <mechanism>SCRAM-SHA-256</mechanism></mechanisms></stream:features>",
        HEADER.replace("guest.localhost", "localhost")
    ));
    let auth = h.take().sent.pop().unwrap();
    assert!(auth.contains("mechanism='SCRAM-SHA-256'"), "{auth}");
    let client_first = sasl_text(&auth);
    let bare = client_first.strip_prefix("n,,").unwrap();
    assert_eq!(field(bare, "n"), "alice");
    let cnonce = field(bare, "r").to_owned();
    assert!(cnonce.len() >= 24, "nonce from the seed: {cnonce}");

    let (salt, iterations) = (b"saltsaltsalt", 4096u32);
    let server_first = format!("r={cnonce}srv,s={},i={iterations}", BASE64.encode(salt));
    h.feed(&format!(
        "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</challenge>",
        BASE64.encode(&server_first)
    ));
    let response = h.take().sent.pop().unwrap();
    let client_final = sasl_text(&response);
    let without_proof = client_final.rsplit_once(",p=").unwrap().0;
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(b"secret1", salt, iterations, &mut salted);
    let client_key = hmac(&salted, b"Client Key");
    let stored = Sha256::digest(&client_key);
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let signature = hmac(&stored, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    assert_eq!(
        field(&client_final, "p"),
        BASE64.encode(&proof),
        "client proof"
    );
    let server_key = hmac(&salted, b"Server Key");
    let verifier = BASE64.encode(hmac(&server_key, auth_message.as_bytes()));
    h.feed(&format!(
        "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{}</success>",
        BASE64.encode(format!("v={verifier}"))
    ));
    assert!(
        h.take().sent[0].contains("<stream:stream"),
        "restart after success"
    );
    h.feed(&format!("{HEADER}{FEATURES_BIND}"));
    let bind = h.take().sent.pop().unwrap();
    let id = attr(&bind, "id");
    h.feed(&format!(
        "<iq type='result' id='{id}'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>\
         <jid>alice@localhost/fixture</jid></bind></iq>"
    ));
    assert_eq!(h.client.jid(), Some("alice@localhost/fixture"));
}

#[test]
fn sasl_failure_is_closed_without_retry() {
    let mut config = tcp_config();
    config.credentials = Some(Credentials::new("alice", "wrong").unwrap());
    config.allow_plain_without_tls = true;
    let mut h = Harness::new(config);
    h.connected();
    h.feed(&format!(
        "{HEADER}<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>\
         <mechanism>PLAIN</mechanism></mechanisms></stream:features>"
    ));
    h.take();
    h.feed(
        "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/>\
         <text>Invalid username or password</text></failure>",
    );
    let got = h.take();
    assert_eq!(got.closes, 1);
    let [Event::Closed {
        reason: Some(ClientError::Sasl(SaslError::Failure { condition, text })),
    }] = &got.events[..]
    else {
        panic!("{:?}", got.events);
    };
    assert_eq!(condition, &FailureCondition::NotAuthorized);
    assert_eq!(text.as_deref(), Some("Invalid username or password"));
    assert!(h.client.is_closed());
    assert_eq!(h.deadline, None, "no retry planned");
}

#[test]
fn starttls_when_offered_and_required_when_not() {
    let mut config = tcp_config();
    config.transport = Transport::Tcp {
        tls: TlsMode::Required,
    };
    let mut h = Harness::new(config.clone());
    h.connected();
    h.take();
    h.feed(&format!(
        "{HEADER}<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/>\
         </starttls></stream:features>"
    ));
    assert!(h.take().sent[0].contains("<starttls"));
    h.feed("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    assert_eq!(h.take().starttls, 1);
    h.client.handle_tls_ready(h.now);
    h.drain();
    assert!(
        h.take().sent[0].contains("<stream:stream"),
        "a new stream over TLS"
    );
    h.feed(&format!("{HEADER}{FEATURES_ANONYMOUS}"));
    assert!(h.take().sent[0].contains("ANONYMOUS"));

    let mut h = Harness::new(config);
    h.connected();
    h.feed(&format!("{HEADER}{FEATURES_ANONYMOUS}"));
    let got = h.take();
    assert_eq!(
        got.events,
        [Event::Closed {
            reason: Some(ClientError::TlsNotOffered)
        }]
    );
}

#[test]
fn plaintext_after_proceed_is_refused() {
    let mut config = tcp_config();
    config.transport = Transport::Tcp {
        tls: TlsMode::Optional,
    };
    let starttls = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\
                    </stream:features>";
    let injected = "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>";
    // In the same read as <proceed/>.
    let mut h = Harness::new(config.clone());
    h.connected();
    h.feed(&format!("{HEADER}{starttls}"));
    h.feed(&format!(
        "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>{injected}"
    ));
    let got = h.take();
    assert_eq!(got.starttls, 0, "no handshake on a tampered stream");
    assert!(
        matches!(&got.events[..], [Event::Offline { reason: ClientError::PlaintextAfterProceed(n), .. }] if *n == injected.len()),
        "{:?}",
        got.events
    );
    // In a later read, before the handshake completed.
    let mut h = Harness::new(config);
    h.connected();
    h.feed(&format!("{HEADER}{starttls}"));
    h.feed("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    assert_eq!(h.take().starttls, 1);
    h.feed(injected);
    assert!(matches!(
        &h.take().events[..],
        [Event::Offline {
            reason: ClientError::PlaintextAfterProceed(_),
            ..
        }]
    ));
}

/// Logs in up to the bind request; returns it.
fn up_to_bind(h: &mut Harness) -> String {
    h.connected();
    h.feed(&format!("{HEADER}{FEATURES_ANONYMOUS}"));
    h.feed(SUCCESS);
    h.feed(&format!("{HEADER}{FEATURES_BIND}"));
    h.take().sent.pop().expect("bind sent")
}

/// The resource a bind request asks for.
fn resource(bind: &str) -> String {
    parse(bind)
        .child("bind", NS_BIND)
        .and_then(|b| b.child("resource", NS_BIND))
        .map(|r| r.text.clone())
        .unwrap_or_else(|| panic!("no resource in {bind}"))
}

/// The server refuses the bind `bind` with `conflict`.
fn bind_conflict(bind: &str) -> String {
    format!(
        "<iq type='error' id='{}'><error type='cancel'>\
         <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
        attr(bind, "id")
    )
}

fn assert_suffixed(resource: &str) {
    let suffix = resource
        .strip_prefix("fixture-")
        .unwrap_or_else(|| panic!("not a suffixed resource: {resource}"));
    assert_eq!(suffix.len(), 8, "{resource}");
    assert!(
        suffix
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{resource}"
    );
}

/// A resource in use: the bind is tried again with a seeded suffix.
#[test]
fn a_bind_conflict_is_retried_with_a_seeded_suffix() {
    let run = |seed: u8| {
        let mut config = tcp_config();
        config.seed = [seed; 32];
        let mut h = Harness::new(config);
        let bind = up_to_bind(&mut h);
        assert_eq!(resource(&bind), "fixture");
        h.feed(&bind_conflict(&bind));
        let got = h.take();
        let [again] = &got.sent[..] else {
            panic!("one new bind: {:?}", got.sent);
        };
        let tried = resource(again);
        assert_suffixed(&tried);
        // The retry is reported as it happens, not only at the end.
        assert_eq!(
            got.events,
            [Event::Error(ClientError::ResourceConflict {
                refused: "fixture".into(),
                next: tried.clone(),
            })]
        );
        assert_ne!(attr(again, "id"), attr(&bind, "id"));
        let jid = format!("anon1@guest.localhost/{tried}");
        h.feed(&format!(
            "<iq type='result' id='{}'><bind xmlns='{NS_BIND}'><jid>{jid}</jid></bind></iq>",
            attr(again, "id")
        ));
        assert_eq!(h.take().events, [Event::Online { jid }]);
        tried
    };
    assert_eq!(run(1), run(1), "same seed, same resource");
    let distinct: std::collections::HashSet<_> = (1..6).map(run).collect();
    assert!(distinct.len() > 1, "different seeds, different resources");
}

/// A resource still in use after [`MAX_BIND_TRIES`] binds: the bind error
/// as before (the connection is lost and tried again later).
#[test]
fn bind_conflicts_are_bounded() {
    let mut h = Harness::new(tcp_config());
    let mut bind = up_to_bind(&mut h);
    let mut tried = vec![resource(&bind)];
    for _ in 0..10 {
        h.feed(&bind_conflict(&bind));
        let mut got = h.take();
        if let Some(Event::Offline { reason, .. }) = got.events.first() {
            assert_eq!(reason, &ClientError::Bind(DefinedCondition::Conflict));
            assert_eq!(
                reason.to_string(),
                "resource binding refused: conflict",
                "the display says what was wrong"
            );
            assert_eq!(got.closes, 1);
            break;
        }
        bind = got.sent.pop().expect("a new bind");
        let next = resource(&bind);
        assert_eq!(
            got.events,
            [Event::Error(ClientError::ResourceConflict {
                refused: tried.last().expect("a bind").clone(),
                next: next.clone(),
            })]
        );
        tried.push(next);
    }
    assert_eq!(tried.len(), usize::from(MAX_BIND_TRIES), "{tried:?}");
    let distinct: std::collections::HashSet<_> = tried.iter().collect();
    assert_eq!(distinct.len(), tried.len(), "a new resource each time");
    for t in &tried[1..] {
        assert_suffixed(t);
    }
}

/// Without a configured resource the server chose it: a conflict is not
/// retried (there is nothing of ours to change).
#[test]
fn a_bind_conflict_without_a_resource_is_the_error() {
    let mut config = tcp_config();
    config.resource = None;
    let mut h = Harness::new(config);
    let bind = up_to_bind(&mut h);
    assert!(parse(&bind)
        .child("bind", NS_BIND)
        .is_some_and(|b| b.children.is_empty()));
    h.feed(&bind_conflict(&bind));
    let got = h.take();
    assert!(
        matches!(
            &got.events[..],
            [Event::Offline {
                reason: ClientError::Bind(DefinedCondition::Conflict),
                ..
            }]
        ),
        "{:?}",
        got.events
    );
}

/// A bind refused with another condition carries it typed, and one without
/// a condition is `undefined-condition`; a result without a JID and a
/// server without bind are told apart from a refusal.
#[test]
fn bind_failures_are_typed() {
    let cases = [
        (
            "<error type='auth'><not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>",
            "error",
            ClientError::Bind(DefinedCondition::NotAllowed),
        ),
        (
            "<error type='cancel'/>",
            "error",
            ClientError::Bind(DefinedCondition::UndefinedCondition),
        ),
        (
            "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>",
            "result",
            ClientError::BindNoJid,
        ),
    ];
    for (child, kind, want) in cases {
        let mut h = Harness::new(tcp_config());
        let bind = up_to_bind(&mut h);
        h.feed(&format!(
            "<iq type='{kind}' id='{}'>{child}</iq>",
            attr(&bind, "id")
        ));
        let got = h.take();
        assert!(
            matches!(&got.events[..], [Event::Offline { reason, .. }] if *reason == want),
            "{child}: {:?}",
            got.events
        );
    }
    let mut h = Harness::new(tcp_config());
    h.connected();
    h.feed(&format!("{HEADER}{FEATURES_ANONYMOUS}"));
    h.feed(SUCCESS);
    h.feed(&format!("{HEADER}<stream:features/>"));
    let got = h.take();
    assert!(
        matches!(
            &got.events[..],
            [Event::Offline {
                reason: ClientError::BindNotOffered,
                ..
            }]
        ),
        "{:?}",
        got.events
    );
    assert_eq!(
        ClientError::BindNotOffered.to_string(),
        "resource binding failed: the server does not offer it"
    );
}
