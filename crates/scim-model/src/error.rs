//! The model's error: an RFC 7644 §3.12 status, `scimType` and detail, free of any HTTP type.
//!
//! Everything built on this crate returns [`ScimError`]; the server turns it into a response in
//! one place, with [`ScimError::to_response`] giving the body.

use crate::message::{ErrorResponse, ScimType};

/// A SCIM error: the HTTP status it maps to, the `scimType` when §3.12 defines one, and a
/// human-readable detail.
///
/// ```
/// use scim_model::error::ScimError;
/// use scim_model::message::ScimType;
///
/// let error = ScimError::invalid_filter("unknown attribute `nickname2`");
/// assert_eq!(error.status(), 400);
/// assert_eq!(error.scim_type(), Some(ScimType::InvalidFilter));
/// let body = serde_json::to_value(error.to_response())?;
/// assert_eq!(body["status"], "400");
/// assert_eq!(body["scimType"], "invalidFilter");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    status: u16,
    scim_type: Option<ScimType>,
    detail: String,
}

impl ScimError {
    /// An error with any status and optional `scimType`; prefer the named constructors.
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// An error of `scim_type`, with the status §3.12 gives it.
    pub fn of_type(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::new(scim_type.status(), Some(scim_type), detail)
    }

    /// 400 `invalidFilter`: the filter syntax is invalid, or it names an unknown attribute or
    /// uses an operator the attribute does not support.
    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::InvalidFilter, detail)
    }

    /// 400 `tooMany`: the filter yields more results than the server will return.
    pub fn too_many(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::TooMany, detail)
    }

    /// 409 `uniqueness`: a value is already used by another resource.
    pub fn uniqueness(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::Uniqueness, detail)
    }

    /// 400 `mutability`: the request would change a `readOnly` or `immutable` attribute.
    pub fn mutability(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::Mutability, detail)
    }

    /// 400 `invalidSyntax`: the request body is not a valid message of its kind.
    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::InvalidSyntax, detail)
    }

    /// 400 `invalidPath`: a path (PATCH, `attributes`, `sortBy`) is invalid.
    pub fn invalid_path(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::InvalidPath, detail)
    }

    /// 400 `noTarget`: a PATCH path's filter matched nothing.
    pub fn no_target(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::NoTarget, detail)
    }

    /// 400 `invalidValue`: a value is missing, of the wrong type or not allowed.
    pub fn invalid_value(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::InvalidValue, detail)
    }

    /// 400 `invalidVers`: the protocol version is not supported.
    pub fn invalid_version(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::InvalidVers, detail)
    }

    /// 403 `sensitive`: sensitive information was passed in the request URI.
    pub fn sensitive(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::Sensitive, detail)
    }

    /// 400 `invalidCursor` (RFC 9865 §2.1): the cursor is not one issued for this query.
    pub fn invalid_cursor(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::InvalidCursor, detail)
    }

    /// 400 `expiredCursor` (RFC 9865 §2.1): the cursor is older than `cursorTimeout`.
    pub fn expired_cursor(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::ExpiredCursor, detail)
    }

    /// 400 `invalidCount` (RFC 9865 §2.1): the page size is not acceptable.
    pub fn invalid_count(detail: impl Into<String>) -> Self {
        ScimError::of_type(ScimType::InvalidCount, detail)
    }

    /// 400 without a `scimType`: a malformed request no `scimType` describes.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        ScimError::new(400, None, detail)
    }

    /// 401: no or bad credentials.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        ScimError::new(401, None, detail)
    }

    /// 403: the credentials do not allow the operation.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        ScimError::new(403, None, detail)
    }

    /// 404: the resource or endpoint does not exist.
    pub fn not_found(detail: impl Into<String>) -> Self {
        ScimError::new(404, None, detail)
    }

    /// 409 without a `scimType`: the request conflicts with the resource's state.
    pub fn conflict(detail: impl Into<String>) -> Self {
        ScimError::new(409, None, detail)
    }

    /// 412: `If-Match` did not match the resource's version.
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        ScimError::new(412, None, detail)
    }

    /// 413: the payload exceeds the advertised limits (RFC 7644 §3.7.4).
    pub fn payload_too_large(detail: impl Into<String>) -> Self {
        ScimError::new(413, None, detail)
    }

    /// 429: the client sent too many requests.
    pub fn too_many_requests(detail: impl Into<String>) -> Self {
        ScimError::new(429, None, detail)
    }

    /// 500: an unexpected failure; the detail is for logs, not for the client.
    pub fn internal(detail: impl Into<String>) -> Self {
        ScimError::new(500, None, detail)
    }

    /// 501: the operation is not supported.
    pub fn not_implemented(detail: impl Into<String>) -> Self {
        ScimError::new(501, None, detail)
    }

    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The §3.12 `scimType`, when one applies.
    pub fn scim_type(&self) -> Option<ScimType> {
        self.scim_type
    }

    /// The human-readable detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The §3.12 error body.
    pub fn to_response(&self) -> ErrorResponse {
        ErrorResponse::new(self.status, self.scim_type, Some(self.detail.clone()))
    }
}

impl From<ScimError> for ErrorResponse {
    fn from(error: ScimError) -> Self {
        ErrorResponse::new(error.status, error.scim_type, Some(error.detail))
    }
}
