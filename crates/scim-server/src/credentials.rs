//! Issuing and revoking SCIM tokens: one implementation for `scimd token`, the admin API and
//! any application that embeds the service.

use std::time::SystemTime;

use scim_auth::argon2::Params;
use scim_auth::IssuedToken;
use scim_store::tokens::{self, NewToken, TokenRecord};
use scim_store::{DbConnection, OrgId, StoreError, UniqueField};

/// Why a token was not issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The name is empty or longer than [`MAX_TOKEN_NAME`].
    #[error("a token name must be 1 to {MAX_TOKEN_NAME} characters")]
    Name,
    /// The organisation already has a token with this name.
    #[error("the organisation already has a token named `{0}`")]
    NameTaken(String),
    /// The expiry is not in the future.
    #[error("a token must expire in the future")]
    Expiry,
    /// Generating or hashing the secret failed.
    #[error("cannot generate a token: {0}")]
    Generate(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The longest token name, in characters.
pub const MAX_TOKEN_NAME: usize = 200;

/// Makes a SCIM token for `org` named `name`, hashed with `params`, and stores its hash. The
/// caller shows [`IssuedToken::expose_token`] once and forgets it.
///
/// ```
/// # use scim_store::{orgs, PoolConfig, Store};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Store::connect("sqlite::memory:", PoolConfig::default())?;
/// store.migrate()?;
/// let mut conn = store.get()?;
/// let org = orgs::create(&mut conn, "acme")?;
/// let cheap = scim_auth::argon2::Params::new(8, 1, 1, None)?;
/// let issued = scim_server::issue_token(&mut conn, org.id, "okta", None, &cheap)?;
/// assert!(issued.expose_token().starts_with("scim_"));
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// [`IssueError`]: a bad or taken name, an expiry in the past, a failed random source or store.
pub fn issue_token(
    conn: &mut DbConnection,
    org: OrgId,
    name: &str,
    expires_at: Option<SystemTime>,
    params: &Params,
) -> Result<IssuedToken, IssueError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME {
        return Err(IssueError::Name);
    }
    if expires_at.is_some_and(|at| at <= SystemTime::now()) {
        return Err(IssueError::Expiry);
    }
    let issued =
        IssuedToken::generate(params).map_err(|error| IssueError::Generate(error.to_string()))?;
    let row = NewToken {
        id: issued.id().to_string(),
        name: name.to_owned(),
        secret_hash: issued.phc_hash().to_owned(),
        expires_at,
    };
    match tokens::insert(conn, org, &row) {
        Ok(_) => Ok(issued),
        Err(StoreError::UniqueViolation {
            field: UniqueField::TokenName,
            ..
        }) => Err(IssueError::NameTaken(name.to_owned())),
        Err(error) => Err(error.into()),
    }
}

/// Revokes the SCIM token `id` (within `org` when given). Servers refuse it within their token
/// cache TTL; a server in this process refuses it at once after `Verifier::forget`.
///
/// # Errors
/// [`StoreError::NotFound`] when there is no such token.
pub fn revoke_token(
    conn: &mut DbConnection,
    org: Option<OrgId>,
    id: &str,
) -> Result<TokenRecord, StoreError> {
    tokens::revoke(conn, org, id.trim())
}
