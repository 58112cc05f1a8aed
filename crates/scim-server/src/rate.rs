//! Request rate limits per organisation (RFC 6585 §4): a token bucket per organisation, checked
//! right after authentication and before any database work, so one organisation's flood is
//! refused with 429 and `Retry-After` while the others' requests go on unslowed.
//!
//! Buckets live in the process: with several replicas behind a balancer, each enforces the
//! limit on the requests it receives.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use scim_store::orgs::RateLimit;
use scim_store::OrgId;

/// The buckets of the organisations seen so far (one entry per organisation: operators create
/// them, clients cannot).
#[derive(Debug, Default)]
pub(crate) struct RateLimiter {
    buckets: Mutex<HashMap<OrgId, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// The limit it was filled under: a changed limit starts a full bucket.
    limit: RateLimit,
}

impl RateLimiter {
    /// Takes one request from `org`'s bucket under `limit` at `now`; when it is empty, the
    /// time until it holds one again.
    pub(crate) fn take(&self, org: OrgId, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(limit.burst.max(1));
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let full = Bucket {
            tokens: burst,
            at: now,
            limit,
        };
        let bucket = buckets.entry(org).or_insert(full);
        if bucket.limit != limit {
            *bucket = full;
        }
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        let rate = f64::from(limit.per_second);
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else if rate > 0.0 {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        } else {
            Err(Duration::from_secs(60))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_gives_its_burst_then_its_rate() {
        let limiter = RateLimiter::default();
        let limit = RateLimit {
            per_second: 10,
            burst: 3,
        };
        let start = Instant::now();
        let org = OrgId(1);
        for _ in 0..3 {
            assert!(limiter.take(org, limit, start).is_ok());
        }
        let wait = limiter.take(org, limit, start).unwrap_err();
        assert!(wait > Duration::from_millis(90) && wait <= Duration::from_millis(100));
        // Another organisation has its own bucket.
        assert!(limiter.take(OrgId(2), limit, start).is_ok());
        // A tenth of a second refills one request, never more than the burst.
        assert!(limiter
            .take(org, limit, start + Duration::from_millis(100))
            .is_ok());
        assert!(limiter
            .take(org, limit, start + Duration::from_millis(100))
            .is_err());
        let later = start + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(limiter.take(org, limit, later).is_ok());
        }
        assert!(limiter.take(org, limit, later).is_err());
    }
}
