//! RFC 7644 protocol messages, each with its `schemas` URN, and the RFC 7643 §5 service
//! provider configuration.
//!
//! Requests deserialise leniently where identity providers are known to differ from the RFC
//! without ambiguity (operation names in any case, `Operations` / `Resources` in lower case);
//! responses serialise exactly as the RFC writes them.

mod bulk;
mod config;
mod error_response;
mod list;
mod patch;
mod search;
mod serde_util;

pub use bulk::{BulkMethod, BulkOperation, BulkOperationResponse, BulkRequest, BulkResponse};
pub use config::{
    AuthenticationScheme, BulkConfig, FilterConfig, PaginationConfig, PaginationMethod,
    ServiceProviderConfig, Supported,
};
pub use error_response::{ErrorResponse, ScimType};
pub use list::ListResponse;
pub use patch::{PatchOp, PatchOperation, PatchRequest};
pub use search::{SearchRequest, SortOrder};

pub use crate::schema::SERVICE_PROVIDER_CONFIG;

/// `urn:ietf:params:scim:api:messages:2.0:ListResponse` (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// `urn:ietf:params:scim:api:messages:2.0:SearchRequest` (RFC 7644 §3.4.3).
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// `urn:ietf:params:scim:api:messages:2.0:PatchOp` (RFC 7644 §3.5.2).
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// `urn:ietf:params:scim:api:messages:2.0:BulkRequest` (RFC 7644 §3.7).
pub const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// `urn:ietf:params:scim:api:messages:2.0:BulkResponse` (RFC 7644 §3.7).
pub const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// `urn:ietf:params:scim:api:messages:2.0:Error` (RFC 7644 §3.12).
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Whether `schemas` names `urn`; URNs compare case-insensitively.
fn declares(schemas: &[String], urn: &str) -> bool {
    schemas
        .iter()
        .any(|schema| schema.eq_ignore_ascii_case(urn))
}
