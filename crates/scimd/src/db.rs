//! Opening the store named by the configuration.

use std::path::Path;

use anyhow::{bail, Context as _};
use scim_store::{DatabaseUrl, PoolConfig, Store};

use crate::settings::redact_database_url;

/// Opens the database at `url` with the pool settings `config`, creating an SQLite file's
/// directory if it is missing, and migrates it when `migrate` is set.
///
/// # Errors
/// When the URL is not accepted, the directory cannot be created, the database does not
/// answer, or a migration fails.
pub fn open(url: &str, config: PoolConfig, migrate: bool) -> anyhow::Result<Store> {
    let shown = redact_database_url(url);
    if let DatabaseUrl::SqliteFile(path) = DatabaseUrl::parse(url)? {
        if let Some(dir) = Path::new(&path)
            .parent()
            .filter(|dir| !dir.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        }
    }
    let store =
        Store::connect(url, config).with_context(|| format!("cannot open the database {shown}"))?;
    if migrate {
        self::migrate(&store, url)?;
    }
    Ok(store)
}

/// Applies the migrations `store` lacks, logs them, and returns their versions.
///
/// # Errors
/// When a migration fails (it is rolled back).
pub fn migrate(store: &Store, url: &str) -> anyhow::Result<Vec<String>> {
    let applied = store
        .migrate()
        .with_context(|| format!("cannot migrate the database {}", redact_database_url(url)))?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), versions = ?applied, "migrations applied");
    }
    Ok(applied)
}

/// When `serve --no-migrate` finds the database lacking migrations: an error saying what to
/// run when it has none at all (nothing would work), a warning when only some are missing
/// (readiness stays 503 until they are applied, as for a rolling upgrade whose migrations a
/// separate job runs).
///
/// # Errors
/// When the database has no migration, or cannot be asked.
pub fn check_unmigrated(store: &Store, url: &str) -> anyhow::Result<()> {
    let status = store
        .migration_status()
        .with_context(|| format!("cannot read the migrations of {}", redact_database_url(url)))?;
    let pending: Vec<&str> = status
        .migrations
        .iter()
        .filter(|(_, done)| !done)
        .map(|(name, _)| name.as_str())
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    if pending.len() == status.migrations.len() {
        bail!(
            "the database {} has no tables yet (no migration applied) and --no-migrate \
             (migrate = false) is set; run `scimd migrate` with the same database settings, \
             or start serve without --no-migrate",
            redact_database_url(url)
        );
    }
    tracing::warn!(
        pending = %pending.join(", "),
        "--no-migrate: the database lacks {} migration(s); /readyz answers 503 and requests \
         may fail until `scimd migrate` applies them",
        pending.len()
    );
    Ok(())
}
