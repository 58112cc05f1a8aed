//! Checking presented tokens without an argon2 hash per request.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Instant, SystemTime};

use crate::bounded::{later, BoundedMap};
use crate::clock::{Clock, SystemClock};
use crate::config::VerifierConfig;
use crate::error::{AuthError, HashError};
use crate::hash::{verify_secret, IssuedToken};
use crate::permits::HashPermits;
use crate::source::{StoredToken, TokenSource};
use crate::throttle::{Throttle, ThrottleKey};
use crate::token::{bearer_token, PhcFingerprint, SecretDigest, Token, TokenId};

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
    /// Tokens accepted after reading their row again, without a hash, because their secret
    /// was proven earlier ([`VerifierConfig::known_good_ttl`]).
    pub known_good_hits: u64,
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
    /// Proven secrets now remembered.
    pub known_good_tokens: usize,
    /// Entries now in the negative cache.
    pub rejected_entries: usize,
    /// (client, token id) pairs whose failures are now tracked.
    pub tracked_pairs: usize,
    /// Clients whose hash-costing failures are now tracked.
    pub tracked_clients: usize,
}

#[derive(Default)]
struct Counters {
    cache_hits: AtomicU64,
    known_good_hits: AtomicU64,
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

/// A secret once proven by an argon2 hash, kept longer than the verified cache so that
/// re-checking the token after the cache lapses costs a row read and no hash.
#[derive(Clone, Copy)]
struct KnownGood {
    digest: SecretDigest,
    /// The stored hash the secret was proven against: the proof holds for that hash only.
    phc: PhcFingerprint,
}

/// What a remembered proof says about a presented secret, given the token's current row.
enum Proof {
    /// It is the proven secret, and the row still holds the hash it was proven against.
    Matches,
    /// The row still holds that hash but the secret differs: certainly wrong.
    Contradicts,
    /// Nothing is known (no proof, or the stored hash changed).
    Unknown,
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
///   every hit. Refusals known from memory (malformed token, negatively cached pair, throttled
///   client and token id) are answered here too.
/// - **Re-check** (one [`TokenSource::find`], no hash): once the cache entry lapses, a secret
///   proven within [`VerifierConfig::known_good_ttl`] is accepted again if the row is still
///   there, unrevoked, unexpired and holds the hash the secret was proven against.
/// - **Slow path** (otherwise): one [`TokenSource::find`], then argon2id. An unknown id, a
///   revoked or an expired row is refused without hashing; hashing runs only within
///   [`VerifierConfig::hash_concurrency`] slots, of which one client may hold half.
///
/// Revocation therefore takes effect within `cache_ttl` of the revoking write (default 60 s),
/// and at once in a process that calls [`Verifier::forget`]. Expiry takes effect at once.
///
/// # Throttling
///
/// Bad tokens must never lock out a good one, so failures are not counted per client alone.
/// RFC 6750 §3.1 makes every kind of bad token the same `invalid_token` ("expired, revoked,
/// malformed, or invalid for other reasons"), but they cost very different work:
///
/// - a malformed token or an unknown id costs no hash and is not counted at all: anyone can
///   make up millions, and counting them against an address would let one client lock out
///   every identity provider behind the same proxy;
/// - a wrong secret, a revoked or an expired token counts against the (client, token id) pair:
///   a client that keeps failing with token id X is refused X with [`AuthError::Throttled`],
///   without a lookup or a hash, and nothing else;
/// - a wrong secret that cost a hash also counts against the client, across token ids
///   ([`VerifierConfig::client_hash_failures_before_throttle`]): past that, the client gets no
///   more hashes, which bounds the argon2 work it can cause by rotating real token ids.
///
/// A proven secret passes both throttles: a token in the verified cache is accepted from
/// memory, and one remembered under `known_good_ttl` is re-checked without a hash. Accepting
/// them costs no hash and needs the real secret, so refusing them would only lock out a good
/// client that shares an address with a bad one.
pub struct Verifier<S, C = SystemClock> {
    source: S,
    clock: C,
    config: VerifierConfig,
    verified: Mutex<BoundedMap<TokenId, Verified>>,
    known_good: Mutex<BoundedMap<TokenId, KnownGood>>,
    rejected: Mutex<BoundedMap<(TokenId, SecretDigest), Rejection>>,
    last_used: Mutex<HashMap<TokenId, SystemTime>>,
    /// Keys the client keys and the (client, token id) keys with a per-process secret, so a
    /// client cannot choose keys that collide with another's.
    keys: RandomState,
    per_token: Throttle,
    per_client: Throttle,
    permits: HashPermits,
    password_permits: HashPermits,
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

/// Who is asking: the client's key, and the key of the client with the presented token id.
#[derive(Clone, Copy)]
struct Caller {
    client: ThrottleKey,
    pair: ThrottleKey,
}

/// The outcome of the fast path: an answer, or the parsed token for the source.
enum Step {
    Done(Result<AuthContext, AuthError>),
    Slow(Token, SecretDigest, Caller),
}

impl<S: TokenSource, C: Clock> Verifier<S, C> {
    /// A verifier over `source` that reads time from `clock`.
    pub fn with_clock(source: S, config: VerifierConfig, clock: C) -> Self {
        Verifier {
            verified: Mutex::new(BoundedMap::new(config.max_cache_entries)),
            known_good: Mutex::new(BoundedMap::new(config.max_cache_entries)),
            rejected: Mutex::new(BoundedMap::new(config.max_cache_entries)),
            last_used: Mutex::new(HashMap::new()),
            keys: RandomState::new(),
            per_token: Throttle::new(&config, config.failures_before_throttle),
            per_client: Throttle::new(&config, config.client_hash_failures_before_throttle),
            permits: HashPermits::new(config.hash_concurrency, config.max_hash_waiters),
            password_permits: HashPermits::new(
                config.password_hash_concurrency,
                config.max_hash_waiters,
            ),
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
    /// in slots of its own ([`VerifierConfig::password_hash_concurrency`]), apart from token
    /// verification's: writes carrying passwords never make a token check wait, and `caller`
    /// (an organisation) holds at most half of the password slots. Blocks for a slot up to
    /// [`VerifierConfig::password_hash_wait`]; run it on a blocking thread.
    ///
    /// # Errors
    /// [`AuthError::Busy`] when no slot frees up in time; [`AuthError::Source`] if the OS random
    /// number generator or argon2 fails.
    pub fn hash_password<K: Hash + ?Sized>(
        &self,
        caller: &K,
        password: &str,
    ) -> Result<String, AuthError> {
        let caller = self.client_key(caller).0;
        let wait = self.config.password_hash_wait;
        let Some(_permit) = self.password_permits.acquire(Some(caller), wait) else {
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
        match self.fast_path(token, self.client_key(client)) {
            Step::Done(answer) => answer,
            Step::Slow(token, digest, caller) => self.slow_path(&token, digest, caller),
        }
    }

    /// The fast path alone: `Some` answer if memory decides, `None` if the source (and perhaps
    /// a hash) is needed, in which case call [`Verifier::verify`] on a blocking thread. Never
    /// hashes and never calls the source.
    pub fn verify_cached<K: Hash + ?Sized>(
        &self,
        token: &str,
        client: &K,
    ) -> Option<Result<AuthContext, AuthError>> {
        match self.fast_path(token, self.client_key(client)) {
            Step::Done(answer) => Some(answer),
            Step::Slow(..) => None,
        }
    }

    /// Drops a token from the verified cache and forgets its proven secret, so a revocation
    /// made by this process takes effect here at once rather than within the cache TTL.
    pub fn forget(&self, id: &TokenId) {
        lock(&self.verified).remove(id);
        lock(&self.known_good).remove(id);
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
            known_good_hits: read(&self.counters.known_good_hits),
            negative_hits: read(&self.counters.negative_hits),
            source_lookups: read(&self.counters.source_lookups),
            hashes: read(&self.counters.hashes),
            throttled: read(&self.counters.throttled),
            busy: read(&self.counters.busy),
            cached_tokens: lock(&self.verified).len(),
            known_good_tokens: lock(&self.known_good).len(),
            rejected_entries: lock(&self.rejected).len(),
            tracked_pairs: self.per_token.tracked(),
            tracked_clients: self.per_client.tracked(),
        }
    }

    fn client_key<K: Hash + ?Sized>(&self, client: &K) -> ThrottleKey {
        ThrottleKey(self.keys.hash_one(client))
    }

    fn caller(&self, client: ThrottleKey, id: &TokenId) -> Caller {
        Caller {
            client,
            pair: ThrottleKey(self.keys.hash_one((client.0, id.as_str()))),
        }
    }

    fn fast_path(&self, raw: &str, client: ThrottleKey) -> Step {
        if raw.is_empty() {
            return Step::Done(Err(AuthError::Missing));
        }
        // Not counted: a malformed token names no token and costs nothing to refuse.
        let token = match Token::parse(raw) {
            Ok(token) => token,
            Err(error) => return Step::Done(Err(AuthError::Malformed(error))),
        };
        let digest = token.secret().digest();
        let caller = self.caller(client, token.id());
        let now = self.clock.instant();
        let known_bad = match self.lookup_verified(token.id(), &digest, now) {
            Cached::Accepted(context) => {
                bump(&self.counters.cache_hits);
                return Step::Done(Ok(context));
            }
            Cached::Refused(rejection) => Some(rejection),
            Cached::Miss => None,
        };
        if known_bad.is_none() && self.is_known_good(token.id(), &digest, now) {
            // The proven secret: only the row needs reading, whatever the throttles say.
            return Step::Slow(token, digest, caller);
        }
        // Before a refusal known from memory, so a throttled client learns nothing more.
        if let Err(retry_after) = self.per_token.check(caller.pair, now) {
            bump(&self.counters.throttled);
            return Step::Done(Err(AuthError::Throttled { retry_after }));
        }
        if let Some(rejection) = known_bad {
            let error = self.reject(&token, digest, rejection, Some(caller), now);
            return Step::Done(Err(error));
        }
        let negative = lock(&self.rejected)
            .get_mut(&(token.id().clone(), digest), now)
            .map(|slot| slot.value);
        if let Some(rejection) = negative {
            bump(&self.counters.negative_hits);
            if rejection != Rejection::Unknown {
                self.per_token.record_failure(caller.pair, now);
            }
            return Step::Done(Err(rejection.into()));
        }
        Step::Slow(token, digest, caller)
    }

    fn slow_path(
        &self,
        token: &Token,
        digest: SecretDigest,
        caller: Caller,
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
                lock(&self.known_good).remove(id);
                // Not counted against anyone: see "Throttling" above.
                return Err(self.reject(token, digest, Rejection::Unknown, None, read_at));
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
            lock(&self.known_good).remove(id);
            let rejection = Rejection::Revoked;
            return Err(self.reject(token, digest, rejection, Some(caller), read_at));
        }
        if expired(row.expires_at, self.clock.now()) {
            lock(&self.known_good).remove(id);
            let rejection = Rejection::Expired;
            return Err(self.reject(token, digest, rejection, Some(caller), read_at));
        }

        let phc = PhcFingerprint::of(&row.phc_hash);
        match self.proof(id, &digest, phc, read_at) {
            Proof::Matches => {
                bump(&self.counters.known_good_hits);
                tracing::debug!(token_id = %id, org_id = row.org_id, "token re-checked without a hash");
                return Ok(self.accept(&row, digest, phc, read_at));
            }
            Proof::Contradicts => {
                let rejection = Rejection::Invalid;
                return Err(self.reject(token, digest, rejection, Some(caller), read_at));
            }
            Proof::Unknown => {}
        }

        // A hash is needed: the throttles apply here even to a request that passed them as a
        // proven secret and found its proof stale.
        self.check_throttles(caller)?;
        let Some(_permit) = self
            .permits
            .acquire(Some(caller.client.0), self.config.hash_wait)
        else {
            bump(&self.counters.busy);
            tracing::debug!(token_id = %id, "no hashing slot for this client");
            return Err(AuthError::Busy);
        };
        // While this request waited for a slot, another may have verified the same token.
        match self.lookup_verified(id, &digest, self.clock.instant()) {
            Cached::Accepted(context) => {
                bump(&self.counters.cache_hits);
                return Ok(context);
            }
            Cached::Refused(rejection) => {
                let now = self.clock.instant();
                return Err(self.reject(token, digest, rejection, Some(caller), now));
            }
            Cached::Miss => {}
        }
        // And failures that finished meanwhile may have used up this client's hashes: a burst
        // admitted at once would otherwise all be hashed.
        self.check_throttles(caller)?;
        if let Some(hook) = &self.hash_hook {
            hook(id);
        }
        bump(&self.counters.hashes);
        match verify_secret(token.secret(), &row.phc_hash) {
            Ok(true) => {
                tracing::debug!(token_id = %id, org_id = row.org_id, "token verified");
                Ok(self.accept(&row, digest, phc, read_at))
            }
            Ok(false) => {
                let now = self.clock.instant();
                self.per_client.record_failure(caller.client, now);
                Err(self.reject(token, digest, Rejection::Invalid, Some(caller), now))
            }
            Err(error) => {
                tracing::error!(token_id = %id, %error, "stored token hash is unusable");
                Err(AuthError::Source(format!(
                    "stored hash of token {id} is unusable: {error}"
                )))
            }
        }
    }

    /// `Err(Throttled)` while the client may not have a hash, or not for this token id.
    fn check_throttles(&self, caller: Caller) -> Result<(), AuthError> {
        let now = self.clock.instant();
        let refused = self
            .per_token
            .check(caller.pair, now)
            .and_then(|()| self.per_client.check(caller.client, now));
        refused.map_err(|retry_after| {
            bump(&self.counters.throttled);
            AuthError::Throttled { retry_after }
        })
    }

    /// Caches the verdict for `row` (read at `read_at`) and remembers, or re-confirms, the
    /// proven secret.
    fn accept(
        &self,
        row: &StoredToken,
        digest: SecretDigest,
        phc: PhcFingerprint,
        read_at: Instant,
    ) -> AuthContext {
        let now = self.clock.instant();
        lock(&self.verified).insert(
            row.id.clone(),
            Verified {
                digest,
                org_id: row.org_id,
                expires_at: row.expires_at,
            },
            later(read_at, self.config.cache_ttl),
            now,
        );
        // The lifetime restarts at each confirmation: a token in use keeps its proof, and
        // only one idle for `known_good_ttl` is hashed again.
        lock(&self.known_good).insert(
            row.id.clone(),
            KnownGood { digest, phc },
            later(now, self.config.known_good_ttl),
            now,
        );
        self.record_use(&row.id);
        AuthContext {
            org_id: row.org_id,
            token_id: row.id.clone(),
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
            drop(verified);
            lock(&self.known_good).remove(id);
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

    /// Whether `digest` is the proven secret of `id`, whatever its row now says.
    fn is_known_good(&self, id: &TokenId, digest: &SecretDigest, now: Instant) -> bool {
        lock(&self.known_good)
            .get_mut(id, now)
            .is_some_and(|slot| slot.value.digest.ct_eq(digest))
    }

    /// What the proven secret of `id` says about `digest`, given the row's hash `phc`.
    fn proof(
        &self,
        id: &TokenId,
        digest: &SecretDigest,
        phc: PhcFingerprint,
        now: Instant,
    ) -> Proof {
        let mut known_good = lock(&self.known_good);
        let Some(slot) = known_good.get_mut(id, now) else {
            return Proof::Unknown;
        };
        if slot.value.phc != phc {
            known_good.remove(id);
            return Proof::Unknown;
        }
        if slot.value.digest.ct_eq(digest) {
            Proof::Matches
        } else {
            // Another secret hashing to the same stored hash would be an argon2 collision.
            Proof::Contradicts
        }
    }

    /// Remembers the pair as bad, counts the failure against `caller`'s (client, token id)
    /// when given, and says why.
    fn reject(
        &self,
        token: &Token,
        digest: SecretDigest,
        rejection: Rejection,
        caller: Option<Caller>,
        now: Instant,
    ) -> AuthError {
        tracing::debug!(token_id = %token.id(), reason = ?rejection, "token refused");
        if let Some(caller) = caller {
            self.per_token.record_failure(caller.pair, now);
        }
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
