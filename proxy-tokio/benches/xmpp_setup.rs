//! Connect to first frame over XMPP and TURN against the in-process (stdio-like)
//! signaling path, interleaved round by round in one run.
//!
//! `cargo bench -p proxy-tokio --bench xmpp_setup` (`XMPP_ROUNDS`, default 20)
//!
//! Both variants are two proxy-tokio services on 127.0.0.1, relay-only through a
//! real coturn, with the same ICE servers (the list Prosody announced over
//! XEP-0215 in the first round: STUN, TURN/UDP, TURN/TCP, TURNS), `start()`, a
//! keyframe written on `Connected`, timed until the receiver has it.
//! - **XMPP**: from nothing to the first frame: each side opens its XMPP
//!   connection to a real Prosody (the sender anonymous over WebSocket, the
//!   receiver `alice` over TCP with STARTTLS), logs in, fetches the ICE servers
//!   (XEP-0215) and joins a fresh room; then `start()` to the receiver's
//!   occupant JID, and every Jingle IQ goes through Prosody's MUC.
//! - **in-process**: the same services given the same servers, Jingle relayed
//!   between them in-process (what `send`/`receive` do over stdio, minus the
//!   pipes), from binding to the first frame.
//!
//! Prosody and coturn are started by the benchmark as the tests start them
//! (skipped with a message when not installed, a failure under `CI=true`).

mod support;

#[path = "../tests/common/prosody.rs"]
#[allow(dead_code)]
mod prosody;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use prosody::{Prosody, ProsodyOptions, DOMAIN, GUEST_DOMAIN, MUC_DOMAIN};
use proxy_core::{Config, IceServer, LocalTrack, ProxyMessage};
use proxy_tokio::net::IceTransportPolicy;
use proxy_tokio::xmpp::{carry, XmppConfig, XmppConnection, XmppServer};
use proxy_tokio::{Events, ProxyConnectionService, ServiceConfig, ServiceEvent, Signals};
use proxy_xmpp::client::{Event, Room, TlsMode, Transport};
use proxy_xmpp::sasl::Credentials;
// prosody.rs reaches the harness as `super::coturn` and `super::tmp`.
use support::coturn::{self, Coturn};
use support::{tmp, vp8_frame};
use tokio::sync::watch;

const WITHIN: Duration = Duration::from_secs(15);

/// Binds a relay-only service on 127.0.0.1 with no ICE server yet, trusting
/// `turn_ca` for TURNS.
async fn bind(jid: Option<&str>, seed: u64, turn_ca: &rustls::RootCertStore) -> Bound {
    let mut config = ServiceConfig::loopback(Config {
        local_jid: jid.map(str::to_owned),
        seed,
        ..Config::default()
    });
    config.ice_transport_policy = IceTransportPolicy::Relay;
    config.tls = Some(proxy_tokio::net::tls_config(turn_ca.clone()).expect("tls"));
    ProxyConnectionService::bind(config).await.expect("bind")
}

type Bound = (ProxyConnectionService, Events, Signals);

/// Counts the receiver's frames; `first` turns true at the first.
fn count_frames(mut events: Events) -> (Arc<AtomicU64>, watch::Receiver<bool>) {
    let received = Arc::new(AtomicU64::new(0));
    let (first_tx, first) = watch::channel(false);
    let count = received.clone();
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            if let ServiceEvent::RemoteTrack { mut frames, .. } = event {
                let (count, first_tx) = (count.clone(), first_tx.clone());
                tokio::spawn(async move {
                    while frames.next().await.is_some() {
                        count.fetch_add(1, Ordering::Relaxed);
                        first_tx.send_replace(true);
                    }
                });
            }
        }
    });
    (received, first)
}

/// Writes `frame` once the sender is connected.
fn write_on_connected(service: &ProxyConnectionService, mut events: Events, frame: Bytes) {
    let writer = service.track_writer(0);
    tokio::spawn(async move {
        while let Some(event) = events.next().await {
            if let ServiceEvent::Connected { .. } = event {
                let _ = writer.write_frame(Duration::ZERO, frame.clone()).await;
            }
        }
    });
}

async fn first_frame(mut first: watch::Receiver<bool>) {
    tokio::time::timeout(WITHIN, first.wait_for(|f| *f))
        .await
        .expect("a first frame in time")
        .expect("receiver alive");
}

/// Logged in, ICE servers known, room joined: the XMPP side is ready.
async fn ready(mut events: proxy_tokio::xmpp::XmppEvents) -> Vec<IceServer> {
    let (mut servers, mut joined) = (None, false);
    while servers.is_none() || !joined {
        match tokio::time::timeout(WITHIN, events.next()).await {
            Ok(Some(Event::IceServers(s))) => servers = Some(s),
            Ok(Some(Event::RoomJoined { .. })) => joined = true,
            Ok(Some(Event::Closed { reason })) => panic!("XMPP closed: {reason:?}"),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("XMPP not ready in time"),
        }
    }
    // Keep draining, so nothing waits on the channel.
    tokio::spawn(async move { while events.next().await.is_some() {} });
    servers.unwrap_or_default()
}

struct Setup<'a> {
    prosody: &'a Prosody,
    xmpp_ca: rustls::RootCertStore,
    turn_ca: rustls::RootCertStore,
}

/// One XMPP round: (time to first frame, time to both sides ready, the servers).
async fn xmpp_round(setup: &Setup<'_>, round: usize) -> (Duration, Duration, Vec<IceServer>) {
    let room = format!("bench{round}@{MUC_DOMAIN}");
    let started = Instant::now();
    let sender = bind(Some(&format!("{room}/a")), 1, &setup.turn_ca).await;
    let receiver = bind(Some(&format!("{room}/b")), 2, &setup.turn_ca).await;
    // The sender: anonymous over WebSocket.
    let mut a = XmppConfig::new(
        XmppServer::parse(&setup.prosody.ws_url()).expect("url"),
        GUEST_DOMAIN,
    );
    a.client.room = Some(Room {
        jid: room.clone(),
        nick: "a".into(),
        password: None,
    });
    // The receiver: alice over TCP with STARTTLS.
    let url = format!("xmpp://127.0.0.1:{}", setup.prosody.c2s_port);
    let mut b = XmppConfig::new(XmppServer::parse(&url).expect("url"), DOMAIN);
    b.client.transport = Transport::Tcp {
        tls: TlsMode::Required,
    };
    b.client.credentials = Some(Credentials::new("alice", "secret1").expect("credentials"));
    b.client.resource = Some(format!("bench{round}"));
    b.client.room = Some(Room {
        jid: room.clone(),
        nick: "b".into(),
        password: None,
    });
    b.tls = Some(proxy_tokio::net::tls_config(setup.xmpp_ca.clone()).expect("tls"));
    let (sa, sa_events, sa_signals) = sender;
    let (sb, sb_events, sb_signals) = receiver;
    let (xa, xa_events) = XmppConnection::connect(a).expect("connect");
    let (xb, xb_events) = XmppConnection::connect(b).expect("connect");
    let xa_events = carry(&sa, sa_signals, xa, xa_events);
    let xb_events = carry(&sb, sb_signals, xb, xb_events);
    let (servers, _) = tokio::join!(ready(xa_events), ready(xb_events));
    let ready_at = started.elapsed();
    let (_received, first) = count_frames(sb_events);
    write_on_connected(&sa, sa_events, vp8_frame(0, true, 1000));
    sa.start(&format!("{room}/b"), &[LocalTrack::desktop()])
        .await
        .expect("start");
    first_frame(first).await;
    let total = started.elapsed();
    drop((sa, sb));
    (total, ready_at, servers)
}

/// One in-process round with `servers`: time to first frame.
async fn local_round(setup: &Setup<'_>, servers: &[IceServer]) -> Duration {
    const A: &str = "alice@example.com/a";
    const B: &str = "bob@example.com/b";
    let started = Instant::now();
    let (sa, sa_events, sa_signals) = bind(Some(A), 1, &setup.turn_ca).await;
    let (sb, sb_events, sb_signals) = bind(Some(B), 2, &setup.turn_ca).await;
    sa.set_ice_servers(servers.to_vec()).await.expect("servers");
    sb.set_ice_servers(servers.to_vec()).await.expect("servers");
    for (mut signals, to, from) in [
        (sa_signals, sb.message_sender(), A),
        (sb_signals, sa.message_sender(), B),
    ] {
        tokio::spawn(async move {
            while let Some(s) = signals.next().await {
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
    let (_received, first) = count_frames(sb_events);
    write_on_connected(&sa, sa_events, vp8_frame(0, true, 1000));
    sa.start(B, &[LocalTrack::desktop()]).await.expect("start");
    first_frame(first).await;
    started.elapsed()
}

fn roots(pem: &std::path::Path) -> rustls::RootCertStore {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(pem).expect("pem") {
        roots.add(cert.expect("cert")).expect("root");
    }
    roots
}

async fn run() {
    // Relay ports 24100-24199: apart from the tests' blocks and udp_setup's.
    let Some(turn) = Coturn::start(31).await else {
        return;
    };
    let Some(prosody) = Prosody::start(ProsodyOptions::default().with_coturn(&turn)).await else {
        return;
    };
    let setup = Setup {
        prosody: &prosody,
        xmpp_ca: roots(&prosody.cert),
        turn_ca: roots(&turn.cert),
    };
    let rounds: usize = std::env::var("XMPP_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let (mut xmpp, mut ready, mut local) = (Vec::new(), Vec::new(), Vec::new());
    let mut servers: Option<Vec<IceServer>> = None;
    for round in 0..rounds {
        // Alternate which goes first; the first round needs XMPP for the list.
        let xmpp_first = servers.is_none() || round % 2 == 0;
        for k in 0..2 {
            if (k == 0) == xmpp_first {
                let (t, r, s) = xmpp_round(&setup, round).await;
                xmpp.push(t);
                ready.push(r);
                servers.get_or_insert(s);
            } else {
                let list = servers.as_deref().expect("servers from the first round");
                local.push(local_round(&setup, list).await);
            }
        }
    }
    for v in [&mut xmpp, &mut ready, &mut local] {
        v.sort();
    }
    let median = |v: &[Duration]| v.get(v.len() / 2).copied().unwrap_or_default();
    let min = |v: &[Duration]| v.first().copied().unwrap_or_default();
    let ratio = median(&xmpp).as_secs_f64() / median(&local).as_secs_f64().max(1e-9);
    let count = servers.as_ref().map_or(0, Vec::len);
    println!("connect to first frame, relay-only through coturn with the {count} servers of XEP-0215 ({rounds} interleaved rounds)");
    println!("| variant | first frame median | min | median / in-process | of which XMPP ready (login, XEP-0215, room) |");
    println!("|---|---|---|---|---|");
    println!(
        "| XMPP (Prosody: WebSocket + STARTTLS, MUC) | {:?} | {:?} | {ratio:.2} | {:?} median |",
        median(&xmpp),
        min(&xmpp),
        median(&ready)
    );
    println!(
        "| in-process signaling (the stdio path) | {:?} | {:?} | 1.00 | - |",
        median(&local),
        min(&local)
    );
    drop((prosody, turn));
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run());
}
