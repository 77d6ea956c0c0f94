//! Tokio driver, async API and command-line program for proxy connections.
//!
//! [`ProxyConnectionService`] is lib-jitsi-meet's `ProxyConnectionService` as an async
//! API: [`bind`](ProxyConnectionService::bind) it, feed it signaling with
//! [`process_message`](ProxyConnectionService::process_message), deliver what comes
//! out of [`Signals`], and watch [`Events`]. Media goes in through [`TrackWriter`]s
//! and comes out of [`RemoteFrames`]. Below it, one task drives the sans-IO
//! `proxy_str0m::ProxyConnection` with one UDP socket and one timer (see `driver`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use proxy_tokio::{ProxyConnectionService, ServiceConfig, ServiceEvent};
//! use proxy_core::{LocalTrack, ProxyMessage};
//!
//! let (service, mut events, mut signals) =
//!     ProxyConnectionService::bind(ServiceConfig::default()).await?;
//! // Deliver outgoing <iq>s over your signaling channel:
//! tokio::spawn(async move {
//!     while let Some(signal) = signals.next().await {
//!         println!("to {}: {}", signal.to, signal.iq);
//!     }
//! });
//! // ...and hand incoming ones to the service:
//! // service.process_message(ProxyMessage { from, iq }).await?;
//! let writers = service.start("peer@example.com/res", &[LocalTrack::desktop()]).await?;
//! while let Some(event) = events.next().await {
//!     if let ServiceEvent::Connected { .. } = event {
//!         writers[0].write_frame(std::time::Duration::ZERO, bytes::Bytes::new()).await?;
//!     }
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod driver;
pub mod ivf;
pub mod net;
mod service;
pub mod signaling;

/// The sans-IO layer this crate drives.
pub(crate) use proxy_str0m as engine;

pub use service::{
    Events, Frame, MessageSender, OutgoingSignal, ProxyConnectionService, RemoteFrames,
    ServiceConfig, ServiceError, ServiceEvent, Signals, TrackWriter, WriteError,
};
