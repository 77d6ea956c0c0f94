//! VP8, VP9, H.264 and AV1 both ways between headless Chromium and the
//! `proxy-connection` program (issue 14, item 2).
//!
//! - To Chromium: `send` a clip of each codec (assets/: IVF with VP8, VP9 or AV1,
//!   Annex B H.264); the track is offered with the clip's codec first, and the page
//!   must decode most of the clip at the clip's size with the inbound-rtp codec
//!   being the clip's.
//! - From Chromium: the page offers its canvas track with the codec first
//!   (`setCodecPreferences`, start-offer's `codec`); `receive` records whatever comes
//!   and ffprobe must read the recording as that codec, at the canvas size, with
//!   the frames `receive` says it wrote. VP8, VP9 and AV1 are recorded to IVF,
//!   H.264 to Matroska (`.mkv`).
//!
//! Needs what browser.rs needs (node, playwright-core, chromium; `browser/run.sh`),
//! plus ffprobe; skipped without them unless `CI=true`.

mod common;

use std::time::Duration;

use common::{
    browser_to_receive, ffprobe_available, ffprobe_video, repo_root, rtp, send_clip, setup,
    tmp_file, ClipSent, Ev, Options, RustSide, Session, VideoProbe,
};
use serde_json::json;

/// `send CLIP` to Chromium: the page decodes at least `min_decoded` of the clip's
/// frames at 320x180 and reports `mime` as the inbound codec; `send` ends the session
/// (session-terminate closes the page) and exits 0.
fn send_to_chromium(clip: &str, mime: &str, frames: u64, min_decoded: u64) {
    let Some(_guard) = setup() else { return };
    let ClipSent {
        session: s,
        connect,
        best,
        ..
    } = send_clip(&Options::default(), repo_root().join("assets").join(clip));
    let sent = s
        .rust_log
        .iter()
        .rev()
        .find_map(|(_, l)| l.split("] sent ").nth(1).map(str::to_owned))
        .unwrap_or_default();
    let inbound = rtp(&best, "inbound", "video");
    let decoded = inbound["framesDecoded"].as_u64().unwrap_or(0);
    eprintln!(
        "MEASURE send {mime} -> chromium: page answer -> send connected {:?}; sent {sent}; \
         framesDecoded {decoded}/{frames}, {}x{}, codec {}",
        connect, inbound["frameWidth"], inbound["frameHeight"], inbound["codec"]
    );
    assert_eq!(inbound["codec"], mime, "{best}");
    assert!(
        sent.starts_with(&format!("{frames} of {frames} frames")),
        "send: {sent:?}"
    );
    assert!(
        decoded >= min_decoded && decoded <= frames,
        "{decoded} of {frames} frames decoded: {best}"
    );
    assert_eq!(
        (
            inbound["frameWidth"].as_u64(),
            inbound["frameHeight"].as_u64()
        ),
        (Some(320), Some(180)),
        "{best}"
    );
    assert_eq!(
        (best["videoWidth"].as_u64(), best["videoHeight"].as_u64()),
        (Some(320), Some(180)),
        "{best}"
    );
}

#[test]
fn send_vp8_to_chromium() {
    send_to_chromium("clip.ivf", "video/VP8", 150, 120);
}

#[test]
fn send_vp9_to_chromium() {
    send_to_chromium("clip-vp9.ivf", "video/VP9", 60, 45);
}

#[test]
fn send_h264_to_chromium() {
    send_to_chromium("clip-h264.h264", "video/H264", 60, 45);
}

#[test]
fn send_av1_to_chromium() {
    send_to_chromium("clip-av1.ivf", "video/AV1", 60, 45);
}

/// Chromium sends its 640x360 canvas with `codec` first for 4 s; `receive` records
/// it to `out`; ffprobe reads `ffprobe_codec`, 640x360, and as many frames as
/// `receive` wrote (at least 30).
fn chromium_to_receive(codec: &str, out: &str, ffprobe_codec: &str) {
    let Some(_guard) = setup() else { return };
    let out = tmp_file(out);
    let _ = std::fs::remove_file(&out);
    let (mut s, connected) = browser_to_receive(
        &Options::default(),
        json!({"video": true, "codec": codec}),
        &out,
    );
    let connected = connected.expect("receive did not connect");
    s.pump_for(Duration::from_secs(4));
    let stats = s.stats();
    let outbound = rtp(&stats, "outbound", "video");
    assert_eq!(
        outbound["codec"],
        format!("video/{codec}"),
        "the page sends another codec: {stats}"
    );
    s.send_page(json!({"type": "close"}));
    s.terminate_rust();
    let written = s.frames_written().expect("no 'wrote N frames' line");
    eprintln!(
        "MEASURE chromium {codec} -> receive: offer -> connected {connected:?}; page encoded {} \
         sent {} frames; receive wrote {written}",
        outbound["framesEncoded"], outbound["framesSent"]
    );
    if !ffprobe_available() {
        eprintln!("ffprobe missing: {} not checked", out.display());
        return;
    }
    let p = ffprobe_video(&out);
    eprintln!("MEASURE ffprobe {}: {p:?}", out.display());
    assert_eq!(
        p,
        VideoProbe {
            codec: ffprobe_codec.into(),
            width: 640,
            height: 360,
            frames: written,
        }
    );
    // Chromium's VP9 and AV1 encoders manage 15-30 fps here on two shared cores.
    assert!(written >= 30, "only {written} frames recorded");
}

#[test]
fn chromium_vp8_to_receive_ivf() {
    chromium_to_receive("VP8", "codecs-vp8.ivf", "vp8");
}

#[test]
fn chromium_vp9_to_receive_ivf() {
    chromium_to_receive("VP9", "codecs-vp9.ivf", "vp9");
}

#[test]
fn chromium_av1_to_receive_ivf() {
    chromium_to_receive("AV1", "codecs-av1.ivf", "av1");
}

#[test]
fn chromium_h264_to_receive_mkv() {
    chromium_to_receive("H264", "codecs-h264.mkv", "h264");
}

/// A peer whose answer leaves out the clip's codec: `send` gets no frame out,
/// says why, ends the session (session-terminate closes the page) and exits 4
/// (the offer/answer is unusable).
#[test]
fn send_vp9_to_chromium_refusing_vp9_exits_4() {
    let Some(_guard) = setup() else { return };
    let clip = repo_root().join("assets/clip-vp9.ivf");
    let options = Options {
        page_first: vec![json!({"type": "answer-without", "codec": "VP9"})],
        ..Options::default()
    };
    let mut s = Session::start(&options, RustSide::Send { clip });
    let (_, line) = s
        .wait_rust_log("not sent", Duration::from_secs(20))
        .expect("send did not report the refused codec");
    assert!(line.contains("the peer accepted no VP9"), "{line}");
    let (_, status) = s
        .wait_rust_exit(Duration::from_secs(10))
        .expect("send did not exit");
    assert_eq!(status.code(), Some(4), "send exit {status:?}");
    assert!(
        s.log_has("the peer accepted no VP9 on mid") && s.log_has("VP9 cannot be sent to"),
        "{:?}",
        s.rust_log
    );
    let closed = s.page_log.iter().any(|(_, v)| v["ev"] == "closed")
        || s.pump_until(
            Duration::from_secs(5),
            |e| matches!(e, Ev::Page(v) if v["ev"] == "closed"),
        )
        .is_some();
    assert!(
        closed,
        "the page was not closed by send's session-terminate"
    );
    let first = s
        .page_log
        .iter()
        .position(|(_, v)| v["ev"] == "answer-without");
    let answered = s.page_log.iter().position(|(_, v)| v["ev"] == "answer");
    assert!(
        matches!((first, answered), (Some(a), Some(b)) if a < b),
        "answer-without ({first:?}) must come before the answer ({answered:?})"
    );
    let answer = s
        .page_log
        .iter()
        .find(|(_, v)| v["ev"] == "answer")
        .and_then(|(_, v)| v["sdp"].as_str().map(str::to_owned))
        .expect("the page answered");
    assert!(!answer.contains("VP9/90000"), "{answer}");
    let sent = s.log_has("sent 0 of 60 frames");
    assert!(sent, "{:?}", s.rust_log);
}
