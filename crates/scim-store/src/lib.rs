#![doc = include_str!("../README.md")]
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
mod unique;
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
