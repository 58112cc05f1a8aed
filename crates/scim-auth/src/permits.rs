//! A counting semaphore for argon2 hashes with a bounded, time-limited wait and a share per
//! client.
//!
//! Waiting is bounded both in time and in the number of waiters, so a burst can never pile up
//! an unbounded queue: past either bound the answer is "busy, retry".
//!
//! No client may hold more than half of the slots, nor take more than half of the waiting
//! places (at least one of each). The verifier's throttles bound how many hashes one client's
//! failures cost over a window, but they learn of a failure only once its hash is done: a burst
//! of wrong secrets sent at once is admitted whole. Without a share, such a burst from one
//! address would hold every slot and every waiting place, and good clients would be answered
//! busy until it drained. A fixed share taken from the two existing limits needs no new setting
//! and no fair queue. It does not tell apart many addresses acting together: that is for a rate
//! limiter in front of the server.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What one client has: slots held and places taken in the wait.
#[derive(Default)]
struct Share {
    held: usize,
    waiting: usize,
}

struct State {
    available: usize,
    waiting: usize,
    /// Only clients that hold or wait for a slot, so it never has more entries than there are
    /// slots and waiting places.
    clients: HashMap<u64, Share>,
}

impl State {
    fn share(&mut self, client: u64) -> &mut Share {
        self.clients.entry(client).or_default()
    }

    fn drop_idle(&mut self, client: u64) {
        if self
            .clients
            .get(&client)
            .is_some_and(|share| share.held == 0 && share.waiting == 0)
        {
            self.clients.remove(&client);
        }
    }
}

pub(crate) struct HashPermits {
    state: Mutex<State>,
    freed: Condvar,
    max_waiters: usize,
    client_slots: usize,
    client_waiters: usize,
}

/// A held hashing slot, given back on drop.
pub(crate) struct Permit<'a> {
    permits: &'a HashPermits,
    client: Option<u64>,
}

impl HashPermits {
    pub(crate) fn new(slots: usize, max_waiters: usize) -> Self {
        let slots = slots.max(1);
        HashPermits {
            state: Mutex::new(State {
                available: slots,
                waiting: 0,
                clients: HashMap::new(),
            }),
            freed: Condvar::new(),
            max_waiters,
            client_slots: (slots / 2).max(1),
            client_waiters: (max_waiters / 2).max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn can_take(&self, state: &State, client: Option<u64>) -> bool {
        state.available > 0
            && client.is_none_or(|client| {
                state
                    .clients
                    .get(&client)
                    .is_none_or(|share| share.held < self.client_slots)
            })
    }

    fn take<'a>(&'a self, state: &mut State, client: Option<u64>) -> Permit<'a> {
        state.available -= 1;
        if let Some(client) = client {
            state.share(client).held += 1;
        }
        Permit {
            permits: self,
            client,
        }
    }

    /// A slot for `client`, waiting at most `wait` for one; `None` means busy. `client: None`
    /// is work no client can be charged for (hashing a password a verified caller sent); it
    /// is held to the global limits only.
    pub(crate) fn acquire(&self, client: Option<u64>, wait: Duration) -> Option<Permit<'_>> {
        let mut state = self.lock();
        if self.can_take(&state, client) {
            return Some(self.take(&mut state, client));
        }
        let queue_full = state.waiting >= self.max_waiters
            || client.is_some_and(|client| {
                state
                    .clients
                    .get(&client)
                    .is_some_and(|share| share.waiting >= self.client_waiters)
            });
        if wait.is_zero() || queue_full {
            return None;
        }
        let deadline = Instant::now().checked_add(wait);
        state.waiting += 1;
        if let Some(client) = client {
            state.share(client).waiting += 1;
        }
        let permit = loop {
            if self.can_take(&state, client) {
                break Some(self.take(&mut state, client));
            }
            let remaining = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => wait,
            };
            if remaining.is_zero() {
                break None;
            }
            state = self
                .freed
                .wait_timeout(state, remaining)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        };
        state.waiting -= 1;
        if let Some(client) = client {
            state.share(client).waiting -= 1;
            state.drop_idle(client);
        }
        permit
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.permits.lock();
        state.available += 1;
        if let Some(client) = self.client {
            state.share(client).held -= 1;
            state.drop_idle(client);
        }
        drop(state);
        // Every waiter, not one: the one woken might be a client at its share, unable to take
        // the slot while another that could sleeps on.
        self.permits.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_and_returned() {
        let permits = HashPermits::new(2, 0);
        let a = permits.acquire(None, Duration::ZERO);
        let b = permits.acquire(None, Duration::ZERO);
        assert!(a.is_some() && b.is_some());
        assert!(permits.acquire(None, Duration::ZERO).is_none());
        drop(a);
        assert!(permits.acquire(None, Duration::ZERO).is_some());
    }

    #[test]
    fn no_waiting_beyond_max_waiters() {
        let permits = HashPermits::new(1, 0);
        let _held = permits.acquire(None, Duration::ZERO);
        let start = Instant::now();
        assert!(permits.acquire(None, Duration::from_secs(30)).is_none());
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn a_waiter_gets_the_freed_slot() {
        let permits = HashPermits::new(1, 4);
        let held = permits.acquire(None, Duration::ZERO);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| permits.acquire(None, Duration::from_secs(30)).is_some());
            // Give the slot back whether or not the waiter is already waiting: either way it
            // must end up with it, well before its 30 s limit.
            drop(held);
            assert!(waiter.join().unwrap());
        });
    }

    fn waiting(permits: &HashPermits) -> usize {
        permits.lock().waiting
    }

    /// Spins (briefly sleeping) until `n` acquirers are waiting.
    fn until_waiting(permits: &HashPermits, n: usize) {
        let start = Instant::now();
        while waiting(permits) < n {
            assert!(start.elapsed() < Duration::from_secs(10), "nobody waits");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn one_client_holds_at_most_half_the_slots() {
        let permits = HashPermits::new(4, 0);
        let a = permits.acquire(Some(1), Duration::ZERO);
        let b = permits.acquire(Some(1), Duration::ZERO);
        assert!(a.is_some() && b.is_some());
        assert!(permits.acquire(Some(1), Duration::ZERO).is_none());
        // The other half stays for other clients.
        let c = permits.acquire(Some(2), Duration::ZERO);
        let d = permits.acquire(Some(3), Duration::ZERO);
        assert!(c.is_some() && d.is_some());
        drop(a);
        assert!(permits.acquire(Some(1), Duration::ZERO).is_some());
        drop((b, c, d));
        assert!(permits.lock().clients.is_empty());
    }

    #[test]
    fn a_single_slot_is_still_open_to_every_client() {
        let permits = HashPermits::new(1, 0);
        let held = permits.acquire(Some(1), Duration::ZERO);
        assert!(held.is_some());
        drop(held);
        assert!(permits.acquire(Some(1), Duration::ZERO).is_some());
    }

    #[test]
    fn one_client_takes_at_most_half_the_waiting_places() {
        let permits = HashPermits::new(1, 4);
        let held = permits.acquire(Some(9), Duration::ZERO);
        std::thread::scope(|s| {
            let first = s.spawn(|| permits.acquire(Some(1), Duration::from_secs(30)).is_some());
            let second = s.spawn(|| permits.acquire(Some(1), Duration::from_secs(30)).is_some());
            until_waiting(&permits, 2);
            // Client 1 has its two places: a third request is busy at once, even with time to
            // wait, while another client still gets in line.
            let start = Instant::now();
            assert!(permits.acquire(Some(1), Duration::from_secs(30)).is_none());
            assert!(start.elapsed() < Duration::from_secs(5));
            let other = s.spawn(|| permits.acquire(Some(2), Duration::from_secs(30)).is_some());
            until_waiting(&permits, 3);
            drop(held);
            assert!(first.join().unwrap());
            assert!(second.join().unwrap());
            assert!(other.join().unwrap());
        });
        assert_eq!(waiting(&permits), 0);
        assert!(permits.lock().clients.is_empty());
    }

    #[test]
    fn a_client_at_its_share_waits_for_its_own_slot() {
        let permits = HashPermits::new(2, 4);
        let held = permits.acquire(Some(1), Duration::ZERO);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| permits.acquire(Some(1), Duration::from_secs(30)).is_some());
            until_waiting(&permits, 1);
            // The free slot is not client 1's to take, but it is another client's.
            let other = permits.acquire(Some(2), Duration::ZERO);
            assert!(other.is_some());
            drop(other);
            drop(held);
            assert!(waiter.join().unwrap());
        });
    }
}
