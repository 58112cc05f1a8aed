//! The SQLite writer queue: writers of one store take turns in arrival order before they ask
//! SQLite for its write lock.
//!
//! SQLite has one write lock per database. A connection that wants it while another holds it
//! does not wait in line: its busy handler sleeps and polls, with sleeps growing to 100 ms, so
//! under a burst of writers whoever polls at the right moment wins and a writer that arrived
//! first may keep losing until its `busy_timeout` runs out. With 16 concurrent writers that
//! made the slowest ones wait seconds for a lock that is held for milliseconds. Here the
//! writers of one [`Store`](crate::Store) queue in process first (first come, first served,
//! woken as soon as the previous one is done), so at most one of them at a time asks SQLite for
//! its lock; `busy_timeout` remains the wait for writers in other processes (a CLI command
//! beside a running server), or in another `Store` on the same file.
// Only SQLite files queue their writers.
#![cfg_attr(not(feature = "sqlite"), allow(dead_code))]

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::StoreError;

/// A first-come, first-served lock with a bounded wait: a ticket lock whose waiters may give up.
pub(crate) struct WriterQueue {
    state: Mutex<QueueState>,
    turn: Condvar,
    /// The longest wait for a turn (the pool's `connection_timeout`: a turn to write is one more
    /// thing a caller waits for before it can use the database), after which the writer gets
    /// [`StoreError::Unavailable`], as it would when no connection frees up.
    timeout: Duration,
}

#[derive(Default)]
struct QueueState {
    next_ticket: u64,
    /// Tickets of the writers waiting, in arrival order.
    waiting: VecDeque<u64>,
    /// Whether a writer has its turn.
    busy: bool,
}

/// A writer's turn; the next writer's begins when it is dropped.
pub(crate) struct WriterTurn<'a> {
    queue: &'a WriterQueue,
}

/// Why a writer got no turn.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {0:?} waiting for the other writers of this sqlite database")]
struct QueueTimeout(Duration);

impl WriterQueue {
    pub(crate) fn new(timeout: Duration) -> Self {
        WriterQueue {
            state: Mutex::new(QueueState::default()),
            turn: Condvar::new(),
            timeout,
        }
    }

    // The state is a few counters that every step leaves consistent, so a panic elsewhere while
    // the mutex was held cannot have left it half-changed: use it as it is.
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for this writer's turn: after every writer that arrived before it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the turn does not come within the queue's timeout; the
    /// writer then leaves the queue without holding up the ones behind it.
    pub(crate) fn wait_turn(&self) -> Result<WriterTurn<'_>, StoreError> {
        self.wait_turn_within(self.timeout)
    }

    fn wait_turn_within(&self, timeout: Duration) -> Result<WriterTurn<'_>, StoreError> {
        let deadline = Instant::now() + timeout;
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push_back(ticket);
        loop {
            if !state.busy && state.waiting.front() == Some(&ticket) {
                state.waiting.pop_front();
                state.busy = true;
                return Ok(WriterTurn { queue: self });
            }
            let now = Instant::now();
            if now >= deadline {
                state.waiting.retain(|waiting| *waiting != ticket);
                drop(state);
                // It may have been first in line: let the next one see it is their turn.
                self.turn.notify_all();
                return Err(StoreError::Unavailable(Box::new(QueueTimeout(timeout))));
            }
            state = self
                .turn
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

impl Drop for WriterTurn<'_> {
    fn drop(&mut self) {
        self.queue.lock().busy = false;
        // Every waiter checks whether it is first; waking only one could wake the wrong one.
        self.queue.turn.notify_all();
    }
}

impl fmt::Debug for WriterQueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("WriterQueue")
            .field("busy", &state.busy)
            .field("waiting", &state.waiting.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn writers_get_their_turn_in_arrival_order() {
        let queue = Arc::new(WriterQueue::new(Duration::from_secs(30)));
        let order = Arc::new(Mutex::new(Vec::new()));
        let first = queue.wait_turn().unwrap();
        let mut threads = Vec::new();
        for n in 0..8 {
            // Each waits until the previous one is queued, so arrival order is n.
            while queue.lock().waiting.len() < n {
                std::thread::yield_now();
            }
            let (queue, order) = (Arc::clone(&queue), Arc::clone(&order));
            threads.push(std::thread::spawn(move || {
                let _turn = queue.wait_turn().unwrap();
                order.lock().unwrap().push(n);
            }));
        }
        while queue.lock().waiting.len() < 8 {
            std::thread::yield_now();
        }
        drop(first);
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn a_writer_that_gives_up_does_not_hold_up_the_ones_behind_it() {
        let queue = Arc::new(WriterQueue::new(Duration::from_secs(30)));
        let held = queue.wait_turn().unwrap();
        let q = Arc::clone(&queue);
        let impatient =
            std::thread::spawn(move || q.wait_turn_within(Duration::from_millis(100)).map(drop));
        while queue.lock().waiting.is_empty() {
            std::thread::yield_now();
        }
        let q = Arc::clone(&queue);
        let patient = std::thread::spawn(move || q.wait_turn().map(drop));
        let gave_up = impatient.join().unwrap();
        assert!(
            matches!(gave_up, Err(StoreError::Unavailable(_))),
            "{gave_up:?}"
        );
        drop(held);
        // Had the impatient writer stayed first in line, this would wait its 30 s and fail.
        patient.join().unwrap().unwrap();
        assert!(queue.lock().waiting.is_empty());
    }
}
