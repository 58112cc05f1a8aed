//! One connection type for both backends, how a URL picks the backend, and the r2d2 plumbing.
//!
//! Why `#[derive(diesel::MultiConnection)]` rather than an enum of per-backend pools: tried on
//! diesel 2.2, it carries everything this crate needs through one type — r2d2 pooling (the derive
//! implements `R2D2Connection`), transactions (its transaction manager delegates to the inner
//! connection's, so savepoints and SQLite's `BEGIN IMMEDIATE` work, see [`write_transaction`]),
//! typed selects/single-row inserts/updates/deletes, and `diesel::sql_query(..).into_boxed()` with
//! any number of `.bind()`s decided at run time (what the filter→SQL translator needs). What the
//! multi backend cannot express — `RETURNING`, `ON CONFLICT`, multi-row `VALUES` — is compiled
//! once per concrete backend with `dialect::each_backend!`, which matches on the variant; that
//! keeps a single pool and a single connection type in every signature.
//!
//! We do not use the derive's `Connection::establish`, which tries each backend in turn with the
//! same string (so a mistyped PostgreSQL URL could end up as the name of a new SQLite file):
//! [`DatabaseUrl`] parses the scheme first and [`ConnectionManager`] opens exactly that backend.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(feature = "sqlite")]
use diesel::connection::AnsiTransactionManager;
use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::r2d2::R2D2Connection;
use diesel::Connection;
#[cfg(feature = "postgres")]
use diesel::PgConnection;
#[cfg(feature = "sqlite")]
use diesel::SqliteConnection;

use crate::dialect::Dialect;
use crate::events;
use crate::writers::WriterQueue;
use crate::{StoreError, TransactionError};

#[cfg(not(any(feature = "postgres", feature = "sqlite")))]
compile_error!("scim-store needs at least one backend: enable the `postgres` or `sqlite` feature");

// The derive cannot take `#[cfg]` on a variant, so each set of backends gets its own definition.

/// The diesel connection underneath a [`DbConnection`]. Outside this crate it is reachable only
/// with the `unstable-diesel` feature, which carries no semver promise.
#[cfg(all(feature = "postgres", feature = "sqlite"))]
#[derive(diesel::MultiConnection)]
pub enum RawConnection {
    /// PostgreSQL.
    Pg(PgConnection),
    /// SQLite.
    Sqlite(SqliteConnection),
}

/// The diesel connection underneath a [`DbConnection`] (see the two-backend definition).
#[cfg(all(feature = "postgres", not(feature = "sqlite")))]
#[derive(diesel::MultiConnection)]
pub enum RawConnection {
    /// PostgreSQL.
    Pg(PgConnection),
}

/// The diesel connection underneath a [`DbConnection`] (see the two-backend definition).
#[cfg(all(feature = "sqlite", not(feature = "postgres")))]
#[derive(diesel::MultiConnection)]
pub enum RawConnection {
    /// SQLite.
    Sqlite(SqliteConnection),
}

/// A connection to the database, of either backend; every query function of this crate takes
/// one. Get it from [`crate::Store::get`] or from the closure of [`crate::Store::transaction`].
///
/// It is opaque on purpose: the driver underneath is this crate's business, so it can change
/// without breaking callers. What a caller may need beyond the query functions is here:
/// [`DbConnection::dialect`], [`DbConnection::batch_execute`] and [`DbConnection::query_plan`].
pub struct DbConnection {
    raw: RawConnection,
}

impl DbConnection {
    /// The SQL dialect of this connection's backend.
    pub fn dialect(&self) -> Dialect {
        match self.raw {
            #[cfg(feature = "postgres")]
            RawConnection::Pg(_) => Dialect::Postgres,
            #[cfg(feature = "sqlite")]
            RawConnection::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Runs one or more SQL statements separated by `;` that return no rows: DDL of the
    /// caller's own tables, `ANALYZE`, a setting. Inside a [`crate::Store::transaction`] they
    /// are part of it.
    ///
    /// # Errors
    /// [`StoreError`] as the database reports it.
    pub fn batch_execute(&mut self, sql: &str) -> Result<(), StoreError> {
        Ok(self.raw.batch_execute(sql)?)
    }

    /// The backend's plan for `sql`, one line per entry, for diagnostics: on PostgreSQL
    /// `EXPLAIN (ANALYZE, BUFFERS)`, which runs the statement; on SQLite `EXPLAIN QUERY PLAN`.
    ///
    /// # Errors
    /// [`StoreError`] as the database reports it, e.g. for a statement that does not parse.
    pub fn query_plan(&mut self, sql: &str) -> Result<Vec<String>, StoreError> {
        crate::dialect::query_plan(self, sql)
    }

    /// The diesel connection underneath, for this crate's queries.
    pub(crate) fn raw(&mut self) -> &mut RawConnection {
        &mut self.raw
    }

    /// The diesel connection underneath, for tests and diagnostics that need SQL this crate
    /// does not offer. Only with the `unstable-diesel` feature: neither the driver nor its
    /// version is part of this crate's API, and either may change in any release.
    #[cfg(feature = "unstable-diesel")]
    pub fn diesel(&mut self) -> &mut RawConnection {
        &mut self.raw
    }
}

impl fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DbConnection")
            .field(&self.dialect())
            .finish()
    }
}

/// A parsed database URL: which backend, and what to hand its driver.
///
/// Accepted forms:
/// - `postgres://…` and `postgresql://…`: a libpq connection URI, passed on unchanged (so
///   `?sslmode=require`, `host=/run/postgresql` socket directories etc. work as libpq documents);
/// - `sqlite://PATH` and `sqlite:PATH`: an SQLite file at `PATH`, created if missing; the path is
///   taken literally (`sqlite://data/scim.db` is relative to the working directory,
///   `sqlite:///var/lib/scim/scim.db` is absolute);
/// - `sqlite::memory:` (also `sqlite://:memory:`): a private in-memory database, lost when the
///   store is dropped. All of the pool shares one connection, since each SQLite connection to
///   `:memory:` would otherwise see its own empty database.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A PostgreSQL connection URI.
    Postgres(String),
    /// An SQLite database file.
    SqliteFile(String),
    /// An in-memory SQLite database.
    SqliteMemory,
}

impl DatabaseUrl {
    /// Parses a database URL; see the type's documentation for the accepted forms.
    ///
    /// # Errors
    /// [`StoreError::Config`] for an unknown scheme, an empty SQLite path, or a backend this
    /// build was compiled without.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let parsed = Self::parse_any(url)?;
        let dialect = parsed.dialect();
        if !dialect.is_compiled() {
            return Err(StoreError::Config(format!(
                "this build has no {dialect} backend: build scim-store with the `{}` feature",
                dialect.cargo_feature()
            )));
        }
        Ok(parsed)
    }

    /// [`DatabaseUrl::parse`] without asking whether this build has the backend.
    fn parse_any(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            return match path {
                ":memory:" => Ok(DatabaseUrl::SqliteMemory),
                "" => Err(StoreError::Config(
                    "the sqlite url names no file (sqlite://PATH or sqlite::memory:)".into(),
                )),
                // With SQLITE_OPEN_URI (which diesel sets) a name starting with `file:` would be
                // read as an SQLite URI with its own options; we promise a literal path.
                path if path.starts_with("file:") => Err(StoreError::Config(
                    "sqlite paths starting with `file:` are not accepted; use sqlite://PATH".into(),
                )),
                path => Ok(DatabaseUrl::SqliteFile(path.to_owned())),
            };
        }
        Err(StoreError::Config(
            "unsupported database url: expected postgres://…, postgresql://…, sqlite://PATH or \
             sqlite::memory:"
                .into(),
        ))
    }

    /// The dialect of the backend this URL selects.
    pub fn dialect(&self) -> Dialect {
        match self {
            DatabaseUrl::Postgres(_) => Dialect::Postgres,
            DatabaseUrl::SqliteFile(_) | DatabaseUrl::SqliteMemory => Dialect::Sqlite,
        }
    }
}

// A PostgreSQL URL may carry a password: never print it.
impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Postgres(_) => f.write_str("Postgres(<redacted>)"),
            DatabaseUrl::SqliteFile(path) => f.debug_tuple("SqliteFile").field(path).finish(),
            DatabaseUrl::SqliteMemory => f.write_str("SqliteMemory"),
        }
    }
}

/// The r2d2 connection manager: opens connections to the backend of one [`DatabaseUrl`].
#[derive(Debug)]
pub(crate) struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    /// A manager for `url`.
    pub(crate) fn new(url: DatabaseUrl) -> Self {
        ConnectionManager { url }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        let raw = match &self.url {
            #[cfg(feature = "postgres")]
            DatabaseUrl::Postgres(url) => PgConnection::establish(url).map(RawConnection::Pg),
            #[cfg(feature = "sqlite")]
            DatabaseUrl::SqliteFile(path) => {
                SqliteConnection::establish(path).map(RawConnection::Sqlite)
            }
            #[cfg(feature = "sqlite")]
            DatabaseUrl::SqliteMemory => {
                SqliteConnection::establish(":memory:").map(RawConnection::Sqlite)
            }
            // `DatabaseUrl::parse` refuses a backend this build lacks; a URL built by hand
            // still gets an error rather than a panic.
            #[allow(unreachable_patterns)]
            other => Err(diesel::ConnectionError::BadConnection(format!(
                "this build of scim-store has no {} backend (cargo feature `{}`)",
                other.dialect(),
                other.dialect().cargo_feature()
            ))),
        };
        raw.map(|raw| DbConnection { raw })
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.raw.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.raw.is_broken()
    }
}

/// Per-connection settings, applied to every connection the pool opens: SQLite keeps
/// `foreign_keys` and `busy_timeout` per connection, and the PostgreSQL timeouts are session
/// settings, so setting them once is not enough.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(all(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) struct SessionSettings {
    pub(crate) sqlite_busy_timeout: Duration,
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) lock_timeout: Option<Duration>,
    pub(crate) idle_in_transaction_timeout: Option<Duration>,
}

#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
impl SessionSettings {
    /// The `SET` statements of the PostgreSQL timeouts that are configured.
    fn postgres_sql(&self) -> String {
        [
            ("statement_timeout", self.statement_timeout),
            ("lock_timeout", self.lock_timeout),
            (
                "idle_in_transaction_session_timeout",
                self.idle_in_transaction_timeout,
            ),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value.map(|value| format!("SET {name} = {};", postgres_millis(value)))
        })
        .collect()
    }
}

/// `duration` in whole milliseconds for a PostgreSQL timeout setting, rounded up: PostgreSQL
/// reads 0 as "no timeout", so a timeout under a millisecond must not become 0.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
fn postgres_millis(duration: Duration) -> u128 {
    let millis =
        duration.as_millis() + u128::from(!duration.subsec_nanos().is_multiple_of(1_000_000));
    // The settings are 32-bit integers of milliseconds; past that is "never" in practice.
    millis.min(i32::MAX as u128)
}

impl r2d2::CustomizeConnection<DbConnection, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        match &mut conn.raw {
            #[cfg(feature = "sqlite")]
            RawConnection::Sqlite(conn) => {
                // busy_timeout first, so that switching to WAL waits for a concurrent opener
                // instead of failing with SQLITE_BUSY. WAL lets readers run beside the single
                // writer; on an in-memory database SQLite keeps its own journal mode and
                // ignores the request.
                let millis = self.sqlite_busy_timeout.as_millis().min(i32::MAX as u128);
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {millis}; PRAGMA journal_mode = WAL; \
                     PRAGMA foreign_keys = ON;"
                ))
            }
            // A statement that runs away, a lock wait behind someone else's long transaction, or
            // a transaction left open by a stuck request would otherwise hold a pooled
            // connection (and its locks) for as long as it takes: PostgreSQL has no such limits
            // by default.
            #[cfg(feature = "postgres")]
            RawConnection::Pg(conn) => {
                let sql = self.postgres_sql();
                if sql.is_empty() {
                    return Ok(());
                }
                conn.batch_execute(&sql)
            }
        }
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// How many times a transaction runs at most when PostgreSQL aborts it to resolve a conflict
/// with a concurrent one (a deadlock, a serialization failure): the first run and two more.
const TRANSACTION_ATTEMPTS: u32 = 3;

/// Runs `f` in a transaction meant for writing, committing if it returns `Ok`.
///
/// On SQLite the outermost transaction is `BEGIN IMMEDIATE`: it takes the write lock up front
/// (waiting up to `busy_timeout`), whereas a deferred transaction that reads and then writes
/// fails at once with SQLITE_BUSY when another connection wrote in between. Nested calls use a
/// savepoint, as `Connection::transaction` does.
///
/// The outermost transaction is run again, up to [`TRANSACTION_ATTEMPTS`] in all, when it fails
/// with a [transaction conflict](StoreError::is_transaction_conflict): PostgreSQL rolled it
/// back whole, so running `f` again from the start is what PostgreSQL asks of the client. `f`
/// must therefore be safe to run more than once (it only gets a rolled-back connection back).
/// A nested call is not retried on its own: its outer transaction was aborted with it.
pub(crate) fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnMut(&mut DbConnection) -> Result<T, E>,
    E: TransactionError,
{
    queued_write_transaction(conn, None, f)
}

/// Runs `f` atomically inside the caller's transaction: as a savepoint, so that when `f` fails
/// only its own writes are rolled back and the transaction goes on. Outside any transaction it
/// is a transaction of its own (as `Store::transaction` runs one). Lets a caller that makes many
/// independent writes in one transaction (a bulk request) keep each of them all-or-nothing.
///
/// A transaction conflict (a deadlock, a serialization failure) aborts the whole outer
/// transaction on PostgreSQL whatever the savepoints: return it from the outer closure so
/// that [`crate::Store::transaction`] runs it again.
///
/// # Errors
/// Whatever `f` returns, or a [`StoreError`] from making or releasing the savepoint.
pub fn savepoint<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnMut(&mut DbConnection) -> Result<T, E>,
    E: TransactionError,
{
    write_transaction(conn, f)
}

/// [`write_transaction`], the outermost SQLite transaction waiting for its turn in `writers`
/// first (see [`crate::writers`]).
pub(crate) fn queued_write_transaction<T, E, F>(
    conn: &mut DbConnection,
    writers: Option<&WriterQueue>,
    mut f: F,
) -> Result<T, E>
where
    F: FnMut(&mut DbConnection) -> Result<T, E>,
    E: TransactionError,
{
    if in_transaction(conn) {
        // Already inside a transaction: a savepoint, and the outer transaction owns retrying.
        // The events it recorded go if it is rolled back.
        let mark = events::deferred_mark(conn);
        let result = diesel_transaction(conn, f);
        if result.is_err() {
            events::forget_deferred_since(conn, mark);
        }
        return result;
    }
    let mut attempt = 1;
    loop {
        match outermost_transaction(conn, writers, &mut f) {
            Err(error)
                if attempt < TRANSACTION_ATTEMPTS
                    && error
                        .as_store_error()
                        .is_some_and(StoreError::is_transaction_conflict) =>
            {
                retry_pause(attempt);
                attempt += 1;
            }
            result => return result,
        }
    }
}

/// Waits a little before running a transaction again. Run at once, the victim of a deadlock
/// can take its first lock back before the transaction that won has taken the lock it was
/// waiting for (PostgreSQL does not queue row locks fairly), and the two deadlock again; a pause
/// lets the winner finish. Jittered, so two victims do not come back in step.
fn retry_pause(attempt: u32) {
    let jitter = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::from(since.subsec_nanos() % 20_000));
    std::thread::sleep(
        Duration::from_millis(10 * u64::from(attempt)) + Duration::from_micros(jitter),
    );
}

/// Whether `conn` is inside a transaction. A transaction manager in error (a broken
/// connection) counts as inside, so that diesel's own transaction call reports the error.
fn in_transaction(conn: &mut DbConnection) -> bool {
    <RawConnection as Connection>::TransactionManager::transaction_manager_status_mut(&mut conn.raw)
        .transaction_depth()
        .map_or(true, |depth| depth.is_some())
}

fn outermost_transaction<T, E, F>(
    conn: &mut DbConnection,
    writers: Option<&WriterQueue>,
    f: &mut F,
) -> Result<T, E>
where
    F: FnMut(&mut DbConnection) -> Result<T, E>,
    E: TransactionError,
{
    // The events are written last, just before the commit (see `events::record_all`).
    #[cfg_attr(not(feature = "sqlite"), allow(unused_mut))]
    let mut body = |conn: &mut DbConnection| events::deferring(conn, &mut *f);
    #[cfg(feature = "sqlite")]
    #[allow(irrefutable_let_patterns)]
    if let RawConnection::Sqlite(sqlite) = &mut conn.raw {
        // Held until the transaction has committed or rolled back.
        let _turn = writers.map(WriterQueue::wait_turn).transpose()?;
        AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")
            .map_err(StoreError::from)?;
        return run_and_finish(conn, &mut body);
    }
    let _ = writers;
    diesel_transaction(conn, body)
}

/// What diesel's `Connection::transaction` does (a savepoint when nested), for a closure that
/// takes the store's connection and whose error type need not absorb diesel's.
fn diesel_transaction<T, E, F>(conn: &mut DbConnection, mut f: F) -> Result<T, E>
where
    F: FnMut(&mut DbConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    <RawConnection as Connection>::TransactionManager::begin_transaction(&mut conn.raw)
        .map_err(StoreError::from)?;
    run_and_finish(conn, &mut f)
}

// The commit/rollback half of diesel's `TransactionManager::transaction`, for a transaction
// begun by the caller.
fn run_and_finish<T, E, F>(conn: &mut DbConnection, f: &mut F) -> Result<T, E>
where
    F: FnMut(&mut DbConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    type Manager = <RawConnection as Connection>::TransactionManager;
    match f(conn) {
        Ok(value) => {
            Manager::commit_transaction(&mut conn.raw).map_err(StoreError::from)?;
            Ok(value)
        }
        Err(user_error) => match Manager::rollback_transaction(&mut conn.raw) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(user_error),
            Err(rollback_error) => Err(StoreError::from(rollback_error).into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_url_forms() {
        assert_eq!(
            DatabaseUrl::parse("postgres://u:p@h/db").unwrap(),
            DatabaseUrl::Postgres("postgres://u:p@h/db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://h/db").unwrap().dialect(),
            Dialect::Postgres
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/scim.db").unwrap(),
            DatabaseUrl::SqliteFile("data/scim.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/scim.db").unwrap(),
            DatabaseUrl::SqliteFile("/var/lib/scim.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:scim.db").unwrap(),
            DatabaseUrl::SqliteFile("scim.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite::memory:").unwrap(),
            DatabaseUrl::SqliteMemory
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://:memory:").unwrap(),
            DatabaseUrl::SqliteMemory
        );
    }

    #[test]
    fn rejects_unknown_and_empty_urls() {
        for url in [
            "",
            "mysql://h/db",
            "scim.db",
            "sqlite://",
            "sqlite:",
            "sqlite://file:x.db",
        ] {
            assert!(
                matches!(DatabaseUrl::parse(url), Err(StoreError::Config(_))),
                "{url:?} was accepted"
            );
        }
    }

    #[test]
    fn debug_never_shows_a_postgres_password() {
        let url = DatabaseUrl::parse("postgres://scim:hunter2@db/scim").unwrap();
        assert!(!format!("{url:?}").contains("hunter2"));
    }
}
