//! Local addresses for host candidates, found without extra dependencies.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

/// The addresses of this machine to offer as host candidates for a socket bound
/// to `bound`.
///
/// A socket bound to a specific address yields just that address. A socket bound to
/// the unspecified address (`0.0.0.0` / `::`) yields the address of the default route
/// (learned by "connecting" a throwaway UDP socket to a public address, which sends
/// nothing) followed by the loopback address, each with the bound port.
pub(crate) fn host_candidates(bound: SocketAddr) -> Vec<SocketAddr> {
    if !bound.ip().is_unspecified() {
        return vec![bound];
    }
    let port = bound.port();
    let mut addrs = Vec::new();
    let (probe_bind, probe_target, loopback): (IpAddr, SocketAddr, IpAddr) = match bound {
        SocketAddr::V4(_) => (
            Ipv4Addr::UNSPECIFIED.into(),
            // Any public address will do: connect() on UDP only picks a route, sends nothing.
            SocketAddr::from(([8, 8, 8, 8], 53)),
            Ipv4Addr::LOCALHOST.into(),
        ),
        SocketAddr::V6(_) => (
            Ipv6Addr::UNSPECIFIED.into(),
            SocketAddr::from(([0x2001, 0x4860, 0x4860, 0, 0, 0, 0, 0x8888], 53)),
            Ipv6Addr::LOCALHOST.into(),
        ),
    };
    if let Some(ip) = default_route_ip(probe_bind, probe_target) {
        if !ip.is_loopback() && !ip.is_unspecified() {
            addrs.push(SocketAddr::new(ip, port));
        }
    }
    addrs.push(SocketAddr::new(loopback, port));
    addrs
}

/// The local address the kernel would use to reach `target`, if there is a route.
fn default_route_ip(bind: IpAddr, target: SocketAddr) -> Option<IpAddr> {
    let socket = UdpSocket::bind(SocketAddr::new(bind, 0)).ok()?;
    socket.connect(target).ok()?;
    Some(socket.local_addr().ok()?.ip())
}

/// Which of our candidate addresses a datagram from `source` most likely arrived on,
/// for a socket bound to the unspecified address (the kernel does not tell us
/// without `IP_PKTINFO`): the loopback candidate for loopback sources, a candidate
/// with the source's own address for traffic from this machine, else the first
/// (default-route) candidate.
pub(crate) fn guess_destination(
    candidates: &[SocketAddr],
    source: SocketAddr,
) -> Option<SocketAddr> {
    let same_family = |a: &&SocketAddr| a.is_ipv4() == source.is_ipv4();
    if source.ip().is_loopback() {
        if let Some(a) = candidates
            .iter()
            .filter(same_family)
            .find(|a| a.ip().is_loopback())
        {
            return Some(*a);
        }
    }
    if let Some(a) = candidates.iter().find(|a| a.ip() == source.ip()) {
        return Some(*a);
    }
    candidates
        .iter()
        .filter(same_family)
        .find(|a| !a.ip().is_loopback())
        .or_else(|| candidates.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specific_bind_is_its_own_candidate() {
        let a: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(host_candidates(a), vec![a]);
    }

    #[test]
    fn wildcard_bind_includes_loopback_with_the_port() {
        let got = host_candidates("0.0.0.0:4321".parse().unwrap());
        assert!(got.contains(&"127.0.0.1:4321".parse().unwrap()));
        assert!(got
            .iter()
            .all(|a| a.port() == 4321 && !a.ip().is_unspecified()));
    }

    #[test]
    fn destination_guess() {
        let c: Vec<SocketAddr> = vec![
            "10.0.0.5:7".parse().unwrap(),
            "127.0.0.1:7".parse().unwrap(),
        ];
        let g = |s: &str| guess_destination(&c, s.parse().unwrap());
        assert_eq!(g("127.0.0.1:9"), Some(c[1]));
        assert_eq!(g("10.0.0.5:9"), Some(c[0]));
        assert_eq!(g("192.0.2.1:9"), Some(c[0]));
        assert_eq!(guess_destination(&[], "127.0.0.1:1".parse().unwrap()), None);
    }
}
