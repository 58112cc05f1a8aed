//! Opening the store named by the configuration.

use std::path::Path;

use anyhow::Context as _;
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
        let applied = store
            .migrate()
            .with_context(|| format!("cannot migrate the database {shown}"))?;
        if !applied.is_empty() {
            tracing::info!(count = applied.len(), versions = ?applied, "migrations applied");
        }
    }
    Ok(store)
}
