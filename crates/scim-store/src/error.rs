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
    /// A write would give a live resource a value of an attribute declared unique
    /// (`uniqueness: server`) that another live resource of its type in the organisation holds.
    #[error("{attribute} is already taken")]
    ValueTaken {
        /// The attribute, as a filter names it (with its schema URN for an extension's).
        attribute: String,
    },
    /// The caller's expected version (from `If-Match`) is not the row's current one; nothing was
    /// written.
    #[error("version mismatch: the current version is {current}")]
    VersionMismatch {
        /// The row's current version.
        current: i64,
    },
    /// No database connection could be had in time, the database stopped answering, or it gave
    /// up on a statement for reasons of load rather than of the statement itself — SQLite's lock
    /// wait running out, PostgreSQL's `lock_timeout` or `statement_timeout` (SQLSTATE 55P03,
    /// 57014), a deadlock or serialization failure (40P01, 40001; see
    /// [`StoreError::is_transaction_conflict`]): worth retrying later.
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

    /// Whether PostgreSQL aborted the transaction to resolve a conflict with a concurrent one —
    /// a deadlock (SQLSTATE 40P01) or a serialization failure (40001) — so that running the
    /// whole transaction again is expected to succeed. [`crate::Store::transaction`] does so
    /// itself; such an error reaching its caller means the retries were used up too.
    pub fn is_transaction_conflict(&self) -> bool {
        let StoreError::Unavailable(source) = self else {
            return false;
        };
        matches!(
            source.downcast_ref::<DieselError>(),
            Some(DieselError::DatabaseError(kind, info))
                if dialect::is_transaction_conflict(*kind, info.as_ref())
        )
    }
}

/// The error type of a [`crate::Store::transaction`]: it takes in the store's errors, and shows
/// the store error it carries, if any, so the transaction can tell a
/// [conflict](StoreError::is_transaction_conflict) worth running again from a failure.
pub trait TransactionError: From<StoreError> {
    /// The store error this error is, or wraps as its cause.
    fn as_store_error(&self) -> Option<&StoreError>;
}

impl TransactionError for StoreError {
    fn as_store_error(&self) -> Option<&StoreError> {
        Some(self)
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
    /// The organisation already has an OAuth client with this name.
    ClientName,
    /// A live resource of the same declared type already has this value of the type's unique
    /// attribute (compared by its folded key; see `ResourceKind::declared`).
    ResourceName,
    /// A unique key this crate does not know by name.
    Unknown,
}

impl fmt::Display for UniqueField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UniqueField::UserName => "userName",
            UniqueField::ResourceName => "the unique attribute",
            UniqueField::ResourceId => "id",
            UniqueField::DisplayName => "displayName",
            UniqueField::OrganizationName => "organization name",
            UniqueField::TokenId => "token id",
            UniqueField::TokenName => "token name",
            UniqueField::ClientName => "client name",
            UniqueField::Unknown => "a unique value",
        })
    }
}

// The driver's errors are this crate's business; the conversion is public only because trait
// impls cannot be private.
#[doc(hidden)]
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
            DieselError::DatabaseError(kind, ref info)
                if dialect::is_transaction_conflict(kind, info.as_ref())
                    || dialect::is_timeout(info.as_ref()) =>
            {
                StoreError::Unavailable(error.into())
            }
            error => StoreError::Other(error.into()),
        }
    }
}

#[doc(hidden)]
impl From<r2d2::Error> for StoreError {
    fn from(error: r2d2::Error) -> Self {
        StoreError::Unavailable(error.into())
    }
}
