//! Dev-only: a brand-new, migrated database per test, on PostgreSQL or SQLite, for the tests of
//! `scim-store` and of the crates above it. Knows nothing of what the tests do with it.
//!
//! ```no_run
//! use scim_test_db::TestDb;
//!
//! let db = TestDb::sqlite();
//! let mut conn = db.store().get().unwrap();
//! scim_store::orgs::create(&mut conn, "acme").unwrap();
//! ```
//!
//! [`store_test!`] runs one test body on both backends. [`receiver::Receiver`] is a webhook
//! receiver on a local port, for the delivery tests.
//!
//! # Finding PostgreSQL
//! In this order, the first that answers wins (once per test process):
//! 1. `SCIM_TEST_DATABASE_URL`: a `postgres://` URL of a database on a server where the user may
//!    `CREATE DATABASE` (the tests' databases are created next to it);
//! 2. `postgres://postgres@127.0.0.1:5432/postgres` (trust auth) — skipped when
//!    `SCIM_TEST_SKIP_LOCAL_POSTGRES=1`;
//! 3. a throwaway cluster under `<workspace>/target/pg-test/`, created with `initdb` and started
//!    with `pg_ctl` (found on `PATH` or under `/usr/lib/postgresql/*/bin`) on a free port, its
//!    unix socket in the same directory. Every test process shares it (a lock file guards its
//!    creation) and it keeps running between runs; stop it with
//!    `pg_ctl stop -D target/pg-test/data`. PostgreSQL refuses to run as root, so as root the
//!    cluster is created and run as the `postgres` user through `runuser`.
//!
//! If none works the test panics, saying how to get a server.
//!
//! Each test database is cloned (`CREATE DATABASE … TEMPLATE …`) from a template migrated once
//! per version of the migrations, and dropped when the [`TestDb`] is.

use std::path::PathBuf;

use scim_store::{PoolConfig, Store};
use tempfile::TempDir;

pub mod fixtures;
mod postgres;
pub mod receiver;

#[doc(hidden)]
pub use scim_store;

/// A fresh, migrated database that lives as long as this value.
#[derive(Debug)]
pub struct TestDb {
    url: String,
    // An Option so `Drop` can close the pool before dropping the database.
    store: Option<Store>,
    backend: Backend,
}

#[derive(Debug)]
enum Backend {
    Postgres { admin_url: String, database: String },
    Sqlite { _dir: TempDir },
}

impl TestDb {
    /// A brand-new PostgreSQL database, migrated, dropped on drop.
    ///
    /// # Panics
    /// When no PostgreSQL server can be found or started (the message says how to get one), or
    /// the database cannot be created.
    pub fn postgres() -> Self {
        let admin_url = match postgres::server() {
            Ok(url) => url,
            Err(why) => panic!("{why}"),
        };
        let database = postgres::create_database(admin_url)
            .unwrap_or_else(|e| panic!("cannot create a test database: {e}"));
        let url = postgres::with_database(admin_url, &database);
        let store = Store::connect(&url, pool_config())
            .unwrap_or_else(|e| panic!("cannot connect to test database {database}: {e}"));
        TestDb {
            url,
            store: Some(store),
            backend: Backend::Postgres {
                admin_url: admin_url.to_owned(),
                database,
            },
        }
    }

    /// A brand-new SQLite database file in a temporary directory, migrated, deleted on drop.
    ///
    /// # Panics
    /// When the temporary directory or the database cannot be created.
    pub fn sqlite() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("scim-test-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let path: PathBuf = dir.path().join("scim.db");
        let url = format!("sqlite://{}", path.display());
        let store = Store::connect(&url, pool_config())
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
        store
            .migrate()
            .unwrap_or_else(|e| panic!("cannot migrate {url}: {e:?}"));
        TestDb {
            url,
            store: Some(store),
            backend: Backend::Sqlite { _dir: dir },
        }
    }

    /// The database's URL, as [`Store::connect`] takes it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A store on the database (clones share its pool).
    pub fn store(&self) -> &Store {
        match &self.store {
            Some(store) => store,
            None => unreachable!("the store is only taken in Drop"),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Close this pool's connections first; clones the test leaked still hold theirs, which
        // the forced drop below ends.
        drop(self.store.take());
        if let Backend::Postgres {
            admin_url,
            database,
        } = &self.backend
        {
            if let Err(e) = postgres::drop_database(admin_url, database) {
                eprintln!("scim-test-db: could not drop test database {database}: {e}");
            }
        }
    }
}

fn pool_config() -> PoolConfig {
    PoolConfig {
        max_size: 8,
        min_idle: Some(1),
        // Generous: two cores may be shared by several test binaries.
        connection_timeout: std::time::Duration::from_secs(30),
        ..PoolConfig::default()
    }
}

/// Expands one test body into two tests, `NAME::postgres` and `NAME::sqlite`, each given a
/// [`Store`] on its own brand-new, migrated database.
///
/// ```no_run
/// scim_test_db::store_test!(creates_an_org, |store| {
///     let mut conn = store.get().unwrap();
///     scim_store::orgs::create(&mut conn, "acme").unwrap();
/// });
///
/// // A second name gets the `TestDb` itself, for its URL.
/// scim_test_db::store_test!(opens_a_second_pool, |store, db| {
///     let _other = scim_store::Store::connect(db.url(), Default::default()).unwrap();
/// });
/// ```
///
/// The body is a block; `store` may be annotated (`|store: Store|`). The module sees the
/// enclosing module's items through `use super::*`.
#[macro_export]
macro_rules! store_test {
    ($(#[$meta:meta])* $name:ident, |$store:ident $(: $ty:ty)?| $body:block) => {
        $crate::store_test!($(#[$meta])* $name, |$store $(: $ty)?, _db| $body);
    };
    ($(#[$meta:meta])* $name:ident, |$store:ident $(: $ty:ty)?, $db:ident| $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn postgres() {
                let $db = $crate::TestDb::postgres();
                let $store $(: $ty)? = ::std::clone::Clone::clone($db.store());
                $body
            }

            #[test]
            fn sqlite() {
                let $db = $crate::TestDb::sqlite();
                let $store $(: $ty)? = ::std::clone::Clone::clone($db.store());
                $body
            }
        }
    };
}
