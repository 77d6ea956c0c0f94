//! What the models share beyond the reader: attribute values read as
//! numbers, booleans and required values, counted lists, and wire enums.

use std::str::FromStr;

use crate::error::ParseError;

/// Whether `s` can be written as an element name: a letter or `_`, then
/// letters, digits, `-`, `_` or `.` (no prefix). Stanza and Jingle
/// conditions read from the wire are element names; check one before
/// writing it back with [`Writer::open`](super::Writer::open).
pub fn is_element_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A decimal number of ASCII digits only (no sign, no space), in range for `T`.
pub(crate) fn number<T: FromStr>(
    el: &'static str,
    attr: &'static str,
    v: &str,
) -> Result<T, ParseError> {
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::invalid(el, attr, v));
    }
    v.parse().map_err(|_| ParseError::invalid(el, attr, v))
}

/// `true`/`1` or `false`/`0` (xs:boolean).
pub(crate) fn boolean(el: &'static str, attr: &'static str, v: &str) -> Result<bool, ParseError> {
    match v {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(ParseError::invalid(el, attr, v)),
    }
}

/// A required attribute's value, or [`ParseError::MissingAttribute`].
pub(crate) fn required<T>(
    v: Option<T>,
    el: &'static str,
    attr: &'static str,
) -> Result<T, ParseError> {
    v.ok_or(ParseError::MissingAttribute {
        element: el,
        attribute: attr,
    })
}

/// Pushes `item` unless `list` already holds `limit` ([`ParseError::TooMany`]).
pub(crate) fn push_within<T>(
    list: &mut Vec<T>,
    item: T,
    limit: usize,
    what: &'static str,
) -> Result<(), ParseError> {
    if list.len() >= limit {
        return Err(ParseError::TooMany { what, limit });
    }
    list.push(item);
    Ok(())
}

/// Declares a wire enum: each variant with its value as written (which
/// starts its doc). With `else { Other(String) }` after them the enum is
/// lenient: any other value is kept.
macro_rules! wire_enum {
    (@display $name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
    ($(#[$m:meta])* pub enum $name:ident {
        $($(#[$vm:meta])* $var:ident = $wire:literal,)*
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $(#[doc = concat!("`", $wire, "`")] $(#[$vm])* $var,)* }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),*];
            /// The value as written on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $wire,)* }
            }
            /// Parses a wire value.
            pub fn from_wire(s: &str) -> Option<$name> {
                match s { $($wire => Some($name::$var),)* _ => None }
            }
        }
        $crate::xml::wire_enum!(@display $name);
    };
    ($(#[$m:meta])* pub enum $name:ident {
        $($(#[$vm:meta])* $var:ident = $wire:literal,)*
    } else {
        $(#[$om:meta])* Other(String)
    }) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name { $(#[doc = concat!("`", $wire, "`")] $(#[$vm])* $var,)* $(#[$om])* Other(String) }
        impl $name {
            /// Every known value (all but `Other`), in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$var),*];
            /// The value as written on the wire.
            pub fn as_str(&self) -> &str {
                match self { $($name::$var => $wire,)* $name::Other(s) => s }
            }
            /// Parses a wire value: a known one, or `Other` holding it.
            pub fn from_wire(s: &str) -> $name {
                match s { $($wire => $name::$var,)* _ => $name::Other(s.to_owned()) }
            }
            /// Whether this is a known value (not `Other`).
            pub fn is_known(&self) -> bool {
                !matches!(self, $name::Other(_))
            }
        }
        $crate::xml::wire_enum!(@display $name);
        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                $name::from_wire(s)
            }
        }
        impl From<String> for $name {
            fn from(s: String) -> $name {
                match s.as_str() { $($wire => $name::$var,)* _ => $name::Other(s) }
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}
pub(crate) use wire_enum;
