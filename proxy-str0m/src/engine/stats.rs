//! Per-track statistics: str0m's periodic `MediaIngressStats`,
//! `MediaEgressStats` and `PeerStats` (with
//! [`RtcConfig::set_stats_interval`](str0m::RtcConfig::set_stats_interval))
//! turned into one [`TrackStats`] per track and report, with rates from the
//! deltas between two reports of the same track.
//!
//! Sans-IO like the rest: the report's own timestamp (str0m's `now`) is the
//! clock.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use proxy_core::MediaKind;
use str0m::media::Mid;
use str0m::stats::{MediaEgressStats, MediaIngressStats, PeerStats};

use crate::types::{StatsDirection, TrackStats};

/// The RTP clock rate of a kind's codec (VP8 90 kHz, Opus 48 kHz): what
/// jitter in RTP units is counted in.
fn clock_rate(kind: MediaKind) -> u32 {
    match kind {
        MediaKind::Audio => 48_000,
        MediaKind::Video => 90_000,
    }
}

/// Jitter in RTP units of `kind`'s clock as a duration.
fn jitter_of(kind: MediaKind, units: u32) -> Duration {
    Duration::from_micros(u64::from(units) * 1_000_000 / u64::from(clock_rate(kind)))
}

/// RFC 3550's cumulative loss (expected minus received, what our receiver
/// reports tell the peer and what a browser's inbound-rtp `packetsLost` is)
/// as far as str0m's frame API lets us count it: `expected` is the sequence
/// number span of the delivered frames, `in_frames` the packets of those
/// frames, `received` str0m's count of the packets it took in (with
/// retransmissions, without padding).
///
/// Neither count of the received is exact: `in_frames` leaves out the packets
/// of a frame that never came whole (received, but dropped with it: counting
/// them lost made a video loss of 1 packet in a 3-packet frame count 3; against
/// Chromium with 3% of its packets dropped, we said 32 lost where our own
/// receiver reports said 17), and `received` also has the packets str0m still
/// holds beyond the last delivered frame (a frame not yet whole, audio for
/// ~160 ms, and after an unrepaired video loss up to 30 frames while str0m
/// waits for a retransmission or a keyframe), so `expected - received` falls
/// short by those until they are delivered or dropped.
/// - Audio: one packet a frame, so a frame never comes partly: `in_frames` is
///   the exact count within the span.
/// - Video: `expected - received`, which errs low by the held packets only, no
///   lower than 0 and no higher than `expected - in_frames` (the caller also
///   keeps it from going below its previous report's).
///
/// A loss repaired by retransmission is no loss, as in browsers.
fn lost(kind: MediaKind, expected: u64, in_frames: u64, received: u64) -> u64 {
    let upper = expected.saturating_sub(in_frames);
    match kind {
        MediaKind::Audio => upper,
        MediaKind::Video => expected.saturating_sub(received).min(upper),
    }
}

/// What the previous report of one track said (for the deltas).
#[derive(Debug, Clone, Copy)]
struct Last {
    at: Instant,
    bytes: u64,
    frames: u64,
}

/// Counters kept per mid and direction between str0m's reports.
#[derive(Debug, Default)]
struct Track {
    /// Frames delivered (ingress) or written (egress) so far.
    frames: u64,
    /// Ingress: the first and highest RTP sequence numbers of the delivered
    /// frames (extended, so no wrap), for the expected packet count.
    first_seq: Option<u64>,
    max_seq: u64,
    /// Ingress: the RTP packets the delivered frames were made of.
    in_frames: u64,
    /// Ingress: the packets lost as the previous report said.
    lost: u64,
    last: Option<Last>,
}

/// The statistics state of one connection.
#[derive(Debug, Default)]
pub(super) struct StatsWatch {
    tracks: HashMap<(Mid, StatsDirection), Track>,
    /// The latest round-trip time the peer report gave (RTCP, else ICE
    /// STUN): for tracks whose own reports have none (a receive-only track
    /// gets RTT only from XR, which not every sender answers).
    peer_rtt: Option<Duration>,
}

impl StatsWatch {
    /// A frame arrived on `mid`, its RTP packets `first..=last`.
    pub(super) fn on_frame_in(&mut self, mid: Mid, first: u64, last: u64) {
        let t = self.track(mid, StatsDirection::Inbound);
        t.frames += 1;
        t.first_seq = Some(t.first_seq.map_or(first, |f| f.min(first)));
        t.max_seq = t.max_seq.max(last);
        t.in_frames += last.saturating_sub(first) + 1;
    }

    /// A frame was written on `mid`.
    pub(super) fn on_frame_out(&mut self, mid: Mid) {
        self.track(mid, StatsDirection::Outbound).frames += 1;
    }

    /// The connection-wide report, which str0m gives before the tracks' ones.
    pub(super) fn on_peer(&mut self, s: &PeerStats) {
        let ice = s
            .selected_candidate_pair
            .as_ref()
            .and_then(|p| p.current_round_trip_time);
        if let Some(rtt) = s.rtt.or(ice) {
            self.peer_rtt = Some(rtt);
        }
    }

    /// One incoming track's report.
    pub(super) fn on_ingress(&mut self, kind: MediaKind, s: &MediaIngressStats) -> TrackStats {
        let peer_rtt = self.peer_rtt;
        let t = self.track(s.mid, StatsDirection::Inbound);
        let expected = t.first_seq.map_or(0, |f| t.max_seq - f + 1);
        // Never below the previous report's: the count of a report errs low
        // only (by the packets held then), and a loss stays a loss.
        let packets_lost = lost(kind, expected, t.in_frames, s.packets)
            .max(t.lost)
            .min(expected.saturating_sub(t.in_frames));
        t.lost = packets_lost;
        // str0m sets loss and jitter together, from the receiver reports we
        // send: before the first, there is no jitter to tell.
        let jitter = s.loss.map(|_| jitter_of(kind, s.jitter));
        t.report(
            s.mid,
            kind,
            StatsDirection::Inbound,
            s.timestamp,
            s.bytes,
            s.packets,
            packets_lost,
            jitter,
            s.rtt.or(peer_rtt),
        )
    }

    /// One outgoing track's report (loss and jitter as the peer's receiver
    /// reports tell them).
    pub(super) fn on_egress(&mut self, kind: MediaKind, s: &MediaEgressStats) -> TrackStats {
        let peer_rtt = self.peer_rtt;
        let t = self.track(s.mid, StatsDirection::Outbound);
        let packets_lost = s.remote.as_ref().map_or(0, |r| r.packets_lost);
        let jitter = s.remote.as_ref().map(|r| jitter_of(kind, r.jitter));
        t.report(
            s.mid,
            kind,
            StatsDirection::Outbound,
            s.timestamp,
            s.bytes,
            s.packets,
            packets_lost,
            jitter,
            s.rtt.or(peer_rtt),
        )
    }

    fn track(&mut self, mid: Mid, direction: StatsDirection) -> &mut Track {
        self.tracks.entry((mid, direction)).or_default()
    }
}

impl Track {
    /// The report, with the deltas since the previous one (the first report
    /// counts from zero at its own time: no interval, no rates yet).
    #[allow(clippy::too_many_arguments)]
    fn report(
        &mut self,
        mid: Mid,
        kind: MediaKind,
        direction: StatsDirection,
        at: Instant,
        bytes: u64,
        packets: u64,
        packets_lost: u64,
        jitter: Option<Duration>,
        rtt: Option<Duration>,
    ) -> TrackStats {
        let last = self.last.unwrap_or(Last {
            at,
            bytes: 0,
            frames: 0,
        });
        self.last = Some(Last {
            at,
            bytes,
            frames: self.frames,
        });
        TrackStats {
            mid: mid.to_string(),
            kind,
            direction,
            interval: at.saturating_duration_since(last.at),
            bytes,
            bytes_in_interval: bytes.saturating_sub(last.bytes),
            packets,
            frames: self.frames,
            frames_in_interval: self.frames.saturating_sub(last.frames),
            packets_lost,
            jitter,
            rtt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_video_frame_that_never_came_whole_loses_only_its_missing_packets() {
        // Frames of 3 packets, 1..=3, 4..=6, 7..=9; packet 5 was lost, so the
        // second frame never came whole, but 4 and 6 were received.
        let (expected, in_frames, received) = (9, 6, 8);
        assert_eq!(lost(MediaKind::Video, expected, in_frames, received), 1);
        // A frame not yet whole (10 and 11 of 10..=12 held) makes it low for
        // a while, never below 0.
        assert_eq!(lost(MediaKind::Video, expected, in_frames, received + 2), 0);
        // Never more than the packets missing from the delivered frames.
        assert_eq!(lost(MediaKind::Video, expected, 8, 5), 1);
        // No loss: the span's packets all delivered, some more held.
        assert_eq!(lost(MediaKind::Video, 9, 9, 11), 0);
    }

    #[test]
    fn audio_loss_is_counted_in_its_one_packet_frames() {
        // Held packets (received 12) do not hide the 2 missing of 10.
        assert_eq!(lost(MediaKind::Audio, 10, 8, 12), 2);
    }

    #[test]
    fn jitter_counts_in_the_tracks_clock() {
        assert_eq!(jitter_of(MediaKind::Video, 90), Duration::from_millis(1));
        assert_eq!(jitter_of(MediaKind::Audio, 96), Duration::from_millis(2));
    }
}
