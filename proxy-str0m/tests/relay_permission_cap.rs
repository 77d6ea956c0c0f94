//! A peer that trickles 10,000 remote candidates, each on its own IP
//! address, into a relay-only session: every check to a new address needs a
//! TURN permission, and the number of addresses we ask the server to permit
//! (and channels we bind) stays bounded.

mod common;

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use proxy_core::{LocalTrack, ProxyMessage};

use common::pair::{frame_numbers, RECEIVER};
use common::relay::RelayPair;
use common::turn::Method;

/// Candidates the peer trickles.
const FLOOD: u32 = 10_000;
/// Candidates in one transport-info (proxy-core's default `max_candidates`).
const PER_MESSAGE: u32 = 64;
/// The most addresses one allocation may ask the server to permit (the
/// peer's real relayed address among them).
const BOUND: usize = 64;

/// Candidate `i` of the flood: its own address in 198.18.0.0/15 (RFC 2544,
/// never routed here: the TURN server is in memory), each outranking the
/// last, so each is a new pair that str0m checks.
fn flood_candidate(i: u32) -> String {
    let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i);
    format!(
        "<candidate foundation='f{i}' component='1' protocol='udp' priority='{}' \
         ip='{ip}' port='9' type='host' generation='0' id='c{i}'/>",
        1_000_000 + i
    )
}

#[test]
fn ten_thousand_trickled_candidates_ask_for_a_bounded_number_of_permissions() {
    let mut p = RelayPair::relay_only().build();
    p.connect(&[LocalTrack::desktop()]);
    // b's session-accept gives the sid, content name, ufrag and pwd the
    // flood must carry to be taken as b's.
    let (_, accept) = p.b.sent[0].clone();
    let attr = |name: &str| {
        let at = accept.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        accept[at..].split('"').next().unwrap().to_owned()
    };
    let (sid, mid, ufrag, pwd) = (attr("sid"), attr("name"), attr("ufrag"), attr("pwd"));

    let flood_start = p.time;
    let mut i = 0;
    while i < FLOOD {
        let candidates: String = (i..(i + PER_MESSAGE).min(FLOOD))
            .map(flood_candidate)
            .collect();
        i += PER_MESSAGE;
        let iq = format!(
            "<iq to='{}' type='set' xmlns='jabber:client'>\
             <jingle action='transport-info' sid='{sid}' xmlns='urn:xmpp:jingle:1'>\
             <content creator='responder' name='{mid}'>\
             <transport ufrag='{ufrag}' pwd='{pwd}' xmlns='urn:xmpp:jingle:transports:ice-udp:1'>\
             {candidates}</transport></content></jingle></iq>",
            p.a.jid
        );
        let now = p.time;
        p.a.conn.handle_message(
            now,
            ProxyMessage {
                from: RECEIVER.into(),
                iq,
            },
        );
        p.drain();
        // Spread over about 16 s, so str0m's pacing checks many of them.
        p.run_for(Duration::from_millis(100));
    }
    // Then let every check run out while media flows.
    let t0 = p.time;
    p.send_video_every(Duration::from_millis(100), 0, 0, 300);
    let node = p.turn.as_ref().unwrap();
    let from_a = |m| -> HashSet<IpAddr> {
        node.requests_of(m, Some(p.a.addr))
            .iter()
            .filter(|r| r.at >= flood_start)
            .filter_map(|r| r.peer.map(|a| a.ip()))
            .collect()
    };
    let permitted = from_a(Method::CreatePermission);
    let bound_channels = from_a(Method::ChannelBind);
    let requests = node
        .requests_of(Method::CreatePermission, Some(p.a.addr))
        .len();
    let got = frame_numbers(&p.b.frames, 0..300);
    eprintln!(
        "{FLOOD} candidates trickled over {:?}: a asked to permit {} addresses \
         ({requests} CreatePermission requests in all), bound channels to {}; \
         {} of 300 frames arrived afterwards",
        t0 - flood_start,
        permitted.len(),
        bound_channels.len(),
        got.len()
    );
    assert!(
        permitted.len() <= BOUND,
        "{} addresses permitted",
        permitted.len()
    );
    assert!(
        bound_channels.len() <= 16,
        "{} channels",
        bound_channels.len()
    );
    // The flood did reach the relay: it is a real check of the cap.
    assert!(permitted.len() > 8, "only {} permitted", permitted.len());
    assert!(!p.a.relay_failures.iter().any(|f| f.contains("panic")));
}
