//! JumpCloud's custom SCIM connector replayed against the real service on both backends
//! (IDP-QUIRKS §5). What [J1] documents: "Test Connection" creates a test user from an email
//! the admin supplies and DELETEs it when DELETE is supported (it is here); every later change
//! to an active configuration asks for a test email again, so the test runs again with the same
//! address. JumpCloud publishes no request bodies or headers: the bodies below are plain SCIM
//! 2.0 users, and only the sequence is JumpCloud's. JumpCloud publishes no group requests either,
//! so its test group and group management are not replayed here; `idp_guides.rs` replays the
//! guide's group table with plain SCIM bodies (`groups.rs` covers the shapes).

use actix_web::http::Method;
use actix_web::test::TestRequest;
use scim_store::events;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, id_of, list_of, run, Harness};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

/// A request with the "Bearer Token" authentication of the connector [J1].
fn jumpcloud(method: Method, path: &str, token: &str) -> TestRequest {
    TestRequest::default()
        .method(method)
        .uri(&format!("/scim/v2{path}"))
        .insert_header(("Authorization", format!("Bearer {token}")))
}

fn jumpcloud_with(method: Method, path: &str, token: &str, body: &Value) -> TestRequest {
    jumpcloud(method, path, token)
        .insert_header(("Content-Type", "application/scim+json"))
        .set_payload(body.to_string())
}

/// A user keyed by its email, the way JumpCloud's test user is built from the admin's address.
fn user(email: &str, first: &str, last: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": email,
        "name": {"givenName": first, "familyName": last},
        "emails": [{"value": email, "type": "work", "primary": true}],
        "active": true,
    })
}

// [J1] "Test Connection", twice with the same test email, then a real user's life ending in
// the delete JumpCloud sends when a user is removed (its `user_delete_provision` event).
// RFC 7644 §3.3 create, §3.6 delete; the interop profile §6.6 (a deleted userName is reusable).
store_test!(jumpcloud_test_connection_then_provisioning, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (org, token) = harness.acme();
        let app = harness.app().await;
        let test_email = "it-admin@example.com";
        let by_name = |name: &str| {
            jumpcloud(
                Method::GET,
                &format!("/Users?filter=userName%20eq%20%22{name}%22"),
                &token,
            )
        };

        // [J1] Test Connection, run for the first setup and again after a settings change:
        // create the test user, then DELETE it. Each run must succeed, so the second create of
        // the same address must not meet a 409 from the first run's user.
        for run in 1..=2 {
            let created = call(
                &app,
                jumpcloud_with(
                    Method::POST,
                    "/Users",
                    &token,
                    &user(test_email, "Test", "User"),
                ),
            )
            .await;
            assert_eq!(created.status.as_u16(), 201, "run {run}: {created:?}");
            assert_eq!(created.body["userName"], json!(test_email));
            let path = format!("/Users/{}", id_of(&created));
            let deleted = call(&app, jumpcloud(Method::DELETE, &path, &token)).await;
            assert_eq!(deleted.status.as_u16(), 204, "run {run}: {deleted:?}");
            call(&app, jumpcloud(Method::GET, &path, &token))
                .await
                .assert_error(404);
            assert!(list_of(&call(&app, by_name(test_email)).await, 0).is_empty());
        }

        // A user bound to the application: looked up (JumpCloud's `user_lookup_provision`),
        // then created.
        let email = "river.song@example.com";
        assert!(list_of(&call(&app, by_name(email)).await, 0).is_empty());
        let created = call(
            &app,
            jumpcloud_with(
                Method::POST,
                "/Users",
                &token,
                &user(email, "River", "Song"),
            ),
        )
        .await;
        assert_eq!(created.status.as_u16(), 201, "{created:?}");
        let id = id_of(&created);
        let found = list_of(&call(&app, by_name("River.Song@Example.com")).await, 1);
        assert_eq!(found[0]["id"], json!(id));

        // The user is removed from the application: DELETE, then 404 and gone from lookups.
        let path = format!("/Users/{id}");
        let reply = call(&app, jumpcloud(Method::DELETE, &path, &token)).await;
        assert_eq!(reply.status.as_u16(), 204, "{reply:?}");
        call(&app, jumpcloud(Method::GET, &path, &token))
            .await
            .assert_error(404);
        assert!(list_of(&call(&app, by_name(email)).await, 0).is_empty());

        // Every step reached the change feed, deletes included.
        let mut conn = store.get().unwrap();
        let kinds: Vec<String> = events::list_after(&mut conn, org, 0, 100)
            .unwrap()
            .into_iter()
            .map(|e| e.kind.as_str().to_owned())
            .collect();
        assert_eq!(
            kinds,
            ["created", "deleted", "created", "deleted", "created", "deleted"]
        );
    });
});
