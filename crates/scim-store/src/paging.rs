//! Keyset pages (the store's half of RFC 9865 cursor paging): a page starts strictly after the
//! last row the previous page showed, compared on the listing's whole order — the sort key with
//! its NULL ordering, then `created_at, id` — instead of skipping rows by count.
//!
//! A walk from page to page therefore never shows a row twice and never misses one that
//! existed for the whole walk, whatever is inserted or deleted meanwhile: each page's condition
//! depends only on the last row shown, not on how many rows precede it. A row whose sort key
//! changes during the walk may move across the walk's position and be seen twice or not at all,
//! as with any keyset walk.
//!
//! In the default order (`created_at, id`) the condition is a row-value comparison the
//! `(org_id, created_at, id)` index serves, so a page deep in the walk reads only its own rows.
//!
//! A [`Position`] is opaque to callers: they keep it (the server signs it into a cursor) and
//! hand it back with [`ListQuery::after`].

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use serde_json::{json, Value};

use crate::connection::DbConnection;
use crate::dialect::{Dialect, SqlFragment};
use crate::resources::{ListQuery, Record, RecordRow};
use crate::{OrgId, StoreError};

/// Where a keyset walk stands: the sort key value, creation time and id of the last row shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// `None` in the default order, which has no sort key.
    key: Option<SortValue>,
    created_at: i64,
    id: String,
}

/// A sort key value as the database produced it, kept in its own type so that the next page
/// compares it exactly as `ORDER BY` did (SQLite orders by storage class first).
#[derive(Debug, Clone, PartialEq)]
enum SortValue {
    /// Unassigned: last ascending, first descending.
    Null,
    Int(i64),
    Real(f64),
    /// A PostgreSQL `numeric`, in its exact text form.
    Numeric(String),
    Text(String),
}

/// A [`Position`] that does not fit the query it was given to: one taken in another order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the position belongs to a listing in another order")]
pub struct MismatchedPosition;

impl Position {
    /// The position as JSON, for the caller to keep (and to sign, if it leaves the process).
    pub fn to_json(&self) -> Value {
        let mut out = vec![json!(self.created_at), json!(self.id)];
        match &self.key {
            None => {}
            Some(SortValue::Null) => out.push(json!("n")),
            Some(SortValue::Int(v)) => out.extend([json!("i"), json!(v)]),
            Some(SortValue::Real(v)) => out.extend([json!("r"), json!(v)]),
            Some(SortValue::Numeric(v)) => out.extend([json!("d"), json!(v)]),
            Some(SortValue::Text(v)) => out.extend([json!("s"), json!(v)]),
        }
        Value::Array(out)
    }

    /// The position [`to_json`](Self::to_json) wrote; `None` for anything else.
    pub fn from_json(value: &Value) -> Option<Position> {
        let items = value.as_array()?;
        let created_at = items.first()?.as_i64()?;
        let id = items.get(1)?.as_str()?.to_owned();
        let key = match (items.get(2).map(Value::as_str), items.get(3)) {
            (None, None) => None,
            (Some(Some("n")), None) => Some(SortValue::Null),
            (Some(Some("i")), Some(v)) => Some(SortValue::Int(v.as_i64()?)),
            (Some(Some("r")), Some(v)) => Some(SortValue::Real(v.as_f64()?)),
            (Some(Some("d")), Some(v)) => Some(SortValue::Numeric(v.as_str()?.to_owned())),
            (Some(Some("s")), Some(v)) => Some(SortValue::Text(v.as_str()?.to_owned())),
            _ => return None,
        };
        if items.len() > 4 {
            return None;
        }
        Some(Position {
            key,
            created_at,
            id,
        })
    }
}

impl ListQuery {
    /// The same query, its page starting strictly after `position` (its offset ignored).
    ///
    /// # Errors
    /// [`MismatchedPosition`] when `position` was taken in a listing with a sort key and this
    /// one has none, or the other way round.
    pub fn after(mut self, position: Position) -> Result<Self, MismatchedPosition> {
        if position.key.is_some() != self.sort_key.is_some() {
            return Err(MismatchedPosition);
        }
        self.after = Some(position);
        Ok(self)
    }

    /// `(created_at, id) > (…)`: the tie-breakers, always ascending. Named through the table,
    /// which a listing from index candidates joins with them.
    fn push_tie(&self, out: &mut SqlFragment, position: &Position) {
        let table = self.kind().table;
        out.push_sql(&format!("({table}.created_at, {table}.id) > ("))
            .push_bind(position.created_at)
            .push_sql(", ")
            .push_bind(position.id.as_str())
            .push_sql(")");
    }

    /// The condition for rows after `self.after` in the listing's order. Every branch is TRUE
    /// or FALSE, never NULL: a NULL key is tested with `IS NULL` rather than compared.
    fn keyset_condition(&self) -> Option<SqlFragment> {
        let position = self.after.as_ref()?;
        let mut out = SqlFragment::new();
        let (key, descending) = match (&self.sort_key, &position.key) {
            (Some((key, descending)), Some(value)) => ((key, value), *descending),
            _ => {
                self.push_tie(&mut out, position);
                return Some(out);
            }
        };
        let (key, value) = key;
        let push_key = |out: &mut SqlFragment| {
            out.push_sql("(").push_fragment(key).push_sql(")");
        };
        match (value, descending) {
            // ASC NULLS LAST, after NULL: only the remaining NULLs.
            (SortValue::Null, false) => {
                out.push_sql("(");
                push_key(&mut out);
                out.push_sql(" IS NULL AND ");
                self.push_tie(&mut out, position);
                out.push_sql(")");
            }
            // DESC NULLS FIRST, after NULL: the remaining NULLs, then every value.
            (SortValue::Null, true) => {
                out.push_sql("(");
                push_key(&mut out);
                out.push_sql(" IS NOT NULL OR ");
                self.push_tie(&mut out, position);
                out.push_sql(")");
            }
            (value, descending) => {
                out.push_sql("(");
                push_key(&mut out);
                out.push_sql(if descending { " < " } else { " > " });
                push_value(&mut out, value);
                if !descending {
                    // Ascending, unassigned values come last: all still ahead.
                    out.push_sql(" OR ");
                    push_key(&mut out);
                    out.push_sql(" IS NULL");
                }
                out.push_sql(" OR (");
                push_key(&mut out);
                out.push_sql(" = ");
                push_value(&mut out, value);
                out.push_sql(" AND ");
                self.push_tie(&mut out, position);
                out.push_sql("))");
            }
        }
        Some(out)
    }

    /// The select list of the sort key's value, typed so that it can be compared again.
    fn sort_columns(&self, dialect: Dialect) -> SqlFragment {
        let Some((key, _)) = &self.sort_key else {
            return SqlFragment::sql(
                ", '' AS sort_type, CAST(NULL AS TEXT) AS sort_text, \
                 CAST(NULL AS BIGINT) AS sort_int, CAST(NULL AS DOUBLE PRECISION) AS sort_real",
            );
        };
        let mut out = SqlFragment::new();
        let mut key_sql = SqlFragment::sql("(");
        key_sql.push_fragment(key).push_sql(")");
        match dialect {
            Dialect::Postgres => {
                out.push_sql(", pg_typeof(")
                    .push_fragment(&key_sql)
                    .push_sql(")::text AS sort_type, CAST(")
                    .push_fragment(&key_sql)
                    .push_sql(
                        " AS TEXT) AS sort_text, CAST(NULL AS BIGINT) AS sort_int, \
                         CAST(NULL AS DOUBLE PRECISION) AS sort_real",
                    );
            }
            Dialect::Sqlite => {
                out.push_sql(", typeof(")
                    .push_fragment(&key_sql)
                    .push_sql(") AS sort_type, CAST(")
                    .push_fragment(&key_sql)
                    .push_sql(" AS TEXT) AS sort_text, CASE WHEN typeof(")
                    .push_fragment(&key_sql)
                    .push_sql(") = 'integer' THEN ")
                    .push_fragment(&key_sql)
                    .push_sql(" END AS sort_int, CASE WHEN typeof(")
                    .push_fragment(&key_sql)
                    .push_sql(") = 'real' THEN ")
                    .push_fragment(&key_sql)
                    .push_sql(" END AS sort_real");
            }
        }
        out
    }
}

fn push_value(out: &mut SqlFragment, value: &SortValue) {
    match value {
        SortValue::Null => {
            out.push_sql("NULL");
        }
        SortValue::Int(v) => {
            out.push_bind(*v);
        }
        SortValue::Real(v) => {
            out.push_bind(*v);
        }
        SortValue::Numeric(v) => {
            out.push_sql("CAST(")
                .push_bind(v.as_str())
                .push_sql(" AS NUMERIC)");
        }
        SortValue::Text(v) => {
            out.push_bind(v.as_str());
        }
    }
}

#[derive(QueryableByName)]
struct KeysetRow {
    #[diesel(embed)]
    record: RecordRow,
    #[diesel(sql_type = Text)]
    sort_type: String,
    #[diesel(sql_type = Nullable<Text>)]
    sort_text: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    sort_int: Option<i64>,
    #[diesel(sql_type = Nullable<Double>)]
    sort_real: Option<f64>,
}

impl KeysetRow {
    /// The row's sort key value, in the type the database gave it; `None` without a sort key.
    fn sort_value(&self, sorted: bool) -> Result<Option<SortValue>, StoreError> {
        if !sorted {
            return Ok(None);
        }
        let Some(text) = &self.sort_text else {
            return Ok(Some(SortValue::Null));
        };
        let value = match (self.sort_type.as_str(), self.sort_int, self.sort_real) {
            (_, Some(v), _) => SortValue::Int(v),
            (_, _, Some(v)) => SortValue::Real(v),
            ("bigint" | "integer" | "smallint", _, _) => {
                SortValue::Int(text.parse().map_err(StoreError::other)?)
            }
            ("numeric", _, _) => SortValue::Numeric(text.clone()),
            _ => SortValue::Text(text.clone()),
        };
        Ok(Some(value))
    }
}

/// A keyset page: its rows in the listing's order, each with the position just after it.
#[derive(Debug, Clone)]
pub struct KeysetPage {
    /// The rows, at most the query's limit, each with the position a page starting after it
    /// would take.
    pub items: Vec<(Record, Position)>,
    /// Whether rows follow the last one here.
    pub more: bool,
}

/// The page of `query` (its limit; its offset ignored) starting after its position, or at the
/// start without one, and whether more rows follow. It does not count: see
/// [`crate::resources::count`].
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn list_after(conn: &mut DbConnection, query: &ListQuery) -> Result<KeysetPage, StoreError> {
    let dialect = conn.dialect();
    let limit = query.limit().max(0);
    let table = query.kind().table;
    let mut page = SqlFragment::sql(format!("SELECT {}", query.kind().qualified_select_list()));
    page.push_fragment(&query.sort_columns(dialect))
        .push_fragment(&query.filtered_rows());
    if let Some(condition) = query.keyset_condition() {
        page.push_sql(" AND ").push_fragment(&condition);
    }
    page.push_sql(" ORDER BY ");
    if let Some(order_by) = query.order_by() {
        page.push_fragment(order_by).push_sql(", ");
    }
    // One more row than asked tells whether another page follows without counting.
    page.push_sql(&format!("{table}.created_at, {table}.id LIMIT "))
        .push_bind(limit.saturating_add(1));
    let rows = dialect.query(&page).load::<KeysetRow>(conn.raw())?;
    let more = i64::try_from(rows.len()).map_or(true, |n| n > limit);
    let sorted = query.sort_key.is_some();
    let items = rows
        .into_iter()
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .map(|row| {
            let key = row.sort_value(sorted)?;
            let record = Record::from(row.record);
            let position = Position {
                key,
                created_at: crate::timestamp::to_micros(record.created),
                id: record.id.clone(),
            };
            Ok((record, position))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(KeysetPage { items, more })
}

#[derive(QueryableByName)]
struct KeyRow {
    #[diesel(sql_type = Nullable<Text>)]
    cursor_key: Option<String>,
}

/// The key that signs `org`'s cursors: the stored one, or `candidate` stored as it when the
/// organisation has none yet. Concurrent callers (other replicas included) all get the one key
/// that was stored first. `None` when the organisation does not exist.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn signing_key(
    conn: &mut DbConnection,
    org: OrgId,
    candidate: &str,
) -> Result<Option<String>, StoreError> {
    let dialect = conn.dialect();
    let mut set = SqlFragment::sql("UPDATE organizations SET cursor_key = ");
    set.push_bind(candidate)
        .push_sql(" WHERE id = ")
        .push_bind(org)
        .push_sql(" AND cursor_key IS NULL");
    dialect.query(&set).execute(conn.raw())?;
    let mut get = SqlFragment::sql("SELECT cursor_key FROM organizations WHERE id = ");
    get.push_bind(org);
    Ok(dialect
        .query(&get)
        .get_result::<KeyRow>(conn.raw())
        .optional()?
        .and_then(|row| row.cursor_key))
}
