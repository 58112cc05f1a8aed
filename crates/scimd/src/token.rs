//! `scimd token`: create (shown once), list (never a secret), revoke.

use std::io::Write as _;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context as _};
use scim_auth::{owasp_params, IssuedToken};
use scim_server::IssueError;
use scim_store::orgs::{self, Organization};
use scim_store::{tokens, DbConnection, Store, StoreError};

use crate::settings::{Origin, ServeSettings};

/// `scimd token create`: prints only the token, so a script can capture it.
///
/// # Errors
/// When the organisation does not exist, the name is taken, or the store fails.
pub fn create(
    store: &Store,
    org_name: &str,
    name: &str,
    expires_in: Option<Duration>,
) -> anyhow::Result<()> {
    if name.trim().is_empty() {
        bail!("a token name must not be empty");
    }
    let expires_at = expiry(expires_in)?;
    let mut conn = store.get()?;
    let org = organization(&mut conn, org_name)?;
    let issued = issue(&mut conn, &org, name, expires_at)?;
    tracing::info!(org = org.id.0, token = %issued.id(), name, "token created");
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", issued.expose_token())?;
    out.flush()?;
    Ok(())
}

/// Makes a token for `org` named `name` and stores its hash; the caller shows it once.
///
/// # Errors
/// When `org` already has a token named `name`, hashing fails, or the store fails.
pub fn issue(
    conn: &mut DbConnection,
    org: &Organization,
    name: &str,
    expires_at: Option<SystemTime>,
) -> anyhow::Result<IssuedToken> {
    match scim_server::issue_token(conn, org.id, name, expires_at, &owasp_params()) {
        Ok(issued) => Ok(issued),
        Err(IssueError::NameTaken(_)) => bail!(
            "organisation `{}` already has a token named `{name}`",
            org.name
        ),
        Err(error) => Err(error).context("cannot store the token"),
    }
}

/// A new token, hashed with the production argon2 parameters.
///
/// # Errors
/// When the system's random source fails.
pub fn generate() -> anyhow::Result<IssuedToken> {
    IssuedToken::generate(&owasp_params()).context("cannot generate a token")
}

/// The row that stores `issued` as the token `name`.
pub fn row(issued: &IssuedToken, name: &str, expires_at: Option<SystemTime>) -> tokens::NewToken {
    tokens::NewToken {
        id: issued.id().to_string(),
        name: name.to_owned(),
        secret_hash: issued.phc_hash().to_owned(),
        expires_at,
    }
}

/// `scimd token list`: id, name and dates of each token; never a secret or a hash.
///
/// # Errors
/// When the organisation does not exist, the store fails or stdout is closed.
pub fn list(store: &Store, org_name: &str) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let org = organization(&mut conn, org_name)?;
    let rows = tokens::list(&mut conn, org.id)?;
    let width = rows.iter().map(|t| t.name.len()).max().unwrap_or(0).max(4);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<16} {:<width$} {:<20} {:<20} {:<20} LAST USED",
        "ID", "NAME", "CREATED", "EXPIRES", "REVOKED"
    )?;
    for token in rows {
        writeln!(
            out,
            "{:<16} {:<width$} {:<20} {:<20} {:<20} {}",
            token.id,
            token.name,
            format_time(token.created_at),
            token
                .expires_at
                .map_or_else(|| "never".to_owned(), format_time),
            token.revoked_at.map_or_else(|| "-".to_owned(), format_time),
            token
                .last_used_at
                .map_or_else(|| "never".to_owned(), format_time),
        )?;
    }
    Ok(())
}

/// `scimd token revoke ID`.
///
/// # Errors
/// When there is no such token or the store fails.
pub fn revoke(store: &Store, id: &str, serve: &ServeSettings) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let token = match scim_server::revoke_token(&mut conn, None, id) {
        Ok(token) => token,
        Err(StoreError::NotFound) => bail!("no token has the id `{id}`"),
        Err(error) => return Err(error).context("cannot revoke the token"),
    };
    tracing::info!(token = %token.id, org = token.org.0, "token revoked");
    println!("revoked token {} ({})", token.id, token.name);
    eprintln!("{}", revocation_bound(serve));
    Ok(())
}

/// When running servers stop accepting a credential revoked by this process. It cannot see
/// their settings, so it says which token cache TTL it assumed and where that came from.
pub fn revocation_bound(serve: &ServeSettings) -> String {
    let ttl = crate::settings::format_duration(serve.token_cache_ttl);
    let when = if serve.token_cache_ttl.is_zero() {
        "at once".to_owned()
    } else {
        format!("within {ttl}")
    };
    match serve.token_cache_ttl_origin {
        Origin::Default => format!(
            "a running server refuses it {when} if it runs with the default token cache TTL \
             ({ttl}); this command cannot see a server's settings: give it the servers' \
             --token-cache-ttl, SCIM_TOKEN_CACHE_TTL or --config to be told their bound"
        ),
        Origin::Given | Origin::File => format!(
            "a running server with token_cache_ttl = {ttl} (as {} this command) refuses it \
             {when}; one started with another value, within that value",
            if serve.token_cache_ttl_origin == Origin::File {
                "the --config file tells"
            } else {
                "given to"
            }
        ),
    }
}

pub fn organization(conn: &mut DbConnection, name: &str) -> anyhow::Result<Organization> {
    orgs::by_name(conn, name)?.ok_or_else(|| {
        anyhow!("no organisation named `{name}` (create it with `scimd org create {name}`)")
    })
}

/// When something given `--expires-in` expires: `None` for never.
///
/// # Errors
/// For a zero duration, or one past what the clock can hold.
pub fn expiry(expires_in: Option<Duration>) -> anyhow::Result<Option<SystemTime>> {
    expires_in
        .map(|duration| {
            if duration.is_zero() {
                bail!("--expires-in must be positive");
            }
            SystemTime::now()
                .checked_add(duration)
                .ok_or_else(|| anyhow!("--expires-in is too far in the future"))
        })
        .transpose()
}

/// A time as RFC 3339 UTC to the second.
pub fn format_time(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}
