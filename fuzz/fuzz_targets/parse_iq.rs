//! Any bytes into the `<iq>` parser: it must not panic, and whatever parses must
//! survive write-then-parse unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy_core::{parse_iq, parse_iq_bytes, write_iq, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let Ok(iq) = parse_iq_bytes(data, &limits) else {
        return;
    };
    let written = write_iq(&iq);
    // What we write may be longer than what we read (escapes, namespaces), so
    // only the size bound is lifted for the second parse.
    let wide = Limits {
        max_bytes: usize::MAX,
        ..limits
    };
    match parse_iq(&written, &wide) {
        Ok(again) => assert_eq!(iq, again, "write-then-parse changed the model\n{written}"),
        Err(e) => panic!("we wrote an IQ we cannot parse: {e}\n{written}"),
    }
});
