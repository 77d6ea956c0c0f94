//! The two-peer harness, shaped like quinn-proto's test `Pair`: two
//! [`ProxyConnection`]s, a virtual clock that jumps to the earliest deadline
//! of either side or the next delivery, datagrams and stanzas delivered after
//! a configurable latency (signaling as `ProxyMessage { from, iq }`).
//!
//! Optionally, datagrams and/or signaling go through a seeded network
//! emulator ([`Netem`]: loss, delay, jitter, duplication, vanishing) instead
//! of the fixed latency, and a peer can vanish (stop reacting) and be
//! replaced by a fresh one.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proxy_core::jingle::Action;
use proxy_core::{
    parse_iq, CloseReason, Config, Event as CoreEvent, Limits, LocalTrack, ProxyMessage,
    RemoteTrack,
};
use proxy_str0m::{Event, Frame, Output, ProxyConfig, ProxyConnection, Transmit};

use super::netem::Netem;
use super::turn::TurnNode;
use super::{opus_frame, video_frame, vp8_frame, FRAME_INTERVAL};

pub const SENDER: &str = "sender@example.com/s1";
pub const RECEIVER: &str = "receiver@example.com/r1";
pub const INTRUDER: &str = "intruder@example.com/i1";

/// One simulated endpoint and everything it output.
pub struct Peer {
    pub jid: &'static str,
    /// Its (only) local address.
    pub addr: SocketAddr,
    pub conn: ProxyConnection,
    /// Core events with the time they came out.
    pub events: Vec<(Instant, CoreEvent)>,
    pub frames: Vec<Frame>,
    /// When each of `frames` came out.
    pub frame_times: Vec<Instant>,
    pub keyframe_requests: Vec<usize>,
    /// Every stanza it sent: (to, iq).
    pub sent: Vec<(String, String)>,
    /// Every stanza delivered to it (its iq), in order of delivery.
    pub received: Vec<String>,
    /// Its latest `Output::Timeout`.
    pub timeout: Option<Instant>,
    /// Its `Event::RelayFailed` warnings, as text.
    pub relay_failures: Vec<String>,
    /// Its DNS and stream requests (the simulation serves none).
    pub io_requests: Vec<Output>,
}

impl Peer {
    pub fn new(now: Instant, jid: &'static str, addr: &str, core: Config) -> Peer {
        let config = ProxyConfig {
            core,
            ..ProxyConfig::default()
        };
        Peer::with_config(now, jid, addr, config)
    }

    /// A peer with this config; its only local address is `addr`.
    pub fn with_config(now: Instant, jid: &'static str, addr: &str, config: ProxyConfig) -> Peer {
        let addr: SocketAddr = addr.parse().unwrap();
        let config = ProxyConfig {
            local_addrs: vec![addr],
            ..config
        };
        Peer {
            jid,
            addr,
            conn: ProxyConnection::new(now, config),
            events: Vec::new(),
            frames: Vec::new(),
            frame_times: Vec::new(),
            keyframe_requests: Vec::new(),
            sent: Vec::new(),
            received: Vec::new(),
            timeout: Some(now),
            relay_failures: Vec::new(),
            io_requests: Vec::new(),
        }
    }

    pub fn closed(&self) -> Vec<&CloseReason> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                CoreEvent::ConnectionClosed { reason, .. } => Some(reason),
                _ => None,
            })
            .collect()
    }

    pub fn remote_tracks(&self) -> Vec<&RemoteTrack> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                CoreEvent::RemoteTrack(t) => Some(t),
                _ => None,
            })
            .collect()
    }

    /// The candidate pairs it reported media on (`Event::Path`), in order.
    pub fn paths(&self) -> Vec<proxy_str0m::Path> {
        self.io_requests
            .iter()
            .filter_map(|o| match o {
                Output::Event(Event::Path(p)) => Some(*p),
                _ => None,
            })
            .collect()
    }

    pub fn connected_events(&self) -> usize {
        self.events
            .iter()
            .filter(|(_, e)| matches!(e, CoreEvent::Connected { .. }))
            .count()
    }
}

/// Something in flight.
pub enum Delivery {
    /// A datagram.
    Datagram(Transmit),
    /// A signaling message.
    Signal(ProxyMessage),
    /// A datagram for the TURN node.
    Turn(Transmit),
}

/// Decides whether a datagram is lost: called with `to_b` and the datagram.
pub type LoseFn = Box<dyn FnMut(bool, &Transmit) -> bool>;

/// quinn-proto's `Pair`: peers `a` and `b`, a virtual clock, and the network.
pub struct Pair {
    pub a: Peer,
    pub b: Peer,
    pub time: Instant,
    /// One-way delay of datagrams.
    pub latency: Duration,
    /// One-way delay of signaling.
    pub signal_latency: Duration,
    /// (deliver at, to b?, what), in send order.
    pub in_flight: Vec<(Instant, bool, Delivery)>,
    /// Drop every datagram while set (signaling still flows).
    pub partitioned: bool,
    /// Stanzas addressed to neither peer: (from, to, iq).
    pub elsewhere: Vec<(String, String, String)>,
    /// When set, datagrams go through this emulator instead of `latency`
    /// (`partitioned` still drops them first), and only reach a peer whose
    /// address is their destination.
    pub net: Option<Netem<Transmit>>,
    /// When set, signaling goes through this emulator instead of `signal_latency`.
    pub signal_net: Option<Netem<ProxyMessage>>,
    /// Extra delay for stanzas with this Jingle action (to make later
    /// stanzas overtake them).
    pub signal_hold: Vec<(Action, Duration)>,
    /// Halted peers (`[a, b]`): they are not polled, get no timeouts, and what
    /// is delivered to them is dropped (see [`Pair::vanish`]).
    pub halted: [bool; 2],
    /// Emulated datagrams dropped because no peer has their destination address.
    pub misaddressed: u64,
    /// When set, a datagram is lost if this returns true for it (called with
    /// `to_b` and the datagram as sent, before `partitioned` and the network).
    pub lose: Option<LoseFn>,
    /// A TURN server: datagrams to its addresses go to it (after `latency`),
    /// and what it sends goes to the peer whose address it is sent to.
    pub turn: Option<TurnNode>,
    /// When set, datagrams between the peers and the TURN node go through
    /// this emulator instead of `latency`: its `to_b` link carries what the
    /// peers send to the node, its `to_a` link what the node sends to them.
    pub turn_net: Option<Netem<Transmit>>,
}

impl Pair {
    pub fn new(a_config: Config, b_config: Config) -> Pair {
        let time = Instant::now();
        Pair {
            a: Peer::new(time, SENDER, "10.0.0.1:10000", a_config),
            b: Peer::new(time, RECEIVER, "10.0.0.2:20000", b_config),
            time,
            latency: Duration::from_millis(20),
            signal_latency: Duration::from_millis(50),
            in_flight: Vec::new(),
            partitioned: false,
            elsewhere: Vec::new(),
            net: None,
            signal_net: None,
            signal_hold: Vec::new(),
            halted: [false, false],
            misaddressed: 0,
            lose: None,
            turn: None,
            turn_net: None,
        }
    }

    pub fn default_pair() -> Pair {
        let receiver = Config {
            convert_video_to_desktop: true,
            seed: 2,
            ..Config::default()
        };
        Pair::new(
            Config {
                seed: 1,
                ..Config::default()
            },
            receiver,
        )
    }

    pub fn peer(&mut self, b: bool) -> &mut Peer {
        if b {
            &mut self.b
        } else {
            &mut self.a
        }
    }

    /// Whether peer `b` (or `a`) is halted.
    pub fn is_halted(&self, is_b: bool) -> bool {
        self.halted[usize::from(is_b)]
    }

    /// Extra delay `signal_hold` gives this stanza.
    fn hold_for(&self, iq: &str) -> Duration {
        if self.signal_hold.is_empty() {
            return Duration::ZERO;
        }
        let action = jingle_action(iq);
        self.signal_hold
            .iter()
            .filter(|(a, _)| action.as_ref() == Some(a))
            .map(|(_, d)| *d)
            .sum()
    }

    /// Peer `b` (or `a`) vanishes now: it stops reacting (halted), and
    /// nothing it sent arrives any more: its emulated links vanish, its
    /// fixed-latency datagrams and stanzas in flight are dropped.
    pub fn vanish(&mut self, is_b: bool) {
        let now = self.time;
        self.halted[usize::from(is_b)] = true;
        self.in_flight.retain(|(_, to_b, _)| *to_b == is_b);
        if let Some(net) = self.net.as_mut() {
            net.link(!is_b).vanish(now);
        }
        if let Some(net) = self.signal_net.as_mut() {
            net.link(!is_b).vanish(now);
        }
    }

    /// Replaces peer `b` (or `a`) with `peer`, which is live (not halted);
    /// links from its side carry again.
    pub fn replace_peer(&mut self, is_b: bool, peer: Peer) {
        *self.peer(is_b) = peer;
        self.halted[usize::from(is_b)] = false;
        if let Some(net) = self.net.as_mut() {
            net.link(!is_b).revive();
        }
        if let Some(net) = self.signal_net.as_mut() {
            net.link(!is_b).revive();
        }
    }

    /// Drains one side's outputs into the network and its logs (nothing for
    /// a halted side).
    pub fn drain_side(&mut self, is_b: bool) {
        if self.is_halted(is_b) {
            return;
        }
        let now = self.time;
        loop {
            let out = self.peer(is_b).conn.poll_output();
            match out {
                Output::Timeout(t) => {
                    self.peer(is_b).timeout = t;
                    return;
                }
                Output::Transmit(t) => {
                    let lost = self.lose.as_mut().is_some_and(|lose| lose(!is_b, &t));
                    let to_turn = self.turn.as_ref().is_some_and(|n| n.owns(t.destination));
                    if !lost && !self.partitioned && to_turn {
                        if let Some(net) = self.turn_net.as_mut() {
                            net.to_b.send(now, t);
                        } else {
                            let at = now + self.latency;
                            self.in_flight.push((at, !is_b, Delivery::Turn(t)));
                        }
                    } else if !lost && !self.partitioned {
                        if let Some(net) = self.net.as_mut() {
                            net.link(!is_b).send(now, t);
                        } else {
                            let at = now + self.latency;
                            self.in_flight.push((at, !is_b, Delivery::Datagram(t)));
                        }
                    }
                }
                Output::Iq(proxy_core::OutgoingIq { to, iq }) => {
                    let from = self.peer(is_b).jid;
                    self.peer(is_b).sent.push((to.clone(), iq.clone()));
                    let hold = self.hold_for(&iq);
                    let at = now + self.signal_latency + hold;
                    let message = ProxyMessage {
                        from: from.to_owned(),
                        iq: iq.clone(),
                    };
                    let to_b = if to == self.a.jid {
                        false
                    } else if to == self.b.jid {
                        true
                    } else {
                        self.elsewhere.push((from.to_owned(), to, iq));
                        continue;
                    };
                    if let Some(net) = self.signal_net.as_mut() {
                        net.link(to_b).send(now + hold, message);
                    } else {
                        self.in_flight.push((at, to_b, Delivery::Signal(message)));
                    }
                }
                Output::Event(Event::Core(e)) => self.peer(is_b).events.push((now, e)),
                Output::Event(Event::Frame(f)) => {
                    self.peer(is_b).frames.push(f);
                    self.peer(is_b).frame_times.push(now);
                }
                Output::Event(Event::KeyframeRequest { track }) => {
                    self.peer(is_b).keyframe_requests.push(track)
                }
                Output::Event(Event::RelayFailed {
                    server,
                    proto,
                    reason,
                }) => self
                    .peer(is_b)
                    .relay_failures
                    .push(format!("{server} {proto:?}: {reason}")),
                other => self.peer(is_b).io_requests.push(other),
            }
        }
    }

    pub fn drain(&mut self) {
        self.drain_side(false);
        self.drain_side(true);
    }

    /// One step: jump to the earliest deadline or delivery, and handle it.
    pub fn step(&mut self) {
        self.step_capped(None);
    }

    /// One step, the clock jumping no further than `cap`.
    pub fn step_capped(&mut self, cap: Option<Instant>) {
        self.drain();
        let mut next: Option<Instant> = None;
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        for is_b in [false, true] {
            if !self.is_halted(is_b) {
                consider(if is_b { self.b.timeout } else { self.a.timeout });
            }
        }
        consider(self.in_flight.iter().map(|(t, _, _)| *t).min());
        consider(self.net.as_ref().and_then(|n| n.poll_timeout()));
        consider(self.signal_net.as_ref().and_then(|n| n.poll_timeout()));
        consider(self.turn_net.as_ref().and_then(|n| n.poll_timeout()));
        let time = self.time;
        consider(self.turn.as_mut().and_then(|n| n.timeout(time)));
        consider(cap);
        // Nothing at all scheduled (both halted, nothing in flight): idle on.
        let next = next.unwrap_or(self.time + Duration::from_secs(3600));
        // Never go back; a deadline already passed is handled now.
        self.time = self.time.max(next);
        let now = self.time;
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.in_flight[i].0 <= now {
                let (_, to_b, what) = self.in_flight.remove(i);
                if let Delivery::Turn(t) = what {
                    let out = match self.turn.as_mut() {
                        Some(node) => node.receive(now, t),
                        None => Vec::new(),
                    };
                    self.deliver_turn_output(now, out);
                    continue;
                }
                if self.is_halted(to_b) {
                    continue;
                }
                let peer = self.peer(to_b);
                match what {
                    Delivery::Datagram(t) => {
                        peer.conn
                            .handle_receive(now, t.source, t.destination, &t.contents)
                    }
                    Delivery::Signal(m) => {
                        peer.received.push(m.iq.clone());
                        peer.conn.handle_message(now, m)
                    }
                    Delivery::Turn(_) => {}
                }
                self.drain_side(to_b);
            } else {
                i += 1;
            }
        }
        for to_b in [false, true] {
            while let Some(t) = self.net.as_mut().and_then(|n| n.link(to_b).poll_due(now)) {
                if self.is_halted(to_b) {
                    continue;
                }
                if t.destination != self.peer(to_b).addr {
                    self.misaddressed += 1;
                    continue;
                }
                let peer = self.peer(to_b);
                peer.conn
                    .handle_receive(now, t.source, t.destination, &t.contents);
                self.drain_side(to_b);
            }
            while let Some(m) = self
                .signal_net
                .as_mut()
                .and_then(|n| n.link(to_b).poll_due(now))
            {
                if self.is_halted(to_b) {
                    continue;
                }
                let peer = self.peer(to_b);
                peer.received.push(m.iq.clone());
                peer.conn.handle_message(now, m);
                self.drain_side(to_b);
            }
        }
        while let Some(t) = self.turn_net.as_mut().and_then(|n| n.to_b.poll_due(now)) {
            let out = match self.turn.as_mut() {
                Some(node) => node.receive(now, t),
                None => Vec::new(),
            };
            self.deliver_turn_output(now, out);
        }
        while let Some(t) = self.turn_net.as_mut().and_then(|n| n.to_a.poll_due(now)) {
            let to_b = t.destination == self.b.addr;
            if self.is_halted(to_b) {
                continue;
            }
            let peer = self.peer(to_b);
            peer.conn
                .handle_receive(now, t.source, t.destination, &t.contents);
            self.drain_side(to_b);
        }
        if let Some(node) = self.turn.as_mut() {
            if node.timeout(now).is_some_and(|t| t <= now) {
                let out = node.poll(now);
                self.deliver_turn_output(now, out);
            }
        }
        for is_b in [false, true] {
            if !self.is_halted(is_b) && self.peer(is_b).timeout.is_some_and(|t| t <= now) {
                self.peer(is_b).conn.handle_timeout(now);
                self.drain_side(is_b);
            }
        }
    }

    /// Datagrams the TURN node sent: to the peer with that address.
    fn deliver_turn_output(&mut self, now: Instant, out: Vec<Transmit>) {
        for t in out {
            let to_b = if t.destination == self.b.addr {
                true
            } else if t.destination == self.a.addr {
                false
            } else {
                self.misaddressed += 1;
                continue;
            };
            if let Some(net) = self.turn_net.as_mut() {
                net.to_a.send(now, t);
            } else {
                let at = now + self.latency;
                self.in_flight.push((at, to_b, Delivery::Datagram(t)));
            }
        }
    }

    /// Steps until the clock reaches `t` (exactly, unless already past it).
    pub fn advance_to(&mut self, t: Instant) {
        let mut steps = 0u64;
        while self.time < t {
            self.step_capped(Some(t));
            steps += 1;
            assert!(steps < 2_000_000, "simulation does not advance");
        }
    }

    /// Steps until `done` or until `limit` of virtual time passed.
    pub fn drive_until(&mut self, limit: Duration, mut done: impl FnMut(&Pair) -> bool) -> bool {
        let end = self.time + limit;
        let mut steps = 0u64;
        while self.time < end {
            if done(self) {
                return true;
            }
            self.step();
            steps += 1;
            assert!(steps < 2_000_000, "simulation does not advance");
        }
        done(self)
    }

    /// Runs for `d` of virtual time.
    pub fn run_for(&mut self, d: Duration) {
        self.drive_until(d, |_| false);
    }

    /// `a` starts a session to `b` with `tracks`; waits until both are connected.
    pub fn connect(&mut self, tracks: &[LocalTrack]) {
        let now = self.time;
        self.a.conn.start(now, RECEIVER, tracks).expect("start");
        let ok = self.drive_until(Duration::from_secs(10), |p| {
            p.a.conn.is_connected() && p.b.conn.is_connected()
        });
        assert!(
            ok,
            "no connection.\na events: {:?}\nb events: {:?}\na sent: {:?}\nb sent: {:?}",
            self.a.events, self.b.events, self.a.sent, self.b.sent
        );
    }

    /// Sends `count` video frames from `a` track `track` at 25 fps, starting
    /// with frame number `first`; returns what was sent.
    pub fn send_video(&mut self, track: usize, first: u32, count: u32) -> Vec<(Duration, Vec<u8>)> {
        let mut sent = Vec::new();
        for n in first..first + count {
            let frame = video_frame(n);
            let pts = FRAME_INTERVAL * n;
            let now = self.time;
            self.a
                .conn
                .write_frame(now, track, pts, &frame)
                .unwrap_or_else(|e| panic!("write frame {n}: {e}"));
            self.drain_side(false);
            sent.push((pts, frame));
            self.run_for(FRAME_INTERVAL);
        }
        sent
    }
}

/// The interval of [`Pair::send_audio_video`]'s Opus packets.
pub const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
/// The frame rate of [`Pair::send_audio_video`]'s video.
pub const VIDEO_FPS: u32 = 30;

impl Pair {
    /// Sends audio (one 20 ms Opus packet per 20 ms) on track 0 and video (30
    /// fps, keyframes only, all `video_bytes` long) on track 1 from `a` for
    /// `secs`, both with pts 0 at the start.
    pub fn send_audio_video(&mut self, secs: u32, video_bytes: usize) {
        let video_interval = Duration::from_secs(1) / VIDEO_FPS;
        let t0 = self.time;
        let end = t0 + Duration::from_secs(u64::from(secs));
        let (mut audio, mut video) = (0u32, 0u32);
        loop {
            let next_audio = t0 + AUDIO_INTERVAL * audio;
            let next_video = t0 + video_interval * video;
            let next = next_audio.min(next_video);
            if next >= end {
                break;
            }
            self.advance_to(next);
            let now = self.time;
            if next == next_audio {
                self.a
                    .conn
                    .write_frame(now, 0, AUDIO_INTERVAL * audio, &opus_frame(audio))
                    .unwrap_or_else(|e| panic!("audio frame {audio}: {e}"));
                audio += 1;
            }
            if next == next_video {
                self.a
                    .conn
                    .write_frame(
                        now,
                        1,
                        video_interval * video,
                        &vp8_frame(video, true, video_bytes),
                    )
                    .unwrap_or_else(|e| panic!("video frame {video}: {e}"));
                video += 1;
            }
            self.drain_side(false);
        }
        self.advance_to(end);
    }

    /// Sends video frames `first..first + count` from `a` track `track`, one
    /// every `interval` of virtual time (pts `interval * n`), the network
    /// running in between; returns when the first was written.
    pub fn send_video_every(
        &mut self,
        interval: Duration,
        track: usize,
        first: u32,
        count: u32,
    ) -> Instant {
        let t0 = self.time;
        for (i, n) in (first..first + count).enumerate() {
            self.advance_to(t0 + interval * i as u32);
            let now = self.time;
            self.a
                .conn
                .write_frame(now, track, interval * n, &video_frame(n))
                .unwrap_or_else(|e| panic!("write frame {n}: {e}"));
            self.drain_side(false);
        }
        self.advance_to(t0 + interval * count);
        t0
    }
}

/// The numbers `n` of the frames in `frames` that are byte-identical to
/// `video_frame(n)` for an `n` in `range`, in order of arrival (unknown
/// frames are left out).
pub fn frame_numbers(frames: &[Frame], range: std::ops::Range<u32>) -> Vec<u32> {
    let sent: std::collections::HashMap<Vec<u8>, u32> =
        range.map(|n| (video_frame(n), n)).collect();
    frames
        .iter()
        .filter_map(|f| sent.get(&f.data[..]).copied())
        .collect()
}

/// The Jingle action of a stanza, if it is a Jingle one.
pub fn jingle_action(iq: &str) -> Option<Action> {
    parse_iq(iq, &Limits::default())
        .ok()
        .and_then(|iq| iq.jingle)
        .map(|j| j.action)
}

/// The captured lib-jitsi-meet messages, kept in proxy-core's `tests/vectors`.
pub fn vectors_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../proxy-core/tests/vectors")
}

pub fn assert_frames_match(got: &[&Frame], sent: &[(Duration, Vec<u8>)]) {
    assert_eq!(got.len(), sent.len(), "frame count");
    let base = got[0].pts.checked_sub(sent[0].0).expect("pts base");
    for (n, (f, (pts, data))) in got.iter().zip(sent).enumerate() {
        assert!(f.data[..] == data[..], "frame {n} is not byte-identical");
        assert_eq!(f.pts - base, *pts, "pts of frame {n}");
    }
}
