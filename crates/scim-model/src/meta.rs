//! The `meta` common attribute (RFC 7643 §3.1), shared by resources and discovery documents.

use serde::{Deserialize, Serialize};

/// Resource metadata: every sub-attribute is assigned by the service provider.
///
/// Times stay the RFC 3339 strings they were written as; this crate neither parses nor
/// re-formats them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// The name of the resource type, e.g. `User`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    /// When the resource was added, as an `xsd:dateTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// When the resource was last changed, as an `xsd:dateTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
    /// The URI of the resource; the same as the `Location` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The version of the resource; the same as the `ETag` header, e.g. `W/"3694e05e9dff590"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Meta {
    /// Metadata naming only the resource type.
    pub fn of_type(resource_type: impl Into<String>) -> Self {
        Meta {
            resource_type: Some(resource_type.into()),
            ..Meta::default()
        }
    }

    /// The same metadata with `location` set.
    #[must_use]
    pub fn with_location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }
}

/// What stands before and after the version number in this server's ETags and `meta.version`:
/// `W/"` and `"`, a weak entity tag (RFC 7644 §3.14, RFC 7232 §2.3). Stores that compare
/// versions in SQL build the same text from these.
pub const ETAG_AROUND_VERSION: (&str, &str) = ("W/\"", "\"");

/// The ETag (and `meta.version`) of a stored version: `W/"<version>"`.
///
/// ```
/// assert_eq!(scim_model::meta::etag(3), r#"W/"3""#);
/// assert_eq!(scim_model::meta::parse_etag(r#"W/"3""#), Some(3));
/// assert_eq!(scim_model::meta::parse_etag(r#""3""#), Some(3));
/// assert_eq!(scim_model::meta::parse_etag("3"), None);
/// ```
pub fn etag(version: i64) -> String {
    let (before, after) = ETAG_AROUND_VERSION;
    format!("{before}{version}{after}")
}

/// The version an entity tag names, weak (`W/"3"`) or strong (`"3"`); `None` for a tag this
/// server did not issue.
pub fn parse_etag(tag: &str) -> Option<i64> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}
