//! The discovery endpoints (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes` and
//! `/Schemas`, built from the served registry and the configuration, so they advertise exactly
//! what works.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use scim_model::error::ScimError;
use scim_model::message::{
    AuthenticationScheme, BulkConfig, FilterConfig, ListResponse, ServiceProviderConfig, Supported,
};
use scim_model::meta::Meta;
use scim_model::schema::{ResourceType, Schema};

use crate::auth::Authenticated;
use crate::error::ApiError;
use crate::media::respond;
use crate::ScimState;

// What the service supports. Each flag says whether the feature works end to end; the change
// that makes one work flips it.
/// PATCH (RFC 7644 §3.5.2).
const PATCH: bool = true;
/// Bulk (RFC 7644 §3.7).
const BULK: bool = true;
/// Filtering (RFC 7644 §3.4.2.2).
const FILTER: bool = true;
/// Password change (RFC 7643 §5).
const CHANGE_PASSWORD: bool = false;
/// Sorting (RFC 7644 §3.4.2.3).
const SORT: bool = true;
/// ETags (RFC 7644 §3.14).
const ETAG: bool = true;

/// RFC 7644 §4: discovery ignores query parameters, but "if a 'filter' is provided, the service
/// provider SHOULD respond with HTTP status code 403 (Forbidden)", so a client cannot believe a
/// filter was applied.
fn refuse_filter(req: &HttpRequest) -> Result<(), ApiError> {
    let has_filter = req.query_string().split('&').any(|pair| {
        let key = pair.split_once('=').map_or(pair, |(key, _)| key);
        key.eq_ignore_ascii_case("filter")
    });
    if has_filter {
        return Err(
            ScimError::forbidden("filtering is not supported on discovery endpoints").into(),
        );
    }
    Ok(())
}

/// `GET /ServiceProviderConfig` (RFC 7644 §4, RFC 7643 §5).
pub(crate) async fn service_provider_config(
    _auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    refuse_filter(&req)?;
    let config = state.config();
    let body = ServiceProviderConfig {
        schemas: vec![scim_model::message::SERVICE_PROVIDER_CONFIG.to_owned()],
        documentation_uri: config.documentation_uri.clone(),
        patch: Supported::new(PATCH),
        bulk: BulkConfig {
            supported: BULK,
            max_operations: u32::try_from(config.bulk.max_operations).unwrap_or(u32::MAX),
            max_payload_size: u64::try_from(config.bulk.max_payload_bytes).unwrap_or(u64::MAX),
        },
        filter: FilterConfig {
            supported: FILTER,
            max_results: config.max_page_size,
        },
        change_password: Supported::new(CHANGE_PASSWORD),
        sort: Supported::new(SORT),
        etag: Supported::new(ETAG),
        authentication_schemes: vec![AuthenticationScheme::oauth_bearer_token()],
        pagination: Some(crate::resources::pagination(config)),
        // Interop profile §4: true where this organisation runs under the profile's rules, else
        // absent ("omit it or set it false"): clients that validate the RFC 7643 §5 document
        // strictly (scim2-tester among them) refuse an attribute it does not define.
        interop_profile_conformant: actix_web::HttpMessage::extensions(&req)
            .get::<crate::state::OrgSettings>()
            .is_some_and(|settings| settings.strict)
            .then_some(true),
        meta: Some(
            Meta::of_type("ServiceProviderConfig")
                .with_location(state.location(&req, &["ServiceProviderConfig"])),
        ),
    };
    respond(StatusCode::OK, &body)
}

fn served_resource_type(
    state: &ScimState,
    req: &HttpRequest,
    definition: &ResourceType,
) -> ResourceType {
    let mut served = definition.clone();
    // This server's ResourceType ids are their names (RFC 7643 §6 leaves the id to it).
    served.id = Some(served.name.clone());
    served.meta = Some(
        Meta::of_type("ResourceType")
            .with_location(state.location(req, &["ResourceTypes", &served.name])),
    );
    served
}

/// `GET /ResourceTypes` (RFC 7644 §4, RFC 7643 §6): a ListResponse of every served type.
pub(crate) async fn resource_types(
    _auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    refuse_filter(&req)?;
    let types: Vec<ResourceType> = state
        .registry()
        .resource_types()
        .map(|view| served_resource_type(&state, &req, view.definition()))
        .collect();
    let total = u64::try_from(types.len()).unwrap_or(u64::MAX);
    respond(StatusCode::OK, &ListResponse::new(types, total, 1))
}

/// `GET /ResourceTypes/{id}`: one served type, by id (= name), case-insensitively.
pub(crate) async fn resource_type(
    _auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    refuse_filter(&req)?;
    let view = state
        .registry()
        .resource_type(&id)
        .ok_or_else(|| ScimError::not_found(format!("no resource type `{id}`")))?;
    respond(
        StatusCode::OK,
        &served_resource_type(&state, &req, view.definition()),
    )
}

fn served_schema(state: &ScimState, req: &HttpRequest, schema: &Schema) -> Schema {
    schema.clone().with_meta(
        Meta::of_type("Schema").with_location(state.location(req, &["Schemas", schema.id()])),
    )
}

/// `GET /Schemas` (RFC 7644 §4, RFC 7643 §7): the schemas the served resource types use.
pub(crate) async fn schemas(
    _auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    refuse_filter(&req)?;
    // The served registry holds only the served types' schemas (see `SERVED_RESOURCE_TYPES`).
    let schemas: Vec<Schema> = state
        .registry()
        .schemas()
        .iter()
        .map(|schema| served_schema(&state, &req, schema))
        .collect();
    let total = u64::try_from(schemas.len()).unwrap_or(u64::MAX);
    respond(StatusCode::OK, &ListResponse::new(schemas, total, 1))
}

/// `GET /Schemas/{urn}`: one schema by its URN, case-insensitively.
pub(crate) async fn schema(
    _auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    urn: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    refuse_filter(&req)?;
    let schema = state
        .registry()
        .schema(&urn)
        .ok_or_else(|| ScimError::not_found(format!("no schema `{urn}`")))?;
    respond(StatusCode::OK, &served_schema(&state, &req, schema))
}
