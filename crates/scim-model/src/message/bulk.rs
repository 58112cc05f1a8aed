//! Bulk requests and responses (RFC 7644 §3.7).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::serde_util::{keyword, status_string};
use super::{declares, ErrorResponse, BULK_REQUEST, BULK_RESPONSE};

/// A bulk request (RFC 7644 §3.7.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]`.
    #[serde(default)]
    pub schemas: Vec<String>,
    /// The number of errors after which the server stops processing; absent means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on_errors: Option<u32>,
    /// The operations, processed in order.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<BulkOperation>,
}

impl BulkRequest {
    /// A request of `operations`.
    pub fn new(operations: Vec<BulkOperation>) -> Self {
        BulkRequest {
            schemas: vec![BULK_REQUEST.to_owned()],
            fail_on_errors: None,
            operations,
        }
    }

    /// Whether `schemas` names the BulkRequest URN, as §3.7 requires.
    pub fn declares_bulk_request(&self) -> bool {
        declares(&self.schemas, BULK_REQUEST)
    }
}

/// One operation of a bulk request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    /// The HTTP method.
    pub method: BulkMethod,
    /// The client's name for a resource created by a `POST`, which later operations refer to
    /// as `bulkId:<id>`; required for `POST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The version the resource must have (an `If-Match` for this operation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The resource path relative to the base URL, e.g. `/Users` or `/Groups/{id}`.
    pub path: String,
    /// The body: a resource for `POST` / `PUT`, a PATCH request for `PATCH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A bulk response (RFC 7644 §3.7.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkResponse {
    /// `["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]`.
    #[serde(default = "bulk_response_schemas")]
    pub schemas: Vec<String>,
    /// The result of each operation processed, in request order.
    #[serde(rename = "Operations", alias = "operations")]
    pub operations: Vec<BulkOperationResponse>,
}

impl BulkResponse {
    /// A response of `operations`.
    pub fn new(operations: Vec<BulkOperationResponse>) -> Self {
        BulkResponse {
            schemas: bulk_response_schemas(),
            operations,
        }
    }
}

/// The result of one bulk operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationResponse {
    /// The URI of the resource acted on, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The method of the operation.
    pub method: BulkMethod,
    /// The operation's `bulkId`, echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The resource's version after the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The HTTP status of the operation, written as a string as in §3.7.3.
    #[serde(with = "status_string")]
    pub status: u16,
    /// The response body, e.g. the §3.12 error of a failed operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

impl BulkOperationResponse {
    /// The result of an operation that failed with `error`, which is carried as `response`.
    ///
    /// # Errors
    /// A [`serde_json::Error`] if the error body cannot be turned into JSON (it always can).
    pub fn failed(
        method: BulkMethod,
        bulk_id: Option<String>,
        error: &ErrorResponse,
    ) -> Result<Self, serde_json::Error> {
        Ok(BulkOperationResponse {
            location: None,
            method,
            bulk_id,
            version: None,
            status: error.status,
            response: Some(serde_json::to_value(error)?),
        })
    }
}

/// The HTTP method of a bulk operation, read in any case and written in upper case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkMethod {
    /// `POST`: create.
    Post,
    /// `PUT`: replace.
    Put,
    /// `PATCH`: modify.
    Patch,
    /// `DELETE`: delete.
    Delete,
}

impl BulkMethod {
    /// The method name in upper case.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkMethod::Post => "POST",
            BulkMethod::Put => "PUT",
            BulkMethod::Patch => "PATCH",
            BulkMethod::Delete => "DELETE",
        }
    }
}

impl fmt::Display for BulkMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for BulkMethod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BulkMethod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        keyword(
            deserializer,
            &[
                ("POST", BulkMethod::Post),
                ("PUT", BulkMethod::Put),
                ("PATCH", BulkMethod::Patch),
                ("DELETE", BulkMethod::Delete),
            ],
        )
    }
}

fn bulk_response_schemas() -> Vec<String> {
    vec![BULK_RESPONSE.to_owned()]
}
