//! Typed errors: malformed input, a misbehaving peer, and API misuse are kept apart.

use crate::jingle::Action;

/// Longest piece of input copied into an error, in bytes.
pub(crate) const MAX_ERROR_TEXT: usize = 64;

/// `s` cut to at most `max` bytes on a char boundary: the one place input
/// is shortened before an error carries it.
pub(crate) fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    // `end` is a char boundary no larger than `s.len()`, so this cannot fail.
    s.get(..end).unwrap_or_default()
}

/// `s` cut to [`MAX_ERROR_TEXT`] bytes, owned, for an error.
pub(crate) fn excerpt(s: &str) -> String {
    truncate(s, MAX_ERROR_TEXT).to_owned()
}

/// Everything the service reports through [`Event::Error`](crate::Event::Error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The message could not be read; nothing changed.
    #[error("malformed message from {from}: {source}; message dropped, session unchanged")]
    Malformed {
        /// Who sent it.
        from: String,
        /// What was wrong.
        #[source]
        source: ParseError,
    },
    /// The message was well formed but broke the protocol; nothing changed unless said.
    #[error("peer {from} misbehaved: {source}")]
    Protocol {
        /// Who sent it.
        from: String,
        /// What was wrong.
        #[source]
        source: ProtocolError,
    },
    /// The peer sent a valid XEP-0166 action that a proxy connection does not
    /// implement (see [`Action`] for which); it was refused (answered with an
    /// IQ error if it had an `id`) and nothing changed.
    #[error(
        "{from} sent {action}{}, which a proxy connection does not implement; refused, session unchanged",
        with_payload(.payload.as_deref())
    )]
    Unsupported {
        /// Who sent it.
        from: String,
        /// The action.
        action: Action,
        /// The name of its payload element, if it had one (e.g. `ringing` for
        /// a session-info).
        payload: Option<String>,
    },
    /// The application used the API wrongly; nothing changed.
    #[error("API misuse: {0}")]
    Api(#[from] ApiError),
    /// The media engine reported a failure.
    #[error("media engine failed: {0}")]
    Engine(#[from] EngineError),
    /// An SDP from the engine or the peer could not be converted.
    #[error("SDP conversion failed: {0}")]
    Convert(#[from] ConvertError),
}

/// What was wrong with an incoming `<iq>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The message is larger than the configured limit.
    #[error("message is {len} bytes, limit is {limit}")]
    TooLarge {
        /// Size of the message.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Elements are nested deeper than the limit.
    #[error("elements nested deeper than {limit} at byte {at}")]
    TooDeep {
        /// The limit.
        limit: usize,
        /// Byte offset.
        at: u64,
    },
    /// Too many elements of one kind.
    #[error("more than {limit} {what}")]
    TooMany {
        /// What there were too many of, e.g. `candidates`.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The XML itself is broken (syntax, encoding, unbalanced tags).
    #[error("invalid XML at byte {at}: {reason}")]
    Xml {
        /// Byte offset.
        at: u64,
        /// What the XML reader reported.
        reason: String,
    },
    /// A DOCTYPE, entity declaration or processing instruction was present.
    #[error("forbidden XML construct at byte {at}: {what}")]
    Forbidden {
        /// `DOCTYPE` or `processing instruction`.
        what: &'static str,
        /// Byte offset.
        at: u64,
    },
    /// An element is in the wrong namespace, or has none.
    #[error("<{element}> has namespace {found:?}, expected {expected:?}")]
    Namespace {
        /// Local name of the element.
        element: String,
        /// The namespace it had (empty for none).
        found: String,
        /// The namespace it should have.
        expected: &'static str,
    },
    /// The root is not an `<iq>` or the `<iq>` has no usable payload.
    #[error("unexpected element <{found}>, expected {expected}")]
    UnexpectedElement {
        /// What was found.
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A required attribute is missing.
    #[error("<{element}> lacks required attribute {attribute:?}")]
    MissingAttribute {
        /// Element local name.
        element: &'static str,
        /// Attribute name.
        attribute: &'static str,
    },
    /// An attribute value could not be read.
    #[error("<{element}> has invalid {attribute}={value:?}")]
    InvalidAttribute {
        /// Element local name.
        element: &'static str,
        /// Attribute name.
        attribute: &'static str,
        /// The value, truncated to 64 bytes.
        value: String,
    },
    /// The `action` is none of XEP-0166's nor Jitsi's (truncated to 64 bytes).
    #[error("unknown jingle action '{0}'")]
    UnknownAction(String),
    /// Two contents share a name.
    #[error("duplicate content name {0:?}")]
    DuplicateContent(String),
}

impl ParseError {
    /// Builds [`ParseError::InvalidAttribute`], truncating the value so errors never
    /// carry large input.
    pub(crate) fn invalid(el: &'static str, attr: &'static str, value: &str) -> ParseError {
        ParseError::InvalidAttribute {
            element: el,
            attribute: attr,
            value: excerpt(value),
        }
    }
}

/// A well-formed message that breaks the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// Another peer wrote while a connection is active; it was rejected.
    #[error("a connection with {active} is active; message rejected")]
    Busy {
        /// The JID of the active peer.
        active: String,
    },
    /// The action makes no sense in the current state.
    #[error("{action} is not expected {state}")]
    UnexpectedAction {
        /// The action received.
        action: Action,
        /// Where the service was, e.g. `with no session`.
        state: &'static str,
    },
    /// The `sid` does not match the session's.
    #[error("sid {found:?} does not match session {expected:?}")]
    SidMismatch {
        /// Our session id.
        expected: String,
        /// What arrived (None if absent).
        found: Option<String>,
    },
    /// The IQ carried no `<jingle>` (and was not a result/error).
    #[error("iq of type {0} carries no <jingle>")]
    NoJingle(&'static str),
    /// A session-initiate or session-accept that cannot describe a session.
    #[error("{action} {problem}")]
    Unusable {
        /// The action.
        action: Action,
        /// What was missing or contradictory.
        problem: DescriptionProblem,
    },
    /// Transport-info that arrived before its session and was not claimed in time.
    #[error("transport-info arrived before any session-initiate and expired unclaimed")]
    OrphanTransportInfo,
    /// A second session-initiate from the peer of an active session.
    #[error("duplicate session-initiate; the session in progress is kept")]
    DuplicateInitiate,
    /// The peer answered one of our IQs with an error.
    #[error("peer answered with an error: {condition}")]
    IqError {
        /// The stanza error condition.
        condition: crate::message::DefinedCondition,
    },
    /// A candidate could not be handed to the media engine.
    #[error("unusable candidate: {0}")]
    Candidate(String),
}

/// Why a session-initiate or session-accept cannot describe a session; the
/// text follows the action, e.g. "session-initiate has no DTLS fingerprint in
/// content '0'".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DescriptionProblem {
    /// It came from an empty JID.
    #[error("comes from an empty JID")]
    EmptySender,
    /// It has no `<content>`.
    #[error("has no <content>")]
    NoContents,
    /// No content is usable; the first content lacks this (the first missing
    /// piece in the order description, transport, ICE ufrag, ICE password,
    /// DTLS fingerprint).
    #[error("has no {missing} in content '{content}'")]
    Missing {
        /// What is missing.
        missing: Missing,
        /// The content's name (truncated to 64 bytes).
        content: String,
    },
    /// A content's DTLS fingerprint uses a hash WebRTC does not.
    #[error(
        "has a DTLS fingerprint with hash '{hash}' in content '{content}', \
         not one of sha-1, sha-224, sha-256, sha-384, sha-512"
    )]
    UnknownHash {
        /// The hash as written (truncated to 64 bytes).
        hash: String,
        /// The content's name (truncated to 64 bytes).
        content: String,
    },
}

/// A piece of a content that a session description needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Missing {
    /// `<description>` (XEP-0167).
    #[error("<description>")]
    Description,
    /// `<transport>` (XEP-0176).
    #[error("<transport>")]
    Transport,
    /// The transport's `ufrag`.
    #[error("ICE ufrag")]
    IceUfrag,
    /// The transport's `pwd`.
    #[error("ICE password")]
    IcePwd,
    /// The transport's `<fingerprint>` (XEP-0320).
    #[error("DTLS fingerprint")]
    Fingerprint,
}

/// ` with <name/>` for [`Error::Unsupported`]'s payload, or nothing.
fn with_payload(payload: Option<&str>) -> String {
    payload.map_or_else(String::new, |p| format!(" with <{p}/>"))
}

/// The application called the API in a way that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// `start` with an empty peer JID.
    #[error("start() needs a peer JID; got an empty one")]
    EmptyPeerJid,
    /// `start` while a connection exists.
    #[error("a connection with {0} is already active; stop() it first")]
    AlreadyActive(String),
    /// `start` with a track whose codec is not of its kind (e.g. an audio
    /// track in VP9).
    #[error("local track {index} is {kind} but its codec {codec} is not")]
    CodecKind {
        /// The track's index in the list given to `start`.
        index: usize,
        /// The track's kind.
        kind: crate::MediaKind,
        /// Its codec.
        codec: crate::Codec,
    },
    /// A command that needs a connection while there is none.
    #[error("no active connection")]
    NoConnection,
    /// An engine event arrived that the service did not ask for.
    #[error("engine event {0} was not expected now; ignored")]
    UnexpectedEngineEvent(&'static str),
}

/// A failure reported by the media engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The engine could not create an offer.
    #[error("could not create an offer: {0}")]
    CreateOffer(String),
    /// The engine rejected the remote offer.
    #[error("could not apply the remote offer: {0}")]
    ApplyOffer(String),
    /// The engine rejected the remote answer.
    #[error("could not apply the remote answer: {0}")]
    ApplyAnswer(String),
    /// Any other engine failure.
    #[error("{0}")]
    Other(String),
}

/// Jingle <-> SDP conversion failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// sdp-types could not parse the SDP.
    #[error("SDP does not parse: {0}")]
    Sdp(String),
    /// A value in the SDP could not be represented in Jingle (or back).
    #[error("{what} is invalid: {value:?}")]
    Invalid {
        /// The field, e.g. `a=rtpmap`.
        what: &'static str,
        /// The offending value, truncated.
        value: String,
    },
    /// A required piece is missing, e.g. ICE credentials.
    #[error("missing {0}")]
    Missing(&'static str),
    /// sdp-types could not write the SDP (into memory: not expected to happen).
    #[error("SDP could not be written: {0}")]
    Write(String),
}
