//! Congestion feedback (issue 14, item 1): does a Chromium sender ramp up to
//! `receive` as it does to another Chromium?
//!
//! One run, one page, one video track: the page offers it to `receive` (bridged to
//! Jingle as in browser.rs) and its sender is read for 10 s; then that sender's
//! encoder is stopped (`replaceTrack(null)`) and the same track goes to a second
//! Chromium peer connection in the page (page.html's `loop-start`), read for 10 s
//! too. Each second the page reads the sender's `getStats()`: the outbound-rtp
//! (resolution, bytes, the encoder's target, `qualityLimitationReason`, NACKs/PLIs)
//! and the selected pair's `availableOutgoingBitrate` (what the congestion
//! controller allows, which only grows past its 300 kbps start with feedback).
//!
//! The track is a 640x360 canvas on which 1% of its 16x16 blocks get a random colour
//! each frame (blank at the start of each 10 s), which takes about 1.6 Mbps at that
//! size: to reach it the sender must ramp up from its 300 kbps start.
//! The bar is the issue's: over the 10 s, bitrate and resolution (mean pixels a
//! frame over the per-second samples) to `receive` within 10% of those to Chromium.
//!
//! The control test shows what the bar catches: with transport-cc taken out of the
//! answer the page applies (the sender then gets no transport-wide feedback, and
//! str0m sends no REMB), Chromium stays near its start rate and lowers the
//! resolution, as the issue described.

mod common;

use std::time::{Duration, Instant};

use common::{browser_to_receive, setup, tmp_file, Ev, Options, Session};
use serde_json::{json, Value};

/// One second's reading of a sender.
struct Sample {
    t: f64,
    width: u64,
    height: u64,
    bytes: u64,
    target: u64,
    available: u64,
    limit: String,
    fps: f64,
    nacks: u64,
    plis: u64,
}

impl Sample {
    fn of(t: f64, v: &Value) -> Sample {
        let o = &v["outbound"];
        let n = |x: &Value| x.as_f64().unwrap_or(0.0) as u64;
        Sample {
            t,
            width: n(&o["frameWidth"]),
            height: n(&o["frameHeight"]),
            bytes: n(&o["bytesSent"]),
            target: n(&o["targetBitrate"]),
            available: n(&v["pair"]["availableOutgoingBitrate"]),
            limit: o["qualityLimitationReason"]
                .as_str()
                .unwrap_or("?")
                .to_owned(),
            fps: o["framesPerSecond"].as_f64().unwrap_or(0.0),
            nacks: n(&o["nackCount"]),
            plis: n(&o["pliCount"]),
        }
    }
}

/// What a sender did in its 10 s.
struct Summary {
    samples: Vec<Sample>,
}

impl Summary {
    /// Bits per second from the first sample to the last.
    fn bitrate(&self) -> f64 {
        let (a, b) = (&self.samples[0], &self.samples[self.samples.len() - 1]);
        (b.bytes.saturating_sub(a.bytes) * 8) as f64 / (b.t - a.t)
    }
    /// Mean pixels a frame over the samples after the first (which may come before
    /// the first frame).
    fn pixels(&self) -> f64 {
        let s = &self.samples[1..];
        s.iter().map(|x| (x.width * x.height) as f64).sum::<f64>() / s.len() as f64
    }
    fn last(&self) -> &Sample {
        &self.samples[self.samples.len() - 1]
    }
    fn row(&self, name: &str) -> String {
        let l = self.last();
        format!(
            "| {name} | {:.0} kbps | {:.0} px ({}x{} at the end) | {:.0} kbps | {:.0} kbps | {} | {} / {} |",
            self.bitrate() / 1000.0,
            self.pixels(),
            l.width,
            l.height,
            l.target as f64 / 1000.0,
            l.available as f64 / 1000.0,
            l.limit,
            l.nacks,
            l.plis,
        )
    }
}

/// The page's reading of its main sender (`main`, to `receive`) or of the baseline's
/// (`loop`, to Chromium).
fn sender_stats(s: &mut Session, which: &str) -> Value {
    s.send_page(json!({"type": "sender-stats", "which": which}));
    s.wait_page("sender-stats", Duration::from_secs(10)).1
}

/// Reads `which` at 0, 1, ..., `secs` seconds.
fn sample(s: &mut Session, which: &str, secs: u64) -> Summary {
    let t0 = Instant::now();
    let mut samples = Vec::new();
    for i in 0..=secs {
        let due = t0 + Duration::from_secs(i);
        s.pump_for(due.saturating_duration_since(Instant::now()));
        let v = sender_stats(s, which);
        let x = Sample::of(t0.elapsed().as_secs_f64(), &v);
        eprintln!(
            "{which} {:5.2}s {}x{} bytes {} target {} available {} limit {} fps {} nack {} pli {}",
            x.t, x.width, x.height, x.bytes, x.target, x.available, x.limit, x.fps, x.nacks, x.plis
        );
        samples.push(x);
    }
    Summary { samples }
}

/// The same track for 10 s to `receive`, then for 10 s to a Chromium peer
/// connection; `control` takes transport-cc out of the answer the page applies.
fn compare(name: &str, control: bool) -> (Summary, Summary) {
    let out = tmp_file(&format!("feedback-{name}.ivf"));
    let media = json!({"video": true, "noise": 0.01, "contentHint": "", "stripTwcc": control});
    let (mut s, connected) = browser_to_receive(&Options::default(), media, &out);
    connected.expect("receive did not connect");
    let to_us = sample(&mut s, "main", 10);

    s.send_page(json!({"type": "pause-main"}));
    s.wait_page("main-paused", Duration::from_secs(10));
    // The noise track starts over from a blank canvas, as it did for `receive`:
    // a sender that starts on 10 s of accumulated noise has a high QP in its first
    // frames, and Chromium's quality scaler then halves the resolution for a few
    // seconds (seen in 2 of 6 runs before), whatever the receiver.
    s.send_page(json!({"type": "canvas-clear"}));
    s.wait_page("canvas-cleared", Duration::from_secs(10));
    s.send_page(json!({"type": "loop-start"}));
    s.pump_until(
        Duration::from_secs(10),
        |e| matches!(e, Ev::Page(v) if v["ev"] == "loop-state" && v["conn"] == "connected"),
    )
    .expect("the page's second peer connection did not connect");
    let to_chromium = sample(&mut s, "loop", 10);
    s.send_page(json!({"type": "loop-stop"}));

    s.terminate_rust();
    let frames = s.frames_written().expect("no 'wrote N frames' line");
    eprintln!("MEASURE feedback {name}: receive wrote {frames} frames");
    assert!(frames >= 100, "receive wrote only {frames} frames in 10 s");

    eprintln!(
        "MEASURE feedback {name}:\n\
         | receiver | bitrate (10 s) | resolution (mean) | target at 10 s | available at 10 s | limited by | NACK / PLI |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n{}\n{}",
        to_us.row("receive"),
        to_chromium.row("Chromium")
    );
    (to_us, to_chromium)
}

fn ratio(a: f64, b: f64) -> f64 {
    a / b
}

/// Attempts of the comparison: two 10 s phases on two shared cores, where a
/// Chromium's own first bandwidth probe sometimes comes back low (seen once in
/// about ten baseline phases). An attempt passes only if every check holds; a
/// receiver that gives no feedback fails them all (the control below: 0.22).
const ATTEMPTS: usize = 3;

/// Why one comparison fails the bar, or `None` when it passes.
fn miss(us: &Summary, chromium: &Summary) -> Option<String> {
    let bitrate = ratio(us.bitrate(), chromium.bitrate());
    let pixels = ratio(us.pixels(), chromium.pixels());
    eprintln!(
        "MEASURE feedback: to receive / to Chromium: bitrate {bitrate:.3}, pixels {pixels:.3}"
    );
    if chromium.bitrate() <= 900_000.0 {
        // The sender must have needed to ramp up: well past its 300 kbps start.
        return Some(format!(
            "the baseline sent only {:.0} bps: the track does not test ramp-up",
            chromium.bitrate()
        ));
    }
    if us.last().available <= 1_000_000 {
        return Some(format!(
            "availableOutgoingBitrate to receive stayed at {} bps",
            us.last().available
        ));
    }
    if !(0.9..=1.1).contains(&bitrate) {
        return Some(format!(
            "bitrate to receive {:.0} bps, to Chromium {:.0} bps",
            us.bitrate(),
            chromium.bitrate()
        ));
    }
    if !(0.9..=1.1).contains(&pixels) {
        return Some(format!(
            "mean pixels a frame to receive {:.0}, to Chromium {:.0}",
            us.pixels(),
            chromium.pixels()
        ));
    }
    None
}

#[test]
fn chromium_sender_ramps_up_to_receive_as_to_chromium() {
    let Some(_guard) = setup() else { return };
    let mut misses = Vec::new();
    for attempt in 1..=ATTEMPTS {
        let (us, chromium) = compare("transport-cc", false);
        match miss(&us, &chromium) {
            None => return,
            Some(why) => {
                eprintln!("attempt {attempt} of {ATTEMPTS} missed the bar: {why}");
                misses.push(why);
            }
        }
    }
    panic!("every attempt missed the bar: {misses:#?}");
}

/// The control: without transport-wide feedback the sender does not ramp up to
/// `receive`, and the bar above fails (the symptom).
#[test]
fn without_transport_cc_the_sender_stays_near_its_start_rate() {
    let Some(_guard) = setup() else { return };
    let (us, chromium) = compare("no-transport-cc", true);
    let bitrate = ratio(us.bitrate(), chromium.bitrate());
    eprintln!("MEASURE feedback control: to receive / to Chromium: bitrate {bitrate:.3}");
    assert!(
        us.last().available < 1_000_000,
        "availableOutgoingBitrate reached {} bps without transport-cc",
        us.last().available
    );
    // Near its start: about 300 kbps growing 8% a second (612 kbps at 10 s here).
    assert!(
        us.bitrate() < 500_000.0,
        "without transport-cc the sender still sent {:.0} bps",
        us.bitrate()
    );
    // The bar of the test above fails (0.22 in most runs; 0.54 once, when the
    // baseline's own first probe came back low on a loaded machine).
    assert!(
        bitrate < 0.9,
        "without transport-cc the sender sent {bitrate:.2} of the baseline's bitrate"
    );
}
