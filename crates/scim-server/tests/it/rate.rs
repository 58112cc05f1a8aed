//! Per-organisation request rate limits (RFC 6585 §4): 429 with `Retry-After` and the RFC 7644
//! error body for the organisation over its limit, nothing for the others.

use actix_web::test;
use scim_server::ServerConfig;
use scim_store::orgs::{self, RateLimit};
use scim_test_db::store_test;
use serde_json::json;

use crate::{call, get, post, run, test_verifier, with_token, Harness};

store_test!(one_organisations_flood_never_slows_another, |store| {
    run(async {
        let h = Harness::new(&store);
        let flooding = h.org("flood");
        let (flood_token, _) = h.token(flooding, "idp");
        let quiet = h.org("quiet");
        let (quiet_token, _) = h.token(quiet, "idp");
        let mut conn = h.store.get().unwrap();
        let limit = RateLimit {
            per_second: 1,
            burst: 5,
        };
        orgs::set_rate_limit(&mut conn, flooding, Some(limit)).unwrap();
        drop(conn);
        let app = h.app().await;

        let mut refused = 0;
        for n in 0..30 {
            let reply = call(&app, get("/scim/v2/Users", &flood_token)).await;
            if reply.status == 429 {
                refused += 1;
                reply.assert_error(429);
                let wait: u64 = reply.header("retry-after").unwrap().parse().unwrap();
                assert!((1..=1).contains(&wait), "{wait}");
            } else {
                assert_eq!(reply.status, 200, "{reply:?}");
            }
            // The other organisation, interleaved, is never refused.
            let other = call(&app, get("/scim/v2/Users", &quiet_token)).await;
            assert_eq!(other.status, 200, "request {n}: {other:?}");
        }
        // The burst of 5 went through (plus what a second of refill allows), the rest did not.
        assert!(refused >= 20, "{refused}");
        // Writes are refused before any database work: nothing was created.
        let user =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x"});
        let reply = call(&app, post("/scim/v2/Users", &flood_token, &user)).await;
        reply.assert_error(429);
        let listed = call(&app, get("/scim/v2/Users", &quiet_token)).await;
        assert_eq!(listed.body["totalResults"], 0);
    });
});

store_test!(
    the_server_default_applies_until_an_organisation_has_its_own,
    |store| {
        run(async {
            let config = ServerConfig {
                rate_limit: Some(RateLimit {
                    per_second: 1,
                    burst: 2,
                }),
                ..ServerConfig::default()
            };
            let h = Harness::with(&store, config, test_verifier());
            let (_, token) = h.acme();
            let admin = h.admin_token(None);
            let app = h.admin_app().await;
            let statuses = async || {
                let mut statuses = Vec::new();
                for _ in 0..4 {
                    statuses.push(
                        call(&app, get("/scim/v2/Users", &token))
                            .await
                            .status
                            .as_u16(),
                    );
                }
                statuses
            };
            assert_eq!(statuses().await, [200, 200, 429, 429]);

            let org = call(&app, get("/admin/v1/orgs/acme", &admin)).await;
            assert_eq!(org.body["rateLimit"], json!({"perSecond": 1, "burst": 2}));
            assert_eq!(org.body["rateLimitIsDefault"], true);
            let set = |body: serde_json::Value| {
                with_token(
                    test::TestRequest::patch().uri("/admin/v1/orgs/acme"),
                    &admin,
                )
                .insert_header(("Content-Type", "application/json"))
                .set_payload(body.to_string())
            };
            let changed = call(
                &app,
                set(json!({"rateLimit": {"perSecond": 1000, "burst": 1000}})),
            )
            .await;
            assert_eq!(changed.status, 200, "{changed:?}");
            assert_eq!(changed.body["rateLimitIsDefault"], false);
            assert_eq!(statuses().await, [200, 200, 200, 200]);

            for bad in [
                json!({"rateLimit": {"perSecond": 0, "burst": 1}}),
                json!({"rateLimit": {"perSecond": 1}}),
                json!({"rateLimit": 5}),
                json!({"interopProfile": "lax"}),
            ] {
                let reply = call(&app, set(bad.clone())).await;
                assert_eq!(reply.status, 400, "{bad}: {reply:?}");
            }
            // A refused PATCH changed nothing, not even its valid parts.
            assert_eq!(
                call(&app, set(json!({"scimManaged": true}))).await.status,
                200
            );
            let mixed = json!({"scimManaged": false, "rateLimit": {"perSecond": 0, "burst": 0}});
            assert_eq!(call(&app, set(mixed)).await.status, 400);
            let org = call(&app, get("/admin/v1/orgs/acme", &admin)).await;
            assert_eq!(org.body["scimManaged"], true);
            assert_eq!(
                org.body["rateLimit"],
                json!({"perSecond": 1000, "burst": 1000})
            );
        });
    }
);
