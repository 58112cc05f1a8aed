//! Admin credentials: tokens for the admin API (`/admin`), kept apart from SCIM tokens so
//! neither kind opens the other's door. One may cover every organisation or only some. Like
//! [`crate::tokens`], rows only: generating and hashing them is `scim-auth`'s business.

use std::fmt;
use std::time::SystemTime;

use diesel::prelude::*;

use crate::connection::DbConnection;
use crate::dialect::each_backend;
use crate::schema::admin_tokens;
use crate::timestamp::{from_micros, now_micros, to_micros};
use crate::{OrgId, StoreError};

/// An admin token to store.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAdminToken {
    /// The public token id, unique among admin tokens.
    pub id: String,
    /// A label for people.
    pub name: String,
    /// The secret's argon2id hash, in PHC string format.
    pub secret_hash: String,
    /// The organisations it may manage; `None` for every one.
    pub orgs: Option<Vec<OrgId>>,
    /// When it stops working, if ever.
    pub expires_at: Option<SystemTime>,
}

/// A stored admin token.
#[derive(Clone, PartialEq, Eq)]
pub struct AdminTokenRecord {
    /// The public token id.
    pub id: String,
    /// Its label.
    pub name: String,
    /// The secret's argon2id hash, in PHC string format.
    pub secret_hash: String,
    /// The organisations it may manage; `None` for every one.
    pub orgs: Option<Vec<OrgId>>,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it stops working, if ever.
    pub expires_at: Option<SystemTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<SystemTime>,
}

impl AdminTokenRecord {
    /// Whether it may manage `org`.
    pub fn covers(&self, org: OrgId) -> bool {
        self.orgs.as_ref().is_none_or(|orgs| orgs.contains(&org))
    }
}

impl fmt::Debug for NewAdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewAdminToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("orgs", &self.orgs)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for AdminTokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminTokenRecord")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("orgs", &self.orgs)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = admin_tokens)]
struct AdminTokenRow {
    id: String,
    name: String,
    secret_hash: String,
    org_ids: Option<String>,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
}

impl TryFrom<AdminTokenRow> for AdminTokenRecord {
    type Error = StoreError;

    fn try_from(row: AdminTokenRow) -> Result<Self, StoreError> {
        let orgs = row
            .org_ids
            .map(|ids| serde_json::from_str::<Vec<i64>>(&ids))
            .transpose()
            .map_err(StoreError::other)?
            .map(|ids| ids.into_iter().map(OrgId).collect());
        Ok(AdminTokenRecord {
            id: row.id,
            name: row.name,
            secret_hash: row.secret_hash,
            orgs,
            created_at: from_micros(row.created_at),
            expires_at: row.expires_at.map(from_micros),
            revoked_at: row.revoked_at.map(from_micros),
        })
    }
}

/// Stores a new admin token.
///
/// # Errors
/// [`StoreError::UniqueViolation`] if the id is taken (ids are random: only a bug trips it).
pub fn insert(
    conn: &mut DbConnection,
    new: &NewAdminToken,
) -> Result<AdminTokenRecord, StoreError> {
    let org_ids = new
        .orgs
        .as_ref()
        .map(|orgs| serde_json::to_string(&orgs.iter().map(|org| org.0).collect::<Vec<_>>()))
        .transpose()
        .map_err(StoreError::other)?;
    let insert = diesel::insert_into(admin_tokens::table).values((
        admin_tokens::id.eq(&new.id),
        admin_tokens::name.eq(&new.name),
        admin_tokens::secret_hash.eq(&new.secret_hash),
        admin_tokens::org_ids.eq(org_ids),
        admin_tokens::created_at.eq(now_micros()),
        admin_tokens::expires_at.eq(new.expires_at.map(to_micros)),
    ));
    let row: AdminTokenRow = each_backend!(conn, |c| insert
        .returning(AdminTokenRow::as_returning())
        .get_result(c))?;
    row.try_into()
}

/// The admin token with public id `id`, revoked and expired ones included.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn find_by_id(
    conn: &mut DbConnection,
    id: &str,
) -> Result<Option<AdminTokenRecord>, StoreError> {
    admin_tokens::table
        .filter(admin_tokens::id.eq(id))
        .select(AdminTokenRow::as_select())
        .first(conn.raw())
        .optional()?
        .map(AdminTokenRecord::try_from)
        .transpose()
}

/// Every admin token, oldest first, revoked ones included.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn list(conn: &mut DbConnection) -> Result<Vec<AdminTokenRecord>, StoreError> {
    admin_tokens::table
        .order((admin_tokens::created_at.asc(), admin_tokens::id.asc()))
        .select(AdminTokenRow::as_select())
        .load(conn.raw())?
        .into_iter()
        .map(AdminTokenRecord::try_from)
        .collect()
}

/// Revokes the admin token `id`; a second revocation keeps the first time.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such token.
pub fn revoke(conn: &mut DbConnection, id: &str) -> Result<AdminTokenRecord, StoreError> {
    let update = diesel::update(
        admin_tokens::table
            .filter(admin_tokens::id.eq(id))
            .filter(admin_tokens::revoked_at.is_null()),
    )
    .set(admin_tokens::revoked_at.eq(Some(now_micros())));
    each_backend!(&mut *conn, |c| update.execute(c))?;
    find_by_id(conn, id)?.ok_or(StoreError::NotFound)
}
