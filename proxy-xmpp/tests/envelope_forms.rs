//! Each envelope form carries every captured lib-jitsi-meet IQ
//! (`proxy-core/tests/vectors`) to the peer and back unchanged, and the
//! outer IQ is addressed and answered as XMPP requires.

use proxy_core::{parse_iq, IqType, Limits};
use proxy_xmpp::envelope::{answer_result, Envelope, SpotMessageType};

const TO: &str = "room@conference.localhost/tv";
const FROM: &str = "room@conference.localhost/laptop";

/// The captured IQs, by file name, as lib-jitsi-meet hands them to
/// `onSendMessage`.
fn vectors() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../proxy-core/tests/vectors");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("the vectors directory")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).expect("a vector"))
        })
        .collect();
    out.sort();
    out
}

fn forms() -> [Envelope; 4] {
    [
        Envelope::Direct,
        Envelope::JitsiProxy,
        Envelope::Spot {
            message_type: SpotMessageType::FromRemoteControl,
        },
        Envelope::Spot {
            message_type: SpotMessageType::FromJitsiMeet,
        },
    ]
}

/// The stanza as the server delivers it: with the sender's `from`.
fn delivered(stanza: &str) -> String {
    assert!(stanza.starts_with("<iq "), "{stanza}");
    stanza.replacen("<iq ", &format!("<iq from=\"{FROM}\" "), 1)
}

#[test]
fn every_vector_round_trips_in_every_form() {
    let limits = Limits::default();
    let vectors = vectors();
    assert_eq!(vectors.len(), 9, "the vectors README lists nine .xml files");
    for (name, iq) in &vectors {
        let sent = parse_iq(iq, &limits).expect("a vector parses");
        assert_eq!(sent.id, None, "{name}: lib-jitsi-meet sends no id");
        for form in forms() {
            let stanza = form.wrap(TO, "px1", iq, &limits).expect("wrap");
            // The outer IQ: a set to the peer with our id, in jabber:client.
            let outer = parse_iq(&stanza, &limits).expect("the stanza is an IQ");
            assert_eq!(outer.kind, IqType::Set, "{name} {form:?}");
            assert_eq!(outer.to.as_deref(), Some(TO), "{name} {form:?}");
            assert_eq!(outer.id.as_deref(), Some("px1"), "{name} {form:?}");

            let got = Envelope::unwrap(&delivered(&stanza), &limits)
                .expect("recognized")
                .expect("readable");
            assert_eq!(got.envelope, form, "{name}");
            assert_eq!(got.outer.from.as_deref(), Some(FROM), "{name} {form:?}");
            assert_eq!(got.outer.id.as_deref(), Some("px1"), "{name} {form:?}");
            let message = got.message().expect("a from");
            assert_eq!(message.from, FROM);
            match form {
                Envelope::Direct => {
                    assert!(!got.needs_result(), "the core acks a Direct IQ");
                    assert_eq!(got.result(), None);
                    assert_eq!(got.iq, delivered(&stanza));
                    // Only the start tag changed: the payload is the same bytes.
                    let payload = &iq[iq.find('>').unwrap() + 1..];
                    assert!(stanza.ends_with(payload), "{name}");
                    let inner = parse_iq(&got.iq, &limits).unwrap();
                    assert_eq!(inner.jingle, sent.jingle, "{name}");
                }
                _ => {
                    assert!(got.needs_result(), "{form:?} is answered by the XMPP layer");
                    assert_eq!(
                        &got.iq, iq,
                        "{name} {form:?}: the IQ comes out byte for byte"
                    );
                    assert_eq!(message.iq, *iq);
                }
            }
        }
    }
}

#[test]
fn direct_stamps_the_id_only_when_missing() {
    let limits = Limits::default();
    let (_, iq) = vectors().remove(0);
    let stanza = Envelope::Direct.wrap(TO, "stamp-7", &iq, &limits).unwrap();
    let parsed = parse_iq(&stanza, &limits).unwrap();
    assert_eq!(parsed.id.as_deref(), Some("stamp-7"));
    assert_eq!(
        parsed.to.as_deref(),
        Some(TO),
        "to replaces the captured one"
    );
    assert_eq!(stanza.matches(" to=").count(), 1, "{stanza}");

    // The core's ack echoes the id it answers: that id must stay.
    let ack = answer_result(FROM, "Nl9qbWh6");
    let stanza = Envelope::Direct
        .wrap(FROM, "stamp-8", &ack, &limits)
        .unwrap();
    let parsed = parse_iq(&stanza, &limits).unwrap();
    assert_eq!(parsed.kind, IqType::Result);
    assert_eq!(parsed.id.as_deref(), Some("Nl9qbWh6"));
    assert!(!stanza.contains("stamp-8"), "{stanza}");
}

#[test]
fn the_answer_echoes_the_id_as_received() {
    // A MUC rewrites the id on the way to an occupant; the answer must carry
    // the rewritten one.
    let limits = Limits::default();
    let (_, iq) = vectors().remove(0);
    let stanza = Envelope::JitsiProxy
        .wrap(TO, "mine-1", &iq, &limits)
        .unwrap();
    let rewritten = delivered(&stanza).replace("id=\"mine-1\"", "id=\"Nl9qbWh6T3V0\"");
    let got = Envelope::unwrap(&rewritten, &limits).unwrap().unwrap();
    let answer = got.result().expect("a wrapped form is answered");
    let answer = parse_iq(&answer, &limits).unwrap();
    assert_eq!(answer.kind, IqType::Result);
    assert_eq!(answer.id.as_deref(), Some("Nl9qbWh6T3V0"));
    assert_eq!(answer.to.as_deref(), Some(FROM));
}

/// vector 09 as the reference document's strophe code sends it:
/// `createIQ({to, type:'set'}).c('proxy', {xmlns:'jitsi:proxy'}).c('data').t(message.iq)`.
const STROPHE_PROXY: &str =
    "<iq to='room@conference.localhost/tv' type='set' xmlns='jabber:client' \
id='1f3a:sendIQ' from='room@conference.localhost/laptop'><proxy xmlns='jitsi:proxy'><data>\
&lt;iq to=\"intruder@example.com/i1\" type=\"set\" xmlns=\"jabber:client\"&gt;&lt;jingle \
action=\"connection-error-encountered\" xmlns=\"urn:xmpp:jingle:1\"&gt;&lt;details&gt;rejected\
&lt;/details&gt;&lt;/jingle&gt;&lt;/iq&gt;</data></proxy></iq>";

/// vector 09 as Jitsi Spot's `sendMessage(to, type, data)` sends it:
/// `$iq({to, type:'set'}).c('message', {type, xmlns}).t(JSON.stringify(data))`.
const SPOT_MESSAGE: &str = "<iq xmlns=\"jabber:client\" to=\"room@conference.localhost/tv\" \
type=\"set\" id=\"0b2e:sendIQ\" from=\"room@conference.localhost/laptop\"><message \
type=\"update-message-from-remote-control\" xmlns=\"jitsi-meet-spot-message\">{\"iq\":\
\"&lt;iq to=\\\"intruder@example.com/i1\\\" type=\\\"set\\\" xmlns=\\\"jabber:client\\\"&gt;\
&lt;jingle action=\\\"connection-error-encountered\\\" xmlns=\\\"urn:xmpp:jingle:1\\\"&gt;\
&lt;details&gt;rejected&lt;/details&gt;&lt;/jingle&gt;&lt;/iq&gt;\"}</message></iq>";

#[test]
fn the_forms_real_clients_send_are_read() {
    let limits = Limits::default();
    let (name, rejection) = vectors().remove(6);
    assert!(name.starts_with("09-"), "{name}");
    for (stanza, envelope, id) in [
        (STROPHE_PROXY, Envelope::JitsiProxy, "1f3a:sendIQ"),
        (
            SPOT_MESSAGE,
            Envelope::Spot {
                message_type: SpotMessageType::FromRemoteControl,
            },
            "0b2e:sendIQ",
        ),
    ] {
        let got = Envelope::unwrap(stanza, &limits).unwrap().unwrap();
        assert_eq!(got.envelope, envelope);
        assert_eq!(got.iq, rejection);
        assert_eq!(got.outer.id.as_deref(), Some(id));
        assert_eq!(got.outer.from.as_deref(), Some(FROM));
    }
}
