//! The program's XMPP signaling when the server fails it:
//!
//! - a real Prosody restarted (SIGTERM, then started again on the same ports)
//!   while media flows between two programs that found each other through its
//!   room: the media goes on, both clients come back online and rejoin, and
//!   signaling works afterwards (a third program is refused through Prosody, the
//!   final session-terminate travels over XMPP);
//! - a hostile scripted server (plain TCP on 127.0.0.1, `--xmpp-tls none`) that
//!   logs the client in and then sends an endless stanza, an unknown stream error
//!   condition, a SASL `not-authorized`, or XEP-0215 answers that mean nothing.
//!
//! No log line may say "panicked"; every wait is bounded.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::prosody::{Prosody, ProsodyOptions, DOMAIN, GUEST_DOMAIN, MUC_DOMAIN};
use common::xmpp_script::{
    attr, vm_hwm_kib, ws_frame_header, ScriptConn, ScriptServer, WsScriptServer, NS_SASL,
    NS_STREAM_ERRORS,
};
use common::{exit_code, kill, read_ivf, spawn_logged, tmp, IvfFrame, Log, BIN, CLIP};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

/// The domain the scripted server claims.
const HOSTILE: &str = "hostile.test";
/// How long a line of the program's log may take.
const WITHIN: Duration = Duration::from_secs(20);

/// Interrupts a program (SIGINT), waits for its exit and returns its whole log,
/// which must not report a panic.
async fn finish(child: &mut Child, log: &mut Log) -> String {
    if child.try_wait().unwrap().is_none() {
        kill(child, "INT");
    }
    let code = exit_code(child, Duration::from_secs(10)).await;
    let text = log.all().await;
    assert_no_panic(&text);
    eprintln!("(exit {code:?})");
    text
}

fn assert_no_panic(log: &str) {
    assert!(!log.contains("panicked"), "a panic in the log:\n{log}");
}

// ---------------------------------------------------------------------------
// The hostile server.

/// `receive` as a guest of the scripted server, plain text.
fn receive_hostile(server: &ScriptServer, out: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.args(["receive", "--xmpp", &server.url(), "--domain", HOSTILE])
        .args(["--xmpp-tls", "none", "--bind", "127.0.0.1:0"])
        .arg("--out")
        .arg(out);
    c
}

/// Logs the client in, answers XEP-0215 with an empty list, and waits until the
/// program is ready for a session.
async fn log_in(conn: &mut ScriptConn, log: &mut Log) -> String {
    let jid = conn.login_anonymous("guest").await;
    let id = conn.extdisco_query().await;
    conn.send(&format!(
        "<iq type='result' id='{id}'><services xmlns='urn:xmpp:extdisco:2'/></iq>"
    ))
    .await;
    log.wait_for("waiting for a session-initiate", WITHIN).await;
    jid
}

/// An endless `<message>` (64 MiB streamed): the client gives up on it at its
/// stanza size limit (256 KiB) with a clear error, closes the connection (the
/// server's writes fail long before 64 MiB), its memory stays far below what was
/// sent, and it reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_stanza_is_refused_at_the_size_limit_with_bounded_memory() {
    const SENT: usize = 64 << 20;
    let mut server = ScriptServer::bind(HOSTILE).await;
    let out = tmp("hostile-endless.ivf");
    let (mut receiver, mut log) = spawn_logged(receive_hostile(&server, &out));
    let pid = receiver.id().unwrap();
    let mut conn = server.accept(WITHIN).await;
    let jid = log_in(&mut conn, &mut log).await;
    let before = vm_hwm_kib(pid);

    let mut stream = conn.stream;
    let writer = tokio::spawn(async move {
        let head = format!("<message from='x@{HOSTILE}/y' to='{jid}'><body>");
        stream.write_all(head.as_bytes()).await.expect("head");
        let chunk = vec![b'A'; 64 * 1024];
        let mut written = head.len();
        while written < SENT {
            if let Err(e) = stream.write_all(&chunk).await {
                return (written, Some(e.to_string()));
            }
            written += chunk.len();
        }
        (written, None)
    });
    let offline = log.wait_for("xmpp: offline", WITHIN).await;
    assert!(
        offline.contains("longer than 262144 bytes"),
        "the size limit named: {offline}"
    );
    let (written, failed) = tokio::time::timeout(WITHIN, writer)
        .await
        .expect("the writer ends once the client is gone")
        .unwrap();
    assert!(
        failed.is_some() && written < SENT,
        "the client closed before the 64 MiB were sent ({written} bytes written, {failed:?})"
    );
    let after = vm_hwm_kib(pid);
    eprintln!(
        "MEASURE endless stanza: {written} bytes written before the write failed ({failed:?}); \
         VmHWM {before} KiB before, {after} KiB after"
    );
    assert!(after < 48 * 1024, "VmHWM {after} KiB");

    // It reconnects, and is served again.
    let mut again = server.accept(WITHIN).await;
    again.login_anonymous("guest").await;
    log.wait_for_nth("xmpp: online as", 2, WITHIN).await;
    finish(&mut receiver, &mut log).await;
}

/// Over WebSocket, an endless text message (64 MiB) in one frame that declares
/// its length, and in 64 KiB fragments: the client refuses each at its stanza size
/// limit with a clear error, its memory stays far below what was sent, and it
/// reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_websocket_message_is_refused_with_bounded_memory() {
    const SENT: u64 = 64 << 20;
    const CHUNK: usize = 64 * 1024;
    let mut server = WsScriptServer::bind(HOSTILE).await;
    let out = tmp("hostile-ws-endless.ivf");
    let mut receive = Command::new(BIN);
    receive
        .args(["receive", "--xmpp", &server.url(), "--domain", HOSTILE])
        .args(["--bind", "127.0.0.1:0", "--out"])
        .arg(&out);
    let (mut receiver, mut log) = spawn_logged(receive);
    let pid = receiver.id().unwrap();
    for (n, fragmented) in [(1, false), (2, true)] {
        let mut conn = server.accept(WITHIN).await;
        let jid = conn.login_anonymous("guest").await;
        let id = conn.extdisco_query().await;
        conn.send(&format!(
            "<iq xmlns='jabber:client' type='result' id='{id}'>\
             <services xmlns='urn:xmpp:extdisco:2'/></iq>"
        ))
        .await;
        log.wait_for_nth("xmpp: online as", n, WITHIN).await;
        log.wait_for("waiting for a session-initiate", WITHIN).await;
        let before = vm_hwm_kib(pid);
        // Raw frames on the socket under the WebSocket (nothing is buffered in
        // tungstenite between messages).
        let mut tcp = conn.ws.into_inner();
        let writer = tokio::spawn(async move {
            let head = format!("<message xmlns='jabber:client' to='{jid}'><body>");
            let mut first = if fragmented {
                ws_frame_header(1, false, CHUNK as u64)
            } else {
                ws_frame_header(1, true, SENT)
            };
            first.extend_from_slice(head.as_bytes());
            first.resize(first.len() + CHUNK - head.len(), b'A');
            let chunk = vec![b'A'; CHUNK];
            let mut written = CHUNK as u64;
            let mut result = tcp.write_all(&first).await;
            while result.is_ok() && written < SENT {
                if fragmented {
                    let last = written + CHUNK as u64 >= SENT;
                    let header = ws_frame_header(0, last, CHUNK as u64);
                    result = tcp.write_all(&header).await;
                }
                if result.is_ok() {
                    result = tcp.write_all(&chunk).await;
                    written += CHUNK as u64;
                }
            }
            (written, result.err().map(|e| e.to_string()))
        });
        let offline = log.wait_for_nth("xmpp: offline", n, WITHIN).await;
        let (written, failed) = tokio::time::timeout(WITHIN, writer)
            .await
            .expect("the writer ends once the client is gone")
            .unwrap();
        let after = vm_hwm_kib(pid);
        eprintln!(
            "MEASURE endless WebSocket message (fragmented: {fragmented}): {written} bytes \
             written ({failed:?}); VmHWM {before} KiB before, {after} KiB after"
        );
        assert!(
            offline.contains("WebSocket") && offline.contains("too long"),
            "the size limit named: {offline}"
        );
        assert!(
            failed.is_some() && written < SENT,
            "the client hung up early"
        );
        assert!(after < 48 * 1024, "VmHWM {after} KiB");
    }
    server.accept(WITHIN).await.login_anonymous("guest").await;
    log.wait_for_nth("xmpp: online as", 3, WITHIN).await;
    finish(&mut receiver, &mut log).await;
}

/// WebSocket control and framing from the server: a Ping is answered with a Pong
/// carrying its payload (and the client stays online); a binary message (RFC 7395
/// allows text only), a Close frame without `<close/>`, and an RFC 7395 `<close/>`
/// each end the connection with a reason naming it, and the client reconnects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_pings_are_answered_and_binary_or_closing_servers_are_left() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    use tokio_tungstenite::tungstenite::Message;

    let mut server = WsScriptServer::bind(HOSTILE).await;
    let out = tmp("hostile-ws-control.ivf");
    let mut receive = Command::new(BIN);
    receive
        .args(["receive", "--xmpp", &server.url(), "--domain", HOSTILE])
        .args(["--bind", "127.0.0.1:0", "--out"])
        .arg(&out);
    let (mut receiver, mut log) = spawn_logged(receive);
    let endings: [(&str, Message); 3] = [
        (
            "binary WebSocket message",
            Message::binary(b"<iq/>".to_vec()),
        ),
        (
            "WebSocket closed by the server (1001)",
            Message::Close(Some(CloseFrame {
                code: CloseCode::Away,
                reason: "scripted".into(),
            })),
        ),
        (
            "the server closed the stream",
            Message::text("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"),
        ),
    ];
    for (n, (reason, ending)) in endings.into_iter().enumerate() {
        let n = n + 1;
        let mut conn = server.accept(WITHIN).await;
        conn.login_anonymous("guest").await;
        let id = conn.extdisco_query().await;
        conn.send(&format!(
            "<iq xmlns='jabber:client' type='result' id='{id}'>\
             <services xmlns='urn:xmpp:extdisco:2'/></iq>"
        ))
        .await;
        log.wait_for_nth("xmpp: online as", n, WITHIN).await;
        if n == 1 {
            log.wait_for("waiting for a session-initiate", WITHIN).await;
        }
        let payload = format!("ping {n}").into_bytes();
        conn.ws
            .send(Message::Ping(payload.clone().into()))
            .await
            .unwrap();
        let pong = tokio::time::timeout(WITHIN, async {
            loop {
                match conn.ws.next().await {
                    Some(Ok(Message::Pong(p))) => return p.to_vec(),
                    Some(Ok(_)) => {}
                    other => panic!("no Pong: {other:?}"),
                }
            }
        })
        .await
        .expect("a Pong in time");
        assert_eq!(pong, payload);
        conn.ws.send(ending).await.unwrap();
        let offline = log.wait_for_nth("xmpp: offline", n, WITHIN).await;
        assert!(offline.contains(reason), "{reason:?}: {offline}");
        if n == 3 {
            // RFC 7395 §3.6: the client answers <close/> with its own.
            let answer = conn.recv().await;
            assert!(answer.starts_with("<close"), "{answer}");
        }
    }
    server.accept(WITHIN).await.login_anonymous("guest").await;
    log.wait_for_nth("xmpp: online as", 4, WITHIN).await;
    assert_eq!(log.count("connection ended"), 0);
    finish(&mut receiver, &mut log).await;
}

/// A flood of 2000 stanzas (far above the client's 200/s, burst 400) then a ping:
/// the client reads at its rate, stays online, and answers the ping once it has
/// read its way to it, with bounded memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stanza_flood_is_read_at_the_rate_limit_and_the_client_stays_online() {
    const FLOOD: usize = 2000;
    let mut server = ScriptServer::bind(HOSTILE).await;
    let out = tmp("hostile-flood.ivf");
    let (mut receiver, mut log) = spawn_logged(receive_hostile(&server, &out));
    let pid = receiver.id().unwrap();
    let mut conn = server.accept(WITHIN).await;
    let jid = log_in(&mut conn, &mut log).await;
    let before = vm_hwm_kib(pid);
    let began = Instant::now();
    let mut flood = String::new();
    for i in 0..FLOOD {
        flood.push_str(&format!(
            "<message from='x@{HOSTILE}/y' to='{jid}' id='m{i}'><body>flood {i}</body></message>"
        ));
    }
    flood.push_str(&format!(
        "<iq type='get' id='after-flood' from='{HOSTILE}'><ping xmlns='urn:xmpp:ping'/></iq>"
    ));
    conn.send(&flood).await;
    let pong = conn.read_element("iq").await;
    let took = began.elapsed();
    let after = vm_hwm_kib(pid);
    eprintln!(
        "MEASURE flood: {FLOOD} stanzas ({} bytes) read and the ping answered in {took:?}; \
         VmHWM {before} KiB before, {after} KiB after",
        flood.len()
    );
    assert!(
        pong.contains("after-flood") && pong.contains("result"),
        "{pong}"
    );
    // 400 at once, then 200 per second: about 8 s (less the last 16 KiB read,
    // whose stanzas are handled at once, in debt); unlimited, well under 1 s.
    assert!(took >= Duration::from_secs(5), "rate-limited: {took:?}");
    assert!(after < 48 * 1024, "VmHWM {after} KiB");
    assert_eq!(log.count("xmpp: offline"), 0);
    finish(&mut receiver, &mut log).await;
}

/// A server that hangs up at once, every time: the client tries again with a
/// growing delay (0.5 s, 1 s, 2 s, each ±20 %), not in a loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_hangs_up_at_once_is_retried_with_growing_delays() {
    let mut server = ScriptServer::bind(HOSTILE).await;
    let out = tmp("hostile-hangup.ivf");
    let (mut receiver, mut log) = spawn_logged(receive_hostile(&server, &out));
    let mut at = Vec::new();
    for _ in 0..4 {
        let mut conn = server.accept(WITHIN).await;
        at.push(Instant::now());
        // Read the stream header first: closing with it unread would reset.
        conn.read_until("<stream:stream").await;
        conn.read_until(">").await;
    }
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    eprintln!("MEASURE hang-ups: reconnection gaps {gaps:?}");
    let expected = [0.5, 1.0, 2.0];
    for (gap, base) in gaps.iter().zip(expected) {
        let secs = gap.as_secs_f64();
        assert!(
            secs >= base * 0.75 && secs <= base * 1.2 + 0.5,
            "gap {gap:?}, expected {base} s ±20 %: {gaps:?}"
        );
    }
    assert_eq!(log.count("xmpp: online"), 0);
    let text = finish(&mut receiver, &mut log).await;
    assert!(
        text.contains("the server closed the TCP connection"),
        "the reason named: {text}"
    );
}

/// SIGINT or SIGTERM while the XMPP server cannot be reached (connections
/// refused, retried until the 30 s readiness timeout) ends `send` and `receive`
/// at once with the signal's exit code. (It used to wait out the 30 s.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signal_while_the_server_is_unreachable_ends_the_program_at_once() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("xmpp://127.0.0.1:{port}");
    let xmpp = [
        "--xmpp",
        url.as_str(),
        "--domain",
        HOSTILE,
        "--xmpp-tls",
        "none",
        "--bind",
        "127.0.0.1:0",
    ];
    let out = tmp("unreachable.ivf");
    let mut receive = Command::new(BIN);
    receive.arg("receive").args(xmpp).arg("--out").arg(&out);
    let mut send = Command::new(BIN);
    send.arg("send")
        .args(xmpp)
        .args(["--to", &format!("peer@{HOSTILE}/r"), CLIP]);
    for (command, signal, code) in [(receive, "INT", 130), (send, "TERM", 143)] {
        let (mut child, mut log) = spawn_logged(command);
        let offline = log.wait_for("xmpp: offline", WITHIN).await;
        assert!(offline.contains("Connection refused"), "{offline}");
        let began = Instant::now();
        kill(&child, signal);
        let exit = exit_code(&mut child, Duration::from_secs(5)).await;
        let took = began.elapsed();
        let text = log.all().await;
        assert_no_panic(&text);
        eprintln!("MEASURE SIG{signal} while connecting: exit {exit:?} after {took:?}");
        assert_eq!(exit, Some(code), "{text}");
        assert!(
            text.contains("stopped while connecting to the XMPP server"),
            "{text}"
        );
    }
}

/// A stream error with a condition RFC 6120 does not define: the client names it,
/// and reconnects (twice here, the second after a second such error).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stream_error_is_named_and_the_client_reconnects() {
    let mut server = ScriptServer::bind(HOSTILE).await;
    let out = tmp("hostile-stream-error.ivf");
    let (mut receiver, mut log) = spawn_logged(receive_hostile(&server, &out));
    let mut conn = server.accept(WITHIN).await;
    log_in(&mut conn, &mut log).await;
    for (n, condition) in [(1, "flux-capacitor-overload"), (2, "x-made-up")] {
        conn.send(&format!(
            "<stream:error><{condition} xmlns='{NS_STREAM_ERRORS}'/>\
             <text xmlns='{NS_STREAM_ERRORS}'>scripted failure {n}</text></stream:error>"
        ))
        .await;
        // The client closes its side of the stream (RFC 6120 §4.9.1.1).
        conn.read_until("</stream:stream>").await;
        let offline = log.wait_for_nth("xmpp: offline", n, WITHIN).await;
        assert!(
            offline.contains(condition) && offline.contains(&format!("scripted failure {n}")),
            "the condition and text named: {offline}"
        );
        assert!(offline.contains("reconnecting in"), "{offline}");
        let began = Instant::now();
        conn = server.accept(WITHIN).await;
        eprintln!(
            "MEASURE stream error {n}: reconnected after {:?}",
            began.elapsed()
        );
        conn.login_anonymous("guest").await;
        log.wait_for_nth("xmpp: online as", n + 1, WITHIN).await;
    }
    assert_eq!(server.accepted(), 3);
    assert_eq!(log.count("connection ended"), 0, "not closed for good");
    finish(&mut receiver, &mut log).await;
}

/// SASL `not-authorized` for an account: terminal, the program ends (exit 1) with
/// a clear message and never connects again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sasl_refusal_ends_the_program_without_retrying() {
    let mut server = ScriptServer::bind(HOSTILE).await;
    let out = tmp("hostile-sasl.ivf");
    let mut receive = receive_hostile(&server, &out);
    receive.args(["--user", "alice", "--password", "wrong"]);
    let (mut receiver, mut log) = spawn_logged(receive);
    let mut conn = server.accept(WITHIN).await;
    conn.open_stream().await;
    conn.offer_mechanisms(&["PLAIN"]).await;
    let auth = conn.read_element("auth").await;
    assert!(auth.contains("PLAIN"), "{auth}");
    conn.send(&format!(
        "<failure xmlns='{NS_SASL}'><not-authorized/><text>scripted refusal</text></failure>"
    ))
    .await;
    let ended = log.wait_for("xmpp: connection ended", WITHIN).await;
    assert!(
        ended.contains("not-authorized") || ended.contains("NotAuthorized"),
        "the condition named: {ended}"
    );
    assert_eq!(
        exit_code(&mut receiver, WITHIN).await,
        Some(1),
        "exit 1 after a SASL refusal"
    );
    let text = log.all().await;
    assert_no_panic(&text);
    assert!(!text.contains("xmpp: offline"), "no retry: {text}");
    // A retry before the exit would wait in the listen backlog.
    assert!(
        !server.connection_within(Duration::from_millis(200)).await,
        "the program connected again after the refusal"
    );
    assert_eq!(server.accepted(), 1);
}

/// XEP-0215 results that mean nothing (a TURN service with an empty host and a
/// port out of range; a result with no `<services>` at all): a clear XEP-0215
/// error, the client stays online (it answers a ping afterwards), and the
/// receiver goes on to wait for a session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_xep_0215_answers_are_reported_and_the_client_stays_online() {
    let cases = [
        (
            "meaningless",
            "<services xmlns='urn:xmpp:extdisco:2'>\
             <service type='turn' host='' port='99999' transport='udp' username='u' password='p'/>\
             <service type='stun' host='127.0.0.1' port='-1'/></services>",
            "invalid host",
        ),
        (
            "malformed",
            "<query xmlns='jabber:iq:nonsense'><service type='turn'/></query>",
            "no <services>",
        ),
    ];
    let runs = cases.map(|(name, payload, expect)| async move {
        let mut server = ScriptServer::bind(HOSTILE).await;
        let out = tmp(&format!("hostile-extdisco-{name}.ivf"));
        let (mut receiver, mut log) = spawn_logged(receive_hostile(&server, &out));
        let mut conn = server.accept(WITHIN).await;
        conn.login_anonymous("guest").await;
        let id = conn.extdisco_query().await;
        conn.send(&format!("<iq type='result' id='{id}'>{payload}</iq>"))
            .await;
        let error = log.wait_for("xmpp: XEP-0215", WITHIN).await;
        assert!(error.contains(expect), "{name}: {error}");
        log.wait_for("waiting for a session-initiate", WITHIN).await;
        // Still online: a ping is answered on the same connection.
        conn.send(&format!(
            "<iq type='get' id='script-ping' from='{HOSTILE}'><ping xmlns='urn:xmpp:ping'/></iq>"
        ))
        .await;
        let pong = conn.read_element("iq").await;
        assert!(
            pong.contains("script-ping") && pong.contains("result"),
            "{name}: {pong}"
        );
        let text = finish(&mut receiver, &mut log).await;
        assert!(!text.contains("xmpp: offline"), "{name}: {text}");
        assert_eq!(server.accepted(), 1, "{name}");
    });
    let [a, b] = runs;
    tokio::join!(a, b);
}

/// CPU time (user and system) a process has used so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/stat: {e}"));
    // Fields after the command name (which may hold spaces), from field 3 on:
    // utime and stime are fields 14 and 15, in clock ticks (100 per second).
    let after = &stat[stat.rfind(')').expect("(comm)") + 2..];
    let fields: Vec<u64> = after
        .split(' ')
        .skip(11)
        .take(2)
        .map(|f| f.parse().expect("a tick count"))
        .collect();
    Duration::from_millis((fields[0] + fields[1]) * 10)
}

/// A room that does not answer the join: the program waits for it (until its
/// 30 s readiness timeout) without spinning, also once XEP-0215's wait (5 s
/// after login) is over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_for_a_room_that_does_not_answer_uses_no_cpu() {
    let mut server = ScriptServer::bind(HOSTILE).await;
    let out = tmp("hostile-silent-room.ivf");
    let mut command = receive_hostile(&server, &out);
    command.args(["--room", &format!("silent@conference.{HOSTILE}")]);
    let (mut receiver, mut log) = spawn_logged(command);
    let pid = receiver.id().unwrap();
    let mut conn = server.accept(WITHIN).await;
    conn.login_anonymous("guest").await;
    let id = conn.extdisco_query().await;
    conn.send(&format!(
        "<iq type='result' id='{id}'><services xmlns='urn:xmpp:extdisco:2'/></iq>"
    ))
    .await;
    log.wait_for("ICE servers from XEP-0215", WITHIN).await;
    let (start, used_before) = (Instant::now(), cpu_time(pid));
    // A window of time, not an event: from before to well after the 5 s mark.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let used = cpu_time(pid) - used_before;
    eprintln!(
        "CPU used waiting for the room: {used:?} in {:?}",
        start.elapsed()
    );
    assert!(
        used < Duration::from_millis(500),
        "the program spun while waiting for the room: {used:?} of CPU in {:?}",
        start.elapsed()
    );
    let text = finish(&mut receiver, &mut log).await;
    assert!(!text.contains("xmpp: ready"), "{text}");
}

/// A room that refuses the join (here a wrong password: `not-authorized`) ends
/// the program at once with exit 1 naming the refusal, not after the 30 s
/// readiness timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_room_join_ends_the_program_at_once() {
    let mut server = ScriptServer::bind(HOSTILE).await;
    let out = tmp("hostile-refused-room.ivf");
    let mut command = receive_hostile(&server, &out);
    command.args(["--room", &format!("locked@conference.{HOSTILE}")]);
    command.args(["--room-password", "wrong"]);
    let (mut receiver, mut log) = spawn_logged(command);
    let mut conn = server.accept(WITHIN).await;
    conn.login_anonymous("guest").await;
    let join = conn.read_element("presence").await;
    let to = attr(&join, "to").expect("the join names the occupant JID");
    assert!(join.contains("<password>wrong</password>"), "{join}");
    let refused = Instant::now();
    conn.send(&format!(
        "<presence type='error' from='{to}'><x xmlns='http://jabber.org/protocol/muc'/>\
         <error type='auth'><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
         </error></presence>"
    ))
    .await;
    assert_eq!(exit_code(&mut receiver, WITHIN).await, Some(1));
    let after = refused.elapsed();
    assert!(
        after < Duration::from_secs(3),
        "exited {after:?} after the refusal"
    );
    let text = log.all().await;
    assert_no_panic(&text);
    assert!(text.contains("not-authorized"), "the refusal named: {text}");
}

// ---------------------------------------------------------------------------
// Prosody restarted mid-session.

/// The room's nickname of the receiver.
const DEVICE: &str = "device";

/// Writes the clip `repeats` times over into `path` (pts increasing throughout,
/// the header's frame count set), and returns the frames written.
fn write_long_ivf(path: &Path, repeats: u64) -> Vec<IvfFrame> {
    let clip = std::fs::read(CLIP).unwrap();
    let (_, frames) = read_ivf(&clip);
    let header_len = usize::from(u16::from_le_bytes([clip[6], clip[7]]));
    let span = frames.last().expect("clip frames").pts + 1;
    let mut out = clip[..header_len].to_vec();
    let mut written = Vec::new();
    for r in 0..repeats {
        for f in &frames {
            let frame = IvfFrame {
                pts: f.pts + r * span,
                data: f.data.clone(),
            };
            out.extend_from_slice(&(frame.data.len() as u32).to_le_bytes());
            out.extend_from_slice(&frame.pts.to_le_bytes());
            out.extend_from_slice(&frame.data);
            written.push(frame);
        }
    }
    let count = written.len() as u32;
    out[24..28].copy_from_slice(&count.to_le_bytes());
    std::fs::write(path, out).unwrap();
    written
}

/// `proxy-connection send` as `user` of DOMAIN over TCP with STARTTLS (trusting
/// Prosody's certificate), in `room` as `nick`, to the device.
fn send_over_starttls(
    prosody: &Prosody,
    user: &str,
    password: &str,
    nick: &str,
    room: &str,
    file: &Path,
) -> Command {
    let mut c = Command::new(BIN);
    c.args([
        "send",
        "--xmpp",
        &format!("xmpp://127.0.0.1:{}", prosody.c2s_port),
    ])
    .args(["--domain", DOMAIN, "--user", user, "--password", password])
    .arg("--xmpp-ca")
    .arg(&prosody.cert)
    .args(["--room", room, "--nick", nick, "--bind", "127.0.0.1:0"])
    .args(["--to", &format!("{room}/{DEVICE}")])
    .arg(file);
    c
}

/// Media flows between a receiver (guest, WebSocket) and a sender (alice, TCP with
/// STARTTLS) that met in a Prosody room, and Prosody is restarted (SIGTERM, then
/// the same ports again). The media goes on, every frame arrives; both clients go
/// offline, come back online and rejoin the room; then signaling works through the
/// new Prosody: a third program (bob) is refused by the busy receiver (exit 4), and
/// the session ends normally.
///
/// A stopping Prosody closes its sessions one by one and tells the room of each,
/// so a client still connected sees its peer leave just before its own stream
/// error: `carry` holds that departure (`LEFT_GRACE`) and drops it when our own
/// connection goes down, else the session would end with media still flowing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_survives_a_prosody_restart_and_signaling_resumes() {
    restart_mid_session(false).await;
}

/// The same with Prosody killed (SIGKILL, a crash: no stream error, the
/// connections just end) and started again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_survives_a_prosody_crash_and_signaling_resumes() {
    restart_mid_session(true).await;
}

async fn restart_mid_session(crash: bool) {
    let Some(mut prosody) = Prosody::start(ProsodyOptions::default()).await else {
        return;
    };
    let name = if crash { "crash" } else { "restart" };
    let room = format!("{name}@{MUC_DOMAIN}");
    let file = tmp(&format!("{name}-long.ivf"));
    let sent = write_long_ivf(&file, 4);
    let out = tmp(&format!("{name}-recording.ivf"));

    let mut receive = Command::new(BIN);
    receive
        .args([
            "receive",
            "--xmpp",
            &prosody.ws_url(),
            "--domain",
            GUEST_DOMAIN,
        ])
        .args(["--room", &room, "--nick", DEVICE, "--bind", "127.0.0.1:0"])
        .arg("--out")
        .arg(&out);
    let (mut receiver, mut receiver_log) = spawn_logged(receive);
    receiver_log
        .wait_for("waiting for a session-initiate", WITHIN)
        .await;
    let (mut sender, mut sender_log) = spawn_logged(send_over_starttls(
        &prosody, "alice", "secret1", "laptop", &room, &file,
    ));
    sender_log.wait_for("connected to", WITHIN).await;
    receiver_log.wait_for("first frame", WITHIN).await;

    // The restart, frames flowing.
    let stopped_in = if crash {
        prosody.crash().await
    } else {
        prosody.stop().await
    };
    prosody.start_again().await;
    let reopened = Instant::now();
    let kind = if crash {
        "crash (SIGKILL)"
    } else {
        "restart (SIGTERM)"
    };
    for (who, log) in [("receiver", &mut receiver_log), ("sender", &mut sender_log)] {
        let offline = log.wait_for("xmpp: offline", WITHIN).await;
        if !crash {
            assert!(
                offline.contains("stream error system-shutdown"),
                "{who}: {offline}"
            );
        }
        let online = log.wait_for_nth("xmpp: online as", 2, WITHIN).await;
        let online_after = reopened.elapsed();
        let joined = log.wait_for_nth("xmpp: joined", 2, WITHIN).await;
        let joined_after = reopened.elapsed();
        assert!(joined.contains(&room), "{who}: {joined}");
        eprintln!(
            "MEASURE prosody {kind}: {who} online {online_after:?} and joined {joined_after:?} \
             after the ports reopened (the exit took {stopped_in:?}, start {:?}); first loss: \
             {offline}; back: {online}",
            prosody.started_in
        );
    }
    assert!(
        sender.try_wait().unwrap().is_none(),
        "the sender is still sending after the restart (else the restart was not mid-session)"
    );

    // A third program is refused by the busy receiver, through the new Prosody.
    let (mut intruder, mut intruder_log) = spawn_logged(send_over_starttls(
        &prosody,
        "bob",
        "secret2",
        "intruder",
        &room,
        Path::new(CLIP),
    ));
    let code = exit_code(&mut intruder, Duration::from_secs(60)).await;
    let intruder_text = intruder_log.all().await;
    assert_no_panic(&intruder_text);
    assert_eq!(code, Some(4), "the intruder is refused:\n{intruder_text}");
    assert!(
        intruder_text.contains("closed: peer reported an error (rejected)"),
        "a rejection reason: {intruder_text}"
    );
    // The receiver read the intruder's session-initiate through the new Prosody.
    let busy = receiver_log
        .wait_for("intruder misbehaved: a connection with", WITHIN)
        .await;
    assert!(busy.contains("/laptop is active"), "{busy}");
    assert!(
        sender.try_wait().unwrap().is_none(),
        "the session was still on when the intruder was refused"
    );

    // The session ends normally: the sender's session-terminate over XMPP.
    assert_eq!(
        exit_code(&mut sender, Duration::from_secs(60)).await,
        Some(0)
    );
    assert_eq!(exit_code(&mut receiver, WITHIN).await, Some(0));
    let sender_text = sender_log.all().await;
    let receiver_text = receiver_log.all().await;
    assert_no_panic(&sender_text);
    assert_no_panic(&receiver_text);
    let closed = receiver_text
        .lines()
        .find(|l| l.contains("connection with") && l.contains("closed:"))
        .unwrap_or_else(|| panic!("no close line: {receiver_text}"));
    eprintln!("receiver: {closed}");

    let (_, got) = read_ivf(&std::fs::read(&out).unwrap());
    assert_eq!(got.len(), sent.len(), "frame count");
    for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
        assert!(g.data == s.data, "frame {i} differs");
    }
}
