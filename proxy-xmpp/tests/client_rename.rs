//! XEP-0045 §7.6: nickname changes. Another occupant renamed has not left:
//! its IQs are handed over from the JID its session is bound to, and IQs to
//! that JID go to its new one; our own nickname changed keeps us in.

mod client_support;

use std::time::Duration;

use client_support::*;
use proxy_core::ProxyMessage;
use proxy_xmpp::client::{ClientError, Event, IqFailure, MAX_RENAMED};

const LAPTOP: &str = "room@conference.localhost/laptop";
const LAPTOP2: &str = "room@conference.localhost/laptop2";
const MUC_USER: &str = "http://jabber.org/protocol/muc#user";

/// `occupant` changes its nickname to `nick`: the `unavailable` with 303,
/// then the presence from the new occupant JID.
fn renames(occupant: &str, nick: &str) -> [String; 2] {
    [
        format!(
            "<presence type='unavailable' from='{occupant}'><x xmlns='{MUC_USER}'>\
             <item nick='{nick}' role='participant'/><status code='303'/></x></presence>"
        ),
        format!(
            "<presence from='{ROOM}/{nick}'><x xmlns='{MUC_USER}'><item role='participant'/>\
             </x></presence>"
        ),
    ]
}

fn leaves(occupant: &str) -> String {
    format!(
        "<presence type='unavailable' from='{occupant}'><x xmlns='{MUC_USER}'>\
         <item role='none'/></x></presence>"
    )
}

/// The session-initiate as the room delivers it from `from`, with `id`.
fn initiate_from(from: &str, id: &str) -> String {
    let iq = vector("01-session-initiate.sender-to-receiver.xml");
    let iq = iq.trim().replacen(
        "to=\"receiver@example.com/r1\"",
        &format!("to=\"{JID}\""),
        1,
    );
    iq.replacen("<iq ", &format!("<iq from='{from}' id='{id}' "), 1)
}

/// Logged in, in the room as `tv`, `laptop` present.
fn joined() -> Harness {
    let mut h = Harness::in_room();
    h.feed(&format!(
        "<presence from='{LAPTOP}'><x xmlns='{MUC_USER}'><item role='participant'/></x></presence>"
    ));
    assert!(h.take().events.is_empty());
    h
}

/// [`joined`], then `laptop` renamed to `laptop2` (its events taken).
fn joined_and_renamed() -> Harness {
    let mut h = joined();
    for text in renames(LAPTOP, "laptop2") {
        h.feed(&text);
    }
    h.take();
    h
}

fn signal() -> String {
    vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml")
        .trim()
        .to_owned()
}

#[test]
fn another_occupant_renamed_is_followed_not_left() {
    let mut h = joined();
    let [gone, back] = renames(LAPTOP, "laptop2");
    h.feed(&gone);
    let got = h.take();
    assert_eq!(
        got.events,
        [Event::OccupantRenamed {
            from: LAPTOP.into(),
            to: LAPTOP2.into()
        }],
        "not a leave: no OccupantLeft, no synthesized unavailable"
    );
    h.feed(&back);
    assert!(h.take().events.is_empty());

    // Its IQs come from the new JID and go to the core from the old one.
    let stanza = initiate_from(LAPTOP2, "m1");
    h.feed(&stanza);
    assert_eq!(
        h.take().events,
        [Event::Message(ProxyMessage {
            from: LAPTOP.into(),
            iq: stanza.clone()
        })]
    );

    // The core's answer to the old JID goes to the new one.
    h.client
        .send_proxy_iq(
            h.now,
            LAPTOP,
            "<iq xmlns='jabber:client' type='result' id='m1'/>",
        )
        .unwrap();
    h.drain();
    let sent = h.take().sent;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(attr(&sent[0], "to"), LAPTOP2);
    assert_eq!(attr(&sent[0], "id"), "m1");

    // A proxy IQ to the old JID goes to the new one, and its answer from
    // there closes it.
    h.client.send_proxy_iq(h.now, LAPTOP, &signal()).unwrap();
    h.drain();
    let sent = h.take().sent;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(attr(&sent[0], "to"), LAPTOP2);
    let id = attr(&sent[0], "id");
    h.feed(&format!(
        "<iq type='result' from='{LAPTOP2}' to='{JID}' id='{id}'/>"
    ));
    h.advance(Duration::from_secs(31));
    assert!(
        !h.take()
            .events
            .iter()
            .any(|e| matches!(e, Event::IqFailed { .. })),
        "the answer from the new JID was taken"
    );

    // Leaving under the new nickname ends the session the core knows.
    h.feed(&leaves(LAPTOP2));
    let events = h.take().events;
    assert_eq!(events[0], Event::OccupantLeft { jid: LAPTOP.into() });
    let Event::Message(m) = &events[1] else {
        panic!("{events:?}");
    };
    assert_eq!(m.from, LAPTOP);
    assert!(m.iq.contains("action='unavailable'"), "{}", m.iq);
    assert_eq!(events.len(), 2);

    // Forgotten: the new JID is itself again.
    let stanza = initiate_from(LAPTOP2, "m2");
    h.feed(&stanza);
    assert!(
        matches!(&h.take().events[..], [Event::Message(m)] if m.from == LAPTOP2),
        "the alias ends with the occupant"
    );
}

/// Renamed twice, the first JID stays the one handed over; renamed back to
/// it, nothing is translated any more.
#[test]
fn renamed_twice_and_back() {
    let mut h = joined();
    let third = format!("{ROOM}/laptop3");
    for text in renames(LAPTOP, "laptop2")
        .into_iter()
        .chain(renames(LAPTOP2, "laptop3"))
    {
        h.feed(&text);
    }
    assert_eq!(
        h.take().events,
        [
            Event::OccupantRenamed {
                from: LAPTOP.into(),
                to: LAPTOP2.into()
            },
            Event::OccupantRenamed {
                from: LAPTOP2.into(),
                to: third.clone()
            },
        ]
    );
    h.feed(&initiate_from(&third, "m1"));
    assert!(matches!(&h.take().events[..], [Event::Message(m)] if m.from == LAPTOP));
    h.client.send_proxy_iq(h.now, LAPTOP, &signal()).unwrap();
    h.drain();
    assert_eq!(attr(&h.take().sent[0], "to"), third);

    for text in renames(&third, "laptop") {
        h.feed(&text);
    }
    h.take();
    h.feed(&initiate_from(LAPTOP, "m2"));
    assert!(matches!(&h.take().events[..], [Event::Message(m)] if m.from == LAPTOP));
    h.client.send_proxy_iq(h.now, LAPTOP, &signal()).unwrap();
    h.drain();
    assert_eq!(attr(&h.take().sent[0], "to"), LAPTOP);
}

/// Someone else taking the nickname a renamed occupant left: its IQs are
/// refused (the session of that JID is the renamed one's), and its leaving
/// does not end that session.
#[test]
fn a_nickname_left_behind_is_not_the_renamed_occupant() {
    let mut h = joined_and_renamed();
    h.feed(&format!(
        "<presence from='{LAPTOP}'><x xmlns='{MUC_USER}'><item role='participant'/></x></presence>"
    ));
    assert!(h.take().events.is_empty());
    h.feed(&initiate_from(LAPTOP, "x1"));
    let got = h.take();
    assert_eq!(
        got.events,
        [Event::Error(ClientError::NicknameReused {
            jid: LAPTOP.into(),
            now: LAPTOP2.into()
        })]
    );
    let refusal = parse(&got.sent[0]);
    assert_eq!(refusal.attr("type"), Some("error"));
    assert_eq!(refusal.attr("to"), Some(LAPTOP));
    assert_eq!(refusal.attr("id"), Some("x1"));
    assert_eq!(refusal.stanza_error(), Some("service-unavailable"));

    h.feed(&leaves(LAPTOP));
    assert_eq!(
        h.take().events,
        [Event::OccupantLeft { jid: LAPTOP.into() }],
        "no unavailable for the renamed occupant's session"
    );
    // The renamed one is still followed.
    h.feed(&initiate_from(LAPTOP2, "m1"));
    assert!(matches!(&h.take().events[..], [Event::Message(m)] if m.from == LAPTOP));
}

/// At most [`MAX_RENAMED`] renamed occupants are followed; one more is a
/// leave, as before.
#[test]
fn renamed_occupants_are_bounded() {
    let mut h = joined();
    for i in 0..MAX_RENAMED {
        h.feed(&renames(&format!("{ROOM}/p{i}"), &format!("q{i}"))[0]);
        assert!(
            matches!(&h.take().events[..], [Event::OccupantRenamed { .. }]),
            "{i}"
        );
    }
    h.feed(&renames(LAPTOP, "laptop2")[0]);
    let events = h.take().events;
    assert_eq!(events[0], Event::OccupantLeft { jid: LAPTOP.into() });
    assert!(matches!(&events[1], Event::Message(m) if m.from == LAPTOP));
    // One leaving frees a place.
    h.feed(&leaves(&format!("{ROOM}/q0")));
    h.take();
    h.feed(&renames(LAPTOP2, "laptop3")[0]);
    assert!(matches!(
        &h.take().events[..],
        [Event::OccupantRenamed { .. }]
    ));
}

/// A 303 without a usable new nickname cannot be followed: it is a leave.
#[test]
fn a_rename_without_a_nickname_is_a_leave() {
    let mut h = joined();
    for item in [
        "<item role='participant'/>",
        "<item nick='' role='participant'/>",
    ] {
        h.feed(&format!(
            "<presence type='unavailable' from='{LAPTOP}'><x xmlns='{MUC_USER}'>{item}\
             <status code='303'/></x></presence>"
        ));
        let events = h.take().events;
        assert_eq!(
            events[0],
            Event::OccupantLeft { jid: LAPTOP.into() },
            "{item}"
        );
        assert_eq!(events.len(), 2, "{item}");
    }
}

/// The room changes our nickname: we are still in, the new occupant JID is
/// reported, IQs keep flowing, and the room knows us by the new name.
#[test]
fn our_own_nickname_changed_by_the_room() {
    let mut h = joined();
    h.feed(&format!(
        "<presence type='unavailable' from='{ROOM}/tv'><x xmlns='{MUC_USER}'>\
         <item nick='tv-renamed' role='participant'/><status code='303'/>\
         <status code='110'/></x></presence>"
    ));
    assert_eq!(
        h.take().events,
        [Event::RoomJoined {
            occupant_jid: format!("{ROOM}/tv-renamed")
        }]
    );
    h.feed(&format!(
        "<presence from='{ROOM}/tv-renamed'><x xmlns='{MUC_USER}'><item role='participant'/>\
         <status code='110'/></x></presence>"
    ));
    assert!(h.take().events.is_empty(), "joined once");

    h.client.send_proxy_iq(h.now, LAPTOP, &signal()).unwrap();
    h.drain();
    assert_eq!(h.take().sent.len(), 1, "IQs to occupants still go");
    let stanza = initiate_from(LAPTOP, "m1");
    h.feed(&stanza);
    assert!(matches!(&h.take().events[..], [Event::Message(m)] if m.from == LAPTOP));

    // Our old nickname is someone else's now; our removal comes under the
    // new one (here without status 110).
    h.feed(&leaves(&format!("{ROOM}/tv")));
    assert!(matches!(
        &h.take().events[..],
        [Event::OccupantLeft { .. }, Event::Message(_)]
    ));
    h.feed(&format!(
        "<presence type='unavailable' from='{ROOM}/tv-renamed'><x xmlns='{MUC_USER}'>\
         <item role='none'/><status code='307'/></x></presence>"
    ));
    // The IQ sent before gets no answer now.
    assert!(
        matches!(
            &h.take().events[..],
            [
                Event::Error(ClientError::RoomLeft { .. }),
                Event::IqFailed {
                    reason: IqFailure::NotInRoom,
                    ..
                }
            ]
        ),
        "kicked under the new nickname"
    );
    h.client.send_proxy_iq(h.now, LAPTOP, &signal()).unwrap();
    h.drain();
    assert_eq!(
        h.take().events,
        [Event::IqFailed {
            to: LAPTOP.into(),
            reason: IqFailure::NotInRoom
        }]
    );
}

/// A new connection joins afresh: renames seen before are not followed.
#[test]
fn renames_end_with_the_connection() {
    let mut h = joined_and_renamed();
    h.client.handle_closed(h.now, None);
    h.drain();
    h.run_to_deadline();
    h.login();
    h.feed(&initiate_from(LAPTOP2, "m1"));
    assert!(matches!(&h.take().events[..], [Event::Message(m)] if m.from == LAPTOP2));
}

/// The occupant holding a nickname a renamed one left renames in turn: it
/// is not the renamed occupant (its IQs under that nickname were refused),
/// so under its new nickname it is itself, and its leaving does not end the
/// renamed occupant's session.
#[test]
fn the_holder_of_a_nickname_left_behind_renamed_is_itself() {
    let mut h = joined_and_renamed();
    h.feed(&format!(
        "<presence from='{LAPTOP}'><x xmlns='{MUC_USER}'><item role='participant'/></x></presence>"
    ));
    let other = format!("{ROOM}/other");
    for text in renames(LAPTOP, "other") {
        h.feed(&text);
    }
    assert!(
        !h.take()
            .events
            .iter()
            .any(|e| matches!(e, Event::OccupantRenamed { .. })),
        "nothing of the holder is followed"
    );
    h.feed(&initiate_from(&other, "o1"));
    assert!(
        matches!(&h.take().events[..], [Event::Message(m)] if m.from == other),
        "not handed over as the renamed occupant's"
    );
    h.feed(&leaves(&other));
    assert_eq!(
        h.take().events,
        [
            Event::OccupantLeft { jid: other.clone() },
            Event::Message(ProxyMessage {
                from: other.clone(),
                iq: "<iq xmlns='jabber:client' type='set'><jingle xmlns='urn:xmpp:jingle:1' \
                     action='unavailable'><details>unavailable</details></jingle></iq>"
                    .into()
            })
        ],
        "its own departure, not the renamed occupant's"
    );
    // The renamed one is still followed.
    h.feed(&initiate_from(LAPTOP2, "m1"));
    assert!(matches!(&h.take().events[..], [Event::Message(m)] if m.from == LAPTOP));
}

/// The holder of a nickname left behind leaving does not fail the proxy IQs
/// awaiting the renamed occupant's answer (they are addressed to that JID).
#[test]
fn the_holder_of_a_nickname_left_behind_leaving_fails_nothing() {
    let mut h = joined_and_renamed();
    h.client.send_proxy_iq(h.now, LAPTOP, &signal()).unwrap();
    h.drain();
    let sent = h.take().sent;
    assert_eq!(attr(&sent[0], "to"), LAPTOP2);
    let id = attr(&sent[0], "id");
    h.feed(&format!(
        "<presence from='{LAPTOP}'><x xmlns='{MUC_USER}'><item role='participant'/></x></presence>"
    ));
    h.feed(&leaves(LAPTOP));
    assert_eq!(
        h.take().events,
        [Event::OccupantLeft { jid: LAPTOP.into() }],
        "the IQ awaiting the renamed occupant is not failed"
    );
    h.feed(&format!(
        "<iq type='result' from='{LAPTOP2}' to='{JID}' id='{id}'/>"
    ));
    h.advance(Duration::from_secs(31));
    assert!(
        !h.take()
            .events
            .iter()
            .any(|e| matches!(e, Event::IqFailed { .. })),
        "answered by the renamed occupant"
    );
}
