//! Group memberships: one `group_members` row per (group, member), never inside the group's
//! document, so a membership change is a set change whose cost does not grow with the group.
//!
//! A member is a live user or group of the same organisation. Nested groups are allowed; a
//! cycle (a group inside itself, directly or not) is refused. Deleting a resource removes its
//! memberships in the same transaction (see [`crate::resources::delete`]).
//!
//! These functions do not bump the group's version or record its event: the caller writes the
//! group with [`crate::resources::replace`] in the same transaction, which does both.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use crate::connection::DbConnection;
use crate::dialect::SqlFragment;
use crate::events::UnknownValue;
use crate::{OrgId, StoreError};

/// Ids per statement: keeps every statement far below PostgreSQL's limit on bound parameters.
const BATCH: usize = 500;

/// What kind of resource a member is (`members.type`, RFC 7643 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemberType {
    /// A user.
    User,
    /// A group (a nested group).
    Group,
}

impl MemberType {
    /// `User` or `Group`, as SCIM writes it and the table stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberType::User => "User",
            MemberType::Group => "Group",
        }
    }
}

impl fmt::Display for MemberType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MemberType {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("User") {
            Ok(MemberType::User)
        } else if s.eq_ignore_ascii_case("Group") {
            Ok(MemberType::Group)
        } else {
            Err(UnknownValue::new("member type", s))
        }
    }
}

/// A member of a group, as a read shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's id (`members.value`).
    pub value: String,
    /// What it is.
    pub member_type: MemberType,
    /// Its name: a user's userName, a group's displayName (`members.display`).
    pub display: String,
}

/// A group a resource belongs to, directly or through nested groups (a User's `groups`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    /// The group's id.
    pub id: String,
    /// Its displayName.
    pub display: String,
    /// Whether the membership is direct (else it comes through a nested group).
    pub direct: bool,
}

#[derive(QueryableByName)]
struct Resolved {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    member_type: String,
}

#[derive(QueryableByName)]
struct MemberRow {
    #[diesel(sql_type = Text)]
    group_id: String,
    #[diesel(sql_type = Text)]
    member_id: String,
    #[diesel(sql_type = Text)]
    member_type: String,
    #[diesel(sql_type = Text)]
    display: String,
}

#[derive(QueryableByName)]
struct GroupRefRow {
    #[diesel(sql_type = Text)]
    member_id: String,
    #[diesel(sql_type = Text)]
    group_id: String,
    #[diesel(sql_type = Text)]
    display: String,
    #[diesel(sql_type = BigInt)]
    depth: i64,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

fn push_ids(sql: &mut SqlFragment, ids: &[&str]) {
    sql.push_sql("(");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push_sql(", ");
        }
        sql.push_bind(*id);
    }
    sql.push_sql(")");
}

/// Which of `ids` are live users or groups of `org`, and what each is. Ids that are neither
/// are absent from the answer. Inside a transaction the rows found stay live until it ends (a
/// concurrent delete waits), so a member added after this never dangles.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn resolve(
    conn: &mut DbConnection,
    org: OrgId,
    ids: &[String],
) -> Result<HashMap<String, MemberType>, StoreError> {
    let mut found = HashMap::with_capacity(ids.len());
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let share = conn.dialect().share_rows_clause();
    for batch in ids.chunks(BATCH) {
        // One statement per table: PostgreSQL takes no row locks through a UNION.
        for (table, member_type) in [("users", "User"), ("groups", "Group")] {
            let mut sql = SqlFragment::sql(format!(
                "SELECT id, '{member_type}' AS member_type FROM {table} WHERE org_id = "
            ));
            sql.push_bind(org)
                .push_sql(" AND deleted_at IS NULL AND id IN ");
            push_ids(&mut sql, batch);
            sql.push_sql(share);
            for row in conn.dialect().query(&sql).load::<Resolved>(conn)? {
                let member_type = row.member_type.parse().map_err(StoreError::other)?;
                found.insert(row.id, member_type);
            }
        }
    }
    Ok(found)
}

/// Adds `members` (ids already [resolved](resolve)) to the group `group_id` of `org`; members
/// it already has are left as they are. Returns how many were added.
///
/// # Errors
/// [`StoreError::MembershipCycle`] when a group member would contain the group itself (directly
/// or through nested groups), or is the group; nothing is added then.
pub fn add(
    conn: &mut DbConnection,
    org: OrgId,
    group_id: &str,
    members: &[(String, MemberType)],
) -> Result<usize, StoreError> {
    for (id, member_type) in members {
        if *member_type == MemberType::Group && would_cycle(conn, org, group_id, id)? {
            return Err(StoreError::MembershipCycle { member: id.clone() });
        }
    }
    let mut added = 0;
    for batch in members.chunks(BATCH) {
        let mut sql = SqlFragment::sql(
            "INSERT INTO group_members (org_id, group_id, member_id, member_type) VALUES ",
        );
        for (i, (id, member_type)) in batch.iter().enumerate() {
            if i > 0 {
                sql.push_sql(", ");
            }
            sql.push_sql("(")
                .push_bind(org)
                .push_sql(", ")
                .push_bind(group_id)
                .push_sql(", ")
                .push_bind(id.as_str())
                .push_sql(", ")
                .push_bind(member_type.as_str())
                .push_sql(")");
        }
        sql.push_sql(" ON CONFLICT (org_id, group_id, member_id) DO NOTHING");
        added += conn.dialect().query(&sql).execute(conn)?;
    }
    Ok(added)
}

/// Whether making `candidate` (a group) a member of `group_id` closes a cycle: `candidate` is
/// the group itself, or the group is among `candidate`'s nested groups. Walks nested groups
/// only, through their own index, never a group's user members.
fn would_cycle(
    conn: &mut DbConnection,
    org: OrgId,
    group_id: &str,
    candidate: &str,
) -> Result<bool, StoreError> {
    if candidate == group_id {
        return Ok(true);
    }
    let mut sql = SqlFragment::sql("WITH RECURSIVE down(id) AS (SELECT ");
    sql.push_bind(candidate)
        .push_sql(
            " UNION SELECT gm.member_id FROM group_members gm JOIN down ON gm.group_id = down.id \
             WHERE gm.org_id = ",
        )
        .push_bind(org)
        .push_sql(" AND gm.member_type = 'Group') SELECT id FROM down WHERE id = ")
        .push_bind(group_id);
    Ok(!conn.dialect().query(&sql).load::<Id>(conn)?.is_empty())
}

/// Removes the members `ids` from the group `group_id` of `org`; ids that are not members are
/// ignored. Returns how many were removed.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn remove(
    conn: &mut DbConnection,
    org: OrgId,
    group_id: &str,
    ids: &[String],
) -> Result<usize, StoreError> {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut removed = 0;
    for batch in ids.chunks(BATCH) {
        let mut sql = SqlFragment::sql("DELETE FROM group_members WHERE org_id = ");
        sql.push_bind(org)
            .push_sql(" AND group_id = ")
            .push_bind(group_id)
            .push_sql(" AND member_id IN ");
        push_ids(&mut sql, batch);
        removed += conn.dialect().query(&sql).execute(conn)?;
    }
    Ok(removed)
}

/// Removes every member of the group `group_id` of `org`; returns how many there were.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn clear(conn: &mut DbConnection, org: OrgId, group_id: &str) -> Result<usize, StoreError> {
    let mut sql = SqlFragment::sql("DELETE FROM group_members WHERE org_id = ");
    sql.push_bind(org)
        .push_sql(" AND group_id = ")
        .push_bind(group_id);
    Ok(conn.dialect().query(&sql).execute(conn)?)
}

/// Removes `member_id` from every group of `org` it belongs to, giving each of those groups a
/// new version and `last_modified` (`now`); returns their ids.
pub(crate) fn remove_everywhere(
    conn: &mut DbConnection,
    org: OrgId,
    member_id: &str,
    now: i64,
) -> Result<Vec<String>, StoreError> {
    let mut bump = SqlFragment::sql("UPDATE groups SET version = version + 1, last_modified = ");
    bump.push_bind(now)
        .push_sql(" WHERE org_id = ")
        .push_bind(org)
        .push_sql(
            " AND deleted_at IS NULL AND id IN (SELECT group_id FROM group_members WHERE org_id = ",
        )
        .push_bind(org)
        .push_sql(" AND member_id = ")
        .push_bind(member_id)
        .push_sql(") RETURNING id");
    let mut parents: Vec<String> = conn
        .dialect()
        .query(&bump)
        .load::<Id>(conn)?
        .into_iter()
        .map(|row| row.id)
        .collect();
    parents.sort_unstable();
    let mut delete = SqlFragment::sql("DELETE FROM group_members WHERE org_id = ");
    delete
        .push_bind(org)
        .push_sql(" AND member_id = ")
        .push_bind(member_id);
    conn.dialect().query(&delete).execute(conn)?;
    Ok(parents)
}

/// The members of the groups `group_ids` of `org`, as (group id, member) pairs ordered by group
/// and member id.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
    group_ids: &[String],
) -> Result<Vec<(String, Member)>, StoreError> {
    let ids: Vec<&str> = group_ids.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for batch in ids.chunks(BATCH) {
        let mut sql = SqlFragment::sql(
            "SELECT gm.group_id, gm.member_id, gm.member_type, \
                    COALESCE(u.user_name, g.display_name, '') AS display \
             FROM group_members gm \
             LEFT JOIN users u ON gm.member_type = 'User' AND u.org_id = gm.org_id \
                 AND u.id = gm.member_id \
             LEFT JOIN groups g ON gm.member_type = 'Group' AND g.org_id = gm.org_id \
                 AND g.id = gm.member_id \
             WHERE gm.org_id = ",
        );
        sql.push_bind(org).push_sql(" AND gm.group_id IN ");
        push_ids(&mut sql, batch);
        sql.push_sql(" ORDER BY gm.group_id, gm.member_id");
        for row in conn.dialect().query(&sql).load::<MemberRow>(conn)? {
            out.push((
                row.group_id,
                Member {
                    value: row.member_id,
                    member_type: row.member_type.parse().map_err(StoreError::other)?,
                    display: row.display,
                },
            ));
        }
    }
    Ok(out)
}

/// The groups that the resources `member_ids` of `org` belong to, directly or through nested
/// groups, as (member id, group) pairs ordered by member and group id. A group reached both
/// directly and indirectly counts as direct.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn groups_of(
    conn: &mut DbConnection,
    org: OrgId,
    member_ids: &[String],
) -> Result<Vec<(String, GroupRef)>, StoreError> {
    let ids: Vec<&str> = member_ids.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for batch in ids.chunks(BATCH) {
        // `UNION` (not `UNION ALL`) keeps the walk finite whatever the graph; depth is 0 for
        // direct groups and 1 for every group above them.
        let mut sql = SqlFragment::sql(
            "WITH RECURSIVE up(member_id, group_id, depth) AS (\
                 SELECT gm.member_id, gm.group_id, CAST(0 AS BIGINT) FROM group_members gm \
                 WHERE gm.org_id = ",
        );
        sql.push_bind(org).push_sql(" AND gm.member_id IN ");
        push_ids(&mut sql, batch);
        sql.push_sql(
            " UNION SELECT up.member_id, gm.group_id, CAST(1 AS BIGINT) FROM up \
              JOIN group_members gm ON gm.member_id = up.group_id AND gm.org_id = ",
        )
        .push_bind(org)
        .push_sql(
            ") SELECT up.member_id, up.group_id, g.display_name AS display, \
                      MIN(up.depth) AS depth \
               FROM up JOIN groups g ON g.id = up.group_id AND g.org_id = ",
        )
        .push_bind(org)
        .push_sql(
            " AND g.deleted_at IS NULL \
              GROUP BY up.member_id, up.group_id, g.display_name \
              ORDER BY up.member_id, up.group_id",
        );
        for row in conn.dialect().query(&sql).load::<GroupRefRow>(conn)? {
            out.push((
                row.member_id,
                GroupRef {
                    id: row.group_id,
                    display: row.display,
                    direct: row.depth == 0,
                },
            ));
        }
    }
    Ok(out)
}
