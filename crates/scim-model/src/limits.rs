//! How much one request may carry: bounds that keep hostile input from exhausting the server or
//! its store, each refused with an RFC 7644 §3.12 error before anything changes.
//!
//! [`Limits::default`] suits a public server; validation ([`crate::validate::ValidationOptions`]),
//! PATCH ([`crate::patch::PatchOptions`]), projection ([`crate::project::Projection`]) and filter
//! parsing ([`Limits::parse_options`]) each take the same struct, so an operator sets a limit
//! once.
//!
//! ```
//! use scim_model::limits::Limits;
//! use serde_json::json;
//!
//! let limits = Limits {
//!     max_document_bytes: 64,
//!     ..Limits::default()
//! };
//! assert!(limits.validate().is_ok());
//! assert!(limits.check_document(&json!({"userName": "bjensen"})).is_ok());
//! let error = limits
//!     .check_document(&json!({"userName": "b".repeat(100)}))
//!     .unwrap_err();
//! assert_eq!(error.status(), 413);
//! ```

use std::io;

use scim_filter::ParseOptions;
use serde_json::Value;

use crate::error::ScimError;
use crate::schema::{Attribute, ResourceTypeView};

/// The bounds on one request. Every field must be at least 1 ([`Limits::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// The longest string value, in bytes of UTF-8, anywhere in a resource or a PATCH request.
    /// Longer ones are 400 `invalidValue`. Default 16 KiB.
    pub max_string_bytes: usize,
    /// The longest value of an attribute the store keys on (indexes): `userName`,
    /// `displayName` (a Group's unique name), `externalId` and `emails.value`, in bytes of
    /// UTF-8, both as given and in the case-folded form that is indexed (folding can lengthen a
    /// string). PostgreSQL refuses a btree index entry above about 2,700 bytes, so this stays
    /// below that. Longer ones are 400 `invalidValue`. Default 2 KiB.
    pub max_key_bytes: usize,
    /// The most values of one multi-valued attribute (`emails`, `phoneNumbers`, …), as given
    /// and after a PATCH. More are 400 `invalidValue`. Default 1,000.
    pub max_values: usize,
    /// The most operations in one PATCH request. More are 400 `invalidValue`. Default 1,000.
    pub max_operations: usize,
    /// The most names `attributes` or `excludedAttributes` may list (counting repeats).
    /// More are 400 `invalidValue`. Default 200.
    pub max_attribute_names: usize,
    /// The most nodes in a filter: each comparison, `pr`, `and`, `or`, `not` and value filter
    /// counts one ([`ParseOptions::max_nodes`]). More are 400 `invalidFilter`. Default 1,000.
    pub max_filter_nodes: usize,
    /// The largest stored resource, serialised as JSON, in bytes. Larger ones are 413.
    /// Default 256 KiB.
    pub max_document_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_string_bytes: 16 * 1024,
            max_key_bytes: 2 * 1024,
            max_values: 1000,
            max_operations: 1000,
            max_attribute_names: 200,
            max_filter_nodes: 1000,
            max_document_bytes: 256 * 1024,
        }
    }
}

/// Why a [`Limits`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// A limit is zero, which would refuse every request that uses it.
    #[error("limits.{0} must be at least 1")]
    Zero(&'static str),
}

impl Limits {
    /// Checks that every limit lets something through.
    ///
    /// # Errors
    /// [`LimitError::Zero`] naming the first limit that is zero.
    pub fn validate(&self) -> Result<(), LimitError> {
        let Limits {
            max_string_bytes,
            max_key_bytes,
            max_values,
            max_operations,
            max_attribute_names,
            max_filter_nodes,
            max_document_bytes,
        } = *self;
        for (name, value) in [
            ("max_string_bytes", max_string_bytes),
            ("max_key_bytes", max_key_bytes),
            ("max_values", max_values),
            ("max_operations", max_operations),
            ("max_attribute_names", max_attribute_names),
            ("max_filter_nodes", max_filter_nodes),
            ("max_document_bytes", max_document_bytes),
        ] {
            if value == 0 {
                return Err(LimitError::Zero(name));
            }
        }
        Ok(())
    }

    /// The filter parser's options under these limits: [`ParseOptions::default`] with
    /// [`Limits::max_filter_nodes`].
    pub fn parse_options(&self) -> ParseOptions {
        ParseOptions {
            max_nodes: self.max_filter_nodes,
            ..ParseOptions::default()
        }
    }

    /// Checks the size of a resource about to be stored: `document` serialised as JSON must
    /// take at most [`Limits::max_document_bytes`]. Serialising stops as soon as it passes the
    /// limit, and nothing is allocated.
    ///
    /// # Errors
    /// 413 (RFC 7644 §3.12: "Request payload too large") when `document` is larger.
    pub fn check_document(&self, document: &Value) -> Result<(), ScimError> {
        let mut counter = Counter {
            bytes: 0,
            max: self.max_document_bytes,
        };
        if serde_json::to_writer(&mut counter, document).is_err() {
            return Err(ScimError::payload_too_large(format!(
                "the resource would take more than the {} bytes a stored resource may take",
                self.max_document_bytes
            )));
        }
        Ok(())
    }

    /// Checks one string value: no NUL, at most [`Limits::max_string_bytes`].
    ///
    /// # Errors
    /// 400 `invalidValue` naming `location` (never the value).
    pub(crate) fn check_text(
        &self,
        location: impl std::fmt::Display,
        text: &str,
    ) -> Result<(), ScimError> {
        if text.contains('\0') {
            return Err(ScimError::invalid_value(format!(
                "`{location}` contains U+0000 (NUL), which no value may hold"
            )));
        }
        if text.len() > self.max_string_bytes {
            return Err(ScimError::invalid_value(format!(
                "`{location}` is {} bytes long; at most {} are accepted",
                text.len(),
                self.max_string_bytes
            )));
        }
        Ok(())
    }
}

/// The attributes a store keys on ([`Limits::max_key_bytes`]): `userName`, `displayName`,
/// `externalId` and `emails.value`, as far as the resource type has them, resolved once so that
/// recognising one is a pointer comparison.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct KeyAttributes<'r>([Option<&'r Attribute>; 4]);

impl<'r> KeyAttributes<'r> {
    /// The key attributes of `resource_type`.
    pub(crate) fn of(resource_type: ResourceTypeView<'r>) -> Self {
        let find = |name: &str, sub: Option<&str>| {
            resource_type
                .resolve(None, name, sub)
                .ok()
                .map(|resolved| resolved.target())
        };
        KeyAttributes([
            find("userName", None),
            find("displayName", None),
            find("externalId", None),
            find("emails", Some("value")),
        ])
    }

    /// Whether `attribute` (an attribute or sub-attribute of the resource type) is a key.
    pub(crate) fn contains(&self, attribute: &Attribute) -> bool {
        self.0
            .iter()
            .flatten()
            .any(|key| std::ptr::eq(*key, attribute))
    }
}

/// A writer that only counts, and fails once past `max`.
struct Counter {
    bytes: usize,
    max: usize,
}

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes = self.bytes.saturating_add(buf.len());
        if self.bytes > self.max {
            return Err(io::Error::other("over the limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_zero_is_refused() {
        assert_eq!(Limits::default().validate(), Ok(()));
        let zero = Limits {
            max_values: 0,
            ..Limits::default()
        };
        assert_eq!(zero.validate(), Err(LimitError::Zero("max_values")));
        assert_eq!(
            zero.validate().unwrap_err().to_string(),
            "limits.max_values must be at least 1"
        );
    }

    #[test]
    fn documents_are_measured_as_serialised() {
        let document = serde_json::json!({"a": "bc"});
        let exact = serde_json::to_vec(&document).unwrap().len();
        let limits = |max| Limits {
            max_document_bytes: max,
            ..Limits::default()
        };
        assert!(limits(exact).check_document(&document).is_ok());
        let error = limits(exact - 1).check_document(&document).unwrap_err();
        assert_eq!(error.status(), 413);
        assert_eq!(error.scim_type(), None);
    }

    #[test]
    fn parse_options_carry_the_node_limit() {
        let limits = Limits {
            max_filter_nodes: 2,
            ..Limits::default()
        };
        assert!(limits.parse_options().parse("a pr or b pr").is_err());
        assert!(limits.parse_options().parse("a pr").is_ok());
    }
}
