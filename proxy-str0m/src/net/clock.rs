//! Our `std::time::Instant` to the turn/stun crates' `sans_io_time::Instant`
//! and back, through a fixed epoch. (`sans_io_time::Instant::from_std` reads
//! the clock, so it is never used.)

use std::time::{Duration, Instant};

/// The turn/stun crates' time: nanoseconds since our epoch.
pub(super) type TurnInstant = turn_client_proto::types::Instant;

/// The epoch: the `now` the [`Network`](super::Network) was created with.
#[derive(Debug, Clone, Copy)]
pub(super) struct Clock {
    epoch: Instant,
}

impl Clock {
    pub(super) fn new(epoch: Instant) -> Self {
        Clock { epoch }
    }

    /// `now` as nanoseconds since the epoch (0 before it, saturating far after).
    pub(super) fn turn(&self, now: Instant) -> TurnInstant {
        let nanos = now.saturating_duration_since(self.epoch).as_nanos();
        TurnInstant::from_nanos(i64::try_from(nanos).unwrap_or(i64::MAX))
    }

    /// A turn/stun deadline as our `Instant` (the epoch for anything before it).
    pub(super) fn std(&self, t: TurnInstant) -> Instant {
        let nanos = u64::try_from(t.as_nanos()).unwrap_or(0);
        self.epoch
            .checked_add(Duration::from_nanos(nanos))
            .unwrap_or(self.epoch + Duration::from_secs(86_400 * 365))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_saturates() {
        let epoch = Instant::now();
        let c = Clock::new(epoch);
        let later = epoch + Duration::from_millis(1500);
        assert_eq!(c.turn(later).as_nanos(), 1_500_000_000);
        assert_eq!(c.std(c.turn(later)), later);
        assert_eq!(c.turn(epoch).as_nanos(), 0);
        assert_eq!(c.std(TurnInstant::from_nanos(-5)), epoch);
    }
}
