//! Every failure answers the RFC 7644 §3.12 error body with the right status — never actix's
//! plain-text default — and no client input yields a 500.

use actix_web::body::to_bytes;
use actix_web::test::TestRequest;
use actix_web::ResponseError;
use scim_auth::AuthError;
use scim_model::error::ScimError;
use scim_server::{ApiError, ServerConfig};
use scim_store::{StoreError, UniqueField};
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, get, run, test_verifier, Harness, ERROR_SCHEMA};

fn post_echo(token: &str, content_type: Option<&str>, body: &'static str) -> TestRequest {
    let mut req = TestRequest::post()
        .uri("/scim/v2/echo")
        .insert_header(("Authorization", format!("Bearer {token}")))
        .set_payload(body);
    if let Some(content_type) = content_type {
        req = req.insert_header(("Content-Type", content_type));
    }
    req
}

// RFC 7644 §3.12: 404 "Specified resource (e.g., User) or endpoint does not exist".
store_test!(unknown_paths_get_a_scim_404, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        for path in [
            "/scim/v2/Nope",
            "/scim/v2",
            "/scim/v2/",
            "/scim/v2/ServiceProviderConfig/extra",
            "/scim/v2/Schemas/",
            "/scim/v2/%FF%FE",
        ] {
            let reply = call(&app, get(path, &token)).await;
            reply.assert_error(404);
        }
        // Unknown paths are behind authentication too: nothing is learnt without a token.
        call(&app, TestRequest::get().uri("/scim/v2/Nope"))
            .await
            .assert_error(401);
    })
});

// RFC 9110 §15.5.6: 405 with Allow; in the §3.12 body.
store_test!(wrong_methods_get_a_scim_405_with_allow, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        for path in [
            "/scim/v2/ServiceProviderConfig",
            "/scim/v2/ResourceTypes",
            "/scim/v2/ResourceTypes/User",
            "/scim/v2/Schemas",
            "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        ] {
            for method in ["POST", "PUT", "PATCH", "DELETE"] {
                let req = TestRequest::default()
                    .method(method.parse().unwrap())
                    .uri(path)
                    .insert_header(("Authorization", format!("Bearer {token}")))
                    .insert_header(("Content-Type", "application/scim+json"))
                    .set_payload("{}");
                let reply = call(&app, req).await;
                reply.assert_error(405);
                assert_eq!(reply.header("allow"), Some("GET"), "{method} {path}");
            }
        }
        let reply = call(&app, get("/scim/v2/echo", &token)).await;
        reply.assert_error(405);
        assert_eq!(reply.header("allow"), Some("POST"));
    })
});

// RFC 7644 §3.12 lists 413 for a payload over the service provider's limit.
store_test!(bodies_over_the_limit_get_413, |store| {
    run(async {
        let config = ServerConfig {
            max_body_bytes: 64,
            ..ServerConfig::default()
        };
        let harness = Harness::with(&store, config, test_verifier());
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let big: &'static str =
            Box::leak(format!(r#"{{"x":"{}"}}"#, "a".repeat(100)).into_boxed_str());
        // Refused from Content-Length, before reading.
        let reply = call(&app, post_echo(&token, Some("application/scim+json"), big)).await;
        let detail = reply.assert_error(413);
        assert!(detail.contains("64"), "{detail}");
        // A Content-Length that understates the body: refused while reading.
        let lying = post_echo(&token, Some("application/scim+json"), big)
            .insert_header(("Content-Length", "10"));
        call(&app, lying).await.assert_error(413);
        // At the limit is fine.
        let exact: &'static str =
            Box::leak(format!(r#"{{"x":"{}"}}"#, "a".repeat(56)).into_boxed_str());
        assert_eq!(exact.len(), 64);
        let reply = call(&app, post_echo(&token, Some("application/json"), exact)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    })
});

// RFC 7644 §3.1 / §8.1 and IDP-QUIRKS §0: application/scim+json and application/json, with
// or without charset=utf-8, any case, are read; anything else is 415.
store_test!(only_json_content_types_are_read, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        for accepted in [
            Some("application/scim+json"),
            Some("application/json"),
            Some("application/scim+json; charset=utf-8"),
            Some("application/json;charset=UTF-8"),
            Some("APPLICATION/SCIM+JSON; CHARSET=\"utf-8\""),
            Some("Application/Json"),
            None,
        ] {
            let reply = call(&app, post_echo(&token, accepted, r#"{"a":[1,"é"]}"#)).await;
            assert_eq!(reply.status, 200, "{accepted:?}: {reply:?}");
            assert_eq!(reply.body["body"], json!({"a": [1, "é"]}));
        }
        for refused in [
            "text/plain",
            "application/xml",
            "application/x-www-form-urlencoded",
            "text/json",
            "application/jsonx",
            "application/json; charset=iso-8859-1",
            "",
        ] {
            let reply = call(&app, post_echo(&token, Some(refused), r#"{"a":1}"#)).await;
            let detail = reply.assert_error(415);
            assert!(
                detail.to_lowercase().contains("json") || detail.contains("UTF-8"),
                "{detail}"
            );
        }
    })
});

// RFC 7644 §3.12: 400 invalidSyntax when "the request body message structure was invalid".
store_test!(malformed_json_gets_400_invalid_syntax, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let deep: &'static str =
            Box::leak(("[".repeat(10_000) + &"]".repeat(10_000)).into_boxed_str());
        for body in [
            "",
            "{",
            "[1,",
            r#"{"a":}"#,
            "nul",
            "{\"a\":1}}",
            "\u{feff}{}",
            deep,
        ] {
            let reply = call(&app, post_echo(&token, Some("application/scim+json"), body)).await;
            let detail = reply.assert_error(400);
            assert_eq!(reply.body["scimType"], "invalidSyntax", "{body:?}");
            assert!(detail.contains("JSON"), "{detail}");
        }
    })
});

// "Never actix's plain-text default": errors of handlers and extractors that bypass this
// crate's helpers are rewritten into the §3.12 body, keeping status and detail.
store_test!(plain_errors_are_rewritten_into_scim_bodies, |store| {
    run(async {
        let config = ServerConfig {
            max_body_bytes: 16,
            ..ServerConfig::default()
        };
        let harness = Harness::with(&store, config, test_verifier());
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let reply = call(&app, get("/scim/v2/plain", &token)).await;
        assert_eq!(reply.assert_error(409), "plain text conflict");
        let reply = call(
            &app,
            TestRequest::post()
                .uri("/scim/v2/bytes")
                .insert_header(("Authorization", format!("Bearer {token}")))
                .set_payload("x".repeat(100)),
        )
        .await;
        reply.assert_error(413);
        assert!(reply.header("x-request-id").is_some());
    })
});

/// The status, headers and body `error` is answered with.
fn render(error: ApiError) -> (u16, Option<String>, Option<String>, Value) {
    let response = error.error_response();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let retry_after = header("retry-after");
    let challenge = header("www-authenticate");
    assert_eq!(
        header("content-type").as_deref(),
        Some("application/scim+json")
    );
    let bytes = run(to_bytes(response.into_body())).unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["schemas"], json!([ERROR_SCHEMA]));
    assert_eq!(body["status"], json!(status.to_string()));
    (status, retry_after, challenge, body)
}

// RFC 7644 §3.12: 404 unknown resource, 409 uniqueness, 412 version mismatch; 503 with
// Retry-After (RFC 9110 §10.2.3) when the database is away; an unexpected failure is an opaque
// 500 that leaks nothing.
#[test]
fn store_errors_map_to_their_statuses() {
    let (status, _, _, body) = render(StoreError::NotFound.into());
    assert_eq!(status, 404);
    assert!(body.get("scimType").is_none());

    let (status, _, _, body) = render(
        StoreError::UniqueViolation {
            field: UniqueField::UserName,
            constraint: "users_org_id_user_name_key_idx".into(),
        }
        .into(),
    );
    assert_eq!(status, 409);
    assert_eq!(body["scimType"], "uniqueness");
    assert_eq!(body["detail"], "userName is already taken");

    let (status, _, _, _) = render(StoreError::VersionMismatch { current: 3 }.into());
    assert_eq!(status, 412);

    let (status, retry_after, _, body) =
        render(StoreError::Unavailable("pool timed out on db-7.internal".into()).into());
    assert_eq!(status, 503);
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert!(!body.to_string().contains("db-7"));

    for secret in [
        StoreError::Other("relation \"users\" does not exist at db-7.internal".into()),
        StoreError::Config("password=hunter2".into()),
    ] {
        let (status, _, _, body) = render(secret.into());
        assert_eq!(status, 500);
        assert_eq!(body["detail"], "internal error");
    }
    let (status, _, _, body) = render(ScimError::internal("stack trace here").into());
    assert_eq!(status, 500);
    assert_eq!(body["detail"], "internal error");
    let (status, _, _, _) = render(ApiError::Blocking);
    assert_eq!(status, 500);
}

// RFC 6750 §3 / RFC 7644 §3.12: 401 with the Bearer challenge for every refusal; 429 and 503
// with Retry-After for throttling and saturation.
#[test]
fn auth_errors_map_to_their_statuses() {
    let mut unauthorized = Vec::new();
    for refused in [
        AuthError::Missing,
        AuthError::Malformed(scim_auth::TokenParseError::MissingPrefix),
        AuthError::Unknown,
        AuthError::Invalid,
        AuthError::Expired,
        AuthError::Revoked,
    ] {
        let (status, _, challenge, body) = render(refused.into());
        assert_eq!(status, 401);
        assert_eq!(challenge.as_deref(), Some(r#"Bearer realm="scim""#));
        unauthorized.push(body);
    }
    unauthorized.dedup();
    assert_eq!(unauthorized.len(), 1, "401 bodies differ: {unauthorized:?}");

    let (status, retry_after, _, _) = render(
        AuthError::Throttled {
            retry_after: std::time::Duration::from_millis(2500),
        }
        .into(),
    );
    assert_eq!((status, retry_after.as_deref()), (429, Some("3")));
    let (status, retry_after, _, _) = render(AuthError::Busy.into());
    assert_eq!((status, retry_after.as_deref()), (503, Some("1")));
    let (status, _, _, body) =
        render(AuthError::Source("connection refused to 10.0.0.3".into()).into());
    assert_eq!(status, 503);
    assert!(!body.to_string().contains("10.0.0.3"));
}
