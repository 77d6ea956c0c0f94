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
        // RFC 3550's cumulative loss, expected minus received, both counted
        // in the delivered frames: str0m's packet count also has the packets
        // of frames it still holds (it holds audio for ~160 ms), which are
        // beyond the highest delivered sequence number. A loss repaired by
        // retransmission is no loss, as in browsers; the packets of a frame
        // that never came whole count as lost.
        let expected = t.first_seq.map_or(0, |f| t.max_seq - f + 1);
        let packets_lost = expected.saturating_sub(t.in_frames);
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
    fn jitter_counts_in_the_tracks_clock() {
        assert_eq!(jitter_of(MediaKind::Video, 90), Duration::from_millis(1));
        assert_eq!(jitter_of(MediaKind::Audio, 96), Duration::from_millis(2));
    }
}
