//! Group memberships: one `group_members` row per (group, member), never inside the group's
//! document, so a membership change is a set change whose cost does not grow with the group.
//!
//! A member is a live user or group of the same organisation. Nested groups are allowed; a
//! cycle (a group inside itself, directly or not) is refused. Deleting a resource removes its
//! memberships in the same transaction (see [`crate::resources::delete`]).
//!
//! [`add`], [`remove`] and [`clear`] record `member_added` and `member_removed` events naming
//! the members that really joined or left. They do not bump the group's version or record its
//! `updated` event: the caller writes the group with [`crate::resources::replace`] in the same
//! transaction, which does both.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::connection::DbConnection;
use crate::dialect::{load_rows, SqlFragment, LIVE_BY_KEY};
use crate::events::{self, EventKind, NewEvent, UnknownValue};
use crate::timestamp::now_micros;
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

/// A member to add to a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMember {
    /// The member's id: a live user or group of the organisation (see [`resolve`]).
    pub id: String,
    /// What it is.
    pub member_type: MemberType,
    /// The `display` the client gave, kept as given (RFC 7643 §2.4: immutable); `None` shows
    /// the member's own name.
    pub display: Option<String>,
}

/// A member of a group, as a read shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's id (`members.value`).
    pub value: String,
    /// What it is.
    pub member_type: MemberType,
    /// `members.display`: as the client gave it, else the member's name (a user's userName, a
    /// group's displayName).
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
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Appends `(?, ?, …)` binding `ids`.
pub(crate) fn push_ids(sql: &mut SqlFragment, ids: &[&str]) {
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
    // One statement per table: PostgreSQL takes no row locks through a UNION.
    for (kind, member_type) in [
        (&crate::resources::USERS, MemberType::User),
        (&crate::resources::GROUPS, MemberType::Group),
    ] {
        for id in crate::resources::live_ids(conn, kind, org, &ids)? {
            found.insert(id, member_type);
        }
    }
    Ok(found)
}

/// Adds `members` (ids already [resolved](resolve)) to the group `group_id` of `org`; members
/// it already has are left as they are, `display` included. Records a `member_added` event
/// naming those added, made by `token_id`. Returns how many were added.
///
/// # Errors
/// [`StoreError::MembershipCycle`] when a group member would contain the group itself (directly
/// or through nested groups), or is the group; nothing is added then.
pub fn add(
    conn: &mut DbConnection,
    org: OrgId,
    group_id: &str,
    members: &[NewMember],
    token_id: Option<&str>,
) -> Result<usize, StoreError> {
    let nested: Vec<&str> = members
        .iter()
        .filter(|member| member.member_type == MemberType::Group)
        .map(|member| member.id.as_str())
        .collect();
    // One walk from every nested group at once; only when it finds the group (a refusal) are
    // the candidates walked one by one, to name the culprit.
    for batch in nested.chunks(BATCH) {
        if reaches(conn, org, batch, group_id)? {
            for candidate in batch {
                if reaches(conn, org, &[candidate], group_id)? {
                    return Err(StoreError::MembershipCycle {
                        member: (*candidate).to_owned(),
                    });
                }
            }
        }
    }
    let mut added: Vec<String> = Vec::new();
    for batch in members.chunks(BATCH) {
        let mut sql = SqlFragment::sql(
            "INSERT INTO group_members (org_id, group_id, member_id, member_type, display) VALUES ",
        );
        for (i, member) in batch.iter().enumerate() {
            if i > 0 {
                sql.push_sql(", ");
            }
            sql.push_sql("(")
                .push_bind(org)
                .push_sql(", ")
                .push_bind(group_id)
                .push_sql(", ")
                .push_bind(member.id.as_str())
                .push_sql(", ")
                .push_bind(member.member_type.as_str())
                .push_sql(", ")
                .push_bind(member.display.clone())
                .push_sql(")");
        }
        sql.push_sql(" ON CONFLICT (org_id, group_id, member_id) DO NOTHING RETURNING member_id");
        added.extend(ids_of(conn, &sql)?);
    }
    record(
        conn,
        org,
        group_id,
        EventKind::MemberAdded,
        &added,
        token_id,
    )?;
    Ok(added.len())
}

/// The `member_id`s a statement ending in `RETURNING member_id` gave back.
fn ids_of(conn: &mut DbConnection, sql: &SqlFragment) -> Result<Vec<String>, StoreError> {
    Ok(conn
        .dialect()
        .query(sql)
        .load::<MemberId>(conn.raw())?
        .into_iter()
        .map(|row| row.member_id)
        .collect())
}

#[derive(QueryableByName)]
struct MemberId {
    #[diesel(sql_type = Text)]
    member_id: String,
}

/// Members per membership event: a group emptied of many members gets several events, each of
/// a bounded size.
const MEMBERS_PER_EVENT: usize = 1_000;

/// Records `kind` (a membership event) for the members `ids` of the group `group_id`.
fn record(
    conn: &mut DbConnection,
    org: OrgId,
    group_id: &str,
    kind: EventKind,
    ids: &[String],
    token_id: Option<&str>,
) -> Result<(), StoreError> {
    let now = now_micros();
    let attributes = ["members".to_owned()];
    let new: Vec<NewEvent<'_>> = ids
        .chunks(MEMBERS_PER_EVENT)
        .map(|chunk| NewEvent {
            resource_type: crate::resources::GROUPS.name,
            resource_id: group_id,
            kind,
            token_id,
            attributes: &attributes,
            occurred_at: now,
            data: Some(events::members_data(chunk)),
        })
        .collect();
    events::record_all(conn, org, &new)
}

/// Whether making the groups `candidates` members of `group_id` closes a cycle: one of them
/// is the group itself, or the group is among their nested groups. Walks nested groups only,
/// through their own index, never a group's user members.
fn reaches(
    conn: &mut DbConnection,
    org: OrgId,
    candidates: &[&str],
    group_id: &str,
) -> Result<bool, StoreError> {
    if candidates.contains(&group_id) {
        return Ok(true);
    }
    let mut sql = SqlFragment::sql("WITH RECURSIVE start(id) AS (VALUES ");
    for (i, candidate) in candidates.iter().enumerate() {
        if i > 0 {
            sql.push_sql(", ");
        }
        sql.push_sql("(").push_bind(*candidate).push_sql(")");
    }
    sql.push_sql(
        "), down(id) AS (SELECT id FROM start UNION SELECT gm.member_id FROM group_members gm \
         JOIN down ON gm.group_id = down.id WHERE gm.org_id = ",
    )
    .push_bind(org)
    .push_sql(" AND gm.member_type = 'Group') SELECT id FROM down WHERE id = ")
    .push_bind(group_id);
    Ok(!conn
        .dialect()
        .query(&sql)
        .load::<Id>(conn.raw())?
        .is_empty())
}

/// Removes the members `ids` from the group `group_id` of `org`; ids that are not members are
/// ignored. Records a `member_removed` event naming those removed, made by `token_id`. Returns
/// how many were removed.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn remove(
    conn: &mut DbConnection,
    org: OrgId,
    group_id: &str,
    ids: &[String],
    token_id: Option<&str>,
) -> Result<usize, StoreError> {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut removed: Vec<String> = Vec::new();
    for batch in ids.chunks(BATCH) {
        let mut sql = SqlFragment::sql("DELETE FROM group_members WHERE org_id = ");
        sql.push_bind(org)
            .push_sql(" AND group_id = ")
            .push_bind(group_id)
            .push_sql(" AND member_id IN ");
        push_ids(&mut sql, batch);
        sql.push_sql(" RETURNING member_id");
        removed.extend(ids_of(conn, &sql)?);
    }
    record(
        conn,
        org,
        group_id,
        EventKind::MemberRemoved,
        &removed,
        token_id,
    )?;
    Ok(removed.len())
}

/// Removes every member of the group `group_id` of `org`, recording a `member_removed` event
/// naming them, made by `token_id`; returns how many there were.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn clear(
    conn: &mut DbConnection,
    org: OrgId,
    group_id: &str,
    token_id: Option<&str>,
) -> Result<usize, StoreError> {
    let mut sql = SqlFragment::sql("DELETE FROM group_members WHERE org_id = ");
    sql.push_bind(org)
        .push_sql(" AND group_id = ")
        .push_bind(group_id)
        .push_sql(" RETURNING member_id");
    let removed = ids_of(conn, &sql)?;
    record(
        conn,
        org,
        group_id,
        EventKind::MemberRemoved,
        &removed,
        token_id,
    )?;
    Ok(removed.len())
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
        .push_sql(" AND ")
        .push_sql(LIVE_BY_KEY)
        .push_sql(" AND id IN (SELECT group_id FROM group_members WHERE org_id = ")
        .push_bind(org)
        .push_sql(" AND member_id = ")
        .push_bind(member_id)
        .push_sql(") RETURNING id");
    let mut parents: Vec<String> = conn
        .dialect()
        .query(&bump)
        .load::<Id>(conn.raw())?
        .into_iter()
        .map(|row| row.id)
        .collect();
    parents.sort_unstable();
    let mut delete = SqlFragment::sql("DELETE FROM group_members WHERE org_id = ");
    delete
        .push_bind(org)
        .push_sql(" AND member_id = ")
        .push_bind(member_id);
    conn.dialect().query(&delete).execute(conn.raw())?;
    Ok(parents)
}

/// The select list and joins that give each membership row its member's display name.
const MEMBER_COLUMNS: &str = "gm.member_id, gm.member_type, \
     COALESCE(gm.display, u.user_name, g.display_name, '') AS display \
     FROM group_members gm \
     LEFT JOIN users u ON gm.member_type = 'User' AND u.org_id = gm.org_id \
         AND u.id = gm.member_id \
     LEFT JOIN groups g ON gm.member_type = 'Group' AND g.org_id = gm.org_id \
         AND g.id = gm.member_id \
     WHERE gm.org_id = ";

#[derive(QueryableByName)]
struct OneGroupMember {
    #[diesel(sql_type = Text)]
    member_id: String,
    #[diesel(sql_type = Text)]
    member_type: String,
    #[diesel(sql_type = Text)]
    display: String,
}

impl OneGroupMember {
    fn into_member(self) -> Result<Member, StoreError> {
        Ok(Member {
            value: self.member_id,
            member_type: self.member_type.parse().map_err(StoreError::other)?,
            display: self.display,
        })
    }
}

/// The members of the group `group_id` of `org`, ordered by member id.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn of(conn: &mut DbConnection, org: OrgId, group_id: &str) -> Result<Vec<Member>, StoreError> {
    let mut sql = SqlFragment::sql(format!("SELECT {MEMBER_COLUMNS}"));
    sql.push_bind(org)
        .push_sql(" AND gm.group_id = ")
        .push_bind(group_id)
        .push_sql(" ORDER BY gm.member_id");
    conn.dialect()
        .query(&sql)
        .load::<OneGroupMember>(conn.raw())?
        .into_iter()
        .map(OneGroupMember::into_member)
        .collect()
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
        let mut sql = SqlFragment::sql(format!("SELECT gm.group_id, {MEMBER_COLUMNS}"));
        sql.push_bind(org).push_sql(" AND gm.group_id IN ");
        push_ids(&mut sql, batch);
        sql.push_sql(" ORDER BY gm.group_id, gm.member_id");
        for row in conn.dialect().query(&sql).load::<MemberRow>(conn.raw())? {
            let member = OneGroupMember {
                member_id: row.member_id,
                member_type: row.member_type,
                display: row.display,
            };
            out.push((row.group_id, member.into_member()?));
        }
    }
    Ok(out)
}

/// The groups that the resources `member_ids` of `org` belong to, directly or through nested
/// groups, as (member id, group) pairs ordered by member and group id. A group reached both
/// directly and indirectly counts as direct.
///
/// Walks up the group graph one level per statement, each an index lookup by member, so the
/// cost follows the number of groups found, never the size of any group.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn groups_of(
    conn: &mut DbConnection,
    org: OrgId,
    member_ids: &[String],
) -> Result<Vec<(String, GroupRef)>, StoreError> {
    // Direct memberships of the members asked about.
    let direct = parents(conn, org, member_ids, false)?;
    groups_from_direct(conn, org, direct)
}

/// [`groups_of`] from the direct memberships, (member id, group id) pairs, already read (by
/// [`crate::resources::get_with_parents`], with the member's row): nothing more to read when
/// there are none.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn groups_from_direct(
    conn: &mut DbConnection,
    org: OrgId,
    direct: Vec<(String, String)>,
) -> Result<Vec<(String, GroupRef)>, StoreError> {
    // The parents of every group reached, level by level, until no new group appears (the
    // graph has no cycles, and `seen` stops the walk even if one slipped in).
    let mut parents_of: HashMap<String, Vec<String>> = HashMap::new();
    let mut seen: std::collections::HashSet<String> =
        direct.iter().map(|(_, group)| group.clone()).collect();
    let mut frontier: Vec<String> = seen.iter().cloned().collect();
    while !frontier.is_empty() {
        let edges = parents(conn, org, &frontier, true)?;
        frontier = Vec::new();
        for (child, parent) in edges {
            if seen.insert(parent.clone()) {
                frontier.push(parent.clone());
            }
            parents_of.entry(child).or_default().push(parent);
        }
    }
    let names = display_names(conn, org, &seen.iter().cloned().collect::<Vec<_>>())?;
    let mut by_member: std::collections::BTreeMap<&str, std::collections::BTreeMap<&str, bool>> =
        std::collections::BTreeMap::new();
    for (member, group) in &direct {
        by_member
            .entry(member.as_str())
            .or_default()
            .insert(group.as_str(), true);
    }
    for groups in by_member.values_mut() {
        let mut stack: Vec<&str> = groups.keys().copied().collect();
        while let Some(group) = stack.pop() {
            for parent in parents_of.get(group).into_iter().flatten() {
                if !groups.contains_key(parent.as_str()) {
                    groups.insert(parent.as_str(), false);
                    stack.push(parent.as_str());
                }
            }
        }
    }
    let mut out = Vec::new();
    for (member, groups) in by_member {
        for (group, direct) in groups {
            // A group deleted meanwhile has no name and is left out.
            if let Some(display) = names.get(group) {
                out.push((
                    member.to_owned(),
                    GroupRef {
                        id: group.to_owned(),
                        display: display.clone(),
                        direct,
                    },
                ));
            }
        }
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct Edge {
    #[diesel(sql_type = Text)]
    member_id: String,
    #[diesel(sql_type = Text)]
    group_id: String,
}

/// (member, group) for every membership of `ids`; only nested-group memberships when
/// `groups_only`.
fn parents(
    conn: &mut DbConnection,
    org: OrgId,
    ids: &[String],
    groups_only: bool,
) -> Result<Vec<(String, String)>, StoreError> {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for batch in ids.chunks(BATCH) {
        let mut sql =
            SqlFragment::sql("SELECT member_id, group_id FROM group_members WHERE org_id = ");
        sql.push_bind(org).push_sql(" AND member_id IN ");
        push_ids(&mut sql, batch);
        if groups_only {
            sql.push_sql(" AND member_type = 'Group'");
        }
        out.extend(
            load_rows::<Edge>(conn, &sql, batch.len() == 1)?
                .into_iter()
                .map(|edge| (edge.member_id, edge.group_id)),
        );
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    display_name: String,
}

/// The displayName of each live group among `ids`.
fn display_names(
    conn: &mut DbConnection,
    org: OrgId,
    ids: &[String],
) -> Result<HashMap<String, String>, StoreError> {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut out = HashMap::with_capacity(ids.len());
    for batch in ids.chunks(BATCH) {
        let mut sql = SqlFragment::sql("SELECT id, display_name FROM groups WHERE org_id = ");
        sql.push_bind(org)
            .push_sql(" AND ")
            .push_sql(LIVE_BY_KEY)
            .push_sql(" AND id IN ");
        push_ids(&mut sql, batch);
        for row in load_rows::<Named>(conn, &sql, batch.len() == 1)? {
            out.insert(row.id, row.display_name);
        }
    }
    Ok(out)
}
