//! Network faults in the deterministic two-peer simulation: datagrams (and
//! sometimes signaling) go through the seeded emulator in `common/netem.rs`
//! (loss, delay, jitter/reordering, duplication, a peer vanishing), on the
//! `Pair`'s virtual clock. Every scenario prints its figures; see them with
//!
//! ```text
//! cargo test -p proxy-str0m --test faults -- --nocapture
//! ```

mod common;

use std::cell::Cell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use proxy_core::jingle::Action;
use proxy_core::{
    parse_iq, CloseReason, Config, Event as CoreEvent, Limits, LocalTrack, ICE_FAILED,
};
use proxy_str0m::{Frame, WriteError, SILENCE_TIMEOUT};

use common::netem::{LinkConfig, Netem, SplitMix64};
use common::pair::{jingle_action, Pair, Peer, RECEIVER, SENDER};
use common::{video_frame, vp8_frame, vp8_len};

/// 30 frames per second.
const FPS: u64 = 30;

/// Media time of frame `n` at 30 fps.
fn pts(n: u32) -> Duration {
    Duration::from_nanos(u64::from(n) * 1_000_000_000 / FPS)
}

/// The default pair (a sends, b receives) with datagrams through `net`.
fn pair_with(net: Netem<proxy_str0m::Transmit>) -> Pair {
    let mut p = Pair::default_pair();
    p.net = Some(net);
    p
}

/// Like [`pair_with`], but both peers trickle every candidate in
/// `transport-info`, as lib-jitsi-meet does (by default ours travel inside the
/// session-initiate/accept): there are stanzas that can overtake each other.
fn trickling_pair_with(net: Netem<proxy_str0m::Transmit>) -> Pair {
    let mut p = Pair::new(
        Config {
            seed: 1,
            candidates_in_description: false,
            ..Config::default()
        },
        Config {
            convert_video_to_desktop: true,
            seed: 2,
            candidates_in_description: false,
            ..Config::default()
        },
    );
    p.net = Some(net);
    p
}

/// `a` starts to `b`; steps until both are connected, something closed, or
/// `limit`. Returns the virtual time it took to connect.
fn try_connect(p: &mut Pair, limit: Duration) -> Option<Duration> {
    let start = p.time;
    let now = p.time;
    p.a.conn
        .start(now, RECEIVER, &[LocalTrack::desktop()])
        .expect("start");
    let closed_before = (p.a.closed().len(), p.b.closed().len());
    let ok = p.drive_until(limit, |p| {
        (p.a.conn.is_connected() && p.b.conn.is_connected())
            || (p.a.closed().len(), p.b.closed().len()) != closed_before
    });
    (ok && p.a.conn.is_connected() && p.b.conn.is_connected()).then(|| p.time - start)
}

/// What arrived of frames `0..count` (as `video_frame(n)` with `pts(n)`).
#[derive(Debug)]
struct Received {
    /// Frames delivered (with repeats).
    delivered: usize,
    /// Different frames delivered.
    distinct: usize,
    /// Delivered frames equal to no frame sent (corrupt).
    unknown: usize,
    /// Deliveries of a frame already delivered.
    repeats: usize,
    /// Delivered frames whose pts does not fit the sent one.
    bad_pts: usize,
    /// Delivered frames that came before a frame sent earlier was delivered.
    out_of_order: usize,
    /// Frames never delivered.
    missing: Vec<u32>,
}

impl Received {
    fn percent(&self, count: u32) -> f64 {
        100.0 * self.distinct as f64 / f64::from(count)
    }
}

fn received(frames: &[Frame], count: u32) -> Received {
    let sent: HashMap<Vec<u8>, u32> = (0..count).map(|n| (video_frame(n), n)).collect();
    let mut seen = vec![false; count as usize];
    let mut r = Received {
        delivered: frames.len(),
        distinct: 0,
        unknown: 0,
        repeats: 0,
        bad_pts: 0,
        out_of_order: 0,
        missing: Vec::new(),
    };
    let mut base: Option<Duration> = None;
    let mut latest: Option<u32> = None;
    for f in frames {
        let Some(&n) = sent.get(&f.data[..]) else {
            r.unknown += 1;
            continue;
        };
        // The first frame fixes the RTP time base; the rest keep to it (within
        // a 90 kHz tick).
        let base = *base.get_or_insert_with(|| f.pts.saturating_sub(pts(n)));
        let expected = base + pts(n);
        let off = f.pts.abs_diff(expected);
        if off > Duration::from_micros(100) {
            r.bad_pts += 1;
        }
        if latest.is_some_and(|l| n < l) {
            r.out_of_order += 1;
        }
        latest = latest.max(Some(n));
        if std::mem::replace(&mut seen[n as usize], true) {
            r.repeats += 1;
        } else {
            r.distinct += 1;
        }
    }
    r.missing = (0..count).filter(|n| !seen[*n as usize]).collect();
    r
}

/// Sends frames `0..count` from `a` at 30 fps on the virtual clock; returns
/// when the first was written and the write errors.
fn send_30fps(p: &mut Pair, count: u32) -> (Instant, Vec<(u32, WriteError)>) {
    let t0 = p.time;
    let mut errors = Vec::new();
    for n in 0..count {
        p.advance_to(t0 + pts(n));
        let now = p.time;
        if let Err(e) = p.a.conn.write_frame(now, 0, pts(n), &video_frame(n)) {
            errors.push((n, e));
        }
        p.drain_side(false);
    }
    (t0, errors)
}

fn link_stats(p: &Pair) -> String {
    let net = p.net.as_ref().expect("emulated");
    format!("a->b {:?}\n      b->a {:?}", net.to_b.stats, net.to_a.stats)
}

/// Connects through `config` both ways, sends 300 VP8 frames at 30 fps and
/// checks at least 95% arrive byte-identical.
fn lossy_session(name: &str, seed: u64, config: LinkConfig) -> Received {
    const COUNT: u32 = 300;
    let mut p = pair_with(Netem::symmetric(seed, config));
    let connect = try_connect(&mut p, Duration::from_secs(15)).unwrap_or_else(|| {
        panic!(
            "{name} seed {seed}: no connection\n{}\na: {:?}\nb: {:?}",
            link_stats(&p),
            p.a.events,
            p.b.events
        )
    });
    let (t0, errors) = send_30fps(&mut p, COUNT);
    assert!(errors.is_empty(), "{name} seed {seed}: {errors:?}");
    // Time for retransmissions of the last frames.
    p.drive_until(Duration::from_secs(3), |p| {
        received(&p.b.frames, COUNT).distinct == COUNT as usize
    });
    let r = received(&p.b.frames, COUNT);
    let first = p.b.frame_times.first().map(|t| *t - t0);
    println!(
        "{name} seed {seed}: connected after {connect:?}; first frame {first:?} after the first write; \
         {}/{COUNT} distinct frames intact ({:.1}%), {} delivered, {} repeats, {} corrupt, \
         {} out of order, {} bad pts, missing {:?}\n      {}",
        r.distinct,
        r.percent(COUNT),
        r.delivered,
        r.repeats,
        r.unknown,
        r.out_of_order,
        r.bad_pts,
        r.missing,
        link_stats(&p)
    );
    assert_eq!(r.unknown, 0, "{name} seed {seed}: corrupt frames");
    assert_eq!(r.bad_pts, 0, "{name} seed {seed}: frames with a wrong pts");
    assert!(
        r.percent(COUNT) >= 95.0,
        "{name} seed {seed}: only {:.1}% of frames arrived",
        r.percent(COUNT)
    );
    assert!(first.is_some());
    assert!(
        p.a.closed().is_empty() && p.b.closed().is_empty(),
        "{name} seed {seed}: closed: a {:?} b {:?}",
        p.a.closed(),
        p.b.closed()
    );
    assert_eq!(p.b.remote_tracks().len(), 1);
    r
}

fn loss_and_jitter() -> LinkConfig {
    LinkConfig::delay(Duration::from_millis(30))
        .loss(0.05)
        .jitter(Duration::from_millis(100))
}

#[test]
fn five_percent_loss_and_100ms_jitter_seed_1() {
    lossy_session("5% loss, 30+U[0,100] ms", 1, loss_and_jitter());
}

#[test]
fn five_percent_loss_and_100ms_jitter_seed_2() {
    lossy_session("5% loss, 30+U[0,100] ms", 2, loss_and_jitter());
}

#[test]
fn five_percent_loss_and_100ms_jitter_seed_3() {
    lossy_session("5% loss, 30+U[0,100] ms", 3, loss_and_jitter());
}

#[test]
fn duplication_and_reordering_deliver_each_frame_once() {
    for seed in [4, 5] {
        let config = LinkConfig::delay(Duration::from_millis(20))
            .duplicate(0.10)
            .jitter(Duration::from_millis(60));
        let r = lossy_session("10% duplicates, 20+U[0,60] ms", seed, config);
        // Copies of a datagram are dropped below the application (SRTP replay
        // protection / RTP sequence numbers): no frame comes out twice.
        assert_eq!(r.repeats, 0, "seed {seed}: frames delivered twice");
    }
}

/// The `connection-error-encountered` stanzas `from` sent to `to`: (sid, details).
fn connection_errors(from: &Peer, to: &str) -> Vec<(Option<String>, Option<String>)> {
    from.sent
        .iter()
        .filter(|(t, _)| t == to)
        .filter_map(|(_, iq)| parse_iq(iq, &Limits::default()).ok())
        .filter_map(|iq| iq.jingle)
        .filter(|j| j.action == Action::ConnectionErrorEncountered)
        .map(|j| (j.sid, j.details))
        .collect()
}

fn mild() -> LinkConfig {
    LinkConfig::delay(Duration::from_millis(20))
        .jitter(Duration::from_millis(10))
        .loss(0.01)
}

fn side(p: &Pair, is_b: bool) -> &Peer {
    if is_b {
        &p.b
    } else {
        &p.a
    }
}

/// When `peer` reported its (first) closed event.
fn closed_at(peer: &Peer) -> Option<Instant> {
    peer.events
        .iter()
        .find(|(_, e)| matches!(e, CoreEvent::ConnectionClosed { .. }))
        .map(|(t, _)| *t)
}

/// Connects, streams 2 s, then one side vanishes. The survivor must close with
/// `ConnectivityLost` within silence detection plus the configured timeout,
/// exactly once, telling the vanished peer. Returns the pair (the vanished
/// side halted).
fn vanish_mid_session(sender_vanishes: bool, seed: u64) -> Pair {
    let mut p = pair_with(Netem::symmetric(seed, mild()));
    try_connect(&mut p, Duration::from_secs(10)).expect("connects");
    let (_, errors) = send_30fps(&mut p, 60);
    assert!(errors.is_empty(), "{errors:?}");
    let sid = p.b.conn.sid().expect("sid").to_owned();
    assert!(p.b.frames.len() >= 55, "{} frames", p.b.frames.len());

    let survivor_is_b = sender_vanishes;
    let gone_jid = side(&p, !survivor_is_b).jid;
    let cut = p.time;
    p.vanish(!survivor_is_b);
    let lost = Config::default().connectivity_lost_timeout;
    let bound = SILENCE_TIMEOUT + lost + Duration::from_millis(250);
    let deadline = cut + bound + Duration::from_secs(10);
    // A surviving sender keeps writing frames until its connection is gone.
    let mut k = 0u32;
    let mut write_errors = Vec::new();
    while p.time < deadline && side(&p, survivor_is_b).closed().is_empty() {
        k += 1;
        p.advance_to(cut + pts(k));
        if !survivor_is_b && p.a.conn.is_active() {
            let now = p.time;
            if let Err(e) =
                p.a.conn
                    .write_frame(now, 0, pts(60 + k), &video_frame(60 + k))
            {
                write_errors.push(e);
            }
            p.drain_side(false);
        }
    }
    let survivor = side(&p, survivor_is_b);
    let at = closed_at(survivor).unwrap_or_else(|| {
        panic!(
            "survivor never closed: {:?}\n{}",
            survivor.events,
            link_stats(&p)
        )
    });
    let elapsed = at - cut;
    let who = if sender_vanishes {
        "sender"
    } else {
        "receiver"
    };
    println!(
        "{who} vanished (seed {seed}): survivor closed {elapsed:?} later with {:?} \
         (bound {bound:?} = silence {SILENCE_TIMEOUT:?} + connectivity_lost_timeout {lost:?} + 250ms); \
         {} frames written meanwhile, write errors {write_errors:?}",
        survivor.closed(),
        if survivor_is_b { 0 } else { k }
    );
    assert_eq!(survivor.closed(), vec![&CloseReason::ConnectivityLost]);
    assert!(
        elapsed <= bound,
        "closed after {elapsed:?}, bound {bound:?}"
    );
    // Not before the grace period: the silence must be noticed first.
    assert!(elapsed >= lost, "closed after only {elapsed:?}");
    assert!(write_errors.is_empty(), "{write_errors:?}");
    // It told the vanished peer, once, about this session.
    assert_eq!(
        connection_errors(survivor, gone_jid),
        vec![(Some(sid), Some(ICE_FAILED.to_owned()))]
    );
    assert!(!survivor.conn.is_active());

    // Exactly once, and the survivor falls silent on the network.
    let survivor_link_sent = |p: &Pair| {
        let net = p.net.as_ref().expect("emulated");
        if survivor_is_b {
            net.to_a.stats.sent
        } else {
            net.to_b.stats.sent
        }
    };
    p.run_for(Duration::from_secs(1));
    let sent_then = survivor_link_sent(&p);
    p.run_for(Duration::from_secs(30));
    assert_eq!(side(&p, survivor_is_b).closed().len(), 1);
    assert_eq!(
        survivor_link_sent(&p),
        sent_then,
        "the survivor still sends datagrams after closing"
    );
    if !survivor_is_b {
        let now = p.time;
        assert_eq!(
            p.a.conn.write_frame(now, 0, pts(0), &video_frame(0)),
            Err(WriteError::NoConnection)
        );
    }
    p
}

#[test]
fn vanished_sender_is_detected_by_the_receiver() {
    vanish_mid_session(true, 6);
}

#[test]
fn vanished_receiver_is_detected_by_the_sender() {
    vanish_mid_session(false, 7);
}

#[test]
fn restarted_sender_connects_again_to_the_survivor() {
    let mut p = vanish_mid_session(true, 8);
    let tracks_before = p.b.remote_tracks().len();
    assert_eq!(tracks_before, 1);
    let frames_before = p.b.frames.len();
    // The same JID comes back from a new process: new connection, new address.
    let config = Config {
        seed: 3,
        ..Config::default()
    };
    let fresh = Peer::new(p.time, SENDER, "10.0.0.3:10001", config);
    p.replace_peer(false, fresh);
    let connect = try_connect(&mut p, Duration::from_secs(10)).unwrap_or_else(|| {
        panic!(
            "no new connection\na: {:?}\nb: {:?}\na sent {:?}\nb sent {:?}\n{}",
            p.a.events,
            p.b.events,
            p.a.sent,
            p.b.sent,
            link_stats(&p)
        )
    });
    let (t0, errors) = send_30fps(&mut p, 60);
    assert!(errors.is_empty(), "{errors:?}");
    p.drive_until(Duration::from_secs(2), |p| {
        received(&p.b.frames[frames_before..], 60).distinct == 60
    });
    let r = received(&p.b.frames[frames_before..], 60);
    let first = p.b.frame_times.get(frames_before).map(|t| *t - t0);
    println!(
        "restarted sender: connected after {connect:?}, first frame {first:?} after the first write, \
         {}/60 frames intact ({:.1}%), {} datagrams to the old address dropped",
        r.distinct,
        r.percent(60),
        p.misaddressed
    );
    assert_eq!(r.unknown, 0);
    assert!(r.percent(60) >= 95.0);
    // Exactly one new remote track, on the new session's mid.
    let tracks = p.b.remote_tracks();
    assert_eq!(tracks.len(), tracks_before + 1, "{:?}", p.b.events);
    let new = tracks[tracks_before];
    assert_eq!(Some(new.mid.clone()), p.a.conn.mid_of_track(0));
    assert_eq!(new.peer, SENDER);
    assert!(p
        .b
        .frames
        .iter()
        .skip(frames_before)
        .all(|f| f.mid == new.mid));
    assert_eq!(p.b.connected_events(), 2);
    assert_eq!(p.a.connected_events(), 1);
    assert_eq!(p.b.closed().len(), 1, "only the old session closed");
    assert!(p.a.closed().is_empty());
    assert_eq!(p.b.conn.peer(), Some(SENDER));
}

/// The errors (event) either side reported.
fn error_events(p: &Pair) -> Vec<String> {
    p.a.events
        .iter()
        .chain(&p.b.events)
        .filter(|(_, e)| matches!(e, CoreEvent::Error(_)))
        .map(|(_, e)| format!("{e:?}"))
        .collect()
}

/// Holds stanzas of `action` back by `hold` so the transport-info sent just
/// after them overtakes them; returns the connect time and how many
/// transport-info reached `b` before its session-initiate.
fn connect_with_hold(action: Action, hold: Duration) -> (Option<Duration>, usize, Pair) {
    let mut p = trickling_pair_with(Netem::symmetric(9, mild()));
    p.signal_hold.push((action, hold));
    let start = p.time;
    let now = p.time;
    p.a.conn
        .start(now, RECEIVER, &[LocalTrack::desktop()])
        .expect("start");
    let ok = p.drive_until(Duration::from_secs(15), |p| {
        p.a.conn.is_connected() && p.b.conn.is_connected()
    });
    let early =
        p.b.received
            .iter()
            .map(|iq| jingle_action(iq))
            .take_while(|a| *a != Some(Action::SessionInitiate))
            .filter(|a| *a == Some(Action::TransportInfo))
            .count();
    (ok.then(|| p.time - start), early, p)
}

#[test]
fn transport_info_overtaking_session_initiate_still_connects() {
    let (connect, early, p) =
        connect_with_hold(Action::SessionInitiate, Duration::from_millis(300));
    println!("session-initiate held 300 ms: connected after {connect:?}; {early} transport-info reached b before it");
    assert!(
        connect.is_some(),
        "a: {:?}\nb: {:?}",
        p.a.events,
        p.b.events
    );
    assert_eq!(
        early, 1,
        "the transport-info did overtake the session-initiate"
    );
    assert!(error_events(&p).is_empty(), "{:?}", error_events(&p));
}

#[test]
fn transport_info_overtaking_session_accept_still_connects() {
    let (connect, _, p) = connect_with_hold(Action::SessionAccept, Duration::from_millis(300));
    println!("session-accept held 300 ms: connected after {connect:?}");
    assert!(
        connect.is_some(),
        "a: {:?}\nb: {:?}",
        p.a.events,
        p.b.events
    );
    assert!(error_events(&p).is_empty(), "{:?}", error_events(&p));
}

#[test]
fn transport_info_older_than_its_ttl_is_dropped_yet_ice_finds_the_peer() {
    // Held longer than early_transport_info_ttl (2 s): b drops the
    // transport-info with an error event, so b has no candidates of a. a has
    // b's, and b learns a's address from a's connectivity checks (peer
    // reflexive), so the session still connects.
    let ttl = Config::default().early_transport_info_ttl;
    let (connect, early, p) =
        connect_with_hold(Action::SessionInitiate, ttl + Duration::from_millis(500));
    let errors = error_events(&p);
    println!(
        "session-initiate held {:?}: connected after {connect:?}; errors {errors:?}",
        ttl + Duration::from_millis(500)
    );
    assert_eq!(early, 1);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("OrphanTransportInfo"), "{errors:?}");
    assert!(
        connect.is_some(),
        "a: {:?}\nb: {:?}",
        p.a.events,
        p.b.events
    );
}

#[test]
fn delayed_and_reordered_signaling_with_lossy_datagrams_connects() {
    let mut overtaken = 0;
    for seed in 10..15u64 {
        let mut p = trickling_pair_with(Netem::symmetric(seed, loss_and_jitter()));
        // Signaling: 50 ms plus up to 600 ms, so stanzas overtake each other.
        p.signal_net = Some(Netem::symmetric(
            seed + 100,
            LinkConfig::delay(Duration::from_millis(50)).jitter(Duration::from_millis(600)),
        ));
        let connect = try_connect(&mut p, Duration::from_secs(15));
        let reordered = {
            let net = p.signal_net.as_ref().expect("set");
            net.to_a.stats.reordered + net.to_b.stats.reordered
        };
        overtaken += reordered;
        println!(
            "jittery signaling (seed {seed}): connected after {connect:?}, {reordered} stanzas overtaken"
        );
        assert!(
            connect.is_some(),
            "seed {seed}\na: {:?}\nb: {:?}",
            p.a.events,
            p.b.events
        );
        assert!(error_events(&p).is_empty(), "{:?}", error_events(&p));
        let (_, errors) = send_30fps(&mut p, 30);
        assert!(errors.is_empty());
        p.run_for(Duration::from_secs(2));
        let r = received(&p.b.frames, 30);
        assert_eq!(r.unknown, 0);
        assert!(r.percent(30) >= 90.0, "seed {seed}: {r:?}");
    }
    // The premise: some stanzas did overtake others.
    assert!(overtaken >= 2, "only {overtaken} stanzas overtaken");
}

/// What a side may close with when the path is very bad.
fn acceptable(reason: &CloseReason) -> bool {
    match reason {
        CloseReason::IceTimeout | CloseReason::ConnectivityLost => true,
        CloseReason::PeerError { details } => details == ICE_FAILED,
        _ => false,
    }
}

#[test]
fn heavy_loss_connects_or_closes_with_a_reason_in_bounded_time() {
    let config = Config::default();
    for seed in 20..23u64 {
        let mut p = pair_with(Netem::symmetric(
            seed,
            LinkConfig::delay(Duration::from_millis(30))
                .loss(0.30)
                .jitter(Duration::from_millis(20)),
        ));
        let start = p.time;
        let connect = try_connect(&mut p, config.ice_connect_timeout + Duration::from_secs(1));
        let outcome = match connect {
            Some(t) => {
                let (_, errors) = send_30fps(&mut p, 150);
                p.run_for(Duration::from_secs(3));
                let r = received(&p.b.frames, 150);
                assert_eq!(r.unknown, 0, "seed {seed}: corrupt frames");
                format!(
                    "connected after {t:?}; {}/150 frames ({:.1}%), {} write errors",
                    r.distinct,
                    r.percent(150),
                    errors.len()
                )
            }
            None => {
                // Whoever gave up tells the other; let that arrive.
                p.run_for(Duration::from_secs(2));
                format!("no connection: a {:?}, b {:?}", p.a.closed(), p.b.closed())
            }
        };
        // Bounded: let every timer run out, then nothing may be pending.
        p.run_for(config.ice_connect_timeout + config.connectivity_lost_timeout);
        let (a_closed, b_closed) = (p.a.closed(), p.b.closed());
        let when = |peer: &Peer| closed_at(peer).map(|t| t - start);
        println!(
            "30% loss (seed {seed}): {outcome}; closed: a {a_closed:?} at {:?}, b {b_closed:?} at {:?}",
            when(&p.a),
            when(&p.b)
        );
        for (name, closed, conn) in [("a", &a_closed, &p.a.conn), ("b", &b_closed, &p.b.conn)] {
            assert!(closed.len() <= 1, "seed {seed}: {name} closed twice");
            assert!(
                closed.iter().all(|r| acceptable(r)),
                "seed {seed}: {name} closed with {closed:?}"
            );
            // Either still up, or closed: never stuck half-way.
            assert!(
                conn.is_connected() || !conn.is_active(),
                "seed {seed}: {name} neither connected nor closed"
            );
        }
        if connect.is_none() {
            // Both gave up, and no later than the ICE timeout (plus the
            // signaling delay of the other side being told).
            let bound = config.ice_connect_timeout + Duration::from_secs(1);
            for peer in [&p.a, &p.b] {
                let t = when(peer).expect("closed");
                assert!(t <= bound, "seed {seed}: {} closed after {t:?}", peer.jid);
            }
        }
    }
}

#[test]
fn emulator_is_deterministic_and_does_what_it_says() {
    let start = Instant::now();
    let config = LinkConfig::delay(Duration::from_millis(30))
        .loss(0.1)
        .jitter(Duration::from_millis(50))
        .duplicate(0.2);
    let run = |seed: u64| {
        let mut net: Netem<u32> = Netem::symmetric(seed, config.clone());
        let mut out = Vec::new();
        // Hands out everything due up to `until`, each at its due instant.
        let deliver = |net: &mut Netem<u32>, out: &mut Vec<(Instant, u32)>, until: Instant| {
            while let Some(due) = net.poll_timeout().filter(|d| *d <= until) {
                while let Some(x) = net.link(true).poll_due(due) {
                    out.push((due, x));
                }
            }
        };
        for i in 0..10_000u32 {
            let now = start + Duration::from_millis(u64::from(i));
            deliver(&mut net, &mut out, now);
            net.link(true).send(now, i);
        }
        let last = net.to_b.in_flight();
        assert!(last > 0);
        deliver(&mut net, &mut out, start + Duration::from_secs(3600));
        assert_eq!(net.poll_timeout(), None);
        assert_eq!(
            net.to_a.stats,
            Default::default(),
            "the other way is untouched"
        );
        (out, net.to_b.stats.clone())
    };
    let (one, stats) = run(1);
    assert_eq!((one.clone(), stats.clone()), run(1), "same seed, same run");
    assert_ne!(one, run(2).0, "another seed, another run");
    // Rates near the configured ones (10_000 sends).
    assert!((900..=1100).contains(&stats.lost), "{stats:?}");
    assert!((1600..=2000).contains(&stats.duplicated), "{stats:?}");
    assert_eq!(stats.delivered, stats.sent - stats.lost + stats.duplicated);
    assert!(stats.reordered > 1000, "{stats:?}");
    // Every copy comes out within delay + jitter of its send, never earlier.
    for (at, i) in &one {
        let sent = start + Duration::from_millis(u64::from(*i));
        assert!(*at >= sent + config.delay && *at <= sent + config.delay + config.jitter);
    }
    // Vanish: nothing sent from then on, nothing in flight after then.
    let mut link = common::netem::Link::new(7, LinkConfig::delay(Duration::from_millis(10)));
    link.send(start, 1u8);
    link.send(start + Duration::from_millis(5), 2);
    link.vanish(start + Duration::from_millis(12));
    link.send(start + Duration::from_millis(12), 3);
    assert_eq!(link.poll_due(start + Duration::from_secs(1)), Some(1));
    assert_eq!(link.poll_due(start + Duration::from_secs(1)), None);
    assert_eq!(link.stats.vanished, 2);
    link.revive();
    link.send(start + Duration::from_secs(2), 4);
    assert_eq!(link.poll_due(start + Duration::from_secs(3)), Some(4));
    // The PRNG: uniform enough, bounded.
    let mut rng = SplitMix64::new(0);
    let mut buckets = [0u32; 10];
    for _ in 0..100_000 {
        let x = rng.up_to(9);
        buckets[x as usize] += 1;
    }
    assert!(
        buckets.iter().all(|b| (9_000..11_000).contains(b)),
        "{buckets:?}"
    );
}

/// 300 frames through 30 ms + U[0, 100] ms both ways (no loss); the first
/// frame's packets are jittered too unless `calm_start`.
fn jitter_run(seed: u64, calm_start: bool) -> (Received, usize) {
    let jittery = LinkConfig::delay(Duration::from_millis(30)).jitter(Duration::from_millis(100));
    let mut p = pair_with(Netem::symmetric(seed, jittery.clone()));
    try_connect(&mut p, Duration::from_secs(10)).expect("connects");
    fn link(p: &mut Pair) -> &mut LinkConfig {
        &mut p.net.as_mut().expect("emulated").to_b.config
    }
    if calm_start {
        link(&mut p).jitter = Duration::ZERO;
    }
    let t0 = p.time;
    for n in 0..300 {
        p.advance_to(t0 + pts(n));
        if n == 1 {
            *link(&mut p) = jittery.clone();
        }
        let now = p.time;
        p.a.conn
            .write_frame(now, 0, pts(n), &video_frame(n))
            .expect("write");
        p.drain_side(false);
    }
    p.run_for(Duration::from_secs(2));
    (received(&p.b.frames, 300), p.a.keyframe_requests.len())
}

#[test]
fn reordering_after_the_first_frame_loses_nothing() {
    for seed in 1..6 {
        let (r, _) = jitter_run(seed, true);
        println!(
            "100 ms jitter from frame 1 on (seed {seed}): {}/300, missing {:?}",
            r.distinct, r.missing
        );
        assert_eq!(r.distinct, 300, "seed {seed}: missing {:?}", r.missing);
        assert_eq!((r.unknown, r.repeats, r.out_of_order), (0, 0, 0));
    }
}

/// The RTP timestamp of `datagram` if it is an RTP packet (RFC 7983: first
/// byte 128..=191; RFC 5761: payload types 64..=95 are RTCP). SRTP leaves
/// the header in the clear.
fn rtp_timestamp(datagram: &[u8]) -> Option<u32> {
    let (&first, &second) = (datagram.first()?, datagram.get(1)?);
    if !(128..=191).contains(&first) || (64..=95).contains(&(second & 0x7f)) {
        return None;
    }
    Some(u32::from_be_bytes(datagram.get(4..8)?.try_into().ok()?))
}

/// The first keyframe (frame 0, 4 packets) is lost: exactly its packets,
/// retransmissions included (they keep its RTP timestamp), never reach the
/// receiver. A decoder cannot start on the delta frames that follow, so the
/// receiving engine asks the sender for a keyframe at once (as browsers do)
/// instead of waiting for the sender's next periodic one (frame 30); the
/// sender answers with a keyframe, as an application does, and it arrives.
#[test]
fn a_lost_first_keyframe_is_asked_for_again() {
    const COUNT: u32 = 20;
    let mut p = Pair::default_pair();
    try_connect(&mut p, Duration::from_secs(10)).expect("connects");
    let lost = Rc::new(Cell::new(0usize));
    let counter = Rc::clone(&lost);
    let mut first_frame = None;
    p.lose = Some(Box::new(move |to_b, t| {
        let Some(ts) = rtp_timestamp(&t.contents).filter(|_| to_b) else {
            return false;
        };
        let lose = *first_frame.get_or_insert(ts) == ts;
        counter.set(counter.get() + usize::from(lose));
        lose
    }));
    let t0 = p.time;
    let mut answered = 0;
    let mut answer = None;
    for n in 0..COUNT {
        p.advance_to(t0 + pts(n));
        let requests = p.a.keyframe_requests.len();
        let frame = if requests > answered {
            answered = requests;
            answer.get_or_insert(vp8_frame(n, true, vp8_len(0))).clone()
        } else {
            video_frame(n)
        };
        let now = p.time;
        p.a.conn.write_frame(now, 0, pts(n), &frame).expect("write");
        p.drain_side(false);
    }
    p.run_for(Duration::from_secs(2));
    let r = received(&p.b.frames, COUNT);
    println!(
        "first keyframe lost ({} packets): {}/{COUNT}, missing {:?}, {} keyframe requests",
        lost.get(),
        r.distinct,
        r.missing,
        p.a.keyframe_requests.len()
    );
    assert!(
        lost.get() >= 4 && r.missing.contains(&0),
        "the scenario: frame 0's packets are lost ({} lost, missing {:?})",
        lost.get(),
        r.missing
    );
    assert!(
        !p.a.keyframe_requests.is_empty(),
        "the first keyframe was lost and nobody asked for another"
    );
    let answer = answer.expect("the request reached the sender while it was sending");
    assert!(
        p.b.frames
            .iter()
            .any(|f| f.keyframe == Some(true) && f.data[..] == answer[..]),
        "the keyframe sent in answer never arrived"
    );
}

/// The sender vanishes and comes back (same JID, new address) 1 s later, before
/// the receiver noticed. Like an application would, the new sender starts again
/// whenever its attempt closes. Returns (time from restart to a working
/// session, the new sender's close reasons, the receiver's close reasons).
fn restart_before_detection(
    seed: u64,
) -> (
    Option<Duration>,
    Vec<CloseReason>,
    Vec<CloseReason>,
    Vec<String>,
) {
    let mut p = pair_with(Netem::symmetric(seed, mild()));
    try_connect(&mut p, Duration::from_secs(10)).expect("connects");
    send_30fps(&mut p, 30);
    p.vanish(false);
    p.run_for(Duration::from_secs(1));
    let config = Config {
        seed: 3,
        ..Config::default()
    };
    let fresh = Peer::new(p.time, SENDER, "10.0.0.3:10001", config);
    p.replace_peer(false, fresh);
    let restart = p.time;
    let mut connected = None;
    while p.time < restart + Duration::from_secs(40) {
        if !p.a.conn.is_active() {
            let now = p.time;
            p.a.conn
                .start(now, RECEIVER, &[LocalTrack::desktop()])
                .expect("start");
        }
        p.step();
        if p.a.conn.is_connected() && p.b.conn.is_connected() {
            connected = Some(p.time - restart);
            break;
        }
    }
    let a = p.a.closed().into_iter().cloned().collect();
    let b = p.b.closed().into_iter().cloned().collect();
    (connected, a, b, error_events(&p))
}

/// A peer that restarts (same JID, new sid) before the survivor noticed it
/// vanished replaces the old connection at once, as lib-jitsi-meet does.
#[test]
fn peer_restarting_before_detection_is_accepted_promptly() {
    let (connected, a, b, _) = restart_before_detection(11);
    println!(
        "restart 1 s after vanishing: new session working after {connected:?}; \
         new sender closed {a:?}; receiver closed {b:?}"
    );
    let bound = SILENCE_TIMEOUT + Config::default().connectivity_lost_timeout;
    assert!(
        connected.is_some_and(|t| t <= bound),
        "connected after {connected:?}, expected within {bound:?}"
    );
}

#[test]
fn a_restarted_peer_closes_the_old_connection_once() {
    let (connected, a, b, _) = restart_before_detection(11);
    assert!(connected.is_some());
    assert_eq!(
        b,
        vec![CloseReason::PeerRestarted],
        "the survivor replaced the old session"
    );
    assert!(
        a.is_empty(),
        "the new sender's session was never closed: {a:?}"
    );
}
