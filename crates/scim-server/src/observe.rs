//! The outermost middleware: a request id and a `tracing` span per request, one log line when
//! it completes, and the response's media type chosen from `Accept` (see [`crate::media`]).
//!
//! The span records the request id, method, path (never the query, which may carry a
//! userName) and, once authenticated, the organisation; the closing event adds status and
//! latency. Headers are never logged, so neither is
//! `Authorization`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;

use crate::media::{MediaType, SCIM_JSON};

/// `X-Request-Id`: taken from the request when it is a sane token, else generated; always
/// echoed on the response, so a client's report can be found in the logs.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request id taken from a client.
const MAX_REQUEST_ID_LEN: usize = 64;

/// The path the service is mounted at (e.g. `/scim/v2`), as routed for this request.
#[derive(Debug, Clone)]
pub(crate) struct MountPath(pub(crate) String);

/// The request id of the request being served, in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

pub(crate) async fn observe<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let started = Instant::now();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_else(|| incoming_request_id(&req));
    // Here, inside the service's scope but before its own routing, the router has consumed
    // exactly the mount path.
    let mount = {
        let path = req.match_info();
        let full = path.as_str();
        let consumed = full.len().saturating_sub(path.unprocessed().len());
        full.get(..consumed).unwrap_or_default().to_owned()
    };
    let media = MediaType::negotiate(
        req.headers()
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok()),
    );
    let span = tracing::info_span!(
        "scim_request",
        request_id = %request_id,
        method = %req.method(),
        path = %req.path(),
        org = tracing::field::Empty,
    );
    req.extensions_mut().insert(MountPath(mount));
    req.extensions_mut().insert(RequestId(request_id.clone()));

    let method = req.method().as_str().to_owned();
    let result = next.call(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    match result {
        Ok(mut response) => {
            // The route's pattern, never the path: ids and filters are no label values.
            let route = response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned());
            let status = response.status().as_u16().to_string();
            metrics::counter!(
                "scim_http_requests_total",
                "route" => route.clone(),
                "method" => method.clone(),
                "status" => status
            )
            .increment(1);
            metrics::histogram!(
                "scim_http_request_duration_seconds",
                "route" => route,
                "method" => method
            )
            .record(elapsed.as_secs_f64());
            let headers = response.headers_mut();
            if media == MediaType::Json
                && headers
                    .get(header::CONTENT_TYPE)
                    .is_some_and(|value| value.as_bytes() == SCIM_JSON.as_bytes())
            {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(media.as_str()),
                );
            }
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                headers.insert(REQUEST_ID, value);
            }
            let status = response.status().as_u16();
            span.in_scope(|| tracing::info!(status, latency_ms, "request completed"));
            Ok(response)
        }
        Err(error) => {
            let status = error.as_response_error().status_code().as_u16();
            span.in_scope(|| tracing::info!(status, latency_ms, "request failed"));
            Err(error)
        }
    }
}

/// Middleware giving every response of an `App` an `X-Request-Id`, for the routes outside
/// [`crate::scope`] (which sets its own, and logs it): the admin API, the console, OAuth,
/// health checks. Wrap the whole `App` in it (`App::new().wrap(from_fn(request_ids))`); the
/// SCIM scope then reuses its id, so one request has one id.
///
/// # Errors
/// An error of the inner service, passed on. Handlers' errors reach here as responses already
/// (actix renders them at the route), as do every error of this crate's scopes; an error left
/// as such has no request to build a response with here, since holding a second handle on the
/// request would stop actix's router from matching it.
pub async fn request_ids<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, Error> {
    let request_id = incoming_request_id(&req);
    req.extensions_mut().insert(RequestId(request_id.clone()));
    let mut response = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// The client's request id when it sent a sane one, else a new one.
fn incoming_request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_sane_request_id(id))
        .map_or_else(generate_request_id, str::to_owned)
}

fn is_sane_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// 32 hex digits from the OS CSPRNG; a time-and-counter id if that fails.
fn generate_request_id() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        return format!("{nanos:x}-{:x}", COUNTER.fetch_add(1, Ordering::Relaxed));
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_checked_and_generated() {
        assert!(is_sane_request_id("abc-123_x.y:z"));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id("a b"));
        assert!(!is_sane_request_id("a\nb"));
        assert!(!is_sane_request_id(&"a".repeat(65)));
        let id = generate_request_id();
        assert_eq!(id.len(), 32);
        assert!(is_sane_request_id(&id));
        assert_ne!(id, generate_request_id());
    }
}
