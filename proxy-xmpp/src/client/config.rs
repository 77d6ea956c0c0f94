//! What a [`Client`](super::Client) is set up with.

use std::time::{Duration, Instant, SystemTime};

use proxy_core::Limits;

use crate::envelope::Envelope;
use crate::rate::Rate;
use crate::sasl::{self, Credentials};

#[allow(unused_imports)] // named in the docs
use super::{Client, Output};

/// How the stream is carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// TCP c2s (RFC 6120), the driver's bytes through [`Client::handle_bytes`].
    Tcp {
        /// How TLS is used.
        tls: TlsMode,
    },
    /// WebSocket (RFC 7395), one message per [`Client::handle_frame`].
    WebSocket {
        /// `wss://`: the connection is encrypted (PLAIN is allowed).
        secure: bool,
    },
}

/// TLS on a TCP stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// STARTTLS; a server that does not offer it is a terminal error.
    Required,
    /// STARTTLS when the server offers it, plain text otherwise.
    Optional,
    /// Never STARTTLS.
    None,
    /// Direct TLS: the driver runs the handshake before
    /// [`Client::handle_connected`].
    Direct,
}

/// A MUC room to join (XEP-0045).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    /// The room's bare JID, `room@conference.example.com`.
    pub jid: String,
    /// Our nickname: the occupant JID is `jid/nick` (with a seeded suffix
    /// after a nickname `conflict`, see the [module docs](super)).
    pub nick: String,
    /// The room password, if any.
    pub password: Option<String>,
}

impl Room {
    /// The occupant JID `room/nick`.
    pub fn occupant_jid(&self) -> String {
        format!("{}/{}", self.jid, self.nick)
    }
}

/// What the client is set up with.
#[derive(Debug, Clone)]
pub struct Config {
    /// How the stream is carried.
    pub transport: Transport,
    /// The XMPP domain (stream `to`, extdisco and ping addressee).
    pub domain: String,
    /// Login credentials; `None` for SASL ANONYMOUS.
    pub credentials: Option<Credentials>,
    /// Allow PLAIN on an unencrypted stream (loopback tests only).
    pub allow_plain_without_tls: bool,
    /// Highest SCRAM iteration count accepted.
    pub max_iterations: u32,
    /// The resource to bind; `None` lets the server choose. On a
    /// `conflict` the client binds it with a seeded suffix (see the
    /// [module docs](super)).
    pub resource: Option<String>,
    /// The room to join once online.
    pub room: Option<Room>,
    /// The form outgoing proxy IQs take.
    pub envelope: Envelope,
    /// Bounds on every stanza the server sends.
    pub limits: Limits,
    /// Ping the server after this long without hearing from it.
    pub ping_interval: Duration,
    /// A ping unanswered this long means the connection is dead.
    pub ping_timeout: Duration,
    /// An IQ unanswered (or queued while offline) this long fails.
    pub iq_timeout: Duration,
    /// Connect and log in within this long, else try again.
    pub connect_timeout: Duration,
    /// Most stanzas per second from the server (see [`Client::wants_read`]).
    pub stanza_rate: Rate,
    /// Most bytes per second from the server.
    pub byte_rate: Rate,
    /// The wall-clock time at an instant, to read XEP-0215 `expires`;
    /// `None`: the servers are fetched once per connection, as
    /// lib-jitsi-meet does.
    pub wall_clock: Option<(SystemTime, Instant)>,
    /// The seed of every random choice (see the [module docs](super)).
    pub seed: [u8; 32],
}

impl Config {
    /// A configuration with the defaults: ANONYMOUS, no room, Direct
    /// envelope, default [`Limits`], ping every 30 s with a 10 s deadline,
    /// IQs failing after 30 s, 30 s to log in, 200 stanzas/s (burst 400) and
    /// 2 MiB/s (burst 4 MiB) from the server.
    pub fn new(transport: Transport, domain: &str, seed: [u8; 32]) -> Config {
        Config {
            transport,
            domain: domain.to_owned(),
            credentials: None,
            allow_plain_without_tls: false,
            max_iterations: sasl::DEFAULT_MAX_ITERATIONS,
            resource: None,
            room: None,
            envelope: Envelope::Direct,
            limits: Limits::default(),
            ping_interval: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(10),
            iq_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(30),
            stanza_rate: Rate {
                per_second: 200,
                burst: 400,
            },
            byte_rate: Rate {
                per_second: 2 << 20,
                burst: 4 << 20,
            },
            wall_clock: None,
            seed,
        }
    }
}
