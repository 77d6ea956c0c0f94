//! proxy-core bound to str0m.
#![forbid(unsafe_code)]
