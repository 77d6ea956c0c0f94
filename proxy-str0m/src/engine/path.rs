//! Which candidate pair media travels on: str0m does not tell, so the
//! engine watches its media datagrams (DTLS, RTP, RTCP; never the STUN
//! checks, which go to every pair) and names both ends from the candidates
//! it knows. A change becomes [`EngineOutput::Path`].

use std::net::SocketAddr;

use str0m::{Candidate, CandidateKind};

use crate::net::Network;
use crate::types::Path;

/// Remote candidates remembered per connection (more are not named: a pair
/// with one of them is reported as peer-reflexive).
const MAX_REMOTE: usize = 64;

/// The current path and what names its ends.
#[derive(Debug, Default)]
pub(super) struct PathWatch {
    current: Option<Path>,
    remote: Vec<(SocketAddr, CandidateKind)>,
}

impl PathWatch {
    /// A remote candidate the peer signaled. If media already travels to
    /// it, known until now as peer-reflexive (its checks came first), the
    /// path is renamed: the new one is returned.
    pub(super) fn learn(&mut self, c: &Candidate) -> Option<Path> {
        if self.remote.len() < MAX_REMOTE && !self.remote.iter().any(|(a, _)| *a == c.addr()) {
            self.remote.push((c.addr(), c.kind()));
        }
        let path = self.current.as_mut()?;
        if path.remote != c.addr() || path.remote_kind != CandidateKind::PeerReflexive {
            return None;
        }
        path.remote_kind = c.kind();
        Some(*path)
    }

    /// The candidates of a remote description.
    pub(super) fn learn_sdp(&mut self, sdp: &str) {
        for line in sdp.lines() {
            let line = line.trim();
            if let Some(text) = line
                .strip_prefix("a=")
                .filter(|t| t.starts_with("candidate:"))
            {
                if let Ok(c) = Candidate::from_sdp_string(text) {
                    // Before any media: nothing to rename.
                    let _ = self.learn(&c);
                }
            }
        }
    }

    /// A datagram from the `Rtc`, before routing: the new path if it is
    /// media on a pair other than the last one.
    pub(super) fn on_transmit(
        &mut self,
        source: SocketAddr,
        destination: SocketAddr,
        first_byte: Option<u8>,
        net: &Network,
    ) -> Option<Path> {
        // RFC 7983: DTLS 20..=63, RTP/RTCP 128..=191; STUN 0..=3.
        if !first_byte.is_some_and(|b| (20..=63).contains(&b) || (128..=191).contains(&b)) {
            return None;
        }
        if self
            .current
            .is_some_and(|p| (p.local, p.remote) == (source, destination))
        {
            return None;
        }
        let relay = net.relay_proto(source);
        let remote_kind = self
            .remote
            .iter()
            .find(|(a, _)| *a == destination)
            .map_or(CandidateKind::PeerReflexive, |(_, k)| *k);
        let path = Path {
            local: source,
            local_kind: if relay.is_some() {
                CandidateKind::Relayed
            } else {
                CandidateKind::Host
            },
            relay,
            remote: destination,
            remote_kind,
        };
        self.current = Some(path);
        Some(path)
    }
}
