//! DESIGN.md "The service", rules 1-8, driven through whole sessions in both
//! roles with lib-jitsi-meet's real messages as the peer and a fake engine.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::jingle::{Action, Setup};
use proxy_core::{
    ApiError, CloseReason, Config, EngineCommand, EngineEvent, Error, Event, IqType, LocalTrack,
    MediaKind, ProtocolError, ProxyConnectionService, RemoteTrack, VideoType,
};

fn with_id(iq: &str, id: &str) -> String {
    iq.replacen("<iq ", &format!("<iq id=\"{id}\" "), 1)
}

fn with_sid(iq: &str, sid: &str) -> String {
    iq.replacen("<jingle ", &format!("<jingle sid=\"{sid}\" "), 1)
}

// The lib-jitsi-meet vectors: SENDER's session-initiate (audio only, or audio
// and video) and transport-info; RECEIVER's session-accept, transport-info and
// connection-error (ICE failed).
const INITIATE: &str = "01-session-initiate.sender-to-receiver.xml";
const INITIATE_AV: &str = "11-session-initiate.audio+video.sender-to-receiver.xml";
const TRANSPORT_INFO: &str = "04-transport-info.sender-to-receiver.xml";
const ACCEPT: &str = "02-session-accept.receiver-to-sender.xml";
const RECEIVER_TRANSPORT_INFO: &str = "05-transport-info.receiver-to-sender.xml";
const ICE_FAILED: &str = "06-connection-error-encountered.ice-failed.receiver-to-sender.xml";

/// A new service that got SENDER's [`INITIATE`] (its `ApplyOffer` drained).
fn offered(t0: Instant, cfg: Config) -> ProxyConnectionService {
    let mut s = ProxyConnectionService::new(cfg);
    receive(&mut s, t0, SENDER, vector(INITIATE));
    s
}

/// A new service that started a session with RECEIVER, sending a desktop
/// track (its `CreateOffer` drained).
fn started(t0: Instant, cfg: Config) -> ProxyConnectionService {
    let mut s = ProxyConnectionService::new(cfg);
    s.start(t0, RECEIVER, &[LocalTrack::desktop()]).unwrap();
    drain(&mut s);
    s
}

/// A [`started`] service whose engine offered str0m's offer fixture, and what
/// that sent.
fn str0m_offer_sent(t0: Instant, cfg: Config) -> (ProxyConnectionService, Drained) {
    let mut s = started(t0, cfg);
    let sdp = fixture("str0m-offer.sdp");
    let d = engine(&mut s, t0, EngineEvent::LocalOffer { sdp });
    (s, d)
}

/// An [`offered`] service whose engine answered with str0m's answer fixture,
/// and what that sent.
fn str0m_answer_sent(t0: Instant, cfg: Config) -> (ProxyConnectionService, Drained) {
    let mut s = offered(t0, cfg);
    let sdp = fixture("str0m-answer.sdp");
    let d = engine(&mut s, t0, EngineEvent::LocalAnswer { sdp });
    (s, d)
}

/// The engine reports a remote track of `kind` in m-line `mid`.
fn remote_track(s: &mut ProxyConnectionService, t: Instant, mid: &str, kind: MediaKind) {
    let mid = mid.into();
    s.handle_engine_event(t, EngineEvent::RemoteTrack { mid, kind });
}

/// The remote tracks reported in `d`.
fn remote_tracks(d: &Drained) -> Vec<&RemoteTrack> {
    d.events
        .iter()
        .filter_map(|e| match e {
            Event::RemoteTrack(t) => Some(t),
            _ => None,
        })
        .collect()
}

// ---- start / API misuse ---------------------------------------------------

#[test]
fn start_with_empty_peer_is_an_error_and_changes_nothing() {
    let mut s = ProxyConnectionService::new(config(1));
    let err = s
        .start(Instant::now(), "", &[LocalTrack::desktop()])
        .unwrap_err();
    assert_eq!(err, Error::Api(ApiError::EmptyPeerJid));
    assert!(!s.is_active());
    assert!(drain(&mut s).is_empty());
}

#[test]
fn start_twice_is_an_error() {
    let t0 = Instant::now();
    let mut s = started(t0, config(1));
    let err = s.start(t0, INTRUDER, &[]).unwrap_err();
    assert_eq!(err, Error::Api(ApiError::AlreadyActive(RECEIVER.into())));
    assert_eq!(s.peer(), Some(RECEIVER));
    assert!(drain(&mut s).is_empty());
}

#[test]
fn local_tracks_get_source_names_by_index() {
    let mut s = ProxyConnectionService::new(config(1));
    s.start(
        Instant::now(),
        RECEIVER,
        &[
            LocalTrack::audio(),
            LocalTrack::desktop(),
            LocalTrack::camera(),
        ],
    )
    .unwrap();
    let d = drain(&mut s);
    let EngineCommand::CreateOffer {
        tracks, direction, ..
    } = &d.commands[0]
    else {
        panic!()
    };
    let names: Vec<_> = tracks.iter().map(|t| t.source_name.as_str()).collect();
    assert_eq!(names, ["peer-a0", "peer-v1", "peer-v2"]);
    assert_eq!(tracks[1].video_type, Some(VideoType::Desktop));
    assert_eq!(tracks[2].video_type, Some(VideoType::Camera));
    assert_eq!(*direction, proxy_core::Direction::SendOnly);
}

// ---- initiator ------------------------------------------------------------

#[test]
fn initiator_sends_session_initiate_like_lib_jitsi_meet_then_trickles_a_host_candidate() {
    let (s, d) = initiator_awaiting_accept(Instant::now());
    assert_eq!(
        d.sent_actions(),
        [
            (RECEIVER.into(), Some(Action::SessionInitiate)),
            (RECEIVER.into(), Some(Action::TransportInfo))
        ]
    );
    let init = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(init.sid.as_deref(), s.sid());
    assert!(init.sid.is_some(), "we always send a sid");
    assert_eq!(init.groups[0].semantics, "BUNDLE");
    let content = &init.contents[0];
    assert_eq!(content.name, "0");
    let desc = content.description.as_ref().unwrap();
    assert!(!desc.sources.is_empty());
    for src in &desc.sources {
        assert_eq!(src.name.as_deref(), Some("peer-v0"));
        assert_eq!(src.video_type.as_deref(), Some("desktop"));
        assert!(src.msid().is_some(), "a lib-jitsi-meet receiver needs msid");
    }
    let t = content.transport.as_ref().unwrap();
    assert!(
        t.candidates.is_empty(),
        "the offer had no candidate; the one reported after it is trickled"
    );
    assert_eq!(t.fingerprint.as_ref().unwrap().setup, Some(Setup::Actpass));
    let ti = d.sent[1].1.jingle.as_ref().unwrap();
    let tt = ti.contents[0].transport.as_ref().unwrap();
    assert_eq!(tt.candidates.len(), 1);
    assert_eq!(tt.candidates[0].port, 5000);
    assert_eq!(tt.fingerprint.as_ref().unwrap().required, Some(true));
    assert_eq!(tt.ufrag, t.ufrag);
}

#[test]
fn initiator_applies_accept_ignores_content_modify_and_adds_candidates() {
    let t0 = Instant::now();
    let (mut s, _) = initiator_awaiting_accept(t0);
    // The peer's candidates overtake its session-accept: kept until the answer.
    let d = receive(&mut s, t0, RECEIVER, vector(RECEIVER_TRANSPORT_INFO));
    assert!(d.is_empty(), "{d:?}");
    let d = receive(&mut s, t0, RECEIVER, vector(ACCEPT));
    assert!(matches!(d.commands[0], EngineCommand::ApplyAnswer { .. }));
    let cands: Vec<_> = d.commands[1..]
        .iter()
        .map(|c| match c {
            EngineCommand::AddRemoteCandidate { mid, candidate } => {
                (mid.clone(), candidate.clone())
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(cands.len(), 2);
    assert_eq!(cands[0].0, "0");
    assert!(cands[0].1.contains("51092"), "{}", cands[0].1);
    assert!(d.sent.is_empty(), "no acks for IQs without id");
    let modify = vector("03-content-modify.sender-to-receiver.xml");
    let d = receive(&mut s, t0, RECEIVER, modify);
    assert!(d.is_empty(), "content-modify is accepted silently");
    let d = engine(&mut s, t0, EngineEvent::Connected);
    assert_eq!(
        d.events,
        [Event::Connected {
            peer: RECEIVER.into()
        }]
    );
}

#[test]
fn stop_sends_terminate_and_closes_exactly_once() {
    let t0 = Instant::now();
    let (mut s, _) = initiator_awaiting_accept(t0);
    s.stop(t0);
    let d = drain(&mut s);
    assert_eq!(
        d.sent_actions(),
        [(RECEIVER.into(), Some(Action::SessionTerminate))]
    );
    let term = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(term.reason.as_ref().unwrap().condition, "success");
    assert_eq!(d.commands, [EngineCommand::Close]);
    assert_eq!(d.closed().len(), 1);
    assert_eq!(
        d.events,
        [Event::ConnectionClosed {
            peer: RECEIVER.into(),
            reason: CloseReason::LocalStop
        }]
    );
    s.stop(t0);
    assert!(drain(&mut s).is_empty(), "no second close");
    // The peer's own terminate crossing ours is expected: no error, no event.
    let crossing = with_sid(&vector(ICE_FAILED), "x").replace(" sid=\"x\"", "");
    assert!(receive(&mut s, t0, RECEIVER, crossing).is_empty());
}

#[test]
fn stop_without_connection_does_nothing() {
    let mut s = ProxyConnectionService::new(config(1));
    s.stop(Instant::now());
    assert!(drain(&mut s).is_empty());
}

// ---- responder ------------------------------------------------------------

#[test]
fn responder_answers_initiate_with_session_accept() {
    let t0 = Instant::now();
    let (s, d) = responder_negotiated(t0, config(2), false);
    assert_eq!(
        d.sent_actions(),
        [
            (SENDER.into(), Some(Action::SessionAccept)),
            (SENDER.into(), Some(Action::TransportInfo))
        ]
    );
    let acc = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(
        acc.initiator.as_deref(),
        Some(SENDER),
        "as lib-jitsi-meet writes it"
    );
    assert_eq!(acc.sid.as_deref(), s.sid());
    assert_eq!(
        acc.contents[0].creator,
        Some(proxy_core::jingle::Creator::Responder)
    );
    assert_eq!(acc.contents[0].name, "0");
    assert!(s.is_active());
    assert_eq!(s.peer(), Some(SENDER));
}

#[test]
fn responder_reports_remote_video_as_proxy_desktop_track() {
    let t0 = Instant::now();
    let cfg = Config {
        convert_video_to_desktop: true,
        ..config(3)
    };
    let (mut s, _) = responder_negotiated(t0, cfg, false);
    let d = receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO));
    assert_eq!(d.commands.len(), 2, "two candidates: {d:?}");
    s.handle_engine_event(t0, EngineEvent::Connected);
    remote_track(&mut s, t0, "0", MediaKind::Video);
    remote_track(&mut s, t0, "0", MediaKind::Video);
    let d = drain(&mut s);
    let tracks = remote_tracks(&d);
    assert_eq!(tracks.len(), 1, "one event per track");
    let t = tracks[0];
    assert_eq!(t.device_id, format!("proxy:{SENDER}"));
    assert_eq!(t.source_type, "proxy");
    assert_eq!(t.video_type, Some(VideoType::Desktop));
    assert_eq!(t.source_name.as_deref(), Some("peer-v0"));
    assert!(t.msid.as_deref().unwrap().contains("c087b08b"));
}

#[test]
fn responder_reports_audio_and_camera_video() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(4), true);
    remote_track(&mut s, t0, "0", MediaKind::Audio);
    remote_track(&mut s, t0, "1", MediaKind::Video);
    let d = drain(&mut s);
    let tracks = remote_tracks(&d);
    assert_eq!(tracks.len(), 2);
    assert_eq!(tracks[0].kind, MediaKind::Audio);
    assert_eq!(tracks[0].video_type, None);
    assert_eq!(tracks[0].source_name.as_deref(), Some("peer-a0"));
    assert_eq!(tracks[1].kind, MediaKind::Video);
    assert_eq!(tracks[1].video_type, Some(VideoType::Camera));
}

#[test]
fn responder_tracks_are_offered_to_the_engine() {
    let t0 = Instant::now();
    let cfg = Config {
        responder_tracks: vec![LocalTrack::audio()],
        ..config(5)
    };
    let mut s = ProxyConnectionService::new(cfg);
    let d = receive(&mut s, t0, SENDER, vector(INITIATE_AV));
    let EngineCommand::ApplyOffer { tracks, sdp, .. } = &d.commands[0] else {
        panic!()
    };
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].source_name, "peer-a0");
    assert!(sdp.contains("m=audio") && sdp.contains("m=video"));
}

#[test]
fn peer_terminate_closes_once_and_sends_nothing() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(6), false);
    let term = "<iq to=\"receiver@example.com/r1\" type=\"set\" xmlns=\"jabber:client\"><jingle action=\"session-terminate\" xmlns=\"urn:xmpp:jingle:1\"><reason><success/></reason></jingle></iq>";
    let d = receive(&mut s, t0, SENDER, term);
    assert!(d.sent.is_empty());
    assert_eq!(d.commands, [EngineCommand::Close]);
    assert_eq!(
        d.events,
        [Event::ConnectionClosed {
            peer: SENDER.into(),
            reason: CloseReason::Terminated {
                condition: "success".into()
            }
        }]
    );
    assert!(
        receive(&mut s, t0, SENDER, term).is_empty(),
        "a repeated terminate is quietly ignored"
    );
    assert!(!s.is_active());
}

#[test]
fn peer_dtls_close_ends_the_session_once_and_says_so() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(6), false);
    s.handle_engine_event(t0, EngineEvent::Connected);
    drain(&mut s);
    let sid = s.sid().map(str::to_owned);
    let d = engine(&mut s, t0 + secs(1), EngineEvent::PeerClosed);
    assert_eq!(
        d.events,
        [Event::ConnectionClosed {
            peer: SENDER.into(),
            reason: CloseReason::PeerClosed
        }]
    );
    assert_eq!(d.commands, [EngineCommand::Close]);
    // A peer that closed only its peer connection may still read signaling.
    assert_eq!(
        d.sent_actions(),
        [(SENDER.into(), Some(Action::SessionTerminate))]
    );
    let term = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(term.reason.as_ref().unwrap().condition, "success");
    assert_eq!(term.sid.as_deref(), sid.as_deref());
    assert!(!s.is_active());
    assert!(
        engine(&mut s, t0 + secs(1), EngineEvent::PeerClosed).is_empty(),
        "a second close is stale"
    );
    // The peer's own terminate, arriving after its close_notify, is quiet.
    let term = "<iq to=\"receiver@example.com/r1\" type=\"set\" xmlns=\"jabber:client\"><jingle action=\"session-terminate\" xmlns=\"urn:xmpp:jingle:1\"><reason><success/></reason></jingle></iq>";
    assert!(receive(&mut s, t0 + secs(1), SENDER, term).is_empty());
    // No session at all: nothing happens.
    let mut idle = ProxyConnectionService::new(config(6));
    assert!(engine(&mut idle, t0, EngineEvent::PeerClosed).is_empty());
}

#[test]
fn peer_connection_error_and_unavailable_close() {
    let t0 = Instant::now();
    let (mut s, _) = initiator_awaiting_accept(t0);
    let d = receive(&mut s, t0, RECEIVER, vector(ICE_FAILED));
    assert_eq!(
        d.closed(),
        [&Event::ConnectionClosed {
            peer: RECEIVER.into(),
            reason: CloseReason::PeerError {
                details: "xmpp.connection.ice.failed".into()
            }
        }]
    );
    let (mut s, _) = responder_negotiated(t0, config(7), false);
    let unavail = "<iq type=\"set\" xmlns=\"jabber:client\"><jingle action=\"unavailable\" xmlns=\"urn:xmpp:jingle:1\"/></iq>";
    let d = receive(&mut s, t0, SENDER, unavail);
    assert_eq!(d.closed().len(), 1);
    assert_eq!(d.close_reason(), Some(&CloseReason::Unavailable));
}

// ---- rule 1: one connection, rejections -----------------------------------

#[test]
fn intruder_is_rejected_like_lib_jitsi_meet_and_changes_nothing() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(8), false);
    let sid = s.sid().map(str::to_owned);
    let d = receive(&mut s, t0, INTRUDER, vector(INITIATE));
    assert!(d.commands.is_empty(), "the engine is not touched");
    assert_eq!(d.sent.len(), 1);
    let (to, iq) = &d.sent[0];
    assert_eq!(to, INTRUDER);
    let rejection = vector("09-rejection.receiver-to-intruder.xml");
    let expected = proxy_core::parse_iq(&rejection, &Default::default()).unwrap();
    assert_eq!(iq, &expected, "exactly lib-jitsi-meet's rejection");
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::Busy { .. },
            ..
        }
    ));
    assert_eq!(s.peer(), Some(SENDER));
    assert_eq!(s.sid().map(str::to_owned), sid);
    // Rate-limited: a second message within the interval gets no answer.
    let d = receive(&mut s, t0 + secs(0), INTRUDER, vector(TRANSPORT_INFO));
    assert!(d.sent.is_empty());
    let d = receive(&mut s, t0 + secs(2), INTRUDER, vector(TRANSPORT_INFO));
    assert_eq!(d.sent.len(), 1);
    // A rejection from someone else is never answered (no ping-pong).
    let rejection = vector("09-rejection.receiver-to-intruder.xml");
    let d = receive(&mut s, t0 + secs(10), INTRUDER, rejection);
    assert!(d.sent.is_empty());
    assert!(d.closed().is_empty());
    assert!(s.is_active());
}

#[test]
fn terminate_from_a_non_peer_does_not_close() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(9), false);
    let term = "<iq type=\"set\" xmlns=\"jabber:client\"><jingle action=\"session-terminate\" xmlns=\"urn:xmpp:jingle:1\"><reason><success/></reason></jingle></iq>";
    let d = receive(&mut s, t0, INTRUDER, term);
    assert!(d.closed().is_empty());
    assert!(d.sent.is_empty());
    assert!(s.is_active());
}

// ---- rule 2: before a session ---------------------------------------------

#[test]
fn messages_before_a_session_are_errors_not_sessions() {
    let t0 = Instant::now();
    let mut s = ProxyConnectionService::new(config(10));
    let d = receive(&mut s, t0, RECEIVER, with_id(&vector(ACCEPT), "a1"));
    assert!(d.commands.is_empty());
    assert!(d.closed().is_empty());
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::UnexpectedAction {
                action: Action::SessionAccept,
                ..
            },
            ..
        }
    ));
    let (to, iq) = &d.sent[0];
    assert_eq!(to, RECEIVER);
    assert_eq!(iq.kind, IqType::Error);
    assert_eq!(iq.id.as_deref(), Some("a1"));
    let e = iq.error.as_ref().unwrap();
    assert_eq!(
        (e.condition.as_ref(), e.jingle_condition.as_deref()),
        ("item-not-found", Some("unknown-session"))
    );
    assert!(!s.is_active());
}

#[test]
fn early_transport_info_is_kept_until_its_initiate() {
    let t0 = Instant::now();
    let mut s = ProxyConnectionService::new(config(11));
    let d = receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO));
    assert!(d.is_empty(), "{d:?}");
    assert_eq!(s.early_transport_info_len(), 1);
    let d = receive(&mut s, t0 + secs(1), SENDER, vector(INITIATE));
    assert!(matches!(d.commands[0], EngineCommand::ApplyOffer { .. }));
    assert_eq!(
        d.commands.len(),
        3,
        "offer then the two early candidates: {d:?}"
    );
    assert!(matches!(&d.commands[1], EngineCommand::AddRemoteCandidate { mid, .. } if mid == "0"));
    assert_eq!(s.early_transport_info_len(), 0);
}

#[test]
fn early_transport_info_expires_with_an_error() {
    let t0 = Instant::now();
    let mut s = ProxyConnectionService::new(config(12));
    receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO));
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Config::default().early_transport_info_ttl);
    s.handle_timeout(deadline);
    let d = drain(&mut s);
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::OrphanTransportInfo,
            ..
        }
    ));
    assert_eq!(s.early_transport_info_len(), 0);
    assert_eq!(s.poll_timeout(), None);
}

// ---- rule 3: sids ---------------------------------------------------------

#[test]
fn responder_adopts_the_initiators_sid_and_checks_it() {
    let t0 = Instant::now();
    let mut s = ProxyConnectionService::new(config(13));
    receive(&mut s, t0, SENDER, with_sid(&vector(INITIATE), "abc"));
    assert_eq!(s.sid(), Some("abc"));
    let sdp = fake_answer(false);
    let d = engine(&mut s, t0, EngineEvent::LocalAnswer { sdp });
    assert_eq!(
        d.sent[0].1.jingle.as_ref().unwrap().sid.as_deref(),
        Some("abc")
    );
    // Wrong sid with an id: item-not-found + unknown-session, nothing applied.
    let ti = with_id(&with_sid(&vector(TRANSPORT_INFO), "zzz"), "t1");
    let d = receive(&mut s, t0, SENDER, ti);
    assert!(d.commands.is_empty());
    let e = d.sent[0].1.error.as_ref().unwrap();
    assert_eq!(e.jingle_condition.as_deref(), Some("unknown-session"));
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::SidMismatch { .. },
            ..
        }
    ));
    // A peer that uses sids must keep using them.
    let d = receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO));
    assert!(d.commands.is_empty());
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::SidMismatch { found: None, .. },
            ..
        }
    ));
    // The right sid works.
    let d = receive(&mut s, t0, SENDER, with_sid(&vector(TRANSPORT_INFO), "abc"));
    assert_eq!(d.commands.len(), 2);
}

#[test]
fn a_second_initiate_from_the_peer_keeps_the_session() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(14), false);
    let sid = s.sid().unwrap().to_owned();
    let d = receive(&mut s, t0, SENDER, with_id(&vector(INITIATE), "dup"));
    assert!(d.commands.is_empty(), "no second engine session: {d:?}");
    assert!(d.closed().is_empty());
    assert_eq!(d.sent[0].1.kind, IqType::Error);
    assert!(matches!(
        d.errors()[0],
        Error::Protocol {
            source: ProtocolError::DuplicateInitiate,
            ..
        }
    ));
    assert_eq!(s.sid(), Some(sid.as_str()));
}

#[test]
fn glare_is_resolved_by_the_lower_sid_on_both_sides() {
    let t0 = Instant::now();
    let mut a = ProxyConnectionService::new(Config {
        local_jid: Some(SENDER.into()),
        ..config(100)
    });
    let mut b = ProxyConnectionService::new(Config {
        local_jid: Some(RECEIVER.into()),
        ..config(200)
    });
    let initiate = |s: &mut ProxyConnectionService, peer: &str| {
        s.start(t0, peer, &[LocalTrack::desktop()]).unwrap();
        let d = drain(s);
        let EngineCommand::CreateOffer { tracks, .. } = &d.commands[0] else {
            panic!()
        };
        let sdp = fake_offer(tracks, false);
        let d = engine(s, t0, EngineEvent::LocalOffer { sdp });
        proxy_core::write_iq(&d.sent[0].1)
    };
    let from_a = initiate(&mut a, RECEIVER);
    let from_b = initiate(&mut b, SENDER);
    let (sid_a, sid_b) = (a.sid().unwrap().to_owned(), b.sid().unwrap().to_owned());
    a.handle_message(t0, msg(RECEIVER, from_b));
    b.handle_message(t0, msg(SENDER, from_a));
    let (da, db) = (drain(&mut a), drain(&mut b));
    let (winner, loser_d) = if sid_a < sid_b {
        (sid_a, &db)
    } else {
        (sid_b, &da)
    };
    assert_eq!(a.sid(), Some(winner.as_str()));
    assert_eq!(b.sid(), Some(winner.as_str()));
    assert!(loser_d.commands.contains(&EngineCommand::Close));
    assert!(loser_d
        .commands
        .iter()
        .any(|c| matches!(c, EngineCommand::ApplyOffer { .. })));
    assert!(
        da.closed().is_empty() && db.closed().is_empty(),
        "glare is not a close"
    );
}

// ---- rule 4: acks -------------------------------------------------------

#[test]
fn iqs_with_an_id_are_acknowledged_and_others_are_not() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(15), false);
    let d = receive(&mut s, t0, SENDER, with_id(&vector(TRANSPORT_INFO), "q7"));
    assert_eq!(d.sent.len(), 1);
    assert_eq!(d.sent[0].1.kind, IqType::Result);
    assert_eq!(d.sent[0].1.id.as_deref(), Some("q7"));
    assert_eq!(d.sent[0].0, SENDER);
    assert!(receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO))
        .sent
        .is_empty());
    // Results the peer sends us are consumed silently.
    let result = "<iq type='result' id='x' xmlns='jabber:client'/>";
    assert!(receive(&mut s, t0, SENDER, result).is_empty());
}

// ---- rule 6: timeouts -----------------------------------------------------

#[test]
fn no_accept_in_time_closes_with_connection_error() {
    let t0 = Instant::now();
    let (mut s, _) = initiator_awaiting_accept(t0);
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Config::default().session_accept_timeout);
    s.handle_timeout(deadline - secs(1));
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(deadline);
    let d = drain(&mut s);
    let j = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(j.action, Action::ConnectionErrorEncountered);
    assert_eq!(
        d.closed(),
        [&Event::ConnectionClosed {
            peer: RECEIVER.into(),
            reason: CloseReason::AcceptTimeout
        }]
    );
    assert_eq!(d.commands, [EngineCommand::Close]);
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn ice_that_never_connects_times_out() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(16), false);
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, t0 + Config::default().ice_connect_timeout);
    s.handle_timeout(deadline);
    let d = drain(&mut s);
    assert_eq!(
        d.sent[0].1.jingle.as_ref().unwrap().details.as_deref(),
        Some("xmpp.connection.ice.failed")
    );
    assert_eq!(d.close_reason(), Some(&CloseReason::IceTimeout));
}

#[test]
fn lost_connectivity_closes_unless_it_recovers() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(17), false);
    s.handle_engine_event(t0, EngineEvent::Connected);
    drain(&mut s);
    assert_eq!(
        s.poll_timeout(),
        None,
        "nothing to wait for while connected"
    );
    s.handle_engine_event(t0 + secs(30), EngineEvent::Disconnected);
    s.handle_engine_event(t0 + secs(32), EngineEvent::Connected);
    s.handle_timeout(t0 + secs(40));
    let d = drain(&mut s);
    assert!(d.closed().is_empty(), "recovered: {d:?}");
    s.handle_engine_event(t0 + secs(50), EngineEvent::Disconnected);
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(
        deadline,
        t0 + secs(50) + Config::default().connectivity_lost_timeout
    );
    s.handle_timeout(deadline);
    let d = drain(&mut s);
    assert_eq!(d.close_reason(), Some(&CloseReason::ConnectivityLost));
    assert_eq!(d.sent[0].0, SENDER);
}

// ---- malformed input, determinism ----------------------------------------

#[test]
fn malformed_input_is_reported_and_changes_nothing() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(18), false);
    for bad in ["", "<iq", "<iq type='set' xmlns='jabber:client'><jingle action='nope' xmlns='urn:xmpp:jingle:1'/></iq>", "not xml"] {
        let d = receive(&mut s, t0, SENDER, bad);
        assert!(d.sent.is_empty() && d.commands.is_empty(), "{bad}: {d:?}");
        assert!(matches!(d.errors().as_slice(), [Error::Malformed { .. }]), "{bad}: {d:?}");
    }
    assert!(s.is_active());
}

#[test]
fn same_seed_same_outputs() {
    let t0 = Instant::now();
    let run = || {
        let (_, d) = initiator_awaiting_accept(t0);
        d.sent
            .iter()
            .map(|(_, iq)| proxy_core::write_iq(iq))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn engine_failure_during_negotiation_closes() {
    let t0 = Instant::now();
    let mut s = started(t0, config(19));
    let failure = proxy_core::EngineError::CreateOffer("no codecs".into());
    let d = engine(&mut s, t0, EngineEvent::CommandFailed(failure));
    assert!(matches!(d.errors()[0], Error::Engine(_)));
    assert_eq!(d.closed().len(), 1);
    assert!(!s.is_active());
}

// ---- str0m's own SDP through the service; rule 8 -------------------------

#[test]
fn a_str0m_offer_becomes_a_lib_jitsi_meet_shaped_session_initiate() {
    let t0 = Instant::now();
    let (_, d) = str0m_offer_sent(t0, config(20));
    assert_eq!(
        d.sent_actions()[0],
        (RECEIVER.into(), Some(Action::SessionInitiate))
    );
    let j = d.sent[0].1.jingle.as_ref().unwrap();
    let vector = jingle_of(&vector(INITIATE));
    assert_eq!(j.groups[0].semantics, vector.groups[0].semantics);
    assert_eq!(
        j.groups[0].contents,
        j.contents
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
    );
    let (c, vc) = (&j.contents[0], &vector.contents[0]);
    assert_eq!(
        c.senders, vc.senders,
        "sendonly is written as lib-jitsi-meet writes it"
    );
    assert_eq!(c.creator, vc.creator);
    let desc = c.description.as_ref().unwrap();
    assert_eq!(desc.media, "video");
    assert!(desc
        .payload_types
        .iter()
        .any(|p| p.name == "VP8" && !p.rtcp_fbs.is_empty()));
    assert!(!desc.sources.is_empty());
    for src in &desc.sources {
        assert_eq!(src.name.as_deref(), Some("peer-v0"));
        assert_eq!(src.video_type.as_deref(), Some("desktop"));
        assert!(src.msid().is_some());
    }
    assert_eq!(desc.ssrc_groups[0].semantics, "FID");
    let t = c.transport.as_ref().unwrap();
    assert!(t.ufrag.is_some() && t.pwd.is_some());
    assert_eq!(t.fingerprint.as_ref().unwrap().setup, Some(Setup::Actpass));
    // str0m's host candidate travels inside the session-initiate (the peer
    // pairs it as soon as it applies the offer): no transport-info follows.
    assert_eq!(t.candidates.len(), 1);
    assert_eq!(t.candidates[0].port, 5000);
    assert_eq!(
        d.sent_actions(),
        [(RECEIVER.into(), Some(Action::SessionInitiate))]
    );
}

/// The transport of the first content of a sent description, and the
/// candidates of every transport-info sent.
fn sent_candidates(d: &Drained) -> (Vec<Vec<u16>>, Vec<u16>) {
    let mut in_description = Vec::new();
    let mut trickled = Vec::new();
    for (_, iq) in &d.sent {
        let Some(j) = iq.jingle.as_ref() else {
            continue;
        };
        let ports = |c: &proxy_core::jingle::Content| -> Vec<u16> {
            c.transport
                .as_ref()
                .map(|t| t.candidates.iter().map(|c| c.port).collect())
                .unwrap_or_default()
        };
        match j.action {
            Action::SessionInitiate | Action::SessionAccept => {
                in_description = j.contents.iter().map(ports).collect()
            }
            Action::TransportInfo => trickled.extend(j.contents.iter().flat_map(ports)),
            _ => {}
        }
    }
    (in_description, trickled)
}

/// `sdp` with `lines` added after its first line starting with `after`.
fn with_lines(sdp: &str, after: &str, lines: &[String]) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in sdp.split_inclusive('\n') {
        out.push_str(line);
        if !done && line.starts_with(after) {
            for l in lines {
                out.push_str(l);
                out.push_str("\r\n");
            }
            done = true;
        }
    }
    assert!(done, "no line starting with {after:?}");
    out
}

fn host_line(port: u16) -> String {
    format!("a=candidate:{port} 1 udp 2130706175 127.0.0.1 {port} typ host")
}

#[test]
fn candidates_known_at_the_offer_go_inside_the_session_initiate_later_ones_by_transport_info() {
    let t0 = Instant::now();
    let mut s = ProxyConnectionService::new(config(24));
    s.start(t0, RECEIVER, &[LocalTrack::audio(), LocalTrack::desktop()])
        .unwrap();
    drain(&mut s);
    // Two more candidates in the audio m-line, one of them repeated in the
    // video m-line (a BUNDLE offer may list them in every m-line).
    let offer = fixture("str0m-offer-av.sdp");
    let offer = with_lines(&offer, "a=candidate:", &[host_line(6000), host_line(6001)]);
    let offer = with_lines(&offer, "a=mid:IL4", &[host_line(6001)]);
    let d = engine(&mut s, t0, EngineEvent::LocalOffer { sdp: offer });
    assert_eq!(
        d.sent_actions(),
        [(RECEIVER.into(), Some(Action::SessionInitiate))]
    );
    let (description, trickled) = sent_candidates(&d);
    assert_eq!(
        description,
        [vec![5000, 6000, 6001], vec![]],
        "all in the first (BUNDLE) transport, each once"
    );
    assert!(trickled.is_empty());
    // A candidate found later is trickled, in the first content's transport.
    let d = host_candidate(&mut s, t0, 7000);
    assert_eq!(
        d.sent_actions(),
        [(RECEIVER.into(), Some(Action::TransportInfo))]
    );
    assert_eq!(sent_candidates(&d).1, [7000]);
    let ti = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(ti.contents[0].name, "4eJ");
}

#[test]
fn candidates_known_at_the_answer_go_inside_the_session_accept_later_ones_by_transport_info() {
    let t0 = Instant::now();
    let (mut s, d) = str0m_answer_sent(t0, config(25));
    assert_eq!(
        d.sent_actions(),
        [(SENDER.into(), Some(Action::SessionAccept))]
    );
    assert_eq!(sent_candidates(&d), (vec![vec![5001]], vec![]));
    let d = host_candidate(&mut s, t0, 7001);
    assert_eq!(
        d.sent_actions(),
        [(SENDER.into(), Some(Action::TransportInfo))]
    );
    assert_eq!(sent_candidates(&d).1, [7001]);
}

#[test]
fn without_candidates_in_description_every_candidate_is_trickled_as_lib_jitsi_meet_does() {
    let t0 = Instant::now();
    let cfg = Config {
        candidates_in_description: false,
        ..config(27)
    };
    let (_, d) = str0m_offer_sent(t0, cfg);
    assert_eq!(
        d.sent_actions(),
        [
            (RECEIVER.into(), Some(Action::SessionInitiate)),
            (RECEIVER.into(), Some(Action::TransportInfo))
        ]
    );
    assert_eq!(sent_candidates(&d), (vec![vec![]], vec![5000]));
}

#[test]
fn candidates_beyond_one_transport_limit_are_trickled() {
    let t0 = Instant::now();
    let mut cfg = config(26);
    cfg.limits.max_candidates = 2;
    let mut s = started(t0, cfg);
    let offer = with_lines(
        &fixture("str0m-offer.sdp"),
        "a=candidate:",
        &[
            host_line(6000),
            host_line(6001),
            host_line(6002),
            host_line(6003),
        ],
    );
    let d = engine(&mut s, t0, EngineEvent::LocalOffer { sdp: offer });
    assert_eq!(
        d.sent_actions(),
        [
            (RECEIVER.into(), Some(Action::SessionInitiate)),
            (RECEIVER.into(), Some(Action::TransportInfo)),
            (RECEIVER.into(), Some(Action::TransportInfo))
        ],
        "2 in the initiate, then batches of 2 and 1"
    );
    let (description, trickled) = sent_candidates(&d);
    assert_eq!(description, [vec![5000, 6000]]);
    assert_eq!(trickled, [6001, 6002, 6003]);
}

#[test]
fn a_str0m_answer_becomes_a_session_accept() {
    let t0 = Instant::now();
    let (_, d) = str0m_answer_sent(t0, config(21));
    let j = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(j.action, Action::SessionAccept);
    let vector = jingle_of(&vector(ACCEPT));
    assert_eq!(j.contents[0].senders, vector.contents[0].senders);
    assert_eq!(j.contents[0].creator, vector.contents[0].creator);
    let setup = j.contents[0]
        .transport
        .as_ref()
        .unwrap()
        .fingerprint
        .as_ref()
        .unwrap()
        .setup;
    assert!(matches!(setup, Some(Setup::Active | Setup::Passive)));
}

#[test]
fn configured_ice_servers_reach_the_engine_in_both_roles() {
    let t0 = Instant::now();
    let xml = "<iq type='result' id='e1' xmlns='jabber:client'><services xmlns='urn:xmpp:extdisco:2'>\
        <service type='stun' host='stun.example.com' port='3478'/>\
        <service type='turn' host='turn.example.com' port='3478' transport='udp' username='u' password='p' expires='2026-12-01T00:00:00Z'/>\
        </services></iq>";
    let servers = proxy_core::extdisco::parse_services_result(xml, &Default::default()).unwrap();
    assert_eq!(servers.len(), 2);
    let cfg = Config {
        ice_servers: servers.clone(),
        ..config(22)
    };
    let mut a = ProxyConnectionService::new(cfg.clone());
    a.start(t0, RECEIVER, &[LocalTrack::desktop()]).unwrap();
    let d = drain(&mut a);
    assert!(
        matches!(&d.commands[0], EngineCommand::CreateOffer { ice_servers, .. } if *ice_servers == servers)
    );
    let mut b = ProxyConnectionService::new(cfg);
    let d = receive(&mut b, t0, SENDER, vector(INITIATE));
    assert!(
        matches!(&d.commands[0], EngineCommand::ApplyOffer { ice_servers, .. } if *ice_servers == servers)
    );
}

#[test]
fn source_add_and_remove_are_answered_and_ignored() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(23), false);
    for action in ["source-add", "source-remove"] {
        let iq = format!(
            "<iq id='s1' type='set' xmlns='jabber:client'><jingle action='{action}' xmlns='urn:xmpp:jingle:1'>\
             <content name='0'><description media='video' xmlns='urn:xmpp:jingle:apps:rtp:1'>\
             <source ssrc='42' xmlns='urn:xmpp:jingle:apps:rtp:ssma:0'/></description></content></jingle></iq>"
        );
        let d = receive(&mut s, t0, SENDER, iq);
        assert!(d.commands.is_empty() && d.events.is_empty(), "{d:?}");
        assert_eq!(d.sent.len(), 1);
        assert_eq!(d.sent[0].1.kind, IqType::Result);
    }
    assert!(s.is_active());
}

#[test]
fn a_restarted_peer_replaces_the_connection() {
    let t0 = Instant::now();
    // lib-jitsi-meet style (no sids): new ICE credentials mean a new session.
    let (mut s, _) = responder_negotiated(t0, config(24), false);
    let old_sid = s.sid().unwrap().to_owned();
    let restarted = vector(INITIATE).replace("ufrag=\"pEF9\"", "ufrag=\"nEw1\"");
    let d = receive(&mut s, t0 + secs(1), SENDER, restarted);
    assert_eq!(
        d.closed(),
        [&Event::ConnectionClosed {
            peer: SENDER.into(),
            reason: CloseReason::PeerRestarted
        }]
    );
    assert!(
        d.sent.is_empty(),
        "the old session is gone on the peer's side: nothing to tell it"
    );
    assert!(
        matches!(
            d.commands.as_slice(),
            [EngineCommand::Close, EngineCommand::ApplyOffer { .. }]
        ),
        "{:?}",
        d.commands
    );
    assert!(s.is_active());
    assert_ne!(s.sid(), Some(old_sid.as_str()));
    // With sids: a new sid is a restart, the same sid a duplicate.
    let (mut s, _) = responder_negotiated(t0, config(25), false);
    let with_sid = |sid: &str| with_sid(&vector(INITIATE), sid);
    let mut s2 = ProxyConnectionService::new(config(26));
    receive(&mut s2, t0, SENDER, with_sid("one"));
    let d = receive(&mut s2, t0, SENDER, with_sid("one"));
    assert!(
        d.closed().is_empty() && d.commands.is_empty(),
        "duplicate: {d:?}"
    );
    let d = receive(&mut s2, t0, SENDER, with_sid("two"));
    assert_eq!(d.closed().len(), 1);
    assert_eq!(s2.sid(), Some("two"));
    // An unusable restart keeps the working connection.
    let unusable = with_sid("three")
        .replace("<content creator", "<contentx creator")
        .replace("</content></jingle>", "</contentx></jingle>");
    let d = receive(&mut s, t0, SENDER, unusable);
    assert!(d.closed().is_empty(), "{d:?}");
    assert!(s.is_active());
}
