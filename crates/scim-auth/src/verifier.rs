//! Checking presented tokens without an argon2 hash per request.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

use crate::bounded::{later, BoundedMap};
use crate::clock::{Clock, SystemClock};
use crate::config::VerifierConfig;
use crate::error::{AuthError, HashError};
use crate::hash::{verify_secret, IssuedToken};
use crate::permits::HashPermits;
use crate::source::TokenSource;
use crate::throttle::{ClientKey, Throttle};
use crate::token::{bearer_token, SecretDigest, Token, TokenId};

/// Who a verified token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthContext {
    /// The organisation the token belongs to: the only one whose resources it may see.
    pub org_id: i64,
    /// The token that was presented.
    pub token_id: TokenId,
}

/// Counters and sizes, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifierStats {
    /// Tokens accepted from the verified cache.
    pub cache_hits: u64,
    /// Tokens refused from the negative cache.
    pub negative_hits: u64,
    /// Calls to [`TokenSource::find`].
    pub source_lookups: u64,
    /// argon2 verifications run.
    pub hashes: u64,
    /// Requests refused with [`AuthError::Throttled`].
    pub throttled: u64,
    /// Requests refused with [`AuthError::Busy`].
    pub busy: u64,
    /// Entries now in the verified cache.
    pub cached_tokens: usize,
    /// Entries now in the negative cache.
    pub rejected_entries: usize,
    /// Clients whose failures are now tracked.
    pub tracked_clients: usize,
}

#[derive(Default)]
struct Counters {
    cache_hits: AtomicU64,
    negative_hits: AtomicU64,
    source_lookups: AtomicU64,
    hashes: AtomicU64,
    throttled: AtomicU64,
    busy: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A token proven good: what the fast path needs to accept it again.
struct Verified {
    digest: SecretDigest,
    org_id: i64,
    expires_at: Option<SystemTime>,
}

/// Why an (id, secret) pair was refused; each is permanent for that pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejection {
    Unknown,
    Invalid,
    Expired,
    Revoked,
}

impl From<Rejection> for AuthError {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Unknown => AuthError::Unknown,
            Rejection::Invalid => AuthError::Invalid,
            Rejection::Expired => AuthError::Expired,
            Rejection::Revoked => AuthError::Revoked,
        }
    }
}

/// What the verified cache says about a presented token.
enum Cached {
    Accepted(AuthContext),
    Refused(Rejection),
    Miss,
}

type HashHook = Box<dyn Fn(&TokenId) + Send + Sync>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here leaves its map consistent, so a panic elsewhere while a
    // lock was held does not make the data unusable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn expired(expires_at: Option<SystemTime>, now: SystemTime) -> bool {
    expires_at.is_some_and(|at| at <= now)
}

/// Verifies presented tokens against a [`TokenSource`], shared across threads.
///
/// - **Fast path** (no hash, no I/O, only short in-memory locks): a token whose (id, secret)
///   was verified within [`VerifierConfig::cache_ttl`] is accepted from memory. The cache keeps
///   a SHA-256 of the secret, compared in constant time, and the token's expiry, checked on
///   every hit. Refusals known from memory (throttled client, malformed token, negatively
///   cached pair) are answered here too.
/// - **Slow path** (on a miss): one [`TokenSource::find`], then argon2id. An unknown id, a
///   revoked or an expired row is refused without hashing; hashing runs only within
///   [`VerifierConfig::hash_concurrency`] slots.
///
/// Revocation therefore takes effect within `cache_ttl` of the revoking write (default 60 s),
/// and at once in a process that calls [`Verifier::forget`]. Expiry takes effect at once.
///
/// Failures (malformed, unknown, invalid, expired, revoked) count against the client key the
/// caller passes; a client that fails too often is refused with [`AuthError::Throttled`]
/// without touching the source or hashing. A token already in the verified cache is still
/// accepted from a throttled client: accepting it costs nothing and needs the real secret,
/// and refusing it would lock out a good client that shares an address with a bad one.
pub struct Verifier<S, C = SystemClock> {
    source: S,
    clock: C,
    config: VerifierConfig,
    verified: Mutex<BoundedMap<TokenId, Verified>>,
    rejected: Mutex<BoundedMap<(TokenId, SecretDigest), Rejection>>,
    last_used: Mutex<HashMap<TokenId, SystemTime>>,
    throttle: Throttle,
    permits: HashPermits,
    counters: Counters,
    hash_hook: Option<HashHook>,
}

impl<S, C> fmt::Debug for Verifier<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: TokenSource> Verifier<S> {
    /// A verifier over `source` on the real clock.
    pub fn new(source: S, config: VerifierConfig) -> Self {
        Verifier::with_clock(source, config, SystemClock)
    }
}

/// The outcome of the fast path: an answer, or the parsed token for the slow path.
enum Step {
    Done(Result<AuthContext, AuthError>),
    Slow(Token, SecretDigest),
}

impl<S: TokenSource, C: Clock> Verifier<S, C> {
    /// A verifier over `source` that reads time from `clock`.
    pub fn with_clock(source: S, config: VerifierConfig, clock: C) -> Self {
        Verifier {
            verified: Mutex::new(BoundedMap::new(config.max_cache_entries)),
            rejected: Mutex::new(BoundedMap::new(config.max_cache_entries)),
            last_used: Mutex::new(HashMap::new()),
            throttle: Throttle::new(&config),
            permits: HashPermits::new(config.hash_concurrency, config.max_hash_waiters),
            counters: Counters::default(),
            hash_hook: None,
            source,
            clock,
            config,
        }
    }

    /// Calls `hook` just before each argon2 verification, with a hashing slot held.
    /// For metrics, and for tests that must observe or hold a hash in progress.
    #[must_use]
    pub fn with_hash_hook(mut self, hook: impl Fn(&TokenId) + Send + Sync + 'static) -> Self {
        self.hash_hook = Some(Box::new(hook));
        self
    }

    /// The source this verifier reads.
    pub fn source(&self) -> &S {
        &self.source
    }

    /// The configuration in force.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// Creates a token hashed under [`VerifierConfig::argon2`]; store its id and hash, show
    /// its token once.
    ///
    /// # Errors
    /// [`HashError`] if the OS random number generator or argon2 fails.
    pub fn issue(&self) -> Result<IssuedToken, HashError> {
        IssuedToken::generate(&self.config.argon2)
    }

    /// Hashes a user's password ([`crate::hash_password`]) under [`VerifierConfig::argon2`],
    /// inside the same cap on concurrent hashes as token verification, so that writes carrying
    /// passwords can never take every core either. Blocks for a slot up to
    /// [`VerifierConfig::hash_wait`]; run it on a blocking thread.
    ///
    /// # Errors
    /// [`AuthError::Busy`] when no hashing slot frees up in time; [`AuthError::Source`] if the
    /// OS random number generator or argon2 fails.
    pub fn hash_password(&self, password: &str) -> Result<String, AuthError> {
        let Some(_permit) = self.permits.acquire(self.config.hash_wait) else {
            bump(&self.counters.busy);
            return Err(AuthError::Busy);
        };
        crate::hash_password(password, &self.config.argon2)
            .map_err(|error| AuthError::Source(format!("password hashing failed: {error}")))
    }

    /// Verifies the value of an `Authorization` header (`None` when the header is absent).
    ///
    /// # Errors
    /// As [`bearer_token`] and [`Verifier::verify`].
    pub fn verify_header<K: Hash + ?Sized>(
        &self,
        header_value: Option<&str>,
        client: &K,
    ) -> Result<AuthContext, AuthError>
    where
        S::Error: fmt::Display,
    {
        let token = bearer_token(header_value.ok_or(AuthError::Missing)?)?;
        self.verify(token, client)
    }

    /// Verifies a presented token for `client` (the key failures are counted under, e.g. the
    /// peer address; pass an IPv6 client's /64 prefix, not the whole address). May call the
    /// source and hash, so run it on a blocking thread; [`Verifier::verify_cached`] is the
    /// part that never blocks.
    ///
    /// # Errors
    /// The [`AuthError`] saying why the token was refused.
    pub fn verify<K: Hash + ?Sized>(
        &self,
        token: &str,
        client: &K,
    ) -> Result<AuthContext, AuthError>
    where
        S::Error: fmt::Display,
    {
        let client = self.throttle.key(client);
        match self.fast_path(token, client) {
            Step::Done(answer) => answer,
            Step::Slow(token, digest) => self.slow_path(&token, digest, client),
        }
    }

    /// The fast path alone: `Some` answer if memory decides, `None` if the source and a hash
    /// are needed, in which case call [`Verifier::verify`] on a blocking thread. Never hashes
    /// and never calls the source.
    pub fn verify_cached<K: Hash + ?Sized>(
        &self,
        token: &str,
        client: &K,
    ) -> Option<Result<AuthContext, AuthError>> {
        match self.fast_path(token, self.throttle.key(client)) {
            Step::Done(answer) => Some(answer),
            Step::Slow(..) => None,
        }
    }

    /// Drops a token from the verified cache, so a revocation made by this process takes
    /// effect here at once rather than within the cache TTL.
    pub fn forget(&self, id: &TokenId) {
        lock(&self.verified).remove(id);
    }

    /// Drains the last-used times recorded since the previous call, for the server to write
    /// to its store in one periodic batch instead of once per request.
    pub fn take_last_used(&self) -> Vec<(TokenId, SystemTime)> {
        lock(&self.last_used).drain().collect()
    }

    /// Counters and sizes.
    pub fn stats(&self) -> VerifierStats {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        VerifierStats {
            cache_hits: read(&self.counters.cache_hits),
            negative_hits: read(&self.counters.negative_hits),
            source_lookups: read(&self.counters.source_lookups),
            hashes: read(&self.counters.hashes),
            throttled: read(&self.counters.throttled),
            busy: read(&self.counters.busy),
            cached_tokens: lock(&self.verified).len(),
            rejected_entries: lock(&self.rejected).len(),
            tracked_clients: self.throttle.tracked(),
        }
    }

    fn fast_path(&self, raw: &str, client: ClientKey) -> Step {
        if raw.is_empty() {
            return Step::Done(Err(AuthError::Missing));
        }
        let now = self.clock.instant();
        let parsed = Token::parse(raw).map(|token| {
            let digest = token.secret().digest();
            (token, digest)
        });
        let mut known_bad = None;
        if let Ok((token, digest)) = &parsed {
            match self.lookup_verified(token.id(), digest, now) {
                Cached::Accepted(context) => {
                    bump(&self.counters.cache_hits);
                    return Step::Done(Ok(context));
                }
                Cached::Refused(rejection) => known_bad = Some(rejection),
                Cached::Miss => {}
            }
        }
        if let Err(retry_after) = self.throttle.check(client, now) {
            bump(&self.counters.throttled);
            return Step::Done(Err(AuthError::Throttled { retry_after }));
        }
        let (token, digest) = match parsed {
            Ok(parsed) => parsed,
            Err(error) => {
                self.throttle.record_failure(client, now);
                return Step::Done(Err(AuthError::Malformed(error)));
            }
        };
        if let Some(rejection) = known_bad {
            return Step::Done(Err(self.reject(&token, digest, rejection, client, now)));
        }
        let negative = lock(&self.rejected)
            .get_mut(&(token.id().clone(), digest), now)
            .map(|slot| slot.value);
        if let Some(rejection) = negative {
            bump(&self.counters.negative_hits);
            self.throttle.record_failure(client, now);
            return Step::Done(Err(rejection.into()));
        }
        Step::Slow(token, digest)
    }

    fn slow_path(
        &self,
        token: &Token,
        digest: SecretDigest,
        client: ClientKey,
    ) -> Result<AuthContext, AuthError>
    where
        S::Error: fmt::Display,
    {
        let id = token.id();
        // The TTL counts from before the read, so a cached verdict is never older than it says.
        let read_at = self.clock.instant();
        bump(&self.counters.source_lookups);
        let row = match self.source.find(id) {
            Ok(Some(row)) => row,
            Ok(None) => {
                return Err(self.reject(token, digest, Rejection::Unknown, client, read_at))
            }
            Err(error) => {
                let message = error.to_string();
                tracing::warn!(token_id = %id, error = %message, "token source lookup failed");
                return Err(AuthError::Source(message));
            }
        };
        if row.id != *id {
            tracing::error!(token_id = %id, returned = %row.id, "token source returned another row");
            return Err(AuthError::Source(format!(
                "lookup of token {id} returned token {}",
                row.id
            )));
        }
        if row.revoked {
            return Err(self.reject(token, digest, Rejection::Revoked, client, read_at));
        }
        if expired(row.expires_at, self.clock.now()) {
            return Err(self.reject(token, digest, Rejection::Expired, client, read_at));
        }

        let Some(_permit) = self.permits.acquire(self.config.hash_wait) else {
            bump(&self.counters.busy);
            tracing::debug!(token_id = %id, "every hashing slot is taken");
            return Err(AuthError::Busy);
        };
        // While this request waited for a slot, another may have verified the same token.
        match self.lookup_verified(id, &digest, self.clock.instant()) {
            Cached::Accepted(context) => {
                bump(&self.counters.cache_hits);
                return Ok(context);
            }
            Cached::Refused(rejection) => {
                return Err(self.reject(token, digest, rejection, client, self.clock.instant()))
            }
            Cached::Miss => {}
        }
        if let Some(hook) = &self.hash_hook {
            hook(id);
        }
        bump(&self.counters.hashes);
        match verify_secret(token.secret(), &row.phc_hash) {
            Ok(true) => {
                let now = self.clock.instant();
                lock(&self.verified).insert(
                    id.clone(),
                    Verified {
                        digest,
                        org_id: row.org_id,
                        expires_at: row.expires_at,
                    },
                    later(read_at, self.config.cache_ttl),
                    now,
                );
                self.record_use(id);
                tracing::debug!(token_id = %id, org_id = row.org_id, "token verified");
                Ok(AuthContext {
                    org_id: row.org_id,
                    token_id: id.clone(),
                })
            }
            Ok(false) => Err(self.reject(
                token,
                digest,
                Rejection::Invalid,
                client,
                self.clock.instant(),
            )),
            Err(error) => {
                tracing::error!(token_id = %id, %error, "stored token hash is unusable");
                Err(AuthError::Source(format!(
                    "stored hash of token {id} is unusable: {error}"
                )))
            }
        }
    }

    /// Answers from the verified cache. A secret that differs from the verified one is
    /// certainly wrong (a token's secret never changes), so it is refused without hashing.
    fn lookup_verified(&self, id: &TokenId, digest: &SecretDigest, now: Instant) -> Cached {
        let mut verified = lock(&self.verified);
        let Some(slot) = verified.get_mut(id, now) else {
            return Cached::Miss;
        };
        if !slot.value.digest.ct_eq(digest) {
            return Cached::Refused(Rejection::Invalid);
        }
        if expired(slot.value.expires_at, self.clock.now()) {
            verified.remove(id);
            return Cached::Refused(Rejection::Expired);
        }
        let org_id = slot.value.org_id;
        drop(verified);
        self.record_use(id);
        Cached::Accepted(AuthContext {
            org_id,
            token_id: id.clone(),
        })
    }

    /// Counts a failure, remembers the pair as bad, and says why.
    fn reject(
        &self,
        token: &Token,
        digest: SecretDigest,
        rejection: Rejection,
        client: ClientKey,
        now: Instant,
    ) -> AuthError {
        tracing::debug!(token_id = %token.id(), reason = ?rejection, "token refused");
        self.throttle.record_failure(client, now);
        lock(&self.rejected).insert(
            (token.id().clone(), digest),
            rejection,
            later(now, self.config.negative_ttl),
            now,
        );
        rejection.into()
    }

    fn record_use(&self, id: &TokenId) {
        let now = self.clock.now();
        let cap = self.config.max_cache_entries.max(1024);
        let mut last_used = lock(&self.last_used);
        if let Some(at) = last_used.get_mut(id) {
            *at = now;
        } else if last_used.len() < cap {
            last_used.insert(id.clone(), now);
        } else {
            tracing::debug!(token_id = %id, "last-used map full; dropping this use until the next flush");
        }
    }
}
