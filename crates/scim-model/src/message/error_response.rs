//! The error response (RFC 7644 §3.12).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::serde_util::status_string;
use super::ERROR;

/// The `scimType` values of RFC 7644 §3.12, Table 9, and the paging errors RFC 9865 §2.1 adds
/// to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScimType {
    /// The filter syntax was invalid, or the attribute and comparison combination is not
    /// supported (400).
    InvalidFilter,
    /// The filter yields too many results for the server to process (400).
    TooMany,
    /// One or more attribute values are already in use or reserved (409).
    Uniqueness,
    /// The modification is incompatible with an attribute's mutability (400).
    Mutability,
    /// The request body structure was invalid or did not conform to the schema (400).
    InvalidSyntax,
    /// The path attribute was invalid or malformed (400).
    InvalidPath,
    /// The path did not yield an attribute or value that could be operated on (400).
    NoTarget,
    /// A required value was missing, or the value is not compatible with the attribute (400).
    InvalidValue,
    /// The specified SCIM protocol version is not supported (400).
    InvalidVers,
    /// The request cannot be completed because sensitive information was in the URI (403).
    Sensitive,
    /// The cursor is not one this server issued for this query (400; RFC 9865 §2.1).
    InvalidCursor,
    /// The cursor was issued longer ago than the server's `cursorTimeout` (400; RFC 9865 §2.1).
    ExpiredCursor,
    /// The `count` is not one the server accepts for cursor paging (400; RFC 9865 §2.1).
    InvalidCount,
}

impl ScimType {
    /// Every `scimType`, in the order of §3.12, then RFC 9865's.
    pub const ALL: [ScimType; 13] = [
        ScimType::InvalidFilter,
        ScimType::TooMany,
        ScimType::Uniqueness,
        ScimType::Mutability,
        ScimType::InvalidSyntax,
        ScimType::InvalidPath,
        ScimType::NoTarget,
        ScimType::InvalidValue,
        ScimType::InvalidVers,
        ScimType::Sensitive,
        ScimType::InvalidCursor,
        ScimType::ExpiredCursor,
        ScimType::InvalidCount,
    ];

    /// The keyword as written in the error body, e.g. `invalidFilter`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
            ScimType::InvalidCount => "invalidCount",
        }
    }

    /// The HTTP status §3.12 gives this `scimType`.
    pub fn status(self) -> u16 {
        match self {
            ScimType::Uniqueness => 409,
            ScimType::Sensitive => 403,
            ScimType::InvalidFilter
            | ScimType::TooMany
            | ScimType::Mutability
            | ScimType::InvalidSyntax
            | ScimType::InvalidPath
            | ScimType::NoTarget
            | ScimType::InvalidValue
            | ScimType::InvalidVers
            | ScimType::InvalidCursor
            | ScimType::ExpiredCursor
            | ScimType::InvalidCount => 400,
        }
    }
}

impl fmt::Display for ScimType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of an error response (RFC 7644 §3.12); `status` is written as a string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// `["urn:ietf:params:scim:api:messages:2.0:Error"]`.
    #[serde(default = "error_schemas")]
    pub schemas: Vec<String>,
    /// The HTTP status code, repeated in the body.
    #[serde(with = "status_string")]
    pub status: u16,
    /// The SCIM detail error keyword, for the 400, 403 and 409 errors that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<ScimType>,
    /// A human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ErrorResponse {
    /// An error body.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: Option<String>) -> Self {
        ErrorResponse {
            schemas: error_schemas(),
            status,
            scim_type,
            detail,
        }
    }
}

fn error_schemas() -> Vec<String> {
    vec![ERROR.to_owned()]
}
