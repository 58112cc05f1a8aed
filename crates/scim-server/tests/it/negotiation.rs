//! Response media types (RFC 7644 §3.1, §8.1: `application/scim+json`; IDP-QUIRKS §0:
//! `application/json` for a client whose Accept asks for it) and request ids.

use actix_web::middleware::from_fn;
use actix_web::test::TestRequest;
use actix_web::{web, App, HttpResponse};
use scim_test_db::store_test;

use crate::{call, get, run, Harness};

// RFC 7644 §8.1 registers application/scim+json; RFC 9110 §12.5.1 Accept. Errors are
// negotiated like successes.
store_test!(responses_are_labelled_from_accept, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let cases = [
            (None, "application/scim+json"),
            (Some("application/scim+json"), "application/scim+json"),
            (Some("*/*"), "application/scim+json"),
            (Some("application/json"), "application/json"),
            (Some("application/json; charset=utf-8"), "application/json"),
            (
                Some("application/json, application/scim+json"),
                "application/scim+json",
            ),
            (
                Some("application/scim+json;q=0.1, application/json"),
                "application/json",
            ),
            (Some("text/html"), "application/scim+json"),
        ];
        for (accept, expected) in cases {
            for (path, authorized, status) in [
                ("/scim/v2/ServiceProviderConfig", true, 200),
                ("/scim/v2/Schemas/urn:nope", true, 404),
                ("/scim/v2/Schemas", false, 401),
            ] {
                let mut req = if authorized {
                    get(path, &token)
                } else {
                    TestRequest::get().uri(path)
                };
                if let Some(accept) = accept {
                    req = req.insert_header(("Accept", accept));
                }
                let reply = call(&app, req).await;
                assert_eq!(reply.status.as_u16(), status, "{accept:?} {path}");
                assert_eq!(reply.content_type(), expected, "{accept:?} {path}");
                assert!(reply.body.is_object());
            }
        }
    })
});

// Every response carries X-Request-Id: the client's when it is sane, else a fresh one.
store_test!(every_response_carries_a_request_id, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let given = call(
            &app,
            get("/scim/v2/Schemas", &token).insert_header(("X-Request-Id", "okta-abc.123")),
        )
        .await;
        assert_eq!(given.header("x-request-id"), Some("okta-abc.123"));
        let refused = call(
            &app,
            TestRequest::get()
                .uri("/scim/v2/Schemas")
                .insert_header(("X-Request-Id", "has spaces and <tags>")),
        )
        .await;
        refused.assert_error(401);
        let id = refused.header("x-request-id").unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        let other = call(&app, get("/scim/v2/Nope", &token)).await;
        assert_ne!(other.header("x-request-id"), Some(id));
    })
});

// `request_ids` around a whole App: routes outside the SCIM scope (the admin API, health
// checks) get an id too, the client's echoed when sane; inside the scope the id is the same
// one, not a second.
store_test!(request_ids_cover_routes_outside_the_scope, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = actix_web::test::init_service(
            App::new()
                .wrap(from_fn(scim_server::request_ids))
                .service(scim_server::scope("/scim/v2", harness.state.clone()))
                .service(scim_server::admin_scope("/admin/v1", harness.state.clone()))
                .route("/healthz", web::get().to(HttpResponse::Ok))
                .default_service(web::to(scim_server::not_found)),
        )
        .await;
        for (path, status) in [
            ("/healthz", 200),
            ("/admin/v1/orgs", 401),
            ("/nowhere", 404),
            ("/scim/v2/Schemas", 200),
        ] {
            let given = call(
                &app,
                get(path, &token).insert_header(("X-Request-Id", "idp-42")),
            )
            .await;
            assert_eq!(given.status.as_u16(), status, "{path}");
            let ids: Vec<_> = given.headers.get_all("x-request-id").collect();
            assert_eq!(ids, ["idp-42"], "{path}");
            let fresh = call(&app, get(path, &token)).await;
            let id = fresh.header("x-request-id").unwrap();
            assert_eq!(id.len(), 32, "{path}");
        }
    })
});
