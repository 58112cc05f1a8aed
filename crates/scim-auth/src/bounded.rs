//! A hash map with a hard cap on its size, for every map a client can make grow.
//!
//! Each entry has a deadline after which it is useless. When the map is full, expired entries
//! go first, then the ones with the earliest deadlines, an eighth of the cap at a time so the
//! O(n) sweep is paid once per many insertions. Keys are hashed with std's randomly keyed
//! SipHash, so chosen keys cannot be made to collide.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// `at + by`, saturating instead of panicking for absurd configured durations.
pub(crate) fn later(at: Instant, by: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    at.checked_add(by)
        .or_else(|| at.checked_add(CENTURY))
        .unwrap_or(at)
}

pub(crate) struct Slot<V> {
    pub(crate) value: V,
    pub(crate) deadline: Instant,
}

pub(crate) struct BoundedMap<K, V> {
    entries: HashMap<K, Slot<V>>,
    cap: usize,
}

impl<K: Eq + Hash + Clone, V> BoundedMap<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        BoundedMap {
            entries: HashMap::new(),
            cap,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The live entry for `key`; an expired one is dropped and not returned.
    pub(crate) fn get_mut(&mut self, key: &K, now: Instant) -> Option<&mut Slot<V>> {
        let expired = self.entries.get(key)?.deadline <= now;
        if expired {
            self.entries.remove(key);
            return None;
        }
        self.entries.get_mut(key)
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        self.entries.remove(key).map(|slot| slot.value)
    }

    /// Inserts or replaces, evicting first if the map is full. With a cap of zero it keeps
    /// nothing.
    pub(crate) fn insert(&mut self, key: K, value: V, deadline: Instant, now: Instant) {
        if self.cap == 0 {
            return;
        }
        if self.entries.len() >= self.cap && !self.entries.contains_key(&key) {
            self.make_room(now);
        }
        self.entries.insert(key, Slot { value, deadline });
    }

    fn make_room(&mut self, now: Instant) {
        self.entries.retain(|_, slot| slot.deadline > now);
        if self.entries.len() < self.cap {
            return;
        }
        let batch = (self.cap / 8).max(1);
        let excess = self.entries.len() + 1 - self.cap;
        let evict = batch.max(excess).min(self.entries.len());
        let mut by_age: Vec<(Instant, K)> = self
            .entries
            .iter()
            .map(|(key, slot)| (slot.deadline, key.clone()))
            .collect();
        by_age.select_nth_unstable_by_key(evict - 1, |(deadline, _)| *deadline);
        for (_, key) in by_age.into_iter().take(evict) {
            self.entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_exceeds_cap_and_evicts_oldest_first() {
        let start = Instant::now();
        let mut map = BoundedMap::new(16);
        for i in 0u64..1000 {
            let deadline = start + Duration::from_secs(1000 + i);
            map.insert(i, i, deadline, start);
            assert!(map.len() <= 16);
        }
        // The newest key survives; the first ones were evicted.
        assert!(map.get_mut(&999, start).is_some());
        assert!(map.get_mut(&0, start).is_none());
    }

    #[test]
    fn expired_entries_go_before_live_ones() {
        let start = Instant::now();
        let mut map = BoundedMap::new(4);
        map.insert("live", 1, start + Duration::from_secs(100), start);
        for key in ["a", "b", "c"] {
            map.insert(key, 0, start + Duration::from_secs(1), start);
        }
        let later = start + Duration::from_secs(2);
        map.insert("new", 2, start + Duration::from_secs(50), later);
        assert!(map.get_mut(&"live", later).is_some());
        assert!(map.get_mut(&"new", later).is_some());
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn replacing_a_key_does_not_evict() {
        let start = Instant::now();
        let mut map = BoundedMap::new(2);
        map.insert(1, 'a', start + Duration::from_secs(10), start);
        map.insert(2, 'b', start + Duration::from_secs(20), start);
        map.insert(1, 'c', start + Duration::from_secs(30), start);
        assert_eq!(map.len(), 2);
        assert_eq!(map.get_mut(&1, start).map(|s| s.value), Some('c'));
    }

    #[test]
    fn zero_cap_keeps_nothing() {
        let start = Instant::now();
        let mut map = BoundedMap::new(0);
        map.insert(1, (), start + Duration::from_secs(10), start);
        assert_eq!(map.len(), 0);
    }

    #[test]
    fn get_drops_expired() {
        let start = Instant::now();
        let mut map = BoundedMap::new(2);
        map.insert(1, (), start + Duration::from_secs(10), start);
        assert!(map.get_mut(&1, start + Duration::from_secs(10)).is_none());
        assert_eq!(map.len(), 0);
    }
}
