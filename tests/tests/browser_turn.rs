//! Headless Chromium through a real TURN server: Debian's coturn, started per test on
//! 127.0.0.1 with a TURN REST secret (proxy-tokio's `tests/common/coturn.rs`).
//!
//! The page gets the coturn as lib-jitsi-meet gets its ICE servers: in
//! ProxyConnectionService's `pcConfig` option (an `RTCConfiguration`, by default the
//! `p2pIceConfig` learned over XMPP), here `{ iceServers: [{ urls, username,
//! credential }], iceTransportPolicy: 'relay' }`, with REST credentials
//! (`username = <expiry>:<user>`, `credential = base64(HMAC-SHA1(secret, username))`).
//! The browser shares its screen to the Rust `receive`; the tests assert the pair the
//! browser selected (`getStats()`) and the frames the Rust side wrote.
//!
//! Needs what the browser tests need (browser/run.sh installs it) and coturn and
//! openssl (./test.sh installs them). When they are missing the tests are skipped,
//! unless `CI=true`, where that is a failure.

mod common;

// Shared with proxy-tokio's TURN tests, not copied. Its TLS port, certificate and
// `candidate_types` are for those tests.
#[allow(dead_code)]
#[path = "../../proxy-tokio/tests/common/coturn.rs"]
mod coturn;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{browser_to_receive, setup, tmp_file, Options, Session};
use proxy_core::jingle::CandidateType;
use proxy_core::{candidate_from_sdp, parse_iq, Limits};
use serde_json::{json, Value};

/// Where coturn.rs keeps its certificate and database (it calls `super::tmp`).
fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("{}-{name}", std::process::id()))
}

/// A coturn and the runtime that reads its log (coturn.rs is async); the server is
/// killed first, then the runtime is shut down.
struct Turn {
    server: coturn::Coturn,
    _runtime: tokio::runtime::Runtime,
}

impl Turn {
    /// Starts one with relay ports in block `index` (proxy-tokio's tests use blocks
    /// below 50); `None` to skip (never under CI=true, where coturn.rs fails).
    fn start(index: u16) -> Option<Turn> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let server = runtime.block_on(coturn::Coturn::start(index))?;
        Some(Turn {
            server,
            _runtime: runtime,
        })
    }

    /// Its TURN-over-UDP URL.
    fn url(&self) -> String {
        format!("turn:127.0.0.1:{}?transport=udp", self.server.port)
    }

    /// The page's `pcConfig`: this server with REST credentials for `user` made from
    /// `secret`, and relayed candidates only.
    fn pc_config(&self, secret: &str, user: &str) -> Value {
        let unix_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs();
        let (username, credential) =
            proxy_tokio::net::rest_credentials(secret, Some(user), unix_now, 3600);
        assert_eq!(username, format!("{}:{user}", unix_now + 3600));
        json!({
            "iceServers": [{"urls": [self.url()], "username": username, "credential": credential}],
            "iceTransportPolicy": "relay",
        })
    }

    /// The Rust program's arguments for the same server, relayed candidates only.
    fn rust_args(&self) -> Vec<String> {
        [
            "--ice-server",
            &self.url(),
            "--turn-secret",
            coturn::SECRET,
            "--relay-only",
        ]
        .map(str::to_owned)
        .to_vec()
    }
}

/// `(type, ip, port)` of every candidate in `iqs` (the Rust program's Jingle).
fn jingle_candidates(iqs: &[String]) -> Vec<(CandidateType, String, u16)> {
    iqs.iter()
        .filter_map(|iq| parse_iq(iq, &Limits::default()).ok()?.jingle)
        .flat_map(|j| j.contents)
        .filter_map(|c| c.transport)
        .flat_map(|t| t.candidates)
        .map(|c| (c.kind, c.ip.to_string(), c.port))
        .collect()
}

/// The candidate types of the browser's forwarded candidates (SDP strings).
fn browser_candidate_types(s: &Session) -> Vec<CandidateType> {
    s.forwarded
        .iter()
        .map(|c| {
            candidate_from_sdp(c)
                .expect("forwarded candidates parse")
                .kind
        })
        .collect()
}

/// The Rust side's current media path (its last `media path: LOCAL <-> REMOTE` log
/// line, `relay/udp 127.0.0.1:26131 <-> relay 127.0.0.1:26160`): `(local kind, local
/// address, remote kind, remote address)`.
fn media_path(s: &Session) -> (String, String, String, String) {
    let line = s
        .rust_log
        .iter()
        .rev()
        .find_map(|(_, l)| l.split("media path: ").nth(1))
        .expect("the Rust side logged no media path");
    let words: Vec<&str> = line.split_whitespace().collect();
    let [local_kind, local, "<->", remote_kind, remote] = words[..] else {
        panic!("media path {line:?}");
    };
    [local_kind, local, remote_kind, remote]
        .map(str::to_owned)
        .into()
}

/// `ip:port` of the browser's forwarded candidates.
fn browser_candidate_addresses(s: &Session) -> Vec<String> {
    s.forwarded
        .iter()
        .map(|c| candidate_from_sdp(c).expect("forwarded candidates parse"))
        .map(|c| format!("{}:{}", c.ip, c.port))
        .collect()
}

/// The page's `candidate-error` events.
fn candidate_errors(s: &Session) -> Vec<Value> {
    s.page_log
        .iter()
        .filter(|(_, v)| v["ev"] == "candidate-error")
        .map(|(_, v)| v.clone())
        .collect()
}

/// A browser session with `options` to `receive` (with `rust_args`): the browser shares
/// its screen for about 3 s, then stops with session-terminate. Asserts the browser
/// offered and used only relayed candidates of `turn`, and that `receive` wrote the
/// frames. Returns the session (ended) and the browser's stats while it was sharing.
fn relayed_screen_share(turn: &Turn, name: &str, rust_args: Vec<String>) -> (Session, Value) {
    let options = Options {
        pc_config: Some(turn.pc_config(coturn::SECRET, "browser")),
        rust_args,
        ..Options::default()
    };
    let out = tmp_file(&format!("{name}.ivf"));
    let (mut s, connected) = browser_to_receive(&options, json!({"video": true}), &out);
    let connected = connected.expect("the Rust side did not connect");
    eprintln!("MEASURE {name}: browser offer -> receive connected {connected:?}");
    let (_, track) = s
        .wait_rust_log("remote track", Duration::from_secs(10))
        .expect("no remote track");
    assert!(track.contains("video desktop"), "{track}");
    s.pump_for(Duration::from_secs(3));
    let stats = s.stats();
    eprintln!(
        "MEASURE {name}: browser selected pair {} local {} remote {}",
        stats["pair"], stats["local"], stats["remote"]
    );
    eprintln!("MEASURE {name}: pairs that carried data {}", stats["pairs"]);
    for (t, l) in s.rust_log.iter().filter(|(_, l)| l.contains("media path:")) {
        eprintln!("MEASURE {name}: at {} ms {l}", s.ms(*t));
    }

    // iceTransportPolicy 'relay': the browser offered relayed candidates only, and its
    // credentials were good.
    let types = browser_candidate_types(&s);
    assert!(!types.is_empty(), "the browser sent no candidate");
    assert!(
        types.iter().all(|t| *t == CandidateType::Relay),
        "{types:?}: {:?}",
        s.forwarded
    );
    assert_eq!(candidate_errors(&s), Vec::<Value>::new());
    // The pair the browser selected is nominated and its local candidate is a relayed
    // one of this coturn, over UDP; media went through it.
    assert_eq!(stats["pair"]["nominated"], true, "{stats}");
    assert_eq!(stats["pair"]["state"], "succeeded", "{stats}");
    assert_eq!(stats["local"]["type"], "relay", "{stats}");
    assert_eq!(stats["local"]["relayProtocol"], "udp", "{stats}");
    assert_eq!(stats["local"]["url"], turn.url().as_str(), "{stats}");
    assert!(
        stats["pair"]["bytesSent"].as_u64().unwrap_or(0) > 20_000,
        "{stats}"
    );

    s.send_page(json!({"type": "close"}));
    s.terminate_rust();
    let frames = s.frames_written().unwrap_or(0);
    eprintln!("MEASURE {name}: receive wrote {frames} frames");
    assert!(frames >= 60, "only {frames} frames written");
    (s, stats)
}

/// The browser relays (iceTransportPolicy 'relay'); the Rust side has its host
/// candidate only, which the browser reaches through its TURN allocation.
#[test]
fn chromium_relay_only_reaches_receive_through_coturn() {
    let Some(_guard) = setup() else { return };
    let Some(turn) = Turn::start(50) else { return };
    let (s, stats) = relayed_screen_share(&turn, "turn-browser-relay", Vec::new());
    let rust = jingle_candidates(&s.from_rust);
    assert!(
        rust.iter().all(|(t, ..)| *t == CandidateType::Host),
        "{rust:?}"
    );
    // The far end of the browser's pair is the Rust side's host candidate.
    let remote = (
        stats["remote"]["address"].as_str().unwrap_or_default(),
        stats["remote"]["port"].as_u64().unwrap_or_default(),
    );
    assert!(
        rust.iter()
            .any(|(_, ip, port)| (ip.as_str(), u64::from(*port)) == remote),
        "browser's remote {remote:?} is none of {rust:?}"
    );
    // The Rust side's media path: its host socket to one of the browser's relayed
    // addresses (peer-reflexive when the browser's check came before the candidate).
    let (local_kind, _, remote_kind, remote) = media_path(&s);
    assert_eq!(local_kind, "host");
    assert!(
        ["relay", "prflx"].contains(&remote_kind.as_str()),
        "{remote_kind}"
    );
    let browser = browser_candidate_addresses(&s);
    assert!(browser.contains(&remote), "{remote} is none of {browser:?}");
}

/// Both sides relay through the same coturn: the Rust program with `--ice-server
/// turn:… --turn-secret … --relay-only`, the browser with iceTransportPolicy 'relay'.
#[test]
fn chromium_and_rust_both_relay_only_through_coturn() {
    let Some(_guard) = setup() else { return };
    let Some(turn) = Turn::start(51) else { return };
    let (s, stats) = relayed_screen_share(&turn, "turn-both-relay", turn.rust_args());
    assert!(!s.log_has("not used"), "a relay failed: {:?}", s.rust_log);
    // The Rust side offered relayed candidates only, so every pair it has is relayed.
    let rust = jingle_candidates(&s.from_rust);
    assert!(!rust.is_empty(), "the Rust side sent no candidate");
    assert!(
        rust.iter().all(|(t, ..)| *t == CandidateType::Relay),
        "{rust:?}"
    );
    // The far end of the browser's pair is the Rust side's relayed address.
    assert_eq!(stats["remote"]["type"], "relay", "{stats}");
    let remote = (
        stats["remote"]["address"].as_str().unwrap_or_default(),
        stats["remote"]["port"].as_u64().unwrap_or_default(),
    );
    assert!(
        rust.iter()
            .any(|(_, ip, port)| (ip.as_str(), u64::from(*port)) == remote),
        "browser's remote {remote:?} is none of {rust:?}"
    );
    // The Rust side's media path: from its relayed address over TURN/UDP to one of the
    // browser's relayed addresses. (Not always the browser's selected pair: see
    // browser/README.md on Chromium's second nomination.) Peer-reflexive when the
    // browser's check came before its candidate.
    let (local_kind, local, remote_kind, remote) = media_path(&s);
    assert_eq!(local_kind, "relay/udp");
    assert!(
        ["relay", "prflx"].contains(&remote_kind.as_str()),
        "{remote_kind}"
    );
    assert!(
        rust.iter()
            .any(|(_, ip, port)| format!("{ip}:{port}") == local),
        "{local} is none of {rust:?}"
    );
    let browser = browser_candidate_addresses(&s);
    assert!(browser.contains(&remote), "{remote} is none of {browser:?}");
}

/// The credentials are what opens the relay: with a wrong secret the browser gets a
/// 401 candidate error and gathers no relayed candidate (so nothing connects).
#[test]
fn chromium_with_a_wrong_turn_secret_gathers_no_relay() {
    let Some(_guard) = setup() else { return };
    let Some(turn) = Turn::start(52) else { return };
    let options = Options {
        pc_config: Some(turn.pc_config("not-the-secret", "browser")),
        ..Options::default()
    };
    let out = tmp_file("turn-wrong-secret.ivf");
    let mut s = Session::start(&options, common::RustSide::Receive { out });
    s.send_page(json!({"type": "start-offer", "video": true}));
    s.wait_page("gathering-done", Duration::from_secs(20));
    let errors = candidate_errors(&s);
    eprintln!("MEASURE wrong secret: candidate errors {errors:?}");
    assert!(!errors.is_empty(), "no candidate error");
    assert!(
        errors
            .iter()
            .all(|e| e["errorCode"] == 401 && e["url"] == turn.url().as_str()),
        "{errors:?}"
    );
    assert_eq!(browser_candidate_types(&s), Vec::new());
}
