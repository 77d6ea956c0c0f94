//! Two str0m engines wired command-to-command, with no core: A's LocalOffer
//! goes to B as ApplyOffer, B's LocalAnswer to A as ApplyAnswer, candidates
//! both ways, and datagrams between them on a virtual clock.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proxy_core::{Codec, Direction, EngineCommand, EngineError, EngineEvent, MediaKind, TrackSpec};
use proxy_str0m::{Engine, EngineOutput, Frame, Transmit, WriteError, SILENCE_TIMEOUT};

use common::{opus_frame, video_frame, FRAME_INTERVAL};

struct Node {
    engine: Engine,
    events: Vec<(Instant, EngineEvent)>,
    frames: Vec<Frame>,
    keyframe_requests: Vec<usize>,
    tracks: Vec<TrackSpec>,
}

impl Node {
    fn new(now: Instant, addr: &str, tracks: Vec<TrackSpec>) -> Node {
        let addr: SocketAddr = addr.parse().unwrap();
        Node {
            engine: Engine::new(now, vec![addr]),
            events: Vec::new(),
            frames: Vec::new(),
            keyframe_requests: Vec::new(),
            tracks,
        }
    }

    fn connected(&self) -> bool {
        self.engine.is_connected()
    }

    fn count(&self, f: impl Fn(&EngineEvent) -> bool) -> usize {
        self.events.iter().filter(|(_, e)| f(e)).count()
    }
}

fn track(index: usize, kind: MediaKind) -> TrackSpec {
    let letter = if kind == MediaKind::Audio { 'a' } else { 'v' };
    TrackSpec {
        index,
        source_name: format!("peer-{letter}{index}"),
        kind,
        video_type: None,
        stream_id: format!("stream{index}"),
        track_id: format!("track{letter}{index}"),
        codec: if kind == MediaKind::Audio {
            Codec::Opus
        } else {
            Codec::Vp8
        },
    }
}

/// quinn-proto's `Pair`, for engines: a virtual clock jumping to the earliest
/// deadline, datagrams delivered after `latency`, signaling delivered at once.
struct Pair {
    a: Node,
    b: Node,
    time: Instant,
    latency: Duration,
    /// (deliver at, to b?, datagram)
    in_flight: Vec<(Instant, bool, Transmit)>,
    /// Drop every datagram while set.
    partitioned: bool,
}

impl Pair {
    fn new(a_tracks: Vec<TrackSpec>, b_tracks: Vec<TrackSpec>) -> Pair {
        let time = Instant::now();
        Pair {
            a: Node::new(time, "10.0.0.1:5000", a_tracks),
            b: Node::new(time, "10.0.0.2:6000", b_tracks),
            time,
            latency: Duration::from_millis(10),
            in_flight: Vec::new(),
            partitioned: false,
        }
    }

    /// A offers with `direction`; commands flow until both sides are drained.
    fn offer(&mut self, direction: Direction) {
        let tracks = self.a.tracks.clone();
        self.a.engine.handle_command(
            self.time,
            EngineCommand::CreateOffer {
                ice_servers: Vec::new(),
                tracks,
                direction,
            },
        );
        self.drain();
    }

    /// Drains both engines, carrying signaling across at once.
    fn drain(&mut self) {
        loop {
            let mut progress = false;
            for to_b in [true, false] {
                let (from, to) = if to_b {
                    (&mut self.a, &mut self.b)
                } else {
                    (&mut self.b, &mut self.a)
                };
                while let Some(out) = from.engine.poll_output() {
                    progress = true;
                    match out {
                        EngineOutput::Event(e) => {
                            from.events.push((self.time, e.clone()));
                            let commands = signal(e, &to.tracks);
                            for c in commands {
                                to.engine.handle_command(self.time, c);
                            }
                        }
                        EngineOutput::Transmit(t) if !self.partitioned => {
                            self.in_flight.push((self.time + self.latency, to_b, t));
                        }
                        EngineOutput::Frame(f) => from.frames.push(f),
                        EngineOutput::KeyframeRequest { track } => {
                            from.keyframe_requests.push(track)
                        }
                        // Partitioned datagrams; no ICE servers here.
                        _ => {}
                    }
                }
            }
            if !progress {
                return;
            }
        }
    }

    /// Advances to the next event: deliver due datagrams or fire timeouts.
    fn step(&mut self) {
        self.drain();
        let mut next = self.time + Duration::from_millis(100);
        for t in [self.a.engine.poll_timeout(), self.b.engine.poll_timeout()]
            .into_iter()
            .flatten()
        {
            next = next.min(t);
        }
        for (t, _, _) in &self.in_flight {
            next = next.min(*t);
        }
        self.time = self.time.max(next);
        let now = self.time;
        let (due, later): (Vec<_>, Vec<_>) =
            self.in_flight.drain(..).partition(|(t, _, _)| *t <= now);
        self.in_flight = later;
        for (_, to_b, t) in due {
            let node = if to_b { &mut self.b } else { &mut self.a };
            node.engine
                .handle_receive(now, t.source, t.destination, &t.contents);
            self.drain();
        }
        self.a.engine.handle_timeout(now);
        self.b.engine.handle_timeout(now);
        self.drain();
    }

    fn drive_until(&mut self, limit: Duration, mut done: impl FnMut(&Pair) -> bool) -> bool {
        let end = self.time + limit;
        while self.time < end {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }

    fn connect(&mut self, direction: Direction) {
        self.offer(direction);
        assert!(
            self.drive_until(Duration::from_secs(10), |p| p.a.connected()
                && p.b.connected()),
            "no connection; a: {:?}, b: {:?}",
            self.a.events,
            self.b.events
        );
    }
}

/// What the other side must do with an engine event (the core's job, done by hand).
fn signal(e: EngineEvent, to_tracks: &[TrackSpec]) -> Vec<EngineCommand> {
    match e {
        EngineEvent::LocalOffer { sdp } => vec![EngineCommand::ApplyOffer {
            ice_servers: Vec::new(),
            sdp,
            tracks: to_tracks.to_vec(),
        }],
        EngineEvent::LocalAnswer { sdp } => vec![EngineCommand::ApplyAnswer { sdp }],
        EngineEvent::LocalCandidates { candidates } => candidates
            .into_iter()
            .map(|candidate| EngineCommand::AddRemoteCandidate {
                mid: "0".into(),
                candidate,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn remote_tracks(node: &Node) -> Vec<(String, MediaKind)> {
    node.events
        .iter()
        .filter_map(|(_, e)| match e {
            EngineEvent::RemoteTrack { mid, kind } => Some((mid.clone(), *kind)),
            _ => None,
        })
        .collect()
}

#[test]
fn offer_answer_connects_and_reports_the_remote_track() {
    let mut p = Pair::new(vec![track(0, MediaKind::Video)], Vec::new());
    p.connect(Direction::SendOnly);
    assert_eq!(p.a.count(|e| matches!(e, EngineEvent::Connected)), 1);
    assert_eq!(p.b.count(|e| matches!(e, EngineEvent::Connected)), 1);
    let offer =
        p.a.events
            .iter()
            .find_map(|(_, e)| match e {
                EngineEvent::LocalOffer { sdp } => Some(sdp.clone()),
                _ => None,
            })
            .expect("an offer");
    assert!(offer.contains("a=msid:stream0 trackv0"), "{offer}");
    assert!(offer.contains("a=sendonly"));
    // B receives the one video m-line; A (sendonly) receives nothing.
    let mid = p.a.engine.mid_of_track(0).expect("track 0 has a mid");
    assert_eq!(remote_tracks(&p.b), vec![(mid, MediaKind::Video)]);
    assert!(remote_tracks(&p.a).is_empty());
    // The responder knows the track from the offer, before media can flow.
    let position = |f: fn(&EngineEvent) -> bool| p.b.events.iter().position(|(_, e)| f(e));
    let answer = position(|e| matches!(e, EngineEvent::LocalAnswer { .. })).unwrap();
    let track = position(|e| matches!(e, EngineEvent::RemoteTrack { .. })).unwrap();
    let connected = position(|e| matches!(e, EngineEvent::Connected)).unwrap();
    assert!(answer < track && track < connected);
    assert!(p.a.events.iter().all(|(_, e)| !matches!(
        e,
        EngineEvent::CommandFailed(_) | EngineEvent::Failed { .. }
    )));
}

#[test]
fn frames_arrive_intact_and_in_order() {
    let mut p = Pair::new(vec![track(0, MediaKind::Video)], Vec::new());
    p.connect(Direction::SendOnly);
    let mut sent = Vec::new();
    for n in 0..100u32 {
        let frame = video_frame(n);
        let pts = FRAME_INTERVAL * n;
        p.a.engine
            .write_frame(p.time, 0, pts, &frame)
            .expect("write");
        sent.push((pts, frame));
        let until = p.time + FRAME_INTERVAL;
        while p.time < until {
            p.step();
        }
    }
    p.drive_until(Duration::from_secs(1), |p| p.b.frames.len() >= sent.len());
    assert_eq!(p.b.frames.len(), sent.len());
    let first = p.b.frames[0].pts;
    for (n, (f, (pts, data))) in p.b.frames.iter().zip(&sent).enumerate() {
        assert_eq!(&f.data[..], &data[..], "frame {n} differs");
        assert_eq!(f.kind, MediaKind::Video);
        assert_eq!(f.pts - first, *pts, "pts of frame {n}");
        assert_eq!(f.keyframe, Some(n % 30 == 0), "keyframe flag of frame {n}");
    }
}

#[test]
fn audio_and_video_both_arrive() {
    let mut p = Pair::new(
        vec![track(0, MediaKind::Audio), track(1, MediaKind::Video)],
        Vec::new(),
    );
    p.connect(Direction::SendOnly);
    assert_eq!(remote_tracks(&p.b).len(), 2);
    for n in 0..50u32 {
        let t = p.time;
        p.a.engine
            .write_frame(t, 0, Duration::from_millis(20) * n, &opus_frame(n))
            .unwrap();
        if n % 2 == 0 {
            p.a.engine
                .write_frame(t, 1, FRAME_INTERVAL * (n / 2), &video_frame(n / 2))
                .unwrap();
        }
        let until = p.time + Duration::from_millis(20);
        while p.time < until {
            p.step();
        }
    }
    p.drive_until(Duration::from_secs(1), |p| p.b.frames.len() >= 75);
    let audio: Vec<_> =
        p.b.frames
            .iter()
            .filter(|f| f.kind == MediaKind::Audio)
            .collect();
    let video: Vec<_> =
        p.b.frames
            .iter()
            .filter(|f| f.kind == MediaKind::Video)
            .collect();
    assert_eq!(audio.len(), 50);
    assert_eq!(video.len(), 25);
    for (n, f) in audio.iter().enumerate() {
        assert_eq!(&f.data[..], &opus_frame(n as u32)[..]);
    }
    for (n, f) in video.iter().enumerate() {
        assert_eq!(&f.data[..], &video_frame(n as u32)[..]);
    }
}

#[test]
fn keyframe_request_reaches_the_sender() {
    let mut p = Pair::new(vec![track(0, MediaKind::Video)], Vec::new());
    p.connect(Direction::SendOnly);
    // Media must flow before the receiver knows the sender's stream.
    for n in 0..5u32 {
        p.a.engine
            .write_frame(p.time, 0, FRAME_INTERVAL * n, &video_frame(n))
            .unwrap();
        p.drive_until(FRAME_INTERVAL, |_| false);
    }
    let mid = p.a.engine.mid_of_track(0).unwrap();
    p.b.engine.request_keyframe(p.time, &mid).expect("request");
    assert!(p.drive_until(Duration::from_secs(2), |p| !p
        .a
        .keyframe_requests
        .is_empty()));
    assert_eq!(p.a.keyframe_requests, vec![0]);
    assert_eq!(
        p.b.engine.request_keyframe(p.time, "nope"),
        Err(WriteError::UnknownMid("nope".into()))
    );
}

#[test]
fn responder_sends_back_on_sendrecv_lines() {
    let mut p = Pair::new(
        vec![track(0, MediaKind::Video)],
        vec![track(0, MediaKind::Video)],
    );
    p.connect(Direction::SendRecv);
    let answer =
        p.b.events
            .iter()
            .find_map(|(_, e)| match e {
                EngineEvent::LocalAnswer { sdp } => Some(sdp.clone()),
                _ => None,
            })
            .unwrap();
    // The responder's own msid, not an echo of the offer's.
    assert!(answer.contains("a=msid:stream0 trackv0"), "{answer}");
    let mid = p.a.engine.mid_of_track(0).unwrap();
    assert_eq!(p.b.engine.mid_of_track(0), Some(mid.clone()));
    assert_eq!(remote_tracks(&p.a), vec![(mid.clone(), MediaKind::Video)]);
    assert_eq!(remote_tracks(&p.b), vec![(mid.clone(), MediaKind::Video)]);
    for n in 0..10u32 {
        let t = p.time;
        p.a.engine
            .write_frame(t, 0, FRAME_INTERVAL * n, &video_frame(n))
            .unwrap();
        p.b.engine
            .write_frame(t, 0, FRAME_INTERVAL * n, &video_frame(n + 1000))
            .unwrap();
        p.drive_until(FRAME_INTERVAL, |_| false);
    }
    p.drive_until(Duration::from_secs(1), |p| {
        p.a.frames.len() >= 10 && p.b.frames.len() >= 10
    });
    assert_eq!(p.b.frames.len(), 10);
    assert_eq!(p.a.frames.len(), 10);
    assert_eq!(&p.a.frames[3].data[..], &video_frame(1003)[..]);
    assert_eq!(&p.b.frames[3].data[..], &video_frame(3)[..]);
    // Keyframe requests both ways.
    p.a.engine.request_keyframe(p.time, &mid).unwrap();
    p.b.engine.request_keyframe(p.time, &mid).unwrap();
    assert!(p.drive_until(Duration::from_secs(2), |p| {
        !p.a.keyframe_requests.is_empty() && !p.b.keyframe_requests.is_empty()
    }));
}

#[test]
fn responder_without_tracks_stops_sending_on_sendrecv_lines() {
    let mut p = Pair::new(vec![track(0, MediaKind::Video)], Vec::new());
    p.connect(Direction::SendRecv);
    let answer =
        p.b.events
            .iter()
            .find_map(|(_, e)| match e {
                EngineEvent::LocalAnswer { sdp } => Some(sdp.clone()),
                _ => None,
            })
            .unwrap();
    assert!(answer.contains("a=recvonly"), "{answer}");
    assert!(!answer.contains("a=sendrecv"), "{answer}");
    assert!(remote_tracks(&p.a).is_empty());
    assert_eq!(remote_tracks(&p.b).len(), 1);
    assert_eq!(
        p.b.engine
            .write_frame(p.time, 0, Duration::ZERO, &video_frame(0)),
        Err(WriteError::UnknownTrack(0))
    );
}

#[test]
fn silence_reports_disconnected_then_connected_again() {
    let mut p = Pair::new(vec![track(0, MediaKind::Video)], Vec::new());
    p.connect(Direction::SendOnly);
    p.partitioned = true;
    p.in_flight.clear();
    let cut = p.time;
    assert!(p.drive_until(Duration::from_secs(5), |p| !p.a.connected()
        && !p.b.connected()));
    let (at, _) =
        p.b.events
            .iter()
            .find(|(_, e)| matches!(e, EngineEvent::Disconnected))
            .expect("b reports Disconnected");
    assert!(
        *at - cut <= SILENCE_TIMEOUT + Duration::from_millis(500),
        "took {:?}",
        *at - cut
    );
    p.partitioned = false;
    let ok = p.drive_until(Duration::from_secs(5), |p| {
        p.a.connected() && p.b.connected()
    });
    assert!(
        ok,
        "a: {:?}\nb: {:?}",
        p.a.events
            .iter()
            .skip(1)
            .map(|(t, e)| (*t - cut, e))
            .collect::<Vec<_>>(),
        p.b.events
            .iter()
            .skip(1)
            .map(|(t, e)| (*t - cut, e))
            .collect::<Vec<_>>()
    );
    assert_eq!(p.b.count(|e| matches!(e, EngineEvent::Connected)), 2);
    // Media flows again.
    let before = p.b.frames.len();
    p.a.engine
        .write_frame(p.time, 0, Duration::ZERO, &video_frame(0))
        .unwrap();
    assert!(p.drive_until(Duration::from_secs(1), |p| p.b.frames.len() > before));
}

#[test]
fn an_idle_connection_stays_connected() {
    let mut p = Pair::new(vec![track(0, MediaKind::Video)], Vec::new());
    p.connect(Direction::SendOnly);
    p.drive_until(Duration::from_secs(20), |_| false);
    assert!(p.a.connected() && p.b.connected());
    assert_eq!(p.a.count(|e| matches!(e, EngineEvent::Disconnected)), 0);
    assert_eq!(p.b.count(|e| matches!(e, EngineEvent::Disconnected)), 0);
}

#[test]
fn close_stops_everything() {
    let mut p = Pair::new(vec![track(0, MediaKind::Video)], Vec::new());
    p.connect(Direction::SendOnly);
    p.a.engine.handle_command(p.time, EngineCommand::Close);
    p.drain();
    assert!(!p.a.engine.has_connection());
    assert_eq!(p.a.engine.poll_timeout(), None);
    assert_eq!(
        p.a.engine
            .write_frame(p.time, 0, Duration::ZERO, &video_frame(0)),
        Err(WriteError::NoConnection)
    );
    // B notices: DTLS close_notify or, at worst, silence.
    assert!(p.drive_until(Duration::from_secs(4), |p| !p.b.connected()));
}

#[test]
fn bad_commands_become_command_failed() {
    let now = Instant::now();
    let mut e = Engine::new(now, vec!["10.0.0.1:5000".parse().unwrap()]);
    let failures = |e: &mut Engine| {
        let mut v = Vec::new();
        while let Some(o) = e.poll_output() {
            if let EngineOutput::Event(EngineEvent::CommandFailed(f)) = o {
                v.push(f);
            }
        }
        v
    };
    e.handle_command(now, EngineCommand::ApplyAnswer { sdp: "v=0".into() });
    assert!(matches!(
        failures(&mut e)[..],
        [EngineError::ApplyAnswer(_)]
    ));
    e.handle_command(
        now,
        EngineCommand::AddRemoteCandidate {
            mid: "0".into(),
            candidate: "candidate:1 1 udp 1 10.0.0.9 9 typ host".into(),
        },
    );
    assert!(matches!(failures(&mut e)[..], [EngineError::Other(_)]));
    e.handle_command(
        now,
        EngineCommand::ApplyOffer {
            ice_servers: Vec::new(),
            sdp: "v=0\r\nthis is not sdp\r\n".into(),
            tracks: Vec::new(),
        },
    );
    assert!(matches!(failures(&mut e)[..], [EngineError::ApplyOffer(_)]));
    e.handle_command(
        now,
        EngineCommand::AddRemoteCandidate {
            mid: "0".into(),
            candidate: "candidate:garbage".into(),
        },
    );
    assert!(matches!(failures(&mut e)[..], [EngineError::Other(_)]));
    // Garbage datagrams are ignored, not fatal.
    e.handle_receive(
        now,
        "10.0.0.9:9".parse().unwrap(),
        "10.0.0.1:5000".parse().unwrap(),
        &[0xff; 40],
    );
    e.handle_receive(
        now,
        "10.0.0.9:9".parse().unwrap(),
        "10.0.0.1:5000".parse().unwrap(),
        &[],
    );
    assert!(failures(&mut e).is_empty());
}

/// Drains `engine`; returns the datagrams it sent to `to` and the events.
fn drain_to(engine: &mut Engine, to: SocketAddr) -> (usize, Vec<EngineEvent>) {
    let mut sent = 0;
    let mut events = Vec::new();
    while let Some(out) = engine.poll_output() {
        match out {
            EngineOutput::Transmit(t) if t.destination == to => sent += 1,
            EngineOutput::Event(e) => events.push(e),
            _ => {}
        }
    }
    (sent, events)
}

/// An offer from a fresh engine at `a_addr`, without and with its candidates.
fn offer_and_candidates(now: Instant, a_addr: SocketAddr) -> (String, Vec<String>) {
    let mut a = Engine::new(now, vec![a_addr]);
    a.handle_command(
        now,
        EngineCommand::CreateOffer {
            ice_servers: vec![],
            tracks: vec![track(0, MediaKind::Video)],
            direction: Direction::SendOnly,
        },
    );
    let (_, events) = drain_to(&mut a, a_addr);
    let sdp = events
        .into_iter()
        .find_map(|e| match e {
            EngineEvent::LocalOffer { sdp } => Some(sdp),
            _ => None,
        })
        .expect("an offer");
    let candidates: Vec<String> = sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a="))
        .filter(|l| l.starts_with("candidate:"))
        .map(str::to_owned)
        .collect();
    assert_eq!(candidates.len(), 1, "{sdp}");
    let bare: String = sdp
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("a=candidate:"))
        .collect();
    (bare, candidates)
}

/// A responder engine (at 10.0.0.2:6000, no tracks) that has applied `offer`.
fn responder_with(now: Instant, offer: String) -> Engine {
    let mut b = Engine::new(now, vec!["10.0.0.2:6000".parse().unwrap()]);
    b.handle_command(
        now,
        EngineCommand::ApplyOffer {
            ice_servers: vec![],
            sdp: offer,
            tracks: vec![],
        },
    );
    b
}

#[test]
fn a_trickled_candidate_is_checked_at_once_not_a_pacing_interval_later() {
    // str0m's ICE agent sends checks only when handed the time, and once it
    // has ticked it asks for the next tick no sooner than Ta (50 ms) later: a
    // candidate added just after a tick must not wait for that.
    let t0 = Instant::now();
    let a_addr: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let (offer, candidates) = offer_and_candidates(t0, a_addr);
    let mut b = responder_with(t0, offer);
    let (sent, events) = drain_to(&mut b, a_addr);
    assert_eq!(sent, 0, "no candidate of a's yet");
    assert!(events
        .iter()
        .any(|e| matches!(e, EngineEvent::LocalAnswer { .. })));
    // b's agent ticks with nothing to check.
    let t1 = t0 + Duration::from_millis(1);
    b.handle_timeout(t1);
    assert_eq!(drain_to(&mut b, a_addr).0, 0);
    // a's candidate arrives 1 ms later: its first check goes out now.
    let t2 = t1 + Duration::from_millis(1);
    b.handle_command(
        t2,
        EngineCommand::AddRemoteCandidate {
            mid: "0".into(),
            candidate: candidates[0].clone(),
        },
    );
    let (sent, _) = drain_to(&mut b, a_addr);
    assert_eq!(sent, 1, "one STUN check to a, at once");
}

#[test]
fn an_offer_with_candidates_is_checked_as_soon_as_it_is_applied() {
    let t0 = Instant::now();
    let a_addr: SocketAddr = "10.0.0.1:5000".parse().unwrap();
    let (bare, candidates) = offer_and_candidates(t0, a_addr);
    // The offer as str0m wrote it, candidate included.
    let offer = bare.replacen("a=mid:", &format!("a={}\r\na=mid:", candidates[0]), 1);
    let mut b = responder_with(t0, offer);
    let (sent, _) = drain_to(&mut b, a_addr);
    assert_eq!(
        sent, 1,
        "one STUN check to a with the answer, no timeout needed"
    );
}
