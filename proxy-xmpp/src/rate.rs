//! A token bucket for the rate of what the server sends (stanzas and bytes).
//!
//! Input that has arrived is never dropped: it is counted, the bucket may
//! go into debt, and while it is in debt the client asks the driver not to
//! read ([`crate::client::Client::wants_read`]), so TCP or WebSocket flow
//! control holds the server back until the debt is repaid.

use std::time::{Duration, Instant};

/// A rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Units per second, refilled continuously; 0 turns the limit off.
    pub per_second: u64,
    /// Most units available at once.
    pub burst: u64,
}

/// Tokens in millionths of a unit, so slow rates refill smoothly.
const SCALE: i128 = 1_000_000;

#[derive(Debug, Clone)]
pub(crate) struct Bucket {
    rate: Rate,
    /// Millionths of a unit; negative in debt.
    tokens: i128,
    at: Instant,
}

impl Bucket {
    pub(crate) fn new(rate: Rate, now: Instant) -> Bucket {
        let tokens = i128::from(rate.burst) * SCALE;
        Bucket {
            rate,
            tokens,
            at: now,
        }
    }

    fn level(&self, now: Instant) -> i128 {
        let elapsed = now.saturating_duration_since(self.at).as_micros() as i128;
        let refill = elapsed.saturating_mul(i128::from(self.rate.per_second));
        let cap = i128::from(self.rate.burst) * SCALE;
        self.tokens.saturating_add(refill).min(cap)
    }

    /// Counts `n` units received at `now`.
    pub(crate) fn take(&mut self, now: Instant, n: u64) {
        if self.rate.per_second == 0 {
            return;
        }
        self.tokens = self.level(now) - i128::from(n) * SCALE;
        self.at = now;
    }

    /// The instant of the last count.
    pub(crate) fn last_count(&self) -> Instant {
        self.at
    }

    /// When the bucket is out of debt; `None` when it is not in debt.
    pub(crate) fn ready_at(&self, now: Instant) -> Option<Instant> {
        if self.rate.per_second == 0 {
            return None;
        }
        let level = self.level(now);
        if level >= 0 {
            return None;
        }
        let per_micro = i128::from(self.rate.per_second);
        let micros = (-level + per_micro - 1) / per_micro;
        Some(now + Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX)))
    }
}
