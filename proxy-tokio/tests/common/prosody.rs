//! Debian's Prosody, started per test on 127.0.0.1 with a generated configuration in a
//! fresh directory of the target's temporary directory. It runs as root in the
//! foreground (`run_as_root`, `-F`) with:
//! - c2s on a free port (STARTTLS offered, not required) and direct TLS on another,
//!   with a fresh self-signed certificate (CA:FALSE, as rustls requires of an
//!   end-entity certificate) for every domain below and 127.0.0.1;
//! - `mod_websocket` (RFC 7395) at `ws://127.0.0.1:HTTP/xmpp-websocket`;
//! - [`DOMAIN`] with `internal_plain` accounts (PLAIN, SCRAM-SHA-1, SCRAM-SHA-256),
//!   [`GUEST_DOMAIN`] with anonymous logins, and the MUC component [`MUC_DOMAIN`]
//!   (anyone may create a room, new rooms are not locked);
//! - `mod_external_services` (XEP-0215) with a TURN REST secret, every service listed
//!   explicitly (Prosody 0.12's shortcut gives `turns` no credentials, and a `turns`
//!   entry needs `algorithm = "turn"` to get them);
//! - `mod_ping` (XEP-0199).
//!
//! This loopback server lets PLAIN and ANONYMOUS through without TLS
//! (`c2s_require_encryption = false`, `allow_unencrypted_plain_auth = true`), so
//! tests can speak plain TCP.
//!
//! Accounts are written straight into the data directory in `internal_plain`'s format
//! (`prosodyctl register` would take about 0.2 s per account). Readiness is a bounded
//! poll of the three ports: Prosody loads every host before its event loop accepts
//! the first connection. Killed on drop; with `PROSODY_LOG` set, its log is echoed to
//! the test's stderr.
//!
//! `prosody` has no `--version` flag (it would start a server with the system's
//! configuration and never return), so it is looked up on `PATH`, never run to probe.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// The domain with accounts (PLAIN and SCRAM).
pub const DOMAIN: &str = "localhost";
/// The domain of anonymous logins.
pub const GUEST_DOMAIN: &str = "guest.localhost";
/// The MUC (XEP-0045) component.
pub const MUC_DOMAIN: &str = "conference.localhost";
/// How long Prosody may take to open its ports.
const READY_WITHIN: Duration = Duration::from_secs(10);
/// How long Prosody may take to exit after SIGTERM (about 1 s measured).
const EXIT_WITHIN: Duration = Duration::from_secs(10);

/// What to start a Prosody with.
#[derive(Clone, Debug)]
pub struct ProsodyOptions {
    /// Accounts `(user, password)` on [`DOMAIN`]; user names of lowercase ASCII
    /// letters and digits.
    pub users: Vec<(String, String)>,
    /// `external_service_secret`: the TURN REST secret (coturn's `--static-auth-secret`).
    pub secret: String,
    /// Host of the `stun` and `turn` (UDP and TCP) services.
    pub turn_host: String,
    /// Their port.
    pub turn_port: u16,
    /// Host of the `turns` service (it must match the TURN server's certificate).
    pub turns_host: String,
    /// Its port.
    pub turns_port: u16,
    /// With `Some(name)`, REST usernames are `<expiry>:<name>`, else `<expiry>`.
    pub rest_user: Option<String>,
    /// Lifetime of the REST credentials.
    pub ttl_secs: u32,
    /// `c2s_stanza_size_limit` (Prosody's default is 256 KiB).
    pub stanza_size_limit: Option<u32>,
}

impl Default for ProsodyOptions {
    /// `alice`/`secret1` and `bob`/`secret2`; coturn's test secret; TURN at
    /// 127.0.0.1:3478 and TURNS at 127.0.0.1:5349; a 600 s TTL.
    fn default() -> Self {
        ProsodyOptions {
            users: vec![
                ("alice".into(), "secret1".into()),
                ("bob".into(), "secret2".into()),
            ],
            secret: super::coturn::SECRET.into(),
            turn_host: "127.0.0.1".into(),
            turn_port: 3478,
            turns_host: "127.0.0.1".into(),
            turns_port: 5349,
            rest_user: None,
            ttl_secs: 600,
            stanza_size_limit: None,
        }
    }
}

impl ProsodyOptions {
    /// Services pointing at `coturn` (its ports; the secret it was started with).
    pub fn with_coturn(mut self, coturn: &super::coturn::Coturn) -> Self {
        self.secret = super::coturn::SECRET.into();
        self.turn_host = "127.0.0.1".into();
        self.turn_port = coturn.port;
        self.turns_host = "127.0.0.1".into();
        self.turns_port = coturn.tls_port;
        self
    }
}

/// A running (or, between [`stop`](Prosody::stop) and
/// [`start_again`](Prosody::start_again), stopped) Prosody.
pub struct Prosody {
    /// c2s (RFC 6120), STARTTLS offered.
    pub c2s_port: u16,
    /// c2s with direct TLS (XEP-0368).
    pub tls_port: u16,
    /// HTTP, for `mod_websocket`.
    pub http_port: u16,
    /// The server's certificate, to trust it; it names every domain and 127.0.0.1.
    pub cert: PathBuf,
    /// Its directory: configuration, data, certificate.
    pub dir: PathBuf,
    /// What it was started with (the secret, the services, the accounts).
    pub options: ProsodyOptions,
    /// From the exec to all ports open, for the last start.
    pub started_in: Duration,
    child: Option<Child>,
    log: Arc<Mutex<Vec<String>>>,
}

/// Three distinct free TCP ports on 127.0.0.1 (held together while picked).
fn free_ports() -> [u16; 3] {
    let listeners: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    let port = |i: usize| listeners[i].local_addr().expect("local address").port();
    [port(0), port(1), port(2)]
}

/// A Lua string literal of `s`, which must need no escaping.
fn lua(s: &str) -> String {
    assert!(
        !s.contains(['"', '\\', '\n']),
        "{s:?} needs escaping in Lua"
    );
    format!("\"{s}\"")
}

impl Prosody {
    /// Starts one. `None` (after saying so) when prosody or openssl is missing, unless
    /// `CI=true`: then that is a failure.
    pub async fn start(options: ProsodyOptions) -> Option<Prosody> {
        if !super::coturn::have_programs(&["prosody", "openssl"], "prosody openssl") {
            return None;
        }
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, Ordering::Relaxed);
        let dir = super::tmp(&format!("prosody-{n}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cert = dir.join("cert.pem");
        make_certificate(&dir, &cert).await;
        seed_accounts(&dir.join("data"), &options.users);
        let [c2s_port, tls_port, http_port] = free_ports();
        let mut prosody = Prosody {
            c2s_port,
            tls_port,
            http_port,
            cert,
            dir,
            options,
            started_in: Duration::ZERO,
            child: None,
            log: Arc::default(),
        };
        std::fs::write(prosody.config_path(), prosody.config()).unwrap();
        prosody.start_again().await;
        Some(prosody)
    }

    /// The c2s address.
    pub fn c2s_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.c2s_port))
    }

    /// The direct TLS address.
    pub fn tls_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.tls_port))
    }

    /// The HTTP address (for the WebSocket upgrade).
    pub fn http_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.http_port))
    }

    /// `ws://127.0.0.1:HTTP/xmpp-websocket`.
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/xmpp-websocket", self.http_port)
    }

    /// Its log so far (also after it stopped), one line per entry.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("prosody.cfg.lua")
    }

    /// The generated configuration.
    fn config(&self) -> String {
        let d = self.dir.to_str().expect("a UTF-8 temporary directory");
        let o = &self.options;
        let user = match &o.rest_user {
            Some(name) => format!(", username = {}", lua(name)),
            None => String::new(),
        };
        let limit = match o.stanza_size_limit {
            Some(n) => format!("c2s_stanza_size_limit = {n}\n"),
            None => String::new(),
        };
        let turn = |kind: &str, host: &str, port: u16, transport: &str, extra: &str| {
            format!(
                "  {{ type = {kind:?}, host = {}, port = {port}, transport = {transport:?}{extra} }},\n",
                lua(host)
            )
        };
        let rest = format!(", secret = true, ttl = {}{user}", o.ttl_secs);
        let services = [
            turn("stun", &o.turn_host, o.turn_port, "udp", ""),
            turn("turn", &o.turn_host, o.turn_port, "udp", &rest),
            turn("turn", &o.turn_host, o.turn_port, "tcp", &rest),
            turn(
                "turns",
                &o.turns_host,
                o.turns_port,
                "tcp",
                &format!("{rest}, algorithm = \"turn\""),
            ),
        ]
        .concat();
        format!(
            r#"-- Generated by the tests: one Prosody on 127.0.0.1.
run_as_root = true
pidfile = {pid}
data_path = {data}
log = {{ {{ levels = {{ min = "info" }}, to = "console" }} }}
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {c2s} }}
c2s_direct_tls_ports = {{ {tls} }}
legacy_ssl_ports = {{ }}
s2s_ports = {{ }}
http_ports = {{ {http} }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
component_ports = {{ }}
modules_enabled = {{ "disco", "saslauth", "tls", "ping", "websocket", "external_services", "posix" }}
modules_disabled = {{ "s2s", "offline" }}
certificates = {dir}
ssl = {{ key = {key}, certificate = {cert} }}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
consider_websocket_secure = true
{limit}external_service_secret = {secret}
external_services = {{
{services}}}
VirtualHost "{DOMAIN}"
  authentication = "internal_plain"
VirtualHost "{GUEST_DOMAIN}"
  authentication = "anonymous"
Component "{MUC_DOMAIN}" "muc"
  restrict_room_creation = false
  muc_room_locking = false
"#,
            pid = lua(&format!("{d}/prosody.pid")),
            data = lua(&format!("{d}/data")),
            c2s = self.c2s_port,
            tls = self.tls_port,
            http = self.http_port,
            dir = lua(d),
            key = lua(&format!("{d}/key.pem")),
            cert = lua(&format!("{d}/cert.pem")),
            secret = lua(&o.secret),
        )
    }

    /// Starts it (again) with the same configuration, ports and data, and waits until
    /// its ports are open. Panics if it is running, exits or does not open them.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "prosody is already running");
        let began = Instant::now();
        let mut child = Command::new("prosody")
            .arg("--config")
            .arg(self.config_path())
            .arg("-F")
            .current_dir(&self.dir)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn prosody");
        let echo = std::env::var_os("PROSODY_LOG").is_some();
        follow(child.stdout.take().unwrap(), self.log.clone(), echo);
        follow(child.stderr.take().unwrap(), self.log.clone(), echo);
        let ports = [self.c2s_addr(), self.tls_addr(), self.http_addr()];
        let ready = tokio::time::timeout(READY_WITHIN, async {
            for addr in ports {
                loop {
                    if let Ok(Some(status)) = child.try_wait() {
                        return Err(status);
                    }
                    if tokio::net::TcpStream::connect(addr).await.is_ok() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            Ok(())
        })
        .await;
        match ready {
            Ok(Ok(())) => {}
            Ok(Err(status)) => panic!(
                "prosody exited ({status}) before opening its ports; log:\n{}",
                self.log().join("\n")
            ),
            Err(_) => panic!(
                "prosody did not open {ports:?} within {READY_WITHIN:?}; log:\n{}",
                self.log().join("\n")
            ),
        }
        self.started_in = began.elapsed();
        eprintln!("prosody: ports open {:?} after the exec", self.started_in);
        self.child = Some(child);
    }

    /// SIGTERM (every client gets a `system-shutdown` stream error), then waits for the
    /// exit; returns how long that took.
    pub async fn stop(&mut self) -> Duration {
        self.signal("TERM").await
    }

    /// SIGKILL, a crash: clients see their connection end with no stream error.
    pub async fn crash(&mut self) -> Duration {
        self.signal("KILL").await
    }

    /// [`stop`](Self::stop), then [`start_again`](Self::start_again) on the same
    /// ports.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    async fn signal(&mut self, signal: &str) -> Duration {
        let mut child = self.child.take().expect("prosody is running");
        let began = Instant::now();
        super::coturn::kill(&child, signal);
        let status = tokio::time::timeout(EXIT_WITHIN, child.wait())
            .await
            .unwrap_or_else(|_| panic!("prosody still running {EXIT_WITHIN:?} after SIG{signal}"))
            .expect("wait for prosody");
        let took = began.elapsed();
        eprintln!("prosody: exited ({status}) {took:?} after SIG{signal}");
        took
    }
}

impl Drop for Prosody {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
    }
}

/// Keeps reading `out` (so Prosody never blocks on a full pipe) into `log`.
fn follow(out: impl AsyncRead + Unpin + Send + 'static, log: Arc<Mutex<Vec<String>>>, echo: bool) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(out).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if echo {
                eprintln!("prosody: {line}");
            }
            log.lock().unwrap().push(line);
        }
    });
}

/// A self-signed certificate for every domain and 127.0.0.1, key in `dir/key.pem`.
async fn make_certificate(dir: &Path, cert: &Path) {
    let domains = [DOMAIN, GUEST_DOMAIN, MUC_DOMAIN];
    super::coturn::self_signed_cert(DOMAIN, &domains, &["127.0.0.1"], &dir.join("key.pem"), cert)
        .await;
}

/// Writes `users` as `internal_plain` accounts of [`DOMAIN`] under `data`
/// (`data/<host>/accounts/<user>.dat`, a Lua table; the host and user names are
/// stored as they are when they hold only letters and digits; Prosody lowercases
/// user names).
fn seed_accounts(data: &Path, users: &[(String, String)]) {
    assert!(DOMAIN.chars().all(|c| c.is_ascii_alphanumeric()));
    let accounts = data.join(DOMAIN).join("accounts");
    std::fs::create_dir_all(&accounts).unwrap();
    for (user, password) in users {
        assert!(
            !user.is_empty()
                && user
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
            "account name {user:?}: lowercase letters and digits only"
        );
        let entry = format!("return {{\n\t[\"password\"] = {};\n}};\n", lua(password));
        std::fs::write(accounts.join(format!("{user}.dat")), entry).unwrap();
    }
}
