//! The example host application end to end, through the real actix service on PostgreSQL and
//! SQLite: a user the identity provider deactivates is signed out by the listener.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{test, App};
use host_app::{routes, LogoutOnDeprovision, Sessions};
use scim_auth::VerifierConfig;
use scim_server::{scope, ScimState, ServerConfig};
use scim_store::{orgs, tokens};
use scim_test_db::store_test;
use serde_json::{json, Value};

store_test!(a_deactivated_user_is_signed_out, |store| {
    actix_web::rt::System::new().block_on(async {
        let verifier = VerifierConfig {
            argon2: scim_auth::argon2::Params::new(8, 1, 1, None).unwrap(),
            ..VerifierConfig::default()
        };
        let state = ScimState::new(store.clone(), ServerConfig::default(), verifier).unwrap();
        let mut conn = store.get().unwrap();
        let org = orgs::create(&mut conn, "acme").unwrap().id;
        let issued = state.verifier().issue().unwrap();
        tokens::insert(
            &mut conn,
            org,
            &tokens::NewToken {
                id: issued.id().to_string(),
                name: "idp".into(),
                secret_hash: issued.phc_hash().into(),
                expires_at: None,
            },
        )
        .unwrap();
        drop(conn);
        let bearer = format!("Bearer {}", issued.expose_token());
        let sessions = Arc::new(Sessions::default());
        state
            .add_listener(Arc::new(LogoutOnDeprovision::new(sessions.clone())))
            .unwrap();
        let scim = state.clone();
        let app = test::init_service(
            App::new()
                .service(scope("/scim/v2", state.clone()))
                .configure(|cfg| routes(cfg, &scim, org, sessions.clone())),
        )
        .await;

        let scim_call = |method: actix_web::http::Method, path: String, body: Value| {
            test::TestRequest::default()
                .method(method)
                .uri(&path)
                .insert_header(("Authorization", bearer.clone()))
                .insert_header(("Content-Type", "application/scim+json"))
                .set_payload(body.to_string())
                .to_request()
        };
        let login = || {
            test::TestRequest::post()
                .uri("/login")
                .set_json(json!({"userName": "bjensen"}))
                .to_request()
        };
        let me = |session: &str| {
            test::TestRequest::get()
                .uri("/me")
                .insert_header(("x-session", session.to_owned()))
                .to_request()
        };

        let user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "bjensen",
        });
        let created: Value = test::call_and_read_body_json(
            &app,
            scim_call(actix_web::http::Method::POST, "/scim/v2/Users".into(), user),
        )
        .await;
        let id = created["id"].as_str().unwrap().to_owned();
        let signed_in: Value = test::call_and_read_body_json(&app, login()).await;
        let session = signed_in["session"].as_str().unwrap().to_owned();
        assert_eq!(test::call_service(&app, me(&session)).await.status(), 200);

        // The identity provider deactivates the user: the listener ends the session.
        let off = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": false}],
        });
        let path = format!("/scim/v2/Users/{id}");
        let reply = test::call_service(
            &app,
            scim_call(actix_web::http::Method::PATCH, path.clone(), off),
        )
        .await;
        assert_eq!(reply.status(), 200);
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sessions.is_empty() && Instant::now() < deadline {
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(sessions.is_empty(), "the session was not ended");
        assert_eq!(test::call_service(&app, me(&session)).await.status(), 401);
        assert_eq!(test::call_service(&app, login()).await.status(), 403);

        // Reactivated, the user signs in afresh; the old session stays ended.
        let on = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "active", "value": true}],
        });
        test::call_service(
            &app,
            scim_call(actix_web::http::Method::PATCH, path.clone(), on),
        )
        .await;
        let again: Value = test::call_and_read_body_json(&app, login()).await;
        let fresh = again["session"].as_str().unwrap().to_owned();
        assert_eq!(test::call_service(&app, me(&fresh)).await.status(), 200);
        assert_eq!(test::call_service(&app, me(&session)).await.status(), 401);

        // Deleted: signed out again.
        test::call_service(
            &app,
            scim_call(actix_web::http::Method::DELETE, path, Value::Null),
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sessions.is_empty() && Instant::now() < deadline {
            actix_web::rt::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(test::call_service(&app, me(&fresh)).await.status(), 401);
    });
});
