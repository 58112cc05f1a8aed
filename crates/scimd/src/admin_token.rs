//! `scimd admin-token`: credentials for the admin API (`/admin/v1`), not for SCIM.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{bail, Context as _};
use scim_store::admin_tokens::{self, NewAdminToken};
use scim_store::{orgs, Store, StoreError};

use crate::token::{format_time, generate, organization};

/// `scimd admin-token create`: prints only the token. With no `orgs` it covers every
/// organisation.
///
/// # Errors
/// When an organisation does not exist or the store fails.
pub fn create(
    store: &Store,
    org_names: &[String],
    name: Option<&str>,
    expires_in: Option<Duration>,
) -> anyhow::Result<()> {
    let expires_at = crate::token::expiry(expires_in)?;
    let mut conn = store.get()?;
    let orgs = if org_names.is_empty() {
        None
    } else {
        let mut ids = Vec::with_capacity(org_names.len());
        for name in org_names {
            ids.push(organization(&mut conn, name)?.id);
        }
        Some(ids)
    };
    let issued = generate()?;
    let label = name.map_or_else(|| format!("admin-{}", issued.id()), str::to_owned);
    admin_tokens::insert(
        &mut conn,
        &NewAdminToken {
            id: issued.id().to_string(),
            name: label.clone(),
            secret_hash: issued.phc_hash().to_owned(),
            orgs,
            expires_at,
        },
    )
    .context("cannot store the admin token")?;
    tracing::info!(token = %issued.id(), name = %label, "admin token created");
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", issued.expose_token())?;
    out.flush()?;
    Ok(())
}

/// `scimd admin-token list`: id, name, organisations and dates; never a secret.
///
/// # Errors
/// When the store fails or stdout is closed.
pub fn list(store: &Store) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let names: std::collections::HashMap<i64, String> = orgs::list(&mut conn)?
        .into_iter()
        .map(|org| (org.id.0, org.name))
        .collect();
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<16} {:<24} {:<20} {:<20} {:<20} ORGANISATIONS",
        "ID", "NAME", "CREATED", "EXPIRES", "REVOKED"
    )?;
    for token in admin_tokens::list(&mut conn)? {
        let covered = token.orgs.as_ref().map_or_else(
            || "all".to_owned(),
            |ids| {
                ids.iter()
                    .map(|id| names.get(&id.0).cloned().unwrap_or_else(|| id.to_string()))
                    .collect::<Vec<_>>()
                    .join(",")
            },
        );
        writeln!(
            out,
            "{:<16} {:<24} {:<20} {:<20} {:<20} {}",
            token.id,
            token.name,
            format_time(token.created_at),
            token
                .expires_at
                .map_or_else(|| "never".to_owned(), format_time),
            token.revoked_at.map_or_else(|| "-".to_owned(), format_time),
            covered
        )?;
    }
    Ok(())
}

/// `scimd admin-token revoke ID`.
///
/// # Errors
/// When there is no such token or the store fails.
pub fn revoke(
    store: &Store,
    id: &str,
    serve: &crate::settings::ServeSettings,
) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let token = match admin_tokens::revoke(&mut conn, id.trim()) {
        Ok(token) => token,
        Err(StoreError::NotFound) => bail!("no admin token has the id `{id}`"),
        Err(error) => return Err(error).context("cannot revoke the admin token"),
    };
    tracing::info!(token = %token.id, "admin token revoked");
    println!("revoked admin token {} ({})", token.id, token.name);
    eprintln!("{}", crate::token::revocation_bound(serve));
    Ok(())
}
