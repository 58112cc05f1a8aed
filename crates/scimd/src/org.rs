//! `scimd org`: organisations, the tenants every token and resource belongs to.

use std::io::Write as _;

use anyhow::{bail, Context as _};
use scim_store::orgs::RateLimit;
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

/// An organisation's interoperability profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Profile {
    /// The SCIM interoperability profile's rules.
    Strict,
    /// What today's identity providers send (the default).
    Tolerant,
}

/// What `scimd org set` changes; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// The "managed by SCIM" flag (inner `None`: unset).
    pub scim_managed: Option<Option<bool>>,
    /// The rate limit (inner `None`: the server's default).
    pub rate_limit: Option<Option<RateLimit>>,
    /// The interoperability profile.
    pub interop_profile: Option<Profile>,
}

/// `scimd org set NAME [--scim-managed …] [--rate-limit … [--burst …]] [--interop-profile …]`:
/// all the changes or none.
///
/// # Errors
/// When the organisation does not exist, nothing is to change, or the store fails.
pub fn set(store: &Store, name: &str, changes: &Changes) -> anyhow::Result<()> {
    if changes.scim_managed.is_none()
        && changes.rate_limit.is_none()
        && changes.interop_profile.is_none()
    {
        bail!("nothing to change: pass --scim-managed, --rate-limit or --interop-profile");
    }
    let mut conn = store.get()?;
    let org = crate::token::organization(&mut conn, name)?;
    let org = scim_store::savepoint(&mut conn, |conn| {
        let mut changed = org.clone();
        if let Some(managed) = changes.scim_managed {
            changed = orgs::set_scim_managed(conn, org.id, managed)?;
        }
        if let Some(limit) = changes.rate_limit {
            changed = orgs::set_rate_limit(conn, org.id, limit)?;
        }
        if let Some(profile) = changes.interop_profile {
            changed = orgs::set_strict_profile(conn, org.id, profile == Profile::Strict)?;
        }
        Ok::<_, StoreError>(changed)
    })
    .context("cannot change the organisation")?;
    let managed = match org.scim_managed {
        Some(true) => "true",
        Some(false) => "false",
        None => "unset (the next SCIM write sets it true)",
    };
    let limit = org.rate_limit.map_or_else(
        || "the server's default".to_owned(),
        |limit| format!("{}/s, burst {}", limit.per_second, limit.burst),
    );
    let profile = if org.strict_profile {
        "strict"
    } else {
        "tolerant"
    };
    println!(
        "organisation {}: scim-managed {managed}; rate limit {limit}; interop profile {profile}",
        org.name
    );
    eprintln!(
        "running servers apply it within {}s",
        scim_server::ORG_SETTINGS_TTL.as_secs()
    );
    Ok(())
}
