//! A `proxy_xmpp` client (TCP or WebSocket) driven by arbitrary server bytes
//! and frames at arbitrary splits, well-formed server elements in any order,
//! transport events, clock steps and commands; the checks are in
//! `src/xmpp.rs` (no panic, bounded drains, `Timeout` reached, no timer due
//! after it was handled, nothing after `Closed`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy_core_fuzz::xmpp::{run_xmpp, XmppInput};

fuzz_target!(|input: XmppInput| {
    run_xmpp(&input);
});
