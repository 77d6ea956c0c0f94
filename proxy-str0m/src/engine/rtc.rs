//! The `Rtc`'s outputs: drained after every mutation into the engine's queue,
//! with str0m events turned into engine events, frames and keyframe requests.

use std::time::Duration;

use bytes::Bytes;
use proxy_core::{EngineError, EngineEvent, MediaKind};
use str0m::media::MediaData;
use str0m::{Event as RtcEvent, IceConnectionState, Output as RtcOutput};

use super::{kind_of, Engine, EngineOutput, MediaEntry};
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
        let dead = self.rtc.as_ref().is_some_and(|r| !r.is_alive());
        if dead {
            self.close_quietly();
            self.event(EngineEvent::Failed { reason: what });
        } else {
            self.event(EngineEvent::CommandFailed(EngineError::Other(what)));
        }
    }

    /// Tells the core when media starts or stops being able to flow.
    pub(super) fn update_up(&mut self) {
        let up = self.dtls_connected && self.ice_up && !self.silent;
        if up != self.reported_up {
            self.reported_up = up;
            self.event(if up {
                EngineEvent::Connected
            } else {
                EngineEvent::Disconnected
            });
        }
    }

    /// Drains the `Rtc` until it returns a timeout.
    pub(super) fn drain(&mut self) {
        loop {
            let Some(rtc) = self.rtc.as_mut() else { return };
            let out = match rtc.poll_output() {
                Ok(o) => o,
                Err(e) => {
                    let reason = format!("str0m: {e}");
                    self.close_quietly();
                    self.event(EngineEvent::Failed { reason });
                    return;
                }
            };
            match out {
                RtcOutput::Timeout(t) => {
                    self.rtc_timeout = rtc.is_alive().then_some(t);
                    return;
                }
                RtcOutput::Transmit(t) => {
                    let contents: Vec<u8> = t.contents.into();
                    self.queue.push_back(EngineOutput::Transmit(Transmit {
                        source: t.source,
                        destination: t.destination,
                        contents: Bytes::from(contents),
                    }));
                }
                RtcOutput::Event(e) => self.on_rtc_event(e),
            }
        }
    }

    pub(super) fn on_rtc_event(&mut self, e: RtcEvent) {
        match e {
            RtcEvent::Connected => {
                self.dtls_connected = true;
                self.ice_up = true;
                if self.last_receive.is_none() {
                    self.last_receive = Some(self.now);
                }
                self.update_up();
            }
            RtcEvent::IceConnectionStateChange(s) => {
                match s {
                    IceConnectionState::Connected | IceConnectionState::Completed => {
                        self.ice_up = true
                    }
                    IceConnectionState::Disconnected => self.ice_up = false,
                    _ => {}
                }
                self.update_up();
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
                        self.event(EngineEvent::RemoteTrack {
                            mid: m.mid.to_string(),
                            kind,
                        });
                    }
                }
            }
            RtcEvent::MediaData(d) => self.on_media_data(d),
            RtcEvent::KeyframeRequest(k) => {
                let track = self
                    .medias
                    .iter()
                    .find(|m| m.mid == k.mid)
                    .and_then(|m| m.track);
                if let Some(track) = track {
                    self.queue
                        .push_back(EngineOutput::KeyframeRequest { track });
                }
            }
            RtcEvent::Closed => {
                // The peer closed DTLS (its close_notify arrived): media is
                // over, and a browser's pc.close() says nothing else. str0m
                // answers with its own close_notify; the core closes the
                // session and then us. Not while we close ourselves (the core
                // knows), and once per connection.
                self.dtls_connected = false;
                if !self.closing && !self.peer_closed {
                    self.peer_closed = true;
                    // No Disconnected before it: this is the end, not a blip.
                    self.reported_up = false;
                    self.event(EngineEvent::PeerClosed);
                }
            }
            _ => {}
        }
    }

    pub(super) fn on_media_data(&mut self, d: MediaData) {
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
        let keyframe = match &d.codec_extra {
            str0m::format::CodecExtra::Vp8(v) => Some(v.is_keyframe),
            _ => None,
        };
        let now = self.now;
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
        self.queue.push_back(EngineOutput::Frame(Frame {
            mid: d.mid.to_string(),
            kind,
            pts: Duration::from(d.time),
            keyframe,
            // Shares str0m's buffer: no copy per frame.
            data: Bytes::from_owner(d.data),
        }));
    }
}
