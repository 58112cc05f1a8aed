//! `scimd org`: organisations, the tenants every token and resource belongs to.

use std::io::Write as _;

use anyhow::{bail, Context as _};
use scim_store::{orgs, Store, StoreError, UniqueField};

use crate::token::format_time;

/// `scimd org create NAME`: prints the new organisation's id and name.
///
/// # Errors
/// When the name is empty or taken, or the store fails.
pub fn create(store: &Store, name: &str) -> anyhow::Result<()> {
    if name.trim().is_empty() {
        bail!("an organisation name must not be empty");
    }
    let mut conn = store.get()?;
    let org = match orgs::create(&mut conn, name) {
        Ok(org) => org,
        Err(StoreError::UniqueViolation {
            field: UniqueField::OrganizationName,
            ..
        }) => bail!("an organisation named `{name}` already exists"),
        Err(error) => return Err(error).context("cannot create the organisation"),
    };
    tracing::info!(org = org.id.0, name = %org.name, "organisation created");
    println!("created organisation {} (id {})", org.name, org.id);
    Ok(())
}

/// `scimd org list`: one line per organisation.
///
/// # Errors
/// When the store fails or stdout is closed.
pub fn list(store: &Store) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let orgs = orgs::list(&mut conn)?;
    let mut out = std::io::stdout().lock();
    let width = orgs
        .iter()
        .map(|org| org.name.len())
        .max()
        .unwrap_or(0)
        .max(4);
    writeln!(out, "{:<6} {:<width$} CREATED", "ID", "NAME")?;
    for org in orgs {
        writeln!(
            out,
            "{:<6} {:<width$} {}",
            org.id.0,
            org.name,
            format_time(org.created_at)
        )?;
    }
    Ok(())
}

/// `scimd org set NAME --scim-managed true|false|unset`.
///
/// # Errors
/// When the organisation does not exist, nothing is to change, or the store fails.
pub fn set(store: &Store, name: &str, scim_managed: Option<Option<bool>>) -> anyhow::Result<()> {
    let Some(managed) = scim_managed else {
        bail!("nothing to change: pass --scim-managed true|false|unset");
    };
    let mut conn = store.get()?;
    let org = crate::token::organization(&mut conn, name)?;
    let org = orgs::set_scim_managed(&mut conn, org.id, managed)
        .context("cannot change the organisation")?;
    let shown = match org.scim_managed {
        Some(true) => "true",
        Some(false) => "false",
        None => "unset (the next SCIM write sets it true)",
    };
    println!("organisation {}: scim-managed {shown}", org.name);
    Ok(())
}
