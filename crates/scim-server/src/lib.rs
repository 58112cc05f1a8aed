//! The SCIM 2.0 HTTP service on actix-web: routing, bearer-token authentication, content
//! negotiation, limits and RFC 7644 §3.12 errors. This crate knows nothing of where its
//! configuration comes from (no environment, no files) nor of the process it runs in: an
//! application builds a [`ScimState`] and mounts [`scope`] under any path.
//!
//! ```
//! use actix_web::{test, App};
//! use scim_auth::VerifierConfig;
//! use scim_server::{scope, ScimState, ServerConfig};
//! use scim_store::{orgs, tokens, PoolConfig, Store};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Store::connect("sqlite::memory:", PoolConfig::default())?;
//! store.migrate()?;
//! // Cheap argon2 parameters keep the example fast; the default is OWASP's recommendation.
//! let verifier = VerifierConfig {
//!     argon2: scim_auth::argon2::Params::new(8, 1, 1, None)?,
//!     ..VerifierConfig::default()
//! };
//! let state = ScimState::new(store.clone(), ServerConfig::default(), verifier)?;
//!
//! // An organisation and a token for it, as `scimd token create` makes them.
//! let issued = state.verifier().issue()?;
//! let mut conn = store.get()?;
//! let org = orgs::create(&mut conn, "acme")?;
//! tokens::insert(&mut conn, org.id, &tokens::NewToken {
//!     id: issued.id().to_string(),
//!     name: "okta".into(),
//!     secret_hash: issued.phc_hash().into(),
//!     expires_at: None,
//! })?;
//! drop(conn);
//!
//! actix_web::rt::System::new().block_on(async {
//!     let app = test::init_service(App::new().service(scope("/scim/v2", state))).await;
//!     let req = test::TestRequest::get()
//!         .uri("/scim/v2/ServiceProviderConfig")
//!         .insert_header(("Authorization", format!("Bearer {}", issued.expose_token())))
//!         .to_request();
//!     let response = test::call_service(&app, req).await;
//!     assert_eq!(response.status(), 200);
//!     let content_type = response.headers().get("content-type");
//!     assert_eq!(content_type.and_then(|v| v.to_str().ok()), Some("application/scim+json"));
//!
//!     let anonymous = test::TestRequest::get().uri("/scim/v2/Schemas").to_request();
//!     assert_eq!(test::call_service(&app, anonymous).await.status(), 401);
//! });
//! # Ok(())
//! # }
//! ```
//!
//! # Writing a handler
//! A handler takes [`Authenticated`] (the caller's organisation), `web::Data<ScimState>`, a
//! [`ScimJson<T>`] body when it has one, and returns `Result<HttpResponse, ApiError>` built with
//! [`respond`] or [`scim_response`]. Store calls go through [`ScimState::with_conn`] or
//! [`ScimState::transaction`], which take the caller's organisation (its share of the database
//! is bounded: [`ServerConfig::max_org_db_jobs`]) and run on a blocking thread. Routes are registered in
//! `routes.rs` with [`resource`], which answers other methods with a SCIM 405.
#![deny(missing_docs)]

mod admin;
mod auth;
mod bulk;
mod config;
mod console;
mod credentials;
mod cursor;
mod discovery;
mod error;
mod forwarded;
mod listen;
mod media;
mod members;
pub mod oauth;
mod observe;
mod org_jobs;
mod rate;
mod resources;
mod routes;
mod state;
pub mod webhooks;

pub use admin::{
    admin_scope, checked_rate_limit, Admin, AdminTokenSource, AdminVerifier, Problem,
    MAX_FEED_LIMIT, MAX_FEED_WAIT, MAX_RATE_LIMIT,
};
pub use auth::Authenticated;
pub use config::{
    BulkLimits, CidrError, ConfigError, DeleteMode, IpCidr, LimitError, Limits, ServerConfig,
};
pub use console::{console, CONSOLE_CSP};
pub use credentials::{issue_token, revoke_token, IssueError, MAX_TOKEN_NAME};
pub use error::{ApiError, BEARER_CHALLENGE};
pub use listen::{EventListener, ListenerError, SWEEP_INTERVAL};
pub use media::{respond, scim_response, MediaType, ScimJson, JSON, SCIM_JSON};
pub use oauth::{oauth_routes, OAuthConfig};
pub use observe::{request_ids, RequestId, REQUEST_ID};
pub use routes::{not_found, resource, scope, scope_with};
pub use state::{
    ScimState, StoreTokenSource, StoreVerifier, MAX_FEED_WAITERS, MAX_FEED_WAITERS_PER_ORG,
    ORG_SETTINGS_TTL, SERVED_RESOURCE_TYPES,
};
pub use webhooks::WebhookConfig;
