//! A counting semaphore for argon2 hashes with a bounded, time-limited wait.
//!
//! Waiting is bounded both in time and in the number of waiters, so a burst can never pile up
//! an unbounded queue: past either bound the answer is "busy, retry".

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

struct State {
    available: usize,
    waiting: usize,
}

pub(crate) struct HashPermits {
    state: Mutex<State>,
    freed: Condvar,
    max_waiters: usize,
}

/// A held hashing slot, given back on drop.
pub(crate) struct Permit<'a> {
    permits: &'a HashPermits,
}

impl HashPermits {
    pub(crate) fn new(slots: usize, max_waiters: usize) -> Self {
        HashPermits {
            state: Mutex::new(State {
                available: slots.max(1),
                waiting: 0,
            }),
            freed: Condvar::new(),
            max_waiters,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot, waiting at most `wait` for one; `None` means busy.
    pub(crate) fn acquire(&self, wait: Duration) -> Option<Permit<'_>> {
        let mut state = self.lock();
        if state.available > 0 {
            state.available -= 1;
            return Some(Permit { permits: self });
        }
        if wait.is_zero() || state.waiting >= self.max_waiters {
            return None;
        }
        let deadline = Instant::now().checked_add(wait);
        state.waiting += 1;
        let acquired = loop {
            if state.available > 0 {
                state.available -= 1;
                break true;
            }
            let remaining = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => wait,
            };
            if remaining.is_zero() {
                break false;
            }
            state = self
                .freed
                .wait_timeout(state, remaining)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        state.waiting -= 1;
        acquired.then_some(Permit { permits: self })
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.permits.lock().available += 1;
        self.permits.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_and_returned() {
        let permits = HashPermits::new(2, 0);
        let a = permits.acquire(Duration::ZERO);
        let b = permits.acquire(Duration::ZERO);
        assert!(a.is_some() && b.is_some());
        assert!(permits.acquire(Duration::ZERO).is_none());
        drop(a);
        assert!(permits.acquire(Duration::ZERO).is_some());
    }

    #[test]
    fn no_waiting_beyond_max_waiters() {
        let permits = HashPermits::new(1, 0);
        let _held = permits.acquire(Duration::ZERO);
        let start = Instant::now();
        assert!(permits.acquire(Duration::from_secs(30)).is_none());
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_waiter_gets_the_freed_slot() {
        let permits = HashPermits::new(1, 4);
        let held = permits.acquire(Duration::ZERO);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| permits.acquire(Duration::from_secs(30)).is_some());
            // Give the slot back whether or not the waiter is already waiting: either way it
            // must end up with it, well before its 30 s limit.
            drop(held);
            assert!(waiter.join().unwrap());
        });
    }
}
