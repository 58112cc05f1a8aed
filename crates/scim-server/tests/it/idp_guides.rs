//! What every guide under `docs/idp/` says about attributes of a schema that is not the
//! resource's, replayed in each identity provider's own request shapes: POST and PUT drop them,
//! and a PATCH operation naming one is skipped while the request's others apply; in an
//! organisation on the strict interop profile the PATCH is `400 invalidPath` and POST is
//! `400 invalidSyntax`, changing nothing. The guides are read here too, so one that says
//! otherwise fails.
//!
//! RFC 7644 §3.5.2 asks that each operation be "compatible with the attribute's ... schema" and
//! leaves open what a server does with a schema it does not serve; §3.3 lets POST ignore
//! attributes it does not know. Skipping keeps an identity provider mapped to its own extension
//! (Entra ID's custom attributes) from failing every update; the interop profile §5.3 asks for
//! the refusal, which strict organisations get.

use scim_store::orgs;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, get, id_of, patch, post, put, run, Harness};

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
