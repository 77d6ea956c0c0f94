//! A [`ProxyConnection`] receiver fed the real messages a lib-jitsi-meet sender
//! wrote in Chromium (proxy-core's `tests/vectors`): it must answer them,
//! report the tracks, and start ICE towards the trickled candidates.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use proxy_core::jingle::Action;
use proxy_core::{
    parse_iq, Config, Event as CoreEvent, Limits, MediaKind, ProxyMessage, VideoType,
};
use proxy_str0m::{Event, Output, ProxyConfig, ProxyConnection, Transmit};

const SENDER: &str = "sender@example.com/s1";

/// The captured lib-jitsi-meet messages, kept in proxy-core's `tests/vectors`.
fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proxy-core/tests/vectors")
}

fn vector(name: &str) -> String {
    std::fs::read_to_string(vectors_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[derive(Default)]
struct Drained {
    signals: Vec<(String, String)>,
    events: Vec<CoreEvent>,
    transmits: Vec<Transmit>,
    timeout: Option<Instant>,
}

fn drain(conn: &mut ProxyConnection, into: &mut Drained) {
    loop {
        match conn.poll_output() {
            Output::Timeout(t) => {
                into.timeout = t;
                return;
            }
            Output::Iq(out) => into.signals.push((out.to, out.iq)),
            Output::Event(Event::Core(e)) => into.events.push(e),
            Output::Event(_) => {}
            Output::Transmit(t) => into.transmits.push(t),
            _ => {}
        }
    }
}

fn receiver(now: Instant) -> ProxyConnection {
    ProxyConnection::new(
        now,
        ProxyConfig {
            core: Config {
                convert_video_to_desktop: true,
                ..Config::default()
            },
            local_addrs: vec!["127.0.0.1:20000".parse().unwrap()],
            ..ProxyConfig::default()
        },
    )
}

fn message(file: &str) -> ProxyMessage {
    ProxyMessage {
        from: SENDER.into(),
        iq: vector(file),
    }
}

fn no_errors(d: &Drained) {
    let errors: Vec<_> = d
        .events
        .iter()
        .filter(|e| matches!(e, CoreEvent::Error(_) | CoreEvent::ConnectionClosed { .. }))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn answers_a_lib_jitsi_meet_session_initiate_and_starts_ice() {
    let now = Instant::now();
    let mut conn = receiver(now);
    let mut out = Drained::default();
    conn.handle_message(now, message("01-session-initiate.sender-to-receiver.xml"));
    drain(&mut conn, &mut out);
    no_errors(&out);

    // A session-accept with the one video content and our candidate.
    let parsed: Vec<_> = out
        .signals
        .iter()
        .map(|(to, iq)| {
            assert_eq!(to, SENDER);
            parse_iq(iq, &Limits::default()).expect("our stanza parses")
        })
        .collect();
    let accept = parsed
        .iter()
        .filter_map(|iq| iq.jingle.as_ref())
        .find(|j| j.action == Action::SessionAccept)
        .expect("a session-accept");
    assert_eq!(accept.contents.len(), 1);
    let content = &accept.contents[0];
    assert_eq!(content.name, "0");
    let description = content.description.as_ref().expect("description");
    assert_eq!(description.media, "video");
    // The four video codecs we carry, VP8 (the offer's first) first, so that
    // the sender may use any; the offer's order is kept.
    let names: Vec<&str> = description
        .payload_types
        .iter()
        .map(|pt| pt.name.as_str())
        .filter(|n| !matches!(*n, "rtx" | "red" | "ulpfec"))
        .collect();
    assert_eq!(names.first(), Some(&"VP8"), "{names:?}");
    for codec in ["VP9", "H264", "AV1"] {
        assert!(names.contains(&codec), "{codec} missing from {names:?}");
    }
    // Feedback: what str0m sends (transport-cc, nack, pli, ccm fir), and not
    // goog-remb, which it never sends.
    for pt in description
        .payload_types
        .iter()
        .filter(|pt| pt.name == "VP8")
    {
        let fbs: Vec<&str> = pt.rtcp_fbs.iter().map(|f| f.kind.as_str()).collect();
        assert!(fbs.contains(&"transport-cc"), "{fbs:?}");
        assert!(fbs.contains(&"nack"), "{fbs:?}");
        assert!(!fbs.contains(&"goog-remb"), "{fbs:?}");
    }
    // Our host candidate travels inside the session-accept (lib-jitsi-meet
    // reads candidates there: SDP.fromJingle); nothing is left to trickle.
    let candidates = &content.transport.as_ref().expect("transport").candidates;
    assert_eq!(candidates.len(), 1, "{candidates:?}");
    assert_eq!(candidates[0].port, 20000);
    assert!(
        !parsed
            .iter()
            .filter_map(|iq| iq.jingle.as_ref())
            .any(|j| j.action == Action::TransportInfo),
        "{parsed:?}"
    );

    // The sender's track, reported as lib-jitsi-meet's receiver would.
    let tracks: Vec<_> = out
        .events
        .iter()
        .filter_map(|e| match e {
            CoreEvent::RemoteTrack(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0].mid, "0");
    assert_eq!(tracks[0].kind, MediaKind::Video);
    assert_eq!(tracks[0].video_type, Some(VideoType::Desktop));
    assert_eq!(tracks[0].device_id, format!("proxy:{SENDER}"));
    assert!(tracks[0].msid.is_some());

    // content-modify is accepted silently; transport-info starts ICE checks
    // towards the sender's UDP candidate.
    let mut later = Drained::default();
    conn.handle_message(now, message("03-content-modify.sender-to-receiver.xml"));
    conn.handle_message(now, message("04-transport-info.sender-to-receiver.xml"));
    drain(&mut conn, &mut later);
    let mut t = now;
    for _ in 0..20 {
        t += Duration::from_millis(50);
        conn.handle_timeout(t);
        drain(&mut conn, &mut later);
    }
    no_errors(&later);
    assert!(later.signals.is_empty(), "{:?}", later.signals);
    let target: SocketAddr = "127.0.0.1:46582".parse().unwrap();
    let checks = later
        .transmits
        .iter()
        .filter(|t| t.destination == target)
        .count();
    assert!(
        checks > 0,
        "no STUN checks to {target}: {:?}",
        later.transmits
    );
    assert!(later
        .transmits
        .iter()
        .all(|t| t.source == "127.0.0.1:20000".parse().unwrap()));
    assert!(conn.is_active());
}

#[test]
fn answers_an_audio_and_video_session_initiate() {
    let now = Instant::now();
    let mut conn = receiver(now);
    let mut out = Drained::default();
    conn.handle_message(
        now,
        message("11-session-initiate.audio+video.sender-to-receiver.xml"),
    );
    drain(&mut conn, &mut out);
    no_errors(&out);
    let mut tracks: Vec<_> = out
        .events
        .iter()
        .filter_map(|e| match e {
            CoreEvent::RemoteTrack(t) => Some((t.mid.clone(), t.kind, t.video_type)),
            _ => None,
        })
        .collect();
    tracks.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        tracks,
        vec![
            ("0".to_owned(), MediaKind::Audio, None),
            ("1".to_owned(), MediaKind::Video, Some(VideoType::Desktop)),
        ]
    );
    let accept = out
        .signals
        .iter()
        .filter_map(|(_, iq)| parse_iq(iq, &Limits::default()).ok()?.jingle)
        .find(|j| j.action == Action::SessionAccept)
        .expect("a session-accept");
    let names: Vec<_> = accept.contents.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["0", "1"]);
}
