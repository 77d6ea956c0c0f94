//! Headless Firefox as the other peer of the `proxy-connection` program, on 127.0.0.1:
//! the scenarios of `browser.rs` (browser -> `receive`, `send` -> browser, audio+video,
//! and close) with the second real browser.
//!
//! Each test starts `node browser/harness.mjs --firefox` (puppeteer-core driving
//! Debian's `/usr/bin/firefox-esr` over WebDriver BiDi, the same page.html served on
//! 127.0.0.1; never a downloaded browser) and the real `proxy-connection
//! send`/`receive`, bridged by [`proxy_tests::bridge`] exactly as with Chromium.
//!
//! What Firefox does differently, and what the tests rely on (browser/README.md):
//! - it offers RTCP candidates (component 2) even with `rtcpMuxPolicy: 'require'`,
//!   which the Rust side must set aside;
//! - its SDP has the msid only at media level (`a=msid`, no `a=ssrc:… msid:`), in
//!   braces, with an `a=sendrecv` session attribute;
//! - it gathers loopback candidates only with `media.peerconnection.ice.loopback`
//!   and a camera/microphone permission (the harness sets both as prefs).
//!
//! Needs node, `browser/node_modules` (puppeteer-core) and firefox-esr;
//! `browser/run.sh` installs them. When they are missing the tests are skipped, unless
//! `CI=true`, where that is a failure.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    browser_to_receive, ci, ffprobe, ffprobe_timing, recorded_span, repo_root, setup_firefox,
    tmp_file, Options, RustSide, Session, RUST_JID,
};
use proxy_core::jingle::{Action, Jingle};
use proxy_core::{parse_iq, Limits};
use serde_json::{json, Value};

fn firefox() -> Options {
    Options {
        firefox: true,
        ..Options::default()
    }
}

fn ffprobe_available() -> bool {
    Command::new("ffprobe")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn jingle_of(iq: &str) -> Jingle {
    parse_iq(iq, &Limits::default())
        .expect("parse iq")
        .jingle
        .expect("a jingle iq")
}

/// The first entry of the page's `inbound`/`outbound` stats of `kind`.
fn rtp(stats: &Value, dir: &str, kind: &str) -> Value {
    stats[dir]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["kind"] == kind))
        .cloned()
        .unwrap_or_default()
}

/// Prints which browser this is (from the harness's `ready` event).
fn print_version(s: &Session) {
    if let Some((_, v)) = s.page_log.iter().find(|(_, v)| v["ev"] == "ready") {
        eprintln!("MEASURE browser: {} {}", v["browser"], v["version"]);
        assert_eq!(v["browser"], "firefox", "{v}");
    }
}

/// What Firefox's offer and candidates became in Jingle, and that the Rust side took
/// them without an error: the source carries the media-level `a=msid` (Firefox writes
/// no `a=ssrc:… msid:`), the RTX pair is an FID group, and Firefox's RTCP (component 2)
/// candidates, which it gathers even with `rtcpMuxPolicy: 'require'`, are forwarded
/// as lib-jitsi-meet would and set aside quietly by the rtcp-mux-only Rust side.
fn firefox_offer_in_jingle(s: &Session) {
    let initiate = jingle_of(&s.to_rust[0]);
    assert_eq!(initiate.action, Action::SessionInitiate);
    let [content] = initiate.contents.as_slice() else {
        panic!("not one content: {initiate:?}")
    };
    let desc = content.description.as_ref().expect("an RTP description");
    assert_eq!(desc.media.as_str(), "video");
    assert_eq!(
        desc.payload_types
            .first()
            .map(|p| p.name.to_string())
            .as_deref(),
        Some("VP8")
    );
    assert!(desc.rtcp_mux, "no rtcp-mux: {desc:?}");
    let msids: Vec<&str> = desc.sources.iter().filter_map(|x| x.msid()).collect();
    assert_eq!(msids.len(), desc.sources.len(), "{:?}", desc.sources);
    assert!(
        msids.iter().all(|m| m.starts_with('{')),
        "Firefox's msid is in braces: {msids:?}"
    );
    assert!(desc
        .sources
        .iter()
        .all(|x| x.name.as_deref() == Some("peer-v0")));
    let groups: Vec<(String, usize)> = desc
        .ssrc_groups
        .iter()
        .map(|g| (g.semantics.to_string(), g.ssrcs.len()))
        .collect();
    assert_eq!(groups, [("FID".to_owned(), 2)]);
    let rtcp: Vec<&String> = s
        .forwarded
        .iter()
        .filter(|c| c.split_whitespace().nth(1) == Some("2"))
        .collect();
    eprintln!(
        "MEASURE firefox candidates: {} forwarded ({} of them RTCP, component 2), {} dropped",
        s.forwarded.len(),
        rtcp.len(),
        s.dropped
    );
    assert!(
        s.forwarded
            .iter()
            .any(|c| c.contains(" 127.0.0.1 ") && c.split_whitespace().nth(1) == Some("1")),
        "no loopback RTP candidate: {:?}",
        s.forwarded
    );
    let errors: Vec<&String> = s
        .rust_log
        .iter()
        .map(|(_, l)| l)
        .filter(|l| l.contains("error"))
        .collect();
    assert_eq!(errors, Vec::<&String>::new());
}

#[test]
fn firefox_shares_screen_to_rust_receive_and_stops_with_terminate() {
    let Some(_guard) = setup_firefox() else {
        return;
    };
    let out = tmp_file("firefox-video.ivf");
    let t_start = Instant::now();
    let (mut s, connected) = browser_to_receive(&firefox(), json!({"video": true}), &out);
    print_version(&s);
    let connected = connected.expect("Rust side did not connect");
    eprintln!("MEASURE firefox->rust connect time: {connected:?}");
    let (_, track) = s
        .wait_rust_log("remote track", Duration::from_secs(10))
        .expect("no remote track");
    assert!(track.contains("video desktop"), "{track}");
    assert!(track.contains("source peer-v0"), "{track}");
    s.pump_for(Duration::from_secs(4));
    firefox_offer_in_jingle(&s);
    let stats = s.stats();
    eprintln!("page stats: {stats}");
    assert_eq!(
        rtp(&stats, "outbound", "video")["codec"],
        "video/VP8",
        "{stats}"
    );
    assert_eq!(stats["remote"]["address"], "127.0.0.1", "{stats}");
    eprintln!(
        "MEASURE firefox selected pair: local {} remote {}",
        stats["local"], stats["remote"]
    );

    s.send_page(json!({"type": "close"}));
    let (took, t_exit) = s.terminate_rust();
    eprintln!("MEASURE terminate -> receive exit: {took:?}");
    assert!(s.log_has("peer terminated (success)") || s.log_has("peer closed its connection"));
    let frames = s.frames_written().expect("no 'wrote N frames' line");
    eprintln!("MEASURE firefox->rust frames written: {frames}");
    assert!(frames >= 60, "only {frames} frames");
    if ffprobe_available() {
        let (w, h, n) = ffprobe(&out);
        eprintln!("MEASURE ffprobe: {w}x{h}, {n} frames");
        assert_eq!((w, h), (640, 360));
        assert!(n >= 60, "ffprobe read {n} frames");
        let (duration, start) = ffprobe_timing(&out);
        let (span, fps) = recorded_span(&out);
        eprintln!(
            "MEASURE ffprobe duration {duration} s start {start}; span {span} s at {fps} fps"
        );
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
    } else {
        assert!(!ci(), "ffprobe is required under CI=true");
        eprintln!("ffprobe missing: IVF not checked");
    }
}

#[test]
fn rust_send_to_firefox_decodes_and_terminate_closes_the_page() {
    let Some(_guard) = setup_firefox() else {
        return;
    };
    let clip = repo_root().join("assets/clip.ivf");
    let mut s = Session::start(&firefox(), RustSide::Send { clip });
    print_version(&s);
    let (t_conn, _) = s
        .wait_rust_log("connected to", Duration::from_secs(20))
        .expect("send did not connect");
    let t_answer = s
        .page_log
        .iter()
        .find(|(_, v)| v["ev"] == "answer")
        .map(|(t, _)| *t)
        .expect("the page answered");
    eprintln!(
        "MEASURE rust->firefox connect time (page answer -> send connected): {:?}",
        t_conn.duration_since(t_answer)
    );
    let mut best = json!({});
    let mut closed_at = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && closed_at.is_none() {
        let st = s.stats();
        if st["inbound"].as_array().is_some_and(|a| !a.is_empty()) {
            best = st;
        }
        s.pump_for(Duration::from_millis(500));
        closed_at = s
            .page_log
            .iter()
            .find(|(_, v)| v["ev"] == "closed")
            .map(|(t, _)| *t);
    }
    let closed_at = closed_at.expect("the page was not closed by session-terminate");
    let (_, status) = s
        .wait_rust_exit(Duration::from_secs(10))
        .expect("send did not exit");
    assert!(status.success(), "send exit {status:?}");
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
        "MEASURE rust->firefox framesDecoded {decoded}, frame {}x{}, videoWidth {}",
        video["frameWidth"], video["frameHeight"], best["videoWidth"]
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

    // The session-accept built from Firefox's answer answers the Rust offer's contents
    // and names the initiator, as lib-jitsi-meet's does.
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
}

/// Audio + video from Firefox's fake devices (`media.navigator.streams.fake`) into
/// `receive`: both remote tracks are announced and the video is recorded; then the
/// browser stops with session-terminate and `receive` exits 0.
#[test]
fn firefox_audio_and_video_both_reach_rust_and_the_video_is_recorded() {
    let Some(_guard) = setup_firefox() else {
        return;
    };
    let out = tmp_file("firefox-av.ivf");
    let media = json!({"gum": true, "audio": true, "video": true});
    let (mut s, connected) = browser_to_receive(&firefox(), media, &out);
    let connected = connected.expect("Rust side did not connect");
    eprintln!("MEASURE firefox audio+video connect time: {connected:?}");
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
    assert!(
        !s.log_has("ignoring track 1"),
        "the video track was not recorded"
    );
    let frames = s.frames_written().unwrap_or(0);
    eprintln!("MEASURE firefox audio+video: video frames written {frames}");
    assert!(frames >= 60, "only {frames} video frames written");
    if ffprobe_available() {
        let (w, h, n) = ffprobe(&out);
        eprintln!("MEASURE firefox audio+video ffprobe: {w}x{h}, {n} frames");
        // getUserMedia asked for 640x480 of the fake camera.
        assert_eq!((w, h), (640, 480));
        assert!(n >= 60, "ffprobe read {n} frames");
    } else {
        assert!(!ci(), "ffprobe is required under CI=true");
    }
}

#[test]
fn firefox_closing_without_signaling_is_detected_by_rust() {
    let Some(_guard) = setup_firefox() else {
        return;
    };
    let out = tmp_file("firefox-silent.ivf");
    let (mut s, connected) = browser_to_receive(&firefox(), json!({"video": true}), &out);
    connected.expect("Rust side did not connect");
    s.pump_for(Duration::from_secs(2));
    // lib-jitsi-meet's stop(): close the RTCPeerConnection, send nothing.
    let sent_at = Instant::now();
    let sent_wall = std::time::SystemTime::now();
    s.send_page(json!({"type": "close"}));
    let (_, closed) = s.wait_page("closed", Duration::from_secs(5));
    let (t_closed, line) = s
        .wait_rust_log("closed:", Duration::from_secs(30))
        .expect("Rust never noticed the browser went away");
    let page_delay = closed["at"]
        .as_f64()
        .map(|at| {
            let sent_ms = sent_wall
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock after 1970")
                .as_secs_f64()
                * 1000.0;
            Duration::from_secs_f64(((at - sent_ms) / 1000.0).max(0.0))
        })
        .expect("the page's closed event has no time");
    let detect = t_closed.duration_since(sent_at).saturating_sub(page_delay);
    eprintln!("MEASURE firefox pc.close() -> receive logs the close: {detect:?}: {line}");
    let (_, status) = s
        .wait_rust_exit(Duration::from_secs(10))
        .expect("receive did not exit");
    assert!(line.contains("peer closed its connection"), "{line}");
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
}
