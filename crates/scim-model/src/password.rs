//! The User's `password` (RFC 7643 §4.1.1), kept out of the documents validation returns.
//!
//! RFC 7643 §4.1.1 says a service provider "SHOULD NOT" keep a password in cleartext. This
//! crate cannot hash it (it knows nothing of storage, nor of the hashing the server chose), so
//! it makes storing one in clear the path that takes effort: validation hands the password over
//! apart from the document, as a type that cannot be serialized or printed.

use std::fmt;

/// The canonical name of the User's password attribute.
pub(crate) const PASSWORD: &str = "password";

/// A password as a client sent it, to be hashed before anything stores it: what
/// [`Validated::password`](crate::validate::Validated::password) holds.
///
/// It is neither `Serialize` nor `Display`, and its `Debug` prints `Password(<redacted>)`, so
/// it cannot end up in a stored document, a response or a log line by accident. The text comes
/// out only through [`Password::expose_for_hashing`].
pub struct Password(String);

impl Password {
    pub(crate) fn new(text: String) -> Self {
        Password(text)
    }

    /// The password's text, for a password hash (argon2id, as `scim_auth::hash_password`
    /// computes it) and nothing else: what is stored is the hash, never this.
    pub fn expose_for_hashing(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}
