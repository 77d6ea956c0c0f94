//! The `proxy-connection` program: demo, send/receive as two processes (exit 0),
//! bad input (exit 2 and 3).

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use tokio::process::Command;
use tokio::time::timeout;

fn frames_of(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let (header, frames) = common::read_ivf(&std::fs::read(path).unwrap());
    let count = header.frame_count;
    let frames: Vec<_> = frames
        .into_iter()
        .map(|f| (f.pts, f.data.to_vec()))
        .collect();
    assert_eq!(
        count as usize,
        frames.len(),
        "header frame count of {path:?}"
    );
    frames
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_and_receive_as_two_processes() {
    let out = tmp("received.ivf");
    let _ = std::fs::remove_file(&out);
    let mut receive = Command::new(BIN);
    // The default bind (0.0.0.0:0, host candidates from the machine's addresses).
    receive
        .args(["receive", "--as", RECEIVER, "--convert-video-to-desktop"])
        .arg("--out")
        .arg(&out);
    piped(&mut receive);
    let mut pair = connect_pair(receive, send_command());
    let sent = common::exit_code(&mut pair.sender, Duration::from_secs(60)).await;
    let received = common::exit_code(&mut pair.receiver, Duration::from_secs(10)).await;
    let log = pair.receiver_log.all().await;
    eprintln!("receive's log:\n{log}");
    assert_eq!(sent, Some(0), "send exit code");
    assert_eq!(received, Some(0), "receive exit code");
    assert!(
        log.contains("(video desktop, source peer-v0) device proxy:alice@example.com/s"),
        "the received track is described as lib-jitsi-meet does, as desktop"
    );
    // send's DTLS close_notify and its session-terminate race; either ends the session.
    assert!(
        log.contains("peer terminated (success)") || log.contains("peer closed its connection"),
        "receive did not see send end the session"
    );
    // Both directions carried signaling (initiate, accept, transport-info, terminate).
    assert!(pair.sent_by_sender.await.unwrap().len() >= 2);
    assert!(!pair.sent_by_receiver.await.unwrap().is_empty());

    let sent = frames_of(Path::new(CLIP));
    let got = frames_of(&out);
    assert_eq!(got.len(), sent.len(), "frame count");
    for (i, ((_, g), (_, s))) in got.iter().zip(&sent).enumerate() {
        assert!(g == s, "frame {i} differs");
    }
    // Timestamps are the clip's (see cli_recording.rs for the timebase and duration).
    for (i, (pts, _)) in got.iter().enumerate() {
        assert_eq!(*pts, i as u64, "pts of frame {i}");
    }
    check_with_ffmpeg(&out, sent.len()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_and_exits_zero() {
    let out = tmp("demo-out.ivf");
    let _ = std::fs::remove_file(&out);
    let run = Command::new(BIN)
        .arg("demo")
        .arg("--out")
        .arg(&out)
        .current_dir(std::env::temp_dir()) // the built-in clip works from any directory
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = timeout(Duration::from_secs(60), run)
        .await
        .expect("demo finishes within 60 s")
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "demo failed:\n{stderr}");
    assert!(stderr.contains("time to connect"), "{stderr}");
    assert!(
        stderr.contains("(video desktop"),
        "the room device takes the screen share as a desktop track:\n{stderr}"
    );
    assert!(
        stderr.contains("150 of 150 received, 150 byte-identical"),
        "{stderr}"
    );
    let got = frames_of(&out);
    let sent = frames_of(Path::new(CLIP));
    assert_eq!(
        got, sent,
        "the demo's output is the clip, frames and timestamps"
    );
}

/// Checks with ffprobe and ffmpeg that `path` is a playable VP8 stream of `frames`
/// 320x180 frames. Without ffmpeg installed this is skipped, except under CI=true
/// (test.sh installs it there).
async fn check_with_ffmpeg(path: &Path, frames: usize) {
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
            "-of",
            "default=nw=1",
        ])
        .arg(path)
        .output()
        .await;
    let probe = match probe {
        Ok(p) => p,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("ffprobe not available ({e}); skipping the ffmpeg check");
            return;
        }
        Err(e) => panic!("ffprobe is required under CI: {e}"),
    };
    let text = String::from_utf8_lossy(&probe.stdout);
    assert!(probe.status.success(), "ffprobe failed: {text}");
    for expected in [
        "codec_name=vp8".to_owned(),
        "width=320".to_owned(),
        "height=180".to_owned(),
        format!("nb_read_frames={frames}"),
    ] {
        assert!(
            text.lines().any(|l| l == expected),
            "{expected} not in {text}"
        );
    }
    let decode = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "null", "-"])
        .output()
        .await
        .unwrap();
    assert!(
        decode.status.success() && decode.stderr.is_empty(),
        "ffmpeg decode errors: {}",
        String::from_utf8_lossy(&decode.stderr)
    );
}

async fn exit_code(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn documented_exit_codes_for_bad_input() {
    let (code, err) = exit_code(&[]).await;
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = exit_code(&["send", "--as", "a@x/1", "f.ivf"]).await;
    assert_eq!(code, Some(2));
    assert!(err.contains("--to"), "{err}");
    let (code, err) = exit_code(&[
        "send",
        "--as",
        "a@x/1",
        "--to",
        "b@x/2",
        "/nonexistent/x.ivf",
    ])
    .await;
    assert_eq!(code, Some(3));
    assert!(err.contains("/nonexistent/x.ivf"), "{err}");
    let (code, err) = exit_code(&[
        "demo",
        "--clip",
        concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"),
    ])
    .await;
    assert_eq!(code, Some(3));
    assert!(err.contains("not an IVF file"), "{err}");
    let (code, err) = exit_code(&[
        "receive",
        "--as",
        "b@x/2",
        "--out",
        "/nonexistent/dir/o.ivf",
    ])
    .await;
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("/nonexistent/dir/o.ivf"), "{err}");
    // (A receive that never connects: cli_exit_codes.rs; help: cli_help.rs.)
}
