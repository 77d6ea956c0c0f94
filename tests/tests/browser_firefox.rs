//! Headless Firefox as the other peer of the `proxy-connection` program, on 127.0.0.1:
//! the scenarios of `browser.rs` (browser -> `receive`, `send` -> browser, audio+video,
//! and close) with the second real browser.
//!
//! Each test starts `node browser/harness.mjs --firefox` (puppeteer-core driving
//! Debian's `/usr/bin/firefox-esr` over WebDriver BiDi, the same page.html served on
//! 127.0.0.1; never a downloaded browser) and the real `proxy-connection
//! send`/`receive`, bridged by [`proxy_tests::bridge`] exactly as with Chromium.
//!
//! What Firefox does differently, and what the tests rely on (browser/README.md):
//! - it offers RTCP candidates (component 2) even with `rtcpMuxPolicy: 'require'`,
//!   which the Rust side must set aside;
//! - its SDP has the msid only at media level (`a=msid`, no `a=ssrc:… msid:`), in
//!   braces, with an `a=sendrecv` session attribute;
//! - it gathers loopback candidates only with `media.peerconnection.ice.loopback`
//!   and a camera/microphone permission (the harness sets both as prefs).
//!
//! Needs node, `browser/node_modules` (puppeteer-core) and firefox-esr;
//! `browser/run.sh` installs them. When they are missing the tests are skipped, unless
//! `CI=true`, where that is a failure.

mod common;
mod scenarios;

use common::{setup_firefox, Session};
use proxy_core::jingle::Action;
use scenarios::{jingle_of, Browser};

/// Prints which browser this is (from the harness's `ready` event).
fn print_version(s: &Session) {
    if let Some((_, v)) = s.page_log.iter().find(|(_, v)| v["ev"] == "ready") {
        eprintln!("MEASURE browser: {} {}", v["browser"], v["version"]);
        assert_eq!(v["browser"], "firefox", "{v}");
    }
}

/// What Firefox's offer and candidates became in Jingle, and that the Rust side took
/// them without an error: the source carries the media-level `a=msid` (Firefox writes
/// no `a=ssrc:… msid:`), the RTX pair is an FID group, and Firefox's RTCP (component 2)
/// candidates, which it gathers even with `rtcpMuxPolicy: 'require'`, are forwarded
/// as lib-jitsi-meet would and set aside quietly by the rtcp-mux-only Rust side.
fn firefox_offer_in_jingle(s: &Session) {
    let initiate = jingle_of(&s.to_rust[0]);
    assert_eq!(initiate.action, Action::SessionInitiate);
    let [content] = initiate.contents.as_slice() else {
        panic!("not one content: {initiate:?}")
    };
    let desc = content.description.as_ref().expect("an RTP description");
    assert_eq!(desc.media.as_str(), "video");
    assert_eq!(
        desc.payload_types
            .first()
            .map(|p| p.name.to_string())
            .as_deref(),
        Some("VP8")
    );
    assert!(desc.rtcp_mux, "no rtcp-mux: {desc:?}");
    let msids: Vec<&str> = desc.sources.iter().filter_map(|x| x.msid()).collect();
    assert_eq!(msids.len(), desc.sources.len(), "{:?}", desc.sources);
    assert!(
        msids.iter().all(|m| m.starts_with('{')),
        "Firefox's msid is in braces: {msids:?}"
    );
    assert!(desc
        .sources
        .iter()
        .all(|x| x.name.as_deref() == Some("peer-v0")));
    let groups: Vec<(String, usize)> = desc
        .ssrc_groups
        .iter()
        .map(|g| (g.semantics.to_string(), g.ssrcs.len()))
        .collect();
    assert_eq!(groups, [("FID".to_owned(), 2)]);
    let rtcp: Vec<&String> = s
        .forwarded
        .iter()
        .filter(|c| c.split_whitespace().nth(1) == Some("2"))
        .collect();
    eprintln!(
        "MEASURE firefox candidates: {} forwarded ({} of them RTCP, component 2), {} dropped",
        s.forwarded.len(),
        rtcp.len(),
        s.dropped
    );
    assert!(
        s.forwarded
            .iter()
            .any(|c| c.contains(" 127.0.0.1 ") && c.split_whitespace().nth(1) == Some("1")),
        "no loopback RTP candidate: {:?}",
        s.forwarded
    );
    let errors: Vec<&String> = s
        .rust_log
        .iter()
        .map(|(_, l)| l)
        .filter(|l| l.contains("error"))
        .collect();
    assert_eq!(errors, Vec::<&String>::new());
}

#[test]
fn firefox_shares_screen_to_rust_receive_and_stops_with_terminate() {
    let Some(_guard) = setup_firefox() else {
        return;
    };
    let s = scenarios::screen_share_to_receive(&Browser::firefox());
    print_version(&s);
    firefox_offer_in_jingle(&s);
}

#[test]
fn rust_send_to_firefox_decodes_and_terminate_closes_the_page() {
    let Some(_guard) = setup_firefox() else {
        return;
    };
    let s = scenarios::send_to_browser(&Browser::firefox());
    print_version(&s);
}

/// Audio + video from Firefox's fake devices (`media.navigator.streams.fake`).
#[test]
fn firefox_audio_and_video_both_reach_rust_and_the_video_is_recorded() {
    let Some(_guard) = setup_firefox() else {
        return;
    };
    let out = common::tmp_file("firefox-av.ivf");
    let s = scenarios::audio_and_video_to_receive(&Browser::firefox(), &out);
    print_version(&s);
}

#[test]
fn firefox_closing_without_signaling_is_detected_by_rust() {
    let Some(_guard) = setup_firefox() else {
        return;
    };
    let s = scenarios::close_without_signaling(&Browser::firefox());
    print_version(&s);
}
