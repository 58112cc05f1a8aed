//! `/Users` through the real service, on both backends (RFC 7644 §3.3–§3.6, §3.14).

use actix_web::test;
use scim_store::events;
use scim_store::users as user_store;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, delete, get, patch, percent_encode, post, put, run, with_token, Harness};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn user(user_name: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": format!("{user_name}@example.com"), "type": "work", "primary": true}],
        "active": true,
        "password": "t1meMa$heen",
    })
}

/// Creates `user_name` and returns its id.
async fn create<S, B>(app: &S, token: &str, body: Value) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let reply = call(app, post("/scim/v2/Users", token, &body)).await;
    assert_eq!(reply.status.as_u16(), 201, "{reply:?}");
    reply.body["id"].as_str().unwrap().to_owned()
}

// RFC 7644 §3.3: 201 with the resource, `Location` and `ETag`; `meta` set by the server;
// RFC 7643 §4.1.1: `password` is never returned.
store_test!(create_returns_the_resource, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let reply = call(&app, post("/scim/v2/Users", &token, &user("bjensen"))).await;
        assert_eq!(reply.status.as_u16(), 201, "{reply:?}");
        assert_eq!(reply.content_type(), "application/scim+json");
        let id = reply.body["id"].as_str().unwrap();
        let location = reply.header("location").unwrap();
        assert!(
            location.ends_with(&format!("/scim/v2/Users/{id}")),
            "{location}"
        );
        assert_eq!(reply.body["meta"]["location"], json!(location));
        assert_eq!(reply.body["meta"]["resourceType"], json!("User"));
        assert_eq!(reply.body["meta"]["version"], json!("W/\"1\""));
        assert_eq!(reply.header("etag"), Some("W/\"1\""));
        assert_eq!(
            reply.body["meta"]["created"],
            reply.body["meta"]["lastModified"]
        );
        assert_eq!(reply.body["userName"], json!("bjensen"));
        assert_eq!(reply.body["schemas"], json!([USER]));
        assert!(reply.body.get("password").is_none(), "{:?}", reply.body);

        let read = call(&app, get(&format!("/scim/v2/Users/{id}"), &token)).await;
        assert_eq!(read.status.as_u16(), 200);
        assert_eq!(read.body, reply.body);
    });
});

// RFC 7644 §3.3 / §3.12: bad bodies get the right status and scimType, and write nothing.
store_test!(create_rejects_bad_bodies, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let cases = [
            (json!({"schemas": [USER]}), 400, "invalidValue"),
            (json!({"userName": "no-schemas"}), 400, "invalidSyntax"),
            (
                json!({"schemas": [USER], "userName": "x", "active": "maybe"}),
                400,
                "invalidValue",
            ),
            (
                json!({"schemas": [USER], "userName": "x", "emails": [{"value": "a", "primary": true}, {"value": "b", "primary": true}]}),
                400,
                "invalidValue",
            ),
            (json!([1, 2]), 400, "invalidSyntax"),
        ];
        for (body, status, scim_type) in cases {
            let reply = call(&app, post("/scim/v2/Users", &token, &body)).await;
            reply.assert_error(status);
            assert_eq!(
                reply.body["scimType"],
                json!(scim_type),
                "{body}: {reply:?}"
            );
        }
        let broken = with_token(test::TestRequest::post().uri("/scim/v2/Users"), &token)
            .insert_header(("Content-Type", "application/scim+json"))
            .set_payload("{\"schemas\": [");
        let reply = call(&app, broken).await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], json!("invalidSyntax"));

        let mut conn = store.get().unwrap();
        let page = user_store::page(&mut conn, org, 0, 10).unwrap();
        assert_eq!(page.total, 0, "nothing was written");
    });
});

// userName is unique per organisation, case-insensitively (RFC 7643 §4.1.1 "server"
// uniqueness, caseExact false): 409 `uniqueness` (RFC 7644 §3.3); another organisation may
// use the same name.
store_test!(duplicate_user_name_is_a_conflict, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let other = harness.org("globex");
        let (other_token, _) = harness.token(other, "entra");
        let app = harness.app().await;
        create(&app, &token, user("bjensen")).await;
        let reply = call(&app, post("/scim/v2/Users", &token, &user("BJensen"))).await;
        reply.assert_error(409);
        assert_eq!(reply.body["scimType"], json!("uniqueness"));
        create(&app, &other_token, user("bjensen")).await;
    });
});

// A token only ever sees its own organisation: another organisation's user is 404 for
// every method, and absent from lists.
store_test!(organisations_are_isolated, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let other = harness.org("globex");
        let (intruder, _) = harness.token(other, "intruder");
        let app = harness.app().await;
        let id = create(&app, &token, user("bjensen")).await;
        let path = format!("/scim/v2/Users/{id}");
        call(&app, get(&path, &intruder)).await.assert_error(404);
        call(&app, put(&path, &intruder, &user("bjensen")))
            .await
            .assert_error(404);
        call(
            &app,
            patch(
                &path,
                &intruder,
                json!([{"op": "replace", "path": "active", "value": false}]),
            ),
        )
        .await
        .assert_error(404);
        call(&app, delete(&path, &intruder)).await.assert_error(404);
        let list = call(&app, get("/scim/v2/Users", &intruder)).await;
        assert_eq!(list.body["totalResults"], json!(0));
        assert_eq!(list.body["Resources"], json!([]));
        // Still there for its owner.
        assert_eq!(call(&app, get(&path, &token)).await.status.as_u16(), 200);
    });
});

// RFC 7644 §3.4.2: filtering, paging (§3.4.2.4), sorting (§3.4.2.3), projection (§3.4.2.5).
store_test!(list_filters_sorts_pages_and_projects, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        for name in ["carol", "alice", "Bob", "dave"] {
            let mut body = user(name);
            body["externalId"] = json!(format!("ext-{name}"));
            create(&app, &token, body).await;
        }
        let list = |query: &str| get(&format!("/scim/v2/Users?{query}"), &token);

        let reply = call(&app, list("filter=userName%20eq%20%22BOB%22")).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(
            reply.body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
        );
        assert_eq!(reply.body["totalResults"], json!(1));
        assert_eq!(reply.body["Resources"][0]["userName"], json!("Bob"));

        // `+` for spaces, and Entra ID's unquoted value.
        let reply = call(&app, list("filter=externalId+eq+ext-dave")).await;
        assert_eq!(reply.body["totalResults"], json!(1), "{reply:?}");
        let reply = call(
            &app,
            list(
                "filter=emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22alice%40example.com%22",
            ),
        )
        .await;
        assert_eq!(reply.body["totalResults"], json!(1), "{reply:?}");

        // No match: an empty list that still has every member (IDP-QUIRKS §0).
        let reply = call(&app, list("filter=userName+eq+%22nobody%22")).await;
        assert_eq!(reply.body["totalResults"], json!(0));
        assert_eq!(reply.body["Resources"], json!([]));
        assert_eq!(reply.body["itemsPerPage"], json!(0));
        assert_eq!(reply.body["startIndex"], json!(1));

        let reply = call(
            &app,
            list("sortBy=userName&sortOrder=descending&startIndex=2&count=2"),
        )
        .await;
        let names: Vec<&str> = reply.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["carol", "Bob"], "{reply:?}");
        assert_eq!(reply.body["totalResults"], json!(4));
        assert_eq!(reply.body["startIndex"], json!(2));
        assert_eq!(reply.body["itemsPerPage"], json!(2));

        let reply = call(&app, list("count=0")).await;
        assert_eq!(reply.body["totalResults"], json!(4));
        assert_eq!(reply.body["Resources"], json!([]));
        let reply = call(&app, list("startIndex=-5&count=1")).await;
        assert_eq!(reply.body["startIndex"], json!(1));
        assert_eq!(reply.body["itemsPerPage"], json!(1));

        let reply = call(
            &app,
            list("attributes=userName&filter=userName+eq+%22alice%22"),
        )
        .await;
        let resource = reply.body["Resources"][0].as_object().unwrap();
        let mut keys: Vec<&str> = resource.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["id", "schemas", "userName"], "{reply:?}");
        let reply = call(&app, list("excludedAttributes=emails,name")).await;
        assert!(reply.body["Resources"][0].get("emails").is_none());
        assert!(reply.body["Resources"][0].get("userName").is_some());
    });
});

// RFC 7644 §3.4.2.2 / §3.12: bad list parameters are 400 with the right scimType.
store_test!(list_rejects_bad_parameters, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        for (query, scim_type) in [
            ("filter=userName%20equals%20%22x%22", "invalidFilter"),
            ("filter=shoeSize%20eq%20%2242%22", "invalidFilter"),
            ("filter=active%20gt%20true", "invalidFilter"),
            (
                "filter=((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((a%20pr",
                "invalidFilter",
            ),
            ("sortBy=shoeSize", "invalidValue"),
            ("sortBy=password", "invalidValue"),
            (
                "filter=password%20eq%20%22t1meMa%24heen%22",
                "invalidFilter",
            ),
            ("sortOrder=sideways", "invalidValue"),
            ("count=ten", "invalidValue"),
            ("startIndex=1.5", "invalidValue"),
        ] {
            let reply = call(&app, get(&format!("/scim/v2/Users?{query}"), &token)).await;
            reply.assert_error(400);
            assert_eq!(
                reply.body["scimType"],
                json!(scim_type),
                "{query}: {reply:?}"
            );
        }
    });
});

// RFC 7644 §3.4.3: POST /.search (on the endpoint and at the root) takes the same
// parameters as a body.
store_test!(search_by_post, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        create(&app, &token, user("alice")).await;
        create(&app, &token, user("bob")).await;
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName sw \"a\"",
            "attributes": ["userName"],
            "startIndex": 1,
            "count": 10,
        });
        for path in ["/scim/v2/Users/.search", "/scim/v2/.search"] {
            let reply = call(&app, post(path, &token, &body)).await;
            assert_eq!(reply.status.as_u16(), 200, "{path}: {reply:?}");
            assert_eq!(reply.body["totalResults"], json!(1));
            assert!(reply.body["Resources"][0].get("emails").is_none());
        }
    });
});

// RFC 7644 §3.5.1: PUT replaces; readOnly input is ignored; omitted attributes are cleared;
// §3.14: `If-Match` with a stale version is 412 and writes nothing.
store_test!(replace_with_put, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let id = create(&app, &token, user("bjensen")).await;
        let path = format!("/scim/v2/Users/{id}");
        // Okta's PUT: the whole object with id, password and a meta in its own date format.
        let body = json!({
            "schemas": [USER, ENTERPRISE],
            "id": id,
            "userName": "bjensen",
            "displayName": "Babs",
            "password": "n3wPass",
            "meta": {"created": "04-12-2018 00:00:00", "version": "v1.0"},
            ENTERPRISE: {"employeeNumber": "701984", "manager": "26118915"},
        });
        let reply = call(&app, put(&path, &token, &body)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["displayName"], json!("Babs"));
        assert!(
            reply.body.get("name").is_none(),
            "omitted attributes are cleared"
        );
        assert_eq!(
            reply.body[ENTERPRISE]["manager"],
            json!({"value": "26118915"})
        );
        assert_eq!(reply.body["meta"]["version"], json!("W/\"2\""));
        assert_eq!(reply.body["id"], json!(id));

        let stale = put(&path, &token, &body).insert_header(("If-Match", "W/\"1\""));
        call(&app, stale).await.assert_error(412);
        let fresh = put(&path, &token, &body).insert_header(("If-Match", "W/\"2\""));
        assert_eq!(call(&app, fresh).await.status.as_u16(), 200);

        call(&app, put("/scim/v2/Users/unknown", &token, &body))
            .await
            .assert_error(404);
        let mut bad = body.clone();
        bad["active"] = json!("perhaps");
        let reply = call(&app, put(&path, &token, &bad)).await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], json!("invalidValue"));
        // Renaming onto another user's name is a conflict.
        create(&app, &token, user("alice")).await;
        let mut rename = body.clone();
        rename["userName"] = json!("ALICE");
        let reply = call(&app, put(&path, &token, &rename)).await;
        reply.assert_error(409);
        assert_eq!(reply.body["scimType"], json!("uniqueness"));
    });
});

// RFC 7644 §3.5.2 with the deactivation forms of Entra ID (`"False"` as a string) and Okta
// (path-less with `id` inside): the user stays, its session version moves, an event is
// written; reactivation restores it.
store_test!(patch_deactivates_and_reactivates, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let id = create(&app, &token, user("bjensen")).await;
        let path = format!("/scim/v2/Users/{id}");

        let reply = call(
            &app,
            patch(
                &path,
                &token,
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));
        let mut conn = store.get().unwrap();
        let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
        assert!(!record.active);
        assert_eq!(record.session_version, 2);
        // Still returned by GET and by filter (IDP-QUIRKS §0).
        assert_eq!(call(&app, get(&path, &token)).await.status.as_u16(), 200);
        let listed = call(
            &app,
            get("/scim/v2/Users?filter=userName+eq+%22bjensen%22", &token),
        )
        .await;
        assert_eq!(listed.body["totalResults"], json!(1));

        let okta = json!([{"op": "replace", "value": {"id": id, "active": true}}]);
        let reply = call(
            &app,
            patch(&path, &token, okta).insert_header(("Prefer", "return=minimal")),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 204, "{reply:?}");
        let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
        assert!(record.active);

        let kinds: Vec<String> = events::list_after(&mut conn, org, 0, 100)
            .unwrap()
            .into_iter()
            .map(|e| e.kind.as_str().to_owned())
            .collect();
        assert_eq!(kinds, ["created", "deactivated", "reactivated"]);
    });
});

// RFC 7644 §3.5.1 lets a server treat an omitted attribute as "not asserted": a write that
// leaves `active` unassigned (a PUT without it, `remove active`, `replace active null`) never
// reactivates a deactivated user; the column, filters (`active eq false`) and events agree.
store_test!(an_unassigned_active_never_reactivates, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let mut body = user("bjensen");
        body["active"] = json!(false);
        let id = create(&app, &token, body).await;
        let path = format!("/scim/v2/Users/{id}");
        let mut without_active = user("bjensen");
        without_active.as_object_mut().unwrap().remove("active");
        let writes = [
            put(&path, &token, &without_active),
            patch(&path, &token, json!([{"op": "remove", "path": "active"}])),
            patch(
                &path,
                &token,
                json!([{"op": "replace", "path": "active", "value": null}]),
            ),
            patch(
                &path,
                &token,
                json!([{"op": "replace", "value": {"active": null, "nickName": "B"}}]),
            ),
        ];
        for write in writes {
            let reply = call(&app, write).await;
            assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
            // Unassigned as the client left it (RFC 7644 §3.5.2.2), yet not reactivated.
            assert!(reply.body.get("active").is_none(), "{reply:?}");
        }
        let mut conn = store.get().unwrap();
        assert!(
            !user_store::get(&mut conn, org, &id)
                .unwrap()
                .unwrap()
                .active
        );
        let inactive = call(
            &app,
            get("/scim/v2/Users?filter=active%20eq%20false", &token),
        )
        .await;
        assert_eq!(inactive.body["totalResults"], json!(1));
        let kinds: Vec<String> = events::list_after(&mut conn, org, 0, 100)
            .unwrap()
            .into_iter()
            .map(|e| e.kind.as_str().to_owned())
            .collect();
        assert!(!kinds.contains(&"reactivated".to_owned()), "{kinds:?}");
        // Asking for it reactivates.
        let reactivate = patch(
            &path,
            &token,
            json!([{"op": "replace", "path": "active", "value": true}]),
        );
        assert_eq!(call(&app, reactivate).await.body["active"], json!(true));
    });
});

// RFC 7644 §3.5.2: PATCH errors, each atomic.
store_test!(patch_errors, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let id = create(&app, &token, user("bjensen")).await;
        let path = format!("/scim/v2/Users/{id}");
        for (operations, scim_type) in [
            (json!([{"op": "remove"}]), "noTarget"),
            (
                json!([{"op": "replace", "path": "shoeSize", "value": 42}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "id", "value": "other"}]),
                "mutability",
            ),
            (
                json!([{"op": "replace", "path": "active", "value": "maybe"}]),
                "invalidValue",
            ),
            (
                json!([{"op": "replace", "path": "displayName", "value": "ok"}, {"op": "remove"}]),
                "noTarget",
            ),
        ] {
            let reply = call(&app, patch(&path, &token, operations.clone())).await;
            reply.assert_error(400);
            assert_eq!(
                reply.body["scimType"],
                json!(scim_type),
                "{operations}: {reply:?}"
            );
        }
        let read = call(&app, get(&path, &token)).await;
        assert!(
            read.body.get("displayName").is_none(),
            "a failed PATCH writes nothing"
        );
        assert_eq!(read.body["meta"]["version"], json!("W/\"1\""));
        call(
            &app,
            patch(
                "/scim/v2/Users/unknown",
                &token,
                json!([{"op": "replace", "path": "active", "value": false}]),
            ),
        )
        .await
        .assert_error(404);
        let stale = patch(
            &path,
            &token,
            json!([{"op": "replace", "path": "displayName", "value": "x"}]),
        )
        .insert_header(("If-Match", "W/\"9\""));
        call(&app, stale).await.assert_error(412);
    });
});

// RFC 7644 §3.6: DELETE answers 204, then the user is 404 and gone from lists, its
// userName free at once (interop profile §6.6); a second DELETE is 404.
store_test!(delete_removes, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let id = create(&app, &token, user("bjensen")).await;
        let path = format!("/scim/v2/Users/{id}");
        let reply = call(&app, delete(&path, &token)).await;
        assert_eq!(reply.status.as_u16(), 204, "{reply:?}");
        call(&app, get(&path, &token)).await.assert_error(404);
        call(&app, delete(&path, &token)).await.assert_error(404);
        let listed = call(&app, get("/scim/v2/Users", &token)).await;
        assert_eq!(listed.body["totalResults"], json!(0));
        create(&app, &token, user("bjensen")).await;
        let mut conn = store.get().unwrap();
        let kinds: Vec<String> = events::list_after(&mut conn, org, 0, 100)
            .unwrap()
            .into_iter()
            .map(|e| e.kind.as_str().to_owned())
            .collect();
        assert_eq!(kinds, ["created", "deleted", "created"]);
    });
});

// RFC 7232 §3.2 via RFC 7644 §3.14: `If-None-Match` with the current version is 304.
store_test!(conditional_get, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let id = create(&app, &token, user("bjensen")).await;
        let path = format!("/scim/v2/Users/{id}");
        let reply = call(
            &app,
            get(&path, &token).insert_header(("If-None-Match", "W/\"1\"")),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 304);
        let reply = call(
            &app,
            get(&path, &token).insert_header(("If-None-Match", "W/\"0\"")),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200);
    });
});

// RFC 7644 §3.12 / RFC 9110 §15.5.14: a body over the configured limit is 413 with a SCIM
// error, and nothing is written.
store_test!(oversized_bodies_are_refused, |store| {
    run(async {
        let config = scim_server::ServerConfig {
            max_body_bytes: 512,
            ..scim_server::ServerConfig::default()
        };
        let harness = Harness::with(&store, config, crate::test_verifier());
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let mut body = user("bjensen");
        body["displayName"] = json!("x".repeat(1024));
        call(&app, post("/scim/v2/Users", &token, &body))
            .await
            .assert_error(413);
        let mut conn = store.get().unwrap();
        let page = user_store::page(&mut conn, org, 0, 10).unwrap();
        assert_eq!(page.total, 0);
    });
});

// RFC 7643 §4.1.1: `password` is writeOnly, returned never, and SHOULD be stored hashed; it
// can be neither read, filtered on nor sorted by, and a PUT that omits it keeps it.
store_test!(passwords_are_hashed_and_never_searchable, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let id = create(&app, &token, user("bjensen")).await;
        let mut conn = store.get().unwrap();
        let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
        let stored: Value = serde_json::from_str(&record.document).unwrap();
        let hash = stored["password"].as_str().unwrap().to_owned();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(!record.document.contains("t1meMa$heen"));
        assert!(
            !record.search.contains("t1meMa") && !record.search.contains("argon2"),
            "{}",
            record.search
        );

        // A PUT without a password keeps the stored hash.
        let mut body = user("bjensen");
        body.as_object_mut().unwrap().remove("password");
        let reply = call(&app, put(&format!("/scim/v2/Users/{id}"), &token, &body)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert!(reply.body.get("password").is_none());
        let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
        let stored: Value = serde_json::from_str(&record.document).unwrap();
        assert_eq!(stored["password"], json!(hash));

        // A PATCH that sets one stores a new hash.
        let reply = call(
            &app,
            patch(
                &format!("/scim/v2/Users/{id}"),
                &token,
                json!([{"op": "replace", "path": "password", "value": "an0ther!"}]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert!(reply.body.get("password").is_none());
        let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
        let stored: Value = serde_json::from_str(&record.document).unwrap();
        let new_hash = stored["password"].as_str().unwrap().to_owned();
        assert!(new_hash.starts_with("$argon2id$") && new_hash != hash);

        // Each distinct password costs an argon2 hash: a request carries at most 4.
        let many: Vec<serde_json::Value> = (0..5)
            .map(|i| json!({"op": "replace", "path": "password", "value": format!("pw-{i}")}))
            .collect();
        let reply = call(
            &app,
            patch(&format!("/scim/v2/Users/{id}"), &token, json!(many)),
        )
        .await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], "invalidValue");

        // A client cannot plant a hash of its choosing (its parameters would set the cost of
        // the host application's next login check): a PHC string other than the stored hash
        // is a password like any other, and is hashed.
        let planted =
            "$argon2id$v=19$m=4194304,t=4294967295,p=255$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
        for write in [
            put(
                &format!("/scim/v2/Users/{id}"),
                &token,
                &json!({"schemas": [USER], "userName": "bjensen", "password": planted}),
            ),
            patch(
                &format!("/scim/v2/Users/{id}"),
                &token,
                json!([{"op": "replace", "value": {"password": planted}}]),
            ),
        ] {
            assert_eq!(call(&app, write).await.status.as_u16(), 200);
            let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
            let stored: Value = serde_json::from_str(&record.document).unwrap();
            let stored = stored["password"].as_str().unwrap();
            assert!(stored.starts_with("$argon2id$v=19$m=8,"), "{stored}");
            assert_ne!(stored, planted);
            assert_ne!(stored, new_hash);
        }
    });
});

// A password stored in clear (before passwords were hashed, or by another writer) is hashed by
// the next write that carries it over: a PUT that omits it, a PATCH that does not touch it, or
// a body that sends that very value.
store_test!(
    a_password_stored_in_clear_is_hashed_by_the_next_write,
    |store| {
        run(async {
            let harness = Harness::new(&store);
            let (org, token) = harness.acme();
            let app = harness.app().await;
            let id = create(&app, &token, user("bjensen")).await;
            let mut conn = store.get().unwrap();
            let stored_password = |conn: &mut _| {
                let record = user_store::get(conn, org, &id).unwrap().unwrap();
                let stored: Value = serde_json::from_str(&record.document).unwrap();
                stored["password"].as_str().unwrap().to_owned()
            };
            let writes = [
                put(&format!("/scim/v2/Users/{id}"), &token, &{
                    let mut body = user("bjensen");
                    body.as_object_mut().unwrap().remove("password");
                    body
                }),
                patch(
                    &format!("/scim/v2/Users/{id}"),
                    &token,
                    json!([{"op": "replace", "path": "title", "value": "Guide"}]),
                ),
                put(
                    &format!("/scim/v2/Users/{id}"),
                    &token,
                    &json!({"schemas": [USER], "userName": "bjensen", "password": "legacy-clear"}),
                ),
            ];
            for write in writes {
                let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
                let mut document: Value = serde_json::from_str(&record.document).unwrap();
                document["password"] = json!("legacy-clear");
                let update = user_store::UserUpdate {
                    columns: user_store::UserColumns {
                        name: record.name.clone(),
                        name_key: record.name_key.clone(),
                        external_id: record.external_id.clone(),
                        active: record.active,
                        document: document.to_string(),
                        search: record.search.clone(),
                    },
                    token_id: None,
                    attributes: vec!["password".into()],
                };
                user_store::replace(&mut conn, org, &id, None, &update).unwrap();
                assert_eq!(stored_password(&mut conn), "legacy-clear");

                let reply = call(&app, write).await;
                assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
                assert!(reply.body.get("password").is_none());
                let hash = stored_password(&mut conn);
                assert!(hash.starts_with("$argon2id$"), "{hash}");
            }
        });
    }
);

// RFC 7644 §3.5.2 / §3.12 at the HTTP layer: a body that is not a PatchOp message (an unknown
// `op`, no `Operations`, broken JSON) is 400 invalidSyntax; §3.14: DELETE with a stale
// `If-Match` is 412 and deletes nothing; §3.4.3: a bad filter in a search body is
// invalidFilter.
store_test!(malformed_requests_on_existing_users, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let id = create(&app, &token, user("bjensen")).await;
        let path = format!("/scim/v2/Users/{id}");
        let raw_patch = |body: &str| {
            with_token(test::TestRequest::patch().uri(&path), &token)
                .insert_header(("Content-Type", "application/scim+json"))
                .set_payload(body.to_owned())
        };
        for body in [
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"merge","path":"title","value":"x"}]}"#,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}"#,
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}"#,
            r#"{"Operations": [{"op": "replace""#,
        ] {
            let reply = call(&app, raw_patch(body)).await;
            reply.assert_error(400);
            assert_eq!(
                reply.body["scimType"],
                json!("invalidSyntax"),
                "{body}: {reply:?}"
            );
        }
        let broken_put = with_token(test::TestRequest::put().uri(&path), &token)
            .insert_header(("Content-Type", "application/scim+json"))
            .set_payload("not json");
        let reply = call(&app, broken_put).await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], json!("invalidSyntax"));

        let stale = delete(&path, &token).insert_header(("If-Match", "W/\"7\""));
        call(&app, stale).await.assert_error(412);
        assert_eq!(call(&app, get(&path, &token)).await.status.as_u16(), 200);
        let fresh = delete(&path, &token).insert_header(("If-Match", "W/\"1\""));
        assert_eq!(call(&app, fresh).await.status.as_u16(), 204);

        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName eq",
        });
        let reply = call(&app, post("/scim/v2/Users/.search", &token, &body)).await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], json!("invalidFilter"));
    });
});

// RFC 7643 §4.1.1: userName "MUST be unique across the service provider's entire set of
// Users", compared case-insensitively (caseExact false). RFC 8265 §3.3.2 (UsernameCaseMapped)
// prepares a username for comparison by mapping case and then applying Unicode Normalization
// Form C, so `Renée` precomposed (U+00E9) and decomposed (`e` + U+0301) are one name: the
// second is 409 `uniqueness`, and a filter in either form finds the user, on both backends.
// The name is stored and returned as the client sent it.
store_test!(user_names_compare_in_normalization_form_c, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let precomposed = "Ren\u{e9}e";
        let decomposed = "Rene\u{301}e";
        let id = create(&app, &token, user(precomposed)).await;
        for taken in [decomposed, "RENE\u{301}E", "ren\u{e9}e"] {
            let reply = call(&app, post("/scim/v2/Users", &token, &user(taken))).await;
            reply.assert_error(409);
            assert_eq!(reply.body["scimType"], json!("uniqueness"), "{taken}");
        }
        let other = create(&app, &token, user("rjones")).await;
        let rename = json!([{"op": "replace", "path": "userName", "value": decomposed}]);
        let reply = call(
            &app,
            patch(&format!("/scim/v2/Users/{other}"), &token, rename),
        )
        .await;
        reply.assert_error(409);

        for filter in [
            format!("userName eq \"{precomposed}\""),
            format!("userName eq \"{decomposed}\""),
            "userName eq \"RENE\\u0301E\"".to_owned(),
            "userName sw \"rene\u{301}\"".to_owned(),
            format!("emails.value eq \"{decomposed}@example.com\""),
        ] {
            let uri = format!("/scim/v2/Users?filter={}", percent_encode(&filter));
            let reply = call(&app, get(&uri, &token)).await;
            assert_eq!(reply.status.as_u16(), 200, "{filter}: {reply:?}");
            assert_eq!(reply.body["totalResults"], json!(1), "{filter}: {reply:?}");
            assert_eq!(reply.body["Resources"][0]["id"], json!(id), "{filter}");
            assert_eq!(
                reply.body["Resources"][0]["userName"],
                json!(precomposed),
                "stored as sent"
            );
        }
        // Not an accent-insensitive match: `e` alone is another letter.
        let uri = format!(
            "/scim/v2/Users?filter={}",
            percent_encode("userName eq \"Renee\"")
        );
        let reply = call(&app, get(&uri, &token)).await;
        assert_eq!(reply.body["totalResults"], json!(0), "{reply:?}");
    });
});
