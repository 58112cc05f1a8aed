//! A counting token source, cheap argon2 parameters and a manual clock.

use std::convert::Infallible;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use scim_auth::{
    argon2, IssuedToken, ManualClock, MemoryTokenSource, StoredToken, TokenId, TokenSource,
    Verifier, VerifierConfig,
};

/// argon2 parameters cheap enough for tests (8 KiB, one pass).
pub fn cheap_params() -> argon2::Params {
    argon2::Params::new(8, 1, 1, None).unwrap()
}

/// The default configuration with cheap hashing and one hashing slot that does not wait.
pub fn test_config() -> VerifierConfig {
    VerifierConfig {
        argon2: cheap_params(),
        hash_concurrency: 1,
        hash_wait: Duration::ZERO,
        ..VerifierConfig::default()
    }
}

/// A [`TokenSource`] over [`MemoryTokenSource`] that counts calls and can be made to fail.
#[derive(Default)]
pub struct CountingSource {
    pub rows: MemoryTokenSource,
    pub calls: AtomicUsize,
    pub failing: AtomicBool,
}

#[derive(Debug)]
pub struct StoreDown;

impl fmt::Display for StoreDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection refused")
    }
}

impl CountingSource {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl TokenSource for CountingSource {
    type Error = StoreDown;

    fn find(&self, id: &TokenId) -> Result<Option<StoredToken>, StoreDown> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreDown);
        }
        self.rows
            .find(id)
            .map_err(|never: Infallible| match never {})
    }
}

/// A verifier on a manual clock over a counting source, with `config`.
pub struct Harness {
    pub source: Arc<CountingSource>,
    pub clock: Arc<ManualClock>,
    pub verifier: Verifier<Arc<CountingSource>, Arc<ManualClock>>,
}

impl Harness {
    pub fn new(config: VerifierConfig) -> Self {
        let source = Arc::new(CountingSource::default());
        let clock = Arc::new(ManualClock::new());
        let verifier = Verifier::with_clock(Arc::clone(&source), config, Arc::clone(&clock));
        Harness {
            source,
            clock,
            verifier,
        }
    }

    /// Issues a token for `org_id` and stores its row; returns the full token string.
    pub fn add_token(&self, org_id: i64, expires_at: Option<SystemTime>) -> (TokenId, String) {
        let issued = IssuedToken::generate(&cheap_params()).unwrap();
        self.source.rows.insert(StoredToken {
            id: issued.id().clone(),
            org_id,
            name: format!("token of org {org_id}"),
            phc_hash: issued.phc_hash().to_owned(),
            expires_at,
            revoked: false,
        });
        (issued.id().clone(), issued.expose_token().to_owned())
    }

    /// The manual clock's wall time.
    pub fn clock_now(&self) -> SystemTime {
        scim_auth::Clock::now(&*self.clock)
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }
}

/// `token` with its secret replaced by another well-formed one.
pub fn with_wrong_secret(token: &str) -> String {
    let (head, secret) = token.rsplit_once('_').unwrap();
    let mut wrong: Vec<u8> = secret.bytes().collect();
    wrong[0] = if wrong[0] == b'A' { b'B' } else { b'A' };
    format!("{head}_{}", String::from_utf8(wrong).unwrap())
}

/// `token` with a fresh random secret: a different wrong secret each call, so each one misses
/// the negative cache and costs a hash.
pub fn with_random_secret(token: &str) -> String {
    let (head, _) = token.rsplit_once('_').unwrap();
    let other = scim_auth::Token::generate().unwrap();
    format!("{head}_{}", other.secret().expose_secret())
}

/// A well-formed token whose id is in no store.
pub fn unknown_token() -> String {
    scim_auth::Token::generate().unwrap().expose().to_string()
}
