//! A list of operations (messages from three JIDs made from lib-jitsi-meet's
//! real messages with byte edits, start/stop, timeouts, engine events) replayed
//! on a `ProxyConnectionService`; the invariants of `prop_support` are checked
//! after every one (see `proxy-core/tests/prop_support/mod.rs`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy_core_fuzz::{run_service, Ops};

fuzz_target!(|ops: Ops| {
    run_service(&ops.0);
});
