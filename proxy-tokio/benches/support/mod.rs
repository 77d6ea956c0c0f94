//! Shared by the `udp_setup` and `scale` benchmarks: a connected pair over real
//! UDP on 127.0.0.1, either two proxy-tokio services (Jingle signaling relayed
//! in-process; host candidates, or relay-only through a TURN server) or the
//! floor, two bare str0m `Rtc`s each driven by a minimal tokio task on its own
//! socket (SDP exchanged directly). The TURN server is the tests' coturn
//! (`tests/common/coturn.rs`), started by the benchmark.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proxy_core::{Config, LocalTrack, ProxyMessage};
use proxy_tokio::net::{IceServerSpec, IceTransportPolicy};
use proxy_tokio::{
    Events, MessageSender, ProxyConnectionService, ServiceConfig, ServiceEvent, Signals,
    TrackWriter,
};
use str0m::format::Codec;
use str0m::media::{Frequency, MediaTime, Mid};
use str0m::Rtc;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

const A: &str = "alice@example.com/a";
const B: &str = "bob@example.com/b";

#[path = "../../../proxy-str0m/tests/common/vp8.rs"]
mod vp8;

#[path = "../../../proxy-str0m/benches/harness/bare.rs"]
mod bare;
use bare::bare_rtc;

#[path = "../../tests/common/coturn.rs"]
pub mod coturn;

/// A scratch path under Cargo's target tmp directory (coturn's certificate
/// and database go there).
pub fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    dir.join(format!("{}-{name}", std::process::id()))
}

/// `turn:127.0.0.1:PORT?transport=udp` of a running coturn, with TURN REST
/// credentials made from its secret (valid for an hour).
pub fn turn_udp(turn: &coturn::Coturn) -> IceServerSpec {
    let url = format!("turn:127.0.0.1:{}?transport=udp", turn.port);
    let mut spec = IceServerSpec::parse(&url).expect("url");
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (user, pass) =
        proxy_tokio::net::rest_credentials(coturn::SECRET, Some("bench"), unix_now, 3600);
    spec.username = Some(user);
    spec.password = Some(pass);
    spec
}

/// The tests' synthetic VP8 frame (`proxy-str0m/tests/common/vp8.rs`) as `Bytes`.
pub fn vp8_frame(n: u32, keyframe: bool, len: usize) -> Bytes {
    Bytes::from(vp8::vp8_frame(n, keyframe, len))
}

/// Writes frames into one side of a connected pair.
pub enum Writer {
    Proxy(TrackWriter),
    Bare(mpsc::Sender<(Duration, Bytes)>),
}

impl Writer {
    pub async fn write(&self, pts: Duration, data: Bytes) -> bool {
        match self {
            Writer::Proxy(w) => w.write_frame(pts, data).await.is_ok(),
            Writer::Bare(tx) => tx.send((pts, data)).await.is_ok(),
        }
    }
}

/// A connected pair: the writer on the sender, a count of frames received
/// by the receiver, and what keeps both alive.
pub struct Link {
    pub writer: Writer,
    pub received: Arc<AtomicU64>,
    /// Set once the first frame arrived.
    pub first: watch::Receiver<bool>,
    /// Set once the sender is connected (proxy: `ServiceEvent::Connected`;
    /// bare: str0m's `Event::Connected`).
    pub connected: watch::Receiver<bool>,
    /// The stanzas both sides sent (proxy only).
    pub iqs: Arc<Mutex<Vec<String>>>,
    _keep: Box<dyn std::any::Any + Send>,
}

impl Link {
    /// Waits for the first frame (bounded).
    pub async fn first_frame(&mut self, within: Duration) -> bool {
        tokio::time::timeout(within, self.first.wait_for(|f| *f))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// The candidate types in both sides' stanzas so far.
    pub fn candidate_types(&self) -> Vec<String> {
        let iqs = self.iqs.lock().map(|i| i.clone()).unwrap_or_default();
        coturn::candidate_types(&iqs)
    }
}

// ---- proxy-tokio -------------------------------------------------------------

fn relay(
    mut signals: Signals,
    to: MessageSender,
    from: &'static str,
    log: Arc<Mutex<Vec<String>>>,
) {
    tokio::spawn(async move {
        while let Some(s) = signals.next().await {
            if let Ok(mut log) = log.lock() {
                log.push(s.iq.clone());
            }
            let message = ProxyMessage {
                from: from.to_owned(),
                iq: s.iq,
            };
            if to.process_message(message).await.is_err() {
                break;
            }
        }
    });
}

/// `relay_through`: `None` host candidates only; `Some` relay-only
/// through these servers.
async fn bind(
    jid: &'static str,
    seed: u64,
    relay_through: Option<&[IceServerSpec]>,
) -> (ProxyConnectionService, Events, Signals) {
    let mut config = ServiceConfig::loopback(Config {
        local_jid: Some(jid.to_owned()),
        seed,
        ..Config::default()
    });
    if let Some(servers) = relay_through {
        config.ice_servers = servers.to_vec();
        config.ice_transport_policy = IceTransportPolicy::Relay;
    }
    ProxyConnectionService::bind(config).await.expect("bind")
}

/// Two services; A `start()`s with one desktop track, sends a keyframe as soon
/// as it is `Connected`; B counts the frames of the track it gets.
pub async fn proxy_link(first_frame: Bytes) -> Link {
    proxy_link_via(first_frame, None).await
}

/// [`proxy_link`] with both services relay-only through `servers`.
pub async fn proxy_relay_link(first_frame: Bytes, servers: &[IceServerSpec]) -> Link {
    proxy_link_via(first_frame, Some(servers)).await
}

async fn proxy_link_via(first_frame: Bytes, relay_through: Option<&[IceServerSpec]>) -> Link {
    let (a, mut a_events, a_signals) = bind(A, 1, relay_through).await;
    let (b, mut b_events, b_signals) = bind(B, 2, relay_through).await;
    let iqs = Arc::new(Mutex::new(Vec::new()));
    relay(a_signals, b.message_sender(), A, iqs.clone());
    relay(b_signals, a.message_sender(), B, iqs.clone());
    let received = Arc::new(AtomicU64::new(0));
    let (first_tx, first) = watch::channel(false);
    let count = received.clone();
    tokio::spawn(async move {
        while let Some(event) = b_events.next().await {
            if let ServiceEvent::RemoteTrack { mut frames, .. } = event {
                let count = count.clone();
                let first_tx = first_tx.clone();
                tokio::spawn(async move {
                    while frames.next().await.is_some() {
                        count.fetch_add(1, Ordering::Relaxed);
                        first_tx.send_replace(true);
                    }
                });
            }
        }
    });
    let writer = a
        .start(B, &[LocalTrack::desktop()])
        .await
        .expect("start")
        .remove(0);
    let first_writer = writer.clone();
    let (connected_tx, connected) = watch::channel(false);
    tokio::spawn(async move {
        while let Some(event) = a_events.next().await {
            if let ServiceEvent::Connected { .. } = event {
                connected_tx.send_replace(true);
                let _ = first_writer
                    .write_frame(Duration::ZERO, first_frame.clone())
                    .await;
            }
        }
    });
    Link {
        writer: Writer::Proxy(writer),
        received,
        first,
        connected,
        iqs,
        _keep: Box::new((a, b)),
    }
}

// ---- bare str0m on tokio ---------------------------------------------------------------

/// What a bare endpoint reports: frames received, first frame, connected.
struct Report {
    received: Arc<AtomicU64>,
    first: watch::Sender<bool>,
    connected: watch::Sender<bool>,
}

/// One `Rtc` on one socket: drain until timeout, then wait for a datagram,
/// a frame to write or the deadline. Ends when `stop` is dropped.
async fn drive(
    mut rtc: Rtc,
    socket: UdpSocket,
    send: Option<(Mid, Bytes)>,
    mut writes: mpsc::Receiver<(Duration, Bytes)>,
    report: Report,
    mut stop: watch::Receiver<()>,
) {
    let Report {
        received,
        first,
        connected,
    } = report;
    let mid = send.as_ref().map(|(m, _)| *m);
    let mut first_frame = send.map(|(_, f)| f);
    let mut buf = vec![0u8; 2000];
    let write = |rtc: &mut Rtc, now: Instant, pts: Duration, data: &[u8]| {
        let Some(mid) = mid else { return };
        let Some(w) = rtc.writer(mid) else { return };
        let Some(pt) = w
            .payload_params()
            .find(|p| p.spec().codec == Codec::Vp8)
            .map(|p| p.pt())
        else {
            return;
        };
        let time = MediaTime::from(pts).rebase(Frequency::NINETY_KHZ);
        let _ = w.write(pt, now, time, data);
    };
    loop {
        let deadline = loop {
            match rtc.poll_output() {
                Ok(str0m::Output::Timeout(t)) => break t,
                Ok(str0m::Output::Transmit(t)) => {
                    let _ = socket.send_to(&t.contents, t.destination).await;
                }
                Ok(str0m::Output::Event(str0m::Event::Connected)) => {
                    connected.send_replace(true);
                    if let Some(f) = first_frame.take() {
                        write(&mut rtc, Instant::now(), Duration::ZERO, &f);
                    }
                }
                Ok(str0m::Output::Event(str0m::Event::MediaData(_))) => {
                    received.fetch_add(1, Ordering::Relaxed);
                    first.send_replace(true);
                }
                Ok(str0m::Output::Event(_)) => {}
                Err(_) => return,
            }
        };
        let now = Instant::now();
        if deadline <= now {
            if rtc.handle_input(str0m::Input::Timeout(now)).is_err() {
                return;
            }
            continue;
        }
        tokio::select! {
            r = socket.recv_from(&mut buf) => {
                let Ok((n, source)) = r else { return };
                let Ok(destination) = socket.local_addr() else { return };
                let Some(data) = buf.get(..n) else { return };
                if let Ok(r) = str0m::net::Receive::new(str0m::net::Protocol::Udp, source, destination, data) {
                    let _ = rtc.handle_input(str0m::Input::Receive(Instant::now(), r));
                }
            }
            w = writes.recv() => {
                if let Some((pts, data)) = w {
                    write(&mut rtc, Instant::now(), pts, &data);
                }
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                if rtc.handle_input(str0m::Input::Timeout(Instant::now())).is_err() {
                    return;
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Two bare `Rtc`s on two sockets, SDP offer/answer exchanged as text; A
/// writes `first_frame` on str0m's `Connected`.
pub async fn bare_link(first_frame: Bytes) -> Link {
    let sa = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let sb = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let now = Instant::now();
    let mut a = bare_rtc(now, sa.local_addr().expect("addr"));
    let mut b = bare_rtc(now, sb.local_addr().expect("addr"));
    let mid = bare::negotiate(&mut a, &mut b);
    let received = Arc::new(AtomicU64::new(0));
    let (first_tx, first) = watch::channel(false);
    let (stop_tx, stop) = watch::channel(());
    let (write_tx, write_rx) = mpsc::channel(16);
    let (connected_tx, connected) = watch::channel(false);
    let (idle_tx, idle_rx) = mpsc::channel(1);
    tokio::spawn(drive(
        a,
        sa,
        Some((mid, first_frame)),
        write_rx,
        Report {
            received: Arc::new(AtomicU64::new(0)),
            first: watch::channel(false).0,
            connected: connected_tx,
        },
        stop.clone(),
    ));
    tokio::spawn(drive(
        b,
        sb,
        None,
        idle_rx,
        Report {
            received: received.clone(),
            first: first_tx,
            connected: watch::channel(false).0,
        },
        stop,
    ));
    Link {
        writer: Writer::Bare(write_tx),
        received,
        first,
        connected,
        iqs: Arc::default(),
        _keep: Box::new((stop_tx, idle_tx)),
    }
}

// ---- process measurements -----------------------------------------------------------

/// CPU time (user + system) of the whole process so far, from /proc/self/stat
/// (in clock ticks of 10 ms).
pub fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which ends with the last ')').
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after ')'.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// CPU time of the process's threads alive now, in nanoseconds (the sum of
/// /proc/self/task/*/schedstat's first field). Exact, unlike [`process_cpu`],
/// but a thread that has exited no longer counts: compare runs whose threads
/// (the tokio workers) stay.
pub fn threads_cpu() -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let mut ns = 0u64;
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
            continue;
        };
        ns += stat
            .split_whitespace()
            .next()
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0);
    }
    Duration::from_nanos(ns)
}

/// Resident memory of the process, in KiB (VmRSS from /proc/self/status).
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
