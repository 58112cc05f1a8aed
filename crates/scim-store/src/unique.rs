//! Uniqueness a declaration asks for (`uniqueness: server` on an attribute that is not the
//! type's own unique name): the `unique_values` table, one row per (resource, attribute) whose
//! primary key lets one live resource per organisation and type hold a value.
//!
//! Which attributes are unique is data, per kind ([`ResourceKind::unique`]); the values come
//! from the search document, already folded where the attribute is case-insensitive, so "Bob"
//! and "bob" collide exactly when a filter would call them equal. Every write claims its values
//! in its own transaction with `INSERT … ON CONFLICT DO NOTHING`: a row not inserted is a value
//! held by another resource, and PostgreSQL makes a concurrent claim of the same value wait for
//! the first transaction's outcome, so two racing writers never both win.

use std::collections::HashSet;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::connection::DbConnection;
use crate::dialect::{execute_sql, load_rows, SqlFragment};
use crate::resources::ResourceKind;
use crate::values::IndexedAttribute;
use crate::{OrgId, StoreError};

/// Values longer than this are kept as their digest.
const MAX_KEPT_BYTES: usize = 256;

/// The value of `attribute` in `search`, a search document, as the table keeps it; `None` when
/// unassigned (an unassigned value is never taken).
fn value_of(attribute: &IndexedAttribute, search: &Value) -> Option<String> {
    let mut at = search;
    for name in attribute.path {
        at = at.as_object()?.get(*name)?;
    }
    let text = at.as_str().filter(|text| !text.is_empty())?;
    if text.len() <= MAX_KEPT_BYTES {
        return Some(text.to_owned());
    }
    let digest = Sha256::digest(text.as_bytes());
    let mut key = String::from("#sha256:");
    for byte in digest {
        key.push_str(&format!("{byte:02x}"));
    }
    Some(key)
}

fn parse(search: &str) -> Value {
    serde_json::from_str(search).unwrap_or(Value::Null)
}

/// Claims the unique values of new resources, given as `(organisation, id, search document)`,
/// in multi-row statements: an import of many costs a few statements, not one per resource.
///
/// # Errors
/// [`StoreError::ValueTaken`] naming the attribute when another live resource of the kind in
/// the organisation holds a value, or two of `resources` share one.
pub(crate) fn claim(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    resources: &[(OrgId, &str, &str)],
) -> Result<(), StoreError> {
    if kind.unique.is_empty() {
        return Ok(());
    }
    let mut claims = Vec::new();
    for (org, id, search) in resources {
        let search = parse(search);
        for attribute in kind.unique {
            if let Some(value) = value_of(attribute, &search) {
                claims.push(Claim {
                    org: *org,
                    id,
                    attribute,
                    value,
                });
            }
        }
    }
    claim_rows(conn, kind, &claims)
}

/// One value a resource claims.
struct Claim<'a> {
    org: OrgId,
    id: &'a str,
    attribute: &'a IndexedAttribute,
    value: String,
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = Text)]
    attr: String,
    #[diesel(sql_type = Text)]
    resource_id: String,
}

/// Claims per INSERT: five bound values each keeps a statement far below both backends'
/// limits on bound parameters.
const CLAIM_BATCH: usize = 400;

/// Inserts `claims`; a row the database leaves out (`ON CONFLICT DO NOTHING`) is a value held
/// already, by another resource or by an earlier claim of the same statement.
fn claim_rows(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    claims: &[Claim<'_>],
) -> Result<(), StoreError> {
    for batch in claims.chunks(CLAIM_BATCH) {
        let mut sql = SqlFragment::sql(
            "INSERT INTO unique_values (org_id, resource_type, attr, value, resource_id) VALUES ",
        );
        for (i, claim) in batch.iter().enumerate() {
            sql.push_sql(if i == 0 { "(" } else { ", (" })
                .push_bind(claim.org)
                .push_sql(", ")
                .push_bind(kind.name)
                .push_sql(", ")
                .push_bind(claim.attribute.key)
                .push_sql(", ")
                .push_bind(claim.value.as_str())
                .push_sql(", ")
                .push_bind(claim.id)
                .push_sql(")");
        }
        sql.push_sql(" ON CONFLICT DO NOTHING RETURNING attr, resource_id");
        let claimed: HashSet<(String, String)> =
            load_rows::<Claimed>(conn, &sql, batch.len() == 1)?
                .into_iter()
                .map(|row| (row.attr, row.resource_id))
                .collect();
        if let Some(lost) = batch
            .iter()
            .find(|claim| !claimed.contains(&(claim.attribute.key.to_owned(), claim.id.to_owned())))
        {
            return Err(StoreError::ValueTaken {
                attribute: lost.attribute.key.to_owned(),
            });
        }
    }
    Ok(())
}

/// Moves the claims of resource `id` from the values of `old_search` to those of
/// `new_search`, touching only the attributes whose value changed.
///
/// # Errors
/// As [`claim`].
pub(crate) fn update(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
    old_search: &str,
    new_search: &str,
) -> Result<(), StoreError> {
    if kind.unique.is_empty() || old_search == new_search {
        return Ok(());
    }
    let (old, new) = (parse(old_search), parse(new_search));
    for attribute in kind.unique {
        let (before, after) = (value_of(attribute, &old), value_of(attribute, &new));
        if before == after {
            continue;
        }
        if before.is_some() {
            release(conn, kind, org, id, Some(attribute))?;
        }
        if let Some(value) = after {
            let claim = Claim {
                org,
                id,
                attribute,
                value,
            };
            claim_rows(conn, kind, std::slice::from_ref(&claim))?;
        }
    }
    Ok(())
}

/// Gives up the claims of resource `id` (on `attribute`, or all of them).
pub(crate) fn release(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
    attribute: Option<&IndexedAttribute>,
) -> Result<(), StoreError> {
    if kind.unique.is_empty() {
        return Ok(());
    }
    let mut sql = SqlFragment::sql("DELETE FROM unique_values WHERE org_id = ");
    sql.push_bind(org)
        .push_sql(" AND resource_id = ")
        .push_bind(id)
        .push_sql(" AND resource_type = ")
        .push_bind(kind.name);
    if let Some(attribute) = attribute {
        sql.push_sql(" AND attr = ").push_bind(attribute.key);
    }
    execute_sql(conn, &sql, true)?;
    Ok(())
}

/// Removes every claim of `kind`, before a rebuild claims the values of its live resources
/// again (see `values::reindex`).
pub(crate) fn clear(conn: &mut DbConnection, kind: &ResourceKind) -> Result<(), StoreError> {
    let mut sql = SqlFragment::sql("DELETE FROM unique_values WHERE resource_type = ");
    sql.push_bind(kind.name);
    conn.dialect().query(&sql).execute(conn.raw())?;
    Ok(())
}
