//! Users: one row per SCIM User, its email keys in a side table, and an event per write.
//!
//! The caller derives every value from the SCIM resource (the folded userName key, the `search`
//! JSON, the email keys); this module stores them as given and keeps `version`, the timestamps,
//! `session_version` and the outbox right.

use std::time::SystemTime;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use crate::connection::{write_transaction, DbConnection};
use crate::dialect::{each_backend, SqlFragment};
use crate::events::{self, EventKind, NewEvent, ResourceType};
use crate::schema::{user_emails, users};
use crate::timestamp::{from_micros, now_micros};
use crate::{OrgId, Page, StoreError};

/// An email address of a user, as the `emails.value` lookups need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailKey {
    /// The address, folded by the caller the way comparisons need it.
    pub value_key: String,
    /// Its `type` ("work", "home", …), if it has one.
    pub email_type: Option<String>,
    /// Whether it is the user's primary address.
    pub primary: bool,
}

/// What a user's row holds besides the store's own bookkeeping (id, version, timestamps),
/// all derived from the SCIM document by the caller: see
/// [`UserColumns::derive`](crate::user_documents).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserColumns {
    /// userName as the client sent it.
    pub user_name: String,
    /// userName folded for case-insensitive uniqueness; unique among the organisation's live
    /// users.
    pub user_name_key: String,
    /// externalId, if any.
    pub external_id: Option<String>,
    /// Whether the user is active: going false bumps `session_version`.
    pub active: bool,
    /// The SCIM resource, as JSON text, stored as given.
    pub document: String,
    /// The JSON document filters run against, stored as given.
    pub search: String,
    /// The user's email keys, in the order of its `emails`; a write replaces the stored ones.
    pub emails: Vec<EmailKey>,
}

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// The server-assigned id (a UUID v4), unique in the organisation.
    pub id: String,
    /// Its columns.
    pub columns: UserColumns,
    /// The token making the change, for the event.
    pub token_id: Option<String>,
    /// The names of the attributes the client sent, for the event.
    pub attributes: Vec<String>,
}

/// The new state of a user, replacing the old one whole (a PUT, or a PATCH already applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserUpdate {
    /// Its new columns.
    pub columns: UserColumns,
    /// The token making the change, for the event.
    pub token_id: Option<String>,
    /// The names of the attributes the change touched, for the event.
    pub attributes: Vec<String>,
}

/// A stored, live user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Its organisation.
    pub org: OrgId,
    /// Its id.
    pub id: String,
    /// userName as the client sent it.
    pub user_name: String,
    /// userName folded.
    pub user_name_key: String,
    /// externalId, if any.
    pub external_id: Option<String>,
    /// Whether the user is active.
    pub active: bool,
    /// 1 on creation, +1 on every write: the source of the ETag (`meta.version`).
    pub version: i64,
    /// Bumped whenever the user is deactivated (or deleted), so the host application can end
    /// sessions started under an older value.
    pub session_version: i64,
    /// When it was created (`meta.created`).
    pub created: SystemTime,
    /// When it was last written (`meta.lastModified`).
    pub last_modified: SystemTime,
    /// The SCIM resource, as JSON text.
    pub document: String,
    /// The JSON document filters run against.
    pub search: String,
}

/// What DELETE does to the row (an operator's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeleteMode {
    /// Remove the row.
    Purge,
    /// Keep the row, marked deleted: invisible to every read, its userName free at once.
    Tombstone,
}

/// Which live users [`list`] returns, in which order, which page.
///
/// `filter` and `order_by` are SQL over the columns of `users` (written by the filter
/// translator, values bound): `filter` is ANDed with the organisation and liveness conditions;
/// `order_by` (with its directions) comes before the `created_at, id` that makes every order
/// total and stable.
#[derive(Debug, Clone, PartialEq)]
pub struct UserQuery {
    /// A condition the users must meet.
    pub filter: Option<SqlFragment>,
    /// Sort keys before the default `created_at, id`.
    pub order_by: Option<SqlFragment>,
    /// Rows to skip (0-based; SCIM's startIndex − 1). Negative counts as 0.
    pub offset: i64,
    /// Most rows to return. Negative counts as 0.
    pub limit: i64,
}

impl UserQuery {
    /// Every live user, in creation order, `limit` of them from `offset`.
    pub fn page(offset: i64, limit: i64) -> Self {
        UserQuery {
            filter: None,
            order_by: None,
            offset,
            limit,
        }
    }
}

#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = users)]
struct UserRow {
    org_id: i64,
    id: String,
    user_name: String,
    user_name_key: String,
    external_id: Option<String>,
    active: bool,
    version: i64,
    session_version: i64,
    created_at: i64,
    last_modified: i64,
    document: String,
    search: String,
}

/// The columns of [`UserRow`], for hand-written SQL.
const USER_COLUMNS: &str = "org_id, id, user_name, user_name_key, external_id, active, version, \
                            session_version, created_at, last_modified, document, search";

impl From<UserRow> for UserRecord {
    fn from(row: UserRow) -> Self {
        UserRecord {
            org: OrgId(row.org_id),
            id: row.id,
            user_name: row.user_name,
            user_name_key: row.user_name_key,
            external_id: row.external_id,
            active: row.active,
            version: row.version,
            session_version: row.session_version,
            created: from_micros(row.created_at),
            last_modified: from_micros(row.last_modified),
            document: row.document,
            search: row.search,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = user_emails)]
struct EmailRow<'a> {
    org_id: i64,
    user_id: &'a str,
    position: i32,
    value_key: &'a str,
    email_type: Option<&'a str>,
    is_primary: bool,
}

#[derive(QueryableByName)]
struct LiveState {
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = Bool)]
    active: bool,
}

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Creates a user, its email keys and a `created` event, in one transaction.
///
/// # Errors
/// [`StoreError::UniqueViolation`] with [`crate::UniqueField::UserName`] when a live user of the
/// organisation has the same `user_name_key` (also when a concurrent create wins the race), or
/// [`crate::UniqueField::UserId`] for a duplicate id.
pub fn create(
    conn: &mut DbConnection,
    org: OrgId,
    new: &NewUser,
) -> Result<UserRecord, StoreError> {
    write_transaction(conn, |conn| {
        let now = now_micros();
        let insert = diesel::insert_into(users::table).values((
            users::org_id.eq(org.0),
            users::id.eq(&new.id),
            users::user_name.eq(&new.columns.user_name),
            users::user_name_key.eq(&new.columns.user_name_key),
            users::external_id.eq(&new.columns.external_id),
            users::active.eq(new.columns.active),
            users::version.eq(1),
            users::session_version.eq(1),
            users::created_at.eq(now),
            users::last_modified.eq(now),
            users::document.eq(&new.columns.document),
            users::search.eq(&new.columns.search),
        ));
        let row: UserRow = each_backend!(&mut *conn, |c| insert
            .returning(UserRow::as_returning())
            .get_result(c))?;
        insert_emails(conn, org, &new.id, &new.columns.emails)?;
        events::record(
            conn,
            org,
            &NewEvent {
                resource_type: ResourceType::User,
                resource_id: &new.id,
                kind: EventKind::Created,
                token_id: new.token_id.as_deref(),
                attributes: &new.attributes,
                occurred_at: now,
            },
        )?;
        Ok(row.into())
    })
}

/// The live user `id` of `org`; `None` for an unknown id, another organisation's user or a
/// tombstone.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn get(
    conn: &mut DbConnection,
    org: OrgId,
    id: &str,
) -> Result<Option<UserRecord>, StoreError> {
    let row = users::table
        .filter(users::org_id.eq(org.0))
        .filter(users::id.eq(id))
        .filter(users::deleted_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?;
    Ok(row.map(UserRecord::from))
}

/// Replaces the live user `id` of `org` with `update`: bumps `version` and `last_modified`,
/// bumps `session_version` when `active` goes from true to false, rewrites the email keys and
/// records an `updated`, `deactivated` or `reactivated` event, in one transaction.
///
/// `expected_version` is the version an `If-Match` named, if any; when it is not the current one
/// nothing is written.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such live user, [`StoreError::VersionMismatch`],
/// [`StoreError::UniqueViolation`] when the new `user_name_key` is taken.
pub fn replace(
    conn: &mut DbConnection,
    org: OrgId,
    id: &str,
    expected_version: Option<i64>,
    update: &UserUpdate,
) -> Result<UserRecord, StoreError> {
    write_transaction(conn, |conn| {
        let current = lock_live(conn, org, id, expected_version)?;
        let kind = match (current.active, update.columns.active) {
            (true, false) => EventKind::Deactivated,
            (false, true) => EventKind::Reactivated,
            _ => EventKind::Updated,
        };
        let now = now_micros();
        let session_bump = i64::from(kind == EventKind::Deactivated);
        let write = diesel::update(live_user(org, id)).set((
            users::user_name.eq(&update.columns.user_name),
            users::user_name_key.eq(&update.columns.user_name_key),
            users::external_id.eq(&update.columns.external_id),
            users::active.eq(update.columns.active),
            users::version.eq(users::version + 1),
            users::session_version.eq(users::session_version + session_bump),
            users::last_modified.eq(now),
            users::document.eq(&update.columns.document),
            users::search.eq(&update.columns.search),
        ));
        let row: UserRow = each_backend!(&mut *conn, |c| write
            .returning(UserRow::as_returning())
            .get_result(c))?;
        delete_emails(conn, org, id)?;
        insert_emails(conn, org, id, &update.columns.emails)?;
        events::record(
            conn,
            org,
            &NewEvent {
                resource_type: ResourceType::User,
                resource_id: id,
                kind,
                token_id: update.token_id.as_deref(),
                attributes: &update.attributes,
                occurred_at: now,
            },
        )?;
        Ok(row.into())
    })
}

/// Deletes the live user `id` of `org` as `mode` says, and records a `deleted` event (naming
/// `token_id` as the actor), in one transaction. Either way the user disappears from every read
/// and its userName is free at once; a tombstone also gets a new version and session_version.
///
/// `expected_version` is the version an `If-Match` named, if any (RFC 7644 §3.14).
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such live user, [`StoreError::VersionMismatch`].
pub fn delete(
    conn: &mut DbConnection,
    org: OrgId,
    id: &str,
    mode: DeleteMode,
    expected_version: Option<i64>,
    token_id: Option<&str>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        lock_live(conn, org, id, expected_version)?;
        let now = now_micros();
        delete_emails(conn, org, id)?;
        match mode {
            DeleteMode::Purge => {
                diesel::delete(live_user(org, id)).execute(conn)?;
            }
            DeleteMode::Tombstone => {
                diesel::update(live_user(org, id))
                    .set((
                        users::deleted_at.eq(now),
                        users::version.eq(users::version + 1),
                        users::session_version.eq(users::session_version + 1),
                        users::last_modified.eq(now),
                    ))
                    .execute(conn)?;
            }
        }
        events::record(
            conn,
            org,
            &NewEvent {
                resource_type: ResourceType::User,
                resource_id: id,
                kind: EventKind::Deleted,
                token_id,
                attributes: &[],
                occurred_at: now,
            },
        )
    })
}

/// A page of `org`'s live users matching `query`, and how many match in all.
///
/// The count and the page are two statements: under concurrent writes the total may be off by
/// the rows written in between.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails (including SQL
/// errors in the query's fragments).
pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    query: &UserQuery,
) -> Result<Page<UserRecord>, StoreError> {
    let dialect = conn.dialect();
    let mut from = SqlFragment::sql(" FROM users WHERE org_id = ");
    from.push_bind(org).push_sql(" AND deleted_at IS NULL");
    if let Some(filter) = query.filter.as_ref().filter(|f| !f.is_empty()) {
        from.push_sql(" AND (").push_fragment(filter).push_sql(")");
    }

    let mut count = SqlFragment::sql("SELECT COUNT(*) AS total");
    count.push_fragment(&from);
    let total = dialect.query(&count).get_result::<Total>(conn)?.total;

    let mut page = SqlFragment::sql(format!("SELECT {USER_COLUMNS}"));
    page.push_fragment(&from).push_sql(" ORDER BY ");
    if let Some(order_by) = query.order_by.as_ref().filter(|f| !f.is_empty()) {
        page.push_fragment(order_by).push_sql(", ");
    }
    page.push_sql("created_at, id LIMIT ")
        .push_bind(query.limit.max(0))
        .push_sql(" OFFSET ")
        .push_bind(query.offset.max(0));
    let items = dialect
        .query(&page)
        .load::<UserRow>(conn)?
        .into_iter()
        .map(UserRecord::from)
        .collect();
    Ok(Page { total, items })
}

type LiveUser<'a> = diesel::dsl::Filter<
    diesel::dsl::Filter<
        diesel::dsl::Filter<users::table, diesel::dsl::Eq<users::org_id, i64>>,
        diesel::dsl::Eq<users::id, &'a str>,
    >,
    diesel::dsl::IsNull<users::deleted_at>,
>;

fn live_user(org: OrgId, id: &str) -> LiveUser<'_> {
    users::table
        .filter(users::org_id.eq(org.0))
        .filter(users::id.eq(id))
        .filter(users::deleted_at.is_null())
}

/// Reads the live user's version and `active`, locking its row for the rest of the transaction,
/// and checks `expected_version` against it.
fn lock_live(
    conn: &mut DbConnection,
    org: OrgId,
    id: &str,
    expected_version: Option<i64>,
) -> Result<LiveState, StoreError> {
    let dialect = conn.dialect();
    let mut sql = SqlFragment::sql("SELECT version, active FROM users WHERE org_id = ");
    sql.push_bind(org)
        .push_sql(" AND id = ")
        .push_bind(id)
        .push_sql(" AND deleted_at IS NULL")
        .push_sql(dialect.lock_rows_clause());
    let current = dialect
        .query(&sql)
        .get_result::<LiveState>(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    match expected_version {
        Some(expected) if expected != current.version => Err(StoreError::VersionMismatch {
            current: current.version,
        }),
        _ => Ok(current),
    }
}

fn delete_emails(conn: &mut DbConnection, org: OrgId, user_id: &str) -> Result<(), StoreError> {
    diesel::delete(
        user_emails::table
            .filter(user_emails::org_id.eq(org.0))
            .filter(user_emails::user_id.eq(user_id)),
    )
    .execute(conn)?;
    Ok(())
}

fn insert_emails(
    conn: &mut DbConnection,
    org: OrgId,
    user_id: &str,
    emails: &[EmailKey],
) -> Result<(), StoreError> {
    if emails.is_empty() {
        return Ok(());
    }
    let rows = emails
        .iter()
        .enumerate()
        .map(|(position, email)| {
            Ok(EmailRow {
                org_id: org.0,
                user_id,
                position: i32::try_from(position).map_err(StoreError::other)?,
                value_key: &email.value_key,
                email_type: email.email_type.as_deref(),
                is_primary: email.primary,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let insert = diesel::insert_into(user_emails::table).values(&rows);
    each_backend!(conn, |c| insert.execute(c))?;
    Ok(())
}
