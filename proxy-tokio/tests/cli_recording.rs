//! A recording of `send assets/clip.ivf`: timestamps from 0 in exact steps, and the
//! duration ffprobe reads is the clip's.

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_of_the_clip_has_exact_timestamps_and_its_duration() {
    let out = tmp("timestamps.ivf");
    let mut pair = spawn_pair(&out);
    pair.both_exit_0().await;
    let (clip_header, sent) = clip();
    let (header, frames) = recording(&out);
    assert_eq!(frames.len(), sent.len());
    // One timebase unit per frame: the clip's 1/30, pts 0, 1, 2 ... (no 2999-style
    // drift of a truncated 90 kHz clock).
    assert_eq!(
        (header.timebase_num, header.timebase_den),
        (clip_header.timebase_num, clip_header.timebase_den)
    );
    let pts: Vec<u64> = frames.iter().map(|f| f.pts).collect();
    assert_eq!(pts, (0..sent.len() as u64).collect::<Vec<_>>());
    let log = pair.receiver_log.all().await;
    assert!(log.contains("5.00 s in timebase 1/30"), "{log}");

    if let Some(probe) = ffprobe(out.to_str().unwrap(), None).await {
        let clip_duration = sent.len() as f64 / 30.0;
        let duration = num(&probe, "duration");
        assert!(
            (duration - clip_duration).abs() <= 1.0 / 30.0,
            "duration {duration} s, the clip's {clip_duration} s"
        );
        assert_eq!(num(&probe, "start_time"), 0.0);
        assert_eq!(num(&probe, "nb_read_frames") as usize, sent.len());
    }
}
