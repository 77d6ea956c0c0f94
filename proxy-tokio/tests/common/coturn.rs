//! Debian's coturn (`turnserver`), started per test on 127.0.0.1 with a TURN REST
//! secret, `--allow-loopback-peers` and a fresh self-signed certificate (CA:FALSE, as
//! rustls requires of an end-entity certificate) for TLS. Killed on drop. With
//! `COTURN_LOG` set, its log is echoed to the test's stderr.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The REST secret the servers are started with.
pub const SECRET: &str = "coturn-test-secret";

/// A running coturn.
pub struct Coturn {
    /// TURN over UDP and TCP.
    pub port: u16,
    /// TURN over TLS.
    pub tls_port: u16,
    /// The certificate, to trust it (`--ice-ca`).
    pub cert: PathBuf,
    child: Child,
}

/// Whether `program` is an executable on `PATH` (without running it).
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// Whether every one of `programs` is on `PATH`. When one is missing: a
/// failure under `CI=true`, else `false` after saying the test is skipped
/// and what to install (`packages`).
pub fn have_programs(programs: &[&str], packages: &str) -> bool {
    if programs.iter().all(|p| on_path(p)) {
        return true;
    }
    let names = programs.join(" or ");
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    assert!(!ci, "{names} missing (apt-get install {packages})");
    eprintln!("SKIPPED: {names} not installed (apt-get install {packages})");
    false
}

/// A fresh self-signed end-entity certificate (CA:FALSE, as rustls requires)
/// for `dns` names and `ips`, valid a day, made with openssl: its key in
/// `key`, the certificate in `cert` (PEM).
pub async fn self_signed_cert(cn: &str, dns: &[&str], ips: &[&str], key: &Path, cert: &Path) {
    let names: Vec<String> = dns
        .iter()
        .map(|d| format!("DNS:{d}"))
        .chain(ips.iter().map(|i| format!("IP:{i}")))
        .collect();
    let san = format!("subjectAltName={}", names.join(","));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", &format!("/CN={cn}")])
        .args(["-addext", &san])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .args(["-addext", "keyUsage=digitalSignature"])
        .args(["-addext", "extendedKeyUsage=serverAuth"])
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(made.success(), "openssl could not make a certificate");
}

/// Two free ports P (UDP and TCP) and P+1 (TCP) on 127.0.0.1.
fn free_ports() -> u16 {
    for _ in 0..50 {
        let Ok(l) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(p) = l.local_addr().map(|a| a.port()) else {
            continue;
        };
        if p == u16::MAX {
            continue;
        }
        let udp = UdpSocket::bind(("127.0.0.1", p));
        let tls = TcpListener::bind(("127.0.0.1", p + 1));
        if udp.is_ok() && tls.is_ok() {
            return p;
        }
    }
    panic!("no free ports for coturn");
}

impl Coturn {
    /// Starts one, with relay ports in a block of 100 for test `index` (below the
    /// ephemeral range, so parallel tests do not collide). `None` (after saying so)
    /// when coturn or openssl is missing, unless `CI=true`: then that is a failure.
    pub async fn start(index: u16) -> Option<Coturn> {
        Coturn::start_at(index, None, "127.0.0.1").await
    }

    /// [`start`](Self::start) inside network namespace `netns` (if any),
    /// listening and relaying on `ip`.
    pub async fn start_at(index: u16, netns: Option<&str>, ip: &str) -> Option<Coturn> {
        Coturn::start_with(index, netns, ip, None).await
    }

    /// [`start_at`](Self::start_at) with TURN over TLS on `tls_port` (e.g. 443 in a
    /// namespace of its own) rather than on the port after the UDP/TCP one. The
    /// certificate names `ip` too, so `turns:<ip>:<tls_port>` verifies.
    pub async fn start_with(
        index: u16,
        netns: Option<&str>,
        ip: &str,
        tls_port: Option<u16>,
    ) -> Option<Coturn> {
        if !have_programs(&["turnserver", "openssl"], "coturn openssl") {
            return None;
        }
        let dir = super::tmp(&format!("coturn-{index}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        let ips: &[&str] = if ip == "127.0.0.1" {
            &["127.0.0.1"]
        } else {
            &["127.0.0.1", ip]
        };
        self_signed_cert("turn.test", &["turn.test"], ips, &key, &cert).await;
        // A fresh namespace has every port free.
        let port = if netns.is_some() { 3478 } else { free_ports() };
        let tls_port = tls_port.unwrap_or(port + 1);
        let relay_min = 21_000 + 100 * index;
        let mut command = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "turnserver"]);
                c
            }
            None => Command::new("turnserver"),
        };
        command
            .args(["-n", "-v", "--no-cli", "--log-file", "stdout"])
            .arg("--pidfile")
            .arg(dir.join("pid"))
            .arg("--userdb")
            .arg(dir.join("turndb"))
            .args(["--listening-ip", ip, "--relay-ip", ip])
            .args(["-p", &port.to_string()])
            .args(["--tls-listening-port", &tls_port.to_string()])
            .args(["--min-port", &relay_min.to_string()])
            .args(["--max-port", &(relay_min + 99).to_string()])
            .args(["--use-auth-secret", "--static-auth-secret", SECRET])
            .args(["--realm", "test.realm", "--allow-loopback-peers"])
            .arg("--cert")
            .arg(&cert)
            .arg("--pkey")
            .arg(&key)
            .args(["--no-dtls", "--no-software-attribute"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("spawn turnserver");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = tokio::time::timeout(Duration::from_secs(10), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Total General servers") {
                    return true;
                }
            }
            false
        })
        .await;
        assert_eq!(ready, Ok(true), "coturn did not start");
        // Keep reading its log so it never blocks on a full pipe.
        let echo = std::env::var("COTURN_LOG").is_ok();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if echo {
                    eprintln!("coturn: {line}");
                }
            }
        });
        Some(Coturn {
            port,
            tls_port,
            cert,
            child,
        })
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// The candidate types in a side's signaling.
pub fn candidate_types(iqs: &[String]) -> Vec<String> {
    iqs.iter()
        .flat_map(|iq| iq.split("<candidate ").skip(1))
        .filter_map(|c| c.split(" type=").nth(1))
        .map(|t| {
            t.get(1..)
                .unwrap_or("")
                .split(['"', '\''])
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

/// Sends `signal` (`INT`, `TERM`, `KILL`) to a child with kill(1).
pub fn kill(child: &tokio::process::Child, signal: &str) {
    let pid = child.id().expect("the child is running");
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}
