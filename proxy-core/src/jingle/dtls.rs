//! XEP-0320: DTLS-SRTP fingerprints (`urn:xmpp:jingle:apps:dtls:0`).

use std::borrow::Cow;

/// `urn:xmpp:jingle:apps:dtls:0`.
pub const NS: &str = "urn:xmpp:jingle:apps:dtls:0";

/// `setup` (RFC 4145 roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Setup {
    /// `active`
    Active,
    /// `passive`
    Passive,
    /// `actpass`
    Actpass,
    /// `holdconn`
    Holdconn,
}

impl Setup {
    /// The attribute value as written on the wire (and in SDP).
    pub fn as_str(self) -> &'static str {
        match self {
            Setup::Active => "active",
            Setup::Passive => "passive",
            Setup::Actpass => "actpass",
            Setup::Holdconn => "holdconn",
        }
    }

    /// Parses a wire value.
    pub fn from_wire(s: &str) -> Option<Setup> {
        [
            Setup::Active,
            Setup::Passive,
            Setup::Actpass,
            Setup::Holdconn,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// `<fingerprint hash='sha-256' setup='actpass'>AA:BB:…</fingerprint>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint<'a> {
    /// `hash`, e.g. `sha-256`.
    pub hash: Cow<'a, str>,
    /// `setup`; lib-jitsi-meet omits it in transport-info.
    pub setup: Option<Setup>,
    /// `required` (lib-jitsi-meet writes `true` in transport-info).
    pub required: Option<bool>,
    /// `cryptex` (RFC 9335 header encryption), if written.
    pub cryptex: Option<bool>,
    /// The fingerprint itself, colon-separated hex.
    pub value: Cow<'a, str>,
}

use super::owned;

impl Fingerprint<'_> {
    /// This fingerprint with nothing borrowed.
    pub fn into_owned(self) -> Fingerprint<'static> {
        Fingerprint {
            hash: owned(self.hash),
            setup: self.setup,
            required: self.required,
            cryptex: self.cryptex,
            value: owned(self.value),
        }
    }
}
