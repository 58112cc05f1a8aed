//! The outbox: one event per change, written in the same transaction as the change, read in
//! order by the host application (its change feed) and kept as the audit trail.
//!
//! Events name the attributes a change touched, never their values.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::dialect::{each_backend, lock_outbox};
use crate::schema::events;
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceType {
    /// A SCIM User.
    User,
    /// A SCIM Group.
    Group,
}

impl ResourceType {
    /// The name stored in the `resource_type` column: the SCIM resource type's name.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceType::User => "User",
            ResourceType::Group => "Group",
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

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "User" => Ok(ResourceType::User),
            "Group" => Ok(ResourceType::Group),
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
}

#[derive(Queryable, Selectable)]
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
        .load(conn)?
        .into_iter()
        .map(EventRecord::try_from)
        .collect()
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
}

/// Appends `event` to `org`'s outbox. Call it last in the write's transaction: it takes the
/// organisation's outbox lock (see [`lock_outbox`]), held until the transaction ends.
pub(crate) fn record(
    conn: &mut DbConnection,
    org: OrgId,
    event: &NewEvent<'_>,
) -> Result<(), StoreError> {
    record_all(conn, org, std::slice::from_ref(event))
}

/// Appends `events` to `org`'s outbox in order, a batch per statement (a user leaving 1,000
/// groups is a few statements, not 1,000). As [`record`], call it last in the transaction.
pub(crate) fn record_all(
    conn: &mut DbConnection,
    org: OrgId,
    events: &[NewEvent<'_>],
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    lock_outbox(conn, org)?;
    for batch in events.chunks(500) {
        let rows = batch
            .iter()
            .map(|event| {
                let attributes =
                    serde_json::to_string(event.attributes).map_err(StoreError::other)?;
                Ok((
                    events::org_id.eq(org.0),
                    events::resource_type.eq(event.resource_type),
                    events::resource_id.eq(event.resource_id),
                    events::kind.eq(event.kind.as_str()),
                    events::token_id.eq(event.token_id),
                    events::attributes.eq(attributes),
                    events::occurred_at.eq(event.occurred_at),
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        if let [row] = rows.as_slice() {
            // One row, the usual write: a statement of static shape, which the connection
            // keeps prepared; a batch's text depends on its length.
            let insert = diesel::insert_into(events::table).values(row.clone());
            each_backend!(&mut *conn, |c| insert.execute(c))?;
        } else {
            let insert = diesel::insert_into(events::table).values(rows);
            each_backend!(&mut *conn, |c| insert.execute(c))?;
        }
    }
    Ok(())
}
