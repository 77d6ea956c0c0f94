//! The scenarios every real browser runs against the `proxy-connection` program
//! (browser -> `receive`, `send` -> browser, audio+video, close without signaling),
//! written once: `browser.rs` runs them with Chromium, `browser_firefox.rs` with
//! Firefox, each adding what only its browser shows. Each returns the finished
//! [`Session`] for those checks.

#![allow(dead_code)] // each browser's test file uses its own constructor

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proxy_core::jingle::{Action, Jingle};
use proxy_core::{parse_iq, Limits};
use serde_json::json;

pub use crate::common::rtp;
use crate::common::{
    browser_to_receive, ci, ffprobe, ffprobe_available, ffprobe_timing, recorded_span, repo_root,
    send_clip, tmp_file, ClipSent, Options, Session, RUST_JID,
};

/// Which browser a scenario runs with.
pub struct Browser {
    /// How the harness starts it.
    pub options: Options,
    /// Its name in MEASURE lines and file names.
    pub name: &'static str,
}

impl Browser {
    /// Headless Chromium.
    pub fn chromium() -> Browser {
        Browser {
            options: Options::default(),
            name: "chromium",
        }
    }

    /// Headless Firefox (ESR, WebDriver BiDi).
    pub fn firefox() -> Browser {
        Browser {
            options: Options {
                firefox: true,
                ..Options::default()
            },
            name: "firefox",
        }
    }
}

pub fn jingle_of(iq: &str) -> Jingle {
    parse_iq(iq, &Limits::default())
        .expect("parse iq")
        .jingle
        .expect("a jingle iq")
}

/// The browser shares a 640x360 canvas to `receive` for 4 s, then stops with
/// session-terminate: the track is announced as lib-jitsi-meet's desktop source,
/// the pair is on 127.0.0.1, `receive` exits, and the IVF holds what was sent
/// (ffprobe: 640x360, >= 60 frames, from 0, its duration the recorded span).
pub fn screen_share_to_receive(b: &Browser) -> Session {
    let out = tmp_file(&format!("{}-video.ivf", b.name));
    let t_start = Instant::now();
    let (mut s, connected) = browser_to_receive(&b.options, json!({"video": true}), &out);
    let connected = connected.expect("Rust side did not connect");
    eprintln!("MEASURE {}->rust connect time: {connected:?}", b.name);
    let (_, track) = s
        .wait_rust_log("remote track", Duration::from_secs(10))
        .expect("no remote track");
    assert!(track.contains("video desktop"), "{track}");
    assert!(track.contains("source peer-v0"), "{track}");
    s.pump_for(Duration::from_secs(4));
    let stats = s.stats();
    eprintln!("page stats: {stats}");
    assert_eq!(
        rtp(&stats, "outbound", "video")["codec"],
        "video/VP8",
        "{stats}"
    );
    // The Rust side is on 127.0.0.1 only; the browser may pick a socket of another
    // local interface to reach it (the packets still go over the loopback interface).
    assert_eq!(stats["remote"]["address"], "127.0.0.1", "{stats}");
    eprintln!(
        "MEASURE {} selected pair: local {} remote {}",
        b.name, stats["local"], stats["remote"]
    );

    // The browser stops; the bridge sends session-terminate like a lib-jitsi-meet that
    // signals its stop.
    s.send_page(json!({"type": "close"}));
    let (took, t_exit) = s.terminate_rust();
    eprintln!("MEASURE terminate -> receive exit: {took:?}");
    // The page's DTLS close_notify and the bridge's session-terminate race; either
    // ends the session.
    assert!(s.log_has("peer terminated (success)") || s.log_has("peer closed its connection"));
    let frames = s.frames_written().expect("no 'wrote N frames' line");
    eprintln!("MEASURE {}->rust frames written: {frames}", b.name);
    assert!(frames >= 60, "only {frames} frames");
    if !ffprobe_available() {
        assert!(!ci(), "ffprobe is required under CI=true");
        eprintln!("ffprobe missing: IVF not checked");
        return s;
    }
    let (w, h, n) = ffprobe(&out);
    eprintln!("MEASURE ffprobe: {w}x{h}, {n} frames");
    assert_eq!((w, h), (640, 360));
    assert!(n >= 60, "ffprobe read {n} frames");
    // The duration ffprobe reads is the recorded span plus one frame (±1 frame), from
    // start 0, and matches the time the browser was sending.
    let (duration, start) = ffprobe_timing(&out);
    let (span, fps) = recorded_span(&out);
    eprintln!("MEASURE ffprobe duration {duration} s start {start}; span {span} s at {fps} fps");
    assert_eq!(start, 0.0);
    let expected = frames as f64 / fps;
    assert!(
        (duration - expected).abs() <= 1.0 / fps,
        "duration {duration} s, {frames} frames at {fps} fps = {expected} s"
    );
    let wall = t_exit.duration_since(t_start).as_secs_f64();
    assert!(
        duration >= 3.5 && duration <= wall,
        "duration {duration} s: shared for 4 s, {wall} s in all"
    );
    s
}

/// `send assets/clip.ivf` (VP8, 320x180) to the browser until its last frame, then
/// session-terminate: the browser decodes >= 60 frames at 320x180, its peer
/// connection is closed by the terminate, `send` exits 0, and the session-accept made
/// from the browser's answer answers the offer's contents and names the initiator.
pub fn send_to_browser(b: &Browser) -> Session {
    let ClipSent {
        session: s,
        connect,
        best,
        closed_at,
    } = send_clip(&b.options, repo_root().join("assets/clip.ivf"));
    eprintln!(
        "MEASURE rust->{} connect time (page answer -> send connected): {connect:?}",
        b.name
    );
    assert!(
        s.page_log
            .iter()
            .any(|(_, v)| v["ev"] == "closed" && v["by"] == "remote"),
        "page closed, but not by the remote session-terminate"
    );
    eprintln!("page stats before the end: {best}");
    let video = rtp(&best, "inbound", "video");
    let decoded = video["framesDecoded"].as_u64().unwrap_or(0);
    eprintln!(
        "MEASURE rust->{} framesDecoded {decoded}, frame {}x{}, videoWidth {}",
        b.name, video["frameWidth"], video["frameHeight"], best["videoWidth"]
    );
    let terminated = s
        .terminate_from_rust
        .expect("a session-terminate from send");
    eprintln!(
        "MEASURE rust session-terminate -> page pc closed: {:?}",
        closed_at.saturating_duration_since(terminated)
    );
    assert_eq!(video["codec"], "video/VP8", "{best}");
    // assets/clip.ivf is 320x180.
    assert_eq!(best["videoWidth"], 320, "{best}");
    assert_eq!(best["videoHeight"], 180, "{best}");
    assert!(decoded >= 60, "only {decoded} frames decoded");

    let offer_names: Vec<String> = s
        .from_rust
        .iter()
        .map(|iq| jingle_of(iq))
        .find(|j| j.action == Action::SessionInitiate)
        .expect("a session-initiate from send")
        .contents
        .into_iter()
        .map(|c| c.name)
        .collect();
    let accept = jingle_of(&s.to_rust[0]);
    assert_eq!(accept.action, Action::SessionAccept);
    let names: Vec<String> = accept.contents.iter().map(|c| c.name.to_string()).collect();
    assert_eq!(names, offer_names);
    assert_eq!(accept.initiator.as_deref(), Some(RUST_JID));
    s
}

/// Audio + video from the browser's fake devices (640x480 camera) into `receive`:
/// both remote tracks are announced (the audio one first, mid 0, as in
/// lib-jitsi-meet's vector 11), the browser sends Opus and VP8, the video is recorded
/// (>= 60 frames, 640x480); then the browser stops with session-terminate and
/// `receive` exits.
pub fn audio_and_video_to_receive(b: &Browser, out: &Path) -> Session {
    let media = json!({"gum": true, "audio": true, "video": true});
    let (mut s, connected) = browser_to_receive(&b.options, media, out);
    let connected = connected.expect("Rust side did not connect");
    eprintln!("MEASURE {} audio+video connect time: {connected:?}", b.name);
    s.pump_for(Duration::from_secs(5));
    let tracks: Vec<String> = s
        .rust_log
        .iter()
        .filter(|(_, l)| l.contains("remote track mid"))
        .map(|(_, l)| l.clone())
        .collect();
    assert_eq!(tracks.len(), 2, "{tracks:?}");
    let has = |kind: &str, source: &str| {
        tracks
            .iter()
            .any(|l| l.contains(kind) && l.contains(source))
    };
    assert!(has("(audio", "source peer-a0"), "{tracks:?}");
    assert!(has("(video desktop", "source peer-v0"), "{tracks:?}");
    let stats = s.stats();
    eprintln!("page stats: {stats}");
    assert_eq!(
        rtp(&stats, "outbound", "audio")["codec"],
        "audio/opus",
        "{stats}"
    );
    assert_eq!(
        rtp(&stats, "outbound", "video")["codec"],
        "video/VP8",
        "{stats}"
    );
    s.send_page(json!({"type": "close"}));
    s.terminate_rust();
    // The recorder goes to the video track even though the audio one came first.
    // (Regression: it used to take whichever track came first, leaving the IVF empty.)
    assert!(
        !s.log_has("ignoring track 1"),
        "the video track was not recorded"
    );
    let frames = s.frames_written().unwrap_or(0);
    eprintln!(
        "MEASURE {} audio+video: video frames written {frames}",
        b.name
    );
    assert!(frames >= 60, "only {frames} video frames written");
    if ffprobe_available() {
        let (w, h, n) = ffprobe(out);
        eprintln!(
            "MEASURE {} audio+video ffprobe: {w}x{h}, {n} frames",
            b.name
        );
        // getUserMedia asked for 640x480 of the fake camera.
        assert_eq!((w, h), (640, 480));
        assert!(n >= 60, "ffprobe read {n} frames");
    } else {
        assert!(!ci(), "ffprobe is required under CI=true");
    }
    s
}

/// lib-jitsi-meet's stop(): the browser closes its RTCPeerConnection and signals
/// nothing. Its DTLS close_notify is all the Rust side gets: `receive` notices within
/// 200 ms (not the 5 s connectivity timeout), tells the browser with
/// session-terminate, and exits 0.
pub fn close_without_signaling(b: &Browser) -> Session {
    let out = tmp_file(&format!("{}-silent.ivf", b.name));
    let (mut s, connected) = browser_to_receive(&b.options, json!({"video": true}), &out);
    connected.expect("Rust side did not connect");
    s.pump_for(Duration::from_secs(2));
    let sent_at = Instant::now();
    let sent_wall = SystemTime::now();
    s.send_page(json!({"type": "close"}));
    let (_, closed) = s.wait_page("closed", Duration::from_secs(5));
    let (t_closed, line) = s
        .wait_rust_log("closed:", Duration::from_secs(30))
        .expect("Rust never noticed the browser went away");
    // The page stamps pc.close() with the wall clock (same machine, same clock): place
    // it on our monotonic clock through the moment the command was sent.
    let page_delay = closed["at"]
        .as_f64()
        .map(|at| {
            let sent_ms = sent_wall
                .duration_since(UNIX_EPOCH)
                .expect("clock after 1970")
                .as_secs_f64()
                * 1000.0;
            Duration::from_secs_f64(((at - sent_ms) / 1000.0).max(0.0))
        })
        .expect("the page's closed event has no time");
    let since_command = t_closed.duration_since(sent_at);
    let detect = since_command.saturating_sub(page_delay);
    eprintln!(
        "MEASURE {} pc.close() -> receive logs the close: {detect:?} \
         ({since_command:?} after the test sent the command, which reached pc.close() \
         after {page_delay:?}): {line}",
        b.name
    );
    let (_, status) = s
        .wait_rust_exit(Duration::from_secs(10))
        .expect("receive did not exit");
    assert!(line.contains("peer closed its connection"), "{line}");
    // The peer ended the session: receive exits 0.
    assert_eq!(status.code(), Some(0));
    assert!(
        s.from_rust
            .iter()
            .any(|iq| iq.contains("session-terminate")),
        "no session-terminate sent"
    );
    let limit = Duration::from_millis(200);
    assert!(
        detect < limit,
        "detected after {detect:?} (limit {limit:?})"
    );
    assert!(
        s.to_rust.iter().all(|iq| !iq.contains("session-terminate")),
        "a terminate was sent"
    );
    s
}
