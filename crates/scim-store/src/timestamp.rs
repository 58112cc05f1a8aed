//! Timestamps cross the API as `std::time::SystemTime` and are stored as BIGINT microseconds
//! since the Unix epoch (UTC) on both backends, so sorting and filtering on dates is the same SQL.
//!
//! `SystemTime` rather than `chrono`: it is what `scim-auth` already speaks (token expiry and
//! last-use times), it needs no dependency, and formatting dates for SCIM's `meta` belongs to the
//! model, not the store.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch, saturating at the ends of `i64` (±292,000 years).
pub(crate) fn to_micros(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_micros()).map_or(i64::MIN, |m| -m),
    }
}

/// The inverse of [`to_micros`], saturating where `SystemTime` cannot go.
pub(crate) fn from_micros(micros: i64) -> SystemTime {
    let magnitude = Duration::from_micros(micros.unsigned_abs());
    let time = if micros >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    };
    time.unwrap_or(UNIX_EPOCH)
}

/// Now, as stored. Truncated to whole microseconds, so a value read back equals the one written.
pub(crate) fn now_micros() -> i64 {
    to_micros(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_whole_microseconds_on_both_sides_of_the_epoch() {
        for micros in [0, 1, -1, 1_700_000_000_123_456, -86_400_000_000] {
            assert_eq!(to_micros(from_micros(micros)), micros);
        }
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789);
        assert_eq!(to_micros(t), 1_700_000_000_123_456);
    }
}
