//! Bearer-token authentication of every route (RFC 7644 §2: "Authentication and
//! Authorization"; §3.12: 401 for a missing or bad credential), with `WWW-Authenticate` as
//! RFC 6750 §3 asks.

use std::time::{Duration, SystemTime};

use actix_web::test::TestRequest;
use scim_server::ServerConfig;
use scim_store::tokens;
use scim_test_db::store_test;
use serde_json::json;

use crate::{call, eventually, get, run, test_verifier, Harness};

const DISCOVERY: [&str; 5] = [
    "/scim/v2/ServiceProviderConfig",
    "/scim/v2/ResourceTypes",
    "/scim/v2/ResourceTypes/User",
    "/scim/v2/Schemas",
    "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
];

/// A well-formed token no organisation has.
const UNKNOWN_TOKEN: &str = "scim_0123456789abcdef_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG";

// RFC 7644 §3.12 / RFC 6750 §3: every refusal is the same 401 — status, challenge and detail —
// so a caller learns nothing about which tokens exist, expired or were revoked.
store_test!(every_route_refuses_missing_and_bad_tokens_alike, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, good) = harness.acme();
        let (_, wrong_secret_id) = harness.token(org, "second");
        // The second token's id with the first token's secret.
        let secret = good.rsplit('_').next().unwrap();
        let wrong_secret = format!("scim_{wrong_secret_id}_{secret}");
        let app = harness.app().await;

        let mut details = Vec::new();
        for path in DISCOVERY {
            let anonymous = call(&app, TestRequest::get().uri(path)).await;
            details.push(anonymous.assert_error(401));
            assert_eq!(
                anonymous.header("www-authenticate"),
                Some(r#"Bearer realm="scim""#)
            );
            assert!(anonymous.body.get("scimType").is_none());
        }
        let bad_headers = [
            "non-token".to_owned(), // Okta's 401 probe
            "Bearer".to_owned(),
            "Bearer garbage".to_owned(),
            "Basic dXNlcjpwYXNz".to_owned(),
            format!("Bearer {UNKNOWN_TOKEN}"),
            format!("Bearer {wrong_secret}"),
            format!("Bearer {good} extra"),
            format!("Bearer {}", "x".repeat(5000)),
        ];
        for value in &bad_headers {
            let reply = call(
                &app,
                TestRequest::get()
                    .uri("/scim/v2/ServiceProviderConfig")
                    .insert_header(("Authorization", value.as_str())),
            )
            .await;
            details.push(reply.assert_error(401));
            assert_eq!(
                reply.header("www-authenticate"),
                Some(r#"Bearer realm="scim""#),
                "{value}"
            );
        }
        // A header that is not even text.
        let reply = call(
            &app,
            TestRequest::get().uri("/scim/v2/Schemas").insert_header((
                "Authorization",
                actix_web::http::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
            )),
        )
        .await;
        details.push(reply.assert_error(401));
        details.dedup();
        assert_eq!(details.len(), 1, "401 details differ: {details:?}");

        // And the good token passes everywhere.
        for path in DISCOVERY {
            assert_eq!(call(&app, get(path, &good)).await.status, 200, "{path}");
        }
        // The scheme is case-insensitive (RFC 7235 §2.1).
        let lower = TestRequest::get()
            .uri("/scim/v2/Schemas")
            .insert_header(("Authorization", format!("bearer {good}")));
        assert_eq!(call(&app, lower).await.status, 200);
    })
});

// SPEC (tokens): revocable and optionally expiring. The verifier's cache TTL bounds how late a
// revocation takes effect; here it is zero, so it takes effect at once.
store_test!(revoked_and_expired_tokens_are_refused, |store| {
    run(async {
        let verifier = scim_auth::VerifierConfig {
            cache_ttl: Duration::ZERO,
            ..test_verifier()
        };
        let harness = Harness::with(&store, ServerConfig::default(), verifier);
        let org = harness.org("acme");
        let (used, used_id) = harness.token(org, "used");
        let (unused, unused_id) = harness.token(org, "unused");
        let (expired, _) = harness.token_expiring(
            org,
            "expired",
            Some(SystemTime::now() - Duration::from_secs(1)),
        );
        let app = harness.app().await;
        let path = "/scim/v2/ServiceProviderConfig";

        assert_eq!(call(&app, get(path, &used)).await.status, 200);
        {
            let mut conn = store.get().unwrap();
            tokens::revoke(&mut conn, Some(org), &used_id).unwrap();
            tokens::revoke(&mut conn, None, &unused_id).unwrap();
        }
        for token in [&used, &unused, &expired] {
            let reply = call(&app, get(path, token)).await;
            reply.assert_error(401);
            assert_eq!(
                reply.header("www-authenticate"),
                Some(r#"Bearer realm="scim""#)
            );
        }
    })
});

// SPEC (multi-tenancy): a token belongs to one organisation and speaks only for it.
store_test!(a_token_authenticates_as_its_own_organisation, |store| {
    run(async {
        let harness = Harness::new(&store);
        let a = harness.org("a");
        let b = harness.org("b");
        let (token_a, id_a) = harness.token(a, "okta");
        let (token_b, id_b) = harness.token(b, "okta");
        let app = harness.app().await;
        for (token, org, id) in [
            (&token_a, a, &id_a),
            (&token_b, b, &id_b),
            (&token_a, a, &id_a),
        ] {
            let reply = call(
                &app,
                TestRequest::post()
                    .uri("/scim/v2/echo")
                    .insert_header(("Authorization", format!("Bearer {token}")))
                    .insert_header(("Content-Type", "application/scim+json"))
                    .set_payload(r#"{"x":1}"#),
            )
            .await;
            assert_eq!(reply.status, 200, "{reply:?}");
            assert_eq!(reply.body["org"], json!(org.0));
            assert_eq!(reply.body["token"], json!(id));
            assert_eq!(reply.body["body"], json!({"x": 1}));
        }
    })
});

// IDP-QUIRKS §0: "Send 429 when throttling", with Retry-After (RFC 6585 §4). Failures are
// counted per client address.
store_test!(repeated_failures_from_one_client_get_429, |store| {
    run(async {
        let verifier = scim_auth::VerifierConfig {
            failures_before_throttle: 3,
            ..test_verifier()
        };
        let harness = Harness::with(&store, ServerConfig::default(), verifier);
        let (_, good) = harness.acme();
        let app = harness.app().await;
        let from = |peer: &str, token: &str| {
            get("/scim/v2/Schemas", token).peer_addr(peer.parse().unwrap())
        };
        for _ in 0..3 {
            call(&app, from("192.0.2.1:4000", UNKNOWN_TOKEN))
                .await
                .assert_error(401);
        }
        let throttled = call(&app, from("192.0.2.1:4001", UNKNOWN_TOKEN)).await;
        throttled.assert_error(429);
        let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
        assert!(retry_after >= 1);
        // Another client is not affected.
        assert_eq!(call(&app, from("192.0.2.2:4000", &good)).await.status, 200);
        call(&app, from("192.0.2.2:4000", UNKNOWN_TOKEN))
            .await
            .assert_error(401);
    })
});

// Behind a proxy (trust_forwarded_for) the forwarded client address is the throttling key;
// otherwise a client cannot pick its key by sending X-Forwarded-For.
store_test!(forwarded_addresses_count_only_when_trusted, |store| {
    run(async {
        for trusted in [true, false] {
            let verifier = scim_auth::VerifierConfig {
                failures_before_throttle: 2,
                ..test_verifier()
            };
            let config = ServerConfig {
                trust_forwarded_for: trusted,
                ..ServerConfig::default()
            };
            let harness = Harness::with(&store, config, verifier);
            let app = harness.app().await;
            let from = |forwarded: &str| {
                get("/scim/v2/Schemas", UNKNOWN_TOKEN)
                    .peer_addr("10.0.0.1:1234".parse().unwrap())
                    .insert_header(("X-Forwarded-For", forwarded))
            };
            for _ in 0..2 {
                call(&app, from("198.51.100.1")).await.assert_error(401);
            }
            call(&app, from("198.51.100.1")).await.assert_error(429);
            let other = call(&app, from("198.51.100.2")).await;
            if trusted {
                other.assert_error(401);
            } else {
                other.assert_error(429);
            }
        }
    })
});

// Authentication writes no row per request; last-use times reach the store in periodic
// batches (here every 50 ms).
store_test!(last_use_times_are_flushed_to_the_store, |store| {
    run(async {
        let config = ServerConfig {
            last_used_flush_interval: Duration::from_millis(50),
            ..ServerConfig::default()
        };
        let harness = Harness::with(&store, config, test_verifier());
        let (org, token) = harness.acme();
        let before = SystemTime::now() - Duration::from_secs(1);
        let app = harness.app().await;
        assert_eq!(
            tokens::list(&mut store.get().unwrap(), org).unwrap()[0].last_used_at,
            None
        );
        assert_eq!(
            call(&app, get("/scim/v2/Schemas", &token)).await.status,
            200
        );
        let written = eventually(Duration::from_secs(10), || {
            tokens::list(&mut store.get().unwrap(), org).unwrap()[0]
                .last_used_at
                .is_some_and(|at| at >= before)
        })
        .await;
        assert!(written, "last_used_at was not written");
        // Nothing left to write.
        assert_eq!(harness.state.flush_last_used().await.unwrap(), 0);
    })
});
