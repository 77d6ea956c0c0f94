//! Tokio driver for proxy connections.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ivf;
