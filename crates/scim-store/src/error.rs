//! The store's error type: one variant per answer the server gives (404, 409, 412, 503, 500).

use std::fmt;

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::dialect;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The row does not exist in this organisation (or is a tombstone).
    #[error("not found")]
    NotFound,
    /// A write would break a unique key (a taken userName, token name, …).
    #[error("{field} is already taken")]
    UniqueViolation {
        /// Which value is taken.
        field: UniqueField,
        /// The index or constraint the database named, or its message when it names none.
        constraint: String,
    },
    /// The caller's expected version (from `If-Match`) is not the row's current one; nothing was
    /// written.
    #[error("version mismatch: the current version is {current}")]
    VersionMismatch {
        /// The row's current version.
        current: i64,
    },
    /// No database connection could be had in time, or the database stopped answering (including
    /// SQLite's lock wait running out): worth retrying later.
    #[error("database unavailable")]
    Unavailable(#[source] BoxError),
    /// The store was set up wrongly (a database URL it does not accept, a pool size of 0).
    #[error("invalid store configuration: {0}")]
    Config(String),
    /// Adding the group `member` to a group would make the group contain itself (RFC 7643 §4.2
    /// allows nested groups, not cycles); nothing was written.
    #[error("group {member} would contain itself")]
    MembershipCycle {
        /// The id of the group that was to become a member.
        member: String,
    },
    /// Anything else: a bug or an operational fault, not the client's doing.
    #[error("database error")]
    Other(#[source] BoxError),
}

impl StoreError {
    /// Wraps an unexpected error as [`StoreError::Other`].
    pub(crate) fn other(error: impl Into<BoxError>) -> Self {
        StoreError::Other(error.into())
    }
}

/// The value a [`StoreError::UniqueViolation`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UniqueField {
    /// A live user already has this userName (compared by its folded key).
    UserName,
    /// A resource of the same type with this id already exists in the organisation.
    ResourceId,
    /// A live group already has this displayName (compared by its folded key).
    DisplayName,
    /// An organisation already has this name.
    OrganizationName,
    /// A token with this id already exists.
    TokenId,
    /// The organisation already has a token with this name.
    TokenName,
    /// A unique key this crate does not know by name.
    Unknown,
}

impl fmt::Display for UniqueField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UniqueField::UserName => "userName",
            UniqueField::ResourceId => "id",
            UniqueField::DisplayName => "displayName",
            UniqueField::OrganizationName => "organization name",
            UniqueField::TokenId => "token id",
            UniqueField::TokenName => "token name",
            UniqueField::Unknown => "a unique value",
        })
    }
}

impl From<DieselError> for StoreError {
    fn from(error: DieselError) -> Self {
        match error {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                let (field, constraint) = dialect::unique_violation(info.as_ref());
                StoreError::UniqueViolation { field, constraint }
            }
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                StoreError::Unavailable(error.into())
            }
            DieselError::DatabaseError(_, ref info) if dialect::is_lock_timeout(info.as_ref()) => {
                StoreError::Unavailable(error.into())
            }
            error => StoreError::Other(error.into()),
        }
    }
}

impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        StoreError::Unavailable(error.into())
    }
}
