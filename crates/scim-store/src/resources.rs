//! Resources of any type, through one descriptor: create, read, lock, replace, delete and list,
//! each write with its event in the same transaction.
//!
//! A [`ResourceKind`] says where a resource type lives: its table, the column that holds its
//! unique name (userName, displayName) and its folded key, whether it has `active` and a session
//! version (users) or members (groups), and which attributes the attribute–value index keeps.
//! Every function here takes one, so Users and Groups share one read-change-write path, one
//! listing and one filter → SQL translation; a new resource type is a descriptor and a
//! migration.
//!
//! The caller derives every column from the SCIM document (see [`Columns::derive`]); this module
//! stores them as given and keeps `version`, the timestamps, `session_version`, memberships and
//! the outbox right.

use std::time::SystemTime;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use scim_filter::CompareOp;
use scim_model::filter::{CompiledFilter, Node};
use scim_model::schema::ResolvedAttribute;

use crate::connection::{write_transaction, DbConnection};
use crate::dialect::{load_rows, BindValue, Dialect, SqlFragment, LIVE_BY_KEY};
use crate::events::{self, EventKind, NewEvent};
use crate::filter_sql::{Condition, FilterSql, UnsupportedFilter};
use crate::paging::Position;
use crate::timestamp::{from_micros, now_micros, to_micros};
pub use crate::values::{index_entries, IndexedAttribute};
use crate::{members, OrgId, Page, StoreError, UniqueField};
use crate::{unique, values};

/// Where and how one resource type is stored.
#[derive(Debug, PartialEq, Eq)]
pub struct ResourceKind {
    /// The SCIM resource type's name (`meta.resourceType`, and the events' resource type).
    pub name: &'static str,
    pub(crate) table: &'static str,
    /// The attribute whose folded value is unique among the organisation's live resources.
    pub(crate) unique_attribute: &'static str,
    pub(crate) name_column: &'static str,
    pub(crate) key_column: &'static str,
    pub(crate) unique_field: UniqueField,
    /// `active` and `session_version` columns (users).
    pub(crate) has_active: bool,
    /// The attributes kept in the attribute–value index, which filters on them look up
    /// through (see `values`). Data, not code: adding one here indexes it, existing rows
    /// included, at the next start.
    pub(crate) indexed: &'static [IndexedAttribute],
    /// Members in `group_members` (groups).
    pub(crate) has_members: bool,
    /// Declared types share the `resources` table, told apart by its `resource_type` column
    /// (see [`ResourceKind::declared`]); built-in types have tables of their own.
    pub(crate) shared: bool,
    /// Attributes, besides the unique name, whose values are unique among the organisation's
    /// live resources of the kind (see `unique`).
    pub(crate) unique: &'static [IndexedAttribute],
}

/// An attribute as the store finds it in a search document, for [`Additions`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttributePath {
    /// How filters name it: the attribute path, with the schema URN and `:` in front for an
    /// extension attribute (`urn:…:User:badge`, `roles.value`).
    pub key: String,
    /// Where its values sit in the search document: `[urn,] name [, sub]`, names as declared.
    pub path: Vec<String>,
}

/// What declarations add to how a resource type is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Additions {
    /// Attributes to keep in the attribute–value index, so that filters on them are lookups.
    pub indexed: Vec<AttributePath>,
    /// Singular string attributes whose values are unique among the organisation's live
    /// resources of the type (compared in the search document's form: folded unless
    /// case-exact). Each is indexed too.
    pub unique: Vec<AttributePath>,
}

impl Additions {
    /// Whether nothing is added.
    pub fn is_empty(&self) -> bool {
        self.indexed.is_empty() && self.unique.is_empty()
    }
}

/// `paths` as index descriptors that live as long as the process.
fn leak_attributes<'a>(paths: impl Iterator<Item = &'a AttributePath>) -> Vec<IndexedAttribute> {
    paths
        .map(|attribute| IndexedAttribute {
            key: Box::leak(attribute.key.clone().into_boxed_str()),
            path: Box::leak(
                attribute
                    .path
                    .iter()
                    .map(|name| &*Box::leak(name.clone().into_boxed_str()))
                    .collect::<Vec<&'static str>>()
                    .into_boxed_slice(),
            ),
        })
        .collect()
}

/// SCIM Users (RFC 7643 §4.1): the `users` table, unique by userName.
pub static USERS: ResourceKind = ResourceKind {
    name: "User",
    table: "users",
    unique_attribute: "userName",
    name_column: "user_name",
    key_column: "user_name_key",
    unique_field: UniqueField::UserName,
    has_active: true,
    shared: false,
    unique: &[],
    indexed: &[
        IndexedAttribute {
            key: "userName",
            path: &["userName"],
        },
        IndexedAttribute {
            key: "externalId",
            path: &["externalId"],
        },
        IndexedAttribute {
            key: "displayName",
            path: &["displayName"],
        },
        IndexedAttribute {
            key: "name.familyName",
            path: &["name", "familyName"],
        },
        IndexedAttribute {
            key: "name.givenName",
            path: &["name", "givenName"],
        },
        IndexedAttribute {
            key: "emails.value",
            path: &["emails", "value"],
        },
        IndexedAttribute {
            key: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            path: &[
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "employeeNumber",
            ],
        },
    ],
    has_members: false,
};

/// SCIM Groups (RFC 7643 §4.2): the `groups` table, unique by displayName, members apart.
pub static GROUPS: ResourceKind = ResourceKind {
    name: "Group",
    table: "groups",
    unique_attribute: "displayName",
    name_column: "display_name",
    key_column: "display_name_key",
    unique_field: UniqueField::DisplayName,
    has_active: false,
    shared: false,
    unique: &[],
    indexed: &[
        IndexedAttribute {
            key: "displayName",
            path: &["displayName"],
        },
        IndexedAttribute {
            key: "externalId",
            path: &["externalId"],
        },
    ],
    has_members: true,
};

/// Every row of the shared `resources` table, whatever its type: what the tombstone sweeps
/// walk, as they walk the built-in tables.
static SHARED_ROWS: ResourceKind = ResourceKind {
    name: "",
    table: "resources",
    unique_attribute: "",
    name_column: "name",
    key_column: "name_key",
    unique_field: UniqueField::ResourceName,
    has_active: false,
    shared: false,
    unique: &[],
    indexed: &[],
    has_members: false,
};

/// What makes a kind at run time: its name, unique attribute, whether it is in the shared
/// table, and the additions.
type KindSpec = (String, String, bool, Additions);

/// The kinds made at run time so far, so that declaring the same thing again (a second server
/// in one process, a test) reuses its descriptor instead of leaking another.
static MADE: std::sync::Mutex<Vec<(KindSpec, &'static ResourceKind)>> =
    std::sync::Mutex::new(Vec::new());

/// The kind `spec` describes: made by `make` the first time, the same one after.
fn made(spec: KindSpec, make: impl FnOnce() -> ResourceKind) -> &'static ResourceKind {
    let mut made = MADE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, kind)) = made.iter().find(|(have, _)| *have == spec) {
        return kind;
    }
    let kind: &'static ResourceKind = Box::leak(Box::new(make()));
    made.push((spec, kind));
    kind
}

impl ResourceKind {
    /// Every built-in kind.
    pub const ALL: [&'static ResourceKind; 2] = [&USERS, &GROUPS];

    /// The kind of a resource type declared at run time (not built in): its resources live in
    /// the shared `resources` table under its `name`, so it needs no migration. Its unique
    /// attribute, if `unique_attribute` names one (a singular string attribute of its core
    /// schema), is kept folded in `name_key` and unique among the organisation's live resources
    /// of the type; without one nothing is unique but the id. Descriptors live as long as the
    /// process: one per distinct declaration, made once.
    pub fn declared(
        name: &str,
        unique_attribute: Option<&str>,
        additions: &Additions,
    ) -> &'static ResourceKind {
        let unique_attribute = unique_attribute.unwrap_or_default();
        let spec = (
            name.to_owned(),
            unique_attribute.to_owned(),
            true,
            additions.clone(),
        );
        made(spec, || ResourceKind {
            name: Box::leak(name.to_owned().into_boxed_str()),
            table: "resources",
            unique_attribute: Box::leak(unique_attribute.to_owned().into_boxed_str()),
            name_column: "name",
            key_column: "name_key",
            unique_field: UniqueField::ResourceName,
            has_active: false,
            shared: true,
            indexed: Box::leak(
                leak_attributes(additions.indexed.iter().chain(&additions.unique))
                    .into_boxed_slice(),
            ),
            unique: Box::leak(leak_attributes(additions.unique.iter()).into_boxed_slice()),
            has_members: false,
        })
    }

    /// This built-in kind with what declarations add: more indexed attributes, attributes
    /// made unique. Itself when nothing is added. Made once per distinct addition, as
    /// [`ResourceKind::declared`] is.
    pub fn extended(&'static self, additions: &Additions) -> &'static ResourceKind {
        if additions.is_empty() {
            return self;
        }
        let spec = (
            self.name.to_owned(),
            self.unique_attribute.to_owned(),
            self.shared,
            additions.clone(),
        );
        made(spec, || {
            let added: Vec<&AttributePath> = additions
                .indexed
                .iter()
                .chain(&additions.unique)
                .filter(|path| !self.indexed.iter().any(|have| have.key == path.key))
                .collect();
            let mut indexed: Vec<IndexedAttribute> = self
                .indexed
                .iter()
                .map(|have| IndexedAttribute {
                    key: have.key,
                    path: have.path,
                })
                .collect();
            indexed.extend(leak_attributes(added.into_iter()));
            ResourceKind {
                indexed: Box::leak(indexed.into_boxed_slice()),
                unique: Box::leak(leak_attributes(additions.unique.iter()).into_boxed_slice()),
                ..*self
            }
        })
    }

    /// Whether this is a declared kind, in the shared table (see [`ResourceKind::declared`]).
    pub fn is_declared(&self) -> bool {
        self.shared
    }

    /// ` AND resource_type = '…'` for a declared kind, the column named through `qualifier`
    /// (`""`, or a table or alias with its dot); empty for a built-in kind. The name is a
    /// literal, quotes doubled, so the statement's text (and its prepared plan) is the type's
    /// own.
    pub(crate) fn scope(&self, qualifier: &str) -> String {
        if self.shared {
            format!(
                " AND {qualifier}resource_type = '{}'",
                self.name.replace('\'', "''")
            )
        } else {
            String::new()
        }
    }

    /// What a name or key value is wrapped in when written: in the shared table an empty one
    /// is NULL, so types without a unique attribute constrain nothing.
    fn name_value(&self) -> (&'static str, &'static str) {
        if self.shared {
            ("NULLIF(", ", '')")
        } else {
            ("", "")
        }
    }

    /// The kind of the resource type called `name` (case-insensitively).
    pub fn named(name: &str) -> Option<&'static ResourceKind> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.name.eq_ignore_ascii_case(name))
    }

    /// The attribute whose folded value is unique (userName, displayName).
    pub fn unique_attribute(&self) -> &'static str {
        self.unique_attribute
    }

    /// Whether resources of this kind have `active` and a session version (users).
    pub fn has_active(&self) -> bool {
        self.has_active
    }

    /// The attributes kept in the attribute–value index.
    pub fn indexed(&self) -> &'static [IndexedAttribute] {
        self.indexed
    }

    /// Whether resources of this kind have members (stored apart from their document).
    pub fn has_members(&self) -> bool {
        self.has_members
    }

    /// [`ResourceKind::select_list`] with every column named through the table, for queries
    /// that join it.
    pub(crate) fn qualified_select_list(&self) -> String {
        let table = self.table;
        let (active, session_version) = if self.has_active {
            (
                format!("{table}.active"),
                format!("{table}.session_version"),
            )
        } else {
            (
                "TRUE AS active".to_owned(),
                "CAST(1 AS BIGINT) AS session_version".to_owned(),
            )
        };
        let (name, key) = self.name_and_key(&format!("{table}."));
        format!(
            "{table}.org_id, {table}.id, {name} AS name, {key} AS name_key, \
             {table}.external_id, {active}, {table}.version, {session_version}, \
             {table}.created_at, {table}.last_modified, {table}.document, {table}.search",
        )
    }

    /// The select list of a [`RecordRow`], with constants where this kind lacks a column.
    pub(crate) fn select_list(&self) -> String {
        let (active, session_version) = if self.has_active {
            ("active", "session_version")
        } else {
            ("TRUE AS active", "CAST(1 AS BIGINT) AS session_version")
        };
        let (name, key) = self.name_and_key("");
        format!(
            "org_id, id, {name} AS name, {key} AS name_key, external_id, {active}, version, \
             {session_version}, created_at, last_modified, document, search",
        )
    }

    /// The name and key columns as a record reads them: NULL (a declared type without a
    /// unique attribute) reads as empty.
    fn name_and_key(&self, qualifier: &str) -> (String, String) {
        let (name, key) = (self.name_column, self.key_column);
        if self.shared {
            (
                format!("COALESCE({qualifier}{name}, '')"),
                format!("COALESCE({qualifier}{key}, '')"),
            )
        } else {
            (format!("{qualifier}{name}"), format!("{qualifier}{key}"))
        }
    }
}

/// What a resource's row holds besides the store's own bookkeeping (id, version, timestamps),
/// all derived from the SCIM document by the caller (see [`Columns::derive`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The unique attribute (userName, displayName) as the client sent it.
    pub name: String,
    /// The unique attribute folded for case-insensitive uniqueness; unique among the
    /// organisation's live resources of the kind.
    pub name_key: String,
    /// externalId, if any.
    pub external_id: Option<String>,
    /// Whether the resource is active: going false bumps `session_version`. Ignored by kinds
    /// without `active` (groups).
    pub active: bool,
    /// The SCIM resource, as JSON text, stored as given (a group's without its members).
    pub document: String,
    /// The JSON document filters run against, stored as given; the attribute–value index is
    /// derived from it.
    pub search: String,
}

/// A resource to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResource {
    /// The server-assigned id (a UUID v4), unique in the organisation.
    pub id: String,
    /// Its columns.
    pub columns: Columns,
    /// The token making the change, for the event.
    pub token_id: Option<String>,
    /// The names of the attributes the client sent, for the event.
    pub attributes: Vec<String>,
}

/// The new state of a resource, replacing the old one whole (a PUT, or a PATCH already
/// applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Its new columns.
    pub columns: Columns,
    /// The token making the change, for the event.
    pub token_id: Option<String>,
    /// The names of the attributes the change touched, for the event.
    pub attributes: Vec<String>,
}

/// A stored, live resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its organisation.
    pub org: OrgId,
    /// Its id.
    pub id: String,
    /// The unique attribute as the client sent it.
    pub name: String,
    /// The unique attribute folded.
    pub name_key: String,
    /// externalId, if any.
    pub external_id: Option<String>,
    /// Whether it is active (always true for kinds without `active`).
    pub active: bool,
    /// 1 on creation, +1 on every write (a membership change included): the source of the ETag.
    pub version: i64,
    /// Bumped whenever a user is deactivated (or deleted), so the host application can end
    /// sessions started under an older value; 1 for kinds without `active`.
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
    /// Keep the row, marked deleted: invisible to every read, its unique name free at once.
    Tombstone,
}

#[derive(QueryableByName)]
pub(crate) struct RecordRow {
    #[diesel(sql_type = BigInt)]
    org_id: i64,
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    name_key: String,
    #[diesel(sql_type = Nullable<Text>)]
    external_id: Option<String>,
    #[diesel(sql_type = Bool)]
    active: bool,
    #[diesel(sql_type = BigInt)]
    version: i64,
    #[diesel(sql_type = BigInt)]
    session_version: i64,
    #[diesel(sql_type = BigInt)]
    created_at: i64,
    #[diesel(sql_type = BigInt)]
    last_modified: i64,
    #[diesel(sql_type = Text)]
    document: String,
    #[diesel(sql_type = Text)]
    search: String,
}

impl From<RecordRow> for Record {
    fn from(row: RecordRow) -> Self {
        Record {
            org: OrgId(row.org_id),
            id: row.id,
            name: row.name,
            name_key: row.name_key,
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

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// Creates a resource (with its attribute–value index entries) and a `created` event, in one
/// transaction.
///
/// # Errors
/// [`StoreError::UniqueViolation`] when a live resource of the kind in the organisation has the
/// same name key (also when a concurrent create wins the race), or the id is taken.
pub fn create(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    new: &NewResource,
) -> Result<Record, StoreError> {
    write_transaction(conn, |conn| create_in(conn, kind, org, new))
}

/// [`create`] inside the caller's transaction, without a savepoint of its own: two statements
/// fewer. Call it inside a transaction, or a [`savepoint`](crate::savepoint), that is rolled
/// back if it fails: a failed statement leaves a PostgreSQL transaction unusable until then.
///
/// # Errors
/// As [`create`].
pub fn create_in(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    new: &NewResource,
) -> Result<Record, StoreError> {
    insert_many(conn, kind, org, std::slice::from_ref(new))?
        .pop()
        .ok_or_else(|| StoreError::other(MissingRow(new.id.clone())))
}

/// Rows per INSERT of [`create_many`]: twelve bound values each keeps a statement far below
/// both backends' limits on bound parameters.
const CREATE_BATCH: usize = 200;

/// Creates `new` resources of `kind` together, with their index entries and `created` events,
/// in one transaction (a savepoint inside the caller's): a few multi-row statements for the
/// lot instead of a few statements each, for imports. All or nothing: when one of them cannot
/// be created (its name or id is taken, also by another of `new`), nothing is, and the caller
/// can create them one at a time to learn which. Returns the records in the order of `new`.
///
/// # Errors
/// As [`create`], for whichever resource failed.
pub fn create_many(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    new: &[NewResource],
) -> Result<Vec<Record>, StoreError> {
    write_transaction(conn, |conn| insert_many(conn, kind, org, new))
}

/// The statements of [`create_many`], without its savepoint.
fn insert_many(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    new: &[NewResource],
) -> Result<Vec<Record>, StoreError> {
    let now = now_micros();
    let mut records = std::collections::HashMap::with_capacity(new.len());
    for batch in new.chunks(CREATE_BATCH) {
        let mut sql = SqlFragment::sql(format!(
            "INSERT INTO {table} (org_id, id, {name}, {key}, external_id, version, created_at, \
             last_modified, document, search{active}{shared}) VALUES ",
            table = kind.table,
            name = kind.name_column,
            key = kind.key_column,
            active = if kind.has_active {
                ", active, session_version"
            } else {
                ""
            },
            shared = if kind.shared { ", resource_type" } else { "" },
        ));
        let (open, close) = kind.name_value();
        for (i, resource) in batch.iter().enumerate() {
            let c = &resource.columns;
            sql.push_sql(if i == 0 { "(" } else { ", (" })
                .push_bind(org)
                .push_sql(", ")
                .push_bind(resource.id.as_str())
                .push_sql(", ")
                .push_sql(open)
                .push_bind(c.name.as_str())
                .push_sql(close)
                .push_sql(", ")
                .push_sql(open)
                .push_bind(c.name_key.as_str())
                .push_sql(close)
                .push_sql(", ")
                .push_bind(c.external_id.clone())
                .push_sql(", 1, ")
                .push_bind(now)
                .push_sql(", ")
                .push_bind(now)
                .push_sql(", ")
                .push_bind(c.document.as_str())
                .push_sql(", ")
                .push_bind(c.search.as_str());
            if kind.has_active {
                sql.push_sql(", ").push_bind(c.active).push_sql(", 1");
            }
            if kind.shared {
                sql.push_sql(", ").push_bind(kind.name);
            }
            sql.push_sql(")");
        }
        sql.push_sql(" RETURNING ").push_sql(&kind.select_list());
        // RETURNING gives no order on SQLite: the records are matched by id.
        // One row, the usual create, has one text per kind: prepared; a batch's text
        // depends on its length.
        for row in load_rows::<RecordRow>(conn, &sql, batch.len() == 1)? {
            records.insert(row.id.clone(), Record::from(row));
        }
    }
    let searches: Vec<(OrgId, &str, &str)> = new
        .iter()
        .map(|resource| (org, resource.id.as_str(), resource.columns.search.as_str()))
        .collect();
    values::insert_new_many(conn, kind, &searches)?;
    unique::claim(conn, kind, &searches)?;
    let events: Vec<NewEvent<'_>> = new
        .iter()
        .map(|resource| NewEvent {
            resource_type: kind.name,
            resource_id: &resource.id,
            kind: EventKind::Created,
            token_id: resource.token_id.as_deref(),
            attributes: &resource.attributes,
            occurred_at: now,
            data: None,
        })
        .collect();
    events::record_all(conn, org, &events)?;
    new.iter()
        .map(|resource| {
            records
                .remove(&resource.id)
                .ok_or_else(|| StoreError::other(MissingRow(resource.id.clone())))
        })
        .collect()
}

/// A row [`create_many`] inserted did not come back from `RETURNING`.
#[derive(Debug, thiserror::Error)]
#[error("the created row {0} was not returned")]
struct MissingRow(String);

/// The live resource `id` of `org`; `None` for an unknown id, another organisation's resource
/// or a tombstone.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn get(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
) -> Result<Option<Record>, StoreError> {
    if !storable_id(id) {
        return Ok(None);
    }
    let sql = select_live(kind, org, id, "");
    let row = conn
        .dialect()
        .prepared(&sql)
        .get_result::<RecordRow>(conn.raw())
        .optional()?;
    Ok(row.map(Record::from))
}

/// The live resource of `org` whose unique attribute (a user's `userName`, a group's
/// `displayName`) is `name`, compared as the attribute's uniqueness compares it (folded case).
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn get_by_name(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    name: &str,
) -> Result<Option<Record>, StoreError> {
    let mut sql = SqlFragment::sql(format!(
        "SELECT {} FROM {} WHERE org_id = ",
        kind.select_list(),
        kind.table
    ));
    sql.push_bind(org)
        .push_sql(&kind.scope(""))
        .push_sql(&format!(" AND {} = ", kind.key_column))
        .push_bind(scim_model::value::fold_case(name).into_owned())
        // The predicate of the partial unique index on the key, so the index serves it.
        .push_sql(" AND deleted_at IS NULL");
    let row = conn
        .dialect()
        .prepared(&sql)
        .get_result::<RecordRow>(conn.raw())
        .optional()?;
    Ok(row.map(Record::from))
}

/// [`get`], and the ids of the groups the resource is a direct member of, read in the same
/// statement: a user's `groups` then needs no second read when it is in none
/// ([`members::groups_from_direct`] walks on from these).
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn get_with_parents(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
) -> Result<Option<(Record, Vec<String>)>, StoreError> {
    if !storable_id(id) {
        return Ok(None);
    }
    let dialect = conn.dialect();
    let table = kind.table;
    let mut sql = SqlFragment::sql(format!(
        "SELECT {}, (SELECT {} FROM group_members WHERE group_members.org_id = {table}.org_id \
         AND group_members.member_id = {table}.id) AS parents FROM {table} WHERE org_id = ",
        kind.select_list(),
        dialect.json_array_agg("group_members.group_id"),
    ));
    sql.push_bind(org)
        .push_sql(&kind.scope(""))
        .push_sql(" AND id = ")
        .push_bind(id)
        .push_sql(" AND ")
        .push_sql(LIVE_BY_KEY);
    let Some(row) = dialect
        .prepared(&sql)
        .get_result::<RecordWithParents>(conn.raw())
        .optional()?
    else {
        return Ok(None);
    };
    let parents: Vec<String> = serde_json::from_str(&row.parents).map_err(StoreError::other)?;
    Ok(Some((row.record.into(), parents)))
}

#[derive(QueryableByName)]
struct RecordWithParents {
    #[diesel(embed)]
    record: RecordRow,
    #[diesel(sql_type = Text)]
    parents: String,
}

/// The live resource `id` of `org`, its row locked until the transaction ends, so that
/// concurrent writers of one resource take turns instead of failing; checked against
/// `expected_version` (an `If-Match`) if given. Call it inside a transaction.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such live resource,
/// [`StoreError::VersionMismatch`] when `expected_version` is not the current version.
pub fn lock(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
    expected_version: Option<i64>,
) -> Result<Record, StoreError> {
    if !storable_id(id) {
        return Err(StoreError::NotFound);
    }
    let dialect = conn.dialect();
    let sql = select_live(kind, org, id, dialect.lock_rows_clause());
    let record: Record = dialect
        .prepared(&sql)
        .get_result::<RecordRow>(conn.raw())
        .optional()?
        .ok_or(StoreError::NotFound)?
        .into();
    match expected_version {
        Some(expected) if expected != record.version => Err(StoreError::VersionMismatch {
            current: record.version,
        }),
        _ => Ok(record),
    }
}

/// Ids per statement of [`live_ids`].
const LIVE_IDS_BATCH: usize = 500;

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Which of `ids` are live resources of `kind` in `org`, a few statements for any number of
/// ids. Inside a transaction the rows found stay live until it ends (on PostgreSQL they are
/// share-locked, so a concurrent delete waits; SQLite's writer holds the database), so a
/// reference made to them in the same transaction never dangles at commit.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn live_ids(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    ids: &[&str],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let ids: Vec<&str> = ids.iter().copied().filter(|id| storable_id(id)).collect();
    let mut found = std::collections::HashSet::with_capacity(ids.len());
    let share = conn.dialect().share_rows_clause();
    for batch in ids.chunks(LIVE_IDS_BATCH) {
        let mut sql = SqlFragment::sql(format!("SELECT id FROM {} WHERE org_id = ", kind.table));
        sql.push_bind(org)
            .push_sql(&kind.scope(""))
            .push_sql(" AND ")
            .push_sql(LIVE_BY_KEY)
            .push_sql(" AND id IN ");
        members::push_ids(&mut sql, batch);
        sql.push_sql(share);
        let rows = conn.dialect().query(&sql).load::<IdRow>(conn.raw())?;
        found.extend(rows.into_iter().map(|row| row.id));
    }
    Ok(found)
}

/// Whether some resource could have `id`: PostgreSQL text cannot hold a NUL, so an id with
/// one names nothing, on either backend alike, and is never sent to the database.
fn storable_id(id: &str) -> bool {
    !id.contains('\0')
}

fn select_live(kind: &ResourceKind, org: OrgId, id: &str, lock: &str) -> SqlFragment {
    let mut sql = SqlFragment::sql(format!(
        "SELECT {} FROM {} WHERE org_id = ",
        kind.select_list(),
        kind.table
    ));
    sql.push_bind(org)
        .push_sql(&kind.scope(""))
        .push_sql(" AND id = ")
        .push_bind(id)
        .push_sql(" AND ")
        .push_sql(LIVE_BY_KEY)
        .push_sql(lock);
    sql
}

/// Replaces the live resource `id` of `org` with `update`: bumps `version` and `last_modified`,
/// bumps `session_version` when `active` goes from true to false, updates the attribute–value
/// index and
/// records an `updated`, `deactivated` or `reactivated` event, in one transaction. Memberships
/// are not touched: change them with [`members`] in the same transaction.
///
/// `expected_version` is the version an `If-Match` named, if any; when it is not the current one
/// nothing is written.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such live resource,
/// [`StoreError::VersionMismatch`], [`StoreError::UniqueViolation`] when the new name key is
/// taken.
pub fn replace(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
    expected_version: Option<i64>,
    update: &Update,
) -> Result<Record, StoreError> {
    write_transaction(conn, |conn| {
        let current = lock(conn, kind, org, id, expected_version)?;
        replace_locked(conn, kind, org, &current, update)
    })
}

/// [`replace`] for a resource the caller has already read with [`lock`] in its transaction:
/// one statement fewer, and no savepoint of its own.
///
/// Call it inside a transaction, or a [`savepoint`](crate::savepoint), that is rolled back if
/// it fails: a failed statement leaves a PostgreSQL transaction unusable until then.
///
/// # Errors
/// As [`replace`].
pub fn replace_locked(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    current: &Record,
    update: &Update,
) -> Result<Record, StoreError> {
    let id = current.id.as_str();
    let c = &update.columns;
    let event = match (kind.has_active, current.active, c.active) {
        (true, true, false) => EventKind::Deactivated,
        (true, false, true) => EventKind::Reactivated,
        _ => EventKind::Updated,
    };
    let now = now_micros();
    let mut sql = SqlFragment::sql(format!(
        "UPDATE {table} SET {name} = ",
        table = kind.table,
        name = kind.name_column
    ));
    let (open, close) = kind.name_value();
    sql.push_sql(open)
        .push_bind(c.name.as_str())
        .push_sql(close)
        .push_sql(&format!(", {} = ", kind.key_column))
        .push_sql(open)
        .push_bind(c.name_key.as_str())
        .push_sql(close)
        .push_sql(", external_id = ")
        .push_bind(c.external_id.clone())
        .push_sql(", version = version + 1, last_modified = ")
        .push_bind(now)
        .push_sql(", document = ")
        .push_bind(c.document.as_str())
        .push_sql(", search = ")
        .push_bind(c.search.as_str());
    if kind.has_active {
        let bump = i64::from(event == EventKind::Deactivated);
        sql.push_sql(", active = ")
            .push_bind(c.active)
            .push_sql(", session_version = session_version + ")
            .push_bind(bump);
    }
    sql.push_sql(" WHERE org_id = ")
        .push_bind(org)
        .push_sql(&kind.scope(""))
        .push_sql(" AND id = ")
        .push_bind(id)
        .push_sql(" AND ")
        .push_sql(LIVE_BY_KEY)
        .push_sql(" RETURNING ")
        .push_sql(&kind.select_list());
    let row = conn
        .dialect()
        .prepared(&sql)
        .get_result::<RecordRow>(conn.raw())?;
    values::update(conn, kind, org, id, &current.search, &c.search)?;
    unique::update(conn, kind, org, id, &current.search, &c.search)?;
    let record = Record::from(row);
    events::record(
        conn,
        org,
        &NewEvent {
            resource_type: kind.name,
            resource_id: id,
            kind: event,
            token_id: update.token_id.as_deref(),
            attributes: &update.attributes,
            occurred_at: now,
            data: (event == EventKind::Deactivated)
                .then(|| events::session_data(record.session_version)),
        },
    )?;
    Ok(record)
}

/// Deletes the live resource `id` of `org` as `mode` says, removes it from every group it is a
/// member of (those groups get a new version and an `updated` event naming `members`), removes
/// its own members, and records a `deleted` event (naming `token_id` as the actor), in one
/// transaction. Either way the resource disappears from every read and its unique name is free
/// at once; a tombstone also gets a new version and session_version.
///
/// `expected_version` is the version an `If-Match` named, if any (RFC 7644 §3.14).
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such live resource,
/// [`StoreError::VersionMismatch`].
pub fn delete(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
    mode: DeleteMode,
    expected_version: Option<i64>,
    token_id: Option<&str>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let current = lock(conn, kind, org, id, expected_version)?;
        let now = now_micros();
        let parents = members::remove_everywhere(conn, org, id, now)?;
        if kind.has_members {
            members::clear(conn, org, id, token_id)?;
        }
        values::remove_all(conn, kind, org, id, &current.search)?;
        unique::release(conn, kind, org, id, None)?;
        let mut sql = match mode {
            DeleteMode::Purge => SqlFragment::sql(format!("DELETE FROM {}", kind.table)),
            DeleteMode::Tombstone => {
                let mut sql = SqlFragment::sql(format!(
                    "UPDATE {} SET version = version + 1, deleted_at = ",
                    kind.table
                ));
                sql.push_bind(now)
                    .push_sql(", last_modified = ")
                    .push_bind(now);
                if kind.has_active {
                    sql.push_sql(", session_version = session_version + 1");
                }
                sql
            }
        };
        sql.push_sql(" WHERE org_id = ")
            .push_bind(org)
            .push_sql(&kind.scope(""))
            .push_sql(" AND id = ")
            .push_bind(id)
            .push_sql(" AND ")
            .push_sql(LIVE_BY_KEY);
        conn.dialect().prepared(&sql).execute(conn.raw())?;
        let members_attribute = ["members".to_owned()];
        let gone = events::members_data(&[id]);
        let left: Vec<NewEvent<'_>> = parents
            .iter()
            .flat_map(|parent| {
                [EventKind::Updated, EventKind::MemberRemoved].map(|event| NewEvent {
                    resource_type: GROUPS.name,
                    resource_id: parent,
                    kind: event,
                    token_id,
                    attributes: &members_attribute,
                    occurred_at: now,
                    data: (event == EventKind::MemberRemoved).then(|| gone.clone()),
                })
            })
            .collect();
        events::record_all(conn, org, &left)?;
        events::record(
            conn,
            org,
            &NewEvent {
                resource_type: kind.name,
                resource_id: id,
                kind: EventKind::Deleted,
                token_id,
                attributes: &[],
                occurred_at: now,
                // A tombstone's session version went up by one; a purged row's is gone, and
                // the host application ends the sessions of a deleted user either way.
                data: kind
                    .has_active
                    .then(|| events::session_data(current.session_version + 1)),
            },
        )
    })
}

/// Tombstones per statement of [`scrub_tombstones`] and [`purge_tombstones`]: each batch is its
/// own short statement, so a large backlog neither holds locks for long nor runs into
/// `statement_timeout`.
const TOMBSTONE_BATCH: i64 = 1_000;

/// Erases what tombstones deleted before `deleted_before` still say about the resource, in
/// every organisation and of every kind: the document and the search document become `{}` (a
/// user's password hash goes with the document), the unique name and its key become empty and
/// the externalId goes. What stays is what the outbox refers to — the id, the organisation, the
/// version and the timestamps — so a tombstone still tells the host application that, and
/// when, the resource was deleted, and nothing about whom it described. Email keys and
/// memberships are already gone (see [`delete`]). Tombstones scrubbed before are left alone.
/// Returns how many were scrubbed.
///
/// Runs in batches of short statements of their own (not in one transaction), so it can run
/// beside the service and pick up where it stopped.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails; batches done
/// before stay done.
pub fn scrub_tombstones(
    conn: &mut DbConnection,
    deleted_before: SystemTime,
) -> Result<usize, StoreError> {
    let cutoff = to_micros(deleted_before);
    each_kind_in_batches(conn, |kind| {
        let mut sql = SqlFragment::sql(format!(
            "UPDATE {table} SET document = '{{}}', search = '{{}}', {name} = '', {key} = '', \
             external_id = NULL WHERE (org_id, id) IN (SELECT org_id, id FROM {table} \
             WHERE deleted_at IS NOT NULL AND deleted_at < ",
            table = kind.table,
            name = kind.name_column,
            key = kind.key_column,
        ));
        sql.push_bind(cutoff)
            .push_sql(" AND document <> '{}' LIMIT ")
            .push_bind(TOMBSTONE_BATCH)
            .push_sql(")");
        sql
    })
}

/// Runs the statement `batch` gives for each kind until a run touches fewer than
/// [`TOMBSTONE_BATCH`] rows; returns the rows touched in all.
fn each_kind_in_batches(
    conn: &mut DbConnection,
    batch: impl Fn(&ResourceKind) -> SqlFragment,
) -> Result<usize, StoreError> {
    let mut touched = 0;
    for kind in ResourceKind::ALL.into_iter().chain([&SHARED_ROWS]) {
        loop {
            let rows = conn.dialect().query(&batch(kind)).execute(conn.raw())?;
            touched += rows;
            if i64::try_from(rows).map_or(true, |rows| rows < TOMBSTONE_BATCH) {
                break;
            }
        }
    }
    Ok(touched)
}

/// Deletes the tombstones deleted before `deleted_before`, in every organisation and of every
/// kind, scrubbed or not; returns how many. Their events stay in the outbox. Batched as
/// [`scrub_tombstones`] is.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails; batches done
/// before stay done.
pub fn purge_tombstones(
    conn: &mut DbConnection,
    deleted_before: SystemTime,
) -> Result<usize, StoreError> {
    let cutoff = to_micros(deleted_before);
    each_kind_in_batches(conn, |kind| {
        let mut sql = SqlFragment::sql(format!(
            "DELETE FROM {table} WHERE (org_id, id) IN (SELECT org_id, id FROM {table} \
             WHERE deleted_at IS NOT NULL AND deleted_at < ",
            table = kind.table,
        ));
        sql.push_bind(cutoff)
            .push_sql(" LIMIT ")
            .push_bind(TOMBSTONE_BATCH)
            .push_sql(")");
        sql
    })
}

/// A search as the caller means it: a compiled filter, a sort key, a page. [`ListQuery::new`]
/// turns it into SQL, which never leaves this crate.
#[derive(Debug, Clone, Copy)]
pub struct Search<'a> {
    /// The filter, compiled against the kind's resource type.
    pub filter: Option<&'a CompiledFilter<'a>>,
    /// The sort key and whether it is descending (RFC 7644 §3.4.2.3).
    pub sort: Option<(&'a ResolvedAttribute<'a>, bool)>,
    /// Rows to skip (0-based; SCIM's startIndex − 1). Negative counts as 0.
    pub offset: i64,
    /// Most rows to return. Negative counts as 0.
    pub limit: i64,
    /// What `meta.location` of a resource starts with, the public URL of the endpoint followed
    /// by `/` (e.g. `https://h/scim/v2/Users/`), for filters on `meta.location`; without it
    /// `meta.location` is treated as unassigned.
    pub location_prefix: Option<&'a str>,
}

/// Whether `node` is one `eq`, on an attribute or inside one value filter
/// (`userName eq "x"`, `emails[value eq "x"]`): the lookups identity providers make, whose SQL
/// text depends only on the attribute, of which the schema has a bounded number.
fn one_equality(node: &Node<'_>) -> bool {
    let eq = |node: &Node<'_>| matches!(node, Node::Compare(c) if c.op == CompareOp::Eq);
    match node {
        Node::Any { filter, .. } => eq(filter),
        node => eq(node),
    }
}

/// Which rows a [`ListQuery`] reads.
#[derive(Debug, Clone)]
enum Rows {
    /// Every live resource of the kind in the organisation.
    All,
    /// Those for which `exact` holds, found by reading the organisation's rows.
    Matching { exact: SqlFragment },
    /// Those for which `exact` holds among `candidates` (`SELECT DISTINCT id …`), which
    /// indexes find.
    Candidates {
        dialect: Dialect,
        candidates: SqlFragment,
        exact: SqlFragment,
    },
}

/// A [`Search`] translated for one kind, organisation and dialect: owned, so it can be built
/// where the filter is compiled and run on a blocking thread.
#[derive(Debug, Clone)]
pub struct ListQuery {
    kind: &'static ResourceKind,
    org: OrgId,
    rows: Rows,
    order_by: Option<SqlFragment>,
    /// The bare sort key and whether it descends, for keyset pages (see [`crate::paging`]).
    pub(crate) sort_key: Option<(SqlFragment, bool)>,
    /// Where a keyset page starts: rows strictly after this one.
    pub(crate) after: Option<Position>,
    offset: i64,
    limit: i64,
    /// Whether the statements' text comes from a bounded set, so the connection may keep them
    /// prepared: no filter or one equality, and no sortBy. A filter of any other shape could
    /// make a new text with every request.
    fixed_shape: bool,
}

impl ListQuery {
    /// Translates `search` over `org`'s resources of `kind` for `dialect`.
    ///
    /// # Errors
    /// [`UnsupportedFilter`] for a filter or sort key the store cannot translate (a few forms on
    /// `members` and `groups`, which live outside the document).
    pub fn new(
        kind: &'static ResourceKind,
        dialect: Dialect,
        org: OrgId,
        search: &Search<'_>,
    ) -> Result<Self, UnsupportedFilter> {
        let translator = FilterSql::new(
            dialect,
            org,
            kind,
            search.location_prefix.map(str::to_owned),
        );
        let rows = match search
            .filter
            .map(|filter| translator.condition(filter))
            .transpose()?
        {
            None => Rows::All,
            Some(Condition {
                candidates: None,
                exact,
            }) => Rows::Matching { exact },
            Some(Condition {
                candidates: Some(candidates),
                exact,
            }) => Rows::Candidates {
                dialect,
                candidates,
                exact,
            },
        };
        let order_by = search
            .sort
            .map(|(attr, descending)| translator.order_by(attr, descending))
            .transpose()?;
        let sort_key = search
            .sort
            .map(|(attr, descending)| Ok((translator.sort_key(attr)?, descending)))
            .transpose()?;
        Ok(ListQuery {
            kind,
            org,
            rows,
            order_by,
            sort_key,
            after: None,
            offset: search.offset,
            limit: search.limit,
            fixed_shape: search.sort.is_none()
                && search
                    .filter
                    .is_none_or(|filter| one_equality(filter.root())),
        })
    }

    /// Every live resource of `kind` in `org`, in creation order, `limit` of them from `offset`.
    pub fn page(kind: &'static ResourceKind, org: OrgId, offset: i64, limit: i64) -> Self {
        ListQuery {
            kind,
            org,
            rows: Rows::All,
            order_by: None,
            sort_key: None,
            after: None,
            offset,
            limit,
            fixed_shape: true,
        }
    }

    /// The same query with another window.
    #[must_use]
    pub fn with_window(mut self, offset: i64, limit: i64) -> Self {
        self.offset = offset;
        self.limit = limit;
        self
    }

    pub(crate) fn kind(&self) -> &'static ResourceKind {
        self.kind
    }

    pub(crate) fn limit(&self) -> i64 {
        self.limit
    }

    pub(crate) fn order_by(&self) -> Option<&SqlFragment> {
        self.order_by.as_ref().filter(|f| !f.is_empty())
    }

    fn count_sql(&self) -> SqlFragment {
        let mut count = SqlFragment::sql("SELECT COUNT(*) AS total");
        count.push_fragment(&self.filtered_rows());
        count
    }

    fn page_sql(&self) -> SqlFragment {
        let table = self.kind.table;
        let mut page = SqlFragment::sql(format!("SELECT {}", self.kind.qualified_select_list()));
        page.push_fragment(&self.filtered_rows())
            .push_sql(" ORDER BY ");
        if let Some(order_by) = self.order_by.as_ref().filter(|f| !f.is_empty()) {
            page.push_fragment(order_by).push_sql(", ");
        }
        page.push_sql(&format!("{table}.created_at, {table}.id LIMIT "))
            .push_bind(self.limit.max(0))
            .push_sql(" OFFSET ")
            .push_bind(self.offset.max(0));
        page
    }

    /// `FROM … WHERE …` of the matching live rows. With candidates, the rows are reached from
    /// them, one primary-key lookup each, in a join order the planner cannot change: a
    /// PostgreSQL `LATERAL` subquery that `OFFSET 0` keeps from being flattened, an SQLite
    /// `CROSS JOIN`, whose left side SQLite always reads first. Left to itself, a planner that
    /// has no statistics yet believes an organisation is a small part of its table and walks
    /// all of it in listing order instead.
    pub(crate) fn filtered_rows(&self) -> SqlFragment {
        let table = self.kind.table;
        let mut from = SqlFragment::new();
        match &self.rows {
            Rows::All | Rows::Matching { .. } => {
                from.push_sql(&format!(" FROM {table} WHERE {table}.org_id = "))
                    .push_bind(self.org)
                    .push_sql(&self.kind.scope(&format!("{table}.")))
                    .push_sql(&format!(" AND {table}.deleted_at IS NULL"));
            }
            Rows::Candidates {
                dialect: Dialect::Postgres,
                candidates,
                ..
            } => {
                from.push_sql(" FROM (")
                    .push_fragment(candidates)
                    .push_sql(&format!(
                        ") AS candidates CROSS JOIN LATERAL (SELECT * FROM {table} WHERE \
                         {table}.org_id = "
                    ))
                    .push_bind(self.org)
                    .push_sql(&self.kind.scope(&format!("{table}.")))
                    // `deleted_at` is tested outside: inside, it would let the planner read
                    // the partial unique index by organisation alone instead of the primary
                    // key by (organisation, id).
                    .push_sql(&format!(
                        " AND {table}.id = candidates.id OFFSET 0) AS {table} \
                         WHERE {table}.deleted_at IS NULL"
                    ));
            }
            Rows::Candidates {
                dialect: Dialect::Sqlite,
                candidates,
                ..
            } => {
                from.push_sql(" FROM (")
                    .push_fragment(candidates)
                    .push_sql(&format!(
                        ") AS candidates CROSS JOIN {table} ON {table}.org_id = "
                    ))
                    .push_bind(self.org)
                    .push_sql(&self.kind.scope(&format!("{table}.")))
                    .push_sql(&format!(
                        " AND {table}.id = candidates.id WHERE {table}.deleted_at IS NULL"
                    ));
            }
        }
        if let Rows::Matching { exact } | Rows::Candidates { exact, .. } = &self.rows {
            if !exact.is_empty() {
                from.push_sql(" AND (").push_fragment(exact).push_sql(")");
            }
        }
        from
    }
}

/// How many live resources match `query` (its window ignored).
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn count(conn: &mut DbConnection, query: &ListQuery) -> Result<i64, StoreError> {
    let rows = load_rows::<Total>(conn, &query.count_sql(), query.fixed_shape)?;
    Ok(rows.first().map_or(0, |row| row.total))
}

/// A page of live resources matching `query`, and how many match in all.
///
/// The page is read first. When it is not full and some match is on it or it starts at the
/// first match, the matches end on it, so its end is the count: the usual lookup by userName or
/// externalId, answered by zero or one row, costs one statement. Otherwise the count is a
/// second statement, and under concurrent writes the total may be off by the rows written in
/// between.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn list(conn: &mut DbConnection, query: &ListQuery) -> Result<Page<Record>, StoreError> {
    if query.limit <= 0 {
        return Ok(Page {
            total: count(conn, query)?,
            items: Vec::new(),
        });
    }
    let items: Vec<Record> = load_rows::<RecordRow>(conn, &query.page_sql(), query.fixed_shape)?
        .into_iter()
        .map(Record::from)
        .collect();
    let shown = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let total = if shown < query.limit && (shown > 0 || query.offset == 0) && query.after.is_none()
    {
        query.offset + shown
    } else {
        count(conn, query)?
    };
    Ok(Page { total, items })
}

/// How the database would run `query`: the plans of its count and of its page, one line per
/// plan node (PostgreSQL's `EXPLAIN`, SQLite's `EXPLAIN QUERY PLAN`), without running either.
/// For tests that pin which index a filter uses, and for an operator asking why one is slow. A
/// query of fixed shape (no filter or one equality, no sortBy) is kept prepared, so on
/// PostgreSQL its plans are the generic ones, made without the values.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn explain(conn: &mut DbConnection, query: &ListQuery) -> Result<QueryPlans, StoreError> {
    if query.fixed_shape && conn.dialect() == Dialect::Postgres {
        return Ok(QueryPlans {
            count: generic_plan_of(conn, &query.count_sql())?,
            page: generic_plan_of(conn, &query.page_sql())?,
        });
    }
    Ok(QueryPlans {
        count: plan_of(conn, query.count_sql())?,
        page: plan_of(conn, query.page_sql())?,
    })
}

/// PostgreSQL: the generic plan of `statement`, the one made without its values, which a
/// prepared statement may run with after a few executions. A query the store keeps prepared
/// ([`ListQuery`] of fixed shape) must be index-backed with that plan too.
fn generic_plan_of(
    conn: &mut DbConnection,
    statement: &SqlFragment,
) -> Result<Vec<String>, StoreError> {
    let (sql, binds) = Dialect::Postgres.render(statement);
    let types: Vec<&str> = binds
        .iter()
        .map(|value| match value {
            BindValue::Text(_) | BindValue::Null => "text",
            BindValue::BigInt(_) => "bigint",
            BindValue::Double(_) => "double precision",
            BindValue::Bool(_) => "boolean",
        })
        .collect();
    // EXPLAIN EXECUTE takes the values as SQL; these are the store's own binds, quoted.
    let values: Vec<String> = binds
        .iter()
        .map(|value| match value {
            BindValue::Text(text) => format!("'{}'", text.replace('\'', "''")),
            BindValue::BigInt(n) => n.to_string(),
            BindValue::Double(x) => format!("CAST('{x:?}' AS double precision)"),
            BindValue::Bool(flag) => flag.to_string(),
            BindValue::Null => "NULL".to_owned(),
        })
        .collect();
    conn.batch_execute(&format!(
        "PREPARE scim_explain ({}) AS {sql}; SET plan_cache_mode = force_generic_plan",
        types.join(", ")
    ))?;
    let plan = diesel::sql_query(format!(
        "EXPLAIN EXECUTE scim_explain ({})",
        values.join(", ")
    ))
    .load::<PgPlanLine>(conn.raw())
    .map(|lines| lines.into_iter().map(|line| line.plan).collect());
    conn.batch_execute("DEALLOCATE scim_explain; RESET plan_cache_mode")?;
    Ok(plan?)
}

/// How the database would read the live resource `id` of `org`, as [`get`] does, or as a write
/// does when `for_update` (with its row lock): one line per plan node, as [`explain`] gives
/// (on PostgreSQL the generic plan: the statement is kept prepared).
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn explain_get(
    conn: &mut DbConnection,
    kind: &ResourceKind,
    org: OrgId,
    id: &str,
    for_update: bool,
) -> Result<Vec<String>, StoreError> {
    let lock = if for_update {
        conn.dialect().lock_rows_clause()
    } else {
        ""
    };
    let statement = select_live(kind, org, id, lock);
    // The store keeps it prepared: on PostgreSQL, the generic plan is the one that counts.
    match conn.dialect() {
        Dialect::Postgres => generic_plan_of(conn, &statement),
        Dialect::Sqlite => plan_of(conn, statement),
    }
}

/// The plan of `statement`, one line per node, without running it.
fn plan_of(conn: &mut DbConnection, statement: SqlFragment) -> Result<Vec<String>, StoreError> {
    let dialect = conn.dialect();
    let mut sql = SqlFragment::sql(match dialect {
        Dialect::Postgres => "EXPLAIN ",
        Dialect::Sqlite => "EXPLAIN QUERY PLAN ",
    });
    sql.push_fragment(&statement);
    let query = dialect.query(&sql);
    Ok(match dialect {
        Dialect::Postgres => query
            .load::<PgPlanLine>(conn.raw())?
            .into_iter()
            .map(|line| line.plan)
            .collect(),
        Dialect::Sqlite => query
            .load::<SqlitePlanLine>(conn.raw())?
            .into_iter()
            .map(|line| line.detail)
            .collect(),
    })
}

/// The plans [`explain`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPlans {
    /// The plan of the statement counting the matches.
    pub count: Vec<String>,
    /// The plan of the statement reading the page.
    pub page: Vec<String>,
}

#[derive(QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    plan: String,
}

#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = Text)]
    detail: String,
}
