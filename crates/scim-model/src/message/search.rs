//! The search request of `POST /.search` (RFC 7644 §3.4.3), with the RFC 9865 cursor.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::serde_util::{attribute_list, keyword};
use super::{declares, SEARCH_REQUEST};

/// A query sent as a body (RFC 7644 §3.4.3); the same parameters as a `GET` query string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]`.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// Attributes to return instead of the default set.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "attribute_list"
    )]
    pub attributes: Vec<String>,
    /// Attributes to leave out of the default set.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "attribute_list"
    )]
    pub excluded_attributes: Vec<String>,
    /// The filter, unparsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The attribute to sort by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// The sort direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<SortOrder>,
    /// The 1-based index of the first result; values below 1 mean 1 (§3.4.2.4), so any integer
    /// is accepted here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<i64>,
    /// The page size; negative values mean 0 (§3.4.2.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    /// The RFC 9865 cursor: empty for the first page, then a `nextCursor` value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

impl SearchRequest {
    /// An empty request carrying the SearchRequest URN.
    pub fn new() -> Self {
        SearchRequest {
            schemas: vec![SEARCH_REQUEST.to_owned()],
            ..SearchRequest::default()
        }
    }

    /// Whether `schemas` names the SearchRequest URN, as §3.4.3 requires.
    pub fn declares_search_request(&self) -> bool {
        declares(&self.schemas, SEARCH_REQUEST)
    }
}

/// `sortOrder` (RFC 7644 §3.4.2.3), read in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SortOrder {
    /// `ascending`, the default.
    #[default]
    Ascending,
    /// `descending`.
    Descending,
}

impl SortOrder {
    /// The keyword, as the RFC writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
    }
}

impl fmt::Display for SortOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SortOrder {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SortOrder {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        keyword(
            deserializer,
            &[
                ("ascending", SortOrder::Ascending),
                ("descending", SortOrder::Descending),
            ],
        )
    }
}
