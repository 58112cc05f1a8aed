//! This crate knows nothing of HTTP and nothing of the database: it makes, hashes and checks
//! the bearer tokens of a multi-tenant SCIM server, reading token rows through a trait.
//!
//! A token is `scim_<id>_<secret>`: a fixed prefix secret scanners can spot, a 16-character
//! public id the store looks the row up by, and a 43-character secret of 256 random bits, both
//! base62 so the `_` separators are unambiguous. Only an argon2id hash of the secret is stored.
//! The server reads rows through [`TokenSource`]; [`Verifier`] checks presented tokens,
//! caching verdicts and remembering proven secrets so a request does not cost an argon2 hash,
//! and keeps a flood of bad tokens from burning the CPU without letting it lock out good ones
//! (throttling per client and token id, a bound on each client's hashes, a negative cache, a
//! cap on concurrent hashes with a share per client).
//!
//! ```
//! use std::sync::Arc;
//! use scim_auth::{MemoryTokenSource, StoredToken, Verifier, VerifierConfig, AuthError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let source = Arc::new(MemoryTokenSource::new());
//! // Cheap argon2 parameters keep the example fast; the default is OWASP's recommendation.
//! let config = VerifierConfig {
//!     argon2: scim_auth::argon2::Params::new(8, 1, 1, None)?,
//!     ..VerifierConfig::default()
//! };
//! let verifier = Verifier::new(Arc::clone(&source), config);
//!
//! // Creating a token: store the id and the hash, show the token once.
//! let issued = verifier.issue()?;
//! source.insert(StoredToken {
//!     id: issued.id().clone(),
//!     org_id: 42,
//!     name: "okta".to_owned(),
//!     phc_hash: issued.phc_hash().to_owned(),
//!     expires_at: None,
//!     revoked: false,
//! });
//!
//! // A request: the header value and a client key (e.g. the peer address).
//! let header = format!("Bearer {}", issued.expose_token());
//! let context = verifier.verify_header(Some(&header), "192.0.2.7")?;
//! assert_eq!(context.org_id, 42);
//! assert_eq!(&context.token_id, issued.id());
//!
//! // The second time it is answered from memory, without a hash.
//! verifier.verify(issued.expose_token(), "192.0.2.7")?;
//! assert_eq!(verifier.stats().hashes, 1);
//!
//! assert_eq!(verifier.verify_header(None, "192.0.2.7"), Err(AuthError::Missing));
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

mod bounded;
mod clock;
mod config;
mod error;
mod hash;
pub mod oauth;
mod permits;
mod source;
mod throttle;
mod token;
mod verifier;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::VerifierConfig;
pub use error::{AuthError, HashError, TokenParseError};
pub use hash::{
    hash_password, hash_secret, is_argon2id_phc, owasp_params, verify_secret, IssuedToken,
};
pub use source::{MemoryTokenSource, StoredToken, TokenSource};
pub use token::{
    bearer_token, Token, TokenId, TokenSecret, ID_LEN, MAX_AUTHORIZATION_LEN, SECRET_LEN,
    TOKEN_LEN, TOKEN_PREFIX,
};
pub use verifier::{AuthContext, Verifier, VerifierStats};

/// The argon2 crate, re-exported so callers can build [`VerifierConfig::argon2`] without
/// depending on it themselves.
pub use argon2;
