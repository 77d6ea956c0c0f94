//! XEP-0166's wire values: the `action` of `<jingle>`, and the `creator` and
//! `senders` of `<content>`.

use crate::error::ParseError;
use crate::xml::wire_enum;

wire_enum! {
    /// A Jingle action: every one of XEP-0166 (§7.2), Jitsi's extensions, and
    /// [`Action::Other`] for any other value, kept so that it can be answered.
    ///
    /// A proxy connection acts on session-initiate, session-accept,
    /// session-terminate, transport-info and the Jitsi actions; the service
    /// answers the other XEP-0166 actions as unsupported and an
    /// [`Action::Other`] as a bad request.
    pub enum Action {
        /// The offer.
        SessionInitiate = "session-initiate",
        /// The answer.
        SessionAccept = "session-accept",
        /// The end of the session, with a reason.
        SessionTerminate = "session-terminate",
        /// `session-info`: a ping when empty, otherwise session-level information
        /// (e.g. XEP-0167's ringing).
        SessionInfo = "session-info",
        /// Trickled ICE candidates.
        TransportInfo = "transport-info",
        /// A new transport method for a content.
        TransportReplace = "transport-replace",
        /// Accepts a transport-replace.
        TransportAccept = "transport-accept",
        /// Rejects a transport-replace.
        TransportReject = "transport-reject",
        /// New contents for the session.
        ContentAdd = "content-add",
        /// Accepts a content-add.
        ContentAccept = "content-accept",
        /// Rejects a content-add.
        ContentReject = "content-reject",
        /// Removes contents from the session.
        ContentRemove = "content-remove",
        /// Sent by lib-jitsi-meet after applying an answer; ignored.
        ContentModify = "content-modify",
        /// `description-info`: informational hints about an application (e.g. a
        /// video size).
        DescriptionInfo = "description-info",
        /// Information about security preconditions.
        SecurityInfo = "security-info",
        /// (Jitsi): new `<source>`s; answered, otherwise ignored.
        SourceAdd = "source-add",
        /// (Jitsi): removed `<source>`s; answered, otherwise ignored.
        SourceRemove = "source-remove",
        /// (Jitsi proxy): the peer gave up or rejected us.
        ConnectionErrorEncountered = "connection-error-encountered",
        /// (Jitsi proxy): the peer cannot take a connection.
        Unavailable = "unavailable",
    } else {
        /// Any other value, as it was written (XEP-0166 §7.2: answered with
        /// `bad-request`).
        Other(String)
    }
}

wire_enum! {
    /// `content@creator`.
    pub enum Creator {
        Initiator = "initiator",
        Responder = "responder",
    }
}

wire_enum! {
    /// `content@senders`, plus lib-jitsi-meet's `rejected` for a port-0 m-line.
    ///
    /// lib-jitsi-meet writes it from the writer's own SDP direction: `sendrecv` is
    /// `both`, `sendonly` is `initiator`, `recvonly` is `responder`, `inactive` is
    /// `none`, whichever role the writer has.
    pub enum Senders {
        /// `a=sendrecv`.
        Both = "both",
        /// `a=sendonly` as lib-jitsi-meet writes it.
        Initiator = "initiator",
        /// `a=recvonly` as lib-jitsi-meet writes it.
        Responder = "responder",
        /// `a=inactive`.
        None = "none",
        /// an m-line with port 0.
        Rejected = "rejected",
    }
}

impl Senders {
    /// The `senders` attribute of `element`.
    pub(crate) fn read(element: &'static str, value: &str) -> Result<Senders, ParseError> {
        Senders::from_wire(value).ok_or_else(|| ParseError::invalid(element, "senders", value))
    }
}
