//! Slowing down whoever keeps presenting bad tokens.
//!
//! A [`Throttle`] counts failures under opaque keys; the verifier keeps two, one keyed by
//! (client, token id) and one by client for the failures that cost a hash. Below the
//! threshold, failures are counted in a fixed window from the first one. Reaching the
//! threshold refuses the key for `initial_delay`; each further failure doubles the delay up to
//! `max_delay`. The record is forgotten once the key stays quiet for a whole window after its
//! last refusal ends.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::bounded::{later, BoundedMap};
use crate::config::VerifierConfig;

/// What failures are counted under: a hash made with the verifier's per-process random key, so
/// the maps store fixed-size keys and chosen inputs cannot collide on purpose.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ThrottleKey(pub(crate) u64);

#[derive(Clone, Copy)]
struct Record {
    failures: u32,
    window_start: Instant,
    blocked_until: Option<Instant>,
}

pub(crate) struct Throttle {
    records: Mutex<BoundedMap<ThrottleKey, Record>>,
    window: Duration,
    threshold: u32,
    initial_delay: Duration,
    max_delay: Duration,
}

impl Throttle {
    /// A throttle that refuses a key after `threshold` failures (`0` acts as `1`), with the
    /// window and delays of `config`, tracking at most `config.max_tracked_clients` keys.
    pub(crate) fn new(config: &VerifierConfig, threshold: u32) -> Self {
        Throttle {
            records: Mutex::new(BoundedMap::new(config.max_tracked_clients)),
            window: config.failure_window,
            threshold: threshold.max(1),
            initial_delay: config.initial_delay,
            max_delay: config.max_delay,
        }
    }

    /// `Err(retry_after)` while the key is refused.
    pub(crate) fn check(&self, key: ThrottleKey, now: Instant) -> Result<(), Duration> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        match records
            .get_mut(&key, now)
            .and_then(|slot| slot.value.blocked_until)
        {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    pub(crate) fn record_failure(&self, key: ThrottleKey, now: Instant) {
        let fresh = Record {
            failures: 0,
            window_start: now,
            blocked_until: None,
        };
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let mut record = records.get_mut(&key, now).map_or(fresh, |slot| slot.value);
        // Below the threshold the window is fixed; once escalated, only quiet resets the record
        // (its deadline then passes and `get_mut` drops it).
        if record.failures < self.threshold
            && now.saturating_duration_since(record.window_start) >= self.window
        {
            record = fresh;
        }
        record.failures = record.failures.saturating_add(1);
        if record.failures >= self.threshold {
            let doublings = (record.failures - self.threshold).min(30);
            let delay = self
                .initial_delay
                .saturating_mul(1u32 << doublings)
                .min(self.max_delay);
            let until = later(now, delay);
            record.blocked_until = Some(record.blocked_until.map_or(until, |b| b.max(until)));
        }
        let deadline = match record.blocked_until {
            Some(until) => later(until.max(now), self.window),
            None => later(record.window_start, self.window),
        };
        records.insert(key, record, deadline, now);
    }

    pub(crate) fn tracked(&self) -> usize {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
