//! A sans-IO XMPP client for the proxy connection: what carries
//! lib-jitsi-meet's Jingle IQs over a real XMPP server (as its
//! `JitsiConnection` does), with no sockets, no clock reads and no unseeded
//! randomness. `proxy_tokio::xmpp` drives it over TCP, TLS and WebSocket.
//!
//! - [`sasl`]: SASL ANONYMOUS, PLAIN and SCRAM-SHA-1/-256 (RFC 4616, 5802, 7677).
//! - [`framing`]: the stream cut into stanzas, over TCP (RFC 6120) or
//!   WebSocket (RFC 7395), under size and depth limits.
//! - [`client`]: the client state machine: negotiation, routing, XEP-0215,
//!   XEP-0199, MUC, reconnection.
//! - [`rate`]: the token bucket on the server's stanza and byte rate.
//! - [`stanza`]: one stanza read into a small bounded element tree.
//! - [`envelope`]: the three forms a proxy IQ travels in (plain, `jitsi:proxy`,
//!   Jitsi Spot's JSON message).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod client;
pub mod envelope;
pub mod framing;
pub mod rate;
pub mod sasl;
pub mod stanza;

pub use client::{Client, Config, Event, Output};
