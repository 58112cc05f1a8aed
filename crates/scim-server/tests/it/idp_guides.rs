//! What every guide under `docs/idp/` says about attributes of a schema that is not the
//! resource's, replayed in each identity provider's own request shapes: POST and PUT drop them,
//! and a PATCH operation naming one is skipped while the request's others apply; in an
//! organisation on the strict interop profile the PATCH is `400 invalidPath` and POST is
//! `400 invalidSyntax`, changing nothing. The guides are read here too, so one that says
//! otherwise fails.
//!
//! It also replays the group tables of the OneLogin, Ping and JumpCloud guides, whose identity
//! providers publish no group request bodies (their own replays, `idp_onelogin.rs` and the
//! others, cover users): each row, with plain SCIM bodies.
//!
//! RFC 7644 §3.5.2 asks that each operation be "compatible with the attribute's ... schema" and
//! leaves open what a server does with a schema it does not serve; §3.3 lets POST ignore
//! attributes it does not know. Skipping keeps an identity provider mapped to its own extension
//! (Entra ID's custom attributes) from failing every update; the interop profile §5.3 asks for
//! the refusal, which strict organisations get.

use actix_web::test::TestRequest;
use scim_server::ServerConfig;
use scim_store::orgs;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{
    call, delete, get, id_of, member_ids, patch, post, put, run, sorted_ids as sorted,
    test_verifier, Harness, Reply,
};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// An identity provider's own extension, as Microsoft's example names it.
const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";

/// Each guide and its "Known limits".
const GUIDES: [(&str, &str); 5] = [
    ("okta", include_str!("../../../../docs/idp/okta.md")),
    ("entra-id", include_str!("../../../../docs/idp/entra-id.md")),
    ("onelogin", include_str!("../../../../docs/idp/onelogin.md")),
    ("ping", include_str!("../../../../docs/idp/ping.md")),
    (
        "jumpcloud",
        include_str!("../../../../docs/idp/jumpcloud.md"),
    ),
];

fn has_custom(body: &Value) -> bool {
    body.get(CUSTOM).is_some()
        || body["schemas"]
            .as_array()
            .is_some_and(|schemas| schemas.contains(&json!(CUSTOM)))
}

/// A user carrying the custom extension, as a body of POST or PUT.
fn user_with_custom(user_name: &str) -> Value {
    json!({
        "schemas": [USER, CUSTOM],
        "userName": user_name,
        "active": true,
        CUSTOM: {"tag": "701984"},
    })
}

// Every guide states the rule this module checks, in the same words where it matters.
#[test]
fn every_guide_states_what_happens_to_attributes_of_other_schemas() {
    for (name, text) in GUIDES {
        let limits = text
            .split("## Known limits")
            .nth(1)
            .unwrap_or_else(|| panic!("{name}: no Known limits section"));
        let line = limits
            .split("\n- ")
            .find(|item| item.starts_with("**Attributes**"))
            .unwrap_or_else(|| panic!("{name}: no Attributes limit"));
        let line = line.split_whitespace().collect::<Vec<_>>().join(" ");
        for phrase in [
            "POST and PUT drop them",
            "a PATCH operation naming one is skipped",
            "`400 invalidPath`",
            "`400 invalidSyntax`",
        ] {
            assert!(
                line.contains(phrase),
                "{name}: {phrase:?} missing in {line:?}"
            );
        }
        assert!(
            !text.contains("scim_store::events::list_after`)"),
            "{name}: points a scimd-only team at the events table"
        );
        assert!(
            text.contains("/admin/v1/orgs/") && text.contains("/events"),
            "{name}: no pointer to the change feed"
        );
    }
}

store_test!(
    attributes_of_other_schemas_are_dropped_or_skipped_as_the_guides_say,
    |store| {
        run(async {
            let h = Harness::new(&store);
            let (_, token) = h.acme();
            let app = h.app().await;

            // POST (every IdP creates this way) and PUT (OneLogin, Ping, Okta AIW): dropped.
            let created = call(&app, post("/scim/v2/Users", &token, &user_with_custom("a"))).await;
            assert_eq!(created.status, 201, "{created:?}");
            assert!(!has_custom(&created.body), "{created:?}");
            let id = id_of(&created);
            let path = format!("/scim/v2/Users/{id}");
            let mut replaced = user_with_custom("a");
            replaced["nickName"] = json!("Put");
            let reply = call(&app, put(&path, &token, &replaced)).await;
            assert_eq!(reply.status, 200, "{reply:?}");
            assert_eq!(reply.body["nickName"], "Put");
            assert!(!has_custom(&reply.body), "{reply:?}");

            // PATCH in each IdP's shape: the operation on the other schema is skipped, the
            // rest applies.
            let shapes = [
                // Okta: path-less replace, the attribute URN-qualified in the value.
                (
                    json!([{"op": "replace", "value": {
                        format!("{CUSTOM}:tag"): "1", "nickName": "Okta"}}]),
                    "Okta",
                ),
                // Entra ID: capitalised ops, a path naming the custom attribute.
                (
                    json!([
                        {"op": "Replace", "path": format!("{CUSTOM}:tag"), "value": "2"},
                        {"op": "Replace", "path": "nickName", "value": "Entra"},
                    ]),
                    "Entra",
                ),
                // The extension's whole object under its URN.
                (
                    json!([
                        {"op": "add", "path": CUSTOM, "value": {"tag": "3"}},
                        {"op": "add", "path": "nickName", "value": "Object"},
                    ]),
                    "Object",
                ),
                // An attribute of a schema the server serves, but for groups.
                (
                    json!([
                        {"op": "replace", "path": format!("{GROUP}:displayName"), "value": "G"},
                        {"op": "replace", "path": "nickName", "value": "Group"},
                    ]),
                    "Group",
                ),
            ];
            for (operations, nick_name) in shapes {
                let reply = call(&app, patch(&path, &token, operations.clone())).await;
                assert_eq!(reply.status, 200, "{operations}: {reply:?}");
                assert_eq!(reply.body["nickName"], nick_name, "{operations}");
                assert!(!has_custom(&reply.body), "{operations}: {reply:?}");
                // The Group's displayName went nowhere, not to the user's own.
                assert!(reply.body.get("displayName").is_none(), "{reply:?}");
            }

            // A group PATCH naming the enterprise User extension: not the Group's schema.
            let group = call(
                &app,
                post(
                    "/scim/v2/Groups",
                    &token,
                    &json!({"schemas": [GROUP], "displayName": "Eng"}),
                ),
            )
            .await;
            let group_path = format!("/scim/v2/Groups/{}", id_of(&group));
            let reply = call(
                &app,
                patch(
                    &group_path,
                    &token,
                    json!([
                        {"op": "add", "path": format!("{ENTERPRISE}:department"), "value": "R&D"},
                        {"op": "replace", "path": "displayName", "value": "Engineering"},
                    ]),
                ),
            )
            .await;
            assert!(reply.status.is_success(), "{reply:?}");
            let read = call(&app, get(&group_path, &token)).await;
            assert_eq!(read.body["displayName"], "Engineering");
            assert!(read.body.get(ENTERPRISE).is_none(), "{read:?}");
        });
    }
);

store_test!(
    a_strict_organisation_refuses_attributes_of_other_schemas,
    |store| {
        run(async {
            let h = Harness::new(&store);
            let (org, token) = h.acme();
            orgs::set_strict_profile(&mut h.store.get().unwrap(), org, true).unwrap();
            let app = h.app().await;

            let refused = call(&app, post("/scim/v2/Users", &token, &user_with_custom("a"))).await;
            refused.assert_error(400);
            assert_eq!(refused.body["scimType"], "invalidSyntax", "{refused:?}");

            let created = call(
                &app,
                post(
                    "/scim/v2/Users",
                    &token,
                    &json!({"schemas": [USER], "userName": "a", "nickName": "Before"}),
                ),
            )
            .await;
            let path = format!("/scim/v2/Users/{}", id_of(&created));
            for operations in [
                json!([
                    {"op": "replace", "path": "nickName", "value": "After"},
                    {"op": "replace", "path": format!("{CUSTOM}:tag"), "value": "2"},
                ]),
                json!([
                    {"op": "replace", "path": "nickName", "value": "After"},
                    {"op": "replace", "path": format!("{GROUP}:displayName"), "value": "G"},
                ]),
            ] {
                let reply = call(&app, patch(&path, &token, operations.clone())).await;
                reply.assert_error(400);
                assert_eq!(
                    reply.body["scimType"], "invalidPath",
                    "{operations}: {reply:?}"
                );
            }
            let read = call(&app, get(&path, &token)).await;
            assert_eq!(read.body["nickName"], "Before", "nothing applied: {read:?}");
            // The request is refused whole, not per operation: a plain one still works.
            let reply = call(
                &app,
                patch(
                    &path,
                    &token,
                    json!([{"op": "replace", "path": "nickName", "value": "After"}]),
                ),
            )
            .await;
            assert_eq!(reply.status, 200, "{reply:?}");
        });
    }
);

/// A group request with the headers OneLogin is observed to send: `application/scim+json` and
/// an empty `User-Agent` (docs/idp/onelogin.md). OneLogin publishes no group bodies, so the
/// bodies are plain SCIM.
fn onelogin(req: TestRequest) -> TestRequest {
    req.insert_header(("User-Agent", ""))
}

fn group(display_name: &str, external_id: &str) -> Value {
    json!({"schemas": [GROUP], "displayName": display_name, "externalId": external_id})
}

/// The ids of a ListResponse's resources, after checking its shape: integer counts and a
/// `Resources` array even when empty.
fn listed(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert!(reply.body["totalResults"].is_u64(), "{reply:?}");
    reply.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources: {reply:?}"))
        .iter()
        .map(|resource| resource["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A group PATCH answered as the guides say: 204, no body, the new version in `ETag`.
fn assert_patched(reply: &Reply) {
    assert_eq!(reply.status, 204, "{reply:?}");
    assert!(reply.body.is_null(), "{reply:?}");
    assert!(reply.header("etag").is_some(), "{reply:?}");
}

// docs/idp/onelogin.md, the group table: Get Groups, Create Group, Patch Group.
store_test!(onelogin_group_table, |store| {
    run(async {
        let h = Harness::new(&store);
        let (_, token) = h.acme();
        let app = h.app().await;
        // Get Groups on an empty organisation: Resources present, empty.
        let empty = call(&app, onelogin(get("/scim/v2/Groups", &token))).await;
        assert!(listed(&empty).is_empty());
        // Create Group: 201 with an id; the same name in other letters is 409 uniqueness.
        let mut ids = Vec::new();
        for (name, external_id) in [("Sales", "ol-1"), ("Support", "ol-2"), ("Legal", "ol-3")] {
            let created = call(
                &app,
                onelogin(post("/scim/v2/Groups", &token, &group(name, external_id))),
            )
            .await;
            assert_eq!(created.status, 201, "{created:?}");
            ids.push(id_of(&created));
        }
        let taken = call(
            &app,
            onelogin(post("/scim/v2/Groups", &token, &group("SALES", "ol-4"))),
        )
        .await;
        taken.assert_error(409);
        assert_eq!(taken.body["scimType"], "uniqueness");
        // Get Groups: creation order, page after page; the two filters.
        let all = listed(&call(&app, onelogin(get("/scim/v2/Groups", &token))).await);
        assert_eq!(all, ids);
        let mut paged = Vec::new();
        for start in [1, 3] {
            let page = call(
                &app,
                onelogin(get(
                    &format!("/scim/v2/Groups?startIndex={start}&count=2"),
                    &token,
                )),
            )
            .await;
            paged.extend(listed(&page));
        }
        assert_eq!(paged, ids);
        for filter in [
            "displayName%20eq%20%22sUPPORT%22",
            "externalId%20eq%20%22ol-2%22",
        ] {
            let found = call(
                &app,
                onelogin(get(&format!("/scim/v2/Groups?filter={filter}"), &token)),
            )
            .await;
            assert_eq!(listed(&found), [ids[1].clone()], "{filter}");
        }
        // Patch Group: 204 with the new ETag, member shapes of docs/patch.md.
        let user = call(
            &app,
            post(
                "/scim/v2/Users",
                &token,
                &json!({"schemas": [USER], "userName": "ol-user"}),
            ),
        )
        .await;
        let user = id_of(&user);
        let path = format!("/scim/v2/Groups/{}", ids[0]);
        for operations in [
            json!([{"op": "add", "path": "members", "value": [{"value": user}]}]),
            json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]),
            json!([{"op": "replace", "path": "members", "value": [{"value": user}]}]),
        ] {
            assert_patched(&call(&app, onelogin(patch(&path, &token, operations))).await);
        }
        let read = call(&app, get(&path, &token)).await;
        assert_eq!(read.body["members"][0]["value"], json!(user), "{read:?}");
    });
});

// docs/idp/ping.md, the group table: every group read exactly once page after page, pages
// bounded by max_page_size and default_page_size (small here, so the bound shows), and a group
// PATCH answered 204 with the new ETag.
store_test!(ping_group_table, |store| {
    run(async {
        let config = ServerConfig {
            default_page_size: 2,
            max_page_size: 3,
            ..ServerConfig::default()
        };
        let h = Harness::with(&store, config, test_verifier());
        let (_, token) = h.acme();
        let app = h.app().await;
        let mut ids = Vec::new();
        for n in 0..7 {
            let created = call(
                &app,
                post(
                    "/scim/v2/Groups",
                    &token,
                    &group(&format!("g{n}"), &format!("p{n}")),
                ),
            )
            .await;
            ids.push(id_of(&created));
        }
        let default_page = call(&app, get("/scim/v2/Groups", &token)).await;
        assert_eq!(listed(&default_page).len(), 2);
        assert_eq!(default_page.body["totalResults"], 7);
        let mut seen = Vec::new();
        let mut start = 1;
        while start <= 7 {
            let page = call(
                &app,
                get(
                    &format!("/scim/v2/Groups?startIndex={start}&count=100"),
                    &token,
                ),
            )
            .await;
            let page = listed(&page);
            assert!(page.len() <= 3, "{page:?}");
            start += page.len();
            seen.extend(page);
        }
        assert_eq!(seen, ids, "each group once, in a stable order");
        let path = format!("/scim/v2/Groups/{}", ids[0]);
        let reply = call(
            &app,
            patch(
                &path,
                &token,
                json!([{"op": "replace", "path": "displayName", "value": "renamed"}]),
            ),
        )
        .await;
        assert_patched(&reply);
    });
});

// docs/idp/jumpcloud.md, the group table: the test connection's group half, and membership
// changes as a value list with no filter in the path.
store_test!(jumpcloud_group_table, |store| {
    run(async {
        let h = Harness::new(&store);
        let (_, token) = h.acme();
        let app = h.app().await;
        for _ in 0..2 {
            let created = call(
                &app,
                post("/scim/v2/Groups", &token, &group("JumpCloud Test", "jc")),
            )
            .await;
            assert_eq!(created.status, 201, "the name is free again: {created:?}");
            let path = format!("/scim/v2/Groups/{}", id_of(&created));
            assert_eq!(call(&app, delete(&path, &token)).await.status, 204);
            call(&app, get(&path, &token)).await.assert_error(404);
        }
        let mut users = Vec::new();
        for name in ["a", "b", "c"] {
            let user = call(
                &app,
                post(
                    "/scim/v2/Users",
                    &token,
                    &json!({"schemas": [USER], "userName": name}),
                ),
            )
            .await;
            users.push(id_of(&user));
        }
        let created = call(
            &app,
            post("/scim/v2/Groups", &token, &group("Eng", "jc-eng")),
        )
        .await;
        let path = format!("/scim/v2/Groups/{}", id_of(&created));
        let values =
            |ids: &[&String]| -> Value { ids.iter().map(|id| json!({"value": id})).collect() };
        let add = json!([{"op": "add", "path": "members", "value": values(&[&users[0], &users[1], &users[2]])}]);
        assert_patched(&call(&app, patch(&path, &token, add)).await);
        let remove = json!([{"op": "remove", "path": "members", "value": values(&[&users[1]])}]);
        assert_patched(&call(&app, patch(&path, &token, remove)).await);
        let read = call(&app, get(&path, &token)).await;
        assert_eq!(
            member_ids(&read.body),
            sorted(&[&users[0], &users[2]]),
            "only the listed member goes: {read:?}"
        );
    });
});
