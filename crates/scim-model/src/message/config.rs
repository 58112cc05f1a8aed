//! The service provider configuration (RFC 7643 §5), as served at `/ServiceProviderConfig`.

use serde::{Deserialize, Serialize};

use crate::meta::Meta;
use crate::schema::SERVICE_PROVIDER_CONFIG;

/// What the service provider supports (RFC 7643 §5); it must advertise exactly what works.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    /// `["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]`.
    #[serde(default = "config_schemas")]
    pub schemas: Vec<String>,
    /// Human-readable help documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// PATCH support.
    pub patch: Supported,
    /// Bulk support and its limits.
    pub bulk: BulkConfig,
    /// Filter support and the largest result set returned.
    pub filter: FilterConfig,
    /// Password change support.
    pub change_password: Supported,
    /// Sorting support.
    pub sort: Supported,
    /// ETag support.
    pub etag: Supported,
    /// The accepted authentication schemes.
    #[serde(default)]
    pub authentication_schemes: Vec<AuthenticationScheme>,
    /// How lists page (RFC 9865 §4); left out by servers that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<PaginationConfig>,
    /// Whether the server follows the SCIM interoperability profile (its §4); left out when
    /// the server makes no claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interop_profile_conformant: Option<bool>,
    /// Set by the server when it serves the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// A feature that is either supported or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Supported {
    /// Whether the feature is supported.
    pub supported: bool,
}

impl Supported {
    /// `{"supported": supported}`.
    pub fn new(supported: bool) -> Self {
        Supported { supported }
    }
}

/// Bulk support and its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkConfig {
    /// Whether bulk requests are supported.
    pub supported: bool,
    /// The most operations one request may carry.
    pub max_operations: u32,
    /// The largest request body, in bytes.
    pub max_payload_size: u64,
}

/// Which paging methods lists support and their limits (RFC 9865 §4, `pagination`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaginationConfig {
    /// Whether cursor paging (RFC 9865) is supported.
    pub cursor: bool,
    /// Whether index paging (`startIndex`, RFC 7644 §3.4.2.4) is supported.
    pub index: bool,
    /// The method used when a request names neither `cursor` nor `startIndex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_pagination_method: Option<PaginationMethod>,
    /// Results per page when a request names no `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_page_size: Option<u32>,
    /// The most results one page returns, whatever `count` asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_page_size: Option<u32>,
    /// The seconds a cursor is guaranteed to stay valid between page requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_timeout: Option<u64>,
}

/// A paging method, as `defaultPaginationMethod` names it (RFC 9865 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PaginationMethod {
    /// `cursor`: RFC 9865.
    Cursor,
    /// `index`: `startIndex` and `count` (RFC 7644 §3.4.2.4).
    Index,
}

/// Filter support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterConfig {
    /// Whether filters are supported.
    pub supported: bool,
    /// The most resources one response returns.
    pub max_results: u32,
}

/// An authentication scheme (RFC 7643 §5, `authenticationSchemes`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationScheme {
    /// The scheme type: `oauth`, `oauth2`, `oauthbearertoken`, `httpbasic` or `httpdigest`.
    #[serde(rename = "type")]
    pub scheme_type: String,
    /// The common name, e.g. `OAuth Bearer Token`.
    pub name: String,
    /// A description.
    pub description: String,
    /// The scheme's specification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_uri: Option<String>,
    /// The scheme's usage documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// Whether this is the preferred scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

impl AuthenticationScheme {
    /// The OAuth 2.0 bearer token scheme of RFC 6750, which this server's tokens use.
    pub fn oauth_bearer_token() -> Self {
        AuthenticationScheme {
            scheme_type: "oauthbearertoken".to_owned(),
            name: "OAuth Bearer Token".to_owned(),
            description: "Authentication scheme using the OAuth Bearer Token Standard".to_owned(),
            spec_uri: Some("https://www.rfc-editor.org/info/rfc6750".to_owned()),
            documentation_uri: None,
            primary: Some(true),
        }
    }
}

fn config_schemas() -> Vec<String> {
    vec![SERVICE_PROVIDER_CONFIG.to_owned()]
}
