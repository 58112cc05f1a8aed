//! [`Store`]: the connection pool, migrations and transactions.

use std::time::Duration;

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::connection::{
    write_transaction, ConnectionManager, DatabaseUrl, DbConnection, SqlitePragmas,
};
use crate::dialect::{self, Dialect};
use crate::StoreError;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// A connection checked out of the [`Store`]'s pool; it goes back when dropped.
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// Pool settings. [`Default`] suits a small server; every field can be tuned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most connections open at once (≥ 1). Ignored for `sqlite::memory:`, which has one.
    pub max_size: u32,
    /// Idle connections kept ready; `None` keeps `max_size`.
    pub min_idle: Option<u32>,
    /// How long [`Store::get`] waits for a connection before answering
    /// [`StoreError::Unavailable`] (> 0).
    pub connection_timeout: Duration,
    /// Idle connections above `min_idle` are closed after this long.
    pub idle_timeout: Option<Duration>,
    /// Connections are closed after this long, so server-side changes (fail-over, settings)
    /// reach every connection eventually.
    pub max_lifetime: Option<Duration>,
    /// SQLite only: how long a statement waits for another connection's write lock before
    /// failing (as [`StoreError::Unavailable`]).
    pub sqlite_busy_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_size: 10,
            min_idle: Some(1),
            connection_timeout: Duration::from_secs(5),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
            sqlite_busy_timeout: Duration::from_secs(5),
        }
    }
}

/// The store: a pool of connections to one database. Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: r2d2::Pool<ConnectionManager>,
    dialect: Dialect,
}

impl Store {
    /// Opens a pool on the database `url` names (see [`DatabaseUrl`] for the accepted forms)
    /// and checks that it answers. Does not migrate: call [`Store::migrate`].
    ///
    /// # Errors
    /// [`StoreError::Config`] for a URL or pool setting this crate does not accept;
    /// [`StoreError::Unavailable`] when no connection could be opened within
    /// `connection_timeout`.
    pub fn connect(url: &str, config: PoolConfig) -> Result<Self, StoreError> {
        let url = DatabaseUrl::parse(url)?;
        if config.max_size == 0 {
            return Err(StoreError::Config(
                "pool max_size must be at least 1".into(),
            ));
        }
        if config.min_idle.is_some_and(|min| min > config.max_size) {
            return Err(StoreError::Config(
                "pool min_idle must not exceed max_size".into(),
            ));
        }
        if config.connection_timeout.is_zero() {
            return Err(StoreError::Config(
                "pool connection_timeout must be positive".into(),
            ));
        }
        let dialect = url.dialect();
        let mut builder = r2d2::Pool::builder()
            .max_size(config.max_size)
            .min_idle(config.min_idle)
            .connection_timeout(config.connection_timeout)
            .idle_timeout(config.idle_timeout)
            .max_lifetime(config.max_lifetime)
            .connection_customizer(Box::new(SqlitePragmas {
                busy_timeout: config.sqlite_busy_timeout,
            }));
        if url == DatabaseUrl::SqliteMemory {
            // The database lives exactly as long as its one connection: never close it.
            builder = builder
                .max_size(1)
                .min_idle(Some(1))
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let pool = builder.build(ConnectionManager::new(url))?;
        Ok(Store { pool, dialect })
    }

    /// The SQL dialect of this store's backend.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// A connection from the pool.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when none frees up within the pool's `connection_timeout`.
    pub fn get(&self) -> Result<PooledConnection, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` in one transaction on a pooled connection: committed if `f` returns `Ok`, rolled
    /// back otherwise. The store's own functions called inside join it (as savepoints).
    ///
    /// # Errors
    /// Whatever `f` returns, or a [`StoreError`] from checking out, beginning or committing.
    pub fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E>,
        E: From<StoreError> + From<diesel::result::Error>,
    {
        let mut conn = self.get()?;
        write_transaction(&mut conn, f)
    }

    /// Applies the migrations this build embeds that the database lacks, and returns their
    /// versions. Safe to run from several processes at once on PostgreSQL (they take turns).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] without a connection, [`StoreError::Other`] when a migration
    /// fails (it is rolled back).
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.get()?;
        dialect::with_migration_lock(&mut conn, |conn| {
            let applied = match conn {
                DbConnection::Pg(pg) => pg.run_pending_migrations(POSTGRES_MIGRATIONS),
                DbConnection::Sqlite(sqlite) => sqlite.run_pending_migrations(SQLITE_MIGRATIONS),
            }
            .map_err(StoreError::Other)?;
            Ok(applied.iter().map(ToString::to_string).collect())
        })
    }
}
