//! XEP-0338: Jingle Grouping Framework (`urn:xmpp:jingle:apps:grouping:0`).

use std::borrow::Cow;

/// `urn:xmpp:jingle:apps:grouping:0`.
pub const NS: &str = "urn:xmpp:jingle:apps:grouping:0";

/// `<group semantics='BUNDLE'><content name='0'/></group>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group<'a> {
    /// `semantics`, e.g. `BUNDLE`.
    pub semantics: Cow<'a, str>,
    /// The content names (mids) in the group.
    pub contents: Vec<Cow<'a, str>>,
}

use super::owned;

impl Group<'_> {
    /// This group with nothing borrowed.
    pub fn into_owned(self) -> Group<'static> {
        Group {
            semantics: owned(self.semantics),
            contents: self.contents.into_iter().map(owned).collect(),
        }
    }
}
