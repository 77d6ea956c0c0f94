//! `receive --out FILE.webm` / `.mkv`: `send assets/clip.ivf` (and the VP9, AV1 and
//! H.264 clips) recorded into WebM (libwebm) and Matroska, checked with ffprobe;
//! `.mp4` is refused at start.

mod common;

use std::time::Duration;

use tokio::process::Command;

use common::*;

async fn record_clip(ext: &str, format: &str) {
    let out = tmp(&format!("clip.{ext}"));
    let mut pair = spawn_pair(&out);
    pair.both_exit_0().await;
    let log = pair.receiver_log.all().await;
    // Every frame, from 0, the clip's 5 s (149 intervals of 1/30 s and the last
    // frame's); no audio track was sent.
    assert!(
        log.contains("wrote 150 video frames (VP8, 5.00 s from 0.0 ms)"),
        "{log}"
    );
    assert!(log.contains(&format!("({format}, one track)")), "{log}");
    if let Some(probe) = ffprobe(out.to_str().unwrap(), None).await {
        assert_eq!(probe.get("codec_name").map(String::as_str), Some("vp8"));
        assert_eq!(num(&probe, "width"), 320.0);
        assert_eq!(num(&probe, "height"), 180.0);
        assert_eq!(num(&probe, "nb_read_frames"), 150.0);
        assert_eq!(num(&probe, "start_time"), 0.0);
        let duration = num(&probe, "duration");
        assert!((duration - 5.0).abs() < 0.002, "duration {duration}");
    }
    let _ = std::fs::remove_file(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clip_into_webm() {
    record_clip("webm", "WebM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clip_into_matroska() {
    record_clip("mkv", "Matroska").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mp4_is_refused_before_any_signaling() {
    let out = tmp("clip.mp4");
    let mut receiver = receive_command(&out).spawn().unwrap();
    assert_eq!(
        exit_code(&mut receiver, Duration::from_secs(10)).await,
        Some(3)
    );
    let mut err = String::new();
    use tokio::io::AsyncReadExt;
    receiver
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .await
        .unwrap();
    assert!(err.contains("MP4 is not written yet; use .mkv"), "{err}");
    assert!(!out.exists(), "nothing is created");
}

/// SIGTERM mid-stream: the WebM is finalized (the frames so far, a duration) and
/// plays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_stream_leaves_a_finished_webm() {
    let out = tmp("sigterm.webm");
    let mut pair = spawn_pair(&out);
    pair.sender_log
        .wait_for("sent 60/150", Duration::from_secs(30))
        .await;
    kill(&pair.receiver, "TERM");
    assert_eq!(
        exit_code(&mut pair.receiver, Duration::from_secs(10)).await,
        Some(143)
    );
    let log = pair.receiver_log.all().await;
    let frames = pair.receiver_log.frames_written().await;
    assert!((50..150).contains(&frames), "{frames} frames: {log}");
    if let Some(probe) = ffprobe(out.to_str().unwrap(), None).await {
        assert_eq!(num(&probe, "nb_read_frames"), frames as f64);
        let duration = num(&probe, "duration");
        let want = frames as f64 / 30.0;
        assert!(
            (duration - want).abs() < 0.1,
            "duration {duration}, {frames} frames"
        );
    }
    let _ = std::fs::remove_file(&out);
}

/// `send CLIP` (60 frames, 2 s, 320x180) to `receive --out clip.EXT`: every frame in
/// the file, decoded by ffprobe as `codec`, in `format`.
async fn record_other_clip(clip: &str, ext: &str, codec: &str, name: &str, format: &str) {
    let out = tmp(&format!("{codec}.{ext}"));
    let mut send = Command::new(BIN);
    send.args([
        "send",
        "--as",
        SENDER,
        "--to",
        RECEIVER,
        "--bind",
        "127.0.0.1:0",
    ])
    .arg(format!("{}/../assets/{clip}", env!("CARGO_MANIFEST_DIR")));
    piped(&mut send);
    let mut pair = connect_pair(receive_command(&out), send);
    pair.both_exit_0().await;
    let log = pair.receiver_log.all().await;
    assert!(
        log.contains(&format!(
            "wrote 60 video frames ({name}, 2.00 s from 0.0 ms)"
        )),
        "{log}"
    );
    assert!(log.contains(&format!("({format}, one track)")), "{log}");
    if let Some(probe) = ffprobe(out.to_str().unwrap(), None).await {
        assert_eq!(probe.get("codec_name").map(String::as_str), Some(codec));
        assert_eq!(num(&probe, "width"), 320.0);
        assert_eq!(num(&probe, "height"), 180.0);
        assert_eq!(num(&probe, "nb_read_frames"), 60.0);
        assert_eq!(num(&probe, "start_time"), 0.0);
        let duration = num(&probe, "duration");
        assert!((duration - 2.0).abs() < 0.002, "duration {duration}");
    }
    let _ = std::fs::remove_file(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vp9_clip_into_webm() {
    record_other_clip("clip-vp9.ivf", "webm", "vp9", "VP9", "WebM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_av1_clip_into_webm() {
    record_other_clip("clip-av1.ivf", "webm", "av1", "AV1", "WebM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_h264_clip_into_matroska() {
    record_other_clip("clip-h264.h264", "mkv", "h264", "H264", "Matroska").await;
}
