//! `/Users` (RFC 7644 §3.3 create, §3.4.1 get, §3.4.2 list, §3.4.3 search, §3.5.1 replace,
//! §3.5.2 modify, §3.6 delete): short handlers that parse, call the model and the store in
//! one transaction, and render.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use scim_filter::{ParseOptions, PatchPath};
use scim_model::error::ScimError;
use scim_model::filter::CompiledFilter;
use scim_model::message::{ListResponse, PatchRequest, SearchRequest, SortOrder};
use scim_model::patch::{self, PatchOptions};
use scim_model::project::{project, Projection};
use scim_model::schema::{ResourceTypeView, SchemaRegistry};
use scim_model::validate::{validate_create, validate_replace, ValidationOptions};
use scim_model::value::format_date_time;
use scim_store::filter_sql::UserFilterSql;
use scim_store::user_documents::UserColumns;
use scim_store::users::{self, UserQuery, UserRecord};
use scim_store::{DbConnection, OrgId, SqlFragment, StoreError};
use serde_json::{json, Map, Value};

use crate::{resource, scim_response, ApiError, Authenticated, ScimJson, ScimState, StoreVerifier};

const USER: &str = "User";

/// Registers the `/Users` endpoints.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    const COLLECTION: &[Method] = &[Method::GET, Method::POST];
    const SEARCH: &[Method] = &[Method::POST];
    const ONE: &[Method] = &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE];
    cfg.service(
        resource("/Users", COLLECTION)
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(resource("/Users/.search", SEARCH).route(web::post().to(search)))
    // RFC 7644 §3.4.3: a search at the root covers every resource type the server serves;
    // Users are the only one today, so it is the Users search. Serving a second type must
    // turn this into a merged search.
    .service(resource("/.search", SEARCH).route(web::post().to(search)))
    .service(
        resource("/Users/{id}", ONE)
            .route(web::get().to(get))
            .route(web::put().to(replace))
            .route(web::patch().to(modify))
            .route(web::delete().to(delete)),
    );
}

/// The User resource type of the served registry.
fn user_type(registry: &SchemaRegistry) -> Result<ResourceTypeView<'_>, ApiError> {
    registry
        .resource_type(USER)
        .ok_or_else(|| ScimError::internal("the User resource type is not registered").into())
}

/// Query parameters, matched case-insensitively by name (IdPs vary in how they spell them).
struct Params(Vec<(String, String)>);

impl Params {
    fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        let pairs =
            web::Query::<Vec<(String, String)>>::from_query(req.query_string()).map_err(|e| {
                ScimError::invalid_syntax(format!("the query string is malformed: {e}"))
            })?;
        Ok(Params(pairs.into_inner()))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|text| {
                text.trim().parse::<i64>().map_err(|_| {
                    ApiError::from(ScimError::invalid_value(format!(
                        "`{name}` must be an integer, not {text:?}"
                    )))
                })
            })
            .transpose()
    }

    fn projection<'r>(&self, rt: ResourceTypeView<'r>) -> Result<Projection<'r>, ApiError> {
        Ok(Projection::parse(
            self.get("attributes"),
            self.get("excludedAttributes"),
            rt,
        )?)
    }

    fn search_request(&self) -> Result<SearchRequest, ApiError> {
        let sort_order = match self.get("sortOrder") {
            None => None,
            Some(order) if order.eq_ignore_ascii_case("ascending") => Some(SortOrder::Ascending),
            Some(order) if order.eq_ignore_ascii_case("descending") => Some(SortOrder::Descending),
            Some(other) => {
                return Err(ScimError::invalid_value(format!(
                    "`sortOrder` must be \"ascending\" or \"descending\", not {other:?}"
                ))
                .into())
            }
        };
        Ok(SearchRequest {
            filter: self.get("filter").map(str::to_owned),
            sort_by: self.get("sortBy").map(str::to_owned),
            sort_order,
            start_index: self.integer("startIndex")?,
            count: self.integer("count")?,
            ..SearchRequest::default()
        })
    }
}

/// `W/"<version>"`, the ETag and `meta.version` of a stored version (RFC 7644 §3.14).
fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The versions named by an `If-Match` header: `None` when absent or `*`; a version that can
/// match nothing (-1) when the header names no version this server issued.
fn if_match(req: &HttpRequest) -> Option<i64> {
    let value = req.headers().get(header::IF_MATCH)?.to_str().unwrap_or("");
    if value.trim() == "*" {
        return None;
    }
    Some(value.split(',').find_map(parse_etag).unwrap_or(-1))
}

fn parse_etag(tag: &str) -> Option<i64> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}

/// Whether `If-None-Match` names `version` (RFC 7232 §3.2; weak comparison).
fn none_match_hits(req: &HttpRequest, version: i64) -> bool {
    let Some(value) = req.headers().get(header::IF_NONE_MATCH) else {
        return false;
    };
    let value = value.to_str().unwrap_or("");
    value.trim() == "*"
        || value
            .split(',')
            .filter_map(parse_etag)
            .any(|v| v == version)
}

/// The stored document of `record`. A row that is not JSON is corruption, not a client's
/// mistake: an opaque 500, logged.
fn stored_document(record: &UserRecord) -> Result<Value, ApiError> {
    serde_json::from_str(&record.document).map_err(|e| {
        ScimError::internal(format!("stored user {} is not JSON: {e}", record.id)).into()
    })
}

/// The resource as a client reads it: the stored `document` with `id` and `meta`.
fn with_id_and_meta(document: Value, record: &UserRecord, location: String) -> Value {
    let Value::Object(mut object) = document else {
        return json!({"id": record.id});
    };
    let mut out = Map::with_capacity(object.len() + 2);
    if let Some(schemas) = object.remove("schemas") {
        out.insert("schemas".into(), schemas);
    }
    out.insert("id".into(), Value::String(record.id.clone()));
    out.extend(object);
    out.insert(
        "meta".into(),
        json!({
            "resourceType": USER,
            "created": format_date_time(&record.created.into()),
            "lastModified": format_date_time(&record.last_modified.into()),
            "location": location,
            "version": etag(record.version),
        }),
    );
    Value::Object(out)
}

/// [`with_id_and_meta`] of the record's stored document.
fn resource_of(record: &UserRecord, location: String) -> Result<Value, ApiError> {
    Ok(with_id_and_meta(stored_document(record)?, record, location))
}

/// A response carrying one user: projected, with `ETag` and, on creation, `Location`.
fn user_response(
    state: &ScimState,
    req: &HttpRequest,
    status: StatusCode,
    record: &UserRecord,
    rt: ResourceTypeView<'_>,
    projection: &Projection<'_>,
) -> Result<HttpResponse, ApiError> {
    let location = state.location(req, &["Users", &record.id]);
    let body = project(&resource_of(record, location.clone())?, rt, projection);
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| ScimError::internal(format!("response serialisation failed: {e}")))?;
    let mut response = scim_response(status);
    response.insert_header((header::ETAG, etag(record.version)));
    if status == StatusCode::CREATED {
        response.insert_header((header::LOCATION, location));
    }
    Ok(response.body(bytes))
}

fn not_found(id: &str) -> ApiError {
    ScimError::not_found(format!("no User with id {id:?}")).into()
}

/// The top-level attribute names of a stored document, for the audit trail.
fn attribute_names(document: &Value) -> Vec<String> {
    document
        .as_object()
        .map(|o| o.keys().filter(|k| *k != "schemas").cloned().collect())
        .unwrap_or_default()
}

async fn create(
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    body: ScimJson<Value>,
) -> Result<HttpResponse, ApiError> {
    let registry = state.registry().clone();
    let rt = user_type(&registry)?;
    let projection = Params::of(&req)?.projection(rt)?;
    let mut document = validate_create(&body, rt, &ValidationOptions::default())?;
    let attributes = attribute_names(&document);
    let token = auth.token_id.as_str().to_owned();
    let org = auth.org;
    let verifier = state.verifier().clone();
    let reg = registry.clone();
    let record = state
        .transaction(move |conn| {
            hash_password(&mut document, &verifier)?;
            let columns = UserColumns::derive(&document, user_type(&reg)?);
            let new = columns.into_new_user(new_id(), Some(token), attributes);
            Ok(users::create(conn, org, &new)?)
        })
        .await?;
    user_response(&state, &req, StatusCode::CREATED, &record, rt, &projection)
}

/// RFC 7643 §4.1.1: a password "SHOULD" be stored hashed. A plain `password` becomes its
/// argon2id hash, made by the verifier under its cap on concurrent hashes; one that already is
/// a hash (the stored value, carried over by a PUT or PATCH that did not set it) is kept. Runs
/// on the blocking thread of the write.
fn hash_password(document: &mut Value, verifier: &StoreVerifier) -> Result<(), ApiError> {
    let Some(Value::String(password)) = document.get_mut("password") else {
        return Ok(());
    };
    if !scim_auth::is_argon2id_phc(password) {
        *password = verifier.hash_password(password)?;
    }
    Ok(())
}

/// A fresh resource id: a random UUID (version 4), opaque and stable (RFC 7643 §3.1).
fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn get(
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let registry = state.registry().clone();
    let rt = user_type(&registry)?;
    let projection = Params::of(&req)?.projection(rt)?;
    let id = id.into_inner();
    let org = auth.org;
    let lookup = id.clone();
    let record = state
        .with_conn(move |conn| Ok(users::get(conn, org, &lookup)?))
        .await?
        .ok_or_else(|| not_found(&id))?;
    if none_match_hits(&req, record.version) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag(record.version)))
            .finish());
    }
    user_response(&state, &req, StatusCode::OK, &record, rt, &projection)
}

async fn list(
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::of(&req)?;
    let search = params.search_request()?;
    let registry = state.registry().clone();
    let rt = user_type(&registry)?;
    let projection = params.projection(rt)?;
    run_search(auth.org, &state, &req, rt, &search, &projection).await
}

async fn search(
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    body: ScimJson<SearchRequest>,
) -> Result<HttpResponse, ApiError> {
    let search = body.into_inner();
    let registry = state.registry().clone();
    let rt = user_type(&registry)?;
    let projection = Projection::from_lists(&search.attributes, &search.excluded_attributes, rt)?;
    run_search(auth.org, &state, &req, rt, &search, &projection).await
}

/// Filters, sorts and pages users (RFC 7644 §3.4.2.2–§3.4.2.4).
async fn run_search(
    org: OrgId,
    state: &ScimState,
    req: &HttpRequest,
    rt: ResourceTypeView<'_>,
    search: &SearchRequest,
    projection: &Projection<'_>,
) -> Result<HttpResponse, ApiError> {
    let config = state.config();
    let translator = UserFilterSql::new(
        state.store().dialect(),
        org,
        Some(format!("{}/", state.location(req, &["Users"]))),
    );
    let filter: Option<SqlFragment> = match search.filter.as_deref() {
        None => None,
        Some(text) if text.trim().is_empty() => None,
        Some(text) => {
            // Entra ID's documentation sends `externalId eq jyoung`, unquoted.
            let options = ParseOptions {
                allow_unquoted_values: true,
                ..ParseOptions::default()
            };
            let parsed = options
                .parse(text)
                .map_err(|e| ScimError::invalid_filter(e.to_string()))?;
            Some(translator.condition(&CompiledFilter::compile(&parsed, rt)?))
        }
    };
    let order_by = match search.sort_by.as_deref() {
        None => None,
        Some(text) => {
            let attr = match scim_filter::parse_path(text) {
                Ok(PatchPath::Attr(attr)) => attr,
                _ => {
                    return Err(ScimError::invalid_value(format!(
                        "`sortBy` must be an attribute path, not {text:?}"
                    ))
                    .into())
                }
            };
            let resolved = rt
                .resolve(attr.urn.as_deref(), &attr.name, attr.sub_attr.as_deref())
                .map_err(|e| ScimError::invalid_value(format!("`sortBy`: {e}")))?;
            // Sorting by a never-returned value (`password`) would reveal its order.
            if resolved.target().returned() == scim_model::schema::Returned::Never {
                return Err(ScimError::invalid_value(format!(
                    "`sortBy`: `{resolved}` is never returned, so results cannot be sorted by it"
                ))
                .into());
            }
            let descending = search.sort_order == Some(SortOrder::Descending);
            Some(translator.order_by(&resolved, descending))
        }
    };
    // RFC 7644 §3.4.2.4: startIndex below 1 means 1; a negative count means 0; above the
    // advertised maximum, fewer results than asked.
    let start_index = search.start_index.unwrap_or(1).max(1);
    let count = search
        .count
        .unwrap_or(i64::from(config.default_page_size))
        .clamp(0, i64::from(config.max_page_size));
    let query = UserQuery {
        filter,
        order_by,
        offset: start_index - 1,
        limit: count,
    };
    let page = state
        .with_conn(move |conn| Ok(users::list(conn, org, &query)?))
        .await?;
    let resources: Vec<Value> = page
        .items
        .iter()
        .map(|record| {
            let location = state.location(req, &["Users", &record.id]);
            Ok(project(&resource_of(record, location)?, rt, projection))
        })
        .collect::<Result<_, ApiError>>()?;
    let total = u64::try_from(page.total).unwrap_or(0);
    let start = u64::try_from(start_index).unwrap_or(1);
    let body = ListResponse::new(resources, total, start);
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| ScimError::internal(format!("response serialisation failed: {e}")))?;
    Ok(scim_response(StatusCode::OK).body(bytes))
}

async fn replace(
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: ScimJson<Value>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    rewrite(
        auth,
        &state,
        &req,
        id.into_inner(),
        move |rt, _existing, stored| {
            let document = validate_replace(&body, stored, rt, &ValidationOptions::default())?;
            let attributes = attribute_names(&document);
            Ok(Some((document, attributes)))
        },
    )
    .await
}

async fn modify(
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: ScimJson<PatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner();
    let location = state.location(&req, &["Users", &id]);
    rewrite(
        auth,
        &state,
        &req,
        id.into_inner(),
        move |rt, existing, stored| {
            // The engine sees what the client sees, so `id` sent alongside (Okta) matches.
            let patched = patch::apply(
                &with_id_and_meta(stored.clone(), existing, location),
                &request,
                rt,
                &PatchOptions::default(),
            )?;
            if !patched.changed {
                return Ok(None);
            }
            let document =
                validate_replace(&patched.resource, stored, rt, &ValidationOptions::default())?;
            Ok(Some((document, patched.attributes)))
        },
    )
    .await
}

/// What a PUT or PATCH makes of the current user: the new document and the attribute names
/// for the audit trail, or `None` when nothing changes.
type Rewritten = Option<(Value, Vec<String>)>;

/// Reads the user, lets `change` compute its new document and writes it, in one transaction,
/// honouring `If-Match`; answers 200 with the result, or 204 under `Prefer: return=minimal`.
async fn rewrite<F>(
    auth: Authenticated,
    state: &ScimState,
    req: &HttpRequest,
    id: String,
    change: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(ResourceTypeView<'_>, &UserRecord, &Value) -> Result<Rewritten, ApiError>
        + Send
        + 'static,
{
    let registry = state.registry().clone();
    let projection = Params::of(req)?.projection(user_type(&registry)?)?;
    let expected = if_match(req);
    let token = auth.token_id.as_str().to_owned();
    let org = auth.org;
    let verifier = state.verifier().clone();
    let reg = registry.clone();
    let record = state
        .transaction(move |conn| {
            let rt = user_type(&reg)?;
            let existing = current(conn, org, &id, expected)?;
            let stored = stored_document(&existing)?;
            let Some((mut document, attributes)) = change(rt, &existing, &stored)? else {
                return Ok(existing);
            };
            hash_password(&mut document, &verifier)?;
            let update = UserColumns::derive(&document, rt).into_update(Some(token), attributes);
            Ok(users::replace(
                conn,
                org,
                &id,
                Some(existing.version),
                &update,
            )?)
        })
        .await?;
    if prefers_minimal(req) {
        return Ok(HttpResponse::NoContent()
            .insert_header((header::ETAG, etag(record.version)))
            .finish());
    }
    user_response(
        state,
        req,
        StatusCode::OK,
        &record,
        user_type(&registry)?,
        &projection,
    )
}

/// The live user `id`, checked against `If-Match`.
fn current(
    conn: &mut DbConnection,
    org: OrgId,
    id: &str,
    expected: Option<i64>,
) -> Result<UserRecord, ApiError> {
    let record = users::get(conn, org, id)?.ok_or_else(|| not_found(id))?;
    if let Some(expected) = expected {
        if expected != record.version {
            return Err(StoreError::VersionMismatch {
                current: record.version,
            }
            .into());
        }
    }
    Ok(record)
}

/// `Prefer: return=minimal` (RFC 7240): the client wants no body, so a PATCH (RFC 7644 §3.5.2
/// allows either) or a PUT answers 204.
fn prefers_minimal(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("return=minimal"))
}

async fn delete(
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&req);
    let token = auth.token_id.as_str().to_owned();
    let org = auth.org;
    let mode = state.config().delete_mode;
    let id = id.into_inner();
    state
        .transaction(move |conn| {
            match users::delete(conn, org, &id, mode, expected, Some(&token)) {
                Err(StoreError::NotFound) => Err(not_found(&id)),
                other => Ok(other?),
            }
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
