//! Time, injectable so tests of TTLs, expiry and throttling never sleep.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// The verifier's source of time.
pub trait Clock: Send + Sync {
    /// Wall-clock time: compared with token expiry and recorded as last-used time.
    fn now(&self) -> SystemTime;

    /// Monotonic time: measures cache TTLs, failure windows and throttling delays, so a jump of
    /// the wall clock can neither extend nor cut them.
    fn instant(&self) -> Instant;
}

impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }

    fn instant(&self) -> Instant {
        (**self).instant()
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> SystemTime {
        (**self).now()
    }

    fn instant(&self) -> Instant {
        (**self).instant()
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to, for tests. Both of its times advance together.
#[derive(Debug)]
pub struct ManualClock {
    wall_start: SystemTime,
    instant_start: Instant,
    elapsed: Mutex<Duration>,
}

impl ManualClock {
    /// A clock standing at the current real time.
    pub fn new() -> Self {
        Self::starting_at(SystemTime::now())
    }

    /// A clock whose wall time stands at `wall`.
    pub fn starting_at(wall: SystemTime) -> Self {
        ManualClock {
            wall_start: wall,
            instant_start: Instant::now(),
            elapsed: Mutex::new(Duration::ZERO),
        }
    }

    /// Moves both times forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut elapsed = self.elapsed.lock().unwrap_or_else(PoisonError::into_inner);
        *elapsed = elapsed.saturating_add(by);
    }

    fn elapsed(&self) -> Duration {
        *self.elapsed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        // Out of range only after centuries of advancing; stay put rather than panic.
        self.wall_start
            .checked_add(self.elapsed())
            .unwrap_or(self.wall_start)
    }

    fn instant(&self) -> Instant {
        self.instant_start
            .checked_add(self.elapsed())
            .unwrap_or(self.instant_start)
    }
}
