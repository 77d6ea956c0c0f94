//! What flows between the handle and the driver: commands in, events, signals and
//! frames out. Both `service` (the handle) and `driver` use this module; neither
//! uses the other's types (the handle only spawns the driver).
//!
//! How each channel is bounded, and why events and signals are not: the crate
//! docs, "Channels and their bounds".

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use proxy_core::{CloseReason, LocalTrack, OutgoingIq, ProxyMessage, RemoteTrack};
use tokio::sync::{mpsc, oneshot};

use crate::engine::{Frame, WriteError};

/// How many commands may wait for the driver.
pub(crate) const CONTROL_CAPACITY: usize = 16;
/// How many inputs (messages, frame writes) may wait for the driver.
pub(crate) const INBOX_CAPACITY: usize = 256;
/// How many received frames may wait per remote track before new ones are dropped.
pub(crate) const FRAME_QUEUE: usize = 512;

/// Commands from the (single) service handle; each carries its reply.
pub(crate) enum Control {
    Start {
        peer: String,
        tracks: Vec<LocalTrack>,
        reply: oneshot::Sender<Result<(), proxy_core::Error>>,
    },
    Stop {
        reply: oneshot::Sender<()>,
    },
    IsActive {
        reply: oneshot::Sender<bool>,
    },
    RequestKeyframe {
        mid: String,
        reply: oneshot::Sender<Result<(), WriteError>>,
    },
    SetIceServers {
        servers: IceServers,
        reply: oneshot::Sender<()>,
    },
}

/// ICE servers for [`Control::SetIceServers`], in either form.
pub(crate) enum IceServers {
    Core(Vec<proxy_core::IceServer>),
    Specs(Vec<crate::engine::net::IceServerSpec>),
}

/// Inputs from cloneable senders (signaling readers, track writers).
pub(crate) enum Input {
    Message(ProxyMessage),
    IceServers(Vec<proxy_core::IceServer>),
    Write {
        track: usize,
        pts: Duration,
        data: Bytes,
        reply: oneshot::Sender<Result<(), WriteError>>,
    },
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
    /// Media now travels on this candidate pair (once connected, then on
    /// every change), like the selected pair of a browser's `getStats()`.
    Path(proxy_str0m::Path),
    /// One track's statistics, every [`ServiceConfig::stats_interval`]
    /// (like polling a browser's `getStats()`).
    ///
    /// [`ServiceConfig::stats_interval`]: crate::ServiceConfig::stats_interval
    Stats(proxy_str0m::TrackStats),
    /// A warning: an ICE server could not be used, or a relay stopped working
    /// (wrong credentials, unreachable, ...). The connection goes on with its
    /// other candidates.
    RelayFailed {
        /// The server, as its URL.
        server: String,
        /// The transport to it (`None` for STUN or DNS).
        proto: Option<crate::engine::net::RelayProto>,
        /// What went wrong.
        reason: crate::engine::net::RelayError,
    },
}

/// The stream of [`ServiceEvent`]s; ends when the driver exits.
///
/// Unbounded: the driver never waits for the application and never drops an
/// event, so the application must keep reading (see the crate docs, "Channels and their bounds").
#[derive(Debug)]
pub struct Events {
    pub(crate) rx: mpsc::UnboundedReceiver<ServiceEvent>,
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

/// The stream of [`OutgoingIq`]s; ends when the driver exits (after the final
/// `session-terminate`, if any).
///
/// Unbounded, like [`Events`]: each signal is a protocol message that must not be
/// dropped, and the driver never waits for the application.
#[derive(Debug)]
pub struct Signals {
    pub(crate) rx: mpsc::UnboundedReceiver<OutgoingIq>,
}

impl Signals {
    /// The next signal, `None` once the driver has exited.
    pub async fn next(&mut self) -> Option<OutgoingIq> {
        self.rx.recv().await
    }
}

impl Stream for Signals {
    type Item = OutgoingIq;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<OutgoingIq>> {
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

    /// Frames dropped so far because this receiver fell behind by more than 512
    /// frames.
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
