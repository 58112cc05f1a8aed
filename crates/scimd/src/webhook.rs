//! `scimd webhook`: add (the secret is shown once), list, status, remove, rotate-secret,
//! resume. The admin API does the same through the same functions.

use std::io::Write as _;
use std::time::SystemTime;

use anyhow::{bail, Context as _};
use scim_server::webhooks::{self, AddError};
use scim_store::webhooks::{self as stored, WebhookRecord};
use scim_store::{Store, StoreError};

use crate::token::{format_time, organization};

/// `scimd webhook add`: prints `id=…` and `secret=…`, the secret only this once.
///
/// # Errors
/// When the organisation does not exist, the URL or a kind is invalid, or the store fails.
pub fn add(store: &Store, org: &str, url: &str, kinds: &[String]) -> anyhow::Result<()> {
    let kinds = if kinds.is_empty() {
        None
    } else {
        Some(webhooks::parse_kinds(kinds).map_err(anyhow::Error::msg)?)
    };
    let mut conn = store.get()?;
    let org = organization(&mut conn, org)?;
    let added = match webhooks::add(&mut conn, org.id, url, kinds) {
        Ok(added) => added,
        Err(AddError::Refused(detail)) => bail!("{detail}"),
        Err(error) => return Err(error).context("cannot add the webhook"),
    };
    tracing::info!(org = org.id.0, webhook = %added.webhook.id, url, "webhook added");
    let mut out = std::io::stdout().lock();
    writeln!(out, "id={}", added.webhook.id)?;
    writeln!(out, "secret={}", added.secret)?;
    out.flush()?;
    Ok(())
}

/// `scimd webhook list` and `scimd webhook status`: one line per webhook with its delivery
/// state and backlog.
///
/// # Errors
/// When the organisation or webhook does not exist, or the store fails.
pub fn status(store: &Store, org: &str, id: Option<&str>) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let org = organization(&mut conn, org)?;
    let listed = match id {
        Some(id) => vec![found(stored::get(&mut conn, org.id, id), id)?],
        None => stored::list(&mut conn, org.id)?,
    };
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<35} {:<10} {:>10} {:>8} {:>9} {:<20} URL / LAST ERROR",
        "ID", "STATE", "DELIVERED", "PENDING", "LAG", "LAST DELIVERED"
    )?;
    for webhook in listed {
        let backlog = stored::backlog(&mut conn, &webhook)?;
        let lag = backlog.oldest.map_or_else(
            || "-".to_owned(),
            |oldest| {
                let secs = SystemTime::now()
                    .duration_since(oldest)
                    .unwrap_or_default()
                    .as_secs();
                format!("{secs}s")
            },
        );
        writeln!(
            out,
            "{:<35} {:<10} {:>10} {:>8} {:>9} {:<20} {}{}",
            webhook.id,
            state(&webhook),
            webhook.delivered_seq,
            backlog.events,
            lag,
            webhook
                .last_delivered_at
                .map_or_else(|| "never".to_owned(), format_time),
            webhook.url,
            webhook
                .last_error
                .as_deref()
                .map_or_else(String::new, |error| format!(" ({error})")),
        )?;
    }
    Ok(())
}

fn state(webhook: &WebhookRecord) -> String {
    if webhook.paused {
        "paused".to_owned()
    } else if webhook.failures > 0 {
        format!("retry#{}", webhook.failures)
    } else {
        "ok".to_owned()
    }
}

fn found<T>(result: Result<T, StoreError>, id: &str) -> anyhow::Result<T> {
    match result {
        Err(StoreError::NotFound) => bail!("no webhook has the id `{id}` in this organisation"),
        other => Ok(other?),
    }
}

/// `scimd webhook remove`.
///
/// # Errors
/// When there is no such webhook or the store fails.
pub fn remove(store: &Store, org: &str, id: &str) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let org = organization(&mut conn, org)?;
    found(stored::remove(&mut conn, org.id, id), id)?;
    println!("removed webhook {id}");
    Ok(())
}

/// `scimd webhook rotate-secret`: prints the new secret; the old one keeps signing beside it
/// for [`webhooks::SECRET_GRACE`].
///
/// # Errors
/// When there is no such webhook or the store fails.
pub fn rotate_secret(store: &Store, org: &str, id: &str) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let org = organization(&mut conn, org)?;
    let secret = webhooks::new_secret().context("cannot generate a secret")?;
    found(
        stored::rotate_secret(&mut conn, org.id, id, &secret, webhooks::SECRET_GRACE),
        id,
    )?;
    println!("secret={secret}");
    eprintln!(
        "the previous secret signs beside it for {}",
        humantime::format_duration(webhooks::SECRET_GRACE)
    );
    Ok(())
}

/// `scimd webhook resume`: restarts a paused webhook from its first unacknowledged event.
///
/// # Errors
/// When there is no such webhook or the store fails.
pub fn resume(store: &Store, org: &str, id: &str) -> anyhow::Result<()> {
    let mut conn = store.get()?;
    let org = organization(&mut conn, org)?;
    let webhook = found(stored::resume(&mut conn, org.id, id), id)?;
    println!(
        "resumed webhook {} from seq {}",
        webhook.id, webhook.delivered_seq
    );
    Ok(())
}
