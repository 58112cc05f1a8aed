//! [`Store`]: the connection pool, migrations and transactions.

use std::sync::Arc;
use std::time::Duration;

use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use r2d2::ManageConnection as _;

use crate::connection::{
    queued_write_transaction, ConnectionManager, DatabaseUrl, DbConnection, RawConnection,
    SessionSettings,
};
use crate::dialect::{self, Dialect};
use crate::resources::ResourceKind;
use crate::values;
use crate::writers::WriterQueue;
use crate::{StoreError, TransactionError};

#[cfg(feature = "postgres")]
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
#[cfg(feature = "sqlite")]
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// A connection checked out of the [`Store`]'s pool; it goes back when dropped. It derefs to
/// the [`DbConnection`] that the query functions take.
pub struct PooledConnection(r2d2::PooledConnection<ConnectionManager>);

impl std::ops::Deref for PooledConnection {
    type Target = DbConnection;

    fn deref(&self) -> &DbConnection {
        &self.0
    }
}

impl std::ops::DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.0
    }
}

impl std::fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PooledConnection").field(&*self.0).finish()
    }
}

/// Pool settings. [`Default`] suits a small server; every field can be tuned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Most connections open at once (≥ 1). Ignored for `sqlite::memory:`, which has one.
    pub max_size: u32,
    /// Idle connections kept ready; `None` keeps `max_size`.
    pub min_idle: Option<u32>,
    /// How long [`Store::get`] waits for a connection before answering
    /// [`StoreError::Unavailable`] (> 0); on an SQLite file, also how long a writer waits for
    /// its turn among this store's writers (see [`Store::transaction`]).
    pub connection_timeout: Duration,
    /// Idle connections above `min_idle` are closed after this long.
    pub idle_timeout: Option<Duration>,
    /// Connections are closed after this long, so server-side changes (fail-over, settings)
    /// reach every connection eventually.
    pub max_lifetime: Option<Duration>,
    /// SQLite only: how long a statement waits for another connection's write lock before
    /// failing (as [`StoreError::Unavailable`]). Writers of this store do not meet each other
    /// there (they queue in process first, see [`Store::transaction`]), so this is the wait for
    /// writers in other processes.
    pub sqlite_busy_timeout: Duration,
    /// PostgreSQL only: the longest a statement may run before the server cancels it
    /// (`statement_timeout`), answered as [`StoreError::Unavailable`]. `None` leaves the
    /// server's own setting (postgresql.conf, `ALTER ROLE … SET`); `Some(Duration::ZERO)`
    /// turns the limit off. Default: 10 s.
    pub statement_timeout: Option<Duration>,
    /// PostgreSQL only: the longest a statement waits for a lock — a row another transaction is
    /// writing, an organisation's outbox lock — before the server cancels it (`lock_timeout`),
    /// answered as [`StoreError::Unavailable`]. `None` and zero as for `statement_timeout`.
    /// Default: 5 s.
    pub lock_timeout: Option<Duration>,
    /// PostgreSQL only: a session that stays idle inside an open transaction this long is ended
    /// by the server (`idle_in_transaction_session_timeout`), releasing its locks. `None` and
    /// zero as for `statement_timeout`. Default: 30 s.
    pub idle_in_transaction_timeout: Option<Duration>,
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
            statement_timeout: Some(Duration::from_secs(10)),
            lock_timeout: Some(Duration::from_secs(5)),
            idle_in_transaction_timeout: Some(Duration::from_secs(30)),
        }
    }
}

/// The store: a pool of connections to one database. Cheap to clone; clones share the pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: r2d2::Pool<ConnectionManager>,
    dialect: Dialect,
    url: DatabaseUrl,
    /// The writers' queue of an SQLite file database (see [`crate::writers`]); an in-memory
    /// database has one connection, and PostgreSQL locks rows, not the database.
    writers: Option<Arc<WriterQueue>>,
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
            // No round trip per checkout. A connection that died while pooled (a database
            // restart) fails the one job it is lent next, which diesel notices (libpq's
            // transaction status becomes unknown), so the pool drops it on return.
            .test_on_check_out(false)
            .max_size(config.max_size)
            .min_idle(config.min_idle)
            .connection_timeout(config.connection_timeout)
            .idle_timeout(config.idle_timeout)
            .max_lifetime(config.max_lifetime)
            .connection_customizer(Box::new(SessionSettings {
                sqlite_busy_timeout: config.sqlite_busy_timeout,
                statement_timeout: config.statement_timeout,
                lock_timeout: config.lock_timeout,
                idle_in_transaction_timeout: config.idle_in_transaction_timeout,
            }));
        if url == DatabaseUrl::SqliteMemory {
            // The database lives exactly as long as its one connection: never close it.
            builder = builder
                .max_size(1)
                .min_idle(Some(1))
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let writers = matches!(url, DatabaseUrl::SqliteFile(_))
            .then(|| Arc::new(WriterQueue::new(config.connection_timeout)));
        let pool = builder.build(ConnectionManager::new(url.clone()))?;
        Ok(Store {
            pool,
            dialect,
            url,
            writers,
        })
    }

    /// The SQL dialect of this store's backend.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The most connections the pool holds at once.
    pub fn pool_size(&self) -> u32 {
        self.pool.max_size()
    }

    /// The connections the pool holds now, and how many of them are idle (the rest are lent).
    pub fn pool_usage(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// A connection from the pool.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when none frees up within the pool's `connection_timeout`.
    pub fn get(&self) -> Result<PooledConnection, StoreError> {
        Ok(PooledConnection(self.pool.get()?))
    }

    /// Runs `f` in one transaction on a pooled connection: committed if `f` returns `Ok`, rolled
    /// back otherwise. The store's own functions called inside join it (as savepoints).
    ///
    /// When PostgreSQL aborts the transaction to resolve a conflict with a concurrent one (a
    /// deadlock, a serialization failure: [`StoreError::is_transaction_conflict`]), `f` runs
    /// again in a new transaction, up to three times in all — so `f` must be safe to run more
    /// than once: clone what it consumes. On an SQLite file, writers of this store take turns in
    /// arrival order before they ask SQLite for its write lock (`BEGIN IMMEDIATE`), rather than
    /// racing for it in SQLite's busy handler.
    ///
    /// # Errors
    /// Whatever `f` returns, or a [`StoreError`] from checking out, beginning or committing;
    /// [`StoreError::Unavailable`] when no connection, or no turn among the writers, came within
    /// `connection_timeout`.
    pub fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnMut(&mut DbConnection) -> Result<T, E>,
        E: TransactionError,
    {
        let mut conn = self.get()?;
        queued_write_transaction(&mut conn, self.writers.as_deref(), f)
    }

    /// Applies the migrations this build embeds that the database lacks, and returns their
    /// versions. Safe to run from several processes at once on PostgreSQL (they take turns).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] without a connection, [`StoreError::Other`] when a migration
    /// fails (it is rolled back).
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        self.under_migration_lock(|conn| {
            let applied = match conn.raw() {
                #[cfg(feature = "postgres")]
                RawConnection::Pg(pg) => pg.run_pending_migrations(POSTGRES_MIGRATIONS),
                #[cfg(feature = "sqlite")]
                RawConnection::Sqlite(sqlite) => sqlite.run_pending_migrations(SQLITE_MIGRATIONS),
            }
            .map_err(StoreError::Other)?;
            let mut done: Vec<String> = applied.iter().map(ToString::to_string).collect();
            done.extend(values::reindex(conn)?);
            Ok(done)
        })
    }

    /// Brings the attribute–value index and the unique-value claims of `kinds` in line with
    /// what each declares (see [`ResourceKind::extended`], [`ResourceKind::declared`]): a kind
    /// whose indexed or unique attributes changed since the last call has them rebuilt from its
    /// live resources. A server calls it at start, after [`Store::migrate`], with the kinds it
    /// serves; returns what was rebuilt. Under the migration lock, so replicas take turns.
    ///
    /// # Errors
    /// [`StoreError::ValueTaken`] when live resources already share a value of an attribute
    /// now declared unique; [`StoreError::Unavailable`] or [`StoreError::Other`] otherwise.
    pub fn reindex(&self, kinds: &[&ResourceKind]) -> Result<Vec<String>, StoreError> {
        self.under_migration_lock(|conn| values::reindex_kinds(conn, kinds, true))
    }

    /// Runs `f` holding the migration lock. On PostgreSQL, on a connection of its own, without
    /// the pool's timeouts: a migration or a rebuild may rewrite a large table, and waiting for
    /// another replica's is the point of the lock. An in-memory SQLite database exists only on
    /// its pooled connection.
    fn under_migration_lock<T>(
        &self,
        f: impl FnMut(&mut DbConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut own;
        let mut pooled;
        let conn: &mut DbConnection = if let DatabaseUrl::Postgres(_) = self.url {
            own = ConnectionManager::new(self.url.clone())
                .connect()
                .map_err(|error| StoreError::Unavailable(error.into()))?;
            &mut own
        } else {
            pooled = self.get()?;
            &mut pooled
        };
        dialect::with_migration_lock(conn, f)
    }

    /// Every migration this build embeds, oldest first, with whether the database has it; and
    /// the versions the database has that this build does not know (a newer build migrated
    /// it).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] without a connection, [`StoreError::Other`] when the
    /// migrations table cannot be read.
    pub fn migration_status(&self) -> Result<MigrationStatus, StoreError> {
        let mut conn = self.get()?;
        let (known, applied) = match conn.raw() {
            #[cfg(feature = "postgres")]
            RawConnection::Pg(pg) => (
                embedded_versions::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS)?,
                pg.applied_migrations().map_err(StoreError::Other)?,
            ),
            #[cfg(feature = "sqlite")]
            RawConnection::Sqlite(sqlite) => (
                embedded_versions::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS)?,
                sqlite.applied_migrations().map_err(StoreError::Other)?,
            ),
        };
        let applied: Vec<String> = applied.iter().map(ToString::to_string).collect();
        let unknown = applied
            .iter()
            .filter(|version| !known.iter().any(|(v, _)| v == *version))
            .cloned()
            .collect();
        let migrations = known
            .into_iter()
            .map(|(version, name)| {
                let done = applied.contains(&version);
                (name, done)
            })
            .collect();
        Ok(MigrationStatus {
            migrations,
            unknown,
        })
    }

    /// Reverts the newest migration the database has (its `down.sql`) and returns its name;
    /// `None` when it has none. For development: the data the migration added goes.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] without a connection, [`StoreError::Other`] when it fails
    /// (it is rolled back).
    pub fn revert_last_migration(&self) -> Result<Option<String>, StoreError> {
        if self
            .migration_status()?
            .migrations
            .iter()
            .all(|(_, done)| !done)
        {
            return Ok(None);
        }
        let mut conn = self.get()?;
        let reverted = match conn.raw() {
            #[cfg(feature = "postgres")]
            RawConnection::Pg(pg) => pg.revert_last_migration(POSTGRES_MIGRATIONS),
            #[cfg(feature = "sqlite")]
            RawConnection::Sqlite(sqlite) => sqlite.revert_last_migration(SQLITE_MIGRATIONS),
        }
        .map_err(StoreError::Other)?;
        Ok(Some(reverted.to_string()))
    }
}

/// What [`Store::migration_status`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Each migration this build embeds, oldest first: its name and whether it is applied.
    pub migrations: Vec<(String, bool)>,
    /// Applied versions this build does not embed.
    pub unknown: Vec<String>,
}

impl MigrationStatus {
    /// Whether the database has exactly what this build expects: nothing pending.
    pub fn is_current(&self) -> bool {
        self.migrations.iter().all(|(_, done)| *done)
    }
}

/// The (version, name) of each migration of `source`, oldest first.
fn embedded_versions<DB: diesel::backend::Backend>(
    source: &EmbeddedMigrations,
) -> Result<Vec<(String, String)>, StoreError>
where
    EmbeddedMigrations: diesel::migration::MigrationSource<DB>,
{
    let mut found: Vec<(String, String)> =
        diesel::migration::MigrationSource::<DB>::migrations(source)
            .map_err(StoreError::Other)?
            .iter()
            .map(|migration| {
                let name = migration.name().to_string();
                (migration.name().version().to_string(), name)
            })
            .collect();
    found.sort();
    Ok(found)
}
