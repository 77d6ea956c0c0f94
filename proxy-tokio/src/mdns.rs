//! Names ending in `.local`: resolved with multicast DNS (RFC 6762) on the
//! local network, never by the system resolver (which would send a browser's
//! private `<uuid>.local` name to a unicast DNS server and wait for it).
//!
//! The connection asks for them (`Output::Resolve`) when it resolves remote
//! mDNS candidates (`ProxyConfig::resolve_mdns`, on with the `mdns` feature).
//! With the feature, [mdns-sd] does the querying: one daemon per process (a
//! thread and a socket on port 5353, started by the first name), shared by
//! every connection; a name asked for again while a query for it runs waits
//! for that query (mdns-sd keeps one query per name). Each query gives up
//! after [`MDNS_TIMEOUT`]. Queries go out only on the interfaces of the
//! asking service's sockets (the daemon's others are turned off), and a
//! service with loopback sockets only does not resolve at all (see
//! `service.rs`). Nothing here blocks the driver: the daemon is
//! reached through channels from a spawned task. Without the feature, a
//! `.local` name is answered at once with an error.
//!
//! [mdns-sd]: https://docs.rs/mdns-sd

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::io::NetNews;

/// How long one mDNS query may take (mdns-sd asks again within it).
#[cfg_attr(not(feature = "mdns"), allow(dead_code))]
pub(crate) const MDNS_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether `host` is a name for multicast DNS (ends in `.local`, a trailing
/// dot allowed).
pub(crate) fn is_mdns_name(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host);
    name.len() > ".local".len()
        && name
            .get(name.len() - ".local".len()..)
            .is_some_and(|end| end.eq_ignore_ascii_case(".local"))
}

/// Resolves the mDNS name `host` and reports it as [`NetNews::Resolved`]
/// (an error if nothing answered within [`MDNS_TIMEOUT`], or at once without
/// the `mdns` feature).
pub(crate) fn resolve(host: String, local: &[SocketAddr], news: mpsc::UnboundedSender<NetNews>) {
    #[cfg(feature = "mdns")]
    {
        let answer = daemon::lookup(&host, local);
        tokio::spawn(async move {
            let result = answer
                .await
                .unwrap_or_else(|_| Err("the mDNS query was dropped".into()));
            let _ = news.send(NetNews::Resolved { host, result });
        });
    }
    #[cfg(not(feature = "mdns"))]
    {
        let _ = local;
        let result: Result<Vec<std::net::IpAddr>, String> =
            Err("mDNS names are not resolved (built without the `mdns` feature)".into());
        let _ = news.send(NetNews::Resolved { host, result });
    }
}

#[cfg(feature = "mdns")]
mod daemon {
    use std::collections::{HashMap, HashSet};
    use std::net::{IpAddr, SocketAddr};
    use std::sync::{Mutex, OnceLock, PoisonError};

    use mdns_sd::{HostnameResolutionEvent, IfKind, ServiceDaemon};
    use tokio::sync::oneshot;

    use super::MDNS_TIMEOUT;

    type Answer = Result<Vec<IpAddr>, String>;

    /// The process's daemon (or why there is none), the interfaces turned on
    /// (by one of their addresses), and who waits for which name (lower case,
    /// with the final dot mdns-sd wants).
    struct Resolver {
        daemon: Result<ServiceDaemon, String>,
        interfaces: Mutex<HashSet<IpAddr>>,
        waiting: Mutex<HashMap<String, Vec<oneshot::Sender<Answer>>>>,
    }

    fn resolver() -> &'static Resolver {
        static RESOLVER: OnceLock<Resolver> = OnceLock::new();
        RESOLVER.get_or_init(|| {
            let daemon = ServiceDaemon::new().map_err(|e| format!("mDNS: {e}"));
            if let Ok(d) = &daemon {
                // Only the interfaces services ask on (see `lookup`).
                let _ = d.disable_interface(IfKind::All);
            }
            Resolver {
                daemon,
                interfaces: Mutex::new(HashSet::new()),
                waiting: Mutex::new(HashMap::new()),
            }
        })
    }

    /// Turns on the interfaces of `local` not on yet (each once: mdns-sd keeps
    /// every selection).
    fn enable(local: &[SocketAddr]) {
        let r = resolver();
        let Ok(daemon) = &r.daemon else {
            return;
        };
        let mut on = r.interfaces.lock().unwrap_or_else(PoisonError::into_inner);
        for ip in local.iter().map(SocketAddr::ip) {
            if !ip.is_unspecified() && !ip.is_loopback() && on.insert(ip) {
                let _ = daemon.enable_interface(IfKind::Addr(ip));
            }
        }
    }

    /// The answer for `host`, asked on the interfaces of `local`, when it
    /// comes; the first caller for a name starts the query (must be called
    /// within a tokio runtime).
    pub(super) fn lookup(host: &str, local: &[SocketAddr]) -> oneshot::Receiver<Answer> {
        enable(local);
        let name = format!("{}.", host.trim_end_matches('.').to_ascii_lowercase());
        let (tx, rx) = oneshot::channel();
        let first = {
            let mut waiting = resolver()
                .waiting
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let list = waiting.entry(name.clone()).or_default();
            list.push(tx);
            list.len() == 1
        };
        if first {
            tokio::spawn(async move {
                let answer = query(&name).await;
                let waiters = resolver()
                    .waiting
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&name)
                    .unwrap_or_default();
                for w in waiters {
                    let _ = w.send(answer.clone());
                }
            });
        }
        rx
    }

    /// One query for `name` (ending in `.local.`).
    async fn query(name: &str) -> Answer {
        let daemon = resolver().daemon.as_ref().map_err(Clone::clone)?;
        let millis = u64::try_from(MDNS_TIMEOUT.as_millis()).unwrap_or(u64::MAX);
        let events = daemon
            .resolve_hostname(name, Some(millis))
            .map_err(|e| format!("mDNS: {e}"))?;
        // mdns-sd ends the search itself at the timeout; ours is a guard.
        let found = tokio::time::timeout(MDNS_TIMEOUT + MDNS_TIMEOUT / 2, async {
            loop {
                match events.recv_async().await {
                    Ok(HostnameResolutionEvent::AddressesFound(_, ips)) if !ips.is_empty() => {
                        return Ok(ips.iter().map(|ip| ip.to_ip_addr()).collect());
                    }
                    Ok(HostnameResolutionEvent::SearchTimeout(_)) => {
                        return Err(format!("no mDNS answer for {name}"));
                    }
                    Ok(_) => {}
                    Err(_) => return Err("mDNS: the daemon stopped".to_owned()),
                }
            }
        })
        .await
        .unwrap_or_else(|_| Err(format!("no mDNS answer for {name}")));
        // Nobody listens any more (harmless if the search ended already).
        let _ = daemon.stop_resolve_hostname(name);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_names_are_for_mdns() {
        for yes in ["8f2c1a3e.local", "X.LOCAL", "a.local."] {
            assert!(is_mdns_name(yes), "{yes}");
        }
        for no in [
            ".local",
            "local",
            "turn.example.com",
            "10.0.0.1",
            "a.localhost",
        ] {
            assert!(!is_mdns_name(no), "{no}");
        }
    }
}
