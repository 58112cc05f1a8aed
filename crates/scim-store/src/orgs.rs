//! Organisations: the tenants. Every other row belongs to exactly one.

use std::time::SystemTime;

use diesel::prelude::*;

use crate::connection::{write_transaction, DbConnection};
use crate::dialect::each_backend;
use crate::schema::organizations;
use crate::timestamp::{from_micros, now_micros};
use crate::{OrgId, StoreError};

/// An organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Its id, which every other table leads with.
    pub id: OrgId,
    /// Its unique name.
    pub name: String,
    /// When it was created.
    pub created_at: SystemTime,
    /// Whether SCIM manages its users: `None` until its first SCIM write sets it true
    /// ([`note_scim_write`]), or as an operator set it ([`set_scim_managed`]). A host
    /// application switches its own JIT provisioning off when it is true.
    pub scim_managed: Option<bool>,
    /// Its request rate limit, if an operator set one (else the server's default applies).
    pub rate_limit: Option<RateLimit>,
    /// Whether it runs under the strict interoperability profile (else tolerant).
    pub strict_profile: bool,
}

/// A request rate limit: a token bucket refilled at `per_second`, holding at most `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    /// Sustained requests per second.
    pub per_second: u32,
    /// Requests that may come at once after a quiet period.
    pub burst: u32,
}

impl Organization {
    /// [`Organization::scim_managed`], unset read as false.
    pub fn is_scim_managed(&self) -> bool {
        self.scim_managed.unwrap_or(false)
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = organizations)]
struct OrganizationRow {
    id: i64,
    name: String,
    created_at: i64,
    scim_managed: Option<bool>,
    rate_limit: Option<i64>,
    rate_burst: Option<i64>,
    interop_profile: Option<String>,
}

impl From<OrganizationRow> for Organization {
    fn from(row: OrganizationRow) -> Self {
        Organization {
            id: OrgId(row.id),
            name: row.name,
            created_at: from_micros(row.created_at),
            scim_managed: row.scim_managed,
            rate_limit: row.rate_limit.map(|per_second| RateLimit {
                per_second: u32::try_from(per_second).unwrap_or(u32::MAX),
                burst: row
                    .rate_burst
                    .and_then(|burst| u32::try_from(burst).ok())
                    .unwrap_or(1),
            }),
            strict_profile: row.interop_profile.as_deref() == Some("strict"),
        }
    }
}

/// Sets (or, with `None`, unsets) `org`'s request rate limit.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such organisation.
pub fn set_rate_limit(
    conn: &mut DbConnection,
    org: OrgId,
    limit: Option<RateLimit>,
) -> Result<Organization, StoreError> {
    let update = diesel::update(organizations::table.filter(organizations::id.eq(org.0))).set((
        organizations::rate_limit.eq(limit.map(|l| i64::from(l.per_second))),
        organizations::rate_burst.eq(limit.map(|l| i64::from(l.burst))),
    ));
    let row: Option<OrganizationRow> = each_backend!(conn, |c| update
        .returning(OrganizationRow::as_returning())
        .get_result(c)
        .optional())?;
    row.map(Organization::from).ok_or(StoreError::NotFound)
}

/// Puts `org` under the strict interoperability profile, or back under the tolerant default.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such organisation.
pub fn set_strict_profile(
    conn: &mut DbConnection,
    org: OrgId,
    strict: bool,
) -> Result<Organization, StoreError> {
    let profile = if strict { "strict" } else { "tolerant" };
    let update = diesel::update(organizations::table.filter(organizations::id.eq(org.0)))
        .set(organizations::interop_profile.eq(Some(profile)));
    let row: Option<OrganizationRow> = each_backend!(conn, |c| update
        .returning(OrganizationRow::as_returning())
        .get_result(c)
        .optional())?;
    row.map(Organization::from).ok_or(StoreError::NotFound)
}

/// The organisation with id `id`, if any.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn by_id(conn: &mut DbConnection, id: OrgId) -> Result<Option<Organization>, StoreError> {
    let row = organizations::table
        .filter(organizations::id.eq(id.0))
        .select(OrganizationRow::as_select())
        .first(conn.raw())
        .optional()?;
    Ok(row.map(Organization::from))
}

/// Sets (or, with `None`, unsets) whether SCIM manages `org`. An unset flag goes true on the
/// next SCIM write; one an operator set stays as set.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such organisation.
pub fn set_scim_managed(
    conn: &mut DbConnection,
    org: OrgId,
    managed: Option<bool>,
) -> Result<Organization, StoreError> {
    let update = diesel::update(organizations::table.filter(organizations::id.eq(org.0)))
        .set(organizations::scim_managed.eq(managed));
    let row: Option<OrganizationRow> = each_backend!(conn, |c| update
        .returning(OrganizationRow::as_returning())
        .get_result(c)
        .optional())?;
    row.map(Organization::from).ok_or(StoreError::NotFound)
}

/// Marks `org` as managed by SCIM unless its flag is already set (either way). Call it in the
/// transaction of a SCIM write; returns whether the flag changed.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn note_scim_write(conn: &mut DbConnection, org: OrgId) -> Result<bool, StoreError> {
    let update = diesel::update(
        organizations::table
            .filter(organizations::id.eq(org.0))
            .filter(organizations::scim_managed.is_null()),
    )
    .set(organizations::scim_managed.eq(Some(true)));
    Ok(each_backend!(conn, |c| update.execute(c))? > 0)
}

/// Creates an organisation named `name`.
///
/// # Errors
/// [`StoreError::UniqueViolation`] ([`crate::UniqueField::OrganizationName`]) when the name is
/// taken.
pub fn create(conn: &mut DbConnection, name: &str) -> Result<Organization, StoreError> {
    let insert = diesel::insert_into(organizations::table).values((
        organizations::name.eq(name),
        organizations::created_at.eq(now_micros()),
    ));
    let row: OrganizationRow = each_backend!(conn, |c| insert
        .returning(OrganizationRow::as_returning())
        .get_result(c))?;
    Ok(row.into())
}

/// The organisation named `name`, if any.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn by_name(conn: &mut DbConnection, name: &str) -> Result<Option<Organization>, StoreError> {
    let row = organizations::table
        .filter(organizations::name.eq(name))
        .select(OrganizationRow::as_select())
        .first(conn.raw())
        .optional()?;
    Ok(row.map(Organization::from))
}

/// Every organisation, oldest first.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn list(conn: &mut DbConnection) -> Result<Vec<Organization>, StoreError> {
    let rows = organizations::table
        .order(organizations::id.asc())
        .select(OrganizationRow::as_select())
        .load(conn.raw())?;
    Ok(rows.into_iter().map(Organization::from).collect())
}

/// The organisation named `name`, created if it does not exist yet. Safe against a concurrent
/// creation of the same name: both callers get the one organisation.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn get_or_create(conn: &mut DbConnection, name: &str) -> Result<Organization, StoreError> {
    write_transaction(conn, |conn| {
        let insert = diesel::insert_into(organizations::table)
            .values((
                organizations::name.eq(name),
                organizations::created_at.eq(now_micros()),
            ))
            .on_conflict(organizations::name)
            .do_nothing();
        each_backend!(&mut *conn, |c| insert.execute(c))?;
        by_name(conn, name)?.ok_or(StoreError::NotFound)
    })
}
