//! API tokens as plain rows: id, name, hash and dates. Generating, hashing and verifying them is
//! `scim-auth`'s business; this module only keeps what it is given.

use std::collections::HashMap;
use std::fmt;
use std::time::SystemTime;

use diesel::prelude::*;

use crate::connection::{write_transaction, DbConnection};
use crate::dialect::{each_backend, SqlFragment};
use crate::schema::tokens;
use crate::timestamp::{from_micros, now_micros, to_micros};
use crate::{OrgId, StoreError, UniqueField};

/// SQL functions diesel lacks. In a private module: the macro makes its items public, and the
/// driver's types are no part of this crate's API.
mod sql {
    use diesel::sql_types::{BigInt, Nullable};

    diesel::define_sql_function! {
        /// SQL `COALESCE` of two nullable integers.
        fn coalesce(first: Nullable<BigInt>, second: Nullable<BigInt>) -> Nullable<BigInt>;
    }
}
use sql::coalesce;

/// A token to store.
#[derive(Clone, PartialEq, Eq)]
pub struct NewToken {
    /// The public token id (the part of the token that is looked up); unique across all
    /// organisations.
    pub id: String,
    /// A name unique within the organisation, for people ("okta-prod").
    pub name: String,
    /// The secret's argon2id hash, in PHC string format.
    pub secret_hash: String,
    /// When the token stops working, if ever.
    pub expires_at: Option<SystemTime>,
}

/// A stored token.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// The organisation the token acts for.
    pub org: OrgId,
    /// The public token id.
    pub id: String,
    /// Its name, unique within the organisation.
    pub name: String,
    /// The secret's argon2id hash, in PHC string format.
    pub secret_hash: String,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it stops working, if ever.
    pub expires_at: Option<SystemTime>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<SystemTime>,
    /// When it was last used, as last reported by [`touch_last_used`].
    pub last_used_at: Option<SystemTime>,
}

// The hash is not the secret, but there is no reason for it to reach a log either.
fn redacted_hash(hash: &str) -> &'static str {
    if hash.is_empty() {
        ""
    } else {
        "<redacted>"
    }
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewToken")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("secret_hash", &redacted_hash(&self.secret_hash))
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRecord")
            .field("org", &self.org)
            .field("id", &self.id)
            .field("name", &self.name)
            .field("secret_hash", &redacted_hash(&self.secret_hash))
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .field("last_used_at", &self.last_used_at)
            .finish()
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = tokens)]
struct TokenRow {
    org_id: i64,
    id: String,
    name: String,
    secret_hash: String,
    created_at: i64,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
}

impl From<TokenRow> for TokenRecord {
    fn from(row: TokenRow) -> Self {
        TokenRecord {
            org: OrgId(row.org_id),
            id: row.id,
            name: row.name,
            secret_hash: row.secret_hash,
            created_at: from_micros(row.created_at),
            expires_at: row.expires_at.map(from_micros),
            revoked_at: row.revoked_at.map(from_micros),
            last_used_at: row.last_used_at.map(from_micros),
        }
    }
}

/// Stores a new token for `org`.
///
/// Token ids must be unique across organisations, since authentication finds a token by id
/// alone; the schema cannot enforce that with an index (it would not lead with org_id), so this
/// checks in the same transaction. Ids are random, so only a bug would ever trip it.
///
/// # Errors
/// [`StoreError::UniqueViolation`] with [`UniqueField::TokenId`] or [`UniqueField::TokenName`].
pub fn insert(
    conn: &mut DbConnection,
    org: OrgId,
    new: &NewToken,
) -> Result<TokenRecord, StoreError> {
    write_transaction(conn, |conn| {
        let taken = tokens::table
            .filter(tokens::id.eq(&new.id))
            .select(tokens::org_id)
            .first::<i64>(conn.raw())
            .optional()?;
        if taken.is_some() {
            return Err(StoreError::UniqueViolation {
                field: UniqueField::TokenId,
                constraint: "tokens_id_idx".into(),
            });
        }
        let insert = diesel::insert_into(tokens::table).values((
            tokens::org_id.eq(org.0),
            tokens::id.eq(&new.id),
            tokens::name.eq(&new.name),
            tokens::secret_hash.eq(&new.secret_hash),
            tokens::created_at.eq(now_micros()),
            tokens::expires_at.eq(new.expires_at.map(to_micros)),
        ));
        let row: TokenRow = each_backend!(&mut *conn, |c| insert
            .returning(TokenRow::as_returning())
            .get_result(c))?;
        Ok(row.into())
    })
}

/// The token with public id `id`, in whichever organisation holds it — revoked and expired ones
/// included: judging them is the caller's business.
///
/// # Errors
/// [`StoreError::Other`] if two organisations hold the id (which [`insert`] prevents), or when
/// the database fails.
pub fn find_by_id(conn: &mut DbConnection, id: &str) -> Result<Option<TokenRecord>, StoreError> {
    let mut rows = tokens::table
        .filter(tokens::id.eq(id))
        .select(TokenRow::as_select())
        .limit(2)
        .load(conn.raw())?;
    if rows.len() > 1 {
        return Err(StoreError::other(
            "token id is held by more than one organisation",
        ));
    }
    Ok(rows.pop().map(TokenRecord::from))
}

/// `org`'s tokens, oldest first, revoked ones included.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn list(conn: &mut DbConnection, org: OrgId) -> Result<Vec<TokenRecord>, StoreError> {
    let rows = tokens::table
        .filter(tokens::org_id.eq(org.0))
        .order((tokens::created_at.asc(), tokens::id.asc()))
        .select(TokenRow::as_select())
        .load(conn.raw())?;
    Ok(rows.into_iter().map(TokenRecord::from).collect())
}

/// Revokes the token `id`, within `org` when given (the CLI may revoke by id alone). Revoking a
/// revoked token keeps its first revocation time.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such token (in `org`).
pub fn revoke(
    conn: &mut DbConnection,
    org: Option<OrgId>,
    id: &str,
) -> Result<TokenRecord, StoreError> {
    write_transaction(conn, |conn| {
        let token = find_by_id(conn, id)?
            .filter(|token| org.is_none_or(|org| org == token.org))
            .ok_or(StoreError::NotFound)?;
        let update = diesel::update(
            tokens::table
                .filter(tokens::org_id.eq(token.org.0))
                .filter(tokens::id.eq(id)),
        )
        .set(tokens::revoked_at.eq(coalesce(tokens::revoked_at, Some(now_micros()))));
        let row: TokenRow = each_backend!(&mut *conn, |c| update
            .returning(TokenRow::as_returning())
            .get_result(c))?;
        Ok(row.into())
    })
}

/// Rows per statement in [`touch_last_used`]: two bound values each, far below both backends'
/// limits on bound values per statement.
const TOUCH_CHUNK: usize = 500;

/// Records when tokens were last used, from a batch gathered in memory (so authentication costs
/// no write per request). A time never moves a token's `last_used_at` backwards; unknown ids are
/// ignored. Returns how many tokens changed.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails; then none of
/// the batch is written.
pub fn touch_last_used(
    conn: &mut DbConnection,
    batch: &[(String, SystemTime)],
) -> Result<usize, StoreError> {
    // One row per token, its latest time: UPDATE … FROM with two source rows for one target row
    // would apply either of them.
    let mut latest: HashMap<&str, i64> = HashMap::new();
    for (id, used_at) in batch {
        let micros = to_micros(*used_at);
        latest
            .entry(id.as_str())
            .and_modify(|t| *t = (*t).max(micros))
            .or_insert(micros);
    }
    let latest: Vec<(&str, i64)> = latest.into_iter().collect();
    let dialect = conn.dialect();
    write_transaction(conn, |conn| {
        let mut changed = 0;
        for chunk in latest.chunks(TOUCH_CHUNK) {
            let mut sql = SqlFragment::sql("UPDATE tokens SET last_used_at = v.used_at FROM (");
            for (n, (id, used_at)) in chunk.iter().enumerate() {
                sql.push_sql(if n == 0 {
                    "SELECT "
                } else {
                    " UNION ALL SELECT "
                })
                .push_bind(*id)
                .push_sql(" AS id, ")
                .push_bind(*used_at)
                .push_sql(" AS used_at");
            }
            sql.push_sql(
                ") AS v WHERE tokens.id = v.id \
                 AND (tokens.last_used_at IS NULL OR tokens.last_used_at < v.used_at)",
            );
            changed += dialect.query(&sql).execute(conn.raw())?;
        }
        Ok(changed)
    })
}
