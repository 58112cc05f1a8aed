//! JSON in and out: the request body extractor and the response helpers, and which media type
//! a response is labelled with.
//!
//! RFC 7644 §3.1 and §8.1: SCIM messages are `application/scim+json`, and clients may send and
//! accept `application/json` too. Requests are accepted as either, with or without
//! `; charset=utf-8`, in any case (IDP-QUIRKS §0). Responses are `application/scim+json` (the
//! media type's registration defines no parameters, so none is added), except that a client
//! whose `Accept` prefers `application/json` (OneLogin requires it) gets `application/json`. The
//! service's middleware applies that choice to every response, errors included, so handlers
//! always answer with [`respond`] / [`scim_response`] and never think about it.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{to_bytes_limited, BodyStream};
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, HttpResponseBuilder, Responder};
use scim_model::error::ScimError;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{invalid_json, too_large, unsupported_media_type, ApiError};
use crate::{ScimState, ServerConfig};

/// `application/scim+json` (RFC 7644 §8.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// `application/json`.
pub const JSON: &str = "application/json";

/// The media type a response is labelled with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MediaType {
    /// `application/scim+json`: the default.
    #[default]
    ScimJson,
    /// `application/json`, for clients whose `Accept` prefers it.
    Json,
}

impl MediaType {
    /// The media type as written in `Content-Type`.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::ScimJson => SCIM_JSON,
            MediaType::Json => JSON,
        }
    }

    /// The media type to answer a request with `Accept: accept` (`None` when absent).
    ///
    /// Each candidate gets the quality of the most specific range that matches it (RFC 9110
    /// §12.5.1); `application/json` wins only with a strictly higher quality, so a client that
    /// accepts both, or anything, or sends nothing usable, gets `application/scim+json`. An
    /// `Accept` that allows neither is not refused with 406: JSON is all this service speaks,
    /// and answering it is more useful (RFC 9110 allows disregarding `Accept`).
    ///
    /// ```
    /// use scim_server::MediaType;
    ///
    /// assert_eq!(MediaType::negotiate(None), MediaType::ScimJson);
    /// assert_eq!(MediaType::negotiate(Some("application/json")), MediaType::Json);
    /// assert_eq!(
    ///     MediaType::negotiate(Some("application/json, application/scim+json")),
    ///     MediaType::ScimJson
    /// );
    /// assert_eq!(
    ///     MediaType::negotiate(Some("application/scim+json;q=0.5, application/json")),
    ///     MediaType::Json
    /// );
    /// ```
    pub fn negotiate(accept: Option<&str>) -> MediaType {
        let Some(accept) = accept else {
            return MediaType::ScimJson;
        };
        let scim = quality(accept, "application", "scim+json");
        let json = quality(accept, "application", "json");
        match (scim, json) {
            (scim, Some(json)) if json > scim.unwrap_or(0) => MediaType::Json,
            _ => MediaType::ScimJson,
        }
    }

    /// The media type to answer `req` with, from its `Accept` header.
    pub fn of_request(req: &HttpRequest) -> MediaType {
        MediaType::negotiate(
            req.headers()
                .get(header::ACCEPT)
                .and_then(|value| value.to_str().ok()),
        )
    }
}

/// The quality (in thousandths) `accept` gives `kind/subtype`, from its most specific matching
/// range; `None` when no range matches.
fn quality(accept: &str, kind: &str, subtype: &str) -> Option<u16> {
    // (specificity, quality) of the best match so far: 2 exact, 1 `kind/*`, 0 `*/*`.
    let mut best: Option<(u8, u16)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or_default().trim();
        let Some((range_kind, range_subtype)) = essence.split_once('/') else {
            continue;
        };
        let (range_kind, range_subtype) = (range_kind.trim(), range_subtype.trim());
        let specificity = if range_kind == "*" && range_subtype == "*" {
            0
        } else if range_kind.eq_ignore_ascii_case(kind) && range_subtype == "*" {
            1
        } else if range_kind.eq_ignore_ascii_case(kind)
            && range_subtype.eq_ignore_ascii_case(subtype)
        {
            2
        } else {
            continue;
        };
        let q = parts
            .filter_map(|param| param.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .map_or(1000, |(_, value)| parse_qvalue(value.trim()));
        if best.is_none_or(|(known, _)| specificity > known) {
            best = Some((specificity, q));
        }
    }
    best.map(|(_, q)| q)
}

/// An RFC 9110 §12.4.2 qvalue in thousandths; anything unreadable counts as 1 rather than
/// making the range unacceptable.
fn parse_qvalue(value: &str) -> u16 {
    match value.parse::<f32>() {
        // Clamped to 0..=1 first, so the cast cannot truncate; rounding keeps 0.001 steps.
        Ok(q) if q.is_finite() => (q.clamp(0.0, 1.0) * 1000.0).round() as u16,
        _ => 1000,
    }
}

/// A response builder with `status` and `Content-Type: application/scim+json`, for handlers
/// that add headers (`Location`, `ETag`) before the body.
///
/// ```
/// use actix_web::http::{header, StatusCode};
///
/// let response = scim_server::scim_response(StatusCode::CREATED)
///     .insert_header((header::LOCATION, "https://x.example/scim/v2/Users/1"))
///     .body(r#"{"id":"1"}"#);
/// assert_eq!(response.status(), StatusCode::CREATED);
/// ```
pub fn scim_response(status: StatusCode) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON)));
    builder
}

/// `body` as a JSON response with `status`.
///
/// # Errors
/// [`ApiError`] (answered as an opaque 500) if `body` cannot be serialised, which only a
/// `Serialize` impl that fails on purpose does.
pub fn respond<T: Serialize + ?Sized>(
    status: StatusCode,
    body: &T,
) -> Result<HttpResponse, ApiError> {
    let bytes = serde_json::to_vec(body)
        .map_err(|error| ScimError::internal(format!("response serialisation failed: {error}")))?;
    Ok(scim_response(status).body(bytes))
}

/// A JSON request body (as extractor) or a 200 JSON response (as responder).
///
/// As an extractor it enforces what actix's `web::Json` leaves loose: `Content-Type` must be
/// `application/scim+json` or `application/json` (any case, `charset` only `utf-8`) or absent,
/// else 415; the body may not exceed [`ServerConfig::max_body_bytes`], else 413 (refused from
/// `Content-Length` before reading when it says so); and a body that is not the JSON expected is
/// 400 `invalidSyntax` with serde's description of where it went wrong.
///
/// ```no_run
/// use scim_server::{ApiError, Authenticated, ScimJson};
///
/// async fn echo(_auth: Authenticated, body: ScimJson<serde_json::Value>) -> Result<ScimJson<serde_json::Value>, ApiError> {
///     Ok(ScimJson(body.into_inner()))
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimJson<T>(pub T);

impl<T> ScimJson<T> {
    /// The value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for ScimJson<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for ScimJson<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for ScimJson<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = req.app_data::<web::Data<ScimState>>().map_or_else(
            || ServerConfig::default().max_body_bytes,
            |state| state.config().max_body_bytes,
        );
        let checked = check_content_type(req).and_then(|()| check_declared_length(req, limit));
        let payload = payload.take();
        Box::pin(async move {
            checked?;
            let bytes = match to_bytes_limited(BodyStream::new(payload), limit).await {
                Ok(Ok(bytes)) => bytes,
                Ok(Err(error)) => return Err(ApiError::from(error)),
                Err(_) => return Err(too_large(Some(limit)).into()),
            };
            serde_json::from_slice(&bytes)
                .map(ScimJson)
                .map_err(|error| invalid_json(&error).into())
        })
    }
}

impl<T: Serialize> Responder for ScimJson<T> {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _req: &HttpRequest) -> HttpResponse {
        match respond(StatusCode::OK, &self.0) {
            Ok(response) => response,
            Err(error) => actix_web::ResponseError::error_response(&error),
        }
    }
}

/// Reads a JSON request body of at most `limit` bytes, as [`ScimJson`] does with
/// [`ServerConfig::max_body_bytes`]: for a handler whose body has a limit of its own (a bulk
/// request's `maxPayloadSize`). 415 for a type that is not JSON; 413 from `Content-Length`
/// before reading, or as soon as the streamed body passes `limit`.
///
/// # Errors
/// The 413, 415, or 400 `invalidSyntax` for a body that cannot be read.
pub(crate) async fn read_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    check_content_type(req)?;
    check_declared_length(req, limit)?;
    match to_bytes_limited(BodyStream::new(payload), limit).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => Err(ApiError::from(error)),
        Err(_) => Err(too_large(Some(limit)).into()),
    }
}

/// 415 unless `Content-Type` is absent or a JSON type this service reads.
fn check_content_type(req: &HttpRequest) -> Result<(), ScimError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        // RFC 7644 §3.8 has clients send a type; one that forgets is still understood.
        return Ok(());
    };
    let value = value.to_str().map_err(|_| unsupported_media_type())?;
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !(essence.eq_ignore_ascii_case(SCIM_JSON) || essence.eq_ignore_ascii_case(JSON)) {
        return Err(unsupported_media_type());
    }
    for param in parts {
        let Some((name, value)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("charset") {
            let charset = value.trim().trim_matches('"');
            if !(charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")) {
                return Err(ScimError::new(
                    415,
                    None,
                    "unsupported charset: JSON requests must be UTF-8",
                ));
            }
        }
    }
    Ok(())
}

/// 413 before reading when `Content-Length` already says the body is too large.
fn check_declared_length(req: &HttpRequest, limit: usize) -> Result<(), ScimError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > u64::try_from(limit).unwrap_or(u64::MAX) => {
            Err(too_large(Some(limit)))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation_follows_quality_and_specificity() {
        let n = |accept| MediaType::negotiate(Some(accept));
        assert_eq!(n(""), MediaType::ScimJson);
        assert_eq!(n("*/*"), MediaType::ScimJson);
        assert_eq!(n("application/*"), MediaType::ScimJson);
        assert_eq!(n("text/html"), MediaType::ScimJson);
        assert_eq!(n("APPLICATION/JSON"), MediaType::Json);
        assert_eq!(n("application/json; charset=utf-8"), MediaType::Json);
        assert_eq!(n("application/scim+json"), MediaType::ScimJson);
        assert_eq!(n("application/json, */*;q=0.1"), MediaType::Json);
        assert_eq!(
            n("application/json;q=0.5, application/*"),
            MediaType::ScimJson
        );
        assert_eq!(
            n("application/json;q=0.9, application/scim+json;q=0.9"),
            MediaType::ScimJson
        );
        assert_eq!(
            n("application/scim+json;q=0, application/json"),
            MediaType::Json
        );
        assert_eq!(n("application/json;q=0"), MediaType::ScimJson);
        assert_eq!(n("application/json;q=oops"), MediaType::Json);
        assert_eq!(n("garbage, ;;, /, application/json"), MediaType::Json);
    }

    #[test]
    fn qvalues_are_clamped() {
        assert_eq!(parse_qvalue("0.5"), 500);
        assert_eq!(parse_qvalue("7"), 1000);
        assert_eq!(parse_qvalue("-1"), 0);
        assert_eq!(parse_qvalue("NaN"), 1000);
        assert_eq!(parse_qvalue("0.001"), 1);
    }
}
