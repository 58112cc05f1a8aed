//! The attribute–value index: the `resource_values` table, one row per (resource, indexed
//! attribute, distinct value), which lets the filter → SQL translation find the few candidates
//! of a lookup through one B-tree however the filter spells it (see `filter_sql`).
//!
//! Which attributes a resource type keeps here is data: [`ResourceKind::indexed`]. Rows are
//! derived from the search document alone — the form filters compare against, already
//! case-folded where the attribute is case-insensitive and with dateTimes in their sortable
//! form — so an index lookup and the exact condition that follows it always agree. Every write
//! keeps the rows in step in its own transaction: a create inserts them, a replace writes only
//! the difference (a PATCH of `active` touches none), a delete removes them.
//!
//! The index only ever narrows a search to candidates; the exact condition is still applied to
//! each, so a value cut to [`MAX_VALUE_BYTES`] or a stale extra row can cost a recheck but never
//! a wrong answer. A missing row could, which is why [`reindex`] rebuilds a type's rows whenever
//! its list of indexed attributes differs from the one its rows were built for.

use std::collections::BTreeSet;

use diesel::sql_types::{BigInt, Text};
use diesel::{OptionalExtension, QueryableByName, RunQueryDsl};
use serde_json::Value;

use crate::connection::{write_transaction, DbConnection};
use crate::dialect::{execute_sql, SqlFragment, PREPARED_LIST};
use crate::resources::ResourceKind;
use crate::{unique, OrgId, StoreError};

/// An attribute kept in the attribute–value index.
#[derive(Debug, PartialEq, Eq)]
pub struct IndexedAttribute {
    /// How the `attr` column names it: the attribute path as a filter writes it, with the
    /// schema URN and `:` in front for an extension attribute.
    pub(crate) key: &'static str,
    /// Where its values sit in the search document: `[urn,] name [, sub]`, canonical names.
    pub(crate) path: &'static [&'static str],
}

impl IndexedAttribute {
    /// The attribute's name in the `attr` column (`emails.value`, `name.familyName`).
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// Whether `path` (`[urn,] name [, sub]`) is this attribute.
    pub(crate) fn is(&self, path: &[&str]) -> bool {
        self.path == path
    }
}

/// The longest value kept, in bytes; longer ones are cut at a character boundary below it.
/// PostgreSQL refuses B-tree entries of more than about 2,700 bytes, and a lookup needs no more
/// than a prefix: the exact condition decides.
pub(crate) const MAX_VALUE_BYTES: usize = 1024;

/// `text` cut to at most [`MAX_VALUE_BYTES`], at a character boundary.
pub(crate) fn cut(text: &str) -> &str {
    if text.len() <= MAX_VALUE_BYTES {
        return text;
    }
    let mut end = MAX_VALUE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One row's `(attr, value)`.
type Entry = (&'static str, String);

/// The index entries of a resource of `kind` whose search document is `search`: every string
/// or boolean value at each indexed path, in every element of the arrays on the way.
fn entries(kind: &ResourceKind, search: &Value) -> BTreeSet<Entry> {
    let mut out = BTreeSet::new();
    for attribute in kind.indexed {
        collect(search, attribute.path, &mut |value| {
            out.insert((attribute.key, value));
        });
    }
    out
}

fn collect(value: &Value, path: &[&str], out: &mut impl FnMut(String)) {
    match (value, path.split_first()) {
        (Value::Array(items), _) => {
            for item in items {
                collect(item, path, out);
            }
        }
        (Value::Object(object), Some((first, rest))) => {
            if let Some(next) = object.get(*first) {
                collect(next, rest, out);
            }
        }
        (Value::String(text), None) => out(cut(text).to_owned()),
        (Value::Bool(flag), None) => out(flag.to_string()),
        _ => {}
    }
}

/// The attribute–value index entries of a resource of `kind` whose search document is `search`,
/// as `(attr, value)`: what every write stores, for tools that load rows directly.
pub fn index_entries(kind: &ResourceKind, search: &str) -> Vec<(&'static str, String)> {
    entries(kind, &parse(search)).into_iter().collect()
}

fn parse(search: &str) -> Value {
    // The store wrote every search document itself, from a serde_json value; one that does not
    // parse has no values to index.
    serde_json::from_str(search).unwrap_or(Value::Null)
}

/// Indexes new resources, given as `(organisation, id, search document)`, in multi-row
/// statements.
pub(crate) fn insert_new_many(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    resources: &[(OrgId, &str, &str)],
) -> Result<(), StoreError> {
    let entries: Vec<(OrgId, &str, BTreeSet<Entry>)> = resources
        .iter()
        .map(|(org, id, search)| (*org, *id, entries(kind, &parse(search))))
        .collect();
    let rows: Vec<(OrgId, &str, &Entry)> = entries
        .iter()
        .flat_map(|(org, id, set)| set.iter().map(move |entry| (*org, *id, entry)))
        .collect();
    insert_rows(conn, kind, &rows)
}

/// Brings a resource's entries from those of `old_search` to those of `new_search`, writing
/// only what differs.
pub(crate) fn update(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
    old_search: &str,
    new_search: &str,
) -> Result<(), StoreError> {
    if kind.indexed.is_empty() || old_search == new_search {
        return Ok(());
    }
    let old = entries(kind, &parse(old_search));
    let new = entries(kind, &parse(new_search));
    remove(conn, kind, org, id, old.difference(&new))?;
    insert(conn, kind, org, id, new.difference(&old))
}

/// Removes a resource's entries, those of its current search document `search`.
pub(crate) fn remove_all(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
    search: &str,
) -> Result<(), StoreError> {
    let entries = entries(kind, &parse(search));
    remove(conn, kind, org, id, entries.iter())
}

/// Rows per INSERT: five bound values each keeps a statement far below both backends' limits on
/// bound parameters.
const INSERT_BATCH: usize = 500;

fn insert<'a>(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
    entries: impl Iterator<Item = &'a Entry>,
) -> Result<(), StoreError> {
    let rows: Vec<(OrgId, &str, &Entry)> = entries.map(|entry| (org, id, entry)).collect();
    insert_rows(conn, kind, &rows)
}

/// Inserts `(org, resource id, entry)` rows in multi-row statements. A row already there is
/// left alone.
fn insert_rows(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    rows: &[(OrgId, &str, &Entry)],
) -> Result<(), StoreError> {
    for batch in rows.chunks(INSERT_BATCH) {
        let mut sql = SqlFragment::sql(
            "INSERT INTO resource_values (org_id, resource_type, attr, value, resource_id) VALUES ",
        );
        for (i, (org, id, (attr, value))) in batch.iter().enumerate() {
            sql.push_sql(if i == 0 { "(" } else { ", (" })
                .push_bind(*org)
                .push_sql(", ")
                .push_bind(kind.name)
                .push_sql(", ")
                .push_bind(*attr)
                .push_sql(", ")
                .push_bind(value.as_str())
                .push_sql(", ")
                .push_bind(*id)
                .push_sql(")");
        }
        sql.push_sql(" ON CONFLICT DO NOTHING");
        execute_sql(conn, &sql, batch.len() <= PREPARED_LIST)?;
    }
    Ok(())
}

/// Values per DELETE.
const DELETE_BATCH: usize = 500;

/// Deletes entries by their full key, one statement per attribute (and per batch of values), so
/// each is a handful of index probes whatever the organisation's size.
fn remove<'a>(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
    entries: impl Iterator<Item = &'a Entry>,
) -> Result<(), StoreError> {
    let entries: Vec<&Entry> = entries.collect();
    for attribute in kind.indexed {
        let values: Vec<&str> = entries
            .iter()
            .filter(|(attr, _)| *attr == attribute.key)
            .map(|(_, value)| value.as_str())
            .collect();
        for batch in values.chunks(DELETE_BATCH) {
            let mut sql = SqlFragment::sql("DELETE FROM resource_values WHERE org_id = ");
            sql.push_bind(org)
                .push_sql(" AND resource_type = ")
                .push_bind(kind.name)
                .push_sql(" AND attr = ")
                .push_bind(attribute.key)
                .push_sql(" AND value IN (");
            for (i, value) in batch.iter().enumerate() {
                if i > 0 {
                    sql.push_sql(", ");
                }
                sql.push_bind(*value);
            }
            sql.push_sql(") AND resource_id = ").push_bind(id);
            execute_sql(conn, &sql, batch.len() <= PREPARED_LIST)?;
        }
    }
    Ok(())
}

#[derive(QueryableByName)]
struct State {
    #[diesel(sql_type = Text)]
    attributes: String,
}

#[derive(QueryableByName)]
struct SearchRow {
    #[diesel(sql_type = BigInt)]
    org_id: i64,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    search: String,
}

/// Resources read per batch while rebuilding.
const REINDEX_BATCH: i64 = 1_000;

/// Rebuilds the entries of every built-in kind whose rows were built for fewer attributes than
/// this build indexes (a new database, a new release that indexes more), each kind in one
/// transaction; returns the names of the kinds rebuilt. Runs with the migrations, under their
/// lock. Rows built for more (a server's declarations added some, see [`reindex_kinds`]) are
/// left as they are: the server keeps them right, and migrating must not undo its work.
pub(crate) fn reindex(conn: &mut DbConnection) -> Result<Vec<String>, StoreError> {
    reindex_kinds(conn, &ResourceKind::ALL, false)
}

/// Rebuilds, for each of `kinds`, the attribute–value index when the attributes its rows were
/// built for are not those the kind indexes (`exact`), or lack some of them (not `exact`), and
/// the claims of its unique attributes when those changed; each rebuild in one transaction.
/// Returns what was rebuilt (`reindex User`, `unique User`).
///
/// # Errors
/// [`StoreError::ValueTaken`] when live resources already share a value of an attribute now
/// declared unique (nothing of that kind's claims is written).
pub(crate) fn reindex_kinds(
    conn: &mut DbConnection,
    kinds: &[&ResourceKind],
    exact: bool,
) -> Result<Vec<String>, StoreError> {
    let mut rebuilt = Vec::new();
    for kind in kinds {
        let keys: Vec<&str> = kind.indexed.iter().map(IndexedAttribute::key).collect();
        let wanted = keys.join("\n");
        let current = match stored_state(conn, kind.name)? {
            None => false,
            Some(stored) if exact => stored == wanted,
            Some(stored) => {
                let have: Vec<&str> = stored.split('\n').collect();
                keys.iter().all(|key| have.contains(key))
            }
        };
        if !current {
            write_transaction(conn, |conn| rebuild(conn, kind, &wanted))?;
            rebuilt.push(format!("reindex {}", kind.name));
        }
        if !exact {
            continue;
        }
        let unique_state = format!("{} unique", kind.name);
        let wanted: Vec<&str> = kind.unique.iter().map(IndexedAttribute::key).collect();
        let wanted = wanted.join("\n");
        let stored = stored_state(conn, &unique_state)?;
        if stored.as_deref().unwrap_or_default() != wanted {
            write_transaction(conn, |conn| {
                unique::clear(conn, kind)?;
                each_live(conn, kind, |conn, rows| unique::claim(conn, kind, rows))?;
                save_state(conn, &unique_state, &wanted)
            })?;
            rebuilt.push(format!("unique {}", kind.name));
        }
    }
    Ok(rebuilt)
}

/// The attributes `key`'s rows were last built for, if ever.
fn stored_state(conn: &mut DbConnection, key: &str) -> Result<Option<String>, StoreError> {
    let mut select =
        SqlFragment::sql("SELECT attributes FROM value_index_state WHERE resource_type = ");
    select.push_bind(key);
    Ok(conn
        .dialect()
        .query(&select)
        .get_result::<State>(conn.raw())
        .optional()?
        .map(|state| state.attributes))
}

fn save_state(conn: &mut DbConnection, key: &str, attributes: &str) -> Result<(), StoreError> {
    let mut state =
        SqlFragment::sql("INSERT INTO value_index_state (resource_type, attributes) VALUES (");
    state
        .push_bind(key)
        .push_sql(", ")
        .push_bind(attributes)
        .push_sql(") ON CONFLICT (resource_type) DO UPDATE SET attributes = excluded.attributes");
    conn.dialect().query(&state).execute(conn.raw())?;
    Ok(())
}

/// Calls `each` with every live resource of `kind` as `(organisation, id, search document)`,
/// a batch at a time, in key order.
fn each_live(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    mut each: impl FnMut(&mut DbConnection, &[(OrgId, &str, &str)]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut after: Option<(i64, String)> = None;
    loop {
        let mut select = SqlFragment::sql(format!(
            "SELECT org_id, id, search FROM {} WHERE deleted_at IS NULL{}",
            kind.table,
            kind.scope("")
        ));
        if let Some((org, id)) = &after {
            select
                .push_sql(" AND (org_id > ")
                .push_bind(*org)
                .push_sql(" OR (org_id = ")
                .push_bind(*org)
                .push_sql(" AND id > ")
                .push_bind(id.as_str())
                .push_sql("))");
        }
        select
            .push_sql(" ORDER BY org_id, id LIMIT ")
            .push_bind(REINDEX_BATCH);
        let rows = conn
            .dialect()
            .query(&select)
            .load::<SearchRow>(conn.raw())?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = Some((last.org_id, last.id.clone()));
        let resources: Vec<(OrgId, &str, &str)> = rows
            .iter()
            .map(|row| (OrgId(row.org_id), row.id.as_str(), row.search.as_str()))
            .collect();
        each(conn, &resources)?;
    }
}

fn rebuild(conn: &mut DbConnection, kind: &ResourceKind, wanted: &str) -> Result<(), StoreError> {
    let mut clear = SqlFragment::sql("DELETE FROM resource_values WHERE resource_type = ");
    clear.push_bind(kind.name);
    conn.dialect().query(&clear).execute(conn.raw())?;
    each_live(conn, kind, |conn, rows| insert_new_many(conn, kind, rows))?;
    save_state(conn, kind.name, wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_VALUE_BYTES);
        let kept = cut(&long);
        assert!(kept.len() <= MAX_VALUE_BYTES);
        assert!(kept.len() >= MAX_VALUE_BYTES - 1);
        assert!(long.starts_with(kept));
        assert_eq!(cut("short"), "short");
    }

    #[test]
    fn entries_flatten_arrays_and_skip_numbers() {
        let search = serde_json::json!({
            "userName": "bjensen",
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x"}, {"value": 3}],
            "name": {"familyName": "jensen"},
            "active": true,
        });
        let found = entries(&crate::resources::USERS, &search);
        assert!(found.contains(&("userName", "bjensen".to_owned())));
        assert!(found.contains(&("emails.value", "a@x".to_owned())));
        assert!(found.contains(&("emails.value", "b@x".to_owned())));
        assert!(found.contains(&("name.familyName", "jensen".to_owned())));
        assert!(!found.iter().any(|(_, value)| value == "3"));
    }
}
