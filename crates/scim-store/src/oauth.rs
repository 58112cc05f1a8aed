//! OAuth 2.0 client credentials as plain rows: clients, their secrets (hashes), the access
//! tokens issued to them (SHA-256 hashes) and the client-assertion ids seen. Generating,
//! hashing and checking them is `scim-auth`'s and the server's business.

use std::fmt;
use std::time::SystemTime;

use diesel::prelude::*;

use crate::connection::{write_transaction, DbConnection};
use crate::dialect::each_backend;
use crate::schema::{
    oauth_access_tokens, oauth_assertion_ids, oauth_client_secrets, oauth_clients,
};
use crate::timestamp::{from_micros, now_micros, to_micros};
use crate::{OrgId, StoreError};

/// A client: an identity provider connection that gets access tokens with its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Its organisation.
    pub org: OrgId,
    /// Its public id (`client_id`).
    pub id: String,
    /// A name unique within the organisation.
    pub name: String,
    /// Its public keys for `private_key_jwt`, a JWK set as JSON; `None` if it has none.
    pub jwks: Option<String>,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<SystemTime>,
}

/// One of a client's secrets (a client may have several at once while rotating).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSecret {
    /// Its organisation.
    pub org: OrgId,
    /// The client it belongs to.
    pub client_id: String,
    /// The secret's public id: the lookup key of a presented secret.
    pub id: String,
    /// Its argon2id hash, in PHC string format.
    pub secret_hash: String,
    /// When it was created.
    pub created_at: SystemTime,
    /// When it stops working.
    pub expires_at: SystemTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<SystemTime>,
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSecret")
            .field("org", &self.org)
            .field("client_id", &self.client_id)
            .field("id", &self.id)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = oauth_clients)]
struct ClientRow {
    org_id: i64,
    id: String,
    name: String,
    jwks: Option<String>,
    created_at: i64,
    revoked_at: Option<i64>,
}

impl From<ClientRow> for Client {
    fn from(row: ClientRow) -> Self {
        Client {
            org: OrgId(row.org_id),
            id: row.id,
            name: row.name,
            jwks: row.jwks,
            created_at: from_micros(row.created_at),
            revoked_at: row.revoked_at.map(from_micros),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = oauth_client_secrets)]
struct SecretRow {
    org_id: i64,
    client_id: String,
    id: String,
    secret_hash: String,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl From<SecretRow> for ClientSecret {
    fn from(row: SecretRow) -> Self {
        ClientSecret {
            org: OrgId(row.org_id),
            client_id: row.client_id,
            id: row.id,
            secret_hash: row.secret_hash,
            created_at: from_micros(row.created_at),
            expires_at: from_micros(row.expires_at),
            revoked_at: row.revoked_at.map(from_micros),
        }
    }
}

/// A secret to store.
#[derive(Clone, PartialEq, Eq)]
pub struct NewSecret {
    /// Its public id.
    pub id: String,
    /// Its argon2id hash.
    pub secret_hash: String,
    /// When it stops working.
    pub expires_at: SystemTime,
}

impl fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewSecret")
            .field("id", &self.id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Creates the client `id` named `name` in `org`, with its first secret, in one transaction.
///
/// # Errors
/// [`StoreError::UniqueViolation`] with [`crate::UniqueField::ClientName`] when the name is
/// taken in `org`.
pub fn create_client(
    conn: &mut DbConnection,
    org: OrgId,
    id: &str,
    name: &str,
    jwks: Option<&str>,
    secret: &NewSecret,
) -> Result<Client, StoreError> {
    write_transaction(conn, |conn| {
        let insert = diesel::insert_into(oauth_clients::table).values((
            oauth_clients::org_id.eq(org.0),
            oauth_clients::id.eq(id),
            oauth_clients::name.eq(name),
            oauth_clients::jwks.eq(jwks),
            oauth_clients::created_at.eq(now_micros()),
        ));
        let row: ClientRow = each_backend!(&mut *conn, |c| insert
            .returning(ClientRow::as_returning())
            .get_result(c))?;
        add_secret(conn, org, id, secret)?;
        Ok(row.into())
    })
}

/// Adds a secret to the client `client_id` of `org` (a rotation: the others stay valid).
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn add_secret(
    conn: &mut DbConnection,
    org: OrgId,
    client_id: &str,
    secret: &NewSecret,
) -> Result<(), StoreError> {
    let insert = diesel::insert_into(oauth_client_secrets::table).values((
        oauth_client_secrets::org_id.eq(org.0),
        oauth_client_secrets::client_id.eq(client_id),
        oauth_client_secrets::id.eq(&secret.id),
        oauth_client_secrets::secret_hash.eq(&secret.secret_hash),
        oauth_client_secrets::created_at.eq(now_micros()),
        oauth_client_secrets::expires_at.eq(to_micros(secret.expires_at)),
    ));
    each_backend!(conn, |c| insert.execute(c))?;
    Ok(())
}

/// The client with public id `id`, in whichever organisation holds it; revoked ones included.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn find_client(conn: &mut DbConnection, id: &str) -> Result<Option<Client>, StoreError> {
    Ok(oauth_clients::table
        .filter(oauth_clients::id.eq(id))
        .select(ClientRow::as_select())
        .first(conn.raw())
        .optional()?
        .map(Client::from))
}

/// The secret with public id `id`; revoked and expired ones included.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn find_secret(conn: &mut DbConnection, id: &str) -> Result<Option<ClientSecret>, StoreError> {
    Ok(oauth_client_secrets::table
        .filter(oauth_client_secrets::id.eq(id))
        .select(SecretRow::as_select())
        .first(conn.raw())
        .optional()?
        .map(ClientSecret::from))
}

/// `org`'s clients with their secrets, oldest first.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn list(
    conn: &mut DbConnection,
    org: OrgId,
) -> Result<Vec<(Client, Vec<ClientSecret>)>, StoreError> {
    let clients: Vec<Client> = oauth_clients::table
        .filter(oauth_clients::org_id.eq(org.0))
        .order((oauth_clients::created_at.asc(), oauth_clients::id.asc()))
        .select(ClientRow::as_select())
        .load(conn.raw())?
        .into_iter()
        .map(Client::from)
        .collect();
    let secrets: Vec<ClientSecret> = oauth_client_secrets::table
        .filter(oauth_client_secrets::org_id.eq(org.0))
        .order((
            oauth_client_secrets::created_at.asc(),
            oauth_client_secrets::id.asc(),
        ))
        .select(SecretRow::as_select())
        .load(conn.raw())?
        .into_iter()
        .map(ClientSecret::from)
        .collect();
    Ok(clients
        .into_iter()
        .map(|client| {
            let own = secrets
                .iter()
                .filter(|secret| secret.client_id == client.id)
                .cloned()
                .collect();
            (client, own)
        })
        .collect())
}

/// Revokes the client `id` (within `org` when given) and deletes its access tokens, in one
/// transaction: no token issued to it verifies again once servers' caches let go of it.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such client.
pub fn revoke_client(
    conn: &mut DbConnection,
    org: Option<OrgId>,
    id: &str,
) -> Result<Client, StoreError> {
    write_transaction(conn, |conn| {
        let client = find_client(conn, id)?
            .filter(|client| org.is_none_or(|org| org == client.org))
            .ok_or(StoreError::NotFound)?;
        let now = now_micros();
        let revoke = diesel::update(
            oauth_clients::table
                .filter(oauth_clients::org_id.eq(client.org.0))
                .filter(oauth_clients::id.eq(id))
                .filter(oauth_clients::revoked_at.is_null()),
        )
        .set(oauth_clients::revoked_at.eq(Some(now)));
        each_backend!(&mut *conn, |c| revoke.execute(c))?;
        let tokens = diesel::delete(
            oauth_access_tokens::table
                .filter(oauth_access_tokens::org_id.eq(client.org.0))
                .filter(oauth_access_tokens::client_id.eq(id)),
        );
        each_backend!(&mut *conn, |c| tokens.execute(c))?;
        find_client(conn, id)?.ok_or(StoreError::NotFound)
    })
}

/// Revokes the secret `id` of a client; the client's other secrets stay.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such secret.
pub fn revoke_secret(conn: &mut DbConnection, id: &str) -> Result<ClientSecret, StoreError> {
    let secret = find_secret(conn, id)?.ok_or(StoreError::NotFound)?;
    let revoke = diesel::update(
        oauth_client_secrets::table
            .filter(oauth_client_secrets::org_id.eq(secret.org.0))
            .filter(oauth_client_secrets::client_id.eq(&secret.client_id))
            .filter(oauth_client_secrets::id.eq(id))
            .filter(oauth_client_secrets::revoked_at.is_null()),
    )
    .set(oauth_client_secrets::revoked_at.eq(Some(now_micros())));
    each_backend!(&mut *conn, |c| revoke.execute(c))?;
    find_secret(conn, id)?.ok_or(StoreError::NotFound)
}

/// Stores an access token issued to `client_id` of `org`, by the SHA-256 of its secret.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn insert_access_token(
    conn: &mut DbConnection,
    org: OrgId,
    client_id: &str,
    token_hash: &str,
    expires_at: SystemTime,
) -> Result<(), StoreError> {
    let insert = diesel::insert_into(oauth_access_tokens::table).values((
        oauth_access_tokens::org_id.eq(org.0),
        oauth_access_tokens::token_hash.eq(token_hash),
        oauth_access_tokens::client_id.eq(client_id),
        oauth_access_tokens::created_at.eq(now_micros()),
        oauth_access_tokens::expires_at.eq(to_micros(expires_at)),
    ));
    each_backend!(conn, |c| insert.execute(c))?;
    Ok(())
}

/// The client an access token of `org` was issued to and when it expires, by its hash; `None`
/// for an unknown (or deleted) token.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn find_access_token(
    conn: &mut DbConnection,
    org: OrgId,
    token_hash: &str,
) -> Result<Option<(String, SystemTime)>, StoreError> {
    Ok(oauth_access_tokens::table
        .filter(oauth_access_tokens::org_id.eq(org.0))
        .filter(oauth_access_tokens::token_hash.eq(token_hash))
        .select((
            oauth_access_tokens::client_id,
            oauth_access_tokens::expires_at,
        ))
        .first::<(String, i64)>(conn.raw())
        .optional()?
        .map(|(client, expires)| (client, from_micros(expires))))
}

/// Records the assertion id `jti` of `client_id`, kept until `expires_at`; false when it was
/// seen already (a replay).
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn use_assertion_id(
    conn: &mut DbConnection,
    org: OrgId,
    client_id: &str,
    jti: &str,
    expires_at: SystemTime,
) -> Result<bool, StoreError> {
    let insert = diesel::insert_into(oauth_assertion_ids::table)
        .values((
            oauth_assertion_ids::org_id.eq(org.0),
            oauth_assertion_ids::client_id.eq(client_id),
            oauth_assertion_ids::jti.eq(jti),
            oauth_assertion_ids::expires_at.eq(to_micros(expires_at)),
        ))
        .on_conflict((
            oauth_assertion_ids::org_id,
            oauth_assertion_ids::client_id,
            oauth_assertion_ids::jti,
        ))
        .do_nothing();
    Ok(each_backend!(conn, |c| insert.execute(c))? == 1)
}

/// Deletes expired access tokens and assertion ids; returns how many rows went.
///
/// # Errors
/// [`StoreError::Unavailable`] or [`StoreError::Other`] when the database fails.
pub fn prune_expired(conn: &mut DbConnection, now: SystemTime) -> Result<usize, StoreError> {
    let now = to_micros(now);
    let tokens =
        diesel::delete(oauth_access_tokens::table.filter(oauth_access_tokens::expires_at.lt(now)));
    let ids =
        diesel::delete(oauth_assertion_ids::table.filter(oauth_assertion_ids::expires_at.lt(now)));
    Ok(each_backend!(&mut *conn, |c| tokens.execute(c))?
        + each_backend!(&mut *conn, |c| ids.execute(c))?)
}
