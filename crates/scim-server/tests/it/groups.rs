//! `/Groups` through the real service, on both backends (RFC 7643 §4.2, RFC 7644 §3.3–§3.6):
//! members as set changes, nested groups without cycles, a user's `groups`, and the error paths.

use futures_util::future::join_all;
use scim_store::events;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{
    call, delete, get, id_of, list_of, member_ids, patch, percent_encode, post, put, run,
    sorted_ids as sorted, Harness,
};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

fn group(display_name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    json!({"schemas": [GROUP], "displayName": display_name, "members": members})
}

fn user(user_name: &str) -> Value {
    json!({"schemas": [USER], "userName": user_name, "displayName": format!("{user_name}!")})
}

// RFC 7644 §3.3 and RFC 7643 §4.2: a group is created with its members, each a live user or
// group of the organisation; `display`, `type` and `$ref` are the server's.
store_test!(create_get_and_delete_a_group, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let alice = id_of(&call(&app, post("/scim/v2/Users", &token, &user("alice"))).await);
        let inner = call(&app, post("/scim/v2/Groups", &token, &group("Inner", &[]))).await;
        assert_eq!(inner.status, 201, "{inner:?}");
        let inner = id_of(&inner);

        let created = call(
            &app,
            post(
                "/scim/v2/Groups",
                &token,
                &group("Admins", &[&alice, &inner, "no-such-id"]),
            ),
        )
        .await;
        assert_eq!(created.status, 201, "{created:?}");
        let id = id_of(&created);
        assert_eq!(created.body["meta"]["resourceType"], "Group");
        assert_eq!(created.body["meta"]["version"], "W/\"1\"");
        let location = format!("http://localhost:8080/scim/v2/Groups/{id}");
        assert_eq!(created.header("location"), Some(location.as_str()));
        // The unknown id was skipped: never a dangling member.
        assert_eq!(member_ids(&created.body), sorted(&[&alice, &inner]));
        let members = created.body["members"].as_array().unwrap();
        let alice_member = members.iter().find(|m| m["value"] == json!(alice)).unwrap();
        assert_eq!(alice_member["type"], "User");
        assert_eq!(alice_member["display"], "alice");
        assert_eq!(
            alice_member["$ref"],
            json!(format!("http://localhost:8080/scim/v2/Users/{alice}"))
        );
        let inner_member = members.iter().find(|m| m["value"] == json!(inner)).unwrap();
        assert_eq!(inner_member["type"], "Group");
        assert_eq!(inner_member["display"], "Inner");

        let path = format!("/scim/v2/Groups/{id}");
        let read = call(&app, get(&path, &token)).await;
        assert_eq!(read.status, 200);
        assert_eq!(read.body, created.body);
        // Entra ID reads groups without their members.
        let slim = call(
            &app,
            get(&format!("{path}?excludedAttributes=members"), &token),
        )
        .await;
        assert_eq!(slim.status, 200);
        assert!(slim.body.get("members").is_none(), "{slim:?}");
        assert_eq!(slim.body["displayName"], "Admins");

        assert_eq!(call(&app, delete(&path, &token)).await.status, 204);
        call(&app, get(&path, &token)).await.assert_error(404);
        call(&app, delete(&path, &token)).await.assert_error(404);
    })
});

// Entra ID requires displayName to be unique; it is compared case-insensitively (409
// uniqueness, RFC 7644 §3.3), and it is required (RFC 7643 §4.2).
store_test!(display_name_is_required_and_unique, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        call(&app, post("/scim/v2/Groups", &token, &group("Admins", &[]))).await;
        let duplicate = call(&app, post("/scim/v2/Groups", &token, &group("ADMINS", &[]))).await;
        duplicate.assert_error(409);
        assert_eq!(duplicate.body["scimType"], "uniqueness");
        let nameless = json!({"schemas": [GROUP], "members": []});
        let reply = call(&app, post("/scim/v2/Groups", &token, &nameless)).await;
        reply.assert_error(400);
        // A rename onto a taken name is refused too, and changes nothing.
        let other = id_of(&call(&app, post("/scim/v2/Groups", &token, &group("Ops", &[]))).await);
        let path = format!("/scim/v2/Groups/{other}");
        let rename = patch(
            &path,
            &token,
            json!([{"op": "replace", "path": "displayName", "value": "admins"}]),
        );
        call(&app, rename).await.assert_error(409);
        let rename = patch(
            &path,
            &token,
            json!([{"op": "replace", "path": "displayName", "value": "Ops 2"}]),
        );
        assert_eq!(call(&app, rename).await.status, 204);
        assert_eq!(
            call(&app, get(&path, &token)).await.body["displayName"],
            "Ops 2"
        );
    })
});

// Every group shape of the IdP notes, as set changes (RFC 7644 §3.5.2).
store_test!(membership_patches_are_set_changes, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let mut users = Vec::new();
        for name in ["u0", "u1", "u2", "u3"] {
            users.push(id_of(
                &call(&app, post("/scim/v2/Users", &token, &user(name))).await,
            ));
        }
        let id = id_of(&call(&app, post("/scim/v2/Groups", &token, &group("G", &[]))).await);
        let path = format!("/scim/v2/Groups/{id}");
        let members_now = |reply: crate::Reply| member_ids(&reply.body);
        let read = || get(&format!("{path}?attributes=members"), &token);

        // Entra ID: add several members in one operation, `$ref` null. RFC 7644 §3.5.2: the
        // answer is 204, as a 200 would have to carry every member.
        let reply = call(
            &app,
            patch(
                &path,
                &token,
                json!([{"op": "Add", "path": "members", "value": [
                    {"$ref": null, "value": users[0]}, {"$ref": null, "value": users[1]}
                ]}]),
            ),
        )
        .await;
        assert_eq!(reply.status, 204, "{reply:?}");
        assert_eq!(reply.header("etag"), Some("W/\"2\""));
        assert_eq!(
            members_now(call(&app, read()).await),
            sorted(&[&users[0], &users[1]])
        );

        // Re-adding a member is a no-op: no new version.
        let again = call(
            &app,
            patch(
                &path,
                &token,
                json!([{"op": "add", "path": "members", "value": [{"value": users[0]}]}]),
            ),
        )
        .await;
        assert_eq!(again.header("etag"), Some("W/\"2\""));

        // Okta: remove by filter, then add, in one request.
        let okta = patch(
            &path,
            &token,
            json!([
                {"op": "remove", "path": format!("members[value eq \"{}\"]", users[0])},
                {"op": "add", "path": "members", "value": [{"value": users[2], "display": "u2"}]}
            ]),
        );
        assert_eq!(call(&app, okta).await.status, 204);
        assert_eq!(
            members_now(call(&app, read()).await),
            sorted(&[&users[1], &users[2]])
        );

        // Entra ID's default remove: a value list removes only those listed, never the group.
        let entra_remove = patch(
            &path,
            &token,
            json!([{"op": "Remove", "path": "members", "value": [{"value": users[1]}]}]),
        );
        assert_eq!(call(&app, entra_remove).await.status, 204);
        assert_eq!(members_now(call(&app, read()).await), sorted(&[&users[2]]));

        // Okta's full push: replace the member set; then `[]` empties it.
        let replace = patch(
            &path,
            &token,
            json!([{"op": "replace", "path": "members", "value": [
                {"value": users[0]}, {"value": users[3]}
            ]}]),
        );
        assert_eq!(call(&app, replace).await.status, 204);
        assert_eq!(
            members_now(call(&app, read()).await),
            sorted(&[&users[0], &users[3]])
        );

        // Okta's rename, path-less with the group's own id inside, sent on every push. Naming
        // the attributes wanted back gets a 200 with them.
        let rename = patch(
            &format!("{path}?attributes=displayName"),
            &token,
            json!([{"op": "replace", "value": {"id": id, "displayName": "Renamed"}}]),
        );
        let renamed = call(&app, rename).await;
        assert_eq!(renamed.body["displayName"], "Renamed", "{renamed:?}");
        assert_eq!(
            members_now(call(&app, read()).await),
            sorted(&[&users[0], &users[3]])
        );

        // A path-less value may carry members beside other attributes.
        let mixed = patch(
            &format!("{path}?attributes=externalId,members"),
            &token,
            json!([{"op": "add", "value": {"externalId": "ext-g", "members": [{"value": users[1]}]}}]),
        );
        let mixed = call(&app, mixed).await;
        assert_eq!(mixed.body["externalId"], "ext-g", "{mixed:?}");
        assert_eq!(members_now(mixed).len(), 3);

        // A filter other than `value eq` is evaluated over the members.
        let by_type = patch(
            &path,
            &token,
            json!([{"op": "remove", "path": "members[type eq \"User\" and value ne \"x\"]"}]),
        );
        assert_eq!(call(&app, by_type).await.status, 204);
        assert!(members_now(call(&app, read()).await).is_empty());

        // `Prefer: return=minimal` wins over `attributes` (RFC 7240).
        let minimal = patch(
            &format!("{path}?attributes=members"),
            &token,
            json!([{"op": "add", "path": "members", "value": [{"value": users[0]}]}]),
        )
        .insert_header(("Prefer", "return=minimal"));
        assert_eq!(call(&app, minimal).await.status, 204);
        let empty = patch(
            &path,
            &token,
            json!([{"op": "replace", "path": "members", "value": []}]),
        );
        assert_eq!(call(&app, empty).await.status, 204);
        assert!(members_now(call(&app, read()).await).is_empty());

        // Every change that changed the member set is an event naming `members`.
        let mut conn = harness.store.get().unwrap();
        let group_events: Vec<Vec<String>> = events::list_after(&mut conn, org, 0, 100)
            .unwrap()
            .into_iter()
            .filter(|e| e.resource_id == id && e.kind == events::EventKind::Updated)
            .map(|e| e.attributes)
            .collect();
        assert_eq!(group_events.len(), 9, "{group_events:?}");
        assert!(group_events[0].contains(&"members".to_owned()));
    })
});

// The error paths of a membership PATCH: nothing is written when one fails.
store_test!(membership_patch_errors, |store| {
    run(async {
        let harness = Harness::with(
            &store,
            scim_server::ServerConfig {
                max_member_values: 3,
                ..scim_server::ServerConfig::default()
            },
            crate::test_verifier(),
        );
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let u = id_of(&call(&app, post("/scim/v2/Users", &token, &user("u"))).await);
        let a = id_of(&call(&app, post("/scim/v2/Groups", &token, &group("A", &[&u]))).await);
        let b = id_of(&call(&app, post("/scim/v2/Groups", &token, &group("B", &[&a]))).await);
        let path_a = format!("/scim/v2/Groups/{a}");

        let cases = [
            // RFC 7644 §3.5.2.1: an add must carry a value.
            (json!([{"op": "add", "path": "members"}]), "invalidValue"),
            // A member needs a `value`, a non-empty string; `display` is a string too.
            (
                json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}]),
                "invalidValue",
            ),
            (
                json!([{"op": "add", "path": "members", "value": [{"value": ""}]}]),
                "invalidValue",
            ),
            (
                json!([{"op": "add", "path": "members", "value": [{"value": u, "display": 7}]}]),
                "invalidValue",
            ),
            (
                json!([{"op": "add", "path": "members", "value": [42]}]),
                "invalidValue",
            ),
            (
                json!([{"op": "add", "path": "members", "value": [{"value": u, "type": "Robot"}]}]),
                "invalidValue",
            ),
            // Members' sub-attributes are not changed in place.
            (
                json!([{"op": "replace", "path": "members.value", "value": "x"}]),
                "mutability",
            ),
            (
                json!([{"op": "replace", "path": format!("members[value eq \"{u}\"].display"), "value": "x"}]),
                "mutability",
            ),
            (
                json!([{"op": "add", "path": format!("members[value eq \"{u}\"]"), "value": {"value": u}}]),
                "invalidPath",
            ),
            // A cycle: B holds A, so A cannot hold B (nor itself).
            (
                json!([{"op": "add", "path": "members", "value": [{"value": b}]}]),
                "invalidValue",
            ),
            (
                json!([{"op": "add", "path": "members", "value": [{"value": a}]}]),
                "invalidValue",
            ),
            // More member values than the configured cap (3).
            (
                json!([{"op": "add", "path": "members", "value": [
                    {"value": "1"}, {"value": "2"}, {"value": "3"}, {"value": "4"}
                ]}]),
                "invalidValue",
            ),
            // Atomic: the first operation would apply, the second fails.
            (
                json!([
                    {"op": "replace", "path": "displayName", "value": "Changed"},
                    {"op": "remove", "path": "members"},
                    {"op": "add", "path": "nosuch", "value": 1}
                ]),
                "invalidPath",
            ),
        ];
        for (operations, scim_type) in cases {
            let reply = call(&app, patch(&path_a, &token, operations.clone())).await;
            reply.assert_error(400);
            assert_eq!(reply.body["scimType"], scim_type, "{operations}: {reply:?}");
        }
        // The error names the operation by its place in the client's request, member
        // operations counted.
        let third = patch(
            &path_a,
            &token,
            json!([
                {"op": "remove", "path": "members"},
                {"op": "replace", "path": "displayName", "value": "B2"},
                {"op": "add", "path": "nosuch", "value": 1}
            ]),
        );
        let detail = call(&app, third).await.assert_error(400);
        assert!(detail.starts_with("operation 3 "), "{detail}");
        let after = call(&app, get(&path_a, &token)).await;
        assert_eq!(after.body["displayName"], "A");
        assert_eq!(after.body["meta"]["version"], "W/\"1\"");
        assert_eq!(member_ids(&after.body), vec![u.clone()]);

        // Unknown group, stale If-Match.
        let unknown = patch(
            "/scim/v2/Groups/nope",
            &token,
            json!([{"op": "remove", "path": "members"}]),
        );
        call(&app, unknown).await.assert_error(404);
        let stale = patch(
            &path_a,
            &token,
            json!([{"op": "remove", "path": "members"}]),
        )
        .insert_header(("If-Match", "W/\"7\""));
        call(&app, stale).await.assert_error(412);
        let too_many = post(
            "/scim/v2/Groups",
            &token,
            &group("Big", &["1", "2", "3", "4"]),
        );
        call(&app, too_many).await.assert_error(400);
    })
});

// RFC 7644 §3.4.2.2: the lookups IdPs and the IPSIE profile make on groups.
store_test!(groups_are_filtered_paged_and_searched, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let u = id_of(&call(&app, post("/scim/v2/Users", &token, &user("u"))).await);
        let mut body = group("Sales", &[&u]);
        body["externalId"] = json!("ext-sales");
        let sales = id_of(&call(&app, post("/scim/v2/Groups", &token, &body)).await);
        let ops = id_of(&call(&app, post("/scim/v2/Groups", &token, &group("Ops", &[]))).await);

        let find = |filter: &str| {
            get(
                &format!(
                    "/scim/v2/Groups?excludedAttributes=members&filter={}",
                    percent_encode(filter)
                ),
                &token,
            )
        };
        let found = call(&app, find("displayName eq \"SALES\"")).await;
        let found = list_of(&found, 1);
        assert_eq!(found[0]["id"], json!(sales));
        assert!(found[0].get("members").is_none());
        assert_eq!(
            list_of(&call(&app, find("externalId eq \"ext-sales\"")).await, 1).len(),
            1
        );
        for filter in [
            format!("members[value eq \"{u}\"]"),
            format!("members.value eq \"{u}\""),
            "members pr".to_owned(),
        ] {
            let found = list_of(&call(&app, find(&filter)).await, 1);
            assert_eq!(found[0]["id"], json!(sales), "{filter}");
        }
        assert_eq!(
            list_of(&call(&app, find("not (members pr)")).await, 1)[0]["id"],
            json!(ops)
        );
        // Forms the membership table cannot answer are refused, not answered wrongly.
        let reply = call(&app, find("members.display eq \"u\"")).await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], "invalidFilter");
        call(&app, find("userName eq \"u\""))
            .await
            .assert_error(400);

        // Paging, as Okta imports and Ping's "retrieve all groups" read it.
        let page = call(&app, get("/scim/v2/Groups?startIndex=2&count=1", &token)).await;
        assert_eq!(list_of(&page, 2)[0]["id"], json!(ops));
        let sorted_page = call(
            &app,
            get(
                "/scim/v2/Groups?sortBy=displayName&attributes=displayName",
                &token,
            ),
        )
        .await;
        let names: Vec<String> = list_of(&sorted_page, 2)
            .iter()
            .map(|g| g["displayName"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["Ops", "Sales"]);

        // POST /Groups/.search, and the root search over every type (RFC 7644 §3.4.3).
        let search = post(
            "/scim/v2/Groups/.search",
            &token,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "displayName sw \"S\""}),
        );
        assert_eq!(list_of(&call(&app, search).await, 1)[0]["id"], json!(sales));
        let root = |filter: &str, start: u64, count: u64| {
            post(
                "/scim/v2/.search",
                &token,
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                        "filter": filter, "startIndex": start, "count": count}),
            )
        };
        let everything = list_of(&call(&app, root("id pr", 1, 10)).await, 3);
        let types: Vec<&str> = everything
            .iter()
            .map(|r| r["meta"]["resourceType"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["User", "Group", "Group"]);
        let second_page = list_of(&call(&app, root("id pr", 2, 1)).await, 3);
        assert_eq!(second_page[0]["id"], json!(sales));
        // An attribute only Users have finds only users; one no type has is refused.
        assert_eq!(
            list_of(&call(&app, root("userName eq \"u\"", 1, 10)).await, 1).len(),
            1
        );
        call(&app, root("nosuch eq 1", 1, 10))
            .await
            .assert_error(400);
    })
});

// RFC 7643 §4.1.2: a user's `groups` are computed from memberships, direct and indirect, are
// filterable, and are read-only.
store_test!(a_users_groups_are_direct_and_indirect, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let u = id_of(&call(&app, post("/scim/v2/Users", &token, &user("u"))).await);
        let other = id_of(&call(&app, post("/scim/v2/Users", &token, &user("other"))).await);
        let eng = id_of(&call(&app, post("/scim/v2/Groups", &token, &group("Eng", &[&u]))).await);
        let all = id_of(
            &call(
                &app,
                post("/scim/v2/Groups", &token, &group("All", &[&eng])),
            )
            .await,
        );

        let path = format!("/scim/v2/Users/{u}");
        let read = call(&app, get(&path, &token)).await;
        let mut groups = read.body["groups"].as_array().unwrap().clone();
        groups.sort_by_key(|g| g["display"].as_str().unwrap().to_owned());
        assert_eq!(
            groups,
            [
                json!({"value": all, "display": "All", "type": "indirect",
                       "$ref": format!("http://localhost:8080/scim/v2/Groups/{all}")}),
                json!({"value": eng, "display": "Eng", "type": "direct",
                       "$ref": format!("http://localhost:8080/scim/v2/Groups/{eng}")}),
            ]
        );
        let slim = call(
            &app,
            get(&format!("{path}?excludedAttributes=groups"), &token),
        )
        .await;
        assert!(slim.body.get("groups").is_none());

        for filter in [
            format!("groups.value eq \"{all}\""),
            format!("groups[value eq \"{eng}\"]"),
            "groups pr".to_owned(),
        ] {
            let reply = call(
                &app,
                get(
                    &format!("/scim/v2/Users?filter={}", percent_encode(&filter)),
                    &token,
                ),
            )
            .await;
            let found = list_of(&reply, 1);
            assert_eq!(found[0]["id"], json!(u), "{filter}");
        }

        // readOnly: ignored on PUT (RFC 7644 §3.5.1), refused by PATCH (§3.5.2).
        let mut body = user("u");
        body["groups"] = json!([{"value": "x"}]);
        let replaced = call(&app, put(&path, &token, &body)).await;
        assert_eq!(replaced.status, 200, "{replaced:?}");
        assert_eq!(replaced.body["groups"].as_array().unwrap().len(), 2);
        let write = patch(
            &path,
            &token,
            json!([{"op": "add", "path": "groups", "value": [{"value": all}]}]),
        );
        let reply = call(&app, write).await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], "mutability");

        // Deleting the group ends the memberships it carried.
        call(&app, delete(&format!("/scim/v2/Groups/{eng}"), &token)).await;
        let read = call(&app, get(&path, &token)).await;
        assert!(read.body.get("groups").is_none(), "{read:?}");
        let other_read = call(&app, get(&format!("/scim/v2/Users/{other}"), &token)).await;
        assert!(other_read.body.get("groups").is_none());
    })
});

// RFC 7644 §3.5.1: PUT replaces the group; `members` given replaces the member set, left out
// keeps it (the attribute is "not asserted"), `[]` empties it.
store_test!(put_replaces_a_group, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let a = id_of(&call(&app, post("/scim/v2/Users", &token, &user("a"))).await);
        let b = id_of(&call(&app, post("/scim/v2/Users", &token, &user("b"))).await);
        let id = id_of(&call(&app, post("/scim/v2/Groups", &token, &group("G", &[&a]))).await);
        let path = format!("/scim/v2/Groups/{id}");

        let mut okta = group("G2", &[&b]);
        okta["id"] = json!(id);
        let reply = call(&app, put(&path, &token, &okta)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.body["displayName"], "G2");
        assert!(reply.body.get("members").is_none(), "{reply:?}");
        let read = call(&app, get(&path, &token)).await;
        assert_eq!(member_ids(&read.body), vec![b.clone()]);

        let without = json!({"schemas": [GROUP], "displayName": "G3"});
        call(&app, put(&path, &token, &without)).await;
        assert_eq!(
            member_ids(&call(&app, get(&path, &token)).await.body),
            vec![b.clone()]
        );
        let asked = put(
            &format!("{path}?attributes=members"),
            &token,
            &group("G3", &[]),
        );
        let reply = call(&app, asked).await;
        assert!(reply.body.get("members").is_none());
        assert!(member_ids(&call(&app, get(&path, &token)).await.body).is_empty());
        call(&app, put("/scim/v2/Groups/nope", &token, &without))
            .await
            .assert_error(404);
    })
});

// Concurrent writers without If-Match all succeed and lose nothing: the write path locks the
// row it changes, so they take turns (IdPs send no If-Match and do not retry a 412).
store_test!(concurrent_writes_without_if_match_all_succeed, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let mut users = Vec::new();
        for i in 0..16 {
            users.push(id_of(
                &call(
                    &app,
                    post("/scim/v2/Users", &token, &user(&format!("u{i}"))),
                )
                .await,
            ));
        }
        let gid = id_of(&call(&app, post("/scim/v2/Groups", &token, &group("G", &[]))).await);
        let group_path = format!("/scim/v2/Groups/{gid}");
        let adds = users.iter().map(|u| {
            call(
                &app,
                patch(
                    &group_path,
                    &token,
                    json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
                ),
            )
        });
        for reply in join_all(adds).await {
            assert_eq!(reply.status, 204, "{reply:?}");
        }
        let read = call(&app, get(&group_path, &token)).await;
        assert_eq!(member_ids(&read.body).len(), 16);
        assert_eq!(read.body["meta"]["version"], "W/\"17\"");

        let user_path = format!("/scim/v2/Users/{}", users[0]);
        let emails = (0..16).map(|i| {
            call(
                &app,
                patch(
                    &user_path,
                    &token,
                    json!([{"op": "add", "path": "emails",
                            "value": [{"value": format!("e{i}@example.com")}]}]),
                ),
            )
        });
        for reply in join_all(emails).await {
            assert_eq!(reply.status, 200, "{reply:?}");
        }
        let read = call(&app, get(&user_path, &token)).await;
        assert_eq!(read.body["emails"].as_array().unwrap().len(), 16);
    })
});

// RFC 7644 §3.4.2.4: a page may hold fewer results than asked. Past `max_list_bytes` a list
// stops (after at least one resource) and says so in `itemsPerPage`; paging on from there
// reaches every resource, each once, in the root search too.
store_test!(a_list_stops_at_its_byte_budget, |store| {
    run(async {
        let harness = Harness::with(
            &store,
            scim_server::ServerConfig {
                max_list_bytes: 1,
                ..scim_server::ServerConfig::default()
            },
            crate::test_verifier(),
        );
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let u = id_of(&call(&app, post("/scim/v2/Users", &token, &user("u"))).await);
        let mut ids = vec![u.clone()];
        for name in ["A", "B", "C"] {
            let body = group(name, &[&u]);
            ids.push(id_of(
                &call(&app, post("/scim/v2/Groups", &token, &body)).await,
            ));
        }
        let mut seen = Vec::new();
        let mut start = 1;
        while start <= 4 {
            let page = call(
                &app,
                post(
                    "/scim/v2/.search",
                    &token,
                    &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                            "startIndex": start, "count": 10}),
                ),
            )
            .await;
            let resources = list_of(&page, 4);
            assert_eq!(resources.len(), 1, "{page:?}");
            seen.push(resources[0]["id"].as_str().unwrap().to_owned());
            start += 1;
        }
        assert_eq!(seen, ids);
        let groups = call(&app, get("/scim/v2/Groups?count=10", &token)).await;
        let first = list_of(&groups, 3);
        assert_eq!(first.len(), 1);
        assert_eq!(member_ids(&first[0]), vec![u.clone()]);
    })
});
