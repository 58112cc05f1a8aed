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
