//! Garbage inside each envelope, oversized payloads and stanzas that are not
//! proxy IQs: a clear error or `None`, never a panic, and an error answer
//! that echoes the outer id.

use proxy_core::{parse_iq, DefinedCondition, IqType, Limits, ParseError};
use proxy_xmpp::envelope::{Envelope, EnvelopeError, Refused};

const HEAD: &str = "<iq xmlns='jabber:client' type='set' from='a@b/c' id='q1'>";

fn proxy(data: &str) -> String {
    format!("{HEAD}<proxy xmlns='jitsi:proxy'><data>{data}</data></proxy></iq>")
}

fn spot(body: &str) -> String {
    format!(
        "{HEAD}<message xmlns='jitsi-meet-spot-message' \
         type='update-message-from-remote-control'>{body}</message></iq>"
    )
}

/// What the refusal's error must match.
type Expect = fn(&EnvelopeError) -> bool;

fn refused(stanza: &str, limits: &Limits) -> Refused {
    match Envelope::unwrap(stanza, limits) {
        Some(Err(refused)) => refused,
        other => panic!("expected a refusal for {stanza:?}, got {other:?}"),
    }
}

/// The answer to a refused IQ: an error with `condition`, to the sender,
/// with the outer id.
fn assert_answer(refused: &Refused, condition: DefinedCondition) {
    let answer = refused.answer().expect("from and id are known");
    let answer = parse_iq(&answer, &Limits::default()).expect("the answer parses");
    assert_eq!(answer.kind, IqType::Error);
    assert_eq!(answer.id.as_deref(), Some("q1"));
    assert_eq!(answer.to.as_deref(), Some("a@b/c"));
    let error = answer.error.expect("an <error>");
    assert_eq!(error.condition, condition);
    assert_eq!(error.text, Some(refused.error.to_string()));
}

#[test]
fn garbage_inside_each_envelope_is_a_clear_error() {
    let limits = Limits::default();
    let cases: [(String, Expect); 10] = [
        (proxy("not an iq"), |e| {
            matches!(e, EnvelopeError::Iq(ParseError::Xml { .. }))
        }),
        (proxy("&lt;iq"), |e| {
            matches!(e, EnvelopeError::Iq(ParseError::Xml { .. }))
        }),
        (proxy("&lt;message xmlns='jabber:client'/&gt;"), |e| {
            matches!(e, EnvelopeError::Iq(ParseError::UnexpectedElement { .. }))
        }),
        (
            format!("{HEAD}<proxy xmlns='jitsi:proxy'><other/></proxy></iq>"),
            |e| matches!(e, EnvelopeError::NoData),
        ),
        (spot("not json"), |e| {
            matches!(e, EnvelopeError::Json { .. })
        }),
        (spot("{\"iq\": 5}"), |e| matches!(e, EnvelopeError::NoIq)),
        (spot("[\"iq\"]"), |e| matches!(e, EnvelopeError::NoIq)),
        (spot("{\"iq\": \"&lt;iq/&gt;\"}"), |e| {
            matches!(e, EnvelopeError::Iq(_))
        }),
        (spot(&"[".repeat(100_000)), |e| {
            matches!(e, EnvelopeError::Json { .. })
        }),
        (
            format!("{HEAD}<jingle xmlns='urn:xmpp:jingle:1'/></iq>"),
            |e| matches!(e, EnvelopeError::Iq(_)),
        ),
    ];
    for (stanza, expected) in &cases {
        let refused = refused(stanza, &limits);
        assert!(
            expected(&refused.error),
            "{stanza:.120}: {:?}",
            refused.error
        );
        assert!(refused.envelope.is_some(), "{stanza:.120}");
        assert_answer(&refused, DefinedCondition::BadRequest);
    }
}

#[test]
fn a_broken_outer_stanza_is_a_stanza_error() {
    let limits = Limits::default();
    let deep = format!("{HEAD}{}{}</iq>", "<x>".repeat(20), "</x>".repeat(20));
    let cases: [(String, bool); 7] = [
        // Unclosed: the outer id is known, so it can be answered.
        (proxy("x").replace("</iq>", ""), true),
        (proxy("&foo;"), true),
        (proxy("&#0;"), true),
        (proxy("<?pi x?>"), true),
        (deep, true),
        (
            format!("<!DOCTYPE iq [<!ENTITY a 'b'>]>{}", proxy("&a;")),
            false,
        ),
        (format!("{}\u{1}", proxy("x")), false),
    ];
    for (stanza, answerable) in &cases {
        let refused = refused(stanza, &limits);
        assert!(
            matches!(refused.error, EnvelopeError::Stanza(_)),
            "{stanza:.120}: {:?}",
            refused.error
        );
        assert_eq!(refused.outer.is_some(), *answerable, "{stanza:.120}");
        if *answerable {
            assert_answer(&refused, DefinedCondition::BadRequest);
        }
    }
}

#[test]
fn an_oversized_payload_is_refused() {
    let limits = Limits {
        max_bytes: 4096,
        ..Limits::default()
    };
    let iq = format!(
        "<iq to='a@b/c' type='set' xmlns='jabber:client'><jingle action='connection-error-encountered' \
         xmlns='urn:xmpp:jingle:1'><details>{}</details></jingle></iq>",
        "x".repeat(4096)
    );
    // Incoming: the stanza is measured before anything is read.
    let escaped = iq.replace('<', "&lt;");
    for stanza in [proxy(&escaped), spot(&format!("{{\"iq\":\"{escaped}\"}}"))] {
        let refused = refused(&stanza, &limits);
        assert!(
            matches!(
                refused.error,
                EnvelopeError::Stanza(ParseError::TooLarge { limit: 4096, .. })
            ),
            "{:?}",
            refused.error
        );
        assert_eq!(refused.answer(), None, "nothing of it was read");
    }
    // The same with the default limit is read.
    let got = Envelope::unwrap(&proxy(&escaped), &Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(got.iq, iq);

    // Outgoing: an IQ the peer could not read is not sent.
    let err = Envelope::JitsiProxy
        .wrap("a@b/c", "1", &iq, &limits)
        .unwrap_err();
    assert!(
        matches!(err, EnvelopeError::Iq(ParseError::TooLarge { .. })),
        "{err:?}"
    );
    // An IQ that fits, but not once escaped.
    let small = iq.replace(&"x".repeat(4096), &"<x/>".repeat(700));
    assert!(small.len() < 4096);
    let err = Envelope::JitsiProxy
        .wrap("a@b/c", "1", &small, &limits)
        .unwrap_err();
    assert!(
        matches!(err, EnvelopeError::Stanza(ParseError::TooLarge { .. })),
        "{err:?}"
    );
    assert!(Envelope::Direct.wrap("a@b/c", "1", &small, &limits).is_ok());
}

#[test]
fn stanzas_that_are_not_proxy_iqs_are_left_alone() {
    let limits = Limits::default();
    for stanza in [
        "<presence xmlns='jabber:client' from='r@conference.localhost/x' type='unavailable'/>",
        "<message xmlns='jabber:client' type='groupchat'><subject/></message>",
        "<iq xmlns='jabber:client' type='result' id='b1'/>",
        "<iq xmlns='jabber:client' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
        "<iq xmlns='jabber:client' type='get' id='p1'><jingle xmlns='urn:xmpp:jingle:1'/></iq>",
        "<iq xmlns='jabber:client' type='set' id='r1'><query xmlns='jabber:iq:roster'/></iq>",
        "<iq xmlns='jabber:client' type='set' id='r1'/>",
        "<iq type='set' id='r1'><jingle xmlns='urn:xmpp:jingle:1' action='x'/></iq>",
        "<iq xmlns='jabber:server' type='set' id='r1'><proxy xmlns='jitsi:proxy'/></iq>",
        "<iq xmlns='jabber:client' type='set' id='r1'><proxy xmlns='other'><data/></proxy></iq>",
        "<iq xmlns='jabber:client' type='set' id='r1'><message xmlns='jabber:client'/></iq>",
    ] {
        assert_eq!(Envelope::unwrap(stanza, &limits), None, "{stanza}");
    }
}
