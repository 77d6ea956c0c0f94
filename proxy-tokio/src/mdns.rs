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
//! after [`MDNS_TIMEOUT`]. Nothing here blocks the driver: the daemon is
//! reached through channels from a spawned task. Without the feature, a
//! `.local` name is answered at once with an error.
//!
//! [mdns-sd]: https://docs.rs/mdns-sd

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
pub(crate) fn resolve(host: String, news: mpsc::UnboundedSender<NetNews>) {
    #[cfg(feature = "mdns")]
    {
        let answer = daemon::lookup(&host);
        tokio::spawn(async move {
            let result = answer
                .await
                .unwrap_or_else(|_| Err("the mDNS query was dropped".into()));
            let _ = news.send(NetNews::Resolved { host, result });
        });
    }
    #[cfg(not(feature = "mdns"))]
    {
        let result: Result<Vec<std::net::IpAddr>, String> =
            Err("mDNS names are not resolved (built without the `mdns` feature)".into());
        let _ = news.send(NetNews::Resolved { host, result });
    }
}

#[cfg(feature = "mdns")]
mod daemon {
    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::{Mutex, OnceLock, PoisonError};

    use mdns_sd::{HostnameResolutionEvent, ServiceDaemon};
    use tokio::sync::oneshot;

    use super::MDNS_TIMEOUT;

    type Answer = Result<Vec<IpAddr>, String>;

    /// The process's daemon (or why there is none), and who waits for which
    /// name (lower case, with the final dot mdns-sd wants).
    struct Resolver {
        daemon: Result<ServiceDaemon, String>,
        waiting: Mutex<HashMap<String, Vec<oneshot::Sender<Answer>>>>,
    }

    fn resolver() -> &'static Resolver {
        static RESOLVER: OnceLock<Resolver> = OnceLock::new();
        RESOLVER.get_or_init(|| Resolver {
            daemon: ServiceDaemon::new().map_err(|e| format!("mDNS: {e}")),
            waiting: Mutex::new(HashMap::new()),
        })
    }

    /// The answer for `host`, when it comes; the first caller for a name
    /// starts the query (must be called within a tokio runtime).
    pub(super) fn lookup(host: &str) -> oneshot::Receiver<Answer> {
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
