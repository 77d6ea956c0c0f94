//! Exit codes by cause: no connection (4), a session lost mid-way (5); the normal end
//! (0) is in cli.rs. A receive that got no frame leaves no file behind.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_that_never_connects_exits_4_and_removes_its_empty_file() {
    let out = tmp("never.ivf");
    // Signaling input closed at once: no session can start.
    let output = receive_command(&out)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(4), "{log}");
    assert!(
        log.contains("signaling input ended with no session"),
        "{log}"
    );
    assert!(
        log.contains(&format!("no frames received; removed {}", out.display())),
        "{log}"
    );
    assert!(!out.exists(), "a header-only file was left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_lost_mid_way_exits_5_with_a_valid_recording() {
    let out = tmp("lost.ivf");
    let mut pair = spawn_pair(&out);
    pair.sender_log
        .wait_for("sent 60/150", Duration::from_secs(30))
        .await;
    // The sender vanishes without a word: receive finds out by connectivity loss.
    kill(&pair.sender, "KILL");
    let _ = exit_code(&mut pair.sender, Duration::from_secs(5)).await;
    assert_eq!(
        exit_code(&mut pair.receiver, Duration::from_secs(60)).await,
        Some(5)
    );
    let log = pair.receiver_log.all().await;
    assert!(log.contains("closed: connectivity lost"), "{log}");
    assert!(log.contains("connection lost: connectivity lost"), "{log}");
    let reported = pair.receiver_log.frames_written().await;
    let (_, frames) = recording(&out);
    assert_eq!(frames.len(), reported);
    assert!(reported >= 30, "{reported} frames");
}
