#![doc = include_str!("../README.md")]
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
mod references;
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
