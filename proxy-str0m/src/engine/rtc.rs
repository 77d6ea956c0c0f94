//! The `Rtc`'s outputs: drained after every mutation into the engine's queue,
//! with str0m events turned into engine events, frames and keyframe requests.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proxy_core::{EngineError, EngineEvent, MediaKind};
use str0m::media::MediaData;
use str0m::rtp::RawPacket;
use str0m::{Event as RtcEvent, IceConnectionState, Output as RtcOutput};

use super::{kind_of, Connection, Dtls, Engine, EngineOutput, MediaEntry};
use crate::types::{Frame, Transmit};

impl Engine {
    // ---- helpers -------------------------------------------------------

    pub(super) fn event(&mut self, e: EngineEvent) {
        self.queue.push_back(EngineOutput::Event(e));
    }

    /// Reports our host candidates, unless the description already carries them.
    pub(super) fn local_candidates(&mut self, sdp: &str, candidates: Vec<String>) {
        let missing: Vec<String> = candidates
            .into_iter()
            .filter(|c| {
                !sdp.lines()
                    .any(|l| l.strip_prefix("a=") == Some(c.as_str()))
            })
            .collect();
        if !missing.is_empty() {
            self.event(EngineEvent::LocalCandidates {
                candidates: missing,
            });
        }
    }

    pub(super) fn report_rtc_error(&mut self, what: String) {
        let dead = self.state.conn().is_some_and(|c| !c.rtc.is_alive());
        if dead {
            self.close_quietly();
            self.event(EngineEvent::Failed { reason: what });
        } else {
            self.event(EngineEvent::CommandFailed(EngineError::Other(what)));
        }
    }

    /// Drains the connection's `Rtc` until it returns a timeout, and its
    /// network (whose candidates and relayed data change the `Rtc` again),
    /// then the retiring networks; a broken `Rtc` ends the connection with
    /// [`EngineEvent::Failed`].
    pub(super) fn drain(&mut self) {
        while let Some(conn) = self.state.conn_mut() {
            if let Err(reason) = conn.drain(self.now, &mut self.queue) {
                self.close_quietly();
                self.event(EngineEvent::Failed { reason });
                break;
            }
            if !self.drain_network() {
                break;
            }
        }
        self.drain_retiring();
    }
}

impl Connection {
    /// Drains the `Rtc` into `queue` until it returns a timeout; `Err` with
    /// the reason if str0m fails.
    pub(super) fn drain(
        &mut self,
        now: Instant,
        queue: &mut VecDeque<EngineOutput>,
    ) -> Result<(), String> {
        loop {
            let out = self.rtc.poll_output().map_err(|e| format!("str0m: {e}"))?;
            match out {
                RtcOutput::Timeout(t) => {
                    self.timeout = self.rtc.is_alive().then_some(t);
                    return Ok(());
                }
                RtcOutput::Transmit(t) => {
                    let contents: Vec<u8> = t.contents.into();
                    let t = Transmit {
                        source: t.source,
                        destination: t.destination,
                        contents: Bytes::from(contents),
                    };
                    let first = t.contents.first().copied();
                    if let Some(p) =
                        self.path
                            .on_transmit(t.source, t.destination, first, &self.net)
                    {
                        queue.push_back(EngineOutput::Path(p));
                    }
                    // From a relayed address it goes through that allocation.
                    if let Some(t) = self.net.route(now, t) {
                        queue.push_back(EngineOutput::Transmit(t));
                    }
                }
                RtcOutput::Event(e) => self.on_rtc_event(e, now, queue),
            }
        }
    }

    /// Tells the core when media starts or stops being able to flow.
    pub(super) fn update_up(&mut self, queue: &mut VecDeque<EngineOutput>) {
        let up = self.link.is_up();
        if up != self.link.reported_up {
            self.link.reported_up = up;
            queue.push_back(EngineOutput::Event(if up {
                EngineEvent::Connected
            } else {
                EngineEvent::Disconnected
            }));
        }
    }

    fn on_rtc_event(&mut self, e: RtcEvent, now: Instant, queue: &mut VecDeque<EngineOutput>) {
        match e {
            RtcEvent::Connected => {
                // Closed is final: DTLS does not come back after close_notify.
                if self.link.dtls != Dtls::Closed {
                    self.link.dtls = Dtls::Up;
                }
                self.link.ice_up = true;
                self.link.last_receive.get_or_insert(now);
                self.update_up(queue);
            }
            RtcEvent::IceConnectionStateChange(s) => {
                match s {
                    IceConnectionState::Connected | IceConnectionState::Completed => {
                        self.link.ice_up = true
                    }
                    IceConnectionState::Disconnected => self.link.ice_up = false,
                    _ => {}
                }
                self.update_up(queue);
            }
            RtcEvent::MediaAdded(m) => {
                let kind = kind_of(m.kind);
                let receiving = m.direction.is_receiving();
                let index = match self.medias.iter().position(|x| x.mid == m.mid) {
                    Some(i) => i,
                    None => {
                        self.medias.push(MediaEntry::new(m.mid, kind, None, false));
                        self.medias.len() - 1
                    }
                };
                if let Some(entry) = self.medias.get_mut(index) {
                    if receiving && !entry.reported {
                        entry.reported = true;
                        queue.push_back(EngineOutput::Event(EngineEvent::RemoteTrack {
                            mid: m.mid.to_string(),
                            kind,
                        }));
                    }
                }
            }
            RtcEvent::MediaData(d) => self.on_media_data(d, now, queue),
            RtcEvent::PeerStats(s) => self.stats.on_peer(&s),
            RtcEvent::RawPacket(p) => {
                if let RawPacket::RtcpTx(rtcp) = *p {
                    self.stats.on_rtcp_sent(&rtcp);
                }
            }
            RtcEvent::MediaIngressStats(s) => {
                let kind = self.kind_of_mid(s.mid);
                let ssrc = self
                    .rtc
                    .direct_api()
                    .stream_rx_by_mid(s.mid, s.rid)
                    .map(|rx| rx.ssrc());
                let s = self.stats.on_ingress(kind, ssrc, &s);
                queue.push_back(EngineOutput::Stats(s));
            }
            RtcEvent::MediaEgressStats(s) => {
                let kind = self.kind_of_mid(s.mid);
                let s = self.stats.on_egress(kind, &s);
                queue.push_back(EngineOutput::Stats(s));
            }
            RtcEvent::KeyframeRequest(k) => {
                let track = self
                    .medias
                    .iter()
                    .find(|m| m.mid == k.mid)
                    .and_then(|m| m.track);
                if let Some(track) = track {
                    queue.push_back(EngineOutput::KeyframeRequest { track });
                }
            }
            // The peer closed DTLS (its close_notify arrived): media is over,
            // and a browser's pc.close() says nothing else. str0m answers with
            // its own close_notify; the core closes the session and then us.
            // Not while we close ourselves (the core knows; `close` marks DTLS
            // closed first), and once per connection.
            RtcEvent::Closed if self.link.dtls != Dtls::Closed => {
                self.link.dtls = Dtls::Closed;
                // No Disconnected before it: this is the end, not a blip.
                self.link.reported_up = false;
                queue.push_back(EngineOutput::Event(EngineEvent::PeerClosed));
            }
            _ => {}
        }
    }

    /// The kind of the m-line `mid` (as str0m has it if we do not know it).
    fn kind_of_mid(&self, mid: str0m::media::Mid) -> MediaKind {
        match self.medias.iter().find(|m| m.mid == mid) {
            Some(m) => m.kind,
            None => self
                .rtc
                .media(mid)
                .map_or(MediaKind::Video, |m| kind_of(m.kind())),
        }
    }

    fn on_media_data(&mut self, d: MediaData, now: Instant, queue: &mut VecDeque<EngineOutput>) {
        self.stats.on_frame_in(d.mid);
        let kind = self
            .medias
            .iter()
            .find(|m| m.mid == d.mid)
            .map(|m| m.kind)
            .unwrap_or(if d.params.spec().codec.is_audio() {
                MediaKind::Audio
            } else {
                MediaKind::Video
            });
        use str0m::format::CodecExtra;
        let keyframe = match &d.codec_extra {
            CodecExtra::Vp8(v) => Some(v.is_keyframe),
            CodecExtra::Vp9(v) => Some(v.is_keyframe),
            CodecExtra::H264(v) => Some(v.is_keyframe),
            CodecExtra::Av1(v) => Some(v.is_keyframe),
            _ => None,
        };
        let Some(codec) = super::codec_of(d.params.spec().codec) else {
            // Only the codecs we enable are negotiated; anything else is
            // not ours to deliver.
            return;
        };
        let sender_time = d.last_sender_info.and_then(|sr| {
            // RTP times are 32 bits on the wire: their difference, wrapped,
            // is the frame's distance from the report (either side of it).
            let clock = d.time.frequency().get();
            let ticks = (d.time.numer() as u32).wrapping_sub(sr.rtp_time.numer() as u32) as i32;
            let offset =
                Duration::from_secs_f64(f64::from(ticks.unsigned_abs()) / f64::from(clock));
            if ticks >= 0 {
                sr.ntp_time.checked_add(offset)
            } else {
                sr.ntp_time.checked_sub(offset)
            }
        });
        if let Some(entry) = self.medias.iter_mut().find(|m| m.mid == d.mid) {
            if keyframe == Some(true) {
                entry.seen_keyframe = true;
            } else if keyframe == Some(false)
                && !entry.seen_keyframe
                && entry
                    .keyframe_asked
                    .is_none_or(|t| now >= t + super::KEYFRAME_RETRY)
            {
                entry.keyframe_asked = Some(now);
                self.keyframe_wanted.push(d.mid);
            }
        }
        queue.push_back(EngineOutput::Frame(Frame {
            mid: d.mid.to_string(),
            kind,
            codec,
            pts: Duration::from(d.time),
            sender_time,
            received: d.network_time,
            keyframe,
            // Shares str0m's buffer: no copy per frame.
            data: Bytes::from_owner(d.data),
        }));
    }
}
