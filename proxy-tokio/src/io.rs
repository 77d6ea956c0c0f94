//! The driver's network resources: one UDP socket per usable interface
//! address, DNS lookups (mDNS for `.local` names, see [`crate::mdns`]) and TCP
//! streams to TURN servers (TLS runs inside the sans-IO connection; here are
//! only plain bytes).

use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::engine::net::StreamId;

/// How long a TCP connect to a TURN server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Read buffer of a stream.
const STREAM_READ: usize = 16 * 1024;

/// The addresses to bind UDP sockets on for `bind`: itself when it names an
/// address; for the unspecified address, every usable interface address of
/// its family (up, not link-local, not a container bridge), loopback last,
/// each with `bind`'s port.
pub(crate) fn host_addrs(bind: SocketAddr) -> Vec<SocketAddr> {
    if !bind.ip().is_unspecified() {
        return vec![bind];
    }
    let mut addrs: Vec<SocketAddr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i.is_oper_up() && !i.is_link_local())
        .filter(|i| {
            !["docker", "br-", "veth", "virbr"]
                .iter()
                .any(|p| i.name.starts_with(p))
        })
        .map(|i| i.ip())
        .filter(|ip| ip.is_ipv4() == bind.is_ipv4() && !ip.is_unspecified() && !ip.is_multicast())
        .map(|ip| SocketAddr::new(ip, bind.port()))
        .collect();
    addrs.sort_by_key(|a| a.ip().is_loopback());
    addrs.dedup();
    let loopback: IpAddr = if bind.is_ipv4() {
        [127, 0, 0, 1].into()
    } else {
        std::net::Ipv6Addr::LOCALHOST.into()
    };
    if !addrs.iter().any(|a| a.ip() == loopback) {
        addrs.push(SocketAddr::new(loopback, bind.port()));
    }
    addrs
}

/// Binds one UDP socket per address (port 0: each its own); addresses that
/// fail to bind are skipped, unless none binds.
pub(crate) async fn bind_all(addrs: &[SocketAddr]) -> io::Result<Vec<UdpSocket>> {
    let mut sockets = Vec::new();
    let mut first_error = None;
    for a in addrs {
        match UdpSocket::bind(a).await {
            Ok(s) => sockets.push(s),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    match (sockets.is_empty(), first_error) {
        (true, Some(e)) => Err(e),
        (true, None) => Err(io::Error::new(
            io::ErrorKind::AddrNotAvailable,
            "no address to bind",
        )),
        _ => Ok(sockets),
    }
}

/// Waits for a datagram on any socket: (socket index, length, source).
/// Cancel-safe: nothing is read unless it is returned.
pub(crate) async fn recv_any(
    sockets: &[UdpSocket],
    buf: &mut [u8],
) -> (usize, io::Result<(usize, SocketAddr)>) {
    poll_fn(|cx| {
        for (i, s) in sockets.iter().enumerate() {
            let mut rb = tokio::io::ReadBuf::new(buf);
            match s.poll_recv_from(cx, &mut rb) {
                Poll::Ready(Ok(from)) => return Poll::Ready((i, Ok((rb.filled().len(), from)))),
                Poll::Ready(Err(e)) => return Poll::Ready((i, Err(e))),
                Poll::Pending => {}
            }
        }
        Poll::Pending
    })
    .await
}

/// What the network tasks report to the driver.
#[derive(Debug)]
pub(crate) enum NetNews {
    Resolved {
        host: String,
        result: Result<Vec<IpAddr>, String>,
    },
    Connected {
        stream: StreamId,
        local: SocketAddr,
    },
    /// Bytes read; empty at EOF.
    Data {
        stream: StreamId,
        bytes: Bytes,
    },
    Closed {
        stream: StreamId,
    },
}

/// Looks `host` up and reports it: a remote candidate's `.local` name (`mdns`)
/// with multicast DNS on the interfaces of `local` (our sockets' addresses, see
/// [`crate::mdns`]), an ICE server's name with the system resolver (even in
/// `.local`: some networks name their servers so).
pub(crate) fn resolve(
    host: String,
    port: u16,
    mdns: bool,
    local: &[SocketAddr],
    news: mpsc::UnboundedSender<NetNews>,
) {
    if mdns && crate::mdns::is_mdns_name(&host) {
        crate::mdns::resolve(host, local, news);
        return;
    }
    tokio::spawn(async move {
        let result = match tokio::net::lookup_host((host.as_str(), port)).await {
            Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
            Err(e) => Err(e.to_string()),
        };
        let _ = news.send(NetNews::Resolved { host, result });
    });
}

/// One TCP stream to a TURN server: writes go through `tx` to its writer
/// task (never awaited by the driver); its reader reports to the driver.
pub(crate) struct Stream {
    tx: mpsc::UnboundedSender<Bytes>,
    task: JoinHandle<()>,
}

impl Stream {
    /// Connects to `server` (with a time limit) and runs the stream.
    pub(crate) fn connect(
        stream: StreamId,
        server: SocketAddr,
        news: mpsc::UnboundedSender<NetNews>,
    ) -> Stream {
        let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
        let task = tokio::spawn(async move {
            let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(server)).await
            {
                Ok(Ok(tcp)) => tcp,
                _ => {
                    let _ = news.send(NetNews::Closed { stream });
                    return;
                }
            };
            let _ = tcp.set_nodelay(true);
            let Ok(local) = tcp.local_addr() else {
                let _ = news.send(NetNews::Closed { stream });
                return;
            };
            let _ = news.send(NetNews::Connected { stream, local });
            let (mut read, mut write) = tcp.into_split();
            let writer = tokio::spawn(async move {
                while let Some(bytes) = rx.recv().await {
                    if write.write_all(&bytes).await.is_err() {
                        return;
                    }
                }
                // The driver closed the stream: finish it.
                let _ = write.shutdown().await;
            });
            let mut buf = vec![0u8; STREAM_READ];
            loop {
                match read.read(&mut buf).await {
                    Ok(n) => {
                        let bytes = Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
                        if news.send(NetNews::Data { stream, bytes }).is_err() || n == 0 {
                            break;
                        }
                    }
                    Err(_) => {
                        let _ = news.send(NetNews::Closed { stream });
                        break;
                    }
                }
            }
            // Writes after the read side ended go nowhere.
            let _ = writer.await;
        });
        Stream { tx, task }
    }

    /// Queues bytes to write.
    pub(crate) fn send(&self, bytes: Bytes) {
        let _ = self.tx.send(bytes);
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        // Reading stops now; the writer (a separate task) finishes what was
        // queued and shuts the stream down.
        self.task.abort();
    }
}

/// A socket for a transmit from `source`: the one bound to it, else the
/// first of its family.
pub(crate) fn socket_for(sockets: &[UdpSocket], source: SocketAddr) -> Option<&UdpSocket> {
    let bound = |s: &&UdpSocket| s.local_addr().ok() == Some(source);
    sockets.iter().find(bound).or_else(|| {
        sockets.iter().find(|s| {
            s.local_addr()
                .is_ok_and(|a| a.is_ipv4() == source.is_ipv4())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_address_is_its_own_host() {
        let a: SocketAddr = "127.0.0.1:4000".parse().unwrap();
        assert_eq!(host_addrs(a), vec![a]);
    }

    #[test]
    fn the_wildcard_gives_interfaces_with_loopback_last() {
        let got = host_addrs("0.0.0.0:0".parse().unwrap());
        assert_eq!(got.last(), Some(&"127.0.0.1:0".parse().unwrap()));
        assert!(got.iter().all(|a| a.is_ipv4() && !a.ip().is_unspecified()));
    }
}
