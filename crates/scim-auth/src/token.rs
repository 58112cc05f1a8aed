//! The token format `scim_<id>_<secret>`, its generation and its strict parser.
//!
//! The id and the secret use base62 (`[0-9A-Za-z]`), which has no `_`, so the two separators
//! are unambiguous. Lengths are fixed, so a parser checks them before it looks at a character.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::error::{AuthError, HashError, TokenParseError};

/// The fixed prefix every token starts with, so secret scanners can recognise a leaked one.
pub const TOKEN_PREFIX: &str = "scim_";

/// Length of a token id in base62 characters (about 95 random bits: unique, not secret).
pub const ID_LEN: usize = 16;

/// Length of a token secret in base62 characters: 43 × log2(62) ≈ 256.03 random bits.
pub const SECRET_LEN: usize = 43;

/// Length of a whole token, in bytes.
pub const TOKEN_LEN: usize = TOKEN_PREFIX.len() + ID_LEN + 1 + SECRET_LEN;

/// Longest `Authorization` value [`bearer_token`] looks at; a valid one is far shorter.
pub const MAX_AUTHORIZATION_LEN: usize = 1024;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Bytes at or above this are redrawn: 248 = 4 × 62, so `byte % 62` stays uniform.
const UNBIASED_LIMIT: u8 = 248;

/// Fills `out` with `len` uniformly random base62 characters from the OS CSPRNG.
fn push_random_base62(out: &mut String, len: usize) -> Result<(), getrandom::Error> {
    let mut buf = Zeroizing::new([0u8; 64]);
    let target = out.len() + len;
    while out.len() < target {
        getrandom::fill(buf.as_mut_slice())?;
        for &byte in buf.iter() {
            if out.len() == target {
                break;
            }
            if byte < UNBIASED_LIMIT {
                out.push(char::from(BASE62[usize::from(byte % 62)]));
            }
        }
    }
    Ok(())
}

fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The public identifier of a token: the key the store looks its row up by.
///
/// Ids are not secret: they appear in logs, listings and `Debug` output.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(String);

impl TokenId {
    /// Draws a fresh random id.
    ///
    /// # Errors
    /// [`HashError::Random`] if the OS random number generator fails.
    pub fn generate() -> Result<Self, HashError> {
        let mut id = String::with_capacity(ID_LEN);
        push_random_base62(&mut id, ID_LEN)?;
        Ok(TokenId(id))
    }

    /// Checks that `s` is a well-formed id (as a store reads it back from its rows).
    ///
    /// # Errors
    /// [`TokenParseError::IdLength`] or [`TokenParseError::IdCharacter`].
    pub fn parse(s: &str) -> Result<Self, TokenParseError> {
        if s.len() != ID_LEN {
            return Err(TokenParseError::IdLength { expected: ID_LEN });
        }
        if !is_base62(s) {
            return Err(TokenParseError::IdCharacter);
        }
        Ok(TokenId(s.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TokenId").field(&self.0).finish()
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TokenId {
    type Err = TokenParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TokenId::parse(s)
    }
}

impl AsRef<str> for TokenId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The secret part of a token. `Debug` and `Display` redact it; its memory is wiped on drop.
///
/// It deliberately has no `PartialEq`: secrets are only ever compared through their argon2id
/// hash or in constant time.
#[derive(Clone)]
pub struct TokenSecret(Zeroizing<String>);

impl TokenSecret {
    /// Draws a fresh random secret of 256 bits or more.
    ///
    /// # Errors
    /// [`HashError::Random`] if the OS random number generator fails.
    pub fn generate() -> Result<Self, HashError> {
        // Capacity is exact, so the string never reallocates and leaves no unwiped copy behind.
        let mut secret = Zeroizing::new(String::with_capacity(SECRET_LEN));
        push_random_base62(&mut secret, SECRET_LEN)?;
        Ok(TokenSecret(secret))
    }

    /// Checks that `s` is a well-formed secret.
    ///
    /// # Errors
    /// [`TokenParseError::SecretLength`] or [`TokenParseError::SecretCharacter`].
    pub fn parse(s: &str) -> Result<Self, TokenParseError> {
        if s.len() != SECRET_LEN {
            return Err(TokenParseError::SecretLength {
                expected: SECRET_LEN,
            });
        }
        if !is_base62(s) {
            return Err(TokenParseError::SecretCharacter);
        }
        Ok(TokenSecret(Zeroizing::new(s.to_owned())))
    }

    /// The secret itself. Never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the secret: what the in-memory caches keep instead of the secret.
    ///
    /// A fast digest is safe here because the secret has 256 random bits: there is nothing to
    /// brute-force, which is what makes argon2 necessary for low-entropy passwords.
    pub(crate) fn digest(&self) -> SecretDigest {
        SecretDigest(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret([redacted])")
    }
}

impl fmt::Display for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// SHA-256 of a secret. Against a verified secret it is compared only in constant time
/// ([`SecretDigest::ct_eq`]). The derived `PartialEq` serves the negative cache's keys alone:
/// those hold digests of presented wrong secrets, so timing there reveals nothing about a
/// real one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SecretDigest(pub(crate) [u8; 32]);

impl SecretDigest {
    pub(crate) fn ct_eq(&self, other: &SecretDigest) -> bool {
        subtle::ConstantTimeEq::ct_eq(&self.0[..], &other.0[..]).into()
    }
}

/// SHA-256 of a stored PHC string: names the hash a secret was proven against, so a proof is
/// not carried over to a row whose hash changed, without keeping the hash in memory.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct PhcFingerprint([u8; 32]);

impl PhcFingerprint {
    pub(crate) fn of(phc: &str) -> Self {
        PhcFingerprint(Sha256::digest(phc.as_bytes()).into())
    }
}

/// A whole token: its id and its secret. `Debug` and `Display` show the id only.
#[derive(Clone)]
pub struct Token {
    id: TokenId,
    secret: TokenSecret,
}

impl Token {
    /// Draws a fresh random token.
    ///
    /// # Errors
    /// [`HashError::Random`] if the OS random number generator fails.
    pub fn generate() -> Result<Self, HashError> {
        Ok(Token {
            id: TokenId::generate()?,
            secret: TokenSecret::generate()?,
        })
    }

    /// Parses a presented token strictly: fixed prefix, fixed lengths, base62 only.
    ///
    /// It never panics and never scans more than [`TOKEN_LEN`] bytes of any input.
    ///
    /// # Errors
    /// The [`TokenParseError`] naming the first rule broken.
    pub fn parse(s: &str) -> Result<Self, TokenParseError> {
        if s.len() > TOKEN_LEN {
            return Err(TokenParseError::TooLong { max: TOKEN_LEN });
        }
        let rest = s
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(TokenParseError::MissingPrefix)?;
        let (id, secret) = rest
            .split_once('_')
            .ok_or(TokenParseError::MissingSeparator)?;
        Ok(Token {
            id: TokenId::parse(id)?,
            secret: TokenSecret::parse(secret)?,
        })
    }

    /// The public id.
    pub fn id(&self) -> &TokenId {
        &self.id
    }

    /// The secret.
    pub fn secret(&self) -> &TokenSecret {
        &self.secret
    }

    /// The full `scim_<id>_<secret>` string, wiped when dropped. Show it once, never log it.
    pub fn expose(&self) -> Zeroizing<String> {
        let mut full = Zeroizing::new(String::with_capacity(TOKEN_LEN));
        full.push_str(TOKEN_PREFIX);
        full.push_str(self.id.as_str());
        full.push('_');
        full.push_str(self.secret.expose_secret());
        full
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("id", &self.id)
            .field("secret", &self.secret)
            .finish()
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{TOKEN_PREFIX}{}_[redacted]", self.id)
    }
}

impl FromStr for Token {
    type Err = TokenParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Token::parse(s)
    }
}

/// Extracts the token from an `Authorization` header value: `Bearer <token>`.
///
/// The scheme is matched case-insensitively (RFC 7235 §2.1) and whitespace around the scheme
/// and the token is tolerated. The token itself is not checked here; [`Token::parse`] does that.
///
/// # Errors
/// - [`AuthError::Missing`] for an empty value or a bare `Bearer`;
/// - [`AuthError::Malformed`] for another scheme, more than one credential, or a value longer
///   than [`MAX_AUTHORIZATION_LEN`].
pub fn bearer_token(header_value: &str) -> Result<&str, AuthError> {
    if header_value.len() > MAX_AUTHORIZATION_LEN {
        return Err(AuthError::Malformed(TokenParseError::TooLong {
            max: MAX_AUTHORIZATION_LEN,
        }));
    }
    let value = header_value.trim_matches(|c: char| c.is_ascii_whitespace());
    if value.is_empty() {
        return Err(AuthError::Missing);
    }
    let (scheme, credentials) = value
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed(TokenParseError::NotBearer));
    }
    let credentials = credentials.trim_start_matches(|c: char| c.is_ascii_whitespace());
    if credentials.is_empty() {
        return Err(AuthError::Missing);
    }
    if credentials.contains(char::is_whitespace) {
        return Err(AuthError::Malformed(TokenParseError::ExtraCredentials));
    }
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base62_draw_is_roughly_uniform() {
        let mut s = String::new();
        push_random_base62(&mut s, 62 * 400).unwrap();
        let mut counts = [0u32; 62];
        for b in s.bytes() {
            let pos = BASE62.iter().position(|&c| c == b).unwrap();
            counts[pos] += 1;
        }
        // Expected 400 per symbol; a biased `% 62` over 256 would put ~4/256 more mass on the
        // first eight symbols, which these generous bounds would not catch, but a broken
        // alphabet mapping (a symbol never drawn, or one drawn far too often) would.
        assert!(
            counts.iter().all(|&c| (250..=550).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn token_len_matches_the_parts() {
        assert_eq!(TOKEN_LEN, 65);
        let token = Token::generate().unwrap();
        assert_eq!(token.expose().len(), TOKEN_LEN);
    }
}
