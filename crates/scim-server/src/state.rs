//! [`ScimState`]: what every handler shares — the store, the served schemas, the token verifier
//! and the configuration — and the token source the verifier reads through.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use actix_web::{web, HttpMessage, HttpRequest};
use scim_auth::{StoredToken, TokenId, TokenSource, Verifier, VerifierConfig};
use scim_model::schema::SchemaRegistry;
use scim_store::orgs::RateLimit;
use scim_store::{events, orgs, resources, tokens, DbConnection, OrgId, Store, StoreError};
use tokio::sync::Notify;

use crate::admin::{AdminTokenSource, AdminVerifier};
use crate::config::{ConfigError, ServerConfig};
use crate::cursor::{CursorKey, KeyCache};
use crate::error::ApiError;
use crate::forwarded::{self, Origin};
use crate::listen::{EventListener, Registration};
use crate::oauth::{AccessTokenCache, ClientVerifier};
use crate::observe::MountPath;
use crate::org_jobs::OrgJobs;
use crate::rate::RateLimiter;
use crate::resources::Endpoint;
use scim_store::resources::ResourceKind;

/// The built-in resource types this service has endpoints for. Discovery advertises exactly
/// these, the types declared in [`ServerConfig::declarations`], and the schemas they reference.
pub const SERVED_RESOURCE_TYPES: &[&str] = &["User", "Group"];

/// The token verifier the service uses.
pub type StoreVerifier = Verifier<StoreTokenSource>;

/// Reads token rows from the store for the verifier ([`scim_auth::TokenSource`]).
#[derive(Debug, Clone)]
pub struct StoreTokenSource {
    store: Store,
}

impl StoreTokenSource {
    /// A source over `store`.
    pub fn new(store: Store) -> Self {
        StoreTokenSource { store }
    }
}

impl TokenSource for StoreTokenSource {
    type Error = StoreError;

    fn find(&self, id: &TokenId) -> Result<Option<StoredToken>, StoreError> {
        let mut conn = self.store.get()?;
        Ok(
            tokens::find_by_id(&mut conn, id.as_str())?.map(|record| StoredToken {
                id: id.clone(),
                org_id: record.org.0,
                name: record.name,
                phc_hash: record.secret_hash,
                expires_at: record.expires_at,
                revoked: record.revoked_at.is_some(),
            }),
        )
    }
}

/// The service's shared state. Cheap to clone: everything is behind one `Arc`.
///
/// Handlers get it as `web::Data<ScimState>`.
#[derive(Clone)]
pub struct ScimState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    registry: Arc<SchemaRegistry>,
    /// An endpoint per resource type of `registry`, in its order.
    endpoints: Vec<&'static Endpoint>,
    verifier: Arc<StoreVerifier>,
    config: ServerConfig,
    org_jobs: Arc<OrgJobs>,
    background_started: AtomicBool,
    cursor_keys: KeyCache,
    admin_verifier: Arc<AdminVerifier>,
    client_verifier: Arc<ClientVerifier>,
    access_tokens: AccessTokenCache,
    /// Woken after every write this process commits: waiting feed requests read again.
    feed: Arc<Notify>,
    /// Woken after every write this process commits, and when a webhook is added or resumed.
    webhook_wake: Arc<Notify>,
    /// Organisations whose "managed by SCIM" flag is known to be set, so a write need not set it.
    managed: Mutex<HashSet<OrgId>>,
    /// Feed requests waiting now, per organisation.
    feed_waiters: Arc<Mutex<HashMap<OrgId, usize>>>,
    /// The embedding application's listeners ([`ScimState::add_listener`]).
    listeners: Mutex<Vec<Arc<Registration>>>,
    /// Each organisation's request bucket.
    rates: RateLimiter,
    /// Each organisation's settings as last read, and when.
    settings: Mutex<HashMap<OrgId, (OrgSettings, Instant)>>,
}

/// How long an organisation's settings are used before they are read again: the bound on how
/// late a change an operator makes (`scimd org set`) reaches a running server.
pub const ORG_SETTINGS_TTL: Duration = Duration::from_secs(10);

/// What a request of an organisation needs to know of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OrgSettings {
    /// Its rate limit, the server's default applied.
    pub(crate) rate_limit: Option<RateLimit>,
    /// Whether it runs under the strict interoperability profile.
    pub(crate) strict: bool,
}

/// Feed requests one organisation may have waiting at once (each holds an HTTP connection and
/// a task, never a database connection); beyond it a request is answered 429.
pub const MAX_FEED_WAITERS_PER_ORG: usize = 16;

/// Feed requests the whole process may have waiting at once.
pub const MAX_FEED_WAITERS: usize = 1_024;

/// A waiting feed request's place, given back when dropped.
pub(crate) struct FeedWaiter {
    waiters: Arc<Mutex<HashMap<OrgId, usize>>>,
    org: OrgId,
}

impl Drop for FeedWaiter {
    fn drop(&mut self) {
        let mut waiters = self.waiters.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = waiters.get_mut(&self.org) {
            *count -= 1;
            if *count == 0 {
                waiters.remove(&self.org);
            }
        }
    }
}

impl fmt::Debug for ScimState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScimState")
            .field("store", &self.inner.store)
            .field("verifier", &self.inner.verifier)
            .field("config", &self.inner.config)
            .field("org_db_jobs", &self.inner.org_jobs.per_org())
            .finish_non_exhaustive()
    }
}

impl ScimState {
    /// The state for a service on `store`, verifying tokens with `verifier` settings (its
    /// `cache_ttl` bounds how late a revocation made elsewhere takes effect). Without
    /// [`ServerConfig::max_org_db_jobs`], an organisation may run half of the store's
    /// connections at once (at least one).
    ///
    /// It reads the database once: when the declared unique or indexed attributes changed
    /// since the last start, their entries are rebuilt first ([`Store::reindex`]), waiting for
    /// the migration lock. Run [`Store::migrate`] before.
    ///
    /// # Errors
    /// [`ConfigError`] when `config` does not [validate](ServerConfig::validate), its
    /// declarations cannot be served, or the stored resources cannot be brought in line with
    /// them ([`ConfigError::Reindex`]: the database failed, or values now declared unique are
    /// already shared).
    pub fn new(
        store: Store,
        config: ServerConfig,
        verifier: VerifierConfig,
    ) -> Result<ScimState, ConfigError> {
        config.validate()?;
        let registry = config.declarations.apply(&served_registry())?;
        let endpoints: Vec<&'static Endpoint> = registry
            .resource_types()
            .map(|rt| Endpoint::of(rt, &config.declarations))
            .collect();
        let kinds: Vec<&ResourceKind> = endpoints.iter().map(|ep| ep.kind).collect();
        let rebuilt = store.reindex(&kinds).map_err(|error| {
            ConfigError::Reindex(match error {
                StoreError::ValueTaken { attribute } => format!(
                    "live resources already share a value of {attribute}, which is now declared \
                     unique; make the values unique, or declare `uniqueness: none`"
                ),
                other => other.to_string(),
            })
        })?;
        for rebuilt in rebuilt {
            tracing::info!(%rebuilt, "declared attributes indexed");
        }
        let admin_verifier = Verifier::new(AdminTokenSource::new(store.clone()), verifier.clone());
        let client_verifier = crate::oauth::client_verifier(&store, verifier.clone());
        let verifier = Verifier::new(StoreTokenSource::new(store.clone()), verifier);
        let half_the_pool = usize::try_from(store.pool_size() / 2).unwrap_or(usize::MAX);
        let org_jobs = OrgJobs::new(
            config.max_org_db_jobs.unwrap_or(half_the_pool).max(1),
            config.org_db_wait,
        );
        Ok(ScimState {
            inner: Arc::new(Inner {
                store,
                registry: Arc::new(registry),
                endpoints,
                verifier: Arc::new(verifier),
                org_jobs: Arc::new(org_jobs),
                config,
                background_started: AtomicBool::new(false),
                cursor_keys: KeyCache::default(),
                admin_verifier: Arc::new(admin_verifier),
                client_verifier,
                access_tokens: AccessTokenCache::default(),
                feed: Arc::new(Notify::new()),
                webhook_wake: Arc::new(Notify::new()),
                managed: Mutex::new(HashSet::new()),
                feed_waiters: Arc::new(Mutex::new(HashMap::new())),
                listeners: Mutex::new(Vec::new()),
                rates: RateLimiter::default(),
                settings: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The endpoint of every served resource type, built-in ones first.
    pub(crate) fn endpoints(&self) -> &[&'static Endpoint] {
        &self.inner.endpoints
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The schemas and resource types this service serves (see [`SERVED_RESOURCE_TYPES`]).
    pub fn registry(&self) -> &Arc<SchemaRegistry> {
        &self.inner.registry
    }

    /// The token verifier. A process that revokes a token should call
    /// [`Verifier::forget`] on it so the revocation takes effect here at once.
    pub fn verifier(&self) -> &Arc<StoreVerifier> {
        &self.inner.verifier
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The admin token verifier (admin API). A process that revokes an admin token should call
    /// [`Verifier::forget`] on it.
    pub fn admin_verifier(&self) -> &Arc<AdminVerifier> {
        &self.inner.admin_verifier
    }

    /// Adds a listener that is handed every event committed from now on, in order per
    /// organisation (see [`EventListener`] for the guarantees). Call it while setting the
    /// service up: it reads where each organisation's events stand, on this thread.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub fn add_listener(&self, listener: Arc<dyn EventListener>) -> Result<(), StoreError> {
        let registration = Registration::new(listener);
        let mut conn = self.store().get()?;
        registration.start_at(events::latest_seqs(&mut conn)?.into_iter().collect());
        drop(conn);
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(registration.clone());
        if self.inner.background_started.load(Ordering::Acquire) {
            registration.spawn(self);
        }
        Ok(())
    }

    /// `org`'s settings: from memory if read less than [`ORG_SETTINGS_TTL`] ago.
    pub(crate) async fn org_settings(&self, org: OrgId) -> Result<OrgSettings, ApiError> {
        let now = Instant::now();
        if let Some((settings, read)) = self
            .inner
            .settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&org)
        {
            if now.saturating_duration_since(*read) < ORG_SETTINGS_TTL {
                return Ok(*settings);
            }
        }
        let stored = self
            .blocking_with_conn(move |conn| Ok(orgs::by_id(conn, org)?))
            .await?
            .ok_or(StoreError::NotFound)?;
        let settings = OrgSettings {
            rate_limit: stored.rate_limit.or(self.config().rate_limit),
            strict: stored.strict_profile,
        };
        self.inner
            .settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(org, (settings, now));
        Ok(settings)
    }

    /// Lets a request of `org` in, or refuses it with 429 when `org` is over its rate limit.
    pub(crate) async fn admit(&self, org: OrgId) -> Result<OrgSettings, ApiError> {
        let settings = self.org_settings(org).await?;
        if let Some(limit) = settings.rate_limit {
            self.inner
                .rates
                .take(org, limit, Instant::now())
                .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
        }
        Ok(settings)
    }

    /// Forgets `org`'s settings, so the next request reads them afresh.
    pub(crate) fn forget_org_settings(&self, org: OrgId) {
        self.inner
            .settings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&org);
    }

    /// The verifier of OAuth client secrets (the token endpoint).
    pub fn client_verifier(&self) -> &Arc<ClientVerifier> {
        &self.inner.client_verifier
    }

    /// The access tokens checked lately.
    pub(crate) fn access_tokens(&self) -> &AccessTokenCache {
        &self.inner.access_tokens
    }

    /// Forgets what this process remembers of OAuth client `client` (its access tokens):
    /// call it after revoking the client here, so the revocation takes effect at once.
    pub fn forget_client(&self, client: &str) {
        self.inner.access_tokens.forget_client(client);
    }

    /// Sets the gauges and totals that are read rather than counted: pool connections, token
    /// verification, and feed requests waiting. Call it before rendering metrics.
    pub fn record_gauges(&self) {
        let (connections, idle) = self.store().pool_usage();
        metrics::gauge!("scim_db_pool_connections", "state" => "idle").set(f64::from(idle));
        metrics::gauge!("scim_db_pool_connections", "state" => "in_use")
            .set(f64::from(connections.saturating_sub(idle)));
        metrics::gauge!("scim_db_pool_max_connections").set(f64::from(self.store().pool_size()));
        let stats = self.verifier().stats();
        metrics::counter!("scim_token_hashes_total").absolute(stats.hashes);
        metrics::counter!("scim_token_cache_hits_total").absolute(stats.cache_hits);
        metrics::counter!("scim_token_hash_slots_busy_total").absolute(stats.busy);
        metrics::counter!("scim_token_throttled_total").absolute(stats.throttled);
        let waiting: usize = self
            .inner
            .feed_waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum();
        #[expect(
            clippy::cast_precision_loss,
            reason = "a count of waiting requests, far below 2^52"
        )]
        metrics::gauge!("scim_feed_waiting_requests").set(waiting as f64);
    }

    /// What waiting feed requests wait on.
    pub(crate) fn feed_signal(&self) -> Arc<Notify> {
        self.inner.feed.clone()
    }

    /// What the webhook worker waits on between rounds.
    pub(crate) fn webhook_signal(&self) -> Arc<Notify> {
        self.inner.webhook_wake.clone()
    }

    /// Wakes the webhook worker: there may be new work.
    pub(crate) fn wake_webhooks(&self) {
        self.inner.webhook_wake.notify_one();
    }

    /// A place for one more waiting feed request of `org`, if the caps allow.
    pub(crate) fn feed_waiter(&self, org: OrgId) -> Option<FeedWaiter> {
        let mut waiters = self
            .inner
            .feed_waiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let total: usize = waiters.values().sum();
        let count = waiters.entry(org).or_insert(0);
        if *count >= MAX_FEED_WAITERS_PER_ORG || total >= MAX_FEED_WAITERS {
            if *count == 0 {
                waiters.remove(&org);
            }
            return None;
        }
        *count += 1;
        Some(FeedWaiter {
            waiters: self.inner.feed_waiters.clone(),
            org,
        })
    }

    /// Forgets that `org`'s "managed by SCIM" flag is set (an operator changed it).
    pub(crate) fn forget_scim_managed(&self, org: OrgId) {
        self.inner
            .managed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&org);
    }

    fn knows_scim_managed(&self, org: OrgId) -> bool {
        self.inner
            .managed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&org)
    }

    /// The key that signs `org`'s cursors: from memory after the first use, else the one stored
    /// for the organisation, generated and stored by whichever replica needs it first.
    pub(crate) async fn cursor_key(&self, org: OrgId) -> Result<CursorKey, ApiError> {
        if let Some(key) = self.inner.cursor_keys.get(org) {
            return Ok(key);
        }
        let candidate = CursorKey::fresh_hex()?;
        let stored = self
            .with_conn(org, move |conn| {
                Ok(scim_store::paging::signing_key(conn, org, &candidate)?)
            })
            .await?;
        let key = stored
            .as_deref()
            .and_then(CursorKey::from_hex)
            .ok_or_else(|| {
                scim_model::error::ScimError::internal(format!(
                    "organisation {org} has no usable cursor key"
                ))
            })?;
        self.inner.cursor_keys.put(org, key.clone());
        Ok(key)
    }

    /// Runs `f` for organisation `org` with a pooled connection on a blocking thread: the way
    /// handlers reach the store, so no connection is held across an `.await`.
    ///
    /// `org` may run [`ServerConfig::max_org_db_jobs`] such jobs at once; beyond that this waits
    /// (holding no connection) for one of them to end, at most [`ServerConfig::org_db_wait`].
    /// So one organisation cannot take every connection of the pool from the others.
    ///
    /// # Errors
    /// Whatever `f` returns; [`ApiError::OrgBusy`] when `org`'s jobs stay busy for the wait;
    /// [`StoreError::Unavailable`] when no connection frees up in time;
    /// [`ApiError::Blocking`] when the thread pool fails.
    pub async fn with_conn<T, F>(&self, org: OrgId, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.inner.org_jobs.acquire(org).await?;
        self.blocking_with_conn(move |conn| {
            // Held until the job is done, even if the request is dropped meanwhile.
            let _permit = permit;
            f(conn)
        })
        .await
    }

    /// [`ScimState::with_conn`] outside any organisation's share, for the service's own work.
    async fn blocking_with_conn<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let store = self.store().clone();
        web::block(move || {
            let mut conn = store.get()?;
            f(&mut conn)
        })
        .await?
    }

    /// Runs `f` in one transaction on a blocking thread: committed if it returns `Ok`, rolled
    /// back otherwise (one request, one transaction). A transaction PostgreSQL aborts for a
    /// deadlock or a serialization failure runs again from the start ([`Store::transaction`]),
    /// so `f` may run more than once: it clones what it consumes.
    ///
    /// It counts as one of `org`'s database jobs, as [`ScimState::with_conn`] explains.
    ///
    /// # Errors
    /// As [`ScimState::with_conn`].
    ///
    /// It is for SCIM writes: the organisation's first one also marks it as managed by SCIM
    /// (`scim_store::orgs::note_scim_write`), and every commit wakes the change feed's waiting
    /// requests and the webhook worker.
    pub async fn transaction<T, F>(&self, org: OrgId, mut f: F) -> Result<T, ApiError>
    where
        F: FnMut(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.inner.org_jobs.acquire(org).await?;
        let store = self.store().clone();
        let note_managed = !self.knows_scim_managed(org);
        let value = web::block(move || {
            let _permit = permit;
            store.transaction(|conn| {
                let value = f(conn)?;
                if note_managed {
                    orgs::note_scim_write(conn, org)?;
                }
                Ok::<T, ApiError>(value)
            })
        })
        .await??;
        if note_managed {
            self.inner
                .managed
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(org);
        }
        metrics::counter!("scim_write_transactions_total").increment(1);
        self.inner.feed.notify_waiters();
        self.inner.webhook_wake.notify_one();
        for registration in self
            .inner
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            registration.mark(org);
        }
        Ok(value)
    }

    /// Runs `f` with a pooled connection on a blocking thread, outside every organisation's
    /// share: for the service's own background work.
    pub(crate) async fn service_conn<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.blocking_with_conn(f).await
    }

    /// Deletes the events older than [`ServerConfig::event_retention`], in every organisation
    /// (see `scim_store::events::prune`); returns how many. The service does this with the
    /// tombstone scrub.
    ///
    /// # Errors
    /// When the store fails; what was deleted before stays deleted.
    pub async fn prune_events(&self) -> Result<usize, ApiError> {
        let Some(retention) = self.config().event_retention else {
            return Ok(0);
        };
        let cutoff = SystemTime::now()
            .checked_sub(retention)
            .unwrap_or(UNIX_EPOCH);
        self.blocking_with_conn(move |conn| Ok(events::prune(conn, cutoff)?))
            .await
    }

    /// Writes the token last-use times gathered since the last flush; returns how many tokens
    /// changed. The service does this every [`ServerConfig::last_used_flush_interval`] on its
    /// own; call it at shutdown to keep the last few.
    ///
    /// # Errors
    /// When the store fails; the batch is then lost (it is only a last-use time).
    pub async fn flush_last_used(&self) -> Result<usize, ApiError> {
        let batch: Vec<(String, std::time::SystemTime)> = self
            .verifier()
            .take_last_used()
            .into_iter()
            .map(|(id, at)| (id.as_str().to_owned(), at))
            .collect();
        if batch.is_empty() {
            return Ok(0);
        }
        self.blocking_with_conn(move |conn| Ok(tokens::touch_last_used(conn, &batch)?))
            .await
    }

    /// Scrubs the tombstones deleted more than [`ServerConfig::tombstone_retention`] ago (see
    /// `scim_store::resources::scrub_tombstones`), in every organisation; returns how many. The
    /// service does this on its first authenticated request and every
    /// [`ServerConfig::tombstone_scrub_interval`] on its own.
    ///
    /// # Errors
    /// When the store fails; what was scrubbed before stays scrubbed.
    pub async fn scrub_tombstones(&self) -> Result<usize, ApiError> {
        let Some(retention) = self.config().tombstone_retention else {
            return Ok(0);
        };
        let cutoff = SystemTime::now()
            .checked_sub(retention)
            .unwrap_or(UNIX_EPOCH);
        self.blocking_with_conn(move |conn| Ok(resources::scrub_tombstones(conn, cutoff)?))
            .await
    }

    /// Starts the service's periodic work on the current runtime, once per state: the
    /// last-use flush and the tombstone scrub. The authentication middleware calls it, so a
    /// mounted service needs no setup step.
    pub(crate) fn ensure_background_tasks(&self) {
        self.start_background_tasks();
    }

    /// Starts the service's periodic work on the current runtime, once per state: the
    /// last-use flush, the tombstone scrub and event pruning, and the webhook worker
    /// ([`crate::WebhookConfig::enabled`]). The first authenticated request starts them too;
    /// a server calls this at start so pending webhooks are delivered before any request.
    pub fn start_background_tasks(&self) {
        if self.inner.background_started.swap(true, Ordering::AcqRel) {
            return;
        }
        self.spawn_flusher();
        if self.config().tombstone_retention.is_some() || self.config().event_retention.is_some() {
            self.spawn_scrubber();
        }
        if self.config().webhooks.enabled {
            actix_web::rt::spawn(crate::webhooks::run(self.clone()));
        }
        let listeners = self
            .inner
            .listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for registration in listeners {
            registration.spawn(self);
        }
    }

    fn spawn_scrubber(&self) {
        let state = self.clone();
        let every = self.config().tombstone_scrub_interval;
        actix_web::rt::spawn(async move {
            // The first tick is immediate: a server restarted more often than the interval
            // still scrubs.
            let mut ticks = actix_web::rt::time::interval(every);
            loop {
                ticks.tick().await;
                match state.scrub_tombstones().await {
                    Ok(0) => {}
                    Ok(scrubbed) => tracing::info!(scrubbed, "tombstones past retention scrubbed"),
                    Err(error) => tracing::warn!(%error, "could not scrub tombstones"),
                }
                match state.prune_events().await {
                    Ok(0) => {}
                    Ok(pruned) => tracing::info!(pruned, "events past retention deleted"),
                    Err(error) => tracing::warn!(%error, "could not delete old events"),
                }
                let expired = state
                    .service_conn(|conn| {
                        Ok(scim_store::oauth::prune_expired(conn, SystemTime::now())?)
                    })
                    .await;
                if let Err(error) = expired {
                    tracing::warn!(%error, "could not delete expired OAuth access tokens");
                }
            }
        });
    }

    fn spawn_flusher(&self) {
        let state = self.clone();
        let every = self.config().last_used_flush_interval;
        actix_web::rt::spawn(async move {
            let mut ticks = actix_web::rt::time::interval(every);
            // The first tick is immediate; there is nothing to flush yet.
            ticks.tick().await;
            loop {
                ticks.tick().await;
                match state.flush_last_used().await {
                    Ok(0) => {}
                    Ok(changed) => tracing::debug!(changed, "token last-use times written"),
                    Err(error) => {
                        tracing::warn!(%error, "could not write token last-use times");
                    }
                }
            }
        });
    }

    /// The service's public base URL for this request, without a trailing slash, e.g.
    /// `https://scim.example.com/scim/v2`: [`ServerConfig::base_url`] when set, else the
    /// request's scheme and host and the path the service is mounted at. A forwarded host and
    /// scheme (`Forwarded: host=…;proto=…`, `X-Forwarded-Host`, `X-Forwarded-Proto`) are
    /// followed only when the TCP peer is one of [`ServerConfig::trusted_proxies`].
    pub fn base_url(&self, req: &HttpRequest) -> String {
        if let Some(base) = self.config().fixed_base_url() {
            return base.to_owned();
        }
        let origin = match req.extensions().get::<Origin>() {
            Some(origin) => origin.clone(),
            None => forwarded::resolve(
                req.headers(),
                req.peer_addr().map(|addr| addr.ip()),
                self.config(),
            ),
        };
        let scheme = match origin.proto.as_deref() {
            Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
            Some(proto) if proto.eq_ignore_ascii_case("http") => "http",
            _ if req.app_config().secure() => "https",
            _ => "http",
        };
        let host = origin.host.unwrap_or_else(|| {
            req.headers()
                .get(actix_web::http::header::HOST)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
                .or_else(|| req.uri().authority().map(|a| a.as_str().to_owned()))
                .unwrap_or_else(|| req.app_config().host().to_owned())
        });
        // The host comes from the client: keep only what a host[:port] can hold, so a
        // location never carries a path, a query or markup someone slipped in.
        let host = if is_host(&host) {
            host
        } else {
            req.app_config().host().to_owned()
        };
        let mount = req
            .extensions()
            .get::<MountPath>()
            .map(|mount| mount.0.clone())
            .unwrap_or_default();
        format!("{scheme}://{host}{}", mount.trim_end_matches('/'))
    }

    /// The URL of `segments` below the base URL, each percent-encoded as a path segment: e.g.
    /// `location(req, &["Users", id])`.
    pub fn location(&self, req: &HttpRequest, segments: &[&str]) -> String {
        url_under(&self.base_url(req), segments)
    }
}

/// The URL of `segments` below `base`, each percent-encoded as a path segment.
pub(crate) fn url_under(base: &str, segments: &[&str]) -> String {
    let mut url = base.to_owned();
    for segment in segments {
        url.push('/');
        push_segment(&mut url, segment);
    }
    url
}

fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:[]_".contains(&b))
}

/// Appends `segment` percent-encoded as an RFC 3986 path segment (`pchar`s stay as they are, so
/// a schema URN keeps its colons).
fn push_segment(out: &mut String, segment: &str) {
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

/// The registry of [`SERVED_RESOURCE_TYPES`] and the schemas they reference, taken from the
/// standard one.
fn served_registry() -> SchemaRegistry {
    let standard = SchemaRegistry::standard();
    let mut served = SchemaRegistry::new();
    for resource_type in standard.resource_types().filter(|resource_type| {
        SERVED_RESOURCE_TYPES
            .iter()
            .any(|name| resource_type.name().eq_ignore_ascii_case(name))
    }) {
        for schema in resource_type.schemas() {
            if served.schema(schema.id()).is_none() {
                #[expect(
                    clippy::expect_used,
                    reason = "the built-in schemas are valid; a unit test registers them"
                )]
                served
                    .register_schema(schema.clone())
                    .expect("a built-in schema registers");
            }
        }
        #[expect(
            clippy::expect_used,
            reason = "the built-in resource types are valid; a unit test registers them"
        )]
        served
            .register_resource_type(resource_type.definition().clone())
            .expect("a built-in resource type registers");
    }
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_registry_has_exactly_the_served_types_and_their_schemas() {
        let registry = served_registry();
        let names: Vec<&str> = registry.resource_types().map(|rt| rt.name()).collect();
        assert_eq!(names, SERVED_RESOURCE_TYPES);
        let ids: Vec<&str> = registry.schemas().iter().map(|s| s.id()).collect();
        assert_eq!(
            ids,
            [
                scim_model::schema::USER,
                scim_model::schema::ENTERPRISE_USER,
                scim_model::schema::GROUP
            ]
        );
    }

    #[test]
    fn segments_are_percent_encoded() {
        let mut out = String::new();
        push_segment(&mut out, "urn:ietf:params:scim:schemas:core:2.0:User");
        assert_eq!(out, "urn:ietf:params:scim:schemas:core:2.0:User");
        let mut out = String::new();
        push_segment(&mut out, "a b/c?d#é");
        assert_eq!(out, "a%20b%2Fc%3Fd%23%C3%A9");
    }

    #[test]
    fn hosts_are_checked() {
        assert!(is_host("scim.example.com:8443"));
        assert!(is_host("[::1]:8080"));
        assert!(!is_host("evil.example/path"));
        assert!(!is_host("a b"));
        assert!(!is_host(""));
    }
}
