//! XEP-0045: joining the room, the queue waiting for it, and an occupant
//! leaving.

mod client_support;

use client_support::*;
use proxy_core::DefinedCondition;
use proxy_xmpp::client::{ClientError, Event, IqFailure, MAX_JOIN_TRIES};

const LAPTOP: &str = "room@conference.localhost/laptop";

#[test]
fn join_then_occupant_leaves() {
    let mut config = tcp_config();
    config.room = Some(proxy_xmpp::client::Room {
        password: Some("pw".into()),
        ..room()
    });
    let mut h = Harness::new(config);
    let got = h.login();
    let join = got
        .sent
        .iter()
        .find(|s| s.starts_with("<presence"))
        .expect("a join presence");
    let el = parse(join);
    assert_eq!(el.attr("to"), Some("room@conference.localhost/tv"));
    let x = el
        .child("x", "http://jabber.org/protocol/muc")
        .expect("muc x");
    assert_eq!(
        x.child("password", "http://jabber.org/protocol/muc")
            .unwrap()
            .text,
        "pw"
    );

    // Existing occupant, then our self-presence.
    h.feed(&format!(
        "<presence from='{LAPTOP}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item role='participant'/></x></presence>"
    ));
    assert!(h.take().events.is_empty());
    h.feed(SELF_PRESENCE);
    assert_eq!(
        h.take().events,
        [Event::RoomJoined {
            occupant_jid: "room@conference.localhost/tv".into()
        }]
    );

    // A presence from elsewhere is not the room's business.
    h.feed("<presence type='unavailable' from='someone@guest.localhost/x'/>");
    assert!(h.take().events.is_empty());

    h.feed(&format!(
        "<presence type='unavailable' from='{LAPTOP}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item role='none'/></x></presence>"
    ));
    let events = h.take().events;
    assert_eq!(events[0], Event::OccupantLeft { jid: LAPTOP.into() });
    let Event::Message(m) = &events[1] else {
        panic!("{events:?}");
    };
    assert_eq!(m.from, LAPTOP);
    assert_eq!(
        m.iq,
        "<iq xmlns='jabber:client' type='set'><jingle xmlns='urn:xmpp:jingle:1' \
         action='unavailable'><details>unavailable</details></jingle></iq>"
    );
    // The core can read it.
    proxy_core::parse_iq(&m.iq, &proxy_core::Limits::default()).unwrap();
}

#[test]
fn queued_iqs_wait_for_the_room_and_a_refusal_is_reported() {
    let mut h = Harness::new(room_config());
    let signal = vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml");
    h.client
        .send_proxy_iq(h.now, LAPTOP, signal.trim())
        .unwrap();
    h.drain();
    let got = h.login();
    assert!(
        !got.sent.iter().any(|s| s.contains("jingle")),
        "not before the join"
    );
    h.feed(
        "<presence type='error' from='room@conference.localhost/tv'><error type='auth'>\
         <not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>",
    );
    let got = h.take();
    assert_eq!(
        got.events,
        [Event::Error(ClientError::Room {
            room: ROOM.into(),
            condition: DefinedCondition::NotAuthorized
        })]
    );
    let Event::Error(e) = &got.events[0] else {
        unreachable!()
    };
    assert_eq!(
        e.to_string(),
        "room room@conference.localhost refused the join: not-authorized",
        "the display says what was wrong"
    );
    assert!(
        !got.sent.iter().any(|s| s.starts_with("<presence")),
        "a wrong password is not tried again"
    );
    // The queue is not held forever for a room that refused us.
    assert!(
        got.sent.iter().any(|s| s.contains("jingle")),
        "{:?}",
        got.sent
    );
}

#[test]
fn join_room_command_while_online() {
    let mut h = Harness::new(tcp_config());
    h.login();
    h.client.join_room(h.now, room());
    h.drain();
    let sent = h.take().sent;
    assert_eq!(attr(&sent[0], "to"), "room@conference.localhost/tv");
}

/// Online with the join still pending, a new IQ waits behind the queued
/// ones: the `transport-info` never overtakes its `session-initiate`.
#[test]
fn iqs_sent_while_joining_wait_in_order() {
    let mut h = Harness::new(room_config());
    let initiate = vector("01-session-initiate.sender-to-receiver.xml");
    let info = vector("04-transport-info.sender-to-receiver.xml");
    h.client
        .send_proxy_iq(h.now, LAPTOP, initiate.trim())
        .unwrap();
    h.drain();
    let got = h.login();
    assert!(!got.sent.iter().any(|s| s.contains("jingle")));
    // Online, the room join pending.
    h.client.send_proxy_iq(h.now, LAPTOP, info.trim()).unwrap();
    h.drain();
    assert!(
        h.take().sent.iter().all(|s| !s.contains("jingle")),
        "sent before the room was joined"
    );
    h.feed(SELF_PRESENCE);
    let sent: Vec<String> = h
        .take()
        .sent
        .into_iter()
        .filter(|s| s.contains("jingle"))
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[0].contains("session-initiate"), "{sent:?}");
    assert!(sent[1].contains("transport-info"), "{sent:?}");
    // Joined, the next one goes at once.
    h.client.send_proxy_iq(h.now, LAPTOP, info.trim()).unwrap();
    h.drain();
    assert_eq!(h.take().sent.len(), 1);
}

/// The room's JID is recognized whatever the case the service writes it in.
#[test]
fn room_presences_match_the_room_jid_without_regard_to_case() {
    let mut h = Harness::new(room_config());
    h.login();
    h.feed(
        "<presence from='Room@Conference.LOCALHOST/tv'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item role='participant'/></x></presence>",
    );
    assert_eq!(
        h.take().events,
        [Event::RoomJoined {
            occupant_jid: "Room@Conference.LOCALHOST/tv".into()
        }]
    );
    h.feed(
        "<presence type='unavailable' from='ROOM@conference.localhost/laptop'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/></x></presence>",
    );
    let events = h.take().events;
    assert_eq!(
        events[0],
        Event::OccupantLeft {
            jid: "ROOM@conference.localhost/laptop".into()
        }
    );
}

/// Kicked: the room state is reset, the reason reported, and IQs to its
/// occupants fail instead of being sent as if we were in; a new join
/// brings them back.
#[test]
fn kicked_from_the_room_is_reported_and_occupants_are_not_sent_to() {
    let mut h = Harness::in_room();
    let signal = vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml");
    h.client
        .send_proxy_iq(h.now, LAPTOP, signal.trim())
        .unwrap();
    h.drain();
    assert_eq!(h.take().sent.len(), 1);

    // A nickname change (303) is not a removal.
    h.feed(
        "<presence type='unavailable' from='room@conference.localhost/tv'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item nick='tv2' role='participant'/>\
         <status code='303'/><status code='110'/></x></presence>",
    );
    assert_eq!(
        h.take().events,
        [Event::RoomJoined {
            occupant_jid: "room@conference.localhost/tv2".into()
        }]
    );

    h.feed(
        "<presence type='unavailable' from='room@conference.localhost/tv2'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item role='none'><reason>bye</reason>\
         </item><status code='307'/><status code='110'/></x></presence>",
    );
    let got = h.take();
    assert_eq!(
        got.events,
        [
            Event::Error(ClientError::RoomLeft {
                room: ROOM.into(),
                codes: vec![307, 110],
                destroyed: false,
                reason: Some("bye".into()),
            }),
            // The IQ sent before will get no answer.
            Event::IqFailed {
                to: LAPTOP.into(),
                reason: IqFailure::NotInRoom
            }
        ]
    );
    h.client
        .send_proxy_iq(h.now, LAPTOP, signal.trim())
        .unwrap();
    h.drain();
    let got = h.take();
    assert!(got.sent.is_empty(), "{:?}", got.sent);
    assert_eq!(
        got.events,
        [Event::IqFailed {
            to: LAPTOP.into(),
            reason: IqFailure::NotInRoom
        }]
    );
    // Someone outside the room is still reachable.
    h.client
        .send_proxy_iq(h.now, "peer@guest.localhost/p", signal.trim())
        .unwrap();
    h.drain();
    assert_eq!(h.take().sent.len(), 1);

    // Joining again: the IQ waits for the room, then goes.
    h.client.join_room(h.now, room());
    h.client
        .send_proxy_iq(h.now, LAPTOP, signal.trim())
        .unwrap();
    h.drain();
    assert!(h.take().sent.iter().all(|s| !s.contains("jingle")));
    h.feed(SELF_PRESENCE);
    assert!(h.take().sent.iter().any(|s| s.contains("jingle")));
}

/// The room destroyed: reported as such.
#[test]
fn a_destroyed_room_is_reported() {
    let mut h = Harness::in_room();
    h.feed(
        "<presence type='unavailable' from='room@conference.localhost/tv'>\
         <x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/>\
         <destroy><reason>closed</reason></destroy></x></presence>",
    );
    assert_eq!(
        h.take().events,
        [Event::Error(ClientError::RoomLeft {
            room: ROOM.into(),
            codes: vec![],
            destroyed: true,
            reason: Some("closed".into()),
        })]
    );
}

/// The room refuses `occupant` (the `to` of a join presence): its nickname
/// is taken.
fn nick_conflict(occupant: &str) -> String {
    format!(
        "<presence type='error' from='{occupant}'><error type='cancel'>\
         <conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></presence>"
    )
}

/// The `to` of the join presences in `sent`.
fn joins(sent: &[String]) -> Vec<String> {
    sent.iter()
        .filter(|s| s.starts_with("<presence"))
        .map(|s| attr(s, "to"))
        .collect()
}

/// The nickname of an occupant JID.
fn nick_of(occupant: &str) -> String {
    occupant
        .split_once('/')
        .map(|(_, n)| n.to_owned())
        .unwrap_or_else(|| panic!("no nickname in {occupant}"))
}

/// The nickname suffix after `tv-`: 4 lower-case hex digits.
fn assert_suffixed(occupant: &str) {
    let suffix = occupant
        .strip_prefix("room@conference.localhost/tv-")
        .unwrap_or_else(|| panic!("not a suffixed nickname: {occupant}"));
    assert_eq!(suffix.len(), 4, "{occupant}");
    assert!(
        suffix
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{occupant}"
    );
}

/// A nickname in use: the join is tried again with a seeded suffix, the
/// queue waits for it, and the occupant JID used is the one reported.
#[test]
fn a_nickname_conflict_is_retried_with_a_seeded_suffix() {
    let run = |seed: u8| {
        let mut config = tcp_config();
        config.seed = [seed; 32];
        config.room = Some(room());
        let mut h = Harness::new(config);
        let signal = vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml");
        h.client
            .send_proxy_iq(h.now, LAPTOP, signal.trim())
            .unwrap();
        h.drain();
        let got = h.login();
        assert_eq!(joins(&got.sent), ["room@conference.localhost/tv"]);
        h.feed(&nick_conflict("room@conference.localhost/tv"));
        let got = h.take();
        assert!(
            !got.sent.iter().any(|s| s.contains("jingle")),
            "the queue waits for the retried join"
        );
        let tried = joins(&got.sent);
        assert_eq!(tried.len(), 1, "{:?}", got.sent);
        let occupant = tried[0].clone();
        assert_suffixed(&occupant);
        // The retry is reported as it happens, with both nicknames.
        assert_eq!(
            got.events,
            [Event::Error(ClientError::NicknameConflict {
                room: ROOM.into(),
                refused: "tv".into(),
                next: nick_of(&occupant),
            })],
        );
        // Our self-presence, recognized by the occupant JID tried (no 110).
        h.feed(&format!(
            "<presence from='{occupant}'><x xmlns='http://jabber.org/protocol/muc#user'>\
             <item role='participant'/></x></presence>"
        ));
        let got = h.take();
        assert_eq!(
            got.events,
            [Event::RoomJoined {
                occupant_jid: occupant.clone()
            }]
        );
        assert_eq!(
            got.sent.iter().filter(|s| s.contains("jingle")).count(),
            1,
            "the queued IQ goes once joined: {:?}",
            got.sent
        );
        // Another occupant taking the configured nickname is not us.
        h.feed(
            "<presence type='unavailable' from='room@conference.localhost/tv'>\
             <x xmlns='http://jabber.org/protocol/muc#user'><item role='none'/></x></presence>",
        );
        assert!(matches!(
            &h.take().events[..],
            [Event::OccupantLeft { .. }, Event::Message(_)]
        ));
        occupant
    };
    assert_eq!(run(1), run(1), "same seed, same nickname");
    let distinct: std::collections::HashSet<_> = (1..6).map(run).collect();
    assert!(distinct.len() > 1, "different seeds, different nicknames");
}

/// A nickname still in use after [`MAX_JOIN_TRIES`] joins: the refusal is
/// reported as before, and the queue stops waiting.
#[test]
fn nickname_conflicts_are_bounded() {
    let mut h = Harness::new(room_config());
    let signal = vector("06-connection-error-encountered.ice-failed.receiver-to-sender.xml");
    h.client
        .send_proxy_iq(h.now, LAPTOP, signal.trim())
        .unwrap();
    h.drain();
    let mut tried = joins(&h.login().sent);
    for _ in 0..10 {
        let last = tried.last().expect("a join").clone();
        h.feed(&nick_conflict(&last));
        let got = h.take();
        let again = joins(&got.sent);
        if again.is_empty() {
            assert_eq!(
                got.events,
                [Event::Error(ClientError::Room {
                    room: ROOM.into(),
                    condition: DefinedCondition::Conflict
                })]
            );
            assert!(got.sent.iter().any(|s| s.contains("jingle")));
            break;
        }
        assert_eq!(
            got.events,
            [Event::Error(ClientError::NicknameConflict {
                room: ROOM.into(),
                refused: nick_of(&last),
                next: nick_of(&again[0]),
            })]
        );
        assert!(!got.sent.iter().any(|s| s.contains("jingle")));
        tried.extend(again);
    }
    assert_eq!(tried.len(), usize::from(MAX_JOIN_TRIES), "{tried:?}");
    let distinct: std::collections::HashSet<_> = tried.iter().collect();
    assert_eq!(distinct.len(), tried.len(), "a new nickname each time");
    for t in &tried[1..] {
        assert_suffixed(t);
    }
}

/// A later join (here [`Client::join_room`](proxy_xmpp::client::Client::join_room))
/// starts again from the configured nickname with its own tries.
#[test]
fn a_new_join_starts_from_the_configured_nickname() {
    let mut h = Harness::new(room_config());
    h.login();
    h.feed(&nick_conflict("room@conference.localhost/tv"));
    let retried = joins(&h.take().sent);
    assert_eq!(retried.len(), 1);
    h.client.join_room(h.now, room());
    h.drain();
    assert_eq!(joins(&h.take().sent), ["room@conference.localhost/tv"]);
    h.feed(&nick_conflict("room@conference.localhost/tv"));
    let got = h.take();
    assert!(
        matches!(
            &got.events[..],
            [Event::Error(ClientError::NicknameConflict { refused, .. })] if refused == "tv"
        ),
        "{:?}",
        got.events
    );
    assert_eq!(joins(&got.sent).len(), 1, "retried again: {:?}", got.sent);
}

/// An occupant that leaves will not answer: the IQs awaiting its answer fail at
/// once (`AddresseeLeft`), not at the IQ timeout, so a driver closing gracefully
/// does not wait for them; IQs to others stay tracked.
#[test]
fn iqs_to_an_occupant_that_left_fail_at_once() {
    let mut h = Harness::in_room();
    let now = std::time::Instant::now();
    let iq = "<iq xmlns='jabber:client' type='set'><jingle xmlns='urn:xmpp:jingle:1' action='session-terminate' sid='s'/></iq>";
    h.client.send_proxy_iq(now, LAPTOP, iq).unwrap();
    h.client
        .send_proxy_iq(now, "room@conference.localhost/other", iq)
        .unwrap();
    h.drain();
    assert_eq!(h.client.outstanding_proxy_iqs(), 2);
    h.feed(&format!(
        "<presence type='unavailable' from='{LAPTOP}'><x xmlns='http://jabber.org/protocol/muc#user'>\
         <item role='none'/></x></presence>"
    ));
    let events = h.take().events;
    assert!(
        events.contains(&Event::IqFailed {
            to: LAPTOP.into(),
            reason: IqFailure::AddresseeLeft
        }),
        "{events:?}"
    );
    assert_eq!(
        h.client.outstanding_proxy_iqs(),
        1,
        "the other IQ still awaits"
    );
}
