#![doc = include_str!("../README.md")]
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
