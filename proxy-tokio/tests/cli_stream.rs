//! `receive --out -` streams the IVF to stdout, with signaling on `--signal-out`.

mod common;

use std::time::Duration;

use common::*;
use tokio::io::AsyncReadExt;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_streams_the_video_to_stdout_with_signaling_on_a_fifo() {
    let fifo = tmp("signal-out.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let mut receiver = receive_command("-")
        .arg("--signal-out")
        .arg(&fifo)
        .spawn()
        .unwrap();
    let mut sender = send_command().spawn().unwrap();
    tokio::spawn(relay(
        SENDER,
        sender.stdout.take().unwrap(),
        receiver.stdin.take().unwrap(),
    ));
    let sender_stdin = sender.stdin.take().unwrap();
    let fifo_path = fifo.clone();
    let back = tokio::spawn(async move {
        let from_fifo = tokio::fs::File::open(&fifo_path).await.unwrap();
        relay(RECEIVER, from_fifo, sender_stdin).await
    });
    let mut stdout = receiver.stdout.take().unwrap();
    let video = tokio::spawn(async move {
        let mut bytes = Vec::new();
        stdout.read_to_end(&mut bytes).await.unwrap();
        bytes
    });
    let mut receiver_log = Log::follow(receiver.stderr.take().unwrap());
    let _sender_log = Log::follow(sender.stderr.take().unwrap());
    assert_eq!(
        exit_code(&mut sender, Duration::from_secs(60)).await,
        Some(0)
    );
    assert_eq!(
        exit_code(&mut receiver, Duration::from_secs(10)).await,
        Some(0)
    );
    assert!(
        !back.await.unwrap().is_empty(),
        "receive's signaling went to the FIFO"
    );
    let log = receiver_log.all().await;
    assert!(log.contains("wrote 150 frames"), "{log}");
    assert!(log.contains("to stdout"), "{log}");

    // Only video on stdout: a valid IVF stream, frames and exact 90 kHz times.
    let bytes = video.await.unwrap();
    let (header, frames) = read_ivf(&bytes);
    assert_eq!(header.frame_count, 0, "a stream's frame count stays 0");
    assert_eq!((header.timebase_num, header.timebase_den), (1, 90_000));
    assert_eq!((header.width, header.height), (320, 180));
    let (_, sent) = clip();
    assert_eq!(frames.len(), sent.len());
    for (i, (got, sent)) in frames.iter().zip(&sent).enumerate() {
        assert!(got.data == sent.data, "frame {i} differs");
        assert_eq!(got.pts, i as u64 * 3000, "pts of frame {i}");
    }
    if let Some(probe) = ffprobe("-", Some(&bytes)).await {
        assert_eq!(probe["codec_name"], "vp8");
        assert_eq!(probe["width"], "320");
        assert_eq!(num(&probe, "nb_read_frames"), 150.0);
        assert_eq!(num(&probe, "start_time"), 0.0);
    }
    let _ = std::fs::remove_file(&fifo);
}
