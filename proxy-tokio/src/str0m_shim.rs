//! TEMPORARY compile shim mirroring the pinned proxy-str0m API until branch `str0m`
//! lands. It connects nothing. Removed on merge.
#![allow(dead_code, missing_docs)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proxy_core::{LocalTrack, MediaKind, ProxyMessage};

pub struct ProxyConfig {
    pub core: proxy_core::Config,
    pub local_addrs: Vec<SocketAddr>,
}

pub struct ProxyConnection {
    _config: ProxyConfig,
}

impl ProxyConnection {
    pub fn new(config: ProxyConfig) -> ProxyConnection {
        ProxyConnection { _config: config }
    }
    pub fn start(
        &mut self,
        _now: Instant,
        _peer: &str,
        _tracks: &[LocalTrack],
    ) -> Result<(), proxy_core::Error> {
        Ok(())
    }
    pub fn handle_message(&mut self, _now: Instant, _message: ProxyMessage) {}
    pub fn handle_receive(&mut self, _n: Instant, _s: SocketAddr, _d: SocketAddr, _c: &[u8]) {}
    pub fn accepts(&self, _s: SocketAddr, _d: SocketAddr, _c: &[u8]) -> bool {
        false
    }
    pub fn handle_timeout(&mut self, _now: Instant) {}
    pub fn stop(&mut self, _now: Instant) {}
    pub fn write_frame(
        &mut self,
        _now: Instant,
        _track: usize,
        _pts: Duration,
        _data: &[u8],
    ) -> Result<(), WriteError> {
        Err(WriteError::NoConnection)
    }
    pub fn request_keyframe(&mut self, _mid: &str) -> Result<(), WriteError> {
        Err(WriteError::NoConnection)
    }
    pub fn poll_output(&mut self) -> Output {
        Output::Timeout(Instant::now() + Duration::from_secs(3600))
    }
    pub fn is_active(&self) -> bool {
        false
    }
}

pub enum Output {
    Transmit(Transmit),
    Signal { to: String, iq: String },
    Event(Event),
    Timeout(Instant),
}

pub struct Transmit {
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub contents: Bytes,
}

pub enum Event {
    Core(proxy_core::Event),
    Frame(Frame),
    KeyframeRequest { track: usize },
}

#[derive(Debug, Clone)]
pub struct Frame {
    pub mid: String,
    pub kind: MediaKind,
    pub pts: Duration,
    pub keyframe: Option<bool>,
    pub data: Bytes,
}

#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum WriteError {
    #[error("no connection")]
    NoConnection,
    #[error("not connected")]
    NotConnected,
    #[error("unknown track {0}")]
    UnknownTrack(usize),
    #[error("engine: {0}")]
    Engine(String),
}
