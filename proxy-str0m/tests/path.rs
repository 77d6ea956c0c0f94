//! `Event::Path`: the candidate pair media travels on, named from both ends.

mod common;

use std::time::Duration;

use proxy_core::LocalTrack;
use proxy_str0m::{CandidateKind, Event, Output, Path};

use common::pair::{Pair, Peer};

fn paths(peer: &Peer) -> Vec<Path> {
    peer.io_requests
        .iter()
        .filter_map(|o| match o {
            Output::Event(Event::Path(p)) => Some(*p),
            _ => None,
        })
        .collect()
}

#[test]
fn a_direct_session_reports_one_host_to_host_path_per_side() {
    let mut p = Pair::default_pair();
    p.connect(&[LocalTrack::desktop()]);
    p.send_video(0, 0, 10);
    p.run_for(Duration::from_secs(3));
    for (me, other) in [(&p.a, &p.b), (&p.b, &p.a)] {
        let got = paths(me);
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
