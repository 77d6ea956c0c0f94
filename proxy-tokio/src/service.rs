//! The async API: [`ProxyConnectionService`] and the streams it hands out.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use proxy_core::{CloseReason, LocalTrack, ProxyMessage, RemoteTrack};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use crate::driver::{Control, Driver, Input};
pub use crate::engine::{Frame, WriteError};
use crate::engine::{ProxyConfig, ProxyConnection};

/// How many inputs (messages, frame writes) may wait for the driver.
const INBOX_CAPACITY: usize = 256;
/// How many received frames may wait per remote track before new ones are dropped.
pub(crate) const FRAME_QUEUE: usize = 512;

/// Configuration of a [`ProxyConnectionService`].
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The core's configuration (timeouts, ICE servers, local JID, ...).
    pub core: proxy_core::Config,
    /// Where to bind the UDP socket. Default `0.0.0.0:0`: any port, host candidates
    /// from the machine's default-route address and `127.0.0.1`.
    pub bind: SocketAddr,
}

impl ServiceConfig {
    /// Binds `0.0.0.0:0`.
    pub fn new(core: proxy_core::Config) -> ServiceConfig {
        ServiceConfig {
            core,
            bind: SocketAddr::from(([0, 0, 0, 0], 0)),
        }
    }

    /// Binds `127.0.0.1:0` (tests, same-machine use).
    pub fn loopback(core: proxy_core::Config) -> ServiceConfig {
        ServiceConfig {
            core,
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
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

/// A signaling message to deliver: the stringified `<iq>` for `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingSignal {
    /// Full JID of the addressee.
    pub to: String,
    /// The stanza.
    pub iq: String,
}

/// News from the service.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServiceEvent {
    /// ICE and DTLS are up with `peer`; media flows.
    Connected {
        /// The peer's JID.
        peer: String,
    },
    /// The peer sends a track; its frames arrive on `frames`.
    RemoteTrack {
        /// The track, described as lib-jitsi-meet describes a proxied track.
        track: RemoteTrack,
        /// Its frames; ends when the connection closes.
        frames: RemoteFrames,
    },
    /// The peer asks for a keyframe on our local track `track`.
    KeyframeRequest {
        /// Index of the local track.
        track: usize,
    },
    /// The connection closed (once per connection).
    ConnectionClosed {
        /// The peer's JID.
        peer: String,
        /// Why.
        reason: CloseReason,
    },
    /// Something went wrong; the service goes on.
    Error(proxy_core::Error),
}

/// Handle to a proxy connection service running on a tokio task.
///
/// One service holds at most one connection at a time (as lib-jitsi-meet's does) and
/// can make new ones after a connection closes. Dropping the handle terminates the
/// active connection: the driver sends `session-terminate` to the signaling stream,
/// then exits, ending the [`Events`] and [`Signals`] streams.
#[derive(Debug)]
pub struct ProxyConnectionService {
    control: mpsc::UnboundedSender<Control>,
    inbox: mpsc::Sender<Input>,
    local_addrs: Vec<SocketAddr>,
}

impl ProxyConnectionService {
    /// Binds the UDP socket and spawns the driver on the current tokio runtime.
    ///
    /// Returns the handle, the stream of events and the stream of outgoing signaling
    /// messages (which the application must deliver to their addressees).
    pub async fn bind(
        config: ServiceConfig,
    ) -> std::io::Result<(ProxyConnectionService, Events, Signals)> {
        let socket = UdpSocket::bind(config.bind).await?;
        let bound = socket.local_addr()?;
        let local_addrs = crate::net::host_candidates(bound);
        let connection = ProxyConnection::new(
            std::time::Instant::now(),
            ProxyConfig {
                core: config.core,
                local_addrs: local_addrs.clone(),
            },
        );
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let (inbox_tx, inbox_rx) = mpsc::channel(INBOX_CAPACITY);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (signals_tx, signals_rx) = mpsc::unbounded_channel();
        let driver = Driver::new(
            connection,
            socket,
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

    /// The addresses offered as host candidates (all share the bound port).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Connects to `peer` sending `tracks`; returns one writer per track, in order.
    pub async fn start(
        &self,
        peer: &str,
        tracks: &[LocalTrack],
    ) -> Result<Vec<TrackWriter>, ServiceError> {
        let (reply, rx) = oneshot::channel();
        self.control
            .send(Control::Start {
                peer: peer.to_owned(),
                tracks: tracks.to_vec(),
                reply,
            })
            .map_err(|_| ServiceError::DriverGone)?;
        rx.await.map_err(|_| ServiceError::DriverGone)??;
        Ok((0..tracks.len()).map(|i| self.track_writer(i)).collect())
    }

    /// Hands a signaling message from the channel to the service.
    pub async fn process_message(&self, message: ProxyMessage) -> Result<(), ServiceError> {
        self.inbox
            .send(Input::Message(message))
            .await
            .map_err(|_| ServiceError::DriverGone)
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
        let (reply, rx) = oneshot::channel();
        self.control
            .send(Control::Stop { reply })
            .map_err(|_| ServiceError::DriverGone)?;
        rx.await.map_err(|_| ServiceError::DriverGone)
    }

    /// Whether a connection exists right now.
    pub async fn is_active(&self) -> Result<bool, ServiceError> {
        let (reply, rx) = oneshot::channel();
        self.control
            .send(Control::IsActive { reply })
            .map_err(|_| ServiceError::DriverGone)?;
        rx.await.map_err(|_| ServiceError::DriverGone)
    }

    /// Asks the peer for a keyframe on the remote track at `mid`.
    pub async fn request_keyframe(&self, mid: &str) -> Result<(), ServiceError> {
        let (reply, rx) = oneshot::channel();
        self.control
            .send(Control::RequestKeyframe {
                mid: mid.to_owned(),
                reply,
            })
            .map_err(|_| ServiceError::DriverGone)?;
        Ok(rx.await.map_err(|_| ServiceError::DriverGone)??)
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
        self.inbox
            .send(Input::Message(message))
            .await
            .map_err(|_| ServiceError::DriverGone)
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
        let (reply, rx) = oneshot::channel();
        self.inbox
            .send(Input::Write {
                track: self.index,
                pts,
                data,
                reply,
            })
            .await
            .map_err(|_| ServiceError::DriverGone)?;
        Ok(rx.await.map_err(|_| ServiceError::DriverGone)??)
    }
}

/// The stream of [`ServiceEvent`]s; ends when the driver exits.
#[derive(Debug)]
pub struct Events {
    rx: mpsc::UnboundedReceiver<ServiceEvent>,
}

impl Events {
    /// The next event, `None` once the driver has exited.
    pub async fn next(&mut self) -> Option<ServiceEvent> {
        self.rx.recv().await
    }
}

impl Stream for Events {
    type Item = ServiceEvent;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ServiceEvent>> {
        self.rx.poll_recv(cx)
    }
}

/// The stream of [`OutgoingSignal`]s; ends when the driver exits (after the final
/// `session-terminate`, if any).
#[derive(Debug)]
pub struct Signals {
    rx: mpsc::UnboundedReceiver<OutgoingSignal>,
}

impl Signals {
    /// The next signal, `None` once the driver has exited.
    pub async fn next(&mut self) -> Option<OutgoingSignal> {
        self.rx.recv().await
    }
}

impl Stream for Signals {
    type Item = OutgoingSignal;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<OutgoingSignal>> {
        self.rx.poll_recv(cx)
    }
}

/// The frames of one remote track; ends when its connection closes.
#[derive(Debug)]
pub struct RemoteFrames {
    pub(crate) rx: mpsc::Receiver<Frame>,
    pub(crate) dropped: Arc<AtomicU64>,
}

impl RemoteFrames {
    /// The next frame, `None` once the connection has closed and all frames were read.
    pub async fn next(&mut self) -> Option<Frame> {
        self.rx.recv().await
    }

    /// Frames dropped so far because this receiver fell behind by more than 512 frames.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Stream for RemoteFrames {
    type Item = Frame;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        self.rx.poll_recv(cx)
    }
}
