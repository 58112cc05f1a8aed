//! OAuth 2.0 client credentials (RFC 6749 §4.4) pieces that need neither HTTP nor a database:
//! opaque access tokens and their hashes, and RFC 7523 §2.2 client assertions (`private_key_jwt`)
//! checked against a client's JWK set.
//!
//! Client secrets are tokens of this crate's own format ([`crate::IssuedToken`]): their id is
//! the lookup key and their argon2id hash is stored, so a [`crate::Verifier`] checks them with
//! its cache and throttling.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::error::HashError;
use crate::token::TokenSecret;

/// The prefix of every access token, so secret scanners and the server tell them from tokens.
pub const ACCESS_TOKEN_PREFIX: &str = "scimat_";

/// The `client_assertion_type` of RFC 7523 §2.2.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The signing algorithms accepted in client assertions.
pub const ASSERTION_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Longest client assertion read, in bytes.
pub const MAX_ASSERTION_LEN: usize = 8 * 1024;

/// A fresh access token of organisation `org`: `scimat_<org>_<43 base62>` (256 random bits),
/// and the hash to store ([`access_token_hash`]). Show the token once; keep only the hash.
///
/// # Errors
/// [`HashError::Random`] if the OS random number generator fails.
pub fn new_access_token(org: i64) -> Result<(String, String), HashError> {
    let secret = TokenSecret::generate()?;
    let token = format!("{ACCESS_TOKEN_PREFIX}{org}_{}", secret.expose_secret());
    let hash = access_token_hash(&token);
    Ok((token, hash))
}

/// The stored form of an access token: the hex SHA-256 of the whole token. A preimage of a
/// 256-bit random secret cannot be searched for, so no slow hash is needed, and checking a
/// token costs one digest.
pub fn access_token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The organisation an access token names and its hash, if `token` has the access token
/// form; `None` otherwise (it may be another kind of token).
pub fn parse_access_token(token: &str) -> Option<(i64, String)> {
    let rest = token.strip_prefix(ACCESS_TOKEN_PREFIX)?;
    let (org, secret) = rest.split_once('_')?;
    if org.is_empty()
        || org.len() > 19
        || !org.bytes().all(|b| b.is_ascii_digit())
        || secret.len() != crate::token::SECRET_LEN
        || !secret.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return None;
    }
    Some((org.parse().ok()?, access_token_hash(token)))
}

/// Why a client assertion was refused. Every variant is `invalid_client` to the client
/// (RFC 6749 §5.2); the variant is for the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// Not a JWS compact serialisation, or too long.
    #[error("the assertion is not a JWT")]
    Malformed,
    /// Signed with an algorithm not in [`ASSERTION_ALGORITHMS`].
    #[error("the assertion's algorithm is not accepted")]
    Algorithm,
    /// The client has no key, no key with the assertion's `kid`, or several without one.
    #[error("no key of the client matches the assertion")]
    NoKey,
    /// The client's registered JWK set does not parse.
    #[error("the client's JWK set is invalid: {0}")]
    Keys(String),
    /// The signature, `iss`, `sub`, `aud`, `exp` or `nbf` is wrong.
    #[error("the assertion does not verify: {0}")]
    Invalid(String),
    /// No `jti`, or `exp` too far ahead (the `jti` must be remembered until then).
    #[error("the assertion lacks a jti or lives too long")]
    Unbounded,
}

/// What a verified assertion tells the server: its `jti` and when it expires (remember the
/// `jti` until then to refuse a replay).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// The assertion's unique id.
    pub jti: String,
    /// Its `exp`.
    pub expires_at: SystemTime,
}

#[derive(Deserialize)]
struct Claims {
    jti: Option<String>,
    exp: u64,
}

#[derive(Deserialize)]
struct Subject {
    sub: Option<String>,
    iss: Option<String>,
}

/// The client an assertion claims to come from (`sub`, which must equal `iss`), read without
/// verifying anything, to find the keys it is then verified with.
pub fn assertion_client(assertion: &str) -> Option<String> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return None;
    }
    let mut parts = assertion.split('.');
    let (_, payload) = (parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let subject: Subject = serde_json::from_slice(&bytes).ok()?;
    match (subject.sub, subject.iss) {
        (Some(sub), Some(iss)) if sub == iss => Some(sub),
        _ => None,
    }
}

/// Verifies a client assertion (RFC 7523 §3) from `client_id` against its `jwks` (a JWK set as
/// JSON): signature by one of its keys (by `kid` when the assertion names one), `iss` and `sub`
/// equal to `client_id`, `aud` one of `audiences` (the token endpoint's URL), `exp` in the
/// future but at most `max_lifetime` ahead, `nbf` if present, and a `jti`. Allows 30 s of clock
/// skew.
///
/// # Errors
/// The [`AssertionError`] saying what was wrong.
pub fn verify_assertion(
    assertion: &str,
    jwks: &str,
    client_id: &str,
    audiences: &[String],
    now: SystemTime,
    max_lifetime: Duration,
) -> Result<Assertion, AssertionError> {
    if assertion.len() > MAX_ASSERTION_LEN {
        return Err(AssertionError::Malformed);
    }
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| AssertionError::Malformed)?;
    if !ASSERTION_ALGORITHMS.contains(&header.alg) {
        return Err(AssertionError::Algorithm);
    }
    let keys: JwkSet =
        serde_json::from_str(jwks).map_err(|error| AssertionError::Keys(error.to_string()))?;
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None if keys.keys.len() == 1 => keys.keys.first(),
        None => None,
    }
    .ok_or(AssertionError::NoKey)?;
    let key =
        DecodingKey::from_jwk(jwk).map_err(|error| AssertionError::Keys(error.to_string()))?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = 30;
    validation.set_audience(audiences);
    validation.set_issuer(&[client_id]);
    validation.sub = Some(client_id.to_owned());
    validation.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    validation.validate_nbf = true;
    let data = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map_err(|error| AssertionError::Invalid(error.to_string()))?;
    let jti = data
        .claims
        .jti
        .filter(|jti| !jti.is_empty() && jti.len() <= 256)
        .ok_or(AssertionError::Unbounded)?;
    let expires_at = UNIX_EPOCH + Duration::from_secs(data.claims.exp);
    if expires_at > now + max_lifetime {
        return Err(AssertionError::Unbounded);
    }
    Ok(Assertion { jti, expires_at })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_parse_back_to_their_org_and_hash() {
        let (token, hash) = new_access_token(42).unwrap();
        assert!(token.starts_with("scimat_42_"));
        assert_eq!(parse_access_token(&token), Some((42, hash.clone())));
        assert_eq!(hash.len(), 64);
        let (other, other_hash) = new_access_token(42).unwrap();
        assert_ne!(token, other);
        assert_ne!(hash, other_hash);
        for bad in [
            "scimat_x_abc",
            "scimat__abc",
            "scim_AAAA_BBBB",
            "scimat_1_short",
            &format!("scimat_1_{}", "!".repeat(crate::token::SECRET_LEN)),
        ] {
            assert_eq!(parse_access_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_claimed_client_needs_equal_sub_and_iss() {
        let payload = |json: &str| format!("e30.{}.sig", URL_SAFE_NO_PAD.encode(json));
        assert_eq!(
            assertion_client(&payload(r#"{"sub":"c1","iss":"c1"}"#)).as_deref(),
            Some("c1")
        );
        assert_eq!(
            assertion_client(&payload(r#"{"sub":"c1","iss":"c2"}"#)),
            None
        );
        assert_eq!(assertion_client(&payload(r#"{"sub":"c1"}"#)), None);
        assert_eq!(assertion_client("garbage"), None);
    }
}
