//! The program between network namespaces behind nftables NATs (memo §5 of issue
//! 12; the topology is tests/net/topo.sh, documentation addresses only, nothing leaves
//! the machine). Needs root, `ip`, `nft` and coturn: runs with `PROXY_NETNS=1` or under
//! `CI=true` (where anything missing is a failure), else skips with a message.
//!
//! `send` runs in namespace a (behind NAT 1), `receive` in b (behind NAT 2), coturn
//! (REST secret) in the "public" namespace between the NATs. The pair the media
//! used is read twice: from the programs' `media path:` lines, and from the NATs,
//! which count the bytes they forward by far end (topo.sh `bytes`): the TURN
//! server's own ports, its other ports (a relayed address) or the other NAT. A side
//! whose clip went to the server's ports used its own relayed candidate, any other
//! its NAT's mapping (srflx); `send`'s line must say the same.
//!
//! - (a) both behind endpoint-independent NATs, a STUN server only: srflx <-> srflx.
//! - (b) a behind a symmetric NAT, b behind an endpoint-independent one, STUN and TURN,
//!   policy `all`: only a relay can carry it (a's mapping changes per destination and
//!   b's NAT filters by address and port).
//! - (c) both behind symmetric NATs, relay-only over TURN/UDP: relay <-> relay.
//! - (d) UDP blocked at both NATs, relay-only over TURN/TCP: relay <-> relay.
//! - (e) only TCP 443 open at both NATs, `turns:` on 443: relay <-> relay over TLS.
//! - (f) srflx <-> srflx as (a), then NAT 1 gets a new public address (its conntrack
//!   mappings are gone): both sides close within the silence plus connectivity-lost
//!   timeouts and exit 5.
//!
//! Each prints `FIGURE NAT (x) ...` with the connect line (start to connected) and
//! the pair used.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::coturn::{candidate_types, Coturn};
use common::{
    connect_pair, exit_code, piped, read_ivf, tmp, Log, Pair, BIN, CLIP, RECEIVER, SENDER,
};
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
        t.script(&["up", nat1, nat2]);
        t
    }

    /// Runs topo.sh with `args` on these namespaces; its stdout.
    fn script(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("sh")
            .arg(TOPO)
            .args(args)
            .env("PFX", &self.prefix)
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(out.status.success(), "topo.sh {args:?} failed");
        String::from_utf8(out.stdout).unwrap()
    }

    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// What NAT `side` (1 or 2) has forwarded so far.
    fn bytes(&self, side: u8) -> Forwarded {
        let text = self.script(&["bytes", &side.to_string()]);
        let get = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
                .unwrap_or_else(|| panic!("no {name} counter in {text:?}"))
        };
        Forwarded {
            turn: get("turn"),
            relayed: get("relayed"),
            direct: get("direct"),
        }
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

/// Bytes (both ways) one NAT forwarded, by far end.
#[derive(Debug, Clone, Copy)]
struct Forwarded {
    /// The TURN server's listening ports: this side's own allocation.
    turn: u64,
    /// The server's other ports: the peer's relayed address.
    relayed: u64,
    /// Anything else: the other NAT.
    direct: u64,
}

/// Where the bulk of one NAT's bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FarEnd {
    Turn,
    Relayed,
    Direct,
}

impl Forwarded {
    /// The far end that carried most, and its bytes.
    fn main(&self) -> (FarEnd, u64) {
        [
            (FarEnd::Turn, self.turn),
            (FarEnd::Relayed, self.relayed),
            (FarEnd::Direct, self.direct),
        ]
        .into_iter()
        .max_by_key(|(_, b)| *b)
        .unwrap_or((FarEnd::Direct, 0))
    }
}

/// The pair the a -> b media used, from both NATs' counters: (a's end, b's end),
/// each `relay` or `srflx` (its NAT's mapping). Each NAT's main far end must have
/// carried at least `min` bytes, and the two views must agree.
fn pair_used(a: Forwarded, b: Forwarded, min: u64) -> (&'static str, &'static str) {
    let (pa, na) = a.main();
    let (pb, nb) = b.main();
    assert!(na >= min && nb >= min, "the media is not in {a:?} / {b:?}");
    let agree = match (pa, pb) {
        (FarEnd::Direct, FarEnd::Direct) | (FarEnd::Turn, FarEnd::Turn) => true,
        (FarEnd::Relayed, other) | (other, FarEnd::Relayed) => other == FarEnd::Turn,
        _ => false,
    };
    assert!(agree, "the NATs disagree on the path: {a:?} / {b:?}");
    let kind = |p| if p == FarEnd::Turn { "relay" } else { "srflx" };
    (kind(pa), kind(pb))
}

/// A side's "media path: <local type>[/<transport>] <addr> <-> <remote type> <addr>"
/// line (the pair its media went out on).
#[derive(Debug, Clone, PartialEq, Eq)]
struct MediaPath {
    /// `host`, or `relay/udp|tcp|tls`.
    local: String,
    /// The peer's end: `host`, `srflx`, `prflx` or `relay`.
    remote: String,
}

impl MediaPath {
    /// The last one in `log`.
    fn last(log: &[String]) -> MediaPath {
        let text = log
            .iter()
            .rev()
            .find_map(|l| l.split("media path: ").nth(1))
            .unwrap_or_else(|| panic!("no media path line in\n{}", log.join("\n")));
        let words: Vec<&str> = text.split_whitespace().collect();
        assert!(
            words.len() == 5 && words[2] == "<->",
            "a media path line: {text:?}"
        );
        MediaPath {
            local: words[0].to_owned(),
            remote: words[3].to_owned(),
        }
    }

    /// How the NATs see a sender's path: (its end, the receiver's end) as in
    /// [`pair_used`].
    fn seen_by_nats(&self) -> (&'static str, &'static str) {
        let nat = |relay: bool| if relay { "relay" } else { "srflx" };
        (
            nat(self.local.starts_with("relay")),
            nat(self.remote == "relay"),
        )
    }
}

impl std::fmt::Display for MediaPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} <-> {}", self.local, self.remote)
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

/// One scenario's network: the namespaces and coturn in the public one.
struct Net {
    // Fields drop in order: coturn is killed before its namespace goes.
    turn: Coturn,
    topo: Topology,
}

impl Net {
    /// Test `index`'s namespaces (unique per process and index), NAT modes, and
    /// coturn on 203.0.113.1 (TLS on `tls_port`, default 3479).
    async fn up(index: u16, nat1: &str, nat2: &str, tls_port: Option<u16>) -> Net {
        let topo = Topology::up(
            &format!("n{}{index}", std::process::id() % 10_000),
            nat1,
            nat2,
        );
        let turn = Coturn::start_with(10 + index, Some(&topo.ns("pub")), "203.0.113.1", tls_port)
            .await
            .expect("coturn");
        Net { turn, topo }
    }

    /// `send FILE` in a and `receive --out OUT` in b with these ICE arguments,
    /// signaling relayed by the test.
    fn spawn(&self, ice: &[String], file: &Path, out: &Path) -> Pair {
        let mut receive = in_ns(&self.topo.ns("b"));
        receive
            .args(["receive", "--as", RECEIVER, "--bind", "198.51.100.2:40000"])
            .args(ice)
            .arg("--out")
            .arg(out);
        piped(&mut receive);
        let mut send = in_ns(&self.topo.ns("a"));
        send.args(["send", "--as", SENDER, "--to", RECEIVER])
            .args(["--bind", "192.0.2.2:40000"])
            .args(ice)
            .arg(file);
        piped(&mut send);
        connect_pair(receive, send)
    }
}

/// What a whole session showed.
struct Session {
    /// The sender's "connected to ... in T" line.
    line: String,
    /// The candidate types each side signaled (a, b).
    types: [Vec<String>; 2],
    /// The last media path of each side (a, b).
    paths: [MediaPath; 2],
    /// The NATs' counters (1, 2).
    bytes: [Forwarded; 2],
}

/// A `send` -> `receive` session of the clip on `net` with `ice` on both sides: the
/// whole clip must arrive, both exit 0, and the pair `send` reports must be the one
/// the NATs forwarded the media on.
async fn session(net: &Net, index: u16, ice: &[String]) -> Session {
    let out: PathBuf = tmp(&format!("nat-{index}.ivf"));
    let mut pair = net.spawn(ice, Path::new(CLIP), &out);
    // Everything is gathered before the checks, so a failure shows all of it.
    let sender = exit_code(&mut pair.sender, Duration::from_secs(60)).await;
    let receiver = exit_code(&mut pair.receiver, Duration::from_secs(10)).await;
    let types = [
        candidate_types(&pair.sent_by_sender.await.unwrap()),
        candidate_types(&pair.sent_by_receiver.await.unwrap()),
    ];
    eprintln!("signaled: a {:?}, b {:?}", types[0], types[1]);
    let log = pair.sender_log.all().await;
    pair.receiver_log.all().await;
    let line = log
        .lines()
        .find(|l| l.contains("connected to"))
        .unwrap_or_else(|| panic!("send never connected:\n{log}"))
        .to_owned();
    assert_eq!((sender, receiver), (Some(0), Some(0)), "exit codes");
    let clip = std::fs::read(CLIP).unwrap();
    let (_, sent) = read_ivf(&clip);
    let (_, got) = read_ivf(&std::fs::read(&out).unwrap());
    assert_eq!(got.len(), sent.len(), "frame count");
    let bytes = [net.topo.bytes(1), net.topo.bytes(2)];
    let paths = [
        MediaPath::last(&pair.sender_log.lines),
        MediaPath::last(&pair.receiver_log.lines),
    ];
    assert_eq!(
        paths[0].seen_by_nats(),
        pair_used(bytes[0], bytes[1], clip.len() as u64),
        "send's path {} against the NATs' counters {bytes:?}",
        paths[0]
    );
    Session {
        line,
        types,
        paths,
        bytes,
    }
}

impl Session {
    fn figure(&self, what: &str) {
        eprintln!(
            "FIGURE NAT {what}: {}; media path a {} | b {}; signaled a {:?} b {:?}; bytes nat1 {:?} nat2 {:?}",
            self.line, self.paths[0], self.paths[1], self.types[0], self.types[1], self.bytes[0], self.bytes[1]
        );
    }

    /// Both sides' local ends are relays over `transport` (and so each other's).
    fn assert_relays(&self, transport: &str) {
        for p in &self.paths {
            assert_eq!(p.local, format!("relay/{transport}"), "{p}");
            assert_eq!(p.remote, "relay", "{p}");
        }
    }
}

fn turn_args(urls: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = urls
        .iter()
        .flat_map(|u| ["--ice-server".to_owned(), (*u).to_owned()])
        .collect();
    args.extend(["--turn-secret".into(), common::coturn::SECRET.into()]);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_endpoint_independent_nats_connect_srflx_to_srflx() {
    if !enabled() {
        return;
    }
    let net = Net::up(0, "eim", "eim", None).await;
    let stun = [
        "--ice-server".to_owned(),
        "stun:203.0.113.1:3478".to_owned(),
    ];
    let s = session(&net, 0, &stun).await;
    s.figure("(a) eim/eim");
    for types in &s.types {
        assert!(types.contains(&"srflx".to_owned()), "{types:?}");
    }
    for p in &s.paths {
        assert_eq!(
            (p.local.as_str(), p.remote.as_str()),
            ("host", "srflx"),
            "{p}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_symmetric_to_endpoint_independent_connects_through_a_relay() {
    if !enabled() {
        return;
    }
    // The configuration of a deployment: STUN and TURN, policy `all`. a's NAT maps
    // each destination to a new port, b's admits only addresses and ports b sent to:
    // no direct path exists, so a relay carries the media.
    let net = Net::up(3, "symmetric", "eim", None).await;
    let ice = turn_args(&[
        "stun:203.0.113.1:3478",
        "turn:203.0.113.1:3478?transport=udp",
    ]);
    let s = session(&net, 3, &ice).await;
    s.figure("(b) symmetric/eim, policy all");
    for t in &s.types {
        for kind in ["host", "srflx", "relay"] {
            assert!(t.iter().any(|t| t == kind), "no {kind} candidate in {t:?}");
        }
    }
    // Either a's relay to b's mapping or a's mapping to b's relay, as ICE picks.
    let p = &s.paths[0];
    assert!(
        p.local == "relay/udp" || p.remote == "relay",
        "no relay on the media path {p}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_symmetric_nats_connect_through_relays() {
    if !enabled() {
        return;
    }
    // srflx cannot work (a new mapping per destination), host addresses cannot
    // reach each other: relay-only (iceTransportPolicy 'relay') gives relay <->
    // relay. Under policy `all` it connects too, with a relay on one end only
    // (a peer-reflexive mapping opened towards the other's relayed address).
    let mut ice = turn_args(&["turn:203.0.113.1:3478?transport=udp"]);
    ice.push("--relay-only".into());
    let net = Net::up(1, "symmetric", "symmetric", None).await;
    let s = session(&net, 1, &ice).await;
    s.figure("(c) symmetric/symmetric");
    for t in &s.types {
        assert!(!t.is_empty() && t.iter().all(|t| t == "relay"), "{t:?}");
    }
    s.assert_relays("udp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d_udp_blocked_connects_through_turn_over_tcp() {
    if !enabled() {
        return;
    }
    // No UDP leaves either NAT: only relays reached over TCP can carry it
    // (relay-only, as in (c)).
    let mut ice = turn_args(&["turn:203.0.113.1:3478"]);
    ice.push("--relay-only".into());
    let net = Net::up(2, "udpblock", "udpblock", None).await;
    let s = session(&net, 2, &ice).await;
    s.figure("(d) udp blocked");
    for t in &s.types {
        assert!(!t.is_empty() && t.iter().all(|t| t == "relay"), "{t:?}");
    }
    s.assert_relays("tcp");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_only_tcp_443_open_connects_through_turn_over_tls() {
    if !enabled() {
        return;
    }
    // Both NATs pass TCP to port 443 and nothing else; coturn serves TLS there.
    // Policy `all`: host candidates are offered, and their checks are dropped.
    let net = Net::up(4, "only443", "only443", Some(443)).await;
    let mut ice = turn_args(&["turns:203.0.113.1:443?transport=tcp"]);
    ice.push("--ice-ca".into());
    ice.push(net.turn.cert.display().to_string());
    let s = session(&net, 4, &ice).await;
    s.figure("(e) only TCP 443, policy all");
    for t in &s.types {
        assert!(t.iter().any(|t| t == "relay"), "{t:?}");
    }
    s.assert_relays("tls");
    // Over TLS: every byte either NAT forwarded went to or came from port 443.
    for b in &s.bytes {
        assert_eq!((b.relayed, b.direct), (0, 0), "{b:?}");
    }
}

/// The clip `times` times over (pts running on), as an IVF file: a session long
/// enough to outlast a connectivity timeout.
fn looped_clip(times: u64) -> PathBuf {
    let clip = std::fs::read(CLIP).unwrap();
    let (header, frames) = read_ivf(&clip);
    let header_len = usize::from(u16::from_le_bytes([clip[6], clip[7]]));
    let period = frames.last().map_or(0, |f| f.pts + 1);
    let mut bytes = clip[..header_len].to_vec();
    let count = header.frame_count as u64 * times;
    bytes[24..28].copy_from_slice(&u32::try_from(count).unwrap().to_le_bytes());
    for lap in 0..times {
        for f in &frames {
            bytes.extend_from_slice(&u32::try_from(f.data.len()).unwrap().to_le_bytes());
            bytes.extend_from_slice(&(f.pts + lap * period).to_le_bytes());
            bytes.extend_from_slice(&f.data);
        }
    }
    let path = tmp(&format!("clip-x{times}.ivf"));
    std::fs::write(&path, bytes).unwrap();
    path
}

/// The first "closed:" line of a log and when the test saw it.
async fn closed_at(log: &mut Log, within: Duration) -> (String, Instant) {
    let line = log.wait_for("closed:", within).await;
    (line, Instant::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f_nat_flushed_mid_session_closes_with_connectivity_lost() {
    if !enabled() {
        return;
    }
    let net = Net::up(5, "eim", "eim", None).await;
    let stun = [
        "--ice-server".to_owned(),
        "stun:203.0.113.1:3478".to_owned(),
    ];
    let file = looped_clip(3);
    let frames = read_ivf(&std::fs::read(&file).unwrap()).1.len();
    let out = tmp("nat-5.ivf");
    let mut pair = net.spawn(&stun, &file, &out);
    let line = pair
        .sender_log
        .wait_for("connected to", Duration::from_secs(20))
        .await;
    pair.sender_log
        .wait_for(&format!("sent 30/{frames} "), Duration::from_secs(10))
        .await;
    // Media flows srflx <-> srflx (a second of it).
    let before = [net.topo.bytes(1), net.topo.bytes(2)];
    let path = MediaPath::last(&pair.sender_log.lines);
    assert_eq!(
        (path.local.as_str(), path.remote.as_str()),
        ("host", "srflx")
    );
    assert_eq!(pair_used(before[0], before[1], 20_000), ("srflx", "srflx"));

    // NAT 1 "reboots": a new public address, its mappings gone. b's NAT drops
    // what a now sends (from an address b never sent to), a's old address is gone.
    let cut = Instant::now();
    net.topo.script(&["rebind", "1"]);
    let lost = proxy_core::Config::default().connectivity_lost_timeout;
    let bound = proxy_str0m::SILENCE_TIMEOUT + lost + Duration::from_secs(1);
    let within = bound + Duration::from_secs(10);
    let ((sender_line, sender_at), (receiver_line, receiver_at)) = tokio::join!(
        closed_at(&mut pair.sender_log, within),
        closed_at(&mut pair.receiver_log, within)
    );
    let (sender_after, receiver_after) = (sender_at - cut, receiver_at - cut);
    eprintln!(
        "FIGURE NAT (f) rebind of NAT 1 mid-session (before: {line}; media path a {path}): \
         send closed {sender_after:?} after it ({sender_line:?}), receive {receiver_after:?} \
         ({receiver_line:?}); bound {bound:?} = silence {:?} + connectivity lost {lost:?} + 1 s",
        proxy_str0m::SILENCE_TIMEOUT
    );
    // Each closes on its own timer or on the other's word (connection-error over
    // signaling, which the NATs do not carry); at least one timer ran out.
    let clear = |l: &str| {
        l.contains("closed: connectivity lost")
            || l.contains("closed: peer reported an error (xmpp.connection.ice.failed)")
    };
    assert!(clear(&sender_line) && clear(&receiver_line));
    assert!(
        sender_line.contains("connectivity lost") || receiver_line.contains("connectivity lost")
    );
    let first = sender_after.min(receiver_after);
    assert!(
        first >= lost,
        "closed {first:?} after the rebind: too early for a timeout"
    );
    assert!(
        sender_after <= bound && receiver_after <= bound,
        "closed {sender_after:?} / {receiver_after:?} after the rebind, bound {bound:?}"
    );
    // Exit 5: the connection was lost mid-session.
    assert_eq!(
        exit_code(&mut pair.sender, Duration::from_secs(10)).await,
        Some(5)
    );
    assert_eq!(
        exit_code(&mut pair.receiver, Duration::from_secs(10)).await,
        Some(5)
    );
    let log = pair.sender_log.all().await;
    assert!(log.contains("error: connection lost: "), "{log}");
    let got = pair.receiver_log.frames_written().await;
    assert!(got >= 30 && got < frames, "{got} of {frames} frames");
}
