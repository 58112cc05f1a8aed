//! `scimd purge-tombstones`: deleted users' and groups' tombstones, gone now.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use scim_store::{resources, Store};

/// Deletes the tombstones deleted at least `older_than` ago, in every organisation, and prints
/// how many. The serving process scrubs them after `tombstone_retention` on its own; this is for
/// an operator who wants them gone outright (an erasure request, a cleanup).
///
/// # Errors
/// When the store fails (batches already deleted stay deleted) or stdout is closed.
pub fn purge(store: &Store, older_than: Duration) -> anyhow::Result<()> {
    let cutoff = SystemTime::now()
        .checked_sub(older_than)
        .unwrap_or(UNIX_EPOCH);
    let mut conn = store.get()?;
    let purged =
        resources::purge_tombstones(&mut conn, cutoff).context("cannot purge the tombstones")?;
    tracing::info!(purged, "tombstones purged");
    println!(
        "purged {purged} tombstone{}",
        if purged == 1 { "" } else { "s" }
    );
    Ok(())
}
