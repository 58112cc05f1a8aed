//! Okta's traffic replayed against the real service on both backends (IDP-QUIRKS §2): the user
//! requests of its provisioning client ([O1], [O2]), the steps of its "SCIM 2.0 Spec Test" suite
//! ([O3]), and Group Push ([O1] [O2] [O5] [O6] [O8]): PATCH for OIN integrations, PUT for AIW
//! ones, with their literal headers and bodies.
//!
//! The one-request probes of Google Workspace ([G1]) and Rippling ([R2]) are at the end: they
//! read the same list and discovery surface and have no file of their own.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use scim_store::events;
use scim_store::users as user_store;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{
    call, events_of, id_of, member_ids, run, scim_list_of as list_of, sorted_ids, Harness, Reply,
    ERROR_SCHEMA,
};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A request as Okta's provisioning client sends it, headers verbatim from [O2].
fn okta(method: Method, path: &str, token: &str) -> TestRequest {
    TestRequest::default()
        .method(method)
        .uri(&format!("/scim/v2{path}"))
        .insert_header(("Accept", "application/scim+json"))
        .insert_header(("Accept-Charset", "utf-8"))
        .insert_header(("User-Agent", "Okta SCIM Client 1.0.0"))
        .insert_header(("Authorization", format!("Bearer {token}")))
}

/// [`okta`] with a JSON body and Okta's `Content-Type` [O2].
fn okta_with(method: Method, path: &str, token: &str, body: &Value) -> TestRequest {
    okta(method, path, token)
        .insert_header(("Content-Type", "application/scim+json; charset=utf-8"))
        .set_payload(body.to_string())
}

/// A GET as Okta's spec test suite sends it [O3]: its own User-Agent, and a `Content-Type` even
/// though there is no body.
fn suite_get(path: &str, authorization: &str) -> TestRequest {
    TestRequest::get()
        .uri(&format!("/scim/v2{path}"))
        .insert_header(("Accept-Charset", "utf-8"))
        .insert_header(("Content-Type", "application/scim+json; charset=utf-8"))
        .insert_header(("Accept", "application/scim+json"))
        .insert_header(("Authorization", authorization.to_owned()))
        .insert_header(("User-Agent", "OKTA SCIM Integration"))
}

/// A POST as Okta's spec test suite sends it [O3]: `application/json`, no User-Agent, and a
/// charset on `Accept`.
fn suite_post(path: &str, authorization: &str, body: &Value) -> TestRequest {
    TestRequest::post()
        .uri(&format!("/scim/v2{path}"))
        .insert_header(("Content-Type", "application/json"))
        .insert_header(("Authorization", authorization.to_owned()))
        .insert_header(("Accept", "application/scim+json; charset=utf-8"))
        .set_payload(body.to_string())
}

/// The PatchOp message Okta sends (RFC 7644 §3.5.2).
fn patch_op(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

/// The kinds of `org`'s change-feed events, in order.
fn event_kinds(harness: &Harness, org: scim_store::OrgId) -> Vec<String> {
    let mut conn = harness.store.get().unwrap();
    events::list_after(&mut conn, org, 0, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.kind.as_str().to_owned())
        .collect()
}

/// Provisions a user as Okta's client does ([O2]'s create body) and returns its id.
async fn provision_user<S, B>(app: &S, token: &str, user_name: &str) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let body = json!({
        "schemas": [USER],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "groups": [],
        "password": "1mz050nq",
        "active": true,
    });
    let reply = call(app, okta_with(Method::POST, "/Users", token, &body)).await;
    assert_eq!(reply.status.as_u16(), 201, "{reply:?}");
    id_of(&reply)
}

/// Group members as Okta pushes them: `value` and `display` (the userName), never `type` [O1]
/// [O5].
fn okta_members(members: &[(&str, &str)]) -> Value {
    members
        .iter()
        .map(|(id, user_name)| json!({"value": id, "display": user_name}))
        .collect()
}

/// Asserts a group PATCH's answer: 204 without a body, the new version in `ETag` (RFC 7644
/// §3.5.2; Okta allows `members` to be absent from the answer [O1]).
fn assert_no_content(reply: &Reply, version: u32) {
    assert_eq!(reply.status.as_u16(), 204, "{reply:?}");
    assert!(reply.body.is_null(), "{reply:?}");
    let etag = format!("W/\"{version}\"");
    assert_eq!(reply.header("etag"), Some(etag.as_str()), "{reply:?}");
}

// Okta's "SCIM 2.0 Spec Test" suite, step by step [O3]. Its first step needs a user to exist
// (it asserts a non-empty `Resources`), so one is provisioned first, as Okta's docs tell
// integrators to do.
store_test!(okta_spec_test_suite, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let auth = format!("Bearer {token}");
        let app = harness.app().await;

        // Seed: a user as Okta's client creates one [O2].
        let seed = json!({
            "schemas": [USER],
            "userName": "jane.doe@example.com",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"primary": true, "value": "jane.doe@example.com", "type": "work"}],
            "displayName": "Jane Doe",
            "locale": "en_US",
            "externalId": "00uv931EiyRsnwOGa0g3",
            "groups": [],
            "password": "4a9XuKkx",
            "active": true,
        });
        let seeded = call(&app, okta_with(Method::POST, "/Users", &token, &seed)).await;
        assert_eq!(seeded.status.as_u16(), 201, "{seeded:?}");

        // [O3] "Test Users endpoint": `?count=1&startIndex=1`, integers, a non-empty page whose
        // first user carries id, name, userName, active and an email value.
        let reply = call(&app, suite_get("/Users?count=1&startIndex=1", &auth)).await;
        let page = list_of(&reply, 1);
        assert_eq!(page.len(), 1);
        let first = &page[0];
        for pointer in [
            "/id",
            "/name/familyName",
            "/name/givenName",
            "/userName",
            "/active",
            "/emails/0/value",
        ] {
            assert!(
                first.pointer(pointer).is_some_and(|v| !v.is_null()),
                "{pointer} missing: {first}"
            );
        }
        let user_id = first["id"].as_str().unwrap().to_owned();

        // [O3] "Get Users/{{id}}": 200 with the same id.
        let reply = call(&app, suite_get(&format!("/Users/{user_id}"), &auth)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["id"], json!(user_id));
        assert_eq!(reply.body["name"]["givenName"], json!("Jane"));
        assert_eq!(
            reply.body["emails"][0]["value"],
            json!("jane.doe@example.com")
        );

        // [O3] "Test invalid User by username": 200, a ListResponse, totalResults 0.
        let reply = call(
            &app,
            suite_get(
                "/Users?filter=userName%20eq%20%22invalid-user-7f3a@example.com%22",
                &auth,
            ),
        )
        .await;
        assert!(list_of(&reply, 0).is_empty());

        // [O3] "Test invalid User by ID": 404 with `detail` and the Error schema.
        let reply = call(&app, suite_get("/Users/8f0b1b6e-unknown", &auth)).await;
        reply.assert_error(404);

        // [O3] "Make sure random user doesn't exist".
        let random_email = "Jordan.Rivera.4821@example.com";
        let reply = call(
            &app,
            suite_get(
                &format!("/Users?filter=userName%20eq%20%22{random_email}%22"),
                &auth,
            ),
        )
        .await;
        assert!(list_of(&reply, 0).is_empty());

        // [O3] "Create Okta user with realistic values": POSTed as application/json; 201 with
        // active true, an id, the names, the core schema and the userName.
        let realistic = json!({
            "schemas": [USER],
            "userName": random_email,
            "name": {"givenName": "Jordan", "familyName": "Rivera"},
            "emails": [{"primary": true, "value": random_email, "type": "work"}],
            "displayName": "Jordan Rivera",
            "active": true,
        });
        let created = call(&app, suite_post("/Users", &auth, &realistic)).await;
        assert_eq!(created.status.as_u16(), 201, "{created:?}");
        assert_eq!(created.content_type(), "application/scim+json");
        assert_eq!(created.body["active"], json!(true));
        assert_eq!(created.body["name"]["familyName"], json!("Rivera"));
        assert_eq!(created.body["name"]["givenName"], json!("Jordan"));
        assert!(created.body["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(USER)));
        assert_eq!(created.body["userName"], json!(random_email));
        let id_user_one = id_of(&created);

        // [O3] "Verify that user was created".
        let reply = call(&app, suite_get(&format!("/Users/{id_user_one}"), &auth)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["userName"], json!(random_email));
        assert_eq!(reply.body["name"]["familyName"], json!("Rivera"));

        // [O3] "Expect failure when recreating user with same values": 409, and (RFC 7644
        // §3.3) scimType `uniqueness`.
        let reply = call(&app, suite_post("/Users", &auth, &realistic)).await;
        reply.assert_error(409);
        assert_eq!(reply.body["scimType"], json!("uniqueness"));

        // [O3] "Username Case Sensitivity Check": the same name in capitals. The suite only asks
        // for 200; userName is caseExact false (RFC 7643 §4.1.1), so it also matches.
        let caps = random_email.to_uppercase();
        let reply = call(
            &app,
            suite_get(
                &format!("/Users?filter=userName%20eq%20%22{caps}%22"),
                &auth,
            ),
        )
        .await;
        let found = list_of(&reply, 1);
        assert_eq!(found[0]["id"], json!(id_user_one));

        // [O3] "Check status 401": `Authorization: non-token` gets 401 with detail, status
        // "401" and the Error schema (RFC 7644 §3.12), and a Bearer challenge.
        let reply = call(
            &app,
            suite_get(
                &format!("/Users?filter=userName%20eq%20%22{caps}%22"),
                "non-token",
            ),
        )
        .await;
        reply.assert_error(401);
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|v| v.starts_with("Bearer")),
            "{reply:?}"
        );

        // [O3] "Check status 404".
        let reply = call(&app, suite_get("/Users/00919288221112222", &auth)).await;
        let detail = reply.assert_error(404);
        assert!(!detail.is_empty());
        assert_eq!(reply.body["schemas"], json!([ERROR_SCHEMA]));
    });
});

// What Okta's provisioning client sends over a user's life [O1] [O2] [O4] [O9], OIN style
// (PATCH for activation changes) then AIW style (PUT for everything, [O1]). Okta never sends
// DELETE for users [O1] [O2]: unassignment is a deactivation, and the user stays.
store_test!(okta_user_lifecycle, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;

        // [O2] "Test Connector Configuration" / import: `?startIndex=1&count=2` on an empty
        // organisation: 200, integers, `Resources: []`.
        let reply = call(
            &app,
            okta(Method::GET, "/Users?startIndex=1&count=2", &token),
        )
        .await;
        assert!(list_of(&reply, 0).is_empty());
        assert_eq!(reply.body["startIndex"], json!(1));

        // [O2] existence check before a create, `+` for spaces and `%40` for `@`: 200 with
        // totalResults 0 (the spec suite requires 200, not 404 [O3]).
        let exists =
            "/Users?filter=userName+eq+%22jane.doe%40example.com%22&startIndex=1&count=100";
        let reply = call(&app, okta(Method::GET, exists, &token)).await;
        assert!(list_of(&reply, 0).is_empty());

        // [O2] create, the literal body: `groups: []`, a password, a locale, Okta's externalId.
        // [O1]: 201 with the full resource ("Create new user returned empty user" otherwise);
        // `password` is never returned (RFC 7643 §4.1.1) and `groups` (readOnly) is ignored.
        let create = json!({
            "schemas": [USER],
            "userName": "jane.doe@example.com",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"primary": true, "value": "jane.doe@example.com", "type": "work"}],
            "displayName": "Jane Doe",
            "locale": "en_US",
            "externalId": "00uv931EiyRsnwOGa0g3",
            "groups": [],
            "password": "4a9XuKkx",
            "active": true,
        });
        let created = call(&app, okta_with(Method::POST, "/Users", &token, &create)).await;
        assert_eq!(created.status.as_u16(), 201, "{created:?}");
        assert_eq!(created.content_type(), "application/scim+json");
        let id = id_of(&created);
        assert_eq!(created.body["userName"], json!("jane.doe@example.com"));
        assert_eq!(created.body["externalId"], json!("00uv931EiyRsnwOGa0g3"));
        assert_eq!(created.body["locale"], json!("en_US"));
        assert_eq!(created.body["active"], json!(true));
        assert_eq!(
            created.body["emails"],
            json!([{"primary": true, "value": "jane.doe@example.com", "type": "work"}])
        );
        assert!(created.body.get("password").is_none(), "{created:?}");
        assert!(created.body.get("groups").is_none(), "{created:?}");
        let created_at = created.body["meta"]["created"].clone();

        // [O1] [O3] the same create again: 409 `uniqueness`.
        let reply = call(&app, okta_with(Method::POST, "/Users", &token, &create)).await;
        reply.assert_error(409);
        assert_eq!(reply.body["scimType"], json!("uniqueness"));

        // [O2] the existence check now finds it.
        let reply = call(&app, okta(Method::GET, exists, &token)).await;
        assert_eq!(list_of(&reply, 1)[0]["id"], json!(id));

        // [O2] profile update: GET, then PUT of the whole object with `id`, a password and
        // `meta` in Okta's own date format. [O1]: 200 with the updated resource; `id`, `meta`
        // and `password` are not taken from the body (RFC 7644 §3.5.1).
        let path = format!("/Users/{id}");
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(read.status.as_u16(), 200, "{read:?}");
        let put = json!({
            "id": id,
            "externalId": "00uv931EiyRsnwOGa0g3",
            "meta": {
                "resourceType": "User",
                "created": "04-12-2018 00:00:00",
                "lastModified": "04-12-2018 00:00:00",
                "version": "v1.0",
            },
            "schemas": [USER],
            "userName": "jane.doe@example.com",
            "displayName": "Jane Q. Doe",
            "locale": "en_US",
            "active": true,
            "password": "TkdFNVdIVkxhM2c9",
            "emails": [{"value": "jane.doe@example.com", "type": "work", "primary": true}],
            "name": {"familyName": "Doe", "givenName": "Jane"},
            "groups": [],
        });
        let updated = call(&app, okta_with(Method::PUT, &path, &token, &put)).await;
        assert_eq!(updated.status.as_u16(), 200, "{updated:?}");
        assert_eq!(updated.body["id"], json!(id));
        assert_eq!(updated.body["displayName"], json!("Jane Q. Doe"));
        assert_eq!(updated.body["meta"]["created"], created_at);
        assert_eq!(updated.body["meta"]["version"], json!("W/\"2\""));
        assert!(updated.body.get("password").is_none(), "{updated:?}");
        let reread = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(reread.body, updated.body);

        // [O1] deactivate (unassignment, or the user deactivated in Okta): a path-less replace
        // of `active`. 200 with the resource (RFC 7644 §3.5.2).
        let deactivate = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
        let reply = call(&app, okta_with(Method::PATCH, &path, &token, &deactivate)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));
        assert_eq!(reply.body["displayName"], json!("Jane Q. Doe"));
        // The user is kept: GET and the existence filter still answer it (IDP-QUIRKS §0).
        let reply = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));
        let reply = call(&app, okta(Method::GET, exists, &token)).await;
        assert_eq!(list_of(&reply, 1)[0]["active"], json!(false));
        {
            let mut conn = store.get().unwrap();
            let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
            assert!(!record.active);
            assert_eq!(record.session_version, 2, "deactivation ends sessions");
        }

        // [O4] reactivate: `{"active": true}`, path-less.
        let reactivate = patch_op(json!([{"op": "replace", "value": {"active": true}}]));
        let reply = call(&app, okta_with(Method::PATCH, &path, &token, &reactivate)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(true));

        // [O9] the deactivation PATCH with `id` inside `value`: the resource's own id is no
        // change, so it is accepted.
        let with_id = patch_op(json!([{"op": "replace", "value": {"id": id, "active": false}}]));
        let reply = call(&app, okta_with(Method::PATCH, &path, &token, &with_id)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));
        assert_eq!(reply.body["id"], json!(id));

        // [O1] AIW (custom) integrations send PUT for every update, activation included.
        let mut aiw = put.clone();
        aiw["active"] = json!(true);
        let reply = call(&app, okta_with(Method::PUT, &path, &token, &aiw)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(true));
        aiw["active"] = json!(false);
        let reply = call(&app, okta_with(Method::PUT, &path, &token, &aiw)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));
        assert_eq!(reply.body["displayName"], json!("Jane Q. Doe"));

        {
            let mut conn = store.get().unwrap();
            let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
            assert!(!record.active);
            assert_eq!(record.session_version, 4, "three deactivations");
        }
        assert_eq!(
            event_kinds(&harness, org),
            [
                "created",
                "updated",
                "deactivated",
                "reactivated",
                "deactivated",
                "reactivated",
                "deactivated",
            ]
        );
    });
});

// [O1] imports page with `count` and `startIndex + count` until `totalResults` is reached;
// the order must be stable so no user is skipped or seen twice (RFC 7644 §3.4.2.4).
store_test!(okta_import_pages_through_every_user, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let mut ids = Vec::new();
        for n in 0..5 {
            let body = json!({
                "schemas": [USER],
                "userName": format!("user{n}@example.com"),
                "name": {"givenName": "User", "familyName": format!("Number{n}")},
                "emails": [{"primary": true, "value": format!("user{n}@example.com"), "type": "work"}],
                "active": true,
            });
            let reply = call(&app, okta_with(Method::POST, "/Users", &token, &body)).await;
            assert_eq!(reply.status.as_u16(), 201, "{reply:?}");
            ids.push(id_of(&reply));
        }
        let mut seen = Vec::new();
        let mut start = 1;
        loop {
            let reply = call(
                &app,
                okta(
                    Method::GET,
                    &format!("/Users?startIndex={start}&count=2"),
                    &token,
                ),
            )
            .await;
            let page = list_of(&reply, 5);
            assert_eq!(reply.body["startIndex"], json!(start));
            if page.is_empty() {
                break;
            }
            seen.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_owned()));
            start += 2;
        }
        assert_eq!(seen, ids, "every user once, in a stable order");
        assert_eq!(start, 7);
    });
});

// Okta's Group Push for OIN integrations, over a group's life (IDP-QUIRKS §2 "Groups (Push
// Groups)"; [O1] [O2]): create with `members: []`, the group list, membership PATCHes (`add`
// with `display`; remove by filter and add in one request; members without `type` [O5]), the
// rename Okta sends on every push with the group's id inside, a full push replacing the member
// set, pushes naming a user this server does not know ([O6]: the others must still land), and
// DELETE when the admin unlinks the group. Every group PATCH answers 204 (RFC 7644 §3.5.2).
store_test!(okta_group_push_lifecycle, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let test_user = provision_user(&app, &token, "test.user@okta.local").await;
        let ada = provision_user(&app, &token, "ada.lovelace@okta.local").await;
        let grace = provision_user(&app, &token, "grace.hopper@okta.local").await;

        // [O1] Create Group, the literal body: 201 with the Group, and no members yet.
        let create = json!({"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []});
        let created = call(&app, okta_with(Method::POST, "/Groups", &token, &create)).await;
        assert_eq!(created.status.as_u16(), 201, "{created:?}");
        assert_eq!(created.content_type(), "application/scim+json");
        let gid = id_of(&created);
        let path = format!("/Groups/{gid}");
        assert_eq!(created.body["schemas"], json!([GROUP]));
        assert_eq!(created.body["displayName"], json!("Test SCIMv2"));
        assert_eq!(created.body["meta"]["resourceType"], json!("Group"));
        assert_eq!(created.body["meta"]["version"], json!("W/\"1\""));
        let location = format!("http://localhost:8080/scim/v2/Groups/{gid}");
        assert_eq!(created.header("location"), Some(location.as_str()));
        assert_eq!(created.body["meta"]["location"], json!(location));
        assert!(member_ids(&created.body).is_empty(), "{created:?}");

        // [O1] List Groups, `?startIndex=1&count=100`: a ListResponse with integers.
        let list = "/Groups?startIndex=1&count=100";
        let reply = call(&app, okta(Method::GET, list, &token)).await;
        let page = list_of(&reply, 1);
        assert_eq!(reply.body["startIndex"], json!(1));
        assert_eq!(page[0]["id"], json!(gid));
        assert_eq!(page[0]["displayName"], json!("Test SCIMv2"));

        // [O1] the first push after users are assigned to the group: an `add` of members with
        // `display` and no `type` [O5].
        let first_push = patch_op(
            json!([{"op": "add", "path": "members", "value": okta_members(&[
                (&test_user, "test.user@okta.local"),
                (&ada, "ada.lovelace@okta.local"),
            ])}]),
        );
        let reply = call(&app, okta_with(Method::PATCH, &path, &token, &first_push)).await;
        assert_no_content(&reply, 2);
        // A GET shows each member with `value`, `display` (the userName), `type` and `$ref`.
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(read.status.as_u16(), 200, "{read:?}");
        assert_eq!(member_ids(&read.body), sorted_ids(&[&test_user, &ada]));
        let member = read.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["value"] == json!(test_user))
            .unwrap();
        assert_eq!(
            member,
            &json!({
                "value": test_user,
                "display": "test.user@okta.local",
                "type": "User",
                "$ref": format!("http://localhost:8080/scim/v2/Users/{test_user}"),
            })
        );

        // [O1] Membership, the literal shape: one request that removes a member by filter and
        // adds another.
        let membership = patch_op(json!([
            {"op": "remove", "path": format!("members[value eq \"{test_user}\"]")},
            {"op": "add", "path": "members", "value": okta_members(&[(&grace, "grace.hopper@okta.local")])},
        ]));
        let reply = call(&app, okta_with(Method::PATCH, &path, &token, &membership)).await;
        assert_no_content(&reply, 3);
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(member_ids(&read.body), sorted_ids(&[&ada, &grace]));

        // [O1] [O2] the rename Okta sends on every push: path-less, the group's own id in
        // `value` (the id comes from the URL). The name unchanged, nothing changes: no new
        // version, no event.
        let rename = |name: &str| {
            patch_op(json!([{"op": "replace", "value": {"id": gid, "displayName": name}}]))
        };
        let reply = call(
            &app,
            okta_with(Method::PATCH, &path, &token, &rename("Test SCIMv2")),
        )
        .await;
        assert_no_content(&reply, 3);
        // The admin renames the group in Okta: the same request with the new name.
        let reply = call(
            &app,
            okta_with(Method::PATCH, &path, &token, &rename("Test SCIMv2 Renamed")),
        )
        .await;
        assert_no_content(&reply, 4);
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(read.body["id"], json!(gid));
        assert_eq!(read.body["displayName"], json!("Test SCIMv2 Renamed"));
        assert_eq!(member_ids(&read.body), sorted_ids(&[&ada, &grace]));

        // [O1] full push: `replace` of `members` with the whole list, which becomes the set.
        let full_push = patch_op(
            json!([{"op": "replace", "path": "members", "value": okta_members(&[
                (&test_user, "test.user@okta.local"),
                (&ada, "ada.lovelace@okta.local"),
            ])}]),
        );
        let reply = call(&app, okta_with(Method::PATCH, &path, &token, &full_push)).await;
        assert_no_content(&reply, 5);
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(member_ids(&read.body), sorted_ids(&[&test_user, &ada]));

        // [O6] pushes naming a user this server does not know (never provisioned, or deleted
        // here): the unknown id is skipped and the rest lands. A 400 would lose the whole push,
        // and Okta does not retry a 400.
        let stale = "00u1a2b3c4d5e6f7g8h9";
        let membership = patch_op(json!([
            {"op": "remove", "path": format!("members[value eq \"{stale}\"]")},
            {"op": "add", "path": "members", "value": okta_members(&[
                (stale, "gone.user@okta.local"),
                (&grace, "grace.hopper@okta.local"),
            ])},
        ]));
        let reply = call(&app, okta_with(Method::PATCH, &path, &token, &membership)).await;
        assert_no_content(&reply, 6);
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(
            member_ids(&read.body),
            sorted_ids(&[&test_user, &ada, &grace])
        );
        let full_push = patch_op(
            json!([{"op": "replace", "path": "members", "value": okta_members(&[
                (&ada, "ada.lovelace@okta.local"),
                (stale, "gone.user@okta.local"),
                (&grace, "grace.hopper@okta.local"),
            ])}]),
        );
        let reply = call(&app, okta_with(Method::PATCH, &path, &token, &full_push)).await;
        assert_no_content(&reply, 7);
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(member_ids(&read.body), sorted_ids(&[&ada, &grace]));

        // A user's `groups` follow the pushes (RFC 7643 §4.1.2), under the group's new name.
        let reply = call(&app, okta(Method::GET, &format!("/Users/{ada}"), &token)).await;
        assert_eq!(
            reply.body["groups"],
            json!([{
                "value": gid,
                "display": "Test SCIMv2 Renamed",
                "type": "direct",
                "$ref": location,
            }])
        );
        let reply = call(
            &app,
            okta(Method::GET, &format!("/Users/{test_user}"), &token),
        )
        .await;
        assert!(reply.body.get("groups").is_none(), "{reply:?}");

        // Each push that changed the member set is an `updated` event naming `members`, after
        // the `member_added` and `member_removed` events of the members that really came and
        // went (a PUT's list is compared with the current one); the unchanged rename made none.
        let events = events_of(&harness, org, &gid);
        let kinds: Vec<&str> = events.iter().map(|(kind, _)| kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "created",
                "member_added",
                "updated",
                "member_removed",
                "member_added",
                "updated",
                "updated",
                "member_removed",
                "member_added",
                "updated",
                "member_added",
                "updated",
                "member_removed",
                "updated"
            ]
        );
        let names_members: Vec<bool> = events[1..]
            .iter()
            .filter(|(kind, _)| kind == "updated")
            .map(|(_, attributes)| attributes.iter().any(|a| a == "members"))
            .collect();
        assert_eq!(names_members, [true, true, false, true, true, true]);
        assert!(events[6].1.iter().any(|a| a == "displayName"), "{events:?}");

        // [O1] Delete Group, when the admin unlinks it and chooses to delete it: 204, then 404.
        // The users stay; they are no longer in the group.
        let reply = call(&app, okta(Method::DELETE, &path, &token)).await;
        assert_eq!(reply.status.as_u16(), 204, "{reply:?}");
        assert!(reply.body.is_null(), "{reply:?}");
        call(&app, okta(Method::GET, &path, &token))
            .await
            .assert_error(404);
        let reply = call(&app, okta(Method::GET, list, &token)).await;
        assert!(list_of(&reply, 0).is_empty());
        let reply = call(&app, okta(Method::GET, &format!("/Users/{ada}"), &token)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert!(reply.body.get("groups").is_none(), "{reply:?}");
        let events = events_of(&harness, org, &gid);
        assert_eq!(
            events.last().map(|(kind, _)| kind.as_str()),
            Some("deleted")
        );
    });
});

// Okta AIW (custom) integrations send PUT for every group update [O1], as in [O8]'s captured
// run: the POST with `members: []`, a PUT of the same group right after it (with its `id`), then
// PUTs carrying the whole member list with `display` (the second of those failed on [O8]'s
// server). RFC 7644 §3.5.1: the `members` sent become the member set.
store_test!(okta_aiw_group_updates_are_puts, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;

        // [O8] the POST, then the PUT right after it.
        let create = json!({"schemas": [GROUP], "displayName": "SID", "members": []});
        let created = call(&app, okta_with(Method::POST, "/Groups", &token, &create)).await;
        assert_eq!(created.status.as_u16(), 201, "{created:?}");
        let gid = id_of(&created);
        let path = format!("/Groups/{gid}");
        let aiw = |display_name: &str, members: Value| json!({"schemas": [GROUP], "id": gid, "displayName": display_name, "members": members});
        let reply = call(
            &app,
            okta_with(Method::PUT, &path, &token, &aiw("SID", json!([]))),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.content_type(), "application/scim+json");
        assert_eq!(reply.body["id"], json!(gid));
        assert_eq!(reply.body["displayName"], json!("SID"));
        assert_eq!(
            reply.body["meta"]["created"],
            created.body["meta"]["created"]
        );

        // [O8] a user is assigned, then the group is PUT with it, then with a second user.
        let first = provision_user(&app, &token, "asdqwe@okta.local").await;
        let second = provision_user(&app, &token, "zxcvbn@okta.local").await;
        let members = okta_members(&[(&first, "asdqwe@okta.local")]);
        let reply = call(
            &app,
            okta_with(Method::PUT, &path, &token, &aiw("SID", members)),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        // The answer carries no members unless asked for (the client sent them); GET has them.
        assert!(reply.body.get("members").is_none(), "{reply:?}");
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(member_ids(&read.body), sorted_ids(&[&first]));
        let members = okta_members(&[
            (&first, "asdqwe@okta.local"),
            (&second, "zxcvbn@okta.local"),
        ]);
        let reply = call(
            &app,
            okta_with(Method::PUT, &path, &token, &aiw("SID", members)),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(member_ids(&read.body), sorted_ids(&[&first, &second]));

        // A rename and an unassignment in one PUT; a stale id in the list is skipped [O6].
        let members = okta_members(&[
            ("00u1a2b3c4d5e6f7g8h9", "gone.user@okta.local"),
            (&second, "zxcvbn@okta.local"),
        ]);
        let reply = call(
            &app,
            okta_with(Method::PUT, &path, &token, &aiw("SID Renamed", members)),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["displayName"], json!("SID Renamed"));
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(read.body["displayName"], json!("SID Renamed"));
        assert_eq!(member_ids(&read.body), sorted_ids(&[&second]));

        // The last user unassigned: `members: []` empties the group.
        let reply = call(
            &app,
            okta_with(Method::PUT, &path, &token, &aiw("SID Renamed", json!([]))),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert!(member_ids(&read.body).is_empty(), "{read:?}");
        let reply = call(&app, okta(Method::GET, &format!("/Users/{second}"), &token)).await;
        assert!(reply.body.get("groups").is_none(), "{reply:?}");

        // Every PUT asserted `members`, so each of its events names them.
        let events = events_of(&harness, org, &gid);
        assert_eq!(events[0].0, "created");
        assert!(
            events[1..].iter().all(|(kind, attributes)| [
                "updated",
                "member_added",
                "member_removed"
            ]
            .contains(&kind.as_str())
                && attributes.iter().any(|a| a == "members")),
            "{events:?}"
        );

        // [O1] a group pushed with users already assigned: the POST, and right after it a PUT
        // that carries the members.
        let create = json!({"schemas": [GROUP], "displayName": "SID Two", "members": []});
        let created = call(&app, okta_with(Method::POST, "/Groups", &token, &create)).await;
        assert_eq!(created.status.as_u16(), 201, "{created:?}");
        let two = id_of(&created);
        let put = json!({
            "schemas": [GROUP],
            "id": two,
            "displayName": "SID Two",
            "members": okta_members(&[
                (&first, "asdqwe@okta.local"),
                (&second, "zxcvbn@okta.local"),
            ]),
        });
        let path = format!("/Groups/{two}");
        let reply = call(&app, okta_with(Method::PUT, &path, &token, &put)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["id"], json!(two));
        let read = call(&app, okta(Method::GET, &path, &token)).await;
        assert_eq!(member_ids(&read.body), sorted_ids(&[&first, &second]));
        let reply = call(&app, okta(Method::GET, &format!("/Users/{first}"), &token)).await;
        assert_eq!(reply.body["groups"][0]["value"], json!(two), "{reply:?}");
        assert_eq!(
            reply.body["groups"][0]["type"],
            json!("direct"),
            "{reply:?}"
        );
    });
});

// Google Workspace [G1, 3p]: on "Continue" its auto-provisioning setup probes `GET
// /Users?count=1`. Low confidence: no vendor request example exists (IDP-QUIRKS §4), so only
// the documented probe is replayed.
store_test!(google_workspace_count_probe, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let probe = || crate::get("/scim/v2/Users?count=1", &token);
        assert!(list_of(&call(&app, probe()).await, 0).is_empty());
        for name in ["ada@example.com", "grace@example.com"] {
            let body = json!({"schemas": [USER], "userName": name, "active": true});
            let reply = call(&app, okta_with(Method::POST, "/Users", &token, &body)).await;
            assert_eq!(reply.status.as_u16(), 201, "{reply:?}");
        }
        let reply = call(&app, probe()).await;
        let page = list_of(&reply, 2);
        assert_eq!(page.len(), 1, "count=1 returns one of the two");
        assert_eq!(reply.body["startIndex"], json!(1));
    });
});

// Rippling [R2, 3p]: "Test connection" is reported to read `/ServiceProviderConfig`, whose
// `patch.supported` must be accurate (true here: PATCH works, as the Entra and Okta replays
// show). RFC 7643 §5.
store_test!(rippling_service_provider_config_probe, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let reply = call(&app, crate::get("/scim/v2/ServiceProviderConfig", &token)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.content_type(), "application/scim+json");
        assert_eq!(
            reply.body["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
        );
        assert_eq!(reply.body["patch"]["supported"], json!(true));
        assert_eq!(reply.body["filter"]["supported"], json!(true));
        let schemes = reply.body["authenticationSchemes"].as_array().unwrap();
        assert!(
            schemes
                .iter()
                .any(|s| s["type"] == json!("oauthbearertoken")),
            "{schemes:?}"
        );
        // Without a token, Rippling's probe is refused like any other request.
        let anonymous = TestRequest::get().uri("/scim/v2/ServiceProviderConfig");
        call(&app, anonymous).await.assert_error(401);
    });
});
