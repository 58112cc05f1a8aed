//! Deleted users' data does not stay for ever (issue 9): the service scrubs tombstones past
//! `ServerConfig::tombstone_retention` on its own.

use std::time::Duration;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use scim_server::ServerConfig;
use scim_store::Store;
use scim_test_db::store_test;
use serde_json::json;

use crate::{call, delete, eventually, id_of, post, run, test_verifier, Harness};

#[derive(QueryableByName)]
struct Document {
    #[diesel(sql_type = Text)]
    document: String,
}

/// The stored document of user `id`, tombstone or not.
fn stored(store: &Store, id: &str) -> String {
    let mut conn = store.get().unwrap();
    diesel::sql_query(format!("SELECT document FROM users WHERE id = '{id}'"))
        .get_result::<Document>(conn.diesel())
        .unwrap()
        .document
}

/// Creates a user with a password and deletes it (a tombstone, the default); returns its id.
async fn create_and_delete<S, B>(app: &S, token: &str) -> String
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "bjensen@example.com",
        "password": "t1meMa$heen",
    });
    let created = call(app, post("/scim/v2/Users", token, &user)).await;
    assert_eq!(created.status, 201, "{created:?}");
    let id = id_of(&created);
    let deleted = call(app, delete(&format!("/scim/v2/Users/{id}"), token)).await;
    assert_eq!(deleted.status, 204, "{deleted:?}");
    id
}

// RFC 7643 §4.1.1: a password "SHOULD NOT" be kept in cleartext, and is stored here as a hash;
// once the user is deleted and the retention is over, not even the hash stays: the service's
// periodic scrub erases the tombstone's document without being asked.
store_test!(the_service_scrubs_tombstones_past_the_retention, |store| {
    let config = ServerConfig {
        tombstone_retention: Some(Duration::ZERO),
        tombstone_scrub_interval: Duration::from_millis(50),
        ..ServerConfig::default()
    };
    let harness = Harness::with(&store, config, test_verifier());
    let (_, token) = harness.acme();
    run(async {
        let app = harness.app().await;
        let id = create_and_delete(&app, &token).await;
        assert!(
            eventually(Duration::from_secs(20), || stored(&store, &id) == "{}").await,
            "not scrubbed: {}",
            stored(&store, &id)
        );
    });
});

// Within the retention (30 days by default) a tombstone keeps its document.
store_test!(tombstones_within_the_retention_are_kept, |store| {
    let harness = Harness::new(&store);
    let (_, token) = harness.acme();
    run(async {
        let app = harness.app().await;
        let id = create_and_delete(&app, &token).await;
        assert_eq!(harness.state.scrub_tombstones().await.unwrap(), 0);
        assert!(stored(&store, &id).contains("$argon2id$"));
    });
});
