//! Chromium sends audio and video, `receive --out rec.webm` records both into one
//! WebM file, and ffprobe/ffmpeg read it back: a VP8 and an Opus stream, both as
//! long as the session's media, starting together, and the page's flashes (canvas
//! white and a 1 kHz tone at full scale in the same JavaScript task, see
//! `marksFlash` in browser/page.html) found at the same time in both streams.
//!
//! Needs node, `browser/node_modules`, chromium and ffmpeg (see browser/README.md);
//! skipped when they are missing, unless `CI=true`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{setup, tmp_file, Options, RustSide, Session};
use serde_json::{json, Value};

/// Flashes, this far apart (the first this long after the first frame).
const FLASH_EVERY: Duration = Duration::from_millis(1500);
/// How many flashes.
const FLASHES: usize = 3;
/// How far apart a flash's video and audio onsets may be in the file. Measured
/// (aligned by the sender reports; VP8: 7 runs, VP9, AV1, H.264 into .mkv and
/// .webm: 1-3 runs each; 3 flashes a run): audio - video from -41 ms to +18 ms. The
/// video onset is the first frame the canvas capture took after the flash (up to
/// 33 ms later at 30 fps), the audio onset where silencedetect finds the tone; the
/// file's timestamps are in 1 ms. 75 ms (about two frames and an Opus packet)
/// leaves room for a loaded machine. On loopback the network adds no skew between
/// the tracks, so this checks the end-to-end path (RTP times, sender reports,
/// muxing); the unit tests in record.rs check the alignment against skewed arrival.
const ONSET_BOUND: f64 = 0.075;

/// `(pts, duration)` in seconds of each packet of the stream with this codec.
fn packets(path: &Path, codec: &str) -> Vec<(f64, f64)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_streams",
            "-show_packets",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    let index = v["streams"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["codec_name"] == codec))
        .and_then(|s| s["index"].as_u64())
        .unwrap_or_else(|| panic!("no {codec} stream: {}", v["streams"]));
    let num = |v: &Value| v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    v["packets"]
        .as_array()
        .expect("packets")
        .iter()
        .filter(|p| p["stream_index"].as_u64() == Some(index))
        .map(|p| (num(&p["pts_time"]), num(&p["duration_time"])))
        .collect()
}

/// Times where the decoded picture turns from dark to bright (mean luma crossing
/// 128 upwards), from ffmpeg's signalstats.
fn video_onsets(path: &Path) -> Vec<f64> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args([
            "-an",
            "-vf",
            "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-",
            "-f",
            "null",
            "-",
        ])
        .output()
        .expect("run ffmpeg");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut onsets = Vec::new();
    let (mut t, mut bright) = (0.0, false);
    for line in text.lines() {
        if let Some(rest) = line.split("pts_time:").nth(1) {
            t = rest.trim().parse().unwrap_or(t);
        } else if let Some(y) = line.strip_prefix("lavfi.signalstats.YAVG=") {
            let now = y.trim().parse::<f64>().unwrap_or(0.0) > 128.0;
            if now && !bright {
                onsets.push(t);
            }
            bright = now;
        }
    }
    onsets
}

/// Times where the decoded audio turns from silence to sound (ffmpeg's
/// silencedetect: -30 dBFS for at least 100 ms).
fn audio_onsets(path: &Path) -> Vec<f64> {
    let out = Command::new("ffmpeg")
        .args(["-v", "info", "-nostats", "-i"])
        .arg(path)
        .args([
            "-vn",
            "-af",
            "silencedetect=n=-30dB:d=0.1",
            "-f",
            "null",
            "-",
        ])
        .output()
        .expect("run ffmpeg");
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| l.split("silence_end: ").nth(1))
        .filter_map(|r| r.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Chromium sends its video in `mime` (and Opus) to `receive --out FILE.ext`; the
/// file must have streams `codec` and opus in `format` ("WebM" or "Matroska").
fn record_flashes(mime: &str, ext: &str, codec: &str, format: &str) {
    let out = tmp_file(&format!("browser-rec-{codec}.{ext}"));
    let _ = std::fs::remove_file(&out);
    let mut s = Session::start(
        &Options::default(),
        RustSide::Receive {
            out: out.to_path_buf(),
        },
    );
    s.send_page(json!({"type": "marks-offer", "codec": mime}));
    s.wait_page("offer", Duration::from_secs(20));
    s.wait_rust_log("connected to", Duration::from_secs(25))
        .expect("Rust side did not connect");
    // The codec the answer lists first for the video is the one Chromium sends.
    let answer = s.from_rust.first().cloned().unwrap_or_default();
    let names: Vec<&str> = answer
        .split("<payload-type")
        .skip(1)
        .filter_map(|p| p.split("name=").nth(1))
        .filter_map(|n| n.get(1..)?.split(['\'', '"']).next())
        .collect();
    let video_first = names
        .iter()
        .find(|n| proxy_core::Codec::from_name(n).is_some_and(|c| c != proxy_core::Codec::Opus));
    assert_eq!(
        video_first.map(|n| n.to_ascii_lowercase()),
        Some(mime.trim_start_matches("video/").to_ascii_lowercase()),
        "the answer's payload types {names:?}"
    );
    let (first_frame, _) = s
        .wait_rust_log("first frame", Duration::from_secs(10))
        .expect("no frame arrived");
    let mut flashed = Vec::new();
    for _ in 0..FLASHES {
        s.pump_for(FLASH_EVERY);
        s.send_page(json!({"type": "marks-flash", "ms": 300}));
        let (t, v) = s.wait_page("marks-flashed", Duration::from_secs(5));
        assert_eq!(v["audioState"], "running", "{v}");
        flashed.push(t);
    }
    s.pump_for(FLASH_EVERY);
    s.send_page(json!({"type": "close"}));
    let closed = Instant::now();
    s.terminate_rust();
    // Media flowed from about the first frame to the close.
    let media = closed.duration_since(first_frame).as_secs_f64();

    let (_, done) = s
        .wait_rust_log("wrote ", Duration::from_secs(1))
        .expect("no closing line");
    eprintln!("MEASURE recording: {done}");
    let name = proxy_core::Codec::from_name(mime.trim_start_matches("video/"))
        .expect("a codec")
        .as_str();
    assert!(done.contains(&format!("video frames ({name}")), "{done}");
    assert!(done.contains("audio frames (opus"), "{done}");
    // Chromium sends its first sender reports within a second or so: the tracks
    // are placed by its clock, not by arrival (which would pass on loopback too).
    assert!(
        done.contains(&format!("({format}, aligned by the sender's clock")),
        "{done}"
    );
    if ext == "webm" && format == "Matroska" {
        assert!(s.log_has("does not fit WebM; writing Matroska"), "{done}");
    }
    eprintln!(
        "MEASURE recording sync: {}",
        if done.contains("sender's clock") {
            "sender reports"
        } else {
            "arrival"
        }
    );

    let video = packets(&out, codec);
    let audio = packets(&out, "opus");
    let span = |p: &[(f64, f64)]| {
        let (last, d) = p[p.len() - 1];
        (p[0].0, last + d)
    };
    let (v0, v1) = span(&video);
    let (a0, a1) = span(&audio);
    eprintln!(
        "MEASURE recording {codec} .{ext}: media {media:.3} s; video {} packets {v0:.3}..{v1:.3} s; \
         audio {} packets {a0:.3}..{a1:.3} s",
        video.len(),
        audio.len()
    );
    // The file starts at the first video keyframe; the audio at the time the
    // sender captured its first packet, which Chromium starts a little after the
    // video (0.2 s measured).
    assert_eq!(v0, 0.0);
    assert!(a0 < 0.3, "audio starts at {a0} s");
    for (what, end) in [("video", v1), ("audio", a1)] {
        assert!(
            (end - media).abs() < 0.3,
            "{what} lasts {end:.3} s, the session's media {media:.3} s"
        );
    }

    let vo = video_onsets(&out);
    // silencedetect also ends the silence at the end of the stream: not an onset.
    let ao: Vec<f64> = audio_onsets(&out)
        .into_iter()
        .filter(|t| *t < a1 - 0.1)
        .collect();
    eprintln!("MEASURE recording {codec} onsets: video {vo:?}, audio {ao:?}");
    assert_eq!(vo.len(), FLASHES, "video onsets {vo:?}");
    assert_eq!(ao.len(), FLASHES, "audio onsets {ao:?}");
    let diffs: Vec<f64> = vo.iter().zip(&ao).map(|(v, a)| a - v).collect();
    eprintln!("MEASURE recording {codec} A/V onset difference (audio - video): {diffs:?}");
    // The flashes are where the page made them: FLASH_EVERY apart.
    for w in vo.windows(2) {
        let gap = w[1] - w[0];
        assert!((gap - FLASH_EVERY.as_secs_f64()).abs() < 0.25, "{vo:?}");
    }
    for d in &diffs {
        assert!(
            d.abs() <= ONSET_BOUND,
            "A/V onsets {diffs:?} (bound {ONSET_BOUND} s)"
        );
    }
    let _ = std::fs::remove_file(&out);
}

#[test]
fn browser_vp8_and_opus_into_one_webm_in_sync() {
    let Some(_guard) = setup() else { return };
    record_flashes("video/VP8", "webm", "vp8", "WebM");
}

#[test]
fn browser_vp9_and_opus_into_webm() {
    let Some(_guard) = setup() else { return };
    record_flashes("video/VP9", "webm", "vp9", "WebM");
}

#[test]
fn browser_av1_and_opus_into_webm() {
    let Some(_guard) = setup() else { return };
    record_flashes("video/AV1", "webm", "av1", "WebM");
}

#[test]
fn browser_h264_and_opus_into_matroska() {
    let Some(_guard) = setup() else { return };
    record_flashes("video/H264", "mkv", "h264", "Matroska");
}

/// H.264 does not fit WebM: the recording is Matroska at the path asked for, and
/// the log says so.
#[test]
fn browser_h264_asked_into_webm_is_written_as_matroska() {
    let Some(_guard) = setup() else { return };
    record_flashes("video/H264", "webm", "h264", "Matroska");
}
