//! `send --stats` and `receive --stats`: a line per track every second on
//! stderr, with the clip's frame rate (30 fps).

mod common;

use std::time::Duration;

use common::*;

/// One `stats` line, parsed: (bits per second, fps, lost, jitter ms, rtt ms).
fn parse(line: &str) -> (f64, f64, u64, f64, f64) {
    let rest = line.split(": ").nth(1).unwrap_or_else(|| panic!("{line}"));
    let fields: Vec<&str> = rest.split(", ").collect();
    let number = |s: &str| -> f64 {
        let n = s.split_whitespace().next().unwrap_or("");
        n.parse()
            .unwrap_or_else(|_| panic!("no number in {s:?} of {line}"))
    };
    let ms = |s: &str, name: &str| -> f64 {
        let v = s.strip_prefix(name).unwrap_or_else(|| panic!("{line}"));
        number(v.trim())
    };
    let scale = if fields[0].ends_with("Mbit/s") {
        1e6
    } else {
        1e3
    };
    (
        number(fields[0]) * scale,
        number(fields[1]),
        number(fields[2]) as u64,
        ms(fields[3], "jitter"),
        ms(fields[4], "rtt"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_lines_show_the_clips_frame_rate_on_both_sides() {
    let out = tmp("stats.ivf");
    let _ = std::fs::remove_file(&out);
    let mut receive = receive_command(&out);
    receive.arg("--stats");
    let mut send = send_command();
    send.arg("--stats");
    let mut pair = connect_pair(receive, send);
    let sent = exit_code(&mut pair.sender, Duration::from_secs(60)).await;
    let received = exit_code(&mut pair.receiver, Duration::from_secs(10)).await;
    let send_log = pair.sender_log.all().await;
    let receive_log = pair.receiver_log.all().await;
    assert_eq!(sent, Some(0), "send exit code; log:\n{send_log}");
    assert_eq!(received, Some(0), "receive exit code; log:\n{receive_log}");

    // The clip: 150 frames at 30 fps, 189 kB (about 300 kbit/s).
    for (log, prefix) in [
        (&send_log, "[send] stats mid "),
        (&receive_log, "[receive] stats mid "),
    ] {
        let direction = if prefix.contains("send") { "out" } else { "in" };
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.starts_with(prefix) && l.contains(&format!(" video {direction}: ")))
            .collect();
        // 5 s of media: 4 full seconds at least, a line each.
        assert!(lines.len() >= 4, "too few stats lines in\n{log}");
        // Whole seconds of media: neither the first (the connection and
        // the first frames) nor the last two (the end, the linger).
        let full: Vec<_> = lines[1..lines.len() - 2].iter().map(|l| parse(l)).collect();
        assert!(!full.is_empty(), "{log}");
        for (line, (bps, fps, lost, jitter, rtt)) in lines[1..].iter().zip(&full) {
            assert!((27.0..=33.0).contains(fps), "{line}");
            assert!((100e3..=1e6).contains(bps), "{line}");
            assert_eq!(*lost, 0, "{line}");
            // Loopback: a round trip well under 50 ms, and jitter from a
            // busy machine's scheduling only (10 ms seen with builds running).
            assert!(*jitter < 50.0, "{line}");
            assert!(*rtt < 50.0, "{line}");
        }
    }
}
