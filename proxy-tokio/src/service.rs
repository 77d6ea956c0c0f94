//! The async API: [`ProxyConnectionService`], its senders and writers. It spawns the
//! driver and talks to it only through `channel`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use proxy_core::{IceServer, LocalTrack, ProxyMessage};
use tokio::sync::{mpsc, oneshot};

use crate::channel::{
    Control, Events, IceServers, Input, Signals, CONTROL_CAPACITY, INBOX_CAPACITY,
};
use crate::driver::Driver;
use crate::engine::net::{IceServerSpec, IceTransportPolicy};
use crate::engine::{ProxyConfig, ProxyConnection, WriteError};

/// Configuration of a [`ProxyConnectionService`].
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The core's configuration (timeouts, ICE servers, local JID, ...).
    pub core: proxy_core::Config,
    /// Where to bind. A named address gets one UDP socket; the unspecified
    /// address (default `0.0.0.0:0`) gets one per usable interface address of its
    /// family, `127.0.0.1` included (each a host candidate; port 0: each its own).
    pub bind: SocketAddr,
    /// ICE servers as URLs, used instead of `core.ice_servers` when not empty
    /// (see [`IceServerSpec::parse`]).
    pub ice_servers: Vec<IceServerSpec>,
    /// `Relay`: offer relayed candidates only (the browsers' `iceTransportPolicy`).
    pub ice_transport_policy: IceTransportPolicy,
    /// TLS for `turns:` servers ([`tls_config`](crate::net::tls_config)); `None`:
    /// the Mozilla roots of `webpki-roots`.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// How often every track is reported as a [`ServiceEvent::Stats`];
    /// `None` (the default): never.
    ///
    /// [`ServiceEvent::Stats`]: crate::ServiceEvent::Stats
    pub stats_interval: Option<std::time::Duration>,
}

impl ServiceConfig {
    /// Binds `0.0.0.0:0`.
    pub fn new(core: proxy_core::Config) -> ServiceConfig {
        ServiceConfig {
            core,
            bind: SocketAddr::from(([0, 0, 0, 0], 0)),
            ice_servers: Vec::new(),
            ice_transport_policy: IceTransportPolicy::All,
            tls: None,
            stats_interval: None,
        }
    }

    /// Binds `127.0.0.1:0` (tests, same-machine use).
    pub fn loopback(core: proxy_core::Config) -> ServiceConfig {
        ServiceConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..ServiceConfig::new(core)
        }
    }
}

impl Default for ServiceConfig {
    fn default() -> ServiceConfig {
        ServiceConfig::new(proxy_core::Config::default())
    }
}

/// Why a command could not be carried out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The core refused (e.g. a connection is already active, empty peer JID).
    #[error(transparent)]
    Core(#[from] proxy_core::Error),
    /// Writing a frame failed.
    #[error("cannot write frame: {0}")]
    Write(#[from] WriteError),
    /// The driver task is gone (it panicked or the runtime shut down).
    #[error("the connection driver has stopped")]
    DriverGone,
}

/// Handle to a proxy connection service running on a tokio task.
///
/// One service holds at most one connection at a time (as lib-jitsi-meet's does) and
/// can make new ones after a connection closes. Dropping the handle terminates the
/// active connection: the driver sends `session-terminate` to the signaling stream,
/// then exits, ending the [`Events`] and [`Signals`] streams.
#[derive(Debug)]
pub struct ProxyConnectionService {
    control: mpsc::Sender<Control>,
    inbox: mpsc::Sender<Input>,
    local_addrs: Vec<SocketAddr>,
}

impl ProxyConnectionService {
    /// Binds the UDP sockets and spawns the driver on the current tokio runtime.
    ///
    /// Returns the handle, the stream of events and the stream of outgoing signaling
    /// messages (which the application must deliver to their addressees).
    pub async fn bind(
        config: ServiceConfig,
    ) -> std::io::Result<(ProxyConnectionService, Events, Signals)> {
        let sockets = crate::io::bind_all(&crate::io::host_addrs(config.bind)).await?;
        let local_addrs = sockets
            .iter()
            .map(|s| s.local_addr())
            .collect::<std::io::Result<Vec<_>>>()?;
        let tls = match config.tls {
            Some(tls) => tls,
            None => crate::engine::net::tls_config(rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
            })
            .map_err(std::io::Error::other)?,
        };
        let now = std::time::Instant::now();
        let mut connection = ProxyConnection::new(
            now,
            ProxyConfig {
                core: config.core,
                local_addrs: local_addrs.clone(),
                ice_transport_policy: config.ice_transport_policy,
                tls: Some(tls),
                // Only loopback: there is no LAN to ask (nor to disturb).
                resolve_mdns: cfg!(feature = "mdns")
                    && local_addrs.iter().any(|a| !a.ip().is_loopback()),
                wall_clock: Some(std::time::SystemTime::now()),
                stats_interval: config.stats_interval,
            },
        );
        if !config.ice_servers.is_empty() {
            connection.set_server_specs(now, config.ice_servers);
        }
        let (control_tx, control_rx) = mpsc::channel(CONTROL_CAPACITY);
        let (inbox_tx, inbox_rx) = mpsc::channel(INBOX_CAPACITY);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (signals_tx, signals_rx) = mpsc::unbounded_channel();
        let driver = Driver::new(
            connection,
            sockets,
            local_addrs.clone(),
            control_rx,
            inbox_rx,
            events_tx,
            signals_tx,
        );
        tokio::spawn(driver.run());
        Ok((
            ProxyConnectionService {
                control: control_tx,
                inbox: inbox_tx,
                local_addrs,
            },
            Events { rx: events_rx },
            Signals { rx: signals_rx },
        ))
    }

    /// The addresses of our UDP sockets (the host candidates, unless relay-only).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Connects to `peer` sending `tracks`; returns one writer per track, in order.
    pub async fn start(
        &self,
        peer: &str,
        tracks: &[LocalTrack],
    ) -> Result<Vec<TrackWriter>, ServiceError> {
        request(&self.control, |reply| Control::Start {
            peer: peer.to_owned(),
            tracks: tracks.to_vec(),
            reply,
        })
        .await??;
        Ok((0..tracks.len()).map(|i| self.track_writer(i)).collect())
    }

    /// Hands a signaling message from the channel to the service.
    pub async fn process_message(&self, message: ProxyMessage) -> Result<(), ServiceError> {
        submit(&self.inbox, Input::Message(message)).await
    }

    /// A cloneable sender of signaling messages, for a task that reads the channel.
    /// It does not keep the service alive.
    pub fn message_sender(&self) -> MessageSender {
        MessageSender {
            inbox: self.inbox.clone(),
        }
    }

    /// Terminates the active connection, if any (sends `session-terminate`).
    /// Returns once the driver has done it.
    pub async fn stop(&self) -> Result<(), ServiceError> {
        request(&self.control, |reply| Control::Stop { reply }).await
    }

    /// Uses these ICE servers (e.g. fresh credentials from XEP-0215) from now
    /// on, for the current connection and later ones, instead of the config's.
    pub async fn set_ice_servers(&self, servers: Vec<IceServer>) -> Result<(), ServiceError> {
        request(&self.control, |reply| Control::SetIceServers {
            servers: IceServers::Core(servers),
            reply,
        })
        .await
    }

    /// [`set_ice_servers`](Self::set_ice_servers) with servers given as URLs
    /// ([`IceServerSpec::parse`]).
    pub async fn set_server_specs(&self, servers: Vec<IceServerSpec>) -> Result<(), ServiceError> {
        request(&self.control, |reply| Control::SetIceServers {
            servers: IceServers::Specs(servers),
            reply,
        })
        .await
    }

    /// Whether a connection exists right now.
    pub async fn is_active(&self) -> Result<bool, ServiceError> {
        request(&self.control, |reply| Control::IsActive { reply }).await
    }

    /// Asks the peer for a keyframe on the remote track at `mid`.
    pub async fn request_keyframe(&self, mid: &str) -> Result<(), ServiceError> {
        let result = request(&self.control, |reply| Control::RequestKeyframe {
            mid: mid.to_owned(),
            reply,
        });
        Ok(result.await??)
    }

    /// A writer for local track `index` (as given to `start`, or the responder's
    /// configured tracks). Writers do not keep the service alive.
    pub fn track_writer(&self, index: usize) -> TrackWriter {
        TrackWriter {
            index,
            inbox: self.inbox.clone(),
        }
    }
}

/// Sends signaling messages to a service; cloneable.
#[derive(Debug, Clone)]
pub struct MessageSender {
    inbox: mpsc::Sender<Input>,
}

impl MessageSender {
    /// Hands a signaling message from the channel to the service.
    pub async fn process_message(&self, message: ProxyMessage) -> Result<(), ServiceError> {
        submit(&self.inbox, Input::Message(message)).await
    }

    /// [`ProxyConnectionService::set_ice_servers`] from a signaling task (e.g.
    /// XEP-0215 credentials fetched again), in order with its messages.
    pub async fn set_ice_servers(&self, servers: Vec<IceServer>) -> Result<(), ServiceError> {
        submit(&self.inbox, Input::IceServers(servers)).await
    }
}

/// Writes encoded frames on one local track; cloneable.
#[derive(Debug, Clone)]
pub struct TrackWriter {
    index: usize,
    inbox: mpsc::Sender<Input>,
}

impl TrackWriter {
    /// Index of the local track.
    pub fn index(&self) -> usize {
        self.index
    }

    /// Sends one encoded frame (e.g. a whole VP8 frame); `pts` is its media time
    /// since the track began. Waits until the driver has packetized it.
    pub async fn write_frame(&self, pts: Duration, data: Bytes) -> Result<(), ServiceError> {
        let result = request(&self.inbox, |reply| Input::Write {
            track: self.index,
            pts,
            data,
            reply,
        });
        Ok(result.await??)
    }
}

/// Sends `message` to the driver (waiting for room); `DriverGone` if it has exited.
async fn submit<M>(tx: &mpsc::Sender<M>, message: M) -> Result<(), ServiceError> {
    tx.send(message).await.map_err(|_| ServiceError::DriverGone)
}

/// Sends the message `make` builds around a reply sender, and awaits the reply;
/// `DriverGone` if the driver exits before answering.
async fn request<M, T>(
    tx: &mpsc::Sender<M>,
    make: impl FnOnce(oneshot::Sender<T>) -> M,
) -> Result<T, ServiceError> {
    let (reply, rx) = oneshot::channel();
    submit(tx, make(reply)).await?;
    rx.await.map_err(|_| ServiceError::DriverGone)
}
