//! Slowing down clients that keep presenting bad tokens.
//!
//! Below the threshold, failures are counted in a fixed window from the first one. Reaching
//! the threshold refuses the client for `initial_delay`; each further failure doubles the delay
//! up to `max_delay`. The record is forgotten once the client stays quiet for a whole window
//! after its last refusal ends.

use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::bounded::{later, BoundedMap};
use crate::config::VerifierConfig;

/// A client key, hashed with a per-process random key so the map stores fixed-size keys and
/// chosen inputs cannot collide on purpose.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey(u64);

#[derive(Clone, Copy)]
struct Record {
    failures: u32,
    window_start: Instant,
    blocked_until: Option<Instant>,
}

pub(crate) struct Throttle {
    records: Mutex<BoundedMap<ClientKey, Record>>,
    keys: RandomState,
    window: Duration,
    threshold: u32,
    initial_delay: Duration,
    max_delay: Duration,
}

impl Throttle {
    pub(crate) fn new(config: &VerifierConfig) -> Self {
        Throttle {
            records: Mutex::new(BoundedMap::new(config.max_tracked_clients)),
            keys: RandomState::new(),
            window: config.failure_window,
            threshold: config.failures_before_throttle.max(1),
            initial_delay: config.initial_delay,
            max_delay: config.max_delay,
        }
    }

    pub(crate) fn key<K: Hash + ?Sized>(&self, client: &K) -> ClientKey {
        ClientKey(self.keys.hash_one(client))
    }

    /// `Err(retry_after)` while the client is refused.
    pub(crate) fn check(&self, client: ClientKey, now: Instant) -> Result<(), Duration> {
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        match records
            .get_mut(&client, now)
            .and_then(|slot| slot.value.blocked_until)
        {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    pub(crate) fn record_failure(&self, client: ClientKey, now: Instant) {
        let fresh = Record {
            failures: 0,
            window_start: now,
            blocked_until: None,
        };
        let mut records = self.records.lock().unwrap_or_else(PoisonError::into_inner);
        let mut record = records
            .get_mut(&client, now)
            .map_or(fresh, |slot| slot.value);
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
        records.insert(client, record, deadline, now);
    }

    pub(crate) fn tracked(&self) -> usize {
        self.records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}
