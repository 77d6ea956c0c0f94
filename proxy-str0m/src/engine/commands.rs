//! The engine's commands: each builds or changes the connection (and moves
//! the engine to its next [`State`]) and reports the result as engine events.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use proxy_core::{Codec, Direction, EngineError, EngineEvent, MediaKind, TrackSpec};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{MediaKind as RtcKind, Mid};
use str0m::{Candidate, Input, Rtc};

use super::mdns::{self, Step};
use super::{
    rtc_direction, rtc_kind, Connection, Dtls, Engine, EngineOutput, MediaEntry, State,
    STUN_INTERVAL,
};
use crate::net::{IceServerSpec, IceTransportPolicy};
use crate::sdp_text;

impl Engine {
    // ---- commands ------------------------------------------------------

    /// Forgets the current connection and builds a fresh one (not installed
    /// yet) for sending `tracks`; returns it with our host candidates as SDP
    /// lines. `None` if its `Rtc` died at once (reported as
    /// [`EngineEvent::Failed`]).
    ///
    /// Codecs: Opus, and every video codec we carry, `first` first, then the
    /// tracks' own, then the rest, so that we can send ours and receive
    /// whatever the peer sends. str0m writes both its offer and its answer in
    /// this order (an answer narrowed to what the peer offered), and a peer
    /// sends with the first codec of the answer it gets: an offer puts the
    /// tracks' codecs first, an answer the offer's own order (`first`), so
    /// the offerer sends the codec it prefers.
    fn fresh_connection(
        &mut self,
        now: Instant,
        tracks: &[TrackSpec],
        first: &[Codec],
    ) -> Option<(Box<Connection>, Vec<String>)> {
        self.close_quietly();
        let mut video: Vec<Codec> = first.to_vec();
        video.extend(
            tracks
                .iter()
                .map(|t| t.codec)
                .filter(|c| c.kind() == MediaKind::Video),
        );
        video.extend_from_slice(Codec::VIDEO);
        let mut config = Rtc::builder().clear_codecs().enable_opus(true, false);
        let mut enabled = Vec::new();
        for codec in video {
            if enabled.contains(&codec) {
                continue;
            }
            enabled.push(codec);
            config = match codec {
                Codec::Vp8 => config.enable_vp8(true),
                Codec::Vp9 => config.enable_vp9(true),
                Codec::H264 => config.enable_h264(true),
                Codec::Av1 => config.enable_av1(true),
                _ => config,
            };
        }
        // str0m sends transport-wide feedback, never REMB: an SDP that named
        // goog-remb would promise feedback that never comes.
        for params in config.codec_config().iter_mut() {
            params.set_fb_remb(false);
        }
        // With statistics, str0m also shows us the RTCP it sends: incoming
        // packets-lost is what our receiver reports say (stats.rs), a count
        // str0m keeps to itself otherwise.
        let mut config = config
            .set_rtcp_report_interval_audio(Duration::from_secs(1))
            .set_stats_interval(self.stats_interval)
            .enable_raw_packets(self.stats_interval.is_some());
        config.set_max_stun_rto(STUN_INTERVAL);
        let mut rtc = config.build(now);
        let mut candidates = Vec::new();
        // Relay-only: no host candidates (the sockets still talk to servers).
        let hosts = match self.net_config.policy {
            IceTransportPolicy::All => self.local_addrs.clone(),
            IceTransportPolicy::Relay => Vec::new(),
        };
        for addr in hosts {
            match Candidate::host(addr, "udp") {
                Ok(c) => {
                    if let Some(c) = rtc.add_local_candidate(c) {
                        candidates.push(c.to_sdp_string());
                    }
                }
                Err(e) => self.event(EngineEvent::CommandFailed(EngineError::Other(format!(
                    "host candidate {addr}: {e}"
                )))),
            }
        }
        self.now = self.now.max(now);
        let (net, net_id) = self.new_network();
        let mut conn = Box::new(Connection::new(rtc, net, net_id));
        // Adding candidates is a mutation: drain before the next one.
        if let Err(reason) = conn.drain(self.now, &mut self.queue) {
            self.event(EngineEvent::Failed { reason });
            return None;
        }
        Some((conn, candidates))
    }

    /// `CreateOffer`: a fresh connection offering `tracks`; the engine
    /// becomes [`State::Offering`] (or stays idle if str0m makes no offer).
    pub(super) fn create_offer(
        &mut self,
        now: Instant,
        tracks: &[TrackSpec],
        direction: Direction,
        servers: Vec<IceServerSpec>,
    ) {
        let Some((mut conn, candidates)) = self.fresh_connection(now, tracks, &[]) else {
            return;
        };
        let mut api = conn.rtc.sdp_api();
        let dir = rtc_direction(direction);
        let mut medias = Vec::new();
        for t in tracks {
            let mid = api.add_media(
                rtc_kind(t.kind),
                dir,
                Some(t.stream_id.clone()),
                Some(t.track_id.clone()),
                None,
            );
            medias.push(
                MediaEntry::new(mid, t.kind, dir.is_sending().then_some(t.index), false)
                    .sending(t.codec),
            );
        }
        if tracks.is_empty() {
            // One m-line so the peer can send to us.
            let mid = api.add_media(RtcKind::Video, dir, None, None, None);
            medias.push(MediaEntry::new(mid, MediaKind::Video, None, false));
        }
        let Some((offer, pending)) = api.apply() else {
            self.event(EngineEvent::CommandFailed(EngineError::CreateOffer(
                "str0m made no offer".into(),
            )));
            return;
        };
        conn.medias = medias;
        self.state = State::Offering { conn, pending };
        self.start_network(now, servers);
        let sdp = offer.to_sdp_string();
        self.drain();
        self.event(EngineEvent::LocalOffer { sdp: sdp.clone() });
        self.local_candidates(&sdp, candidates);
    }

    /// `ApplyOffer`: a fresh connection answering `sdp` with `tracks`; the
    /// engine becomes [`State::Negotiated`] (or stays idle if the offer is bad).
    pub(super) fn apply_offer(
        &mut self,
        now: Instant,
        sdp: &str,
        tracks: &[TrackSpec],
        servers: Vec<IceServerSpec>,
    ) {
        let offered = offered_video_codecs(sdp);
        let Some((mut conn, candidates)) = self.fresh_connection(now, tracks, &offered) else {
            return;
        };
        let accepted = SdpOffer::from_sdp_string(sdp)
            .map_err(|e| e.to_string())
            .and_then(|offer| {
                conn.rtc
                    .sdp_api()
                    .accept_offer(offer)
                    .map_err(|e| e.to_string())
            });
        let answer = match accepted {
            Ok(a) => a,
            Err(e) => {
                self.event(EngineEvent::CommandFailed(EngineError::ApplyOffer(e)));
                return;
            }
        };
        conn.path.learn_sdp(sdp);
        self.state = State::Negotiated { conn };
        self.start_network(now, servers);
        self.mdns_candidates_in(sdp);
        // The offer's candidates formed pairs: check them now, not a pacing
        // interval later.
        self.check_new_pairs();
        let Some(conn) = self.state.conn_mut() else {
            return;
        };
        let mut answer = answer.to_sdp_string();
        // Attach our tracks, in order, to offered m-lines of their kind that let
        // us send; m-lines we have nothing for stop sending.
        let mut free: Vec<&TrackSpec> = tracks.iter().collect();
        let mut medias = Vec::new();
        for section in sdp_text::sections(sdp) {
            let kind = match section.media.as_str() {
                "audio" => MediaKind::Audio,
                "video" => MediaKind::Video,
                _ => continue,
            };
            let Some(mid_text) = section.mid else {
                continue;
            };
            let mid = Mid::from(mid_text.as_str());
            // str0m's spelling of the mid, as written in its answer.
            let mid_text = mid.to_string();
            let Some(media) = conn.rtc.media(mid) else {
                continue;
            };
            let mut track = None;
            let mut codec = None;
            let receiving = media.direction().is_receiving();
            if media.direction().is_sending() {
                match free.iter().position(|t| t.kind == kind) {
                    Some(pos) => {
                        let t = free.remove(pos);
                        answer = sdp_text::set_msid(&answer, &mid_text, &t.stream_id, &t.track_id);
                        track = Some(t.index);
                        codec = Some(t.codec);
                    }
                    None => answer = sdp_text::stop_sending(&answer, &mid_text),
                }
            }
            let entry = MediaEntry::new(mid, kind, track, receiving);
            medias.push(match codec {
                Some(c) => entry.sending(c),
                None => entry,
            });
        }
        // The offer tells what the peer sends; str0m's MediaAdded only comes
        // once connected.
        let remote_tracks: Vec<EngineEvent> = medias
            .iter()
            .filter(|m| m.reported)
            .map(|m| EngineEvent::RemoteTrack {
                mid: m.mid.to_string(),
                kind: m.kind,
            })
            .collect();
        conn.medias = medias;
        self.event(EngineEvent::LocalAnswer {
            sdp: answer.clone(),
        });
        self.local_candidates(&answer, candidates);
        for t in remote_tracks {
            self.event(t);
        }
        self.drain();
    }

    /// `ApplyAnswer`: only while [`State::Offering`]; the offer is spent
    /// either way and the engine becomes [`State::Negotiated`].
    pub(super) fn apply_answer(&mut self, sdp: &str) {
        let (mut conn, pending) = match std::mem::replace(&mut self.state, State::Idle) {
            State::Offering { conn, pending } => (conn, pending),
            other => {
                self.state = other;
                self.event(EngineEvent::CommandFailed(EngineError::ApplyAnswer(
                    "no offer is pending".into(),
                )));
                return;
            }
        };
        let accepted = SdpAnswer::from_sdp_string(sdp)
            .map_err(|e| e.to_string())
            .and_then(|answer| {
                conn.rtc
                    .sdp_api()
                    .accept_answer(pending, answer)
                    .map_err(|e| e.to_string())
            });
        conn.path.learn_sdp(sdp);
        self.state = State::Negotiated { conn };
        if let Err(e) = accepted {
            self.event(EngineEvent::CommandFailed(EngineError::ApplyAnswer(e)));
            return;
        }
        self.mdns_candidates_in(sdp);
        // The answer's candidates formed pairs: check them now.
        self.check_new_pairs();
        let Some(conn) = self.state.conn_mut() else {
            return;
        };
        // str0m reports no MediaAdded for m-lines we created: the answer tells
        // whether the peer sends on them.
        let mut tracks = Vec::new();
        for m in &mut conn.medias {
            let direction = conn.rtc.media(m.mid).map(|x| x.direction());
            // A track the answer does not let us send is not sent.
            if !direction.is_some_and(|d| d.is_sending()) {
                m.track = None;
            }
            if !m.reported && direction.is_some_and(|d| d.is_receiving()) {
                m.reported = true;
                tracks.push(EngineEvent::RemoteTrack {
                    mid: m.mid.to_string(),
                    kind: m.kind,
                });
            }
        }
        self.drain();
        for t in tracks {
            self.event(t);
        }
    }

    /// Gives the new connection's network its servers (their outputs are
    /// drained with the connection's).
    fn start_network(&mut self, now: Instant, servers: Vec<IceServerSpec>) {
        if let Some(conn) = self.state.conn_mut() {
            if !servers.is_empty() {
                conn.net.set_ice_servers(now, servers);
            }
        }
    }

    pub(super) fn add_remote_candidate(&mut self, candidate: &str) {
        let text = candidate.trim();
        let text = text.strip_prefix("a=").unwrap_or(text);
        // A browser hiding its host address behind an mDNS name: never an
        // error (see `mdns.rs`).
        if let Some(name) = mdns::mdns_name(text) {
            self.mdns_candidate(name, text);
            return;
        }
        let Some(conn) = self.state.conn_mut() else {
            self.event(EngineEvent::CommandFailed(EngineError::Other(
                "remote candidate without a peer connection".into(),
            )));
            return;
        };
        match Candidate::from_sdp_string(text) {
            Ok(c) => {
                if let Some(p) = conn.path.learn(&c) {
                    self.queue.push_back(super::EngineOutput::Path(p));
                }
                conn.rtc.add_remote_candidate(c);
                self.check_new_pairs();
            }
            Err(e) => self.event(EngineEvent::CommandFailed(EngineError::Other(format!(
                "remote candidate: {e}"
            )))),
        }
    }

    /// A remote candidate whose address is the mDNS name `name`: set aside
    /// quietly unless names are resolved; else asked for (once per name), or
    /// added at once if the name is known.
    fn mdns_candidate(&mut self, name: &str, text: &str) {
        if !self.resolve_mdns {
            return;
        }
        let now = self.now;
        let Some(conn) = self.state.conn_mut() else {
            return;
        };
        match conn.mdns.candidate(now, name, text) {
            Step::Ask => {
                // The port is the candidate's (for the lookup; answers go by name).
                let port = text
                    .split_whitespace()
                    .nth(5)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                self.queue.push_back(EngineOutput::Resolve {
                    host: name.to_owned(),
                    port,
                    mdns: true,
                });
            }
            Step::Add(candidates) => self.add_resolved(candidates),
            Step::Wait => {}
        }
    }

    /// The mDNS candidates among a description's `a=candidate` lines (str0m
    /// skips them: its candidates need an IP address).
    fn mdns_candidates_in(&mut self, sdp: &str) {
        for line in sdp.lines() {
            let Some(text) = line.trim().strip_prefix("a=") else {
                continue;
            };
            if let Some(name) = mdns::mdns_name(text) {
                self.mdns_candidate(name, text);
            }
        }
    }

    /// The answer to a [`EngineOutput::Resolve`] for a remote candidate's mDNS
    /// name: the candidates waiting for it are added (none if it failed);
    /// anything else is not ours.
    pub(super) fn mdns_resolved(
        &mut self,
        now: Instant,
        host: &str,
        result: &Result<Vec<IpAddr>, String>,
    ) {
        let Some(conn) = self.state.conn_mut() else {
            return;
        };
        if let Some(candidates) = conn.mdns.answer(now, host, result) {
            self.add_resolved(candidates);
        }
    }

    /// Adds remote candidates whose mDNS name was replaced by its address,
    /// then checks their pairs. One that str0m refuses is set aside quietly,
    /// like its name.
    fn add_resolved(&mut self, candidates: Vec<String>) {
        let Some(conn) = self.state.conn_mut() else {
            return;
        };
        let mut added = false;
        for text in candidates {
            if let Ok(c) = Candidate::from_sdp_string(&text) {
                // Media may already flow to it, learned from the peer's checks.
                if let Some(p) = conn.path.learn(&c) {
                    self.queue.push_back(EngineOutput::Path(p));
                }
                conn.rtc.add_remote_candidate(c);
                added = true;
            }
        }
        if added {
            self.check_new_pairs();
        }
    }

    /// Lets str0m's ICE agent send the first checks of pairs just formed by
    /// remote candidates (from a description or trickled), then drains.
    ///
    /// The agent sends checks only when it is handed the time, and the
    /// timeout it asks for is never less than one pacing interval (Ta, 50 ms)
    /// after its previous tick: without this, a pair formed just after a tick
    /// waits up to 50 ms for its first check. A tick handles at most one STUN
    /// request that arrived before the peer's credentials (and does nothing
    /// else), so a second tick sends our own check in that case.
    pub(super) fn check_new_pairs(&mut self) {
        let now = self.now;
        for _ in 0..2 {
            let Some(conn) = self.state.conn_mut() else {
                return;
            };
            if let Err(e) = conn.rtc.handle_input(Input::Timeout(now)) {
                self.report_rtc_error(format!("timeout: {e}"));
            }
            self.drain();
        }
    }

    /// `Close`: closes the connection, letting str0m send its goodbyes (RTCP
    /// BYE, DTLS close_notify) first; the engine becomes [`State::Idle`].
    pub(super) fn close(&mut self) {
        if let Some(conn) = self.state.conn_mut() {
            // The core asked for this: no Disconnected and no PeerClosed for it.
            conn.link.dtls = Dtls::Closed;
            conn.link.ice_up = false;
            conn.link.reported_up = false;
            if conn.rtc.close().is_ok() {
                // str0m queues the goodbyes; they leave only through poll_output,
                // so drain before the `Rtc` is dropped.
                self.drain();
            }
        }
        self.close_quietly();
    }

    /// Forgets the connection and its state: the engine becomes
    /// [`State::Idle`]; its network goes on deleting its allocations.
    pub(super) fn close_quietly(&mut self) {
        if let State::Offering { mut conn, .. } | State::Negotiated { mut conn } =
            std::mem::replace(&mut self.state, State::Idle)
        {
            conn.rtc.disconnect();
            let Connection { net, net_id, .. } = *conn;
            self.retire(net, net_id);
        }
    }
}

/// The video codecs of `sdp` we carry, in the order its video m-lines list
/// their payload types (each once): the offerer's preference.
fn offered_video_codecs(sdp: &str) -> Vec<Codec> {
    let mut order: Vec<Codec> = Vec::new();
    let mut in_video = false;
    let mut pts: Vec<&str> = Vec::new();
    let mut names: Vec<(&str, Codec)> = Vec::new();
    let mut flush = |pts: &mut Vec<&str>, names: &mut Vec<(&str, Codec)>| {
        for pt in pts.drain(..) {
            let codec = names.iter().find(|(p, _)| *p == pt).map(|(_, c)| *c);
            if let Some(c) = codec.filter(|c| c.kind() == MediaKind::Video) {
                if !order.contains(&c) {
                    order.push(c);
                }
            }
        }
        names.clear();
    };
    for line in sdp.lines() {
        let line = line.trim_end();
        if let Some(m) = line.strip_prefix("m=") {
            flush(&mut pts, &mut names);
            let mut fields = m.split_whitespace();
            in_video = fields.next() == Some("video");
            // m=video <port> <proto> <fmt>...
            pts = if in_video {
                fields.skip(2).collect()
            } else {
                Vec::new()
            };
        } else if let Some(map) = line.strip_prefix("a=rtpmap:").filter(|_| in_video) {
            // a=rtpmap:<pt> <name>/<clock>[/<channels>]
            if let Some((pt, rest)) = map.split_once(' ') {
                let name = rest.split('/').next().unwrap_or("");
                if let Some(c) = Codec::from_name(name.trim()) {
                    names.push((pt.trim(), c));
                }
            }
        }
    }
    flush(&mut pts, &mut names);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offered_video_codecs_in_the_offers_order() {
        let sdp = "v=0\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111 63\r\na=rtpmap:111 opus/48000/2\r\n\
            a=rtpmap:63 red/48000/2\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 98 99 100 96 97 45 102 35\r\n\
            a=rtpmap:96 VP8/90000\r\na=rtpmap:97 rtx/90000\r\na=rtpmap:98 VP9/90000\r\n\
            a=rtpmap:99 rtx/90000\r\na=rtpmap:100 VP9/90000\r\na=rtpmap:45 AV1/90000\r\n\
            a=rtpmap:102 h264/90000\r\na=rtpmap:35 H265/90000\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 111 112\r\na=rtpmap:111 H264/90000\r\n\
            a=rtpmap:112 VP8/90000\r\n";
        assert_eq!(
            offered_video_codecs(sdp),
            vec![Codec::Vp9, Codec::Vp8, Codec::Av1, Codec::H264]
        );
        // The first video m-line decides; a later one adds only what is new.
        let sdp = "m=video 9 RTP/SAVPF 102 96\na=rtpmap:96 VP8/90000\na=rtpmap:102 H264/90000\n";
        assert_eq!(offered_video_codecs(sdp), vec![Codec::H264, Codec::Vp8]);
        assert!(
            offered_video_codecs("m=audio 9 RTP/SAVPF 111\na=rtpmap:111 opus/48000/2").is_empty()
        );
        assert!(offered_video_codecs("garbage\nm=\nm=video\na=rtpmap:\na=rtpmap:x").is_empty());
    }
}
