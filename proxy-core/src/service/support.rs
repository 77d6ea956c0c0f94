//! Small deterministic helpers of the service: seeded ids, the per-JID rejection
//! rate limiter and the buffer of transport-info that arrived before its session.

use std::time::{Duration, Instant};

use crate::jingle::Jingle;

/// SplitMix64: a tiny, seeded, deterministic generator for ids (not for secrets;
/// the engine generates ICE and DTLS credentials itself).
#[derive(Debug, Clone)]
pub(crate) struct IdGenerator {
    state: u64,
}

impl IdGenerator {
    pub(crate) fn new(seed: u64) -> IdGenerator {
        IdGenerator { state: seed }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 16 lower-case hex digits.
    pub(crate) fn hex_id(&mut self) -> String {
        format!("{:016x}", self.next_u64())
    }
}

/// Remembers when each JID was last rejected, so that two busy services cannot
/// ping-pong rejections. Bounded: at most `CAP` JIDs are remembered.
#[derive(Debug, Default)]
pub(crate) struct RejectionLimiter {
    last: Vec<(String, Instant)>,
}

impl RejectionLimiter {
    pub(crate) const CAP: usize = 64;

    /// Whether `jid` may be sent a rejection now; records it if so.
    pub(crate) fn allow(&mut self, jid: &str, now: Instant, interval: Duration) -> bool {
        if let Some(entry) = self.last.iter_mut().find(|(j, _)| j == jid) {
            if now.saturating_duration_since(entry.1) < interval {
                return false;
            }
            entry.1 = now;
            return true;
        }
        if self.last.len() >= Self::CAP {
            self.last
                .retain(|(_, at)| now.saturating_duration_since(*at) < interval);
        }
        if self.last.len() >= Self::CAP {
            // Every slot is a JID rejected within the interval: stay silent
            // rather than grow without bound.
            return false;
        }
        self.last.push((jid.to_owned(), now));
        true
    }
}

/// transport-info that arrived from a JID with no session, kept briefly in case
/// its session-initiate was overtaken (reordering on the signaling path).
#[derive(Debug, Default)]
pub(crate) struct EarlyTransportInfo {
    entries: Vec<EarlyEntry>,
}

#[derive(Debug)]
struct EarlyEntry {
    from: String,
    expires: Instant,
    jingle: Jingle,
}

impl EarlyTransportInfo {
    /// Most messages kept in all.
    pub(crate) const CAP: usize = 16;
    /// Most messages kept per JID.
    pub(crate) const CAP_PER_JID: usize = 4;

    /// Keeps `jingle`; false if the buffer (or this JID's share) is full.
    pub(crate) fn push(&mut self, from: &str, expires: Instant, jingle: Jingle) -> bool {
        let mine = self.entries.iter().filter(|e| e.from == from).count();
        if self.entries.len() >= Self::CAP || mine >= Self::CAP_PER_JID {
            return false;
        }
        self.entries.push(EarlyEntry {
            from: from.to_owned(),
            expires,
            jingle,
        });
        true
    }

    /// Takes every message kept for `from`, in arrival order.
    pub(crate) fn take(&mut self, from: &str) -> Vec<Jingle> {
        let taken = self.entries.extract_if(.., |e| e.from == from);
        taken.map(|e| e.jingle).collect()
    }

    /// Removes what expired by `now`; returns the JIDs of the dropped messages.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<String> {
        let dropped = self.entries.extract_if(.., |e| e.expires <= now);
        dropped.map(|e| e.from).collect()
    }

    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.entries.iter().map(|e| e.expires).min()
    }
}
