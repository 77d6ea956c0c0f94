//! The program through a real TURN server: Debian's coturn, started per test on
//! 127.0.0.1 with a REST secret. Relay-only sessions over TURN/UDP, TURN/TCP and
//! TURN/TLS deliver every frame of the clip; a wrong secret is a clear warning and
//! host candidates still connect; an unreachable TURN server does not delay a host
//! connection. Skipped (with a message) without coturn, unless `CI=true`.

mod common;

use std::time::Duration;

use common::coturn::{candidate_types, Coturn, SECRET};
use common::{assert_whole_clip, connect_pair, receive_command, send_command, tmp};

/// The time in a "connected to PEER in 75.8 ms" log line.
fn connect_time(line: &str) -> Duration {
    let text = line.rsplit(" in ").next().unwrap_or_default();
    let (n, unit) = text.split_once(' ').unwrap_or((text, ""));
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("no time in {line:?}"));
    match unit {
        "ms" => Duration::from_secs_f64(n / 1000.0),
        "s" => Duration::from_secs_f64(n),
        _ => panic!("no unit in {line:?}"),
    }
}

/// A relay-only `send` -> `receive` session through `url` delivers the whole clip.
async fn relay_only(index: u16, name: &str, url: impl Fn(&Coturn) -> String) {
    let Some(turn) = Coturn::start(index).await else {
        return;
    };
    let url = url(&turn);
    let cert = turn.cert.to_str().unwrap().to_owned();
    let ice = [
        "--ice-server",
        url.as_str(),
        "--turn-secret",
        SECRET,
        "--relay-only",
        "--ice-ca",
        cert.as_str(),
    ];
    let out = tmp(&format!("{name}.ivf"));
    let mut receive = receive_command(&out);
    receive.args(ice);
    let mut send = send_command();
    send.args(ice);
    let mut pair = connect_pair(receive, send);
    let line = pair
        .sender_log
        .wait_for("connected to", Duration::from_secs(20))
        .await;
    let took = connect_time(&line);
    eprintln!("FIGURE relay-only over {name}: connected in {took:?}");
    pair.both_exit_0().await;
    let log = pair.sender_log.all().await;
    assert!(!log.contains("not used"), "a relay failed:\n{log}");
    for iqs in [
        pair.sent_by_sender.await.unwrap(),
        pair.sent_by_receiver.await.unwrap(),
    ] {
        let types = candidate_types(&iqs);
        assert!(!types.is_empty(), "no candidates");
        assert!(types.iter().all(|t| t == "relay"), "{types:?}");
    }
    assert_whole_clip(&out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_over_turn_udp() {
    relay_only(0, "turn-udp", |t| {
        format!("turn:127.0.0.1:{}?transport=udp", t.port)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_over_turn_tcp() {
    relay_only(1, "turn-tcp", |t| {
        format!("turn:127.0.0.1:{}?transport=tcp", t.port)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_only_over_turn_tls() {
    relay_only(2, "turn-tls", |t| format!("turns:127.0.0.1:{}", t.tls_port)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_is_a_clear_warning_and_host_candidates_connect() {
    let Some(turn) = Coturn::start(3).await else {
        return;
    };
    let url = format!("turn:127.0.0.1:{}?transport=udp", turn.port);
    let out = tmp("wrong-secret.ivf");
    let mut send = send_command();
    send.args(["--ice-server", &url, "--turn-secret", "not-the-secret"]);
    let mut pair = connect_pair(receive_command(&out), send);
    let warning = pair
        .sender_log
        .wait_for("not used", Duration::from_secs(10))
        .await;
    assert!(
        warning.contains(&url) && warning.contains("refused the allocation with error 401"),
        "{warning}"
    );
    pair.both_exit_0().await;
    assert_whole_clip(&out);
}

/// Time to "connected" of a session whose two sides get `ice` arguments.
async fn time_to_connect(ice: &[String]) -> Duration {
    let out = tmp("unreachable.ivf");
    let mut receive = receive_command(&out);
    receive.args(ice);
    let mut send = send_command();
    send.args(ice);
    let mut pair = connect_pair(receive, send);
    let line = pair
        .sender_log
        .wait_for("connected to", Duration::from_secs(20))
        .await;
    // Dropping the pair kills both.
    connect_time(&line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_turn_server_does_not_delay_a_host_connection() {
    // A UDP port that swallows everything, and a TCP port nobody listens on.
    let hole = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let ice: Vec<String> = [
        format!(
            "turn:127.0.0.1:{}?transport=udp",
            hole.local_addr().unwrap().port()
        ),
        format!("turn:127.0.0.1:{closed_port}?transport=tcp"),
    ]
    .into_iter()
    .flat_map(|url| ["--ice-server".to_owned(), url])
    .chain(["--turn-secret".to_owned(), SECRET.to_owned()])
    .collect();
    // Alternate, and take each side's best of two (process start-up is noisy).
    let mut without = Vec::new();
    let mut with = Vec::new();
    for _ in 0..2 {
        without.push(time_to_connect(&[]).await);
        with.push(time_to_connect(&ice).await);
    }
    let (without, with) = (*without.iter().min().unwrap(), *with.iter().min().unwrap());
    let delay = with.saturating_sub(without);
    eprintln!("FIGURE host connect: {without:?} without TURN, {with:?} with an unreachable one (delay {delay:?})");
    assert!(delay <= Duration::from_millis(100), "delayed by {delay:?}");
}
