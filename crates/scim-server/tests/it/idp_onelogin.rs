//! OneLogin's user traffic replayed against the real service on both backends (IDP-QUIRKS §3):
//! the calls its SCIM provisioning makes ([L1]), with bodies shaped by an admin's "SCIM JSON
//! Template" as published for a real integration ([L3, 3p]): string booleans, `"id": null`,
//! unknown sub-attributes. Requests carry `Content-Type: application/scim+json` and an empty
//! `User-Agent`, as observed from OneLogin [L2]. OneLogin publishes no bodies for Get Groups,
//! Create Group and Patch Group, so they are not replayed here; `idp_guides.rs` replays the
//! guide's group table with plain SCIM bodies (`groups.rs` covers the shapes).

use actix_web::http::Method;
use actix_web::test::TestRequest;
use scim_store::events;
use scim_store::users as user_store;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, id_of, run, Harness, Reply};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A request as OneLogin sends it: Bearer token and an empty `User-Agent` [L2]. [L1] requires
/// `application/json` responses; the `Accept` OneLogin sends is not documented, so the replay
/// states that preference explicitly, which is what makes this server answer `application/json`.
fn onelogin(method: Method, path: &str, token: &str) -> TestRequest {
    TestRequest::default()
        .method(method)
        .uri(&format!("/scim/v2{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("User-Agent", ""))
        .insert_header(("Accept", "application/json"))
}

/// [`onelogin`] with a body, `Content-Type: application/scim+json` [L2].
fn onelogin_with(method: Method, path: &str, token: &str, body: &Value) -> TestRequest {
    onelogin(method, path, token)
        .insert_header(("Content-Type", "application/scim+json"))
        .set_payload(body.to_string())
}

/// The user OneLogin builds from the template of [L3], with `{$user.active}` rendered as the
/// string it becomes, `"id": null`, and an enterprise `manager` carrying a sub-attribute the
/// schema does not have (`managerId`) beside a readOnly one (`displayName`).
fn from_template(user_name: &str, first: &str, last: &str, active: &str) -> Value {
    json!({
        ENTERPRISE: {
            "department": "Engineering",
            "manager": {"managerId": "00u-manager-1", "displayName": "Pat Boss"},
        },
        "active": active,
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "meta": {"resourceType": "User"},
        "name": {"familyName": last, "givenName": first, "formatted": format!("{first} {last}")},
        "userName": user_name,
        "id": null,
        "schemas": [USER],
    })
}

/// Asserts a ListResponse labelled `application/json` ([L1]; RFC 7644 §3.4.2) and returns its
/// resources.
fn list_of(reply: &Reply, total: u64) -> Vec<Value> {
    assert_eq!(reply.content_type(), "application/json", "{reply:?}");
    crate::list_of(reply, total)
}

// [L1] the Example API Flow: initial connection, then per user a lookup by userName, a create,
// reads, updates (deactivation included, as the template renders `active`) and a delete.
store_test!(onelogin_provisioning_flow, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let lookup = |name: &str| {
            onelogin(
                Method::GET,
                &format!("/Users?filter=userName%20eq%20%22{name}%22"),
                &token,
            )
        };

        // [L1] 1. Initial connection: a userName known not to exist. An empty list (the docs
        // also allow 404; this server answers the list).
        let reply = call(&app, lookup("onelogin-connection-check@example.invalid")).await;
        assert!(list_of(&reply, 0).is_empty());

        // [L1] 2. Provisioning request: the lookup for an assigned user finds nothing, so
        // Create User follows, with the template's body [L3]. `"true"` is coerced to the
        // boolean, `"id": null` is ignored, and so are the unknown `managerId` and the readOnly
        // `manager.displayName` (RFC 7643 §2.2, §4.3).
        let reply = call(&app, lookup("pat.lee@example.com")).await;
        assert!(list_of(&reply, 0).is_empty());
        let body = from_template("pat.lee@example.com", "Pat", "Lee", "true");
        let created = call(&app, onelogin_with(Method::POST, "/Users", &token, &body)).await;
        assert_eq!(created.status.as_u16(), 201, "{created:?}");
        assert_eq!(created.content_type(), "application/json");
        let id = id_of(&created);
        assert_eq!(created.body["active"], json!(true));
        assert_eq!(created.body["userName"], json!("pat.lee@example.com"));
        assert_eq!(created.body[ENTERPRISE]["department"], json!("Engineering"));
        let manager = &created.body[ENTERPRISE]["manager"];
        assert!(manager.get("managerId").is_none(), "{manager}");
        assert!(manager.get("displayName").is_none(), "{manager}");

        // A second Create for the same userName (a retry) is a 409 `uniqueness`.
        let reply = call(&app, onelogin_with(Method::POST, "/Users", &token, &body)).await;
        assert_eq!(reply.status.as_u16(), 409, "{reply:?}");
        assert_eq!(reply.content_type(), "application/json");
        assert_eq!(reply.body["status"], json!("409"));
        assert_eq!(reply.body["scimType"], json!("uniqueness"));

        // [L1] Get User with userName filter, and Get User by ID.
        let reply = call(&app, lookup("pat.lee@example.com")).await;
        assert_eq!(list_of(&reply, 1)[0]["id"], json!(id));
        let path = format!("/Users/{id}");
        let reply = call(&app, onelogin(Method::GET, &path, &token)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.content_type(), "application/json");
        assert_eq!(reply.body["id"], json!(id));

        // [L1] Update User: the template renders the whole user again (with `"id": null`), so
        // it is replayed as a PUT (RFC 7644 §3.5.1).
        let renamed = from_template("pat.lee@example.com", "Patricia", "Lee", "true");
        let reply = call(&app, onelogin_with(Method::PUT, &path, &token, &renamed)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["id"], json!(id));
        assert_eq!(reply.body["name"]["givenName"], json!("Patricia"));
        assert_eq!(reply.body["active"], json!(true));

        // The user loses access in OneLogin: the template renders `"active": "false"`.
        let disabled = from_template("pat.lee@example.com", "Patricia", "Lee", "false");
        let reply = call(&app, onelogin_with(Method::PUT, &path, &token, &disabled)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));
        {
            let mut conn = store.get().unwrap();
            let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
            assert!(!record.active);
            assert_eq!(record.session_version, 2, "deactivation ends sessions");
        }
        // Still there, inactive, for the next lookup.
        let reply = call(&app, lookup("pat.lee@example.com")).await;
        assert_eq!(list_of(&reply, 1)[0]["active"], json!(false));

        // [L1] Get Users.
        let reply = call(&app, onelogin(Method::GET, "/Users", &token)).await;
        assert_eq!(list_of(&reply, 1)[0]["id"], json!(id));

        // [L1] Delete User: 204, then 404 (a SCIM error body, labelled as asked) and an empty
        // list, `Resources` included.
        let reply = call(&app, onelogin(Method::DELETE, &path, &token)).await;
        assert_eq!(reply.status.as_u16(), 204, "{reply:?}");
        let reply = call(&app, onelogin(Method::GET, &path, &token)).await;
        assert_eq!(reply.status.as_u16(), 404, "{reply:?}");
        assert_eq!(reply.content_type(), "application/json");
        assert_eq!(reply.body["status"], json!("404"));
        assert!(list_of(&call(&app, lookup("pat.lee@example.com")).await, 0).is_empty());
        let reply = call(&app, onelogin(Method::GET, "/Users", &token)).await;
        assert!(list_of(&reply, 0).is_empty());

        let mut conn = store.get().unwrap();
        let kinds: Vec<String> = events::list_after(&mut conn, org, 0, 100)
            .unwrap()
            .into_iter()
            .map(|e| e.kind.as_str().to_owned())
            .collect();
        assert_eq!(kinds, ["created", "updated", "deactivated", "deleted"]);
    });
});

// Template values that are not booleans after all: `"active": "yes"` is refused with 400
// invalidValue (RFC 7644 §3.12) and writes nothing, rather than being guessed.
store_test!(onelogin_template_with_a_bad_boolean_is_refused, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let body = from_template("sam@example.com", "Sam", "Ray", "yes");
        let reply = call(&app, onelogin_with(Method::POST, "/Users", &token, &body)).await;
        assert_eq!(reply.status.as_u16(), 400, "{reply:?}");
        assert_eq!(reply.content_type(), "application/json");
        assert_eq!(reply.body["status"], json!("400"));
        assert_eq!(reply.body["scimType"], json!("invalidValue"));
        let reply = call(&app, onelogin(Method::GET, "/Users", &token)).await;
        assert!(list_of(&reply, 0).is_empty());
    });
});
