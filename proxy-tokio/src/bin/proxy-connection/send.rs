//! `send`: a file's frames to the peer, signaling as JSON lines. The track's codec
//! is the file's (IVF VP8, VP9 or AV1; Annex B H.264): it is offered first.

use std::time::{Duration, Instant};

use proxy_core::{CloseReason, Codec, LocalTrack};
use proxy_tokio::{ServiceError, ServiceEvent, WriteError};

use crate::cli::{fmt_time, outcome, Failure, SendArgs};
use crate::ivf::IvfHeader;
use crate::peer::{
    addrs, connect_signaling, local_jid, log_event, start_service, stop, Interrupt,
    SIGNALS_OUT_WITHIN, STOP_WAIT,
};

/// How long `send` waits for the connection to come up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `send` keeps the connection after the last frame, so the tail (and any
/// retransmission) arrives before session-terminate.
const LINGER: Duration = Duration::from_millis(1000);

/// Runs `send`.
pub async fn send(args: SendArgs) -> Result<(), Failure> {
    const SIDE: &str = "send";
    let mut interrupt = Interrupt::watch(SIDE)?;
    let clip = crate::load_clip(Some(&args.file), args.fps)?;
    if args.fps.is_some() && clip.codec != Codec::H264 {
        log!(SIDE, "--fps ignored: an IVF file has its own timestamps");
    }
    let (codec, header, frames) = (clip.codec, clip.header, clip.frames);
    let size = if header.width == 0 && header.height == 0 {
        String::new()
    } else {
        format!(", {}x{}", header.width, header.height)
    };
    log!(
        SIDE,
        "{}: {} ({codec}), {} frames{size}, timebase {}/{}",
        args.file.display(),
        clip.format,
        frames.len(),
        header.timebase_num,
        header.timebase_den
    );
    let jid = local_jid(SIDE, args.jid.as_deref(), &args.signaling);
    let (service, mut events, signals) = start_service(
        jid.as_deref(),
        args.bind,
        &args.ice,
        &args.signaling,
        false,
        args.stats,
    )
    .await?;
    log!(SIDE, "UDP host candidates {}", addrs(service.local_addrs()));
    let (out, mut input) = connect_signaling(
        SIDE,
        args.jid.as_deref(),
        &service,
        signals,
        &args.signaling,
        &mut interrupt,
    )
    .await?;

    let started = Instant::now();
    let writers = service
        .start(&args.to, &[LocalTrack::desktop().with_codec(codec)])
        .await
        .map_err(|e| Failure::Other(format!("cannot start: {e}")))?;
    let writer = writers
        .into_iter()
        .next()
        .ok_or_else(|| Failure::Other("start returned no track writer".into()))?;
    log!(SIDE, "session-initiate sent to {}", args.to);

    /// Where `send` is; the timer's meaning depends on it.
    enum Phase {
        /// Until connected (timer: the connect timeout).
        Connecting,
        /// Frame `next` is due when the timer fires.
        Sending { next: usize },
        /// After the last frame (timer: end of the linger time).
        Lingering,
        /// Stopped; waiting for the close event (timer: give up waiting).
        Stopping,
    }
    let mut phase = Phase::Connecting;
    let timer = tokio::time::sleep(CONNECT_TIMEOUT);
    tokio::pin!(timer);
    let first_pts = frames.first().map(|f| f.pts).unwrap_or(0);
    let mut base = tokio::time::Instant::now();
    let (mut sent, mut sent_bytes) = (0usize, 0u64);
    let mut connected = false;
    let mut interrupted = None;
    // Why the peer's answer made sending impossible, if it did.
    let mut refused = None;
    let closed = loop {
        tokio::select! {
            biased;
            event = events.next() => match event {
                Some(ServiceEvent::Connected { peer }) => {
                    connected = true;
                    log!(SIDE, "connected to {peer} in {}", fmt_time(started.elapsed()));
                    if matches!(phase, Phase::Connecting) {
                        phase = Phase::Sending { next: 0 };
                        base = tokio::time::Instant::now();
                        timer.as_mut().reset(base);
                    }
                }
                Some(ServiceEvent::ConnectionClosed { peer, reason }) => {
                    log!(SIDE, "connection with {peer} closed: {reason}");
                    break Some(reason);
                }
                Some(other) => log_event(SIDE, &other),
                None => break None,
            },
            signal = interrupt.recv() => {
                interrupted = Some(signal);
                log!(SIDE, "{}: sending session-terminate", signal.name());
                stop(&service).await?;
                phase = Phase::Stopping;
                timer.as_mut().reset(tokio::time::Instant::now() + STOP_WAIT);
            }
            () = input.ended(SIDE, &service) => break None,
            () = &mut timer => match phase {
                Phase::Connecting => {
                    return Err(Failure::NotConnected(format!(
                        "no connection to {} within {}", args.to, fmt_time(CONNECT_TIMEOUT)
                    )));
                }
                Phase::Sending { next } => {
                    let frame = &frames[next];
                    let media_time = rtp_exact_duration(&header, frame.pts.saturating_sub(first_pts));
                    match writer.write_frame(media_time, frame.data.clone()).await {
                        Ok(()) => {
                            sent += 1;
                            sent_bytes += frame.data.len() as u64;
                            if sent % 30 == 0 || sent == frames.len() {
                                log!(SIDE, "sent {sent}/{} frames ({sent_bytes} bytes)", frames.len());
                            }
                        }
                        // The peer's answer has none of our codec: no frame can go.
                        Err(ServiceError::Write(e @ WriteError::CodecNotNegotiated { .. })) => {
                            log!(SIDE, "frame {next} not sent: {e}; sending session-terminate");
                            refused = Some(e.to_string());
                            stop(&service).await?;
                            phase = Phase::Stopping;
                            timer.as_mut().reset(tokio::time::Instant::now() + STOP_WAIT);
                            continue;
                        }
                        // The close event that caused it follows.
                        Err(e) => log!(SIDE, "frame {next} not sent: {e}"),
                    }
                    match frames.get(next + 1) {
                        Some(f) => {
                            phase = Phase::Sending { next: next + 1 };
                            let due = header.pts_to_duration(f.pts.saturating_sub(first_pts));
                            timer.as_mut().reset(base + due);
                        }
                        None => {
                            phase = Phase::Lingering;
                            timer.as_mut().reset(tokio::time::Instant::now() + LINGER);
                        }
                    }
                }
                Phase::Lingering => {
                    stop(&service).await?;
                    phase = Phase::Stopping;
                    timer.as_mut().reset(tokio::time::Instant::now() + STOP_WAIT);
                }
                Phase::Stopping => {
                    log!(SIDE, "no close event {} after our stop", fmt_time(STOP_WAIT));
                    break Some(CloseReason::LocalStop);
                }
            },
        }
    };
    // Dropping the handle ends the driver; the writer task ends after the last
    // signal (e.g. session-terminate) is written.
    drop(service);
    while let Some(event) = events.next().await {
        log_event(SIDE, &event);
    }
    // XMPP: up to CLOSE_LINGER for the last answers, then the stream's close.
    let _ = tokio::time::timeout(SIGNALS_OUT_WITHIN, out).await;
    log!(
        SIDE,
        "sent {sent} of {} frames ({sent_bytes} bytes) in {}",
        frames.len(),
        fmt_time(started.elapsed())
    );
    match (interrupted, refused) {
        (Some(signal), _) => Err(Failure::Interrupted(signal)),
        (None, Some(why)) => Err(Failure::NotConnected(format!(
            "{why}: {codec} cannot be sent to {}",
            args.to
        ))),
        (None, None) => outcome(closed.as_ref(), connected),
    }
}

/// The media time of `pts` (in `header`'s timebase) such that the engine's RTP clock
/// gets it exactly: str0m truncates a `Duration` to whole microseconds and then to the
/// 90 kHz clock, so the time is rounded *up* to a microsecond (pts 1 at 1/30 s is
/// 33334 µs = 3000 ticks, where 33333 µs would give 2999).
pub(crate) fn rtp_exact_duration(header: &IvfHeader, pts: u64) -> Duration {
    let num = u128::from(header.timebase_num) * 1_000_000;
    let den = u128::from(header.timebase_den.max(1));
    let micros = (u128::from(pts) * num).div_ceil(den);
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}
