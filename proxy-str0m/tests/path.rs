//! `Event::Path`: the candidate pair media travels on, named from both ends.

mod common;

use std::time::Duration;

use proxy_core::LocalTrack;
use proxy_str0m::CandidateKind;

use common::pair::{Pair, Peer};

#[test]
fn a_direct_session_reports_one_host_to_host_path_per_side() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    p.send_video(0, 0, 10);
    p.run_for(Duration::from_secs(3));
    for (me, other) in [(&p.a, &p.b), (&p.b, &p.a)] {
        let got = me.paths();
        assert_eq!(got.len(), 1, "one path, no flapping: {got:?}");
        let path = got[0];
        assert_eq!((path.local, path.remote), (me.addr, other.addr));
        assert_eq!(path.local_kind, CandidateKind::Host);
        assert_eq!(path.remote_kind, CandidateKind::Host, "signaled as host");
        assert_eq!(path.relay, None);
        assert_eq!(
            path.to_string(),
            format!("host {} <-> host {}", me.addr, other.addr)
        );
    }
}

/// A relay-only sender and a host-only receiver: the receiver first meets
/// the sender's relayed address through its checks (prflx), because the
/// transport-info carrying it is held back; when it arrives, the path is
/// renamed, not moved.
#[test]
fn a_relayed_address_met_first_through_checks_is_renamed_when_signaled() {
    use common::relay::turn_server;
    use common::turn::{TurnNode, TURN_PASS};
    use proxy_core::jingle::Action;
    use proxy_core::Config;
    use proxy_str0m::net::{IceTransportPolicy, RelayProto};
    use proxy_str0m::ProxyConfig;

    let server = turn_server(TURN_PASS);
    let mut p = Pair::default_pair();
    let now = p.time;
    let relay_only = ProxyConfig {
        core: Config {
            seed: 1,
            ice_servers: vec![server],
            ..Config::default()
        },
        ice_transport_policy: IceTransportPolicy::Relay,
        ..ProxyConfig::default()
    };
    p.a = Peer::with_config(now, common::pair::SENDER, "10.0.0.1:10000", relay_only);
    p.turn = Some(TurnNode::new(now));
    p.signal_hold = vec![(Action::TransportInfo, Duration::from_millis(1500))];
    p.connect(&[LocalTrack::desktop()]);
    p.send_video(0, 0, 10);
    p.run_for(Duration::from_secs(3));

    let sender = p.a.paths();
    assert_eq!(sender.len(), 1, "{sender:?}");
    assert_eq!(sender[0].local_kind, CandidateKind::Relayed);
    assert_eq!(sender[0].relay, Some(RelayProto::Udp));
    assert_eq!(sender[0].remote, p.b.addr);

    let receiver = p.b.paths();
    assert_eq!(receiver.len(), 2, "met, then renamed: {receiver:?}");
    let (first, renamed) = (receiver[0], receiver[1]);
    assert_eq!(
        first.remote, sender[0].local,
        "the sender's relayed address"
    );
    assert_eq!(first.remote_kind, CandidateKind::PeerReflexive);
    assert_eq!(renamed.remote, first.remote, "renamed, not moved");
    assert_eq!(renamed.remote_kind, CandidateKind::Relayed);
}
