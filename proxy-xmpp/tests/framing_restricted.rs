//! What restricted XML (RFC 6120 §11.1) forbids, and malformed input, fail
//! with an error that names the problem and shows where.

mod framing_support;

use framing_support::run;
use proxy_core::Limits;
use proxy_xmpp::framing::{ws_frame, Frame, FramingError, Malformed, Restricted};

const HEADER: &str = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' \
    xmlns:stream='http://etherx.jabber.org/streams' id='s' version='1.0'>";

fn last(input: &[&str]) -> Result<Frame, FramingError> {
    let chunks: Vec<&[u8]> = input.iter().map(|s| s.as_bytes()).collect();
    run(Limits::default(), chunks).pop().expect("a frame")
}

fn restricted(input: &[&str]) -> Restricted {
    match last(input) {
        Err(FramingError::Restricted { what, .. }) => what,
        other => panic!("{input:?}: {other:?}"),
    }
}

fn malformed(input: &[&str]) -> (Malformed, String) {
    match last(input) {
        Err(FramingError::Malformed { problem, excerpt }) => (problem, excerpt),
        other => panic!("{input:?}: {other:?}"),
    }
}

#[test]
fn doctype_and_entity_declarations_are_refused() {
    let doctype = "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]>";
    assert_eq!(restricted(&[doctype]), Restricted::Doctype);
    assert_eq!(
        restricted(&[HEADER, "<!DOCTYPE x><iq/>"]),
        Restricted::Doctype
    );
    assert_eq!(
        restricted(&[HEADER, "<iq><!DOCTYPE x></iq>"]),
        Restricted::Doctype
    );
}

#[test]
fn processing_instructions_are_refused() {
    assert_eq!(
        restricted(&["<?xml-stylesheet href='x'?>", HEADER]),
        Restricted::ProcessingInstruction
    );
    assert_eq!(
        restricted(&[HEADER, "<iq><?php x ?></iq>"]),
        Restricted::ProcessingInstruction
    );
    // A second XML declaration is no declaration.
    assert_eq!(
        restricted(&[HEADER, "<?xml version='1.0'?>"]),
        Restricted::ProcessingInstruction
    );
    assert_eq!(
        restricted(&["<?xml version='1.0'?><?xml version='1.0'?>"]),
        Restricted::ProcessingInstruction
    );
}

#[test]
fn comments_and_unknown_entities_are_refused() {
    assert_eq!(
        restricted(&[HEADER, "<iq><!-- x --></iq>"]),
        Restricted::Comment
    );
    assert_eq!(
        restricted(&[HEADER, "<message><body>&lol;</body></message>"]),
        Restricted::Entity
    );
    assert_eq!(
        restricted(&[HEADER, "<message to='&lol;'/>"]),
        Restricted::Entity
    );
    // The predefined ones and character references are fine.
    let ok = last(&[
        HEADER,
        "<message to='a&amp;b'><body>&lt;&#x41;&#66;&quot;</body></message>",
    ]);
    assert!(matches!(ok, Ok(Frame::Stanza(_))), "{ok:?}");
    // A character reference to something XML cannot carry is not.
    assert_eq!(
        restricted(&[HEADER, "<message><body>&#0;</body></message>"]),
        Restricted::Entity
    );
}

#[test]
fn malformed_input_names_the_problem_and_where() {
    let (problem, excerpt) = malformed(&[HEADER, "<iq><a></b></iq>"]);
    assert_eq!(problem, Malformed::MismatchedEndTag);
    assert!(excerpt.starts_with("</b>"), "{excerpt}");
    assert_eq!(
        malformed(&[HEADER, "hello<iq/>"]).0,
        Malformed::TextOutsideElement
    );
    assert_eq!(malformed(&["<html><body>"]).0, Malformed::NotAStream);
    assert_eq!(
        malformed(&["<stream:stream xmlns:stream='urn:other'>"]).0,
        Malformed::NotAStream
    );
    assert_eq!(
        malformed(&[HEADER, "</stream:other>"]).0,
        Malformed::MismatchedEndTag
    );
    assert_eq!(
        malformed(&[HEADER, "<iq>\u{1}</iq>"]).0,
        Malformed::IllegalCharacter
    );
    let (problem, _) = malformed(&[HEADER, "<iq a='1' a='2'/>"]);
    assert!(matches!(problem, Malformed::Syntax(_)), "{problem:?}");
    let bad_utf8 = run(
        Limits::default(),
        [
            HEADER.as_bytes(),
            b"<message><body>\xff\xfe</body></message>",
        ],
    );
    assert!(
        matches!(
            bad_utf8.last(),
            Some(Err(FramingError::Malformed {
                problem: Malformed::InvalidUtf8,
                ..
            }))
        ),
        "{bad_utf8:?}"
    );
}

#[test]
fn excerpts_are_short() {
    let long = format!("<iq><a>{}</b></iq>", "y".repeat(10_000));
    let (_, excerpt) = malformed(&[HEADER, &long]);
    assert!(excerpt.len() <= 48, "{}", excerpt.len());
}

#[test]
fn the_same_rules_hold_over_websocket() {
    let limits = Limits::default();
    let refused = |m: &str| match ws_frame(m, &limits) {
        Err(FramingError::Restricted { what, .. }) => what,
        other => panic!("{m}: {other:?}"),
    };
    assert_eq!(refused("<!DOCTYPE x><iq/>"), Restricted::Doctype);
    assert_eq!(
        refused("<iq><?x y?></iq>"),
        Restricted::ProcessingInstruction
    );
    assert_eq!(
        refused("<?xml version='1.0'?><iq/>"),
        Restricted::ProcessingInstruction
    );
    assert_eq!(
        refused("<message><body>&x;</body></message>"),
        Restricted::Entity
    );
}
