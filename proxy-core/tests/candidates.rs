//! Where local candidates travel: those known at the offer or answer inside the
//! session-initiate or session-accept (up to the limit), later ones by
//! transport-info.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::jingle::Action;
use proxy_core::{Config, EngineEvent, LocalTrack, ProxyConnectionService};

/// The transport of the first content of a sent description, and the
/// candidates of every transport-info sent.
fn sent_candidates(d: &Drained) -> (Vec<Vec<u16>>, Vec<u16>) {
    let mut in_description = Vec::new();
    let mut trickled = Vec::new();
    for (_, iq) in &d.sent {
        let Some(j) = iq.jingle.as_ref() else {
            continue;
        };
        let ports = |c: &proxy_core::jingle::Content| -> Vec<u16> {
            c.transport
                .as_ref()
                .map(|t| t.candidates.iter().map(|c| c.port).collect())
                .unwrap_or_default()
        };
        match j.action {
            Action::SessionInitiate | Action::SessionAccept => {
                in_description = j.contents.iter().map(ports).collect()
            }
            Action::TransportInfo => trickled.extend(j.contents.iter().flat_map(ports)),
            _ => {}
        }
    }
    (in_description, trickled)
}

/// `sdp` with `lines` added after its first line starting with `after`.
fn with_lines(sdp: &str, after: &str, lines: &[String]) -> String {
    let mut out = String::new();
    let mut done = false;
    for line in sdp.split_inclusive('\n') {
        out.push_str(line);
        if !done && line.starts_with(after) {
            for l in lines {
                out.push_str(l);
                out.push_str("\r\n");
            }
            done = true;
        }
    }
    assert!(done, "no line starting with {after:?}");
    out
}

fn host_line(port: u16) -> String {
    format!("a=candidate:{port} 1 udp 2130706175 127.0.0.1 {port} typ host")
}

#[test]
fn candidates_known_at_the_offer_go_inside_the_session_initiate_later_ones_by_transport_info() {
    let t0 = Instant::now();
    let mut s = ProxyConnectionService::new(config(24));
    s.start(t0, RECEIVER, &[LocalTrack::audio(), LocalTrack::desktop()])
        .unwrap();
    drain(&mut s);
    // Two more candidates in the audio m-line, one of them repeated in the
    // video m-line (a BUNDLE offer may list them in every m-line).
    let offer = fixture("str0m-offer-av.sdp");
    let offer = with_lines(&offer, "a=candidate:", &[host_line(6000), host_line(6001)]);
    let offer = with_lines(&offer, "a=mid:IL4", &[host_line(6001)]);
    let d = engine(&mut s, t0, EngineEvent::LocalOffer { sdp: offer });
    assert_eq!(
        d.sent_actions(),
        [(RECEIVER.into(), Some(Action::SessionInitiate))]
    );
    let (description, trickled) = sent_candidates(&d);
    assert_eq!(
        description,
        [vec![5000, 6000, 6001], vec![]],
        "all in the first (BUNDLE) transport, each once"
    );
    assert!(trickled.is_empty());
    // A candidate found later is trickled, in the first content's transport.
    let d = host_candidate(&mut s, t0, 7000);
    assert_eq!(
        d.sent_actions(),
        [(RECEIVER.into(), Some(Action::TransportInfo))]
    );
    assert_eq!(sent_candidates(&d).1, [7000]);
    let ti = d.sent[0].1.jingle.as_ref().unwrap();
    assert_eq!(ti.contents[0].name, "4eJ");
}

#[test]
fn candidates_known_at_the_answer_go_inside_the_session_accept_later_ones_by_transport_info() {
    let t0 = Instant::now();
    let (mut s, d) = str0m_answer_sent(t0, config(25));
    assert_eq!(
        d.sent_actions(),
        [(SENDER.into(), Some(Action::SessionAccept))]
    );
    assert_eq!(sent_candidates(&d), (vec![vec![5001]], vec![]));
    let d = host_candidate(&mut s, t0, 7001);
    assert_eq!(
        d.sent_actions(),
        [(SENDER.into(), Some(Action::TransportInfo))]
    );
    assert_eq!(sent_candidates(&d).1, [7001]);
}

#[test]
fn without_candidates_in_description_every_candidate_is_trickled_as_lib_jitsi_meet_does() {
    let t0 = Instant::now();
    let cfg = Config {
        candidates_in_description: false,
        ..config(27)
    };
    let (_, d) = str0m_offer_sent(t0, cfg);
    assert_eq!(
        d.sent_actions(),
        [
            (RECEIVER.into(), Some(Action::SessionInitiate)),
            (RECEIVER.into(), Some(Action::TransportInfo))
        ]
    );
    assert_eq!(sent_candidates(&d), (vec![vec![]], vec![5000]));
}

#[test]
fn candidates_beyond_one_transport_limit_are_trickled() {
    let t0 = Instant::now();
    let mut cfg = config(26);
    cfg.limits.max_candidates = 2;
    let mut s = started(t0, cfg);
    let offer = with_lines(
        &fixture("str0m-offer.sdp"),
        "a=candidate:",
        &[
            host_line(6000),
            host_line(6001),
            host_line(6002),
            host_line(6003),
        ],
    );
    let d = engine(&mut s, t0, EngineEvent::LocalOffer { sdp: offer });
    assert_eq!(
        d.sent_actions(),
        [
            (RECEIVER.into(), Some(Action::SessionInitiate)),
            (RECEIVER.into(), Some(Action::TransportInfo)),
            (RECEIVER.into(), Some(Action::TransportInfo))
        ],
        "2 in the initiate, then batches of 2 and 1"
    );
    let (description, trickled) = sent_candidates(&d);
    assert_eq!(description, [vec![5000, 6000]]);
    assert_eq!(trickled, [6001, 6002, 6003]);
}
