//! The proxy-connection state machine.

mod types;

use std::collections::VecDeque;
use std::time::Instant;

pub use types::*;

use crate::error::{ApiError, Error};
use crate::message::ProxyMessage;

/// lib-jitsi-meet's `ProxyConnectionService`, sans-IO.
#[derive(Debug)]
pub struct ProxyConnectionService {
    config: Config,
    outputs: VecDeque<Output>,
}

impl ProxyConnectionService {
    /// A service with no connection.
    pub fn new(config: Config) -> ProxyConnectionService {
        ProxyConnectionService {
            config,
            outputs: VecDeque::new(),
        }
    }

    /// Starts a connection to `peer` as initiator, sending `tracks`.
    pub fn start(&mut self, now: Instant, peer: &str, tracks: &[LocalTrack]) -> Result<(), Error> {
        let _ = (now, tracks, &self.config);
        if peer.is_empty() {
            return Err(ApiError::EmptyPeerJid.into());
        }
        Ok(())
    }

    /// Handles one signaling message.
    pub fn handle_message(&mut self, now: Instant, message: ProxyMessage) {
        let _ = (now, message);
    }

    /// Handles one media-engine event.
    pub fn handle_engine_event(&mut self, now: Instant, event: EngineEvent) {
        let _ = (now, event);
    }

    /// Stops the active connection, if any.
    pub fn stop(&mut self, now: Instant) {
        let _ = now;
    }

    /// Advances timers to `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let _ = now;
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
