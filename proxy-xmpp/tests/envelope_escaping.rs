//! Markup characters, quotes, CR and non-ASCII inside the carried IQ (in its
//! attributes and its text) survive every form: escaped as XML text in
//! `<data>`, as JSON in XML text in Spot's `<message>`.

use proxy_core::jingle::{Action, Jingle};
use proxy_core::{parse_iq, write_iq, Iq, Limits};
use proxy_xmpp::envelope::{Envelope, SpotMessageType};

const AWKWARD: &str = "a<b & c>d \"q\" 'a' &amp; ]]> \\ \r\n\t ä 日本 😀 \u{fffd}";

fn forms() -> [Envelope; 3] {
    [
        Envelope::Direct,
        Envelope::JitsiProxy,
        Envelope::Spot {
            message_type: SpotMessageType::Other("x<&\"'y".into()),
        },
    ]
}

/// An IQ from the core's writer with `text` in an attribute and in text.
fn awkward_iq(text: &str) -> String {
    let mut jingle = Jingle::new(Action::ConnectionErrorEncountered);
    jingle.details = Some(text.to_owned());
    write_iq(&Iq::set(
        format!("room@conference.localhost/{text}"),
        jingle,
    ))
}

#[test]
fn awkward_characters_survive_every_form() {
    let limits = Limits::default();
    let iq = awkward_iq(AWKWARD);
    let sent = parse_iq(&iq, &limits).unwrap();
    assert_eq!(
        sent.jingle.as_ref().unwrap().details.as_deref(),
        Some(AWKWARD)
    );
    for form in forms() {
        let to = "o'r\"<&>@conference.localhost/ä\t";
        let id = "i&d\"'<>";
        let stanza = form.wrap(to, id, &iq, &limits).unwrap();
        let outer = parse_iq(&stanza, &limits).unwrap();
        assert_eq!(outer.to.as_deref(), Some(to), "{form:?}: {stanza}");
        assert_eq!(outer.id.as_deref(), Some(id), "{form:?}");
        let got = Envelope::unwrap(&stanza, &limits).unwrap().unwrap();
        assert_eq!(got.envelope, form);
        assert_eq!(got.outer.id.as_deref(), Some(id));
        let inner = parse_iq(&got.iq, &limits).unwrap();
        assert_eq!(inner.jingle, sent.jingle, "{form:?}");
        if form != Envelope::Direct {
            assert_eq!(got.iq, iq, "{form:?}: byte for byte");
        }
    }
}

#[test]
fn the_wrapped_text_holds_no_raw_markup_or_cr() {
    let limits = Limits::default();
    let iq = awkward_iq(AWKWARD);
    let proxy = Envelope::JitsiProxy
        .wrap("a@b/c", "1", &iq, &limits)
        .unwrap();
    let data = proxy
        .split_once("<data>")
        .and_then(|(_, rest)| rest.split_once("</data>"))
        .map(|(data, _)| data)
        .expect("one <data>");
    assert!(!data.contains('<') && !data.contains('\r'), "{data}");
    assert!(data.contains("日本 😀"), "non-ASCII travels as is: {data}");
    assert!(
        data.contains("&amp;amp;"),
        "an escaped & is escaped again: {data}"
    );

    let spot = Envelope::Spot {
        message_type: SpotMessageType::FromJitsiMeet,
    };
    let spot = spot.wrap("a@b/c", "1", &iq, &limits).unwrap();
    let body = spot
        .split_once("type=\"update-message-from-jitsi-meet\">")
        .and_then(|(_, rest)| rest.split_once("</message>"))
        .map(|(body, _)| body)
        .expect("one <message>");
    assert!(!body.contains('<') && !body.contains('\r'), "{body}");
    assert!(body.starts_with("{\"iq\":\"&lt;iq "), "{body}");
}

#[test]
fn json_escapes_from_other_writers_are_read() {
    // JSON.stringify may escape more than serde_json does (\u003c, \/,
    // surrogate pairs); all of it must come out as the same IQ.
    let limits = Limits::default();
    let iq = awkward_iq("日本 😀 </x>");
    let mut json = String::from("{\"other\":[1,{\"x\":null}],\"iq\":\"");
    for c in iq.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '<' => json.push_str("\\u003c"),
            '/' => json.push_str("\\/"),
            '😀' => json.push_str("\\ud83d\\ude00"),
            c => json.push(c),
        }
    }
    json.push_str("\"}");
    let json = json.replace('&', "&amp;").replace('>', "&gt;");
    let stanza = format!(
        "<iq xmlns='jabber:client' type='set' from='a@b/c' id='9'>\
         <message xmlns='jitsi-meet-spot-message' type='update-message-from-jitsi-meet'>{json}</message></iq>"
    );
    let got = Envelope::unwrap(&stanza, &limits).unwrap().unwrap();
    assert_eq!(got.iq, iq);
}

#[test]
fn cdata_and_prefixed_namespaces_are_read() {
    let limits = Limits::default();
    let iq = awkward_iq("plain");
    let stanza = format!(
        "<iq xmlns='jabber:client' type='set' from='a@b/c' id='9'>\
         <p:proxy xmlns:p='jitsi:proxy'><p:data><![CDATA[{iq}]]></p:data></p:proxy></iq>"
    );
    let got = Envelope::unwrap(&stanza, &limits).unwrap().unwrap();
    assert_eq!(got.envelope, Envelope::JitsiProxy);
    assert_eq!(got.iq, iq);
}

#[test]
fn a_raw_cr_in_the_carried_iq_survives() {
    // XML reads a raw CR as LF; the wrapped text must keep it as it was.
    let limits = Limits::default();
    let iq = "<iq to=\"a@b/c\"\r\n type=\"set\" xmlns=\"jabber:client\"><jingle \
              action=\"connection-error-encountered\" xmlns=\"urn:xmpp:jingle:1\">\
              <details>re\rjected\r\n</details></jingle></iq>";
    for form in &forms()[1..] {
        let stanza = form.wrap("a@b/c", "1", iq, &limits).unwrap();
        let got = Envelope::unwrap(&stanza, &limits).unwrap().unwrap();
        assert_eq!(got.iq, iq, "{form:?}");
    }
}
