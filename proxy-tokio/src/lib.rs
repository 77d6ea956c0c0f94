//! Tokio driver for proxy connections.
#![forbid(unsafe_code)]
