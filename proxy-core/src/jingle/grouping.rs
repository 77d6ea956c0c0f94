//! XEP-0338: Jingle Grouping Framework (`urn:xmpp:jingle:apps:grouping:0`).

/// `urn:xmpp:jingle:apps:grouping:0`.
pub const NS: &str = "urn:xmpp:jingle:apps:grouping:0";

/// `<group semantics='BUNDLE'><content name='0'/></group>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `semantics`, e.g. `BUNDLE`.
    pub semantics: String,
    /// The content names (mids) in the group.
    pub contents: Vec<String>,
}
