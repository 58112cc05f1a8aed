//! Schema extensions declared as data (RFC 7643 §7 schemas, §6 resource types): their values
//! go through the same validation, storage, PATCH, filter, sort and discovery as the built-in
//! ones, on both backends.

use scim_model::schema::Declarations;
use scim_server::ServerConfig;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{
    call, get, id_of, list_of, patch, percent_encode, post, put, run, test_verifier, Harness,
};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const HR: &str = "urn:example:params:scim:schemas:extension:hr:2.0:User";
const BADGE: &str = "urn:example:params:scim:schemas:extension:badge:2.0:User";

/// An HR extension with one attribute of each kind the issue names, optional on User, and a
/// badge extension that User requires.
fn declarations(badge_required: bool) -> Declarations {
    declarations_with(badge_required, "server")
}

/// [`declarations`] with `employeeCode`'s uniqueness as given.
fn declarations_with(badge_required: bool, code_uniqueness: &str) -> Declarations {
    let mut declared = Declarations::new();
    declared
        .add_document(
            "hr.json",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
                "id": HR,
                "name": "HR",
                "description": "What HR keeps",
                "attributes": [
                    {"name": "costCentre", "type": "string"},
                    {"name": "badgeNumber", "type": "integer"},
                    {"name": "contractor", "type": "boolean"},
                    {"name": "startDate", "type": "dateTime"},
                    {"name": "clearances", "type": "string", "multiValued": true,
                     "canonicalValues": ["secret", "top-secret"]},
                    {"name": "office", "type": "complex", "subAttributes": [
                        {"name": "building", "type": "string"},
                        {"name": "floor", "type": "integer"}
                    ]},
                    {"name": "hrId", "type": "string", "mutability": "immutable",
                     "caseExact": true},
                    {"name": "employeeCode", "type": "string", "uniqueness": code_uniqueness}
                ]
            }),
        )
        .unwrap();
    declared
        .add_document(
            "badge.json",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
                "id": BADGE,
                "name": "Badge",
                "attributes": [{"name": "colour", "type": "string", "required": true}]
            }),
        )
        .unwrap();
    declared
        .add_document(
            "user.json",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "name": "User",
                "endpoint": "/Users",
                "schema": USER,
                "schemaExtensions": [
                    {"schema": HR, "required": false},
                    {"schema": BADGE, "required": badge_required}
                ]
            }),
        )
        .unwrap();
    declared
}

fn harness(store: &scim_store::Store, badge_required: bool) -> Harness {
    let config = ServerConfig {
        declarations: declarations(badge_required),
        ..ServerConfig::default()
    };
    Harness::with(store, config, test_verifier())
}

fn user(name: &str, hr: Value) -> Value {
    json!({
        "schemas": [USER, HR],
        "userName": name,
        HR: hr
    })
}

fn hr_of(body: &Value) -> &Value {
    &body[HR]
}

// RFC 7643 §3.3: extension values live under the extension's URN, and `schemas` names it.
store_test!(
    declared_extension_values_are_stored_returned_and_replaced,
    |store| {
        run(async {
            let h = harness(&store, false);
            let (_, token) = h.acme();
            let app = h.app().await;
            let body = user(
                "bjensen",
                json!({
                    "costCentre": "CC-42",
                    "badgeNumber": 7,
                    "contractor": false,
                    "startDate": "2024-03-01T09:00:00Z",
                    "clearances": ["secret"],
                    "office": {"building": "North", "floor": 3},
                    "hrId": "H-1"
                }),
            );
            let created = call(&app, post("/scim/v2/Users", &token, &body)).await;
            assert_eq!(created.status, 201, "{created:?}");
            assert_eq!(hr_of(&created.body)["badgeNumber"], 7);
            assert_eq!(hr_of(&created.body)["office"]["floor"], 3);
            assert!(created.body["schemas"]
                .as_array()
                .unwrap()
                .contains(&json!(HR)));
            let id = id_of(&created);

            let read = call(&app, get(&format!("/scim/v2/Users/{id}"), &token)).await;
            assert_eq!(read.status, 200);
            assert_eq!(hr_of(&read.body), hr_of(&created.body));

            // PUT replaces the extension's values (RFC 7644 §3.5.1); the immutable one stays as is.
            let replaced = call(
                &app,
                put(
                    &format!("/scim/v2/Users/{id}"),
                    &token,
                    &user("bjensen", json!({"costCentre": "CC-7", "hrId": "H-1"})),
                ),
            )
            .await;
            assert_eq!(replaced.status, 200, "{replaced:?}");
            assert_eq!(
                hr_of(&replaced.body),
                &json!({"costCentre": "CC-7", "hrId": "H-1"})
            );

            // An immutable attribute cannot change (RFC 7643 §2.2).
            let changed = call(
                &app,
                put(
                    &format!("/scim/v2/Users/{id}"),
                    &token,
                    &user("bjensen", json!({"hrId": "H-2"})),
                ),
            )
            .await;
            changed.assert_error(400);
            assert_eq!(changed.body["scimType"], "mutability");
        });
    }
);

// RFC 7644 §3.5.2: PATCH paths may be qualified by the extension's URN.
store_test!(declared_extension_attributes_patch_by_urn_path, |store| {
    run(async {
        let h = harness(&store, false);
        let (_, token) = h.acme();
        let app = h.app().await;
        let created = call(
            &app,
            post(
                "/scim/v2/Users",
                &token,
                &user("patched", json!({"costCentre": "A"})),
            ),
        )
        .await;
        let id = id_of(&created);
        let path = format!("/scim/v2/Users/{id}");
        let reply = call(
            &app,
            patch(
                &path,
                &token,
                json!([
                    {"op": "replace", "path": format!("{HR}:badgeNumber"), "value": 12},
                    {"op": "add", "path": format!("{HR}:office.floor"), "value": 5},
                    {"op": "add", "path": format!("{HR}:clearances"), "value": ["top-secret"]},
                    {"op": "remove", "path": format!("{HR}:costCentre")}
                ]),
            ),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(
            hr_of(&reply.body),
            &json!({"badgeNumber": 12, "office": {"floor": 5}, "clearances": ["top-secret"]})
        );
        // Okta's form: no path, the extension's object as the value.
        let reply = call(
            &app,
            patch(
                &path,
                &token,
                json!([{"op": "replace", "value": {HR: {"contractor": true}}}]),
            ),
        )
        .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(hr_of(&reply.body)["contractor"], true);
        assert_eq!(hr_of(&reply.body)["badgeNumber"], 12);
        // A value of the wrong type is refused and nothing changes.
        let reply = call(
            &app,
            patch(
                &path,
                &token,
                json!([{"op": "replace", "path": format!("{HR}:badgeNumber"), "value": "twelve"}]),
            ),
        )
        .await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], "invalidValue");
        let read = call(&app, get(&path, &token)).await;
        assert_eq!(hr_of(&read.body)["badgeNumber"], 12);
    });
});

// RFC 7644 §3.4.2.2 and §3.4.2.3: filter and sort on an extension's attributes.
store_test!(declared_extension_attributes_filter_and_sort, |store| {
    run(async {
        let h = harness(&store, false);
        let (_, token) = h.acme();
        let app = h.app().await;
        for (name, badge, start, building) in [
            ("ann", 30, "2023-01-01T00:00:00Z", "North"),
            ("bob", 10, "2025-01-01T00:00:00Z", "south"),
            ("cat", 20, "2024-01-01T00:00:00Z", "NORTH"),
        ] {
            let reply = call(
                &app,
                post(
                    "/scim/v2/Users",
                    &token,
                    &user(
                        name,
                        json!({"badgeNumber": badge, "startDate": start,
                               "office": {"building": building}}),
                    ),
                ),
            )
            .await;
            assert_eq!(reply.status, 201, "{reply:?}");
        }
        let encode = |text: String| percent_encode(&text);
        let by_name = "sortBy=userName".to_owned();
        let cases = [
            // An integer compared as a number.
            (
                format!(
                    "filter={}&{by_name}",
                    encode(format!("{HR}:badgeNumber gt 15"))
                ),
                vec!["ann", "cat"],
            ),
            // caseExact is false by default: "north" matches North and NORTH (RFC 7643 §2.2).
            (
                format!(
                    "filter={}&{by_name}",
                    encode(format!("{HR}:office.building eq \"north\""))
                ),
                vec!["ann", "cat"],
            ),
            // dateTimes compared and sorted chronologically.
            (
                format!(
                    "filter={}&sortBy={}",
                    encode(format!("{HR}:startDate ge \"2024-01-01T00:00:00Z\"")),
                    encode(format!("{HR}:startDate"))
                ),
                vec!["cat", "bob"],
            ),
            (
                format!(
                    "sortBy={}&sortOrder=descending",
                    encode(format!("{HR}:badgeNumber"))
                ),
                vec!["ann", "cat", "bob"],
            ),
        ];
        for (query, expected) in cases {
            let reply = call(&app, get(&format!("/scim/v2/Users?{query}"), &token)).await;
            let total = u64::try_from(expected.len()).unwrap();
            let names: Vec<String> = list_of(&reply, total)
                .iter()
                .map(|user| user["userName"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(names, expected, "{query}");
        }
    });
});

// RFC 7643 §6: a required extension must be present; an undeclared one is still tolerated.
store_test!(required_declared_extensions_are_enforced, |store| {
    run(async {
        let h = harness(&store, true);
        let (_, token) = h.acme();
        let app = h.app().await;
        let without = json!({"schemas": [USER], "userName": "nobadge"});
        let reply = call(&app, post("/scim/v2/Users", &token, &without)).await;
        reply.assert_error(400);
        let missing_colour = json!({"schemas": [USER, BADGE], "userName": "nocolour", BADGE: {}});
        let reply = call(&app, post("/scim/v2/Users", &token, &missing_colour)).await;
        reply.assert_error(400);
        let with = json!({
            "schemas": [USER, BADGE, "urn:example:undeclared"],
            "userName": "badged",
            BADGE: {"colour": "green"},
            "urn:example:undeclared": {"x": 1}
        });
        let reply = call(&app, post("/scim/v2/Users", &token, &with)).await;
        assert_eq!(reply.status, 201, "{reply:?}");
        assert_eq!(reply.body[BADGE]["colour"], "green");
        assert!(
            reply.body.get("urn:example:undeclared").is_none(),
            "{reply:?}"
        );
    });
});

// RFC 7644 §4: discovery advertises what is declared.
store_test!(declared_schemas_are_discovered, |store| {
    run(async {
        let h = harness(&store, true);
        let (_, token) = h.acme();
        let app = h.app().await;
        let schema = call(&app, get(&format!("/scim/v2/Schemas/{HR}"), &token)).await;
        assert_eq!(schema.status, 200, "{schema:?}");
        assert_eq!(schema.body["id"], HR);
        assert_eq!(schema.body["attributes"][1]["name"], "badgeNumber");
        assert_eq!(schema.body["attributes"][1]["type"], "integer");
        let users = call(&app, get("/scim/v2/ResourceTypes/User", &token)).await;
        let extensions = users.body["schemaExtensions"].as_array().unwrap().clone();
        assert!(
            extensions.contains(&json!({"schema": HR, "required": false})),
            "{users:?}"
        );
        assert!(
            extensions.contains(&json!({"schema": BADGE, "required": true})),
            "{users:?}"
        );
        let all = call(&app, get("/scim/v2/Schemas", &token)).await;
        let ids: Vec<&str> = all.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&HR) && ids.contains(&BADGE), "{ids:?}");
    });
});

fn with_code(name: &str, code: &str) -> Value {
    user(name, json!({ "employeeCode": code }))
}

// RFC 7643 §2.2: `uniqueness: server` — no two live resources of the organisation share the
// value (case-insensitively, as the attribute is not caseExact); other organisations may.
store_test!(
    declared_unique_attributes_are_unique_per_organisation,
    |store| {
        run(async {
            let h = harness(&store, false);
            let (_, token) = h.acme();
            let other = h.org("globex");
            let (other_token, _) = h.token(other, "okta");
            let app = h.app().await;
            let code = format!("{HR}:employeeCode");

            let first = call(&app, post("/scim/v2/Users", &token, &with_code("a", "E-1"))).await;
            assert_eq!(first.status, 201, "{first:?}");
            let first_id = id_of(&first);
            let taken = call(&app, post("/scim/v2/Users", &token, &with_code("b", "e-1"))).await;
            taken.assert_error(409);
            assert_eq!(taken.body["scimType"], "uniqueness");
            assert!(
                taken.body["detail"].as_str().unwrap().contains(&code),
                "{taken:?}"
            );
            let elsewhere = call(
                &app,
                post("/scim/v2/Users", &other_token, &with_code("a", "E-1")),
            )
            .await;
            assert_eq!(elsewhere.status, 201, "{elsewhere:?}");

            // A PATCH onto a taken value writes nothing (RFC 7644 §3.5.2).
            let second = call(&app, post("/scim/v2/Users", &token, &with_code("b", "E-2"))).await;
            assert_eq!(second.status, 201, "{second:?}");
            let second_id = id_of(&second);
            let patched = call(
                &app,
                patch(
                    &format!("/scim/v2/Users/{second_id}"),
                    &token,
                    json!([{"op": "replace", "path": code, "value": "E-1"}]),
                ),
            )
            .await;
            patched.assert_error(409);
            let unchanged = call(&app, get(&format!("/scim/v2/Users/{second_id}"), &token)).await;
            assert_eq!(hr_of(&unchanged.body)["employeeCode"], "E-2");
            assert_eq!(
                unchanged.body["meta"]["version"],
                second.body["meta"]["version"]
            );

            // A PUT that keeps its own value is no conflict; one that drops it frees it.
            let kept = call(
                &app,
                put(
                    &format!("/scim/v2/Users/{first_id}"),
                    &token,
                    &with_code("a", "E-1"),
                ),
            )
            .await;
            assert_eq!(kept.status, 200, "{kept:?}");
            let dropped = call(
                &app,
                put(
                    &format!("/scim/v2/Users/{first_id}"),
                    &token,
                    &user("a", json!({})),
                ),
            )
            .await;
            assert_eq!(dropped.status, 200, "{dropped:?}");
            let moved = call(
                &app,
                put(
                    &format!("/scim/v2/Users/{second_id}"),
                    &token,
                    &with_code("b", "E-1"),
                ),
            )
            .await;
            assert_eq!(moved.status, 200, "{moved:?}");

            // Deleting the holder frees its value (RFC 7644 §3.6).
            let deleted = call(
                &app,
                crate::delete(&format!("/scim/v2/Users/{second_id}"), &token),
            )
            .await;
            assert_eq!(deleted.status.as_u16(), 204);
            let third = call(&app, post("/scim/v2/Users", &token, &with_code("c", "E-1"))).await;
            assert_eq!(third.status, 201, "{third:?}");

            // The value is a lookup, however the filter spells its case (RFC 7644 §3.4.2.2).
            let filter = percent_encode(&format!("{code} eq \"e-1\""));
            let found = call(
                &app,
                get(&format!("/scim/v2/Users?filter={filter}"), &token),
            )
            .await;
            let names: Vec<Value> = list_of(&found, 1)
                .iter()
                .map(|u| u["userName"].clone())
                .collect();
            assert_eq!(names, [json!("c")]);
        });
    }
);

// RFC 7644 §3.7: creates in one Bulk request are written together; when two of them claim one
// declared unique value, the second is answered 409 `uniqueness` on its own and the others are
// created, as when sent one by one.
store_test!(bulk_creates_sharing_a_declared_unique_value, |store| {
    run(async {
        let h = harness(&store, false);
        let (_, token) = h.acme();
        let app = h.app().await;
        let operations: Vec<Value> = [("a", "E-1"), ("b", "e-1"), ("c", "E-3")]
            .iter()
            .map(|(name, code)| {
                json!({"method": "POST", "path": "/Users", "bulkId": name,
                       "data": with_code(name, code)})
            })
            .collect();
        let body = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": operations
        });
        let reply = call(&app, post("/scim/v2/Bulk", &token, &body)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let statuses: Vec<(Value, Value)> = reply.body["Operations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|op| (op["bulkId"].clone(), op["status"].clone()))
            .collect();
        assert_eq!(
            statuses,
            [
                (json!("a"), json!("201")),
                (json!("b"), json!("409")),
                (json!("c"), json!("201"))
            ],
            "{reply:?}"
        );
        let taken = &reply.body["Operations"][1]["response"];
        assert_eq!(taken["scimType"], "uniqueness", "{reply:?}");
    });
});

// Declaring an attribute unique over stored values that break it is refused at start, naming
// the attribute, as a database refuses a unique index over duplicates.
store_test!(
    uniqueness_declared_over_stored_duplicates_stops_the_service,
    |store| {
        run(async {
            let config = |uniqueness: &str| ServerConfig {
                declarations: declarations_with(false, uniqueness),
                ..ServerConfig::default()
            };
            let h = Harness::with(&store, config("none"), test_verifier());
            let (_, token) = h.acme();
            let app = h.app().await;
            for name in ["a", "b"] {
                let created = call(
                    &app,
                    post("/scim/v2/Users", &token, &with_code(name, "E-1")),
                )
                .await;
                assert_eq!(created.status, 201, "{created:?}");
            }
            let error =
                scim_server::ScimState::new(store.clone(), config("server"), test_verifier())
                    .err()
                    .unwrap();
            assert!(
                error.to_string().contains(&format!("{HR}:employeeCode")),
                "{error}"
            );
        });
    }
);

#[derive(diesel::QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    attr: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

/// The attribute–value index entries of resource `id`.
fn index_rows(store: &scim_store::Store, id: &str) -> Vec<(String, String)> {
    use diesel::RunQueryDsl;
    let mut conn = store.get().unwrap();
    let mut rows: Vec<(String, String)> = diesel::sql_query(format!(
        "SELECT attr, value FROM resource_values WHERE resource_id = '{id}'"
    ))
    .load::<IndexRow>(conn.diesel())
    .unwrap()
    .into_iter()
    .map(|row| (row.attr, row.value))
    .collect();
    rows.sort();
    rows
}

// An index request (docs/schemas.md) puts a declared attribute in the attribute–value index:
// every write keeps its entries, resources stored before the request are indexed at start, and
// filters on it (RFC 7644 §3.4.2.2) answer as before.
store_test!(
    requested_indexes_keep_declared_attributes_in_the_value_index,
    |store| {
        run(async {
            let cost_centre = format!("{HR}:costCentre");
            let plain = Harness::with(
                &store,
                ServerConfig {
                    declarations: declarations(false),
                    ..ServerConfig::default()
                },
                test_verifier(),
            );
            let (_, token) = plain.acme();
            let app = plain.app().await;
            let before = call(
                &app,
                post(
                    "/scim/v2/Users",
                    &token,
                    &user("early", json!({"costCentre": "CC-9"})),
                ),
            )
            .await;
            assert_eq!(before.status, 201, "{before:?}");
            let early = id_of(&before);
            assert!(
                !index_rows(&store, &early)
                    .iter()
                    .any(|(attr, _)| *attr == cost_centre),
                "not indexed before the request"
            );

            let mut declared = declarations(false);
            declared
                .add_document(
                    "indexes.json",
                    &json!({
                        "schemas": [scim_model::schema::INDEXES],
                        "resourceType": "User",
                        "attributes": [cost_centre, "name.givenName"]
                    }),
                )
                .unwrap();
            let h = Harness::with(
                &store,
                ServerConfig {
                    declarations: declared,
                    ..ServerConfig::default()
                },
                test_verifier(),
            );
            let app = h.app().await;
            assert!(
                index_rows(&store, &early).contains(&(cost_centre.clone(), "cc-9".to_owned())),
                "{:?}",
                index_rows(&store, &early)
            );
            let later = call(
                &app,
                post(
                    "/scim/v2/Users",
                    &token,
                    &user("later", json!({"costCentre": "CC-9"})),
                ),
            )
            .await;
            let later = id_of(&later);
            assert!(index_rows(&store, &later).contains(&(cost_centre.clone(), "cc-9".to_owned())));
            let moved = call(
                &app,
                patch(
                    &format!("/scim/v2/Users/{later}"),
                    &token,
                    json!([{"op": "replace", "path": cost_centre, "value": "CC-1"}]),
                ),
            )
            .await;
            assert_eq!(moved.status, 200, "{moved:?}");
            let rows = index_rows(&store, &later);
            assert!(
                rows.contains(&(cost_centre.clone(), "cc-1".to_owned())),
                "{rows:?}"
            );
            assert!(
                !rows.contains(&(cost_centre.clone(), "cc-9".to_owned())),
                "{rows:?}"
            );

            let filter = percent_encode(&format!("{cost_centre} eq \"cc-9\""));
            let found = call(
                &app,
                get(&format!("/scim/v2/Users?filter={filter}"), &token),
            )
            .await;
            assert_eq!(list_of(&found, 1)[0]["id"], json!(early));
        });
    }
);

#[test]
fn an_index_request_names_what_it_cannot_index() {
    let cases = [
        (
            json!({"resourceType": "Robot", "attributes": ["x"]}),
            "/resourceType",
            "not a served",
        ),
        (
            json!({"resourceType": "User", "attributes": ["nope"]}),
            "/attributes/0",
            "nope",
        ),
        (
            json!({"resourceType": "User", "attributes": [format!("{HR}:badgeNumber")]}),
            "/attributes/0",
            "holds integer values",
        ),
        (
            json!({"resourceType": "User", "attributes": ["userName", format!("{HR}:office")]}),
            "/attributes/1",
            "is complex",
        ),
    ];
    for (mut document, pointer, message) in cases {
        document["schemas"] = json!([scim_model::schema::INDEXES]);
        let mut declared = declarations(false);
        declared.add_document("indexes.json", &document).unwrap();
        let error = declared
            .apply(&scim_model::schema::SchemaRegistry::standard())
            .unwrap_err();
        assert_eq!(
            (error.source.as_str(), error.pointer.as_str()),
            ("indexes.json", pointer),
            "{error}"
        );
        assert!(error.message.contains(message), "{error}");
    }
}

#[test]
fn a_declaration_that_cannot_be_served_stops_the_service() {
    let mut declared = Declarations::new();
    declared
        .add_document(
            "agent.json",
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                "name": "User",
                "endpoint": "/Users",
                "schema": USER,
                "schemaExtensions": [{"schema": "urn:nowhere", "required": false}]
            }),
        )
        .unwrap();
    let db = scim_test_db::TestDb::sqlite();
    let config = ServerConfig {
        declarations: declared,
        ..ServerConfig::default()
    };
    let error = scim_server::ScimState::new(db.store().clone(), config, test_verifier())
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "declared schemas: agent.json at /schemaExtensions/0/schema: `urn:nowhere` is neither \
         declared nor built in"
    );
}
