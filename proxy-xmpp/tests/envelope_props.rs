//! Properties: arbitrary input never panics `unwrap`; whatever it accepts,
//! the core can read; arbitrary text in a carried IQ round-trips in every
//! form; damaged wrapped stanzas never panic either.

use proptest::prelude::*;
use proxy_core::jingle::{Action, Jingle};
use proxy_core::{parse_iq, write_iq, Iq, Limits};
use proxy_xmpp::envelope::{Envelope, SpotMessageType};

fn form() -> impl Strategy<Value = Envelope> {
    prop_oneof![
        Just(Envelope::Direct),
        Just(Envelope::JitsiProxy),
        any::<String>().prop_map(|t| Envelope::Spot {
            message_type: SpotMessageType::from_wire(&t)
        }),
    ]
}

/// A complete IQ the core reads, without its outer `<` and `>`.
const INNER: &str = "iq xmlns='jabber:client' type='set'&gt;&lt;jingle xmlns='urn:xmpp:jingle:1' \
                     action='session-terminate'/&gt;&lt;/iq";

/// Pieces of the three forms, and anything else.
fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<iq xmlns='jabber:client' type='set' id='1' from='a@b/c'>".to_owned()),
        Just("<proxy xmlns='jitsi:proxy'>".to_owned()),
        Just("<data>".to_owned()),
        Just("</data></proxy></iq>".to_owned()),
        Just("<message xmlns='jitsi-meet-spot-message' type='t'>".to_owned()),
        Just("</message></iq>".to_owned()),
        Just("{\"iq\":\"".to_owned()),
        Just(format!("&lt;{INNER}&gt;")),
        Just("<jingle xmlns='urn:xmpp:jingle:1' action='session-terminate'/>".to_owned()),
        Just("&amp;&#13;&#x1F600;<![CDATA[<]]>".to_owned()),
        Just(String::new()),
        any::<String>(),
    ]
}

/// Input that looks like an envelope: pieces in any order, or one of the
/// three forms with a piece spliced in anywhere.
fn xmlish() -> impl Strategy<Value = String> {
    let head = "<iq xmlns='jabber:client' type='set' id='1' from='a@b/c'>";
    let valid = [
        format!("{head}<proxy xmlns='jitsi:proxy'><data>&lt;{INNER}&gt;</data></proxy></iq>"),
        format!(
            "{head}<message xmlns='jitsi-meet-spot-message' type='t'>\
             {{\"iq\":\"&lt;{INNER}&gt;\"}}</message></iq>"
        ),
        format!("<{}>", INNER.replace("&gt;", ">").replace("&lt;", "<")),
    ];
    let spliced = (0..valid.len(), any::<prop::sample::Index>(), piece()).prop_map(
        move |(form, at, piece)| {
            let mut s = valid[form].clone();
            let at = at.index(s.len() + 1);
            let at = (0..=at).rev().find(|&i| s.is_char_boundary(i)).unwrap_or(0);
            s.insert_str(at, &piece);
            s
        },
    );
    prop_oneof![
        prop::collection::vec(piece(), 0..12).prop_map(|v| v.concat()),
        spliced,
    ]
}

fn small_limits() -> Limits {
    Limits {
        max_bytes: 2048,
        max_depth: 6,
        ..Limits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_input_never_panics(input in xmlish()) {
        for limits in [Limits::default(), small_limits()] {
            if let Some(Ok(got)) = Envelope::unwrap(&input, &limits) {
                prop_assert!(parse_iq(&got.iq, &limits).is_ok());
            }
        }
    }

    #[test]
    fn arbitrary_text_round_trips(
        form in form(),
        text in any::<String>(),
        to in any::<String>(),
        id in any::<String>(),
    ) {
        let limits = Limits::default();
        let mut jingle = Jingle::new(Action::ConnectionErrorEncountered);
        jingle.details = Some(text);
        let iq = write_iq(&Iq::set(format!("r@c/{to}"), jingle));
        let sent = parse_iq(&iq, &limits).unwrap();
        let stanza = form.wrap(&to, &id, &iq, &limits).unwrap();
        let got = Envelope::unwrap(&stanza, &limits).unwrap().unwrap();
        prop_assert_eq!(&got.envelope, &form);
        // Characters XML cannot carry become U+FFFD in the outer attributes.
        let clean = |s: &str| s.chars().map(|c| {
            let xml = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}'
                | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..);
            if xml { c } else { '\u{fffd}' }
        }).collect::<String>();
        prop_assert_eq!(got.outer.id, Some(clean(&id)));
        let inner = parse_iq(&got.iq, &limits).unwrap();
        prop_assert_eq!(inner.jingle, sent.jingle);
        if form != Envelope::Direct {
            prop_assert_eq!(got.iq, iq);
        }
    }

    #[test]
    fn damaged_stanzas_never_panic(
        form in form(),
        cuts in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, any::<char>()), 1..6),
    ) {
        let limits = small_limits();
        let iq = "<iq to='a@b/c' type='set' xmlns='jabber:client'><jingle \
                  action='connection-error-encountered' xmlns='urn:xmpp:jingle:1'>\
                  <details>re&amp;jected</details></jingle></iq>";
        let mut stanza: Vec<char> = form.wrap("a@b/c", "1", iq, &limits).unwrap().chars().collect();
        for (at, len, c) in cuts {
            let at = at.index(stanza.len() + 1);
            let end = (at + len).min(stanza.len());
            stanza.splice(at..end, [c]);
        }
        let stanza: String = stanza.into_iter().collect();
        if let Some(Ok(got)) = Envelope::unwrap(&stanza, &limits) {
            prop_assert!(parse_iq(&got.iq, &limits).is_ok());
        }
    }
}
