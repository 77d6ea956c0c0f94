//! XEP-0338: Jingle Grouping Framework (`urn:xmpp:jingle:apps:grouping:0`).

use crate::error::ParseError;
use crate::xml::{push_within, required, Elem, Limits, Reader, Writer};

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

impl Group {
    /// `<group semantics=…>`.
    pub(crate) fn parse(
        rd: &mut Reader<'_>,
        e: Elem<'_>,
        limits: &Limits,
    ) -> Result<Group, ParseError> {
        let mut group = Group {
            semantics: required(e.attr("semantics")?, "group", "semantics")?,
            contents: Vec::new(),
        };
        while let Some(c) = rd.child(&e)? {
            if c.local() != "content" {
                rd.skip(c)?;
                continue;
            }
            c.expect_ns(NS)?;
            let name = required(c.attr("name")?, "content", "name")?;
            push_within(
                &mut group.contents,
                name,
                limits.max_children,
                "group members",
            )?;
            rd.skip_content(c)?;
        }
        Ok(group)
    }

    pub(crate) fn write(&self, w: &mut Writer<'_>) {
        w.open("group")
            .attr("semantics", &self.semantics)
            .attr("xmlns", NS)
            .children("group", |w| {
                for name in &self.contents {
                    w.open("content").attr("name", name).empty();
                }
            });
    }
}
