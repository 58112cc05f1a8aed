//! The SCIM interoperability profile (draft-zollner-scim-interop-profile-01), per organisation:
//! each service-provider requirement in strict mode, and the tolerant default beside it.

use scim_store::orgs;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, delete, get, list_of, patch, post, run, Harness};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn user(name: &str) -> Value {
    json!({"schemas": [USER], "userName": name})
}

/// Organisations `strict` (under the profile) and `tolerant`, with a token each.
fn two_orgs(h: &Harness) -> (String, String) {
    let strict = h.org("strict");
    let (strict_token, _) = h.token(strict, "idp");
    let tolerant = h.org("tolerant");
    let (tolerant_token, _) = h.token(tolerant, "idp");
    let mut conn = h.store.get().unwrap();
    orgs::set_strict_profile(&mut conn, strict, true).unwrap();
    (strict_token, tolerant_token)
}

store_test!(
    service_provider_config_tells_the_truth_per_organisation,
    |store| {
        run(async {
            let h = Harness::new(&store);
            let (strict, tolerant) = two_orgs(&h);
            let app = h.app().await;
            // Interop profile §4.
            let spc = call(&app, get("/scim/v2/ServiceProviderConfig", &strict)).await;
            assert_eq!(spc.body["interopProfileConformant"], true);
            let spc = call(&app, get("/scim/v2/ServiceProviderConfig", &tolerant)).await;
            assert!(
                spc.body.get("interopProfileConformant").is_none(),
                "{spc:?}"
            );
        });
    }
);

store_test!(strict_refuses_unknown_attributes_and_schemas, |store| {
    run(async {
        let h = Harness::new(&store);
        let (strict, tolerant) = two_orgs(&h);
        let app = h.app().await;
        // §5.3: an undefined attribute or schema URI gets 400 invalidSyntax.
        let unknown_attribute = json!({"schemas": [USER], "userName": "a", "shoeSize": 42});
        let unknown_schema = json!({
            "schemas": [USER, "urn:example:params:scim:schemas:extension:acme:2.0:User"],
            "userName": "b",
            "urn:example:params:scim:schemas:extension:acme:2.0:User": {"badge": "7"},
        });
        for body in [&unknown_attribute, &unknown_schema] {
            let reply = call(&app, post("/scim/v2/Users", &strict, body)).await;
            reply.assert_error(400);
            assert_eq!(reply.body["scimType"], "invalidSyntax", "{reply:?}");
            let reply = call(&app, post("/scim/v2/Users", &tolerant, body)).await;
            assert_eq!(
                reply.status, 201,
                "the tolerant default drops them: {reply:?}"
            );
        }
    });
});

store_test!(
    strict_patch_needs_a_path_and_replaces_complex_values_whole,
    |store| {
        run(async {
            let h = Harness::new(&store);
            let (strict, tolerant) = two_orgs(&h);
            let app = h.app().await;
            for (token, is_strict) in [(&strict, true), (&tolerant, false)] {
                let mut body = user("bjensen");
                body["name"] = json!({"givenName": "Barbara", "familyName": "Jensen"});
                let created = call(&app, post("/scim/v2/Users", token, &body)).await;
                let path = format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap());
                // §6.5.1.1: an operation without `path` gets 400 invalidSyntax.
                let pathless = json!([{"op": "replace", "value": {"displayName": "Babs"}}]);
                let reply = call(&app, patch(&path, token, pathless)).await;
                if is_strict {
                    reply.assert_error(400);
                    assert_eq!(reply.body["scimType"], "invalidSyntax");
                } else {
                    assert_eq!(reply.status, 200, "{reply:?}");
                }
                // §6.5.2.1: a complex replace replaces the whole value.
                let replace =
                    json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]);
                let reply = call(&app, patch(&path, token, replace)).await;
                assert_eq!(reply.status, 200, "{reply:?}");
                let family = reply.body["name"].get("familyName").cloned();
                if is_strict {
                    assert_eq!(family, None, "{reply:?}");
                } else {
                    assert_eq!(family, Some(json!("Jensen")), "RFC 7644 §3.5.2.3 merges");
                }
            }
        });
    }
);

store_test!(strict_keeps_types_to_canonical_values, |store| {
    run(async {
        let h = Harness::new(&store);
        let (strict, _) = two_orgs(&h);
        let app = h.app().await;
        // §5.4: types come from canonicalValues.
        let mut body = user("a");
        body["emails"] = json!([{"value": "a@example.com", "type": "pager"}]);
        let reply = call(&app, post("/scim/v2/Users", &strict, &body)).await;
        reply.assert_error(400);
        body["emails"] = json!([{"value": "a@example.com", "type": "work"}]);
        assert_eq!(
            call(&app, post("/scim/v2/Users", &strict, &body))
                .await
                .status,
            201
        );
    });
});

store_test!(strict_filters_deletes_uniqueness_and_paging, |store| {
    run(async {
        let h = Harness::new(&store);
        let (strict, _) = two_orgs(&h);
        let app = h.app().await;
        // §6.3: a filter on an undefined attribute gets 400 invalidFilter.
        let reply = call(
            &app,
            get("/scim/v2/Users?filter=shoeSize%20eq%2042", &strict),
        )
        .await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], "invalidFilter");
        // §6.9.1: 409 uniqueness.
        let created = call(&app, post("/scim/v2/Users", &strict, &user("bjensen"))).await;
        let again = call(&app, post("/scim/v2/Users", &strict, &user("BJENSEN"))).await;
        again.assert_error(409);
        assert_eq!(again.body["scimType"], "uniqueness");
        // §6.6: DELETE deletes: 404 after, gone from queries, userName reusable.
        let path = format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap());
        assert_eq!(call(&app, delete(&path, &strict)).await.status, 204);
        call(&app, get(&path, &strict)).await.assert_error(404);
        let found = call(
            &app,
            get(
                "/scim/v2/Users?filter=userName%20eq%20%22bjensen%22",
                &strict,
            ),
        )
        .await;
        assert!(list_of(&found, 0).is_empty());
        assert_eq!(
            call(&app, post("/scim/v2/Users", &strict, &user("bjensen")))
                .await
                .status,
            201
        );
        // §6.4: `count` of 100 and more is honoured.
        for n in 0..110 {
            call(
                &app,
                post("/scim/v2/Users", &strict, &user(&format!("u{n}"))),
            )
            .await;
        }
        let page = call(&app, get("/scim/v2/Users?count=105", &strict)).await;
        assert_eq!(list_of(&page, 111).len(), 105);
    });
});
