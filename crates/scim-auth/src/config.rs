//! Tuning of the verifier, with defaults meant for production.

use std::time::Duration;

use crate::hash::owasp_params;

/// How the [`crate::Verifier`] caches, throttles and hashes.
///
/// Build one with struct update syntax over [`VerifierConfig::default`]:
///
/// ```
/// # use std::time::Duration;
/// # use scim_auth::VerifierConfig;
/// let config = VerifierConfig { cache_ttl: Duration::from_secs(30), ..VerifierConfig::default() };
/// ```
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// How long a verified token is accepted from memory without asking the source again.
    /// This is the bound on how late a revocation takes effect in a process that did not make
    /// it (one that did can call [`crate::Verifier::forget`]). Default: 60 s.
    pub cache_ttl: Duration,
    /// How long a failed (id, secret) pair is refused from memory without hashing again.
    /// Verdicts are permanent for a pair (a secret never changes), except when an operator
    /// un-revokes a token or extends an expired one: that takes effect within this bound.
    /// Default: 5 minutes.
    pub negative_ttl: Duration,
    /// Cap on entries in the verified cache and in the negative cache (each); the oldest are
    /// evicted first. Also bounds the unflushed last-used map (never below 1,024 there).
    /// Default: 10,000.
    pub max_cache_entries: usize,
    /// Cap on the number of clients whose failures are tracked. Default: 10,000.
    pub max_tracked_clients: usize,
    /// The window in which failures from one client are counted. Default: 60 s.
    pub failure_window: Duration,
    /// Failures within the window after which a client is refused. `0` acts as `1`. Default: 5.
    pub failures_before_throttle: u32,
    /// How long a client is refused after reaching the threshold; each further failure doubles
    /// it, up to `max_delay`. Default: 1 s.
    pub initial_delay: Duration,
    /// The longest a client is refused at once. Default: 5 minutes.
    pub max_delay: Duration,
    /// How many argon2 hashes may run at once; `0` acts as `1`. Default: one less than the
    /// cores (at least 1), so hashing can never take every core.
    pub hash_concurrency: usize,
    /// How long a verification waits for a hashing slot before answering
    /// [`crate::AuthError::Busy`]; zero answers at once. Default: 250 ms.
    pub hash_wait: Duration,
    /// How many verifications may wait for a hashing slot at once; the next one is answered
    /// [`crate::AuthError::Busy`] without waiting. Default: 32.
    pub max_hash_waiters: usize,
    /// argon2id parameters for new tokens. Verification uses the parameters recorded in each
    /// stored hash. Default: OWASP's recommendation, m = 19456 KiB, t = 2, p = 1.
    pub argon2: argon2::Params,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        VerifierConfig {
            cache_ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(300),
            max_cache_entries: 10_000,
            max_tracked_clients: 10_000,
            failure_window: Duration::from_secs(60),
            failures_before_throttle: 5,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            hash_concurrency: cores.saturating_sub(1).max(1),
            hash_wait: Duration::from_millis(250),
            max_hash_waiters: 32,
            argon2: owasp_params(),
        }
    }
}
