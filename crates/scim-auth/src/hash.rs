//! argon2id hashing of token secrets, and the token a creation hands out.

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use zeroize::Zeroizing;

use crate::error::HashError;
use crate::token::{Token, TokenId, TokenSecret};

/// argon2id parameters recommended by OWASP's Password Storage Cheat Sheet:
/// m = 19456 KiB (19 MiB), t = 2 iterations, p = 1 lane.
pub fn owasp_params() -> Params {
    // These are also argon2 0.5's defaults; spelled out so an upstream change cannot lower them.
    Params::new(19 * 1024, 2, 1, None).unwrap_or_default()
}

/// Hashes `secret` with argon2id and a fresh 128-bit random salt, as a PHC string
/// (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
///
/// # Errors
/// [`HashError::Random`] if no salt can be drawn, [`HashError::Argon2`] if argon2 refuses.
pub fn hash_secret(secret: &TokenSecret, params: &Params) -> Result<String, HashError> {
    hash_bytes(secret.expose_secret().as_bytes(), params)
}

/// Hashes a user's password (a SCIM `password` attribute, which RFC 7643 §4.1.1 says a service
/// provider SHOULD store hashed) with argon2id and a fresh salt, as a PHC string.
///
/// # Errors
/// As [`hash_secret`].
pub fn hash_password(password: &str, params: &Params) -> Result<String, HashError> {
    hash_bytes(password.as_bytes(), params)
}

/// Whether `value` is an argon2id PHC string, as [`hash_password`] makes.
pub fn is_argon2id_phc(value: &str) -> bool {
    PasswordHash::new(value).is_ok_and(|hash| {
        hash.algorithm == argon2::ARGON2ID_IDENT && hash.salt.is_some() && hash.hash.is_some()
    })
}

fn hash_bytes(bytes: &[u8], params: &Params) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)?;
    let salt = SaltString::encode_b64(&salt)?;
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let hash = argon2.hash_password(bytes, &salt)?;
    Ok(hash.to_string())
}

/// Checks `secret` against a stored argon2id PHC string, in constant time.
///
/// The cost parameters come from the PHC string, not from any configuration, so tokens hashed
/// under older parameters keep verifying.
///
/// # Errors
/// [`HashError::Argon2`] if `phc` is not a usable PHC string, [`HashError::NotArgon2id`] if it
/// names another algorithm, [`HashError::Incomplete`] if it lacks a salt or an output. A wrong secret is `Ok(false)`, not an error.
pub fn verify_secret(secret: &TokenSecret, phc: &str) -> Result<bool, HashError> {
    let hash = PasswordHash::new(phc)?;
    if hash.algorithm != argon2::ARGON2ID_IDENT {
        return Err(HashError::NotArgon2id);
    }
    // argon2 reports a PHC string without salt or output as a mere mismatch; a stored row
    // like that is corrupt, and must not look like a client's wrong secret.
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(HashError::Incomplete);
    }
    match Argon2::default().verify_password(secret.expose_secret().as_bytes(), &hash) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(other) => Err(other.into()),
    }
}

/// A freshly created token: what the store keeps (`id`, `phc_hash`) and what the user is
/// shown exactly once (the full token). `Debug` redacts the token.
pub struct IssuedToken {
    id: TokenId,
    token: Zeroizing<String>,
    phc_hash: String,
}

impl IssuedToken {
    /// Draws a new token and hashes its secret with argon2id under `params`.
    ///
    /// # Errors
    /// [`HashError`] if the OS random number generator or argon2 fails.
    pub fn generate(params: &Params) -> Result<Self, HashError> {
        let token = Token::generate()?;
        let phc_hash = hash_secret(token.secret(), params)?;
        Ok(IssuedToken {
            id: token.id().clone(),
            token: token.expose(),
            phc_hash,
        })
    }

    /// The public id: the key of the stored row.
    pub fn id(&self) -> &TokenId {
        &self.id
    }

    /// The full `scim_<id>_<secret>` string. Show it to the user once; never store or log it.
    pub fn expose_token(&self) -> &str {
        &self.token
    }

    /// The argon2id PHC string to store.
    pub fn phc_hash(&self) -> &str {
        &self.phc_hash
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("id", &self.id)
            .field("token", &"[redacted]")
            .field("phc_hash", &self.phc_hash)
            .finish()
    }
}
