//! Why a presented token was refused, and why issuing one failed.
//!
//! No message here ever contains a secret: variants carry token ids, durations and fixed text
//! only, never the presented string.

use std::time::Duration;

/// Why a presented string is not a well-formed token or `Authorization` value.
///
/// The messages name the rule that was broken and never echo the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenParseError {
    /// The input is longer than any valid token or header, so it was not scanned.
    #[error("input is longer than {max} bytes")]
    TooLong {
        /// The cap that was exceeded.
        max: usize,
    },
    /// The token does not start with `scim_`.
    #[error("token does not start with `scim_`")]
    MissingPrefix,
    /// There is no `_` between the id and the secret.
    #[error("token has no `_` between id and secret")]
    MissingSeparator,
    /// The id does not have the fixed length.
    #[error("token id must be {expected} characters long")]
    IdLength {
        /// The required length.
        expected: usize,
    },
    /// The id contains a character outside `[0-9A-Za-z]`.
    #[error("token id contains a character outside [0-9A-Za-z]")]
    IdCharacter,
    /// The secret does not have the fixed length.
    #[error("token secret must be {expected} characters long")]
    SecretLength {
        /// The required length.
        expected: usize,
    },
    /// The secret contains a character outside `[0-9A-Za-z]`.
    #[error("token secret contains a character outside [0-9A-Za-z]")]
    SecretCharacter,
    /// The `Authorization` scheme is not `Bearer`.
    #[error("authorization scheme is not bearer")]
    NotBearer,
    /// The bearer credentials contain whitespace, so they are not one token.
    #[error("bearer credentials contain whitespace")]
    ExtraCredentials,
}

/// Why a request was not authenticated.
///
/// The HTTP layer maps every variant except [`AuthError::Throttled`], [`AuthError::Busy`] and
/// [`AuthError::Source`] to `401` with `WWW-Authenticate: Bearer` (RFC 7644 §3.12); it should
/// not tell the client which of them happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credentials were presented.
    #[error("no bearer token presented")]
    Missing,
    /// The credentials are not a well-formed token.
    #[error("malformed token: {0}")]
    Malformed(TokenParseError),
    /// No token has this id.
    #[error("unknown token")]
    Unknown,
    /// The secret does not match the token's stored hash.
    #[error("invalid token")]
    Invalid,
    /// The token's expiry time has passed.
    #[error("token expired")]
    Expired,
    /// The token was revoked.
    #[error("token revoked")]
    Revoked,
    /// This client failed too often; it may try again after `retry_after`.
    #[error("too many failed attempts, retry after {} s", retry_after.as_secs().max(1))]
    Throttled {
        /// How long the client is refused from now on.
        retry_after: Duration,
    },
    /// Every hashing slot is taken; the client should retry shortly.
    #[error("token verification is busy, retry later")]
    Busy,
    /// The token source failed, or holds an unusable row; this is the server's fault.
    #[error("token source failed: {0}")]
    Source(String),
}

/// Why a token, a salt or a hash could not be made, or a stored hash could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The operating system's random number generator failed.
    #[error("os random number generator failed: {0}")]
    Random(getrandom::Error),
    /// argon2 refused the parameters or the input.
    #[error("argon2 failed: {0}")]
    Argon2(#[from] argon2::password_hash::Error),
    /// The stored hash is a PHC string of another algorithm.
    #[error("stored hash is not argon2id")]
    NotArgon2id,
    /// The stored hash has no salt or no output.
    #[error("stored hash has no salt or no output")]
    Incomplete,
}

impl From<getrandom::Error> for HashError {
    fn from(error: getrandom::Error) -> Self {
        HashError::Random(error)
    }
}
