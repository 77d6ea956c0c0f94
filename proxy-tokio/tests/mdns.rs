//! A browser's mDNS host candidate resolved on a real (namespaced) LAN.
//!
//! Two network namespaces joined by a veth pair (documentation addresses, nothing
//! leaves them): `send` in `a` (192.0.2.1) plays a browser hiding its host address
//! behind `<uuid>.local`, and an mdns-sd responder in `a` answers for that name;
//! `receive` in `b` (192.0.2.2) gets a session-initiate whose only candidate is the
//! name. The test takes `receive`'s candidates out of what reaches `send`, so `send`
//! has no remote candidate and can only answer checks: the clip arrives only if
//! `receive` resolved the name over multicast DNS and checked the address.
//!
//! Needs root and `ip`: runs with `PROXY_NETNS=1` or under `CI=true` (where anything
//! missing is a failure), else skips with a message. Built with the default `mdns`
//! feature only.
#![cfg(feature = "mdns")]

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{exit_code, piped, read_ivf, tmp, Log, BIN, CLIP, RECEIVER, SENDER};
use proxy_tokio::SignalLine;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::Command;

const A_IP: &str = "192.0.2.1";
const B_IP: &str = "192.0.2.2";
const NAME: &str = "5b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d.local";
/// Tells the `responder` test (run again inside namespace `a`) what to answer:
/// `name=address`.
const RESPOND: &str = "PROXY_MDNS_RESPOND";

/// Whether this test runs here; panics under `CI=true` when it cannot.
fn enabled() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let asked = std::env::var("PROXY_NETNS").is_ok_and(|v| v == "1");
    if !ci && !asked {
        eprintln!("SKIPPED: the mDNS namespace test runs with PROXY_NETNS=1 (as root)");
        return false;
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let ip = std::process::Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!((root && ip) || !ci, "the mDNS test needs root and ip");
    if !(root && ip) {
        eprintln!("SKIPPED: the mDNS test needs root and ip");
    }
    root && ip
}

/// Namespaces `<prefix>-a` and `<prefix>-b` joined by a veth pair; removed on drop.
struct Lan {
    prefix: String,
}

impl Lan {
    fn up() -> Lan {
        let lan = Lan {
            prefix: format!("md{}", std::process::id() % 100_000),
        };
        let (a, b) = (lan.ns("a"), lan.ns("b"));
        let p = &lan.prefix;
        let script = format!(
            "set -e
             ip netns add {a}; ip netns add {b}
             ip link add {p}-va type veth peer name {p}-vb
             ip link set {p}-va netns {a} name eth0
             ip link set {p}-vb netns {b} name eth0
             ip -n {a} addr add {A_IP}/24 dev eth0
             ip -n {b} addr add {B_IP}/24 dev eth0
             for n in {a} {b}; do
               ip -n $n link set lo up
               ip -n $n link set eth0 up multicast on
               ip -n $n route add 224.0.0.0/4 dev eth0
             done"
        );
        let status = std::process::Command::new("sh")
            .args(["-c", &script])
            .status()
            .unwrap();
        assert!(status.success(), "setting up the namespaces failed");
        lan
    }

    fn ns(&self, side: &str) -> String {
        format!("{}-{side}", self.prefix)
    }

    fn exec(&self, side: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns(side), program]);
        c
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        for side in ["a", "b"] {
            let _ = std::process::Command::new("ip")
                .args(["netns", "del", &self.ns(side)])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Not a test of its own: run again (`--ignored`) by the test below inside
/// namespace `a`, it answers mDNS queries for the name in `PROXY_MDNS_RESPOND` until
/// its stdin closes.
#[test]
#[ignore = "a helper process of a_local_name_is_resolved_on_the_lan_and_carries_the_clip"]
fn responder() {
    let Ok(what) = std::env::var(RESPOND) else {
        return;
    };
    let (name, ip) = what.split_once('=').unwrap();
    let daemon = mdns_sd::ServiceDaemon::new().unwrap();
    // A service whose host is the name: the daemon answers A queries for it.
    let info = mdns_sd::ServiceInfo::new(
        "_proxytest._udp.local.",
        "proxy-test",
        &format!("{name}."),
        ip,
        9,
        None,
    )
    .unwrap();
    let events = daemon.monitor().unwrap();
    daemon.register(info).unwrap();
    // Answers come once the name is probed and announced (RFC 6762 section 8).
    let deadline = Instant::now() + Duration::from_secs(5);
    while let Ok(event) = events.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        if matches!(event, mdns_sd::DaemonEvent::Announce(..)) {
            break;
        }
    }
    println!("RESPONDING");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    let _ = daemon.shutdown();
}

/// Copies signaling lines from one program to the other through `edit`; returns
/// the IQs as delivered.
async fn relay(
    from: &'static str,
    out: impl AsyncRead + Unpin,
    mut into: impl AsyncWrite + Unpin,
    edit: fn(&str) -> String,
) -> Vec<String> {
    let mut lines = BufReader::new(out).lines();
    let mut iqs = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut signal = SignalLine::from_line(line.as_bytes())
            .unwrap_or_else(|e| panic!("{from} wrote a non-signaling line {line:?}: {e}"));
        assert_eq!(signal.from, from);
        signal.iq = edit(&signal.iq);
        iqs.push(signal.iq.clone());
        if into.write_all(signal.to_line().as_bytes()).await.is_err() {
            break;
        }
        let _ = into.flush().await;
    }
    drop(into);
    iqs
}

/// The sender's address hidden behind [`NAME`], as a browser without camera
/// permission does.
fn hide_address(iq: &str) -> String {
    iq.replace(&format!("ip='{A_IP}'"), &format!("ip='{NAME}'"))
        .replace(&format!("ip=\"{A_IP}\""), &format!("ip=\"{NAME}\""))
}

/// `<candidate .../>` elements taken out.
fn drop_candidates(iq: &str) -> String {
    let mut out = String::with_capacity(iq.len());
    let mut rest = iq;
    while let Some(at) = rest.find("<candidate ") {
        out.push_str(&rest[..at]);
        rest = rest[at..]
            .find("/>")
            .map_or("", |end| &rest[at + end + 2..]);
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_name_is_resolved_on_the_lan_and_carries_the_clip() {
    if !enabled() {
        return;
    }
    let lan = Lan::up();
    let exe = std::env::current_exe().unwrap();
    let mut responder = lan.exec("a", exe.to_str().unwrap());
    responder
        .args(["--exact", "responder", "--ignored", "--nocapture"])
        .env(RESPOND, format!("{NAME}={A_IP}"));
    piped(&mut responder);
    let mut responder = responder.spawn().unwrap();
    let mut said = BufReader::new(responder.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(line)) = said.next_line().await {
            if line.contains("RESPONDING") {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(ready, Ok(true), "the mDNS responder did not start");

    let out = tmp("mdns.ivf");
    let mut receive = lan.exec("b", BIN);
    receive
        .args(["receive", "--as", RECEIVER, "--bind"])
        .arg(format!("{B_IP}:40000"))
        .arg("--out")
        .arg(&out);
    piped(&mut receive);
    let mut send = lan.exec("a", BIN);
    send.args(["send", "--as", SENDER, "--to", RECEIVER, "--bind"])
        .arg(format!("{A_IP}:40000"))
        .arg(CLIP);
    piped(&mut send);
    let started = Instant::now();
    let mut receiver = receive.spawn().unwrap();
    let mut sender = send.spawn().unwrap();
    let to_receiver = tokio::spawn(relay(
        SENDER,
        sender.stdout.take().unwrap(),
        receiver.stdin.take().unwrap(),
        hide_address,
    ));
    let to_sender = tokio::spawn(relay(
        RECEIVER,
        receiver.stdout.take().unwrap(),
        sender.stdin.take().unwrap(),
        drop_candidates,
    ));
    let mut sender_log = Log::follow(sender.stderr.take().unwrap());
    let mut receiver_log = Log::follow(receiver.stderr.take().unwrap());
    sender_log
        .wait_for("connected to", Duration::from_secs(20))
        .await;
    let connected = started.elapsed();
    // The receiver's media goes to the address it resolved, as a host candidate.
    let path = receiver_log
        .wait_for("media path:", Duration::from_secs(10))
        .await;
    assert!(
        path.ends_with(&format!("host {B_IP}:40000 <-> host {A_IP}:40000")),
        "{path}"
    );
    assert_eq!(
        exit_code(&mut sender, Duration::from_secs(60)).await,
        Some(0)
    );
    assert_eq!(
        exit_code(&mut receiver, Duration::from_secs(10)).await,
        Some(0)
    );
    let delivered = to_receiver.await.unwrap();
    let initiate = delivered
        .iter()
        .find(|iq| iq.contains("session-initiate"))
        .expect("a session-initiate");
    assert!(initiate.contains(NAME), "{initiate}");
    assert!(
        delivered.iter().all(|iq| !iq.contains(A_IP)),
        "the receiver saw the sender's address"
    );
    assert!(to_sender
        .await
        .unwrap()
        .iter()
        .all(|iq| !iq.contains("<candidate ")));
    let (_, sent) = read_ivf(&std::fs::read(CLIP).unwrap());
    let (_, got) = read_ivf(&std::fs::read(&out).unwrap());
    assert_eq!(got.len(), sent.len(), "frame count");
    eprintln!("FIGURE mDNS: connected {connected:?} after start (process spawn included)");
    let _ = responder.kill().await;
    drop(lan);
}
