//! A recording can be followed while it is written: flushed after every frame.

mod common;

use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_in_progress_holds_whole_frames_from_pts_0() {
    let out = tmp("follow.ivf");
    let mut pair = spawn_pair(&out);
    pair.sender_log
        .wait_for("sent 60/150", Duration::from_secs(30))
        .await;
    // Mid-session: the file has the 90 kHz recording header (count not fixed yet)
    // and the frames so far, each whole (a buffered file would end inside a frame).
    let (header, frames) = read_ivf(&std::fs::read(&out).unwrap());
    assert_eq!(header.frame_count, 0);
    assert_eq!((header.timebase_num, header.timebase_den), (1, 90_000));
    assert!(frames.len() >= 30, "only {} frames readable", frames.len());
    let (_, sent) = clip();
    for (i, (got, sent)) in frames.iter().zip(&sent).enumerate() {
        assert!(got.data == sent.data, "frame {i} differs");
        assert_eq!(got.pts, i as u64 * 3000, "pts of frame {i}");
    }
    pair.both_exit_0().await;
}
