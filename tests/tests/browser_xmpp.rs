//! Headless Chromium speaking XMPP over WebSocket (strophe.js from npm) through a real
//! Prosody to the Rust receiver.
//!
//! Each test starts Debian's Prosody on 127.0.0.1 (proxy-tokio's
//! `tests/common/prosody.rs`, included by path: anonymous logins on `guest.localhost`,
//! the MUC `conference.localhost`, `mod_websocket`). The page
//! (`browser/page.html`, driven by `browser/harness.mjs`) logs in anonymously over
//! `ws://127.0.0.1:PORT/xmpp-websocket`, joins a room, sends IQs given as strings
//! (with an id stamped when they have none: Prosody refuses IQs without one) and
//! answers every IQ set it gets with a result, as lib-jitsi-meet's connection does.
//! The Rust side is the real `proxy-connection receive --xmpp`, an occupant of the
//! same room; lib-jitsi-meet's IQs travel as they are (the `direct` envelope).
//!
//! Needs what the browser tests need plus strophe.js in `browser/node_modules` and
//! prosody (browser/run.sh installs them). When they are missing the tests are
//! skipped, unless `CI=true`, where that is a failure.

mod common;

// Shared with proxy-tokio's XMPP tests, not copied. prosody.rs finds `coturn`, `tmp`
// and `kill` beside it, as in proxy-tokio's tests/common/mod.rs.
#[allow(dead_code)]
#[path = "../../proxy-tokio/tests/common/coturn.rs"]
mod coturn;
#[allow(dead_code)]
#[path = "../../proxy-tokio/tests/common/prosody.rs"]
mod prosody;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{ffprobe, repo_root, setup_xmpp, tmp_file, Options, RustSide, Session};
use proxy_core::jingle::{Action, Jingle, Setup};
use proxy_core::{parse_iq, DefinedCondition, Iq, IqType, Limits};
use serde_json::{json, Value};

/// The room every occupant joins.
const ROOM: &str = "screenshare@conference.localhost";
/// The Rust receiver's nickname: its occupant JID is `ROOM/device`.
const DEVICE_NICK: &str = "device";
/// The page's nickname.
const PAGE_NICK: &str = "laptop";
/// How long a login and room join may take.
const ONLINE_WITHIN: Duration = Duration::from_secs(15);
/// How long an answer through Prosody may take.
const ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// A fresh path in the target's temporary directory (prosody.rs and coturn.rs use it).
fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("{}-{name}", std::process::id()))
}

/// Sends `signal` to `child` (prosody.rs's stop and crash).
#[allow(dead_code)]
fn kill(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().expect("the child is running");
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} {pid}");
}

/// A Prosody and the runtime that reads its log (prosody.rs is async); the server is
/// killed first, then the runtime is shut down.
struct Server {
    prosody: prosody::Prosody,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    /// Starts one; `None` to skip (never under CI=true, where prosody.rs fails).
    fn start() -> Option<Server> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let prosody =
            runtime.block_on(prosody::Prosody::start(prosody::ProsodyOptions::default()))?;
        Some(Server {
            prosody,
            _runtime: runtime,
        })
    }

    /// `ws://127.0.0.1:HTTP/xmpp-websocket`.
    fn ws_url(&self) -> String {
        self.prosody.ws_url()
    }
}

/// The project's copy of a captured lib-jitsi-meet IQ (proxy-core/tests/vectors).
fn vector(name: &str) -> String {
    let path = repo_root().join("proxy-core/tests/vectors").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The occupant JID of `nick` in [`ROOM`].
fn occupant(nick: &str) -> String {
    format!("{ROOM}/{nick}")
}

/// Logs the page's connection `conn` in anonymously and joins [`ROOM`] as `nick`;
/// returns its full JID.
fn page_join(s: &mut Session, server: &Server, conn: &str, nick: &str) -> String {
    s.send_page(json!({
        "type": "xmpp-connect", "conn": conn, "url": server.ws_url(),
        "domain": prosody::GUEST_DOMAIN, "room": ROOM, "nick": nick,
    }));
    let online = wait_page_xmpp(s, conn, "xmpp-online", ONLINE_WITHIN);
    let jid = online["jid"].as_str().expect("a JID").to_owned();
    let (_, domain_resource) = jid.split_once('@').expect("an anonymous JID has a node");
    assert!(
        domain_resource.starts_with(&format!("{}/", prosody::GUEST_DOMAIN)),
        "anonymous login on {}: {jid}",
        prosody::GUEST_DOMAIN
    );
    let joined = wait_page_xmpp(s, conn, "xmpp-joined", ONLINE_WITHIN);
    assert_eq!(joined["jid"], occupant(nick), "{joined}");
    jid
}

/// Pumps until the page's connection `conn` reports `ev` (an `xmpp-error` of the
/// same connection first is a failure); panics after `within`.
fn wait_page_xmpp(s: &mut Session, conn: &str, ev: &str, within: Duration) -> Value {
    let got = s.pump_until(within, |e| {
        matches!(e, common::Ev::Page(v) if v["conn"] == conn
            && (v["ev"] == ev || (v["ev"] == "xmpp-error" && ev != "xmpp-error")))
    });
    match got {
        Some((_, common::Ev::Page(v))) => {
            assert_eq!(v["ev"], ev, "page connection {conn}: {v}");
            v
        }
        _ => panic!("page connection {conn}: no {ev} within {within:?}"),
    }
}

/// Pumps until the page reports the answer (`xmpp-result` or `xmpp-error`) to the IQ
/// it sent with `id`; panics after `within`.
fn wait_answer(s: &mut Session, id: &str, within: Duration) -> Value {
    let got = s.pump_until(within, |e| {
        matches!(e, common::Ev::Page(v) if v["id"] == id
            && (v["ev"] == "xmpp-result" || v["ev"] == "xmpp-error"))
    });
    match got {
        Some((_, common::Ev::Page(v))) => v,
        _ => panic!("no answer to IQ {id} within {within:?}"),
    }
}

/// Sends `iq` from the page's connection `conn` to `to`; returns the id it went with.
fn page_send(s: &mut Session, conn: &str, to: &str, iq: &str) -> String {
    s.send_page(json!({"type": "xmpp-send", "conn": conn, "to": to, "iq": iq}));
    let sent = wait_page_xmpp(s, conn, "xmpp-sent", ANSWER_WITHIN);
    sent["id"].as_str().expect("an id").to_owned()
}

/// The Jingle of an IQ the page reported, if it has one.
fn jingle_of(v: &Value) -> Option<Jingle> {
    parse_iq(v["iq"].as_str()?, &Limits::default()).ok()?.jingle
}

/// The first IQ set the page's connection `conn` received (`xmpp-iq`) for which
/// `pred` holds, already seen or arriving within `within`; its time and event.
fn wait_received(
    s: &mut Session,
    conn: &str,
    within: Duration,
    pred: impl Fn(&Value) -> bool,
) -> (Instant, Value) {
    let deadline = Instant::now() + within;
    loop {
        let seen = s
            .page_log
            .iter()
            .find(|(_, v)| v["conn"] == conn && v["ev"] == "xmpp-iq" && pred(v));
        if let Some(found) = seen {
            return found.clone();
        }
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "page connection {conn}: not received within {within:?}"
        );
        s.pump_until(
            left,
            |e| matches!(e, common::Ev::Page(v) if v["ev"] == "xmpp-iq"),
        );
    }
}

/// The `127.0.0.1` candidates (`ip:port`) in the session-accept or transport-info the
/// page reported in `v`.
fn loopback_candidates(v: &Value) -> Vec<String> {
    let Some(jingle) = jingle_of(v) else {
        return Vec::new();
    };
    if !matches!(jingle.action, Action::SessionAccept | Action::TransportInfo) {
        return Vec::new();
    }
    jingle
        .contents
        .into_iter()
        .filter_map(|c| c.transport)
        .flat_map(|t| t.candidates)
        .filter(|c| c.ip == "127.0.0.1")
        .map(|c| format!("{}:{}", c.ip, c.port))
        .collect()
}

/// Parses an IQ the page reported.
fn parsed(v: &Value) -> Iq {
    let text = v["iq"].as_str().unwrap_or_else(|| panic!("no iq in {v}"));
    parse_iq(text, &Limits::default()).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// No Rust program: two strophe.js connections of one page, each an occupant of the
/// room, pass lib-jitsi-meet's captured session-initiate (vector 01, which has no id)
/// through Prosody's MUC. What arrives is the captured Jingle unchanged, from the
/// sender's occupant JID; the receiving connection's result comes back to the sender
/// under the id the page stamped. An IQ to an occupant who is not there gets an error.
#[test]
fn two_strophe_connections_pass_a_captured_iq_through_prosody() {
    let Some(_guard) = setup_xmpp() else { return };
    let Some(server) = Server::start() else {
        return;
    };
    let mut s = Session::start(&Options::default(), RustSide::Nothing);
    let a = page_join(&mut s, &server, "a", PAGE_NICK);
    let b = page_join(&mut s, &server, "b", DEVICE_NICK);
    assert_ne!(a, b, "two anonymous logins, two JIDs");

    let captured = vector("01-session-initiate.sender-to-receiver.xml");
    let original = parse_iq(&captured, &Limits::default()).expect("vector 01 parses");
    assert_eq!(original.id, None, "lib-jitsi-meet sends no id");
    let t_sent = Instant::now();
    let id = page_send(&mut s, "a", &occupant(DEVICE_NICK), &captured);

    let got = wait_page_xmpp(&mut s, "b", "xmpp-iq", ANSWER_WITHIN);
    assert_eq!(got["from"], occupant(PAGE_NICK), "{got}");
    let delivered = parsed(&got);
    assert_eq!(delivered.kind, IqType::Set);
    assert_eq!(
        delivered.to.as_deref(),
        Some(b.as_str()),
        "the MUC delivers to the real JID"
    );
    assert!(delivered.id.is_some(), "delivered with an id");
    assert_eq!(
        delivered.jingle, original.jingle,
        "the Jingle arrives unchanged"
    );

    let answer = wait_answer(&mut s, &id, ANSWER_WITHIN);
    let t_answer = Instant::now();
    assert_eq!(answer["ev"], "xmpp-result", "{answer}");
    assert_eq!(answer["from"], occupant(DEVICE_NICK), "{answer}");
    let result = parsed(&answer);
    assert_eq!(result.kind, IqType::Result);
    assert_eq!(result.id.as_deref(), Some(id.as_str()));
    eprintln!(
        "MEASURE page -> Prosody -> page IQ and result: {:?}",
        t_answer.duration_since(t_sent)
    );

    // Nobody by that nickname: Prosody's MUC answers for the occupant.
    let id = page_send(&mut s, "a", &occupant("nobody"), &captured);
    let answer = wait_answer(&mut s, &id, ANSWER_WITHIN);
    assert_eq!(answer["ev"], "xmpp-error", "{answer}");
    let error = parsed(&answer);
    assert_eq!(error.kind, IqType::Error, "{answer}");
    assert_eq!(
        error.error.map(|e| e.condition),
        Some(DefinedCondition::ItemNotFound),
        "{answer}"
    );
}

/// `proxy-connection receive` over XMPP: anonymous on [`GUEST_DOMAIN`], the occupant
/// `ROOM/device`, recording to `out`.
///
/// [`GUEST_DOMAIN`]: prosody::GUEST_DOMAIN
fn receive_args(server: &Server, out: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "receive",
        "--xmpp",
        &server.ws_url(),
        "--domain",
        prosody::GUEST_DOMAIN,
        "--room",
        ROOM,
        "--nick",
        DEVICE_NICK,
        "--bind",
        "127.0.0.1:0",
        "--convert-video-to-desktop",
        "--out",
    ]
    .map(str::to_owned)
    .to_vec();
    args.push(out.to_str().expect("a UTF-8 path").to_owned());
    args
}

/// Starts the page and `receive --xmpp`, waits until the receiver is online, in the
/// room and waiting, then logs the page's connection `main` in and joins it as
/// [`PAGE_NICK`]. `bridged`: the IQs the page gets are the bridge's to convert.
fn start_over_xmpp(server: &Server, out: &Path, bridged: bool) -> Session {
    let options = Options {
        xmpp_to: bridged.then(|| occupant(DEVICE_NICK)),
        ..Options::default()
    };
    let mut s = Session::start(&options, RustSide::Args(receive_args(server, out)));
    let (_, online) = s
        .wait_rust_log("xmpp: online as", ONLINE_WITHIN)
        .expect("receive did not log in");
    assert!(
        online.contains(&format!("@{}/", prosody::GUEST_DOMAIN)),
        "{online}"
    );
    let (_, joined) = s
        .wait_rust_log("xmpp: joined", ONLINE_WITHIN)
        .expect("receive did not join the room");
    assert!(joined.contains(&occupant(DEVICE_NICK)), "{joined}");
    s.wait_rust_log("waiting for a session-initiate", ONLINE_WITHIN)
        .expect("receive is not waiting");
    page_join(&mut s, server, "main", PAGE_NICK);
    s
}

/// lib-jitsi-meet's captured session-initiate (vector 01) and transport-info (vector
/// 04), sent by the page through Prosody as they were captured (no id, the page stamps
/// one; `to` set to the receiver's occupant JID): the receiver acks each with a result
/// and answers with its session-accept (to the page's occupant JID, `initiator` that
/// JID, one video content `0`, `setup` active or passive) with its 127.0.0.1 host
/// candidate (in the accept, or trickled in transport-info).
/// The capture's browser is gone, so no connection can form; the page then ends the
/// session with a session-terminate, and `receive` exits 4 (the peer ended it before
/// any connection: `no connection`).
#[test]
fn captured_lib_jitsi_meet_iqs_reach_receive_through_prosody() {
    let Some(_guard) = setup_xmpp() else { return };
    let Some(server) = Server::start() else {
        return;
    };
    let out = tmp_file("xmpp-captured.ivf");
    let mut s = start_over_xmpp(&server, &out, false);
    let device = occupant(DEVICE_NICK);

    let t_sent = Instant::now();
    let initiate = vector("01-session-initiate.sender-to-receiver.xml");
    let id = page_send(&mut s, "main", &device, &initiate);
    let answer = wait_answer(&mut s, &id, ANSWER_WITHIN);
    let t_result = Instant::now();
    assert_eq!(answer["ev"], "xmpp-result", "{answer}");
    assert_eq!(answer["from"], device, "{answer}");
    assert_eq!(parsed(&answer).id.as_deref(), Some(id.as_str()));

    let (t_accept, accept) = wait_received(&mut s, "main", ANSWER_WITHIN, |v| {
        jingle_of(v).is_some_and(|j| j.action == Action::SessionAccept)
    });
    assert_eq!(accept["from"], device, "{accept}");
    let iq = parsed(&accept);
    assert_eq!(iq.kind, IqType::Set);
    let jingle = iq.jingle.expect("a Jingle IQ");
    assert_eq!(jingle.action, Action::SessionAccept, "{}", accept["iq"]);
    assert_eq!(
        jingle.initiator.as_deref(),
        Some(occupant(PAGE_NICK).as_str()),
        "the initiator is the page as the receiver saw it"
    );
    let names: Vec<&str> = jingle.contents.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["0"], "one content, the offer's mid");
    let description = jingle.contents[0]
        .description
        .as_ref()
        .expect("a description");
    assert_eq!(description.media.as_str(), "video");
    let fingerprint = jingle.contents[0]
        .transport
        .as_ref()
        .and_then(|t| t.fingerprint.as_ref())
        .expect("a DTLS fingerprint");
    // An answer to 'actpass' picks a role (RFC 5763); lib-jitsi-meet's Chromium picks
    // 'active' (vector 02), str0m 'passive'.
    assert!(
        matches!(fingerprint.setup, Some(Setup::Active | Setup::Passive)),
        "setup {:?}",
        fingerprint.setup
    );
    eprintln!("MEASURE receive's answer: setup {:?}", fingerprint.setup);
    eprintln!(
        "MEASURE captured session-initiate -> result {:?}, -> session-accept {:?} (through Prosody)",
        t_result.duration_since(t_sent),
        t_accept.duration_since(t_sent)
    );

    // The captured sender's candidates: acked too.
    let info = vector("04-transport-info.sender-to-receiver.xml");
    let id = page_send(&mut s, "main", &device, &info);
    let answer = wait_answer(&mut s, &id, ANSWER_WITHIN);
    assert_eq!(answer["ev"], "xmpp-result", "{answer}");

    // The receiver's candidates: in its session-accept (its host candidates are known
    // at once) or trickled in transport-info; among them its 127.0.0.1 host candidate.
    let (_, info) = wait_received(&mut s, "main", ANSWER_WITHIN, |v| {
        !loopback_candidates(v).is_empty()
    });
    assert_eq!(info["from"], device, "{info}");
    // Every IQ set the page got came from the receiver.
    for (_, v) in s.page_log.iter().filter(|(_, v)| v["ev"] == "xmpp-iq") {
        assert_eq!(v["from"], device, "{v}");
    }

    let terminate = s.bridge.terminate_iq();
    let id = page_send(&mut s, "main", &device, &terminate);
    let answer = wait_answer(&mut s, &id, ANSWER_WITHIN);
    assert_eq!(answer["ev"], "xmpp-result", "{answer}");
    let (_, status) = s
        .wait_rust_exit(Duration::from_secs(10))
        .expect("receive did not exit after session-terminate");
    assert_eq!(
        status.code(),
        Some(4),
        "ended before any connection: {status:?}"
    );
    assert!(s.log_has("no connection"), "receive says why");
    let errors: Vec<&Value> = s
        .page_log
        .iter()
        .map(|(_, v)| v)
        .filter(|v| v["ev"] == "xmpp-error" || v["ev"] == "error")
        .collect();
    assert!(errors.is_empty(), "page errors: {errors:?}");
}

/// Real media with XMPP signaling: the page's RTCPeerConnection offer, converted by
/// the bridge into lib-jitsi-meet's Jingle, goes page -> Prosody -> `receive`; the
/// receiver's session-accept and candidates come back Prosody -> page -> bridge ->
/// page. Frames flow; the page stops with a session-terminate over XMPP and `receive`
/// exits 0 with >= 60 frames written, which ffprobe reads as 640x360 VP8.
#[test]
fn browser_offer_over_xmpp_reaches_receive_and_records_frames() {
    let Some(_guard) = setup_xmpp() else { return };
    let Some(server) = Server::start() else {
        return;
    };
    let out = tmp_file("xmpp-video.ivf");
    let _ = std::fs::remove_file(&out);
    let mut s = start_over_xmpp(&server, &out, true);
    s.bridge.browser_jid = occupant(PAGE_NICK);
    s.bridge.rust_jid = occupant(DEVICE_NICK);

    s.send_page(json!({"type": "start-offer", "video": true}));
    let (t_offer, _) = s.wait_page("offer", Duration::from_secs(20));
    let (t_connected, _) = s
        .wait_rust_log("connected to", Duration::from_secs(25))
        .expect("receive did not connect");
    let connected = t_connected.duration_since(t_offer);
    eprintln!("MEASURE browser offer -> receive connected (over XMPP): {connected:?}");
    let (_, track) = s
        .wait_rust_log("remote track", Duration::from_secs(10))
        .expect("no remote track");
    assert!(track.contains("video desktop"), "{track}");
    assert!(track.contains("source peer-v0"), "{track}");
    // The receiver's peer is the page's occupant JID.
    assert!(
        s.log_has(&format!("connected to {}", occupant(PAGE_NICK))),
        "connected to the page's occupant JID"
    );

    // The first frame: receive logs it as it reaches the recorder.
    let (t_first, _) = s
        .wait_rust_log("first frame", Duration::from_secs(10))
        .expect("no frame within 10 s");
    eprintln!(
        "MEASURE browser offer -> first frame at receive (over XMPP): {:?}",
        t_first.duration_since(t_offer)
    );
    s.pump_for(Duration::from_secs(3));

    // Every Jingle IQ went over XMPP and was acked: no xmpp-error, and the answer and
    // the receiver's candidates reached the page that way.
    let accepts = s
        .from_rust
        .iter()
        .filter_map(|iq| parse_iq(iq, &Limits::default()).ok()?.jingle)
        .filter(|j| j.action == Action::SessionAccept)
        .count();
    assert_eq!(accepts, 1, "one session-accept over XMPP");
    let candidates: usize = s
        .page_log
        .iter()
        .filter(|(_, v)| v["ev"] == "xmpp-iq")
        .map(|(_, v)| loopback_candidates(v).len())
        .sum();
    assert!(candidates > 0, "the receiver's candidates came over XMPP");
    let t_accept = s
        .page_log
        .iter()
        .find(|(_, v)| {
            v["ev"] == "xmpp-iq"
                && v["iq"]
                    .as_str()
                    .is_some_and(|iq| iq.contains("session-accept"))
        })
        .map(|(t, _)| *t)
        .expect("the session-accept reached the page");
    eprintln!(
        "MEASURE browser offer -> session-accept at the page (through Prosody twice): {:?}",
        t_accept.duration_since(t_offer)
    );
    let results = s
        .page_log
        .iter()
        .filter(|(_, v)| v["ev"] == "xmpp-result")
        .count();
    assert_eq!(results, s.to_rust.len(), "every IQ to the receiver acked");
    let stats = s.stats();
    assert_eq!(stats["remote"]["address"], "127.0.0.1", "{stats}");

    let (took, _) = s.terminate_rust();
    eprintln!("MEASURE session-terminate over XMPP -> receive exit: {took:?}");
    assert!(
        s.log_has("peer terminated (success)"),
        "ended by the terminate"
    );
    let frames = s.frames_written().expect("no 'wrote N frames' line");
    eprintln!("MEASURE browser->rust frames written (over XMPP): {frames}");
    assert!(frames >= 60, "only {frames} frames");
    let (w, h, n) = ffprobe(&out);
    eprintln!("MEASURE ffprobe: {w}x{h}, {n} frames");
    assert_eq!((w, h), (640, 360));
    assert_eq!(n, frames, "ffprobe reads every frame written");
    let errors: Vec<&Value> = s
        .page_log
        .iter()
        .map(|(_, v)| v)
        .filter(|v| v["ev"] == "xmpp-error" || v["ev"] == "error")
        .collect();
    assert!(errors.is_empty(), "page errors: {errors:?}");
}
