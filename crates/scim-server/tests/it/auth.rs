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

/// `token` with another, random, well-formed secret: a wrong secret that costs a hash.
fn wrong_secret(token: &str) -> String {
    let (head, _) = token.rsplit_once('_').unwrap();
    let other = scim_auth::Token::generate().unwrap();
    format!("{head}_{}", other.secret().expose_secret())
}

/// A well-formed token with a random id no organisation has.
fn random_unknown_token() -> String {
    scim_auth::Token::generate().unwrap().expose().to_string()
}

/// Verifier settings that throttle after `failures` failures, as production does after 5.
fn throttling_after(failures: u32) -> scim_auth::VerifierConfig {
    scim_auth::VerifierConfig {
        failures_before_throttle: failures,
        ..test_verifier()
    }
}

// IDP-QUIRKS §0: "Send 429 when throttling", with Retry-After (RFC 6585 §4). Failures are
// counted per client address and token id.
store_test!(repeated_failures_with_one_token_get_429, |store| {
    run(async {
        let harness = Harness::with(&store, ServerConfig::default(), throttling_after(3));
        let (_, good) = harness.acme();
        let app = harness.app().await;
        let from = |peer: &str, token: &str| {
            get("/scim/v2/Schemas", token).peer_addr(peer.parse().unwrap())
        };
        for _ in 0..3 {
            call(&app, from("192.0.2.1:4000", &wrong_secret(&good)))
                .await
                .assert_error(401);
        }
        let throttled = call(&app, from("192.0.2.1:4001", &wrong_secret(&good))).await;
        throttled.assert_error(429);
        let retry_after: u64 = throttled.header("retry-after").unwrap().parse().unwrap();
        assert!(retry_after >= 1);
        // Another client is not affected.
        assert_eq!(call(&app, from("192.0.2.2:4000", &good)).await.status, 200);
        call(&app, from("192.0.2.2:4000", &wrong_secret(&good)))
            .await
            .assert_error(401);
    })
});

// The reported defect: five garbage tokens from one address, then a valid token not yet in
// the verification cache, got 429 — and behind a TLS proxy every identity provider shares the
// proxy's address. RFC 6750 §3.1 answers every bad token alike ("invalid_token": 401); none
// of them may cost a good token anything.
store_test!(
    a_flood_of_bad_tokens_does_not_lock_out_a_valid_one,
    |store| {
        run(async {
            let harness = Harness::with(&store, ServerConfig::default(), throttling_after(5));
            let (org, good) = harness.acme();
            let (other, _) = harness.token(org, "someone else's");
            let app = harness.app().await;
            let from_proxy = |value: String| {
                TestRequest::get()
                    .uri("/scim/v2/Schemas")
                    .insert_header(("Authorization", value))
                    .peer_addr("192.0.2.1:4000".parse().unwrap())
            };
            for _ in 0..10 {
                for value in [
                    "Bearer garbage".to_owned(),
                    format!("Bearer {UNKNOWN_TOKEN}"),
                    format!("Bearer {}", random_unknown_token()),
                ] {
                    call(&app, from_proxy(value)).await.assert_error(401);
                }
            }
            // Wrong secrets for another token id throttle that id from this address...
            for _ in 0..5 {
                let value = format!("Bearer {}", wrong_secret(&other));
                call(&app, from_proxy(value)).await.assert_error(401);
            }
            let value = format!("Bearer {}", wrong_secret(&other));
            call(&app, from_proxy(value)).await.assert_error(429);
            // ...and nothing else: the valid token, never seen before, gets through.
            let reply = call(&app, from_proxy(format!("Bearer {good}"))).await;
            assert_eq!(reply.status, 200, "{reply:?}");
            assert_eq!(harness.state.verifier().stats().cache_hits, 0);
        })
    }
);

// RFC 7239 §8.1: the Forwarded field "cannot be relied upon to be correct, as it may be
// modified ... by every node on the way to the server, including the client making the
// request". From a peer that is not a trusted proxy, neither it nor X-Forwarded-For is read.
store_test!(spoofed_forwarding_headers_do_not_change_the_key, |store| {
    run(async {
        let no_proxies = Vec::new();
        let other_proxies = vec!["10.0.0.0/8".parse().unwrap()];
        let mut round = 0;
        for trusted_proxies in [no_proxies, other_proxies] {
            for (xff, forwarded) in [(true, false), (false, true), (true, true)] {
                round += 1;
                let config = ServerConfig {
                    trusted_proxies: trusted_proxies.clone(),
                    ..ServerConfig::default()
                };
                let harness = Harness::with(&store, config, throttling_after(2));
                let org = harness.org(&format!("spoofed {round}"));
                let (target, _) = harness.token(org, "target");
                let app = harness.app().await;
                let spoofing = |n: u32| {
                    let mut req = get("/scim/v2/Schemas", &wrong_secret(&target))
                        .peer_addr("192.0.2.1:4000".parse().unwrap());
                    if xff {
                        req = req.insert_header(("X-Forwarded-For", format!("198.51.100.{n}")));
                    }
                    if forwarded {
                        req = req.insert_header(("Forwarded", format!("for=203.0.113.{n}")));
                    }
                    req
                };
                call(&app, spoofing(1)).await.assert_error(401);
                call(&app, spoofing(2)).await.assert_error(401);
                // A new made-up address each time, and still the same client.
                call(&app, spoofing(3)).await.assert_error(429);
                call(&app, spoofing(4)).await.assert_error(429);
                // The address the spoof named is not throttled either.
                let named = get("/scim/v2/Schemas", &wrong_secret(&target))
                    .peer_addr("198.51.100.1:4000".parse().unwrap());
                call(&app, named).await.assert_error(401);
            }
        }
    })
});

// RFC 7239 §4: each proxy appends. Behind trusted proxies the client is the rightmost hop
// that is not one of them; whatever a client writes to the left of it changes nothing.
store_test!(
    behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client,
    |store| {
        run(async {
            let config = ServerConfig {
                trusted_proxies: vec![
                    "10.0.0.0/8".parse().unwrap(),
                    "2001:db8:ffff::/48".parse().unwrap(),
                ],
                ..ServerConfig::default()
            };
            let harness = Harness::with(&store, config, throttling_after(2));
            let (_, token) = harness.acme();
            let app = harness.app().await;
            let via = |peer: &str, header: (&str, &str)| {
                get("/scim/v2/Schemas", &wrong_secret(&token))
                    .peer_addr(peer.parse().unwrap())
                    .insert_header((header.0.to_owned(), header.1.to_owned()))
            };
            let xff = "X-Forwarded-For";
            call(&app, via("10.0.0.1:1", (xff, "198.51.100.1, 203.0.113.7")))
                .await
                .assert_error(401);
            // Another made-up first entry, another proxy: the same client.
            call(&app, via("10.0.0.2:1", (xff, "198.51.100.2, 203.0.113.7")))
                .await
                .assert_error(401);
            call(
                &app,
                via("10.0.0.1:1", (xff, "198.51.100.3,203.0.113.7, 10.1.1.1")),
            )
            .await
            .assert_error(429);
            let forwarded =
                r#"for=198.51.100.4, for=203.0.113.7;proto=https, for="[2001:db8:ffff::9]""#;
            call(&app, via("[2001:db8:ffff::1]:1", ("Forwarded", forwarded)))
                .await
                .assert_error(429);
            // Another client behind the same proxies is not affected, nor is the proxy's address.
            call(&app, via("10.0.0.1:1", (xff, "203.0.113.7, 203.0.113.8")))
                .await
                .assert_error(401);
            let direct = get("/scim/v2/Schemas", &token).peer_addr("10.0.0.1:1".parse().unwrap());
            assert_eq!(call(&app, direct).await.status, 200);
            // The throttled client keeps its proven token (verified just above from the proxy).
            let proven = get("/scim/v2/Schemas", &token)
                .peer_addr("10.0.0.1:1".parse().unwrap())
                .insert_header((xff, "203.0.113.7"));
            assert_eq!(call(&app, proven).await.status, 200);
        })
    }
);

// The derived base URL follows a forwarded host and scheme only from a trusted proxy.
store_test!(
    forwarded_host_and_scheme_only_from_a_trusted_proxy,
    |store| {
        run(async {
            let config = ServerConfig {
                trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
                ..ServerConfig::default()
            };
            let harness = Harness::with(&store, config, test_verifier());
            let (_, token) = harness.acme();
            let app = harness.app().await;
            let location = |peer: &str, headers: &[(&str, &str)]| {
                let mut req = get("/scim/v2/ServiceProviderConfig", &token)
                    .peer_addr(peer.parse().unwrap())
                    .insert_header(("Host", "backend.internal:8080"));
                for (name, value) in headers {
                    req = req.insert_header((name.to_string(), value.to_string()));
                }
                req
            };
            let x_forwarded = [
                ("X-Forwarded-For", "203.0.113.7"),
                ("X-Forwarded-Host", "scim.example.com"),
                ("X-Forwarded-Proto", "https"),
            ];
            let reply = call(&app, location("10.0.0.1:1", &x_forwarded)).await;
            assert_eq!(
                reply.body["meta"]["location"],
                "https://scim.example.com/scim/v2/ServiceProviderConfig"
            );
            let forwarded = [(
            "Forwarded",
            "for=198.51.100.1;host=evil.example, for=203.0.113.7;host=scim.example.com;proto=https",
        )];
            let reply = call(&app, location("10.0.0.1:1", &forwarded)).await;
            assert_eq!(
                reply.body["meta"]["location"],
                "https://scim.example.com/scim/v2/ServiceProviderConfig"
            );
            for headers in [&x_forwarded[..], &forwarded[..]] {
                let reply = call(&app, location("192.0.2.1:1", headers)).await;
                assert_eq!(
                    reply.body["meta"]["location"],
                    "http://backend.internal:8080/scim/v2/ServiceProviderConfig"
                );
            }
            // A scheme other than http(s) is not one.
            let odd = [("X-Forwarded-Proto", "javascript")];
            let reply = call(&app, location("10.0.0.1:1", &odd)).await;
            assert_eq!(
                reply.body["meta"]["location"],
                "http://backend.internal:8080/scim/v2/ServiceProviderConfig"
            );
        })
    }
);

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
