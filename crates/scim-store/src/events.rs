//! The outbox: one event per change, written in the same transaction as the change, read in
//! order by the host application (its change feed) and kept as the audit trail.
//!
//! Events name the attributes a change touched, never their values.

use std::cell::RefCell;
use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::dialect::{each_backend, lock_outbox, outbox_lock_keys, Dialect, SqlFragment};
use crate::schema::{events, organizations};
use crate::timestamp::from_micros;
use crate::{OrgId, StoreError};

/// What happened to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// It was created.
    Created,
    /// It was changed, without a change of `active`.
    Updated,
    /// `active` went from true to false: the host application should end its sessions.
    Deactivated,
    /// `active` went from false to true.
    Reactivated,
    /// It was deleted (purged or tombstoned).
    Deleted,
    /// Members were added to a group: `data` is `{"members": [ids]}`.
    MemberAdded,
    /// Members left a group (removed, or deleted): `data` is `{"members": [ids]}`.
    MemberRemoved,
}

impl EventKind {
    /// The name stored in the `kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "created",
            EventKind::Updated => "updated",
            EventKind::Deactivated => "deactivated",
            EventKind::Reactivated => "reactivated",
            EventKind::Deleted => "deleted",
            EventKind::MemberAdded => "member_added",
            EventKind::MemberRemoved => "member_removed",
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored value that is not one this crate writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    what: &'static str,
    value: String,
}

impl UnknownValue {
    pub(crate) fn new(what: &'static str, value: &str) -> Self {
        UnknownValue {
            what,
            value: value.to_owned(),
        }
    }
}

impl FromStr for EventKind {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "created" => EventKind::Created,
            "updated" => EventKind::Updated,
            "deactivated" => EventKind::Deactivated,
            "reactivated" => EventKind::Reactivated,
            "deleted" => EventKind::Deleted,
            "member_added" => EventKind::MemberAdded,
            "member_removed" => EventKind::MemberRemoved,
            _ => {
                return Err(UnknownValue {
                    what: "event kind",
                    value: s.to_owned(),
                })
            }
        })
    }
}

/// The kind of resource an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceType {
    /// A SCIM User.
    User,
    /// A SCIM Group.
    Group,
    /// A resource of a type the operator declared, by its name (see
    /// [`ResourceKind::declared`](crate::resources::ResourceKind::declared)).
    Declared(String),
}

impl ResourceType {
    /// The name stored in the `resource_type` column: the SCIM resource type's name.
    pub fn as_str(&self) -> &str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
            ResourceType::Declared(name) => name,
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceType {
    type Err = UnknownValue;

    /// `User` and `Group`, or any other resource type name (a declared type's), which is a
    /// letter followed by letters, digits, `_` or `-`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "User" => Ok(ResourceType::User),
            "Group" => Ok(ResourceType::Group),
            _ if s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') =>
            {
                Ok(ResourceType::Declared(s.to_owned()))
            }
            _ => Err(UnknownValue {
                what: "resource type",
                value: s.to_owned(),
            }),
        }
    }
}

/// One event of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Its position: increasing in commit order within an organisation, with gaps.
    pub seq: i64,
    /// The organisation of the resource.
    pub org: OrgId,
    /// The kind of resource.
    pub resource_type: ResourceType,
    /// The resource's id.
    pub resource_id: String,
    /// What happened.
    pub kind: EventKind,
    /// The token that made the change, if a token did.
    pub token_id: Option<String>,
    /// The names of the attributes the change touched.
    pub attributes: Vec<String>,
    /// When the change was made.
    pub occurred_at: SystemTime,
    /// What the kind carries beyond attribute names: `{"sessionVersion": n}` on a user's
    /// deactivation and deletion, `{"members": [ids]}` on membership events.
    pub data: Option<serde_json::Value>,
}

#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = events)]
struct EventRow {
    org_id: i64,
    seq: i64,
    resource_type: String,
    resource_id: String,
    kind: String,
    token_id: Option<String>,
    attributes: String,
    occurred_at: i64,
    data: Option<String>,
}

impl TryFrom<EventRow> for EventRecord {
    type Error = StoreError;

    fn try_from(row: EventRow) -> Result<Self, StoreError> {
        Ok(EventRecord {
            seq: row.seq,
            org: OrgId(row.org_id),
            resource_type: row.resource_type.parse().map_err(StoreError::other)?,
            resource_id: row.resource_id,
            kind: row.kind.parse().map_err(StoreError::other)?,
            token_id: row.token_id,
            attributes: serde_json::from_str(&row.attributes).map_err(StoreError::other)?,
            occurred_at: from_micros(row.occurred_at),
            data: row
                .data
                .map(|data| serde_json::from_str(&data))
                .transpose()
                .map_err(StoreError::other)?,
        })
    }
}

/// Up to `limit` of `org`'s events with a seq above `after_seq`, in seq order. Start from 0 and
/// pass the last seq seen to continue.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn list_after(
    conn: &mut DbConnection,
    org: OrgId,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    events::table
        .filter(events::org_id.eq(org.0))
        .filter(events::seq.gt(after_seq))
        .order(events::seq.asc())
        .limit(limit.max(0))
        .select(EventRow::as_select())
        .load(conn.raw())?
        .into_iter()
        .map(EventRecord::try_from)
        .collect()
}

/// The `data` of a user's deactivation or deletion: the session version the host application
/// compares its sessions against.
pub(crate) fn session_data(session_version: i64) -> String {
    serde_json::json!({ "sessionVersion": session_version }).to_string()
}

/// The `data` of a membership event: the ids of the members it concerns.
pub(crate) fn members_data<S: AsRef<str>>(ids: &[S]) -> String {
    let ids: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
    serde_json::json!({ "members": ids }).to_string()
}

/// The highest seq of `org` that retention deleted ([`prune`]), 0 if none: a consumer that
/// resumes from a lower seq has missed events and must read the resources afresh.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such organisation.
pub fn pruned_through(conn: &mut DbConnection, org: OrgId) -> Result<i64, StoreError> {
    organizations::table
        .filter(organizations::id.eq(org.0))
        .select(organizations::events_pruned_through)
        .first::<i64>(conn.raw())
        .optional()?
        .ok_or(StoreError::NotFound)
}

/// The highest seq `org` has written, 0 if none (a consumer that read everything resumes from
/// it).
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn latest_seq(conn: &mut DbConnection, org: OrgId) -> Result<i64, StoreError> {
    let latest = events::table
        .filter(events::org_id.eq(org.0))
        .select(diesel::dsl::max(events::seq))
        .first::<Option<i64>>(conn.raw())?;
    Ok(latest.unwrap_or(0).max(pruned_through(conn, org)?))
}

/// Every organisation with the highest seq it has written (0 if none), in one statement: one
/// index probe per organisation.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn latest_seqs(conn: &mut DbConnection) -> Result<Vec<(OrgId, i64)>, StoreError> {
    #[derive(diesel::QueryableByName)]
    struct Latest {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        latest: i64,
    }
    let sql = SqlFragment::sql(
        "SELECT o.id AS id, COALESCE((SELECT MAX(e.seq) FROM events e WHERE e.org_id = o.id), \
         o.events_pruned_through) AS latest FROM organizations o ORDER BY o.id",
    );
    Ok(conn
        .dialect()
        .query(&sql)
        .load::<Latest>(conn.raw())?
        .into_iter()
        .map(|row| (OrgId(row.id), row.latest))
        .collect())
}

/// Events per statement of [`prune`].
const PRUNE_BATCH: i64 = 1_000;

/// Deletes the events that occurred before `before`, in every organisation, and raises each
/// organisation's [`pruned_through`] to the highest seq deleted, in the same transaction, so a
/// consumer never misses an event without being told. Runs in batches of short transactions;
/// returns how many events were deleted.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails; batches done
/// before stay done.
pub fn prune(conn: &mut DbConnection, before: SystemTime) -> Result<usize, StoreError> {
    let cutoff = crate::timestamp::to_micros(before);
    let orgs: Vec<i64> = organizations::table
        .select(organizations::id)
        .load(conn.raw())?;
    let mut deleted = 0;
    for org in orgs {
        loop {
            // The newest seq among the org's oldest batch of events past retention.
            let oldest = events::table
                .filter(events::org_id.eq(org))
                .filter(events::occurred_at.lt(cutoff))
                .order(events::seq.asc())
                .select(events::seq)
                .limit(PRUNE_BATCH)
                .load::<i64>(conn.raw())?;
            let Some(&upto) = oldest.last() else {
                break;
            };
            deleted += crate::connection::write_transaction(conn, |conn| {
                let raise = diesel::update(
                    organizations::table
                        .filter(organizations::id.eq(org))
                        .filter(organizations::events_pruned_through.lt(upto)),
                )
                .set(organizations::events_pruned_through.eq(upto));
                each_backend!(&mut *conn, |c| raise.execute(c))?;
                let delete = diesel::delete(
                    events::table
                        .filter(events::org_id.eq(org))
                        .filter(events::seq.le(upto)),
                );
                Ok::<_, StoreError>(each_backend!(&mut *conn, |c| delete.execute(c))?)
            })?;
            if i64::try_from(oldest.len()).unwrap_or(i64::MAX) < PRUNE_BATCH {
                break;
            }
        }
    }
    Ok(deleted)
}

/// What [`search`] selects: each part left `None` selects everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only events about resources of this type.
    pub resource_type: Option<ResourceType>,
    /// Only events about this resource id.
    pub resource_id: Option<String>,
    /// Only events made with this token (or OAuth client).
    pub token_id: Option<String>,
    /// Only events that occurred at or after this time.
    pub since: Option<SystemTime>,
    /// Only events that occurred before this time.
    pub until: Option<SystemTime>,
}

/// Up to `limit` of `org`'s events with a seq above `after_seq` that match `filter`, in seq
/// order: the audit trail, read a page at a time.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn search(
    conn: &mut DbConnection,
    org: OrgId,
    filter: &EventFilter,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<EventRecord>, StoreError> {
    let mut sql = SqlFragment::sql(
        "SELECT org_id, seq, resource_type, resource_id, kind, token_id, attributes, \
         occurred_at, data FROM events WHERE org_id = ",
    );
    sql.push_bind(org)
        .push_sql(" AND seq > ")
        .push_bind(after_seq);
    if let Some(kind) = &filter.resource_type {
        sql.push_sql(" AND resource_type = ")
            .push_bind(kind.as_str());
    }
    if let Some(id) = &filter.resource_id {
        sql.push_sql(" AND resource_id = ").push_bind(id.as_str());
    }
    if let Some(token) = &filter.token_id {
        sql.push_sql(" AND token_id = ").push_bind(token.as_str());
    }
    if let Some(since) = filter.since {
        sql.push_sql(" AND occurred_at >= ")
            .push_bind(crate::timestamp::to_micros(since));
    }
    if let Some(until) = filter.until {
        sql.push_sql(" AND occurred_at < ")
            .push_bind(crate::timestamp::to_micros(until));
    }
    sql.push_sql(" ORDER BY seq LIMIT ").push_bind(limit.max(0));
    let rows = conn.dialect().query(&sql).load::<EventRow>(conn.raw())?;
    rows.into_iter().map(EventRecord::try_from).collect()
}

/// An event to append, in the transaction of the change it describes.
pub(crate) struct NewEvent<'a> {
    /// The SCIM resource type's name, as [`ResourceType::as_str`] gives it.
    pub(crate) resource_type: &'static str,
    pub(crate) resource_id: &'a str,
    pub(crate) kind: EventKind,
    pub(crate) token_id: Option<&'a str>,
    pub(crate) attributes: &'a [String],
    pub(crate) occurred_at: i64,
    /// JSON, as [`EventRecord::data`] describes.
    pub(crate) data: Option<String>,
}

/// Appends `event` to `org`'s outbox, in the transaction of the change it describes.
pub(crate) fn record(
    conn: &mut DbConnection,
    org: OrgId,
    event: &NewEvent<'_>,
) -> Result<(), StoreError> {
    record_all(conn, org, std::slice::from_ref(event))
}

/// Appends `events` to `org`'s outbox in order.
///
/// Inside a write transaction of this crate ([`deferring`]) they wait until the transaction is
/// about to commit and are written then, all in one go: the organisation's outbox lock, which
/// makes seq order commit order, is then taken by the last statement before `COMMIT` and held
/// for the commit alone, not for the rest of the request's work. Outside one they are written
/// at once.
pub(crate) fn record_all(
    conn: &mut DbConnection,
    org: OrgId,
    events: &[NewEvent<'_>],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let owned = events
        .iter()
        .map(|event| {
            Ok(Pending {
                org,
                resource_type: event.resource_type,
                resource_id: event.resource_id.to_owned(),
                kind: event.kind,
                token_id: event.token_id.map(str::to_owned),
                attributes: serde_json::to_string(event.attributes).map_err(StoreError::other)?,
                occurred_at: event.occurred_at,
                data: event.data.clone(),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let key = connection_key(conn);
    let unwritten = DEFERRED.with_borrow_mut(|frames| {
        match frames.iter_mut().rev().find(|frame| frame.conn == key) {
            Some(frame) => {
                frame.events.extend(owned);
                None
            }
            None => Some(owned),
        }
    });
    match unwritten {
        Some(events) => write(conn, &events),
        None => Ok(()),
    }
}

/// An event waiting for its transaction's commit.
struct Pending {
    org: OrgId,
    resource_type: &'static str,
    resource_id: String,
    kind: EventKind,
    token_id: Option<String>,
    /// JSON.
    attributes: String,
    occurred_at: i64,
    /// JSON.
    data: Option<String>,
}

/// The events a transaction on one connection recorded so far.
struct Frame {
    conn: usize,
    events: Vec<Pending>,
}

thread_local! {
    /// The deferred events of the write transactions running on this thread. A transaction runs
    /// on one thread from `BEGIN` to `COMMIT` (a blocking call), so the thread and the
    /// connection together name it.
    static DEFERRED: RefCell<Vec<Frame>> = const { RefCell::new(Vec::new()) };
}

/// What names a connection while it is borrowed for a transaction: its address.
fn connection_key(conn: &DbConnection) -> usize {
    std::ptr::from_ref(conn) as usize
}

/// Runs `f`, the body of an outermost write transaction on `conn`, with the events it records
/// held back ([`record_all`]) and written after it succeeds, as the transaction's last
/// statements. If `f` fails nothing is written; the caller rolls back.
pub(crate) fn deferring<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<StoreError>,
{
    let key = connection_key(conn);
    DEFERRED.with_borrow_mut(|frames| {
        frames.push(Frame {
            conn: key,
            events: Vec::new(),
        });
    });
    // Popped however `f` ends, a panic included, so a later transaction never sees its events.
    struct PopOnDrop(usize);
    impl Drop for PopOnDrop {
        fn drop(&mut self) {
            DEFERRED.with_borrow_mut(|frames| {
                if let Some(at) = frames.iter().rposition(|frame| frame.conn == self.0) {
                    frames.remove(at);
                }
            });
        }
    }
    let guard = PopOnDrop(key);
    let value = f(conn)?;
    let events = DEFERRED.with_borrow_mut(|frames| {
        frames
            .iter_mut()
            .rev()
            .find(|frame| frame.conn == key)
            .map(|frame| std::mem::take(&mut frame.events))
            .unwrap_or_default()
    });
    drop(guard);
    write(conn, &events)?;
    Ok(value)
}

/// How many events the transaction on `conn` holds back: where a savepoint starts.
pub(crate) fn deferred_mark(conn: &DbConnection) -> usize {
    let key = connection_key(conn);
    DEFERRED.with_borrow(|frames| {
        frames
            .iter()
            .rev()
            .find(|frame| frame.conn == key)
            .map_or(0, |frame| frame.events.len())
    })
}

/// Forgets the events recorded since `mark`: their savepoint was rolled back.
pub(crate) fn forget_deferred_since(conn: &DbConnection, mark: usize) {
    let key = connection_key(conn);
    DEFERRED.with_borrow_mut(|frames| {
        if let Some(frame) = frames.iter_mut().rev().find(|frame| frame.conn == key) {
            frame.events.truncate(mark);
        }
    });
}

/// Writes `events` now, taking the outbox lock of each organisation among them first (in
/// ascending order, so two transactions never wait on each other's).
fn write(conn: &mut DbConnection, events: &[Pending]) -> Result<(), StoreError> {
    let mut orgs: Vec<OrgId> = events.iter().map(|event| event.org).collect();
    orgs.sort_unstable_by_key(|org| org.0);
    orgs.dedup();
    if let ([event], [org], Dialect::Postgres) = (events, orgs.as_slice(), conn.dialect()) {
        // The usual write: the lock and the insert in one statement, one round trip fewer
        // while the lock is held.
        return insert_one_locked(conn, *org, event);
    }
    for org in orgs {
        lock_outbox(conn, org)?;
    }
    for batch in events.chunks(500) {
        let mut rows: Vec<_> = batch
            .iter()
            .map(|event| {
                (
                    events::org_id.eq(event.org.0),
                    events::resource_type.eq(event.resource_type),
                    events::resource_id.eq(event.resource_id.as_str()),
                    events::kind.eq(event.kind.as_str()),
                    events::token_id.eq(event.token_id.as_deref()),
                    events::attributes.eq(event.attributes.as_str()),
                    events::occurred_at.eq(event.occurred_at),
                    events::data.eq(event.data.as_deref()),
                )
            })
            .collect();
        if rows.len() == 1 {
            // A statement of static shape, which the connection keeps prepared; a batch's text
            // depends on its length.
            if let Some(row) = rows.pop() {
                let insert = diesel::insert_into(events::table).values(row);
                each_backend!(&mut *conn, |c| insert.execute(c))?;
            }
        } else {
            let insert = diesel::insert_into(events::table).values(&rows);
            each_backend!(&mut *conn, |c| insert.execute(c))?;
        }
    }
    Ok(())
}

/// PostgreSQL: takes `org`'s outbox lock and appends `event`, in one statement. The lock is
/// taken as the subquery's row is made, before the insert draws the next seq.
fn insert_one_locked(
    conn: &mut DbConnection,
    org: OrgId,
    event: &Pending,
) -> Result<(), StoreError> {
    let (space, key) = outbox_lock_keys(org);
    let mut sql = SqlFragment::sql(
        "INSERT INTO events (org_id, resource_type, resource_id, kind, token_id, attributes, \
         occurred_at, data) SELECT ",
    );
    sql.push_bind(org)
        .push_sql(", ")
        .push_bind(event.resource_type)
        .push_sql(", ")
        .push_bind(event.resource_id.as_str())
        .push_sql(", ")
        .push_bind(event.kind.as_str())
        .push_sql(", ")
        .push_bind(event.token_id.clone())
        .push_sql(", ")
        .push_bind(event.attributes.as_str())
        .push_sql(", ")
        .push_bind(event.occurred_at)
        .push_sql(", ")
        .push_bind(event.data.clone())
        .push_sql(" FROM (SELECT pg_advisory_xact_lock(CAST(")
        .push_bind(i64::from(space))
        .push_sql(" AS integer), CAST(")
        .push_bind(i64::from(key))
        .push_sql(" AS integer))) AS outbox_lock");
    conn.dialect().prepared(&sql).execute(conn.raw())?;
    Ok(())
}
