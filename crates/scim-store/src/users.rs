//! Users: the [`USERS`] kind of [`crate::resources`], under the names a caller that only
//! stores users expects. Everything here is the generic code with the kind filled in.

use crate::connection::DbConnection;
use crate::resources::{self, USERS};
pub use crate::resources::{
    Columns as UserColumns, DeleteMode, NewResource as NewUser, Record as UserRecord,
    Update as UserUpdate,
};
use crate::{OrgId, StoreError};

/// Creates a user, its index entries and a `created` event ([`resources::create`]).
///
/// # Errors
/// [`StoreError::UniqueViolation`] with [`crate::UniqueField::UserName`] when a live user of the
/// organisation has the same userName key, or [`crate::UniqueField::ResourceId`] for a
/// duplicate id.
pub fn create(
    conn: &mut DbConnection,
    org: OrgId,
    new: &NewUser,
) -> Result<UserRecord, StoreError> {
    resources::create(conn, &USERS, org, new)
}

/// The live user `id` of `org` ([`resources::get`]).
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn get(
    conn: &mut DbConnection,
    org: OrgId,
    id: &str,
) -> Result<Option<UserRecord>, StoreError> {
    resources::get(conn, &USERS, org, id)
}

/// Replaces the live user `id` of `org` ([`resources::replace`]).
///
/// # Errors
/// As [`resources::replace`].
pub fn replace(
    conn: &mut DbConnection,
    org: OrgId,
    id: &str,
    expected_version: Option<i64>,
    update: &UserUpdate,
) -> Result<UserRecord, StoreError> {
    resources::replace(conn, &USERS, org, id, expected_version, update)
}

/// Deletes the live user `id` of `org` ([`resources::delete`]).
///
/// # Errors
/// As [`resources::delete`].
pub fn delete(
    conn: &mut DbConnection,
    org: OrgId,
    id: &str,
    mode: DeleteMode,
    expected_version: Option<i64>,
    token_id: Option<&str>,
) -> Result<(), StoreError> {
    resources::delete(conn, &USERS, org, id, mode, expected_version, token_id)
}

/// Every live user of `org`, in creation order, `limit` of them from `offset`, and how many
/// there are ([`resources::list`] of [`resources::ListQuery::page`]).
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn page(
    conn: &mut DbConnection,
    org: OrgId,
    offset: i64,
    limit: i64,
) -> Result<crate::Page<UserRecord>, StoreError> {
    resources::list(
        conn,
        &resources::ListQuery::page(&USERS, org, offset, limit),
    )
}
