//! A relay-only session (both sides relay-only, one host socket each) that
//! lives through several XEP-0215 credential refreshes on the virtual clock:
//! TURN REST credentials valid 10 minutes, fresh ones every 9, a 45-minute
//! session at one frame a second. The in-memory TURN node checks the REST
//! expiry (see `common/turn.rs`): as coturn does (a new Allocate with an
//! expired username is refused, an allocation made earlier goes on), or
//! strictly (every request with an expired username is refused).

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use proxy_core::jingle::Action;
use proxy_core::LocalTrack;
use proxy_str0m::net::{rest_credentials, IceServerSpec, RelayProto, ServerKind};
use proxy_str0m::CandidateKind;

use common::pair::{frame_numbers, jingle_action, Pair, RECEIVER};
use common::relay::{candidate_types, errors, only_through_turn, RelayPair};
use common::turn::{Method, TURN_ADDR};
use common::video_frame;

/// The shared secret of the TURN REST API.
const SECRET: &str = "rest-secret";
/// The wall-clock time (unix seconds) at the start of the simulation.
const UNIX_START: u64 = 1_800_000_000;
/// How long each set of credentials is valid.
const TTL: Duration = Duration::from_secs(600);
/// Fresh credentials come this often (at 90% of their lifetime).
const REFRESH: Duration = Duration::from_secs(540);
/// Refreshes during the session (at 9, 18, 27 and 36 minutes).
const REFRESHES: u32 = 4;
/// The session: 45 minutes at one frame a second.
const FRAMES: u32 = 45 * 60;

/// The wall-clock time at `now`.
fn unix(start: Instant, now: Instant) -> u64 {
    UNIX_START + (now - start).as_secs()
}

/// Fresh credentials at `now`, valid [`TTL`], registered with the node.
fn fresh_spec(p: &mut Pair, start: Instant) -> IceServerSpec {
    let issued = unix(start, p.time);
    spec_issued(p, issued)
}

/// Credentials issued at unix time `issued`, valid [`TTL`] (the instant of
/// their expiry on `p`'s clock), registered with the node.
fn spec_issued(p: &mut Pair, issued: u64) -> IceServerSpec {
    let now = p.time;
    let (username, password) = rest_credentials(SECRET, Some("proxy"), issued, TTL.as_secs());
    let node = p.turn.as_mut().unwrap();
    node.add_user(&username, &password);
    let addr: SocketAddr = TURN_ADDR.parse().unwrap();
    IceServerSpec {
        kind: ServerKind::Turn,
        host: addr.ip().to_string(),
        port: addr.port(),
        transport: Some(RelayProto::Udp),
        username: Some(username),
        password: Some(password),
        expires: Some(now + TTL),
    }
}

/// Gives both peers fresh credentials, as their XMPP clients hand them
/// over: `a` now, `b` [`B_LATER`] later (each client refreshes on its own).
fn refresh(p: &mut Pair, start: Instant) -> [IceServerSpec; 2] {
    let spec = fresh_spec(p, start);
    let now = p.time;
    p.a.conn.set_server_specs(now, vec![spec.clone()]);
    p.drain();
    p.advance_to(now + B_LATER);
    let later = fresh_spec(p, start);
    let now = p.time;
    p.b.conn.set_server_specs(now, vec![later.clone()]);
    p.drain();
    [spec, later]
}

/// How much later than `a` peer `b` gets its fresh credentials.
const B_LATER: Duration = Duration::from_secs(2);

/// What a session showed.
struct Session {
    p: Pair,
    /// Frame numbers received, in order.
    got: Vec<u32>,
    /// Frames `write_frame` refused: (number, ms since the media start, why).
    refused: Vec<(u32, u64, String)>,
    /// Frames sent, with when (from the start of the media).
    sent: Vec<Duration>,
    /// When each refresh was handed over, from the start of the media.
    refreshed_at: Vec<Duration>,
    media_start: Instant,
}

impl Session {
    /// The longest time a frame sent within the burst around each refresh
    /// took to come out at `b` (a lost frame counts as the rest of the run).
    fn worst_delay_at_refreshes(&self) -> Vec<Duration> {
        let arrived: std::collections::HashMap<u32, Instant> =
            frame_numbers(&self.p.b.frames, 0..self.sent.len() as u32)
                .into_iter()
                .zip(self.p.b.frame_times.iter().copied())
                .collect();
        self.refreshed_at
            .iter()
            .map(|r| {
                (0..self.sent.len() as u32)
                    .filter(|n| {
                        let t = self.sent[*n as usize];
                        t + BURST_BEFORE >= *r && t < *r + BURST_AFTER
                    })
                    .map(|n| {
                        let sent = self.media_start + self.sent[n as usize];
                        arrived.get(&n).copied().unwrap_or(self.p.time) - sent
                    })
                    .max()
                    .unwrap_or_default()
            })
            .collect()
    }

    /// The frames sent within `window` of a refresh that never arrived, per refresh.
    fn lost_at_refreshes(&self) -> Vec<Vec<u32>> {
        self.refreshed_at
            .iter()
            .map(|r| {
                (0..self.sent.len() as u32)
                    .filter(|n| {
                        let t = self.sent[*n as usize];
                        t + BURST_BEFORE >= *r && t < *r + BURST_AFTER && !self.got.contains(n)
                    })
                    .collect()
            })
            .collect()
    }
}

/// Around each refresh the video runs at 25 fps (one frame a second
/// otherwise): from this long before it...
const BURST_BEFORE: Duration = Duration::from_secs(1);
/// ...to this long after.
const BURST_AFTER: Duration = Duration::from_secs(5);

/// Builds the pair, connects with the first credentials and runs the
/// session with its refreshes; `again` also hands over the same list again
/// half way between refreshes.
fn session(strict: bool, again: bool) -> Session {
    let mut p = RelayPair::relay_only().config_servers(Vec::new()).build();
    let start = p.time;
    {
        let node = p.turn.as_mut().unwrap();
        node.rest_clock = Some(UNIX_START);
        node.strict_expiry = strict;
    }
    only_through_turn(&mut p);
    let first = fresh_spec(&mut p, start);
    let mut current = [first.clone(), first];
    let now = p.time;
    p.a.conn.set_server_specs(now, vec![current[0].clone()]);
    p.b.conn.set_server_specs(now, vec![current[1].clone()]);
    p.connect(&[LocalTrack::desktop()]);
    let media_start = p.time;
    let refreshes: Vec<Duration> = (1..=REFRESHES).map(|k| REFRESH * k).collect();
    let end = Duration::from_secs(FRAMES as u64);
    // When each frame goes out.
    let mut at = Vec::new();
    let mut t = Duration::ZERO;
    while t < end {
        at.push(t);
        let burst = refreshes
            .iter()
            .any(|r| t + BURST_BEFORE + Duration::from_secs(1) > *r && t < *r + BURST_AFTER);
        t += if burst {
            Duration::from_millis(40)
        } else {
            Duration::from_secs(1)
        };
    }
    let mut refreshed_at = Vec::new();
    let mut refused = Vec::new();
    let mut next_refresh = refreshes.iter().peekable();
    let mut repeated = false;
    for (n, t) in at.iter().enumerate() {
        while let Some(r) = next_refresh.peek() {
            if **r > *t {
                break;
            }
            p.advance_to(media_start + **r);
            refreshed_at.push(p.time - media_start);
            current = refresh(&mut p, start);
            repeated = false;
            next_refresh.next();
        }
        if again && !repeated && refreshed_at.len() == 1 && *t >= refreshed_at[0] + REFRESH / 2 {
            // The same list again: nothing may change.
            let now = p.time;
            p.a.conn.set_server_specs(now, vec![current[0].clone()]);
            p.b.conn.set_server_specs(now, vec![current[1].clone()]);
            p.drain();
            repeated = true;
        }
        p.advance_to(media_start + *t);
        let now = p.time;
        if let Err(e) = p.a.conn.write_frame(now, 0, *t, &video_frame(n as u32)) {
            refused.push((
                n as u32,
                (now - media_start).as_millis() as u64,
                e.to_string(),
            ));
        }
        p.drain_side(false);
    }
    p.run_for(Duration::from_secs(2));
    let got = frame_numbers(&p.b.frames, 0..at.len() as u32);
    Session {
        p,
        got,
        refused,
        sent: at,
        refreshed_at,
        media_start,
    }
}

/// Prints the figures of a session.
fn report(name: &str, s: &Session) {
    let node = s.p.turn.as_ref().unwrap();
    let lost = s.sent.len() - s.got.len();
    let since = |t: Instant| (t - s.media_start).as_secs();
    eprintln!(
        "{name}: {} of {} frames ({lost} lost: {:?} at the refreshes); refreshes at {:?}; allocations {} \
         (freed {}); worst frame delay at the refreshes {:?}; 401s at {:?} s",
        s.got.len(),
        s.sent.len(),
        s.lost_at_refreshes(),
        s.refreshed_at.iter().map(Duration::as_secs).collect::<Vec<_>>(),
        node.relays.len(),
        node.closed.len(),
        s.worst_delay_at_refreshes(),
        node.errors(401)
            .iter()
            .filter(|r| r.at >= s.media_start)
            .map(|r| (r.method, since(r.at)))
            .collect::<Vec<_>>(),
    );
    eprintln!(
        "refused writes: {} {:?}",
        s.refused.len(),
        s.refused.first()
    );
    for (n, peer) in [("a", &s.p.a), ("b", &s.p.b)] {
        let ti = peer
            .sent
            .iter()
            .filter(|(_, iq)| jingle_action(iq) == Some(Action::TransportInfo))
            .count();
        eprintln!(
            "{n}: relay failures {:?}; errors {:?}; closed {:?}; transport-infos {ti}; \
             candidates {:?}; paths {}",
            peer.relay_failures,
            errors(peer),
            peer.closed(),
            candidate_types(&peer.sent),
            peer.paths().len(),
        );
    }
}

/// What every session must show: the media never stopped, each refresh
/// made one new allocation per peer whose candidate was trickled, and the
/// old one was deleted.
fn assert_session(s: &Session) {
    assert!(s.refused.is_empty(), "writes refused: {:?}", s.refused);
    let node = s.p.turn.as_ref().unwrap();
    for peer in [&s.p.a, &s.p.b] {
        assert!(peer.relay_failures.is_empty(), "{:?}", peer.relay_failures);
        assert!(errors(peer).is_empty(), "{:?}", errors(peer));
        assert!(peer.closed().is_empty(), "{:?}", peer.closed());
        // The first candidate, then one transport-info per refresh, each
        // with the new relay's candidate only.
        let infos: Vec<_> = peer
            .sent
            .iter()
            .filter(|(_, iq)| jingle_action(iq) == Some(Action::TransportInfo))
            .cloned()
            .collect();
        assert_eq!(infos.len(), 1 + REFRESHES as usize, "{infos:?}");
        assert_eq!(
            candidate_types(&infos),
            vec!["relay"; 1 + REFRESHES as usize]
        );
        // Each move is a new path: relay <-> relay all along.
        for path in peer.paths() {
            assert_eq!(path.local_kind, CandidateKind::Relayed, "{path:?}");
            assert_eq!(path.remote_kind, CandidateKind::Relayed, "{path:?}");
        }
        assert!(
            peer.paths().len() > REFRESHES as usize,
            "{:?}",
            peer.paths()
        );
    }
    // One allocation per peer per set of credentials (the same list again
    // changed nothing), and every replaced one deleted.
    assert_eq!(
        node.relays.len(),
        2 * (1 + REFRESHES as usize),
        "{:?}",
        node.relays
    );
    let mut replaced = node.relays.clone();
    replaced.retain(|r| {
        s.p.a.paths().last().is_none_or(|p| p.local != *r)
            && s.p.b.paths().last().is_none_or(|p| p.local != *r)
    });
    let mut freed = node.closed.clone();
    freed.sort();
    replaced.sort();
    assert_eq!(
        freed, replaced,
        "the replaced allocations deleted, the last two kept"
    );
    assert_eq!(
        node.requests_of(Method::Allocate, None).len(),
        node.relays.len() * 2,
        "401 then success, each"
    );
    // Every frame arrived, in order; none waited long at a switch.
    assert_eq!(s.got, (0..s.sent.len() as u32).collect::<Vec<_>>());
    for d in s.worst_delay_at_refreshes() {
        assert!(d <= MAX_SWITCH_DELAY, "{d:?}");
    }
}

/// The longest a frame may take around a refresh (the move of both peers,
/// `b`'s [`B_LATER`] after `a`'s, included).
const MAX_SWITCH_DELAY: Duration = Duration::from_secs(3);

#[test]
fn coturn_like_expiry_across_refreshes() {
    let s = session(false, true);
    report("coturn-like", &s);
    assert_session(&s);
}

#[test]
fn strict_expiry_across_refreshes() {
    let s = session(true, false);
    report("strict", &s);
    // The node refused only the first, unauthenticated Allocates: every
    // request with the old credentials came before they expired.
    let node = s.p.turn.as_ref().unwrap();
    assert!(node
        .errors(401)
        .iter()
        .all(|r| r.method == Method::Allocate));
    assert_session(&s);
}

#[test]
fn the_node_refuses_an_allocate_with_expired_credentials() {
    let mut p = RelayPair::relay_only().config_servers(Vec::new()).build();
    let start = p.time;
    p.turn.as_mut().unwrap().rest_clock = Some(UNIX_START);
    // Issued 11 minutes ago, valid 10: expired a minute ago (the network is
    // not told, so it tries).
    let mut spec = spec_issued(&mut p, UNIX_START - 660);
    spec.expires = None;
    p.a.conn.set_server_specs(start, vec![spec]);
    p.a.conn
        .start(start, RECEIVER, &[LocalTrack::desktop()])
        .expect("start");
    p.run_for(Duration::from_secs(2));
    let node = p.turn.as_ref().unwrap();
    assert!(node.relays.is_empty(), "{:?}", node.relays);
    assert_eq!(node.errors(401).len(), 2, "the challenge, then the refusal");
    assert_eq!(p.a.relay_failures.len(), 1, "{:?}", p.a.relay_failures);
    assert!(
        p.a.relay_failures[0].contains("refused"),
        "{:?}",
        p.a.relay_failures
    );
}
