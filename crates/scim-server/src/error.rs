//! The one place every failure becomes an HTTP answer: the RFC 7644 §3.12 error body with the
//! right status and headers.
//!
//! Handlers return `Result<_, ApiError>` and use `?` on [`ScimError`], [`StoreError`],
//! [`AuthError`] and actix's extractor errors alike. What the client sees is decided by
//! [`ApiError::status`] and the private rendering below; what only operators should see (a
//! database message, a failed thread pool) is logged with `tracing::error!` and answered with
//! an opaque "internal error".

use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::error::{
    BlockingError, JsonPayloadError, PathError, PayloadError, QueryPayloadError,
};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use scim_auth::AuthError;
use scim_model::error::ScimError;
use scim_model::message::{ErrorResponse, ScimType};
use scim_store::{StoreError, TransactionError};

use crate::media::SCIM_JSON;

/// The `WWW-Authenticate` challenge of every 401 (RFC 6750 §3, RFC 7644 §2).
pub const BEARER_CHALLENGE: &str = "Bearer realm=\"scim\"";

/// The detail of every 401, whatever the reason, so a caller cannot probe which tokens exist,
/// were revoked or have expired.
pub(crate) const UNAUTHORIZED_DETAIL: &str =
    "authentication required: present a valid bearer token in the Authorization header";

/// The detail of every 500.
pub(crate) const INTERNAL_DETAIL: &str = "internal error";

/// How long a client is asked to wait when the database is unavailable.
const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// How long a client is asked to wait when every token-hashing slot is busy.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// How long a client is asked to wait when its organisation's database jobs are all busy: they
/// are single requests, so one ends soon.
const ORG_BUSY_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Any failure of a request; its `actix_web::ResponseError` impl renders the §3.12 body.
///
/// ```
/// use actix_web::ResponseError;
/// use scim_server::ApiError;
/// use scim_store::{StoreError, TransactionError};
///
/// let error = ApiError::from(StoreError::NotFound);
/// assert_eq!(error.status_code().as_u16(), 404);
/// assert_eq!(
///     error.error_response().headers().get("content-type").unwrap(),
///     "application/scim+json"
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A SCIM error with its own status and `scimType`.
    #[error(transparent)]
    Scim(#[from] ScimError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request was not authenticated.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// A blocking task (a store call or a token hash) could not run or panicked.
    #[error("blocking task failed")]
    Blocking,
    /// The organisation already runs as many database jobs at once as it may
    /// ([`crate::ServerConfig::max_org_db_jobs`]) and none ended within
    /// [`crate::ServerConfig::org_db_wait`]: 429 with `Retry-After`.
    #[error("the organisation's database jobs are all busy")]
    OrgBusy,
    /// The organisation is over its request rate limit: 429 with `Retry-After`.
    #[error("the organisation is over its request rate limit")]
    RateLimited {
        /// When its bucket holds a request again.
        retry_after: Duration,
    },
}

/// What a client is told: status, `scimType`, detail and the extra header, if any.
struct Answer {
    status: StatusCode,
    scim_type: Option<ScimType>,
    detail: String,
    header: Option<(header::HeaderName, HeaderValue)>,
}

impl Answer {
    fn new(status: StatusCode, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        Answer {
            status,
            scim_type,
            detail: detail.into(),
            header: None,
        }
    }

    fn internal() -> Self {
        Answer::new(StatusCode::INTERNAL_SERVER_ERROR, None, INTERNAL_DETAIL)
    }

    fn retry_after(mut self, after: Duration) -> Self {
        // Whole seconds, rounded up so a client never comes back early (RFC 9110 §10.2.3).
        let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        self.header = Some((header::RETRY_AFTER, HeaderValue::from(secs.max(1))));
        self
    }

    fn unauthorized() -> Self {
        let mut answer = Answer::new(StatusCode::UNAUTHORIZED, None, UNAUTHORIZED_DETAIL);
        answer.header = Some((
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(BEARER_CHALLENGE),
        ));
        answer
    }
}

impl ApiError {
    /// What the client is told. Logs what it is not told.
    fn answer(&self) -> Answer {
        match self {
            ApiError::Scim(error) => scim_answer(error),
            ApiError::Store(error) => store_answer(error),
            ApiError::Auth(error) => auth_answer(error),
            ApiError::Blocking => {
                tracing::error!("a blocking task was cancelled or panicked");
                Answer::internal()
            }
            // 429, not 503: the service is up and serves other organisations; this client's
            // organisation is over its share. RFC 6585 §4: 429 "indicates that the user has sent
            // too many requests", and "MAY include a Retry-After header indicating how long to
            // wait before making a new request". Identity providers back off on it.
            ApiError::OrgBusy => {
                metrics::counter!("scim_throttled_total", "reason" => "org_db_jobs").increment(1);
                Answer::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    None,
                    "too many concurrent requests for this organisation, retry later",
                )
                .retry_after(ORG_BUSY_RETRY_AFTER)
            }
            ApiError::RateLimited { retry_after } => {
                metrics::counter!("scim_throttled_total", "reason" => "rate_limit").increment(1);
                Answer::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    None,
                    "this organisation is over its request rate limit, retry later",
                )
                .retry_after(*retry_after)
            }
        }
    }

    /// The RFC 7644 §3.12 error object this error is answered with, for a response that
    /// carries it inside another message (a bulk operation's `response`, §3.7.3). Logs what
    /// the client is not told, as the response would.
    pub(crate) fn error_object(&self) -> ErrorResponse {
        let answer = self.answer();
        ErrorResponse::new(
            answer.status.as_u16(),
            answer.scim_type,
            Some(answer.detail),
        )
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Scim(error) => scim_status(error),
            ApiError::Store(error) => match error {
                StoreError::NotFound => StatusCode::NOT_FOUND,
                StoreError::UniqueViolation { .. } | StoreError::ValueTaken { .. } => {
                    StatusCode::CONFLICT
                }
                StoreError::VersionMismatch { .. } => StatusCode::PRECONDITION_FAILED,
                StoreError::MembershipCycle { .. } => StatusCode::BAD_REQUEST,
                StoreError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::Auth(error) => match error {
                AuthError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                AuthError::Busy | AuthError::Source(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNAUTHORIZED,
            },
            ApiError::Blocking => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::OrgBusy | ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

fn scim_status(error: &ScimError) -> StatusCode {
    match StatusCode::from_u16(error.status()) {
        Ok(status) if status.is_client_error() || status.is_server_error() => status,
        // A ScimError with a status that is not an error is a bug: answer it as one.
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn scim_answer(error: &ScimError) -> Answer {
    let status = scim_status(error);
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        // ScimError::internal's detail is for logs (see its docs), and so is a bogus status.
        tracing::error!(
            status = error.status(),
            detail = error.detail(),
            "internal error"
        );
        return Answer::internal();
    }
    let answer = Answer::new(status, error.scim_type(), error.detail());
    if status == StatusCode::UNAUTHORIZED {
        // Every 401 carries the challenge, whoever raised it.
        let mut challenged = Answer::unauthorized();
        challenged.detail = answer.detail;
        return challenged;
    }
    answer
}

fn store_answer(error: &StoreError) -> Answer {
    match error {
        StoreError::NotFound => Answer::new(StatusCode::NOT_FOUND, None, "resource not found"),
        StoreError::UniqueViolation { field, .. } => Answer::new(
            StatusCode::CONFLICT,
            Some(ScimType::Uniqueness),
            format!("{field} is already taken"),
        ),
        StoreError::ValueTaken { attribute } => Answer::new(
            StatusCode::CONFLICT,
            Some(ScimType::Uniqueness),
            format!("{attribute} is already taken"),
        ),
        StoreError::VersionMismatch { .. } => Answer::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            "the resource was modified: If-Match does not match its current version",
        ),
        StoreError::MembershipCycle { member } => Answer::new(
            StatusCode::BAD_REQUEST,
            Some(ScimType::InvalidValue),
            format!(
                "group {member:?} cannot be a member: the group would contain itself \
                 (directly or through nested groups)"
            ),
        ),
        StoreError::Unavailable(source) => {
            tracing::warn!(error = %source, "database unavailable");
            Answer::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "the service is temporarily unavailable, retry later",
            )
            .retry_after(UNAVAILABLE_RETRY_AFTER)
        }
        other => {
            tracing::error!(error = ?other, "store failed");
            Answer::internal()
        }
    }
}

fn auth_answer(error: &AuthError) -> Answer {
    let reason = match error {
        AuthError::Missing => "missing",
        AuthError::Malformed(_) => "malformed",
        AuthError::Unknown => "unknown",
        AuthError::Invalid => "invalid",
        AuthError::Expired => "expired",
        AuthError::Revoked => "revoked",
        AuthError::Throttled { .. } => "throttled",
        AuthError::Busy => "busy",
        AuthError::Source(_) => "unavailable",
        _ => "other",
    };
    metrics::counter!("scim_auth_failures_total", "reason" => reason).increment(1);
    match error {
        AuthError::Throttled { retry_after } => {
            tracing::info!(reason = %error, "authentication throttled");
            Answer::new(
                StatusCode::TOO_MANY_REQUESTS,
                None,
                "too many failed authentication attempts, retry later",
            )
            .retry_after(*retry_after)
        }
        AuthError::Busy => {
            tracing::warn!("token verification is saturated");
            Answer::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "the service is busy, retry later",
            )
            .retry_after(BUSY_RETRY_AFTER)
        }
        AuthError::Source(why) => {
            tracing::error!(error = %why, "token lookup failed");
            Answer::new(
                StatusCode::SERVICE_UNAVAILABLE,
                None,
                "the service is temporarily unavailable, retry later",
            )
            .retry_after(UNAVAILABLE_RETRY_AFTER)
        }
        // Missing, malformed, unknown, invalid, expired, revoked, and whatever scim-auth adds
        // later: one answer, so the reason stays in the log.
        refused => {
            tracing::info!(reason = %refused, "authentication refused");
            Answer::unauthorized()
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let answer = self.answer();
        let body = ErrorResponse::new(
            answer.status.as_u16(),
            answer.scim_type,
            Some(answer.detail),
        );
        let mut response = HttpResponse::build(answer.status);
        response.insert_header((header::CONTENT_TYPE, SCIM_JSON));
        if let Some(extra) = answer.header {
            response.insert_header(extra);
        }
        match serde_json::to_vec(&body) {
            Ok(bytes) => response.body(bytes),
            // Cannot happen for this plain struct; never leave the client without a body.
            Err(_) => response.body(format!(
                r#"{{"schemas":["{}"],"status":"{}"}}"#,
                scim_model::message::ERROR,
                answer.status.as_u16()
            )),
        }
    }
}

impl ApiError {
    /// The same answer as an RFC 9457 problem document (`application/problem+json`), for the
    /// admin API, which is not SCIM. `extra` members are added to the document.
    pub(crate) fn problem_response(
        &self,
        extra: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> HttpResponse<BoxBody> {
        let answer = self.answer();
        let mut body = serde_json::json!({
            "type": "about:blank",
            "title": answer.status.canonical_reason().unwrap_or("Error"),
            "status": answer.status.as_u16(),
            "detail": answer.detail,
        });
        if let (Some(object), Some(extra)) = (body.as_object_mut(), extra) {
            object.extend(extra.clone());
        }
        let mut response = HttpResponse::build(answer.status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Some(extra) = answer.header {
            response.insert_header(extra);
        }
        response.body(body.to_string())
    }
}

impl From<BlockingError> for ApiError {
    fn from(_: BlockingError) -> Self {
        ApiError::Blocking
    }
}

/// Lets `Store::transaction` see a store error through a handler's, to run again a transaction
/// PostgreSQL aborted for a deadlock or serialization failure.
impl TransactionError for ApiError {
    fn as_store_error(&self) -> Option<&StoreError> {
        match self {
            ApiError::Store(error) => Some(error),
            _ => None,
        }
    }
}

impl From<PayloadError> for ApiError {
    fn from(error: PayloadError) -> Self {
        match error {
            PayloadError::Overflow => ApiError::Scim(too_large(None)),
            other => ApiError::Scim(ScimError::invalid_syntax(format!(
                "the request body could not be read: {other}"
            ))),
        }
    }
}

impl From<JsonPayloadError> for ApiError {
    fn from(error: JsonPayloadError) -> Self {
        match error {
            JsonPayloadError::OverflowKnownLength { limit, .. }
            | JsonPayloadError::Overflow { limit } => ApiError::Scim(too_large(Some(limit))),
            JsonPayloadError::ContentType => ApiError::Scim(unsupported_media_type()),
            JsonPayloadError::Deserialize(error) => ApiError::Scim(invalid_json(&error)),
            JsonPayloadError::Payload(error) => ApiError::from(error),
            other => {
                tracing::error!(error = %other, "json payload failed");
                ApiError::Scim(ScimError::internal(other.to_string()))
            }
        }
    }
}

impl From<QueryPayloadError> for ApiError {
    fn from(error: QueryPayloadError) -> Self {
        ApiError::Scim(ScimError::invalid_value(format!(
            "invalid query parameters: {}",
            match &error {
                QueryPayloadError::Deserialize(inner) => inner.to_string(),
                other => other.to_string(),
            }
        )))
    }
}

impl From<PathError> for ApiError {
    fn from(_: PathError) -> Self {
        // A path segment that does not parse names no resource.
        ApiError::Scim(ScimError::not_found("no such resource"))
    }
}

/// 413 for a body over the limit (RFC 7644 §3.12 lists 413 for oversized payloads).
pub(crate) fn too_large(limit: Option<usize>) -> ScimError {
    ScimError::payload_too_large(match limit {
        Some(limit) => format!("the request body is larger than the limit of {limit} bytes"),
        None => "the request body is larger than the limit".to_owned(),
    })
}

/// 415 for a body that is not JSON.
pub(crate) fn unsupported_media_type() -> ScimError {
    ScimError::new(
        415,
        None,
        "unsupported Content-Type: send application/scim+json or application/json",
    )
}

/// 400 `invalidSyntax` for a body that is not the JSON expected, saying where.
pub(crate) fn invalid_json(error: &serde_json::Error) -> ScimError {
    ScimError::invalid_syntax(format!("the request body is not valid JSON: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let value = |d| {
            Answer::internal()
                .retry_after(d)
                .header
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        assert_eq!(value(Duration::from_millis(1)).as_deref(), Some("1"));
        assert_eq!(value(Duration::from_millis(1500)).as_deref(), Some("2"));
        assert_eq!(value(Duration::from_secs(3)).as_deref(), Some("3"));
        assert_eq!(value(Duration::ZERO).as_deref(), Some("1"));
    }

    #[test]
    fn a_non_error_status_is_answered_as_500() {
        let error = ApiError::from(ScimError::new(200, None, "oops"));
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            ApiError::from(ScimError::new(1000, None, "x")).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
