//! The list response (RFC 7644 §3.4.2) with the cursor fields of RFC 9865.

use serde::{Deserialize, Serialize};

use super::LIST_RESPONSE;

/// A page of query results (RFC 7644 §3.4.2).
///
/// `Resources` is always written, even when empty, because clients index into it without
/// checking. The RFC 9865 cursors are written only when set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T> {
    /// `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`.
    #[serde(default = "list_schemas")]
    pub schemas: Vec<String>,
    /// The number of results matching the query, across all pages.
    pub total_results: u64,
    /// The 1-based index of the first result of this page (index-based paging).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    /// The number of results on this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u64>,
    /// The results of this page.
    #[serde(rename = "Resources", alias = "resources", default = "Vec::new")]
    pub resources: Vec<T>,
    /// The cursor of the next page (RFC 9865); absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// The cursor of the previous page (RFC 9865), when the server offers one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_cursor: Option<String>,
}

impl<T> ListResponse<T> {
    /// A page of `resources` out of `total_results`, starting at the 1-based `start_index`;
    /// `itemsPerPage` is the page's length.
    pub fn new(resources: Vec<T>, total_results: u64, start_index: u64) -> Self {
        ListResponse {
            schemas: list_schemas(),
            total_results,
            start_index: Some(start_index),
            items_per_page: Some(page_len(&resources)),
            resources,
            next_cursor: None,
            previous_cursor: None,
        }
    }

    /// A cursor-paged page (RFC 9865): no `startIndex`; `nextCursor` when more results follow.
    pub fn with_cursor(resources: Vec<T>, total_results: u64, next_cursor: Option<String>) -> Self {
        ListResponse {
            schemas: list_schemas(),
            total_results,
            start_index: None,
            items_per_page: Some(page_len(&resources)),
            resources,
            next_cursor,
            previous_cursor: None,
        }
    }

    /// The same page with a `previousCursor`.
    #[must_use]
    pub fn with_previous_cursor(mut self, previous_cursor: impl Into<String>) -> Self {
        self.previous_cursor = Some(previous_cursor.into());
        self
    }
}

fn page_len<T>(resources: &[T]) -> u64 {
    u64::try_from(resources.len()).unwrap_or(u64::MAX)
}

fn list_schemas() -> Vec<String> {
    vec![LIST_RESPONSE.to_owned()]
}
