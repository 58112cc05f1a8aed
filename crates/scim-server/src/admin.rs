//! The admin API (`/admin/v1` in `scimd`): what the host application and the operator ask of
//! the server beside SCIM — the change feed, the session check at sign-in, the "managed by
//! SCIM" flag and webhooks. JSON in and out; failures are RFC 9457 problem documents.
//!
//! Callers present an admin token (`scimd admin-token create`), never a SCIM token: the two
//! are kept in different tables, so a SCIM token gets 401 here and an admin token 401 on SCIM.
//! An admin token limited to some organisations gets 404 for the others, as if they did not
//! exist. Organisations are named by their name in paths.
//!
//! | Route | What |
//! |---|---|
//! | `GET /orgs` | the organisations the token covers |
//! | `POST /orgs` | create one (`{"name": …}`; admin tokens covering every organisation only) |
//! | `GET, POST /orgs/{org}/tokens` | SCIM tokens: list (never a secret), create (shown once) |
//! | `DELETE /orgs/{org}/tokens/{id}` | revoke a SCIM token |
//! | `GET /orgs/{org}/audit?resourceType=&resourceId=&tokenId=&since=&until=&after=&limit=` | the audit trail: events filtered by resource, token and time |
//! | `GET, PATCH /orgs/{org}` | one of them; PATCH sets `scimManaged` (true, false or null) |
//! | `GET /orgs/{org}/events?after=&limit=&wait=` | the change feed ([`events`]) |
//! | `GET /orgs/{org}/users/{id}/session` | `active` and `sessionVersion` of a user |
//! | `GET /orgs/{org}/users/session?userName=` | the same, by userName |
//! | `GET, POST /orgs/{org}/webhooks` | list, add (the secret is shown once) |
//! | `GET, DELETE /orgs/{org}/webhooks/{id}` | status (delivered seq, backlog, last error), remove |
//! | `POST /orgs/{org}/webhooks/{id}/rotate-secret` | a new secret; the old one signs too for a day |
//! | `POST /orgs/{org}/webhooks/{id}/resume` | restart a paused webhook |

use std::future::{ready, Ready};
use std::time::{Duration, Instant, SystemTime};

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{HttpServiceFactory, Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use scim_auth::{bearer_token, AuthError, StoredToken, TokenId, TokenSource, Verifier};
use scim_model::error::ScimError;
use scim_model::value::format_date_time;
use scim_store::events::{self, EventRecord};
use scim_store::orgs::{self, Organization, RateLimit};
use scim_store::resources::{self, USERS};
use scim_store::webhooks::{self as stored_webhooks, WebhookRecord};
use scim_store::{admin_tokens, DbConnection, Store, StoreError};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::{webhooks, ScimState};

/// The verifier of admin tokens.
pub type AdminVerifier = Verifier<AdminTokenSource>;

/// Reads admin token rows for the [`AdminVerifier`].
#[derive(Debug, Clone)]
pub struct AdminTokenSource {
    store: Store,
}

impl AdminTokenSource {
    /// A source over `store`.
    pub fn new(store: Store) -> Self {
        AdminTokenSource { store }
    }
}

impl TokenSource for AdminTokenSource {
    type Error = StoreError;

    fn find(&self, id: &TokenId) -> Result<Option<StoredToken>, StoreError> {
        let mut conn = self.store.get()?;
        Ok(
            admin_tokens::find_by_id(&mut conn, id.as_str())?.map(|record| StoredToken {
                id: id.clone(),
                // Which organisations it covers is checked per request ([`Admin::org`]).
                org_id: 0,
                name: record.name,
                phc_hash: record.secret_hash,
                expires_at: record.expires_at,
                revoked: record.revoked_at.is_some(),
            }),
        )
    }
}

/// Longest a feed request may wait for new events (`wait`).
pub const MAX_FEED_WAIT: Duration = Duration::from_secs(60);

/// Most events one feed page returns (`limit`); the default is 100.
pub const MAX_FEED_LIMIT: i64 = 1_000;

/// How often a waiting feed request reads the outbox again when no write of this process
/// woke it: bounds how late it sees a write made by another replica.
const FEED_POLL: Duration = Duration::from_millis(500);

/// An error of the admin API: an [`ApiError`] rendered as a problem document, with optional
/// extra members.
#[derive(Debug)]
pub struct Problem {
    error: ApiError,
    extra: Option<Map<String, Value>>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.error.status_code()
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        self.error.problem_response(self.extra.as_ref())
    }
}

impl From<ApiError> for Problem {
    fn from(error: ApiError) -> Self {
        Problem { error, extra: None }
    }
}

impl From<ScimError> for Problem {
    fn from(error: ScimError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        ApiError::from(error).into()
    }
}

impl From<AuthError> for Problem {
    fn from(error: AuthError) -> Self {
        ApiError::from(error).into()
    }
}

fn bad_request(detail: impl Into<String>) -> Problem {
    ScimError::new(400, None, detail.into()).into()
}

fn not_found(detail: impl Into<String>) -> Problem {
    ScimError::not_found(detail.into()).into()
}

/// The admin API as a scope at `path` (e.g. `/admin/v1`), to mount beside the SCIM scope.
pub fn admin_scope(path: &str, state: ScimState) -> impl HttpServiceFactory {
    let auth_state = state.clone();
    let problem = |error: actix_web::Error| -> actix_web::Error {
        let detail = error.to_string();
        Problem::from(ScimError::new(400, None, detail)).into()
    };
    web::scope(path)
        .app_data(web::Data::new(state))
        .app_data(
            web::JsonConfig::default()
                .limit(64 * 1024)
                .error_handler(move |error, _| problem(error.into())),
        )
        .app_data(web::QueryConfig::default().error_handler(move |error, _| problem(error.into())))
        .app_data(web::PathConfig::default().error_handler(move |error, _| problem(error.into())))
        .service(
            admin_resource("/orgs", &[Method::GET, Method::POST])
                .route(web::get().to(list_orgs))
                .route(web::post().to(create_org)),
        )
        .service(
            admin_resource("/orgs/{org}/tokens", &[Method::GET, Method::POST])
                .route(web::get().to(list_tokens))
                .route(web::post().to(create_token)),
        )
        .service(
            admin_resource("/orgs/{org}/tokens/{id}", &[Method::DELETE])
                .route(web::delete().to(revoke_token)),
        )
        .service(admin_resource("/orgs/{org}/audit", &[Method::GET]).route(web::get().to(audit)))
        .service(
            admin_resource("/orgs/{org}", &[Method::GET, Method::PATCH])
                .route(web::get().to(get_org))
                .route(web::patch().to(patch_org)),
        )
        .service(admin_resource("/orgs/{org}/events", &[Method::GET]).route(web::get().to(feed)))
        .service(
            admin_resource("/orgs/{org}/users/session", &[Method::GET])
                .route(web::get().to(session_by_name)),
        )
        .service(
            admin_resource("/orgs/{org}/users/{id}/session", &[Method::GET])
                .route(web::get().to(session_by_id)),
        )
        .service(
            admin_resource("/orgs/{org}/webhooks", &[Method::GET, Method::POST])
                .route(web::get().to(list_webhooks))
                .route(web::post().to(add_webhook)),
        )
        .service(
            admin_resource("/orgs/{org}/webhooks/{id}", &[Method::GET, Method::DELETE])
                .route(web::get().to(get_webhook))
                .route(web::delete().to(remove_webhook)),
        )
        .service(
            admin_resource("/orgs/{org}/webhooks/{id}/rotate-secret", &[Method::POST])
                .route(web::post().to(rotate_webhook_secret)),
        )
        .service(
            admin_resource("/orgs/{org}/webhooks/{id}/resume", &[Method::POST])
                .route(web::post().to(resume_webhook)),
        )
        .default_service(web::to(|| async {
            Problem::from(ScimError::not_found("no such endpoint")).error_response()
        }))
        .wrap(from_fn(move |req, next| {
            authenticate(auth_state.clone(), req, next)
        }))
}

/// A resource whose other methods get 405 with `Allow`.
fn admin_resource(path: &str, allowed: &'static [Method]) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move |req: HttpRequest| async move {
        crate::routes::method_not_allowed_as(&req, allowed, |error| {
            Problem::from(error).error_response()
        })
    }))
}

/// The caller of an admin route: the admin token it presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// The admin token's id.
    pub token_id: TokenId,
}

impl FromRequest for Admin {
    type Error = Problem;
    type Future = Ready<Result<Self, Problem>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(req.extensions().get::<Admin>().cloned().ok_or_else(|| {
            Problem::from(ScimError::internal(
                "Admin extracted on a route without the admin authentication middleware",
            ))
        }))
    }
}

impl Admin {
    /// The organisation named `name`, if this token covers it; 404 otherwise, so a limited
    /// token learns nothing of the organisations it does not cover.
    fn org(&self, conn: &mut DbConnection, name: &str) -> Result<Organization, Problem> {
        let hidden = || not_found(format!("no organisation named {name:?}"));
        let org = orgs::by_name(conn, name)?.ok_or_else(hidden)?;
        let token = admin_tokens::find_by_id(conn, self.token_id.as_str())?
            .ok_or_else(|| Problem::from(AuthError::Unknown))?;
        if token.covers(org.id) {
            Ok(org)
        } else {
            Err(hidden())
        }
    }
}

async fn authenticate<B: MessageBody + 'static>(
    state: ScimState,
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    match verify(&state, &req).await {
        Ok(admin) => {
            req.extensions_mut().insert(admin);
            state.ensure_background_tasks();
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(problem) => Ok(req.error_response(problem).map_into_right_body()),
    }
}

async fn verify(state: &ScimState, req: &ServiceRequest) -> Result<Admin, Problem> {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|value| String::from_utf8_lossy(value.as_bytes()));
    let token = bearer_token(header.as_deref().ok_or(AuthError::Missing)?)?.to_owned();
    let client = crate::auth::client_of(state, req);
    let verifier = state.admin_verifier().clone();
    if let Some(answer) = verifier.verify_cached(&token, &client) {
        return Ok(Admin {
            token_id: answer?.token_id,
        });
    }
    let context = web::block(move || verifier.verify(&token, &client))
        .await
        .map_err(ApiError::from)??;
    Ok(Admin {
        token_id: context.token_id,
    })
}

/// An organisation as the admin API shows it. `rateLimit` is its own limit, or the server's
/// default (`rateLimitIsDefault`), or null for none.
fn org_json(org: &Organization, default_limit: Option<RateLimit>) -> Value {
    let limit = org.rate_limit.or(default_limit);
    json!({
        "id": org.id.0,
        "name": org.name,
        "createdAt": format_date_time(&org.created_at.into()),
        "scimManaged": org.is_scim_managed(),
        "rateLimit": limit.map(|limit| json!({
            "perSecond": limit.per_second,
            "burst": limit.burst,
        })),
        "rateLimitIsDefault": org.rate_limit.is_none(),
        "interopProfile": if org.strict_profile { "strict" } else { "tolerant" },
    })
}

/// Runs `f` with a connection on a blocking thread, outside every organisation's share: admin
/// reads are short.
async fn blocking<T, F>(state: &ScimState, f: F) -> Result<T, Problem>
where
    F: FnOnce(&mut DbConnection) -> Result<T, Problem> + Send + 'static,
    T: Send + 'static,
{
    let store = state.store().clone();
    web::block(move || {
        let mut conn = store.get().map_err(Problem::from)?;
        f(&mut conn)
    })
    .await
    .map_err(ApiError::from)?
}

async fn list_orgs(admin: Admin, state: web::Data<ScimState>) -> Result<HttpResponse, Problem> {
    let default_limit = state.config().rate_limit;
    let listed = blocking(&state, move |conn| {
        let token = admin_tokens::find_by_id(conn, admin.token_id.as_str())?
            .ok_or_else(|| Problem::from(AuthError::Unknown))?;
        Ok(orgs::list(conn)?
            .into_iter()
            .filter(|org| token.covers(org.id))
            .map(|org| org_json(&org, default_limit))
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "organizations": listed })))
}

/// `POST /orgs`: `{"name": "..."}`; only an admin token covering every organisation may.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewOrg {
    name: String,
}

async fn create_org(
    admin: Admin,
    state: web::Data<ScimState>,
    body: web::Json<NewOrg>,
) -> Result<HttpResponse, Problem> {
    let name = body.into_inner().name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 || name.contains('/') {
        return Err(bad_request(
            "an organisation name is 1 to 200 characters, without '/'",
        ));
    }
    let default_limit = state.config().rate_limit;
    let org = blocking(&state, move |conn| {
        let token = admin_tokens::find_by_id(conn, admin.token_id.as_str())?
            .ok_or_else(|| Problem::from(AuthError::Unknown))?;
        if token.orgs.is_some() {
            return Err(ScimError::new(
                403,
                None,
                "this admin token is limited to some organisations and cannot create others",
            )
            .into());
        }
        match orgs::create(conn, &name) {
            Err(StoreError::UniqueViolation { .. }) => {
                Err(
                    ScimError::new(409, None, format!("an organisation named {name:?} exists"))
                        .into(),
                )
            }
            other => Ok(other?),
        }
    })
    .await?;
    Ok(HttpResponse::Created().json(org_json(&org, default_limit)))
}

/// A SCIM token as the admin API lists it: never its secret or hash.
fn token_json(token: &scim_store::tokens::TokenRecord) -> Value {
    let time = |t: Option<SystemTime>| t.map(|t| format_date_time(&t.into()));
    json!({
        "id": token.id,
        "name": token.name,
        "createdAt": format_date_time(&token.created_at.into()),
        "expiresAt": time(token.expires_at),
        "revokedAt": time(token.revoked_at),
        "lastUsedAt": time(token.last_used_at),
    })
}

async fn list_tokens(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let name = path.into_inner();
    let listed = blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        Ok(scim_store::tokens::list(conn, org.id)?
            .iter()
            .map(token_json)
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "tokens": listed })))
}

/// `POST /orgs/{org}/tokens`: `{"name": "...", "expiresIn": seconds}` (expiresIn optional).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewToken {
    name: String,
    expires_in: Option<u64>,
}

async fn create_token(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<String>,
    body: web::Json<NewToken>,
) -> Result<HttpResponse, Problem> {
    let org_name = path.into_inner();
    let NewToken { name, expires_in } = body.into_inner();
    let expires_at = match expires_in {
        None => None,
        Some(0) => return Err(bad_request("expiresIn must be positive (seconds)")),
        Some(secs) => Some(
            SystemTime::now()
                .checked_add(Duration::from_secs(secs))
                .filter(|_| secs <= 100 * 365 * 24 * 3600)
                .ok_or_else(|| bad_request("expiresIn is too far ahead"))?,
        ),
    };
    let params = state.verifier().config().argon2.clone();
    let (record, token) = blocking(&state, move |conn| {
        let org = admin.org(conn, &org_name)?;
        let issued =
            crate::issue_token(conn, org.id, &name, expires_at, &params).map_err(|error| {
                match error {
                    crate::IssueError::NameTaken(_) => ScimError::new(409, None, error.to_string()),
                    crate::IssueError::Store(error) => return Problem::from(error),
                    other => ScimError::new(400, None, other.to_string()),
                }
                .into()
            })?;
        let record = scim_store::tokens::find_by_id(conn, issued.id().as_str())?
            .ok_or_else(|| Problem::from(ScimError::internal("the new token is missing")))?;
        Ok((record, issued.expose_token().to_owned()))
    })
    .await?;
    let mut shown = token_json(&record);
    if let Some(object) = shown.as_object_mut() {
        object.insert("token".into(), token.into());
    }
    Ok(HttpResponse::Created().json(shown))
}

async fn revoke_token(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (name, id) = path.into_inner();
    let revoked = blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        match crate::revoke_token(conn, Some(org.id), &id) {
            Err(StoreError::NotFound) => Err(not_found(format!("no token with id {id:?}"))),
            other => Ok(other?),
        }
    })
    .await?;
    if let Ok(id) = TokenId::parse(&revoked.id) {
        state.verifier().forget(&id);
    }
    Ok(HttpResponse::NoContent().finish())
}

/// The audit trail's query: the feed's `after` and `limit`, and filters.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AuditQuery {
    #[serde(default)]
    after: i64,
    limit: Option<i64>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    token_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
}

/// `GET /orgs/{org}/audit`: the events, filtered by resource, token and time, a page at a time.
async fn audit(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<String>,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, Problem> {
    let query = query.into_inner();
    let limit = query.limit.unwrap_or(100);
    if !(1..=MAX_FEED_LIMIT).contains(&limit) || query.after < 0 {
        return Err(bad_request(format!(
            "limit must be between 1 and {MAX_FEED_LIMIT}, after 0 or more"
        )));
    }
    let time = |text: &Option<String>, what: &str| -> Result<Option<SystemTime>, Problem> {
        text.as_deref()
            .map(|text| {
                scim_model::value::parse_date_time(text)
                    .map(SystemTime::from)
                    .ok_or_else(|| bad_request(format!("{what} must be an RFC 3339 date-time")))
            })
            .transpose()
    };
    // A served type's name (declared ones included), as events record it.
    let resource_type = query
        .resource_type
        .as_deref()
        .map(|name| {
            let served = state.registry().resource_type(name).ok_or_else(|| {
                let names: Vec<&str> = state
                    .registry()
                    .resource_types()
                    .map(|rt| rt.name())
                    .collect();
                bad_request(format!("resourceType must be one of {}", names.join(", ")))
            })?;
            served
                .name()
                .parse::<scim_store::events::ResourceType>()
                .map_err(|_| bad_request("resourceType is not a resource type name"))
        })
        .transpose()?;
    let filter = scim_store::events::EventFilter {
        resource_type,
        resource_id: query.resource_id,
        token_id: query.token_id,
        since: time(&query.since, "since")?,
        until: time(&query.until, "until")?,
    };
    let name = path.into_inner();
    let after = query.after;
    let found = blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        Ok(events::search(conn, org.id, &filter, after, limit)?)
    })
    .await?;
    let next = found.last().map_or(after, |event| event.seq);
    let listed: Vec<Value> = found.iter().map(event_json).collect();
    Ok(HttpResponse::Ok().json(json!({ "events": listed, "next": next })))
}

async fn get_org(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let name = path.into_inner();
    let org = blocking(&state, move |conn| admin.org(conn, &name)).await?;
    Ok(HttpResponse::Ok().json(org_json(&org, state.config().rate_limit)))
}

/// `PATCH /orgs/{org}`: any of `{"scimManaged": true | false | null, "rateLimit": {"perSecond":
/// n, "burst": n} | null, "interopProfile": "strict" | "tolerant"}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OrgPatch {
    /// Present (possibly null) to change the flag.
    #[serde(default, deserialize_with = "present")]
    scim_managed: Option<Option<bool>>,
    /// Present (possibly null, for the server's default) to change the limit.
    #[serde(default, deserialize_with = "present")]
    rate_limit: Option<Option<RateLimitBody>>,
    interop_profile: Option<Profile>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RateLimitBody {
    per_second: u32,
    burst: u32,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Profile {
    Strict,
    Tolerant,
}

/// Tells a member given as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

async fn patch_org(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<String>,
    body: web::Json<OrgPatch>,
) -> Result<HttpResponse, Problem> {
    let name = path.into_inner();
    let patch = body.into_inner();
    if patch.scim_managed.is_none() && patch.rate_limit.is_none() && patch.interop_profile.is_none()
    {
        return Err(bad_request(
            "nothing to change: send scimManaged, rateLimit or interopProfile",
        ));
    }
    let rate_limit = patch
        .rate_limit
        .map(|limit| {
            limit
                .map(|body| checked_rate_limit(body.per_second, body.burst))
                .transpose()
        })
        .transpose()
        .map_err(bad_request)?;
    let org = blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        // All of the PATCH or none of it.
        let changed = scim_store::savepoint(conn, |conn| {
            let mut changed = org.clone();
            if let Some(managed) = patch.scim_managed {
                changed = orgs::set_scim_managed(conn, org.id, managed)?;
            }
            if let Some(limit) = rate_limit {
                changed = orgs::set_rate_limit(conn, org.id, limit)?;
            }
            if let Some(profile) = patch.interop_profile {
                changed = orgs::set_strict_profile(conn, org.id, profile == Profile::Strict)?;
            }
            Ok::<_, ApiError>(changed)
        })?;
        Ok(changed)
    })
    .await?;
    state.forget_scim_managed(org.id);
    state.forget_org_settings(org.id);
    Ok(HttpResponse::Ok().json(org_json(&org, state.config().rate_limit)))
}

/// A rate limit as operators may set it: at least 1 request/s and a burst of at least 1, at
/// most [`MAX_RATE_LIMIT`].
///
/// # Errors
/// The message saying what is wrong.
pub fn checked_rate_limit(per_second: u32, burst: u32) -> Result<RateLimit, String> {
    if per_second == 0 || burst == 0 || per_second > MAX_RATE_LIMIT || burst > MAX_RATE_LIMIT {
        return Err(format!(
            "a rate limit needs perSecond and burst between 1 and {MAX_RATE_LIMIT}"
        ));
    }
    Ok(RateLimit { per_second, burst })
}

/// The highest rate limit and burst an operator may set.
pub const MAX_RATE_LIMIT: u32 = 1_000_000;

/// The feed's query: `after` (a seq, default 0), `limit` (1–1000, default 100) and `wait` (how
/// long to hold the request open when there is nothing new: `30s`, `500ms` or seconds).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedQuery {
    #[serde(default)]
    after: i64,
    limit: Option<i64>,
    wait: Option<String>,
}

/// Parses `wait`: `30s`, `1500ms`, or a bare number of seconds; at most [`MAX_FEED_WAIT`].
fn parse_wait(wait: &str) -> Result<Duration, Problem> {
    let bad = || {
        bad_request(format!(
            "wait must be a duration such as 30s or 500ms, at most {}s",
            MAX_FEED_WAIT.as_secs()
        ))
    };
    let wait = wait.trim();
    let (digits, millis) = if let Some(ms) = wait.strip_suffix("ms") {
        (ms, true)
    } else {
        (wait.strip_suffix('s').unwrap_or(wait), false)
    };
    if digits.is_empty() || digits.len() > 9 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let duration = if millis {
        Duration::from_millis(n)
    } else {
        Duration::from_secs(n)
    };
    if duration > MAX_FEED_WAIT {
        return Err(bad());
    }
    Ok(duration)
}

/// One event as the feed and webhooks show it. `attributes` names what changed (never the
/// values: read the resource for its state); a kind's `data` (`sessionVersion`, `members`) is
/// merged in.
pub(crate) fn event_json(event: &EventRecord) -> Value {
    let mut object = Map::new();
    object.insert("seq".into(), event.seq.into());
    object.insert("kind".into(), event.kind.as_str().into());
    object.insert("resourceType".into(), event.resource_type.as_str().into());
    object.insert("resourceId".into(), event.resource_id.clone().into());
    object.insert(
        "tokenId".into(),
        event.token_id.clone().map_or(Value::Null, Value::from),
    );
    object.insert(
        "occurredAt".into(),
        format_date_time(&event.occurred_at.into()).into(),
    );
    object.insert("attributes".into(), event.attributes.clone().into());
    if let Some(Value::Object(data)) = &event.data {
        for (key, value) in data {
            object.entry(key.clone()).or_insert_with(|| value.clone());
        }
    }
    Value::Object(object)
}

/// One read of the feed: the page, or the 410 a consumer behind retention gets.
enum FeedRead {
    Page {
        events: Vec<EventRecord>,
        managed: bool,
    },
    Gone {
        pruned_through: i64,
        latest: i64,
    },
}

fn read_feed(
    conn: &mut DbConnection,
    org: &Organization,
    after: i64,
    limit: i64,
) -> Result<FeedRead, Problem> {
    let pruned_through = events::pruned_through(conn, org.id)?;
    if after < pruned_through {
        return Ok(FeedRead::Gone {
            pruned_through,
            latest: events::latest_seq(conn, org.id)?,
        });
    }
    let events = events::list_after(conn, org.id, after, limit)?;
    let managed = if events.is_empty() {
        org.is_scim_managed()
    } else {
        orgs::by_id(conn, org.id)?.is_some_and(|org| org.is_scim_managed())
    };
    Ok(FeedRead::Page { events, managed })
}

/// `GET /orgs/{org}/events`: the organisation's events after `after`, in commit order.
///
/// With `wait`, a request that finds nothing new waits for the next write (woken at once by
/// writes of this process, and reading again every half second for other replicas'), up to
/// `wait`, and answers with an empty page if nothing came. `next` is the `after` of the next
/// request. A consumer whose `after` is below what retention kept gets 410 with `resyncFrom`:
/// read the resources afresh, then follow the feed from that seq.
async fn feed(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<String>,
    query: web::Query<FeedQuery>,
) -> Result<HttpResponse, Problem> {
    let FeedQuery { after, limit, wait } = query.into_inner();
    if after < 0 {
        return Err(bad_request("after must be a seq, 0 or more"));
    }
    let limit = limit.unwrap_or(100);
    if !(1..=MAX_FEED_LIMIT).contains(&limit) {
        return Err(bad_request(format!(
            "limit must be between 1 and {MAX_FEED_LIMIT}"
        )));
    }
    let wait = wait
        .as_deref()
        .map(parse_wait)
        .transpose()?
        .unwrap_or_default();
    let name = path.into_inner();
    let org = blocking(&state, move |conn| admin.org(conn, &name)).await?;
    let deadline = Instant::now() + wait;
    let mut slot = None;
    loop {
        // Registered before the read, so a commit between the read and the wait still wakes it.
        let signal = state.feed_signal();
        let woken = signal.notified();
        let mut woken = std::pin::pin!(woken);
        woken.as_mut().enable();
        let read_org = org.clone();
        let read = blocking(&state, move |conn| read_feed(conn, &read_org, after, limit)).await?;
        let (events, managed) = match read {
            FeedRead::Gone {
                pruned_through,
                latest,
            } => {
                let mut extra = Map::new();
                extra.insert("prunedThrough".into(), pruned_through.into());
                extra.insert("resyncFrom".into(), latest.into());
                return Err(Problem {
                    error: ScimError::new(
                        410,
                        None,
                        format!(
                            "events up to seq {pruned_through} are past retention: read the \
                             resources afresh, then follow the feed from seq {latest} (resyncFrom)"
                        ),
                    )
                    .into(),
                    extra: Some(extra),
                });
            }
            FeedRead::Page { events, managed } => (events, managed),
        };
        let now = Instant::now();
        if !events.is_empty() || now >= deadline {
            let next = events.last().map_or(after, |event| event.seq);
            let listed: Vec<Value> = events.iter().map(event_json).collect();
            return Ok(HttpResponse::Ok().json(json!({
                "events": listed,
                "next": next,
                "scimManaged": managed,
            })));
        }
        if slot.is_none() {
            slot = Some(
                state
                    .feed_waiter(org.id)
                    .ok_or_else(|| Problem::from(ApiError::OrgBusy))?,
            );
        }
        let nap = (deadline - now).min(FEED_POLL);
        let _ = actix_web::rt::time::timeout(nap, woken).await;
    }
}

/// A user's session state, as the host application checks it at sign-in.
fn session_json(record: &resources::Record) -> Value {
    json!({
        "id": record.id,
        "userName": record.name,
        "active": record.active,
        "sessionVersion": record.session_version,
    })
}

async fn session_by_id(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (name, id) = path.into_inner();
    let record = blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        resources::get(conn, &USERS, org.id, &id)?
            .ok_or_else(|| not_found(format!("no user with id {id:?}")))
    })
    .await?;
    Ok(HttpResponse::Ok().json(session_json(&record)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ByUserName {
    user_name: String,
}

async fn session_by_name(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<String>,
    query: web::Query<ByUserName>,
) -> Result<HttpResponse, Problem> {
    let name = path.into_inner();
    let user_name = query.into_inner().user_name;
    if user_name.is_empty() || user_name.len() > 1024 {
        return Err(bad_request("userName must be 1 to 1024 bytes"));
    }
    let record = blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        resources::get_by_name(conn, &USERS, org.id, &user_name)?
            .ok_or_else(|| not_found(format!("no user with userName {user_name:?}")))
    })
    .await?;
    Ok(HttpResponse::Ok().json(session_json(&record)))
}

/// A webhook as the admin API shows it: never its secret.
fn webhook_json(webhook: &WebhookRecord, backlog: Option<stored_webhooks::Backlog>) -> Value {
    let time = |t: Option<SystemTime>| t.map(|t| format_date_time(&t.into()));
    let mut value = json!({
        "id": webhook.id,
        "url": webhook.url,
        "events": webhook.kinds.as_ref().map(|kinds| {
            kinds.iter().map(|kind| kind.as_str()).collect::<Vec<_>>()
        }),
        "createdAt": format_date_time(&webhook.created_at.into()),
        "deliveredSeq": webhook.delivered_seq,
        "failures": webhook.failures,
        "paused": webhook.paused,
        "lastError": webhook.last_error,
        "lastAttemptAt": time(webhook.last_attempt_at),
        "lastDeliveredAt": time(webhook.last_delivered_at),
    });
    if let (Some(backlog), Some(object)) = (backlog, value.as_object_mut()) {
        object.insert("pendingEvents".into(), backlog.events.into());
        let lag = backlog.oldest.map(|oldest| {
            SystemTime::now()
                .duration_since(oldest)
                .unwrap_or_default()
                .as_secs()
        });
        object.insert("lagSeconds".into(), lag.map_or(Value::Null, Value::from));
    }
    value
}

async fn list_webhooks(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let name = path.into_inner();
    let listed = blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        let mut listed = Vec::new();
        for webhook in stored_webhooks::list(conn, org.id)? {
            let backlog = stored_webhooks::backlog(conn, &webhook)?;
            listed.push(webhook_json(&webhook, Some(backlog)));
        }
        Ok(listed)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "webhooks": listed })))
}

/// `POST /orgs/{org}/webhooks`: `{"url": "...", "events": ["deactivated", ...]}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewWebhookBody {
    url: String,
    events: Option<Vec<String>>,
}

async fn add_webhook(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<String>,
    body: web::Json<NewWebhookBody>,
) -> Result<HttpResponse, Problem> {
    let name = path.into_inner();
    let NewWebhookBody { url, events } = body.into_inner();
    let kinds = events
        .map(|kinds| webhooks::parse_kinds(&kinds))
        .transpose()
        .map_err(bad_request)?;
    let created = blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        webhooks::add(conn, org.id, &url, kinds).map_err(|error| match error {
            webhooks::AddError::Refused(detail) => bad_request(detail),
            webhooks::AddError::Store(error) => error.into(),
            webhooks::AddError::Random => {
                ApiError::from(ScimError::internal("the system's random source failed")).into()
            }
        })
    })
    .await?;
    state.wake_webhooks();
    let mut shown = webhook_json(&created.webhook, None);
    if let Some(object) = shown.as_object_mut() {
        object.insert("secret".into(), created.secret.into());
    }
    Ok(HttpResponse::Created().json(shown))
}

async fn get_webhook(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (name, id) = path.into_inner();
    let shown = blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        let webhook = webhook_of(conn, &org, &id)?;
        let backlog = stored_webhooks::backlog(conn, &webhook)?;
        Ok(webhook_json(&webhook, Some(backlog)))
    })
    .await?;
    Ok(HttpResponse::Ok().json(shown))
}

fn webhook_of(
    conn: &mut DbConnection,
    org: &Organization,
    id: &str,
) -> Result<WebhookRecord, Problem> {
    match stored_webhooks::get(conn, org.id, id) {
        Err(StoreError::NotFound) => Err(not_found(format!("no webhook with id {id:?}"))),
        other => Ok(other?),
    }
}

async fn remove_webhook(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (name, id) = path.into_inner();
    blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        match stored_webhooks::remove(conn, org.id, &id) {
            Err(StoreError::NotFound) => Err(not_found(format!("no webhook with id {id:?}"))),
            other => Ok(other?),
        }
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn rotate_webhook_secret(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (name, id) = path.into_inner();
    let (webhook, secret) = blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        webhook_of(conn, &org, &id)?;
        let secret = webhooks::new_secret()
            .map_err(|_| Problem::from(ScimError::internal("the system's random source failed")))?;
        let webhook =
            stored_webhooks::rotate_secret(conn, org.id, &id, &secret, webhooks::SECRET_GRACE)?;
        Ok((webhook, secret))
    })
    .await?;
    let mut shown = webhook_json(&webhook, None);
    if let Some(object) = shown.as_object_mut() {
        object.insert("secret".into(), secret.into());
        object.insert(
            "previousSecretValidFor".into(),
            webhooks::SECRET_GRACE.as_secs().into(),
        );
    }
    Ok(HttpResponse::Ok().json(shown))
}

async fn resume_webhook(
    admin: Admin,
    state: web::Data<ScimState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (name, id) = path.into_inner();
    let webhook = blocking(&state, move |conn| {
        let org = admin.org(conn, &name)?;
        webhook_of(conn, &org, &id)?;
        Ok(stored_webhooks::resume(conn, org.id, &id)?)
    })
    .await?;
    state.wake_webhooks();
    Ok(HttpResponse::Ok().json(webhook_json(&webhook, None)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_takes_seconds_and_milliseconds_up_to_the_cap() {
        assert_eq!(parse_wait("30s").ok(), Some(Duration::from_secs(30)));
        assert_eq!(parse_wait("30").ok(), Some(Duration::from_secs(30)));
        assert_eq!(parse_wait("250ms").ok(), Some(Duration::from_millis(250)));
        assert_eq!(parse_wait("0").ok(), Some(Duration::ZERO));
        for bad in ["61s", "", "s", "-1", "1.5s", "1m", "99999999999"] {
            assert!(parse_wait(bad).is_err(), "{bad}");
        }
    }
}
