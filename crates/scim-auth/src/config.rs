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
    /// it (one that did can call [`crate::Verifier::forget`]): after it the row is read again,
    /// even for a secret remembered under [`VerifierConfig::known_good_ttl`]. Default: 60 s.
    pub cache_ttl: Duration,
    /// How long a failed (id, secret) pair is refused from memory without hashing again.
    /// Verdicts are permanent for a pair (a secret never changes), except when an operator
    /// un-revokes a token or extends an expired one: that takes effect within this bound.
    /// Default: 5 minutes.
    pub negative_ttl: Duration,
    /// How long a secret proven by an argon2 hash is remembered (as a SHA-256 digest, with a
    /// fingerprint of the stored hash it matched) after it was last confirmed. Once a token's
    /// verified cache entry lapses, a token presented with a remembered secret is re-checked
    /// against its row — revocation, expiry, the stored hash — without hashing again, and
    /// throttling does not stop it: only the real secret matches. Default: 24 h.
    pub known_good_ttl: Duration,
    /// Cap on entries in the verified cache, in the remembered secrets and in the negative
    /// cache (each); the oldest are evicted first. Also bounds the unflushed last-used map
    /// (never below 1,024 there). Default: 10,000.
    pub max_cache_entries: usize,
    /// Cap on the (client, token id) pairs, and separately on the clients, whose failures are
    /// tracked. Default: 10,000.
    pub max_tracked_clients: usize,
    /// The window in which failures are counted. Default: 60 s.
    pub failure_window: Duration,
    /// Failures of one client with one token id within the window after which that client is
    /// refused that token id (other clients, and its other token ids, are not). Unknown ids
    /// and malformed tokens are not counted: they cost no hash, and counting them per client
    /// would let anyone sharing an address lock out the good tokens behind it. `0` acts as
    /// `1`. Default: 5.
    pub failures_before_throttle: u32,
    /// Wrong secrets of existing tokens — the failures that cost an argon2 hash — from one
    /// client, across all token ids, within the window, after which that client gets no more
    /// hashes: a secret that still needs one is refused with [`crate::AuthError::Throttled`],
    /// while a remembered one (see [`VerifierConfig::known_good_ttl`]) still passes. This
    /// bounds the argon2 work one client can cause by rotating token ids. `0` acts as `1`.
    /// Default: 20.
    pub client_hash_failures_before_throttle: u32,
    /// How long a client (or a client and token id) is refused after reaching its threshold;
    /// each further failure doubles it, up to `max_delay`. Default: 1 s.
    pub initial_delay: Duration,
    /// The longest a client is refused at once. Default: 5 minutes.
    pub max_delay: Duration,
    /// How many argon2 hashes may run at once; `0` acts as `1`. One client may hold at most
    /// half of them (at least one). Default: one less than the cores (at least 1), so hashing
    /// can never take every core.
    pub hash_concurrency: usize,
    /// How long a verification waits for a hashing slot before answering
    /// [`crate::AuthError::Busy`]; zero answers at once. Default: 250 ms.
    pub hash_wait: Duration,
    /// How many verifications may wait for a hashing slot at once; the next one is answered
    /// [`crate::AuthError::Busy`] without waiting. One client may take at most half of these
    /// places (at least one). Default: 32.
    pub max_hash_waiters: usize,
    /// How many user-password hashes ([`crate::Verifier::hash_password`]) may run at once,
    /// apart from the slots of token verification, so that a tenant writing passwords never
    /// makes another tenant's token checks wait; `0` acts as `1`. One caller (an organisation)
    /// may hold at most half of them (at least one). Default: 1.
    pub password_hash_concurrency: usize,
    /// How long a password hash waits for its slot before answering
    /// [`crate::AuthError::Busy`]. Default: 2 s.
    pub password_hash_wait: Duration,
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
            known_good_ttl: Duration::from_secs(24 * 3600),
            max_cache_entries: 10_000,
            max_tracked_clients: 10_000,
            failure_window: Duration::from_secs(60),
            failures_before_throttle: 5,
            client_hash_failures_before_throttle: 20,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
            hash_concurrency: cores.saturating_sub(1).max(1),
            hash_wait: Duration::from_millis(250),
            max_hash_waiters: 32,
            password_hash_concurrency: 1,
            password_hash_wait: Duration::from_secs(2),
            argon2: owasp_params(),
        }
    }
}
