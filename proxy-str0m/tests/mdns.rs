//! Remote mDNS candidates resolved through `Output::Resolve` when
//! `ProxyConfig::resolve_mdns` is on; set aside quietly otherwise.
//!
//! The sender `a` plays a browser hiding its host address: in what it sends,
//! its candidates carry an mDNS name instead of `10.0.0.1`. To prove that the
//! resolved candidate is what the session uses, `b`'s candidates are taken out
//! of what `b` sends: `a` then has no remote candidate and can only answer
//! `b`'s checks, so the session comes up only if `b` checks the address it
//! resolved.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use proxy_core::{Config, Event as CoreEvent, LocalTrack, ProxyMessage};
use proxy_str0m::{CandidateKind, Event, Output, Path, ProxyConfig, MAX_MDNS_NAMES};

use common::pair::{Delivery, Pair, Peer, RECEIVER, SENDER};

const NAME: &str = "8f2c1a3e-1b2c-4d5e-9f00-0123456789ab.local";
/// How long the simulated mDNS answer takes.
const ANSWER_DELAY: Duration = Duration::from_millis(100);

/// The default pair, `b` resolving mDNS names if `resolve`.
fn pair(resolve: bool) -> Pair {
    let mut p = Pair::default_pair();
    let core = Config {
        convert_video_to_desktop: true,
        seed: 2,
        ..Config::default()
    };
    let config = ProxyConfig {
        core,
        resolve_mdns: resolve,
        ..ProxyConfig::default()
    };
    let b = Peer::with_config(p.time, RECEIVER, "10.0.0.2:20000", config);
    p.replace_peer(true, b);
    p
}

/// `<candidate .../>` elements taken out of `iq`.
fn without_candidates(iq: &str) -> String {
    let mut out = String::with_capacity(iq.len());
    let mut rest = iq;
    while let Some(at) = rest.find("<candidate ") {
        out.push_str(&rest[..at]);
        match rest[at..].find("/>") {
            Some(end) => rest = &rest[at + end + 2..],
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The stanzas in flight: `a`'s address hidden behind [`NAME`], and `b`'s
/// candidates (if `strip_b`) taken out.
fn rewrite_signaling(p: &mut Pair, strip_b: bool) {
    let a_ip = p.a.addr.ip().to_string();
    for (_, to_b, d) in p.in_flight.iter_mut() {
        if let Delivery::Signal(m) = d {
            if *to_b {
                m.iq =
                    m.iq.replace(&format!("ip='{a_ip}'"), &format!("ip='{NAME}'"))
                        .replace(&format!("ip=\"{a_ip}\""), &format!("ip=\"{NAME}\""));
            } else if strip_b {
                m.iq = without_candidates(&m.iq);
            }
        }
    }
}

/// An answer to `Output::Resolve`.
type Answer = Result<Vec<IpAddr>, String>;

/// What `b` asked to resolve, and what is still to answer; the media paths
/// it reported.
#[derive(Default)]
struct Resolver {
    asked: Vec<String>,
    paths: Vec<Path>,
    /// (when, name) still to answer.
    due: Vec<(Instant, String)>,
}

/// Drives the pair (signaling rewritten) until `done` or `limit`; `b`'s
/// Resolve requests are answered by `answer` after [`ANSWER_DELAY`] (`None`:
/// never).
fn drive(
    p: &mut Pair,
    r: &mut Resolver,
    strip_b: bool,
    limit: Duration,
    answer: &dyn Fn(&str) -> Option<Answer>,
    done: impl Fn(&Pair) -> bool,
) -> bool {
    let end = p.time + limit;
    let mut steps = 0u32;
    while p.time < end && !done(p) {
        p.drain();
        rewrite_signaling(p, strip_b);
        for o in std::mem::take(&mut p.b.io_requests) {
            match o {
                Output::Resolve { host, mdns, .. } => {
                    assert!(mdns, "a candidate's name goes to multicast DNS: {host}");
                    r.asked.push(host.clone());
                    r.due.push((p.time + ANSWER_DELAY, host));
                }
                Output::Event(Event::Path(path)) => r.paths.push(path),
                _ => {}
            }
        }
        let now = p.time;
        for (_, host) in r.due.iter().filter(|(at, _)| *at <= now) {
            if let Some(result) = answer(host) {
                p.b.conn.handle_resolved(now, host, result);
            }
        }
        r.due.retain(|(at, _)| *at > now);
        let next_answer = r.due.iter().map(|(at, _)| *at).min();
        p.step_capped(next_answer);
        steps += 1;
        assert!(steps < 1_000_000, "simulation does not advance");
    }
    done(p)
}

fn both_connected(p: &Pair) -> bool {
    p.a.conn.is_connected() && p.b.conn.is_connected()
}

fn errors(peer: &Peer) -> Vec<&CoreEvent> {
    peer.events
        .iter()
        .map(|(_, e)| e)
        .filter(|e| matches!(e, CoreEvent::Error(_)))
        .collect()
}

fn a_ip(p: &Pair) -> IpAddr {
    p.a.addr.ip()
}

#[test]
fn the_resolved_name_is_the_candidate_the_session_uses() {
    let mut p = pair(true);
    let mut r = Resolver::default();
    let ip = a_ip(&p);
    p.a.conn
        .start(p.time, RECEIVER, &[LocalTrack::desktop()])
        .unwrap();
    let up = drive(
        &mut p,
        &mut r,
        true,
        Duration::from_secs(10),
        &|host| (host == NAME).then(|| Ok(vec![ip])),
        both_connected,
    );
    let initiate = &p.b.received[0];
    assert!(initiate.contains(NAME) && !initiate.contains(&format!("'{ip}'")));
    assert!(up, "no connection; b asked {:?}", r.asked);
    assert_eq!(r.asked, [NAME], "one question for the one name");
    // a learned b only from b's checks: b's candidates never reached it.
    assert!(p.a.received.iter().all(|iq| !iq.contains("<candidate ")));
    let sent = p.send_video(0, 0, 30);
    p.run_for(Duration::from_millis(500));
    common::pair::assert_frames_match(&p.b.frames.iter().collect::<Vec<_>>(), &sent);
    // b's media goes to the resolved host candidate.
    p.drain();
    r.paths
        .extend(p.b.io_requests.drain(..).filter_map(|o| match o {
            Output::Event(Event::Path(path)) => Some(path),
            _ => None,
        }));
    let path = r.paths.last().expect("b reported its media path");
    assert_eq!(
        (path.remote, path.remote_kind),
        (p.a.addr, CandidateKind::Host)
    );
    assert!(errors(&p.b).is_empty(), "{:?}", errors(&p.b));
}

#[test]
fn without_an_answer_there_is_no_candidate_to_use() {
    // The same session with the question never answered: nothing connects,
    // which shows the resolved candidate was the only way in above.
    let mut p = pair(true);
    let mut r = Resolver::default();
    p.a.conn
        .start(p.time, RECEIVER, &[LocalTrack::desktop()])
        .unwrap();
    let up = drive(
        &mut p,
        &mut r,
        true,
        Duration::from_secs(5),
        &|_| None,
        both_connected,
    );
    assert!(!up);
    assert_eq!(r.asked, [NAME]);
    assert!(errors(&p.b).is_empty(), "{:?}", errors(&p.b));
}

#[test]
fn a_failed_answer_is_quiet_and_not_asked_again() {
    let mut p = pair(true);
    let mut r = Resolver::default();
    p.a.conn
        .start(p.time, RECEIVER, &[LocalTrack::desktop()])
        .unwrap();
    drive(
        &mut p,
        &mut r,
        true,
        Duration::from_secs(2),
        &|_| Some(Err("no answer on the LAN".into())),
        |_| false,
    );
    assert_eq!(r.asked, [NAME]);
    // The same name trickled again: set aside, not asked again.
    let info = transport_info(&p, &[NAME]);
    deliver_to_b(&mut p, info);
    drive(
        &mut p,
        &mut r,
        true,
        Duration::from_secs(1),
        &|_| None,
        |_| false,
    );
    assert_eq!(r.asked, [NAME]);
    assert!(!p.b.conn.is_connected());
    assert!(errors(&p.b).is_empty(), "{:?}", errors(&p.b));
}

#[test]
fn names_per_connection_are_capped() {
    let mut p = pair(true);
    let mut r = Resolver::default();
    p.a.conn
        .start(p.time, RECEIVER, &[LocalTrack::desktop()])
        .unwrap();
    let ip = a_ip(&p);
    let answer = move |host: &str| (host == NAME).then(|| Ok(vec![ip]));
    assert!(drive(
        &mut p,
        &mut r,
        true,
        Duration::from_secs(10),
        &answer,
        both_connected
    ));
    // A peer trickling many names, some twice.
    let names: Vec<String> = (0..3 * MAX_MDNS_NAMES)
        .map(|i| format!("{i:08x}-0000-4000-8000-000000000000.local"))
        .collect();
    let mut all: Vec<&str> = names.iter().map(String::as_str).collect();
    all.extend(names.iter().take(5).map(String::as_str));
    let info = transport_info(&p, &all);
    deliver_to_b(&mut p, info);
    drive(
        &mut p,
        &mut r,
        true,
        Duration::from_secs(1),
        &answer,
        |_| false,
    );
    // NAME was the first; the rest up to the cap, each once.
    assert_eq!(r.asked.len(), MAX_MDNS_NAMES, "{:?}", r.asked);
    let mut distinct = r.asked.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), r.asked.len());
    assert!(p.b.conn.is_connected());
    assert!(errors(&p.b).is_empty(), "{:?}", errors(&p.b));
}

#[test]
fn without_resolution_nothing_is_asked_and_the_peer_is_learned_from_its_checks() {
    // b's candidates reach a here: a checks b, and b learns a's address as
    // peer-reflexive.
    let mut p = pair(false);
    let mut r = Resolver::default();
    p.a.conn
        .start(p.time, RECEIVER, &[LocalTrack::desktop()])
        .unwrap();
    let up = drive(
        &mut p,
        &mut r,
        false,
        Duration::from_secs(10),
        &|_| panic!("nothing is asked"),
        both_connected,
    );
    assert!(p.b.received[0].contains(NAME));
    assert!(up);
    assert!(r.asked.is_empty());
    assert!(errors(&p.b).is_empty(), "{:?}", errors(&p.b));
}

/// A transport-info from `a` to `b` for the current session with one host
/// candidate per name (port 54321 + i).
fn transport_info(p: &Pair, names: &[&str]) -> String {
    let initiate = &p.a.sent[0].1;
    let attr = |name: &str| {
        let at = initiate.find(&format!(" {name}=\"")).expect(name) + name.len() + 3;
        initiate[at..].split('"').next().unwrap().to_owned()
    };
    let (sid, mid, ufrag, pwd) = (attr("sid"), attr("name"), attr("ufrag"), attr("pwd"));
    let candidates: String = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                "<candidate foundation='{i}' component='1' protocol='udp' priority='2122260223' \
                 ip='{n}' port='{}' type='host' generation='0' id='c{i}'/>",
                54321 + i
            )
        })
        .collect();
    format!(
        "<iq to='{RECEIVER}' type='set' xmlns='jabber:client'>\
         <jingle action='transport-info' sid='{sid}' xmlns='urn:xmpp:jingle:1'>\
         <content creator='initiator' name='{mid}'>\
         <transport ufrag='{ufrag}' pwd='{pwd}' xmlns='urn:xmpp:jingle:transports:ice-udp:1'>\
         {candidates}</transport></content></jingle></iq>"
    )
}

fn deliver_to_b(p: &mut Pair, iq: String) {
    let now = p.time;
    p.b.conn.handle_message(
        now,
        ProxyMessage {
            from: SENDER.into(),
            iq,
        },
    );
}
