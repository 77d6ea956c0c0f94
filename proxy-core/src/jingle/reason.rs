//! XEP-0166's conditions: the `<reason>` of a session-terminate (§7.4) and the
//! Jingle-specific error conditions of an `<iq type='error'>` (§8).

use super::NS_JINGLE;
use crate::error::{excerpt, ParseError};
use crate::xml::{is_element_name, wire_enum, Elem, Reader, Writer};

wire_enum! {
    /// The condition element of a `<reason>` (XEP-0166 §7.4).
    pub enum ReasonCondition {
        AlternativeSession = "alternative-session",
        Busy = "busy",
        Cancel = "cancel",
        ConnectivityError = "connectivity-error",
        Decline = "decline",
        Expired = "expired",
        FailedApplication = "failed-application",
        FailedTransport = "failed-transport",
        GeneralError = "general-error",
        Gone = "gone",
        IncompatibleParameters = "incompatible-parameters",
        MediaError = "media-error",
        SecurityError = "security-error",
        Success = "success",
        Timeout = "timeout",
        UnsupportedApplications = "unsupported-applications",
        UnsupportedTransports = "unsupported-transports",
    } else {
        /// Any other element name, as written.
        Other(String)
    }
}

wire_enum! {
    /// A Jingle-specific error condition (`urn:xmpp:jingle:errors:1`, XEP-0166 §8).
    pub enum JingleCondition {
        /// The request cannot occur at this point in the session.
        OutOfOrder = "out-of-order",
        /// Both parties sent the same request at once.
        TieBreak = "tie-break",
        /// The `sid` names no session.
        UnknownSession = "unknown-session",
        /// The info payload is not understood.
        UnsupportedInfo = "unsupported-info",
    } else {
        /// Any other element name, as written.
        Other(String)
    }
}

/// A `<reason>` of a session-terminate (XEP-0166 §7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    /// The condition, e.g. `success`, `decline`, `failed-transport`.
    pub condition: ReasonCondition,
    /// Optional `<text>`.
    pub text: Option<String>,
}

impl Reason {
    /// A reason with only a condition.
    pub fn new(condition: impl Into<ReasonCondition>) -> Reason {
        Reason {
            condition: condition.into(),
            text: None,
        }
    }

    /// `<reason>` with one condition element and an optional `<text>`.
    pub(crate) fn parse(rd: &mut Reader<'_>, e: Elem<'_>) -> Result<Reason, ParseError> {
        e.attrs(|_, _| Ok(()))?;
        let (mut condition, mut text) = (None, None);
        while let Some(c) = rd.child(&e)? {
            if c.ns != NS_JINGLE {
                rd.skip(c)?;
            } else if c.local() == "text" && text.is_none() {
                text = Some(rd.text(c)?);
            } else {
                if condition.is_none() && c.local() != "text" {
                    condition = Some(ReasonCondition::from_wire(condition_name(
                        &c,
                        "a condition in <reason>",
                    )?));
                }
                rd.skip(c)?;
            }
        }
        Ok(Reason {
            condition: condition.ok_or(ParseError::UnexpectedElement {
                found: "</reason>".into(),
                expected: "a condition in <reason>",
            })?,
            text,
        })
    }

    /// `<reason><condition/><text>…</text></reason>`; a condition that is not
    /// an element name is written as `general-error`, so the output stays XML.
    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.0.push_str("<reason>");
        let condition = Some(self.condition.as_str()).filter(|c| is_element_name(c));
        w.open(condition.unwrap_or("general-error")).empty();
        if let Some(text) = &self.text {
            w.open("text").text("text", text);
        }
        w.close("reason");
    }
}

/// The local name of a condition element, if it can be written back.
pub(crate) fn condition_name<'e>(
    e: &'e Elem<'_>,
    expected: &'static str,
) -> Result<&'e str, ParseError> {
    if is_element_name(e.local()) {
        Ok(e.local())
    } else {
        Err(ParseError::UnexpectedElement {
            found: excerpt(e.local()),
            expected,
        })
    }
}
