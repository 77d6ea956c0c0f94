//! `Event::Stats`: per-track statistics every `ProxyConfig::stats_interval`,
//! checked against what the two-peer simulation sent and dropped.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use proxy_core::{Config, LocalTrack, MediaKind};
use proxy_str0m::{Event, Output, ProxyConfig, StatsDirection, TrackStats, Transmit};

use common::netem::{LinkConfig, Netem};
use common::pair::{Pair, Peer, RECEIVER, SENDER};

use common::opus_frame;
use common::pair::VIDEO_FPS;

const VIDEO_BYTES: usize = 1800;

/// A pair whose peers report stats every second (`a` sends, `b` receives).
fn stats_pair() -> Pair {
    let mut p = Pair::default_pair();
    let config = |core: Config| ProxyConfig {
        core,
        stats_interval: Some(Duration::from_secs(1)),
        ..ProxyConfig::default()
    };
    let a_core = Config {
        seed: 1,
        ..Config::default()
    };
    let b_core = Config {
        convert_video_to_desktop: true,
        seed: 2,
        ..Config::default()
    };
    let now = p.time;
    p.replace_peer(
        false,
        Peer::with_config(now, SENDER, "10.0.0.1:10000", config(a_core)),
    );
    p.replace_peer(
        true,
        Peer::with_config(now, RECEIVER, "10.0.0.2:20000", config(b_core)),
    );
    p
}

/// The stats events a peer output (the harness keeps unknown outputs).
fn stats_of(peer: &Peer) -> Vec<&TrackStats> {
    peer.io_requests
        .iter()
        .filter_map(|o| match o {
            Output::Event(Event::Stats(s)) => Some(s),
            _ => None,
        })
        .collect()
}

fn of_kind<'a>(
    stats: &[&'a TrackStats],
    kind: MediaKind,
    direction: StatsDirection,
) -> Vec<&'a TrackStats> {
    stats
        .iter()
        .filter(|s| s.kind == kind && s.direction == direction)
        .copied()
        .collect()
}

fn within(got: f64, want: f64, tolerance: f64) -> bool {
    (got - want).abs() <= want * tolerance
}

/// The reports of the last 3 s (steady state, a full interval each).
fn steady<'a>(stats: &[&'a TrackStats]) -> Vec<&'a TrackStats> {
    let n = stats.len();
    assert!(n >= 4, "too few reports: {stats:#?}");
    stats[n - 3..].to_vec()
}

#[test]
fn stats_give_frame_rate_bitrate_jitter_and_rtt_in_both_directions() {
    let mut p = stats_pair();
    p.connect(&[LocalTrack::audio(), LocalTrack::camera()]);
    p.send_audio_video(6, VIDEO_BYTES);

    let a = stats_of(&p.a);
    let b = stats_of(&p.b);
    // Payload: the frame plus VP8's payload descriptor (1 byte a packet).
    let video_bps = f64::from(VIDEO_FPS) * VIDEO_BYTES as f64 * 8.0;
    let audio_bps = 50.0 * opus_frame(0).len() as f64 * 8.0;
    for (side, stats, direction) in [
        ("sender", &a, StatsDirection::Outbound),
        ("receiver", &b, StatsDirection::Inbound),
    ] {
        let video = of_kind(stats, MediaKind::Video, direction);
        let audio = of_kind(stats, MediaKind::Audio, direction);
        for s in steady(&video) {
            assert!(
                within(s.frames_per_second(), f64::from(VIDEO_FPS), 0.10),
                "{side}: {s}"
            );
            assert!(within(s.bitrate_bps(), video_bps, 0.15), "{side}: {s}");
            assert_eq!(s.packets_lost, 0, "{side}: {s}");
            // 20 ms each way, nothing else in the simulated network.
            let rtt = s.rtt.unwrap_or_else(|| panic!("{side}: no rtt: {s:?}"));
            assert!(
                rtt >= Duration::from_millis(38) && rtt <= Duration::from_millis(60),
                "{side}: {s}"
            );
            assert!(s.jitter.is_some(), "{side}: no jitter: {s:?}");
            assert!(s.jitter < Some(Duration::from_millis(5)), "{side}: {s}");
        }
        for s in steady(&audio) {
            assert!(within(s.frames_per_second(), 50.0, 0.10), "{side}: {s}");
            assert!(within(s.bitrate_bps(), audio_bps, 0.15), "{side}: {s}");
            assert!(s.rtt.is_some(), "{side}: no rtt: {s:?}");
        }
        // Totals only grow.
        for w in video.windows(2) {
            assert!(w[1].bytes >= w[0].bytes && w[1].frames >= w[0].frames);
        }
    }
    // The receiver got every frame the sender wrote.
    let sent = of_kind(&a, MediaKind::Video, StatsDirection::Outbound);
    let got = of_kind(&b, MediaKind::Video, StatsDirection::Inbound);
    assert_eq!(sent[0].mid, got[0].mid);
}

#[test]
fn lost_packets_are_counted_by_the_receiver_and_reported_back_to_the_sender() {
    let mut p = stats_pair();
    // Drop every 8th Opus RTP packet to b (Opus has no retransmission, so
    // each is lost for good); video and RTCP pass.
    let dropped = Rc::new(Cell::new(0u64));
    let seen = Rc::new(Cell::new(0u64));
    let (d, n) = (dropped.clone(), seen.clone());
    let opus_pt = Rc::new(Cell::new(None::<u8>));
    let pt = opus_pt.clone();
    p.lose = Some(Box::new(move |to_b: bool, t: &Transmit| {
        let c = &t.contents;
        let rtp = to_b && c.len() > 12 && (128..192).contains(&c[0]);
        // RTCP's packet types 200..=207 read as marker + 72..=79 (RFC 5761).
        if !rtp || (64..96).contains(&(c[1] & 0x7f)) {
            return false;
        }
        if pt.get() != Some(c[1] & 0x7f) {
            return false;
        }
        n.set(n.get() + 1);
        let lose = n.get().is_multiple_of(8);
        if lose {
            d.set(d.get() + 1);
        }
        lose
    }));
    p.connect(&[LocalTrack::audio(), LocalTrack::camera()]);
    // Opus' payload type, as negotiated (its rtpmap in the offer).
    let offer =
        p.a.sent
            .iter()
            .find(|(_, iq)| iq.contains("opus"))
            .map(|(_, iq)| iq.clone())
            .expect("an offer with opus");
    let found = offer
        .split("<payload-type")
        .find(|s| s.contains("name='opus'") || s.contains("name=\"opus\""))
        .and_then(|s| s.split("id=").nth(1))
        .and_then(|s| s.trim_start_matches(['\'', '"']).split(['\'', '"']).next())
        .and_then(|s| s.parse::<u8>().ok())
        .expect("opus payload type");
    opus_pt.set(Some(found));
    p.send_audio_video(6, VIDEO_BYTES);

    let dropped = dropped.get();
    assert!(dropped >= 30, "only {dropped} dropped of {}", seen.get());
    let b = stats_of(&p.b);
    let a = stats_of(&p.a);
    let inbound = of_kind(&b, MediaKind::Audio, StatsDirection::Inbound);
    let outbound = of_kind(&a, MediaKind::Audio, StatsDirection::Outbound);
    let last_in = inbound.last().expect("inbound audio stats");
    let last_out = outbound.last().expect("outbound audio stats");
    // The receiver's last report is less than a second old: at most ~7
    // drops (50 packets/s, 1 in 8) since.
    assert!(
        last_in.packets_lost <= dropped && last_in.packets_lost + 8 >= dropped,
        "receiver counts {} lost, {dropped} were dropped",
        last_in.packets_lost
    );
    // The sender knows from receiver reports (every second, so up to a
    // second or two behind).
    assert!(
        last_out.packets_lost <= dropped && last_out.packets_lost + 16 >= dropped,
        "sender was told {} lost, {dropped} were dropped",
        last_out.packets_lost
    );
    // Nothing of the video was dropped, and none is counted.
    for s in of_kind(&b, MediaKind::Video, StatsDirection::Inbound) {
        assert_eq!(s.packets_lost, 0, "{s}");
    }
}

#[test]
fn jitter_is_the_networks_in_the_tracks_clock() {
    let mut p = stats_pair();
    // Each datagram delayed 20 ms plus U[0, 10 ms]: RFC 3550's estimate of
    // the transit differences' mean is 10/3 ms, in Opus' 48 kHz clock as in
    // VP8's 90 kHz one (one taken for the other: 1.8 or 6.2 ms). Video
    // frames of one packet each, so none overtakes another (no NACK, no
    // retransmission to skew the estimate).
    let link = LinkConfig::delay(Duration::from_millis(20)).jitter(Duration::from_millis(10));
    p.net = Some(Netem::symmetric(7, link));
    p.connect(&[LocalTrack::audio(), LocalTrack::camera()]);
    p.send_audio_video(8, 900);
    let (a, b) = (stats_of(&p.a), stats_of(&p.b));
    for (stats, direction) in [
        (&a, StatsDirection::Outbound),
        (&b, StatsDirection::Inbound),
    ] {
        for kind in [MediaKind::Audio, MediaKind::Video] {
            for s in &steady(&of_kind(stats, kind, direction))[1..] {
                let jitter = s.jitter.unwrap_or_else(|| panic!("no jitter: {s:?}"));
                assert!(
                    jitter >= Duration::from_micros(2500) && jitter <= Duration::from_micros(4500),
                    "{s}"
                );
                // 40 ms plus up to 20.
                let rtt = s.rtt.unwrap_or_else(|| panic!("no rtt: {s:?}"));
                assert!(
                    rtt >= Duration::from_millis(40) && rtt <= Duration::from_millis(60),
                    "{s}"
                );
            }
        }
    }
}

#[test]
fn no_stats_unless_asked_for() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::camera()]);
    p.send_video(0, 0, 75);
    assert!(stats_of(&p.a).is_empty() && stats_of(&p.b).is_empty());
}
