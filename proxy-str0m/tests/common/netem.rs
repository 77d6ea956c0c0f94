//! A small seeded, sans-IO network emulator for the two-peer simulation.
//!
//! A [`Link`] is one direction of a path: what is sent into it at some
//! instant comes out later, or never, decided by a seeded PRNG:
//!
//! - **loss**: each send is dropped with probability `loss`;
//! - **delay** and **jitter**: each copy is due `delay + U[0, jitter]` after
//!   it was sent, so with jitter larger than the gap between sends, copies
//!   overtake each other (reordering);
//! - **duplication**: with probability `duplicate` a send is queued twice,
//!   each copy with its own jitter;
//! - **vanish**: from a given instant nothing sent into the link comes out,
//!   and nothing still in flight comes out after that instant either (the
//!   sender is gone, its last packets with it).
//!
//! Like the connections it carries, a link does no I/O and reads no clock:
//! [`Link::send`] takes the time, [`Link::poll_timeout`] tells the next
//! instant something is due, [`Link::poll_due`] hands out what is due at or
//! before `now`, earliest first (ties in send order). The [`Pair`] harness
//! adds `poll_timeout` to the deadlines its virtual clock jumps to.
//!
//! [`Netem`] is the two directions of one path, seeded from one number.
//!
//! [`Pair`]: super::pair::Pair

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, fast, seedable PRNG; any
/// seed, including 0, gives a full-period stream.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits of precision.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (p <= 0: never, p >= 1: always).
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// Uniform in [0, n] (inclusive), by rejection so there is no modulo bias.
    pub fn up_to(&mut self, n: u64) -> u64 {
        if n == u64::MAX {
            return self.next_u64();
        }
        let range = n + 1;
        let zone = u64::MAX - (u64::MAX % range);
        loop {
            let x = self.next_u64();
            if x < zone {
                return x % range;
            }
        }
    }
}

/// What one direction of the path does to what is sent into it.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// Probability that a send is dropped.
    pub loss: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra delay, uniform in [0, jitter], drawn per copy.
    pub jitter: Duration,
    /// Probability that a (not lost) send is delivered twice.
    pub duplicate: f64,
}

impl LinkConfig {
    /// A clean path with a fixed delay.
    pub fn delay(delay: Duration) -> LinkConfig {
        LinkConfig {
            loss: 0.0,
            delay,
            jitter: Duration::ZERO,
            duplicate: 0.0,
        }
    }

    /// This config with loss probability `loss`.
    pub fn loss(self, loss: f64) -> LinkConfig {
        LinkConfig { loss, ..self }
    }

    /// This config with uniform jitter up to `jitter`.
    pub fn jitter(self, jitter: Duration) -> LinkConfig {
        LinkConfig { jitter, ..self }
    }

    /// This config with duplication probability `duplicate`.
    pub fn duplicate(self, duplicate: f64) -> LinkConfig {
        LinkConfig { duplicate, ..self }
    }
}

/// What happened on a link so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Sends into the link.
    pub sent: u64,
    /// Sends dropped by `loss`.
    pub lost: u64,
    /// Extra copies queued by `duplicate`.
    pub duplicated: u64,
    /// Copies dropped because the link vanished.
    pub vanished: u64,
    /// Copies handed out by `poll_due`.
    pub delivered: u64,
    /// Copies handed out after a copy of a later send.
    pub reordered: u64,
}

/// A queued copy, ordered earliest due first, then by queue order.
#[derive(Debug)]
struct Entry<T> {
    due: Instant,
    /// Queue order (unique per copy): ties in `due` come out in send order.
    order: u64,
    /// Index of the send it is a copy of.
    send: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Entry<T> {}

impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Entry<T> {
    /// Reversed, so `BinaryHeap` (a max-heap) pops the earliest first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.due, other.order).cmp(&(self.due, self.order))
    }
}

/// One direction of an emulated path.
#[derive(Debug)]
pub struct Link<T> {
    /// What the link does; may be changed at any time (affects later sends).
    pub config: LinkConfig,
    rng: SplitMix64,
    queue: BinaryHeap<Entry<T>>,
    next_order: u64,
    next_send: u64,
    /// The highest send index handed out so far.
    latest_delivered: Option<u64>,
    vanish_at: Option<Instant>,
    /// Counters.
    pub stats: LinkStats,
}

impl<T: Clone> Link<T> {
    /// A link with its own PRNG seeded by `seed`.
    pub fn new(seed: u64, config: LinkConfig) -> Link<T> {
        Link {
            config,
            rng: SplitMix64::new(seed),
            queue: BinaryHeap::new(),
            next_order: 0,
            next_send: 0,
            latest_delivered: None,
            vanish_at: None,
            stats: LinkStats::default(),
        }
    }

    /// Sends `item` into the link at `now`.
    pub fn send(&mut self, now: Instant, item: T) {
        self.stats.sent += 1;
        let send = self.next_send;
        self.next_send += 1;
        if self.rng.chance(self.config.loss) {
            self.stats.lost += 1;
            return;
        }
        let copies = if self.rng.chance(self.config.duplicate) {
            self.stats.duplicated += 1;
            2
        } else {
            1
        };
        let jitter_ns = u64::try_from(self.config.jitter.as_nanos()).unwrap_or(u64::MAX);
        for _ in 0..copies {
            let extra = Duration::from_nanos(self.rng.up_to(jitter_ns));
            let due = now + self.config.delay + extra;
            if self.vanish_at.is_some_and(|v| now >= v || due > v) {
                self.stats.vanished += 1;
                continue;
            }
            self.queue.push(Entry {
                due,
                order: self.next_order,
                send,
                item: item.clone(),
            });
            self.next_order += 1;
        }
    }

    /// From `at` on, nothing sent comes out, and nothing in flight comes out
    /// after `at`.
    pub fn vanish(&mut self, at: Instant) {
        self.vanish_at = Some(at);
        let before = self.queue.len();
        self.queue.retain(|e| e.due <= at);
        self.stats.vanished += (before - self.queue.len()) as u64;
    }

    /// Undoes [`vanish`](Self::vanish) for later sends (a new sender on the
    /// same path).
    pub fn revive(&mut self) {
        self.vanish_at = None;
    }

    /// The instant the next copy is due, if any is in flight.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.queue.peek().map(|e| e.due)
    }

    /// The next copy due at or before `now`, earliest first.
    pub fn poll_due(&mut self, now: Instant) -> Option<T> {
        if self.queue.peek()?.due > now {
            return None;
        }
        let entry = self.queue.pop()?;
        self.stats.delivered += 1;
        match self.latest_delivered {
            Some(latest) if entry.send < latest => self.stats.reordered += 1,
            _ => self.latest_delivered = Some(entry.send),
        }
        Some(entry.item)
    }

    /// How many copies are in flight.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }
}

/// Both directions of a path between peer `a` and peer `b`.
#[derive(Debug)]
pub struct Netem<T> {
    /// What `b` sends, on its way to `a`.
    pub to_a: Link<T>,
    /// What `a` sends, on its way to `b`.
    pub to_b: Link<T>,
}

impl<T: Clone> Netem<T> {
    /// Both directions, each with its own PRNG derived from `seed`.
    pub fn new(seed: u64, a_to_b: LinkConfig, b_to_a: LinkConfig) -> Netem<T> {
        let mut seeds = SplitMix64::new(seed);
        let to_b = Link::new(seeds.next_u64(), a_to_b);
        let to_a = Link::new(seeds.next_u64(), b_to_a);
        Netem { to_a, to_b }
    }

    /// The same config both ways.
    pub fn symmetric(seed: u64, config: LinkConfig) -> Netem<T> {
        Netem::new(seed, config.clone(), config)
    }

    /// The link towards `b` (`to_b`) or towards `a`.
    pub fn link(&mut self, to_b: bool) -> &mut Link<T> {
        if to_b {
            &mut self.to_b
        } else {
            &mut self.to_a
        }
    }

    /// The earliest instant anything is due either way.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.to_a.poll_timeout(), self.to_b.poll_timeout()) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        }
    }
}
