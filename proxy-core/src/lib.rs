//! lib-jitsi-meet's proxy connection (`ProxyConnectionService`) as a pure,
//! sans-IO state machine.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod convert;
pub mod error;
pub mod extdisco;
pub mod jingle;
pub mod message;
pub mod service;

pub use error::{ApiError, ConvertError, EngineError, Error, ParseError, ProtocolError};
pub use jingle::parse::{parse_iq, parse_iq_bytes, Limits};
pub use jingle::write::write_iq;
pub use message::{Iq, IqType, ProxyMessage, StanzaError};
pub use service::{
    CloseReason, Config, Direction, EngineCommand, EngineEvent, Event, IceServer, IceServerKind,
    LocalTrack, MediaKind, Output, ProxyConnectionService, RemoteTrack, TrackSpec, VideoType,
};
