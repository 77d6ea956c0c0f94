//! SIGTERM/SIGINT to `send` and `receive`: session-terminate to the peer, a finished
//! recording, the summary, exit 143/130; a second signal exits at once.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const LONG: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_to_receive_mid_stream_finishes_the_recording_and_terminates_the_session() {
    let out = tmp("sigterm.ivf");
    let mut pair = spawn_pair(&out);
    // Frames are flowing: the sender is at 2 s of the 5 s clip.
    pair.sender_log.wait_for("sent 60/150", LONG).await;
    kill(&pair.receiver, "TERM");
    assert_eq!(
        exit_code(&mut pair.receiver, Duration::from_secs(10)).await,
        Some(143)
    );
    let receiver_log = pair.receiver_log.all().await;
    assert!(
        receiver_log.contains("SIGTERM: sending session-terminate"),
        "{receiver_log}"
    );
    let reported = pair.receiver_log.frames_written().await;
    // The peer got session-terminate and ended without error, before its clip's end.
    assert_eq!(
        exit_code(&mut pair.sender, Duration::from_secs(10)).await,
        Some(0)
    );
    // The session-terminate went out; our DTLS close_notify races it over UDP, so the
    // peer may end on either, cleanly.
    assert!(has_session_terminate(&pair.sent_by_receiver.await.unwrap()));
    let sender_log = pair.sender_log.all().await;
    assert!(
        sender_log.contains("closed: peer terminated")
            || sender_log.contains("closed: peer closed its connection"),
        "{sender_log}"
    );
    assert!(!sender_log.contains("sent 150/150"), "{sender_log}");

    // A valid recording: header count = frames in the file = frames reported.
    let (header, frames) = recording(&out);
    assert_eq!(frames.len(), reported);
    assert!((30..150).contains(&reported), "{reported} frames");
    assert_eq!((header.width, header.height), (320, 180));
    let (_, sent) = clip();
    for (i, (got, sent)) in frames.iter().zip(&sent).enumerate() {
        assert!(got.data == sent.data, "frame {i} differs");
    }
    if let Some(probe) = ffprobe(out.to_str().unwrap(), None).await {
        assert_eq!(probe["codec_name"], "vp8");
        assert_eq!(num(&probe, "nb_read_frames") as usize, reported);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_to_send_mid_stream_exits_130_and_the_receiver_ends_cleanly() {
    let out = tmp("sigint.ivf");
    let mut pair = spawn_pair(&out);
    pair.sender_log.wait_for("sent 60/150", LONG).await;
    kill(&pair.sender, "INT");
    assert_eq!(
        exit_code(&mut pair.sender, Duration::from_secs(10)).await,
        Some(130)
    );
    let sender_log = pair.sender_log.all().await;
    assert!(
        sender_log.contains("SIGINT: sending session-terminate"),
        "{sender_log}"
    );
    // The summary is printed.
    assert!(sender_log.contains(" of 150 frames ("), "{sender_log}");
    assert_eq!(
        exit_code(&mut pair.receiver, Duration::from_secs(10)).await,
        Some(0)
    );
    assert!(has_session_terminate(&pair.sent_by_sender.await.unwrap()));
    let receiver_log = pair.receiver_log.all().await;
    assert!(
        receiver_log.contains("peer terminated")
            || receiver_log.contains("peer closed its connection"),
        "{receiver_log}"
    );
    let reported = pair.receiver_log.frames_written().await;
    let (_, frames) = recording(&out);
    assert_eq!(frames.len(), reported);
    assert!((30..150).contains(&reported), "{reported} frames");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once_with_its_code() {
    // The signaling output is a FIFO nobody reads: after the first signal, receive
    // waits (up to 2 s) for its signaling writer, which is stuck opening it.
    let fifo = tmp("nobody-reads.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let out = tmp("second-signal.ivf");
    let mut receiver = receive_command(&out)
        .arg("--signal-out")
        .arg(&fifo)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut log = Log::follow(receiver.stderr.take().unwrap());
    log.wait_for("waiting for a session-initiate", LONG).await;
    kill(&receiver, "INT");
    log.wait_for("SIGINT: no session to end", LONG).await;
    let t = Instant::now();
    kill(&receiver, "TERM");
    // 143, not the first signal's 130: the second one ended the process.
    assert_eq!(
        exit_code(&mut receiver, Duration::from_secs(10)).await,
        Some(143)
    );
    assert!(
        t.elapsed() < Duration::from_millis(1500),
        "{:?}",
        t.elapsed()
    );
    log.wait_for("second signal (SIGTERM): exiting at once", LONG)
        .await;
    let _ = std::fs::remove_file(&fifo);
}
