//! Microsoft Entra ID's user traffic replayed against the real service on both backends
//! (IDP-QUIRKS §1): Test Connection, matching, creation, its PATCH dialect with and without the
//! `aadOptscim062020` flag ([E2]), the manager shapes ([E5] [E1]), disabling and hard deletion,
//! with the literal bodies of its documentation ([E1] [E2]). Groups are not served yet, so
//! group provisioning is not replayed.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use scim_store::events;
use scim_store::users as user_store;
use scim_store::OrgId;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, id_of, run, scim_list_of as list_of, Harness, Reply};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A request as Entra's provisioning service sends it with a Secret Token configured [E1].
fn entra(method: Method, path: &str, token: &str) -> TestRequest {
    TestRequest::default()
        .method(method)
        .uri(&format!("/scim/v2{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")))
}

/// [`entra`] with a body: `Content-Type: application/scim+json` [E1].
fn entra_with(method: Method, path: &str, token: &str, body: &Value) -> TestRequest {
    entra(method, path, token)
        .insert_header(("Content-Type", "application/scim+json"))
        .set_payload(body.to_string())
}

/// `PATCH /Users/{id}` with Entra's PatchOp message.
fn entra_patch(id: &str, token: &str, operations: Value) -> TestRequest {
    entra_with(
        Method::PATCH,
        &format!("/Users/{id}"),
        token,
        &json!({"schemas": [PATCH_OP], "Operations": operations}),
    )
}

/// A `GET /Users?filter=…` with the filter percent-encoded as Entra's client sends it.
fn entra_filter(filter: &str, token: &str) -> TestRequest {
    let encoded = crate::percent_encode(filter);
    entra(Method::GET, &format!("/Users?filter={encoded}"), token)
}

/// The Create User body of [E1], verbatim.
fn e1_user() -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true,
        "emails": [{
            "primary": true,
            "type": "work",
            "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
        }],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
    })
}

/// POSTs `body` and returns the 201 reply.
async fn create<S, B>(app: &S, token: &str, body: &Value) -> Reply
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let reply = call(app, entra_with(Method::POST, "/Users", token, body)).await;
    assert_eq!(reply.status.as_u16(), 201, "{body}: {reply:?}");
    reply
}

fn event_kinds(harness: &Harness, org: OrgId) -> Vec<String> {
    let mut conn = harness.store.get().unwrap();
    events::list_after(&mut conn, org, 0, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.kind.as_str().to_owned())
        .collect()
}

// Test Connection, matching and creation ([E1], RFC 7644 §3.3, §3.4.1, §3.4.2.2).
store_test!(entra_connects_matches_and_creates, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;

        // [E1] Test Connection: the matching attribute equal to a random GUID. 200 with an
        // empty ListResponse (`Resources: []`, integers), never a 404.
        for filter in [
            "userName eq \"5c2d1ab4-85a1-4b1e-9d0e-1f6f3c2a7e10\"",
            "externalId eq \"5c2d1ab4-85a1-4b1e-9d0e-1f6f3c2a7e10\"",
        ] {
            let reply = call(&app, entra_filter(filter, &token)).await;
            assert!(list_of(&reply, 0).is_empty(), "{filter}");
            assert_eq!(reply.body["startIndex"], json!(1));
            assert_eq!(reply.body["itemsPerPage"], json!(0));
        }

        // [E1] Get User by query, zero results, before the create.
        let reply = call(
            &app,
            entra_filter("userName eq \"non-existent user\"", &token),
        )
        .await;
        assert!(list_of(&reply, 0).is_empty());

        // [E1] Create User, verbatim: 201 with `id`; `roles: []` is unassigned; values stored
        // exactly as sent (no normalisation of `name.formatted` or of the address's case).
        let created = create(&app, &token, &e1_user()).await;
        assert_eq!(created.content_type(), "application/scim+json");
        let id = id_of(&created);
        let body = &created.body;
        assert!(body["schemas"].as_array().unwrap().contains(&json!(USER)));
        assert_eq!(
            body["externalId"],
            json!("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef")
        );
        assert_eq!(
            body["userName"],
            json!("Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee")
        );
        assert_eq!(body["active"], json!(true));
        assert_eq!(
            body["emails"],
            json!([{
                "primary": true,
                "type": "work",
                "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
            }])
        );
        assert_eq!(body["name"]["formatted"], json!("givenName familyName"));
        assert!(body.get("roles").is_none(), "{body}");
        assert_eq!(body["meta"]["resourceType"], json!("User"));

        // [E1] matching by each uniqueness attribute. userName is caseExact false (RFC 7643
        // §4.1.1), so another casing matches; `+` and `%20` are both spaces.
        for request in [
            entra_filter(
                "userName eq \"TEST_USER_00AA00AA-BB11-CC22-DD33-44EE44EE44EE\"",
                &token,
            ),
            entra(
                Method::GET,
                "/Users?filter=userName+eq+%22test_user_00aa00aa-bb11-cc22-dd33-44ee44ee44ee%22",
                &token,
            ),
            entra_filter(
                "externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"",
                &token,
            ),
            entra_filter(
                "emails[type eq \"work\"].value eq \"Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com\"",
                &token,
            ),
        ] {
            let reply = call(&app, request).await;
            let found = list_of(&reply, 1);
            assert_eq!(found[0]["id"], json!(id), "{reply:?}");
            assert_eq!(found[0]["active"], json!(true));
        }
        // externalId is caseExact (RFC 7643 §3.1): another casing is another identifier.
        let reply = call(
            &app,
            entra_filter(
                "externalId eq \"0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF\"",
                &token,
            ),
        )
        .await;
        assert!(list_of(&reply, 0).is_empty());

        // [E1] the same create again: 409 `uniqueness` (Entra retries it later [E4]).
        let reply = call(&app, entra_with(Method::POST, "/Users", &token, &e1_user())).await;
        reply.assert_error(409);
        assert_eq!(reply.body["scimType"], json!("uniqueness"));

        // [E1] Get User: 200; an unknown id: 404 whose `status` is the string "404".
        let reply = call(&app, entra(Method::GET, &format!("/Users/{id}"), &token)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body, created.body);
        let reply = call(
            &app,
            entra(Method::GET, "/Users/5171a35d82074e068ce2", &token),
        )
        .await;
        reply.assert_error(404);

        // [E1] Example 2, verbatim: nulls for unassigned attributes, `department` and
        // `manager` at the top level (not enterprise attributes there) and a malformed
        // enterprise URN in `schemas`. Nulls are unassigned, the unknown URN and attributes are
        // ignored (RFC 7644 §3.3).
        let jyoung = json!({
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0User",
            ],
            "externalId": "jyoung",
            "userName": "jyoung@testuser.com",
            "active": true,
            "addresses": null,
            "displayName": "Joy Young",
            "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
            "meta": {"resourceType": "User"},
            "name": {"familyName": "Young", "givenName": "Joy"},
            "phoneNumbers": null,
            "preferredLanguage": null,
            "title": null,
            "department": null,
            "manager": null,
        });
        let created = create(&app, &token, &jyoung).await;
        let jyoung_id = id_of(&created);
        for absent in [
            "addresses",
            "phoneNumbers",
            "preferredLanguage",
            "title",
            "department",
            "manager",
        ] {
            assert!(created.body.get(absent).is_none(), "{absent}: {created:?}");
        }
        assert_eq!(
            created.body["emails"][0]["value"],
            json!("jyoung@Contoso.com")
        );
        assert_eq!(created.body["displayName"], json!("Joy Young"));

        // [E1] Example 1: `externalId eq jyoung`, the value unquoted.
        let reply = call(
            &app,
            entra(
                Method::GET,
                "/Users?filter=externalId%20eq%20jyoung",
                &token,
            ),
        )
        .await;
        assert_eq!(list_of(&reply, 1)[0]["id"], json!(jyoung_id));

        // [E1] /Schemas is read when the provisioning configuration is saved: a ListResponse
        // holding the User schema and the enterprise extension (RFC 7643 §7).
        let reply = call(&app, entra(Method::GET, "/Schemas", &token)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        let ids: Vec<&str> = reply.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["id"].as_str())
            .collect();
        assert!(ids.contains(&USER) && ids.contains(&ENTERPRISE), "{ids:?}");
    });
});

// Updates in Entra's PATCH dialect (RFC 7644 §3.5.2; [E1] [E2] [E6] [E7]).
store_test!(entra_updates_with_its_patch_dialect, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let id = id_of(&create(&app, &token, &e1_user()).await);
        let path = format!("/Users/{id}");

        // [E1] Update User [Multi-valued properties], verbatim: the work email's value and the
        // family name. 200; the matching element is updated in place, nothing else changes.
        let reply = call(
            &app,
            entra_patch(
                &id,
                &token,
                json!([
                    {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                    {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
                ]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(
            reply.body["emails"],
            json!([{"value": "updatedEmail@microsoft.com", "type": "work", "primary": true}])
        );
        assert_eq!(reply.body["name"]["familyName"], json!("updatedFamilyName"));
        assert_eq!(reply.body["name"]["givenName"], json!("givenName"));
        assert_eq!(reply.body["meta"]["version"], json!("W/\"2\""));
        // The email lookup follows the new address.
        let reply = call(
            &app,
            entra_filter(
                "emails[type eq \"work\"].value eq \"updatedEmail@microsoft.com\"",
                &token,
            ),
        )
        .await;
        assert_eq!(list_of(&reply, 1)[0]["id"], json!(id));

        // [E1] Update User [Single-valued properties]: a new userName.
        let reply = call(
            &app,
            entra_patch(
                &id,
                &token,
                json!([{"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(
            reply.body["userName"],
            json!("5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com")
        );
        let old = entra_filter(
            "userName eq \"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee\"",
            &token,
        );
        assert!(list_of(&call(&app, old).await, 0).is_empty());

        // [E2] add a single-value string attribute, without then with the flag.
        for op in ["Add", "add"] {
            let reply = call(
                &app,
                entra_patch(
                    &id,
                    &token,
                    json!([{"op": op, "path": "nickName", "value": "Babs"}]),
                ),
            )
            .await;
            assert_eq!(reply.status.as_u16(), 200, "{op}: {reply:?}");
            assert_eq!(reply.body["nickName"], json!("Babs"));
        }

        // [E7] a scalar value where some libraries expect an array; the leading space is
        // stored as sent [E1].
        let reply = call(
            &app,
            entra_patch(
                &id,
                &token,
                json!([{"op": "Replace", "path": "displayName", "value": " User X"}]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["displayName"], json!(" User X"));

        // [E2] "replace multiple attributes" without the flag: one Replace per attribute,
        // externalId and an enterprise attribute by its URN-qualified path among them.
        let reply = call(
            &app,
            entra_patch(
                &id,
                &token,
                json!([
                    {"op": "Replace", "path": "displayName", "value": "Pvlo"},
                    {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "TestBcwqnm@test.microsoft.com"},
                    {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
                    {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
                    {"op": "Replace", "path": "externalId", "value": "Eqpj"},
                    {"op": "Replace", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "value": "Eqpj"},
                ]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["displayName"], json!("Pvlo"));
        assert_eq!(
            reply.body["emails"][0]["value"],
            json!("TestBcwqnm@test.microsoft.com")
        );
        assert_eq!(reply.body["name"]["givenName"], json!("Gtfd"));
        assert_eq!(reply.body["name"]["familyName"], json!("Pkqf"));
        assert_eq!(reply.body["externalId"], json!("Eqpj"));
        assert_eq!(reply.body[ENTERPRISE]["employeeNumber"], json!("Eqpj"));
        assert!(reply.body["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(ENTERPRISE)));

        // [E2] the same with the flag: a path-less replace whose keys are a plain name, dotted
        // sub-attributes and a URN-qualified name. They land in nested attributes, never as
        // literal keys [E6].
        let reply = call(
            &app,
            entra_patch(
                &id,
                &token,
                json!([
                    {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
                    {"op": "replace", "value": {
                        "displayName": "Bjfe",
                        "name.givenName": "Kkom",
                        "name.familyName": "Unua",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq",
                    }},
                ]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        let body = &reply.body;
        assert_eq!(
            body["emails"][0]["value"],
            json!("TestMhvaes@test.microsoft.com")
        );
        assert_eq!(body["displayName"], json!("Bjfe"));
        assert_eq!(
            body["name"],
            json!({"formatted": "givenName familyName", "givenName": "Kkom", "familyName": "Unua"})
        );
        assert_eq!(body[ENTERPRISE]["employeeNumber"], json!("Aklq"));
        for literal in [
            "name.givenName",
            "name.familyName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        ] {
            assert!(
                body.get(literal).is_none(),
                "{literal} stored literally: {body}"
            );
        }
        // What was answered is what was stored.
        let read = call(&app, entra(Method::GET, &path, &token)).await;
        assert_eq!(read.body, reply.body);

        // [E6] a path-less `add` with dotted keys, as also seen from Entra.
        let reply = call(
            &app,
            entra_patch(
                &id,
                &token,
                json!([{"op": "add", "value": {"name.middleName": "Ray", "title": "Engineer"}}]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["name"]["middleName"], json!("Ray"));
        assert_eq!(reply.body["name"]["givenName"], json!("Kkom"));
        assert_eq!(reply.body["title"], json!("Engineer"));
        assert!(reply.body.get("name.middleName").is_none());
    });
});

// `emails[type eq "work"].value` replaced on users that have no work email: Entra expects the
// address to be added ([E1] maps `mail` to that path). RFC 7644 §3.5.2.3 would answer 400
// noTarget; the server deliberately follows the IdP (IDP-QUIRKS §1).
store_test!(entra_sets_a_work_email_where_there_is_none, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let bare = create(
            &app,
            &token,
            &json!({"schemas": [USER], "userName": "no.mail@testuser.com", "active": true}),
        )
        .await;
        let other = create(
            &app,
            &token,
            &json!({
                "schemas": [USER],
                "userName": "other.mail@testuser.com",
                "active": true,
                "emails": [{"type": "other", "value": "alias@testuser.com"}],
            }),
        )
        .await;
        let replace = |address: &str| json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": address}]);

        let reply = call(
            &app,
            entra_patch(&id_of(&bare), &token, replace("first@contoso.com")),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(
            reply.body["emails"],
            json!([{"type": "work", "value": "first@contoso.com"}])
        );

        let reply = call(
            &app,
            entra_patch(&id_of(&other), &token, replace("second@contoso.com")),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        let emails = reply.body["emails"].as_array().unwrap();
        assert_eq!(emails.len(), 2, "{emails:?}");
        assert!(emails.contains(&json!({"type": "other", "value": "alias@testuser.com"})));
        assert!(emails.contains(&json!({"type": "work", "value": "second@contoso.com"})));

        // Both are now found by Entra's email matching filter.
        for (address, user) in [("first@contoso.com", &bare), ("second@contoso.com", &other)] {
            let reply = call(
                &app,
                entra_filter(
                    &format!("emails[type eq \"work\"].value eq \"{address}\""),
                    &token,
                ),
            )
            .await;
            assert_eq!(list_of(&reply, 1)[0]["id"], user.body["id"]);
        }
    });
});

// The enterprise `manager` in Entra's three shapes, always answered as `{"value": …}` (a
// non-compliant shape fails Entra's deserializer [E8]); RFC 7643 §4.3.
store_test!(entra_manager_in_three_shapes, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let boss = id_of(
            &create(
                &app,
                &token,
                &json!({"schemas": [USER], "userName": "boss@testuser.com"}),
            )
            .await,
        );
        let deputy = id_of(
            &create(
                &app,
                &token,
                &json!({"schemas": [USER], "userName": "deputy@testuser.com"}),
            )
            .await,
        );

        // [E5] on POST, `manager` as a bare string (the shape of [E1]'s schema example).
        let mut body = e1_user();
        body[ENTERPRISE] = json!({"employeeNumber": "701984", "manager": boss});
        let created = create(&app, &token, &body).await;
        let id = id_of(&created);
        assert_eq!(created.body[ENTERPRISE]["manager"], json!({"value": boss}));
        assert_eq!(created.body[ENTERPRISE]["employeeNumber"], json!("701984"));

        // [E5] add with the URN-qualified path and a bare string value.
        let reply = call(
            &app,
            entra_patch(
                &id,
                &token,
                json!([{"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": deputy}]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body[ENTERPRISE]["manager"]["value"], json!(deputy));
        assert!(reply.body[ENTERPRISE]["manager"].is_object());

        // [E1] Example 5, the legacy shape: path `manager`, a one-element list with `$ref`.
        let reply = call(
            &app,
            entra_patch(
                &id,
                &token,
                json!([{"op": "Add", "path": "manager", "value": [{
                    "$ref": format!("http://localhost:8080/scim/v2/Users/{boss}"),
                    "value": boss,
                }]}]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        let manager = &reply.body[ENTERPRISE]["manager"];
        assert!(manager.is_object(), "{manager}");
        assert_eq!(manager["value"], json!(boss));
        let read = call(&app, entra(Method::GET, &format!("/Users/{id}"), &token)).await;
        assert_eq!(read.body[ENTERPRISE]["manager"]["value"], json!(boss));

        // [E1] Example 4: before updating a manager, Entra asks whether the user already has
        // it, with `id` and `manager` in one filter and only `id` requested.
        let query = |manager: &str| {
            entra(
                Method::GET,
                &format!(
                    "/Users?filter=id%20eq%20%22{id}%22%20and%20manager%20eq%20%22{manager}%22&attributes=id"
                ),
                &token,
            )
        };
        let reply = call(&app, query(&boss)).await;
        let found = list_of(&reply, 1);
        assert_eq!(found[0]["id"], json!(id));
        let reply = call(&app, query(&deputy)).await;
        assert!(list_of(&reply, 0).is_empty());
    });
});

// Disabling and hard deletion ([E1] [E2] [E4]; RFC 7644 §3.5.2, §3.6).
store_test!(entra_disables_then_deletes, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let id = id_of(&create(&app, &token, &e1_user()).await);
        let path = format!("/Users/{id}");
        let by_name = || {
            entra_filter(
                "userName eq \"Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee\"",
                &token,
            )
        };

        // [E2] disable without the flag: `"False"`, a string, coerced to false. The request is
        // sent with `; charset=utf-8`, as seen in practice [E6].
        let disable = json!({
            "schemas": [PATCH_OP],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        });
        let request = entra(Method::PATCH, &path, &token)
            .insert_header(("Content-Type", "application/scim+json; charset=utf-8"))
            .set_payload(disable.to_string());
        let reply = call(&app, request).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));
        {
            let mut conn = store.get().unwrap();
            let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
            assert!(!record.active);
            assert_eq!(record.session_version, 2, "deactivation ends sessions");
        }

        // [E1] "returned whether or not the user is active": GET and the match filter.
        let reply = call(&app, entra(Method::GET, &path, &token)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));
        let reply = call(&app, by_name()).await;
        assert_eq!(list_of(&reply, 1)[0]["active"], json!(false));

        // [E1] Disable User / [E2] with the flag: a boolean, sent again to a disabled user.
        // 200, never a 409 ("User must be Active" loops forever [E4]), and no new event.
        let reply = call(
            &app,
            entra_patch(
                &id,
                &token,
                json!([{"op": "replace", "path": "active", "value": false}]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));

        // Re-enabled (assigned again), in the default dialect.
        let reply = call(
            &app,
            entra_patch(
                &id,
                &token,
                json!([{"op": "Replace", "path": "active", "value": "True"}]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(true));

        // [E1] Delete User: 204, no body; afterwards 404 and gone from the match filter.
        let reply = call(&app, entra(Method::DELETE, &path, &token)).await;
        assert_eq!(reply.status.as_u16(), 204, "{reply:?}");
        assert!(reply.body.is_null(), "{reply:?}");
        call(&app, entra(Method::GET, &path, &token))
            .await
            .assert_error(404);
        assert!(list_of(&call(&app, by_name()).await, 0).is_empty());
        call(&app, entra(Method::DELETE, &path, &token))
            .await
            .assert_error(404);

        assert_eq!(
            event_kinds(&harness, org),
            ["created", "deactivated", "reactivated", "deleted"]
        );

        // The userName is free again: Entra can provision the person anew.
        create(&app, &token, &e1_user()).await;
    });
});

// [E1]'s schema example maps an attribute to a custom extension
// (`urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag`). This server
// serves only the core User and the enterprise extension, so (as docs/patch.md states) a
// POST keeps the rest of the user and drops the unknown extension (RFC 7644 §3.3), and a PATCH
// naming it applies its other operations and skips that one, rather than failing Entra's whole
// update. The Entra guide lists this as a limit; the test pins it so the guide stays true.
store_test!(entra_custom_extension_attributes_are_not_kept, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        const CUSTOM: &str = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User";
        // [E1]'s example user, with its readOnly `id` and `meta` (ignored on input).
        let body = json!({
            "schemas": [USER, ENTERPRISE, CUSTOM],
            "userName": "bjensen@testuser.com",
            "id": "48af03ac28ad4fb88478",
            "externalId": "bjensen",
            "name": {"familyName": "Jensen", "givenName": "Barbara"},
            ENTERPRISE: {"manager": "123456"},
            CUSTOM: {"tag": "701984"},
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": "W/\"3694e05e9dff591\"",
                "location": "https://example.com/v2/Users/00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
            },
        });
        let created = create(&app, &token, &body).await;
        let id = id_of(&created);
        assert_ne!(id, "48af03ac28ad4fb88478", "the server assigns ids");
        assert_eq!(
            created.body[ENTERPRISE]["manager"],
            json!({"value": "123456"})
        );
        assert!(created.body.get(CUSTOM).is_none(), "{created:?}");
        assert!(!created.body["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(CUSTOM)));
        assert_ne!(
            created.body["meta"]["created"],
            json!("2010-01-23T04:56:22Z")
        );

        let reply = call(
            &app,
            entra_patch(
                &id,
                &token,
                json!([
                    {"op": "Replace", "path": format!("{CUSTOM}:tag"), "value": "701985"},
                    {"op": "Replace", "path": "displayName", "value": "Babs"},
                    {"op": "Add", "value": {format!("{CUSTOM}:tag"): "701986", "nickName": "B"}},
                ]),
            ),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["displayName"], json!("Babs"));
        assert_eq!(reply.body["nickName"], json!("B"));
        assert!(reply.body.get(CUSTOM).is_none(), "{reply:?}");
        assert!(!reply.body["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(CUSTOM)));
    });
});
