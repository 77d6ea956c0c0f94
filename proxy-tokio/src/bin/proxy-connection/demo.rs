//! `demo`: sender and receiver in one process, real UDP on 127.0.0.1, in-process
//! signaling.

use std::io::{Cursor, IsTerminal, Write};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use proxy_core::{LocalTrack, MediaKind, ProxyMessage};
use proxy_tokio::{MessageSender, ServiceConfig, ServiceEvent, Signals};

use crate::cli::{fmt_time, DemoArgs, Failure};
use crate::ivf::IvfReader;
use crate::peer::{addrs, bind};
use crate::receive::{record, Recorded, Recorder, Stats};
use crate::send::rtp_exact_duration;

const SENDER: &str = "sender@proxy.demo/cli";
const RECEIVER: &str = "receiver@proxy.demo/cli";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// After the last frame, how long to wait for the receiver to catch up at most.
const TAIL_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the demo.
pub async fn run(args: DemoArgs) -> Result<(), Failure> {
    let clip = crate::load_clip(args.clip.as_deref(), None)?;
    if clip.codec != proxy_core::Codec::Vp8 {
        return Err(Failure::File(format!(
            "{}: demo checks and records VP8 only, this clip is {} (send it with `send`)",
            args.clip
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            clip.codec
        )));
    }
    let (header, frames) = (clip.header, clip.frames);
    let total = frames.len() as u64;
    let clip_name = args
        .clip
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "built-in clip".into());
    eprintln!(
        "[demo] {clip_name}: {total} VP8 frames, {}x{}, {}",
        header.width,
        header.height,
        fmt_time(
            frames
                .last()
                .map(|f| header.pts_to_duration(f.pts + 1))
                .unwrap_or_default()
        )
    );
    // Finished at the frame rate: a clip at a steady rate comes back with its own
    // timebase and timestamps.
    let recorder = Recorder::create(&args.out)?;

    // The receiver is a room device: it uses the proxied screen share as its
    // own desktop track.
    let config = |jid: &str, seed: u64| {
        ServiceConfig::loopback(proxy_core::Config {
            local_jid: Some(jid.to_owned()),
            seed,
            convert_video_to_desktop: jid == RECEIVER,
            ..proxy_core::Config::default()
        })
    };
    let (sender, mut sender_events, sender_signals) =
        bind(config(SENDER, crate::peer::seed_from(SENDER))).await?;
    let (receiver, mut receiver_events, receiver_signals) =
        bind(config(RECEIVER, crate::peer::seed_from(RECEIVER))).await?;
    eprintln!(
        "[demo] sender on {}, receiver on {}",
        addrs(sender.local_addrs()),
        addrs(receiver.local_addrs())
    );
    let relay_a = relay(SENDER, RECEIVER, sender_signals, receiver.message_sender());
    let relay_b = relay(RECEIVER, SENDER, receiver_signals, sender.message_sender());

    // Receiver: record the first video track until the connection closes.
    let stats = Arc::new(Stats::default());
    let receiver_task = {
        let stats = stats.clone();
        tokio::spawn(async move {
            let mut recorder = Some(recorder);
            let mut recording = None;
            let mut closed = None;
            while let Some(event) = receiver_events.next().await {
                match event {
                    ServiceEvent::RemoteTrack { track, frames } => {
                        eprintln!(
                            "[demo] receiver: remote track mid {} ({} {}) device {}",
                            track.mid,
                            track.kind.as_str(),
                            track.video_type.map(|v| v.as_str()).unwrap_or("-"),
                            track.device_id
                        );
                        if let (MediaKind::Video, Some(rec)) = (track.kind, recorder.take()) {
                            recording = Some(tokio::spawn(record(frames, rec, stats.clone())));
                        }
                    }
                    ServiceEvent::ConnectionClosed { reason, .. } => {
                        closed = Some(reason);
                        break;
                    }
                    ServiceEvent::Error(e) => eprintln!("[demo] receiver error: {e}"),
                    _ => {}
                }
            }
            let written = match (recording, recorder) {
                (Some(task), _) => task
                    .await
                    .map_err(|e| Failure::Other(format!("recorder failed: {e}")))??,
                (None, Some(rec)) => rec.finish()?,
                (None, None) => Recorded::default(),
            };
            Ok::<_, Failure>((written, closed))
        })
    };

    let started = Instant::now();
    let writers = sender
        .start(RECEIVER, &[LocalTrack::desktop()])
        .await
        .map_err(|e| Failure::Other(format!("cannot start: {e}")))?;
    let writer = writers
        .into_iter()
        .next()
        .ok_or_else(|| Failure::Other("start returned no track writer".into()))?;

    // Wait until connected.
    let connect_time = tokio::time::timeout(CONNECT_TIMEOUT, async {
        loop {
            match sender_events.next().await {
                Some(ServiceEvent::Connected { .. }) => return Ok(started.elapsed()),
                Some(ServiceEvent::ConnectionClosed { reason, .. }) => {
                    return Err(Failure::NotConnected(format!(
                        "connection closed before it was up: {reason}"
                    )))
                }
                Some(ServiceEvent::Error(e)) => eprintln!("[demo] sender error: {e}"),
                Some(_) => {}
                None => return Err(Failure::Other("sender driver stopped".into())),
            }
        }
    })
    .await
    .map_err(|_| {
        Failure::NotConnected(format!(
            "not connected within {}",
            fmt_time(CONNECT_TIMEOUT)
        ))
    })??;
    eprintln!("[demo] connected in {}", fmt_time(connect_time));

    // Send at the clip's pace, showing progress.
    let first_pts = frames.first().map(|f| f.pts).unwrap_or(0);
    let base = tokio::time::Instant::now();
    let mut last_progress = Instant::now();
    // On a terminal, one line redrawn 5 times a second; in a log, a line a second.
    let tty = std::io::stderr().is_terminal();
    let every = Duration::from_millis(if tty { 200 } else { 1000 });
    for (i, frame) in frames.iter().enumerate() {
        let media_time = rtp_exact_duration(&header, frame.pts.saturating_sub(first_pts));
        let due = base + media_time;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(due) => break,
                event = sender_events.next() => match event {
                    Some(ServiceEvent::ConnectionClosed { reason, .. }) => {
                        return Err(Failure::Lost(format!(
                            "connection closed while sending: {reason}"
                        )));
                    }
                    Some(ServiceEvent::Error(e)) => eprintln!("[demo] sender error: {e}"),
                    Some(_) => {}
                    None => return Err(Failure::Other("sender driver stopped".into())),
                },
            }
        }
        writer
            .write_frame(media_time, frame.data.clone())
            .await
            .map_err(|e| Failure::Lost(format!("frame {i}: {e}")))?;
        if last_progress.elapsed() >= every {
            last_progress = Instant::now();
            progress(i as u64 + 1, total, &stats, started, tty);
        }
    }
    // Wait for the tail to arrive, then stop.
    let tail_deadline = Instant::now() + TAIL_TIMEOUT;
    while stats.frames.load(Ordering::Relaxed) < total && Instant::now() < tail_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    progress(total, total, &stats, started, tty);
    if tty {
        eprintln!();
    }
    sender
        .stop()
        .await
        .map_err(|e| Failure::Other(format!("stop failed: {e}")))?;
    let (written, closed) = tokio::time::timeout(Duration::from_secs(5), receiver_task)
        .await
        .map_err(|_| Failure::Lost("receiver did not see the connection close".into()))?
        .map_err(|e| Failure::Other(format!("receiver task failed: {e}")))??;
    drop(sender);
    drop(receiver);
    let _ = tokio::join!(relay_a, relay_b);

    // Compare what was written with what was sent.
    let out_bytes = std::fs::read(&args.out)
        .map_err(|e| Failure::File(format!("cannot read back {}: {e}", args.out.display())))?;
    let got = IvfReader::new(Cursor::new(out_bytes))
        .and_then(|mut r| r.read_all())
        .map_err(|e| Failure::File(format!("{}: {e}", args.out.display())))?;
    let intact = got
        .iter()
        .zip(&frames)
        .filter(|(g, f)| g.data == f.data)
        .count();

    let first_frame = stats.first_frame.get().map(|t| t.duration_since(started));
    let bytes = stats.bytes.load(Ordering::Relaxed);
    let span = match (
        stats.first_frame.get(),
        stats.last_frame.lock().ok().and_then(|l| *l),
    ) {
        (Some(a), Some(b)) => b.duration_since(*a),
        _ => Duration::ZERO,
    };
    let seconds = span
        .as_secs_f64()
        .max(header.pts_to_duration(1).as_secs_f64());
    let summary = format!(
        "[demo] summary\n\
         \x20 time to connect:     {}\n\
         \x20 time to first frame: {}\n\
         \x20 frames:              {} of {} received, {} byte-identical, {} in {}\n\
         \x20 bytes:               {}\n\
         \x20 bitrate:             {:.0} kbit/s over {}\n\
         \x20 connection closed:   {}",
        fmt_time(connect_time),
        first_frame.map(fmt_time).unwrap_or_else(|| "-".into()),
        stats.frames.load(Ordering::Relaxed),
        total,
        intact,
        written.frames,
        args.out.display(),
        bytes,
        bytes as f64 * 8.0 / seconds / 1000.0,
        fmt_time(span),
        closed
            .as_ref()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "(no event)".into()),
    );
    eprintln!("{summary}");
    if got.len() as u64 == total && intact as u64 == total {
        Ok(())
    } else {
        Err(Failure::FramesLost(format!(
            "{} of {total} frames arrived intact",
            intact
        )))
    }
}

fn progress(sent: u64, total: u64, stats: &Stats, started: Instant, tty: bool) {
    let received = stats.frames.load(Ordering::Relaxed);
    let bytes = stats.bytes.load(Ordering::Relaxed);
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "{}[demo] {:>9}  sent {sent:3}/{total}  received {received:3}/{total}  {:7.1} KB{}",
        if tty { "\r" } else { "" },
        fmt_time(started.elapsed()),
        bytes as f64 / 1000.0,
        if tty { "" } else { "\n" },
    );
    let _ = err.flush();
}

/// In-process signaling: `from`'s outgoing signals to `to`'s service.
fn relay(
    from: &'static str,
    to: &'static str,
    mut signals: Signals,
    target: MessageSender,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(signal) = signals.next().await {
            if signal.to != to {
                eprintln!("[demo] {from} wrote to unknown {}; dropped", signal.to);
                continue;
            }
            let message = ProxyMessage {
                from: from.to_owned(),
                iq: signal.iq,
            };
            if target.process_message(message).await.is_err() {
                break;
            }
        }
    })
}
