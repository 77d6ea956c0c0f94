//! A deterministic two-peer simulation: two [`ProxyConnection`]s (the core
//! service with str0m) exchanging signaling and datagrams on a virtual clock, shaped like
//! quinn-proto's test `Pair`: the clock jumps to the earliest deadline of
//! either side or the next delivery; datagrams and stanzas arrive after a
//! configurable latency.

mod common;

use std::time::Duration;

use proxy_core::jingle::Action;
use proxy_core::{
    parse_iq, CloseReason, Config, Event as CoreEvent, Limits, LocalTrack, MediaKind, ProxyMessage,
    VideoType,
};
use proxy_str0m::{Frame, ProxyConfig, ProxyConnection, Transmit, WriteError};

use common::pair::{assert_frames_match, vectors_dir, Delivery, Pair, INTRUDER, RECEIVER, SENDER};
use common::{opus_frame, video_frame, FRAME_INTERVAL};

#[test]
fn proxies_300_vp8_frames_intact_and_in_order() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    assert_eq!(p.a.connected_events(), 1);
    assert_eq!(p.b.connected_events(), 1);

    // The receiver sees the proxied track as a local desktop track.
    let tracks = p.b.remote_tracks();
    assert_eq!(tracks.len(), 1, "{:?}", p.b.events);
    let t = tracks[0].clone();
    assert_eq!(t.device_id, format!("proxy:{SENDER}"));
    assert_eq!(t.source_type, "proxy");
    assert_eq!(t.kind, MediaKind::Video);
    assert_eq!(t.video_type, Some(VideoType::Desktop));
    assert_eq!(t.peer, SENDER);
    assert_eq!(t.source_name.as_deref(), Some("peer-v0"));
    assert_eq!(Some(t.mid.clone()), p.a.conn.mid_of_track(0));
    assert!(p.a.remote_tracks().is_empty());

    let sent = p.send_video(0, 0, 300);
    p.drive_until(Duration::from_secs(2), |p| p.b.frames.len() >= 300);
    let got: Vec<&Frame> = p.b.frames.iter().collect();
    assert_frames_match(&got, &sent);
    for (n, f) in got.iter().enumerate() {
        assert_eq!(f.keyframe, Some(n % 30 == 0));
        assert_eq!(f.mid, t.mid);
        assert_eq!(f.kind, MediaKind::Video);
    }
    assert!(p.a.closed().is_empty() && p.b.closed().is_empty());
    let errors: Vec<_> =
        p.a.events
            .iter()
            .chain(&p.b.events)
            .filter(|(_, e)| matches!(e, CoreEvent::Error(_)))
            .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn camera_when_not_converting_to_desktop() {
    let mut p = Pair::new(Config::default(), Config::default());
    p.connect(&[LocalTrack::desktop()]);
    let tracks = p.b.remote_tracks();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].video_type, Some(VideoType::Camera));
}

fn stop_closes_both_once(stopper_is_b: bool) {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    p.send_video(0, 0, 10);
    let now = p.time;
    p.peer(stopper_is_b).conn.stop(now);
    p.run_for(Duration::from_secs(10));
    let (stopper, other) = if stopper_is_b {
        (&p.b, &p.a)
    } else {
        (&p.a, &p.b)
    };
    assert_eq!(stopper.closed(), vec![&CloseReason::LocalStop]);
    // The stopper's DTLS close_notify (20 ms) overtakes its session-terminate
    // (50 ms); the terminate then arrives for a closed session, quietly.
    assert_eq!(other.closed(), vec![&CloseReason::PeerClosed]);
    let errors: Vec<_> =
        p.a.events
            .iter()
            .chain(&p.b.events)
            .filter(|(_, e)| matches!(e, CoreEvent::Error(_)))
            .collect();
    assert!(errors.is_empty(), "{errors:?}");
    assert!(!p.a.conn.is_active() && !p.b.conn.is_active());
    // The stopper said so with a session-terminate.
    let terminate = stopper
        .sent
        .iter()
        .filter_map(|(_, iq)| parse_iq(iq, &Limits::default()).ok())
        .filter_map(|iq| iq.jingle)
        .filter(|j| j.action == Action::SessionTerminate)
        .count();
    assert_eq!(terminate, 1);
    let now = p.time;
    assert_eq!(
        p.a.conn
            .write_frame(now, 0, Duration::ZERO, &video_frame(0)),
        Err(WriteError::NoConnection)
    );
    // Nothing else is scheduled on either side.
    p.run_for(Duration::from_secs(30));
    assert_eq!(p.a.closed().len(), 1);
    assert_eq!(p.b.closed().len(), 1);
}

#[test]
fn stop_from_the_sender_closes_both_once() {
    stop_closes_both_once(false);
}

#[test]
fn stop_from_the_receiver_closes_both_once() {
    stop_closes_both_once(true);
}

/// When the `ConnectionClosed` event of `peer` came out.
fn closed_at(peer: &common::pair::Peer) -> Option<std::time::Instant> {
    peer.events
        .iter()
        .find_map(|(t, e)| matches!(e, CoreEvent::ConnectionClosed { .. }).then_some(*t))
}

#[test]
fn stop_sends_dtls_close_notify_the_peer_closes_without_signaling() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    p.send_video(0, 0, 10);
    // The stopper's session-terminate (and the other's) never arrive in time:
    // only the datagrams tell.
    p.signal_hold
        .push((Action::SessionTerminate, Duration::from_secs(3600)));
    let stopped = p.time;
    p.a.conn.stop(stopped);
    p.run_for(Duration::from_secs(1));
    assert_eq!(p.a.closed(), vec![&CloseReason::LocalStop]);
    assert_eq!(p.b.closed(), vec![&CloseReason::PeerClosed]);
    let after = closed_at(&p.b).expect("b closed") - stopped;
    // One datagram latency, not SILENCE_TIMEOUT + connectivity_lost_timeout.
    assert!(
        after <= p.latency + Duration::from_millis(5),
        "b closed {after:?} after the stop"
    );
    // b tells a (which may still read signaling) with a session-terminate.
    let told = p.b.sent.iter().any(|(to, iq)| {
        to == SENDER
            && parse_iq(iq, &Limits::default())
                .ok()
                .and_then(|iq| iq.jingle)
                .is_some_and(|j| j.action == Action::SessionTerminate)
    });
    assert!(told, "b sent no session-terminate: {:?}", p.b.sent);
    assert!(!p.b.conn.is_active());
    p.run_for(Duration::from_secs(30));
    assert_eq!(p.b.closed().len(), 1, "closed once");
}

#[test]
fn a_received_session_terminate_closes_dtls_too() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    p.send_video(0, 0, 10);
    // b gets a session-terminate a never sent (say, a's application terminated
    // through another path): b closes, and its close_notify tells a at once.
    let sid = p.b.conn.sid().expect("sid").to_owned();
    let iq = format!(
        "<iq to=\"{RECEIVER}\" type=\"set\" id=\"t1\" xmlns=\"jabber:client\"><jingle action=\"session-terminate\" sid=\"{sid}\" xmlns=\"urn:xmpp:jingle:1\"><reason><success/></reason></jingle></iq>"
    );
    let terminated = p.time;
    p.b.conn.handle_message(
        terminated,
        ProxyMessage {
            from: SENDER.into(),
            iq,
        },
    );
    p.drain_side(true);
    p.run_for(Duration::from_secs(1));
    assert_eq!(
        p.b.closed(),
        vec![&CloseReason::Terminated {
            condition: "success".into()
        }]
    );
    assert_eq!(p.a.closed(), vec![&CloseReason::PeerClosed]);
    let after = closed_at(&p.a).expect("a closed") - terminated;
    assert!(
        after <= p.latency + Duration::from_millis(5),
        "a closed {after:?} after b's close"
    );
}

#[test]
fn third_party_is_rejected_and_media_continues() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    let mut sent = p.send_video(0, 0, 50);
    let initiate =
        std::fs::read_to_string(vectors_dir().join("01-session-initiate.sender-to-receiver.xml"))
            .expect("vector 01");
    let now = p.time;
    p.b.conn.handle_message(
        now,
        ProxyMessage {
            from: INTRUDER.into(),
            iq: initiate,
        },
    );
    p.drain_side(true);
    sent.extend(p.send_video(0, 50, 50));
    p.drive_until(Duration::from_secs(2), |p| p.b.frames.len() >= 100);

    // The intruder got exactly one rejection.
    let to_intruder: Vec<_> = p
        .elsewhere
        .iter()
        .filter(|(_, to, _)| to == INTRUDER)
        .collect();
    assert_eq!(to_intruder.len(), 1, "{:?}", p.elsewhere);
    let (from, _, iq) = to_intruder[0];
    assert_eq!(from, RECEIVER);
    let iq = parse_iq(iq, &Limits::default()).expect("rejection parses");
    assert_eq!(iq.to.as_deref(), Some(INTRUDER));
    let jingle = iq.jingle.expect("jingle");
    assert_eq!(jingle.action, Action::ConnectionErrorEncountered);
    assert_eq!(jingle.details.as_deref(), Some("rejected"));

    // The session goes on: every frame arrived, nobody closed.
    let got: Vec<&Frame> = p.b.frames.iter().collect();
    assert_frames_match(&got, &sent);
    assert!(p.a.closed().is_empty() && p.b.closed().is_empty());
    assert_eq!(p.b.remote_tracks().len(), 1);
    assert!(p.b.conn.peer() == Some(SENDER));
}

#[test]
fn audio_and_video_session_delivers_both() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::audio(), LocalTrack::desktop()]);
    let tracks = p.b.remote_tracks();
    assert_eq!(tracks.len(), 2, "{:?}", p.b.events);
    let audio = tracks
        .iter()
        .find(|t| t.kind == MediaKind::Audio)
        .expect("audio track");
    let video = tracks
        .iter()
        .find(|t| t.kind == MediaKind::Video)
        .expect("video track");
    assert_eq!(audio.video_type, None);
    assert_eq!(audio.source_name.as_deref(), Some("peer-a0"));
    assert_eq!(video.video_type, Some(VideoType::Desktop));
    assert_eq!(video.source_name.as_deref(), Some("peer-v1"));
    assert_eq!(audio.device_id, format!("proxy:{SENDER}"));
    let (audio_mid, video_mid) = (audio.mid.clone(), video.mid.clone());

    let mut sent_audio = Vec::new();
    let mut sent_video = Vec::new();
    for n in 0..100u32 {
        let now = p.time;
        let pts = Duration::from_millis(20) * n;
        p.a.conn.write_frame(now, 0, pts, &opus_frame(n)).unwrap();
        sent_audio.push((pts, opus_frame(n)));
        if n % 2 == 0 {
            let v = n / 2;
            p.a.conn
                .write_frame(now, 1, FRAME_INTERVAL * v, &video_frame(v))
                .unwrap();
            sent_video.push((FRAME_INTERVAL * v, video_frame(v)));
        }
        p.drain_side(false);
        p.run_for(Duration::from_millis(20));
    }
    p.drive_until(Duration::from_secs(2), |p| p.b.frames.len() >= 150);
    let got_audio: Vec<&Frame> = p.b.frames.iter().filter(|f| f.mid == audio_mid).collect();
    let got_video: Vec<&Frame> = p.b.frames.iter().filter(|f| f.mid == video_mid).collect();
    assert!(got_audio.iter().all(|f| f.kind == MediaKind::Audio));
    assert_frames_match(&got_audio, &sent_audio);
    assert_frames_match(&got_video, &sent_video);
}

#[test]
fn keyframe_requests_work_both_ways() {
    let a = Config {
        offer_to_receive: true,
        seed: 1,
        ..Config::default()
    };
    let b = Config {
        responder_tracks: vec![LocalTrack::camera()],
        seed: 2,
        ..Config::default()
    };
    let mut p = Pair::new(a, b);
    p.connect(&[LocalTrack::desktop()]);
    // Each side receives the other's video.
    assert_eq!(p.b.remote_tracks().len(), 1, "{:?}", p.b.events);
    assert_eq!(p.a.remote_tracks().len(), 1, "{:?}", p.a.events);
    let a_track = p.a.remote_tracks()[0].clone();
    assert_eq!(a_track.device_id, format!("proxy:{RECEIVER}"));
    let mid = p.b.remote_tracks()[0].mid.clone();
    assert_eq!(a_track.mid, mid);

    // Both streams start on a keyframe (frames 0 and 510), so neither receiver
    // asks for one by itself.
    for n in 0..10u32 {
        let now = p.time;
        p.a.conn
            .write_frame(now, 0, FRAME_INTERVAL * n, &video_frame(n))
            .unwrap();
        p.b.conn
            .write_frame(now, 0, FRAME_INTERVAL * n, &video_frame(n + 510))
            .unwrap();
        p.drain();
        p.run_for(FRAME_INTERVAL);
    }
    p.run_for(Duration::from_millis(200));
    assert_eq!(p.b.frames.len(), 10);
    assert_eq!(p.a.frames.len(), 10);
    assert!(p.a.frames[4].data[..] == video_frame(514)[..]);

    p.b.conn.request_keyframe(p.time, &mid).expect("b asks a");
    p.drain_side(true);
    assert!(p.drive_until(Duration::from_secs(2), |p| !p
        .a
        .keyframe_requests
        .is_empty()));
    assert_eq!(p.a.keyframe_requests, vec![0]);
    assert!(p.b.keyframe_requests.is_empty());

    p.a.conn
        .request_keyframe(p.time, &a_track.mid)
        .expect("a asks b");
    p.drain_side(false);
    assert!(p.drive_until(Duration::from_secs(2), |p| !p
        .b
        .keyframe_requests
        .is_empty()));
    assert_eq!(p.b.keyframe_requests, vec![0]);
}

#[test]
fn lost_connectivity_closes_both_sides() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    p.send_video(0, 0, 5);
    p.partitioned = true;
    p.in_flight
        .retain(|(_, _, d)| !matches!(d, Delivery::Datagram(_)));
    let cut = p.time;
    let lost = Config::default().connectivity_lost_timeout;
    assert!(p.drive_until(lost + Duration::from_secs(10), |p| {
        !p.a.closed().is_empty() && !p.b.closed().is_empty()
    }));
    for peer in [&p.a, &p.b] {
        assert_eq!(peer.closed(), vec![&CloseReason::ConnectivityLost]);
        let (at, _) = peer
            .events
            .iter()
            .find(|(_, e)| matches!(e, CoreEvent::ConnectionClosed { .. }))
            .unwrap();
        // Noticed by silence (2 s) plus the core's grace period, not by ICE giving up.
        assert!(
            *at - cut <= lost + Duration::from_secs(3),
            "closed after {:?}",
            *at - cut
        );
    }
}

#[test]
fn high_latency_still_delivers_every_frame() {
    let mut p = Pair::default_pair();
    p.latency = Duration::from_millis(150);
    p.signal_latency = Duration::from_millis(400);
    p.connect(&[LocalTrack::desktop()]);
    let sent = p.send_video(0, 0, 60);
    p.drive_until(Duration::from_secs(2), |p| p.b.frames.len() >= 60);
    let got: Vec<&Frame> = p.b.frames.iter().collect();
    assert_frames_match(&got, &sent);
}

#[test]
fn a_new_session_after_stop_works() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    p.send_video(0, 0, 5);
    let now = p.time;
    p.a.conn.stop(now);
    p.run_for(Duration::from_secs(3));
    assert_eq!(p.a.closed().len(), 1);
    assert_eq!(p.b.closed().len(), 1);
    p.b.frames.clear();
    p.connect(&[LocalTrack::desktop()]);
    assert_eq!(p.b.remote_tracks().len(), 2);
    let sent = p.send_video(0, 0, 30);
    p.drive_until(Duration::from_secs(2), |p| p.b.frames.len() >= 30);
    let got: Vec<&Frame> = p.b.frames.iter().collect();
    assert_frames_match(&got, &sent);
    assert_eq!(p.a.closed().len(), 1);
    assert_eq!(p.b.closed().len(), 1);
}

#[test]
fn garbage_datagrams_from_the_peer_do_not_break_the_session() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    let mut sent = p.send_video(0, 0, 10);
    let source = "10.0.0.1:10000".parse().unwrap();
    let destination = "10.0.0.2:20000".parse().unwrap();
    let mut x = 0x1234_5678u32;
    for round in 0..300u32 {
        let len = 1 + (round as usize * 13) % 300;
        let mut junk: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        // Look like STUN, DTLS, RTP/RTCP in turn, so every demultiplexer path sees junk.
        junk[0] = [0x00, 0x01, 22, 23, 0x80, 0x81, 200][round as usize % 7];
        let now = p.time;
        p.b.conn.handle_receive(now, source, destination, &junk);
        p.drain_side(true);
    }
    sent.extend(p.send_video(0, 10, 20));
    p.drive_until(Duration::from_secs(2), |p| p.b.frames.len() >= 30);
    let got: Vec<&Frame> = p.b.frames.iter().collect();
    assert_frames_match(&got, &sent);
    assert!(p.b.closed().is_empty(), "{:?}", p.b.closed());
    assert!(p.b.conn.is_connected());
    let errors: Vec<_> =
        p.b.events
            .iter()
            .filter(|(_, e)| matches!(e, CoreEvent::Error(_)))
            .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// Everything observable of one run, with times relative to its start.
fn transcript(latency_ms: u64) -> Vec<String> {
    let mut p = Pair::default_pair();
    p.latency = Duration::from_millis(latency_ms);
    let start = p.time;
    p.connect(&[LocalTrack::desktop()]);
    p.send_video(0, 0, 20);
    let now = p.time;
    p.b.conn.stop(now);
    p.run_for(Duration::from_secs(2));
    // str0m picks random mids; name them by order of appearance instead.
    let mut mids: Vec<String> = Vec::new();
    let mut mid_name = |mid: &str| match mids.iter().position(|m| m == mid) {
        Some(i) => format!("mid#{i}"),
        None => {
            mids.push(mid.to_owned());
            format!("mid#{}", mids.len() - 1)
        }
    };
    let mut out = Vec::new();
    for (name, peer) in [("a", &p.a), ("b", &p.b)] {
        for (t, e) in &peer.events {
            let e = match e {
                CoreEvent::RemoteTrack(r) => {
                    let mut r = r.clone();
                    r.mid = mid_name(&r.mid);
                    format!("{r:?}")
                }
                e => format!("{e:?}"),
            };
            out.push(format!("{name} {:?} {e}", *t - start));
        }
        for f in &peer.frames {
            let mid = mid_name(&f.mid);
            out.push(format!(
                "{name} frame {mid} {:?} {:?} {:?}",
                f.pts, f.keyframe, f.data
            ));
        }
    }
    out
}

#[test]
fn same_inputs_same_events() {
    // str0m draws its own ICE credentials, DTLS keys and SSRCs, so datagrams
    // differ from run to run; what the application sees, and when, does not.
    let one = transcript(20);
    assert_eq!(one, transcript(20));
    assert!(one.iter().any(|l| l.contains("ConnectionClosed")));
}

#[test]
fn accepts_only_its_own_datagrams() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    let now = p.time;
    p.a.conn
        .write_frame(now, 0, Duration::ZERO, &video_frame(0))
        .unwrap();
    p.drain_side(false);
    let pending_rtp = |p: &Pair| {
        p.in_flight.iter().any(|(_, to_b, d)| {
            *to_b && matches!(d, Delivery::Datagram(t) if t.contents.first().is_some_and(|b| *b >= 128))
        })
    };
    assert!(p.drive_until(Duration::from_secs(1), pending_rtp));
    let to_b: Vec<Transmit> = p
        .in_flight
        .iter()
        .filter_map(|(_, to_b, d)| match d {
            Delivery::Datagram(t) if *to_b => Some(t.clone()),
            _ => None,
        })
        .collect();
    assert!(!to_b.is_empty());
    let idle = ProxyConnection::new(
        p.time,
        ProxyConfig {
            core: Config::default(),
            local_addrs: vec!["10.0.0.2:20000".parse().unwrap()],
            ..ProxyConfig::default()
        },
    );
    for t in &to_b {
        assert!(p.b.conn.accepts(t.source, t.destination, &t.contents));
        assert!(!idle.accepts(t.source, t.destination, &t.contents));
        // The same bytes from a stranger are not the session's (unless STUN
        // names our ufrag, which media packets do not).
        let stranger = "10.9.9.9:999".parse().unwrap();
        if t.contents.first().is_some_and(|b| *b >= 128) {
            assert!(!p.b.conn.accepts(stranger, t.destination, &t.contents));
        }
    }
}

#[test]
fn both_starting_at_once_ends_in_one_working_session() {
    let mut p = Pair::default_pair();
    let now = p.time;
    p.a.conn
        .start(now, RECEIVER, &[LocalTrack::desktop()])
        .unwrap();
    p.b.conn
        .start(now, SENDER, &[LocalTrack::desktop()])
        .unwrap();
    let ok = p.drive_until(Duration::from_secs(10), |p| {
        p.a.conn.is_connected() && p.b.conn.is_connected()
    });
    assert!(ok, "a: {:?}\nb: {:?}", p.a.events, p.b.events);
    assert_eq!(p.a.conn.sid(), p.b.conn.sid());
    // One side yielded and became the responder: it receives the other's video.
    let a_tracks = p.a.remote_tracks().len();
    let b_tracks = p.b.remote_tracks().len();
    assert_eq!(
        a_tracks + b_tracks,
        1,
        "a: {:?}\nb: {:?}",
        p.a.events,
        p.b.events
    );
    let initiator_is_a = b_tracks == 1;
    let mut sent = Vec::new();
    for n in 0..20u32 {
        let now = p.time;
        let frame = video_frame(n);
        let side = if initiator_is_a { &mut p.a } else { &mut p.b };
        side.conn
            .write_frame(now, 0, FRAME_INTERVAL * n, &frame)
            .expect("the initiator writes");
        sent.push((FRAME_INTERVAL * n, frame));
        p.drain();
        p.run_for(FRAME_INTERVAL);
    }
    p.run_for(Duration::from_millis(500));
    let receiver = if initiator_is_a { &p.b } else { &p.a };
    let got: Vec<&Frame> = receiver.frames.iter().collect();
    assert_frames_match(&got, &sent);
    assert!(p.a.closed().is_empty() && p.b.closed().is_empty());
}

/// The peer's DTLS ClientHello often overtakes our own ICE check; the engine
/// holds it instead of dropping it, so the handshake does not wait for the
/// peer's 1 s DTLS retransmission. Four signaling legs (50 ms) and a few
/// datagram round trips (20 ms each way) fit well within 500 ms.
#[test]
fn connects_without_waiting_for_a_dtls_retransmission() {
    let mut pair = Pair::default_pair();
    let start = pair.time;
    pair.connect(&[LocalTrack::desktop()]);
    let took = pair.time - start;
    assert!(
        took < Duration::from_millis(500),
        "connected after {took:?} of virtual time"
    );
}
