//! Everything that differs between PostgreSQL and SQLite, in one place: placeholders, JSON
//! functions, row locks, the outbox lock, how each reports a unique violation, and the
//! `each_backend!` macro that compiles a diesel query once per backend for what diesel's multi
//! backend cannot express (`RETURNING`, `ON CONFLICT`, multi-row `VALUES`).
//!
//! Upserts need no entry of their own: both backends accept `INSERT … ON CONFLICT (…) DO
//! NOTHING / DO UPDATE`, which diesel renders the same way for each once the query goes through
//! `each_backend!`.
//!
//! Dynamic SQL (the filter→SQL translator's output, listings) is built as a [`SqlFragment`]: SQL
//! text interleaved with bound values, rendered into one backend's placeholders (`$1, $2, …` or
//! `?`) only when it runs, so fragments compose without renumbering.

use std::fmt;

use diesel::query_builder::{AstPass, BoxedSqlQuery, Query, QueryFragment, QueryId, SqlQuery};
use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind};
#[cfg(feature = "postgres")]
use diesel::sql_types::Integer;
use diesel::sql_types::{BigInt, Bool, Double, Nullable, Text, Untyped};
use diesel::RunQueryDsl;

#[cfg(feature = "postgres")]
use crate::connection::RawConnection;
use crate::connection::{write_transaction, DbConnection, MultiBackend};
use crate::error::UniqueField;
use crate::{OrgId, StoreError};

/// Runs `$body` with `$c` bound to the concrete connection inside a [`DbConnection`], so the
/// query in `$body` is type-checked and rendered for PostgreSQL and for SQLite separately.
macro_rules! each_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn.raw() {
            #[cfg(feature = "postgres")]
            $crate::connection::RawConnection::Pg($c) => $body,
            #[cfg(feature = "sqlite")]
            $crate::connection::RawConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use each_backend;

/// The SQL dialect of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        })
    }
}

impl Dialect {
    /// The cargo feature of this crate that compiles the backend in.
    pub fn cargo_feature(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// Whether this build of the crate has the backend (see [`Dialect::cargo_feature`]).
    pub fn is_compiled(self) -> bool {
        match self {
            Dialect::Postgres => cfg!(feature = "postgres"),
            Dialect::Sqlite => cfg!(feature = "sqlite"),
        }
    }

    /// The placeholder for the `n`th bound value (1-based): `$n` on PostgreSQL, `?` on SQLite.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite => "?".to_owned(),
        }
    }

    /// An SQL expression for the text of the JSON string at `path` inside `column`, a column or
    /// expression holding JSON text (such as the `search` column of `users`), or SQL `NULL` when
    /// there is none. Path segments are bound as values, never spliced into the SQL.
    ///
    /// Meant for JSON strings: for numbers and booleans PostgreSQL gives their JSON text and
    /// SQLite gives an SQL number, so compare those through dedicated expressions.
    ///
    /// `column` is trusted SQL. Returns `None` when a segment cannot be expressed as an SQLite
    /// JSON path (it contains `"`), which no SCIM attribute name does.
    pub fn json_text(self, column: &str, path: &[&str]) -> Option<SqlFragment> {
        let mut sql = SqlFragment::new();
        match self {
            Dialect::Postgres => {
                sql.push_sql("jsonb_extract_path_text(CAST(")
                    .push_sql(column)
                    .push_sql(" AS jsonb)");
                for segment in path {
                    sql.push_sql(", ").push_bind(*segment);
                }
                sql.push_sql(")");
            }
            Dialect::Sqlite => {
                let mut json_path = String::from("$");
                for segment in path {
                    if segment.contains('"') {
                        return None;
                    }
                    json_path.push_str(".\"");
                    json_path.push_str(segment);
                    json_path.push('"');
                }
                sql.push_sql("json_extract(")
                    .push_sql(column)
                    .push_sql(", ")
                    .push_bind(json_path)
                    .push_sql(")");
            }
        }
        Some(sql)
    }

    /// An aggregate of `column`'s text values into a JSON array, as text: `[]` when there are
    /// no rows.
    pub(crate) fn json_array_agg(self, column: &str) -> String {
        match self {
            Dialect::Postgres => {
                format!("CAST(COALESCE(json_agg({column}), '[]') AS TEXT)")
            }
            Dialect::Sqlite => format!("json_group_array({column})"),
        }
    }

    /// The clause that ends a `SELECT` which the transaction is about to update: `FOR UPDATE` on
    /// PostgreSQL; nothing on SQLite, whose write transactions hold the database's only write
    /// lock from their start (see `write_transaction`).
    pub fn lock_rows_clause(self) -> &'static str {
        match self {
            Dialect::Postgres => " FOR UPDATE",
            Dialect::Sqlite => "",
        }
    }

    /// The clause that ends a `SELECT` of rows the transaction relies on staying as they are
    /// (a member being added must not be deleted before the membership commits): `FOR SHARE` on
    /// PostgreSQL, which a delete's `FOR UPDATE` waits for; nothing on SQLite (one writer).
    pub fn share_rows_clause(self) -> &'static str {
        match self {
            Dialect::Postgres => " FOR SHARE",
            Dialect::Sqlite => "",
        }
    }

    /// Renders `fragment` into this dialect's SQL text and the values its placeholders take, in
    /// order.
    pub fn render(self, fragment: &SqlFragment) -> (String, Vec<BindValue>) {
        let mut sql = String::new();
        let mut binds = Vec::new();
        for part in &fragment.parts {
            match part {
                Part::Sql(text) => sql.push_str(text),
                Part::Bind(value) => {
                    binds.push(value.clone());
                    sql.push_str(&self.placeholder(binds.len()));
                }
            }
        }
        (sql, binds)
    }

    /// `fragment` as a statement the connection prepares once and reuses: PostgreSQL then
    /// neither parses nor plans it again, SQLite does not compile it again.
    ///
    /// Only for statements of fixed shape, whose text never depends on what a client sent
    /// (no filter, no list of client-chosen length): each distinct text stays prepared for the
    /// connection's life, on both sides, so client-shaped text would grow without bound. Use
    /// [`Dialect::query`] for everything else.
    pub(crate) fn prepared(self, fragment: &SqlFragment) -> Prepared<'_> {
        Prepared { fragment }
    }

    /// `fragment` as a query ready to run on a connection of this dialect.
    pub(crate) fn query(
        self,
        fragment: &SqlFragment,
    ) -> BoxedSqlQuery<'static, MultiBackend, SqlQuery> {
        let (sql, binds) = self.render(fragment);
        binds.into_iter().fold(
            diesel::sql_query(sql).into_boxed(),
            |query, value| match value {
                BindValue::Text(v) => query.bind::<Text, _>(v),
                BindValue::BigInt(v) => query.bind::<BigInt, _>(v),
                BindValue::Double(v) => query.bind::<Double, _>(v),
                BindValue::Bool(v) => query.bind::<Bool, _>(v),
                BindValue::Null => query.bind::<Nullable<Text>, _>(None::<String>),
            },
        )
    }
}

/// The rows of `sql`: prepared ([`Dialect::prepared`]) when `fixed_shape` says its text comes
/// from a bounded set (one id rather than a list of any length; a lookup by one attribute
/// rather than any filter), else a one-off statement.
pub(crate) fn load_rows<U>(
    conn: &mut DbConnection,
    sql: &SqlFragment,
    fixed_shape: bool,
) -> diesel::QueryResult<Vec<U>>
where
    U: diesel::QueryableByName<MultiBackend> + 'static,
{
    let dialect = conn.dialect();
    if fixed_shape {
        dialect.prepared(sql).load::<U>(conn.raw())
    } else {
        dialect.query(sql).load::<U>(conn.raw())
    }
}

/// Runs `sql`, prepared when `fixed_shape` (as [`load_rows`]); the number of rows it changed.
pub(crate) fn execute_sql(
    conn: &mut DbConnection,
    sql: &SqlFragment,
    fixed_shape: bool,
) -> diesel::QueryResult<usize> {
    let dialect = conn.dialect();
    if fixed_shape {
        dialect.prepared(sql).execute(conn.raw())
    } else {
        dialect.query(sql).execute(conn.raw())
    }
}

/// The plan lines of `sql` ([`DbConnection::query_plan`]).
pub(crate) fn query_plan(conn: &mut DbConnection, sql: &str) -> Result<Vec<String>, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct PgPlan {
        #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
        plan: String,
    }
    #[derive(diesel::QueryableByName)]
    struct SqlitePlan {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    Ok(match conn.dialect() {
        Dialect::Postgres => diesel::sql_query(format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"))
            .load::<PgPlan>(conn.raw())?
            .into_iter()
            .map(|row| row.plan)
            .collect(),
        Dialect::Sqlite => diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
            .load::<SqlitePlan>(conn.raw())?
            .into_iter()
            .map(|row| row.detail)
            .collect(),
    })
}

/// The longest list of values a statement may carry and still be kept prepared: one text per
/// length up to this, a handful per connection, covers the value-index rows of an ordinary
/// resource.
pub(crate) const PREPARED_LIST: usize = 16;

/// A statement of fixed shape with its values, cached by the connection ([`Dialect::prepared`]).
///
/// `diesel::sql_query` marks itself unsafe to cache, since its text may be anything; this type
/// tells diesel the opposite, which is why only [`Dialect::prepared`] makes one.
pub(crate) struct Prepared<'a> {
    fragment: &'a SqlFragment,
}

/// The value of a bound SQL `NULL`: diesel keeps a reference to every bound value.
static NULL_TEXT: Option<String> = None;

impl QueryFragment<MultiBackend> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> diesel::QueryResult<()> {
        // The backend's query builder writes each placeholder as it takes the value.
        for part in &self.fragment.parts {
            match part {
                Part::Sql(text) => out.push_sql(text),
                Part::Bind(BindValue::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Part::Bind(BindValue::BigInt(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Part::Bind(BindValue::Double(v)) => out.push_bind_param::<Double, _>(v)?,
                Part::Bind(BindValue::Bool(v)) => out.push_bind_param::<Bool, _>(v)?,
                Part::Bind(BindValue::Null) => {
                    out.push_bind_param::<Nullable<Text>, _>(&NULL_TEXT)?;
                }
            }
        }
        Ok(())
    }
}

impl QueryId for Prepared<'_> {
    type QueryId = ();
    // Keyed by its text: one type serves every fixed statement.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for Prepared<'_> {}

/// A piece of SQL with its bound values, built by trusted code (this crate, the filter
/// translator) and rendered for one backend when it runs.
///
/// Only constant SQL goes through [`push_sql`](Self::push_sql); every value a client sent goes
/// through [`push_bind`](Self::push_bind).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SqlFragment {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Sql(String),
    Bind(BindValue),
}

impl SqlFragment {
    /// An empty fragment.
    pub fn new() -> Self {
        SqlFragment::default()
    }

    /// A fragment of constant SQL text.
    pub fn sql(sql: impl Into<String>) -> Self {
        SqlFragment {
            parts: vec![Part::Sql(sql.into())],
        }
    }

    /// Appends constant SQL text.
    pub fn push_sql(&mut self, sql: &str) -> &mut Self {
        if let Some(Part::Sql(last)) = self.parts.last_mut() {
            last.push_str(sql);
        } else {
            self.parts.push(Part::Sql(sql.to_owned()));
        }
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn push_bind(&mut self, value: impl Into<BindValue>) -> &mut Self {
        self.parts.push(Part::Bind(value.into()));
        self
    }

    /// Appends another fragment, SQL and values.
    pub fn push_fragment(&mut self, other: &SqlFragment) -> &mut Self {
        for part in &other.parts {
            match part {
                Part::Sql(text) => {
                    self.push_sql(text);
                }
                Part::Bind(value) => {
                    self.parts.push(Part::Bind(value.clone()));
                }
            }
        }
        self
    }

    /// Whether the fragment holds no SQL and no value.
    pub fn is_empty(&self) -> bool {
        self.parts
            .iter()
            .all(|part| matches!(part, Part::Sql(text) if text.is_empty()))
    }
}

/// A value bound to a placeholder of a [`SqlFragment`].
#[derive(Debug, Clone, PartialEq)]
pub enum BindValue {
    /// Text.
    Text(String),
    /// A 64-bit integer (also timestamps, as microseconds since the Unix epoch).
    BigInt(i64),
    /// A floating-point number.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// SQL `NULL`.
    Null,
}

impl From<&str> for BindValue {
    fn from(value: &str) -> Self {
        BindValue::Text(value.to_owned())
    }
}

impl From<String> for BindValue {
    fn from(value: String) -> Self {
        BindValue::Text(value)
    }
}

impl From<Option<String>> for BindValue {
    fn from(value: Option<String>) -> Self {
        value.map_or(BindValue::Null, BindValue::Text)
    }
}

impl From<i64> for BindValue {
    fn from(value: i64) -> Self {
        BindValue::BigInt(value)
    }
}

impl From<f64> for BindValue {
    fn from(value: f64) -> Self {
        BindValue::Double(value)
    }
}

impl From<bool> for BindValue {
    fn from(value: bool) -> Self {
        BindValue::Bool(value)
    }
}

impl From<OrgId> for BindValue {
    fn from(value: OrgId) -> Self {
        BindValue::BigInt(value.0)
    }
}

/// The liveness test of statements that find rows by primary key, `deleted_at IS NULL` written
/// so that it implies nothing. Before PostgreSQL has statistics on a table (a new or freshly
/// loaded database), a plain `deleted_at IS NULL` lets its planner prefer the partial unique
/// index whose predicate that is, read by organisation alone, over the primary key: one lookup
/// then reads every row of the organisation. Written this way the partial index cannot serve
/// the query, and the primary key is the only index that narrows it to one row.
pub(crate) const LIVE_BY_KEY: &str = "(deleted_at IS NULL) IS TRUE";

/// Serialises, per organisation, the transactions that append to the outbox, until each commits.
///
/// On PostgreSQL a sequence value is taken when the row is inserted but becomes visible when its
/// transaction commits, so without this a reader of `events` could see seq 12 before seq 11
/// commits and then skip 11 forever. Taking a transaction-scoped advisory lock on the
/// organisation just before the insert makes seq order equal commit order within an
/// organisation. SQLite already runs one writer at a time.
///
/// The store's write transactions hold their events back and write them as their last
/// statement (`events::deferring`), so the lock is held for the commit alone, and a transaction
/// that writes many resources takes it once, after all its row locks. Events written outside
/// such a transaction take it on the spot and keep it until their transaction ends.
pub(crate) fn lock_outbox(conn: &mut DbConnection, org: OrgId) -> diesel::QueryResult<()> {
    #[cfg(feature = "postgres")]
    #[allow(irrefutable_let_patterns)]
    if let RawConnection::Pg(pg) = conn.raw() {
        let (space, key) = outbox_lock_keys(org);
        return diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind::<Integer, _>(space)
            .bind::<Integer, _>(key)
            .execute(pg)
            .map(drop);
    }
    let _ = (conn, org);
    Ok(())
}

/// The two keys of `org`'s outbox lock ([`lock_outbox`]).
pub(crate) fn outbox_lock_keys(org: OrgId) -> (i32, i32) {
    // The two-key advisory lock space: the first key names this use, so no other advisory lock
    // (one-key locks live apart) can collide with it. Organisations past 2^31 share keys, which
    // only costs them some concurrency.
    const OUTBOX_LOCK_SPACE: i32 = 0x5C1E_0001;
    let org_key = i32::try_from(org.0.rem_euclid(1 << 31)).unwrap_or_default();
    (OUTBOX_LOCK_SPACE, org_key)
}

/// Runs `f` (the migrations) while no other process can migrate the same database: under a
/// session-level advisory lock on PostgreSQL, so replicas starting together take turns; inside one
/// `BEGIN IMMEDIATE` transaction on SQLite, whose write lock excludes other writers.
pub(crate) fn with_migration_lock<T>(
    conn: &mut DbConnection,
    mut f: impl FnMut(&mut DbConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    // One-key advisory lock space, apart from the two-key outbox locks.
    const MIGRATION_LOCK: i64 = 0x5C1E_0000_0000_0001;
    if conn.dialect() != Dialect::Postgres {
        return write_transaction(conn, f);
    }
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK)
        .execute(conn.raw())?;
    let result = f(conn);
    // Released on disconnect as well, so a failed unlock on a broken connection loses nothing.
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK)
        .execute(conn.raw());
    let value = result?;
    unlocked?;
    Ok(value)
}

/// Which unique key a unique violation broke, and the name the database gave it.
///
/// PostgreSQL (SQLSTATE 23505) names the constraint or unique index; SQLite
/// (`SQLITE_CONSTRAINT_UNIQUE`, `SQLITE_CONSTRAINT_PRIMARYKEY`) names none and lists the columns
/// in its message instead ("UNIQUE constraint failed: users.org_id, users.user_name_key").
pub(crate) fn unique_violation(info: &dyn DatabaseErrorInformation) -> (UniqueField, String) {
    if let Some(name) = info.constraint_name() {
        let field = match name {
            "users_org_id_user_name_key_key" => UniqueField::UserName,
            "users_pkey" | "groups_pkey" | "resources_pkey" => UniqueField::ResourceId,
            "resources_org_id_type_name_key_key" => UniqueField::ResourceName,
            "groups_org_id_display_name_key_key" => UniqueField::DisplayName,
            "organizations_name_key" => UniqueField::OrganizationName,
            "tokens_pkey" => UniqueField::TokenId,
            "tokens_org_id_name_key" => UniqueField::TokenName,
            "oauth_clients_org_id_name_key" => UniqueField::ClientName,
            _ => UniqueField::Unknown,
        };
        return (field, name.to_owned());
    }
    let message = info.message();
    let columns = message
        .strip_prefix("UNIQUE constraint failed: ")
        .unwrap_or(message);
    let field =
        match columns {
            "users.org_id, users.user_name_key" | "index 'users_org_id_user_name_key_key'" => {
                UniqueField::UserName
            }
            "users.org_id, users.id"
            | "groups.org_id, groups.id"
            | "resources.org_id, resources.id" => UniqueField::ResourceId,
            "resources.org_id, resources.resource_type, resources.name_key"
            | "index 'resources_org_id_type_name_key_key'" => UniqueField::ResourceName,
            "groups.org_id, groups.display_name_key"
            | "index 'groups_org_id_display_name_key_key'" => UniqueField::DisplayName,
            "organizations.name" => UniqueField::OrganizationName,
            "tokens.org_id, tokens.id" => UniqueField::TokenId,
            "tokens.org_id, tokens.name" => UniqueField::TokenName,
            "oauth_clients.org_id, oauth_clients.name"
            | "index 'oauth_clients_org_id_name_key'" => UniqueField::ClientName,
            _ => UniqueField::Unknown,
        };
    (field, message.to_owned())
}

/// Whether an error means the database gave up waiting, not that the statement is wrong:
/// retrying later may succeed, so it is no server fault.
///
/// - SQLite: its busy timeout ran out ("database is locked", "database table is locked").
/// - PostgreSQL: `lock_timeout` (SQLSTATE 55P03 lock_not_available) or `statement_timeout`
///   (57014 query_canceled) cancelled the statement.
///
/// diesel does not expose PostgreSQL's SQLSTATE beyond a few kinds, so these are recognised by
/// the primary message PostgreSQL writes for them (`ProcessInterrupts` in `postgres.c`). Those
/// messages are translated when the server's `lc_messages` is not English; in that case these
/// errors stay [`StoreError::Other`] (a 500), as before.
pub(crate) fn is_timeout(info: &dyn DatabaseErrorInformation) -> bool {
    let message = info.message();
    message.starts_with("database is locked")
        || message.starts_with("database table is locked")
        || message == "canceling statement due to lock timeout"
        || message == "canceling statement due to statement timeout"
}

/// Whether PostgreSQL aborted the transaction to resolve a conflict with a concurrent one, so
/// that running it again should succeed: a serialization failure (SQLSTATE 40001, which diesel
/// reports as its own kind) or a deadlock (40P01 deadlock_detected, recognised by its message as
/// [`is_timeout`] explains). PostgreSQL's manual, "Serialization Failure Handling": "It may also
/// be advisable to retry deadlock failures."
pub(crate) fn is_transaction_conflict(
    kind: DatabaseErrorKind,
    info: &dyn DatabaseErrorInformation,
) -> bool {
    kind == DatabaseErrorKind::SerializationFailure || info.message() == "deadlock detected"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_on_postgres_and_anonymous_on_sqlite() {
        let mut where_clause = SqlFragment::sql("a = ");
        where_clause
            .push_bind("x")
            .push_sql(" AND b = ")
            .push_bind(2_i64);
        let mut query = SqlFragment::sql("SELECT * FROM t WHERE ");
        query
            .push_fragment(&where_clause)
            .push_sql(" LIMIT ")
            .push_bind(10_i64);

        let binds = vec![
            BindValue::from("x"),
            BindValue::BigInt(2),
            BindValue::BigInt(10),
        ];
        assert_eq!(
            Dialect::Postgres.render(&query),
            (
                "SELECT * FROM t WHERE a = $1 AND b = $2 LIMIT $3".to_owned(),
                binds.clone()
            )
        );
        assert_eq!(
            Dialect::Sqlite.render(&query),
            (
                "SELECT * FROM t WHERE a = ? AND b = ? LIMIT ?".to_owned(),
                binds
            )
        );
    }

    #[test]
    fn json_text_binds_path_segments() {
        let pg = Dialect::Postgres
            .json_text("search", &["name", "familyName"])
            .unwrap();
        assert_eq!(
            Dialect::Postgres.render(&pg),
            (
                "jsonb_extract_path_text(CAST(search AS jsonb), $1, $2)".to_owned(),
                vec![BindValue::from("name"), BindValue::from("familyName")]
            )
        );
        let sqlite = Dialect::Sqlite
            .json_text("search", &["name", "familyName"])
            .unwrap();
        assert_eq!(
            Dialect::Sqlite.render(&sqlite),
            (
                "json_extract(search, ?)".to_owned(),
                vec![BindValue::from(r#"$."name"."familyName""#)]
            )
        );
        assert!(Dialect::Sqlite.json_text("search", &["a\"b"]).is_none());
    }

    #[test]
    fn empty_fragments_are_empty() {
        assert!(SqlFragment::new().is_empty());
        assert!(SqlFragment::sql("").is_empty());
        assert!(!SqlFragment::sql("x").is_empty());
        let mut bind_only = SqlFragment::new();
        bind_only.push_bind(1_i64);
        assert!(!bind_only.is_empty());
    }
}
