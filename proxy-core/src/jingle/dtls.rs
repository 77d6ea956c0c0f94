//! XEP-0320: DTLS-SRTP fingerprints (`urn:xmpp:jingle:apps:dtls:0`).

use crate::error::ParseError;
use crate::xml::{boolean, required, wire_enum, Elem, Reader, Writer};

/// `urn:xmpp:jingle:apps:dtls:0`.
pub const NS: &str = "urn:xmpp:jingle:apps:dtls:0";

wire_enum! {
    /// `setup` (RFC 4145 roles).
    pub enum Setup {
        Active = "active",
        Passive = "passive",
        Actpass = "actpass",
        Holdconn = "holdconn",
    }
}

/// `<fingerprint hash='sha-256' setup='actpass'>AA:BB:…</fingerprint>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// `hash`, e.g. `sha-256`.
    pub hash: String,
    /// `setup`; lib-jitsi-meet omits it in transport-info.
    pub setup: Option<Setup>,
    /// `required` (lib-jitsi-meet writes `true` in transport-info).
    pub required: Option<bool>,
    /// `cryptex` (RFC 9335 header encryption), if written.
    pub cryptex: Option<bool>,
    /// The fingerprint itself, colon-separated hex.
    pub value: String,
}

impl Fingerprint {
    /// `<fingerprint hash=… setup=… required=… cryptex=…>AA:BB:…</fingerprint>`.
    pub(crate) fn parse(rd: &mut Reader<'_>, e: Elem<'_>) -> Result<Fingerprint, ParseError> {
        const EL: &str = "fingerprint";
        let (mut hash, mut setup, mut required_, mut cryptex) = (None, None, None, None);
        e.attrs(|k, v| {
            match k {
                "hash" => hash = Some(v.into_owned()),
                "setup" => {
                    let s =
                        Setup::from_wire(&v).ok_or_else(|| ParseError::invalid(EL, "setup", &v))?;
                    setup = Some(s);
                }
                "required" => required_ = Some(boolean(EL, "required", &v)?),
                "cryptex" => cryptex = Some(boolean(EL, "cryptex", &v)?),
                _ => {}
            }
            Ok(())
        })?;
        let hash = required(hash, EL, "hash")?;
        let value = rd.text(e)?;
        let value = value.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\n'));
        Ok(Fingerprint {
            hash,
            setup,
            required: required_,
            cryptex,
            value: value.to_owned(),
        })
    }

    /// Two shapes exist in lib-jitsi-meet: session-initiate/accept write
    /// `hash`, `xmlns`, `setup`; transport-info (`trickle`) writes `xmlns`
    /// first and `required`.
    pub(crate) fn write(&self, w: &mut Writer<'_>, trickle: bool) {
        w.open("fingerprint");
        if trickle {
            w.attr("xmlns", NS);
        }
        w.attr("hash", &self.hash);
        if !trickle {
            w.attr("xmlns", NS);
        }
        let bool_str = |b: bool| if b { "true" } else { "false" };
        w.opt("setup", self.setup.map(Setup::as_str))
            .opt("cryptex", self.cryptex.map(bool_str))
            .opt("required", self.required.map(bool_str))
            .text("fingerprint", &self.value);
    }
}
