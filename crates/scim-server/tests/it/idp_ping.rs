//! PingFederate's SCIM Provisioner (and PingOne's) replayed against the real service on both
//! backends (IDP-QUIRKS §6): PUT for every user update, never a user PATCH [P1]; a configurable
//! matching filter with Ping's own spelling of names and operators [P2]; `GET /Users/0` before
//! each operation, expecting 404 (its GitHub EMU provisioner [P3]); deprovisioning by
//! `active: false` or by DELETE, as the admin chooses [P1]. The operator's `delete_mode` is
//! `purge` here, so the purge path is the one proven (the other replays run the default,
//! tombstone). Ping's group provisioning publishes no request bodies, so it is not replayed;
//! `groups.rs` covers the complete, stable group paging it relies on, and `idp_guides.rs`
//! replays the guide's group table with plain SCIM bodies.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use scim_server::{DeleteMode, ServerConfig};
use scim_store::events;
use scim_store::users as user_store;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, id_of, run, scim_list_of as list_of, test_verifier, Harness};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A request with Ping's "OAuth 2 Bearer Token" authentication method [P1].
fn ping(method: Method, path: &str, token: &str) -> TestRequest {
    TestRequest::default()
        .method(method)
        .uri(&format!("/scim/v2{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Accept", "application/scim+json"))
}

fn ping_with(method: Method, path: &str, token: &str, body: &Value) -> TestRequest {
    ping(method, path, token)
        .insert_header(("Content-Type", "application/scim+json"))
        .set_payload(body.to_string())
}

/// The whole user as Ping's provisioner maps it from its data store (core and enterprise
/// attributes [P1]); Ping sends it whole on create and on every update.
fn user(active: bool, title: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "userName": "mwalker",
        "externalId": "c1b9e0de-2bd6-4a50-9d47-5c1e9a4f0b77",
        "name": {"givenName": "Morgan", "familyName": "Walker"},
        "displayName": "Morgan Walker",
        "title": title,
        "emails": [{"value": "morgan.walker@example.com", "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
        "active": active,
        ENTERPRISE: {"employeeNumber": "4711", "department": "Finance"},
    })
}

/// `GET /Users?filter=…` with Ping's filter expression, `%s` replaced and percent-encoded.
fn ping_filter(expression: &str, value: &str, token: &str) -> TestRequest {
    let filter = expression.replace("%s", value);
    let encoded = crate::percent_encode(&filter);
    ping(Method::GET, &format!("/Users?filter={encoded}"), token)
}

// The provisioner's cycle for one user: check, match, create, update, disable, re-enable,
// delete (RFC 7644 §3.3, §3.4.1, §3.4.2.2, §3.5.1, §3.6).
store_test!(ping_provisioner_cycle, |store| {
    run(async {
        let config = ServerConfig {
            delete_mode: DeleteMode::Purge,
            ..ServerConfig::default()
        };
        let harness = Harness::with(&store, config, test_verifier());
        let (org, token) = harness.acme();
        let app = harness.app().await;
        // [P3] the connection check before each operation: an id that cannot exist, 404 with
        // the SCIM error body (status as a string, RFC 7644 §3.12).
        let check = {
            let (app, token) = (&app, &token);
            move || async move {
                call(app, ping(Method::GET, "/Users/0", token))
                    .await
                    .assert_error(404);
            }
        };

        // [P1] "Unique User Identifier" userName: no match yet. [P2] Ping's own spelling,
        // `username Eq "%s"`: attribute names and operators are case-insensitive (RFC 7644
        // §3.4.2.2).
        check().await;
        let reply = call(&app, ping_filter("username Eq \"%s\"", "mwalker", &token)).await;
        assert!(list_of(&reply, 0).is_empty());

        // Create: the whole mapped user. 201 with the id Ping keeps from then on.
        check().await;
        let created = call(
            &app,
            ping_with(Method::POST, "/Users", &token, &user(true, "Analyst")),
        )
        .await;
        assert_eq!(created.status.as_u16(), 201, "{created:?}");
        let id = id_of(&created);
        assert_eq!(created.body["userName"], json!("mwalker"));
        assert_eq!(created.body[ENTERPRISE]["department"], json!("Finance"));
        assert_eq!(
            created.body["phoneNumbers"][0]["value"],
            json!("+1 555 0100")
        );

        // Matching by each identifier Ping offers [P1] [P2]: userName in another casing; the
        // "workEmail" identifier, whose default filter is `emails eq <value>` [P1]; and a
        // `co` expression on emails (RFC 7644 §3.4.2.2 filters `emails co "example.com"`).
        for (expression, value) in [
            ("username Eq \"%s\"", "MWalker"),
            ("userName eq \"%s\"", "mwalker"),
            ("emails eq \"%s\"", "morgan.walker@example.com"),
            ("emails Co \"%s\"", "walker@example"),
        ] {
            let reply = call(&app, ping_filter(expression, value, &token)).await;
            assert_eq!(list_of(&reply, 1)[0]["id"], json!(id), "{expression}");
        }
        // [P2]'s other example, `email Co "%s"`, names no SCIM attribute: 400 invalidFilter
        // (RFC 7644 §3.4.2.2, interop profile §6.3), so the admin sees the mistake at once.
        let reply = call(&app, ping_filter("email Co \"%s\"", "walker", &token)).await;
        reply.assert_error(400);
        assert_eq!(reply.body["scimType"], json!("invalidFilter"));

        // [P1] update: PUT of the whole user, never PATCH. 200 with the new values.
        check().await;
        let path = format!("/Users/{id}");
        let reply = call(
            &app,
            ping_with(Method::PUT, &path, &token, &user(true, "Controller")),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["id"], json!(id));
        assert_eq!(reply.body["title"], json!("Controller"));
        assert_eq!(reply.body["meta"]["version"], json!("W/\"2\""));

        // [P1] Remove User Action "Disable": a PUT with `active: false`. The user is kept.
        check().await;
        let reply = call(
            &app,
            ping_with(Method::PUT, &path, &token, &user(false, "Controller")),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));
        let reply = call(&app, ping(Method::GET, &path, &token)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));
        {
            let mut conn = store.get().unwrap();
            let record = user_store::get(&mut conn, org, &id).unwrap().unwrap();
            assert_eq!(record.session_version, 2, "deactivation ends sessions");
        }

        // [P1] "User Update" can also re-enable disabled users.
        let reply = call(
            &app,
            ping_with(Method::PUT, &path, &token, &user(true, "Controller")),
        )
        .await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(true));

        // [P1] Remove User Action "Delete": DELETE, 204; then 404 and no match. With
        // `delete_mode = purge` the row itself is gone.
        check().await;
        let reply = call(&app, ping(Method::DELETE, &path, &token)).await;
        assert_eq!(reply.status.as_u16(), 204, "{reply:?}");
        call(&app, ping(Method::GET, &path, &token))
            .await
            .assert_error(404);
        let reply = call(&app, ping_filter("username Eq \"%s\"", "mwalker", &token)).await;
        assert!(list_of(&reply, 0).is_empty());
        {
            let mut conn = store.get().unwrap();
            assert!(user_store::get(&mut conn, org, &id).unwrap().is_none());
            let kinds: Vec<String> = events::list_after(&mut conn, org, 0, 100)
                .unwrap()
                .into_iter()
                .map(|e| e.kind.as_str().to_owned())
                .collect();
            assert_eq!(
                kinds,
                [
                    "created",
                    "updated",
                    "deactivated",
                    "reactivated",
                    "deleted"
                ]
            );
        }

        // Provisioned again later: a new user with a new id.
        let again = call(
            &app,
            ping_with(Method::POST, "/Users", &token, &user(true, "Controller")),
        )
        .await;
        assert_eq!(again.status.as_u16(), 201, "{again:?}");
        assert_ne!(id_of(&again), id);
    });
});

// [P1] "Provision Disabled Users": a user disabled in the data store is created inactive, and
// an update through PUT keeps write-only `password` out of every answer (RFC 7643 §4.1.1).
store_test!(ping_provisions_a_disabled_user, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let mut body = user(false, "Analyst");
        body["password"] = json!("Initial-Passw0rd");
        let created = call(&app, ping_with(Method::POST, "/Users", &token, &body)).await;
        assert_eq!(created.status.as_u16(), 201, "{created:?}");
        assert_eq!(created.body["active"], json!(false));
        assert!(created.body.get("password").is_none(), "{created:?}");
        let path = format!("/Users/{}", id_of(&created));
        let reply = call(&app, ping_with(Method::PUT, &path, &token, &body)).await;
        assert_eq!(reply.status.as_u16(), 200, "{reply:?}");
        assert_eq!(reply.body["active"], json!(false));
        assert!(reply.body.get("password").is_none(), "{reply:?}");
        // Found by the provisioner's match although inactive (IDP-QUIRKS §0).
        let reply = call(&app, ping_filter("username Eq \"%s\"", "mwalker", &token)).await;
        assert_eq!(list_of(&reply, 1)[0]["active"], json!(false));
    });
});
