//! The program between network namespaces behind nftables NATs (memo §5 of issue
//! 12; the topology is tests/net/topo.sh, documentation addresses only, nothing leaves
//! the machine). Needs root, `ip`, `nft` and coturn: runs with `PROXY_NETNS=1` or under
//! `CI=true` (where anything missing is a failure), else skips with a message.
//!
//! Scenario (a): both peers behind endpoint-independent NATs with only a STUN server
//! (coturn in the "public" namespace). Their host addresses cannot reach each other
//! and there is no relay, so a session that carries the clip went srflx <-> srflx.
//! (c): both behind symmetric NATs, relay-only over TURN/UDP. (d): UDP blocked at both
//! NATs, relay-only over TURN/TCP.

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use common::coturn::{candidate_types, Coturn};
use common::{connect_pair, exit_code, piped, read_ivf, tmp, BIN, CLIP, RECEIVER, SENDER};
use tokio::process::Command;

const TOPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/net/topo.sh");

/// The namespaces of one test; removed on drop.
struct Topology {
    prefix: String,
}

impl Topology {
    fn up(prefix: &str, nat1: &str, nat2: &str) -> Topology {
        let t = Topology {
            prefix: prefix.to_owned(),
        };
        let status = std::process::Command::new("sh")
            .args([TOPO, "up", nat1, nat2])
            .env("PFX", prefix)
            .status()
            .unwrap();
        assert!(status.success(), "topo.sh up failed");
        t
    }

    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        let _ = std::process::Command::new("sh")
            .args([TOPO, "down"])
            .env("PFX", &self.prefix)
            .stderr(Stdio::null())
            .status();
    }
}

/// Whether the NAT tests run here; panics under `CI=true` when they cannot.
fn enabled() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let asked = std::env::var("PROXY_NETNS").is_ok_and(|v| v == "1");
    if !ci && !asked {
        eprintln!("SKIPPED: NAT tests run with PROXY_NETNS=1 (as root)");
        return false;
    }
    let have = |p: &str| {
        std::process::Command::new("sh")
            .args(["-c", &format!("command -v {p} || test -x /usr/sbin/{p}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    let ok = root && have("ip") && have("nft") && have("turnserver");
    assert!(ok || !ci, "NAT tests need root, ip, nft and turnserver");
    if !ok {
        eprintln!("SKIPPED: NAT tests need root, ip, nft and turnserver");
    }
    ok
}

fn in_ns(ns: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, BIN]);
    c
}

/// A `send` (in a, behind NAT 1) -> `receive` (in b, behind NAT 2) session with these
/// ICE arguments on both sides, coturn (REST secret) in the public namespace. Returns
/// the connect line and the candidate types each side signaled; the clip must arrive.
async fn session(index: u32, nat1: &str, nat2: &str, ice: &[&str]) -> (String, [Vec<String>; 2]) {
    let topo = Topology::up(
        &format!("n{}{index}", std::process::id() % 10_000),
        nat1,
        nat2,
    );
    let _turn = Coturn::start_at(10 + index as u16, Some(&topo.ns("pub")), "203.0.113.1")
        .await
        .expect("coturn");
    let out: PathBuf = tmp(&format!("nat-{index}.ivf"));
    let mut receive = in_ns(&topo.ns("b"));
    receive
        .args(["receive", "--as", RECEIVER, "--bind", "198.51.100.2:40000"])
        .args(ice)
        .arg("--out")
        .arg(&out);
    piped(&mut receive);
    let mut send = in_ns(&topo.ns("a"));
    send.args([
        "send",
        "--as",
        SENDER,
        "--to",
        RECEIVER,
        "--bind",
        "192.0.2.2:40000",
    ])
    .args(ice)
    .arg(CLIP);
    piped(&mut send);
    let mut pair = connect_pair(receive, send);
    let line = pair
        .sender_log
        .wait_for("connected to", Duration::from_secs(20))
        .await;
    assert_eq!(
        exit_code(&mut pair.sender, Duration::from_secs(60)).await,
        Some(0)
    );
    assert_eq!(
        exit_code(&mut pair.receiver, Duration::from_secs(10)).await,
        Some(0)
    );
    let types = [
        candidate_types(&pair.sent_by_sender.await.unwrap()),
        candidate_types(&pair.sent_by_receiver.await.unwrap()),
    ];
    let (_, sent) = read_ivf(&std::fs::read(CLIP).unwrap());
    let (_, got) = read_ivf(&std::fs::read(&out).unwrap());
    assert_eq!(got.len(), sent.len(), "frame count");
    drop(topo);
    (line, types)
}

fn turn_args(url: &str) -> Vec<String> {
    ["--ice-server", url, "--turn-secret", common::coturn::SECRET]
        .map(str::to_owned)
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_symmetric_nats_connect_through_relays() {
    if !enabled() {
        return;
    }
    // srflx cannot work (a new mapping per destination), host addresses cannot
    // reach each other: relay <-> relay. Relay-only: with policy `all` this
    // scenario does not connect yet (open bug, see the branch's report).
    let mut ice = turn_args("turn:203.0.113.1:3478?transport=udp");
    ice.push("--relay-only".into());
    let ice: Vec<&str> = ice.iter().map(String::as_str).collect();
    let (line, types) = session(1, "symmetric", "symmetric", &ice).await;
    eprintln!("FIGURE NAT (c) symmetric/symmetric: {line}");
    for t in &types {
        assert!(!t.is_empty() && t.iter().all(|t| t == "relay"), "{t:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d_udp_blocked_connects_through_turn_over_tcp() {
    if !enabled() {
        return;
    }
    // No UDP leaves either NAT: only relays reached over TCP can carry it
    // (relay-only, as in (c)).
    let mut ice = turn_args("turn:203.0.113.1:3478");
    ice.push("--relay-only".into());
    let ice: Vec<&str> = ice.iter().map(String::as_str).collect();
    let (line, types) = session(2, "udpblock", "udpblock", &ice).await;
    eprintln!("FIGURE NAT (d) udp blocked: {line}");
    for t in &types {
        assert!(!t.is_empty() && t.iter().all(|t| t == "relay"), "{t:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_endpoint_independent_nats_connect_srflx_to_srflx() {
    if !enabled() {
        return;
    }
    let stun = ["--ice-server", "stun:203.0.113.1:3478"];
    let (line, types) = session(0, "eim", "eim", &stun).await;
    eprintln!("FIGURE NAT (a) eim/eim: {line}");
    for types in types {
        assert!(types.contains(&"srflx".to_owned()), "{types:?}");
    }
}
