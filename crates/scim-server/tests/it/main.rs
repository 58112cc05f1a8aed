//! Integration tests of scim-server through the real actix service (`actix_web::test` on
//! [`scim_server::scope`]), each on a brand-new PostgreSQL and SQLite database
//! (`scim_test_db::store_test!`). One test binary keeps link time down.
#![expect(
    clippy::unwrap_used,
    reason = "in a test helper as in a test, a failed step fails the test"
)]

mod admin;
mod auth;
mod bulk;
mod cursor;
mod declared_types;
mod discovery;
mod errors;
mod groups;
mod hostile;
mod hostile_suite;
mod idp_entra;
mod idp_guides;
mod idp_jumpcloud;
mod idp_okta;
mod idp_onelogin;
mod idp_ping;
mod limits;
mod listeners;
mod negotiation;
mod oauth;
mod profile;
mod rate;
mod schemas;
mod tombstones;
mod users;
mod webhooks;

use std::future::Future;
use std::time::Duration;

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};
use actix_web::{test, web, App, HttpResponse};
use scim_auth::VerifierConfig;
use scim_server::{
    resource, scope_with, ApiError, Authenticated, ScimJson, ScimState, ServerConfig,
};
use scim_store::{orgs, tokens, OrgId, Store};
use serde_json::{json, Value};

/// RFC 7644 §3.12: the Error message schema.
pub(crate) const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Runs a test body on an actix system (what `#[actix_web::test]` does).
pub(crate) fn run<F: Future>(body: F) -> F::Output {
    actix_web::rt::System::new().block_on(body)
}

/// Verifier settings for tests: argon2 cheap enough to hash in microseconds, and a throttle
/// threshold high enough that tests which fail on purpose are not throttled.
pub(crate) fn test_verifier() -> VerifierConfig {
    VerifierConfig {
        argon2: scim_auth::argon2::Params::new(8, 1, 1, None).unwrap(),
        failures_before_throttle: 1000,
        ..VerifierConfig::default()
    }
}

/// A service on `store` with its configuration, and helpers to make organisations and tokens.
pub(crate) struct Harness {
    pub(crate) store: Store,
    pub(crate) state: ScimState,
}

impl Harness {
    pub(crate) fn new(store: &Store) -> Self {
        Harness::with(store, ServerConfig::default(), test_verifier())
    }

    pub(crate) fn with(store: &Store, config: ServerConfig, verifier: VerifierConfig) -> Self {
        let state = ScimState::new(store.clone(), config, verifier).unwrap();
        Harness {
            store: store.clone(),
            state,
        }
    }

    /// A new organisation.
    pub(crate) fn org(&self, name: &str) -> OrgId {
        let mut conn = self.store.get().unwrap();
        orgs::create(&mut conn, name).unwrap().id
    }

    /// A new token for `org`; returns the token string and its id.
    pub(crate) fn token(&self, org: OrgId, name: &str) -> (String, String) {
        self.token_expiring(org, name, None)
    }

    pub(crate) fn token_expiring(
        &self,
        org: OrgId,
        name: &str,
        expires_at: Option<std::time::SystemTime>,
    ) -> (String, String) {
        let issued = self.state.verifier().issue().unwrap();
        let mut conn = self.store.get().unwrap();
        tokens::insert(
            &mut conn,
            org,
            &tokens::NewToken {
                id: issued.id().to_string(),
                name: name.to_owned(),
                secret_hash: issued.phc_hash().to_owned(),
                expires_at,
            },
        )
        .unwrap();
        (issued.expose_token().to_owned(), issued.id().to_string())
    }

    /// An organisation `acme` and a token for it.
    pub(crate) fn acme(&self) -> (OrgId, String) {
        let org = self.org("acme");
        let (token, _) = self.token(org, "okta");
        (org, token)
    }

    /// The service mounted at `/scim/v2`, with one extra route only tests have: `POST /echo`,
    /// which answers the caller's organisation and the body it read through `ScimJson`.
    pub(crate) async fn app(
        &self,
    ) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>
    {
        test::init_service(App::new().service(scope_with(
            "/scim/v2",
            self.state.clone(),
            echo_route,
        )))
        .await
    }
}

pub(crate) fn echo_route(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/echo", &[Method::POST]).route(web::post().to(echo)))
        // Routes written without this crate's helpers, whose errors actix renders as text.
        .route(
            "/plain",
            web::get().to(|| async {
                Err::<HttpResponse, _>(actix_web::error::ErrorConflict("plain text conflict"))
            }),
        )
        .route(
            "/bytes",
            web::post().to(|body: web::Bytes| async move { HttpResponse::Ok().body(body) }),
        );
}

async fn echo(auth: Authenticated, body: ScimJson<Value>) -> Result<HttpResponse, ApiError> {
    scim_server::respond(
        StatusCode::OK,
        &json!({ "org": auth.org.0, "token": auth.token_id.as_str(), "body": body.into_inner() }),
    )
}

/// A response, read.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    pub(crate) fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }

    /// Asserts an RFC 7644 §3.12 error body with `status`; returns its detail.
    pub(crate) fn assert_error(&self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "{self:?}");
        assert_eq!(self.content_type(), "application/scim+json", "{self:?}");
        assert_eq!(self.body["schemas"], json!([ERROR_SCHEMA]), "{self:?}");
        assert_eq!(self.body["status"], json!(status.to_string()), "{self:?}");
        let detail = self.body["detail"].as_str().unwrap_or_default().to_owned();
        assert!(!detail.is_empty(), "{self:?}");
        detail
    }
}

/// Sends `req` and reads the whole answer; the body is parsed as JSON when there is one.
pub(crate) async fn call<S, B>(app: &S, req: test::TestRequest) -> Reply
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    let response = test::call_service(app, req.to_request()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = test::read_body(response).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{status}: body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// `GET path` with `Authorization: Bearer token`.
pub(crate) fn get(path: &str, token: &str) -> test::TestRequest {
    test::TestRequest::get()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
}

/// `req` with `Authorization: Bearer token`.
pub(crate) fn with_token(req: test::TestRequest, token: &str) -> test::TestRequest {
    req.insert_header(("Authorization", format!("Bearer {token}")))
}

/// `POST path` with a SCIM JSON body.
pub(crate) fn post(path: &str, token: &str, body: &Value) -> test::TestRequest {
    with_token(test::TestRequest::post().uri(path), token)
        .insert_header(("Content-Type", "application/scim+json"))
        .set_payload(body.to_string())
}

/// `PUT path` with a SCIM JSON body.
pub(crate) fn put(path: &str, token: &str, body: &Value) -> test::TestRequest {
    with_token(test::TestRequest::put().uri(path), token)
        .insert_header(("Content-Type", "application/scim+json"))
        .set_payload(body.to_string())
}

/// `PATCH path` with a PatchOp body of `operations` (RFC 7644 §3.5.2).
pub(crate) fn patch(path: &str, token: &str, operations: Value) -> test::TestRequest {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations,
    });
    with_token(test::TestRequest::patch().uri(path), token)
        .insert_header(("Content-Type", "application/scim+json"))
        .set_payload(body.to_string())
}

/// `DELETE path`.
pub(crate) fn delete(path: &str, token: &str) -> test::TestRequest {
    with_token(test::TestRequest::delete().uri(path), token)
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
pub(crate) async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// RFC 7644 §3.4.2's ListResponse as identity providers read it: 200, the schema, integer
/// `totalResults` (= `total`), `startIndex` and `itemsPerPage` (= the resources returned), and
/// a `Resources` array even when it is empty. Returns the resources.
pub(crate) fn list_of(reply: &Reply, total: u64) -> Vec<Value> {
    assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
    assert_eq!(
        reply.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"]),
        "{reply:?}"
    );
    assert_eq!(reply.body["totalResults"], json!(total), "{reply:?}");
    assert!(reply.body["startIndex"].is_u64(), "{reply:?}");
    let resources = reply.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources array: {reply:?}"))
        .clone();
    assert_eq!(
        reply.body["itemsPerPage"],
        json!(resources.len()),
        "{reply:?}"
    );
    resources
}

/// [`list_of`], answered as `application/scim+json` (RFC 7644 §8.1).
pub(crate) fn scim_list_of(reply: &Reply, total: u64) -> Vec<Value> {
    assert_eq!(reply.content_type(), "application/scim+json", "{reply:?}");
    list_of(reply, total)
}

/// The `id` of a resource in a reply.
pub(crate) fn id_of(reply: &Reply) -> String {
    reply.body["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id: {reply:?}"))
        .to_owned()
}

/// The `value`s of a group's `members` in a body, sorted (none when `members` is absent).
pub(crate) fn member_ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["members"]
        .as_array()
        .map(|members| {
            members
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

/// `ids`, owned and sorted, to compare with [`member_ids`].
pub(crate) fn sorted_ids(ids: &[&str]) -> Vec<String> {
    let mut ids: Vec<String> = ids.iter().map(|id| (*id).to_owned()).collect();
    ids.sort();
    ids
}

/// The change-feed events of one resource of `org`, in order: each event's kind and the
/// attributes it names.
pub(crate) fn events_of(
    harness: &Harness,
    org: OrgId,
    resource: &str,
) -> Vec<(String, Vec<String>)> {
    let mut conn = harness.store.get().unwrap();
    scim_store::events::list_after(&mut conn, org, 0, 1000)
        .unwrap()
        .into_iter()
        .filter(|e| e.resource_id == resource)
        .map(|e| (e.kind.as_str().to_owned(), e.attributes))
        .collect()
}

/// Percent-encodes everything but RFC 3986 unreserved characters, as IdP clients encode a
/// `filter` query parameter.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                encoded.push(char::from(byte));
            }
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    encoded
}
