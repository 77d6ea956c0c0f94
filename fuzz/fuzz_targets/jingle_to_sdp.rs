//! Parsed `<jingle>` into the Jingle -> SDP converter: it must not panic, and
//! every SDP it makes must parse with sdp-types (and convert back without panic).
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy_core::convert::{jingle_to_sdp, sdp_to_jingle};
use proxy_core::jingle::Creator;
use proxy_core::{parse_iq_bytes, Limits};

fuzz_target!(|data: &[u8]| {
    let Ok(iq) = parse_iq_bytes(data, &Limits::default()) else {
        return;
    };
    let Some(jingle) = iq.jingle else {
        return;
    };
    let session_id = data.len() as u64;
    if let Ok(sdp) = jingle_to_sdp(&jingle, session_id) {
        if let Err(e) = sdp_types::Session::parse(sdp.as_bytes()) {
            panic!("jingle_to_sdp made SDP that sdp-types rejects: {e:?}\n{sdp}");
        }
        let _ = sdp_to_jingle(&sdp, jingle.action, Creator::Initiator);
    }
});
