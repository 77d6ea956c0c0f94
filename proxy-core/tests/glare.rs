//! DESIGN.md "The service", rule 3: two session-initiates crossing (glare) are
//! resolved by the lower sid, the same way on both sides.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::{Config, EngineCommand, EngineEvent, LocalTrack, ProxyConnectionService};

#[test]
fn glare_is_resolved_by_the_lower_sid_on_both_sides() {
    let t0 = Instant::now();
    let mut a = ProxyConnectionService::new(Config {
        local_jid: Some(SENDER.into()),
        ..config(100)
    });
    let mut b = ProxyConnectionService::new(Config {
        local_jid: Some(RECEIVER.into()),
        ..config(200)
    });
    let initiate = |s: &mut ProxyConnectionService, peer: &str| {
        s.start(t0, peer, &[LocalTrack::desktop()]).unwrap();
        let d = drain(s);
        let EngineCommand::CreateOffer { tracks, .. } = &d.commands[0] else {
            panic!()
        };
        let sdp = fake_offer(tracks, false);
        let d = engine(s, t0, EngineEvent::LocalOffer { sdp });
        proxy_core::write_iq(&d.sent[0].1)
    };
    let from_a = initiate(&mut a, RECEIVER);
    let from_b = initiate(&mut b, SENDER);
    let (sid_a, sid_b) = (a.sid().unwrap().to_owned(), b.sid().unwrap().to_owned());
    a.handle_message(t0, msg(RECEIVER, from_b));
    b.handle_message(t0, msg(SENDER, from_a));
    let (da, db) = (drain(&mut a), drain(&mut b));
    let (winner, loser_d) = if sid_a < sid_b {
        (sid_a, &db)
    } else {
        (sid_b, &da)
    };
    assert_eq!(a.sid(), Some(winner.as_str()));
    assert_eq!(b.sid(), Some(winner.as_str()));
    assert!(loser_d.commands.contains(&EngineCommand::Close));
    assert!(loser_d
        .commands
        .iter()
        .any(|c| matches!(c, EngineCommand::ApplyOffer { .. })));
    assert!(
        da.closed().is_empty() && db.closed().is_empty(),
        "glare is not a close"
    );
}
