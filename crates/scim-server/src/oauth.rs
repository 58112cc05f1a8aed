//! OAuth 2.0 client credentials (RFC 6749 §4.4) for identity providers that will not use a
//! static bearer token (Microsoft's Entra app gallery, the IPSIE SCIM profile): the token
//! endpoint (`POST /oauth/token`), its RFC 8414 metadata
//! (`GET /.well-known/oauth-authorization-server`), and the check of the access tokens it
//! issues, which the SCIM scope's authentication calls.
//!
//! Clients authenticate with `client_secret_basic`, `client_secret_post` or `private_key_jwt`
//! (RFC 7523 §2.2, RS256/PS256/ES256/ES384 against the client's registered JWK set, each `jti`
//! accepted once). Access tokens are opaque (`scimat_<org>_<secret>`), bound to the client's
//! organisation and the `scim` scope, stored as SHA-256 hashes, and checked with one digest and
//! an indexed read (cached for [`ACCESS_TOKEN_CACHE_TTL`]), never an argon2 hash.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use scim_auth::oauth::{self as auth_oauth, JWT_BEARER_ASSERTION};
use scim_auth::{AuthError, StoredToken, TokenId, TokenSource, Verifier};
use scim_store::oauth::{self as stored, Client};
use scim_store::{OrgId, Store, StoreError};
use serde_json::json;

use crate::error::ApiError;
use crate::ScimState;

/// How long a checked access token is trusted without reading its row again: the bound on how
/// late a client's revocation stops its tokens on a running server.
pub const ACCESS_TOKEN_CACHE_TTL: Duration = Duration::from_secs(30);

/// Most access tokens remembered at once; beyond it the cache starts afresh.
const ACCESS_TOKEN_CACHE_SIZE: usize = 10_000;

/// Largest token request body, in bytes.
const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;

/// The only scope this server grants.
pub const SCOPE: &str = "scim";

/// How the token endpoint works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthConfig {
    /// How long an access token lives. Default: 1 hour (Microsoft's gallery asks for 60
    /// minutes to 6 hours).
    pub access_token_lifetime: Duration,
    /// How far ahead a client assertion's `exp` may be: its `jti` is remembered until then.
    /// Default: 10 minutes.
    pub max_assertion_lifetime: Duration,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        OAuthConfig {
            access_token_lifetime: Duration::from_secs(60 * 60),
            max_assertion_lifetime: Duration::from_secs(10 * 60),
        }
    }
}

/// Reads client secrets for the verifier of the token endpoint: a client secret is a token of
/// `scim-auth`'s format whose id names the secret's row.
#[derive(Debug, Clone)]
pub struct ClientSecretSource {
    store: Store,
}

impl ClientSecretSource {
    /// A source over `store`.
    pub fn new(store: Store) -> Self {
        ClientSecretSource { store }
    }
}

impl TokenSource for ClientSecretSource {
    type Error = StoreError;

    fn find(&self, id: &TokenId) -> Result<Option<StoredToken>, StoreError> {
        let mut conn = self.store.get()?;
        Ok(
            stored::find_secret(&mut conn, id.as_str())?.map(|secret| StoredToken {
                id: id.clone(),
                org_id: secret.org.0,
                // The client it belongs to, checked against the client_id presented.
                name: secret.client_id,
                phc_hash: secret.secret_hash,
                expires_at: Some(secret.expires_at),
                revoked: secret.revoked_at.is_some(),
            }),
        )
    }
}

/// The verifier of client secrets.
pub type ClientVerifier = Verifier<ClientSecretSource>;

/// Access tokens checked lately: hash → (organisation, client, expiry, when checked).
#[derive(Debug, Default)]
pub(crate) struct AccessTokenCache {
    entries: Mutex<HashMap<String, (OrgId, TokenId, SystemTime, Instant)>>,
}

impl AccessTokenCache {
    fn get(&self, hash: &str, now: Instant) -> Option<(OrgId, TokenId, SystemTime)> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (org, client, expires, checked) = entries.get(hash)?;
        (now.saturating_duration_since(*checked) < ACCESS_TOKEN_CACHE_TTL)
            .then(|| (*org, client.clone(), *expires))
    }

    fn put(&self, hash: String, org: OrgId, client: TokenId, expires: SystemTime, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= ACCESS_TOKEN_CACHE_SIZE {
            entries.clear();
        }
        entries.insert(hash, (org, client, expires, now));
    }

    /// Forgets every token of `client` (it was revoked in this process).
    pub(crate) fn forget_client(&self, client: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|_, (_, id, _, _)| id.as_str() != client);
    }
}

/// Checks an access token presented to the SCIM service: the organisation it was issued for and
/// the client (reported as the request's token id, so events name the client).
///
/// # Errors
/// [`AuthError::Unknown`] for a token never issued or whose client was revoked,
/// [`AuthError::Expired`] past its lifetime, [`AuthError::Source`] when the store fails.
pub(crate) async fn verify_access_token(
    state: &ScimState,
    org: i64,
    hash: String,
) -> Result<(OrgId, TokenId), ApiError> {
    let org = OrgId(org);
    let now = Instant::now();
    let cache = state.access_tokens();
    let found = match cache.get(&hash, now) {
        Some((cached_org, client, expires)) if cached_org == org => Some((client, expires)),
        _ => {
            let key = hash.clone();
            let row = state
                .service_conn(move |conn| Ok(stored::find_access_token(conn, org, &key)?))
                .await
                .map_err(|error| ApiError::from(AuthError::Source(error.to_string())))?;
            match row {
                Some((client, expires)) => {
                    let client = TokenId::parse(&client).map_err(|_| AuthError::Unknown)?;
                    cache.put(hash, org, client.clone(), expires, now);
                    Some((client, expires))
                }
                None => None,
            }
        }
    };
    let (client, expires) = found.ok_or(AuthError::Unknown)?;
    if SystemTime::now() >= expires {
        return Err(AuthError::Expired.into());
    }
    Ok((org, client))
}

/// Registers `POST /oauth/token` and `GET /.well-known/oauth-authorization-server` at the
/// application's root, for `App::configure`.
pub fn oauth_routes(cfg: &mut web::ServiceConfig, state: ScimState) {
    let data = web::Data::new(state);
    cfg.service(
        crate::resource("/oauth/token", &[Method::POST])
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(MAX_TOKEN_REQUEST_BYTES))
            .route(web::post().to(token)),
    )
    .service(
        crate::resource("/.well-known/oauth-authorization-server", &[Method::GET])
            .app_data(data)
            .route(web::get().to(metadata)),
    );
}

/// The issuer: the server's scheme and host, without the SCIM path.
fn issuer(state: &ScimState, req: &HttpRequest) -> String {
    let base = state.base_url(req);
    match base.parse::<actix_web::http::Uri>() {
        Ok(uri) => match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
            _ => base,
        },
        Err(_) => base,
    }
}

/// RFC 8414 §2: what a client needs to know to get a token here.
async fn metadata(state: web::Data<ScimState>, req: HttpRequest) -> HttpResponse {
    let issuer = issuer(&state, &req);
    HttpResponse::Ok().json(json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth/token"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "PS256", "ES256", "ES384"],
        "scopes_supported": [SCOPE],
        "response_types_supported": [],
    }))
}

/// An RFC 6749 §5.2 error.
struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
    /// Whether the client tried HTTP Basic: a 401 then carries `WWW-Authenticate: Basic`.
    basic: bool,
    /// For a 429: when to come back.
    retry_after: Option<Duration>,
}

impl OAuthError {
    fn request(description: impl Into<String>) -> Self {
        OAuthError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            description: description.into(),
            basic: false,
            retry_after: None,
        }
    }

    fn client(basic: bool) -> Self {
        OAuthError {
            status: StatusCode::UNAUTHORIZED,
            code: "invalid_client",
            description: "client authentication failed".into(),
            basic,
            retry_after: None,
        }
    }

    fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        if let Some(after) = self.retry_after {
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            response.insert_header((header::RETRY_AFTER, secs.max(1)));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            let scheme = if self.basic { "Basic" } else { "Bearer" };
            response.insert_header((
                header::WWW_AUTHENTICATE,
                format!("{scheme} realm=\"scim\", error=\"{}\"", self.code),
            ));
        }
        response.json(json!({"error": self.code, "error_description": self.description}))
    }
}

impl From<ApiError> for OAuthError {
    fn from(error: ApiError) -> Self {
        tracing::warn!(%error, "token endpoint failed");
        OAuthError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "temporarily_unavailable",
            description: "the service is temporarily unavailable, retry later".into(),
            basic: false,
            retry_after: Some(Duration::from_secs(5)),
        }
    }
}

/// How the client authenticated.
enum Credentials {
    Secret {
        client_id: String,
        secret: String,
        basic: bool,
    },
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
}

/// `POST /oauth/token`, `grant_type=client_credentials`.
async fn token(state: web::Data<ScimState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    match issue(&state, &req, &body).await {
        Ok(response) => response,
        Err(error) => error.response(),
    }
}

async fn issue(
    state: &ScimState,
    req: &HttpRequest,
    body: &[u8],
) -> Result<HttpResponse, OAuthError> {
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(OAuthError::request(
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| OAuthError::request("the body is not a form"))?;
    let mut params: HashMap<&str, &str> = HashMap::new();
    for (name, value) in &pairs {
        // RFC 6749 §3.2: request parameters MUST NOT be included more than once.
        if params.insert(name.as_str(), value.as_str()).is_some() {
            return Err(OAuthError::request(format!("{name} is repeated")));
        }
    }
    match params.get("grant_type") {
        Some(&"client_credentials") => {}
        Some(_) => {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                code: "unsupported_grant_type",
                description: "only client_credentials is supported".into(),
                basic: false,
                retry_after: None,
            })
        }
        None => return Err(OAuthError::request("grant_type is missing")),
    }
    if let Some(scope) = params.get("scope") {
        if scope
            .split(' ')
            .any(|scope| !scope.is_empty() && scope != SCOPE)
        {
            return Err(OAuthError {
                status: StatusCode::BAD_REQUEST,
                code: "invalid_scope",
                description: format!("the only scope is {SCOPE}"),
                basic: false,
                retry_after: None,
            });
        }
    }
    let credentials = credentials(req, &params)?;
    let basic = matches!(credentials, Credentials::Secret { basic: true, .. });
    let client = authenticate(state, req, credentials).await?;
    let (token, hash) = auth_oauth::new_access_token(client.org.0)
        .map_err(|_| ApiError::from(scim_model::error::ScimError::internal("random source")))?;
    let lifetime = state.config().oauth.access_token_lifetime;
    let expires_at = SystemTime::now() + lifetime;
    let (org, client_id) = (client.org, client.id.clone());
    state
        .service_conn(move |conn| {
            Ok(stored::insert_access_token(
                conn, org, &client_id, &hash, expires_at,
            )?)
        })
        .await?;
    tracing::info!(org = client.org.0, client = %client.id, basic, "access token issued");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": lifetime.as_secs(),
            "scope": SCOPE,
        })))
}

/// The one client authentication the request uses (RFC 6749 §2.3: no more than one).
fn credentials(req: &HttpRequest, params: &HashMap<&str, &str>) -> Result<Credentials, OAuthError> {
    let mut found = Vec::new();
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().unwrap_or_default().trim();
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(OAuthError::client(true));
        }
        let decoded = BASE64
            .decode(rest.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| OAuthError::client(true))?;
        let (id, secret) = decoded
            .split_once(':')
            .ok_or_else(|| OAuthError::client(true))?;
        // RFC 6749 §2.3.1: both are form-urlencoded before being joined.
        let id = form_decode(id).ok_or_else(|| OAuthError::client(true))?;
        let secret = form_decode(secret).ok_or_else(|| OAuthError::client(true))?;
        found.push(Credentials::Secret {
            client_id: id,
            secret,
            basic: true,
        });
    }
    if let Some(secret) = params.get("client_secret") {
        let client_id = params
            .get("client_id")
            .ok_or_else(|| OAuthError::request("client_secret without client_id"))?;
        found.push(Credentials::Secret {
            client_id: (*client_id).to_owned(),
            secret: (*secret).to_owned(),
            basic: false,
        });
    }
    if let Some(assertion) = params.get("client_assertion") {
        if params.get("client_assertion_type") != Some(&JWT_BEARER_ASSERTION) {
            return Err(OAuthError::request(format!(
                "client_assertion_type must be {JWT_BEARER_ASSERTION}"
            )));
        }
        found.push(Credentials::Assertion {
            client_id: params.get("client_id").map(|id| (*id).to_owned()),
            assertion: (*assertion).to_owned(),
        });
    }
    match found.len() {
        0 => Err(OAuthError::client(false)),
        1 => found.pop().ok_or_else(|| OAuthError::client(false)),
        _ => Err(OAuthError::request(
            "use exactly one client authentication method",
        )),
    }
}

fn form_decode(text: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("v={text}")).ok()?;
    pairs.into_iter().next().map(|(_, value)| value)
}

/// The client the credentials prove, live and not revoked.
async fn authenticate(
    state: &ScimState,
    req: &HttpRequest,
    credentials: Credentials,
) -> Result<Client, OAuthError> {
    match credentials {
        Credentials::Secret {
            client_id,
            secret,
            basic,
        } => {
            let verifier = state.client_verifier().clone();
            let client_key = crate::auth::client_of_request(state, req);
            let context = web::block(move || verifier.verify(&secret, &client_key))
                .await
                .map_err(ApiError::from)?;
            let context = match context {
                Ok(context) => context,
                Err(AuthError::Throttled { retry_after }) => {
                    return Err(OAuthError {
                        status: StatusCode::TOO_MANY_REQUESTS,
                        code: "invalid_client",
                        description: "too many failed attempts, retry later".into(),
                        basic,
                        retry_after: Some(retry_after),
                    });
                }
                Err(AuthError::Source(why)) => {
                    return Err(ApiError::from(AuthError::Source(why)).into())
                }
                Err(error) => {
                    tracing::info!(reason = %error, client = %client_id, "client secret refused");
                    return Err(OAuthError::client(basic));
                }
            };
            let secret_id = context.token_id.as_str().to_owned();
            let client = live_client(state, &client_id).await?.ok_or_else(|| {
                tracing::info!(client = %client_id, "unknown or revoked client");
                OAuthError::client(basic)
            })?;
            let secret = state
                .service_conn(move |conn| Ok(stored::find_secret(conn, &secret_id)?))
                .await?;
            // The secret must be this client's, not another client's of any organisation.
            match secret {
                Some(secret) if secret.client_id == client.id && secret.org == client.org => {
                    Ok(client)
                }
                _ => Err(OAuthError::client(basic)),
            }
        }
        Credentials::Assertion {
            client_id,
            assertion,
        } => {
            let claimed = auth_oauth::assertion_client(&assertion)
                .ok_or_else(|| OAuthError::client(false))?;
            if client_id.as_ref().is_some_and(|id| *id != claimed) {
                return Err(OAuthError::client(false));
            }
            let client = live_client(state, &claimed)
                .await?
                .ok_or_else(|| OAuthError::client(false))?;
            let jwks = client.jwks.clone().ok_or_else(|| {
                tracing::info!(client = %client.id, "client has no keys for private_key_jwt");
                OAuthError::client(false)
            })?;
            let issuer = issuer(state, req);
            let audiences = [format!("{issuer}/oauth/token"), issuer];
            let checked = auth_oauth::verify_assertion(
                &assertion,
                &jwks,
                &client.id,
                &audiences,
                SystemTime::now(),
                state.config().oauth.max_assertion_lifetime,
            )
            .map_err(|error| {
                tracing::info!(client = %client.id, reason = %error, "client assertion refused");
                OAuthError::client(false)
            })?;
            let (org, id) = (client.org, client.id.clone());
            let fresh = state
                .service_conn(move |conn| {
                    Ok(stored::use_assertion_id(
                        conn,
                        org,
                        &id,
                        &checked.jti,
                        checked.expires_at,
                    )?)
                })
                .await?;
            if !fresh {
                tracing::warn!(client = %client.id, "client assertion replayed");
                return Err(OAuthError::client(false));
            }
            Ok(client)
        }
    }
}

/// The client `id`, unless it is unknown or revoked.
async fn live_client(state: &ScimState, id: &str) -> Result<Option<Client>, OAuthError> {
    if id.is_empty() || id.len() > 64 {
        return Ok(None);
    }
    let id = id.to_owned();
    let client = state
        .service_conn(move |conn| Ok(stored::find_client(conn, &id)?))
        .await?;
    Ok(client.filter(|client| client.revoked_at.is_none()))
}

/// Shared for the verifier's construction.
pub(crate) fn client_verifier(
    store: &Store,
    config: scim_auth::VerifierConfig,
) -> Arc<ClientVerifier> {
    Arc::new(Verifier::new(
        ClientSecretSource::new(store.clone()),
        config,
    ))
}
