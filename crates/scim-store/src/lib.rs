//! Storage for the SCIM server: the diesel schema, migrations and queries, on PostgreSQL and on an
//! embedded SQLite file, behind one API.
//!
//! This crate knows nothing of HTTP, and nothing of SCIM documents beyond the plain values the
//! caller derives from them (keys, the stored JSON text, the `search` JSON).
//!
//! Every function takes the organisation explicitly and a connection from [`Store::get`] (or the
//! one [`Store::transaction`] hands its closure); every write also records its event in the
//! [`events`] outbox in the same transaction.
//!
//! ```
//! use scim_store::{orgs, users, PoolConfig, Store};
//!
//! # fn main() -> Result<(), scim_store::StoreError> {
//! let store = Store::connect("sqlite::memory:", PoolConfig::default())?;
//! store.migrate()?;
//! let mut conn = store.get()?;
//! let org = orgs::get_or_create(&mut conn, "acme")?;
//! let user = users::create(
//!     &mut conn,
//!     org.id,
//!     &users::NewUser {
//!         id: "2819c223-7f76-453a-919d-413861904646".into(),
//!         columns: users::UserColumns {
//!             name: "Bjensen".into(),
//!             name_key: "bjensen".into(),
//!             external_id: None,
//!             active: true,
//!             document: r#"{"userName":"Bjensen"}"#.into(),
//!             search: r#"{"userName":"bjensen"}"#.into(),
//!         },
//!         token_id: None,
//!         attributes: vec!["userName".into()],
//!     },
//! )?;
//! assert_eq!(user.version, 1);
//! assert!(users::get(&mut conn, org.id, &user.id)?.is_some());
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod admin_tokens;
mod connection;
mod dialect;
mod documents;
mod error;
pub mod events;
mod filter_sql;
pub mod members;
pub mod oauth;
pub mod orgs;
pub mod paging;
pub mod resources;
mod schema;
mod store;
mod timestamp;
pub mod tokens;
pub mod users;
mod values;
pub mod webhooks;
mod writers;

pub use connection::{savepoint, DatabaseUrl, DbConnection};

/// What the `unstable-diesel` feature exposes: the diesel connection type under
/// [`DbConnection::diesel`]. No semver promise.
#[cfg(feature = "unstable-diesel")]
pub mod unstable {
    pub use crate::connection::RawConnection;
}
pub use dialect::Dialect;
pub use error::{StoreError, TransactionError, UniqueField};
pub use filter_sql::UnsupportedFilter;
pub use store::{MigrationStatus, PoolConfig, PooledConnection, Store};

/// An organisation's id: the tenant every other row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(pub i64);

impl std::fmt::Display for OrgId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// One page of a listing, with the number of rows across all pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// Rows matching the query across all pages.
    pub total: i64,
    /// This page's rows, in the listing's order.
    pub items: Vec<T>,
}
