//! `--xmpp`: signaling over an XMPP server (proxy_tokio::xmpp), with the
//! program's logging, and readiness before `send` starts or `receive` waits.

use std::time::{Duration, Instant};

use proxy_str0m::net::IceServerSpec;
use proxy_tokio::xmpp::{carry, XmppConfig, XmppConnection, XmppServer};
use proxy_tokio::{ProxyConnectionService, Signals};
use proxy_xmpp::client::{Event, Room, TlsMode, Transport};
use proxy_xmpp::envelope::{Envelope, SpotMessageType};
use proxy_xmpp::sasl::Credentials;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::cli::{fmt_time, EnvelopeArg, Failure, XmppArgs, XmppTls};

/// How long to wait for the login (and the room join) before giving up.
const READY_WITHIN: Duration = Duration::from_secs(30);
/// How long to wait for XEP-0215's answer once online, before going on without it.
const ICE_WITHIN: Duration = Duration::from_secs(5);

/// What the connection has reached, for [`connect`]'s wait.
#[derive(Debug, Clone, Default)]
struct Progress {
    online_at: Option<Instant>,
    joined: bool,
    ice_known: bool,
    /// Closed for good, with why.
    closed: Option<String>,
    /// The room refused the join (a wrong password, a members-only room,
    /// nicknames taken): nothing to wait for.
    room_refused: Option<String>,
    last_problem: Option<String>,
}

/// The occupant JID we ask for (`room/nick`), if a room is given: the core's
/// own JID in what it sends.
pub(crate) fn occupant_jid(args: &XmppArgs, side: &str) -> Option<String> {
    args.room
        .as_ref()
        .map(|room| format!("{room}/{}", args.nick.as_deref().unwrap_or(side)))
}

/// The connection's configuration from the arguments.
fn config(args: &XmppArgs, server: &XmppServer, side: &str) -> Result<XmppConfig, Failure> {
    let domain = args
        .domain
        .clone()
        .ok_or_else(|| Failure::Other("--xmpp needs --domain".into()))?;
    let mut config = XmppConfig::new(server.clone(), &domain);
    let client = &mut config.client;
    if let Transport::Tcp { tls } = &mut client.transport {
        if *tls != TlsMode::Direct {
            *tls = match args.xmpp_tls {
                XmppTls::Required => TlsMode::Required,
                XmppTls::Optional => TlsMode::Optional,
                XmppTls::None => TlsMode::None,
            };
        }
    }
    client.allow_plain_without_tls = server.is_loopback();
    if let (Some(user), Some(password)) = (&args.user, &args.password) {
        client.credentials = Some(
            Credentials::new(user, password)
                .map_err(|e| Failure::Other(format!("--user/--password: {e}")))?,
        );
    }
    client.room = args.room.as_ref().map(|jid| Room {
        jid: jid.clone(),
        nick: args.nick.clone().unwrap_or_else(|| side.to_owned()),
        password: args.room_password.clone(),
    });
    client.envelope = match args.envelope {
        EnvelopeArg::Direct => Envelope::Direct,
        EnvelopeArg::JitsiProxy => Envelope::JitsiProxy,
        EnvelopeArg::Spot => Envelope::Spot {
            message_type: SpotMessageType::FromRemoteControl,
        },
    };
    if let Some(path) = &args.xmpp_ca {
        let roots = crate::peer::read_roots(path, "--xmpp-ca")?;
        config.tls = Some(
            proxy_tokio::net::tls_config(roots)
                .map_err(|e| Failure::File(format!("--xmpp-ca {}: {e}", path.display())))?,
        );
    }
    Ok(config)
}

/// Connects to the XMPP server, joins the service to it, and waits until it is
/// ready (logged in, in the room, ICE servers known or not coming). Returns the
/// logging task (it ends after the connection closes) and a receiver that fires
/// when the connection has ended for good (the end of the signaling input).
pub(crate) async fn connect(
    side: &'static str,
    args: &XmppArgs,
    server: &XmppServer,
    service: &ProxyConnectionService,
    signals: Signals,
) -> Result<(JoinHandle<()>, oneshot::Receiver<()>), Failure> {
    let started = Instant::now();
    let config = config(args, server, side)?;
    let want_room = config.client.room.is_some();
    let (xmpp, events) = XmppConnection::connect(config)
        .map_err(|e| Failure::Other(format!("xmpp: cannot start: {e}")))?;
    let mut events = carry(service, signals, xmpp, events);
    let (progress_tx, mut progress) = watch::channel(Progress::default());
    let (eof_tx, eof_rx) = oneshot::channel();
    let logger = tokio::spawn(async move {
        while let Some(event) = events.next().await {
            let now = Instant::now();
            match &event {
                Event::Online { jid } => {
                    log!(
                        side,
                        "xmpp: online as {jid} ({} after start)",
                        fmt_time(started.elapsed())
                    );
                    progress_tx.send_modify(|p| p.online_at = Some(now));
                }
                Event::Offline { reason, retry_at } => {
                    log!(
                        side,
                        "xmpp: offline ({reason}); reconnecting in {}",
                        fmt_time(retry_at.saturating_duration_since(now))
                    );
                    progress_tx.send_modify(|p| p.last_problem = Some(reason.to_string()));
                }
                Event::Closed { reason } => {
                    let why = reason
                        .as_ref()
                        .map_or_else(|| "closed".to_owned(), |r| r.to_string());
                    log!(side, "xmpp: connection ended: {why}");
                    progress_tx.send_modify(|p| p.closed = Some(why));
                }
                Event::IceServers(servers) => {
                    let list = servers
                        .iter()
                        .map(|s| IceServerSpec::from(s).to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    log!(
                        side,
                        "xmpp: {} ICE servers from XEP-0215: {list}",
                        servers.len()
                    );
                    progress_tx.send_modify(|p| p.ice_known = true);
                }
                Event::RoomJoined { occupant_jid } => {
                    log!(side, "xmpp: joined {occupant_jid}");
                    progress_tx.send_modify(|p| p.joined = true);
                }
                Event::OccupantLeft { jid } => log!(side, "xmpp: {jid} left the room"),
                Event::OccupantRenamed { from, to } => {
                    log!(side, "xmpp: {from} is now {to} (its session goes on)")
                }
                Event::IqFailed { to, reason } => {
                    log!(side, "xmpp: proxy IQ to {to} failed: {reason:?}")
                }
                Event::Error(e) => {
                    log!(side, "xmpp: {e}");
                    let extdisco = matches!(
                        e,
                        proxy_xmpp::client::ClientError::Extdisco(_)
                            | proxy_xmpp::client::ClientError::ExtdiscoTimeout
                    );
                    let refused = matches!(e, proxy_xmpp::client::ClientError::Room { .. });
                    progress_tx.send_modify(|p| {
                        p.ice_known |= extdisco;
                        if refused && !p.joined {
                            p.room_refused = Some(e.to_string());
                        }
                        p.last_problem = Some(e.to_string());
                    });
                }
                // Proxy IQs are carried to the service.
                Event::Message(_) => {}
            }
        }
        let _ = eof_tx.send(());
    });

    let deadline = tokio::time::Instant::now() + READY_WITHIN;
    loop {
        let now = Instant::now();
        let (ready, wait_ice_until) = {
            let p = progress.borrow_and_update();
            if let Some(why) = p.closed.as_ref().or(p.room_refused.as_ref()) {
                return Err(Failure::Other(format!("xmpp: {why}")));
            }
            let ice_deadline = p.online_at.map(|t| t + ICE_WITHIN);
            let ice_done = p.ice_known || ice_deadline.is_some_and(|d| now >= d);
            (
                p.online_at.is_some() && (p.joined || !want_room) && ice_done,
                // Only a wait still ahead: one passed (ICE done, the room not
                // joined yet) would wake the loop at once, again and again.
                ice_deadline.filter(|_| !ice_done),
            )
        };
        if ready {
            log!(side, "xmpp: ready in {}", fmt_time(started.elapsed()));
            return Ok((logger, eof_rx));
        }
        let until = match wait_ice_until {
            Some(t) => deadline.min(tokio::time::Instant::from_std(t)),
            None => deadline,
        };
        tokio::select! {
            changed = progress.changed() => {
                if changed.is_err() {
                    return Err(Failure::Other("xmpp: the connection ended".into()));
                }
            }
            () = tokio::time::sleep_until(until) => {
                if tokio::time::Instant::now() >= deadline {
                    let last = progress.borrow().last_problem.clone();
                    return Err(Failure::Other(format!(
                        "xmpp: not ready within {}{}",
                        fmt_time(READY_WITHIN),
                        last.map(|l| format!(" (last: {l})")).unwrap_or_default()
                    )));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{parse, Command};

    fn xmpp_args(args: &[&str]) -> XmppArgs {
        let argv = ["proxy-connection", "receive", "--out", "o.ivf"];
        match parse(argv.iter().chain(args)).expect("valid arguments") {
            Command::Receive(r) => r.signaling.xmpp,
            other => panic!("not receive: {other:?}"),
        }
    }

    fn client(args: &[&str]) -> proxy_xmpp::client::Config {
        let a = xmpp_args(args);
        let server = a.xmpp.clone().expect("--xmpp");
        config(&a, &server, "receive").expect("config").client
    }

    #[test]
    fn arguments_become_the_client_configuration() {
        let c = client(&[
            "--xmpp",
            "xmpp://127.0.0.1:5222",
            "--domain",
            "example.com",
            "--room",
            "r@conference.example.com",
            "--envelope",
            "spot",
            "--xmpp-tls",
            "optional",
        ]);
        assert_eq!(c.domain, "example.com");
        assert_eq!(
            c.transport,
            Transport::Tcp {
                tls: TlsMode::Optional
            }
        );
        assert!(c.allow_plain_without_tls, "loopback server");
        assert!(c.credentials.is_none(), "anonymous");
        let room = c.room.expect("room");
        assert_eq!(room.occupant_jid(), "r@conference.example.com/receive");
        assert!(matches!(c.envelope, Envelope::Spot { .. }));

        let c = client(&[
            "--xmpp",
            "wss://meet.example.com/xmpp-websocket",
            "--domain",
            "meet.example.com",
            "--user",
            "u",
            "--password",
            "p",
            "--envelope",
            "jitsi-proxy",
        ]);
        assert_eq!(c.transport, Transport::WebSocket { secure: true });
        assert!(!c.allow_plain_without_tls, "not loopback");
        assert!(c.credentials.is_some());
        assert_eq!(c.envelope, Envelope::JitsiProxy);
        let c = client(&["--xmpp", "xmpps://h", "--domain", "h"]);
        assert_eq!(
            c.transport,
            Transport::Tcp {
                tls: TlsMode::Direct
            }
        );
        let c = client(&["--xmpp", "xmpp://h", "--domain", "h"]);
        assert_eq!(
            c.transport,
            Transport::Tcp {
                tls: TlsMode::Required
            }
        );
        assert_eq!(c.envelope, Envelope::Direct);
    }

    #[test]
    fn xmpp_replaces_the_json_lines_and_needs_a_domain() {
        let argv = |extra: &[&str]| {
            let base = ["proxy-connection", "send", "--to", "r@c/d", "f.ivf"];
            parse(base.iter().chain(extra)).map(|_| ())
        };
        assert!(argv(&["--xmpp", "ws://127.0.0.1:1/x", "--domain", "d"]).is_ok());
        for bad in [
            &["--xmpp", "ws://127.0.0.1:1/x"][..],
            &["--xmpp", "ws://h/x", "--domain", "d", "--as", "a@b/c"],
            &["--xmpp", "ws://h/x", "--domain", "d", "--signal-in", "x"],
            &["--xmpp", "http://h/x", "--domain", "d"],
            &["--xmpp", "ws://h/x", "--domain", "d", "--room", "noat"],
            &["--domain", "d"],
            &["--xmpp", "ws://h/x", "--domain", "d", "--user", "u"],
        ] {
            assert_eq!(argv(bad).unwrap_err().exit_code(), 2, "{bad:?}");
        }
    }
}
