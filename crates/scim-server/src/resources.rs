//! The handlers every resource type shares (RFC 7644 §3.3 create, §3.4.1 get, §3.4.2 list,
//! §3.4.3 search, §3.5.1 replace, §3.5.2 modify, §3.6 delete), over an [`Endpoint`]: parse, call
//! the model and the store in one transaction, render.
//!
//! Where types differ, and only there, a hook runs: a User's password is hashed, a Group's
//! `members` go to the membership table as set changes ([`crate::members`]), and each reads its
//! relation (a group's `members`, a user's `groups`) only when the response shows it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use scim_filter::ParseOptions;
use scim_model::error::ScimError;
use scim_model::filter::CompiledFilter;
use scim_model::limits::Limits;
use scim_model::message::{
    ListResponse, PaginationConfig, PaginationMethod, PatchRequest, SearchRequest, SortOrder,
};
use scim_model::meta::{etag, parse_etag};
use scim_model::patch::{self, PatchOptions};
use scim_model::project::{project, Projection};
use scim_model::schema::{
    unique_attribute, Declarations, ResourceTypeView, SchemaRegistry, Uniqueness,
};
use scim_model::validate::{validate_create, validate_replace, Password, ValidationOptions};
use scim_model::value::format_date_time;
use scim_store::members::{self as store_members, GroupRef, Member};
use scim_store::paging::{self, Position};
use scim_store::resources::{
    self, Additions, AttributePath, Columns, ListQuery, NewResource, Record, ResourceKind, Search,
    GROUPS, USERS,
};
use scim_store::{DbConnection, OrgId, StoreError, UniqueField};
use serde_json::{json, Map, Value};

use crate::cursor::{self, Mark};
use crate::members::{self, MemberChange, MemberValue, SubFields};
use crate::references;
use crate::state::url_under;
use crate::{resource, scim_response, ApiError, Authenticated, ScimJson, ScimState, StoreVerifier};

/// A resource type as the service serves it: its store kind and its endpoint.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// Where and how its resources are stored; `kind.name` is the resource type's name.
    pub(crate) kind: &'static ResourceKind,
    /// The endpoint's path segment below the base URL (`Users`).
    pub(crate) path: &'static str,
}

/// `/Users` (RFC 7643 §4.1).
pub(crate) static USER_ENDPOINT: Endpoint = Endpoint {
    kind: &USERS,
    path: "Users",
};

/// `/Groups` (RFC 7643 §4.2).
pub(crate) static GROUP_ENDPOINT: Endpoint = Endpoint {
    kind: &GROUPS,
    path: "Groups",
};

/// The endpoints of declared resource types made so far, so that serving the same type again
/// (a second service in one process, a test) reuses its endpoint instead of leaking another.
static DECLARED: Mutex<Vec<&'static Endpoint>> = Mutex::new(Vec::new());

impl Endpoint {
    /// The endpoint of `resource_type`: a built-in one, or one made for a declared type, whose
    /// resources the store keeps in its shared table ([`ResourceKind::declared`]).
    pub(crate) fn of(
        resource_type: ResourceTypeView<'_>,
        declarations: &Declarations,
    ) -> &'static Endpoint {
        let name = resource_type.name();
        let builtin = [&USER_ENDPOINT, &GROUP_ENDPOINT]
            .into_iter()
            .find(|ep| ep.kind.name == name);
        if let Some(builtin) = builtin {
            let additions = declared_additions(resource_type, None, declarations);
            if additions.is_empty() {
                return builtin;
            }
            let kind = builtin.kind.extended(&additions);
            return interned(kind, builtin.path);
        }
        // The name column is compared folded; a case-exact unique attribute is claimed in
        // its own form instead (see `declared_additions`).
        let name_attribute = unique_attribute(resource_type).filter(|name| {
            resource_type
                .core_schema()
                .attribute(name)
                .is_some_and(|attribute| !attribute.is_case_exact())
        });
        let additions = declared_additions(resource_type, name_attribute, declarations);
        let kind = ResourceKind::declared(name, name_attribute, &additions);
        let path = resource_type.definition().endpoint.trim_start_matches('/');
        interned(kind, path)
    }
}

/// The endpoint serving `kind` at `path`: made the first time, the same one after.
fn interned(kind: &'static ResourceKind, path: &str) -> &'static Endpoint {
    let mut declared = DECLARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(ep) = declared
        .iter()
        .find(|ep| std::ptr::eq(ep.kind, kind) && ep.path == path)
    {
        return ep;
    }
    let ep: &'static Endpoint = Box::leak(Box::new(Endpoint {
        kind,
        path: Box::leak(path.to_owned().into_boxed_str()),
    }));
    declared.push(ep);
    ep
}

/// What the declared schemas of `resource_type` ask of the store: each attribute with
/// `uniqueness: server` (a singular string, as loading checks) is unique and indexed, except
/// `name_attribute`, which the store keeps in a column of its own; and the attributes that
/// index requests name are indexed.
fn declared_additions(
    resource_type: ResourceTypeView<'_>,
    name_attribute: Option<&str>,
    declarations: &Declarations,
) -> Additions {
    let standard = SchemaRegistry::standard();
    let core = resource_type.core_schema();
    let mut additions = Additions::default();
    for schema in resource_type.schemas() {
        if standard.schema(schema.id()).is_some() {
            continue;
        }
        let extension = !std::ptr::eq(schema, core);
        for attribute in schema.attributes() {
            if attribute.uniqueness() != Uniqueness::Server
                || (!extension && Some(attribute.name()) == name_attribute)
            {
                continue;
            }
            let (key, path) = if extension {
                (
                    format!("{}:{}", schema.id(), attribute.name()),
                    vec![schema.id().to_owned(), attribute.name().to_owned()],
                )
            } else {
                (
                    attribute.name().to_owned(),
                    vec![attribute.name().to_owned()],
                )
            };
            additions.unique.push(AttributePath { key, path });
        }
    }
    for attribute in declarations.indexed(resource_type) {
        let mut path: Vec<String> = attribute
            .extension_urn()
            .map(str::to_owned)
            .into_iter()
            .collect();
        path.push(attribute.name().to_owned());
        path.extend(attribute.sub_name().map(str::to_owned));
        let key = attribute.to_string();
        if !additions.indexed.iter().any(|have| have.key == key) {
            additions.indexed.push(AttributePath { key, path });
        }
    }
    additions
}

/// Registers the endpoints of every resource type `state` serves, and the root `/.search`.
pub(crate) fn routes(cfg: &mut web::ServiceConfig, state: &ScimState) {
    for endpoint in state.endpoints() {
        register(cfg, endpoint);
    }
    // RFC 7644 §3.4.3: a search at the root covers every resource type the server serves.
    cfg.service(resource("/.search", &[Method::POST]).route(web::post().to(
        |auth: Authenticated,
         state: web::Data<ScimState>,
         req: HttpRequest,
         body: ScimJson<SearchRequest>| root_search(auth, state, req, body),
    )));
}

fn register(cfg: &mut web::ServiceConfig, ep: &'static Endpoint) {
    const COLLECTION: &[Method] = &[Method::GET, Method::POST];
    const SEARCH: &[Method] = &[Method::POST];
    const ONE: &[Method] = &[Method::GET, Method::PUT, Method::PATCH, Method::DELETE];
    let base = format!("/{}", ep.path);
    cfg.service(
        resource(&base, COLLECTION)
            .route(web::get().to(
                move |auth: Authenticated, state: web::Data<ScimState>, req: HttpRequest| {
                    list(ep, auth, state, req)
                },
            ))
            .route(web::post().to(
                move |auth: Authenticated,
                      state: web::Data<ScimState>,
                      req: HttpRequest,
                      body: ScimJson<Value>| create(ep, auth, state, req, body),
            )),
    )
    .service(
        resource(&format!("{base}/.search"), SEARCH).route(web::post().to(
            move |auth: Authenticated,
                  state: web::Data<ScimState>,
                  req: HttpRequest,
                  body: ScimJson<SearchRequest>| search(ep, auth, state, req, body),
        )),
    )
    .service(
        resource(&format!("{base}/{{id}}"), ONE)
            .route(web::get().to(
                move |auth: Authenticated,
                      state: web::Data<ScimState>,
                      req: HttpRequest,
                      id: web::Path<String>| get(ep, auth, state, req, id),
            ))
            .route(web::put().to(
                move |auth: Authenticated,
                      state: web::Data<ScimState>,
                      req: HttpRequest,
                      id: web::Path<String>,
                      body: ScimJson<Value>| {
                    replace(ep, auth, state, req, id, body)
                },
            ))
            .route(web::patch().to(
                move |auth: Authenticated,
                      state: web::Data<ScimState>,
                      req: HttpRequest,
                      id: web::Path<String>,
                      body: ScimJson<PatchRequest>| {
                    modify(ep, auth, state, req, id, body)
                },
            ))
            .route(web::delete().to(
                move |auth: Authenticated,
                      state: web::Data<ScimState>,
                      req: HttpRequest,
                      id: web::Path<String>| delete(ep, auth, state, req, id),
            )),
    );
}

impl Endpoint {
    /// The resource type of the served registry.
    pub(crate) fn resource_type<'r>(
        &self,
        registry: &'r SchemaRegistry,
    ) -> Result<ResourceTypeView<'r>, ApiError> {
        registry.resource_type(self.kind.name).ok_or_else(|| {
            ScimError::internal(format!(
                "the {} resource type is not registered",
                self.kind.name
            ))
            .into()
        })
    }

    /// Whether this type stores a password (Users).
    fn has_password(&self) -> bool {
        self.kind.name == USERS.name && !self.kind.is_declared()
    }

    /// The limits on requests to this endpoint: the configured ones, except that a group's
    /// `members` (its only multi-valued attribute, stored as rows rather than in the document)
    /// are bounded by `max_member_values` instead.
    pub(crate) fn limits(&self, config: &crate::ServerConfig) -> Limits {
        let mut limits = config.limits;
        if self.kind.has_members() {
            limits.max_values = limits.max_values.max(config.max_member_values);
        }
        limits
    }

    /// A store error as the client sees it, with this type's name in a taken value's detail:
    /// a declared type's unique name is named, as userName and displayName are. (Any path
    /// without this still answers 409 `uniqueness`, see `error::store_answer`.)
    fn conflict(&self, error: StoreError) -> ApiError {
        match error {
            StoreError::ValueTaken { attribute } => ScimError::uniqueness(format!(
                "{attribute} is already taken by another {}",
                self.kind.name
            ))
            .into(),
            StoreError::UniqueViolation {
                field: UniqueField::ResourceName,
                ..
            } => ScimError::uniqueness(format!(
                "{} is already taken by another {}",
                self.kind.unique_attribute(),
                self.kind.name
            ))
            .into(),
            other => other.into(),
        }
    }

    fn not_found(&self, id: &str) -> ApiError {
        ScimError::not_found(format!("no {} with id {id:?}", self.kind.name)).into()
    }

    /// The attribute of this type that lives in the membership table, not in the document.
    fn relation(&self) -> Option<&'static str> {
        if self.kind.has_members() {
            Some("members")
        } else if self.kind.name == USERS.name && !self.kind.is_declared() {
            Some("groups")
        } else {
            None
        }
    }

    /// Which sub-attributes of the relation `projection` shows; `None` when it hides the
    /// relation, so it is never read. Asks the model's own projection, with a probe value
    /// holding every sub-attribute.
    fn relation_fields(
        &self,
        rt: ResourceTypeView<'_>,
        projection: &Projection<'_>,
    ) -> Option<SubFields> {
        let relation = self.relation()?;
        let mut probe = Map::new();
        probe.insert("schemas".into(), json!([rt.core_schema().id()]));
        probe.insert(
            relation.into(),
            json!([{"value": "v", "display": "d", "type": "User", "$ref": "r"}]),
        );
        let projected = project(&Value::Object(probe), rt, projection);
        let first = projected.get(relation)?.get(0)?;
        Some(SubFields::of(first))
    }
}

/// A resource's relation, read for a response.
enum Related {
    /// Not shown, so not read.
    Hidden,
    /// A group's members.
    Members(Vec<Member>),
    /// A user's groups, direct and indirect.
    Groups(Vec<GroupRef>),
}

/// Whether a response shows `ep`'s relation (a group's members, a user's groups): the endpoint
/// has one and the projection asks for some of its sub-attributes.
fn relation_shown(ep: &Endpoint, fields: Option<SubFields>) -> bool {
    fields.is_some() && ep.relation().is_some()
}

/// Reads the relation of each of `records` that `fields` asks for, in one query.
fn load_related(
    conn: &mut DbConnection,
    ep: &Endpoint,
    org: OrgId,
    records: &[Record],
    fields: Option<SubFields>,
) -> Result<Vec<Related>, ApiError> {
    if records.is_empty() || !relation_shown(ep, fields) {
        return Ok(records.iter().map(|_| Related::Hidden).collect());
    }
    if let ([record], true) = (records, ep.kind.has_members()) {
        return Ok(vec![Related::Members(store_members::of(
            conn, org, &record.id,
        )?)]);
    }
    let ids: Vec<String> = records.iter().map(|record| record.id.clone()).collect();
    if ep.kind.has_members() {
        let mut by_group: HashMap<String, Vec<Member>> = HashMap::new();
        for (group, member) in store_members::list(conn, org, &ids)? {
            by_group.entry(group).or_default().push(member);
        }
        Ok(ids
            .iter()
            .map(|id| Related::Members(by_group.remove(id).unwrap_or_default()))
            .collect())
    } else {
        let mut by_member: HashMap<String, Vec<GroupRef>> = HashMap::new();
        for (member, group) in store_members::groups_of(conn, org, &ids)? {
            by_member.entry(member).or_default().push(group);
        }
        Ok(ids
            .iter()
            .map(|id| Related::Groups(by_member.remove(id).unwrap_or_default()))
            .collect())
    }
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

    fn projection<'r>(
        &self,
        rt: ResourceTypeView<'r>,
        limits: &Limits,
    ) -> Result<Projection<'r>, ApiError> {
        Ok(Projection::parse_with_limits(
            self.get("attributes"),
            self.get("excludedAttributes"),
            rt,
            limits,
        )?)
    }

    /// Whether `attributes` names `relation` (or one of its sub-attributes) explicitly.
    fn asks_for(&self, relation: &str) -> bool {
        self.get("attributes").is_some_and(|list| {
            list.split(',').any(|item| {
                let item = item.trim();
                let name = item.rsplit_once(':').map_or(item, |(_, name)| name);
                let name = name.split('.').next().unwrap_or(name);
                name.eq_ignore_ascii_case(relation)
            })
        })
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
        let cursor = self.get("cursor").map(str::to_owned);
        let count = match (self.integer("count"), &cursor) {
            // RFC 9865 §2.1: a cursor request's unusable count is `invalidCount`.
            (Err(_), Some(_)) => {
                return Err(
                    ScimError::invalid_count("`count` must be a non-negative integer").into(),
                )
            }
            (count, _) => count?,
        };
        Ok(SearchRequest {
            filter: self.get("filter").map(str::to_owned),
            sort_by: self.get("sortBy").map(str::to_owned),
            sort_order,
            start_index: self.integer("startIndex")?,
            count,
            cursor,
            ..SearchRequest::default()
        })
    }
}

/// The versions named by an `If-Match` header: `None` when absent or `*`; a version that can
/// match nothing (-1) when the header names no version this server issued.
fn if_match(req: &HttpRequest) -> Option<i64> {
    let value = req.headers().get(header::IF_MATCH)?.to_str().unwrap_or("");
    expected_version(value)
}

/// The version an `If-Match` value (or a bulk operation's `version`, RFC 7644 §3.7) requires:
/// `None` for `*`; -1, which matches nothing, when it names no version this server issued.
pub(crate) fn expected_version(value: &str) -> Option<i64> {
    if value.trim() == "*" {
        return None;
    }
    Some(value.split(',').find_map(parse_etag).unwrap_or(-1))
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
fn stored_document(record: &Record) -> Result<Value, ApiError> {
    serde_json::from_str(&record.document).map_err(|e| {
        ScimError::internal(format!("stored resource {} is not JSON: {e}", record.id)).into()
    })
}

/// The resource as a client reads it: the stored `document` with `id` and `meta`.
fn with_id_and_meta(ep: &Endpoint, document: Value, record: &Record, location: String) -> Value {
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
            "resourceType": ep.kind.name,
            "created": format_date_time(&record.created.into()),
            "lastModified": format_date_time(&record.last_modified.into()),
            "location": location,
            "version": etag(record.version),
        }),
    );
    Value::Object(out)
}

/// How a response shows resources of one type: the type, the projection, and which
/// sub-attributes of the relation it shows (`None`: the relation is hidden, so never read).
#[derive(Clone, Copy)]
struct Shown<'a, 'r> {
    rt: ResourceTypeView<'r>,
    projection: &'a Projection<'r>,
    fields: Option<SubFields>,
}

/// The resource as a response shows it: projected, with its relation if shown.
fn render(
    ep: &Endpoint,
    base: &str,
    record: &Record,
    related: Related,
    shown: Shown<'_, '_>,
) -> Result<Value, ApiError> {
    let Shown {
        rt,
        projection,
        fields,
    } = shown;
    let location = url_under(base, &[ep.path, &record.id]);
    let mut document = with_id_and_meta(ep, stored_document(record)?, record, location);
    references::absolute(ep, rt, base, &mut document);
    let mut body = project(&document, rt, projection);
    let (Some(fields), Some(object)) = (fields, body.as_object_mut()) else {
        return Ok(body);
    };
    match related {
        Related::Hidden => {}
        Related::Members(list) => {
            if !list.is_empty() {
                let values = members::member_values(&list, &fields, base);
                object.insert("members".into(), Value::Array(values));
            }
        }
        Related::Groups(list) => {
            if !list.is_empty() {
                let values = list
                    .into_iter()
                    .map(|group| {
                        let mut value = Map::with_capacity(4);
                        if fields.value {
                            value.insert("value".into(), Value::String(group.id.clone()));
                        }
                        if fields.reference {
                            value.insert(
                                "$ref".into(),
                                Value::String(format!("{base}/Groups/{}", group.id)),
                            );
                        }
                        if fields.display && !group.display.is_empty() {
                            value.insert("display".into(), Value::String(group.display));
                        }
                        if fields.kind {
                            let kind = if group.direct { "direct" } else { "indirect" };
                            value.insert("type".into(), Value::String(kind.into()));
                        }
                        Value::Object(value)
                    })
                    .collect();
                object.insert("groups".into(), Value::Array(values));
            }
        }
    }
    Ok(body)
}

/// A resource as response bytes. A large group's members go straight into the bytes, never
/// through JSON values.
fn render_bytes(
    ep: &Endpoint,
    base: &str,
    record: &Record,
    related: Related,
    shown: Shown<'_, '_>,
) -> Result<Vec<u8>, ApiError> {
    let serialise = |body: &Value| {
        serde_json::to_vec(body)
            .map_err(|e| ScimError::internal(format!("response serialisation failed: {e}")))
    };
    match (related, shown.fields) {
        (Related::Members(list), Some(fields)) if !list.is_empty() => {
            let mut bytes = serialise(&render(ep, base, record, Related::Hidden, shown)?)?;
            if !members::append_members(&mut bytes, &list, &fields, base) {
                return Err(ScimError::internal("a group did not render as an object").into());
            }
            Ok(bytes)
        }
        (related, _) => Ok(serialise(&render(ep, base, record, related, shown)?)?),
    }
}

/// A response carrying one resource, with `ETag` and, on creation, `Location`.
fn one_response(
    ep: &Endpoint,
    state: &ScimState,
    req: &HttpRequest,
    status: StatusCode,
    record: &Record,
    related: Related,
    shown: Shown<'_, '_>,
) -> Result<HttpResponse, ApiError> {
    let bytes = render_bytes(ep, &state.base_url(req), record, related, shown)?;
    let mut response = scim_response(status);
    response.insert_header((header::ETAG, etag(record.version)));
    if status == StatusCode::CREATED {
        response.insert_header((
            header::LOCATION,
            state.location(req, &[ep.path, &record.id]),
        ));
    }
    Ok(response.body(bytes))
}

/// The top-level attribute names of a document, for the audit trail.
fn attribute_names(document: &Value) -> Vec<String> {
    document
        .as_object()
        .map(|o| o.keys().filter(|k| *k != "schemas").cloned().collect())
        .unwrap_or_default()
}

/// A fresh resource id: a random UUID (version 4), opaque and stable (RFC 7643 §3.1).
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The most distinct passwords one request may carry; each costs an argon2 hash.
pub(crate) const MAX_PASSWORDS_PER_REQUEST: usize = 4;

/// The plain passwords a request carries, hashed before its transaction, so that no write lock
/// or pooled connection waits on argon2 (RFC 7643 §4.1.1: a password "SHOULD" be stored
/// hashed).
#[derive(Debug, Default)]
pub(crate) struct Prehashed(HashMap<String, String>);

/// What a write needs to store passwords hashed: the hashes made beforehand, and the verifier
/// that hashes one that was not (as `org`).
pub(crate) struct Hashing<'a> {
    pub(crate) prehashed: &'a Prehashed,
    pub(crate) verifier: &'a StoreVerifier,
    pub(crate) org: OrgId,
}

impl Hashing<'_> {
    /// The hash of `password`: the one made beforehand, or (for a password validation rewrote,
    /// the rare slow path) one made now.
    fn hash(&self, password: &str) -> Result<String, ApiError> {
        match self.prehashed.0.get(password) {
            Some(hash) => Ok(hash.clone()),
            None => Ok(self.verifier.hash_password(&self.org.0, password)?),
        }
    }
}

/// Whether `key` names the User's `password`, plainly or URN-qualified.
fn names_password(key: &str) -> bool {
    let name = key.rsplit_once(':').map_or(key, |(_, name)| name);
    name.eq_ignore_ascii_case("password")
}

/// The password strings at the top of `object`.
fn passwords_in(object: &Map<String, Value>, out: &mut Vec<String>) {
    for (key, value) in object {
        if let (true, Value::String(password)) = (names_password(key), value) {
            out.push(password.clone());
        }
    }
}

/// The password strings a PATCH may store: values of operations on `password`, and `password`
/// members of path-less values.
fn passwords_in_patch(request: &PatchRequest) -> Vec<String> {
    let mut out = Vec::new();
    for operation in &request.operations {
        match (&operation.path, &operation.value) {
            (Some(path), Some(Value::String(password))) if names_password(path.trim()) => {
                out.push(password.clone());
            }
            (None, Some(Value::Object(object))) => passwords_in(object, &mut out),
            _ => {}
        }
    }
    out
}

/// Hashes `passwords` on a blocking thread, under the verifier's password slots with `org` as
/// the caller.
///
/// # Errors
/// 400 `invalidValue` above `max` distinct passwords; 503 when no hashing slot frees up in
/// time.
pub(crate) async fn prehash(
    state: &ScimState,
    org: OrgId,
    mut passwords: Vec<String>,
    max: usize,
) -> Result<Prehashed, ApiError> {
    passwords.sort_unstable();
    passwords.dedup();
    if passwords.is_empty() {
        return Ok(Prehashed::default());
    }
    if passwords.len() > max {
        return Err(ScimError::invalid_value(format!(
            "a request may carry at most {max} passwords"
        ))
        .into());
    }
    let verifier = state.verifier().clone();
    web::block(move || {
        let mut hashed = HashMap::with_capacity(passwords.len());
        for password in passwords {
            let hash = verifier.hash_password(&org.0, &password)?;
            hashed.insert(password, hash);
        }
        Ok::<_, ApiError>(Prehashed(hashed))
    })
    .await?
}

/// Puts the hash of `password`, the one the request set, in the document validation returned
/// without it ([`scim_model::validate::Validated`]). Without a new password, the document holds
/// the stored value (carried over by a PUT or PATCH that did not set one, or set exactly it),
/// kept as it is when it is an argon2id hash, and hashed now when it is not (a password stored
/// before passwords were hashed). So any other string, even one that looks like a hash, is a
/// password to hash, and a client cannot plant a hash of its own choosing (and its costs) for
/// the host application's login checks.
fn store_password(
    document: &mut Value,
    password: Option<Password>,
    hashing: &Hashing<'_>,
) -> Result<(), ApiError> {
    let hash = match password {
        Some(password) => hashing.hash(password.expose_for_hashing())?,
        None => match document.get("password").and_then(Value::as_str) {
            Some(kept) if !scim_auth::is_argon2id_phc(kept) => hashing.hash(kept)?,
            _ => return Ok(()),
        },
    };
    if let Some(object) = document.as_object_mut() {
        object.insert("password".to_owned(), Value::String(hash));
    }
    Ok(())
}

/// The top-level attribute names a validated write stores, for the audit trail: the document's,
/// and `password` when it sets a new one (which validation keeps out of the document).
fn stored_attribute_names(document: &Value, password: Option<&Password>) -> Vec<String> {
    let mut names = attribute_names(document);
    if password.is_some() {
        names.push("password".to_owned());
    }
    names
}

/// A create, validated: what `POST /{endpoint}` and a bulk POST (RFC 7644 §3.7) share.
/// [`CreatePlan::prepare`] it, hash its password ([`CreatePlan::finish`]), then
/// [`CreatePlan::write`] it in a transaction.
#[derive(Debug)]
pub(crate) struct CreatePlan {
    /// The document to store; its password is in `password` until [`CreatePlan::finish`]
    /// puts the hash here.
    document: Value,
    password: Option<Password>,
    members: Option<Vec<MemberValue>>,
    attributes: Vec<String>,
}

impl CreatePlan {
    /// Validates `body` as a new resource of `ep` and takes out what is stored apart (a
    /// group's members).
    ///
    /// # Errors
    /// 400 for a body the resource type does not accept, or beyond the limits.
    pub(crate) fn prepare(
        ep: &Endpoint,
        config: &crate::ServerConfig,
        profile: Profile,
        rt: ResourceTypeView<'_>,
        body: &Value,
    ) -> Result<Self, ApiError> {
        let options = profile.validation(ep.limits(config));
        let (mut document, password) = validate_create(body, rt, &options)?.into_parts();
        let members = if ep.kind.has_members() {
            members::take_members(&mut document, config.max_member_values)?
        } else {
            None
        };
        let mut attributes = stored_attribute_names(&document, password.as_ref());
        if members.as_ref().is_some_and(|ids| !ids.is_empty()) {
            attributes.push("members".into());
        }
        Ok(CreatePlan {
            document,
            password,
            members,
            attributes,
        })
    }

    /// Adds the password the new resource carries to `out`, to hash before any transaction.
    pub(crate) fn passwords(&self, ep: &Endpoint, out: &mut Vec<String>) {
        if let (true, Some(password)) = (ep.has_password(), &self.password) {
            out.push(password.expose_for_hashing().to_owned());
        }
    }

    /// Puts the password's hash in its place and checks the stored size.
    ///
    /// # Errors
    /// 413 for a document beyond the size limit; 503 when no hashing slot frees up.
    pub(crate) fn finish(
        &mut self,
        ep: &Endpoint,
        config: &crate::ServerConfig,
        hashing: &Hashing<'_>,
    ) -> Result<(), ApiError> {
        if ep.has_password() {
            store_password(&mut self.document, self.password.take(), hashing)?;
        }
        ep.limits(config).check_document(&self.document)?;
        Ok(())
    }

    /// Whether [`CreatePlan::write`] is one store call (no members to add after the row, no
    /// references of a declared type to look up), so that runs of such creates can be written
    /// together by `resources::create_many`.
    pub(crate) fn is_one_write(&self, ep: &Endpoint) -> bool {
        self.members.as_ref().is_none_or(Vec::is_empty) && !ep.kind.is_declared()
    }

    /// The row to create for the resource as `id`, without its members.
    pub(crate) fn new_resource(
        &self,
        ep: &Endpoint,
        rt: ResourceTypeView<'_>,
        id: String,
        token: &str,
    ) -> NewResource {
        Columns::derive(&self.document, rt, ep.kind).into_new(
            id,
            Some(token.to_owned()),
            self.attributes.clone(),
        )
    }

    /// Stores the resource as `id`, with its members and its `created` event, inside the
    /// caller's transaction, which must be rolled back (to a savepoint) if it fails.
    ///
    /// # Errors
    /// 409 when its unique name is taken; store failures.
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one write, each from a different place; a struct would only rename them"
    )]
    pub(crate) fn write(
        &self,
        conn: &mut DbConnection,
        ep: &Endpoint,
        endpoints: &[&'static Endpoint],
        org: OrgId,
        rt: ResourceTypeView<'_>,
        id: String,
        token: &str,
    ) -> Result<Record, ApiError> {
        let new = if ep.kind.is_declared() {
            let mut document = self.document.clone();
            references::resolve(conn, ep, endpoints, org, rt, &id, None, &mut document)?;
            Columns::derive(&document, rt, ep.kind).into_new(
                id,
                Some(token.to_owned()),
                self.attributes.clone(),
            )
        } else {
            self.new_resource(ep, rt, id, token)
        };
        let record = resources::create_in(conn, ep.kind, org, &new).map_err(|e| ep.conflict(e))?;
        if let Some(ids) = &self.members {
            let add = vec![MemberChange::Add(ids.clone())];
            members::apply(conn, org, &record.id, add, rt, token)?;
        }
        Ok(record)
    }
}

async fn create(
    ep: &'static Endpoint,
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    body: ScimJson<Value>,
) -> Result<HttpResponse, ApiError> {
    let registry = state.registry().clone();
    let rt = ep.resource_type(&registry)?;
    let limits = ep.limits(state.config());
    let projection = Params::of(&req)?.projection(rt, &limits)?;
    let fields = ep.relation_fields(rt, &projection);
    let mut plan = CreatePlan::prepare(ep, state.config(), Profile::of(&req), rt, &body)?;
    let org = auth.org;
    let mut passwords = Vec::new();
    plan.passwords(ep, &mut passwords);
    let prehashed = prehash(&state, org, passwords, MAX_PASSWORDS_PER_REQUEST).await?;
    plan.finish(
        ep,
        state.config(),
        &Hashing {
            prehashed: &prehashed,
            verifier: state.verifier(),
            org,
        },
    )?;
    let token = auth.token_id.as_str().to_owned();
    let reg = registry.clone();
    let endpoints = state.endpoints().to_vec();
    let (record, related) = state
        .transaction(org, move |conn| {
            let rt = ep.resource_type(&reg)?;
            let record = plan.write(conn, ep, &endpoints, org, rt, new_id(), &token)?;
            // A group's members were just written and are read back; a user created this
            // instant, under an id no one has seen, belongs to no group: nothing to read.
            let related = if ep.kind.has_members() {
                load_related(conn, ep, org, std::slice::from_ref(&record), fields)?
            } else {
                Vec::new()
            };
            Ok((record, related))
        })
        .await?;
    let related = related.into_iter().next().unwrap_or(Related::Hidden);
    one_response(
        ep,
        &state,
        &req,
        StatusCode::CREATED,
        &record,
        related,
        Shown {
            rt,
            projection: &projection,
            fields,
        },
    )
}

async fn get(
    ep: &'static Endpoint,
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let registry = state.registry().clone();
    let rt = ep.resource_type(&registry)?;
    let projection = Params::of(&req)?.projection(rt, &ep.limits(state.config()))?;
    let fields = ep.relation_fields(rt, &projection);
    let id = id.into_inner();
    let org = auth.org;
    let lookup = id.clone();
    let found = state
        .with_conn(org, move |conn| {
            if relation_shown(ep, fields) && !ep.kind.has_members() {
                // A user and its direct groups in one statement: most users' groups are then
                // read without a second one.
                let Some((record, parents)) =
                    resources::get_with_parents(conn, ep.kind, org, &lookup)?
                else {
                    return Ok(None);
                };
                let direct = parents
                    .into_iter()
                    .map(|group| (record.id.clone(), group))
                    .collect();
                let groups = store_members::groups_from_direct(conn, org, direct)?
                    .into_iter()
                    .map(|(_, group)| group)
                    .collect();
                return Ok(Some((record, vec![Related::Groups(groups)])));
            }
            let Some(record) = resources::get(conn, ep.kind, org, &lookup)? else {
                return Ok(None);
            };
            let related = load_related(conn, ep, org, std::slice::from_ref(&record), fields)?;
            Ok(Some((record, related)))
        })
        .await?;
    let (record, related) = found.ok_or_else(|| ep.not_found(&id))?;
    if none_match_hits(&req, record.version) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag(record.version)))
            .finish());
    }
    let related = related.into_iter().next().unwrap_or(Related::Hidden);
    one_response(
        ep,
        &state,
        &req,
        StatusCode::OK,
        &record,
        related,
        Shown {
            rt,
            projection: &projection,
            fields,
        },
    )
}

async fn list(
    ep: &'static Endpoint,
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let params = Params::of(&req)?;
    let search = params.search_request()?;
    let registry = state.registry().clone();
    let rt = ep.resource_type(&registry)?;
    let shown = ProjectionSpec {
        attributes: params
            .get("attributes")
            .map(str::to_owned)
            .into_iter()
            .collect(),
        excluded: params
            .get("excludedAttributes")
            .map(str::to_owned)
            .into_iter()
            .collect(),
        limits: ep.limits(state.config()),
    };
    shown.check(rt)?;
    listing(ep, auth.org, &state, &req, &search, shown).await
}

/// The list response for `search` over `ep` (a GET's query or a `.search` body): a cursor
/// page when the request names a cursor (RFC 9865), else an index page (RFC 7644 §3.4.2.4).
async fn listing(
    ep: &'static Endpoint,
    org: OrgId,
    state: &web::Data<ScimState>,
    req: &HttpRequest,
    search: &SearchRequest,
    shown: ProjectionSpec,
) -> Result<HttpResponse, ApiError> {
    if let Some(cursor) = search.cursor.as_deref() {
        return cursor_list(ep, org, state, req, search, shown, cursor).await;
    }
    let page = Window::of(state, search);
    let budget = state.config().max_list_bytes;
    let found = find(
        ep,
        org,
        state,
        req,
        search,
        shown,
        page,
        Walk::Index,
        budget,
    )
    .await?;
    list_response(found.resources, found.total, page.start_index)
}

async fn search(
    ep: &'static Endpoint,
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    body: ScimJson<SearchRequest>,
) -> Result<HttpResponse, ApiError> {
    let search = body.into_inner();
    let registry = state.registry().clone();
    let rt = ep.resource_type(&registry)?;
    let shown = ProjectionSpec::of(&search, ep.limits(state.config()));
    shown.check(rt)?;
    listing(ep, auth.org, &state, &req, &search, shown).await
}

/// The bytes of an RFC 9865 cursor walk's page of one endpoint: its resources from where
/// `cursor` stands (the start when empty), `totalResults`, and a `nextCursor` unless it is the
/// last page.
async fn cursor_list(
    ep: &'static Endpoint,
    org: OrgId,
    state: &ScimState,
    req: &HttpRequest,
    search: &SearchRequest,
    shown: ProjectionSpec,
    cursor: &str,
) -> Result<HttpResponse, ApiError> {
    let count = cursor_count(state, search)?;
    let key = state.cursor_key(org).await?;
    let digest = cursor::query_digest(ep.path, search);
    let timeout = state.config().cursor_timeout;
    let mark = cursor::open(&key, org, &digest, cursor, timeout)?;
    if mark.endpoint != 0 {
        return Err(invalid_cursor());
    }
    let window = Window {
        start_index: 1,
        count,
    };
    let budget = state.config().max_list_bytes;
    let walk = Walk::After(mark.position);
    let found = find(ep, org, state, req, search, shown, window, walk, budget).await?;
    let next = found.more.then(|| {
        cursor::seal(
            &key,
            org,
            &digest,
            &Mark {
                endpoint: 0,
                position: found.last.clone(),
            },
        )
    });
    cursor_response(found.resources, found.total, next)
}

/// The `pagination` block of `/ServiceProviderConfig` (RFC 9865 §4): both methods, index
/// paging the default (clients written before RFC 9865 keep working, §2.5).
pub(crate) fn pagination(config: &crate::ServerConfig) -> PaginationConfig {
    PaginationConfig {
        cursor: true,
        index: true,
        default_pagination_method: Some(PaginationMethod::Index),
        default_page_size: Some(config.default_page_size),
        max_page_size: Some(config.max_page_size),
        cursor_timeout: Some(config.cursor_timeout.as_secs().max(1)),
    }
}

fn invalid_cursor() -> ApiError {
    ScimError::invalid_cursor(
        "the cursor is not a nextCursor of this query; start again with an empty cursor",
    )
    .into()
}

/// The page size of a cursor request (RFC 9865 §2): refuses `startIndex` beside `cursor` —
/// they ask for two paging methods (§2.3) — and a negative `count` (`invalidCount`, §2.1); a
/// count above the maximum page size gets a page of the maximum, as with index paging.
fn cursor_count(state: &ScimState, search: &SearchRequest) -> Result<i64, ApiError> {
    if search.start_index.is_some() {
        return Err(ScimError::invalid_value(
            "`cursor` and `startIndex` ask for two paging methods (RFC 9865 §2.3); send one",
        )
        .into());
    }
    let config = state.config();
    match search.count {
        Some(count) if count < 0 => Err(ScimError::invalid_count(format!(
            "`count` must be between 0 and {}, not {count}",
            config.max_page_size
        ))
        .into()),
        Some(count) => Ok(count.min(i64::from(config.max_page_size))),
        None => Ok(i64::from(config.default_page_size)),
    }
}

/// `POST /.search` (RFC 7644 §3.4.3): every served type, Users first, then Groups, each in its
/// own sort order, paged as one list. A type whose schema does not know an attribute the
/// filter or the projection names contributes nothing; when no type knows it, the request is
/// refused as it would be at a type's own endpoint.
async fn root_search(
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    body: ScimJson<SearchRequest>,
) -> Result<HttpResponse, ApiError> {
    let search = body.into_inner();
    if let Some(cursor) = search.cursor.as_deref() {
        return root_cursor_search(auth.org, &state, &req, &search, cursor).await;
    }
    let registry = state.registry().clone();
    let page = Window::of(&state, &search);
    let mut resources = Vec::new();
    let mut total = 0_i64;
    let mut first_error = None;
    let mut answered = false;
    let mut skip = page.offset();
    let mut wanted = page.count;
    let mut budget = state.config().max_list_bytes;
    let mut truncated = false;
    for &ep in state.endpoints() {
        let rt = ep.resource_type(&registry)?;
        let shown = ProjectionSpec::of(&search, ep.limits(state.config()));
        if let Err(error) = shown.check(rt) {
            first_error.get_or_insert(error);
            continue;
        }
        // Past a cut page, later types only count: the client asks again from where it ended.
        let window = Window {
            start_index: skip + 1,
            count: if truncated { 0 } else { wanted },
        };
        match find(
            ep,
            auth.org,
            &state,
            &req,
            &search,
            shown,
            window,
            Walk::Index,
            budget,
        )
        .await
        {
            Ok(found) => {
                answered = true;
                total += found.total;
                let taken = i64::try_from(found.resources.len()).unwrap_or(i64::MAX);
                wanted = (wanted - taken).max(0);
                skip = (skip - found.total).max(0);
                budget = budget.saturating_sub(found.bytes);
                resources.extend(found.resources);
                // The budget is the whole response's: once it is spent, later types only count.
                truncated |= found.truncated || (budget == 0 && !resources.is_empty());
            }
            Err(error @ ApiError::Scim(_)) if error.status() == StatusCode::BAD_REQUEST => {
                first_error.get_or_insert(error);
            }
            Err(error) => return Err(error),
        }
    }
    match (answered, first_error) {
        (false, Some(error)) => Err(error),
        _ => list_response(resources, total, page.start_index),
    }
}

/// `POST /.search` with a cursor (RFC 9865 §3): the walk goes through every served type in
/// the order [`root_search`] lists them, the cursor saying which type it is in and where.
async fn root_cursor_search(
    org: OrgId,
    state: &ScimState,
    req: &HttpRequest,
    search: &SearchRequest,
    cursor: &str,
) -> Result<HttpResponse, ApiError> {
    let count = cursor_count(state, search)?;
    let key = state.cursor_key(org).await?;
    let digest = cursor::query_digest("", search);
    let mark = cursor::open(&key, org, &digest, cursor, state.config().cursor_timeout)?;
    if mark.endpoint >= state.endpoints().len() {
        return Err(invalid_cursor());
    }
    let registry = state.registry().clone();
    let mut resources = Vec::new();
    let mut total = 0_i64;
    let mut first_error = None;
    let mut answered = false;
    let mut wanted = count;
    let mut budget = state.config().max_list_bytes;
    let mut next: Option<Mark> = None;
    let mut start = Some(mark.position);
    for (index, &ep) in state.endpoints().iter().enumerate() {
        let rt = ep.resource_type(&registry)?;
        let shown = ProjectionSpec::of(search, ep.limits(state.config()));
        if let Err(error) = shown.check(rt) {
            first_error.get_or_insert(error);
            continue;
        }
        // Types before the cursor's, and all once the page is full, are only counted (and,
        // for the first one after a full page, asked whether they hold anything).
        let (walk, count) = if index < mark.endpoint || next.is_some() {
            (Walk::After(None), 0)
        } else if index == mark.endpoint {
            (Walk::After(start.take().flatten()), wanted)
        } else {
            (Walk::After(None), wanted)
        };
        let window = Window {
            start_index: 1,
            count,
        };
        match find(ep, org, state, req, search, shown, window, walk, budget).await {
            Ok(found) => {
                answered = true;
                total += found.total;
                if index >= mark.endpoint && next.is_none() {
                    let taken = i64::try_from(found.resources.len()).unwrap_or(i64::MAX);
                    wanted = (wanted - taken).max(0);
                    budget = budget.saturating_sub(found.bytes);
                    resources.extend(found.resources);
                    if found.more {
                        next = Some(Mark {
                            endpoint: index,
                            position: found.last,
                        });
                    } else if budget == 0 && !resources.is_empty() {
                        // The budget is spent: the next page starts with the next type.
                        wanted = 0;
                    }
                }
            }
            Err(error @ ApiError::Scim(_)) if error.status() == StatusCode::BAD_REQUEST => {
                first_error.get_or_insert(error);
            }
            Err(error) => return Err(error),
        }
    }
    match (answered, first_error) {
        (false, Some(error)) => Err(error),
        _ => {
            let next = next.map(|mark| cursor::seal(&key, org, &digest, &mark));
            cursor_response(resources, total, next)
        }
    }
}

/// Which rows a page holds: a window by offset (index paging), or the rows after a keyset
/// position (cursor paging; `None`: from the start).
enum Walk {
    Index,
    After(Option<Position>),
}

/// The page a search asks for, within the service's limits (RFC 7644 §3.4.2.4): startIndex
/// below 1 means 1; a negative count means 0; above the advertised maximum, fewer results
/// than asked.
#[derive(Debug, Clone, Copy)]
struct Window {
    start_index: i64,
    count: i64,
}

impl Window {
    fn of(state: &ScimState, search: &SearchRequest) -> Self {
        let config = state.config();
        Window {
            start_index: search.start_index.unwrap_or(1).max(1),
            count: search
                .count
                .unwrap_or(i64::from(config.default_page_size))
                .clamp(0, i64::from(config.max_page_size)),
        }
    }

    fn offset(self) -> i64 {
        self.start_index - 1
    }
}

/// What a list response shows of one type: each resource already serialised.
struct Found {
    resources: Vec<Vec<u8>>,
    total: i64,
    /// The bytes of `resources`.
    bytes: usize,
    /// Whether the page stopped short of the window at the byte budget.
    truncated: bool,
    /// Cursor paging: whether rows follow this page.
    more: bool,
    /// Cursor paging: where the next page starts (the last row shown, or where this page
    /// started when it shows none).
    last: Option<Position>,
}

/// The `attributes` and `excludedAttributes` of a list or search, kept as text so the
/// projection can be built again on the blocking thread that renders the page.
struct ProjectionSpec {
    attributes: Vec<String>,
    excluded: Vec<String>,
    limits: Limits,
}

impl ProjectionSpec {
    fn of(search: &SearchRequest, limits: Limits) -> Self {
        ProjectionSpec {
            attributes: search.attributes.clone(),
            excluded: search.excluded_attributes.clone(),
            limits,
        }
    }

    fn projection<'r>(&self, rt: ResourceTypeView<'r>) -> Result<Projection<'r>, ApiError> {
        Ok(Projection::from_lists_with_limits(
            &self.attributes,
            &self.excluded,
            rt,
            &self.limits,
        )?)
    }

    /// Refuses a projection the type cannot take before any database work.
    fn check(&self, rt: ResourceTypeView<'_>) -> Result<(), ApiError> {
        self.projection(rt).map(drop)
    }
}

/// Filters, sorts and pages the resources of `ep` (RFC 7644 §3.4.2.2–§3.4.2.4).
///
/// The page is rendered on the blocking thread that reads it, resource by resource, and stops
/// once its bytes pass `budget` (after at least one resource): RFC 7644 §3.4.2.4 lets a page
/// hold fewer results than asked, and the client continues from `startIndex + itemsPerPage`.
/// A group's members are read one group at a time, so a page of large groups never holds more
/// than one group's members at once.
#[allow(clippy::too_many_arguments)]
async fn find(
    ep: &'static Endpoint,
    org: OrgId,
    state: &ScimState,
    req: &HttpRequest,
    search: &SearchRequest,
    shown: ProjectionSpec,
    window: Window,
    walk: Walk,
    budget: usize,
) -> Result<Found, ApiError> {
    let registry = state.registry().clone();
    let rt = ep.resource_type(&registry)?;
    let parsed = match search.filter.as_deref() {
        None => None,
        Some(text) if text.trim().is_empty() => None,
        Some(text) => {
            // Entra ID's documentation sends `externalId eq jyoung`, unquoted.
            let options = ParseOptions {
                allow_unquoted_values: true,
                ..ep.limits(state.config()).parse_options()
            };
            Some(
                options
                    .parse(text)
                    .map_err(|e| ScimError::invalid_filter(e.to_string()))?,
            )
        }
    };
    let compiled = parsed
        .as_ref()
        .map(|filter| CompiledFilter::compile(filter, rt))
        .transpose()?;
    let sort_attr = match search.sort_by.as_deref() {
        None => None,
        Some(text) => Some(scim_model::sort::sort_attribute(rt, text)?),
    };
    let descending = search.sort_order == Some(SortOrder::Descending);
    let location_prefix = format!("{}/", state.location(req, &[ep.path]));
    let query = ListQuery::new(
        ep.kind,
        state.store().dialect(),
        org,
        &Search {
            filter: compiled.as_ref(),
            sort: sort_attr.as_ref().map(|attr| (attr, descending)),
            offset: window.offset(),
            limit: window.count,
            location_prefix: Some(&location_prefix),
        },
    )
    .map_err(|e| ScimError::invalid_filter(e.to_string()))?;
    let base = state.base_url(req);
    let reg = registry.clone();
    state
        .with_conn(org, move |conn| {
            let rt = ep.resource_type(&reg)?;
            let projection = shown.projection(rt)?;
            let fields = ep.relation_fields(rt, &projection);
            let shown = Shown {
                rt,
                projection: &projection,
                fields,
            };
            let (total, items, positions, more, mut last) = match walk {
                Walk::Index => {
                    let page = resources::list(conn, &query)?;
                    (page.total, page.items, Vec::new(), false, None)
                }
                Walk::After(after) => {
                    let query = match after.clone() {
                        Some(position) => query.after(position).map_err(|_| invalid_cursor())?,
                        None => query,
                    };
                    let total = resources::count(conn, &query)?;
                    let page = paging::list_after(conn, &query)?;
                    let (items, positions) = page.items.into_iter().unzip();
                    (total, items, positions, page.more, after)
                }
            };
            // A user's groups are few and read for the whole page at once; a group's members
            // may be many and are read group by group.
            let mut related = if ep.kind.has_members() {
                Vec::new()
            } else {
                load_related(conn, ep, org, &items, fields)?
            }
            .into_iter();
            let mut positions = positions.into_iter();
            let mut found = Found {
                resources: Vec::with_capacity(items.len()),
                total,
                bytes: 0,
                truncated: false,
                more,
                last: None,
            };
            for record in &items {
                if found.bytes >= budget && !found.resources.is_empty() {
                    found.truncated = true;
                    found.more = true;
                    break;
                }
                let relation = if ep.kind.has_members() {
                    load_related(conn, ep, org, std::slice::from_ref(record), fields)?
                        .into_iter()
                        .next()
                } else {
                    related.next()
                };
                let bytes = render_bytes(
                    ep,
                    &base,
                    record,
                    relation.unwrap_or(Related::Hidden),
                    shown,
                )?;
                found.bytes += bytes.len();
                found.resources.push(bytes);
                if let Some(position) = positions.next() {
                    last = Some(position);
                }
            }
            found.last = last;
            Ok(found)
        })
        .await
}

/// A ListResponse (RFC 7644 §3.4.2) of already serialised resources, written around them.
fn list_response(
    resources: Vec<Vec<u8>>,
    total: i64,
    start_index: i64,
) -> Result<HttpResponse, ApiError> {
    let total = u64::try_from(total).unwrap_or(0);
    let start = u64::try_from(start_index).unwrap_or(1);
    envelope_around(
        ListResponse::<Value>::new(Vec::new(), total, start),
        resources,
    )
}

/// A cursor-paged ListResponse (RFC 9865 §2): no `startIndex`, `nextCursor` unless last.
fn cursor_response(
    resources: Vec<Vec<u8>>,
    total: i64,
    next: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let total = u64::try_from(total).unwrap_or(0);
    envelope_around(
        ListResponse::<Value>::with_cursor(Vec::new(), total, next),
        resources,
    )
}

/// `envelope` (with an empty list), serialised by the model's own message type, then the
/// resources spliced into its `Resources` array.
fn envelope_around(
    envelope: ListResponse<Value>,
    resources: Vec<Vec<u8>>,
) -> Result<HttpResponse, ApiError> {
    let mut head = serde_json::to_value(&envelope)
        .map_err(|e| ScimError::internal(format!("response serialisation failed: {e}")))?;
    if let Some(object) = head.as_object_mut() {
        object.insert("itemsPerPage".into(), Value::from(resources.len()));
        object.remove("Resources");
    }
    let mut bytes = serde_json::to_vec(&head)
        .map_err(|e| ScimError::internal(format!("response serialisation failed: {e}")))?;
    let size: usize = resources.iter().map(Vec::len).sum();
    bytes.reserve(size + resources.len() + 16);
    if bytes.pop() != Some(b'}') {
        return Err(ScimError::internal("a list response did not render as an object").into());
    }
    bytes.extend_from_slice(b",\"Resources\":[");
    for (i, resource) in resources.iter().enumerate() {
        if i > 0 {
            bytes.push(b',');
        }
        bytes.extend_from_slice(resource);
    }
    bytes.extend_from_slice(b"]}");
    Ok(scim_response(StatusCode::OK).body(bytes))
}

/// The interoperability profile an organisation runs under: how strictly bodies and PATCH
/// operations are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Profile {
    /// What today's identity providers send (the default): unknown attributes and schemas
    /// dropped, path-less PATCH, `"False"` for false, and the like.
    #[default]
    Tolerant,
    /// draft-zollner-scim-interop-profile for service providers: unknown attributes and schema
    /// URIs refused (§5.3), PATCH operations need a `path` (§6.5.1.1), a complex `replace`
    /// replaces the whole value (§6.5.2.1), values only from `canonicalValues` (§5.4).
    Strict,
}

impl Profile {
    /// The profile of the organisation `req` speaks for (set by authentication).
    pub(crate) fn of(req: &HttpRequest) -> Profile {
        let strict = actix_web::HttpMessage::extensions(req)
            .get::<crate::state::OrgSettings>()
            .is_some_and(|settings| settings.strict);
        if strict {
            Profile::Strict
        } else {
            Profile::Tolerant
        }
    }

    /// How POST and PUT bodies are validated.
    pub(crate) fn validation(self, limits: scim_model::limits::Limits) -> ValidationOptions {
        match self {
            Profile::Tolerant => ValidationOptions {
                limits,
                ..ValidationOptions::default()
            },
            Profile::Strict => ValidationOptions {
                limits,
                reject_unknown_schemas: true,
                ..ValidationOptions::strict()
            },
        }
    }

    /// How PATCH operations are read.
    pub(crate) fn patch(self, limits: scim_model::limits::Limits) -> PatchOptions {
        match self {
            Profile::Tolerant => PatchOptions {
                limits,
                ..PatchOptions::default()
            },
            Profile::Strict => PatchOptions {
                limits,
                complex_replace: patch::ComplexReplace::WholeValue,
                ..PatchOptions::strict()
            },
        }
    }
}

/// A PUT or PATCH, parsed and checked before any transaction: what `PUT`/`PATCH
/// /{endpoint}/{id}` and a bulk PUT or PATCH (RFC 7644 §3.7) share. [`write()`] applies it to the
/// locked resource.
#[derive(Debug)]
pub(crate) enum WritePlan {
    /// A PUT of this body (RFC 7644 §3.5.1).
    Replace {
        body: Value,
        options: ValidationOptions,
        max_members: usize,
    },
    /// A PATCH (RFC 7644 §3.5.2): the operations on the document, numbered as the client sent
    /// them, and a group's member changes.
    Modify {
        request: PatchRequest,
        numbers: Vec<usize>,
        members: Vec<MemberChange>,
        options: PatchOptions,
    },
}

/// What a PUT or PATCH makes of the current resource.
struct Rewrite {
    /// The new document, or `None` when it does not change.
    document: Option<Value>,
    /// The new password, which validation keeps out of `document`, to hash into it.
    password: Option<Password>,
    /// The attribute names the change touched, for the audit trail.
    attributes: Vec<String>,
    /// Member changes, for a group.
    members: Vec<MemberChange>,
}

impl WritePlan {
    /// A PUT of `body`.
    pub(crate) fn replace(
        ep: &Endpoint,
        config: &crate::ServerConfig,
        profile: Profile,
        body: Value,
    ) -> Self {
        WritePlan::Replace {
            body,
            options: profile.validation(ep.limits(config)),
            max_members: config.max_member_values,
        }
    }

    /// A PATCH of `request`, checked whole, its member operations split off for a group.
    ///
    /// # Errors
    /// 400 for a request beyond the limits or malformed member operations.
    pub(crate) fn modify(
        ep: &Endpoint,
        config: &crate::ServerConfig,
        profile: Profile,
        request: PatchRequest,
    ) -> Result<Self, ApiError> {
        let options = profile.patch(ep.limits(config));
        // The whole request, member operations included, before any of it is split off.
        patch::check_request(&request, &options)?;
        let split = if ep.kind.has_members() {
            members::split_patch(request, config.max_member_values)?
        } else {
            members::SplitPatch {
                document: request,
                numbers: Vec::new(),
                members: Vec::new(),
            }
        };
        Ok(WritePlan::Modify {
            request: split.document,
            numbers: split.numbers,
            members: split.members,
            options,
        })
    }

    fn patching(&self) -> bool {
        matches!(self, WritePlan::Modify { .. })
    }

    /// The passwords the write may store, to hash before the transaction.
    pub(crate) fn passwords(&self, ep: &Endpoint, out: &mut Vec<String>) {
        if !ep.has_password() {
            return;
        }
        match self {
            WritePlan::Replace { body, .. } => {
                if let Some(object) = body.as_object() {
                    passwords_in(object, out);
                }
            }
            WritePlan::Modify { request, .. } => out.extend(passwords_in_patch(request)),
        }
    }

    /// What the write makes of `existing` (whose stored document is `stored`, and which a
    /// client reads at `location`).
    fn rewrite(
        &self,
        ep: &Endpoint,
        rt: ResourceTypeView<'_>,
        existing: &Record,
        stored: &Value,
        location: &str,
    ) -> Result<Rewrite, ApiError> {
        match self {
            WritePlan::Replace {
                body,
                options,
                max_members,
            } => {
                let (mut document, password) =
                    validate_replace(body, stored, rt, options)?.into_parts();
                let mut attributes = stored_attribute_names(&document, password.as_ref());
                let mut changes = Vec::new();
                if ep.kind.has_members() {
                    // RFC 7644 §3.5.1 lets an omitted readWrite attribute be "not asserted": a
                    // PUT without `members` keeps them (a client that read the group without its
                    // members must not empty it by writing it back); `"members": []` empties
                    // it. Validation drops `[]` and `null` as unassigned; here they say "no
                    // members".
                    let asserted = body.as_object().is_some_and(|object| {
                        object.keys().any(|key| members::key_names_members(key))
                    });
                    let taken = members::take_members(&mut document, *max_members)?;
                    if let Some(ids) = taken.or(asserted.then(Vec::new)) {
                        changes.push(MemberChange::Replace(ids));
                        attributes.push("members".into());
                    }
                }
                Ok(Rewrite {
                    document: Some(document),
                    password,
                    attributes,
                    members: changes,
                })
            }
            WritePlan::Modify {
                request,
                numbers,
                members: changes,
                options,
            } => {
                let mut rewritten = Rewrite {
                    document: None,
                    password: None,
                    attributes: Vec::new(),
                    members: changes.clone(),
                };
                // A request with no operation at all still goes to the engine, which refuses it.
                if !request.operations.is_empty() || rewritten.members.is_empty() {
                    // The engine sees what the client sees, so `id` sent alongside (Okta)
                    // matches.
                    let patched = patch::apply_numbered(
                        &with_id_and_meta(ep, stored.clone(), existing, location.to_owned()),
                        request,
                        rt,
                        options,
                        numbers,
                    )?;
                    if patched.changed {
                        // The patched resource holds the stored hash unless an operation set a
                        // new password; validation tells the two apart.
                        let (document, password) = validate_replace(
                            &patched.resource,
                            stored,
                            rt,
                            &ValidationOptions {
                                limits: options.limits,
                                ..ValidationOptions::default()
                            },
                        )?
                        .into_parts();
                        rewritten.document = Some(document);
                        rewritten.password = password;
                        rewritten.attributes = patched.attributes;
                    }
                }
                Ok(rewritten)
            }
        }
    }
}

/// Who writes, and how passwords are hashed: what every write of one request shares.
pub(crate) struct Writer<'a> {
    pub(crate) org: OrgId,
    /// The token the change is recorded against.
    pub(crate) token: &'a str,
    pub(crate) hashing: Hashing<'a>,
    /// The endpoint's limits ([`Endpoint::limits`]).
    pub(crate) limits: Limits,
    /// Every served endpoint, for the references a declared type's resources hold.
    pub(crate) endpoints: &'a [&'static Endpoint],
}

/// Locks the resource `id` of `ep`, applies `plan` and writes the result with its event, inside
/// the caller's transaction, checking `expected` (an `If-Match`, or a bulk operation's
/// `version`). A write that changes nothing writes nothing and keeps the version.
///
/// The row lock makes concurrent writers of one resource take turns, so a client that sent no
/// `If-Match` never gets a 412 because another wrote first.
///
/// # Errors
/// 404 for no such live resource, 412 for a stale `expected`, 400/409 for a change the
/// resource cannot take; store failures.
#[expect(
    clippy::too_many_arguments,
    reason = "the parts of one write, each from a different place; a struct would only rename them"
)]
pub(crate) fn write(
    conn: &mut DbConnection,
    ep: &Endpoint,
    rt: ResourceTypeView<'_>,
    plan: &WritePlan,
    id: &str,
    expected: Option<i64>,
    location: &str,
    writer: &Writer<'_>,
) -> Result<Record, ApiError> {
    let org = writer.org;
    let existing = match resources::lock(conn, ep.kind, org, id, expected) {
        Err(StoreError::NotFound) => return Err(ep.not_found(id)),
        other => other?,
    };
    let stored = stored_document(&existing)?;
    let Rewrite {
        document,
        password,
        mut attributes,
        members: changes,
    } = plan.rewrite(ep, rt, &existing, &stored, location)?;
    let members_changed =
        !changes.is_empty() && members::apply(conn, org, &existing.id, changes, rt, writer.token)?;
    if members_changed && !attributes.iter().any(|a| a == "members") {
        attributes.push("members".into());
    }
    match (document, members_changed) {
        (None, false) => Ok(existing),
        (document, _) => {
            let mut document = document.unwrap_or(stored.clone());
            if ep.has_password() {
                store_password(&mut document, password, &writer.hashing)?;
            }
            references::resolve(
                conn,
                ep,
                writer.endpoints,
                org,
                rt,
                &existing.id,
                Some(&stored),
                &mut document,
            )?;
            writer.limits.check_document(&document)?;
            // An unassigned `active` never reactivates (`Columns::derive_keeping`).
            let update = Columns::derive_keeping(&document, rt, ep.kind, existing.active)
                .into_update(Some(writer.token.to_owned()), attributes);
            resources::replace_locked(conn, ep.kind, org, &existing, &update)
                .map_err(|e| ep.conflict(e))
        }
    }
}

async fn replace(
    ep: &'static Endpoint,
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: ScimJson<Value>,
) -> Result<HttpResponse, ApiError> {
    let plan = WritePlan::replace(ep, state.config(), Profile::of(&req), body.into_inner());
    rewrite(ep, auth, &state, &req, id.into_inner(), plan).await
}

async fn modify(
    ep: &'static Endpoint,
    auth: Authenticated,
    state: web::Data<ScimState>,
    req: HttpRequest,
    id: web::Path<String>,
    body: ScimJson<PatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let plan = WritePlan::modify(ep, state.config(), Profile::of(&req), body.into_inner())?;
    rewrite(ep, auth, &state, &req, id.into_inner(), plan).await
}

/// Runs `plan` on the resource in one transaction ([`write()`]), honouring `If-Match`; answers
/// 200 with the result, or 204 under `Prefer: return=minimal`.
async fn rewrite(
    ep: &'static Endpoint,
    auth: Authenticated,
    state: &ScimState,
    req: &HttpRequest,
    id: String,
    plan: WritePlan,
) -> Result<HttpResponse, ApiError> {
    let registry = state.registry().clone();
    let params = Params::of(req)?;
    let rt = ep.resource_type(&registry)?;
    let limits = ep.limits(state.config());
    let projection = params.projection(rt, &limits)?;
    // A PUT's answer carries a group's members only when asked for by name: the client sent
    // them, and a group may have 100,000 members.
    let fields = match ep.relation() {
        Some(relation) if ep.kind.has_members() && !params.asks_for(relation) => None,
        _ => ep.relation_fields(rt, &projection),
    };
    // RFC 7644 §3.5.2: a PATCH answers 200 with the entire resource or 204. A group's entire
    // resource holds every member, so a group PATCH answers 204 unless the client names the
    // attributes it wants back (`attributes=members` included).
    let minimal = prefers_minimal(req)
        || (plan.patching() && ep.kind.has_members() && params.get("attributes").is_none());
    let expected = if_match(req);
    let token = auth.token_id.as_str().to_owned();
    let org = auth.org;
    let mut passwords = Vec::new();
    plan.passwords(ep, &mut passwords);
    let prehashed = prehash(state, org, passwords, MAX_PASSWORDS_PER_REQUEST).await?;
    let verifier = state.verifier().clone();
    let location = state.location(req, &[ep.path, &id]);
    let reg = registry.clone();
    let endpoints = state.endpoints().to_vec();
    let (record, related) = state
        .transaction(org, move |conn| {
            let rt = ep.resource_type(&reg)?;
            let writer = Writer {
                org,
                token: &token,
                hashing: Hashing {
                    prehashed: &prehashed,
                    verifier: &verifier,
                    org,
                },
                limits,
                endpoints: &endpoints,
            };
            let record = write(conn, ep, rt, &plan, &id, expected, &location, &writer)?;
            let related = load_related(conn, ep, org, std::slice::from_ref(&record), fields)?;
            Ok((record, related))
        })
        .await?;
    if minimal {
        return Ok(HttpResponse::NoContent()
            .insert_header((header::ETAG, etag(record.version)))
            .finish());
    }
    let related = related.into_iter().next().unwrap_or(Related::Hidden);
    one_response(
        ep,
        state,
        req,
        StatusCode::OK,
        &record,
        related,
        Shown {
            rt,
            projection: &projection,
            fields,
        },
    )
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

/// Deletes the resource `id` of `ep` (as the configured mode says) with its event, inside the
/// caller's transaction, checking `expected` (an `If-Match`, or a bulk operation's `version`).
///
/// # Errors
/// 404 for no such live resource, 412 for a stale `expected`; store failures.
pub(crate) fn remove(
    conn: &mut DbConnection,
    ep: &Endpoint,
    org: OrgId,
    id: &str,
    mode: scim_store::users::DeleteMode,
    expected: Option<i64>,
    token: &str,
) -> Result<(), ApiError> {
    match resources::delete(conn, ep.kind, org, id, mode, expected, Some(token)) {
        Err(StoreError::NotFound) => Err(ep.not_found(id)),
        other => Ok(other?),
    }
}

async fn delete(
    ep: &'static Endpoint,
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
        .transaction(org, move |conn| {
            remove(conn, ep, org, &id, mode, expected, &token)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
