//! Where token rows come from: a trait the server implements over its store.

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use crate::token::TokenId;

/// A token row as the store hands it back.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredToken {
    /// The token's public id.
    pub id: TokenId,
    /// The organisation the token belongs to, as the store knows it; it only ever sees that
    /// organisation's resources.
    pub org_id: i64,
    /// The name an operator gave the token.
    pub name: String,
    /// The argon2id PHC string of the token's secret.
    pub phc_hash: String,
    /// When the token stops working; `None` for never.
    pub expires_at: Option<SystemTime>,
    /// Whether the token was revoked.
    pub revoked: bool,
}

impl fmt::Debug for StoredToken {
    // The hash is not the secret, but it is an offline-attack target: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("name", &self.name)
            .field("phc_hash", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .field("revoked", &self.revoked)
            .finish()
    }
}

/// Looks token rows up by id. The server implements it over its store.
///
/// It is synchronous: [`crate::Verifier::verify`] calls it on a cache miss, which the server
/// runs on a blocking thread.
pub trait TokenSource {
    /// What a failed lookup reports; its `Display` becomes [`crate::AuthError::Source`].
    type Error;

    /// The row with this id, or `None` if there is none.
    ///
    /// # Errors
    /// When the store cannot answer.
    fn find(&self, id: &TokenId) -> Result<Option<StoredToken>, Self::Error>;
}

impl<T: TokenSource + ?Sized> TokenSource for &T {
    type Error = T::Error;

    fn find(&self, id: &TokenId) -> Result<Option<StoredToken>, Self::Error> {
        (**self).find(id)
    }
}

impl<T: TokenSource + ?Sized> TokenSource for Arc<T> {
    type Error = T::Error;

    fn find(&self, id: &TokenId) -> Result<Option<StoredToken>, Self::Error> {
        (**self).find(id)
    }
}

impl<T: TokenSource + ?Sized> TokenSource for Box<T> {
    type Error = T::Error;

    fn find(&self, id: &TokenId) -> Result<Option<StoredToken>, Self::Error> {
        (**self).find(id)
    }
}

/// An in-memory [`TokenSource`], for tests and examples.
#[derive(Debug, Default)]
pub struct MemoryTokenSource {
    rows: RwLock<HashMap<TokenId, StoredToken>>,
}

impl MemoryTokenSource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a row.
    pub fn insert(&self, row: StoredToken) {
        self.rows
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(row.id.clone(), row);
    }

    /// Marks a token revoked; `false` if there is no such token.
    pub fn revoke(&self, id: &TokenId) -> bool {
        let mut rows = self.rows.write().unwrap_or_else(PoisonError::into_inner);
        match rows.get_mut(id) {
            Some(row) => {
                row.revoked = true;
                true
            }
            None => false,
        }
    }

    /// Removes a row; `false` if there was none.
    pub fn remove(&self, id: &TokenId) -> bool {
        self.rows
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
            .is_some()
    }
}

impl TokenSource for MemoryTokenSource {
    type Error = Infallible;

    fn find(&self, id: &TokenId) -> Result<Option<StoredToken>, Infallible> {
        Ok(self
            .rows
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned())
    }
}
