//! Any text into the SDP -> Jingle converter: it must not panic, and every
//! `<jingle>` it makes must survive write-then-parse inside an `<iq>` unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy_core::jingle::{Action, Creator};
use proxy_core::{parse_iq, sdp_to_jingle, write_iq, Iq, Limits};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the action and role, the rest is the SDP.
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(sdp) = std::str::from_utf8(rest) else {
        return;
    };
    let action = if mode & 1 == 0 {
        Action::SessionInitiate
    } else {
        Action::SessionAccept
    };
    let creator = if mode & 2 == 0 {
        Creator::Initiator
    } else {
        Creator::Responder
    };
    let Ok(jingle) = sdp_to_jingle(sdp, action, creator) else {
        return;
    };
    let iq = Iq::set("peer@example.com/x", jingle);
    let written = write_iq(&iq);
    // Count limits guard input from peers; here only the shape matters.
    let wide = Limits {
        max_bytes: usize::MAX,
        max_depth: 64,
        max_contents: usize::MAX,
        max_payload_types: usize::MAX,
        max_candidates: usize::MAX,
        max_sources: usize::MAX,
        max_children: usize::MAX,
    };
    match parse_iq(&written, &wide) {
        Ok(again) => assert_eq!(iq, again, "write-then-parse changed the model\n{written}"),
        Err(e) => {
            panic!("sdp_to_jingle made a <jingle> that does not parse back: {e}\n{sdp}\n{written}")
        }
    }
});
