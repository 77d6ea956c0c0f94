//! The service's inputs and outputs.

use std::time::Duration;

use crate::error::Error;
use crate::extdisco::IceServer;
use crate::message::OutgoingIq;
use crate::xml::wire_enum;

wire_enum! {
    /// Audio or video, written as in SDP and Jingle `media`.
    pub enum MediaKind {
        Audio = "audio",
        Video = "video",
    }
}

wire_enum! {
    /// Jitsi's video type of a source, written as in `<source videoType=…>`.
    pub enum VideoType {
        /// A camera.
        Camera = "camera",
        /// A screen share.
        Desktop = "desktop",
    }
}

wire_enum! {
    /// A media codec, written as its SDP encoding name (`a=rtpmap`) and
    /// Jingle `<payload-type name=…>`.
    pub enum Codec {
        /// Opus audio (RFC 7587), 48 kHz.
        Opus = "opus",
        /// VP8 video (RFC 7741).
        Vp8 = "VP8",
        /// VP9 video (RFC 9628).
        Vp9 = "VP9",
        /// H.264 video (RFC 6184), packetization mode 1.
        H264 = "H264",
        /// AV1 video (the AOM RTP payload format).
        Av1 = "AV1",
    }
}

impl Codec {
    /// The video codecs, in the order an offer lists them by default.
    pub const VIDEO: &'static [Codec] = &[Codec::Vp8, Codec::Vp9, Codec::H264, Codec::Av1];

    /// Audio or video.
    pub fn kind(self) -> MediaKind {
        match self {
            Codec::Opus => MediaKind::Audio,
            Codec::Vp8 | Codec::Vp9 | Codec::H264 | Codec::Av1 => MediaKind::Video,
        }
    }

    /// Parses an encoding name as SDP writes it, ignoring ASCII case
    /// (`vp9`, `VP9`, `h264`, `OPUS`, …).
    pub fn from_name(name: &str) -> Option<Codec> {
        Codec::ALL
            .iter()
            .copied()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
    }
}

/// A local track the application wants to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTrack {
    /// Audio or video.
    pub kind: MediaKind,
    /// For video: camera or desktop (default desktop, the proxy's main use).
    pub video_type: Option<VideoType>,
    /// The codec the application's frames are in. `None`: Opus for audio,
    /// VP8 for video. The offer lists it first (the other codecs follow,
    /// so the peer may still send us any), and frames are sent with it.
    pub codec: Option<Codec>,
}

impl LocalTrack {
    /// A screen-share video track.
    pub fn desktop() -> LocalTrack {
        LocalTrack {
            kind: MediaKind::Video,
            video_type: Some(VideoType::Desktop),
            codec: None,
        }
    }
    /// A camera video track.
    pub fn camera() -> LocalTrack {
        LocalTrack {
            kind: MediaKind::Video,
            video_type: Some(VideoType::Camera),
            codec: None,
        }
    }
    /// An audio track.
    pub fn audio() -> LocalTrack {
        LocalTrack {
            kind: MediaKind::Audio,
            video_type: None,
            codec: None,
        }
    }

    /// This track with its frames in `codec`.
    pub fn with_codec(mut self, codec: Codec) -> LocalTrack {
        self.codec = Some(codec);
        self
    }

    /// The codec of this track's frames: the default for its kind (Opus,
    /// VP8) if unset or not of its kind (`start` refuses such a track; a
    /// responder track gets the default).
    pub fn codec(&self) -> Codec {
        match self.codec {
            Some(c) if c.kind() == self.kind => c,
            _ => match self.kind {
                MediaKind::Audio => Codec::Opus,
                MediaKind::Video => Codec::Vp8,
            },
        }
    }
}

/// A local track as the service hands it to the engine: with its source name
/// and the msid the engine must write for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSpec {
    /// Index in the list given to `start` (or configured for the responder).
    pub index: usize,
    /// Source name: `peer-a{index}` / `peer-v{index}`.
    pub source_name: String,
    /// Audio or video.
    pub kind: MediaKind,
    /// Video type for video tracks.
    pub video_type: Option<VideoType>,
    /// MediaStream id the engine must use (the first half of `msid`).
    pub stream_id: String,
    /// Track id the engine must use (the second half of `msid`).
    pub track_id: String,
    /// The codec the application writes this track's frames in.
    pub codec: Codec,
}

/// Configuration of a [`ProxyConnectionService`](crate::ProxyConnectionService).
#[derive(Debug, Clone)]
pub struct Config {
    /// ICE servers for the engine (STUN/TURN).
    pub ice_servers: Vec<IceServer>,
    /// Report received video as `desktop` instead of `camera`.
    pub convert_video_to_desktop: bool,
    /// Seed for session ids and msids. Same seed and inputs, same outputs.
    pub seed: u64,
    /// Our own JID, written as `initiator`/`responder` where known.
    pub local_jid: Option<String>,
    /// Tracks the responder sends back on offered m-lines that allow it.
    pub responder_tracks: Vec<LocalTrack>,
    /// As initiator, offer `sendrecv` so the responder may send back (default: `sendonly`,
    /// as lib-jitsi-meet does).
    pub offer_to_receive: bool,
    /// How long an initiator waits for session-accept.
    pub session_accept_timeout: Duration,
    /// How long a session may take from its start until ICE connects.
    pub ice_connect_timeout: Duration,
    /// How long connectivity may be lost before the connection is closed.
    pub connectivity_lost_timeout: Duration,
    /// How long transport-info from a JID with no session is kept, waiting for its
    /// session-initiate.
    pub early_transport_info_ttl: Duration,
    /// At most one rejection per JID in this interval.
    pub rejection_interval: Duration,
    /// Parser bounds.
    pub limits: crate::Limits,
    /// Send the local candidates known when our offer or answer is made inside
    /// its `<transport>` (XEP-0176 allows it; lib-jitsi-meet reads them there),
    /// so the peer can check them as soon as it applies the description;
    /// candidates found later, and any beyond `limits.max_candidates`, follow
    /// in `transport-info`. `false` sends every candidate in `transport-info`,
    /// as lib-jitsi-meet itself does (one stanza more per side, and the peer's
    /// first checks wait for it). Default: `true`.
    pub candidates_in_description: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            ice_servers: Vec::new(),
            convert_video_to_desktop: false,
            seed: 0,
            local_jid: None,
            responder_tracks: Vec::new(),
            offer_to_receive: false,
            session_accept_timeout: Duration::from_secs(15),
            ice_connect_timeout: Duration::from_secs(15),
            connectivity_lost_timeout: Duration::from_secs(5),
            early_transport_info_ttl: Duration::from_secs(2),
            rejection_interval: Duration::from_secs(1),
            limits: crate::Limits::default(),
            candidates_in_description: true,
        }
    }
}

/// The SDP direction of an m-line the engine creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `a=sendonly`
    SendOnly,
    /// `a=recvonly`
    RecvOnly,
    /// `a=sendrecv`
    SendRecv,
    /// `a=inactive`
    Inactive,
}

/// Work the service asks of the media engine. The engine answers with
/// [`EngineEvent`]s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineCommand {
    /// Start a fresh peer connection as initiator with these ICE servers, one
    /// m-line per track in order with `direction`, and answer with
    /// [`EngineEvent::LocalOffer`]. With no tracks, offer one video m-line
    /// with `direction` (then [`Direction::RecvOnly`]) so the peer can send.
    CreateOffer {
        /// ICE servers to use.
        ice_servers: Vec<IceServer>,
        /// The tracks to send.
        tracks: Vec<TrackSpec>,
        /// Direction of each m-line.
        direction: Direction,
    },
    /// Start a fresh peer connection as responder, apply this remote offer,
    /// attach `tracks` to m-lines that let us send, and answer with
    /// [`EngineEvent::LocalAnswer`].
    ApplyOffer {
        /// ICE servers to use.
        ice_servers: Vec<IceServer>,
        /// The offer as SDP text.
        sdp: String,
        /// Tracks the responder sends back, if the offer allows.
        tracks: Vec<TrackSpec>,
    },
    /// Apply the remote answer to the pending offer.
    ApplyAnswer {
        /// The answer as SDP text.
        sdp: String,
    },
    /// Add a remote ICE candidate.
    AddRemoteCandidate {
        /// The mid it was signalled for.
        mid: String,
        /// SDP candidate attribute value, `candidate:…`.
        candidate: String,
    },
    /// Close the peer connection and free its resources.
    Close,
}

/// What the media engine tells the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    /// The offer asked for by [`EngineCommand::CreateOffer`], as SDP text.
    LocalOffer {
        /// SDP text.
        sdp: String,
    },
    /// The answer asked for by [`EngineCommand::ApplyOffer`], as SDP text.
    LocalAnswer {
        /// SDP text.
        sdp: String,
    },
    /// Local ICE candidates to trickle (SDP candidate values, `candidate:…`).
    LocalCandidates {
        /// The candidates.
        candidates: Vec<String>,
    },
    /// ICE (and DTLS) connected; media can flow.
    Connected,
    /// Connectivity was lost (may recover).
    Disconnected,
    /// The connection failed for good.
    Failed {
        /// What happened.
        reason: String,
    },
    /// The engine began receiving media on an m-line.
    RemoteTrack {
        /// The mid.
        mid: String,
        /// Audio or video.
        kind: MediaKind,
    },
    /// A command could not be carried out.
    CommandFailed(crate::error::EngineError),
    /// The peer closed its end of the media path (its DTLS close_notify
    /// arrived): the connection is over, whatever signaling says or doesn't.
    PeerClosed,
}

/// Why a connection closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// We called `stop()`.
    LocalStop,
    /// The peer sent session-terminate (with its reason condition).
    Terminated {
        /// The `<reason>` condition, e.g. `success`.
        condition: String,
    },
    /// The peer sent connection-error-encountered (with its details).
    PeerError {
        /// The `<details>` text, e.g. `xmpp.connection.ice.failed`, `rejected`.
        details: String,
    },
    /// The peer said it is unavailable.
    Unavailable,
    /// The peer closed its peer connection: its DTLS close_notify arrived, with no
    /// Jingle (lib-jitsi-meet's `stop()` and a browser's `pc.close()` send none).
    PeerClosed,
    /// No session-accept arrived in time.
    AcceptTimeout,
    /// ICE did not connect in time.
    IceTimeout,
    /// Connectivity was lost for longer than allowed.
    ConnectivityLost,
    /// The engine failed.
    EngineFailed(String),
    /// The peer's offer or answer could not be used.
    NegotiationFailed,
    /// The peer started a new session (a session-initiate with a new sid, or
    /// new ICE credentials): this connection is replaced by the new one.
    PeerRestarted,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::LocalStop => f.write_str("stopped locally"),
            CloseReason::Terminated { condition } => write!(f, "peer terminated ({condition})"),
            CloseReason::PeerError { details } => write!(f, "peer reported an error ({details})"),
            CloseReason::Unavailable => f.write_str("peer unavailable"),
            CloseReason::PeerClosed => f.write_str("peer closed its connection (DTLS close)"),
            CloseReason::AcceptTimeout => f.write_str("no session-accept in time"),
            CloseReason::IceTimeout => f.write_str("ICE did not connect in time"),
            CloseReason::ConnectivityLost => f.write_str("connectivity lost"),
            CloseReason::EngineFailed(e) => write!(f, "media engine failed: {e}"),
            CloseReason::NegotiationFailed => f.write_str("the offer or answer could not be used"),
            CloseReason::PeerRestarted => f.write_str("the peer started a new session"),
        }
    }
}

/// A received track described as a local track the application can use
/// (lib-jitsi-meet's `JitsiLocalTrack` made from a proxied stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTrack {
    /// The peer it comes from.
    pub peer: String,
    /// The mid it arrives on.
    pub mid: String,
    /// `proxy:{peer_jid}`.
    pub device_id: String,
    /// Always `proxy`.
    pub source_type: &'static str,
    /// Audio or video.
    pub kind: MediaKind,
    /// For video: desktop if `convert_video_to_desktop`, else camera.
    pub video_type: Option<VideoType>,
    /// The source name the peer gave it, if any (e.g. `peer-v0`).
    pub source_name: Option<String>,
    /// The msid the peer gave it, if any.
    pub msid: Option<String>,
}

/// What the service tells the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A remote track is ready.
    RemoteTrack(RemoteTrack),
    /// ICE/DTLS connected with the peer.
    Connected {
        /// The peer.
        peer: String,
    },
    /// The connection closed; fires exactly once per connection.
    ConnectionClosed {
        /// The peer.
        peer: String,
        /// Why.
        reason: CloseReason,
    },
    /// Something went wrong; see the error for what was kept.
    Error(Error),
}

/// One output of the service; drain with `poll_output` after every input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this `<iq>` over the signaling channel.
    Iq(OutgoingIq),
    /// Work for the media engine.
    Engine(EngineCommand),
    /// News for the application.
    Event(Event),
}
