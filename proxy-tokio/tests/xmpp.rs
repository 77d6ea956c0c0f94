//! The program over a real XMPP server: two `proxy-connection` processes, a
//! receiver (anonymous, over WebSocket) and a sender (account `alice`, over TCP with
//! STARTTLS), connected only through one Prosody and its room, proxy the clip
//! relay-only through coturn with TURN credentials they fetched over XEP-0215; every
//! frame arrives. Prosody and coturn are started per test on 127.0.0.1 (skipped
//! with a message without them, unless `CI=true`).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::coturn::Coturn;
use common::prosody::{Prosody, ProsodyOptions, DOMAIN, GUEST_DOMAIN, MUC_DOMAIN};
use common::{assert_whole_clip, exit_code, spawn_logged, tmp, BIN, CLIP};
use tokio::process::Command;

/// The receiver's nickname in the room.
const DEVICE: &str = "device";

fn room(name: &str) -> String {
    format!("{name}@{MUC_DOMAIN}")
}

/// `proxy-connection receive` as a room device: anonymous, over WebSocket.
fn receive_over_ws(prosody: &Prosody, room: &str, out: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.args([
        "receive",
        "--xmpp",
        &prosody.ws_url(),
        "--domain",
        GUEST_DOMAIN,
    ])
    .args(["--room", room, "--nick", DEVICE, "--bind", "127.0.0.1:0"])
    .arg("--out")
    .arg(out);
    c
}

/// `proxy-connection send` as `alice`, over TCP with STARTTLS, to the device.
fn send_over_tcp(prosody: &Prosody, room: &str) -> Command {
    let mut c = Command::new(BIN);
    c.args([
        "send",
        "--xmpp",
        &format!("xmpp://127.0.0.1:{}", prosody.c2s_port),
    ])
    .args([
        "--domain",
        DOMAIN,
        "--user",
        "alice",
        "--password",
        "secret1",
    ])
    .arg("--xmpp-ca")
    .arg(&prosody.cert)
    .args(["--room", room, "--nick", "laptop", "--bind", "127.0.0.1:0"])
    .args(["--to", &format!("{room}/{DEVICE}"), CLIP]);
    c
}

/// Relay-only both ways, TURN credentials only from XEP-0215: the programs are
/// given no ICE server at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_programs_through_prosody_relay_only_with_turn_from_xep_0215() {
    let Some(turn) = Coturn::start(40).await else {
        return;
    };
    let Some(prosody) = Prosody::start(ProsodyOptions::default().with_coturn(&turn)).await else {
        return;
    };
    let room = room("relay");
    let out = tmp("xmpp-relay.ivf");
    let coturn_ca = turn.cert.to_str().unwrap().to_owned();
    let started = Instant::now();
    let mut receive = receive_over_ws(&prosody, &room, &out);
    receive.args(["--relay-only", "--ice-ca", &coturn_ca]);
    let (mut receiver, mut receiver_log) = spawn_logged(receive);
    let within = Duration::from_secs(20);
    receiver_log.wait_for("xmpp: online as ", within).await;
    let ice = receiver_log
        .wait_for("ICE servers from XEP-0215", within)
        .await;
    assert!(
        ice.contains(&format!("turn:127.0.0.1:{}?transport=udp", turn.port)),
        "{ice}"
    );
    receiver_log
        .wait_for(&format!("xmpp: joined {room}/{DEVICE}"), within)
        .await;
    receiver_log
        .wait_for("waiting for a session-initiate", within)
        .await;

    let mut send = send_over_tcp(&prosody, &room);
    send.args(["--relay-only", "--ice-ca", &coturn_ca]);
    let (mut sender, mut sender_log) = spawn_logged(send);
    sender_log
        .wait_for("ICE servers from XEP-0215", within)
        .await;
    sender_log.wait_for("connected to", within).await;
    let path = sender_log.wait_for("media path:", within).await;
    assert!(path.contains("relay/"), "relay-only: {path}");
    let first_frame = receiver_log.wait_for("first frame", within).await;
    eprintln!(
        "MEASURE xmpp+turn: receiver start to first frame {:?} ({first_frame})",
        started.elapsed()
    );

    assert_eq!(
        exit_code(&mut sender, Duration::from_secs(30)).await,
        Some(0)
    );
    assert_eq!(
        exit_code(&mut receiver, Duration::from_secs(10)).await,
        Some(0)
    );
    let log = receiver_log.all().await;
    assert!(
        log.contains("session-terminate") || log.contains("closed"),
        "{log}"
    );
    assert_whole_clip(&out);
}

/// The other transports and envelopes, host candidates: the receiver logs in
/// anonymously with direct TLS (`xmpps://`) and sends its IQs in Jitsi Spot's JSON
/// form; the sender logs in as `bob` over a WebSocket and sends `jitsi:proxy`
/// `<data>` envelopes. Each side reads the other's form; every frame arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_tls_and_websocket_with_the_wrapped_envelopes() {
    let Some(prosody) = Prosody::start(ProsodyOptions::default()).await else {
        return;
    };
    let room = room("wrapped");
    let out = tmp("xmpp-wrapped.ivf");
    let mut receive = Command::new(BIN);
    receive
        .args([
            "receive",
            "--xmpp",
            &format!("xmpps://127.0.0.1:{}", prosody.tls_port),
        ])
        .args(["--domain", GUEST_DOMAIN, "--xmpp-ca"])
        .arg(&prosody.cert)
        .args(["--room", &room, "--nick", DEVICE, "--envelope", "spot"])
        .args(["--bind", "127.0.0.1:0", "--out"])
        .arg(&out);
    let (mut receiver, mut receiver_log) = spawn_logged(receive);
    let within = Duration::from_secs(20);
    receiver_log
        .wait_for("waiting for a session-initiate", within)
        .await;
    let mut send = Command::new(BIN);
    send.args(["send", "--xmpp", &prosody.ws_url(), "--domain", DOMAIN])
        .args(["--user", "bob", "--password", "secret2"])
        .args([
            "--room",
            &room,
            "--nick",
            "laptop",
            "--envelope",
            "jitsi-proxy",
        ])
        .args([
            "--bind",
            "127.0.0.1:0",
            "--to",
            &format!("{room}/{DEVICE}"),
            CLIP,
        ]);
    let (mut sender, mut sender_log) = spawn_logged(send);
    sender_log
        .wait_for("xmpp: online as bob@localhost/", within)
        .await;
    sender_log.wait_for("connected to", within).await;
    assert_eq!(
        exit_code(&mut sender, Duration::from_secs(30)).await,
        Some(0)
    );
    assert_eq!(
        exit_code(&mut receiver, Duration::from_secs(10)).await,
        Some(0)
    );
    assert_whole_clip(&out);
    let logs = format!("{}\n{}", sender_log.all().await, receiver_log.all().await);
    assert!(!logs.contains("refused"), "{logs}");
}

/// An occupant that vanishes (its process killed, so no session-terminate and no
/// DTLS close) leaves the room; Prosody's `unavailable` presence ends the receiver's
/// session at once, as lib-jitsi-meet synthesizes it, long before ICE would notice
/// (5 s of silence).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_gone_from_the_room_is_unavailable() {
    let Some(prosody) = Prosody::start(ProsodyOptions::default()).await else {
        return;
    };
    let room = room("gone");
    let out = tmp("xmpp-gone.ivf");
    let (mut receiver, mut receiver_log) = spawn_logged(receive_over_ws(&prosody, &room, &out));
    let within = Duration::from_secs(20);
    receiver_log
        .wait_for("waiting for a session-initiate", within)
        .await;
    let (sender, mut sender_log) = spawn_logged(send_over_tcp(&prosody, &room));
    sender_log.wait_for("connected to", within).await;
    receiver_log.wait_for("first frame", within).await;
    common::kill(&sender, "KILL");
    let killed = Instant::now();
    let closed = receiver_log
        .wait_for("closed: peer unavailable", Duration::from_secs(4))
        .await;
    let after = killed.elapsed();
    eprintln!("MEASURE unavailable {after:?} after the peer was killed: {closed}");
    receiver_log
        .wait_for(&format!("xmpp: {room}/laptop left the room"), within)
        .await;
    assert_eq!(
        exit_code(&mut receiver, Duration::from_secs(10)).await,
        Some(0)
    );
}
