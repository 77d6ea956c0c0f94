//! Parsed `<jingle>` into the Jingle -> SDP converter: it must not panic; every
//! SDP it makes must parse with sdp-types with one m-line per content (nothing
//! injected), and read back with `sdp_to_jingle` to the same content names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy_core::jingle::Creator;
use proxy_core::{jingle_to_sdp, parse_iq_bytes, sdp_to_jingle, Limits};

fuzz_target!(|data: &[u8]| {
    let Ok(iq) = parse_iq_bytes(data, &Limits::default()) else {
        return;
    };
    let Some(jingle) = iq.jingle else {
        return;
    };
    let session_id = data.len() as u64;
    let Ok(sdp) = jingle_to_sdp(&jingle, session_id) else {
        return;
    };
    let session = match sdp_types::Session::parse(sdp.as_bytes()) {
        Ok(s) => s,
        Err(e) => panic!("jingle_to_sdp made SDP that sdp-types rejects: {e:?}\n{sdp}"),
    };
    assert_eq!(
        session.medias.len(),
        jingle.contents.len(),
        "one m-line per content\n{sdp}"
    );
    let back = match sdp_to_jingle(&sdp, jingle.action.clone(), Creator::Initiator) {
        Ok(j) => j,
        Err(e) => panic!("jingle_to_sdp made SDP that sdp_to_jingle rejects: {e}\n{sdp}"),
    };
    let names = |j: &proxy_core::jingle::Jingle| {
        j.contents
            .iter()
            .map(|c| c.name.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&back), names(&jingle), "content names\n{sdp}");
});
