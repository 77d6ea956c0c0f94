//! The captured Prosody session over TCP frames the same for every split of
//! its bytes, and each stanza comes out normalized so it parses on its own.

mod framing_support;

use framing_support::{name, run, PROSODY_TCP};
use proxy_core::{parse_iq, IqType, Limits};
use proxy_xmpp::framing::{Frame, StreamClose};

fn whole() -> Vec<Frame> {
    run(Limits::default(), [PROSODY_TCP])
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("the fixture frames without error")
}

#[test]
fn the_session_frames_as_prosody_sent_it() {
    let frames = whole();
    let shape: Vec<String> = frames
        .iter()
        .map(|f| match f {
            Frame::Open(_) => "open".to_owned(),
            Frame::Stanza(s) => name(s).to_owned(),
            Frame::Close(_) => "close".to_owned(),
        })
        .collect();
    assert_eq!(
        shape,
        [
            "open",
            "stream:features",
            "success",
            "open",
            "stream:features",
            "iq",
            "iq",
            "message",
            "iq",
            "close"
        ]
    );
    let Frame::Open(open) = &frames[0] else {
        unreachable!()
    };
    assert_eq!(open.from.as_deref(), Some("guest.localhost"));
    assert_eq!(open.version.as_deref(), Some("1.0"));
    assert_eq!(open.lang.as_deref(), Some("en"));
    let Frame::Open(second) = &frames[3] else {
        unreachable!()
    };
    assert!(
        second.id.is_some() && second.id != open.id,
        "a restart is a new stream"
    );
    assert_eq!(frames[9], Frame::Close(StreamClose::default()));
}

#[test]
fn stanzas_carry_the_namespaces_they_inherited() {
    for frame in whole() {
        let Frame::Stanza(s) = frame else { continue };
        let start = &s[..s.find('>').unwrap()];
        assert!(
            start.contains("xmlns='jabber:client'") || start.contains("xmlns='urn:"),
            "{start}"
        );
        assert_eq!(
            start.contains("xmlns:stream='http://etherx.jabber.org/streams'"),
            s.starts_with("<stream:"),
            "{start}"
        );
    }
    let frames = whole();
    let Frame::Stanza(features) = &frames[1] else {
        unreachable!()
    };
    assert!(features.starts_with(
        "<stream:features xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
    ));
    // SASL's own namespace is kept, nothing added.
    assert_eq!(
        frames[2],
        Frame::Stanza("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>".into())
    );
    let Frame::Stanza(message) = &frames[7] else {
        unreachable!()
    };
    assert!(
        message.contains("<body>caf\u{e9} &amp; \u{2603} \u{1F600}</body>"),
        "{message}"
    );
}

#[test]
fn normalized_iqs_parse_standalone_and_raw_ones_do_not() {
    let limits = Limits::default();
    let iqs: Vec<String> = whole()
        .into_iter()
        .filter_map(|f| match f {
            Frame::Stanza(s) if s.starts_with("<iq") => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(iqs.len(), 3);
    let ids: Vec<_> = iqs
        .iter()
        .map(|s| {
            let iq = parse_iq(s, &limits).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(iq.kind, IqType::Result);
            iq.id.unwrap()
        })
        .collect();
    assert_eq!(ids, ["bind1", "ext1", "ping1"]);
    // What the server wrote, without the inherited namespace, is refused.
    let raw = iqs[2].replacen(" xmlns='jabber:client'", "", 1);
    assert!(parse_iq(&raw, &limits).is_err(), "{raw}");
}

#[test]
fn every_split_in_two_gives_the_same_frames() {
    let expected = run(Limits::default(), [PROSODY_TCP]);
    for at in 0..=PROSODY_TCP.len() {
        let (a, b) = PROSODY_TCP.split_at(at);
        assert_eq!(run(Limits::default(), [a, b]), expected, "split at {at}");
    }
}

#[test]
fn byte_by_byte_and_every_chunk_size_give_the_same_frames() {
    let expected = run(Limits::default(), [PROSODY_TCP]);
    for size in 1..=64 {
        assert_eq!(
            run(Limits::default(), PROSODY_TCP.chunks(size)),
            expected,
            "chunks of {size}"
        );
    }
}

#[test]
fn every_split_in_three_around_the_restart_gives_the_same_frames() {
    // The restart: `<success/>` and the new header, where reset() meets
    // bytes already buffered.
    let expected = run(Limits::default(), [PROSODY_TCP]);
    let text = std::str::from_utf8(PROSODY_TCP).unwrap();
    let from = text.find("<success").unwrap();
    let to = from + text[from..].find("<stream:features").unwrap() + 20;
    for i in from..to {
        for j in i..to {
            let chunks = [&PROSODY_TCP[..i], &PROSODY_TCP[i..j], &PROSODY_TCP[j..]];
            assert_eq!(
                run(Limits::default(), chunks),
                expected,
                "splits at {i}, {j}"
            );
        }
    }
}
