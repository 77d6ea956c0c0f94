//! `Frame::sender_time`: the sender's wall clock of each received frame, from
//! the RTCP sender reports of its stream, is what lines tracks up (lip sync).

mod common;

use std::time::{Duration, SystemTime};

use proxy_core::{Codec, LocalTrack, MediaKind};
use proxy_str0m::Frame;

use common::pair::Pair;

/// For each frame with a sender time: that time minus the frame's media time
/// since the track's first frame, in seconds since the Unix epoch. Two tracks
/// started together at media time 0 must give the same value throughout.
fn capture_origins(frames: &[&Frame]) -> Vec<f64> {
    let first = frames.first().expect("frames").pts;
    frames
        .iter()
        .filter_map(|f| {
            let t = f.sender_time?;
            let since = t.duration_since(SystemTime::UNIX_EPOCH).ok()?;
            Some(since.as_secs_f64() - (f.pts - first).as_secs_f64())
        })
        .collect()
}

#[test]
fn audio_and_video_frames_carry_the_senders_clock_once_reports_came() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::audio(), LocalTrack::desktop()]);
    p.send_audio_video(5, 1200);

    let of =
        |kind: MediaKind| -> Vec<&Frame> { p.b.frames.iter().filter(|f| f.kind == kind).collect() };
    let (audio, video) = (of(MediaKind::Audio), of(MediaKind::Video));
    assert!(
        audio.len() > 200 && video.len() > 120,
        "{} audio, {} video",
        audio.len(),
        video.len()
    );
    assert!(audio.iter().all(|f| f.codec == Codec::Opus));
    assert!(video
        .iter()
        .all(|f| f.codec == Codec::Vp8 && f.keyframe == Some(true)));
    // Reports come about once a second: the last seconds all have the time.
    for frames in [&audio, &video] {
        let tail = &frames[frames.len() * 3 / 5..];
        assert!(
            tail.iter().all(|f| f.sender_time.is_some()),
            "frames without a sender time after 3 s"
        );
    }
    let (a, v) = (capture_origins(&audio), capture_origins(&video));
    let spread = |o: &[f64]| {
        let (lo, hi) = o
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
        hi - lo
    };
    // One origin per track (the RTP clock follows the media time exactly)...
    assert!(spread(&a) < 0.001, "audio origins spread {} s", spread(&a));
    assert!(spread(&v) < 0.001, "video origins spread {} s", spread(&v));
    // ...and the same for both: they began together.
    let gap = (a[0] - v[0]).abs();
    assert!(gap < 0.002, "audio and video origins {gap} s apart");
    // Arrival stays within the simulated network's reach of the sending.
    let last = video.last().expect("video");
    assert!(last.received <= p.time && p.time - last.received < Duration::from_secs(1));
}
