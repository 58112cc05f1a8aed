//! `scimd client`: OAuth 2.0 clients (client credentials) of an organisation, for identity
//! providers that will not use a static token. Secrets are shown once and stored hashed.

use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context as _};
use scim_auth::{IssuedToken, TokenId};
use scim_store::oauth::{self, NewSecret};
use scim_store::{Store, StoreError, UniqueField};

use crate::token::{format_time, generate, organization};

/// Longest a client secret may live (Microsoft's gallery asks for 1 to 3 years).
pub const MAX_SECRET_LIFETIME: Duration = Duration::from_secs(3 * 366 * 24 * 60 * 60);

/// A secret's lifetime when none is given.
pub const DEFAULT_SECRET_LIFETIME: Duration = Duration::from_secs(365 * 24 * 60 * 60);

fn secret_expiry(expires_in: Option<Duration>) -> anyhow::Result<SystemTime> {
    let lifetime = expires_in.unwrap_or(DEFAULT_SECRET_LIFETIME);
    if lifetime > MAX_SECRET_LIFETIME {
        bail!("--expires-in must be at most 3 years");
    }
    crate::token::expiry(Some(lifetime))?.ok_or_else(|| anyhow!("a client secret must expire"))
}

fn new_secret(issued: &IssuedToken, expires_at: SystemTime) -> NewSecret {
    NewSecret {
        id: issued.id().to_string(),
        secret_hash: issued.phc_hash().to_owned(),
        expires_at,
    }
}

/// Reads and checks a JWK set file: a JSON object with a non-empty `keys` array of public keys.
fn read_jwks(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the JWK set {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let keys = value
        .get("keys")
        .and_then(serde_json::Value::as_array)
        .filter(|keys| !keys.is_empty())
        .ok_or_else(|| anyhow!("{} is not a JWK set: no \"keys\" array", path.display()))?;
    for key in keys {
        if key.get("d").is_some() {
            bail!(
                "{} holds a private key (\"d\"): register only the public keys",
                path.display()
            );
        }
        match key.get("kty").and_then(serde_json::Value::as_str) {
            Some("RSA" | "EC") => {}
            _ => bail!("{}: each key needs kty RSA or EC", path.display()),
        }
    }
    Ok(value.to_string())
}

/// `scimd client create`: prints exactly `client_id=…` and `client_secret=…`.
///
/// # Errors
/// When the organisation does not exist, the name is taken, the JWK set is invalid, or the
/// store fails.
pub fn create(
    store: &Store,
    org: &str,
    name: &str,
    expires_in: Option<Duration>,
    jwks: Option<&Path>,
) -> anyhow::Result<()> {
    if name.trim().is_empty() {
        bail!("a client name must not be empty");
    }
    let expires_at = secret_expiry(expires_in)?;
    let jwks = jwks.map(read_jwks).transpose()?;
    let mut conn = store.get()?;
    let org = organization(&mut conn, org)?;
    let client_id = TokenId::generate().context("cannot generate a client id")?;
    let secret = generate()?;
    match oauth::create_client(
        &mut conn,
        org.id,
        client_id.as_str(),
        name,
        jwks.as_deref(),
        &new_secret(&secret, expires_at),
    ) {
        Ok(_) => {}
        Err(StoreError::UniqueViolation {
            field: UniqueField::ClientName,
            ..
        }) => bail!(
            "organisation `{}` already has a client named `{name}`",
            org.name
        ),
        Err(error) => return Err(error).context("cannot store the client"),
    }
    tracing::info!(org = org.id.0, client = %client_id, name, "OAuth client created");
    let mut out = std::io::stdout().lock();
    writeln!(out, "client_id={client_id}")?;
    writeln!(out, "client_secret={}", secret.expose_token())?;
    out.flush()?;
    Ok(())
}

/// `scimd client rotate ID`: adds a secret and prints it; the others stay valid until revoked
/// (`scimd client revoke-secret`) or expired.
///
/// # Errors
/// When there is no such live client or the store fails.
pub fn rotate(store: &Store, id: &str, expires_in: Option<Duration>) -> anyhow::Result<()> {
    let expires_at = secret_expiry(expires_in)?;
    let mut conn = store.get()?;
    let client = oauth::find_client(&mut conn, id.trim())?
        .filter(|client| client.revoked_at.is_none())
        .ok_or_else(|| anyhow!("no live client has the id `{id}`"))?;
    let secret = generate()?;
    oauth::add_secret(
        &mut conn,
        client.org,
        &client.id,
        &new_secret(&secret, expires_at),
    )
    .context("cannot store the secret")?;
    println!("client_secret={}", secret.expose_token());
    eprintln!(
        "the client's other secrets stay valid; revoke the old one with `scimd client \
         revoke-secret ID` once the identity provider uses this one"
    );
    Ok(())
}

/// `scimd client list --org NAME`: clients and their secrets' ids and dates; never a secret.
///
/// # Errors
/// When the organisation does not exist, the store fails or stdout is closed.
pub fn list(store: &Store, org: &str) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let org = organization(&mut conn, org)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<16} {:<24} {:<5} {:<20} {:<20} SECRETS (id: expires, revoked)",
        "CLIENT ID", "NAME", "JWKS", "CREATED", "REVOKED"
    )?;
    for (client, secrets) in oauth::list(&mut conn, org.id)? {
        let secrets: Vec<String> = secrets
            .iter()
            .map(|secret| {
                format!(
                    "{}: {}, {}",
                    secret.id,
                    format_time(secret.expires_at),
                    secret
                        .revoked_at
                        .map_or_else(|| "-".to_owned(), format_time)
                )
            })
            .collect();
        writeln!(
            out,
            "{:<16} {:<24} {:<5} {:<20} {:<20} {}",
            client.id,
            client.name,
            if client.jwks.is_some() { "yes" } else { "no" },
            format_time(client.created_at),
            client
                .revoked_at
                .map_or_else(|| "-".to_owned(), format_time),
            secrets.join("; ")
        )?;
    }
    Ok(())
}

/// `scimd client revoke ID`: the client gets no new token and its access tokens stop working.
///
/// # Errors
/// When there is no such client or the store fails.
pub fn revoke(store: &Store, id: &str) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let client = match oauth::revoke_client(&mut conn, None, id.trim()) {
        Ok(client) => client,
        Err(StoreError::NotFound) => bail!("no client has the id `{id}`"),
        Err(error) => return Err(error).context("cannot revoke the client"),
    };
    println!("revoked client {} ({})", client.id, client.name);
    eprintln!(
        "running servers refuse its access tokens within {} s",
        scim_server::oauth::ACCESS_TOKEN_CACHE_TTL.as_secs()
    );
    Ok(())
}

/// `scimd client revoke-secret SECRET_ID`: one secret of a client, the others stay.
///
/// # Errors
/// When there is no such secret or the store fails.
pub fn revoke_secret(
    store: &Store,
    id: &str,
    serve: &crate::settings::ServeSettings,
) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let secret = match oauth::revoke_secret(&mut conn, id.trim()) {
        Ok(secret) => secret,
        Err(StoreError::NotFound) => bail!("no client secret has the id `{id}`"),
        Err(error) => return Err(error).context("cannot revoke the secret"),
    };
    println!(
        "revoked secret {} of client {}",
        secret.id, secret.client_id
    );
    eprintln!("{}", crate::token::revocation_bound(serve));
    Ok(())
}
