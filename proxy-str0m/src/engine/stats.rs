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
use str0m::rtp::rtcp::{ReceptionReport, Rtcp};
use str0m::rtp::Ssrc;
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

/// The most incoming streams whose reported loss is kept (str0m reports at
/// most 31 streams in one RTCP packet).
const MAX_REPORTED_STREAMS: usize = 64;

/// The cumulative number of packets lost (RFC 3550 6.4.1, a signed 24-bit
/// field) of a reception report as a count: a negative count (duplicates
/// outnumbering the losses) is no loss.
fn cumulative_lost(report: &ReceptionReport) -> u64 {
    signed_24_lost(u64::from(report.packets_lost))
}

/// A cumulative loss field (signed 24 bits, as str0m holds it: in a u32, or
/// read off the wire unsigned into a u64) as a count, negative being none.
fn signed_24_lost(value: u64) -> u64 {
    let field = value & 0xff_ffff;
    if field >= 0x80_0000 {
        0
    } else {
        field
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
    /// Per incoming SSRC, the cumulative loss our latest receiver report
    /// said (str0m's RTCP as it sent it).
    reported_lost: HashMap<Ssrc, u64>,
}

impl StatsWatch {
    /// A frame arrived on `mid`.
    pub(super) fn on_frame_in(&mut self, mid: Mid) {
        self.track(mid, StatsDirection::Inbound).frames += 1;
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

    /// RTCP that str0m sent: its reception reports (alone or in a sender
    /// report) say what we told the peer we lost of each of its streams.
    pub(super) fn on_rtcp_sent(&mut self, rtcp: &Rtcp) {
        let reports = match rtcp {
            Rtcp::ReceiverReport(rr) => &rr.reports,
            Rtcp::SenderReport(sr) => &sr.reports,
            _ => return,
        };
        for r in reports {
            self.reported_lost.insert(r.ssrc, cumulative_lost(r));
        }
        // A peer that keeps changing SSRCs must not grow the map: past a
        // bound, only the streams of this report are kept.
        if self.reported_lost.len() > MAX_REPORTED_STREAMS {
            self.reported_lost
                .retain(|ssrc, _| reports.iter().any(|r| r.ssrc == *ssrc));
        }
    }

    /// One incoming track's report; `ssrc` is the stream str0m receives it
    /// on. Packets lost is what our latest receiver report for that stream
    /// told the peer (RFC 3550's cumulative count: expected from the sequence
    /// numbers, less the packets received, a loss repaired by retransmission
    /// being no loss), so what the peer's remote-inbound-rtp says once the
    /// report has arrived; it is at most one report interval (1 s) behind the
    /// packets, as a browser's reports are.
    pub(super) fn on_ingress(
        &mut self,
        kind: MediaKind,
        ssrc: Option<Ssrc>,
        s: &MediaIngressStats,
    ) -> TrackStats {
        let peer_rtt = self.peer_rtt;
        let packets_lost = ssrc
            .and_then(|x| self.reported_lost.get(&x).copied())
            .unwrap_or(0);
        let t = self.track(s.mid, StatsDirection::Inbound);
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
        // str0m reads the peer's field unsigned: a negative count (more
        // duplicates than losses) would show as 16,777,215 lost.
        let packets_lost = s
            .remote
            .as_ref()
            .map_or(0, |r| signed_24_lost(r.packets_lost));
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

    fn report(ssrc: u32, packets_lost: u32) -> ReceptionReport {
        ReceptionReport {
            ssrc: ssrc.into(),
            fraction_lost: 0,
            packets_lost,
            max_seq: 0,
            jitter: 0,
            last_sr_time: 0,
            last_sr_delay: 0,
        }
    }

    #[test]
    fn the_receiver_reports_cumulative_loss_is_the_count() {
        assert_eq!(cumulative_lost(&report(1, 13)), 13);
        assert_eq!(cumulative_lost(&report(1, 0x7f_ffff)), 0x7f_ffff);
        // Negative (more duplicates than losses), as str0m holds -1 before
        // it writes the 24 bits, and as written: no loss.
        assert_eq!(cumulative_lost(&report(1, u32::MAX)), 0);
        assert_eq!(cumulative_lost(&report(1, 0xff_ffff)), 0);
        assert_eq!(cumulative_lost(&report(1, 0x80_0000)), 0);
        // The peer's reports, as str0m reads them off the wire.
        assert_eq!(signed_24_lost(0xff_ffff), 0);
        assert_eq!(signed_24_lost(42), 42);
    }

    #[test]
    fn reception_reports_alone_or_in_a_sender_report_are_kept_per_ssrc() {
        use str0m::media::{Frequency, MediaTime};
        use str0m::rtp::rtcp::{ReceiverReport, SenderInfo, SenderReport};
        let mut w = StatsWatch::default();
        w.on_rtcp_sent(&Rtcp::ReceiverReport(ReceiverReport {
            sender_ssrc: 9.into(),
            reports: report(1, 4).into(),
        }));
        w.on_rtcp_sent(&Rtcp::ReceiverReport(ReceiverReport {
            sender_ssrc: 9.into(),
            reports: report(2, 7).into(),
        }));
        // A later report replaces the earlier one of its stream.
        w.on_rtcp_sent(&Rtcp::SenderReport(SenderReport {
            sender_info: SenderInfo {
                ssrc: 9.into(),
                ntp_time: std::time::SystemTime::UNIX_EPOCH,
                rtp_time: MediaTime::new(0, Frequency::NINETY_KHZ),
                sender_packet_count: 0,
                sender_octet_count: 0,
            },
            reports: report(1, 5).into(),
        }));
        assert_eq!(w.reported_lost.get(&1.into()), Some(&5));
        assert_eq!(w.reported_lost.get(&2.into()), Some(&7));
        // A new SSRC each report: the map stays bounded, the latest kept.
        for ssrc in 100..1000u32 {
            w.on_rtcp_sent(&Rtcp::ReceiverReport(ReceiverReport {
                sender_ssrc: 9.into(),
                reports: report(ssrc, 3).into(),
            }));
        }
        assert!(w.reported_lost.len() <= MAX_REPORTED_STREAMS);
        assert_eq!(w.reported_lost.get(&999.into()), Some(&3));
    }

    #[test]
    fn jitter_counts_in_the_tracks_clock() {
        assert_eq!(jitter_of(MediaKind::Video, 90), Duration::from_millis(1));
        assert_eq!(jitter_of(MediaKind::Audio, 96), Duration::from_millis(2));
    }
}
