//! Remote tracks the engine reports become one `RemoteTrack` event each, named
//! as lib-jitsi-meet names them.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::{Config, EngineEvent, MediaKind, VideoType};

#[test]
fn responder_reports_remote_video_as_proxy_desktop_track() {
    let t0 = Instant::now();
    let cfg = Config {
        convert_video_to_desktop: true,
        ..config(3)
    };
    let (mut s, _) = responder_negotiated(t0, cfg, false);
    let d = receive(&mut s, t0, SENDER, vector(TRANSPORT_INFO));
    assert_eq!(d.commands.len(), 2, "two candidates: {d:?}");
    s.handle_engine_event(t0, EngineEvent::Connected);
    remote_track(&mut s, t0, "0", MediaKind::Video);
    remote_track(&mut s, t0, "0", MediaKind::Video);
    let d = drain(&mut s);
    let tracks = remote_tracks(&d);
    assert_eq!(tracks.len(), 1, "one event per track");
    let t = tracks[0];
    assert_eq!(t.device_id, format!("proxy:{SENDER}"));
    assert_eq!(t.source_type, "proxy");
    assert_eq!(t.video_type, Some(VideoType::Desktop));
    assert_eq!(t.source_name.as_deref(), Some("peer-v0"));
    assert!(t.msid.as_deref().unwrap().contains("c087b08b"));
}

#[test]
fn responder_reports_audio_and_camera_video() {
    let t0 = Instant::now();
    let (mut s, _) = responder_negotiated(t0, config(4), true);
    remote_track(&mut s, t0, "0", MediaKind::Audio);
    remote_track(&mut s, t0, "1", MediaKind::Video);
    let d = drain(&mut s);
    let tracks = remote_tracks(&d);
    assert_eq!(tracks.len(), 2);
    assert_eq!(tracks[0].kind, MediaKind::Audio);
    assert_eq!(tracks[0].video_type, None);
    assert_eq!(tracks[0].source_name.as_deref(), Some("peer-a0"));
    assert_eq!(tracks[1].kind, MediaKind::Video);
    assert_eq!(tracks[1].video_type, Some(VideoType::Camera));
}
