//! Webhooks: where an organisation's events are pushed, and how far delivery got.
//!
//! Delivery is driven from the outbox ([`crate::events`]): a webhook's `delivered_seq` is the
//! last event its receiver acknowledged, so nothing is skipped and a crash only means sending
//! again what was not acknowledged. A worker [claims](claim) a webhook with a lease before
//! sending; on PostgreSQL the claim skips rows another replica is claiming (`FOR UPDATE SKIP
//! LOCKED`), and every later write checks the lease is still its own, so two replicas never
//! deliver one webhook's events at once while their leases hold.

use std::fmt;
use std::time::{Duration, SystemTime};

use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::dialect::{each_backend, Dialect, SqlFragment};
use crate::events::{self, EventKind};
use crate::schema::{events as events_table, webhooks};
use crate::timestamp::{from_micros, now_micros, to_micros};
use crate::{OrgId, StoreError};

/// A webhook to store.
#[derive(Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Its id, unique within the organisation.
    pub id: String,
    /// The URL events are posted to.
    pub url: String,
    /// The kinds of event it receives; `None` for all.
    pub kinds: Option<Vec<EventKind>>,
    /// The signing secret (Standard Webhooks `whsec_…`).
    pub secret: String,
}

/// A stored webhook and its delivery state.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookRecord {
    /// Its organisation.
    pub org: OrgId,
    /// Its id.
    pub id: String,
    /// The URL events are posted to.
    pub url: String,
    /// The kinds of event it receives; `None` for all.
    pub kinds: Option<Vec<EventKind>>,
    /// The signing secret.
    pub secret: String,
    /// The secret before the last rotation, still signing alongside until
    /// `previous_secret_until`.
    pub previous_secret: Option<String>,
    /// When the previous secret stops signing.
    pub previous_secret_until: Option<SystemTime>,
    /// When it was created.
    pub created_at: SystemTime,
    /// The last seq its receiver acknowledged (or skipped as a kind it does not take).
    pub delivered_seq: i64,
    /// Failed attempts since the last success.
    pub failures: i64,
    /// When the next attempt may start.
    pub next_attempt_at: SystemTime,
    /// Whether delivery stopped after too many failures, until resumed.
    pub paused: bool,
    /// The last failure, if the last attempt failed.
    pub last_error: Option<String>,
    /// When an attempt was last made.
    pub last_attempt_at: Option<SystemTime>,
    /// When an event was last acknowledged.
    pub last_delivered_at: Option<SystemTime>,
}

impl WebhookRecord {
    /// Whether it takes events of `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.kinds
            .as_ref()
            .is_none_or(|kinds| kinds.contains(&kind))
    }

    /// The secrets that sign a message sent at `now`: the current one, and the previous one
    /// during its grace period.
    pub fn signing_secrets(&self, now: SystemTime) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) = (&self.previous_secret, self.previous_secret_until) {
            if now < until {
                secrets.push(previous);
            }
        }
        secrets
    }
}

impl fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewWebhook")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("org", &self.org)
            .field("id", &self.id)
            .field("url", &self.url)
            .field("kinds", &self.kinds)
            .field("delivered_seq", &self.delivered_seq)
            .field("failures", &self.failures)
            .field("paused", &self.paused)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

#[derive(Queryable, Selectable, QueryableByName)]
#[diesel(table_name = webhooks)]
struct WebhookRow {
    org_id: i64,
    id: String,
    url: String,
    event_kinds: Option<String>,
    secret: String,
    previous_secret: Option<String>,
    previous_secret_until: Option<i64>,
    created_at: i64,
    delivered_seq: i64,
    failures: i64,
    next_attempt_at: i64,
    paused: bool,
    last_error: Option<String>,
    last_attempt_at: Option<i64>,
    last_delivered_at: Option<i64>,
}

const COLUMNS: &str = "org_id, id, url, event_kinds, secret, previous_secret, \
    previous_secret_until, created_at, delivered_seq, failures, next_attempt_at, paused, \
    last_error, last_attempt_at, last_delivered_at";

impl TryFrom<WebhookRow> for WebhookRecord {
    type Error = StoreError;

    fn try_from(row: WebhookRow) -> Result<Self, StoreError> {
        let kinds = row
            .event_kinds
            .map(|kinds| {
                serde_json::from_str::<Vec<String>>(&kinds)
                    .map_err(StoreError::other)?
                    .iter()
                    .map(|kind| kind.parse().map_err(StoreError::other))
                    .collect::<Result<Vec<EventKind>, StoreError>>()
            })
            .transpose()?;
        Ok(WebhookRecord {
            org: OrgId(row.org_id),
            id: row.id,
            url: row.url,
            kinds,
            secret: row.secret,
            previous_secret: row.previous_secret,
            previous_secret_until: row.previous_secret_until.map(from_micros),
            created_at: from_micros(row.created_at),
            delivered_seq: row.delivered_seq,
            failures: row.failures,
            next_attempt_at: from_micros(row.next_attempt_at),
            paused: row.paused,
            last_error: row.last_error,
            last_attempt_at: row.last_attempt_at.map(from_micros),
            last_delivered_at: row.last_delivered_at.map(from_micros),
        })
    }
}

fn records(rows: Vec<WebhookRow>) -> Result<Vec<WebhookRecord>, StoreError> {
    rows.into_iter().map(WebhookRecord::try_from).collect()
}

/// Adds a webhook to `org`. It receives the events written from now on, not the history.
///
/// # Errors
/// [`StoreError::UniqueViolation`] when the id is taken; [`StoreError::NotFound`] when there is
/// no such organisation.
pub fn create(
    conn: &mut DbConnection,
    org: OrgId,
    new: &NewWebhook,
) -> Result<WebhookRecord, StoreError> {
    let kinds = new
        .kinds
        .as_ref()
        .map(|kinds| serde_json::to_string(&kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>()))
        .transpose()
        .map_err(StoreError::other)?;
    let from = events::latest_seq(conn, org)?;
    let insert = diesel::insert_into(webhooks::table).values((
        webhooks::org_id.eq(org.0),
        webhooks::id.eq(&new.id),
        webhooks::url.eq(&new.url),
        webhooks::event_kinds.eq(kinds),
        webhooks::secret.eq(&new.secret),
        webhooks::created_at.eq(now_micros()),
        webhooks::delivered_seq.eq(from),
    ));
    let row: WebhookRow = each_backend!(conn, |c| insert
        .returning(WebhookRow::as_returning())
        .get_result(c))?;
    row.try_into()
}

/// `org`'s webhooks, oldest first.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn list(conn: &mut DbConnection, org: OrgId) -> Result<Vec<WebhookRecord>, StoreError> {
    records(
        webhooks::table
            .filter(webhooks::org_id.eq(org.0))
            .order((webhooks::created_at.asc(), webhooks::id.asc()))
            .select(WebhookRow::as_select())
            .load(conn.raw())?,
    )
}

/// The webhook `id` of `org`.
///
/// # Errors
/// [`StoreError::NotFound`] when there is none.
pub fn get(conn: &mut DbConnection, org: OrgId, id: &str) -> Result<WebhookRecord, StoreError> {
    webhooks::table
        .filter(webhooks::org_id.eq(org.0))
        .filter(webhooks::id.eq(id))
        .select(WebhookRow::as_select())
        .first(conn.raw())
        .optional()?
        .ok_or(StoreError::NotFound)?
        .try_into()
}

/// Removes the webhook `id` of `org`.
///
/// # Errors
/// [`StoreError::NotFound`] when there is none.
pub fn remove(conn: &mut DbConnection, org: OrgId, id: &str) -> Result<(), StoreError> {
    let delete = diesel::delete(
        webhooks::table
            .filter(webhooks::org_id.eq(org.0))
            .filter(webhooks::id.eq(id)),
    );
    match each_backend!(conn, |c| delete.execute(c))? {
        0 => Err(StoreError::NotFound),
        _ => Ok(()),
    }
}

/// Makes `secret` the webhook's signing secret; the old one keeps signing beside it for
/// `grace`, so receivers can switch without missing a message.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such webhook.
pub fn rotate_secret(
    conn: &mut DbConnection,
    org: OrgId,
    id: &str,
    secret: &str,
    grace: Duration,
) -> Result<WebhookRecord, StoreError> {
    let until = to_micros(SystemTime::now() + grace);
    let update = diesel::update(
        webhooks::table
            .filter(webhooks::org_id.eq(org.0))
            .filter(webhooks::id.eq(id)),
    )
    .set((
        webhooks::previous_secret.eq(webhooks::secret.nullable()),
        webhooks::previous_secret_until.eq(Some(until)),
        webhooks::secret.eq(secret),
    ));
    match each_backend!(&mut *conn, |c| update.execute(c))? {
        0 => Err(StoreError::NotFound),
        _ => get(conn, org, id),
    }
}

/// Resumes a paused webhook: its failures are forgotten and delivery starts again from the
/// first event not yet acknowledged.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such webhook.
pub fn resume(conn: &mut DbConnection, org: OrgId, id: &str) -> Result<WebhookRecord, StoreError> {
    let update = diesel::update(
        webhooks::table
            .filter(webhooks::org_id.eq(org.0))
            .filter(webhooks::id.eq(id)),
    )
    .set((
        webhooks::paused.eq(false),
        webhooks::failures.eq(0),
        webhooks::next_attempt_at.eq(0),
    ));
    match each_backend!(&mut *conn, |c| update.execute(c))? {
        0 => Err(StoreError::NotFound),
        _ => get(conn, org, id),
    }
}

/// How far a webhook is behind: the events not yet acknowledged and when the oldest occurred.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Events after `delivered_seq` (counted up to [`BACKLOG_COUNT_CAP`]).
    pub events: i64,
    /// When the oldest of them occurred.
    pub oldest: Option<SystemTime>,
}

/// The most events [`backlog`] counts, so a status read stays cheap however far behind.
pub const BACKLOG_COUNT_CAP: i64 = 100_000;

/// The backlog of `webhook`.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn backlog(conn: &mut DbConnection, webhook: &WebhookRecord) -> Result<Backlog, StoreError> {
    let pending = events_table::table
        .filter(events_table::org_id.eq(webhook.org.0))
        .filter(events_table::seq.gt(webhook.delivered_seq));
    let oldest = pending
        .order(events_table::seq.asc())
        .select(events_table::occurred_at)
        .first::<i64>(conn.raw())
        .optional()?;
    // Counted in the database over at most the cap's rows of the (org_id, seq) key: the
    // count never ships the backlog's rows to the server.
    let mut sql =
        SqlFragment::sql("SELECT COUNT(*) AS n FROM (SELECT 1 FROM events WHERE org_id = ");
    sql.push_bind(webhook.org)
        .push_sql(" AND seq > ")
        .push_bind(webhook.delivered_seq)
        .push_sql(" LIMIT ")
        .push_bind(BACKLOG_COUNT_CAP)
        .push_sql(") AS pending");
    let events = conn
        .dialect()
        .query(&sql)
        .get_result::<Count>(conn.raw())?
        .n;
    Ok(Backlog {
        events,
        oldest: oldest.map(from_micros),
    })
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Claims up to `limit` webhooks that have events to deliver, are not paused, are due, and
/// whose lease is free or expired, leasing them to `owner` until `now + lease`. The caller
/// delivers, then [`acknowledge`]s, [`fail`]s and [`release`]s.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn claim(
    conn: &mut DbConnection,
    owner: &str,
    lease: Duration,
    limit: i64,
) -> Result<Vec<WebhookRecord>, StoreError> {
    let now = now_micros();
    let until = now.saturating_add(i64::try_from(lease.as_micros()).unwrap_or(i64::MAX));
    let skip_locked = match conn.dialect() {
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let mut sql = SqlFragment::sql("UPDATE webhooks SET lease_owner = ");
    sql.push_bind(owner)
        .push_sql(", lease_until = ")
        .push_bind(until)
        .push_sql(
            " WHERE (org_id, id) IN (SELECT w.org_id, w.id FROM webhooks w \
             WHERE NOT w.paused AND w.next_attempt_at <= ",
        )
        .push_bind(now)
        .push_sql(" AND (w.lease_until IS NULL OR w.lease_until < ")
        .push_bind(now)
        .push_sql(
            ") AND EXISTS (SELECT 1 FROM events e WHERE e.org_id = w.org_id \
             AND e.seq > w.delivered_seq) ORDER BY w.next_attempt_at LIMIT ",
        )
        .push_bind(limit)
        .push_sql(skip_locked)
        .push_sql(") RETURNING ")
        .push_sql(COLUMNS);
    let rows = conn.dialect().query(&sql).load::<WebhookRow>(conn.raw())?;
    records(rows)
}

/// Records that every event of `webhook` up to `seq` is done with: acknowledged by the receiver
/// (`delivered`), or of kinds it does not take. Clears its failures. Returns false, and changes
/// nothing, when `owner` no longer holds the lease.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn acknowledge(
    conn: &mut DbConnection,
    webhook: &WebhookRecord,
    owner: &str,
    seq: i64,
    delivered: bool,
) -> Result<bool, StoreError> {
    let now = now_micros();
    let mut sql = SqlFragment::sql("UPDATE webhooks SET delivered_seq = ");
    sql.push_bind(seq)
        .push_sql(", failures = 0, last_error = NULL");
    if delivered {
        sql.push_sql(", last_attempt_at = ")
            .push_bind(now)
            .push_sql(", last_delivered_at = ")
            .push_bind(now);
    }
    owned_row(&mut sql, webhook, owner);
    sql.push_sql(" AND delivered_seq < ").push_bind(seq);
    Ok(conn.dialect().query(&sql).execute(conn.raw())? > 0)
}

/// Records a failed attempt: the next one waits until `retry_at`; with `pause`, delivery stops
/// until [`resume`]. Returns false when `owner` no longer holds the lease.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn fail(
    conn: &mut DbConnection,
    webhook: &WebhookRecord,
    owner: &str,
    error: &str,
    retry_at: SystemTime,
    pause: bool,
) -> Result<bool, StoreError> {
    let mut sql = SqlFragment::sql("UPDATE webhooks SET failures = failures + 1, last_error = ");
    sql.push_bind(error)
        .push_sql(", last_attempt_at = ")
        .push_bind(now_micros())
        .push_sql(", next_attempt_at = ")
        .push_bind(to_micros(retry_at))
        .push_sql(", paused = ")
        .push_bind(pause);
    owned_row(&mut sql, webhook, owner);
    Ok(conn.dialect().query(&sql).execute(conn.raw())? > 0)
}

/// Gives up `owner`'s lease on `webhook`, so any worker may take it next.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn release(
    conn: &mut DbConnection,
    webhook: &WebhookRecord,
    owner: &str,
) -> Result<(), StoreError> {
    let mut sql = SqlFragment::sql("UPDATE webhooks SET lease_owner = NULL, lease_until = NULL");
    owned_row(&mut sql, webhook, owner);
    conn.dialect().query(&sql).execute(conn.raw())?;
    Ok(())
}

/// ` WHERE` the row is `webhook` and `owner` holds its lease.
fn owned_row(sql: &mut SqlFragment, webhook: &WebhookRecord, owner: &str) {
    sql.push_sql(" WHERE org_id = ")
        .push_bind(webhook.org)
        .push_sql(" AND id = ")
        .push_bind(webhook.id.as_str())
        .push_sql(" AND lease_owner = ")
        .push_bind(owner);
}
