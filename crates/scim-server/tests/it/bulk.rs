//! `/Bulk` through the real service, on both backends (RFC 7644 §3.7): every method on Users and
//! Groups, `bulkId` references, ordering, cycles, `failOnErrors`, versions, the limits, and the
//! error paths, each checked against what was (not) written.

use actix_web::test;
use scim_server::{BulkLimits, ServerConfig};
use scim_store::events;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, get, id_of, member_ids, post, run, test_verifier, Harness, Reply};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The bound on distinct passwords of one bulk request (`docs/bulk.md`).
const MAX_PASSWORDS_PER_BULK: usize = 100;

fn request(operations: Value) -> Value {
    json!({"schemas": [BULK_REQUEST], "Operations": operations})
}

fn user(user_name: &str) -> Value {
    json!({"schemas": [USER], "userName": user_name})
}

fn group(display_name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
    json!({"schemas": [GROUP], "displayName": display_name, "members": members})
}

fn patch_ops(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

/// The operations of a BulkResponse, checking its envelope (RFC 7644 §3.7.3).
fn results(reply: &Reply) -> Vec<Value> {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.content_type(), "application/scim+json", "{reply:?}");
    assert_eq!(reply.body["schemas"], json!([BULK_RESPONSE]), "{reply:?}");
    reply.body["Operations"].as_array().unwrap().clone()
}

/// The `status` strings of the results, in order (§3.7.3: a string).
fn statuses(results: &[Value]) -> Vec<&str> {
    results
        .iter()
        .map(|result| result["status"].as_str().unwrap())
        .collect()
}

/// The id at the end of a result's `location`.
fn id_in(result: &Value) -> String {
    let location = result["location"].as_str().unwrap();
    location.rsplit('/').next().unwrap().to_owned()
}

/// How many users and groups `org` has, and how many events.
fn census(harness: &Harness, org: scim_store::OrgId) -> (usize, usize) {
    use scim_store::resources::{self, ListQuery, GROUPS, USERS};
    let mut conn = harness.store.get().unwrap();
    let mut resources = 0;
    for kind in [&USERS, &GROUPS] {
        let query = ListQuery::page(kind, org, 0, 10_000);
        resources += usize::try_from(resources::count(&mut conn, &query).unwrap()).unwrap();
    }
    let events = events::list_after(&mut conn, org, 0, 100_000)
        .unwrap()
        .len();
    (resources, events)
}

// RFC 7644 §3.7 and §3.7.3: POST, PUT, PATCH and DELETE on Users and Groups, each result with
// its method, bulkId, status (a string), location and version, in request order.
store_test!(every_method_on_users_and_groups, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let doomed = id_of(&call(&app, post("/scim/v2/Users", &token, &user("doomed"))).await);
        let body = request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user("alice")},
            {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": group("Admins", &["bulkId:u1"])},
            {"method": "PUT", "path": "/Users/bulkId:u1", "data": {"schemas": [USER], "userName": "alice", "displayName": "Alice"}},
            {"method": "PATCH", "path": "/Groups/bulkId:g1", "data": patch_ops(json!([
                {"op": "replace", "path": "displayName", "value": "Owners"}
            ]))},
            {"method": "DELETE", "path": format!("/Users/{doomed}")},
            {"method": "post", "path": "/Groups", "bulkId": "g2", "data": group("Empty", &[])},
        ]));
        let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
        let results = results(&reply);
        assert_eq!(
            statuses(&results),
            ["201", "201", "200", "200", "204", "201"],
            "{reply:?}"
        );
        let methods: Vec<&str> = results
            .iter()
            .map(|r| r["method"].as_str().unwrap())
            .collect();
        assert_eq!(methods, ["POST", "POST", "PUT", "PATCH", "DELETE", "POST"]);
        assert_eq!(results[0]["bulkId"], "u1");
        assert_eq!(results[0]["version"], "W/\"1\"");
        assert_eq!(results[2]["version"], "W/\"2\"");
        let alice = id_in(&results[0]);
        let admins = id_in(&results[1]);
        assert_eq!(
            results[0]["location"],
            json!(format!("http://localhost:8080/scim/v2/Users/{alice}"))
        );
        assert_eq!(id_in(&results[2]), alice);
        assert_eq!(id_in(&results[3]), admins);
        assert!(
            results.iter().all(|r| r.get("response").is_none()),
            "{results:?}"
        );

        let read = call(&app, get(&format!("/scim/v2/Users/{alice}"), &token)).await;
        assert_eq!(read.body["displayName"], "Alice", "{read:?}");
        assert_eq!(read.header("etag"), Some("W/\"2\""));
        let read = call(&app, get(&format!("/scim/v2/Groups/{admins}"), &token)).await;
        assert_eq!(read.body["displayName"], "Owners");
        assert_eq!(member_ids(&read.body), [alice]);
        call(&app, get(&format!("/scim/v2/Users/{doomed}"), &token))
            .await
            .assert_error(404);
    })
});

// RFC 7644 §3.7.2: `bulkId:` works wherever an id may appear — a member's value, the
// enterprise manager's value, a PATCH value and a path — and a forward reference runs after
// the POST it names.
store_test!(bulk_ids_resolve_everywhere_and_forward, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let body = request(json!([
            // Forward: the group names a user created by a later operation.
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": group("Team", &["bulkId:boss"])},
            {"method": "POST", "path": "/Users", "bulkId": "worker", "data": {
                "schemas": [USER, ENTERPRISE], "userName": "worker",
                ENTERPRISE: {"manager": {"value": "bulkId:boss"}}
            }},
            {"method": "PATCH", "path": "/Groups/bulkId:g", "data": patch_ops(json!([
                {"op": "add", "path": "members", "value": [{"value": "bulkId:worker"}]}
            ]))},
            {"method": "POST", "path": "/Users", "bulkId": "boss", "data": user("boss")},
        ]));
        let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
        let results = results(&reply);
        // Results stay in request order whatever order the operations ran in.
        assert_eq!(
            statuses(&results),
            ["201", "201", "200", "201"],
            "{reply:?}"
        );
        let group = id_in(&results[0]);
        let worker = id_in(&results[1]);
        let boss = id_in(&results[3]);
        let read = call(&app, get(&format!("/scim/v2/Groups/{group}"), &token)).await;
        let mut expected = vec![boss.clone(), worker.clone()];
        expected.sort();
        assert_eq!(member_ids(&read.body), expected, "{read:?}");
        let read = call(&app, get(&format!("/scim/v2/Users/{worker}"), &token)).await;
        assert_eq!(
            read.body[ENTERPRISE]["manager"]["value"],
            json!(boss),
            "{read:?}"
        );
        // The boss was created before the operations that name it: its event comes first.
        let mut conn = harness.store.get().unwrap();
        let created: Vec<String> = events::list_after(&mut conn, org, 0, 100)
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == events::EventKind::Created)
            .map(|e| e.resource_id)
            .collect();
        assert_eq!(created, [boss, group, worker]);
    })
});

// RFC 7644 §3.7: a bulkId is unique within a request (a second declaration is 400
// invalidValue); §3.7.2 and §3.7.1: a reference that names no POST, or a POST that failed,
// cannot be resolved: 409. The other operations go on.
store_test!(duplicate_unknown_and_failed_bulk_ids, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let body = request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("first")},
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("second")},
            {"method": "POST", "path": "/Groups", "bulkId": "g1", "data": group("G1", &["bulkId:nobody"])},
            // userName is required: this POST fails, and so does what references it.
            {"method": "POST", "path": "/Users", "bulkId": "broken", "data": {"schemas": [USER]}},
            {"method": "PATCH", "path": "/Users/bulkId:broken", "data": patch_ops(json!([
                {"op": "replace", "path": "displayName", "value": "x"}
            ]))},
            {"method": "POST", "path": "/Groups", "bulkId": "g2", "data": group("G2", &["bulkId:a"])},
        ]));
        let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
        let results = results(&reply);
        assert_eq!(
            statuses(&results),
            ["201", "400", "409", "400", "409", "201"],
            "{reply:?}"
        );
        assert_eq!(results[1]["response"]["scimType"], "invalidValue");
        assert_eq!(
            results[1]["response"]["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
        assert_eq!(results[2]["response"]["status"], "409");
        assert!(results[2]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("nobody"));
        // §3.7.3: a failed POST has no location; a failed PATCH keeps its resource's.
        assert!(results[3].get("location").is_none(), "{results:?}");
        assert!(results[4]["location"].is_string(), "{results:?}");
        let first = id_in(&results[0]);
        let g2 = id_in(&results[5]);
        let read = call(&app, get(&format!("/scim/v2/Groups/{g2}"), &token)).await;
        assert_eq!(member_ids(&read.body), [first]);
        // Two users? No: "second" was never written. Two groups, one user.
        assert_eq!(census(&harness, org).0, 2);
    })
});

// RFC 7644 §3.7.1: "MAY stop after a failed attempt and instead return HTTP status code 409
// (Conflict)". This server does not resolve cycles: every operation on one, and every
// operation depending on one, fails with 409 and writes nothing; the rest go on.
store_test!(circular_references_fail_with_409, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let body = request(json!([
            {"method": "POST", "path": "/Groups", "bulkId": "a", "data": group("A", &["bulkId:b"])},
            {"method": "POST", "path": "/Groups", "bulkId": "b", "data": group("B", &["bulkId:a"])},
            {"method": "POST", "path": "/Groups", "bulkId": "self", "data": group("Self", &["bulkId:self"])},
            {"method": "POST", "path": "/Groups", "bulkId": "c", "data": group("C", &["bulkId:a"])},
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": user("fine")},
        ]));
        let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
        let results = results(&reply);
        assert_eq!(
            statuses(&results),
            ["409", "409", "409", "409", "201"],
            "{reply:?}"
        );
        assert_eq!(results[0]["bulkId"], "a");
        assert_eq!(census(&harness, org).0, 1);
    })
});

// RFC 7644 §3.7.3: with `failOnErrors`, the service stops after that many errors; the
// operations it did not attempt are absent from the response and wrote nothing.
store_test!(fail_on_errors_stops_the_run, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let mut body = request(json!([
            {"method": "POST", "path": "/Users", "bulkId": "ok", "data": user("ok")},
            {"method": "DELETE", "path": "/Users/no-such-user"},
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user("OK")},
            {"method": "POST", "path": "/Users", "bulkId": "never", "data": user("never")},
        ]));
        body["failOnErrors"] = json!(2);
        let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
        let results = results(&reply);
        // §3.7.3's example: a DELETE of an unknown resource is 404; a taken userName is 409.
        assert_eq!(statuses(&results), ["201", "404", "409"], "{reply:?}");
        assert_eq!(results[2]["response"]["scimType"], "uniqueness");
        assert_eq!(census(&harness, org).0, 1);
    })
});

// RFC 7644 §3.7 (`version`) and §3.14: a version acts as If-Match for its own operation: a
// stale one is 412 for that operation only.
store_test!(a_stale_version_fails_only_its_operation, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let id = id_of(&call(&app, post("/scim/v2/Users", &token, &user("bjensen"))).await);
        let path = format!("/Users/{id}");
        let rename = |name: &str| {
            patch_ops(json!([{"op": "replace", "path": "displayName", "value": name}]))
        };
        let body = request(json!([
            {"method": "PATCH", "path": path, "version": "W/\"7\"", "data": rename("stale")},
            {"method": "PATCH", "path": path, "version": "W/\"1\"", "data": rename("fresh")},
            {"method": "PUT", "path": path, "version": "W/\"1\"", "data": user("bjensen")},
            {"method": "DELETE", "path": path, "version": "W/\"1\""},
        ]));
        let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
        let results = results(&reply);
        assert_eq!(
            statuses(&results),
            ["412", "200", "412", "412"],
            "{reply:?}"
        );
        assert_eq!(results[1]["version"], "W/\"2\"");
        let read = call(&app, get(&format!("/scim/v2{path}"), &token)).await;
        assert_eq!(read.body["displayName"], "fresh");
        assert_eq!(read.header("etag"), Some("W/\"2\""));
    })
});

fn limited(store: &scim_store::Store) -> Harness {
    Harness::with(
        store,
        ServerConfig {
            bulk: BulkLimits {
                max_operations: 3,
                max_payload_bytes: 2_000,
                ..BulkLimits::default()
            },
            ..ServerConfig::default()
        },
        test_verifier(),
    )
}

// RFC 7644 §3.7.4: above maxOperations or maxPayloadSize the service answers 413 with the
// SCIM error, before any operation runs; the configured limits are what
// /ServiceProviderConfig advertises.
store_test!(limits_refuse_the_whole_request_before_any_work, |store| {
    run(async {
        let harness = limited(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let spc = call(&app, get("/scim/v2/ServiceProviderConfig", &token)).await;
        assert_eq!(
            spc.body["bulk"],
            json!({"supported": true, "maxOperations": 3, "maxPayloadSize": 2000})
        );
        let ops = |n: usize| {
            let ops: Vec<Value> = (0..n)
                .map(|i| json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": user(&format!("u{i}"))}))
                .collect();
            request(Value::Array(ops))
        };
        let reply = call(&app, post("/scim/v2/Bulk", &token, &ops(4))).await;
        assert!(reply.assert_error(413).contains("maxOperations"));
        // The payload limit, from the streamed body…
        let mut big = ops(1);
        big["Operations"][0]["data"]["displayName"] = json!("x".repeat(3_000));
        let streamed = test::TestRequest::post()
            .uri("/scim/v2/Bulk")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("Content-Type", "application/scim+json"))
            .set_payload(big.to_string());
        call(&app, streamed).await.assert_error(413);
        // …and from Content-Length, before reading; the bulk limit replaces max_body_bytes.
        let declared =
            post("/scim/v2/Bulk", &token, &ops(1)).insert_header(("Content-Length", "5000"));
        call(&app, declared).await.assert_error(413);
        assert_eq!(census(&harness, org), (0, 0));
        // Within the limits it runs.
        let reply = call(&app, post("/scim/v2/Bulk", &token, &ops(3))).await;
        assert_eq!(statuses(&results(&reply)), ["201", "201", "201"]);
    })
});

// RFC 7644 §3.7: each operation is atomic on its own. A PATCH whose second operation fails
// leaves its resource as it was (its member change too); the other operations land, each with
// its own event (one per change, in the outbox).
store_test!(each_operation_is_atomic_with_its_own_events, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let member = id_of(&call(&app, post("/scim/v2/Users", &token, &user("m"))).await);
        let group_id = id_of(&call(&app, post("/scim/v2/Groups", &token, &group("G", &[]))).await);
        let (_, events_before) = census(&harness, org);
        let body = request(json!([
            {"method": "PATCH", "path": format!("/Groups/{group_id}"), "data": patch_ops(json!([
                {"op": "add", "path": "members", "value": [{"value": member}]},
                {"op": "replace", "path": "displayName", "value": 42}
            ]))},
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": user("x")},
            {"method": "PATCH", "path": format!("/Users/{member}"), "data": patch_ops(json!([
                {"op": "replace", "path": "active", "value": false}
            ]))},
            {"method": "POST", "path": "/Groups", "bulkId": "taken", "data": group("g", &["bulkId:x"])},
        ]));
        let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
        let results = results(&reply);
        assert_eq!(
            statuses(&results),
            ["400", "201", "200", "409"],
            "{reply:?}"
        );
        let read = call(&app, get(&format!("/scim/v2/Groups/{group_id}"), &token)).await;
        assert!(member_ids(&read.body).is_empty(), "{read:?}");
        assert_eq!(read.header("etag"), Some("W/\"1\""));
        let x = id_in(&results[1]);
        let mut conn = harness.store.get().unwrap();
        let new: Vec<(String, String)> = events::list_after(&mut conn, org, 0, 100)
            .unwrap()
            .into_iter()
            .skip(events_before)
            .map(|e| (e.resource_id, e.kind.as_str().to_owned()))
            .collect();
        assert_eq!(
            new,
            [
                (x, "created".to_owned()),
                (member, "deactivated".to_owned())
            ]
        );
    })
});

// RFC 7644 §3.7: "each operation … is processed as if it were a separate request". Consecutive
// creates are written together; when one of them fails (a name taken by an existing user, or
// by an earlier create of the same request), that one alone fails and the others land, each
// with its own result and `created` event, in request order.
store_test!(creates_written_together_still_fail_one_by_one, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        call(&app, post("/scim/v2/Users", &token, &user("taken"))).await;
        let (resources_before, events_before) = census(&harness, org);
        let names = ["a", "b", "TAKEN", "c", "a", "d"];
        let operations: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": user(name)})
            })
            .collect();
        let reply = call(
            &app,
            post("/scim/v2/Bulk", &token, &request(json!(operations))),
        )
        .await;
        let results = results(&reply);
        assert_eq!(
            statuses(&results),
            ["201", "201", "409", "201", "409", "201"],
            "{reply:?}"
        );
        assert_eq!(
            results[2]["response"]["scimType"], "uniqueness",
            "{reply:?}"
        );
        let (resources_after, events_after) = census(&harness, org);
        assert_eq!(resources_after - resources_before, 4);
        let created: Vec<String> = [0, 1, 3, 5].iter().map(|&i| id_in(&results[i])).collect();
        let mut conn = harness.store.get().unwrap();
        let new: Vec<(String, String)> = events::list_after(&mut conn, org, 0, 100)
            .unwrap()
            .into_iter()
            .skip(events_before)
            .map(|e| (e.resource_id, e.kind.as_str().to_owned()))
            .collect();
        assert_eq!(events_after - events_before, 4);
        let expected: Vec<(String, String)> = created
            .iter()
            .map(|id| (id.clone(), "created".to_owned()))
            .collect();
        assert_eq!(new, expected);
        // Each created user is whole: readable, and found by its indexed name.
        for (id, name) in created.iter().zip(["a", "b", "c", "d"]) {
            let read = call(&app, get(&format!("/scim/v2/Users/{id}"), &token)).await;
            assert_eq!(read.body["userName"], name, "{read:?}");
            let found = call(
                &app,
                get(
                    &format!("/scim/v2/Users?filter=userName%20sw%20%22{name}%22"),
                    &token,
                ),
            )
            .await;
            assert_eq!(found.body["totalResults"], 1, "{found:?}");
        }
    })
});

// RFC 7644 §3.7 and §3.12: a body that is not a BulkRequest is refused whole with 400, and
// nothing is written.
store_test!(malformed_bulk_requests_are_400, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let good = json!({"method": "POST", "path": "/Users", "bulkId": "u", "data": user("u")});
        let cases = [
            (json!([good]), "invalidSyntax"),
            (json!({"Operations": [good]}), "invalidSyntax"),
            (
                json!({"schemas": [GROUP], "Operations": [good]}),
                "invalidSyntax",
            ),
            (json!({"schemas": [BULK_REQUEST]}), "invalidSyntax"),
            (
                json!({"schemas": [BULK_REQUEST], "Operations": {}}),
                "invalidSyntax",
            ),
            (request(json!([good, "POST"])), "invalidSyntax"),
            (
                request(json!([good, {"method": "GET", "path": "/Users"}])),
                "invalidValue",
            ),
            (
                request(json!([good, {"method": 1, "path": "/Users"}])),
                "invalidValue",
            ),
            (
                request(json!([good, {"path": "/Users", "data": {}}])),
                "invalidSyntax",
            ),
            (
                request(json!([good, {"method": "DELETE"}])),
                "invalidSyntax",
            ),
            (
                request(json!([good, {"method": "POST", "path": "/Users"}])),
                "invalidSyntax",
            ),
            (
                request(json!([good, {"method": "PATCH", "path": "/Users/x", "data": []}])),
                "invalidSyntax",
            ),
            (
                request(json!([good, {"method": "DELETE", "path": "/Users/x", "bulkId": 7}])),
                "invalidValue",
            ),
            (
                json!({"schemas": [BULK_REQUEST], "failOnErrors": 0, "Operations": [good]}),
                "invalidValue",
            ),
            (
                json!({"schemas": [BULK_REQUEST], "failOnErrors": "1", "Operations": [good]}),
                "invalidValue",
            ),
        ];
        for (body, scim_type) in cases {
            let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
            reply.assert_error(400);
            assert_eq!(reply.body["scimType"], scim_type, "{body}: {reply:?}");
        }
        let not_json = test::TestRequest::post()
            .uri("/scim/v2/Bulk")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("Content-Type", "application/scim+json"))
            .set_payload("{\"schemas\":");
        call(&app, not_json).await.assert_error(400);
        let xml = test::TestRequest::post()
            .uri("/scim/v2/Bulk")
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("Content-Type", "application/xml"))
            .set_payload("<bulk/>");
        call(&app, xml).await.assert_error(415);
        // Same auth as everything else.
        let anonymous = test::TestRequest::post()
            .uri("/scim/v2/Bulk")
            .insert_header(("Content-Type", "application/scim+json"))
            .set_payload(request(json!([good])).to_string());
        call(&app, anonymous).await.assert_error(401);
        assert_eq!(census(&harness, org), (0, 0));
    })
});

// Operations whose path or data its single-resource handler would refuse fail alone, with
// that handler's status; passwords are hashed, and bounded across the whole request.
store_test!(operations_fail_as_their_handlers_would, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let body = request(json!([
            {"method": "POST", "path": "/Widgets", "bulkId": "w", "data": {}},
            {"method": "POST", "path": "/Users/abc", "bulkId": "p", "data": user("p")},
            {"method": "DELETE", "path": "/Users"},
            {"method": "PATCH", "path": "/Users/nope", "data": patch_ops(json!([
                {"op": "replace", "path": "displayName", "value": "x"}
            ]))},
            {"method": "POST", "path": "/Users", "bulkId": "pw", "data": {
                "schemas": [USER], "userName": "pw", "password": "s3cret-Pa55"
            }},
        ]));
        let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
        let results = results(&reply);
        assert_eq!(
            statuses(&results),
            ["404", "400", "400", "404", "201"],
            "{reply:?}"
        );
        let pw = id_in(&results[4]);
        let mut conn = harness.store.get().unwrap();
        let stored = scim_store::resources::get(&mut conn, &scim_store::resources::USERS, org, &pw)
            .unwrap()
            .unwrap();
        assert!(
            stored.document.contains("$argon2id$"),
            "{}",
            stored.document
        );
        assert!(!stored.document.contains("s3cret-Pa55"));
        drop(conn);
        let (_, events_before) = census(&harness, org);
        let many: Vec<Value> = (0..=MAX_PASSWORDS_PER_BULK)
            .map(|i| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("p{i}"), "data": {
                    "schemas": [USER], "userName": format!("p{i}"), "password": format!("pw-{i}")
                }})
            })
            .collect();
        let reply = call(
            &app,
            post("/scim/v2/Bulk", &token, &request(Value::Array(many))),
        )
        .await;
        reply.assert_error(400);
        assert_eq!(census(&harness, org).1, events_before);
    })
});

// RFC 7644 §3.7.2 and §3.7.3 across transactions: a request longer than one chunk of
// operations resolves a forward reference from its first operation to its last, and
// `failOnErrors` counts errors across chunks.
store_test!(long_requests_span_several_transactions, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let mut operations = vec![
            json!({"method": "POST", "path": "/Groups", "bulkId": "g", "data": group("All", &["bulkId:u99"])}),
        ];
        for i in 0..100 {
            operations.push(json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"), "data": user(&format!("u{i}"))}));
        }
        let reply = call(
            &app,
            post("/scim/v2/Bulk", &token, &request(Value::Array(operations))),
        )
        .await;
        let first = results(&reply);
        assert_eq!(first.len(), 101);
        assert!(statuses(&first).iter().all(|s| *s == "201"), "{reply:?}");
        let read = call(
            &app,
            get(&format!("/scim/v2/Groups/{}", id_in(&first[0])), &token),
        )
        .await;
        assert_eq!(member_ids(&read.body), [id_in(&first[100])]);

        // Every other operation fails (a taken userName); the run stops at the 40th error.
        let operations: Vec<Value> = (0..100)
            .map(|i| {
                let name = if i % 2 == 0 { format!("u{i}") } else { format!("new{i}") };
                json!({"method": "POST", "path": "/Users", "bulkId": format!("n{i}"), "data": user(&name)})
            })
            .collect();
        let mut body = request(Value::Array(operations));
        body["failOnErrors"] = json!(40);
        let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
        let results = results(&reply);
        assert_eq!(results.len(), 79, "{reply:?}");
        assert_eq!(
            statuses(&results).iter().filter(|s| **s == "409").count(),
            40
        );
        assert_eq!(census(&harness, org).0, 101 + 39);
    })
});
