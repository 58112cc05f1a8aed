//! The service's scope: its routes, its middleware, its extractor settings, and the SCIM answers
//! for unknown paths (404) and wrong methods (405).

use actix_web::body::MessageBody;
use actix_web::dev::{HttpServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, HttpRequest, HttpResponse, Resource, ResponseError};
use scim_model::error::ScimError;

use crate::error::ApiError;
use crate::{auth, discovery, observe, ScimState};

/// The SCIM service as a scope at `path` (e.g. `/scim/v2`), to mount in an `App`.
///
/// Every request in it gets a request id and a span, is authenticated (discovery included,
/// and unknown paths too), and is answered in the negotiated media type; every failure is a
/// §3.12 error body.
pub fn scope(path: &str, state: ScimState) -> impl HttpServiceFactory {
    scope_with(path, state, |_| {})
}

/// [`scope`] plus routes of the embedding application, registered inside the scope after the
/// SCIM ones, so they share its authentication ([`crate::Authenticated`]), body extractor
/// ([`crate::ScimJson`]), errors and logging.
pub fn scope_with<F>(path: &str, state: ScimState, extra: F) -> impl HttpServiceFactory
where
    F: FnOnce(&mut web::ServiceConfig),
{
    let limit = state.config().max_body_bytes;
    let auth_state = state.clone();
    let route_state = state.clone();
    web::scope(path)
        .app_data(web::Data::new(state))
        // For handlers that use actix's own extractors: the same limits, and SCIM errors.
        .app_data(
            web::JsonConfig::default()
                .limit(limit)
                .error_handler(|error, _| ApiError::from(error).into()),
        )
        .app_data(web::PayloadConfig::new(limit))
        .app_data(
            web::QueryConfig::default().error_handler(|error, _| ApiError::from(error).into()),
        )
        .app_data(web::PathConfig::default().error_handler(|error, _| ApiError::from(error).into()))
        .configure(|cfg| routes(cfg, &route_state))
        .configure(extra)
        .default_service(web::to(not_found))
        // The last `wrap` is the outermost: observe, then the error safety net, then auth.
        .wrap(from_fn(move |req, next| {
            auth::authenticate(auth_state.clone(), req, next)
        }))
        .wrap(from_fn(scim_errors_only))
        .wrap(from_fn(observe::observe))
}

/// The SCIM routes: discovery, an endpoint per resource type `state` serves, and Bulk.
fn routes(cfg: &mut web::ServiceConfig, state: &ScimState) {
    const GET: &[Method] = &[Method::GET];
    cfg.service(
        resource("/ServiceProviderConfig", GET)
            .route(web::get().to(discovery::service_provider_config)),
    )
    .service(resource("/ResourceTypes", GET).route(web::get().to(discovery::resource_types)))
    .service(resource("/ResourceTypes/{id}", GET).route(web::get().to(discovery::resource_type)))
    .service(resource("/Schemas", GET).route(web::get().to(discovery::schemas)))
    .service(resource("/Schemas/{urn}", GET).route(web::get().to(discovery::schema)))
    .configure(|cfg| crate::resources::routes(cfg, state))
    .configure(crate::bulk::routes);
}

/// A resource at `path` whose other methods get a SCIM 405 with `Allow: allowed`. Add its
/// routes with `.route(web::get().to(handler))` etc., one per method in `allowed`.
pub fn resource(path: &str, allowed: &'static [Method]) -> Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        method_not_allowed(&req, allowed)
    }))
}

fn method_not_allowed(req: &HttpRequest, allowed: &[Method]) -> HttpResponse {
    method_not_allowed_as(req, allowed, |error| error.error_response())
}

/// The 405 for `req` with `Allow: allowed`, its error rendered by `render` (a SCIM error, or
/// the admin API's problem document).
pub(crate) fn method_not_allowed_as(
    req: &HttpRequest,
    allowed: &[Method],
    render: impl FnOnce(ApiError) -> HttpResponse,
) -> HttpResponse {
    let allow = allowed
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    let error = ApiError::from(ScimError::new(
        405,
        None,
        format!(
            "method {} is not allowed here; allowed: {allow}",
            req.method()
        ),
    ));
    let mut response = render(error);
    if let Ok(value) = header::HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// 404 for a path the service does not have. Also usable as an `App`'s default service, so
/// paths outside the service get a SCIM body too.
pub async fn not_found() -> HttpResponse {
    ApiError::from(ScimError::not_found("no such endpoint")).error_response()
}

/// The last line of defence: an error response that is not JSON (one an actix extractor or a
/// handler built by hand) is replaced by the §3.12 body with the same status and headers, so
/// no client ever sees actix's plain-text errors.
async fn scim_errors_only<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<B>>, actix_web::Error> {
    let response = next.call(req).await?;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            let essence = value.split(';').next().unwrap_or_default().trim();
            essence.eq_ignore_ascii_case(crate::media::SCIM_JSON)
                || essence.eq_ignore_ascii_case(crate::media::JSON)
        });
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return Ok(response.map_into_left_body());
    }
    let detail = match response.response().error() {
        Some(error) if status.is_client_error() => error.to_string(),
        Some(error) => {
            tracing::error!(%error, "unhandled error response");
            crate::error::INTERNAL_DETAIL.to_owned()
        }
        None => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    let (req, original) = response.into_parts();
    let mut replacement =
        ApiError::from(ScimError::new(status.as_u16(), None, detail)).error_response();
    // Keep the original's headers (Allow, Retry-After, …) unless the SCIM body sets its own.
    let own: Vec<header::HeaderName> = replacement.headers().keys().cloned().collect();
    for (name, value) in original.headers() {
        if !own.contains(name) && name != header::CONTENT_LENGTH {
            replacement
                .headers_mut()
                .append(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, replacement).map_into_right_body())
}
